// SPDX-License-Identifier: GPL-2.0
/*
 * kshim-tests - functional tests of svmshim.ko on its uAPI, run in the VM.
 *
 *   kshim-tests            run every test
 *   kshim-tests NAME...    run the named tests
 *   kshim-tests -l         list the tests
 *   kshim-tests --hold F   leave device pages behind a closed file, say so
 *                          on fifo F, wait to be killed (tests/vm/init.sh)
 *
 * Each test runs in its own child process (a crash is a FAIL, not a lost
 * run) and prints one line: "PASS: name", "FAIL: name: why" or
 * "SKIP: name: why". The last line is a summary; the exit status is 1 if
 * any test failed.
 */
#define _GNU_SOURCE
#include <liburing.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stddef.h>
#include <sched.h>
#include <grp.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "kshim_util.h"
#include "shim_params.h"

#define MiB (1024UL * 1024UL)

static int fd = -1;
static char why[256];

#define FAILF(...) do { snprintf(why, sizeof(why), __VA_ARGS__); return 1; } while (0)
#define SKIPF(...) do { snprintf(why, sizeof(why), __VA_ARGS__); return 2; } while (0)
#define CHECK(cond, ...) do { if (!(cond)) FAILF(__VA_ARGS__); } while (0)

static void *map_anon(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static uint64_t dev_free(int dev)
{
	struct drm_svmshim_get_info info;

	if (kshim_info(fd, dev, &info))
		return 0;
	return info.free_bytes;
}

/* Count pages of [p, p+len) at location @loc (via SNAPSHOT). */
static long count_at(void *p, size_t len, int loc)
{
	size_t n = len / KPAGE, i;
	int32_t *l = calloc(n, sizeof(*l));
	long c = 0;

	if (!l || kshim_snapshot(fd, p, len, l, NULL)) {
		free(l);
		return -1;
	}
	for (i = 0; i < n; i++)
		c += l[i] == loc;
	free(l);
	return c;
}

/* ---- tests ------------------------------------------------------------- */

static int t_info(void)
{
	struct drm_svmshim_get_info info;
	int ret;

	CHECK(kshim_info(fd, 0, &info) == 0, "GET_INFO failed");
	CHECK(info.version == SVMSHIM_UAPI_VERSION, "version %u", info.version);
	CHECK(info.device_count >= 2, "device_count %u", info.device_count);
	CHECK(info.page_size == KPAGE, "page_size %u", info.page_size);
	CHECK(info.memory_bytes > 0 && info.free_bytes <= info.memory_bytes,
	      "memory %llu free %llu", (unsigned long long)info.memory_bytes,
	      (unsigned long long)info.free_bytes);
	CHECK(kshim_info(fd, info.device_count, &info) == -EINVAL,
	      "device out of range accepted");
	memset(&info, 0, sizeof(info));
	info.flags = 1;
	ret = ioctl(fd, DRM_IOCTL_SVMSHIM_GET_INFO, &info) ? -errno : 0;
	CHECK(ret == -EINVAL, "unknown flag accepted (%d)", ret);
	memset(&info, 0, sizeof(info));
	info.pad = 1;
	ret = ioctl(fd, DRM_IOCTL_SVMSHIM_GET_INFO, &info) ? -errno : 0;
	CHECK(ret == -EINVAL, "non-zero pad accepted (%d)", ret);
	memset(&info, 0, sizeof(info));
	info.reserved[3] = 1;
	ret = ioctl(fd, DRM_IOCTL_SVMSHIM_GET_INFO, &info) ? -errno : 0;
	CHECK(ret == -EINVAL, "non-zero reserved accepted (%d)", ret);
	return 0;
}

static int t_badargs(void)
{
	size_t len = 16 * KPAGE;
	char *p = map_anon(len);
	struct drm_svmshim_migrate m;
	int ret;

	CHECK(p, "mmap");
	CHECK(kshim_migrate(fd, p + 1, len - KPAGE, 0, 0, NULL, NULL) == -EINVAL,
	      "unaligned start accepted");
	CHECK(kshim_migrate(fd, p, 100, 0, 0, NULL, NULL) == -EINVAL,
	      "unaligned length accepted");
	CHECK(kshim_migrate(fd, p, 0, 0, 0, NULL, NULL) == -EINVAL,
	      "zero length accepted");
	CHECK(kshim_migrate(fd, p, len, 99, 0, NULL, NULL) == -EINVAL,
	      "bad device accepted");
	CHECK(kshim_migrate(fd, p, len, -2, 0, NULL, NULL) == -EINVAL,
	      "bad location accepted");
	CHECK(kshim_migrate(fd, p, len, 0, 1u << 31, NULL, NULL) == -EINVAL,
	      "unknown flag accepted");
	memset(&m, 0, sizeof(m));
	m.start = (uintptr_t)p;
	m.length = len;
	m.pad2 = 1;
	ret = ioctl(fd, DRM_IOCTL_SVMSHIM_MIGRATE, &m) ? -errno : 0;
	CHECK(ret == -EINVAL, "non-zero pad2 accepted (%d)", ret);
	munmap(p + 8 * KPAGE, 8 * KPAGE);
	CHECK(kshim_migrate(fd, p, len, 0, 0, NULL, NULL) == -EFAULT,
	      "unmapped range not -EFAULT");
	CHECK(kshim_pin(fd, p, 8 * KPAGE, 1) == -ENOENT, "unpin of nothing");
	munmap(p, 8 * KPAGE);
	return 0;
}

static int t_snapshot_none(void)
{
	size_t len = 64 * KPAGE;
	char *p = map_anon(len);
	struct drm_svmshim_snapshot s;

	CHECK(p, "mmap");
	CHECK(kshim_snapshot(fd, p, len, NULL, &s) == 0, "snapshot");
	CHECK(s.none == 64 && s.host == 0 && s.device == 0,
	      "untouched: none %llu host %llu dev %llu",
	      (unsigned long long)s.none, (unsigned long long)s.host,
	      (unsigned long long)s.device);
	memset(p, 1, len / 2);
	CHECK(kshim_snapshot(fd, p, len, NULL, &s) == 0, "snapshot");
	CHECK(s.none == 32 && s.host == 32, "half touched: none %llu host %llu",
	      (unsigned long long)s.none, (unsigned long long)s.host);
	munmap(p, len);
	return 0;
}

/* Migrate to a device, verify placement, read back through CPU faults. */
static int t_migrate_read(void)
{
	size_t len = 16 * MiB, n = len / KPAGE;
	char *p = map_anon(len);
	struct drm_svmshim_migrate m;
	uint8_t *res = malloc(n);
	long bad;
	size_t i;

	CHECK(p && res, "alloc");
	fill(p, len, 0x1111);
	CHECK(kshim_migrate(fd, p, len, 0, 0, res, &m) == 0, "migrate: %s",
	      strerror(errno));
	CHECK(m.moved == n, "moved %llu of %zu (busy %llu pinned %llu nomem %llu unsup %llu)",
	      (unsigned long long)m.moved, n,
	      (unsigned long long)m.failed[SVMSHIM_FAIL_BUSY],
	      (unsigned long long)m.failed[SVMSHIM_FAIL_PINNED],
	      (unsigned long long)m.failed[SVMSHIM_FAIL_NO_MEMORY],
	      (unsigned long long)m.failed[SVMSHIM_FAIL_UNSUPPORTED]);
	for (i = 0; i < n; i++)
		CHECK(res[i] == SVMSHIM_FAIL_NONE, "res[%zu]=%u", i, res[i]);
	CHECK(count_at(p, len, 0) == (long)n, "snapshot: not all on device 0");
	/* Again: everything is already there. */
	CHECK(kshim_migrate(fd, p, len, 0, 0, NULL, &m) == 0, "migrate again");
	CHECK(m.already == n && m.moved == 0, "second migrate: already %llu moved %llu",
	      (unsigned long long)m.already, (unsigned long long)m.moved);
	bad = check(p, len, 0x1111);
	CHECK(bad < 0, "data corrupted at word %ld", bad);
	CHECK(count_at(p, len, SVMSHIM_LOC_HOST) == (long)n,
	      "snapshot: not all back on host after CPU reads");
	munmap(p, len);
	free(res);
	return 0;
}

/* Explicit round trip host -> dev -> host, then CPU writes after a move. */
static int t_migrate_back(void)
{
	size_t len = 8 * MiB, n = len / KPAGE;
	char *p = map_anon(len);
	struct drm_svmshim_migrate m;
	long bad;

	CHECK(p, "mmap");
	fill(p, len, 0x2222);
	CHECK(kshim_migrate(fd, p, len, 1, 0, NULL, &m) == 0 && m.moved == n,
	      "to device 1: moved %llu", (unsigned long long)m.moved);
	CHECK(count_at(p, len, 1) == (long)n, "not on device 1");
	CHECK(kshim_migrate(fd, p, len, SVMSHIM_LOC_HOST, 0, NULL, &m) == 0 &&
	      m.moved == n, "to host: moved %llu", (unsigned long long)m.moved);
	CHECK(count_at(p, len, SVMSHIM_LOC_HOST) == (long)n, "not on host");
	bad = check(p, len, 0x2222);
	CHECK(bad < 0, "data corrupted at word %ld", bad);
	/* Write faults. */
	CHECK(kshim_migrate(fd, p, len, 0, 0, NULL, &m) == 0 && m.moved == n,
	      "to device 0: moved %llu", (unsigned long long)m.moved);
	fill(p, len, 0x3333);
	bad = check(p, len, 0x3333);
	CHECK(bad < 0, "written data wrong at word %ld", bad);
	munmap(p, len);
	return 0;
}

/* Device 0 -> device 1 directly. */
static int t_dev_to_dev(void)
{
	size_t len = 4 * MiB, n = len / KPAGE;
	char *p = map_anon(len);
	struct drm_svmshim_migrate m;
	long bad;

	CHECK(p, "mmap");
	fill(p, len, 0x4444);
	CHECK(kshim_migrate(fd, p, len, 0, 0, NULL, &m) == 0 && m.moved == n,
	      "to device 0: moved %llu", (unsigned long long)m.moved);
	CHECK(kshim_migrate(fd, p, len, 1, 0, NULL, &m) == 0 && m.moved == n,
	      "to device 1: moved %llu busy %llu", (unsigned long long)m.moved,
	      (unsigned long long)m.failed[SVMSHIM_FAIL_BUSY]);
	CHECK(count_at(p, len, 1) == (long)n, "not on device 1");
	bad = check(p, len, 0x4444);
	CHECK(bad < 0, "data corrupted at word %ld", bad);
	munmap(p, len);
	return 0;
}

/* Holes and the zero page become device pages that read as zero. */
static int t_unpopulated(void)
{
	size_t len = 2 * MiB, n = len / KPAGE, i;
	char *p = map_anon(len);
	struct drm_svmshim_migrate m;
	volatile char sink = 0;

	CHECK(p, "mmap");
	for (i = 0; i < len; i += 2 * KPAGE)
		sink += p[i];	/* zero page on half of it */
	CHECK(kshim_migrate(fd, p, len, 0, 0, NULL, &m) == 0 && m.moved == n,
	      "moved %llu of %zu", (unsigned long long)m.moved, n);
	for (i = 0; i < len; i++)
		CHECK(p[i] == 0, "byte %zu not zero", i);
	(void)sink;
	munmap(p, len);
	return 0;
}

/* Read-only and write-protected (mprotect) ranges. */
static int t_readonly(void)
{
	size_t len = 4 * MiB, n = len / KPAGE;
	char *p = map_anon(len);
	struct drm_svmshim_migrate m;
	long bad;

	CHECK(p, "mmap");
	fill(p, len, 0x5555);
	CHECK(mprotect(p, len, PROT_READ) == 0, "mprotect");
	CHECK(kshim_migrate(fd, p, len, 0, 0, NULL, &m) == 0 && m.moved == n,
	      "read-only: moved %llu", (unsigned long long)m.moved);
	bad = check(p, len, 0x5555);
	CHECK(bad < 0, "read-only data corrupted at word %ld", bad);
	/* Back on the device, then make it writable and write. */
	CHECK(kshim_migrate(fd, p, len, 0, 0, NULL, &m) == 0 && m.moved == n,
	      "read-only again: moved %llu", (unsigned long long)m.moved);
	CHECK(mprotect(p, len, PROT_READ | PROT_WRITE) == 0, "mprotect rw");
	fill(p, len, 0x6666);
	bad = check(p, len, 0x6666);
	CHECK(bad < 0, "rewritten data wrong at word %ld", bad);
	/* Write-protect while on the device, read back. */
	CHECK(kshim_migrate(fd, p, len, 1, 0, NULL, &m) == 0 && m.moved == n,
	      "rw: moved %llu", (unsigned long long)m.moved);
	CHECK(mprotect(p, len, PROT_READ) == 0, "mprotect ro on device");
	bad = check(p, len, 0x6666);
	CHECK(bad < 0, "write-protected data wrong at word %ld", bad);
	munmap(p, len);
	return 0;
}

/* Migrate then fork: COW in the child, parent unaffected. */
static int t_fork(void)
{
	size_t len = 4 * MiB, n = len / KPAGE;
	char *p = map_anon(len);
	struct drm_svmshim_migrate m;
	int status;
	pid_t pid;
	long bad;

	CHECK(p, "mmap");
	fill(p, len, 0x7777);
	CHECK(kshim_migrate(fd, p, len, 0, 0, NULL, &m) == 0 && m.moved == n,
	      "moved %llu", (unsigned long long)m.moved);
	pid = fork();
	CHECK(pid >= 0, "fork");
	if (pid == 0) {
		/* Child reads the parent's data, then writes its own. */
		if (check(p, len / 2, 0x7777) >= 0)
			_exit(10);
		fill(p, len, 0x8888);
		if (check(p, len, 0x8888) >= 0)
			_exit(11);
		_exit(0);
	}
	CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "child failed (status 0x%x)", status);
	bad = check(p, len, 0x7777);
	CHECK(bad < 0, "parent data changed at word %ld", bad);
	munmap(p, len);
	return 0;
}

/* Shared anonymous mapping: refused as UNSUPPORTED, data untouched. */
static int t_shared(void)
{
	size_t len = 1 * MiB, n = len / KPAGE, i;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct drm_svmshim_migrate m;
	uint8_t *res = malloc(n);

	CHECK(p != MAP_FAILED && res, "mmap");
	fill(p, len, 0x9999);
	CHECK(kshim_migrate(fd, p, len, 0, 0, res, &m) == 0, "migrate");
	CHECK(m.failed[SVMSHIM_FAIL_UNSUPPORTED] == n && m.moved == 0,
	      "unsupported %llu moved %llu",
	      (unsigned long long)m.failed[SVMSHIM_FAIL_UNSUPPORTED],
	      (unsigned long long)m.moved);
	for (i = 0; i < n; i++)
		CHECK(res[i] == SVMSHIM_FAIL_UNSUPPORTED, "res[%zu]=%u", i, res[i]);
	CHECK(check(p, len, 0x9999) < 0, "data changed");
	munmap(p, len);
	free(res);
	return 0;
}

/* munmap while on the device gives the device pages back. */
static int t_munmap(void)
{
	size_t len = 16 * MiB, n = len / KPAGE;
	uint64_t before = dev_free(0);
	char *p = map_anon(len);
	struct drm_svmshim_migrate m;

	CHECK(p, "mmap");
	fill(p, len, 0xaaaa);
	CHECK(kshim_migrate(fd, p, len, 0, 0, NULL, &m) == 0 && m.moved == n,
	      "moved %llu", (unsigned long long)m.moved);
	CHECK(dev_free(0) <= before - len, "free did not drop");
	CHECK(munmap(p, len) == 0, "munmap");
	CHECK(dev_free(0) == before, "free %llu != %llu after munmap",
	      (unsigned long long)dev_free(0), (unsigned long long)before);
	return 0;
}

/* A process exits with pages on both devices: they all come back. */
static int t_exit(void)
{
	uint64_t before0 = dev_free(0), before1 = dev_free(1);
	int status;
	pid_t pid;

	pid = fork();
	CHECK(pid >= 0, "fork");
	if (pid == 0) {
		size_t len = 8 * MiB;
		char *p = map_anon(len);
		int cfd = kshim_open();

		if (!p || cfd < 0)
			_exit(2);
		fill(p, len, 1);
		if (kshim_migrate(cfd, p, len / 2, 0, 0, NULL, NULL) ||
		    kshim_migrate(cfd, p + len / 2, len / 2, 1, 0, NULL, NULL))
			_exit(3);
		_exit(0);	/* no munmap, no close */
	}
	CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status 0x%x",
	      status);
	CHECK(dev_free(0) == before0 && dev_free(1) == before1,
	      "device memory not returned: dev0 %llu/%llu dev1 %llu/%llu",
	      (unsigned long long)dev_free(0), (unsigned long long)before0,
	      (unsigned long long)dev_free(1), (unsigned long long)before1);
	return 0;
}

/* Closing the file brings this file's pages home; the data stays. */
static int t_close(void)
{
	size_t len = 4 * MiB, n = len / KPAGE;
	uint64_t before = dev_free(0);
	char *p = map_anon(len);
	int cfd = kshim_open();
	struct drm_svmshim_migrate m;
	long bad;

	CHECK(p && cfd >= 0, "setup");
	fill(p, len, 0xbbbb);
	CHECK(kshim_migrate(cfd, p, len, 0, 0, NULL, &m) == 0 && m.moved == n,
	      "moved %llu", (unsigned long long)m.moved);
	close(cfd);
	CHECK(dev_free(0) == before, "free not restored by close");
	CHECK(count_at(p, len, SVMSHIM_LOC_HOST) == (long)n, "not on host");
	bad = check(p, len, 0xbbbb);
	CHECK(bad < 0, "data corrupted at word %ld", bad);
	munmap(p, len);
	return 0;
}

/* Many small ranges, alternating devices. */
static int t_many_ranges(void)
{
	enum { NR = 128 };
	size_t len = 16 * KPAGE;
	char *r[NR];
	int i;

	for (i = 0; i < NR; i++) {
		struct drm_svmshim_migrate m;

		r[i] = map_anon(len);
		CHECK(r[i], "mmap %d", i);
		fill(r[i], len, 0xc000 + i);
		CHECK(kshim_migrate(fd, r[i], len, i & 1, 0, NULL, &m) == 0 &&
		      m.moved == len / KPAGE, "range %d moved %llu", i,
		      (unsigned long long)m.moved);
	}
	for (i = 0; i < NR; i++) {
		CHECK(count_at(r[i], len, i & 1) == (long)(len / KPAGE),
		      "range %d misplaced", i);
		CHECK(check(r[i], len, 0xc000 + i) < 0, "range %d corrupted", i);
		munmap(r[i], len);
	}
	return 0;
}

static long anon_huge_kb(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[128];
	long kb = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "AnonHugePages: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* THP-backed range: split by the core, every page moves. */
static int t_thp(void)
{
	size_t huge = 2 * MiB, len = 8 * MiB, n = len / KPAGE;
	char *raw = map_anon(len + huge), *p;
	struct drm_svmshim_migrate m;
	long bad, thp0, thp1;

	CHECK(raw, "mmap");
	p = (char *)(((uintptr_t)raw + huge - 1) & ~(huge - 1));
	if (madvise(p, len, MADV_HUGEPAGE))
		SKIPF("MADV_HUGEPAGE: %s", strerror(errno));
	thp0 = anon_huge_kb();
	fill(p, len, 0xdddd);
	thp1 = anon_huge_kb();
	if (thp0 < 0 || thp1 - thp0 < 2048)
		SKIPF("no THP formed (AnonHugePages %ld -> %ld kB)", thp0, thp1);
	printf("INFO: thp: %ld kB of THP before the migration\n", thp1 - thp0);
	CHECK(kshim_migrate(fd, p, len, 0, SVMSHIM_MIGRATE_DRAIN_LRU, NULL, &m) == 0,
	      "migrate");
	CHECK(m.moved == n, "moved %llu of %zu (busy %llu)",
	      (unsigned long long)m.moved, n,
	      (unsigned long long)m.failed[SVMSHIM_FAIL_BUSY]);
	bad = check(p, len, 0xdddd);
	CHECK(bad < 0, "data corrupted at word %ld", bad);
	munmap(raw, len + huge);
	return 0;
}

/* PIN ioctl: pinned pages come back PINNED, the rest moves. */
static int t_pin(void)
{
	size_t len = 4 * MiB, n = len / KPAGE, i;
	char *p = map_anon(len);
	uint8_t *res = malloc(n);
	struct drm_svmshim_migrate m;

	CHECK(p && res, "alloc");
	fill(p, len, 0xeeee);
	CHECK(kshim_pin(fd, p + 64 * KPAGE, 32 * KPAGE, 0) == 0, "pin: %s",
	      strerror(errno));
	CHECK(kshim_migrate(fd, p, len, 0, 0, res, &m) == 0, "migrate");
	CHECK(m.failed[SVMSHIM_FAIL_PINNED] == 32 && m.moved == n - 32,
	      "pinned %llu moved %llu busy %llu",
	      (unsigned long long)m.failed[SVMSHIM_FAIL_PINNED],
	      (unsigned long long)m.moved,
	      (unsigned long long)m.failed[SVMSHIM_FAIL_BUSY]);
	for (i = 0; i < n; i++) {
		int pinned = i >= 64 && i < 96;

		CHECK(res[i] == (pinned ? SVMSHIM_FAIL_PINNED : SVMSHIM_FAIL_NONE),
		      "res[%zu]=%u", i, res[i]);
	}
	CHECK(kshim_pin(fd, p + 64 * KPAGE, 32 * KPAGE, 1) == 0, "unpin");
	CHECK(kshim_migrate(fd, p, len, 0, 0, res, &m) == 0 && m.moved == 32,
	      "after unpin moved %llu", (unsigned long long)m.moved);
	CHECK(check(p, len, 0xeeee) < 0, "data corrupted");
	/* A pin left behind is released by close. */
	{
		int cfd = kshim_open();

		CHECK(cfd >= 0, "open");
		CHECK(kshim_pin(cfd, p, 16 * KPAGE, 0) == 0, "pin 2");
		close(cfd);
		CHECK(kshim_migrate(fd, p, 16 * KPAGE, 1, 0, NULL, &m) == 0 &&
		      m.moved == 16, "after close moved %llu",
		      (unsigned long long)m.moved);
	}
	munmap(p, len);
	free(res);
	return 0;
}

/* io_uring registered buffers are long-term pinned: PINNED. */
static int t_io_uring(void)
{
	size_t len = 2 * MiB, n = len / KPAGE;
	char *p = map_anon(len);
	struct drm_svmshim_migrate m;
	struct io_uring ring;
	struct iovec iov;
	int ret;

	CHECK(p, "mmap");
	fill(p, len, 0xf0f0);
	ret = io_uring_queue_init(4, &ring, 0);
	if (ret)
		SKIPF("io_uring_queue_init: %s", strerror(-ret));
	iov.iov_base = p + 128 * KPAGE;
	iov.iov_len = 64 * KPAGE;
	ret = io_uring_register_buffers(&ring, &iov, 1);
	if (ret) {
		io_uring_queue_exit(&ring);
		FAILF("register_buffers: %s", strerror(-ret));
	}
	CHECK(kshim_migrate(fd, p, len, 0, 0, NULL, &m) == 0, "migrate");
	CHECK(m.failed[SVMSHIM_FAIL_PINNED] == 64 && m.moved == n - 64,
	      "pinned %llu moved %llu busy %llu",
	      (unsigned long long)m.failed[SVMSHIM_FAIL_PINNED],
	      (unsigned long long)m.moved,
	      (unsigned long long)m.failed[SVMSHIM_FAIL_BUSY]);
	io_uring_unregister_buffers(&ring);
	io_uring_queue_exit(&ring);
	CHECK(kshim_migrate(fd, p, len, 0, 0, NULL, &m) == 0 && m.moved == 64,
	      "after unregister moved %llu", (unsigned long long)m.moved);
	CHECK(check(p, len, 0xf0f0) < 0, "data corrupted");
	munmap(p, len);
	return 0;
}

/* Two threads migrate overlapping ranges back and forth at once. */
struct race_arg {
	char *p;
	size_t len;
	int dev;
	unsigned long busy, moved, bad_calls;
	char first_bad[240];		/* what the first bad call returned */
};

static const char *counts(const struct drm_svmshim_migrate *m);

static void *race_thread(void *arg)
{
	struct race_arg *a = arg;
	int round;

	for (round = 0; round < 40; round++) {
		struct drm_svmshim_migrate m;
		int dest = (round & 1) ? SVMSHIM_LOC_HOST : a->dev;

		if (kshim_migrate(fd, a->p, a->len, dest, 0, NULL, &m)) {
			if (!a->bad_calls++)
				snprintf(a->first_bad, sizeof(a->first_bad),
					 "round %d: %s", round, strerror(errno));
			continue;
		}
		a->busy += m.failed[SVMSHIM_FAIL_BUSY];
		a->moved += m.moved;
		if (m.moved + m.already + m.failed[SVMSHIM_FAIL_BUSY] !=
		    a->len / KPAGE && !a->bad_calls++)
			snprintf(a->first_bad, sizeof(a->first_bad),
				 "round %d: %s", round, counts(&m));
	}
	return NULL;
}

static int t_threads(void)
{
	size_t len = 8 * MiB;
	char *p = map_anon(len);
	struct race_arg a = { .p = p, .len = len * 3 / 4, .dev = 0 };
	struct race_arg b = { .p = p + len / 4, .len = len * 3 / 4, .dev = 1 };
	pthread_t ta, tb;
	long bad;

	CHECK(p, "mmap");
	fill(p, len, 0x1234);
	pthread_create(&ta, NULL, race_thread, &a);
	pthread_create(&tb, NULL, race_thread, &b);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	CHECK(!a.bad_calls && !b.bad_calls, "bad calls %lu %lu (%.100s%.100s)",
	      a.bad_calls, b.bad_calls, a.first_bad, b.first_bad);
	bad = check(p, len, 0x1234);
	CHECK(bad < 0, "data corrupted at word %ld", bad);
	printf("INFO: threads: moved %lu+%lu pages, busy %lu+%lu pages\n",
	       a.moved, b.moved, a.busy, b.busy);
	munmap(p, len);
	return 0;
}

/*
 * CPU faults racing with migrations: readers and a writer touch pages that
 * another thread keeps moving between devices and host. Every fault must
 * complete (a page that cannot move right now is retried, never SIGBUS)
 * and no data may be lost.
 */
struct fault_arg {
	char *p;
	size_t len;
	volatile int *stop;
	unsigned long rounds, bad;
};

static void *fault_migrator(void *arg)
{
	struct fault_arg *a = arg;
	int round;

	for (round = 0; round < 60; round++) {
		int dest = round % 3 == 2 ? SVMSHIM_LOC_HOST : round % 3;

		if (kshim_migrate(fd, a->p, a->len, dest, 0, NULL, NULL))
			a->bad++;
		a->rounds++;
	}
	*a->stop = 1;
	return NULL;
}

static void *fault_reader(void *arg)
{
	struct fault_arg *a = arg;

	while (!*a->stop) {
		if (check(a->p, a->len, 0x7e57) >= 0)
			a->bad++;
		a->rounds++;
	}
	return NULL;
}

static void *fault_writer(void *arg)
{
	struct fault_arg *a = arg;
	uint64_t seed = 1;

	while (!*a->stop) {
		fill(a->p, a->len, seed);
		if (check(a->p, a->len, seed) >= 0)
			a->bad++;
		seed++;
		a->rounds++;
	}
	return NULL;
}

/*
 * A migrator thread against a CPU reader (a read-only half) and a writer
 * (the other half): no wrong byte, no lost write, every call accounted.
 */
static int race(const char *name, void *(*migrator)(void *))
{
	size_t len = 4 * MiB;
	char *p = map_anon(len);
	volatile int stop = 0;
	struct fault_arg mig = { .p = p, .len = len, .stop = &stop };
	struct fault_arg rd = { .p = p, .len = len / 2, .stop = &stop };
	struct fault_arg wr = { .p = p + len / 2, .len = len / 2, .stop = &stop };
	pthread_t tm, tr, tw;

	CHECK(p, "mmap");
	fill(p, len / 2, 0x7e57);
	fill(p + len / 2, len / 2, 0);
	pthread_create(&tr, NULL, fault_reader, &rd);
	pthread_create(&tw, NULL, fault_writer, &wr);
	pthread_create(&tm, NULL, migrator, &mig);
	pthread_join(tm, NULL);
	pthread_join(tr, NULL);
	pthread_join(tw, NULL);
	int ret = 1;

	if (mig.bad)
		snprintf(why, sizeof(why), "%lu migrate calls failed or miscounted", mig.bad);
	else if (rd.bad)
		snprintf(why, sizeof(why), "reader saw wrong data %lu times", rd.bad);
	else if (wr.bad)
		snprintf(why, sizeof(why), "writer lost data %lu times", wr.bad);
	else if (check(p, len / 2, 0x7e57) >= 0)
		snprintf(why, sizeof(why), "read-only half corrupted");
	else
		ret = 0;
	if (!ret)
		printf("INFO: %s: %lu migrations, %lu read passes, %lu write passes\n", name,
		       mig.rounds, rd.rounds, wr.rounds);
	munmap(p, len);
	return ret;
}

static int t_fault_race(void)
{
	return race("fault_race", fault_migrator);
}

/* Device memory exhausted: LRU eviction keeps data intact. */
static int t_exhaust(void)
{
	struct drm_svmshim_get_info info;
	struct drm_svmshim_migrate m;
	size_t cap, len, n;
	char *a, *b;
	long bad;

	CHECK(kshim_info(fd, 1, &info) == 0, "info");
	cap = info.memory_bytes;
	if (cap > 128 * MiB)
		SKIPF("device memory %zu MiB: load with vram_mb<=128", cap / MiB);
	CHECK(info.free_bytes == cap, "device 1 not empty (%llu free)",
	      (unsigned long long)info.free_bytes);
	len = cap * 3 / 4;
	n = len / KPAGE;
	a = map_anon(len);
	b = map_anon(len);
	CHECK(a && b, "mmap");
	fill(a, len, 0xa1);
	fill(b, len, 0xb2);
	CHECK(kshim_migrate(fd, a, len, 1, 0, NULL, &m) == 0 && m.moved == n,
	      "a moved %llu", (unsigned long long)m.moved);
	CHECK(kshim_migrate(fd, b, len, 1, 0, NULL, &m) == 0, "migrate b");
	CHECK(m.moved == n && m.evicted > 0,
	      "b moved %llu of %zu, evicted %llu, nomem %llu",
	      (unsigned long long)m.moved, n, (unsigned long long)m.evicted,
	      (unsigned long long)m.failed[SVMSHIM_FAIL_NO_MEMORY]);
	CHECK(count_at(b, len, 1) == (long)n, "b not all on device 1");
	/* Without eviction, a gets what is free and NO_MEMORY for the rest. */
	CHECK(kshim_migrate(fd, a, len, 1, SVMSHIM_MIGRATE_NO_EVICT, NULL, &m) == 0,
	      "migrate a no-evict");
	CHECK(m.failed[SVMSHIM_FAIL_NO_MEMORY] > 0 &&
	      m.failed[SVMSHIM_FAIL_BUSY] == 0, "no-evict: nomem %llu busy %llu",
	      (unsigned long long)m.failed[SVMSHIM_FAIL_NO_MEMORY],
	      (unsigned long long)m.failed[SVMSHIM_FAIL_BUSY]);
	bad = check(a, len, 0xa1);
	CHECK(bad < 0, "a corrupted at word %ld", bad);
	bad = check(b, len, 0xb2);
	CHECK(bad < 0, "b corrupted at word %ld", bad);
	munmap(a, len);
	munmap(b, len);
	CHECK(dev_free(1) == cap, "device 1 not empty at the end");
	return 0;
}

/* write() from and read() into device-resident buffers through a pipe. */
static int t_pipe(void)
{
	size_t len = 256 * KPAGE, n = len / KPAGE, done;
	char *src = map_anon(len), *dst = map_anon(len);
	struct drm_svmshim_migrate m;
	int pfd[2];
	pid_t pid;
	int status;

	CHECK(src && dst, "mmap");
	CHECK(pipe(pfd) == 0, "pipe");
	fill(src, len, 0x5a5a);
	memset(dst, 0, len);
	CHECK(kshim_migrate(fd, src, len, 0, 0, NULL, &m) == 0 && m.moved == n,
	      "src moved %llu", (unsigned long long)m.moved);
	CHECK(kshim_migrate(fd, dst, len, 1, 0, NULL, &m) == 0 && m.moved == n,
	      "dst moved %llu", (unsigned long long)m.moved);
	pid = fork();
	CHECK(pid >= 0, "fork");
	if (pid == 0) {
		/* write() reads the device-resident src in kernel mode */
		close(pfd[0]);
		for (done = 0; done < len; ) {
			ssize_t w = write(pfd[1], src + done, len - done);

			if (w <= 0)
				_exit(1);
			done += w;
		}
		_exit(0);
	}
	close(pfd[1]);
	/* read() writes into the device-resident dst in kernel mode */
	for (done = 0; done < len; ) {
		ssize_t r = read(pfd[0], dst + done, len - done);

		CHECK(r > 0, "read: %zd", r);
		done += r;
	}
	close(pfd[0]);
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	      WEXITSTATUS(status) == 0, "writer failed");
	/* dst holds src's pattern, tied to src's addresses */
	{
		const uint64_t *w = (const uint64_t *)dst;
		size_t i;

		for (i = 0; i < len / 8; i++)
			CHECK(w[i] == (((uintptr_t)(src + i * 8)) ^ 0x5a5a),
			      "pipe data wrong at word %zu", i);
	}
	munmap(src, len);
	munmap(dst, len);
	return 0;
}

/* ---- fault injection and the retry budget ------------------------------ */

#define BUSY	SVMSHIM_FAIL_BUSY
#define PINNED	SVMSHIM_FAIL_PINNED
#define NOMEM	SVMSHIM_FAIL_NO_MEMORY
#define UNSUP	SVMSHIM_FAIL_UNSUPPORTED

static int inject(unsigned int cls, unsigned int pct, unsigned long long seed,
		  unsigned int count)
{
	return kshim_inject(cls, pct, seed, count, KSHIM_INJECT_ANY);
}

static void inject_off(void)
{
	if (inject(0, 0, 0, 0))
		printf("WARN: cannot reset the inject_* parameters\n");
}

/*
 * A budget for calls whose rounds, not their time, are what a test counts
 * on. A pause of 100 us can take tens of ms in a TCG guest on a loaded
 * host: with 50 or 200 ms budgets, inject_busy and inject_cpu_fault failed
 * on 6.1 (load average 10 on 2 cores) with the budget spent before the
 * rounds. The rounds end these calls long before this.
 */
#define ROUNDS_BUDGET_US 5000000

static int migrate_retry(void *p, size_t len, int dest, unsigned int rounds,
			 unsigned int budget_us, uint8_t *res,
			 struct drm_svmshim_migrate *out)
{
	return kshim_migrate_budget(fd, p, len, dest, SVMSHIM_MIGRATE_RETRY, rounds, budget_us,
				    res, out);
}

static const char *counts(const struct drm_svmshim_migrate *m)
{
	static char buf[200];

	snprintf(buf, sizeof(buf),
		 "moved %llu already %llu pinned %llu busy %llu nomem %llu unsup %llu evicted %llu retries %u",
		 (unsigned long long)m->moved, (unsigned long long)m->already,
		 (unsigned long long)m->failed[PINNED],
		 (unsigned long long)m->failed[BUSY],
		 (unsigned long long)m->failed[NOMEM],
		 (unsigned long long)m->failed[UNSUP],
		 (unsigned long long)m->evicted, m->retries);
	return buf;
}

/* Do the counts add up to @n and match the result array? */
static int counts_exact(const struct drm_svmshim_migrate *m,
			const uint8_t *res, size_t n)
{
	uint64_t c[SVMSHIM_FAIL_COUNT] = { 0 };
	size_t i;
	int k;

	for (i = 0; i < n; i++) {
		if (res[i] >= SVMSHIM_FAIL_COUNT)
			return 0;
		c[res[i]]++;
	}
	if (c[0] != m->moved + m->already || m->failed[0])
		return 0;
	for (k = 1; k < SVMSHIM_FAIL_COUNT; k++)
		if (c[k] != m->failed[k])
			return 0;
	return 1;
}

static size_t count_res(const uint8_t *res, size_t n, uint8_t cls)
{
	size_t i, c = 0;

	for (i = 0; i < n; i++)
		c += res[i] == cls;
	return c;
}

static int t_inject_args(void)
{
	size_t len = 16 * KPAGE, n = len / KPAGE;
	char *p = map_anon(len);
	struct drm_svmshim_migrate m;
	int ret;

	CHECK(p, "mmap");
	fill(p, len, 0x1010);
	memset(&m, 0, sizeof(m));
	m.start = (uintptr_t)p;
	m.length = len;
	m.retry_rounds = 1;
	CHECK(ioctl(fd, DRM_IOCTL_SVMSHIM_MIGRATE, &m) && errno == EINVAL,
	      "retry_rounds without the RETRY flag accepted");
	m.retry_rounds = 0;
	m.retry_budget_us = 1;
	CHECK(ioctl(fd, DRM_IOCTL_SVMSHIM_MIGRATE, &m) && errno == EINVAL,
	      "retry_budget_us without the RETRY flag accepted");
	m.retry_budget_us = 0;
	m.retries = 1;
	CHECK(ioctl(fd, DRM_IOCTL_SVMSHIM_MIGRATE, &m) && errno == EINVAL,
	      "retries without the RETRY flag accepted");
	m.retries = 0;
	m.evicted_prefetched = 1;	/* out only (it was padding) */
	m.flags = SVMSHIM_MIGRATE_RETRY;
	CHECK(ioctl(fd, DRM_IOCTL_SVMSHIM_MIGRATE, &m) && errno == EINVAL,
	      "non-zero evicted_prefetched accepted");
	CHECK(sizeof(m) == 128, "struct size changed: %zu", sizeof(m));
	m.evicted_prefetched = 0;
	m.flags = 0;
	m.rounds = 1;
	CHECK(ioctl(fd, DRM_IOCTL_SVMSHIM_MIGRATE, &m) && errno == EINVAL,
	      "rounds without the RETRY flag accepted");
	m.rounds = 0;
	m.flags = SVMSHIM_MIGRATE_BACKOFF;
	CHECK(ioctl(fd, DRM_IOCTL_SVMSHIM_MIGRATE, &m) && errno == EINVAL,
	      "BACKOFF without RETRY accepted");
	m.flags = SVMSHIM_MIGRATE_RETRY;
	m.backoff_us = 10;
	CHECK(ioctl(fd, DRM_IOCTL_SVMSHIM_MIGRATE, &m) && errno == EINVAL,
	      "backoff_us without the BACKOFF flag accepted");
	m.flags = SVMSHIM_MIGRATE_RETRY | SVMSHIM_MIGRATE_BACKOFF;
	m.backoff_us = SVMSHIM_MAX_BACKOFF_US + 1;
	CHECK(ioctl(fd, DRM_IOCTL_SVMSHIM_MIGRATE, &m) && errno == EINVAL,
	      "backoff_us above the maximum accepted");
	m.backoff_us = 0;
	m.backoff_max_us = SVMSHIM_MAX_BACKOFF_US + 1;
	CHECK(ioctl(fd, DRM_IOCTL_SVMSHIM_MIGRATE, &m) && errno == EINVAL,
	      "backoff_max_us above the maximum accepted");
	m.backoff_max_us = 0;
	m.flags = 0;
	CHECK(kshim_param_set("inject_direction", 3) == -EINVAL,
	      "inject_direction 3 accepted");

	CHECK(kshim_param_set("inject_class", 5) == -EINVAL, "inject_class 5 accepted");
	CHECK(kshim_param_set("inject_percent", 101) == -EINVAL,
	      "inject_percent 101 accepted");
	CHECK(kshim_param_get("inject_class") == 0, "inject_class changed");
	CHECK(kshim_param_set("inject_hits", 1) != 0, "inject_hits is writable");

	/* RETRY with a zero budget: an ordinary migration. */
	ret = migrate_retry(p, len, 0, 5, 0, NULL, &m);
	CHECK(ret == 0 && m.moved == n && m.retries == 0, "ret %d: %s", ret,
	      counts(&m));
	CHECK(check(p, len, 0x1010) < 0, "data corrupted");
	/* Injection off: percent 0 never injects. */
	CHECK(inject(BUSY, 0, 1, 0) == 0, "set inject_*");
	CHECK(kshim_migrate(fd, p, len, 0, 0, NULL, &m) == 0 && m.moved == n,
	      "percent 0: %s", counts(&m));
	CHECK(kshim_param_get("inject_hits") == 0, "hits %ld", kshim_param_get("inject_hits"));
	CHECK(check(p, len, 0x1010) < 0, "data corrupted");
	munmap(p, len);
	return 0;
}

static int t_inject_busy(void)
{
	size_t len = 64 * KPAGE, n = len / KPAGE;
	char *p = map_anon(len);
	struct drm_svmshim_migrate m;
	uint8_t res[64];
	long bad, hits;
	int ret;

	CHECK(p, "mmap");
	fill(p, len, 0x2020);

	/* 100%, old caller: every page BUSY, nothing retried, data in place. */
	CHECK(inject(BUSY, 100, 1, 0) == 0, "set inject_*");
	ret = kshim_migrate(fd, p, len, 0, 0, res, &m);
	CHECK(ret == 0 && m.failed[BUSY] == n && m.moved == 0 && m.retries == 0,
	      "100%% no flag: ret %d: %s", ret, counts(&m));
	CHECK(counts_exact(&m, res, n) && count_res(res, n, BUSY) == n,
	      "result array does not match");
	CHECK(kshim_param_get("inject_hits") == (long)n, "hits %ld",
	      kshim_param_get("inject_hits"));
	CHECK(count_at(p, len, SVMSHIM_LOC_HOST) == (long)n, "pages moved");

	/* 100%, 3 rounds: every page tried 4 times, then reported BUSY. */
	CHECK(inject(BUSY, 100, 1, 0) == 0, "set inject_*");
	ret = migrate_retry(p, len, 0, 3, ROUNDS_BUDGET_US, res, &m);
	CHECK(ret == 0 && m.failed[BUSY] == n && m.moved == 0 &&
	      m.retries == 3 * n, "100%% 3 rounds: ret %d: %s", ret, counts(&m));
	CHECK(counts_exact(&m, res, n), "result array does not match");
	CHECK(kshim_param_get("inject_hits") == (long)(4 * n), "hits %ld",
	      kshim_param_get("inject_hits"));
	bad = check(p, len, 0x2020);
	CHECK(bad < 0, "data corrupted at word %ld", bad);

	/* 30%, old caller: about 30% BUSY, the rest moved. */
	CHECK(inject(BUSY, 30, 42, 0) == 0, "set inject_*");
	ret = kshim_migrate(fd, p, len, 0, 0, res, &m);
	CHECK(ret == 0 && m.failed[BUSY] >= 4 && m.failed[BUSY] <= 40 &&
	      m.moved + m.failed[BUSY] == n, "30%% no flag: ret %d: %s", ret,
	      counts(&m));
	CHECK(counts_exact(&m, res, n), "result array does not match");
	CHECK(count_at(p, len, 0) == (long)m.moved, "placement");
	bad = check(p, len, 0x2020);
	CHECK(bad < 0, "data corrupted at word %ld", bad);

	/* 30%, 20 rounds: all succeed after retries. */
	CHECK(inject(BUSY, 30, 42, 0) == 0, "set inject_*");
	ret = migrate_retry(p, len, 0, 20, ROUNDS_BUDGET_US, res, &m);
	hits = kshim_param_get("inject_hits");
	CHECK(ret == 0 && m.moved == n && m.retries > 0,
	      "30%% 20 rounds: ret %d: %s", ret, counts(&m));
	CHECK(counts_exact(&m, res, n), "result array does not match");
	CHECK(hits == (long)(n + m.retries - m.moved), "hits %ld, %s", hits,
	      counts(&m));
	printf("INFO: inject_busy: 30%% of %zu pages, 20 rounds: %u retries, all moved\n",
	       n, m.retries);
	bad = check(p, len, 0x2020);
	CHECK(bad < 0, "data corrupted at word %ld", bad);

	/* inject_count: only the first 10 moves fail. */
	CHECK(inject(BUSY, 100, 7, 10) == 0, "set inject_*");
	ret = kshim_migrate(fd, p, len, 0, 0, res, &m);
	CHECK(ret == 0 && m.failed[BUSY] == 10 && m.moved == n - 10,
	      "count 10: ret %d: %s", ret, counts(&m));
	bad = check(p, len, 0x2020);
	CHECK(bad < 0, "data corrupted at word %ld", bad);
	munmap(p, len);
	return 0;
}

/* PINNED or UNSUPPORTED: sticky per page, never retried, served in place. */
static int inject_sticky(uint8_t cls)
{
	size_t len = 256 * KPAGE, n = len / KPAGE, i, f;
	char *p = map_anon(len);
	struct drm_svmshim_migrate m;
	uint8_t *res = malloc(n), *res2 = malloc(n);
	int32_t *loc = calloc(n, sizeof(*loc));
	long bad;
	int ret;

	CHECK(p && res && res2 && loc, "alloc");
	fill(p, len, 0x3030 + cls);

	/* 100%: each page tried once (hits == n), none retried. */
	CHECK(inject(cls, 100, 3, 0) == 0, "set inject_*");
	ret = migrate_retry(p, len, 0, 5, 200000, res, &m);
	CHECK(ret == 0 && m.failed[cls] == n && m.moved == 0 && m.retries == 0,
	      "100%%: ret %d: %s", ret, counts(&m));
	CHECK(counts_exact(&m, res, n) && count_res(res, n, cls) == n,
	      "result array does not match");
	CHECK(kshim_param_get("inject_hits") == (long)n, "attempts %ld for %zu pages",
	      kshim_param_get("inject_hits"), n);
	CHECK(count_at(p, len, SVMSHIM_LOC_HOST) == (long)n, "pages moved");
	bad = check(p, len, 0x3030 + cls);
	CHECK(bad < 0, "data corrupted at word %ld", bad);

	/* 30%: the failing pages are reported, stay on the host. */
	CHECK(inject(cls, 30, 99, 0) == 0, "set inject_*");
	ret = migrate_retry(p, len, 0, 5, 200000, res, &m);
	f = m.failed[cls];
	CHECK(ret == 0 && f > 30 && f < 130 && m.moved == n - f &&
	      m.retries == 0, "30%%: ret %d: %s", ret, counts(&m));
	CHECK(counts_exact(&m, res, n), "result array does not match");
	CHECK(kshim_param_get("inject_hits") == (long)f, "attempts %ld for %zu pages",
	      kshim_param_get("inject_hits"), f);
	CHECK(kshim_snapshot(fd, p, len, loc, NULL) == 0, "snapshot");
	for (i = 0; i < n; i++)
		CHECK(loc[i] == (res[i] == cls ? SVMSHIM_LOC_HOST : 0),
		      "page %zu: result %u location %d", i, res[i], loc[i]);
	/* The device "reads and writes them in place": the CPU does here. */
	bad = check(p, len, 0x3030 + cls);
	CHECK(bad < 0, "data corrupted at word %ld", bad);

	/* Same seed, same pages. */
	CHECK(inject(cls, 30, 99, 0) == 0, "set inject_*");
	ret = migrate_retry(p, len, 0, 5, 200000, res2, &m);
	CHECK(ret == 0 && !memcmp(res, res2, n), "second run differs: %s",
	      counts(&m));
	fill(p, len, 0x4040 + cls);
	bad = check(p, len, 0x4040 + cls);
	CHECK(bad < 0, "data corrupted at word %ld", bad);
	printf("INFO: inject_%s: 30%% seed 99: %zu of %zu pages fail, the same ones twice\n",
	       cls == PINNED ? "pinned" : "unsupported", f, n);
	munmap(p, len);
	free(res);
	free(res2);
	free(loc);
	return 0;
}

static int t_inject_pinned(void)
{
	return inject_sticky(PINNED);
}

static int t_inject_unsupported(void)
{
	return inject_sticky(UNSUP);
}

static int t_inject_nomem(void)
{
	size_t alen = 256 * KPAGE, na = alen / KPAGE;
	size_t len = 64 * KPAGE, n = len / KPAGE;
	char *a = map_anon(alen), *p = map_anon(len);
	struct drm_svmshim_migrate m;
	uint8_t res[64];
	long bad;
	int ret;

	CHECK(a && p, "mmap");
	fill(a, alen, 0x5050);
	fill(p, len, 0x6060);
	/* Something else on the device. */
	CHECK(kshim_migrate(fd, a, alen, 0, 0, NULL, &m) == 0 && m.moved == na,
	      "place A: %s", counts(&m));

	/* 100%, old caller: NO_MEMORY, no eviction (the device has room). */
	CHECK(inject(NOMEM, 100, 5, 0) == 0, "set inject_*");
	ret = kshim_migrate(fd, p, len, 0, 0, res, &m);
	CHECK(ret == 0 && m.failed[NOMEM] == n && m.evicted == 0,
	      "100%% no flag: ret %d: %s", ret, counts(&m));
	CHECK(counts_exact(&m, res, n), "result array does not match");

	/* 100%, 2 rounds: each round evicts first, then fails again. */
	CHECK(inject(NOMEM, 100, 5, 0) == 0, "set inject_*");
	ret = migrate_retry(p, len, 0, 2, ROUNDS_BUDGET_US, res, &m);
	CHECK(ret == 0 && m.failed[NOMEM] == n && m.retries == 2 * n &&
	      m.evicted > 0 && m.evicted <= 2 * n,
	      "100%% 2 rounds: ret %d: %s", ret, counts(&m));
	CHECK(counts_exact(&m, res, n), "result array does not match");
	CHECK(count_at(a, alen, 0) == (long)(na - m.evicted),
	      "A: %ld pages on the device after %llu evicted",
	      count_at(a, alen, 0), (unsigned long long)m.evicted);

	/* 30%, 20 rounds: evicts and then all move. */
	CHECK(inject(NOMEM, 30, 11, 0) == 0, "set inject_*");
	ret = migrate_retry(p, len, 0, 20, ROUNDS_BUDGET_US, res, &m);
	CHECK(ret == 0 && m.moved == n && m.evicted > 0 && m.retries > 0,
	      "30%% 20 rounds: ret %d: %s", ret, counts(&m));
	CHECK(counts_exact(&m, res, n), "result array does not match");
	printf("INFO: inject_nomem: 30%% of %zu pages: %u retries, %llu pages evicted\n",
	       n, m.retries, (unsigned long long)m.evicted);
	bad = check(p, len, 0x6060);
	CHECK(bad < 0, "data corrupted at word %ld", bad);
	bad = check(a, alen, 0x5050);
	CHECK(bad < 0, "A: data corrupted at word %ld", bad);
	munmap(a, alen);
	munmap(p, len);
	return 0;
}

/* A spent budget: exact counts, no longer than the budget plus a round. */
static int t_inject_budget(void)
{
	size_t len = 64 * KPAGE, n = len / KPAGE;
	const unsigned int budget_us = 200000;
	char *p = map_anon(len);
	struct drm_svmshim_migrate m;
	double t0, round, dt;
	uint8_t res[64];
	long hits;
	int ret;

	CHECK(p, "mmap");
	fill(p, len, 0x7070);
	CHECK(inject(BUSY, 100, 13, 0) == 0, "set inject_*");
	/* One round: a plain attempt at the batch. */
	t0 = now_sec();
	CHECK(kshim_migrate(fd, p, len, 0, 0, NULL, &m) == 0 &&
	      m.failed[BUSY] == n, "first: %s", counts(&m));
	round = now_sec() - t0;

	CHECK(inject(BUSY, 100, 13, 0) == 0, "set inject_*");
	t0 = now_sec();
	ret = migrate_retry(p, len, 0, SVMSHIM_MAX_RETRY_ROUNDS, budget_us, res, &m);
	dt = now_sec() - t0;
	hits = kshim_param_get("inject_hits");
	CHECK(ret == 0 && m.failed[BUSY] == n && m.moved == 0 &&
	      m.already == 0 && m.retries >= n && m.retries % n == 0,
	      "ret %d: %s", ret, counts(&m));
	CHECK(counts_exact(&m, res, n), "result array does not match");
	CHECK(hits == (long)(n + m.retries), "hits %ld: %s", hits, counts(&m));
	CHECK(dt >= budget_us * 1e-6 * 0.95, "returned after %.3f s, before the budget",
	      dt);
	CHECK(dt <= budget_us * 1e-6 + round + 0.5,
	      "took %.3f s: budget %.3f s + round %.3f s + 0.5 s", dt,
	      budget_us * 1e-6, round);
	printf("INFO: inject_budget: 100%% BUSY, 200 ms budget: %.1f ms, %u rounds (one round %.1f ms)\n",
	       dt * 1e3, m.retries / (unsigned int)n, round * 1e3);

	/* The rounds bound too: 3 rounds of a 10 s budget. */
	CHECK(inject(BUSY, 100, 13, 0) == 0, "set inject_*");
	t0 = now_sec();
	ret = migrate_retry(p, len, 0, 3, 10000000, res, &m);
	dt = now_sec() - t0;
	CHECK(ret == 0 && m.failed[BUSY] == n && m.retries == 3 * n && dt < 2.0,
	      "3 rounds: ret %d after %.3f s: %s", ret, dt, counts(&m));
	CHECK(check(p, len, 0x7070) < 0, "data corrupted");
	munmap(p, len);
	return 0;
}

/* CPU faults on device pages complete while every MIGRATE fails. */
static int t_inject_cpu_fault(void)
{
	size_t len = 4 * MiB, n = len / KPAGE;
	char *p = map_anon(len);
	struct drm_svmshim_migrate m;
	long bad;
	int ret;

	CHECK(p, "mmap");
	fill(p, len, 0x8080);
	CHECK(kshim_migrate(fd, p, len, 0, 0, NULL, &m) == 0 && m.moved == n,
	      "to device: %s", counts(&m));
	CHECK(inject(BUSY, 100, 17, 0) == 0, "set inject_*");
	/* MIGRATE to the host fails for every page, with retries. */
	ret = migrate_retry(p, len, SVMSHIM_LOC_HOST, 2, ROUNDS_BUDGET_US, NULL, &m);
	CHECK(ret == 0 && m.failed[BUSY] == n && m.retries == 2 * n,
	      "to host: ret %d: %s", ret, counts(&m));
	CHECK(count_at(p, len, 0) == (long)n, "pages left the device");
	/* The CPU still gets every page back, with the right bytes. */
	bad = check(p, len, 0x8080);
	CHECK(bad < 0, "data corrupted at word %ld", bad);
	CHECK(count_at(p, len, SVMSHIM_LOC_HOST) == (long)n,
	      "not all back on the host");
	CHECK(kshim_param_get("inject_hits") == (long)(3 * n), "hits %ld",
	      kshim_param_get("inject_hits"));
	/* And writes after a move to the device that partly fails. */
	CHECK(inject(BUSY, 30, 17, 0) == 0, "set inject_*");
	CHECK(kshim_migrate(fd, p, len, 0, 0, NULL, &m) == 0 && m.moved > 0 &&
	      m.failed[BUSY] > 0, "30%%: %s", counts(&m));
	fill(p, len, 0x9090);
	bad = check(p, len, 0x9090);
	CHECK(bad < 0, "data corrupted at word %ld", bad);
	munmap(p, len);
	return 0;
}

/* RETRY calls racing with CPU readers and a writer, 30% BUSY injected. */
static void *inject_migrator(void *arg)
{
	struct fault_arg *a = arg;
	size_t n = a->len / KPAGE;
	int round;

	for (round = 0; round < 60; round++) {
		int dest = round % 3 == 2 ? SVMSHIM_LOC_HOST : round % 3;
		struct drm_svmshim_migrate m;
		uint64_t sum;

		if (migrate_retry(a->p, a->len, dest, 4, 20000, NULL, &m)) {
			a->bad++;
			continue;
		}
		sum = m.moved + m.already + m.failed[PINNED] + m.failed[BUSY] +
		      m.failed[NOMEM] + m.failed[UNSUP];
		if (sum != n || m.failed[PINNED] || m.failed[UNSUP])
			a->bad++;
		a->rounds++;
	}
	*a->stop = 1;
	return NULL;
}

static int t_inject_race(void)
{
	int ret;

	CHECK(inject(BUSY, 30, 21, 0) == 0, "set inject_*");
	ret = race("inject_race", inject_migrator);
	if (!ret)
		printf("INFO: inject_race: %ld failures injected\n", kshim_param_get("inject_hits"));
	return ret;
}

/* A fatal signal ends a long retry budget within a pause. */
static int t_inject_kill(void)
{
	size_t len = 64 * KPAGE;
	char *p = map_anon(len);
	int status, pfd[2];
	double t0, dt;
	char c;
	pid_t pid;

	CHECK(p && !pipe(pfd), "mmap/pipe");
	fill(p, len, 0xabab);
	CHECK(inject(BUSY, 100, 23, 0) == 0, "set inject_*");
	pid = fork();
	CHECK(pid >= 0, "fork");
	if (pid == 0) {
		struct drm_svmshim_migrate m;

		close(pfd[0]);
		if (write(pfd[1], "x", 1) != 1)
			_exit(3);
		/*
		 * 100% BUSY, the longest budget, rounds and pauses (1 s):
		 * only the signal ends it early.
		 */
		kshim_migrate_init(&m, p, len, 0, SVMSHIM_MIGRATE_RETRY |
				   SVMSHIM_MIGRATE_BACKOFF);
		m.retry_rounds = SVMSHIM_MAX_RETRY_ROUNDS;
		m.retry_budget_us = SVMSHIM_MAX_RETRY_BUDGET_US;
		m.backoff_us = SVMSHIM_MAX_BACKOFF_US;
		m.backoff_max_us = SVMSHIM_MAX_BACKOFF_US;
		ioctl(fd, DRM_IOCTL_SVMSHIM_MIGRATE, &m);
		_exit(4);
	}
	close(pfd[1]);
	CHECK(read(pfd[0], &c, 1) == 1, "child did not start");
	usleep(200000);
	t0 = now_sec();
	kill(pid, SIGKILL);
	CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
	dt = now_sec() - t0;
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
	      "child status 0x%x (ended before the signal?)", status);
	/* within its first 1 s pause: a fatal signal ends it */
	CHECK(dt < 0.5, "child took %.3f s to die", dt);
	CHECK(check(p, len, 0xabab) < 0, "data corrupted");
	printf("INFO: inject_kill: SIGKILL during a 10 s retry budget: gone in %.1f ms\n",
	       dt * 1e3);
	munmap(p, len);
	return 0;
}

struct test {
	const char *name;
	int (*fn)(void);
};


/* ---- device views (uAPI v2) --------------------------------------------- */

/*
 * Patterns by offset, not address, so what one side (heap or view) writes
 * the other can check: word i holds i ^ seed.
 */
static void vfill(void *p, size_t len, uint64_t seed)
{
	volatile uint64_t *w = p;
	size_t i;

	for (i = 0; i < len / 8; i++)
		w[i] = i ^ seed;
}

static long vcheck(const void *p, size_t len, uint64_t seed)
{
	const volatile uint64_t *w = p;
	size_t i;

	for (i = 0; i < len / 8; i++)
		if (w[i] != (i ^ seed))
			return (long)i;
	return -1;
}

static sigjmp_buf bus_jmp;

static void on_sigbus(int sig)
{
	siglongjmp(bus_jmp, sig);
}

#define EVCAP SVMSHIM_EVENT_RING

struct evsum {
	long n[8];			/* events by type */
	long pages[8];			/* pages by type */
	long by_class[8][8];		/* [type][class] events */
	long fail_pages[SVMSHIM_FAIL_COUNT];
	long pf_pages;			/* MIGRATE pages of the prefetcher */
	/*
	 * EVICT @prefetched: [0] MIGRATE's evictions, [1] BY_FAULT's, [2]
	 * another file's (OTHER_FILE)
	 */
	long pf_evicted[3];
	long other_pages;		/* EVICT @pages with OTHER_FILE */
	long pf_other;			/* other events with @prefetched set */
};

/* Drain file @f's event ring into a summary. */
static int ev_sum_fd(int f, struct evsum *e)
{
	static struct drm_svmshim_event ev[EVCAP];
	uint64_t dropped;
	long n, i;

	memset(e, 0, sizeof(*e));
	do {
		n = kshim_events(f, ev, EVCAP, &dropped);
		if (n < 0 || dropped)
			return -1;
		for (i = 0; i < n; i++) {
			unsigned int t = ev[i].type < 8 ? ev[i].type : 0;

			e->n[t]++;
			e->pages[t] += ev[i].pages;
			if (t == SVMSHIM_EVENT_MIGRATE &&
			    (ev[i].flags & SVMSHIM_EVENT_PREFETCH))
				e->pf_pages += ev[i].pages;
			if (t == SVMSHIM_EVENT_EVICT &&
			    (ev[i].flags & SVMSHIM_EVENT_OTHER_FILE)) {
				e->pf_evicted[2] += ev[i].prefetched;
				e->other_pages += ev[i].pages;
			} else if (t == SVMSHIM_EVENT_EVICT) {
				e->pf_evicted[!!(ev[i].flags &
						 SVMSHIM_EVENT_BY_FAULT)] +=
					ev[i].prefetched;
			} else if (ev[i].prefetched) {
				e->pf_other++;
			}
			e->by_class[t][ev[i].class < 8 ? ev[i].class : 7]++;
			if (t == SVMSHIM_EVENT_FAILURE &&
			    ev[i].class < SVMSHIM_FAIL_COUNT)
				e->fail_pages[ev[i].class] += ev[i].pages;
		}
	} while (n == EVCAP);
	return 0;
}

static int ev_sum(struct evsum *e)
{
	return ev_sum_fd(fd, e);
}

/* SET_ATTR with the fault retry pauses given (or not: flags 0). */
static int attr_backoff(void *p, size_t len, unsigned int flags,
			unsigned int first_us, unsigned int max_us)
{
	struct drm_svmshim_attr a;

	kshim_attr_init(&a, p, len, flags, SVMSHIM_LOC_NONE);
	a.fault_retry_rounds = 2;
	a.fault_budget_us = 10000;
	a.fault_backoff_us = first_us;
	a.fault_backoff_max_us = max_us;
	return ioctl(fd, DRM_IOCTL_SVMSHIM_SET_ATTR, &a) ? -errno : 0;
}

/* SET_ATTR with granularity @g and the density prefetcher (@flags). */
static int attr_density_fd(int f, void *p, size_t len, unsigned int flags,
			   unsigned int g, unsigned int thr, unsigned int max)
{
	struct drm_svmshim_attr a;

	kshim_attr_init(&a, p, len, flags, SVMSHIM_LOC_NONE);
	a.granularity = g;
	a.prefetch_threshold = thr;
	a.prefetch_max = max;
	return ioctl(f, DRM_IOCTL_SVMSHIM_SET_ATTR, &a) ? -errno : 0;
}

static int attr_density(void *p, size_t len, unsigned int flags,
			unsigned int g, unsigned int thr, unsigned int max)
{
	return attr_density_fd(fd, p, len, flags, g, thr, max);
}

/* Bad mmap offsets, one view per device, no split, no move. */
static int t_view_args(void)
{
	size_t len = 1 * MiB;
	char *heap = map_anon(len), *v, *v2;
	struct drm_svmshim_get_info info;
	void *r;

	CHECK(heap && kshim_info(fd, 0, &info) == 0, "setup");
	/* Device field 0, a device past the last, a private mapping. */
	r = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		 (off_t)(uintptr_t)heap);
	CHECK(r == MAP_FAILED && errno == EINVAL, "no device: %p", r);
	r = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		 (off_t)SVMSHIM_VIEW_OFFSET(info.device_count, (uintptr_t)heap));
	CHECK(r == MAP_FAILED && errno == EINVAL, "bad device: %p", r);
	r = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd,
		 (off_t)SVMSHIM_VIEW_OFFSET(0, (uintptr_t)heap));
	CHECK(r == MAP_FAILED && errno == EINVAL, "private: %p", r);

	v = kshim_view(fd, 0, heap, len);
	CHECK(v, "view: %s", strerror(errno));
	CHECK(!kshim_view(fd, 0, heap, len) && errno == EBUSY,
	      "second view of device 0: %s", strerror(errno));
	v2 = kshim_view(fd, 1, heap, len);
	CHECK(v2, "view of device 1: %s", strerror(errno));
	CHECK(munmap(v + KPAGE, KPAGE) && errno == EINVAL, "partial munmap");
	r = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(r != MAP_FAILED, "mmap");
	CHECK(mremap(v, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, r) == MAP_FAILED,
	      "mremap of a view worked");
	munmap(r, len);
	CHECK(munmap(v2, len) == 0, "munmap view 1");
	CHECK(munmap(v, len) == 0, "munmap view 0: %s", strerror(errno));
	v = kshim_view(fd, 0, heap, len);
	CHECK(v, "view again after munmap: %s", strerror(errno));
	munmap(v, len);

	/* SET_ATTR argument checks. */
	CHECK(kshim_attr(fd, heap, len, 0x80, SVMSHIM_LOC_NONE, 0, 0) == -EINVAL,
	      "bad flag");
	CHECK(kshim_attr(fd, heap, len, 0, 5000, 0, 0) == -EINVAL, "bad preferred");
	CHECK(kshim_attr(fd, heap, len, 0, SVMSHIM_LOC_NONE,
			 1u << info.device_count, 0) == -EINVAL, "bad accessed_by");
	CHECK(kshim_attr(fd, heap, len, 0, SVMSHIM_LOC_NONE, 0, 3 * KPAGE) == -EINVAL,
	      "granularity not a power of two");
	CHECK(kshim_attr(fd, heap, len, 0, SVMSHIM_LOC_NONE, 0, 4 * MiB) == -EINVAL,
	      "granularity too big");
	CHECK(kshim_attr(fd, heap + 1, len, 0, SVMSHIM_LOC_NONE, 0, 0) == -EINVAL,
	      "misaligned");
	CHECK(kshim_attr(fd, heap, len, 0, SVMSHIM_LOC_HOST, 3, 64 * 1024) == 0,
	      "good attributes");
	CHECK(attr_backoff(heap, len, 0, 10, 20) == -EINVAL,
	      "fault backoff without its flag");
	CHECK(attr_backoff(heap, len, SVMSHIM_ATTR_FAULT_BACKOFF,
			   SVMSHIM_MAX_BACKOFF_US + 1, 20) == -EINVAL,
	      "fault backoff above the maximum");
	CHECK(attr_backoff(heap, len, SVMSHIM_ATTR_FAULT_BACKOFF, 0, 0) == 0,
	      "fault backoff 0 (no pause)");
	/* The density prefetcher's fields (version 4). */
	CHECK(attr_density(heap, len, 0, 0, 51, 0) == -EINVAL,
	      "prefetch threshold without its flag");
	CHECK(attr_density(heap, len, 0, 0, 0, 2 * MiB) == -EINVAL,
	      "prefetch maximum without its flag");
	CHECK(attr_density(heap, len, SVMSHIM_ATTR_PREFETCH_DENSITY, 0, 0,
			   2 * MiB) == -EINVAL, "prefetch threshold 0");
	CHECK(attr_density(heap, len, SVMSHIM_ATTR_PREFETCH_DENSITY, 0, 101,
			   2 * MiB) == -EINVAL, "prefetch threshold 101");
	CHECK(attr_density(heap, len, SVMSHIM_ATTR_PREFETCH_DENSITY, 0, 51,
			   3 * MiB) == -EINVAL, "prefetch maximum not a power of two");
	CHECK(attr_density(heap, len, SVMSHIM_ATTR_PREFETCH_DENSITY, 0, 51,
			   KPAGE) == -EINVAL, "prefetch maximum one page");
	CHECK(attr_density(heap, len, SVMSHIM_ATTR_PREFETCH_DENSITY, 0, 51,
			   0) == -EINVAL, "prefetch maximum 0");
	CHECK(attr_density(heap, len, SVMSHIM_ATTR_PREFETCH_DENSITY, 0, 51,
			   SVMSHIM_MAX_PREFETCH * 2u) == -EINVAL,
	      "prefetch maximum above the bound");
	CHECK(attr_density(heap, len, SVMSHIM_ATTR_PREFETCH_DENSITY, KPAGE, 100,
			   SVMSHIM_MAX_PREFETCH) == 0, "good prefetch attributes");
	{
		/*
		 * A version 3 caller: the struct without the words version 4
		 * added at its end. DRM zero-fills them: accepted, and a flag
		 * that needs them is refused.
		 */
		const size_t v3 = offsetof(struct drm_svmshim_attr, thrash_window_us);
		unsigned long cmd = _IOC(_IOC_WRITE, DRM_IOCTL_BASE,
					 DRM_COMMAND_BASE + DRM_SVMSHIM_SET_ATTR, v3);
		struct drm_svmshim_attr a3;

		CHECK(v3 == 56, "version 3 size %zu", v3);
		kshim_attr_init(&a3, heap, len, 0, SVMSHIM_LOC_NONE);
		a3.granularity = 64 * 1024;
		CHECK(ioctl(fd, cmd, &a3) == 0, "version 3 SET_ATTR: %s", strerror(errno));
		a3.flags = SVMSHIM_ATTR_THRASH;
		CHECK(ioctl(fd, cmd, &a3) == -1 && errno == EINVAL,
		      "version 3 size with THRASH accepted");
	}
	CHECK(kshim_events(fd, NULL, 0, NULL) == -EINVAL, "events without buffer");
	munmap(heap, len);
	return 0;
}

/* Device faults move granules; CPU faults bring pages home; events count. */
static int t_view_migrate(void)
{
	size_t len = 4 * MiB, n = len / KPAGE, g = 64 * 1024;
	char *heap = map_anon(len), *v;
	struct evsum e;
	long bad;

	CHECK(heap, "mmap");
	vfill(heap, len, 0x51);
	v = kshim_view(fd, 0, heap, len);
	CHECK(v, "view: %s", strerror(errno));
	CHECK(kshim_attr(fd, heap, len, 0, SVMSHIM_LOC_NONE, 0, g) == 0, "attr");
	ev_sum(&e);

	/* The device reads everything through its view. */
	bad = vcheck(v, len, 0x51);
	CHECK(bad < 0, "device read wrong data at word %ld", bad);
	CHECK(count_at(heap, len, 0) == (long)n, "on device 0: %ld of %zu",
	      count_at(heap, len, 0), n);
	CHECK(ev_sum(&e) == 0, "events");
	/*
	 * One fault per granule: the fault moves the granule and maps all of
	 * it. A page that was busy (another CPU's LRU cache) faults again
	 * later on its own: a few more are fine, one per page is not.
	 */
	CHECK(e.n[SVMSHIM_EVENT_DEVICE_FAULT] >= (long)(len / g) &&
	      e.n[SVMSHIM_EVENT_DEVICE_FAULT] <= (long)(len / g + len / g / 4),
	      "device faults %ld, want about one per granule (%zu)",
	      e.n[SVMSHIM_EVENT_DEVICE_FAULT], len / g);
	CHECK(e.by_class[SVMSHIM_EVENT_DEVICE_FAULT][SVMSHIM_FAULT_MIGRATED] >=
	      (long)(len / g), "migrating faults %ld",
	      e.by_class[SVMSHIM_EVENT_DEVICE_FAULT][SVMSHIM_FAULT_MIGRATED]);
	if (e.n[SVMSHIM_EVENT_DEVICE_FAULT] > (long)(len / g))
		printf("INFO: view_migrate: %ld device faults for %zu granules (busy pages faulted again)\n",
		       e.n[SVMSHIM_EVENT_DEVICE_FAULT], len / g);
	CHECK(e.pages[SVMSHIM_EVENT_MIGRATE] == (long)n, "migrated pages %ld",
	      e.pages[SVMSHIM_EVENT_MIGRATE]);

	/* The device writes; the CPU reads it back (CPU faults). */
	vfill(v, len, 0x52);
	bad = vcheck(heap, len, 0x52);
	CHECK(bad < 0, "host read wrong data at word %ld", bad);
	CHECK(count_at(heap, len, SVMSHIM_LOC_HOST) == (long)n, "not home");
	CHECK(ev_sum(&e) == 0, "events");
	CHECK(e.n[SVMSHIM_EVENT_CPU_FAULT] == (long)n, "cpu faults %ld",
	      e.n[SVMSHIM_EVENT_CPU_FAULT]);
	CHECK(e.n[SVMSHIM_EVENT_DEVICE_FAULT] == 0, "device faults %ld",
	      e.n[SVMSHIM_EVENT_DEVICE_FAULT]);
	munmap(v, len);
	munmap(heap, len);
	return 0;
}

/*
 * The density prefetcher (SET_ATTR PREFETCH_DENSITY): one thread reading
 * a buffer through the view in order takes a few faults per doubling of
 * what it read, not one per page, and every page arrives once, as a
 * fault's or the prefetcher's; a lone touch per 2 MiB moves its page
 * alone; without the flag (a version 3 caller) faults move granules and
 * nothing more.
 */
static int t_view_prefetch(void)
{
	size_t len = 8 * MiB, n = len / KPAGE, i, stride = 2 * MiB / KPAGE;
	char *heap = map_anon(len), *v;
	long faults, bad;
	struct evsum e;

	CHECK(heap, "mmap");
	madvise(heap, len, MADV_NOHUGEPAGE);
	vfill(heap, len, 0x61);
	v = kshim_view(fd, 0, heap, len);
	CHECK(v, "view: %s", strerror(errno));
	CHECK(attr_density(heap, len, SVMSHIM_ATTR_PREFETCH_DENSITY, KPAGE, 51,
			   64 * MiB) == 0, "attr: %s", strerror(errno));
	ev_sum(&e);

	/* A stream. */
	bad = vcheck(v, len, 0x61);
	CHECK(bad < 0, "device read wrong data at word %ld", bad);
	CHECK(ev_sum(&e) == 0, "events");
	faults = e.by_class[SVMSHIM_EVENT_DEVICE_FAULT][SVMSHIM_FAULT_MIGRATED];
	CHECK(count_at(heap, len, 0) == (long)n, "on device 0: %ld of %zu",
	      count_at(heap, len, 0), n);
	CHECK(e.pages[SVMSHIM_EVENT_MIGRATE] == (long)n, "moved %ld of %zu",
	      e.pages[SVMSHIM_EVENT_MIGRATE], n);
	CHECK(faults + e.pf_pages == (long)n,
	      "%ld migrating faults + %ld prefetched != %zu pages", faults,
	      e.pf_pages, n);
	CHECK(faults <= (long)(n / 16), "%ld migrating faults for %zu pages",
	      faults, n);
	CHECK(e.by_class[SVMSHIM_EVENT_DEVICE_FAULT][SVMSHIM_FAULT_IN_PLACE] == 0,
	      "%ld faults served in place",
	      e.by_class[SVMSHIM_EVENT_DEVICE_FAULT][SVMSHIM_FAULT_IN_PLACE]);
	printf("INFO: view_prefetch: stream of %zu pages: %ld device faults (%ld moving), %ld prefetched\n",
	       n, e.n[SVMSHIM_EVENT_DEVICE_FAULT], faults, e.pf_pages);
	/* Home again by CPU faults, every byte right. */
	bad = vcheck(heap, len, 0x61);
	CHECK(bad < 0, "host read wrong data at word %ld", bad);
	CHECK(count_at(heap, len, SVMSHIM_LOC_HOST) == (long)n, "not home");
	ev_sum(&e);

	/* One touch per 2 MiB: one page each, nothing along. */
	for (i = 0; i < n; i += stride) {
		volatile uint64_t *w = (volatile uint64_t *)(v + i * KPAGE);

		CHECK(*w == ((i * KPAGE / 8) ^ 0x61), "sparse read of page %zu", i);
	}
	CHECK(ev_sum(&e) == 0, "events");
	CHECK(e.by_class[SVMSHIM_EVENT_DEVICE_FAULT][SVMSHIM_FAULT_MIGRATED] ==
	      (long)(n / stride), "sparse: %ld migrating faults for %zu touches",
	      e.by_class[SVMSHIM_EVENT_DEVICE_FAULT][SVMSHIM_FAULT_MIGRATED],
	      n / stride);
	CHECK(e.pf_pages == 0, "sparse: %ld pages prefetched", e.pf_pages);
	CHECK(count_at(heap, len, 0) == (long)(n / stride),
	      "sparse: %ld pages on device 0 for %zu touches",
	      count_at(heap, len, 0), n / stride);
	bad = vcheck(heap, len, 0x61);
	CHECK(bad < 0, "host read wrong data at word %ld", bad);
	ev_sum(&e);

	/* Without the flag: 64 KiB granules and nothing more. */
	CHECK(attr_density(heap, len, 0, 64 * 1024, 0, 0) == 0, "attr v3");
	bad = vcheck(v, len, 0x61);
	CHECK(bad < 0, "device read wrong data at word %ld", bad);
	CHECK(ev_sum(&e) == 0, "events");
	CHECK(e.pf_pages == 0, "granules: %ld pages prefetched", e.pf_pages);
	CHECK(e.by_class[SVMSHIM_EVENT_DEVICE_FAULT][SVMSHIM_FAULT_MIGRATED] >=
	      (long)(len / (64 * 1024)),
	      "granules: %ld migrating faults for %zu granules",
	      e.by_class[SVMSHIM_EVENT_DEVICE_FAULT][SVMSHIM_FAULT_MIGRATED],
	      len / (64 * 1024));
	munmap(v, len);
	munmap(heap, len);
	return 0;
}

/*
 * For the density tests that count per 2 MiB piece: len bytes of 2 MiB
 * aligned heap (from *raw, len + 2 MiB mapped) filled with `fill`, its
 * view on device 0 (*v), and the density prefetcher on over it from 4 KiB
 * (threshold 51, regions up to 8 MiB). Returns 0, or 1 with `why` set.
 */
static int density_heap(size_t len, uint64_t fill, char **raw, char **heap, char **v)
{
	size_t piece = 2 * MiB;

	*raw = map_anon(len + piece);
	CHECK(*raw, "mmap");
	*heap = (char *)(((uintptr_t)*raw + piece - 1) & ~(uintptr_t)(piece - 1));
	madvise(*heap, len, MADV_NOHUGEPAGE);
	vfill(*heap, len, fill);
	*v = kshim_view(fd, 0, *heap, len);
	CHECK(*v, "view: %s", strerror(errno));
	CHECK(attr_density(*heap, len, SVMSHIM_ATTR_PREFETCH_DENSITY, KPAGE, 51,
			   8 * MiB) == 0, "attr: %s", strerror(errno));
	return 0;
}

/*
 * The density counts behind regions larger than 2 MiB, checked by what
 * they decide. An 8 MiB aligned heap, pieces P0..P3 of 2 MiB: MIGRATE puts
 * P0-P2 on device 0, so a device read at the start of P3 finds 1537 of
 * 2048 pages there (75%) and the whole region comes: the rest of P3
 * (511 pages). Then P0 and P1 come home by CPU reads and P3 by MIGRATE:
 * the counts must follow (P2 alone is there), so the next read of P3 finds
 * 513 of 1024 (50.1%): nothing with the threshold at 51, the rest of P3
 * (510 pages) with it at 50.
 */
static int t_view_prefetch_counts(void)
{
	size_t piece = 2 * MiB, len = 4 * piece, np = piece / KPAGE;
	char *raw, *heap, *v;
	volatile uint64_t *d;
	struct evsum e;
	long bad;

	if (density_heap(len, 0x71, &raw, &heap, &v))
		return 1;
	CHECK(kshim_migrate(fd, heap, 3 * piece, 0, SVMSHIM_MIGRATE_DRAIN_LRU,
			    NULL, NULL) == 0, "MIGRATE");
	CHECK(count_at(heap, 3 * piece, 0) == (long)(3 * np), "P0-P2 on the device: %ld",
	      count_at(heap, 3 * piece, 0));
	ev_sum(&e);

	d = (volatile uint64_t *)(v + 3 * piece);
	CHECK(*d == ((3 * piece / 8) ^ 0x71), "read P3");
	CHECK(ev_sum(&e) == 0, "events");
	CHECK(e.pf_pages == (long)(np - 1),
	      "75%%: %ld pages prefetched, want %zu (faults: %ld migrated, %ld resident, %ld in place; %ld moved)",
	      e.pf_pages, np - 1,
	      e.by_class[SVMSHIM_EVENT_DEVICE_FAULT][SVMSHIM_FAULT_MIGRATED],
	      e.by_class[SVMSHIM_EVENT_DEVICE_FAULT][SVMSHIM_FAULT_RESIDENT],
	      e.by_class[SVMSHIM_EVENT_DEVICE_FAULT][SVMSHIM_FAULT_IN_PLACE],
	      e.pages[SVMSHIM_EVENT_MIGRATE]);
	CHECK(count_at(heap, len, 0) == (long)(4 * np), "all on the device: %ld",
	      count_at(heap, len, 0));

	/* P0, P1 home by CPU faults, P3 by MIGRATE. */
	bad = vcheck(heap, 2 * piece, 0x71);
	CHECK(bad < 0, "host read wrong data at word %ld", bad);
	CHECK(kshim_migrate(fd, heap + 3 * piece, piece, SVMSHIM_LOC_HOST, 0, NULL,
			    NULL) == 0, "MIGRATE home");
	CHECK(count_at(heap, len, 0) == (long)np, "only P2 on the device: %ld",
	      count_at(heap, len, 0));
	ev_sum(&e);
	d = (volatile uint64_t *)(v + 3 * piece + KPAGE);
	CHECK(*d == (((3 * piece + KPAGE) / 8) ^ 0x71), "read P3 again");
	CHECK(ev_sum(&e) == 0, "events");
	CHECK(e.pf_pages == 0, "50.1%% under 51%%: %ld pages prefetched", e.pf_pages);
	CHECK(attr_density(heap, len, SVMSHIM_ATTR_PREFETCH_DENSITY, KPAGE, 50,
			   8 * MiB) == 0, "attr 50");
	d = (volatile uint64_t *)(v + 3 * piece + 2 * KPAGE);
	CHECK(*d == (((3 * piece + 2 * KPAGE) / 8) ^ 0x71), "read P3 a third time");
	CHECK(ev_sum(&e) == 0, "events");
	CHECK(e.pf_pages == (long)(np - 2), "50.2%% over 50%%: %ld pages prefetched, want %zu",
	      e.pf_pages, np - 2);
	bad = vcheck(heap, len, 0x71);
	CHECK(bad < 0, "host read wrong data at word %ld", bad);
	munmap(v, len);
	munmap(raw, len + piece);
	return 0;
}

/*
 * Above 2 MiB the density counts only pages that arrived on the device by
 * a move, in pieces whose latest move went there (as the runtime's
 * policy/fault.c): an 8 MiB aligned heap, filled on the host, is streamed
 * to device 0 through the view; the host takes back one page per 2 MiB by
 * CPU reads; a device read of P0's page then moves that page alone (the
 * other three pieces last moved toward the host, so the 8 MiB region has
 * 1 arrived page, and P0's 2 MiB region is all there already), not the
 * other three host pages. After everything came home, a second stream
 * takes exactly as many faults as the first: a stream's pieces behind it
 * arrived whole, so it grows by doubling as before; and so does a stream
 * over untouched memory (first touches count every page on the device).
 */
static int t_view_prefetch_arrived(void)
{
	size_t piece = 2 * MiB, len = 4 * piece, n = len / KPAGE, c;
	char *raw, *heap, *v;
	volatile uint64_t *d;
	long faults[2], bad;
	struct evsum e;
	int round;

	if (density_heap(len, 0x75, &raw, &heap, &v))
		return 1;
	ev_sum(&e);

	for (round = 0; round < 2; round++) {
		/* The stream. */
		bad = vcheck(v, len, 0x75);
		CHECK(bad < 0, "stream %d: device read wrong data at word %ld",
		      round, bad);
		CHECK(ev_sum(&e) == 0, "events");
		faults[round] =
			e.by_class[SVMSHIM_EVENT_DEVICE_FAULT][SVMSHIM_FAULT_MIGRATED];
		CHECK(count_at(heap, len, 0) == (long)n,
		      "stream %d: on device 0: %ld of %zu", round,
		      count_at(heap, len, 0), n);
		CHECK(faults[round] + e.pf_pages == (long)n,
		      "stream %d: %ld migrating faults + %ld prefetched != %zu pages",
		      round, faults[round], e.pf_pages, n);
		CHECK(faults[round] <= (long)(n / 16),
		      "stream %d: %ld migrating faults for %zu pages", round,
		      faults[round], n);
		if (round)
			break;

		/* The host takes back the middle page of each piece. */
		for (c = 0; c < 4; c++) {
			size_t off = c * piece + piece / 2;

			d = (volatile uint64_t *)(heap + off);
			CHECK(*d == ((off / 8) ^ 0x75), "host read of piece %zu", c);
		}
		CHECK(count_at(heap, len, 0) == (long)(n - 4),
		      "after the host reads: %ld on device 0, want %zu",
		      count_at(heap, len, 0), n - 4);
		CHECK(ev_sum(&e) == 0, "events");

		/* One device read of P0's page: that page alone. */
		d = (volatile uint64_t *)(v + piece / 2);
		CHECK(*d == ((piece / 2 / 8) ^ 0x75), "device read of P0's page");
		CHECK(ev_sum(&e) == 0, "events");
		CHECK(e.by_class[SVMSHIM_EVENT_DEVICE_FAULT][SVMSHIM_FAULT_MIGRATED] == 1,
		      "touch: %ld migrating faults",
		      e.by_class[SVMSHIM_EVENT_DEVICE_FAULT][SVMSHIM_FAULT_MIGRATED]);
		CHECK(e.pf_pages == 0, "touch: %ld pages prefetched (the host's)",
		      e.pf_pages);
		CHECK(e.pages[SVMSHIM_EVENT_MIGRATE] == 1, "touch: %ld pages moved",
		      e.pages[SVMSHIM_EVENT_MIGRATE]);
		for (c = 1; c < 4; c++)
			CHECK(count_at(heap + c * piece + piece / 2, KPAGE,
				       SVMSHIM_LOC_HOST) == 1,
			      "piece %zu's host page left the host", c);
		CHECK(count_at(heap, len, 0) == (long)(n - 3),
		      "after the touch: %ld on device 0, want %zu",
		      count_at(heap, len, 0), n - 3);

		/* All home by CPU faults. */
		bad = vcheck(heap, len, 0x75);
		CHECK(bad < 0, "host read wrong data at word %ld", bad);
		CHECK(count_at(heap, len, SVMSHIM_LOC_HOST) == (long)n, "not home");
		ev_sum(&e);
	}
	CHECK(faults[1] == faults[0], "second stream: %ld migrating faults, first %ld",
	      faults[1], faults[0]);

	/*
	 * First touches: nothing comes from anywhere, every page on the
	 * device counts at every size; a stream over untouched memory grows
	 * the same way.
	 */
	CHECK(madvise(heap, len, MADV_DONTNEED) == 0, "MADV_DONTNEED");
	CHECK(count_at(heap, len, SVMSHIM_LOC_NONE) == (long)n, "not dropped");
	ev_sum(&e);
	for (c = 0; c < n; c++) {
		d = (volatile uint64_t *)(v + c * KPAGE);
		CHECK(*d == 0, "untouched: page %zu not zero", c);
	}
	CHECK(ev_sum(&e) == 0, "events");
	faults[1] = e.by_class[SVMSHIM_EVENT_DEVICE_FAULT][SVMSHIM_FAULT_MIGRATED];
	CHECK(count_at(heap, len, 0) == (long)n, "untouched: on device 0: %ld of %zu",
	      count_at(heap, len, 0), n);
	CHECK(faults[1] == faults[0], "untouched stream: %ld migrating faults, first %ld",
	      faults[1], faults[0]);
	printf("INFO: view_prefetch_arrived: streams of %zu pages: %ld migrating faults (twice), %ld untouched\n",
	       n, faults[0], faults[1]);
	munmap(v, len);
	munmap(raw, len + piece);
	return 0;
}

/*
 * Device 0 small enough to fill in a test, and empty: its size in *@cap.
 * 0, or what the test returns (SKIP, FAIL).
 */
static int device0_empty_small(size_t *cap)
{
	struct drm_svmshim_get_info info;

	CHECK(kshim_info(fd, 0, &info) == 0, "info");
	*cap = info.memory_bytes;
	if (*cap > 128 * MiB)
		SKIPF("device memory %zu MiB: load with vram_mb<=128", *cap / MiB);
	CHECK(info.free_bytes == *cap, "device 0 not empty (%llu of %zu free)",
	      (unsigned long long)info.free_bytes, *cap);
	return 0;
}

/*
 * File @f's view @view of @heap (@len bytes, filled from @seed, with the
 * density prefetcher on) read through by the device: every page arrives
 * on device 0, mostly as the prefetcher's, nothing evicted. *@pf, *@faults:
 * the pages that came by the prefetcher and by faults; @e: @f's events.
 */
static int stream_in(int f, const char *view, void *heap, size_t len, uint64_t seed,
		     struct evsum *e, long *pf, long *faults)
{
	long bad = vcheck(view, len, seed), n = (long)(len / KPAGE);

	CHECK(bad < 0, "device read wrong data at word %ld", bad);
	CHECK(ev_sum_fd(f, e) == 0, "events");
	CHECK(count_at(heap, len, 0) == n, "on device 0: %ld of %ld",
	      count_at(heap, len, 0), n);
	*pf = e->pf_pages;
	*faults = e->pages[SVMSHIM_EVENT_MIGRATE] - *pf;
	CHECK(*pf > 0 && *faults >= 0 && *faults <= n / 16,
	      "stream: %ld prefetched, %ld by faults", *pf, *faults);
	CHECK(e->n[SVMSHIM_EVENT_EVICT] == 0, "the stream evicted");
	return 0;
}

/*
 * EVICT @prefetched: what the density prefetcher brought and an eviction
 * took before anything else moved it. Heap [A | B] with one view: A
 * (half the device) is streamed through the view with the prefetcher on;
 * then its first quarter Q1 comes home by CPU reads and its second Q2 goes
 * home and back by MIGRATE (moved for other reasons: never counted); then
 * B (the device's size, 2 MiB granules, no prefetch) is moved in, three
 * quarters by MIGRATE and the rest by device faults, which evicts all of
 * A that is left, oldest first: Q3 by MIGRATE's evictions, Q4 and Q2 by
 * the faults'. Counted: every prefetched page of Q3 and Q4, nothing of
 * Q2. The device read every page of A through the view; that use is not
 * seen, so it does not stop a page from counting.
 */
static int t_view_prefetch_evict(void)
{
	size_t cap, alen, blen, q, piece = 2 * MiB, off, i;
	char *raw, *heap, *b, *v;
	long faults, pf, left, evicted, bad, mig_pf = 0;
	struct drm_svmshim_migrate out;
	struct evsum e;
	int r = device0_empty_small(&cap);

	if (r)
		return r;
	alen = cap / 2;
	blen = cap;
	q = alen / 4;
	raw = map_anon(alen + blen + piece);
	CHECK(raw, "mmap");
	heap = (char *)(((uintptr_t)raw + piece - 1) & ~(uintptr_t)(piece - 1));
	b = heap + alen;
	madvise(heap, alen + blen, MADV_NOHUGEPAGE);
	vfill(heap, alen, 0x81);
	vfill(b, blen, 0x82);
	v = kshim_view(fd, 0, heap, alen + blen);
	CHECK(v, "view: %s", strerror(errno));
	CHECK(attr_density(heap, alen, SVMSHIM_ATTR_PREFETCH_DENSITY, KPAGE, 51,
			   64 * MiB) == 0, "attr A: %s", strerror(errno));
	CHECK(attr_density(b, blen, 0, piece, 0, 0) == 0, "attr B: %s",
	      strerror(errno));
	ev_sum(&e);

	/* The stream: A arrives, mostly as the prefetcher's. */
	r = stream_in(fd, v, heap, alen, 0x81, &e, &pf, &faults);
	if (r)
		return r;

	/* Q1 home by CPU reads, Q2 home and back by MIGRATE. */
	bad = vcheck(heap, q, 0x81);
	CHECK(bad < 0, "host read wrong data at word %ld", bad);
	CHECK(kshim_migrate(fd, heap + q, q, SVMSHIM_LOC_HOST,
			    SVMSHIM_MIGRATE_DRAIN_LRU, NULL, NULL) == 0,
	      "MIGRATE Q2 home");
	CHECK(kshim_migrate(fd, heap + q, q, 0, SVMSHIM_MIGRATE_DRAIN_LRU, NULL,
			    NULL) == 0, "MIGRATE Q2 back");
	CHECK(count_at(heap, q, SVMSHIM_LOC_HOST) == (long)(q / KPAGE) &&
	      count_at(heap + q, 3 * q, 0) == (long)(3 * q / KPAGE),
	      "Q1 home, Q2-Q4 on device 0: %ld, %ld",
	      count_at(heap, q, SVMSHIM_LOC_HOST), count_at(heap + q, 3 * q, 0));
	CHECK(ev_sum(&e) == 0, "events");
	CHECK(e.n[SVMSHIM_EVENT_EVICT] == 0, "Q1/Q2 evicted");

	/* B: three quarters by MIGRATE, the rest by device faults. */
	for (off = 0; off < blen / 4 * 3; off += 4 * MiB) {
		CHECK(kshim_migrate(fd, b + off, 4 * MiB, 0, 0, NULL, &out) == 0,
		      "MIGRATE B");
		CHECK(out.evicted_prefetched <= out.evicted,
		      "MIGRATE: %u of %llu evicted pages prefetched",
		      out.evicted_prefetched, (unsigned long long)out.evicted);
		mig_pf += out.evicted_prefetched;
	}
	for (i = off / 8; i < blen / 8; i += KPAGE / 8)
		CHECK(((volatile uint64_t *)(v + alen))[i] == (i ^ 0x82),
		      "device read of B wrong at word %zu", i);
	CHECK(ev_sum(&e) == 0, "events");
	CHECK(e.pf_other == 0, "%ld events other than EVICT with @prefetched",
	      e.pf_other);
	CHECK(e.pf_evicted[2] == 0 && e.other_pages == 0,
	      "one file, yet %ld pages (%ld prefetched) evicted by another",
	      e.other_pages, e.pf_evicted[2]);
	/* MIGRATE's results say what its EVICT events say (version 6) */
	CHECK(mig_pf == e.pf_evicted[0],
	      "MIGRATE results: %ld prefetched evicted, its EVICT events %ld",
	      mig_pf, e.pf_evicted[0]);
	left = count_at(heap + 2 * q, 2 * q, 0);
	evicted = e.pf_evicted[0] + e.pf_evicted[1];
	printf("INFO: view_prefetch_evict: %ld prefetched, %ld by faults; %ld pages evicted (%ld events), %ld of them prefetched (%ld by MIGRATE's evictions, %ld by faults'); %ld of Q3-Q4 left, %ld of Q2\n",
	       pf, faults, e.pages[SVMSHIM_EVENT_EVICT], e.n[SVMSHIM_EVENT_EVICT],
	       evicted, e.pf_evicted[0], e.pf_evicted[1], left,
	       count_at(heap + q, q, 0));
	CHECK(left >= 0 && left < (long)(2 * q / KPAGE),
	      "Q3-Q4: %ld pages still on device 0", left);
	CHECK(e.pf_evicted[0] > 0 && e.pf_evicted[1] > 0,
	      "prefetched and evicted: %ld by MIGRATE's evictions, %ld by faults'",
	      e.pf_evicted[0], e.pf_evicted[1]);
	CHECK(evicted <= pf && evicted <= e.pages[SVMSHIM_EVENT_EVICT],
	      "%ld prefetched evicted of %ld prefetched, %ld evicted", evicted,
	      pf, e.pages[SVMSHIM_EVENT_EVICT]);
	/* Q3-Q4's evicted pages, less at most the faults' own: no Q2. */
	CHECK(evicted <= (long)(2 * q / KPAGE) - left &&
	      evicted + faults >= (long)(2 * q / KPAGE) - left,
	      "%ld prefetched evicted, want %ld (up to %ld less)", evicted,
	      (long)(2 * q / KPAGE) - left, faults);

	bad = vcheck(heap, alen, 0x81);
	CHECK(bad < 0, "A wrong at word %ld", bad);
	bad = vcheck(b, blen, 0x82);
	CHECK(bad < 0, "B wrong at word %ld", bad);
	munmap(v, alen + blen);
	munmap(raw, alen + blen + piece);
	return 0;
}

/*
 * EVICT with OTHER_FILE (version 6): two open files on one device in one
 * process. File B streams its heap HB (half the device) through its view
 * with the prefetcher on; then file A MIGRATEs HA (the device's size) in,
 * which evicts B's pages (the oldest). B's ring then says so: its
 * OTHER_FILE events name every page of B that went home, and their
 * @prefetched counts B's prefetched pages among them (all of them but
 * the faults' own); A's own EVICT events and MIGRATE results count none
 * (A prefetched nothing), though their @pages include B's.
 */
static int t_view_prefetch_evict_other(void)
{
	size_t cap, alen, blen, n, piece = 2 * MiB, off;
	char *raw, *hb, *ha, *vb;
	long faults, pf, left, gone, bad, a_evicted = 0, a_pf = 0;
	struct drm_svmshim_migrate out;
	struct evsum e;
	int fdb, r = device0_empty_small(&cap);

	if (r)
		return r;
	blen = cap / 2;
	alen = cap;
	n = blen / KPAGE;
	fdb = kshim_open();
	CHECK(fdb >= 0, "second open: %s", strerror(errno));
	raw = map_anon(alen + blen + piece);
	CHECK(raw, "mmap");
	hb = (char *)(((uintptr_t)raw + piece - 1) & ~(uintptr_t)(piece - 1));
	ha = hb + blen;
	madvise(hb, alen + blen, MADV_NOHUGEPAGE);
	vfill(hb, blen, 0x91);
	vfill(ha, alen, 0x92);
	vb = kshim_view(fdb, 0, hb, blen);
	CHECK(vb, "view of B: %s", strerror(errno));
	CHECK(attr_density_fd(fdb, hb, blen, SVMSHIM_ATTR_PREFETCH_DENSITY,
			      KPAGE, 51, 64 * MiB) == 0, "attr B: %s",
	      strerror(errno));
	ev_sum(&e);
	ev_sum_fd(fdb, &e);

	/* B's stream: its pages arrive, mostly as its prefetcher's. */
	r = stream_in(fdb, vb, hb, blen, 0x91, &e, &pf, &faults);
	if (r)
		return r;

	/* A fills the device: B's pages go home. */
	for (off = 0; off < alen; off += 4 * MiB) {
		CHECK(kshim_migrate(fd, ha + off, 4 * MiB, 0, 0, NULL, &out) == 0,
		      "MIGRATE A");
		a_evicted += out.evicted;
		a_pf += out.evicted_prefetched;
	}
	left = count_at(hb, blen, 0);
	gone = (long)n - left;
	CHECK(ev_sum(&e) == 0, "A's events");
	printf("INFO: view_prefetch_evict_other: B: %ld prefetched, %ld by faults, %ld left on device 0; A: %ld pages evicted (%ld by its events), %ld prefetched\n",
	       pf, faults, left, a_evicted, e.pages[SVMSHIM_EVENT_EVICT], a_pf);
	CHECK(left >= 0 && gone > (long)n / 2,
	      "A's MIGRATEs evicted %ld of B's %zu pages", gone, n);
	CHECK(a_pf == 0 && e.pf_evicted[0] == 0 && e.pf_evicted[1] == 0,
	      "A prefetched nothing, yet its evictions count %ld (results), %ld, %ld (events)",
	      a_pf, e.pf_evicted[0], e.pf_evicted[1]);
	CHECK(e.pf_evicted[2] == 0 && e.other_pages == 0,
	      "A: %ld of its pages evicted by another file", e.other_pages);
	CHECK(e.pages[SVMSHIM_EVENT_EVICT] == a_evicted && a_evicted >= gone,
	      "A evicted %ld pages (events %ld), B lost %ld", a_evicted,
	      e.pages[SVMSHIM_EVENT_EVICT], gone);

	/* B is told: every page it lost, and its prefetched ones among them. */
	CHECK(ev_sum_fd(fdb, &e) == 0, "B's events");
	printf("INFO: view_prefetch_evict_other: B told of %ld pages evicted by another file, %ld of them prefetched\n",
	       e.other_pages, e.pf_evicted[2]);
	CHECK(e.other_pages == gone, "B told of %ld pages, it lost %ld",
	      e.other_pages, gone);
	CHECK(e.pf_evicted[2] <= pf && e.pf_evicted[2] <= gone &&
	      e.pf_evicted[2] + faults >= gone,
	      "B: %ld prefetched evicted, want %ld (up to %ld less)",
	      e.pf_evicted[2], gone, faults);
	CHECK(e.pf_evicted[0] == 0 && e.pf_evicted[1] == 0 &&
	      e.pages[SVMSHIM_EVENT_EVICT] == e.other_pages,
	      "B made no eviction, yet has EVICT events of its own (%ld pages)",
	      e.pages[SVMSHIM_EVENT_EVICT] - e.other_pages);

	bad = vcheck(hb, blen, 0x91);
	CHECK(bad < 0, "B wrong at word %ld", bad);
	bad = vcheck(ha, alen, 0x92);
	CHECK(bad < 0, "A wrong at word %ld", bad);
	munmap(vb, blen);
	close(fdb);
	munmap(raw, alen + blen + piece);
	return 0;
}

/* SET_ATTR with thrashing holds (@flags THRASH), 4 KiB granules. */
static int attr_thrash(void *p, size_t len, unsigned int flags,
		       unsigned int window_us, unsigned int threshold,
		       unsigned int hold_ms)
{
	struct drm_svmshim_attr a;

	kshim_attr_init(&a, p, len, flags, SVMSHIM_LOC_NONE);
	a.granularity = KPAGE;
	a.thrash_window_us = window_us;
	a.thrash_threshold = threshold;
	a.thrash_hold_ms = hold_ms;
	return ioctl(fd, DRM_IOCTL_SVMSHIM_SET_ATTR, &a) ? -errno : 0;
}

/* Pages moved by faults in @e: to the device, and home by CPU faults. */
static long fault_moves(const struct evsum *e)
{
	return e->pages[SVMSHIM_EVENT_MIGRATE] + e->pages[SVMSHIM_EVENT_CPU_FAULT];
}

/*
 * Thrashing holds (SET_ATTR THRASH): a page written in turn by the device
 * (through the view) and the CPU moves four times (three thrash events),
 * is put on hold, and from then on the device works on the host page in
 * place: one HELD fault, no more moves, every increment kept. When the
 * hold has run out, the next device fault moves it again (a hold event of
 * class 1 says the hold ended), and one round trip holds it again at once.
 * New attributes start afresh. Hostile values are rejected.
 */
static int t_view_thrash(void)
{
	size_t len = 16 * KPAGE;
	char *heap = map_anon(len), *v;
	volatile uint64_t *h, *d;
	uint64_t want = 0;
	struct evsum e;
	double t0;
	int i;

	CHECK(heap, "mmap");
	memset(heap, 0, len);
	v = kshim_view(fd, 0, heap, len);
	CHECK(v, "view: %s", strerror(errno));
	/* Argument rules first. */
	CHECK(attr_thrash(heap, len, 0, 1000, 0, 0) == -EINVAL, "window without flag");
	CHECK(attr_thrash(heap, len, SVMSHIM_ATTR_THRASH, 1000, 0, 300) == -EINVAL,
	      "threshold 0");
	CHECK(attr_thrash(heap, len, SVMSHIM_ATTR_THRASH, 1000, 16, 300) == -EINVAL,
	      "threshold 16");
	CHECK(attr_thrash(heap, len, SVMSHIM_ATTR_THRASH, 1000, 3, 0) == -EINVAL,
	      "hold 0");
	CHECK(attr_thrash(heap, len, SVMSHIM_ATTR_THRASH, 1000, 3,
			  SVMSHIM_MAX_THRASH_HOLD_MS + 1) == -EINVAL, "hold too long");
	CHECK(attr_thrash(heap, len, SVMSHIM_ATTR_THRASH,
			  SVMSHIM_MAX_THRASH_WINDOW_US + 1, 3, 300) == -EINVAL,
	      "window too long");
	CHECK(attr_thrash(heap, len, SVMSHIM_ATTR_THRASH, 1000000, 3, 300) == 0,
	      "attr: %s", strerror(errno));
	ev_sum(&e);

	h = (volatile uint64_t *)(heap + 5 * KPAGE);
	d = (volatile uint64_t *)(v + 5 * KPAGE);
	for (i = 0; i < 20; i++) {
		*d += 1;
		*h += 1;
		want += 2;
	}
	CHECK(*h == want, "host reads %llu, want %llu", (unsigned long long)*h,
	      (unsigned long long)want);
	CHECK(ev_sum(&e) == 0, "events");
	CHECK(fault_moves(&e) == 4, "%ld moves in 20 bounces (want 4)", fault_moves(&e));
	CHECK(e.by_class[SVMSHIM_EVENT_HOLD][0] == 1, "%ld holds",
	      e.by_class[SVMSHIM_EVENT_HOLD][0]);
	/* A read then a write, or one write fault: the view maps it then. */
	CHECK(e.by_class[SVMSHIM_EVENT_DEVICE_FAULT][SVMSHIM_FAULT_HELD] >= 1 &&
	      e.by_class[SVMSHIM_EVENT_DEVICE_FAULT][SVMSHIM_FAULT_HELD] <= 2,
	      "%ld held faults",
	      e.by_class[SVMSHIM_EVENT_DEVICE_FAULT][SVMSHIM_FAULT_HELD]);
	CHECK(count_at((void *)h, KPAGE, SVMSHIM_LOC_HOST) == 1, "not on the host");

	/*
	 * The hold runs out (300 ms). The view maps the page until its CPU
	 * mapping changes: an mprotect() round trip drops it (SET_ATTR would
	 * too, but new attributes start a new history).
	 */
	t0 = now_sec();
	while (now_sec() - t0 < 0.35)
		usleep(10000);
	CHECK(mprotect(heap, len, PROT_READ) == 0 &&
	      mprotect(heap, len, PROT_READ | PROT_WRITE) == 0, "mprotect");
	*d += 1;
	want++;
	CHECK(ev_sum(&e) == 0, "events");
	CHECK(e.by_class[SVMSHIM_EVENT_HOLD][1] == 1, "%ld hold ends",
	      e.by_class[SVMSHIM_EVENT_HOLD][1]);
	CHECK(e.by_class[SVMSHIM_EVENT_DEVICE_FAULT][SVMSHIM_FAULT_MIGRATED] == 1,
	      "after the hold: %ld migrating faults",
	      e.by_class[SVMSHIM_EVENT_DEVICE_FAULT][SVMSHIM_FAULT_MIGRATED]);
	CHECK(count_at((void *)h, KPAGE, 0) == 1, "not on device 0 after the hold");
	/* One round trip: held again at once. */
	*h += 1;
	*d += 1;
	want += 2;
	CHECK(*h == want, "host reads %llu, want %llu", (unsigned long long)*h,
	      (unsigned long long)want);
	CHECK(ev_sum(&e) == 0, "events");
	CHECK(e.by_class[SVMSHIM_EVENT_HOLD][0] == 1, "rehold: %ld holds",
	      e.by_class[SVMSHIM_EVENT_HOLD][0]);
	CHECK(e.by_class[SVMSHIM_EVENT_DEVICE_FAULT][SVMSHIM_FAULT_HELD] >= 1 &&
	      e.by_class[SVMSHIM_EVENT_DEVICE_FAULT][SVMSHIM_FAULT_HELD] <= 2,
	      "rehold: %ld held faults",
	      e.by_class[SVMSHIM_EVENT_DEVICE_FAULT][SVMSHIM_FAULT_HELD]);
	CHECK(fault_moves(&e) == 1, "rehold: %ld moves", fault_moves(&e));

	/* Without the flag nothing is held: every bounce moves. */
	CHECK(attr_thrash(heap, len, 0, 0, 0, 0) == 0, "attr off");
	ev_sum(&e);
	for (i = 0; i < 10; i++) {
		*d += 1;
		*h += 1;
		want += 2;
	}
	CHECK(*h == want, "host reads %llu, want %llu", (unsigned long long)*h,
	      (unsigned long long)want);
	CHECK(ev_sum(&e) == 0, "events");
	CHECK(fault_moves(&e) == 20, "no holds: %ld moves in 10 bounces",
	      fault_moves(&e));
	CHECK(e.n[SVMSHIM_EVENT_HOLD] == 0, "no holds: %ld hold events",
	      e.n[SVMSHIM_EVENT_HOLD]);
	munmap(v, len);
	munmap(heap, len);
	return 0;
}

/* Ping-pong of one word between the CPU and the device: never stale. */
static int t_view_pingpong(void)
{
	size_t len = 64 * 1024;
	char *heap = map_anon(len), *v;
	volatile uint64_t *h, *d;
	uint64_t i;

	CHECK(heap, "mmap");
	memset(heap, 0, len);
	v = kshim_view(fd, 1, heap, len);
	CHECK(v, "view: %s", strerror(errno));
	h = (volatile uint64_t *)(heap + 8 * KPAGE);
	d = (volatile uint64_t *)(v + 8 * KPAGE);
	for (i = 0; i < 2000; i++) {
		if (i % 2) {
			CHECK(*h == i, "host saw %llu, want %llu",
			      (unsigned long long)*h, (unsigned long long)i);
			*h = i + 1;
		} else {
			CHECK(*d == i, "device saw %llu, want %llu",
			      (unsigned long long)*d, (unsigned long long)i);
			*d = i + 1;
		}
		/* Every 7th round a MIGRATE in between, either way. */
		if (i % 7 == 0)
			kshim_migrate(fd, heap, len, i % 14 ? 0 : SVMSHIM_LOC_HOST,
				      0, NULL, NULL);
	}
	munmap(v, len);
	munmap(heap, len);
	return 0;
}

/* accessed-by and preferred host: served in place, nothing moves. */
static int t_view_in_place(void)
{
	size_t len = 1 * MiB, n = len / KPAGE, half = len / 2;
	char *heap = map_anon(len), *v;
	struct evsum e;
	long bad;

	CHECK(heap, "mmap");
	vfill(heap, len, 0x61);
	v = kshim_view(fd, 0, heap, len);
	CHECK(v, "view");
	CHECK(kshim_attr(fd, heap, half, 0, SVMSHIM_LOC_NONE, 1, 0) == 0, "attr");
	CHECK(kshim_attr(fd, heap + half, half, 0, SVMSHIM_LOC_HOST, 0, 0) == 0,
	      "attr");
	ev_sum(&e);
	bad = vcheck(v, len, 0x61);
	CHECK(bad < 0, "device read wrong data at word %ld", bad);
	vfill(v, len, 0x62);
	/* Same pages: the host sees the writes without any fault. */
	bad = vcheck(heap, len, 0x62);
	CHECK(bad < 0, "host read wrong data at word %ld", bad);
	CHECK(count_at(heap, len, SVMSHIM_LOC_HOST) == (long)n, "a page moved");
	CHECK(ev_sum(&e) == 0, "events");
	CHECK(e.n[SVMSHIM_EVENT_DEVICE_FAULT] == (long)n &&
	      e.by_class[SVMSHIM_EVENT_DEVICE_FAULT][SVMSHIM_FAULT_IN_PLACE] == (long)n,
	      "device faults %ld, in place %ld", e.n[SVMSHIM_EVENT_DEVICE_FAULT],
	      e.by_class[SVMSHIM_EVENT_DEVICE_FAULT][SVMSHIM_FAULT_IN_PLACE]);
	CHECK(e.n[SVMSHIM_EVENT_MIGRATE] == 0 && e.n[SVMSHIM_EVENT_CPU_FAULT] == 0,
	      "something moved");
	munmap(v, len);
	munmap(heap, len);
	return 0;
}

/* Pinned pages: the move fails PINNED, the device is served in place. */
static int t_view_pinned(void)
{
	size_t len = 1 * MiB, n = len / KPAGE;
	char *heap = map_anon(len), *v;
	struct evsum e;
	long bad;

	CHECK(heap, "mmap");
	vfill(heap, len, 0x71);
	CHECK(kshim_pin(fd, heap, len, 0) == 0, "pin");
	v = kshim_view(fd, 0, heap, len);
	CHECK(v, "view");
	ev_sum(&e);
	vfill(v, len, 0x72);
	bad = vcheck(heap, len, 0x72);
	CHECK(bad < 0, "host read wrong data at word %ld", bad);
	CHECK(count_at(heap, len, SVMSHIM_LOC_HOST) == (long)n, "a pinned page moved");
	CHECK(ev_sum(&e) == 0, "events");
	CHECK(e.fail_pages[SVMSHIM_FAIL_PINNED] == (long)n, "pinned failures %ld",
	      e.fail_pages[SVMSHIM_FAIL_PINNED]);
	CHECK(e.by_class[SVMSHIM_EVENT_DEVICE_FAULT][SVMSHIM_FAULT_IN_PLACE] == (long)n,
	      "in place %ld", e.by_class[SVMSHIM_EVENT_DEVICE_FAULT][SVMSHIM_FAULT_IN_PLACE]);
	/* Unpinned, a prefetch moves them; the view follows. */
	CHECK(kshim_pin(fd, heap, len, 1) == 0, "unpin");
	CHECK(kshim_migrate(fd, heap, len, 0, 0, NULL, NULL) == 0, "migrate");
	CHECK(count_at(heap, len, 0) == (long)n, "not on device 0 after unpin");
	bad = vcheck(v, len, 0x72);
	CHECK(bad < 0, "device read wrong data at word %ld", bad);
	munmap(v, len);
	munmap(heap, len);
	return 0;
}

/* Read-mostly: reads map the host page read-only; a write collapses. */
static int t_view_read_mostly(void)
{
	size_t len = 256 * 1024, n = len / KPAGE;
	char *heap = map_anon(len), *v0, *v1;
	struct evsum e;
	long bad;

	CHECK(heap, "mmap");
	vfill(heap, len, 0x81);
	v0 = kshim_view(fd, 0, heap, len);
	v1 = kshim_view(fd, 1, heap, len);
	CHECK(v0 && v1, "views");
	CHECK(kshim_attr(fd, heap, len, SVMSHIM_ATTR_READ_MOSTLY, SVMSHIM_LOC_NONE,
			 0, 0) == 0, "attr");
	ev_sum(&e);
	bad = vcheck(v0, len, 0x81);
	CHECK(bad < 0, "device 0 read wrong data at word %ld", bad);
	bad = vcheck(v1, len, 0x81);
	CHECK(bad < 0, "device 1 read wrong data at word %ld", bad);
	CHECK(count_at(heap, len, SVMSHIM_LOC_HOST) == (long)n, "reads moved pages");
	CHECK(ev_sum(&e) == 0, "events");
	CHECK(e.by_class[SVMSHIM_EVENT_DEVICE_FAULT][SVMSHIM_FAULT_READ_ONLY] ==
	      (long)(2 * n), "read-only faults %ld",
	      e.by_class[SVMSHIM_EVENT_DEVICE_FAULT][SVMSHIM_FAULT_READ_ONLY]);
	/* The host writes: both devices see it (same page). */
	vfill(heap, len, 0x82);
	bad = vcheck(v1, len, 0x82);
	CHECK(bad < 0, "device 1 missed a host write at word %ld", bad);
	/* Device 0 writes: the page goes to device 0, device 1 follows. */
	vfill(v0, len, 0x83);
	CHECK(count_at(heap, len, 0) == (long)n, "write did not collapse to device 0");
	bad = vcheck(v1, len, 0x83);
	CHECK(bad < 0, "device 1 read stale data at word %ld", bad);
	bad = vcheck(heap, len, 0x83);
	CHECK(bad < 0, "host read stale data at word %ld", bad);
	munmap(v0, len);
	munmap(v1, len);
	munmap(heap, len);
	return 0;
}

/* Never-written memory read by a device: zeros, once, no loop. */
static int t_view_zero(void)
{
	size_t len = 2 * MiB, i;
	char *heap = map_anon(len), *v;
	struct evsum e;

	CHECK(heap, "mmap");
	v = kshim_view(fd, 0, heap, len);
	CHECK(v, "view");
	ev_sum(&e);
	for (i = 0; i < len; i += 8)
		CHECK(*(volatile uint64_t *)(v + i) == 0, "not zero at %zu", i);
	CHECK(ev_sum(&e) == 0, "events");
	CHECK(e.n[SVMSHIM_EVENT_DEVICE_FAULT] == (long)(len / KPAGE),
	      "device faults %ld", e.n[SVMSHIM_EVENT_DEVICE_FAULT]);
	for (i = 0; i < len; i += 8)
		CHECK(heap[i] == 0, "host not zero at %zu", i);
	munmap(v, len);
	munmap(heap, len);
	return 0;
}

/*
 * Untouched memory served in place: a device read maps the shared zero
 * page (not anonymous, not page cache: the one kind of host page the
 * view's batch fill leaves to vmf_insert_pfn_prot()); host writes replace
 * it and the device sees them; device writes reach the host.
 */
static int t_view_zero_in_place(void)
{
	size_t len = 256 * 1024, n = len / KPAGE, i;
	char *heap = map_anon(len), *v;
	struct evsum e;
	long bad;

	CHECK(heap, "mmap");
	v = kshim_view(fd, 0, heap, len);
	CHECK(v, "view");
	CHECK(kshim_attr(fd, heap, len, 0, SVMSHIM_LOC_HOST, 0, 0) == 0, "attr");
	ev_sum(&e);
	for (i = 0; i < len; i += 8)
		CHECK(*(volatile uint64_t *)(v + i) == 0, "not zero at %zu", i);
	CHECK(ev_sum(&e) == 0, "events");
	CHECK(e.by_class[SVMSHIM_EVENT_DEVICE_FAULT][SVMSHIM_FAULT_IN_PLACE] ==
	      (long)n && e.n[SVMSHIM_EVENT_MIGRATE] == 0,
	      "in-place faults %ld of %zu, migrations %ld",
	      e.by_class[SVMSHIM_EVENT_DEVICE_FAULT][SVMSHIM_FAULT_IN_PLACE], n,
	      e.n[SVMSHIM_EVENT_MIGRATE]);
	vfill(heap, len, 0x71);		/* the zero page goes from every PTE */
	bad = vcheck(v, len, 0x71);
	CHECK(bad < 0, "device read stale data at word %ld", bad);
	vfill(v, len, 0x72);
	bad = vcheck(heap, len, 0x72);
	CHECK(bad < 0, "host read wrong data at word %ld", bad);
	CHECK(count_at(heap, len, SVMSHIM_LOC_HOST) == (long)n, "a page moved");
	munmap(v, len);
	munmap(heap, len);
	return 0;
}

/* fork() after the device wrote in place: the child keeps its copy. */
static int t_view_fork(void)
{
	size_t len = 256 * 1024;
	char *heap = map_anon(len), *v;
	int go[2], status;
	pid_t pid;
	long bad;

	CHECK(heap && pipe(go) == 0, "setup");
	v = kshim_view(fd, 0, heap, len);
	CHECK(v, "view");
	CHECK(kshim_attr(fd, heap, len, 0, SVMSHIM_LOC_NONE, 1, 0) == 0, "attr");
	vfill(v, len, 0x91);		/* in place, through the view */
	pid = fork();
	CHECK(pid >= 0, "fork");
	if (pid == 0) {
		char c;

		close(go[1]);
		if (read(go[0], &c, 1) != 1)
			_exit(9);
		_exit(vcheck(heap, len, 0x91) < 0 ?
		      0 : 10);
	}
	close(go[0]);
	vfill(v, len, 0x92);		/* after fork: must not reach the child */
	bad = vcheck(heap, len, 0x92);
	CHECK(write(go[1], "x", 1) == 1, "pipe");
	CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
	CHECK(bad < 0, "parent missed the device write at word %ld", bad);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "child saw the parent's device write (status 0x%x)", status);
	munmap(v, len);
	munmap(heap, len);
	return 0;
}

/* munmap of the mirrored memory: device pages return, the view SIGBUSes. */
static int t_view_munmap(void)
{
	size_t len = 4 * MiB;
	char *heap = map_anon(len), *v;
	uint64_t before = dev_free(0);
	struct sigaction sa;
	volatile int got = 0;
	int status;
	pid_t pid;

	CHECK(heap, "mmap");
	v = kshim_view(fd, 0, heap, len);
	CHECK(v, "view");
	vfill(v, len, 0xa1);
	CHECK(dev_free(0) + len <= before, "device memory not used");
	/* fork() does not pass the view on (VM_DONTCOPY). */
	pid = fork();
	CHECK(pid >= 0, "fork");
	if (pid == 0)
		_exit(mprotect(v, KPAGE, PROT_READ) == 0 ? 10 : 0);
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	      WEXITSTATUS(status) == 0, "the child inherited the view");

	CHECK(munmap(heap, len) == 0, "munmap heap");
	CHECK(dev_free(0) == before, "device pages not returned: %llu vs %llu",
	      (unsigned long long)dev_free(0), (unsigned long long)before);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigbus;
	sigaction(SIGBUS, &sa, NULL);
	if (sigsetjmp(bus_jmp, 1) == 0)
		(void)*(volatile char *)(v + KPAGE);
	else
		got = 1;
	CHECK(got, "the view of unmapped memory was readable");
	munmap(v, len);
	return 0;
}

/*
 * Coherence under fire: worker threads count in their own words through
 * the device view, a CPU thread counts in its own words through the heap,
 * a migrator moves the range around. Every increment must survive.
 */
struct vrace {
	char *heap, *view;
	size_t len;
	int slot;
	volatile int *stop;
	unsigned long bad, done;
};

#define VRACE_ITERS 3000
#define VRACE_SLOTS 4

static void *vrace_counter(void *arg)
{
	struct vrace *a = arg;
	char *base = a->view ? a->view : a->heap;
	size_t pages = a->len / KPAGE, i;
	unsigned long it;

	for (it = 0; it < VRACE_ITERS; it++) {
		for (i = 0; i < pages; i += 3) {
			volatile uint64_t *w = (volatile uint64_t *)
				(base + i * KPAGE + a->slot * 64);

			*w = *w + 1;
		}
	}
	a->done = it;
	return NULL;
}

static void *vrace_migrator(void *arg)
{
	struct vrace *a = arg;
	unsigned long round = 0;

	while (!*a->stop) {
		int dest = round % 3 == 2 ? SVMSHIM_LOC_HOST : (int)(round % 2);

		if (kshim_migrate(fd, a->heap, a->len, dest, 0, NULL, NULL))
			a->bad++;
		round++;
	}
	a->done = round;
	return NULL;
}

static int t_view_race(void)
{
	size_t len = 256 * 1024, pages = len / KPAGE, i;
	char *heap = map_anon(len), *v0, *v1;
	struct vrace c[VRACE_SLOTS], mig;
	pthread_t tc[VRACE_SLOTS], tm;
	volatile int stop = 0;
	int s;

	CHECK(heap, "mmap");
	memset(heap, 0, len);
	v0 = kshim_view(fd, 0, heap, len);
	v1 = kshim_view(fd, 1, heap, len);
	CHECK(v0 && v1, "views");
	CHECK(kshim_attr(fd, heap, len / 2, 0, SVMSHIM_LOC_NONE, 0, 16 * KPAGE) == 0 &&
	      kshim_attr(fd, heap + len / 2, len / 2, 0, SVMSHIM_LOC_NONE, 2, 0) == 0,
	      "attr");
	mig = (struct vrace){ .heap = heap, .len = len, .stop = &stop };
	pthread_create(&tm, NULL, vrace_migrator, &mig);
	for (s = 0; s < VRACE_SLOTS; s++) {
		c[s] = (struct vrace){ .heap = heap, .len = len, .slot = s,
				       .view = s == 0 ? NULL : s % 2 ? v0 : v1 };
		pthread_create(&tc[s], NULL, vrace_counter, &c[s]);
	}
	for (s = 0; s < VRACE_SLOTS; s++)
		pthread_join(tc[s], NULL);
	stop = 1;
	pthread_join(tm, NULL);
	CHECK(!mig.bad, "%lu MIGRATE calls failed", mig.bad);
	for (i = 0; i < pages; i += 3)
		for (s = 0; s < VRACE_SLOTS; s++) {
			uint64_t w = *(uint64_t *)(heap + i * KPAGE + s * 64);

			CHECK(w == VRACE_ITERS, "page %zu slot %d: %llu, want %d",
			      i, s, (unsigned long long)w, VRACE_ITERS);
		}
	printf("INFO: view_race: %lu migrations during %d x %zu increments\n",
	       mig.done, VRACE_SLOTS, VRACE_ITERS * ((pages + 2) / 3));
	munmap(v0, len);
	munmap(v1, len);
	munmap(heap, len);
	return 0;
}

/* The ring keeps SVMSHIM_EVENT_RING events and counts the rest. */
static int t_view_events(void)
{
	static struct drm_svmshim_event ev[EVCAP];
	size_t len = KPAGE;
	char *heap = map_anon(len);
	uint64_t dropped = 0;
	long n, i;

	CHECK(heap, "mmap");
	heap[0] = 1;
	kshim_events(fd, ev, EVCAP, NULL);
	for (i = 0; i < EVCAP + 500; i++)
		CHECK(kshim_migrate(fd, heap, len, i % 2 ? SVMSHIM_LOC_HOST : 0, 0,
				    NULL, NULL) == 0, "migrate");
	n = kshim_events(fd, ev, EVCAP, &dropped);
	CHECK(n == EVCAP && dropped == 500, "got %ld events, %llu dropped", n,
	      (unsigned long long)dropped);
	for (i = 0; i < n; i++)
		CHECK(ev[i].type == SVMSHIM_EVENT_MIGRATE && ev[i].pages == 1 &&
		      ev[i].addr == (uintptr_t)heap &&
		      ev[i].device == (i % 2 ? SVMSHIM_LOC_HOST : 0),
		      "event %ld: type %u pages %llu device %d", i, ev[i].type,
		      (unsigned long long)ev[i].pages, ev[i].device);
	n = kshim_events(fd, ev, EVCAP, &dropped);
	CHECK(n == 0 && dropped == 0, "ring not empty: %ld, %llu", n,
	      (unsigned long long)dropped);
	munmap(heap, len);
	return 0;
}

/* A process exits with views mapped and pages on devices: all returned. */
static int t_view_exit(void)
{
	size_t len = 8 * MiB;
	uint64_t before0 = dev_free(0), before1 = dev_free(1);
	int status;
	pid_t pid;

	pid = fork();
	CHECK(pid >= 0, "fork");
	if (pid == 0) {
		int cfd = kshim_open();
		char *heap = map_anon(len), *v0, *v1;

		if (cfd < 0 || !heap)
			_exit(9);
		v0 = kshim_view(cfd, 0, heap, len);
		v1 = kshim_view(cfd, 1, heap, len);
		if (!v0 || !v1)
			_exit(10);
		vfill(v0, len / 2, 1);
		vfill(v1 + len / 2, len / 2, 2);
		_exit(0);	/* no munmap, no close */
	}
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	      WEXITSTATUS(status) == 0, "child failed (0x%x)", status);
	CHECK(dev_free(0) == before0 && dev_free(1) == before1,
	      "device pages not returned");
	return 0;
}


/*
 * A device write to pages that moved to the device read-only (they were
 * copy-on-write shared with a child): the write completes (the page is
 * faulted home and COW broken), the child keeps its bytes.
 */
static int t_view_cow(void)
{
	size_t len = 256 * 1024;
	char *heap = map_anon(len), *v;
	int go[2], status;
	pid_t pid;
	long bad;

	CHECK(heap && pipe(go) == 0, "setup");
	vfill(heap, len, 0xc1);
	pid = fork();
	CHECK(pid >= 0, "fork");
	if (pid == 0) {
		char c;

		close(go[1]);
		if (read(go[0], &c, 1) != 1)
			_exit(9);
		_exit(vcheck(heap, len, 0xc1) < 0 ? 0 : 10);
	}
	close(go[0]);
	v = kshim_view(fd, 0, heap, len);
	CHECK(v, "view");
	CHECK(kshim_migrate(fd, heap, len, 0, 0, NULL, NULL) == 0, "migrate");
	vfill(v, len, 0xc2);		/* must not spin on read-only pages */
	bad = vcheck(heap, len, 0xc2);
	CHECK(write(go[1], "x", 1) == 1, "pipe");
	CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
	CHECK(bad < 0, "parent missed the device write at word %ld", bad);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "child saw the parent's device write (status 0x%x)", status);
	munmap(v, len);
	munmap(heap, len);
	return 0;
}

/* The same after the child is gone: pages left non-exclusive by fork. */
static int t_view_cow_exited(void)
{
	size_t len = 256 * 1024;
	char *heap = map_anon(len), *v;
	int status;
	pid_t pid;
	long bad;

	CHECK(heap, "mmap");
	vfill(heap, len, 0xc3);
	pid = fork();
	CHECK(pid >= 0, "fork");
	if (pid == 0)
		_exit(0);
	CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
	v = kshim_view(fd, 0, heap, len);
	CHECK(v, "view");
	CHECK(kshim_attr(fd, heap, len, 0, SVMSHIM_LOC_NONE, 0, 64 * 1024) == 0, "attr");
	CHECK(kshim_migrate(fd, heap, len / 2, 0, 0, NULL, NULL) == 0, "migrate");
	vfill(v, len, 0xc4);		/* must not spin */
	bad = vcheck(heap, len, 0xc4);
	CHECK(bad < 0, "device write lost at word %ld", bad);
	munmap(v, len);
	munmap(heap, len);
	return 0;
}

/* Two device threads write alternate pages after a fork (runtime's user.fork). */
struct cowt {
	char *v;
	size_t pages;
	int first;
};

static void *cow_writer(void *arg)
{
	struct cowt *a = arg;

	for (size_t i = a->first; i < a->pages; i += 2) {
		volatile uint64_t *w = (volatile uint64_t *)(a->v + i * KPAGE);

		for (size_t j = 0; j < KPAGE / 8; j++)
			w[j] += 1;
	}
	return NULL;
}

static int t_view_cow_threads(void)
{
	size_t len = 256 * 1024, pages = len / KPAGE;
	char *heap = map_anon(len), *v;
	struct cowt a, b;
	pthread_t ta, tb;
	int status;
	pid_t pid;

	CHECK(heap, "mmap");
	memset(heap, 0, len);
	v = kshim_view(fd, 0, heap, len);
	CHECK(v, "view");
	CHECK(kshim_attr(fd, heap, len, 0, SVMSHIM_LOC_NONE, 0, 64 * 1024) == 0, "attr");
	pid = fork();
	CHECK(pid >= 0, "fork");
	if (pid == 0) {
		memset(heap, 0xff, len);
		_exit(0);
	}
	CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
	CHECK(kshim_migrate(fd, heap, len / 2, 0, 0, NULL, NULL) == 0, "migrate");
	a = (struct cowt){ v, pages, 0 };
	b = (struct cowt){ v, pages, 1 };
	pthread_create(&ta, NULL, cow_writer, &a);
	pthread_create(&tb, NULL, cow_writer, &b);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	for (size_t i = 0; i < len; i += 8)
		CHECK(*(uint64_t *)(heap + i) == 1, "word %zu is %llu", i / 8,
		      (unsigned long long)*(uint64_t *)(heap + i));
	munmap(v, len);
	munmap(heap, len);
	return 0;
}

/* New attributes drop what the views map: the next touch follows them. */
static int t_view_attr_zap(void)
{
	size_t len = 256 * 1024, n = len / KPAGE;
	char *heap = map_anon(len), *v;
	long bad;

	CHECK(heap, "mmap");
	vfill(heap, len, 0xd1);
	v = kshim_view(fd, 0, heap, len);
	CHECK(v, "view");
	CHECK(kshim_attr(fd, heap, len, SVMSHIM_ATTR_READ_MOSTLY, SVMSHIM_LOC_NONE,
			 0, 0) == 0, "attr");
	bad = vcheck(v, len, 0xd1);
	CHECK(bad < 0, "device read wrong data at word %ld", bad);
	CHECK(count_at(heap, len, SVMSHIM_LOC_HOST) == (long)n, "read-mostly moved");
	CHECK(kshim_attr(fd, heap, len, 0, SVMSHIM_LOC_NONE, 0, 0) == 0, "attr");
	bad = vcheck(v, len, 0xd1);
	CHECK(bad < 0, "device read wrong data at word %ld", bad);
	CHECK(count_at(heap, len, 0) == (long)n, "after unset: %ld of %zu on device",
	      count_at(heap, len, 0), n);
	munmap(v, len);
	munmap(heap, len);
	return 0;
}

/* Eviction takes pages that prefer the device last. */
static int t_view_evict_pref(void)
{
	struct drm_svmshim_get_info info;
	size_t keep = 1 * MiB, len;
	char *pref, *other;
	long bad;

	CHECK(kshim_info(fd, 0, &info) == 0, "info");
	len = info.memory_bytes;	/* as much again as the device holds */
	pref = map_anon(keep);
	other = map_anon(len);
	CHECK(pref && other, "mmap");
	vfill(pref, keep, 0xe1);
	vfill(other, len, 0xe2);
	CHECK(kshim_attr(fd, pref, keep, 0, 0, 0, 0) == 0, "attr");
	CHECK(kshim_migrate(fd, pref, keep, 0, 0, NULL, NULL) == 0, "migrate");
	CHECK(count_at(pref, keep, 0) == (long)(keep / KPAGE), "preferred not moved");
	/* Fill the device with other pages, in pieces: eviction must spare pref. */
	for (size_t off = 0; off < len; off += 4 * MiB)
		CHECK(kshim_migrate(fd, other + off, 4 * MiB, 0, 0, NULL, NULL) == 0,
		      "migrate other");
	CHECK(count_at(pref, keep, 0) == (long)(keep / KPAGE),
	      "pages preferring device 0 were evicted: %ld of %zu left",
	      count_at(pref, keep, 0), keep / KPAGE);
	bad = vcheck(other, len, 0xe2);
	CHECK(bad < 0, "other data wrong at word %ld", bad);
	bad = vcheck(pref, keep, 0xe1);
	CHECK(bad < 0, "preferred data wrong at word %ld", bad);
	munmap(pref, keep);
	munmap(other, len);
	return 0;
}

/* ---- NUMA placement ------------------------------------------------------ */

#define K_MPOL_BIND 2

/* Node of every page of [p, p + len) (move_pages query); -1 if unknown. */
static int pages_on_node(char *p, size_t len, int node)
{
	size_t n = len / KPAGE, i;
	void **pages = calloc(n, sizeof(*pages));
	int *status = calloc(n, sizeof(*status));
	int ok = 1;

	if (!pages || !status)
		ok = -1;
	for (i = 0; ok > 0 && i < n; i++)
		pages[i] = p + i * KPAGE;
	if (ok > 0 && syscall(SYS_move_pages, 0, n, pages, NULL, status, 0))
		ok = -1;
	for (i = 0; ok > 0 && i < n; i++)
		if (status[i] != node)
			ok = 0;
	free(pages);
	free(status);
	return ok;
}

static void *touch_thread(void *arg)
{
	struct { char *p; size_t len; long bad; } *a = arg;
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(0, &set);
	sched_setaffinity(0, sizeof(set), &set);
	a->bad = check(a->p, a->len, 0x4e4e);
	return NULL;
}

/*
 * Pages coming home from a device land on the device's node (MIGRATE to
 * the host, and CPU faults taken on another node), unless the range has a
 * NUMA policy of its own.
 */
static int t_numa_home(void)
{
	size_t len = 2 * MiB;
	struct drm_svmshim_get_info info;
	struct { char *p; size_t len; long bad; } ta;
	unsigned long mask = 1;
	int dev, node, r;
	char *p;
	pthread_t t;

	if (access("/sys/devices/system/node/node1", F_OK))
		SKIPF("one NUMA node: nothing to place");
	for (dev = 0; dev < 8; dev++) {
		if (kshim_info(fd, dev, &info))
			SKIPF("no device on a node other than 0");
		if (info.numa_node > 0)
			break;
	}
	node = info.numa_node;
	p = map_anon(len);
	CHECK(p, "mmap");
	fill(p, len, 0x4e4e);

	CHECK(kshim_migrate(fd, p, len, dev, 0, NULL, NULL) == 0, "to device");
	CHECK(kshim_migrate(fd, p, len, SVMSHIM_LOC_HOST, 0, NULL, NULL) == 0,
	      "to host");
	r = pages_on_node(p, len, node);
	CHECK(r == 1, "after MIGRATE home: not all on node %d (%d)", node, r);

	/* CPU faults from a thread on CPU 0 (node 0). */
	CHECK(kshim_migrate(fd, p, len, dev, 0, NULL, NULL) == 0, "to device");
	ta.p = p;
	ta.len = len;
	pthread_create(&t, NULL, touch_thread, &ta);
	pthread_join(t, NULL);
	CHECK(ta.bad < 0, "wrong data at word %ld", ta.bad);
	r = pages_on_node(p, len, node);
	CHECK(r == 1, "after CPU faults: not all on node %d (%d)", node, r);

	/* An explicit policy wins: bound to node 0. */
	CHECK(syscall(SYS_mbind, p, len, K_MPOL_BIND, &mask, 2, 0) == 0,
	      "mbind: %s", strerror(errno));
	CHECK(kshim_migrate(fd, p, len, dev, 0, NULL, NULL) == 0, "to device");
	CHECK(kshim_migrate(fd, p, len, SVMSHIM_LOC_HOST, 0, NULL, NULL) == 0,
	      "to host");
	r = pages_on_node(p, len, 0);
	CHECK(r == 1, "mbind(node 0) not followed (%d)", r);
	CHECK(check(p, len, 0x4e4e) < 0, "data changed");
	munmap(p, len);
	return 0;
}

/* MIGRATE with RETRY and the caller's pauses (BACKOFF). */
static int migrate_backoff(void *p, size_t len, int dest, unsigned int rounds,
			   unsigned int budget_us, unsigned int first_us,
			   unsigned int max_us, struct drm_svmshim_migrate *m)
{
	kshim_migrate_init(m, p, len, dest,
			   SVMSHIM_MIGRATE_RETRY | SVMSHIM_MIGRATE_BACKOFF);
	m->retry_rounds = rounds;
	m->retry_budget_us = budget_us;
	m->backoff_us = first_us;
	m->backoff_max_us = max_us;
	return ioctl(fd, DRM_IOCTL_SVMSHIM_MIGRATE, m) ? -errno : 0;
}

/* The caller's retry pauses are the ones taken; @rounds says how many ran. */
static int t_inject_backoff(void)
{
	size_t len = 64 * KPAGE, n = len / KPAGE;
	char *p = map_anon(len);
	struct drm_svmshim_migrate m;
	double t0, none, paced, capped, cut;
	int ret;

	CHECK(p, "mmap");
	fill(p, len, 0xb0b0);
	/* No pauses: three rounds back to back. */
	CHECK(inject(BUSY, 100, 21, 0) == 0, "set inject_*");
	t0 = now_sec();
	ret = migrate_backoff(p, len, 0, 3, 10000000, 0, 0, &m);
	none = now_sec() - t0;
	CHECK(ret == 0 && m.failed[BUSY] == n && m.retries == 3 * n &&
	      m.rounds == 3, "no pause: ret %d rounds %u: %s", ret, m.rounds,
	      counts(&m));
	/* 20 ms pauses: three rounds take at least 60 ms. */
	CHECK(inject(BUSY, 100, 21, 0) == 0, "set inject_*");
	t0 = now_sec();
	ret = migrate_backoff(p, len, 0, 3, 10000000, 20000, 20000, &m);
	paced = now_sec() - t0;
	CHECK(ret == 0 && m.rounds == 3 && paced >= 0.060,
	      "20 ms pauses: ret %d rounds %u after %.3f s", ret, m.rounds, paced);
	/* A cap below the first pause caps it: 1 s asked, 5 ms taken. */
	CHECK(inject(BUSY, 100, 21, 0) == 0, "set inject_*");
	t0 = now_sec();
	ret = migrate_backoff(p, len, 0, 3, 10000000, 1000000, 5000, &m);
	capped = now_sec() - t0;
	CHECK(ret == 0 && m.rounds == 3 && capped >= 0.015 && capped < 1.0,
	      "capped: ret %d rounds %u after %.3f s", ret, m.rounds, capped);
	/* The budget cuts a pause: 1 s pauses, 50 ms budget, no round run. */
	CHECK(inject(BUSY, 100, 21, 0) == 0, "set inject_*");
	t0 = now_sec();
	ret = migrate_backoff(p, len, 0, 3, 50000, 1000000, 1000000, &m);
	cut = now_sec() - t0;
	CHECK(ret == 0 && m.rounds == 0 && m.retries == 0 && cut >= 0.045 &&
	      cut < 0.9, "cut: ret %d rounds %u after %.3f s", ret, m.rounds, cut);
	/* Rounds are per batch: the most any batch ran. 30% BUSY, 20 rounds. */
	CHECK(inject(BUSY, 30, 22, 0) == 0, "set inject_*");
	ret = migrate_backoff(p, len, 0, 20, 10000000, 0, 0, &m);
	CHECK(ret == 0 && m.moved + m.already == n && m.rounds >= 1 &&
	      m.rounds < 20 && m.retries >= m.rounds,
	      "30%%: ret %d rounds %u: %s", ret, m.rounds, counts(&m));
	inject_off();
	CHECK(check(p, len, 0xb0b0) < 0, "data corrupted");
	printf("INFO: inject_backoff: 3 rounds: %.1f ms without pauses, %.1f ms with 20 ms, %.1f ms capped at 5 ms; 50 ms budget %.1f ms\n",
	       none * 1e3, paced * 1e3, capped * 1e3, cut * 1e3);
	munmap(p, len);
	return 0;
}

/* CPU faults meet injected BUSY (with inject_count), fault again, finish. */
static int t_inject_cpu_count(void)
{
	size_t len = 64 * KPAGE, n = len / KPAGE;
	char *p = map_anon(len);
	struct drm_svmshim_migrate m;
	struct evsum e;
	long bad;

	CHECK(p, "mmap");
	fill(p, len, 0xc0c0);
	/* To the host only: the move to the device is not injected. */
	CHECK(kshim_inject(BUSY, 100, 5, 200, KSHIM_INJECT_TO_HOST) == 0,
	      "set inject_*");
	CHECK(kshim_migrate(fd, p, len, 0, 0, NULL, &m) == 0 && m.moved == n,
	      "to device: %s", counts(&m));
	CHECK(kshim_param_get("inject_hits") == 0, "hits %ld", kshim_param_get("inject_hits"));
	CHECK(ev_sum(&e) == 0, "events");
	/* 200 failed CPU faults, then each page comes home with its bytes. */
	bad = check(p, len, 0xc0c0);
	CHECK(bad < 0, "data corrupted at word %ld", bad);
	CHECK(kshim_param_get("inject_hits") == 200, "hits %ld", kshim_param_get("inject_hits"));
	CHECK(count_at(p, len, SVMSHIM_LOC_HOST) == (long)n, "not all home");
	CHECK(ev_sum(&e) == 0 && e.fail_pages[BUSY] == 200 &&
	      e.n[SVMSHIM_EVENT_CPU_FAULT] == (long)n,
	      "events: %ld BUSY pages, %ld CPU faults", e.fail_pages[BUSY],
	      e.n[SVMSHIM_EVENT_CPU_FAULT]);

	/* Without a count CPU faults are left alone (they could never end). */
	CHECK(inject(BUSY, 0, 5, 0) == 0, "set inject_*");
	CHECK(kshim_migrate(fd, p, len, 0, 0, NULL, &m) == 0 && m.moved == n,
	      "to device: %s", counts(&m));
	CHECK(inject(BUSY, 100, 5, 0) == 0, "set inject_*");
	bad = check(p, len, 0xc0c0);
	CHECK(bad < 0 && kshim_param_get("inject_hits") == 0,
	      "no count: word %ld, hits %ld", bad, kshim_param_get("inject_hits"));

	/* To a device only: the way home is not injected. */
	CHECK(kshim_inject(BUSY, 100, 5, 0, KSHIM_INJECT_TO_DEVICE) == 0,
	      "set inject_*");
	CHECK(kshim_migrate(fd, p, len, 0, 0, NULL, &m) == 0 &&
	      m.failed[BUSY] == n, "to device: %s", counts(&m));
	CHECK(inject(0, 0, 0, 0) == 0, "set inject_*");
	CHECK(kshim_migrate(fd, p, len, 0, 0, NULL, &m) == 0 && m.moved == n,
	      "to device: %s", counts(&m));
	CHECK(kshim_inject(BUSY, 100, 5, 0, KSHIM_INJECT_TO_DEVICE) == 0,
	      "set inject_*");
	CHECK(kshim_migrate(fd, p, len, SVMSHIM_LOC_HOST, 0, NULL, &m) == 0 &&
	      m.moved == n, "to host: %s", counts(&m));
	inject_off();
	CHECK(check(p, len, 0xc0c0) < 0, "data corrupted");
	munmap(p, len);
	return 0;
}

/* ---- issue 19: the view cannot outlive or escape its memory ---------- */

/* Reads one byte; 1 if that raised SIGBUS (or SIGSEGV), 0 if it read. */
static int read_faults(const char *p)
{
	struct sigaction sa, old_bus, old_segv;
	volatile int got = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigbus;
	sigaction(SIGBUS, &sa, &old_bus);
	sigaction(SIGSEGV, &sa, &old_segv);
	if (sigsetjmp(bus_jmp, 1) == 0)
		(void)*(volatile const char *)p;
	else
		got = 1;
	sigaction(SIGBUS, &old_bus, NULL);
	sigaction(SIGSEGV, &old_segv, NULL);
	return got;
}

/*
 * A refused mremap of a view (pages on the device, or host pages served in
 * place): the view stays coherent with its heap, and once the heap is
 * unmapped every view page faults instead of reading what was there.
 */
static int view_mremap_case(int in_place, int fixed)
{
	size_t len = 256 * 1024, i;
	char *heap = map_anon(len), *v, *r, *other;
	long bad;

	CHECK(heap, "mmap");
	v = kshim_view(fd, 0, heap, len);
	CHECK(v, "view");
	if (in_place)
		CHECK(kshim_attr(fd, heap, len, 0, SVMSHIM_LOC_NONE, 1, 0) == 0,
		      "attr");
	vfill(v, len, 0xb1);
	r = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(r != MAP_FAILED, "mmap");
	if (fixed)
		CHECK(mremap(v, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, r) ==
		      MAP_FAILED, "mremap of a view worked");
	else
		CHECK(mremap(v, len, 2 * len, MREMAP_MAYMOVE) == MAP_FAILED &&
		      mremap(v, len, len / 2, 0) == MAP_FAILED,
		      "resizing mremap of a view worked");
	munmap(r, len);
	/* Still the view of the heap, both ways. */
	bad = vcheck(v, len, 0xb1);
	CHECK(bad < 0, "view lost the device's writes at word %ld", bad);
	vfill(heap, len, 0xb2);
	bad = vcheck(v, len, 0xb2);
	CHECK(bad < 0, "view missed the host's writes at word %ld", bad);
	vfill(v, len, 0xb3);
	bad = vcheck(heap, len, 0xb3);
	CHECK(bad < 0, "host missed the device's writes at word %ld", bad);

	CHECK(munmap(heap, len) == 0, "munmap heap");
	/* Nothing readable where the heap was, new memory elsewhere. */
	CHECK(mmap(heap, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS |
		   MAP_FIXED, -1, 0) == heap, "placeholder");
	other = map_anon(len);	/* likely gets the freed pages */
	CHECK(other, "mmap");
	vfill(other, len, 0xb4);
	for (i = 0; i < len; i += 16 * KPAGE)
		CHECK(read_faults(v + i),
		      "view page %zu readable after its heap was unmapped",
		      i / KPAGE);
	bad = vcheck(other, len, 0xb4);
	CHECK(bad < 0, "new memory changed at word %ld", bad);
	munmap(other, len);
	munmap(heap, len);
	CHECK(munmap(v, len) == 0, "munmap view");
	return 0;
}

static int t_view_mremap(void)
{
	int in_place, fixed, ret;

	for (in_place = 0; in_place < 2; in_place++)
		for (fixed = 0; fixed < 2; fixed++) {
			ret = view_mremap_case(in_place, fixed);
			if (ret) {
				size_t l = strlen(why);

				snprintf(why + l, sizeof(why) - l,
					 " (%s, %s mremap)",
					 in_place ? "in place" : "on device",
					 fixed ? "fixed" : "resizing");
				return ret;
			}
		}
	return 0;
}

/*
 * MADV_DOFORK on a view is refused (VM_IO), and fork() still gives the
 * child no view: it would hold PTEs of the parent's pages that no
 * invalidation clears.
 */
static int t_view_dofork(void)
{
	size_t len = 256 * 1024;
	char *heap = map_anon(len), *v;
	int status, ret;
	pid_t pid;

	CHECK(heap, "mmap");
	v = kshim_view(fd, 0, heap, len);
	CHECK(v, "view");
	CHECK(kshim_attr(fd, heap, len / 2, 0, SVMSHIM_LOC_NONE, 1, 0) == 0, "attr");
	vfill(v, len, 0xc1);	/* half in place, half on the device */
	ret = madvise(v, len, MADV_DOFORK);
	CHECK(ret == -1 && errno == EINVAL, "MADV_DOFORK on a view: %d (%s)",
	      ret, ret ? strerror(errno) : "accepted");
	pid = fork();
	CHECK(pid >= 0, "fork");
	if (pid == 0)
		_exit(mprotect(v, KPAGE, PROT_READ) == 0 ? 10 : 0);
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	      WEXITSTATUS(status) == 0, "the child inherited the view (0x%x)",
	      status);
	CHECK(vcheck(heap, len, 0xc1) < 0, "heap lost the device's writes");
	munmap(v, len);
	munmap(heap, len);
	return 0;
}

/*
 * Eviction for room races with the owners of the evicted pages going
 * away: munmap, exit, close of their file, fork and exit of both. The
 * evictor must never reach an owner's freed memory (issue 19: a general
 * protection fault in remove_migration_ptes() under svm_evict(), the
 * anon_vma of a page freed while the page was being evicted).
 */
#define ERACE_SECS	8.0
#define ERACE_KIDS	4

static void erace_child(int how, size_t len)
{
	int cfd = how & 1 ? kshim_open() : fd;
	char *h = map_anon(len);
	double t0;
	pid_t pid;

	if (cfd < 0 || !h)
		_exit(9);
	fill(h, len, how);
	if (kshim_migrate(cfd, h, len, 0, 0, NULL, NULL))
		_exit(10);
	/* Go away at some point while the parent evicts (0-40 ms). */
	t0 = now_sec() + (how * 7919 % 41) / 1000.0;
	while (now_sec() < t0)
		;
	switch (how % 4) {
	case 0:
		munmap(h, len);
		break;
	case 1:
		close(cfd);	/* close evicts what the file moved */
		break;
	case 2:
		pid = fork();	/* the device pages are shared now */
		if (pid == 0)
			_exit(check(h, len, how) < 0 ? 0 : 11);
		if (pid < 0 || waitpid(pid, &how, 0) != pid || how)
			_exit(12);
		break;
	default:
		break;		/* exit with everything in place */
	}
	_exit(0);
}

static int t_evict_race(void)
{
	struct drm_svmshim_get_info info;
	struct drm_svmshim_migrate m;
	size_t cap, plen, clen;
	double t0 = now_sec();
	int k, status, rounds = 0, how = 0;
	pid_t kids[ERACE_KIDS];
	char *p;
	long bad;

	CHECK(kshim_info(fd, 0, &info) == 0, "info");
	cap = info.memory_bytes;
	if (cap > 128 * MiB)
		SKIPF("device memory %zu MiB: load with vram_mb<=128", cap / MiB);
	plen = cap * 3 / 4;
	clen = cap / 8;
	p = map_anon(plen);
	CHECK(p, "mmap");
	fill(p, plen, 0x5e);
	while (now_sec() - t0 < ERACE_SECS) {
		for (k = 0; k < ERACE_KIDS; k++) {
			kids[k] = fork();
			CHECK(kids[k] >= 0, "fork");
			if (kids[k] == 0)
				erace_child(how + k, clen);
		}
		how += ERACE_KIDS;
		/* Room for ours: the children's pages go, as they go away. */
		CHECK(kshim_migrate(fd, p, plen, 0, 0, NULL, &m) == 0,
		      "migrate to device: %s", strerror(errno));
		CHECK(kshim_migrate(fd, p, plen, SVMSHIM_LOC_HOST, 0, NULL,
				    &m) == 0, "migrate home");
		for (k = 0; k < ERACE_KIDS; k++) {
			CHECK(waitpid(kids[k], &status, 0) == kids[k],
			      "waitpid");
			CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			      "child %d failed (0x%x)", k, status);
		}
		rounds++;
	}
	bad = check(p, plen, 0x5e);
	CHECK(bad < 0, "data corrupted at word %ld", bad);
	munmap(p, plen);
	CHECK(dev_free(0) == cap, "device 0: %llu of %zu bytes free after %d rounds",
	      (unsigned long long)dev_free(0), cap, rounds);
	return 0;
}

/*
 * Device writes dirty the pages they reach (issue 19 item 4): a page
 * given up with MADV_FREE and then written by the device, in place or
 * while on the device, must keep the device's data when reclaim comes
 * (MADV_PAGEOUT drops clean lazily-freed pages).
 */
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif

static int t_view_dirty(void)
{
	size_t len = 256 * 1024, half = len / 2;
	char *ctl = map_anon(len), *heap = map_anon(len), *v;
	size_t i, lost[2] = { 0, 0 };
	cpu_set_t one;
	long bad;

	/* One CPU: the per-CPU LRU batches MADV_PAGEOUT drains are its own. */
	CPU_ZERO(&one);
	CPU_SET(0, &one);
	CHECK(sched_setaffinity(0, sizeof(one), &one) == 0, "sched_setaffinity");
	CHECK(ctl && heap, "mmap");
	/* Control: a clean lazily-freed page is dropped by MADV_PAGEOUT. */
	vfill(ctl, len, 0xd0);
	CHECK(madvise(ctl, len, MADV_FREE) == 0, "MADV_FREE");
	if (madvise(ctl, len, MADV_PAGEOUT))
		SKIPF("MADV_PAGEOUT: %s", strerror(errno));
	for (bad = 0; bad < (long)(len / 8); bad++)
		if (((volatile uint64_t *)ctl)[bad])
			SKIPF("MADV_PAGEOUT kept clean MADV_FREE pages here");

	v = kshim_view(fd, 0, heap, len);
	CHECK(v, "view");
	/* First half served in place, second half moves to the device. */
	CHECK(kshim_attr(fd, heap, half, 0, SVMSHIM_LOC_NONE, 1, 0) == 0, "attr");
	vfill(heap, len, 0xd1);
	CHECK(madvise(heap, len, MADV_FREE) == 0, "MADV_FREE");
	vfill(v, len, 0xd2);	/* the device writes it all */
	CHECK(count_at(heap + half, half, 0) == (long)(half / KPAGE),
	      "second half not on device 0");
	CHECK(kshim_migrate(fd, heap + half, half, SVMSHIM_LOC_HOST, 0, NULL,
			    NULL) == 0, "migrate home");
	CHECK(madvise(heap, len, MADV_PAGEOUT) == 0, "MADV_PAGEOUT");
	for (i = 0; i < len / 8; i++)
		lost[i * 8 >= half] += ((volatile uint64_t *)heap)[i] != (i ^ 0xd2);
	CHECK(!lost[0] && !lost[1], "reclaim dropped the device's writes: %zu "
	      "words served in place, %zu words moved home", lost[0], lost[1]);
	munmap(v, len);

	/* The view's own PTEs going (munmap of the view) keep them too. */
	vfill(heap, len, 0xd3);
	v = kshim_view(fd, 0, heap, len);
	CHECK(v, "view again");
	CHECK(kshim_attr(fd, heap, len, 0, SVMSHIM_LOC_NONE, 1, 0) == 0, "attr");
	CHECK(madvise(heap, len, MADV_FREE) == 0, "MADV_FREE");
	vfill(v, len, 0xd4);
	CHECK(munmap(v, len) == 0, "munmap view");
	CHECK(madvise(heap, len, MADV_PAGEOUT) == 0, "MADV_PAGEOUT");
	bad = vcheck(heap, len, 0xd4);
	CHECK(bad < 0, "reclaim dropped the device's writes after the view's "
	      "munmap at word %ld", bad);
	munmap(heap, len);
	munmap(ctl, len);
	return 0;
}

/*
 * PROT_NONE memory does not go to a device (test_hmm refuses it too):
 * the device would read what the process cannot. It is UNSUPPORTED, the
 * device's access faults, and pages already on a device still come home.
 */
static int t_prot_none(void)
{
	size_t len = 1 * MiB, n = len / KPAGE, half = len / 2, i;
	char *p = map_anon(len), *v;
	struct drm_svmshim_migrate m;
	uint8_t res[256];
	long bad;

	CHECK(p, "mmap");
	fill(p, len, 0x9e);
	CHECK(mprotect(p + half, half, PROT_NONE) == 0, "mprotect");
	CHECK(kshim_migrate(fd, p, len, 0, 0, res, &m) == 0, "migrate: %s",
	      strerror(errno));
	CHECK(m.moved == n / 2 && m.failed[SVMSHIM_FAIL_UNSUPPORTED] == n / 2,
	      "PROT_NONE half: %s", counts(&m));
	for (i = n / 2; i < n; i++)
		CHECK(res[i] == SVMSHIM_FAIL_UNSUPPORTED, "res[%zu] = %u", i, res[i]);
	v = kshim_view(fd, 0, p, len);
	CHECK(v, "view");
	CHECK(read_faults(v + half), "the device read PROT_NONE memory");
	CHECK(!read_faults(v), "the device cannot read readable memory");
	munmap(v, len);
	/* On the device, then PROT_NONE: it still comes home. */
	CHECK(mprotect(p, half, PROT_NONE) == 0, "mprotect");
	CHECK(kshim_migrate(fd, p, len, SVMSHIM_LOC_HOST, 0, NULL, &m) == 0 &&
	      m.moved == n / 2, "home from PROT_NONE: %s", counts(&m));
	CHECK(mprotect(p, len, PROT_READ | PROT_WRITE) == 0, "mprotect");
	bad = check(p, len, 0x9e);
	CHECK(bad < 0, "data corrupted at word %ld", bad);
	munmap(p, len);
	return 0;
}

/*
 * A THP mapped by PTEs (here after an mprotect of one of its pages): the
 * core splits only PMD mappings, so these pages cannot move as they are.
 * They are UNSUPPORTED (served in place), not BUSY for ever.
 */
static int t_thp_pte(void)
{
	size_t huge = 2 * MiB, n = huge / KPAGE;
	char *raw = map_anon(2 * huge), *p;
	struct drm_svmshim_migrate m;
	long bad, thp0, thp1;

	CHECK(raw, "mmap");
	p = (char *)(((uintptr_t)raw + huge - 1) & ~(huge - 1));
	if (madvise(p, huge, MADV_HUGEPAGE))
		SKIPF("MADV_HUGEPAGE: %s", strerror(errno));
	thp0 = anon_huge_kb();
	fill(p, huge, 0x7e);
	thp1 = anon_huge_kb();
	if (thp0 < 0 || thp1 - thp0 < 2048)
		SKIPF("no THP formed (AnonHugePages %ld -> %ld kB)", thp0, thp1);
	CHECK(mprotect(p + KPAGE, KPAGE, PROT_READ) == 0, "mprotect");
	CHECK(kshim_migrate(fd, p, huge, 0, SVMSHIM_MIGRATE_DRAIN_LRU, NULL,
			    &m) == 0, "migrate: %s", strerror(errno));
	CHECK(m.failed[SVMSHIM_FAIL_BUSY] == 0 &&
	      m.moved + m.failed[SVMSHIM_FAIL_UNSUPPORTED] == n,
	      "PTE-mapped THP: %s", counts(&m));
	printf("INFO: thp_pte: %llu moved, %llu unsupported\n",
	       (unsigned long long)m.moved,
	       (unsigned long long)m.failed[SVMSHIM_FAIL_UNSUPPORTED]);
	bad = check(p, huge, 0x7e);
	CHECK(bad < 0, "data corrupted at word %ld", bad);
	munmap(raw, 2 * huge);
	return 0;
}

/*
 * The pass after the LRU drain says what is true then: pages BUSY in the
 * first pass (injected) that find the device full in the second are
 * NO_MEMORY, not BUSY.
 */
static int t_drain_reclassify(void)
{
	struct drm_svmshim_get_info info;
	struct drm_svmshim_migrate m;
	size_t cap, alen, len = 64 * KPAGE, n = len / KPAGE, room = 16;
	char *a, *p;
	uint8_t res[64];
	int ret;

	CHECK(kshim_info(fd, 1, &info) == 0, "info");
	cap = info.memory_bytes;
	if (cap > 128 * MiB)
		SKIPF("device memory %zu MiB: load with vram_mb<=128", cap / MiB);
	CHECK(info.free_bytes == cap, "device 1 not empty");
	alen = cap - room * KPAGE;
	a = map_anon(alen);
	p = map_anon(len);
	CHECK(a && p, "mmap");
	fill(a, alen, 0xa7);
	fill(p, len, 0xa8);
	CHECK(kshim_migrate(fd, a, alen, 1, 0, NULL, &m) == 0 &&
	      m.moved == alen / KPAGE, "fill device 1: %s", counts(&m));
	CHECK(kshim_inject(SVMSHIM_FAIL_BUSY, 100, 3, n, KSHIM_INJECT_TO_DEVICE) == 0,
	      "set inject_*");
	ret = kshim_migrate(fd, p, len, 1, SVMSHIM_MIGRATE_DRAIN_LRU |
			    SVMSHIM_MIGRATE_NO_EVICT, res, &m);
	inject_off();
	CHECK(ret == 0 && m.moved == room &&
	      m.failed[SVMSHIM_FAIL_NO_MEMORY] == n - room &&
	      m.failed[SVMSHIM_FAIL_BUSY] == 0, "ret %d: %s", ret, counts(&m));
	CHECK(counts_exact(&m, res, n), "result array does not match");
	CHECK(check(p, len, 0xa8) < 0 && check(a, alen, 0xa7) < 0,
	      "data corrupted");
	munmap(a, alen);
	munmap(p, len);
	return 0;
}

/*
 * Eviction with the most attribute records a file may have (issue 19
 * item 6): the eviction looks up every LRU page's record under the
 * device's spinlock; with a list of 65535 records behind them that was a
 * soft lockup on demand. Records below the heap, the heap's own record
 * last, all its pages preferring the device (so the first eviction rounds
 * look at every one of them).
 */
static int t_attr_many(void)
{
	struct drm_svmshim_get_info info;
	struct drm_svmshim_migrate m;
	size_t cap, alen, blen, i, nrec = 65534;
	char *a, *b;
	double t0, ta, tb;
	int ret;

	CHECK(kshim_info(fd, 0, &info) == 0, "info");
	cap = info.memory_bytes;
	if (cap > 128 * MiB)
		SKIPF("device memory %zu MiB: load with vram_mb<=128", cap / MiB);
	alen = cap / 2;
	blen = cap * 3 / 4;
	a = map_anon(alen);
	b = map_anon(blen);
	CHECK(a && b, "mmap");
	CHECK((uintptr_t)a > (nrec + 16) * 2 * KPAGE, "heap too low");
	/* Highest first: cheap to insert whatever the structure. */
	for (i = nrec; i-- > 0;) {
		ret = kshim_attr(fd, (void *)(uintptr_t)((16 + 2 * i) * KPAGE),
				 KPAGE, 0, SVMSHIM_LOC_HOST, 0, 0);
		CHECK(ret == 0, "record %zu: %d", i, ret);
	}
	CHECK(kshim_attr(fd, a, alen, 0, 0, 0, 0) == 0, "a's record");
	CHECK(kshim_attr(fd, b, KPAGE, 0, 0, 0, 0) == -ENOSPC,
	      "more records than the limit");
	fill(a, alen, 0xe1);
	fill(b, blen, 0xe2);
	t0 = now_sec();
	CHECK(kshim_migrate(fd, a, alen, 0, 0, NULL, &m) == 0 &&
	      m.moved == alen / KPAGE, "a: %s", counts(&m));
	ta = now_sec() - t0;
	t0 = now_sec();
	CHECK(kshim_migrate(fd, b, blen, 0, 0, NULL, &m) == 0 &&
	      m.moved == blen / KPAGE && m.evicted > 0, "b: %s", counts(&m));
	tb = now_sec() - t0;
	printf("INFO: attr_many: a %.2f s; b, %llu pages evicted past %zu records: %.2f s\n",
	       ta, (unsigned long long)m.evicted, nrec + 1, tb);
	/*
	 * b moves 1.5 times as much as a and evicts; the lookups must not
	 * make it dozens of times slower (it was 35 times in the VM).
	 */
	CHECK(tb < 6 * ta + 0.5, "eviction past the records took %.2f s, "
	      "moving a %.2f s", tb, ta);
	CHECK(check(a, alen, 0xe1) < 0 && check(b, blen, 0xe2) < 0,
	      "data corrupted");
	munmap(a, alen);
	munmap(b, blen);
	return 0;
}

/*
 * kshim-tests --hold FIFO: leave device pages behind a closed file (the
 * heap moved after its pages went to the device, so the close cannot find
 * them at their address), write "held" to FIFO and wait to be killed.
 * tests/vm/init.sh checks that rmmod is refused meanwhile (not stuck in
 * memunmap_pages()) and works once this process is gone.
 */
static int hold_pages(const char *fifo)
{
	size_t len = 4 * MiB;
	char *heap = map_anon(len), *to = map_anon(len), *moved = MAP_FAILED;
	struct drm_svmshim_get_info info;
	struct drm_svmshim_migrate m;
	const char *say = "fail\n";
	int f;

	/* Whatever happens, the reader of @fifo gets one word. */
	if (heap && to && !kshim_migrate(fd, heap, len, 0, 0, NULL, &m) &&
	    m.moved == len / KPAGE)
		moved = mremap(heap, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, to);
	close(fd);
	if (moved != MAP_FAILED) {
		/* Still there? (A file of ours would hold the module: closed.) */
		fd = kshim_open();
		say = fd >= 0 && kshim_info(fd, 0, &info) == 0 &&
		      info.free_bytes < info.memory_bytes ? "held\n" : "none\n";
		close(fd);
	}
	f = open(fifo, O_WRONLY | O_CLOEXEC);
	if (f < 0 || write(f, say, 5) != 5)
		return 1;
	close(f);
	for (;;)
		pause();
}


/* ---- limits and accounting (issue 19 items 5, 7, 8, 10) ------------------ */

/* VmPin of this process in kB (mm->pinned_vm), or -1. */
static long vm_pin_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmPin: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* The path of the svmshim render node, or NULL. */
static const char *node_path(void)
{
	static char path[64];
	struct stat st, me;
	int minor;

	if (fstat(fd, &me))
		return NULL;
	for (minor = 128; minor < 192; minor++) {
		snprintf(path, sizeof(path), "/dev/dri/renderD%d", minor);
		if (!stat(path, &st) && st.st_rdev == me.st_rdev)
			return path;
	}
	return NULL;
}

/*
 * Drops to uid/gid 65534 in the render group @gid (no capabilities left),
 * with RLIMIT_MEMLOCK @memlock bytes; 0 or -errno.
 */
static int become_unprivileged(gid_t gid, size_t memlock)
{
	struct rlimit rl = { memlock, memlock };

	if (setrlimit(RLIMIT_MEMLOCK, &rl) || setgroups(1, &gid) ||
	    setgid(65534) || setuid(65534))
		return -errno;
	return 0;
}

#define RENDER_GID	4242

/* A child's verdict, told through a shared page. */
static char *child_why;

#define CFAIL(...) do { snprintf(child_why, 200, __VA_ARGS__); _exit(1); } while (0)
#define CCHECK(cond, ...) do { if (!(cond)) CFAIL(__VA_ARGS__); } while (0)

/*
 * The unprivileged side of pin_limits (uid 65534 in the render group,
 * RLIMIT_MEMLOCK 64 KiB = 16 pages): refused above the limit, uncharged by
 * UNPIN and by close, and pins passed with SCM_RIGHTS by a process that
 * exited stay charged to its user until the last close.
 */
static void pin_limits_unprivileged(const char *path)
{
	const size_t lim = 16 * KPAGE;
	char *p = map_anon(64 * KPAGE);
	int f, f2, status;
	pid_t pid;

	CCHECK(p, "mmap");
	memset(p, 1, 64 * KPAGE);
	CCHECK(become_unprivileged(RENDER_GID, lim) == 0, "drop privileges: %s",
	       strerror(errno));
	f = open(path, O_RDWR | O_CLOEXEC);
	CCHECK(f >= 0, "open as uid 65534 in the render group: %s", strerror(errno));
	CCHECK(vm_pin_kb() == 0, "VmPin %ld kB before any pin", vm_pin_kb());
	CCHECK(kshim_pin(f, p, lim + KPAGE, 0) == -ENOMEM,
	       "PIN over RLIMIT_MEMLOCK not refused with ENOMEM");
	CCHECK(vm_pin_kb() == 0, "VmPin %ld kB after a refused pin", vm_pin_kb());
	CCHECK(kshim_pin(f, p, lim, 0) == 0, "PIN of the limit: %s", strerror(errno));
	CCHECK(vm_pin_kb() == (long)(lim / 1024), "VmPin %ld kB after pinning %zu",
	       vm_pin_kb(), lim / 1024);
	CCHECK(kshim_pin(f, p + lim, KPAGE, 0) == -ENOMEM,
	       "one page over the limit not refused");
	CCHECK(kshim_pin(f, p, lim, 1) == 0, "UNPIN");
	CCHECK(vm_pin_kb() == 0, "VmPin %ld kB after UNPIN", vm_pin_kb());
	CCHECK(kshim_pin(f, p, 8 * KPAGE, 0) == 0 && kshim_pin(f, p, 8 * KPAGE, 0) == 0,
	       "PIN twice after UNPIN: %s", strerror(errno));
	CCHECK(vm_pin_kb() == 64, "VmPin %ld kB after two pins", vm_pin_kb());
	close(f);
	CCHECK(vm_pin_kb() == 0, "VmPin %ld kB after close", vm_pin_kb());

	/*
	 * A child pins the whole limit on a file this process holds too, and
	 * exits: the state an fd passed with SCM_RIGHTS leaves behind (the
	 * VM kernel has no AF_UNIX; sharing the file by fork is the same for
	 * the driver: one file, pins of a process that is gone).
	 */
	f2 = open(path, O_RDWR | O_CLOEXEC);
	CCHECK(f2 >= 0, "open");
	pid = fork();
	CCHECK(pid >= 0, "fork");
	if (pid == 0)
		_exit(kshim_pin(f2, p, lim, 0) ? 1 : 0);
	CCHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	       !WEXITSTATUS(status), "pinning child failed (0x%x)", status);
	CCHECK(vm_pin_kb() == 0, "VmPin %ld kB: another process's pins charged here",
	       vm_pin_kb());
	CCHECK(kshim_pin(f2, p, lim, 1) == -ENOENT,
	       "UNPIN released pins of another process");
	f = open(path, O_RDWR | O_CLOEXEC);
	CCHECK(f >= 0, "reopen");
	CCHECK(kshim_pin(f, p, KPAGE, 0) == -ENOMEM,
	       "the exited pinner's pins were not charged to its user any more");
	close(f2);
	CCHECK(kshim_pin(f, p, lim, 0) == 0,
	       "the last close did not give the charge back: %s", strerror(errno));
	close(f);
	CCHECK(vm_pin_kb() == 0, "VmPin %ld kB at the end", vm_pin_kb());
	_exit(0);
}

static int t_pin_limits(void)
{
	const char *path = node_path();
	struct rlimit small = { 16 * KPAGE, 16 * KPAGE };
	long old_max = kshim_param_get("pin_max_mb");
	char *p = map_anon(2 * MiB);
	int status, ret1, ret2, saved = 0;
	struct stat st;
	pid_t pid;

	CHECK(path && !stat(path, &st), "render node path");
	CHECK(p && old_max > 0, "mmap / pin_max_mb %ld", old_max);
	memset(p, 1, 2 * MiB);
	child_why = mmap(NULL, KPAGE, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(child_why != MAP_FAILED, "mmap");

	/* Root with CAP_IPC_LOCK: exempt from RLIMIT_MEMLOCK, still in VmPin. */
	CHECK(!setrlimit(RLIMIT_MEMLOCK, &small), "setrlimit");
	CHECK(kshim_pin(fd, p, MiB, 0) == 0, "root PIN over RLIMIT_MEMLOCK: %s",
	      strerror(errno));
	CHECK(vm_pin_kb() == 1024, "VmPin %ld kB, not 1024", vm_pin_kb());
	CHECK(kshim_pin(fd, p, MiB, 1) == 0 && vm_pin_kb() == 0,
	      "VmPin %ld kB after UNPIN", vm_pin_kb());
	/* Per call: at most SVMSHIM_MAX_PIN_BYTES (checked before the range). */
	CHECK(kshim_pin(fd, p, SVMSHIM_MAX_PIN_BYTES + KPAGE, 0) == -EINVAL,
	      "PIN above SVMSHIM_MAX_PIN_BYTES not refused");
	/* Per file: pin_max_mb, whoever asks. */
	CHECK(kshim_param_set("pin_max_mb", 1) == 0, "set pin_max_mb");
	ret1 = kshim_pin(fd, p, MiB, 0);
	ret2 = kshim_pin(fd, p + MiB, KPAGE, 0);
	kshim_param_set("pin_max_mb", old_max);
	CHECK(ret1 == 0 && ret2 == -ENOSPC, "pin_max_mb 1: %d then %d (want 0, -ENOSPC)",
	      ret1, ret2);
	CHECK(kshim_pin(fd, p, 2 * MiB, 1) == 0 && vm_pin_kb() == 0, "UNPIN");

	/* Unprivileged: open through the group, refused without it. */
	if (chown(path, 0, RENDER_GID) || chmod(path, 0660))
		FAILF("chown/chmod %s: %s", path, strerror(errno));
	saved = 1;
	pid = fork();
	if (pid == 0) {
		gid_t none = 65534;

		if (setgroups(1, &none) || setgid(65534) || setuid(65534))
			_exit(3);
		_exit(open(path, O_RDWR) < 0 && errno == EACCES ? 0 : 1);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status)) {
		snprintf(why, sizeof(why), "a user outside the render group opened the node (0x%x)",
			 status);
		goto out;
	}
	pid = fork();
	if (pid == 0)
		pin_limits_unprivileged(path);
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		snprintf(why, sizeof(why), "unprivileged: %s (status 0x%x)",
			 child_why[0] ? child_why : "died", status);
out:
	if (saved && (chown(path, st.st_uid, st.st_gid) || chmod(path, st.st_mode & 07777)))
		printf("WARN: cannot restore %s\n", path);
	return why[0] ? 1 : 0;
}

/* Every time and count a caller chooses is bounded (uAPI SVMSHIM_MAX_*). */
static int t_limits(void)
{
	static struct drm_svmshim_event ev[SVMSHIM_EVENT_RING + 1];
	size_t len = 16 * KPAGE;
	char *p = map_anon(len);
	struct drm_svmshim_migrate m;
	struct drm_svmshim_attr a;
	struct drm_svmshim_events e;

	CHECK(p, "mmap");
	fill(p, len, 0x1111);
#define MIG(rounds, budget) (kshim_migrate_budget(fd, p, len, SVMSHIM_LOC_HOST, \
			     SVMSHIM_MIGRATE_RETRY, rounds, budget, NULL, &m))
	CHECK(MIG(SVMSHIM_MAX_RETRY_ROUNDS + 1, 1000) == -EINVAL, "MIGRATE rounds above the bound");
	CHECK(MIG(UINT32_MAX, 1000) == -EINVAL, "MIGRATE rounds UINT32_MAX");
	CHECK(MIG(1, SVMSHIM_MAX_RETRY_BUDGET_US + 1) == -EINVAL, "MIGRATE budget above the bound");
	CHECK(MIG(1, UINT32_MAX) == -EINVAL, "MIGRATE budget UINT32_MAX");
	CHECK(MIG(SVMSHIM_MAX_RETRY_ROUNDS, SVMSHIM_MAX_RETRY_BUDGET_US) == 0,
	      "MIGRATE at the bounds: %s", strerror(errno));
#undef MIG
	kshim_attr_init(&a, p, len, 0, SVMSHIM_LOC_NONE);
	a.fault_retry_rounds = SVMSHIM_MAX_RETRY_ROUNDS + 1;
	a.fault_budget_us = 1000;
	CHECK(ioctl(fd, DRM_IOCTL_SVMSHIM_SET_ATTR, &a) && errno == EINVAL,
	      "SET_ATTR rounds above the bound");
	a.fault_retry_rounds = 1;
	a.fault_budget_us = SVMSHIM_MAX_FAULT_BUDGET_US + 1;
	CHECK(ioctl(fd, DRM_IOCTL_SVMSHIM_SET_ATTR, &a) && errno == EINVAL,
	      "SET_ATTR budget above the bound");
	a.fault_budget_us = UINT32_MAX;
	CHECK(ioctl(fd, DRM_IOCTL_SVMSHIM_SET_ATTR, &a) && errno == EINVAL,
	      "SET_ATTR budget UINT32_MAX (71 minutes under mmap_lock)");
	a.fault_retry_rounds = SVMSHIM_MAX_RETRY_ROUNDS;
	a.fault_budget_us = SVMSHIM_MAX_FAULT_BUDGET_US;
	CHECK(ioctl(fd, DRM_IOCTL_SVMSHIM_SET_ATTR, &a) == 0, "SET_ATTR at the bounds: %s",
	      strerror(errno));
	a.flags = SVMSHIM_ATTR_FAULT_BACKOFF;
	a.fault_backoff_us = SVMSHIM_MAX_BACKOFF_US + 1;
	CHECK(ioctl(fd, DRM_IOCTL_SVMSHIM_SET_ATTR, &a) && errno == EINVAL,
	      "SET_ATTR pause above the bound");

	memset(&e, 0, sizeof(e));
	e.events = (uintptr_t)ev;
	e.capacity = SVMSHIM_EVENT_RING + 1;
	CHECK(ioctl(fd, DRM_IOCTL_SVMSHIM_EVENTS, &e) && errno == EINVAL,
	      "EVENTS capacity above the ring");
	e.capacity = UINT32_MAX;
	CHECK(ioctl(fd, DRM_IOCTL_SVMSHIM_EVENTS, &e) && errno == EINVAL,
	      "EVENTS capacity UINT32_MAX");
	e.capacity = 0;
	CHECK(ioctl(fd, DRM_IOCTL_SVMSHIM_EVENTS, &e) && errno == EINVAL,
	      "EVENTS capacity 0");
	e.capacity = SVMSHIM_EVENT_RING;
	CHECK(ioctl(fd, DRM_IOCTL_SVMSHIM_EVENTS, &e) == 0, "EVENTS of the ring's size: %s",
	      strerror(errno));
	CHECK(check(p, len, 0x1111) < 0, "data corrupted");
	munmap(p, len);
	return 0;
}

/*
 * A device fault that cannot move its page waits at most its budget
 * (SVMSHIM_MAX_FAULT_BUDGET_US), even when the caller asked for the
 * longest pauses and rounds, then serves the page in place.
 */
static int t_view_fault_budget(void)
{
	size_t len = 8 * KPAGE;
	char *p = map_anon(len), *v;
	struct drm_svmshim_attr a;
	double t0, dt, worst = 0;
	size_t i;

	CHECK(p, "mmap");
	vfill(p, len, 0x5151);
	v = kshim_view(fd, 0, p, len);
	CHECK(v, "view: %s", strerror(errno));
	kshim_attr_init(&a, p, len, SVMSHIM_ATTR_FAULT_BACKOFF, SVMSHIM_LOC_NONE);
	a.fault_retry_rounds = SVMSHIM_MAX_RETRY_ROUNDS;
	a.fault_budget_us = SVMSHIM_MAX_FAULT_BUDGET_US;
	a.fault_backoff_us = SVMSHIM_MAX_BACKOFF_US;
	a.fault_backoff_max_us = SVMSHIM_MAX_BACKOFF_US;
	CHECK(ioctl(fd, DRM_IOCTL_SVMSHIM_SET_ATTR, &a) == 0, "SET_ATTR: %s", strerror(errno));
	CHECK(kshim_inject(BUSY, 100, 7, 0, KSHIM_INJECT_TO_DEVICE) == 0, "set inject_*");
	for (i = 0; i < len / KPAGE; i++) {
		t0 = now_sec();
		CHECK(((volatile uint64_t *)(v + i * KPAGE))[0] == ((i * KPAGE / 8) ^ 0x5151),
		      "page %zu read wrong through the view", i);
		dt = now_sec() - t0;
		if (dt > worst)
			worst = dt;
	}
	inject_off();
	CHECK(count_at(p, len, SVMSHIM_LOC_HOST) == (long)(len / KPAGE),
	      "pages moved despite 100%% BUSY");
	/* the budget, one round's work and TCG's slowness */
	CHECK(worst < SVMSHIM_MAX_FAULT_BUDGET_US * 1e-6 + 1.0,
	      "a fault took %.3f s (budget %.3f s)", worst, SVMSHIM_MAX_FAULT_BUDGET_US * 1e-6);
	printf("INFO: view_fault_budget: longest fault %.1f ms (budget %d ms, 1 s pauses asked)\n",
	       worst * 1e3, SVMSHIM_MAX_FAULT_BUDGET_US / 1000);
	munmap(v, len);
	munmap(p, len);
	return 0;
}

/*
 * A view mapped without PROT_READ (x86 has no write-only pages): a read of
 * a page that is read-only behind the view (never written: the zero page;
 * or mprotect PROT_READ) faulted forever (found by svmshim-fuzz, issue 19).
 * Now such a view is refused (EINVAL), and a view mprotect()ed to
 * write-only ends a device access with SIGBUS, within 5 s either way.
 */
static int t_view_write_only(void)
{
	size_t len = 16 * KPAGE;
	char *heap = map_anon(len);
	int status;
	double t0;
	pid_t pid;

	CHECK(heap, "mmap");
	/* page 0 never written (zero page); pages 1.. written, then read-only */
	memset(heap + KPAGE, 7, len - KPAGE);
	CHECK(!mprotect(heap + KPAGE, len - KPAGE, PROT_READ), "mprotect");
	pid = fork();
	CHECK(pid >= 0, "fork");
	if (pid == 0) {
		volatile char *v = mmap(NULL, len, PROT_WRITE, MAP_SHARED, fd,
					(off_t)SVMSHIM_VIEW_OFFSET(0, (uintptr_t)heap));

		if (v != MAP_FAILED || errno != EINVAL)
			_exit(3);	/* a write-only view was accepted */
		v = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
			 (off_t)SVMSHIM_VIEW_OFFSET(0, (uintptr_t)heap));
		if (v == MAP_FAILED || mprotect((void *)v, len, PROT_WRITE))
			_exit(4);
		(void)v[0];
		(void)v[KPAGE];
		_exit(0);	/* served: no PTE can, so this is wrong too */
	}
	t0 = now_sec();
	while (waitpid(pid, &status, WNOHANG) != pid) {
		if (now_sec() - t0 > 5) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			FAILF("a read through a write-only view still faulting after 5 s");
		}
		usleep(10000);
	}
	CHECK(!WIFEXITED(status) || WEXITSTATUS(status) != 3,
	      "a view without PROT_READ was accepted");
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS,
	      "a read through a view mprotect()ed write-only: status 0x%x, not SIGBUS",
	      status);
	munmap(heap, len);
	return 0;
}

/* ---- hmm-tests twins (issue 19) ------------------------------------------ */

/* A device write of one byte through @p: 1 if it faulted (SIGBUS/SIGSEGV). */
static int write_faults(char *p, char val)
{
	struct sigaction sa, old_bus, old_segv;
	volatile int got = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigbus;
	sigaction(SIGBUS, &sa, &old_bus);
	sigaction(SIGSEGV, &sa, &old_segv);
	if (sigsetjmp(bus_jmp, 1) == 0)
		*(volatile char *)p = val;
	else
		got = 1;
	sigaction(SIGBUS, &old_bus, NULL);
	sigaction(SIGSEGV, &old_segv, NULL);
	return got;
}

/*
 * anon_read_prot / anon_write_prot: the device never reads what the CPU
 * may not read, nor writes what the CPU may not write, also through view
 * PTEs it had before the mprotect; once allowed again it does.
 */
static int t_view_prot(void)
{
	size_t len = 64 * KPAGE, i;
	char *p = map_anon(len), *q, *v, *w;
	long bad;

	CHECK(p, "mmap");
	vfill(p, len, 0x71);
	v = kshim_view(fd, 0, p, len);
	CHECK(v, "view");
	bad = vcheck(v, len, 0x71);
	CHECK(bad < 0, "device read wrong word %ld", bad);
	/* Mapped in the view (on the device or in place), then PROT_NONE. */
	CHECK(mprotect(p, len, PROT_NONE) == 0, "mprotect");
	for (i = 0; i < len; i += KPAGE) {
		CHECK(read_faults(v + i), "device read PROT_NONE page %zu",
		      i / KPAGE);
		CHECK(write_faults(v + i, 0x5a), "device wrote PROT_NONE page %zu",
		      i / KPAGE);
	}
	/* Read-only: the device reads, and never writes. */
	CHECK(mprotect(p, len, PROT_READ) == 0, "mprotect");
	bad = vcheck(p, len, 0x71);
	CHECK(bad < 0, "data changed under PROT_NONE at word %ld", bad);
	bad = vcheck(v, len, 0x71);
	CHECK(bad < 0, "device read of read-only memory: word %ld", bad);
	for (i = 0; i < len; i += KPAGE)
		CHECK(write_faults(v + i, 0x5a), "device wrote read-only page %zu",
		      i / KPAGE);
	bad = vcheck(p, len, 0x71);
	CHECK(bad < 0, "read-only data changed at word %ld", bad);
	/* Writable again: the device's writes land. */
	CHECK(mprotect(p, len, PROT_READ | PROT_WRITE) == 0, "mprotect");
	vfill(v, len, 0x72);
	bad = vcheck(p, len, 0x72);
	CHECK(bad < 0, "device write lost at word %ld", bad);
	/* The device had written it: read-only again stops its writes. */
	CHECK(mprotect(p, len, PROT_READ) == 0, "mprotect");
	CHECK(write_faults(v + 3 * KPAGE, 0x5a), "device wrote through an old PTE");
	bad = vcheck(v, len, 0x72);
	CHECK(bad < 0, "device read after mprotect: word %ld", bad);
	munmap(v, len);
	munmap(p, len);

	/*
	 * A device write the CPU could not make either is refused as it is:
	 * nothing moves for it (the pages stay on the host, untouched).
	 */
	p = map_anon(len);
	CHECK(p, "mmap");
	vfill(p, len, 0x74);
	CHECK(mprotect(p, len, PROT_READ) == 0, "mprotect");
	v = kshim_view(fd, 0, p, len);
	CHECK(v, "view");
	for (i = 0; i < len; i += KPAGE)
		CHECK(write_faults(v + i, 0x5a), "device wrote read-only page %zu",
		      i / KPAGE);
	CHECK(count_at(p, len, SVMSHIM_LOC_HOST) == (long)(len / KPAGE),
	      "refused device writes moved %ld pages",
	      (long)(len / KPAGE) - count_at(p, len, SVMSHIM_LOC_HOST));
	bad = vcheck(p, len, 0x74);
	CHECK(bad < 0, "read-only data changed at word %ld", bad);
	munmap(v, len);
	munmap(p, len);

	/* anon_write_prot's zero pages: a read-only mapping never written. */
	q = mmap(NULL, len, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(q != MAP_FAILED, "mmap");
	w = kshim_view(fd, 1, q, len);
	CHECK(w, "view");
	for (i = 0; i < len; i++)
		CHECK(((volatile char *)w)[i] == 0, "device read %d at %zu",
		      w[i], i);
	for (i = 0; i < len; i += KPAGE)
		CHECK(write_faults(w + i, 0x5a), "device wrote read-only page %zu",
		      i / KPAGE);
	for (i = 0; i < len; i++)
		CHECK(q[i] == 0, "read-only zero page changed at %zu", i);
	CHECK(mprotect(q, len, PROT_READ | PROT_WRITE) == 0, "mprotect");
	vfill(w, len, 0x73);
	bad = vcheck(q, len, 0x73);
	CHECK(bad < 0, "device write over zero pages lost at word %ld", bad);
	munmap(w, len);
	munmap(q, len);
	return 0;
}

/*
 * anon_write_child_shared: shared anonymous memory is served in place, so
 * a device write made by a child through its own file and view is what
 * the parent sees, on the CPU and through its view.
 */
static int t_view_child_shared(void)
{
	size_t len = 256 * KPAGE;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0), *v;
	int status;
	pid_t pid;
	long bad;

	CHECK(p != MAP_FAILED, "mmap");
	vfill(p, len, 0x81);
	v = kshim_view(fd, 0, p, len);
	CHECK(v, "view");
	bad = vcheck(v, len, 0x81);
	CHECK(bad < 0, "parent's device read word %ld", bad);
	pid = fork();
	CHECK(pid >= 0, "fork");
	if (pid == 0) {
		int cfd = kshim_open();
		char *cv;

		if (vcheck(p, len, 0x81) >= 0)
			_exit(10);
		if (cfd < 0)
			_exit(11);
		cv = kshim_view(cfd, 1, p, len);
		if (!cv)
			_exit(12);
		if (vcheck(cv, len, 0x81) >= 0)
			_exit(13);
		vfill(cv, len, 0x82);
		if (vcheck(p, len, 0x82) >= 0)
			_exit(14);
		_exit(0);
	}
	CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "child failed (status 0x%x)", status);
	bad = vcheck(p, len, 0x82);
	CHECK(bad < 0, "parent missed the child's device writes at word %ld", bad);
	bad = vcheck(v, len, 0x82);
	CHECK(bad < 0, "parent's view missed them at word %ld", bad);
	CHECK(count_at(p, len, SVMSHIM_LOC_HOST) == (long)(len / KPAGE),
	      "shared pages left the host");
	munmap(v, len);
	munmap(p, len);
	return 0;
}

/*
 * anon_write_hugetlbfs and compound: hugetlb memory never moves
 * (UNSUPPORTED), SNAPSHOT sees every page of the huge page on the host, and
 * the device reads and writes it in place.
 */
static int t_hugetlb(void)
{
	size_t len = 2 * MiB, n = len / KPAGE, i;
	struct drm_svmshim_migrate m;
	uint8_t *res = malloc(n);
	char *p, *v;
	long bad;
	FILE *f;

	CHECK(res, "malloc");
	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	if (p == MAP_FAILED) {
		f = fopen("/proc/sys/vm/nr_hugepages", "w");
		if (!f)
			SKIPF("no hugetlb pages in this kernel (CONFIG_HUGETLBFS off)");
		fprintf(f, "4\n");
		fclose(f);
		p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
		if (p == MAP_FAILED)
			SKIPF("MAP_HUGETLB: %s", strerror(errno));
	}
	vfill(p, len, 0x91);
	CHECK(count_at(p, len, SVMSHIM_LOC_HOST) == (long)n,
	      "snapshot: not every page of the huge page on the host");
	CHECK(kshim_migrate(fd, p, len, 0, 0, res, &m) == 0, "migrate");
	CHECK(m.failed[SVMSHIM_FAIL_UNSUPPORTED] == n, "hugetlb: %s", counts(&m));
	for (i = 0; i < n; i++)
		CHECK(res[i] == SVMSHIM_FAIL_UNSUPPORTED, "res[%zu] = %u", i, res[i]);
	v = kshim_view(fd, 0, p, len);
	CHECK(v, "view");
	bad = vcheck(v, len, 0x91);
	CHECK(bad < 0, "device read of hugetlb memory: word %ld", bad);
	vfill(v, len, 0x92);
	bad = vcheck(p, len, 0x92);
	CHECK(bad < 0, "device write to hugetlb memory lost at word %ld", bad);
	munmap(v, len);
	munmap(p, len);
	free(res);
	return 0;
}

/* A file of @len bytes filled with vfill(@seed): memfd or in /tmp. */
static int make_file(int memfd, size_t len, uint64_t seed)
{
	char path[] = "/tmp/kshim-fileXXXXXX";
	char *buf = malloc(len);
	int f;

	if (!buf)
		return -1;
	if (memfd) {
		f = memfd_create("kshim-file", 0);
	} else {
		f = mkstemp(path);
		if (f >= 0)
			unlink(path);
	}
	vfill(buf, len, seed);
	if (f >= 0 && pwrite(f, buf, len, 0) != (ssize_t)len) {
		close(f);
		f = -1;
	}
	free(buf);
	return f;
}

/* -1 if the file holds vfill(@seed), else the first wrong word. */
static long file_check(int f, size_t len, uint64_t seed)
{
	char *buf = malloc(len);
	long bad = 0;

	if (buf && pread(f, buf, len, 0) == (ssize_t)len)
		bad = vcheck(buf, len, seed);
	free(buf);
	return bad;
}

/*
 * file_read / file_write: shared file mappings (tmpfs file, memfd) stay in
 * the page cache (UNSUPPORTED); the device reads the file's data in place,
 * its writes reach the file, and after a truncation the view has nothing.
 */
static int file_case(int memfd)
{
	size_t len = 128 * KPAGE, n = len / KPAGE, i;
	struct drm_svmshim_migrate m;
	int f = make_file(memfd, len, 0xa1);
	char *p, *v;
	long bad;

	CHECK(f >= 0, "file: %s", strerror(errno));
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, f, 0);
	CHECK(p != MAP_FAILED, "mmap");
	v = kshim_view(fd, 0, p, len);
	CHECK(v, "view");
	bad = vcheck(v, len, 0xa1);
	CHECK(bad < 0, "device read of the file: word %ld", bad);
	CHECK(kshim_migrate(fd, p, len, 0, 0, NULL, &m) == 0 &&
	      m.failed[SVMSHIM_FAIL_UNSUPPORTED] == n, "file pages: %s",
	      counts(&m));
	vfill(v, len, 0xa2);
	bad = file_check(f, len, 0xa2);
	CHECK(bad < 0, "device write missing in the file at word %ld", bad);
	CHECK(count_at(p, len, SVMSHIM_LOC_HOST) == (long)n, "file pages moved");
	/* Truncated: the page cache pages go, the view maps none of them. */
	CHECK(ftruncate(f, 0) == 0, "ftruncate");
	for (i = 0; i < len; i += 8 * KPAGE)
		CHECK(read_faults(v + i), "view page %zu readable after truncate",
		      i / KPAGE);
	munmap(v, len);
	munmap(p, len);
	close(f);
	return 0;
}

static int t_file_rw(void)
{
	int ret = file_case(0);

	return ret ? ret : file_case(1);
}

/*
 * migrate_file_private: a private file mapping is not moved (UNSUPPORTED,
 * also its copied-on-write pages); the device sees the process's copy,
 * and its writes reach that copy, never the file.
 */
static int t_migrate_file_private(void)
{
	size_t len = 128 * KPAGE, half = len / 2, n = len / KPAGE, i;
	struct drm_svmshim_migrate m;
	uint8_t *res = malloc(n);
	int f = make_file(0, len, 0xb1);
	char *p, *v;
	long bad;

	CHECK(f >= 0 && res, "file: %s", strerror(errno));
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, f, 0);
	CHECK(p != MAP_FAILED, "mmap");
	vfill(p, half, 0xb2);		/* first half: private copies */
	CHECK(kshim_migrate(fd, p, len, 0, 0, res, &m) == 0, "migrate");
	CHECK(m.failed[SVMSHIM_FAIL_UNSUPPORTED] == n && m.moved == 0,
	      "private file mapping: %s", counts(&m));
	for (i = 0; i < n; i++)
		CHECK(res[i] == SVMSHIM_FAIL_UNSUPPORTED, "res[%zu] = %u", i, res[i]);
	CHECK(kshim_migrate(fd, p, len, SVMSHIM_LOC_HOST, 0, NULL, &m) == 0 &&
	      m.already == n, "to host: %s", counts(&m));
	v = kshim_view(fd, 1, p, len);
	CHECK(v, "view");
	bad = vcheck(v, half, 0xb2);
	CHECK(bad < 0, "device read of the private copy: word %ld", bad);
	for (i = half / 8; i < len / 8; i++)
		CHECK(((volatile uint64_t *)v)[i] == (i ^ 0xb1),
		      "device read of the file's page: word %zu", i);
	vfill(v, len, 0xb3);		/* second half: COW by the device */
	bad = vcheck(p, len, 0xb3);
	CHECK(bad < 0, "device write lost at word %ld", bad);
	bad = file_check(f, len, 0xb1);
	CHECK(bad < 0, "the file changed at word %ld", bad);
	munmap(v, len);
	munmap(p, len);
	close(f);
	free(res);
	return 0;
}

/*
 * migrate_mixed: one MIGRATE over PROT_NONE, read-only (a zero page and a
 * written page) and read-write VMAs: each VMA gets its own class in the
 * same call; a hole in the range is -EFAULT and loses nothing.
 */
static int t_migrate_mixed(void)
{
	size_t n = 6, len = n * KPAGE, i;
	struct drm_svmshim_migrate m;
	uint8_t res[6];
	char *p = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	volatile char sink;

	CHECK(p != MAP_FAILED, "mmap");
	memset(res, 0xee, sizeof(res));
	CHECK(kshim_migrate(fd, p, len, 1, 0, res, &m) == 0 &&
	      m.failed[SVMSHIM_FAIL_UNSUPPORTED] == n, "PROT_NONE: %s",
	      counts(&m));
	/* 0 PROT_NONE, 1 read-only zero page, 2 read-only data, 3-5 rw. */
	CHECK(mprotect(p + KPAGE, KPAGE, PROT_READ) == 0, "mprotect");
	sink = p[KPAGE];
	(void)sink;
	CHECK(mprotect(p + 2 * KPAGE, 4 * KPAGE, PROT_READ | PROT_WRITE) == 0,
	      "mprotect");
	for (i = 2; i < n; i++)
		memset(p + i * KPAGE, (int)(0x10 + i), KPAGE);
	CHECK(mprotect(p + 2 * KPAGE, KPAGE, PROT_READ) == 0, "mprotect");
	CHECK(kshim_migrate(fd, p, len, 1, 0, res, &m) == 0, "mixed: %s",
	      strerror(errno));
	CHECK(m.moved == n - 1 && m.failed[SVMSHIM_FAIL_UNSUPPORTED] == 1,
	      "mixed: %s", counts(&m));
	CHECK(res[0] == SVMSHIM_FAIL_UNSUPPORTED, "res[0] = %u", res[0]);
	for (i = 1; i < n; i++)
		CHECK(res[i] == SVMSHIM_FAIL_NONE, "res[%zu] = %u", i, res[i]);
	/* Another device, the last page only; then all home. */
	CHECK(kshim_migrate(fd, p + 5 * KPAGE, KPAGE, 0, 0, NULL, &m) == 0 &&
	      m.moved == 1, "dev 1 to dev 0: %s", counts(&m));
	CHECK(kshim_migrate(fd, p, len, SVMSHIM_LOC_HOST, 0, res, &m) == 0 &&
	      m.moved == n - 1 && m.already == 1, "home: %s", counts(&m));
	CHECK(p[KPAGE] == 0 && p[KPAGE + 100] == 0, "zero page not zero");
	for (i = 2; i < n; i++)
		CHECK(p[i * KPAGE] == (char)(0x10 + i) &&
		      p[i * KPAGE + KPAGE - 1] == (char)(0x10 + i),
		      "page %zu lost its data", i);
	/* A hole after the PROT_NONE page: -EFAULT, nothing lost. */
	CHECK(munmap(p + KPAGE, KPAGE) == 0, "munmap");
	CHECK(kshim_migrate(fd, p, len, 0, 0, res, &m) == -EFAULT,
	      "range with a hole not -EFAULT");
	CHECK(kshim_migrate(fd, p + 2 * KPAGE, 4 * KPAGE, 0, 0, NULL, &m) == 0 &&
	      m.moved + m.already == 4, "after the hole: %s", counts(&m));
	for (i = 2; i < n; i++)
		CHECK(p[i * KPAGE] == (char)(0x10 + i), "page %zu lost its data", i);
	munmap(p, len);
	return 0;
}

/*
 * mixedmap: the shim's own mapping (a view, VM_PFNMAP | VM_IO) is no
 * memory to move, pin or snapshot into device memory: SNAPSHOT finds
 * nothing there, MIGRATE says UNSUPPORTED, PIN fails, and a view of a view
 * faults.
 */
static int t_view_mixedmap(void)
{
	size_t len = 64 * KPAGE, n = len / KPAGE;
	char *p = map_anon(len), *v, *vv;
	struct drm_svmshim_snapshot s;
	struct drm_svmshim_migrate m;
	int ret;

	CHECK(p, "mmap");
	v = kshim_view(fd, 0, p, len);
	CHECK(v, "view");
	vfill(v, len, 0xc1);		/* on the device, mapped in the view */
	CHECK(kshim_snapshot(fd, v, len, NULL, &s) == 0, "snapshot of a view");
	CHECK(s.none == n && s.host == 0 && s.device == 0,
	      "view snapshot: none %llu host %llu device %llu",
	      (unsigned long long)s.none, (unsigned long long)s.host,
	      (unsigned long long)s.device);
	CHECK(kshim_migrate(fd, v, len, 1, 0, NULL, &m) == 0 &&
	      m.failed[SVMSHIM_FAIL_UNSUPPORTED] == n, "view to device: %s",
	      counts(&m));
	CHECK(kshim_migrate(fd, v, len, SVMSHIM_LOC_HOST, 0, NULL, &m) == 0 &&
	      m.already == n && m.moved == 0, "view to host: %s", counts(&m));
	ret = kshim_pin(fd, v, len, 0);
	CHECK(ret < 0, "PIN of a view worked");
	vv = kshim_view(fd, 1, v, len);
	if (vv) {
		CHECK(read_faults(vv), "a view of a view was readable");
		munmap(vv, len);
	}
	CHECK(vcheck(p, len, 0xc1) < 0, "data changed");
	munmap(v, len);
	munmap(p, len);
	return 0;
}

/*
 * hmm_gup_test: get_user_pages() on device-resident pages brings them home
 * with their data: /proc/self/mem reads and writes, a FOLL_LONGTERM pin
 * (io_uring buffer registration) that then makes them PINNED, and vmsplice
 * (plain references: not moved while the pipe holds them). A view is no
 * way in: /proc/self/mem cannot read it.
 */
static int t_gup(void)
{
	size_t len = 64 * KPAGE, q = 16 * KPAGE, n = len / KPAGE, i;
	char *p = map_anon(len), *buf = malloc(q), *v;
	struct drm_svmshim_migrate m;
	struct io_uring ring;
	struct iovec iov;
	int mem, pfd[2], ret;
	ssize_t got;
	long bad;

	CHECK(p && buf, "mmap");
	vfill(p, len, 0xd1);
	CHECK(kshim_migrate(fd, p, len, 0, 0, NULL, &m) == 0 && m.moved == n,
	      "to device: %s", counts(&m));
	mem = open("/proc/self/mem", O_RDWR);
	CHECK(mem >= 0, "/proc/self/mem: %s", strerror(errno));
	/* 0-15: read through /proc/self/mem. */
	CHECK(pread(mem, buf, q, (off_t)(uintptr_t)p) == (ssize_t)q,
	      "/proc/self/mem read: %s", strerror(errno));
	for (i = 0; i < q / 8; i++)
		CHECK(((uint64_t *)buf)[i] == (i ^ 0xd1), "mem read word %zu", i);
	/* 16-31: written through /proc/self/mem while on the device. */
	memset(buf, 0x3c, q);
	CHECK(pwrite(mem, buf, q, (off_t)(uintptr_t)(p + q)) == (ssize_t)q,
	      "/proc/self/mem write: %s", strerror(errno));
	for (i = 0; i < q; i++)
		CHECK(p[q + i] == 0x3c, "mem write lost at byte %zu", i);
	/* 32-47: a long-term pin of device-resident pages. */
	ret = io_uring_queue_init(4, &ring, 0);
	CHECK(ret == 0, "io_uring_queue_init: %s", strerror(-ret));
	iov.iov_base = p + 2 * q;
	iov.iov_len = q;
	ret = io_uring_register_buffers(&ring, &iov, 1);
	CHECK(ret == 0, "register_buffers on device pages: %s", strerror(-ret));
	CHECK(count_at(p + 2 * q, q, SVMSHIM_LOC_HOST) == (long)(q / KPAGE),
	      "pinned pages not on the host");
	CHECK(kshim_migrate(fd, p + 2 * q, q, 0, 0, NULL, &m) == 0 &&
	      m.failed[SVMSHIM_FAIL_PINNED] == q / KPAGE, "pinned: %s",
	      counts(&m));
	io_uring_unregister_buffers(&ring);
	io_uring_queue_exit(&ring);
	CHECK(kshim_migrate(fd, p + 2 * q, q, 0, 0, NULL, &m) == 0 &&
	      m.moved == q / KPAGE, "after unregister: %s", counts(&m));
	/* 48-63: vmsplice takes references on them while in the pipe. */
	CHECK(pipe(pfd) == 0, "pipe");
	CHECK(fcntl(pfd[1], F_SETPIPE_SZ, (int)(2 * q)) >= (int)q, "pipe size");
	iov.iov_base = p + 3 * q;
	iov.iov_len = q;
	CHECK(vmsplice(pfd[1], &iov, 1, 0) == (ssize_t)q, "vmsplice: %s",
	      strerror(errno));
	CHECK(kshim_migrate(fd, p + 3 * q, q, 1, 0, NULL, &m) == 0, "migrate");
	/* Plain references, not pins: BUSY (docs/kernel-shim.md). */
	CHECK(m.moved == 0 && m.failed[SVMSHIM_FAIL_BUSY] == q / KPAGE,
	      "pages held by a pipe: %s", counts(&m));
	for (got = 0; got < (ssize_t)q; ) {
		ssize_t r = read(pfd[0], buf + got, q - got);

		CHECK(r > 0, "pipe read");
		got += r;
	}
	for (i = 0; i < q / 8; i++)
		CHECK(((uint64_t *)buf)[i] == ((i + 3 * q / 8) ^ 0xd1),
		      "vmsplice word %zu", i);
	close(pfd[0]);
	close(pfd[1]);
	CHECK(kshim_migrate(fd, p + 3 * q, q, 1, 0, NULL, &m) == 0 &&
	      m.moved == q / KPAGE, "after the pipe: %s", counts(&m));
	/* The view: no get_user_pages() through it. */
	v = kshim_view(fd, 1, p, len);
	CHECK(v, "view");
	(void)*(volatile char *)(v + 3 * q);	/* mapped */
	got = pread(mem, buf, KPAGE, (off_t)(uintptr_t)(v + 3 * q));
	CHECK(got <= 0, "/proc/self/mem read %zd bytes of a view", got);
	got = pwrite(mem, buf, KPAGE, (off_t)(uintptr_t)(v + 3 * q));
	CHECK(got <= 0, "/proc/self/mem wrote %zd bytes into a view", got);
	munmap(v, len);
	close(mem);
	bad = vcheck(p, q, 0xd1);
	CHECK(bad < 0, "pages 0-15 changed at word %ld", bad);
	for (i = 2 * q / 8; i < len / 8; i++)
		CHECK(((uint64_t *)p)[i] == (i ^ 0xd1), "word %zu changed", i);
	munmap(p, len);
	free(buf);
	return 0;
}

/*
 * anon_teardown: the heap is unmapped by another thread while the device
 * reads it, its pages on the host or on the device: every read gives the
 * right data or faults, the device pages all come back, and the view ends
 * up with nothing.
 */
struct teardown {
	char *p;
	size_t len;
	volatile int started;		/* the device has read its first page */
};

static void *teardown_unmap(void *arg)
{
	struct teardown *t = arg;

	while (!t->started)
		sched_yield();
	munmap(t->p, t->len);
	return NULL;
}

static int t_view_teardown(void)
{
	size_t len = 64 * KPAGE, i;
	uint64_t before = dev_free(0);
	struct sigaction sa, old;
	int c, faulted = 0, complete = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigbus;
	for (c = 0; c < 40; c++) {
		struct teardown t = { .p = map_anon(len), .len = len };
		volatile uint64_t *w;
		volatile size_t k = 0;
		pthread_t th;
		char *v;

		CHECK(t.p, "mmap");
		vfill(t.p, len, 0xe0 + c);
		if (c & 1)
			CHECK(kshim_migrate(fd, t.p, len / 2, 0, 0, NULL, NULL) == 0,
			      "migrate");
		v = kshim_view(fd, 0, t.p, len);
		CHECK(v, "view");
		w = (volatile uint64_t *)v;
		CHECK(pthread_create(&th, NULL, teardown_unmap, &t) == 0,
		      "pthread_create");
		sigaction(SIGBUS, &sa, &old);
		if (sigsetjmp(bus_jmp, 1) == 0) {
			for (k = 0; k < len / 8; k++) {
				if (w[k] != (k ^ (0xe0 + c)))
					break;
				if (k == KPAGE / 8)
					t.started = 1;
			}
			t.started = 1;
			if (k == len / 8)
				complete++;
		} else {
			faulted++;
			t.started = 1;
			k = len / 8;
		}
		sigaction(SIGBUS, &old, NULL);
		pthread_join(th, NULL);
		CHECK(k == len / 8, "round %d: device read a wrong word %zu", c,
		      (size_t)k);
		for (i = 0; i < len; i += 8 * KPAGE)
			CHECK(read_faults(v + i),
			      "round %d: view page %zu readable after munmap", c,
			      i / KPAGE);
		munmap(v, len);
	}
	CHECK(dev_free(0) == before, "device pages not returned: %llu vs %llu",
	      (unsigned long long)dev_free(0), (unsigned long long)before);
	printf("INFO: view_teardown: %d reads complete, %d faulted\n",
	       complete, faulted);
	return 0;
}

/*
 * double_map: two devices read the same read-only memory through their
 * views, then the pages move to device 1 and device 0 still reads them
 * right; neither can write; once writable, a write by one is what the
 * other and the CPU read.
 */
static int t_view_double_map(void)
{
	size_t len = 64 * KPAGE, n = len / KPAGE, i;
	char *p = map_anon(len), *v0, *v1;
	struct drm_svmshim_migrate m;
	long bad;

	CHECK(p, "mmap");
	vfill(p, len, 0xf1);
	CHECK(mprotect(p, len, PROT_READ) == 0, "mprotect");
	v0 = kshim_view(fd, 0, p, len);
	v1 = kshim_view(fd, 1, p, len);
	CHECK(v0 && v1, "views");
	bad = vcheck(v0, len, 0xf1);
	CHECK(bad < 0, "device 0 read word %ld", bad);
	bad = vcheck(v1, len, 0xf1);
	CHECK(bad < 0, "device 1 read word %ld", bad);
	CHECK(kshim_migrate(fd, p, len, 1, 0, NULL, &m) == 0 &&
	      m.moved + m.already == n, "to device 1: %s", counts(&m));
	bad = vcheck(v0, len, 0xf1);
	CHECK(bad < 0, "device 0 read word %ld after the move", bad);
	bad = vcheck(v1, len, 0xf1);
	CHECK(bad < 0, "device 1 read word %ld after the move", bad);
	for (i = 0; i < len; i += 16 * KPAGE)
		CHECK(write_faults(v0 + i, 1) && write_faults(v1 + i, 1),
		      "a device wrote read-only page %zu", i / KPAGE);
	bad = vcheck(p, len, 0xf1);
	CHECK(bad < 0, "CPU read word %ld", bad);
	CHECK(mprotect(p, len, PROT_READ | PROT_WRITE) == 0, "mprotect");
	vfill(v0, len, 0xf2);
	bad = vcheck(v1, len, 0xf2);
	CHECK(bad < 0, "device 1 missed device 0's write at word %ld", bad);
	bad = vcheck(p, len, 0xf2);
	CHECK(bad < 0, "CPU missed device 0's write at word %ld", bad);
	munmap(v0, len);
	munmap(v1, len);
	munmap(p, len);
	return 0;
}

/*
 * MIGRATE and SNAPSHOT while another thread maps and unmaps views of
 * their range: views coming and going change nothing of what they do.
 */
struct vlife {
	char *p;
	size_t len;
	volatile int stop;
	unsigned long views;
};

static void *vlife_mapper(void *arg)
{
	struct vlife *l = arg;

	while (!l->stop) {
		char *v = kshim_view(fd, l->views & 1, l->p, l->len);

		if (!v)
			continue;
		(void)*(volatile char *)(v + (l->views % 16) * KPAGE);
		munmap(v, l->len);
		l->views++;
	}
	return NULL;
}

static int t_view_borrow(void)
{
	size_t len = 64 * KPAGE, n = len / KPAGE;
	struct vlife l = { .p = map_anon(len), .len = len };
	struct drm_svmshim_migrate m;
	struct drm_svmshim_snapshot s;
	pthread_t th;
	int i, ret = 0;
	long bad;

	CHECK(l.p, "mmap");
	vfill(l.p, len, 0x61);
	CHECK(pthread_create(&th, NULL, vlife_mapper, &l) == 0, "pthread_create");
	for (i = 0; i < 300 && !ret; i++) {
		int dest = i % 3 == 2 ? SVMSHIM_LOC_HOST : i % 3;

		ret = kshim_migrate(fd, l.p, len, dest, 0, NULL, &m);
		if (!ret && m.moved + m.already + m.failed[SVMSHIM_FAIL_BUSY] != n)
			ret = -1000;
		if (!ret)
			ret = kshim_snapshot(fd, l.p, len, NULL, &s);
		if (!ret && s.host + s.device + s.none != n)
			ret = -1001;
	}
	l.stop = 1;
	pthread_join(th, NULL);
	CHECK(!ret, "round %d: %d (%s)", i, ret, counts(&m));
	CHECK(l.views > 0, "no view was mapped");
	bad = vcheck(l.p, len, 0x61);
	CHECK(bad < 0, "data corrupted at word %ld", bad);
	printf("INFO: view_borrow: %d calls, %lu views mapped and unmapped\n",
	       i, l.views);
	munmap(l.p, len);
	return 0;
}

/*
 * Issue 19 item 3: a secondary MMU on a view (an mmu notifier registered
 * on the view's range: a KVM memslot, an IOMMU bound with SVA) must hear
 * of every clear of a view PTE. Not yet: the heap notifier clears the
 * view's PTEs by hand from inside the heap's invalidation, where no
 * invalidation of the view's range may start (it would nest), so no
 * notifier on the view range is called. The scheme that would make it so
 * (view PTEs holding page references, a deferred notifier cycle on the
 * view range before they are dropped) is in docs/kernel-shim.md,
 * "Secondary MMUs on a view"; this test turns into the check (a
 * test-only interval notifier on the view range counting clears) when it
 * lands.
 */
/* debug_view_stats of the module (see svmshim_view.c), -1s when absent. */
struct vstats {
	long tracked, notified, stale, released, fault_waits;
};

static int view_stats(struct vstats *s)
{
	FILE *f = fopen(KSHIM_PARAM_DIR "debug_view_stats", "re");
	int n;

	memset(s, 0xff, sizeof(*s));
	if (!f)
		return -1;
	n = fscanf(f, "tracked %ld notified %ld stale %ld released %ld fault_waits %ld",
		   &s->tracked, &s->notified, &s->stale, &s->released,
		   &s->fault_waits);
	fclose(f);
	return n == 5 ? 0 : -1;
}

/*
 * Issue 19 item 3: every view PTE the shim clears is told to the view's
 * secondary MMUs before the page it mapped is let go. With debug_view_mmu
 * each new view gets a mirror notifier on its own range that "translates"
 * every view PTE installed and forgets what an invalidation of the view
 * range covers; a page let go while the mirror still holds it, or found
 * freed when the mirror is told, counts as stale. Clears by the heap's
 * invalidation (MIGRATE of device pages home, munmap of host pages mapped
 * in place, whose pages the view's reference must keep allocated) are
 * told by a drain (SNAPSHOT drains inline). Then debug_view_mmu=2, a drain
 * that lets go without telling, must be caught: the check itself works.
 */
static int t_view_secondary_mmu(void)
{
	size_t len = 64 * KPAGE, half = len / 2, pages = len / KPAGE, i;
	volatile char *view;
	struct vstats s0, s1, s2, s3;
	char *heap;
	long sum = 0;

	if (kshim_param_set("debug_view_mmu", 1) || view_stats(&s0))
		SKIPF("module without debug_view_mmu/debug_view_stats");
	heap = map_anon(len);
	CHECK(heap, "mmap");
	fill(heap, len, 19);
	view = kshim_view(fd, 0, heap, len);
	CHECK(view, "view");

	/* 1: device pages, mapped through the view, then moved home. */
	for (i = 0; i < pages / 2; i++)
		sum += view[i * KPAGE];
	CHECK(view_stats(&s1) == 0 && s1.tracked - s0.tracked >= (long)pages / 2,
	      "mirror holds %ld entries, want >= %zu", s1.tracked - s0.tracked,
	      pages / 2);
	CHECK(kshim_migrate(fd, heap, half, SVMSHIM_LOC_HOST, 0, NULL, NULL) == 0,
	      "migrate home");

	/* 2: host pages mapped in place, then unmapped from the heap. */
	CHECK(kshim_attr(fd, heap + half, half, 0, SVMSHIM_LOC_HOST, 0, 0) == 0,
	      "attr");
	for (i = pages / 2; i < pages; i++)
		sum += view[i * KPAGE];
	CHECK(!memcmp((const void *)(view + half), heap + half, half),
	      "in-place view pages differ from the heap");
	CHECK(munmap(heap + half, half) == 0, "munmap");
	CHECK(kshim_snapshot(fd, heap, half, NULL, NULL) == 0,
	      "snapshot");
	CHECK(view_stats(&s2) == 0, "stats");
	CHECK(s2.stale == s0.stale, "%ld view PTE clears let their page go untold",
	      s2.stale - s0.stale);
	CHECK(s2.tracked == s0.tracked,
	      "the mirror still translates %ld cleared view pages",
	      s2.tracked - s0.tracked);
	CHECK(s2.notified - s0.notified >= (long)pages,
	      "mirror told of %ld clears, want >= %zu", s2.notified - s0.notified,
	      pages);
	CHECK(s2.released - s0.released >= (long)pages,
	      "%ld references released, want >= %zu", s2.released - s0.released,
	      pages);

	/* 3: a drain that does not tell is seen. */
	CHECK(kshim_param_set("debug_view_mmu", 2) == 0, "debug_view_mmu=2");
	for (i = 0; i < pages / 4; i++)
		sum += view[i * KPAGE];
	CHECK(kshim_migrate(fd, heap, half, SVMSHIM_LOC_HOST, 0, NULL, NULL) == 0,
	      "migrate home");
	CHECK(kshim_snapshot(fd, heap, half, NULL, NULL) == 0,
	      "snapshot");
	CHECK(kshim_param_set("debug_view_mmu", 1) == 0, "debug_view_mmu=1");
	CHECK(view_stats(&s3) == 0 && s3.stale - s2.stale >= (long)pages / 4,
	      "an untold release went unseen (stale %ld, want >= %zu)",
	      s3.stale - s2.stale, pages / 4);

	munmap((void *)view, len);
	munmap(heap, half);
	CHECK(view_stats(&s3) == 0 && s3.tracked == s0.tracked,
	      "mirror entries left after munmap: %ld", s3.tracked - s0.tracked);
	printf("INFO: view_secondary_mmu: %ld clears told, %ld references released (sum %ld)\n",
	       s2.notified - s0.notified, s2.released - s0.released, sum);
	kshim_param_set("debug_view_mmu", 0);
	return 0;
}

/*
 * The references that view PTEs hold (issue 19 item 3) never make a
 * MIGRATE report BUSY: host pages that two views map in place move to a
 * device at the first try, no retry rounds, and the views then read the
 * same data from there.
 */
static int t_view_ref_migrate(void)
{
	size_t len = 32 * KPAGE, pages = len / KPAGE, i;
	struct drm_svmshim_migrate m;
	volatile char *v0, *v1;
	char *heap = map_anon(len);
	long sum = 0;

	CHECK(heap, "mmap");
	fill(heap, len, 23);
	v0 = kshim_view(fd, 0, heap, len);
	v1 = kshim_view(fd, 1, heap, len);
	CHECK(v0 && v1, "views");
	CHECK(kshim_attr(fd, heap, len, 0, SVMSHIM_LOC_HOST, 0, 0) == 0, "attr");
	for (i = 0; i < pages; i++)
		sum += v0[i * KPAGE] + v1[i * KPAGE];
	CHECK(count_at(heap, len, SVMSHIM_LOC_HOST) == (long)pages,
	      "in-place reads moved pages");
	CHECK(kshim_migrate(fd, heap, len, 0, 0, NULL, &m) == 0, "migrate");
	CHECK(m.moved == pages && !m.failed[SVMSHIM_FAIL_BUSY],
	      "moved %llu of %zu, %llu BUSY", (unsigned long long)m.moved,
	      pages, (unsigned long long)m.failed[SVMSHIM_FAIL_BUSY]);
	CHECK(!memcmp((const void *)v0, heap, len) &&
	      !memcmp((const void *)v1, heap, len), "views read other data");
	CHECK(check(heap, len, 23) < 0, "data changed");
	printf("INFO: view_ref_migrate: %zu pages moved (sum %ld)\n", pages, sum);
	munmap((void *)v0, len);
	munmap((void *)v1, len);
	munmap(heap, len);
	return 0;
}

/*
 * Issue 18 item 4: threads that fault one granule through a view at once
 * do not collide in migrate_vma_setup(): the later faults wait for the
 * first one's migration and map its result. So exactly one fault per
 * round migrates (the others are RESIDENT), and with no retry rounds a
 * collision would also show as a BUSY failure of a device fault.
 */
#define FC_THREADS	4
#define FC_ROUNDS	20
#define FC_GRANULE	(512 * KPAGE)

struct fcollide {
	volatile char *view;
	size_t off;
	pthread_barrier_t *bar;
	long bad;
};

static void *fc_thread(void *arg)
{
	struct fcollide *c = arg;
	int r;

	for (r = 0; r < FC_ROUNDS; r++) {
		pthread_barrier_wait(c->bar);
		if (c->view[c->off] != (char)(r + 1))
			c->bad++;
		pthread_barrier_wait(c->bar);
	}
	return NULL;
}

static int t_view_fault_collide(void)
{
	static struct drm_svmshim_event ev[EVCAP];
	struct fcollide c[FC_THREADS];
	pthread_t th[FC_THREADS];
	pthread_barrier_t bar;
	struct vstats s0, s1;
	long n, i, busy = 0, faults = 0, bad = 0, homes = 0, migrating = 0, per;
	int shown = 0;
	volatile char *view;
	/* One granule, aligned (6.1 does not align large anonymous maps). */
	char *raw = map_anon(2 * FC_GRANULE), *heap;
	int t, r, have_stats;

	CHECK(raw, "mmap");
	heap = (char *)(((uintptr_t)raw + FC_GRANULE - 1) & ~(FC_GRANULE - 1));
	memset(heap, 0, FC_GRANULE);
	view = kshim_view(fd, 0, heap, FC_GRANULE);
	CHECK(view, "view");
	CHECK(kshim_attr(fd, heap, FC_GRANULE, 0, SVMSHIM_LOC_NONE, 0,
			 FC_GRANULE) == 0, "attr");
	have_stats = view_stats(&s0) == 0;
	kshim_events(fd, ev, EVCAP, NULL);
	pthread_barrier_init(&bar, NULL, FC_THREADS + 1);
	for (t = 0; t < FC_THREADS; t++) {
		c[t] = (struct fcollide){ .view = view, .bar = &bar,
					  .off = t * (FC_GRANULE / FC_THREADS) };
		pthread_create(&th[t], NULL, fc_thread, &c[t]);
	}
	for (r = 0; r < FC_ROUNDS; r++) {
		for (t = 0; t < FC_THREADS; t++)
			heap[c[t].off] = (char)(r + 1);
		pthread_barrier_wait(&bar);	/* all fault at once */
		pthread_barrier_wait(&bar);	/* all done */
		homes += kshim_migrate(fd, heap, FC_GRANULE, SVMSHIM_LOC_HOST, 0,
				       NULL, NULL) == 0;
		n = kshim_events(fd, ev, EVCAP, NULL);
		for (i = 0, per = 0; i < n; i++)
			per += ev[i].type == SVMSHIM_EVENT_DEVICE_FAULT &&
			       ev[i].class == SVMSHIM_FAULT_MIGRATED;
		/* A round that went wrong: what happened, for the log. */
		for (i = 0; per != 1 && shown < 3 && i < n; i++)
			printf("INFO: view_fault_collide: round %d: event %u class %u dev %d page %ld pages %llu flags %#x\n",
			       r, ev[i].type, ev[i].class, ev[i].device,
			       (long)((ev[i].addr - (uintptr_t)heap) / KPAGE),
			       (unsigned long long)ev[i].pages, ev[i].flags);
		shown += per != 1;
		for (i = 0; i < n; i++) {
			if (ev[i].type == SVMSHIM_EVENT_DEVICE_FAULT)
				faults++;
			if (ev[i].type == SVMSHIM_EVENT_DEVICE_FAULT &&
			    ev[i].class == SVMSHIM_FAULT_MIGRATED)
				migrating++;
			if (ev[i].type == SVMSHIM_EVENT_FAILURE &&
			    (ev[i].flags & SVMSHIM_EVENT_BY_FAULT) &&
			    ev[i].class == SVMSHIM_FAIL_BUSY)
				busy += ev[i].pages;
		}
	}
	for (t = 0; t < FC_THREADS; t++) {
		pthread_join(th[t], NULL);
		bad += c[t].bad;
	}
	pthread_barrier_destroy(&bar);
	CHECK(homes == FC_ROUNDS, "%ld of %d MIGRATE calls failed",
	      FC_ROUNDS - homes, FC_ROUNDS);
	CHECK(!bad, "%ld reads through the view saw stale data", bad);
	CHECK(faults >= FC_ROUNDS, "%ld device faults in %d rounds", faults,
	      FC_ROUNDS);
	CHECK(!busy, "device faults on one granule collided: %ld pages BUSY", busy);
	if (have_stats && view_stats(&s1) == 0)
		printf("INFO: view_fault_collide: %ld device faults, %ld of them migrated, %ld waited for a granule in flight\n",
		       faults, migrating, s1.fault_waits - s0.fault_waits);
	else
		printf("INFO: view_fault_collide: %ld device faults, %ld of them migrated\n",
		       faults, migrating);
	/* One fault per round moves the granule; the others map its result. */
	CHECK(migrating == FC_ROUNDS, "%ld faults migrated the granule in %d rounds",
	      migrating, FC_ROUNDS);
	munmap((void *)view, FC_GRANULE);
	munmap(raw, 2 * FC_GRANULE);
	return 0;
}

static const struct test tests[] = {
	{ "info", t_info },
	{ "badargs", t_badargs },
	{ "snapshot_none", t_snapshot_none },
	{ "migrate_read", t_migrate_read },
	{ "migrate_back", t_migrate_back },
	{ "dev_to_dev", t_dev_to_dev },
	{ "unpopulated", t_unpopulated },
	{ "readonly", t_readonly },
	{ "fork", t_fork },
	{ "shared", t_shared },
	{ "munmap", t_munmap },
	{ "exit", t_exit },
	{ "close", t_close },
	{ "many_ranges", t_many_ranges },
	{ "thp", t_thp },
	{ "pin", t_pin },
	{ "io_uring", t_io_uring },
	{ "threads", t_threads },
	{ "fault_race", t_fault_race },
	{ "exhaust", t_exhaust },
	{ "pipe", t_pipe },
	{ "inject_args", t_inject_args },
	{ "inject_busy", t_inject_busy },
	{ "inject_pinned", t_inject_pinned },
	{ "inject_unsupported", t_inject_unsupported },
	{ "inject_nomem", t_inject_nomem },
	{ "inject_budget", t_inject_budget },
	{ "inject_cpu_fault", t_inject_cpu_fault },
	{ "inject_race", t_inject_race },
	{ "inject_kill", t_inject_kill },
	{ "view_args", t_view_args },
	{ "view_migrate", t_view_migrate },
	{ "view_prefetch", t_view_prefetch },
	{ "view_thrash", t_view_thrash },
	{ "view_prefetch_counts", t_view_prefetch_counts },
	{ "view_prefetch_arrived", t_view_prefetch_arrived },
	{ "view_prefetch_evict", t_view_prefetch_evict },
	{ "view_prefetch_evict_other", t_view_prefetch_evict_other },
	{ "view_pingpong", t_view_pingpong },
	{ "view_in_place", t_view_in_place },
	{ "view_pinned", t_view_pinned },
	{ "view_read_mostly", t_view_read_mostly },
	{ "view_zero", t_view_zero },
	{ "view_zero_in_place", t_view_zero_in_place },
	{ "view_fork", t_view_fork },
	{ "view_munmap", t_view_munmap },
	{ "view_race", t_view_race },
	{ "view_events", t_view_events },
	{ "view_exit", t_view_exit },
	{ "numa_home", t_numa_home },
	{ "view_cow", t_view_cow },
	{ "view_cow_exited", t_view_cow_exited },
	{ "view_cow_threads", t_view_cow_threads },
	{ "view_attr_zap", t_view_attr_zap },
	{ "view_evict_pref", t_view_evict_pref },
	{ "inject_backoff", t_inject_backoff },
	{ "inject_cpu_count", t_inject_cpu_count },
	{ "view_mremap", t_view_mremap },
	{ "view_dofork", t_view_dofork },
	{ "evict_race", t_evict_race },
	{ "view_dirty", t_view_dirty },
	{ "prot_none", t_prot_none },
	{ "thp_pte", t_thp_pte },
	{ "drain_reclassify", t_drain_reclassify },
	{ "attr_many", t_attr_many },
	{ "limits", t_limits },
	{ "pin_limits", t_pin_limits },
	{ "view_fault_budget", t_view_fault_budget },
	{ "view_write_only", t_view_write_only },
	{ "view_prot", t_view_prot },
	{ "view_child_shared", t_view_child_shared },
	{ "hugetlb", t_hugetlb },
	{ "file_rw", t_file_rw },
	{ "migrate_file_private", t_migrate_file_private },
	{ "migrate_mixed", t_migrate_mixed },
	{ "view_mixedmap", t_view_mixedmap },
	{ "gup", t_gup },
	{ "view_teardown", t_view_teardown },
	{ "view_double_map", t_view_double_map },
	{ "view_borrow", t_view_borrow },
	{ "view_secondary_mmu", t_view_secondary_mmu },
	{ "view_fault_collide", t_view_fault_collide },
	{ "view_ref_migrate", t_view_ref_migrate },
};

#define NTESTS (sizeof(tests) / sizeof(tests[0]))

static int run(const struct test *t)
{
	int pfd[2], status, ret;
	char buf[sizeof(why)];
	double t0 = now_sec();
	ssize_t len;
	pid_t pid;

	if (pipe(pfd))
		return 1;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		/* A file of its own: views, attributes and events start empty. */
		int tfd = kshim_open();

		if (tfd >= 0)
			fd = tfd;
		close(pfd[0]);
		why[0] = 0;
		ret = t->fn();
		if (write(pfd[1], why, strlen(why)) < 0)
			ret = 1;
		fflush(stdout);
		_exit(ret);
	}
	close(pfd[1]);
	len = read(pfd[0], buf, sizeof(buf) - 1);
	buf[len > 0 ? len : 0] = 0;
	close(pfd[0]);
	if (pid > 0 && waitpid(pid, &status, 0) != pid)
		pid = -1;
	/* Whatever the test did: fault injection off for the next one. */
	inject_off();
	kshim_param_set("debug_view_mmu", 0);	/* absent before issue 19/3 */
	if (pid < 0) {
		printf("FAIL: %s: fork/wait\n", t->name);
		return 1;
	}
	if (WIFSIGNALED(status)) {
		printf("FAIL: %s: killed by signal %d\n", t->name,
		       WTERMSIG(status));
		return 1;
	}
	ret = WEXITSTATUS(status);
	if (ret == 0)
		printf("PASS: %s (%.1f s)\n", t->name, now_sec() - t0);
	else if (ret == 2)
		printf("SKIP: %s: %s\n", t->name, buf);
	else
		printf("FAIL: %s: %s\n", t->name, buf);
	fflush(stdout);
	return ret;
}

int main(int argc, char **argv)
{
	int pass = 0, fail = 0, skip = 0, i, ret;
	size_t t;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 1 && !strcmp(argv[1], "-l")) {
		for (t = 0; t < NTESTS; t++)
			printf("%s\n", tests[t].name);
		return 0;
	}
	fd = kshim_open();
	if (fd < 0) {
		printf("FAIL: open: no svmshim render node\n");
		return 1;
	}
	if (argc == 3 && !strcmp(argv[1], "--hold"))
		return hold_pages(argv[2]);
	for (t = 0; t < NTESTS; t++) {
		int selected = argc == 1;

		for (i = 1; i < argc; i++)
			selected |= !strcmp(argv[i], tests[t].name);
		if (!selected)
			continue;
		ret = run(&tests[t]);
		if (ret == 0)
			pass++;
		else if (ret == 2)
			skip++;
		else
			fail++;
	}
	printf("kshim-tests: %d pass, %d fail, %d skip\n", pass, fail, skip);
	return fail ? 1 : 0;
}
