// SPDX-License-Identifier: GPL-2.0

//! Direct I/O: `O_DIRECT` reads and writes through iomap's `__iomap_dio_rw`.
//!
//! Every direct write is copy-on-write like a buffered one: its mapping hands iomap freshly
//! allocated blocks under an ordered extent of their own, and the ordered extent's finish (in the
//! write's completion) puts them in the tree. Read [`write_iter`] top to bottom: each step is
//! named, and says which failure of a real filesystem it prevents (the threads are in the
//! project's reading list; the lock order is in `docs/LOCKING.md`).
//!
//! Rules every step relies on:
//! * Nothing on the completion side of a direct write takes the inode lock or a folio lock: the
//!   finish takes the inode's I/O lock, the ordered extent's lock and the tree lock. So a task
//!   holding the inode lock may wait for a direct write's ordered extent (another direct write
//!   of the range, truncate in `inode_dio_wait`, fsync).
//! * Buffered reads and page faults never wait for an ordered extent. So a direct write whose
//!   source buffer is a mapping of the same file can fault that buffer in while its own ordered
//!   extent is unfinished.
//! * A direct read never waits for an ordered extent at all (see [`read_iter`]).

use crate::aops;
use crate::format;
use crate::ordered::{self, Ordered};
use crate::superblock::FerroFs;
use crate::vfs::file::{DioPass, DioReadPin, InodeSharedLock, IovIter, Kiocb, PassRest};
use crate::vfs::inode::{Inode, InodeLock};
use crate::vfs::sb::NoFsScope;
use crate::vfs::iomap::{IomapFlags, MapKind, Mapping};
use core::sync::atomic::Ordering;
use kernel::error::{code, Error, Result};
use kernel::sync::Arc;

const BS: u64 = format::BLOCK_SIZE_U64;

/// The state of one direct I/O request across its passes (iomap's `private`).
#[derive(Default)]
pub(crate) struct DioState {
    /// The ordered extent of the mapping a pass stopped in (a fault of the user buffer ended the
    /// pass short), and the file offset where its unsubmitted part begins. The retry's mapping
    /// continues in it; whatever is left unsubmitted at the end of the write is cancelled. So
    /// one extent, finished once, holds what the passes wrote.
    cached: Option<(Arc<Ordered>, u64)>,
    /// The write asked for O_DSYNC/O_SYNC (its ordered extents say so to the completion of an
    /// asynchronous request).
    sync: bool,
    /// A read pass's SRCU read side, from its first mapping until the pass returns (see
    /// [`read_begin`]).
    read_pin: Option<DioReadPin>,
}

/// The inode lock as a direct write holds it.
enum Held<'a> {
    Shared(#[allow(dead_code)] InodeSharedLock<'a, FerroFs>),
    Exclusive(#[allow(dead_code)] InodeLock<'a, FerroFs>),
}

/// Whether a direct write of `count` bytes at `pos` from a buffer with alignment `mem` can go to
/// the device as it is: file offset, length and memory all block aligned. Copy-on-write cannot
/// write part of a block directly (the rest of the block would have to be copied), and with a
/// block-aligned buffer a fault ends a pass on a block boundary.
fn write_aligned(pos: u64, count: u64, mem: u64) -> bool {
    (pos | count | mem) % BS == 0
}

/// How much of the `left` unsubmitted bytes a write faults in where it stopped at a fault: the
/// prefault window, or all of them when the window is off.
fn fault_in_at_stop(left: usize) -> usize {
    match crate::vfs::file::dio_prefault_window() {
        0 => left,
        window => left.min(window),
    }
}

fn is(e: &Error, c: Error) -> bool {
    e.to_errno() == c.to_errno()
}

/// Whether a direct request is refused with `EAGAIN` before anything is done: asynchronous,
/// `IOCB_NOWAIT`, and from or to user memory spanning pages. io_uring then issues it again from
/// a worker without the flag, where it gets the fault-in and retry.
///
/// Our passes run with page faults disabled, and one that stops part way at a page that is not
/// resident returns short (`IOMAP_DIO_PARTIAL`). iomap waits for the bios such a pass submitted
/// only when the request may block; an asynchronous `IOCB_NOWAIT` one is queued as it is, with
/// no chance to go on after a fault-in, and its completion reports the short count: an io_uring
/// read of four 4 KiB extents into a buffer whose first page alone was resident completed with
/// 4096 bytes (generic/678). A write could end the same way (few get that far: updating the
/// timestamps usually refuses `IOCB_NOWAIT` first, as it needs a transaction). Faulting the buffer
/// in first does not close it (pages can be reclaimed before the pass reaches them) and may
/// block. btrfs refuses NOWAIT direct reads longer than a page for the same reason. Buffers of
/// one page cannot end part way: they fault before anything is submitted (`EFAULT`, retried), and
/// registered io_uring buffers (bvecs) never fault.
fn nowait_may_end_short(iocb: &Kiocb<'_, FerroFs>, iter: &IovIter) -> bool {
    iocb.nowait() && iocb.is_async() && iter.user_multipage()
}

/// `write_iter` with `IOCB_DIRECT`.
pub(crate) fn write_iter(iocb: &Kiocb<'_, FerroFs>, from: &mut IovIter) -> Result<usize> {
    let inode = iocb.inode();
    let nowait = iocb.nowait();
    if nowait_may_end_short(iocb, from) {
        return Err(code::EAGAIN);
    }

    // Step 0: fault in the start of the user buffer (up to `dio_prefault_kib`) before taking
    // anything, as iomap's buffered write does for each chunk. A buffer that is a fresh mapping
    // (generic/708) then does not end the first pass short: such a pass waits for its bios
    // before the retry (iomap's `IOMAP_DIO_PARTIAL` contract), one more device round trip per
    // write. Steps 3 and 4 stay the correctness path: pages reclaimed before the pass reaches
    // them, buffers larger than the window, and a mapping of the range being written end passes
    // short however much is faulted in here. Not for `IOCB_NOWAIT`: faulting in may block.
    let window = crate::vfs::file::dio_prefault_window();
    if !nowait && window > 0 {
        from.fault_in(from.count().min(window), false);
    }

    // Step 1: the inode lock. Shared for a write inside i_size that removes no privileges
    // (many direct writers of one file in parallel), exclusive otherwise; both conditions are
    // checked again under the lock. `IOCB_NOWAIT` only tries. Holding it across the passes keeps
    // truncate out while we fault pages in between them.
    let mut shared = iocb.pos().saturating_add(from.count() as u64) <= inode.size() && inode.nosec();
    let held = loop {
        let held = if shared {
            Held::Shared(inode.lock_shared(nowait).ok_or(code::EAGAIN)?)
        } else {
            Held::Exclusive(if nowait { inode.try_lock().ok_or(code::EAGAIN)? } else { inode.lock() })
        };
        if shared && !inode.nosec() {
            shared = false;
            continue;
        }
        if iocb.write_checks(from)? == 0 {
            return Ok(0);
        }
        // O_APPEND moved the position, or the file shrank before we got the lock.
        if shared && iocb.pos().saturating_add(from.count() as u64) > inode.size() {
            shared = false;
            continue;
        }
        break held;
    };
    iocb.modified()?;
    let (pos, old_size) = (iocb.pos(), inode.size());

    // Step 5, decided up front: a write that cannot go direct is done through the page cache.
    if !write_aligned(pos, from.count() as u64, from.alignment()) {
        drop(held);
        return write_buffered_rest(iocb, from, 0, iocb.dsync());
    }
    if pos > old_size {
        // Exclusive here (the write is past the end): the old last block's tail reads as zeros.
        aops::zero_eof_tail(inode, old_size, pos)?;
    }

    // Step 2: no O_DSYNC inside iomap. Its completion would call generic_write_sync(), that is
    // our fsync, which takes the inode lock this task holds: a self-deadlock (seed 000, the
    // btrfs O_DSYNC deadlock). The sync is done in step 6, after the unlock; an asynchronous
    // request gets it from its completion (`written`), which does not take the inode lock.
    let sync = iocb.take_sync();
    let mut st = DioState { cached: None, sync: sync.any(), read_pin: None };

    // Steps 3 and 4: passes of `__iomap_dio_rw` with page faults disabled. A fault of the user
    // buffer stops the bios of a mapping short instead of faulting while iomap builds them: the
    // buffer may be a mapping of this very file (generic/708). `write_end` then faults the rest
    // in, between that mapping and the next, and the pass goes on in the cached ordered extent;
    // a pass that still ends short (EFAULT, or a short count: the first page faulted, or the
    // fault-in did not last) is retried here after another fault-in, and goes on where it
    // stopped.
    let mut written = 0usize;
    let mut prev_left = 0usize;
    let mut queued = false;
    let mut fallback = false;
    let mut err: Option<Error> = None;
    loop {
        match iocb.dio_write(from, written, &mut st) {
            Ok(DioPass::Queued) => {
                // Asynchronous: the completion reports, the kiocb is not ours any more.
                queued = true;
                break;
            }
            Ok(DioPass::Done(n)) => written = written.max(n),
            Err(e) if is(&e, code::EFAULT) => {}
            // The page cache of the range could not be invalidated: go through it.
            Err(e) if is(&e, crate::vfs::enotblk()) => {
                fallback = true;
                break;
            }
            Err(e) => {
                err = Some(e);
                break;
            }
        }
        let left = from.count();
        // `IOCB_NOWAIT` does not fault in (it may block): the caller gets what was written, or
        // `EAGAIN` and tries again without the flag.
        if left == 0 || nowait {
            break;
        }
        // No progress since the last fault-in: the buffer is a mapping of the range being
        // written (iomap invalidated it before faulting it in) or cannot be faulted in. The
        // rest goes through the page cache (step 5) instead of looping.
        if left == prev_left {
            fallback = true;
            break;
        }
        // The cached ordered extent stays cached here: nothing that waits for an ordered
        // extent holds what this fault-in needs (see the module's rules). As much as step 0
        // faults in (all of the rest when that is off); `write_end` usually did already.
        from.fault_in(fault_in_at_stop(left), false);
        prev_left = left;
    }
    // Step 4, the end: the cached extent's never-submitted tail is cancelled: its blocks are
    // freed, no file extent is inserted, and it is not an I/O error. The extent finishes exactly
    // once, with what was written: a fault mid-write never leaves a range reading back as zeros
    // (seed 001, the btrfs partial-write corruption), and every exit of the loop lands here, so
    // no ordered extent waits forever for bytes nobody will write (the first version of that
    // fix hung generic/250 and 276 on dm-error).
    if let Some((o, next)) = st.cached.take() {
        ordered::dio_cancel_tail(inode, &o, next);
    }
    if let Some(e) = err {
        // A failed pass extended nothing; an earlier one of this write may have, with data
        // that the failure then discarded: i_size never covers more than what was written.
        if matches!(held, Held::Exclusive(_)) && inode.size() > old_size {
            inode.set_size(old_size.max(inode.data().disk_size.load(Ordering::Acquire)));
        }
        drop(held);
        if !queued {
            iocb.restore_sync(sync);
        }
        return Err(e);
    }
    drop(held);
    if queued {
        return Err(crate::vfs::eiocbqueued());
    }
    iocb.restore_sync(sync);

    if fallback || from.count() > 0 {
        if nowait {
            // Buffered I/O and its flush would block.
            return if written > 0 { Ok(written) } else { Err(code::EAGAIN) };
        }
        return write_buffered_rest(iocb, from, written, sync.any());
    }
    // Step 6: O_DSYNC for exactly the bytes written, without the inode lock.
    if sync.any() && written > 0 {
        return iocb.write_sync(written);
    }
    Ok(written)
}

/// Step 5: what the direct passes did not write goes through the page cache (seed 004: gfs2
/// finishes short direct writes this way; generic/240 expects a whole write or an error). Then
/// the range is written back and dropped from the page cache, so the next direct read finds it
/// on disk. Returns all bytes written, `done` included, synced when `sync`.
fn write_buffered_rest(iocb: &Kiocb<'_, FerroFs>, from: &mut IovIter, done: usize, sync: bool) -> Result<usize> {
    let inode = iocb.inode();
    if iocb.nowait() {
        return if done > 0 { Ok(done) } else { Err(code::EAGAIN) };
    }
    let size_before = inode.size();
    let n = match aops::buffered_write(iocb, from) {
        Ok(n) => n,
        Err(_) if done > 0 => return Ok(done),
        Err(e) => return Err(e),
    };
    if n > 0 {
        let end = iocb.pos();
        if let Err(e) = inode.flush_invalidate(end.saturating_sub(n as u64), end.saturating_sub(1)) {
            // The data did not reach the disk and the write reports the error: the size it
            // gave the file goes back, as it does when a direct pass fails.
            let _lock = inode.lock();
            if inode.size() == end && end > size_before {
                aops::truncate(inode, size_before.max(inode.data().disk_size.load(Ordering::Acquire)))?;
            }
            return Err(e);
        }
    }
    let total = done.saturating_add(n);
    if sync && total > 0 {
        return iocb.write_sync(total);
    }
    Ok(total)
}

/// The direct write path's mapping at `pos`: the rest of the cached ordered extent when a pass
/// resumes in it; otherwise, in preallocated space, the preallocated blocks themselves (written
/// in place, converted by the finish); otherwise new blocks under a new ordered extent.
pub(crate) fn write_begin(inode: &Inode<FerroFs>, pos: u64, len: u64, flags: IomapFlags, st: &mut DioState) -> Result<Mapping> {
    if let Some((o, next)) = st.cached.take() {
        if next == pos {
            if let Some((addr, n)) = ordered::dio_remainder(&o, pos) {
                let m = blocks_of(&o, pos, n.min(len), addr);
                st.cached = Some((o, next));
                return Ok(m);
            }
        }
        // A pass always resumes where the one before stopped; should it not, the old extent's
        // tail is finished before anything else.
        ordered::dio_cancel_tail(inode, &o, next);
    }
    if pos % BS != 0 || len == 0 {
        return Err(code::EINVAL);
    }
    if let Some((o, addr, n)) = ordered::dio_in_place(inode, pos, len, flags.nowait(), st.sync)? {
        let m = blocks_of(&o, pos, n.min(len), addr);
        st.cached = Some((o, pos));
        return Ok(m);
    }
    let (o, addr, n) = ordered::dio_alloc(inode, pos, len, flags.nowait(), st.sync)?;
    st.cached = Some((o, pos));
    Ok(new_blocks(pos, n.min(len), addr))
}

/// The mapping of blocks at `addr` of the ordered extent `o`: new blocks, or preallocated ones
/// written in place (unwritten to iomap, which then never uses FUA in place of our sync).
fn blocks_of(o: &Ordered, pos: u64, len: u64, addr: u64) -> Mapping {
    if o.in_place() {
        return Mapping::new(MapKind::Unwritten(addr), pos, len);
    }
    new_blocks(pos, len, addr)
}

fn new_blocks(pos: u64, len: u64, addr: u64) -> Mapping {
    let mut m = Mapping::new(MapKind::Mapped(addr), pos, len);
    m.new = true;
    m
}

/// After a direct write's mapping: `written` of its `len` bytes were submitted. The extent stays
/// cached while part of it is unsubmitted (a retry continues in it, or the end cancels it).
///
/// Step 4, in the pass: the mapping's bios stopped short at a fault of the user buffer. Left to
/// itself, iomap would find the next page missing too and end the pass, then wait for the bios
/// it submitted (the `IOMAP_DIO_PARTIAL` contract) before `write_iter` could fault the rest in
/// and retry: a device round trip per fault, a fifth of a 1 MiB write here. So the rest (up to
/// the prefault window) is faulted in now, and iomap goes on with the next mapping, which
/// continues in the cached extent; the bios submitted so far wait in the pass's plug or are in
/// flight. Held here is what the retry's own fault-in holds (the inode lock, the cached extent;
/// see the module's rules) and those bios, which page faults never wait for; no tree, I/O-state
/// or folio lock. A mapping of the very range being written reads back what it held before
/// the write (the write's extent is unfinished), which is what the buffer had; iomap drops it
/// from the page cache again when the pass is done.
///
/// Not under `IOCB_NOWAIT`: such a write makes no retry (faulting in would block), and an
/// asynchronous one whose pass ends short is queued with its bios in flight. Its completion may
/// then finish the extent and, for O_DSYNC, commit and report it durable; a tail cancelled after
/// that (by `write_iter`, once the pass has returned) would finish the extent after the commit.
/// So the tail is cancelled here, before the pass returns, and the completion finishes the extent.
pub(crate) fn write_end(
    inode: &Inode<FerroFs>,
    pos: u64,
    len: u64,
    written: u64,
    flags: IomapFlags,
    st: &mut DioState,
    rest: &PassRest<'_>,
) {
    if written < len && !flags.nowait() {
        rest.fault_in(fault_in_at_stop(rest.count()), false);
        crate::vfs::file::count_dio_retry();
    }
    if let Some((o, next)) = st.cached.take() {
        let next = next.max(pos.saturating_add(written));
        if ordered::dio_remainder(&o, next).is_some() {
            if flags.nowait() {
                ordered::dio_cancel_tail(inode, &o, next);
            } else {
                st.cached = Some((o, next));
            }
        }
    }
}

/// A direct write's pass completed (iomap's `end_io`, process context, the inode lock maybe
/// held by the writer): the written bytes finish their ordered extents. An asynchronous
/// O_DSYNC request is made durable here, before its completion is reported: a commit, which
/// flushes the device cache with the tree, and not our fsync, which would take the inode lock
/// (the writer may hold it, and truncate holds it while `inode_dio_wait` waits for us).
pub(crate) fn written(inode: &Inode<FerroFs>, pos: u64, size: u64, error: Option<Error>, async_iocb: bool) -> Result {
    crate::vfs::file::dio_write_end_delay();
    let sync = size > 0 && ordered::dio_written(inode, pos, size, error.is_none());
    if let Some(e) = error {
        return Err(e);
    }
    if sync && async_iocb {
        crate::transaction::commit(inode.sb())?;
    }
    Ok(())
}

/// `read_iter` of a regular file. Direct reads go through iomap with page faults disabled (the
/// same fault-in and retry as writes; the destination may be a mapping of this file), under the
/// shared inode lock; reads iomap cannot do directly (misaligned for the device) and what a
/// fallback leaves go through the page cache.
pub(crate) fn read_iter(iocb: &Kiocb<'_, FerroFs>, to: &mut IovIter) -> Result<usize> {
    if !iocb.direct() {
        return iocb.buffered_read(to, 0);
    }
    let inode = iocb.inode();
    let count = to.count() as u64;
    if count == 0 {
        return Ok(0);
    }
    if (iocb.pos() | count | to.alignment()) % inode.dev_block_size().max(1) != 0 {
        return iocb.buffered_read(to, 0);
    }
    if nowait_may_end_short(iocb, to) {
        return Err(code::EAGAIN);
    }
    let mut done = 0usize;
    let mut prev_left = 0usize;
    {
        let _held = inode.lock_shared(iocb.nowait()).ok_or(code::EAGAIN)?;
        let mut st = DioState::default();
        loop {
            let pass = {
                // The pass is a reader of freed blocks (see `read_begin`): its allocations must
                // not recurse into the filesystem, whose eviction might commit and wait for it.
                let _nofs = NoFsScope::enter();
                let r = iocb.dio_read(to, done, &mut st);
                // Its bios are submitted (each holds its own read side until it completes).
                st.read_pin = None;
                r
            };
            match pass {
                Ok(DioPass::Queued) => return Err(crate::vfs::eiocbqueued()),
                Ok(DioPass::Done(n)) => done = done.max(n),
                Err(e) if is(&e, code::EFAULT) => {}
                Err(e) => return Err(e),
            }
            let left = to.count();
            if left == 0 || iocb.pos() >= inode.size() {
                return Ok(done);
            }
            // No progress: a buffered write's ordered extent is in the way (see `read_begin`),
            // or the buffer cannot be faulted in. The page cache does the rest.
            if left == prev_left {
                break;
            }
            to.fault_in(left, true);
            prev_left = left;
        }
    }
    if iocb.nowait() {
        return if done > 0 { Ok(done) } else { Err(code::EAGAIN) };
    }
    iocb.buffered_read(to, done)
}

/// The direct read path's mapping at `pos`. iomap flushed and waited for the range's dirty page
/// cache before the first mapping, so a buffered write's ordered extent found here is a newer
/// write racing this read. We do not wait for it: its completion needs its writeback to get
/// folio locks, and a task writing that range may hold a folio lock while it waits for
/// something of ours (seed 003, the btrfs deadlock between direct reads and buffered writes).
/// The read stops here (`ENOTBLK`) and the page cache, which holds that newer data, serves the
/// rest.
///
/// The blocks mapped here may be freed by a racing finish (a newer copy-on-write of the range)
/// before this read's bios read them. So before the first mapping the pass becomes an SRCU
/// reader ([`DioReadPin`]), and a commit makes the blocks its transaction freed reusable only
/// after a grace period: until every read that might have mapped them is done, they hold no
/// other file's data. The read side starts after iomap's flush, which may wait for a writeback
/// completion that waits for a commit.
pub(crate) fn read_begin(inode: &Inode<FerroFs>, pos: u64, len: u64, flags: IomapFlags, st: &mut DioState) -> Result<Mapping> {
    if st.read_pin.is_none() {
        st.read_pin = Some(DioReadPin::take());
    }
    let m = crate::file::map_blocks(inode, pos, len)?;
    if ordered::buffered_pending(inode, pos, m.offset.saturating_add(m.length)) {
        return Err(if flags.nowait() { code::EAGAIN } else { crate::vfs::enotblk() });
    }
    Ok(m)
}
