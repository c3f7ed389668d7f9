/* SPDX-License-Identifier: MIT */
/*
 * Launch coherence (SVM_COHERENCE=launch; docs/architecture.md, "Launch
 * coherence"). Under the default, a device fault on a host page moves the
 * page, which changes its host mapping: one TLB flush of every CPU that
 * runs the process per fault, and faults from several workers cannot
 * share it. Here the flushes come once per launch instead:
 *
 * - While such a launch runs, the first device fault on a plain host page
 *   (owned by the host, no copies, not in place, not pinned or held, not
 *   in flight) of a 2 MiB chunk write-protects the plain host pages of
 *   that chunk, in one call per run of them (engine.watch: one flush per
 *   chunk, not per fault), and marks them lprot.
 * - A device fault on an lprot page takes it (policy/fault.c): the device
 *   gets a working copy (engine.take, no change to the host's mapping),
 *   and the page is in place on that device with `taken` set. A run of
 *   SVM_LAUNCH_MOVE_MIN or more moves instead (fault.c, launch_moves). A host read
 *   meanwhile sees the bytes from before the launch; a host write faults
 *   and first takes the device's bytes back (svm__make_exclusive), as for
 *   any page served in place, so nothing is lost either way.
 * - When the launch ends, its device's taken pages become its own
 *   (engine.commit: the host pages are dropped in one call per run),
 *   as many as it has room for; the rest, and pages the backend must not
 *   drop (pinned), are written back as any in-place copy is.
 * - When the last such launch ends, the lprot pages that are still plain
 *   host pages are made writable again, in one call per run. Protecting
 *   a chunk at its first fault, not every host page when the launch
 *   starts, keeps a launch that touches little of a large heap cheap, and
 *   host writes elsewhere free.
 *
 * Called with rt->lock held, which only svm__launch_end lets go, while it
 * waits for takes in flight.
 */
#include <stdlib.h>

#include "policy.h"
#include "../core/ops.h"

bool svm__launch_coherent(const struct svm__rt *rt)
{
	const struct svm__backend_ops *be = rt->be;

	return rt->cfg.coherence == SVM__COHERENCE_LAUNCH && be->engine.take &&
	       be->engine.commit && be->engine.watch && be->engine.collapse;
}

/* A host page that nothing else keeps protected or busy. */
static bool plain_host(const struct svm__page *p)
{
	return p->loc == SVM_HOST && p->copies == svm__loc_bit(SVM_HOST) && !p->remote &&
	       !p->inflight && !p->held && !p->pins && !p->pinned_seen;
}

static uintptr_t page_at(const struct svm__range *r, size_t i)
{
	return r->start + i * SVM__PAGE_SIZE;
}

void svm__launch_begin(struct svm__rt *rt)
{
	rt->launch_windows++;
}

/* The pages [*a, *b) of r in the 2 MiB chunk of its page idx. */
static void chunk_around(const struct svm__range *r, size_t idx, size_t *a, size_t *b)
{
	size_t c = svm__chunk_of(r->start, idx);

	*a = svm__chunk_first(r->start, c);
	*b = svm__chunk_first(r->start, c + 1);
	if (*b > r->npages)
		*b = r->npages;
}

void svm__launch_protect(struct svm__rt *rt, struct svm__range *r, size_t idx)
{
	size_t a, b;

	chunk_around(r, idx, &a, &b);
	for (size_t i = a, j; i < b; i = j) {
		for (j = i; j < b && !r->pages[j].lprot && plain_host(&r->pages[j]); j++)
			;
		if (j == i) {
			j++;
			continue;
		}
		if (rt->be->engine.watch(rt, page_at(r, i), j - i) != SVM_OK)
			continue; /* those pages take the usual path */
		for (size_t m = i; m < j; m++)
			svm__page_lprot_set(r, &r->pages[m]);
	}
}

bool svm__launch_host_wrote(struct svm__rt *rt, struct svm__range *r, size_t idx)
{
	size_t a, b, i = idx, j = idx + 1;

	if (!r->pages[idx].lprot)
		return false;
	chunk_around(r, idx, &a, &b);
	/* the run of lprot plain host pages around idx, inside its 2 MiB chunk */
	while (i > a && r->pages[i - 1].lprot && plain_host(&r->pages[i - 1]))
		i--;
	while (j < b && r->pages[j].lprot && plain_host(&r->pages[j]))
		j++;
	for (size_t k = i; k < j; k++)
		svm__page_lprot_clear(r, &r->pages[k]);
	rt->be->engine.collapse(rt, page_at(r, i), j - i, SVM_HOST, 0);
	return true;
}

/*
 * Device dev's taken pages [first, first + n) of r become its own, as many
 * as it has room for; those it could not keep stay in place
 * (svm__remote_flush_device writes them back). One backend call for the
 * whole run where memory for its answers allows (the user backend's pin
 * probe is one fork per call), else calls of 256 pages.
 */
static void commit_run(struct svm__rt *rt, struct svm__range *r, size_t first, size_t n, int dev)
{
	svm_failure_t one[256], *out;
	size_t room = svm__dev_room(rt, dev), step, pinned_before = r->pinned_seen;
	uint32_t now_us = (uint32_t)((svm__now_ns() - rt->t0_ns) / 1000);

	if (n > room)
		n = room;
	if (!n)
		return;
	out = n > 256 ? malloc(n * sizeof(*out)) : NULL;
	step = out ? n : 256;
	if (!out)
		out = one;
	for (size_t c = 0; c < n; c += step) {
		size_t m = n - c < step ? n - c : step, at = first + c;

		rt->be->engine.commit(rt, page_at(r, at), m, dev, out);
		for (size_t i = 0, j; i < m; i = j) {
			bool moved = out[i] == SVM_FAILURE_NONE;

			for (j = i; j < m && (out[j] == SVM_FAILURE_NONE) == moved; j++)
				;
			if (!moved) {
				/*
				 * Pinned: its copy ends as a pinned page's does
				 * (only the device's changes go home), not by
				 * replacing the page its pinner uses.
				 */
				for (size_t k = at + i; k < at + j; k++)
					if (out[k - at] == SVM_FAILURE_PINNED)
						svm__pinned_mark(r, &r->pages[k]);
				continue;
			}
			for (size_t k = at + i; k < at + j; k++) {
				struct svm__page *p = &r->pages[k];

				p->remote &= ~(1u << dev);
				p->taken = 0; /* its lprot mark goes with the host page: set_loc */
			}
			rt->dev[dev].remote_pages -= j - i;
			rt->dev[dev].taken_pages -= j - i;
			svm__pages_set_loc(rt, r, at + i, j - i, dev);
			for (size_t k = at + i; k < at + j; k++) {
				struct svm__page *p = &r->pages[k];

				p->copies = svm__loc_bit(dev);
				p->prefetched = 0;
				svm__note_migration(rt, p, SVM_HOST, dev, now_us, false);
			}
			svm__stat_moved(rt, dev, true, j - i);
		}
	}
	if (out != one)
		free(out);
	svm__pinned_report(r, pinned_before, dev);
}

/* Makes the lprot pages that are still plain host pages writable again. */
static void release(struct svm__rt *rt)
{
	for (size_t k = 0; k < rt->nranges; k++) {
		struct svm__range *r = rt->ranges[k];

		for (size_t i = 0, j; i < r->npages && r->lprot_pages; i = j) {
			bool plain;

			if (!r->pages[i].lprot) {
				j = i + 1;
				continue;
			}
			plain = plain_host(&r->pages[i]);
			for (j = i; j < r->npages && r->pages[j].lprot &&
				    plain_host(&r->pages[j]) == plain; j++)
				svm__page_lprot_clear(r, &r->pages[j]);
			/*
			 * Not plain any more: someone else's protection now (a
			 * duplicate, a watch). (A page that left the host lost
			 * its mark then: svm__pages_set_loc.) One
			 * in flight keeps ours until its move ends; if it stays,
			 * the host's next write lifts it (svm__fault_cpu_wp).
			 */
			if (plain)
				rt->be->engine.collapse(rt, page_at(r, i), j - i, SVM_HOST, 0);
		}
	}
}

void svm__launch_end(struct svm__rt *rt, int dev)
{
	uint32_t bit = 1u << dev;

	/*
	 * A take's copy wakes the faulting thread before the take is recorded
	 * (policy/fault.c), so the launch may be over first: its page would
	 * be recorded taken after this end, in no window, and the host would
	 * go on reading its old bytes. Wait for those records; each take is
	 * one copy, bounded.
	 */
	while (rt->dev[dev].takes_inflight)
		pthread_cond_wait(&rt->settled, &rt->lock);

	for (size_t k = 0; k < rt->nranges && rt->dev[dev].taken_pages; k++) {
		struct svm__range *r = rt->ranges[k];

		/* a taken page keeps its lprot mark until it is committed or written back */
		for (size_t i = 0, j; i < r->npages && r->lprot_pages; i = j) {
			for (j = i; j < r->npages && (r->pages[j].remote & bit) && r->pages[j].taken;
			     j++)
				;
			if (j == i) {
				j++;
				continue;
			}
			commit_run(rt, r, i, j - i, dev);
		}
	}
	if (--rt->launch_windows == 0)
		release(rt);
}
