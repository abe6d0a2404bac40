//! Ordered-extent accounting: the plain logic of the kernel's ordered
//! extents, here so host tests can drive it against a model.
//!
//! An ordered extent is a file range whose new data is being written to
//! freshly allocated blocks and whose `EXTENT_DATA` item is not in the tree
//! yet. Its I/O completes in pieces (bios, in any order); when the last byte
//! is accounted for, it is *done* and its finish decides what the tree gets:
//! * every byte written without error: one file extent for the range;
//! * any part failed: no file extent at all, every block freed, and the
//!   error reported (the old data or the hole stays what reads return);
//! * a tail that was never submitted (a direct write that faulted part-way
//!   and gave up) is *cancelled*: its blocks are freed, it is no error, and
//!   the written head still gets its file extent;
//! * an ordered extent can be *split* at a block boundary before its tail
//!   is submitted, so the submitted head finishes on its own while the tail
//!   is reused by a retry.
//!
//! Every ordered extent finishes exactly once: [`OrderedExtent::account`]
//! and [`OrderedExtent::cancel_tail`] return [`Progress::Done`] once, with
//! the [`Outcome`], and refuse any accounting after that.

use super::error::FsError;
use super::layout::BLOCK_SIZE_U64;

/// What finishing an ordered extent does to the tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Insert a file extent for `file_off..file_off+len` at `disk_start`
    /// (bytes); free the blocks of `free` (a cancelled tail), if any.
    Insert {
        /// File offset.
        file_off: u64,
        /// Bytes written (a multiple of the block size unless it ends the file).
        len: u64,
        /// Device byte address of the data.
        disk_start: u64,
        /// Disk range `(byte address, bytes)` to free: the cancelled tail.
        free: Option<(u64, u64)>,
    },
    /// Insert nothing and free `(byte address, bytes)`; `error` says
    /// whether an I/O error (reported to the writer and on the mapping) or
    /// a cancellation of everything (no error) caused it.
    Discard {
        /// Disk range to free.
        free: (u64, u64),
        /// An I/O error happened.
        error: bool,
    },
}

/// The result of accounting a piece of I/O.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// Bytes are still outstanding.
    Pending,
    /// That was the last: finish the ordered extent with this outcome.
    Done(Outcome),
}

/// One ordered extent's accounting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderedExtent {
    file_off: u64,
    len: u64,
    disk_start: u64,
    /// Bytes of the range whose I/O has not completed (nor been cancelled).
    left: u64,
    /// Bytes at the end that were cancelled (never submitted).
    cancelled: u64,
    /// The end of the furthest range accounted so far: nothing from here on was completed.
    accounted_end: u64,
    error: bool,
    finished: bool,
}

impl OrderedExtent {
    /// A new ordered extent for `file_off..file_off+len`, written to the
    /// device at byte `disk_start`. All three must be block aligned, `len > 0`.
    pub fn new(file_off: u64, len: u64, disk_start: u64) -> Result<Self, FsError> {
        let aligned = |v: u64| v.is_multiple_of(BLOCK_SIZE_U64);
        if len == 0 || !aligned(file_off) || !aligned(len) || !aligned(disk_start) {
            return Err(FsError::Invalid("ordered extent not block aligned"));
        }
        file_off.checked_add(len).ok_or(FsError::TooBig)?;
        Ok(Self { file_off, len, disk_start, left: len, cancelled: 0, accounted_end: file_off, error: false, finished: false })
    }

    /// File offset.
    pub fn file_off(&self) -> u64 {
        self.file_off
    }
    /// Length in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }
    /// Always false: an ordered extent has at least one block.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// Device byte address.
    pub fn disk_start(&self) -> u64 {
        self.disk_start
    }
    /// Bytes still outstanding.
    pub fn outstanding(&self) -> u64 {
        self.left
    }
    /// Whether it has finished (its outcome was handed out).
    pub fn is_finished(&self) -> bool {
        self.finished
    }
    /// Whether a part failed.
    pub fn failed(&self) -> bool {
        self.error
    }
    /// Whether `pos` lies in the range.
    pub fn contains(&self, pos: u64) -> bool {
        pos >= self.file_off && pos - self.file_off < self.len
    }

    /// File offset just past the part not cancelled.
    pub fn live_end(&self) -> u64 {
        self.file_off + self.len - self.cancelled
    }

    /// Accounts `len` bytes of completed I/O at file offset `off` (`ok`
    /// false for an I/O error). `Invalid` for accounting outside the live
    /// range, beyond what is outstanding, or after the finish.
    pub fn account(&mut self, off: u64, len: u64, ok: bool) -> Result<Progress, FsError> {
        if self.finished {
            return Err(FsError::Invalid("ordered extent accounted after its finish"));
        }
        let end = off.checked_add(len).ok_or(FsError::Invalid("ordered extent range overflows"))?;
        if len == 0 || off < self.file_off || end > self.live_end() || len > self.left {
            return Err(FsError::Invalid("I/O accounted outside the ordered extent"));
        }
        self.left -= len;
        self.error |= !ok;
        self.accounted_end = self.accounted_end.max(end);
        Ok(self.progress())
    }

    /// Cancels the tail from `from` (block aligned) on: those bytes were
    /// never submitted and never will be. Their blocks are freed at the
    /// finish; it is not an error.
    pub fn cancel_tail(&mut self, from: u64) -> Result<Progress, FsError> {
        if self.finished {
            return Err(FsError::Invalid("ordered extent cancelled after its finish"));
        }
        if !from.is_multiple_of(BLOCK_SIZE_U64) || from < self.file_off || from > self.live_end() {
            return Err(FsError::Invalid("cancel point outside the ordered extent"));
        }
        let n = self.live_end() - from;
        if from < self.accounted_end || n > self.left {
            return Err(FsError::Invalid("cancelled bytes were already accounted"));
        }
        self.left -= n;
        self.cancelled += n;
        Ok(self.progress())
    }

    /// Splits off the range from `at` (block aligned, strictly inside the
    /// live range) into a new ordered extent with its own blocks; `self`
    /// keeps the head. The tail must have no I/O accounted yet: the caller
    /// splits before submitting it (the head's outstanding bytes must cover
    /// whatever is still in flight there). Returns the tail and the head's
    /// progress: a head whose I/O all completed already is done now.
    pub fn split(&mut self, at: u64) -> Result<(OrderedExtent, Progress), FsError> {
        if self.finished {
            return Err(FsError::Invalid("ordered extent split after its finish"));
        }
        if !at.is_multiple_of(BLOCK_SIZE_U64) || at <= self.file_off || at >= self.live_end() {
            return Err(FsError::Invalid("split point outside the ordered extent"));
        }
        if self.cancelled > 0 {
            return Err(FsError::Invalid("split of an ordered extent whose tail was cancelled"));
        }
        let tail = self.live_end() - at;
        if at < self.accounted_end || tail > self.left {
            return Err(FsError::Invalid("split of a range whose I/O was accounted"));
        }
        let head = at - self.file_off;
        let t = OrderedExtent::new(at, tail, self.disk_start + head)?;
        self.len -= tail;
        self.left -= tail;
        Ok((t, self.progress()))
    }

    /// Grows the range by `len` bytes (block aligned) at its end, the disk
    /// range growing with it (the caller allocated the blocks right after
    /// the current disk end): writeback that finds the next dirty range
    /// contiguous in the file and on disk extends the ordered extent it is
    /// building instead of starting another. Refused after the finish or a
    /// cancel.
    pub fn extend(&mut self, len: u64) -> Result<(), FsError> {
        if self.finished || self.cancelled > 0 {
            return Err(FsError::Invalid("ordered extent extended after its finish or a cancel"));
        }
        if len == 0 || !len.is_multiple_of(BLOCK_SIZE_U64) {
            return Err(FsError::Invalid("ordered extent extension not block aligned"));
        }
        let new_len = self.len.checked_add(len).ok_or(FsError::TooBig)?;
        self.file_off.checked_add(new_len).ok_or(FsError::TooBig)?;
        self.disk_start.checked_add(new_len).ok_or(FsError::TooBig)?;
        self.len = new_len;
        self.left += len;
        Ok(())
    }

    /// File offset just past the range.
    pub fn end(&self) -> u64 {
        self.file_off + self.len
    }

    /// Device byte address just past the range.
    pub fn disk_end(&self) -> u64 {
        self.disk_start + self.len
    }

    fn progress(&mut self) -> Progress {
        if self.left > 0 {
            return Progress::Pending;
        }
        self.finished = true;
        let written = self.len - self.cancelled;
        Progress::Done(if self.error {
            Outcome::Discard { free: (self.disk_start, self.len), error: true }
        } else if written == 0 {
            Outcome::Discard { free: (self.disk_start, self.len), error: false }
        } else {
            Outcome::Insert {
                file_off: self.file_off,
                len: written,
                disk_start: self.disk_start,
                free: (self.cancelled > 0).then_some((self.disk_start + written, self.cancelled)),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    const B: u64 = BLOCK_SIZE_U64;

    #[test]
    fn pieces_in_any_order() {
        let mut oe = OrderedExtent::new(4 * B, 4 * B, 100 * B).unwrap();
        assert_eq!(oe.account(6 * B, 2 * B, true), Ok(Progress::Pending));
        assert_eq!(oe.account(4 * B, B, true), Ok(Progress::Pending));
        let done = oe.account(5 * B, B, true).unwrap();
        assert_eq!(done, Progress::Done(Outcome::Insert { file_off: 4 * B, len: 4 * B, disk_start: 100 * B, free: None }));
        assert!(oe.account(5 * B, B, true).is_err(), "no accounting after the finish");
    }

    #[test]
    fn an_error_anywhere_discards_everything() {
        let mut oe = OrderedExtent::new(0, 3 * B, 10 * B).unwrap();
        oe.account(B, B, false).unwrap();
        oe.account(0, B, true).unwrap();
        assert_eq!(oe.account(2 * B, B, true), Ok(Progress::Done(Outcome::Discard { free: (10 * B, 3 * B), error: true })));
    }

    #[test]
    fn a_cancelled_tail_is_freed_without_error() {
        let mut oe = OrderedExtent::new(0, 4 * B, 10 * B).unwrap();
        oe.account(0, B, true).unwrap();
        assert_eq!(
            oe.cancel_tail(B),
            Ok(Progress::Done(Outcome::Insert { file_off: 0, len: B, disk_start: 10 * B, free: Some((11 * B, 3 * B)) }))
        );
        let mut all = OrderedExtent::new(0, 2 * B, 10 * B).unwrap();
        assert_eq!(all.cancel_tail(0), Ok(Progress::Done(Outcome::Discard { free: (10 * B, 2 * B), error: false })));
    }

    /// A direct write's extent across passes (src/dio.rs): a pass that faulted after one block,
    /// the retry writing the rest into the same extent: one finish with everything.
    #[test]
    fn a_faulted_pass_resumed_finishes_once_whole() {
        let mut oe = OrderedExtent::new(0, 8 * B, 50 * B).unwrap();
        assert_eq!(oe.account(0, B, true), Ok(Progress::Pending), "the first pass alone finishes nothing");
        assert_eq!(oe.live_end(), 8 * B);
        let done = oe.account(B, 7 * B, true).unwrap();
        assert_eq!(done, Progress::Done(Outcome::Insert { file_off: 0, len: 8 * B, disk_start: 50 * B, free: None }));
    }

    /// The write's end cancels what no pass submitted, also while a head is still in flight (an
    /// asynchronous pass): the head's completion then finishes it, with the head only.
    #[test]
    fn the_end_cancels_the_unsubmitted_rest_once() {
        let mut oe = OrderedExtent::new(0, 8 * B, 50 * B).unwrap();
        assert_eq!(oe.cancel_tail(3 * B), Ok(Progress::Pending));
        assert_eq!(oe.live_end(), 3 * B);
        assert!(oe.account(3 * B, B, true).is_err(), "nothing is accounted in a cancelled tail");
        let done = oe.account(0, 3 * B, true).unwrap();
        assert_eq!(done, Progress::Done(Outcome::Insert { file_off: 0, len: 3 * B, disk_start: 50 * B, free: Some((53 * B, 5 * B)) }));
        assert!(oe.cancel_tail(B).is_err(), "no second finish");
        // A pass that failed: the whole extent is discarded, the cancelled tail included.
        let mut bad = OrderedExtent::new(0, 8 * B, 50 * B).unwrap();
        bad.account(0, 2 * B, false).unwrap();
        assert_eq!(bad.cancel_tail(2 * B), Ok(Progress::Done(Outcome::Discard { free: (50 * B, 8 * B), error: true })));
    }

    #[test]
    fn split_after_the_head_completed_finishes_it() {
        let mut oe = OrderedExtent::new(0, 3 * B, 10 * B).unwrap();
        oe.account(0, B, true).unwrap();
        let (_, head) = oe.split(B).unwrap();
        assert_eq!(head, Progress::Done(Outcome::Insert { file_off: 0, len: B, disk_start: 10 * B, free: None }));
    }

    #[test]
    fn extend_while_pending_only() {
        let mut oe = OrderedExtent::new(0, B, 10 * B).unwrap();
        oe.extend(2 * B).unwrap();
        assert_eq!((oe.len(), oe.end(), oe.disk_end()), (3 * B, 3 * B, 13 * B));
        assert_eq!(oe.account(0, 2 * B, true), Ok(Progress::Pending));
        assert!(oe.extend(100).is_err(), "not block aligned");
        let done = oe.account(2 * B, B, true).unwrap();
        assert_eq!(done, Progress::Done(Outcome::Insert { file_off: 0, len: 3 * B, disk_start: 10 * B, free: None }));
        assert!(oe.extend(B).is_err(), "no extension after the finish");
    }

    #[test]
    fn split_before_the_tail_is_submitted() {
        let mut oe = OrderedExtent::new(0, 4 * B, 10 * B).unwrap();
        let (mut tail, head) = oe.split(B).unwrap();
        assert_eq!(head, Progress::Pending);
        assert_eq!((tail.file_off(), tail.len(), tail.disk_start()), (B, 3 * B, 11 * B));
        assert!(oe.split(B).is_err());
        assert!(matches!(oe.account(0, B, true), Ok(Progress::Done(Outcome::Insert { len, .. })) if len == B));
        assert!(tail.account(0, B, true).is_err(), "outside the tail");
        tail.account(B, 3 * B, true).unwrap();
        assert!(tail.is_finished());
    }
}
