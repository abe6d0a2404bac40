// SPDX-License-Identifier: GPL-2.0

//! Metadata blocks through the block device's page cache (`buffer_head`s).
//!
//! Reads use `sb_bread`. Writes change a buffer in place and mark it dirty; a commit starts the
//! writes of every dirty buffer of its transaction, waits for them, flushes the device cache and
//! only then writes the superblocks (see `crate::transaction`). Changing a buffer in place is safe
//! because a transaction only changes blocks it allocated itself: no committed tree references
//! them, so whatever the block device's own writeback puts on disk early is never read.

use crate::sys;
use core::ptr::NonNull;
use kernel::error::{to_result, Result};

/// ferrofs's private `b_state` bits (`BH_PrivateStart + n`).
#[derive(Clone, Copy)]
pub(crate) enum BhFlag {
    /// The node's checksum was verified since the block was read (or written by us).
    Verified = 0,
    /// The block is on the running transaction's dirty list.
    InTxn = 1,
    /// Changed by the running transaction, to be written by its commit ([`BufferHead::mark_changed`]).
    Changed = 2,
}

/// A referenced `buffer_head` of one filesystem block.
///
/// # Invariants
///
/// `bh` holds a reference (dropped in `Drop`), and `b_data` points to `b_size` bytes that stay
/// mapped while it is held.
pub(crate) struct BufferHead {
    bh: NonNull<sys::buffer_head>,
}

// SAFETY: a referenced buffer_head may be used and released from any thread.
unsafe impl Send for BufferHead {}
// SAFETY: shared access only reads the data (see `AsRef`) or uses atomic bit operations.
unsafe impl Sync for BufferHead {}

impl BufferHead {
    /// Reads block `block` of `sb`'s device; `None` on I/O error.
    ///
    /// # Safety
    ///
    /// `sb` must be a valid superblock with a block device and a block size set.
    pub(crate) unsafe fn read(sb: *mut sys::super_block, block: u64) -> Option<Self> {
        // SAFETY: the caller guarantees `sb`; sb_bread returns NULL or a referenced, uptodate bh.
        let bh = unsafe { sys::ferrofs_shim_sb_bread(sb, block) };
        // INVARIANT: non-NULL means referenced (and up to date).
        NonNull::new(bh).map(|bh| Self { bh })
    }

    /// The buffer of block `block` without reading it (its contents are unspecified until the
    /// caller overwrites them whole); `None` when out of memory.
    ///
    /// # Safety
    ///
    /// As for [`BufferHead::read`].
    pub(crate) unsafe fn get(sb: *mut sys::super_block, block: u64) -> Option<Self> {
        // SAFETY: the caller guarantees `sb`; sb_getblk returns a referenced bh (or NULL).
        let bh = unsafe { sys::ferrofs_shim_sb_getblk(sb, block) };
        // INVARIANT: non-NULL means referenced.
        NonNull::new(bh).map(|bh| Self { bh })
    }

    /// The block number.
    pub(crate) fn blocknr(&self) -> u64 {
        // SAFETY: referenced buffer (type invariant).
        unsafe { (*self.bh.as_ptr()).b_blocknr }
    }

    /// Whether `flag` is set.
    pub(crate) fn test(&self, flag: BhFlag) -> bool {
        // SAFETY: referenced buffer; atomic bit test.
        unsafe { sys::ferrofs_shim_bh_test_flag(self.bh.as_ptr(), flag as i32) }
    }

    /// Sets `flag`.
    pub(crate) fn set(&self, flag: BhFlag) {
        // SAFETY: referenced buffer; atomic bit set.
        unsafe { sys::ferrofs_shim_bh_set_flag(self.bh.as_ptr(), flag as i32) }
    }

    /// Clears `flag`; returns whether it was set.
    pub(crate) fn test_clear(&self, flag: BhFlag) -> bool {
        // SAFETY: referenced buffer; atomic bit operation.
        unsafe { sys::ferrofs_shim_bh_test_clear_flag(self.bh.as_ptr(), flag as i32) }
    }

    /// Zeroes a buffer obtained with [`BufferHead::get`] and marks it up to date, under the buffer
    /// lock, so that no read from disk can land in it afterwards.
    pub(crate) fn zero_uptodate(&self) {
        // SAFETY: referenced buffer; the shim locks it, clears b_size bytes and sets uptodate.
        unsafe { sys::ferrofs_shim_bh_zero_uptodate(self.bh.as_ptr()) }
    }

    /// Marks the buffer up to date and changed after the caller filled it: the commit writes it
    /// ([`BufferHead::submit_write`]). It is not marked dirty, so the block device's writeback
    /// never writes it on its own before the commit (a failed write there clears `BH_Uptodate`,
    /// and the next lookup would read the stale block from the disk). The transaction's dirty
    /// list holds a reference on the buffer until the commit, so the clean folio is not
    /// reclaimed or invalidated under it.
    pub(crate) fn mark_changed(&self) {
        // SAFETY: referenced buffer; an atomic bit operation.
        unsafe { sys::ferrofs_shim_bh_set_uptodate(self.bh.as_ptr()) };
        self.set(BhFlag::Changed);
    }

    /// Drops the changed (and dirty) state of a freed block: its contents need never reach the disk.
    pub(crate) fn forget(&self) {
        self.test_clear(BhFlag::Changed);
        // SAFETY: referenced buffer.
        unsafe { sys::ferrofs_shim_bh_forget(self.bh.as_ptr()) }
    }

    /// Starts the commit's write of the buffer if it was changed ([`BufferHead::mark_changed`])
    /// and not freed since.
    pub(crate) fn submit_write(&self) {
        if !self.test_clear(BhFlag::Changed) {
            return;
        }
        // SAFETY: referenced buffer; the shim locks it, takes a reference the completion drops, and submits the write.
        unsafe { sys::ferrofs_shim_bh_submit_write(self.bh.as_ptr()) }
    }

    /// Waits for a write started by [`BufferHead::submit_write`]; `EIO` if it failed.
    pub(crate) fn wait_write(&self) -> Result {
        // SAFETY: referenced buffer.
        to_result(unsafe { sys::ferrofs_shim_bh_wait_write(self.bh.as_ptr()) })
    }

    /// Overwrites the block with `data` and writes it synchronously, with a preflush and FUA when
    /// `fua` (the superblocks of a commit).
    pub(crate) fn write_sync(&self, data: &[u8], fua: bool) -> Result {
        // SAFETY: referenced buffer; `data` is valid for its length; the shim checks the length
        // against b_size and copies under the buffer lock.
        to_result(unsafe { sys::ferrofs_shim_bh_write_sync(self.bh.as_ptr(), data.as_ptr().cast(), data.len(), fua) })
    }
}

impl AsRef<[u8]> for BufferHead {
    fn as_ref(&self) -> &[u8] {
        // SAFETY: by the type invariant `b_data` points to `b_size` bytes that stay mapped while
        // the reference is held. Other writers of the block device's page cache could change the
        // bytes under us; every parser of these bytes tolerates arbitrary contents.
        unsafe {
            let bh = self.bh.as_ptr();
            core::slice::from_raw_parts((*bh).b_data as *const u8, (*bh).b_size)
        }
    }
}

impl AsMut<[u8]> for BufferHead {
    fn as_mut(&mut self) -> &mut [u8] {
        // SAFETY: as for `as_ref`. Only the transaction code holds a `BufferHead` it writes through,
        // under the filesystem's tree lock, and only for blocks allocated in the running
        // transaction, which no reader outside that lock reaches.
        unsafe {
            let bh = self.bh.as_ptr();
            core::slice::from_raw_parts_mut((*bh).b_data as *mut u8, (*bh).b_size)
        }
    }
}

impl Clone for BufferHead {
    fn clone(&self) -> Self {
        // SAFETY: referenced buffer; get_bh takes another reference, dropped by the clone's Drop.
        unsafe { sys::ferrofs_shim_get_bh(self.bh.as_ptr()) };
        Self { bh: self.bh }
    }
}

impl Drop for BufferHead {
    fn drop(&mut self) {
        // SAFETY: we own one reference (type invariant) and give it back exactly once.
        unsafe { sys::ferrofs_shim_brelse(self.bh.as_ptr()) };
    }
}
