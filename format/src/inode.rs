//! Inode, symlink and file-extent helpers on the fs tree.

use super::error::FsError;
use super::items::{ExtentData, InodeItem, INODE_ITEM_SIZE};
use super::key::{Key, EXTENT_DATA, INODE_ITEM, SYMLINK_ITEM};
use super::layout::{MAX_SYMLINK_LEN, SYMLINK_CHUNK};
use super::tree::{self, BlockStore, Root};

/// Key of inode `ino`'s `INODE_ITEM`.
pub fn inode_key(ino: u64) -> Key {
    Key::new(ino, INODE_ITEM, 0)
}

/// Reads inode `ino`; `Ok(None)` if it does not exist.
pub fn read<S: BlockStore>(s: &mut S, root: &Root, ino: u64) -> Result<Option<InodeItem>, FsError> {
    match tree::lookup(s, root, &inode_key(ino))? {
        None => Ok(None),
        Some(it) => Ok(Some(InodeItem::parse(it.data(), it.block())?)),
    }
}

/// Creates or overwrites inode `ino`.
pub fn write<S: BlockStore>(s: &mut S, root: &mut Root, ino: u64, inode: &InodeItem) -> Result<(), FsError> {
    let b: [u8; INODE_ITEM_SIZE] = inode.to_bytes();
    tree::upsert(s, root, &inode_key(ino), &b)
}

/// Stores a symlink target for `ino` in `SYMLINK_ITEM` chunks.
pub fn write_symlink<S: BlockStore>(s: &mut S, root: &mut Root, ino: u64, target: &[u8]) -> Result<(), FsError> {
    if target.is_empty() || target.len() > MAX_SYMLINK_LEN {
        return Err(FsError::NameTooLong);
    }
    for (i, chunk) in target.chunks(SYMLINK_CHUNK).enumerate() {
        let off = (i * SYMLINK_CHUNK) as u64;
        tree::insert(s, root, &Key::new(ino, SYMLINK_ITEM, off), chunk)?;
    }
    Ok(())
}

/// Reads the symlink target of `ino` into `out` (>= 4095 bytes for any
/// target); returns its length.
pub fn read_symlink<S: BlockStore>(s: &mut S, root: &Root, ino: u64, out: &mut [u8]) -> Result<usize, FsError> {
    let mut len = 0usize;
    let lo = Key::new(ino, SYMLINK_ITEM, 0);
    let hi = Key::new(ino, SYMLINK_ITEM, u64::MAX);
    tree::for_each_in(s, root, &lo, &hi, |k, d| {
        if k.offset != len as u64 || d.is_empty() || len + d.len() > MAX_SYMLINK_LEN {
            return Err(FsError::corrupt(ino, "symlink chunks not contiguous"));
        }
        out.get_mut(len..len + d.len()).ok_or(FsError::Invalid("symlink buffer too small"))?.copy_from_slice(d);
        len += d.len();
        Ok(true)
    })?;
    if len == 0 {
        return Err(FsError::corrupt(ino, "symlink has no target"));
    }
    Ok(len)
}

/// The file extent of `ino` covering byte `pos`, as `(file offset, extent)`;
/// `None` means a hole.
pub fn extent_at<S: BlockStore>(s: &mut S, root: &Root, ino: u64, pos: u64) -> Result<Option<(u64, ExtentData)>, FsError> {
    let it = match tree::search_le(s, root, &Key::new(ino, EXTENT_DATA, pos))? {
        Some(it) if it.key().objectid == ino && it.key().ty == EXTENT_DATA => it,
        _ => return Ok(None),
    };
    let e = ExtentData::parse(it.data(), it.block())?;
    let start = it.key().offset;
    if start.checked_add(e.len).is_some_and(|end| pos < end) {
        Ok(Some((start, e)))
    } else {
        Ok(None)
    }
}

/// The first file extent of `ino` starting at or after byte `pos`
/// (for SEEK_DATA and for iterating a file's extents).
pub fn next_extent<S: BlockStore>(s: &mut S, root: &Root, ino: u64, pos: u64) -> Result<Option<(u64, ExtentData)>, FsError> {
    match tree::search_ge(s, root, &Key::new(ino, EXTENT_DATA, pos))? {
        Some(it) if it.key().objectid == ino && it.key().ty == EXTENT_DATA => {
            Ok(Some((it.key().offset, ExtentData::parse(it.data(), it.block())?)))
        }
        _ => Ok(None),
    }
}
