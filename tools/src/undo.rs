// SPDX-License-Identifier: GPL-2.0
//! An undo log for mkfs: before the first write to each 4 KiB chunk of an existing image file or
//! device, the chunk's contents are saved in memory, so a failed or interrupted mkfs can put back
//! what was there ([`UndoLog::restore`]). Writes stop, with an `Interrupted` error, once a signal
//! has been recorded in the stop flag.
//!
//! The log keeps at most `cap` bytes. A device no larger than the cap can always be restored;
//! a larger one as long as mkfs overwrote no more than the cap (a run without `-d` writes about
//! 1 MiB). Past the cap the log gives up and [`UndoLog::restore`] says from where the old
//! contents are lost.

use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::os::unix::io::AsRawFd;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::dev::{Device, FileDev};

/// Size of the chunks the log saves.
pub const CHUNK: u64 = 4096;

/// The saved contents of an image file or device.
pub struct UndoLog {
    file: File,
    regular: bool,
    orig_len: u64,
    saved: BTreeMap<u64, Vec<u8>>,
    saved_bytes: u64,
    cap: u64,
    lost_at: Option<u64>,
    last_error: Option<String>,
}

/// What [`UndoLog::restore`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Restored {
    /// Chunks written back (or, for all-zero chunks of a regular file, punched out again).
    pub chunks: u64,
    /// The file was cut back to its former length.
    pub truncated: bool,
}

/// Locks a shared log (a poisoned lock is taken over: the log stays consistent).
pub fn lock(log: &Mutex<UndoLog>) -> MutexGuard<'_, UndoLog> {
    match log.lock() {
        Ok(g) => g,
        // A panic elsewhere while holding the lock: the log itself is still consistent (every
        // change to it is a single insert or field store).
        Err(p) => p.into_inner(),
    }
}

impl UndoLog {
    /// A log for `file` (an image file or block device) as it is now, keeping at most `cap`
    /// bytes. The log uses its own handle of the file.
    pub fn new(file: &File, cap: u64) -> io::Result<Arc<Mutex<UndoLog>>> {
        let mut dup = FileDev(file.try_clone()?);
        let regular = file.metadata()?.is_file();
        let orig_len = dup.size()?;
        Ok(Arc::new(Mutex::new(UndoLog { file: dup.0, regular, orig_len, saved: BTreeMap::new(), saved_bytes: 0, cap, lost_at: None, last_error: None })))
    }

    /// The length of the file or device when the log was made.
    pub fn original_len(&self) -> u64 {
        self.orig_len
    }

    /// The last write or flush error of the device, as text ("write at byte N: ...").
    pub fn last_error(&self) -> Option<&str> {
        self.last_error.as_deref()
    }

    /// Bytes of old contents saved so far.
    pub fn saved_bytes(&self) -> u64 {
        self.saved_bytes
    }

    /// Saves the chunks of `off..off+len` not saved yet (only what lies inside the original
    /// length: what lies beyond is cut off again by the restore).
    fn save(&mut self, off: u64, len: u64) -> io::Result<()> {
        if self.lost_at.is_some() || len == 0 {
            return Ok(());
        }
        let end = off.saturating_add(len).min(self.orig_len);
        if off >= end {
            return Ok(());
        }
        let mut c = off / CHUNK;
        while c * CHUNK < end {
            if !self.saved.contains_key(&c) {
                let start = c * CHUNK;
                let n = CHUNK.min(self.orig_len - start);
                if self.saved_bytes + n > self.cap {
                    // Give up: keeping part of the old contents cannot restore them.
                    self.lost_at = Some(start);
                    self.saved.clear();
                    self.saved_bytes = 0;
                    return Ok(());
                }
                // n <= CHUNK, so the cast cannot truncate.
                let mut buf = vec![0u8; n as usize];
                let mut dev = FileDev(self.file.try_clone()?);
                dev.read_at(start, &mut buf)?;
                self.saved.insert(c, buf);
                self.saved_bytes += n;
            }
            c += 1;
        }
        Ok(())
    }

    /// Forgets the saved contents (mkfs succeeded).
    pub fn discard(&mut self) {
        self.saved.clear();
        self.saved_bytes = 0;
    }

    /// Puts back every saved chunk and the original length, then flushes. All-zero chunks of
    /// a regular file are punched out (they were holes or zeros: the bytes are the same, and a
    /// full filesystem has no room to write zeros into what were holes), before the others are
    /// written back. Fails when the log had to give up or an I/O fails.
    pub fn restore(&mut self) -> Result<Restored, String> {
        if let Some(at) = self.lost_at {
            return Err(format!(
                "more than {} MiB were overwritten, more than the undo log keeps; the old contents from byte {at} on are lost",
                self.cap >> 20
            ));
        }
        let mut chunks = 0;
        let saved = std::mem::take(&mut self.saved);
        let (zero, data): (Vec<_>, Vec<_>) = saved.iter().partition(|(_, b)| b.iter().all(|&x| x == 0));
        for (&c, buf) in zero.iter().chain(data.iter()) {
            let off = c * CHUNK;
            let punched = buf.iter().all(|&x| x == 0) && self.regular && punch_hole(&self.file, off, buf.len() as u64).is_ok();
            if !punched {
                self.file.write_all_at(buf, off).map_err(|e| format!("cannot write back bytes {off}..{}: {e}", off + buf.len() as u64))?;
            }
            chunks += 1;
        }
        self.saved = saved;
        let mut truncated = false;
        if self.regular {
            let now = self.file.metadata().map_err(|e| format!("cannot stat: {e}"))?.len();
            if now != self.orig_len {
                self.file.set_len(self.orig_len).map_err(|e| format!("cannot cut back to {} bytes: {e}", self.orig_len))?;
                truncated = true;
            }
        }
        self.file.sync_all().map_err(|e| format!("cannot flush the restored contents: {e}"))?;
        Ok(Restored { chunks, truncated })
    }
}

/// `fallocate(PUNCH_HOLE | KEEP_SIZE)`.
fn punch_hole(f: &File, off: u64, len: u64) -> io::Result<()> {
    let (Ok(o), Ok(l)) = (libc::off_t::try_from(off), libc::off_t::try_from(len)) else {
        return Err(io::Error::from(io::ErrorKind::InvalidInput));
    };
    // SAFETY: fallocate(2) on a valid descriptor with plain integer arguments.
    let r = unsafe { libc::fallocate(f.as_raw_fd(), libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE, o, l) };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// A [`FileDev`] whose writes go through an [`UndoLog`] and stop once `stop` holds a signal
/// number.
pub struct UndoDev {
    /// The device.
    pub dev: FileDev,
    log: Arc<Mutex<UndoLog>>,
    stop: &'static AtomicI32,
}

impl UndoDev {
    /// Writes to `dev` are logged in `log`; a nonzero `stop` makes them fail.
    pub fn new(dev: FileDev, log: Arc<Mutex<UndoLog>>, stop: &'static AtomicI32) -> Self {
        UndoDev { dev, log, stop }
    }

    fn check_stop(&self) -> io::Result<()> {
        match self.stop.load(Ordering::SeqCst) {
            0 => Ok(()),
            sig => Err(io::Error::new(io::ErrorKind::Interrupted, format!("interrupted by signal {sig}"))),
        }
    }
}

impl Device for UndoDev {
    fn read_at(&mut self, off: u64, buf: &mut [u8]) -> io::Result<()> {
        self.dev.read_at(off, buf)
    }
    fn write_at(&mut self, off: u64, buf: &[u8]) -> io::Result<()> {
        self.check_stop()?;
        let mut log = lock(&self.log);
        let r = log.save(off, buf.len() as u64).and_then(|()| self.dev.write_at(off, buf));
        if let Err(e) = &r {
            log.last_error = Some(format!("write at byte {off}: {e}"));
        }
        r
    }
    fn flush(&mut self) -> io::Result<()> {
        self.check_stop()?;
        let r = self.dev.flush();
        if let Err(e) = &r {
            lock(&self.log).last_error = Some(format!("flush: {e}"));
        }
        r
    }
    fn size(&mut self) -> io::Result<u64> {
        self.dev.size()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static NO_STOP: AtomicI32 = AtomicI32::new(0);
    static STOP: AtomicI32 = AtomicI32::new(0);

    fn scratch(name: &str, contents: &[u8]) -> (std::path::PathBuf, File) {
        let p = std::env::temp_dir().join(format!("ferrofs-undo-{}-{name}", std::process::id()));
        std::fs::write(&p, contents).unwrap();
        let f = std::fs::OpenOptions::new().read(true).write(true).open(&p).unwrap();
        (p, f)
    }

    #[test]
    fn restores_bytes_and_length() {
        let orig: Vec<u8> = (0..20_000u32).map(|i| (i % 251) as u8).collect();
        let (p, f) = scratch("a", &orig);
        let log = UndoLog::new(&f, 1 << 20).unwrap();
        let mut d = UndoDev::new(FileDev(f.try_clone().unwrap()), log.clone(), &NO_STOP);
        d.write_at(100, &[0xff; 9000]).unwrap();
        d.write_at(19_000, &[0xee; 5000]).unwrap(); // past the end: extends
        d.write_at(150, &[1; 10]).unwrap(); // already saved chunk
        assert_eq!(lock(&log).saved_bytes(), 4096 * 3 + (20_000 - 16_384));
        let r = lock(&log).restore().unwrap();
        assert!(r.truncated && r.chunks == 4, "{r:?}");
        assert_eq!(std::fs::read(&p).unwrap(), orig);
        let _ = std::fs::remove_file(p);
    }

    #[test]
    fn zero_chunks_are_punched_and_the_cap_gives_up() {
        let mut orig = vec![0u8; 64 * 1024];
        orig[40_000] = 7;
        let (p, f) = scratch("b", &orig);
        let log = UndoLog::new(&f, 16 * 4096).unwrap();
        let mut d = UndoDev::new(FileDev(f.try_clone().unwrap()), log.clone(), &NO_STOP);
        d.write_at(0, &vec![0xaa; 64 * 1024]).unwrap();
        lock(&log).restore().unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), orig);
        // A cap smaller than what is overwritten: the restore refuses and says so.
        let log = UndoLog::new(&f, 2 * 4096).unwrap();
        let mut d = UndoDev::new(FileDev(f.try_clone().unwrap()), log.clone(), &NO_STOP);
        d.write_at(0, &vec![0xbb; 3 * 4096]).unwrap();
        let e = lock(&log).restore().unwrap_err();
        assert!(e.contains("from byte 8192 on are lost"), "{e}");
        let _ = std::fs::remove_file(p);
    }

    #[test]
    fn a_signal_stops_writes() {
        let (p, f) = scratch("c", &[5u8; 8192]);
        let log = UndoLog::new(&f, 1 << 20).unwrap();
        let mut d = UndoDev::new(FileDev(f.try_clone().unwrap()), log.clone(), &STOP);
        d.write_at(0, &[1; 10]).unwrap();
        STOP.store(2, Ordering::SeqCst);
        let e = d.write_at(4096, &[1; 10]).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::Interrupted);
        lock(&log).restore().unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), vec![5u8; 8192]);
        let _ = std::fs::remove_file(p);
    }
}
