//! `fsck.ferrofs [-n|-y|-p|-a] [-f] [-v] DEVICE|FILE`
//!
//! Exit codes (fsck(8)): 0 clean, 1 errors corrected, 4 errors left
//! uncorrected, 8 operational error, 16 usage error.

use std::process::exit;

use ferrofs_tools::dev::{open_target, FileDev};
use ferrofs_tools::fsck::{check, Options};

const USAGE: &str = "usage: fsck.ferrofs [-n | -y | -p | -a] [-f] [-v] [-V] DEVICE|FILE";

fn main() {
    let mut repair = false;
    let mut mode: Option<String> = None;
    let mut verbose = false;
    let mut target = None;
    for a in std::env::args().skip(1) {
        match a.as_str() {
            "-n" | "-y" | "-p" | "-a" => {
                // -n (check only) and the repairing modes exclude each other, as in e2fsck.
                let is_repair = a != "-n";
                if mode.as_ref().is_some_and(|m| (m != "-n") != is_repair) {
                    eprintln!("fsck.ferrofs: {} and {a} exclude each other\n{USAGE}", mode.as_deref().unwrap_or(""));
                    exit(16)
                }
                repair = is_repair;
                mode = Some(a.clone());
            }
            "-f" | "-C0" => {}
            "-v" => verbose = true,
            "-V" | "--version" => {
                println!("fsck.ferrofs {}", env!("CARGO_PKG_VERSION"));
                exit(0)
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                exit(0)
            }
            s if s.starts_with('-') => {
                eprintln!("fsck.ferrofs: unknown option {s}\n{USAGE}");
                exit(16)
            }
            _ if target.is_some() => {
                eprintln!("{USAGE}");
                exit(16)
            }
            _ => target = Some(a),
        }
    }
    let Some(target) = target else {
        eprintln!("{USAGE}");
        exit(16)
    };
    let file = match open_target(&target, repair, false) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("fsck.ferrofs: {e}");
            exit(8)
        }
    };
    let (report, _) = check(FileDev(file), &Options { repair, semantic: true });
    for p in &report.problems {
        let tag = match (&p.fix, repair) {
            (Some(_), true) if report.fatal.is_none() => " [fixed]",
            (Some(_), false) => " [fixable]",
            _ => "",
        };
        println!("{}{tag}", p.msg);
    }
    if let Some(f) = &report.fatal {
        eprintln!("fsck.ferrofs: {target}: {f}");
    }
    let code = report.exit_code();
    if code != 0 || (verbose && !report.problems.is_empty()) {
        println!(
            "fsck.ferrofs: {target}: {} problem(s), {} fixed, {} inodes, {} tree nodes",
            report.problems.len(),
            report.fixed,
            report.inodes,
            report.nodes
        );
    }
    if code == 0 {
        // One line on a clean check, as e2fsck says it.
        println!("{target}: clean, {} inodes, {}/{} blocks", report.inodes, report.used_blocks, report.total_blocks);
    }
    exit(code)
}
