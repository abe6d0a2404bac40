// SPDX-License-Identifier: GPL-2.0

//! Raw FFI: the bindgen output for `ferrofs_sys.h` and the C shim's functions.
//!
//! Nothing outside `crate::vfs` uses this module; everything here is unsafe to call and the wrappers
//! in `vfs` carry the `// SAFETY:` arguments.

#[allow(
    dead_code,
    missing_docs,
    non_camel_case_types,
    non_snake_case,
    non_upper_case_globals,
    unreachable_pub,
    improper_ctypes,
    unknown_lints,
    unnecessary_transmutes,
    unsafe_op_in_unsafe_fn,
    clippy::all,
    clippy::undocumented_unsafe_blocks,
    rustdoc::all
)]
mod generated {
    include!(concat!(env!("FERROFS_OBJ"), "/src/sys/bindings_generated.rs"));
}

pub(crate) use generated::*;
