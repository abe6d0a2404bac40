//! Global constants of the on-disk layout.

/// Size of every block, node and superblock.
pub const BLOCK_SIZE: usize = 4096;
/// `log2(BLOCK_SIZE)`.
pub const BLOCK_SHIFT: u32 = 12;
/// `BLOCK_SIZE` as `u64`.
pub const BLOCK_SIZE_U64: u64 = 4096;
/// Block number of the primary superblock (byte offset 64 KiB).
pub const SUPER_BLOCK_NR: u64 = 16;
/// Block number of the backup superblock (byte offset 1 MiB - 4 KiB).
pub const BACKUP_SUPER_BLOCK_NR: u64 = 255;
/// Both superblock copies, in the order a commit writes them.
pub const SUPER_BLOCK_NRS: [u64; 2] = [SUPER_BLOCK_NR, BACKUP_SUPER_BLOCK_NR];
/// Blocks `0..FIRST_ALLOC_BLOCK` are reserved (boot area and superblocks)
/// and never appear in the extent tree.
pub const FIRST_ALLOC_BLOCK: u64 = 256;
/// Smallest filesystem: 16 MiB.
pub const MIN_BLOCKS: u64 = 4096;
/// Maximum B+tree height (levels `0..MAX_LEVELS`).
pub const MAX_LEVELS: usize = 8;
/// Owner id of the filesystem tree (inodes, directories, file extents).
pub const FS_TREE_OWNER: u64 = 1;
/// Owner id of the extent (allocation) tree.
pub const EXTENT_TREE_OWNER: u64 = 2;
/// Inode number of the root directory.
pub const ROOT_DIR_INO: u64 = 256;
/// First inode number handed out after mkfs.
pub const FIRST_FREE_INO: u64 = 257;
/// Longest name in a directory.
pub const MAX_NAME_LEN: usize = 255;
/// Largest file size: `i64::MAX` bytes (`loff_t`'s limit, the VFS's `MAX_LFS_FILESIZE`).
pub const MAX_FILE_SIZE: u64 = i64::MAX as u64;
/// End of the last block a file can have (`MAX_FILE_SIZE` rounded up to a block: 2^63, which
/// fits a `u64`; file extents end at or before it).
pub const MAX_EXTENT_END: u64 = MAX_FILE_SIZE.next_multiple_of(BLOCK_SIZE_U64);
/// Largest item payload in a leaf.  Twice this plus two item headers fits
/// in an empty leaf, which guarantees a two-way leaf split always works.
pub const MAX_ITEM_DATA: usize = 2000;
/// Symlink targets are stored in chunks of this many bytes.
pub const SYMLINK_CHUNK: usize = 1024;
/// Longest symlink target.
pub const MAX_SYMLINK_LEN: usize = 4095;
/// Largest disk extent a writer creates, in blocks (128 MiB).
pub const MAX_EXTENT_BLOCKS: u64 = 32768;
