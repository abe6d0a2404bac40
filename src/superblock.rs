// SPDX-License-Identifier: GPL-2.0

//! Mounting a ferrofs filesystem, and the per-mount state.

use crate::format::{self, FsError, Root, Superblock};
use crate::store::ReadStore;
use crate::vfs::fs_type::{enoparam, DirEmitter, FileSystem, Mapping, SeqFile, StatFs};
use crate::vfs::inode::{Inode, InodeParams};
use crate::vfs::sb::{NewSuperBlock, SuperBlock};
use core::ffi::CStr;
use kernel::error::{code, Error, Result};
use kernel::prelude::*;

/// statfs f_type: "FERR".
pub(crate) const FERROFS_MAGIC: u64 = 0x4645_5252;

/// The ferrofs filesystem type.
pub(crate) struct FerroFs;

/// Which superblock copy to mount from (`sb=` mount option).
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum SbChoice {
    /// The valid copy with the highest generation (default).
    #[default]
    Auto,
    /// Only the primary at block 16 (`sb=primary`).
    Primary,
    /// Only the backup at block 255 (`sb=backup`), e.g. when the primary is valid but wrong.
    Backup,
}

/// Mount options.
#[derive(Default)]
pub(crate) struct Options {
    pub(crate) sb: SbChoice,
}

/// Per-mount state: the superblock this mount runs on. Read-only for now, so it never changes.
pub(crate) struct Info {
    pub(crate) sb: Superblock,
    pub(crate) opts: Options,
}

impl Info {
    pub(crate) fn fs_root(&self) -> &Root {
        &self.sb.fs_root
    }
}

/// A store reading the trees of a mounted filesystem.
pub(crate) fn store(sb: &SuperBlock<FerroFs>) -> ReadStore<'_, SuperBlock<FerroFs>> {
    let info = sb.info();
    ReadStore::new(sb, info.sb.total_blocks, info.sb.generation)
}

/// Converts a format error into an errno, reporting corruption (rate-limited) against `sb`.
pub(crate) fn fs_err(sb: &SuperBlock<FerroFs>, e: FsError) -> Error {
    let err = Error::from_errno(-e.errno());
    match e {
        FsError::Corrupt { block, what } => sb.report(what, block, err),
        FsError::Io => sb.report("I/O error reading metadata", 0, err),
        _ => {}
    }
    err
}

fn read_super(sb: &NewSuperBlock<FerroFs>, blk: u64) -> core::result::Result<Superblock, FsError> {
    let bh = sb.bread(blk).ok_or(FsError::Io)?;
    Superblock::parse(bh.as_ref(), blk)
}

impl FileSystem for FerroFs {
    const NAME: &'static CStr = c"ferrofs";
    const MAGIC: u64 = FERROFS_MAGIC;
    const MAX_FILE_SIZE: u64 = format::MAX_FILE_SIZE;
    type Info = Info;
    type InodeData = ();
    type Options = Options;

    fn parse_param(opts: &mut Options, key: &[u8], value: Option<&[u8]>) -> Result {
        match (key, value) {
            (b"sb", Some(b"auto")) => opts.sb = SbChoice::Auto,
            (b"sb", Some(b"primary")) => opts.sb = SbChoice::Primary,
            (b"sb", Some(b"backup")) => opts.sb = SbChoice::Backup,
            (b"sb", _) => {
                pr_err!("sb= takes auto, primary or backup\n");
                return Err(code::EINVAL);
            }
            _ => return Err(enoparam()),
        }
        Ok(())
    }

    fn show_options(info: &Info, out: &mut SeqFile) {
        match info.opts.sb {
            SbChoice::Auto => {}
            SbChoice::Primary => out.puts(c",sb=primary"),
            SbChoice::Backup => out.puts(c",sb=backup"),
        }
    }

    fn fill_super(sb: &NewSuperBlock<Self>, opts: &Options) -> Result<(Info, u64)> {
        let id = sb.id();
        if sb.set_blocksize(format::BLOCK_SIZE as u32).is_err() {
            pr_err!("{id}: device block size is larger than the 4096-byte filesystem block\n");
            return Err(code::EINVAL);
        }
        let skipped = || Err(FsError::Unsupported("not chosen by the sb= mount option"));
        let primary = match opts.sb {
            SbChoice::Backup => skipped(),
            _ => read_super(sb, format::SUPER_BLOCK_NR),
        };
        let backup = match opts.sb {
            SbChoice::Primary => skipped(),
            _ => read_super(sb, format::BACKUP_SUPER_BLOCK_NR),
        };
        let chosen = match (&primary, &backup) {
            (Err(FsError::BadMagic), Err(FsError::BadMagic)) => {
                pr_err!("{id}: not a ferrofs filesystem (no ferrofs magic in either superblock)\n");
                return Err(code::EINVAL);
            }
            (Err(pe), Ok(_)) if opts.sb == SbChoice::Auto => {
                pr_warn!(
                    "{id}: primary superblock (block {}) unusable: {pe}; using the backup at block {}\n",
                    format::SUPER_BLOCK_NR,
                    format::BACKUP_SUPER_BLOCK_NR
                );
                format::superblock::choose(primary, backup)
            }
            (Ok(_), Err(be)) if opts.sb == SbChoice::Auto => {
                pr_warn!(
                    "{id}: backup superblock (block {}) unusable: {be}; fsck.ferrofs -y rewrites it\n",
                    format::BACKUP_SUPER_BLOCK_NR
                );
                format::superblock::choose(primary, backup)
            }
            _ => format::superblock::choose(primary, backup),
        };
        let s = match chosen {
            Ok(s) => s,
            Err(e) => {
                match e {
                    FsError::BadChecksum { .. } => pr_err!(
                        "{id}: superblock checksum mismatch in block {} and in the backup at block {}\n",
                        format::SUPER_BLOCK_NR,
                        format::BACKUP_SUPER_BLOCK_NR
                    ),
                    FsError::UnknownIncompat(bit) => {
                        pr_err!("{id}: unknown incompat feature bit {bit}; refusing to mount\n")
                    }
                    _ => pr_err!("{id}: cannot use the superblock: {e}\n"),
                }
                return Err(Error::from_errno(-e.errno()));
            }
        };
        let dev_blocks = sb.device_bytes() / format::BLOCK_SIZE_U64;
        if dev_blocks < s.total_blocks {
            pr_err!(
                "{id}: device has {dev_blocks} blocks but the filesystem records {}; refusing to mount\n",
                s.total_blocks
            );
            return Err(code::EINVAL);
        }
        // Load both tree roots now: a corrupt root fails the mount with a clear message instead of
        // failing every later operation.
        let mut st = ReadStore::new(sb, s.total_blocks, s.generation);
        for (name, root) in [("fs tree", &s.fs_root), ("extent tree", &s.extent_root)] {
            if let Err(e) = format::tree::read_node(&mut st, root.block, root.owner, root.level, root.generation) {
                pr_err!("{id}: cannot load the {name} root at block {}: {e}\n", root.block);
                return Err(Error::from_errno(-e.errno()));
            }
        }
        if !sb.is_rdonly() {
            pr_err!("{id}: write support is not implemented yet; mount with -o ro\n");
            return Err(code::EROFS);
        }
        let root = s.root_dir;
        pr_info!("{id}: mounted read-only, generation {}, {} blocks\n", s.generation, s.total_blocks);
        let opts = Options { sb: opts.sb };
        Ok((Info { sb: s, opts }, root))
    }

    fn reconfigure(rdonly: bool) -> Result {
        if !rdonly {
            pr_err!("write support is not implemented yet; staying read-only\n");
            return Err(code::EROFS);
        }
        Ok(())
    }

    fn read_inode(sb: &SuperBlock<Self>, ino: u64) -> Result<InodeParams<()>> {
        crate::inode::read_inode(sb, ino)
    }

    fn lookup(dir: &Inode<Self>, name: &[u8]) -> Result<Option<u64>> {
        crate::dir::lookup(dir, name)
    }

    fn readdir(dir: &Inode<Self>, emit: &mut DirEmitter) -> Result {
        crate::dir::readdir(dir, emit)
    }

    fn map_blocks(inode: &Inode<Self>, pos: u64, len: u64) -> Result<Mapping> {
        crate::file::map_blocks(inode, pos, len)
    }

    fn statfs(sb: &SuperBlock<Self>) -> Result<StatFs> {
        let s = &sb.info().sb;
        let mut fsid = 0u64;
        for (i, b) in s.uuid.iter().enumerate() {
            fsid ^= (*b as u64) << ((i % 8) * 8);
        }
        Ok(StatFs {
            blocks: s.total_blocks,
            bfree: s.free_blocks,
            bavail: s.free_blocks,
            files: s.next_inode.saturating_sub(format::ROOT_DIR_INO).saturating_add(s.free_blocks),
            ffree: s.free_blocks,
            namelen: format::MAX_NAME_LEN as u32,
            fsid,
        })
    }
}
