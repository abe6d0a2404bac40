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
#include <linux/bio.h>
#include <linux/buffer_head.h>
#include <linux/dcache.h>
#include <linux/errno.h>
#include <linux/exportfs.h>
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
#include <linux/workqueue.h>
#include <linux/mm.h>
#include <linux/uio.h>
#include <linux/writeback.h>
#include <linux/migrate_mode.h>
#include <linux/xattr.h>
#include <linux/sched/mm.h>
#include <linux/crc32c.h>
#include <linux/srcu.h>
#include <linux/delay.h>
#include <linux/falloc.h>
#include <linux/capability.h>
#include <linux/uaccess.h>
#include <linux/posix_acl.h>
#include <linux/fileattr.h>
#include <linux/swap.h>
#include <linux/posix_acl_xattr.h>


/*
 * Constants behind macros bindgen cannot evaluate (BIT(), casts): bindgen folds these const
 * definitions into Rust constants. IOMAP_NULL_ADDR (-1ULL) is spelled u64::MAX on the Rust side.
 */
const unsigned int FERROFS_FS_REQUIRES_DEV = FS_REQUIRES_DEV;
const unsigned int FERROFS_FS_ALLOW_IDMAP = FS_ALLOW_IDMAP;
const unsigned long FERROFS_SB_RDONLY = SB_RDONLY;
const unsigned short FERROFS_IOMAP_HOLE = IOMAP_HOLE;
const unsigned short FERROFS_IOMAP_MAPPED = IOMAP_MAPPED;
const unsigned short FERROFS_IOMAP_UNWRITTEN = IOMAP_UNWRITTEN;
const unsigned short FERROFS_IOMAP_F_NEW = IOMAP_F_NEW;
const unsigned short FERROFS_IOMAP_F_SHARED = IOMAP_F_SHARED;
const unsigned int FERROFS_ATTR_SIZE = ATTR_SIZE;
const unsigned int FERROFS_RENAME_NOREPLACE = RENAME_NOREPLACE;
const unsigned int FERROFS_RENAME_EXCHANGE = RENAME_EXCHANGE;
const unsigned int FERROFS_RENAME_WHITEOUT = RENAME_WHITEOUT;
const int FERROFS_XATTR_CREATE = XATTR_CREATE;
const int FERROFS_XATTR_REPLACE = XATTR_REPLACE;
const unsigned int FERROFS_S_IFCHR = S_IFCHR;
const unsigned int FERROFS_WHITEOUT_MODE = WHITEOUT_MODE;
const unsigned short FERROFS_IOMAP_DELALLOC = IOMAP_DELALLOC;
const int FERROFS_IOCB_NOWAIT = IOCB_NOWAIT;
const int FERROFS_IOCB_DIRECT = IOCB_DIRECT;
const unsigned int FERROFS_VM_FAULT_LOCKED = VM_FAULT_LOCKED;
const unsigned int FERROFS_ACL_TYPE_ACCESS = ACL_TYPE_ACCESS;
const unsigned int FERROFS_ACL_TYPE_DEFAULT = ACL_TYPE_DEFAULT;
const unsigned int FERROFS_ATTR_MODE = ATTR_MODE;

/* The VFS inode attributes ferrofs stores in its INODE_ITEM, read and written in one call. */
struct ferrofs_inode_attrs {
	u64 ino;
	u64 size;
	u64 blocks;
	u64 rdev;
	s64 atime_sec, mtime_sec, ctime_sec;
	u32 atime_nsec, mtime_nsec, ctime_nsec;
	u32 mode;
	u32 uid, gid;
	u32 nlink;
	u32 generation;
};

/* shim.c: wrappers for static inlines and macros. */
struct buffer_head *ferrofs_shim_sb_bread(struct super_block *sb, sector_t block);
void ferrofs_shim_brelse(struct buffer_head *bh);
loff_t ferrofs_shim_bdev_nr_bytes(struct super_block *sb);
bool ferrofs_shim_inode_is_new(struct inode *inode);
void ferrofs_shim_set_size(struct inode *inode, loff_t size);
bool ferrofs_shim_dir_emit(struct dir_context *ctx, const char *name, int len, u64 ino, unsigned int type);
u64 ferrofs_shim_dir_pass_end(struct file *file);
void ferrofs_shim_dir_set_pass_end(struct file *file, u64 end);
void ferrofs_shim_cond_resched(void);
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
struct inode *ferrofs_shim_d_inode(struct dentry *dentry);

/* Writable metadata buffers. */
struct buffer_head *ferrofs_shim_sb_getblk(struct super_block *sb, sector_t block);
void ferrofs_shim_bh_set_uptodate(struct buffer_head *bh);
bool ferrofs_shim_bh_test_flag(struct buffer_head *bh, int which);
void ferrofs_shim_bh_set_flag(struct buffer_head *bh, int which);
bool ferrofs_shim_bh_test_clear_flag(struct buffer_head *bh, int which);
void ferrofs_shim_bh_submit_write(struct buffer_head *bh);
int ferrofs_shim_bh_wait_write(struct buffer_head *bh);
int ferrofs_shim_bh_write_sync(struct buffer_head *bh, const void *data, size_t len, bool fua);
void ferrofs_shim_bh_forget(struct buffer_head *bh);
void ferrofs_shim_get_bh(struct buffer_head *bh);
void ferrofs_shim_bh_zero_uptodate(struct buffer_head *bh);
int ferrofs_shim_finish_open(struct file *file);
void ferrofs_shim_flush_wq(struct workqueue_struct *wq);
void ferrofs_shim_inode_lock(struct inode *inode);
void ferrofs_shim_inode_unlock(struct inode *inode);
void ferrofs_shim_sb_start_intwrite(struct super_block *sb);
void ferrofs_shim_sb_end_intwrite(struct super_block *sb);
void ferrofs_shim_seq_put_decimal(struct seq_file *m, const char *prefix, u64 n);
int ferrofs_shim_flush_device(struct super_block *sb);
u32 ferrofs_shim_crc32c(u32 crc, const void *data, size_t len);

/* Per-mount workqueue and the delayed commit work. */
struct workqueue_struct *ferrofs_shim_alloc_wq(struct super_block *sb);
void ferrofs_shim_init_delayed_work(struct delayed_work *dw, void (*fn)(struct work_struct *));
struct delayed_work *ferrofs_shim_to_delayed_work(struct work_struct *w);
void ferrofs_shim_mod_delayed_work(struct workqueue_struct *wq, struct delayed_work *dw, unsigned int msecs);
void ferrofs_shim_queue_delayed_work(struct workqueue_struct *wq, struct delayed_work *dw, unsigned int msecs);
unsigned int ferrofs_shim_memalloc_nofs_save(void);
void ferrofs_shim_memalloc_nofs_restore(unsigned int flags);

/* Inode attributes, creation and link counts. */
void ferrofs_shim_get_attrs(struct inode *inode, struct ferrofs_inode_attrs *a);
void ferrofs_shim_set_attrs(struct inode *inode, const struct ferrofs_inode_attrs *a);
void ferrofs_shim_touch_ctime(struct inode *inode);
void ferrofs_shim_touch_mtime_ctime(struct inode *inode);
unsigned int ferrofs_shim_inode_nlink(struct inode *inode);
bool ferrofs_shim_inode_is_dir(struct inode *inode);
loff_t ferrofs_shim_inode_size(struct inode *inode);
u64 ferrofs_shim_encode_dev(dev_t dev);
void ferrofs_shim_set_rdonly(struct super_block *sb);
/* FS_IOC_SHUTDOWN (XFS_IOC_GOINGDOWN, EXT4_IOC_SHUTDOWN: one number) and its flags. */
const unsigned int FERROFS_IOC_SHUTDOWN = _IOR('X', 125, __u32);
const unsigned int FERROFS_FITRIM = FITRIM;
const unsigned int FERROFS_IOC_GETFSLABEL = FS_IOC_GETFSLABEL;
const unsigned int FERROFS_IOC_SETFSLABEL = FS_IOC_SETFSLABEL;
const unsigned int FERROFS_FSLABEL_MAX = FSLABEL_MAX;
int ferrofs_shim_shutdown_arg(unsigned long arg, __u32 *flags);
int ferrofs_shim_fitrim_get(struct super_block *sb, unsigned long arg, struct fstrim_range *r, u64 *granularity);
int ferrofs_shim_fitrim_put(unsigned long arg, const struct fstrim_range *r);
int ferrofs_shim_discard(struct super_block *sb, u64 block, u64 nr_blocks);
bool ferrofs_shim_discards(struct super_block *sb);
bool ferrofs_shim_fatal_signal_pending(void);
int ferrofs_shim_label_put(unsigned long arg, const char *label);
int ferrofs_shim_label_get(struct file *file, unsigned long arg, char *label);
void ferrofs_shim_label_done(struct file *file);
int ferrofs_shim_bdev_freeze(struct super_block *sb);
void ferrofs_shim_bdev_thaw(struct super_block *sb);
bool ferrofs_shim_sb_rdonly(struct super_block *sb);
void ferrofs_shim_set_xattr_handlers(struct super_block *sb, const struct xattr_handler *const *h);
void ferrofs_shim_set_posixacl(struct super_block *sb, bool on);
bool ferrofs_shim_posixacl(struct super_block *sb);
void ferrofs_shim_set_cgroup_writeback(struct super_block *sb);
void ferrofs_shim_posix_acl_release(struct posix_acl *acl);
size_t ferrofs_shim_posix_acl_xattr_len(const struct posix_acl *acl);
int ferrofs_shim_posix_acl_from_xattr(const void *value, size_t size, struct posix_acl **out);
int ferrofs_shim_posix_acl_to_xattr(const struct posix_acl *acl, void *buf, size_t size);
struct posix_acl *ferrofs_shim_acl_err(int err);
void ferrofs_shim_set_mode(struct inode *inode, umode_t mode);
void ferrofs_shim_set_inode_flags(struct inode *inode, u32 fsflags);
unsigned long ferrofs_shim_swap_max(const struct swap_info_struct *sis);
int ferrofs_shim_swap_add_extent(struct swap_info_struct *sis, unsigned long start_page,
				 unsigned long nr_pages, sector_t start_block);
void ferrofs_shim_swap_set_pages(struct swap_info_struct *sis, unsigned long nr_pages);
struct inode *ferrofs_shim_file_inode(struct file *file);
bool ferrofs_shim_is_immutable(const struct inode *inode);
bool ferrofs_shim_is_dirsync(const struct inode *inode);
int ferrofs_shim_fileattr_flags(const struct fileattr *fa, u32 *flags);
void ferrofs_shim_fileattr_fill(struct fileattr *fa, u32 flags);

/* File data: writes, mmap, writeback. */
loff_t ferrofs_shim_kiocb_pos(const struct kiocb *iocb);
int ferrofs_shim_kiocb_flags(const struct kiocb *iocb);
struct inode *ferrofs_shim_kiocb_inode(const struct kiocb *iocb);
ssize_t ferrofs_shim_generic_write_sync(struct kiocb *iocb, ssize_t count);
bool ferrofs_shim_inode_trylock(struct inode *inode);
int ferrofs_shim_kiocb_modified(struct kiocb *iocb);
int ferrofs_shim_file_mmap(struct file *file, struct vm_area_struct *vma, const struct vm_operations_struct *ops);
struct inode *ferrofs_shim_vmf_inode(struct vm_fault *vmf);
vm_fault_t ferrofs_shim_page_mkwrite(struct vm_fault *vmf, const struct iomap_ops *ops);
void ferrofs_shim_set_large_folios(struct inode *inode);
void ferrofs_shim_mapping_set_error(struct inode *inode, int err);
void ferrofs_shim_inode_add_bytes(struct inode *inode, u64 bytes);
void ferrofs_shim_inode_sub_bytes(struct inode *inode, u64 bytes);
void ferrofs_shim_set_iomap_private(struct iomap *iomap, u64 private, u64 cookie);
u64 ferrofs_shim_iomap_private(const struct iomap *iomap);
void *ferrofs_shim_ioend_queue_alloc(struct workqueue_struct *wq, void (*fn)(struct work_struct *));
void ferrofs_shim_ioend_queue_free(void *q);
void *ferrofs_shim_ioend_queue_of_work(struct work_struct *w);
struct iomap_ioend *ferrofs_shim_ioend_queue_pop(void *q, bool *release);
void ferrofs_shim_ioend_release(struct iomap_ioend *ioend, int error);
void ferrofs_shim_ioend_hook(struct iomap_ioend *ioend, void *q);
struct inode *ferrofs_shim_ioend_inode(struct iomap_ioend *ioend);
struct inode *ferrofs_shim_ioend_info(struct iomap_ioend *ioend, loff_t *offset, u64 *bytes, int *error);
loff_t ferrofs_shim_seek(struct file *file, loff_t offset, int whence, const struct iomap_ops *ops);
int ferrofs_shim_migrate_folio(struct address_space *mapping, struct folio *dst, struct folio *src,
			       enum migrate_mode mode);
int ferrofs_shim_file_write_and_wait(struct file *file, loff_t start, loff_t end);

/* Direct I/O. */
ssize_t ferrofs_shim_dio_rw(struct kiocb *iocb, struct iov_iter *iter, const struct iomap_ops *ops,
			    const struct iomap_dio_ops *dops, void *private, size_t done_before);
int ferrofs_shim_kiocb_take_sync(struct kiocb *iocb);
void ferrofs_shim_kiocb_restore_sync(struct kiocb *iocb, int flags);
void ferrofs_shim_kiocb_no_caller_comp(struct kiocb *iocb);
bool ferrofs_shim_kiocb_is_sync(struct kiocb *iocb);
bool ferrofs_shim_kiocb_dsync(struct kiocb *iocb);
bool ferrofs_shim_file_sync_writes(struct file *file);
size_t ferrofs_shim_iov_count(const struct iov_iter *i);
unsigned long ferrofs_shim_iov_alignment(const struct iov_iter *i);
bool ferrofs_shim_iov_user_multipage(const struct iov_iter *i);
size_t ferrofs_shim_iov_fault_in(struct iov_iter *i, size_t n, bool writeable);
extern const struct iomap_dio_ops ferrofs_shim_dio_read_ops;
int ferrofs_shim_dio_init(void);
void ferrofs_shim_dio_exit(void);
int ferrofs_shim_dio_read_lock(void);
void ferrofs_shim_dio_read_unlock(int idx);
unsigned long ferrofs_shim_dio_read_grace_start(void);
void ferrofs_shim_dio_read_grace_wait(unsigned long cookie);
size_t ferrofs_shim_dio_prefault_bytes(void);
unsigned int ferrofs_shim_commit_retry_secs(void);
void ferrofs_shim_count_dio_retry(void);
bool ferrofs_shim_inode_nosec(struct inode *inode);
void ferrofs_shim_inode_lock_shared(struct inode *inode);
bool ferrofs_shim_inode_trylock_shared(struct inode *inode);
void ferrofs_shim_inode_unlock_shared(struct inode *inode);
unsigned int ferrofs_shim_bdev_lbs(struct super_block *sb);
int ferrofs_shim_flush_invalidate(struct inode *inode, loff_t start, loff_t end);
void ferrofs_shim_wait_locked_folios(struct inode *inode, loff_t start, loff_t end);
void ferrofs_shim_read_map_delay(void);
void ferrofs_shim_dio_write_end_delay(void);
ssize_t ferrofs_shim_buffered_read(struct kiocb *iocb, struct iov_iter *to, ssize_t already);
int ferrofs_shim_getattr(struct mnt_idmap *idmap, const struct path *path, struct kstat *stat,
			 u32 request_mask, u32 fsflags, s64 btime_sec, u32 btime_nsec, bool dio_align);
int ferrofs_shim_reg_open(struct inode *inode, struct file *file);
const int FERROFS_EIOCBQUEUED = EIOCBQUEUED;
const int FERROFS_ENOTBLK = ENOTBLK;
const int FERROFS_EOPNOTSUPP = EOPNOTSUPP;
const int FERROFS_ESTALE = ESTALE;

/* fallocate(2) modes (uapi/linux/falloc.h). */
const int FERROFS_FALLOC_FL_KEEP_SIZE = FALLOC_FL_KEEP_SIZE;
const int FERROFS_FALLOC_FL_PUNCH_HOLE = FALLOC_FL_PUNCH_HOLE;
const int FERROFS_FALLOC_FL_ZERO_RANGE = FALLOC_FL_ZERO_RANGE;
const int FERROFS_FALLOC_FL_COLLAPSE_RANGE = FALLOC_FL_COLLAPSE_RANGE;
const int FERROFS_FALLOC_FL_INSERT_RANGE = FALLOC_FL_INSERT_RANGE;
const int FERROFS_FALLOC_FL_UNSHARE_RANGE = FALLOC_FL_UNSHARE_RANGE;
int ferrofs_shim_file_modified(struct file *file);
int ferrofs_shim_inode_newsize_ok(struct inode *inode, loff_t size);
void ferrofs_shim_invalidate_lock(struct inode *inode);
void ferrofs_shim_invalidate_unlock(struct inode *inode);
int ferrofs_shim_write_and_wait_range(struct inode *inode, loff_t start, loff_t end);
void ferrofs_shim_truncate_pagecache_range(struct inode *inode, loff_t start, loff_t end);

/* remap_file_range (reflink, dedupe). */
const unsigned int FERROFS_REMAP_FILE_DEDUP = REMAP_FILE_DEDUP;
const unsigned int FERROFS_REMAP_FILE_CAN_SHORTEN = REMAP_FILE_CAN_SHORTEN;
const unsigned int FERROFS_REMAP_FILE_ADVISORY = REMAP_FILE_ADVISORY;
void ferrofs_shim_lock_two(struct inode *a, struct inode *b);
void ferrofs_shim_unlock_two(struct inode *a, struct inode *b);
int ferrofs_shim_remap_prep(struct file *in, loff_t pos_in, struct file *out, loff_t pos_out, loff_t *len,
			    unsigned int flags);
bool ferrofs_shim_same_sb(struct file *a, struct file *b);

#endif
