/* SPDX-License-Identifier: MIT */
/*
 * SVM_PROFILE / SVM_TRACE / SVM_REPORT files belong to the process that set up the
 * runtime (issue 15 item 3). A process P with both set forks children that
 * read SVM memory and exit normally *after* P has exited (so their exit
 * handlers run last); the files must still be P's: the profile shows P's
 * counts (not the smaller ones a child inherited at fork), the trace only
 * P's pid, and both are whole JSON documents.
 *
 * The test process is a subreaper so it can wait for P's children too.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "svmtest.h"

#define CHILDREN 3
#define PREFETCHES_BEFORE 3
#define PREFETCHES_AFTER 4
#define LAUNCHES 2
#define WORDS 4096

static char profile_path[256], trace_path[256], report_path[256];

static void kernel_touch(const svm_kernel_ctx_t *ctx, size_t i, void *arg)
{
	uint64_t *p = svm_device_ptr(ctx, (uint64_t *)arg + i);

	*p += 1;
}

/* The process that owns the runtime. Never returns. */
static void run_parent(void)
{
	int gate[2];
	uint64_t *data;

	*svmt_in_child() = 1;
	setenv("SVM_PROFILE", profile_path, 1);
	setenv("SVM_TRACE", trace_path, 1);
	setenv("SVM_REPORT", report_path, 1);
	svmt_init();
	data = svmt_alloc(WORDS * sizeof(uint64_t));
	for (size_t i = 0; i < WORDS; i++)
		data[i] = svmt_pattern(3, i);
	for (int i = 0; i < PREFETCHES_BEFORE; i++)
		CHECK_OK(svm_prefetch(data, WORDS * sizeof(uint64_t), i % 2 ? SVM_HOST : 0, NULL));
	/* the children wait on this pipe until P has exited (EOF) */
	CHECK(pipe(gate) == 0);
	for (int c = 0; c < CHILDREN; c++) {
		pid_t pid = fork();

		CHECK(pid >= 0);
		if (pid == 0) {
			char b;
			uint64_t sum = 0;

			close(gate[1]);
			while (read(gate[0], &b, 1) < 0 && errno == EINTR)
				;
			for (size_t i = 0; i < WORDS; i++) {
				if (data[i] != svmt_pattern(3, i)) {
					fprintf(stderr, "FAIL: child: word %zu differs\n", i);
					_exit(1);
				}
				sum += data[i];
			}
			exit(sum == 0 ? 2 : 0); /* a normal exit: atexit handlers run */
		}
	}
	close(gate[0]);
	for (int i = 0; i < PREFETCHES_AFTER; i++)
		CHECK_OK(svm_prefetch(data, WORDS * sizeof(uint64_t), i % 2 ? SVM_HOST : 0, NULL));
	for (int i = 0; i < LAUNCHES; i++)
		CHECK_OK(svm_launch(0, 8, kernel_touch, data));
	CHECK_EQ(data[0], svmt_pattern(3, 0) + LAUNCHES);
	/* no svm_finalize: the exit handler writes the files, gate closes */
	exit(0);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	CHECK_MSG(f != NULL, "%s: %s", path, strerror(errno));
	CHECK(fseek(f, 0, SEEK_END) == 0);
	n = ftell(f);
	CHECK(n > 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	CHECK(buf != NULL);
	CHECK(fread(buf, 1, (size_t)n, f) == (size_t)n);
	buf[n] = 0;
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* Last non-space character. */
static char last_char(const char *s, size_t len)
{
	while (len && (s[len - 1] == '\n' || s[len - 1] == ' '))
		len--;
	return len ? s[len - 1] : 0;
}

/* Brackets and braces balance outside strings, and the document is one value. */
static void check_json(const char *what, const char *s)
{
	int depth = 0, max = 0;
	bool in_str = false;

	for (const char *c = s; *c; c++) {
		if (in_str) {
			if (*c == '\\' && c[1])
				c++;
			else if (*c == '"')
				in_str = false;
			continue;
		}
		if (*c == '"')
			in_str = true;
		else if (*c == '{' || *c == '[')
			max = ++depth > max ? depth : max;
		else if (*c == '}' || *c == ']')
			CHECK_MSG(--depth >= 0, "%s: unbalanced at offset %td", what, c - s);
		else if (depth == 0 && *c != '\n' && *c != ' ')
			FAIL("%s: text after the document at offset %td", what, c - s);
	}
	CHECK_MSG(!in_str && depth == 0 && max > 0, "%s: not one whole JSON document", what);
}

int main(void)
{
	char dir[] = "/tmp/svmt-fork-profile-XXXXXX", needle[64];
	pid_t parent;
	int nchildren = 0, status;
	size_t len;
	char *s;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(profile_path, sizeof(profile_path), "json:%s/profile.json", dir);
	snprintf(trace_path, sizeof(trace_path), "%s/trace.json", dir);
	snprintf(report_path, sizeof(report_path), "%s/report.html", dir);
	CHECK(prctl(PR_SET_CHILD_SUBREAPER, 1) == 0);

	parent = fork();
	CHECK(parent >= 0);
	if (parent == 0)
		run_parent();
	CHECK(waitpid(parent, &status, 0) == parent);
	if (WIFEXITED(status) && WEXITSTATUS(status) == SVMT_SKIP)
		svmt_skip("svm_init: no device in the profiled process");
	CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "profiled process: status %#x",
		  status);
	/* P's children, reparented to us */
	for (;;) {
		pid_t c = wait(&status);

		if (c < 0) {
			CHECK(errno == ECHILD);
			break;
		}
		CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child %d: status %#x",
			  (int)c, status);
		CHECK(nchildren < CHILDREN);
		nchildren++;
	}
	CHECK_EQ(nchildren, CHILDREN);

	s = slurp(profile_path + 5, &len);
	check_json("profile", s);
	CHECK_MSG(!strncmp(s, "{\"schema\":\"svmrt-profile-1\"", 27), "profile: %.60s", s);
	CHECK(last_char(s, len) == '}');
	snprintf(needle, sizeof(needle), "\"prefetches\":%d,",
		 PREFETCHES_BEFORE + PREFETCHES_AFTER);
	CHECK_MSG(strstr(s, needle), "profile is not the parent's: no %s in %.200s", needle, s);
	snprintf(needle, sizeof(needle), "\"launches\":%d,", LAUNCHES);
	CHECK_MSG(strstr(s, needle), "profile is not the parent's: no %s in %.200s", needle, s);
	free(s);

	s = slurp(trace_path, &len);
	check_json("trace", s);
	CHECK(!strncmp(s, "{\"traceEvents\":[", 16));
	CHECK(last_char(s, len) == '}');
	size_t events = 0;

	for (const char *p = s; (p = strstr(p, "\"pid\":")); p += 6) {
		long pid = strtol(p + 6, NULL, 10);

		CHECK_MSG(pid == parent, "trace event %zu has pid %ld, not the parent's %d", events,
			  pid, (int)parent);
		events++;
	}
	CHECK(events > 1);
	free(s);

	/* the report's svm_stats are the parent's final ones, and the page is whole */
	s = slurp(report_path, &len);
	snprintf(needle, sizeof(needle), "\"prefetches\":%d,\"launches\":%d,",
		 PREFETCHES_BEFORE + PREFETCHES_AFTER, LAUNCHES);
	CHECK_MSG(strstr(s, needle), "report is not the parent's: no %s", needle);
	CHECK(len > 8 && !strcmp(s + len - 8, "</html>\n"));
	free(s);

	unlink(profile_path + 5);
	unlink(trace_path);
	unlink(report_path);
	rmdir(dir);
	printf("profile and trace are the parent's (%zu trace events); %d children exited "
	       "after it\nPASS\n", events, nchildren);
	return 0;
}
