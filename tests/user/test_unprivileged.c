/* SPDX-License-Identifier: MIT */
/*
 * An unprivileged process where only user-mode userfaultfd is allowed
 * (vm.unprivileged_userfaultfd=0, no access to /dev/userfaultfd): svm_init
 * still works, device kernels and host faults work, the log says once
 * what will not work and how to allow it, and a read() into device memory
 * fails with EFAULT as documented instead of hanging. Run as root, the
 * test drops to nobody in a child; where the machine allows unprivileged
 * kernel-mode userfaultfd it checks that nothing is logged instead.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "svmtest.h"

#define NPAGES 16

static void add_one(const svm_kernel_ctx_t *ctx, size_t i, void *arg)
{
	uint64_t *a = svm_device_ptr(ctx, arg);

	a[i * 512] += 1;
}

static int sysctl_allows(void)
{
	FILE *f = fopen("/proc/sys/vm/unprivileged_userfaultfd", "r");
	int v = 0;

	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v;
}

static void child(int logfd)
{
	size_t pg = svmt_page_size(), bytes = NPAGES * pg;
	uint64_t *a;
	int p[2];

	*svmt_in_child() = 1;
	if (setgid(65534) || setuid(65534)) {
		printf("SKIP: cannot become nobody: %s\n", strerror(errno));
		_exit(77);
	}
	/*
	 * Dropping root made this process non-dumpable, which a user's own
	 * process is not; it would also hide /proc/self/pagemap, which the
	 * copy path needs to look for pins (without it pages stay home).
	 */
	prctl(PR_SET_DUMPABLE, 1);
	dup2(logfd, 2);
	svmt_init();
	a = svmt_alloc(bytes);
	for (size_t i = 0; i < NPAGES; i++)
		a[i * 512] = i;
	CHECK_OK(svm_launch(0, NPAGES, add_one, a)); /* device faults */
	for (size_t i = 0; i < NPAGES; i++)         /* CPU faults */
		CHECK_EQ(a[i * 512], i + 1);
	/* a kernel-mode access to a page on the device */
	CHECK_OK(svm_prefetch(a, bytes, 0, NULL));
	CHECK(pipe(p) == 0);
	CHECK(write(p[1], "svmrt", 5) == 5);
	ssize_t got = read(p[0], a, 5);
	int err = errno;

	if (sysctl_allows())
		CHECK_EQ(got, 5);
	else
		CHECK_MSG(got == -1 && err == EFAULT, "read() returned %zd (%s), expected EFAULT",
			  got, strerror(err));
	CHECK_EQ(a[512], 2); /* the page came home on the host's own access */
	CHECK_OK(svm_free(a));
	CHECK_OK(svm_finalize());
	_exit(0);
}

int main(void)
{
	char log[8192] = "";
	int lp[2], st;
	ssize_t n, len = 0;
	pid_t pid;
	const char *needle = "limited to user-mode faults";

	svmt_init();
	svmt_skip_on_kshim("userfaultfd privileges are the user backend's; the shim's render "
			   "node permissions are covered by unit.kshim_absent's message");
	CHECK_OK(svm_finalize());
	if (geteuid() != 0)
		svmt_skip("needs root to drop to nobody (run as root, as CI does)");
	if (access("/dev/userfaultfd", F_OK) == 0) {
		struct stat sb;

		if (stat("/dev/userfaultfd", &sb) == 0 && (sb.st_mode & 0006))
			svmt_skip("/dev/userfaultfd is open to everyone here");
	}
	CHECK(pipe(lp) == 0);
	fflush(stdout);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		close(lp[0]);
		child(lp[1]);
	}
	close(lp[1]);
	while ((n = read(lp[0], log + len, sizeof(log) - 1 - (size_t)len)) > 0)
		len += n;
	log[len] = 0;
	CHECK(waitpid(pid, &st, 0) == pid);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 77)
		svmt_skip("the child could not become nobody");
	CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child failed; its log:\n%s", log);
	char *first = strstr(log, needle);

	if (sysctl_allows()) {
		CHECK_MSG(!first, "warned although unprivileged userfaultfd is allowed:\n%s", log);
	} else {
		CHECK_MSG(first, "no warning about user-mode-only userfaultfd; log:\n%s", log);
		CHECK_MSG(!strstr(first + 1, needle), "warned more than once:\n%s", log);
		CHECK(strstr(log, "vm.unprivileged_userfaultfd") != NULL);
	}
	printf("PASS unprivileged: svm_init works, %s\n",
	       sysctl_allows() ? "no warning needed" : "one warning, read() gets EFAULT");
	return 0;
}
