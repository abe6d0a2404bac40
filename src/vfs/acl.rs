// SPDX-License-Identifier: GPL-2.0

//! POSIX ACLs (`struct posix_acl`): the VFS checks permissions with them, validates what
//! `setfacl` sets and computes a new inode's ACLs and mode; the filesystem stores them in the
//! extended-attribute format (`system.posix_acl_access` / `_default`, ids in the initial user
//! namespace, as ext4, XFS and btrfs keep them on disk).

use super::fs_type::FileSystem;
use super::inode::{Idmap, Inode};
use crate::sys;
use core::ptr::NonNull;
use kernel::error::{code, to_result, Result};
use kernel::prelude::*;

/// Which of an inode's two ACLs.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum AclType {
    /// The ACL that grants access to the inode itself.
    Access,
    /// A directory's default ACL, inherited by what is created in it.
    Default,
}

impl AclType {
    pub(super) fn from_c(ty: core::ffi::c_int) -> Option<Self> {
        match ty as u32 {
            sys::FERROFS_ACL_TYPE_ACCESS => Some(Self::Access),
            sys::FERROFS_ACL_TYPE_DEFAULT => Some(Self::Default),
            _ => None,
        }
    }

    fn to_c(self) -> core::ffi::c_int {
        (match self {
            Self::Access => sys::FERROFS_ACL_TYPE_ACCESS,
            Self::Default => sys::FERROFS_ACL_TYPE_DEFAULT,
        }) as core::ffi::c_int
    }
}

/// A counted reference to a `struct posix_acl`.
///
/// # Invariants
///
/// `0` is a valid ACL we hold one reference to (released on drop).
pub(crate) struct PosixAcl(pub(super) NonNull<sys::posix_acl>);

// SAFETY: an ACL is immutable once shared and its reference count is atomic.
unsafe impl Send for PosixAcl {}
// SAFETY: as above.
unsafe impl Sync for PosixAcl {}

impl PosixAcl {
    /// Decodes a stored value (`posix_acl_from_xattr`, which checks it); `None` for an empty one.
    /// A malformed value is `EINVAL`.
    pub(crate) fn from_xattr(value: &[u8]) -> Result<Option<Self>> {
        let mut p = core::ptr::null_mut();
        // SAFETY: `value` is valid for its length; the shim stores a new reference or NULL in `p`.
        to_result(unsafe { sys::ferrofs_shim_posix_acl_from_xattr(value.as_ptr().cast(), value.len(), &mut p) })?;
        Ok(NonNull::new(p).map(Self))
    }

    /// Encodes the ACL as its stored value (`posix_acl_to_xattr`).
    pub(crate) fn to_xattr(&self) -> Result<KVec<u8>> {
        // SAFETY: valid ACL (type invariant).
        let len = unsafe { sys::ferrofs_shim_posix_acl_xattr_len(self.0.as_ptr()) };
        let mut v = KVec::from_elem(0u8, len, GFP_KERNEL)?;
        // SAFETY: valid ACL; `v` holds `len` bytes.
        let n = unsafe { sys::ferrofs_shim_posix_acl_to_xattr(self.0.as_ptr(), v.as_mut_ptr().cast(), len) };
        to_result(n.min(0))?;
        // The encoding of `a_count` entries is exactly `posix_acl_xattr_size(a_count)` bytes.
        if n as usize != len {
            return Err(code::EINVAL);
        }
        Ok(v)
    }

    /// Gives the reference to the caller (the VFS, from `get_inode_acl`).
    pub(super) fn into_raw(self) -> *mut sys::posix_acl {
        let p = self.0.as_ptr();
        core::mem::forget(self);
        p
    }
}

impl Drop for PosixAcl {
    fn drop(&mut self) {
        // SAFETY: we hold one reference (type invariant) and give it up.
        unsafe { sys::ferrofs_shim_posix_acl_release(self.0.as_ptr()) };
    }
}

/// The stored values of a new inode's ACLs, computed by [`create_acls`].
#[derive(Default)]
pub(crate) struct NewAcls {
    pub(crate) access: Option<KVec<u8>>,
    pub(crate) default: Option<KVec<u8>>,
}

impl NewAcls {
    /// The ACLs to store, with their types.
    pub(crate) fn values(&self) -> impl Iterator<Item = (AclType, &[u8])> {
        [(AclType::Access, &self.access), (AclType::Default, &self.default)]
            .into_iter()
            .filter_map(|(t, v)| v.as_deref().map(|v| (t, v)))
    }

    /// How many there are.
    pub(crate) fn count(&self) -> usize {
        self.values().count()
    }
}

/// `posix_acl_create` for an inode of `mode` about to be created in `dir`: inherits `dir`'s default
/// ACL (a new directory gets it as its own default too) and masks `mode`'s permission bits with
/// it, or applies the umask when `dir` has none (the VFS leaves the umask to the filesystem when
/// ACLs are on). Call it before the transaction: it may read `dir`'s default ACL.
pub(crate) fn create_acls<T: FileSystem>(dir: &Inode<T>, mode: &mut u32) -> Result<NewAcls> {
    let mut m = *mode as sys::umode_t;
    let mut default = core::ptr::null_mut();
    let mut access = core::ptr::null_mut();
    // SAFETY: `dir` is a valid directory inode whose lock the caller (a VFS create) holds; the
    // function stores new references (or NULL) in both pointers, and none when it fails.
    to_result(unsafe { sys::posix_acl_create(dir.as_ptr(), &mut m, &mut default, &mut access) })?;
    // Owned from here (type invariant of PosixAcl), released when dropped.
    let default = NonNull::new(default).map(PosixAcl);
    let access = NonNull::new(access).map(PosixAcl);
    *mode = m as u32;
    Ok(NewAcls {
        access: access.as_ref().map(PosixAcl::to_xattr).transpose()?,
        default: default.as_ref().map(PosixAcl::to_xattr).transpose()?,
    })
}

impl<T: FileSystem> Inode<T> {
    /// `posix_acl_update_mode`: the mode an access ACL `acl` gives the inode, and whether the ACL
    /// is still needed (not when the mode says all of it). May clear `S_ISGID` as `chmod` would.
    pub(crate) fn acl_update_mode(&self, idmap: Idmap, acl: &PosixAcl) -> Result<(u32, bool)> {
        let mut mode: sys::umode_t = 0;
        let mut p = acl.0.as_ptr();
        // SAFETY: valid inode (locked by the VFS set_acl caller), idmap of the call, valid ACL; the
        // function only reads the ACL and may set `p` to NULL (no reference changes hands).
        to_result(unsafe { sys::posix_acl_update_mode(idmap.0, self.as_ptr(), &mut mode, &mut p) })?;
        Ok((mode as u32, !p.is_null()))
    }

    /// Caches the inode's ACL of `ty` (`set_cached_acl`, which takes its own reference).
    pub(crate) fn cache_acl(&self, ty: AclType, acl: Option<&PosixAcl>) {
        let p = acl.map_or(core::ptr::null_mut(), |a| a.0.as_ptr());
        // SAFETY: valid inode; a valid ACL or NULL ("no ACL").
        unsafe { sys::set_cached_acl(self.as_ptr(), ty.to_c(), p) };
    }

    /// Sets the mode (callers hold the inode lock; the file type bits do not change).
    pub(crate) fn set_mode(&self, mode: u32) {
        // SAFETY: valid inode; i_mode is written under the inode lock, as setattr_copy does.
        unsafe { sys::ferrofs_shim_set_mode(self.as_ptr(), mode as sys::umode_t) };
    }
}
