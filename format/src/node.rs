//! B+tree node layout: header, leaf items, internal key pointers.
//!
//! ```text
//! header (40 bytes) | item headers / key pointers ->  free  <- item data
//! ```
//! Leaf item `i` has a 21-byte header at `40 + 21*i` (key, data offset u16,
//! data size u16; offsets are from the start of the block).  Item data is
//! packed from the end of the block in item order: item 0's data ends at
//! 4096 and item `i`'s data ends where item `i-1`'s begins.
//! Internal nodes hold 33-byte key pointers at `40 + 33*i`: key, child
//! block, child generation.  The key of pointer `i` equals the first key
//! stored in child `i`'s subtree.

use super::bytes::{get_u16, get_u32, get_u64, get_u8, put_u16, put_u32, put_u64, put_u8};
use super::crc32c::crc32c;
use super::error::FsError;
use super::key::{Key, KEY_SIZE};
use super::layout::{BLOCK_SIZE, MAX_LEVELS};

/// Size of the node header.
pub const NODE_HEADER_SIZE: usize = 40;
/// Size of one leaf item header.
pub const LEAF_ITEM_SIZE: usize = KEY_SIZE + 4;
/// Size of one internal-node key pointer.
pub const KEY_PTR_SIZE: usize = KEY_SIZE + 16;
/// Bytes available for items in a leaf.
pub const LEAF_CAPACITY: usize = BLOCK_SIZE - NODE_HEADER_SIZE;
/// Maximum number of key pointers in an internal node.
pub const MAX_PTRS: usize = (BLOCK_SIZE - NODE_HEADER_SIZE) / KEY_PTR_SIZE;

const O_CSUM: usize = 0;
const O_NRITEMS: usize = 4;
const O_LEVEL: usize = 6;
const O_FLAGS: usize = 7;
const O_BLOCKNR: usize = 8;
const O_GEN: usize = 16;
const O_OWNER: usize = 24;

/// Decoded node header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeHeader {
    /// Stored CRC-32C of bytes `4..4096`.
    pub csum: u32,
    /// Number of items (leaf) or key pointers (internal).
    pub nritems: u16,
    /// 0 for leaves.
    pub level: u8,
    /// The block this node must be read from.
    pub blocknr: u64,
    /// Transaction generation that wrote it.
    pub generation: u64,
    /// Owner tree id.
    pub owner: u64,
}

/// What the reader expects of a node (from its parent or the superblock).
#[derive(Clone, Copy, Debug, Default)]
pub struct Expect {
    /// Expected owner tree.
    pub owner: Option<u64>,
    /// Expected level.
    pub level: Option<u8>,
    /// Expected generation.
    pub generation: Option<u64>,
}

fn hdr_blk(buf: &[u8]) -> u64 {
    get_u64(buf, O_BLOCKNR).unwrap_or(0)
}

impl NodeHeader {
    /// Decodes the header without validating anything.
    pub fn read(buf: &[u8]) -> Option<NodeHeader> {
        Some(NodeHeader {
            csum: get_u32(buf, O_CSUM)?,
            nritems: get_u16(buf, O_NRITEMS)?,
            level: get_u8(buf, O_LEVEL)?,
            blocknr: get_u64(buf, O_BLOCKNR)?,
            generation: get_u64(buf, O_GEN)?,
            owner: get_u64(buf, O_OWNER)?,
        })
    }
}

/// CRC-32C a node (or superblock) must carry: over bytes `4..4096`.
pub fn block_csum(buf: &[u8]) -> u32 {
    crc32c(buf.get(4..).unwrap_or(&[]))
}

/// Fully validates a node read from block `blk`: length, checksum, self
/// block number, expectations, level, item count, item bounds and strict
/// key order.  Everything the other accessors rely on.
pub fn check_node(buf: &[u8], blk: u64, exp: &Expect) -> Result<NodeHeader, FsError> {
    let c = |w| FsError::corrupt(blk, w);
    if buf.len() != BLOCK_SIZE {
        return Err(FsError::Invalid("node buffer is not one block"));
    }
    let h = NodeHeader::read(buf).ok_or(c("short node"))?;
    if block_csum(buf) != h.csum {
        return Err(c("node checksum mismatch"));
    }
    check_header_fields(buf, &h, blk, exp)?;
    check_items(buf, &h, blk)?;
    Ok(h)
}

/// The checks of [`check_node`] that depend on where the node was reached
/// from (block number, owner, level, generation) and the reserved fields,
/// without the checksum and the item layout walk: for a node whose buffer
/// passed [`check_node`] already and was not changed since, except by code
/// that finalizes what it writes.
pub fn check_header(buf: &[u8], blk: u64, exp: &Expect) -> Result<NodeHeader, FsError> {
    if buf.len() != BLOCK_SIZE {
        return Err(FsError::Invalid("node buffer is not one block"));
    }
    let h = NodeHeader::read(buf).ok_or(FsError::corrupt(blk, "short node"))?;
    check_header_fields(buf, &h, blk, exp)?;
    Ok(h)
}

fn check_header_fields(buf: &[u8], h: &NodeHeader, blk: u64, exp: &Expect) -> Result<(), FsError> {
    let c = |w| FsError::corrupt(blk, w);
    if h.blocknr != blk {
        return Err(c("node records a different block number"));
    }
    if get_u8(buf, O_FLAGS) != Some(0) || get_u64(buf, 32) != Some(0) {
        return Err(c("node reserved header fields not zero"));
    }
    if exp.owner.is_some_and(|o| o != h.owner) {
        return Err(c("node has wrong owner tree"));
    }
    if usize::from(h.level) >= MAX_LEVELS || exp.level.is_some_and(|l| l != h.level) {
        return Err(c("node has wrong level"));
    }
    if exp.generation.is_some_and(|g| g != h.generation) {
        return Err(c("node generation differs from parent pointer"));
    }
    Ok(())
}

fn check_items(buf: &[u8], h: &NodeHeader, blk: u64) -> Result<(), FsError> {
    let c = |w| FsError::corrupt(blk, w);
    let n = usize::from(h.nritems);
    let mut prev: Option<Key> = None;
    if h.level == 0 {
        if n.checked_mul(LEAF_ITEM_SIZE).is_none_or(|s| s > LEAF_CAPACITY) {
            return Err(c("leaf item count too large"));
        }
        let hdr_end = NODE_HEADER_SIZE + n * LEAF_ITEM_SIZE;
        let mut end = BLOCK_SIZE;
        for i in 0..n {
            let base = NODE_HEADER_SIZE + i * LEAF_ITEM_SIZE;
            let k = Key::read(buf, base).ok_or(c("short leaf"))?;
            let o = usize::from(get_u16(buf, base + KEY_SIZE).ok_or(c("short leaf"))?);
            let s = usize::from(get_u16(buf, base + KEY_SIZE + 2).ok_or(c("short leaf"))?);
            if o.checked_add(s) != Some(end) || o < hdr_end {
                return Err(c("leaf item data out of bounds"));
            }
            end = o;
            if prev.is_some_and(|p| p >= k) {
                return Err(c("leaf keys out of order"));
            }
            prev = Some(k);
        }
    } else {
        if n == 0 || n > MAX_PTRS {
            return Err(c("internal node item count out of range"));
        }
        for i in 0..n {
            let base = NODE_HEADER_SIZE + i * KEY_PTR_SIZE;
            let k = Key::read(buf, base).ok_or(c("short node"))?;
            let child = get_u64(buf, base + KEY_SIZE).ok_or(c("short node"))?;
            let cgen = get_u64(buf, base + KEY_SIZE + 8).ok_or(c("short node"))?;
            if child == 0 || child == blk {
                return Err(c("bad child block pointer"));
            }
            if cgen > h.generation {
                return Err(c("child generation newer than parent"));
            }
            if prev.is_some_and(|p| p >= k) {
                return Err(c("internal keys out of order"));
            }
            prev = Some(k);
        }
    }
    Ok(())
}

/// Number of items / pointers.
pub fn nritems(buf: &[u8]) -> usize {
    usize::from(get_u16(buf, O_NRITEMS).unwrap_or(0))
}

/// Level of the node.
pub fn level(buf: &[u8]) -> u8 {
    get_u8(buf, O_LEVEL).unwrap_or(0)
}

/// Generation in the header.
pub fn generation(buf: &[u8]) -> u64 {
    get_u64(buf, O_GEN).unwrap_or(0)
}

/// Key, data offset and data size of leaf item `i`.
pub fn leaf_item(buf: &[u8], i: usize) -> Result<(Key, usize, usize), FsError> {
    let c = FsError::corrupt(hdr_blk(buf), "leaf item index out of range");
    if i >= nritems(buf) {
        return Err(c);
    }
    let base = NODE_HEADER_SIZE + i * LEAF_ITEM_SIZE;
    let k = Key::read(buf, base).ok_or(c)?;
    let o = usize::from(get_u16(buf, base + KEY_SIZE).ok_or(c)?);
    let s = usize::from(get_u16(buf, base + KEY_SIZE + 2).ok_or(c)?);
    if o.checked_add(s).is_none_or(|e| e > buf.len()) {
        return Err(c);
    }
    Ok((k, o, s))
}

/// Key of leaf item `i`.
pub fn leaf_key(buf: &[u8], i: usize) -> Result<Key, FsError> {
    Ok(leaf_item(buf, i)?.0)
}

/// Data of leaf item `i`.
pub fn leaf_data(buf: &[u8], i: usize) -> Result<&[u8], FsError> {
    let (_, o, s) = leaf_item(buf, i)?;
    buf.get(o..o + s).ok_or(FsError::corrupt(hdr_blk(buf), "leaf item data out of bounds"))
}

/// Mutable data of leaf item `i`.
pub fn leaf_data_mut(buf: &mut [u8], i: usize) -> Result<&mut [u8], FsError> {
    let (_, o, s) = leaf_item(buf, i)?;
    let b = hdr_blk(buf);
    buf.get_mut(o..o + s).ok_or(FsError::corrupt(b, "leaf item data out of bounds"))
}

/// Key, child block and child generation of pointer `i`.
pub fn ptr(buf: &[u8], i: usize) -> Result<(Key, u64, u64), FsError> {
    let c = FsError::corrupt(hdr_blk(buf), "key pointer index out of range");
    if i >= nritems(buf) {
        return Err(c);
    }
    let base = NODE_HEADER_SIZE + i * KEY_PTR_SIZE;
    Ok((
        Key::read(buf, base).ok_or(c)?,
        get_u64(buf, base + KEY_SIZE).ok_or(c)?,
        get_u64(buf, base + KEY_SIZE + 8).ok_or(c)?,
    ))
}

/// First key of a node (leaf or internal), if it has one.
pub fn first_key(buf: &[u8]) -> Result<Option<Key>, FsError> {
    if nritems(buf) == 0 {
        return Ok(None);
    }
    Ok(Some(if level(buf) == 0 { leaf_key(buf, 0)? } else { ptr(buf, 0)?.0 }))
}

/// Binary search in a leaf: `Ok(i)` exact match, `Err(i)` insert position.
pub fn leaf_find(buf: &[u8], key: &Key) -> Result<Result<usize, usize>, FsError> {
    let (mut lo, mut hi) = (0usize, nritems(buf));
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let k = leaf_key(buf, mid)?;
        match k.cmp(key) {
            core::cmp::Ordering::Less => lo = mid + 1,
            core::cmp::Ordering::Greater => hi = mid,
            core::cmp::Ordering::Equal => return Ok(Ok(mid)),
        }
    }
    Ok(Err(lo))
}

/// Slot of the child to descend into for `key`: the last pointer whose
/// key is `<= key`, or 0 if `key` is smaller than all of them.
pub fn child_slot(buf: &[u8], key: &Key) -> Result<usize, FsError> {
    let (mut lo, mut hi) = (0usize, nritems(buf));
    // invariant: answer in [lo, hi); find first key > key, answer is that - 1
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if ptr(buf, mid)?.0 <= *key {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    Ok(lo.saturating_sub(1))
}

/// Bytes used in a node (item headers plus data, or key pointers).
pub fn used_bytes(buf: &[u8]) -> Result<usize, FsError> {
    let n = nritems(buf);
    if level(buf) > 0 {
        return Ok(n * KEY_PTR_SIZE);
    }
    let data_start = if n == 0 { BLOCK_SIZE } else { leaf_item(buf, n - 1)?.1 };
    Ok(n * LEAF_ITEM_SIZE + (BLOCK_SIZE - data_start.min(BLOCK_SIZE)))
}

/// Free bytes in a leaf.
pub fn leaf_free(buf: &[u8]) -> Result<usize, FsError> {
    LEAF_CAPACITY
        .checked_sub(used_bytes(buf)?)
        .ok_or(FsError::corrupt(hdr_blk(buf), "leaf overfull"))
}

// ---------------------------------------------------------------- writers

fn inv(_: ()) -> FsError {
    FsError::Invalid("node write out of bounds")
}

fn ok(o: Option<()>) -> Result<(), FsError> {
    o.ok_or(inv(()))
}

/// Initializes an empty node.
pub fn init(buf: &mut [u8], blocknr: u64, gen: u64, owner: u64, level: u8) -> Result<(), FsError> {
    if buf.len() != BLOCK_SIZE {
        return Err(FsError::Invalid("node buffer is not one block"));
    }
    buf.fill(0);
    ok(put_u8(buf, O_LEVEL, level))?;
    ok(put_u64(buf, O_OWNER, owner))?;
    set_location(buf, blocknr, gen)
}

/// Sets the self block number and generation (used when COW-copying).
pub fn set_location(buf: &mut [u8], blocknr: u64, gen: u64) -> Result<(), FsError> {
    ok(put_u64(buf, O_BLOCKNR, blocknr))?;
    ok(put_u64(buf, O_GEN, gen))
}

/// Computes and stores the checksum; call after every change.
pub fn finalize(buf: &mut [u8]) -> Result<(), FsError> {
    let c = block_csum(buf);
    ok(put_u32(buf, O_CSUM, c))
}

fn set_nritems(buf: &mut [u8], n: usize) -> Result<(), FsError> {
    ok(put_u16(buf, O_NRITEMS, u16::try_from(n).map_err(|_| inv(()))?))
}

fn set_item_hdr(buf: &mut [u8], i: usize, k: &Key, o: usize, s: usize) -> Result<(), FsError> {
    let base = NODE_HEADER_SIZE + i * LEAF_ITEM_SIZE;
    ok(k.write(buf, base))?;
    ok(put_u16(buf, base + KEY_SIZE, u16::try_from(o).map_err(|_| inv(()))?))?;
    ok(put_u16(buf, base + KEY_SIZE + 2, u16::try_from(s).map_err(|_| inv(()))?))
}

fn sub(a: usize, b: usize) -> Result<usize, FsError> {
    a.checked_sub(b).ok_or(FsError::Invalid("node layout inconsistent"))
}

fn data_start(buf: &[u8]) -> Result<usize, FsError> {
    let n = nritems(buf);
    Ok(if n == 0 { BLOCK_SIZE } else { leaf_item(buf, n - 1)?.1 })
}

fn shift(buf: &mut [u8], from: usize, to: usize, len: usize) -> Result<(), FsError> {
    if from.checked_add(len).is_none_or(|e| e > buf.len())
        || to.checked_add(len).is_none_or(|e| e > buf.len())
    {
        return Err(inv(()));
    }
    buf.copy_within(from..from + len, to);
    Ok(())
}

/// Inserts an item at `slot` (caller keeps keys ordered and checks space).
pub fn leaf_insert(buf: &mut [u8], slot: usize, key: &Key, data: &[u8]) -> Result<(), FsError> {
    let n = nritems(buf);
    if slot > n || leaf_free(buf)? < LEAF_ITEM_SIZE + data.len() {
        return Err(FsError::Invalid("leaf insert does not fit"));
    }
    let sz = data.len();
    let ds = data_start(buf)?;
    let limit = if slot == 0 { BLOCK_SIZE } else { leaf_item(buf, slot - 1)?.1 };
    // move data of items slot..n down by sz
    shift(buf, ds, sub(ds, sz)?, sub(limit, ds)?)?;
    for j in slot..n {
        let (k, o, s) = leaf_item(buf, j)?;
        set_item_hdr(buf, j, &k, sub(o, sz)?, s)?;
    }
    // move item headers slot..n right by one
    let hb = NODE_HEADER_SIZE + slot * LEAF_ITEM_SIZE;
    shift(buf, hb, hb + LEAF_ITEM_SIZE, (n - slot) * LEAF_ITEM_SIZE)?;
    set_nritems(buf, n + 1)?;
    let start = sub(limit, sz)?;
    set_item_hdr(buf, slot, key, start, sz)?;
    buf.get_mut(start..limit).ok_or(inv(()))?.copy_from_slice(data);
    Ok(())
}

/// Deletes the item at `slot`.
pub fn leaf_delete(buf: &mut [u8], slot: usize) -> Result<(), FsError> {
    let n = nritems(buf);
    let (_, o, sz) = leaf_item(buf, slot)?;
    let ds = data_start(buf)?;
    shift(buf, ds, ds + sz, sub(o, ds)?)?;
    for j in slot + 1..n {
        let (k, oj, s) = leaf_item(buf, j)?;
        set_item_hdr(buf, j, &k, oj + sz, s)?;
    }
    let hb = NODE_HEADER_SIZE + slot * LEAF_ITEM_SIZE;
    shift(buf, hb + LEAF_ITEM_SIZE, hb, (n - slot - 1) * LEAF_ITEM_SIZE)?;
    set_nritems(buf, n - 1)
}

/// Resizes item `slot` to `new` bytes keeping its first `min(old, new)`
/// bytes; grown bytes are zeroed.  The caller checks free space.
pub fn leaf_resize(buf: &mut [u8], slot: usize, new: usize) -> Result<(), FsError> {
    let n = nritems(buf);
    let (k, o, old) = leaf_item(buf, slot)?;
    let ds = data_start(buf)?;
    if new > old {
        let d = new - old;
        if leaf_free(buf)? < d {
            return Err(FsError::Invalid("leaf resize does not fit"));
        }
        shift(buf, ds, sub(ds, d)?, sub(o + old, ds)?)?;
        for j in slot + 1..n {
            let (kj, oj, sj) = leaf_item(buf, j)?;
            set_item_hdr(buf, j, &kj, sub(oj, d)?, sj)?;
        }
        let no = sub(o, d)?;
        set_item_hdr(buf, slot, &k, no, new)?;
        buf.get_mut(no + old..no + new).ok_or(inv(()))?.fill(0);
    } else {
        let d = old - new;
        shift(buf, ds, ds + d, sub(o + new, ds)?)?;
        for j in slot + 1..n {
            let (kj, oj, sj) = leaf_item(buf, j)?;
            set_item_hdr(buf, j, &kj, oj + d, sj)?;
        }
        set_item_hdr(buf, slot, &k, o + d, new)?;
    }
    Ok(())
}

/// Drops items `n..` (their data is at the bottom, so this just forgets them).
pub fn leaf_truncate(buf: &mut [u8], n: usize) -> Result<(), FsError> {
    if n > nritems(buf) {
        return Err(inv(()));
    }
    set_nritems(buf, n)
}

fn set_ptr_all(buf: &mut [u8], i: usize, k: &Key, child: u64, gen: u64) -> Result<(), FsError> {
    let base = NODE_HEADER_SIZE + i * KEY_PTR_SIZE;
    ok(k.write(buf, base))?;
    ok(put_u64(buf, base + KEY_SIZE, child))?;
    ok(put_u64(buf, base + KEY_SIZE + 8, gen))
}

/// Inserts a key pointer at `slot`.
pub fn ptr_insert(buf: &mut [u8], slot: usize, key: &Key, child: u64, gen: u64) -> Result<(), FsError> {
    let n = nritems(buf);
    if slot > n || n >= MAX_PTRS {
        return Err(FsError::Invalid("internal insert does not fit"));
    }
    let b = NODE_HEADER_SIZE + slot * KEY_PTR_SIZE;
    shift(buf, b, b + KEY_PTR_SIZE, (n - slot) * KEY_PTR_SIZE)?;
    set_nritems(buf, n + 1)?;
    set_ptr_all(buf, slot, key, child, gen)
}

/// Deletes the key pointer at `slot`.
pub fn ptr_delete(buf: &mut [u8], slot: usize) -> Result<(), FsError> {
    let n = nritems(buf);
    if slot >= n {
        return Err(inv(()));
    }
    let b = NODE_HEADER_SIZE + slot * KEY_PTR_SIZE;
    shift(buf, b + KEY_PTR_SIZE, b, (n - slot - 1) * KEY_PTR_SIZE)?;
    set_nritems(buf, n - 1)
}

/// Drops pointers `n..`.
pub fn ptr_truncate(buf: &mut [u8], n: usize) -> Result<(), FsError> {
    if n > nritems(buf) {
        return Err(inv(()));
    }
    set_nritems(buf, n)
}

/// Changes the child block and generation of pointer `slot`.
pub fn set_ptr(buf: &mut [u8], slot: usize, child: u64, gen: u64) -> Result<(), FsError> {
    let (k, _, _) = ptr(buf, slot)?;
    set_ptr_all(buf, slot, &k, child, gen)
}

/// Changes the key of pointer `slot`.
pub fn set_ptr_key(buf: &mut [u8], slot: usize, key: &Key) -> Result<(), FsError> {
    let (_, c, g) = ptr(buf, slot)?;
    set_ptr_all(buf, slot, key, c, g)
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::vec;

    #[test]
    fn leaf_ops() {
        let mut b = vec![0u8; BLOCK_SIZE];
        init(&mut b, 300, 7, 1, 0).unwrap();
        leaf_insert(&mut b, 0, &Key::new(5, 1, 0), b"five").unwrap();
        leaf_insert(&mut b, 0, &Key::new(1, 1, 0), b"one").unwrap();
        leaf_insert(&mut b, 1, &Key::new(3, 1, 0), b"three!").unwrap();
        leaf_insert(&mut b, 3, &Key::new(9, 1, 0), b"").unwrap();
        finalize(&mut b).unwrap();
        let exp = Expect { owner: Some(1), level: Some(0), generation: Some(7) };
        check_node(&b, 300, &exp).unwrap();
        assert_eq!(leaf_data(&b, 0).unwrap(), b"one");
        assert_eq!(leaf_data(&b, 1).unwrap(), b"three!");
        assert_eq!(leaf_data(&b, 2).unwrap(), b"five");
        assert_eq!(leaf_data(&b, 3).unwrap(), b"");
        assert_eq!(leaf_find(&b, &Key::new(3, 1, 0)).unwrap(), Ok(1));
        assert_eq!(leaf_find(&b, &Key::new(4, 1, 0)).unwrap(), Err(2));
        leaf_resize(&mut b, 1, 10).unwrap();
        assert_eq!(leaf_data(&b, 1).unwrap(), b"three!\0\0\0\0");
        assert_eq!(leaf_data(&b, 2).unwrap(), b"five");
        leaf_resize(&mut b, 1, 3).unwrap();
        assert_eq!(leaf_data(&b, 1).unwrap(), b"thr");
        assert_eq!(leaf_data(&b, 0).unwrap(), b"one");
        assert_eq!(leaf_data(&b, 2).unwrap(), b"five");
        finalize(&mut b).unwrap();
        check_node(&b, 300, &exp).unwrap();
        leaf_delete(&mut b, 1).unwrap();
        finalize(&mut b).unwrap();
        check_node(&b, 300, &exp).unwrap();
        assert_eq!(leaf_data(&b, 1).unwrap(), b"five");
        assert_eq!(used_bytes(&b).unwrap(), 3 * LEAF_ITEM_SIZE + 7);
        assert!(leaf_item(&b, 3).is_err());
        // corruption detection
        let mut c = b.clone();
        c[100] ^= 0x40;
        assert!(matches!(check_node(&c, 300, &exp), Err(FsError::Corrupt { what: "node checksum mismatch", .. })));
        assert!(matches!(check_node(&b, 301, &exp), Err(FsError::Corrupt { what: "node records a different block number", .. })));
        let e2 = Expect { owner: Some(2), ..exp };
        assert!(check_node(&b, 300, &e2).is_err());
        // key order
        let mut d = b.clone();
        Key::new(100, 1, 0).write(&mut d, NODE_HEADER_SIZE).unwrap();
        finalize(&mut d).unwrap();
        assert!(matches!(check_node(&d, 300, &exp), Err(FsError::Corrupt { what: "leaf keys out of order", .. })));
    }

    #[test]
    fn internal_ops() {
        let mut b = vec![0u8; BLOCK_SIZE];
        init(&mut b, 400, 3, 2, 1).unwrap();
        for i in 0..MAX_PTRS {
            ptr_insert(&mut b, i, &Key::new(i as u64 * 10, 0, 0), 1000 + i as u64, 2).unwrap();
        }
        assert!(ptr_insert(&mut b, 0, &Key::MIN, 5, 1).is_err());
        finalize(&mut b).unwrap();
        check_node(&b, 400, &Expect::default()).unwrap();
        assert_eq!(child_slot(&b, &Key::new(0, 0, 0)).unwrap(), 0);
        assert_eq!(child_slot(&b, &Key::new(15, 0, 0)).unwrap(), 1);
        assert_eq!(child_slot(&b, &Key::new(20, 0, 0)).unwrap(), 2);
        assert_eq!(child_slot(&b, &Key::MAX).unwrap(), MAX_PTRS - 1);
        ptr_delete(&mut b, 0).unwrap();
        assert_eq!(ptr(&b, 0).unwrap(), (Key::new(10, 0, 0), 1001, 2));
        set_ptr(&mut b, 0, 77, 3).unwrap();
        assert_eq!(ptr(&b, 0).unwrap().1, 77);
    }
}
