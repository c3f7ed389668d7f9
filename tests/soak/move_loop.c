/* SPDX-License-Identifier: MIT */
/*
 * An on-demand check of the kernel's UFFDIO_MOVE alone, not in CTest: the
 * bare primitive that the user backend's move path is made of, without
 * svmrt. Two anonymous areas of one userfaultfd (MISSING and WP, as svmrt
 * registers its heap and views), a buffer moved from one to the other and
 * back in one call each way, round after round; after each move
 * /proc/self/pagemap must show every page at the destination and none at
 * the source, and after each round trip every page must hold its word.
 *
 * On the 6.18 development host this failed where svmrt's
 * soak_prefetch_loop fails (docs/data-integrity.md, "Open"): after a move
 * the kernel reported whole, the next move of a 2 MiB piece found it at
 * its destination already (EEXIST), with nothing at its source.
 *
 *   soak_move_loop [seconds [mib [rounds]]]   default 60 s, 256 MiB, 60
 *
 * Exits 0 when every round passed, 1 at the first that did not, 77 (SKIP)
 * where the kernel has no UFFDIO_MOVE.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../../runtime/backends/user/uffd.h"

#define PG 4096UL
#define PM_PRESENT (1ULL << 63)
#define PM_SWAP (1ULL << 62)

static int pagemap = -1;

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Is the page at a mapped (present or swapped out)? -1: cannot tell. */
static int mapped(const char *a)
{
	uint64_t e;

	if (pread(pagemap, &e, sizeof(e), (off_t)((uintptr_t)a / PG * sizeof(e))) != sizeof(e))
		return -1;
	return (e & (PM_PRESENT | PM_SWAP)) != 0;
}

/* Moves len bytes from src to dst; 0, or -errno with *at the offset where it stopped. */
static int move(int fd, char *dst, char *src, size_t len, size_t *at)
{
	size_t done = 0;

	for (int tries = 0; done < len && tries < 1000; tries++) {
		struct uffdio_move m = { .dst = (uintptr_t)dst + done,
					 .src = (uintptr_t)src + done,
					 .len = len - done };

		if (ioctl(fd, UFFDIO_MOVE, &m) == 0)
			return 0;
		if (m.move > 0)
			done += (size_t)m.move;
		if (errno != EAGAIN) {
			*at = done;
			return -errno;
		}
	}
	*at = done;
	return done == len ? 0 : -EAGAIN;
}

/* After a move from src to dst: the first page where that is not so, or SIZE_MAX. */
static size_t misplaced(const char *dst, const char *src, size_t len)
{
	for (size_t off = 0; off < len; off += PG)
		if (mapped(dst + off) != 1 || mapped(src + off) != 0)
			return off;
	return SIZE_MAX;
}

static int fail_move(const char *what, unsigned run, unsigned round, int err, size_t at,
		     const char *dst, const char *src)
{
	printf("FAIL: run %u, round %u, %s: UFFDIO_MOVE stopped at +%#zx: %s; there the "
	       "destination is %s, the source %s\n", run, round, what, at, strerror(-err),
	       mapped(dst + at) == 1 ? "mapped" : "empty",
	       mapped(src + at) == 1 ? "mapped" : "empty");
	return 1;
}

/* One move, then the check that every page is where the kernel says; 1 on a failure. */
static int move_checked(int fd, const char *what, unsigned run, unsigned round, char *dst,
			char *src, size_t len)
{
	size_t at;
	int err = move(fd, dst, src, len, &at);

	if (err)
		return fail_move(what, run, round, err, at, dst, src);
	if ((at = misplaced(dst, src, len)) != SIZE_MAX) {
		printf("FAIL: run %u, round %u: after the move %s, +%#zx is not where the kernel "
		       "said it moved it\n", run, round, what, at);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 60, end;
	size_t len = (argc > 2 ? strtoul(argv[2], NULL, 0) : 256) << 20;
	unsigned rounds = argc > 3 ? (unsigned)strtoul(argv[3], NULL, 0) : 60, run = 0;
	struct uffdio_api api = { .api = UFFD_API, .features = UFFD_FEATURE_MOVE };
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY);

	if (fd < 0)
		fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC);
	if (fd < 0 || ioctl(fd, UFFDIO_API, &api) || !(api.features & UFFD_FEATURE_MOVE)) {
		printf("SKIP: no userfaultfd with UFFDIO_MOVE here\n");
		return 77;
	}
	pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (pagemap < 0 || len == 0 || rounds == 0) {
		printf("SKIP: /proc/self/pagemap is not readable\n");
		return 77;
	}
	end = now() + seconds;
	do {
		char *a = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		char *b = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		struct uffdio_register ra = { .range = { (uintptr_t)a, len },
					      .mode = UFFDIO_REGISTER_MODE_MISSING |
						      UFFDIO_REGISTER_MODE_WP };
		struct uffdio_register rb = ra;
		run++;
		if (a == MAP_FAILED || b == MAP_FAILED) {
			printf("FAIL: cannot map 2 x %zu MiB\n", len >> 20);
			return 1;
		}
		madvise(a, len, MADV_NOHUGEPAGE);
		madvise(b, len, MADV_NOHUGEPAGE);
		for (size_t off = 0; off < len; off += PG)
			*(uint64_t *)(a + off) = off ^ ((uint64_t)run << 40);
		rb.range.start = (uintptr_t)b;
		if (ioctl(fd, UFFDIO_REGISTER, &ra) || ioctl(fd, UFFDIO_REGISTER, &rb)) {
			printf("FAIL: UFFDIO_REGISTER: %s\n", strerror(errno));
			return 1;
		}
		for (unsigned r = 1; r <= rounds; r++) {
			if (move_checked(fd, "there", run, r, b, a, len) ||
			    move_checked(fd, "back", run, r, a, b, len))
				return 1;
			for (size_t off = 0; off < len; off += PG) /* every page is in a: no fault */
				if (*(uint64_t *)(a + off) != (off ^ ((uint64_t)run << 40))) {
					printf("FAIL: run %u, round %u: +%#zx holds %#llx\n", run, r,
					       off, (unsigned long long)*(uint64_t *)(a + off));
					return 1;
				}
		}
		munmap(a, len);
		munmap(b, len);
	} while (now() < end);
	printf("PASS: %u runs of %u round trips of %zu MiB, every move where the kernel said\n",
	       run, rounds, len >> 20);
	return 0;
}
