//! Directory operations on the fs tree: lookup, link, unlink, readdir.
//!
//! A name lives in three items:
//! * `DIR_ENTRY (dir, name_hash(name))`: list of [`DirEntry`] (names whose
//!   hash collides share the item);
//! * `DIR_INDEX (dir, index)`: one [`DirIndex`], readdir order, index >= 2;
//! * `INODE_REF (child, dir)`: list of [`InodeRef`] (index, name); or, when
//!   that item is full and the filesystem has `INCOMPAT_EXTREF`,
//!   `INODE_EXTREF (child, extref_hash(dir, name))`: list of [`InodeExtref`]
//!   (dir, index, name).

use super::error::FsError;
use super::items::{check_name, extref_hash, name_hash, DirEntry, DirIndex, InodeExtref, InodeRef};
use super::key::{Key, DIR_ENTRY, DIR_INDEX, INODE_EXTREF, INODE_REF};
use super::layout::MAX_ITEM_DATA;
use super::tree::{self, BlockStore, Root};

/// First `DIR_INDEX` offset (0 and 1 are `.` and `..` in readdir).
pub const FIRST_DIR_INDEX: u64 = 2;

/// Result of a name lookup.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Found {
    /// Child inode.
    pub ino: u64,
    /// File type.
    pub ftype: u8,
    /// Index of the name's `DIR_INDEX` item.
    pub index: u64,
}

/// Looks `name` up in directory `dir`.
pub fn lookup<S: BlockStore>(s: &mut S, root: &Root, dir: u64, name: &[u8]) -> Result<Option<Found>, FsError> {
    check_name(name)?;
    let it = match tree::lookup(s, root, &Key::new(dir, DIR_ENTRY, name_hash(name)))? {
        None => return Ok(None),
        Some(it) => it,
    };
    for e in DirEntry::iter(it.data(), it.block()) {
        let (_, e) = e?;
        if e.name == name {
            return Ok(Some(Found { ino: e.ino, ftype: e.ftype, index: e.index }));
        }
    }
    Ok(None)
}

/// The index the next name added to `dir` gets.
pub fn next_index<S: BlockStore>(s: &mut S, root: &Root, dir: u64) -> Result<u64, FsError> {
    match tree::search_le(s, root, &Key::new(dir, DIR_INDEX, u64::MAX))? {
        Some(it) if it.key().objectid == dir && it.key().ty == DIR_INDEX => {
            Ok(it.key().offset.checked_add(1).ok_or(FsError::TooBig)?.max(FIRST_DIR_INDEX))
        }
        _ => Ok(FIRST_DIR_INDEX),
    }
}

/// Appends `len` bytes written by `f` to item `key`, creating it if absent.
fn append<S: BlockStore>(s: &mut S, root: &mut Root, key: &Key, len: usize, f: impl FnOnce(&mut [u8]) -> Result<(), FsError>) -> Result<(), FsError> {
    let old = match tree::lookup(s, root, key)? {
        Some(it) => it.data().len(),
        None => {
            return tree::insert_with(s, root, key, len, f);
        }
    };
    let new = old.checked_add(len).ok_or(FsError::TooBig)?;
    tree::resize(s, root, key, new)?;
    tree::update(s, root, key, |d| f(d.get_mut(old..).ok_or(FsError::Invalid("append out of range"))?))
}

/// Removes bytes `pos..pos+len` from item `key`, deleting it when empty.
fn cut<S: BlockStore>(s: &mut S, root: &mut Root, key: &Key, pos: usize, len: usize) -> Result<(), FsError> {
    let old = tree::lookup(s, root, key)?.ok_or(FsError::NotFound)?.data().len();
    let end = pos.checked_add(len).filter(|&e| e <= old).ok_or(FsError::Invalid("cut out of range"))?;
    if len == old {
        return tree::delete(s, root, key);
    }
    tree::update(s, root, key, |d| {
        d.copy_within(end.., pos);
        Ok(())
    })?;
    tree::resize(s, root, key, old - len)
}

/// Adds `name` -> `child` to directory `dir`; returns the new index.
///
/// The back reference goes into the child's `INODE_REF` item for `dir`
/// while it stays within [`MAX_ITEM_DATA`]; after that (many hard links of
/// one inode in one directory) into the `INODE_EXTREF` item of
/// `extref_hash(dir, name)` if `extrefs` (the filesystem has
/// `INCOMPAT_EXTREF`, [`DiskSuper::extrefs`](super::superblock::DiskSuper::extrefs)),
/// else the link fails with [`FsError::TooManyLinks`]. It fails with
/// `TooManyLinks` too when that `INODE_EXTREF` item would overflow, and
/// with [`FsError::NoSpace`] when the names sharing one `DIR_ENTRY` hash
/// would (both practically impossible); nothing is changed then.
/// Does not touch inode items (the caller updates nlink, sizes, times).
pub fn link<S: BlockStore>(s: &mut S, root: &mut Root, dir: u64, name: &[u8], child: u64, ftype: u8, extrefs: bool) -> Result<u64, FsError> {
    check_name(name)?;
    if lookup(s, root, dir, name)?.is_some() {
        return Err(FsError::Exists);
    }
    let index = next_index(s, root, dir)?;
    let de = DirEntry { ino: child, index, ftype, name };
    let r = InodeRef { index, name };
    let x = InodeExtref { dir, index, name };
    // check that every growing item stays within MAX_ITEM_DATA before
    // changing anything
    let dkey = Key::new(dir, DIR_ENTRY, name_hash(name));
    let rkey = Key::new(child, INODE_REF, dir);
    let xkey = Key::new(child, INODE_EXTREF, extref_hash(dir, name));
    let cur_len = |s: &mut S, k: &Key| -> Result<usize, FsError> { Ok(tree::lookup(s, root, k)?.map_or(0, |it| it.data().len())) };
    if cur_len(s, &dkey)? + de.len() > MAX_ITEM_DATA {
        return Err(FsError::NoSpace);
    }
    let in_ref = cur_len(s, &rkey)? + r.len() <= MAX_ITEM_DATA;
    if !in_ref && (!extrefs || cur_len(s, &xkey)? + x.len() > MAX_ITEM_DATA) {
        return Err(FsError::TooManyLinks);
    }
    append(s, root, &dkey, de.len(), |d| de.write_to(d))?;
    let di = DirIndex { ino: child, ftype, name };
    tree::insert_with(s, root, &Key::new(dir, DIR_INDEX, index), di.len(), |d| di.write_to(d))?;
    if in_ref {
        append(s, root, &rkey, r.len(), |d| r.write_to(d))?;
    } else {
        append(s, root, &xkey, x.len(), |d| x.write_to(d))?;
    }
    Ok(index)
}

/// Where the back reference of `dir`'s name `name` (index `index`) to
/// `child` lives: `(item key, byte position, length)`, from the child's
/// `INODE_REF` item for `dir` or else its `INODE_EXTREF` item for the name.
fn find_backref<S: BlockStore>(s: &mut S, root: &Root, child: u64, dir: u64, index: u64, name: &[u8]) -> Result<Option<(Key, usize, usize)>, FsError> {
    let rkey = Key::new(child, INODE_REF, dir);
    if let Some(it) = tree::lookup(s, root, &rkey)? {
        for e in InodeRef::iter(it.data(), it.block()) {
            let (p, e) = e?;
            if e.index == index && e.name == name {
                return Ok(Some((rkey, p, e.len())));
            }
        }
    }
    let xkey = Key::new(child, INODE_EXTREF, extref_hash(dir, name));
    if let Some(it) = tree::lookup(s, root, &xkey)? {
        for e in InodeExtref::iter(it.data(), it.block()) {
            let (p, e) = e?;
            if e.dir == dir && e.index == index && e.name == name {
                return Ok(Some((xkey, p, e.len())));
            }
        }
    }
    Ok(None)
}

/// Removes `name` from directory `dir`; returns what it pointed to.
/// The name's back reference is taken from the child's `INODE_REF` item
/// or else its `INODE_EXTREF` item; if neither has it the tree is corrupt.
pub fn unlink<S: BlockStore>(s: &mut S, root: &mut Root, dir: u64, name: &[u8]) -> Result<Found, FsError> {
    check_name(name)?;
    let dkey = Key::new(dir, DIR_ENTRY, name_hash(name));
    let (found, pos, len, blk) = {
        let it = tree::lookup(s, root, &dkey)?.ok_or(FsError::NotFound)?;
        let mut hit = None;
        for e in DirEntry::iter(it.data(), it.block()) {
            let (p, e) = e?;
            if e.name == name {
                hit = Some((Found { ino: e.ino, ftype: e.ftype, index: e.index }, p, e.len(), it.block()));
                break;
            }
        }
        hit.ok_or(FsError::NotFound)?
    };
    // find the back reference before changing anything
    let (bkey, bpos, blen) = find_backref(s, root, found.ino, dir, found.index, name)?.ok_or(FsError::corrupt(blk, "directory entry without inode ref"))?;
    cut(s, root, &dkey, pos, len)?;
    tree::delete(s, root, &Key::new(dir, DIR_INDEX, found.index))?;
    cut(s, root, &bkey, bpos, blen)?;
    Ok(found)
}

/// Readdir step: the first entry of `dir` with index `>= pos`, as
/// `(index, ino, ftype)`; the name is copied into `name_out` (>= 255 bytes)
/// and its length returned last.
pub fn readdir_next<S: BlockStore>(s: &mut S, root: &Root, dir: u64, pos: u64, name_out: &mut [u8]) -> Result<Option<(u64, u64, u8, usize)>, FsError> {
    let it = match tree::search_ge(s, root, &Key::new(dir, DIR_INDEX, pos.max(FIRST_DIR_INDEX)))? {
        Some(it) if it.key().objectid == dir && it.key().ty == DIR_INDEX => it,
        _ => return Ok(None),
    };
    let di = DirIndex::parse(it.data(), it.block())?;
    let n = di.name.len();
    name_out.get_mut(..n).ok_or(FsError::Invalid("name buffer too small"))?.copy_from_slice(di.name);
    Ok(Some((it.key().offset, di.ino, di.ftype, n)))
}

/// Parent directory of directory `ino` (from its single `INODE_REF`; a
/// directory has one name, which never overflows into an `INODE_EXTREF`);
/// the root directory is its own parent.
pub fn parent_of<S: BlockStore>(s: &mut S, root: &Root, ino: u64) -> Result<Option<u64>, FsError> {
    match tree::search_ge(s, root, &Key::new(ino, INODE_REF, 0))? {
        Some(it) if it.key().objectid == ino && it.key().ty == INODE_REF => Ok(Some(it.key().offset)),
        _ => Ok(None),
    }
}
