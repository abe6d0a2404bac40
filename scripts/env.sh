# SPDX-License-Identifier: GPL-2.0
# Sourced by every ferrofs script: one place for the cache location, PATH and toolchain variables.
FERROFS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Everything large (kernel source, kernel builds) lives here, outside the repository.
FERROFS_CACHE="${FERROFS_CACHE:-$HOME/.cache/ferrofs}"
FERROFS_KVER=6.12
# Debian's clang-19/lld-19 come first (LLVM=1 finds clang and ld.lld on PATH); then cargo's bin
# (bindgen, and the rustup toolchain that builds the host tools and tests), and the cache's bin
# (vng and virtme-*, linked from the venv scripts/setup-vng makes; the venv's python3 stays off PATH).
# The kernel and the module are built with Debian's rustc through RUSTC= below, never through PATH.
export PATH="/usr/lib/llvm-19/bin:$HOME/.cargo/bin:$FERROFS_CACHE/bin:$PATH"
# The kernel must be built with Debian's rustc (it ships rust-src); the rustup one does not.
# FERROFS_RUSTC overrides it (the check uses that to prove a kernel without Rust is refused).
KMAKE_VARS=(LLVM=1 ARCH=x86_64 "RUSTC=${FERROFS_RUSTC:-/usr/bin/rustc}" BINDGEN=bindgen HOSTRUSTC=/usr/bin/rustc)
kernel_src_dir() { echo "$FERROFS_CACHE/src/linux-source-$FERROFS_KVER"; }
# FERROFS_BUILD_DIR overrides the build directory.
kernel_build_dir() {
    [ -z "${FERROFS_BUILD_DIR:-}" ] || { echo "$FERROFS_BUILD_DIR"; return; }
    local v h
    v=$(dpkg-query -W -f='${Version}' "linux-source-$FERROFS_KVER" 2>/dev/null || echo unknown)
    h=$(sha256sum < "$FERROFS_ROOT/kernel/ferrofs.config" | cut -c1-16)
    echo "$FERROFS_CACHE/build/linux-$v-$h"
}
