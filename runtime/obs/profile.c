/* SPDX-License-Identifier: MIT */
#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../core/rt.h"
#include "profile.h"
#include "report.h"

bool svm__tracing;

static struct {
	pthread_mutex_t lock;
	struct svm__event *ring;
	size_t cap, head, len;
	uint64_t dropped;
} T = { .lock = PTHREAD_MUTEX_INITIALIZER };

#define TOP_N 10
struct top_range {
	uint64_t start, bytes, migrations;
	void *callsite;
};
static struct top_range retired[TOP_N];
static size_t nretired;
static bool started, stopped;
static uint64_t stop_ns; /* when the run ended, the same for the trace and the report */
static uint64_t t0_ns;   /* svm_init's time, for the trace's timestamps */
/* names given at start: the backend and its devices, for the outputs */
static char backend_name[32];
static char dev_names[SVM__MAX_DEVICES][SVM__PROFILE_NAME_LEN];
_Static_assert(sizeof(((struct svm__report_in *)0)->dev_names[0]) == SVM__PROFILE_NAME_LEN,
	       "the report's device names are the profile's");

/* ---- histogram ----------------------------------------------------- */

static unsigned hist_bucket(uint64_t ns)
{
	unsigned e, sub;

	if (ns < 8)
		return (unsigned)ns;
	e = 63u - (unsigned)__builtin_clzll(ns); /* ns in [2^e, 2^(e+1)) */
	sub = (unsigned)(ns >> (e - 3)) & 7u;   /* the next three bits */
	return e * 8 + sub - 16;                /* e >= 3 maps past 0..7 */
}

static uint64_t bucket_value(unsigned b)
{
	unsigned e, sub;

	if (b < 8)
		return b;
	e = (b + 16) / 8;
	sub = (b + 16) % 8;
	/* the middle of the bucket */
	return ((8ull + sub) << (e - 3)) + (1ull << (e - 3)) / 2;
}

void svm__hist_add(struct svm__hist *h, uint64_t ns)
{
	unsigned b = hist_bucket(ns);

	h->count[b < SVM__HIST_BUCKETS ? b : SVM__HIST_BUCKETS - 1]++;
	h->n++;
}

uint64_t svm__hist_percentile(const struct svm__hist *h, double pct)
{
	uint64_t want, seen = 0;

	if (!h->n)
		return 0;
	want = (uint64_t)(pct / 100.0 * (double)h->n);
	if (want >= h->n)
		want = h->n - 1;
	for (unsigned b = 0; b < SVM__HIST_BUCKETS; b++) {
		seen += h->count[b];
		if (seen > want)
			return bucket_value(b);
	}
	return 0;
}

/* ---- trace ring ---------------------------------------------------- */

uint32_t svm__tid(void)
{
	static _Thread_local uint32_t tid;

	if (!tid)
		tid = (uint32_t)syscall(SYS_gettid);
	return tid;
}

void svm__trace_emit(struct svm__event *ev)
{
	uint64_t t0 = t0_ns;

	if (!ev->ts_ns)
		ev->ts_ns = svm__now_ns();
	ev->ts_ns = ev->ts_ns > t0 ? ev->ts_ns - t0 : 0;
	if (!ev->tid)
		ev->tid = svm__tid();
	pthread_mutex_lock(&T.lock);
	if (T.ring && T.len && ev->type >= SVM__EV_MOVE && ev->type <= SVM__EV_UNPIN) {
		struct svm__event *last = &T.ring[(T.head + T.len - 1) % T.cap];

		/* the same change continuing a run of pages: one event for the run */
		if (last->type == ev->type && last->tid == ev->tid && last->src == ev->src &&
		    last->dst == ev->dst && last->addr + last->pages * SVM__PAGE_SIZE == ev->addr &&
		    ev->ts_ns >= last->ts_ns && ev->ts_ns - last->ts_ns < 1000000) {
			last->pages += ev->pages;
			last->failed += ev->failed;
			pthread_mutex_unlock(&T.lock);
			return;
		}
	}
	if (T.ring) {
		T.ring[(T.head + T.len) % T.cap] = *ev;
		if (T.len < T.cap) {
			T.len++;
		} else { /* full: the oldest event goes */
			T.head = (T.head + 1) % T.cap;
			T.dropped++;
		}
	}
	pthread_mutex_unlock(&T.lock);
}

void svm__fault_account(struct svm__rt *rt, int dev, bool cpu, bool write, uint64_t t0_ns,
			uint64_t dt_ns, uint32_t tid, uintptr_t addr)
{
	rt->stats.fault_service_ns += dt_ns;
	if (dt_ns > rt->stats.fault_service_max_ns)
		rt->stats.fault_service_max_ns = dt_ns;
	svm__hist_add(&rt->fault_hist, dt_ns);
	if (dev >= 0) {
		struct svm__devstate *d = &rt->dev[dev];

		d->stats.fault_service_ns += dt_ns;
		if (dt_ns > d->stats.fault_service_max_ns)
			d->stats.fault_service_max_ns = dt_ns;
		svm__hist_add(&d->fault_hist, dt_ns);
	}
	svm__trace((struct svm__event){
		.ts_ns = t0_ns, .dur_ns = dt_ns, .addr = addr, .tid = tid, .pages = 1,
		.type = cpu ? SVM__EV_CPU_FAULT : SVM__EV_DEVICE_FAULT,
		.src = -2, .dst = (int8_t)dev, .write = write });
}

/* ---- start / stop -------------------------------------------------- */

void svm__profile_start(struct svm__rt *rt, const char *backend,
			const char (*devs)[SVM__PROFILE_NAME_LEN])
{
	started = true;
	stopped = false;
	t0_ns = rt->t0_ns;
	snprintf(backend_name, sizeof(backend_name), "%s", backend);
	for (int d = 0; d < rt->ndev && d < SVM__MAX_DEVICES; d++)
		memcpy(dev_names[d], devs[d], sizeof(dev_names[d]));
	nretired = 0;
	memset(&rt->fault_hist, 0, sizeof(rt->fault_hist));
	if (rt->cfg.trace[0] || rt->cfg.report[0]) {
		size_t cap = (size_t)rt->cfg.trace_events;

		pthread_mutex_lock(&T.lock);
		T.ring = calloc(cap, sizeof(*T.ring));
		T.cap = T.ring ? cap : 0;
		T.head = T.len = 0;
		T.dropped = 0;
		pthread_mutex_unlock(&T.lock);
		if (!T.ring)
			svm__err("SVM_TRACE/SVM_REPORT: no memory for %zu events; tracing is off",
				 cap);
		svm__tracing = T.ring != NULL;
	}
}

void svm__profile_range_freed(struct svm__rt *rt, const struct svm__range *r)
{
	size_t low = 0;

	if (!rt->cfg.profile[0] || !r->migrations)
		return;
	if (nretired < TOP_N) {
		low = nretired++;
	} else {
		for (size_t i = 1; i < TOP_N; i++)
			if (retired[i].migrations < retired[low].migrations)
				low = i;
		if (retired[low].migrations >= r->migrations)
			return;
	}
	retired[low] = (struct top_range){ r->start, r->bytes, r->migrations, r->callsite };
}

static void loc_name(int loc, char *buf, size_t len)
{
	if (loc == SVM_HOST)
		snprintf(buf, len, "host");
	else if (loc >= 0)
		snprintf(buf, len, "device %d", loc);
	else
		snprintf(buf, len, "none");
}

/* in whole microseconds, so the report made from the trace file has the same bins */
static double run_seconds(const struct svm__rt *rt)
{
	return (double)((stop_ns - rt->t0_ns) / 1000) / 1e6;
}

/* The final svm_stats: the totals and each device's, as svm_stats reports them. */
static void final_stats(struct svm__rt *rt, svm_stats_t *total, svm_stats_t *dev)
{
	size_t resident = 0;

	*total = rt->stats;
	total->launches = atomic_load(&rt->launches);
	for (int d = 0; d < rt->ndev; d++) {
		dev[d] = rt->dev[d].stats;
		dev[d].device_resident_bytes = (uint64_t)rt->dev[d].resident * SVM__PAGE_SIZE;
		resident += rt->dev[d].resident;
	}
	total->device_resident_bytes = (uint64_t)resident * SVM__PAGE_SIZE;
}

/* "device 0 (name)", as the API layer gave it at start */
static const char *device_name(int d)
{
	return dev_names[d];
}

/*
 * The end of the trace's otherData: the devices, the final svm_stats
 * (so a report made from the file shows exactly what svm_stats said) and
 * the ranges still live (their alloc events may have left the ring).
 */
static void write_final(FILE *f, struct svm__rt *rt)
{
	svm_stats_t total, dev[SVM__MAX_DEVICES];
	char cs[128];

	final_stats(rt, &total, dev);
	fprintf(f, "\"schema\":\"svmrt-trace-2\",\"seconds\":%.6f,\n\"devices\":[",
		run_seconds(rt));
	for (int d = 0; d < rt->ndev; d++) {
		fprintf(f, "%s", d ? "," : "");
		svm__json_string(f, device_name(d));
	}
	fprintf(f, "],\n\"stats\":{\"total\":");
	svm__json_stats(f, &total);
	fprintf(f, ",\n\"devices\":[");
	for (int d = 0; d < rt->ndev; d++) {
		fprintf(f, "%s", d ? ",\n" : "");
		svm__json_stats(f, &dev[d]);
	}
	fprintf(f, "]},\n\"ranges\":[");
	for (size_t k = 0; k < rt->nranges; k++) {
		const struct svm__range *r = rt->ranges[k];

		svm__callsite_name(r->callsite, cs, sizeof(cs));
		fprintf(f, "%s{\"start\":\"%#" PRIx64 "\",\"pages\":%zu,\"bytes\":%zu,"
			"\"callsite\":", k ? ",\n" : "", (uint64_t)r->start, r->npages, r->bytes);
		svm__json_string(f, cs);
		fprintf(f, "}");
	}
	fprintf(f, "]");
}

static void site_name(uint64_t site, char *buf, size_t len, void *arg)
{
	(void)arg;
	svm__callsite_name((void *)(uintptr_t)site, buf, len);
}

/* SVM_REPORT: the report from the ring, as svm-report makes it from a trace. */
static void write_report(struct svm__rt *rt)
{
	static struct svm__report_in in; /* large; only the owner's exit gets here */
	struct svm__report_range *ranges = calloc(rt->nranges + 1, sizeof(*ranges));
	struct svm__event *ev;

	pthread_mutex_lock(&T.lock);
	ev = malloc((T.len + 1) * sizeof(*ev));
	if (ev)
		for (size_t k = 0; k < T.len; k++)
			ev[k] = T.ring[(T.head + k) % T.cap];
	memset(&in, 0, sizeof(in));
	in.nev = T.len;
	in.dropped = T.dropped;
	pthread_mutex_unlock(&T.lock);
	if (!ev || !ranges) {
		svm__err("SVM_REPORT=%s: no memory for the report", rt->cfg.report);
		free(ev);
		free(ranges);
		return;
	}
	in.backend = backend_name;
	in.source = "SVM_REPORT at exit";
	in.ndev = rt->ndev < SVM__REPORT_MAX_DEVICES ? rt->ndev : SVM__REPORT_MAX_DEVICES;
	for (int d = 0; d < in.ndev; d++)
		memcpy(in.dev_names[d], device_name(d), sizeof(in.dev_names[d]));
	in.have_stats = true;
	final_stats(rt, &in.total, in.dev);
	in.seconds = run_seconds(rt);
	in.ev = ev;
	for (size_t k = 0; k < rt->nranges; k++) {
		const struct svm__range *r = rt->ranges[k];

		ranges[k] = (struct svm__report_range){ r->start, r->npages, r->bytes, "" };
		svm__callsite_name(r->callsite, ranges[k].site, sizeof(ranges[k].site));
	}
	in.ranges = ranges;
	in.nranges = rt->nranges;
	in.site_name = site_name;
	svm__report_write(rt->cfg.report, &in);
	free(ev);
	free(ranges);
}

static void write_trace(struct svm__rt *rt)
{
	FILE *f = fopen(rt->cfg.trace, "w");
	int pid = (int)getpid();

	if (!f) {
		svm__err("SVM_TRACE=%s: cannot write: %s", rt->cfg.trace, strerror(errno));
		return;
	}
	pthread_mutex_lock(&T.lock);
	fprintf(f, "{\"traceEvents\":[\n");
	fprintf(f, "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":%d,\"tid\":0,"
		"\"args\":{\"name\":\"svmrt (%s backend)\"}}", pid, backend_name);
	for (size_t k = 0; k < T.len; k++) {
		const struct svm__event *e = &T.ring[(T.head + k) % T.cap];
		char src[16], dst[16];
		bool span = e->type <= SVM__EV_PREFETCH && e->type != SVM__EV_RETRY &&
			    e->type != SVM__EV_FAILURE;
		uint64_t bytes = e->type == SVM__EV_ALLOC ? e->failed : e->pages * SVM__PAGE_SIZE;

		loc_name(e->src, src, sizeof(src));
		loc_name(e->dst, dst, sizeof(dst));
		fprintf(f, ",\n{\"name\":\"%s\",\"cat\":\"svm\",\"ph\":\"%s\",\"pid\":%d,"
			"\"tid\":%" PRIu32 ",\"ts\":%.3f", svm__ev_names[e->type], span ? "X" : "i",
			pid, e->tid, (double)e->ts_ns / 1000.0);
		if (span)
			fprintf(f, ",\"dur\":%.3f", (double)e->dur_ns / 1000.0);
		else
			fprintf(f, ",\"s\":\"t\"");
		fprintf(f, ",\"args\":{\"addr\":\"%#" PRIx64 "\",\"pages\":%" PRIu64
			",\"bytes\":%" PRIu64 ",\"src\":\"%s\",\"dst\":\"%s\"", e->addr, e->pages,
			bytes, src, dst);
		if (e->type == SVM__EV_MOVE)
			fprintf(f, ",\"thrash\":%" PRIu64, e->failed);
		if (e->type == SVM__EV_ALLOC) {
			char cs[128];

			svm__callsite_name((void *)(uintptr_t)e->site, cs, sizeof(cs));
			fprintf(f, ",\"callsite\":");
			svm__json_string(f, cs);
		}
		if (e->type == SVM__EV_MIGRATE)
			fprintf(f, ",\"failed\":%" PRIu64 ",\"retries\":%u", e->failed, e->retries);
		if (e->type == SVM__EV_EVICT)
			fprintf(f, ",\"prefetched\":%" PRIu32, e->prefetched);
		if (e->type == SVM__EV_FAILURE)
			fprintf(f, ",\"class\":\"%s\"", svm__failure_name(e->cls));
		if (e->type == SVM__EV_RETRY)
			fprintf(f, ",\"round\":%u", e->retries);
		if (e->type == SVM__EV_CPU_FAULT || e->type == SVM__EV_DEVICE_FAULT)
			fprintf(f, ",\"write\":%s", e->write ? "true" : "false");
		fprintf(f, "}}");
	}
	fprintf(f, "\n],\n\"displayTimeUnit\":\"ns\",\n\"otherData\":{\"backend\":\"%s\","
		"\"events\":%zu,\"dropped_events\":%" PRIu64 ",\n", backend_name, T.len,
		T.dropped);
	pthread_mutex_unlock(&T.lock);
	write_final(f, rt);
	fprintf(f, "}}\n");
	if (fclose(f))
		svm__err("SVM_TRACE=%s: write failed: %s", rt->cfg.trace, strerror(errno));
}

/* ---- the summary ------------------------------------------------------ */

void svm__callsite_name(void *cs, char *buf, size_t len)
{
	Dl_info info;

	if (!cs) {
		buf[0] = 0;
		return;
	}
	if (dladdr(cs, &info) && info.dli_sname)
		snprintf(buf, len, "%s+%#lx", info.dli_sname,
			 (unsigned long)((char *)cs - (char *)info.dli_saddr));
	else if (dladdr(cs, &info) && info.dli_fname)
		snprintf(buf, len, "%s+%#lx", strrchr(info.dli_fname, '/') ?
			 strrchr(info.dli_fname, '/') + 1 : info.dli_fname,
			 (unsigned long)((char *)cs - (char *)info.dli_fbase));
	else
		snprintf(buf, len, "%p", cs);
}

static size_t top_ranges(struct svm__rt *rt, struct top_range *out)
{
	size_t n = 0;

	memcpy(out, retired, nretired * sizeof(*out));
	n = nretired;
	for (size_t k = 0; k < rt->nranges; k++) {
		const struct svm__range *r = rt->ranges[k];
		size_t low = 0;

		if (!r->migrations)
			continue;
		if (n < TOP_N) {
			low = n++;
		} else {
			for (size_t i = 1; i < TOP_N; i++)
				if (out[i].migrations < out[low].migrations)
					low = i;
			if (out[low].migrations >= r->migrations)
				continue;
		}
		out[low] = (struct top_range){ r->start, r->bytes, r->migrations, r->callsite };
	}
	for (size_t i = 1; i < n; i++) /* most migrations first */
		for (size_t j = i; j > 0 && out[j].migrations > out[j - 1].migrations; j--) {
			struct top_range t = out[j];

			out[j] = out[j - 1];
			out[j - 1] = t;
		}
	return n;
}

static double gib_per_s(uint64_t bytes, uint64_t ns)
{
	return ns ? (double)bytes / (double)ns * 1e9 / (double)(1ull << 30) : 0.0;
}

struct block {
	const char *name;
	const svm_stats_t *s;
	const struct svm__hist *h;
};

static void print_block(FILE *f, const struct block *b)
{
	const svm_stats_t *s = b->s;

	fprintf(f, "%s\n", b->name);
	fprintf(f, "  faults            cpu %" PRIu64 ", device %" PRIu64 "\n", s->cpu_faults,
		s->device_faults);
	fprintf(f, "  to device         %" PRIu64 " pages, %.1f MiB, %.2f GiB/s while moving\n",
		s->pages_to_device, (double)s->bytes_to_device / 1048576.0,
		gib_per_s(s->bytes_to_device, s->move_ns_to_device));
	fprintf(f, "  to host           %" PRIu64 " pages, %.1f MiB, %.2f GiB/s while moving\n",
		s->pages_to_host, (double)s->bytes_to_host / 1048576.0,
		gib_per_s(s->bytes_to_host, s->move_ns_to_host));
	fprintf(f, "  retries           %" PRIu64 " rounds, %" PRIu64 " page attempts\n",
		s->retries, s->move_attempts);
	fprintf(f, "  failures          pinned %" PRIu64 ", busy %" PRIu64 ", no-memory %" PRIu64
		", unsupported %" PRIu64 "\n", s->failures_by[SVM_FAILURE_PINNED],
		s->failures_by[SVM_FAILURE_BUSY], s->failures_by[SVM_FAILURE_NO_MEMORY],
		s->failures_by[SVM_FAILURE_UNSUPPORTED]);
	fprintf(f, "  evictions         %" PRIu64 "\n", s->evictions);
	fprintf(f, "  read duplicates   %" PRIu64 " (collapsed %" PRIu64 ")\n",
		s->read_duplicates, s->collapses);
	fprintf(f, "  served in place   %" PRIu64 "\n", s->remote_accesses);
	fprintf(f, "  thrash events     %" PRIu64 "\n", s->thrash_events);
	fprintf(f, "  prefetched        %" PRIu64 " pages along with faults (evicted unmoved %"
		PRIu64 ")\n", s->prefetched_pages, s->prefetched_evicted);
	fprintf(f, "  thrash holds      %" PRIu64 " pages held on the host, %" PRIu64
		" device faults served without a move\n", s->thrash_holds, s->thrash_held_faults);
	fprintf(f, "  fault service     p50 %.1f us, p99 %.1f us, max %.1f us (%" PRIu64
		" faults)\n", (double)svm__hist_percentile(b->h, 50) / 1000.0,
		(double)svm__hist_percentile(b->h, 99) / 1000.0,
		(double)s->fault_service_max_ns / 1000.0, b->h->n);
}

static void json_block(FILE *f, const struct block *b, int index)
{
	const svm_stats_t *s = b->s;

	fprintf(f, "{");
	if (index >= 0)
		fprintf(f, "\"index\":%d,", index);
	fprintf(f, "\"name\":\"%s\",\"cpu_faults\":%" PRIu64 ",\"device_faults\":%" PRIu64
		",\"pages_to_device\":%" PRIu64 ",\"pages_to_host\":%" PRIu64
		",\"bytes_to_device\":%" PRIu64 ",\"bytes_to_host\":%" PRIu64
		",\"gib_per_s_to_device\":%.3f,\"gib_per_s_to_host\":%.3f"
		",\"retries\":%" PRIu64 ",\"move_attempts\":%" PRIu64
		",\"failures\":{\"pinned\":%" PRIu64 ",\"busy\":%" PRIu64 ",\"no-memory\":%" PRIu64
		",\"unsupported\":%" PRIu64 "},\"evictions\":%" PRIu64
		",\"read_duplicates\":%" PRIu64 ",\"collapses\":%" PRIu64
		",\"remote_accesses\":%" PRIu64 ",\"thrash_events\":%" PRIu64
		",\"prefetched_pages\":%" PRIu64 ",\"prefetched_evicted\":%" PRIu64
		",\"thrash_holds\":%" PRIu64 ",\"thrash_held_faults\":%" PRIu64
		",\"fault_service_ns\":{\"count\":%" PRIu64 ",\"p50\":%" PRIu64 ",\"p99\":%" PRIu64
		",\"max\":%" PRIu64 "}}", b->name, s->cpu_faults, s->device_faults,
		s->pages_to_device, s->pages_to_host, s->bytes_to_device, s->bytes_to_host,
		gib_per_s(s->bytes_to_device, s->move_ns_to_device),
		gib_per_s(s->bytes_to_host, s->move_ns_to_host), s->retries, s->move_attempts,
		s->failures_by[SVM_FAILURE_PINNED], s->failures_by[SVM_FAILURE_BUSY],
		s->failures_by[SVM_FAILURE_NO_MEMORY], s->failures_by[SVM_FAILURE_UNSUPPORTED],
		s->evictions, s->read_duplicates, s->collapses, s->remote_accesses,
		s->thrash_events, s->prefetched_pages, s->prefetched_evicted, s->thrash_holds,
		s->thrash_held_faults, b->h->n,
		svm__hist_percentile(b->h, 50),
		svm__hist_percentile(b->h, 99), s->fault_service_max_ns);
}

static void write_profile(struct svm__rt *rt)
{
	const char *spec = rt->cfg.profile;
	bool json = !strncmp(spec, "json:", 5);
	FILE *f = stderr;
	struct top_range top[TOP_N];
	size_t ntop = top_ranges(rt, top);
	double secs = (double)(svm__now_ns() - rt->t0_ns) / 1e9;
	const char *names[SVM__MAX_DEVICES];
	char cs[128];
	svm_stats_t total = rt->stats;

	total.launches = atomic_load(&rt->launches);
	for (int d = 0; d < rt->ndev; d++)
		names[d] = device_name(d);
	if (json) {
		f = fopen(spec + 5, "w");
		if (!f) {
			svm__err("SVM_PROFILE=%s: cannot write: %s", spec, strerror(errno));
			return;
		}
		fprintf(f, "{\"schema\":\"svmrt-profile-1\",\"backend\":\"%s\",\"seconds\":%.6f,"
			"\"launches\":%" PRIu64 ",\"prefetches\":%" PRIu64 ",\"devices\":[",
			backend_name, secs, total.launches, total.prefetches);
		for (int d = 0; d < rt->ndev; d++) {
			struct block b = { names[d], &rt->dev[d].stats, &rt->dev[d].fault_hist };

			if (d)
				fprintf(f, ",");
			json_block(f, &b, d);
		}
		fprintf(f, "],\"total\":");
		json_block(f, &(struct block){ "all devices", &total, &rt->fault_hist }, -1);
		fprintf(f, ",\"top_ranges\":[");
		for (size_t i = 0; i < ntop; i++) {
			svm__callsite_name(top[i].callsite, cs, sizeof(cs));
			fprintf(f, "%s{\"start\":\"%#" PRIx64 "\",\"bytes\":%" PRIu64
				",\"migrations\":%" PRIu64 ",\"callsite\":\"%s\"}", i ? "," : "",
				top[i].start, top[i].bytes, top[i].migrations, cs);
		}
		fprintf(f, "]}\n");
		if (fclose(f))
			svm__err("SVM_PROFILE=%s: write failed: %s", spec, strerror(errno));
		return;
	}
	fprintf(f, "==== svmrt profile: %s backend, %d device(s), %.3f s, %" PRIu64
		" launches, %" PRIu64 " prefetches\n", backend_name, rt->ndev, secs,
		total.launches, total.prefetches);
	for (int d = 0; d < rt->ndev; d++)
		print_block(f, &(struct block){ names[d], &rt->dev[d].stats,
						&rt->dev[d].fault_hist });
	if (rt->ndev > 1)
		print_block(f, &(struct block){ "all devices", &total, &rt->fault_hist });
	fprintf(f, "ranges with the most migrations:\n");
	if (!ntop)
		fprintf(f, "  (none moved)\n");
	for (size_t i = 0; i < ntop; i++) {
		svm__callsite_name(top[i].callsite, cs, sizeof(cs));
		fprintf(f, "  %2zu. %#" PRIx64 "  %.1f KiB  %" PRIu64 " migrations%s%s\n", i + 1,
			top[i].start, (double)top[i].bytes / 1024.0, top[i].migrations,
			cs[0] ? "  allocated at " : "", cs);
	}
	fprintf(f, "====\n");
}

void svm__profile_stop(struct svm__rt *rt)
{
	if (!started || stopped)
		return;
	stopped = true;
	stop_ns = svm__now_ns();
	if (rt->cfg.profile[0])
		write_profile(rt);
	if (svm__tracing) {
		svm__tracing = false; /* what follows is not traced */
		if (rt->cfg.trace[0])
			write_trace(rt);
		if (rt->cfg.report[0])
			write_report(rt);
		pthread_mutex_lock(&T.lock);
		free(T.ring);
		T.ring = NULL;
		T.cap = T.len = T.head = 0;
		pthread_mutex_unlock(&T.lock);
	}
}
