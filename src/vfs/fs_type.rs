// SPDX-License-Identifier: GPL-2.0

//! Registration of a filesystem type, mount contexts and `fill_super`.

use super::acl::{AclType, PosixAcl};
use super::dentry::Dentry;
use super::inode::{self, iget, Idmap, Inode, InodeParams, SetAttr, TmpFile};
use super::file::{IovIter, Kiocb, OpenFile, PassRest, SwapFile};
use super::iomap::{Bio, IoPath, Ioend, IomapFlags, Mapping};
use super::ops::Tables;
use super::sb::{NewSuperBlock, SbState, SuperBlock};
use super::to_c;
use crate::sys;
use core::cell::UnsafeCell;
use core::ffi::{c_int, c_void, CStr};
use kernel::error::{code, to_result, Error, Result, VTABLE_DEFAULT_ERROR};
use kernel::types::ForeignOwnable;
use kernel::prelude::*;
use kernel::ThisModule;

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

/// What a filesystem implementation provides to the VFS. Operations marked optional have a
/// `HAS_*` constant (`#[vtable]`): the tables leave them NULL when the filesystem does not
/// implement them.
#[vtable]
pub(crate) trait FileSystem: Sized + Send + Sync + 'static {
    /// The name under which the type is registered (`mount -t NAME`, `/proc/filesystems`).
    const NAME: &'static CStr;
    /// `statfs` f_type.
    const MAGIC: u64;
    /// Largest file size (`s_maxbytes`).
    const MAX_FILE_SIZE: u64;
    /// Whether mounts may be idmapped (`FS_ALLOW_IDMAP`): every operation that creates an inode
    /// or changes ownership or permissions uses the [`Idmap`] it is handed (the wrappers pass it
    /// to `inode_init_owner`, `setattr_prepare`/`setattr_copy`, `generic_fillattr` and the ACL
    /// helpers).
    const IDMAPPED_MOUNTS: bool = false;
    /// Per-mount state, pinned in `s_fs_info` (it may hold locks and work items).
    type Info: Send + Sync;
    /// Per-inode state beside the VFS inode, initialised in place when the inode is allocated.
    type InodeData: Send + Sync;
    /// Mount options, parsed from `fs_parameter`s into the mount context.
    type Options: Default + Send + Sync;

    /// Parses one mount parameter (`key` or `key=value`). `Err(ENOPARAM)` for an unknown key lets
    /// the VFS refuse it with "Unknown parameter".
    fn parse_param(opts: &mut Self::Options, key: &[u8], value: Option<&[u8]>) -> Result;
    /// Reads and checks the on-disk superblock; returns the initialiser of the mount state and the
    /// root inode number.
    fn fill_super(
        sb: &NewSuperBlock<Self>,
        opts: &Self::Options,
    ) -> Result<(impl PinInit<Self::Info, Error>, u64)>;
    /// The initialiser of a new inode's per-inode state.
    fn init_inode_data() -> impl PinInit<Self::InodeData, Error>;
    /// Writes the options that differ from the defaults, each as `,key[=value]`.
    fn show_options(info: &Self::Info, out: &mut SeqFile);
    /// A remount: `rdonly` is the requested state, `opts` what the remount asked for.
    fn reconfigure(sb: &SuperBlock<Self>, rdonly: bool, opts: &Self::Options) -> Result;
    /// Reads inode `ino` from disk.
    fn read_inode(sb: &SuperBlock<Self>, ino: u64) -> Result<InodeParams>;
    /// Optional: reads inode `ino` for a file handle (`open_by_handle_at`, NFS). As
    /// [`Self::read_inode`], but `ino` comes from user space and may name an inode deleted since:
    /// a missing inode is `ESTALE`, not corruption.
    fn read_inode_untrusted(_sb: &SuperBlock<Self>, _ino: u64) -> Result<InodeParams> {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }
    /// Optional (with [`Self::read_inode_untrusted`] it makes the filesystem exportable: file
    /// handles, NFS): the inode number of directory `dir`'s parent (its own for the root).
    fn get_parent(_dir: &Inode<Self>) -> Result<u64> {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }
    /// Finds `name` in directory `dir`.
    fn lookup(dir: &Inode<Self>, name: &[u8]) -> Result<Option<u64>>;
    /// Emits directory entries from the emitter's position on (`.` and `..` are done already).
    fn readdir(dir: &Inode<Self>, emit: &mut DirEmitter) -> Result;
    /// The per-I/O state of a direct I/O (what the direct I/O code passes to `__iomap_dio_rw`).
    type DioData: Send;
    /// Maps the file range at `pos` (at most `len` bytes) for iomap, asked through `path` for
    /// `flags`; returns the mapping and, for a copy-on-write of partial blocks, the source mapping
    /// to read the old data from. `dio` is the direct I/O's state on [`IoPath::Direct`].
    fn iomap_begin(
        inode: &Inode<Self>,
        path: IoPath,
        pos: u64,
        len: u64,
        flags: IomapFlags,
        dio: Option<&mut Self::DioData>,
    ) -> Result<(Mapping, Option<Mapping>)>;
    /// Filesystem statistics.
    fn statfs(sb: &SuperBlock<Self>) -> Result<StatFs>;
    /// The filesystem's state of one writeback pass, beside iomap's (see [`Self::writeback_map`]).
    type WritebackState: Default;

    /// Optional: `write_iter` of a regular file.
    fn write_iter(_iocb: &Kiocb<'_, Self>, _from: &mut IovIter) -> Result<usize> {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }
    /// Optional (required with `write_iter`): writeback of the dirty range at `pos` (`len` bytes,
    /// within one folio; the folio is locked and under writeback). Returns the mapping to write
    /// to, starting at `pos`; iomap submits the bios and hands them, completed, to
    /// [`Self::writeback_done`].
    fn writeback_map(_inode: &Inode<Self>, _st: &mut Self::WritebackState, _pos: u64, _len: u64) -> Result<Mapping> {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }
    /// Optional (required with `write_iter`): a writeback ioend completed; runs on the per-mount
    /// workqueue, in completion order. Its folios stay under writeback until it is finished or
    /// dropped.
    fn writeback_done(_inode: &Inode<Self>, _ioend: Ioend<Self>) {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }
    /// Optional: whether a buffered write's mapping (from [`Self::iomap_begin`]) is still valid now
    /// that the folio is locked (`iomap_valid`); `false` makes iomap map again.
    fn iomap_valid(_inode: &Inode<Self>, _map: &Mapping) -> bool {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }
    /// Optional: called once an inode read by [`Self::read_inode`] is set up, before anyone sees it.
    fn inode_loaded(_inode: &Inode<Self>) {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }

    /// Optional: called once the superblock is mounted (root dentry set), and again after a
    /// remount read-write.
    fn activate(_sb: &SuperBlock<Self>) -> Result {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }
    /// Optional: the last call before the superblock goes away (after the final sync and the
    /// eviction of every inode).
    fn put_super(_sb: &SuperBlock<Self>) {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }
    /// Optional: `sync(2)`, `syncfs(2)`, unmount: make everything durable when `wait`.
    fn sync_fs(_sb: &SuperBlock<Self>, _wait: bool) -> Result {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }
    /// Optional: `fsync`/`fdatasync` of a file or directory (bytes `start..=end`): make its changes
    /// durable.
    fn fsync(_file: &OpenFile<'_, Self>, _start: u64, _end: u64, _datasync: bool) -> Result {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }
    /// Optional: `fallocate(2)` of a regular file (`mode` as the VFS checked it, `len > 0`).
    fn fallocate(_file: &OpenFile<'_, Self>, _mode: u32, _offset: u64, _len: u64) -> Result {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }
    /// Optional: `remap_file_range` (`FICLONE`, `FICLONERANGE`, `FIDEDUPERANGE`, and
    /// `copy_file_range` trying a clone): share `len` bytes (0: to the end of `src`) of `src`
    /// at `pos_in` into `dst` at `pos_out`; returns the bytes remapped. Both files are ours, on
    /// one superblock.
    fn remap_file_range(_src: &OpenFile<'_, Self>, _pos_in: u64, _dst: &OpenFile<'_, Self>, _pos_out: u64, _len: u64, _flags: u32) -> Result<u64> {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }
    /// Optional: `FIFREEZE` after the VFS blocked writers and synced.
    fn freeze_fs(_sb: &SuperBlock<Self>) -> Result {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }
    /// Optional: `FITHAW`.
    fn unfreeze_fs(_sb: &SuperBlock<Self>) -> Result {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }
    /// Optional: shuts the filesystem down (`FS_IOC_SHUTDOWN`, or its device went away): from
    /// now on nothing reaches the disk, which keeps what was committed. With `flush` the
    /// changes in memory are committed first (the ioctl's "log flush"). The ioctl's default
    /// mode (sync everything, then shut down) freezes the device around a call without
    /// `flush`. Once shut down, a second call does nothing.
    fn shutdown(_sb: &SuperBlock<Self>, _flush: bool) {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }
    /// Whether [`FileSystem::shutdown`] has run: file reads (`read_iter`, `splice_read`), new
    /// mappings and directory reads then fail with `EIO`, as on XFS and ext4.
    fn is_shut_down(_sb: &SuperBlock<Self>) -> bool {
        false
    }
    /// The filesystem's label (`FS_IOC_GETFSLABEL`), without a NUL.
    fn label(_sb: &SuperBlock<Self>) -> KVec<u8> {
        KVec::new()
    }
    /// Optional: `FS_IOC_SETFSLABEL` (the caller checked `CAP_SYS_ADMIN` and holds write access to
    /// the mount); `label` has no NUL. Durable when it returns.
    fn set_label(_sb: &SuperBlock<Self>, _label: &[u8]) -> Result {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }
    /// Optional: `FITRIM`. Discards the free space inside bytes `start..start + len` in free runs
    /// of at least `minlen` bytes (the device's discard granularity at least); returns the bytes
    /// discarded. The caller checked `CAP_SYS_ADMIN` and that the device discards.
    fn trim(_sb: &SuperBlock<Self>, _start: u64, _len: u64, _minlen: u64) -> Result<u64> {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }
    /// Runs on the per-mount workqueue when [`SuperBlock::schedule_commit`] asked for it.
    fn background_commit(_sb: &SuperBlock<Self>) {}
    /// Optional: the VFS changed the inode (times, ...) and it must reach the disk.
    fn dirty_inode(_inode: &Inode<Self>) {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }
    /// Optional: the last reference to the inode is gone; an unlinked inode is deleted here.
    /// The page cache is already truncated; `clear_inode` follows.
    fn evict_inode(_inode: &Inode<Self>) {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }
    /// Optional: creates a file, directory or special file named by `dentry` in `dir`
    /// (`create`, `mkdir` and `mknod`; `mode` includes the file type).
    fn mknod(_idmap: Idmap, _dir: &Inode<Self>, _dentry: &Dentry<Self>, _mode: u32, _rdev: u64) -> Result {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }
    /// Optional: creates a symbolic link to `target`.
    fn symlink(_idmap: Idmap, _dir: &Inode<Self>, _dentry: &Dentry<Self>, _target: &[u8]) -> Result {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }
    /// Optional: a new name `dentry` in `dir` for `inode`.
    fn link(_inode: &Inode<Self>, _dir: &Inode<Self>, _dentry: &Dentry<Self>) -> Result {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }
    /// Optional: removes a non-directory's name.
    fn unlink(_dir: &Inode<Self>, _dentry: &Dentry<Self>) -> Result {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }
    /// Optional: removes an empty directory.
    fn rmdir(_dir: &Inode<Self>, _dentry: &Dentry<Self>) -> Result {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }
    /// Optional: `rename(2)`/`renameat2(2)` with `RENAME_*` flags.
    fn rename(
        _idmap: Idmap,
        _old_dir: &Inode<Self>,
        _old: &Dentry<Self>,
        _new_dir: &Inode<Self>,
        _new: &Dentry<Self>,
        _flags: u32,
    ) -> Result {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }
    /// Optional: an unnamed file for `O_TMPFILE`.
    fn tmpfile(_idmap: Idmap, _dir: &Inode<Self>, _file: TmpFile, _mode: u32) -> Result {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }
    /// Optional: `chmod`, `chown`, `utimensat`, `truncate`.
    fn setattr(_inode: &Inode<Self>, _attr: &SetAttr<'_>) -> Result {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }
    /// Optional: iomap is done with `map` (`written` bytes of `pos..pos+len` were done).
    #[allow(clippy::too_many_arguments)]
    fn iomap_end(
        _inode: &Inode<Self>,
        _path: IoPath,
        _pos: u64,
        _len: u64,
        _written: u64,
        _flags: IomapFlags,
        _map: &Mapping,
        _dio: Option<(&mut Self::DioData, PassRest<'_>)>,
    ) -> Result {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }
    /// Optional: `read_iter` of a regular file (without it, the page cache's
    /// `generic_file_read_iter`).
    fn read_iter(_iocb: &Kiocb<'_, Self>, _to: &mut IovIter) -> Result<usize> {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }
    /// Optional (it enables `O_DIRECT`): one pass of a direct write completed, `size` bytes at
    /// `pos` submitted, `error` the first error of its bios. Runs in process context, never in
    /// interrupt context: in the writer's task after it waited (a synchronous request), or on the
    /// superblock's dio workqueue or the submitting task (`async_iocb`: `io_submit`, io_uring),
    /// where the writer may or may not still hold the inode lock, so it must not take it.
    /// Returns the error the write reports.
    fn dio_write_end(_inode: &Inode<Self>, _pos: u64, _size: u64, _error: Option<Error>, _async_iocb: bool) -> Result {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }
    /// Optional: submits a direct I/O bio (attaching the filesystem's completion tracking first).
    fn dio_submit_io(_inode: &Inode<Self>, _bio: Bio, _file_offset: u64, _dio: Option<&mut Self::DioData>) {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }
    /// Optional: extended attributes. `name` is the full name with its namespace prefix; with an
    /// empty `out` the value's size is returned.
    fn xattr_get(_inode: &Inode<Self>, _name: &[u8], _out: &mut [u8]) -> Result<usize> {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }
    /// Sets (`Some`) or removes (`None`) an extended attribute; `flags` are `XATTR_CREATE` /
    /// `XATTR_REPLACE`.
    fn xattr_set(_inode: &Inode<Self>, _name: &[u8], _value: Option<&[u8]>, _flags: i32) -> Result {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }
    /// Lists the names (NUL-terminated, back to back); with an empty `out` the size is returned.
    fn listxattr(_inode: &Inode<Self>, _out: &mut [u8]) -> Result<usize> {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }
    /// Optional: inode flags (`FS_IOC_GETFLAGS`, `lsattr`): the `FS_*_FL` flags of the inode.
    fn fileattr_get(_inode: &Inode<Self>) -> Result<u32> {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }
    /// Sets the inode's flags to `flags` (`FS_IOC_SETFLAGS`, `chattr`); the VFS checked the
    /// caller's right to (`CAP_LINUX_IMMUTABLE` for `i` and `a`) and holds the inode lock.
    fn fileattr_set(_inode: &Inode<Self>, _flags: u32) -> Result {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }
    /// Optional: `swapon(2)` of a regular file, its inode locked. Adds the file's page-aligned
    /// block ranges to `swap` and returns how many extents that made and how many device pages
    /// they span. The swap code then writes those blocks in place until `swapoff`: they must be
    /// allocated, not shared, and never moved meanwhile (`S_SWAPFILE` refuses writes, truncate,
    /// fallocate and remapping).
    fn swap_activate(_inode: &Inode<Self>, _swap: &mut SwapFile) -> Result<(u32, u64)> {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }
    /// Optional: POSIX ACLs. The inode's stored ACL of `ty` (`None`: it has none). With it,
    /// [`FileSystem::set_acl`] is required, and creating inodes must store what
    /// [`super::acl::create_acls`] returns.
    fn get_acl(_inode: &Inode<Self>, _ty: AclType) -> Result<Option<PosixAcl>> {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }
    /// Stores (`Some`) or removes the inode's ACL of `ty`; the VFS checked the caller's right to
    /// and the ACL's validity, and holds the inode lock. An access ACL also sets the mode
    /// ([`Inode::acl_update_mode`]).
    fn set_acl(_idmap: Idmap, _inode: &Inode<Self>, _acl: Option<&PosixAcl>, _ty: AclType) -> Result {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }
}

/// Hands directory entries to `readdir(2)` (`struct dir_context`).
///
/// # Invariants
///
/// `0` is the valid context of an `iterate_shared` call in progress on the open directory `1`,
/// whose readdir calls are serialised (its `f_pos_lock`).
pub(crate) struct DirEmitter(*mut sys::dir_context, *mut sys::file);

impl DirEmitter {
    /// # Safety
    ///
    /// `ctx` and `file` must satisfy the type invariants for the emitter's lifetime.
    pub(crate) unsafe fn from_raw(ctx: *mut sys::dir_context, file: *mut sys::file) -> Self {
        Self(ctx, file)
    }

    /// The position this pass over the directory ends at, as set by [`Self::set_pass_end`] for
    /// this open file; `None` before any.
    pub(crate) fn pass_end(&self) -> Option<u64> {
        // SAFETY: valid open directory (type invariant); its readdir calls are serialised.
        match unsafe { sys::ferrofs_shim_dir_pass_end(self.1) } {
            0 => None,
            end => Some(end),
        }
    }

    /// Sets where this pass over the directory ends (not 0), for the calls that continue it.
    pub(crate) fn set_pass_end(&mut self, end: u64) {
        // SAFETY: valid open directory (type invariant); its readdir calls are serialised.
        unsafe { sys::ferrofs_shim_dir_set_pass_end(self.1, end.max(1)) }
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

    /// Appends `prefix` and `n` in decimal.
    pub(crate) fn put_decimal(&mut self, prefix: &CStr, n: u64) {
        // SAFETY: valid seq_file (type invariant); `prefix` is NUL-terminated.
        unsafe { sys::ferrofs_shim_seq_put_decimal(self.0, prefix.as_ptr(), n) };
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
            if T::IDMAPPED_MOUNTS {
                (*p).fs_flags |= sys::FERROFS_FS_ALLOW_IDMAP as c_int;
            }
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

/// The `file_system_type.init_fs_context` callback.
///
/// # Safety
///
/// Only the VFS calls this, with a new `fs_context` for our filesystem type, valid for the duration of the call.
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

/// The `fs_context_operations.free` callback.
///
/// # Safety
///
/// Only the VFS calls this, with a context set up by `init_fs_context`, once, valid for the duration of the call.
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

/// The `fs_context_operations.parse_param` callback.
///
/// # Safety
///
/// Only the VFS calls this, with our context and a parameter whose key and value live across the call, valid for the duration of the call.
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

/// The `super_operations.show_options` callback.
///
/// # Safety
///
/// Only the VFS calls this, with a `seq_file` being written and the root dentry of a mounted superblock of ours, valid for the duration of the call.
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

/// The `fs_context_operations.get_tree` callback.
///
/// # Safety
///
/// Only the VFS calls this, with our context, with the source device set, valid for the duration of the call.
unsafe extern "C" fn get_tree<T: FileSystem>(fc: *mut sys::fs_context) -> c_int {
    // SAFETY: valid context from the VFS; get_tree_bdev opens the device and calls fill_super.
    unsafe { sys::get_tree_bdev(fc, Some(fill_super::<T>)) }
}

/// The `fs_context_operations.reconfigure` callback.
///
/// # Safety
///
/// Only the VFS calls this, with a reconfiguration context of a mounted superblock of ours (`fc->root` set), valid for the duration of the call.
unsafe extern "C" fn reconfigure<T: FileSystem>(fc: *mut sys::fs_context) -> c_int {
    // SAFETY: a reconfiguration context of a mounted superblock of ours: `root` is set and its
    // superblock is active for the call; the options are ours (NULL only if init failed).
    unsafe {
        let Some(opts) = options::<T>(fc) else {
            return code::EINVAL.to_errno();
        };
        let sb = SuperBlock::<T>::from_raw((*(*fc).root).d_sb);
        let rdonly = (*fc).sb_flags as u64 & sys::FERROFS_SB_RDONLY as u64 != 0;
        to_c(T::reconfigure(sb, rdonly, opts))
    }
}

/// The `get_tree_bdev` (our `get_tree`) callback.
///
/// # Safety
///
/// Only the VFS calls this, with a new, locked superblock with its device open, and our context, valid for the duration of the call.
unsafe extern "C" fn fill_super<T: FileSystem>(sb: *mut sys::super_block, fc: *mut sys::fs_context) -> c_int {
    // SAFETY: get_tree_bdev passes a new, locked superblock with its device open, and our context.
    let (new, opts) = unsafe { (NewSuperBlock::<T>::from_raw(sb), options::<T>(fc)) };
    let Some(opts) = opts else {
        return code::EINVAL.to_errno();
    };
    let r = (|| -> Result<u64> {
        let (info, root_ino) = T::fill_super(&new, opts)?;
        let state = KBox::pin_init(SbState::<T>::new(sb, info)?, GFP_KERNEL)?;
        // SAFETY: the superblock is ours until fill_super returns. From here on `s_fs_info` holds
        // the pinned state (freed by kill_sb), so the superblock satisfies `SuperBlock<T>`'s
        // invariants.
        unsafe {
            (*sb).s_fs_info = state.into_foreign() as *mut c_void;
            (*sb).s_op = &Tables::<T>::SUPER_OPS;
            (*sb).s_magic = T::MAGIC as _;
            (*sb).s_maxbytes = T::MAX_FILE_SIZE.min(i64::MAX as u64) as i64;
            (*sb).s_time_gran = 1;
            let handlers: &'static super::ops::XattrHandlers = &Tables::<T>::XATTR_HANDLERS;
            if T::HAS_XATTR_GET {
                sys::ferrofs_shim_set_xattr_handlers(sb, handlers.0.as_ptr());
            }
            if T::HAS_READ_INODE_UNTRUSTED && T::HAS_GET_PARENT {
                (*sb).s_export_op = &super::export::ExportTables::<T>::OPS;
            }
        }
        Ok(root_ino)
    })();
    let root_ino = match r {
        Ok(r) => r,
        Err(e) => return e.to_errno(),
    };
    // SAFETY: see above.
    let sbr = unsafe { SuperBlock::<T>::from_raw(sb) };
    let root = match iget(sbr, root_ino) {
        Ok(r) => r,
        Err(e) => return e.to_errno(),
    };
    // SAFETY: d_make_root takes over the inode reference (and drops it on failure).
    let dentry = unsafe { sys::d_make_root(kernel::types::ARef::into_raw(root).as_ptr().cast()) };
    if dentry.is_null() {
        return code::ENOMEM.to_errno();
    }
    // SAFETY: still inside fill_super on our superblock.
    unsafe { (*sb).s_root = dentry };
    if T::HAS_ACTIVATE {
        if let Err(e) = T::activate(sbr) {
            // The VFS tears the superblock down through kill_sb (s_root is dropped there).
            return e.to_errno();
        }
    }
    0
}

/// The `file_system_type.kill_sb` callback.
///
/// # Safety
///
/// Only the VFS calls this, with a superblock of ours being torn down, once, valid for the duration of the call.
unsafe extern "C" fn kill_sb<T: FileSystem>(sb: *mut sys::super_block) {
    // SAFETY: the VFS is tearing down our superblock. The background work is stopped first (it
    // may still be queued when fill_super failed late); after kill_block_super() every inode is
    // gone, so nothing can reach the state any more and it is freed exactly once.
    unsafe {
        let state = (*sb).s_fs_info;
        if !state.is_null() {
            SuperBlock::<T>::from_raw(sb).stop_background();
        }
        sys::kill_block_super(sb);
        if !state.is_null() {
            drop(<Pin<KBox<SbState<T>>> as ForeignOwnable>::from_foreign(state));
        }
    }
}
