// SPDX-License-Identifier: GPL-2.0
/*
 * The namespace scenario: every namespace operation and its error cases, run in DIR. The test runs
 * it on ext4 and on ferrofs in the same boot and compares the trees it leaves (tests/vm/lib/
 * nsdump.py); each step here also checks its own result (the errno a POSIX filesystem returns).
 * Usage: nsops DIR [--ferrofs]   (--ferrofs adds the steps whose limits are ferrofs's own)
 * Exit 0 when every step gave the expected result; each failure is printed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

static int failures;
static int dirfd_;

/* Checks that `r` (0 or -1 with errno) is the expected outcome: 0 for success, else the errno. */
#define T(call, want)                                                                             \
	do {                                                                                      \
		errno = 0;                                                                        \
		long r_ = (long)(call);                                                           \
		int got_ = r_ < 0 ? errno : 0;                                                    \
		if (got_ != (want)) {                                                             \
			printf("FAIL line %d: %s: got %s, want %s\n", __LINE__, #call,           \
			       got_ ? strerrorname_np(got_) : "success",                          \
			       (want) ? strerrorname_np(want) : "success");                       \
			failures++;                                                               \
		}                                                                                 \
	} while (0)

#define CHECK(cond)                                                                               \
	do {                                                                                      \
		if (!(cond)) {                                                                    \
			printf("FAIL line %d: %s\n", __LINE__, #cond);                            \
			failures++;                                                               \
		}                                                                                 \
	} while (0)

static int mk(const char *p, mode_t m)
{
	int fd = openat(dirfd_, p, O_CREAT | O_EXCL | O_WRONLY, m);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static nlink_t nlink_of(const char *p)
{
	struct stat st;
	if (fstatat(dirfd_, p, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return (nlink_t)-1;
	return st.st_nlink;
}

static int renameat2_(const char *a, const char *b, unsigned int flags)
{
	return renameat2(dirfd_, a, dirfd_, b, flags);
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	int ferrofs = argc > 2 && strcmp(argv[2], "--ferrofs") == 0;
	dirfd_ = open(argv[1], O_DIRECTORY | O_RDONLY);
	if (dirfd_ < 0) {
		perror(argv[1]);
		return 2;
	}
	umask(0);
	char name[300], buf[8192];

	/* create, mkdir, mknod of every type. */
	T(mkdirat(dirfd_, "d1", 0755), 0);
	T(mkdirat(dirfd_, "d2", 0700), 0);
	T(mkdirat(dirfd_, "d1/sub", 0750), 0);
	T(mk("d1/f1", 0644), 0);
	T(mk("d1/f2", 0600), 0);
	T(mk("top", 0640), 0);
	T(mknodat(dirfd_, "fifo", S_IFIFO | 0644, 0), 0);
	T(mknodat(dirfd_, "sock", S_IFSOCK | 0755, 0), 0);
	T(mknodat(dirfd_, "chr", S_IFCHR | 0600, makedev(1, 3)), 0);
	T(mknodat(dirfd_, "blk", S_IFBLK | 0660, makedev(7, 0)), 0);
	CHECK(nlink_of("d1") == 3);
	CHECK(nlink_of(".") == 4);

	/* Symlinks: short, 4095 bytes (the longest), 4096 bytes (too long). */
	T(symlinkat("d1/f1", dirfd_, "ln-short"), 0);
	memset(buf, 'a', 4095);
	buf[4095] = 0;
	T(symlinkat(buf, dirfd_, "ln-4095"), 0);
	memset(buf, 'b', 4096);
	buf[4096] = 0;
	T(symlinkat(buf, dirfd_, "ln-4096"), ENAMETOOLONG);
	ssize_t n = readlinkat(dirfd_, "ln-4095", buf, sizeof(buf));
	CHECK(n == 4095);

	/* Names: 255 bytes fine, 256 too long. */
	memset(name, 'n', 255);
	name[255] = 0;
	T(mk(name, 0644), 0);
	memset(name, 'm', 256);
	name[256] = 0;
	T(mk(name, 0644), ENAMETOOLONG);
	T(mkdirat(dirfd_, name, 0755), ENAMETOOLONG);

	/* Hard links. */
	T(linkat(dirfd_, "d1/f1", dirfd_, "d2/f1-link", 0), 0);
	T(linkat(dirfd_, "d1/f1", dirfd_, "f1-link2", 0), 0);
	CHECK(nlink_of("d1/f1") == 3);
	T(linkat(dirfd_, "d1", dirfd_, "d1-link", 0), EPERM);
	T(linkat(dirfd_, "d1/f1", dirfd_, "top", 0), EEXIST);

	/* Errors. */
	T(mkdirat(dirfd_, "d1", 0755), EEXIST);
	T(mk("d1/f1", 0644), EEXIST);
	T(unlinkat(dirfd_, "missing", 0), ENOENT);
	T(unlinkat(dirfd_, "d1", AT_REMOVEDIR), ENOTEMPTY);
	T(unlinkat(dirfd_, "top", AT_REMOVEDIR), ENOTDIR);
	T(unlinkat(dirfd_, "d1", 0), EISDIR);
	T(openat(dirfd_, "d1", O_WRONLY), EISDIR);
	T(mk("top/x", 0644), ENOTDIR);
	T(openat(dirfd_, "nope/x", O_RDONLY), ENOENT);

	/* unlink and rmdir. */
	T(mk("victim", 0644), 0);
	T(unlinkat(dirfd_, "victim", 0), 0);
	T(faccessat(dirfd_, "victim", F_OK, 0), ENOENT);
	T(mkdirat(dirfd_, "emptydir", 0755), 0);
	T(unlinkat(dirfd_, "emptydir", AT_REMOVEDIR), 0);
	CHECK(nlink_of(".") == 4);

	/* An unlinked file lives while open. */
	int fd = openat(dirfd_, "open-unlinked", O_CREAT | O_RDWR, 0644);
	CHECK(fd >= 0);
	T(unlinkat(dirfd_, "open-unlinked", 0), 0);
	struct stat st;
	T(fstat(fd, &st), 0);
	CHECK(st.st_nlink == 0);
	T(fchmod(fd, 0600), 0);
	close(fd);

	/* rename: within a directory, across directories, over a file, directories. */
	T(mk("r-a", 0644), 0);
	T(renameat2_("r-a", "r-b", 0), 0);
	T(renameat2_("r-b", "d2/r-c", 0), 0);
	T(mk("r-over", 0600), 0);
	T(linkat(dirfd_, "r-over", dirfd_, "r-over-link", 0), 0);
	T(renameat2_("d2/r-c", "r-over", 0), 0); /* replaces one link of r-over */
	CHECK(nlink_of("r-over-link") == 1);
	T(mkdirat(dirfd_, "d1/mv", 0755), 0);
	T(mk("d1/mv/inside", 0644), 0);
	T(renameat2_("d1/mv", "d2/mv", 0), 0); /* a directory to another parent */
	CHECK(nlink_of("d1") == 3 && nlink_of("d2") == 3);
	T(faccessat(dirfd_, "d2/mv/inside", F_OK, 0), 0);
	T(mkdirat(dirfd_, "d2/mv/..", 0755), EEXIST);
	T(renameat2_("d1/sub", "d2/mv", 0), ENOTEMPTY); /* onto a non-empty directory */
	T(mkdirat(dirfd_, "d2/empty", 0755), 0);
	T(renameat2_("d1/sub", "d2/empty", 0), 0); /* onto an empty directory */
	CHECK(nlink_of("d1") == 2 && nlink_of("d2") == 4);
	T(renameat2_("top", "d2", 0), EISDIR);
	T(renameat2_("d2", "top", 0), ENOTDIR);
	T(renameat2_("d2", "d2/mv/x", 0), EINVAL); /* into its own subtree */

	/* RENAME_NOREPLACE, RENAME_EXCHANGE, RENAME_WHITEOUT. */
	T(mk("nr-a", 0644), 0);
	T(mk("nr-b", 0644), 0);
	T(renameat2_("nr-a", "nr-b", RENAME_NOREPLACE), EEXIST);
	T(renameat2_("nr-a", "nr-c", RENAME_NOREPLACE), 0);
	T(mkdirat(dirfd_, "d1/xdir", 0755), 0);
	T(renameat2_("nr-c", "d1/xdir", RENAME_EXCHANGE), 0); /* a file and a directory swap parents */
	{
		struct stat a, b;
		T(fstatat(dirfd_, "nr-c", &a, 0), 0);
		T(fstatat(dirfd_, "d1/xdir", &b, 0), 0);
		CHECK(S_ISDIR(a.st_mode) && S_ISREG(b.st_mode));
		CHECK(nlink_of(".") == 5 && nlink_of("d1") == 2);
	}
	T(renameat2_("nr-b", "absent", RENAME_EXCHANGE), ENOENT);
	T(mk("wh-src", 0644), 0);
	T(renameat2_("wh-src", "wh-dst", RENAME_WHITEOUT), 0);
	{
		struct stat w;
		T(fstatat(dirfd_, "wh-src", &w, AT_SYMLINK_NOFOLLOW), 0);
		CHECK(S_ISCHR(w.st_mode) && w.st_rdev == makedev(0, 0));
	}

	/* setattr: chmod, chown, times with nanoseconds, truncate of files without data. */
	T(fchownat(dirfd_, "d1/f2", 1234, 5678, 0), 0); /* before chmod: chown clears set-uid */
	T(fchmodat(dirfd_, "d1/f2", 04755, 0), 0);
	T(fchownat(dirfd_, "ln-short", 42, 43, AT_SYMLINK_NOFOLLOW), 0);
	struct timespec ts[2] = { { 1000000000, 123456789 }, { 1500000000, 987654321 } };
	T(utimensat(dirfd_, "d1/f2", ts, 0), 0);
	T(fstatat(dirfd_, "d1/f2", &st, 0), 0);
	CHECK(st.st_mtim.tv_sec == 1500000000 && st.st_mtim.tv_nsec == 987654321);
	CHECK(st.st_atim.tv_sec == 1000000000 && st.st_atim.tv_nsec == 123456789);
	CHECK(st.st_mode == (S_IFREG | 04755) && st.st_uid == 1234 && st.st_gid == 5678);
	fd = openat(dirfd_, "sized", O_CREAT | O_WRONLY, 0644);
	CHECK(fd >= 0);
	T(ftruncate(fd, 1 << 20), 0);
	T(fstat(fd, &st), 0);
	CHECK(st.st_size == 1 << 20 && st.st_blocks == 0);
	T(ftruncate(fd, 4097), 0);
	close(fd);
	/* Timestamps as POSIX says: creating a name updates the parent's mtime and ctime. */
	{
		struct stat before, after;
		struct timespec old[2] = { { 1, 0 }, { 1, 0 } };
		T(utimensat(dirfd_, "d2", old, 0), 0);
		T(fstatat(dirfd_, "d2", &before, 0), 0);
		T(mk("d2/new", 0644), 0);
		T(fstatat(dirfd_, "d2", &after, 0), 0);
		CHECK(after.st_mtim.tv_sec > 1 && after.st_ctim.tv_sec >= before.st_ctim.tv_sec);
	}

	/* O_TMPFILE: one is linked in with linkat, one is closed unlinked. */
	fd = openat(dirfd_, "d1", O_TMPFILE | O_RDWR, 0640);
	CHECK(fd >= 0);
	T(fstat(fd, &st), 0);
	CHECK(st.st_nlink == 0);
	snprintf(buf, sizeof(buf), "/proc/self/fd/%d", fd);
	T(linkat(AT_FDCWD, buf, dirfd_, "d1/from-tmpfile", AT_SYMLINK_FOLLOW), 0);
	T(fstat(fd, &st), 0);
	CHECK(st.st_nlink == 1);
	close(fd);
	fd = openat(dirfd_, ".", O_TMPFILE | O_RDWR, 0600);
	CHECK(fd >= 0);
	close(fd);

	/* Extended attributes. */
	char path[4096];
	snprintf(path, sizeof(path), "%s/d1/f1", argv[1]);
	T(setxattr(path, "user.color", "blue", 4, 0), 0);
	T(setxattr(path, "user.color", "red", 3, XATTR_CREATE), EEXIST);
	T(setxattr(path, "user.shape", "round", 5, XATTR_REPLACE), ENODATA);
	T(setxattr(path, "user.color", "green", 5, XATTR_REPLACE), 0);
	T(setxattr(path, "user.empty", "", 0, 0), 0);
	T(setxattr(path, "trusted.t", "tv", 2, 0), 0);
	memset(buf, 'v', 1500);
	T(setxattr(path, "user.big", buf, 1500, 0), 0);
	n = getxattr(path, "user.color", buf, sizeof(buf));
	CHECK(n == 5 && memcmp(buf, "green", 5) == 0);
	CHECK(getxattr(path, "user.color", NULL, 0) == 5);
	T(getxattr(path, "user.color", buf, 2), ERANGE);
	T(getxattr(path, "user.none", buf, sizeof(buf)), ENODATA);
	n = listxattr(path, buf, sizeof(buf));
	CHECK(n > 0 && listxattr(path, NULL, 0) == n);
	T(listxattr(path, buf, 3), ERANGE);
	T(removexattr(path, "user.empty"), 0);
	T(removexattr(path, "user.empty"), ENODATA);
	T(setxattr(path, "bogus.x", "1", 1, 0), EOPNOTSUPP);
	snprintf(path, sizeof(path), "%s/d2", argv[1]);
	T(setxattr(path, "user.on-dir", "yes", 3, 0), 0);

	if (ferrofs) {
		/* ferrofs's own limits: a value larger than one tree item. And many long names of one
		 * inode in one directory: past the 9th its INODE_REF item is full and the names go
		 * into INODE_EXTREF items (before those, the 10th was refused with EMLINK). */
		snprintf(path, sizeof(path), "%s/d1/f1", argv[1]);
		memset(buf, 'w', 4000);
		T(setxattr(path, "user.huge", buf, 4000, 0), E2BIG);
		/* security.* (the ext4 here is built without its security handler). */
		T(setxattr(path, "security.s", "sv", 2, 0), 0);
		CHECK(getxattr(path, "security.s", buf, sizeof(buf)) == 2);
		T(removexattr(path, "security.s"), 0);
		T(mk("many", 0644), 0);
		struct stat st;
		for (int i = 0; i < 100; i++) {
			snprintf(name, sizeof(name), "many-%03d-%0200d", i, 0);
			T(linkat(dirfd_, "many", dirfd_, name, 0), 0);
		}
		CHECK(fstatat(dirfd_, "many", &st, 0) == 0 && st.st_nlink == 101);
		for (int j = 0; j < 100; j++) {
			snprintf(name, sizeof(name), "many-%03d-%0200d", j, 0);
			T(unlinkat(dirfd_, name, 0), 0);
		}
		CHECK(fstatat(dirfd_, "many", &st, 0) == 0 && st.st_nlink == 1);
		T(unlinkat(dirfd_, "many", 0), 0);
	}
	printf("%d failure(s)\n", failures);
	return failures ? 1 : 0;
}
