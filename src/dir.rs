// SPDX-License-Identifier: GPL-2.0

//! Directories: lookup and readdir.

use crate::format::{self, FsError};
use crate::superblock::{fs_err, store, FerroFs};
use crate::vfs::fs_type::DirEmitter;
use crate::vfs::inode::Inode;
use kernel::error::Result;

pub(crate) fn lookup(dir: &Inode<FerroFs>, name: &[u8]) -> Result<Option<u64>> {
    let sb = dir.sb();
    let root = *sb.info().fs_root();
    match format::dir::lookup(&mut store(sb), &root, dir.ino(), name) {
        Ok(f) => Ok(f.map(|f| f.ino)),
        Err(FsError::NameTooLong) => Err(crate::vfs::enametoolong()),
        Err(e) => Err(fs_err(sb, e)),
    }
}

/// Emits entries in `DIR_INDEX` order from the emitter's position; positions are the indexes, so
/// a later call resumes exactly where the last one stopped.
pub(crate) fn readdir(dir: &Inode<FerroFs>, emit: &mut DirEmitter) -> Result {
    let sb = dir.sb();
    let root = *sb.info().fs_root();
    let mut st = store(sb);
    let mut name = [0u8; format::MAX_NAME_LEN + 1];
    let mut pos = emit.pos();
    loop {
        let next = format::dir::readdir_next(&mut st, &root, dir.ino(), pos, &mut name).map_err(|e| fs_err(sb, e))?;
        let Some((index, ino, ftype, len)) = next else {
            return Ok(());
        };
        let n = name.get(..len).unwrap_or(&[]);
        if !emit.emit(index, n, ino, ftype) {
            return Ok(());
        }
        pos = match index.checked_add(1) {
            Some(p) => p,
            None => return Ok(()),
        };
    }
}
