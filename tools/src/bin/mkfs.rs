//! `mkfs.ferrofs [-f] [-q] [-L label] [-U uuid] [-s size] [-d dir] DEVICE|FILE`

use std::path::PathBuf;
use std::process::exit;

use ferrofs_format::layout::{BLOCK_SIZE, BLOCK_SIZE_U64, MIN_BLOCKS};
use ferrofs_tools::dev::{open_target, Device, FileDev};
use ferrofs_tools::fs::{FormatOptions, Fs};
use ferrofs_tools::mkfs;

const USAGE: &str = "usage: mkfs.ferrofs [-f] [-q] [-V] [-L label] [-U uuid] [-s size[k|m|g|t]] [-d dir] DEVICE|FILE";

/// An image file this run created: removed again if mkfs fails, so no half-made image stays.
static CREATED: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

fn die(msg: &str) -> ! {
    eprintln!("mkfs.ferrofs: {msg}");
    if let Some(p) = CREATED.lock().ok().and_then(|mut c| c.take()) {
        let _ = std::fs::remove_file(&p);
    }
    exit(1)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut force, mut quiet) = (false, false);
    let mut label = Vec::new();
    let mut uuid = None;
    let mut size = None;
    let mut dir: Option<PathBuf> = None;
    let mut target: Option<String> = None;
    while let Some(a) = args.next() {
        let mut val = |what: &str| args.next().unwrap_or_else(|| die(&format!("option {a} needs {what}\n{USAGE}")));
        match a.as_str() {
            "-f" | "--force" => force = true,
            "-q" | "--quiet" => quiet = true,
            "-L" | "--label" => label = val("a label").into_bytes(),
            "-U" | "--uuid" => uuid = Some(mkfs::parse_uuid(&val("a UUID")).unwrap_or_else(|e| die(&e))),
            "-s" | "--size" => size = Some(mkfs::parse_size(&val("a size")).unwrap_or_else(|e| die(&e))),
            "-d" | "--root-dir" => dir = Some(PathBuf::from(val("a directory"))),
            "-V" | "--version" => {
                println!("mkfs.ferrofs {}", env!("CARGO_PKG_VERSION"));
                exit(0)
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                exit(0)
            }
            s if s.starts_with('-') && s.len() > 1 => die(&format!("unknown option {s}\n{USAGE}")),
            _ if target.is_some() => die(&format!("too many arguments\n{USAGE}")),
            _ => target = Some(a),
        }
    }
    let target = target.unwrap_or_else(|| die(USAGE));
    if label.len() > 64 {
        die("label longer than 64 bytes");
    }
    // libblkid first (it knows LUKS, partition tables, RAID members, ...), before we open the
    // device exclusively.
    if !force {
        if let Some(sig) = mkfs::blkid_probe(&target) {
            die(&format!("{target} contains existing data: {sig}; use -f to overwrite it"));
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
        if let Some(sig) = mkfs::detect_signature(&mut dev) {
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
        dev.0.set_len(total_blocks * BLOCK_SIZE_U64).unwrap_or_else(|e| die(&format!("cannot extend {target}: {e}")));
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
    }
}
