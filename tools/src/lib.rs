//! ferrofs userspace library: device access, a [`BlockStore`] over a file
//! or memory, a small transactional filesystem writer ([`fs::Fs`]) used by
//! mkfs and fsck repair, the checker ([`fsck`]) and mkfs helpers.
//!
//! All on-disk parsing and layout is done by `ferrofs_format`.
//!
//! [`BlockStore`]: ferrofs_format::BlockStore

pub mod cli;
pub mod dev;
pub mod fs;
pub mod fsck;
pub mod mkfs;
pub mod store;
pub mod undo;

pub use ferrofs_format as format;
