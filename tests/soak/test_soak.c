/* SPDX-License-Identifier: MIT */
/*
 * A randomized data-integrity soak on the public API (issue 15).
 *
 * Worker threads pick slots (SVM allocations) and operations at random:
 *   host writes / host reads        every word checked before it is rewritten
 *   device kernels (svm_launch)     on every device, reading and rewriting
 *   prefetch, advise, pin/unpin, query, stats
 *                                   racing with the writers (they only hold
 *                                   the slot alive, not its bytes)
 *   alloc/free churn                svm_alloc(&table[k]): the slot table is
 *                                   itself SVM memory, moved around too
 *   fork                            the child checks a slot and _exits
 *   io_uring (with liburing)        pages of a slot registered as a fixed
 *                                   buffer (a long-term pin the runtime did
 *                                   not make), sent to a device, written by
 *                                   the host and read back through the
 *                                   kernel (WRITE_FIXED), then written by the
 *                                   kernel (READ_FIXED) and checked by host
 * Outputs of the API go into SVM memory (a per-thread scratch allocation,
 * itself sent to devices now and then).
 *
 * Every word of every slot is a known pattern: word i of a slot holds
 * pattern(slot key, generation of its page, i), or 0 for a page never
 * written. Whoever rewrites a page (host or device) first checks every
 * word; the end checks everything. A word that is not what was last
 * written is a lost word; the soak fails on the first one, and on a hang
 * (a watchdog names the stuck thread and its operation).
 *
 *   soak_soak [seconds [seed]]   defaults: SVMT_SOAK_SECONDS or 60,
 *                                SVMT_SOAK_SEED or the clock (printed)
 *   SVMT_SOAK_HANG_S             seconds one operation may take (120)
 *   SVMT_SOAK_URING=0            no io_uring operation
 *   SVMT_SOAK_MAPS=1             on a hang, print /proc/self/maps
 *   SVMT_SOAK_SKIP=a,b,...       leave operations out (to narrow a failure
 *                                down): host-write host-read device-write
 *                                device-read prefetch advise query pin stats
 *                                churn fork scratch table uring
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "svmtest.h"
#ifdef SVMT_HAVE_URING
#include <liburing.h>
#endif

#define SLOTS 16
#define WORKERS 4
#define MAX_QUERY 1024
#define MAX_LOST_PRINTED 16

static size_t pg, wpp; /* page size, 64-bit words per page */
static int ndev;
static uint64_t run_seed;
static double seconds;
static uint64_t hang_ns;

/* ---- slots ------------------------------------------------------------ */

struct slot {
	pthread_rwlock_t life;   /* read: using it; write: freeing / allocating */
	pthread_mutex_t bytes;   /* whoever reads or writes its words */
	size_t npages;
	uint64_t key;            /* changes at every allocation */
	uint32_t *gen;           /* per page; 0: never written (zeros) */
	uint32_t next_gen;
};

static struct slot slots[SLOTS];
static uint64_t **table; /* SVM memory: table[k] is slot k's allocation */

/* ---- outcome ------------------------------------------------------------ */

static atomic_bool stop, failed;
static atomic_ulong lost_words, checked_words;
enum { OP_HOST_WRITE, OP_HOST_READ, OP_DEV_WRITE, OP_DEV_READ, OP_PREFETCH, OP_ADVISE,
       OP_QUERY, OP_PIN, OP_STATS, OP_CHURN, OP_FORK, OP_SCRATCH, OP_TABLE, OP_URING, NOPS };
static const char *const op_name[NOPS] = {
	"host write", "host read", "device write", "device read", "prefetch", "advise",
	"query", "pin/unpin", "stats", "alloc/free", "fork", "scratch move", "table move",
	"io_uring pin",
};
/* names for SVMT_SOAK_SKIP */
static const char *const op_key[NOPS] = {
	"host-write", "host-read", "device-write", "device-read", "prefetch", "advise",
	"query", "pin", "stats", "churn", "fork", "scratch", "table", "uring",
};
static atomic_ulong op_count[NOPS];
static atomic_ulong launches_on[64];

struct worker {
	int id;
	pthread_t thread;
	uint64_t rng;
	atomic_uint_fast64_t since_ns; /* start of the current operation */
	_Atomic(const char *) doing;
	int slot;
	struct scratch *scratch; /* SVM */
#ifdef SVMT_HAVE_URING
	struct io_uring ring;
	bool ring_ok;
	int mfd;
	uint64_t *io; /* URING_PAGES of plain memory */
#endif
};
static struct worker workers[WORKERS];

struct scratch {
	svm_stats_t stats;
	svm_migrate_report_t report;
	svm_page_info_t info[MAX_QUERY];
};

static uint64_t expect(const struct slot *s, uint32_t gen, size_t word)
{
	return gen ? svmt_pattern(s->key ^ ((uint64_t)gen << 40), word) : 0;
}

/*
 * A lost word: where (slot, word, page and its address, so that a trace
 * or a log of the runtime can be searched for the page), who found it and
 * when (CLOCK_MONOTONIC ns, as svmt_now_ns), what was expected and found,
 * and which generation the found word belongs to, if any (0: none known).
 * The caller holds the slot's life lock, so table[slot] is its allocation.
 */
static void lost(int slot, const char *where, size_t word, uint64_t want, uint64_t got)
{
	unsigned long n = atomic_fetch_add(&lost_words, 1);
	const struct slot *s = &slots[slot];
	uint32_t found_gen = 0;

	atomic_store(&failed, true);
	atomic_store(&stop, true);
	if (n >= MAX_LOST_PRINTED)
		return;
	for (uint32_t g = s->next_gen; g > 0 && !found_gen; g--)
		if (expect(s, g, word) == got)
			found_gen = g;
	fprintf(stderr, "LOST WORD: slot %d word %zu (page %zu at %p, key %#llx) found by %s "
		"at %llu ns: expected %#018llx (generation %u), found %#018llx (generation %u "
		"of %u)\n", slot, word, word / wpp, (void *)((char *)table[slot] + word / wpp * pg),
		(unsigned long long)s->key, where, (unsigned long long)svmt_now_ns(),
		(unsigned long long)want, s->gen[word / wpp], (unsigned long long)got, found_gen,
		s->next_gen);
}

static size_t rnd(uint64_t *r, size_t n)
{
	return n ? (size_t)(svmt_rand(r) % n) : 0;
}

/* A page range [*a, *a + *n) of slot s. */
static void pick_pages(uint64_t *r, const struct slot *s, size_t *a, size_t *n)
{
	*a = rnd(r, s->npages);
	*n = 1 + rnd(r, s->npages - *a);
	if (*n > 64 && rnd(r, 4))
		*n = 1 + rnd(r, 64);
}

static int pick_loc(uint64_t *r)
{
	int l = (int)rnd(r, (size_t)ndev + 1) - 1;

	return l < 0 ? SVM_HOST : l;
}

/* ---- device code ---------------------------------------------------------- */

struct kjob {
	const struct slot *s;
	uint64_t *base;
	size_t first;          /* first page */
	const uint32_t *old;   /* old generation of each page in the job */
	uint32_t new_gen;      /* 0: only check */
	atomic_ulong bad;
	atomic_size_t bad_word;
	atomic_ullong bad_got;
};

static void kernel_rw(const svm_kernel_ctx_t *ctx, size_t i, void *arg)
{
	struct kjob *j = arg;
	size_t page = j->first + i;
	uint64_t *d = svm_device_ptr(ctx, j->base + page * wpp);

	for (size_t w = 0; w < wpp; w++) {
		size_t word = page * wpp + w;
		uint64_t want = expect(j->s, j->old[i], word), got = d[w];

		if (got != want && atomic_fetch_add(&j->bad, 1) == 0) {
			atomic_store(&j->bad_word, word);
			atomic_store(&j->bad_got, got);
		}
		if (j->new_gen)
			d[w] = expect(j->s, j->new_gen, word);
	}
}

/* ---- operations (slot locks held as each says) ----------------------------- */

/* Every word of pages [a, a+n) as expected; life + bytes held. */
static void host_check(int k, size_t a, size_t n, const char *who)
{
	struct slot *s = &slots[k];
	const volatile uint64_t *p = table[k];

	for (size_t page = a; page < a + n; page++)
		for (size_t w = 0; w < wpp; w++) {
			size_t word = page * wpp + w;
			uint64_t want = expect(s, s->gen[page], word), got = p[word];

			if (got != want)
				lost(k, who, word, want, got);
		}
	atomic_fetch_add(&checked_words, n * wpp);
}

/*
 * Pages [a, a + n) of slot k (at p): check every word against the slot's
 * current generation (what, in the report of a lost one), then write the
 * next generation; returns it.
 */
static uint32_t rewrite_pages(int k, uint64_t *p, size_t a, size_t n, const char *what)
{
	struct slot *s = &slots[k];
	uint32_t g = ++s->next_gen;

	for (size_t page = a; page < a + n; page++) {
		for (size_t w = 0; w < wpp; w++) {
			size_t word = page * wpp + w;
			uint64_t want = expect(s, s->gen[page], word), got = p[word];

			if (got != want)
				lost(k, what, word, want, got);
			p[word] = expect(s, g, word);
		}
		s->gen[page] = g;
	}
	return g;
}

static void host_write(uint64_t *r, int k)
{
	struct slot *s = &slots[k];
	uint64_t *p = table[k];
	size_t a, n;

	pick_pages(r, s, &a, &n);
	rewrite_pages(k, p, a, n, "a host write (before writing)");
	atomic_fetch_add(&checked_words, n * wpp);
}

static void device_job(uint64_t *r, int k, bool write)
{
	struct slot *s = &slots[k];
	size_t a, n;
	int dev = (int)rnd(r, (size_t)ndev);
	struct kjob *j = calloc(1, sizeof(*j));
	uint32_t *old;

	CHECK(j != NULL);
	pick_pages(r, s, &a, &n);
	old = malloc(n * sizeof(*old));
	CHECK(old != NULL);
	memcpy(old, s->gen + a, n * sizeof(*old));
	j->s = s;
	j->base = table[k];
	j->first = a;
	j->old = old;
	j->new_gen = write ? ++s->next_gen : 0;
	CHECK_OK(svm_launch(dev, n, kernel_rw, j));
	atomic_fetch_add(&launches_on[dev], 1);
	if (atomic_load(&j->bad))
		lost(k, write ? "a device write (before writing)" : "a device read",
		     atomic_load(&j->bad_word), expect(s, s->gen[atomic_load(&j->bad_word) / wpp],
						       atomic_load(&j->bad_word)),
		     atomic_load(&j->bad_got));
	if (write)
		for (size_t i = 0; i < n; i++)
			s->gen[a + i] = j->new_gen;
	atomic_fetch_add(&checked_words, n * wpp);
	free(old);
	free(j);
}

/* The scratch area may be sent anywhere before it receives outputs. */
static struct scratch *outputs(struct worker *wk)
{
	if (!rnd(&wk->rng, 3)) {
		svm_result_t res = svm_prefetch(wk->scratch, sizeof(*wk->scratch),
						pick_loc(&wk->rng), NULL);

		CHECK_MSG(res == SVM_OK || res == SVM_PARTIAL, "scratch prefetch: %s",
			  svm_result_string(res));
	}
	return wk->scratch;
}

static void do_prefetch(struct worker *wk, int k)
{
	struct slot *s = &slots[k];
	struct scratch *o = outputs(wk);
	size_t a, n;
	int loc = pick_loc(&wk->rng);
	bool rep = rnd(&wk->rng, 4) != 0;
	svm_result_t res;

	pick_pages(&wk->rng, s, &a, &n);
	res = svm_prefetch((char *)table[k] + a * pg, n * pg, loc, rep ? &o->report : NULL);
	CHECK_MSG(res == SVM_OK || res == SVM_PARTIAL, "svm_prefetch: %s",
		  svm_result_string(res));
	if (rep) {
		svm_migrate_report_t r = o->report;

		CHECK_EQ(r.pages, n);
		CHECK_EQ(r.moved + r.already + r.failed, n);
		CHECK_EQ(r.failed != 0, res == SVM_PARTIAL);
	}
}

static void do_advise(struct worker *wk, int k)
{
	struct slot *s = &slots[k];
	size_t a, n;
	svm_advice_t adv = (svm_advice_t)(1 + rnd(&wk->rng, 6));
	int loc = (int)rnd(&wk->rng, (size_t)ndev);
	svm_result_t res;

	if (adv == SVM_ADVISE_SET_PREFERRED_LOCATION && !rnd(&wk->rng, 3))
		loc = SVM_HOST;
	pick_pages(&wk->rng, s, &a, &n);
	res = svm_advise((char *)table[k] + a * pg, n * pg, adv, loc);
	CHECK_MSG(res == SVM_OK, "svm_advise(%d, %d): %s", (int)adv, loc, svm_result_string(res));
}

static void do_query(struct worker *wk, int k)
{
	struct slot *s = &slots[k];
	struct scratch *o = outputs(wk);
	size_t a, n;

	pick_pages(&wk->rng, s, &a, &n);
	if (n > MAX_QUERY)
		n = MAX_QUERY;
	CHECK_OK(svm_query((char *)table[k] + a * pg, n * pg, o->info, n));
	for (size_t i = 0; i < n; i++) {
		int l = o->info[i].location;

		CHECK_MSG(l == SVM_HOST || (l >= 0 && l < ndev), "svm_query: location %d", l);
	}
}

static void do_pin(struct worker *wk, int k)
{
	struct slot *s = &slots[k];
	size_t a, n;
	char *p;
	svm_result_t res;

	pick_pages(&wk->rng, s, &a, &n);
	p = (char *)table[k] + a * pg;
	res = svm_pin(p, n * pg);
	if (res == SVM_ERROR_BACKEND) /* some pages could not come home now */
		return;
	CHECK_MSG(res == SVM_OK, "svm_pin: %s", svm_result_string(res));
	if (rnd(&wk->rng, 2)) {
		res = svm_prefetch(p, n * pg, (int)rnd(&wk->rng, (size_t)ndev), NULL);
		CHECK_MSG(res == SVM_OK || res == SVM_PARTIAL, "prefetch of pinned pages: %s",
			  svm_result_string(res));
	}
	CHECK_OK(svm_unpin(p, n * pg));
}

static void do_stats(struct worker *wk)
{
	struct scratch *o = outputs(wk);

	if (rnd(&wk->rng, 2))
		CHECK_OK(svm_stats(&o->stats));
	else
		CHECK_OK(svm_device_stats((int)rnd(&wk->rng, (size_t)ndev), &o->stats));
	CHECK(o->stats.cpu_faults < (1ull << 62));
}

static size_t pick_size(uint64_t *r)
{
	size_t c = rnd(r, 100);

	if (c < 70)
		return 1 + rnd(r, 16);
	if (c < 95)
		return 17 + rnd(r, 80);
	return 256 + rnd(r, 264);
}

/* A new allocation for slot k (life held for writing). */
static void slot_fill(uint64_t *r, int k)
{
	struct slot *s = &slots[k];
	size_t bytes;

	s->npages = pick_size(r);
	bytes = s->npages * pg - (rnd(r, 2) ? rnd(r, pg) : 0); /* not always whole pages */
	CHECK_OK(svm_alloc((void **)&table[k], bytes)); /* the output is SVM memory */
	s->key = svmt_rand(r);
	s->gen = calloc(s->npages, sizeof(*s->gen));
	CHECK(s->gen != NULL);
	s->next_gen = 0;
}

static void do_churn(uint64_t *r, int k)
{
	struct slot *s = &slots[k];

	host_check(k, 0, s->npages, "alloc/free (before freeing)");
	CHECK_OK(svm_free(table[k]));
	free(s->gen);
	slot_fill(r, k);
	/* contents start as zero, wherever they are first read */
	if (rnd(r, 2))
		device_job(r, k, false);
	else
		host_check(k, 0, s->npages, "a fresh allocation");
}

#ifdef SVMT_HAVE_URING
#define URING_PAGES 16
static atomic_bool uring_off;
static atomic_ulong uring_refused;
static atomic_ulong uring_rounds;

static void uring_setup(struct worker *wk)
{
	const char *env = getenv("SVMT_SOAK_URING");
	int r;

	if (env && !strcmp(env, "0")) {
		if (!atomic_exchange(&uring_off, true))
			printf("soak: SVMT_SOAK_URING=0: no external pins\n");
		return;
	}
	r = io_uring_queue_init(4, &wk->ring, 0);
	if (r < 0) {
		if (!atomic_exchange(&uring_off, true))
			printf("soak: no io_uring here (%s): no external pins\n", strerror(-r));
		return;
	}
	wk->mfd = memfd_create("svmt-soak", MFD_CLOEXEC);
	wk->io = malloc(URING_PAGES * pg);
	CHECK(wk->mfd >= 0 && wk->io);
	CHECK(ftruncate(wk->mfd, (off_t)(URING_PAGES * pg)) == 0);
	wk->ring_ok = true;
}

static void uring_teardown(struct worker *wk)
{
	if (!wk->ring_ok)
		return;
	io_uring_queue_exit(&wk->ring);
	close(wk->mfd);
	free(wk->io);
}

static int uring_rw(struct worker *wk, bool to_file, void *buf, size_t len)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&wk->ring);
	struct io_uring_cqe *cqe;
	int res;

	CHECK(sqe != NULL);
	if (to_file)
		io_uring_prep_write_fixed(sqe, wk->mfd, buf, (unsigned)len, 0, 0);
	else
		io_uring_prep_read_fixed(sqe, wk->mfd, buf, (unsigned)len, 0, 0);
	CHECK_EQ(io_uring_submit(&wk->ring), 1);
	CHECK_EQ(io_uring_wait_cqe(&wk->ring, &cqe), 0);
	res = cqe->res;
	io_uring_cqe_seen(&wk->ring, cqe);
	return res;
}

/*
 * Pages pinned by someone else: whatever the runtime does with them, the
 * program and the kernel must keep seeing the same page. Life + bytes held.
 */
static void do_uring(struct worker *wk, int k)
{
	struct slot *s = &slots[k];
	uint64_t *p = table[k];
	struct iovec iov;
	size_t a, n, len;
	svm_result_t res, res2 = SVM_OK;
	uint32_t g;
	int r, to1, to2 = -1;
	/* when each step began, for the report of a loss found here */
	uint64_t t_reg, t_pf1, t_wr, t_wfix, t_pf2 = 0, t_rfix = 0, t_end;
	unsigned long lost_before = atomic_load(&lost_words);

	if (!wk->ring_ok)
		return;
	pick_pages(&wk->rng, s, &a, &n);
	if (n > URING_PAGES)
		n = URING_PAGES;
	len = n * pg;
	iov.iov_base = p + a * wpp;
	iov.iov_len = len;
	t_reg = svmt_now_ns();
	r = io_uring_register_buffers(&wk->ring, &iov, 1);
	if (r < 0) { /* RLIMIT_MEMLOCK, or a page the kernel would not pin: not now */
		if (!atomic_fetch_add(&uring_refused, 1))
			printf("soak: io_uring_register_buffers: %s (counted, not fatal)\n",
			       strerror(-r));
		return;
	}
	/* the pages are home and pinned now; send them away anyway */
	to1 = (int)rnd(&wk->rng, (size_t)ndev);
	t_pf1 = svmt_now_ns();
	res = svm_prefetch(iov.iov_base, len, to1, NULL);
	CHECK_MSG(res == SVM_OK || res == SVM_PARTIAL, "prefetch of io_uring pages: %s",
		  svm_result_string(res));
	/* the host writes; the kernel must read what the host wrote */
	t_wr = svmt_now_ns();
	g = rewrite_pages(k, p, a, n, "an io_uring op (before writing)");
	t_wfix = svmt_now_ns();
	CHECK_EQ(uring_rw(wk, true, iov.iov_base, len), (int)len);
	CHECK(pread(wk->mfd, wk->io, len, 0) == (ssize_t)len);
	for (size_t i = 0; i < n * wpp; i++) {
		size_t word = a * wpp + i;
		uint64_t want = expect(s, g, word);

		if (wk->io[i] != want)
			lost(k, "io_uring WRITE_FIXED (the kernel read a stale page)", word, want,
			     wk->io[i]);
	}
	if (atomic_load(&lost_words) == lost_before) {
		/* the kernel writes; the host must read what the kernel wrote */
		g = ++s->next_gen;
		for (size_t i = 0; i < n * wpp; i++)
			wk->io[i] = expect(s, g, a * wpp + i);
		CHECK(pwrite(wk->mfd, wk->io, len, 0) == (ssize_t)len);
		to2 = (int)rnd(&wk->rng, (size_t)ndev);
		t_pf2 = svmt_now_ns();
		res2 = svm_prefetch(iov.iov_base, len, to2, NULL);
		CHECK_MSG(res2 == SVM_OK || res2 == SVM_PARTIAL, "prefetch of io_uring pages: %s",
			  svm_result_string(res2));
		t_rfix = svmt_now_ns();
		CHECK_EQ(uring_rw(wk, false, iov.iov_base, len), (int)len);
		for (size_t page = a; page < a + n; page++)
			s->gen[page] = g;
		host_check(k, a, n, "a host read after io_uring READ_FIXED (the kernel wrote a "
			   "page the program no longer sees)");
	}
	t_end = svmt_now_ns();
	if (atomic_load(&lost_words) != lost_before)
		fprintf(stderr, "  io_uring op of worker %d: slot %d pages %zu-%zu (%p-%p) "
			"registered at %llu; prefetch to %d (%s) at %llu; host write at %llu; "
			"WRITE_FIXED at %llu; prefetch to %d (%s) at %llu; READ_FIXED at %llu; "
			"end %llu\n", wk->id, k, a, a + n - 1, iov.iov_base,
			(void *)((char *)iov.iov_base + len - 1), (unsigned long long)t_reg, to1,
			svm_result_string(res), (unsigned long long)t_pf1,
			(unsigned long long)t_wr, (unsigned long long)t_wfix, to2,
			svm_result_string(res2), (unsigned long long)t_pf2,
			(unsigned long long)t_rfix, (unsigned long long)t_end);
	CHECK_EQ(io_uring_unregister_buffers(&wk->ring), 0);
	atomic_fetch_add(&checked_words, 2 * n * wpp);
	atomic_fetch_add(&uring_rounds, 1);
}
#endif

static atomic_uint_fast64_t last_fork_ns;

static void do_fork(int k)
{
	struct slot *s = &slots[k];
	int status;
	pid_t pid;

	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		const volatile uint64_t *p = table[k];

		for (size_t word = 0; word < s->npages * wpp; word++)
			if (p[word] != expect(s, s->gen[word / wpp], word))
				_exit(3);
		_exit(0);
	}
	while (waitpid(pid, &status, 0) < 0)
		CHECK(errno == EINTR);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 3) {
		atomic_store(&failed, true);
		atomic_store(&stop, true);
		atomic_fetch_add(&lost_words, 1);
		fprintf(stderr, "LOST WORD: a fork child found slot %d not as its parent wrote it\n",
			k);
	} else {
		CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "fork child: status %#x",
			  status);
	}
}

static int weight[NOPS] = { 20, 8, 20, 8, 15, 6, 5, 4, 3, 5, 1, 2, 2, 3 };

static void skip_ops(const char *list)
{
	char buf[256], *save, *tok;

	snprintf(buf, sizeof(buf), "%s", list);
	for (tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		int op;

		for (op = 0; op < NOPS && strcmp(tok, op_key[op]); op++)
			;
		CHECK_MSG(op < NOPS, "SVMT_SOAK_SKIP: no operation \"%s\"", tok);
		weight[op] = 0;
		printf("soak: %s left out (SVMT_SOAK_SKIP)\n", op_key[op]);
	}
	CHECK_MSG(weight[OP_HOST_READ] || weight[OP_HOST_WRITE],
		  "SVMT_SOAK_SKIP: keep host-read or host-write");
}

static void *work(void *arg)
{
	struct worker *wk = arg;
	int total = 0;

#ifdef SVMT_HAVE_URING
	uring_setup(wk);
#endif
	for (int i = 0; i < NOPS; i++)
		total += weight[i];
	while (!atomic_load(&stop)) {
		int pick = (int)rnd(&wk->rng, (size_t)total), op = 0;
		int k = (int)rnd(&wk->rng, SLOTS);
		struct slot *s = &slots[k];

		while (pick >= weight[op])
			pick -= weight[op++];
		if (op == OP_FORK) {
			uint64_t now = svmt_now_ns(), last = atomic_load(&last_fork_ns);

			/* a fork evacuates every device: not more than a few a second */
			if (now - last < 300000000ull ||
			    !atomic_compare_exchange_strong(&last_fork_ns, &last, now))
				op = OP_HOST_READ;
		}
		atomic_store(&wk->doing, op_name[op]);
		atomic_store(&wk->since_ns, svmt_now_ns());
		wk->slot = k;
		switch (op) {
		case OP_CHURN:
			pthread_rwlock_wrlock(&s->life);
			do_churn(&wk->rng, k);
			pthread_rwlock_unlock(&s->life);
			break;
		case OP_HOST_WRITE:
		case OP_HOST_READ:
		case OP_DEV_WRITE:
		case OP_DEV_READ:
		case OP_FORK:
		case OP_URING:
			pthread_rwlock_rdlock(&s->life);
			pthread_mutex_lock(&s->bytes);
			if (op == OP_HOST_WRITE)
				host_write(&wk->rng, k);
			else if (op == OP_HOST_READ)
				host_check(k, 0, s->npages, "a host read");
			else if (op == OP_FORK)
				do_fork(k);
#ifdef SVMT_HAVE_URING
			else if (op == OP_URING)
				do_uring(wk, k);
#endif
			else
				device_job(&wk->rng, k, op == OP_DEV_WRITE);
			pthread_mutex_unlock(&s->bytes);
			pthread_rwlock_unlock(&s->life);
			break;
		case OP_TABLE: { /* the slot table itself goes places */
			svm_result_t res = svm_prefetch(table, pg, pick_loc(&wk->rng), NULL);

			CHECK_MSG(res == SVM_OK || res == SVM_PARTIAL, "table prefetch: %s",
				  svm_result_string(res));
			break;
		}
		case OP_SCRATCH:
		case OP_STATS:
			do_stats(wk);
			break;
		default: /* racing with the writers: only keep the slot alive */
			pthread_rwlock_rdlock(&s->life);
			if (op == OP_PREFETCH)
				do_prefetch(wk, k);
			else if (op == OP_ADVISE)
				do_advise(wk, k);
			else if (op == OP_QUERY)
				do_query(wk, k);
			else
				do_pin(wk, k);
			pthread_rwlock_unlock(&s->life);
			break;
		}
		atomic_fetch_add(&op_count[op], 1);
		atomic_store(&wk->doing, "(between operations)");
		atomic_store(&wk->since_ns, svmt_now_ns());
	}
#ifdef SVMT_HAVE_URING
	uring_teardown(wk);
#endif
	return NULL;
}

/* ---- watchdog ----------------------------------------------------------------- */

/* On a hang: the mappings, for whoever debugs it (SVMT_SOAK_MAPS=1). */
static void dump_maps(void)
{
	const char *env = getenv("SVMT_SOAK_MAPS");
	char buf[4096];
	ssize_t n;
	int f;

	if (!env || strcmp(env, "1"))
		return;
	f = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (f < 0)
		return;
	fprintf(stderr, "/proc/self/maps:\n");
	while ((n = read(f, buf, sizeof(buf))) > 0)
		if (write(2, buf, (size_t)n) < 0)
			break;
	close(f);
}

static pthread_mutex_t wd_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wd_cond = PTHREAD_COND_INITIALIZER;
static bool wd_done;

static void *watchdog(void *arg)
{
	uint64_t t0 = svmt_now_ns(), deadline = t0 + (uint64_t)(seconds * 1e9) + 2 * hang_ns;

	(void)arg;
	pthread_mutex_lock(&wd_lock);
	while (!wd_done) {
		struct timespec ts;
		uint64_t now = svmt_now_ns();

		for (int i = 0; i < WORKERS; i++) {
			uint64_t since = atomic_load(&workers[i].since_ns);

			if (since && now > since && now - since > hang_ns) {
				fflush(stdout);
				fprintf(stderr, "FAIL: soak: hang: worker %d has been in \"%s\" on "
					"slot %d for %llu s (seed %llu); all workers:\n", i,
					atomic_load(&workers[i].doing), workers[i].slot,
					(unsigned long long)((now - since) / 1000000000ull),
					(unsigned long long)run_seed);
				for (int j = 0; j < WORKERS; j++)
					fprintf(stderr, "  worker %d: \"%s\" on slot %d for %llu ms\n",
						j, atomic_load(&workers[j].doing), workers[j].slot,
						(unsigned long long)((now - atomic_load(
							&workers[j].since_ns)) / 1000000ull));
				dump_maps();
				_exit(1);
			}
		}
		if (now > deadline) {
			fprintf(stderr, "FAIL: soak: still running %llu s after its end (seed %llu)\n",
				(unsigned long long)((now - t0) / 1000000000ull),
				(unsigned long long)run_seed);
			_exit(1);
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&wd_cond, &wd_lock, &ts);
	}
	pthread_mutex_unlock(&wd_lock);
	return NULL;
}

int main(int argc, char **argv)
{
	const char *env;
	pthread_t wd;
	uint64_t r, t_end;

	setvbuf(stdout, NULL, _IOLBF, 0);
	env = getenv("SVMT_SOAK_SECONDS");
	seconds = argc > 1 ? atof(argv[1]) : env && *env ? atof(env) : 60;
	env = getenv("SVMT_SOAK_SEED");
	run_seed = argc > 2 ? strtoull(argv[2], NULL, 0) :
		   env && *env ? strtoull(env, NULL, 0) : svmt_now_ns() ^ (uint64_t)getpid();
	env = getenv("SVMT_SOAK_HANG_S");
	hang_ns = (uint64_t)(env && *env ? atof(env) : 120) * 1000000000ull;
	CHECK_MSG(seconds > 0, "usage: %s [seconds [seed]]", argv[0]);
	env = getenv("SVMT_SOAK_SKIP");
	if (env && *env)
		skip_ops(env);

	svmt_default_env("SVM_USER_DEVICES", "3");
	svmt_init();
	ndev = svm_device_count();
	CHECK(ndev >= 1);
	if ((size_t)ndev > sizeof(launches_on) / sizeof(launches_on[0]))
		ndev = (int)(sizeof(launches_on) / sizeof(launches_on[0]));
	pg = svmt_page_size();
	wpp = pg / sizeof(uint64_t);
	printf("soak: %.0f s, seed %llu (SVMT_SOAK_SEED=%llu repeats the choices), %s backend, "
	       "%d device(s), %d workers, %d slots\n", seconds, (unsigned long long)run_seed,
	       (unsigned long long)run_seed, svmt_backend(), ndev, WORKERS, SLOTS);
	fflush(stdout);

	r = run_seed;
	CHECK_OK(svm_alloc((void **)&table, SLOTS * sizeof(*table)));
	for (int k = 0; k < SLOTS; k++) {
		pthread_rwlock_init(&slots[k].life, NULL);
		pthread_mutex_init(&slots[k].bytes, NULL);
		slot_fill(&r, k);
	}
	for (int i = 0; i < WORKERS; i++) {
		workers[i].id = i;
		workers[i].rng = run_seed * 0x9e3779b97f4a7c15ull + (uint64_t)i + 1;
		CHECK_OK(svm_alloc((void **)&workers[i].scratch, sizeof(struct scratch)));
	}
	CHECK(pthread_create(&wd, NULL, watchdog, NULL) == 0);
	for (int i = 0; i < WORKERS; i++)
		CHECK(pthread_create(&workers[i].thread, NULL, work, &workers[i]) == 0);

	t_end = svmt_now_ns() + (uint64_t)(seconds * 1e9);
	pthread_mutex_lock(&wd_lock);
	while (!atomic_load(&stop) && svmt_now_ns() < t_end) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 200000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&wd_cond, &wd_lock, &ts);
	}
	pthread_mutex_unlock(&wd_lock);
	atomic_store(&stop, true);
	for (int i = 0; i < WORKERS; i++)
		pthread_join(workers[i].thread, NULL);

	/* every word of every slot, one last time, then everything goes */
	for (int k = 0; k < SLOTS; k++) {
		host_check(k, 0, slots[k].npages, "the final check");
		CHECK_OK(svm_free(table[k]));
		free(slots[k].gen);
	}
	for (int i = 0; i < WORKERS; i++)
		CHECK_OK(svm_free(workers[i].scratch));
	CHECK_OK(svm_free(table));
	pthread_mutex_lock(&wd_lock);
	wd_done = true;
	pthread_cond_signal(&wd_cond);
	pthread_mutex_unlock(&wd_lock);
	pthread_join(wd, NULL);

	unsigned long ops = 0;

	for (int op = 0; op < NOPS; op++) {
		printf("  %-14s %lu\n", op_name[op], atomic_load(&op_count[op]));
		ops += atomic_load(&op_count[op]);
	}
	for (int d = 0; d < ndev; d++)
		printf("  launches on device %d: %lu\n", d, atomic_load(&launches_on[d]));
#ifdef SVMT_HAVE_URING
	printf("  io_uring registrations refused: %lu\n", atomic_load(&uring_refused));
#endif
	CHECK_OK(svm_finalize());
	if (atomic_load(&failed))
		FAIL("soak: %lu operations, %lu words lost (seed %llu)", ops,
		     atomic_load(&lost_words), (unsigned long long)run_seed);
	unsigned long rounds = 0;
#ifdef SVMT_HAVE_URING
	rounds = atomic_load(&uring_rounds);
#endif
	/* one line, last: the VM harness shows a passing test's last line */
	printf("PASS: %.0f s, %lu operations, %lu words checked, 0 words lost, %lu forks, "
	       "%lu io_uring rounds (seed %llu)\n", seconds, ops, atomic_load(&checked_words),
	       atomic_load(&op_count[OP_FORK]), rounds, (unsigned long long)run_seed);
	return 0;
}
