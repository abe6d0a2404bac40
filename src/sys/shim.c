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

struct inode *ferrofs_shim_d_inode(struct dentry *dentry)
{
	return d_inode(dentry);
}

/* ---- Writable metadata buffers ---- */

/* A buffer for a block that is about to be overwritten whole: no read. */
struct buffer_head *ferrofs_shim_sb_getblk(struct super_block *sb, sector_t block)
{
	return sb_getblk(sb, block);
}

void ferrofs_shim_bh_set_uptodate_dirty(struct buffer_head *bh)
{
	set_buffer_uptodate(bh);
	mark_buffer_dirty(bh);
}

/*
 * ferrofs's private buffer state bits: 0 = the node's checksum was verified since it was read,
 * 1 = the block is on the running transaction's dirty list.
 */
bool ferrofs_shim_bh_test_flag(struct buffer_head *bh, int which)
{
	return test_bit(BH_PrivateStart + which, &bh->b_state);
}

void ferrofs_shim_bh_set_flag(struct buffer_head *bh, int which)
{
	set_bit(BH_PrivateStart + which, &bh->b_state);
}

bool ferrofs_shim_bh_test_clear_flag(struct buffer_head *bh, int which)
{
	return test_and_clear_bit(BH_PrivateStart + which, &bh->b_state);
}

/* Starts writing a dirty buffer (a clean one was written back already). */
void ferrofs_shim_bh_submit_write(struct buffer_head *bh)
{
	write_dirty_buffer(bh, REQ_SYNC);
}

/* Waits for a write started by ferrofs_shim_bh_submit_write(); -EIO if it failed. */
int ferrofs_shim_bh_wait_write(struct buffer_head *bh)
{
	wait_on_buffer(bh);
	if (buffer_write_io_error(bh) || !buffer_uptodate(bh))
		return -EIO;
	return 0;
}

/* Overwrites a whole block and writes it synchronously (with preflush + FUA when asked). */
int ferrofs_shim_bh_write_sync(struct buffer_head *bh, const void *data, size_t len, bool fua)
{
	if (len != bh->b_size)
		return -EINVAL;
	lock_buffer(bh);
	memcpy(bh->b_data, data, len);
	set_buffer_uptodate(bh);
	clear_buffer_write_io_error(bh);
	unlock_buffer(bh);
	mark_buffer_dirty(bh);
	return __sync_dirty_buffer(bh, REQ_SYNC | (fua ? REQ_PREFLUSH | REQ_FUA : 0));
}

/* A freed metadata block: its contents need never reach the disk. */
void ferrofs_shim_bh_forget(struct buffer_head *bh)
{
	clear_buffer_dirty(bh);
}

int ferrofs_shim_flush_device(struct super_block *sb)
{
	return blkdev_issue_flush(sb->s_bdev);
}

u32 ferrofs_shim_crc32c(u32 crc, const void *data, size_t len)
{
	return crc32c(crc, data, len);
}

/* ---- Workqueue ---- */

/* The per-mount queue: commits and (later) ordered-extent completion run here. */
struct workqueue_struct *ferrofs_shim_alloc_wq(struct super_block *sb)
{
	return alloc_workqueue("ferrofs-%s", WQ_MEM_RECLAIM | WQ_FREEZABLE, 0, sb->s_id);
}

void ferrofs_shim_init_delayed_work(struct delayed_work *dw, void (*fn)(struct work_struct *))
{
	INIT_DELAYED_WORK(dw, fn);
}

struct delayed_work *ferrofs_shim_to_delayed_work(struct work_struct *w)
{
	return to_delayed_work(w);
}

/* Runs the work after `msecs`, moving an already queued run to that time. */
void ferrofs_shim_mod_delayed_work(struct workqueue_struct *wq, struct delayed_work *dw, unsigned int msecs)
{
	mod_delayed_work(wq, dw, msecs_to_jiffies(msecs));
}

/* Runs the work after `msecs` unless it is queued already. */
void ferrofs_shim_queue_delayed_work(struct workqueue_struct *wq, struct delayed_work *dw, unsigned int msecs)
{
	queue_delayed_work(wq, dw, msecs_to_jiffies(msecs));
}

unsigned int ferrofs_shim_memalloc_nofs_save(void)
{
	return memalloc_nofs_save();
}

void ferrofs_shim_memalloc_nofs_restore(unsigned int flags)
{
	memalloc_nofs_restore(flags);
}

/* ---- Inode attributes ---- */

void ferrofs_shim_get_attrs(struct inode *inode, struct ferrofs_inode_attrs *a)
{
	struct timespec64 t;

	a->ino = inode->i_ino;
	a->size = i_size_read(inode);
	a->blocks = inode->i_blocks;
	a->rdev = new_encode_dev(inode->i_rdev);
	t = inode_get_atime(inode);
	a->atime_sec = t.tv_sec;
	a->atime_nsec = t.tv_nsec;
	t = inode_get_mtime(inode);
	a->mtime_sec = t.tv_sec;
	a->mtime_nsec = t.tv_nsec;
	t = inode_get_ctime(inode);
	a->ctime_sec = t.tv_sec;
	a->ctime_nsec = t.tv_nsec;
	a->mode = inode->i_mode;
	a->uid = i_uid_read(inode);
	a->gid = i_gid_read(inode);
	a->nlink = inode->i_nlink;
	a->generation = inode->i_generation;
}

/* Everything but the inode number, the link count and the operation tables. */
void ferrofs_shim_set_attrs(struct inode *inode, const struct ferrofs_inode_attrs *a)
{
	inode->i_mode = a->mode;
	i_uid_write(inode, a->uid);
	i_gid_write(inode, a->gid);
	i_size_write(inode, a->size);
	inode->i_blocks = a->blocks;
	inode->i_generation = a->generation;
	inode_set_atime(inode, a->atime_sec, a->atime_nsec);
	inode_set_mtime(inode, a->mtime_sec, a->mtime_nsec);
	inode_set_ctime(inode, a->ctime_sec, a->ctime_nsec);
}

void ferrofs_shim_touch_ctime(struct inode *inode)
{
	inode_set_ctime_current(inode);
}

void ferrofs_shim_touch_mtime_ctime(struct inode *inode)
{
	inode_set_mtime_to_ts(inode, inode_set_ctime_current(inode));
}


unsigned int ferrofs_shim_inode_nlink(struct inode *inode)
{
	return inode->i_nlink;
}

bool ferrofs_shim_inode_is_dir(struct inode *inode)
{
	return S_ISDIR(inode->i_mode);
}

loff_t ferrofs_shim_inode_size(struct inode *inode)
{
	return i_size_read(inode);
}

u64 ferrofs_shim_encode_dev(dev_t dev)
{
	return new_encode_dev(dev);
}

/* errors=remount-ro: after a failed commit nothing more may be written. */
void ferrofs_shim_set_rdonly(struct super_block *sb)
{
	WRITE_ONCE(sb->s_flags, sb->s_flags | SB_RDONLY);
}

bool ferrofs_shim_sb_rdonly(struct super_block *sb)
{
	return sb_rdonly(sb);
}

void ferrofs_shim_set_xattr_handlers(struct super_block *sb, const struct xattr_handler *const *h)
{
	sb->s_xattr = h;
}

void ferrofs_shim_get_bh(struct buffer_head *bh)
{
	get_bh(bh);
}

int ferrofs_shim_finish_open(struct file *file)
{
	return finish_open_simple(file, 0);
}

void ferrofs_shim_sb_start_intwrite(struct super_block *sb)
{
	sb_start_intwrite(sb);
}

void ferrofs_shim_sb_end_intwrite(struct super_block *sb)
{
	sb_end_intwrite(sb);
}

void ferrofs_shim_seq_put_decimal(struct seq_file *m, const char *prefix, u64 n)
{
	seq_put_decimal_ull(m, prefix, n);
}

void ferrofs_shim_inode_lock(struct inode *inode)
{
	inode_lock(inode);
}

void ferrofs_shim_inode_unlock(struct inode *inode)
{
	inode_unlock(inode);
}

void ferrofs_shim_bh_zero_uptodate(struct buffer_head *bh)
{
	lock_buffer(bh);
	memset(bh->b_data, 0, bh->b_size);
	set_buffer_uptodate(bh);
	unlock_buffer(bh);
}

void ferrofs_shim_flush_wq(struct workqueue_struct *wq)
{
	flush_workqueue(wq);
}
