// SPDX-License-Identifier: GPL-2.0

//! Superblock wrappers, the per-mount state the vfs layer keeps beside the filesystem's, and the
//! per-mount workqueue with its delayed commit work.

use super::buffer::BufferHead;
use super::fs_type::FileSystem;
use crate::sys;
use core::ffi::CStr;
use core::marker::PhantomData;
use core::ptr::NonNull;
use kernel::error::{code, to_result, Error, Result};
use kernel::prelude::*;
use kernel::types::Opaque;

/// A superblock being set up by `fill_super`: no filesystem info attached yet.
///
/// # Invariants
///
/// `0` points to a valid, locked superblock that the VFS is filling for filesystem `T`, with a
/// block device (`FS_REQUIRES_DEV`).
pub(crate) struct NewSuperBlock<T: FileSystem>(*mut sys::super_block, PhantomData<T>);

impl<T: FileSystem> NewSuperBlock<T> {
    /// # Safety
    ///
    /// `sb` must satisfy the type invariants for the wrapper's lifetime.
    pub(crate) unsafe fn from_raw(sb: *mut sys::super_block) -> Self {
        Self(sb, PhantomData)
    }

    /// Sets the filesystem block size; fails when the device's logical block size is larger.
    pub(crate) fn set_blocksize(&self, size: u32) -> Result {
        // SAFETY: `self.0` is valid (type invariant).
        if unsafe { sys::sb_set_blocksize(self.0, size as core::ffi::c_int) } == 0 {
            return Err(code::EINVAL);
        }
        Ok(())
    }

    /// Whether the device takes discards.
    pub(crate) fn discards(&self) -> bool {
        // SAFETY: valid superblock with a device (type invariant).
        unsafe { sys::ferrofs_shim_discards(self.0) }
    }

    /// Reads block `block` through the block device's page cache; `None` on I/O error.
    pub(crate) fn bread(&self, block: u64) -> Option<BufferHead> {
        // SAFETY: valid superblock with a device (type invariant); callers set the block size first.
        unsafe { BufferHead::read(self.0, block) }
    }

    /// Size of the block device in bytes.
    pub(crate) fn device_bytes(&self) -> u64 {
        // SAFETY: valid superblock with a device (type invariant).
        let n = unsafe { sys::ferrofs_shim_bdev_nr_bytes(self.0) };
        n.max(0) as u64
    }

    /// Whether the mount is read-only.
    pub(crate) fn is_rdonly(&self) -> bool {
        // SAFETY: valid superblock (type invariant).
        unsafe { sys::ferrofs_shim_sb_rdonly(self.0) }
    }

    /// Turns POSIX ACLs on or off (`SB_POSIXACL`: the VFS checks and inherits them only with it).
    pub(crate) fn set_posix_acl(&self, on: bool) {
        // SAFETY: valid superblock, not yet visible to anyone else (type invariant).
        unsafe { sys::ferrofs_shim_set_posixacl(self.0, on) };
    }

    /// Charges buffered writeback to the cgroup that dirtied the pages (`SB_I_CGROUPWB`), as
    /// ext4, XFS and btrfs do. The filesystem's own metadata writes stay with whoever submits them.
    pub(crate) fn set_cgroup_writeback(&self) {
        // SAFETY: valid superblock, not yet visible to anyone else (type invariant).
        unsafe { sys::ferrofs_shim_set_cgroup_writeback(self.0) };
    }

    /// The device name (`s_id`), for messages.
    pub(crate) fn id(&self) -> &str {
        sb_id(self.0)
    }
}

fn sb_id<'a>(sb: *mut sys::super_block) -> &'a str {
    // SAFETY: callers pass a valid superblock; `s_id` is a NUL-terminated array set before
    // fill_super and never changed while the superblock lives.
    let id = unsafe { CStr::from_ptr((*sb).s_id.as_ptr()) };
    id.to_str().unwrap_or("?")
}

/// A per-superblock rate limit for error messages (`struct ratelimit_state`).
///
/// # Invariants
///
/// `0` is a ratelimit state allocated and initialised by the shim, freed in `Drop`.
pub(crate) struct Ratelimit(NonNull<core::ffi::c_void>);

// SAFETY: the ratelimit state has its own lock; it may be used and freed from any thread.
unsafe impl Send for Ratelimit {}
// SAFETY: as above, `__ratelimit` serialises concurrent users.
unsafe impl Sync for Ratelimit {}

impl Ratelimit {
    pub(crate) fn new() -> Result<Self> {
        // SAFETY: plain allocation; NULL on failure.
        let p = unsafe { sys::ferrofs_shim_ratelimit_alloc() };
        NonNull::new(p).map(Self).ok_or(code::ENOMEM)
    }
}

impl Drop for Ratelimit {
    fn drop(&mut self) {
        // SAFETY: allocated by the shim (type invariant) and freed once.
        unsafe { sys::ferrofs_shim_ratelimit_free(self.0.as_ptr()) };
    }
}

/// An owned workqueue (`alloc_workqueue` with `WQ_MEM_RECLAIM`), drained and destroyed on drop.
///
/// # Invariants
///
/// `0` is a workqueue allocated by the shim and not yet destroyed.
pub(crate) struct WorkQueue(NonNull<sys::workqueue_struct>);

// SAFETY: workqueues are made to be used from any thread.
unsafe impl Send for WorkQueue {}
// SAFETY: as above.
unsafe impl Sync for WorkQueue {}

impl WorkQueue {
    fn for_sb(sb: *mut sys::super_block) -> Result<Self> {
        // SAFETY: `sb` is a valid superblock; the name is formatted from its `s_id`.
        let wq = unsafe { sys::ferrofs_shim_alloc_wq(sb) };
        NonNull::new(wq).map(Self).ok_or(code::ENOMEM)
    }

    /// Waits until every work item queued so far has run.
    pub(crate) fn flush(&self) {
        // SAFETY: valid workqueue (type invariant).
        unsafe { sys::ferrofs_shim_flush_wq(self.0.as_ptr()) };
    }
}

impl Drop for WorkQueue {
    fn drop(&mut self) {
        // SAFETY: valid and not destroyed yet (type invariant); destroy_workqueue drains it first.
        unsafe { sys::destroy_workqueue(self.0.as_ptr()) };
    }
}

/// The queue through which completed writeback ioends reach the workqueue (see the shim), freed
/// on drop.
///
/// # Invariants
///
/// `0` is a queue allocated by the shim; it is freed only after the workqueue it feeds was
/// flushed (the owner, [`SbState`], drops the workqueue after it).
pub(crate) struct IoendQueue(pub(crate) NonNull<core::ffi::c_void>);

// SAFETY: the queue has its own irq-safe lock.
unsafe impl Send for IoendQueue {}
// SAFETY: as above.
unsafe impl Sync for IoendQueue {}

impl Drop for IoendQueue {
    fn drop(&mut self) {
        // SAFETY: allocated by the shim (type invariant); the workqueue was flushed by
        // `stop_background` before the superblock's state is dropped, so the work is idle.
        unsafe { sys::ferrofs_shim_ioend_queue_free(self.0.as_ptr()) };
    }
}

/// What `s_fs_info` points to: the vfs layer's per-mount state beside the filesystem's.
///
/// # Invariants
///
/// `sb` is the superblock whose `s_fs_info` points to this state. `commit_work` was initialised by
/// the shim and is cancelled (by [`SuperBlock::stop_background`]) before the state is dropped.
#[pin_data]
pub(crate) struct SbState<T: FileSystem> {
    pub(crate) rl: Ratelimit,
    /// Declared before `wq`: dropped first, after `stop_background` flushed the workqueue.
    pub(crate) ioends: IoendQueue,
    pub(crate) wq: WorkQueue,
    sb: *mut sys::super_block,
    #[pin]
    commit_work: Opaque<sys::delayed_work>,
    #[pin]
    pub(crate) info: T::Info,
}

// SAFETY: the raw superblock pointer is only used to find the superblock from the work callback;
// everything else is Send/Sync by the bounds on `T::Info`.
unsafe impl<T: FileSystem> Send for SbState<T> {}
// SAFETY: as above.
unsafe impl<T: FileSystem> Sync for SbState<T> {}

impl<T: FileSystem> SbState<T> {
    /// The state for `sb`, with the filesystem's info from `info`.
    pub(crate) fn new(
        sb: *mut sys::super_block,
        info: impl PinInit<T::Info, Error>,
    ) -> Result<impl PinInit<Self, Error>> {
        let rl = Ratelimit::new()?;
        let wq = WorkQueue::for_sb(sb)?;
        // SAFETY: a valid workqueue; the work function runs only for this queue (see
        // `ioend_work_fn`).
        let q = unsafe { sys::ferrofs_shim_ioend_queue_alloc(wq.0.as_ptr(), Some(super::iomap::ioend_work_fn::<T>)) };
        let ioends = IoendQueue(NonNull::new(q).ok_or(code::ENOMEM)?);
        Ok(try_pin_init!(Self {
            rl,
            ioends,
            wq,
            sb,
            // SAFETY: the shim runs INIT_DELAYED_WORK on the slot, which is all a delayed_work needs.
            commit_work <- Opaque::ffi_init(|p| unsafe {
                sys::ferrofs_shim_init_delayed_work(p, Some(commit_work_fn::<T>))
            }),
            info <- info,
        }? Error))
    }
}

/// The delayed commit work: finds the superblock and calls [`FileSystem::background_commit`].
///
/// # Safety
///
/// Only the per-mount workqueue calls this, for `SbState::commit_work`, with the `work_struct`
/// inside that delayed work.
unsafe extern "C" fn commit_work_fn<T: FileSystem>(work: *mut sys::work_struct) {
    // SAFETY: the only work item with this function is `commit_work` inside a live `SbState<T>`
    // (cancelled before the state is freed), so the container computations stay inside it.
    unsafe {
        let dw = sys::ferrofs_shim_to_delayed_work(work);
        let off = core::mem::offset_of!(SbState<T>, commit_work);
        let state = dw.cast::<u8>().sub(off).cast::<SbState<T>>();
        let sb = SuperBlock::<T>::from_raw((*state).sb);
        T::background_commit(sb);
    }
}

/// A mounted ferrofs superblock, as seen by inode and file operations.
///
/// # Invariants
///
/// The wrapped superblock is active and its `s_fs_info` points to a live, pinned `SbState<T>`
/// installed by [`super::fs_type`] after `fill_super` succeeded; it is freed only after all inodes
/// are gone.
#[repr(transparent)]
pub(crate) struct SuperBlock<T: FileSystem>(Opaque<sys::super_block>, PhantomData<T>);

impl<T: FileSystem> SuperBlock<T> {
    /// # Safety
    ///
    /// `sb` must satisfy the type invariants for `'a`.
    pub(crate) unsafe fn from_raw<'a>(sb: *mut sys::super_block) -> &'a Self {
        // SAFETY: `SuperBlock` is `repr(transparent)` over `super_block`; validity from the caller.
        unsafe { &*(sb as *const Self) }
    }

    pub(crate) fn as_ptr(&self) -> *mut sys::super_block {
        self.0.get()
    }

    /// The filesystem's per-mount state.
    pub(crate) fn info(&self) -> &T::Info {
        &self.state().info
    }

    pub(crate) fn state(&self) -> &SbState<T> {
        // SAFETY: per the type invariants `s_fs_info` points to a live, pinned `SbState<T>`.
        unsafe { &*((*self.as_ptr()).s_fs_info as *const SbState<T>) }
    }

    /// The device name (`s_id`), for messages.
    pub(crate) fn id(&self) -> &str {
        sb_id(self.as_ptr())
    }

    /// Reads block `block` through the block device's page cache; `None` on I/O error.
    pub(crate) fn bread(&self, block: u64) -> Option<BufferHead> {
        // SAFETY: a mounted superblock has its device and block size set.
        unsafe { BufferHead::read(self.as_ptr(), block) }
    }

    /// A buffer for block `block` that the caller overwrites whole (no read from disk).
    pub(crate) fn getblk(&self, block: u64) -> Option<BufferHead> {
        // SAFETY: a mounted superblock has its device and block size set.
        unsafe { BufferHead::get(self.as_ptr(), block) }
    }

    /// Flushes the device's volatile write cache.
    pub(crate) fn flush_device(&self) -> Result {
        // SAFETY: a mounted superblock has its device.
        kernel::error::to_result(unsafe { sys::ferrofs_shim_flush_device(self.as_ptr()) })
    }

    /// Turns the superblock read-only after a fatal error (`errors=remount-ro`).
    /// Freezes the filesystem through its block device (`bdev_freeze`: writers blocked, the
    /// filesystem synced, then [`FileSystem::freeze_fs`]). Not while holding anything a writer
    /// or the sync needs.
    pub(crate) fn freeze_bdev(&self) -> Result {
        // SAFETY: a mounted superblock with its device; bdev_freeze takes what it needs.
        to_result(unsafe { sys::ferrofs_shim_bdev_freeze(self.as_ptr()) })
    }

    /// Undoes [`Self::freeze_bdev`].
    pub(crate) fn thaw_bdev(&self) {
        // SAFETY: as above, after a successful freeze_bdev.
        unsafe { sys::ferrofs_shim_bdev_thaw(self.as_ptr()) }
    }

    pub(crate) fn force_rdonly(&self) {
        // SAFETY: valid superblock; the shim sets SB_RDONLY with a single store, as ext4 does.
        unsafe { sys::ferrofs_shim_set_rdonly(self.as_ptr()) };
    }

    /// Turns POSIX ACLs on or off at a remount (`SB_POSIXACL`), as ext4 does: the VFS holds
    /// `s_umount` for writing, so no other reconfiguration writes `s_flags` meanwhile.
    pub(crate) fn set_posix_acl(&self, on: bool) {
        // SAFETY: valid superblock (type invariant).
        unsafe { sys::ferrofs_shim_set_posixacl(self.as_ptr(), on) };
    }

    /// Whether the device takes discards.
    pub(crate) fn discards(&self) -> bool {
        // SAFETY: valid superblock with a device (type invariant).
        unsafe { sys::ferrofs_shim_discards(self.as_ptr()) }
    }

    /// Discards blocks `block..block + nr_blocks` of the device (waits for it).
    pub(crate) fn discard(&self, block: u64, nr_blocks: u64) -> Result {
        // SAFETY: valid superblock with a device (type invariant); plain numbers.
        to_result(unsafe { sys::ferrofs_shim_discard(self.as_ptr(), block, nr_blocks) })
    }

    /// Runs [`FileSystem::background_commit`] on the per-mount workqueue after `msecs`; moves an
    /// already scheduled run to that time when `reschedule`.
    pub(crate) fn schedule_commit(&self, msecs: u32, reschedule: bool) {
        let st = self.state();
        let dw = st.commit_work.get();
        // SAFETY: the workqueue and the delayed work are valid while the state lives (type
        // invariants of `SbState`).
        unsafe {
            if reschedule {
                sys::ferrofs_shim_mod_delayed_work(st.wq.0.as_ptr(), dw, msecs);
            } else {
                sys::ferrofs_shim_queue_delayed_work(st.wq.0.as_ptr(), dw, msecs);
            }
        }
    }

    /// Cancels the delayed commit work and waits for a running one; afterwards nothing runs on
    /// the workqueue unless the filesystem queues it again.
    pub(crate) fn stop_background(&self) {
        let st = self.state();
        // SAFETY: valid delayed work (type invariants of `SbState`).
        unsafe { sys::cancel_delayed_work_sync(st.commit_work.get()) };
        st.wq.flush();
    }

    /// Holds off a freeze while the filesystem changes itself outside a system call (deleting an
    /// evicted inode): `sb_start_intwrite` until the guard drops.
    pub(crate) fn start_intwrite(&self) -> IntWrite<'_, T> {
        // SAFETY: valid superblock; paired with sb_end_intwrite in the guard's Drop.
        unsafe { sys::ferrofs_shim_sb_start_intwrite(self.as_ptr()) };
        IntWrite(self)
    }

    /// Logs `msg` about `block` at error level, rate-limited per superblock.
    pub(crate) fn report(&self, msg: &str, block: u64, err: Error) {
        let mut buf = [0u8; 96];
        let room = buf.len() - 1;
        for (d, s) in buf.iter_mut().zip(msg.as_bytes().iter().take(room)) {
            *d = *s;
        }
        // SAFETY: `buf` is NUL-terminated (its last byte is never written); the superblock is valid.
        unsafe {
            sys::ferrofs_shim_report(self.as_ptr(), self.state().rl.0.as_ptr(), buf.as_ptr().cast(), block, err.to_errno())
        };
    }
}

/// A scope in which memory allocations do not recurse into filesystem reclaim
/// (`memalloc_nofs_save`): held with the tree lock, because reclaim may write back our pages,
/// and writeback needs the tree.
pub(crate) struct NoFsScope(core::ffi::c_uint, PhantomData<*mut ()>);

impl NoFsScope {
    pub(crate) fn enter() -> Self {
        // SAFETY: saves and sets the task's PF_MEMALLOC_NOFS; restored in Drop on the same task
        // (the guard is not Send).
        Self(unsafe { sys::ferrofs_shim_memalloc_nofs_save() }, PhantomData)
    }
}

impl Drop for NoFsScope {
    fn drop(&mut self) {
        // SAFETY: restores what `enter` saved, on the same task.
        unsafe { sys::ferrofs_shim_memalloc_nofs_restore(self.0) };
    }
}

/// See [`SuperBlock::start_intwrite`].
pub(crate) struct IntWrite<'a, T: FileSystem>(&'a SuperBlock<T>);

impl<T: FileSystem> Drop for IntWrite<'_, T> {
    fn drop(&mut self) {
        // SAFETY: pairs the sb_start_intwrite of `start_intwrite`.
        unsafe { sys::ferrofs_shim_sb_end_intwrite(self.0.as_ptr()) };
    }
}
