// SPDX-License-Identifier: GPL-2.0

//! Transactions and commits.
//!
//! Every change joins the running transaction, generation G = last committed + 1, under the
//! per-filesystem tree lock ([`TreeState`] in `Info::tree`). A change reserves its worst-case
//! metadata space first ([`Txn::start`]), so `ENOSPC` comes before anything is modified. The tree
//! code (the `format` crate, the same code `mkfs.ferrofs` and `fsck.ferrofs` run) copies every node
//! it changes that an earlier generation wrote; nodes written in G are changed in place in the
//! block device's page cache and put on G's dirty list. Those buffers are marked changed, not
//! dirty (`BufferHead::mark_changed`): only the commit writes them. The block device's own
//! writeback would otherwise write them at any time, and a failed write there (a bad disk, dm
//! error targets) clears the buffer's contents, so the next lookup would read the stale block
//! from the disk. The dirty list holds a reference on each buffer, which keeps its clean folio
//! in memory until the commit. Blocks freed in G stay allocated in the free-space map ("pinned")
//! until commit G is on disk.
//!
//! A commit ([`commit`]) has two phases:
//! 1. under the tree lock: `format::commit::seal` records the metadata allocations in the extent
//!    tree, the new superblock is made, the dirty list and the pinned ranges are taken, and the
//!    running generation becomes G + 1 — changes go on at once, copying what G wrote;
//! 2. without the tree lock (serialised by `Info::commit_lock`): `format::commit::write_out` writes
//!    G's dirty blocks, flushes the device cache, writes the primary superblock with FUA and the
//!    backup with FUA. Only then, and once every direct read that might have mapped them is done
//!    (an SRCU grace period started when they were taken), are G's pinned ranges released for
//!    reuse.
//!
//! A crash at any instant leaves the old tree or the new one. A failed write does not reach the
//! superblock, so the disk keeps the last good commit; the failed commit is kept in memory and the
//! next one writes it again with its own changes (its blocks keep their contents in memory: a
//! failed write leaves them up to date, and they stay referenced; the ranges it freed stay
//! pinned). A transient error (a path failing over, a device-mapper table being replaced, fstests
//! generic/441's window) then costs nothing. A commit that still fails `commit_retry_secs` (a
//! module parameter, 30 by default) after the first failure of the run aborts: the filesystem
//! turns read-only with one message, nothing is committed again, and the disk keeps the last good
//! commit. A dead device so costs at most that long of metadata changes held in memory.

use crate::format::commit::{self, CommitIo, TxnRoots};
use crate::format::space::{Budget, ReserveClass, SpaceMap};
use crate::format::tree::{BlockStore, MetaChange};
use crate::format::{DiskSuper, FsError, BLOCK_SIZE};
use crate::superblock::FerroFs;
use crate::vfs::buffer::{BhFlag, BufferHead};
use crate::vfs::file::{commit_retry_ms, ReadGrace};
use crate::vfs::sb::{NoFsScope, SuperBlock};
use core::sync::atomic::Ordering;
use kernel::error::{code, Error, Result};
use kernel::time::{ktime_ms_delta, Ktime};
use kernel::prelude::*;
use kernel::sync::lock::{mutex::MutexBackend, Guard};

/// Dirty metadata blocks after which a commit is started at once (16 MiB).
const DIRTY_LIMIT: usize = 4096;

/// The free-space map's storage (the kernel `Vec` does not implement `AsRef<[T]>`).
pub(crate) struct MapWords(pub(crate) KVVec<u64>);

impl AsRef<[u64]> for MapWords {
    fn as_ref(&self) -> &[u64] {
        &self.0
    }
}

impl AsMut<[u64]> for MapWords {
    fn as_mut(&mut self) -> &mut [u64] {
        &mut self.0
    }
}

/// Everything the tree lock protects.
pub(crate) struct TreeState {
    /// The roots and counters of the running transaction.
    pub(crate) roots: TxnRoots,
    /// The running transaction's generation (last committed + 1).
    pub(crate) gen: u64,
    /// The last committed superblock.
    pub(crate) committed: DiskSuper,
    /// The free-space map; `None` until the first read-write mount loads it.
    pub(crate) space: Option<SpaceMap<MapWords>>,
    /// Space reserved by changes in progress and by the running transaction.
    pub(crate) budget: Budget,
    /// Reservations the running transaction holds until its commit.
    txn_reserved: u64,
    /// Buffers written in the running transaction (each once: `BhFlag::InTxn`).
    dirty: KVec<BufferHead>,
    /// Buffers of failed commits, written again (first) by the next commit.
    unwritten: KVec<BufferHead>,
    /// When the first of the commits that failed since the last good one failed.
    failing_since: Option<Ktime>,
    /// Metadata allocations and frees for the extent tree (FIFO from `changes_head`); `None` is an
    /// allocation cancelled by the free of the same block before it was recorded.
    changes: KVec<Option<MetaChange>>,
    changes_head: usize,
    /// Ranges freed in the running transaction: allocated in the map until its commit is durable.
    pinned: KVec<(u64, u64)>,
    /// Whether the running transaction changed anything.
    changed: bool,
    /// Read holds `(id, first block, blocks)`: the blocks a direct write's finish took out of a
    /// file, while buffered reads that mapped them before the finish may still be reading them
    /// (see `ordered::end_read_hold`). A commit releases no freed range a hold overlaps.
    read_holds: KVec<(u64, u64, u64)>,
    /// The id the next read hold gets.
    next_read_hold: u64,
    /// Ranges a commit freed while a read hold overlapped them: free on disk, still allocated in
    /// the map; pinned again (for the next commit to release) once no hold overlaps them.
    held_back: KVec<(u64, u64)>,
    /// The label the next commit writes (`FS_IOC_SETFSLABEL` changes it).
    label: [u8; crate::format::superblock::LABEL_LEN],
    /// Counts modifications, so a failed change knows whether it modified anything.
    mods: u64,
    /// Whether writes are allowed (a read-write mount that has not failed).
    pub(crate) writable: bool,
    /// A commit failed: nothing is written any more.
    pub(crate) aborted: bool,
    /// A read-only mount found the superblock copies apart: a remount read-write commits to
    /// rewrite them, as a read-write mount does at once.
    pub(crate) copies_differ: bool,
}

impl TreeState {
    /// Makes the next commit write even when nothing changes (the superblock copies are
    /// rewritten, both from the running transaction's generation).
    pub(crate) fn needs_commit(&mut self) {
        self.changed = true;
    }

    pub(crate) fn new(committed: DiskSuper, space: Option<SpaceMap<MapWords>>, used_blocks: u64) -> Self {
        Self {
            roots: TxnRoots {
                fs_root: committed.fs_root,
                ext_root: committed.extent_root,
                next_inode: committed.next_inode,
                used_blocks,
            },
            gen: committed.generation.saturating_add(1),
            committed,
            space,
            budget: Budget::new(committed.total_blocks),
            txn_reserved: 0,
            dirty: KVec::new(),
            unwritten: KVec::new(),
            failing_since: None,
            changes: KVec::new(),
            changes_head: 0,
            pinned: KVec::new(),
            changed: false,
            read_holds: KVec::new(),
            next_read_hold: 1,
            held_back: KVec::new(),
            label: committed.label,
            mods: 0,
            writable: false,
            aborted: false,
            copies_differ: false,
        }
    }

    /// Releases the running transaction's buffers at unmount, before the device goes away. After an
    /// abort their contents must never be written, so they are not left dirty either.
    pub(crate) fn release_buffers(&mut self) {
        for bh in Iterator::chain(self.dirty.iter(), self.unwritten.iter()) {
            bh.test_clear(BhFlag::InTxn);
            if self.aborted {
                bh.forget();
            }
        }
        self.dirty = KVec::new();
        self.unwritten = KVec::new();
    }

    /// Holds blocks `ranges` (first block, blocks) back from reuse until
    /// [`TreeState::drop_read_hold`] with the id returned.
    pub(crate) fn add_read_hold(&mut self, ranges: &[(u64, u64)]) -> Result<u64, FsError> {
        let id = self.next_read_hold;
        self.next_read_hold = id.wrapping_add(1);
        self.read_holds.reserve(ranges.len(), GFP_KERNEL).map_err(|_| FsError::NoSpace)?;
        for &(start, len) in ranges {
            self.read_holds.push((id, start, len), GFP_KERNEL).map_err(|_| FsError::NoSpace)?;
        }
        Ok(id)
    }

    fn held(&self, start: u64, len: u64) -> bool {
        let end = start.saturating_add(len);
        self.read_holds.iter().any(|&(_, s, l)| s < end && start < s.saturating_add(l))
    }

    /// A commit's freed ranges, on disk and past their grace period: those a read hold overlaps
    /// move to the held-back list and are left in `pinned` with length 0 (not released).
    /// Should the list not grow, they stay allocated until the filesystem is mounted again
    /// (free on disk, never reused here).
    fn hold_back(&mut self, pinned: &mut [(u64, u64)]) {
        if self.read_holds.is_empty() {
            return;
        }
        for r in pinned.iter_mut() {
            if r.1 > 0 && self.held(r.0, r.1) {
                let _ = self.held_back.push(*r, GFP_KERNEL);
                r.1 = 0;
            }
        }
    }

    /// Ends read hold `id`; returns the held-back ranges no hold overlaps any more, taken out of
    /// the list (the caller pins them again). Ended holds and taken ranges are marked with
    /// length 0 in place, so nothing needs allocating; `compact` drops them.
    pub(crate) fn drop_read_hold(&mut self, id: u64) -> KVec<(u64, u64)> {
        for h in self.read_holds.iter_mut().filter(|h| h.0 == id) {
            h.2 = 0;
        }
        compact(&mut self.read_holds, |h| h.2 > 0);
        let mut free = KVec::new();
        for i in 0..self.held_back.len() {
            let Some(&(start, len)) = self.held_back.get(i) else { break };
            if len > 0 && !self.held(start, len) && free.push((start, len), GFP_KERNEL).is_ok() {
                if let Some(r) = self.held_back.get_mut(i) {
                    r.1 = 0;
                }
            }
        }
        compact(&mut self.held_back, |r| r.1 > 0);
        free
    }

    /// Free blocks as the free-space map has them (pinned blocks count as used).
    pub(crate) fn free_blocks(&self) -> u64 {
        match &self.space {
            Some(m) => m.free_blocks(),
            None => self.committed.free_blocks,
        }
    }
}

/// Drops the entries of `v` that are not `live` once they are most of it (direct writes running
/// side by side keep a hold open at every moment, so waiting for the list to be all dead is not
/// enough). Keeps them when the smaller copy cannot be allocated: they are only skipped.
fn compact<T: Copy>(v: &mut KVec<T>, live: impl Fn(&T) -> bool) {
    let n = v.iter().filter(|x| live(*x)).count();
    if n == 0 {
        *v = KVec::new();
        return;
    }
    if v.len() < 16 || v.len() < 2 * n {
        return;
    }
    let Ok(mut kept) = KVec::with_capacity(n, GFP_KERNEL) else { return };
    for x in v.iter().filter(|x| live(*x)) {
        // Within the capacity: cannot fail.
        if kept.push(*x, GFP_KERNEL).is_err() {
            return;
        }
    }
    *v = kept;
}

/// The format crate's block store over the tree lock's state and the device's page cache.
///
/// Reads go through `sb_bread`; only blocks allocated in the running transaction are handed out
/// for writing (the tree code's contract), and every write lands on the dirty list.
pub(crate) struct TxnStore<'a> {
    sb: &'a SuperBlock<FerroFs>,
    t: &'a mut TreeState,
}

impl<'a> TxnStore<'a> {
    pub(crate) fn new(sb: &'a SuperBlock<FerroFs>, t: &'a mut TreeState) -> Self {
        Self { sb, t }
    }

    /// The state behind the store.
    pub(crate) fn state(&mut self) -> &mut TreeState {
        self.t
    }

    /// Frees data blocks `start..start+len` whose last reference went away: they leave the used
    /// count now and stay allocated (pinned) until the running transaction is committed.
    pub(crate) fn free_data(&mut self, start: u64, len: u64) -> Result<(), FsError> {
        self.t.pinned.push((start, len), GFP_KERNEL).map_err(|_| FsError::NoSpace)?;
        self.t.roots.used_blocks = self.t.roots.used_blocks.saturating_sub(len);
        self.t.changed = true;
        self.t.mods += 1;
        Ok(())
    }

    /// Data blocks `start..start+len` whose last reference went away while an in-place write
    /// into them is unfinished (see `ordered::InPlace`): they leave the used count now, as the
    /// tree says, but stay allocated in memory until [`TxnStore::release_deferred`] after that
    /// write has finished.
    pub(crate) fn free_data_deferred(&mut self, len: u64) {
        self.t.roots.used_blocks = self.t.roots.used_blocks.saturating_sub(len);
        self.t.changed = true;
        self.t.mods += 1;
    }

    /// Deferred blocks (see [`TxnStore::free_data_deferred`]) whose in-place write has finished:
    /// pinned until the running transaction is committed, then free.
    pub(crate) fn release_deferred(&mut self, start: u64, len: u64) -> Result<(), FsError> {
        self.t.pinned.push((start, len), GFP_KERNEL).map_err(|_| FsError::NoSpace)?;
        self.t.changed = true;
        Ok(())
    }

    fn check_blk(&self, blk: u64) -> Result<(), FsError> {
        if blk >= self.t.committed.total_blocks {
            return Err(FsError::corrupt(blk, "block pointer beyond the end of the filesystem"));
        }
        Ok(())
    }
}

impl BlockStore for TxnStore<'_> {
    type Buf = BufferHead;
    type BufMut = BufferHead;

    fn read(&mut self, blk: u64) -> Result<BufferHead, FsError> {
        self.check_blk(blk)?;
        self.sb.bread(blk).ok_or(FsError::Io)
    }

    fn read_mut(&mut self, blk: u64) -> Result<BufferHead, FsError> {
        self.read(blk)
    }

    fn alloc_meta(&mut self) -> Result<(u64, BufferHead), FsError> {
        let space = self.t.space.as_mut().ok_or(FsError::Unsupported("read-only"))?;
        let (blk, _) = space.alloc(1, 1).ok_or(FsError::NoSpace)?;
        // A reservation made for this change is used up by the allocation.
        if self.t.txn_reserved > 0 {
            self.t.txn_reserved -= 1;
            self.t.budget.release(1);
        }
        self.t.changes.push(Some(MetaChange::Alloc(blk)), GFP_KERNEL).map_err(|_| FsError::NoSpace)?;
        self.t.changed = true;
        self.t.mods += 1;
        let bh = self.sb.getblk(blk).ok_or(FsError::Io)?;
        bh.zero_uptodate();
        Ok((blk, bh))
    }

    fn write(&mut self, blk: u64, buf: BufferHead) -> Result<(), FsError> {
        if buf.blocknr() != blk {
            return Err(FsError::Invalid("buffer written to another block"));
        }
        buf.mark_changed();
        // We computed the checksum ourselves.
        buf.set(BhFlag::Verified);
        self.t.changed = true;
        self.t.mods += 1;
        if !buf.test(BhFlag::InTxn) {
            buf.set(BhFlag::InTxn);
            self.t.dirty.push(buf, GFP_KERNEL).map_err(|_| FsError::NoSpace)?;
        }
        Ok(())
    }

    fn free_meta(&mut self, blk: u64) -> Result<(), FsError> {
        self.check_blk(blk)?;
        // A block written in this transaction need not reach the disk. A block of an earlier
        // (perhaps still committing) transaction is left alone: its commit writes it.
        if let Some(bh) = self.sb.getblk(blk) {
            if bh.test(BhFlag::InTxn) {
                bh.forget();
            }
        }
        // Allocated and freed before the extent tree recorded it: nothing to record.
        let head = self.t.changes_head;
        let queued = self.t.changes.iter_mut().skip(head).find(|c| **c == Some(MetaChange::Alloc(blk)));
        match queued {
            Some(c) => *c = None,
            None => self.t.changes.push(Some(MetaChange::Free(blk)), GFP_KERNEL).map_err(|_| FsError::NoSpace)?,
        }
        self.t.pinned.push((blk, 1), GFP_KERNEL).map_err(|_| FsError::NoSpace)?;
        self.t.changed = true;
        self.t.mods += 1;
        Ok(())
    }

    fn generation(&self) -> u64 {
        self.t.gen
    }

    fn pop_meta_change(&mut self) -> Option<MetaChange> {
        loop {
            match self.t.changes.get(self.t.changes_head).copied() {
                Some(c) => {
                    self.t.changes_head += 1;
                    if c.is_some() {
                        return c;
                    }
                }
                None => {
                    self.t.changes = KVec::new();
                    self.t.changes_head = 0;
                    return None;
                }
            }
        }
    }

    fn verified(&mut self, _blk: u64, buf: &BufferHead) -> bool {
        buf.test(BhFlag::Verified)
    }

    fn set_verified(&mut self, _blk: u64, buf: &BufferHead) {
        buf.set(BhFlag::Verified);
    }
}

/// A change in progress: holds the tree lock and the change's space reservation.
pub(crate) struct Txn<'a> {
    sb: &'a SuperBlock<FerroFs>,
    guard: Guard<'a, TreeState, MutexBackend>,
    _nofs: NoFsScope,
    start_mods: u64,
}

/// How much a change may need, in tree items it adds, changes or removes.
#[derive(Clone, Copy)]
pub(crate) struct Cost {
    pub(crate) items: u64,
    pub(crate) class: ReserveClass,
}

impl<'a> Txn<'a> {
    /// Joins the running transaction, reserving metadata space for `cost`. `EROFS` on a read-only
    /// or aborted filesystem; `ENOSPC` (after one commit to release pinned space) when the space
    /// is not there.
    pub(crate) fn start(sb: &'a SuperBlock<FerroFs>, cost: Cost) -> Result<Txn<'a>> {
        let mut committed = false;
        loop {
            let nofs = NoFsScope::enter();
            let mut guard = sb.info().tree.lock();
            if guard.aborted || !guard.writable {
                return Err(code::EROFS);
            }
            let levels = guard.roots.fs_root.level.max(guard.roots.ext_root.level);
            let n = crate::format::space::meta_cost(cost.items, levels);
            let free = guard.free_blocks();
            match guard.budget.try_reserve(free, n, cost.class) {
                Ok(()) => {
                    guard.txn_reserved = guard.txn_reserved.saturating_add(n);
                    let start_mods = guard.mods;
                    return Ok(Txn { sb, guard, _nofs: nofs, start_mods });
                }
                Err(_) if !committed => {
                    // Blocks freed by the running transaction come back only after its commit.
                    drop(guard);
                    drop(nofs);
                    commit(sb)?;
                    committed = true;
                }
                Err(_) => return Err(code::ENOSPC),
            }
        }
    }

    /// The block store for the tree code.
    pub(crate) fn store(&mut self) -> TxnStore<'_> {
        TxnStore::new(self.sb, &mut self.guard)
    }

    /// The state behind the lock.
    pub(crate) fn state(&mut self) -> &mut TreeState {
        &mut self.guard
    }

    /// Sets the label the transaction's commit writes.
    pub(crate) fn set_label(&mut self, label: [u8; crate::format::superblock::LABEL_LEN]) {
        self.guard.label = label;
        self.guard.changed = true;
    }

    /// Hands out a new inode number.
    pub(crate) fn alloc_ino(&mut self) -> Result<u64> {
        let ino = self.guard.roots.next_inode;
        self.guard.roots.next_inode = ino.checked_add(1).ok_or(code::ENOSPC)?;
        // Not a tree modification: a change that fails after this only wastes the number.
        self.guard.changed = true;
        Ok(ino)
    }

    /// Ends the change with its result. An error after the change modified the tree leaves the
    /// running transaction half-done: the filesystem is aborted (read-only) so it never commits.
    pub(crate) fn finish<R>(self, r: Result<R>) -> Result<R> {
        let sb = self.sb;
        let modified = self.guard.mods != self.start_mods;
        let (changed, dirty) = (self.guard.changed, self.guard.dirty.len());
        drop(self);
        match &r {
            // A change that failed before touching anything (EEXIST, ENOTEMPTY, ...) is harmless.
            Err(e) if modified => abort(sb, *e),
            _ if changed && dirty > DIRTY_LIMIT => sb.schedule_commit(0, true),
            // Queues the periodic commit unless it is queued already.
            _ if changed => sb.schedule_commit(sb.info().commit_interval_ms(), false),
            _ => {}
        }
        r
    }
}

/// Stops all writing: no commit runs any more and changes fail; `say` tells why, then the
/// superblock is made read-only. Nothing happens when writing had stopped already.
fn stop_writing(sb: &SuperBlock<FerroFs>, say: impl FnOnce()) {
    let mut t = sb.info().tree.lock();
    if t.aborted {
        return;
    }
    t.aborted = true;
    t.writable = false;
    drop(t);
    say();
    sb.force_rdonly();
}

/// Turns the filesystem read-only after an error that left the running transaction unusable.
pub(crate) fn abort(sb: &SuperBlock<FerroFs>, e: Error) {
    stop_writing(sb, || {
        pr_err!(
            "{}: error {} in a metadata change or commit; the filesystem is now read-only, the disk keeps the last commit\n",
            sb.id(),
            e.to_errno()
        )
    });
}

/// Shuts the filesystem down (`FS_IOC_SHUTDOWN`, or its device went away): nothing reaches the
/// disk any more, which keeps the last commit; with `flush`, the running transaction is
/// committed first. A commit in progress ends first (its writes are the commit's, not ours to
/// cut short). Afterwards it is an aborted filesystem: changes fail (`EROFS`), commits and
/// fsync with `EIO`, the running transaction's buffers are dropped at unmount, and the next
/// mount finds the last commit. Unlike an abort, file and directory reads fail with `EIO` too
/// (as XFS and ext4 after a shutdown): a device that went away must not go on serving cached data.
pub(crate) fn shut_down(sb: &SuperBlock<FerroFs>, flush: bool) {
    if flush {
        // A failure aborts the filesystem, with its message; the shutdown is then done.
        let _ = commit(sb);
    }
    let _serial = sb.info().commit_lock.lock();
    sb.info().shut_down.store(true, Ordering::Release);
    stop_writing(sb, || {
        pr_warn!("{}: shut down{}; the disk keeps the last commit\n", sb.id(), if flush { " after a commit" } else { "" })
    });
}

/// The commit's I/O phase over the sealed transaction's dirty buffers and those of failed
/// commits before it.
struct KernelCommitIo<'a> {
    sb: &'a SuperBlock<FerroFs>,
    dirty: &'a [BufferHead],
    again: &'a [BufferHead],
}

impl CommitIo for KernelCommitIo<'_> {
    fn write_dirty(&mut self) -> Result<(), FsError> {
        for bh in Iterator::chain(self.again.iter(), self.dirty) {
            bh.submit_write();
        }
        let mut r = Ok(());
        for bh in Iterator::chain(self.again.iter(), self.dirty) {
            if bh.wait_write().is_err() {
                r = Err(FsError::Io);
            }
        }
        r
    }

    fn flush(&mut self) -> Result<(), FsError> {
        self.sb.flush_device().map_err(|_| FsError::Io)
    }

    fn write_super(&mut self, blk: u64, buf: &[u8], fua: bool) -> Result<(), FsError> {
        let bh = self.sb.getblk(blk).ok_or(FsError::Io)?;
        bh.write_sync(buf, fua).map_err(|_| FsError::Io)
    }
}

/// Commits the running transaction and waits until it is on disk. Returns at once when nothing
/// changed. `EROFS`/`EIO` once the filesystem has been aborted.
pub(crate) fn commit(sb: &SuperBlock<FerroFs>) -> Result {
    let info = sb.info();
    let _serial = info.commit_lock.lock();
    let (dirty, again, mut pinned, new_super) = {
        let _nofs = NoFsScope::enter();
        let mut t = info.tree.lock();
        if t.aborted {
            return Err(code::EIO);
        }
        if !t.changed {
            return Ok(());
        }
        let mut roots = t.roots;
        let sealed = {
            let mut st = TxnStore::new(sb, &mut t);
            commit::seal(&mut st, &mut roots)
        };
        if let Err(e) = sealed {
            drop(t);
            let err = crate::superblock::fs_err(sb, e);
            abort(sb, err);
            return Err(err);
        }
        t.roots = roots;
        let mut new_super = commit::make_super(&t.committed, t.gen, &t.roots);
        new_super.label = t.label;
        let dirty = core::mem::replace(&mut t.dirty, KVec::new());
        for bh in dirty.iter() {
            bh.test_clear(BhFlag::InTxn);
        }
        let again = core::mem::replace(&mut t.unwritten, KVec::new());
        let pinned = core::mem::replace(&mut t.pinned, KVec::new());
        let reserved = core::mem::replace(&mut t.txn_reserved, 0);
        t.budget.release(reserved);
        t.gen = t.gen.saturating_add(1);
        t.changed = false;
        (dirty, again, pinned, new_super)
    };

    // Direct reads that mapped blocks G freed may still be reading them: the grace period that
    // starts now ends when they are done (see `dio::read_begin`).
    let grace = ReadGrace::start();
    let mut buf = KVec::from_elem(0u8, BLOCK_SIZE, GFP_KERNEL)?;
    let mut io = KernelCommitIo { sb, dirty: &dirty, again: &again };
    if let Err(e) = commit::write_out(&mut io, &new_super, &mut buf) {
        return Err(keep_failed(sb, new_super.generation, e, dirty, again, pinned));
    }
    drop(dirty);
    drop(again);
    // Usually over by now (the commit's writes took longer). No lock is held but the commit
    // lock, which no direct read takes.
    grace.wait();
    // Blocks a buffered read may still be reading stay allocated (see `ordered::end_read_hold`).
    {
        let _nofs = NoFsScope::enter();
        info.tree.lock().hold_back(pinned.as_mut_slice());
    }
    if info.discard.load(Ordering::Relaxed) {
        discard_freed(sb, &mut pinned);
    }

    let _nofs = NoFsScope::enter();
    let mut t = info.tree.lock();
    t.committed = new_super;
    t.failing_since = None;
    if let Some(space) = t.space.as_mut() {
        // Length 0: held back (see `TreeState::hold_back`).
        for &(start, len) in pinned.iter().filter(|r| r.1 > 0) {
            if let Err(e) = space.release(start, len) {
                drop(t);
                let err = crate::superblock::fs_err(sb, e);
                abort(sb, err);
                return Err(err);
            }
        }
    }
    Ok(())
}

/// The `discard` mount option: the blocks commit G freed are discarded once G is on disk (no
/// tree on disk uses them any more) and every direct read that mapped them is done, before they
/// are released for reuse (a discard racing a new write to a block could drop that write).
/// Adjacent ranges go as one discard. Waits for the device; commits are serialised anyway. A
/// failed discard is not an error: the blocks are free either way, only not trimmed.
fn discard_freed(sb: &SuperBlock<FerroFs>, pinned: &mut [(u64, u64)]) {
    crate::format::space::for_each_merged_run(pinned, |start, len| {
        // Length 0: held back, not free yet.
        if len > 0 {
            let _ = sb.discard(start, len);
        }
    });
}

/// After commit `generation` failed with `e` before its superblock was written (the disk keeps
/// the last good commit): its blocks go back for the next commit to write again, the ranges it
/// freed stay pinned (the disk's tree still uses them), and the next periodic commit is queued.
/// Commits failing for `commit_retry_secs` since the first failure abort instead. Returns the
/// caller's error (EIO).
fn keep_failed(
    sb: &SuperBlock<FerroFs>,
    generation: u64,
    e: FsError,
    dirty: KVec<BufferHead>,
    mut again: KVec<BufferHead>,
    pinned: KVec<(u64, u64)>,
) -> Error {
    let _nofs = NoFsScope::enter();
    let mut t = sb.info().tree.lock();
    if t.aborted {
        return code::EIO;
    }
    let now = Ktime::ktime_get();
    let first = t.failing_since.is_none();
    let since = *t.failing_since.get_or_insert(now);
    let window = commit_retry_ms();
    let mut kept = ktime_ms_delta(now, since) < window;
    if kept {
        // All written again, those that did reach the disk too: which ones did is not known.
        for bh in dirty {
            if again.push(bh, GFP_KERNEL).is_err() {
                kept = false;
                break;
            }
        }
        for bh in again.iter() {
            bh.set(BhFlag::Changed);
        }
        for &r in pinned.iter() {
            if t.pinned.push(r, GFP_KERNEL).is_err() {
                kept = false;
                break;
            }
        }
    }
    if !kept {
        drop(t);
        pr_err!("{}: commit of generation {generation} failed: {e}\n", sb.id());
        abort(sb, code::EIO);
        return code::EIO;
    }
    t.unwritten = again;
    t.changed = true;
    drop(t);
    if first {
        pr_err!(
            "{}: commit of generation {generation} failed: {e}; the disk keeps the last commit, and the next commits write this one again for up to {} s before the filesystem turns read-only\n",
            sb.id(),
            window / 1000
        );
    }
    sb.schedule_commit(sb.info().commit_interval_ms(), false);
    code::EIO
}

/// The label the next commit writes (the committed one unless `set_label` changed it since).
pub(crate) fn label(sb: &SuperBlock<FerroFs>) -> KVec<u8> {
    let l = {
        let _nofs = NoFsScope::enter();
        sb.info().tree.lock().label
    };
    let end = l.iter().position(|&b| b == 0).unwrap_or(l.len());
    let mut v = KVec::new();
    // An allocation failure shows an empty label rather than failing the ioctl.
    let _ = v.extend_from_slice(l.get(..end).unwrap_or(&[]), GFP_KERNEL);
    v
}

/// `FS_IOC_SETFSLABEL`: at most `LABEL_LEN` bytes (`EINVAL` beyond, as ext4 and btrfs refuse a
/// label longer than theirs), written by a commit before the call returns.
pub(crate) fn set_label(sb: &SuperBlock<FerroFs>, label: &[u8]) -> Result {
    let mut l = [0u8; crate::format::superblock::LABEL_LEN];
    if label.len() > l.len() {
        return Err(code::EINVAL);
    }
    for (d, s) in l.iter_mut().zip(label) {
        *d = *s;
    }
    let mut tx = Txn::start(sb, Cost { items: 0, class: ReserveClass::Normal })?;
    tx.set_label(l);
    tx.finish(Ok(()))?;
    commit(sb)
}
