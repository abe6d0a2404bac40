// SPDX-License-Identifier: GPL-2.0
//! The command lines of mkfs.ferrofs, fsck.ferrofs and tune.ferrofs (clap), shared by the
//! binaries and by `ferrofs-mangen`, which renders the man pages from them.

use clap::{ArgAction, CommandFactory, Parser};

use crate::mkfs::{parse_fs_size, parse_size, parse_uuid};

/// What the tools say about blkid until util-linux knows ferrofs.
pub const BLKID_NOTE: &str = "blkid(8) from util-linux does not know ferrofs yet (a prober patch is in \
contrib/util-linux of the ferrofs sources), so name the type: mount -t ferrofs DEVICE DIR, fsck -t ferrofs DEVICE.";

/// `mkfs.ferrofs`.
#[derive(Parser, Debug)]
#[command(
    name = "mkfs.ferrofs",
    version,
    about = "create a ferrofs filesystem",
    long_about = "Create a ferrofs filesystem on a block device or an image file (created when missing). \
A device that is mounted or otherwise claimed is refused (exclusive open); a device or file in which libblkid \
(blkid -p) finds a filesystem, partition table, LUKS header, swap or RAID signature is refused unless -f is given. \
A failed or interrupted run leaves nothing half-made: it removes an image file it created, and puts back \
what it overwrote of an existing image file or device (kept in memory before each first write: always for \
images up to 64 MiB, and for larger ones as long as no more than 64 MiB was written, which a run without -d \
never comes near). SIGINT, SIGTERM and SIGHUP stop it between two writes, after that cleanup.",
    after_help = "Exit status: 0 made, 1 failed (usage errors included), 128+N stopped by signal N \
(SIGINT 130, SIGTERM 143, SIGHUP 129).\n\n".to_owned() + BLKID_NOTE,
    args_override_self = true
)]
pub struct MkfsArgs {
    /// Overwrite existing contents (a signature blkid finds); never a mounted or claimed device
    #[arg(short = 'f', long = "force")]
    pub force: bool,
    /// Print nothing on success
    #[arg(short = 'q', long = "quiet")]
    pub quiet: bool,
    /// Filesystem label (at most 64 bytes, no NUL)
    #[arg(short = 'L', long = "label", value_name = "LABEL")]
    pub label: Option<String>,
    /// Filesystem UUID (8-4-4-4-12 hex); random by default
    #[arg(short = 'U', long = "uuid", value_name = "UUID", value_parser = parse_uuid)]
    pub uuid: Option<[u8; 16]>,
    /// Filesystem size in bytes, with an optional suffix k, m, g, t, p (powers of 1024) or s (512-byte
    /// sectors); an image file is extended to it. Default: the whole device or file
    #[arg(short = 's', long = "size", value_name = "SIZE", value_parser = parse_size)]
    pub size: Option<u64>,
    /// Copy this host directory tree into the new filesystem's root
    #[arg(short = 'd', long = "root-dir", value_name = "DIR")]
    pub root_dir: Option<std::path::PathBuf>,
    /// Block device or image file
    #[arg(value_name = "DEVICE")]
    pub device: String,
    /// Filesystem size as mke2fs takes it after the device: KiB without a suffix, else as --size
    /// (20480 and 20m are both 20 MiB); must agree with --size when both are given
    #[arg(value_name = "FS-SIZE", value_parser = parse_fs_size)]
    pub fs_size: Option<u64>,
}

/// `fsck.ferrofs`.
#[derive(Parser, Debug)]
#[command(
    name = "fsck.ferrofs",
    version,
    about = "check and repair a ferrofs filesystem",
    long_about = "Check a ferrofs filesystem: both superblocks, every tree node (checksum, owner, level, \
key order, block number), the extent tree against all references, and inode, directory and link count \
consistency. Without -n, -y or -p nothing is written (as with -n). A mounted or otherwise claimed block device is \
checked read-only with a warning (the results may be inaccurate while it changes); -y and -p refuse it \
(exit 8). Problems marked [fixable] are the ones -y \
repairs; -p repairs only those safe to fix unattended (superblock summaries and copies, link counts, stale \
orphan items) and leaves extent reference problems for -y.",
    after_help = "Exit status (fsck(8)): 0 no errors, 1 errors corrected, 4 errors left uncorrected, \
8 operational error (cannot open or read the device, not ferrofs, in use), 16 usage error, \
32 interrupted by a signal.\n\n".to_owned() + BLKID_NOTE,
    args_override_self = true
)]
pub struct FsckArgs {
    /// Check only: open read-only and write nothing
    #[arg(short = 'n', long = "no", conflicts_with_all = ["yes", "preen"])]
    pub no: bool,
    /// Repair every problem marked [fixable]
    #[arg(short = 'y', long = "yes", conflicts_with = "preen")]
    pub yes: bool,
    /// Preen: repair only what is safe without a person; -a is the same
    #[arg(short = 'p', long = "preen", short_alias = 'a')]
    pub preen: bool,
    /// Force a full check; with -p a filesystem whose superblocks are valid and agree is otherwise
    /// taken as clean without walking its trees
    #[arg(short = 'f', long = "force")]
    pub force: bool,
    /// Print the summary even when problems are found and all are listed
    #[arg(short = 'v', long = "verbose")]
    pub verbose: bool,
    /// Progress to file descriptor FD (accepted for fsck(8); ferrofs prints no progress)
    #[arg(short = 'C', value_name = "FD", action = ArgAction::Set)]
    pub progress: Option<String>,
    /// Block device or image file
    #[arg(value_name = "DEVICE")]
    pub device: String,
}

/// `tune.ferrofs`.
#[derive(Parser, Debug)]
#[command(
    name = "tune.ferrofs",
    version,
    about = "show or change a ferrofs filesystem's superblock",
    long_about = "Show the superblock of a ferrofs filesystem (-l, like dumpe2fs -h), or change its label \
(-L) or UUID (-U) offline. Changing refuses a mounted or claimed device (exclusive open) and writes both \
superblock copies.",
    after_help = BLKID_NOTE,
    args_override_self = true
)]
pub struct TuneArgs {
    /// List the superblock contents
    #[arg(short = 'l', long = "list")]
    pub list: bool,
    /// Set the label (at most 64 bytes; an empty string clears it)
    #[arg(short = 'L', long = "label", value_name = "LABEL")]
    pub label: Option<String>,
    /// Set the UUID: a UUID in 8-4-4-4-12 hex, "random", or "clear" (all zeros)
    #[arg(short = 'U', long = "uuid", value_name = "UUID")]
    pub uuid: Option<String>,
    /// Block device or image file
    #[arg(value_name = "DEVICE")]
    pub device: String,
}

/// Writes `text` to standard output. A reader that went away (`EPIPE`, as in `tool | head -1`)
/// ends the program quietly with the status a shell reports for SIGPIPE (141), as C tools that
/// die of the signal do; other write errors are reported, exit status 1.
pub fn print_out(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(141),
        Err(e) => {
            eprintln!("cannot write to standard output: {e}");
            std::process::exit(1)
        }
    }
}

/// Parses `std::env::args()` into `T`. Help and version go to stdout with exit 0; a usage error
/// is printed with the usage and exits `usage_code` (16 for fsck(8), 1 for mkfs).
pub fn parse_or_exit<T: Parser>(usage_code: i32) -> T {
    match T::try_parse() {
        Ok(a) => a,
        Err(e) => {
            use clap::error::ErrorKind;
            let code = match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => 0,
                _ => usage_code,
            };
            let _ = e.print();
            std::process::exit(code)
        }
    }
}

/// The commands for the man pages: (page name, command).
pub fn commands() -> Vec<clap::Command> {
    vec![MkfsArgs::command(), FsckArgs::command(), TuneArgs::command()]
}
