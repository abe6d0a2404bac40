# SPDX-License-Identifier: GPL-2.0
# ferrofs top-level Makefile. Kbuild (not this file) describes the module to the kernel build.
#
#   make demo     set up everything, then show ferrofs at work in a VM
#   make check    set up everything, then run every test; ends with "N passed, N failed"
#
# Other targets: setup, kernel, module, tools, test-host, vm-test, fuzz, bench, clean.
# KDIR=<a Rust-enabled 6.12+ kernel build> builds the module against your own kernel.

SHELL := /bin/bash
ENV := . scripts/env.sh &&
KDIR ?= $(shell . scripts/env.sh && kernel_build_dir)
KMAKE := $(ENV) $(MAKE) -C $(KDIR) M=$(CURDIR) LLVM=1 ARCH=x86_64 RUSTC=/usr/bin/rustc BINDGEN=bindgen CONFIG_FERROFS_FS=m

.PHONY: all setup kernel module tools install-tools test-host vm-test check demo fuzz bench clean

all: module tools

setup:
	scripts/setup

kernel:
	scripts/build-kernel

module:
	@test -f $(KDIR)/Module.symvers -o -f $(KDIR)/.config || { echo "no kernel build at $(KDIR): run 'make kernel' or pass KDIR=" >&2; exit 1; }
	$(KMAKE) modules

# The tools under their mkfs(8)/fsck(8) names in out/bin (the VM tests and the demo use them there).
tools:
	$(ENV) cargo build --release --quiet -p ferrofs-tools
	tools/install.sh $(CURDIR)/out/bin $(CURDIR)/target/release

# mkfs.ferrofs, fsck.ferrofs and tune.ferrofs into $(DESTDIR)/usr/local/sbin (so `mkfs -t ferrofs` finds them), man pages into $(DESTDIR)/usr/local/share/man/man8.
install-tools: tools
	tools/install.sh $(DESTDIR)/usr/local/sbin $(CURDIR)/target/release $(DESTDIR)/usr/local/share/man

test-host:
	$(ENV) cargo test --workspace

vm-test: module tools
	scripts/vm -- tests/vm/run-all

# make check KDIR=<a built Rust-enabled kernel tree> tests the module against that kernel (CI's own).
check:
	scripts/check $(if $(filter command line environment,$(origin KDIR)),--kdir $(KDIR))

demo:
	scripts/demo

fuzz:
	scripts/fuzz

# Throughput of ferrofs against ext4, XFS and btrfs in one VM boot: a report, not a test.
bench:
	scripts/bench

clean:
	-$(KMAKE) clean
	$(ENV) cargo clean
