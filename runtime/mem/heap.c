/* SPDX-License-Identifier: MIT */
/*
 * The SVM heap: a reserved span of address space that svm_alloc carves into
 * ranges (first fit, page aligned, 2 MiB aligned from 2 MiB up), and the
 * sorted table of live ranges. Callers hold rt->lock.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "mem.h"

void *svm__heap_reserve(size_t size)
{
	/* over-reserve to align the start to 2 MiB */
	size_t len = size + SVM__HUGE_SIZE;
	uint8_t *p = mmap(NULL, len, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	uintptr_t a;

	if (p == MAP_FAILED)
		return NULL;
	a = ((uintptr_t)p + SVM__HUGE_SIZE - 1) & ~(SVM__HUGE_SIZE - 1);
	if (a > (uintptr_t)p)
		munmap(p, a - (uintptr_t)p);
	if ((uintptr_t)p + len > a + size)
		munmap((void *)(a + size), (uintptr_t)p + len - (a + size));
	/* pages move one by one (both backends): keep them small */
	madvise((void *)a, size, MADV_NOHUGEPAGE);
	return (void *)a;
}

static bool grow(void **arr, size_t *cap, size_t need, size_t elem)
{
	size_t ncap;
	void *n;

	if (need <= *cap)
		return true;
	ncap = *cap ? *cap * 2 : 16;
	while (ncap < need)
		ncap *= 2;
	n = realloc(*arr, ncap * elem);
	if (!n)
		return false;
	*arr = n;
	*cap = ncap;
	return true;
}

int svm__heap_init(struct svm__rt *rt, uintptr_t base, size_t size)
{
	rt->heap = base;
	rt->heap_size = size;
	rt->nranges = 0;
	rt->nfree = 0;
	if (!grow((void **)&rt->free, &rt->cap_free, 1, sizeof(*rt->free)))
		return -1;
	rt->free[0].start = base;
	rt->free[0].len = size;
	rt->nfree = 1;
	return 0;
}

void svm__heap_fini(struct svm__rt *rt)
{
	free(rt->ranges);
	free(rt->free);
	rt->ranges = NULL;
	rt->free = NULL;
	rt->nranges = rt->cap_ranges = 0;
	rt->nfree = rt->cap_free = 0;
}

/* index of the first range with start > addr */
static size_t range_upper(const struct svm__rt *rt, uintptr_t addr)
{
	size_t lo = 0, hi = rt->nranges;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (rt->ranges[mid]->start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct svm__range *svm__range_again(struct svm__rt *rt, uintptr_t start, uint64_t id)
{
	struct svm__range *r = svm__range_find(rt, start);

	return r && r->start == start && r->id == id ? r : NULL;
}

static bool any_inflight(const struct svm__range *r, size_t first, size_t n)
{
	if (!r->inflight)
		return false;
	for (size_t i = first; i < first + n; i++)
		if (r->pages[i].inflight)
			return true;
	return false;
}

bool svm__wait_settled(struct svm__rt *rt, struct svm__range **rp, size_t first, size_t n)
{
	struct svm__range *r = *rp;
	uintptr_t start = r->start;
	uint64_t id = r->id;

	while (any_inflight(r, first, n)) {
		pthread_cond_wait(&rt->settled, &rt->lock);
		r = svm__range_again(rt, start, id);
		*rp = r;
		if (!r)
			return false;
	}
	return true;
}

void svm__wait_all_settled(struct svm__rt *rt)
{
	while (rt->inflight)
		pthread_cond_wait(&rt->settled, &rt->lock);
}

struct svm__range *svm__range_find(struct svm__rt *rt, uintptr_t addr)
{
	size_t i = range_upper(rt, addr);
	struct svm__range *r;

	if (i == 0)
		return NULL;
	r = rt->ranges[i - 1];
	return addr < r->start + r->npages * SVM__PAGE_SIZE ? r : NULL;
}

/* Takes len bytes aligned to align from the free extents; 0 if none fits. */
static uintptr_t extent_take(struct svm__rt *rt, size_t len, size_t align)
{
	for (size_t i = 0; i < rt->nfree; i++) {
		struct svm__extent *e = &rt->free[i];
		uintptr_t at = (e->start + align - 1) & ~(uintptr_t)(align - 1);
		size_t head = at - e->start;

		if (head > e->len || e->len - head < len)
			continue;
		size_t tail = e->len - head - len;

		if (head && tail) {
			if (!grow((void **)&rt->free, &rt->cap_free, rt->nfree + 1,
				  sizeof(*rt->free)))
				return 0;
			e = &rt->free[i];
			memmove(e + 2, e + 1, (rt->nfree - i - 1) * sizeof(*e));
			rt->nfree++;
			e[1].start = at + len;
			e[1].len = tail;
			e->len = head;
		} else if (head) {
			e->len = head;
		} else if (tail) {
			e->start = at + len;
			e->len = tail;
		} else {
			memmove(e, e + 1, (rt->nfree - i - 1) * sizeof(*e));
			rt->nfree--;
		}
		return at;
	}
	return 0;
}

/* Gives [start, start+len) back, merging with neighbours. */
static bool extent_put(struct svm__rt *rt, uintptr_t start, size_t len)
{
	size_t i = 0;

	while (i < rt->nfree && rt->free[i].start < start)
		i++;
	bool join_prev = i > 0 && rt->free[i - 1].start + rt->free[i - 1].len == start;
	bool join_next = i < rt->nfree && start + len == rt->free[i].start;

	if (join_prev && join_next) {
		rt->free[i - 1].len += len + rt->free[i].len;
		memmove(&rt->free[i], &rt->free[i + 1], (rt->nfree - i - 1) * sizeof(*rt->free));
		rt->nfree--;
	} else if (join_prev) {
		rt->free[i - 1].len += len;
	} else if (join_next) {
		rt->free[i].start = start;
		rt->free[i].len += len;
	} else {
		if (!grow((void **)&rt->free, &rt->cap_free, rt->nfree + 1, sizeof(*rt->free)))
			return false;
		memmove(&rt->free[i + 1], &rt->free[i], (rt->nfree - i) * sizeof(*rt->free));
		rt->free[i].start = start;
		rt->free[i].len = len;
		rt->nfree++;
	}
	return true;
}

/* A range with its page table, linked into the table; NULL if no memory. */
static struct svm__range *range_new(struct svm__rt *rt, uintptr_t start, size_t bytes)
{
	size_t npages = (bytes + SVM__PAGE_SIZE - 1) / SVM__PAGE_SIZE;
	struct svm__range *r;

	if (npages > SIZE_MAX / sizeof(struct svm__page))
		return NULL;
	if (!grow((void **)&rt->ranges, &rt->cap_ranges, rt->nranges + 1, sizeof(*rt->ranges)))
		return NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->pages = calloc(npages, sizeof(*r->pages));
	r->nchunks = svm__chunk_of(start, npages - 1) + 1;
	r->at = calloc(r->nchunks, sizeof(*r->at));
	r->moves = calloc(r->nchunks, sizeof(*r->moves));
	if (!r->pages || !r->at || !r->moves) {
		free(r->pages);
		free(r->at);
		free(r->moves);
		free(r);
		return NULL;
	}
	for (size_t c = 0; c < r->nchunks; c++)
		r->moves[c].to = SVM__LOC_NONE;
	static uint64_t next_id; /* rt->lock is held */

	r->id = ++next_id;
	r->start = start;
	r->bytes = bytes;
	r->npages = npages;
	for (size_t i = 0; i < npages; i++) {
		r->pages[i].loc = SVM__LOC_NONE;
		r->pages[i].pref = SVM__PREF_NONE;
		r->pages[i].range = r;
	}
	size_t i = range_upper(rt, start);

	memmove(&rt->ranges[i + 1], &rt->ranges[i], (rt->nranges - i) * sizeof(*rt->ranges));
	rt->ranges[i] = r;
	rt->nranges++;
	return r;
}

struct svm__range *svm__range_alloc(struct svm__rt *rt, size_t bytes)
{
	size_t len = (bytes + SVM__PAGE_SIZE - 1) & ~(SVM__PAGE_SIZE - 1);
	size_t align = len >= SVM__HUGE_SIZE ? SVM__HUGE_SIZE : SVM__PAGE_SIZE;
	struct svm__range *r;
	uintptr_t at;

	if (bytes > rt->heap_size)
		return NULL;
	at = extent_take(rt, len, align);
	if (!at)
		return NULL;
	r = range_new(rt, at, bytes);
	if (!r)
		extent_put(rt, at, len);
	return r;
}

struct svm__range *svm__range_insert(struct svm__rt *rt, uintptr_t start, size_t bytes)
{
	return range_new(rt, start, bytes);
}

void svm__range_release(struct svm__rt *rt, struct svm__range *r)
{
	size_t i = range_upper(rt, r->start) - 1;

	memmove(&rt->ranges[i], &rt->ranges[i + 1], (rt->nranges - i - 1) * sizeof(*rt->ranges));
	rt->nranges--;
	if (r->start - rt->heap < rt->heap_size && /* carved from the heap */
	    !extent_put(rt, r->start, r->npages * SVM__PAGE_SIZE))
		svm__warn("out of memory returning %zu bytes to the SVM heap; they stay unused",
			  r->npages * SVM__PAGE_SIZE);
	free(r->pages);
	free(r->at);
	free(r->moves);
	free(r);
}

void svm__lru_init(struct svm__devstate *d)
{
	d->lru.lru_next = d->lru.lru_prev = &d->lru;
}

void svm__lru_add(struct svm__rt *rt, int dev, struct svm__page *p)
{
	struct svm__page *head = &rt->dev[dev].lru;

	p->lru_next = head->lru_next;
	p->lru_prev = head;
	head->lru_next->lru_prev = p;
	head->lru_next = p;
}

void svm__lru_del(struct svm__rt *rt, int dev, struct svm__page *p)
{
	(void)rt;
	(void)dev;
	p->lru_prev->lru_next = p->lru_next;
	p->lru_next->lru_prev = p->lru_prev;
	p->lru_next = p->lru_prev = NULL;
}

void svm__lru_touch(struct svm__rt *rt, int dev, struct svm__page *p)
{
	svm__lru_del(rt, dev, p);
	svm__lru_add(rt, dev, p);
}

void svm__page_set_loc(struct svm__rt *rt, struct svm__page *p, int loc)
{
	svm__pages_set_loc(rt, p->range, (size_t)(p - p->range->pages), 1, loc);
}

/*
 * One sequence number for the whole run, taken here, after the caller's
 * move: it is newer than any `seen` read before the pages changed, which
 * is all a stale fault needs (svm__page_changed_since). The pages that
 * join loc's LRU are linked in as one piece, in the order page-by-page
 * svm__lru_add calls would leave them (the run's last page most recent).
 */
void svm__pages_set_loc(struct svm__rt *rt, struct svm__range *r, size_t first, size_t n,
			int loc)
{
	uint32_t seq = (uint32_t)atomic_fetch_add(&rt->seq, 1) + 1;
	struct svm__page *newest = NULL, *oldest = NULL; /* the pages joining loc's LRU */
	size_t joined = 0;

	for (size_t i = first; i < first + n; i++) {
		struct svm__page *p = &r->pages[i];
		size_t c;

		p->seq = seq;
		if (p->loc == loc)
			continue;
		if (p->loc == SVM_HOST) /* its host page, protected or not, is gone */
			svm__page_lprot_clear(r, p);
		c = svm__chunk_of(r->start, i);
		if (p->loc >= 0) {
			svm__lru_del(rt, p->loc, p);
			rt->dev[p->loc].resident--;
		}
		if (p->loc != SVM__LOC_NONE)
			r->at[c][p->loc + 1]--;
		if (p->loc != SVM__LOC_NONE && loc != SVM__LOC_NONE) {
			struct svm__chunk_moves *m = &r->moves[c];

			if (m->to != loc) { /* a new direction: what came before says nothing */
				m->to = (int8_t)loc;
				m->arrived = 0;
			}
			if (m->arrived < UINT16_MAX)
				m->arrived++;
		}
		p->loc = (int8_t)loc;
		if (loc == SVM__LOC_NONE)
			continue;
		r->at[c][loc + 1]++;
		if (loc < 0)
			continue;
		p->lru_next = newest; /* in front of the pages before it */
		if (newest)
			newest->lru_prev = p;
		else
			oldest = p;
		newest = p;
		joined++;
	}
	if (joined) {
		struct svm__page *head = &rt->dev[loc].lru;

		newest->lru_prev = head;
		oldest->lru_next = head->lru_next;
		head->lru_next->lru_prev = oldest;
		head->lru_next = newest;
		rt->dev[loc].resident += joined;
	}
}

size_t svm__range_count_at(const struct svm__range *r, size_t first, size_t n, int loc)
{
	size_t count = 0, end = first + n;

	for (size_t i = first; i < end;) {
		size_t c = svm__chunk_of(r->start, i);
		size_t next = svm__chunk_first(r->start, c + 1); /* first page of the next chunk */

		if (i == svm__chunk_first(r->start, c) && next <= end) {
			count += r->at[c][loc + 1]; /* the whole chunk */
			i = next;
			continue;
		}
		for (; i < end && i < next; i++)
			count += r->pages[i].loc == loc;
	}
	return count;
}

/*
 * Per chunk, the pages that arrived at loc in its latest direction, at
 * most as many as are at loc (in the part of the chunk inside the window:
 * a chunk cut by it is counted page by page, as svm__range_count_at does).
 */
size_t svm__range_count_arrived(const struct svm__range *r, size_t first, size_t n, int loc)
{
	size_t count = 0, end = first + n;

	for (size_t i = first; i < end;) {
		size_t c = svm__chunk_of(r->start, i);
		size_t next = svm__chunk_first(r->start, c + 1);
		size_t s = i, e = next < end ? next : end, at;

		i = e;
		if (r->moves[c].to != loc)
			continue;
		if (s == svm__chunk_first(r->start, c) && next <= end)
			at = r->at[c][loc + 1];
		else
			at = svm__range_count_at(r, s, e - s, loc);
		count += r->moves[c].arrived < at ? r->moves[c].arrived : at;
	}
	return count;
}
