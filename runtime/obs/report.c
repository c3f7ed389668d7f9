/* SPDX-License-Identifier: MIT */
/*
 * The visual report: trace events in, one self-contained HTML file out.
 *
 * Nothing of the raw event stream goes into the file. The events are
 * replayed in time order against a per-page state table, and what the
 * page's script draws is aggregated first (docs/report.md):
 *  - residency: each allocation is cut into at most HEAT_BLOCKS address
 *    blocks and the run into HEAT_BUCKETS time buckets; a cell holds the
 *    state most of the block's pages were in at the end of the bucket, and
 *    a mark byte (moved either way, evicted, thrashed, failed by class);
 *  - timeline: per location (host, each device) and kind, counts of events
 *    or pages in TL_BINS time bins;
 *  - details: at most SAMPLES events for hover and click (all of the rare
 *    kinds up to a share each, an even stride through the rest);
 *  - ranges: one row of counters per allocation (the TABLE_RANGES busiest).
 * The size of the file is thus bounded by these constants, not by the
 * number of events or allocations.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../core/rt.h"
#include "report.h"
#include "report_html.h" /* generated from report.html: svm__report_html[] */

/* The trace's event names; the report and svm-report use the same table. */
const char *const svm__ev_names[SVM__EV_COUNT] = {
	"cpu fault", "device fault", "migrate", "retry", "failure", "evict", "launch",
	"prefetch", "pinned range", "move", "read duplicate", "collapse", "in place",
	"in place end", "pin", "unpin", "alloc", "free", "density prefetch",
	"thrash hold", "thrash release",
};

void svm__json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if (*c == '"' || *c == '\\')
			fprintf(f, "\\%c", *c);
		else if (*c < 0x20 || *c >= 0x7f || *c == '<' || *c == '>' || *c == '&')
			fprintf(f, "\\u%04x", *c);
		else
			fputc(*c, f);
	}
	fputc('"', f);
}

void svm__json_stats(FILE *f, const svm_stats_t *s)
{
	const char *sep = "";

	fprintf(f, "{");
#define X(name) fprintf(f, "%s\"" #name "\":%" PRIu64, sep, s->name), sep = ",";
	SVM__STATS_FIELDS(X)
#undef X
	fprintf(f, ",\"failures_by\":[");
	for (int c = 0; c < SVM_FAILURE_COUNT; c++)
		fprintf(f, "%s%" PRIu64, c ? "," : "", s->failures_by[c]);
	fprintf(f, "]}");
}

#define HEAT_BUCKETS 240
#define HEAT_BLOCKS 64
#define HEAT_RANGES 64
#define TABLE_RANGES 4096 /* rows of the range table (the busiest ranges) */
#define HEAT_MAX_PAGES (1ull << 26) /* larger allocations (256 GiB) are not drawn */
#define TL_BINS 1000
#define SAMPLES 20000
#define RARE_SHARE 2000 /* samples kept of each rare kind */
#define NLOC (SVM__REPORT_MAX_DEVICES + 1) /* host, then the devices */

/* page state: low 5 bits where (0 unknown, 1 host, 2 + d device d), flags */
#define ST_LOC 0x1f
#define ST_DUP 0x20
#define ST_INPLACE 0x40
#define ST_PINNED 0x80
/* categories a block's pages are counted in */
#define CAT_UNKNOWN 0
#define CAT_HOST 1
#define CAT_DUP (2 + SVM__REPORT_MAX_DEVICES)
#define CAT_INPLACE (CAT_DUP + 1)
#define CAT_PINNED (CAT_INPLACE + 1)
#define NCAT (CAT_PINNED + 1)
/* cell marks */
#define MK_TO_DEV 0x01
#define MK_TO_HOST 0x02
#define MK_EVICT 0x04
#define MK_THRASH 0x08
#define MK_PINNED 0x10
#define MK_BUSY 0x20
#define MK_NOMEM 0x40
#define MK_UNSUP 0x80

/* timeline kinds */
enum {
	K_CPU_FAULT, K_DEV_FAULT, K_TO_DEV, K_TO_HOST, K_PREFETCH, K_EVICT, K_RETRY,
	K_FAILURE, K_LAUNCH, K_THRASH, K_PINNED, K_DUP, K_INPLACE, K_COUNT
};
static const char *const kind_names[K_COUNT] = {
	"cpu faults", "device faults", "pages to device", "pages to host", "prefetches",
	"evicted pages", "retry rounds", "failed pages", "launches", "thrash events",
	"pinned ranges", "read duplicates", "in place",
};

struct rrange {
	uint64_t start, pages, bytes;
	uint64_t t_alloc, t_free; /* ns; t_free UINT64_MAX while live */
	char site[128];
	uint64_t nev;             /* events attributed, to pick the ranges drawn */
	size_t rank;              /* by nev, busiest first */
	/* counters for the table */
	uint64_t moved, bytes_moved, to_dev, to_host, cpu_faults, dev_faults, thrash;
	uint64_t failed[SVM_FAILURE_COUNT], fault_ns, evicted, dups, inplace;
	/* residency (only for the ranges drawn) */
	bool drawn;
	uint32_t nblocks, ppb;     /* blocks, pages per block */
	uint8_t *pstate;           /* per page */
	uint32_t *bcount;          /* nblocks x NCAT */
	char *cells;               /* nblocks x HEAT_BUCKETS */
	uint8_t *marks;            /* nblocks x HEAT_BUCKETS */
};

struct ctx {
	struct svm__report_in *in;
	uint64_t t_begin, t_end; /* the span drawn: first event to the end of the run */
	struct rrange *r;
	size_t nr;
	int32_t *owner;    /* range of each event, -1 none */
	uint64_t unattributed;
	uint64_t (*tl)[K_COUNT][TL_BINS]; /* [NLOC] */
	svm_stats_t derived[NLOC + 1]; /* host-lane unused; [NLOC] = all */
};

static int cmp_ts(const void *a, const void *b)
{
	const struct svm__event *x = a, *y = b;

	return x->ts_ns < y->ts_ns ? -1 : x->ts_ns > y->ts_ns;
}

static int loc_slot(int loc) /* 0 host, 1 + d device d, -1 none */
{
	if (loc == SVM_HOST)
		return 0;
	if (loc >= 0 && loc < SVM__REPORT_MAX_DEVICES)
		return 1 + loc;
	return -1;
}

static uint8_t loc_state(int loc)
{
	int s = loc_slot(loc);

	return s < 0 ? 0 : (uint8_t)(1 + s);
}

static unsigned cat_of(uint8_t st)
{
	if (st & ST_PINNED)
		return CAT_PINNED;
	if (st & ST_INPLACE)
		return CAT_INPLACE;
	if (st & ST_DUP)
		return CAT_DUP;
	return st & ST_LOC;
}

static size_t bucket_of(const struct ctx *c, uint64_t ts, size_t n)
{
	uint64_t span = c->t_end - c->t_begin;
	size_t b = ts > c->t_begin && span ?
		   (size_t)((double)(ts - c->t_begin) / (double)span * (double)n) : 0;

	return b < n ? b : n - 1;
}

/* ---- which range an event belongs to ------------------------------------ */

static int cmp_start(const void *a, const void *b, void *arg)
{
	const struct rrange *r = arg;
	uint64_t x = r[*(const int32_t *)a].start, y = r[*(const int32_t *)b].start;

	return x < y ? -1 : x > y;
}

static int32_t active_find(const struct ctx *c, const int32_t *act, size_t nact, uint64_t addr)
{
	size_t lo = 0, hi = nact;

	while (lo < hi) { /* the last range starting at or below addr */
		size_t mid = (lo + hi) / 2;

		if (c->r[act[mid]].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return -1;
	const struct rrange *r = &c->r[act[lo - 1]];

	return addr < r->start + r->pages * SVM__PAGE_SIZE ? act[lo - 1] : -1;
}

static void active_add(struct ctx *c, int32_t *act, size_t *nact, int32_t k)
{
	size_t i = *nact;

	while (i > 0 && c->r[act[i - 1]].start > c->r[k].start) {
		act[i] = act[i - 1];
		i--;
	}
	act[i] = k;
	(*nact)++;
}

static void active_del(int32_t *act, size_t *nact, int32_t k)
{
	for (size_t i = 0; i < *nact; i++)
		if (act[i] == k) {
			memmove(&act[i], &act[i + 1], (*nact - i - 1) * sizeof(*act));
			(*nact)--;
			return;
		}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Builds the ranges (alloc events, then the given live ones) and owner[]. */
struct addr_ev {
	uint64_t addr;
	size_t i; /* the event's place in time order */
};

static int cmp_addr_ev(const void *a, const void *b)
{
	const struct addr_ev *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

/*
 * Allocations freed in the trace whose alloc event left the ring: each
 * free with no alloc before it at its address makes a range that is there
 * from the start. Returns how many were added to c->r, or -1.
 */
static int freed_before(struct ctx *c, size_t nboth)
{
	struct svm__report_in *in = c->in;
	struct addr_ev *v = malloc((nboth + 1) * sizeof(*v));
	size_t n = 0, added = 0;

	if (!v)
		return -1;
	for (size_t i = 0; i < in->nev; i++)
		if (in->ev[i].type == SVM__EV_ALLOC || in->ev[i].type == SVM__EV_FREE)
			v[n++] = (struct addr_ev){ in->ev[i].addr, i };
	qsort(v, n, sizeof(*v), cmp_addr_ev);
	for (size_t k = 0, open = 0; k < n; k++) {
		const struct svm__event *e = &in->ev[v[k].i];

		if (k && v[k].addr != v[k - 1].addr)
			open = 0;
		if (e->type == SVM__EV_ALLOC) {
			open++;
		} else if (open) {
			open--;
		} else if (e->pages) {
			c->r[c->nr++] = (struct rrange){ .start = e->addr, .pages = e->pages,
							 .bytes = e->pages * SVM__PAGE_SIZE,
							 .t_free = UINT64_MAX };
			added++;
		}
	}
	free(v);
	return (int)added;
}

static int attribute(struct ctx *c)
{
	struct svm__report_in *in = c->in;
	size_t nalloc = 0, nfree = 0, cap, nact = 0;
	int32_t *act;

	for (size_t i = 0; i < in->nev; i++) {
		nalloc += in->ev[i].type == SVM__EV_ALLOC;
		nfree += in->ev[i].type == SVM__EV_FREE;
	}
	cap = nalloc + nfree + in->nranges + 1;
	c->r = calloc(cap, sizeof(*c->r));
	act = calloc(cap, sizeof(*act));
	c->owner = malloc((in->nev + 1) * sizeof(*c->owner));
	if (!c->r || !act || !c->owner || freed_before(c, nalloc + nfree) < 0) {
		free(act);
		return -1;
	}
	/* live ranges whose alloc event is not in the trace: there from the start */
	uint64_t *seen = malloc((nalloc + 1) * sizeof(*seen));
	size_t nseen = 0;

	if (!seen) {
		free(act);
		return -1;
	}
	for (size_t i = 0; i < in->nev; i++)
		if (in->ev[i].type == SVM__EV_ALLOC)
			seen[nseen++] = in->ev[i].addr;
	qsort(seen, nseen, sizeof(*seen), cmp_u64);
	for (size_t k = 0; k < in->nranges; k++) {
		const struct svm__report_range *g = &in->ranges[k];

		if (!g->pages || bsearch(&g->start, seen, nseen, sizeof(*seen), cmp_u64))
			continue;
		c->r[c->nr] = (struct rrange){ .start = g->start, .pages = g->pages,
					       .bytes = g->bytes, .t_free = UINT64_MAX };
		snprintf(c->r[c->nr].site, sizeof(c->r[c->nr].site), "%s", g->site);
		c->nr++;
	}
	free(seen);
	for (size_t k = 0; k < c->nr; k++)
		act[nact++] = (int32_t)k;
	qsort_r(act, nact, sizeof(*act), cmp_start, c->r);
	for (size_t i = 0; i < in->nev; i++) {
		const struct svm__event *e = &in->ev[i];
		int32_t k;

		c->owner[i] = -1;
		if (e->type == SVM__EV_ALLOC) {
			struct rrange *r = &c->r[c->nr];

			/* an allocation over a range whose free was lost ends that one */
			while ((k = active_find(c, act, nact, e->addr)) >= 0) {
				c->r[k].t_free = e->ts_ns;
				active_del(act, &nact, k);
			}
			*r = (struct rrange){ .start = e->addr, .pages = e->pages ? e->pages : 1,
					      .bytes = e->failed, .t_alloc = e->ts_ns,
					      .t_free = UINT64_MAX };
			if (in->site_name && e->site)
				in->site_name(e->site, r->site, sizeof(r->site), in->site_arg);
			active_add(c, act, &nact, (int32_t)c->nr);
			c->owner[i] = (int32_t)c->nr++;
			continue;
		}
		if (e->type == SVM__EV_LAUNCH) /* its addr is not an address */
			continue;
		k = active_find(c, act, nact, e->addr);
		c->owner[i] = k;
		if (k < 0) {
			c->unattributed++;
			continue;
		}
		c->r[k].nev++;
		if (e->type == SVM__EV_FREE) {
			c->r[k].t_free = e->ts_ns;
			active_del(act, &nact, k);
		}
	}
	free(act);
	return 0;
}

/* ---- residency ---------------------------------------------------------- */

static int cmp_nev_desc(const void *a, const void *b, void *arg)
{
	const struct rrange *r = arg;
	uint64_t x = r[*(const int32_t *)a].nev, y = r[*(const int32_t *)b].nev;

	return x > y ? -1 : x < y;
}

static int heat_alloc(struct ctx *c)
{
	int32_t *order = malloc((c->nr + 1) * sizeof(*order));
	size_t n = c->nr < HEAT_RANGES ? c->nr : HEAT_RANGES;

	if (!order)
		return -1;
	for (size_t k = 0; k < c->nr; k++)
		order[k] = (int32_t)k;
	qsort_r(order, c->nr, sizeof(*order), cmp_nev_desc, c->r);
	for (size_t i = 0; i < c->nr; i++)
		c->r[order[i]].rank = i;
	for (size_t i = 0, drawn = 0; i < c->nr && drawn < n; i++) {
		struct rrange *r = &c->r[order[i]];

		if (r->pages > HEAT_MAX_PAGES)
			continue; /* a state byte per page would not fit: table only */
		drawn++;
		r->nblocks = r->pages < HEAT_BLOCKS ? (uint32_t)r->pages : HEAT_BLOCKS;
		r->ppb = (uint32_t)((r->pages + r->nblocks - 1) / r->nblocks);
		r->nblocks = (uint32_t)((r->pages + r->ppb - 1) / r->ppb);
		r->pstate = calloc(r->pages, 1);
		r->bcount = calloc((size_t)r->nblocks * NCAT, sizeof(*r->bcount));
		r->cells = malloc((size_t)r->nblocks * HEAT_BUCKETS);
		r->marks = calloc((size_t)r->nblocks * HEAT_BUCKETS, 1);
		if (!r->pstate || !r->bcount || !r->cells || !r->marks) {
			free(order);
			return -1;
		}
		memset(r->cells, '-', (size_t)r->nblocks * HEAT_BUCKETS);
		r->drawn = true;
	}
	free(order);
	return 0;
}

/* The first-seen pages of [first, first+n) of r start in state st. */
static void initial_state(struct rrange *r, uint64_t first, uint64_t n, uint8_t st)
{
	for (uint64_t i = first; i < first + n; i++)
		if (!r->pstate[i])
			r->pstate[i] = st ? st : 0xff; /* 0xff: decided, unknown */
}

static void page_set(struct rrange *r, uint64_t i, uint8_t st)
{
	uint32_t b = (uint32_t)(i / r->ppb);

	r->bcount[b * NCAT + cat_of(r->pstate[i])]--;
	r->pstate[i] = st;
	r->bcount[b * NCAT + cat_of(st)]++;
}

/* clips [addr, addr + pages) to r; false if nothing is left */
static bool clip(const struct rrange *r, uint64_t addr, uint64_t pages, uint64_t *first,
		 uint64_t *n)
{
	uint64_t i = (addr - r->start) / SVM__PAGE_SIZE;

	if (addr < r->start || i >= r->pages)
		return false;
	*first = i;
	*n = pages < r->pages - i ? pages : r->pages - i;
	return *n > 0;
}

static void mark(struct rrange *r, uint64_t first, uint64_t n, size_t hb, uint8_t m)
{
	if (!r->drawn || !n)
		return;
	for (uint64_t b = first / r->ppb; b <= (first + n - 1) / r->ppb; b++)
		r->marks[b * HEAT_BUCKETS + hb] |= m;
}

static void snapshot(struct ctx *c, size_t hb)
{
	static const char code[NCAT + 1] = ".hABCDEFGHIJKLMNOPdpP";
	uint64_t span = c->t_end - c->t_begin;
	uint64_t t0 = c->t_begin + (uint64_t)((double)span * (double)hb / HEAT_BUCKETS);
	uint64_t t1 = c->t_begin + (uint64_t)((double)span * (double)(hb + 1) / HEAT_BUCKETS);

	for (size_t k = 0; k < c->nr; k++) {
		struct rrange *r = &c->r[k];

		if (!r->drawn || r->t_alloc >= t1 || r->t_free < t0)
			continue; /* not allocated during the bucket: stays '-' */
		for (uint32_t b = 0; b < r->nblocks; b++) {
			const uint32_t *cnt = &r->bcount[b * NCAT];
			unsigned best = 0;

			/* the most pages; a known state wins a tie with unknown */
			for (unsigned s = 1; s < NCAT; s++)
				if (cnt[s] > cnt[best] ||
				    (cnt[s] && cnt[s] == cnt[best] && best == CAT_UNKNOWN))
					best = s;
			r->cells[b * HEAT_BUCKETS + hb] = code[best];
		}
	}
}

/* ---- replay --------------------------------------------------------------- */

static void tl_add(struct ctx *c, int loc, int kind, uint64_t ts, uint64_t v)
{
	int s = loc_slot(loc);

	if (s < 0)
		s = 0; /* no location: charged to the host row */
	c->tl[s][kind][bucket_of(c, ts, TL_BINS)] += v;
}

/* svm_stats-like counts made from the events, per device and in all */
#define DERIVE(loc, field, v)                                                  \
	do {                                                                   \
		int s_ = loc_slot(loc);                                        \
		c->derived[NLOC].field += (v);                                 \
		if (s_ > 0)                                                    \
			c->derived[s_].field += (v);                           \
	} while (0)

static void prepass(struct ctx *c)
{
	const struct svm__report_in *in = c->in;

	for (size_t i = 0; i < in->nev; i++) {
		const struct svm__event *e = &in->ev[i];
		struct rrange *r = c->owner[i] >= 0 ? &c->r[c->owner[i]] : NULL;
		uint64_t first, n;

		if (!r || !r->drawn || !clip(r, e->addr, e->pages, &first, &n))
			continue;
		switch (e->type) {
		case SVM__EV_MOVE:
		case SVM__EV_DUP:
			initial_state(r, first, n, loc_state(e->src));
			break;
		case SVM__EV_INPLACE:
		case SVM__EV_INPLACE_END:
		case SVM__EV_PIN:
		case SVM__EV_UNPIN:
			initial_state(r, first, n, loc_state(SVM_HOST));
			break;
		case SVM__EV_COLLAPSE:
			initial_state(r, first, n, loc_state(e->dst));
			break;
		}
	}
	for (size_t k = 0; k < c->nr; k++) {
		struct rrange *r = &c->r[k];

		if (!r->drawn)
			continue;
		for (uint64_t i = 0; i < r->pages; i++) {
			if (r->pstate[i] == 0xff)
				r->pstate[i] = 0;
			r->bcount[(i / r->ppb) * NCAT + cat_of(r->pstate[i])]++;
		}
	}
}

static void replay(struct ctx *c)
{
	const struct svm__report_in *in = c->in;
	size_t next_hb = 0;

	for (size_t i = 0; i < in->nev; i++) {
		const struct svm__event *e = &in->ev[i];
		struct rrange *r = c->owner[i] >= 0 ? &c->r[c->owner[i]] : NULL;
		size_t hb = bucket_of(c, e->ts_ns, HEAT_BUCKETS);
		uint64_t first = 0, n = 0;
		bool in_r;

		while (next_hb < hb) /* buckets that ended before this event */
			snapshot(c, next_hb++);
		in_r = r && clip(r, e->addr, e->pages, &first, &n);
		switch (e->type) {
		case SVM__EV_CPU_FAULT:
		case SVM__EV_DEVICE_FAULT: {
			bool cpu = e->type == SVM__EV_CPU_FAULT;

			tl_add(c, e->dst, cpu ? K_CPU_FAULT : K_DEV_FAULT, e->ts_ns, 1);
			if (cpu)
				DERIVE(e->dst, cpu_faults, 1);
			else
				DERIVE(e->dst, device_faults, 1);
			if (r) {
				r->cpu_faults += cpu;
				r->dev_faults += !cpu;
				r->fault_ns += e->dur_ns;
			}
			break;
		}
		case SVM__EV_MOVE: {
			bool to_dev = e->dst >= 0;
			int charged = to_dev ? e->dst : e->src;

			if (e->src != SVM__LOC_NONE) {
				tl_add(c, charged, to_dev ? K_TO_DEV : K_TO_HOST, e->ts_ns, e->pages);
				if (to_dev)
					DERIVE(charged, pages_to_device, e->pages);
				else
					DERIVE(charged, pages_to_host, e->pages);
			}
			if (e->failed) {
				tl_add(c, charged, K_THRASH, e->ts_ns, e->failed);
				DERIVE(charged, thrash_events, e->failed);
			}
			if (!in_r)
				break;
			if (e->src != SVM__LOC_NONE) {
				r->moved += n;
				r->bytes_moved += n * SVM__PAGE_SIZE;
				r->to_dev += to_dev ? n : 0;
				r->to_host += to_dev ? 0 : n;
				mark(r, first, n, hb, to_dev ? MK_TO_DEV : MK_TO_HOST);
			}
			r->thrash += e->failed;
			if (e->failed)
				mark(r, first, n, hb, MK_THRASH);
			if (r->drawn)
				for (uint64_t p = first; p < first + n; p++)
					page_set(r, p, (uint8_t)(loc_state(e->dst) |
								 (r->pstate[p] & ST_PINNED)));
			break;
		}
		case SVM__EV_DUP:
		case SVM__EV_COLLAPSE:
		case SVM__EV_INPLACE:
		case SVM__EV_INPLACE_END:
		case SVM__EV_PIN:
		case SVM__EV_UNPIN: {
			uint8_t set = e->type == SVM__EV_DUP ? ST_DUP :
				      e->type == SVM__EV_INPLACE ? ST_INPLACE :
				      e->type == SVM__EV_PIN ? ST_PINNED : 0;
			uint8_t clr = e->type == SVM__EV_COLLAPSE ? ST_DUP :
				      e->type == SVM__EV_INPLACE_END ? ST_INPLACE :
				      e->type == SVM__EV_UNPIN ? ST_PINNED : 0;

			if (set == ST_DUP || set == ST_INPLACE)
				tl_add(c, e->dst, set == ST_DUP ? K_DUP : K_INPLACE, e->ts_ns, e->pages);
			if (set == ST_DUP)
				DERIVE(e->dst, read_duplicates, e->pages);
			if (set == ST_INPLACE)
				DERIVE(e->dst, remote_accesses, e->pages);
			if (!in_r)
				break;
			r->dups += set == ST_DUP ? n : 0;
			r->inplace += set == ST_INPLACE ? n : 0;
			if (r->drawn)
				for (uint64_t p = first; p < first + n; p++)
					page_set(r, p, (uint8_t)((r->pstate[p] | set) & ~clr));
			break;
		}
		case SVM__EV_DENSITY: /* failed: the pages the prefetcher moved */
			DERIVE(e->dst >= 0 ? e->dst : e->src, prefetched_pages, e->failed);
			break;
		case SVM__EV_HOLD:
			DERIVE(e->dst, thrash_holds, e->pages);
			break;
		case SVM__EV_EVICT:
			tl_add(c, e->src, K_EVICT, e->ts_ns, e->pages);
			DERIVE(e->src, evictions, e->pages);
			DERIVE(e->src, prefetched_evicted, e->prefetched);
			if (in_r) {
				r->evicted += e->pages;
				mark(r, first, n, hb, MK_EVICT);
			}
			break;
		case SVM__EV_FAILURE: {
			static const uint8_t mk[SVM_FAILURE_COUNT] = { 0, MK_PINNED, MK_BUSY,
								       MK_NOMEM, MK_UNSUP };
			unsigned cls = e->cls < SVM_FAILURE_COUNT ? e->cls : 0;

			tl_add(c, e->dst, K_FAILURE, e->ts_ns, e->pages);
			DERIVE(e->dst, failures_by[cls], e->pages);
			if (in_r) {
				r->failed[cls] += e->pages;
				mark(r, first, n, hb, mk[cls]);
			}
			break;
		}
		case SVM__EV_PINNED:
			tl_add(c, e->dst, K_PINNED, e->ts_ns, 1);
			if (in_r)
				mark(r, first, n, hb, MK_PINNED);
			break;
		case SVM__EV_RETRY:
			tl_add(c, e->dst, K_RETRY, e->ts_ns, 1);
			DERIVE(e->dst, retries, 1);
			break;
		case SVM__EV_LAUNCH:
			tl_add(c, e->dst, K_LAUNCH, e->ts_ns, 1);
			DERIVE(e->dst, launches, 1);
			break;
		case SVM__EV_PREFETCH:
			tl_add(c, e->dst, K_PREFETCH, e->ts_ns, 1);
			DERIVE(e->dst, prefetches, 1);
			break;
		default:
			break;
		}
	}
	while (next_hb < HEAT_BUCKETS)
		snapshot(c, next_hb++);
}

/* ---- output ----------------------------------------------------------------- */

static bool rare(uint8_t type)
{
	return type == SVM__EV_FAILURE || type == SVM__EV_PINNED || type == SVM__EV_RETRY ||
	       type == SVM__EV_EVICT || type == SVM__EV_PREFETCH || type == SVM__EV_LAUNCH ||
	       type == SVM__EV_ALLOC || type == SVM__EV_FREE;
}

static void write_samples(FILE *f, const struct ctx *c)
{
	const struct svm__report_in *in = c->in;
	size_t nrare[SVM__EV_COUNT] = { 0 }, common = 0, budget, stride, seen = 0, out = 0;

	for (size_t i = 0; i < in->nev; i++) {
		if (in->ev[i].type >= SVM__EV_COUNT)
			continue;
		if (rare(in->ev[i].type))
			nrare[in->ev[i].type]++;
		else
			common++;
	}
	budget = SAMPLES;
	for (int t = 0; t < SVM__EV_COUNT; t++)
		budget -= nrare[t] < RARE_SHARE ? nrare[t] : RARE_SHARE;
	stride = common > budget ? (common + budget - 1) / budget : 1;
	memset(nrare, 0, sizeof(nrare));
	fprintf(f, "\"sample_stride\":%zu,\"samples\":[", stride);
	for (size_t i = 0; i < in->nev; i++) {
		const struct svm__event *e = &in->ev[i];
		uint64_t extra = 0;

		if (e->type >= SVM__EV_COUNT)
			continue;
		if (rare(e->type) ? nrare[e->type]++ >= RARE_SHARE : seen++ % stride)
			continue;
		switch (e->type) {
		case SVM__EV_FAILURE: case SVM__EV_PINNED: extra = e->cls; break;
		case SVM__EV_MOVE: extra = e->failed; break;
		case SVM__EV_MIGRATE: extra = e->failed | (uint64_t)e->retries << 32; break;
		case SVM__EV_RETRY: extra = e->retries; break;
		case SVM__EV_CPU_FAULT: case SVM__EV_DEVICE_FAULT: extra = e->write; break;
		case SVM__EV_ALLOC: extra = e->failed; break;
		case SVM__EV_EVICT: extra = e->prefetched; break;
		}
		bool instant = e->type > SVM__EV_PREFETCH || e->type == SVM__EV_RETRY ||
			       e->type == SVM__EV_FAILURE;

		fprintf(f, "%s[%.3f,%.3f,%u,%d,%d,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu32
			",%d]", out++ ? ",\n" : "", (double)e->ts_ns / 1e3,
			instant ? 0.0 : (double)e->dur_ns / 1e3, e->type, e->src, e->dst,
			e->addr, e->pages, extra, e->tid, c->owner[i]);
	}
	fprintf(f, "]");
}

static void write_data(FILE *f, struct ctx *c)
{
	const struct svm__report_in *in = c->in;

	fprintf(f, "{\"schema\":\"svmrt-report-1\",\"backend\":");
	svm__json_string(f, in->backend ? in->backend : "");
	fprintf(f, ",\"source\":");
	svm__json_string(f, in->source ? in->source : "");
	fprintf(f, ",\"seconds\":%.6f,\"t_begin_us\":%.3f,\"t_end_us\":%.3f,\"events\":%zu,\"dropped\":%" PRIu64
		",\"unattributed\":%" PRIu64 ",\"page_size\":%lu,\n\"devices\":[", in->seconds,
		(double)c->t_begin / 1e3, (double)c->t_end / 1e3, in->nev, in->dropped, c->unattributed, SVM__PAGE_SIZE);
	for (int d = 0; d < in->ndev; d++) {
		fprintf(f, "%s", d ? "," : "");
		svm__json_string(f, in->dev_names[d]);
	}
	fprintf(f, "],\n\"event_names\":[");
	for (int t = 0; t < SVM__EV_COUNT; t++) {
		fprintf(f, "%s", t ? "," : "");
		svm__json_string(f, svm__ev_names[t]);
	}
	fprintf(f, "],\n\"stats\":");
	if (in->have_stats) {
		fprintf(f, "{\"total\":");
		svm__json_stats(f, &in->total);
		fprintf(f, ",\"devices\":[");
		for (int d = 0; d < in->ndev; d++) {
			fprintf(f, "%s", d ? "," : "");
			svm__json_stats(f, &in->dev[d]);
		}
		fprintf(f, "]}");
	} else {
		fprintf(f, "null");
	}
	fprintf(f, ",\n\"derived\":{\"total\":");
	svm__json_stats(f, &c->derived[NLOC]);
	fprintf(f, ",\"devices\":[");
	for (int d = 0; d < in->ndev; d++) {
		fprintf(f, "%s", d ? "," : "");
		svm__json_stats(f, &c->derived[1 + d]);
	}
	fprintf(f, "]},\n\"timeline\":{\"bins\":%d,\"kinds\":[", TL_BINS);
	for (int k = 0; k < K_COUNT; k++)
		fprintf(f, "%s\"%s\"", k ? "," : "", kind_names[k]);
	fprintf(f, "],\"lanes\":[");
	int nl = 0;

	for (int s = 0; s <= in->ndev && s < NLOC; s++)
		for (int k = 0; k < K_COUNT; k++) {
			const uint64_t *v = c->tl[s][k];
			int last = -1;

			for (int b = 0; b < TL_BINS; b++)
				if (v[b])
					last = b;
			if (last < 0)
				continue;
			fprintf(f, "%s\n{\"loc\":%d,\"kind\":%d,\"v\":[", nl++ ? "," : "",
				s == 0 ? SVM_HOST : s - 1, k);
			for (int b = 0; b <= last; b++)
				fprintf(f, "%s%" PRIu64, b ? "," : "", v[b]);
			fprintf(f, "]}");
		}
	fprintf(f, "]},\n\"heat\":{\"buckets\":%d},\n\"ranges_left_out\":%zu,\n\"ranges\":[",
		HEAT_BUCKETS, c->nr > TABLE_RANGES ? c->nr - TABLE_RANGES : 0);
	for (size_t k = 0, nout = 0; k < c->nr; k++) {
		const struct rrange *r = &c->r[k];

		if (r->rank >= TABLE_RANGES)
			continue;
		fprintf(f, "%s\n{\"id\":%zu,\"start\":%" PRIu64 ",\"pages\":%" PRIu64
			",\"bytes\":%" PRIu64 ",\"t_alloc_us\":%.3f,\"t_free_us\":%.3f,\"site\":",
			nout++ ? "," : "", k, r->start, r->pages, r->bytes, (double)r->t_alloc / 1e3,
			r->t_free == UINT64_MAX ? -1.0 : (double)r->t_free / 1e3);
		svm__json_string(f, r->site);
		fprintf(f, ",\"moved\":%" PRIu64 ",\"bytes_moved\":%" PRIu64 ",\"to_device\":%" PRIu64
			",\"to_host\":%" PRIu64 ",\"cpu_faults\":%" PRIu64 ",\"device_faults\":%" PRIu64
			",\"thrash\":%" PRIu64 ",\"evicted\":%" PRIu64 ",\"dups\":%" PRIu64
			",\"in_place\":%" PRIu64 ",\"fault_ns\":%" PRIu64 ",\"failed\":[%" PRIu64
			",%" PRIu64 ",%" PRIu64 ",%" PRIu64 "]", r->moved, r->bytes_moved, r->to_dev,
			r->to_host, r->cpu_faults, r->dev_faults, r->thrash, r->evicted, r->dups,
			r->inplace, r->fault_ns, r->failed[1], r->failed[2], r->failed[3],
			r->failed[4]);
		if (r->drawn) {
			fprintf(f, ",\"blocks\":%u,\"ppb\":%u,\"cells\":\"", r->nblocks, r->ppb);
			fwrite(r->cells, 1, (size_t)r->nblocks * HEAT_BUCKETS, f);
			fprintf(f, "\",\"marks\":\"");
			for (size_t i = 0; i < (size_t)r->nblocks * HEAT_BUCKETS; i++)
				fprintf(f, "%02x", r->marks[i]);
			fprintf(f, "\"");
		}
		fprintf(f, "}");
	}
	fprintf(f, "],\n");
	write_samples(f, c);
	fprintf(f, "}");
}

static void ctx_free(struct ctx *c)
{
	for (size_t k = 0; k < c->nr; k++) {
		free(c->r[k].pstate);
		free(c->r[k].bcount);
		free(c->r[k].cells);
		free(c->r[k].marks);
	}
	free(c->r);
	free(c->owner);
	free(c->tl);
}

int svm__report_write(const char *path, struct svm__report_in *in)
{
	static const char marker[] = "__SVM_REPORT_DATA__";
	const char *tpl = svm__report_html, *at = strstr(tpl, marker);
	struct ctx c = { .in = in };
	FILE *f;
	int rc = -1;

	if (in->ndev > SVM__REPORT_MAX_DEVICES)
		in->ndev = SVM__REPORT_MAX_DEVICES;
	if (!at) {
		svm__err("report: the HTML template has no data marker");
		return -1;
	}
	if (in->nev) /* ev may be NULL then */
		qsort(in->ev, in->nev, sizeof(*in->ev), cmp_ts);
	for (size_t i = 0; i < in->nev; i++) {
		const struct svm__event *e = &in->ev[i];
		bool instant = e->type == SVM__EV_ALLOC; /* its dur field holds the site */
		uint64_t end = e->ts_ns + (instant ? 0 : e->dur_ns);

		if (end > c.t_end)
			c.t_end = end;
	}
	if ((uint64_t)(in->seconds * 1e9) > c.t_end)
		c.t_end = (uint64_t)(in->seconds * 1e9);
	/* whole microseconds, as the trace file has them: the same bins from both */
	c.t_end = (c.t_end + 999) / 1000 * 1000;
	/* from the first event (svm_init's own start-up is of no interest) */
	c.t_begin = in->nev ? in->ev[0].ts_ns / 1000 * 1000 : 0;
	if (c.t_begin >= c.t_end)
		c.t_begin = 0;
	c.tl = calloc(NLOC, sizeof(*c.tl));
	if (!c.tl || attribute(&c) || heat_alloc(&c)) {
		svm__err("report: out of memory for %zu events", in->nev);
		ctx_free(&c);
		return -1;
	}
	prepass(&c);
	replay(&c);
	f = fopen(path, "w");
	if (!f) {
		svm__err("report: cannot write %s: %s", path, strerror(errno));
		ctx_free(&c);
		return -1;
	}
	fwrite(tpl, 1, (size_t)(at - tpl), f);
	write_data(f, &c);
	fputs(at + strlen(marker), f);
	if (fclose(f) == 0)
		rc = 0;
	else
		svm__err("report: writing %s failed: %s", path, strerror(errno));
	ctx_free(&c);
	return rc;
}
