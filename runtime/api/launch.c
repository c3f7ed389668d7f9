/* SPDX-License-Identifier: MIT */
/*
 * Device worker threads for svm_launch. Each device has a pool, created at
 * its first launch; a launch hands out indices in chunks of consecutive
 * indices through one atomic counter and returns when the last worker is
 * done. Chunks keep each worker on its own stretch of memory: with one
 * index at a time, all workers touch neighbouring pages, fault on the same
 * migration block together and wait on each other's fault. Launches on one device run one
 * after another (an in-order queue), launches on different devices run at
 * the same time.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/rt.h"
#include "launch.h"
#include "../backends/backend.h"
#include "../topo/topo.h"

#define SYNC_PERIOD_NS 2000000L /* backend sync() during a launch */

struct svm_kernel_ctx {
	int device;
	unsigned thread;
	uintptr_t heap, heap_size, view;
	struct svm__rt *rt; /* the runtime the pool was started for */
};

struct svm__pool {
	pthread_mutex_t m;
	pthread_cond_t work, done;
	unsigned nthreads, started;
	pthread_t *threads;
	struct svm_kernel_ctx *ctx;
	uint64_t generation;
	bool stop;
	svm_kernel_fn fn;
	void *arg;
	size_t grid, chunk;
	atomic_size_t next;
	unsigned running;
};

pthread_mutex_t svm__launch_lock[SVM__MAX_DEVICES] = {
	[0 ... SVM__MAX_DEVICES - 1] = PTHREAD_MUTEX_INITIALIZER,
};

/*
 * Takes the next chunk: [*first, *end). A compare-and-swap, not a plain
 * add, so that the counter never passes the grid (no wrap at huge grids).
 */
static bool take_chunk(struct svm__pool *pool, size_t *first, size_t *end)
{
	size_t cur = atomic_load(&pool->next), take;

	do {
		if (cur >= pool->grid)
			return false;
		take = pool->grid - cur < pool->chunk ? pool->grid - cur : pool->chunk;
	} while (!atomic_compare_exchange_weak(&pool->next, &cur, cur + take));
	*first = cur;
	*end = cur + take;
	return true;
}

/*
 * Indices per chunk: SVM_LAUNCH_CHUNK, or by default an eighth of a
 * worker's share (so the last chunks still spread the tail), at most 4096.
 */
static size_t chunk_size(const struct svm__rt *rt, size_t grid, unsigned nthreads)
{
	size_t c = (size_t)rt->cfg.launch_chunk;

	if (!c) {
		c = grid / ((size_t)nthreads * 8);
		if (c > 4096)
			c = 4096;
	}
	return c ? c : 1;
}

static void *worker(void *arg)
{
	struct svm_kernel_ctx *ctx = arg;
	struct svm__pool *pool = ctx->rt->dev[ctx->device].pool;
	uint64_t seen = 0;
	sigset_t bus;

	/*
	 * Device code's faults may come as SIGBUS (the user backend's
	 * SVM_USER_DEVICE_FAULTS=self): never blocked here, whatever the
	 * thread that started the pool blocks.
	 */
	sigemptyset(&bus);
	sigaddset(&bus, SIGBUS);
	pthread_sigmask(SIG_UNBLOCK, &bus, NULL);
	pthread_mutex_lock(&pool->m);
	for (;;) {
		while (!pool->stop && pool->generation == seen)
			pthread_cond_wait(&pool->work, &pool->m);
		if (pool->stop)
			break;
		seen = pool->generation;
		pthread_mutex_unlock(&pool->m);
		for (size_t i, end; take_chunk(pool, &i, &end);)
			for (; i < end; i++)
				pool->fn(ctx, i, pool->arg);
		pthread_mutex_lock(&pool->m);
		if (--pool->running == 0)
			pthread_cond_signal(&pool->done);
	}
	pthread_mutex_unlock(&pool->m);
	return NULL;
}

unsigned svm__pool_threads(const struct svm__rt *rt)
{
	long n = rt->cfg.user_device_threads;

	if (n <= 0)
		n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}

static struct svm__pool *pool_create(struct svm__rt *rt, int dev)
{
	struct svm__pool *pool = calloc(1, sizeof(*pool));
	unsigned n = svm__pool_threads(rt);

	if (!pool)
		return NULL;
	pool->threads = calloc(n, sizeof(*pool->threads));
	pool->ctx = calloc(n, sizeof(*pool->ctx));
	if (!pool->threads || !pool->ctx)
		goto fail;
	pthread_mutex_init(&pool->m, NULL);
	pthread_cond_init(&pool->work, NULL);
	pthread_cond_init(&pool->done, NULL);
	pool->nthreads = n;
	rt->dev[dev].pool = pool;
	for (unsigned t = 0; t < n; t++) {
		pool->ctx[t] = (struct svm_kernel_ctx){ dev, t, rt->heap, rt->heap_size,
							rt->dev[dev].view, rt };
		if (pthread_create(&pool->threads[t], NULL, worker, &pool->ctx[t])) {
			svm__err("device %d: cannot start worker thread %u: %s", dev, t,
				 strerror(errno));
			break;
		}
		pool->started++;
		/* a device's threads run near it (issue 7); one node: nothing to do */
		if (svm__topo_nodes() > 1 && rt->dev[dev].numa_node >= 0 &&
		    !svm__topo_bind_thread(pool->threads[t], rt->dev[dev].numa_node))
			svm__warn("device %d: cannot bind worker %u to node %d", dev, t,
				  rt->dev[dev].numa_node);
	}
	if (pool->started)
		return pool;
	rt->dev[dev].pool = NULL;
fail:
	free(pool->threads);
	free(pool->ctx);
	free(pool);
	return NULL;
}

void svm__pool_destroy(struct svm__rt *rt, int dev)
{
	struct svm__pool *pool = rt->dev[dev].pool;

	if (!pool)
		return;
	pthread_mutex_lock(&pool->m);
	pool->stop = true;
	pthread_cond_broadcast(&pool->work);
	pthread_mutex_unlock(&pool->m);
	for (unsigned t = 0; t < pool->started; t++)
		pthread_join(pool->threads[t], NULL);
	pthread_mutex_destroy(&pool->m);
	pthread_cond_destroy(&pool->work);
	pthread_cond_destroy(&pool->done);
	free(pool->threads);
	free(pool->ctx);
	free(pool);
	rt->dev[dev].pool = NULL;
}

/* Called with svm__launch_lock[dev] held. */
svm_result_t svm__pool_run(struct svm__rt *rt, int dev, size_t grid, svm_kernel_fn fn,
			   void *arg)
{
	struct svm__pool *pool = rt->dev[dev].pool;

	if (!pool)
		pool = pool_create(rt, dev);
	if (!pool)
		return SVM_ERROR_OUT_OF_MEMORY;
	pthread_mutex_lock(&pool->m);
	pool->fn = fn;
	pool->arg = arg;
	pool->grid = grid;
	pool->chunk = chunk_size(rt, grid, pool->started);
	atomic_store(&pool->next, 0);
	pool->running = pool->started;
	pool->generation++;
	pthread_cond_broadcast(&pool->work);
	while (pool->running) {
		struct timespec until;

		if (!rt->be->replace.sync) {
			pthread_cond_wait(&pool->done, &pool->m);
			continue;
		}
		/*
		 * A driver that serves faults by itself keeps a bounded record
		 * of them (kshim: 4096 events): read it every few ms while the
		 * device works, so a long launch loses none.
		 */
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += SYNC_PERIOD_NS;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		if (pthread_cond_timedwait(&pool->done, &pool->m, &until) != ETIMEDOUT ||
		    !pool->running)
			continue;
		pthread_mutex_unlock(&pool->m);
		pthread_mutex_lock(&rt->lock);
		rt->be->replace.sync(rt, false);
		pthread_mutex_unlock(&rt->lock);
		pthread_mutex_lock(&pool->m);
	}
	pthread_mutex_unlock(&pool->m);
	return SVM_OK;
}

void *svm_device_ptr(const svm_kernel_ctx_t *ctx, const void *ptr)
{
	uintptr_t p = (uintptr_t)ptr;

	if (!ctx || p - ctx->heap >= ctx->heap_size)
		return NULL;
	return (void *)(ctx->view + (p - ctx->heap));
}

int svm_kernel_device(const svm_kernel_ctx_t *ctx)
{
	return ctx ? ctx->device : -1;
}

unsigned svm_kernel_thread(const svm_kernel_ctx_t *ctx)
{
	return ctx ? ctx->thread : 0;
}
