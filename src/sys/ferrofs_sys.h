/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The C surface ferrofs uses. bindgen (run by our Kbuild with the kernel's own C flags, so struct
 * layouts match the configured kernel) turns this header into src/sys/bindings_generated.rs, limited
 * by the allowlist in src/sys/bindgen_parameters. Static inlines and macros the Rust side needs are
 * wrapped by functions in shim.c and declared at the end of this file.
 */
#ifndef FERROFS_SYS_H
#define FERROFS_SYS_H

#include <linux/blkdev.h>
#include <linux/buffer_head.h>
#include <linux/errno.h>
#include <linux/fs.h>
#include <linux/fs_context.h>
#include <linux/fs_parser.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/statfs.h>

/* Constants bindgen cannot see through macros. */
const unsigned int FERROFS_FS_REQUIRES_DEV = FS_REQUIRES_DEV;

/* shim.c: wrappers for static inlines and macros. */
int ferrofs_shim_invalf(struct fs_context *fc, const char *msg);

#endif
