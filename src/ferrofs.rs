// SPDX-License-Identifier: GPL-2.0

//! ferrofs: a copy-on-write filesystem on iomap.
//!
//! Layering: [`sys`] is the only raw FFI (bindgen output and the C shim); [`vfs`] holds the thin safe
//! wrappers over it; everything else is safe Rust on top of those and of the shared on-disk format
//! crate ([`format`], the same source that `mkfs.ferrofs` and `fsck.ferrofs` compile).

use kernel::prelude::*;

mod acl;
mod aops;
mod dio;
mod dir;
mod falloc;
mod file;
mod inode;
mod namei;
mod ordered;
mod reflink;
mod store;
mod superblock;
mod sys;
mod transaction;
mod trim;
mod vfs;
mod xattr;

/// The kernel's `crc32c()` for the format crate (see format/src/crc32c.rs).
pub(crate) fn kernel_crc32c(crc: u32, data: &[u8]) -> u32 {
    vfs::crc32c(crc, data)
}

/// The on-disk format: the very source `mkfs.ferrofs`, `fsck.ferrofs` and the host tests compile.
/// Its crate-level attributes (`no_std`, `forbid(unsafe_code)`) act as module attributes here.
#[allow(unused_attributes, dead_code, unreachable_pub)]
#[path = "../format/src/lib.rs"]
pub mod format;

module! {
    type: FerrofsModule,
    name: "ferrofs",
    author: "ferrofs developers",
    description: "ferrofs copy-on-write filesystem",
    license: "GPL",
}

static FS_TYPE: vfs::fs_type::StaticFsType = vfs::fs_type::StaticFsType::new();

struct FerrofsModule {
    // Dropped in this order: the filesystem type is gone before the direct read bio set.
    _reg: vfs::fs_type::Registration,
    _dio: vfs::file::DioReadSupport,
}

impl kernel::Module for FerrofsModule {
    fn init(module: &'static ThisModule) -> Result<Self> {
        let dio = vfs::file::DioReadSupport::new()?;
        let reg = vfs::fs_type::Registration::register::<superblock::FerroFs>(&FS_TYPE, module)?;
        pr_info!("registered filesystem type ferrofs\n");
        Ok(FerrofsModule { _reg: reg, _dio: dio })
    }
}

impl Drop for FerrofsModule {
    fn drop(&mut self) {
        pr_info!("unregistering filesystem type ferrofs\n");
    }
}
