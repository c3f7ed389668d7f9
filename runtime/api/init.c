/* SPDX-License-Identifier: MIT */
/*
 * The public entry points: argument checks, locking, and hand-off to the
 * policy layer and the backend.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/rt.h"
#include "launch.h"
#include "../policy/policy.h"
#include "../mem/mem.h"
#include "../backends/backend.h"
#include "../topo/topo.h"

/* guards init/finalize; taken before rt->lock */
static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_bool live;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

const char *svm_result_string(svm_result_t r)
{
	return svm__result_name(r);
}

const char *svm_version(void)
{
	return SVM_VERSION_STRING;
}

const char *svm_failure_string(svm_failure_t f)
{
	return svm__failure_name(f);
}

/* ---- fork ---------------------------------------------------------- */

/*
 * A fork about to wait for rt->lock closes this gate, and API calls wait
 * at it before they take rt->lock. Without it a thread that calls svmrt in
 * a loop (prefetching back and forth) takes the lock again and again ahead
 * of the fork, since mutexes are not fair: in the VM, ten forks next to
 * such a thread took from 5 s to 2 min. The gate is closed only once the
 * fork holds every launch lock, so no launch is running then and no device
 * code can be waiting at the gate for a launch the fork waits on.
 */
static pthread_mutex_t fork_gate = PTHREAD_MUTEX_INITIALIZER;
static atomic_int fork_waiting;

static void fork_gate_pass(void)
{
	if (atomic_load(&fork_waiting)) {
		pthread_mutex_lock(&fork_gate);
		pthread_mutex_unlock(&fork_gate);
	}
}

static void fork_gate_open(bool child)
{
	pthread_mutex_unlock(&fork_gate);
	if (child) /* the other threads, and their forks, are not here */
		atomic_store(&fork_waiting, 0);
	else
		atomic_fetch_sub(&fork_waiting, 1);
}

static void fork_prepare(void)
{
	struct svm__rt *rt = svm__rt_get(); /* atfork handlers take no argument */

	pthread_mutex_lock(&init_lock);
	if (!atomic_load(&live))
		return;
	for (int d = 0; d < rt->ndev; d++)
		pthread_mutex_lock(&svm__launch_lock[d]);
	atomic_fetch_add(&fork_waiting, 1);
	pthread_mutex_lock(&fork_gate);
	pthread_mutex_lock(&rt->lock);
	/* the child has no fault service: it must find every page at home */
	if (rt->be->replace.evacuate)
		rt->be->replace.evacuate(rt);
	else
		svm__evacuate_all(rt);
}

static void fork_parent(void)
{
	struct svm__rt *rt = svm__rt_get(); /* atfork handlers take no argument */

	if (atomic_load(&live)) {
		pthread_mutex_unlock(&rt->lock);
		fork_gate_open(false);
		for (int d = rt->ndev - 1; d >= 0; d--)
			pthread_mutex_unlock(&svm__launch_lock[d]);
	}
	pthread_mutex_unlock(&init_lock);
}

static void fork_child(void)
{
	struct svm__rt *rt = svm__rt_get(); /* atfork handlers take no argument */

	if (atomic_load(&live)) {
		/* no service thread, no workers here: the runtime is not inherited */
		rt->forked_child = true;
		atomic_store(&live, false);
		pthread_mutex_unlock(&rt->lock);
		fork_gate_open(true);
		for (int d = rt->ndev - 1; d >= 0; d--)
			pthread_mutex_unlock(&svm__launch_lock[d]);
	}
	pthread_mutex_unlock(&init_lock);
}

static void install_atfork(void)
{
	pthread_atfork(fork_prepare, fork_parent, fork_child);
}

/* ---- exit: the profile, trace and report of a run ------------------ */

/* The process whose runtime writes SVM_PROFILE / SVM_TRACE at exit. */
static pid_t owner_pid;
static pthread_once_t atexit_once = PTHREAD_ONCE_INIT;

static void at_exit(void)
{
	struct svm__rt *rt = svm__rt_get(); /* an atexit handler takes no argument */

	/*
	 * A fork() child inherits this handler and a copy of the parent's
	 * counters, but the files are the parent's: a child that exits
	 * normally must not write them (it would overwrite the parent's
	 * report with a stale one). forked_child covers fork(); the pid also
	 * covers a child made without the atfork handlers (clone, vfork).
	 */
	if (rt->forked_child || getpid() != owner_pid)
		return;
	pthread_mutex_lock(&rt->lock);
	if (rt->be && rt->be->replace.sync && !rt->forked_child) /* its last faults */
		rt->be->replace.sync(rt, true);
	if (rt->be)
		svm__profile_stop(rt);
	pthread_mutex_unlock(&rt->lock);
}

static void install_atexit(void)
{
	atexit(at_exit);
}

/*
 * Starts the profile with the names it prints (so that obs/ never calls a
 * backend), and writes it at exit if the program does not finalize.
 */
static void profile_start(struct svm__rt *rt)
{
	char names[SVM__MAX_DEVICES][SVM__PROFILE_NAME_LEN];

	pthread_mutex_lock(&rt->lock);
	for (int d = 0; d < rt->ndev; d++) {
		svm_device_props_t p = { 0 };

		rt->be->device_props(rt, d, &p);
		snprintf(names[d], sizeof(names[d]), "device %d (%s)", d, p.name);
	}
	pthread_mutex_unlock(&rt->lock);
	owner_pid = getpid();
	svm__profile_start(rt, rt->be->name, names);
	if (rt->cfg.profile[0] || rt->cfg.trace[0] || rt->cfg.report[0])
		pthread_once(&atexit_once, install_atexit);
}

/* ---- init / finalize ----------------------------------------------- */

/* SVM_BACKEND=name: that one or nothing; auto: the first that can run. */
static const struct svm__backend_ops *pick_backend(const struct svm__config *cfg)
{
	char why[256];

	for (size_t i = 0; i < svm__nbackends; i++) {
		const struct svm__backend_entry *b = &svm__backends[i];
		bool asked = cfg->backend == b->choice;

		if (cfg->backend != SVM__BACKEND_AUTO && !asked)
			continue;
		if (!b->ops) {
			if (asked)
				svm__err("SVM_BACKEND=%s: %s", b->name, b->absent);
			else
				svm__info("backend %s: %s", b->name, b->absent);
			continue;
		}
		why[0] = 0;
		if (b->ops->probe(cfg, why, sizeof(why)))
			return b->ops;
		svm__log(asked ? SVM__LOG_ERROR : SVM__LOG_INFO, "backend %s is not available: %s",
			 b->name, why);
	}
	if (cfg->backend == SVM__BACKEND_AUTO)
		svm__err("no usable backend (SVM_LOG=info says why for each)");
	return NULL;
}

svm_result_t svm_init(void)
{
	struct svm__rt *rt = svm__rt_get();
	uintptr_t heap = 0;
	size_t heap_size = 0;
	svm_result_t res;
	char why[160];

	pthread_once(&atfork_once, install_atfork);
	pthread_mutex_lock(&init_lock);
	if (rt->forked_child) {
		pthread_mutex_unlock(&init_lock);
		svm__err("svm_init in a fork() child: the runtime is not inherited and "
			 "cannot start again in this process");
		return SVM_ERROR_NOT_INITIALIZED;
	}
	if (rt->refs > 0) {
		rt->refs++;
		pthread_mutex_unlock(&init_lock);
		return SVM_OK;
	}
	svm__config_load(&rt->cfg);
	if (!svm__inject_parse(rt->cfg.inject, &rt->inject, why, sizeof(why)))
		svm__warn("SVM_INJECT=\"%s\": %s; no faults are injected", rt->cfg.inject, why);
	else if (rt->inject.on)
		svm__warn("fault injection on: %u%% of page moves fail as %s (seed %llu)",
			  rt->inject.percent, svm__failure_name(rt->inject.cls),
			  (unsigned long long)rt->inject.seed);
	rt->be = pick_backend(&rt->cfg);
	res = SVM_ERROR_NO_DEVICE;
	if (!rt->be)
		goto out;
	memset(rt->dev, 0, sizeof(rt->dev));
	memset(&rt->stats, 0, sizeof(rt->stats));
	atomic_store(&rt->launches, 0);
	rt->t0_ns = svm__now_ns();
	for (int d = 0; d < SVM__MAX_DEVICES; d++) {
		svm__lru_init(&rt->dev[d]);
		rt->dev[d].numa_node = -1;
	}
	svm__topo_init(); /* once per process: reading PCI config is slow */
	res = rt->be->init(rt, &heap, &heap_size);
	if (res != SVM_OK)
		goto out;
	if (svm__heap_init(rt, heap, heap_size)) {
		rt->be->fini(rt);
		res = SVM_ERROR_OUT_OF_MEMORY;
		goto out;
	}
	rt->refs = 1;
	profile_start(rt);
	atomic_store(&live, true);
	svm__info("initialized: backend %s, %d device(s), heap %zu MiB at %#lx", rt->be->name,
		  rt->ndev, heap_size >> 20, (unsigned long)heap);
out:
	if (res != SVM_OK)
		rt->be = NULL;
	pthread_mutex_unlock(&init_lock);
	return res;
}

svm_result_t svm_finalize(void)
{
	struct svm__rt *rt = svm__rt_get();

	pthread_mutex_lock(&init_lock);
	if (rt->refs <= 0 || rt->forked_child) {
		pthread_mutex_unlock(&init_lock);
		return SVM_ERROR_NOT_INITIALIZED;
	}
	if (--rt->refs > 0) {
		pthread_mutex_unlock(&init_lock);
		return SVM_OK;
	}
	atomic_store(&live, false);
	for (int d = 0; d < rt->ndev; d++) {
		pthread_mutex_lock(&svm__launch_lock[d]);
		svm__pool_destroy(rt, d);
		pthread_mutex_unlock(&svm__launch_lock[d]);
	}
	pthread_mutex_lock(&rt->lock);
	if (rt->be->replace.sync)
		rt->be->replace.sync(rt, true);
	svm__profile_stop(rt);
	if (rt->nranges)
		svm__info("finalize: freeing %zu allocation(s) still live", rt->nranges);
	while (rt->nranges) {
		struct svm__range *r = rt->ranges[rt->nranges - 1];

		for (size_t i = 0; i < r->npages; i++)
			svm__page_set_loc(rt, &r->pages[i], SVM__LOC_NONE);
		if (rt->be->replace.free_range) /* the driver's memory goes back to the driver */
			rt->be->replace.free_range(rt, r);
		svm__range_release(rt, r);
	}
	svm__heap_fini(rt);
	pthread_mutex_unlock(&rt->lock);
	rt->be->fini(rt);
	rt->be = NULL;
	rt->ndev = 0;
	pthread_mutex_unlock(&init_lock);
	return SVM_OK;
}

/* Takes rt->lock if the runtime is up; the caller unlocks. */
static svm_result_t enter(struct svm__rt *rt)
{
	if (!atomic_load(&live))
		return SVM_ERROR_NOT_INITIALIZED;
	fork_gate_pass();
	pthread_mutex_lock(&rt->lock);
	/*
	 * Checked again under the lock: a last svm_finalize (or an svm_init
	 * still bringing a new runtime up) may have started since the check
	 * above; live is false from the start of the one to the end of the
	 * other, and finalize's teardown holds this lock.
	 */
	if (!atomic_load(&live) || !rt->be) {
		pthread_mutex_unlock(&rt->lock);
		return SVM_ERROR_NOT_INITIALIZED;
	}
	return SVM_OK;
}

static void leave(struct svm__rt *rt)
{
	pthread_mutex_unlock(&rt->lock);
}

/*
 * Outputs. Every pointer an application hands in for a result may point
 * into SVM memory, wherever that page is now (a device, read-only
 * duplicated, ...). Storing there can fault, and the fault service needs
 * rt->lock (user backend). So every entry point computes its results into
 * locals while it holds the lock, and stores them to the caller's memory
 * only after leave(). No entry point reads the caller's memory under the
 * lock either.
 */

/*
 * May a call write len bytes at out? NULL no. Memory that is not svmrt's
 * is the caller's business (as with memcpy). But a place in the SVM heap
 * must lie within one live allocation: freed SVM memory is PROT_NONE (the
 * store would crash), and past an allocation's end lies another one or
 * nothing. A device's view of the heap is the device's, never the host's
 * to write. Caller holds rt->lock. (Checked once; an allocation freed by
 * another thread while the call stores into it is a race of the program.)
 */
static bool out_ok(struct svm__rt *rt, const void *out, size_t len)
{
	uintptr_t a = (uintptr_t)out, heap = rt->heap;
	size_t size = rt->heap_size;
	struct svm__range *r;

	if (!out || len > UINTPTR_MAX - a)
		return false;
	for (int d = 0; d < rt->ndev; d++) {
		uintptr_t v = rt->dev[d].view;

		if (v && a < v + size && a + len > v)
			return false;
	}
	r = svm__range_find(rt, a);
	if (r) /* the whole output inside its pages (a ze range has no heap) */
		return len <= r->npages * SVM__PAGE_SIZE - (a - r->start);
	if (size && a < heap + size && a + len > heap)
		return false; /* a heap gap: freed, or never allocated */
	/* before a range that the output runs into */
	r = len ? svm__range_find(rt, a + len - 1) : NULL;
	return r == NULL;
}

/* Stores a result computed under the lock, unlocked; any alignment. */
#define STORE_OUT(dst, src) memcpy((dst), &(src), sizeof(src))

/* ---- devices ------------------------------------------------------- */

int svm_device_count(void)
{
	struct svm__rt *rt = svm__rt_get();
	int n;

	if (enter(rt) != SVM_OK)
		return 0;
	n = rt->ndev;
	leave(rt);
	return n;
}

svm_result_t svm_device_props(int device, svm_device_props_t *props)
{
	struct svm__rt *rt = svm__rt_get();
	svm_device_props_t out;
	svm_result_t res = enter(rt);

	if (res != SVM_OK)
		return res;
	if (device < 0 || device >= rt->ndev || !out_ok(rt, props, sizeof(*props))) {
		res = SVM_ERROR_INVALID_ARGUMENT;
	} else {
		memset(&out, 0, sizeof(out));
		res = rt->be->device_props(rt, device, &out);
		out.compute_threads =
			rt->dev[device].launchable ? svm__pool_threads(rt) : 0;
	}
	leave(rt);
	if (res == SVM_OK) /* outputs are stored unlocked: see "Outputs" above */
		STORE_OUT(props, out);
	return res;
}

/* ---- memory -------------------------------------------------------- */

/* From the heap, or from the backend's driver when it allocates itself. */
static struct svm__range *alloc_range(struct svm__rt *rt, size_t bytes, svm_result_t *res)
{
	const struct svm__backend_ops *be = rt->be;
	struct svm__range *r;
	uintptr_t addr;

	if (be->replace.alloc_range) {
		*res = be->replace.alloc_range(rt, bytes, &addr);
		if (*res != SVM_OK)
			return NULL;
		r = svm__range_insert(rt, addr, bytes);
		if (!r) {
			*res = SVM_ERROR_OUT_OF_MEMORY;
			struct svm__range tmp = { .start = addr, .bytes = bytes };

			be->replace.free_range(rt, &tmp);
		}
		return r;
	}
	r = svm__range_alloc(rt, bytes);
	if (!r) {
		*res = SVM_ERROR_OUT_OF_MEMORY;
		return NULL;
	}
	*res = be->range_map(rt, r);
	if (*res != SVM_OK) {
		svm__range_release(rt, r);
		return NULL;
	}
	return r;
}

svm_result_t svm_alloc(void **ptr, size_t bytes)
{
	struct svm__rt *rt = svm__rt_get();
	struct svm__range *r;
	void *addr = NULL;
	svm_result_t res;

	if (!ptr || !bytes)
		return atomic_load(&live) ? SVM_ERROR_INVALID_ARGUMENT : SVM_ERROR_NOT_INITIALIZED;
	res = enter(rt);
	if (res != SVM_OK)
		return res;
	if (!out_ok(rt, ptr, sizeof(*ptr))) {
		leave(rt);
		return SVM_ERROR_INVALID_ARGUMENT;
	}
	r = alloc_range(rt, bytes, &res);
	if (r) {
		addr = (void *)r->start;
		if (rt->cfg.profile_callsites)
			r->callsite = __builtin_extract_return_addr(__builtin_return_address(0));
		svm__trace((struct svm__event){ .type = SVM__EV_ALLOC, .ts_ns = svm__now_ns(),
						.addr = r->start, .pages = r->npages,
						.failed = r->bytes, .site = (uintptr_t)r->callsite,
						.src = -2, .dst = -2 });
	}
	leave(rt);
	if (res == SVM_ERROR_OUT_OF_MEMORY)
		svm__info("svm_alloc(%zu): the SVM heap has no room (SVM_HEAP_SIZE)", bytes);
	if (r) /* unlocked: *ptr may be SVM memory on a device (a list's node->next) */
		STORE_OUT(ptr, addr);
	return res;
}

svm_result_t svm_free(void *ptr)
{
	struct svm__rt *rt = svm__rt_get();
	struct svm__range *r;
	svm_result_t res = enter(rt);

	if (res != SVM_OK)
		return res;
	r = svm__range_find(rt, (uintptr_t)ptr);
	if (!ptr || !r || r->start != (uintptr_t)ptr) {
		leave(rt);
		return SVM_ERROR_INVALID_ARGUMENT;
	}
	for (size_t i = 0; i < r->npages; i++) {
		struct svm__page *p = &r->pages[i];

		for (uint32_t m = p->remote; m; m &= m - 1)
			rt->dev[__builtin_ctz(m)].remote_pages--;
		p->remote = 0;
		svm__page_set_loc(rt, p, SVM__LOC_NONE);
	}
	if (rt->be->replace.free_range)
		rt->be->replace.free_range(rt, r);
	else
		rt->be->range_unmap(rt, r);
	svm__profile_range_freed(rt, r);
	svm__trace((struct svm__event){ .type = SVM__EV_FREE, .ts_ns = svm__now_ns(),
					.addr = r->start, .pages = r->npages, .src = -2, .dst = -2 });
	svm__range_release(rt, r);
	leave(rt);
	return SVM_OK;
}

/*
 * Checks [ptr, ptr+bytes) against the live ranges: page-aligned start,
 * non-zero length, inside one allocation. Caller holds rt->lock.
 */
static struct svm__range *check_span(struct svm__rt *rt, const void *ptr, size_t bytes, size_t *first, size_t *n)
{
	uintptr_t a = (uintptr_t)ptr;
	struct svm__range *r;

	if (!ptr || !bytes || (a & (SVM__PAGE_SIZE - 1)))
		return NULL;
	r = svm__range_find(rt, a);
	if (!r || bytes > r->npages * SVM__PAGE_SIZE - (a - r->start))
		return NULL;
	*first = (a - r->start) / SVM__PAGE_SIZE;
	*n = (bytes + SVM__PAGE_SIZE - 1) / SVM__PAGE_SIZE;
	return r;
}

static bool valid_location(struct svm__rt *rt, int loc)
{
	return loc == SVM_HOST || (loc >= 0 && loc < rt->ndev);
}

svm_result_t svm_prefetch(const void *ptr, size_t bytes, int location,
			  svm_migrate_report_t *report)
{
	struct svm__rt *rt = svm__rt_get();
	struct svm__range *r;
	size_t first, n;
	svm_result_t res = enter(rt);

	if (res != SVM_OK)
		return res;
	r = check_span(rt, ptr, bytes, &first, &n);
	if (!r || !valid_location(rt, location) || (report && !out_ok(rt, report, sizeof(*report)))) {
		leave(rt);
		return SVM_ERROR_INVALID_ARGUMENT;
	}
	rt->stats.prefetches++;
	uint64_t t0 = svm__now_ns();
	svm_migrate_report_t rep;

	memset(&rep, 0, sizeof(rep));
	if (rt->be->replace.prefetch)
		res = rt->be->replace.prefetch(rt, r, first, n, location, report ? &rep : NULL);
	else
		res = svm__migrate(rt, r, first, n, location,
				   SVM__MIG_POPULATE * (location >= 0), report ? &rep : NULL);
	svm__trace((struct svm__event){ .type = SVM__EV_PREFETCH, .ts_ns = t0,
					.dur_ns = svm__now_ns() - t0, .addr = (uintptr_t)ptr,
					.pages = n, .src = -2, .dst = (int8_t)location });
	if (!atomic_load(&live)) { /* a last svm_finalize ran during a retry pause */
		leave(rt);
		return SVM_ERROR_NOT_INITIALIZED;
	}
	leave(rt);
	if (report) /* unlocked: it may lie in the very pages just moved */
		STORE_OUT(report, rep);
	return res;
}

/*
 * No partial state: the advice is checked, then handed to the backend, and
 * recorded in the core only once the backend took it. A backend that
 * refuses (ze has no accessed-by; a driver error) leaves the pages' advice
 * as it was. (kshim's driver gets the pages' full advice with this one
 * applied, see svm__page_advise, and puts the old one back if it fails.)
 */
svm_result_t svm_advise(const void *ptr, size_t bytes, svm_advice_t advice, int location)
{
	struct svm__rt *rt = svm__rt_get();
	struct svm__range *r;
	size_t first, n;
	svm_result_t res = enter(rt);

	if (res != SVM_OK)
		return res;
	r = check_span(rt, ptr, bytes, &first, &n);
	res = SVM_ERROR_INVALID_ARGUMENT;
	if (!r)
		goto out;
	switch (advice) {
	case SVM_ADVISE_SET_READ_MOSTLY:
	case SVM_ADVISE_UNSET_READ_MOSTLY:
	case SVM_ADVISE_UNSET_PREFERRED_LOCATION:
		break;
	case SVM_ADVISE_SET_PREFERRED_LOCATION:
		if (!valid_location(rt, location))
			goto out;
		break;
	case SVM_ADVISE_SET_ACCESSED_BY:
	case SVM_ADVISE_UNSET_ACCESSED_BY:
		if (location < 0 || location >= rt->ndev)
			goto out;
		break;
	default:
		goto out;
	}
	res = rt->be->replace.advise ? rt->be->replace.advise(rt, r, first, n, advice, location) :
				   SVM_OK;
	if (res != SVM_OK)
		goto out;
	for (size_t i = first; i < first + n; i++)
		svm__page_advise(&r->pages[i], advice, location);
	if (advice == SVM_ADVISE_UNSET_READ_MOSTLY)
		svm__make_exclusive(rt, r, first, n);
out:
	leave(rt);
	return res;
}

/* Pages [first, first + n) of r into out[]; caller holds rt->lock. */
static svm_result_t query_locked(struct svm__rt *rt, struct svm__range *r, size_t first, size_t n,
				 svm_page_info_t *out)
{
	if (rt->be->replace.query)
		return rt->be->replace.query(rt, r, first, n, out);
	for (size_t i = 0; i < n; i++) {
		const struct svm__page *p = &r->pages[first + i];

		out[i].location = p->loc == SVM__LOC_NONE ? SVM_HOST : p->loc;
		out[i].copies = p->copies;
		out[i].migrations = p->migrations;
		out[i].last_failure = (svm_failure_t)p->last_failure;
	}
	return SVM_OK;
}

/*
 * The array is filled in chunks: each is read under the lock into a buffer
 * on the stack and copied to the caller's array unlocked (it may be SVM
 * memory anywhere, even inside the range queried). A large query thus
 * costs no heap memory; each chunk is a consistent snapshot, the whole
 * answer is one only when nothing moves the pages meanwhile.
 */
#define QUERY_CHUNK 256

svm_result_t svm_query(const void *ptr, size_t bytes, svm_page_info_t *pages, size_t count)
{
	struct svm__rt *rt = svm__rt_get();
	svm_page_info_t buf[QUERY_CHUNK];
	struct svm__range *r;
	size_t first, n, done = 0;
	uintptr_t start;
	svm_result_t res = enter(rt);

	if (res != SVM_OK)
		return res;
	r = check_span(rt, ptr, bytes, &first, &n);
	if (!r || count < n || !out_ok(rt, pages, n * sizeof(*pages))) {
		leave(rt);
		return SVM_ERROR_INVALID_ARGUMENT;
	}
	start = r->start;
	for (;;) {
		size_t k = n - done < QUERY_CHUNK ? n - done : QUERY_CHUNK;

		res = query_locked(rt, r, first + done, k, buf);
		leave(rt);
		if (res != SVM_OK)
			return res;
		memcpy(pages + done, buf, k * sizeof(*buf));
		done += k;
		if (done == n)
			return SVM_OK;
		res = enter(rt);
		if (res != SVM_OK)
			return res;
		/* freed meanwhile (by another thread): the rest has no answer */
		r = svm__range_find(rt, start);
		if (!r || r->start != start || r->npages < first + n) {
			leave(rt);
			return SVM_ERROR_INVALID_ARGUMENT;
		}
	}
}

/*
 * Which allocation holds ptr, and where its page is now. The allocation is
 * [base, base + bytes) as svm_alloc was asked for: the rest of the last
 * page, past `bytes`, is not inside it. The page's location is the one
 * svm_query reports (through the backend where it answers queries, so kshim
 * asks the driver and ze says what Level Zero lets it say). Computed under
 * the lock, stored after: info may itself be SVM memory anywhere.
 */
svm_result_t svm_pointer_info(const void *ptr, svm_pointer_info_t *info)
{
	struct svm__rt *rt = svm__rt_get();
	uintptr_t a = (uintptr_t)ptr;
	svm_pointer_info_t out;
	svm_page_info_t page;
	struct svm__range *r;
	svm_result_t res = enter(rt);

	if (res != SVM_OK)
		return res;
	r = ptr ? svm__range_find(rt, a) : NULL;
	if (!r || a - r->start >= r->bytes || !out_ok(rt, info, sizeof(*info))) {
		leave(rt);
		return SVM_ERROR_INVALID_ARGUMENT;
	}
	res = query_locked(rt, r, (a - r->start) / SVM__PAGE_SIZE, 1, &page);
	out = (svm_pointer_info_t){ .base = (void *)r->start, .bytes = r->bytes,
				    .location = page.location };
	leave(rt);
	if (res == SVM_OK) /* unlocked: see "Outputs" above */
		STORE_OUT(info, out);
	return res;
}

svm_result_t svm_pin(const void *ptr, size_t bytes)
{
	struct svm__rt *rt = svm__rt_get();
	struct svm__range *r;
	size_t first, n;
	svm_result_t res = enter(rt);

	if (res != SVM_OK)
		return res;
	r = check_span(rt, ptr, bytes, &first, &n);
	res = SVM_ERROR_INVALID_ARGUMENT;
	if (!r)
		goto out;
	res = SVM_ERROR_UNSUPPORTED;
	if (!rt->be->engine.move && !rt->be->replace.pin)
		goto out; /* no migration engine: nothing can keep pages home */
	res = SVM_ERROR_INVALID_ARGUMENT;
	for (size_t i = first; i < first + n; i++)
		if (r->pages[i].pins == UINT16_MAX)
			goto out;
	/* a pinned page lives on the host; bring it there first */
	res = rt->be->engine.move ? svm__migrate(rt, r, first, n, SVM_HOST, 0, NULL) : SVM_OK;
	if (res != SVM_ERROR_INVALID_ARGUMENT && rt->be->engine.move) {
		/*
		 * The retry pauses let the lock go: the range may be freed, its
		 * pages sent away again or pinned to the limit meanwhile. Check
		 * again, and bring back in one pass, under the lock from here
		 * to the pin, what left.
		 */
		r = check_span(rt, ptr, bytes, &first, &n);
		if (!r) {
			res = SVM_ERROR_INVALID_ARGUMENT;
			goto out;
		}
		for (size_t i = first; i < first + n; i++)
			if (r->pages[i].pins == UINT16_MAX)
				goto out_inval;
		if (res == SVM_OK)
			res = svm__migrate(rt, r, first, n, SVM_HOST, SVM__MIG_NOWAIT, NULL);
	}
	if (res == SVM_ERROR_INVALID_ARGUMENT)
		goto out;
	if (res != SVM_OK) {
		svm__err("svm_pin: some pages could not come home; nothing pinned");
		res = SVM_ERROR_BACKEND;
		goto out;
	}
	if (rt->be->replace.pin) { /* without move(), it brings the pages home itself */
		res = rt->be->replace.pin(rt, (uintptr_t)ptr, n);
		if (res != SVM_OK)
			goto out;
	}
	for (size_t i = first; i < first + n; i++)
		r->pages[i].pins++;
	svm__trace_pages(SVM__EV_PIN, (uintptr_t)ptr, n, -2, SVM_HOST, 0);
out:
	leave(rt);
	return res;
out_inval:
	res = SVM_ERROR_INVALID_ARGUMENT;
	goto out;
}

svm_result_t svm_unpin(const void *ptr, size_t bytes)
{
	struct svm__rt *rt = svm__rt_get();
	struct svm__range *r;
	size_t first, n;
	svm_result_t res = enter(rt);

	if (res != SVM_OK)
		return res;
	r = check_span(rt, ptr, bytes, &first, &n);
	res = SVM_ERROR_INVALID_ARGUMENT;
	if (!r)
		goto out;
	res = SVM_ERROR_UNSUPPORTED;
	if (!rt->be->engine.move && !rt->be->replace.unpin)
		goto out;
	res = SVM_ERROR_INVALID_ARGUMENT;
	for (size_t i = first; i < first + n; i++)
		if (!r->pages[i].pins)
			goto out; /* not pinned: nothing changes */
	if (rt->be->replace.unpin) {
		res = rt->be->replace.unpin(rt, (uintptr_t)ptr, n);
		if (res != SVM_OK)
			goto out;
	}
	for (size_t i = first; i < first + n; i++)
		r->pages[i].pins--;
	svm__trace_pages(SVM__EV_UNPIN, (uintptr_t)ptr, n, -2, SVM_HOST, 0);
	size_t marked = r->pinned_seen;

	svm__pinned_clear(r, first, n);
	if (r->pinned_seen != marked)
		r->pinned_said = false; /* pins found there later are news again */
	res = SVM_OK;
out:
	leave(rt);
	return res;
}

/* ---- launch -------------------------------------------------------- */

svm_result_t svm_launch(int device, size_t grid, svm_kernel_fn fn, void *arg)
{
	struct svm__rt *rt = svm__rt_get();
	svm_result_t res;

	if (!atomic_load(&live))
		return SVM_ERROR_NOT_INITIALIZED;
	if (!fn || !grid)
		return SVM_ERROR_INVALID_ARGUMENT;
	res = enter(rt);
	if (res != SVM_OK)
		return res;
	if (device < 0 || device >= rt->ndev)
		res = SVM_ERROR_INVALID_ARGUMENT;
	else if (!rt->dev[device].launchable)
		res = SVM_ERROR_UNSUPPORTED;
	leave(rt);
	if (res != SVM_OK)
		return res;

	pthread_mutex_lock(&svm__launch_lock[device]);
	/*
	 * A last svm_finalize may have run since the checks above (it takes
	 * each launch lock only to stop that device's workers), and even an
	 * svm_init after it with other devices: check again under this lock,
	 * which finalize needs before it can tear the device down.
	 */
	res = enter(rt);
	if (res == SVM_OK) {
		if (device >= rt->ndev)
			res = SVM_ERROR_INVALID_ARGUMENT;
		else if (!rt->dev[device].launchable)
			res = SVM_ERROR_UNSUPPORTED;
		leave(rt);
	}
	if (res != SVM_OK) {
		pthread_mutex_unlock(&svm__launch_lock[device]);
		return res;
	}
	atomic_fetch_add(&rt->launches, 1);
	uint64_t t0 = svm__now_ns();

	res = svm__pool_run(rt, device, grid, fn, arg);
	svm__trace((struct svm__event){ .type = SVM__EV_LAUNCH, .ts_ns = t0,
					.dur_ns = svm__now_ns() - t0, .pages = grid, .src = -2,
					.dst = (int8_t)device });
	/* in-place working copies end with the launch: writes become visible */
	pthread_mutex_lock(&rt->lock);
	svm__remote_flush_device(rt, device);
	if (rt->be->replace.sync) /* what the driver did during the launch */
		rt->be->replace.sync(rt, false);
	pthread_mutex_unlock(&rt->lock);
	pthread_mutex_unlock(&svm__launch_lock[device]);
	return res;
}

/* ---- stats --------------------------------------------------------- */

static void fill_resident(svm_stats_t *s, size_t pages)
{
	s->device_resident_bytes = (uint64_t)pages * SVM__PAGE_SIZE;
}

svm_result_t svm_stats(svm_stats_t *stats)
{
	struct svm__rt *rt = svm__rt_get();
	svm_stats_t out;
	svm_result_t res = enter(rt);
	size_t resident = 0;

	if (res != SVM_OK)
		return res;
	if (!out_ok(rt, stats, sizeof(*stats))) {
		leave(rt);
		return SVM_ERROR_INVALID_ARGUMENT;
	}
	if (rt->be->replace.sync)
		rt->be->replace.sync(rt, true);
	out = rt->stats;
	out.launches = atomic_load(&rt->launches);
	for (int d = 0; d < rt->ndev; d++)
		resident += rt->dev[d].resident;
	fill_resident(&out, resident);
	leave(rt);
	STORE_OUT(stats, out);
	return SVM_OK;
}

svm_result_t svm_device_stats(int device, svm_stats_t *stats)
{
	struct svm__rt *rt = svm__rt_get();
	svm_stats_t out;
	svm_result_t res = enter(rt);

	if (res != SVM_OK)
		return res;
	if (device < 0 || device >= rt->ndev || !out_ok(rt, stats, sizeof(*stats))) {
		leave(rt);
		return SVM_ERROR_INVALID_ARGUMENT;
	}
	if (rt->be->replace.sync)
		rt->be->replace.sync(rt, true);
	out = rt->dev[device].stats;
	fill_resident(&out, rt->dev[device].resident);
	leave(rt);
	STORE_OUT(stats, out);
	return SVM_OK;
}
