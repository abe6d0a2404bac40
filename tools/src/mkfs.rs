//! mkfs helpers: argument parsing, signature detection, populating from a
//! host directory.

use std::collections::HashMap;
use std::fs;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use ferrofs_format::inode;
use ferrofs_format::items::{InodeItem, Timespec, FT_DIR};
use ferrofs_format::layout::{BLOCK_SIZE, MAX_FILE_SIZE, MAX_NAME_LEN, MAX_SYMLINK_LEN, ROOT_DIR_INO};
use ferrofs_format::superblock;

use crate::dev::Device;
use crate::fs::Fs;

/// Parses a size as mke2fs takes one: a number of bytes with an optional suffix `k`, `m`, `g`,
/// `t`, `p` (powers of 1024, either case, optionally followed by `iB` or `B`) or `s` (512-byte
/// sectors).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let lower = t.to_ascii_lowercase();
    let body = lower.strip_suffix("ib").or_else(|| lower.strip_suffix('b').filter(|b| b.ends_with(|c: char| c.is_ascii_alphabetic()))).unwrap_or(&lower);
    let (num, mul) = match body.chars().last() {
        Some('k') => (&body[..body.len() - 1], 1u64 << 10),
        Some('m') => (&body[..body.len() - 1], 1 << 20),
        Some('g') => (&body[..body.len() - 1], 1 << 30),
        Some('t') => (&body[..body.len() - 1], 1 << 40),
        Some('p') => (&body[..body.len() - 1], 1 << 50),
        Some('s') => (&body[..body.len() - 1], 512),
        _ => (body, 1),
    };
    if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("invalid size '{s}'"));
    }
    let n: u64 = num.parse().map_err(|_| format!("invalid size '{s}'"))?;
    n.checked_mul(mul).ok_or_else(|| format!("size '{s}' too large"))
}

/// Parses the FS-SIZE that follows the device, as mke2fs reads its fs-size: a number without a
/// suffix counts KiB (mke2fs's default 1 KiB blocks; ferrofs has no `-b`), one with a suffix is
/// read as by [`parse_size`]. `-s` keeps taking bytes.
pub fn parse_fs_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        let n: u64 = t.parse().map_err(|_| format!("invalid size '{s}'"))?;
        return n.checked_mul(1024).ok_or_else(|| format!("size '{s}' too large"));
    }
    parse_size(s)
}

/// Parses a UUID in the usual 8-4-4-4-12 hex form (dashes optional).
pub fn parse_uuid(s: &str) -> Result<[u8; 16], String> {
    let hex: Vec<u8> = s.bytes().filter(|&b| b != b'-').collect();
    if hex.len() != 32 {
        return Err(format!("invalid UUID '{s}'"));
    }
    let mut out = [0u8; 16];
    for (i, o) in out.iter_mut().enumerate() {
        let pair = std::str::from_utf8(&hex[2 * i..2 * i + 2]).map_err(|_| format!("invalid UUID '{s}'"))?;
        *o = u8::from_str_radix(pair, 16).map_err(|_| format!("invalid UUID '{s}'"))?;
    }
    Ok(out)
}

/// Formats a UUID.
pub fn format_uuid(u: &[u8; 16]) -> String {
    let h: Vec<String> = u.iter().map(|b| format!("{b:02x}")).collect();
    format!("{}-{}-{}-{}-{}", h[0..4].concat(), h[4..6].concat(), h[6..8].concat(), h[8..10].concat(), h[10..16].concat())
}

/// A random (version 4) UUID from `/dev/urandom`.
pub fn random_uuid() -> [u8; 16] {
    let mut u = [0u8; 16];
    let ok = fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut u)).is_ok();
    if !ok {
        let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        u = (t ^ (u128::from(std::process::id()) << 64)).to_le_bytes();
    }
    u[6] = (u[6] & 0x0f) | 0x40;
    u[8] = (u[8] & 0x3f) | 0x80;
    u
}

/// Current time.
pub fn now() -> Timespec {
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    Timespec { sec: d.as_secs() as i64, nsec: d.subsec_nanos() }
}

/// What libblkid finds on `path` (`blkid -p`: filesystems, partition tables, LUKS, swap, RAID
/// members, ...), as a description like `crypto_LUKS (TYPE)` or `dos partition table (PTTYPE)`.
/// `Ok(None)`: nothing found. An ambivalent result (two signatures) is a finding too.
/// `Err`: blkid could not be run (not installed).
pub fn blkid_probe(path: &str) -> Result<Option<String>, String> {
    let out = std::process::Command::new("blkid")
        .args(["-p", "-o", "export", "--", path])
        .output()
        .map_err(|e| format!("cannot run blkid -p (util-linux): {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |k: &str| text.lines().find_map(|l| l.strip_prefix(k).map(str::to_string));
    match out.status.code() {
        // Nothing identified (or a path that cannot be opened yet: mkfs creates it).
        Some(2) => Ok(None),
        Some(0) => Ok(match (field("TYPE="), field("PTTYPE=")) {
            (Some(t), _) => Some(format!("{t} (TYPE)")),
            (None, Some(p)) => Some(format!("{p} partition table (PTTYPE)")),
            (None, None) => Some(field("USAGE=").map_or_else(|| "an unnamed signature".to_string(), |u| format!("{u} signature"))),
        }),
        Some(8) => Ok(Some("more than one signature (blkid -p: ambivalent result)".into())),
        _ => Ok(Some(format!("blkid -p failed ({}): {}", out.status, String::from_utf8_lossy(&out.stderr).trim()))),
    }
}

/// A signature blkid does not know: ferrofs itself; with `fallback` (blkid could not be run)
/// also a few common ones. libblkid ([`blkid_probe`]) is the real check.
pub fn detect_signature<D: Device>(dev: &mut D, fallback: bool) -> Option<&'static str> {
    let mut buf = vec![0u8; 128 * 1024];
    let size = dev.size().ok()?;
    let n = (buf.len() as u64).min(size) as usize;
    dev.read_at(0, &mut buf[..n]).ok()?;
    let at = |off: usize, pat: &[u8]| buf.get(off..off + pat.len()) == Some(pat);
    if buf.get(65536..65536 + BLOCK_SIZE).is_some_and(superblock::has_magic) {
        return Some("ferrofs");
    }
    if !fallback {
        return None;
    }
    if at(1080, &[0x53, 0xEF]) {
        return Some("ext2/ext3/ext4");
    }
    if at(0, b"XFSB") {
        return Some("xfs");
    }
    if at(65536 + 64, b"_BHRfS_M") {
        return Some("btrfs");
    }
    if at(4096 - 10, b"SWAPSPACE2") || at(4096 - 10, b"SWAP-SPACE") {
        return Some("swap");
    }
    if at(0, b"LUKS\xba\xbe") {
        return Some("LUKS");
    }
    if at(512, b"EFI PART") {
        return Some("GPT partition table");
    }
    if at(510, &[0x55, 0xAA]) {
        return Some("MBR boot signature");
    }
    None
}

/// Counters from [`populate`].
#[derive(Debug, Default, Clone, Copy)]
pub struct PopulateStats {
    /// Inodes created.
    pub inodes: u64,
    /// Data bytes written.
    pub bytes: u64,
}

fn ts(sec: i64, nsec: i64) -> Timespec {
    Timespec { sec, nsec: u32::try_from(nsec).unwrap_or(0).min(999_999_999) }
}

/// Linux `new_encode_dev` of a glibc `st_rdev`.
pub fn encode_rdev(rdev: u64) -> u64 {
    let major = ((rdev >> 8) & 0xfff) | ((rdev >> 32) & !0xfff);
    let minor = (rdev & 0xff) | ((rdev >> 12) & !0xff);
    (minor & 0xff) | (major << 8) | ((minor & !0xff) << 12)
}

/// Copies the host tree under `src` into the root directory of `fs`
/// (files with data, directories, symlinks, device nodes, FIFOs, sockets,
/// hard links; modes, owners and times; all-zero blocks become holes).
pub fn populate<D: Device>(fs: &mut Fs<D>, src: &Path) -> Result<PopulateStats, String> {
    let meta = fs::metadata(src).map_err(|e| format!("{}: {e}", src.display()))?;
    if !meta.is_dir() {
        return Err(format!("{}: not a directory", src.display()));
    }
    let mut st = PopulateStats::default();
    let mut links = HashMap::new();
    // the root directory takes the source directory's attributes
    let mut root = fs.read_inode(ROOT_DIR_INO).map_err(|e| e.to_string())?.ok_or("root inode missing")?;
    root.mode = meta.mode();
    root.uid = meta.uid();
    root.gid = meta.gid();
    root.atime = ts(meta.atime(), meta.atime_nsec());
    root.mtime = ts(meta.mtime(), meta.mtime_nsec());
    root.ctime = ts(meta.ctime(), meta.ctime_nsec());
    fs.write_inode(ROOT_DIR_INO, &root).map_err(|e| e.to_string())?;
    add_dir(fs, src, ROOT_DIR_INO, &mut links, &mut st)?;
    Ok(st)
}

fn add_dir<D: Device>(fs: &mut Fs<D>, host: &Path, dir_ino: u64, links: &mut HashMap<(u64, u64), u64>, st: &mut PopulateStats) -> Result<(), String> {
    let err = |p: &Path, e: &dyn std::fmt::Display| format!("{}: {e}", p.display());
    let mut entries: Vec<_> = fs::read_dir(host).map_err(|e| err(host, &e))?.collect::<Result<_, _>>().map_err(|e| err(host, &e))?;
    entries.sort_by_key(|e| e.file_name());
    let mut subdirs = 0u32;
    // A directory's size is the sum of its names' lengths (docs/FORMAT.md section 4).
    let mut names_len = 0u64;
    for ent in entries {
        let path = ent.path();
        let name = ent.file_name();
        let name = name.as_bytes();
        if name.len() > MAX_NAME_LEN {
            return Err(format!("{}: name longer than {MAX_NAME_LEN} bytes", path.display()));
        }
        names_len += name.len() as u64;
        let m = fs::symlink_metadata(&path).map_err(|e| err(&path, &e))?;
        let ft = m.file_type();
        if !ft.is_dir() && m.nlink() > 1 {
            if let Some(&ino) = links.get(&(m.dev(), m.ino())) {
                let mut i = fs.read_inode(ino).map_err(|e| e.to_string())?.ok_or("hard link target missing")?;
                i.nlink += 1;
                fs.write_inode(ino, &i).map_err(|e| e.to_string())?;
                fs.link(dir_ino, name, ino, i.ftype()).map_err(|e| err(&path, &e))?;
                continue;
            }
        }
        let ino = fs.alloc_ino();
        let gen = fs.generation();
        let mut i = InodeItem {
            generation: gen,
            nlink: 1,
            uid: m.uid(),
            gid: m.gid(),
            mode: m.mode(),
            atime: ts(m.atime(), m.atime_nsec()),
            mtime: ts(m.mtime(), m.mtime_nsec()),
            ctime: ts(m.ctime(), m.ctime_nsec()),
            crtime: ts(m.ctime(), m.ctime_nsec()),
            ..Default::default()
        };
        if ft.is_dir() {
            i.nlink = 2;
            fs.write_inode(ino, &i).map_err(|e| e.to_string())?;
            fs.link(dir_ino, name, ino, FT_DIR).map_err(|e| err(&path, &e))?;
            add_dir(fs, &path, ino, links, st)?;
            subdirs += 1;
        } else {
            if ft.is_file() {
                if m.len() > MAX_FILE_SIZE {
                    return Err(format!("{}: file too large", path.display()));
                }
                i.size = m.len();
                i.nbytes = copy_file(fs, &path, ino)?;
                st.bytes += i.nbytes;
            } else if ft.is_symlink() {
                let t = fs::read_link(&path).map_err(|e| err(&path, &e))?;
                let t = t.as_os_str().as_bytes();
                if t.is_empty() || t.len() > MAX_SYMLINK_LEN {
                    return Err(format!("{}: symlink target too long", path.display()));
                }
                inode::write_symlink(&mut fs.store, &mut fs.fs_root, ino, t).map_err(|e| err(&path, &e))?;
                i.size = t.len() as u64;
            } else if ft.is_block_device() || ft.is_char_device() {
                i.rdev = encode_rdev(m.rdev());
            } else if !(ft.is_fifo() || ft.is_socket()) {
                return Err(format!("{}: unsupported file type", path.display()));
            }
            fs.write_inode(ino, &i).map_err(|e| e.to_string())?;
            let ftype = i.ftype();
            fs.link(dir_ino, name, ino, ftype).map_err(|e| err(&path, &e))?;
            if m.nlink() > 1 {
                links.insert((m.dev(), m.ino()), ino);
            }
        }
        st.inodes += 1;
    }
    if subdirs > 0 || names_len > 0 {
        let mut d = fs.read_inode(dir_ino).map_err(|e| e.to_string())?.ok_or("directory inode missing")?;
        d.nlink = 2 + subdirs;
        d.size = names_len;
        fs.write_inode(dir_ino, &d).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Copies a host file's data; all-zero blocks are left as holes.
/// Returns the bytes allocated.
fn copy_file<D: Device>(fs: &mut Fs<D>, path: &Path, ino: u64) -> Result<u64, String> {
    const CHUNK: usize = 1 << 20;
    let mut f = fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut buf = vec![0u8; CHUNK];
    let mut pos = 0u64;
    let mut allocated = 0u64;
    loop {
        // fill the chunk (short reads are fine)
        let mut n = 0;
        while n < CHUNK {
            let r = f.read(&mut buf[n..]).map_err(|e| format!("{}: {e}", path.display()))?;
            if r == 0 {
                break;
            }
            n += r;
        }
        if n == 0 {
            break;
        }
        let padded = n.div_ceil(BLOCK_SIZE) * BLOCK_SIZE;
        buf[n..padded].fill(0);
        let mut b = 0;
        while b < padded {
            if buf[b..b + BLOCK_SIZE].iter().all(|&x| x == 0) {
                b += BLOCK_SIZE;
                continue;
            }
            let start = b;
            while b < padded && buf[b..b + BLOCK_SIZE].iter().any(|&x| x != 0) {
                b += BLOCK_SIZE;
            }
            allocated += fs.write_data(ino, pos + start as u64, &buf[start..b]).map_err(|e| format!("{}: {e}", path.display()))?;
        }
        pos += n as u64;
        if n < CHUNK {
            break;
        }
    }
    Ok(allocated)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_uuids() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("16m"), Ok(16 << 20));
        assert_eq!(parse_size("2G"), Ok(2 << 30));
        assert_eq!(parse_size("3k"), Ok(3072));
        assert!(parse_size("x").is_err());
        assert_eq!(parse_size("2s"), Ok(1024));
        assert_eq!(parse_size("1MiB"), Ok(1 << 20));
        assert_eq!(parse_size("1GB"), Ok(1 << 30));
        assert_eq!(parse_size("1P"), Ok(1 << 50));
        assert!(parse_size("").is_err() && parse_size("m").is_err() && parse_size("-1m").is_err() && parse_size("1é").is_err());
        assert!(parse_size("99999999999999999t").is_err());
        // FS-SIZE after the device: KiB without a suffix (as mke2fs), the rest as -s.
        assert_eq!(parse_fs_size("20480"), Ok(20 << 20));
        assert_eq!(parse_fs_size("1"), Ok(1024));
        assert_eq!(parse_fs_size("16m"), Ok(16 << 20));
        assert_eq!(parse_fs_size("16384k"), Ok(16 << 20));
        assert_eq!(parse_fs_size("32768s"), Ok(16 << 20));
        assert_eq!(parse_fs_size("1GiB"), Ok(1 << 30));
        assert!(parse_fs_size("").is_err() && parse_fs_size("x").is_err() && parse_fs_size("-1").is_err());
        assert!(parse_fs_size("18014398509481984").is_err(), "2^54 KiB overflows");
        assert_eq!(parse_size("20480"), Ok(20480), "-s stays in bytes");
        let u = parse_uuid("01234567-89ab-cdef-0123-456789abcdef").unwrap();
        assert_eq!(format_uuid(&u), "01234567-89ab-cdef-0123-456789abcdef");
        assert!(parse_uuid("0123").is_err());
        let r = random_uuid();
        assert_eq!(r[6] >> 4, 4);
        // glibc makedev(8, 1) and makedev(259, 65536)
        assert_eq!(encode_rdev(0x801), 0x801);
        let makedev = |ma: u64, mi: u64| ((ma & 0xfff) << 8) | (mi & 0xff) | ((mi & !0xff) << 12) | ((ma & !0xfff) << 32);
        assert_eq!(encode_rdev(makedev(259, 65536)), (259 << 8) | ((65536 & !0xff) << 12));
    }
}
