// SPDX-License-Identifier: GPL-2.0

//! File handles: `export_operations` for `name_to_handle_at`/`open_by_handle_at` and NFS.
//!
//! A handle is `FILEID_INO64_GEN`: the 64-bit inode number and the generation, three 32-bit
//! words (`struct fid`'s `i64` layout); with the parent (`FILEID_INO64_GEN_PARENT`, what NFS
//! asks for when it wants to reconnect a file to its directory) three more for the parent.
//! Decoding reads the inode with the filesystem's untrusted read (a deleted inode is `ESTALE`)
//! and refuses a generation that differs. The VFS's `exportfs_get_name` finds a name through
//! `readdir`; [`FileSystem::get_parent`] gives a directory's parent.

use super::fs_type::FileSystem;
use super::inode::{iget, iget_untrusted, Inode};
use super::sb::SuperBlock;
use crate::sys;
use core::ffi::c_int;
use core::marker::PhantomData;
use kernel::error::Result;
use kernel::types::ARef;

const FILEID_INO64_GEN: c_int = 0x81;
const FILEID_INO64_GEN_PARENT: c_int = 0x82;
const FILEID_INVALID: c_int = 0xff;
/// 32-bit words of one (inode number, generation) pair.
const PAIR: usize = 3;

/// The export operations of filesystem `T`.
pub(crate) struct ExportTables<T>(PhantomData<T>);

impl<T: FileSystem> ExportTables<T> {
    pub(crate) const OPS: sys::export_operations = sys::export_operations {
        encode_fh: Some(encode_fh::<T>),
        fh_to_dentry: Some(fh_to_dentry::<T>),
        fh_to_parent: Some(fh_to_parent::<T>),
        get_name: None,
        get_parent: Some(get_parent::<T>),
        commit_metadata: None,
        get_uuid: None,
        map_blocks: None,
        commit_blocks: None,
        flags: 0,
    };
}

fn pair_words(ino: u64, generation: u32) -> [u32; PAIR] {
    [ino as u32, (ino >> 32) as u32, generation]
}

fn words_pair(w: &[u32]) -> Option<(u64, u32)> {
    match w {
        [lo, hi, generation, ..] => Some((u64::from(*lo) | (u64::from(*hi) << 32), *generation)),
        _ => None,
    }
}

/// The `export_operations.encode_fh` callback.
///
/// # Safety
///
/// Only the VFS calls this, with an inode of ours, `fh` pointing at `*max_len` writable 32-bit
/// words, and `parent` NULL or the inode of ours it asks to be named too, all valid for the call.
unsafe extern "C" fn encode_fh<T: FileSystem>(
    inode: *mut sys::inode,
    fh: *mut u32,
    max_len: *mut c_int,
    parent: *mut sys::inode,
) -> c_int {
    let (need, ty) = if parent.is_null() { (PAIR, FILEID_INO64_GEN) } else { (2 * PAIR, FILEID_INO64_GEN_PARENT) };
    // SAFETY: see above.
    let room = unsafe { *max_len };
    // SAFETY: as above: the caller reads the length needed (or used) back from here.
    unsafe { *max_len = need as c_int };
    if room < need as c_int || fh.is_null() {
        return FILEID_INVALID;
    }
    // SAFETY: `fh` has `room >= need` words (see above).
    let out = unsafe { core::slice::from_raw_parts_mut(fh, need) };
    // SAFETY: our inode, valid for the call.
    let i = unsafe { Inode::<T>::from_raw(inode) };
    let own = pair_words(i.ino(), i.generation());
    let up = (!parent.is_null()).then(|| {
        // SAFETY: as above.
        let p = unsafe { Inode::<T>::from_raw(parent) };
        pair_words(p.ino(), p.generation())
    });
    // `need` words: the pair, then the parent's pair when there is one (element-wise: no
    // length-checked slice copy, whose panic path objtool cannot follow).
    for (d, s) in out.iter_mut().zip(own.iter().chain(up.iter().flatten())) {
        *d = *s;
    }
    ty
}

/// The inode a handle names, if it still exists with the handle's generation.
fn handle_inode<T: FileSystem>(sb: &SuperBlock<T>, ino: u64, generation: u32) -> Result<ARef<Inode<T>>> {
    let inode = iget_untrusted(sb, ino)?;
    if inode.generation() != generation {
        return Err(super::estale());
    }
    Ok(inode)
}

/// A dentry for `inode` (`d_obtain_alias` takes the reference over), or the error as a pointer.
fn obtain<T: FileSystem>(inode: Result<ARef<Inode<T>>>) -> *mut sys::dentry {
    match inode {
        // SAFETY: d_obtain_alias consumes our inode reference, also when it fails.
        Ok(i) => unsafe { sys::d_obtain_alias(ARef::into_raw(i).as_ptr().cast::<sys::inode>()) },
        Err(e) => e.to_ptr(),
    }
}

/// Decodes pair `which` (0 the file, 1 its parent) of a handle of ours; `None` for a handle
/// that is not ours or too short (the VFS answers `ESTALE`).
///
/// # Safety
///
/// `fid` points at `fh_len` readable 32-bit words.
unsafe fn decode(fid: *mut sys::fid, fh_len: c_int, fh_type: c_int, which: usize) -> Option<(u64, u32)> {
    let pairs = match fh_type {
        FILEID_INO64_GEN => 1,
        FILEID_INO64_GEN_PARENT => 2,
        _ => return None,
    };
    let len = usize::try_from(fh_len).ok()?;
    if which >= pairs || len < pairs * PAIR || fid.is_null() {
        return None;
    }
    // SAFETY: `fid` has `fh_len` words (see above).
    let w = unsafe { core::slice::from_raw_parts(fid.cast::<u32>(), len) };
    words_pair(w.get(which * PAIR..)?)
}

/// The dentry of pair `which` of a handle (see [`decode`]): NULL for a handle not ours.
///
/// # Safety
///
/// `sb` is a mounted superblock of ours and `fid` points at `fh_len` readable 32-bit words.
unsafe fn fh_to<T: FileSystem>(sb: *mut sys::super_block, fid: *mut sys::fid, fh_len: c_int, fh_type: c_int, which: usize) -> *mut sys::dentry {
    // SAFETY: see above.
    let Some((ino, generation)) = (unsafe { decode(fid, fh_len, fh_type, which) }) else {
        return core::ptr::null_mut();
    };
    // SAFETY: see above.
    obtain(handle_inode(unsafe { SuperBlock::<T>::from_raw(sb) }, ino, generation))
}

/// The `export_operations.fh_to_dentry` callback.
///
/// # Safety
///
/// Only the VFS calls this, with a superblock of ours and a handle of `fh_len` words.
unsafe extern "C" fn fh_to_dentry<T: FileSystem>(sb: *mut sys::super_block, fid: *mut sys::fid, fh_len: c_int, fh_type: c_int) -> *mut sys::dentry {
    // SAFETY: see above.
    unsafe { fh_to::<T>(sb, fid, fh_len, fh_type, 0) }
}

/// The `export_operations.fh_to_parent` callback.
///
/// # Safety
///
/// As for [`fh_to_dentry`].
unsafe extern "C" fn fh_to_parent<T: FileSystem>(sb: *mut sys::super_block, fid: *mut sys::fid, fh_len: c_int, fh_type: c_int) -> *mut sys::dentry {
    // SAFETY: see above.
    unsafe { fh_to::<T>(sb, fid, fh_len, fh_type, 1) }
}

/// The `export_operations.get_parent` callback.
///
/// # Safety
///
/// Only the VFS calls this, with a positive dentry of a directory of ours.
unsafe extern "C" fn get_parent<T: FileSystem>(child: *mut sys::dentry) -> *mut sys::dentry {
    // SAFETY: see above.
    let dir = match unsafe { super::ops::dentry_inode::<T>(child) } {
        Ok(d) => d,
        Err(e) => return e.to_ptr(),
    };
    obtain(T::get_parent(dir).and_then(|p| iget(dir.sb(), p)))
}
