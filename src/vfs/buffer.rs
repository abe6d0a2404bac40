// SPDX-License-Identifier: GPL-2.0

//! Metadata blocks read through the block device's page cache (`sb_bread`).

use crate::sys;
use core::ptr::NonNull;

/// A referenced, up-to-date `buffer_head` of one filesystem block.
///
/// # Invariants
///
/// `bh` holds a reference taken by `sb_bread` (dropped in `Drop`), and the buffer is up to date, so
/// `b_data` points to `b_size` readable bytes for the wrapper's lifetime.
pub(crate) struct BufferHead {
    bh: NonNull<sys::buffer_head>,
}

// SAFETY: a referenced buffer_head may be used and released from any thread.
unsafe impl Send for BufferHead {}

impl BufferHead {
    /// Reads block `block` of `sb`'s device; `None` on I/O error.
    ///
    /// # Safety
    ///
    /// `sb` must be a valid superblock with a block device and a block size set.
    pub(crate) unsafe fn read(sb: *mut sys::super_block, block: u64) -> Option<Self> {
        // SAFETY: the caller guarantees `sb`; sb_bread returns NULL or a referenced, uptodate bh.
        let bh = unsafe { sys::ferrofs_shim_sb_bread(sb, block) };
        // INVARIANT: non-NULL means referenced and up to date.
        NonNull::new(bh).map(|bh| Self { bh })
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

impl Drop for BufferHead {
    fn drop(&mut self) {
        // SAFETY: we own one reference (type invariant) and give it back exactly once.
        unsafe { sys::ferrofs_shim_brelse(self.bh.as_ptr()) };
    }
}
