//! The superblock: two copies, at blocks 16 and 255.

use super::bytes::{get_u32, get_u64, get_u8, put_bytes, put_u32, put_u64, put_u8};
use super::crc32c::crc32c;
use super::error::FsError;
use super::layout::{BLOCK_SIZE, FIRST_ALLOC_BLOCK, MAX_LEVELS, MIN_BLOCKS};
use super::tree::Root;
use super::layout::{EXTENT_TREE_OWNER, FS_TREE_OWNER};

/// The 8 magic bytes at offset 8 of a superblock.
pub const MAGIC: [u8; 8] = *b"FERROFS\0";
/// The only format version this code writes and reads.
pub const VERSION: u32 = 1;
/// Compat features this code knows (none yet).
pub const COMPAT_SUPP: u64 = 0;
/// Read-only-compat features this code knows (none yet).
pub const RO_COMPAT_SUPP: u64 = 0;
/// Incompat feature: a child's names in one directory that do not fit its
/// `INODE_REF` item live in `INODE_EXTREF` items (many hard links of one
/// inode in one directory).  Code that does not know the bit would miss
/// those names, so it must not mount.  mkfs sets it on every filesystem.
pub const INCOMPAT_EXTREF: u64 = 1 << 0;
/// Incompat features this code knows.
pub const INCOMPAT_SUPP: u64 = INCOMPAT_EXTREF;
/// Length of the label field.
pub const LABEL_LEN: usize = 64;

/// Byte offsets of superblock fields (see `docs/FORMAT.md`).
mod off {
    pub(super) const CSUM: usize = 0;
    pub(super) const VERSION: usize = 4;
    pub(super) const MAGIC: usize = 8;
    pub(super) const BLOCK_SIZE: usize = 16;
    pub(super) const FLAGS: usize = 20;
    pub(super) const COMPAT: usize = 24;
    pub(super) const RO_COMPAT: usize = 32;
    pub(super) const INCOMPAT: usize = 40;
    pub(super) const UUID: usize = 48;
    pub(super) const LABEL: usize = 64;
    pub(super) const BYTENR: usize = 128;
    pub(super) const TOTAL_BLOCKS: usize = 136;
    pub(super) const GENERATION: usize = 144;
    pub(super) const FS_ROOT: usize = 152;
    pub(super) const FS_ROOT_GEN: usize = 160;
    pub(super) const EXTENT_ROOT: usize = 168;
    pub(super) const EXTENT_ROOT_GEN: usize = 176;
    pub(super) const FS_ROOT_LEVEL: usize = 184;
    pub(super) const EXTENT_ROOT_LEVEL: usize = 185;
    pub(super) const NEXT_INODE: usize = 192;
    pub(super) const FREE_BLOCKS: usize = 200;
    pub(super) const USED_BLOCKS: usize = 208;
    pub(super) const ROOT_DIR: usize = 216;
    pub(super) const END: usize = 224;
}

/// In-memory form of a superblock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DiskSuper {
    /// Block number of this copy (16 or 255).
    pub bytenr: u64,
    /// Format version ([`VERSION`]).
    pub version: u32,
    /// Compat feature bits (unknown ones are ignored).
    pub compat: u64,
    /// Read-only compat feature bits (unknown ones forbid writing).
    pub ro_compat: u64,
    /// Incompat feature bits (unknown ones forbid mounting).
    pub incompat: u64,
    /// Filesystem UUID.
    pub uuid: [u8; 16],
    /// Label, NUL padded.
    pub label: [u8; LABEL_LEN],
    /// Size of the filesystem in blocks.
    pub total_blocks: u64,
    /// Generation (transaction id) of the last commit.
    pub generation: u64,
    /// Root of the fs tree.
    pub fs_root: Root,
    /// Root of the extent tree.
    pub extent_root: Root,
    /// Next inode number to hand out.
    pub next_inode: u64,
    /// Summary: allocatable blocks not covered by an extent item.
    pub free_blocks: u64,
    /// Summary: blocks covered by extent items.
    pub used_blocks: u64,
    /// Inode number of the root directory (256).
    pub root_dir: u64,
}

impl DiskSuper {
    /// Parses and validates a superblock read from block `blk`.
    ///
    /// Errors, in check order: [`FsError::BadMagic`], [`FsError::BadChecksum`],
    /// [`FsError::Unsupported`] (version, block size),
    /// [`FsError::UnknownIncompat`], [`FsError::Corrupt`] (bad values).
    pub fn parse(buf: &[u8], blk: u64) -> Result<DiskSuper, FsError> {
        if buf.len() != BLOCK_SIZE {
            return Err(FsError::Invalid("superblock buffer is not one block"));
        }
        if buf.get(off::MAGIC..off::MAGIC + 8) != Some(&MAGIC[..]) {
            return Err(FsError::BadMagic);
        }
        let c = |o| FsError::corrupt(blk, o);
        let stored = get_u32(buf, off::CSUM).ok_or(c("short superblock"))?;
        let body = buf.get(4..).ok_or(c("short superblock"))?;
        if crc32c(body) != stored {
            return Err(FsError::BadChecksum { block: blk });
        }
        let rd = |o: usize| get_u64(buf, o).ok_or(c("short superblock"));
        let version = get_u32(buf, off::VERSION).ok_or(c("short superblock"))?;
        if version != VERSION {
            return Err(FsError::Unsupported("unknown format version"));
        }
        let bs = get_u32(buf, off::BLOCK_SIZE).ok_or(c("short superblock"))?;
        if bs as usize != BLOCK_SIZE {
            return Err(FsError::Unsupported("block size is not 4096"));
        }
        let mut uuid = [0u8; 16];
        uuid.copy_from_slice(buf.get(off::UUID..off::UUID + 16).ok_or(c("short superblock"))?);
        let mut label = [0u8; LABEL_LEN];
        label.copy_from_slice(buf.get(off::LABEL..off::LABEL + LABEL_LEN).ok_or(c("short superblock"))?);
        let lvl = |o| get_u8(buf, o).ok_or(c("short superblock"));
        let sb = DiskSuper {
            bytenr: rd(off::BYTENR)?,
            version,
            compat: rd(off::COMPAT)?,
            ro_compat: rd(off::RO_COMPAT)?,
            incompat: rd(off::INCOMPAT)?,
            uuid,
            label,
            total_blocks: rd(off::TOTAL_BLOCKS)?,
            generation: rd(off::GENERATION)?,
            fs_root: Root {
                block: rd(off::FS_ROOT)?,
                generation: rd(off::FS_ROOT_GEN)?,
                level: lvl(off::FS_ROOT_LEVEL)?,
                owner: FS_TREE_OWNER,
            },
            extent_root: Root {
                block: rd(off::EXTENT_ROOT)?,
                generation: rd(off::EXTENT_ROOT_GEN)?,
                level: lvl(off::EXTENT_ROOT_LEVEL)?,
                owner: EXTENT_TREE_OWNER,
            },
            next_inode: rd(off::NEXT_INODE)?,
            free_blocks: rd(off::FREE_BLOCKS)?,
            used_blocks: rd(off::USED_BLOCKS)?,
            root_dir: rd(off::ROOT_DIR)?,
        };
        if get_u32(buf, off::FLAGS) != Some(0) {
            return Err(c("superblock flags field is not zero"));
        }
        sb.check_features()?;
        if sb.bytenr != blk {
            return Err(c("superblock records a different block number"));
        }
        if sb.total_blocks < MIN_BLOCKS || sb.total_blocks > (u64::MAX >> 12) {
            return Err(c("superblock device size out of range"));
        }
        for r in [&sb.fs_root, &sb.extent_root] {
            if r.block < FIRST_ALLOC_BLOCK || r.block >= sb.total_blocks {
                return Err(c("superblock tree root outside the device"));
            }
            if usize::from(r.level) >= MAX_LEVELS {
                return Err(c("superblock tree root level too high"));
            }
            if r.generation > sb.generation {
                return Err(c("superblock tree root newer than superblock"));
            }
        }
        if sb.generation == 0 {
            return Err(c("superblock generation is zero"));
        }
        Ok(sb)
    }

    /// Returns the first unknown incompat feature bit as an error.
    pub fn check_features(&self) -> Result<(), FsError> {
        let unknown = self.incompat & !INCOMPAT_SUPP;
        if unknown != 0 {
            return Err(FsError::UnknownIncompat(unknown.trailing_zeros()));
        }
        Ok(())
    }

    /// Whether names may go into `INODE_EXTREF` items ([`INCOMPAT_EXTREF`]).
    pub fn extrefs(&self) -> bool {
        self.incompat & INCOMPAT_EXTREF != 0
    }

    /// True if unknown read-only-compat bits forbid writing.
    pub fn read_only_required(&self) -> bool {
        self.ro_compat & !RO_COMPAT_SUPP != 0
    }

    /// Serializes into a full block (all other bytes zeroed) with checksum.
    pub fn write_to(&self, buf: &mut [u8]) -> Result<(), FsError> {
        if buf.len() != BLOCK_SIZE {
            return Err(FsError::Invalid("superblock buffer is not one block"));
        }
        buf.fill(0);
        let e = FsError::Invalid("superblock field out of range");
        let w = |buf: &mut [u8], o: usize, v: u64| put_u64(buf, o, v).ok_or(e);
        put_u32(buf, off::VERSION, self.version).ok_or(e)?;
        put_bytes(buf, off::MAGIC, &MAGIC).ok_or(e)?;
        put_u32(buf, off::BLOCK_SIZE, BLOCK_SIZE as u32).ok_or(e)?;
        w(buf, off::COMPAT, self.compat)?;
        w(buf, off::RO_COMPAT, self.ro_compat)?;
        w(buf, off::INCOMPAT, self.incompat)?;
        put_bytes(buf, off::UUID, &self.uuid).ok_or(e)?;
        put_bytes(buf, off::LABEL, &self.label).ok_or(e)?;
        w(buf, off::BYTENR, self.bytenr)?;
        w(buf, off::TOTAL_BLOCKS, self.total_blocks)?;
        w(buf, off::GENERATION, self.generation)?;
        w(buf, off::FS_ROOT, self.fs_root.block)?;
        w(buf, off::FS_ROOT_GEN, self.fs_root.generation)?;
        w(buf, off::EXTENT_ROOT, self.extent_root.block)?;
        w(buf, off::EXTENT_ROOT_GEN, self.extent_root.generation)?;
        put_u8(buf, off::FS_ROOT_LEVEL, self.fs_root.level).ok_or(e)?;
        put_u8(buf, off::EXTENT_ROOT_LEVEL, self.extent_root.level).ok_or(e)?;
        w(buf, off::NEXT_INODE, self.next_inode)?;
        w(buf, off::FREE_BLOCKS, self.free_blocks)?;
        w(buf, off::USED_BLOCKS, self.used_blocks)?;
        w(buf, off::ROOT_DIR, self.root_dir)?;
        const { assert!(off::END <= BLOCK_SIZE) };
        let csum = crc32c(buf.get(4..).ok_or(e)?);
        put_u32(buf, off::CSUM, csum).ok_or(e)
    }

    /// The label as bytes up to the first NUL.
    pub fn label_bytes(&self) -> &[u8] {
        let end = self.label.iter().position(|&b| b == 0).unwrap_or(LABEL_LEN);
        self.label.get(..end).unwrap_or(&[])
    }

    /// Sets the label; fails with [`FsError::NameTooLong`] above 64 bytes.
    pub fn set_label(&mut self, label: &[u8]) -> Result<(), FsError> {
        if label.len() > LABEL_LEN || label.contains(&0) {
            return Err(FsError::NameTooLong);
        }
        self.label = [0; LABEL_LEN];
        self.label.get_mut(..label.len()).ok_or(FsError::NameTooLong)?.copy_from_slice(label);
        Ok(())
    }
}

/// True if the block carries the ferrofs magic (whatever its checksum).
pub fn has_magic(buf: &[u8]) -> bool {
    buf.get(off::MAGIC..off::MAGIC + 8) == Some(&MAGIC[..])
}

/// Picks the superblock to mount from the two copies' parse results:
/// the valid copy with the highest generation.  If neither is valid the
/// primary's error is returned.
pub fn choose(
    primary: Result<DiskSuper, FsError>,
    backup: Result<DiskSuper, FsError>,
) -> Result<DiskSuper, FsError> {
    match (primary, backup) {
        (Ok(a), Ok(b)) => Ok(if b.generation > a.generation { b } else { a }),
        (Ok(a), Err(_)) => Ok(a),
        (Err(_), Ok(b)) => Ok(b),
        (Err(e), Err(_)) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::vec;

    fn sample() -> DiskSuper {
        let mut sb = DiskSuper {
            bytenr: 16,
            version: VERSION,
            compat: 0,
            ro_compat: 0,
            incompat: 0,
            uuid: [7; 16],
            label: [0; LABEL_LEN],
            total_blocks: 8192,
            generation: 5,
            fs_root: Root { block: 300, generation: 5, level: 1, owner: FS_TREE_OWNER },
            extent_root: Root { block: 301, generation: 4, level: 0, owner: EXTENT_TREE_OWNER },
            next_inode: 300,
            free_blocks: 1000,
            used_blocks: 20,
            root_dir: 256,
        };
        sb.set_label(b"hello").unwrap();
        sb
    }

    #[test]
    fn roundtrip_and_errors() {
        let sb = sample();
        let mut buf = vec![0u8; BLOCK_SIZE];
        sb.write_to(&mut buf).unwrap();
        assert!(has_magic(&buf));
        assert_eq!(DiskSuper::parse(&buf, 16), Ok(sb));
        assert_eq!(sb.label_bytes(), b"hello");
        // wrong location
        assert!(matches!(DiskSuper::parse(&buf, 255), Err(FsError::Corrupt { .. })));
        // checksum
        let mut bad = buf.clone();
        bad[3000] ^= 1;
        assert_eq!(DiskSuper::parse(&bad, 16), Err(FsError::BadChecksum { block: 16 }));
        // magic
        let mut bad = buf.clone();
        bad[8] = b'X';
        assert_eq!(DiskSuper::parse(&bad, 16), Err(FsError::BadMagic));
        // incompat
        let mut s2 = sb;
        s2.incompat = 1 << 5;
        s2.write_to(&mut bad).unwrap();
        assert_eq!(DiskSuper::parse(&bad, 16), Err(FsError::UnknownIncompat(5)));
        s2.incompat = INCOMPAT_EXTREF;
        s2.write_to(&mut bad).unwrap();
        assert!(DiskSuper::parse(&bad, 16).unwrap().extrefs());
        assert!(!sb.extrefs());
        assert_eq!(DiskSuper::parse(&buf[..100], 16), Err(FsError::Invalid("superblock buffer is not one block")));
    }

    #[test]
    fn choose_newest_valid() {
        let a = sample();
        let mut b = sample();
        b.generation = 6;
        assert_eq!(choose(Ok(a), Ok(b)).unwrap().generation, 6);
        assert_eq!(choose(Err(FsError::BadMagic), Ok(a)).unwrap().generation, 5);
        assert!(choose(Err(FsError::BadMagic), Err(FsError::Io)).is_err());
    }
}
