//! Byte-addressed devices: a file / block device, or memory.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

/// A device the store reads and writes blocks on.
pub trait Device {
    /// Reads exactly `buf.len()` bytes at `off` (short files read as zeros).
    fn read_at(&mut self, off: u64, buf: &mut [u8]) -> io::Result<()>;
    /// Writes `buf` at `off`.
    fn write_at(&mut self, off: u64, buf: &[u8]) -> io::Result<()>;
    /// Makes previous writes durable.
    fn flush(&mut self) -> io::Result<()>;
    /// Size in bytes.
    fn size(&mut self) -> io::Result<u64>;
}

/// A regular file or block device.
pub struct FileDev(pub File);

impl Device for FileDev {
    fn read_at(&mut self, off: u64, buf: &mut [u8]) -> io::Result<()> {
        let mut done = 0;
        while done < buf.len() {
            let n = self.0.read_at(&mut buf[done..], off + done as u64)?;
            if n == 0 {
                buf[done..].fill(0);
                break;
            }
            done += n;
        }
        Ok(())
    }
    fn write_at(&mut self, off: u64, buf: &[u8]) -> io::Result<()> {
        self.0.write_all_at(buf, off)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.sync_data()
    }
    fn size(&mut self) -> io::Result<u64> {
        use std::io::{Seek, SeekFrom};
        self.0.seek(SeekFrom::End(0))
    }
}

/// An in-memory image (tests).
#[derive(Clone, Debug)]
pub struct MemDev(pub Vec<u8>);

impl Device for MemDev {
    fn read_at(&mut self, off: u64, buf: &mut [u8]) -> io::Result<()> {
        let off = usize::try_from(off).map_err(|_| io::Error::other("offset"))?;
        let end = off.checked_add(buf.len()).ok_or_else(|| io::Error::other("offset"))?;
        if end > self.0.len() {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "read beyond end of image"));
        }
        buf.copy_from_slice(&self.0[off..end]);
        Ok(())
    }
    fn write_at(&mut self, off: u64, buf: &[u8]) -> io::Result<()> {
        let off = usize::try_from(off).map_err(|_| io::Error::other("offset"))?;
        let end = off.checked_add(buf.len()).ok_or_else(|| io::Error::other("offset"))?;
        if end > self.0.len() {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "write beyond end of image"));
        }
        self.0[off..end].copy_from_slice(buf);
        Ok(())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
    fn size(&mut self) -> io::Result<u64> {
        Ok(self.0.len() as u64)
    }
}
