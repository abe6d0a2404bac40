// SPDX-License-Identifier: GPL-2.0
/*
 * mount(2) directly, printing the errno name, so tests check the errno rather than mount(8)'s prose.
 * Usage: mnt DEV DIR [ro|rw] [OPTIONS]   prints OK or the errno name; exit 0 on OK.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	unsigned long flags = (argc < 4 || strcmp(argv[3], "ro") == 0) ? MS_RDONLY : 0;
	if (mount(argv[1], argv[2], "ferrofs", flags, argc > 4 ? argv[4] : NULL) == 0) {
		puts("OK");
		return 0;
	}
	const char *name = strerrorname_np(errno);
	printf("%s\n", name ? name : "unknown");
	return 1;
}
