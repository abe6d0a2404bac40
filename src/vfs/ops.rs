// SPDX-License-Identifier: GPL-2.0

//! The operation tables the VFS calls, and the C-ABI trampolines into [`FileSystem`].
//!
//! Every trampoline turns the raw arguments into the safe wrappers (whose invariants the VFS
//! guarantees for the duration of the call) and the `Result` back into the C convention.

use super::acl::{AclType, PosixAcl};
use super::dentry::Dentry;
use super::file::{OpenFile, IovIter, Kiocb, SwapFile};
use super::fs_type::{DirEmitter, FileSystem, StatFs};
use super::iomap::{check_read, IomapTables};
use super::inode::{alloc_inode, free_inode, iget, Idmap, Inode, SetAttr, TmpFile};
use super::sb::SuperBlock;
use super::to_c;
use crate::sys;
use core::ffi::{c_char, c_int, c_uint, c_void, CStr};
use core::marker::PhantomData;
use core::ptr::NonNull;
use kernel::error::code;
use kernel::types::ARef;

/// Per-filesystem operation tables. Referenced as `&Tables::<T>::X`, each constant is promoted to
/// a `'static` table.
pub(crate) struct Tables<T>(PhantomData<T>);

const fn zeroed<U>() -> U {
    // SAFETY: only used for bindgen structs of nullable function pointers and plain integers, for
    // which all-zero means "no such operation".
    unsafe { core::mem::MaybeUninit::<U>::zeroed().assume_init() }
}

/// The NULL-terminated `s_xattr` array.
pub(crate) struct XattrHandlers(pub(crate) [*const sys::xattr_handler; 4]);

// SAFETY: the array only points to immutable static handler tables.
unsafe impl Sync for XattrHandlers {}

/// An `xattr_handler` table.
pub(crate) struct XattrHandler(sys::xattr_handler);

// SAFETY: immutable after construction; only read by the VFS.
unsafe impl Sync for XattrHandler {}

impl<T: FileSystem> Tables<T> {
    pub(crate) const SUPER_OPS: sys::super_operations = sys::super_operations {
        alloc_inode: Some(alloc_inode::<T>),
        free_inode: Some(free_inode::<T>),
        statfs: Some(statfs::<T>),
        show_options: Some(super::fs_type::show_options::<T>),
        put_super: if T::HAS_PUT_SUPER { Some(put_super::<T>) } else { None },
        sync_fs: if T::HAS_SYNC_FS { Some(sync_fs::<T>) } else { None },
        freeze_fs: if T::HAS_FREEZE_FS { Some(freeze_fs::<T>) } else { None },
        unfreeze_fs: if T::HAS_UNFREEZE_FS { Some(unfreeze_fs::<T>) } else { None },
        dirty_inode: if T::HAS_DIRTY_INODE { Some(dirty_inode::<T>) } else { None },
        evict_inode: if T::HAS_EVICT_INODE { Some(evict_inode::<T>) } else { None },
        shutdown: if T::HAS_SHUTDOWN { Some(sb_shutdown::<T>) } else { None },
        ..zeroed()
    };
    pub(crate) const DIR_INODE_OPS: sys::inode_operations = sys::inode_operations {
        lookup: Some(lookup::<T>),
        create: if T::HAS_MKNOD { Some(create::<T>) } else { None },
        mkdir: if T::HAS_MKNOD { Some(mkdir::<T>) } else { None },
        mknod: if T::HAS_MKNOD { Some(mknod::<T>) } else { None },
        symlink: if T::HAS_SYMLINK { Some(symlink::<T>) } else { None },
        link: if T::HAS_LINK { Some(link::<T>) } else { None },
        unlink: if T::HAS_UNLINK { Some(unlink::<T>) } else { None },
        rmdir: if T::HAS_RMDIR { Some(rmdir::<T>) } else { None },
        rename: if T::HAS_RENAME { Some(rename::<T>) } else { None },
        tmpfile: if T::HAS_TMPFILE { Some(tmpfile::<T>) } else { None },
        setattr: if T::HAS_SETATTR { Some(setattr::<T>) } else { None },
        getattr: Some(getattr::<T>),
        listxattr: if T::HAS_LISTXATTR { Some(listxattr::<T>) } else { None },
        get_inode_acl: if T::HAS_GET_ACL { Some(get_inode_acl::<T>) } else { None },
        set_acl: if T::HAS_GET_ACL { Some(set_acl::<T>) } else { None },
        fileattr_get: if T::HAS_FILEATTR_GET { Some(fileattr_get::<T>) } else { None },
        fileattr_set: if T::HAS_FILEATTR_GET { Some(fileattr_set::<T>) } else { None },
        ..zeroed()
    };
    pub(crate) const DIR_FILE_OPS: sys::file_operations = sys::file_operations {
        llseek: Some(sys::generic_file_llseek),
        read: Some(sys::generic_read_dir),
        iterate_shared: Some(iterate_shared::<T>),
        fsync: if T::HAS_FSYNC { Some(fsync::<T>) } else { None },
        unlocked_ioctl: if T::HAS_SHUTDOWN || T::HAS_TRIM || T::HAS_SET_LABEL { Some(ioctl::<T>) } else { None },
        ..zeroed()
    };
    pub(crate) const REG_INODE_OPS: sys::inode_operations = sys::inode_operations {
        fiemap: Some(fiemap::<T>),
        getattr: Some(getattr::<T>),
        setattr: if T::HAS_SETATTR { Some(setattr::<T>) } else { None },
        listxattr: if T::HAS_LISTXATTR { Some(listxattr::<T>) } else { None },
        get_inode_acl: if T::HAS_GET_ACL { Some(get_inode_acl::<T>) } else { None },
        set_acl: if T::HAS_GET_ACL { Some(set_acl::<T>) } else { None },
        fileattr_get: if T::HAS_FILEATTR_GET { Some(fileattr_get::<T>) } else { None },
        fileattr_set: if T::HAS_FILEATTR_GET { Some(fileattr_set::<T>) } else { None },
        ..zeroed()
    };
    pub(crate) const REG_FILE_OPS: sys::file_operations = sys::file_operations {
        open: if T::HAS_DIO_WRITE_END { Some(sys::ferrofs_shim_reg_open) } else { None },
        llseek: Some(llseek::<T>),
        read_iter: if T::HAS_READ_ITER { Some(read_iter::<T>) } else { Some(sys::generic_file_read_iter) },
        write_iter: if T::HAS_WRITE_ITER { Some(write_iter::<T>) } else { None },
        mmap: if T::HAS_WRITE_ITER { Some(mmap::<T>) } else { Some(sys::generic_file_readonly_mmap) },
        splice_read: Some(splice_read::<T>),
        splice_write: if T::HAS_WRITE_ITER { Some(sys::iter_file_splice_write) } else { None },
        fsync: if T::HAS_FSYNC { Some(fsync::<T>) } else { None },
        fallocate: if T::HAS_FALLOCATE { Some(fallocate::<T>) } else { None },
        remap_file_range: if T::HAS_REMAP_FILE_RANGE { Some(remap_file_range::<T>) } else { None },
        unlocked_ioctl: if T::HAS_SHUTDOWN || T::HAS_TRIM || T::HAS_SET_LABEL { Some(ioctl::<T>) } else { None },
        ..zeroed()
    };
    pub(crate) const VM_OPS: sys::vm_operations_struct = sys::vm_operations_struct {
        fault: Some(sys::filemap_fault),
        map_pages: Some(sys::filemap_map_pages),
        page_mkwrite: Some(page_mkwrite::<T>),
        ..zeroed()
    };
    pub(crate) const SYMLINK_INODE_OPS: sys::inode_operations = sys::inode_operations {
        get_link: Some(sys::simple_get_link),
        setattr: if T::HAS_SETATTR { Some(setattr::<T>) } else { None },
        getattr: Some(getattr::<T>),
        listxattr: if T::HAS_LISTXATTR { Some(listxattr::<T>) } else { None },
        ..zeroed()
    };
    pub(crate) const SPECIAL_INODE_OPS: sys::inode_operations = sys::inode_operations {
        setattr: if T::HAS_SETATTR { Some(setattr::<T>) } else { None },
        getattr: Some(getattr::<T>),
        listxattr: if T::HAS_LISTXATTR { Some(listxattr::<T>) } else { None },
        get_inode_acl: if T::HAS_GET_ACL { Some(get_inode_acl::<T>) } else { None },
        set_acl: if T::HAS_GET_ACL { Some(set_acl::<T>) } else { None },
        ..zeroed()
    };
    pub(crate) const AOPS: sys::address_space_operations = if T::HAS_WRITE_ITER {
        sys::address_space_operations {
            read_folio: Some(read_folio::<T>),
            readahead: Some(readahead::<T>),
            writepages: Some(writepages::<T>),
            dirty_folio: Some(sys::iomap_dirty_folio),
            release_folio: Some(sys::iomap_release_folio),
            invalidate_folio: Some(sys::iomap_invalidate_folio),
            migrate_folio: Some(sys::ferrofs_shim_migrate_folio),
            is_partially_uptodate: Some(sys::iomap_is_partially_uptodate),
            error_remove_folio: Some(sys::generic_error_remove_folio),
            // Never called (our read_iter and write_iter do direct I/O through iomap); its
            // presence is what lets open(2) and fcntl(2) accept O_DIRECT.
            direct_IO: if T::HAS_DIO_WRITE_END { Some(sys::noop_direct_IO) } else { None },
            swap_activate: if T::HAS_SWAP_ACTIVATE { Some(swap_activate::<T>) } else { None },
            ..zeroed()
        }
    } else {
        sys::address_space_operations { read_folio: Some(read_folio::<T>), readahead: Some(readahead::<T>), ..zeroed() }
    };
    const XATTR_USER: XattrHandler = XattrHandler(sys::xattr_handler {
        prefix: c"user.".as_ptr(),
        get: Some(xattr_get::<T>),
        set: Some(xattr_set::<T>),
        ..zeroed()
    });
    const XATTR_TRUSTED: XattrHandler = XattrHandler(sys::xattr_handler {
        prefix: c"trusted.".as_ptr(),
        get: Some(xattr_get::<T>),
        set: Some(xattr_set::<T>),
        ..zeroed()
    });
    const XATTR_SECURITY: XattrHandler = XattrHandler(sys::xattr_handler {
        prefix: c"security.".as_ptr(),
        get: Some(xattr_get::<T>),
        set: Some(xattr_set::<T>),
        ..zeroed()
    });
    pub(crate) const XATTR_HANDLERS: XattrHandlers = if T::HAS_XATTR_GET {
        XattrHandlers([&Self::XATTR_USER.0, &Self::XATTR_TRUSTED.0, &Self::XATTR_SECURITY.0, core::ptr::null()])
    } else {
        XattrHandlers([core::ptr::null(); 4])
    };
}

/// The `super_operations.statfs` callback.
///
/// # Safety
///
/// Only the VFS calls this, with a dentry of a mounted superblock of ours and a zeroed `kstatfs` to fill, valid for the duration of the call.
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

/// The `super_operations.put_super` callback.
///
/// # Safety
///
/// Only the VFS calls this, with a mounted superblock of ours, while it is being shut down, valid for the duration of the call.
unsafe extern "C" fn put_super<T: FileSystem>(sb: *mut sys::super_block) {
    // SAFETY: the VFS calls put_super on a mounted superblock of ours.
    T::put_super(unsafe { SuperBlock::<T>::from_raw(sb) })
}

/// The `super_operations.sync_fs` callback.
///
/// # Safety
///
/// Only the VFS calls this, with a mounted superblock of ours, valid for the duration of the call.
unsafe extern "C" fn sync_fs<T: FileSystem>(sb: *mut sys::super_block, wait: c_int) -> c_int {
    // SAFETY: mounted superblock of ours.
    to_c(T::sync_fs(unsafe { SuperBlock::<T>::from_raw(sb) }, wait != 0))
}

/// The `file_operations.fsync` callback.
///
/// # Safety
///
/// Only the VFS calls this, with an open file of ours, valid for the duration of the call.
unsafe extern "C" fn fsync<T: FileSystem>(
    file: *mut sys::file,
    start: sys::loff_t,
    end: sys::loff_t,
    datasync: c_int,
) -> c_int {
    // An open file of ours for the duration of the call (the wrapper's invariant).
    let f = OpenFile::<T>(file, PhantomData);
    to_c(T::fsync(&f, start.max(0) as u64, end.max(0) as u64, datasync != 0))
}

/// The `file_operations.unlocked_ioctl` callback of regular files and directories. The one
/// ioctl is `FS_IOC_SHUTDOWN` (the VFS handles FIEMAP, FICLONE, FIFREEZE and the others itself).
///
/// # Safety
///
/// Only the VFS calls this, with an open file of ours, valid for the duration of the call; `arg`
/// is the caller's, unchecked.
unsafe extern "C" fn ioctl<T: FileSystem>(file: *mut sys::file, cmd: c_uint, arg: core::ffi::c_ulong) -> core::ffi::c_long {
    match cmd {
        // SAFETY: the arguments of this call.
        sys::FERROFS_IOC_SHUTDOWN if T::HAS_SHUTDOWN => unsafe { ioc_shutdown::<T>(file, arg) },
        // SAFETY: the arguments of this call.
        sys::FERROFS_FITRIM if T::HAS_TRIM => unsafe { ioc_fitrim::<T>(file, arg) },
        // SAFETY: the arguments of this call.
        sys::FERROFS_IOC_GETFSLABEL | sys::FERROFS_IOC_SETFSLABEL if T::HAS_SET_LABEL => unsafe {
            ioc_label::<T>(file, cmd == sys::FERROFS_IOC_SETFSLABEL, arg)
        },
        _ => code::ENOTTY.to_errno().into(),
    }
}

/// `FITRIM`: discards the free space of a byte range of the filesystem; the range's length comes
/// back as the bytes discarded.
///
/// # Safety
///
/// `file` is an open file of ours and `arg` the user's argument, as for [`ioctl`].
unsafe fn ioc_fitrim<T: FileSystem>(file: *mut sys::file, arg: core::ffi::c_ulong) -> core::ffi::c_long {
    // An open file of ours for the duration of the call (the wrapper's invariant).
    let f = OpenFile::<T>(file, PhantomData);
    let sb = f.inode().sb();
    let mut r = sys::fstrim_range { start: 0, len: 0, minlen: 0 };
    let mut granularity = 0u64;
    // SAFETY: a mounted superblock of ours; the shim checks CAP_SYS_ADMIN and the device and
    // copies the range from the user address `arg` (copy_from_user fails on a bad address).
    let e = unsafe { sys::ferrofs_shim_fitrim_get(sb.as_ptr(), arg, &mut r, &mut granularity) };
    if e < 0 {
        return e.into();
    }
    match T::trim(sb, r.start, r.len, r.minlen.max(granularity)) {
        Ok(n) => {
            r.len = n;
            // SAFETY: copies our range back to the user address `arg` (copy_to_user).
            unsafe { sys::ferrofs_shim_fitrim_put(arg, &r) }.into()
        }
        Err(e) => e.to_errno().into(),
    }
}

/// `FS_IOC_GETFSLABEL` and `FS_IOC_SETFSLABEL` (`set`): the label as a NUL-terminated string in
/// a buffer of `FSLABEL_MAX` bytes.
///
/// # Safety
///
/// `file` is an open file of ours and `arg` the user's argument, as for [`ioctl`].
unsafe fn ioc_label<T: FileSystem>(file: *mut sys::file, set: bool, arg: core::ffi::c_ulong) -> core::ffi::c_long {
    // An open file of ours for the duration of the call (the wrapper's invariant).
    let f = OpenFile::<T>(file, PhantomData);
    let sb = f.inode().sb();
    let mut buf = [0u8; sys::FERROFS_FSLABEL_MAX as usize];
    if !set {
        let label = T::label(sb);
        for (d, s) in buf.iter_mut().zip(label.iter().take(sys::FERROFS_FSLABEL_MAX as usize - 1)) {
            *d = *s;
        }
        // SAFETY: `buf` holds FSLABEL_MAX bytes; the shim copies them to the user address `arg`.
        return unsafe { sys::ferrofs_shim_label_put(arg, buf.as_ptr().cast()) }.into();
    }
    // SAFETY: `buf` holds FSLABEL_MAX bytes; the shim checks CAP_SYS_ADMIN, copies them from the
    // user address `arg` and takes a write reference on the mount (dropped below).
    let e = unsafe { sys::ferrofs_shim_label_get(file, arg, buf.as_mut_ptr().cast()) };
    if e < 0 {
        return e.into();
    }
    let r = match buf.iter().position(|&b| b == 0) {
        Some(n) => T::set_label(sb, buf.get(..n).unwrap_or(&[])),
        None => Err(code::EINVAL),
    };
    // SAFETY: drops the write reference taken above.
    unsafe { sys::ferrofs_shim_label_done(file) };
    core::ffi::c_long::from(to_c(r))
}

/// `FS_IOC_SHUTDOWN`.
///
/// # Safety
///
/// `file` is an open file of ours and `arg` the user's argument, as for [`ioctl`].
unsafe fn ioc_shutdown<T: FileSystem>(file: *mut sys::file, arg: core::ffi::c_ulong) -> core::ffi::c_long {
    let mut flags = 0u32;
    // SAFETY: the shim checks CAP_SYS_ADMIN and copies a u32 from the user address `arg`
    // (get_user, which fails on a bad address); `flags` is ours.
    let r = unsafe { sys::ferrofs_shim_shutdown_arg(arg, &mut flags) };
    if r < 0 {
        return r.into();
    }
    // An open file of ours for the duration of the call (the wrapper's invariant).
    let f = OpenFile::<T>(file, PhantomData);
    let sb = f.inode().sb();
    // The flags of XFS_IOC_GOINGDOWN and EXT4_IOC_SHUTDOWN.
    match flags {
        // Default: everything in memory reaches the disk (the freeze syncs and commits), then
        // nothing more does. The shutdown comes after the thaw: it makes the superblock
        // read-only, and thawing a read-only superblock leaves its writers' locks taken (it
        // takes a read-only one for frozen without them), so every writer would block for ever.
        0 => {
            if let Err(e) = sb.freeze_bdev() {
                return e.to_errno().into();
            }
            sb.thaw_bdev();
            T::shutdown(sb, false);
        }
        // Log flush: what is committed now stays; dirty data does not go out first.
        1 => T::shutdown(sb, true),
        // No log flush: the disk keeps the last commit.
        2 => T::shutdown(sb, false),
        _ => return code::EINVAL.to_errno().into(),
    }
    0
}

/// The `super_operations.shutdown` callback: the block device went away.
///
/// # Safety
///
/// Only the VFS calls this (`fs_bdev_mark_dead`), with a mounted superblock of ours, valid for
/// the duration of the call.
unsafe extern "C" fn sb_shutdown<T: FileSystem>(sb: *mut sys::super_block) {
    // SAFETY: mounted superblock of ours.
    T::shutdown(unsafe { SuperBlock::<T>::from_raw(sb) }, false)
}

/// The `file_operations.fallocate` callback of regular files.
///
/// # Safety
///
/// Only the VFS calls this (`vfs_fallocate`, which checked the mode, `offset >= 0`, `len > 0` and
/// write access, and holds freeze protection), with an open regular file of ours, valid for the
/// duration of the call.
unsafe extern "C" fn fallocate<T: FileSystem>(file: *mut sys::file, mode: c_int, offset: sys::loff_t, len: sys::loff_t) -> core::ffi::c_long {
    // An open file of ours for the duration of the call (the wrapper's invariant).
    let f = OpenFile::<T>(file, PhantomData);
    to_c(T::fallocate(&f, mode as u32, offset.max(0) as u64, len.max(0) as u64)).into()
}

/// The `file_operations.remap_file_range` callback of regular files.
///
/// # Safety
///
/// Only the VFS calls this (`vfs_clone_file_range`, `vfs_dedupe_file_range_one`,
/// `vfs_copy_file_range`), with two open regular files, `file_in` of ours, valid for the duration
/// of the call.
unsafe extern "C" fn remap_file_range<T: FileSystem>(
    file_in: *mut sys::file,
    pos_in: sys::loff_t,
    file_out: *mut sys::file,
    pos_out: sys::loff_t,
    len: sys::loff_t,
    flags: c_uint,
) -> sys::loff_t {
    // SAFETY: both are open files (the VFS's contract).
    if !unsafe { sys::ferrofs_shim_same_sb(file_in, file_out) } {
        return code::EXDEV.to_errno().into();
    }
    // Both open files of ours (same superblock) for the duration of the call.
    let (a, b) = (OpenFile::<T>(file_in, PhantomData), OpenFile::<T>(file_out, PhantomData));
    match T::remap_file_range(&a, pos_in.max(0) as u64, &b, pos_out.max(0) as u64, len.max(0) as u64, flags) {
        Ok(n) => n.min(i64::MAX as u64) as sys::loff_t,
        Err(e) => e.to_errno().into(),
    }
}

/// The `file_operations.write_iter` callback of regular files.
///
/// # Safety
///
/// Only the VFS calls this, with a write request on an open regular file of ours, valid for the
/// duration of the call.
unsafe extern "C" fn write_iter<T: FileSystem>(iocb: *mut sys::kiocb, from: *mut sys::iov_iter) -> isize {
    let k = Kiocb::<T>(iocb, PhantomData);
    let mut it = IovIter(from);
    match T::write_iter(&k, &mut it) {
        Ok(n) => n as isize,
        Err(e) => e.to_errno() as isize,
    }
}

/// The `file_operations.read_iter` callback of regular files.
///
/// # Safety
///
/// Only the VFS calls this, with a read request on an open regular file of ours, valid for the
/// duration of the call.
unsafe extern "C" fn read_iter<T: FileSystem>(iocb: *mut sys::kiocb, to: *mut sys::iov_iter) -> isize {
    let k = Kiocb::<T>(iocb, PhantomData);
    if T::is_shut_down(k.inode().sb()) {
        return code::EIO.to_errno() as isize;
    }
    let mut it = IovIter(to);
    match T::read_iter(&k, &mut it) {
        Ok(n) => n as isize,
        Err(e) => e.to_errno() as isize,
    }
}

/// Whether the filesystem of an open file of ours is shut down ([`FileSystem::is_shut_down`]):
/// its file reads, new mappings and directory reads then fail with `EIO`.
///
/// # Safety
///
/// `file` is an open regular file or directory of ours, for the duration of the call.
unsafe fn shut_down<T: FileSystem>(file: *mut sys::file) -> bool {
    T::is_shut_down(OpenFile::<T>(file, PhantomData).inode().sb())
}

/// The `file_operations.splice_read` callback of regular files: the page cache's, unless the
/// filesystem is shut down (`EIO`).
///
/// # Safety
///
/// Only the VFS calls this, with an open regular file of ours and a valid position and pipe.
unsafe extern "C" fn splice_read<T: FileSystem>(
    file: *mut sys::file,
    ppos: *mut sys::loff_t,
    pipe: *mut sys::pipe_inode_info,
    len: usize,
    flags: c_uint,
) -> isize {
    // SAFETY: an open regular file of ours.
    if unsafe { shut_down::<T>(file) } {
        return code::EIO.to_errno() as isize;
    }
    // SAFETY: the VFS's arguments, passed on unchanged.
    unsafe { sys::filemap_splice_read(file, ppos, pipe, len, flags) }
}

/// The `file_operations.llseek` callback of regular files: `SEEK_HOLE`/`SEEK_DATA` through
/// iomap, the rest as every filesystem does.
///
/// # Safety
///
/// Only the VFS calls this, with an open regular file of ours.
unsafe extern "C" fn llseek<T: FileSystem>(file: *mut sys::file, offset: sys::loff_t, whence: c_int) -> sys::loff_t {
    // SAFETY: an open regular file of ours; the iomap table is static.
    unsafe { sys::ferrofs_shim_seek(file, offset, whence, &IomapTables::<T>::READ) }
}

/// The `file_operations.mmap` callback of regular files: page cache faults, and our
/// `page_mkwrite` for writes.
///
/// # Safety
///
/// Only the VFS calls this, with an open regular file of ours and the new mapping.
unsafe extern "C" fn mmap<T: FileSystem>(file: *mut sys::file, vma: *mut sys::vm_area_struct) -> c_int {
    // SAFETY: an open regular file of ours.
    if unsafe { shut_down::<T>(file) } {
        return code::EIO.to_errno();
    }
    // SAFETY: valid file and vma from the VFS; the table is static.
    unsafe { sys::ferrofs_shim_file_mmap(file, vma, &Tables::<T>::VM_OPS) }
}

/// The `vm_operations_struct.page_mkwrite` callback: a write fault on a mapped folio of ours.
///
/// # Safety
///
/// Only the memory manager calls this, for a mapping set up by [`mmap`].
unsafe extern "C" fn page_mkwrite<T: FileSystem>(vmf: *mut sys::vm_fault) -> sys::vm_fault_t {
    // SAFETY: a write fault on one of our mappings; the table is static. The shim holds off a
    // freeze and updates the times around iomap_page_mkwrite, which maps (and reserves) the
    // folio's range through our buffered-write iomap_begin.
    unsafe { sys::ferrofs_shim_page_mkwrite(vmf, &IomapTables::<T>::BUFFERED_WRITE) }
}

/// The `address_space_operations.swap_activate` callback.
///
/// # Safety
///
/// Only `swapon(2)` calls this, with the swap area being set up and the open swap file, a regular
/// file of ours (the VFS set `S_SWAPFILE`, so no write, truncate, fallocate or remap changes it
/// until `swapoff`), valid for the duration of the call.
unsafe extern "C" fn swap_activate<T: FileSystem>(
    sis: *mut sys::swap_info_struct,
    file: *mut sys::file,
    span: *mut sys::sector_t,
) -> c_int {
    // SAFETY: see above; the file's inode is one of ours, locked by swapon.
    let inode = unsafe { Inode::<T>::from_raw(sys::ferrofs_shim_file_inode(file)) };
    let mut swap = SwapFile(sis);
    match T::swap_activate(inode, &mut swap) {
        Ok((extents, pages_spanned)) => {
            // SAFETY: `span` is swapon's output argument.
            unsafe { *span = pages_spanned as sys::sector_t };
            extents.min(c_int::MAX as u32) as c_int
        }
        Err(e) => e.to_errno(),
    }
}



/// The `address_space_operations.writepages` callback.
///
/// # Safety
///
/// Only the VFS calls this, for the mapping of a regular file of ours.
unsafe extern "C" fn writepages<T: FileSystem>(mapping: *mut sys::address_space, wbc: *mut sys::writeback_control) -> c_int {
    // SAFETY: see the function's safety section.
    unsafe { super::iomap::writepages::<T>(mapping, wbc) }
}

/// The `super_operations.freeze_fs` callback.
///
/// # Safety
///
/// Only the VFS calls this, with a mounted superblock of ours, writers blocked, valid for the duration of the call.
unsafe extern "C" fn freeze_fs<T: FileSystem>(sb: *mut sys::super_block) -> c_int {
    // SAFETY: mounted superblock of ours.
    to_c(T::freeze_fs(unsafe { SuperBlock::<T>::from_raw(sb) }))
}

/// The `super_operations.unfreeze_fs` callback.
///
/// # Safety
///
/// Only the VFS calls this, with a mounted superblock of ours, valid for the duration of the call.
unsafe extern "C" fn unfreeze_fs<T: FileSystem>(sb: *mut sys::super_block) -> c_int {
    // SAFETY: mounted superblock of ours.
    to_c(T::unfreeze_fs(unsafe { SuperBlock::<T>::from_raw(sb) }))
}

/// The `super_operations.dirty_inode` callback.
///
/// # Safety
///
/// Only the VFS calls this, with an initialised inode of ours, valid for the duration of the call.
unsafe extern "C" fn dirty_inode<T: FileSystem>(inode: *mut sys::inode, _flags: c_int) {
    // SAFETY: the VFS dirties initialised inodes of ours.
    T::dirty_inode(unsafe { Inode::<T>::from_raw(inode) })
}

/// The `super_operations.evict_inode` callback.
///
/// # Safety
///
/// Only the VFS calls this, with an inode of ours with no references left, not yet cleared, valid for the duration of the call.
unsafe extern "C" fn evict_inode<T: FileSystem>(inode: *mut sys::inode) {
    // SAFETY: the inode is being evicted: no references remain; its fields are still valid. The
    // page cache goes first, then the filesystem's on-disk cleanup, then clear_inode as the VFS
    // requires of evict_inode. A bad inode (failed iget or discarded new inode) is left alone.
    unsafe {
        sys::truncate_inode_pages_final(core::ptr::addr_of_mut!((*inode).i_data));
        if !sys::is_bad_inode(inode) {
            T::evict_inode(Inode::<T>::from_raw(inode));
        }
        sys::clear_inode(inode);
    }
}

/// The `inode_operations.lookup` callback.
///
/// # Safety
///
/// Only the VFS calls this, with an initialised directory of ours (locked) and a dentry in it whose name is stable, valid for the duration of the call.
unsafe extern "C" fn lookup<T: FileSystem>(
    dir: *mut sys::inode,
    dentry: *mut sys::dentry,
    _flags: c_uint,
) -> *mut sys::dentry {
    // SAFETY: the VFS passes an initialised directory inode of ours and a valid dentry whose name
    // is stable while the parent is locked for lookup.
    let (dir, d) = unsafe { (Inode::<T>::from_raw(dir), Dentry::<T>::from_raw(dentry)) };
    let inode = match T::lookup(dir, d.name()) {
        Ok(Some(ino)) => match iget(dir.sb(), ino) {
            Ok(i) => ARef::into_raw(i).as_ptr().cast::<sys::inode>(),
            Err(e) => return e.to_ptr(),
        },
        Ok(None) => core::ptr::null_mut(),
        Err(e) => return e.to_ptr(),
    };
    // SAFETY: d_splice_alias takes over our inode reference (or NULL for a negative dentry).
    unsafe { sys::d_splice_alias(inode, dentry) }
}

/// The arguments of a directory operation as wrappers.
///
/// # Safety
///
/// `dir` must be an initialised directory inode of ours and `dentry` a dentry in it, both valid
/// and stable for the VFS call in progress (the VFS holds the directory's lock).
unsafe fn dir_args<'a, T: FileSystem>(dir: *mut sys::inode, dentry: *mut sys::dentry) -> (&'a Inode<T>, Dentry<T>) {
    // SAFETY: see the function's safety section.
    unsafe { (Inode::<T>::from_raw(dir), Dentry::<T>::from_raw(dentry)) }
}

/// The `inode_operations.create` callback.
///
/// # Safety
///
/// Only the VFS calls this, with the mount's idmap, a locked directory of ours and a negative dentry in it, valid for the duration of the call.
unsafe extern "C" fn create<T: FileSystem>(
    idmap: *mut sys::mnt_idmap,
    dir: *mut sys::inode,
    dentry: *mut sys::dentry,
    mode: sys::umode_t,
    _excl: bool,
) -> c_int {
    // SAFETY: VFS directory operation arguments.
    let (dir, d) = unsafe { dir_args::<T>(dir, dentry) };
    to_c(T::mknod(Idmap(idmap), dir, &d, mode as u32, 0))
}

/// The `inode_operations.mkdir` callback.
///
/// # Safety
///
/// Only the VFS calls this, with the mount's idmap, a locked directory of ours and a negative dentry in it, valid for the duration of the call.
unsafe extern "C" fn mkdir<T: FileSystem>(
    idmap: *mut sys::mnt_idmap,
    dir: *mut sys::inode,
    dentry: *mut sys::dentry,
    mode: sys::umode_t,
) -> c_int {
    // SAFETY: VFS directory operation arguments.
    let (dir, d) = unsafe { dir_args::<T>(dir, dentry) };
    // The VFS passes the permission bits only.
    to_c(T::mknod(Idmap(idmap), dir, &d, mode as u32 | 0o040000, 0))
}

/// The `inode_operations.mknod` callback.
///
/// # Safety
///
/// Only the VFS calls this, with the mount's idmap, a locked directory of ours and a negative dentry in it, valid for the duration of the call.
unsafe extern "C" fn mknod<T: FileSystem>(
    idmap: *mut sys::mnt_idmap,
    dir: *mut sys::inode,
    dentry: *mut sys::dentry,
    mode: sys::umode_t,
    rdev: sys::dev_t,
) -> c_int {
    // SAFETY: VFS directory operation arguments.
    let (dir, d) = unsafe { dir_args::<T>(dir, dentry) };
    // SAFETY: plain arithmetic in the shim.
    let rdev = unsafe { sys::ferrofs_shim_encode_dev(rdev) };
    to_c(T::mknod(Idmap(idmap), dir, &d, mode as u32, rdev))
}

/// The `inode_operations.symlink` callback.
///
/// # Safety
///
/// Only the VFS calls this, with the mount's idmap, a locked directory of ours, a negative dentry in it and a NUL-terminated target, valid for the duration of the call.
unsafe extern "C" fn symlink<T: FileSystem>(
    idmap: *mut sys::mnt_idmap,
    dir: *mut sys::inode,
    dentry: *mut sys::dentry,
    target: *const c_char,
) -> c_int {
    // SAFETY: VFS directory operation arguments; `target` is a NUL-terminated kernel string.
    let (dir, d, target) = unsafe { (Inode::<T>::from_raw(dir), Dentry::<T>::from_raw(dentry), CStr::from_ptr(target)) };
    to_c(T::symlink(Idmap(idmap), dir, &d, target.to_bytes()))
}

/// The `inode_operations.link` callback.
///
/// # Safety
///
/// Only the VFS calls this, with a positive dentry of ours (its inode locked), a locked directory of ours and a negative dentry in it, valid for the duration of the call.
unsafe extern "C" fn link<T: FileSystem>(old: *mut sys::dentry, dir: *mut sys::inode, dentry: *mut sys::dentry) -> c_int {
    // SAFETY: VFS arguments: `old` is a positive dentry of ours whose inode the VFS locked.
    let (dir, d, old) = unsafe { (Inode::<T>::from_raw(dir), Dentry::<T>::from_raw(dentry), Dentry::<T>::from_raw(old)) };
    let Some(inode) = old.inode() else {
        return code::ENOENT.to_errno();
    };
    to_c(T::link(inode, dir, &d))
}

/// The `inode_operations.unlink` callback.
///
/// # Safety
///
/// Only the VFS calls this, with a locked directory of ours and a positive dentry in it (its inode locked), valid for the duration of the call.
unsafe extern "C" fn unlink<T: FileSystem>(dir: *mut sys::inode, dentry: *mut sys::dentry) -> c_int {
    // SAFETY: VFS directory operation arguments.
    let (dir, d) = unsafe { dir_args::<T>(dir, dentry) };
    to_c(T::unlink(dir, &d))
}

/// The `inode_operations.rmdir` callback.
///
/// # Safety
///
/// Only the VFS calls this, with a locked directory of ours and a positive dentry of a directory in it, valid for the duration of the call.
unsafe extern "C" fn rmdir<T: FileSystem>(dir: *mut sys::inode, dentry: *mut sys::dentry) -> c_int {
    // SAFETY: VFS directory operation arguments.
    let (dir, d) = unsafe { dir_args::<T>(dir, dentry) };
    to_c(T::rmdir(dir, &d))
}

/// The `inode_operations.rename` callback.
///
/// # Safety
///
/// Only the VFS calls this, with the mount's idmap, two directories of ours locked by `lock_rename` and their dentries, valid for the duration of the call.
unsafe extern "C" fn rename<T: FileSystem>(
    idmap: *mut sys::mnt_idmap,
    old_dir: *mut sys::inode,
    old: *mut sys::dentry,
    new_dir: *mut sys::inode,
    new: *mut sys::dentry,
    flags: c_uint,
) -> c_int {
    // SAFETY: VFS rename arguments: both directories are ours and locked (lock_rename), both
    // dentries are stable for the call.
    let (od, o) = unsafe { dir_args::<T>(old_dir, old) };
    // SAFETY: as above.
    let (nd, n) = unsafe { dir_args::<T>(new_dir, new) };
    to_c(T::rename(Idmap(idmap), od, &o, nd, &n, flags))
}

/// The `inode_operations.tmpfile` callback.
///
/// # Safety
///
/// Only the VFS calls this, with the mount's idmap, a directory of ours and the `file` being opened with `O_TMPFILE`, valid for the duration of the call.
unsafe extern "C" fn tmpfile<T: FileSystem>(
    idmap: *mut sys::mnt_idmap,
    dir: *mut sys::inode,
    file: *mut sys::file,
    mode: sys::umode_t,
) -> c_int {
    // SAFETY: VFS arguments: a directory of ours and the file being opened with O_TMPFILE.
    let dir = unsafe { Inode::<T>::from_raw(dir) };
    to_c(T::tmpfile(Idmap(idmap), dir, TmpFile(file), mode as u32))
}

/// The inode of a dentry an inode operation was handed (`ENOENT` for a negative one).
///
/// # Safety
///
/// `dentry` is a dentry of ours that the VFS keeps valid, with its inode, for `'a`.
pub(super) unsafe fn dentry_inode<'a, T: FileSystem>(dentry: *mut sys::dentry) -> kernel::error::Result<&'a Inode<T>> {
    // SAFETY: see above; d_inode is NULL or a set-up inode of ours pinned by the dentry.
    let i = unsafe { sys::ferrofs_shim_d_inode(dentry) };
    if i.is_null() {
        return Err(code::ENOENT);
    }
    // SAFETY: as above.
    Ok(unsafe { Inode::from_raw(i) })
}

/// The `inode_operations.getattr` callback: the generic attributes, the `chattr` flags `statx`
/// reports, and for regular files with direct I/O its alignment.
///
/// # Safety
///
/// Only the VFS calls this, with the mount's idmap, a path to a positive dentry of ours and the
/// `kstat` to fill, valid for the duration of the call.
unsafe extern "C" fn getattr<T: FileSystem>(
    idmap: *mut sys::mnt_idmap,
    path: *const sys::path,
    stat: *mut sys::kstat,
    request_mask: u32,
    _query_flags: c_uint,
) -> c_int {
    // SAFETY: see above.
    let inode = match unsafe { dentry_inode::<T>((*path).dentry) } {
        Ok(i) => i,
        Err(e) => return e.to_errno(),
    };
    let (bsec, bnsec) = inode.btime();
    // SAFETY: as above; the shim only reads the path and the inode and fills `stat`.
    unsafe { sys::ferrofs_shim_getattr(idmap, path, stat, request_mask, inode.fs_flags(), bsec, bnsec, T::HAS_DIO_WRITE_END) }
}

/// The `inode_operations.setattr` callback.
///
/// # Safety
///
/// Only the VFS calls this, with the mount's idmap, a positive dentry of ours (its inode locked) and the attributes to change, valid for the duration of the call.
unsafe extern "C" fn setattr<T: FileSystem>(
    idmap: *mut sys::mnt_idmap,
    dentry: *mut sys::dentry,
    attr: *mut sys::iattr,
) -> c_int {
    // SAFETY: VFS setattr arguments: a positive dentry of ours, its inode locked by the VFS.
    let inode = match unsafe { dentry_inode::<T>(dentry) } {
        Ok(i) => i,
        Err(e) => return e.to_errno(),
    };
    let a = SetAttr { idmap: Idmap(idmap), dentry, attr, _p: PhantomData };
    to_c(T::setattr(inode, &a))
}

/// The `inode_operations.fileattr_get` callback.
///
/// # Safety
///
/// Only the VFS calls this, with a positive dentry of ours and a `fileattr` to fill, valid for the
/// duration of the call.
unsafe extern "C" fn fileattr_get<T: FileSystem>(dentry: *mut sys::dentry, fa: *mut sys::fileattr) -> c_int {
    // SAFETY: see above.
    let inode = match unsafe { dentry_inode::<T>(dentry) } {
        Ok(i) => i,
        Err(e) => return e.to_errno(),
    };
    match T::fileattr_get(inode) {
        Ok(flags) => {
            // SAFETY: `fa` is the caller's fileattr, valid for the call.
            unsafe { sys::ferrofs_shim_fileattr_fill(fa, flags) };
            0
        }
        Err(e) => e.to_errno(),
    }
}

/// The `inode_operations.fileattr_set` callback.
///
/// # Safety
///
/// Only the VFS calls this (`vfs_fileattr_set`, the inode locked and the change checked), with a
/// positive dentry of ours and the requested attributes, valid for the duration of the call.
unsafe extern "C" fn fileattr_set<T: FileSystem>(
    _idmap: *mut sys::mnt_idmap,
    dentry: *mut sys::dentry,
    fa: *mut sys::fileattr,
) -> c_int {
    // SAFETY: see above.
    let inode = match unsafe { dentry_inode::<T>(dentry) } {
        Ok(i) => i,
        Err(e) => return e.to_errno(),
    };
    let mut flags = 0u32;
    // SAFETY: `fa` is valid for the call; the shim only reads it.
    let r = unsafe { sys::ferrofs_shim_fileattr_flags(fa, &mut flags) };
    if r != 0 {
        return r;
    }
    to_c(T::fileattr_set(inode, flags))
}

/// The `inode_operations.get_inode_acl` callback.
///
/// # Safety
///
/// Only the VFS calls this, with an inode of ours, valid for the duration of the call.
unsafe extern "C" fn get_inode_acl<T: FileSystem>(inode: *mut sys::inode, ty: c_int, rcu: bool) -> *mut sys::posix_acl {
    // SAFETY: plain ERR_PTR encodings in the shim.
    let err = |e: kernel::error::Error| unsafe { sys::ferrofs_shim_acl_err(e.to_errno()) };
    if rcu {
        // Reading the tree sleeps: the VFS retries without RCU.
        return err(code::ECHILD);
    }
    let Some(ty) = AclType::from_c(ty) else {
        return err(code::EINVAL);
    };
    // SAFETY: an inode of ours, valid for the call.
    let inode = unsafe { Inode::<T>::from_raw(inode) };
    match T::get_acl(inode, ty) {
        Ok(Some(acl)) => acl.into_raw(),
        Ok(None) => core::ptr::null_mut(),
        Err(e) => err(e),
    }
}

/// The `inode_operations.set_acl` callback.
///
/// # Safety
///
/// Only the VFS calls this (`vfs_set_acl`, `posix_acl_chmod`), with a positive dentry of ours
/// whose inode it has locked, and an ACL it holds a reference to (or NULL), valid for the call.
unsafe extern "C" fn set_acl<T: FileSystem>(
    idmap: *mut sys::mnt_idmap,
    dentry: *mut sys::dentry,
    acl: *mut sys::posix_acl,
    ty: c_int,
) -> c_int {
    // SAFETY: see above.
    let inode = match unsafe { dentry_inode::<T>(dentry) } {
        Ok(i) => i,
        Err(e) => return e.to_errno(),
    };
    let Some(ty) = AclType::from_c(ty) else {
        return code::EINVAL.to_errno();
    };
    // The caller's reference, borrowed for the call: never released here.
    let acl = NonNull::new(acl).map(|p| core::mem::ManuallyDrop::new(PosixAcl(p)));
    to_c(T::set_acl(Idmap(idmap), inode, acl.as_deref(), ty))
}

/// The inode and full name of an xattr call.
///
/// # Safety
///
/// `h`, `inode` and `name` must be the arguments of an xattr handler call of ours.
unsafe fn xattr_args<'a, T: FileSystem>(
    h: *const sys::xattr_handler,
    inode: *mut sys::inode,
    name: *const c_char,
) -> (&'a Inode<T>, &'a [u8]) {
    // SAFETY: see above; xattr_full_name returns the prefixed name the VFS was given, a
    // NUL-terminated string that lives for the call.
    unsafe {
        let full = sys::xattr_full_name(h, name);
        (Inode::<T>::from_raw(inode), CStr::from_ptr(full).to_bytes())
    }
}

/// The `xattr_handler.get` of our handlers callback.
///
/// # Safety
///
/// Only the VFS calls this, with the handler, an inode of ours, the name without its prefix, and a kernel buffer of `size` bytes (or NULL and 0), valid for the duration of the call.
unsafe extern "C" fn xattr_get<T: FileSystem>(
    h: *const sys::xattr_handler,
    _dentry: *mut sys::dentry,
    inode: *mut sys::inode,
    name: *const c_char,
    buffer: *mut c_void,
    size: usize,
) -> c_int {
    // SAFETY: handler call arguments; `buffer` is a kernel buffer of `size` bytes (NULL with 0).
    let (inode, name) = unsafe { xattr_args::<T>(h, inode, name) };
    let out: &mut [u8] = if size == 0 || buffer.is_null() {
        &mut []
    } else {
        // SAFETY: see above.
        unsafe { core::slice::from_raw_parts_mut(buffer.cast(), size) }
    };
    match T::xattr_get(inode, name, out) {
        Ok(n) => n.min(c_int::MAX as usize) as c_int,
        Err(e) => e.to_errno(),
    }
}

/// The `xattr_handler.set` of our handlers callback.
///
/// # Safety
///
/// Only the VFS calls this, with the handler, an inode of ours (locked), the name without its prefix, and a kernel buffer of `size` bytes (NULL to remove), valid for the duration of the call.
unsafe extern "C" fn xattr_set<T: FileSystem>(
    h: *const sys::xattr_handler,
    _idmap: *mut sys::mnt_idmap,
    _dentry: *mut sys::dentry,
    inode: *mut sys::inode,
    name: *const c_char,
    value: *const c_void,
    size: usize,
    flags: c_int,
) -> c_int {
    // SAFETY: handler call arguments; the inode is locked by the VFS; `value` is NULL for a removal
    // or a kernel buffer of `size` bytes.
    let (inode, name) = unsafe { xattr_args::<T>(h, inode, name) };
    let value: Option<&[u8]> = if value.is_null() {
        None
    } else if size == 0 {
        Some(&[])
    } else {
        // SAFETY: see above.
        Some(unsafe { core::slice::from_raw_parts(value.cast(), size) })
    };
    to_c(T::xattr_set(inode, name, value, flags))
}

/// The `inode_operations.listxattr` callback.
///
/// # Safety
///
/// Only the VFS calls this, with a positive dentry of ours and a kernel buffer of `size` bytes (or NULL and 0), valid for the duration of the call.
unsafe extern "C" fn listxattr<T: FileSystem>(dentry: *mut sys::dentry, buffer: *mut c_char, size: usize) -> isize {
    // SAFETY: VFS arguments: a positive dentry of ours; `buffer` a kernel buffer of `size` bytes.
    let d = unsafe { Dentry::<T>::from_raw(dentry) };
    let Some(inode) = d.inode() else {
        return code::ENOENT.to_errno() as isize;
    };
    let out: &mut [u8] = if size == 0 || buffer.is_null() {
        &mut []
    } else {
        // SAFETY: see above.
        unsafe { core::slice::from_raw_parts_mut(buffer.cast(), size) }
    };
    match T::listxattr(inode, out) {
        Ok(n) => n as isize,
        Err(e) => e.to_errno() as isize,
    }
}

/// The `file_operations.iterate_shared` callback.
///
/// # Safety
///
/// Only the VFS calls this, with an open directory of ours (its inode locked shared) and a valid `dir_context`, valid for the duration of the call.
unsafe extern "C" fn iterate_shared<T: FileSystem>(file: *mut sys::file, ctx: *mut sys::dir_context) -> c_int {
    // SAFETY: the VFS passes an open directory file of ours and a valid context.
    unsafe {
        if shut_down::<T>(file) {
            return code::EIO.to_errno();
        }
        if !sys::ferrofs_shim_dir_emit_dots(file, ctx) {
            return 0;
        }
        let dir = Inode::<T>::from_raw((*file).f_inode);
        let mut e = DirEmitter::from_raw(ctx, file);
        to_c(T::readdir(dir, &mut e))
    }
}

/// The `inode_operations.fiemap` callback.
///
/// # Safety
///
/// Only the VFS calls this, with an initialised inode of ours and a valid fiemap request, valid for the duration of the call.
unsafe extern "C" fn fiemap<T: FileSystem>(
    inode: *mut sys::inode,
    fi: *mut sys::fiemap_extent_info,
    start: u64,
    len: u64,
) -> c_int {
    // SAFETY: valid inode and fiemap request from the VFS; iomap_fiemap walks our mappings.
    unsafe { sys::iomap_fiemap(inode, fi, start, len, &IomapTables::<T>::READ) }
}

/// The `address_space_operations.read_folio` callback.
///
/// # Safety
///
/// Only the VFS calls this, with a locked folio of a regular file of ours, valid for the duration of the call.
unsafe extern "C" fn read_folio<T: FileSystem>(_file: *mut sys::file, folio: *mut sys::folio) -> c_int {
    // iomap_read_folio() returns 0 whatever happens and the page cache then reports EIO. Map the
    // folio's range first, so that corrupt metadata reaches the reader as EUCLEAN (and I/O errors on
    // metadata as EIO) instead of every failure looking like a media error.
    let (mut pos, mut len): (sys::loff_t, usize) = (0, 0);
    // SAFETY: the VFS passes a locked folio of one of our regular files; its mapping is set.
    let inode = unsafe { sys::ferrofs_shim_folio_inode(folio, &mut pos, &mut len) };
    // SAFETY: the host of a folio of ours is an initialised inode of ours, pinned by the folio lock.
    let r = check_read(unsafe { Inode::<T>::from_raw(inode) }, pos.max(0) as u64, len as u64);
    if let Err(e) = r {
        // SAFETY: read_folio must unlock the folio it fails.
        unsafe { sys::folio_unlock(folio) };
        return e.to_errno();
    }
    // SAFETY: a locked folio of one of our regular files; iomap reads it through our mapping.
    unsafe { sys::iomap_read_folio(folio, &IomapTables::<T>::READ) }
}

/// The `address_space_operations.readahead` callback.
///
/// # Safety
///
/// Only the VFS calls this, with a readahead request on a regular file of ours, valid for the duration of the call.
unsafe extern "C" fn readahead<T: FileSystem>(rac: *mut sys::readahead_control) {
    // SAFETY: a valid readahead request on one of our regular files.
    unsafe { sys::iomap_readahead(rac, &IomapTables::<T>::READ) }
}
