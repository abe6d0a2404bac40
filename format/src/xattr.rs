//! Extended attributes in `XATTR_ITEM (ino, 24, name_hash(name))` items.
//!
//! An item's value is a list of entries of the names sharing one hash:
//! name length u8, value length u16 (little-endian), name, value. Names are
//! full names with their namespace prefix (`user.x`), 1..=255 bytes. An
//! item holds at most [`MAX_ITEM_DATA`] bytes, so one value is at most
//! `MAX_ITEM_DATA - 3 - name length` bytes ([`max_value_len`]); a larger one
//! is refused with [`FsError::ValueTooBig`]. A set or remove either
//! completes or changes nothing.

use super::error::FsError;
use super::items::{name_hash, xattr_entry_lens};
use super::key::{Key, XATTR_ITEM};
use super::layout::MAX_ITEM_DATA;
use super::tree::{self, BlockStore, Root};

/// `setxattr` flag: fail with `Exists` when the attribute exists.
pub const XATTR_CREATE: u32 = 1;
/// `setxattr` flag: fail with `NotFound` when the attribute does not exist.
pub const XATTR_REPLACE: u32 = 2;
/// Longest attribute name, prefix included.
pub const MAX_XATTR_NAME: usize = 255;
/// Bytes of an entry besides its name and value.
const ENTRY_HDR: usize = 3;

/// Largest value an attribute named `name` can have.
pub fn max_value_len(name: &[u8]) -> usize {
    MAX_ITEM_DATA.saturating_sub(ENTRY_HDR + name.len())
}

fn key(ino: u64, name: &[u8]) -> Key {
    Key::new(ino, XATTR_ITEM, name_hash(name))
}

fn check_name(name: &[u8]) -> Result<(), FsError> {
    match name.len() {
        0 => Err(FsError::Invalid("empty xattr name")),
        n if n > MAX_XATTR_NAME => Err(FsError::Range),
        _ => Ok(()),
    }
}

/// One entry of an item: `(offset, total length, name, value)`.
type Entry<'a> = (usize, usize, &'a [u8], &'a [u8]);

fn entries(d: &[u8], blk: u64) -> impl Iterator<Item = Result<Entry<'_>, FsError>> {
    let mut pos = 0usize;
    core::iter::from_fn(move || {
        if pos >= d.len() {
            return None;
        }
        let bad = FsError::corrupt(blk, "malformed xattr item");
        let r = (|| {
            let (nl, vl) = xattr_entry_lens(d, pos).ok_or(bad)?;
            let name = d.get(pos + ENTRY_HDR..pos + ENTRY_HDR + nl).ok_or(bad)?;
            let value = d.get(pos + ENTRY_HDR + nl..pos + ENTRY_HDR + nl + vl).ok_or(bad)?;
            if nl == 0 {
                return Err(bad);
            }
            Ok((pos, ENTRY_HDR + nl + vl, name, value))
        })();
        match &r {
            Ok((_, len, _, _)) => pos += len,
            Err(_) => pos = d.len(),
        }
        Some(r)
    })
}

/// Names of the POSIX ACLs the kernel stores as attributes.
pub const ACL_ACCESS: &[u8] = b"system.posix_acl_access";
/// The default ACL of a directory.
pub const ACL_DEFAULT: &[u8] = b"system.posix_acl_default";
/// Version of the ACL value format (`POSIX_ACL_XATTR_VERSION`).
const ACL_VERSION: u32 = 2;
/// The ACL entry tags: USER_OBJ, USER, GROUP_OBJ, GROUP, MASK, OTHER.
const ACL_TAGS: [u16; 6] = [0x01, 0x02, 0x04, 0x08, 0x10, 0x20];

/// Whether `v` is a well-formed ACL value: a 4-byte version 2 header, then 8-byte entries
/// (tag u16, permissions u16, id u32, little-endian) with known tags and permissions within rwx.
/// (The kernel checks the entries' order and uniqueness when it decodes one.)
pub fn acl_value_ok(v: &[u8]) -> bool {
    let Some((hdr, rest)) = v.split_first_chunk::<4>() else {
        return false;
    };
    if u32::from_le_bytes(*hdr) != ACL_VERSION || rest.len() % 8 != 0 {
        return false;
    }
    rest.chunks_exact(8).all(|e| {
        let tag = u16::from_le_bytes([e[0], e[1]]);
        let perm = u16::from_le_bytes([e[2], e[3]]);
        ACL_TAGS.contains(&tag) && perm & !7 == 0
    })
}

/// Checks every entry of an item (fsck), and the values of ACL attributes.
pub fn check_item(d: &[u8], blk: u64) -> Result<usize, FsError> {
    let mut n = 0;
    for e in entries(d, blk) {
        let (_, _, name, value) = e?;
        if (name == ACL_ACCESS || name == ACL_DEFAULT) && !acl_value_ok(value) {
            return Err(FsError::corrupt(blk, "malformed POSIX ACL attribute"));
        }
        n += 1;
    }
    if n == 0 {
        return Err(FsError::corrupt(blk, "empty xattr item"));
    }
    Ok(n)
}

/// Where `name` is in its item: `(offset, entry length, value length, item length)`.
fn find<S: BlockStore>(s: &mut S, root: &Root, ino: u64, name: &[u8]) -> Result<Option<(usize, usize, usize, usize)>, FsError> {
    let Some(it) = tree::lookup(s, root, &key(ino, name))? else {
        return Ok(None);
    };
    for e in entries(it.data(), it.block()) {
        let (pos, len, n, v) = e?;
        if n == name {
            return Ok(Some((pos, len, v.len(), it.data().len())));
        }
    }
    Ok(None)
}

/// Reads attribute `name` of `ino`: `None` when absent; else its length,
/// with the value copied to `out` unless `out` is empty (a size query).
/// `Range` when `out` is not empty but too small.
pub fn get<S: BlockStore>(s: &mut S, root: &Root, ino: u64, name: &[u8], out: &mut [u8]) -> Result<Option<usize>, FsError> {
    check_name(name)?;
    let Some(it) = tree::lookup(s, root, &key(ino, name))? else {
        return Ok(None);
    };
    for e in entries(it.data(), it.block()) {
        let (_, _, n, v) = e?;
        if n == name {
            if !out.is_empty() {
                out.get_mut(..v.len()).ok_or(FsError::Range)?.copy_from_slice(v);
            }
            return Ok(Some(v.len()));
        }
    }
    Ok(None)
}

/// Sets attribute `name` of `ino` to `value` (`XATTR_CREATE`/`XATTR_REPLACE`
/// in `flags`).
pub fn set<S: BlockStore>(s: &mut S, root: &mut Root, ino: u64, name: &[u8], value: &[u8], flags: u32) -> Result<(), FsError> {
    check_name(name)?;
    if value.len() > max_value_len(name) || value.len() > u16::MAX as usize {
        return Err(FsError::ValueTooBig);
    }
    let k = key(ino, name);
    let old = find(s, root, ino, name)?;
    match old {
        Some(_) if flags & XATTR_CREATE != 0 => return Err(FsError::Exists),
        None if flags & XATTR_REPLACE != 0 => return Err(FsError::NotFound),
        _ => {}
    }
    let new_len = ENTRY_HDR + name.len() + value.len();
    let write_entry = |d: &mut [u8]| -> Result<(), FsError> {
        let e = FsError::Invalid("xattr entry out of range");
        *d.get_mut(0).ok_or(e)? = name.len() as u8;
        d.get_mut(1..3).ok_or(e)?.copy_from_slice(&(value.len() as u16).to_le_bytes());
        d.get_mut(ENTRY_HDR..ENTRY_HDR + name.len()).ok_or(e)?.copy_from_slice(name);
        d.get_mut(ENTRY_HDR + name.len()..new_len).ok_or(e)?.copy_from_slice(value);
        Ok(())
    };
    match old {
        None => match tree::lookup(s, root, &k)?.map(|it| it.data().len()) {
            None => tree::insert_with(s, root, &k, new_len, write_entry),
            Some(item_len) => {
                // A colliding name's item: append, within the item limit.
                let total = item_len.checked_add(new_len).filter(|&t| t <= MAX_ITEM_DATA).ok_or(FsError::NoSpace)?;
                tree::resize(s, root, &k, total)?;
                tree::update(s, root, &k, |d| write_entry(d.get_mut(item_len..).ok_or(FsError::Invalid("resize"))?))
            }
        },
        Some((pos, len, _, item_len)) => {
            // Replace: drop the old entry, append the new one at the end.
            let total = (item_len - len).checked_add(new_len).filter(|&t| t <= MAX_ITEM_DATA).ok_or(FsError::NoSpace)?;
            if total > item_len {
                tree::resize(s, root, &k, total)?;
            }
            tree::update(s, root, &k, |d| {
                d.copy_within(pos + len..item_len, pos);
                write_entry(d.get_mut(item_len - len..).ok_or(FsError::Invalid("replace"))?)
            })?;
            if total < item_len {
                tree::resize(s, root, &k, total)?;
            }
            Ok(())
        }
    }
}

/// Removes attribute `name` of `ino`; `NotFound` when absent.
pub fn remove<S: BlockStore>(s: &mut S, root: &mut Root, ino: u64, name: &[u8]) -> Result<(), FsError> {
    check_name(name)?;
    let (pos, len, _, item_len) = find(s, root, ino, name)?.ok_or(FsError::NotFound)?;
    let k = key(ino, name);
    if len == item_len {
        return tree::delete(s, root, &k);
    }
    tree::update(s, root, &k, |d| {
        d.copy_within(pos + len..item_len, pos);
        Ok(())
    })?;
    tree::resize(s, root, &k, item_len - len)
}

/// Lists the names of `ino`'s attributes into `out`, each followed by a
/// NUL, as `listxattr(2)` returns them; returns the bytes needed. With an
/// empty `out` only the size is computed; `Range` when `out` is too small.
pub fn list<S: BlockStore>(s: &mut S, root: &Root, ino: u64, out: &mut [u8]) -> Result<usize, FsError> {
    let mut n = 0usize;
    let size_only = out.is_empty();
    tree::for_each_in(s, root, &Key::new(ino, XATTR_ITEM, 0), &Key::new(ino, XATTR_ITEM, u64::MAX), |k, d| {
        for e in entries(d, k.offset) {
            let (_, _, name, _) = e?;
            let end = n + name.len() + 1;
            if !size_only {
                let dst = out.get_mut(n..end).ok_or(FsError::Range)?;
                dst.get_mut(..name.len()).ok_or(FsError::Range)?.copy_from_slice(name);
                *dst.last_mut().ok_or(FsError::Range)? = 0;
            }
            n = end;
        }
        Ok(true)
    })?;
    Ok(n)
}
