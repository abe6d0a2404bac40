// SPDX-License-Identifier: GPL-2.0

//! `FITRIM` (`fstrim`): discards the filesystem's free space, so thin-provisioned and flash
//! storage can reclaim it.
//!
//! Free means free in the space map: not referenced by the committed trees and not pinned (blocks
//! freed by a transaction stay marked used until its commit is on disk, so the last commit, which
//! a crash falls back to, never loses a block to a discard). A round takes the free runs of a
//! bounded stretch out of the map under the tree lock, as if allocated, so nothing can be
//! allocated and written there while the discards run without the lock; then it gives them back.

use crate::format;
use crate::superblock::{fs_err, FerroFs};
use crate::vfs::sb::{NoFsScope, SuperBlock};
use kernel::error::{code, Result};
use kernel::prelude::*;

/// Blocks one round looks at (64 MiB): what it takes out of the map at once stays small beside
/// what writers may need meanwhile.
const ROUND_BLOCKS: u64 = 16384;
/// Free runs one round discards at most.
const ROUND_RUNS: usize = 256;

/// Discards the free runs of at least `minlen` bytes inside bytes `start..start + len`; returns
/// the bytes discarded. `EINVAL` for a range shorter than a block or starting past the end, as
/// ext4 and XFS; `EROFS` on a read-only mount (no space map).
pub(crate) fn trim(sb: &SuperBlock<FerroFs>, start: u64, len: u64, minlen: u64) -> Result<u64> {
    let bs = format::BLOCK_SIZE_U64;
    let total = sb.info().total_blocks;
    let first = start / bs;
    if len < bs || first >= total {
        return Err(code::EINVAL);
    }
    let end = first.saturating_add(len / bs).min(total);
    let min_blocks = minlen.div_ceil(bs).max(1);
    let mut runs = KVec::from_elem((0u64, 0u64), ROUND_RUNS, GFP_KERNEL)?;
    let mut trimmed = 0u64;
    let mut cur = first;
    while cur < end {
        if crate::vfs::fatal_signal_pending() {
            return Err(code::EINTR);
        }
        let mut n = 0;
        let stop = end.min(cur.saturating_add(ROUND_BLOCKS));
        // Take this round's runs out of the map.
        {
            let _nofs = NoFsScope::enter();
            let mut t = sb.info().tree.lock();
            if t.aborted || !t.writable {
                return Err(code::EROFS);
            }
            let Some(map) = t.space.as_mut() else {
                return Err(code::EROFS);
            };
            let mut b = cur;
            while let Some(slot) = runs.get_mut(n) {
                let Some((s, l)) = map.free_run(b, stop) else {
                    b = stop;
                    break;
                };
                b = s + l;
                if l >= min_blocks {
                    map.mark_used(s, l).map_err(|e| fs_err(sb, e))?;
                    *slot = (s, l);
                    n += 1;
                }
            }
            cur = b;
        }
        let mut result = Ok(());
        for &(s, l) in runs.iter().take(n) {
            if result.is_ok() {
                result = sb.discard(s, l);
                if result.is_ok() {
                    trimmed = trimmed.saturating_add(l);
                }
            }
        }
        // Give them back, whatever the discards did.
        {
            let _nofs = NoFsScope::enter();
            let mut t = sb.info().tree.lock();
            if let Some(map) = t.space.as_mut() {
                for &(s, l) in runs.iter().take(n) {
                    if let Err(e) = map.release(s, l) {
                        // Only a bug can make a run taken above used or free twice.
                        return Err(fs_err(sb, e));
                    }
                }
            }
        }
        result?;
    }
    Ok(trimmed.saturating_mul(bs))
}
