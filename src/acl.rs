// SPDX-License-Identifier: GPL-2.0

//! POSIX ACLs, stored as the extended attributes `system.posix_acl_access` and
//! `system.posix_acl_default` in the VFS's xattr format (what ext4, XFS and btrfs store, so
//! `getfattr -m-` shows them the same way). The VFS does the rest: permission checks, validation,
//! inheritance (`crate::namei` stores a new inode's ACLs in its creating change) and the ACL
//! rewrite after `chmod` (`crate::inode::setattr`).

use crate::format::space::ReserveClass;
use crate::format::{self, FsError};
use crate::inode::update_item;
use crate::superblock::{with_tree, FerroFs};
use crate::transaction::{Cost, Txn, TxnStore};
use crate::vfs::acl::{AclType, NewAcls, PosixAcl};
use crate::vfs::inode::{Idmap, Inode};
use kernel::error::{code, Result};
use kernel::prelude::*;

/// The attribute's item (which may grow past a split) and the inode item.
const COST_SET_ACL: Cost = Cost { items: 2, class: ReserveClass::Normal };

/// The extended attribute an ACL of `ty` is stored as.
fn xattr_name(ty: AclType) -> &'static [u8] {
    match ty {
        AclType::Access => format::xattr::ACL_ACCESS,
        AclType::Default => format::xattr::ACL_DEFAULT,
    }
}

/// The inode's ACL of `ty`, decoded (`None`: it has none).
pub(crate) fn get(inode: &Inode<FerroFs>, ty: AclType) -> Result<Option<PosixAcl>> {
    let name = xattr_name(ty);
    let ino = inode.ino();
    // Read into a buffer that fits any stored value: no size-then-read race with a set.
    let max = format::xattr::max_value_len(name);
    let mut buf = KVec::from_elem(0u8, max, GFP_KERNEL)?;
    let n = with_tree(inode.sb(), |st, root| match format::xattr::get(st, &root, ino, name, &mut buf) {
        Err(FsError::NotFound) => Ok(None),
        r => r,
    })?;
    let Some(n) = n else {
        return Ok(None);
    };
    let value = buf.get(..n).ok_or(code::EINVAL)?;
    PosixAcl::from_xattr(value).map_err(|_| {
        pr_err!("{}: inode {ino}: malformed {}\n", inode.sb().id(), core::str::from_utf8(name).unwrap_or("ACL"));
        crate::vfs::euclean()
    })
}

/// Stores (`acl`) or removes the inode's ACL of `ty`. An access ACL that the mode alone says
/// is not stored; the mode it implies is set in the same change.
pub(crate) fn set(idmap: Idmap, inode: &Inode<FerroFs>, acl: Option<&PosixAcl>, ty: AclType) -> Result {
    let mut mode = inode.attrs().mode;
    let mut keep = acl;
    match (ty, acl) {
        (AclType::Access, Some(a)) => {
            let (m, needed) = inode.acl_update_mode(idmap, a)?;
            mode = m;
            if !needed {
                keep = None;
            }
        }
        (AclType::Access, None) => {}
        (AclType::Default, _) if !inode.is_dir() => {
            return if acl.is_some() { Err(code::EACCES) } else { Ok(()) };
        }
        (AclType::Default, _) => {}
    }
    let value = keep.map(PosixAcl::to_xattr).transpose()?;
    let name = xattr_name(ty);
    if value.as_ref().is_some_and(|v| v.len() > format::xattr::max_value_len(name)) {
        return Err(code::E2BIG);
    }
    let mut tx = Txn::start(inode.sb(), COST_SET_ACL)?;
    let r = (|| {
        let mut st = tx.store();
        store(&mut st, inode.ino(), ty, value.as_deref())?;
        inode.set_mode(mode);
        inode.touch_ctime();
        update_item(&mut st, inode)
    })()
    .map_err(|e| crate::xattr::errno(inode, e));
    tx.finish(r)?;
    inode.cache_acl(ty, keep);
    Ok(())
}

/// Writes (or with `None` removes, if present) the ACL value of `ty` for inode `ino` in the
/// running transaction.
fn store(st: &mut TxnStore<'_>, ino: u64, ty: AclType, value: Option<&[u8]>) -> core::result::Result<(), FsError> {
    let mut root = st.state().roots.fs_root;
    let name = xattr_name(ty);
    let r = match value {
        Some(v) => format::xattr::set(st, &mut root, ino, name, v, 0),
        None => match format::xattr::remove(st, &mut root, ino, name) {
            Err(FsError::NotFound) => Ok(()),
            r => r,
        },
    };
    st.state().roots.fs_root = root;
    r
}

/// Stores a new inode's ACLs (from `create_acls`) in its creating change.
pub(crate) fn store_new(st: &mut TxnStore<'_>, ino: u64, acls: &NewAcls) -> core::result::Result<(), FsError> {
    for (ty, v) in acls.values() {
        store(st, ino, ty, Some(v))?;
    }
    Ok(())
}
