//! A [`BlockStore`] over a [`Device`] with the format crate's free-space
//! map (the same allocator and pinning rules the kernel runs).
//!
//! Dirty metadata blocks stay in memory until [`Store::write_dirty`]; freed
//! blocks are pinned (kept used in the map) until [`Store::release_pinned`]
//! after the commit is durable.

use std::collections::{HashMap, VecDeque};

use ferrofs_format::layout::{BLOCK_SIZE, BLOCK_SIZE_U64};
use ferrofs_format::space::{self, SpaceMap};
use ferrofs_format::tree::Root;
use ferrofs_format::commit::CommitIo;
use ferrofs_format::tree::{BlockStore, MetaChange};
use ferrofs_format::FsError;

use crate::dev::Device;

/// Block store for the tools.
pub struct Store<D: Device> {
    /// The device.
    pub dev: D,
    /// Filesystem size in blocks.
    pub total_blocks: u64,
    gen: u64,
    dirty: HashMap<u64, Vec<u8>>,
    cache: HashMap<u64, Vec<u8>>,
    space: SpaceMap<Vec<u64>>,
    pinned: Vec<(u64, u64)>,
    changes: VecDeque<MetaChange>,
    /// Last I/O error text, for reporting.
    pub last_io_error: Option<String>,
}

impl<D: Device> Store<D> {
    /// A store whose transaction generation is `gen`, with every block free
    /// but the reserved area.
    pub fn new(dev: D, total_blocks: u64, gen: u64) -> Self {
        let words = vec![0u64; SpaceMap::<Vec<u64>>::words_for(total_blocks)];
        // Cannot fail: the storage has exactly the words the map needs.
        let space = SpaceMap::new(words, total_blocks).expect("space map storage sized by words_for");
        Store {
            dev,
            total_blocks,
            gen,
            dirty: HashMap::new(),
            cache: HashMap::new(),
            space,
            pinned: Vec::new(),
            changes: VecDeque::new(),
            last_io_error: None,
        }
    }

    /// Marks every extent of the extent tree rooted at `ext_root` used;
    /// returns the blocks they cover (`Corrupt` when extents overlap).
    pub fn load_space(&mut self, ext_root: &Root) -> Result<u64, FsError> {
        let mut space = std::mem::replace(&mut self.space, SpaceMap::new(Vec::new(), 0)?);
        let r = space::load(&mut space, self, ext_root);
        self.space = space;
        r
    }

    /// Marks `start..start+len` used (`Corrupt` when part of it is used).
    pub fn mark_used(&mut self, start: u64, len: u64) -> Result<(), FsError> {
        self.space.mark_used(start, len)
    }

    /// Is block `b` used (allocated, recorded or pinned)?
    pub fn is_used(&self, b: u64) -> bool {
        self.space.is_used(b)
    }

    /// Allocates up to `want` contiguous blocks (at least 1); returns
    /// `(start, len)`.
    pub fn alloc_range(&mut self, want: u64) -> Result<(u64, u64), FsError> {
        self.space.alloc(want, 1).ok_or(FsError::NoSpace)
    }

    /// Pins a freed range until the commit.
    pub fn pin(&mut self, start: u64, len: u64) {
        self.pinned.push((start, len));
    }

    /// Releases pinned ranges (call after the commit is durable).
    pub fn release_pinned(&mut self) -> Result<(), FsError> {
        for (s, l) in std::mem::take(&mut self.pinned) {
            self.space.release(s, l)?;
        }
        Ok(())
    }

    /// Writes all dirty blocks to the device (not flushed).
    pub fn write_dirty(&mut self) -> Result<(), FsError> {
        let mut blocks: Vec<u64> = self.dirty.keys().copied().collect();
        blocks.sort_unstable();
        for b in blocks {
            let data = self.dirty.remove(&b).ok_or(FsError::Io)?;
            self.raw_write(b, &data)?;
            self.cache.insert(b, data);
        }
        Ok(())
    }

    /// Sets the transaction generation.
    pub fn set_generation(&mut self, gen: u64) {
        self.gen = gen;
    }

    /// Number of queued metadata changes.
    pub fn pending_changes(&self) -> usize {
        self.changes.len()
    }

    /// Reads a block straight from the device (bypassing dirty state).
    pub fn raw_read(&mut self, blk: u64) -> Result<Vec<u8>, FsError> {
        let mut v = vec![0u8; BLOCK_SIZE];
        let off = blk.checked_mul(BLOCK_SIZE_U64).ok_or(FsError::Io)?;
        if let Err(e) = self.dev.read_at(off, &mut v) {
            self.last_io_error = Some(format!("read block {blk}: {e}"));
            return Err(FsError::Io);
        }
        Ok(v)
    }

    /// Writes a block straight to the device.
    pub fn raw_write(&mut self, blk: u64, data: &[u8]) -> Result<(), FsError> {
        let off = blk.checked_mul(BLOCK_SIZE_U64).ok_or(FsError::Io)?;
        if let Err(e) = self.dev.write_at(off, data) {
            self.last_io_error = Some(format!("write block {blk}: {e}"));
            return Err(FsError::Io);
        }
        self.cache.remove(&blk);
        Ok(())
    }

    /// Flushes the device.
    pub fn flush(&mut self) -> Result<(), FsError> {
        self.dev.flush().map_err(|e| {
            self.last_io_error = Some(format!("flush: {e}"));
            FsError::Io
        })
    }
}

impl<D: Device> CommitIo for Store<D> {
    fn write_dirty(&mut self) -> Result<(), FsError> {
        Store::write_dirty(self)
    }
    fn flush(&mut self) -> Result<(), FsError> {
        Store::flush(self)
    }
    fn write_super(&mut self, blk: u64, buf: &[u8], fua: bool) -> Result<(), FsError> {
        self.raw_write(blk, buf)?;
        if fua {
            Store::flush(self)?;
        }
        Ok(())
    }
}

impl<D: Device> BlockStore for Store<D> {
    type Buf = Vec<u8>;
    type BufMut = Vec<u8>;

    fn read(&mut self, blk: u64) -> Result<Vec<u8>, FsError> {
        if blk >= self.total_blocks {
            return Err(FsError::corrupt(blk, "block pointer beyond end of filesystem"));
        }
        if let Some(d) = self.dirty.get(&blk) {
            return Ok(d.clone());
        }
        if let Some(d) = self.cache.get(&blk) {
            return Ok(d.clone());
        }
        let v = self.raw_read(blk)?;
        self.cache.insert(blk, v.clone());
        Ok(v)
    }

    fn read_mut(&mut self, blk: u64) -> Result<Vec<u8>, FsError> {
        self.read(blk)
    }

    fn alloc_meta(&mut self) -> Result<(u64, Vec<u8>), FsError> {
        let (b, _) = self.alloc_range(1)?;
        self.changes.push_back(MetaChange::Alloc(b));
        Ok((b, vec![0u8; BLOCK_SIZE]))
    }

    fn write(&mut self, blk: u64, buf: Vec<u8>) -> Result<(), FsError> {
        if buf.len() != BLOCK_SIZE || blk >= self.total_blocks {
            return Err(FsError::Invalid("bad block write"));
        }
        self.cache.remove(&blk);
        self.dirty.insert(blk, buf);
        Ok(())
    }

    fn free_meta(&mut self, blk: u64) -> Result<(), FsError> {
        self.dirty.remove(&blk);
        self.cache.remove(&blk);
        // Allocated and freed before the extent tree recorded it: nothing to record.
        match self.changes.iter().position(|c| *c == MetaChange::Alloc(blk)) {
            Some(i) => {
                self.changes.remove(i);
            }
            None => self.changes.push_back(MetaChange::Free(blk)),
        }
        self.pin(blk, 1);
        Ok(())
    }

    fn generation(&self) -> u64 {
        self.gen
    }

    fn pop_meta_change(&mut self) -> Option<MetaChange> {
        self.changes.pop_front()
    }
}
