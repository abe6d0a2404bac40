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
#include <linux/dcache.h>
#include <linux/errno.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <linux/fs_context.h>
#include <linux/fs_parser.h>
#include <linux/iomap.h>
#include <linux/module.h>
#include <linux/pagemap.h>
#include <linux/ratelimit.h>
#include <linux/rcupdate.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/statfs.h>


/*
 * Constants behind macros bindgen cannot evaluate (BIT(), casts): bindgen folds these const
 * definitions into Rust constants. IOMAP_NULL_ADDR (-1ULL) is spelled u64::MAX on the Rust side.
 */
const unsigned int FERROFS_FS_REQUIRES_DEV = FS_REQUIRES_DEV;
const unsigned long FERROFS_SB_RDONLY = SB_RDONLY;
const unsigned short FERROFS_IOMAP_HOLE = IOMAP_HOLE;
const unsigned short FERROFS_IOMAP_MAPPED = IOMAP_MAPPED;
const unsigned short FERROFS_IOMAP_UNWRITTEN = IOMAP_UNWRITTEN;

/* shim.c: wrappers for static inlines and macros. */
struct buffer_head *ferrofs_shim_sb_bread(struct super_block *sb, sector_t block);
void ferrofs_shim_brelse(struct buffer_head *bh);
loff_t ferrofs_shim_bdev_nr_bytes(struct super_block *sb);
bool ferrofs_shim_inode_is_new(struct inode *inode);
void ferrofs_shim_set_owner(struct inode *inode, u32 uid, u32 gid);
void ferrofs_shim_set_times(struct inode *inode, s64 asec, u32 ansec, s64 msec, u32 mnsec, s64 csec,
			    u32 cnsec);
void ferrofs_shim_set_size(struct inode *inode, loff_t size);
bool ferrofs_shim_dir_emit(struct dir_context *ctx, const char *name, int len, u64 ino, unsigned int type);
bool ferrofs_shim_dir_emit_dots(struct file *file, struct dir_context *ctx);
struct kmem_cache *ferrofs_shim_kmem_cache_create(const char *name, unsigned int size, unsigned int align,
						  void (*ctor)(void *));
void *ferrofs_shim_alloc_inode_sb(struct super_block *sb, struct kmem_cache *cache);
void *ferrofs_shim_ratelimit_alloc(void);
void ferrofs_shim_ratelimit_free(void *rs);
void ferrofs_shim_report(struct super_block *sb, void *rs, const char *msg, u64 block, int err);
void ferrofs_shim_set_special(struct inode *inode, umode_t mode, u64 rdev);
struct inode *ferrofs_shim_folio_inode(struct folio *folio, loff_t *pos, size_t *len);
void ferrofs_shim_seq_puts(struct seq_file *m, const char *s);
const char *ferrofs_shim_param_string(struct fs_parameter *param);
const unsigned char *ferrofs_shim_dentry_name(struct dentry *dentry, unsigned int *len);

#endif
