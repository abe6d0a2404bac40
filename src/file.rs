// SPDX-License-Identifier: GPL-2.0

//! Regular files: block mapping for iomap reads, fiemap and mmap.

use crate::format::{self, items::EXTENT_PREALLOC};
use crate::superblock::{with_tree, FerroFs};
use crate::vfs::iomap::{MapKind, Mapping};
use crate::vfs::inode::Inode;
use crate::vfs::euclean;
use kernel::error::Result;

/// Items of a file looked at to tell whether one of its extents is shared with another file
/// (FIEMAP); a file with more reports every extent with several references as shared.
const SHARED_SCAN_LIMIT: usize = 4096;

/// File extent items merged into one reported mapping at most (each is one more lookup).
const REPORT_MERGE_LIMIT: usize = 256;

/// Maps the range at `pos` (up to `len` bytes) to the device: the extent covering `pos`, or the
/// hole up to the next extent.
pub(crate) fn map_blocks(inode: &Inode<FerroFs>, pos: u64, len: u64) -> Result<Mapping> {
    let sb = inode.sb();
    let ino = inode.ino();
    let bs = format::BLOCK_SIZE_U64;
    let pos = pos - pos % bs;
    let (found, next) = with_tree(sb, |st, root| {
        if let Some(hit) = format::inode::extent_at(st, &root, ino, pos)? {
            return Ok((Some(hit), None));
        }
        Ok((None, format::inode::next_extent(st, &root, ino, pos)?.map(|(next, _)| next)))
    })?;
    if let Some((start, e)) = found {
        // The extent covers [start, start + e.len) of the file; it begins e.offset bytes into its
        // disk extent, which starts at block e.disk_start.
        let delta = pos - start;
        let disk = e.disk_block_at(delta).ok_or_else(|| {
            sb.report("file extent points outside its disk extent", ino, euclean());
            euclean()
        })?;
        let total = sb.info().total_blocks;
        let remain = e.len - delta;
        if disk.checked_add(remain / bs).map_or(true, |end| end > total) {
            sb.report("file extent beyond the end of the device", ino, euclean());
            return Err(euclean());
        }
        let addr = disk * bs;
        let kind = if e.flags & EXTENT_PREALLOC != 0 { MapKind::Unwritten(addr) } else { MapKind::Mapped(addr) };
        return Ok(Mapping::new(kind, pos, remain));
    }
    // A hole: up to the next extent, or to the end of the asked range.
    let want_end = pos.saturating_add(len).max(pos + bs);
    let end = match next {
        Some(next) if next > pos => next.min(want_end),
        _ => want_end,
    };
    Ok(Mapping::new(MapKind::Hole, pos, end - pos))
}

/// The mapping FIEMAP and `SEEK_HOLE`/`SEEK_DATA` see (`IOMAP_REPORT`): as for reads, but a hole
/// holding data that is written to the page cache and not allocated yet (or being written) is
/// reported as delayed allocation, so it counts as data.
pub(crate) fn map_report(inode: &Inode<FerroFs>, pos: u64, len: u64) -> Result<Mapping> {
    let mut m = map_blocks(inode, pos, len)?;
    if let MapKind::Mapped(_) | MapKind::Unwritten(_) = m.kind {
        let ino = inode.ino();
        let want_end = pos.saturating_add(len);
        let mapped = matches!(m.kind, MapKind::Mapped(_));
        let (at, length) = (m.offset, m.length);
        (m.length, m.shared) = with_tree(inode.sb(), |st, root| {
            let Some((start, e)) = format::inode::extent_at(st, &root, ino, at)? else {
                return Ok((length, false));
            };
            // One extent to FIEMAP for a run of items that continue each other in the file and
            // in one disk extent with the same flags (what a split, an insert and its collapse
            // leave behind), as other filesystems report a contiguous range.
            let (mut end, mut cur) = (start.saturating_add(e.len), e);
            for _ in 0..REPORT_MERGE_LIMIT {
                if end >= want_end {
                    break;
                }
                match format::inode::next_extent(st, &root, ino, end)? {
                    Some((next, n))
                        if next == end
                            && n.disk_start == cur.disk_start
                            && n.flags == cur.flags
                            && cur.offset.checked_add(cur.len) == Some(n.offset) =>
                    {
                        end = next.saturating_add(n.len);
                        cur = n;
                    }
                    _ => break,
                }
            }
            // FIEMAP_EXTENT_SHARED: the disk extent (the same for the whole run) has references
            // from elsewhere (a reflink).
            let ext_root = st.state().roots.ext_root;
            let shared = mapped && format::fileext::shared(st, &root, &ext_root, ino, &e, SHARED_SCAN_LIMIT)?;
            Ok((end.saturating_sub(at).max(length), shared))
        })?;
        return Ok(m);
    }
    if m.kind != MapKind::Hole {
        return Ok(m);
    }
    let bs = format::BLOCK_SIZE_U64;
    let (a, b) = (m.offset / bs, m.offset.saturating_add(m.length).div_ceil(bs));
    match crate::ordered::pending_at(inode, a, b) {
        Some((s, e)) if s <= a => Ok(Mapping::new(MapKind::Delalloc, m.offset, (e.min(b) - a) * bs)),
        Some((s, _)) => Ok(Mapping::new(MapKind::Hole, m.offset, (s - a) * bs)),
        None => Ok(m),
    }
}
