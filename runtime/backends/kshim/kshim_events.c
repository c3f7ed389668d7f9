/* SPDX-License-Identifier: MIT */
/*
 * The shim's event ring, read back into the runtime's stats, fault-time
 * histograms, trace and per-page records.
 *
 * Counting rule (so that nothing is counted twice): what the runtime asked
 * for (MIGRATE from svm_prefetch, svm_pin, fork) is counted by kshim.c
 * from that ioctl's per-page results, and the ring's MIGRATE, FAILURE and
 * EVICT events without SVMSHIM_EVENT_BY_FAULT (the same moves, seen from
 * the kernel) are skipped here. What the driver did on its own comes only
 * from here: CPU faults (each brought its pages home), device faults
 * (resolution and time), the migrations, failures and evictions that
 * device faults caused, and (uAPI version 6) evictions of our pages that
 * another open file of the shim made (SVMSHIM_EVENT_OTHER_FILE: our pages
 * went home, none of our ioctls saw it). One exception: EVICT's count of
 * prefetched pages (prefetched_evicted) is read from every EVICT event,
 * MIGRATE's included; a version 6 MIGRATE result says it too
 * (@evicted_prefetched), which kshim.c puts in its trace event only.
 *
 * The ring holds SVMSHIM_EVENT_RING events; what overflows is lost, and the
 * first loss is logged once with how to avoid it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "kshim.h"
#include "../../policy/fault.h"

#define DRAIN_ROUNDS 16 /* a full ring per round; bounded */

static struct {
	struct drm_svmshim_event *ring;
	int fd; /* the render node kshim.c opened, given at init */
	bool on;
	bool dropped_said;
	uint64_t dropped;
} E;


static int fetch(struct drm_svmshim_events *e)
{
	int ret;

	memset(e, 0, sizeof(*e));
	e->events = (uintptr_t)E.ring;
	e->capacity = SVMSHIM_EVENT_RING;
	do
		ret = ioctl(E.fd, DRM_IOCTL_SVMSHIM_EVENTS, e);
	while (ret && errno == EINTR);
	return ret ? -errno : 0;
}

bool kshim_events_init(int fd)
{
	struct drm_svmshim_events e;
	int err;

	memset(&E, 0, sizeof(E));
	E.fd = fd;
	E.ring = calloc(SVMSHIM_EVENT_RING, sizeof(*E.ring));
	if (!E.ring) {
		svm__warn("kshim: no memory for the event buffer: svm_stats will not count "
			  "the driver's faults");
		return false;
	}
	/* a new file's ring is empty: this only asks whether EVENTS exists */
	err = fetch(&e);
	if (err) {
		svm__warn("kshim: the shim has no event ring (EVENTS: %s): svm_stats counts "
			  "what svm_prefetch and svm_pin moved, not the driver's faults",
			  strerror(-err));
		kshim_events_fini();
		return false;
	}
	E.on = true;
	return true;
}

void kshim_events_fini(void)
{
	free(E.ring);
	memset(&E, 0, sizeof(E));
	E.fd = -1;
}

static bool is_dev(const struct svm__rt *rt, int d)
{
	return d >= 0 && d < rt->ndev;
}

/* Pages [addr, addr + n) moved from src to dst at now_us. */
static void note_run(struct svm__rt *rt, uint64_t addr, uint64_t n, int src, int dst,
		     uint32_t now_us)
{
	for (uint64_t i = 0; i < n; i++) {
		struct svm__page *p = svm__page_find(rt, (uintptr_t)(addr + i * SVM__PAGE_SIZE));

		if (p)
			svm__note_migration(rt, p, src, dst, now_us, false);
	}
}

static void apply(struct svm__rt *rt, const struct drm_svmshim_event *ev)
{
	bool by_fault = ev->flags & SVMSHIM_EVENT_BY_FAULT;
	uint64_t t0 = ev->time_ns - ev->duration_ns;
	uint32_t now = kshim_us(rt, ev->time_ns);
	int dev = is_dev(rt, ev->device) ? ev->device : -1;
	struct svm__page *p;

	switch (ev->type) {
	case SVMSHIM_EVENT_CPU_FAULT: /* pages came home from dev */
		SVM__STAT(rt, dev, cpu_faults, 1);
		svm__stat_moved(rt, dev, false, ev->pages);
		SVM__STAT(rt, dev, move_ns_to_host, ev->duration_ns);
		svm__fault_account(rt, dev, true, ev->flags & SVMSHIM_EVENT_WRITE, t0,
				   ev->duration_ns, 0, ev->addr);
		note_run(rt, ev->addr, ev->pages, dev, SVM_HOST, now);
		break;
	case SVMSHIM_EVENT_DEVICE_FAULT:
		if (dev < 0)
			break;
		/* a page already there only needed its view mapping again */
		if (ev->class != SVMSHIM_FAULT_RESIDENT)
			SVM__STAT(rt, dev, device_faults, 1);
		if (ev->class == SVMSHIM_FAULT_HELD)
			SVM__STAT(rt, dev, thrash_held_faults, 1);
		if (ev->class == SVMSHIM_FAULT_IN_PLACE || ev->class == SVMSHIM_FAULT_READ_ONLY ||
		    ev->class == SVMSHIM_FAULT_HELD) {
			SVM__STAT(rt, dev, remote_accesses, ev->pages);
			/* for the report: the driver maps them in place until they move */
			svm__trace_pages(SVM__EV_INPLACE, ev->addr, ev->pages, SVM_HOST, dev, 0);
		}
		svm__fault_account(rt, dev, false, ev->flags & SVMSHIM_EVENT_WRITE, t0,
				   ev->duration_ns, 0, ev->addr);
		break;
	case SVMSHIM_EVENT_MIGRATE:
		if (!by_fault)
			break; /* ours: counted from the ioctl */
		SVM__STAT(rt, dev, move_attempts, ev->pages);
		/* dev < 0: on its way from another device, charged to none */
		svm__stat_moved(rt, dev, dev >= 0, ev->pages);
		if (dev >= 0)
			SVM__STAT(rt, dev, move_ns_to_device, ev->duration_ns);
		else
			SVM__STAT(rt, -1, move_ns_to_host, ev->duration_ns);
		note_run(rt, ev->addr, ev->pages, SVM_HOST, dev >= 0 ? dev : SVM_HOST, now);
		if (ev->flags & SVMSHIM_EVENT_PREFETCH) {
			/*
			 * The shim's density prefetcher: the pages need not be
			 * contiguous from addr (only those that moved came).
			 */
			SVM__STAT(rt, dev, prefetched_pages, ev->pages);
			svm__trace_pages(SVM__EV_DENSITY, ev->addr, ev->pages, SVM_HOST,
					 dev >= 0 ? dev : SVM_HOST, ev->pages);
			break;
		}
		svm__trace((struct svm__event){ .type = SVM__EV_MIGRATE, .ts_ns = t0,
						.dur_ns = ev->duration_ns, .addr = ev->addr,
						.pages = ev->pages, .src = -2,
						.dst = (int8_t)(dev >= 0 ? dev : SVM_HOST) });
		break;
	case SVMSHIM_EVENT_FAILURE:
		if (!by_fault || !ev->class || ev->class >= SVM_FAILURE_COUNT)
			break;
		SVM__STAT(rt, dev, failures_by[ev->class], ev->pages);
		/* the pages need not be contiguous; the first one surely failed */
		p = svm__page_find(rt, (uintptr_t)ev->addr);
		if (p)
			p->last_failure = (uint8_t)ev->class;
		svm__trace((struct svm__event){ .type = SVM__EV_FAILURE, .ts_ns = ev->time_ns,
						.addr = ev->addr, .pages = ev->pages, .src = -2,
						.dst = (int8_t)(dev >= 0 ? dev : SVM_HOST),
						.cls = (uint8_t)ev->class });
		break;
	case SVMSHIM_EVENT_EVICT:
		if (dev < 0)
			break;
		/*
		 * The density prefetcher's pages among them (uAPI version 5;
		 * 0 before): whoever made the room (MIGRATE, a device fault,
		 * another file's call), it is counted here.
		 */
		SVM__STAT(rt, dev, prefetched_evicted, ev->prefetched);
		if (!by_fault && !(ev->flags & SVMSHIM_EVENT_OTHER_FILE))
			break;
		SVM__STAT(rt, dev, evictions, ev->pages);
		svm__stat_moved(rt, dev, false, ev->pages);
		svm__trace((struct svm__event){ .type = SVM__EV_EVICT, .ts_ns = t0,
						.dur_ns = ev->duration_ns, .addr = ev->addr,
						.pages = ev->pages, .src = (int8_t)dev,
						.dst = SVM_HOST, .prefetched = ev->prefetched });
		break;
	case SVMSHIM_EVENT_HOLD: /* the driver's thrashing holds */
		if (ev->class == 0) {
			SVM__STAT(rt, dev, thrash_holds, ev->pages);
			svm__trace_pages(SVM__EV_HOLD, ev->addr, ev->pages, SVM_HOST,
					 dev >= 0 ? dev : SVM_HOST, 0);
		} else {
			svm__trace_pages(SVM__EV_RELEASE, ev->addr, ev->pages, SVM_HOST, -2, 0);
		}
		break;
	default:
		svm__dbg("kshim: event of unknown type %u skipped", ev->type);
		break;
	}
}

void kshim_events_drain(struct svm__rt *rt)
{
	struct drm_svmshim_events e;

	if (!E.on)
		return;
	for (int round = 0; round < DRAIN_ROUNDS; round++) {
		int err = fetch(&e);

		if (err) {
			svm__err("kshim: EVENTS failed: %s; the driver's faults are no longer "
				 "counted", strerror(-err));
			E.on = false;
			return;
		}
		if (e.dropped) {
			E.dropped += e.dropped;
			if (!E.dropped_said)
				svm__warn("kshim: the shim's event ring overflowed (%llu events "
					  "lost): fault counts in svm_stats and the profile are "
					  "low; call svm_stats or end a launch more often",
					  (unsigned long long)e.dropped);
			E.dropped_said = true;
		}
		for (uint32_t i = 0; i < e.count && i < SVMSHIM_EVENT_RING; i++)
			apply(rt, &E.ring[i]);
		if (e.count < e.capacity)
			return;
	}
}
