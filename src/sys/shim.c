// SPDX-License-Identifier: GPL-2.0
/*
 * Out-of-line wrappers for the static inline functions and macros ferrofs calls from Rust.
 * Each is a one-liner; keep it that way: logic belongs in Rust.
 */
#include "ferrofs_sys.h"

/* invalf() is a macro: log "ferrofs: <msg>" to the mount context (and dmesg), return -EINVAL. */
int ferrofs_shim_invalf(struct fs_context *fc, const char *msg)
{
	return invalf(fc, "ferrofs: %s", msg);
}
