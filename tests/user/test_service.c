/* SPDX-License-Identifier: MIT */
/*
 * The user backend's fault-service thread under its own errors, and a CPU
 * fault whose page can never come home. Each case runs in a child process
 * (this program again, with the environment of the case) and is judged by
 * how the child ends and what it said on stderr:
 *   transient  SVM_USER_SERVICE_FAIL=transient=300: 300 polls fail with
 *              EINTR/ENOMEM/EAGAIN; the workload completes with exact data
 *              and the log shows the errors were met
 *   fatal      SVM_USER_SERVICE_FAIL=fatal: the read of the first fault
 *              fails with EIO; the child aborts with a message, no hang
 *   timeout    every move to the host fails (SVM_INJECT); a host access to
 *              a page on the device aborts after SVM_USER_FAULT_TIMEOUT_MS
 *              with a message naming the page and the failure, no hang
 *   epoll      two servers: each waits in its own epoll instance (no
 *              fallback line in the debug log); with SVM_USER_SERVICE_FAIL=
 *              epoll their epoll setup fails, both say so and fall back to
 *              poll(), and the transient workload still completes exactly
 * usage: user_service transient|fatal|timeout|epoll
 */
#define _GNU_SOURCE
#include <poll.h>
#include <stdbool.h>
#include <signal.h>
#include <sys/wait.h>

#include "svmtest.h"

#define PAGES 256

static void add_one(const svm_kernel_ctx_t *ctx, size_t i, void *arg)
{
	uint64_t *a = svm_device_ptr(ctx, arg);

	a[i] += 1;
}

static void child_transient(void)
{
	size_t bytes = PAGES * svmt_page_size(), words = bytes / 8;
	uint64_t *a;

	svmt_init();
	a = svmt_alloc(bytes);
	for (size_t i = 0; i < words; i++) /* first touches */
		a[i] = svmt_pattern(1, i);
	CHECK_OK(svm_prefetch(a, bytes, 0, NULL));
	CHECK_OK(svm_launch(0, words, add_one, a));
	for (size_t i = 0; i < words; i++) /* CPU faults */
		CHECK_EQ(a[i], svmt_pattern(1, i) + 1);
	CHECK_OK(svm_free(a));
	CHECK_OK(svm_finalize());
	printf("child: %zu words exact\n", words);
}

static void child_fatal(void)
{
	uint64_t *a;

	svmt_init();
	a = svmt_alloc(svmt_page_size());
	a[0] = 1; /* the first fault: its read fails */
	printf("child: the access completed although the service failed\n");
}

static void child_timeout(void)
{
	uint64_t *a;

	svmt_init();
	a = svmt_alloc(svmt_page_size());
	a[0] = 42;
	CHECK_OK(svm_prefetch(a, svmt_page_size(), 0, NULL));
	CHECK_EQ(svmt_location(a), 0);
	printf("child: read %llu from a page that cannot come home\n", (unsigned long long)a[0]);
}

struct outcome {
	int status;
	char err[4 << 20];
	double secs;
};

/* Runs this program as `child-<mode>` with env; bounded by limit_s. */
static void run_child(const char *self, const char *mode, char *const env[], int limit_s,
		      struct outcome *o)
{
	uint64_t t0 = svmt_now_ns();
	size_t len = 0;
	int p[2];
	pid_t pid;

	CHECK(pipe(p) == 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		char arg[64];

		for (size_t i = 0; env[i]; i++)
			putenv(env[i]);
		snprintf(arg, sizeof(arg), "child-%s", mode);
		dup2(p[1], 2);
		close(p[0]);
		execl(self, self, arg, (char *)NULL);
		_exit(126);
	}
	close(p[1]);
	for (;;) {
		struct pollfd pfd = { p[0], POLLIN, 0 };
		int left = limit_s * 1000 - (int)((svmt_now_ns() - t0) / 1000000);
		ssize_t n;

		if (left <= 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			FAIL("the %s child hung: still running after %d s; stderr so far:\n%.4000s", mode,
			     limit_s, o->err);
		}
		if (poll(&pfd, 1, left) <= 0)
			continue;
		n = read(p[0], o->err + len, sizeof(o->err) - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		o->err[len] = 0;
		CHECK_MSG(len < sizeof(o->err) - 1, "the child wrote more than %zu bytes",
			  sizeof(o->err));
	}
	close(p[0]);
	CHECK(waitpid(pid, &o->status, 0) == pid);
	o->secs = (double)(svmt_now_ns() - t0) / 1e9;
}

static bool aborted(const struct outcome *o)
{
	return WIFSIGNALED(o->status) && WTERMSIG(o->status) == SIGABRT;
}

int main(int argc, char **argv)
{
	static struct outcome o;
	const char *mode;

	if (argc != 2)
		FAIL("usage: %s transient|fatal|timeout|epoll", argv[0]);
	if (!strcmp(argv[1], "child-transient") || !strcmp(argv[1], "child-epoll"))
		child_transient();
	else if (!strcmp(argv[1], "child-fatal"))
		child_fatal();
	else if (!strcmp(argv[1], "child-timeout"))
		child_timeout();
	if (!strncmp(argv[1], "child-", 6))
		return 0;

	mode = argv[1];
	svmt_init(); /* only to ask which backend this is */
	if (strcmp(svmt_backend(), "user"))
		svmt_skip("the user backend's fault-service thread (backend %s)", svmt_backend());
	CHECK_OK(svm_finalize());
	if (!strcmp(mode, "transient")) {
		char *env[] = { "SVM_USER_SERVICE_FAIL=transient=300", "SVM_LOG=debug", NULL };
		size_t seen = 0;

		run_child(argv[0], mode, env, 60, &o);
		/* poll: the fallback; epoll_wait: each server's own instance */
		for (const char *p = o.err; (p = strstr(p, "fault service: poll: ")); p++)
			seen++;
		for (const char *p = o.err; (p = strstr(p, "fault service: epoll_wait: ")); p++)
			seen++;
		CHECK_MSG(WIFEXITED(o.status) && WEXITSTATUS(o.status) == 0,
			  "the child failed (status %#x):\n%.4000s", o.status, o.err);
		CHECK_MSG(seen == 300, "%zu transient errors were logged, not 300", seen);
		printf("PASS service transient: %zu logged poll errors survived, data exact (%.2f s)\n",
		       seen, o.secs);
	} else if (!strcmp(mode, "fatal")) {
		char *env[] = { "SVM_USER_SERVICE_FAIL=fatal", NULL };

		run_child(argv[0], mode, env, 30, &o);
		CHECK_MSG(aborted(&o), "the child did not abort (status %#x):\n%s", o.status, o.err);
		CHECK_MSG(strstr(o.err, "fault service: read failed: Input/output error") &&
			  strstr(o.err, "can no longer complete"),
			  "no clear message from the child:\n%s", o.err);
		printf("PASS service fatal: a failed read aborts with a message in %.2f s\n", o.secs);
	} else if (!strcmp(mode, "timeout")) {
		char *env[] = { "SVM_INJECT=class=busy,percent=100,direction=to-host",
				"SVM_USER_FAULT_TIMEOUT_MS=300", "SVM_GRANULARITY=4K", NULL };

		run_child(argv[0], mode, env, 30, &o);
		CHECK_MSG(aborted(&o), "the child did not abort (status %#x):\n%s", o.status, o.err);
		CHECK_MSG(strstr(o.err, "waited 300 ms") && strstr(o.err, "busy"),
			  "no clear message from the child:\n%s", o.err);
		CHECK_MSG(o.secs < 20, "the abort took %.1f s", o.secs);
		printf("PASS service timeout: a fault that cannot complete aborts after 300 ms with a "
		       "message (%.2f s)\n", o.secs);
	} else if (!strcmp(mode, "epoll")) {
		char *epoll_ok[] = { "SVM_USER_FAULT_SERVERS=2", "SVM_LOG=debug", NULL };
		char *epoll_fails[] = { "SVM_USER_FAULT_SERVERS=2", "SVM_LOG=debug",
				    "SVM_USER_SERVICE_FAIL=epoll", NULL };
		const char *line = "waiting with poll(), so every fault wakes every server";
		size_t seen = 0;

		run_child(argv[0], mode, epoll_ok, 60, &o);
		CHECK_MSG(WIFEXITED(o.status) && WEXITSTATUS(o.status) == 0,
			  "the child failed (status %#x):\n%.4000s", o.status, o.err);
		CHECK_MSG(!strstr(o.err, line), "a server fell back to poll() unasked:\n%.4000s",
			  o.err);
		run_child(argv[0], mode, epoll_fails, 60, &o);
		CHECK_MSG(WIFEXITED(o.status) && WEXITSTATUS(o.status) == 0,
			  "the child failed without epoll (status %#x):\n%.4000s", o.status, o.err);
		for (const char *p = o.err; (p = strstr(p, line)); p++)
			seen++;
		CHECK_MSG(seen == 2, "%zu servers said they fall back to poll(), not 2:\n%.4000s",
			  seen, o.err);
		printf("PASS service epoll: two servers wait in epoll; when its setup fails both "
		       "fall back to poll() and the data is exact (%.2f s)\n", o.secs);
	} else {
		FAIL("unknown case %s", mode);
	}
	return 0;
}
