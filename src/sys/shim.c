// SPDX-License-Identifier: GPL-2.0
/*
 * Out-of-line wrappers for the static inline functions and macros ferrofs calls from Rust.
 * Each is a one-liner; keep it that way: logic belongs in Rust. The one exception is the writeback
 * ioend queue below: bio completion runs in interrupt context, where the 6.12 Rust locks cannot be
 * used, so the hand-off to the workqueue (an irq-safe spinlock and a list) is C.
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

void ferrofs_shim_cond_resched(void)
{
	cond_resched();
}

/*
 * Where the readdir pass of an open directory ends, kept in its private_data (0: not set). Only
 * readdir uses it, under the file's f_pos_lock (directories are FMODE_ATOMIC_POS).
 */
u64 ferrofs_shim_dir_pass_end(struct file *file)
{
	return (uintptr_t)READ_ONCE(file->private_data);
}

void ferrofs_shim_dir_set_pass_end(struct file *file, u64 end)
{
	/* A 32-bit kernel keeps what fits: the pass then ends at the last name, later. */
	WRITE_ONCE(file->private_data, (void *)(uintptr_t)min_t(u64, end, UINTPTR_MAX));
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

/*
 * A tree block the running transaction filled. Not marked dirty: the commit writes it (see
 * BufferHead::mark_changed).
 */
void ferrofs_shim_bh_set_uptodate(struct buffer_head *bh)
{
	set_buffer_uptodate(bh);
}

/*
 * ferrofs's private buffer state bits (BhFlag): 0 = the node's checksum was verified since it was
 * read, 1 = the block is on the running transaction's dirty list, 2 = changed, to be written by
 * the commit.
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

/*
 * How long commits that fail are kept and written again by the next ones before the filesystem
 * gives up and turns read-only (0: at the first failure).
 */
static unsigned int commit_retry_secs = 30;
module_param(commit_retry_secs, uint, 0644);
MODULE_PARM_DESC(commit_retry_secs, "seconds failing commits are retried before the filesystem turns read-only (0: never retried)");

unsigned int ferrofs_shim_commit_retry_secs(void)
{
	return READ_ONCE(commit_retry_secs);
}

/*
 * Completion of a commit's block write. Unlike end_buffer_write_sync, a failure leaves the buffer
 * uptodate: its contents are the only copy of the block (the in-memory tree still reads it, and
 * the next commit writes it again), not something to read back from the disk.
 */
static void ferrofs_end_commit_write(struct buffer_head *bh, int uptodate)
{
	if (!uptodate) {
		pr_err_ratelimited("ferrofs: %pg: write of metadata block %llu failed\n", bh->b_bdev,
				   (unsigned long long)bh->b_blocknr);
		set_buffer_write_io_error(bh);
	}
	unlock_buffer(bh);
	put_bh(bh);
}

/* Starts writing the buffer, whatever its dirty bit says (the commit's write of a changed block). */
void ferrofs_shim_bh_submit_write(struct buffer_head *bh)
{
	lock_buffer(bh);
	clear_buffer_dirty(bh);
	clear_buffer_write_io_error(bh);
	get_bh(bh);
	bh->b_end_io = ferrofs_end_commit_write;	/* unlocks, drops the reference */
	submit_bh(REQ_OP_WRITE | REQ_SYNC, bh);
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

/* FS_IOC_SHUTDOWN's argument: only for CAP_SYS_ADMIN, a u32 of user memory. */
int ferrofs_shim_shutdown_arg(unsigned long arg, __u32 *flags)
{
	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	if (get_user(*flags, (__u32 __user *)arg))
		return -EFAULT;
	return 0;
}

/* FITRIM: CAP_SYS_ADMIN, a device that discards, the range from user memory (as ext4). */
int ferrofs_shim_fitrim_get(struct super_block *sb, unsigned long arg, struct fstrim_range *r, u64 *granularity)
{
	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	if (!bdev_max_discard_sectors(sb->s_bdev))
		return -EOPNOTSUPP;
	if (copy_from_user(r, (struct fstrim_range __user *)arg, sizeof(*r)))
		return -EFAULT;
	*granularity = bdev_discard_granularity(sb->s_bdev);
	return 0;
}

int ferrofs_shim_fitrim_put(unsigned long arg, const struct fstrim_range *r)
{
	return copy_to_user((struct fstrim_range __user *)arg, r, sizeof(*r)) ? -EFAULT : 0;
}

/* Discards filesystem blocks block..block+nr_blocks (waits for it). */
int ferrofs_shim_discard(struct super_block *sb, u64 block, u64 nr_blocks)
{
	unsigned int shift = sb->s_blocksize_bits - SECTOR_SHIFT;

	return blkdev_issue_discard(sb->s_bdev, block << shift, nr_blocks << shift, GFP_NOFS);
}

/* Whether the device takes discards. */
bool ferrofs_shim_discards(struct super_block *sb)
{
	return bdev_max_discard_sectors(sb->s_bdev) != 0;
}

/* FS_IOC_GETFSLABEL: hands FSLABEL_MAX bytes to user memory. */
int ferrofs_shim_label_put(unsigned long arg, const char *label)
{
	return copy_to_user((char __user *)arg, label, FSLABEL_MAX) ? -EFAULT : 0;
}

/*
 * FS_IOC_SETFSLABEL, as btrfs and ext4: CAP_SYS_ADMIN, a write reference on the mount (released
 * by ferrofs_shim_label_done), FSLABEL_MAX bytes from user memory.
 */
int ferrofs_shim_label_get(struct file *file, unsigned long arg, char *label)
{
	int err;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	if (copy_from_user(label, (const char __user *)arg, FSLABEL_MAX))
		return -EFAULT;
	err = mnt_want_write_file(file);
	return err;
}

void ferrofs_shim_label_done(struct file *file)
{
	mnt_drop_write_file(file);
}

bool ferrofs_shim_fatal_signal_pending(void)
{
	return fatal_signal_pending(current);
}

/* Freezes the filesystem through its device (syncs it, then our freeze_fs commits). */
int ferrofs_shim_bdev_freeze(struct super_block *sb)
{
	return bdev_freeze(sb->s_bdev);
}

void ferrofs_shim_bdev_thaw(struct super_block *sb)
{
	bdev_thaw(sb->s_bdev);
}

bool ferrofs_shim_sb_rdonly(struct super_block *sb)
{
	return sb_rdonly(sb);
}

void ferrofs_shim_set_xattr_handlers(struct super_block *sb, const struct xattr_handler *const *h)
{
	sb->s_xattr = h;
}

/* POSIX ACLs: SB_POSIXACL (the acl/noacl mount options) and the stored format (ids in the
 * initial user namespace, as every disk filesystem keeps them). */
void ferrofs_shim_set_posixacl(struct super_block *sb, bool on)
{
	if (on)
		sb->s_flags |= SB_POSIXACL;
	else
		sb->s_flags &= ~SB_POSIXACL;
}

bool ferrofs_shim_posixacl(struct super_block *sb)
{
	return sb->s_flags & SB_POSIXACL;
}

/* Writeback per cgroup (SB_I_CGROUPWB): iomap's writeback tags each bio with the cgroup that
 * dirtied its folios (wbc_init_bio, wbc_account_cgroup_owner), so it is charged there, not to the
 * flusher. A no-op in a kernel without CONFIG_CGROUP_WRITEBACK. */
void ferrofs_shim_set_cgroup_writeback(struct super_block *sb)
{
	sb->s_iflags |= SB_I_CGROUPWB;
}

void ferrofs_shim_posix_acl_release(struct posix_acl *acl)
{
	posix_acl_release(acl);
}

size_t ferrofs_shim_posix_acl_xattr_len(const struct posix_acl *acl)
{
	return posix_acl_xattr_size(acl->a_count);
}

int ferrofs_shim_posix_acl_from_xattr(const void *value, size_t size, struct posix_acl **out)
{
	struct posix_acl *acl = posix_acl_from_xattr(&init_user_ns, value, size);

	if (IS_ERR(acl)) {
		*out = NULL;
		return PTR_ERR(acl);
	}
	*out = acl;
	return 0;
}

int ferrofs_shim_posix_acl_to_xattr(const struct posix_acl *acl, void *buf, size_t size)
{
	return posix_acl_to_xattr(&init_user_ns, acl, buf, size);
}

struct posix_acl *ferrofs_shim_acl_err(int err)
{
	return ERR_PTR(err);
}

void ferrofs_shim_set_mode(struct inode *inode, umode_t mode)
{
	inode->i_mode = (inode->i_mode & S_IFMT) | (mode & ~S_IFMT);
}

/* Inode flags (chattr): the FS_*_FL values ferrofs stores, as the VFS's S_* flags. */
void ferrofs_shim_set_inode_flags(struct inode *inode, u32 fsflags)
{
	unsigned int f = 0;

	if (fsflags & FS_SYNC_FL)
		f |= S_SYNC;
	if (fsflags & FS_IMMUTABLE_FL)
		f |= S_IMMUTABLE;
	if (fsflags & FS_APPEND_FL)
		f |= S_APPEND;
	if (fsflags & FS_NOATIME_FL)
		f |= S_NOATIME;
	if (fsflags & FS_DIRSYNC_FL)
		f |= S_DIRSYNC;
	inode_set_flags(inode, f, S_SYNC | S_IMMUTABLE | S_APPEND | S_NOATIME | S_DIRSYNC);
}

/*
 * Swap files (CONFIG_SWAP only). Not iomap_swapfile_activate: it fsyncs through f_op->fsync, and
 * swapon holds the inode lock our fsync takes. ferrofs walks its own mappings and adds the
 * page-aligned physical ranges here.
 */
unsigned long ferrofs_shim_swap_max(const struct swap_info_struct *sis)
{
	return sis->max;
}

int ferrofs_shim_swap_add_extent(struct swap_info_struct *sis, unsigned long start_page,
				 unsigned long nr_pages, sector_t start_block)
{
#ifdef CONFIG_SWAP
	return add_swap_extent(sis, start_page, nr_pages, start_block);
#else
	return -EINVAL;
#endif
}

void ferrofs_shim_swap_set_pages(struct swap_info_struct *sis, unsigned long nr_pages)
{
	sis->max = nr_pages;
	sis->pages = nr_pages - 1;
	sis->highest_bit = nr_pages - 1;
}

struct inode *ferrofs_shim_file_inode(struct file *file)
{
	return file->f_mapping->host;
}

bool ferrofs_shim_is_immutable(const struct inode *inode)
{
	return IS_IMMUTABLE(inode);
}

bool ferrofs_shim_is_dirsync(const struct inode *inode)
{
	return IS_DIRSYNC(inode);
}

/* The flags FS_IOC_SETFLAGS or FS_IOC_FSSETXATTR asks for; -EOPNOTSUPP for XFS-only fields. */
int ferrofs_shim_fileattr_flags(const struct fileattr *fa, u32 *flags)
{
	if (fileattr_has_fsx(fa))
		return -EOPNOTSUPP;
	*flags = fa->flags;
	return 0;
}

void ferrofs_shim_fileattr_fill(struct fileattr *fa, u32 flags)
{
	fileattr_fill_flags(fa, flags);
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

/* ---- File data: writes, mmap, writeback ---- */

loff_t ferrofs_shim_kiocb_pos(const struct kiocb *iocb)
{
	return iocb->ki_pos;
}

int ferrofs_shim_kiocb_flags(const struct kiocb *iocb)
{
	return iocb->ki_flags;
}

struct inode *ferrofs_shim_kiocb_inode(const struct kiocb *iocb)
{
	return file_inode(iocb->ki_filp);
}

/* O_DSYNC/O_SYNC (file or iocb): syncs what was written; returns count or the sync's error. */
ssize_t ferrofs_shim_generic_write_sync(struct kiocb *iocb, ssize_t count)
{
	return generic_write_sync(iocb, count);
}

bool ferrofs_shim_inode_trylock(struct inode *inode)
{
	return inode_trylock(inode);
}

/* file_remove_privs + the mtime/ctime update of a write (IOCB_NOWAIT aware). */
int ferrofs_shim_kiocb_modified(struct kiocb *iocb)
{
	return kiocb_modified(iocb);
}

/* mmap: the page cache's fault handlers with our page_mkwrite. */
int ferrofs_shim_file_mmap(struct file *file, struct vm_area_struct *vma, const struct vm_operations_struct *ops)
{
	file_accessed(file);
	vma->vm_ops = ops;
	return 0;
}

struct inode *ferrofs_shim_vmf_inode(struct vm_fault *vmf)
{
	return file_inode(vmf->vma->vm_file);
}

/* Freeze protection, the time update and the invalidate lock around iomap_page_mkwrite(). */
vm_fault_t ferrofs_shim_page_mkwrite(struct vm_fault *vmf, const struct iomap_ops *ops)
{
	struct inode *inode = file_inode(vmf->vma->vm_file);
	vm_fault_t ret;

	/* A shared writable mapping made before chattr +i (as ext4). */
	if (unlikely(IS_IMMUTABLE(inode)))
		return VM_FAULT_SIGBUS;
	sb_start_pagefault(inode->i_sb);
	file_update_time(vmf->vma->vm_file);
	/* Shared: a hole punch or range zeroing (exclusive) cannot see a folio dirtied under it. */
	filemap_invalidate_lock_shared(inode->i_mapping);
	ret = iomap_page_mkwrite(vmf, ops);
	filemap_invalidate_unlock_shared(inode->i_mapping);
	sb_end_pagefault(inode->i_sb);
	return ret;
}

void ferrofs_shim_set_large_folios(struct inode *inode)
{
	mapping_set_large_folios(inode->i_mapping);
}

void ferrofs_shim_mapping_set_error(struct inode *inode, int err)
{
	mapping_set_error(inode->i_mapping, err);
}

void ferrofs_shim_inode_add_bytes(struct inode *inode, u64 bytes)
{
	inode_add_bytes(inode, bytes);
}

void ferrofs_shim_inode_sub_bytes(struct inode *inode, u64 bytes)
{
	inode_sub_bytes(inode, bytes);
}

void ferrofs_shim_set_iomap_private(struct iomap *iomap, u64 private, u64 cookie)
{
	iomap->private = (void *)(uintptr_t)private;
	iomap->validity_cookie = cookie;
}

u64 ferrofs_shim_iomap_private(const struct iomap *iomap)
{
	return (u64)(uintptr_t)iomap->private;
}

/*
 * Completed writeback ioends are queued here from bio completion (any context, so under an
 * irq-safe spinlock) and handed to the filesystem on its workqueue, in completion order.
 */
struct ferrofs_ioend_queue {
	spinlock_t lock;
	struct list_head list;
	struct work_struct work;
	struct workqueue_struct *wq;
};

static void ferrofs_ioend_end_bio(struct bio *bio)
{
	struct iomap_ioend *ioend = iomap_ioend_from_bio(bio);
	struct ferrofs_ioend_queue *q = bio->bi_private;
	unsigned long flags;

	spin_lock_irqsave(&q->lock, flags);
	list_add_tail(&ioend->io_list, &q->list);
	spin_unlock_irqrestore(&q->lock, flags);
	queue_work(q->wq, &q->work);
}

void *ferrofs_shim_ioend_queue_alloc(struct workqueue_struct *wq, void (*fn)(struct work_struct *))
{
	struct ferrofs_ioend_queue *q = kzalloc(sizeof(*q), GFP_KERNEL);

	if (!q)
		return NULL;
	spin_lock_init(&q->lock);
	INIT_LIST_HEAD(&q->list);
	INIT_WORK(&q->work, fn);
	q->wq = wq;
	return q;
}

/* Called after the workqueue was flushed, so the work is idle and the list empty. */
void ferrofs_shim_ioend_queue_free(void *q)
{
	kfree(q);
}

/* The queue of a running work item. */
void *ferrofs_shim_ioend_queue_of_work(struct work_struct *w)
{
	return container_of(w, struct ferrofs_ioend_queue, work);
}


/* Never called: marks a queued ioend whose folios are to be ended (released), not accounted. */
static void ferrofs_ioend_released(struct bio *bio)
{
	WARN_ON_ONCE(1);
}

/* The oldest queued ioend, or NULL; *release says it was queued by ferrofs_shim_ioend_release(). */
struct iomap_ioend *ferrofs_shim_ioend_queue_pop(void *qp, bool *release)
{
	struct ferrofs_ioend_queue *q = qp;
	struct iomap_ioend *ioend = NULL;
	unsigned long flags;

	spin_lock_irqsave(&q->lock, flags);
	if (!list_empty(&q->list)) {
		ioend = list_first_entry(&q->list, struct iomap_ioend, io_list);
		list_del_init(&ioend->io_list);
		*release = ioend->io_bio.bi_end_io == ferrofs_ioend_released;
	}
	spin_unlock_irqrestore(&q->lock, flags);
	return ioend;
}

/* prepare_ioend: completion goes through the queue instead of ending the folios' writeback. */
void ferrofs_shim_ioend_hook(struct iomap_ioend *ioend, void *q)
{
	ioend->io_bio.bi_private = q;
	ioend->io_bio.bi_end_io = ferrofs_ioend_end_bio;
}

/*
 * Queues a completed ioend again, to have its folios' writeback ended (with error, 0 or a negative
 * errno) by the queue's work after whatever it is running now: so the inode stays valid for the
 * whole of a completion callback, whatever that callback releases.
 */
void ferrofs_shim_ioend_release(struct iomap_ioend *ioend, int error)
{
	struct ferrofs_ioend_queue *q = ioend->io_bio.bi_private;
	unsigned long flags;

	if (error)
		ioend->io_bio.bi_status = errno_to_blk_status(error);
	ioend->io_bio.bi_end_io = ferrofs_ioend_released;
	spin_lock_irqsave(&q->lock, flags);
	list_add_tail(&ioend->io_list, &q->list);
	spin_unlock_irqrestore(&q->lock, flags);
	queue_work(q->wq, &q->work);
}

struct inode *ferrofs_shim_ioend_inode(struct iomap_ioend *ioend)
{
	return ioend->io_inode;
}

/* A completed ioend: its file range (whole blocks, as submitted) and its I/O status. */
struct inode *ferrofs_shim_ioend_info(struct iomap_ioend *ioend, loff_t *offset, u64 *bytes, int *error)
{
	struct folio_iter fi;
	u64 n = 0;

	bio_for_each_folio_all(fi, &ioend->io_bio)
		n += fi.length;
	*offset = ioend->io_offset;
	*bytes = n;
	*error = blk_status_to_errno(ioend->io_bio.bi_status);
	return ioend->io_inode;
}

loff_t ferrofs_shim_seek(struct file *file, loff_t offset, int whence, const struct iomap_ops *ops)
{
	struct inode *inode = file_inode(file);

	switch (whence) {
	case SEEK_HOLE:
		offset = iomap_seek_hole(inode, offset, ops);
		break;
	case SEEK_DATA:
		offset = iomap_seek_data(inode, offset, ops);
		break;
	default:
		return generic_file_llseek(file, offset, whence);
	}
	if (offset < 0)
		return offset;
	return vfs_setpos(file, offset, inode->i_sb->s_maxbytes);
}

int ferrofs_shim_file_write_and_wait(struct file *file, loff_t start, loff_t end)
{
	return file_write_and_wait_range(file, start, end);
}

/* filemap_migrate_folio is NULL without CONFIG_MIGRATION; then nothing migrates and this never runs. */
int ferrofs_shim_migrate_folio(struct address_space *mapping, struct folio *dst, struct folio *src,
			       enum migrate_mode mode)
{
#ifdef CONFIG_MIGRATION
	return filemap_migrate_folio(mapping, dst, src, mode);
#else
	return -EINVAL;
#endif
}

/* ---- Direct I/O ---- */

/*
 * One pass of a direct I/O: __iomap_dio_rw with IOMAP_DIO_PARTIAL and page faults disabled on the
 * iterator (a fault ends the pass short instead of faulting under our locks), completed here
 * unless it went asynchronous. Returns the bytes done including done_before, 0 when this pass did
 * nothing, -EIOCBQUEUED when the completion will report (the iocb is not ours to touch then), or
 * -errno.
 */
ssize_t ferrofs_shim_dio_rw(struct kiocb *iocb, struct iov_iter *iter, const struct iomap_ops *ops,
			    const struct iomap_dio_ops *dops, void *private, size_t done_before)
{
	struct iomap_dio *dio;

	iter->nofault = true;
	dio = __iomap_dio_rw(iocb, iter, ops, dops, IOMAP_DIO_PARTIAL, private, done_before);
	iter->nofault = false;
	if (IS_ERR_OR_NULL(dio))
		return PTR_ERR_OR_ZERO(dio);
	return iomap_dio_complete(dio);
}

/*
 * How much of a direct write's user buffer is faulted in before each pass and at each stop at a
 * fault, in KiB (dio.rs, steps 0 and 4): a buffer not yet faulted in (a fresh mapping,
 * generic/708) then rarely stops a pass. 0 faults nothing in up front and all of the rest at a
 * stop: the tests use that to run the partial-write path on every write.
 */
static unsigned int dio_prefault_kib = 8192;
module_param(dio_prefault_kib, uint, 0644);
MODULE_PARM_DESC(dio_prefault_kib, "KiB of a direct write's buffer faulted in before each pass (0: only after a short pass)");

size_t ferrofs_shim_dio_prefault_bytes(void)
{
	return (size_t)READ_ONCE(dio_prefault_kib) << 10;
}

/* A read-only module parameter showing an atomic_long_t counter (its kp->arg). */
static int counter_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%ld\n", atomic_long_read((atomic_long_t *)kp->arg));
}

static const struct kernel_param_ops counter_ops = { .get = counter_get };

/*
 * Direct write mappings that stopped at a fault of the user buffer (nofault) and had the rest of
 * it faulted in to resume (read-only; the tests check that the partial-write path ran).
 */
static atomic_long_t dio_retries = ATOMIC_LONG_INIT(0);
module_param_cb(dio_retries, &counter_ops, &dio_retries, 0444);
MODULE_PARM_DESC(dio_retries, "direct write mappings that stopped at a fault of the buffer and resumed after faulting it in");

void ferrofs_shim_count_dio_retry(void)
{
	atomic_long_inc(&dio_retries);
}

/*
 * Direct reads against the reuse of the blocks they read (docs/LOCKING.md, "direct reads and freed
 * blocks"). A direct read maps blocks, then its bios read them; a copy-on-write finish racing it
 * may free those blocks, and once the next commit is on disk they may be handed out again. So a
 * direct read is an SRCU reader from its first mapping until its last bio completes, and a commit
 * makes the blocks it freed reusable only after a grace period. Two read sides: the pass's own
 * (dio.rs takes it before the first mapping and drops it when the pass returns: it covers the time
 * from a mapping to its bios' submission), and one per bio (taken at submission, dropped in the
 * bio's completion, which may run in interrupt context: hence C, with srcu_down_read/srcu_up_read,
 * which may be called from different contexts). A commit never waits inside a read side.
 */
DEFINE_STATIC_SRCU(ferrofs_dio_read_srcu);

struct ferrofs_dio_read_bio {
	int srcu_idx;
	struct bio bio;	/* last: the bio set's front pad is what comes before it */
};

static struct bio_set ferrofs_dio_read_bioset;

/*
 * Fault injection for the tests: a wait of up to the parameter's milliseconds, cut short when it
 * is set to 0 (the test holds a path there until it has set up what should race it), counted.
 */
static void fault_hold(unsigned int *ms, atomic_long_t *count)
{
	unsigned long start = jiffies;

	if (!READ_ONCE(*ms))
		return;
	atomic_long_inc(count);
	while (time_before(jiffies, start + msecs_to_jiffies(READ_ONCE(*ms))))
		msleep(10);
}

/*
 * Fault injection for the tests: milliseconds a direct read waits between building a bio and
 * submitting it (0: never; setting it to 0 ends a wait), so that a test can free and reuse the
 * blocks in between.
 */
static unsigned int dio_read_submit_delay_ms;
module_param(dio_read_submit_delay_ms, uint, 0644);
MODULE_PARM_DESC(dio_read_submit_delay_ms, "test only: delay of each direct read bio's submission (ms)");

/* Direct read bios that waited for dio_read_submit_delay_ms (the tests wait for this to move). */
static atomic_long_t dio_read_delayed = ATOMIC_LONG_INIT(0);
module_param_cb(dio_read_delayed, &counter_ops, &dio_read_delayed, 0444);
MODULE_PARM_DESC(dio_read_delayed, "test only: direct read bios delayed so far");

static void ferrofs_dio_read_end_io(struct bio *bio)
{
	struct ferrofs_dio_read_bio *rb = container_of(bio, struct ferrofs_dio_read_bio, bio);

	/* The device is done with the blocks: the data is in the reader's pages. */
	srcu_up_read(&ferrofs_dio_read_srcu, rb->srcu_idx);
	iomap_dio_bio_end_io(bio);
}

static void ferrofs_dio_read_submit(const struct iomap_iter *iter, struct bio *bio, loff_t file_offset)
{
	struct ferrofs_dio_read_bio *rb = container_of(bio, struct ferrofs_dio_read_bio, bio);

	/* Nested in the pass's read side, so no grace period ends between the two. */
	rb->srcu_idx = srcu_down_read(&ferrofs_dio_read_srcu);
	bio->bi_end_io = ferrofs_dio_read_end_io;
	fault_hold(&dio_read_submit_delay_ms, &dio_read_delayed);
	submit_bio(bio);
}

const struct iomap_dio_ops ferrofs_shim_dio_read_ops = {
	.submit_io	= ferrofs_dio_read_submit,
	.bio_set	= &ferrofs_dio_read_bioset,
};

int ferrofs_shim_dio_init(void)
{
	return bioset_init(&ferrofs_dio_read_bioset, BIO_POOL_SIZE, offsetof(struct ferrofs_dio_read_bio, bio),
			   BIOSET_NEED_BVECS);
}

void ferrofs_shim_dio_exit(void)
{
	/* No reader is left (every filesystem is unmounted); wait for nothing but be sure. */
	synchronize_srcu(&ferrofs_dio_read_srcu);
	bioset_exit(&ferrofs_dio_read_bioset);
}

int ferrofs_shim_dio_read_lock(void)
{
	return srcu_down_read(&ferrofs_dio_read_srcu);
}

void ferrofs_shim_dio_read_unlock(int idx)
{
	srcu_up_read(&ferrofs_dio_read_srcu, idx);
}

/* A commit's grace period: started when it takes the blocks freed by its transaction. */
unsigned long ferrofs_shim_dio_read_grace_start(void)
{
	return start_poll_synchronize_srcu(&ferrofs_dio_read_srcu);
}

/* Waits until the grace period of @cookie has ended (at once when it has). */
void ferrofs_shim_dio_read_grace_wait(unsigned long cookie)
{
	if (!poll_state_synchronize_srcu(&ferrofs_dio_read_srcu, cookie))
		synchronize_srcu(&ferrofs_dio_read_srcu);
}

/* Clears IOCB_DSYNC and IOCB_SYNC (see dio.rs, step 2); returns the flags it cleared. */
int ferrofs_shim_kiocb_take_sync(struct kiocb *iocb)
{
	int f = iocb->ki_flags & (IOCB_DSYNC | IOCB_SYNC);

	iocb->ki_flags &= ~(IOCB_DSYNC | IOCB_SYNC);
	return f;
}

void ferrofs_shim_kiocb_restore_sync(struct kiocb *iocb, int flags)
{
	iocb->ki_flags |= flags & (IOCB_DSYNC | IOCB_SYNC);
}

/* Completion of our direct writes runs on the dio workqueue, never deferred to the caller's task. */
void ferrofs_shim_kiocb_no_caller_comp(struct kiocb *iocb)
{
	iocb->ki_flags &= ~IOCB_DIO_CALLER_COMP;
}

bool ferrofs_shim_kiocb_is_sync(struct kiocb *iocb)
{
	return is_sync_kiocb(iocb);
}

bool ferrofs_shim_kiocb_dsync(struct kiocb *iocb)
{
	return iocb_is_dsync(iocb);
}

/* Whether writes through this open file must be durable when they return: O_DSYNC/O_SYNC on the
 * file, or the inode's sync flag (chattr +S, the sync mount option). */
bool ferrofs_shim_file_sync_writes(struct file *file)
{
	return (file->f_flags & O_DSYNC) || IS_SYNC(file_inode(file));
}

size_t ferrofs_shim_iov_count(const struct iov_iter *i)
{
	return iov_iter_count(i);
}

unsigned long ferrofs_shim_iov_alignment(const struct iov_iter *i)
{
	return iov_iter_alignment(i);
}

/* User memory spanning more than one page: a transfer from or to it can fault part way. */
bool ferrofs_shim_iov_user_multipage(const struct iov_iter *i)
{
	return user_backed_iter(i) && iov_iter_npages(i, 2) > 1;
}

size_t ferrofs_shim_iov_fault_in(struct iov_iter *i, size_t n, bool writeable)
{
	return writeable ? fault_in_iov_iter_writeable(i, n) : fault_in_iov_iter_readable(i, n);
}

bool ferrofs_shim_inode_nosec(struct inode *inode)
{
	return IS_NOSEC(inode);
}

void ferrofs_shim_inode_lock_shared(struct inode *inode)
{
	inode_lock_shared(inode);
}

bool ferrofs_shim_inode_trylock_shared(struct inode *inode)
{
	return inode_trylock_shared(inode);
}

void ferrofs_shim_inode_unlock_shared(struct inode *inode)
{
	inode_unlock_shared(inode);
}

unsigned int ferrofs_shim_bdev_lbs(struct super_block *sb)
{
	return bdev_logical_block_size(sb->s_bdev);
}

/* Writes back and waits for start..=end, then drops those clean pages (a buffered fallback). */
int ferrofs_shim_flush_invalidate(struct inode *inode, loff_t start, loff_t end)
{
	int ret = filemap_write_and_wait_range(inode->i_mapping, start, end);

	if (ret)
		return ret;
	invalidate_mapping_pages(inode->i_mapping, start >> PAGE_SHIFT, end >> PAGE_SHIFT);
	return 0;
}

/*
 * Buffered reads against a direct write's finish (docs/LOCKING.md, "buffered reads and freed
 * blocks"): a buffered read locks its folios, maps blocks and reads them, unlocking each folio when
 * its bio completes. Waiting until the folios of a range that are locked now are unlocked is
 * waiting for every read of the range that mapped blocks before now. Counts the folios it found
 * locked (dio_write_read_waits). No ferrofs lock may be held (folio locks come first).
 */
static atomic_long_t dio_write_read_waits = ATOMIC_LONG_INIT(0);
module_param_cb(dio_write_read_waits, &counter_ops, &dio_write_read_waits, 0444);
MODULE_PARM_DESC(dio_write_read_waits, "locked folios direct write completions waited for (buffered reads in flight)");

void ferrofs_shim_wait_locked_folios(struct inode *inode, loff_t start, loff_t end)
{
	struct folio_batch fbatch;
	pgoff_t index = start >> PAGE_SHIFT;
	unsigned int i;

	if (end <= start)
		return;
	folio_batch_init(&fbatch);
	while (filemap_get_folios(inode->i_mapping, &index, (end - 1) >> PAGE_SHIFT, &fbatch)) {
		for (i = 0; i < folio_batch_count(&fbatch); i++) {
			struct folio *folio = fbatch.folios[i];

			if (folio_test_locked(folio)) {
				atomic_long_inc(&dio_write_read_waits);
				folio_wait_locked(folio);
			}
		}
		folio_batch_release(&fbatch);
		cond_resched();
	}
}

static unsigned int read_map_delay_ms;
module_param(read_map_delay_ms, uint, 0644);
MODULE_PARM_DESC(read_map_delay_ms, "test only: hold each buffered read after it mapped blocks (ms, 0 ends it)");
static atomic_long_t read_map_delayed = ATOMIC_LONG_INIT(0);
module_param_cb(read_map_delayed, &counter_ops, &read_map_delayed, 0444);
MODULE_PARM_DESC(read_map_delayed, "test only: buffered read mappings held so far");

void ferrofs_shim_read_map_delay(void)
{
	fault_hold(&read_map_delay_ms, &read_map_delayed);
}

static unsigned int dio_write_end_delay_ms;
module_param(dio_write_end_delay_ms, uint, 0644);
MODULE_PARM_DESC(dio_write_end_delay_ms, "test only: hold each direct write's completion before its finish (ms, 0 ends it)");
static atomic_long_t dio_write_end_delayed = ATOMIC_LONG_INIT(0);
module_param_cb(dio_write_end_delayed, &counter_ops, &dio_write_end_delayed, 0444);
MODULE_PARM_DESC(dio_write_end_delayed, "test only: direct write completions held so far");

void ferrofs_shim_dio_write_end_delay(void)
{
	fault_hold(&dio_write_end_delay_ms, &dio_write_end_delayed);
}

/* A buffered read of what is left of the request (a direct read's fallback). */
ssize_t ferrofs_shim_buffered_read(struct kiocb *iocb, struct iov_iter *to, ssize_t already)
{
	return filemap_read(iocb, to, already);
}

/*
 * getattr: the generic attributes; the chattr flags statx reports (append-only, immutable,
 * nodump: fsflags are the inode's FS_*_FL flags); and for regular files with direct I/O
 * (dio_align), STATX_DIOALIGN.
 */
int ferrofs_shim_getattr(struct mnt_idmap *idmap, const struct path *path, struct kstat *stat,
			 u32 request_mask, u32 fsflags, s64 btime_sec, u32 btime_nsec, bool dio_align)
{
	struct inode *inode = d_inode(path->dentry);

	generic_fillattr(idmap, request_mask, inode, stat);
	stat->result_mask |= STATX_BTIME;
	stat->btime.tv_sec = btime_sec;
	stat->btime.tv_nsec = btime_nsec;
	if (fsflags & FS_APPEND_FL)
		stat->attributes |= STATX_ATTR_APPEND;
	if (fsflags & FS_IMMUTABLE_FL)
		stat->attributes |= STATX_ATTR_IMMUTABLE;
	if (fsflags & FS_NODUMP_FL)
		stat->attributes |= STATX_ATTR_NODUMP;
	stat->attributes_mask |= STATX_ATTR_APPEND | STATX_ATTR_IMMUTABLE | STATX_ATTR_NODUMP;
	if (dio_align && S_ISREG(inode->i_mode) && (request_mask & STATX_DIOALIGN)) {
		/*
		 * What O_DIRECT accepts: the device's logical block size. Requests aligned to it but
		 * not to the filesystem block go through the page cache (written back and invalidated
		 * before the call returns, so direct readers see them), whole blocks go to the device.
		 */
		unsigned int lbs = bdev_logical_block_size(inode->i_sb->s_bdev);

		stat->result_mask |= STATX_DIOALIGN;
		stat->dio_mem_align = lbs;
		stat->dio_offset_align = lbs;
	}
	return 0;
}

/*
 * open of regular files: generic_file_open, and FMODE_NOWAIT (RWF_NOWAIT and io_uring's
 * non-blocking attempts; every path of ours honours IOCB_NOWAIT with EAGAIN).
 */
int ferrofs_shim_reg_open(struct inode *inode, struct file *file)
{
	file->f_mode |= FMODE_NOWAIT;
	return generic_file_open(inode, file);
}

/* fallocate: set-id bits and privileges removed, mtime and ctime updated. */
int ferrofs_shim_file_modified(struct file *file)
{
	return file_modified(file);
}

/* fallocate growing the file: RLIMIT_FSIZE and s_maxbytes. */
int ferrofs_shim_inode_newsize_ok(struct inode *inode, loff_t size)
{
	return inode_newsize_ok(inode, size);
}

/*
 * The mapping's invalidate lock, exclusive: no page fault reads a folio in, and no page_mkwrite
 * dirties one, while a hole punch or range zeroing drops the page cache and changes the extents.
 */
void ferrofs_shim_invalidate_lock(struct inode *inode)
{
	filemap_invalidate_lock(inode->i_mapping);
}

void ferrofs_shim_invalidate_unlock(struct inode *inode)
{
	filemap_invalidate_unlock(inode->i_mapping);
}

int ferrofs_shim_write_and_wait_range(struct inode *inode, loff_t start, loff_t end)
{
	return filemap_write_and_wait_range(inode->i_mapping, start, end);
}

/* Unmaps and drops the page cache of start..=end (partial folios at the edges are zeroed). */
void ferrofs_shim_truncate_pagecache_range(struct inode *inode, loff_t start, loff_t end)
{
	truncate_pagecache_range(inode, start, end);
}

/*
 * A reflink's two inodes: both inode locks (in address order, once when they are one inode), then
 * both invalidate locks, so no page fault reads or dirties a folio of either range meanwhile.
 */
void ferrofs_shim_lock_two(struct inode *a, struct inode *b)
{
	lock_two_nondirectories(a, b);
	filemap_invalidate_lock_two(a->i_mapping, b->i_mapping);
}

void ferrofs_shim_unlock_two(struct inode *a, struct inode *b)
{
	filemap_invalidate_unlock_two(a->i_mapping, b->i_mapping);
	unlock_two_nondirectories(a, b);
}

/* The VFS's checks and preparation (writeback, dedupe comparison, privileges, times). */
int ferrofs_shim_remap_prep(struct file *in, loff_t pos_in, struct file *out, loff_t pos_out, loff_t *len,
			    unsigned int flags)
{
	return generic_remap_file_range_prep(in, pos_in, out, pos_out, len, flags);
}

bool ferrofs_shim_same_sb(struct file *a, struct file *b)
{
	return file_inode(a)->i_sb == file_inode(b)->i_sb;
}
