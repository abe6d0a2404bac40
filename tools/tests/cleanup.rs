// SPDX-License-Identifier: GPL-2.0
//! mkfs.ferrofs leaves nothing half-made (issue 12): a run that fails for lack of space on a full
//! tmpfs, or that is stopped by a signal in the middle of its writes, removes the image file it
//! created and puts an existing image back byte for byte.
//!
//! The signal arrives at a chosen write: strace injects it on entry to the Nth pwrite64(2)
//! (`-e inject=pwrite64:signal=...:when=N`), so the test is deterministic without sleeping.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;
use common::*;

/// A tmpfs of `mib` MiB mounted on `dir`, unmounted on drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, mib: u64) -> Tmpfs {
        fs::create_dir_all(dir).unwrap();
        let o = run("mount", &["-t", "tmpfs", "-o", &format!("size={mib}m"), "ferrofs-test", dir.to_str().unwrap()]);
        assert!(o.status.success(), "cannot mount a tmpfs on {} (the test runs as root): {}", dir.display(), text(&o));
        Tmpfs(dir.to_path_buf())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = run("umount", &[self.0.to_str().unwrap()]);
    }
}

fn free_bytes(p: &Path) -> u64 {
    let c = std::ffi::CString::new(p.to_str().unwrap()).unwrap();
    // SAFETY: statvfs(3) into a zeroed struct, with a valid NUL-terminated path.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    assert_eq!(unsafe { libc::statvfs(c.as_ptr(), &mut st) }, 0, "statvfs {}", p.display());
    st.f_bfree * st.f_frsize
}

/// Fills the filesystem holding `dir` until ENOSPC.
fn fill(dir: &Path) {
    use std::io::Write;
    let mut f = fs::File::create(dir.join("filler")).unwrap();
    let chunk = vec![0x5au8; 64 * 1024];
    loop {
        match f.write(&chunk) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                assert_eq!(e.raw_os_error(), Some(libc::ENOSPC), "filling the tmpfs: {e}");
                break;
            }
        }
    }
}

/// A source tree of `n` files of random-ish data, `bytes` each (no zero blocks: all allocated).
fn data_tree(t: &TempDir, n: usize, bytes: usize) -> PathBuf {
    let src = t.path("data");
    fs::create_dir_all(&src).unwrap();
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    for i in 0..n {
        let v: Vec<u8> = (0..bytes)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8 | 1
            })
            .collect();
        fs::write(src.join(format!("f{i}")), v).unwrap();
    }
    src
}

#[test]
#[cfg_attr(not(any(ferrofs_root, ferrofs_require_root)), ignore = "needs root to mount a tmpfs (make check runs as root)")]
fn mkfs_on_a_full_tmpfs_leaves_nothing_behind() {
    require_root(false);
    let t = TempDir::new();
    let src = data_tree(&t, 6, 1 << 20);
    let mnt = t.path("mnt");
    let _tmpfs = Tmpfs::mount(&mnt, 24);
    // An ext4 image (sparse: most of it holes), then the tmpfs filled to the last page.
    let img = mnt.join("img");
    sparse_file(&img, 20 << 20);
    need_tool("mkfs.ext4", &["-q", "-F", img.to_str().unwrap()], "", "e2fsprogs");
    let orig = fs::read(&img).unwrap();
    fill(&mnt);
    let free = free_bytes(&mnt);
    assert!(free < 6 << 20, "the tmpfs is not full: {free} bytes free");

    // Formatting the existing image needs pages the tmpfs no longer has: mkfs fails and puts
    // the image back as it was; the space it took is free again.
    let o = run(MKFS, &["-f", "-d", src.to_str().unwrap(), img.to_str().unwrap()]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("No space left on device") && out.contains("back as it was"), "{out}");
    assert!(fs::read(&img).unwrap() == orig, "the existing image was not restored byte for byte: {out}");
    assert_eq!(free_bytes(&mnt), free, "the failed mkfs left space allocated");
    let (code, out) = blkid_probe(&img);
    assert!(code == 0 && out.contains("TYPE=ext4"), "{out}");

    // A new image file: removed again.
    let new = mnt.join("new");
    let o = run(MKFS, &["-s", "20m", "-d", src.to_str().unwrap(), new.to_str().unwrap()]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("No space left on device") && out.contains("removed"), "{out}");
    assert!(!new.exists(), "a failed mkfs left {} behind", new.display());
    assert_eq!(free_bytes(&mnt), free);
}

/// mkfs under strace, with `sig` delivered on entry to its `nth` pwrite64.
fn mkfs_with_signal_at_write(sig: &str, nth: u32, args: &[&str]) -> Output {
    let inject = format!("inject=pwrite64:signal={sig}:when={nth}");
    let mut a = vec!["-f", "-qq", "-o", "/dev/null", "-e", "trace=pwrite64", "-e"];
    a.push(&inject);
    a.push(MKFS);
    a.extend_from_slice(args);
    Command::new("strace").args(&a).output().unwrap_or_else(|e| panic!("strace (Debian package strace, installed by scripts/setup) cannot be run: {e}"))
}

#[test]
fn a_signal_in_the_middle_of_mkfs_leaves_nothing_behind() {
    let t = TempDir::new();
    let src = data_tree(&t, 30, 50_000);
    let cases: [(&str, u32, i32, bool); 4] = [
        // (signal, at which write, expected exit, with -d): early (zeroing the head) and late
        // (writing the populated trees and superblocks).
        ("SIGINT", 5, 130, false),
        ("SIGTERM", 40, 143, false),
        ("SIGHUP", 250, 129, true),
        ("SIGINT", 280, 130, true),
    ];
    for (sig, nth, code, populate) in cases {
        let what = format!("{sig} at write {nth}{}", if populate { " with -d" } else { "" });
        // An existing ext4 image: back byte for byte.
        let img = t.path("existing");
        sparse_file(&img, 40 << 20);
        need_tool("mkfs.ext4", &["-q", "-F", img.to_str().unwrap()], "", "e2fsprogs");
        let orig = fs::read(&img).unwrap();
        let mut args = vec!["-f", "-q"];
        if populate {
            args.extend(["-d", src.to_str().unwrap()]);
        }
        args.push(img.to_str().unwrap());
        let o = mkfs_with_signal_at_write(sig, nth, &args);
        let out = text(&o);
        assert_eq!(o.status.code(), Some(code), "{what}: {out}");
        assert!(out.contains(&format!("interrupted by {sig}")) && out.contains("back as it was ("), "{what}: {out}");
        assert!(fs::read(&img).unwrap() == orig, "{what}: the image is not as it was: {out}");
        let (bcode, bout) = blkid_probe(&img);
        assert!(bcode == 0 && bout.contains("TYPE=ext4"), "{what}: {bout}");
        // A new image file: gone.
        let new = t.path("new");
        let mut args = vec!["-q", "-s", "40m"];
        if populate {
            args.extend(["-d", src.to_str().unwrap()]);
        }
        args.push(new.to_str().unwrap());
        let o = mkfs_with_signal_at_write(sig, nth, &args);
        let out = text(&o);
        assert_eq!(o.status.code(), Some(code), "{what}, new file: {out}");
        assert!(out.contains("removed"), "{what}, new file: {out}");
        assert!(!new.exists(), "{what}: {} left behind", new.display());
    }
    // The same runs without a signal succeed: the writes counted above are inside mkfs's work.
    let img = t.path("plain");
    let o = run(MKFS, &["-q", "-s", "40m", "-d", src.to_str().unwrap(), img.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(fsck(&img, "-n").0, 0);
}
