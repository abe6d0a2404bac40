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

/// `O_EXCL` (Linux): on a block device opened without `O_CREAT`, an exclusive open that the
/// kernel refuses with `EBUSY` while the device is mounted or otherwise claimed.
const O_EXCL: i32 = 0o200;

/// Opens `path` for a tool. A block device opened for writing is opened exclusively, so a mounted
/// (or otherwise claimed) device is refused, with the mount point named when there is one.
/// `create` creates a missing regular file.
pub fn open_target(path: &str, write: bool, create: bool) -> Result<File, String> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
    let meta = std::fs::metadata(path).ok();
    if meta.as_ref().is_some_and(|m| m.is_dir()) {
        return Err(format!("{path} is a directory, not a device or an image file"));
    }
    let block = meta.as_ref().is_some_and(|m| m.file_type().is_block_device());
    let mut o = std::fs::OpenOptions::new();
    o.read(true).write(write).create(create && write && meta.is_none());
    if block && write {
        o.custom_flags(O_EXCL);
    }
    o.open(path).map_err(|e| {
        if e.raw_os_error() == Some(16) {
            let rdev = meta.as_ref().map_or(0, |m| m.rdev());
            match mount_point_of(rdev) {
                Some(mp) => format!("{path} is mounted on {mp}; refusing to write to it"),
                None => format!("{path} is in use (claimed by the kernel: mounted, swap, device-mapper or md); refusing to write to it"),
            }
        } else {
            format!("cannot open {path}: {e}")
        }
    })
}

/// Is `path` a block device in use? `Some("mounted on /mnt")` or `Some("in use (...)")` when
/// the kernel refuses an exclusive read-only open of it; `None` for a free device, a file, or
/// a path that cannot be opened (the caller's own open reports that).
pub fn in_use(path: &str) -> Option<String> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
    let meta = std::fs::metadata(path).ok()?;
    if !meta.file_type().is_block_device() {
        return None;
    }
    match std::fs::OpenOptions::new().read(true).custom_flags(O_EXCL).open(path) {
        Err(e) if e.raw_os_error() == Some(16) => Some(match mount_point_of(meta.rdev()) {
            Some(mp) => format!("mounted on {mp}"),
            None => "in use (claimed by the kernel: mounted, swap, device-mapper, md, or held open exclusively)".to_string(),
        }),
        _ => None,
    }
}

/// Where the block device `rdev` is mounted, from /proc/self/mountinfo.
fn mount_point_of(rdev: u64) -> Option<String> {
    let (major, minor) = (((rdev >> 8) & 0xfff) | ((rdev >> 32) & !0xfff), (rdev & 0xff) | ((rdev >> 12) & !0xff));
    let want = format!("{major}:{minor}");
    let info = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    info.lines().find_map(|l| {
        let f: Vec<&str> = l.split(' ').collect();
        (f.get(2) == Some(&want.as_str())).then(|| f.get(4).map(|s| s.to_string())).flatten()
    })
}
