// SPDX-License-Identifier: GPL-2.0
/*
 * readdir with a tiny buffer: getdents64 with BUFSZ bytes (a few entries per call), and a restart
 * half-way through from a saved d_off on a fresh open. Prints every name it got, one a line.
 * Usage: getdents-small DIR BUFSZ
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

struct d64 {
	unsigned long long ino;
	long long off;
	unsigned short reclen;
	unsigned char type;
	char name[];
};

int main(int argc, char **argv)
{
	if (argc != 3)
		return 2;
	size_t bufsz = strtoul(argv[2], NULL, 0);
	char *buf = malloc(bufsz);
	int fd = open(argv[1], O_RDONLY | O_DIRECTORY);
	if (fd < 0 || !buf) {
		perror("open");
		return 1;
	}
	long calls = 0, names = 0;
	long long resume = -1;
	for (;;) {
		long n = syscall(SYS_getdents64, fd, buf, bufsz);
		if (n < 0) {
			perror("getdents64");
			return 1;
		}
		if (n == 0)
			break;
		calls++;
		for (long pos = 0; pos < n;) {
			struct d64 *d = (struct d64 *)(buf + pos);
			printf("%s\n", d->name);
			names++;
			pos += d->reclen;
			resume = d->off;
		}
		/* Half-way: reopen and continue from the last d_off, as a resumed readdir would. */
		if (calls == 50) {
			close(fd);
			fd = open(argv[1], O_RDONLY | O_DIRECTORY);
			if (fd < 0 || lseek(fd, resume, SEEK_SET) != resume) {
				perror("reopen/lseek");
				return 1;
			}
		}
	}
	fprintf(stderr, "%ld names in %ld getdents64 calls of %zu bytes\n", names, calls, bufsz);
	return 0;
}
