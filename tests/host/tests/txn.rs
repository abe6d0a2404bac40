//! The kernel's transaction rules where they are plain logic, run through the same format-crate
//! code the kernel runs, against models: the free-space map, pinning (a block of the last commit
//! is never handed out before the next commit), the metadata reservation bound, extended
//! attributes, and bounded deletion of orphaned inodes.

use std::collections::{BTreeMap, BTreeSet};

use ferrofs_format::commit::{self, CommitIo, TxnRoots};
use ferrofs_format::items::{ExtentData, InodeItem, S_IFREG};
use ferrofs_format::key::{Key, EXTENT_DATA, INODE_ITEM};
use ferrofs_format::layout::{FIRST_ALLOC_BLOCK, MAX_ITEM_DATA};
use ferrofs_format::node;
use ferrofs_format::space::{self, Budget, ReserveClass, SpaceMap};
use ferrofs_format::tree::{self, BlockStore, MetaChange, Root};
use ferrofs_format::{extent, inode, orphan, xattr, FsError};
use ferrofs_host_tests::*;
use ferrofs_tools::dev::MemDev;
use ferrofs_tools::store::Store;

#[test]
fn space_map_matches_a_model() {
    let seed = seed(11);
    let mut r = Rng(seed);
    let total = 3000u64;
    let mut m = SpaceMap::new(vec![0u64; SpaceMap::<Vec<u64>>::words_for(total)], total).unwrap();
    let mut used: BTreeSet<u64> = (0..FIRST_ALLOC_BLOCK).collect();
    for op in 0..4000 * scale() {
        let start = r.below(total + 10);
        let len = 1 + r.below(40);
        let range: Vec<u64> = (start..start + len).collect();
        let in_bounds = start + len <= total;
        match r.below(3) {
            0 => {
                let ok = in_bounds && range.iter().all(|b| !used.contains(b));
                assert_eq!(m.mark_used(start, len).is_ok(), ok, "seed {seed} op {op}: mark_used {start}+{len}");
                if ok {
                    used.extend(range);
                }
            }
            1 => {
                let ok = in_bounds && start >= FIRST_ALLOC_BLOCK && range.iter().all(|b| used.contains(b));
                assert_eq!(m.release(start, len).is_ok(), ok, "seed {seed} op {op}: release {start}+{len}");
                if ok {
                    for b in range {
                        used.remove(&b);
                    }
                }
            }
            _ => {
                let want = 1 + r.below(64);
                if let Some((s, l)) = m.alloc(want, 1) {
                    assert!(l >= 1 && l <= want);
                    for b in s..s + l {
                        assert!(b >= FIRST_ALLOC_BLOCK && b < total && used.insert(b), "seed {seed} op {op}: alloc handed out used block {b}");
                    }
                } else {
                    assert_eq!(used.len() as u64, total, "seed {seed} op {op}: alloc failed with free blocks left");
                }
            }
        }
        assert_eq!(m.free_blocks(), total - used.len() as u64, "seed {seed} op {op}: free count");
        let probe = r.below(total);
        assert_eq!(m.is_used(probe), used.contains(&probe), "seed {seed} op {op}: block {probe}");
    }
}

#[test]
fn budget_matches_a_model() {
    let mut r = Rng(seed(12));
    let mut b = Budget::new(20_000);
    let pool = b.pool();
    let mut reserved = 0u64;
    for _ in 0..5000 {
        let free = r.below(25_000);
        let n = r.below(2000);
        let class = if r.chance(50) { ReserveClass::Normal } else { ReserveClass::Unlink };
        if r.chance(60) {
            let keep = if class == ReserveClass::Normal { pool } else { 0 };
            let ok = n <= free.saturating_sub(reserved).saturating_sub(keep);
            assert_eq!(b.try_reserve(free, n, class).is_ok(), ok);
            if ok {
                reserved += n;
            }
        } else {
            let n = n.min(reserved + 5);
            b.release(n);
            reserved = reserved.saturating_sub(n);
        }
        assert_eq!(b.reserved(), reserved);
    }
}

/// Every tree node block reachable from `root`.
fn tree_blocks(st: &mut Store<MemDev>, root: &Root, out: &mut BTreeSet<u64>) {
    let mut stack = vec![(root.block, root.level)];
    while let Some((blk, level)) = stack.pop() {
        out.insert(blk);
        if level > 0 {
            let b = st.read(blk).unwrap();
            for i in 0..node::nritems(&b) {
                let (_, child, _) = node::ptr(&b, i).unwrap();
                stack.push((child, level - 1));
            }
        }
    }
}

/// A store that checks every metadata allocation against the blocks the last commit references,
/// and counts allocations.
struct Watch<'a> {
    inner: &'a mut Store<MemDev>,
    committed: &'a BTreeSet<u64>,
    allocs: u64,
}

impl BlockStore for Watch<'_> {
    type Buf = Vec<u8>;
    type BufMut = Vec<u8>;
    fn read(&mut self, blk: u64) -> Result<Vec<u8>, FsError> {
        self.inner.read(blk)
    }
    fn read_mut(&mut self, blk: u64) -> Result<Vec<u8>, FsError> {
        self.inner.read_mut(blk)
    }
    fn alloc_meta(&mut self) -> Result<(u64, Vec<u8>), FsError> {
        let (b, buf) = self.inner.alloc_meta()?;
        assert!(!self.committed.contains(&b), "block {b} of the last commit handed out before the next commit");
        self.allocs += 1;
        Ok((b, buf))
    }
    fn write(&mut self, blk: u64, buf: Vec<u8>) -> Result<(), FsError> {
        self.inner.write(blk, buf)
    }
    fn free_meta(&mut self, blk: u64) -> Result<(), FsError> {
        self.inner.free_meta(blk)
    }
    fn generation(&self) -> u64 {
        self.inner.generation()
    }
    fn pop_meta_change(&mut self) -> Option<MetaChange> {
        self.inner.pop_meta_change()
    }
}

/// Random changes of 1..=6 items each, with commits: no allocation ever reuses a block of the last
/// committed trees (pinning), and the blocks a transaction allocates, its commit included, stay
/// within the sum of `space::meta_cost` of its changes (the reservation bound).
#[test]
fn pinning_and_reservation_bound() {
    let seed = seed(13);
    let mut r = Rng(seed);
    let mut fs = new_fs(32);
    let mut keys: Vec<Key> = Vec::new();
    let mut worst = 0f64;
    for txn in 0..60 * scale() {
        let mut committed = BTreeSet::new();
        tree_blocks(&mut fs.store, &fs.sb.fs_root.clone(), &mut committed);
        tree_blocks(&mut fs.store, &fs.sb.extent_root.clone(), &mut committed);
        let mut reserved = 0u64;
        let mut w = Watch { inner: &mut fs.store, committed: &committed, allocs: 0 };
        let (mut fs_root, mut ext_root) = (fs.fs_root, fs.ext_root);
        for _ in 0..r.below(60) {
            let items = 1 + r.below(6);
            reserved += space::meta_cost(items, fs_root.level.max(ext_root.level));
            for _ in 0..items {
                if r.chance(70) || keys.is_empty() {
                    // Items of the sizes a namespace change writes, some large (xattrs).
                    let k = Key::new(300 + r.below(2000), 1 + r.below(120) as u8, r.next_u64());
                    let len = if r.chance(10) { 1500 + r.below(MAX_ITEM_DATA as u64 - 1500) } else { 30 + r.below(200) };
                    tree::insert(&mut w, &mut fs_root, &k, &r.bytes(len as usize)).unwrap();
                    keys.push(k);
                } else {
                    let k = keys.swap_remove(r.below(keys.len() as u64) as usize);
                    tree::delete(&mut w, &mut fs_root, &k).unwrap();
                }
            }
        }
        let mut roots = TxnRoots { fs_root, ext_root, next_inode: fs.next_inode, used_blocks: fs.used_blocks };
        commit::seal(&mut w, &mut roots).unwrap();
        ext_root = roots.ext_root;
        let allocs = w.allocs;
        assert!(allocs <= reserved, "seed {seed} txn {txn}: {allocs} blocks allocated, {reserved} reserved");
        if reserved > 0 {
            worst = worst.max(allocs as f64 / reserved as f64);
        }
        (fs.fs_root, fs.ext_root, fs.used_blocks) = (roots.fs_root, ext_root, roots.used_blocks);
        fs.commit().unwrap();
    }
    eprintln!("pinning_and_reservation_bound: worst allocations/reservation {worst:.3}");
    commit_check_reopen(fs, false);
}

#[test]
fn xattrs_match_a_model() {
    let seed = seed(14);
    let mut r = Rng(seed);
    let mut fs = new_fs(24);
    let ino = fs.alloc_ino();
    let it = InodeItem { nlink: 1, mode: S_IFREG | 0o644, ..Default::default() };
    inode::write(&mut fs.store, &mut fs.fs_root, ino, &it).unwrap();
    fs.link(fs.sb.root_dir, b"f", ino, ferrofs_format::items::FT_REG).unwrap();
    let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    let names: Vec<Vec<u8>> = (0..40).map(|i| format!("user.attr-{i}-{}", "n".repeat(i * 5)).into_bytes()).collect();
    let mut buf = vec![0u8; 4096];
    for op in 0..3000 * scale() {
        let name = &names[r.below(names.len() as u64) as usize];
        let root = fs.fs_root;
        match r.below(4) {
            0 | 1 => {
                let len = if r.chance(5) { xattr::max_value_len(name) + r.below(3) as usize } else { r.below(300) as usize };
                let value = r.bytes(len);
                let flags = [0, xattr::XATTR_CREATE, xattr::XATTR_REPLACE][r.below(3) as usize];
                let res = xattr::set(&mut fs.store, &mut fs.fs_root, ino, name, &value, flags);
                let want = if len > xattr::max_value_len(name) {
                    Err(FsError::ValueTooBig)
                } else if flags == xattr::XATTR_CREATE && model.contains_key(name) {
                    Err(FsError::Exists)
                } else if flags == xattr::XATTR_REPLACE && !model.contains_key(name) {
                    Err(FsError::NotFound)
                } else {
                    Ok(())
                };
                assert_eq!(res, want, "seed {seed} op {op}: set");
                if res.is_ok() {
                    model.insert(name.clone(), value);
                } else {
                    assert_eq!(fs.fs_root, root, "a refused set changed the tree");
                }
            }
            2 => {
                let res = xattr::remove(&mut fs.store, &mut fs.fs_root, ino, name);
                assert_eq!(res.is_ok(), model.remove(name).is_some(), "seed {seed} op {op}: remove");
            }
            _ => {
                let got = xattr::get(&mut fs.store, &fs.fs_root, ino, name, &mut buf).unwrap();
                match model.get(name) {
                    None => assert_eq!(got, None),
                    Some(v) => {
                        assert_eq!(got, Some(v.len()));
                        assert_eq!(&buf[..v.len()], &v[..]);
                        assert_eq!(xattr::get(&mut fs.store, &fs.fs_root, ino, name, &mut []).unwrap(), Some(v.len()));
                        if !v.is_empty() {
                            let mut small = vec![0u8; v.len() - 1];
                            if !small.is_empty() {
                                assert_eq!(xattr::get(&mut fs.store, &fs.fs_root, ino, name, &mut small), Err(FsError::Range));
                            }
                        }
                    }
                }
            }
        }
        if op % 200 == 0 {
            let mut want: Vec<u8> = Vec::new();
            let mut listed: Vec<Vec<u8>> = Vec::new();
            let n = xattr::list(&mut fs.store, &fs.fs_root, ino, &mut []).unwrap();
            let mut out = vec![0u8; n];
            assert_eq!(xattr::list(&mut fs.store, &fs.fs_root, ino, &mut out).unwrap(), n);
            for s in out.split(|&c| c == 0).filter(|s| !s.is_empty()) {
                listed.push(s.to_vec());
            }
            listed.sort();
            for k in model.keys() {
                want.extend_from_slice(k);
                want.push(0);
            }
            assert_eq!(listed, model.keys().cloned().collect::<Vec<_>>(), "seed {seed} op {op}: list");
            assert_eq!(n, want.len());
            if n > 1 {
                assert_eq!(xattr::list(&mut fs.store, &fs.fs_root, ino, &mut vec![0u8; n - 1]), Err(FsError::Range));
            }
        }
    }
    commit_check_reopen(fs, true);
}

/// An orphaned inode with many extents (one shared with another inode), xattrs and symlink-style
/// chunks is deleted in bounded steps: every step leaves a tree fsck accepts once committed, the
/// inode item goes last, shared data stays referenced, and every freed range comes back.
#[test]
fn orphan_deletion_in_bounded_steps() {
    let mut fs = new_fs(24);
    let ino = fs.alloc_ino();
    let other = fs.alloc_ino();
    for i in [ino, other] {
        let nbytes = if i == ino { 40 * 4096 } else { 4096 };
        let it = InodeItem { nlink: if i == ino { 0 } else { 1 }, mode: S_IFREG | 0o644, size: 40 * 4096, nbytes, ..Default::default() };
        inode::write(&mut fs.store, &mut fs.fs_root, i, &it).unwrap();
    }
    fs.link(fs.sb.root_dir, b"other", other, ferrofs_format::items::FT_REG).unwrap();
    let mut data = Vec::new();
    for i in 0..40u64 {
        let (start, n) = fs.store.alloc_range(1).unwrap();
        extent::add_data_extent(&mut fs.store, &mut fs.ext_root, start, n).unwrap();
        fs.used_blocks += n;
        let ed = ExtentData { generation: fs.generation(), disk_start: start, disk_blocks: n, offset: 0, len: 4096, flags: 0 };
        tree::insert(&mut fs.store, &mut fs.fs_root, &Key::new(ino, EXTENT_DATA, i * 4096), &ed.to_bytes()).unwrap();
        data.push(start);
    }
    // The other inode shares the first extent.
    extent::inc_ref(&mut fs.store, &mut fs.ext_root, data[0], 1).unwrap();
    let ed = ExtentData { generation: fs.generation(), disk_start: data[0], disk_blocks: 1, offset: 0, len: 4096, flags: 0 };
    tree::insert(&mut fs.store, &mut fs.fs_root, &Key::new(other, EXTENT_DATA, 0), &ed.to_bytes()).unwrap();
    for i in 0..10 {
        xattr::set(&mut fs.store, &mut fs.fs_root, ino, format!("user.x{i}").as_bytes(), &[7u8; 100], 0).unwrap();
    }
    orphan::add(&mut fs.store, &mut fs.fs_root, ino).unwrap();
    orphan::add(&mut fs.store, &mut fs.fs_root, ino).unwrap(); // idempotent
    let mut fs = commit_check_reopen(fs, true);
    let mut freed = BTreeSet::new();
    let mut steps = 0;
    loop {
        let (mut f, mut e) = (fs.fs_root, fs.ext_root);
        let step = orphan::free_inode_items::<_, 8>(&mut fs.store, &mut f, &mut e, ino).unwrap();
        (fs.fs_root, fs.ext_root) = (f, e);
        steps += 1;
        for &(s, l) in step.ranges() {
            assert!(freed.insert(s));
            fs.pin_freed(s, l);
        }
        let has_inode = inode::read(&mut fs.store, &fs.fs_root, ino).unwrap().is_some();
        assert_eq!(has_inode, !step.done, "the inode item goes last");
        if step.done {
            orphan::remove(&mut fs.store, &mut fs.fs_root, ino).unwrap();
            break;
        }
        assert!(orphan::is_orphan(&mut fs.store, &fs.fs_root, ino).unwrap());
        fs = commit_check_reopen(fs, true);
    }
    assert!(steps >= 6, "50 items in steps of 8 took {steps} steps");
    assert_eq!(freed.len(), 39, "every extent but the shared one is freed");
    assert!(!freed.contains(&data[0]));
    let mut n = 0;
    orphan::for_each(&mut fs.store, &fs.fs_root, |_| {
        n += 1;
        Ok(true)
    })
    .unwrap();
    assert_eq!(n, 0);
    assert!(tree::lookup(&mut fs.store, &fs.fs_root, &Key::new(ino, INODE_ITEM, 0)).unwrap().is_none());
    let mut fs = commit_check_reopen(fs, true);
    assert!(inode::read(&mut fs.store, &fs.fs_root, other).unwrap().is_some());
    for s in &data[1..] {
        assert!(!fs.store.is_used(*s), "freed block {s} is free again after the commit");
    }
}

/// The commit order, seen from the I/O: dirty blocks, a flush, the primary superblock with FUA,
/// then the backup with FUA.
#[test]
fn commit_io_order() {
    #[derive(Default)]
    struct Log(Vec<String>);
    impl CommitIo for Log {
        fn write_dirty(&mut self) -> Result<(), FsError> {
            self.0.push("dirty".into());
            Ok(())
        }
        fn flush(&mut self) -> Result<(), FsError> {
            self.0.push("flush".into());
            Ok(())
        }
        fn write_super(&mut self, blk: u64, _buf: &[u8], fua: bool) -> Result<(), FsError> {
            self.0.push(format!("super {blk} fua={fua}"));
            Ok(())
        }
    }
    let fs = new_fs(16);
    let mut log = Log::default();
    let roots = TxnRoots { fs_root: fs.fs_root, ext_root: fs.ext_root, next_inode: fs.next_inode, used_blocks: fs.used_blocks };
    let sb = commit::make_super(&fs.sb, fs.sb.generation + 1, &roots);
    commit::write_out(&mut log, &sb, &mut vec![0u8; 4096]).unwrap();
    assert_eq!(log.0, ["dirty", "flush", "super 16 fua=true", "super 255 fua=true"]);
}

/// fsck's view of POSIX ACL attributes: well-formed values pass, malformed ones are corruption;
/// other attributes' values are not interpreted.
#[test]
fn acl_values_checked() {
    fn entry(tag: u16, perm: u16, id: u32) -> Vec<u8> {
        [&tag.to_le_bytes()[..], &perm.to_le_bytes(), &id.to_le_bytes()].concat()
    }
    fn item(name: &[u8], value: &[u8]) -> Vec<u8> {
        let mut d = vec![name.len() as u8];
        d.extend_from_slice(&(value.len() as u16).to_le_bytes());
        d.extend_from_slice(name);
        d.extend_from_slice(value);
        d
    }
    let good = [&2u32.to_le_bytes()[..], &entry(1, 6, u32::MAX), &entry(2, 4, 1234), &entry(4, 4, u32::MAX), &entry(0x10, 6, u32::MAX), &entry(0x20, 0, u32::MAX)].concat();
    assert!(xattr::acl_value_ok(&good));
    assert!(xattr::acl_value_ok(&2u32.to_le_bytes()));
    let bad_version = [&1u32.to_le_bytes()[..], &entry(1, 6, 0)].concat();
    let bad_len = [&good[..], &[0u8; 3]].concat();
    let bad_tag = [&2u32.to_le_bytes()[..], &entry(0x40, 6, 0)].concat();
    let bad_perm = [&2u32.to_le_bytes()[..], &entry(1, 8, 0)].concat();
    for v in [&bad_version[..], &bad_len, &bad_tag, &bad_perm, &[2u8, 0]] {
        assert!(!xattr::acl_value_ok(v), "{v:?}");
    }
    assert_eq!(xattr::check_item(&item(xattr::ACL_ACCESS, &good), 7).unwrap(), 1);
    assert_eq!(xattr::check_item(&item(xattr::ACL_DEFAULT, &good), 7).unwrap(), 1);
    for name in [xattr::ACL_ACCESS, xattr::ACL_DEFAULT] {
        assert!(matches!(xattr::check_item(&item(name, &bad_tag), 7), Err(FsError::Corrupt { .. })));
    }
    assert_eq!(xattr::check_item(&item(b"user.posix_acl_access", &bad_tag), 7).unwrap(), 1);
}
