// SPDX-License-Identifier: GPL-2.0

//! Registration of a filesystem type, mount contexts and `fill_super`.

use super::inode::{self, iget, Inode, InodeParams};
use super::ops::Tables;
use super::sb::{NewSuperBlock, Ratelimit, SbState, SuperBlock};
use super::to_c;
use crate::sys;
use core::cell::UnsafeCell;
use core::ffi::{c_int, c_void, CStr};
use kernel::error::{code, to_result, Result};
use kernel::prelude::*;
use kernel::ThisModule;

/// How a file range maps to the device, for iomap.
pub(crate) enum MapKind {
    /// Not allocated: reads as zeros.
    Hole,
    /// Allocated at this device byte address.
    Mapped(u64),
    /// Allocated but never written (preallocated): reads as zeros.
    Unwritten(u64),
}

/// One mapping returned by [`FileSystem::map_blocks`].
pub(crate) struct Mapping {
    pub(crate) kind: MapKind,
    /// File offset where the mapping starts (at or before the asked position).
    pub(crate) offset: u64,
    pub(crate) length: u64,
}

/// What `statfs` reports.
pub(crate) struct StatFs {
    pub(crate) blocks: u64,
    pub(crate) bfree: u64,
    pub(crate) bavail: u64,
    pub(crate) files: u64,
    pub(crate) ffree: u64,
    pub(crate) namelen: u32,
    pub(crate) fsid: u64,
}

/// What a filesystem implementation provides to the VFS.
pub(crate) trait FileSystem: Sized + 'static {
    /// The name under which the type is registered (`mount -t NAME`, `/proc/filesystems`).
    const NAME: &'static CStr;
    /// `statfs` f_type.
    const MAGIC: u64;
    /// Largest file size (`s_maxbytes`).
    const MAX_FILE_SIZE: u64;
    /// Per-mount state, kept in `s_fs_info`.
    type Info: Send + Sync;
    /// Per-inode state, beside the VFS inode.
    type InodeData: Send + Sync;
    /// Mount options, parsed from `fs_parameter`s into the mount context.
    type Options: Default + Send + Sync;

    /// Parses one mount parameter (`key` or `key=value`). `Err(ENOPARAM)` for an unknown key lets
    /// the VFS refuse it with "Unknown parameter".
    fn parse_param(opts: &mut Self::Options, key: &[u8], value: Option<&[u8]>) -> Result;
    /// Reads and checks the on-disk superblock; returns the mount state and the root inode number.
    fn fill_super(sb: &NewSuperBlock<Self>, opts: &Self::Options) -> Result<(Self::Info, u64)>;
    /// Writes the options that differ from the defaults, each as `,key[=value]`.
    fn show_options(info: &Self::Info, out: &mut SeqFile);
    /// A remount; `rdonly` is the requested state.
    fn reconfigure(rdonly: bool) -> Result;
    /// Reads inode `ino` from disk.
    fn read_inode(sb: &SuperBlock<Self>, ino: u64) -> Result<InodeParams<Self::InodeData>>;
    /// Finds `name` in directory `dir`.
    fn lookup(dir: &Inode<Self>, name: &[u8]) -> Result<Option<u64>>;
    /// Emits directory entries from the emitter's position on (`.` and `..` are done already).
    fn readdir(dir: &Inode<Self>, emit: &mut DirEmitter) -> Result;
    /// Maps the file range starting at `pos` (at most `len` bytes) for reading.
    fn map_blocks(inode: &Inode<Self>, pos: u64, len: u64) -> Result<Mapping>;
    /// Filesystem statistics.
    fn statfs(sb: &SuperBlock<Self>) -> Result<StatFs>;
}

/// Hands directory entries to `readdir(2)` (`struct dir_context`).
///
/// # Invariants
///
/// `0` is the valid context of an `iterate_shared` call in progress.
pub(crate) struct DirEmitter(*mut sys::dir_context);

impl DirEmitter {
    /// # Safety
    ///
    /// `ctx` must satisfy the type invariants for the emitter's lifetime.
    pub(crate) unsafe fn from_raw(ctx: *mut sys::dir_context) -> Self {
        Self(ctx)
    }

    /// The position to continue from.
    pub(crate) fn pos(&self) -> u64 {
        // SAFETY: valid context (type invariant).
        unsafe { (*self.0).pos.max(0) as u64 }
    }

    /// Emits one entry at position `pos`; on success the position moves past it. Returns `false`
    /// when the caller's buffer is full (stop, and resume from `pos` next time).
    pub(crate) fn emit(&mut self, pos: u64, name: &[u8], ino: u64, dtype: u8) -> bool {
        let Ok(len) = c_int::try_from(name.len()) else {
            return false;
        };
        // SAFETY: valid context (type invariant); `name` is valid for `len` bytes during the call.
        unsafe {
            (*self.0).pos = pos as i64;
            if !sys::ferrofs_shim_dir_emit(self.0, name.as_ptr().cast(), len, ino, dtype as u32) {
                return false;
            }
            (*self.0).pos = pos.saturating_add(1) as i64;
        }
        true
    }
}

/// The `seq_file` of `/proc/mounts` being written by `show_options`.
///
/// # Invariants
///
/// `0` is a valid `seq_file` for the duration of a `show_options` call.
pub(crate) struct SeqFile(*mut sys::seq_file);

impl SeqFile {
    /// Appends `s`.
    pub(crate) fn puts(&mut self, s: &CStr) {
        // SAFETY: valid seq_file (type invariant); `s` is NUL-terminated.
        unsafe { sys::ferrofs_shim_seq_puts(self.0, s.as_ptr()) };
    }
}

/// `ENOPARAM`: "not a parameter of this filesystem" (kernel-internal errno 519).
pub(crate) fn enoparam() -> kernel::error::Error {
    kernel::error::Error::from_errno(-519)
}

/// A mount context (`struct fs_context`) being set up.
///
/// # Invariants
///
/// `0` points to a valid `fs_context` for the lifetime of the wrapper.
pub(crate) struct FsContext(*mut sys::fs_context);

impl FsContext {
    fn sb_flags(&self) -> u32 {
        // SAFETY: valid context (type invariant).
        unsafe { (*self.0).sb_flags }
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

/// A registered filesystem type with its inode cache; unregisters it when dropped.
pub(crate) struct Registration {
    fs_type: &'static StaticFsType,
}

impl Registration {
    /// Creates the inode cache, fills in `fs_type` for `T` and registers it with the VFS.
    pub(crate) fn register<T: FileSystem>(
        fs_type: &'static StaticFsType,
        module: &'static ThisModule,
    ) -> Result<Self> {
        inode::create_cache::<T>()?;
        let p = fs_type.0.get();
        // SAFETY: per the type invariants nobody else references the structure before
        // `register_filesystem` (module init runs once).
        unsafe {
            (*p).name = T::NAME.as_ptr();
            (*p).owner = module.as_ptr().cast();
            (*p).fs_flags = sys::FERROFS_FS_REQUIRES_DEV as c_int;
            (*p).init_fs_context = Some(init_fs_context::<T>);
            (*p).kill_sb = Some(kill_sb::<T>);
        }
        // SAFETY: `p` points to a fully initialised `file_system_type` in static storage.
        if let Err(e) = to_result(unsafe { sys::register_filesystem(p) }) {
            inode::destroy_cache();
            return Err(e);
        }
        Ok(Self { fs_type })
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // SAFETY: the type was registered by `register` (the only constructor). Module refcounting
        // guarantees no superblock of ours exists when the module goes away.
        unsafe { sys::unregister_filesystem(self.fs_type.0.get()) };
        inode::destroy_cache();
    }
}

unsafe extern "C" fn init_fs_context<T: FileSystem>(fc: *mut sys::fs_context) -> c_int {
    let ops: &'static sys::fs_context_operations = &ContextOps::<T>::OPS;
    let opts = match KBox::new(T::Options::default(), GFP_KERNEL) {
        Ok(o) => o,
        Err(_) => return code::ENOMEM.to_errno(),
    };
    // SAFETY: the VFS passes a valid new context; the ops table is static; `fs_private` owns the
    // options until `free` (called for every context, also on failure).
    unsafe {
        (*fc).ops = ops;
        (*fc).fs_private = KBox::into_raw(opts).cast();
    }
    0
}

/// The options in a context's `fs_private`.
///
/// # Safety
///
/// `fc` must be a valid context set up by `init_fs_context::<T>`, not yet freed.
unsafe fn options<'a, T: FileSystem>(fc: *mut sys::fs_context) -> Option<&'a mut T::Options> {
    // SAFETY: `fs_private` is NULL or our boxed options (caller); the VFS serialises context calls.
    unsafe { (*fc).fs_private.cast::<T::Options>().as_mut() }
}

unsafe extern "C" fn free_fs_context<T: FileSystem>(fc: *mut sys::fs_context) {
    // SAFETY: `fs_private` is NULL or the box from init_fs_context, freed exactly once here.
    unsafe {
        let p = (*fc).fs_private.cast::<T::Options>();
        (*fc).fs_private = core::ptr::null_mut();
        if !p.is_null() {
            drop(KBox::from_raw(p));
        }
    }
}

unsafe extern "C" fn parse_param<T: FileSystem>(fc: *mut sys::fs_context, param: *mut sys::fs_parameter) -> c_int {
    // SAFETY: valid context and parameter from the VFS; key and value are NUL-terminated strings
    // that live across the call.
    unsafe {
        let Some(opts) = options::<T>(fc) else {
            return code::EINVAL.to_errno();
        };
        let key = CStr::from_ptr((*param).key).to_bytes();
        let v = sys::ferrofs_shim_param_string(param);
        let value = if v.is_null() { None } else { Some(CStr::from_ptr(v).to_bytes()) };
        to_c(T::parse_param(opts, key, value))
    }
}

pub(crate) unsafe extern "C" fn show_options<T: FileSystem>(seq: *mut sys::seq_file, root: *mut sys::dentry) -> c_int {
    // SAFETY: `root` belongs to a mounted superblock of ours; `seq` is valid for the call.
    unsafe {
        let sb = SuperBlock::<T>::from_raw((*root).d_sb);
        T::show_options(sb.info(), &mut SeqFile(seq));
    }
    0
}

struct ContextOps<T>(core::marker::PhantomData<T>);

impl<T: FileSystem> ContextOps<T> {
    const OPS: sys::fs_context_operations = sys::fs_context_operations {
        free: Some(free_fs_context::<T>),
        dup: None,
        // The VFS handles `ro`/`rw` and `source` itself; the rest comes here, and what we do not
        // know is refused with "Unknown parameter".
        parse_param: Some(parse_param::<T>),
        parse_monolithic: None,
        get_tree: Some(get_tree::<T>),
        reconfigure: Some(reconfigure::<T>),
    };
}

unsafe extern "C" fn get_tree<T: FileSystem>(fc: *mut sys::fs_context) -> c_int {
    // SAFETY: valid context from the VFS; get_tree_bdev opens the device and calls fill_super.
    unsafe { sys::get_tree_bdev(fc, Some(fill_super::<T>)) }
}

unsafe extern "C" fn reconfigure<T: FileSystem>(fc: *mut sys::fs_context) -> c_int {
    // INVARIANT: valid context from the VFS for the duration of the call.
    let fc = FsContext(fc);
    to_c(T::reconfigure(fc.sb_flags() as u64 & sys::FERROFS_SB_RDONLY as u64 != 0))
}

unsafe extern "C" fn fill_super<T: FileSystem>(sb: *mut sys::super_block, fc: *mut sys::fs_context) -> c_int {
    // SAFETY: get_tree_bdev passes a new, locked superblock with its device open, and our context.
    let (new, opts) = unsafe { (NewSuperBlock::<T>::from_raw(sb), options::<T>(fc)) };
    let Some(opts) = opts else {
        return code::EINVAL.to_errno();
    };
    let (info, root_ino) = match T::fill_super(&new, opts) {
        Ok(v) => v,
        Err(e) => return e.to_errno(),
    };
    let rl = match Ratelimit::new() {
        Ok(r) => r,
        Err(e) => return e.to_errno(),
    };
    let info = match KBox::new(SbState { rl, info }, GFP_KERNEL) {
        Ok(b) => b,
        Err(_) => return code::ENOMEM.to_errno(),
    };
    // SAFETY: the superblock is ours until fill_super returns. From here on `s_fs_info` holds the
    // info (freed by kill_sb), so the superblock satisfies `SuperBlock<T>`'s invariants.
    unsafe {
        (*sb).s_fs_info = KBox::into_raw(info).cast::<c_void>();
        (*sb).s_op = &Tables::<T>::SUPER_OPS;
        (*sb).s_magic = T::MAGIC as _;
        (*sb).s_maxbytes = T::MAX_FILE_SIZE.min(i64::MAX as u64) as i64;
        (*sb).s_time_gran = 1;
    }
    // SAFETY: see above.
    let sbr = unsafe { SuperBlock::<T>::from_raw(sb) };
    let root = match iget(sbr, root_ino) {
        Ok(r) => r,
        Err(e) => return e.to_errno(),
    };
    // SAFETY: d_make_root takes over the inode reference (and drops it on failure).
    let dentry = unsafe { sys::d_make_root(root.into_raw()) };
    if dentry.is_null() {
        return code::ENOMEM.to_errno();
    }
    // SAFETY: still inside fill_super on our superblock.
    unsafe { (*sb).s_root = dentry };
    0
}

unsafe extern "C" fn kill_sb<T: FileSystem>(sb: *mut sys::super_block) {
    // SAFETY: the VFS is tearing down our superblock; after kill_block_super() every inode is gone,
    // so nothing can reach the info any more and it is freed exactly once.
    unsafe {
        let info = (*sb).s_fs_info.cast::<SbState<T::Info>>();
        sys::kill_block_super(sb);
        if !info.is_null() {
            drop(KBox::from_raw(info));
        }
    }
}
