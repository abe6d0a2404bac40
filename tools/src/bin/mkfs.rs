// SPDX-License-Identifier: GPL-2.0
//! `mkfs.ferrofs [-f] [-q] [-L label] [-U uuid] [-s size] [-d dir] DEVICE|FILE [FS-SIZE]`
//!
//! `-s` takes bytes (or a suffix); FS-SIZE, as mke2fs's fs-size, KiB without a suffix.
//!
//! Exit status: 0 made; 1 failed; 128+N stopped by signal N (SIGINT 130, SIGTERM 143, SIGHUP
//! 129). A failed or stopped run leaves nothing half-made: an image file it created is removed,
//! an existing image file or device gets back the contents it overwrote (its undo log,
//! `ferrofs_tools::undo`) and its former length.

use std::process::exit;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex};

use ferrofs_format::layout::{BLOCK_SIZE, BLOCK_SIZE_U64, MIN_BLOCKS};
use ferrofs_tools::cli::{parse_or_exit, MkfsArgs, BLKID_NOTE};
use ferrofs_tools::dev::{in_use, open_target, FileDev};
use ferrofs_tools::fs::{FormatOptions, Fs};
use ferrofs_tools::mkfs;
use ferrofs_tools::undo::{self, UndoDev, UndoLog};

/// How much of an existing image's old contents the undo log keeps: any image up to this size
/// is restored whole; a larger one as long as no more than this was written.
const UNDO_CAP: u64 = 64 << 20;

/// The signal that stopped this run (0: none). Set by the handler, checked before each write.
static SIGNAL: AtomicI32 = AtomicI32::new(0);

/// An image file this run created: removed again if mkfs fails.
static CREATED: Mutex<Option<String>> = Mutex::new(None);

/// The undo log of an existing image file or device: played back if mkfs fails.
static UNDO: Mutex<Option<Arc<Mutex<UndoLog>>>> = Mutex::new(None);

extern "C" fn on_signal(sig: libc::c_int) {
    // An atomic store is async-signal-safe; the cleanup runs in main, between writes.
    SIGNAL.store(sig, Ordering::SeqCst);
}

fn install_handlers() {
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: a zeroed sigaction with an empty mask and a handler that only stores to an
        // atomic; SA_RESTART lets blocking calls finish, the flag is checked between writes.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
            sa.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
}

fn signal_name(sig: i32) -> &'static str {
    match sig {
        libc::SIGINT => "SIGINT",
        libc::SIGTERM => "SIGTERM",
        libc::SIGHUP => "SIGHUP",
        _ => "signal",
    }
}

/// Undoes what this run did to the target; says what.
fn cleanup(target: &str) -> Option<String> {
    if let Some(p) = CREATED.lock().ok().and_then(|mut c| c.take()) {
        return Some(match std::fs::remove_file(&p) {
            Ok(()) => format!("removed {p}, which this run had created"),
            Err(e) => format!("could not remove {p}, which this run had created: {e}"),
        });
    }
    let log = UNDO.lock().ok().and_then(|mut u| u.take())?;
    let r = undo::lock(&log).restore();
    Some(match r {
        Ok(r) if r.chunks == 0 && !r.truncated => format!("{target} was not changed"),
        Ok(r) => format!("{target} is back as it was ({} KiB written back{})", r.chunks * undo::CHUNK / 1024, if r.truncated { ", length restored" } else { "" }),
        Err(e) => format!("could not restore {target}: {e}"),
    })
}

fn die_in(target: &str, msg: &str) -> ! {
    let sig = SIGNAL.load(Ordering::SeqCst);
    if sig != 0 {
        eprintln!("mkfs.ferrofs: interrupted by {} ({sig})", signal_name(sig));
    } else {
        eprintln!("mkfs.ferrofs: {msg}");
    }
    if let Some(what) = cleanup(target) {
        eprintln!("mkfs.ferrofs: {what}");
    }
    exit(if sig != 0 { 128 + sig } else { 1 })
}

/// Stops here, cleaning up, if a signal came.
fn check_signal(target: &str) {
    if SIGNAL.load(Ordering::SeqCst) != 0 {
        die_in(target, "interrupted");
    }
}

fn main() {
    let args: MkfsArgs = parse_or_exit(1);
    install_handlers();
    let target = args.device.clone();
    let die = |msg: &str| -> ! { die_in(&target, msg) };
    let (force, quiet, uuid, dir) = (args.force, args.quiet, args.uuid, args.root_dir.clone());
    let label = args.label.clone().unwrap_or_default().into_bytes();
    let size = match (args.size, args.fs_size) {
        (Some(a), Some(b)) if a != b => die(&format!("--size ({a} bytes) and FS-SIZE ({b} bytes) disagree")),
        (a, b) => a.or(b),
    };
    if label.len() > 64 {
        die("label longer than 64 bytes");
    }
    // A mounted or claimed device first: that, not its contents, is why it is refused (the
    // exclusive open below would refuse it too).
    if let Some(how) = in_use(&target) {
        die(&format!("{target} is {how}; refusing to write to it"));
    }
    // libblkid next (it knows LUKS, partition tables, RAID members, ...), before we open the
    // device exclusively.
    let mut blkid_ran = true;
    if !force {
        let probed = mkfs::blkid_probe(&target);
        check_signal(&target);
        match probed {
            Ok(Some(sig)) => die(&format!("{target} contains existing data: {sig}; use -f to overwrite it")),
            Ok(None) => {}
            Err(e) => {
                eprintln!("mkfs.ferrofs: warning: {e}; only a short built-in list of signatures is checked");
                blkid_ran = false;
            }
        }
    }
    let existed = std::path::Path::new(&target).exists();
    let file = open_target(&target, true, size.is_some()).unwrap_or_else(|e| die(&e));
    if !existed {
        if let Ok(mut c) = CREATED.lock() {
            *c = Some(target.clone());
        }
    }
    check_signal(&target);
    let is_regular = file.metadata().map(|m| m.is_file()).unwrap_or(false);
    let log = UndoLog::new(&file, UNDO_CAP).unwrap_or_else(|e| die(&format!("cannot read {target}: {e}")));
    if existed {
        if let Ok(mut u) = UNDO.lock() {
            *u = Some(log.clone());
        }
    }
    let dev_size = undo::lock(&log).original_len();
    let mut dev = UndoDev::new(FileDev(file), log.clone(), &SIGNAL);
    if !force {
        if let Some(sig) = mkfs::detect_signature(&mut dev, !blkid_ran) {
            die(&format!("{target} appears to contain a {sig} signature; use -f to overwrite it"));
        }
    }
    let bytes = match size {
        Some(s) if s > dev_size && !is_regular => die(&format!("requested size {s} exceeds the device size {dev_size}")),
        Some(s) => s,
        None => dev_size,
    };
    let total_blocks = bytes / BLOCK_SIZE_U64;
    if total_blocks < MIN_BLOCKS {
        die(&format!("{target}: {bytes} bytes is too small; the minimum is {} MiB", (MIN_BLOCKS * BLOCK_SIZE_U64) >> 20));
    }
    if is_regular && dev_size < total_blocks * BLOCK_SIZE_U64 {
        check_signal(&target);
        dev.dev.0.set_len(total_blocks * BLOCK_SIZE_U64).unwrap_or_else(|e| die(&format!("cannot extend {target}: {e}")));
    }
    let opts = FormatOptions { label: label.clone(), uuid: uuid.unwrap_or_else(mkfs::random_uuid), total_blocks, time: mkfs::now() };
    let io_error = || undo::lock(&log).last_error().map(str::to_string);
    let mut fs = Fs::format(dev, &opts).unwrap_or_else(|e| die(&with_io(&format!("format failed: {e}"), io_error())));
    let mut stats = mkfs::PopulateStats::default();
    if let Some(d) = &dir {
        stats = mkfs::populate(&mut fs, d).unwrap_or_else(|e| die(&with_io(&e, io_error())));
        fs.commit().unwrap_or_else(|e| die(&with_io(&format!("commit failed: {e}"), io_error())));
    }
    // Done: a signal that came after the last write changes nothing any more.
    undo::lock(&log).discard();
    if let (Ok(mut u), Ok(mut c)) = (UNDO.lock(), CREATED.lock()) {
        *u = None;
        *c = None;
    }
    if !quiet {
        println!("ferrofs: {target}");
        println!("  size:       {} bytes ({} blocks of {})", total_blocks * BLOCK_SIZE_U64, total_blocks, BLOCK_SIZE);
        println!("  uuid:       {}", mkfs::format_uuid(&opts.uuid));
        println!("  label:      {}", String::from_utf8_lossy(&label));
        if dir.is_some() {
            println!("  populated:  {} inodes, {} data bytes", stats.inodes, stats.bytes);
        }
        println!("  free:       {} blocks", fs.sb.free_blocks);
        println!("{BLKID_NOTE}");
    }
}

/// A failure message with the device error behind it, when there was one.
fn with_io(msg: &str, io: Option<String>) -> String {
    match io {
        Some(io) if !msg.contains(&io) => format!("{msg} ({io})"),
        _ => msg.to_string(),
    }
}
