// SPDX-License-Identifier: GPL-2.0

//! Namespace changes: create, mkdir, mknod, symlink, link, unlink, rmdir, rename, O_TMPFILE.
//!
//! Each runs as one change of the running transaction ([`Txn`]). The order inside a change puts
//! the steps that can refuse (`EEXIST`, `EMLINK`, `ENOTEMPTY`, a missing name) before the first
//! modification, so a refused change leaves nothing behind; a failure after a modification can only
//! be corruption or an I/O error, and aborts the filesystem (see `Txn::finish`).
//!
//! A directory's `i_size` is the sum of the lengths of its names; its link count is 2 plus its
//! subdirectories. A name's removal that drops an inode's last link adds an orphan item; the inode
//! is deleted when its last reference goes (`crate::inode::evict_inode`).

use crate::format::items::{self, ftype_from_mode, FT_DIR};
use crate::format::space::ReserveClass;
use crate::format::{self, FsError};
use crate::inode::{insert_item, update_item};
use crate::superblock::{fs_err, FerroFs};
use crate::transaction::{Cost, Txn, TxnStore};
use crate::vfs::acl::create_acls;
use crate::vfs::dentry::Dentry;
use crate::vfs::inode::{Idmap, Inode, InodeKind, NewInode, TmpFile};
use crate::vfs::{enotempty, sys_consts};
use kernel::error::{code, Error, Result};
use kernel::prelude::*;

/// A new name (3 items) and two inode items.
const COST_CREATE: Cost = Cost { items: 5, class: ReserveClass::Normal };
/// A symlink adds its target's chunks.
const COST_SYMLINK: Cost = Cost { items: 5 + 4, class: ReserveClass::Normal };
/// A removed name (3 items), two inode items, an orphan item.
const COST_UNLINK: Cost = Cost { items: 6, class: ReserveClass::Unlink };
/// Two names removed, two added, four inode items, an orphan, a whiteout inode.
const COST_RENAME: Cost = Cost { items: 20, class: ReserveClass::Normal };

/// A format error inside a change, as an errno (corruption reported).
fn err(inode: &Inode<FerroFs>, e: FsError) -> Error {
    fs_err(inode.sb(), e)
}

/// `dir::link` on the running transaction's fs tree; names past the room of the child's
/// `INODE_REF` item go into `INODE_EXTREF` items if the filesystem has `INCOMPAT_EXTREF` (else
/// `EMLINK`).
fn add_name(st: &mut TxnStore<'_>, dir: u64, name: &[u8], ino: u64, ftype: u8) -> core::result::Result<(), FsError> {
    let mut root = st.state().roots.fs_root;
    let extrefs = st.state().committed.extrefs();
    let r = format::dir::link(st, &mut root, dir, name, ino, ftype, extrefs);
    st.state().roots.fs_root = root;
    r.map(|_| ())
}

/// `dir::unlink`; returns the inode the name pointed to.
fn remove_name(st: &mut TxnStore<'_>, dir: u64, name: &[u8]) -> core::result::Result<u64, FsError> {
    let mut root = st.state().roots.fs_root;
    let r = format::dir::unlink(st, &mut root, dir, name);
    st.state().roots.fs_root = root;
    r.map(|f| f.ino)
}

fn add_orphan(st: &mut TxnStore<'_>, ino: u64) -> core::result::Result<(), FsError> {
    let mut root = st.state().roots.fs_root;
    let r = format::orphan::add(st, &mut root, ino);
    st.state().roots.fs_root = root;
    r
}

fn remove_orphan(st: &mut TxnStore<'_>, ino: u64) -> core::result::Result<(), FsError> {
    let mut root = st.state().roots.fs_root;
    let r = format::orphan::remove(st, &mut root, ino);
    st.state().roots.fs_root = root;
    r
}

/// A directory gained (`grow`) or lost a name of `len` bytes: size, mtime and ctime.
fn dir_changed(dir: &Inode<FerroFs>, len: usize, grow: bool) {
    let size = dir.size();
    dir.set_size(if grow { size.saturating_add(len as u64) } else { size.saturating_sub(len as u64) });
    dir.touch_mtime_ctime();
}

fn ftype_of(inode: &Inode<FerroFs>) -> u8 {
    ftype_from_mode(inode.attrs().mode).unwrap_or(0)
}

/// Whether directory `ino` has no entries.
fn is_empty_dir(st: &mut TxnStore<'_>, ino: u64) -> core::result::Result<bool, FsError> {
    let root = st.state().roots.fs_root;
    let mut name = [0u8; format::MAX_NAME_LEN + 1];
    Ok(format::dir::readdir_next(st, &root, ino, 0, &mut name)?.is_none())
}

/// Creates an inode of `kind` named `dentry` in `dir` (create, mkdir, mknod, symlink).
fn create(idmap: Idmap, dir: &Inode<FerroFs>, dentry: &Dentry<FerroFs>, mode: u32, rdev: u64, target: Option<&[u8]>) -> Result {
    let sb = dir.sb();
    let name = dentry.name();
    let ftype = ftype_from_mode(mode).ok_or(code::EINVAL)?;
    let kind = match (mode & items::S_IFMT, target) {
        (items::S_IFDIR, _) => InodeKind::Dir,
        (items::S_IFREG, _) => InodeKind::Reg,
        (items::S_IFLNK, Some(t)) => {
            let mut v = KVec::with_capacity(t.len() + 1, GFP_KERNEL)?;
            v.extend_from_slice(t, GFP_KERNEL)?;
            InodeKind::Symlink(v)
        }
        (items::S_IFLNK, None) => return Err(code::EINVAL),
        _ => InodeKind::Special(rdev),
    };
    if let Some(t) = target {
        if t.is_empty() || t.len() > format::MAX_SYMLINK_LEN {
            return Err(crate::vfs::enametoolong());
        }
    }
    // Before the transaction: it may read `dir`'s default ACL.
    let mut mode = mode;
    let acls = create_acls(dir, &mut mode)?;
    let cost = if target.is_some() { COST_SYMLINK } else { COST_CREATE };
    let cost = Cost { items: cost.items + acls.count() as u64, ..cost };
    let mut tx = Txn::start(sb, cost)?;
    let ino = match tx.alloc_ino() {
        Ok(i) => i,
        Err(e) => return tx.finish(Err(e)),
    };
    let new = match NewInode::new(idmap, dir, ino, mode, rdev, kind, tx.state().gen as u32) {
        Ok(n) => n,
        Err(e) => return tx.finish(Err(e)),
    };
    let inode = new.inode();
    if let Some(t) = target {
        inode.set_size(t.len() as u64);
    }
    let gen = tx.state().gen;
    let r = (|| {
        let mut st = tx.store();
        // The only refusals (EEXIST, EMLINK) come before any change.
        add_name(&mut st, dir.ino(), name, ino, ftype)?;
        insert_item(&mut st, inode, gen)?;
        crate::acl::store_new(&mut st, ino, &acls)?;
        if let Some(t) = target {
            let mut root = st.state().roots.fs_root;
            let r = format::inode::write_symlink(&mut st, &mut root, ino, t);
            st.state().roots.fs_root = root;
            r?;
        }
        if ftype == FT_DIR {
            dir.inc_nlink();
        }
        dir_changed(dir, name.len(), true);
        update_item(&mut st, dir)
    })()
    .map_err(|e| err(dir, e));
    tx.finish(r)?;
    new.instantiate(dentry);
    Ok(())
}

/// After a namespace change in `dirs`: commits it when one of them is `IS_DIRSYNC` (`chattr +D`
/// or `+S`, the `dirsync` or `sync` mount options), so the change is on disk when the call returns.
pub(crate) fn dirsync(dirs: &[&Inode<FerroFs>]) -> Result {
    match dirs.iter().find(|d| d.is_dirsync()) {
        Some(d) => crate::transaction::commit(d.sb()),
        None => Ok(()),
    }
}

pub(crate) fn mknod(idmap: Idmap, dir: &Inode<FerroFs>, dentry: &Dentry<FerroFs>, mode: u32, rdev: u64) -> Result {
    if mode & items::S_IFMT == items::S_IFLNK {
        return Err(code::EINVAL);
    }
    create(idmap, dir, dentry, mode, rdev, None)
}

pub(crate) fn symlink(idmap: Idmap, dir: &Inode<FerroFs>, dentry: &Dentry<FerroFs>, target: &[u8]) -> Result {
    create(idmap, dir, dentry, items::S_IFLNK | 0o777, 0, Some(target))
}

pub(crate) fn link(inode: &Inode<FerroFs>, dir: &Inode<FerroFs>, dentry: &Dentry<FerroFs>) -> Result {
    let sb = dir.sb();
    let name = dentry.name();
    let mut tx = Txn::start(sb, COST_CREATE)?;
    let r = (|| {
        let mut st = tx.store();
        add_name(&mut st, dir.ino(), name, inode.ino(), ftype_of(inode))?;
        if inode.nlink() == 0 {
            // linkat() of an O_TMPFILE file: it is not an orphan any more.
            remove_orphan(&mut st, inode.ino())?;
        }
        inode.inc_nlink();
        inode.touch_ctime();
        update_item(&mut st, inode)?;
        dir_changed(dir, name.len(), true);
        update_item(&mut st, dir)
    })()
    .map_err(|e| match e {
        FsError::TooManyLinks => code::EMLINK,
        e => err(dir, e),
    });
    tx.finish(r)?;
    dentry.instantiate(inode.to_aref());
    Ok(())
}

/// Drops one link of `inode` (a removed name); the last one makes it an orphan.
fn drop_link(st: &mut TxnStore<'_>, inode: &Inode<FerroFs>) -> core::result::Result<(), FsError> {
    if inode.is_dir() {
        inode.clear_nlink();
    } else {
        inode.drop_nlink();
    }
    inode.touch_ctime();
    if inode.nlink() == 0 {
        add_orphan(st, inode.ino())?;
    }
    update_item(st, inode)
}

/// Removes `dentry` from `dir`: unlink and rmdir.
fn remove(dir: &Inode<FerroFs>, dentry: &Dentry<FerroFs>, want_dir: bool) -> Result {
    let sb = dir.sb();
    let name = dentry.name();
    let inode = dentry.inode().ok_or(code::ENOENT)?;
    let mut tx = Txn::start(sb, COST_UNLINK)?;
    let r = (|| {
        let mut st = tx.store();
        if want_dir && !is_empty_dir(&mut st, inode.ino()).map_err(|e| err(dir, e))? {
            return Err(enotempty());
        }
        let ino = remove_name(&mut st, dir.ino(), name).map_err(|e| err(dir, e))?;
        if ino != inode.ino() {
            sb.report("directory entry and dentry disagree", dir.ino(), crate::vfs::euclean());
            return Err(crate::vfs::euclean());
        }
        drop_link(&mut st, inode).map_err(|e| err(dir, e))?;
        if want_dir {
            // The removed directory's ".." no longer links the parent.
            dir.drop_nlink();
        }
        dir_changed(dir, name.len(), false);
        update_item(&mut st, dir).map_err(|e| err(dir, e))
    })();
    tx.finish(r)
}

pub(crate) fn unlink(dir: &Inode<FerroFs>, dentry: &Dentry<FerroFs>) -> Result {
    remove(dir, dentry, false)
}

pub(crate) fn rmdir(dir: &Inode<FerroFs>, dentry: &Dentry<FerroFs>) -> Result {
    remove(dir, dentry, true)
}

/// rename(2) with `RENAME_NOREPLACE` (the VFS already refused an existing target),
/// `RENAME_EXCHANGE` and `RENAME_WHITEOUT`.
pub(crate) fn rename(
    idmap: Idmap,
    old_dir: &Inode<FerroFs>,
    old: &Dentry<FerroFs>,
    new_dir: &Inode<FerroFs>,
    new: &Dentry<FerroFs>,
    flags: u32,
) -> Result {
    let sb = old_dir.sb();
    let known = sys_consts::RENAME_NOREPLACE | sys_consts::RENAME_EXCHANGE | sys_consts::RENAME_WHITEOUT;
    if flags & !known != 0 {
        return Err(code::EINVAL);
    }
    let exchange = flags & sys_consts::RENAME_EXCHANGE != 0;
    let whiteout = flags & sys_consts::RENAME_WHITEOUT != 0;
    let src = old.inode().ok_or(code::ENOENT)?;
    let target = new.inode();
    if exchange && target.is_none() {
        return Err(code::ENOENT);
    }
    let (oname, nname) = (old.name(), new.name());
    let cross = old_dir.ino() != new_dir.ino();

    let mut tx = Txn::start(sb, COST_RENAME)?;
    // The whiteout is a new inode, made before the first change so its failure changes nothing.
    let wh = if whiteout {
        let ino = match tx.alloc_ino() {
            Ok(i) => i,
            Err(e) => return tx.finish(Err(e)),
        };
        let mode = sys_consts::S_IFCHR | sys_consts::WHITEOUT_MODE;
        match NewInode::new(idmap, old_dir, ino, mode, 0, InodeKind::Special(0), tx.state().gen as u32) {
            Ok(n) => Some(n),
            Err(e) => return tx.finish(Err(e)),
        }
    } else {
        None
    };
    let gen = tx.state().gen;
    let r = (|| -> Result {
        let mut st = tx.store();
        let e = |e| err(old_dir, e);
        if let (Some(t), false) = (target, exchange) {
            if t.is_dir() && !is_empty_dir(&mut st, t.ino()).map_err(e)? {
                return Err(enotempty());
            }
        }
        // Remove the names first (nothing can refuse after this point but corruption or I/O).
        let sino = remove_name(&mut st, old_dir.ino(), oname).map_err(e)?;
        if sino != src.ino() {
            return Err(err(old_dir, FsError::corrupt(old_dir.ino(), "directory entry and dentry disagree")));
        }
        if let Some(t) = target {
            let tino = remove_name(&mut st, new_dir.ino(), nname).map_err(e)?;
            if tino != t.ino() {
                return Err(err(old_dir, FsError::corrupt(new_dir.ino(), "directory entry and dentry disagree")));
            }
        }
        add_name(&mut st, new_dir.ino(), nname, src.ino(), ftype_of(src)).map_err(e)?;
        src.touch_ctime();
        update_item(&mut st, src).map_err(e)?;
        match (target, exchange) {
            (Some(t), true) => {
                add_name(&mut st, old_dir.ino(), oname, t.ino(), ftype_of(t)).map_err(e)?;
                t.touch_ctime();
                update_item(&mut st, t).map_err(e)?;
                // A directory moving the other way changes the parents' link counts.
                if cross && src.is_dir() != t.is_dir() {
                    if src.is_dir() {
                        old_dir.drop_nlink();
                        new_dir.inc_nlink();
                    } else {
                        new_dir.drop_nlink();
                        old_dir.inc_nlink();
                    }
                }
            }
            (Some(t), false) => {
                drop_link(&mut st, t).map_err(e)?;
                if t.is_dir() {
                    new_dir.drop_nlink();
                }
                dir_changed(new_dir, nname.len(), false);
            }
            (None, _) => {}
        }
        if !exchange {
            if cross && src.is_dir() {
                old_dir.drop_nlink();
                new_dir.inc_nlink();
            }
            dir_changed(old_dir, oname.len(), false);
            dir_changed(new_dir, nname.len(), true);
        } else {
            // Both names stay, each naming the other inode: sizes are unchanged.
            old_dir.touch_mtime_ctime();
            new_dir.touch_mtime_ctime();
        }
        if let Some(w) = &wh {
            add_name(&mut st, old_dir.ino(), oname, w.inode().ino(), items::FT_CHR).map_err(e)?;
            insert_item(&mut st, w.inode(), gen).map_err(e)?;
            dir_changed(old_dir, oname.len(), true);
        }
        update_item(&mut st, old_dir).map_err(e)?;
        if cross {
            update_item(&mut st, new_dir).map_err(e)?;
        }
        Ok(())
    })();
    tx.finish(r)?;
    if let Some(w) = wh {
        w.finish_unattached();
    }
    Ok(())
}

pub(crate) fn tmpfile(idmap: Idmap, dir: &Inode<FerroFs>, file: TmpFile, mode: u32) -> Result {
    let sb = dir.sb();
    let mut mode = mode | items::S_IFREG;
    let acls = create_acls(dir, &mut mode)?;
    let mut tx = Txn::start(sb, Cost { items: COST_CREATE.items + acls.count() as u64, ..COST_CREATE })?;
    let ino = match tx.alloc_ino() {
        Ok(i) => i,
        Err(e) => return tx.finish(Err(e)),
    };
    let new = match NewInode::new(idmap, dir, ino, mode, 0, InodeKind::Reg, tx.state().gen as u32) {
        Ok(n) => n,
        Err(e) => return tx.finish(Err(e)),
    };
    let gen = tx.state().gen;
    let r = (|| {
        let mut st = tx.store();
        // No name: the inode lives until its last close, and a crash before that frees it at the
        // next mount through the orphan item.
        new.inode().set_nlink(0);
        insert_item(&mut st, new.inode(), gen)?;
        new.inode().set_nlink(1);
        crate::acl::store_new(&mut st, ino, &acls)?;
        add_orphan(&mut st, ino)
    })()
    .map_err(|e| err(dir, e));
    tx.finish(r)?;
    new.into_tmpfile(file)
}
