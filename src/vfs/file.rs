// SPDX-License-Identifier: GPL-2.0

//! Regular file I/O: the write request (`kiocb` + `iov_iter`), the file of an `fsync`, and the
//! helpers the data path calls on an inode's page cache (zeroing, flushing, `i_blocks`, errors).

use super::fs_type::FileSystem;
use super::inode::Inode;
use super::iomap::IomapTables;
use crate::sys;
use core::marker::PhantomData;
use kernel::error::{code, to_result, Result};

/// The inode lock held shared; see [`Inode::lock_shared`].
pub(crate) struct InodeSharedLock<'a, T: FileSystem>(&'a Inode<T>);

impl<T: FileSystem> Drop for InodeSharedLock<'_, T> {
    fn drop(&mut self) {
        // SAFETY: we took the lock shared in `Inode::lock_shared`.
        unsafe { sys::ferrofs_shim_inode_unlock_shared(self.0.as_ptr()) };
    }
}

/// A read or write request (`struct kiocb`).
///
/// # Invariants
///
/// `0` is the kiocb of a `read_iter`/`write_iter` call in progress on a regular file of ours.
pub(crate) struct Kiocb<'a, T: FileSystem>(pub(super) *mut sys::kiocb, pub(super) PhantomData<&'a T>);

impl<T: FileSystem> Kiocb<'_, T> {
    /// The inode of the file.
    pub(crate) fn inode(&self) -> &Inode<T> {
        // SAFETY: the file of a call in progress pins its inode, an initialised inode of ours.
        unsafe { Inode::from_raw(sys::ferrofs_shim_kiocb_inode(self.0)) }
    }

    /// The file position of the request (`ki_pos`).
    pub(crate) fn pos(&self) -> u64 {
        // SAFETY: valid kiocb (type invariant).
        unsafe { sys::ferrofs_shim_kiocb_pos(self.0) }.max(0) as u64
    }

    /// `IOCB_NOWAIT`: answer `EAGAIN` rather than block.
    pub(crate) fn nowait(&self) -> bool {
        // SAFETY: valid kiocb (type invariant).
        unsafe { sys::ferrofs_shim_kiocb_flags(self.0) & sys::FERROFS_IOCB_NOWAIT != 0 }
    }

    /// An asynchronous request (aio, io_uring): it may complete after `read_iter`/`write_iter`
    /// returned (`EIOCBQUEUED`).
    pub(crate) fn is_async(&self) -> bool {
        // SAFETY: valid kiocb (type invariant).
        !unsafe { sys::ferrofs_shim_kiocb_is_sync(self.0) }
    }

    /// `IOCB_DIRECT`: an `O_DIRECT` request.
    pub(crate) fn direct(&self) -> bool {
        // SAFETY: valid kiocb (type invariant).
        unsafe { sys::ferrofs_shim_kiocb_flags(self.0) & sys::FERROFS_IOCB_DIRECT != 0 }
    }

    /// `generic_write_checks`: limits, `O_APPEND` (moves the position), `EFBIG`, `ETXTBSY`.
    /// Returns the bytes to write (0: nothing). Callers hold the inode lock.
    pub(crate) fn write_checks(&self, from: &mut IovIter) -> Result<usize> {
        // SAFETY: valid kiocb and iterator of the call in progress; the inode lock is held.
        let n = unsafe { sys::generic_write_checks(self.0, from.0) };
        if n < 0 {
            return Err(kernel::error::Error::from_errno(n as i32));
        }
        Ok(n as usize)
    }

    /// `kiocb_modified`: removes set-id bits and privileges, updates mtime and ctime.
    pub(crate) fn modified(&self) -> Result {
        // SAFETY: valid kiocb; the inode lock is held.
        to_result(unsafe { sys::ferrofs_shim_kiocb_modified(self.0) })
    }

    /// Copies `from` into the page cache at the request's position through the buffered-write
    /// iomap table (`iomap_file_buffered_write`), advancing the position. Returns the bytes
    /// copied (short when the user buffer faults).
    pub(crate) fn buffered_write(&self, from: &mut IovIter) -> Result<usize> {
        // SAFETY: valid kiocb and iterator; the inode lock is held; our table is static.
        let n = unsafe {
            sys::iomap_file_buffered_write(self.0, from.0, &IomapTables::<T>::BUFFERED_WRITE, core::ptr::null_mut())
        };
        if n < 0 {
            return Err(kernel::error::Error::from_errno(n as i32));
        }
        Ok(n as usize)
    }

    /// `generic_write_sync` for `written` bytes just written (O_DSYNC/O_SYNC, file or request).
    /// Called without the inode lock (our fsync takes it).
    pub(crate) fn write_sync(&self, written: usize) -> Result<usize> {
        // SAFETY: valid kiocb whose position is past the bytes written.
        let n = unsafe { sys::ferrofs_shim_generic_write_sync(self.0, written as isize) };
        if n < 0 {
            return Err(kernel::error::Error::from_errno(n as i32));
        }
        Ok(n as usize)
    }
}

/// What one pass of a direct I/O did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DioPass {
    /// Completed: the bytes done so far, the passes before included (0: this pass did nothing).
    Done(usize),
    /// Asynchronous: its completion reports the result. The kiocb belongs to that completion now;
    /// the caller must not touch it again.
    Queued,
}

/// The O_DSYNC/O_SYNC flags a direct write took off its kiocb (see [`Kiocb::take_sync`]).
#[derive(Clone, Copy)]
pub(crate) struct SyncFlags(i32);

impl SyncFlags {
    /// Whether the request asked for O_DSYNC or O_SYNC.
    pub(crate) fn any(self) -> bool {
        self.0 != 0
    }
}

/// Direct I/O on a request.
impl<T: FileSystem> Kiocb<'_, T> {
    /// Whether the request must be durable when it completes (O_DSYNC/O_SYNC of the file or
    /// `RWF_DSYNC`/`RWF_SYNC`).
    pub(crate) fn dsync(&self) -> bool {
        // SAFETY: valid kiocb (type invariant).
        unsafe { sys::ferrofs_shim_kiocb_dsync(self.0) }
    }

    /// Clears `IOCB_DSYNC`/`IOCB_SYNC` (iomap's completion would otherwise call
    /// `generic_write_sync`, our fsync, which takes the inode lock the writer holds) and
    /// `IOCB_DIO_CALLER_COMP` (our completion runs on the dio workqueue). Returns what it cleared.
    pub(crate) fn take_sync(&self) -> SyncFlags {
        // SAFETY: valid kiocb (type invariant); we are its submitter, nothing else looks at it.
        unsafe {
            sys::ferrofs_shim_kiocb_no_caller_comp(self.0);
            SyncFlags(sys::ferrofs_shim_kiocb_take_sync(self.0))
        }
    }

    /// Puts back what [`Self::take_sync`] cleared. Only while the request is still ours (never
    /// after a [`DioPass::Queued`] pass).
    pub(crate) fn restore_sync(&self, f: SyncFlags) {
        // SAFETY: valid kiocb, still owned by this call (the caller's contract).
        unsafe { sys::ferrofs_shim_kiocb_restore_sync(self.0, f.0) };
    }

    /// One pass of a direct write of `from` at the request's position with page faults disabled
    /// (`__iomap_dio_rw` with `IOMAP_DIO_PARTIAL`, completed unless asynchronous), through the
    /// direct iomap table with `data` as the per-write state its callbacks get. `done_before`
    /// is what the passes before did. Callers hold the inode lock.
    pub(crate) fn dio_write(&self, from: &mut IovIter, done_before: usize, data: &mut T::DioData) -> Result<DioPass> {
        self.dio_rw(from, done_before, data, &IomapTables::<T>::DIO_WRITE_OPS)
    }

    /// One pass of a direct read into `to`, as [`Self::dio_write`].
    pub(crate) fn dio_read(&self, to: &mut IovIter, done_before: usize, data: &mut T::DioData) -> Result<DioPass> {
        // SAFETY: a static of the shim, never written.
        let dops = unsafe { &sys::ferrofs_shim_dio_read_ops };
        self.dio_rw(to, done_before, data, dops)
    }

    fn dio_rw(&self, it: &mut IovIter, done_before: usize, data: &mut T::DioData, dops: &'static sys::iomap_dio_ops) -> Result<DioPass> {
        let mut call = DioCall::<T> { data, iter: it.0 };
        let private: *mut DioCall<'_, T> = &mut call;
        // SAFETY: valid kiocb and iterator of the call in progress; the tables are static. iomap
        // uses `private` only while submitting (iomap_begin, iomap_end, submit_io), all before it
        // returns, so the borrow outlives every use, an asynchronous completion included.
        let n = unsafe {
            sys::ferrofs_shim_dio_rw(self.0, it.0, &IomapTables::<T>::DIRECT, dops, private.cast(), done_before)
        };
        if n == -(sys::FERROFS_EIOCBQUEUED as isize) {
            return Ok(DioPass::Queued);
        }
        if n < 0 {
            return Err(kernel::error::Error::from_errno(n as i32));
        }
        Ok(DioPass::Done(n as usize))
    }

    /// A buffered read into `to` from the request's position (`filemap_read`), `already` bytes
    /// having been read before (they are in the result). Advances the position.
    pub(crate) fn buffered_read(&self, to: &mut IovIter, already: usize) -> Result<usize> {
        // SAFETY: valid kiocb and iterator of the call in progress.
        let n = unsafe { sys::ferrofs_shim_buffered_read(self.0, to.0, already as isize) };
        if n < 0 {
            return Err(kernel::error::Error::from_errno(n as i32));
        }
        Ok(n as usize)
    }
}

/// What a direct I/O pass hands iomap as its iter's `private`: the filesystem's per-I/O state
/// and the request's data, which the mapping callbacks may fault in (see [`PassRest`]).
pub(crate) struct DioCall<'a, T: FileSystem> {
    pub(crate) data: &'a mut T::DioData,
    /// The iterator the pass submits from (`IovIter` invariant).
    iter: *mut sys::iov_iter,
}

impl<T: FileSystem> DioCall<'_, T> {
    /// The state, and what of the request's data the pass has not submitted yet.
    pub(crate) fn split(&mut self) -> (&mut T::DioData, PassRest<'_>) {
        (&mut *self.data, PassRest { iter: self.iter, _p: PhantomData })
    }
}

/// The part of a direct I/O's data that its pass has not submitted yet, seen from iomap's
/// callbacks (iomap_end): its iterator stands after the last byte put in a bio.
pub(crate) struct PassRest<'a> {
    iter: *mut sys::iov_iter,
    _p: PhantomData<&'a ()>,
}

impl PassRest<'_> {
    /// Bytes not submitted.
    pub(crate) fn count(&self) -> usize {
        // SAFETY: the iterator of the request in progress (`DioCall`); iomap calls its mapping
        // callbacks between bios, on the submitting task, so nothing changes it meanwhile.
        unsafe { sys::ferrofs_shim_iov_count(self.iter) }
    }

    /// Faults in up to `n` bytes of them, as [`IovIter::fault_in`] (reading it only).
    pub(crate) fn fault_in(&self, n: usize, writeable: bool) -> usize {
        // SAFETY: as in `count`; faulting in only reads the iterator, and may sleep: iomap calls
        // its mapping callbacks in process context holding no spinlock.
        unsafe { sys::ferrofs_shim_iov_fault_in(self.iter, n, writeable) }
    }
}

/// The data of a request (`struct iov_iter`).
///
/// # Invariants
///
/// `0` is the iterator of a `read_iter`/`write_iter` call in progress.
pub(crate) struct IovIter(pub(super) *mut sys::iov_iter);

impl IovIter {
    /// Bytes left.
    pub(crate) fn count(&self) -> usize {
        // SAFETY: valid iterator (type invariant).
        unsafe { sys::ferrofs_shim_iov_count(self.0) }
    }

    /// The OR of every segment's address and length (`iov_iter_alignment`).
    pub(crate) fn alignment(&self) -> u64 {
        // SAFETY: valid iterator (type invariant).
        unsafe { sys::ferrofs_shim_iov_alignment(self.0) as u64 }
    }

    /// Whether the data is user memory spanning more than one page: a direct transfer with page
    /// faults disabled can then stop part way (some pages resident, later ones not).
    pub(crate) fn user_multipage(&self) -> bool {
        // SAFETY: valid iterator (type invariant).
        unsafe { sys::ferrofs_shim_iov_user_multipage(self.0) }
    }

    /// Faults in up to `n` bytes of the user buffer for reading (a write's source) or writing (a
    /// read's destination); returns how many could not be.
    pub(crate) fn fault_in(&mut self, n: usize, writeable: bool) -> usize {
        // SAFETY: valid iterator (type invariant); faulting in may sleep, the caller holds no
        // spinlock (process context of a read/write call).
        unsafe { sys::ferrofs_shim_iov_fault_in(self.0, n, writeable) }
    }
}

/// What direct reads need module-wide: the bio set their bios come from (each carries its SRCU
/// read side, see [`DioReadPin`]). One per loaded module, made before the filesystem type is
/// registered and dropped after it is unregistered.
pub(crate) struct DioReadSupport(());

impl DioReadSupport {
    pub(crate) fn new() -> Result<Self> {
        // SAFETY: called once, from module init, before any direct read can start.
        to_result(unsafe { sys::ferrofs_shim_dio_init() })?;
        Ok(DioReadSupport(()))
    }
}

impl Drop for DioReadSupport {
    fn drop(&mut self) {
        // SAFETY: from module exit after the filesystem type was unregistered: no direct read is
        // in progress and none can start; the set was initialised by `new`.
        unsafe { sys::ferrofs_shim_dio_exit() }
    }
}

/// A direct read's SRCU read side (the shim's `ferrofs_dio_read_srcu`): while it is held, no commit
/// makes the blocks it freed reusable ([`ReadGrace`]). Take it before mapping blocks for a direct
/// read and drop it once their bios are submitted (each bio holds its own until it completes).
pub(crate) struct DioReadPin(i32);

impl DioReadPin {
    pub(crate) fn take() -> Self {
        // SAFETY: no requirements (srcu_down_read may be called in any context but NMI).
        DioReadPin(unsafe { sys::ferrofs_shim_dio_read_lock() })
    }
}

impl Drop for DioReadPin {
    fn drop(&mut self) {
        // SAFETY: the index our `take` got, released once.
        unsafe { sys::ferrofs_shim_dio_read_unlock(self.0) }
    }
}

/// The grace period a commit waits for before the blocks its transaction freed may be reused:
/// started when it takes them, so every direct read that could have mapped them is a reader it
/// waits for. Waiting takes no lock; never wait while holding something a direct read's mapping
/// takes (the tree lock).
pub(crate) struct ReadGrace(core::ffi::c_ulong);

impl ReadGrace {
    pub(crate) fn start() -> Self {
        // SAFETY: no requirements.
        ReadGrace(unsafe { sys::ferrofs_shim_dio_read_grace_start() })
    }

    /// Returns once every direct read that started before [`Self::start`] has completed.
    pub(crate) fn wait(self) {
        // SAFETY: a cookie of `start`; may sleep (process context, the callers hold no spinlock).
        unsafe { sys::ferrofs_shim_dio_read_grace_wait(self.0) }
    }
}

/// How much of a direct write's buffer to fault in before a pass (the `dio_prefault_kib` module
/// parameter, in bytes; 0: none).
pub(crate) fn dio_prefault_window() -> usize {
    // SAFETY: reads a module parameter; no requirements.
    unsafe { sys::ferrofs_shim_dio_prefault_bytes() }
}

/// Fault injection (tests only): holds a buffered read that has just mapped blocks while the
/// `read_map_delay_ms` module parameter says so.
pub(crate) fn read_map_delay() {
    // SAFETY: reads a module parameter and may sleep; the caller holds no lock of ours.
    unsafe { sys::ferrofs_shim_read_map_delay() }
}

/// Fault injection (tests only): holds a direct write's completion before its finish while the
/// `dio_write_end_delay_ms` module parameter says so.
pub(crate) fn dio_write_end_delay() {
    // SAFETY: reads a module parameter and may sleep; the caller holds no lock of ours.
    unsafe { sys::ferrofs_shim_dio_write_end_delay() }
}

/// How long failing commits are kept and retried before the filesystem turns read-only (the
/// `commit_retry_secs` module parameter; 0: not at all).
pub(crate) fn commit_retry_ms() -> i64 {
    // SAFETY: reads a module parameter; no requirements.
    i64::from(unsafe { sys::ferrofs_shim_commit_retry_secs() }) * 1000
}

/// Counts a direct write that stopped at a fault of its buffer and faults the rest in to resume
/// (the `dio_retries` parameter).
pub(crate) fn count_dio_retry() {
    // SAFETY: an atomic increment; no requirements.
    unsafe { sys::ferrofs_shim_count_dio_retry() }
}


/// The open file of an `fsync` or `fallocate` call.
///
/// # Invariants
///
/// `0` is an open regular file or directory of ours, for the duration of the call.
pub(crate) struct OpenFile<'a, T: FileSystem>(pub(super) *mut sys::file, pub(super) PhantomData<&'a T>);

impl<T: FileSystem> OpenFile<'_, T> {
    /// The inode.
    pub(crate) fn inode(&self) -> &Inode<T> {
        // SAFETY: an open file of ours pins its initialised inode (type invariant).
        unsafe { Inode::from_raw((*self.0).f_inode) }
    }

    /// Writes back the dirty page cache of `start..=end` and waits for it; returns the writeback
    /// error this file has not seen yet (`file_write_and_wait_range`: each error once per file).
    pub(crate) fn write_and_wait(&self, start: u64, end: u64) -> Result {
        let (s, e) = (start.min(i64::MAX as u64) as i64, end.min(i64::MAX as u64) as i64);
        // SAFETY: an open file (type invariant).
        to_result(unsafe { sys::ferrofs_shim_file_write_and_wait(self.0, s, e) })
    }

    /// `generic_remap_file_range_prep` for a remap of `*len` bytes from `pos_in` of this file to
    /// `pos_out` of `dst`: the VFS's checks (alignment, limits, overlap), direct I/O waited
    /// for, both ranges written back, a dedupe's contents compared (`EBADE`), privileges and
    /// times of `dst`; `*len` may shrink (to 0: nothing to do). Both inodes locked
    /// ([`Inode::lock_two`]).
    pub(crate) fn remap_prep(&self, pos_in: u64, dst: &OpenFile<'_, T>, pos_out: u64, len: &mut u64, flags: u32) -> Result {
        let mut l = (*len).min(i64::MAX as u64) as i64;
        // SAFETY: both open files of ours (type invariant), their inodes locked by the caller.
        let r = to_result(unsafe {
            sys::ferrofs_shim_remap_prep(self.0, pos_in.min(i64::MAX as u64) as i64, dst.0, pos_out.min(i64::MAX as u64) as i64, &mut l, flags)
        });
        *len = l.max(0) as u64;
        r
    }

    /// Whether writes through this file must be durable when they return (`O_DSYNC`/`O_SYNC`
    /// on the file, or the inode's sync flag).
    pub(crate) fn sync_writes(&self) -> bool {
        // SAFETY: an open file (type invariant).
        unsafe { sys::ferrofs_shim_file_sync_writes(self.0) }
    }

    /// `file_modified`: removes set-id bits and privileges, updates mtime and ctime (a
    /// `fallocate` that changes the file). Callers hold the inode lock.
    pub(crate) fn modified(&self) -> Result {
        // SAFETY: an open file (type invariant), its inode locked by the caller.
        to_result(unsafe { sys::ferrofs_shim_file_modified(self.0) })
    }
}

/// Two inodes' locks and invalidate locks held; see [`Inode::lock_two`].
pub(crate) struct TwoLocked<'a, T: FileSystem>(&'a Inode<T>, &'a Inode<T>);

impl<T: FileSystem> Drop for TwoLocked<'_, T> {
    fn drop(&mut self) {
        // SAFETY: taken in `Inode::lock_two` with these two inodes.
        unsafe { sys::ferrofs_shim_unlock_two(self.0.as_ptr(), self.1.as_ptr()) };
    }
}

/// The mapping's invalidate lock held exclusively; see [`Inode::invalidate_lock`].
pub(crate) struct InvalidateLock<'a, T: FileSystem>(&'a Inode<T>);

impl<T: FileSystem> Drop for InvalidateLock<'_, T> {
    fn drop(&mut self) {
        // SAFETY: taken in `Inode::invalidate_lock`.
        unsafe { sys::ferrofs_shim_invalidate_unlock(self.0.as_ptr()) };
    }
}

/// Page cache and accounting helpers for the data path.
impl<T: FileSystem> Inode<T> {
    /// Tries the inode lock without waiting (`IOCB_NOWAIT`).
    pub(crate) fn try_lock(&self) -> Option<super::inode::InodeLock<'_, T>> {
        // SAFETY: valid inode; on success the guard unlocks it.
        unsafe { sys::ferrofs_shim_inode_trylock(self.as_ptr()) }.then(|| super::inode::InodeLock::taken(self))
    }

    /// Zeroes `pos..pos+len` through the page cache (`iomap_zero_range`); holes stay holes.
    /// Callers hold the inode lock.
    pub(crate) fn zero_range(&self, pos: u64, len: u64) -> Result {
        if len == 0 {
            return Ok(());
        }
        // SAFETY: valid inode, its lock held; our table is static.
        to_result(unsafe {
            sys::iomap_zero_range(
                self.as_ptr(),
                pos.min(i64::MAX as u64) as i64,
                len.min(i64::MAX as u64) as i64,
                core::ptr::null_mut(),
                &IomapTables::<T>::BUFFERED_WRITE,
            )
        })
    }

    /// Unshares `pos..pos+len` through the page cache (`iomap_file_unshare`): each block the
    /// buffered-write mapping marks shared and maps from a source is read in and dirtied, so
    /// writeback gives it blocks of its own. Callers hold the inode lock.
    pub(crate) fn file_unshare(&self, pos: u64, len: u64) -> Result {
        if len == 0 {
            return Ok(());
        }
        // SAFETY: valid inode, its lock held; our table is static.
        to_result(unsafe {
            sys::iomap_file_unshare(
                self.as_ptr(),
                pos.min(i64::MAX as u64) as i64,
                len.min(i64::MAX as u64) as i64,
                &IomapTables::<T>::BUFFERED_WRITE,
            )
        })
    }

    /// `IS_NOSEC`: no set-id bits or security attributes for a write to remove (checked again
    /// under the lock).
    pub(crate) fn nosec(&self) -> bool {
        // SAFETY: valid inode.
        unsafe { sys::ferrofs_shim_inode_nosec(self.as_ptr()) }
    }

    /// Takes the inode lock shared until the guard drops; `try_only` (`IOCB_NOWAIT`) gives up
    /// instead of waiting.
    pub(crate) fn lock_shared(&self, try_only: bool) -> Option<InodeSharedLock<'_, T>> {
        if try_only {
            // SAFETY: valid inode; on success the guard unlocks it.
            // (`then`, not `then_some`: a guard built for a failed try would unlock on drop.)
            return unsafe { sys::ferrofs_shim_inode_trylock_shared(self.as_ptr()) }.then(|| InodeSharedLock(self));
        }
        // SAFETY: valid inode; paired with the unlock in the guard's Drop.
        unsafe { sys::ferrofs_shim_inode_lock_shared(self.as_ptr()) };
        Some(InodeSharedLock(self))
    }

    /// The device's logical block size: the smallest direct I/O it takes.
    pub(crate) fn dev_block_size(&self) -> u64 {
        // SAFETY: the superblock of a mounted inode has its device.
        unsafe { sys::ferrofs_shim_bdev_lbs(self.sb().as_ptr()) as u64 }
    }

    /// Writes back `start..=end`, waits for it and drops those pages from the page cache (a
    /// direct write finished through the page cache: the next direct read must see it).
    pub(crate) fn flush_invalidate(&self, start: u64, end: u64) -> Result {
        let (s, e) = (start.min(i64::MAX as u64) as i64, end.min(i64::MAX as u64) as i64);
        // SAFETY: valid inode.
        to_result(unsafe { sys::ferrofs_shim_flush_invalidate(self.as_ptr(), s, e) })
    }

    /// Waits until the folios of bytes `start..end` that are locked now are unlocked. A buffered
    /// read keeps its folios locked from before it maps blocks until its bios complete, so when
    /// this returns every buffered read of the range that mapped blocks before the call is done.
    /// May sleep; the caller holds no ferrofs lock (folio locks come before them).
    pub(crate) fn wait_locked_folios(&self, start: u64, end: u64) {
        let (s, e) = (start.min(i64::MAX as u64) as i64, end.min(i64::MAX as u64) as i64);
        // SAFETY: valid inode; process context, no spinlock held.
        unsafe { sys::ferrofs_shim_wait_locked_folios(self.as_ptr(), s, e) }
    }

    /// Takes the mapping's invalidate lock exclusively until the guard drops: page faults cannot
    /// read folios in and `page_mkwrite` cannot dirty them meanwhile. Taken inside the inode lock.
    pub(crate) fn invalidate_lock(&self) -> InvalidateLock<'_, T> {
        // SAFETY: valid inode; the guard's Drop unlocks.
        unsafe { sys::ferrofs_shim_invalidate_lock(self.as_ptr()) };
        InvalidateLock(self)
    }

    /// Takes the inode locks, then the invalidate locks, of `self` and `other` (once when they
    /// are one inode), in the VFS's order, until the guard drops.
    pub(crate) fn lock_two<'a>(&'a self, other: &'a Inode<T>) -> TwoLocked<'a, T> {
        // SAFETY: valid inodes; the guard's Drop unlocks the same two.
        unsafe { sys::ferrofs_shim_lock_two(self.as_ptr(), other.as_ptr()) };
        TwoLocked(self, other)
    }

    /// Writes back the dirty page cache of `start..=end` and waits for it (`EIO` and the like
    /// from the mapping's error state).
    pub(crate) fn write_and_wait_range(&self, start: u64, end: u64) -> Result {
        let (s, e) = (start.min(i64::MAX as u64) as i64, end.min(i64::MAX as u64) as i64);
        // SAFETY: valid inode.
        to_result(unsafe { sys::ferrofs_shim_write_and_wait_range(self.as_ptr(), s, e) })
    }

    /// Unmaps and drops the page cache of `start..=end` (`truncate_pagecache_range`; waits for
    /// the writeback of the folios it drops). Callers hold the inode and invalidate locks.
    pub(crate) fn truncate_pagecache_range(&self, start: u64, end: u64) {
        let (s, e) = (start.min(i64::MAX as u64) as i64, end.min(i64::MAX as u64) as i64);
        // SAFETY: valid inode, its locks held by the caller.
        unsafe { sys::ferrofs_shim_truncate_pagecache_range(self.as_ptr(), s, e) };
    }

    /// Whether the file may grow to `size` bytes (`inode_newsize_ok`: `RLIMIT_FSIZE`, which
    /// also raises `SIGXFSZ`, and `s_maxbytes`).
    pub(crate) fn newsize_ok(&self, size: u64) -> Result {
        // Past any loff_t: too big for any file (clamping it would let it pass).
        let size = i64::try_from(size).map_err(|_| code::EFBIG)?;
        // SAFETY: valid inode.
        to_result(unsafe { sys::ferrofs_shim_inode_newsize_ok(self.as_ptr(), size) })
    }

    /// Waits for direct I/O in flight (`inode_dio_wait`).
    pub(crate) fn dio_wait(&self) {
        // SAFETY: valid inode.
        unsafe { sys::inode_dio_wait(self.as_ptr()) };
    }

    /// Sets `i_size` and drops the page cache past it (`truncate_setsize`: zeroes the partial
    /// folio, waits for writeback of the folios it removes). Callers hold the inode lock.
    pub(crate) fn truncate_setsize(&self, size: u64) {
        // SAFETY: valid inode, its lock held.
        unsafe { sys::truncate_setsize(self.as_ptr(), size.min(i64::MAX as u64) as i64) };
    }

    /// Adds `bytes` to `i_blocks` (as 512-byte units).
    pub(crate) fn add_bytes(&self, bytes: u64) {
        // SAFETY: valid inode; inode_add_bytes takes i_lock.
        unsafe { sys::ferrofs_shim_inode_add_bytes(self.as_ptr(), bytes) };
    }

    /// Subtracts `bytes` from `i_blocks`.
    pub(crate) fn sub_bytes(&self, bytes: u64) {
        // SAFETY: valid inode; inode_sub_bytes takes i_lock.
        unsafe { sys::ferrofs_shim_inode_sub_bytes(self.as_ptr(), bytes) };
    }

    /// Records a writeback error on the mapping (`fsync` reports it once per file).
    pub(crate) fn set_mapping_error(&self, err: kernel::error::Error) {
        // SAFETY: valid inode.
        unsafe { sys::ferrofs_shim_mapping_set_error(self.as_ptr(), err.to_errno()) };
    }
}

/// The swap area `swapon(2)` is setting up on a file (`struct swap_info_struct`), handed to
/// [`FileSystem::swap_activate`].
///
/// # Invariants
///
/// `0` is the swap area of the `swap_activate` call in progress.
pub(crate) struct SwapFile(pub(super) *mut sys::swap_info_struct);

impl SwapFile {
    /// The most pages the swap code takes (from the swap header).
    pub(crate) fn max_pages(&self) -> u64 {
        // SAFETY: valid swap area (type invariant).
        unsafe { sys::ferrofs_shim_swap_max(self.0) as u64 }
    }

    /// `add_swap_extent`: swap pages `start_page..start_page + nr_pages` are the device pages
    /// from `start_block` (in pages) on. Returns how many extents it added (0 when it merged).
    pub(crate) fn add_extent(&mut self, start_page: u64, nr_pages: u64, start_block: u64) -> Result<u32> {
        // SAFETY: valid swap area (type invariant); plain numbers.
        let r = unsafe { sys::ferrofs_shim_swap_add_extent(self.0, start_page as _, nr_pages as _, start_block as _) };
        to_result(r.min(0))?;
        Ok(r as u32)
    }

    /// Sets the usable size: `nr_pages` pages, the first being the swap header.
    pub(crate) fn set_pages(&mut self, nr_pages: u64) {
        // SAFETY: valid swap area (type invariant).
        unsafe { sys::ferrofs_shim_swap_set_pages(self.0, nr_pages as _) };
    }
}