/* SPDX-License-Identifier: MIT */
/*
 * gen_trace - a synthetic SVM_TRACE file of N events in the very format
 * runtime/core/profile.c writes, for the report's size and speed test
 * (a real run of a million events takes too long for CI). Eight ranges
 * ping-pong between the host and two devices in runs of 16 pages, with
 * faults, retries, failures of every class, evictions, launches,
 * prefetches and pins along the way. Its otherData.stats are counted from
 * the events it wrote, so the report's check against them must agree.
 *
 *   gen_trace N FILE
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RANGES 8
#define PAGES 1024 /* per range: 4 MiB */
#define RUN 16
#define BASE 0x7f0000000000ull

struct st {
	uint64_t cpu_faults, device_faults, pages_to_device, pages_to_host, retries, evictions,
		thrash, prefetches, launches, remote, failures[5];
};

static FILE *f;
static uint64_t n, limit, ts_ns = 1000;
static struct st tot, dev[2];

static const char *loc(int l, char *buf)
{
	if (l == -1)
		return "host";
	if (l < -1)
		return "none";
	sprintf(buf, "device %d", l);
	return buf;
}

static void ev(const char *name, bool span, uint64_t dur_ns, uint64_t addr, uint64_t pages,
	       int src, int dst, const char *extra)
{
	char s[16], d[16];

	fprintf(f, ",\n{\"name\":\"%s\",\"cat\":\"svm\",\"ph\":\"%s\",\"pid\":1,\"tid\":%d,"
		"\"ts\":%.3f", name, span ? "X" : "i", 100 + (int)(n % 3), (double)ts_ns / 1e3);
	if (span)
		fprintf(f, ",\"dur\":%.3f", (double)dur_ns / 1e3);
	else
		fprintf(f, ",\"s\":\"t\"");
	fprintf(f, ",\"args\":{\"addr\":\"%#" PRIx64 "\",\"pages\":%" PRIu64 ",\"bytes\":%" PRIu64
		",\"src\":\"%s\",\"dst\":\"%s\"%s}}", addr, pages, pages * 4096, loc(src, s),
		loc(dst, d), extra);
	n++;
	ts_ns += 700 + (n * 7919) % 900;
}

static void stats(const char *name, const struct st *s, uint64_t launches, uint64_t prefetches)
{
	fprintf(f, "%s{\"cpu_faults\":%" PRIu64 ",\"device_faults\":%" PRIu64
		",\"pages_to_device\":%" PRIu64 ",\"pages_to_host\":%" PRIu64
		",\"bytes_to_device\":%" PRIu64 ",\"bytes_to_host\":%" PRIu64
		",\"retries\":%" PRIu64 ",\"evictions\":%" PRIu64 ",\"thrash_events\":%" PRIu64
		",\"remote_accesses\":%" PRIu64 ",\"prefetches\":%" PRIu64 ",\"launches\":%" PRIu64
		",\"failures_by\":[0,%" PRIu64
		",%" PRIu64 ",%" PRIu64 ",%" PRIu64 "]}", name, s->cpu_faults, s->device_faults,
		s->pages_to_device, s->pages_to_host, s->pages_to_device * 4096,
		s->pages_to_host * 4096, s->retries, s->evictions, s->thrash, s->remote, prefetches,
		launches, s->failures[1], s->failures[2], s->failures[3], s->failures[4]);
}

int main(int argc, char **argv)
{
	static const char *const cls[5] = { "", "pinned", "busy", "no-memory", "unsupported" };
	char extra[96];

	if (argc != 3 || !(limit = strtoull(argv[1], NULL, 0)) || !(f = fopen(argv[2], "w"))) {
		fprintf(stderr, "usage: %s N FILE\n", argv[0]);
		return 2;
	}
	fprintf(f, "{\"traceEvents\":[\n{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":1,"
		"\"tid\":0,\"args\":{\"name\":\"svmrt (synthetic)\"}}");
	for (int r = 0; r < RANGES; r++) {
		snprintf(extra, sizeof(extra), ",\"callsite\":\"main+%#x\"", 0x100 + r * 0x10);
		ev("alloc", false, 0, BASE + (uint64_t)r * PAGES * 4096 * 2, PAGES, -2, -2, extra);
	}
	ev("pin", false, 0, BASE + 7ull * PAGES * 4096 * 2, PAGES, -2, -1, "");
	for (uint64_t step = 0; n + 16 < limit; step++) {
		int r = (int)(step % RANGES), d = (int)(step / RANGES % 2);
		uint64_t run = step / RANGES / 2 % (PAGES / RUN);
		uint64_t addr = BASE + (uint64_t)r * PAGES * 4096 * 2 + run * RUN * 4096;
		int thrash = step >= RANGES * 2 * (PAGES / RUN) ? RUN : 0; /* the second lap */

		if (r == 7) { /* the pinned range: device faults served in place */
			ev("device fault", true, 3000, addr, 1, -2, d, ",\"write\":false");
			dev[d].device_faults++;
			ev("in place", false, 0, addr, RUN, -1, d, "");
			dev[d].remote += RUN;
			ev("in place end", false, 0, addr, RUN, -1, d, "");
			snprintf(extra, sizeof(extra), ",\"class\":\"%s\"", cls[1]);
			ev("failure", false, 0, addr, RUN, -2, d, extra);
			dev[d].failures[1] += RUN;
			continue;
		}
		ev("device fault", true, 5000, addr, 1, -2, d, ",\"write\":true");
		dev[d].device_faults++;
		snprintf(extra, sizeof(extra), ",\"thrash\":%d", thrash);
		ev("move", true, 2000, addr, RUN, -1, d, extra);
		dev[d].pages_to_device += RUN;
		dev[d].thrash += (uint64_t)thrash;
		if (step % 5 == 0) {
			snprintf(extra, sizeof(extra), ",\"failed\":0,\"retries\":1");
			ev("retry", false, 0, addr, 2, -2, d, "");
			dev[d].retries++;
		} else {
			snprintf(extra, sizeof(extra), ",\"failed\":0,\"retries\":0");
		}
		ev("migrate", true, 2500, addr, RUN, -2, d, extra);
		if (step % 7 == 0) {
			int c = 2 + (int)(step / 7 % 3);

			snprintf(extra, sizeof(extra), ",\"class\":\"%s\"", cls[c]);
			ev("failure", false, 0, addr, 1, -2, d, extra);
			dev[d].failures[c]++;
		}
		if (step % 11 == 0) {
			ev("evict", true, 1500, addr, 4, d, -1, "");
			dev[d].evictions += 4;
		}
		if (step % 13 == 0) {
			ev("launch", true, 40000, 0, 64, -2, d, "");
			tot.launches++;
		}
		if (step % 17 == 0) {
			ev("prefetch", true, 9000, addr, RUN, -2, -1, "");
			tot.prefetches++;
		}
		ev("cpu fault", true, 4000, addr, 1, -2, d, ",\"write\":false");
		dev[d].cpu_faults++;
		snprintf(extra, sizeof(extra), ",\"thrash\":%d", RUN);
		ev("move", true, 2000, addr, RUN, d, -1, extra);
		dev[d].pages_to_host += RUN;
		dev[d].thrash += RUN;
	}
	for (int d = 0; d < 2; d++) {
		tot.cpu_faults += dev[d].cpu_faults;
		tot.device_faults += dev[d].device_faults;
		tot.pages_to_device += dev[d].pages_to_device;
		tot.pages_to_host += dev[d].pages_to_host;
		tot.retries += dev[d].retries;
		tot.evictions += dev[d].evictions;
		tot.thrash += dev[d].thrash;
		tot.remote += dev[d].remote;
		for (int c = 1; c < 5; c++)
			tot.failures[c] += dev[d].failures[c];
	}
	fprintf(f, "\n],\n\"displayTimeUnit\":\"ns\",\n\"otherData\":{\"backend\":\"synthetic\","
		"\"events\":%" PRIu64 ",\"dropped_events\":0,\"schema\":\"svmrt-trace-2\","
		"\"seconds\":%.6f,\"devices\":[\"device 0 (synthetic)\",\"device 1 (synthetic)\"],"
		"\n\"stats\":", n, (double)(ts_ns / 1000) / 1e6);
	stats("{\"total\":", &tot, tot.launches, tot.prefetches);
	stats(",\"devices\":[", &dev[0], 0, 0);
	stats(",", &dev[1], 0, 0);
	fprintf(f, "]},\"ranges\":[]}}\n");
	if (fclose(f)) {
		perror(argv[2]);
		return 1;
	}
	printf("gen_trace: %" PRIu64 " events in %s\n", n, argv[2]);
	return 0;
}
