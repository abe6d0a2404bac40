// SPDX-License-Identifier: GPL-2.0

//! Reflink and dedupe: `remap_file_range` (`FICLONE`, `FICLONERANGE`, `FIDEDUPERANGE`, and the
//! clone `copy_file_range` tries first).
//!
//! A clone copies the source range's file extent items into the destination range, each copy
//! taking a reference on the disk extent it points to: the data is shared, nothing is copied on
//! disk. Sharing is safe because every write of written data is copy-on-write: the first write
//! to a shared range, buffered or direct, goes to new blocks and drops the writer's reference,
//! leaving the other file's data where it was. The one exception to copy-on-write, writes in
//! place into preallocated blocks, never meets a shared block: preallocated space is not
//! shared (a clone leaves a hole where the source is preallocated; both read as zeros).
//!
//! Locks: both inode locks, then both invalidate locks (`lock_two`), for the whole operation;
//! the VFS's preparation writes both ranges back and waits for direct I/O, and the ordered
//! extents of both ranges are waited for, so neither range changes under the copy.

use crate::aops;
use crate::format::items::EXTENT_PREALLOC;
use crate::format::items::ExtentData;
use crate::format::space::ReserveClass;
use crate::format::{self, fileext};
use crate::ordered;
use crate::superblock::{fs_err, with_tree, FerroFs};
use crate::vfs::sys_consts as sc;
use crate::transaction::{Cost, Txn};
use crate::vfs::file::OpenFile;
use crate::vfs::inode::Inode;
use core::sync::atomic::Ordering;
use kernel::error::{code, Result};
use kernel::prelude::*;

const BS: u64 = format::BLOCK_SIZE_U64;

const DEDUP: u32 = sc::REMAP_FILE_DEDUP;
const CAN_SHORTEN: u32 = sc::REMAP_FILE_CAN_SHORTEN;
const ADVISORY: u32 = sc::REMAP_FILE_ADVISORY;

/// Source items copied per transaction (each copy changes 2 items).
const CLONE_BATCH: usize = 64;

/// A clone needs metadata space only (the data is shared): it may use half the reserve pool, so
/// it works on a full filesystem (fstests generic/546), as on XFS and btrfs.
const CLASS: ReserveClass = ReserveClass::MetadataOnly;

/// `remap_file_range`: shares `len` bytes (0: to the end of `src`) of `src` at `pos_in` into
/// `dst` at `pos_out`; with `REMAP_FILE_DEDUP` only where the two ranges are already equal.
/// Returns the bytes remapped (fewer with `REMAP_FILE_CAN_SHORTEN`).
pub(crate) fn remap_file_range(src: &OpenFile<'_, FerroFs>, pos_in: u64, dst: &OpenFile<'_, FerroFs>, pos_out: u64, len: u64, flags: u32) -> Result<u64> {
    if flags & !(DEDUP | CAN_SHORTEN | ADVISORY) != 0 {
        return Err(code::EINVAL);
    }
    let (si, di) = (src.inode(), dst.inode());
    let locks = si.lock_two(di);
    let mut len = len;
    // The whole source is written back first, not only the range (the VFS's prep below): dirty
    // data beside the range then goes to disk in one extent with it rather than being split at
    // the range's edges (btrfs likewise allocates a whole delayed-allocation range at once).
    // FIEMAP reports sharing per extent, as btrfs does; fstests probes for that
    // (`_require_scratch_explicit_shared_extents`), and a split would answer the probe wrongly.
    si.write_and_wait_range(0, i64::MAX as u64)?;
    // Alignment, limits and overlap checked, both ranges written back, a dedupe's contents
    // compared, the destination's privileges and times updated.
    src.remap_prep(pos_in, dst, pos_out, &mut len, flags)?;
    if len == 0 {
        return Ok(0);
    }
    // An unaligned length ends at the source's end of file (the VFS checked): the last block
    // is shared whole, the destination's size says where its data ends.
    let blen = len.next_multiple_of(BS);
    let (src_end, dst_end) = (pos_in.checked_add(blen).ok_or(code::EFBIG)?, pos_out.checked_add(blen).ok_or(code::EFBIG)?);
    ordered::wait_range(si, pos_in, src_end);
    ordered::wait_range(di, pos_out, dst_end);
    // The destination range's page cache and extents go; the source's come in their place.
    di.truncate_pagecache_range(pos_out, dst_end - 1);
    ordered::unreserve(di, pos_out / BS, dst_end / BS)?;
    di.data().map_seq.fetch_add(1, Ordering::AcqRel);
    aops::punch_range(di, pos_out, dst_end)?;
    copy_items(si, pos_in, src_end, di, pos_out)?;
    di.data().map_seq.fetch_add(1, Ordering::AcqRel);
    let size = di.size();
    let new_end = pos_out + len;
    if flags & DEDUP == 0 && new_end > size {
        if pos_out > size {
            // The old last block's tail, before the cloned range, reads as zeros.
            aops::zero_eof_tail(di, size, pos_out)?;
        }
        di.truncate_setsize(new_end);
    }
    // The destination's extents now reach `new_end` (or its old size).
    di.data().disk_size.fetch_max(new_end.min(di.size()), Ordering::AcqRel);
    let sb = di.sb();
    let mut tx = Txn::start(sb, Cost { class: CLASS, ..crate::inode::COST_INODE_UPDATE })?;
    let r = crate::inode::update_item(&mut tx.store(), di).map_err(|e| fs_err(sb, e));
    tx.finish(r)?;
    drop(locks);
    // A clone through a file whose writes are synchronous (O_SYNC/O_DSYNC, or chattr +S on
    // either inode) is on disk when it returns, as on XFS (fstests generic/628). The commit
    // needs neither inode lock.
    if src.sync_writes() || dst.sync_writes() {
        crate::transaction::commit(sb)?;
    }
    Ok(len)
}

/// Copies `src`'s file extent items in `start..end` into `dst` from `dst_off` on (a hole
/// there: the caller punched it), each copy taking a reference, in bounded transactions.
/// Preallocated pieces are left out (holes in `dst`, see the module's comment).
fn copy_items(src: &Inode<FerroFs>, start: u64, end: u64, dst: &Inode<FerroFs>, dst_off: u64) -> Result {
    let sb = src.sb();
    let data = dst.data();
    let mut pos = start;
    while pos < end {
        let mut batch: KVec<(u64, ExtentData)> = KVec::new();
        let n = with_tree(sb, |st, root| {
            fileext::items_in_range(st, &root, src.ino(), pos, end, CLONE_BATCH, &mut |off, e| {
                batch.push((off, e), GFP_KERNEL).map_err(|_| format::FsError::NoSpace)
            })
        })?;
        let Some(&(last_off, last)) = batch.last() else {
            return Ok(());
        };
        let items = 2 * n as u64 + 1;
        let mut tx = Txn::start(sb, Cost { items, class: CLASS })?;
        let r = (|| -> Result<u64> {
            let mut st = tx.store();
            let mut roots = st.state().roots;
            let mut bytes = 0u64;
            let mut r = Ok(());
            for (off, e) in batch.iter().filter(|(_, e)| e.flags & EXTENT_PREALLOC == 0) {
                r = fileext::insert_ref(&mut st, &mut roots.fs_root, &mut roots.ext_root, dst.ino(), dst_off + (off - start), e);
                if r.is_err() {
                    break;
                }
                bytes += e.len;
            }
            st.state().roots.fs_root = roots.fs_root;
            st.state().roots.ext_root = roots.ext_root;
            r.map_err(|e| fs_err(sb, e))?;
            data.disk_bytes.fetch_add(bytes, Ordering::AcqRel);
            crate::inode::update_item(&mut st, dst).map_err(|e| fs_err(sb, e))?;
            Ok(bytes)
        })();
        let bytes = tx.finish(r)?;
        dst.add_bytes(bytes);
        pos = last_off + last.len;
        if n < CLONE_BATCH {
            return Ok(());
        }
    }
    Ok(())
}
