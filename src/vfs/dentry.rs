// SPDX-License-Identifier: GPL-2.0

//! Dentries handed to directory operations.

use super::fs_type::FileSystem;
use super::inode::Inode;
use crate::sys;
use core::marker::PhantomData;

/// A dentry of one of our directories, borrowed for the duration of a VFS call.
///
/// # Invariants
///
/// `0` is a valid dentry whose name is stable for the call (the VFS holds the parent's lock) and
/// whose inode, if any, is an initialised inode of ours.
pub(crate) struct Dentry<T: FileSystem>(*mut sys::dentry, PhantomData<T>);

impl<T: FileSystem> Dentry<T> {
    /// # Safety
    ///
    /// `d` must satisfy the type invariants for the wrapper's lifetime.
    pub(crate) unsafe fn from_raw(d: *mut sys::dentry) -> Self {
        Self(d, PhantomData)
    }

    pub(crate) fn as_ptr(&self) -> *mut sys::dentry {
        self.0
    }

    /// The name (without a NUL).
    pub(crate) fn name(&self) -> &[u8] {
        let mut len: core::ffi::c_uint = 0;
        // SAFETY: valid dentry with a stable name (type invariant).
        unsafe {
            let p = sys::ferrofs_shim_dentry_name(self.0, &mut len);
            core::slice::from_raw_parts(p, len as usize)
        }
    }

    /// The inode the dentry names; `None` for a negative dentry.
    pub(crate) fn inode(&self) -> Option<&Inode<T>> {
        // SAFETY: valid dentry; its inode is NULL or one of ours (type invariant) and is pinned by
        // the dentry for the call.
        unsafe {
            let i = sys::ferrofs_shim_d_inode(self.0);
            (!i.is_null()).then(|| Inode::from_raw(i))
        }
    }

    /// Makes the dentry name `inode` (`d_instantiate`), giving it the reference.
    pub(crate) fn instantiate(&self, inode: kernel::types::ARef<Inode<T>>) {
        let p = kernel::types::ARef::into_raw(inode).as_ptr().cast::<sys::inode>();
        // SAFETY: valid negative dentry (type invariant); d_instantiate takes over the reference.
        unsafe { sys::d_instantiate(self.0, p) };
    }
}
