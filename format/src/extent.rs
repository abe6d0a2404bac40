//! The extent (allocation) tree: one `EXTENT_ITEM` per allocated range.
//!
//! Blocks `FIRST_ALLOC_BLOCK..total_blocks` not covered by an item are free.
//! Tree node blocks (of both trees, including the extent tree's own nodes)
//! have one-block items with `EXTENT_FLAG_META` and `refs == 1`.  They are
//! not inserted when allocated: the store queues [`MetaChange`]s and
//! [`flush_meta_refs`] applies them at commit, repeating until the queue is
//! empty (changing the extent tree allocates and frees its own nodes, which
//! queues more changes; it converges because a node already copied in this
//! transaction is changed in place).

use super::error::FsError;
use super::items::{ExtentItem, EXTENT_FLAG_DATA, EXTENT_FLAG_META, EXTENT_ITEM_SIZE};
use super::key::{Key, EXTENT_ITEM};
use super::layout::FIRST_ALLOC_BLOCK;
use super::tree::{self, BlockStore, MetaChange, Root};

/// Key of the extent item for `start..start+blocks`.
pub fn extent_key(start: u64, blocks: u64) -> Key {
    Key::new(start, EXTENT_ITEM, blocks)
}

/// Applies every queued metadata allocation change to the extent tree.
/// Returns `(blocks newly recorded, blocks released)`.
pub fn flush_meta_refs<S: BlockStore>(s: &mut S, ext: &mut Root) -> Result<(u64, u64), FsError> {
    let (mut added, mut freed) = (0u64, 0u64);
    let gen = s.generation();
    while let Some(ch) = s.pop_meta_change() {
        match ch {
            MetaChange::Alloc(b) => {
                let it = ExtentItem { refs: 1, generation: gen, flags: EXTENT_FLAG_META };
                tree::insert(s, ext, &extent_key(b, 1), &it.to_bytes())?;
                added += 1;
            }
            MetaChange::Free(b) => {
                match tree::delete(s, ext, &extent_key(b, 1)) {
                    Err(FsError::NotFound) => return Err(FsError::corrupt(b, "freed tree block has no extent item")),
                    r => r?,
                }
                freed += 1;
            }
        }
    }
    Ok((added, freed))
}

/// Records a new data extent with one reference.
pub fn add_data_extent<S: BlockStore>(s: &mut S, ext: &mut Root, start: u64, blocks: u64) -> Result<(), FsError> {
    if start < FIRST_ALLOC_BLOCK || blocks == 0 {
        return Err(FsError::Invalid("data extent in reserved area or empty"));
    }
    let it = ExtentItem { refs: 1, generation: s.generation(), flags: EXTENT_FLAG_DATA };
    tree::insert(s, ext, &extent_key(start, blocks), &it.to_bytes())
}

/// Adds a reference to an existing data extent (reflink).
pub fn inc_ref<S: BlockStore>(s: &mut S, ext: &mut Root, start: u64, blocks: u64) -> Result<(), FsError> {
    tree::update(s, ext, &extent_key(start, blocks), |d| {
        let mut it = ExtentItem::parse(d, start)?;
        it.refs = it.refs.checked_add(1).ok_or(FsError::TooBig)?;
        d.copy_from_slice(&it.to_bytes());
        Ok(())
    })
}

/// The reference count of a data extent (`None`: no such extent).
pub fn refs<S: BlockStore>(s: &mut S, ext: &Root, start: u64, blocks: u64) -> Result<Option<u64>, FsError> {
    match tree::lookup(s, ext, &extent_key(start, blocks))? {
        Some(it) => Ok(Some(ExtentItem::parse(it.data(), it.block())?.refs)),
        None => Ok(None),
    }
}

/// Drops a reference; deletes the item when the count reaches zero and
/// then returns `true`: the caller must keep the range pinned (not reused)
/// until the transaction commits.
pub fn dec_ref<S: BlockStore>(s: &mut S, ext: &mut Root, start: u64, blocks: u64) -> Result<bool, FsError> {
    let k = extent_key(start, blocks);
    let refs = tree::update(s, ext, &k, |d| {
        let mut it = ExtentItem::parse(d, start)?;
        let before = it.refs;
        if before > 1 {
            it.refs -= 1;
            d.copy_from_slice(&it.to_bytes());
        }
        Ok(before)
    })?;
    if refs == 1 {
        tree::delete(s, ext, &k)?;
        return Ok(true);
    }
    Ok(false)
}

/// Calls `f(start, blocks, item)` for every extent item in order.
pub fn for_each_extent<S: BlockStore, F>(s: &mut S, ext: &Root, mut f: F) -> Result<(), FsError>
where
    F: FnMut(u64, u64, &ExtentItem) -> Result<(), FsError>,
{
    tree::for_each_in(s, ext, &Key::MIN, &Key::MAX, |k, d| {
        if k.ty != EXTENT_ITEM || d.len() != EXTENT_ITEM_SIZE {
            return Err(FsError::corrupt(k.objectid, "unexpected item in extent tree"));
        }
        f(k.objectid, k.offset, &ExtentItem::parse(d, k.objectid)?)?;
        Ok(true)
    })
}

/// First free range (per the extent tree alone) at or after block `from`
/// that is at least `min_len` blocks long; returns `(start, len)` with the
/// full length of the free gap (capped at `total_blocks`).  Callers also
/// skip blocks they allocated or pinned in the running transaction.
pub fn find_free<S: BlockStore>(s: &mut S, ext: &Root, from: u64, min_len: u64, total_blocks: u64) -> Result<Option<(u64, u64)>, FsError> {
    let mut cur = from.max(FIRST_ALLOC_BLOCK);
    if let Some(it) = tree::search_le(s, ext, &Key::new(cur, EXTENT_ITEM, u64::MAX))? {
        let k = it.key();
        let end = k.objectid.checked_add(k.offset).ok_or(FsError::corrupt(it.block(), "extent item overflows"))?;
        cur = cur.max(end);
    }
    loop {
        if cur >= total_blocks {
            return Ok(None);
        }
        let next = tree::search_ge(s, ext, &Key::new(cur, 0, 0))?.map(|it| (it.key(), it.block()));
        let gap_end = next.map_or(total_blocks, |(k, _)| k.objectid.min(total_blocks));
        if gap_end > cur && gap_end - cur >= min_len {
            return Ok(Some((cur, gap_end - cur)));
        }
        match next {
            None => return Ok(None),
            Some((k, blk)) => {
                let end = k.objectid.checked_add(k.offset).ok_or(FsError::corrupt(blk, "extent item overflows"))?;
                if end <= cur {
                    return Err(FsError::corrupt(blk, "extent items overlap"));
                }
                cur = end;
            }
        }
    }
}
