/* SPDX-License-Identifier: MIT */
/*
 * The report's data agree with svm_stats, on whatever backend runs it
 * (issue 16: traces from the user backend and from kshim, whose events
 * come from the shim's ring). A C program, so that it also runs in the VM,
 * which has no browser and no python: report.render draws the page on the
 * host; this checks what the page is drawn from.
 *
 * A small workload (faults both ways, a prefetch there and back, read
 * duplicates, pages served in place) runs with SVM_REPORT=FILE; its final
 * svm_stats are taken just before svm_finalize, which writes the report.
 * Then the report's embedded data must hold:
 *  - the backend's name;
 *  - the final stats, field for field (what the summary shows);
 *  - counts made from the trace events equal to svm_stats for the moves,
 *    faults, prefetches and launches: no event of those kinds went
 *    missing between the backend and the page.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "svmtest.h"

#define PAGES 64

struct args {
	uint64_t *p;
	size_t words;
};

static void touch(const svm_kernel_ctx_t *ctx, size_t i, void *arg)
{
	struct args *a = arg;
	uint64_t *d = svm_device_ptr(ctx, a->p);

	d[i * a->words] += 1;
}

static void reader(const svm_kernel_ctx_t *ctx, size_t i, void *arg)
{
	struct args *a = arg;
	volatile uint64_t *d = svm_device_ptr(ctx, a->p);

	(void)d[i * a->words];
}

static char *slurp(const char *path)
{
	struct stat st;
	char *buf;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	CHECK_MSG(fd >= 0, "no report at %s", path);
	CHECK(fstat(fd, &st) == 0 && st.st_size > 0);
	buf = malloc((size_t)st.st_size + 1);
	CHECK(buf != NULL);
	CHECK(read(fd, buf, (size_t)st.st_size) == st.st_size);
	buf[st.st_size] = 0;
	close(fd);
	return buf;
}

/* The number after "key": in the object that starts at obj; -1 if none. */
static long long field(const char *obj, const char *key)
{
	char pat[64];
	const char *end = strchr(obj, '}'), *at;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	at = strstr(obj, pat);
	if (!at || (end && at > end))
		return -1;
	return strtoll(at + strlen(pat), NULL, 10);
}

/* The object after `"section":{"total":` in the data. */
static const char *total_of(const char *data, const char *section)
{
	char pat[64];
	const char *at;

	snprintf(pat, sizeof(pat), "\"%s\":{\"total\":", section);
	at = strstr(data, pat);
	CHECK_MSG(at != NULL, "the report's data has no %s", section);
	return at + strlen(pat);
}

#define FIELD_OF(s, name) { #name, (long long)(s).name }

int main(void)
{
	char path[] = "/tmp/svmrt-report-data-XXXXXX";
	size_t pg, words;
	struct args a;
	svm_stats_t st;
	const char *backend, *data, *total, *derived;
	char *html, want_backend[64];
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	close(fd);
	setenv("SVM_REPORT", path, 1);
	svmt_default_env("SVM_GRANULARITY", "4K");
	svmt_init();
	backend = svmt_backend();
	snprintf(want_backend, sizeof(want_backend), "\"backend\":\"%s\"", backend);
	pg = svmt_page_size();
	words = pg / 8;
	a.p = svmt_alloc(PAGES * pg);
	a.words = words;
	memset(a.p, 1, PAGES * pg);
	CHECK_OK(svm_launch(0, PAGES, touch, &a));      /* device faults */
	for (size_t i = 0; i < PAGES; i++)              /* CPU faults */
		a.p[i * words] += 1;
	CHECK_OK(svm_prefetch(a.p, PAGES * pg, 0, NULL));
	CHECK_OK(svm_prefetch(a.p, PAGES * pg, SVM_HOST, NULL));
	CHECK_OK(svm_advise(a.p, PAGES / 2 * pg, SVM_ADVISE_SET_READ_MOSTLY, 0));
	CHECK_OK(svm_launch(0, PAGES / 2, reader, &a)); /* read duplicates */
	CHECK_OK(svm_advise(a.p + PAGES / 2 * words, PAGES / 2 * pg,
			    SVM_ADVISE_SET_ACCESSED_BY, 0));
	CHECK_OK(svm_launch(0, PAGES / 2, touch, &(struct args){ a.p + PAGES / 2 * words, words }));
	for (size_t i = 0; i < PAGES; i++)
		CHECK_EQ(a.p[i * words], i < PAGES / 2 ? 0x0101010101010103ull :
							 0x0101010101010104ull);
	st = svmt_stats();
	CHECK_OK(svm_finalize());

	html = slurp(path);
	unlink(path);
	data = strstr(html, "id=\"svm-data\">");
	CHECK_MSG(data != NULL, "the report has no data element");
	CHECK_MSG(strstr(data, want_backend) != NULL, "the report does not name backend %s",
		  backend);
	CHECK_MSG(strstr(data, "\"dropped\":0,") != NULL, "the trace ring dropped events");
	total = total_of(data, "stats");
	derived = total_of(data, "derived");
	{
		const struct {
			const char *name;
			long long v;
		} all[] = {
			FIELD_OF(st, cpu_faults),      FIELD_OF(st, device_faults),
			FIELD_OF(st, pages_to_device), FIELD_OF(st, pages_to_host),
			FIELD_OF(st, bytes_to_device), FIELD_OF(st, bytes_to_host),
			FIELD_OF(st, read_duplicates), FIELD_OF(st, remote_accesses),
			FIELD_OF(st, prefetches),      FIELD_OF(st, launches),
			FIELD_OF(st, evictions),       FIELD_OF(st, retries),
		};
		/* made from events: the kinds every backend traces one by one */
		static const char *const from_events[] = {
			"cpu_faults", "device_faults", "pages_to_device", "pages_to_host",
			"prefetches", "launches",
		};

		for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
			CHECK_MSG(field(total, all[i].name) == all[i].v,
				  "report stats %s is %lld, svm_stats %lld", all[i].name,
				  field(total, all[i].name), all[i].v);
		for (size_t i = 0; i < sizeof(from_events) / sizeof(from_events[0]); i++) {
			long long want = -1;

			for (size_t j = 0; j < sizeof(all) / sizeof(all[0]); j++)
				if (!strcmp(all[j].name, from_events[i]))
					want = all[j].v;
			CHECK_MSG(field(derived, from_events[i]) == want,
				  "%s counted from the trace events is %lld, svm_stats %lld",
				  from_events[i], field(derived, from_events[i]), want);
		}
	}
	CHECK_MSG(st.device_faults && st.cpu_faults && st.pages_to_device && st.pages_to_host &&
			  st.read_duplicates + st.remote_accesses,
		  "the workload did not do what the check needs");
	printf("PASS report data (%s): final stats and event counts agree (%llu device "
	       "faults, %llu CPU faults, %llu pages to the device, %llu home)\n", backend,
	       (unsigned long long)st.device_faults, (unsigned long long)st.cpu_faults,
	       (unsigned long long)st.pages_to_device, (unsigned long long)st.pages_to_host);
	free(html);
	return 0;
}
