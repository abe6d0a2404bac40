// SPDX-License-Identifier: GPL-2.0

//! Reading inodes from the fs tree.

use crate::format::{self, items};
use crate::superblock::{fs_err, store, FerroFs};
use crate::vfs::inode::{InodeKind, InodeParams};
use crate::vfs::sb::SuperBlock;
use crate::vfs::euclean;
use kernel::error::Result;
use kernel::prelude::*;

pub(crate) fn read_inode(sb: &SuperBlock<FerroFs>, ino: u64) -> Result<InodeParams<()>> {
    let root = *sb.info().fs_root();
    let mut st = store(sb);
    let item = match format::inode::read(&mut st, &root, ino) {
        Ok(Some(i)) => i,
        Ok(None) => {
            // A directory entry naming a missing inode is corruption, not "no such file".
            sb.report("directory entry names a missing inode", ino, euclean());
            return Err(euclean());
        }
        Err(e) => return Err(fs_err(sb, e)),
    };
    let kind = match item.mode & items::S_IFMT {
        items::S_IFDIR => InodeKind::Dir,
        items::S_IFREG => InodeKind::Reg,
        items::S_IFLNK => {
            let mut buf = KVec::from_elem(0u8, format::MAX_SYMLINK_LEN + 1, GFP_KERNEL)?;
            let n = format::inode::read_symlink(&mut st, &root, ino, &mut buf).map_err(|e| fs_err(sb, e))?;
            let mut target = KVec::with_capacity(n + 1, GFP_KERNEL)?;
            target.extend_from_slice(buf.get(..n).unwrap_or(&[]), GFP_KERNEL)?;
            InodeKind::Symlink(target)
        }
        0o010000 | 0o020000 | 0o060000 | 0o140000 => InodeKind::Special(item.rdev),
        _ => {
            sb.report("inode has an invalid mode", ino, euclean());
            return Err(euclean());
        }
    };
    if ino == sb.info().sb.root_dir && !matches!(kind, InodeKind::Dir) {
        sb.report("the root inode is not a directory", ino, euclean());
        return Err(euclean());
    }
    Ok(InodeParams {
        kind,
        mode: item.mode,
        uid: item.uid,
        gid: item.gid,
        nlink: item.nlink,
        size: item.size,
        bytes: item.nbytes,
        generation: item.generation as u32,
        atime: (item.atime.sec, item.atime.nsec),
        mtime: (item.mtime.sec, item.mtime.nsec),
        ctime: (item.ctime.sec, item.ctime.nsec),
        data: (),
    })
}
