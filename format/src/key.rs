//! Tree keys and item type numbers.

use super::bytes::{get_u64, get_u8, put_u64, put_u8};

/// Size of an on-disk key: objectid `u64`, type `u8`, offset `u64`.
pub const KEY_SIZE: usize = 17;

/// `INODE_ITEM`: key `(ino, 1, 0)`, value [`InodeItem`](super::items::InodeItem).
pub const INODE_ITEM: u8 = 1;
/// `ORPHAN_ITEM`: key `(ORPHAN_OBJECTID, 48, ino)`, empty value: inode `ino` has no names left
/// and is deleted when its last user is gone (or at the next read-write mount after a crash).
pub const ORPHAN_ITEM: u8 = 48;
/// The objectid of every `ORPHAN_ITEM`: below the first inode number, so no inode uses it.
pub const ORPHAN_OBJECTID: u64 = 5;
/// `INODE_REF`: key `(child ino, 12, parent dir ino)`, value: list of (index, name).
pub const INODE_REF: u8 = 12;
/// `INODE_EXTREF`: key `(child ino, 13, extref_hash(parent dir ino, name))`, value: list of
/// (parent, index, name); names that do not fit the child's `INODE_REF` item for the parent
/// (filesystems with `INCOMPAT_EXTREF` only).
pub const INODE_EXTREF: u8 = 13;
/// `XATTR_ITEM`: key `(ino, 24, name_hash(name))`, value: list of (name, value).
pub const XATTR_ITEM: u8 = 24;
/// `DIR_ENTRY`: key `(dir ino, 84, name_hash(name))`, value: list of entries.
pub const DIR_ENTRY: u8 = 84;
/// `DIR_INDEX`: key `(dir ino, 96, index >= 2)`, value: one entry.
pub const DIR_INDEX: u8 = 96;
/// `EXTENT_DATA`: key `(ino, 108, file offset)`, value [`ExtentData`](super::items::ExtentData).
pub const EXTENT_DATA: u8 = 108;
/// `SYMLINK_ITEM`: key `(ino, 120, byte offset of chunk)`, value: target bytes.
pub const SYMLINK_ITEM: u8 = 120;
/// `EXTENT_ITEM` (extent tree): key `(disk start block, 168, block count)`.
pub const EXTENT_ITEM: u8 = 168;

/// A B+tree key, ordered lexicographically by (objectid, type, offset).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Key {
    /// Inode number (fs tree) or disk block (extent tree).
    pub objectid: u64,
    /// Item type, one of the `*_ITEM`/`DIR_*` constants.
    pub ty: u8,
    /// Type-specific offset.
    pub offset: u64,
}

impl Key {
    /// The smallest key.
    pub const MIN: Key = Key { objectid: 0, ty: 0, offset: 0 };
    /// The largest key.
    pub const MAX: Key = Key { objectid: u64::MAX, ty: u8::MAX, offset: u64::MAX };

    /// Builds a key.
    pub const fn new(objectid: u64, ty: u8, offset: u64) -> Key {
        Key { objectid, ty, offset }
    }

    /// The next larger key, if any.
    pub fn successor(&self) -> Option<Key> {
        if let Some(o) = self.offset.checked_add(1) {
            return Some(Key { offset: o, ..*self });
        }
        if let Some(t) = self.ty.checked_add(1) {
            return Some(Key { ty: t, offset: 0, ..*self });
        }
        Some(Key { objectid: self.objectid.checked_add(1)?, ty: 0, offset: 0 })
    }

    /// The next smaller key, if any.
    pub fn predecessor(&self) -> Option<Key> {
        if let Some(o) = self.offset.checked_sub(1) {
            return Some(Key { offset: o, ..*self });
        }
        if let Some(t) = self.ty.checked_sub(1) {
            return Some(Key { ty: t, offset: u64::MAX, ..*self });
        }
        Some(Key { objectid: self.objectid.checked_sub(1)?, ty: u8::MAX, offset: u64::MAX })
    }

    /// Decodes a key from the first [`KEY_SIZE`] bytes at `off`.
    pub fn read(b: &[u8], off: usize) -> Option<Key> {
        Some(Key {
            objectid: get_u64(b, off)?,
            ty: get_u8(b, off.checked_add(8)?)?,
            offset: get_u64(b, off.checked_add(9)?)?,
        })
    }

    /// Encodes the key at `off`.
    pub fn write(&self, b: &mut [u8], off: usize) -> Option<()> {
        put_u64(b, off, self.objectid)?;
        put_u8(b, off.checked_add(8)?, self.ty)?;
        put_u64(b, off.checked_add(9)?, self.offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_and_roundtrip() {
        let a = Key::new(1, 2, 3);
        let b = Key::new(1, 3, 0);
        let c = Key::new(2, 0, 0);
        assert!(a < b && b < c);
        assert_eq!(a.successor(), Some(Key::new(1, 2, 4)));
        assert_eq!(Key::new(1, 2, u64::MAX).successor(), Some(Key::new(1, 3, 0)));
        assert_eq!(Key::MAX.successor(), None);
        assert_eq!(Key::MIN.predecessor(), None);
        assert_eq!(Key::new(1, 3, 0).predecessor(), Some(Key::new(1, 2, u64::MAX)));
        let mut buf = [0u8; 20];
        a.write(&mut buf, 3).unwrap();
        assert_eq!(Key::read(&buf, 3), Some(a));
        assert!(Key::read(&buf, 4).is_none());
        assert!(Key::read(&buf[..19], 2).is_some());
    }
}
