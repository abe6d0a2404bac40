// SPDX-License-Identifier: GPL-2.0
//! `mkfs.ferrofs [-f] [-q] [-L label] [-U uuid] [-s size] [-d dir] DEVICE|FILE`

use std::process::exit;

use ferrofs_format::layout::{BLOCK_SIZE, BLOCK_SIZE_U64, MIN_BLOCKS};
use ferrofs_tools::dev::{open_target, Device, FileDev};
use ferrofs_tools::fs::{FormatOptions, Fs};
use ferrofs_tools::cli::{parse_or_exit, MkfsArgs, BLKID_NOTE};
use ferrofs_tools::mkfs;


/// An image file this run created: removed again if mkfs fails, so no half-made image stays.
static CREATED: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

/// An existing image file this run extended, with its former length: cut back if mkfs fails
/// before anything was written to it.
static EXTENDED: std::sync::Mutex<Option<(std::fs::File, u64)>> = std::sync::Mutex::new(None);

fn die(msg: &str) -> ! {
    eprintln!("mkfs.ferrofs: {msg}");
    if let Some(p) = CREATED.lock().ok().and_then(|mut c| c.take()) {
        let _ = std::fs::remove_file(&p);
    }
    if let Some((f, len)) = EXTENDED.lock().ok().and_then(|mut c| c.take()) {
        let _ = f.set_len(len);
    }
    exit(1)
}

fn main() {
    let args: MkfsArgs = parse_or_exit(1);
    let (force, quiet, uuid, dir) = (args.force, args.quiet, args.uuid, args.root_dir.clone());
    let label = args.label.clone().unwrap_or_default().into_bytes();
    let size = match (args.size, args.fs_size) {
        (Some(a), Some(b)) if a != b => die(&format!("--size {a} and FS-SIZE {b} disagree")),
        (a, b) => a.or(b),
    };
    let target = args.device.clone();
    if label.len() > 64 {
        die("label longer than 64 bytes");
    }
    // libblkid first (it knows LUKS, partition tables, RAID members, ...), before we open the
    // device exclusively.
    let mut blkid_ran = true;
    if !force {
        match mkfs::blkid_probe(&target) {
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
    let is_regular = file.metadata().map(|m| m.is_file()).unwrap_or(false);
    let mut dev = FileDev(file);
    let dev_size = dev.size().unwrap_or_else(|e| die(&format!("cannot get size of {target}: {e}")));
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
        if existed {
            if let (Ok(mut e), Ok(f)) = (EXTENDED.lock(), dev.0.try_clone()) {
                *e = Some((f, dev_size));
            }
        }
        dev.0.set_len(total_blocks * BLOCK_SIZE_U64).unwrap_or_else(|e| die(&format!("cannot extend {target}: {e}")));
    }
    // From here on the image is written: an existing file is no longer "as it was".
    if let Ok(mut e) = EXTENDED.lock() {
        *e = None;
    }
    let opts = FormatOptions { label: label.clone(), uuid: uuid.unwrap_or_else(mkfs::random_uuid), total_blocks, time: mkfs::now() };
    let mut fs = Fs::format(dev, &opts).unwrap_or_else(|e| die(&format!("format failed: {e}")));
    let mut stats = mkfs::PopulateStats::default();
    if let Some(d) = &dir {
        stats = mkfs::populate(&mut fs, d).unwrap_or_else(|e| die(&e));
        fs.commit().unwrap_or_else(|e| die(&format!("commit failed: {e}")));
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
