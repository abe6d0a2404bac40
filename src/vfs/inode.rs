// SPDX-License-Identifier: GPL-2.0

//! Inodes: our own slab cache with the Rust per-inode state beside the VFS inode, `iget`, new
//! inodes, and the attributes ferrofs keeps on disk.

use super::dentry::Dentry;
use super::fs_type::FileSystem;
use super::ops::Tables;
use super::sb::SuperBlock;
use crate::sys;
use core::ffi::c_void;
use core::marker::PhantomData;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicPtr, Ordering};
use kernel::alloc::KVec;
use kernel::error::{code, Result};
use kernel::prelude::*;
use kernel::types::{ARef, AlwaysRefCounted, Opaque};

/// What kind of object an inode is, with what the VFS needs to know to set it up.
pub(crate) enum InodeKind {
    /// A directory.
    Dir,
    /// A regular file read through iomap.
    Reg,
    /// A symbolic link with its target (without a NUL).
    Symlink(KVec<u8>),
    /// A device node, FIFO or socket (`rdev` in the kernel's new encoding).
    Special(u64),
}

/// The attributes ferrofs stores for an inode, as the VFS inode holds them.
#[derive(Clone, Copy, Default)]
pub(crate) struct Attrs {
    pub(crate) mode: u32,
    pub(crate) uid: u32,
    pub(crate) gid: u32,
    pub(crate) nlink: u32,
    pub(crate) size: u64,
    /// Allocated bytes (shown as 512-byte blocks).
    pub(crate) bytes: u64,
    pub(crate) rdev: u64,
    pub(crate) generation: u32,
    /// (seconds, nanoseconds) of access, modification and change.
    pub(crate) atime: (i64, u32),
    pub(crate) mtime: (i64, u32),
    pub(crate) ctime: (i64, u32),
}

impl Attrs {
    fn to_c(self, ino: u64) -> sys::ferrofs_inode_attrs {
        sys::ferrofs_inode_attrs {
            ino,
            size: self.size,
            blocks: self.bytes / 512,
            rdev: self.rdev,
            atime_sec: self.atime.0,
            mtime_sec: self.mtime.0,
            ctime_sec: self.ctime.0,
            atime_nsec: self.atime.1,
            mtime_nsec: self.mtime.1,
            ctime_nsec: self.ctime.1,
            mode: self.mode,
            uid: self.uid,
            gid: self.gid,
            nlink: self.nlink,
            generation: self.generation,
        }
    }

    fn from_c(a: &sys::ferrofs_inode_attrs) -> Self {
        Self {
            mode: a.mode,
            uid: a.uid,
            gid: a.gid,
            nlink: a.nlink,
            size: a.size,
            bytes: a.blocks.saturating_mul(512),
            rdev: a.rdev,
            generation: a.generation,
            atime: (a.atime_sec, a.atime_nsec),
            mtime: (a.mtime_sec, a.mtime_nsec),
            ctime: (a.ctime_sec, a.ctime_nsec),
        }
    }
}

/// An inode as read from disk, applied to a new VFS inode by [`iget`].
pub(crate) struct InodeParams {
    pub(crate) kind: InodeKind,
    pub(crate) attrs: Attrs,
    /// `FS_*_FL` flags (`chattr`), applied as the VFS's `S_*` flags.
    pub(crate) flags: u32,
    /// Creation time (`statx`'s `btime`): seconds and nanoseconds.
    pub(crate) btime: (i64, u32),
}

/// The object our slab cache holds: Rust state, then the VFS inode.
///
/// # Invariants
///
/// `data` is initialised in place by `alloc_inode` and dropped by `free_inode`; `link` is empty or
/// a NUL-terminated symlink target that `vfs.i_link` points into, unchanged until `free_inode`;
/// `flags` is written by `alloc_inode` and holds the inode's `FS_*_FL` flags (`chattr`) from
/// `set_up` on; `btime` is written by `alloc_inode` and by `set_up`, before the inode is
/// visible to anyone else, and never changes afterwards.
#[repr(C)]
pub(crate) struct FsInode<T: FileSystem> {
    data: core::mem::MaybeUninit<T::InodeData>,
    link: KVec<u8>,
    flags: core::sync::atomic::AtomicU32,
    btime: (i64, u32),
    vfs: sys::inode,
}

/// Our inode slab cache (one filesystem type per module).
static INODE_CACHE: AtomicPtr<sys::kmem_cache> = AtomicPtr::new(core::ptr::null_mut());

/// Slab constructor: runs once per object when its slab page is set up.
///
/// # Safety
///
/// Only the slab allocator calls this, as our inode cache's constructor, with a new object of the
/// cache's size and alignment.
unsafe extern "C" fn inode_ctor<T: FileSystem>(obj: *mut c_void) {
    let fi = obj.cast::<FsInode<T>>();
    // SAFETY: the slab hands us an object of our cache's size and alignment.
    unsafe { sys::inode_init_once(core::ptr::addr_of_mut!((*fi).vfs)) };
}

/// Creates the inode cache; [`destroy_cache`] undoes it.
pub(crate) fn create_cache<T: FileSystem>() -> Result {
    // SAFETY: the name is a static C string, size and alignment are those of `FsInode<T>`, and the
    // constructor initialises exactly the VFS inode part.
    let c = unsafe {
        sys::ferrofs_shim_kmem_cache_create(
            c"ferrofs_inode".as_ptr(),
            core::mem::size_of::<FsInode<T>>() as u32,
            core::mem::align_of::<FsInode<T>>() as u32,
            Some(inode_ctor::<T>),
        )
    };
    if c.is_null() {
        return Err(code::ENOMEM);
    }
    INODE_CACHE.store(c, Ordering::Release);
    Ok(())
}

/// Waits for RCU-delayed inode frees, then destroys the cache.
pub(crate) fn destroy_cache() {
    let c = INODE_CACHE.swap(core::ptr::null_mut(), Ordering::AcqRel);
    if !c.is_null() {
        // SAFETY: the filesystem is unregistered, so no new inodes come; rcu_barrier() waits for
        // every pending free_inode callback, after which the cache is empty and unused.
        unsafe {
            sys::rcu_barrier();
            sys::kmem_cache_destroy(c);
        }
    }
}

fn container<T: FileSystem>(inode: *mut sys::inode) -> *mut FsInode<T> {
    // container_of(): every inode of our superblocks lives inside an `FsInode<T>`.
    let off = core::mem::offset_of!(FsInode<T>, vfs);
    inode.cast::<u8>().wrapping_sub(off).cast::<FsInode<T>>()
}

/// `super_operations.alloc_inode`.
///
/// # Safety
///
/// Only the VFS calls this, with a superblock of ours, valid for the duration of the call.
pub(crate) unsafe extern "C" fn alloc_inode<T: FileSystem>(sb: *mut sys::super_block) -> *mut sys::inode {
    let cache = INODE_CACHE.load(Ordering::Acquire);
    // SAFETY: the cache exists while the filesystem is registered; `sb` is valid.
    let fi = unsafe { sys::ferrofs_shim_alloc_inode_sb(sb, cache) }.cast::<FsInode<T>>();
    if fi.is_null() {
        return core::ptr::null_mut();
    }
    // SAFETY: `fi` is a fresh object of our cache that never moves until freed; the Rust fields are
    // uninitialised (or stale after a previous free, which dropped them), so they are written
    // without dropping, and `data` is initialised in place (it may hold locks).
    unsafe {
        let data = core::ptr::addr_of_mut!((*fi).data).cast::<T::InodeData>();
        if T::init_inode_data().__pinned_init(data).is_err() {
            sys::kmem_cache_free(cache, fi.cast());
            return core::ptr::null_mut();
        }
        core::ptr::addr_of_mut!((*fi).link).write(KVec::new());
        core::ptr::addr_of_mut!((*fi).flags).write(core::sync::atomic::AtomicU32::new(0));
        core::ptr::addr_of_mut!((*fi).btime).write((0, 0));
        core::ptr::addr_of_mut!((*fi).vfs)
    }
}

/// `super_operations.free_inode`: called after an RCU grace period.
///
/// # Safety
///
/// Only the VFS calls this, with an inode from `alloc_inode`, after an RCU grace period, once, valid for the duration of the call.
pub(crate) unsafe extern "C" fn free_inode<T: FileSystem>(inode: *mut sys::inode) {
    let fi = container::<T>(inode);
    // SAFETY: the inode came from `alloc_inode`, so the Rust fields are initialised; nobody can
    // reach the inode any more (RCU readers of `i_link` are done), so they are dropped and the
    // object is returned to its cache.
    unsafe {
        core::ptr::drop_in_place(core::ptr::addr_of_mut!((*fi).data).cast::<T::InodeData>());
        core::ptr::drop_in_place(core::ptr::addr_of_mut!((*fi).link));
        sys::kmem_cache_free(INODE_CACHE.load(Ordering::Acquire), fi.cast());
    }
}

/// An initialised ferrofs inode.
///
/// # Invariants
///
/// The inode is inside an `FsInode<T>` of a mounted `T` superblock, and its fields and operation
/// tables were set up (by [`iget`] or [`NewInode`]) before it became visible.
#[repr(transparent)]
pub(crate) struct Inode<T: FileSystem>(Opaque<sys::inode>, PhantomData<T>);

// SAFETY: the VFS inode is made to be shared between threads; all access goes through the
// kernel's own synchronisation (i_lock, i_rwsem, atomic fields) or our per-inode data's locks.
unsafe impl<T: FileSystem> Send for Inode<T> {}
// SAFETY: as above.
unsafe impl<T: FileSystem> Sync for Inode<T> {}

// SAFETY: an inode is always reference counted: `ihold` takes a reference, `iput` drops it.
unsafe impl<T: FileSystem> AlwaysRefCounted for Inode<T> {
    fn inc_ref(&self) {
        // SAFETY: the existence of `&self` means we hold a reference already.
        unsafe { sys::ihold(self.as_ptr()) };
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: the caller owns a reference and gives it up.
        unsafe { sys::iput(obj.as_ptr().cast()) };
    }
}

impl<T: FileSystem> Inode<T> {
    /// # Safety
    ///
    /// `inode` must satisfy the type invariants for `'a`.
    pub(crate) unsafe fn from_raw<'a>(inode: *mut sys::inode) -> &'a Self {
        // SAFETY: repr(transparent) over `inode`; validity from the caller.
        unsafe { &*(inode as *const Self) }
    }

    pub(crate) fn as_ptr(&self) -> *mut sys::inode {
        self.0.get()
    }

    /// The inode number.
    pub(crate) fn ino(&self) -> u64 {
        // SAFETY: i_ino never changes after the inode is set up (type invariant).
        unsafe { (*self.as_ptr()).i_ino }
    }

    /// The superblock the inode belongs to.
    pub(crate) fn sb(&self) -> &SuperBlock<T> {
        // SAFETY: an initialised inode's superblock is mounted (type invariant) and outlives it.
        unsafe { SuperBlock::from_raw((*self.as_ptr()).i_sb) }
    }

    /// The attributes as the VFS inode has them now.
    pub(crate) fn attrs(&self) -> Attrs {
        let mut a = sys::ferrofs_inode_attrs::default();
        // SAFETY: valid inode; the shim reads the fields with the kernel's accessors.
        unsafe { sys::ferrofs_shim_get_attrs(self.as_ptr(), &mut a) };
        Attrs::from_c(&a)
    }

    /// The link count.
    pub(crate) fn nlink(&self) -> u32 {
        // SAFETY: valid inode; i_nlink is read as the kernel does (a plain read).
        unsafe { sys::ferrofs_shim_inode_nlink(self.as_ptr()) }
    }

    /// Whether the inode is a directory.
    pub(crate) fn is_dir(&self) -> bool {
        // SAFETY: valid inode; the file type never changes.
        unsafe { sys::ferrofs_shim_inode_is_dir(self.as_ptr()) }
    }

    /// `i_size`.
    pub(crate) fn size(&self) -> u64 {
        // SAFETY: valid inode; i_size_read.
        unsafe { sys::ferrofs_shim_inode_size(self.as_ptr()) }.max(0) as u64
    }

    /// Sets `i_size` (callers hold the inode lock).
    pub(crate) fn set_size(&self, size: u64) {
        // SAFETY: valid inode; i_size_write, serialised by the caller's inode lock.
        unsafe { sys::ferrofs_shim_set_size(self.as_ptr(), size.min(i64::MAX as u64) as i64) };
    }

    /// Sets the ctime to now.
    pub(crate) fn touch_ctime(&self) {
        // SAFETY: valid inode.
        unsafe { sys::ferrofs_shim_touch_ctime(self.as_ptr()) };
    }

    /// Sets mtime and ctime to now (a directory whose entries changed).
    pub(crate) fn touch_mtime_ctime(&self) {
        // SAFETY: valid inode.
        unsafe { sys::ferrofs_shim_touch_mtime_ctime(self.as_ptr()) };
    }

    /// `inc_nlink`.
    pub(crate) fn inc_nlink(&self) {
        // SAFETY: valid inode; callers hold the locks the VFS requires for link count changes.
        unsafe { sys::inc_nlink(self.as_ptr()) };
    }

    /// `drop_nlink` (never below zero).
    pub(crate) fn drop_nlink(&self) {
        if self.nlink() > 0 {
            // SAFETY: valid inode with a positive link count.
            unsafe { sys::drop_nlink(self.as_ptr()) };
        }
    }

    /// `clear_nlink`.
    pub(crate) fn clear_nlink(&self) {
        // SAFETY: valid inode.
        unsafe { sys::clear_nlink(self.as_ptr()) };
    }

    /// `set_nlink`.
    pub(crate) fn set_nlink(&self, n: u32) {
        // SAFETY: valid inode.
        unsafe { sys::set_nlink(self.as_ptr(), n) };
    }

    /// Applies `FS_*_FL` flags (`chattr`) as the VFS's `S_*` flags (callers hold the inode lock).
    pub(crate) fn set_flags(&self, flags: u32) {
        // SAFETY: valid inode; inode_set_flags updates i_flags atomically.
        unsafe { sys::ferrofs_shim_set_inode_flags(self.as_ptr(), flags) };
        self.container_flags().store(flags, Ordering::Release);
    }

    /// The generation number (`i_generation`: file handles carry it, so a handle of a deleted
    /// file does not open another one that got its number).
    pub(crate) fn generation(&self) -> u32 {
        // SAFETY: valid inode; the field is set before the inode becomes visible.
        unsafe { (*self.as_ptr()).i_generation }
    }

    /// The `FS_*_FL` flags last applied by [`Self::set_flags`] or when the inode was set up
    /// (`statx` reports some of them as attributes).
    pub(crate) fn fs_flags(&self) -> u32 {
        self.container_flags().load(Ordering::Acquire)
    }

    /// The creation time (`statx`'s `btime`).
    pub(crate) fn btime(&self) -> (i64, u32) {
        let fi = container::<T>(self.as_ptr());
        // SAFETY: every inode of ours lives in an `FsInode<T>` whose `btime` is set before the
        // inode is visible and never written afterwards (type invariant).
        unsafe { core::ptr::addr_of!((*fi).btime).read() }
    }

    fn container_flags(&self) -> &core::sync::atomic::AtomicU32 {
        let fi = container::<T>(self.as_ptr());
        // SAFETY: every inode of ours lives in an `FsInode<T>` whose `flags` `alloc_inode` wrote
        // (type invariant), and it lives as long as the inode.
        unsafe { &*core::ptr::addr_of!((*fi).flags) }
    }

    /// `IS_IMMUTABLE`: `chattr +i`.
    pub(crate) fn is_immutable(&self) -> bool {
        // SAFETY: valid inode.
        unsafe { sys::ferrofs_shim_is_immutable(self.as_ptr()) }
    }

    /// `IS_DIRSYNC`: namespace changes in this directory are to be synchronous (`chattr +D` or
    /// `+S`, or the `dirsync`/`sync` mount options).
    pub(crate) fn is_dirsync(&self) -> bool {
        // SAFETY: valid inode.
        unsafe { sys::ferrofs_shim_is_dirsync(self.as_ptr()) }
    }

    /// Takes the inode lock (`i_rwsem`, exclusive) until the guard drops.
    pub(crate) fn lock(&self) -> InodeLock<'_, T> {
        // SAFETY: valid inode; paired with inode_unlock in the guard's Drop.
        unsafe { sys::ferrofs_shim_inode_lock(self.as_ptr()) };
        InodeLock(self)
    }

    /// Another counted reference.
    pub(crate) fn to_aref(&self) -> ARef<Self> {
        ARef::from(self)
    }

    /// The filesystem's per-inode state.
    pub(crate) fn data(&self) -> &T::InodeData {
        let fi = container::<T>(self.as_ptr());
        // SAFETY: every initialised inode of ours lives in an `FsInode<T>` whose `data` was
        // initialised in place by `alloc_inode` and is dropped only by `free_inode`, after the last
        // reference is gone; it is never moved (pinned in the slab object).
        unsafe { &*core::ptr::addr_of!((*fi).data).cast::<T::InodeData>() }
    }
}

/// The inode lock held; see [`Inode::lock`].
pub(crate) struct InodeLock<'a, T: FileSystem>(&'a Inode<T>);

impl<'a, T: FileSystem> InodeLock<'a, T> {
    /// The guard of a lock the caller just took.
    pub(super) fn taken(inode: &'a Inode<T>) -> Self {
        Self(inode)
    }
}

impl<T: FileSystem> Drop for InodeLock<'_, T> {
    fn drop(&mut self) {
        // SAFETY: we took the lock in `Inode::lock`.
        unsafe { sys::ferrofs_shim_inode_unlock(self.0.as_ptr()) };
    }
}

/// Finds inode `ino` in the inode cache or reads it with `T::read_inode`.
pub(crate) fn iget<T: FileSystem>(sb: &SuperBlock<T>, ino: u64) -> Result<ARef<Inode<T>>> {
    iget_with(sb, ino, false)
}

/// [`iget`] of an inode number from a file handle: read with `T::read_inode_untrusted` (a
/// missing inode is `ESTALE`).
pub(crate) fn iget_untrusted<T: FileSystem>(sb: &SuperBlock<T>, ino: u64) -> Result<ARef<Inode<T>>> {
    iget_with(sb, ino, true)
}

fn iget_with<T: FileSystem>(sb: &SuperBlock<T>, ino: u64, untrusted: bool) -> Result<ARef<Inode<T>>> {
    // SAFETY: `sb` is a mounted superblock.
    let inode = unsafe { sys::iget_locked(sb.as_ptr(), ino) };
    let Some(nn) = NonNull::new(inode) else {
        return Err(code::ENOMEM);
    };
    // SAFETY: iget_locked returned a referenced inode.
    if !unsafe { sys::ferrofs_shim_inode_is_new(inode) } {
        // SAFETY: not new, so it was initialised by an earlier iget; we own the reference.
        return Ok(unsafe { ARef::from_raw(nn.cast()) });
    }
    let r = if untrusted && T::HAS_READ_INODE_UNTRUSTED { T::read_inode_untrusted(sb, ino) } else { T::read_inode(sb, ino) };
    match r {
        Ok(p) => {
            // SAFETY: the inode is I_NEW: nobody else can see it until unlock_new_inode(), so we
            // may initialise every field; it is inside an `FsInode<T>` allocated by alloc_inode.
            unsafe {
                sys::set_nlink(inode, p.attrs.nlink);
                set_up::<T>(inode, p);
                if T::HAS_INODE_LOADED {
                    T::inode_loaded(Inode::from_raw(inode));
                }
                sys::unlock_new_inode(inode);
                Ok(ARef::from_raw(nn.cast()))
            }
        }
        Err(e) => {
            // SAFETY: the inode is I_NEW and ours; iget_failed marks it bad and drops our reference.
            unsafe { sys::iget_failed(inode) };
            Err(e)
        }
    }
}

/// Applies `p` to an inode nobody else sees yet: attributes and the operation tables of its kind.
///
/// # Safety
///
/// `inode` must be an I_NEW inode from `alloc_inode::<T>` that only the caller can see.
unsafe fn set_up<T: FileSystem>(inode: *mut sys::inode, p: InodeParams) {
    let fi = container::<T>(inode);
    let c = p.attrs.to_c(0);
    // SAFETY: exclusive access to a new inode (caller); all pointers derived from it are valid.
    unsafe {
        sys::ferrofs_shim_set_attrs(inode, &c);
        sys::ferrofs_shim_set_inode_flags(inode, p.flags);
        (*fi).flags.store(p.flags, Ordering::Release);
        (*fi).btime = p.btime;
        let i = &mut *inode;
        match p.kind {
            InodeKind::Dir => {
                i.i_op = &Tables::<T>::DIR_INODE_OPS;
                i.__bindgen_anon_3.i_fop = &Tables::<T>::DIR_FILE_OPS;
            }
            InodeKind::Reg => {
                i.i_op = &Tables::<T>::REG_INODE_OPS;
                i.__bindgen_anon_3.i_fop = &Tables::<T>::REG_FILE_OPS;
                (*i.i_mapping).a_ops = &Tables::<T>::AOPS;
                if T::HAS_WRITE_ITER {
                    sys::ferrofs_shim_set_large_folios(inode);
                }
            }
            InodeKind::Symlink(mut target) => {
                // A push failure leaves the target unterminated: fall back to an empty link.
                if target.push(0, GFP_KERNEL).is_err() {
                    target = KVec::new();
                }
                if !target.is_empty() {
                    (*fi).link = target;
                    i.__bindgen_anon_4.i_link = (*fi).link.as_mut_ptr().cast();
                }
                i.i_op = &Tables::<T>::SYMLINK_INODE_OPS;
            }
            InodeKind::Special(rdev) => {
                i.i_op = &Tables::<T>::SPECIAL_INODE_OPS;
                sys::ferrofs_shim_set_special(inode, p.attrs.mode as u16, rdev);
            }
        }
    }
}

/// The idmapping of the mount an operation came through (`struct mnt_idmap`).
///
/// # Invariants
///
/// `0` is valid for the duration of the VFS call that handed it to us.
#[derive(Clone, Copy)]
pub(crate) struct Idmap(pub(super) *mut sys::mnt_idmap);

/// A new inode, hashed and locked (`I_NEW`) until [`NewInode::instantiate`] makes it visible;
/// dropped unfinished, it is discarded (link count cleared, so eviction frees nothing on disk).
///
/// # Invariants
///
/// `0` is a referenced `I_NEW` inode of ours, inserted in the inode hash, seen by nobody else.
pub(crate) struct NewInode<T: FileSystem>(NonNull<sys::inode>, PhantomData<T>);

impl<T: FileSystem> NewInode<T> {
    /// Allocates inode `ino` in `dir`'s filesystem, owned as `inode_init_owner` says for `mode`,
    /// with the current time, a link count of 1 (2 for a directory) and `i_generation`
    /// `generation` (what the inode item stores: file handles carry it).
    pub(crate) fn new(idmap: Idmap, dir: &Inode<T>, ino: u64, mode: u32, rdev: u64, kind: InodeKind, generation: u32) -> Result<Self> {
        let sb = dir.sb().as_ptr();
        // SAFETY: mounted superblock; new_inode returns a referenced inode from alloc_inode or NULL.
        let inode = unsafe { sys::new_inode(sb) };
        let Some(nn) = NonNull::new(inode) else {
            return Err(code::ENOMEM);
        };
        // SAFETY: the inode is new and unhashed: only we see it. `idmap` is valid for the call.
        unsafe {
            (*inode).i_ino = ino;
            sys::inode_init_owner(idmap.0, inode, dir.as_ptr(), mode as u16);
            sys::ferrofs_shim_touch_mtime_ctime(inode);
            let mut a = sys::ferrofs_inode_attrs::default();
            sys::ferrofs_shim_get_attrs(inode, &mut a);
            a.atime_sec = a.ctime_sec;
            a.atime_nsec = a.ctime_nsec;
            a.rdev = rdev;
            a.generation = generation;
            let mut attrs = Attrs::from_c(&a);
            attrs.bytes = 0;
            // Born now: the creation time is the first ctime (the inode item's crtime).
            set_up::<T>(inode, InodeParams { kind, attrs, flags: 0, btime: (a.ctime_sec, a.ctime_nsec as u32) });
            sys::set_nlink(inode, if sys::ferrofs_shim_inode_is_dir(inode) { 2 } else { 1 });
            if sys::insert_inode_locked(inode) != 0 {
                // An inode with this number is still in memory: the inode counter went backwards,
                // which only corruption can do.
                sys::iput(inode);
                return Err(crate::vfs::euclean());
            }
        }
        Ok(Self(nn, PhantomData))
    }

    /// The inode (for reading its attributes and changing its link count).
    pub(crate) fn inode(&self) -> &Inode<T> {
        // SAFETY: a set-up inode of ours (type invariant).
        unsafe { Inode::from_raw(self.0.as_ptr()) }
    }

    /// Makes the inode visible under `dentry` (`d_instantiate_new`), giving the reference to it.
    pub(crate) fn instantiate(self, dentry: &Dentry<T>) {
        let p = self.0.as_ptr();
        core::mem::forget(self);
        // SAFETY: `p` is our referenced I_NEW inode; d_instantiate_new unlocks it and gives the
        // reference to the dentry.
        unsafe { sys::d_instantiate_new(dentry.as_ptr(), p) };
    }

    /// Finishes an inode that no dentry names yet (a whiteout left by a rename): unlocks it and
    /// drops our reference; a later lookup finds it.
    pub(crate) fn finish_unattached(self) {
        let p = self.0.as_ptr();
        core::mem::forget(self);
        // SAFETY: our referenced I_NEW inode, fully set up and on disk in the running transaction.
        unsafe {
            sys::unlock_new_inode(p);
            sys::iput(p);
        }
    }

    /// Makes the inode visible as the anonymous file of an `O_TMPFILE` open (`d_tmpfile`, which
    /// drops the link count to 0) and finishes the open.
    pub(crate) fn into_tmpfile(self, file: TmpFile) -> Result {
        let p = self.0.as_ptr();
        core::mem::forget(self);
        // SAFETY: `file` is the O_TMPFILE file being opened (type invariant of TmpFile); d_tmpfile
        // takes our inode reference; unlock_new_inode clears I_NEW.
        unsafe {
            sys::d_tmpfile(file.0, p);
            sys::unlock_new_inode(p);
            kernel::error::to_result(sys::ferrofs_shim_finish_open(file.0))
        }
    }
}

impl<T: FileSystem> Drop for NewInode<T> {
    fn drop(&mut self) {
        // SAFETY: our referenced I_NEW inode (type invariant); marked bad, eviction leaves the disk
        // alone (whatever the failed operation changed is in a transaction that was aborted or
        // never modified anything); discard_new_inode unlocks it and drops the reference.
        unsafe {
            sys::clear_nlink(self.0.as_ptr());
            sys::make_bad_inode(self.0.as_ptr());
            sys::discard_new_inode(self.0.as_ptr());
        }
    }
}

/// The file of an `O_TMPFILE` open, handed to [`FileSystem::tmpfile`].
///
/// # Invariants
///
/// `0` is the `struct file` being opened by the `tmpfile` call in progress.
pub(crate) struct TmpFile(pub(super) *mut sys::file);

/// Copies `a` (from a `setattr`) into the VFS inode through `setattr_copy`, and the size.
pub(crate) struct SetAttr<'a> {
    pub(super) idmap: Idmap,
    pub(super) dentry: *mut sys::dentry,
    pub(super) attr: *mut sys::iattr,
    pub(super) _p: PhantomData<&'a ()>,
}

impl SetAttr<'_> {
    /// `setattr_prepare`: permission and validity checks (EPERM, EINVAL, EFBIG).
    pub(crate) fn prepare(&self) -> Result {
        // SAFETY: arguments of the setattr call in progress.
        kernel::error::to_result(unsafe { sys::setattr_prepare(self.idmap.0, self.dentry, self.attr) })
    }

    /// The new size, when the call changes it.
    pub(crate) fn new_size(&self) -> Option<u64> {
        // SAFETY: valid iattr for the call.
        unsafe {
            let a = &*self.attr;
            (a.ia_valid & sys::FERROFS_ATTR_SIZE != 0).then_some(a.ia_size.max(0) as u64)
        }
    }

    /// Whether the call changes the mode.
    pub(crate) fn changes_mode(&self) -> bool {
        // SAFETY: valid iattr for the call.
        unsafe { (*self.attr).ia_valid & sys::FERROFS_ATTR_MODE != 0 }
    }

    /// `posix_acl_chmod`: after a mode change, rewrites the access ACL to match the new mode
    /// (through the filesystem's `set_acl`); nothing without ACLs.
    pub(crate) fn acl_chmod(&self) -> Result {
        // SAFETY: arguments of the setattr call in progress; the dentry has an inode, still locked.
        kernel::error::to_result(unsafe {
            let inode = sys::ferrofs_shim_d_inode(self.dentry);
            sys::posix_acl_chmod(self.idmap.0, self.dentry, (*inode).i_mode)
        })
    }

    /// Applies everything but the size to the inode (`setattr_copy`).
    pub(crate) fn copy_to_inode(&self) {
        // SAFETY: arguments of the setattr call in progress; the dentry has an inode.
        unsafe {
            let inode = sys::ferrofs_shim_d_inode(self.dentry);
            sys::setattr_copy(self.idmap.0, inode, self.attr);
        }
    }
}
