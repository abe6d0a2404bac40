//! A file's extent map: punching holes and replacing ranges.
//!
//! Inode `ino`'s data is described by `EXTENT_DATA` items keyed
//! `(ino, EXTENT_DATA, file offset)`, each naming a slice
//! (`offset..offset+len` bytes) of one disk extent
//! (`disk_start..disk_start+disk_blocks`, an `EXTENT_ITEM` of the extent
//! tree). Several items may name the same disk extent (after a partial
//! overwrite split an item in two, like btrfs "bookend" extents); every item
//! holds exactly one reference on the `EXTENT_ITEM` it names, and the disk
//! extent is freed only when its last reference goes. The items of one
//! inode never overlap, and the inode's `nbytes` is the sum of their `len`.
//!
//! Offsets and lengths are bytes, multiples of [`BLOCK_SIZE_U64`].
//!
//! No tree buffer is held across a tree modification: every step looks one
//! item up, copies it out, drops the buffer, then changes the trees (like
//! [`free_inode_items`](super::orphan::free_inode_items)).

use super::error::FsError;
use super::extent;
use super::items::{ExtentData, EXTENT_PREALLOC};
use super::key::{Key, EXTENT_DATA};
use super::layout::{BLOCK_SIZE_U64, FIRST_ALLOC_BLOCK, MAX_EXTENT_END};
use super::tree::{self, BlockStore, Root};

/// Key of `ino`'s file extent item at file offset `off`.
fn key(ino: u64, off: u64) -> Key {
    Key::new(ino, EXTENT_DATA, off)
}

/// Parses a file extent item of `ino` at key offset `off` read from leaf
/// `blk`; also checks that its file range does not overflow. Returns the
/// extent and the end of its file range.
fn parse_at(d: &[u8], blk: u64, off: u64) -> Result<(ExtentData, u64), FsError> {
    let e = ExtentData::parse(d, blk)?;
    let end = off.checked_add(e.len).ok_or(FsError::corrupt(blk, "file extent range overflows"))?;
    Ok((e, end))
}

/// The file offset of the `n`-th file extent item of `ino` counted back
/// from the last one (`n` = 1 is the last), if that item starts at or after
/// `from`; `None` when fewer than `n` items start at or after `from`. A
/// truncate of a file with many extents punches from there to the end, one
/// bounded step at a time, from the end backwards.
pub fn nth_from_end<S: BlockStore>(s: &mut S, fs_root: &Root, ino: u64, from: u64, n: u64) -> Result<Option<u64>, FsError> {
    let mut k = key(ino, u64::MAX);
    let mut found = None;
    for _ in 0..n {
        let it = match tree::search_le(s, fs_root, &k)? {
            Some(it) if it.key().objectid == ino && it.key().ty == EXTENT_DATA && it.key().offset >= from => it,
            _ => return Ok(None),
        };
        let off = it.key().offset;
        found = Some(off);
        match it.key().predecessor() {
            Some(p) => k = p,
            None => break,
        }
    }
    Ok(found)
}

/// Where the last file extent item of `ino` ends (0 without any): the
/// highest file offset an insert range would move, preallocated space past
/// the file's size included.
pub fn last_end<S: BlockStore>(s: &mut S, fs_root: &Root, ino: u64) -> Result<u64, FsError> {
    match tree::search_le(s, fs_root, &key(ino, u64::MAX))? {
        Some(it) if it.key().objectid == ino && it.key().ty == EXTENT_DATA => {
            let off = it.key().offset;
            Ok(parse_at(it.data(), it.block(), off)?.1)
        }
        _ => Ok(0),
    }
}

/// Calls `f(file offset, extent)` for every file extent item of `ino` that
/// overlaps the byte range `start..end`, in file order (the first may start
/// before `start`), until `f` returns `Ok(false)`. Read-only; no tree
/// buffer is held while `f` runs.
pub fn for_each_in_range<S: BlockStore>(
    s: &mut S,
    fs_root: &Root,
    ino: u64,
    start: u64,
    end: u64,
    mut f: impl FnMut(u64, &ExtentData) -> Result<bool, FsError>,
) -> Result<(), FsError> {
    if start >= end {
        return Ok(());
    }
    // An item starting before `start` that reaches into the range.
    let before = match tree::search_le(s, fs_root, &key(ino, start))? {
        Some(it) if it.key().objectid == ino && it.key().ty == EXTENT_DATA && it.key().offset < start => {
            let off = it.key().offset;
            let (e, e_end) = parse_at(it.data(), it.block(), off)?;
            (e_end > start).then_some((off, e))
        }
        _ => None,
    };
    if let Some((off, e)) = before {
        if !f(off, &e)? {
            return Ok(());
        }
    }
    // Items starting inside the range.
    let mut cur = tree::search_ge(s, fs_root, &key(ino, start))?;
    while let Some(it) = cur {
        let k = it.key();
        if k.objectid != ino || k.ty != EXTENT_DATA || k.offset >= end {
            return Ok(());
        }
        let (e, _) = parse_at(it.data(), it.block(), k.offset)?;
        drop(it);
        if !f(k.offset, &e)? {
            return Ok(());
        }
        cur = tree::next(s, fs_root, &k)?;
    }
    Ok(())
}

/// The first file extent item of `ino` overlapping `start..end`, copied out.
pub fn first_overlapping<S: BlockStore>(s: &mut S, fs_root: &Root, ino: u64, start: u64, end: u64) -> Result<Option<(u64, ExtentData)>, FsError> {
    let mut found = None;
    for_each_in_range(s, fs_root, ino, start, end, |off, e| {
        found = Some((off, *e));
        Ok(false)
    })?;
    Ok(found)
}

/// Number of file extent items of `ino` overlapping `start..end`
/// (read-only). The kernel sizes the metadata reservation of a
/// [`replace`] with it, through [`items_changed_bound`].
pub fn count_overlapping<S: BlockStore>(s: &mut S, fs_root: &Root, ino: u64, start: u64, end: u64) -> Result<u64, FsError> {
    let mut n = 0u64;
    for_each_in_range(s, fs_root, ino, start, end, |_, _| {
        n = n.saturating_add(1);
        Ok(true)
    })?;
    Ok(n)
}

/// The disk blocks `ino`'s written extents map in the byte range
/// `start..end` (block aligned), clipped to it: `f(first block, blocks)` per
/// extent item, in file order. Preallocated pieces are left out (a read of
/// them reads no block). Returns how many extent items overlap the range, as
/// [`count_overlapping`] does. The kernel holds these blocks back from reuse
/// while a finish that replaces them waits for the buffered reads that may
/// have mapped them.
pub fn mapped_blocks<S: BlockStore>(
    s: &mut S,
    fs_root: &Root,
    ino: u64,
    start: u64,
    end: u64,
    mut f: impl FnMut(u64, u64) -> Result<(), FsError>,
) -> Result<u64, FsError> {
    let mut n = 0u64;
    for_each_in_range(s, fs_root, ino, start, end, |off, e| {
        n = n.saturating_add(1);
        let (a, b) = (off.max(start), off.saturating_add(e.len).min(end));
        if a < b && e.flags & EXTENT_PREALLOC == 0 {
            let first = e.disk_block_at(a - off).ok_or(FsError::corrupt(e.disk_start, "file extent points outside its disk extent"))?;
            f(first, (b - a).div_ceil(BLOCK_SIZE_U64))?;
        }
        Ok(true)
    })?;
    Ok(n)
}

/// Worst-case number of tree items a [`replace`] changes when `overlapping`
/// file extent items (as counted by [`count_overlapping`]) overlap its range:
/// `2 * overlapping + 4`.
///
/// Derivation, per overlapping item, the punch does one of:
/// * delete it (fs tree) and drop its reference (one `EXTENT_ITEM` updated
///   or deleted): 2 items;
/// * trim it in place (fs tree): 1 item;
/// * delete it and re-insert its tail at the end of the range (its
///   reference moves with it): 2 items;
///
/// so at most 2 per item. At most one item, the one starting before the
/// range, can also reach past its end; it is trimmed and its tail inserted
/// as a new item holding a new reference: up to one tail insert plus its
/// `inc_ref`, 2 more items. Then the new file extent item and its new
/// `EXTENT_ITEM`: 2 more. Every count is an item whose leaf path is copied
/// at most once per transaction, which is what
/// [`meta_cost`](super::space::meta_cost) charges per item.
pub fn items_changed_bound(overlapping: u64) -> u64 {
    overlapping.saturating_mul(2).saturating_add(4)
}

/// Checks that `v` is block aligned.
fn aligned(v: u64) -> bool {
    v.is_multiple_of(BLOCK_SIZE_U64)
}

/// Rewrites the file extent item of `ino` at `off` in place with `e`.
fn update_item<S: BlockStore>(s: &mut S, fs_root: &mut Root, ino: u64, off: u64, e: &ExtentData) -> Result<(), FsError> {
    let bytes = e.to_bytes();
    let blk = fs_root.block;
    tree::update(s, fs_root, &key(ino, off), |d| {
        if d.len() != bytes.len() {
            return Err(FsError::corrupt(blk, "bad file extent item"));
        }
        d.copy_from_slice(&bytes);
        Ok(())
    })
}

/// Inserts a file extent item; an item already at that key means two file
/// extents overlap (corruption).
fn insert_item<S: BlockStore>(s: &mut S, fs_root: &mut Root, ino: u64, off: u64, e: &ExtentData) -> Result<(), FsError> {
    match tree::insert(s, fs_root, &key(ino, off), &e.to_bytes()) {
        Err(FsError::Exists) => Err(FsError::corrupt(fs_root.block, "file extents overlap")),
        r => r,
    }
}

/// Removes every byte of file coverage of inode `ino` in `start..end`
/// (`end == u64::MAX` means to the end of the file). `start` and `end` must
/// be block aligned (`Invalid` otherwise; `start > end` is `Invalid` too).
/// Returns the number of file bytes removed (to subtract from `nbytes`).
///
/// For each file extent item overlapping the range:
/// * entirely inside: deleted, and its reference on the disk extent dropped;
///   when that was the last reference `freed(disk_start, disk_blocks)` is
///   called (the caller keeps the blocks pinned until the commit);
/// * starting before `start`: trimmed in place to end at `start`; if it
///   also reaches past `end`, its tail becomes a new item at `end` (offset
///   into the disk extent advanced accordingly) with a new reference;
/// * starting inside and reaching past `end`: moved to key `end` with the
///   offset advanced; its reference is unchanged.
///
/// Surviving pieces keep their generation and flags (`EXTENT_PREALLOC`).
/// On an error the trees may be partly changed: the caller aborts the
/// transaction.
pub fn punch<S: BlockStore>(
    s: &mut S,
    fs_root: &mut Root,
    ext_root: &mut Root,
    ino: u64,
    start: u64,
    end: u64,
    freed: &mut impl FnMut(u64, u64) -> Result<(), FsError>,
) -> Result<u64, FsError> {
    if !aligned(start) || (end != u64::MAX && !aligned(end)) {
        return Err(FsError::Invalid("punch range not block aligned"));
    }
    if start > end {
        return Err(FsError::Invalid("punch range ends before it starts"));
    }
    let overflow = FsError::corrupt(fs_root.block, "file extent bytes overflow");
    let mut removed = 0u64;
    let mut pos = start;
    while pos < end {
        let Some((off, e)) = first_overlapping(s, fs_root, ino, pos, end)? else {
            break;
        };
        // Cannot overflow: for_each_in_range checked it.
        let e_end = off.checked_add(e.len).ok_or(overflow)?;
        if off < pos && pos != start {
            // It starts before the end of the item handled last.
            return Err(FsError::corrupt(fs_root.block, "file extents overlap"));
        }
        // The piece of the item past `end`, as a new item at `end`.
        let tail = if e_end > end {
            // off < end: the item overlaps pos..end.
            Some(ExtentData { offset: e.offset.checked_add(end - off).ok_or(overflow)?, len: e_end - end, ..e })
        } else {
            None
        };
        if off < start {
            // Keep the head, off..start.
            update_item(s, fs_root, ino, off, &ExtentData { len: start - off, ..e })?;
            if let Some(t) = &tail {
                insert_item(s, fs_root, ino, end, t)?;
                extent::inc_ref(s, ext_root, e.disk_start, e.disk_blocks)?;
                removed = removed.checked_add(end - start).ok_or(overflow)?;
            } else {
                removed = removed.checked_add(e_end - start).ok_or(overflow)?;
            }
        } else {
            tree::delete(s, fs_root, &key(ino, off))?;
            if let Some(t) = &tail {
                // The tail keeps the item's reference.
                insert_item(s, fs_root, ino, end, t)?;
                removed = removed.checked_add(end - off).ok_or(overflow)?;
            } else {
                if extent::dec_ref(s, ext_root, e.disk_start, e.disk_blocks)? {
                    freed(e.disk_start, e.disk_blocks)?;
                }
                removed = removed.checked_add(e.len).ok_or(overflow)?;
            }
        }
        if tail.is_some() {
            break;
        }
        pos = e_end;
    }
    Ok(removed)
}

/// Completes a copy-on-write write of `len` bytes at `file_off` of `ino`
/// into the freshly allocated disk range starting at block `disk_start`
/// (`len / 4096` blocks, allocated from free space by the caller): punches
/// `file_off..file_off+len` (see [`punch`]), records the new disk extent
/// with one reference and inserts the file extent item
/// `{ generation: s.generation(), disk_start, disk_blocks: len / 4096,
/// offset: 0, len, flags }`.
///
/// Returns the bytes the punch removed, so `nbytes` changes by
/// `len - removed`. `len` must be non-zero and both it and `file_off` block
/// aligned; `flags` is 0 or [`EXTENT_PREALLOC`]. The arguments are checked
/// before anything is changed; after a later error the trees may be partly
/// changed and the caller aborts the transaction.
#[allow(clippy::too_many_arguments)]
pub fn replace<S: BlockStore>(
    s: &mut S,
    fs_root: &mut Root,
    ext_root: &mut Root,
    ino: u64,
    file_off: u64,
    len: u64,
    disk_start: u64,
    flags: u32,
    freed: &mut impl FnMut(u64, u64) -> Result<(), FsError>,
) -> Result<u64, FsError> {
    if len == 0 || !aligned(len) || !aligned(file_off) {
        return Err(FsError::Invalid("file extent not block aligned or empty"));
    }
    if flags & !EXTENT_PREALLOC != 0 {
        return Err(FsError::Invalid("unknown file extent flags"));
    }
    if disk_start < FIRST_ALLOC_BLOCK {
        return Err(FsError::Invalid("data extent in the reserved area"));
    }
    let end = file_off.checked_add(len).ok_or(FsError::TooBig)?;
    let disk_blocks = len / BLOCK_SIZE_U64;
    if disk_start.checked_add(disk_blocks).is_none() {
        return Err(FsError::Invalid("data extent overflows"));
    }
    let removed = punch(s, fs_root, ext_root, ino, file_off, end, freed)?;
    extent::add_data_extent(s, ext_root, disk_start, disk_blocks)?;
    let e = ExtentData { generation: s.generation(), disk_start, disk_blocks, offset: 0, len, flags };
    insert_item(s, fs_root, ino, file_off, &e)?;
    Ok(removed)
}

/// Up to `max` file extent items of `ino` overlapping `start..end`, each
/// clipped to the range (offset into its disk extent advanced for a clipped
/// head), in file order: `(file offset, extent)`. A reflink copies them.
pub fn items_in_range<S: BlockStore>(
    s: &mut S,
    fs_root: &Root,
    ino: u64,
    start: u64,
    end: u64,
    max: usize,
    out: &mut impl FnMut(u64, ExtentData) -> Result<(), FsError>,
) -> Result<usize, FsError> {
    let mut n = 0;
    let overflow = FsError::corrupt(fs_root.block, "file extent bytes overflow");
    for_each_in_range(s, fs_root, ino, start, end, |off, e| {
        if n >= max {
            return Ok(false);
        }
        let e_end = off.checked_add(e.len).ok_or(overflow)?;
        let (a, b) = (off.max(start), e_end.min(end));
        if a < b {
            out(a, ExtentData { offset: e.offset.checked_add(a - off).ok_or(overflow)?, len: b - a, ..*e })?;
            n += 1;
        }
        Ok(true)
    })?;
    Ok(n)
}

/// Inserts a file extent item of `ino` at `off` that references an
/// existing disk extent (a reflink's copy of another item, `e.disk_start`,
/// `e.disk_blocks`, `e.offset` and `e.len` as there), taking a reference on
/// it. The range must be a hole (the caller punched it); `e` is checked
/// first (block aligned, inside its disk extent, written: preallocated
/// space is never shared, so writes in place never reach another file).
/// Changes 2 items.
pub fn insert_ref<S: BlockStore>(s: &mut S, fs_root: &mut Root, ext_root: &mut Root, ino: u64, off: u64, e: &ExtentData) -> Result<(), FsError> {
    if !aligned(off) || e.len == 0 || !aligned(e.len) || !aligned(e.offset) {
        return Err(FsError::Invalid("shared file extent not block aligned or empty"));
    }
    if e.flags != 0 {
        return Err(FsError::Invalid("preallocated extents are not shared"));
    }
    let bytes = e.disk_blocks.checked_mul(BLOCK_SIZE_U64).ok_or(FsError::TooBig)?;
    if e.offset.checked_add(e.len).is_none_or(|x| x > bytes) || off.checked_add(e.len).is_none() {
        return Err(FsError::Invalid("shared file extent outside its disk extent"));
    }
    extent::inc_ref(s, ext_root, e.disk_start, e.disk_blocks)?;
    let item = ExtentData { generation: s.generation(), ..*e };
    insert_item(s, fs_root, ino, off, &item)
}

/// Whether the disk extent behind `e` (an item of `ino`) is shared with
/// another file or another range of this one: it holds more references
/// than `ino` has items pointing into it. (Extent-wide, as btrfs reports
/// it: another item referencing other blocks of the same disk extent
/// counts.) Only `scan_limit` items of `ino` are looked at; a file with more
/// is taken as sharing any extent with more than one reference.
pub fn shared<S: BlockStore>(s: &mut S, fs_root: &Root, ext_root: &Root, ino: u64, e: &ExtentData, scan_limit: usize) -> Result<bool, FsError> {
    let refs = extent::refs(s, ext_root, e.disk_start, e.disk_blocks)?.unwrap_or(0);
    if refs <= 1 {
        return Ok(false);
    }
    let (mut own, mut seen, mut cut) = (0u64, 0usize, false);
    for_each_in_range(s, fs_root, ino, 0, u64::MAX, |_, x| {
        seen += 1;
        if seen > scan_limit {
            cut = true;
            return Ok(false);
        }
        if x.disk_start == e.disk_start {
            own += 1;
        }
        Ok(true)
    })?;
    Ok(cut || refs > own)
}

/// Splits the file extent item of `ino` that covers `at` (block aligned)
/// from before it into two items meeting at `at`, the second taking a
/// reference of its own; nothing when no item starts before `at` and
/// reaches past it. Returns whether it split. Changes at most 3 items.
pub fn split_at<S: BlockStore>(s: &mut S, fs_root: &mut Root, ext_root: &mut Root, ino: u64, at: u64) -> Result<bool, FsError> {
    if !aligned(at) {
        return Err(FsError::Invalid("split point not block aligned"));
    }
    let Some((off, e)) = first_overlapping(s, fs_root, ino, at, at.saturating_add(1))? else {
        return Ok(false);
    };
    if off >= at {
        return Ok(false);
    }
    let overflow = FsError::corrupt(fs_root.block, "file extent bytes overflow");
    let tail = ExtentData { offset: e.offset.checked_add(at - off).ok_or(overflow)?, len: e.len - (at - off), ..e };
    update_item(s, fs_root, ino, off, &ExtentData { len: at - off, ..e })?;
    insert_item(s, fs_root, ino, at, &tail)?;
    extent::inc_ref(s, ext_root, e.disk_start, e.disk_blocks)?;
    Ok(true)
}

/// Moves file extent items of `ino` by `delta` bytes (block aligned, not
/// 0), at most `max` of them per call; values are unchanged (each keeps its
/// reference). Call with `cursor = None` first, then with what it returned
/// until that is `None`; each call can be its own transaction.
///
/// * Down (`up == false`, a collapse): the items starting at or after `from`
///   move to `off - delta`, in file order; `from - delta..from` must be
///   empty (punched). Each lands in the room the ones before it left.
/// * Up (`up == true`, an insert): the items starting at or after `from`
///   move to `off + delta`, from the last backwards; nothing may reach
///   across `from` (split it first, [`split_at`]).
///
/// Changes 2 items per moved item.
#[allow(clippy::too_many_arguments)]
pub fn shift<S: BlockStore>(s: &mut S, fs_root: &mut Root, ino: u64, from: u64, delta: u64, up: bool, cursor: Option<u64>, max: u64) -> Result<Option<u64>, FsError> {
    if !aligned(from) || !aligned(delta) || delta == 0 || (!up && delta > from) {
        return Err(FsError::Invalid("shift not block aligned, empty or below offset 0"));
    }
    // Down: the next original key to look at (items below it were moved). Up: the bound below
    // which the items still to move start.
    let mut cur = cursor.unwrap_or(if up { u64::MAX } else { from });
    for _ in 0..max {
        let next = if up {
            if cur == 0 {
                return Ok(None);
            }
            match tree::search_le(s, fs_root, &key(ino, cur - 1))? {
                Some(it) if it.key().objectid == ino && it.key().ty == EXTENT_DATA && it.key().offset >= from => {
                    let off = it.key().offset;
                    Some((off, parse_at(it.data(), it.block(), off)?.0))
                }
                _ => None,
            }
        } else {
            match tree::search_ge(s, fs_root, &key(ino, cur))? {
                Some(it) if it.key().objectid == ino && it.key().ty == EXTENT_DATA => {
                    let off = it.key().offset;
                    Some((off, parse_at(it.data(), it.block(), off)?.0))
                }
                _ => None,
            }
        };
        let Some((off, e)) = next else {
            return Ok(None);
        };
        let to = if up {
            // Nothing may end past the largest file (the first item moved is the last one:
            // refused before anything changed; callers check with `last_end` first).
            let to = off.checked_add(delta).ok_or(FsError::TooBig)?;
            if to.checked_add(e.len).is_none_or(|end| end > MAX_EXTENT_END) {
                return Err(FsError::TooBig);
            }
            to
        } else {
            off - delta
        };
        tree::delete(s, fs_root, &key(ino, off))?;
        insert_item(s, fs_root, ino, to, &e)?;
        cur = if up { off } else { off.checked_add(1).ok_or(FsError::TooBig)? };
    }
    Ok(Some(cur))
}

/// Worst-case number of tree items a [`convert`] changes when `overlapping`
/// file extent items overlap its range: `3 * overlapping + 4`. Each item
/// is updated in place once, or merged into the written item before it
/// (that one updated, this one deleted or moved, a reference dropped: 3);
/// the first may also leave a preallocated head and the last a preallocated
/// tail (one item may do both), each a new item plus the reference it takes.
pub fn convert_items_bound(overlapping: u64) -> u64 {
    overlapping.saturating_mul(3).saturating_add(4)
}

/// The written item of `ino` that ends exactly at `at` and maps, in the same
/// disk extent as `e`, to the blocks just before `e`'s (so the two could be
/// one item).
fn written_neighbour_before<S: BlockStore>(s: &mut S, fs_root: &Root, ino: u64, at: u64, e: &ExtentData) -> Result<Option<(u64, ExtentData)>, FsError> {
    if at == 0 {
        return Ok(None);
    }
    let Some(it) = tree::search_le(s, fs_root, &key(ino, at - 1))? else {
        return Ok(None);
    };
    let k = it.key();
    if k.objectid != ino || k.ty != EXTENT_DATA {
        return Ok(None);
    }
    let (p, p_end) = parse_at(it.data(), it.block(), k.offset)?;
    let contiguous = p.offset.checked_add(p.len) == Some(e.offset);
    let same = p.flags == 0 && p.disk_start == e.disk_start && p.disk_blocks == e.disk_blocks;
    Ok((p_end == at && same && contiguous).then_some((k.offset, p)))
}

/// Turns preallocated file coverage of `ino` in `file_off..file_off+len`
/// into written data, in place: data was written straight into the
/// preallocated blocks, which the range maps to disk block `disk_start`
/// on (block `disk_start + (x - file_off) / 4096` for file offset `x`).
///
/// Only pieces that are still preallocated *and* still map to exactly
/// those blocks are converted; anything else in the range (a newer
/// copy-on-write that replaced part of it, a hole punched meanwhile) is left
/// alone, so the write that finished later wins. A converted piece that is
/// part of a larger item is split off: the pieces before and after stay
/// preallocated, each new item taking a reference on the disk extent (as
/// every item holds one). Nothing is freed and `nbytes` does not change.
/// Returns the bytes converted.
///
/// `file_off` and `len` must be block aligned and `len` non-zero. On an
/// error after a change the caller aborts the transaction.
#[allow(clippy::too_many_arguments)]
pub fn convert<S: BlockStore>(
    s: &mut S,
    fs_root: &mut Root,
    ext_root: &mut Root,
    ino: u64,
    file_off: u64,
    len: u64,
    disk_start: u64,
) -> Result<u64, FsError> {
    if len == 0 || !aligned(len) || !aligned(file_off) {
        return Err(FsError::Invalid("converted range not block aligned or empty"));
    }
    let end = file_off.checked_add(len).ok_or(FsError::TooBig)?;
    let overflow = FsError::corrupt(fs_root.block, "file extent bytes overflow");
    let mut converted = 0u64;
    let mut pos = file_off;
    while pos < end {
        let Some((off, e)) = first_overlapping(s, fs_root, ino, pos, end)? else {
            break;
        };
        let e_end = off.checked_add(e.len).ok_or(overflow)?;
        let (a, b) = (off.max(pos), e_end.min(end));
        // The disk block the item maps `a` to, against the one the write used.
        let item_disk = e.disk_block_at(a - off).ok_or(overflow)?;
        let want_disk = disk_start.checked_add((a - file_off) / BLOCK_SIZE_U64).ok_or(overflow)?;
        if e.flags & EXTENT_PREALLOC == 0 || item_disk != want_disk {
            pos = e_end.max(pos + BLOCK_SIZE_U64);
            continue;
        }
        let rel = |x: u64| e.offset.checked_add(x - off).ok_or(overflow);
        let mid = ExtentData { offset: rel(a)?, len: b - a, flags: 0, ..e };
        let tail = (e_end > b).then(|| -> Result<ExtentData, FsError> { Ok(ExtentData { offset: rel(b)?, len: e_end - b, ..e }) }).transpose()?;
        if off == a {
            // Written data just before it, in the same disk extent and contiguous there (the
            // previous in-place write of a sequential writer): that item grows instead, so
            // small writes do not leave an item each.
            if let Some((poff, p)) = written_neighbour_before(s, fs_root, ino, a, &e)? {
                update_item(s, fs_root, ino, poff, &ExtentData { len: p.len.checked_add(b - a).ok_or(overflow)?, ..p })?;
                tree::delete(s, fs_root, &key(ino, off))?;
                match &tail {
                    // The tail keeps this item's reference.
                    Some(t) => insert_item(s, fs_root, ino, b, t)?,
                    None => {
                        if extent::dec_ref(s, ext_root, e.disk_start, e.disk_blocks)? {
                            return Err(FsError::corrupt(fs_root.block, "merged extent lost its last reference"));
                        }
                    }
                }
                converted = converted.checked_add(b - a).ok_or(overflow)?;
                pos = b;
                continue;
            }
        }
        // The item at `off` becomes its head (still preallocated) or, starting at `a`, the
        // written piece; the others are new items with references of their own.
        let first = if off < a { ExtentData { len: a - off, ..e } } else { mid };
        update_item(s, fs_root, ino, off, &first)?;
        if off < a {
            insert_item(s, fs_root, ino, a, &mid)?;
            extent::inc_ref(s, ext_root, e.disk_start, e.disk_blocks)?;
        }
        if let Some(t) = &tail {
            insert_item(s, fs_root, ino, b, t)?;
            extent::inc_ref(s, ext_root, e.disk_start, e.disk_blocks)?;
        }
        converted = converted.checked_add(b - a).ok_or(overflow)?;
        pos = b;
    }
    Ok(converted)
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use super::super::items::ExtentItem;
    use super::super::layout::{BLOCK_SIZE, EXTENT_TREE_OWNER, FS_TREE_OWNER};
    use super::super::tree::MetaChange;
    use std::collections::BTreeMap;
    use std::vec;
    use std::vec::Vec;

    const B: u64 = BLOCK_SIZE_U64;
    const INO: u64 = 300;

    /// Blocks in memory; metadata blocks come from a counter and are never
    /// reused, so no pinning is needed.
    struct Mem {
        blocks: BTreeMap<u64, Vec<u8>>,
        next: u64,
    }

    impl BlockStore for Mem {
        type Buf = Vec<u8>;
        type BufMut = Vec<u8>;
        fn read(&mut self, blk: u64) -> Result<Vec<u8>, FsError> {
            self.blocks.get(&blk).cloned().ok_or(FsError::Io)
        }
        fn read_mut(&mut self, blk: u64) -> Result<Vec<u8>, FsError> {
            self.read(blk)
        }
        fn alloc_meta(&mut self) -> Result<(u64, Vec<u8>), FsError> {
            self.next += 1;
            Ok((self.next, vec![0u8; BLOCK_SIZE]))
        }
        fn write(&mut self, blk: u64, buf: Vec<u8>) -> Result<(), FsError> {
            self.blocks.insert(blk, buf);
            Ok(())
        }
        fn free_meta(&mut self, _blk: u64) -> Result<(), FsError> {
            Ok(())
        }
        fn generation(&self) -> u64 {
            7
        }
        fn pop_meta_change(&mut self) -> Option<MetaChange> {
            None
        }
    }

    struct T {
        s: Mem,
        fs: Root,
        ext: Root,
        freed: Vec<(u64, u64)>,
    }

    impl T {
        fn new() -> T {
            let mut s = Mem { blocks: BTreeMap::new(), next: 1_000_000 };
            let fs = tree::create(&mut s, FS_TREE_OWNER).unwrap();
            let ext = tree::create(&mut s, EXTENT_TREE_OWNER).unwrap();
            T { s, fs, ext, freed: Vec::new() }
        }
        fn replace(&mut self, off: u64, len: u64, disk: u64) -> u64 {
            let fr = &mut self.freed;
            replace(&mut self.s, &mut self.fs, &mut self.ext, INO, off, len, disk, 0, &mut |a, b| {
                fr.push((a, b));
                Ok(())
            })
            .unwrap()
        }
        fn punch(&mut self, start: u64, end: u64) -> u64 {
            let fr = &mut self.freed;
            punch(&mut self.s, &mut self.fs, &mut self.ext, INO, start, end, &mut |a, b| {
                fr.push((a, b));
                Ok(())
            })
            .unwrap()
        }
        /// `(file offset, disk_start, offset, len)` of every item.
        fn items(&mut self) -> Vec<(u64, u64, u64, u64)> {
            let mut v = Vec::new();
            for_each_in_range(&mut self.s, &self.fs, INO, 0, u64::MAX, |off, e| {
                v.push((off, e.disk_start, e.offset, e.len));
                Ok(true)
            })
            .unwrap();
            v
        }
        fn refs(&mut self, start: u64, blocks: u64) -> Option<u64> {
            tree::lookup(&mut self.s, &self.ext, &extent::extent_key(start, blocks))
                .unwrap()
                .map(|it| ExtentItem::parse(it.data(), 0).unwrap().refs)
        }
    }

    #[test]
    fn nth_from_end_counts_back_from_the_last_item() {
        let mut t = T::new();
        for i in 0..5 {
            t.replace(i * 2 * B, B, 1000 + i * 10);
        }
        assert_eq!(nth_from_end(&mut t.s, &t.fs, INO, 0, 1).unwrap(), Some(8 * B));
        assert_eq!(nth_from_end(&mut t.s, &t.fs, INO, 0, 3).unwrap(), Some(4 * B));
        assert_eq!(nth_from_end(&mut t.s, &t.fs, INO, 0, 5).unwrap(), Some(0));
        assert_eq!(nth_from_end(&mut t.s, &t.fs, INO, 0, 6).unwrap(), None, "fewer than 6 items");
        assert_eq!(nth_from_end(&mut t.s, &t.fs, INO, 3 * B, 3).unwrap(), Some(4 * B));
        assert_eq!(nth_from_end(&mut t.s, &t.fs, INO, 3 * B, 4).unwrap(), None, "only 3 items start at or after 3 blocks");
        assert_eq!(nth_from_end(&mut t.s, &t.fs, INO + 1, 0, 1).unwrap(), None, "another inode has none");
    }

    #[test]
    fn trim_head() {
        let mut t = T::new();
        assert_eq!(t.replace(0, 8 * B, 1000), 0);
        assert_eq!(t.punch(4 * B, u64::MAX), 4 * B);
        assert_eq!(t.items(), [(0, 1000, 0, 4 * B)]);
        assert_eq!(t.refs(1000, 8), Some(1));
        assert!(t.freed.is_empty());
    }

    #[test]
    fn split_in_the_middle_takes_a_reference() {
        let mut t = T::new();
        t.replace(0, 8 * B, 1000);
        // Overwrite blocks 2..4 with a new extent.
        assert_eq!(t.replace(2 * B, 2 * B, 2000), 2 * B);
        assert_eq!(t.items(), [(0, 1000, 0, 2 * B), (2 * B, 2000, 0, 2 * B), (4 * B, 1000, 4 * B, 4 * B)]);
        assert_eq!(t.refs(1000, 8), Some(2));
        assert_eq!(t.refs(2000, 2), Some(1));
        assert_eq!(count_overlapping(&mut t.s, &t.fs, INO, B, 5 * B).unwrap(), 3);
        assert_eq!(count_overlapping(&mut t.s, &t.fs, INO, 2 * B, 4 * B).unwrap(), 1);
        assert_eq!(count_overlapping(&mut t.s, &t.fs, INO, 8 * B, 9 * B).unwrap(), 0);
    }

    #[test]
    fn mapped_blocks_clips_to_the_range_and_skips_preallocated_pieces() {
        let mut t = T::new();
        t.replace(0, 8 * B, 1000);
        t.replace(2 * B, 2 * B, 2000);
        t.replace(6 * B, 4 * B, 0x3000);
        replace(&mut t.s, &mut t.fs, &mut t.ext, INO, 12 * B, 2 * B, 4000, EXTENT_PREALLOC, &mut |_, _| Ok(())).unwrap();
        let mapped = |t: &mut T, a: u64, b: u64| {
            let mut v = Vec::new();
            let n = mapped_blocks(&mut t.s, &t.fs, INO, a, b, |s, l| {
                v.push((s, l));
                Ok(())
            })
            .unwrap();
            (n, v)
        };
        // Items: [0,2) at 1000, [2,4) at 2000, [4,6) at 1004, [6,10) at 0x3000, [12,14) preallocated.
        assert_eq!(mapped(&mut t, 0, 16 * B), (5, vec![(1000, 2), (2000, 2), (1004, 2), (0x3000, 4)]));
        assert_eq!(mapped(&mut t, B, 5 * B), (3, vec![(1001, 1), (2000, 2), (1004, 1)]));
        assert_eq!(mapped(&mut t, 7 * B, 13 * B), (2, vec![(0x3001, 3)]));
        assert_eq!(mapped(&mut t, 10 * B, 12 * B), (0, vec![]));
        assert_eq!(mapped(&mut t, 8 * B, 9 * B).0, count_overlapping(&mut t.s, &t.fs, INO, 8 * B, 9 * B).unwrap());
    }

    #[test]
    fn trailing_piece_is_rekeyed() {
        let mut t = T::new();
        t.replace(4 * B, 4 * B, 1000);
        // 2..6 overlaps the head of the item at 4: it moves to 6.
        assert_eq!(t.replace(2 * B, 4 * B, 2000), 2 * B);
        assert_eq!(t.items(), [(2 * B, 2000, 0, 4 * B), (6 * B, 1000, 2 * B, 2 * B)]);
        assert_eq!(t.refs(1000, 4), Some(1), "the moved piece keeps its one reference");
        let e = super::super::inode::extent_at(&mut t.s, &t.fs, INO, 7 * B).unwrap().unwrap();
        assert_eq!(e.1.disk_block_at(7 * B - e.0), Some(1003));
        assert_eq!(e.1.generation, 7);
    }

    #[test]
    fn whole_deletion_frees() {
        let mut t = T::new();
        t.replace(0, 2 * B, 1000);
        t.replace(2 * B, 2 * B, 1100);
        t.replace(6 * B, B, 1200);
        assert_eq!(t.punch(0, 4 * B), 4 * B);
        assert_eq!(t.freed, [(1000, 2), (1100, 2)]);
        assert_eq!(t.refs(1000, 2), None);
        assert_eq!(t.items(), [(6 * B, 1200, 0, B)]);
        // A hole: nothing removed.
        assert_eq!(t.punch(0, 6 * B), 0);
        assert_eq!(t.punch(0, u64::MAX), B);
        assert_eq!(t.freed.len(), 3);
        assert!(t.items().is_empty());
    }

    #[test]
    fn shared_extent_freed_with_its_last_piece() {
        let mut t = T::new();
        t.replace(0, 6 * B, 1000);
        t.punch(2 * B, 4 * B); // pieces 0..2 and 4..6 share extent 1000
        assert_eq!(t.refs(1000, 6), Some(2));
        assert_eq!(t.freed, []);
        assert_eq!(t.punch(0, 2 * B), 2 * B);
        assert_eq!(t.freed, [], "one piece still references it");
        assert_eq!(t.refs(1000, 6), Some(1));
        assert_eq!(t.replace(3 * B, 4 * B, 2000), 2 * B);
        assert_eq!(t.freed, [(1000, 6)]);
        assert_eq!(t.items(), [(3 * B, 2000, 0, 4 * B)]);
    }

    #[test]
    fn prealloc_flag_and_generation_kept() {
        let mut t = T::new();
        replace(&mut t.s, &mut t.fs, &mut t.ext, INO, 0, 4 * B, 1000, EXTENT_PREALLOC, &mut |_, _| Ok(())).unwrap();
        t.punch(B, 2 * B);
        let mut flags = Vec::new();
        for_each_in_range(&mut t.s, &t.fs, INO, 0, u64::MAX, |_, e| {
            flags.push((e.flags, e.generation));
            Ok(true)
        })
        .unwrap();
        assert_eq!(flags, [(EXTENT_PREALLOC, 7), (EXTENT_PREALLOC, 7)]);
    }

    #[test]
    fn bad_arguments_change_nothing() {
        let mut t = T::new();
        t.replace(0, 4 * B, 1000);
        let before = t.items();
        let mut nop = |_: u64, _: u64| Ok(());
        assert!(matches!(punch(&mut t.s, &mut t.fs, &mut t.ext, INO, 1, 2 * B, &mut nop), Err(FsError::Invalid(_))));
        assert!(matches!(punch(&mut t.s, &mut t.fs, &mut t.ext, INO, 0, B + 1, &mut nop), Err(FsError::Invalid(_))));
        assert!(matches!(punch(&mut t.s, &mut t.fs, &mut t.ext, INO, 2 * B, B, &mut nop), Err(FsError::Invalid(_))));
        assert!(matches!(replace(&mut t.s, &mut t.fs, &mut t.ext, INO, 0, 0, 2000, 0, &mut nop), Err(FsError::Invalid(_))));
        assert!(matches!(replace(&mut t.s, &mut t.fs, &mut t.ext, INO, 0, B, 2000, 2, &mut nop), Err(FsError::Invalid(_))));
        assert!(matches!(replace(&mut t.s, &mut t.fs, &mut t.ext, INO, 0, B, 5, 0, &mut nop), Err(FsError::Invalid(_))));
        assert_eq!(t.items(), before);
        assert_eq!(items_changed_bound(3), 10);
        assert_eq!(items_changed_bound(u64::MAX), u64::MAX);
    }

    #[test]
    fn other_inodes_untouched() {
        let mut t = T::new();
        let e = ExtentData { generation: 1, disk_start: 5000, disk_blocks: 4, offset: 0, len: 4 * B, flags: 0 };
        for ino in [INO - 1, INO + 1] {
            tree::insert(&mut t.s, &mut t.fs, &key(ino, 0), &e.to_bytes()).unwrap();
        }
        t.replace(0, 4 * B, 1000);
        assert_eq!(t.punch(0, u64::MAX), 4 * B);
        assert_eq!(count_overlapping(&mut t.s, &t.fs, INO - 1, 0, u64::MAX).unwrap(), 1);
        assert_eq!(count_overlapping(&mut t.s, &t.fs, INO + 1, 0, 1).unwrap(), 1);
    }
    fn prealloc(t: &mut T, off: u64, len: u64, disk: u64) {
        replace(&mut t.s, &mut t.fs, &mut t.ext, INO, off, len, disk, EXTENT_PREALLOC, &mut |_, _| Ok(())).unwrap();
    }

    /// `(file offset, disk_start, offset, len, flags)` of every item.
    fn flagged(t: &mut T) -> Vec<(u64, u64, u64, u64, u32)> {
        let mut v = Vec::new();
        for_each_in_range(&mut t.s, &t.fs, INO, 0, u64::MAX, |off, e| {
            v.push((off, e.disk_start, e.offset, e.len, e.flags));
            Ok(true)
        })
        .unwrap();
        v
    }

    const P: u32 = EXTENT_PREALLOC;

    #[test]
    fn convert_splits_off_the_written_middle() {
        let mut t = T::new();
        prealloc(&mut t, 0, 8 * B, 1000);
        let n = convert(&mut t.s, &mut t.fs, &mut t.ext, INO, 2 * B, 3 * B, 1002).unwrap();
        assert_eq!(n, 3 * B);
        assert_eq!(flagged(&mut t), [(0, 1000, 0, 2 * B, P), (2 * B, 1000, 2 * B, 3 * B, 0), (5 * B, 1000, 5 * B, 3 * B, P)]);
        assert_eq!(t.refs(1000, 8), Some(3), "every item holds a reference");
        assert!(t.freed.is_empty());
        // Converting the head leaves it written before the written middle (no merge backwards);
        // converting the tail merges it into the middle.
        assert_eq!(convert(&mut t.s, &mut t.fs, &mut t.ext, INO, 0, 2 * B, 1000).unwrap(), 2 * B);
        assert_eq!(convert(&mut t.s, &mut t.fs, &mut t.ext, INO, 5 * B, 3 * B, 1005).unwrap(), 3 * B);
        assert_eq!(flagged(&mut t), [(0, 1000, 0, 2 * B, 0), (2 * B, 1000, 2 * B, 6 * B, 0)]);
        assert_eq!(t.refs(1000, 8), Some(2));
        // Punching it all frees the disk extent once.
        t.punch(0, u64::MAX);
        assert_eq!(t.freed, [(1000, 8)]);
    }

    #[test]
    fn convert_leaves_what_a_newer_write_replaced() {
        let mut t = T::new();
        prealloc(&mut t, 0, 8 * B, 1000);
        // A copy-on-write of blocks 3..5 finished first.
        t.replace(3 * B, 2 * B, 2000);
        // The in-place write of blocks 2..6 finishes now: only 2..3 and 5..6 are converted.
        let n = convert(&mut t.s, &mut t.fs, &mut t.ext, INO, 2 * B, 4 * B, 1002).unwrap();
        assert_eq!(n, 2 * B);
        assert_eq!(
            flagged(&mut t),
            [(0, 1000, 0, 2 * B, P), (2 * B, 1000, 2 * B, B, 0), (3 * B, 2000, 0, 2 * B, 0), (5 * B, 1000, 5 * B, B, 0), (6 * B, 1000, 6 * B, 2 * B, P)]
        );
        // Already written, or mapped elsewhere: nothing converted.
        assert_eq!(convert(&mut t.s, &mut t.fs, &mut t.ext, INO, 2 * B, B, 1002).unwrap(), 0);
        assert_eq!(convert(&mut t.s, &mut t.fs, &mut t.ext, INO, 6 * B, B, 4444).unwrap(), 0);
        // A hole: nothing.
        assert_eq!(convert(&mut t.s, &mut t.fs, &mut t.ext, INO, 20 * B, B, 1020).unwrap(), 0);
        assert!(matches!(convert(&mut t.s, &mut t.fs, &mut t.ext, INO, 1, B, 1000), Err(FsError::Invalid(_))));
        assert!(t.freed.is_empty());
    }

    #[test]
    fn convert_across_items() {
        let mut t = T::new();
        prealloc(&mut t, 0, 4 * B, 1000);
        prealloc(&mut t, 4 * B, 4 * B, 1004); // physically contiguous, separate extents
        let n = convert(&mut t.s, &mut t.fs, &mut t.ext, INO, 3 * B, 2 * B, 1003).unwrap();
        assert_eq!(n, 2 * B);
        assert_eq!(
            flagged(&mut t),
            [(0, 1000, 0, 3 * B, P), (3 * B, 1000, 3 * B, B, 0), (4 * B, 1004, 0, B, 0), (5 * B, 1004, B, 3 * B, P)]
        );
        assert_eq!(count_overlapping(&mut t.s, &t.fs, INO, 0, u64::MAX).unwrap(), 4);
        assert_eq!(convert_items_bound(2), 10);
    }

    #[test]
    fn reflink_copies_share_and_count() {
        let mut t = T::new();
        t.replace(0, 8 * B, 1000);
        t.replace(8 * B, 2 * B, 2000);
        let mut got = Vec::new();
        let n = items_in_range(&mut t.s, &t.fs, INO, 2 * B, 9 * B, 10, &mut |off, e| {
            got.push((off, e));
            Ok(())
        })
        .unwrap();
        assert_eq!(n, 2);
        assert_eq!(got.iter().map(|(o, e)| (*o, e.disk_start, e.offset, e.len)).collect::<Vec<_>>(), [(2 * B, 1000, 2 * B, 6 * B), (8 * B, 2000, 0, B)]);
        // Copy them to another inode at 100 blocks.
        for (o, e) in &got {
            insert_ref(&mut t.s, &mut t.fs, &mut t.ext, INO + 1, 100 * B + (o - 2 * B), e).unwrap();
        }
        assert_eq!(t.refs(1000, 8), Some(2));
        assert_eq!(t.refs(2000, 2), Some(2));
        let e = got[0].1;
        assert!(shared(&mut t.s, &t.fs, &t.ext, INO, &e, 100).unwrap());
        assert!(shared(&mut t.s, &t.fs, &t.ext, INO + 1, &e, 100).unwrap());
        // Punching the original's items: the copies keep the blocks; then not shared.
        t.punch(0, u64::MAX);
        assert!(t.freed.is_empty(), "the copies hold references");
        assert!(!shared(&mut t.s, &t.fs, &t.ext, INO + 1, &e, 100).unwrap());
        // One extent split into two items of one file is not shared.
        let mut u = T::new();
        u.replace(0, 8 * B, 1000);
        u.punch(2 * B, 3 * B);
        let e = ExtentData { generation: 7, disk_start: 1000, disk_blocks: 8, offset: 0, len: 2 * B, flags: 0 };
        assert_eq!(u.refs(1000, 8), Some(2));
        assert!(!shared(&mut u.s, &u.fs, &u.ext, INO, &e, 100).unwrap());
        assert!(shared(&mut u.s, &u.fs, &u.ext, INO, &e, 1).unwrap(), "past the scan limit: taken as shared");
        // Preallocated space is never shared; bad ranges are refused before any change.
        let p = ExtentData { flags: EXTENT_PREALLOC, ..e };
        assert!(matches!(insert_ref(&mut u.s, &mut u.fs, &mut u.ext, INO + 1, 0, &p), Err(FsError::Invalid(_))));
        let bad = ExtentData { offset: 7 * B, len: 2 * B, ..e };
        assert!(matches!(insert_ref(&mut u.s, &mut u.fs, &mut u.ext, INO + 1, 0, &bad), Err(FsError::Invalid(_))));
        assert_eq!(u.refs(1000, 8), Some(2));
    }

    #[test]
    fn collapse_and_insert_shift_items() {
        let mut t = T::new();
        for i in 0..6 {
            t.replace(i * 4 * B, 2 * B, 1000 + i * 10); // items at 0, 4, 8, ... 20 blocks
        }
        // Collapse blocks 4..8: punch them, move everything from 8 down by 4 blocks, 2 at a time.
        t.punch(4 * B, 8 * B);
        let mut cur = None;
        let mut calls = 0;
        loop {
            cur = shift(&mut t.s, &mut t.fs, INO, 8 * B, 4 * B, false, cur, 2).unwrap();
            calls += 1;
            if cur.is_none() {
                break;
            }
        }
        assert!(calls >= 3);
        let offs: Vec<u64> = t.items().iter().map(|i| i.0 / B).collect();
        assert_eq!(offs, [0, 4, 8, 12, 16]);
        assert_eq!(t.items()[1].1, 1020, "the item from block 8 is at block 4 now");
        // Insert 3 blocks at block 9 (inside the item at 8..10): split, then shift up.
        assert!(split_at(&mut t.s, &mut t.fs, &mut t.ext, INO, 9 * B).unwrap());
        assert!(!split_at(&mut t.s, &mut t.fs, &mut t.ext, INO, 12 * B).unwrap(), "nothing reaches across 12");
        let mut cur = None;
        loop {
            cur = shift(&mut t.s, &mut t.fs, INO, 9 * B, 3 * B, true, cur, 2).unwrap();
            if cur.is_none() {
                break;
            }
        }
        let got: Vec<(u64, u64, u64, u64)> = t.items().iter().map(|i| (i.0 / B, i.1, i.2 / B, i.3 / B)).collect();
        assert_eq!(got, [(0, 1000, 0, 2), (4, 1020, 0, 2), (8, 1030, 0, 1), (12, 1030, 1, 1), (15, 1040, 0, 2), (19, 1050, 0, 2)]);
        assert_eq!(t.refs(1030, 2), Some(2));
        assert!(t.freed.is_empty() || t.freed == [(1010, 2)]);
        assert!(matches!(shift(&mut t.s, &mut t.fs, INO, 2 * B, 4 * B, false, None, 1), Err(FsError::Invalid(_))));
        assert_eq!(last_end(&mut t.s, &t.fs, INO).unwrap(), 21 * B);
        assert_eq!(last_end(&mut t.s, &t.fs, INO + 1).unwrap(), 0);
    }

    #[test]
    fn insert_shift_stops_at_the_largest_file() {
        let mut t = T::new();
        t.replace(0, B, 1000);
        t.replace(MAX_EXTENT_END - 2 * B, B, 1010); // ends a block below the largest file's end
        assert_eq!(last_end(&mut t.s, &t.fs, INO).unwrap(), MAX_EXTENT_END - B);
        let before = t.items();
        assert!(matches!(shift(&mut t.s, &mut t.fs, INO, 0, 2 * B, true, None, 8), Err(FsError::TooBig)));
        assert_eq!(t.items(), before, "a refused shift changes nothing");
        assert_eq!(shift(&mut t.s, &mut t.fs, INO, 0, B, true, None, 8).unwrap(), None);
        assert_eq!(last_end(&mut t.s, &t.fs, INO).unwrap(), MAX_EXTENT_END);
    }

    #[test]
    fn sequential_in_place_writes_grow_one_item() {
        let mut t = T::new();
        prealloc(&mut t, 0, 16 * B, 1000);
        for i in 0..10 {
            assert_eq!(convert(&mut t.s, &mut t.fs, &mut t.ext, INO, i * B, B, 1000 + i).unwrap(), B);
        }
        assert_eq!(flagged(&mut t), [(0, 1000, 0, 10 * B, 0), (10 * B, 1000, 10 * B, 6 * B, P)]);
        assert_eq!(t.refs(1000, 16), Some(2));
        // The last piece too: one written item, one reference.
        assert_eq!(convert(&mut t.s, &mut t.fs, &mut t.ext, INO, 10 * B, 6 * B, 1010).unwrap(), 6 * B);
        assert_eq!(flagged(&mut t), [(0, 1000, 0, 16 * B, 0)]);
        assert_eq!(t.refs(1000, 16), Some(1));
        // Not merged: another disk extent before it.
        let mut u = T::new();
        u.replace(0, 2 * B, 500);
        prealloc(&mut u, 2 * B, 2 * B, 1000);
        convert(&mut u.s, &mut u.fs, &mut u.ext, INO, 2 * B, B, 1000).unwrap();
        assert_eq!(flagged(&mut u), [(0, 500, 0, 2 * B, 0), (2 * B, 1000, 0, B, 0), (3 * B, 1000, B, B, P)]);
    }

}
