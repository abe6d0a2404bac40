// SPDX-License-Identifier: GPL-2.0

//! Inodes in the fs tree: reading, writing the `INODE_ITEM` from the VFS inode, attribute
//! changes, and deleting unlinked inodes (orphans).

use crate::format::items::{self, InodeItem, Timespec};
use crate::format::{self, FsError};
use crate::superblock::{fs_err, with_tree, FerroFs};
use crate::transaction::{Cost, Txn, TxnStore};
use crate::format::space::ReserveClass;
use crate::vfs::inode::{Attrs, InodeKind, InodeParams, SetAttr};
use crate::vfs::inode::Inode;
use crate::vfs::sb::SuperBlock;
use crate::vfs::euclean;
use kernel::error::{code, Result};
use kernel::prelude::*;
use core::sync::atomic::Ordering;

/// Items an inode attribute update changes.
pub(crate) const COST_INODE_UPDATE: Cost = Cost { items: 1, class: ReserveClass::Normal };
/// Items freed per transaction while deleting an inode (bounded, so a huge file is freed in steps).
const DELETE_BATCH: usize = 64;

/// Reads inode `ino`. `untrusted`: the number comes from a file handle, so a missing inode is a
/// deleted one (`ESTALE`), not a directory entry naming nothing (corruption).
pub(crate) fn read_inode(sb: &SuperBlock<FerroFs>, ino: u64, untrusted: bool) -> Result<InodeParams> {
    let root_dir = sb.info().root_dir;
    let r = with_tree(sb, |st, root| {
        let Some(item) = format::inode::read(st, &root, ino)? else {
            return Ok(None);
        };
        let kind = match item.mode & items::S_IFMT {
            items::S_IFDIR => InodeKind::Dir,
            items::S_IFREG => InodeKind::Reg,
            items::S_IFLNK => {
                let mut buf = KVec::from_elem(0u8, format::MAX_SYMLINK_LEN + 1, GFP_KERNEL).map_err(|_| FsError::NoSpace)?;
                let n = format::inode::read_symlink(st, &root, ino, &mut buf)?;
                let mut target = KVec::with_capacity(n + 1, GFP_KERNEL).map_err(|_| FsError::NoSpace)?;
                target.extend_from_slice(buf.get(..n).unwrap_or(&[]), GFP_KERNEL).map_err(|_| FsError::NoSpace)?;
                InodeKind::Symlink(target)
            }
            0o010000 | 0o020000 | 0o060000 | 0o140000 => InodeKind::Special(item.rdev),
            _ => return Err(FsError::corrupt(ino, "inode has an invalid mode")),
        };
        Ok(Some((kind, item)))
    })?;
    let Some((kind, item)) = r else {
        if untrusted {
            return Err(crate::vfs::estale());
        }
        // A directory entry naming a missing inode is corruption, not "no such file".
        sb.report("directory entry names a missing inode", ino, euclean());
        return Err(euclean());
    };
    if ino == root_dir && !matches!(kind, InodeKind::Dir) {
        sb.report("the root inode is not a directory", ino, euclean());
        return Err(euclean());
    }
    Ok(InodeParams {
        kind,
        attrs: Attrs {
            mode: item.mode,
            uid: item.uid,
            gid: item.gid,
            nlink: item.nlink,
            size: item.size,
            bytes: item.nbytes,
            rdev: item.rdev,
            generation: item.generation as u32,
            atime: (item.atime.sec, item.atime.nsec),
            mtime: (item.mtime.sec, item.mtime.nsec),
            ctime: (item.ctime.sec, item.ctime.nsec),
        },
        // Only defined flags get past InodeItem::parse; they all fit the kernel's 32 bits.
        flags: item.flags as u32,
        btime: (item.crtime.sec, item.crtime.nsec),
    })
}

fn ts(t: (i64, u32)) -> Timespec {
    Timespec { sec: t.0, nsec: t.1 }
}

/// Copies the VFS inode's attributes into an `INODE_ITEM` (creation time and flags untouched).
fn apply(it: &mut InodeItem, a: &Attrs) {
    it.mode = a.mode;
    it.uid = a.uid;
    it.gid = a.gid;
    it.nlink = a.nlink;
    it.size = a.size;
    it.nbytes = a.bytes;
    it.rdev = a.rdev;
    it.atime = ts(a.atime);
    it.mtime = ts(a.mtime);
    it.ctime = ts(a.ctime);
}

/// Inserts the `INODE_ITEM` of a new inode.
pub(crate) fn insert_item(st: &mut TxnStore<'_>, inode: &Inode<FerroFs>, gen: u64) -> core::result::Result<(), FsError> {
    let a = inode.attrs();
    let mut it = InodeItem { generation: gen, crtime: ts(a.ctime), ..Default::default() };
    apply(&mut it, &a);
    let mut root = st.state().roots.fs_root;
    let r = format::tree::insert(st, &mut root, &format::inode::inode_key(inode.ino()), &it.to_bytes());
    st.state().roots.fs_root = root;
    r
}

/// The attributes the `INODE_ITEM` gets: the VFS inode's, except that a regular file's size and
/// byte count are the on-disk ones (data written to the page cache and not yet in the tree is
/// not on disk; see [`crate::ordered`]).
fn disk_attrs(inode: &Inode<FerroFs>) -> Attrs {
    let mut a = inode.attrs();
    if a.mode & items::S_IFMT == items::S_IFREG {
        let d = inode.data();
        a.size = d.disk_size.load(Ordering::Acquire);
        a.bytes = d.disk_bytes.load(Ordering::Acquire);
    }
    a
}

/// Sets up the per-inode state of a regular file read from disk.
pub(crate) fn loaded(inode: &Inode<FerroFs>) {
    let a = inode.attrs();
    let d = inode.data();
    d.disk_size.store(a.size, Ordering::Release);
    d.disk_bytes.store(a.bytes, Ordering::Release);
}

/// Writes the VFS inode's attributes into its `INODE_ITEM`.
pub(crate) fn update_item(st: &mut TxnStore<'_>, inode: &Inode<FerroFs>) -> core::result::Result<(), FsError> {
    update_item_with(st, inode, |_| {})
}

/// [`update_item`], with `f` changing what the VFS inode does not hold (the flags).
fn update_item_with(st: &mut TxnStore<'_>, inode: &Inode<FerroFs>, f: impl FnOnce(&mut InodeItem)) -> core::result::Result<(), FsError> {
    let a = disk_attrs(inode);
    let ino = inode.ino();
    let mut root = st.state().roots.fs_root;
    let r = format::tree::update(st, &mut root, &format::inode::inode_key(ino), |d| {
        let mut it = InodeItem::parse(d, ino)?;
        apply(&mut it, &a);
        f(&mut it);
        it.write_to(d)
    });
    st.state().roots.fs_root = root;
    match r {
        Err(FsError::NotFound) => Err(FsError::corrupt(ino, "inode item missing on update")),
        r => r,
    }
}

/// `dirty_inode`: the VFS changed times (atime, or a time update of its own); write them.
pub(crate) fn dirty_inode(inode: &Inode<FerroFs>) {
    let sb = inode.sb();
    let Ok(mut tx) = Txn::start(sb, COST_INODE_UPDATE) else {
        // Read-only, aborted or full: an atime update is not worth an error.
        return;
    };
    let r = update_item(&mut tx.store(), inode).map_err(|e| fs_err(sb, e));
    let _ = tx.finish(r);
}

/// `evict_inode`: an inode with no links left is deleted from the tree, in bounded steps, and
/// its orphan item goes last (a crash in between leaves the orphan for the next mount).
pub(crate) fn evict_inode(inode: &Inode<FerroFs>) {
    // The page cache is gone: writes in flight finished with it (writeback waits for their
    // ordered extents), and what was reserved for dirty data that never reached the disk comes back.
    crate::ordered::wait_range(inode, 0, u64::MAX);
    let _ = crate::ordered::unreserve(inode, 0, u64::MAX / format::BLOCK_SIZE_U64);
    if inode.nlink() != 0 {
        return;
    }
    let sb = inode.sb();
    let ino = inode.ino();
    let _intwrite = sb.start_intwrite();
    // Big steps normally; on a filesystem so full that the reserve pool cannot cover a big step's
    // worst case, small ones (each frees space for the next).
    let mut small = false;
    loop {
        let n = if small { 1 } else { DELETE_BATCH as u64 };
        let cost = Cost { items: n + 1, class: ReserveClass::Unlink };
        let mut tx = match Txn::start(sb, cost) {
            Ok(tx) => tx,
            Err(e) if e == code::ENOSPC && !small => {
                small = true;
                continue;
            }
            // Read-only: the orphan item stays and the next read-write mount finishes the job.
            Err(_) => return,
        };
        let r = if small { delete_step::<1>(&mut tx.store(), ino) } else { delete_step::<DELETE_BATCH>(&mut tx.store(), ino) };
        match tx.finish(r.map_err(|e| fs_err(sb, e))) {
            Ok(true) => return,
            Ok(false) => continue,
            Err(e) => {
                pr_err!("{}: deleting inode {ino} failed: error {}\n", sb.id(), e.to_errno());
                return;
            }
        }
    }
}

/// Deletes up to `N` items of `ino`; `true` when the inode and its orphan item are gone.
fn delete_step<const N: usize>(st: &mut TxnStore<'_>, ino: u64) -> core::result::Result<bool, FsError> {
    let mut roots = st.state().roots;
    let r = format::orphan::free_inode_items::<_, N>(st, &mut roots.fs_root, &mut roots.ext_root, ino);
    st.state().roots.fs_root = roots.fs_root;
    st.state().roots.ext_root = roots.ext_root;
    let freed = r?;
    for &(start, len) in freed.ranges() {
        st.free_data(start, len)?;
    }
    if !freed.done {
        return Ok(false);
    }
    let mut root = st.state().roots.fs_root;
    let r = format::orphan::remove(st, &mut root, ino);
    st.state().roots.fs_root = root;
    match r {
        Ok(()) | Err(FsError::NotFound) => Ok(true),
        Err(e) => Err(e),
    }
}

/// Deletes the inodes left by unlinks whose last close (or a crash) came before their deletion.
pub(crate) fn reclaim_orphans(sb: &SuperBlock<FerroFs>) -> Result {
    let mut inos = KVec::new();
    with_tree(sb, |st, root| {
        format::orphan::for_each(st, &root, |ino| {
            inos.push(ino, GFP_KERNEL).map_err(|_| FsError::NoSpace)?;
            Ok(true)
        })
    })?;
    let n = inos.len();
    for ino in inos {
        // The last reference going away deletes it (nlink is 0 on disk).
        match crate::vfs::inode::iget(sb, ino) {
            Ok(inode) if inode.nlink() == 0 => drop(inode),
            Ok(_) => {
                sb.report("orphan item names a linked inode; dropping the orphan item", ino, euclean());
                let mut tx = Txn::start(sb, Cost { items: 1, class: ReserveClass::Unlink })?;
                let r = {
                    let mut st = tx.store();
                    let mut root = st.state().roots.fs_root;
                    let r = format::orphan::remove(&mut st, &mut root, ino);
                    st.state().roots.fs_root = root;
                    r.map_err(|e| fs_err(sb, e))
                };
                tx.finish(r)?;
            }
            Err(e) => return Err(e),
        }
    }
    if n > 0 {
        pr_info!("{}: deleted {n} orphaned inode(s)\n", sb.id());
    }
    Ok(())
}

/// `setattr`: mode, owner, times and the size (truncate, up or down).
pub(crate) fn setattr(inode: &Inode<FerroFs>, attr: &SetAttr<'_>) -> Result {
    // The VFS refuses most changes of immutable and append-only inodes (may_setattr); a
    // truncate through a descriptor opened before `chattr +i` is left to us, as to ext4.
    if inode.is_immutable() {
        return Err(code::EPERM);
    }
    attr.prepare()?;
    let sb = inode.sb();
    let new_size = attr.new_size();
    if let Some(size) = new_size {
        if inode.is_dir() {
            return Err(code::EISDIR);
        }
        let changed = size != inode.size();
        // Also to the same size: that frees blocks preallocated past the end.
        crate::aops::truncate(inode, size)?;
        if changed {
            inode.touch_mtime_ctime();
        }
    }
    let mut tx = Txn::start(sb, COST_INODE_UPDATE)?;
    attr.copy_to_inode();
    let r = update_item(&mut tx.store(), inode).map_err(|e| fs_err(sb, e));
    tx.finish(r)?;
    if attr.changes_mode() {
        // The access ACL's owner, group-class and other entries follow the mode (its own change,
        // through `crate::acl::set`, as ext4 and btrfs do it).
        attr.acl_chmod()?;
    }
    Ok(())
}

/// The flags `chattr` can set (`FS_IOC_SETFLAGS`); `lsattr` shows them.
const SETTABLE_FLAGS: u64 = items::INODE_FLAGS_KNOWN;

/// `FS_IOC_GETFLAGS`: the inode's flags as stored.
pub(crate) fn get_flags(inode: &Inode<FerroFs>) -> Result<u32> {
    // The flags applied to the inode when it was read or last set are the stored ones.
    Ok(inode.fs_flags())
}

/// `FS_IOC_SETFLAGS`: stores `flags` and applies them to the VFS inode, with a new ctime. Flags
/// ferrofs does not have are `EOPNOTSUPP`; `DIRSYNC` means nothing for a non-directory and is
/// dropped there, as ext4 does.
pub(crate) fn set_flags(inode: &Inode<FerroFs>, flags: u32) -> Result {
    let mut new = u64::from(flags);
    if new & !SETTABLE_FLAGS != 0 {
        return Err(crate::vfs::eopnotsupp());
    }
    if !inode.is_dir() {
        new &= !items::INODE_FLAG_DIRSYNC;
    }
    let flags = new as u32;
    let sb = inode.sb();
    let mut tx = Txn::start(sb, COST_INODE_UPDATE)?;
    inode.set_flags(flags);
    inode.touch_ctime();
    let r = update_item_with(&mut tx.store(), inode, |it| it.flags = new).map_err(|e| fs_err(sb, e));
    tx.finish(r)
}
