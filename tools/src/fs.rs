//! A small transactional writer over the format crate's B-tree code, used
//! by mkfs (populate), fsck (repairs) and the host tests.

use ferrofs_format::items::{ExtentData, InodeItem, Timespec, S_IFDIR};
use ferrofs_format::key::{Key, EXTENT_DATA};
use ferrofs_format::layout::*;
use ferrofs_format::superblock::{self, DiskSuper, INCOMPAT_EXTREF, VERSION};
use ferrofs_format::tree::{self, Root};
use ferrofs_format::commit::{self, TxnRoots};
use ferrofs_format::{dir, extent, inode, FsError};

use crate::dev::Device;
use crate::store::Store;

/// mkfs parameters.
#[derive(Clone, Debug)]
pub struct FormatOptions {
    /// Label (up to 64 bytes).
    pub label: Vec<u8>,
    /// UUID.
    pub uuid: [u8; 16],
    /// Size in blocks.
    pub total_blocks: u64,
    /// Timestamp for the root directory.
    pub time: Timespec,
}

/// An open filesystem with a running transaction.
pub struct Fs<D: Device> {
    /// Block store.
    pub store: Store<D>,
    /// The last committed superblock (primary copy).
    pub sb: DiskSuper,
    /// Fs tree root (current transaction).
    pub fs_root: Root,
    /// Extent tree root (current transaction).
    pub ext_root: Root,
    /// Next inode number.
    pub next_inode: u64,
    /// Blocks covered by extent items (current transaction, after flush).
    pub used_blocks: u64,
}

/// Reads and parses both superblock copies.
pub fn read_supers<D: Device>(dev: &mut D) -> [Result<DiskSuper, FsError>; 2] {
    SUPER_BLOCK_NRS.map(|blk| {
        let mut buf = vec![0u8; BLOCK_SIZE];
        dev.read_at(blk * BLOCK_SIZE_U64, &mut buf).map_err(|_| FsError::Io)?;
        DiskSuper::parse(&buf, blk)
    })
}

impl<D: Device> Fs<D> {
    /// Creates a new, empty filesystem (root directory only) and commits it.
    pub fn format(dev: D, opts: &FormatOptions) -> Result<Self, FsError> {
        if opts.total_blocks < MIN_BLOCKS {
            return Err(FsError::Invalid("filesystem smaller than 16 MiB"));
        }
        let mut store = Store::new(dev, opts.total_blocks, 1);
        let zero = vec![0u8; BLOCK_SIZE];
        for b in 0..FIRST_ALLOC_BLOCK {
            store.raw_write(b, &zero)?;
        }
        let fs_root = tree::create(&mut store, FS_TREE_OWNER)?;
        let ext_root = tree::create(&mut store, EXTENT_TREE_OWNER)?;
        let mut sb = DiskSuper {
            bytenr: SUPER_BLOCK_NR,
            version: VERSION,
            compat: 0,
            ro_compat: 0,
            // Every new filesystem may hold extended inode refs (thousands of hard links of
            // one file in one directory).
            incompat: INCOMPAT_EXTREF,
            uuid: opts.uuid,
            label: [0; 64],
            total_blocks: opts.total_blocks,
            generation: 0,
            fs_root,
            extent_root: ext_root,
            next_inode: FIRST_FREE_INO,
            free_blocks: 0,
            used_blocks: 0,
            root_dir: ROOT_DIR_INO,
        };
        sb.set_label(&opts.label)?;
        let mut fs = Fs { store, sb, fs_root, ext_root, next_inode: FIRST_FREE_INO, used_blocks: 0 };
        let t = opts.time;
        let root = InodeItem { generation: 1, nlink: 2, mode: S_IFDIR | 0o755, atime: t, mtime: t, ctime: t, crtime: t, ..Default::default() };
        inode::write(&mut fs.store, &mut fs.fs_root, ROOT_DIR_INO, &root)?;
        fs.commit()?;
        Ok(fs)
    }

    /// Opens an existing filesystem (the newest valid superblock copy).
    pub fn open(dev: D) -> Result<Self, FsError> {
        Self::try_open(dev).map_err(|(e, _)| e)
    }

    /// Like [`Fs::open`] but gives the device back on failure.
    pub fn try_open(mut dev: D) -> Result<Self, (FsError, D)> {
        let [a, b] = read_supers(&mut dev);
        let sb = match superblock::choose(a, b) {
            Ok(sb) => sb,
            Err(e) => return Err((e, dev)),
        };
        match dev.size() {
            Ok(size) if size / BLOCK_SIZE_U64 >= sb.total_blocks => {}
            _ => return Err((FsError::Invalid("device smaller than the filesystem"), dev)),
        }
        let mut store = Store::new(dev, sb.total_blocks, sb.generation + 1);
        let used = match store.load_space(&sb.extent_root) {
            Ok(u) => u,
            Err(e) => return Err((e, store.dev)),
        };
        Ok(Fs { store, sb, fs_root: sb.fs_root, ext_root: sb.extent_root, next_inode: sb.next_inode, used_blocks: used })
    }

    /// Current transaction generation.
    pub fn generation(&self) -> u64 {
        ferrofs_format::BlockStore::generation(&self.store)
    }

    /// Commits: records metadata allocations, writes dirty nodes, flushes,
    /// then writes the primary and the backup superblock (flushing after each).
    pub fn commit(&mut self) -> Result<(), FsError> {
        self.commit_inner(true)
    }

    /// Like [`Fs::commit`] but stops before the superblocks (crash tests).
    pub fn commit_without_superblock(&mut self) -> Result<(), FsError> {
        self.commit_inner(false)
    }

    fn commit_inner(&mut self, write_super: bool) -> Result<(), FsError> {
        // The same two phases as the kernel (ferrofs_format::commit).
        let mut roots = TxnRoots { fs_root: self.fs_root, ext_root: self.ext_root, next_inode: self.next_inode, used_blocks: self.used_blocks };
        commit::seal(&mut self.store, &mut roots)?;
        (self.ext_root, self.used_blocks) = (roots.ext_root, roots.used_blocks);
        if !write_super {
            self.store.write_dirty()?;
            return self.store.flush();
        }
        let gen = self.generation();
        let sb = commit::make_super(&self.sb, gen, &roots);
        let mut buf = vec![0u8; BLOCK_SIZE];
        commit::write_out(&mut self.store, &sb, &mut buf)?;
        self.sb = sb;
        self.store.set_generation(gen + 1);
        self.store.release_pinned()
    }

    /// Hands out a new inode number.
    pub fn alloc_ino(&mut self) -> u64 {
        let i = self.next_inode;
        self.next_inode += 1;
        i
    }

    /// Reads an inode.
    pub fn read_inode(&mut self, ino: u64) -> Result<Option<InodeItem>, FsError> {
        inode::read(&mut self.store, &self.fs_root, ino)
    }

    /// Writes an inode.
    pub fn write_inode(&mut self, ino: u64, i: &InodeItem) -> Result<(), FsError> {
        inode::write(&mut self.store, &mut self.fs_root, ino, i)
    }

    /// Adds a directory entry (no inode updates); names past the `INODE_REF` item's
    /// room go into `INODE_EXTREF` items if the superblock has `INCOMPAT_EXTREF`.
    pub fn link(&mut self, dir: u64, name: &[u8], ino: u64, ftype: u8) -> Result<u64, FsError> {
        dir::link(&mut self.store, &mut self.fs_root, dir, name, ino, ftype, self.sb.extrefs())
    }

    /// Writes `data` (a multiple of the block size) at `file_off` of `ino`
    /// into newly allocated extents; returns the bytes allocated.
    pub fn write_data(&mut self, ino: u64, file_off: u64, data: &[u8]) -> Result<u64, FsError> {
        if !data.len().is_multiple_of(BLOCK_SIZE) || !file_off.is_multiple_of(BLOCK_SIZE_U64) {
            return Err(FsError::Invalid("unaligned data write"));
        }
        let gen = self.generation();
        let mut done = 0usize;
        while done < data.len() {
            let want = ((data.len() - done) / BLOCK_SIZE) as u64;
            let (start, n) = self.store.alloc_range(want.min(MAX_EXTENT_BLOCKS))?;
            let bytes = n as usize * BLOCK_SIZE;
            self.store.dev.write_at(start * BLOCK_SIZE_U64, &data[done..done + bytes]).map_err(|_| FsError::Io)?;
            extent::add_data_extent(&mut self.store, &mut self.ext_root, start, n)?;
            self.used_blocks += n;
            let ed = ExtentData { generation: gen, disk_start: start, disk_blocks: n, offset: 0, len: bytes as u64, flags: 0 };
            tree::insert(&mut self.store, &mut self.fs_root, &Key::new(ino, EXTENT_DATA, file_off + done as u64), &ed.to_bytes())?;
            done += bytes;
        }
        Ok(data.len() as u64)
    }

    /// Pins a data range whose extent item went away (its last reference was
    /// dropped): reusable after the commit.
    pub fn pin_freed(&mut self, start: u64, blocks: u64) {
        self.store.pin(start, blocks);
        self.used_blocks = self.used_blocks.saturating_sub(blocks);
    }

    /// Deletes an extent item and pins its blocks (fsck leak repair).
    pub fn drop_extent_item(&mut self, start: u64, blocks: u64) -> Result<(), FsError> {
        tree::delete(&mut self.store, &mut self.ext_root, &extent::extent_key(start, blocks))?;
        self.store.pin(start, blocks);
        self.used_blocks = self.used_blocks.saturating_sub(blocks);
        Ok(())
    }

    /// Gives the device back.
    pub fn into_device(self) -> D {
        self.store.dev
    }
}
