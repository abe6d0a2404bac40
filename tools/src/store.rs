//! A [`BlockStore`] over a [`Device`] with an in-memory allocation bitmap.
//!
//! Dirty metadata blocks stay in memory until [`Store::write_dirty`]; freed
//! blocks are pinned (kept marked used in the bitmap) until
//! [`Store::release_pinned`] after the commit is durable.

use std::collections::{HashMap, VecDeque};

use ferrofs_format::layout::{BLOCK_SIZE, BLOCK_SIZE_U64, FIRST_ALLOC_BLOCK};
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
    used: Vec<u64>,
    pinned: Vec<(u64, u64)>,
    changes: VecDeque<MetaChange>,
    cursor: u64,
    /// Last I/O error text, for reporting.
    pub last_io_error: Option<String>,
}

impl<D: Device> Store<D> {
    /// A store whose transaction generation is `gen`, with every block free.
    pub fn new(dev: D, total_blocks: u64, gen: u64) -> Self {
        let words = total_blocks.div_ceil(64) as usize;
        let mut s = Store {
            dev,
            total_blocks,
            gen,
            dirty: HashMap::new(),
            cache: HashMap::new(),
            used: vec![0; words],
            pinned: Vec::new(),
            changes: VecDeque::new(),
            cursor: FIRST_ALLOC_BLOCK,
            last_io_error: None,
        };
        s.mark(0, FIRST_ALLOC_BLOCK.min(total_blocks), true);
        s
    }

    /// Marks `start..start+len` used or free in the bitmap.
    pub fn mark(&mut self, start: u64, len: u64, used: bool) {
        for b in start..start.saturating_add(len).min(self.total_blocks) {
            let (w, bit) = ((b / 64) as usize, b % 64);
            if used {
                self.used[w] |= 1 << bit;
            } else {
                self.used[w] &= !(1 << bit);
            }
        }
    }

    /// Is block `b` used (allocated, recorded or pinned)?
    pub fn is_used(&self, b: u64) -> bool {
        b >= self.total_blocks || self.used[(b / 64) as usize] & (1 << (b % 64)) != 0
    }

    /// Allocates up to `want` contiguous blocks (at least 1); returns
    /// `(start, len)`.
    pub fn alloc_range(&mut self, want: u64) -> Result<(u64, u64), FsError> {
        let total = self.total_blocks;
        for pass in 0..2 {
            let (mut b, end) = if pass == 0 { (self.cursor, total) } else { (FIRST_ALLOC_BLOCK, self.cursor.min(total)) };
            while b < end {
                if self.is_used(b) {
                    b += 1;
                    continue;
                }
                let start = b;
                while b < end && b - start < want && !self.is_used(b) {
                    b += 1;
                }
                self.mark(start, b - start, true);
                self.cursor = b;
                return Ok((start, b - start));
            }
        }
        Err(FsError::NoSpace)
    }

    /// Pins a freed range until the commit.
    pub fn pin(&mut self, start: u64, len: u64) {
        self.pinned.push((start, len));
    }

    /// Releases pinned ranges (call after the commit is durable).
    pub fn release_pinned(&mut self) {
        for (s, l) in std::mem::take(&mut self.pinned) {
            self.mark(s, l, false);
        }
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
        self.changes.push_back(MetaChange::Free(blk));
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
