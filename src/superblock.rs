// SPDX-License-Identifier: GPL-2.0

//! Mounting: the fs_context and superblock of a ferrofs filesystem.

use crate::vfs::fs_type::{FileSystem, FsContext};
use core::ffi::CStr;
use kernel::prelude::*;

/// The ferrofs filesystem type.
pub(crate) struct FerroFs;

impl FileSystem for FerroFs {
    const NAME: &'static CStr = c"ferrofs";

    fn init_fs_context(fc: &mut FsContext) -> Result {
        Err(fc.invalf(c"mounting is not implemented yet"))
    }
}
