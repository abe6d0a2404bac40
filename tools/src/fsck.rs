//! The checker behind `fsck.ferrofs`, usable as a library.
//!
//! It never trusts the image: every node is validated with
//! `ferrofs_format::node::check_node`, trees are walked with a visited set
//! and bounded depth, and all arithmetic on disk values is checked.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use ferrofs_format::items::{
    extref_hash, ftype_from_mode, name_hash, DirEntry, DirIndex, ExtentData, ExtentItem, InodeExtref, InodeItem, InodeRef, EXTENT_FLAG_DATA,
    EXTENT_FLAG_META, EXTENT_PREALLOC, FT_DIR, FT_LNK, FT_REG,
};
use ferrofs_format::key::*;
use ferrofs_format::layout::*;
use ferrofs_format::node::{self, Expect};
use ferrofs_format::superblock::{self, DiskSuper};
use ferrofs_format::tree::{self, BlockStore};
use ferrofs_format::{extent, FsError};

use crate::dev::Device;
use crate::fs::{read_supers, Fs};
use crate::store::Store;

/// What to do.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Repair what can be repaired safely (`-y`/`-p`).
    pub repair: bool,
    /// Check inode/directory semantics of the fs tree (off for trees of
    /// synthetic test items).
    pub semantic: bool,
    /// Preen (`-p`): with `repair`, apply only the fixes [`Fix::unattended_safe`] allows.
    pub preen: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options { repair: false, semantic: true, preen: false }
    }
}

/// A safe repair for a problem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fix {
    /// Delete a leaked extent item.
    DropExtent {
        /// Start block.
        start: u64,
        /// Length in blocks.
        blocks: u64,
    },
    /// Lower an extent's refcount to the number of references found.
    SetRefs {
        /// Start block.
        start: u64,
        /// Length in blocks.
        blocks: u64,
        /// Correct count.
        refs: u64,
    },
    /// Set an inode's link count.
    SetNlink {
        /// Inode.
        ino: u64,
        /// Correct count.
        nlink: u32,
    },
    /// Delete an orphan item naming a missing or still linked inode.
    DropOrphan {
        /// Inode the orphan item names.
        ino: u64,
    },
    /// Rewrite both superblocks from the trees (summary counters,
    /// next inode, a bad or stale copy).
    RewriteSuper,
}

impl Fix {
    /// Safe without a person (`-p`): rewriting superblocks from intact trees, setting a link
    /// count to the number of names found, dropping a stale orphan item. Dropping or lowering
    /// extent references frees space, which is wrong if the references were missed because of
    /// damage elsewhere, so those wait for `-y`.
    pub fn unattended_safe(&self) -> bool {
        matches!(self, Fix::RewriteSuper | Fix::SetNlink { .. } | Fix::DropOrphan { .. })
    }
}

/// One problem found.
#[derive(Clone, Debug)]
pub struct Problem {
    /// One line naming the inode or block.
    pub msg: String,
    /// How to repair it, if it can be repaired safely.
    pub fix: Option<Fix>,
}

/// Outcome of a check.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Problems found (before repair).
    pub problems: Vec<Problem>,
    /// Problems repaired.
    pub fixed: usize,
    /// States worth a line that are not damage (no effect on the exit code when not repaired).
    pub notes: Vec<String>,
    /// Operational error (cannot open / not ferrofs / repair failed).
    pub fatal: Option<String>,
    /// Reachable inodes.
    pub inodes: u64,
    /// Tree nodes reachable.
    pub nodes: u64,
    /// Blocks in use (the superblock's summary, checked against the extent tree).
    pub used_blocks: u64,
    /// Size of the filesystem in blocks.
    pub total_blocks: u64,
    /// Structural damage (a tree cannot be walked whole): no repair is attempted at all, so no
    /// problem is fixable.
    pub structural: bool,
    /// Per problem (same order as `problems`): repaired in this run.
    pub repaired: Vec<bool>,
    /// A tree node could not be read (I/O error): the check stopped there, `fatal` says where.
    /// An operational error (exit 8), not damage; nothing is repaired or called fixable.
    pub io_error: bool,
}

impl Report {
    /// Would `-y` repair problem `i`? (It has a fix and the trees are intact.)
    pub fn fixable(&self, i: usize) -> bool {
        !self.structural && !self.io_error && self.problems.get(i).is_some_and(|p| p.fix.is_some())
    }
}

impl Report {
    /// fsck(8) exit code: 0 clean, 1 all errors corrected, 4 errors left,
    /// 8 operational error (also after problems, when an I/O error stopped the check).
    pub fn exit_code(&self) -> i32 {
        if self.fatal.is_some() && (self.problems.is_empty() || self.io_error) {
            return 8;
        }
        if self.problems.is_empty() {
            0
        } else if self.fixed == self.problems.len() && self.fatal.is_none() {
            1
        } else {
            4
        }
    }
}

struct LeafItem {
    key: Key,
    data: Vec<u8>,
    blk: u64,
}

struct Checker<D: Device> {
    store: Store<D>,
    sb: DiskSuper,
    problems: Vec<Problem>,
    structural: bool,
    seen: HashSet<u64>,
    /// tree node blocks, with how often they are referenced by pointers
    meta_refs: BTreeMap<u64, u32>,
    fs_items: Vec<LeafItem>,
    ext_items: Vec<LeafItem>,
    /// The first tree node that could not be read (I/O error): the walk stops there.
    io_error: Option<String>,
}

impl<D: Device> Checker<D> {
    fn problem(&mut self, msg: String, fix: Option<Fix>) {
        self.problems.push(Problem { msg, fix });
    }

    fn walk(&mut self, owner: u64, blk: u64, level: u8, gen: u64, lo: Option<Key>, hi: Option<Key>) {
        let tname = if owner == FS_TREE_OWNER { "fs tree" } else { "extent tree" };
        if self.io_error.is_some() {
            return;
        }
        *self.meta_refs.entry(blk).or_insert(0) += 1;
        if !self.seen.insert(blk) {
            self.structural = true;
            self.problem(format!("block {blk}: {tname} node referenced more than once (double-referenced block)"), None);
            return;
        }
        if blk < FIRST_ALLOC_BLOCK || blk >= self.sb.total_blocks {
            self.structural = true;
            self.problem(format!("block {blk}: {tname} pointer outside the allocatable area"), None);
            return;
        }
        let buf = match self.store.read(blk) {
            Ok(b) => b,
            // The device failed, not the filesystem: an operational error (fsck(8) exit 8).
            Err(FsError::Io) => {
                let detail = self.store.last_io_error.take().map(|d| format!(" ({d})")).unwrap_or_default();
                self.io_error = Some(format!("cannot read the {tname} node at block {blk}: I/O error{detail}"));
                return;
            }
            Err(e) => {
                self.structural = true;
                self.problem(format!("block {blk}: {tname} node unreadable: {e}"), None);
                return;
            }
        };
        let exp = Expect { owner: Some(owner), level: Some(level), generation: Some(gen) };
        if let Err(e) = node::check_node(&buf, blk, &exp) {
            self.structural = true;
            let what = match e {
                FsError::Corrupt { what, .. } => what.to_string(),
                e => e.to_string(),
            };
            self.problem(format!("block {blk}: {tname} node: {what}"), None);
            return;
        }
        let n = node::nritems(&buf);
        if n == 0 && lo.is_some() {
            self.structural = true;
            self.problem(format!("block {blk}: empty {tname} node below the root"), None);
            return;
        }
        let first = node::first_key(&buf).ok().flatten();
        if let (Some(lo), Some(f)) = (lo, first) {
            if f != lo {
                self.structural = true;
                self.problem(format!("block {blk}: first key {f:?} differs from parent key {lo:?} (key order)"), None);
            }
        }
        let last = if n == 0 {
            None
        } else if level == 0 {
            node::leaf_key(&buf, n - 1).ok()
        } else {
            node::ptr(&buf, n - 1).ok().map(|p| p.0)
        };
        if let (Some(hi), Some(l)) = (hi, last) {
            if l >= hi {
                self.structural = true;
                self.problem(format!("block {blk}: key {l:?} not below the next parent key {hi:?} (key order)"), None);
            }
        }
        if level == 0 {
            for i in 0..n {
                if let (Ok(key), Ok(d)) = (node::leaf_key(&buf, i), node::leaf_data(&buf, i)) {
                    let it = LeafItem { key, data: d.to_vec(), blk };
                    if owner == FS_TREE_OWNER {
                        self.fs_items.push(it);
                    } else {
                        self.ext_items.push(it);
                    }
                }
            }
            return;
        }
        let mut ptrs = Vec::with_capacity(n);
        for i in 0..n {
            if let Ok(p) = node::ptr(&buf, i) {
                ptrs.push(p);
            }
        }
        for (i, &(k, c, g)) in ptrs.iter().enumerate() {
            let next = ptrs.get(i + 1).map(|p| p.0).or(hi);
            self.walk(owner, c, level - 1, g, Some(k), next);
        }
    }
}

fn corrupt_what(e: FsError) -> String {
    match e {
        FsError::Corrupt { what, .. } => what.to_string(),
        e => e.to_string(),
    }
}

/// The quick look of `fsck -p` without `-f`: both superblock copies valid, equal (but for their
/// block numbers) and within the device. A copy-on-write commit leaves the filesystem consistent
/// after a crash too, so such a filesystem is taken as clean without walking its trees. Returns
/// the superblock then.
pub fn superblocks_clean<D: Device>(dev: &mut D) -> Option<DiskSuper> {
    let [a, b] = read_supers(dev);
    let (a, b) = (a.ok()?, b.ok()?);
    let mut b2 = b;
    b2.bytenr = a.bytenr;
    let size = dev.size().ok()?;
    (a == b2 && size / BLOCK_SIZE_U64 >= a.total_blocks && a.check_features().is_ok()).then_some(a)
}

/// Checks (and with `opts.repair` repairs) the filesystem on `dev`.
/// Returns the report and the device.
pub fn check<D: Device>(mut dev: D, opts: &Options) -> (Report, D) {
    let mut report = Report::default();
    // ---- superblocks
    let [a, b] = read_supers(&mut dev);
    // A device that cannot be read is an operational error (8), not damage.
    if let Some(blk) = SUPER_BLOCK_NRS.iter().zip([&a, &b]).find_map(|(blk, r)| matches!(r, Err(FsError::Io)).then_some(*blk)) {
        report.fatal = Some(format!("cannot read the superblock at block {blk}: I/O error"));
        return (report, dev);
    }
    let mut problems = Vec::new();
    for (blk, r) in SUPER_BLOCK_NRS.iter().zip([&a, &b]) {
        match r {
            Ok(_) => {}
            Err(FsError::BadChecksum { .. }) => problems.push(Problem { msg: format!("superblock at block {blk}: bad checksum"), fix: Some(Fix::RewriteSuper) }),
            Err(FsError::BadMagic) => problems.push(Problem { msg: format!("superblock at block {blk}: bad magic"), fix: Some(Fix::RewriteSuper) }),
            Err(e) => problems.push(Problem { msg: format!("superblock at block {blk}: {}", corrupt_what(*e)), fix: Some(Fix::RewriteSuper) }),
        }
    }
    if let (Ok(x), Ok(y)) = (&a, &b) {
        let mut y2 = *y;
        y2.bytenr = x.bytenr;
        if *x != y2 && x.generation == y.generation.wrapping_add(1) && !opts.repair {
            // The commit writes the primary, then the backup: a crash between the two leaves
            // exactly this, a consistent filesystem (the primary's), like a journal to replay.
            // The next read-write mount rewrites the backup, as does a repairing run.
            report.notes.push(format!(
                "backup superblock (block {}) one generation behind the primary (generation {}): a commit was interrupted between its two superblock writes; a read-write mount or fsck.ferrofs -y rewrites it",
                BACKUP_SUPER_BLOCK_NR, x.generation
            ));
        } else if *x != y2 {
            problems.push(Problem {
                msg: format!("superblock copies differ (generation {} at block {}, {} at block {})", x.generation, SUPER_BLOCK_NR, y.generation, BACKUP_SUPER_BLOCK_NR),
                fix: Some(Fix::RewriteSuper),
            });
        }
    }
    let both_magic_bad = matches!((&a, &b), (Err(FsError::BadMagic), Err(FsError::BadMagic)));
    let sb = match superblock::choose(a, b) {
        Ok(sb) => sb,
        Err(e) => {
            if both_magic_bad {
                report.fatal = Some("not a ferrofs filesystem (no superblock magic)".into());
                return (report, dev);
            }
            report.problems = problems;
            report.fatal = Some(format!("no valid superblock: {e}"));
            return (report, dev);
        }
    };
    match dev.size() {
        Ok(sz) if sz / BLOCK_SIZE_U64 >= sb.total_blocks => {}
        Ok(sz) => problems.push(Problem { msg: format!("superblock: filesystem has {} blocks but the device only {}", sb.total_blocks, sz / BLOCK_SIZE_U64), fix: None }),
        Err(e) => {
            report.fatal = Some(format!("cannot get device size: {e}"));
            return (report, dev);
        }
    }
    let store = Store::new(dev, sb.total_blocks, sb.generation + 1);
    let mut c = Checker {
        store,
        sb,
        problems,
        structural: false,
        seen: HashSet::new(),
        meta_refs: BTreeMap::new(),
        fs_items: Vec::new(),
        ext_items: Vec::new(),
        io_error: None,
    };
    // ---- trees
    c.walk(FS_TREE_OWNER, sb.fs_root.block, sb.fs_root.level, sb.fs_root.generation, None, None);
    c.walk(EXTENT_TREE_OWNER, sb.extent_root.block, sb.extent_root.level, sb.extent_root.generation, None, None);
    report.nodes = c.seen.len() as u64;
    (report.used_blocks, report.total_blocks) = (sb.used_blocks + FIRST_ALLOC_BLOCK, sb.total_blocks);
    if let Some(e) = c.io_error.take() {
        // Part of the trees unread: the space and inode checks would report what that part
        // holds as missing. Report what was found so far, repair nothing, exit 8.
        report.problems = std::mem::take(&mut c.problems);
        report.repaired = vec![false; report.problems.len()];
        report.io_error = true;
        report.fatal = Some(e);
        return (report, c.store.dev);
    }
    check_space(&mut c);
    if opts.semantic {
        report.inodes = check_inodes(&mut c);
    }
    report.problems = std::mem::take(&mut c.problems);
    let structural = c.structural;
    report.structural = structural;
    report.repaired = vec![false; report.problems.len()];
    let dev = c.store.dev;
    if !opts.repair || report.problems.is_empty() {
        return (report, dev);
    }
    // ---- repair: only with intact trees, and only the safe fixes
    let wanted = |p: &Problem| p.fix.as_ref().is_some_and(|f| !opts.preen || f.unattended_safe());
    if structural || !report.problems.iter().any(wanted) {
        return (report, dev);
    }
    let mut fs = match Fs::try_open(dev) {
        Ok(fs) => fs,
        Err((e, dev)) => {
            report.fatal = Some(format!("cannot open for repair: {e}"));
            return (report, dev);
        }
    };
    let mut fixed = 0;
    let mut failed = None;
    let mut done = vec![false; report.problems.len()];
    for (pi, p) in report.problems.iter().enumerate() {
        let Some(fix) = p.fix.as_ref().filter(|_| wanted(p)) else { continue };
        let r = match *fix {
            Fix::DropExtent { start, blocks } => fs.drop_extent_item(start, blocks),
            Fix::SetRefs { start, blocks, refs } => tree::update(&mut fs.store, &mut fs.ext_root, &extent::extent_key(start, blocks), |d| {
                let mut it = ExtentItem::parse(d, start)?;
                it.refs = refs;
                d.copy_from_slice(&it.to_bytes());
                Ok(())
            }),
            Fix::SetNlink { ino, nlink } => match fs.read_inode(ino) {
                Ok(Some(mut i)) => {
                    i.nlink = nlink;
                    fs.write_inode(ino, &i)
                }
                Ok(None) => Err(FsError::NotFound),
                Err(e) => Err(e),
            },
            Fix::DropOrphan { ino } => ferrofs_format::orphan::remove(&mut fs.store, &mut fs.fs_root, ino),
            Fix::RewriteSuper => Ok(()),
        };
        match r {
            Ok(()) => {
                fixed += 1;
                if let Some(d) = done.get_mut(pi) {
                    *d = true;
                }
            }
            Err(e) => {
                failed = Some(format!("repair failed ({}): {e}", p.msg));
                break;
            }
        }
    }
    if failed.is_none() {
        if let Some(max) = c.fs_items.iter().map(|i| i.key.objectid).max() {
            fs.next_inode = fs.next_inode.max(max.saturating_add(1));
        }
        if let Err(e) = fs.commit() {
            failed = Some(format!("repair commit failed: {e}"));
        }
    }
    match failed {
        None => {
            report.fixed = fixed;
            report.repaired = done;
        }
        Some(f) => report.fatal = Some(f),
    }
    (report, fs.into_device())
}

fn check_space<D: Device>(c: &mut Checker<D>) {
    let total = c.sb.total_blocks;
    // recorded extents, in key order (the walk visits leaves in order)
    let mut recorded: BTreeMap<u64, (u64, ExtentItem)> = BTreeMap::new();
    let mut prev_end = FIRST_ALLOC_BLOCK;
    let mut sum = 0u64;
    let items = std::mem::take(&mut c.ext_items);
    for it in &items {
        let k = it.key;
        if k.ty != EXTENT_ITEM {
            c.problem(format!("block {}: unexpected item type {} in extent tree", it.blk, k.ty), None);
            continue;
        }
        let e = match ExtentItem::parse(&it.data, it.blk) {
            Ok(e) => e,
            Err(_) => {
                c.problem(format!("block {}: bad extent item for blocks {}+{}", it.blk, k.objectid, k.offset), None);
                continue;
            }
        };
        let end = k.objectid.checked_add(k.offset);
        match end {
            Some(end) if k.offset > 0 && k.objectid >= FIRST_ALLOC_BLOCK && end <= total => {}
            _ => {
                c.problem(format!("block {}: extent {}+{} lies outside the device", k.objectid, k.objectid, k.offset), None);
                continue;
            }
        }
        if k.objectid < prev_end {
            c.problem(format!("block {}: extent {}+{} overlaps the previous extent", k.objectid, k.objectid, k.offset), None);
            continue;
        }
        prev_end = k.objectid + k.offset;
        sum += k.offset;
        recorded.insert(k.objectid, (k.offset, e));
    }
    c.ext_items = items;
    let find = |recorded: &BTreeMap<u64, (u64, ExtentItem)>, b: u64| -> Option<(u64, u64, ExtentItem)> {
        let (&s, &(l, e)) = recorded.range(..=b).next_back()?;
        (b < s.saturating_add(l)).then_some((s, l, e))
    };
    let mut counts: HashMap<u64, u64> = HashMap::new();
    let meta: Vec<(u64, u32)> = c.meta_refs.iter().map(|(&b, &n)| (b, n)).collect();
    for (b, _) in meta {
        match find(&recorded, b) {
            Some((s, l, e)) if s == b && l == 1 && e.flags == EXTENT_FLAG_META => *counts.entry(s).or_insert(0) += 1,
            Some((s, l, _)) => c.problem(format!("block {b}: tree node inside extent {s}+{l} which is recorded for something else (double-referenced block)"), None),
            None => c.problem(format!("block {b}: tree node not recorded in the extent tree"), None),
        }
    }
    // data references from file extents
    let mut data_refs: Vec<(u64, u64, u64, u64)> = Vec::new(); // ino, off, start, blocks
    for it in &c.fs_items {
        if it.key.ty == EXTENT_DATA {
            if let Ok(e) = ExtentData::parse(&it.data, it.blk) {
                data_refs.push((it.key.objectid, it.key.offset, e.disk_start, e.disk_blocks));
            }
        }
    }
    for (ino, off, s0, l0) in data_refs {
        match find(&recorded, s0) {
            Some((s, l, e)) if s == s0 && l == l0 && e.flags == EXTENT_FLAG_DATA => *counts.entry(s).or_insert(0) += 1,
            Some((s, l, _)) => c.problem(format!("inode {ino}: extent at offset {off} uses blocks {s0}+{l0} overlapping extent record {s}+{l} (double-referenced block)"), None),
            None => {
                // within the device but unrecorded (outside-device is reported by the inode checks)
                if s0.checked_add(l0).is_some_and(|e| e <= total) && s0 >= FIRST_ALLOC_BLOCK {
                    c.problem(format!("inode {ino}: extent at offset {off} uses blocks {s0}+{l0} not recorded in the extent tree"), None);
                }
            }
        }
    }
    let structural = c.structural;
    let rec: Vec<(u64, u64, ExtentItem)> = recorded.iter().map(|(&s, &(l, e))| (s, l, e)).collect();
    for (s, l, e) in rec {
        let n = counts.get(&s).copied().unwrap_or(0);
        if n == 0 {
            if !structural {
                c.problem(format!("block {s}: extent {s}+{l} is recorded but not referenced (leaked space)"), Some(Fix::DropExtent { start: s, blocks: l }));
            }
        } else if n != e.refs {
            let fix = (n < e.refs).then_some(Fix::SetRefs { start: s, blocks: l, refs: n });
            let kind = if n > e.refs { " (double-referenced block)" } else { "" };
            c.problem(format!("block {s}: extent {s}+{l} has refcount {} but {n} references{kind}", e.refs), fix);
        }
    }
    let sb = c.sb;
    if !structural && (sb.used_blocks != sum || sb.free_blocks != total.saturating_sub(FIRST_ALLOC_BLOCK).saturating_sub(sum)) {
        c.problem(format!("superblock: space summary used={} free={} but extents cover {sum} blocks", sb.used_blocks, sb.free_blocks), Some(Fix::RewriteSuper));
    }
}

fn check_inodes<D: Device>(c: &mut Checker<D>) -> u64 {
    let items = std::mem::take(&mut c.fs_items);
    let total = c.sb.total_blocks;
    let mut inodes: BTreeMap<u64, InodeItem> = BTreeMap::new();
    let mut by_key: HashMap<Key, usize> = HashMap::new();
    for (i, it) in items.iter().enumerate() {
        by_key.insert(it.key, i);
        if it.key.ty == INODE_ITEM {
            if it.key.offset != 0 {
                c.problem(format!("inode {}: inode item with nonzero offset", it.key.objectid), None);
                continue;
            }
            match InodeItem::parse(&it.data, it.blk) {
                Ok(ino) => {
                    inodes.insert(it.key.objectid, ino);
                }
                Err(e) => c.problem(format!("inode {}: {}", it.key.objectid, corrupt_what(e)), None),
            }
        }
    }
    // Orphans: inodes with no names left whose deletion did not finish (the next read-write
    // mount deletes them); legal with no names and nlink 0.
    let mut orphans: BTreeSet<u64> = BTreeSet::new();
    for it in items.iter().filter(|it| it.key.objectid == ORPHAN_OBJECTID) {
        let ino = it.key.offset;
        if it.key.ty != ORPHAN_ITEM || !it.data.is_empty() {
            c.problem(format!("orphan item ({}, {}, {ino}) is malformed", it.key.objectid, it.key.ty), None);
        } else if !inodes.contains_key(&ino) {
            c.problem(format!("orphan item names missing inode {ino}"), Some(Fix::DropOrphan { ino }));
        } else {
            orphans.insert(ino);
        }
    }
    let mut reported_missing = HashSet::new();
    for it in &items {
        let o = it.key.objectid;
        if o == ORPHAN_OBJECTID {
            continue;
        }
        if it.key.ty == XATTR_ITEM {
            if let Err(e) = ferrofs_format::xattr::check_item(&it.data, it.blk) {
                c.problem(format!("inode {o}: {}", corrupt_what(e)), None);
            }
        }
        if !inodes.contains_key(&o) && reported_missing.insert(o) {
            c.problem(format!("inode {o}: items (type {}) without an inode item", it.key.ty), None);
        }
        if !matches!(it.key.ty, INODE_ITEM | INODE_REF | INODE_EXTREF | XATTR_ITEM | DIR_ENTRY | DIR_INDEX | EXTENT_DATA | SYMLINK_ITEM) {
            c.problem(format!("inode {o}: unknown item type {}", it.key.ty), None);
        }
    }
    if let Some(max) = inodes.keys().next_back() {
        if *max >= c.sb.next_inode {
            c.problem(format!("inode {max}: number not below superblock next_inode {}", c.sb.next_inode), Some(Fix::RewriteSuper));
        }
    }
    if let Some(min) = inodes.keys().next() {
        if *min < ROOT_DIR_INO {
            c.problem(format!("inode {min}: reserved inode number in use"), None);
        }
    }
    match inodes.get(&ROOT_DIR_INO) {
        Some(r) if r.ftype() == FT_DIR => {}
        _ => c.problem(format!("inode {ROOT_DIR_INO}: root directory missing or not a directory"), None),
    }
    let mut names: HashMap<u64, u64> = HashMap::new();
    let mut subdirs: HashMap<u64, u64> = HashMap::new();
    // (child, directory, index) of every back reference seen, INODE_REF or INODE_EXTREF
    let mut backrefs: HashSet<(u64, u64, u64)> = HashSet::new();
    let get = |k: &Key| by_key.get(k).and_then(|&i| items.get(i));
    // A back reference (INODE_REF or INODE_EXTREF entry) of inode `d`: its directory index item
    // names `d` by the same name, and no other back reference claims that name.
    let check_backref = |c: &mut Checker<D>, backrefs: &mut HashSet<(u64, u64, u64)>, d: u64, dir: u64, index: u64, name: &[u8]| {
        let nm = String::from_utf8_lossy(name);
        let ok = get(&Key::new(dir, DIR_INDEX, index)).is_some_and(|x| matches!(DirIndex::parse(&x.data, x.blk), Ok(di) if di.ino == d && di.name == name));
        if !ok {
            c.problem(format!("inode {d}: back reference to directory {dir} '{nm}' has no directory entry"), None);
        }
        if !backrefs.insert((d, dir, index)) {
            c.problem(format!("inode {d}: name '{nm}' in directory {dir} has two back references"), None);
        }
    };
    for it in &items {
        let d = it.key.objectid;
        match it.key.ty {
            DIR_ENTRY => {
                if inodes.get(&d).is_some_and(|i| i.ftype() != FT_DIR) {
                    c.problem(format!("inode {d}: directory entries in a non-directory"), None);
                }
                for e in DirEntry::iter(&it.data, it.blk) {
                    let e = match e {
                        Ok((_, e)) => e,
                        Err(_) => {
                            c.problem(format!("inode {d}: malformed directory entry item (block {})", it.blk), None);
                            break;
                        }
                    };
                    let nm = String::from_utf8_lossy(e.name);
                    if name_hash(e.name) != it.key.offset {
                        c.problem(format!("inode {d}: entry '{nm}' stored under the wrong hash (index/hash mismatch)"), None);
                    }
                    match get(&Key::new(d, DIR_INDEX, e.index)).map(|x| DirIndex::parse(&x.data, x.blk)) {
                        Some(Ok(di)) if di.ino == e.ino && di.name == e.name && di.ftype == e.ftype => {}
                        _ => c.problem(format!("inode {d}: entry '{nm}' has no matching index item {} (index/hash mismatch)", e.index), None),
                    }
                    match inodes.get(&e.ino) {
                        None => {
                            c.problem(format!("inode {d}: dangling entry '{nm}' -> missing inode {}", e.ino), None);
                            continue;
                        }
                        Some(ci) => {
                            if ci.ftype() != e.ftype {
                                c.problem(format!("inode {d}: entry '{nm}' has type {} but inode {} has type {}", e.ftype, e.ino, ci.ftype()), None);
                            }
                            *names.entry(e.ino).or_insert(0) += 1;
                            if ci.ftype() == FT_DIR {
                                *subdirs.entry(d).or_insert(0) += 1;
                            }
                        }
                    }
                    // the back reference: in the INODE_REF item, or in an INODE_EXTREF item
                    let has_ref = get(&Key::new(e.ino, INODE_REF, d)).is_some_and(|r| {
                        InodeRef::iter(&r.data, r.blk).any(|x| matches!(x, Ok((_, x)) if x.index == e.index && x.name == e.name))
                    }) || get(&Key::new(e.ino, INODE_EXTREF, extref_hash(d, e.name))).is_some_and(|r| {
                        InodeExtref::iter(&r.data, r.blk).any(|x| matches!(x, Ok((_, x)) if x.dir == d && x.index == e.index && x.name == e.name))
                    });
                    if !has_ref {
                        c.problem(format!("inode {}: no back reference for entry '{nm}' in directory {d}", e.ino), None);
                    }
                }
            }
            DIR_INDEX => match DirIndex::parse(&it.data, it.blk) {
                Err(_) => c.problem(format!("inode {d}: malformed index item {}", it.key.offset), None),
                Ok(di) => {
                    let ok = get(&Key::new(d, DIR_ENTRY, name_hash(di.name))).is_some_and(|x| {
                        DirEntry::iter(&x.data, x.blk).any(|e| matches!(e, Ok((_, e)) if e.name == di.name && e.index == it.key.offset && e.ino == di.ino))
                    });
                    if !ok || it.key.offset < 2 {
                        c.problem(format!("inode {d}: index item {} '{}' has no matching hash entry (index/hash mismatch)", it.key.offset, String::from_utf8_lossy(di.name)), None);
                    }
                }
            },
            INODE_REF => {
                for r in InodeRef::iter(&it.data, it.blk) {
                    match r {
                        Err(_) => {
                            c.problem(format!("inode {d}: malformed back reference item"), None);
                            break;
                        }
                        Ok((_, r)) => check_backref(c, &mut backrefs, d, it.key.offset, r.index, r.name),
                    }
                }
            }
            INODE_EXTREF => {
                if !c.sb.extrefs() {
                    c.problem(format!("inode {d}: extended back reference item on a filesystem without the extref feature (incompat bit)"), None);
                }
                if inodes.get(&d).is_some_and(|i| i.ftype() == FT_DIR) {
                    c.problem(format!("inode {d}: directory named by an extended back reference"), None);
                }
                for r in InodeExtref::iter(&it.data, it.blk) {
                    match r {
                        Err(_) => {
                            c.problem(format!("inode {d}: malformed extended back reference item"), None);
                            break;
                        }
                        Ok((_, r)) => {
                            if extref_hash(r.dir, r.name) != it.key.offset {
                                c.problem(format!("inode {d}: extended back reference to directory {} '{}' stored under the wrong hash", r.dir, String::from_utf8_lossy(r.name)), None);
                            }
                            check_backref(c, &mut backrefs, d, r.dir, r.index, r.name);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    // link counts
    for (&ino, i) in &inodes {
        let n = names.get(&ino).copied().unwrap_or(0);
        let expected = if i.ftype() == FT_DIR {
            if ino == ROOT_DIR_INO && n != 0 {
                c.problem(format!("inode {ino}: root directory has {n} names"), None);
            } else if ino != ROOT_DIR_INO && n > 1 {
                c.problem(format!("inode {ino}: directory has {n} names"), None);
            }
            2 + subdirs.get(&ino).copied().unwrap_or(0)
        } else {
            n
        };
        let orphan = orphans.contains(&ino);
        if n == 0 && orphan {
            if i.nlink != 0 {
                c.problem(format!("inode {ino}: orphan with link count {} (0 expected)", i.nlink), Some(Fix::SetNlink { ino, nlink: 0 }));
            }
        } else if orphan {
            c.problem(format!("inode {ino}: orphan item for an inode with {n} names"), Some(Fix::DropOrphan { ino }));
        } else if n == 0 && ino != ROOT_DIR_INO {
            c.problem(format!("inode {ino}: unreachable (no directory entry names it)"), None);
        } else if u64::from(i.nlink) != expected {
            let fix = u32::try_from(expected).ok().map(|nlink| Fix::SetNlink { ino, nlink });
            c.problem(format!("inode {ino}: link count {} but {expected} expected (wrong nlink)", i.nlink), fix);
        }
    }
    // extents and symlinks
    let mut per_ino: BTreeMap<u64, Vec<(u64, ExtentData)>> = BTreeMap::new();
    let mut symlen: BTreeMap<u64, (u64, bool)> = BTreeMap::new();
    for it in &items {
        let ino = it.key.objectid;
        match it.key.ty {
            EXTENT_DATA => match ExtentData::parse(&it.data, it.blk) {
                Ok(e) => per_ino.entry(ino).or_default().push((it.key.offset, e)),
                Err(_) => c.problem(format!("inode {ino}: malformed file extent at offset {}", it.key.offset), None),
            },
            SYMLINK_ITEM => {
                let ent = symlen.entry(ino).or_insert((0, true));
                if it.key.offset != ent.0 || it.data.is_empty() {
                    ent.1 = false;
                }
                ent.0 = ent.0.saturating_add(it.data.len() as u64);
            }
            _ => {}
        }
    }
    for (&ino, exts) in &per_ino {
        let Some(i) = inodes.get(&ino) else { continue };
        if i.ftype() != FT_REG {
            c.problem(format!("inode {ino}: file extents on a non-regular file"), None);
        }
        let mut prev_end = 0u64;
        let mut nbytes = 0u64;
        for &(off, e) in exts {
            if !off.is_multiple_of(BLOCK_SIZE_U64) {
                c.problem(format!("inode {ino}: extent at offset {off} is not block aligned"), None);
            }
            if off < prev_end {
                c.problem(format!("inode {ino}: extent at offset {off} overlaps the previous extent (overlapping extents)"), None);
            }
            prev_end = prev_end.max(off.saturating_add(e.len));
            if prev_end > MAX_EXTENT_END {
                c.problem(format!("inode {ino}: extent at offset {off} beyond the maximum file size"), None);
            }
            if e.disk_start < FIRST_ALLOC_BLOCK || e.disk_start.checked_add(e.disk_blocks).is_none_or(|end| end > total) {
                c.problem(format!("inode {ino}: extent at offset {off} points beyond the device (blocks {}+{})", e.disk_start, e.disk_blocks), None);
            }
            if e.flags & EXTENT_PREALLOC == 0 && off >= i.size {
                c.problem(format!("inode {ino}: extent at offset {off} lies beyond i_size {}", i.size), None);
            }
            nbytes = nbytes.saturating_add(e.len);
        }
        // An orphan being deleted in steps has lost some extents already.
        if nbytes != i.nbytes && !orphans.contains(&ino) {
            c.problem(format!("inode {ino}: nbytes {} but extents hold {nbytes}", i.nbytes), None);
        }
    }
    for (&ino, i) in &inodes {
        if i.ftype() == FT_REG && !per_ino.contains_key(&ino) && i.nbytes != 0 && !orphans.contains(&ino) {
            c.problem(format!("inode {ino}: nbytes {} but no extents", i.nbytes), None);
        }
        if i.ftype() == FT_LNK {
            match symlen.get(&ino) {
                Some(&(len, true)) if len == i.size && len as usize <= MAX_SYMLINK_LEN => {}
                _ => c.problem(format!("inode {ino}: symlink target missing or inconsistent with i_size {}", i.size), None),
            }
        } else if symlen.contains_key(&ino) {
            c.problem(format!("inode {ino}: symlink target on a non-symlink"), None);
        }
        if ftype_from_mode(i.mode).is_none() {
            c.problem(format!("inode {ino}: invalid mode {:o}", i.mode), None);
        }
    }
    c.fs_items = items;
    inodes.len() as u64
}

#[cfg(test)]
mod tests {
    #[test]
    fn exit_codes() {
        use super::*;
        let mut r = Report::default();
        assert_eq!(r.exit_code(), 0);
        r.problems.push(Problem { msg: "x".into(), fix: None });
        assert_eq!(r.exit_code(), 4);
        r.fixed = 1;
        assert_eq!(r.exit_code(), 1);
        let r = Report { fatal: Some("e".into()), ..Default::default() };
        assert_eq!(r.exit_code(), 8);
        let mut r = Report { fatal: Some("e".into()), problems: vec![Problem { msg: "x".into(), fix: Some(Fix::RewriteSuper) }], ..Default::default() };
        assert_eq!(r.exit_code(), 4);
        assert!(r.fixable(0));
        r.io_error = true;
        assert_eq!(r.exit_code(), 8);
        assert!(!r.fixable(0));
    }

    use crate::dev::Device;
    use ferrofs_format::layout::BLOCK_SIZE_U64;

    /// A device that fails reads of one block with EIO.
    struct FailDev(crate::dev::MemDev, u64);

    impl Device for FailDev {
        fn read_at(&mut self, off: u64, buf: &mut [u8]) -> std::io::Result<()> {
            let (first, last) = (off / BLOCK_SIZE_U64, (off + buf.len() as u64 - 1) / BLOCK_SIZE_U64);
            if (first..=last).contains(&self.1) {
                return Err(std::io::Error::from_raw_os_error(libc::EIO));
            }
            self.0.read_at(off, buf)
        }
        fn write_at(&mut self, off: u64, buf: &[u8]) -> std::io::Result<()> {
            self.0.write_at(off, buf)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
        fn size(&mut self) -> std::io::Result<u64> {
            self.0.size()
        }
    }

    #[test]
    fn unreadable_tree_node_is_an_operational_error() {
        use super::*;
        use crate::fs::FormatOptions;
        let opts = FormatOptions { label: Vec::new(), uuid: [1; 16], total_blocks: MIN_BLOCKS, time: Default::default() };
        let fs = Fs::format(crate::dev::MemDev(vec![0; (MIN_BLOCKS * BLOCK_SIZE_U64) as usize]), &opts).unwrap();
        let (sb, img) = (fs.sb, fs.into_device());
        for (blk, tname) in [(sb.fs_root.block, "fs tree"), (sb.extent_root.block, "extent tree")] {
            for repair in [false, true] {
                let (r, _) = check(FailDev(img.clone(), blk), &Options { repair, ..Default::default() });
                assert_eq!(r.exit_code(), 8, "{r:?}");
                assert!(r.io_error && r.fixed == 0, "{r:?}");
                let f = r.fatal.as_deref().unwrap();
                assert!(f.contains(&format!("cannot read the {tname} node at block {blk}: I/O error")) && f.contains("Input/output error"), "{f}");
            }
        }
        // Damage found before the unreadable node is listed, but not fixable, and still exit 8.
        let mut data = img.0.clone();
        let b = (BACKUP_SUPER_BLOCK_NR * BLOCK_SIZE_U64) as usize;
        data[b + 3000] ^= 1;
        let (r, _) = check(FailDev(crate::dev::MemDev(data), sb.extent_root.block), &Options { repair: true, ..Default::default() });
        assert_eq!(r.exit_code(), 8, "{r:?}");
        assert!(r.problems.iter().any(|p| p.msg.contains("bad checksum")) && !r.fixable(0) && r.fixed == 0, "{r:?}");
    }
}
