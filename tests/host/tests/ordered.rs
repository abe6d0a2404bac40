//! Ordered-extent accounting (format::ordered) against a per-block model: random submission of
//! runs, completion in any order with injected errors, splits before a tail is submitted, and
//! cancellation of unsubmitted tails. Every ordered extent finishes exactly once; a file extent is
//! only ever inserted for blocks that were written without error (never a range that would read
//! back as zeros or stale data); every block is either in an inserted extent or freed, exactly once.

use ferrofs_format::layout::BLOCK_SIZE_U64 as B;
use ferrofs_format::ordered::{OrderedExtent, Outcome, Progress};
use ferrofs_host_tests::*;

#[derive(Clone, Copy, PartialEq, Debug)]
enum Blk {
    Unsubmitted,
    InFlight,
    Ok,
    Err,
    Cancelled,
}

fn run(seed: u64) {
    let mut r = Rng(seed);
    let n = 1 + r.below(24);
    let disk0 = 1000 * B;
    let mut blocks = vec![Blk::Unsubmitted; n as usize];
    let mut oes = vec![OrderedExtent::new(0, n * B, disk0).unwrap()];
    let mut outcomes: Vec<(u64, u64, Outcome)> = Vec::new(); // (first block, blocks, outcome)
    let mut finished = vec![false];
    let mut steps = 0;
    while finished.iter().any(|f| !f) {
        steps += 1;
        assert!(steps < 10_000, "seed {seed}: no progress: {blocks:?} {oes:?} {finished:?}");
        let i = r.below(oes.len() as u64) as usize;
        if finished[i] {
            continue;
        }
        let (b0, nb) = (oes[i].file_off() / B, oes[i].len() / B);
        let in_oe = |b: u64| b >= b0 && b < b0 + nb;
        let mut finish = |p: Progress, oe: &OrderedExtent, fin: &mut bool| {
            if let Progress::Done(o) = p {
                assert!(!*fin, "seed {seed}: finished twice");
                *fin = true;
                outcomes.push((oe.file_off() / B, oe.len() / B, o));
            }
        };
        match r.below(5) {
            0 => {
                // Submit a run of unsubmitted blocks.
                let s = b0 + r.below(nb);
                let mut e = s;
                while e < b0 + nb && blocks[e as usize] == Blk::Unsubmitted && e - s < 1 + r.below(6) {
                    blocks[e as usize] = Blk::InFlight;
                    e += 1;
                }
            }
            1 | 2 => {
                // Complete a run of in-flight blocks, sometimes with an error.
                let s = b0 + r.below(nb);
                let mut e = s;
                while e < b0 + nb && blocks[e as usize] == Blk::InFlight && e - s < 1 + r.below(4) {
                    e += 1;
                }
                if e > s {
                    let ok = !r.chance(8);
                    for b in s..e {
                        blocks[b as usize] = if ok { Blk::Ok } else { Blk::Err };
                    }
                    let p = oes[i].account(s * B, (e - s) * B, ok).unwrap_or_else(|err| panic!("seed {seed}: {err}"));
                    let oe = oes[i];
                    finish(p, &oe, &mut finished[i]);
                }
            }
            3 => {
                // Cancel an unsubmitted tail (a retry that gave up).
                let mut from = b0 + nb;
                while from > b0 && blocks[from as usize - 1] == Blk::Unsubmitted {
                    from -= 1;
                }
                if from < b0 + nb && r.chance(40) {
                    for b in from..b0 + nb {
                        blocks[b as usize] = Blk::Cancelled;
                    }
                    let p = oes[i].cancel_tail(from * B).unwrap();
                    let oe = oes[i];
                    finish(p, &oe, &mut finished[i]);
                }
            }
            _ => {
                // Split where everything from the split point on is unsubmitted.
                let at = b0 + 1 + r.below(nb.max(2) - 1);
                let tail = at..b0 + nb;
                let clean = tail.clone().all(|b| blocks[b as usize] == Blk::Unsubmitted);
                // Splitting a tail with I/O in flight breaks the caller's contract: not done.
                if tail.clone().any(|b| blocks[b as usize] == Blk::InFlight) {
                    continue;
                }
                let res = oes[i].split(at * B);
                if at < b0 + nb && clean && in_oe(at) {
                    let (t, head) = res.unwrap_or_else(|e| panic!("seed {seed}: split at {at}: {e}"));
                    let oe = oes[i];
                    finish(head, &oe, &mut finished[i]);
                    oes.push(t);
                    finished.push(false);
                } else {
                    assert!(res.is_err(), "seed {seed}: split at {at} of {b0}+{nb} must be refused");
                }
            }
        }
    }
    // Every block is inserted (written without error) or freed, exactly once.
    let mut owner = vec![0u32; n as usize];
    for &(f, nb, o) in &outcomes {
        let all_ok = (f..f + nb).all(|b| matches!(blocks[b as usize], Blk::Ok | Blk::Cancelled));
        match o {
            Outcome::Insert { file_off, len, disk_start, free } => {
                assert!(all_ok, "seed {seed}: inserted although a block failed");
                assert_eq!((file_off, disk_start), (f * B, disk0 + f * B));
                for b in f..f + len / B {
                    assert_eq!(blocks[b as usize], Blk::Ok, "seed {seed}: inserted block {b} was not written");
                    owner[b as usize] += 1;
                }
                if let Some((start, bytes)) = free {
                    for b in (start - disk0) / B..(start - disk0 + bytes) / B {
                        assert_eq!(blocks[b as usize], Blk::Cancelled, "seed {seed}: freed block {b} was written");
                        owner[b as usize] += 1;
                    }
                }
            }
            Outcome::Discard { free: (start, bytes), error } => {
                assert_eq!(error, !all_ok, "seed {seed}: discard error flag");
                assert_eq!((start, bytes), (disk0 + f * B, nb * B));
                for b in f..f + nb {
                    owner[b as usize] += 1;
                }
            }
        }
    }
    assert!(owner.iter().all(|&c| c == 1), "seed {seed}: blocks not accounted exactly once: {owner:?}");
}

#[test]
fn ordered_extents_match_a_model() {
    let base = seed(21);
    for s in 0..3000 * scale() {
        run(base * 100_000 + s);
    }
}
