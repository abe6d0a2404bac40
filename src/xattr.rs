// SPDX-License-Identifier: GPL-2.0

//! Extended attributes (`user.`, `trusted.`, `security.`) in `XATTR_ITEM`s. The VFS checks the
//! namespace permissions; names arrive with their prefix, values in kernel buffers.

use crate::format::space::ReserveClass;
use crate::format::{self, FsError};
use crate::inode::update_item;
use crate::superblock::{fs_err, with_tree, FerroFs};
use crate::transaction::{Cost, Txn};
use crate::vfs::inode::Inode;
use crate::vfs::sys_consts::{XATTR_CREATE, XATTR_REPLACE};
use kernel::error::{code, Error, Result};

/// The attribute's item (which may grow past a split) and the inode item.
const COST_XATTR: Cost = Cost { items: 2, class: ReserveClass::Normal };

pub(crate) fn errno(inode: &Inode<FerroFs>, e: FsError) -> Error {
    match e {
        FsError::NotFound => crate::vfs::enodata(),
        e => fs_err(inode.sb(), e),
    }
}

pub(crate) fn get(inode: &Inode<FerroFs>, name: &[u8], out: &mut [u8]) -> Result<usize> {
    let ino = inode.ino();
    let r = with_tree(inode.sb(), |st, root| match format::xattr::get(st, &root, ino, name, out) {
        Err(FsError::NotFound) => Ok(None),
        r => r,
    });
    match r {
        Ok(Some(n)) => Ok(n),
        Ok(None) => Err(crate::vfs::enodata()),
        Err(e) => Err(e),
    }
}

pub(crate) fn set(inode: &Inode<FerroFs>, name: &[u8], value: Option<&[u8]>, flags: i32) -> Result {
    if flags & !(XATTR_CREATE | XATTR_REPLACE) != 0 {
        return Err(code::EINVAL);
    }
    let sb = inode.sb();
    let ino = inode.ino();
    let mut tx = Txn::start(sb, COST_XATTR)?;
    let r = (|| {
        let mut st = tx.store();
        let mut root = st.state().roots.fs_root;
        let r = match value {
            Some(v) => format::xattr::set(&mut st, &mut root, ino, name, v, flags as u32),
            None => format::xattr::remove(&mut st, &mut root, ino, name),
        };
        st.state().roots.fs_root = root;
        r.map_err(|e| errno(inode, e))?;
        inode.touch_ctime();
        update_item(&mut st, inode).map_err(|e| errno(inode, e))
    })();
    tx.finish(r)
}

pub(crate) fn list(inode: &Inode<FerroFs>, out: &mut [u8]) -> Result<usize> {
    let ino = inode.ino();
    with_tree(inode.sb(), |st, root| format::xattr::list(st, &root, ino, out))
}
