//! Orphans: inodes with no names left, deleted when their last user is
//! gone. An `ORPHAN_ITEM (ORPHAN_OBJECTID, ORPHAN_ITEM, ino)` is added in
//! the transaction that removes the last name (or creates an `O_TMPFILE`
//! inode) and removed in the one that deletes the inode's last item, so a
//! crash in between loses no space: the next read-write mount deletes every
//! inode that still has an orphan item.

use super::error::FsError;
use super::extent;
use super::items::ExtentData;
use super::key::{Key, EXTENT_DATA, INODE_ITEM, ORPHAN_ITEM, ORPHAN_OBJECTID};
use super::tree::{self, BlockStore, Root};

fn orphan_key(ino: u64) -> Key {
    Key::new(ORPHAN_OBJECTID, ORPHAN_ITEM, ino)
}

/// Records `ino` as an orphan (idempotent).
pub fn add<S: BlockStore>(s: &mut S, root: &mut Root, ino: u64) -> Result<(), FsError> {
    match tree::insert(s, root, &orphan_key(ino), &[]) {
        Err(FsError::Exists) => Ok(()),
        r => r,
    }
}

/// Removes `ino`'s orphan item; `NotFound` if it has none.
pub fn remove<S: BlockStore>(s: &mut S, root: &mut Root, ino: u64) -> Result<(), FsError> {
    tree::delete(s, root, &orphan_key(ino))
}

/// Whether `ino` has an orphan item.
pub fn is_orphan<S: BlockStore>(s: &mut S, root: &Root, ino: u64) -> Result<bool, FsError> {
    Ok(tree::lookup(s, root, &orphan_key(ino))?.is_some())
}

/// Calls `f(ino)` for every orphan in inode order, until `f` returns false.
pub fn for_each<S: BlockStore>(s: &mut S, root: &Root, mut f: impl FnMut(u64) -> Result<bool, FsError>) -> Result<(), FsError> {
    tree::for_each_in(s, root, &orphan_key(0), &orphan_key(u64::MAX), |k, d| {
        if !d.is_empty() {
            return Err(FsError::corrupt(k.offset, "orphan item with a value"));
        }
        f(k.offset)
    })
}

/// What one step of [`free_inode_items`] did.
pub struct Freed<const N: usize> {
    ranges: [(u64, u64); N],
    n: usize,
    /// Every item of the inode is gone (its orphan item is the caller's).
    pub done: bool,
}

impl<const N: usize> Freed<N> {
    /// Disk ranges whose last reference went away: the caller keeps them
    /// allocated (pinned) until the transaction is committed.
    pub fn ranges(&self) -> &[(u64, u64)] {
        self.ranges.get(..self.n).unwrap_or(&[])
    }
}

/// Deletes up to `N` items of inode `ino` (a huge file is deleted over
/// several transactions): every item after its `INODE_ITEM` first (file
/// extents drop their data extent's reference), the `INODE_ITEM` last, so
/// that until the end the inode can still be read and its deletion resumed.
/// The inode must have no names left (its `INODE_REF`s and `INODE_EXTREF`s are gone).
pub fn free_inode_items<S: BlockStore, const N: usize>(
    s: &mut S,
    fs_root: &mut Root,
    ext_root: &mut Root,
    ino: u64,
) -> Result<Freed<N>, FsError> {
    let mut out = Freed { ranges: [(0, 0); N], n: 0, done: false };
    let first_after = Key::new(ino, INODE_ITEM + 1, 0);
    for _ in 0..N {
        let Some(it) = tree::search_ge(s, fs_root, &first_after)? else {
            break;
        };
        let k = it.key();
        if k.objectid != ino {
            break;
        }
        let extent = if k.ty == EXTENT_DATA { Some(ExtentData::parse(it.data(), it.block())?) } else { None };
        drop(it);
        tree::delete(s, fs_root, &k)?;
        if let Some(e) = extent {
            if extent::dec_ref(s, ext_root, e.disk_start, e.disk_blocks)? {
                let slot = out.ranges.get_mut(out.n).ok_or(FsError::Invalid("freed range list full"))?;
                *slot = (e.disk_start, e.disk_blocks);
                out.n += 1;
            }
        }
        if out.n == N {
            return Ok(out);
        }
    }
    // Nothing left after the inode item: delete it.
    match tree::search_ge(s, fs_root, &first_after)? {
        Some(it) if it.key().objectid == ino => return Ok(out),
        _ => {}
    }
    match tree::delete(s, fs_root, &Key::new(ino, INODE_ITEM, 0)) {
        Ok(()) | Err(FsError::NotFound) => {}
        Err(e) => return Err(e),
    }
    out.done = true;
    Ok(out)
}
