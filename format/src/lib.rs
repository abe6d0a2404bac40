//! The ferrofs on-disk format, defined once.
//!
//! This crate is `no_std`, uses no `alloc`, has no dependencies and contains
//! no `unsafe`.  It is compiled into the kernel module (included by path as a
//! module) and into the userspace tools and host tests.  All structures are
//! little-endian; see `docs/FORMAT.md` for the byte-by-byte layout.
//!
//! Modules refer to each other with `super::` paths only, never `crate::`,
//! because inside the kernel module the crate root is not this file.
#![no_std]
#![forbid(unsafe_code)]

pub mod bytes;
pub mod commit;
pub mod crc32c;
pub mod dir;
pub mod error;
pub mod extent;
pub mod fileext;
pub mod inode;
pub mod items;
pub mod key;
pub mod layout;
pub mod node;
pub mod ordered;
pub mod orphan;
pub mod space;
pub mod superblock;
pub mod tree;
pub mod xattr;

pub use crc32c::crc32c;
pub use error::FsError;
pub use items::{DirEntry, DirIndex, ExtentData, ExtentItem, InodeExtref, InodeItem, InodeRef, Timespec};
pub use key::Key;
pub use layout::*;
pub use superblock::DiskSuper;
pub use tree::{BlockStore, Item, MetaChange, Root};
