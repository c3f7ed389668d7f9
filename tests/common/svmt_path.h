/* SPDX-License-Identifier: MIT */
/*
 * Which way the user backend moves pages in this process: with UFFDIO_MOVE
 * (the kernel has it and SVM_USER_UFFD_MOVE is not 0) or by copying. Tests
 * print it, so a run on a kernel without UFFDIO_MOVE (6.1) shows that it
 * really took the copy path.
 */
#ifndef SVMT_PATH_H
#define SVMT_PATH_H

#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef UFFD_FEATURE_MOVE
#define UFFD_FEATURE_MOVE (1 << 16)
#endif

/* Does this kernel's userfaultfd offer UFFDIO_MOVE? */
static inline bool svmt_kernel_has_uffd_move(void)
{
	struct uffdio_api api = { .api = UFFD_API };
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	bool have;

	if (fd < 0)
		fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | 1 /* user mode only */);
	if (fd < 0)
		return false;
	have = ioctl(fd, UFFDIO_API, &api) == 0 && (api.features & UFFD_FEATURE_MOVE);
	close(fd);
	return have;
}

/* true: the user backend moves with UFFDIO_MOVE; *why says which path and why */
static inline bool svmt_user_moves(const char **why)
{
	const char *e = getenv("SVM_USER_UFFD_MOVE");
	bool kernel = svmt_kernel_has_uffd_move();

	if (e && (!strcmp(e, "0") || !strcasecmp(e, "no") || !strcasecmp(e, "off") ||
		  !strcasecmp(e, "false"))) {
		*why = kernel ? "copy path (SVM_USER_UFFD_MOVE=0; the kernel has UFFDIO_MOVE)" :
				"copy path (SVM_USER_UFFD_MOVE=0; the kernel lacks UFFDIO_MOVE)";
		return false;
	}
	*why = kernel ? "move path (UFFDIO_MOVE)" : "copy path (the kernel lacks UFFDIO_MOVE)";
	return kernel;
}

#endif
