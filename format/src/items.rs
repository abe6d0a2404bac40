//! Item value layouts.  Parsers take the item's value bytes and the leaf
//! block they came from (for the error) and never panic.

use super::bytes::{get_i64, get_u16, get_u32, get_u64, get_u8, put_bytes, put_i64, put_u32, put_u64, put_u8};
use super::error::FsError;
use super::layout::{MAX_FILE_SIZE, MAX_NAME_LEN};

/// Regular file (`DT_REG`).
pub const FT_REG: u8 = 8;
/// Directory (`DT_DIR`).
pub const FT_DIR: u8 = 4;
/// Symbolic link (`DT_LNK`).
pub const FT_LNK: u8 = 10;
/// Character device (`DT_CHR`).
pub const FT_CHR: u8 = 2;
/// Block device (`DT_BLK`).
pub const FT_BLK: u8 = 6;
/// FIFO (`DT_FIFO`).
pub const FT_FIFO: u8 = 1;
/// Socket (`DT_SOCK`).
pub const FT_SOCK: u8 = 12;

/// `S_IFMT` mask of the mode.
pub const S_IFMT: u32 = 0o170000;
/// Directory mode bits.
pub const S_IFDIR: u32 = 0o040000;
/// Regular file mode bits.
pub const S_IFREG: u32 = 0o100000;
/// Symlink mode bits.
pub const S_IFLNK: u32 = 0o120000;

/// Directory entry file type for a mode (`(mode & S_IFMT) >> 12`), if valid.
pub fn ftype_from_mode(mode: u32) -> Option<u8> {
    let t = ((mode & S_IFMT) >> 12) as u8;
    match t {
        FT_REG | FT_DIR | FT_LNK | FT_CHR | FT_BLK | FT_FIFO | FT_SOCK => Some(t),
        _ => None,
    }
}

/// FNV-1a offset basis.
const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// Continues a 64-bit FNV-1a hash `h` over `bytes`.
fn fnv1a(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Hash of a name for `DIR_ENTRY` / `XATTR_ITEM` keys: 64-bit FNV-1a with
/// the top bit cleared.
pub fn name_hash(name: &[u8]) -> u64 {
    fnv1a(FNV_OFFSET, name) & (u64::MAX >> 1)
}

/// Hash of (parent directory, name) for `INODE_EXTREF` keys: 64-bit FNV-1a
/// over the directory's inode number (8 bytes, little-endian) then the name,
/// with the top bit cleared.  Seeding with the directory spreads the same
/// name in different directories over different items.
pub fn extref_hash(dir: u64, name: &[u8]) -> u64 {
    fnv1a(fnv1a(FNV_OFFSET, &dir.to_le_bytes()), name) & (u64::MAX >> 1)
}

/// Checks a directory entry name: 1..=255 bytes, no `/` or NUL, not `.`/`..`.
pub fn check_name(name: &[u8]) -> Result<(), FsError> {
    if name.len() > MAX_NAME_LEN {
        return Err(FsError::NameTooLong);
    }
    if name.is_empty() || name == b"." || name == b".." || name.contains(&b'/') || name.contains(&0) {
        return Err(FsError::Invalid("bad file name"));
    }
    Ok(())
}

/// Seconds and nanoseconds since the epoch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timespec {
    /// Seconds (may be negative).
    pub sec: i64,
    /// Nanoseconds, `< 1_000_000_000`.
    pub nsec: u32,
}

/// `chattr +S`: writes and namespace changes are synchronous.
pub const INODE_FLAG_SYNC: u64 = 0x8;
/// `chattr +i`: no change at all (data, attributes, names, links).
pub const INODE_FLAG_IMMUTABLE: u64 = 0x10;
/// `chattr +a`: data only appended; no other change.
pub const INODE_FLAG_APPEND: u64 = 0x20;
/// `chattr +d`: skipped by dump(8).
pub const INODE_FLAG_NODUMP: u64 = 0x40;
/// `chattr +A`: atime not updated.
pub const INODE_FLAG_NOATIME: u64 = 0x80;
/// `chattr +D` (directories): namespace changes in it are synchronous.
pub const INODE_FLAG_DIRSYNC: u64 = 0x10000;
/// Every defined inode flag.
pub const INODE_FLAGS_KNOWN: u64 =
    INODE_FLAG_SYNC | INODE_FLAG_IMMUTABLE | INODE_FLAG_APPEND | INODE_FLAG_NODUMP | INODE_FLAG_NOATIME | INODE_FLAG_DIRSYNC;

/// `INODE_ITEM` value (128 bytes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InodeItem {
    /// Generation in which the inode was created.
    pub generation: u64,
    /// `i_size` in bytes.
    pub size: u64,
    /// Bytes of disk space referenced by the file's extents.
    pub nbytes: u64,
    /// Link count.
    pub nlink: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Mode including `S_IFMT`.
    pub mode: u32,
    /// Device number of device nodes (`new_encode_dev` format).
    pub rdev: u64,
    /// Inode flags: `INODE_FLAG_*` (the kernel's `FS_*_FL` values, what `chattr` sets); others
    /// are corruption.
    pub flags: u64,
    /// Access time.
    pub atime: Timespec,
    /// Modification time.
    pub mtime: Timespec,
    /// Change time.
    pub ctime: Timespec,
    /// Creation time.
    pub crtime: Timespec,
}

/// Size of an encoded [`InodeItem`].
pub const INODE_ITEM_SIZE: usize = 128;

fn ts_get(b: &[u8], o: usize) -> Option<Timespec> {
    Some(Timespec { sec: get_i64(b, o)?, nsec: get_u32(b, o + 8)? })
}

fn ts_put(b: &mut [u8], o: usize, t: &Timespec) -> Option<()> {
    put_i64(b, o, t.sec)?;
    put_u32(b, o + 8, t.nsec)
}

impl InodeItem {
    /// Parses an `INODE_ITEM` value from leaf `blk`.
    pub fn parse(d: &[u8], blk: u64) -> Result<InodeItem, FsError> {
        let c = FsError::corrupt(blk, "bad inode item");
        if d.len() != INODE_ITEM_SIZE {
            return Err(c);
        }
        let i = InodeItem {
            generation: get_u64(d, 0).ok_or(c)?,
            size: get_u64(d, 8).ok_or(c)?,
            nbytes: get_u64(d, 16).ok_or(c)?,
            nlink: get_u32(d, 24).ok_or(c)?,
            uid: get_u32(d, 28).ok_or(c)?,
            gid: get_u32(d, 32).ok_or(c)?,
            mode: get_u32(d, 36).ok_or(c)?,
            rdev: get_u64(d, 40).ok_or(c)?,
            flags: get_u64(d, 48).ok_or(c)?,
            atime: ts_get(d, 56).ok_or(c)?,
            mtime: ts_get(d, 68).ok_or(c)?,
            ctime: ts_get(d, 80).ok_or(c)?,
            crtime: ts_get(d, 92).ok_or(c)?,
        };
        for t in [&i.atime, &i.mtime, &i.ctime, &i.crtime] {
            if t.nsec >= 1_000_000_000 {
                return Err(FsError::corrupt(blk, "inode timestamp nanoseconds out of range"));
            }
        }
        if ftype_from_mode(i.mode).is_none() {
            return Err(FsError::corrupt(blk, "inode has invalid file type"));
        }
        if i.flags & !INODE_FLAGS_KNOWN != 0 {
            return Err(FsError::corrupt(blk, "inode has unknown flags"));
        }
        if i.size > MAX_FILE_SIZE {
            return Err(FsError::corrupt(blk, "inode size beyond the maximum file size"));
        }
        Ok(i)
    }

    /// Encodes into `out` (exactly [`INODE_ITEM_SIZE`] bytes).
    pub fn write_to(&self, out: &mut [u8]) -> Result<(), FsError> {
        let e = FsError::Invalid("inode buffer size");
        if out.len() != INODE_ITEM_SIZE {
            return Err(e);
        }
        out.fill(0);
        put_u64(out, 0, self.generation).ok_or(e)?;
        put_u64(out, 8, self.size).ok_or(e)?;
        put_u64(out, 16, self.nbytes).ok_or(e)?;
        put_u32(out, 24, self.nlink).ok_or(e)?;
        put_u32(out, 28, self.uid).ok_or(e)?;
        put_u32(out, 32, self.gid).ok_or(e)?;
        put_u32(out, 36, self.mode).ok_or(e)?;
        put_u64(out, 40, self.rdev).ok_or(e)?;
        put_u64(out, 48, self.flags).ok_or(e)?;
        ts_put(out, 56, &self.atime).ok_or(e)?;
        ts_put(out, 68, &self.mtime).ok_or(e)?;
        ts_put(out, 80, &self.ctime).ok_or(e)?;
        ts_put(out, 92, &self.crtime).ok_or(e)
    }

    /// Encodes into a fresh array.
    pub fn to_bytes(&self) -> [u8; INODE_ITEM_SIZE] {
        let mut b = [0u8; INODE_ITEM_SIZE];
        // cannot fail: the buffer has the right size
        let _ = self.write_to(&mut b);
        b
    }

    /// The directory-entry file type of this inode.
    pub fn ftype(&self) -> u8 {
        ftype_from_mode(self.mode).unwrap_or(0)
    }
}

/// One entry inside a `DIR_ENTRY` item (an item holds one or more entries
/// whose names share a hash): ino u64, index u64, type u8, name_len u8, name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DirEntry<'a> {
    /// Child inode.
    pub ino: u64,
    /// The entry's `DIR_INDEX` offset.
    pub index: u64,
    /// File type (`FT_*`).
    pub ftype: u8,
    /// Name bytes.
    pub name: &'a [u8],
}

/// Fixed part of a [`DirEntry`].
pub const DIR_ENTRY_HDR: usize = 18;

impl<'a> DirEntry<'a> {
    /// Encoded size.
    pub fn len(&self) -> usize {
        DIR_ENTRY_HDR + self.name.len()
    }
    /// Always false (an entry has a header).
    pub fn is_empty(&self) -> bool {
        false
    }
    /// Encodes at the start of `out`.
    pub fn write_to(&self, out: &mut [u8]) -> Result<(), FsError> {
        let e = FsError::Invalid("dir entry buffer too small");
        let nl = u8::try_from(self.name.len()).map_err(|_| FsError::NameTooLong)?;
        put_u64(out, 0, self.ino).ok_or(e)?;
        put_u64(out, 8, self.index).ok_or(e)?;
        put_u8(out, 16, self.ftype).ok_or(e)?;
        put_u8(out, 17, nl).ok_or(e)?;
        put_bytes(out, DIR_ENTRY_HDR, self.name).ok_or(e)
    }
    /// Iterates over the entries of a `DIR_ENTRY` item from leaf `blk`.
    pub fn iter(data: &'a [u8], blk: u64) -> DirEntryIter<'a> {
        EntryIter::new(data, blk)
    }
}

/// Iterator over the entries of a `DIR_ENTRY` item; yields
/// `(byte position, entry)` or a corruption error (then stops).
pub type DirEntryIter<'a> = EntryIter<'a, DirEntry<'a>>;

impl<'a> ListEntry<'a> for DirEntry<'a> {
    const HDR: usize = DIR_ENTRY_HDR;
    const NAME_LEN_AT: usize = 17;
    const WHAT: &'static str = "bad directory entry";
    fn parse_at(data: &'a [u8], p: usize, name: &'a [u8]) -> Option<Self> {
        Some(DirEntry { ino: get_u64(data, p)?, index: get_u64(data, p.checked_add(8)?)?, ftype: get_u8(data, p.checked_add(16)?)?, name })
    }
    fn name(&self) -> &'a [u8] {
        self.name
    }
}

/// `DIR_INDEX` value: ino u64, type u8, name_len u8, name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DirIndex<'a> {
    /// Child inode.
    pub ino: u64,
    /// File type.
    pub ftype: u8,
    /// Name.
    pub name: &'a [u8],
}

/// Fixed part of a [`DirIndex`].
pub const DIR_INDEX_HDR: usize = 10;

impl<'a> DirIndex<'a> {
    /// Parses a `DIR_INDEX` value.
    pub fn parse(d: &'a [u8], blk: u64) -> Result<DirIndex<'a>, FsError> {
        let c = FsError::corrupt(blk, "bad directory index item");
        let nl = usize::from(get_u8(d, 9).ok_or(c)?);
        if nl == 0 || d.len() != DIR_INDEX_HDR + nl {
            return Err(c);
        }
        Ok(DirIndex { ino: get_u64(d, 0).ok_or(c)?, ftype: get_u8(d, 8).ok_or(c)?, name: d.get(DIR_INDEX_HDR..).ok_or(c)? })
    }
    /// Encoded size.
    pub fn len(&self) -> usize {
        DIR_INDEX_HDR + self.name.len()
    }
    /// Always false.
    pub fn is_empty(&self) -> bool {
        false
    }
    /// Encodes at the start of `out`.
    pub fn write_to(&self, out: &mut [u8]) -> Result<(), FsError> {
        let e = FsError::Invalid("dir index buffer too small");
        let nl = u8::try_from(self.name.len()).map_err(|_| FsError::NameTooLong)?;
        put_u64(out, 0, self.ino).ok_or(e)?;
        put_u8(out, 8, self.ftype).ok_or(e)?;
        put_u8(out, 9, nl).ok_or(e)?;
        put_bytes(out, DIR_INDEX_HDR, self.name).ok_or(e)
    }
}

/// One entry of an `INODE_REF` item (key `(child, INODE_REF, parent)`):
/// index u64, name_len u8, name.  One item lists every name of the child
/// in that parent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InodeRef<'a> {
    /// `DIR_INDEX` offset of the name in the parent.
    pub index: u64,
    /// Name.
    pub name: &'a [u8],
}

/// Fixed part of an [`InodeRef`].
pub const INODE_REF_HDR: usize = 9;

impl<'a> InodeRef<'a> {
    /// Encoded size.
    pub fn len(&self) -> usize {
        INODE_REF_HDR + self.name.len()
    }
    /// Always false.
    pub fn is_empty(&self) -> bool {
        false
    }
    /// Encodes at the start of `out`.
    pub fn write_to(&self, out: &mut [u8]) -> Result<(), FsError> {
        let e = FsError::Invalid("inode ref buffer too small");
        let nl = u8::try_from(self.name.len()).map_err(|_| FsError::NameTooLong)?;
        put_u64(out, 0, self.index).ok_or(e)?;
        put_u8(out, 8, nl).ok_or(e)?;
        put_bytes(out, INODE_REF_HDR, self.name).ok_or(e)
    }
    /// Iterates the entries of an `INODE_REF` item.
    pub fn iter(data: &'a [u8], blk: u64) -> InodeRefIter<'a> {
        EntryIter::new(data, blk)
    }
}

/// Iterator over `INODE_REF` entries, yielding `(byte position, entry)`
/// or a corruption error (then stops).
pub type InodeRefIter<'a> = EntryIter<'a, InodeRef<'a>>;

impl<'a> ListEntry<'a> for InodeRef<'a> {
    const HDR: usize = INODE_REF_HDR;
    const NAME_LEN_AT: usize = 8;
    const WHAT: &'static str = "bad inode ref";
    fn parse_at(data: &'a [u8], p: usize, name: &'a [u8]) -> Option<Self> {
        Some(InodeRef { index: get_u64(data, p)?, name })
    }
    fn name(&self) -> &'a [u8] {
        self.name
    }
}

/// One entry of an `INODE_EXTREF` item (key `(child, INODE_EXTREF,
/// extref_hash(parent, name))`): parent u64, index u64, name_len u8, name.
/// Names whose hashes collide share the item.  Holds the names of a child
/// that do not fit its `INODE_REF` item for the parent (many hard links in
/// one directory); only on filesystems with `INCOMPAT_EXTREF`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InodeExtref<'a> {
    /// Parent directory.
    pub dir: u64,
    /// `DIR_INDEX` offset of the name in the parent.
    pub index: u64,
    /// Name.
    pub name: &'a [u8],
}

/// Fixed part of an [`InodeExtref`].
pub const INODE_EXTREF_HDR: usize = 17;

impl<'a> InodeExtref<'a> {
    /// Encoded size.
    pub fn len(&self) -> usize {
        INODE_EXTREF_HDR + self.name.len()
    }
    /// Always false.
    pub fn is_empty(&self) -> bool {
        false
    }
    /// Encodes at the start of `out`.
    pub fn write_to(&self, out: &mut [u8]) -> Result<(), FsError> {
        let e = FsError::Invalid("inode extref buffer too small");
        let nl = u8::try_from(self.name.len()).map_err(|_| FsError::NameTooLong)?;
        put_u64(out, 0, self.dir).ok_or(e)?;
        put_u64(out, 8, self.index).ok_or(e)?;
        put_u8(out, 16, nl).ok_or(e)?;
        put_bytes(out, INODE_EXTREF_HDR, self.name).ok_or(e)
    }
    /// Iterates the entries of an `INODE_EXTREF` item.
    pub fn iter(data: &'a [u8], blk: u64) -> InodeExtrefIter<'a> {
        EntryIter::new(data, blk)
    }
}

/// Iterator over `INODE_EXTREF` entries, yielding `(byte position, entry)`
/// or a corruption error (then stops).
pub type InodeExtrefIter<'a> = EntryIter<'a, InodeExtref<'a>>;

impl<'a> ListEntry<'a> for InodeExtref<'a> {
    const HDR: usize = INODE_EXTREF_HDR;
    const NAME_LEN_AT: usize = 16;
    const WHAT: &'static str = "bad inode extref";
    fn parse_at(data: &'a [u8], p: usize, name: &'a [u8]) -> Option<Self> {
        Some(InodeExtref { dir: get_u64(data, p)?, index: get_u64(data, p.checked_add(8)?)?, name })
    }
    fn name(&self) -> &'a [u8] {
        self.name
    }
}

/// An entry of an item that lists several: a fixed header holding the
/// name's length (one byte at `NAME_LEN_AT`), then the name.
pub trait ListEntry<'a>: Sized {
    /// Bytes before the name.
    const HDR: usize;
    /// Where in the header the name's length is.
    const NAME_LEN_AT: usize;
    /// What a malformed entry is called in the corruption error.
    const WHAT: &'static str;
    /// The entry whose header starts at `p` of `data`, with its `name`
    /// (`None` when the header does not fit).
    fn parse_at(data: &'a [u8], p: usize, name: &'a [u8]) -> Option<Self>;
    /// The entry's name.
    fn name(&self) -> &'a [u8];
}

/// Iterator over the entries of a list item from leaf `blk`: yields
/// `(byte position, entry)`, or a corruption error for an entry that does
/// not fit or has an empty name (then stops).
pub struct EntryIter<'a, E> {
    data: &'a [u8],
    pos: usize,
    blk: u64,
    _entry: core::marker::PhantomData<E>,
}

impl<'a, E> EntryIter<'a, E> {
    fn new(data: &'a [u8], blk: u64) -> Self {
        EntryIter { data, pos: 0, blk, _entry: core::marker::PhantomData }
    }
}

impl<'a, E: ListEntry<'a>> Iterator for EntryIter<'a, E> {
    type Item = Result<(usize, E), FsError>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.data.len() {
            return None;
        }
        let p = self.pos;
        let parse = || -> Option<(E, usize)> {
            let nl = usize::from(get_u8(self.data, p.checked_add(E::NAME_LEN_AT)?)?);
            let start = p.checked_add(E::HDR)?;
            let end = start.checked_add(nl)?;
            let name = self.data.get(start..end)?;
            Some((E::parse_at(self.data, p, name)?, end))
        };
        match parse() {
            Some((e, end)) if !e.name().is_empty() => {
                self.pos = end;
                Some(Ok((p, e)))
            }
            _ => {
                self.pos = self.data.len();
                Some(Err(FsError::corrupt(self.blk, E::WHAT)))
            }
        }
    }
}

/// Extent flag: preallocated, reads as zeros (unwritten).
pub const EXTENT_PREALLOC: u32 = 1;

/// `EXTENT_DATA` value (48 bytes); key offset = file offset (block aligned).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExtentData {
    /// Generation that wrote the extent.
    pub generation: u64,
    /// First block of the disk extent (an `EXTENT_ITEM` start).
    pub disk_start: u64,
    /// Length of the whole disk extent in blocks (the `EXTENT_ITEM` length).
    pub disk_blocks: u64,
    /// Byte offset inside the disk extent where this file range starts
    /// (block aligned).
    pub offset: u64,
    /// Bytes of file covered (block aligned, > 0).
    pub len: u64,
    /// `EXTENT_PREALLOC` or 0.
    pub flags: u32,
}

/// Size of an encoded [`ExtentData`].
pub const EXTENT_DATA_SIZE: usize = 48;

impl ExtentData {
    /// Parses and sanity-checks an `EXTENT_DATA` value.
    pub fn parse(d: &[u8], blk: u64) -> Result<ExtentData, FsError> {
        let c = FsError::corrupt(blk, "bad file extent item");
        if d.len() != EXTENT_DATA_SIZE {
            return Err(c);
        }
        let e = ExtentData {
            generation: get_u64(d, 0).ok_or(c)?,
            disk_start: get_u64(d, 8).ok_or(c)?,
            disk_blocks: get_u64(d, 16).ok_or(c)?,
            offset: get_u64(d, 24).ok_or(c)?,
            len: get_u64(d, 32).ok_or(c)?,
            flags: get_u32(d, 40).ok_or(c)?,
        };
        let bytes = e.disk_blocks.checked_mul(4096).ok_or(c)?;
        if e.len == 0
            || !e.len.is_multiple_of(4096)
            || !e.offset.is_multiple_of(4096)
            || e.disk_blocks == 0
            || e.offset.checked_add(e.len).is_none_or(|end| end > bytes)
            || e.flags & !EXTENT_PREALLOC != 0
        {
            return Err(c);
        }
        Ok(e)
    }

    /// Encodes.
    pub fn to_bytes(&self) -> [u8; EXTENT_DATA_SIZE] {
        let mut d = [0u8; EXTENT_DATA_SIZE];
        let _ = put_u64(&mut d, 0, self.generation);
        let _ = put_u64(&mut d, 8, self.disk_start);
        let _ = put_u64(&mut d, 16, self.disk_blocks);
        let _ = put_u64(&mut d, 24, self.offset);
        let _ = put_u64(&mut d, 32, self.len);
        let _ = put_u32(&mut d, 40, self.flags);
        d
    }

    /// Disk block holding byte `file_pos - key_offset` of this extent.
    pub fn disk_block_at(&self, delta: u64) -> Option<u64> {
        let b = self.offset.checked_add(delta)? / 4096;
        if b >= self.disk_blocks {
            return None;
        }
        self.disk_start.checked_add(b)
    }
}

/// Extent tree flag: the extent holds file data.
pub const EXTENT_FLAG_DATA: u64 = 1;
/// Extent tree flag: the extent is one tree node.
pub const EXTENT_FLAG_META: u64 = 2;

/// `EXTENT_ITEM` value (24 bytes); key `(start block, EXTENT_ITEM, blocks)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExtentItem {
    /// Number of references (file extents pointing at it; 1 for nodes).
    pub refs: u64,
    /// Generation that allocated it.
    pub generation: u64,
    /// `EXTENT_FLAG_DATA` or `EXTENT_FLAG_META`.
    pub flags: u64,
}

/// Size of an encoded [`ExtentItem`].
pub const EXTENT_ITEM_SIZE: usize = 24;

impl ExtentItem {
    /// Parses an `EXTENT_ITEM` value.
    pub fn parse(d: &[u8], blk: u64) -> Result<ExtentItem, FsError> {
        let c = FsError::corrupt(blk, "bad extent item");
        if d.len() != EXTENT_ITEM_SIZE {
            return Err(c);
        }
        let e = ExtentItem { refs: get_u64(d, 0).ok_or(c)?, generation: get_u64(d, 8).ok_or(c)?, flags: get_u64(d, 16).ok_or(c)? };
        if e.refs == 0 || (e.flags != EXTENT_FLAG_DATA && e.flags != EXTENT_FLAG_META) {
            return Err(c);
        }
        Ok(e)
    }
    /// Encodes.
    pub fn to_bytes(&self) -> [u8; EXTENT_ITEM_SIZE] {
        let mut d = [0u8; EXTENT_ITEM_SIZE];
        let _ = put_u64(&mut d, 0, self.refs);
        let _ = put_u64(&mut d, 8, self.generation);
        let _ = put_u64(&mut d, 16, self.flags);
        d
    }
}

/// Reads the `u16` value length of an `XATTR_ITEM` entry header (name_len
/// u8, value_len u16) at `pos`; reserved for the kernel's xattr support.
pub fn xattr_entry_lens(d: &[u8], pos: usize) -> Option<(usize, usize)> {
    Some((usize::from(get_u8(d, pos)?), usize::from(get_u16(d, pos + 1)?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inode_roundtrip() {
        let i = InodeItem {
            generation: 3,
            size: 12345,
            nbytes: 16384,
            nlink: 2,
            uid: 1000,
            gid: 100,
            mode: S_IFREG | 0o644,
            rdev: 0,
            flags: 0,
            atime: Timespec { sec: -5, nsec: 999_999_999 },
            mtime: Timespec { sec: 1_700_000_000, nsec: 1 },
            ctime: Timespec { sec: 2, nsec: 3 },
            crtime: Timespec { sec: 4, nsec: 5 },
        };
        let b = i.to_bytes();
        assert_eq!(InodeItem::parse(&b, 0), Ok(i));
        assert!(InodeItem::parse(&b[..100], 0).is_err());
        let mut bad = b;
        bad[64] = 0xFF;
        bad[65] = 0xFF;
        bad[66] = 0xFF;
        bad[67] = 0xFF;
        assert!(InodeItem::parse(&bad, 0).is_err());
        assert_eq!(i.ftype(), FT_REG);
        // Every defined flag round-trips; an unknown one is corruption.
        let f = InodeItem { flags: INODE_FLAGS_KNOWN, ..i };
        assert_eq!(InodeItem::parse(&f.to_bytes(), 0), Ok(f));
        for bit in [0x1u64, 0x100, 0x1000, 1 << 40] {
            let u = InodeItem { flags: bit, ..i };
            assert!(matches!(InodeItem::parse(&u.to_bytes(), 0), Err(FsError::Corrupt { .. })), "{bit:#x}");
        }
        // Sizes up to loff_t's limit parse; one past it is corruption.
        let m = InodeItem { size: MAX_FILE_SIZE, ..i };
        assert_eq!(InodeItem::parse(&m.to_bytes(), 0), Ok(m));
        let o = InodeItem { size: MAX_FILE_SIZE + 1, ..i };
        assert!(matches!(InodeItem::parse(&o.to_bytes(), 0), Err(FsError::Corrupt { .. })));
        assert_eq!(super::super::layout::MAX_EXTENT_END, 1 << 63);
    }

    #[test]
    fn dirent_roundtrip() {
        let mut buf = [0u8; 64];
        let a = DirEntry { ino: 300, index: 2, ftype: FT_DIR, name: b"abc" };
        let b = DirEntry { ino: 301, index: 3, ftype: FT_REG, name: b"hello" };
        a.write_to(&mut buf).unwrap();
        b.write_to(&mut buf[a.len()..]).unwrap();
        let total = a.len() + b.len();
        let v: [_; 2] = [DirEntry::iter(&buf[..total], 0).next().unwrap().unwrap().1, DirEntry::iter(&buf[a.len()..total], 0).next().unwrap().unwrap().1];
        assert_eq!(v, [a, b]);
        assert_eq!(DirEntry::iter(&buf[..total], 0).count(), 2);
        assert!(DirEntry::iter(&buf[..total - 1], 0).nth(1).unwrap().is_err());
        let di = DirIndex { ino: 5, ftype: FT_LNK, name: b"x" };
        di.write_to(&mut buf).unwrap();
        assert_eq!(DirIndex::parse(&buf[..di.len()], 0), Ok(di));
        assert!(DirIndex::parse(&buf[..di.len() + 1], 0).is_err());
        let r = InodeRef { index: 9, name: b"nm" };
        r.write_to(&mut buf).unwrap();
        assert_eq!(InodeRef::iter(&buf[..r.len()], 0).next().unwrap().unwrap().1, r);
    }

    #[test]
    fn extref_roundtrip() {
        let mut buf = [0u8; 64];
        let a = InodeExtref { dir: 256, index: 7, name: b"abc" };
        let b = InodeExtref { dir: 300, index: u64::MAX, name: b"z" };
        a.write_to(&mut buf).unwrap();
        b.write_to(&mut buf[a.len()..]).unwrap();
        let total = a.len() + b.len();
        let mut it = InodeExtref::iter(&buf[..total], 0);
        assert_eq!(it.next(), Some(Ok((0, a))));
        assert_eq!(it.next(), Some(Ok((a.len(), b))));
        assert_eq!(it.next(), None);
        // cut short, empty name, name past the end
        assert!(InodeExtref::iter(&buf[..total - 1], 0).nth(1).unwrap().is_err());
        assert!(InodeExtref::iter(&buf[..INODE_EXTREF_HDR - 1], 0).next().unwrap().is_err());
        let mut bad = buf;
        bad[16] = 0;
        assert!(InodeExtref::iter(&bad[..total], 0).next().unwrap().is_err());
        bad[16] = 200;
        let mut it = InodeExtref::iter(&bad[..total], 0);
        assert!(it.next().unwrap().is_err());
        assert!(it.next().is_none(), "the iterator stops after an error");
        assert!(InodeExtref { dir: 1, index: 1, name: &[b'x'; 256] }.write_to(&mut [0u8; 300]).is_err());
        assert!(a.write_to(&mut buf[..a.len() - 1]).is_err());
    }

    #[test]
    fn extent_roundtrip() {
        let e = ExtentData { generation: 1, disk_start: 500, disk_blocks: 4, offset: 4096, len: 8192, flags: 0 };
        assert_eq!(ExtentData::parse(&e.to_bytes(), 0), Ok(e));
        assert_eq!(e.disk_block_at(0), Some(501));
        assert_eq!(e.disk_block_at(8191), Some(502));
        let bad = ExtentData { len: 4 * 4096, ..e };
        assert!(ExtentData::parse(&bad.to_bytes(), 0).is_err());
        let x = ExtentItem { refs: 2, generation: 1, flags: EXTENT_FLAG_DATA };
        assert_eq!(ExtentItem::parse(&x.to_bytes(), 0), Ok(x));
        assert!(ExtentItem::parse(&ExtentItem { refs: 0, ..x }.to_bytes(), 0).is_err());
    }

    #[test]
    fn hashes_and_names() {
        assert_ne!(name_hash(b"a"), name_hash(b"b"));
        // FNV-1a test vector ("a": 0xaf63dc4c8601ec8c, top bit cleared)
        assert_eq!(name_hash(b"a"), 0xaf63_dc4c_8601_ec8c & (u64::MAX >> 1));
        assert_ne!(extref_hash(256, b"a"), extref_hash(257, b"a"));
        assert_ne!(extref_hash(256, b"a"), extref_hash(256, b"b"));
        assert_eq!(extref_hash(256, b"a") >> 63, 0);
        assert_eq!(name_hash(b"") >> 63, 0);
        assert!(check_name(b"ok").is_ok());
        assert!(check_name(b"a/b").is_err());
        assert!(check_name(b"..").is_err());
        assert_eq!(check_name(&[b'x'; 256]), Err(FsError::NameTooLong));
        assert_eq!(ftype_from_mode(S_IFDIR | 0o755), Some(FT_DIR));
        assert_eq!(ftype_from_mode(0), None);
    }
}
