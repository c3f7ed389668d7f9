/* SPDX-License-Identifier: MIT */
/*
 * Kernel-mode access to device-resident SVM memory: read() from a pipe
 * into a buffer on the device (the kernel's copy faults the pages home)
 * and write() from a buffer on the device into a pipe. This needs a
 * userfaultfd without UFFD_USER_MODE_ONLY; where only user-mode faults can
 * be handled (unprivileged, vm.unprivileged_userfaultfd=0, no access to
 * /dev/userfaultfd) the test says SKIP.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>

#include "svmtest.h"

#define NPAGES 16

#ifndef USERFAULTFD_IOC_NEW
#define USERFAULTFD_IOC_NEW _IO(0xAA, 0x00)
#endif

static size_t pg;

/* Can this process get a userfaultfd that also handles kernel faults? */
static int kernel_faults_allowed(char *why, size_t len)
{
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	int err = errno;
	int dev;

	if (fd >= 0) {
		close(fd);
		return 1;
	}
	dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
	if (dev >= 0) {
		fd = ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK);
		close(dev);
		if (fd >= 0) {
			close(fd);
			return 1;
		}
	}
	snprintf(why, len,
		 "only user-mode userfaultfd is available (userfaultfd: %s; "
		 "/dev/userfaultfd not usable): read() into device memory "
		 "needs root, access to /dev/userfaultfd or "
		 "vm.unprivileged_userfaultfd=1",
		 strerror(err));
	return 0;
}

static void write_all(int fd, const void *buf, size_t n)
{
	ssize_t w = write(fd, buf, n);

	CHECK_MSG(w == (ssize_t)n, "write(%zu) returned %zd (%s)", n, w,
		  w < 0 ? strerror(errno) : "short");
}

static void read_all(int fd, void *buf, size_t n)
{
	size_t done = 0;

	while (done < n) {
		ssize_t r = read(fd, (char *)buf + done, n - done);

		CHECK_MSG(r > 0, "read(%zu) returned %zd (%s)", n - done, r,
			  r < 0 ? strerror(errno) : "end of file");
		done += (size_t)r;
	}
}

static unsigned char expect_byte(size_t i)
{
	return (unsigned char)(i * 29 + 3);
}

/* read() from a pipe into device pages, at an offset spanning pages. */
static void check_read_into_device(unsigned char *buf, int fds[2])
{
	size_t off = pg + 10, n = 3 * pg;
	unsigned char *src = malloc(n);
	svm_stats_t before, after;

	CHECK(src != NULL);
	for (size_t i = 0; i < n; i++)
		src[i] = (unsigned char)(i ^ 0x5a);
	CHECK_OK(svm_prefetch(buf, NPAGES * pg, 0, NULL));
	CHECK_EQ(svmt_count_at(buf, NPAGES * pg, 0), NPAGES);

	before = svmt_stats();
	write_all(fds[1], src, n);
	read_all(fds[0], buf + off, n);
	after = svmt_stats();
	CHECK_GE(after.cpu_faults - before.cpu_faults, 1);
	/* The pages the kernel wrote are home; the others did not move. */
	for (size_t p = 1; p <= 4; p++)
		CHECK_EQ(svmt_location(buf + p * pg), SVM_HOST);
	CHECK_EQ(svmt_location(buf + 8 * pg), 0);
	for (size_t i = 0; i < NPAGES * pg; i++) {
		unsigned char want = (i >= off && i < off + n) ?
					     src[i - off] : expect_byte(i);

		CHECK_MSG(buf[i] == want, "byte %zu is %u, expected %u", i,
			  buf[i], want);
	}
	/* Put the original bytes back for the next check. */
	for (size_t i = off; i < off + n; i++)
		buf[i] = expect_byte(i);
	free(src);
}

/* write() from device pages into a pipe. */
static void check_write_from_device(unsigned char *buf, int fds[2])
{
	size_t off = 5 * pg + 100, n = 2 * pg;
	unsigned char *dst = malloc(n);

	CHECK(dst != NULL);
	CHECK_OK(svm_prefetch(buf, NPAGES * pg, 0, NULL));
	write_all(fds[1], buf + off, n);
	read_all(fds[0], dst, n);
	for (size_t i = 0; i < n; i++)
		CHECK_MSG(dst[i] == expect_byte(off + i),
			  "piped byte %zu is %u, expected %u", i, dst[i],
			  expect_byte(off + i));
	free(dst);
}

int main(void)
{
	char why[512];
	unsigned char *buf;
	int fds[2];

	svmt_default_env("SVM_GRANULARITY", "4K");
	pg = svmt_page_size();
	svmt_init();
	/* on kshim the kernel's own accesses fault through migrate_to_ram: always */
	if (strcmp(svmt_backend(), "kshim") && !kernel_faults_allowed(why, sizeof(why)))
		svmt_skip("%s", why);
	buf = svmt_alloc(NPAGES * pg);
	for (size_t i = 0; i < NPAGES * pg; i++)
		buf[i] = expect_byte(i);
	CHECK(pipe(fds) == 0);

	for (int r = 0; r < 3; r++) {
		check_read_into_device(buf, fds);
		check_write_from_device(buf, fds);
	}
	close(fds[0]);
	close(fds[1]);
	CHECK_OK(svm_free(buf));
	CHECK_OK(svm_finalize());
	printf("read()/write() with device-resident buffers: ok\n");
	return 0;
}
