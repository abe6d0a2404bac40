// SPDX-License-Identifier: GPL-2.0
//! Tells the tests what this machine allows: `ferrofs_root` when built as root (the cleanup
//! tests mount a tmpfs), `ferrofs_loop` when also /dev/loop-control exists (the block device
//! tests). Tests needing them are reported as ignored otherwise, never as passed.
//!
//! `FERROFS_REQUIRE_ROOT_TESTS=1` (scripts/check sets it when it runs as root, as CI does) sets
//! `ferrofs_require_root`: the root-only tests are then never ignored; run without root or
//! without /dev/loop-control they fail, saying why (tools/tests/common: `require_root`).

use std::os::unix::fs::MetadataExt;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(ferrofs_root)");
    println!("cargo::rustc-check-cfg=cfg(ferrofs_loop)");
    println!("cargo::rustc-check-cfg=cfg(ferrofs_require_root)");
    println!("cargo::rerun-if-changed=build.rs");
    // A build by another user (sudo, su) reruns the probe.
    println!("cargo::rerun-if-env-changed=USER");
    println!("cargo::rerun-if-env-changed=SUDO_UID");
    println!("cargo::rerun-if-env-changed=FERROFS_REQUIRE_ROOT_TESTS");
    // Rerun when /dev/loop-control appears or goes away (while it is missing, cargo reruns this
    // script on every build), so ferrofs_loop is never stale.
    println!("cargo::rerun-if-changed=/dev/loop-control");
    if std::env::var("FERROFS_REQUIRE_ROOT_TESTS").is_ok_and(|v| v == "1") {
        println!("cargo::rustc-cfg=ferrofs_require_root");
    }
    let root = std::fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false);
    if root {
        println!("cargo::rustc-cfg=ferrofs_root");
        if std::path::Path::new("/dev/loop-control").exists() {
            println!("cargo::rustc-cfg=ferrofs_loop");
        }
    }
}
