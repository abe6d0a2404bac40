// SPDX-License-Identifier: GPL-2.0

//! Thin safe wrappers over the raw bindings in [`crate::sys`].
//!
//! Each wrapper states its invariants; every `unsafe` block carries a `// SAFETY:` comment. The
//! filesystem logic above this module is safe Rust: it implements [`fs_type::FileSystem`] and is
//! called back through the tables built here.

pub(crate) mod buffer;
pub(crate) mod fs_type;
pub(crate) mod inode;
pub(crate) mod ops;
pub(crate) mod sb;

use core::ffi::c_int;
use kernel::error::Error;

/// Turns a kernel `Result` into the C return convention (0 or a negative errno).
pub(crate) fn to_c(r: kernel::error::Result) -> c_int {
    match r {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// `EUCLEAN` ("Structure needs cleaning"): corrupt metadata. Not in the 6.12 `kernel` crate's list.
pub(crate) fn euclean() -> Error {
    Error::from_errno(-117)
}

/// `ENAMETOOLONG`. Not in the 6.12 `kernel` crate's list.
pub(crate) fn enametoolong() -> Error {
    Error::from_errno(-36)
}

/// An errno as an `ERR_PTR` value.
pub(crate) fn err_ptr<T>(e: Error) -> *mut T {
    // ERR_PTR(): negative errnos live in the last page of the address space.
    e.to_errno() as isize as *mut T
}
