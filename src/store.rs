// SPDX-License-Identifier: GPL-2.0

//! The format crate's `BlockStore` over the block device's page cache (read-only for now).

use crate::format::{BlockStore, FsError, MetaChange};
use crate::vfs::buffer::BufferHead;
use crate::vfs::fs_type::FileSystem;
use crate::vfs::sb::{NewSuperBlock, SuperBlock};

/// Anything that can read a filesystem block (a mounted or a mounting superblock).
pub(crate) trait ReadBlock {
    fn read_block(&self, block: u64) -> Option<BufferHead>;
}

impl<T: FileSystem> ReadBlock for SuperBlock<T> {
    fn read_block(&self, block: u64) -> Option<BufferHead> {
        self.bread(block)
    }
}

impl<T: FileSystem> ReadBlock for NewSuperBlock<T> {
    fn read_block(&self, block: u64) -> Option<BufferHead> {
        self.bread(block)
    }
}

/// A buffer type that cannot exist: this store never hands out writable blocks.
pub(crate) enum NoBuf {}

impl AsRef<[u8]> for NoBuf {
    fn as_ref(&self) -> &[u8] {
        match *self {}
    }
}

impl AsMut<[u8]> for NoBuf {
    fn as_mut(&mut self) -> &mut [u8] {
        match *self {}
    }
}

/// Read-only tree access for one operation.
pub(crate) struct ReadStore<'a, S: ReadBlock> {
    sb: &'a S,
    total_blocks: u64,
    generation: u64,
}

impl<'a, S: ReadBlock> ReadStore<'a, S> {
    pub(crate) fn new(sb: &'a S, total_blocks: u64, generation: u64) -> Self {
        Self { sb, total_blocks, generation }
    }
}

impl<S: ReadBlock> BlockStore for ReadStore<'_, S> {
    type Buf = BufferHead;
    type BufMut = NoBuf;

    fn read(&mut self, blk: u64) -> Result<BufferHead, FsError> {
        if blk >= self.total_blocks {
            return Err(FsError::corrupt(blk, "block pointer beyond the end of the filesystem"));
        }
        self.sb.read_block(blk).ok_or(FsError::Io)
    }
    fn read_mut(&mut self, _blk: u64) -> Result<NoBuf, FsError> {
        Err(FsError::Unsupported("read-only"))
    }
    fn alloc_meta(&mut self) -> Result<(u64, NoBuf), FsError> {
        Err(FsError::Unsupported("read-only"))
    }
    fn write(&mut self, _blk: u64, buf: NoBuf) -> Result<(), FsError> {
        match buf {}
    }
    fn free_meta(&mut self, _blk: u64) -> Result<(), FsError> {
        Err(FsError::Unsupported("read-only"))
    }
    fn generation(&self) -> u64 {
        self.generation.saturating_add(1)
    }
    fn pop_meta_change(&mut self) -> Option<MetaChange> {
        None
    }
}
