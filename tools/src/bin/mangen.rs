// SPDX-License-Identifier: GPL-2.0
//! `ferrofs-mangen DIR`: writes mkfs.ferrofs.8, fsck.ferrofs.8 and tune.ferrofs.8 (roff, from the
//! clap definitions in `ferrofs_tools::cli`) into DIR. `make install-tools` runs it.

use std::process::exit;

fn main() {
    let Some(dir) = std::env::args_os().nth(1) else {
        eprintln!("usage: ferrofs-mangen DIR");
        exit(16)
    };
    let dir = std::path::PathBuf::from(dir);
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("ferrofs-mangen: cannot create {}: {e}", dir.display());
        exit(1)
    }
    for cmd in ferrofs_tools::cli::commands() {
        let name = cmd.get_name().to_string();
        let man = clap_mangen::Man::new(cmd).section("8").source(format!("ferrofs {}", env!("CARGO_PKG_VERSION"))).manual("System Administration");
        let mut out = Vec::new();
        if let Err(e) = man.render(&mut out) {
            eprintln!("ferrofs-mangen: cannot render {name}: {e}");
            exit(1)
        }
        let path = dir.join(format!("{name}.8"));
        if let Err(e) = std::fs::write(&path, out) {
            eprintln!("ferrofs-mangen: cannot write {}: {e}", path.display());
            exit(1)
        }
    }
}
