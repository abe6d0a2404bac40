//! Copy-on-write B+tree algorithms, generic over a [`BlockStore`].
//!
//! Invariants maintained (and checked by fsck):
//! * keys strictly increase within a node and across the tree;
//! * the key of internal pointer `i` equals the first key of child `i`;
//! * a child's generation is recorded in its parent pointer and equals the
//!   child's header generation;
//! * only the root may be an empty leaf; internal nodes have >= 1 pointer.
//!
//! Every change first copies the path from the root to the leaf ("COW"):
//! a node whose generation equals the store's current generation was
//! written in this transaction and is changed in place; any other node is
//! copied to a block from [`BlockStore::alloc_meta`] and the old block is
//! handed to [`BlockStore::free_meta`].  The store must not reuse freed
//! blocks before the transaction that freed them is committed.

use super::error::FsError;
use super::key::Key;
use super::layout::{BLOCK_SIZE, MAX_ITEM_DATA, MAX_LEVELS};
use super::node::{self, Expect, KEY_PTR_SIZE, LEAF_CAPACITY, LEAF_ITEM_SIZE, MAX_PTRS, NODE_HEADER_SIZE};

/// A metadata block allocation or free, queued by the store for the
/// extent tree (see [`extent::flush_meta_refs`](super::extent::flush_meta_refs)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetaChange {
    /// A tree node block was allocated in this transaction.
    Alloc(u64),
    /// A tree node block was freed in this transaction.
    Free(u64),
}

/// Block access for the tree algorithms.  The kernel implements this over
/// the block device's page cache, the tools over a file.
///
/// Contract:
/// * buffers are exactly [`BLOCK_SIZE`] bytes;
/// * `alloc_meta` returns a block that is free in the extent tree, not
///   allocated earlier in this transaction and not pinned, and queues
///   [`MetaChange::Alloc`];
/// * `free_meta` queues [`MetaChange::Free`] and pins the block: it must
///   not be handed out again until the current transaction is committed.
///   A block whose [`MetaChange::Alloc`] is still queued was never recorded
///   in the extent tree: the store drops that `Alloc` and queues nothing
///   (without this, recording allocations can split a full extent leaf into
///   a one-item leaf whose item's block is freed next, which empties and
///   frees that leaf, and so on, one block per change);
/// * `write` stores (or marks dirty) a block; it reaches the disk before
///   the superblocks of the commit;
/// * `pop_meta_change` returns queued changes in FIFO order.
pub trait BlockStore {
    /// A read-only block.
    type Buf: AsRef<[u8]>;
    /// A writable block.
    type BufMut: AsRef<[u8]> + AsMut<[u8]>;
    /// Reads block `blk`.
    fn read(&mut self, blk: u64) -> Result<Self::Buf, FsError>;
    /// Reads block `blk` for modification (only called on blocks written
    /// in the current transaction).
    fn read_mut(&mut self, blk: u64) -> Result<Self::BufMut, FsError>;
    /// Allocates a fresh metadata block (contents unspecified).
    fn alloc_meta(&mut self) -> Result<(u64, Self::BufMut), FsError>;
    /// Stores block `blk`.
    fn write(&mut self, blk: u64, buf: Self::BufMut) -> Result<(), FsError>;
    /// Frees metadata block `blk` (deferred until commit).
    fn free_meta(&mut self, blk: u64) -> Result<(), FsError>;
    /// Current transaction generation (last committed + 1).
    fn generation(&self) -> u64;
    /// Pops the oldest queued metadata allocation change.
    fn pop_meta_change(&mut self) -> Option<MetaChange>;
    /// Whether `buf` (block `blk`) passed a full node check since it was
    /// read and has not been changed since except by tree code (which
    /// finalizes what it writes). The kernel keeps this in a buffer flag.
    fn verified(&mut self, _blk: u64, _buf: &Self::Buf) -> bool {
        false
    }
    /// Records that `buf` passed a full node check.
    fn set_verified(&mut self, _blk: u64, _buf: &Self::Buf) {}
}

/// Where a tree's root is, as recorded in the superblock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Root {
    /// Root node block.
    pub block: u64,
    /// Root node generation.
    pub generation: u64,
    /// Root node level (0 = the root is a leaf).
    pub level: u8,
    /// Owner tree id of every node in the tree.
    pub owner: u64,
}

/// One leaf item, holding the leaf buffer it lives in.
pub struct Item<B> {
    buf: B,
    key: Key,
    off: usize,
    len: usize,
}

impl<B: AsRef<[u8]>> Item<B> {
    fn new(buf: B, slot: usize) -> Result<Self, FsError> {
        let (key, off, len) = node::leaf_item(buf.as_ref(), slot)?;
        Ok(Item { buf, key, off, len })
    }
    /// The item's key.
    pub fn key(&self) -> Key {
        self.key
    }
    /// The leaf block the item was read from (for error reports).
    pub fn block(&self) -> u64 {
        node::NodeHeader::read(self.buf.as_ref()).map_or(0, |h| h.blocknr)
    }
    /// The item's value bytes.
    pub fn data(&self) -> &[u8] {
        self.buf.as_ref().get(self.off..self.off.saturating_add(self.len)).unwrap_or(&[])
    }
}

fn blk_of(buf: &[u8]) -> Result<&[u8], FsError> {
    if buf.len() != BLOCK_SIZE {
        return Err(FsError::Invalid("store buffer is not one block"));
    }
    Ok(buf)
}

/// Reads and validates a node.
pub fn read_node<S: BlockStore>(s: &mut S, blk: u64, owner: u64, level: u8, gen: u64) -> Result<S::Buf, FsError> {
    let b = s.read(blk)?;
    let exp = Expect { owner: Some(owner), level: Some(level), generation: Some(gen) };
    if s.verified(blk, &b) {
        // Checksum and item layout were checked when the buffer was read; what depends on the
        // parent pointer is checked on every walk.
        node::check_header(blk_of(b.as_ref())?, blk, &exp)?;
    } else {
        node::check_node(blk_of(b.as_ref())?, blk, &exp)?;
        s.set_verified(blk, &b);
    }
    Ok(b)
}

/// Finishes a leaf split: moves items `from..n` of leaf `leaf` (held in `lb`) to a new right leaf,
/// applies `op(left, right)` (the insert or resize that needed the room), and writes both leaves.
/// Returns the new leaf's block and first key.
fn finish_leaf_split<S: BlockStore>(
    s: &mut S,
    owner: u64,
    leaf: u64,
    mut lb: S::BufMut,
    from: usize,
    n: usize,
    op: impl FnOnce(&mut [u8], &mut [u8]) -> Result<(), FsError>,
) -> Result<(u64, Key), FsError> {
    let (rblk, mut rb) = s.alloc_meta()?;
    node::init(rb.as_mut(), rblk, s.generation(), owner, 0)?;
    for j in from..n {
        let (kj, o, sz) = node::leaf_item(lb.as_ref(), j)?;
        let d = lb.as_ref().get(o..o + sz).ok_or(FsError::corrupt(leaf, "leaf item data out of bounds"))?;
        let rn = node::nritems(rb.as_ref());
        node::leaf_insert(rb.as_mut(), rn, &kj, d)?;
    }
    node::leaf_truncate(lb.as_mut(), from)?;
    op(lb.as_mut(), rb.as_mut())?;
    let rkey = node::leaf_key(rb.as_ref(), 0)?;
    node::finalize(lb.as_mut())?;
    node::finalize(rb.as_mut())?;
    s.write(leaf, lb)?;
    s.write(rblk, rb)?;
    Ok((rblk, rkey))
}

/// Creates an empty tree (one empty leaf) and returns its root.
pub fn create<S: BlockStore>(s: &mut S, owner: u64) -> Result<Root, FsError> {
    let gen = s.generation();
    let (blk, mut b) = s.alloc_meta()?;
    node::init(b.as_mut(), blk, gen, owner, 0)?;
    node::finalize(b.as_mut())?;
    s.write(blk, b)?;
    Ok(Root { block: blk, generation: gen, level: 0, owner })
}

/// Exact lookup.
pub fn lookup<S: BlockStore>(s: &mut S, root: &Root, key: &Key) -> Result<Option<Item<S::Buf>>, FsError> {
    let (mut blk, mut gen, mut level) = (root.block, root.generation, root.level);
    loop {
        let b = read_node(s, blk, root.owner, level, gen)?;
        if level == 0 {
            return match node::leaf_find(b.as_ref(), key)? {
                Ok(i) => Ok(Some(Item::new(b, i)?)),
                Err(_) => Ok(None),
            };
        }
        let slot = node::child_slot(b.as_ref(), key)?;
        let (_, c, g) = node::ptr(b.as_ref(), slot)?;
        (blk, gen, level) = (c, g, level - 1);
    }
}

/// First item with key `>= key`.
pub fn search_ge<S: BlockStore>(s: &mut S, root: &Root, key: &Key) -> Result<Option<Item<S::Buf>>, FsError> {
    let (mut blk, mut gen, mut level) = (root.block, root.generation, root.level);
    let mut next_sep: Option<Key> = None;
    loop {
        let b = read_node(s, blk, root.owner, level, gen)?;
        if level == 0 {
            let i = match node::leaf_find(b.as_ref(), key)? {
                Ok(i) | Err(i) => i,
            };
            if i < node::nritems(b.as_ref()) {
                return Ok(Some(Item::new(b, i)?));
            }
            return match next_sep {
                None => Ok(None),
                Some(k) => match lookup(s, root, &k)? {
                    Some(it) => Ok(Some(it)),
                    None => Err(FsError::corrupt(blk, "separator key not found in child")),
                },
            };
        }
        let slot = node::child_slot(b.as_ref(), key)?;
        if slot + 1 < node::nritems(b.as_ref()) {
            next_sep = Some(node::ptr(b.as_ref(), slot + 1)?.0);
        }
        let (_, c, g) = node::ptr(b.as_ref(), slot)?;
        (blk, gen, level) = (c, g, level - 1);
    }
}

/// Last item with key `<= key`.
pub fn search_le<S: BlockStore>(s: &mut S, root: &Root, key: &Key) -> Result<Option<Item<S::Buf>>, FsError> {
    let (mut blk, mut gen, mut level) = (root.block, root.generation, root.level);
    loop {
        let b = read_node(s, blk, root.owner, level, gen)?;
        if level == 0 {
            let i = match node::leaf_find(b.as_ref(), key)? {
                Ok(i) => i,
                Err(0) => return Ok(None),
                Err(i) => i - 1,
            };
            return Ok(Some(Item::new(b, i)?));
        }
        let slot = node::child_slot(b.as_ref(), key)?;
        let (_, c, g) = node::ptr(b.as_ref(), slot)?;
        (blk, gen, level) = (c, g, level - 1);
    }
}

/// First item with key `> key` (iteration: resume after the last key seen).
pub fn next<S: BlockStore>(s: &mut S, root: &Root, key: &Key) -> Result<Option<Item<S::Buf>>, FsError> {
    match key.successor() {
        Some(k) => search_ge(s, root, &k),
        None => Ok(None),
    }
}

/// Last item with key `< key`.
pub fn prev<S: BlockStore>(s: &mut S, root: &Root, key: &Key) -> Result<Option<Item<S::Buf>>, FsError> {
    match key.predecessor() {
        Some(k) => search_le(s, root, &k),
        None => Ok(None),
    }
}

/// Calls `f` for every item with `lo <= key <= hi`, in order, until `f`
/// returns `Ok(false)`.
pub fn for_each_in<S: BlockStore, F>(s: &mut S, root: &Root, lo: &Key, hi: &Key, mut f: F) -> Result<(), FsError>
where
    F: FnMut(&Key, &[u8]) -> Result<bool, FsError>,
{
    let mut cur = search_ge(s, root, lo)?;
    while let Some(it) = cur {
        let k = it.key();
        if k > *hi || !f(&k, it.data())? {
            return Ok(());
        }
        drop(it);
        cur = next(s, root, &k)?;
    }
    Ok(())
}

// ------------------------------------------------------------ modification

#[derive(Clone, Copy, Default)]
struct PathEnt {
    blk: u64,
    slot: usize,
}

/// Blocks and slots from the leaf (index 0) up to the root (index level).
struct Path {
    ents: [PathEnt; MAX_LEVELS],
}

impl Path {
    fn get(&self, lvl: usize) -> Result<PathEnt, FsError> {
        self.ents.get(lvl).copied().ok_or(FsError::Invalid("tree path level out of range"))
    }
    fn set(&mut self, lvl: usize, e: PathEnt) -> Result<(), FsError> {
        *self.ents.get_mut(lvl).ok_or(FsError::Invalid("tree path level out of range"))? = e;
        Ok(())
    }
}

fn modify<S: BlockStore, R>(s: &mut S, blk: u64, f: impl FnOnce(&mut [u8]) -> Result<R, FsError>) -> Result<R, FsError> {
    let mut b = s.read_mut(blk)?;
    if b.as_ref().len() != BLOCK_SIZE {
        return Err(FsError::Invalid("store buffer is not one block"));
    }
    let r = f(b.as_mut())?;
    node::finalize(b.as_mut())?;
    s.write(blk, b)?;
    Ok(r)
}

/// Makes `blk` writable in this transaction; returns its (maybe new) block.
fn cow_block<S: BlockStore>(s: &mut S, blk: u64, owner: u64, level: u8, gen: u64) -> Result<u64, FsError> {
    let cur = s.generation();
    let old = read_node(s, blk, owner, level, gen)?;
    if gen == cur {
        return Ok(blk);
    }
    if gen > cur {
        return Err(FsError::corrupt(blk, "node generation newer than transaction"));
    }
    let (nblk, mut nb) = s.alloc_meta()?;
    {
        let d = nb.as_mut();
        if d.len() != BLOCK_SIZE {
            return Err(FsError::Invalid("store buffer is not one block"));
        }
        d.copy_from_slice(blk_of(old.as_ref())?);
        node::set_location(d, nblk, cur)?;
        node::finalize(d)?;
    }
    drop(old);
    s.write(nblk, nb)?;
    s.free_meta(blk)?;
    Ok(nblk)
}

/// COWs the child at `slot` of writable node `parent` and updates the pointer.
fn cow_child<S: BlockStore>(s: &mut S, owner: u64, parent: u64, slot: usize, child_level: u8) -> Result<u64, FsError> {
    let cur = s.generation();
    let (_, c, g) = {
        let b = s.read(parent)?;
        node::ptr(b.as_ref(), slot)?
    };
    let nc = cow_block(s, c, owner, child_level, g)?;
    if nc != c || g != cur {
        modify(s, parent, |b| node::set_ptr(b, slot, nc, cur))?;
    }
    Ok(nc)
}

fn cow_descend<S: BlockStore>(s: &mut S, root: &mut Root, key: &Key) -> Result<Path, FsError> {
    let cur = s.generation();
    let nr = cow_block(s, root.block, root.owner, root.level, root.generation)?;
    root.block = nr;
    root.generation = cur;
    let mut path = Path { ents: [PathEnt::default(); MAX_LEVELS] };
    let mut blk = nr;
    let mut level = root.level;
    while level > 0 {
        let slot = {
            let b = s.read(blk)?;
            node::child_slot(b.as_ref(), key)?
        };
        path.set(usize::from(level), PathEnt { blk, slot })?;
        blk = cow_child(s, root.owner, blk, slot, level - 1)?;
        level -= 1;
    }
    path.set(0, PathEnt { blk, slot: 0 })?;
    Ok(path)
}

/// Sets the separator keys above level `from - 1` after the first key of the
/// node at `from - 1` changed to `key`.
fn fixup_keys<S: BlockStore>(s: &mut S, path: &Path, from: usize, root_level: usize, key: &Key) -> Result<(), FsError> {
    for lvl in from..=root_level {
        let e = path.get(lvl)?;
        modify(s, e.blk, |b| node::set_ptr_key(b, e.slot, key))?;
        if e.slot != 0 {
            break;
        }
    }
    Ok(())
}

/// Inserts a new item; fails with [`FsError::Exists`] if the key exists.
pub fn insert<S: BlockStore>(s: &mut S, root: &mut Root, key: &Key, data: &[u8]) -> Result<(), FsError> {
    if data.len() > MAX_ITEM_DATA {
        return Err(FsError::TooBig);
    }
    if lookup(s, root, key)?.is_some() {
        return Err(FsError::Exists);
    }
    let path = cow_descend(s, root, key)?;
    let leaf = path.get(0)?.blk;
    let (slot, free) = {
        let b = s.read(leaf)?;
        let slot = match node::leaf_find(b.as_ref(), key)? {
            Ok(_) => return Err(FsError::Exists),
            Err(i) => i,
        };
        (slot, node::leaf_free(b.as_ref())?)
    };
    let rl = usize::from(root.level);
    if slot == 0 && rl > 0 {
        fixup_keys(s, &path, 1, rl, key)?;
    }
    if free >= LEAF_ITEM_SIZE + data.len() {
        return modify(s, leaf, |b| node::leaf_insert(b, slot, key, data));
    }
    let (rblk, rkey) = split_leaf_insert(s, root.owner, leaf, slot, key, data)?;
    insert_ptr_up(s, root, &path, 1, rkey, rblk)
}

fn item_cost(buf: &[u8], i: usize) -> Result<usize, FsError> {
    Ok(LEAF_ITEM_SIZE + node::leaf_item(buf, i)?.2)
}

/// Splits full leaf `leaf` while inserting; returns the new right leaf.
fn split_leaf_insert<S: BlockStore>(s: &mut S, owner: u64, leaf: u64, slot: usize, key: &Key, data: &[u8]) -> Result<(u64, Key), FsError> {
    let lb = s.read_mut(leaf)?;
    let n = node::nritems(lb.as_ref());
    let new_cost = LEAF_ITEM_SIZE + data.len();
    let cost = |b: &[u8], j: usize| -> Result<usize, FsError> {
        if j < slot {
            item_cost(b, j)
        } else if j == slot {
            Ok(new_cost)
        } else {
            item_cost(b, j - 1)
        }
    };
    let mut total = 0usize;
    for j in 0..=n {
        total += cost(lb.as_ref(), j)?;
    }
    // choose k in 1..=n: left gets virtual items [0, k), right [k, n]
    let mut best: Option<(usize, usize)> = None;
    let mut left = 0usize;
    for k in 1..=n {
        left += cost(lb.as_ref(), k - 1)?;
        let right = total - left;
        if left <= LEAF_CAPACITY && right <= LEAF_CAPACITY {
            let imbalance = left.abs_diff(right);
            // appending at the end: keep the old leaf full (sequential inserts)
            let score = if slot == n && k == n { 0 } else { imbalance };
            if best.is_none_or(|(_, b)| score < b) {
                best = Some((k, score));
            }
        }
    }
    let (k, _) = best.ok_or(FsError::TooBig)?;
    let first_moved = if slot < k { k - 1 } else { k };
    finish_leaf_split(s, owner, leaf, lb, first_moved, n, |l, r| {
        if slot < k {
            node::leaf_insert(l, slot, key, data)
        } else {
            node::leaf_insert(r, slot - k, key, data)
        }
    })
}

/// Inserts pointer (`key`, `child`) after the path slot at `level`,
/// splitting upwards as needed.
fn insert_ptr_up<S: BlockStore>(s: &mut S, root: &mut Root, path: &Path, mut level: usize, mut key: Key, mut child: u64) -> Result<(), FsError> {
    let cur = s.generation();
    loop {
        if level > usize::from(root.level) {
            // split the root: grow the tree
            if level >= MAX_LEVELS {
                return Err(FsError::TooBig);
            }
            let old = root.block;
            let first = {
                let b = s.read(old)?;
                node::first_key(b.as_ref())?.ok_or(FsError::corrupt(old, "empty node after split"))?
            };
            let (nblk, mut nb) = s.alloc_meta()?;
            let lvl = u8::try_from(level).map_err(|_| FsError::TooBig)?;
            node::init(nb.as_mut(), nblk, cur, root.owner, lvl)?;
            node::ptr_insert(nb.as_mut(), 0, &first, old, cur)?;
            node::ptr_insert(nb.as_mut(), 1, &key, child, cur)?;
            node::finalize(nb.as_mut())?;
            s.write(nblk, nb)?;
            *root = Root { block: nblk, generation: cur, level: lvl, owner: root.owner };
            return Ok(());
        }
        let e = path.get(level)?;
        let pos = e.slot + 1;
        let n = {
            let b = s.read(e.blk)?;
            node::nritems(b.as_ref())
        };
        if n < MAX_PTRS {
            return modify(s, e.blk, |b| node::ptr_insert(b, pos, &key, child, cur));
        }
        // split internal node e.blk
        let mut lb = s.read_mut(e.blk)?;
        let (rblk, mut rb) = s.alloc_meta()?;
        let lvl = u8::try_from(level).map_err(|_| FsError::TooBig)?;
        node::init(rb.as_mut(), rblk, cur, root.owner, lvl)?;
        let k = n.div_ceil(2);
        let first_moved = if pos < k { k - 1 } else { k };
        for j in first_moved..n {
            let (kj, cj, gj) = node::ptr(lb.as_ref(), j)?;
            let rn = node::nritems(rb.as_ref());
            node::ptr_insert(rb.as_mut(), rn, &kj, cj, gj)?;
        }
        node::ptr_truncate(lb.as_mut(), first_moved)?;
        if pos < k {
            node::ptr_insert(lb.as_mut(), pos, &key, child, cur)?;
        } else {
            node::ptr_insert(rb.as_mut(), pos - k, &key, child, cur)?;
        }
        let rkey = node::ptr(rb.as_ref(), 0)?.0;
        node::finalize(lb.as_mut())?;
        node::finalize(rb.as_mut())?;
        s.write(e.blk, lb)?;
        s.write(rblk, rb)?;
        key = rkey;
        child = rblk;
        level += 1;
    }
}

/// Deletes the item with `key`; fails with [`FsError::NotFound`].
pub fn delete<S: BlockStore>(s: &mut S, root: &mut Root, key: &Key) -> Result<(), FsError> {
    if lookup(s, root, key)?.is_none() {
        return Err(FsError::NotFound);
    }
    let path = cow_descend(s, root, key)?;
    let leaf = path.get(0)?.blk;
    let (slot, first_after) = modify(s, leaf, |b| {
        let slot = match node::leaf_find(b, key)? {
            Ok(i) => i,
            Err(_) => return Err(FsError::NotFound),
        };
        node::leaf_delete(b, slot)?;
        Ok((slot, node::first_key(b)?))
    })?;
    let rl = usize::from(root.level);
    if slot == 0 && rl > 0 {
        if let Some(fk) = first_after {
            fixup_keys(s, &path, 1, rl, &fk)?;
        }
    }
    rebalance(s, root, &path)
}

fn capacity(level: u8) -> usize {
    if level == 0 {
        LEAF_CAPACITY
    } else {
        MAX_PTRS * KEY_PTR_SIZE
    }
}

/// Appends all entries of `src` to `dst` (both writable, same level).
fn merge_into(dst: &mut [u8], src: &[u8]) -> Result<(), FsError> {
    let n = node::nritems(src);
    if node::level(src) == 0 {
        for j in 0..n {
            let (k, o, sz) = node::leaf_item(src, j)?;
            let d = src.get(o..o + sz).ok_or(FsError::Invalid("merge out of bounds"))?;
            let dn = node::nritems(dst);
            node::leaf_insert(dst, dn, &k, d)?;
        }
    } else {
        for j in 0..n {
            let (k, c, g) = node::ptr(src, j)?;
            let dn = node::nritems(dst);
            node::ptr_insert(dst, dn, &k, c, g)?;
        }
    }
    Ok(())
}

fn rebalance<S: BlockStore>(s: &mut S, root: &mut Root, path: &Path) -> Result<(), FsError> {
    let mut lvl = 0usize;
    loop {
        let blk = path.get(lvl)?.blk;
        let (n, used, level) = {
            let b = s.read(blk)?;
            (node::nritems(b.as_ref()), node::used_bytes(b.as_ref())?, node::level(b.as_ref()))
        };
        if lvl >= usize::from(root.level) {
            return shrink_root(s, root);
        }
        let pe = path.get(lvl + 1)?;
        if n == 0 {
            s.free_meta(blk)?;
            let pfirst = modify(s, pe.blk, |b| {
                node::ptr_delete(b, pe.slot)?;
                node::first_key(b)
            })?;
            if pe.slot == 0 && lvl + 2 <= usize::from(root.level) {
                if let Some(fk) = pfirst {
                    fixup_keys(s, path, lvl + 2, usize::from(root.level), &fk)?;
                }
            }
            lvl += 1;
            continue;
        }
        if used * 4 < capacity(level) {
            let pn = {
                let b = s.read(pe.blk)?;
                node::nritems(b.as_ref())
            };
            if pe.slot + 1 < pn {
                let sib = cow_child(s, root.owner, pe.blk, pe.slot + 1, level)?;
                if try_merge(s, blk, sib)? {
                    s.free_meta(sib)?;
                    modify(s, pe.blk, |b| node::ptr_delete(b, pe.slot + 1))?;
                    lvl += 1;
                    continue;
                }
            }
            if pe.slot > 0 {
                let sib = cow_child(s, root.owner, pe.blk, pe.slot - 1, level)?;
                if try_merge(s, sib, blk)? {
                    s.free_meta(blk)?;
                    modify(s, pe.blk, |b| node::ptr_delete(b, pe.slot))?;
                    lvl += 1;
                    continue;
                }
            }
        }
        return Ok(());
    }
}

/// Collapses a root with a single child and turns an empty internal root
/// into an empty leaf.
fn shrink_root<S: BlockStore>(s: &mut S, root: &mut Root) -> Result<(), FsError> {
    let cur = s.generation();
    loop {
        let blk = root.block;
        let (n, level, first) = {
            let b = read_node(s, blk, root.owner, root.level, root.generation)?;
            let n = node::nritems(b.as_ref());
            let first = if root.level > 0 && n == 1 { Some(node::ptr(b.as_ref(), 0)?) } else { None };
            (n, root.level, first)
        };
        if let Some((_, c, g)) = first {
            s.free_meta(blk)?;
            *root = Root { block: c, generation: g, level: level - 1, owner: root.owner };
            continue;
        }
        if level > 0 && n == 0 {
            let owner = root.owner;
            modify(s, blk, |b| node::init(b, blk, cur, owner, 0))?;
            root.level = 0;
        }
        return Ok(());
    }
}

/// Moves everything from `src` into `dst` if it fits.
fn try_merge<S: BlockStore>(s: &mut S, dst: u64, src: u64) -> Result<bool, FsError> {
    let sb = s.read(src)?;
    let (su, lvl) = (node::used_bytes(sb.as_ref())?, node::level(sb.as_ref()));
    let mut db = s.read_mut(dst)?;
    let du = node::used_bytes(db.as_ref())?;
    if su + du > capacity(lvl) {
        return Ok(false);
    }
    merge_into(db.as_mut(), sb.as_ref())?;
    node::finalize(db.as_mut())?;
    drop(sb);
    s.write(dst, db)?;
    Ok(true)
}

/// Replaces the value of an existing item (any new size up to
/// [`MAX_ITEM_DATA`]); fails with [`FsError::NotFound`].
pub fn replace<S: BlockStore>(s: &mut S, root: &mut Root, key: &Key, data: &[u8]) -> Result<(), FsError> {
    let same = match lookup(s, root, key)? {
        None => return Err(FsError::NotFound),
        Some(it) => it.data().len() == data.len(),
    };
    if same {
        update(s, root, key, |d| {
            d.copy_from_slice(data);
            Ok(())
        })
    } else {
        if data.len() > MAX_ITEM_DATA {
            return Err(FsError::TooBig);
        }
        delete(s, root, key)?;
        insert(s, root, key, data)
    }
}

/// Changes an existing item's value in place (same size).
pub fn update<S: BlockStore, R>(s: &mut S, root: &mut Root, key: &Key, f: impl FnOnce(&mut [u8]) -> Result<R, FsError>) -> Result<R, FsError> {
    if lookup(s, root, key)?.is_none() {
        return Err(FsError::NotFound);
    }
    let path = cow_descend(s, root, key)?;
    modify(s, path.get(0)?.blk, |b| {
        let i = match node::leaf_find(b, key)? {
            Ok(i) => i,
            Err(_) => return Err(FsError::NotFound),
        };
        f(node::leaf_data_mut(b, i)?)
    })
}

/// Changes the size of an existing item to `new_len` bytes, keeping the
/// first `min(old, new_len)` bytes; grown bytes are zero.  Splits the leaf
/// if needed.
pub fn resize<S: BlockStore>(s: &mut S, root: &mut Root, key: &Key, new_len: usize) -> Result<(), FsError> {
    if new_len > MAX_ITEM_DATA {
        return Err(FsError::TooBig);
    }
    let old_len = match lookup(s, root, key)? {
        None => return Err(FsError::NotFound),
        Some(it) => it.data().len(),
    };
    if old_len == new_len {
        return Ok(());
    }
    let path = cow_descend(s, root, key)?;
    let leaf = path.get(0)?.blk;
    let (slot, free) = {
        let b = s.read(leaf)?;
        match node::leaf_find(b.as_ref(), key)? {
            Ok(i) => (i, node::leaf_free(b.as_ref())?),
            Err(_) => return Err(FsError::NotFound),
        }
    };
    if new_len <= old_len || free >= new_len - old_len {
        return modify(s, leaf, |b| node::leaf_resize(b, slot, new_len));
    }
    let (rblk, rkey) = split_leaf_resize(s, root.owner, leaf, slot, new_len)?;
    insert_ptr_up(s, root, &path, 1, rkey, rblk)
}

fn split_leaf_resize<S: BlockStore>(s: &mut S, owner: u64, leaf: u64, slot: usize, new_len: usize) -> Result<(u64, Key), FsError> {
    let lb = s.read_mut(leaf)?;
    let n = node::nritems(lb.as_ref());
    let cost = |b: &[u8], j: usize| -> Result<usize, FsError> {
        if j == slot {
            Ok(LEAF_ITEM_SIZE + new_len)
        } else {
            item_cost(b, j)
        }
    };
    let mut total = 0usize;
    for j in 0..n {
        total += cost(lb.as_ref(), j)?;
    }
    let mut best: Option<(usize, usize)> = None;
    let mut left = 0usize;
    for k in 1..n {
        left += cost(lb.as_ref(), k - 1)?;
        let right = total - left;
        if left <= LEAF_CAPACITY && right <= LEAF_CAPACITY && best.is_none_or(|(_, b)| left.abs_diff(right) < b) {
            best = Some((k, left.abs_diff(right)));
        }
    }
    let (k, _) = best.ok_or(FsError::TooBig)?;
    finish_leaf_split(s, owner, leaf, lb, k, n, |l, r| {
        if slot < k {
            node::leaf_resize(l, slot, new_len)
        } else {
            node::leaf_resize(r, slot - k, new_len)
        }
    })
}

/// Inserts a new item of `len` zero bytes, then lets `f` fill it in.
pub fn insert_with<S: BlockStore, R>(s: &mut S, root: &mut Root, key: &Key, len: usize, f: impl FnOnce(&mut [u8]) -> Result<R, FsError>) -> Result<R, FsError> {
    if len > MAX_ITEM_DATA {
        return Err(FsError::TooBig);
    }
    insert(s, root, key, &[])?;
    resize(s, root, key, len)?;
    update(s, root, key, f)
}

/// Inserts or replaces.
pub fn upsert<S: BlockStore>(s: &mut S, root: &mut Root, key: &Key, data: &[u8]) -> Result<(), FsError> {
    match replace(s, root, key, data) {
        Err(FsError::NotFound) => insert(s, root, key, data),
        r => r,
    }
}

/// Frees every node of a tree (used when deleting a whole tree).
/// Recursion depth is bounded by [`MAX_LEVELS`].
pub fn free_tree<S: BlockStore>(s: &mut S, root: &Root) -> Result<(), FsError> {
    fn walk<S: BlockStore>(s: &mut S, owner: u64, blk: u64, level: u8, gen: u64) -> Result<(), FsError> {
        if level > 0 {
            let n = {
                let b = read_node(s, blk, owner, level, gen)?;
                node::nritems(b.as_ref())
            };
            for i in 0..n {
                let (_, c, g) = {
                    let b = s.read(blk)?;
                    node::ptr(b.as_ref(), i)?
                };
                walk(s, owner, c, level - 1, g)?;
            }
        }
        s.free_meta(blk)
    }
    walk(s, root.owner, root.block, root.level, root.generation)
}

/// Per-node space accounting constants, exposed for tests and fsck.
pub const NODE_OVERHEAD: usize = NODE_HEADER_SIZE;
