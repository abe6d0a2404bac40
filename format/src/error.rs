//! The error type shared by every parser and algorithm in the crate.

use core::fmt;

/// Everything that can go wrong reading or changing a ferrofs image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsError {
    /// The block store could not read or write (maps to `EIO`).
    Io,
    /// On-disk metadata is inconsistent (maps to `EUCLEAN`).
    Corrupt {
        /// Block in which the problem was found.
        block: u64,
        /// Static description of the problem.
        what: &'static str,
    },
    /// No ferrofs magic: not a ferrofs filesystem (maps to `EINVAL`).
    BadMagic,
    /// The ferrofs superblock at `block` fails its checksum (maps to `EUCLEAN`).
    BadChecksum {
        /// Block number of the superblock copy.
        block: u64,
    },
    /// An incompat feature bit this code does not know (maps to `EINVAL`).
    UnknownIncompat(u32),
    /// A feature or value this code does not support (maps to `EINVAL`).
    Unsupported(&'static str),
    /// No free space left (maps to `ENOSPC`).
    NoSpace,
    /// The key, inode or name does not exist (maps to `ENOENT`).
    NotFound,
    /// The key or name already exists (maps to `EEXIST`).
    Exists,
    /// An argument is invalid (maps to `EINVAL`).
    Invalid(&'static str),
    /// A value is too large for the format (maps to `EFBIG`).
    TooBig,
    /// The item listing an inode's names in one directory is full (maps to `EMLINK`).
    TooManyLinks,
    /// An extended attribute value is larger than one item holds (maps to `E2BIG`).
    ValueTooBig,
    /// The caller's buffer is too small for the result (maps to `ERANGE`).
    Range,
    /// A name is longer than [`MAX_NAME_LEN`](super::layout::MAX_NAME_LEN) (maps to `ENAMETOOLONG`).
    NameTooLong,
}

impl FsError {
    /// Positive Linux errno for this error (the kernel negates it).
    pub fn errno(&self) -> i32 {
        match self {
            FsError::Io => 5,
            FsError::Corrupt { .. } | FsError::BadChecksum { .. } => 117,
            FsError::BadMagic | FsError::UnknownIncompat(_) | FsError::Unsupported(_) => 22,
            FsError::Invalid(_) => 22,
            FsError::NoSpace => 28,
            FsError::NotFound => 2,
            FsError::Exists => 17,
            FsError::TooBig => 27,
            FsError::NameTooLong => 36,
            FsError::TooManyLinks => 31,
            FsError::ValueTooBig => 7,
            FsError::Range => 34,
        }
    }

    /// Shorthand for [`FsError::Corrupt`].
    pub fn corrupt(block: u64, what: &'static str) -> Self {
        FsError::Corrupt { block, what }
    }
}

impl fmt::Display for FsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FsError::Io => write!(f, "I/O error"),
            FsError::Corrupt { block, what } => write!(f, "corruption in block {block}: {what}"),
            FsError::BadMagic => write!(f, "not a ferrofs filesystem (bad magic)"),
            FsError::BadChecksum { block } => write!(f, "superblock at block {block}: checksum mismatch"),
            FsError::UnknownIncompat(bit) => write!(f, "unknown incompat feature bit {bit}"),
            FsError::Unsupported(w) => write!(f, "unsupported: {w}"),
            FsError::NoSpace => write!(f, "no space left"),
            FsError::NotFound => write!(f, "not found"),
            FsError::Exists => write!(f, "already exists"),
            FsError::Invalid(w) => write!(f, "invalid: {w}"),
            FsError::TooBig => write!(f, "too big"),
            FsError::NameTooLong => write!(f, "name too long"),
            FsError::TooManyLinks => write!(f, "too many links"),
            FsError::ValueTooBig => write!(f, "value too big"),
            FsError::Range => write!(f, "buffer too small"),
        }
    }
}
