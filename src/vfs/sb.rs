// SPDX-License-Identifier: GPL-2.0

//! Superblock wrappers.

use super::buffer::BufferHead;
use super::fs_type::FileSystem;
use crate::sys;
use core::ffi::CStr;
use core::marker::PhantomData;
use kernel::error::{code, Result};

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
        // SAFETY: valid superblock (type invariant); s_flags is stable while we fill it.
        unsafe { (*self.0).s_flags & sys::FERROFS_SB_RDONLY != 0 }
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
pub(crate) struct Ratelimit(core::ptr::NonNull<core::ffi::c_void>);

// SAFETY: the ratelimit state has its own lock; it may be used and freed from any thread.
unsafe impl Send for Ratelimit {}
// SAFETY: as above, `__ratelimit` serialises concurrent users.
unsafe impl Sync for Ratelimit {}

impl Ratelimit {
    pub(crate) fn new() -> Result<Self> {
        // SAFETY: plain allocation; NULL on failure.
        let p = unsafe { sys::ferrofs_shim_ratelimit_alloc() };
        core::ptr::NonNull::new(p).map(Self).ok_or(code::ENOMEM)
    }
}

impl Drop for Ratelimit {
    fn drop(&mut self) {
        // SAFETY: allocated by the shim (type invariant) and freed once.
        unsafe { sys::ferrofs_shim_ratelimit_free(self.0.as_ptr()) };
    }
}

/// What `s_fs_info` points to: the filesystem's per-mount state and the vfs layer's own.
pub(crate) struct SbState<I> {
    pub(crate) rl: Ratelimit,
    pub(crate) info: I,
}

/// A mounted ferrofs superblock, as seen by inode and file operations.
///
/// # Invariants
///
/// The wrapped superblock is active and its `s_fs_info` points to a live `SbState<T::Info>` installed by
/// [`super::fs_type`] after `fill_super` succeeded; it is freed only after all inodes are gone.
#[repr(transparent)]
pub(crate) struct SuperBlock<T: FileSystem>(sys::super_block, PhantomData<T>);

impl<T: FileSystem> SuperBlock<T> {
    /// # Safety
    ///
    /// `sb` must satisfy the type invariants for `'a`.
    pub(crate) unsafe fn from_raw<'a>(sb: *mut sys::super_block) -> &'a Self {
        // SAFETY: `SuperBlock` is `repr(transparent)` over `super_block`; validity from the caller.
        unsafe { &*(sb as *const Self) }
    }

    pub(crate) fn as_ptr(&self) -> *mut sys::super_block {
        &self.0 as *const sys::super_block as *mut sys::super_block
    }

    /// The filesystem's per-mount state.
    pub(crate) fn info(&self) -> &T::Info {
        &self.state().info
    }

    fn state(&self) -> &SbState<T::Info> {
        // SAFETY: per the type invariants `s_fs_info` points to a live `SbState<T::Info>`.
        unsafe { &*(self.0.s_fs_info as *const SbState<T::Info>) }
    }

    /// Reads block `block` through the block device's page cache; `None` on I/O error.
    pub(crate) fn bread(&self, block: u64) -> Option<BufferHead> {
        // SAFETY: a mounted superblock has its device and block size set.
        unsafe { BufferHead::read(self.as_ptr(), block) }
    }

    /// Logs `msg` about `block` at error level, rate-limited per superblock.
    pub(crate) fn report(&self, msg: &str, block: u64, err: kernel::error::Error) {
        let mut buf = [0u8; 96];
        let n = msg.len().min(buf.len() - 1);
        if let (Some(dst), Some(src)) = (buf.get_mut(..n), msg.as_bytes().get(..n)) {
            dst.copy_from_slice(src);
        }
        // SAFETY: `buf` is NUL-terminated (its last byte is never written); the superblock is valid.
        unsafe {
            sys::ferrofs_shim_report(self.as_ptr(), self.state().rl.0.as_ptr(), buf.as_ptr().cast(), block, err.to_errno())
        };
    }
}
