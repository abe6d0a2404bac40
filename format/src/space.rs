//! Free space: an in-memory bitmap built from the extent tree, and the
//! reservation accounting that lets a change fail with `ENOSPC` before it
//! modifies anything.
//!
//! **Pinning contract.** A block freed in transaction G must not be handed
//! out again before commit G is on disk (the committed tree may still
//! reference it). The map does not know transactions: the caller keeps
//! blocks freed in G marked used and calls [`SpaceMap::release`] for them
//! only after commit G's superblocks were written. So
//! [`SpaceMap::free_blocks`] never counts pinned blocks.

use super::error::FsError;
use super::extent;
use super::layout::{FIRST_ALLOC_BLOCK, MAX_LEVELS};
use super::tree::{BlockStore, Root};

/// A bitmap of used blocks (1 = used) over caller-provided words.
pub struct SpaceMap<W: AsRef<[u64]> + AsMut<[u64]>> {
    words: W,
    total: u64,
    free: u64,
    cursor: u64,
}

impl<W: AsRef<[u64]> + AsMut<[u64]>> SpaceMap<W> {
    /// Words of storage needed for `total_blocks`.
    pub fn words_for(total_blocks: u64) -> usize {
        total_blocks.div_ceil(64) as usize
    }

    /// A map with every block free except the reserved area
    /// `0..FIRST_ALLOC_BLOCK`. `words` must hold [`Self::words_for`] words.
    pub fn new(mut words: W, total_blocks: u64) -> Result<Self, FsError> {
        if words.as_ref().len() < Self::words_for(total_blocks) {
            return Err(FsError::Invalid("space map storage too small"));
        }
        words.as_mut().fill(0);
        let mut m = SpaceMap { words, total: total_blocks, free: total_blocks, cursor: FIRST_ALLOC_BLOCK };
        m.mark_used(0, FIRST_ALLOC_BLOCK.min(total_blocks))?;
        Ok(m)
    }

    /// Size of the filesystem in blocks.
    pub fn total_blocks(&self) -> u64 {
        self.total
    }

    /// Blocks neither allocated nor pinned.
    pub fn free_blocks(&self) -> u64 {
        self.free
    }

    /// Whether block `b` is used (allocated or pinned); blocks past the end
    /// count as used.
    pub fn is_used(&self, b: u64) -> bool {
        if b >= self.total {
            return true;
        }
        self.words.as_ref().get((b / 64) as usize).is_some_and(|w| w & (1 << (b % 64)) != 0)
    }

    fn check_range(&self, start: u64, len: u64) -> Result<u64, FsError> {
        let end = start.checked_add(len).ok_or(FsError::corrupt(start, "block range overflows"))?;
        if end > self.total {
            return Err(FsError::corrupt(start, "block range beyond the end of the filesystem"));
        }
        Ok(end)
    }

    /// Calls `f(word index, mask)` for the words covering `start..end`.
    fn for_words(start: u64, end: u64, mut f: impl FnMut(usize, u64) -> Result<(), FsError>) -> Result<(), FsError> {
        let mut b = start;
        while b < end {
            let bit = b % 64;
            let n = (64 - bit).min(end - b);
            let mask = if n == 64 { u64::MAX } else { ((1u64 << n) - 1) << bit };
            f((b / 64) as usize, mask)?;
            b += n;
        }
        Ok(())
    }

    /// Marks `start..start+len` used. `Corrupt` if any block is used already
    /// (two extents overlap); nothing is changed then.
    pub fn mark_used(&mut self, start: u64, len: u64) -> Result<(), FsError> {
        self.flip(start, len, true, "extents overlap")?;
        self.free -= len;
        Ok(())
    }

    /// Marks `start..start+len` free (after the commit that freed it is
    /// durable). `Corrupt` if any block is free already (a double free);
    /// nothing is changed then.
    pub fn release(&mut self, start: u64, len: u64) -> Result<(), FsError> {
        if start < FIRST_ALLOC_BLOCK {
            return Err(FsError::corrupt(start, "release of a reserved block"));
        }
        self.flip(start, len, false, "block freed twice")?;
        self.free += len;
        Ok(())
    }

    /// Sets every bit of `start..start+len` to `used`, after checking that
    /// none has that value already (`Corrupt` with `what` otherwise, nothing
    /// changed).
    fn flip(&mut self, start: u64, len: u64, used: bool, what: &'static str) -> Result<(), FsError> {
        let end = self.check_range(start, len)?;
        let words = self.words.as_ref();
        // Marking used needs every bit clear; releasing needs every bit set.
        let want = if used { 0 } else { u64::MAX };
        Self::for_words(start, end, |i, m| match words.get(i) {
            Some(w) if w & m == want & m => Ok(()),
            _ => Err(FsError::corrupt(start, what)),
        })?;
        let words = self.words.as_mut();
        Self::for_words(start, end, |i, m| {
            if let Some(w) = words.get_mut(i) {
                *w = if used { *w | m } else { *w & !m };
            }
            Ok(())
        })
    }

    /// The first run of free blocks inside `from..end`, as `(start, len)` (FITRIM walks these).
    pub fn free_run(&self, from: u64, end: u64) -> Option<(u64, u64)> {
        let end = end.min(self.total);
        let s = self.next_free(from.max(FIRST_ALLOC_BLOCK), end)?;
        Some((s, self.next_used(s, end) - s))
    }

    /// First free block at or after `from` and before `end`.
    fn next_free(&self, from: u64, end: u64) -> Option<u64> {
        let words = self.words.as_ref();
        let mut b = from;
        while b < end {
            let w = *words.get((b / 64) as usize)?;
            let bits = !w >> (b % 64);
            if bits != 0 {
                let f = b + bits.trailing_zeros() as u64;
                return (f < end).then_some(f);
            }
            b = (b / 64 + 1) * 64;
        }
        None
    }

    /// First used block at or after `from`, or `end`.
    fn next_used(&self, from: u64, end: u64) -> u64 {
        let words = self.words.as_ref();
        let mut b = from;
        while b < end {
            let Some(&w) = words.get((b / 64) as usize) else { return end };
            let bits = w >> (b % 64);
            if bits != 0 {
                return (b + bits.trailing_zeros() as u64).min(end);
            }
            b = (b / 64 + 1) * 64;
        }
        end
    }

    /// Allocates a contiguous run: the first free run of at least `want`
    /// blocks from the cursor on (wrapping once); failing that, the longest
    /// run found if it has at least `min` blocks. Returns `(start, len)` with
    /// `len <= want`, marked used.
    pub fn alloc(&mut self, want: u64, min: u64) -> Option<(u64, u64)> {
        if want == 0 || min > want || self.free < min.max(1) {
            return None;
        }
        let mut best: Option<(u64, u64)> = None;
        let cursor = self.cursor.clamp(FIRST_ALLOC_BLOCK, self.total);
        for (from, end) in [(cursor, self.total), (FIRST_ALLOC_BLOCK, cursor)] {
            let mut b = from;
            while let Some(s) = self.next_free(b, end) {
                let e = self.next_used(s, end.min(s.saturating_add(want)));
                let len = e - s;
                if len >= want {
                    best = Some((s, want));
                    break;
                }
                if best.is_none_or(|(_, l)| len > l) {
                    best = Some((s, len));
                }
                b = e;
            }
            if best.is_some_and(|(_, l)| l >= want) {
                break;
            }
        }
        let (s, len) = best.filter(|&(_, l)| l >= min.max(1))?;
        self.mark_used(s, len).ok()?;
        self.cursor = s + len;
        Some((s, len))
    }

    /// Allocates the free run beginning exactly at block `start`, up to
    /// `want` blocks (it stops at the first used block or the end of the
    /// filesystem), marks it used and moves the cursor past it. Returns its
    /// length; `None` (nothing changed) when `want` is 0 or block `start` is
    /// used, reserved or past the end.
    pub fn alloc_at(&mut self, start: u64, want: u64) -> Option<u64> {
        if want == 0 || self.is_used(start) {
            return None;
        }
        let end = self.next_used(start, start.saturating_add(want).min(self.total));
        let len = end - start;
        self.mark_used(start, len).ok()?;
        self.cursor = end;
        Some(len)
    }
}

/// Marks every extent item of the extent tree used in `map`; returns the
/// number of blocks they cover. `Corrupt` when extents overlap or reach past
/// the end of the filesystem.
pub fn load<S: BlockStore, W: AsRef<[u64]> + AsMut<[u64]>>(map: &mut SpaceMap<W>, s: &mut S, ext_root: &Root) -> Result<u64, FsError> {
    let mut used = 0u64;
    extent::for_each_extent(s, ext_root, |start, len, _| {
        if start < FIRST_ALLOC_BLOCK {
            return Err(FsError::corrupt(start, "extent in the reserved area"));
        }
        map.mark_used(start, len)?;
        used = used.saturating_add(len);
        Ok(())
    })?;
    Ok(used)
}

/// Who may use the last few free blocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReserveClass {
    /// Changes that add things: stop before the reserve pool.
    Normal,
    /// Changes that free space (unlink, rmdir, deleting orphans): may use
    /// the reserve pool, so they work on a full filesystem.
    Unlink,
    /// Changes that need metadata only, no data space (a clone or dedupe
    /// shares blocks already written): may use half the reserve pool, so
    /// they work on a full filesystem as XFS's and btrfs's metadata reserves
    /// let theirs, and the other half stays for changes that free space.
    MetadataOnly,
}

/// Space reserved by changes in progress (admission control).
#[derive(Clone, Copy, Debug)]
pub struct Budget {
    reserved: u64,
    pool: u64,
}

impl Budget {
    /// The budget of a filesystem of `total_blocks`: a reserve pool of
    /// 1/64 of it, at least 256 and at most 8192 blocks (never more than
    /// half the filesystem), kept for [`ReserveClass::Unlink`].
    pub fn new(total_blocks: u64) -> Self {
        let pool = (total_blocks / 64).clamp(256, 8192).min(total_blocks / 2);
        Budget { reserved: 0, pool }
    }

    /// Blocks reserved now.
    pub fn reserved(&self) -> u64 {
        self.reserved
    }

    /// The size of the reserve pool.
    pub fn pool(&self) -> u64 {
        self.pool
    }

    /// Reserves `n` blocks when `free_blocks` (from the [`SpaceMap`]) minus
    /// what is reserved (minus the pool for [`ReserveClass::Normal`], half of
    /// it for [`ReserveClass::MetadataOnly`]) has room; `NoSpace` otherwise,
    /// with nothing reserved.
    pub fn try_reserve(&mut self, free_blocks: u64, n: u64, class: ReserveClass) -> Result<(), FsError> {
        let keep = match class {
            ReserveClass::Normal => self.pool,
            ReserveClass::MetadataOnly => self.pool / 2,
            ReserveClass::Unlink => 0,
        };
        let avail = free_blocks.saturating_sub(self.reserved).saturating_sub(keep);
        if n > avail {
            return Err(FsError::NoSpace);
        }
        self.reserved += n;
        Ok(())
    }

    /// Gives back `n` reserved blocks (used up by allocations, or unused).
    pub fn release(&mut self, n: u64) {
        self.reserved = self.reserved.saturating_sub(n);
    }
}

/// Metadata blocks to reserve for a change of `items` tree items when the
/// taller tree's root is at `levels`.
///
/// The bound, per item and per tree, counting a tree of height
/// `h = levels + 2` (one level of growth allowed): copying the path from the
/// root (h blocks) plus splitting every node on it and adding a root (h + 1
/// blocks), so `2h + 1 <= 2(h + 1)`. The fs tree's new blocks are recorded in
/// the extent tree at commit and blocks it frees are deleted there; those
/// extent-tree changes, batched over the transaction, are charged another
/// `2(h + 1)` per item (every fs-tree block allocated or freed is one
/// extent item, and nodes the extent tree copies once are changed in place
/// afterwards). This is the accounting btrfs uses (twice the maximum height
/// per item and per tree); the host test `space_bound` checks it against the
/// allocations of random changes on trees near splits. Capped by the maximum
/// tree height.
pub fn meta_cost(items: u64, levels: u8) -> u64 {
    let h = (levels as u64 + 2).min(MAX_LEVELS as u64);
    items.saturating_mul(4 * (h + 1))
}

/// Sorts block ranges `(start, len)` and calls `f` once per run of overlapping or
/// adjacent ones, merged (the `discard` mount option discards what a commit freed,
/// one discard per run).
pub fn for_each_merged_run(ranges: &mut [(u64, u64)], mut f: impl FnMut(u64, u64)) {
    ranges.sort_unstable();
    let mut run: Option<(u64, u64)> = None;
    for &(start, len) in ranges.iter() {
        run = match run {
            // Sorted: start >= s, so end - s cannot underflow.
            Some((s, l)) if s.saturating_add(l) >= start => Some((s, l.max(start.saturating_add(len) - s))),
            Some((s, l)) => {
                f(s, l);
                Some((start, len))
            }
            None => Some((start, len)),
        };
    }
    if let Some((s, l)) = run {
        f(s, l);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn merged_runs() {
        let mut r = [(50u64, 5u64), (10, 2), (12, 3), (30, 1), (11, 1), (55, 0), (56, 4), (40, 20)];
        let mut out = [(0u64, 0u64); 8];
        let mut n = 0;
        super::for_each_merged_run(&mut r, |s, l| {
            out[n] = (s, l);
            n += 1;
        });
        assert_eq!(&out[..n], &[(10, 5), (30, 1), (40, 20)]);
        let mut none: [(u64, u64); 0] = [];
        super::for_each_merged_run(&mut none, |_, _| panic!("no ranges, no runs"));
    }

    #[test]
    fn free_runs_walk_the_gaps() {
        let f = FIRST_ALLOC_BLOCK;
        let mut m = SpaceMap::new([0u64; 64], 2000).unwrap();
        m.mark_used(f + 10, 5).unwrap();
        m.mark_used(600, 100).unwrap();
        let mut runs = [(0u64, 0u64); 4];
        let (mut n, mut b) = (0, 0);
        while let Some((s, l)) = m.free_run(b, 2000) {
            runs[n] = (s, l);
            n += 1;
            b = s + l;
        }
        assert_eq!(&runs[..n], &[(f, 10), (f + 15, 600 - f - 15), (700, 1300)]);
        // Bounded by `end`, never before the allocatable area, nothing inside a used range.
        assert_eq!(m.free_run(0, f + 12), Some((f, 10)));
        assert_eq!(m.free_run(650, 2000), Some((700, 1300)));
        assert_eq!(m.free_run(720, 730), Some((720, 10)));
        assert_eq!(m.free_run(600, 700), None);
        assert_eq!(m.free_run(1990, 5000), Some((1990, 10)));
    }

    use super::*;

    fn map(total: u64) -> SpaceMap<[u64; 64]> {
        SpaceMap::new([0u64; 64], total).unwrap()
    }

    #[test]
    fn reserved_area_and_bounds() {
        let m = map(4096);
        assert!(m.is_used(0) && m.is_used(255) && !m.is_used(256));
        assert_eq!(m.free_blocks(), 4096 - 256);
        assert!(m.is_used(4096));
        assert!(SpaceMap::new([0u64; 1], 4096).is_err());
    }

    #[test]
    fn overlap_and_double_free_are_refused_whole() {
        let mut m = map(4096);
        m.mark_used(300, 10).unwrap();
        assert!(m.mark_used(305, 10).is_err());
        assert!(!m.is_used(312), "a refused mark_used changed nothing");
        assert!(m.release(300, 20).is_err());
        assert!(m.is_used(300), "a refused release changed nothing");
        m.release(300, 10).unwrap();
        assert_eq!(m.free_blocks(), 4096 - 256);
        assert!(m.release(10, 1).is_err());
    }

    #[test]
    fn alloc_contiguous_then_longest() {
        let mut m = map(1024);
        // Free runs: 256..260 (4), 400..410 (10), 600..1024.
        m.mark_used(260, 140).unwrap();
        m.mark_used(410, 190).unwrap();
        assert_eq!(m.alloc(8, 1), Some((400, 8)));
        assert_eq!(m.alloc(500, 1), Some((600, 424)), "longest run when none is long enough");
        assert_eq!(m.alloc(10, 5), None, "runs of 4 and 2 are shorter than min");
        assert_eq!(m.alloc(3, 1), Some((256, 3)), "wraps to the start");
        assert_eq!(m.free_blocks(), 1 + 2);
    }

    #[test]
    fn alloc_at_takes_the_run_at_start() {
        let mut m = map(1024);
        m.mark_used(300, 10).unwrap();
        assert_eq!(m.alloc_at(290, 100), Some(10), "stops at the first used block");
        assert!(m.is_used(299) && !m.is_used(289));
        assert_eq!(m.alloc_at(290, 1), None, "start is used now");
        assert_eq!(m.alloc_at(310, 5), Some(5), "stops at want");
        assert_eq!(m.alloc(1, 1), Some((315, 1)), "the cursor moved past the run");
        assert_eq!(m.alloc_at(1000, 100), Some(24), "stops at the end");
        assert_eq!(m.alloc_at(1024, 1), None, "past the end");
        assert_eq!(m.alloc_at(10, 1), None, "reserved area");
        assert_eq!(m.alloc_at(400, 0), None);
        assert!(!m.is_used(400));
        assert_eq!(m.free_blocks(), 1024 - 256 - 10 - 10 - 5 - 1 - 24);
    }

    #[test]
    fn budget_pool_only_for_unlink() {
        let mut b = Budget::new(4096);
        assert_eq!(b.pool(), 256);
        assert!(b.try_reserve(300, 50, ReserveClass::Normal).is_err());
        b.try_reserve(300, 44, ReserveClass::Normal).unwrap();
        b.try_reserve(300, 256, ReserveClass::Unlink).unwrap();
        assert!(b.try_reserve(300, 1, ReserveClass::Unlink).is_err());
        b.release(300);
        assert_eq!(b.reserved(), 0);
    }

    #[test]
    fn budget_half_the_pool_for_metadata_only() {
        let mut b = Budget::new(4096);
        // 300 free, 256 of them the pool: a clone may take 44 + 128, no more.
        assert!(b.try_reserve(300, 173, ReserveClass::MetadataOnly).is_err());
        b.try_reserve(300, 172, ReserveClass::MetadataOnly).unwrap();
        assert!(b.try_reserve(300, 1, ReserveClass::MetadataOnly).is_err());
        assert!(b.try_reserve(300, 1, ReserveClass::Normal).is_err());
        // The other half stays for changes that free space.
        b.try_reserve(300, 128, ReserveClass::Unlink).unwrap();
        assert_eq!(b.reserved(), 300);
    }
}
