/* SPDX-License-Identifier: MIT */
/*
 * The ze backend end to end: svmrt -> the real Level Zero loader
 * (libze_loader.so.1) -> tests/ze/fake_ze.c, which records every call in
 * FAKE_ZE_LOG. Usage: ze_ze MODE [REASON]
 *   e2e        alloc/free/prefetch/advise/query/pointer info/props/handles, launch and
 *              pin unsupported, finalize frees what is left, init again
 *   errors     Level Zero results injected into single calls map to the
 *              documented svm_result_t and leave a log line with the code
 *   absent     SVM_BACKEND=ze fails with SVM_ERROR_NO_DEVICE and a log line
 *              containing REASON; then SVM_BACKEND=auto falls through to user
 *   auto       SVM_BACKEND=auto picks ze when a GPU is there
 * Needs libze1 (SKIP without it, except `absent` with a missing loader).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdbool.h>
#include <sys/stat.h>

#include "svmtest.h"
#include "svmrt_ze.h"

#define PAGE 4096

/* ---- the fake driver's call log -------------------------------------- */

static const char *log_path(void)
{
	const char *p = getenv("FAKE_ZE_LOG");

	if (!p || !*p)
		FAIL("FAKE_ZE_LOG is not set");
	return p;
}

static void log_clear(void)
{
	FILE *f = fopen(log_path(), "w");

	CHECK_MSG(f, "cannot truncate %s", log_path());
	fclose(f);
}

/* Lines of the log that contain `needle`. */
static int log_count(const char *needle)
{
	char line[512];
	int n = 0;
	FILE *f = fopen(log_path(), "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		n += strstr(line, needle) != NULL;
	fclose(f);
	return n;
}

#define CHECK_LOG(n, ...)                                                \
	do {                                                             \
		char want_[256];                                         \
		snprintf(want_, sizeof(want_), __VA_ARGS__);             \
		int got_ = log_count(want_);                             \
		if (got_ != (n))                                         \
			FAIL("fake driver log has %d line(s) with \"%s\", expected %d", \
			     got_, want_, (n));                          \
	} while (0)

/* ---- svmrt's own log (stderr) ----------------------------------------- */

static int saved_stderr = -1;
static char err_path[256];

static void stderr_capture(void)
{
	int fd;

	snprintf(err_path, sizeof(err_path), "%s.stderr", log_path());
	fflush(stderr);
	fd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0);
	saved_stderr = dup(2);
	CHECK(saved_stderr >= 0);
	CHECK(dup2(fd, 2) == 2);
	close(fd);
}

/* Ends the capture; true if what svmrt wrote contains every needle. */
static bool stderr_has(const char *a, const char *b)
{
	static char buf[16384];
	size_t n;
	FILE *f;

	fflush(stderr);
	dup2(saved_stderr, 2);
	close(saved_stderr);
	f = fopen(err_path, "r");
	CHECK(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	fputs(buf, stderr); /* keep it in the test output */
	return strstr(buf, a) && (!b || strstr(buf, b));
}

/* ---- setup ------------------------------------------------------------ */

static void need_loader(void)
{
	void *h = dlopen("libze_loader.so.1", RTLD_NOW | RTLD_LOCAL);

	if (!h)
		svmt_skip("the Level Zero loader libze_loader.so.1 is not installed (libze1)");
	dlclose(h);
}

static void need_fake(void)
{
	const char *p = getenv("ZE_ENABLE_ALT_DRIVERS");

	need_loader();
	if (!p || access(p, R_OK))
		svmt_skip("the fake Level Zero driver was not built (needs libze-dev's headers)");
	log_clear();
}

static void kernel(const svm_kernel_ctx_t *ctx, size_t i, void *arg)
{
	(void)ctx;
	(void)i;
	(void)arg;
}

/* ---- e2e -------------------------------------------------------------- */

static void check_props(void)
{
	svm_device_props_t p;
	bool xml = getenv("HWLOC_XMLFILE") != NULL;

	CHECK_EQ(svm_device_count(), 2);
	CHECK_OK(svm_device_props(0, &p));
	CHECK_MSG(!strcmp(p.name, "Fake Xe GPU 0"), "name \"%s\"", p.name);
	CHECK_MSG(!strcmp(p.backend, "ze"), "backend \"%s\"", p.backend);
	CHECK_MSG(!strcmp(p.pci_bus_id, "0000:3b:00.0"), "pci \"%s\"", p.pci_bus_id);
	CHECK_EQ(p.memory_bytes, 4ull << 30);
	CHECK_EQ(p.compute_threads, 0);
	if (xml)
		CHECK_EQ(p.numa_node, 0);
	CHECK_OK(svm_device_props(1, &p));
	CHECK_MSG(!strcmp(p.name, "Fake Xe GPU 1"), "name \"%s\"", p.name);
	CHECK_MSG(!strcmp(p.pci_bus_id, "0000:af:00.0"), "pci \"%s\"", p.pci_bus_id);
	if (xml)
		CHECK_EQ(p.numa_node, 1);
	CHECK_INVAL(svm_device_props(2, &p));
}

static void check_handles(void)
{
	void *ctx = NULL, *d0 = NULL, *d1 = NULL, *c1 = NULL;

	CHECK_OK(svm_ze_handles(0, &ctx, &d0));
	CHECK_OK(svm_ze_handles(1, &c1, &d1));
	CHECK(ctx && d0 && d1);
	CHECK(ctx == c1); /* one context */
	CHECK(d0 != d1);
	CHECK_OK(svm_ze_handles(1, NULL, &d1));
	CHECK_INVAL(svm_ze_handles(2, &ctx, &d0));
	CHECK_INVAL(svm_ze_handles(-1, &ctx, &d0));
	CHECK_INVAL(svm_ze_handles(0, NULL, NULL));
	CHECK_LOG(1, "ContextCreate");
	CHECK_LOG(1, "CommandListCreateImmediate dev=0 mode=1");
	CHECK_LOG(1, "CommandListCreateImmediate dev=1 mode=1");
}

static void check_prefetch(char *x)
{
	svm_migrate_report_t rep;

	memset(&rep, 0xff, sizeof(rep));
	CHECK_OK(svm_prefetch(x, 4 * PAGE - 100, 1, &rep));
	CHECK_EQ(rep.pages, 4);
	CHECK_EQ(rep.moved, 4);
	CHECK_EQ(rep.already, 0);
	CHECK_EQ(rep.failed, 0);
	CHECK_EQ(rep.retries, 0);
	CHECK_LOG(1, "Prefetch dev=1 ptr=%p size=%d", (void *)x, 4 * PAGE);
	CHECK_OK(svm_prefetch(x + PAGE, PAGE + 1, 0, NULL));
	CHECK_LOG(1, "Prefetch dev=0 ptr=%p size=%d", (void *)(x + PAGE), 2 * PAGE);
	/* the host: no Level Zero command; nothing reaches the driver */
	CHECK_RES(svm_prefetch(x, PAGE, SVM_HOST, &rep), SVM_ERROR_UNSUPPORTED);
	CHECK_EQ(rep.pages, 1);
	CHECK_EQ(rep.failed, 1);
	CHECK_EQ(rep.failed_by[SVM_FAILURE_UNSUPPORTED], 1);
	CHECK_LOG(2, "Prefetch");
	/* the core's argument checks still hold */
	CHECK_INVAL(svm_prefetch(x + 1, PAGE, 0, NULL));
	CHECK_INVAL(svm_prefetch(x, 5 * PAGE, 0, NULL));
	CHECK_INVAL(svm_prefetch(x, PAGE, 2, NULL));
	CHECK_LOG(2, "Prefetch");
}

static void check_advise(char *x)
{
	/* read mostly: for every device, `location` ignored */
	CHECK_OK(svm_advise(x, PAGE, SVM_ADVISE_SET_READ_MOSTLY, SVM_HOST));
	CHECK_LOG(1, "Advise list=0 dev=0 ptr=%p size=%d advice=0", (void *)x, PAGE);
	CHECK_LOG(1, "Advise list=1 dev=1 ptr=%p size=%d advice=0", (void *)x, PAGE);
	CHECK_OK(svm_advise(x, 2 * PAGE, SVM_ADVISE_UNSET_READ_MOSTLY, 0));
	CHECK_LOG(2, "size=%d advice=1", 2 * PAGE);
	/* preferred location: that device only */
	CHECK_OK(svm_advise(x + PAGE, 3 * PAGE, SVM_ADVISE_SET_PREFERRED_LOCATION, 1));
	CHECK_LOG(1, "Advise list=1 dev=1 ptr=%p size=%d advice=2", (void *)(x + PAGE), 3 * PAGE);
	CHECK_LOG(1, "advice=2");
	CHECK_OK(svm_advise(x + PAGE, 3 * PAGE, SVM_ADVISE_UNSET_PREFERRED_LOCATION, 1));
	CHECK_LOG(2, "advice=3");
	CHECK_LOG(7, "Advise");
	/* no Level Zero equivalent: unsupported, nothing sent */
	CHECK_RES(svm_advise(x, PAGE, SVM_ADVISE_SET_PREFERRED_LOCATION, SVM_HOST),
		  SVM_ERROR_UNSUPPORTED);
	CHECK_RES(svm_advise(x, PAGE, SVM_ADVISE_SET_ACCESSED_BY, 0), SVM_ERROR_UNSUPPORTED);
	CHECK_RES(svm_advise(x, PAGE, SVM_ADVISE_UNSET_ACCESSED_BY, 1), SVM_ERROR_UNSUPPORTED);
	CHECK_INVAL(svm_advise(x, PAGE, SVM_ADVISE_SET_PREFERRED_LOCATION, 5));
	CHECK_INVAL(svm_advise(x, PAGE, (svm_advice_t)99, 0));
	CHECK_LOG(7, "Advise");
}

static void check_query(char *x)
{
	svm_page_info_t pi[4];

	memset(pi, 0x5a, sizeof(pi));
	CHECK_OK(svm_query(x, 4 * PAGE, pi, 4));
	for (int i = 0; i < 4; i++) {
		CHECK_EQ(pi[i].location, SVM_HOST);
		CHECK_EQ(pi[i].copies, 0);
		CHECK_EQ(pi[i].migrations, 0);
		CHECK_EQ(pi[i].last_failure, SVM_FAILURE_NONE);
	}
	CHECK_LOG(1, "MemGetAllocProperties ptr=%p type=3", (void *)x);
	CHECK_INVAL(svm_query(x, 4 * PAGE, pi, 3));
}

/* svm_pointer_info on ze: the core's range, the page asked of the driver */
static void check_pointer_info(char *x, char *big)
{
	svm_pointer_info_t *out = (svm_pointer_info_t *)(big + 64);
	svm_pointer_info_t pi;
	int on_stack;

	memset(&pi, 0x5a, sizeof(pi));
	CHECK_OK(svm_pointer_info(x + PAGE + 9, &pi));
	CHECK(pi.base == x);
	CHECK_EQ(pi.bytes, 4 * PAGE - 100);
	CHECK_EQ(pi.location, SVM_HOST); /* Level Zero does not say more (docs/ze.md) */
	CHECK_LOG(1, "MemGetAllocProperties ptr=%p type=3", (void *)(x + PAGE));
	CHECK_OK(svm_pointer_info(x + 4 * PAGE - 101, &pi)); /* the last byte */
	CHECK(pi.base == x);
	/* outside: past the end, the slack of the last page, foreign, NULL */
	CHECK_INVAL(svm_pointer_info(x + 4 * PAGE - 100, &pi));
	CHECK_INVAL(svm_pointer_info(x + 4 * PAGE - 1, &pi));
	CHECK_INVAL(svm_pointer_info(&on_stack, &pi));
	CHECK_INVAL(svm_pointer_info(NULL, &pi));
	CHECK_INVAL(svm_pointer_info(x, NULL));
	/* the output in the driver's shared memory, then prefetched to a device */
	CHECK_OK(svm_prefetch(big, PAGE, 1, NULL));
	CHECK_OK(svm_pointer_info(big + 3 * PAGE, out));
	CHECK(out->base == big);
	CHECK_EQ(out->bytes, 4 << 20);
	CHECK_EQ(out->location, SVM_HOST);
	CHECK_LOG(4, "MemGetAllocProperties"); /* query, then three here */
}

static void mode_e2e(void)
{
	void *ctx;
	char *x, *big;
	svm_stats_t st;

	need_fake();
	CHECK_NOINIT(svm_ze_handles(0, &ctx, NULL));
	svmt_init();
	check_props();
	check_handles();

	x = svmt_alloc(4 * PAGE - 100);
	CHECK_LOG(1, "MemAllocShared ptr=%p size=%d align=%d dev=-1", (void *)x, 4 * PAGE, PAGE);
	for (int i = 0; i < 4 * PAGE - 100; i++) /* the fake hands out 0xa5 bytes */
		CHECK_MSG(x[i] == 0, "byte %d of a new allocation is %#x", i, x[i] & 0xff);
	memset(x, 7, 4 * PAGE - 100);
	big = svmt_alloc(4 << 20);
	CHECK_EQ((uintptr_t)big & ((2 << 20) - 1), 0);
	CHECK_LOG(1, "size=%d align=%d", 4 << 20, 2 << 20);

	check_prefetch(x);
	check_advise(x);
	check_query(x);
	check_pointer_info(x, big);

	CHECK_RES(svm_launch(0, 4, kernel, NULL), SVM_ERROR_UNSUPPORTED);
	CHECK_RES(svm_pin(x, PAGE), SVM_ERROR_UNSUPPORTED);
	CHECK_RES(svm_unpin(x, PAGE), SVM_ERROR_UNSUPPORTED);
	CHECK_OK(svm_stats(&st));
	CHECK_EQ(st.prefetches, 4);
	CHECK_EQ(st.launches, 0);
	CHECK_EQ(x[100], 7); /* nothing above touched the bytes */

	CHECK_OK(svm_free(x));
	CHECK_LOG(1, "MemFree ptr=%p", (void *)x);
	CHECK_INVAL(svm_free(x));
	CHECK_INVAL(svm_pointer_info(x + 5, &(svm_pointer_info_t){ 0 }));
	CHECK_LOG(1, "MemFree");
	/* finalize gives the driver back what is still allocated */
	CHECK_OK(svm_finalize());
	CHECK_LOG(1, "MemFree ptr=%p", (void *)big);
	CHECK_LOG(0, "unknown");
	CHECK_LOG(2, "CommandListDestroy");
	CHECK_LOG(1, "ContextDestroy");
	CHECK_NOINIT(svm_ze_handles(0, &ctx, NULL));

	/* and once more: the loader stays loaded, Level Zero is initialized */
	svmt_init();
	CHECK_EQ(svm_device_count(), 2);
	x = svmt_alloc(PAGE);
	CHECK_OK(svm_prefetch(x, PAGE, 0, NULL));
	CHECK_OK(svm_free(x));
	CHECK_OK(svm_finalize());
	CHECK_LOG(2, "ContextDestroy");
	printf("PASS ze e2e\n");
}

/* ---- errors ----------------------------------------------------------- */

/* Injects rc into the fake's `call`, runs expr, checks result and log. */
#define INJECT(call, rc, name, expr, want)                                \
	do {                                                              \
		setenv("FAKE_ZE_FAIL", call ":" #rc, 1);                  \
		stderr_capture();                                         \
		svm_result_t r_ = (expr);                                 \
		unsetenv("FAKE_ZE_FAIL");                                 \
		CHECK_MSG(stderr_has(#rc, name),                          \
			  "no log line with %s %s for %s", #rc, name, call); \
		CHECK_RES(r_, want);                                      \
	} while (0)

static void mode_errors(void)
{
	svm_device_props_t p;
	void *x = NULL, *y;

	need_fake();
	/* failures while coming up: nothing is left behind */
	INJECT("ContextCreate", 0x70000002, "ZE_RESULT_ERROR_OUT_OF_HOST_MEMORY", svm_init(),
	       SVM_ERROR_OUT_OF_MEMORY);
	INJECT("CommandListCreateImmediate", 0x70000001, "ZE_RESULT_ERROR_DEVICE_LOST",
	       svm_init(), SVM_ERROR_BACKEND);
	CHECK_LOG(1, "ContextDestroy");
	CHECK_EQ(svm_device_count(), 0);
	/* without the PCI extension: no bus id, no NUMA node, still up */
	INJECT("DevicePciGetPropertiesExt", 0x78000003, "ZE_RESULT_ERROR_UNSUPPORTED_FEATURE",
	       svm_init(), SVM_OK);
	CHECK_OK(svm_device_props(0, &p));
	CHECK_EQ(p.pci_bus_id[0], 0);
	CHECK_EQ(p.numa_node, -1);

	INJECT("MemAllocShared", 0x70000003, "ZE_RESULT_ERROR_OUT_OF_DEVICE_MEMORY",
	       svm_alloc(&x, PAGE), SVM_ERROR_OUT_OF_MEMORY);
	INJECT("MemAllocShared", 0x70000002, "ZE_RESULT_ERROR_OUT_OF_HOST_MEMORY",
	       svm_alloc(&x, PAGE), SVM_ERROR_OUT_OF_MEMORY);
	INJECT("MemAllocShared", 0x78000009, "ZE_RESULT_ERROR_UNSUPPORTED_SIZE",
	       svm_alloc(&x, PAGE), SVM_ERROR_OUT_OF_MEMORY);
	CHECK_LOG(0, "MemAllocShared ptr");
	x = svmt_alloc(2 * PAGE);
	INJECT("CommandListAppendMemoryPrefetch", 0x70000001, "ZE_RESULT_ERROR_DEVICE_LOST",
	       svm_prefetch(x, PAGE, 0, NULL), SVM_ERROR_BACKEND);
	INJECT("CommandListAppendMemoryPrefetch", 0x78000003,
	       "ZE_RESULT_ERROR_UNSUPPORTED_FEATURE", svm_prefetch(x, PAGE, 1, NULL),
	       SVM_ERROR_UNSUPPORTED);
	INJECT("CommandListAppendMemAdvise", 0x78000004, "ZE_RESULT_ERROR_INVALID_ARGUMENT",
	       svm_advise(x, PAGE, SVM_ADVISE_SET_PREFERRED_LOCATION, 0),
	       SVM_ERROR_INVALID_ARGUMENT);
	INJECT("CommandListAppendMemAdvise", 0x12345, "an unknown ze_result_t",
	       svm_advise(x, PAGE, SVM_ADVISE_SET_READ_MOSTLY, 0), SVM_ERROR_BACKEND);
	INJECT("MemGetAllocProperties", 0x7ffffffe, "ZE_RESULT_ERROR_UNKNOWN",
	       svm_query(x, PAGE, &(svm_page_info_t){ 0 }, 1), SVM_ERROR_BACKEND);
	/* svmrt forgets the range either way; the driver's complaint is logged */
	INJECT("MemFree", 0x70000001, "ZE_RESULT_ERROR_DEVICE_LOST", svm_free(x), SVM_OK);
	CHECK_INVAL(svm_free(x));
	/* and everything works again once the driver does */
	y = svmt_alloc(PAGE);
	CHECK_OK(svm_prefetch(y, PAGE, 1, NULL));
	CHECK_OK(svm_free(y));
	CHECK_OK(svm_finalize());
	printf("PASS ze errors\n");
}

/* ---- absent: no loader, no driver, no device -------------------------- */

static void mode_absent(const char *reason)
{
	svm_device_props_t p;
	const char *loader = getenv("SVM_ZE_LOADER");

	if (!loader || access(loader, F_OK) == 0) /* a real loader is wanted */
		need_loader();
	if (getenv("FAKE_ZE_LOG"))
		log_clear();
	setenv("SVM_BACKEND", "ze", 1);
	stderr_capture();
	svm_result_t r = svm_init();

	CHECK_MSG(stderr_has("backend ze is not available", reason),
		  "svm_init did not log why ze is unavailable (\"%s\")", reason);
	CHECK_RES(r, SVM_ERROR_NO_DEVICE);
	CHECK_EQ(svm_device_count(), 0);
	CHECK_NOINIT(svm_ze_handles(0, NULL, &(void *){ 0 }));

	setenv("SVM_BACKEND", "auto", 1);
	svmt_init();
	CHECK_OK(svm_device_props(0, &p));
	CHECK_MSG(!strcmp(p.backend, "user") || !strcmp(p.backend, "kshim"),
		  "auto picked \"%s\"", p.backend);
	CHECK_RES(svm_ze_handles(0, NULL, &(void *){ 0 }), SVM_ERROR_UNSUPPORTED);
	CHECK_OK(svm_finalize());
	printf("PASS ze absent (%s)\n", reason);
}

static void mode_auto(void)
{
	svm_device_props_t p;
	void *x;

	need_fake();
	unsetenv("SVM_BACKEND");
	svmt_init();
	CHECK_OK(svm_device_props(0, &p));
	if (!strcmp(p.backend, "kshim"))
		svmt_skip("a kshim device exists here, and auto prefers it");
	CHECK_MSG(!strcmp(p.backend, "ze"), "auto picked \"%s\", not ze", p.backend);
	/* one GPU: shared memory is tied to it */
	x = svmt_alloc(PAGE);
	CHECK_LOG(1, "MemAllocShared ptr=%p size=%d align=%d dev=0", x, PAGE, PAGE);
	CHECK_OK(svm_free(x));
	CHECK_OK(svm_finalize());
	printf("PASS ze auto\n");
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "e2e"))
		mode_e2e();
	else if (argc >= 2 && !strcmp(argv[1], "errors"))
		mode_errors();
	else if (argc >= 3 && !strcmp(argv[1], "absent"))
		mode_absent(argv[2]);
	else if (argc >= 2 && !strcmp(argv[1], "auto"))
		mode_auto();
	else
		FAIL("usage: %s e2e|errors|auto|absent REASON", argv[0]);
	return 0;
}
