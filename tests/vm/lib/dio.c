// SPDX-License-Identifier: GPL-2.0
/*
 * Direct I/O scenarios for the VM tests (no libaio: raw io_setup/io_submit).
 *
 *   dio mmapcopy SRC DST MODE    MODE first: mmap SRC, touch only its first page, O_DIRECT write
 *                                the mapping to DST (generic/708: the write faults part-way);
 *                                none: no page touched (the write faults at its first byte);
 *                                holes: the same with every page touched, then the middle ones
 *                                dropped with madvise(MADV_DONTNEED) (not present: the write
 *                                faults in the middle, after a first part went); then compares
 *                                DST with SRC. Both files have the same size (a multiple of 4k).
 *   dio selfcopy FILE            O_DIRECT write of FILE's first half from a mapping of that same
 *                                range (the buffer is the destination): contents unchanged.
 *   dio crosscopy FILE           O_DIRECT write of FILE's second half from a mapping of its first
 *                                half (same file, other range): the halves are then equal.
 *   dio dsync FILE MODE          O_DIRECT writes of 1 MiB (0xd1) that must be durable when they
 *                                return or complete: MODE odsync (O_DSYNC open), rwf (RWF_DSYNC),
 *                                aio (io_submit on an O_DSYNC fd, several in flight), aio-rwf
 *                                (io_submit with RWF_DSYNC). Prints nothing; exit 0 when every
 *                                write reported its full size.
 *   dio aio240 FILE              generic/240's shape: two threads, each io_submit-ing 4 KiB
 *                                O_DIRECT writes at 512-byte-misaligned offsets into a sparse
 *                                file; then checks every byte (no zeroed portions).
 *   dio aioeio FILE OFF          one 1 MiB io_submit O_DIRECT write at OFF, which must complete
 *                                with -EIO (the device fails writes).
 *   dio mmapbench DST SRC N MODE [W]
 *                                writes N MiB O_DIRECT to DST, W MiB (default 1) at a time, each from a fresh
 *                                mapping of SRC (W MiB of it, cached) with all its pages present
 *                                (MODE populate: MAP_POPULATE; MODE touch: each page touched from
 *                                user space first, the same page faults as the kernel's fault-in)
 *                                or only the first (MODE first: every write faults part-way, the
 *                                kernel faults the rest in and the write resumes); prints MiB/s,
 *                                mapping and faults included.
 *   dio retrybench DST SRC N PARAM
 *                                the partial-write retry path's own cost: N MiB in 1 MiB O_DIRECT writes,
 *                                each from a fresh mapping of SRC with only its first page touched, half
 *                                with PARAM (dio_prefault_kib) as it was (the buffer faulted in before
 *                                the write) and half with it 0 (every write ends its first pass short
 *                                and resumes), alternating write by write, each pair in alternating
 *                                order, so drift in a noisy VM falls on both alike; prints
 *                                "prefault MiB/s retry MiB/s", only the writes timed.
 *   dio statx FILE               prints "mem OFFSET" of STATX_DIOALIGN.
 *   dio nowaitfault FILE         asynchronous O_DIRECT requests whose 16 KiB anonymous buffer has
 *                                only its first page present (generic/678's shape): FILE gets four
 *                                4 KiB extents (0xab 0xcd 0xef 0x73); an io_uring read of them into
 *                                such a buffer must complete whole and equal; an aio read with
 *                                RWF_NOWAIT must complete whole or be refused (EAGAIN, then done
 *                                without the flag); the same two as writes at 16 KiB and 32 KiB
 *                                must complete whole and read back (0x5a, then zeros).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <linux/io_uring.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define MiB (1024 * 1024)

static void die(const char *m)
{
	perror(m);
	exit(1);
}

static void check_full(ssize_t n, size_t want, const char *what)
{
	if (n < 0)
		die(what);
	if ((size_t)n != want) {
		fprintf(stderr, "%s: short write %zd of %zu\n", what, n, want);
		exit(1);
	}
}

static int same(int a, int b, off_t off_a, off_t off_b, size_t len)
{
	char *x = malloc(len), *y = malloc(len);

	if (!x || !y)
		die("malloc");
	if (pread(a, x, len, off_a) != (ssize_t)len || pread(b, y, len, off_b) != (ssize_t)len)
		die("pread");
	for (size_t i = 0; i < len; i++)
		if (x[i] != y[i]) {
			fprintf(stderr, "differ at byte %zu: %02x != %02x\n", i, (unsigned char)x[i],
				(unsigned char)y[i]);
			return 0;
		}
	free(x);
	free(y);
	return 1;
}

static int mmapcopy(const char *src, const char *dst, const char *mode)
{
	int s = open(src, O_RDONLY), d = open(dst, O_WRONLY | O_CREAT | O_DIRECT, 0644);
	struct stat st;
	char *m;
	long pg = sysconf(_SC_PAGESIZE);

	if (s < 0 || d < 0 || fstat(s, &st))
		die("open");
	m = mmap(NULL, st.st_size, PROT_READ, MAP_SHARED, s, 0);
	if (m == MAP_FAILED)
		die("mmap");
	if (strcmp(mode, "none"))
		(void)*(volatile char *)m; /* only the first page is present */
	if (!strcmp(mode, "holes")) {
		/* Every page present, then the middle ones dropped from the mapping. */
		size_t mid = (st.st_size / 2) & ~(pg - 1);
		for (size_t i = 0; i < (size_t)st.st_size; i += pg)
			(void)*(volatile char *)(m + i);
		if (madvise(m + mid - 4 * pg, 8 * pg, MADV_DONTNEED))
			die("madvise MADV_DONTNEED");
	}
	check_full(pwrite(d, m, st.st_size, 0), st.st_size, "pwrite O_DIRECT from mmap");
	close(d);
	d = open(dst, O_RDONLY);
	return same(s, d, 0, 0, st.st_size) ? 0 : 1;
}

static int selfcopy(const char *f, int cross)
{
	int fd = open(f, O_RDWR | O_DIRECT), ro = open(f, O_RDONLY);
	struct stat st;
	char *m, *before;
	size_t half;

	if (fd < 0 || ro < 0 || fstat(fd, &st))
		die("open");
	half = st.st_size / 2;
	before = malloc(half);
	if (!before || pread(ro, before, half, 0) != (ssize_t)half)
		die("pread");
	m = mmap(NULL, st.st_size, PROT_READ, MAP_SHARED, ro, 0);
	if (m == MAP_FAILED)
		die("mmap");
	check_full(pwrite(fd, m, half, cross ? half : 0), half, "pwrite O_DIRECT from a mapping of the file");
	if (cross)
		return same(ro, ro, 0, half, half) ? 0 : 1;
	{
		char *now = malloc(half);
		if (!now || pread(ro, now, half, 0) != (ssize_t)half)
			die("pread");
		if (memcmp(now, before, half)) {
			fprintf(stderr, "the range changed\n");
			return 1;
		}
	}
	return 0;
}

static long io_setup_(unsigned n, aio_context_t *c) { return syscall(SYS_io_setup, n, c); }
static long io_submit_(aio_context_t c, long n, struct iocb **v) { return syscall(SYS_io_submit, c, n, v); }
static long io_getevents_(aio_context_t c, long min, long max, struct io_event *e)
{
	return syscall(SYS_io_getevents, c, min, max, e, NULL);
}

/* Submits nr writes of len bytes from buf at offsets off[i] on fd, waits for all; returns 0 when
 * every one completed with its full size. */
static int aio_writes(int fd, char **bufs, const off_t *off, int nr, size_t len, int rwflags)
{
	aio_context_t ctx = 0;
	struct iocb cbs[64], *v[64];
	struct io_event ev[64];
	int done = 0;

	if (nr > 64 || io_setup_(nr, &ctx))
		die("io_setup");
	for (int i = 0; i < nr; i++) {
		memset(&cbs[i], 0, sizeof(cbs[i]));
		cbs[i].aio_fildes = fd;
		cbs[i].aio_lio_opcode = IOCB_CMD_PWRITE;
		cbs[i].aio_buf = (uintptr_t)bufs[i];
		cbs[i].aio_nbytes = len;
		cbs[i].aio_offset = off[i];
		cbs[i].aio_rw_flags = rwflags;
		v[i] = &cbs[i];
	}
	if (io_submit_(ctx, nr, v) != nr)
		die("io_submit");
	while (done < nr) {
		long n = io_getevents_(ctx, 1, nr - done, ev);
		if (n < 0)
			die("io_getevents");
		for (long i = 0; i < n; i++)
			if (ev[i].res != (long long)len) {
				fprintf(stderr, "aio write completed with %lld\n", (long long)ev[i].res);
				return 1;
			}
		done += n;
	}
	syscall(SYS_io_destroy, ctx);
	return 0;
}

static char *aligned_buf(size_t len, int byte)
{
	char *b;

	if (posix_memalign((void **)&b, 4096, len))
		die("posix_memalign");
	memset(b, byte, len);
	return b;
}

static int dsync(const char *f, const char *mode)
{
	int aio = !strncmp(mode, "aio", 3);
	int rwf = !strcmp(mode, "rwf") || !strcmp(mode, "aio-rwf");
	int fd = open(f, O_WRONLY | O_CREAT | O_DIRECT | (rwf ? 0 : O_DSYNC), 0644);
	char *b = aligned_buf(MiB, 0xd1);

	if (fd < 0)
		die("open");
	if (!aio) {
		for (int i = 0; i < 4; i++) {
			struct iovec iov = { b, MiB };
			check_full(pwritev2(fd, &iov, 1, (off_t)i * MiB, rwf ? RWF_DSYNC : 0), MiB, "pwritev2");
		}
		return 0;
	}
	{
		char *bufs[8];
		off_t off[8];
		for (int i = 0; i < 8; i++) {
			bufs[i] = b;
			off[i] = (off_t)i * MiB;
		}
		return aio_writes(fd, bufs, off, 8, MiB, rwf ? RWF_DSYNC : 0);
	}
}

struct t240 {
	int fd;
	int id;
	int rc;
};

#define N240 64

static void *writer240(void *p)
{
	struct t240 *t = p;
	char *bufs[N240];
	off_t off[N240];

	/* Thread t writes blocks 2k+t, each 4 KiB at 512 + 8 KiB * k + 4 KiB * t. */
	for (int k = 0; k < N240; k++) {
		bufs[k] = aligned_buf(4096, 'a' + t->id);
		off[k] = 512 + (off_t)8192 * k + 4096 * t->id;
	}
	t->rc = aio_writes(t->fd, bufs, off, N240, 4096, 0);
	return NULL;
}

static int aio240(const char *f)
{
	int fd = open(f, O_RDWR | O_CREAT | O_TRUNC | O_DIRECT, 0644), ro;
	pthread_t th[2];
	struct t240 t[2];
	size_t len = 512 + (size_t)8192 * N240;
	unsigned char *b = malloc(len);

	if (fd < 0 || ftruncate(fd, len + 1 * MiB))
		die("open");
	for (int i = 0; i < 2; i++) {
		t[i] = (struct t240){ fd, i, 0 };
		pthread_create(&th[i], NULL, writer240, &t[i]);
	}
	for (int i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
		if (t[i].rc)
			return 1;
	}
	ro = open(f, O_RDONLY);
	if (!b || pread(ro, b, len, 0) != (ssize_t)len)
		die("pread");
	for (size_t i = 0; i < len; i++) {
		unsigned char want = i < 512 ? 0 : 'a' + ((i - 512) / 4096) % 2;
		if (b[i] != want) {
			fprintf(stderr, "byte %zu is %02x, not %02x\n", i, b[i], want);
			return 1;
		}
	}
	return 0;
}

static int aioeio(const char *f, off_t off)
{
	int fd = open(f, O_WRONLY | O_DIRECT);
	char *b = aligned_buf(MiB, 0x51);
	aio_context_t ctx = 0;
	struct iocb cb = { 0 }, *v[1] = { &cb };
	struct io_event ev;

	if (fd < 0 || io_setup_(1, &ctx))
		die("open");
	cb.aio_fildes = fd;
	cb.aio_lio_opcode = IOCB_CMD_PWRITE;
	cb.aio_buf = (uintptr_t)b;
	cb.aio_nbytes = MiB;
	cb.aio_offset = off;
	if (io_submit_(ctx, 1, v) != 1)
		die("io_submit");
	if (io_getevents_(ctx, 1, 1, &ev) != 1)
		die("io_getevents");
	if (ev.res != -EIO) {
		fprintf(stderr, "aio write completed with %lld, not -EIO\n", (long long)ev.res);
		return 1;
	}
	return 0;
}

static int mmapbench(const char *dst, const char *src, int n, const char *mode, int wmib)
{
	int d = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_DIRECT, 0644), s = open(src, O_RDONLY);
	int populate = !strcmp(mode, "populate"), touch = !strcmp(mode, "touch");
	size_t w = (size_t)wmib * MiB;
	struct timespec t0, t1;
	double secs;

	if (d < 0 || s < 0 || wmib < 1 || n % wmib)
		die("open");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < n / wmib; i++) {
		char *m = mmap(NULL, w, PROT_READ, MAP_SHARED | (populate ? MAP_POPULATE : 0), s, (off_t)i * w);
		if (m == MAP_FAILED)
			die("mmap");
		for (size_t p = 0; p < (touch ? w : 1); p += 4096)
			(void)*(volatile char *)(m + p);
		check_full(pwrite(d, m, w, (off_t)i * w), w, "pwrite");
		munmap(m, w);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("%.1f\n", n / secs);
	return 0;
}

static void set_param(const char *param, const char *v)
{
	int f = open(param, O_WRONLY);

	if (f < 0 || write(f, v, strlen(v)) != (ssize_t)strlen(v))
		die(param);
	close(f);
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static int retrybench(const char *dst, const char *src, int n, const char *param, int touch)
{
	int d = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_DIRECT, 0644), s = open(src, O_RDONLY);
	char win[32] = "";
	double secs[2] = { 0, 0 };
	int p = open(param, O_RDONLY);

	if (d < 0 || s < 0 || p < 0 || n < 2 || n % 2 || read(p, win, sizeof(win) - 1) <= 0)
		die("open");
	close(p);
	for (int i = 0; i < n; i++) {
		/* pairs (prefault, retry) and (retry, prefault) in turn */
		int retry = (i & 1) ^ ((i >> 1) & 1);
		char *m;
		double t;

		set_param(param, retry ? "0" : win);
		t = now();
		m = mmap(NULL, MiB, PROT_READ, MAP_SHARED, s, (off_t)i * MiB);
		if (m == MAP_FAILED)
			die("mmap");
		if (touch)
			(void)*(volatile char *)m;
		check_full(pwrite(d, m, MiB, (off_t)i * MiB), MiB, "pwrite");
		munmap(m, MiB);
		secs[retry] += now() - t;
	}
	set_param(param, win);
	printf("%.1f %.1f\n", n / 2 / secs[0], n / 2 / secs[1]);
	return 0;
}

static int dioalign(const char *f)
{
	struct statx sx;

	if (statx(AT_FDCWD, f, 0, STATX_DIOALIGN, &sx))
		die("statx");
	if (!(sx.stx_mask & STATX_DIOALIGN)) {
		fprintf(stderr, "no STATX_DIOALIGN\n");
		return 1;
	}
	printf("%u %u\n", sx.stx_dio_mem_align, sx.stx_dio_offset_align);
	return 0;
}

/* One IORING_OP_READV/WRITEV of len bytes at off on fd through a fresh ring; returns the
 * completion's res (or -errno of the ring's own syscalls). Raw syscalls, no liburing. */
static long uring_rw(int fd, int op, void *buf, size_t len, off_t off)
{
	struct io_uring_params p;
	struct iovec iov = { buf, len };
	struct io_uring_sqe *sqes;
	struct io_uring_cqe *cqes;
	size_t sqsz, cqsz;
	char *sq, *cq;
	unsigned *tail, *head, mask;
	long res;
	int rfd;

	memset(&p, 0, sizeof(p));
	rfd = syscall(__NR_io_uring_setup, 1, &p);
	if (rfd < 0)
		die("io_uring_setup");
	sqsz = p.sq_off.array + p.sq_entries * sizeof(unsigned);
	cqsz = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	if ((p.features & IORING_FEAT_SINGLE_MMAP) && cqsz > sqsz)
		sqsz = cqsz;
	sq = mmap(NULL, sqsz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, rfd, IORING_OFF_SQ_RING);
	cq = (p.features & IORING_FEAT_SINGLE_MMAP) ? sq :
		mmap(NULL, cqsz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, rfd, IORING_OFF_CQ_RING);
	sqes = mmap(NULL, p.sq_entries * sizeof(*sqes), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
		    rfd, IORING_OFF_SQES);
	if (sq == MAP_FAILED || cq == MAP_FAILED || sqes == MAP_FAILED)
		die("io_uring mmap");
	memset(&sqes[0], 0, sizeof(sqes[0]));
	sqes[0].opcode = op;
	sqes[0].fd = fd;
	sqes[0].off = off;
	sqes[0].addr = (uintptr_t)&iov;
	sqes[0].len = 1;
	tail = (unsigned *)(sq + p.sq_off.tail);
	mask = *(unsigned *)(sq + p.sq_off.ring_mask);
	((unsigned *)(sq + p.sq_off.array))[*tail & mask] = 0;
	__atomic_store_n(tail, *tail + 1, __ATOMIC_RELEASE);
	if (syscall(__NR_io_uring_enter, rfd, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0) < 0)
		die("io_uring_enter");
	head = (unsigned *)(cq + p.cq_off.head);
	if (*head == __atomic_load_n((unsigned *)(cq + p.cq_off.tail), __ATOMIC_ACQUIRE)) {
		fprintf(stderr, "io_uring: no completion after waiting for one\n");
		exit(1);
	}
	cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
	res = cqes[*head & *(unsigned *)(cq + p.cq_off.ring_mask)].res;
	__atomic_store_n(head, *head + 1, __ATOMIC_RELEASE);
	close(rfd);
	return res;
}

/* One aio request with aio_rw_flags rwf; returns its completion's res, or -errno of io_submit. */
static long aio_one(int fd, int cmd, void *buf, size_t len, off_t off, int rwf)
{
	aio_context_t ctx = 0;
	struct iocb cb, *v = &cb;
	struct io_event ev;
	long res;

	if (io_setup_(1, &ctx))
		die("io_setup");
	memset(&cb, 0, sizeof(cb));
	cb.aio_fildes = fd;
	cb.aio_lio_opcode = cmd;
	cb.aio_buf = (uintptr_t)buf;
	cb.aio_nbytes = len;
	cb.aio_offset = off;
	cb.aio_rw_flags = rwf;
	if (io_submit_(ctx, 1, &v) != 1)
		res = -errno;
	else if (io_getevents_(ctx, 1, 1, &ev) != 1)
		die("io_getevents");
	else
		res = ev.res;
	syscall(SYS_io_destroy, ctx);
	return res;
}

/* A fresh anonymous 16 KiB buffer with only its first page present: written (0x5a), the rest
 * never touched (no page table entries: a transfer with page faults disabled stops there). */
static char *first_page_only(void)
{
	char *b = mmap(NULL, 16384, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (b == MAP_FAILED)
		die("mmap");
	memset(b, 0x5a, 4096);
	return b;
}

static int nowaitfault(const char *f)
{
	static const unsigned char pat[4] = { 0xab, 0xcd, 0xef, 0x73 };
	int fd = open(f, O_RDWR | O_CREAT | O_TRUNC | O_DIRECT, 0644), plain = open(f, O_RDONLY);
	char *w = aligned_buf(16384, 0), *b, *want = calloc(1, 16384);
	long res;
	int bad = 0;

	if (fd < 0 || plain < 0 || !want)
		die("open");
	for (int i = 0; i < 4; i++) {
		memset(w + i * 4096, pat[i], 4096);
		check_full(pwrite(fd, w + i * 4096, 4096, i * 4096), 4096, "pwrite");
		if (fsync(fd))
			die("fsync");
	}
	for (int i = 0; i < 2; i++) {
		const char *how = i ? "aio RWF_NOWAIT read" : "io_uring read";

		b = first_page_only();
		if (i) {
			res = aio_one(fd, IOCB_CMD_PREAD, b, 16384, 0, RWF_NOWAIT);
			if (res == -EAGAIN)
				res = aio_one(fd, IOCB_CMD_PREAD, b, 16384, 0, 0);
		} else {
			res = uring_rw(fd, IORING_OP_READV, b, 16384, 0);
		}
		if (res != 16384 || memcmp(b, w, 16384)) {
			fprintf(stderr, "%s: res %ld (want 16384)%s\n", how, res,
				res == 16384 ? ", data differs" : "");
			bad = 1;
		}
		munmap(b, 16384);
	}
	memset(want, 0x5a, 4096);
	for (int i = 0; i < 2; i++) {
		const char *how = i ? "aio RWF_NOWAIT write" : "io_uring write";
		off_t off = 16384 * (i + 1);

		b = first_page_only();
		if (i) {
			res = aio_one(fd, IOCB_CMD_PWRITE, b, 16384, off, RWF_NOWAIT);
			if (res == -EAGAIN)
				res = aio_one(fd, IOCB_CMD_PWRITE, b, 16384, off, 0);
		} else {
			res = uring_rw(fd, IORING_OP_WRITEV, b, 16384, off);
		}
		munmap(b, 16384);
		if (res != 16384) {
			fprintf(stderr, "%s: res %ld (want 16384)\n", how, res);
			bad = 1;
		} else if (pread(plain, w, 16384, off) != 16384 || memcmp(w, want, 16384)) {
			fprintf(stderr, "%s: reads back different\n", how);
			bad = 1;
		}
	}
	return bad;
}

int main(int argc, char **argv)
{
	if (argc >= 5 && !strcmp(argv[1], "mmapcopy"))
		return mmapcopy(argv[2], argv[3], argv[4]);
	if (argc >= 3 && !strcmp(argv[1], "selfcopy"))
		return selfcopy(argv[2], 0);
	if (argc >= 3 && !strcmp(argv[1], "crosscopy"))
		return selfcopy(argv[2], 1);
	if (argc >= 4 && !strcmp(argv[1], "dsync"))
		return dsync(argv[2], argv[3]);
	if (argc >= 3 && !strcmp(argv[1], "aio240"))
		return aio240(argv[2]);
	if (argc >= 4 && !strcmp(argv[1], "aioeio"))
		return aioeio(argv[2], atoll(argv[3]));
	if (argc >= 6 && !strcmp(argv[1], "mmapbench"))
		return mmapbench(argv[2], argv[3], atoi(argv[4]), argv[5], argc >= 7 ? atoi(argv[6]) : 1);
	if (argc >= 6 && !strcmp(argv[1], "retrybench"))
		return retrybench(argv[2], argv[3], atoi(argv[4]), argv[5], argc >= 7 ? atoi(argv[6]) : 1);
	if (argc >= 3 && !strcmp(argv[1], "nowaitfault"))
		return nowaitfault(argv[2]);
	if (argc >= 3 && !strcmp(argv[1], "statx"))
		return dioalign(argv[2]);
	fprintf(stderr, "usage: see the comment at the top\n");
	return 2;
}
