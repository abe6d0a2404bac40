// SPDX-License-Identifier: GPL-2.0
//! `tune.ferrofs [-l] [-L LABEL] [-U UUID|random|clear] DEVICE|FILE`: show the superblock, set the
//! label or UUID offline (both superblock copies; a mounted or claimed device is refused).

use std::process::exit;

use ferrofs_format::layout::{BLOCK_SIZE, BLOCK_SIZE_U64, FIRST_ALLOC_BLOCK, SUPER_BLOCK_NRS};
use ferrofs_format::superblock::{self, DiskSuper};
use ferrofs_tools::cli::{parse_or_exit, print_out, TuneArgs};
use ferrofs_tools::dev::{open_target, Device, FileDev};
use ferrofs_tools::fs::read_supers;
use ferrofs_tools::mkfs;

fn die(msg: &str) -> ! {
    eprintln!("tune.ferrofs: {msg}");
    exit(1)
}

fn list(target: &str, sb: &DiskSuper, copies: [&str; 2]) -> String {
    use std::fmt::Write;
    let mut o = String::new();
    let _ = writeln!(o, "Filesystem:               ferrofs ({target})");
    let _ = writeln!(o, "Filesystem volume name:   {}", String::from_utf8_lossy(sb.label_bytes()));
    let _ = writeln!(o, "Filesystem UUID:          {}", mkfs::format_uuid(&sb.uuid));
    let _ = writeln!(o, "Format version:           {}", sb.version);
    let _ = writeln!(o, "Block size:               {BLOCK_SIZE}");
    let _ = writeln!(o, "Block count:              {}", sb.total_blocks);
    let _ = writeln!(o, "Used blocks:              {}", sb.used_blocks + FIRST_ALLOC_BLOCK);
    let _ = writeln!(o, "Free blocks:              {}", sb.free_blocks);
    let _ = writeln!(o, "Generation:               {}", sb.generation);
    let _ = writeln!(o, "Next inode:               {}", sb.next_inode);
    let _ = writeln!(o, "Root directory inode:     {}", sb.root_dir);
    // Named like dumpe2fs's "Filesystem features" line, with the raw bits beside.
    let names = if sb.extrefs() { "extref" } else { "(none)" };
    let _ = writeln!(o, "Filesystem features:      {names} (compat {:#x}, ro_compat {:#x}, incompat {:#x})", sb.compat, sb.ro_compat, sb.incompat);
    let _ = writeln!(o, "fs tree root:             block {} level {} generation {}", sb.fs_root.block, sb.fs_root.level, sb.fs_root.generation);
    let _ = writeln!(o, "extent tree root:         block {} level {} generation {}", sb.extent_root.block, sb.extent_root.level, sb.extent_root.generation);
    for (blk, state) in SUPER_BLOCK_NRS.iter().zip(copies) {
        let _ = writeln!(o, "Superblock copy at {blk:<5}   {state}");
    }
    o
}

fn main() {
    let args: TuneArgs = parse_or_exit(1);
    let change = args.label.is_some() || args.uuid.is_some();
    if !change && !args.list {
        die("nothing to do: give -l, -L or -U (see --help)");
    }
    let new_uuid = match args.uuid.as_deref() {
        None => None,
        Some("random") => Some(mkfs::random_uuid()),
        Some("clear") => Some([0u8; 16]),
        Some(u) => Some(mkfs::parse_uuid(u).unwrap_or_else(|e| die(&e))),
    };
    let target = &args.device;
    let file = open_target(target, change, false).unwrap_or_else(|e| die(&e));
    let mut dev = FileDev(file);
    let [a, b] = read_supers(&mut dev);
    let state = |r: &Result<DiskSuper, _>| match r {
        Ok(_) => "valid".to_string(),
        Err(e) => format!("unusable: {e}"),
    };
    let copies = [state(&a), state(&b)];
    let mut sb = match superblock::choose(a, b) {
        Ok(sb) => sb,
        Err(e) => die(&format!("{target}: no valid ferrofs superblock: {e}")),
    };
    if change {
        // Both copies must be good: this tool writes what it read, it does not repair.
        if copies.iter().any(|c| c != "valid") {
            die(&format!("{target}: a superblock copy is damaged; run fsck.ferrofs -y first"));
        }
        if let Some(l) = &args.label {
            sb.set_label(l.as_bytes()).unwrap_or_else(|_| die("label longer than 64 bytes"));
        }
        if let Some(u) = new_uuid {
            sb.uuid = u;
        }
        // Backup first, then primary, each flushed: a crash in between leaves one valid copy
        // with the new values and one with the old, which the kernel and fsck choose between by
        // generation (equal here) and fsck reports as differing copies.
        for blk in SUPER_BLOCK_NRS.iter().rev() {
            let mut copy = sb;
            copy.bytenr = *blk;
            let mut buf = vec![0u8; BLOCK_SIZE];
            copy.write_to(&mut buf).unwrap_or_else(|e| die(&format!("cannot encode the superblock: {e}")));
            dev.write_at(blk * BLOCK_SIZE_U64, &buf).unwrap_or_else(|e| die(&format!("cannot write block {blk}: {e}")));
            dev.flush().unwrap_or_else(|e| die(&format!("cannot flush {target}: {e}")));
        }
    }
    if args.list {
        print_out(&list(target, &sb, [copies[0].as_str(), copies[1].as_str()]));
    } else {
        print_out(&format!("{target}: label \"{}\", UUID {}\n", String::from_utf8_lossy(sb.label_bytes()), mkfs::format_uuid(&sb.uuid)));
    }
}
