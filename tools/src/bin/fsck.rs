// SPDX-License-Identifier: GPL-2.0
//! `fsck.ferrofs [-n | -y | -p | -a] [-f] [-v] [-C FD] [-V] DEVICE|FILE`
//!
//! Exit codes (fsck(8)): 0 clean, 1 errors corrected, 4 errors left uncorrected, 8 operational
//! error, 16 usage error, 32 interrupted by a signal.

use std::process::exit;

use ferrofs_tools::cli::{parse_or_exit, FsckArgs};
use ferrofs_tools::dev::{in_use, open_target, FileDev};
use ferrofs_tools::fsck::{check, superblocks_clean, Options};

extern "C" fn on_signal(_sig: libc::c_int) {
    const MSG: &[u8] = b"fsck.ferrofs: interrupted by a signal\n";
    // SAFETY: write(2) and _exit(2) are async-signal-safe; MSG is a static buffer.
    unsafe {
        libc::write(2, MSG.as_ptr().cast(), MSG.len());
        libc::_exit(32)
    }
}

fn main() {
    let args: FsckArgs = parse_or_exit(16);
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT] {
        // SAFETY: installing a handler that only calls async-signal-safe functions. A repair
        // interrupted before its superblock writes leaves the previous commit in place (CoW).
        unsafe {
            libc::signal(sig, on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t);
        }
    }
    let repair = args.yes || args.preen;
    let target = &args.device;
    if !repair {
        // As e2fsck: a check-only run of a mounted device goes ahead, read-only, with a warning;
        // -y and -p are refused below (exclusive open).
        if let Some(how) = in_use(target) {
            eprintln!("fsck.ferrofs: warning: {target} is {how}; checking it read-only, the results may be inaccurate while it is in use");
        }
    }
    let file = match open_target(target, repair, false) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("fsck.ferrofs: {e}");
            exit(8)
        }
    };
    let mut dev = FileDev(file);
    if args.preen && !args.force {
        if let Some(sb) = superblocks_clean(&mut dev) {
            println!(
                "{target}: clean, {}/{} blocks (superblocks only; -f checks every tree)",
                sb.used_blocks + ferrofs_format::layout::FIRST_ALLOC_BLOCK,
                sb.total_blocks
            );
            exit(0)
        }
    }
    let (report, _) = check(dev, &Options { repair, semantic: true, preen: args.preen });
    for n in &report.notes {
        println!("note: {n}");
    }
    for (i, p) in report.problems.iter().enumerate() {
        let tag = if report.repaired.get(i).copied().unwrap_or(false) {
            " [fixed]"
        } else if report.fixable(i) && !repair {
            " [fixable]"
        } else if report.fixable(i) && args.preen && report.fatal.is_none() {
            " [not fixed: needs -y]"
        } else {
            ""
        };
        println!("{}{tag}", p.msg);
    }
    if let Some(f) = &report.fatal {
        eprintln!("fsck.ferrofs: {target}: {f}");
    }
    let code = report.exit_code();
    if code != 0 || (args.verbose && !report.problems.is_empty()) {
        println!(
            "fsck.ferrofs: {target}: {} problem(s), {} fixed, {} inodes, {} tree nodes",
            report.problems.len(),
            report.fixed,
            report.inodes,
            report.nodes
        );
    }
    if args.preen && code == 4 {
        eprintln!("fsck.ferrofs: {target}: UNEXPECTED INCONSISTENCY; run fsck.ferrofs manually (with -y or -n).");
    }
    if code == 0 {
        // One line on a clean check, as e2fsck says it.
        println!("{target}: clean, {} inodes, {}/{} blocks", report.inodes, report.used_blocks, report.total_blocks);
    }
    exit(code)
}
