/* SPDX-License-Identifier: MIT */
/*
 * The kshim backend: devices of the kernel shim svmshim.ko, a DRM
 * render-node driver (include/uapi/svmshim.h is its contract).
 *
 * The heap is one private anonymous mapping, the only kind of memory the
 * kernel migrates; each device gets a view, an mmap of the render node
 * that mirrors the heap and plays the device's MMU. Unlike the user
 * backend nothing here serves faults: a host access to a page on a device
 * comes home through the driver's migrate_to_ram, and a device access
 * through a view is resolved by the driver with the attributes this
 * backend gave the range (SET_ATTR). So, like ze, the backend replaces the
 * migration engine with its own prefetch, advise and query ops; like user,
 * it has a heap and views and runs svm_launch on worker threads.
 *
 * What the driver does on its own comes back through its event ring
 * (kshim_events.c), drained into the stats at svm_stats, at the end of
 * each launch and before the profile is written. What the runtime asks
 * for (prefetch, pin, fork evacuation) is counted from each ioctl's own
 * per-page results, so nothing is counted twice.
 *
 * Every op runs with rt->lock held and never touches SVM memory: all
 * data moves inside the driver.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <xf86drm.h>

#include "kshim.h"
#include "../../policy/fault.h"

/* Pages per MIGRATE/SNAPSHOT call: bounds the per-page buffers. */
#define CHUNK_PAGES 65536UL
#define MAX_NODES 64
#define NODE_LEN 64 /* "/dev/dri/renderD128" and the like */

static int kshim_fd = -1; /* the open render node; -1 when the backend is down */

struct pin_extent {
	uintptr_t start;
	size_t n; /* pages */
};

static struct kshim {
	char node[NODE_LEN];
	unsigned version;
	int ndev;
	struct drm_svmshim_get_info info[SVM__MAX_DEVICES];
	uintptr_t heap;
	size_t size;
	uintptr_t view[SVM__MAX_DEVICES];
	bool attrs;        /* SET_ATTR works */
	uint8_t *results;  /* CHUNK_PAGES classes, MIGRATE */
	int32_t *locs;     /* CHUNK_PAGES locations, SNAPSHOT */
	/* pins we hold in the kernel, disjoint; rebuilt as svm_pin nests */
	struct pin_extent *pins;
	size_t npins, cap_pins;
} K;

/* ---- ioctls ------------------------------------------------------------- */

static int shim_ioctl(unsigned long req, void *arg)
{
	int ret;

	do
		ret = ioctl(kshim_fd, req, arg);
	while (ret && errno == EINTR);
	return ret ? -errno : 0;
}

static svm_result_t errno_result(int err)
{
	switch (err) {
	case ENOMEM:
		return SVM_ERROR_OUT_OF_MEMORY;
	case ENODEV:
		return SVM_ERROR_NO_DEVICE;
	default:
		return SVM_ERROR_BACKEND;
	}
}

static int get_info(int fd, unsigned dev, struct drm_svmshim_get_info *info)
{
	memset(info, 0, sizeof(*info));
	info->device = dev;
	return ioctl(fd, DRM_IOCTL_SVMSHIM_GET_INFO, info) ? -errno : 0;
}

/* ---- finding the render node -------------------------------------------- */

/* Is the render node at path (e.g. /dev/dri/renderD128) the shim's, by sysfs? */
static bool sysfs_says_shim(const char *path)
{
	const char *base = strrchr(path, '/');
	char link[NODE_LEN + 64], target[PATH_MAX];
	ssize_t n;

	snprintf(link, sizeof(link), "/sys/class/drm/%.*s/device/driver", NODE_LEN,
		 base ? base + 1 : path);
	n = readlink(link, target, sizeof(target) - 1);
	if (n <= 0)
		return false;
	target[n] = 0;
	base = strrchr(target, '/');
	return !strcmp(base ? base + 1 : target, SVMSHIM_DRIVER_NAME);
}

static int add_node(char (*list)[NODE_LEN], int n, const char *path)
{
	size_t len = strlen(path);

	if (len >= NODE_LEN || n >= MAX_NODES)
		return n;
	for (int i = 0; i < n; i++)
		if (!strcmp(list[i], path))
			return n;
	memcpy(list[n], path, len + 1);
	return n + 1;
}

/* Render nodes: libdrm's list first, then whatever /dev/dri holds. */
static int list_nodes(char (*list)[NODE_LEN])
{
	drmDevicePtr devs[MAX_NODES];
	int n = 0, got = drmGetDevices2(0, devs, MAX_NODES);
	DIR *dir;

	for (int i = 0; i < got; i++)
		if (devs[i]->available_nodes & (1 << DRM_NODE_RENDER))
			n = add_node(list, n, devs[i]->nodes[DRM_NODE_RENDER]);
	if (got > 0)
		drmFreeDevices(devs, got);
	/* libdrm skips platform devices without a device tree node: scan too */
	dir = opendir("/dev/dri");
	if (!dir)
		return n;
	for (struct dirent *e; (e = readdir(dir));) {
		char path[NODE_LEN];

		if (strncmp(e->d_name, "renderD", 7) || strlen(e->d_name) > 32)
			continue;
		snprintf(path, sizeof(path), "/dev/dri/%.32s", e->d_name);
		n = add_node(list, n, path);
	}
	closedir(dir);
	return n;
}

/*
 * Opens the shim's render node (path into K.node). On failure returns -1
 * and says in why what is missing: the module, a node named svmshim, or
 * the permission to open it.
 */
static int open_shim(char *why, size_t len)
{
	char list[MAX_NODES][NODE_LEN];
	int n = list_nodes(list), denied = 0;
	const char *denied_shim = NULL;

	for (int i = 0; i < n; i++) {
		int fd = open(list[i], O_RDWR | O_CLOEXEC);
		drmVersionPtr v;
		bool ours;

		if (fd < 0) {
			if (errno == EACCES || errno == EPERM) {
				denied++;
				if (!denied_shim && sysfs_says_shim(list[i]))
					denied_shim = list[i];
			}
			continue;
		}
		v = drmGetVersion(fd);
		ours = v && v->name && !strcmp(v->name, SVMSHIM_DRIVER_NAME);
		drmFreeVersion(v);
		if (ours) {
			memcpy(K.node, list[i], sizeof(K.node));
			return fd;
		}
		close(fd);
	}
	if (denied_shim)
		snprintf(why, len, "permission denied opening %s, the svmshim render node: add "
			 "this user to the node's group (usually render) or run as root",
			 denied_shim);
	else if (access("/sys/module/" SVMSHIM_DRIVER_NAME, F_OK))
		snprintf(why, len, "the kernel module svmshim is not loaded (no "
			 "/sys/module/svmshim): load it with modprobe svmshim (docs/kernel-shim.md)");
	else if (denied)
		snprintf(why, len, "svmshim is loaded but none of the %d render node(s) this user "
			 "may open is named svmshim; permission denied on %d: add this user to "
			 "the group of /dev/dri/renderD* (usually render)", n, denied);
	else
		snprintf(why, len, "svmshim is loaded but no render node named svmshim was found "
			 "among %d in /dev/dri (is devtmpfs or udev populating /dev/dri?)", n);
	return -1;
}

/* The node works and speaks a uAPI we know: device_count etc. in info. */
static bool check_node(int fd, struct drm_svmshim_get_info *info, char *why, size_t len)
{
	int err = get_info(fd, 0, info);

	if (err) {
		snprintf(why, len, "GET_INFO on %s failed: %s", K.node, strerror(-err));
		return false;
	}
	if (info->version < 1 || !info->device_count) {
		snprintf(why, len, "%s reports uAPI version %u with %u devices", K.node,
			 info->version, info->device_count);
		return false;
	}
	if (info->page_size != SVM__PAGE_SIZE) {
		snprintf(why, len, "%s migrates %u-byte pages; svmrt needs %lu", K.node,
			 info->page_size, SVM__PAGE_SIZE);
		return false;
	}
	return true;
}

static bool kshim_probe(const struct svm__config *cfg, char *why, size_t len)
{
	struct drm_svmshim_get_info info;
	int fd = open_shim(why, len);
	bool ok;

	(void)cfg;
	if (fd < 0)
		return false;
	ok = check_node(fd, &info, why, len);
	close(fd);
	return ok;
}

/* ---- attributes ---------------------------------------------------------- */

static int32_t shim_loc(int pref)
{
	if (pref == SVM__PREF_NONE)
		return SVMSHIM_LOC_NONE;
	return pref == SVM_HOST ? SVMSHIM_LOC_HOST : pref;
}

/*
 * The retry the driver runs: the policy's, if it retries at all, within
 * the shim's bounds (SVMSHIM_MAX_RETRY_ROUNDS, and @max_budget_us: the
 * MIGRATE or the device fault bound of the uAPI).
 */
static void fault_retry(const struct svm__rt *rt, uint32_t max_budget_us, uint32_t *rounds,
			uint32_t *budget_us)
{
	bool retry = svm__retry_class(rt, SVM_FAILURE_BUSY) ||
		     svm__retry_class(rt, SVM_FAILURE_NO_MEMORY);

	*rounds = retry ? (uint32_t)rt->cfg.retry_rounds : 0;
	if (*rounds > SVMSHIM_MAX_RETRY_ROUNDS)
		*rounds = SVMSHIM_MAX_RETRY_ROUNDS;
	*budget_us = retry && *rounds ? (uint32_t)rt->cfg.retry_budget_us : 0;
	if (*budget_us > max_budget_us)
		*budget_us = max_budget_us;
	if (!*budget_us)
		*rounds = 0;
}

/*
 * The policy's pauses between retry rounds, for a shim that takes them
 * (uAPI version 3); false for an older one, which pauses its own way.
 */
static bool retry_pauses(const struct svm__rt *rt, uint32_t *first_us, uint32_t *max_us)
{
	if (K.version < 3)
		return false;
	*first_us = (uint32_t)rt->cfg.retry_backoff_us;
	*max_us = (uint32_t)rt->cfg.retry_backoff_max_us;
	if (*first_us > SVMSHIM_MAX_BACKOFF_US)
		*first_us = SVMSHIM_MAX_BACKOFF_US;
	if (*max_us > SVMSHIM_MAX_BACKOFF_US)
		*max_us = SVMSHIM_MAX_BACKOFF_US;
	return true;
}

/*
 * The policy's fault unit and density prefetcher, as the driver runs them
 * (uAPI version 4): where a fault starts is SVM_GRANULARITY, or one page
 * with SVM_PREFETCH=density and SVM_GRANULARITY not set (as the user
 * backend's faults do, policy/fault.c); the prefetcher grows it by
 * SVM_PREFETCH_THRESHOLD and SVM_PREFETCH_MAX. An older shim moves the
 * SVM_GRANULARITY block and prefetches nothing.
 */
static void fault_unit(const struct svm__rt *rt, struct drm_svmshim_attr *a)
{
	uint64_t max = (uint64_t)rt->cfg.prefetch_max;

	a->granularity = (uint32_t)rt->cfg.granularity;
	if (K.version < 4 || rt->cfg.prefetch != SVM__PREFETCH_DENSITY)
		return;
	if (!rt->cfg.granularity_set)
		a->granularity = SVM__PAGE_SIZE;
	if (max > SVMSHIM_MAX_PREFETCH)
		max = SVMSHIM_MAX_PREFETCH;
	a->flags |= SVMSHIM_ATTR_PREFETCH_DENSITY;
	a->prefetch_threshold = (uint32_t)rt->cfg.prefetch_threshold;
	a->prefetch_max = (uint32_t)max;
}

/*
 * Thrashing holds (SVM_THRASH and its window, threshold and hold), decided
 * by the driver in its fault paths (uAPI version 4); its EVENT_HOLD and
 * FAULT_HELD events feed thrash_holds and thrash_held_faults.
 */
static void thrash_attrs(const struct svm__rt *rt, struct drm_svmshim_attr *a)
{
	if (K.version < 4 || !rt->cfg.thrash)
		return;
	a->flags |= SVMSHIM_ATTR_THRASH;
	a->thrash_window_us = (uint32_t)rt->cfg.thrash_window_us;
	if (a->thrash_window_us > SVMSHIM_MAX_THRASH_WINDOW_US)
		a->thrash_window_us = SVMSHIM_MAX_THRASH_WINDOW_US;
	a->thrash_threshold = (uint32_t)rt->cfg.thrash_threshold;
	if (a->thrash_threshold > SVMSHIM_MAX_THRASH_THRESHOLD)
		a->thrash_threshold = SVMSHIM_MAX_THRASH_THRESHOLD;
	a->thrash_hold_ms = (uint32_t)rt->cfg.thrash_hold_ms;
	if (a->thrash_hold_ms > SVMSHIM_MAX_THRASH_HOLD_MS)
		a->thrash_hold_ms = SVMSHIM_MAX_THRASH_HOLD_MS;
}

static bool same_attrs(const struct svm__page *a, const struct svm__page *b)
{
	return a->pref == b->pref && a->read_mostly == b->read_mostly &&
	       a->accessed_by == b->accessed_by && a->pinned_seen == b->pinned_seen;
}

/*
 * The devices that map a page in place: its accessed-by advice, and every
 * device for a page a move found pinned, so that device faults serve it
 * where it is without offering it again (as the user backend's faults do)
 * until a move succeeds or svm_unpin clears the mark.
 */
static uint32_t in_place_mask(const struct svm__page *p)
{
	if (p->pinned_seen)
		return K.ndev >= 32 ? UINT32_MAX : (1u << K.ndev) - 1;
	return p->accessed_by;
}

/* One SET_ATTR: advice (pref, read_mostly, accessed_by) plus the policy's. */
static int set_attr(const struct svm__rt *rt, uintptr_t start, size_t len, int pref,
		    bool read_mostly, uint32_t accessed_by)
{
	struct drm_svmshim_attr a;
	int err;

	memset(&a, 0, sizeof(a));
	a.start = start;
	a.length = len;
	a.flags = read_mostly ? SVMSHIM_ATTR_READ_MOSTLY : 0;
	a.preferred = shim_loc(pref);
	a.accessed_by = accessed_by;
	fault_unit(rt, &a);
	thrash_attrs(rt, &a);
	fault_retry(rt, SVMSHIM_MAX_FAULT_BUDGET_US, &a.fault_retry_rounds, &a.fault_budget_us);
	if (retry_pauses(rt, &a.fault_backoff_us, &a.fault_backoff_max_us))
		a.flags |= SVMSHIM_ATTR_FAULT_BACKOFF;
	err = shim_ioctl(DRM_IOCTL_SVMSHIM_SET_ATTR, &a);
	if (err)
		svm__err("kshim: SET_ATTR of %#lx + %zu bytes failed: %s", (unsigned long)start,
			 len, strerror(-err));
	return err;
}

/* Page i of r as it will be with `advice` (0: as it is). */
static struct svm__page advised(const struct svm__range *r, size_t i, svm_advice_t advice,
				int location)
{
	struct svm__page p = r->pages[i];

	if (advice)
		svm__page_advise(&p, advice, location);
	return p;
}

/*
 * Gives the driver the full attribute set of pages [first, first + n) of
 * r, with `advice` applied on top of what the core has (0: none), one
 * SET_ATTR per run of pages with the same advice.
 */
static svm_result_t push_attrs_as(struct svm__rt *rt, struct svm__range *r, size_t first,
				  size_t n, svm_advice_t advice, int location)
{
	if (!K.attrs)
		return SVM_ERROR_UNSUPPORTED;
	for (size_t i = first; i < first + n;) {
		struct svm__page p = advised(r, i, advice, location), q;
		size_t j = i + 1;
		int err;

		while (j < first + n && (q = advised(r, j, advice, location), same_attrs(&q, &p)))
			j++;
		err = set_attr(rt, r->start + i * SVM__PAGE_SIZE, (j - i) * SVM__PAGE_SIZE, p.pref,
			       p.read_mostly, in_place_mask(&p));
		if (err)
			return errno_result(-err);
		i = j;
	}
	return SVM_OK;
}

static svm_result_t push_attrs(struct svm__rt *rt, struct svm__range *r, size_t first, size_t n)
{
	return push_attrs_as(rt, r, first, n, 0, 0);
}


/* ---- migration ------------------------------------------------------------ */

/* Where each page of [addr, addr + n pages) is (n <= CHUNK_PAGES) into K.locs. */
static int snapshot(uintptr_t addr, size_t n, struct drm_svmshim_snapshot *s)
{
	memset(s, 0, sizeof(*s));
	s->start = addr;
	s->length = n * SVM__PAGE_SIZE;
	s->locations = (uintptr_t)K.locs;
	return shim_ioctl(DRM_IOCTL_SVMSHIM_SNAPSHOT, s);
}

/*
 * A SNAPSHOT for svm_query and the resident counts. The shim answers EBUSY
 * when the page tables kept changing under its walk (an invalidation raced
 * each of its tries): transient, so it is asked again within the retry
 * policy's bounds (SVM_RETRY_ROUNDS rounds, SVM_RETRY_BUDGET_US from the
 * first retry, the policy's doubling pauses) before the caller fails.
 * Other errors are not retried. rt->lock is held through the pauses
 * (a backend op cannot let go of it); the budget bounds that.
 */
static int snapshot_retry(struct svm__rt *rt, uintptr_t addr, size_t n,
			  struct drm_svmshim_snapshot *s)
{
	struct svm__retry st;
	uint64_t pause_ns;
	int err;

	svm__retry_start(&st);
	while ((err = snapshot(addr, n, s)) == -EBUSY &&
	       svm__retry_next_round(rt, &st, &pause_ns))
		svm__retry_pause(pause_ns);
	if (err == -EBUSY && st.round)
		svm__info("kshim: SNAPSHOT at %#lx still busy after %d retries",
			  (unsigned long)addr, st.round);
	return err;
}

static int runtime_loc(int32_t shim)
{
	if (shim >= 0 && shim < K.ndev)
		return shim;
	return shim == SVMSHIM_LOC_NONE ? SVM__LOC_NONE : SVM_HOST;
}

/*
 * One MIGRATE of pages [first, first + n) of r (n <= CHUNK_PAGES) to dst
 * with the policy's retry rounds and pauses and what is left of the
 * call's retry budget (*retry_ns spent by earlier chunks; a chunk that
 * retried adds all its time, an over-estimate that keeps the bound); adds
 * its outcome to rep and the stats. Where each page was before comes from
 * a SNAPSHOT, so that the stats can charge pages that came home to the
 * device they came from and count each page's migrations.
 */
static svm_result_t migrate_chunk(struct svm__rt *rt, struct svm__range *r, size_t first,
				  size_t n, int dst, uint64_t *retry_ns,
				  svm_migrate_report_t *rep)
{
	struct drm_svmshim_snapshot s;
	struct drm_svmshim_migrate m;
	size_t failed_by[SVM_FAILURE_COUNT] = { 0 };
	uintptr_t addr = r->start + first * SVM__PAGE_SIZE;
	bool known = snapshot(addr, n, &s) == 0;
	uint64_t budget_ns = (uint64_t)rt->cfg.retry_budget_us * 1000, t0, dt;
	bool marks = false; /* a page's pinned mark changed */
	unsigned rounds;
	uint32_t now;
	int err;

	memset(&m, 0, sizeof(m));
	m.start = addr;
	m.length = n * SVM__PAGE_SIZE;
	m.results = (uintptr_t)K.results;
	m.dest = dst;
	fault_retry(rt, SVMSHIM_MAX_RETRY_BUDGET_US, &m.retry_rounds, &m.retry_budget_us);
	/* the budget is the whole call's: a later chunk gets what is left */
	if (m.retry_budget_us)
		m.retry_budget_us = budget_ns > *retry_ns ? (uint32_t)((budget_ns - *retry_ns) / 1000)
							  : 0;
	if (!m.retry_budget_us)
		m.retry_rounds = 0;
	if (m.retry_rounds) {
		m.flags |= SVMSHIM_MIGRATE_RETRY;
		if (retry_pauses(rt, &m.backoff_us, &m.backoff_max_us))
			m.flags |= SVMSHIM_MIGRATE_BACKOFF;
	}
	if (rt->cfg.retry_drain && m.retry_rounds)
		m.flags |= SVMSHIM_MIGRATE_DRAIN_LRU;
	t0 = svm__now_ns();
	err = shim_ioctl(DRM_IOCTL_SVMSHIM_MIGRATE, &m);
	dt = svm__now_ns() - t0;
	if (err) {
		svm__err("kshim: MIGRATE of %zu pages at %#lx to %d failed: %s", n,
			 (unsigned long)addr, dst, strerror(-err));
		return errno_result(-err);
	}
	now = kshim_us(rt, svm__now_ns());
	for (size_t i = 0; i < n; i++) {
		struct svm__page *p = &r->pages[first + i];
		unsigned f = K.results[i];
		int src = known ? runtime_loc(K.locs[i]) : SVM__LOC_NONE;

		if (f >= SVM_FAILURE_COUNT) {
			svm__err("kshim: MIGRATE gave page %#lx the unknown class %u",
				 (unsigned long)(addr + i * SVM__PAGE_SIZE), f);
			f = SVM_FAILURE_UNSUPPORTED;
		}
		p->last_failure = (uint8_t)f;
		if (f != SVM_FAILURE_NONE) {
			failed_by[f]++;
			if (f == SVM_FAILURE_PINNED && svm__pinned_mark(r, p))
				marks = true;
			continue;
		}
		if (p->pinned_seen) { /* it moved: the pin is gone */
			svm__pinned_clear(r, first + i, 1);
			marks = true;
		}
		/* a page that was not populated is filled, not moved (as on user) */
		if (src != dst && src != SVM__LOC_NONE) {
			svm__note_migration(rt, p, src, dst, now, true); /* MIGRATE: asked */
			svm__stat_moved(rt, dst >= 0 ? dst : src, dst >= 0, 1);
		}
	}
	rep->moved += m.moved;
	rep->already += m.already;
	/*
	 * Retry rounds, as the user backend counts them: the most any batch
	 * ran (batches retry one after another, each within the rounds). A
	 * version 2 shim only counts page attempts; those stand in for it.
	 */
	rounds = K.version >= 3 ? m.rounds : m.retries;
	if (m.retries)
		*retry_ns += dt;
	if (rounds > rep->retries)
		rep->retries = rounds;
	for (int f = 1; f < SVM_FAILURE_COUNT; f++) {
		if (failed_by[f] != m.failed[f])
			svm__err("kshim: MIGRATE counted %llu %s pages, its results %zu",
				 (unsigned long long)m.failed[f],
				 svm__failure_name((svm_failure_t)f), failed_by[f]);
		rep->failed_by[f] += failed_by[f];
		SVM__STAT(rt, dst, failures_by[f], failed_by[f]);
		if (failed_by[f])
			svm__trace((struct svm__event){ .type = SVM__EV_FAILURE,
							.ts_ns = svm__now_ns(), .addr = addr,
							.pages = failed_by[f], .src = -2,
							.dst = (int8_t)dst, .cls = (uint8_t)f });
	}
	SVM__STAT(rt, dst, move_attempts, (n - m.already) + m.retries);
	SVM__STAT(rt, dst, retries, rounds);
	/* evicted pages went home; which ones, the driver does not say */
	SVM__STAT(rt, dst, evictions, m.evicted);
	svm__stat_moved(rt, dst, false, m.evicted);
	if (dst >= 0)
		SVM__STAT(rt, dst, move_ns_to_device, dt);
	else
		SVM__STAT(rt, -1, move_ns_to_host, dt);
	/*
	 * prefetched_evicted itself comes from the ring's EVICT event of this
	 * call (kshim_events.c), which any shim from version 5 on writes; the
	 * trace takes the call's own figure (version 6; 0 before), so that it
	 * stays with this event.
	 */
	if (m.evicted)
		svm__trace((struct svm__event){ .type = SVM__EV_EVICT, .ts_ns = t0, .dur_ns = dt,
						.addr = addr, .pages = m.evicted,
						.src = (int8_t)dst, .dst = SVM_HOST,
						.prefetched = m.evicted_prefetched });
	/* the driver learns which pages its faults now serve in place */
	if (marks && K.attrs && push_attrs(rt, r, first, n) != SVM_OK)
		svm__warn("kshim: pinned pages at %#lx could not be marked in the driver; its "
			  "device faults will offer them again", (unsigned long)addr);
	return SVM_OK;
}

/* MIGRATE in chunks; fills rep exactly. SVM_OK, SVM_PARTIAL or an error. */
static svm_result_t migrate(struct svm__rt *rt, struct svm__range *r, size_t first, size_t n,
			    int dst, svm_migrate_report_t *rep)
{
	svm_migrate_report_t local;
	size_t pinned_before = r->pinned_seen;
	uint64_t t0 = svm__now_ns(), retry_ns = 0;
	svm_result_t res = SVM_OK;

	if (!rep)
		rep = &local;
	*rep = (svm_migrate_report_t){ .pages = n };
	for (size_t done = 0; done < n && res == SVM_OK;) {
		size_t k = n - done < CHUNK_PAGES ? n - done : CHUNK_PAGES;

		res = migrate_chunk(rt, r, first + done, k, dst, &retry_ns, rep);
		done += k;
	}
	for (int f = 1; f < SVM_FAILURE_COUNT; f++)
		rep->failed += rep->failed_by[f];
	if (rep->moved + rep->already + rep->failed != n && res == SVM_OK)
		svm__err("kshim: MIGRATE of %zu pages: %zu moved + %zu already + %zu failed", n,
			 rep->moved, rep->already, rep->failed);
	svm__trace((struct svm__event){ .type = SVM__EV_MIGRATE, .ts_ns = t0,
					.dur_ns = svm__now_ns() - t0,
					.addr = r->start + first * SVM__PAGE_SIZE,
					.pages = rep->moved, .failed = rep->failed, .src = -2,
					.dst = (int8_t)dst, .retries = (uint16_t)rep->retries });
	svm__pinned_report(r, pinned_before, dst);
	if (res != SVM_OK)
		return res;
	if (rep->failed)
		svm__info("migration of %zu pages at %#lx to %d: %zu moved, %zu failed "
			  "(pinned %zu, busy %zu, no-memory %zu, unsupported %zu), %u retries",
			  n, (unsigned long)(r->start + first * SVM__PAGE_SIZE), dst, rep->moved,
			  rep->failed, rep->failed_by[SVM_FAILURE_PINNED],
			  rep->failed_by[SVM_FAILURE_BUSY], rep->failed_by[SVM_FAILURE_NO_MEMORY],
			  rep->failed_by[SVM_FAILURE_UNSUPPORTED], rep->retries);
	return rep->failed ? SVM_PARTIAL : SVM_OK;
}

static svm_result_t kshim_prefetch(struct svm__rt *rt, struct svm__range *r, size_t first,
				   size_t n, int dst, svm_migrate_report_t *rep)
{
	return migrate(rt, r, first, n, dst, rep);
}

/* Before fork(): every page home, so the child owns plain memory. */
static void kshim_evacuate(struct svm__rt *rt)
{
	for (size_t k = 0; k < rt->nranges; k++) {
		struct svm__range *r = rt->ranges[k];
		svm_migrate_report_t rep;

		if (migrate(rt, r, 0, r->npages, SVM_HOST, &rep) != SVM_OK)
			svm__warn("fork: %zu pages of range %#lx stayed on a device; the child "
				  "shares them copy-on-write through the driver", rep.failed,
				  (unsigned long)r->start);
	}
}

/* ---- advice and query ----------------------------------------------------- */

static svm_result_t kshim_advise(struct svm__rt *rt, struct svm__range *r, size_t first,
				 size_t n, svm_advice_t advice, int location)
{
	svm_result_t res;

	if (!K.attrs) {
		svm__info("kshim: this svmshim has no SET_ATTR: advice cannot reach it");
		return SVM_ERROR_UNSUPPORTED;
	}
	/*
	 * The core records the advice only if this succeeds, so the driver
	 * gets the pages' advice with this one applied; if a SET_ATTR fails
	 * part way, the runs already sent get the core's (old) advice back.
	 */
	res = push_attrs_as(rt, r, first, n, advice, location);
	if (res != SVM_OK && push_attrs(rt, r, first, n) != SVM_OK)
		svm__err("kshim: could not give the driver back the old advice of %#lx + %zu "
			 "pages; it may act on advice svm_advise refused",
			 (unsigned long)(r->start + first * SVM__PAGE_SIZE), n);
	return res;
}

static svm_result_t kshim_query(struct svm__rt *rt, struct svm__range *r, size_t first,
				size_t n, svm_page_info_t *pages)
{
	kshim_events_drain(rt); /* migration counts up to now */
	for (size_t done = 0; done < n;) {
		size_t k = n - done < CHUNK_PAGES ? n - done : CHUNK_PAGES;
		struct drm_svmshim_snapshot s;
		int err = snapshot_retry(rt, r->start + (first + done) * SVM__PAGE_SIZE, k, &s);

		if (err) {
			svm__err("kshim: SNAPSHOT of %zu pages at %#lx failed: %s", k,
				 (unsigned long)(r->start + (first + done) * SVM__PAGE_SIZE),
				 strerror(-err));
			return errno_result(-err);
		}
		for (size_t i = 0; i < k; i++) {
			const struct svm__page *p = &r->pages[first + done + i];
			int loc = runtime_loc(K.locs[i]);

			pages[done + i] = (svm_page_info_t){
				.location = loc == SVM__LOC_NONE ? SVM_HOST : loc,
				.copies = loc == SVM__LOC_NONE ? 0 : svm__loc_bit(loc),
				.migrations = p->migrations,
				.last_failure = (svm_failure_t)p->last_failure,
			};
		}
		done += k;
	}
	return SVM_OK;
}

/* Recounts every device's resident pages of our ranges. */
static void count_resident(struct svm__rt *rt)
{
	size_t resident[SVM__MAX_DEVICES] = { 0 };

	for (size_t k = 0; k < rt->nranges; k++) {
		struct svm__range *r = rt->ranges[k];

		for (size_t done = 0; done < r->npages;) {
			size_t n = r->npages - done < CHUNK_PAGES ? r->npages - done : CHUNK_PAGES;
			struct drm_svmshim_snapshot s;
			int err = snapshot_retry(rt, r->start + done * SVM__PAGE_SIZE, n, &s);

			if (err) {
				svm__err("kshim: SNAPSHOT for resident bytes failed: %s",
					 strerror(-err));
				return;
			}
			for (size_t i = 0; i < n; i++)
				if (K.locs[i] >= 0 && K.locs[i] < K.ndev)
					resident[K.locs[i]]++;
			done += n;
		}
	}
	for (int d = 0; d < K.ndev; d++)
		rt->dev[d].resident = resident[d];
}

static void kshim_sync(struct svm__rt *rt, bool resident)
{
	kshim_events_drain(rt);
	if (resident)
		count_resident(rt);
}

/* ---- pins ------------------------------------------------------------------ */

/*
 * One extent: a PIN takes at most SVMSHIM_MAX_PIN_BYTES, so a longer extent
 * is several kernel pins (all undone if one fails); one UNPIN releases every
 * kernel pin inside the extent.
 */
static int pin_ioctl(uintptr_t start, size_t n, bool unpin)
{
	const size_t most = SVMSHIM_MAX_PIN_BYTES / SVM__PAGE_SIZE;
	struct drm_svmshim_pin a = { .start = start, .length = n * SVM__PAGE_SIZE };
	size_t done = 0;
	int err = 0;

	if (unpin)
		return shim_ioctl(DRM_IOCTL_SVMSHIM_UNPIN, &a);
	while (!err && done < n) {
		size_t k = n - done < most ? n - done : most;

		a = (struct drm_svmshim_pin){ .start = start + done * SVM__PAGE_SIZE,
					      .length = k * SVM__PAGE_SIZE };
		err = shim_ioctl(DRM_IOCTL_SVMSHIM_PIN, &a);
		if (!err)
			done += k;
	}
	if (err && done) {
		a = (struct drm_svmshim_pin){ .start = start, .length = done * SVM__PAGE_SIZE };
		shim_ioctl(DRM_IOCTL_SVMSHIM_UNPIN, &a);
	}
	return err;
}

static bool add_extent(uintptr_t start, size_t n)
{
	if (K.npins == K.cap_pins) {
		size_t cap = K.cap_pins ? K.cap_pins * 2 : 16;
		struct pin_extent *e = realloc(K.pins, cap * sizeof(*e));

		if (!e)
			return false;
		K.pins = e;
		K.cap_pins = cap;
	}
	K.pins[K.npins++] = (struct pin_extent){ start, n };
	return true;
}

static void drop_extent(size_t i)
{
	memmove(&K.pins[i], &K.pins[i + 1], (K.npins - i - 1) * sizeof(*K.pins));
	K.npins--;
}

/* PINs [start, start + n pages) and records it; 0 or -errno. */
static int pin_extent(uintptr_t start, size_t n)
{
	int err;

	if (!add_extent(start, n))
		return -ENOMEM;
	err = pin_ioctl(start, n, false);
	if (err)
		K.npins--;
	return err;
}

/*
 * svm_pin: the pages come home, then every run of pages that was not
 * pinned yet gets one kernel pin (FOLL_LONGTERM). The kernel's pins are
 * disjoint extents; the nesting count is the core's (svm__page.pins).
 */
static svm_result_t kshim_pin(struct svm__rt *rt, uintptr_t addr, size_t n)
{
	struct svm__range *r = svm__range_find(rt, addr);
	size_t first = (addr - r->start) / SVM__PAGE_SIZE, mark = K.npins;
	svm_migrate_report_t rep;
	svm_result_t res;
	int err = 0;

	res = migrate(rt, r, first, n, SVM_HOST, &rep);
	if (res != SVM_OK) {
		svm__err("svm_pin: %zu of %zu pages could not come home; nothing pinned",
			 rep.failed, n);
		return res == SVM_PARTIAL ? SVM_ERROR_BACKEND : res;
	}
	for (size_t i = first; i < first + n && !err;) {
		size_t j = i;

		while (j < first + n && !r->pages[j].pins)
			j++;
		if (j > i)
			err = pin_extent(r->start + i * SVM__PAGE_SIZE, j - i);
		i = j + 1;
	}
	if (!err)
		return SVM_OK;
	svm__err("kshim: PIN of pages at %#lx failed: %s; nothing pinned", (unsigned long)addr,
		 strerror(-err));
	while (K.npins > mark) { /* undo this call's pins */
		const struct pin_extent *x = &K.pins[K.npins - 1];

		if (pin_ioctl(x->start, x->n, true))
			svm__err("kshim: UNPIN while undoing a pin failed");
		K.npins--;
	}
	return errno_result(-err);
}

/*
 * svm_unpin: pages whose last pin goes. Each kernel extent holding such a
 * page is released (UNPIN frees every pin inside its range) and the parts
 * of it that stay pinned are pinned again.
 *
 * All or nothing (the core keeps its pin counts when this fails, so the
 * kernel must too): if an UNPIN or a re-PIN fails, every extent this call
 * released is pinned again whole (after an UNPIN of its range, which drops
 * the re-pinned parts) and K.pins is put back. Only if that PIN fails as
 * well do pages stay counted but unpinned in the kernel: an error names
 * them, the extent leaves K.pins, and a later svm_unpin of them does what
 * it can.
 */
static svm_result_t kshim_unpin(struct svm__rt *rt, uintptr_t addr, size_t n)
{
	struct svm__range *r = svm__range_find(rt, addr);
	uintptr_t end = addr + n * SVM__PAGE_SIZE;
	size_t first = (addr - r->start) / SVM__PAGE_SIZE;
	size_t nsaved = K.npins, ndone = 0;
	struct pin_extent *saved, *done;
	int err = 0;

	/* no extent at all: pins an earlier failure could not restore */
	saved = malloc((nsaved ? nsaved : 1) * sizeof(*saved));
	done = malloc((nsaved ? nsaved : 1) * sizeof(*done));
	if (!saved || !done) {
		free(saved);
		free(done);
		return SVM_ERROR_OUT_OF_MEMORY;
	}
	memcpy(saved, K.pins, nsaved * sizeof(*saved));

	for (size_t e = 0; e < nsaved && !err; e++) {
		struct pin_extent x = saved[e];
		uintptr_t xend = x.start + x.n * SVM__PAGE_SIZE;
		bool lose = false;

		for (uintptr_t a = x.start > addr ? x.start : addr; a < end && a < xend;
		     a += SVM__PAGE_SIZE)
			lose |= r->pages[(a - r->start) / SVM__PAGE_SIZE].pins == 1;
		if (!lose)
			continue;
		err = pin_ioctl(x.start, x.n, true);
		if (err) {
			svm__err("kshim: UNPIN of %#lx + %zu pages failed: %s",
				 (unsigned long)x.start, x.n, strerror(-err));
			break;
		}
		done[ndone++] = x;
		for (size_t k = 0; k < K.npins; k++)
			if (K.pins[k].start == x.start) {
				drop_extent(k);
				break;
			}
		/* what stays pinned after this unpin is pinned again */
		for (uintptr_t a = x.start; a < xend && !err;) {
			uintptr_t b = a;

			while (b < xend) {
				const struct svm__page *p = &r->pages[(b - r->start) / SVM__PAGE_SIZE];
				unsigned left = p->pins - (b >= addr && b < end);

				if (!left)
					break;
				b += SVM__PAGE_SIZE;
			}
			if (b > a) {
				err = pin_extent(a, (b - a) / SVM__PAGE_SIZE);
				if (err)
					svm__err("kshim: re-PIN of %#lx + %zu pages failed: %s; "
						 "svm_unpin is undone",
						 (unsigned long)a, (size_t)(b - a) / SVM__PAGE_SIZE,
						 strerror(-err));
			}
			a = b + SVM__PAGE_SIZE;
		}
	}
	if (err) {
		for (size_t k = 0; k < ndone; k++) {
			pin_ioctl(done[k].start, done[k].n, true); /* -ENOENT: nothing re-pinned */
			if (!pin_ioctl(done[k].start, done[k].n, false))
				continue;
			svm__err("kshim: could not pin %#lx + %zu pages again after a failed "
				 "svm_unpin: the kernel no longer pins them although their pin "
				 "counts stay; svm_unpin them to drop the counts",
				 (unsigned long)done[k].start, done[k].n);
			for (size_t i = 0; i < nsaved; i++)
				if (saved[i].start == done[k].start) {
					memmove(&saved[i], &saved[i + 1],
						(nsaved - i - 1) * sizeof(*saved));
					nsaved--;
					break;
				}
		}
		/* K.pins never shrank below nsaved entries of capacity */
		memcpy(K.pins, saved, nsaved * sizeof(*saved));
		K.npins = nsaved;
	}
	free(saved);
	free(done);
	if (err)
		return errno_result(-err);
	/* svm_unpin clears the pinned marks: device faults may move them again */
	if (r->pinned_seen) {
		size_t before = r->pinned_seen;

		svm__pinned_clear(r, first, n);
		if (r->pinned_seen != before && K.attrs)
			push_attrs(rt, r, first, n);
	}
	return SVM_OK;
}

/* Every kernel pin inside r goes (the range is freed). */
static void unpin_range(struct svm__range *r)
{
	uintptr_t end = r->start + r->npages * SVM__PAGE_SIZE;

	for (size_t e = 0; e < K.npins;) {
		if (K.pins[e].start < r->start || K.pins[e].start >= end) {
			e++;
			continue;
		}
		if (pin_ioctl(K.pins[e].start, K.pins[e].n, true))
			svm__err("kshim: UNPIN of a freed range's pages failed");
		drop_extent(e);
	}
}

/* ---- heap and ranges ------------------------------------------------------ */

/*
 * Attribute records in the driver: one per allocation (the driver cuts a
 * fault's granule to its record, so a fault never moves a neighbour's
 * pages), one per run of equal advice inside it, and one per free gap of
 * the heap. A freed range's record is merged into the gap around it, so
 * the driver's list (at most 65536 records) grows with the live ranges,
 * not with how many came and went.
 */
static svm_result_t kshim_range_map(struct svm__rt *rt, struct svm__range *r)
{
	size_t len = r->npages * SVM__PAGE_SIZE;

	if (mprotect((void *)r->start, len, PROT_READ | PROT_WRITE)) {
		svm__err("kshim: mprotect of %zu bytes failed: %s", len, strerror(errno));
		return SVM_ERROR_OUT_OF_MEMORY;
	}
	if (K.attrs && set_attr(rt, r->start, len, SVM__PREF_NONE, false, 0)) {
		mprotect((void *)r->start, len, PROT_NONE);
		return SVM_ERROR_BACKEND;
	}
	return SVM_OK;
}

/* The free gap r leaves: from the end of the range before it to the next. */
static void gap_around(const struct svm__rt *rt, const struct svm__range *r, uintptr_t *lo,
		       uintptr_t *hi)
{
	size_t a = 0, b = rt->nranges;

	while (a < b) { /* first range starting at or after r */
		size_t mid = (a + b) / 2;

		if (rt->ranges[mid]->start < r->start)
			a = mid + 1;
		else
			b = mid;
	}
	*lo = a ? rt->ranges[a - 1]->start + rt->ranges[a - 1]->npages * SVM__PAGE_SIZE :
		  rt->heap;
	*hi = a + 1 < rt->nranges ? rt->ranges[a + 1]->start : rt->heap + rt->heap_size;
}

static void kshim_range_unmap(struct svm__rt *rt, struct svm__range *r)
{
	size_t len = r->npages * SVM__PAGE_SIZE;
	uintptr_t lo, hi;

	unpin_range(r);
	gap_around(rt, r, &lo, &hi);
	/* no advice survives into the next range here */
	if (K.attrs && set_attr(rt, lo, hi - lo, SVM__PREF_NONE, false, 0))
		svm__warn("kshim: the attributes of freed range %#lx stay in the driver",
			  (unsigned long)r->start);
	/* frees host and device pages alike; the views follow */
	madvise((void *)r->start, len, MADV_DONTNEED);
	mprotect((void *)r->start, len, PROT_NONE);
}


/* ---- init / fini ------------------------------------------------------------ */

static void kshim_fini(struct svm__rt *rt)
{
	for (int d = 0; d < SVM__MAX_DEVICES; d++) {
		if (K.view[d])
			munmap((void *)K.view[d], K.size);
		rt->dev[d].view = 0;
	}
	kshim_events_fini();
	/* the heap's pages go first, so closing the file has none to take home */
	if (K.heap)
		munmap((void *)K.heap, K.size);
	/* closing the file releases its pins */
	if (kshim_fd >= 0)
		close(kshim_fd);
	kshim_fd = -1;
	free(K.results);
	free(K.locs);
	free(K.pins);
	memset(&K, 0, sizeof(K));
}

static bool map_view(int d)
{
	void *v = mmap(NULL, K.size, PROT_READ | PROT_WRITE, MAP_SHARED, kshim_fd,
		       (off_t)SVMSHIM_VIEW_OFFSET(d, K.heap));

	if (v == MAP_FAILED) {
		svm__log(K.version >= 2 ? SVM__LOG_ERROR : SVM__LOG_WARN,
			 "kshim: device %d: no device view (mmap of %s: %s; uAPI version %u, "
			 "views need 2): svm_launch is unsupported on it", d, K.node,
			 strerror(errno), K.version);
		return false;
	}
	K.view[d] = (uintptr_t)v;
	return true;
}

/*
 * The whole heap gets the attributes of unadvised memory: no advice, the
 * policy's granularity and fault retry. Also tells whether SET_ATTR works.
 */
static bool heap_attrs(struct svm__rt *rt)
{
	struct drm_svmshim_attr a;
	int err;

	memset(&a, 0, sizeof(a));
	a.start = K.heap;
	a.length = K.size;
	a.preferred = SVMSHIM_LOC_NONE;
	fault_unit(rt, &a);
	thrash_attrs(rt, &a);
	fault_retry(rt, SVMSHIM_MAX_FAULT_BUDGET_US, &a.fault_retry_rounds, &a.fault_budget_us);
	err = shim_ioctl(DRM_IOCTL_SVMSHIM_SET_ATTR, &a);
	if (err)
		svm__log(K.version >= 2 ? SVM__LOG_ERROR : SVM__LOG_WARN,
			 "kshim: SET_ATTR failed (%s; uAPI version %u): svm_advise is "
			 "unsupported and device faults use the driver's defaults", strerror(-err),
			 K.version);
	return !err;
}

static svm_result_t kshim_init(struct svm__rt *rt, uintptr_t *heap, size_t *heap_size)
{
	const struct svm__config *cfg = &rt->cfg;
	struct drm_svmshim_get_info info;
	char why[256];

	memset(&K, 0, sizeof(K));
	kshim_fd = open_shim(why, sizeof(why));
	if (kshim_fd < 0) {
		svm__err("kshim backend: %s", why);
		return SVM_ERROR_NO_DEVICE;
	}
	if (!check_node(kshim_fd, &info, why, sizeof(why))) {
		svm__err("kshim backend: %s", why);
		kshim_fini(rt);
		return SVM_ERROR_NO_DEVICE;
	}
	K.version = info.version;
	K.ndev = (int)info.device_count;
	if (K.ndev > SVM__MAX_DEVICES) {
		svm__warn("kshim: the shim has %d devices; svmrt uses the first %d", K.ndev,
			  SVM__MAX_DEVICES);
		K.ndev = SVM__MAX_DEVICES;
	}
	if (rt->inject.on)
		svm__warn("kshim: SVM_INJECT acts on the user backend only; the shim injects "
			  "failures through its inject_* module parameters (docs/kernel-shim.md)");
	K.size = cfg->heap_size & ~(SVM__HUGE_SIZE - 1);
	K.results = malloc(CHUNK_PAGES);
	K.locs = malloc(CHUNK_PAGES * sizeof(*K.locs));
	K.heap = (uintptr_t)svm__heap_reserve(K.size);
	if (!K.results || !K.locs || !K.heap) {
		svm__err("kshim backend: cannot reserve %zu bytes of address space "
			 "(SVM_HEAP_SIZE) or its buffers", K.size);
		kshim_fini(rt);
		return SVM_ERROR_OUT_OF_MEMORY;
	}
	for (int d = 0; d < K.ndev; d++) {
		int err = get_info(kshim_fd, (unsigned)d, &K.info[d]);

		if (err) {
			svm__err("kshim: GET_INFO of device %d failed: %s", d, strerror(-err));
			kshim_fini(rt);
			return SVM_ERROR_BACKEND;
		}
		rt->dev[d].capacity = K.info[d].memory_bytes / SVM__PAGE_SIZE;
		rt->dev[d].numa_node = K.info[d].numa_node >= 0 ? K.info[d].numa_node : -1;
		rt->dev[d].launchable = map_view(d);
		rt->dev[d].view = K.view[d];
		svm__info("kshim: device %d: %llu MiB, NUMA node %d, %s", d,
			  (unsigned long long)(K.info[d].memory_bytes >> 20),
			  rt->dev[d].numa_node, K.view[d] ? "view mapped" : "no view");
	}
	rt->ndev = K.ndev;
	K.attrs = heap_attrs(rt);
	kshim_events_init(kshim_fd);
	svm__info("kshim: %s, uAPI version %u, %d device(s), heap %zu MiB at %#lx", K.node,
		  K.version, K.ndev, K.size >> 20, (unsigned long)K.heap);
	*heap = K.heap;
	*heap_size = K.size;
	return SVM_OK;
}

static svm_result_t kshim_device_props(struct svm__rt *rt, int dev, svm_device_props_t *p)
{
	snprintf(p->name, sizeof(p->name), "svmshim device %d", dev);
	snprintf(p->backend, sizeof(p->backend), "kshim");
	p->memory_bytes = K.info[dev].memory_bytes;
	p->numa_node = rt->dev[dev].numa_node;
	p->pci_bus_id[0] = 0; /* a platform device */
	return SVM_OK;
}

const struct svm__backend_ops svm__kshim_ops = {
	.name = "kshim",
	.probe = kshim_probe,
	.init = kshim_init,
	.fini = kshim_fini,
	.device_props = kshim_device_props,
	.range_map = kshim_range_map,
	.range_unmap = kshim_range_unmap,
	/* the driver migrates by itself: no move(), no engine */
	.replace.prefetch = kshim_prefetch,
	.replace.advise = kshim_advise,
	.replace.query = kshim_query,
	.replace.pin = kshim_pin,
	.replace.unpin = kshim_unpin,
	.replace.evacuate = kshim_evacuate,
	.replace.sync = kshim_sync,
};
