// SPDX-License-Identifier: GPL-2.0

//! Inodes: our own slab cache with the Rust per-inode state beside the VFS inode, `iget`, and a
//! counted reference type.

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

/// An inode as read from disk, applied to a new VFS inode by [`iget`].
pub(crate) struct InodeParams<D> {
    pub(crate) kind: InodeKind,
    pub(crate) mode: u32,
    pub(crate) uid: u32,
    pub(crate) gid: u32,
    pub(crate) nlink: u32,
    pub(crate) size: u64,
    /// Allocated bytes (shown as 512-byte blocks).
    pub(crate) bytes: u64,
    pub(crate) generation: u32,
    /// (seconds, nanoseconds) of access, modification and change.
    pub(crate) atime: (i64, u32),
    pub(crate) mtime: (i64, u32),
    pub(crate) ctime: (i64, u32),
    pub(crate) data: D,
}

/// The object our slab cache holds: Rust state, then the VFS inode.
///
/// # Invariants
///
/// `data` is `None` from `alloc_inode` until [`iget`] fills a new inode; `link` is empty or a
/// NUL-terminated symlink target that `vfs.i_link` points into, unchanged until `free_inode`.
#[repr(C)]
pub(crate) struct FsInode<T: FileSystem> {
    data: Option<T::InodeData>,
    link: KVec<u8>,
    vfs: sys::inode,
}

/// Our inode slab cache (one filesystem type per module).
static INODE_CACHE: AtomicPtr<sys::kmem_cache> = AtomicPtr::new(core::ptr::null_mut());

/// Slab constructor: runs once per object when its slab page is set up.
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
pub(crate) unsafe extern "C" fn alloc_inode<T: FileSystem>(sb: *mut sys::super_block) -> *mut sys::inode {
    let cache = INODE_CACHE.load(Ordering::Acquire);
    // SAFETY: the cache exists while the filesystem is registered; `sb` is valid.
    let fi = unsafe { sys::ferrofs_shim_alloc_inode_sb(sb, cache) }.cast::<FsInode<T>>();
    if fi.is_null() {
        return core::ptr::null_mut();
    }
    // SAFETY: `fi` is a fresh object of our cache; the Rust fields are uninitialised (or stale
    // after a previous free, which dropped them), so they are written without dropping.
    unsafe {
        core::ptr::addr_of_mut!((*fi).data).write(None);
        core::ptr::addr_of_mut!((*fi).link).write(KVec::new());
        core::ptr::addr_of_mut!((*fi).vfs)
    }
}

/// `super_operations.free_inode`: called after an RCU grace period.
pub(crate) unsafe extern "C" fn free_inode<T: FileSystem>(inode: *mut sys::inode) {
    let fi = container::<T>(inode);
    // SAFETY: the inode came from `alloc_inode`, so the Rust fields are initialised; nobody can
    // reach the inode any more (RCU readers of `i_link` are done), so they are dropped and the
    // object is returned to its cache.
    unsafe {
        core::ptr::drop_in_place(core::ptr::addr_of_mut!((*fi).data));
        core::ptr::drop_in_place(core::ptr::addr_of_mut!((*fi).link));
        sys::kmem_cache_free(INODE_CACHE.load(Ordering::Acquire), fi.cast());
    }
}

/// An initialised ferrofs inode.
///
/// # Invariants
///
/// The inode is inside an `FsInode<T>` of a mounted `T` superblock, and its `data` is `Some` (it
/// was filled by [`iget`] before it became visible).
#[repr(transparent)]
pub(crate) struct Inode<T: FileSystem>(sys::inode, PhantomData<T>);

impl<T: FileSystem> Inode<T> {
    /// # Safety
    ///
    /// `inode` must satisfy the type invariants for `'a`.
    pub(crate) unsafe fn from_raw<'a>(inode: *mut sys::inode) -> &'a Self {
        // SAFETY: repr(transparent) over `inode`; validity from the caller.
        unsafe { &*(inode as *const Self) }
    }

    /// The inode number.
    pub(crate) fn ino(&self) -> u64 {
        self.0.i_ino
    }

    /// The superblock the inode belongs to.
    pub(crate) fn sb(&self) -> &SuperBlock<T> {
        // SAFETY: an initialised inode's superblock is mounted (type invariant) and outlives it.
        unsafe { SuperBlock::from_raw(self.0.i_sb) }
    }

}

/// A counted reference to an inode (`iput` on drop).
pub(crate) struct InodeRef<T: FileSystem>(NonNull<Inode<T>>);

impl<T: FileSystem> InodeRef<T> {
    /// Gives up the reference without `iput` (the callee took it over).
    pub(crate) fn into_raw(self) -> *mut sys::inode {
        let p = self.0.as_ptr().cast::<sys::inode>();
        core::mem::forget(self);
        p
    }
}

impl<T: FileSystem> core::ops::Deref for InodeRef<T> {
    type Target = Inode<T>;
    fn deref(&self) -> &Inode<T> {
        // SAFETY: we hold a reference, so the inode is alive and initialised.
        unsafe { self.0.as_ref() }
    }
}

impl<T: FileSystem> Drop for InodeRef<T> {
    fn drop(&mut self) {
        // SAFETY: we own one reference and drop it once.
        unsafe { sys::iput(self.0.as_ptr().cast()) };
    }
}

/// Finds inode `ino` in the inode cache or reads it with `T::read_inode`.
pub(crate) fn iget<T: FileSystem>(sb: &SuperBlock<T>, ino: u64) -> Result<InodeRef<T>> {
    // SAFETY: `sb` is a mounted superblock.
    let inode = unsafe { sys::iget_locked(sb.as_ptr(), ino) };
    let Some(nn) = NonNull::new(inode) else {
        return Err(code::ENOMEM);
    };
    // SAFETY: iget_locked returned a referenced inode.
    if !unsafe { sys::ferrofs_shim_inode_is_new(inode) } {
        // INVARIANT: not new, so it was initialised by an earlier iget.
        return Ok(InodeRef(nn.cast()));
    }
    match T::read_inode(sb, ino) {
        Ok(p) => {
            // SAFETY: the inode is I_NEW: nobody else can see it until unlock_new_inode(), so we
            // may initialise every field; it is inside an `FsInode<T>` allocated by alloc_inode.
            unsafe {
                fill_inode::<T>(inode, p);
                sys::unlock_new_inode(inode);
            }
            Ok(InodeRef(nn.cast()))
        }
        Err(e) => {
            // SAFETY: the inode is I_NEW and ours; iget_failed marks it bad and drops our reference.
            unsafe { sys::iget_failed(inode) };
            Err(e)
        }
    }
}

/// # Safety
///
/// `inode` must be an I_NEW inode from `alloc_inode::<T>` that only the caller can see.
unsafe fn fill_inode<T: FileSystem>(inode: *mut sys::inode, p: InodeParams<T::InodeData>) {
    let fi = container::<T>(inode);
    // SAFETY: exclusive access to a new inode (caller); all pointers derived from it are valid.
    unsafe {
        let i = &mut *inode;
        i.i_mode = p.mode as u16;
        sys::ferrofs_shim_set_owner(inode, p.uid, p.gid);
        sys::set_nlink(inode, p.nlink);
        sys::ferrofs_shim_set_size(inode, p.size.min(i64::MAX as u64) as i64);
        i.i_blocks = p.bytes / 512;
        i.i_generation = p.generation;
        sys::ferrofs_shim_set_times(inode, p.atime.0, p.atime.1, p.mtime.0, p.mtime.1, p.ctime.0, p.ctime.1);
        match p.kind {
            InodeKind::Dir => {
                i.i_op = &Tables::<T>::DIR_INODE_OPS;
                i.__bindgen_anon_3.i_fop = &Tables::<T>::DIR_FILE_OPS;
            }
            InodeKind::Reg => {
                i.i_op = &Tables::<T>::REG_INODE_OPS;
                i.__bindgen_anon_3.i_fop = &Tables::<T>::REG_FILE_OPS;
                (*i.i_mapping).a_ops = &Tables::<T>::AOPS;
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
                sys::ferrofs_shim_set_special(inode, p.mode as u16, rdev);
            }
        }
        (*fi).data = Some(p.data);
    }
}
