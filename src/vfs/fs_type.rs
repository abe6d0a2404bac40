// SPDX-License-Identifier: GPL-2.0

//! Registration of a filesystem type with the VFS.

use crate::sys;
use core::cell::UnsafeCell;
use core::ffi::{c_int, CStr};
use kernel::error::{to_result, Result};
use kernel::ThisModule;

/// What a filesystem implementation provides to the VFS at registration time.
pub(crate) trait FileSystem {
    /// The name under which the type is registered (`mount -t NAME`, `/proc/filesystems`).
    const NAME: &'static CStr;
    /// Called for every new mount context.
    fn init_fs_context(fc: &mut FsContext) -> Result;
}

/// A mount context (`struct fs_context`) being set up.
///
/// # Invariants
///
/// `0` points to a valid `fs_context` for the lifetime of the wrapper.
pub(crate) struct FsContext(*mut sys::fs_context);

impl FsContext {
    /// Logs `ferrofs: msg` to the mount context's log (shown by mount(8) and in dmesg) and returns
    /// the `EINVAL` to fail with.
    pub(crate) fn invalf(&mut self, msg: &CStr) -> kernel::error::Error {
        // SAFETY: `self.0` is valid by the type invariant; `msg` is NUL-terminated and outlives the
        // call (invalf copies or logs it immediately).
        let rc = unsafe { sys::ferrofs_shim_invalf(self.0, msg.as_ptr()) };
        kernel::error::Error::from_errno(rc)
    }
}

/// The C entry point the VFS calls for a new mount context of `T`.
///
/// # Safety
///
/// Called by the VFS only, with a valid `fs_context`.
unsafe extern "C" fn init_fs_context_callback<T: FileSystem>(fc: *mut sys::fs_context) -> c_int {
    // INVARIANT: the VFS passes a valid `fs_context` that lives across this call.
    let mut fc = FsContext(fc);
    match T::init_fs_context(&mut fc) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// A `struct file_system_type` in static storage.
///
/// It must be static: with lockdep enabled the structure embeds `lock_class_key`s, and lockdep only
/// accepts keys in static memory.
///
/// # Invariants
///
/// The inner structure is only written by [`Registration::register`] before it is handed to
/// `register_filesystem()` and while no other reference to it exists; afterwards the VFS owns the
/// fields it links (`next`, `fs_supers`) until `unregister_filesystem()` returns.
pub(crate) struct StaticFsType(UnsafeCell<sys::file_system_type>);

// SAFETY: access is serialised by module init/exit and, once registered, by the VFS's own locks
// (`file_systems_lock`), per the invariants above.
unsafe impl Sync for StaticFsType {}

impl StaticFsType {
    /// An all-zero `file_system_type`, ready to be filled in by [`Registration::register`].
    pub(crate) const fn new() -> Self {
        // SAFETY: `file_system_type` is a C struct of pointers, integers and lock keys, for all of
        // which the all-zero bit pattern is a valid (empty) value.
        Self(UnsafeCell::new(unsafe { core::mem::zeroed() }))
    }
}

/// A registered filesystem type; unregisters it when dropped.
pub(crate) struct Registration {
    fs_type: &'static StaticFsType,
}

impl Registration {
    /// Fills in `fs_type` for `T` and registers it with the VFS.
    pub(crate) fn register<T: FileSystem>(
        fs_type: &'static StaticFsType,
        module: &'static ThisModule,
    ) -> Result<Self> {
        let p = fs_type.0.get();
        // SAFETY: per the type invariants nobody else references the structure before
        // `register_filesystem` (module init runs once, and a previous Registration unregistered it).
        unsafe {
            (*p).name = T::NAME.as_ptr();
            (*p).owner = module.as_ptr().cast();
            (*p).fs_flags = sys::FERROFS_FS_REQUIRES_DEV as c_int;
            (*p).init_fs_context = Some(init_fs_context_callback::<T>);
            (*p).kill_sb = Some(sys::kill_block_super);
        }
        // SAFETY: `p` points to a fully initialised `file_system_type` in static storage.
        to_result(unsafe { sys::register_filesystem(p) })?;
        Ok(Self { fs_type })
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // SAFETY: the type was registered by `register` (the only constructor), so unregistering it
        // is valid; the return value only reports "was not registered".
        unsafe { sys::unregister_filesystem(self.fs_type.0.get()) };
    }
}
