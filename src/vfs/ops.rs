// SPDX-License-Identifier: GPL-2.0

//! The operation tables the VFS calls, and the C-ABI trampolines into [`FileSystem`].

use super::fs_type::{DirEmitter, FileSystem, MapKind, StatFs};
use super::inode::{alloc_inode, free_inode, iget, Inode};
use super::sb::SuperBlock;
use super::{err_ptr, to_c};
use crate::sys;
use core::ffi::{c_int, c_uint};
use core::marker::PhantomData;
use kernel::error::code;

/// Per-filesystem operation tables. Referenced as `&Tables::<T>::X`, each constant is promoted to
/// a `'static` table.
pub(crate) struct Tables<T>(PhantomData<T>);

const fn zeroed<U>() -> U {
    // SAFETY: only used for bindgen structs of nullable function pointers and plain integers, for
    // which all-zero means "no such operation".
    unsafe { core::mem::MaybeUninit::<U>::zeroed().assume_init() }
}

impl<T: FileSystem> Tables<T> {
    pub(crate) const SUPER_OPS: sys::super_operations = sys::super_operations {
        alloc_inode: Some(alloc_inode::<T>),
        free_inode: Some(free_inode::<T>),
        statfs: Some(statfs::<T>),
        show_options: Some(super::fs_type::show_options::<T>),
        ..zeroed()
    };
    pub(crate) const DIR_INODE_OPS: sys::inode_operations = sys::inode_operations {
        lookup: Some(lookup::<T>),
        ..zeroed()
    };
    pub(crate) const DIR_FILE_OPS: sys::file_operations = sys::file_operations {
        llseek: Some(sys::generic_file_llseek),
        read: Some(sys::generic_read_dir),
        iterate_shared: Some(iterate_shared::<T>),
        ..zeroed()
    };
    pub(crate) const REG_INODE_OPS: sys::inode_operations = sys::inode_operations {
        fiemap: Some(fiemap::<T>),
        ..zeroed()
    };
    pub(crate) const REG_FILE_OPS: sys::file_operations = sys::file_operations {
        llseek: Some(sys::generic_file_llseek),
        read_iter: Some(sys::generic_file_read_iter),
        mmap: Some(sys::generic_file_readonly_mmap),
        splice_read: Some(sys::filemap_splice_read),
        ..zeroed()
    };
    pub(crate) const SYMLINK_INODE_OPS: sys::inode_operations = sys::inode_operations {
        get_link: Some(sys::simple_get_link),
        ..zeroed()
    };
    pub(crate) const AOPS: sys::address_space_operations = sys::address_space_operations {
        read_folio: Some(read_folio::<T>),
        readahead: Some(readahead::<T>),
        ..zeroed()
    };
    pub(crate) const IOMAP_OPS: sys::iomap_ops = sys::iomap_ops {
        iomap_begin: Some(iomap_begin::<T>),
        iomap_end: None,
    };
}

unsafe extern "C" fn statfs<T: FileSystem>(dentry: *mut sys::dentry, buf: *mut sys::kstatfs) -> c_int {
    // SAFETY: the VFS passes a valid dentry of a mounted superblock of ours.
    let sb = unsafe { SuperBlock::<T>::from_raw((*dentry).d_sb) };
    match T::statfs(sb) {
        Ok(StatFs { blocks, bfree, bavail, files, ffree, namelen, fsid }) => {
            // SAFETY: `buf` is a valid kstatfs the VFS zeroed for us.
            unsafe {
                (*buf).f_type = T::MAGIC as _;
                (*buf).f_bsize = 4096;
                (*buf).f_frsize = 4096;
                (*buf).f_blocks = blocks;
                (*buf).f_bfree = bfree;
                (*buf).f_bavail = bavail;
                (*buf).f_files = files;
                (*buf).f_ffree = ffree;
                (*buf).f_namelen = namelen as _;
                (*buf).f_fsid.val = [fsid as u32 as i32, (fsid >> 32) as u32 as i32];
            }
            0
        }
        Err(e) => e.to_errno(),
    }
}

unsafe extern "C" fn lookup<T: FileSystem>(
    dir: *mut sys::inode,
    dentry: *mut sys::dentry,
    _flags: c_uint,
) -> *mut sys::dentry {
    // SAFETY: the VFS passes an initialised directory inode of ours and a valid dentry whose name
    // is stable while the parent is locked for lookup.
    let (dir, name) = unsafe {
        let mut len: c_uint = 0;
        let p = sys::ferrofs_shim_dentry_name(dentry, &mut len);
        (Inode::<T>::from_raw(dir), core::slice::from_raw_parts(p, len as usize))
    };
    let inode = match T::lookup(dir, name) {
        Ok(Some(ino)) => match iget(dir.sb(), ino) {
            Ok(i) => i.into_raw(),
            Err(e) => return err_ptr(e),
        },
        Ok(None) => core::ptr::null_mut(),
        Err(e) => return err_ptr(e),
    };
    // SAFETY: d_splice_alias takes over our inode reference (or NULL for a negative dentry).
    unsafe { sys::d_splice_alias(inode, dentry) }
}

unsafe extern "C" fn iterate_shared<T: FileSystem>(file: *mut sys::file, ctx: *mut sys::dir_context) -> c_int {
    // SAFETY: the VFS passes an open directory file of ours and a valid context.
    unsafe {
        if !sys::ferrofs_shim_dir_emit_dots(file, ctx) {
            return 0;
        }
        let dir = Inode::<T>::from_raw((*file).f_inode);
        let mut e = DirEmitter::from_raw(ctx);
        to_c(T::readdir(dir, &mut e))
    }
}

unsafe extern "C" fn fiemap<T: FileSystem>(
    inode: *mut sys::inode,
    fi: *mut sys::fiemap_extent_info,
    start: u64,
    len: u64,
) -> c_int {
    // SAFETY: valid inode and fiemap request from the VFS; iomap_fiemap walks our mappings.
    unsafe { sys::iomap_fiemap(inode, fi, start, len, &Tables::<T>::IOMAP_OPS) }
}

unsafe extern "C" fn read_folio<T: FileSystem>(_file: *mut sys::file, folio: *mut sys::folio) -> c_int {
    // iomap_read_folio() returns 0 whatever happens and the page cache then reports EIO. Map the
    // folio's range first, so that corrupt metadata reaches the reader as EUCLEAN (and I/O errors on
    // metadata as EIO) instead of every failure looking like a media error.
    let (mut pos, mut len): (sys::loff_t, usize) = (0, 0);
    // SAFETY: the VFS passes a locked folio of one of our regular files; its mapping is set.
    let inode = unsafe { sys::ferrofs_shim_folio_inode(folio, &mut pos, &mut len) };
    // SAFETY: the host of a folio of ours is an initialised inode of ours, pinned by the folio lock.
    let r = T::map_blocks(unsafe { Inode::<T>::from_raw(inode) }, pos.max(0) as u64, len as u64);
    if let Err(e) = r {
        // SAFETY: read_folio must unlock the folio it fails.
        unsafe { sys::folio_unlock(folio) };
        return e.to_errno();
    }
    // SAFETY: a locked folio of one of our regular files; iomap reads it through our mapping.
    unsafe { sys::iomap_read_folio(folio, &Tables::<T>::IOMAP_OPS) }
}

unsafe extern "C" fn readahead<T: FileSystem>(rac: *mut sys::readahead_control) {
    // SAFETY: a valid readahead request on one of our regular files.
    unsafe { sys::iomap_readahead(rac, &Tables::<T>::IOMAP_OPS) }
}

unsafe extern "C" fn iomap_begin<T: FileSystem>(
    inode: *mut sys::inode,
    pos: sys::loff_t,
    length: sys::loff_t,
    _flags: c_uint,
    iomap: *mut sys::iomap,
    _srcmap: *mut sys::iomap,
) -> c_int {
    if pos < 0 || length <= 0 {
        return code::EINVAL.to_errno();
    }
    // SAFETY: iomap calls us with an initialised inode of ours.
    let inode = unsafe { Inode::<T>::from_raw(inode) };
    match T::map_blocks(inode, pos as u64, length as u64) {
        Ok(m) => {
            let (ty, addr) = match m.kind {
                MapKind::Hole => (sys::FERROFS_IOMAP_HOLE, u64::MAX /* IOMAP_NULL_ADDR */),
                MapKind::Mapped(a) => (sys::FERROFS_IOMAP_MAPPED, a),
                MapKind::Unwritten(a) => (sys::FERROFS_IOMAP_UNWRITTEN, a),
            };
            // SAFETY: `iomap` is the caller's mapping to fill; the device outlives the mount.
            unsafe {
                (*iomap).type_ = ty;
                (*iomap).addr = addr;
                (*iomap).offset = m.offset as _;
                (*iomap).length = m.length;
                (*iomap).flags = 0;
                (*iomap).bdev = (*inode.sb().as_ptr()).s_bdev;
            }
            0
        }
        Err(e) => e.to_errno(),
    }
}
