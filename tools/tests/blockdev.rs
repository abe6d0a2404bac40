// SPDX-License-Identifier: GPL-2.0
//! The tools on block devices (issue 12), on loop devices: a device held open with O_EXCL and
//! a mounted ext4 are refused by mkfs and by a repairing fsck (exit 8) and checked read-only
//! with a warning by fsck -n; a device that returns EIO, for its superblocks or for one tree
//! node, is an operational error (exit 8).
//!
//! Needs root and /dev/loop-control (build.rs: cfg ferrofs_loop; ignored otherwise, but failed
//! instead under FERROFS_REQUIRE_ROOT_TESTS=1, which scripts/check sets as root). When losetup
//! cannot attach a loop device, the tests fail saying so.

use std::fs::{self, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

mod common;
use common::*;

/// A loop device over an image file, detached on drop.
struct Loop(String);

impl Loop {
    fn attach(img: &Path) -> Loop {
        let o = run("losetup", &["--find", "--show", img.to_str().unwrap()]);
        assert!(
            o.status.success(),
            "losetup cannot attach a loop device in this environment (root with /dev/loop-control): {}",
            text(&o)
        );
        Loop(String::from_utf8_lossy(&o.stdout).trim().to_string())
    }
}

impl Drop for Loop {
    fn drop(&mut self) {
        let _ = run("losetup", &["-d", &self.0]);
    }
}

/// A filesystem mounted on a directory, unmounted on drop.
struct Mount(PathBuf);

impl Mount {
    fn new(dev: &str, dir: &Path) -> Mount {
        fs::create_dir_all(dir).unwrap();
        let o = run("mount", &[dev, dir.to_str().unwrap()]);
        assert!(o.status.success(), "cannot mount {dev} on {}: {}", dir.display(), text(&o));
        Mount(dir.to_path_buf())
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = run("umount", &[self.0.to_str().unwrap()]);
    }
}

fn ext4_image(t: &TempDir, name: &str, mib: u64) -> PathBuf {
    let img = t.path(name);
    sparse_file(&img, mib << 20);
    need_tool("mkfs.ext4", &["-q", "-F", img.to_str().unwrap()], "", "e2fsprogs");
    img
}

fn code_and_text(bin: &str, args: &[&str]) -> (Option<i32>, String) {
    let o = run(bin, args);
    (o.status.code(), text(&o))
}

#[test]
#[cfg_attr(not(any(ferrofs_loop, ferrofs_require_root)), ignore = "needs root and /dev/loop-control (make check runs as root)")]
fn a_device_held_open_exclusively_is_refused() {
    require_root(true);
    let t = TempDir::new();
    let img = t.path("img");
    assert!(run(MKFS, &["-q", "-L", "held", img.to_str().unwrap(), "20m"]).status.success());
    let before = fs::read(&img).unwrap();
    let lo = Loop::attach(&img);
    let dev = lo.0.as_str();
    let held = OpenOptions::new().read(true).custom_flags(libc::O_EXCL).open(dev).unwrap();
    let (code, out) = code_and_text(MKFS, &["-f", dev]);
    assert_eq!(code, Some(1), "mkfs -f on a claimed device: {out}");
    assert!(out.contains("in use") && out.contains("refusing"), "{out}");
    for flag in ["-y", "-p", "-fy"] {
        let (code, out) = code_and_text(FSCK, &[flag, dev]);
        assert_eq!(code, Some(8), "fsck {flag} on a claimed device: {out}");
        assert!(out.contains("in use") && out.contains("refusing"), "fsck {flag}: {out}");
    }
    let (code, out) = code_and_text(TUNE, &["-L", "changed", dev]);
    assert_eq!(code, Some(1), "tune.ferrofs -L on a claimed device: {out}");
    // fsck -n checks it anyway, read-only, with a warning.
    let (code, out) = code_and_text(FSCK, &["-fn", dev]);
    assert_eq!(code, Some(0), "fsck -n on a claimed device: {out}");
    assert!(out.contains("warning") && out.contains("in use") && out.contains("may be inaccurate") && out.contains(": clean, "), "{out}");
    drop(held);
    assert!(fs::read(&img).unwrap() == before, "a refused tool wrote to the device");
    // Released: the device is free, its ferrofs found, and -f formats it.
    let (code, out) = code_and_text(MKFS, &[dev]);
    assert!(code == Some(1) && out.contains("ferrofs") && out.contains("use -f"), "{out}");
    let (code, out) = code_and_text(FSCK, &["-fy", dev]);
    assert!(code == Some(0) && !out.contains("warning"), "{out}");
    let (code, out) = code_and_text(MKFS, &["-f", "-q", "-L", "again", dev]);
    assert_eq!(code, Some(0), "{out}");
    let (code, out) = code_and_text(TUNE, &["-l", dev]);
    assert!(code == Some(0) && out.contains("again"), "{out}");
}

#[test]
#[cfg_attr(not(any(ferrofs_loop, ferrofs_require_root)), ignore = "needs root and /dev/loop-control (make check runs as root)")]
fn a_mounted_ext4_is_refused_by_mkfs_and_a_repairing_fsck() {
    require_root(true);
    let t = TempDir::new();
    let img = ext4_image(&t, "ext4", 64);
    let lo = Loop::attach(&img);
    let dev = lo.0.as_str();
    let mnt = t.path("mnt");
    let m = Mount::new(dev, &mnt);
    fs::write(mnt.join("keep"), b"still here").unwrap();
    let mp = mnt.to_str().unwrap();
    for args in [&["-f", dev][..], &[dev], &["-f", "-q", "-L", "x", dev]] {
        let (code, out) = code_and_text(MKFS, args);
        assert_eq!(code, Some(1), "mkfs {args:?} on a mounted ext4: {out}");
        assert!(out.contains(&format!("is mounted on {mp}")) && out.contains("refusing"), "{out}");
    }
    for flag in ["-y", "-p", "-a"] {
        let (code, out) = code_and_text(FSCK, &[flag, dev]);
        assert_eq!(code, Some(8), "fsck {flag} on a mounted ext4: {out}");
        assert!(out.contains(&format!("is mounted on {mp}")), "{out}");
    }
    // -n reads it, with the warning; it is not ferrofs, so that is exit 8 too.
    let (code, out) = code_and_text(FSCK, &["-n", dev]);
    assert_eq!(code, Some(8), "{out}");
    assert!(out.contains(&format!("warning: {dev} is mounted on {mp}")) && out.contains("not a ferrofs filesystem"), "{out}");
    assert_eq!(fs::read(mnt.join("keep")).unwrap(), b"still here");
    drop(m);
    let (code, out) = blkid_probe(Path::new(dev));
    assert!(code == 0 && out.contains("TYPE=ext4"), "the ext4 did not survive: {out}");
    let o = run("e2fsck", &["-fn", dev]);
    assert!(o.status.success(), "e2fsck after the refusals: {}", text(&o));
}

#[test]
#[cfg_attr(not(any(ferrofs_loop, ferrofs_require_root)), ignore = "needs root and /dev/loop-control (make check runs as root)")]
fn an_unreadable_device_is_exit_8() {
    require_root(true);
    // Our image as a file in an ext4 on a loop device, and a second loop device over that file;
    // then the ext4 is shut down (FS_IOC_SHUTDOWN through xfs_io), so every read of the file
    // fails with EIO.
    let t = TempDir::new();
    let outer = ext4_image(&t, "outer", 64);
    let lo = Loop::attach(&outer);
    let mnt = t.path("mnt");
    let _m = Mount::new(&lo.0, &mnt);
    let inner = mnt.join("ferrofs.img");
    assert!(run(MKFS, &["-q", inner.to_str().unwrap(), "20m"]).status.success());
    assert_eq!(fsck(&inner, "-n").0, 0);
    let lo2 = Loop::attach(&inner);
    let (code, out) = code_and_text(FSCK, &["-n", &lo2.0]);
    assert_eq!(code, Some(0), "before the shutdown: {out}");
    need_tool("xfs_io", &["-x", "-c", "shutdown", mnt.to_str().unwrap()], "", "xfsprogs");
    // Drop what the loop device has cached, so fsck's reads reach the shut-down file.
    need_tool("blockdev", &["--flushbufs", &lo2.0], "", "util-linux");
    let (code, out) = code_and_text(FSCK, &["-n", &lo2.0]);
    assert_eq!(code, Some(8), "fsck -n of a device returning EIO: {out}");
    assert!(out.contains("I/O error") && out.contains("cannot read"), "{out}");
    for flag in ["-y", "-p"] {
        let (code, out) = code_and_text(FSCK, &[flag, &lo2.0]);
        assert_eq!(code, Some(8), "fsck {flag} of a device returning EIO: {out}");
    }
    // The file itself cannot even be opened now.
    let (code, out) = fsck(&inner, "-n");
    assert_eq!(code, 8, "{out}");
    assert!(out.contains("Input/output error"), "{out}");
    drop(lo2);
}

/// A tree node that cannot be read is an operational error too (exit 8), not damage: not
/// "[fixable]", nothing repaired. One block of a loop device is made unreadable without
/// device-mapper (which the host kernel may lack): the loop device's page cache holds every
/// block but one (kept open, so the cache outlives each tool's close), and the ext4 under
/// its backing file is shut down, so only that block's read reaches the file and fails with EIO.
#[test]
#[cfg_attr(not(any(ferrofs_loop, ferrofs_require_root)), ignore = "needs root and /dev/loop-control (make check runs as root)")]
fn an_unreadable_tree_node_is_exit_8() {
    use std::io::Read;
    require_root(true);
    let t = TempDir::new();
    let outer = ext4_image(&t, "outer", 96);
    let lo = Loop::attach(&outer);
    let mnt = t.path("mnt");
    let _m = Mount::new(&lo.0, &mnt);
    let inner = mnt.join("ferrofs.img");
    let src = make_source(&t);
    assert!(run(MKFS, &["-q", "-d", src.to_str().unwrap(), inner.to_str().unwrap(), "32m"]).status.success());
    // The first leaf of the fs tree: the walk reads the root, then fails below it.
    let leaf = {
        let f = OpenOptions::new().read(true).write(true).open(&inner).unwrap();
        let mut fs = ferrofs_tools::fs::Fs::open(ferrofs_tools::dev::FileDev(f)).unwrap();
        let mut blk = fs.sb.fs_root.block;
        loop {
            let b = ferrofs_format::BlockStore::read(&mut fs.store, blk).unwrap();
            if ferrofs_format::node::level(&b) == 0 {
                break blk;
            }
            blk = ferrofs_format::node::ptr(&b, 0).unwrap().1;
        }
    };
    assert_ne!(leaf, 0);
    let lo2 = Loop::attach(&inner);
    let dev = lo2.0.as_str();
    let (code, out) = code_and_text(FSCK, &["-fn", dev]);
    assert_eq!(code, Some(0), "before: {out}");
    // No readahead: the cache is filled with single pages (readahead makes large folios, which a
    // one-block DONTNEED cannot drop), and fsck's read of the dropped block asks for it alone.
    // Flushed first, in case pages of the fsck above are still cached.
    need_tool("blockdev", &["--setra", "0", "--flushbufs", dev], "", "util-linux");
    // Held open: the page cache of a block device is dropped at its last close.
    let mut held = fs::File::open(dev).unwrap();
    let mut all = Vec::new();
    held.read_to_end(&mut all).unwrap();
    assert_eq!(all.len(), 32 << 20);
    let bs = ferrofs_format::layout::BLOCK_SIZE_U64;
    // SAFETY: posix_fadvise(2) on an open descriptor; it only drops clean cached pages.
    let r = unsafe { libc::posix_fadvise(std::os::fd::AsRawFd::as_raw_fd(&held), (leaf * bs) as i64, bs as i64, libc::POSIX_FADV_DONTNEED) };
    assert_eq!(r, 0, "posix_fadvise DONTNEED");
    need_tool("xfs_io", &["-x", "-c", "shutdown", mnt.to_str().unwrap()], "", "xfsprogs");
    for flags in ["-n", "-fn", "-y", "-pf"] {
        let (code, out) = code_and_text(FSCK, &[flags, dev]);
        assert_eq!(code, Some(8), "fsck {flags} with tree node {leaf} unreadable (0 would mean the block was still cached): {out}");
        assert!(out.contains(&format!("cannot read the fs tree node at block {leaf}: I/O error")) && out.contains("Input/output error"), "fsck {flags}: {out}");
        assert!(!out.contains("[fixable]") && !out.contains("[fixed]") && !out.contains("needs -y"), "fsck {flags}: {out}");
    }
    drop(held);
}

/// The root-only tests above and in cleanup.rs are ignored only where they cannot run: never
/// when this binary runs as root with /dev/loop-control (a stale build.rs probe would ignore
/// them), and never under FERROFS_REQUIRE_ROOT_TESTS=1 (scripts/check as root), where they fail
/// instead. Not itself root-only, so it cannot be skipped.
#[test]
fn root_only_tests_are_not_silently_ignored() {
    if std::env::var("FERROFS_REQUIRE_ROOT_TESTS").is_ok_and(|v| v == "1") {
        assert!(cfg!(ferrofs_require_root), "FERROFS_REQUIRE_ROOT_TESTS=1, but these tests were built without it (build.rs not rerun?)");
    }
    if is_root() {
        assert!(cfg!(ferrofs_root), "running as root, but built as another user: the root-only tests are ignored (stale build.rs probe)");
        if Path::new("/dev/loop-control").exists() {
            assert!(cfg!(ferrofs_loop), "root with /dev/loop-control, but built without it: the loop device tests are ignored (stale build.rs probe)");
        }
    }
}
