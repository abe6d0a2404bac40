// SPDX-License-Identifier: GPL-2.0

//! Thin safe wrappers over the raw bindings in [`crate::sys`].
//!
//! Each wrapper states its invariants; every `unsafe` block carries a `// SAFETY:` comment. The
//! filesystem logic above this module is safe Rust: it implements [`fs_type::FileSystem`] and is
//! called back through the tables built here.

pub(crate) mod acl;
pub(crate) mod buffer;
pub(crate) mod dentry;
pub(crate) mod export;
pub(crate) mod file;
pub(crate) mod fs_type;
pub(crate) mod inode;
pub(crate) mod iomap;
pub(crate) mod ops;
pub(crate) mod sb;

/// Kernel constants the filesystem logic needs, re-exported so that it never names `sys`.
pub(crate) mod sys_consts {
    pub(crate) use crate::sys::{
        FERROFS_RENAME_EXCHANGE as RENAME_EXCHANGE, FERROFS_RENAME_NOREPLACE as RENAME_NOREPLACE,
        FERROFS_RENAME_WHITEOUT as RENAME_WHITEOUT, FERROFS_S_IFCHR as S_IFCHR, FERROFS_WHITEOUT_MODE as WHITEOUT_MODE,
        FERROFS_XATTR_CREATE as XATTR_CREATE, FERROFS_XATTR_REPLACE as XATTR_REPLACE,
        FERROFS_FALLOC_FL_COLLAPSE_RANGE as FALLOC_FL_COLLAPSE_RANGE, FERROFS_FALLOC_FL_INSERT_RANGE as FALLOC_FL_INSERT_RANGE,
        FERROFS_FALLOC_FL_KEEP_SIZE as FALLOC_FL_KEEP_SIZE, FERROFS_FALLOC_FL_PUNCH_HOLE as FALLOC_FL_PUNCH_HOLE,
        FERROFS_FALLOC_FL_ZERO_RANGE as FALLOC_FL_ZERO_RANGE, FERROFS_FALLOC_FL_UNSHARE_RANGE as FALLOC_FL_UNSHARE_RANGE,
        FERROFS_REMAP_FILE_ADVISORY as REMAP_FILE_ADVISORY,
        FERROFS_REMAP_FILE_CAN_SHORTEN as REMAP_FILE_CAN_SHORTEN, FERROFS_REMAP_FILE_DEDUP as REMAP_FILE_DEDUP,
    };
}

use core::ffi::c_int;
use kernel::error::Error;

/// Turns a kernel `Result` into the C return convention (0 or a negative errno), through the
/// kernel crate's `from_result`.
pub(crate) fn to_c(r: kernel::error::Result) -> c_int {
    kernel::error::from_result(|| r.map(|()| 0))
}

/// Lets other tasks run if this one has used its time (a long loop in process context). Callers
/// hold no spinlock.
pub(crate) fn cond_resched() {
    // SAFETY: no preconditions beyond process context without spinlocks, which callers promise.
    unsafe { crate::sys::ferrofs_shim_cond_resched() }
}

/// `EUCLEAN` ("Structure needs cleaning"): corrupt metadata. Not in the 6.12 `kernel` crate's list.
pub(crate) fn euclean() -> Error {
    Error::from_errno(-117)
}

/// `ENAMETOOLONG`. Not in the 6.12 `kernel` crate's list.
pub(crate) fn enametoolong() -> Error {
    Error::from_errno(-36)
}


/// `ENODATA`: no such extended attribute.
pub(crate) fn enodata() -> Error {
    Error::from_errno(-61)
}

/// `EOPNOTSUPP`: the filesystem does not have the feature. Not in the 6.12 `kernel` crate's list.
pub(crate) fn eopnotsupp() -> Error {
    Error::from_errno(-crate::sys::FERROFS_EOPNOTSUPP)
}

/// `ESTALE`: a file handle names a file that no longer exists. Not in the 6.12 `kernel` crate's
/// list.
pub(crate) fn estale() -> Error {
    Error::from_errno(-crate::sys::FERROFS_ESTALE)
}

/// `ENOTBLK`: iomap's "fall back to buffered I/O" from a direct write.
pub(crate) fn enotblk() -> Error {
    Error::from_errno(-crate::sys::FERROFS_ENOTBLK)
}

/// `EIOCBQUEUED`: an asynchronous request was queued and completes later.
pub(crate) fn eiocbqueued() -> Error {
    Error::from_errno(-crate::sys::FERROFS_EIOCBQUEUED)
}

/// Whether the current task has a fatal signal pending (a long operation stops early).
pub(crate) fn fatal_signal_pending() -> bool {
    // SAFETY: reads the current task's signal state.
    unsafe { crate::sys::ferrofs_shim_fatal_signal_pending() }
}

/// `ENOTEMPTY`.
pub(crate) fn enotempty() -> Error {
    Error::from_errno(-39)
}

/// The kernel's CRC-32C update step (`crc32c()`: no inversions), for the format crate.
pub(crate) fn crc32c(crc: u32, data: &[u8]) -> u32 {
    // SAFETY: `data` is valid for its length; crc32c only reads it.
    unsafe { crate::sys::ferrofs_shim_crc32c(crc, data.as_ptr().cast(), data.len()) }
}


