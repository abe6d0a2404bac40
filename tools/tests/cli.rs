//! Integration tests running the built mkfs-ferrofs / fsck-ferrofs binaries:
//! population from a host tree, one test per corruption class, repairs.

use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use ferrofs_format::items::{extref_hash, ExtentData, InodeExtref, InodeItem, FT_REG, S_IFLNK, S_IFREG};
use ferrofs_format::key::{Key, DIR_INDEX, EXTENT_DATA, INODE_EXTREF};
use ferrofs_format::layout::{BACKUP_SUPER_BLOCK_NR, BLOCK_SIZE, BLOCK_SIZE_U64, ROOT_DIR_INO, SUPER_BLOCK_NR};
use ferrofs_format::superblock::DiskSuper;
use ferrofs_format::{dir, extent, inode, node, orphan, tree};
use ferrofs_tools::dev::FileDev;
use ferrofs_tools::fs::Fs;

mod common;
use common::*;

fn mkfs_img(t: &TempDir) -> PathBuf {
    let src = make_source(t);
    let img = t.path("img");
    let o = run(MKFS, &["-q", "-s", "32m", "-L", "lbl", "-d", src.to_str().unwrap(), img.to_str().unwrap()]);
    assert!(o.status.success(), "mkfs failed: {}", text(&o));
    img
}

fn open_fs(img: &Path) -> Fs<FileDev> {
    Fs::open(FileDev(OpenOptions::new().read(true).write(true).open(img).unwrap())).unwrap()
}

fn ino_of(fs: &mut Fs<FileDev>, path: &[&str]) -> u64 {
    let mut ino = ROOT_DIR_INO;
    for p in path {
        ino = dir::lookup(&mut fs.store, &fs.fs_root, ino, p.as_bytes()).unwrap().unwrap().ino;
    }
    ino
}

fn read_file(fs: &mut Fs<FileDev>, ino: u64) -> Vec<u8> {
    let i = inode::read(&mut fs.store, &fs.fs_root, ino).unwrap().unwrap();
    let mut out = vec![0u8; i.size as usize];
    let mut pos = 0u64;
    while pos < i.size {
        if let Some((start, e)) = inode::extent_at(&mut fs.store, &fs.fs_root, ino, pos).unwrap() {
            let blk = e.disk_block_at(pos - start).unwrap();
            let mut b = vec![0u8; BLOCK_SIZE];
            fs.store.dev.0.read_exact_at(&mut b, blk * BLOCK_SIZE_U64).unwrap();
            let n = ((i.size - pos) as usize).min(BLOCK_SIZE);
            out[pos as usize..pos as usize + n].copy_from_slice(&b[..n]);
        }
        pos += BLOCK_SIZE_U64;
    }
    out
}

fn file_extents(fs: &mut Fs<FileDev>, ino: u64) -> Vec<(u64, ExtentData)> {
    let mut v = Vec::new();
    let mut pos = 0;
    while let Some((off, e)) = inode::next_extent(&mut fs.store, &fs.fs_root, ino, pos).unwrap() {
        v.push((off, e));
        pos = off + 1;
    }
    v
}

#[test]
fn mkfs_populate_then_fsck_clean() {
    let t = TempDir::new();
    let img = mkfs_img(&t);
    let (code, out) = fsck(&img, "-n");
    assert_eq!(code, 0, "{out}");
    let mut fs = open_fs(&img);
    assert_eq!(fs.sb.label_bytes(), b"lbl");
    assert_eq!(fs.sb.total_blocks, 8192);
    let src = t.path("src");
    for (p, host) in [(&["hello.txt"][..], "hello.txt"), (&["sub", "big.bin"], "sub/big.bin"), (&["sparse"], "sparse"), (&["sub", "deeper", "file042"], "sub/deeper/file042"), (&["empty"], "empty")] {
        let ino = ino_of(&mut fs, p);
        assert_eq!(read_file(&mut fs, ino), fs::read(src.join(host)).unwrap(), "{host}");
        let i = inode::read(&mut fs.store, &fs.fs_root, ino).unwrap().unwrap();
        let m = fs::metadata(src.join(host)).unwrap();
        assert_eq!(i.mode, m.mode());
        assert_eq!((i.mtime.sec, i.mtime.nsec as i64), (m.mtime(), m.mtime_nsec()));
        assert_eq!(i.uid, m.uid());
    }
    // holes kept: the 50-block sparse file uses 2 blocks
    let sp = ino_of(&mut fs, &["sparse"]);
    assert_eq!(inode::read(&mut fs.store, &fs.fs_root, sp).unwrap().unwrap().nbytes, 2 * 4096);
    // hard link shares the inode, nlink 2
    let a = ino_of(&mut fs, &["hello.txt"]);
    assert_eq!(ino_of(&mut fs, &["sub", "hardlink"]), a);
    assert_eq!(inode::read(&mut fs.store, &fs.fs_root, a).unwrap().unwrap().nlink, 2);
    // symlink
    let l = ino_of(&mut fs, &["link"]);
    let li = inode::read(&mut fs.store, &fs.fs_root, l).unwrap().unwrap();
    assert_eq!(li.mode & 0o170000, S_IFLNK);
    let mut buf = [0u8; 4096];
    let n = inode::read_symlink(&mut fs.store, &fs.fs_root, l, &mut buf).unwrap();
    assert_eq!(&buf[..n], b"hello.txt");
    // directories: nlink = 2 + subdirs, readdir order by index
    let sub = ino_of(&mut fs, &["sub"]);
    assert_eq!(inode::read(&mut fs.store, &fs.fs_root, sub).unwrap().unwrap().nlink, 3);
    assert_eq!(inode::read(&mut fs.store, &fs.fs_root, ROOT_DIR_INO).unwrap().unwrap().nlink, 3);
    let deeper = ino_of(&mut fs, &["sub", "deeper"]);
    let mut pos = 0;
    let mut names = Vec::new();
    let mut nb = [0u8; 255];
    while let Some((idx, _, ft, n)) = dir::readdir_next(&mut fs.store, &fs.fs_root, deeper, pos, &mut nb).unwrap() {
        assert_eq!(ft, FT_REG);
        names.push(String::from_utf8(nb[..n].to_vec()).unwrap());
        pos = idx + 1;
    }
    assert_eq!(names.len(), 150);
    assert_eq!(names[0], "file000");
    assert_eq!(names[149], "file149");
}

/// fstests generic/040 and generic/041 through `mkfs -d`: a file with hundreds of hard links in
/// one directory, past the room of its `INODE_REF` item, is copied whole (the rest of the names
/// in `INODE_EXTREF` items).
#[test]
fn mkfs_copies_many_hard_links_in_one_directory() {
    let t = TempDir::new();
    let src = t.path("src");
    fs::create_dir_all(src.join("d")).unwrap();
    fs::write(src.join("d/f"), b"linked\n").unwrap();
    for i in 0..300 {
        fs::hard_link(src.join("d/f"), src.join(format!("d/link-{i:04}"))).unwrap();
    }
    let img = t.path("img");
    let o = run(MKFS, &["-q", "-s", "32m", "-d", src.to_str().unwrap(), img.to_str().unwrap()]);
    assert!(o.status.success(), "mkfs failed: {}", text(&o));
    let (code, out) = fsck(&img, "-fn");
    assert_eq!(code, 0, "{out}");
    let mut fs = open_fs(&img);
    assert!(fs.sb.extrefs(), "mkfs sets INCOMPAT_EXTREF");
    let f = ino_of(&mut fs, &["d", "f"]);
    assert_eq!(inode::read(&mut fs.store, &fs.fs_root, f).unwrap().unwrap().nlink, 301);
    for i in 0..300 {
        assert_eq!(ino_of(&mut fs, &["d", &format!("link-{i:04}")]), f);
    }
    let mut extrefs = 0;
    let root = fs.fs_root;
    tree::for_each_in(&mut fs.store, &root, &Key::new(f, INODE_EXTREF, 0), &Key::new(f, INODE_EXTREF, u64::MAX), |_, _| {
        extrefs += 1;
        Ok(true)
    })
    .unwrap();
    assert!(extrefs > 100, "{extrefs} INODE_EXTREF items");
}

#[test]
fn mkfs_refuses_existing_signatures_and_small_sizes() {
    let t = TempDir::new();
    let img = t.path("img");
    let f = File::create(&img).unwrap();
    f.set_len(20 << 20).unwrap();
    f.write_all_at(&[0x53, 0xEF], 1080).unwrap();
    drop(f);
    let o = run(MKFS, &[img.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(text(&o).contains("ext2"), "{}", text(&o));
    let o = run(MKFS, &["-f", "-U", "01234567-89ab-cdef-0123-456789abcdef", img.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("01234567-89ab-cdef-0123-456789abcdef"));
    // now it holds ferrofs: refused without -f
    let o = run(MKFS, &[img.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(text(&o).contains("ferrofs"));
    assert_eq!(fsck(&img, "-n").0, 0);
    // too small
    let small = t.path("small");
    sparse_file(&small, 8 << 20);
    let o = run(MKFS, &[small.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(text(&o).contains("too small"), "{}", text(&o));
    // -s with suffix creates/extends a file
    let sized = t.path("sized");
    let o = run(MKFS, &["-s", "17M", sized.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(fs::metadata(&sized).unwrap().len(), 17 << 20);
    assert_eq!(fsck(&sized, "-n").0, 0);
    // fsck on something that is not ferrofs: operational error
    let zero = t.path("zero");
    sparse_file(&zero, 17 << 20);
    assert_eq!(fsck(&zero, "-n").0, 8);
    assert_eq!(fsck(&t.path("missing"), "-n").0, 8);
}

#[test]
fn fsck_refuses_check_only_with_repair() {
    let t = TempDir::new();
    let img = mkfs_img(&t);
    // Only one of -n, -y, -p/-a (as e2fsck), in any form: separate, clustered, long.
    for flags in [&["-n", "-y"][..], &["-y", "-n"], &["-p", "-n"], &["-y", "-p"], &["-a", "-y"], &["-ny"], &["-pn"], &["--yes", "--no"]] {
        let mut a = flags.to_vec();
        a.push(img.to_str().unwrap());
        let o = run(FSCK, &a);
        assert_eq!(o.status.code(), Some(16), "{flags:?}: {}", text(&o));
        assert!(text(&o).contains("cannot be used with"), "{flags:?}: {}", text(&o));
    }
    // The same mode twice is fine.
    assert_eq!(run(FSCK, &["-y", "-y", img.to_str().unwrap()]).status.code(), Some(0));
    assert_eq!(run(FSCK, &["-p", "-a", img.to_str().unwrap()]).status.code(), Some(0));
}

#[test]
fn version_clean_summary_and_no_half_made_image() {
    let t = TempDir::new();
    for bin in [MKFS, FSCK] {
        let o = run(bin, &["-V"]);
        assert!(o.status.success() && text(&o).contains(env!("CARGO_PKG_VERSION")), "{}", text(&o));
    }
    let img = mkfs_img(&t);
    let o = run(FSCK, &["-n", img.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    let out = text(&o);
    assert!(out.contains(": clean, ") && out.contains(" inodes, ") && out.contains(" blocks"), "{out}");
    // A failed mkfs removes the image file it created, and leaves an existing one as it was.
    let new = t.path("new-too-small");
    let o = run(MKFS, &["-s", "8M", new.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(!new.exists(), "a failed mkfs left {} behind", new.display());
    let old = t.path("old-too-small");
    sparse_file(&old, 8 << 20);
    assert!(!run(MKFS, &[old.to_str().unwrap()]).status.success());
    assert_eq!(fs::metadata(&old).unwrap().len(), 8 << 20);
}

#[test]
fn tools_refuse_a_directory() {
    let t = TempDir::new();
    let d = t.path("dir");
    fs::create_dir(&d).unwrap();
    let o = run(MKFS, &["-f", d.to_str().unwrap()]);
    assert!(!o.status.success() && text(&o).contains("is a directory"), "{}", text(&o));
    let o = run(FSCK, &["-n", d.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(8));
    assert!(text(&o).contains("is a directory"), "{}", text(&o));
}

// ------------------------------------------------------------ corruption

fn rw_block(img: &Path, blk: u64, f: impl FnOnce(&mut [u8])) {
    let file = OpenOptions::new().read(true).write(true).open(img).unwrap();
    let mut b = vec![0u8; BLOCK_SIZE];
    file.read_exact_at(&mut b, blk * BLOCK_SIZE_U64).unwrap();
    f(&mut b);
    file.write_all_at(&b, blk * BLOCK_SIZE_U64).unwrap();
}

fn first_leaf(img: &Path) -> u64 {
    let mut fs = open_fs(img);
    let mut blk = fs.sb.fs_root.block;
    loop {
        let b = ferrofs_format::BlockStore::read(&mut fs.store, blk).unwrap();
        if node::level(&b) == 0 {
            return blk;
        }
        blk = node::ptr(&b, 0).unwrap().1;
    }
}

fn with_fs(img: &Path, f: impl FnOnce(&mut Fs<FileDev>)) {
    let mut fs = open_fs(img);
    f(&mut fs);
    fs.commit().unwrap();
}

/// Damage: the inode at `path` gets link count `nlink`. Returns its number.
fn set_nlink(fs: &mut Fs<FileDev>, path: &[&str], nlink: u32) -> u64 {
    let ino = ino_of(fs, path);
    let mut i = fs.read_inode(ino).unwrap().unwrap();
    i.nlink = nlink;
    fs.write_inode(ino, &i).unwrap();
    ino
}

/// Damage: `blocks` newly allocated blocks recorded in the extent tree, referenced by nothing.
fn leak_blocks(fs: &mut Fs<FileDev>, blocks: u64) {
    let (s, n) = fs.store.alloc_range(blocks).unwrap();
    extent::add_data_extent(&mut fs.store, &mut fs.ext_root, s, n).unwrap();
    fs.used_blocks += n;
}

// One function per damage class: it damages the image and returns a line fsck -n must print.

fn dmg_superblock_checksum(img: &Path) -> String {
    rw_block(img, SUPER_BLOCK_NR, |b| b[3000] ^= 0x10);
    "superblock at block 16: bad checksum".into()
}

/// The backup copy left behind by two commits: not a crash state (one commit writes both
/// copies; one generation behind is `backup_one_generation_behind_is_noted_not_damage`).
fn dmg_superblock_copies_differ(img: &Path) -> String {
    let mut old = Vec::new();
    rw_block(img, BACKUP_SUPER_BLOCK_NR, |b| old = b.to_vec());
    for _ in 0..2 {
        with_fs(img, |fs| {
            set_nlink(fs, &["hello.txt"], 2);
        });
    }
    rw_block(img, BACKUP_SUPER_BLOCK_NR, |b| b.copy_from_slice(&old));
    "superblock copies differ".into()
}

/// Both copies agree, and claim 7 free blocks too many.
fn dmg_space_summary(img: &Path) -> String {
    for blk in [SUPER_BLOCK_NR, BACKUP_SUPER_BLOCK_NR] {
        rw_block(img, blk, |b| {
            let mut sb = DiskSuper::parse(b, blk).unwrap();
            sb.free_blocks += 7;
            sb.write_to(b).unwrap();
        });
    }
    "superblock: space summary used=".into()
}

fn dmg_node_checksum(img: &Path) -> String {
    let leaf = first_leaf(img);
    rw_block(img, leaf, |b| b[2000] ^= 0xFF);
    format!("block {leaf}: fs tree node: node checksum mismatch")
}

fn dmg_self_block_number(img: &Path) -> String {
    let leaf = first_leaf(img);
    rw_block(img, leaf, |b| {
        b[8..16].copy_from_slice(&(leaf + 1).to_le_bytes());
        node::finalize(b).unwrap();
    });
    "node records a different block number".into()
}

fn dmg_key_order(img: &Path) -> String {
    let leaf = first_leaf(img);
    rw_block(img, leaf, |b| {
        assert!(node::nritems(b) >= 3);
        // make item 2's key smaller than item 1's
        let k1 = node::leaf_key(b, 1).unwrap();
        Key::new(k1.objectid, 0, 0).write(b, node::NODE_HEADER_SIZE + 2 * node::LEAF_ITEM_SIZE).unwrap();
        node::finalize(b).unwrap();
    });
    "keys out of order".into()
}

fn dmg_leaked_block(img: &Path) -> String {
    with_fs(img, |fs| leak_blocks(fs, 3));
    "leaked space".into()
}

fn dmg_double_referenced(img: &Path) -> String {
    with_fs(img, |fs| {
        let a = ino_of(fs, &["two"]);
        let b = ino_of(fs, &["two2"]);
        let (_, ea) = file_extents(fs, a)[0];
        tree::replace(&mut fs.store, &mut fs.fs_root, &Key::new(b, EXTENT_DATA, 0), &ea.to_bytes()).unwrap();
    });
    "double-referenced block".into()
}

fn dmg_wrong_nlink(img: &Path) -> String {
    let mut ino = 0;
    with_fs(img, |fs| ino = set_nlink(fs, &["sub", "deeper", "file007"], 5));
    format!("inode {ino}: link count 5 but 1 expected (wrong nlink)")
}

fn dmg_dangling_entry(img: &Path) -> String {
    let mut ino = 0;
    with_fs(img, |fs| {
        ino = ino_of(fs, &["empty"]);
        tree::delete(&mut fs.store, &mut fs.fs_root, &inode::inode_key(ino)).unwrap();
    });
    format!("dangling entry 'empty' -> missing inode {ino}")
}

fn dmg_index_hash(img: &Path) -> String {
    with_fs(img, |fs| {
        let f = dir::lookup(&mut fs.store, &fs.fs_root, ROOT_DIR_INO, b"hello.txt").unwrap().unwrap();
        tree::delete(&mut fs.store, &mut fs.fs_root, &Key::new(ROOT_DIR_INO, DIR_INDEX, f.index)).unwrap();
    });
    "index/hash mismatch".into()
}

/// The file's extent points past the end; the blocks it used are left recorded (leaked too).
fn dmg_extent_beyond_device(img: &Path) -> String {
    let mut ino = 0;
    with_fs(img, |fs| {
        ino = ino_of(fs, &["hello.txt"]);
        let (off, mut e) = file_extents(fs, ino)[0];
        e.disk_start = fs.sb.total_blocks + 10;
        tree::replace(&mut fs.store, &mut fs.fs_root, &Key::new(ino, EXTENT_DATA, off), &e.to_bytes()).unwrap();
    });
    format!("inode {ino}: extent at offset 0 points beyond the device")
}

fn dmg_overlapping_extents(img: &Path) -> String {
    let mut ino = 0;
    with_fs(img, |fs| {
        ino = ino_of(fs, &["sub", "big.bin"]);
        let (_, e) = file_extents(fs, ino)[0];
        assert!(e.len >= 3 * 4096);
        let e2 = ExtentData { offset: 4096, len: 4096, ..e };
        tree::insert(&mut fs.store, &mut fs.fs_root, &Key::new(ino, EXTENT_DATA, 4096), &e2.to_bytes()).unwrap();
    });
    format!("inode {ino}: extent at offset 4096 overlaps the previous extent (overlapping extents)")
}

/// An orphan item left for an inode that still has its name.
fn dmg_orphan_item_linked(img: &Path) -> String {
    let mut ino = 0;
    with_fs(img, |fs| {
        ino = ino_of(fs, &["two"]);
        orphan::add(&mut fs.store, &mut fs.fs_root, ino).unwrap();
    });
    format!("inode {ino}: orphan item for an inode with 1 names")
}

/// An orphan item naming an inode that does not exist.
fn dmg_orphan_item_missing(img: &Path) -> String {
    let mut ino = 0;
    with_fs(img, |fs| {
        ino = fs.alloc_ino();
        orphan::add(&mut fs.store, &mut fs.fs_root, ino).unwrap();
    });
    format!("orphan item names missing inode {ino}")
}

/// An inode no directory names and no orphan item holds (lost, as e2fsck's unattached inodes).
fn dmg_unreachable_inode(img: &Path) -> String {
    let mut ino = 0;
    with_fs(img, |fs| {
        ino = fs.alloc_ino();
        let i = InodeItem { generation: fs.generation(), nlink: 1, mode: S_IFREG | 0o644, ..Default::default() };
        fs.write_inode(ino, &i).unwrap();
    });
    format!("inode {ino}: unreachable (no directory entry names it)")
}

/// An extended back reference (`INODE_EXTREF`) naming a directory entry that does not exist.
fn dmg_extref_without_entry(img: &Path) -> String {
    let mut ino = 0;
    with_fs(img, |fs| {
        ino = ino_of(fs, &["two"]);
        let x = InodeExtref { dir: ROOT_DIR_INO, index: 9999, name: b"ghost" };
        let mut v = vec![0u8; x.len()];
        x.write_to(&mut v).unwrap();
        tree::insert(&mut fs.store, &mut fs.fs_root, &Key::new(ino, INODE_EXTREF, extref_hash(ROOT_DIR_INO, b"ghost")), &v).unwrap();
    });
    format!("inode {ino}: back reference to directory {ROOT_DIR_INO} 'ghost' has no directory entry")
}

/// A damage class and the fsck(8) exit codes for it (0 clean, 1 corrected, 4 left uncorrected).
struct Damage {
    name: &'static str,
    make: fn(&Path) -> String,
    /// `[fixable]` lines in the `-n` output.
    fixable: usize,
    /// Exit codes of `-n`, `-y`, `-p` and `-pf`. `-p` alone looks only at the superblocks when
    /// both are valid and agree, so damage below them is found by `-pf`; `-p` repairs only the
    /// unattended-safe fixes (superblocks, link counts, orphan items), leaving extent references
    /// (leaked space) for `-y`.
    codes: [i32; 4],
}

const MODES: [&str; 4] = ["-n", "-y", "-p", "-pf"];

const DAMAGE: &[Damage] = &[
    Damage { name: "superblock checksum", make: dmg_superblock_checksum, fixable: 1, codes: [4, 1, 1, 1] },
    Damage { name: "superblock copies differ", make: dmg_superblock_copies_differ, fixable: 1, codes: [4, 1, 1, 1] },
    Damage { name: "space summary (free blocks)", make: dmg_space_summary, fixable: 1, codes: [4, 1, 0, 1] },
    Damage { name: "node checksum", make: dmg_node_checksum, fixable: 0, codes: [4, 4, 0, 4] },
    Damage { name: "node block number", make: dmg_self_block_number, fixable: 0, codes: [4, 4, 0, 4] },
    Damage { name: "key order", make: dmg_key_order, fixable: 0, codes: [4, 4, 0, 4] },
    Damage { name: "leaked blocks", make: dmg_leaked_block, fixable: 1, codes: [4, 1, 0, 4] },
    // two2's own extent, now referenced by nothing, is leaked space too (the one fixable part).
    Damage { name: "double-referenced block", make: dmg_double_referenced, fixable: 1, codes: [4, 4, 0, 4] },
    Damage { name: "wrong link count", make: dmg_wrong_nlink, fixable: 1, codes: [4, 1, 0, 1] },
    Damage { name: "dangling directory entry", make: dmg_dangling_entry, fixable: 0, codes: [4, 4, 0, 4] },
    Damage { name: "index/hash mismatch", make: dmg_index_hash, fixable: 0, codes: [4, 4, 0, 4] },
    // The blocks the extent used are leaked space (fixable); the extent itself is not.
    Damage { name: "extent beyond the device", make: dmg_extent_beyond_device, fixable: 1, codes: [4, 4, 0, 4] },
    Damage { name: "overlapping extents", make: dmg_overlapping_extents, fixable: 0, codes: [4, 4, 0, 4] },
    Damage { name: "orphan item for a linked inode", make: dmg_orphan_item_linked, fixable: 1, codes: [4, 1, 0, 1] },
    Damage { name: "orphan item for a missing inode", make: dmg_orphan_item_missing, fixable: 1, codes: [4, 1, 0, 1] },
    Damage { name: "unreachable inode", make: dmg_unreachable_inode, fixable: 0, codes: [4, 4, 0, 4] },
    Damage { name: "extended back reference without its entry", make: dmg_extref_without_entry, fixable: 0, codes: [4, 4, 0, 4] },
];

/// Every damage class under one of `-n`, `-y`, `-p`, `-pf`, each on a fresh image: the exit
/// code, the problem named by `-n` with its `[fixable]` marks, and after an exit of 1 a clean
/// `-fn`. All wrong cases are listed together.
fn damage_classes(m: usize) {
    let mode = MODES[m];
    let mut wrong = Vec::new();
    for d in DAMAGE {
        let want = d.codes[m];
        let t = TempDir::new();
        let img = mkfs_img(&t);
        let needle = (d.make)(&img);
        let (code, out) = fsck(&img, mode);
        if code != want {
            wrong.push(format!("{}: fsck {mode} exit {code}, expected {want}:\n{out}", d.name));
            continue;
        }
        if mode == "-n" {
            if !out.contains(&needle) {
                wrong.push(format!("{}: fsck -n does not say '{needle}':\n{out}", d.name));
            }
            let marked = out.matches("[fixable]").count();
            if marked != d.fixable {
                wrong.push(format!("{}: fsck -n marks {marked} problems [fixable], expected {}:\n{out}", d.name, d.fixable));
            }
        }
        if code == 1 {
            let (code, out) = fsck(&img, "-fn");
            if code != 0 {
                wrong.push(format!("{}: after fsck {mode} (exit 1), fsck -fn exit {code}:\n{out}", d.name));
            }
        }
    }
    assert!(wrong.is_empty(), "fsck {mode}: {} of {} damage classes wrong:\n{}", wrong.len(), DAMAGE.len(), wrong.join("\n"));
}

/// The crash state between a commit's two superblock writes (the backup one generation
/// behind) is not damage: `-n` notes it and exits 0; `-y` rewrites the backup (exit 1), after
/// which nothing is noted.
#[test]
fn backup_one_generation_behind_is_noted_not_damage() {
    let t = TempDir::new();
    let img = mkfs_img(&t);
    let mut old = Vec::new();
    rw_block(&img, BACKUP_SUPER_BLOCK_NR, |b| old = b.to_vec());
    with_fs(&img, |fs| {
        let ino = ino_of(fs, &["hello.txt"]);
        let i = fs.read_inode(ino).unwrap().unwrap();
        fs.write_inode(ino, &i).unwrap();
    });
    rw_block(&img, BACKUP_SUPER_BLOCK_NR, |b| b.copy_from_slice(&old));
    let (code, out) = fsck(&img, "-n");
    assert_eq!(code, 0, "fsck -n:\n{out}");
    assert!(out.contains("note: backup superblock (block 255) one generation behind"), "fsck -n:\n{out}");
    let (code, out) = fsck(&img, "-y");
    assert_eq!(code, 1, "fsck -y:\n{out}");
    let (code, out) = fsck(&img, "-fn");
    assert_eq!(code, 0, "fsck -fn after -y:\n{out}");
    assert!(!out.contains("note:"), "fsck -fn after -y:\n{out}");
}

#[test]
fn damage_classes_check_only() {
    damage_classes(0);
}

#[test]
fn damage_classes_yes() {
    damage_classes(1);
}

#[test]
fn damage_classes_preen() {
    damage_classes(2);
}

#[test]
fn damage_classes_preen_forced() {
    damage_classes(3);
}

#[test]
fn fsck_survives_mutated_images() {
    // flip random bytes all over the metadata of a small image; fsck must
    // never panic and must report something or stay clean
    let t = TempDir::new();
    let img = t.path("img");
    assert!(run(MKFS, &["-q", "-s", "16m", img.to_str().unwrap()]).status.success());
    let src = t.path("src");
    fs::create_dir_all(&src).unwrap();
    for i in 0..40 {
        fs::write(src.join(format!("f{i}")), vec![i as u8 + 1; 5000]).unwrap();
    }
    let img2 = t.path("img2");
    assert!(run(MKFS, &["-q", "-s", "16m", "-d", src.to_str().unwrap(), img2.to_str().unwrap()]).status.success());
    let orig = fs::read(&img2).unwrap();
    let mut fs = open_fs(&img2);
    let mut meta_blocks = vec![SUPER_BLOCK_NR];
    extent::for_each_extent(&mut fs.store, &fs.sb.extent_root.clone(), |s, _, e| {
        if e.flags == ferrofs_format::items::EXTENT_FLAG_META {
            meta_blocks.push(s);
        }
        Ok(())
    })
    .unwrap();
    drop(fs);
    let mut seed = 0x1234_5678_9abc_def0u64;
    let mut rnd = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for round in 0..60 {
        let mut data = orig.clone();
        let blk = meta_blocks[(rnd() % meta_blocks.len() as u64) as usize];
        let base = blk as usize * BLOCK_SIZE;
        for _ in 0..(1 + rnd() % 4) {
            let off = base + 4 + (rnd() % 300) as usize;
            data[off] ^= 1 << (rnd() % 8);
        }
        if round % 2 == 0 && blk != SUPER_BLOCK_NR {
            node::finalize(&mut data[base..base + BLOCK_SIZE]).unwrap();
        }
        let (rep, _) = ferrofs_tools::fsck::check(ferrofs_tools::dev::MemDev(data.clone()), &Default::default());
        let _ = rep.exit_code();
        // and repair mode must not panic either
        let _ = ferrofs_tools::fsck::check(ferrofs_tools::dev::MemDev(data), &ferrofs_tools::fsck::Options { repair: true, semantic: true, preen: false });
    }
}

// ------------------------------------------------------------ command lines (issue 12)

fn tune_list(img: &Path) -> String {
    let o = run(TUNE, &["-l", img.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    text(&o)
}

#[test]
fn option_forms_and_version() {
    let t = TempDir::new();
    for bin in [MKFS, FSCK, TUNE] {
        for v in ["-V", "--version"] {
            let o = run(bin, &[v]);
            assert_eq!(o.status.code(), Some(0), "{bin} {v}: {}", text(&o));
            assert!(text(&o).contains(env!("CARGO_PKG_VERSION")));
        }
        let o = run(bin, &["--help"]);
        assert_eq!(o.status.code(), Some(0));
        assert!(text(&o).contains("Usage:"), "{}", text(&o));
    }
    // Clustered short options with an attached value; --long=value; -- before the device;
    // FS-SIZE after the device as mke2fs takes it.
    let a = t.path("a");
    let o = run(MKFS, &["-qLfoo", "-s20m", a.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(fs::metadata(&a).unwrap().len(), 20 << 20);
    assert!(tune_list(&a).contains("volume name:   foo"));
    let o = run(MKFS, &["-fq", "--label=bar", "--uuid=12345678-1234-4234-8234-123456789abc", "--", a.to_str().unwrap(), "40960s"]);
    assert!(o.status.success(), "{}", text(&o));
    let l = tune_list(&a);
    assert!(l.contains("volume name:   bar") && l.contains("12345678-1234-4234-8234-123456789abc") && l.contains("Block count:              5120"), "{l}");
    // fsck: clustered -fn, long --no, -C0 from fsck(8).
    for flags in [&["-fn"][..], &["--no", "--force"], &["-C0", "-n"], &["-C", "0", "-fy"]] {
        let mut v = flags.to_vec();
        v.push(a.to_str().unwrap());
        let o = run(FSCK, &v);
        assert_eq!(o.status.code(), Some(0), "{flags:?}: {}", text(&o));
        assert!(text(&o).contains(": clean, 1 inodes, "), "{}", text(&o));
    }
    // Usage errors: fsck 16, mkfs 1; an unknown option and a bad size are named.
    let o = run(FSCK, &["-x", a.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(16), "{}", text(&o));
    assert_eq!(run(FSCK, &[]).status.code(), Some(16));
    let o = run(MKFS, &["-s", "12q", t.path("b").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("invalid size"), "{}", text(&o));
    assert!(!t.path("b").exists());
    let o = run(MKFS, &["-L", &"x".repeat(65), t.path("c").to_str().unwrap()]);
    assert!(!o.status.success() && text(&o).contains("label longer than 64"), "{}", text(&o));
    assert!(!t.path("c").exists());
}

#[test]
fn fs_size_without_suffix_is_kib_and_size_option_is_bytes() {
    // As mke2fs: the fs-size after the device counts KiB without a suffix; -s (which fstests'
    // _scratch_mkfs_sized passes as bytes) keeps counting bytes.
    let t = TempDir::new();
    let img = t.path("kib");
    let o = run(MKFS, &["-q", img.to_str().unwrap(), "20480"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(fs::metadata(&img).unwrap().len(), 20 << 20);
    assert!(tune_list(&img).contains("Block count:              5120"));
    let img = t.path("bytes");
    let o = run(MKFS, &["-q", "-s", "20971520", img.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(fs::metadata(&img).unwrap().len(), 20 << 20);
    // Both given: they must agree, in their own units.
    let o = run(MKFS, &["-fq", "-s", "20971520", img.to_str().unwrap(), "20480"]);
    assert!(o.status.success(), "{}", text(&o));
    let o = run(MKFS, &["-fq", "-s", "20480", img.to_str().unwrap(), "20480"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("disagree"), "{}", text(&o));
    // 20480 bytes with -s is too small; a bare 16383 is 1 KiB short of the minimum.
    let o = run(MKFS, &["-q", "-s", "20480", t.path("small").to_str().unwrap()]);
    assert!(!o.status.success() && text(&o).contains("too small"), "{}", text(&o));
    let o = run(MKFS, &["-q", t.path("small").to_str().unwrap(), "16383"]);
    assert!(!o.status.success() && text(&o).contains("too small"), "{}", text(&o));
    assert!(!t.path("small").exists());
    let o = run(MKFS, &["--help"]);
    assert!(text(&o).contains("KiB without a suffix"), "{}", text(&o));
}

#[test]
fn fsck_cannot_read_is_8_and_signal_is_32() {
    let t = TempDir::new();
    let o = run(FSCK, &["-n", t.path("missing").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(8), "{}", text(&o));
    // Not ferrofs at all (zeros): operational error, nothing marked fixable.
    let z = t.path("zeros");
    sparse_file(&z, 20 << 20);
    let o = run(FSCK, &["-n", z.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(8), "{}", text(&o));
    assert!(!text(&o).contains("[fixable]"));
    // A FIFO as the device: fsck blocks in open() until a writer comes; SIGINT then is exit 32.
    let fifo = t.path("fifo");
    let st = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo (coreutils) is needed");
    assert!(st.success());
    let child = Command::new(FSCK).args(["-n", fifo.to_str().unwrap()]).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap();
    // Signal it once it is blocked in open(2) of the FIFO (its handlers are installed before).
    wait_in_syscall(child.id(), &[2, 257]);
    let st = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(st.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(32), "{}", text(&out));
    assert!(text(&out).contains("interrupted by a signal"));
}

#[test]
fn preen_fixes_only_what_is_safe_and_force() {
    let t = TempDir::new();
    let img = mkfs_img(&t);
    let mut ino = 0;
    with_fs(&img, |fs| {
        ino = set_nlink(fs, &["sub", "deeper", "file007"], 5);
        leak_blocks(fs, 3);
    });
    // -p without -f: the superblocks are valid and agree, so the trees are not walked.
    let (code, out) = fsck(&img, "-p");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("superblocks only"), "{out}");
    // -n marks both as fixable (-y repairs both).
    let (code, out) = fsck(&img, "-n");
    assert_eq!(code, 4, "{out}");
    assert_eq!(out.matches("[fixable]").count(), 2, "{out}");
    // -pf: fixes the link count, leaves the leaked extent for -y: exit 4.
    let o = run(FSCK, &["-pf", img.to_str().unwrap()]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(4), "{out}");
    assert!(out.contains("wrong nlink) [fixed]") && out.contains("[not fixed: needs -y]") && out.contains("UNEXPECTED INCONSISTENCY"), "{out}");
    assert_eq!(open_fs(&img).read_inode(ino).unwrap().unwrap().nlink, 1);
    let (code, out) = fsck(&img, "-n");
    assert_eq!(code, 4, "{out}");
    assert!(out.contains("leaked space") && !out.contains("wrong nlink"), "{out}");
    assert_eq!(fsck(&img, "-y").0, 1);
    assert_eq!(fsck(&img, "-n").0, 0);
}

#[test]
fn structural_damage_is_not_called_fixable() {
    let t = TempDir::new();
    let img = mkfs_img(&t);
    let leaf = first_leaf(&img);
    rw_block(&img, leaf, |b| b[100] ^= 0xff);
    let (code, out) = fsck(&img, "-n");
    assert_eq!(code, 4, "{out}");
    assert!(!out.contains("[fixable]"), "{out}");
    let (code, out) = fsck(&img, "-y");
    assert_eq!(code, 4, "{out}");
    assert!(!out.contains("[fixed]"), "{out}");
}

#[test]
fn tune_list_to_a_closed_pipe_exits_quietly() {
    // `tune.ferrofs -l DEV | head -1`: the reader is gone before the listing is written (closed before the tool starts). The tool
    // ends as a C tool killed by SIGPIPE would look to a shell (141), without a Rust panic.
    let t = TempDir::new();
    let img = t.path("img");
    assert!(run(MKFS, &["-q", img.to_str().unwrap(), "20M"]).status.success());
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let o = std::process::Command::new(TUNE)
        .args(["-l", img.to_str().unwrap()])
        .stdout(writer)
        .output()
        .expect("run tune.ferrofs");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(141), "{err}");
    assert!(err.is_empty(), "{err}");
}

#[test]
fn tune_shows_and_changes_label_and_uuid() {
    let t = TempDir::new();
    let img = t.path("img");
    assert!(run(MKFS, &["-q", "-L", "old", img.to_str().unwrap(), "20M"]).status.success());
    let l = tune_list(&img);
    assert!(l.contains("volume name:   old") && l.contains("Block size:               4096") && l.contains("Format version:           1"), "{l}");
    assert!(l.contains("Filesystem features:      extref (compat 0x0, ro_compat 0x0, incompat 0x1)"), "{l}");
    assert_eq!(l.matches("valid").count(), 2, "{l}");
    let o = run(TUNE, &["-L", "new label", "-U", "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee", img.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let l = tune_list(&img);
    assert!(l.contains("volume name:   new label") && l.contains("aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"), "{l}");
    // Both copies were written: fsck finds them equal.
    assert_eq!(fsck(&img, "-fn").0, 0);
    let o = run(TUNE, &["-U", "random", img.to_str().unwrap()]);
    assert!(o.status.success());
    assert!(!tune_list(&img).contains("aaaaaaaa-bbbb"));
    for bad in [&["-U", "nope"][..], &["-L", &"y".repeat(65)]] {
        let mut v = bad.to_vec();
        v.push(img.to_str().unwrap());
        assert!(!run(TUNE, &v).status.success(), "{bad:?}");
    }
    let o = run(TUNE, &["-l", t.path("missing").to_str().unwrap()]);
    assert!(!o.status.success());
    // Not ferrofs: refused, nothing written.
    let z = t.path("zeros");
    sparse_file(&z, 20 << 20);
    assert!(!run(TUNE, &["-L", "x", z.to_str().unwrap()]).status.success());
    assert!(fs::read(&z).unwrap().iter().all(|&b| b == 0));
}

#[test]
fn man_pages_are_generated() {
    let t = TempDir::new();
    let d = t.path("man8");
    let o = run(MANGEN, &[d.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    for (page, opt) in [("mkfs.ferrofs.8", "\\-\\-label"), ("fsck.ferrofs.8", "\\-\\-preen"), ("tune.ferrofs.8", "\\-\\-uuid")] {
        let s = fs::read_to_string(d.join(page)).unwrap();
        assert!(s.starts_with(".ie") || s.contains(".TH"), "{page}");
        assert!(s.contains(opt), "{page} lacks {opt}");
    }
}

/// tools/install.sh, which `make install-tools` runs (with DESTDIR/usr/local/sbin, the cargo
/// output directory and DESTDIR/usr/local/share/man), installs the three tools under their
/// mkfs(8)/fsck(8) names and their man pages, and `man -l` can format each page.
#[test]
fn install_sh_installs_the_tools_and_man_pages() {
    let t = TempDir::new();
    let (sbin, man) = (t.path("usr/local/sbin"), t.path("usr/local/share/man"));
    let bindir = Path::new(MKFS).parent().unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/install.sh");
    let o = run(script, &[sbin.to_str().unwrap(), bindir.to_str().unwrap(), man.to_str().unwrap()]);
    assert!(o.status.success(), "{script}: {}", text(&o));
    let man_works = Command::new("man").arg("--version").output().is_ok_and(|o| o.status.success());
    for tool in ["mkfs.ferrofs", "fsck.ferrofs", "tune.ferrofs"] {
        let bin = sbin.join(tool);
        assert_eq!(fs::metadata(&bin).unwrap().mode() & 0o777, 0o755, "{}", bin.display());
        let o = run(bin.to_str().unwrap(), &["-V"]);
        assert!(o.status.success() && text(&o).contains(&format!("{tool} {}", env!("CARGO_PKG_VERSION"))), "{tool} -V: {}", text(&o));
        let page = man.join(format!("man8/{tool}.8"));
        let roff = fs::read_to_string(&page).unwrap_or_else(|e| panic!("{}: {e}", page.display()));
        assert!(roff.contains(&format!(".TH {tool} 8 ")) && roff.contains(".SH NAME") && roff.contains(".SH SYNOPSIS"), "{}:\n{roff}", page.display());
        if man_works {
            let o = Command::new("man").args(["-P", "cat", "-l"]).arg(&page).env("MANWIDTH", "80").output().unwrap();
            let out = String::from_utf8_lossy(&o.stdout);
            assert!(o.status.success() && out.contains("NAME") && out.contains("SYNOPSIS") && out.contains(tool), "man -l {}: {}", page.display(), text(&o));
        }
    }
    // Nothing else: no cargo names, no pages for ferrofs-mangen.
    let mut names: Vec<_> = fs::read_dir(&sbin).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["fsck.ferrofs", "mkfs.ferrofs", "tune.ferrofs"]);
    assert_eq!(fs::read_dir(man.join("man8")).unwrap().count(), 3);
}

/// Until blkid knows ferrofs, mkfs says (unless -q) how to mount and fsck it: with -t ferrofs.
#[test]
fn mkfs_says_to_mount_and_fsck_with_the_type() {
    let t = TempDir::new();
    let img = t.path("img");
    let o = run(MKFS, &["-L", "told", img.to_str().unwrap(), "20m"]);
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("mount -t ferrofs DEVICE DIR") && out.contains("fsck -t ferrofs DEVICE") && out.contains("blkid"), "{out}");
    let o = run(MKFS, &["-f", "-q", img.to_str().unwrap()]);
    assert!(o.status.success() && o.stdout.is_empty() && o.stderr.is_empty(), "-q: {}", text(&o));
}
