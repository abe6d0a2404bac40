// SPDX-License-Identifier: GPL-2.0
//! mkfs.ferrofs and existing contents (issue 12): sample images made with the real tools
//! (cryptsetup, sfdisk, mkswap, mkfs.ext4, mkfs.xfs, mkfs.btrfs, and our own mkfs) are refused
//! without -f, naming what was found and leaving the image untouched, and formatted with -f,
//! after which blkid finds no trace of the old signature. A missing tool fails the test.

use std::fs;
use std::path::Path;

mod common;
use common::*;

/// One sample: its file name, size in MiB, the command making it (the image path appended),
/// the command's stdin, the Debian package, and what mkfs.ferrofs must name.
struct Sample {
    name: &'static str,
    mib: u64,
    cmd: &'static str,
    args: &'static [&'static str],
    stdin: &'static str,
    pkg: &'static str,
    want: &'static str,
}

const SAMPLES: &[Sample] = &[
    Sample { name: "mbr", mib: 20, cmd: "sfdisk", args: &["-q"], stdin: "label: dos\n,,L\n", pkg: "fdisk", want: "dos partition table" },
    Sample { name: "gpt", mib: 20, cmd: "sfdisk", args: &["-q"], stdin: "label: gpt\n,,L\n", pkg: "fdisk", want: "gpt partition table" },
    Sample { name: "swap", mib: 20, cmd: "mkswap", args: &[], stdin: "", pkg: "util-linux", want: "swap (TYPE)" },
    Sample { name: "ext4", mib: 20, cmd: "mkfs.ext4", args: &["-q", "-F"], stdin: "", pkg: "e2fsprogs", want: "ext4 (TYPE)" },
    Sample { name: "xfs", mib: 320, cmd: "mkfs.xfs", args: &["-q", "-f"], stdin: "", pkg: "xfsprogs", want: "xfs (TYPE)" },
    Sample { name: "btrfs", mib: 128, cmd: "mkfs.btrfs", args: &["-q", "-f"], stdin: "", pkg: "btrfs-progs", want: "btrfs (TYPE)" },
    Sample {
        name: "luks2",
        mib: 20,
        cmd: "cryptsetup",
        // pbkdf2 with few iterations: fast, and no memory-hard argon2 on a small machine.
        args: &["luksFormat", "--batch-mode", "--type", "luks2", "--pbkdf", "pbkdf2", "--pbkdf-force-iterations", "1000", "--key-file", "-"],
        stdin: "not a secret",
        pkg: "cryptsetup-bin",
        want: "crypto_LUKS (TYPE)",
    },
];

fn digest(p: &Path) -> Vec<u8> {
    fs::read(p).unwrap()
}

/// Refused without -f (exit 1, naming `want` and -f, nothing written); formatted with -f
/// (fsck clean, the old signature gone for blkid).
fn refused_then_forced(img: &Path, name: &str, want: &str) {
    let before = digest(img);
    let o = run(MKFS, &[img.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{name}: mkfs.ferrofs without -f: {}", text(&o));
    let out = text(&o);
    assert!(out.contains(want) && out.contains("use -f"), "{name}: the refusal does not name '{want}' and -f: {out}");
    assert!(digest(img) == before, "{name}: a refused mkfs.ferrofs changed the image");
    let o = run(MKFS, &["-f", "-q", img.to_str().unwrap()]);
    assert!(o.status.success(), "{name} with -f: {}", text(&o));
    let (code, out) = fsck(img, "-n");
    assert_eq!(code, 0, "{name}: fsck after mkfs -f: {out}");
    // blkid finds nothing (it does not know ferrofs) or ferrofs alone (a patched libblkid,
    // contrib/util-linux): never the old signature.
    let (code, out) = blkid_probe(img);
    assert!(code == 2 || (code == 0 && out.contains("TYPE=ferrofs") && !out.contains("PTTYPE")), "{name}: blkid -p after mkfs -f (exit {code}): {out}");
}

#[test]
fn samples_made_by_the_real_tools_are_refused_without_force() {
    let t = TempDir::new();
    for s in SAMPLES {
        let img = t.path(s.name);
        sparse_file(&img, s.mib << 20);
        let mut args: Vec<&str> = s.args.to_vec();
        args.push(img.to_str().unwrap());
        need_tool(s.cmd, &args, s.stdin, s.pkg);
        // The sample really holds what it should, for blkid too.
        let (code, out) = blkid_probe(&img);
        assert_eq!(code, 0, "{}: blkid -p does not see the sample: {out}", s.name);
        refused_then_forced(&img, s.name, s.want);
    }
}

#[test]
fn a_ferrofs_image_is_refused_without_force() {
    let t = TempDir::new();
    let img = t.path("ferrofs");
    let o = run(MKFS, &["-q", "-L", "first", img.to_str().unwrap(), "20m"]);
    assert!(o.status.success(), "{}", text(&o));
    refused_then_forced(&img, "ferrofs", "ferrofs");
    let o = run(TUNE, &["-l", img.to_str().unwrap()]);
    assert!(o.status.success() && !text(&o).contains("first"), "-f made a new filesystem: {}", text(&o));
}

#[test]
fn a_partition_table_and_a_filesystem_inside_it() {
    // A GPT disk whose first partition holds ext4: blkid -p of the whole disk names the table.
    let t = TempDir::new();
    let img = t.path("disk");
    sparse_file(&img, 40 << 20);
    need_tool("sfdisk", &["-q", img.to_str().unwrap()], "label: gpt\nstart=2048, size=65536, type=L\n", "fdisk");
    need_tool("mkfs.ext4", &["-q", "-F", "-E", "offset=1048576", img.to_str().unwrap(), "32M"], "", "e2fsprogs");
    refused_then_forced(&img, "gpt+ext4", "gpt partition table");
}
