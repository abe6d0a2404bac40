// SPDX-License-Identifier: GPL-2.0

//! Directories: lookup, readdir, and the parent of a directory (file handles, NFS).

use crate::format::{self, FsError};
use crate::superblock::{with_tree, FerroFs};
use crate::vfs::fs_type::DirEmitter;
use crate::vfs::inode::Inode;
use kernel::error::Result;

pub(crate) fn lookup(dir: &Inode<FerroFs>, name: &[u8]) -> Result<Option<u64>> {
    // Checked before the tree: a too-long name is the caller's error, not corruption.
    if name.len() > format::MAX_NAME_LEN {
        return Err(crate::vfs::enametoolong());
    }
    with_tree(dir.sb(), |st, root| match format::dir::lookup(st, &root, dir.ino(), name) {
        Ok(f) => Ok(f.map(|f| f.ino)),
        Err(FsError::NameTooLong) => Ok(None),
        Err(e) => Err(e),
    })
}

/// Emits entries in `DIR_INDEX` order from the emitter's position; positions are the indexes, so
/// a later call resumes exactly where the last one stopped. The tree lock is taken per entry and
/// dropped before the entry is copied to the caller (user memory may fault).
///
/// A pass over the directory ends at the last index it had when the pass began (at its first
/// name: opendir or rewinddir, then the first readdir). A name added later gets a higher index,
/// and so does every rename, even to the same directory: without the end, a program renaming
/// each name it reads (away and back, fstests generic/736) would meet each again, without end.
/// POSIX leaves it open whether names added after opendir/rewinddir are returned; as btrfs,
/// whose directory index has the same property, we return none of them.
pub(crate) fn readdir(dir: &Inode<FerroFs>, emit: &mut DirEmitter) -> Result {
    let mut name = [0u8; format::MAX_NAME_LEN + 1];
    let mut pos = emit.pos();
    let end = if pos <= format::dir::FIRST_DIR_INDEX {
        let next = with_tree(dir.sb(), |st, root| format::dir::next_index(st, &root, dir.ino()))?;
        let end = next.saturating_sub(1).max(1);
        emit.set_pass_end(end);
        end
    } else {
        // Not set: a position from an earlier open (seekdir); that pass ends at the last name.
        emit.pass_end().unwrap_or(u64::MAX)
    };
    loop {
        if pos > end {
            return Ok(());
        }
        let next = with_tree(dir.sb(), |st, root| format::dir::readdir_next(st, &root, dir.ino(), pos, &mut name))?;
        let Some((index, ino, ftype, len)) = next else {
            return Ok(());
        };
        if index > end {
            return Ok(());
        }
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

/// The parent of directory `dir` (`get_parent` of file handles): from its one `INODE_REF`; the
/// root is its own parent. A directory removed while open has none (`ENOENT`).
pub(crate) fn parent(dir: &Inode<FerroFs>) -> Result<u64> {
    let sb = dir.sb();
    let ino = dir.ino();
    if ino == sb.info().root_dir {
        return Ok(ino);
    }
    match with_tree(sb, |st, root| format::dir::parent_of(st, &root, ino))? {
        Some(p) => Ok(p),
        None if dir.nlink() == 0 => Err(kernel::error::code::ENOENT),
        None => {
            sb.report("directory without a back reference to its parent", ino, crate::vfs::euclean());
            Err(crate::vfs::euclean())
        }
    }
}
