/* SPDX-License-Identifier: MIT */
/*
 * The API layer's start and end: svm_init, svm_finalize, the fork and exit
 * handlers, and what every entry point shares (api/api.h): entering the
 * runtime, and the checks of spans, locations and output pointers. The
 * entry points themselves are in api/device.c, memory.c, migrate.c,
 * query.c; they hand off to policy and to the backend.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
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
	bool heap_failed;
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
	else if (rt->inject.on && rt->inject.left_behind)
		svm__warn("fault injection on: %u%% of pages moved are put back where they came "
			  "from (left-behind, seed %llu)", rt->inject.percent,
			  (unsigned long long)rt->inject.seed);
	else if (rt->inject.on)
		svm__warn("fault injection on: %u%% of page moves fail as %s (seed %llu)",
			  rt->inject.percent, svm__failure_name(rt->inject.cls),
			  (unsigned long long)rt->inject.seed);
	rt->be = pick_backend(&rt->cfg);
	res = SVM_ERROR_NO_DEVICE;
	if (!rt->be)
		goto out;
	/*
	 * Under rt->lock: a caller of the last runtime may still be inside an
	 * entry point, asleep on rt->settled (a page in flight), and reads
	 * these under the lock when it wakes (it then finds its range gone).
	 */
	pthread_mutex_lock(&rt->lock);
	memset(rt->dev, 0, sizeof(rt->dev));
	memset(&rt->stats, 0, sizeof(rt->stats));
	atomic_store(&rt->launches, 0);
	rt->t0_ns = svm__now_ns();
	for (int d = 0; d < SVM__MAX_DEVICES; d++) {
		svm__lru_init(&rt->dev[d]);
		rt->dev[d].numa_node = -1;
	}
	pthread_mutex_unlock(&rt->lock);
	svm__topo_init(); /* once per process: reading PCI config is slow */
	res = rt->be->init(rt, &heap, &heap_size);
	if (res != SVM_OK)
		goto out;
	pthread_mutex_lock(&rt->lock);
	heap_failed = svm__heap_init(rt, heap, heap_size) != 0;
	pthread_mutex_unlock(&rt->lock);
	if (heap_failed) {
		rt->be->fini(rt);
		res = SVM_ERROR_OUT_OF_MEMORY;
		goto out;
	}
	rt->refs = 1;
	profile_start(rt);
	atomic_store(&live, true);
	svm__info("initialized: backend %s, %d device(s), heap %zu MiB at %#lx", rt->be->name,
		  rt->ndev, heap_size >> 20, (unsigned long)heap);
	if (rt->cfg.coherence == SVM__COHERENCE_LAUNCH && !svm__launch_coherent(rt))
		svm__warn("SVM_COHERENCE=launch: the %s backend has no launch coherence; device "
			  "faults keep the default (access)", rt->be->name);
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
	svm__wait_all_settled(rt); /* moves in flight record their pages first */
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
svm_result_t svm__api_enter(struct svm__rt *rt)
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

void svm__api_leave(struct svm__rt *rt)
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
bool svm__api_out_ok(struct svm__rt *rt, const void *out, size_t len)
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

/* Is the runtime up (between svm_init and the last svm_finalize)? */
bool svm__api_live(void)
{
	return atomic_load(&live);
}

/* ---- argument checks ------------------------------------------------ */

/*
 * Checks [ptr, ptr+bytes) against the live ranges: page-aligned start,
 * non-zero length, inside one allocation. Caller holds rt->lock.
 */
struct svm__range *svm__api_span(struct svm__rt *rt, const void *ptr, size_t bytes, size_t *first,
				  size_t *n)
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

bool svm__api_valid_location(struct svm__rt *rt, int loc)
{
	return loc == SVM_HOST || (loc >= 0 && loc < rt->ndev);
}
