// SPDX-License-Identifier: GPL-2.0
//! Helpers shared by the integration tests of the built tools (cli, signatures, cleanup,
//! blockdev): the binaries, scratch directories, running a tool, making sample images with
//! the real tools of other filesystems.
#![allow(dead_code)]

use std::fs::{self, File};
use std::io::Write;
use std::os::unix::fs::{symlink, FileExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

pub const MKFS: &str = env!("CARGO_BIN_EXE_mkfs-ferrofs");
pub const FSCK: &str = env!("CARGO_BIN_EXE_fsck-ferrofs");
pub const TUNE: &str = env!("CARGO_BIN_EXE_tune-ferrofs");
pub const MANGEN: &str = env!("CARGO_BIN_EXE_ferrofs-mangen");

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A scratch directory under the temporary directory, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new() -> TempDir {
        let p = std::env::temp_dir().join(format!("ferrofs-cli-{}-{}", std::process::id(), COUNTER.fetch_add(1, Ordering::SeqCst)));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    pub fn path(&self, s: &str) -> PathBuf {
        self.0.join(s)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Runs `bin` with `args` and collects its output.
pub fn run(bin: &str, args: &[&str]) -> Output {
    Command::new(bin).args(args).output().unwrap_or_else(|e| panic!("cannot run {bin}: {e}"))
}

/// stdout then stderr of a finished tool, as text.
pub fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// `fsck.ferrofs FLAG IMG`: exit code and output.
pub fn fsck(img: &Path, flag: &str) -> (i32, String) {
    let o = run(FSCK, &[flag, img.to_str().unwrap()]);
    (o.status.code().unwrap_or(-1), text(&o))
}

/// Runs a tool of another package that the test needs (scripts/setup installs it, in the
/// Debian package `pkg`). A missing tool fails the test, naming the package: never a skip.
pub fn need_tool(cmd: &str, args: &[&str], stdin: &str, pkg: &str) -> Output {
    let mut c = Command::new(cmd)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{cmd} (Debian package {pkg}, installed by scripts/setup) cannot be run: {e}"));
    c.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let o = c.wait_with_output().unwrap();
    assert!(o.status.success(), "{cmd} {args:?} failed: {}", text(&o));
    o
}

/// A sparse file of `bytes` bytes.
pub fn sparse_file(p: &Path, bytes: u64) {
    fs::File::create(p).unwrap().set_len(bytes).unwrap();
}

/// `blkid -p -o export PATH`: exit code and the output (2: nothing found).
pub fn blkid_probe(p: &Path) -> (i32, String) {
    let o = Command::new("blkid")
        .args(["-p", "-o", "export", "--"])
        .arg(p)
        .output()
        .unwrap_or_else(|e| panic!("blkid (Debian package util-linux) cannot be run: {e}"));
    (o.status.code().unwrap_or(-1), text(&o))
}

/// Is this process root? (loop devices and mounts need it.)
pub fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false)
}

/// The start of a root-only test. Such a test is ignored where build.rs found no root (or no
/// /dev/loop-control, with `needs_loop`), unless `FERROFS_REQUIRE_ROOT_TESTS=1` (scripts/check
/// as root) made it required: then it runs, and fails here, naming what is missing, instead of
/// being skipped.
pub fn require_root(needs_loop: bool) {
    let why = if cfg!(ferrofs_require_root) { "FERROFS_REQUIRE_ROOT_TESTS=1 requires this test" } else { "built as root" };
    assert!(is_root(), "{why}, but it does not run as root (make check runs the tests as root)");
    assert!(
        !needs_loop || Path::new("/dev/loop-control").exists(),
        "{why}, but /dev/loop-control is missing (the loop driver: modprobe loop, or a container given /dev/loop*)"
    );
}

/// A small host tree with files, a sparse file, subdirs, a symlink and a hard link.
pub fn make_source(t: &TempDir) -> PathBuf {
    let src = t.path("src");
    fs::create_dir_all(src.join("sub/deeper")).unwrap();
    fs::write(src.join("hello.txt"), b"hello, world\n").unwrap();
    fs::write(src.join("empty"), b"").unwrap();
    let big: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    fs::write(src.join("sub/big.bin"), &big).unwrap();
    fs::write(src.join("two"), vec![0xAB; 8192]).unwrap();
    fs::write(src.join("two2"), vec![0xCD; 8192]).unwrap();
    let f = File::create(src.join("sparse")).unwrap();
    f.set_len(50 * 4096).unwrap();
    f.write_all_at(b"data at the start", 0).unwrap();
    f.write_all_at(b"data in the middle", 20 * 4096 + 100).unwrap();
    drop(f);
    symlink("hello.txt", src.join("link")).unwrap();
    fs::hard_link(src.join("hello.txt"), src.join("sub/hardlink")).unwrap();
    for i in 0..150 {
        fs::write(src.join(format!("sub/deeper/file{i:03}")), format!("content {i}\n")).unwrap();
    }
    src
}


/// Waits until process `pid` is blocked in one of the system calls `nrs` (x86-64 numbers, as
/// /proc/PID/syscall shows them): synchronisation on the process's state, not on time. Panics
/// after 30 s or if the process exits first.
pub fn wait_in_syscall(pid: u32, nrs: &[u64]) {
    let path = format!("/proc/{pid}/syscall");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let s = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e} (did the process exit?)"));
        let nr = s.split_whitespace().next().and_then(|n| n.parse::<u64>().ok());
        if nr.is_some_and(|n| nrs.contains(&n)) {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "process {pid} never blocked in syscalls {nrs:?} (last: {s})");
        std::thread::yield_now();
    }
}
