// SPDX-License-Identifier: GPL-2.0

//! Ordered extents and delayed allocation: the per-inode I/O state that buffered writeback (and,
//! later, direct I/O) stands on.
//!
//! * **Delayed allocation.** A buffered write (or a write fault) reserves space for every block
//!   it dirties that is not reserved yet, so `ENOSPC` comes at `write(2)`, never at writeback.
//!   The reserved ("delalloc") blocks of an inode are a set of block ranges. Those reserved
//!   over holes count in `i_blocks` from the write on (what `stat` and `du` show); those that
//!   overwrite the file's blocks do not, as on other filesystems (the old blocks are counted),
//!   until writeback allocates their new ones, which count until the finish frees the old.
//! * **Ordered extents.** Writeback allocates new blocks for every dirty range (every write is
//!   copy-on-write, overwrites included) and creates an ordered extent for the file range: new
//!   data on its way to fresh blocks, whose `EXTENT_DATA` item is not in the tree yet. Its
//!   accounting (pieces completing in any order, an error anywhere, a cancelled tail) is the
//!   plain logic of `format::ordered`, driven by host tests against a model.
//! * **Completion on the workqueue.** A completed ioend reaches [`writeback_done`] on the
//!   per-mount workqueue, never in interrupt context. When the last byte of an ordered extent is
//!   accounted, its finish inserts the file extent (dropping the references of what it replaced),
//!   moves the on-disk `i_size` up to data really written, and joins the running transaction; on
//!   an I/O error it inserts nothing, frees the new blocks and leaves the error on the mapping.
//! * **Folios stay under writeback until their ordered extent has finished.** The ioend is held
//!   until then. So a folio is written by at most one unfinished ordered extent at a time (a
//!   redirtied folio cannot be written again before the first write's extent is in the tree: two
//!   finishes of one range can never land in the wrong order), and everything that waits for
//!   writeback (fsync, truncate, eviction, unmount) also waits for the finish.

use crate::format::fileext;
use crate::format::ordered::{OrderedExtent, Outcome, Progress};
use crate::format::space::ReserveClass;
use crate::format::{self, FsError};
use crate::superblock::{fs_err, with_tree, FerroFs};
use crate::transaction::{Cost, Txn, TxnStore};
use crate::vfs::inode::Inode;
use crate::vfs::iomap::{Ioend, MapKind};
use crate::vfs::sb::{NoFsScope, SuperBlock};
use core::sync::atomic::{AtomicU64, Ordering};
use kernel::error::{code, Error, Result};
use kernel::prelude::*;
use kernel::rbtree::RBTree;
use kernel::sync::{Arc, CondVar, Mutex};
use kernel::{new_condvar, new_mutex};

const BS: u64 = format::BLOCK_SIZE_U64;

/// An ordered extent: reference counted, shared by its inode's tree and whoever works on it (the
/// writeback pass that builds it; a direct write keeps one across the retries of a pass that
/// faulted, see [`crate::dio`]).
#[pin_data]
pub(crate) struct Ordered {
    /// Taken inside the inode's `io` lock (when both are held) and before the tree lock.
    #[pin]
    st: Mutex<OrderedState>,
    /// Written by direct I/O (its completion is the direct write's, not writeback's ioends).
    direct: bool,
    /// A direct write that asked for O_DSYNC/O_SYNC.
    sync: bool,
    /// Written in place into preallocated blocks rather than into new ones: the finish converts
    /// the preallocated pieces that still map to them and never frees them (see [`InPlace`]).
    in_place: bool,
}

struct OrderedState {
    acct: OrderedExtent,
    /// The accounting handed out its outcome: the finish to apply.
    done: Option<Outcome>,
    /// The finish is being applied.
    applying: bool,
    /// Blocks of an in-place extent's range whose last reference a finish or a punch dropped
    /// while it was being written: released once it has finished (see [`InPlace`]).
    deferred: KVec<(u64, u64)>,
    /// A direct extent's finish took blocks out of the file: the read hold on them, which the
    /// direct write's completion ends ([`end_read_hold`]).
    read_hold: Option<u64>,
}

impl Ordered {
    fn new(acct: OrderedExtent, direct: bool, sync: bool, in_place: bool) -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Self {
                st <- new_mutex!(OrderedState { acct, done: None, applying: false, deferred: KVec::new(), read_hold: None }, "ferrofs_ordered"),
                direct,
                sync,
                in_place,
            }),
            GFP_KERNEL,
        )
    }

    /// Its file range `(start, end)` in bytes.
    fn range(&self) -> (u64, u64) {
        let st = self.st.lock();
        (st.acct.file_off(), st.acct.end())
    }

    fn overlaps(&self, start: u64, end: u64) -> bool {
        let (s, e) = self.range();
        s < end && start < e
    }

    /// Written in place into preallocated blocks (a direct write's mapping reports them
    /// unwritten).
    pub(crate) fn in_place(&self) -> bool {
        self.in_place
    }
}

/// The unfinished in-place extents of an inode, as block ranges on disk, taken with the
/// inode's finishes held off ([`hold_finishes`]).
///
/// An in-place write puts data straight into preallocated blocks; nothing in the tree changes
/// until its finish converts them. Meanwhile a racing copy-on-write of the same file range (a
/// page dirtied through a mapping during a direct write, say) may finish first and drop the
/// preallocated piece, and a punch of the rest of the preallocated extent may then drop its
/// last reference. Freed, those blocks could be given to another file at the next commit while
/// the in-place write's bios are still writing them. So a transaction that frees data blocks
/// takes this snapshot first (under `finishing`, so no in-place extent starts or finishes
/// meanwhile) and frees through [`InPlace::free`]: blocks inside an in-place extent's range leave
/// the used count as the tree says, but stay allocated in memory until that extent's finish
/// releases them ([`TxnStore::release_deferred`]).
pub(crate) struct InPlace {
    ranges: KVec<(Arc<Ordered>, u64, u64)>,
    deferred: KVec<(Arc<Ordered>, u64, u64)>,
}

impl InPlace {
    /// The snapshot; the caller holds [`hold_finishes`] until [`InPlace::hand_over`].
    pub(crate) fn take(inode: &Inode<FerroFs>) -> Result<Self> {
        let _nofs = NoFsScope::enter();
        let io = inode.data().io.lock();
        let mut ranges = KVec::new();
        for o in io.ordered.values().filter(|o| o.in_place) {
            let st = o.st.lock();
            let (a, b) = (st.acct.disk_start() / BS, st.acct.disk_end() / BS);
            drop(st);
            ranges.push((o.clone(), a, b), GFP_KERNEL)?;
        }
        Ok(Self { ranges, deferred: KVec::new() })
    }

    /// Frees data blocks `start..start+len` whose last reference went away (in a transaction):
    /// pinned until the commit, except the parts an in-place extent is writing, which are
    /// deferred to it.
    pub(crate) fn free(&mut self, st: &mut TxnStore<'_>, start: u64, len: u64) -> core::result::Result<(), FsError> {
        let end = start.saturating_add(len);
        let mut cur = start;
        while cur < end {
            let hit = self.ranges.iter().filter(|(_, a, b)| *a < end && *b > cur).min_by_key(|(_, a, _)| *a);
            let Some((o, a, b)) = hit else {
                return st.free_data(cur, end - cur);
            };
            if *a > cur {
                st.free_data(cur, a - cur)?;
                cur = *a;
            }
            let stop = (*b).min(end);
            st.free_data_deferred(stop - cur);
            self.deferred.push((o.clone(), cur, stop - cur), GFP_KERNEL).map_err(|_| FsError::NoSpace)?;
            cur = stop;
        }
        Ok(())
    }

    /// After the transaction: the deferred blocks go to the extents that release them.
    pub(crate) fn hand_over(self) {
        for (o, s, l) in self.deferred {
            if o.st.lock().deferred.push((s, l), GFP_KERNEL).is_err() {
                // Out of memory: the blocks stay allocated until the next mount (the tree has
                // them free), which is safe.
                pr_warn!("ferrofs: {l} blocks at {s} stay in use until the next mount (out of memory)\n");
            }
        }
    }
}

/// A completed ioend held until every ordered extent it wrote has finished.
struct HeldIoend {
    off: u64,
    len: u64,
    error: i32,
    ioend: Ioend<FerroFs>,
}

/// The I/O state behind [`InodeData::io`].
pub(crate) struct InodeIo {
    /// Unfinished ordered extents, by creation (see [`InodeIo::insert_ordered`]). Those of
    /// writeback never overlap each other (a folio under writeback is not written again), nor do
    /// those of direct writes (a direct write waits for the one in its way); the two kinds may
    /// (a folio mapped and written during a direct write), and each finishes on its own.
    ordered: RBTree<u64, Arc<Ordered>>,
    next_ordered: u64,
    /// Reserved, dirty, not yet allocated blocks: `start block -> span` (end exclusive), disjoint;
    /// adjacent spans differ in whether they count in `i_blocks`.
    delalloc: RBTree<u64, Span>,
    /// Completed ioends waiting for their ordered extents, by arrival.
    held: RBTree<u64, HeldIoend>,
    next_held: u64,
}

/// ferrofs's per-inode state, beside the VFS inode.
#[pin_data]
pub(crate) struct InodeData {
    /// Ordered extents, delalloc ranges and held ioends. Taken with allocations `NOFS`, before
    /// the tree lock and never while holding it.
    #[pin]
    io: Mutex<InodeIo>,
    /// Signalled when an ordered extent finished.
    #[pin]
    finished: CondVar,
    /// Serialises the finishes of the inode's ordered extents (writeback's, on the per-mount
    /// workqueue, and direct writes', in their completions): a finish sizes its transaction
    /// from the extents it replaces, which another finish must not change in between. Taken
    /// before `io`.
    #[pin]
    finishing: Mutex<()>,
    /// The `i_size` on disk: moved by finished writes up to data really written, and by truncate.
    pub(crate) disk_size: AtomicU64,
    /// The bytes the file's extents hold on disk (`nbytes`).
    pub(crate) disk_bytes: AtomicU64,
    /// Changes whenever the file's extent map changes (a finish, a truncate): a buffered write's
    /// mapping taken before is stale.
    pub(crate) map_seq: AtomicU64,
}

impl InodeData {
    pub(crate) fn new() -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            io <- new_mutex!(InodeIo { ordered: RBTree::new(), next_ordered: 0, delalloc: RBTree::new(), held: RBTree::new(), next_held: 0 }, "ferrofs_inode_io"),
            finished <- new_condvar!("ferrofs_ordered_finished"),
            finishing <- new_mutex!((), "ferrofs_inode_finishing"),
            disk_size: AtomicU64::new(0),
            disk_bytes: AtomicU64::new(0),
            map_seq: AtomicU64::new(0),
        }? Error)
    }
}

/// One range of reserved blocks: where it ends, and whether its blocks count in `i_blocks`
/// (reserved over a hole) or not (an overwrite: the blocks it replaces are counted).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Span {
    end: u64,
    counted: bool,
}

/// The delalloc range that contains block `a`, or else the first one after it.
fn range_from(t: &mut RBTree<u64, Span>, a: u64) -> Option<(u64, Span)> {
    match t.cursor_lower_bound(&a) {
        Some(c) => {
            let (&k, &v) = c.current();
            if k != a {
                if let Some((&pk, &pv)) = c.peek_prev() {
                    if pv.end > a {
                        return Some((pk, pv));
                    }
                }
            }
            Some((k, v))
        }
        None => {
            let c = t.cursor_back()?;
            let (&k, &v) = c.current();
            (v.end > a).then_some((k, v))
        }
    }
}

/// The first delalloc range that ends after block `a`, if it starts before `b`.
fn delalloc_first(io: &mut InodeIo, a: u64, b: u64) -> Option<(u64, u64)> {
    range_from(&mut io.delalloc, a).filter(|&(s, _)| s < b).map(|(s, v)| (s, v.end))
}

impl InodeIo {
    fn insert_ordered(&mut self, o: Arc<Ordered>) -> Result {
        let key = self.next_ordered;
        self.next_ordered += 1;
        self.ordered.try_create_and_insert(key, o, GFP_KERNEL)?;
        Ok(())
    }

    /// Adds `a..b`, which holds no reserved block yet, to the delalloc set (merging with the
    /// adjacent ranges counted alike); the caller reserved its blocks.
    fn delalloc_add(&mut self, a: u64, b: u64, counted: bool) -> Result {
        let (mut lo, mut hi) = (a, b);
        // The ranges ending at `a` and starting at `b`, when they count alike.
        if let Some((s, _)) = range_from(&mut self.delalloc, a.saturating_sub(1)).filter(|&(s, v)| s < a && v.end == a && v.counted == counted) {
            lo = s;
            self.delalloc.remove(&s);
        }
        if let Some((s, v)) = range_from(&mut self.delalloc, b).filter(|&(s, v)| s == b && v.counted == counted) {
            hi = v.end;
            self.delalloc.remove(&s);
        }
        self.delalloc.try_create_and_insert(lo, Span { end: hi, counted }, GFP_KERNEL)?;
        Ok(())
    }

    /// Removes `a..b` from the delalloc set; returns how many blocks were in it, and how many
    /// of those counted in `i_blocks`.
    fn delalloc_remove(&mut self, a: u64, b: u64) -> Result<(u64, u64)> {
        let (mut n, mut counted) = (0, 0);
        while let Some((s, v)) = range_from(&mut self.delalloc, a).filter(|&(s, _)| s < b) {
            self.delalloc.remove(&s);
            let k = v.end.min(b) - s.max(a);
            n += k;
            if v.counted {
                counted += k;
            }
            if s < a {
                self.delalloc.try_create_and_insert(s, Span { end: a, ..v }, GFP_KERNEL)?;
            }
            if v.end > b {
                self.delalloc.try_create_and_insert(b, v, GFP_KERNEL)?;
                break;
            }
        }
        Ok((n, counted))
    }
}

/// How a buffered write's chunk stands with delayed allocation (see [`reserve`]).
#[derive(Clone, Copy)]
pub(crate) struct Reserved {
    /// Blocks from the chunk's first block on that share one state.
    pub(crate) blocks: u64,
    /// They were reserved now (`false`: they were reserved and dirty already).
    pub(crate) new: bool,
}

/// Reserves the blocks from `a` on (at most up to `b`) for a buffered write or a write fault:
/// either a run already reserved (nothing to do) or a run reserved now, counted in `i_blocks`
/// when `over_hole` (the file has no blocks there). `ENOSPC` when the space is not there, after
/// one commit to get back what the running transaction freed (`EAGAIN` instead of that commit
/// for a `nowait` request).
pub(crate) fn reserve(inode: &Inode<FerroFs>, a: u64, b: u64, over_hole: bool, nowait: bool) -> Result<Reserved> {
    let sb = inode.sb();
    let data = inode.data();
    let mut committed = false;
    loop {
        let _nofs = NoFsScope::enter();
        let mut io = data.io.lock();
        let mut run = match delalloc_first(&mut io, a, b) {
            Some((s, e)) if s <= a => return Ok(Reserved { blocks: e.min(b) - a, new: false }),
            Some((s, _)) => s - a,
            None => b - a,
        };
        let r = {
            let mut t = sb.info().tree.lock();
            if t.aborted || !t.writable {
                return Err(code::EROFS);
            }
            let free = t.free_blocks();
            // A big write on an almost full filesystem gets what is left: it ends short, at the
            // point where the space ran out, as write(2) does elsewhere.
            let avail = free.saturating_sub(t.budget.reserved()).saturating_sub(t.budget.pool());
            if avail > 0 {
                run = run.min(avail);
            }
            t.budget.try_reserve(free, run, ReserveClass::Normal)
        };
        match r {
            Ok(()) => {
                if let Err(e) = io.delalloc_add(a, a + run, over_hole) {
                    sb.info().tree.lock().budget.release(run);
                    return Err(e);
                }
                drop(io);
                if over_hole {
                    inode.add_bytes(run * BS);
                }
                return Ok(Reserved { blocks: run, new: true });
            }
            Err(_) if nowait => return Err(code::EAGAIN),
            Err(_) if !committed => {
                drop(io);
                drop(_nofs);
                crate::transaction::commit(sb)?;
                committed = true;
            }
            Err(_) => return Err(code::ENOSPC),
        }
    }
}

/// Gives back the reservation of blocks `a..b` (a short write did not dirty them; truncate and
/// eviction dropped them).
pub(crate) fn unreserve(inode: &Inode<FerroFs>, a: u64, b: u64) -> Result {
    if a >= b {
        return Ok(());
    }
    let _nofs = NoFsScope::enter();
    let (n, counted) = inode.data().io.lock().delalloc_remove(a, b)?;
    if n > 0 {
        inode.sb().info().tree.lock().budget.release(n);
        inode.sub_bytes(counted * BS);
    }
    Ok(())
}

/// Whether block `a` lies in a range that is reserved (delalloc) or being written (an unfinished
/// ordered extent), and up to which block that goes (for FIEMAP and `SEEK_DATA` over holes).
pub(crate) fn pending_at(inode: &Inode<FerroFs>, a: u64, b: u64) -> Option<(u64, u64)> {
    let _nofs = NoFsScope::enter();
    let mut io = inode.data().io.lock();
    let oe = io
        .ordered
        .values()
        .map(|o| o.range())
        .map(|(s, e)| (s / BS, e / BS))
        .filter(|&(s, e)| e > a && s < b)
        .min_by_key(|&(s, _)| s);
    let da = delalloc_first(&mut io, a, b);
    match (oe, da) {
        (Some(x), Some(y)) => Some(if x.0 <= y.0 { x } else { y }),
        (x, y) => x.or(y),
    }
}

/// The writeback pass's state: the ordered extent it is building.
#[derive(Default)]
pub(crate) struct WritebackState {
    cur: Option<Arc<Ordered>>,
}

/// Writeback's blocks for the dirty range `pos..pos+len` (block aligned), in an ordered extent:
/// the one this pass is building when the range follows it in the file and on disk, a new one
/// otherwise. Preallocated blocks are written in place ([`InPlace`]); everything else gets new
/// blocks (copy-on-write). Returns `(device byte address, bytes)` for the start of the range.
pub(crate) fn writeback_alloc(inode: &Inode<FerroFs>, st: &mut WritebackState, pos: u64, len: u64) -> Result<(u64, u64)> {
    let (a, b) = (pos / BS, pos.saturating_add(len).div_ceil(BS));
    let want = b.saturating_sub(a).max(1);
    if let MapKind::Unwritten(_) = crate::file::map_blocks(inode, a * BS, want * BS)?.kind {
        // Looked up again with the finishes held off: none may drop the preallocated piece
        // between the lookup and the in-place extent that guards its blocks.
        let _finishing = hold_finishes(inode);
        let m = crate::file::map_blocks(inode, a * BS, want * BS)?;
        if let MapKind::Unwritten(addr) = m.kind {
            let n = (m.length / BS).clamp(1, want);
            return writeback_in_place(inode, st, a, n, addr);
        }
    }
    writeback_cow(inode, st, a, want)
}

/// Writeback into the preallocated blocks at device address `addr` for file blocks `a..a+n`.
fn writeback_in_place(inode: &Inode<FerroFs>, st: &mut WritebackState, a: u64, n: u64, addr: u64) -> Result<(u64, u64)> {
    let sb = inode.sb();
    let _nofs = NoFsScope::enter();
    let mut io = inode.data().io.lock();
    let mut extended = false;
    if let Some(cur) = st.cur.as_ref().filter(|c| c.in_place) {
        let mut c = cur.st.lock();
        if c.done.is_none() && c.acct.end() == a * BS && c.acct.disk_end() == addr {
            extended = c.acct.extend(n * BS).is_ok();
        }
    }
    if !extended {
        let o = OrderedExtent::new(a * BS, n * BS, addr).map_err(|e| fs_err(sb, e)).and_then(|acct| Ordered::new(acct, false, false, true))?;
        io.insert_ordered(o.clone())?;
        st.cur = Some(o);
    }
    // A reservation made while the range was a hole is not needed any more.
    let (reserved, counted) = io.delalloc_remove(a, a + n).unwrap_or((0, 0));
    drop(io);
    if reserved > 0 {
        sb.info().tree.lock().budget.release(reserved);
        inode.sub_bytes(counted * BS);
    }
    Ok((addr, n * BS))
}

/// Writeback's new blocks for file blocks `a..a+want` (at least one; fewer when free space is
/// fragmented), copy-on-write.
fn writeback_cow(inode: &Inode<FerroFs>, st: &mut WritebackState, a: u64, want: u64) -> Result<(u64, u64)> {
    let sb = inode.sb();
    let _nofs = NoFsScope::enter();
    let mut io = inode.data().io.lock();
    // Lock order: io, the ordered extent, the tree.
    let cur = st.cur.clone();
    let mut cur_st = cur.as_ref().map(|o| o.st.lock());
    let mut t = sb.info().tree.lock();
    // Dirty data an aborted (shut down) filesystem can no longer write is an I/O error, which
    // fsync reports (as XFS; fstests generic/623).
    if t.aborted {
        return Err(code::EIO);
    }
    if !t.writable {
        return Err(code::EROFS);
    }
    let space = t.space.as_mut().ok_or(code::EROFS)?;
    let mut got = None;
    if let Some(o) = cur_st.as_mut() {
        if o.done.is_none() && o.acct.end() == a * BS && !cur.as_ref().is_some_and(|c| c.in_place) {
            if let Some(n) = space.alloc_at(o.acct.disk_end() / BS, want) {
                let addr = o.acct.disk_end();
                if o.acct.extend(n * BS).is_ok() {
                    got = Some((addr, n));
                } else {
                    // Cannot happen for an unfinished extent; give the blocks back.
                    let _ = space.release(addr / BS, n);
                }
            }
        }
    }
    drop(cur_st);
    let (addr, n) = match got {
        Some(g) => g,
        None => {
            let (start, n) = space.alloc(want, 1).ok_or(code::ENOSPC)?;
            let acct = match OrderedExtent::new(a * BS, n * BS, start * BS) {
                Ok(o) => o,
                Err(e) => {
                    let _ = space.release(start, n);
                    return Err(fs_err(sb, e));
                }
            };
            let inserted = Ordered::new(acct, false, false, false).and_then(|o| {
                io.insert_ordered(o.clone())?;
                Ok(o)
            });
            match inserted {
                Ok(o) => st.cur = Some(o),
                Err(e) => {
                    let _ = space.release(start, n);
                    return Err(e);
                }
            }
            (start * BS, n)
        }
    };
    // The allocation uses up the reservation of the blocks that had one; a block dirtied without
    // one (rare: a folio dirtied behind the filesystem's back) is allocated all the same. The new
    // blocks count in i_blocks from now on (until the finish frees the ones they replace).
    let (reserved, counted) = io.delalloc_remove(a, a + n).unwrap_or((0, 0));
    t.budget.release(reserved);
    drop(t);
    drop(io);
    if counted < n {
        inode.add_bytes((n - counted) * BS);
    }
    Ok((addr, n * BS))
}

/// A completed writeback ioend: account it against the ordered extents it wrote, finish those
/// whose last byte it was, and release every held ioend that no unfinished ordered extent covers
/// any more (its folios' writeback ends after this call returns).
pub(crate) fn writeback_done(inode: &Inode<FerroFs>, ioend: Ioend<FerroFs>) {
    let sb = inode.sb();
    let info = ioend.info();
    let data = inode.data();
    let (off, end) = (info.offset, info.offset.saturating_add(info.len));
    {
        let _nofs = NoFsScope::enter();
        let mut io = data.io.lock();
        for o in io.ordered.values().filter(|o| !o.direct) {
            let mut o = o.st.lock();
            let (s, e) = (o.acct.file_off().max(off), o.acct.end().min(end));
            if s >= e || o.done.is_some() {
                continue;
            }
            match o.acct.account(s, e - s, info.error == 0) {
                Ok(Progress::Pending) => {}
                Ok(Progress::Done(out)) => o.done = Some(out),
                Err(e) => pr_err!("{}: inode {}: writeback accounting: {e}\n", sb.id(), inode.ino()),
            }
        }
        let key = io.next_held;
        io.next_held += 1;
        // Out of memory drops (so releases) the ioend: its folios end now rather than never.
        let _ = io.held.try_create_and_insert(key, HeldIoend { off, len: info.len, error: info.error, ioend }, GFP_KERNEL);
    }
    let finished = finish_ready(inode);
    // finish_ready released what its finishes freed; else this ioend may be free already.
    if !finished {
        release_held(inode);
    }
    if finished {
        finished_notify(inode);
    }
}

/// Releases every held ioend that no unfinished ordered extent of writeback covers any more (its
/// folios' writeback ends once the ioend work gets it back).
///
/// One pass: the writeback extents' ranges are collected, sorted and merged once, and each held
/// ioend is looked up among them. Finding one free ioend at a time over every ordered extent was
/// cubic in a big file's writeback (thousands of each): a soft lockup of the ioend worker for
/// 22 s under emulation (generic/742). Without memory for the ranges, the ioends stay held until
/// the next finish.
fn release_held(inode: &Inode<FerroFs>) {
    let _nofs = NoFsScope::enter();
    let mut io = inode.data().io.lock();
    if io.held.iter().next().is_none() {
        return;
    }
    let mut busy: KVec<(u64, u64)> = KVec::new();
    for o in io.ordered.values() {
        let (s, e) = o.range();
        if !o.direct && e > s && busy.push((s, e - s), GFP_KERNEL).is_err() {
            return;
        }
    }
    // Disjoint runs `(start, len)`, sorted by start (their ends rise too).
    let mut runs: KVec<(u64, u64)> = KVec::new();
    let mut failed = false;
    crate::format::space::for_each_merged_run(&mut busy, |s, l| {
        failed |= runs.push((s, l), GFP_KERNEL).is_err();
    });
    if failed {
        return;
    }
    let mut free: KVec<u64> = KVec::new();
    for (&k, h) in io.held.iter() {
        let (a, b) = (h.off, h.off.saturating_add(h.len));
        // The last run starting before `b` is the only one that can reach past `a`.
        let before = runs.partition_point(|&(s, _)| s < b);
        let covered = before > 0 && runs.get(before - 1).is_some_and(|&(s, l)| s.saturating_add(l) > a);
        if !covered && free.push(k, GFP_KERNEL).is_err() {
            break;
        }
    }
    for k in free.iter() {
        if let Some(h) = io.held.remove(k) {
            h.ioend.release(h.error);
        }
    }
}

/// Applies the finish of every ordered extent whose accounting is complete (any kind); returns
/// whether there was one. The caller then calls [`finished_notify`].
fn finish_ready(inode: &Inode<FerroFs>) -> bool {
    let sb = inode.sb();
    let data = inode.data();
    let mut finished = false;
    let _finishing = data.finishing.lock();
    // Each pass looks on from the extent the last one finished (keys are in creation order; new
    // extents come after it), not from the first again: a big file's writeback can have
    // thousands ready at once. An extent before it that becomes ready meanwhile is not missed:
    // whoever made it ready calls this function next, which waits for `finishing` and then looks
    // from the start.
    let mut from = 0u64;
    loop {
        let next = {
            let _nofs = NoFsScope::enter();
            let mut io = data.io.lock();
            let mut hit = None;
            let mut cur = io.ordered.cursor_lower_bound(&from);
            while let Some(c) = cur {
                let (&k, o) = c.current();
                let mut st = o.st.lock();
                if let (Some(out), false) = (st.done, st.applying) {
                    st.applying = true;
                    hit = Some((k, out, o.clone()));
                    break;
                }
                drop(st);
                cur = c.move_next();
            }
            hit
        };
        let Some((key, out, o)) = next else { break };
        from = key;
        finished = true;
        // Many extents can be ready at once (a big file's writeback): not one long run of them.
        crate::vfs::cond_resched();
        let ok = match finish(inode, out, &o) {
            Ok(()) => !matches!(out, Outcome::Discard { error: true, .. }),
            Err(e) => {
                pr_err!("{}: inode {}: finishing the write at {key} failed: error {}\n", sb.id(), inode.ino(), e.to_errno());
                false
            }
        };
        let _nofs = NoFsScope::enter();
        let mut io = data.io.lock();
        if let Some(o) = io.ordered.remove(&key) {
            if !ok && !o.direct {
                // Every ioend of a failed write reports the error.
                let (fs, fe) = o.range();
                for h in io.held.values_mut() {
                    if h.error == 0 && fs < h.off + h.len && h.off < fe {
                        h.error = code::EIO.to_errno();
                    }
                }
            }
        }
    }
    drop(_finishing);
    // A buffered write's extent finished here (from a direct write's completion, say) frees its
    // held ioends as well as one finished by writeback's own completion.
    if finished {
        data.map_seq.fetch_add(1, Ordering::AcqRel);
        release_held(inode);
    }
    finished
}

/// After finishes: mappings taken before are stale, and waiters look again.
fn finished_notify(inode: &Inode<FerroFs>) {
    let data = inode.data();
    data.map_seq.fetch_add(1, Ordering::AcqRel);
    data.finished.notify_all();
}

/// Finishes one ordered extent: the tree gets the file extent (or, after an error, nothing; the
/// new blocks are freed). An in-place extent converts what it wrote instead, frees nothing of
/// its own and releases the blocks deferred to it. Runs under `finishing`.
fn finish(inode: &Inode<FerroFs>, out: Outcome, o: &Ordered) -> Result {
    let sb = inode.sb();
    let ino = inode.ino();
    let data = inode.data();
    let deferred = {
        let _nofs = NoFsScope::enter();
        core::mem::replace(&mut o.st.lock().deferred, KVec::new())
    };
    match out {
        Outcome::Discard { free, error } => {
            if error {
                sb.report("data write failed: no extent inserted, the old contents stay", free.0 / BS, code::EIO);
                // A direct writer gets the error from its write; writeback's only has fsync.
                if !o.direct {
                    inode.set_mapping_error(code::EIO);
                }
            }
            if !o.in_place {
                release_blocks(sb, free.0 / BS, free.1 / BS)?;
                inode.sub_bytes(free.1);
            }
            release_deferred(sb, &deferred)
        }
        Outcome::Insert { file_off, len, disk_start, free } if o.in_place => {
            // The never-written tail of an in-place extent stays preallocated: nothing to free.
            let _ = free;
            let end = file_off + len;
            let n = with_tree(sb, |st, root| fileext::count_overlapping(st, &root, ino, file_off, end))?;
            let cost = Cost { items: fileext::convert_items_bound(n) + 1, class: ReserveClass::Unlink };
            let mut tx = match Txn::start(sb, cost) {
                Ok(tx) => tx,
                Err(e) => {
                    // The data is in the blocks, but they stay preallocated (read as zeros).
                    inode.set_mapping_error(e);
                    let _ = release_deferred(sb, &deferred);
                    return Err(e);
                }
            };
            let r = (|| -> Result {
                let mut st = tx.store();
                let mut roots = st.state().roots;
                let r = fileext::convert(&mut st, &mut roots.fs_root, &mut roots.ext_root, ino, file_off, len, disk_start / BS);
                st.state().roots.fs_root = roots.fs_root;
                st.state().roots.ext_root = roots.ext_root;
                r.map_err(|e| fs_err(sb, e))?;
                for &(s, l) in deferred.iter() {
                    st.release_deferred(s, l).map_err(|e| fs_err(sb, e))?;
                }
                data.disk_size.fetch_max(end.min(inode.size()), Ordering::AcqRel);
                crate::inode::update_item(&mut st, inode).map_err(|e| fs_err(sb, e))
            })();
            tx.finish(r)
        }
        Outcome::Insert { file_off, len, disk_start, free } => {
            if let Some((a, l)) = free {
                release_blocks(sb, a / BS, l / BS)?;
                inode.sub_bytes(l);
            }
            let end = file_off + len;
            let n = if o.direct {
                // Buffered reads of the range may have mapped the blocks this finish takes out of
                // the file and still be reading them: those blocks are held (no commit makes them
                // reusable) until the direct write's completion has waited for such reads.
                let (n, hold) = with_tree(sb, |st, root| {
                    let mut blocks: KVec<(u64, u64)> = KVec::new();
                    let n = fileext::mapped_blocks(st, &root, ino, file_off, end, |s, l| {
                        blocks.push((s, l), GFP_KERNEL).map_err(|_| FsError::NoSpace)
                    })?;
                    let hold = if blocks.is_empty() { None } else { Some(st.state().add_read_hold(&blocks)?) };
                    Ok((n, hold))
                })?;
                let _nofs = NoFsScope::enter();
                o.st.lock().read_hold = hold;
                n
            } else {
                with_tree(sb, |st, root| fileext::count_overlapping(st, &root, ino, file_off, end))?
            };
            // The finish may dip into the reserve pool: the data is written and must not be lost
            // for want of metadata space (its own blocks were reserved at write time).
            let cost = Cost { items: fileext::items_changed_bound(n) + 1, class: ReserveClass::Unlink };
            let mut in_place = InPlace::take(inode)?;
            let mut tx = match Txn::start(sb, cost) {
                Ok(tx) => tx,
                Err(e) => {
                    release_blocks(sb, disk_start / BS, len / BS)?;
                    inode.sub_bytes(len);
                    inode.set_mapping_error(e);
                    return Err(e);
                }
            };
            let r = (|| -> Result<u64> {
                let mut st = tx.store();
                let mut roots = st.state().roots;
                let mut freed: KVec<(u64, u64)> = KVec::new();
                let removed = fileext::replace(
                    &mut st,
                    &mut roots.fs_root,
                    &mut roots.ext_root,
                    ino,
                    file_off,
                    len,
                    disk_start / BS,
                    0,
                    &mut |s, l| freed.push((s, l), GFP_KERNEL).map_err(|_| FsError::NoSpace),
                );
                st.state().roots.fs_root = roots.fs_root;
                st.state().roots.ext_root = roots.ext_root;
                let removed = removed.map_err(|e| fs_err(sb, e))?;
                st.state().roots.used_blocks = st.state().roots.used_blocks.saturating_add(len / BS);
                for (s, l) in freed {
                    in_place.free(&mut st, s, l).map_err(|e| fs_err(sb, e))?;
                }
                // The on-disk size covers data really written, never more than i_size.
                data.disk_size.fetch_max(end.min(inode.size()), Ordering::AcqRel);
                let b = data.disk_bytes.load(Ordering::Acquire);
                data.disk_bytes.store(b.saturating_add(len).saturating_sub(removed), Ordering::Release);
                crate::inode::update_item(&mut st, inode).map_err(|e| fs_err(sb, e))?;
                Ok(removed)
            })();
            let removed = tx.finish(r)?;
            in_place.hand_over();
            inode.sub_bytes(removed);
            Ok(())
        }
    }
}

/// Releases blocks deferred to an in-place extent that finished without a transaction of its
/// own (see [`InPlace`]).
fn release_deferred(sb: &SuperBlock<FerroFs>, deferred: &[(u64, u64)]) -> Result {
    if deferred.is_empty() {
        return Ok(());
    }
    let mut tx = Txn::start(sb, Cost { items: 0, class: ReserveClass::Unlink })?;
    let r = (|| -> Result {
        let mut st = tx.store();
        for &(s, l) in deferred {
            st.release_deferred(s, l).map_err(|e| fs_err(sb, e))?;
        }
        Ok(())
    })();
    tx.finish(r)
}

/// Frees blocks that no tree ever referenced (a failed or cancelled write's): they may be reused
/// at once.
fn release_blocks(sb: &SuperBlock<FerroFs>, start: u64, n: u64) -> Result {
    if n == 0 {
        return Ok(());
    }
    let _nofs = NoFsScope::enter();
    let mut t = sb.info().tree.lock();
    if let Some(space) = t.space.as_mut() {
        space.release(start, n).map_err(|e| {
            drop(t);
            fs_err(sb, e)
        })?;
    }
    Ok(())
}

/// Holds off the finishes of the inode's ordered extents until the guard drops (`fallocate`
/// finds the holes of a range and fills them in one step: a finish in between would insert
/// data there that the fill then replaced). Lock order as a finish's own (LOCKING.md, 3).
pub(crate) fn hold_finishes(inode: &Inode<FerroFs>) -> kernel::sync::lock::Guard<'_, (), kernel::sync::lock::mutex::MutexBackend> {
    inode.data().finishing.lock()
}

/// Waits until no unfinished ordered extent overlaps bytes `start..end` (fsync, truncate).
pub(crate) fn wait_range(inode: &Inode<FerroFs>, start: u64, end: u64) {
    let data = inode.data();
    let _nofs = NoFsScope::enter();
    let mut io = data.io.lock();
    while io.ordered.values().any(|o| o.overlaps(start, end)) {
        data.finished.wait(&mut io);
    }
}

// ---- Direct writes ----

/// Waits (with `io` released while waiting) until no other direct write's unfinished ordered
/// extent overlaps bytes `pos..end`: two direct writes of one range in flight would finish in
/// either order. Its completion needs nothing a direct writer holds. `nowait`: `EAGAIN`.
fn wait_direct(data: &InodeData, io: &mut kernel::sync::lock::Guard<'_, InodeIo, kernel::sync::lock::mutex::MutexBackend>, pos: u64, end: u64, nowait: bool) -> Result {
    while io.ordered.values().any(|o| o.direct && o.overlaps(pos, end)) {
        if nowait {
            return Err(code::EAGAIN);
        }
        data.finished.wait(io);
    }
    Ok(())
}

/// A direct write's new blocks for the file range at `pos` (block aligned, at most `len` bytes):
/// allocated now, under a new ordered extent of their own. Returns the extent, the device byte
/// address and the bytes (fewer than `len` when free space is fragmented or short).
///
/// Waits first for another direct write's unfinished ordered extent in the range (two direct
/// writes of one range in flight would finish in either order): that needs nothing this task
/// holds (its completion takes neither the inode lock nor a folio lock). `nowait`: `EAGAIN`
/// instead of that wait or of a commit to get space back.
pub(crate) fn dio_alloc(inode: &Inode<FerroFs>, pos: u64, len: u64, nowait: bool, sync: bool) -> Result<(Arc<Ordered>, u64, u64)> {
    let sb = inode.sb();
    let data = inode.data();
    let end = pos.saturating_add(len);
    let want = len.div_ceil(BS).max(1);
    let mut committed = false;
    loop {
        let _nofs = NoFsScope::enter();
        let mut io = data.io.lock();
        wait_direct(data, &mut io, pos, end, nowait)?;
        let mut t = sb.info().tree.lock();
        if t.aborted || !t.writable {
            return Err(code::EROFS);
        }
        // The same budget as a buffered write's reservation: what delayed allocation promised
        // others and the reserve pool stay untouched.
        let free = t.free_blocks();
        let avail = free.saturating_sub(t.budget.reserved()).saturating_sub(t.budget.pool());
        let n = want.min(avail);
        let got = if n > 0 && t.budget.try_reserve(free, n, ReserveClass::Normal).is_ok() {
            let r = t.space.as_mut().and_then(|space| space.alloc(n, 1));
            t.budget.release(n);
            r
        } else {
            None
        };
        let Some((start, n)) = got else {
            drop(t);
            drop(io);
            if nowait {
                return Err(code::EAGAIN);
            }
            if committed {
                return Err(code::ENOSPC);
            }
            // The running transaction's frees become usable after its commit.
            drop(_nofs);
            crate::transaction::commit(sb)?;
            committed = true;
            continue;
        };
        let made = OrderedExtent::new(pos, n * BS, start * BS)
            .map_err(|e| fs_err(sb, e))
            .and_then(|acct| Ordered::new(acct, true, sync, false))
            .and_then(|o| {
                io.insert_ordered(o.clone())?;
                Ok(o)
            });
        match made {
            Ok(o) => {
                drop(t);
                drop(io);
                inode.add_bytes(n * BS);
                return Ok((o, start * BS, n * BS));
            }
            Err(e) => {
                if let Some(space) = t.space.as_mut() {
                    let _ = space.release(start, n);
                }
                return Err(e);
            }
        }
    }
}

/// A direct write's mapping at `pos` (block aligned, at most `len` bytes) when the range is
/// preallocated: the preallocated blocks themselves, under a new in-place ordered extent (see
/// [`InPlace`]), whose finish converts them. `None` when `pos` is not preallocated (the caller
/// allocates new blocks). Waits first, as [`dio_alloc`] does, for another direct write's
/// unfinished extent in the range; `nowait`: `EAGAIN` instead.
pub(crate) fn dio_in_place(inode: &Inode<FerroFs>, pos: u64, len: u64, nowait: bool, sync: bool) -> Result<Option<(Arc<Ordered>, u64, u64)>> {
    let sb = inode.sb();
    let data = inode.data();
    let end = pos.saturating_add(len);
    loop {
        if !matches!(crate::file::map_blocks(inode, pos, len)?.kind, MapKind::Unwritten(_)) {
            return Ok(None);
        }
        {
            let _nofs = NoFsScope::enter();
            let mut io = data.io.lock();
            wait_direct(data, &mut io, pos, end, nowait)?;
        }
        // With the finishes held off: none may drop the preallocated piece between the lookup
        // and the in-place extent that guards its blocks.
        let _finishing = hold_finishes(inode);
        let m = crate::file::map_blocks(inode, pos, len)?;
        let MapKind::Unwritten(addr) = m.kind else {
            return Ok(None);
        };
        let n = (m.length.min(len) / BS).max(1);
        let _nofs = NoFsScope::enter();
        let mut io = data.io.lock();
        if io.ordered.values().any(|o| o.direct && o.overlaps(pos, pos + n * BS)) {
            // Another direct write got in between the wait and the lookup: wait again.
            continue;
        }
        let o = OrderedExtent::new(pos, n * BS, addr).map_err(|e| fs_err(sb, e)).and_then(|acct| Ordered::new(acct, true, sync, true))?;
        io.insert_ordered(o.clone())?;
        return Ok(Some((o, addr, n * BS)));
    }
}

/// The part of a direct write's ordered extent from `pos` on, when `pos` lies in its range:
/// `(device byte address, bytes)` (a retry writes the rest of the extent a faulted pass began).
pub(crate) fn dio_remainder(o: &Ordered, pos: u64) -> Option<(u64, u64)> {
    let st = o.st.lock();
    let (s, e) = (st.acct.file_off(), st.acct.live_end());
    (st.done.is_none() && s <= pos && pos < e).then(|| (st.acct.disk_start() + (pos - s), e - pos))
}

/// A pass of direct writes completed: `size` bytes at `pos`, `ok` false if any of its bios
/// failed. Accounts the bytes against the direct ordered extents there, moves `i_size` up to the
/// end of what was written (before the finishes, which bound the on-disk size by it), and
/// applies the finishes this completes. Returns whether one of those extents asked for O_DSYNC.
pub(crate) fn dio_written(inode: &Inode<FerroFs>, pos: u64, size: u64, ok: bool) -> bool {
    let sb = inode.sb();
    let data = inode.data();
    let end = pos.saturating_add(size);
    let mut sync = false;
    // The extents this completion made ready, for their read holds (should the vector not
    // grow, a hold is never ended: its blocks stay allocated until the next mount).
    let mut ready: KVec<Arc<Ordered>> = KVec::new();
    {
        let _nofs = NoFsScope::enter();
        let io = data.io.lock();
        for o in io.ordered.values().filter(|o| o.direct) {
            let mut st = o.st.lock();
            let (s, e) = (st.acct.file_off().max(pos), st.acct.live_end().min(end));
            if s >= e || st.done.is_some() {
                continue;
            }
            sync |= o.sync;
            match st.acct.account(s, e - s, ok) {
                Ok(Progress::Pending) => {}
                Ok(Progress::Done(out)) => {
                    st.done = Some(out);
                    let _ = ready.push(o.clone(), GFP_KERNEL);
                }
                Err(e) => pr_err!("{}: inode {}: direct write accounting: {e}\n", sb.id(), inode.ino()),
            }
        }
        // Under `io`: concurrent completions of extending writes only ever move it up.
        if ok && end > inode.size() {
            inode.set_size(end);
        }
    }
    if finish_ready(inode) {
        finished_notify(inode);
    }
    // Finished now (by this call or by one that held `finishing` before it).
    for o in ready.iter() {
        end_read_hold(inode, o);
    }
    sync
}

/// The end of a direct write whose last pass left part of the ordered extent `o` unsubmitted,
/// from `from` on: that tail is cancelled (no file extent, its blocks freed, no error), so the
/// extent finishes exactly once, with what was written, and nothing waits for it forever.
pub(crate) fn dio_cancel_tail(inode: &Inode<FerroFs>, o: &Ordered, from: u64) {
    let sb = inode.sb();
    {
        let _nofs = NoFsScope::enter();
        let mut st = o.st.lock();
        if st.done.is_some() {
            return;
        }
        // A fault ends a pass on a page boundary of the buffer, which the alignment rule of
        // direct writes makes a block boundary. Were it not, the half-written block must not
        // be kept (its tail would be stale disk contents): fail the extent instead.
        let at = from.next_multiple_of(BS);
        let live = st.acct.live_end();
        let mut r = st.acct.cancel_tail(at.min(live));
        if at != from && from < live {
            pr_err!("{}: inode {}: direct write ended inside a block at {from}\n", sb.id(), inode.ino());
            r = st.acct.account(from, at.min(live) - from, false);
        }
        match r {
            Ok(Progress::Pending) => {}
            Ok(Progress::Done(out)) => st.done = Some(out),
            Err(e) => pr_err!("{}: inode {}: cancelling a direct write's tail: {e}\n", sb.id(), inode.ino()),
        }
    }
    if finish_ready(inode) {
        finished_notify(inode);
    }
    end_read_hold(inode, o);
}

/// Ends the read hold a direct extent's finish took on the blocks it took out of the file, once
/// no buffered read that mapped them can still be reading them.
///
/// A buffered read locks its folios, then maps blocks, and unlocks each folio when its bio
/// completes. A read that mapped the old blocks did so before the finish changed the tree, so
/// its folios are in the page cache and locked when the finish is over: waiting for the range's
/// locked folios waits for it. Reads that lock folios later map the new blocks. Until then a
/// commit that freed the blocks (this finish's transaction, or a later one dropping their last
/// reference from another file) keeps them allocated; they are pinned again here, and the next
/// commit releases them.
///
/// Called by the direct write that made the extent ready, after the finish: in its completion
/// (in the writer, or on the superblock's direct I/O workqueue for an asynchronous write) or, for
/// a cancelled tail, at the end of its write loop. It holds no ferrofs lock (folio locks come
/// first, LOCKING.md), and it never runs on the per-mount workqueue, where writeback's
/// completion runs: a folio's holder (truncate) may be waiting for that.
fn end_read_hold(inode: &Inode<FerroFs>, o: &Ordered) {
    let hold = {
        let _nofs = NoFsScope::enter();
        o.st.lock().read_hold.take()
    };
    let Some(id) = hold else { return };
    let (start, end) = o.range();
    inode.wait_locked_folios(start, end);
    let sb = inode.sb();
    let free = {
        let _nofs = NoFsScope::enter();
        sb.info().tree.lock().drop_read_hold(id)
    };
    // Read-only or aborted since: nothing is allocated any more, so they may stay as they are.
    let _ = release_deferred(sb, &free);
}

/// Whether an unfinished ordered extent of buffered writeback overlaps bytes `start..end` (a
/// direct read must not wait for it, see [`crate::dio`]).
pub(crate) fn buffered_pending(inode: &Inode<FerroFs>, start: u64, end: u64) -> bool {
    let _nofs = NoFsScope::enter();
    let io = inode.data().io.lock();
    let pending = io.ordered.values().any(|o| !o.direct && o.overlaps(start, end));
    pending
}
