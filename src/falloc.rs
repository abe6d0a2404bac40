// SPDX-License-Identifier: GPL-2.0

//! `fallocate(2)`: preallocation, hole punching and range zeroing.
//!
//! * **Preallocation** (mode 0, `FALLOC_FL_KEEP_SIZE`) fills every hole of the range with
//!   `EXTENT_PREALLOC` extents: allocated blocks that read as zeros (iomap sees them as
//!   unwritten). Data written there later is copy-on-write like every write: the ordered
//!   extent's finish replaces the preallocated piece it covers, so a write that fails leaves it
//!   unwritten (zeros, never the blocks' old contents). Data already in the range stays.
//! * **Hole punching** (`PUNCH_HOLE | KEEP_SIZE`) zeroes the partial blocks at the edges through
//!   the page cache and frees the whole blocks in between, in bounded transactions.
//! * **Range zeroing** (`ZERO_RANGE`) punches the range and preallocates it again: it reads as
//!   zeros and its space stays allocated.
//!
//! * **Collapse and insert** (`COLLAPSE_RANGE`, `INSERT_RANGE`, block aligned) punch the range
//!   or split the extent at its start, then move every file extent item after it down or up by
//!   its length (the items keep their references: no data moves), in bounded transactions; the
//!   size changes with them (an insert grows it first, so no item is ever past the end).
//!
//! * **Unsharing** (`UNSHARE_RANGE`, with or without `KEEP_SIZE`) preallocates the holes as
//!   mode 0 does, and gives the shared blocks of the range (reflinked, see `fileext::shared`) to
//!   the file alone: `iomap_file_unshare` reads them into the page cache and dirties them, with
//!   their space reserved as for a write; writeback copies them to new blocks. Later writes to
//!   the range need no space they do not have.
//!
//! Locks (docs/LOCKING.md): the inode lock (no write(2), truncate or direct write meanwhile;
//! direct I/O in flight is waited for), then for punching and zeroing the mapping's invalidate
//! lock (no page fault reads a folio of the range back in, no `page_mkwrite` dirties one, while
//! its page cache is dropped and its extents change). Filling holes holds off the inode's
//! ordered-extent finishes from finding a hole to filling it.

use crate::aops;
use crate::format::items::EXTENT_PREALLOC;
use crate::format::space::ReserveClass;
use crate::format::{self, fileext, FsError};
use crate::ordered;
use crate::superblock::{fs_err, with_tree, FerroFs};
use crate::vfs::eopnotsupp;
use crate::vfs::sys_consts as sc;
use crate::transaction::{self, Cost, Txn};
use crate::vfs::file::OpenFile;
use crate::vfs::inode::Inode;
use core::sync::atomic::Ordering;
use kernel::error::{code, Result};

const BS: u64 = format::BLOCK_SIZE_U64;

const KEEP_SIZE: u32 = sc::FALLOC_FL_KEEP_SIZE as u32;
const PUNCH_HOLE: u32 = sc::FALLOC_FL_PUNCH_HOLE as u32;
const ZERO_RANGE: u32 = sc::FALLOC_FL_ZERO_RANGE as u32;
const COLLAPSE_RANGE: u32 = sc::FALLOC_FL_COLLAPSE_RANGE as u32;
const INSERT_RANGE: u32 = sc::FALLOC_FL_INSERT_RANGE as u32;
const UNSHARE_RANGE: u32 = sc::FALLOC_FL_UNSHARE_RANGE as u32;

/// Items moved per transaction by a collapse or insert (2 items changed each).
const SHIFT_BATCH: u64 = 64;

/// Blocks in one preallocated extent at most (128 MiB): a later partial overwrite keeps the
/// whole disk extent referenced until every piece of it is gone, so extents stay moderate.
const MAX_PREALLOC_BLOCKS: u64 = 32768;

/// `fallocate(2)` of a regular file. The VFS checked the mode's combinations, `len > 0`,
/// `offset + len <= s_maxbytes`, write access and freeze protection.
pub(crate) fn fallocate(file: &OpenFile<'_, FerroFs>, mode: u32, offset: u64, len: u64) -> Result {
    let inode = file.inode();
    if mode & !(KEEP_SIZE | PUNCH_HOLE | ZERO_RANGE | COLLAPSE_RANGE | INSERT_RANGE | UNSHARE_RANGE) != 0 {
        return Err(eopnotsupp());
    }
    let end = offset.checked_add(len).ok_or(code::EFBIG)?;
    let keep_size = mode & KEEP_SIZE != 0;
    let _lock = inode.lock();
    if mode & (COLLAPSE_RANGE | INSERT_RANGE) != 0 {
        // The VFS let them through alone. Whole blocks only, inside the file (a collapse may
        // not reach its end, an insert may not start at or past it).
        let size = inode.size();
        if offset % BS != 0 || len % BS != 0 || (mode == COLLAPSE_RANGE && end >= size) || (mode == INSERT_RANGE && offset >= size) {
            return Err(code::EINVAL);
        }
        if mode == INSERT_RANGE {
            inode.newsize_ok(size.checked_add(len).ok_or(code::EFBIG)?)?;
            // Everything moves up, preallocated space past the size too: none of it may end
            // past the largest file (fstests generic/485).
            let last = with_tree(inode.sb(), |st, root| fileext::last_end(st, &root, inode.ino()))?;
            if last.checked_add(len).is_none_or(|e| e > format::MAX_EXTENT_END) {
                return Err(code::EFBIG);
            }
        }
    } else if !keep_size && end > inode.size() {
        inode.newsize_ok(end)?;
    }
    // Direct I/O in flight finishes first (new ones wait for the inode lock).
    inode.dio_wait();
    file.modified()?;
    match mode & !KEEP_SIZE {
        0 => allocate(inode, offset, end, keep_size),
        PUNCH_HOLE => punch_hole(inode, offset, end),
        ZERO_RANGE => zero_range(inode, offset, end, keep_size),
        COLLAPSE_RANGE => collapse_range(inode, offset, len),
        INSERT_RANGE => insert_range(inode, offset, len),
        UNSHARE_RANGE => {
            // The VFS allows it with KEEP_SIZE only. iomap stops at i_size (nothing is shared
            // past it); the allocation may move the size after.
            inode.file_unshare(offset, len)?;
            allocate(inode, offset, end, keep_size)
        }
        _ => Err(eopnotsupp()),
    }
}

/// Preallocates the holes of `start..end` (widened to whole blocks) and, unless `keep_size`,
/// moves `i_size` up to `end`. Runs one transaction per extent; on `ENOSPC` what was allocated
/// stays (as with other filesystems) and the size is not changed.
fn allocate(inode: &Inode<FerroFs>, start: u64, end: u64, keep_size: bool) -> Result {
    let sb = inode.sb();
    let ino = inode.ino();
    let data = inode.data();
    let stop = end.div_ceil(BS).saturating_mul(BS);
    let mut pos = start - start % BS;
    let mut committed = false;
    while pos < stop {
        // From finding the hole to filling it, no ordered extent's finish may insert data there.
        let finishes = ordered::hold_finishes(inode);
        let Some((hs, he)) = with_tree(sb, |st, root| next_hole(st, &root, ino, pos, stop))? else {
            break;
        };
        let mut tx = Txn::start(sb, Cost { items: fileext::items_changed_bound(0) + 1, class: ReserveClass::Normal })?;
        let got = {
            let t = tx.state();
            let free = t.free_blocks();
            // The space delayed allocation promised and the reserve pool stay untouched.
            let avail = free.saturating_sub(t.budget.reserved()).saturating_sub(t.budget.pool());
            let want = ((he - hs) / BS).min(MAX_PREALLOC_BLOCKS).min(avail);
            if want > 0 && t.budget.try_reserve(free, want, ReserveClass::Normal).is_ok() {
                let r = t.space.as_mut().and_then(|space| space.alloc(want, 1));
                t.budget.release(want);
                r
            } else {
                None
            }
        };
        let Some((disk, n)) = got else {
            // Nothing was changed: the transaction ends harmlessly.
            let _ = tx.finish(Ok(()));
            drop(finishes);
            if committed {
                return Err(code::ENOSPC);
            }
            // Blocks the running transaction freed come back after its commit.
            transaction::commit(sb)?;
            committed = true;
            continue;
        };
        let r = (|| -> Result {
            let mut st = tx.store();
            let mut roots = st.state().roots;
            let r = fileext::replace(&mut st, &mut roots.fs_root, &mut roots.ext_root, ino, hs, n * BS, disk, EXTENT_PREALLOC, &mut |_, _| {
                Err(FsError::corrupt(ino, "a hole being preallocated held an extent"))
            });
            st.state().roots.fs_root = roots.fs_root;
            st.state().roots.ext_root = roots.ext_root;
            r.map_err(|e| fs_err(sb, e))?;
            st.state().roots.used_blocks = st.state().roots.used_blocks.saturating_add(n);
            data.disk_bytes.fetch_add(n * BS, Ordering::AcqRel);
            crate::inode::update_item(&mut st, inode).map_err(|e| fs_err(sb, e))
        })();
        if r.is_err() {
            // No tree holds the new blocks (the error aborts the filesystem if it changed it).
            if let Some(space) = tx.state().space.as_mut() {
                let _ = space.release(disk, n);
            }
        }
        tx.finish(r)?;
        drop(finishes);
        inode.add_bytes(n * BS);
        data.map_seq.fetch_add(1, Ordering::AcqRel);
        pos = hs + n * BS;
        committed = false;
    }
    let size = inode.size();
    if keep_size || end <= size {
        return Ok(());
    }
    // The old last block's tail reads as zeros once it is inside the file.
    aops::zero_eof_tail(inode, size, end)?;
    inode.truncate_setsize(end);
    // Everything up to `end` is preallocated, a hole or data already counted: the on-disk size
    // may cover it at once.
    data.disk_size.fetch_max(end, Ordering::AcqRel);
    let mut tx = Txn::start(sb, crate::inode::COST_INODE_UPDATE)?;
    let r = crate::inode::update_item(&mut tx.store(), inode).map_err(|e| fs_err(sb, e));
    tx.finish(r)
}

/// The first hole (no file extent) of `ino` in `from..to`: `(start, end)` in bytes.
fn next_hole<S: format::tree::BlockStore>(st: &mut S, root: &format::tree::Root, ino: u64, from: u64, to: u64) -> core::result::Result<Option<(u64, u64)>, FsError> {
    let mut cur = from;
    let mut hole = None;
    fileext::for_each_in_range(st, root, ino, from, to, |off, e| {
        if off > cur {
            hole = Some((cur, off.min(to)));
            return Ok(false);
        }
        cur = cur.max(off.saturating_add(e.len));
        Ok(cur < to)
    })?;
    if hole.is_none() && cur < to {
        hole = Some((cur, to));
    }
    Ok(hole)
}

/// Writes back and waits for `start..end`, then zeroes its partial edge blocks (inside
/// `i_size`) and drops the page cache, delalloc reservations and file extents of the whole
/// blocks in between. The caller holds the inode lock and the invalidate lock.
fn clear_range(inode: &Inode<FerroFs>, start: u64, end: u64) -> Result {
    let data = inode.data();
    // Dirty data of the range reaches its extents first (the edges are zeroed on top of it, the
    // rest is dropped below), and no ordered extent there is left to finish after the punch.
    inode.write_and_wait_range(start, end - 1)?;
    ordered::wait_range(inode, start, end);
    let size = inode.size();
    let (fa, fb) = (start.next_multiple_of(BS), end - end % BS);
    let zero = |a: u64, b: u64| -> Result {
        let b = b.min(size);
        if a < b {
            inode.zero_range(a, b - a)?;
        }
        Ok(())
    };
    if fa > fb {
        // Start and end in one block.
        return zero(start, end);
    }
    zero(start, fa)?;
    zero(fb, end)?;
    if fa == fb {
        return Ok(());
    }
    inode.truncate_pagecache_range(fa, fb - 1);
    // Nothing is dirty there any more (the writeback above, the invalidate lock since).
    ordered::unreserve(inode, fa / BS, fb / BS)?;
    data.map_seq.fetch_add(1, Ordering::AcqRel);
    aops::punch_range(inode, fa, fb)
}

/// `FALLOC_FL_PUNCH_HOLE` (with `KEEP_SIZE`, as the VFS requires): `start..end` reads as zeros
/// and its whole blocks are freed; the size does not change.
fn punch_hole(inode: &Inode<FerroFs>, start: u64, end: u64) -> Result {
    let _inval = inode.invalidate_lock();
    clear_range(inode, start, end)?;
    let sb = inode.sb();
    let mut tx = Txn::start(sb, crate::inode::COST_INODE_UPDATE)?;
    let r = crate::inode::update_item(&mut tx.store(), inode).map_err(|e| fs_err(sb, e));
    tx.finish(r)
}

/// `FALLOC_FL_ZERO_RANGE`: `start..end` reads as zeros and stays allocated (preallocated where
/// it was freed); the size moves up to `end` unless `keep_size`.
fn zero_range(inode: &Inode<FerroFs>, start: u64, end: u64, keep_size: bool) -> Result {
    let _inval = inode.invalidate_lock();
    clear_range(inode, start, end)?;
    allocate(inode, start, end, keep_size)
}

/// Writes back and drops the page cache from `start` to the end of the file and waits for the
/// ordered extents there: a collapse or insert moves all of it. The caller holds the inode lock
/// and the invalidate lock.
fn flush_tail(inode: &Inode<FerroFs>, start: u64) -> Result {
    inode.write_and_wait_range(start, u64::MAX)?;
    ordered::wait_range(inode, start, u64::MAX);
    inode.truncate_pagecache_range(start, u64::MAX);
    ordered::unreserve(inode, start / BS, u64::MAX / BS)?;
    inode.data().map_seq.fetch_add(1, Ordering::AcqRel);
    Ok(())
}

/// Moves the file's items at and after `from` by `delta` (see `fileext::shift`), in bounded
/// transactions; `size` is a new size to record with the last one.
fn shift_items(inode: &Inode<FerroFs>, from: u64, delta: u64, up: bool, size: Option<u64>) -> Result {
    let sb = inode.sb();
    let ino = inode.ino();
    let data = inode.data();
    let mut cursor = None;
    loop {
        let mut tx = Txn::start(sb, Cost { items: 2 * SHIFT_BATCH + 1, class: ReserveClass::Normal })?;
        let r = (|| -> Result<Option<u64>> {
            let mut st = tx.store();
            let mut root = st.state().roots.fs_root;
            let r = fileext::shift(&mut st, &mut root, ino, from, delta, up, cursor, SHIFT_BATCH);
            st.state().roots.fs_root = root;
            let next = r.map_err(|e| fs_err(sb, e))?;
            if next.is_none() {
                if let Some(size) = size {
                    data.disk_size.store(size, Ordering::Release);
                }
            }
            crate::inode::update_item(&mut st, inode).map_err(|e| fs_err(sb, e))?;
            Ok(next)
        })();
        cursor = tx.finish(r)?;
        data.map_seq.fetch_add(1, Ordering::AcqRel);
        if cursor.is_none() {
            if let Some(size) = size {
                // Not under the tree lock: it may wait for folios.
                inode.truncate_setsize(size);
            }
            return Ok(());
        }
    }
}

/// `FALLOC_FL_COLLAPSE_RANGE`: `start..start+len` is removed and what followed moves down by
/// `len`; the file gets `len` shorter.
fn collapse_range(inode: &Inode<FerroFs>, start: u64, len: u64) -> Result {
    let _inval = inode.invalidate_lock();
    flush_tail(inode, start)?;
    let end = start + len;
    aops::punch_range(inode, start, end)?;
    let size = inode.size();
    shift_items(inode, end, len, false, Some(size - len))
}

/// `FALLOC_FL_INSERT_RANGE`: a hole of `len` bytes appears at `start`, what was there moves up
/// by `len`; the file gets `len` longer (first, so no item is ever past its end).
fn insert_range(inode: &Inode<FerroFs>, start: u64, len: u64) -> Result {
    let _inval = inode.invalidate_lock();
    flush_tail(inode, start)?;
    let sb = inode.sb();
    let new_size = inode.size() + len;
    let mut tx = Txn::start(sb, Cost { items: 4, class: ReserveClass::Normal })?;
    let r = (|| -> Result {
        let mut st = tx.store();
        let mut roots = st.state().roots;
        let r = fileext::split_at(&mut st, &mut roots.fs_root, &mut roots.ext_root, inode.ino(), start);
        st.state().roots.fs_root = roots.fs_root;
        st.state().roots.ext_root = roots.ext_root;
        r.map_err(|e| fs_err(sb, e))?;
        inode.data().disk_size.fetch_max(new_size, Ordering::AcqRel);
        crate::inode::update_item(&mut st, inode).map_err(|e| fs_err(sb, e))
    })();
    tx.finish(r)?;
    inode.truncate_setsize(new_size);
    shift_items(inode, start, len, true, None)
}
