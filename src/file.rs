// SPDX-License-Identifier: GPL-2.0

//! Regular files: block mapping for iomap reads, fiemap and mmap.

use crate::format::{self, items::EXTENT_PREALLOC};
use crate::superblock::{fs_err, store, FerroFs};
use crate::vfs::fs_type::{MapKind, Mapping};
use crate::vfs::inode::Inode;
use crate::vfs::euclean;
use kernel::error::Result;

/// Maps the range at `pos` (up to `len` bytes) to the device: the extent covering `pos`, or the
/// hole up to the next extent.
pub(crate) fn map_blocks(inode: &Inode<FerroFs>, pos: u64, len: u64) -> Result<Mapping> {
    let sb = inode.sb();
    let root = *sb.info().fs_root();
    let mut st = store(sb);
    let ino = inode.ino();
    let bs = format::BLOCK_SIZE_U64;
    let pos = pos - pos % bs;
    if let Some((start, e)) = format::inode::extent_at(&mut st, &root, ino, pos).map_err(|er| fs_err(sb, er))? {
        // The extent covers [start, start + e.len) of the file; it begins e.offset bytes into its
        // disk extent, which starts at block e.disk_start.
        let delta = pos - start;
        let disk = e.disk_block_at(delta).ok_or_else(|| {
            sb.report("file extent points outside its disk extent", ino, euclean());
            euclean()
        })?;
        let total = sb.info().sb.total_blocks;
        let remain = e.len - delta;
        if disk.checked_add(remain / bs).map_or(true, |end| end > total) {
            sb.report("file extent beyond the end of the device", ino, euclean());
            return Err(euclean());
        }
        let addr = disk * bs;
        let kind = if e.flags & EXTENT_PREALLOC != 0 { MapKind::Unwritten(addr) } else { MapKind::Mapped(addr) };
        return Ok(Mapping { kind, offset: pos, length: remain });
    }
    // A hole: up to the next extent, or to the end of the asked range.
    let want_end = pos.saturating_add(len).max(pos + bs);
    let end = match format::inode::next_extent(&mut st, &root, ino, pos).map_err(|er| fs_err(sb, er))? {
        Some((next, _)) if next > pos => next.min(want_end),
        _ => want_end,
    };
    Ok(Mapping { kind: MapKind::Hole, offset: pos, length: end - pos })
}
