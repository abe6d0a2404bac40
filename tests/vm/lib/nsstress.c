// SPDX-License-Identifier: GPL-2.0
/*
 * Parallel namespace stress: NPROC processes create, link, rename (plain, RENAME_NOREPLACE,
 * RENAME_EXCHANGE, RENAME_WHITEOUT), unlink and rmdir in three shared directories for SECONDS.
 * Each process uses its own name prefix and keeps a model of what its successful operations
 * imply; at the end it checks the tree against its model: every name present with the right type,
 * names of one file share one inode, the link count equals the number of names, nothing else of
 * its prefix exists. Every operation the model says must succeed has to succeed.
 *   nsstress DIR NPROC SECONDS SEED
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SLOTS 48
enum kind { NONE, FILE_, DIR_, WHITEOUT };
struct slot { enum kind k; int obj; };
static struct slot model[3][SLOTS];
static const char *dirs[3] = { "s0", "s1", "s2" };
static int me, dfd, nobj;
static unsigned long ops, fails;

static void path(char *buf, int d, int i) { snprintf(buf, 64, "%s/p%d-%02d", dirs[d], me, i); }

static void bad(const char *what, const char *a, const char *b)
{
	printf("proc %d: %s %s %s: %s\n", me, what, a, b ? b : "", strerror(errno));
	fails++;
}

static int links_of(int obj)
{
	int n = 0;
	for (int d = 0; d < 3; d++)
		for (int i = 0; i < SLOTS; i++)
			n += model[d][i].k == FILE_ && model[d][i].obj == obj;
	return n;
}

static void step(void)
{
	int d = rand() % 3, i = rand() % SLOTS, d2 = rand() % 3, j = rand() % SLOTS;
	struct slot *a = &model[d][i], *b = &model[d2][j];
	char p[64], q[64];
	path(p, d, i);
	path(q, d2, j);
	int op = rand() % 8;
	ops++;
	if (a->k == NONE) {
		if (op < 4) {
			int fd = openat(dfd, p, O_CREAT | O_EXCL | O_WRONLY, 0644);
			if (fd < 0)
				return bad("create", p, NULL);
			close(fd);
			*a = (struct slot){ FILE_, nobj++ };
		} else if (op < 6) {
			if (mkdirat(dfd, p, 0755) < 0)
				return bad("mkdir", p, NULL);
			*a = (struct slot){ DIR_, nobj++ };
		} else if (b->k == FILE_) {
			if (linkat(dfd, q, dfd, p, 0) < 0)
				return bad("link", q, p);
			*a = *b;
		}
		return;
	}
	if (a == b)
		return;
	switch (op) {
	case 0:
	case 1: /* remove */
		if (unlinkat(dfd, p, a->k == DIR_ ? AT_REMOVEDIR : 0) < 0)
			return bad("remove", p, NULL);
		a->k = NONE;
		return;
	case 2:
	case 3: { /* rename over whatever is there, when POSIX allows it */
		if (b->k != NONE && (b->k == DIR_) != (a->k == DIR_))
			return;
		if (renameat(dfd, p, dfd, q) < 0)
			return bad("rename", p, q);
		/* Two names of one file: POSIX says rename does nothing and succeeds. */
		if (a->k == FILE_ && b->k == FILE_ && a->obj == b->obj)
			return;
		*b = *a;
		a->k = NONE;
		return;
	}
	case 4: /* RENAME_NOREPLACE: fails exactly when the target exists */
		if (renameat2(dfd, p, dfd, q, RENAME_NOREPLACE) < 0) {
			if (errno == EEXIST && b->k != NONE)
				return;
			return bad("rename-noreplace", p, q);
		}
		if (b->k != NONE)
			return bad("rename-noreplace succeeded over", p, q);
		*b = *a;
		a->k = NONE;
		return;
	case 5: /* RENAME_EXCHANGE */
		if (b->k == NONE)
			return;
		if (renameat2(dfd, p, dfd, q, RENAME_EXCHANGE) < 0)
			return bad("rename-exchange", p, q);
		{
			struct slot t = *a;
			*a = *b;
			*b = t;
		}
		return;
	case 6: /* RENAME_WHITEOUT of a file or whiteout onto a free name */
		if (b->k != NONE || a->k == DIR_)
			return;
		if (renameat2(dfd, p, dfd, q, RENAME_WHITEOUT) < 0)
			return bad("rename-whiteout", p, q);
		*b = *a;
		*a = (struct slot){ WHITEOUT, nobj++ };
		return;
	default:
		return;
	}
}

static int verify(void)
{
	int errs = 0;
	ino_t ino_of[SLOTS * 64];
	memset(ino_of, 0, sizeof(ino_of));
	for (int d = 0; d < 3; d++) {
		for (int i = 0; i < SLOTS; i++) {
			char p[64];
			struct stat st;
			path(p, d, i);
			struct slot *s = &model[d][i];
			int r = fstatat(dfd, p, &st, AT_SYMLINK_NOFOLLOW);
			if (s->k == NONE) {
				if (r == 0) {
					printf("proc %d: %s exists, the model says it was removed\n", me, p);
					errs++;
				}
				continue;
			}
			if (r < 0) {
				printf("proc %d: %s missing: %s\n", me, p, strerror(errno));
				errs++;
				continue;
			}
			int ok = (s->k == FILE_ && S_ISREG(st.st_mode)) || (s->k == DIR_ && S_ISDIR(st.st_mode)) ||
				 (s->k == WHITEOUT && S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0));
			if (!ok) {
				printf("proc %d: %s has the wrong type (mode %o)\n", me, p, st.st_mode);
				errs++;
			}
			if (s->k == FILE_) {
				if (s->obj < (int)(sizeof(ino_of) / sizeof(ino_of[0]))) {
					if (ino_of[s->obj] && ino_of[s->obj] != st.st_ino) {
						printf("proc %d: %s is not the same inode as its other names\n", me, p);
						errs++;
					}
					ino_of[s->obj] = st.st_ino;
				}
				if ((int)st.st_nlink != links_of(s->obj)) {
					printf("proc %d: %s has %lu links, the model %d\n", me, p, (unsigned long)st.st_nlink,
					       links_of(s->obj));
					errs++;
				}
			}
			if (s->k == DIR_ && st.st_nlink != 2) {
				printf("proc %d: empty directory %s has %lu links\n", me, p, (unsigned long)st.st_nlink);
				errs++;
			}
		}
	}
	return errs;
}

int main(int argc, char **argv)
{
	if (argc < 5)
		return 2;
	int nproc = atoi(argv[2]), secs = atoi(argv[3]), seed = atoi(argv[4]);
	dfd = open(argv[1], O_DIRECTORY | O_RDONLY);
	if (dfd < 0)
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0); /* children end with _exit() */
	for (int d = 0; d < 3; d++)
		mkdirat(dfd, dirs[d], 0755);
	for (me = 0; me < nproc; me++) {
		if (fork() == 0) {
			srand(seed * 1000 + me);
			time_t end = time(NULL) + secs;
			while (time(NULL) < end)
				for (int k = 0; k < 20; k++)
					step();
			int errs = verify();
			printf("proc %d: %lu operations, %lu unexpected failures, %d model mismatches\n", me, ops, fails,
			       errs);
			_exit(fails || errs ? 1 : 0);
		}
	}
	int status, bad_ = 0;
	while (wait(&status) > 0)
		bad_ |= !WIFEXITED(status) || WEXITSTATUS(status) != 0;
	return bad_;
}
