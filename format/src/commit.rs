//! The commit protocol, run the same way by the kernel and by the tools.
//!
//! A transaction G is committed in two phases:
//! 1. [`seal`] records G's metadata block allocations and frees in the
//!    extent tree (which allocates and frees more extent-tree blocks, so it
//!    repeats until nothing is queued) and brings the used-block count up to
//!    date. The kernel runs it under its tree lock; afterwards the next
//!    transaction may start, copying whatever G wrote.
//! 2. [`write_out`] writes every block G dirtied, flushes the device's
//!    write cache, then writes the primary superblock with FUA, then the
//!    backup with FUA. The kernel runs it without the tree lock.
//!
//! Until the primary superblock is on disk, the last commit's superblocks
//! name the old trees, whose blocks G never overwrote (G writes only blocks
//! it allocated, and blocks freed since the last commit stay pinned); after
//! it, the primary names G's trees, all of whose blocks were on disk before
//! the superblock (the flush orders them). A crash at any instant therefore
//! leaves the old tree or the new one, never a mix. Only after
//! [`write_out`] returns may the caller release the blocks G freed.

use super::error::FsError;
use super::extent;
use super::layout::{FIRST_ALLOC_BLOCK, SUPER_BLOCK_NR, SUPER_BLOCK_NRS};
use super::superblock::DiskSuper;
use super::tree::{BlockStore, Root};

/// The roots and counters a transaction changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TxnRoots {
    /// Root of the fs tree.
    pub fs_root: Root,
    /// Root of the extent tree.
    pub ext_root: Root,
    /// Next inode number to hand out.
    pub next_inode: u64,
    /// Blocks covered by extent items (data and metadata).
    pub used_blocks: u64,
}

/// Phase 1: records the transaction's metadata allocations and frees in the
/// extent tree and updates `roots.used_blocks`.
pub fn seal<S: BlockStore>(s: &mut S, roots: &mut TxnRoots) -> Result<(), FsError> {
    let (added, freed) = extent::flush_meta_refs(s, &mut roots.ext_root)?;
    roots.used_blocks = roots
        .used_blocks
        .checked_add(added)
        .and_then(|u| u.checked_sub(freed))
        .ok_or(FsError::corrupt(0, "used block count underflow"))?;
    Ok(())
}

/// The superblock that commits generation `gen` with `roots`, from the last
/// committed one (`template`).
pub fn make_super(template: &DiskSuper, gen: u64, roots: &TxnRoots) -> DiskSuper {
    DiskSuper {
        bytenr: SUPER_BLOCK_NR,
        generation: gen,
        fs_root: roots.fs_root,
        extent_root: roots.ext_root,
        next_inode: roots.next_inode,
        used_blocks: roots.used_blocks,
        free_blocks: template.total_blocks.saturating_sub(FIRST_ALLOC_BLOCK).saturating_sub(roots.used_blocks),
        ..*template
    }
}

/// The I/O a commit needs.
pub trait CommitIo {
    /// Writes every block the sealed transaction dirtied and waits for them
    /// (no cache flush).
    fn write_dirty(&mut self) -> Result<(), FsError>;
    /// Flushes the device's volatile write cache.
    fn flush(&mut self) -> Result<(), FsError>;
    /// Writes one superblock copy and waits for it; with `fua`, durable when
    /// it returns (preflush + FUA, or write then flush).
    fn write_super(&mut self, blk: u64, buf: &[u8], fua: bool) -> Result<(), FsError>;
}

/// Phase 2: dirty blocks, flush, primary superblock (FUA), backup (FUA).
/// `buf` is a block-sized scratch buffer. On an error the caller must not
/// commit again (the disk holds the last good commit, perhaps with the new
/// primary superblock if only the backup failed, which is also consistent).
pub fn write_out<C: CommitIo>(io: &mut C, sb: &DiskSuper, buf: &mut [u8]) -> Result<(), FsError> {
    io.write_dirty()?;
    io.flush()?;
    for blk in SUPER_BLOCK_NRS {
        let copy = DiskSuper { bytenr: blk, ..*sb };
        copy.write_to(buf)?;
        io.write_super(blk, buf, true)?;
    }
    Ok(())
}
