// SPDX-License-Identifier: GPL-2.0

//! Buffered file data: `write(2)` through the page cache, the mappings iomap asks for on the
//! buffered write path (with the delayed-allocation reservation), writeback's block allocation,
//! `fsync` and truncate.
//!
//! Every write is copy-on-write: the page cache takes the new data at `write(2)` (space reserved
//! then), writeback puts it in freshly allocated blocks under an ordered extent, and the
//! ordered extent's finish replaces the old extents (see [`crate::ordered`]).

use crate::format::{self, fileext};
use crate::format::space::ReserveClass;
use crate::ordered::{self, WritebackState};
use crate::superblock::{fs_err, with_tree, FerroFs};
use crate::transaction::{self, Cost, Txn};
use crate::vfs::file::{OpenFile, IovIter, Kiocb, SwapFile};
use crate::vfs::inode::Inode;
use crate::vfs::iomap::{IomapFlags, MapKind, Mapping};
use core::sync::atomic::Ordering;
use kernel::error::{code, Result};
use kernel::prelude::*;

const BS: u64 = format::BLOCK_SIZE_U64;

/// `Mapping::private` of a buffered write's mapping whose blocks were reserved by this call.
const RESERVED_NOW: u64 = 1;

/// Items a truncate step removes at most (a file with more extents is cut in several
/// transactions, from the end backwards).
pub(crate) const TRUNCATE_BATCH: u64 = 64;

/// Growing a file from `old` to `new` bytes (a write past the end, a truncate up): the old last
/// block's tail, up to `new`, reads as zeros afterwards.
pub(crate) fn zero_eof_tail(inode: &Inode<FerroFs>, old: u64, new: u64) -> Result {
    if old % BS == 0 {
        return Ok(());
    }
    inode.zero_range(old, old.next_multiple_of(BS).min(new) - old)
}

/// `write_iter` of a regular file: direct writes go to [`crate::dio`], the rest through the
/// page cache.
pub(crate) fn write_iter(iocb: &Kiocb<'_, FerroFs>, from: &mut IovIter) -> Result<usize> {
    // A descriptor opened for writing before `chattr +i` (open refuses it after), as ext4.
    if iocb.inode().is_immutable() {
        return Err(code::EPERM);
    }
    if iocb.direct() {
        return crate::dio::write_iter(iocb, from);
    }
    let written = buffered_write(iocb, from)?;
    // O_DSYNC/O_SYNC after the inode lock is dropped: our fsync takes it.
    if written > 0 {
        return iocb.write_sync(written);
    }
    Ok(written)
}

/// A buffered write under the inode lock (taken and dropped here); no O_DSYNC handling (the
/// caller syncs after the lock is dropped). Returns the bytes copied.
pub(crate) fn buffered_write(iocb: &Kiocb<'_, FerroFs>, from: &mut IovIter) -> Result<usize> {
    let inode = iocb.inode();
    let _lock = match iocb.nowait() {
        true => inode.try_lock().ok_or(code::EAGAIN)?,
        false => inode.lock(),
    };
    if iocb.write_checks(from)? == 0 {
        return Ok(0);
    }
    iocb.modified()?;
    let (pos, size) = (iocb.pos(), inode.size());
    if pos > size {
        zero_eof_tail(inode, size, pos)?;
    }
    iocb.buffered_write(from)
}

/// The buffered write path's mapping at `pos` (a write, a write fault or a zeroing): the current
/// extent or hole, limited to a run of blocks that share one reservation state, reserving the
/// run when it was not reserved yet.
pub(crate) fn write_begin(inode: &Inode<FerroFs>, pos: u64, len: u64, flags: IomapFlags) -> Result<(Mapping, Option<Mapping>)> {
    let data = inode.data();
    // Taken before the lookup: a finish that changes the map after it makes the mapping stale.
    let cookie = data.map_seq.load(Ordering::Acquire);
    // Unsharing (fallocate's UNSHARE_RANGE through iomap_file_unshare) needs to know which
    // extents are shared: the reporting mapping (FIEMAP's) says so.
    let unshare = flags.unshare();
    let mut m = if unshare { crate::file::map_report(inode, pos, len)? } else { crate::file::map_blocks(inode, pos, len)? };
    m.cookie = cookie;
    if flags.zero() && matches!(m.kind, MapKind::Hole | MapKind::Unwritten(_)) {
        // Zeroing leaves holes and preallocated ranges alone: nothing is dirtied.
        return Ok((m, None));
    }
    if let MapKind::Unwritten(_) = m.kind {
        // Preallocated: writeback writes these blocks in place, no new space is needed (so a
        // write into space fallocate(2) set aside never fails with ENOSPC).
        return Ok((m, None));
    }
    // Unsharing dirties only blocks of shared extents, which iomap knows by IOMAP_F_SHARED and
    // a source mapping to read them from; holes, delalloc and extents of this file alone are
    // skipped, nothing reserved for them.
    if unshare && !(matches!(m.kind, MapKind::Mapped(_)) && m.shared) {
        return Ok((m, None));
    }
    let a = m.offset / BS;
    // Only what this write covers: an extent's mapping reaches to its end, and reserving all of
    // it for a small overwrite would hold (and count in i_blocks) space never dirtied.
    let want_end = pos.saturating_add(len.max(1)).div_ceil(BS);
    let b = m.offset.saturating_add(m.length).div_ceil(BS).min(want_end).max(a + 1);
    m.length = m.length.min((b - a) * BS);
    // Blocks written over a hole count in i_blocks at once; an overwrite's old blocks are counted.
    let r = ordered::reserve(inode, a, b, m.kind == MapKind::Hole, flags.nowait())?;
    m.length = m.length.min(r.blocks * BS);
    if r.new {
        m.private = RESERVED_NOW;
    }
    if unshare {
        // Read from where the blocks are now; writeback gives them new ones (copy-on-write).
        return Ok((m, Some(Mapping::new(m.kind, m.offset, m.length))));
    }
    Ok((m, None))
}

/// After a buffered write's chunk: blocks reserved for it that a short copy left clean get their
/// reservation back.
pub(crate) fn write_end(inode: &Inode<FerroFs>, pos: u64, len: u64, written: u64, m: &Mapping) -> Result {
    if m.private != RESERVED_NOW || written >= len {
        return Ok(());
    }
    let first_clean = pos.saturating_add(written).div_ceil(BS);
    let end = m.offset.saturating_add(m.length).div_ceil(BS);
    ordered::unreserve(inode, first_clean, end)
}

/// Whether a buffered write's mapping is still current (no finish changed the map since).
pub(crate) fn mapping_valid(inode: &Inode<FerroFs>, m: &Mapping) -> bool {
    inode.data().map_seq.load(Ordering::Acquire) == m.cookie
}

/// Writeback's mapping for the dirty range at `pos`: new blocks (copy-on-write).
pub(crate) fn writeback_map(inode: &Inode<FerroFs>, st: &mut WritebackState, pos: u64, len: u64) -> Result<Mapping> {
    let (addr, n) = ordered::writeback_alloc(inode, st, pos - pos % BS, len)?;
    Ok(Mapping::new(MapKind::Mapped(addr), pos - pos % BS, n))
}

/// `fsync`/`fdatasync`: writes back the range, waits for its ordered extents, commits. Takes the
/// inode lock for the wait and the commit (the direct I/O path relies on that).
pub(crate) fn fsync(file: &OpenFile<'_, FerroFs>, start: u64, end: u64) -> Result {
    let inode = file.inode();
    // A writeback error (reported once per file) is the answer, without a commit: the data is
    // not on disk anyway, and a device that failed it would likely fail the commit's metadata
    // writes too and take the filesystem read-only (ext4 and XFS return before their journal
    // flush likewise; fstests generic/441). The next fsync commits.
    file.write_and_wait(start, end)?;
    let _lock = inode.lock();
    ordered::wait_range(inode, start, end.saturating_add(1));
    transaction::commit(inode.sb())
}

/// The size change of a truncate (`setattr` with `ATTR_SIZE`; the inode lock is held). Shrinking
/// (or keeping the size when blocks are allocated past the end) zeroes the tail of the new last
/// block, drops the page cache past it, waits for writes in flight there and frees the extents
/// past it; growing leaves a hole.
pub(crate) fn truncate(inode: &Inode<FerroFs>, size: u64) -> Result {
    let old = inode.size();
    let data = inode.data();
    inode.dio_wait();
    let from = size.next_multiple_of(BS);
    // A truncate to the same size still frees what is allocated past the end (blocks that
    // fallocate(KEEP_SIZE) set aside), as on ext4 and XFS; one lookup tells whether there is any.
    let trim = size == old && with_tree(inode.sb(), |st, root| fileext::first_overlapping(st, &root, inode.ino(), from, u64::MAX))?.is_some();
    if size == old && !trim {
        return Ok(());
    }
    if size > old {
        zero_eof_tail(inode, old, size)?;
        inode.truncate_setsize(size);
        // The new range is a hole: the on-disk size may cover it at once.
        data.disk_size.store(size, Ordering::Release);
        return Ok(());
    }
    if size % BS != 0 {
        inode.zero_range(size, size.next_multiple_of(BS) - size)?;
    }
    inode.truncate_setsize(size);
    ordered::wait_range(inode, from, u64::MAX);
    ordered::unreserve(inode, from / BS, u64::MAX / BS)?;
    data.map_seq.fetch_add(1, Ordering::AcqRel);
    punch_tail(inode, from, size)
}

/// Frees the extents at and after `from`, in bounded steps from the end backwards; the last
/// step records the new on-disk size `size`. On a filesystem so full that the reserve pool
/// cannot cover a big step's worst case, one item a step (each frees space for the next), as
/// eviction does.
fn punch_tail(inode: &Inode<FerroFs>, from: u64, size: u64) -> Result {
    let sb = inode.sb();
    let ino = inode.ino();
    let mut batch = TRUNCATE_BATCH;
    loop {
        let cut = with_tree(sb, |st, root| fileext::nth_from_end(st, &root, ino, from, batch + 1))?;
        // More than a batch left: cut the last batch only (from the start of its first item).
        let step_from = match cut {
            Some(_) => with_tree(sb, |st, root| fileext::nth_from_end(st, &root, ino, from, batch))?.unwrap_or(from),
            None => from,
        };
        let last = cut.is_none();
        if smaller_step(punch_step(inode, step_from, u64::MAX, last.then_some(size)), &mut batch)? {
            continue;
        }
        if last {
            return Ok(());
        }
    }
}

/// Whether a punch step of `batch` items must be done again one item at a time: it found no
/// space for its reservation (`ENOSPC`), which one item's may fit. Other errors are returned.
fn smaller_step(r: Result, batch: &mut u64) -> Result<bool> {
    match r {
        Err(e) if e == code::ENOSPC && *batch > 1 => {
            *batch = 1;
            Ok(true)
        }
        r => r.map(|()| false),
    }
}

/// Frees the file's extents in `from..to` (block aligned), in bounded transactions from the
/// start (one item a step when the space for a bigger one is not there, as [`punch_tail`]). The
/// caller has dropped the range's page cache, delalloc reservations and ordered extents (and
/// holds the inode and invalidate locks, so none come back).
pub(crate) fn punch_range(inode: &Inode<FerroFs>, from: u64, to: u64) -> Result {
    let ino = inode.ino();
    let sb = inode.sb();
    let mut from = from;
    let mut batch = TRUNCATE_BATCH;
    loop {
        // More than a batch of items: this step ends where the next batch's first item starts.
        let cut = with_tree(sb, |st, root| {
            let (mut n, mut at) = (0u64, None);
            fileext::for_each_in_range(st, &root, ino, from, to, |off, _| {
                n += 1;
                if n > batch {
                    at = Some(off.max(from));
                    return Ok(false);
                }
                Ok(true)
            })?;
            Ok(at)
        })?;
        if smaller_step(punch_step(inode, from, cut.unwrap_or(to), None), &mut batch)? {
            continue;
        }
        match cut {
            Some(c) if c > from => from = c,
            _ => return Ok(()),
        }
    }
}

/// Frees the file's extents in `from..to` (block aligned; `u64::MAX`: to the end), at most
/// [`TRUNCATE_BATCH`] items of them, in one transaction; `size` is a new on-disk size to record
/// with it. The caller has dropped the range's page cache, delalloc reservations and ordered
/// extents (and holds the inode and invalidate locks: no extent appears in the range).
pub(crate) fn punch_step(inode: &Inode<FerroFs>, from: u64, to: u64, size: Option<u64>) -> Result {
    let sb = inode.sb();
    let ino = inode.ino();
    let data = inode.data();
    // The reservation is for the items there, not a whole batch: on a small full filesystem a
    // batch's worst case is more than the reserve pool (a 256 MiB one has 1024 blocks; 64 items
    // cost about 1600), and freeing space or a clone over a hole must not fail for it.
    let n = with_tree(sb, |st, root| {
        let mut n = 0u64;
        fileext::for_each_in_range(st, &root, ino, from, to, |_, _| {
            n += 1;
            Ok(n <= TRUNCATE_BATCH)
        })?;
        Ok(n)
    })?;
    if n == 0 && size.is_none() {
        return Ok(());
    }
    let items = fileext::items_changed_bound(n.min(TRUNCATE_BATCH)) + 1;
    // Blocks an in-place write is still writing are not freed under it (see ordered::InPlace).
    let _finishing = ordered::hold_finishes(inode);
    let mut in_place = ordered::InPlace::take(inode)?;
    let mut tx = Txn::start(sb, Cost { items, class: ReserveClass::Unlink })?;
    let r = (|| -> Result<u64> {
        let mut st = tx.store();
        let mut roots = st.state().roots;
        let mut freed: KVec<(u64, u64)> = KVec::new();
        let removed = fileext::punch(&mut st, &mut roots.fs_root, &mut roots.ext_root, ino, from, to, &mut |s, l| {
            freed.push((s, l), GFP_KERNEL).map_err(|_| format::FsError::NoSpace)
        });
        st.state().roots.fs_root = roots.fs_root;
        st.state().roots.ext_root = roots.ext_root;
        let removed = removed.map_err(|e| fs_err(sb, e))?;
        for (s, l) in freed {
            in_place.free(&mut st, s, l).map_err(|e| fs_err(sb, e))?;
        }
        let b = data.disk_bytes.load(Ordering::Acquire);
        data.disk_bytes.store(b.saturating_sub(removed), Ordering::Release);
        if let Some(size) = size {
            data.disk_size.store(size, Ordering::Release);
        }
        crate::inode::update_item(&mut st, inode).map_err(|e| fs_err(sb, e))?;
        Ok(removed)
    })();
    let removed = tx.finish(r)?;
    in_place.hand_over();
    inode.sub_bytes(removed);
    Ok(())
}

/// `swapon(2)` of `inode` (locked by swapon): makes everything written and committed (the work of
/// fsync, whose lock swapon holds already), then hands the swap code the file's block ranges,
/// page-aligned, up to the last whole page. Holes, delayed allocation and shared extents refuse the
/// file (`EINVAL`); preallocated extents are fine (the swap code writes them in place; what it
/// wrote is never read through the file). ferrofs never moves an extent behind a file's back, and
/// while the file is a swap file `S_SWAPFILE` refuses every change that would copy-on-write, free
/// or share its blocks (write, truncate, fallocate, remap), so the ranges stay the file's.
pub(crate) fn swap_activate(inode: &Inode<FerroFs>, swap: &mut SwapFile) -> Result<(u32, u64)> {
    const PAGE: u64 = kernel::page::PAGE_SIZE as u64;
    inode.write_and_wait_range(0, u64::MAX)?;
    ordered::wait_range(inode, 0, u64::MAX);
    transaction::commit(inode.sb())?;
    let refuse = |why: &str| {
        pr_err!("{}: swapon: inode {} {why}\n", inode.sb().id(), inode.ino());
        Err(code::EINVAL)
    };
    let end = inode.size() / PAGE * PAGE;
    let max = swap.max_pages();
    let (mut nr_pages, mut extents) = (0u64, 0u32);
    let (mut lowest, mut highest) = (u64::MAX, 0u64);
    // The physical run being gathered: (file offset, device address, length).
    let mut run: Option<(u64, u64, u64)> = None;
    // Adds a physical run, trimmed to whole pages, as swap pages `nr_pages..`.
    let mut add = |(off, addr, len): (u64, u64, u64), nr_pages: &mut u64, extents: &mut u32| -> Result {
        if *nr_pages >= max {
            return Ok(());
        }
        let first = addr.div_ceil(PAGE);
        let next = addr.saturating_add(len) / PAGE;
        if first >= next {
            return Ok(());
        }
        let n = (next - first).min(max - *nr_pages);
        // The file's first page is the swap header, which holds no swapped data.
        lowest = lowest.min(if off == 0 { first + 1 } else { first });
        highest = highest.max(next - 1);
        *extents = extents.saturating_add(swap.add_extent(*nr_pages, n, first)?);
        *nr_pages += n;
        Ok(())
    };
    let mut pos = 0;
    while pos < end {
        let m = crate::file::map_report(inode, pos, end - pos)?;
        let addr = match m.kind {
            MapKind::Mapped(a) | MapKind::Unwritten(a) => a,
            _ => return refuse("has unallocated extents"),
        };
        if m.shared {
            return refuse("has shared extents");
        }
        let skip = pos.saturating_sub(m.offset);
        let len = m.offset.saturating_add(m.length).min(end).saturating_sub(pos);
        if len == 0 {
            pr_err!("{}: swapon: inode {}: empty mapping at {pos}\n", inode.sb().id(), inode.ino());
            return Err(crate::vfs::euclean());
        }
        let addr = addr.saturating_add(skip);
        run = match run {
            Some((o, a, l)) if a.saturating_add(l) == addr => Some((o, a, l + len)),
            Some(r) => {
                add(r, &mut nr_pages, &mut extents)?;
                Some((pos, addr, len))
            }
            None => Some((pos, addr, len)),
        };
        pos += len;
    }
    if let Some(r) = run {
        add(r, &mut nr_pages, &mut extents)?;
    }
    if nr_pages == 0 {
        return refuse("has not a single usable page");
    }
    swap.set_pages(nr_pages);
    Ok((extents, 1 + highest.saturating_sub(lowest)))
}
