// SPDX-License-Identifier: GPL-2.0

//! Thin safe wrappers over the raw bindings in [`crate::sys`].
//!
//! Each wrapper states its invariants; every `unsafe` block carries a `// SAFETY:` comment. The
//! filesystem logic above this module is safe Rust.

pub(crate) mod fs_type;
