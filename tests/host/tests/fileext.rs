//! File extent maps (format::fileext) against a per-block model: random copy-on-write
//! `replace`s into fresh disk extents and `punch`es (partial overwrites leave several items
//! sharing one disk extent) on two files, with commits (fsck, semantic checks on) and crashes.
//! After every operation: the fs tree's file extent items read back exactly the model's
//! file block -> disk block map, no two items of an inode overlap, every data extent's refcount
//! is the number of items naming it, a disk extent is reported freed exactly when its last
//! item goes (and only once), `nbytes` stays the sum of the items' lengths, and `replace`
//! changes no more tree items than `items_changed_bound(count_overlapping(..))`.

use std::collections::{BTreeMap, BTreeSet};

use ferrofs_format::items::{ExtentData, ExtentItem, InodeItem, EXTENT_FLAG_DATA, EXTENT_PREALLOC, FT_REG, S_IFREG};
use ferrofs_format::key::{Key, EXTENT_DATA, EXTENT_ITEM};
use ferrofs_format::layout::BLOCK_SIZE_U64 as B;
use ferrofs_format::tree::{self, Root};
use ferrofs_format::{extent, fileext, FsError};
use ferrofs_host_tests::*;
use ferrofs_tools::dev::MemDev;
use ferrofs_tools::fs::Fs;

/// Blocks per file in the model.
const FILE_BLOCKS: u64 = 64;
/// Longest write, in blocks.
const MAX_WRITE: u64 = 16;

/// Per file block: the disk block it reads from and whether it is preallocated.
type FileModel = Vec<Option<(u64, bool)>>;

#[derive(Clone)]
struct Model {
    files: BTreeMap<u64, FileModel>,
    /// Live data extents: start -> blocks.
    live: BTreeMap<u64, u64>,
}

impl Model {
    fn nbytes(&self, ino: u64) -> u64 {
        self.files[&ino].iter().filter(|b| b.is_some()).count() as u64 * B
    }
    /// The live extent holding disk block `b`.
    fn extent_of(&self, b: u64) -> Option<(u64, u64)> {
        let (&s, &l) = self.live.range(..=b).next_back()?;
        (b < s + l).then_some((s, l))
    }
    /// Extents some file block reads from.
    fn referenced(&self) -> BTreeSet<u64> {
        let mut set = BTreeSet::new();
        for f in self.files.values() {
            for &(d, _) in f.iter().flatten() {
                set.insert(self.extent_of(d).expect("model block in a live extent").0);
            }
        }
        set
    }
}

/// `(key offset, extent)` of every file extent item of `ino`, by a plain tree walk.
fn items_of(fs: &mut Fs<MemDev>, ino: u64) -> Vec<(u64, ExtentData)> {
    let mut v = Vec::new();
    let root = fs.fs_root;
    tree::for_each_in(&mut fs.store, &root, &Key::new(ino, EXTENT_DATA, 0), &Key::new(ino, EXTENT_DATA, u64::MAX), |k, d| {
        v.push((k.offset, ExtentData::parse(d, 0)?));
        Ok(true)
    })
    .expect("walk file extents");
    v
}

/// Every item of both trees that `replace` may change, for counting changes.
fn snapshot(fs: &mut Fs<MemDev>, inos: &[u64]) -> BTreeMap<(u8, Key), Vec<u8>> {
    let mut m = BTreeMap::new();
    for &ino in inos {
        for (off, e) in items_of(fs, ino) {
            m.insert((0, Key::new(ino, EXTENT_DATA, off)), e.to_bytes().to_vec());
        }
    }
    let root = fs.ext_root;
    tree::for_each_in(&mut fs.store, &root, &Key::MIN, &Key::MAX, |k, d| {
        m.insert((1, *k), d.to_vec());
        Ok(true)
    })
    .unwrap();
    m
}

fn changed(a: &BTreeMap<(u8, Key), Vec<u8>>, b: &BTreeMap<(u8, Key), Vec<u8>>) -> u64 {
    let keys: BTreeSet<_> = a.keys().chain(b.keys()).collect();
    keys.into_iter().filter(|k| a.get(k) != b.get(k)).count() as u64
}

/// Checks the trees against the model (what the doc comment lists, but the bound).
fn verify(fs: &mut Fs<MemDev>, m: &Model, ctx: &str) {
    let mut names: BTreeMap<(u64, u64), u64> = BTreeMap::new();
    for (&ino, file) in &m.files {
        let mut got: FileModel = vec![None; FILE_BLOCKS as usize];
        let mut prev_end = 0u64;
        let mut sum = 0u64;
        for (off, e) in items_of(fs, ino) {
            assert!(off % B == 0 && off >= prev_end, "{ctx}: inode {ino}: item at {off} overlaps the previous one (ends {prev_end})");
            prev_end = off + e.len;
            assert!(prev_end <= FILE_BLOCKS * B, "{ctx}: inode {ino}: item at {off} past the model's file");
            assert_eq!(m.live.get(&e.disk_start), Some(&e.disk_blocks), "{ctx}: inode {ino}: item at {off} names extent {}+{} which is not live", e.disk_start, e.disk_blocks);
            for i in 0..e.len / B {
                let fb = off / B + i;
                got[fb as usize] = Some((e.disk_start + e.offset / B + i, e.flags & EXTENT_PREALLOC != 0));
            }
            sum += e.len;
            *names.entry((e.disk_start, e.disk_blocks)).or_insert(0) += 1;
        }
        assert_eq!(&got, file, "{ctx}: inode {ino}: file map differs from the model");
        assert_eq!(sum, m.nbytes(ino), "{ctx}: inode {ino}: item lengths");
        let i = fs.read_inode(ino).unwrap().unwrap();
        assert_eq!(i.nbytes, sum, "{ctx}: inode {ino}: nbytes");
    }
    let mut data = BTreeMap::new();
    let root = fs.ext_root;
    extent::for_each_extent(&mut fs.store, &root, |s, l, it: &ExtentItem| {
        if it.flags == EXTENT_FLAG_DATA {
            data.insert((s, l), it.refs);
        }
        Ok(())
    })
    .unwrap();
    assert_eq!(data, names, "{ctx}: data extent refcounts differ from the items naming them");
    let live: BTreeMap<(u64, u64), u64> = m.live.iter().map(|(&s, &l)| ((s, l), names.get(&(s, l)).copied().unwrap_or(0))).collect();
    assert_eq!(live, data, "{ctx}: live extents (the ones not reported freed) differ from the extent tree");
    assert_eq!(m.referenced(), m.live.keys().copied().collect::<BTreeSet<_>>(), "{ctx}: an unreferenced extent was not freed");
}

/// Applies the disk extents `freed` reported: each was live (so never reported twice), and none
/// is still read by the model.
fn take_freed(fs: &mut Fs<MemDev>, m: &mut Model, freed: Vec<(u64, u64)>, ctx: &str) {
    let still = m.referenced();
    for (s, l) in freed {
        assert_eq!(m.live.remove(&s), Some(l), "{ctx}: extent {s}+{l} reported freed but not live (freed twice?)");
        assert!(!still.contains(&s), "{ctx}: extent {s}+{l} freed while still read by a file");
        fs.pin_freed(s, l);
    }
}

fn set_nbytes(fs: &mut Fs<MemDev>, ino: u64, nbytes: u64) {
    let mut i = fs.read_inode(ino).unwrap().unwrap();
    i.nbytes = nbytes;
    fs.write_inode(ino, &i).unwrap();
}

fn run(seed: u64, ops: u64) {
    let mut r = Rng(seed);
    let mut fs = new_fs(24);
    let inos = [fs.alloc_ino(), fs.alloc_ino()];
    for (n, &ino) in inos.iter().enumerate() {
        let it = InodeItem { nlink: 1, mode: S_IFREG | 0o644, size: FILE_BLOCKS * B, ..Default::default() };
        fs.write_inode(ino, &it).unwrap();
        fs.link(fs.sb.root_dir, format!("f{n}").as_bytes(), ino, FT_REG).unwrap();
    }
    // Committed, so a crash goes back to empty files rather than none.
    fs = commit_check_reopen(fs, true);
    let mut m = Model { files: inos.iter().map(|&i| (i, vec![None; FILE_BLOCKS as usize])).collect(), live: BTreeMap::new() };
    let mut committed = m.clone();
    let mut nbytes: BTreeMap<u64, u64> = inos.iter().map(|&i| (i, 0)).collect();
    for op in 0..ops {
        let ino = inos[r.below(2) as usize];
        let (mut f, mut e) = (fs.fs_root, fs.ext_root);
        let mut freed = Vec::new();
        let mut on_free = |s: u64, l: u64| {
            freed.push((s, l));
            Ok(())
        };
        let ctx;
        match r.below(100) {
            0..=59 => {
                let off = r.below(FILE_BLOCKS);
                let want = 1 + r.below(MAX_WRITE.min(FILE_BLOCKS - off));
                let (disk, len) = fs.store.alloc_range(want).expect("space for a write");
                let prealloc = r.chance(10);
                ctx = format!("seed {seed} op {op}: replace ino {ino} blocks {off}+{len} -> disk {disk}{}", if prealloc { " prealloc" } else { "" });
                let flags = if prealloc { EXTENT_PREALLOC } else { 0 };
                let n = fileext::count_overlapping(&mut fs.store, &f, ino, off * B, (off + len) * B).unwrap();
                let want_n = items_of(&mut fs, ino).iter().filter(|(o, x)| *o < (off + len) * B && o + x.len > off * B).count() as u64;
                assert_eq!(n, want_n, "{ctx}: count_overlapping");
                let before = snapshot(&mut fs, &inos);
                let removed = fileext::replace(&mut fs.store, &mut f, &mut e, ino, off * B, len * B, disk, flags, &mut on_free)
                    .unwrap_or_else(|err| panic!("{ctx}: {err}"));
                (fs.fs_root, fs.ext_root) = (f, e);
                let after = snapshot(&mut fs, &inos);
                let c = changed(&before, &after);
                assert!(c <= fileext::items_changed_bound(n), "{ctx}: {c} items changed, bound {} for {n} overlapping", fileext::items_changed_bound(n));
                fs.used_blocks += len;
                let file = m.files.get_mut(&ino).unwrap();
                let was = file[off as usize..(off + len) as usize].iter().filter(|b| b.is_some()).count() as u64 * B;
                assert_eq!(removed, was, "{ctx}: bytes removed");
                for i in 0..len {
                    file[(off + i) as usize] = Some((disk + i, prealloc));
                }
                m.live.insert(disk, len);
                *nbytes.get_mut(&ino).unwrap() += len * B - removed;
            }
            60..=94 => {
                let start = r.below(FILE_BLOCKS + 1);
                let end = if r.chance(15) { u64::MAX } else { start + r.below(FILE_BLOCKS + 1 - start) };
                ctx = format!("seed {seed} op {op}: punch ino {ino} blocks {start}..{}", if end == u64::MAX { "end".to_string() } else { end.to_string() });
                let end_b = if end == u64::MAX { u64::MAX } else { end * B };
                let removed = fileext::punch(&mut fs.store, &mut f, &mut e, ino, start * B, end_b, &mut on_free).unwrap_or_else(|err| panic!("{ctx}: {err}"));
                (fs.fs_root, fs.ext_root) = (f, e);
                let file = m.files.get_mut(&ino).unwrap();
                let mut was = 0;
                for b in start..end.min(FILE_BLOCKS) {
                    was += u64::from(file[b as usize].take().is_some()) * B;
                }
                assert_eq!(removed, was, "{ctx}: bytes removed");
                *nbytes.get_mut(&ino).unwrap() -= removed;
            }
            95..=98 => {
                ctx = format!("seed {seed} op {op}: commit");
                fs = commit_check_reopen(fs, true);
                committed = m.clone();
            }
            _ => {
                // Crash before the superblocks: back to the last commit.
                ctx = format!("seed {seed} op {op}: crash");
                fs.commit_without_superblock().unwrap();
                fs = Fs::open(fs.into_device()).unwrap();
                m = committed.clone();
                for &i in &inos {
                    nbytes.insert(i, m.nbytes(i));
                }
            }
        }
        take_freed(&mut fs, &mut m, freed, &ctx);
        for &i in &inos {
            assert_eq!(nbytes[&i], m.nbytes(i), "{ctx}: inode {i}: nbytes from the returned byte counts");
            if fs.read_inode(i).unwrap().unwrap().nbytes != nbytes[&i] {
                set_nbytes(&mut fs, i, nbytes[&i]);
            }
        }
        verify(&mut fs, &m, &ctx);
    }
    // Punch everything: every extent comes back.
    for &ino in &inos {
        let (mut f, mut e) = (fs.fs_root, fs.ext_root);
        let mut freed = Vec::new();
        fileext::punch(&mut fs.store, &mut f, &mut e, ino, 0, u64::MAX, &mut |s, l| {
            freed.push((s, l));
            Ok(())
        })
        .unwrap();
        (fs.fs_root, fs.ext_root) = (f, e);
        m.files.insert(ino, vec![None; FILE_BLOCKS as usize]);
        take_freed(&mut fs, &mut m, freed, &format!("seed {seed}: final punch"));
        set_nbytes(&mut fs, ino, 0);
    }
    verify(&mut fs, &m, &format!("seed {seed}: final"));
    assert!(m.live.is_empty(), "seed {seed}: extents left after punching everything");
    commit_check_reopen(fs, true);
}

#[test]
fn random_replace_and_punch_against_model() {
    let base = seed(21);
    for s in 0..3 {
        run(base.wrapping_add(s), 400 * scale());
    }
}

/// A write over the middle of an extent, then over each remaining piece: the old extent is
/// freed with the last piece, on an image fsck accepts at every commit.
#[test]
fn bookends_freed_with_the_last_piece() {
    let mut fs = new_fs(16);
    let ino = fs.alloc_ino();
    let it = InodeItem { nlink: 1, mode: S_IFREG | 0o644, size: 8 * B, ..Default::default() };
    fs.write_inode(ino, &it).unwrap();
    fs.link(fs.sb.root_dir, b"f", ino, FT_REG).unwrap();
    let mut nbytes = 0u64;
    let mut freed = Vec::new();
    let mut write = |fs: &mut Fs<MemDev>, off: u64, len: u64, freed: &mut Vec<(u64, u64)>| -> Result<u64, FsError> {
        let (disk, n) = fs.store.alloc_range(len)?;
        assert_eq!(n, len);
        let (mut f, mut e): (Root, Root) = (fs.fs_root, fs.ext_root);
        let removed = fileext::replace(&mut fs.store, &mut f, &mut e, ino, off * B, len * B, disk, 0, &mut |s, l| {
            freed.push((s, l));
            Ok(())
        })?;
        (fs.fs_root, fs.ext_root) = (f, e);
        fs.used_blocks += len;
        nbytes = nbytes + len * B - removed;
        set_nbytes(fs, ino, nbytes);
        Ok(disk)
    };
    let first = write(&mut fs, 0, 8, &mut freed).unwrap();
    write(&mut fs, 3, 2, &mut freed).unwrap();
    let refs = |fs: &mut Fs<MemDev>| {
        let root = fs.ext_root;
        tree::lookup(&mut fs.store, &root, &Key::new(first, EXTENT_ITEM, 8)).unwrap().map(|it| ExtentItem::parse(it.data(), 0).unwrap().refs)
    };
    assert_eq!(refs(&mut fs), Some(2));
    fs = commit_check_reopen(fs, true);
    write(&mut fs, 0, 3, &mut freed).unwrap();
    assert_eq!(refs(&mut fs), Some(1));
    assert!(freed.is_empty());
    fs = commit_check_reopen(fs, true);
    write(&mut fs, 5, 3, &mut freed).unwrap();
    assert_eq!(refs(&mut fs), None);
    assert_eq!(freed, [(first, 8)]);
    for &(s, l) in &freed {
        fs.pin_freed(s, l);
    }
    let fs = commit_check_reopen(fs, true);
    assert!(!fs.store.is_used(first), "the old extent's blocks are free after the commit");
}
