// SPDX-License-Identifier: GPL-2.0
//! Tells the tests what this machine allows: `ferrofs_root` when built as root (the cleanup
//! tests mount a tmpfs), `ferrofs_loop` when also /dev/loop-control exists (the block device
//! tests). Tests needing them are reported as ignored otherwise, never as passed.

use std::os::unix::fs::MetadataExt;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(ferrofs_root)");
    println!("cargo::rustc-check-cfg=cfg(ferrofs_loop)");
    println!("cargo::rerun-if-changed=build.rs");
    // A build by another user (sudo, su) reruns the probe.
    println!("cargo::rerun-if-env-changed=USER");
    println!("cargo::rerun-if-env-changed=SUDO_UID");
    let root = std::fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false);
    if root {
        println!("cargo::rustc-cfg=ferrofs_root");
        if std::path::Path::new("/dev/loop-control").exists() {
            println!("cargo::rustc-cfg=ferrofs_loop");
        }
    }
}
