// SPDX-License-Identifier: GPL-2.0
/*
 * kshim-bench - MIGRATE throughput of svmshim, in the VM, next to the
 * kernel's test_hmm (MIGRATE_TO_DEV / MIGRATE_TO_SYS) and memcpy of the
 * same size in the same boot; then a device/host ping-pong with thrashing
 * holds next to the advised run; then device faults through a view (the
 * density prefetcher among them) next to MIGRATE; then the retry settings
 * under real page contention. Medians of several runs; ratios printed.
 *
 *   kshim-bench [-r runs] [-s MiB[,MiB...]] [-b batch[,batch...]] [-B] [-R]
 *     -r  runs per measurement (default 5)
 *     -s  sizes (default 64,256)
 *     -b  batch sizes for the sweep (default 16,64,256,512,1024,2048,4096)
 *     -B  skip the batch sweep
 *     -R  skip the retry section
 *
 * Needs svmshim.ko (vram_mb >= the largest size) and test_hmm.ko loaded.
 * Lines starting with "BENCH" are the results the VM harness prints.
 * TCG makes absolute numbers meaningless: read the ratios.
 */
#define _GNU_SOURCE
#include <lib/test_hmm_uapi.h>
#include <pthread.h>
#include <sched.h>

#include "kshim_util.h"
#include "shim_params.h"

#define MiB (1024UL * 1024UL)
#define MAXRUNS 32

static int fd = -1, hfd = -1, runs = 5;

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void *map_filled(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	fill(p, len, 0x5eed);
	return p;
}

/*
 * A filled buffer laid out like the runtime's heap: 2 MiB aligned (6.1
 * does not align large anonymous mappings) and without THPs, so that the
 * prefetcher's regions and counts fall on 2 MiB pieces as under the
 * runtime. For the view and ping-pong sections.
 */
static void *map_heaplike(size_t len)
{
	const size_t al = 2 * MiB;
	char *raw = mmap(NULL, len + al, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), *p;

	if (raw == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	p = (char *)(((uintptr_t)raw + al - 1) & ~(uintptr_t)(al - 1));
	if (p > raw)
		munmap(raw, p - raw);
	if (raw + len + al > p + len)
		munmap(p + len, raw + len + al - (p + len));
	madvise(p, len, MADV_NOHUGEPAGE);
	fill(p, len, 0x5eed);
	return p;
}

static double time_memcpy(void *dst, const void *src, size_t len)
{
	double t0 = now_sec();

	memcpy(dst, src, len);
	return now_sec() - t0;
}

static int set_batch(unsigned int pages)
{
	return kshim_param_set("batch_pages", pages);
}

/*
 * A page can be BUSY for reasons outside our control (compaction or
 * reclaim holding it, a per-CPU LRU batch): like the runtime, retry the
 * range a bounded number of times and count the retries. The retries are
 * part of the measured time.
 */
#define RETRIES 4
static unsigned long kshim_retries, hmm_retries;

static int kshim_move(char *p, size_t len, int dest, const char *what)
{
	struct drm_svmshim_migrate m;
	size_t n = len / KPAGE, moved = 0, already = 0;
	int a;

	for (a = 0; a < RETRIES; a++) {
		if (kshim_migrate(fd, p, len, dest, 0, NULL, &m)) {
			printf("BENCH ERROR kshim %s: %s\n", what, strerror(errno));
			return -1;
		}
		moved += m.moved;
		if (a == 0)
			already = m.already;
		if (moved + already == n)
			return 0;
		kshim_retries++;
	}
	printf("BENCH ERROR kshim %s moved %zu of %zu (pinned %llu busy %llu nomem %llu unsup %llu)\n",
	       what, moved, n, (unsigned long long)m.failed[SVMSHIM_FAIL_PINNED],
	       (unsigned long long)m.failed[SVMSHIM_FAIL_BUSY],
	       (unsigned long long)m.failed[SVMSHIM_FAIL_NO_MEMORY],
	       (unsigned long long)m.failed[SVMSHIM_FAIL_UNSUPPORTED]);
	return -1;
}

/* One MIGRATE host->device and back; seconds of each. */
static int kshim_round(char *p, size_t len, double *h2d, double *d2h)
{
	double t0 = now_sec();

	if (kshim_move(p, len, 0, "h2d"))
		return -1;
	*h2d = now_sec() - t0;
	t0 = now_sec();
	if (kshim_move(p, len, SVMSHIM_LOC_HOST, "d2h"))
		return -1;
	*d2h = now_sec() - t0;
	return 0;
}

static int hmm_move(char *p, char *mirror, size_t len, unsigned long cmd,
		    const char *what)
{
	size_t n = len / KPAGE, moved = 0;
	int a;

	for (a = 0; a < RETRIES; a++) {
		struct hmm_dmirror_cmd c = {
			.addr = (uintptr_t)p, .ptr = (uintptr_t)mirror, .npages = n,
		};

		if (ioctl(hfd, cmd, &c)) {
			/* TO_DEV reads the mirror back: ENOENT = a page missed */
			if (errno == ENOENT && cmd == HMM_DMIRROR_MIGRATE_TO_DEV) {
				hmm_retries++;
				continue;
			}
			printf("BENCH ERROR test_hmm %s: %s\n", what, strerror(errno));
			return -1;
		}
		/*
		 * MIGRATE_TO_SYS counts the pages this call moved,
		 * MIGRATE_TO_DEV the pages of the range now in the mirror.
		 */
		moved = cmd == HMM_DMIRROR_MIGRATE_TO_SYS ? moved + c.cpages :
			c.cpages;
		if (moved == n)
			return 0;
		hmm_retries++;
	}
	printf("BENCH ERROR test_hmm %s cpages %zu of %zu\n", what, moved, n);
	return -1;
}

/* One test_hmm MIGRATE_TO_DEV and MIGRATE_TO_SYS; seconds of each. */
static int hmm_round(char *p, char *mirror, size_t len, double *h2d,
		     double *d2h)
{
	double t0 = now_sec();

	if (hmm_move(p, mirror, len, HMM_DMIRROR_MIGRATE_TO_DEV, "to_dev"))
		return -1;
	*h2d = now_sec() - t0;
	t0 = now_sec();
	if (hmm_move(p, mirror, len, HMM_DMIRROR_MIGRATE_TO_SYS, "to_sys"))
		return -1;
	*d2h = now_sec() - t0;
	return 0;
}

static double gibs(size_t len, double s)
{
	return len / s / (1024.0 * MiB);
}

static int parse_list(const char *s, unsigned long *v, int max)
{
	int n = 0;

	while (*s && n < max) {
		v[n++] = strtoul(s, (char **)&s, 10);
		if (*s == ',')
			s++;
	}
	return n;
}

/*
 * Device faults through a view: the device reads one word of every page of
 * a host-resident buffer, each fault moving a granule to device 0, next to
 * a MIGRATE of the same buffer to device 0 (the raw primitive the faults
 * use) in the same round. Granularities 4K, 64K, 2M, in place
 * (accessed-by: the host page mapped, nothing moves), and "density": the
 * runtime's defaults (SVM_PREFETCH=density from one page, more than 50%,
 * at most 64 MiB per fault), whose target (issue 18) is >= 0.8x MIGRATE.
 */
#define VIEW_MODES 5

/* What the faults of one pass did, from the event ring. */
struct view_evsum {
	unsigned long faults, moving, pf_pages, pf_events;
	double fault_ms, pf_ms;
};

static void view_events(struct view_evsum *s)
{
	static struct drm_svmshim_event ev[SVMSHIM_EVENT_RING];
	long n, i;

	if (s)
		memset(s, 0, sizeof(*s));
	do {
		n = kshim_events(fd, ev, SVMSHIM_EVENT_RING, NULL);
		for (i = 0; s && i < n; i++) {
			if (ev[i].type == SVMSHIM_EVENT_DEVICE_FAULT) {
				s->faults++;
				s->moving += ev[i].class == SVMSHIM_FAULT_MIGRATED;
				s->fault_ms += ev[i].duration_ns / 1e6;
			} else if (ev[i].type == SVMSHIM_EVENT_MIGRATE &&
				   (ev[i].flags & SVMSHIM_EVENT_PREFETCH)) {
				s->pf_events++;
				s->pf_pages += ev[i].pages;
				s->pf_ms += ev[i].duration_ns / 1e6;
			}
		}
	} while (n == SVMSHIM_EVENT_RING);
}

static int view_bench(size_t len)
{
	struct view_evsum vs = { 0 };
	static const struct {
		unsigned int gran, accessed_by, density;
		const char *name;
	} modes[VIEW_MODES] = { { 4096, 0, 0, "4K" }, { 65536, 0, 0, "64K" },
				{ 2u << 20, 0, 0, "2M" }, { 4096, 1, 0, "in-place" },
				{ 4096, 0, 1, "density" } };
	double mig[MAXRUNS], flt[VIEW_MODES][MAXRUNS], m;
	char *p = map_heaplike(len), *v = kshim_view(fd, 0, p, len);
	volatile char sink = 0;
	int r, k;

	if (!v) {
		printf("BENCH ERROR view: %s\n", strerror(errno));
		return -1;
	}
	for (r = -1; r < runs; r++) {	/* r == -1: warm-up */
		double t0, t;

		/*
		 * A SNAPSHOT lets go of what the view held from the mode
		 * before (a drain), so no mode pays for the last one's.
		 */
		kshim_snapshot(fd, p, len, NULL, NULL);
		t0 = now_sec();
		if (kshim_move(p, len, 0, "view baseline"))
			return -1;
		t = now_sec() - t0;
		if (r >= 0)
			mig[r] = t;
		if (kshim_move(p, len, SVMSHIM_LOC_HOST, "view baseline back"))
			return -1;
		for (k = 0; k < VIEW_MODES; k++) {
			struct drm_svmshim_attr a;
			size_t off;

			kshim_attr_init(&a, p, len, 0, SVMSHIM_LOC_NONE);
			a.accessed_by = modes[k].accessed_by;
			a.granularity = modes[k].gran;
			if (modes[k].density) {
				a.flags = SVMSHIM_ATTR_PREFETCH_DENSITY;
				a.prefetch_threshold = 50;
				a.prefetch_max = 64 << 20;
			}
			if (ioctl(fd, DRM_IOCTL_SVMSHIM_SET_ATTR, &a)) {
				printf("BENCH ERROR SET_ATTR %s: %s\n",
				       modes[k].name, strerror(errno));
				return -1;
			}
			kshim_snapshot(fd, p, len, NULL, NULL);
			view_events(NULL);
			t0 = now_sec();
			for (off = 0; off < len; off += KPAGE)
				sink += v[off];
			t = now_sec() - t0;
			if (r >= 0)
				flt[k][r] = t;
			if (r == runs - 1 && modes[k].density)
				view_events(&vs);
			if (kshim_move(p, len, SVMSHIM_LOC_HOST, "view back"))
				return -1;
		}
	}
	(void)sink;
	if (check(p, len, 0x5eed) >= 0) {
		printf("BENCH ERROR view data corrupted\n");
		return -1;
	}
	m = median(mig, runs);
	printf("BENCH view %zuMiB MIGRATE h2d     %8.1f ms  %.3f GiB/s\n",
	       len / MiB, m * 1e3, gibs(len, m));
	for (k = 0; k < VIEW_MODES; k++) {
		double f = median(flt[k], runs);

		printf("BENCH view %zuMiB faults %-8s %8.1f ms  %.3f GiB/s  %.3fx MIGRATE%s\n",
		       len / MiB, modes[k].name, f * 1e3, gibs(len, f), m / f,
		       modes[k].density ? (m / f >= 0.8 ? "  (target >= 0.8x: met)" :
					   "  (target >= 0.8x: NOT met)") : "");
	}
	printf("BENCH view %zuMiB density (last run): %lu device faults (%lu moving, %.1f ms in them), %lu pages prefetched by %lu of them (%.1f ms)\n",
	       len / MiB, vs.faults, vs.moving, vs.fault_ms, vs.pf_pages, vs.pf_events,
	       vs.pf_ms);
	munmap(v, len);
	munmap(p, len);
	return 0;
}

/*
 * Ping-pong (issue 18): in each round the device writes one word of every
 * page of a buffer through its view, then the host writes one word of
 * every page. With the runtime's defaults (density prefetcher, thrashing
 * holds: 3 events, 200 ms; the window given) pages stop moving once held;
 * next to it the advised run (preferred location host + accessed-by the
 * device: nothing ever moves). Per round: pages moved by faults (to the
 * device and home) and the time. Targets: from round 4 on (after at most
 * 3 rounds) at most 5% of the pages move per round and a round takes at
 * most 1.5x the advised round (median of its rounds 2 and later).
 */
#define PP_ROUNDS 8
static int pingpong_bench(size_t len, unsigned int window_us)
{
	size_t n = len / KPAGE, i;
	double t[2][PP_ROUNDS], adv[PP_ROUNDS - 1], late[PP_ROUNDS], a_med,
	       h_med, worst_t = 0;
	unsigned long moved[2][PP_ROUNDS], worst_m = 0;
	static struct drm_svmshim_event ev[SVMSHIM_EVENT_RING];
	int mode, r;

	for (mode = 0; mode < 2; mode++) {
		char *p = map_heaplike(len), *v = kshim_view(fd, 0, p, len);
		struct drm_svmshim_attr a;

		if (!v) {
			printf("BENCH ERROR view: %s\n", strerror(errno));
			return -1;
		}
		kshim_attr_init(&a, p, len, 0, SVMSHIM_LOC_NONE);
		a.granularity = KPAGE;
		if (mode == 0) {
			a.flags = SVMSHIM_ATTR_PREFETCH_DENSITY | SVMSHIM_ATTR_THRASH;
			a.prefetch_threshold = 50;
			a.prefetch_max = 64 << 20;
			a.thrash_window_us = window_us;
			a.thrash_threshold = 3;
			a.thrash_hold_ms = 200;
		} else {
			a.preferred = SVMSHIM_LOC_HOST;
			a.accessed_by = 1;
		}
		if (ioctl(fd, DRM_IOCTL_SVMSHIM_SET_ATTR, &a)) {
			printf("BENCH ERROR SET_ATTR: %s\n", strerror(errno));
			return -1;
		}
		kshim_snapshot(fd, p, len, NULL, NULL);
		view_events(NULL);
		for (r = 0; r < PP_ROUNDS; r++) {
			double t0 = now_sec();
			long k, c;

			for (i = 0; i < n; i++)
				((volatile uint64_t *)(v + i * KPAGE))[1] += 1;
			for (i = 0; i < n; i++)
				((volatile uint64_t *)(p + i * KPAGE))[2] += 1;
			t[mode][r] = now_sec() - t0;
			moved[mode][r] = 0;
			do {
				c = kshim_events(fd, ev, SVMSHIM_EVENT_RING, NULL);
				for (k = 0; k < c; k++)
					if (ev[k].type == SVMSHIM_EVENT_CPU_FAULT ||
					    (ev[k].type == SVMSHIM_EVENT_MIGRATE &&
					     (ev[k].flags & SVMSHIM_EVENT_BY_FAULT)))
						moved[mode][r] += ev[k].pages;
			} while (c == SVMSHIM_EVENT_RING);
		}
		for (i = 0; i < n; i++)
			if (((uint64_t *)(p + i * KPAGE))[1] != (((uintptr_t)(p + i * KPAGE + 8)) ^ 0x5eed) + PP_ROUNDS ||
			    ((uint64_t *)(p + i * KPAGE))[2] != (((uintptr_t)(p + i * KPAGE + 16)) ^ 0x5eed) + PP_ROUNDS) {
				printf("BENCH ERROR pingpong data wrong at page %zu\n", i);
				return -1;
			}
		munmap(v, len);
		munmap(p, len);
	}
	for (r = 1; r < PP_ROUNDS; r++)
		adv[r - 1] = t[1][r];
	a_med = median(adv, PP_ROUNDS - 1);
	for (r = 0; r < PP_ROUNDS; r++) {
		printf("BENCH pingpong %zuMiB window %ums round %d: holds %9.3f ms, %6lu pages moved (%5.1f%%) | advised %9.3f ms, %lu moved\n",
		       len / MiB, window_us / 1000, r + 1, t[0][r] * 1e3, moved[0][r],
		       100.0 * moved[0][r] / n, t[1][r] * 1e3, moved[1][r]);
		if (r >= 3) {
			late[r - 3] = t[0][r];
			worst_t = worst_t > t[0][r] ? worst_t : t[0][r];
			worst_m = worst_m > moved[0][r] ? worst_m : moved[0][r];
		}
	}
	h_med = median(late, PP_ROUNDS - 3);
	printf("BENCH pingpong %zuMiB window %ums from round 4: most moved %.1f%% of the pages (target <= 5%%), median round %.2fx advised (target <= 1.5x; slowest %.2fx): %s\n",
	       len / MiB, window_us / 1000, 100.0 * worst_m / n, h_med / a_med,
	       worst_t / a_med,
	       worst_m * 20 <= n && h_med <= 1.5 * a_med ? "met" : "NOT met");
	return 0;
}

/*
 * The retry policy under real contention, no injection. A contender
 * thread, on another CPU when there is one, works on the same range while
 * this thread MIGRATEs it to device 0:
 *   faulter  reads every page: each CPU fault brings a device page home,
 *            holding its lock, and leaves the new host page in its CPU's
 *            LRU add cache, where isolation cannot take it (seed 001);
 *   rival    MIGRATEs the range to the host, without retry, in a loop.
 * Before each call this thread waits (bounded) for the contender to have
 * made progress, so every call has pages to move. For each retry setting
 * ("first-pass" is the bare primitive, no retry; "drain-only" adds the
 * one attempt after the local LRU drain): the share of the pages offered
 * (not already on the device) left BUSY, the median time per page offered
 * next to the first pass's, page attempts in retry rounds and the most
 * rounds one call ran. Settings are interleaved in every run, like the batch sweep.
 */
static const struct retry_setting {
	const char *name;
	unsigned int flags, rounds, budget_us, first_us, max_us;
} retry_settings[] = {
	{ "first-pass", 0, 0, 0, 0, 0 },
	{ "drain-only", SVMSHIM_MIGRATE_DRAIN_LRU, 0, 0, 0, 0 },
	{ "default", SVMSHIM_MIGRATE_RETRY | SVMSHIM_MIGRATE_BACKOFF |
		     SVMSHIM_MIGRATE_DRAIN_LRU, 4, 20000, 50, 2000 },
	{ "no-pause", SVMSHIM_MIGRATE_RETRY | SVMSHIM_MIGRATE_BACKOFF |
		      SVMSHIM_MIGRATE_DRAIN_LRU, 4, 20000, 0, 0 },
	{ "1-round", SVMSHIM_MIGRATE_RETRY | SVMSHIM_MIGRATE_BACKOFF |
		     SVMSHIM_MIGRATE_DRAIN_LRU, 1, 20000, 50, 2000 },
	{ "shim-pauses", SVMSHIM_MIGRATE_RETRY | SVMSHIM_MIGRATE_DRAIN_LRU,
	  4, 20000, 0, 0 },
	{ "long", SVMSHIM_MIGRATE_RETRY | SVMSHIM_MIGRATE_BACKOFF |
		  SVMSHIM_MIGRATE_DRAIN_LRU, 16, 200000, 50, 2000 },
};
#define NSETTINGS (sizeof(retry_settings) / sizeof(retry_settings[0]))

struct contender {
	char *p;
	size_t len;
	int rival;		/* 0: faulter, 1: rival migrator */
	_Atomic int stop;
	_Atomic unsigned long progress;	/* pages read / passes made */
};

static void *contend(void *arg)
{
	struct contender *c = arg;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	volatile char sink = 0;

	if (ncpu > 1) {		/* away from the migrating thread's CPU 0 */
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(1, &set);
		pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	}
	while (!c->stop) {
		if (c->rival) {
			kshim_migrate(fd, c->p, c->len, SVMSHIM_LOC_HOST, 0, NULL, NULL);
			c->progress++;
		} else {
			size_t off;

			for (off = 0; off < c->len && !c->stop; off += KPAGE) {
				sink += c->p[off];
				c->progress++;
			}
		}
	}
	(void)sink;
	return NULL;
}

/* Until the contender made @want more progress, or 200 ms passed. */
static void contender_wait(struct contender *c, unsigned long want)
{
	unsigned long from = c->progress;
	double t0 = now_sec();

	while (c->progress - from < want && now_sec() - t0 < 0.2)
		sched_yield();
}

static int retry_bench(size_t len)
{
	static double busy[NSETTINGS][MAXRUNS], t[NSETTINGS][MAXRUNS];
	unsigned long long attempts[NSETTINGS], offered[NSETTINGS], left[NSETTINGS];
	unsigned int most[NSETTINGS];
	size_t n = len / KPAGE, k;
	int rival, r;

	for (rival = 0; rival < 2; rival++) {
		struct contender c = { .p = map_filled(len), .len = len, .rival = rival };
		double t_first;
		pthread_t th;

		memset(most, 0, sizeof(most));
		memset(attempts, 0, sizeof(attempts));
		memset(offered, 0, sizeof(offered));
		memset(left, 0, sizeof(left));
		if (pthread_create(&th, NULL, contend, &c)) {
			printf("BENCH ERROR retry: no contender thread\n");
			return -1;
		}
		for (r = 0; r < runs; r++) {
			for (k = 0; k < NSETTINGS; k++) {
				const struct retry_setting *s = &retry_settings[k];
				struct drm_svmshim_migrate m;
				double t0;

				contender_wait(&c, rival ? 1 : n / 8);
				kshim_migrate_init(&m, c.p, len, 0, s->flags);
				m.retry_rounds = s->rounds;
				m.retry_budget_us = s->budget_us;
				m.backoff_us = s->first_us;
				m.backoff_max_us = s->max_us;
				t0 = now_sec();
				if (ioctl(fd, DRM_IOCTL_SVMSHIM_MIGRATE, &m)) {
					printf("BENCH ERROR retry %s: %s\n", s->name,
					       strerror(errno));
					c.stop = 1;
					pthread_join(th, NULL);
					return -1;
				}
				t[k][r] = (now_sec() - t0) / (n - m.already ? n - m.already : 1);
				busy[k][r] = m.already < n ? 100.0 * m.failed[SVMSHIM_FAIL_BUSY] /
							     (double)(n - m.already) : 0;
				offered[k] += n - m.already;
				left[k] += m.failed[SVMSHIM_FAIL_BUSY];
				attempts[k] += m.retries;
				if (m.rounds > most[k])
					most[k] = m.rounds;
			}
		}
		c.stop = 1;
		pthread_join(th, NULL);
		if (check(c.p, len, 0x5eed) >= 0) {
			printf("BENCH ERROR retry data corrupted\n");
			return -1;
		}
		t_first = median(t[0], runs);
		for (k = 0; k < NSETTINGS; k++) {
			const struct retry_setting *s = &retry_settings[k];
			double tm = median(t[k], runs);

			printf("BENCH retry %zuMiB %-7s %-11s rounds<=%-2u budget %3u ms pause %u-%u us: BUSY left %5.1f%% median (%llu of %llu offered)  %6.1f us/page  %.2fx first-pass  %llu retried, most rounds %u\n",
			       len / MiB, rival ? "rival" : "faulter", s->name, s->rounds,
			       s->budget_us / 1000, s->first_us, s->max_us,
			       median(busy[k], runs), left[k], offered[k], tm * 1e6,
			       tm / t_first, attempts[k], most[k]);
		}
		munmap(c.p, len);
	}
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long sizes[8] = { 64, 256 }, batches[16] = {
		16, 64, 256, 512, 1024, 2048, 4096 };
	int nsizes = 2, nbatches = 7, sweep = 1, retry = 1, opt, i;
	struct drm_svmshim_get_info info;
	unsigned int def_batch;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((opt = getopt(argc, argv, "r:s:b:BR")) != -1) {
		switch (opt) {
		case 'r':
			runs = atoi(optarg);
			if (runs < 1 || runs > MAXRUNS)
				runs = 5;
			break;
		case 's':
			nsizes = parse_list(optarg, sizes, 8);
			break;
		case 'b':
			nbatches = parse_list(optarg, batches, 16);
			break;
		case 'B':
			sweep = 0;
			break;
		case 'R':
			retry = 0;
			break;
		default:
			fprintf(stderr, "usage: %s [-r runs] [-s MiB,..] [-b pages,..] [-B] [-R]\n",
				argv[0]);
			return 2;
		}
	}
	fd = kshim_open();
	hfd = open("/dev/hmm_dmirror0", O_RDWR | O_CLOEXEC);
	if (fd < 0 || hfd < 0) {
		printf("BENCH ERROR need svmshim and test_hmm (fd %d, hmm %d)\n",
		       fd, hfd);
		return 1;
	}
	if (kshim_info(fd, 0, &info))
		return 1;
	def_batch = info.batch_pages;
	printf("BENCH setup: runs=%d, default batch=%u pages, device 0 %llu MiB, test_hmm batch=64 pages\n",
	       runs, def_batch, (unsigned long long)(info.memory_bytes / MiB));

	if (sweep) {
		/*
		 * Batch sweep on the first size. Runs are interleaved (each
		 * round measures every batch size and memcpy once), so a
		 * change of host load hits all of them alike.
		 */
		size_t len = sizes[0] * MiB;
		char *p = map_filled(len), *q = map_filled(len);
		static double th[16][MAXRUNS], td[16][MAXRUNS];
		double mc[MAXRUNS], m;
		int r;

		for (i = 0; i < nbatches; i++)	/* warm-up */
			if (set_batch(batches[i]) ||
			    kshim_round(p, len, &th[i][0], &td[i][0]))
				return 1;
		for (r = 0; r < runs; r++) {
			mc[r] = time_memcpy(q, p, len);
			for (i = 0; i < nbatches; i++)
				if (set_batch(batches[i]) ||
				    kshim_round(p, len, &th[i][r], &td[i][r]))
					return 1;
		}
		m = median(mc, runs);
		for (i = 0; i < nbatches; i++) {
			double h = median(th[i], runs), d = median(td[i], runs);

			printf("BENCH sweep %luMiB batch=%-4lu h2d %.3f GiB/s (%.3fx memcpy)  d2h %.3f GiB/s (%.3fx memcpy)\n",
			       sizes[0], batches[i], gibs(len, h), m / h,
			       gibs(len, d), m / d);
		}
		set_batch(def_batch);
		if (check(p, len, 0x5eed) >= 0) {
			printf("BENCH ERROR sweep data corrupted\n");
			return 1;
		}
		munmap(p, len);
		munmap(q, len);
	}

	for (i = 0; i < nsizes; i++) {
		size_t len = sizes[i] * MiB;
		double mc[MAXRUNS], kh[MAXRUNS], kd[MAXRUNS], hh[MAXRUNS],
		       hd[MAXRUNS], m, k1, k2, h1, h2;
		char *kbuf, *hbuf, *mirror;
		int r;

		if (len > info.memory_bytes) {
			printf("BENCH skip %luMiB: device memory too small\n",
			       sizes[i]);
			continue;
		}
		kbuf = map_filled(len);
		hbuf = map_filled(len);
		mirror = map_filled(len);
		/* Warm-up: device chunks, host pools, page tables. */
		if (kshim_round(kbuf, len, &kh[0], &kd[0]) ||
		    hmm_round(hbuf, mirror, len, &hh[0], &hd[0]))
			return 1;
		for (r = 0; r < runs; r++) {
			/* memcpy reuses the mirror as its destination */
			mc[r] = time_memcpy(mirror, kbuf, len);
			if (hmm_round(hbuf, mirror, len, &hh[r], &hd[r]) ||
			    kshim_round(kbuf, len, &kh[r], &kd[r]))
				return 1;
		}
		if (check(kbuf, len, 0x5eed) >= 0 || check(hbuf, len, 0x5eed) >= 0) {
			printf("BENCH ERROR data corrupted\n");
			return 1;
		}
		m = median(mc, runs);
		k1 = median(kh, runs);
		k2 = median(kd, runs);
		h1 = median(hh, runs);
		h2 = median(hd, runs);
		printf("BENCH %luMiB memcpy          %8.1f ms  %.3f GiB/s\n",
		       sizes[i], m * 1e3, gibs(len, m));
		printf("BENCH %luMiB test_hmm to_dev %8.1f ms  %.3f GiB/s  %.4fx memcpy\n",
		       sizes[i], h1 * 1e3, gibs(len, h1), m / h1);
		printf("BENCH %luMiB test_hmm to_sys %8.1f ms  %.3f GiB/s  %.4fx memcpy\n",
		       sizes[i], h2 * 1e3, gibs(len, h2), m / h2);
		printf("BENCH %luMiB kshim h2d       %8.1f ms  %.3f GiB/s  %.4fx memcpy  %.2fx test_hmm\n",
		       sizes[i], k1 * 1e3, gibs(len, k1), m / k1, h1 / k1);
		printf("BENCH %luMiB kshim d2h       %8.1f ms  %.3f GiB/s  %.4fx memcpy  %.2fx test_hmm\n",
		       sizes[i], k2 * 1e3, gibs(len, k2), m / k2, h2 / k2);
		munmap(kbuf, len);
		munmap(hbuf, len);
		munmap(mirror, len);
	}
	/*
	 * The runtime's default window (100 ms) at a size whose rounds fit
	 * in it under TCG, then 4 MiB with a window scaled to the VM's
	 * slower rounds.
	 */
	if (pingpong_bench(1 * MiB, 100000) || pingpong_bench(4 * MiB, 1000000))
		return 1;
	if (view_bench(sizes[0] * MiB / 2))
		return 1;
	if (retry && retry_bench(sizes[0] * MiB / 8))
		return 1;
	printf("BENCH retries (BUSY pages retried): kshim %lu, test_hmm %lu\n",
	       kshim_retries, hmm_retries);
	return 0;
}
