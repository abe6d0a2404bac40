// SPDX-License-Identifier: GPL-2.0
/*
 * Out-of-line wrappers for the static inline functions and macros ferrofs calls from Rust.
 * Each is a one-liner; keep it that way: logic belongs in Rust.
 */
#include "ferrofs_sys.h"

/* Metadata reads go through the block device's page cache. NULL on I/O error. */
struct buffer_head *ferrofs_shim_sb_bread(struct super_block *sb, sector_t block)
{
	return sb_bread(sb, block);
}

void ferrofs_shim_brelse(struct buffer_head *bh)
{
	brelse(bh);
}

loff_t ferrofs_shim_bdev_nr_bytes(struct super_block *sb)
{
	return bdev_nr_bytes(sb->s_bdev);
}

bool ferrofs_shim_inode_is_new(struct inode *inode)
{
	return inode->i_state & I_NEW;
}

void ferrofs_shim_set_owner(struct inode *inode, u32 uid, u32 gid)
{
	i_uid_write(inode, uid);
	i_gid_write(inode, gid);
}

void ferrofs_shim_set_times(struct inode *inode, s64 asec, u32 ansec, s64 msec, u32 mnsec, s64 csec,
			    u32 cnsec)
{
	inode_set_atime(inode, asec, ansec);
	inode_set_mtime(inode, msec, mnsec);
	inode_set_ctime(inode, csec, cnsec);
}

void ferrofs_shim_set_size(struct inode *inode, loff_t size)
{
	i_size_write(inode, size);
}

bool ferrofs_shim_dir_emit(struct dir_context *ctx, const char *name, int len, u64 ino, unsigned int type)
{
	return dir_emit(ctx, name, len, ino, type);
}

bool ferrofs_shim_dir_emit_dots(struct file *file, struct dir_context *ctx)
{
	return dir_emit_dots(file, ctx);
}

/* A constructor keeps the cache from being merged with others, so its counts are ours alone. */
struct kmem_cache *ferrofs_shim_kmem_cache_create(const char *name, unsigned int size, unsigned int align,
						  void (*ctor)(void *))
{
	return kmem_cache_create(name, size, align, SLAB_RECLAIM_ACCOUNT | SLAB_ACCOUNT, ctor);
}

void *ferrofs_shim_alloc_inode_sb(struct super_block *sb, struct kmem_cache *cache)
{
	return alloc_inode_sb(sb, cache, GFP_KERNEL);
}

/*
 * Rate-limited per superblock: a corrupted node met by every lookup must not flood the log, nor
 * silence the messages of another filesystem.
 */
void *ferrofs_shim_ratelimit_alloc(void)
{
	struct ratelimit_state *rs = kzalloc(sizeof(*rs), GFP_KERNEL);

	if (rs)
		ratelimit_state_init(rs, DEFAULT_RATELIMIT_INTERVAL, DEFAULT_RATELIMIT_BURST);
	return rs;
}

void ferrofs_shim_ratelimit_free(void *rs)
{
	kfree(rs);
}

void ferrofs_shim_report(struct super_block *sb, void *rs, const char *msg, u64 block, int err)
{
	if (__ratelimit((struct ratelimit_state *)rs))
		pr_err("ferrofs (%s): %s (block %llu, error %d)\n", sb->s_id, msg, block, err);
}

void ferrofs_shim_set_special(struct inode *inode, umode_t mode, u64 rdev)
{
	init_special_inode(inode, mode, new_decode_dev(rdev));
}

const unsigned char *ferrofs_shim_dentry_name(struct dentry *dentry, unsigned int *len)
{
	*len = dentry->d_name.len;
	return dentry->d_name.name;
}

/* The value of a "key=value" mount parameter; NULL for a bare flag or a non-string value. */
const char *ferrofs_shim_param_string(struct fs_parameter *param)
{
	return param->type == fs_value_is_string ? param->string : NULL;
}

void ferrofs_shim_seq_puts(struct seq_file *m, const char *s)
{
	seq_puts(m, s);
}

/* The inode a page-cache folio belongs to, and the file range it covers. */
struct inode *ferrofs_shim_folio_inode(struct folio *folio, loff_t *pos, size_t *len)
{
	*pos = folio_pos(folio);
	*len = folio_size(folio);
	return folio->mapping->host;
}
