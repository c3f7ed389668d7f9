/* SPDX-License-Identifier: MIT */
/*
 * SVM_COHERENCE=launch (docs/architecture.md, "Launch coherence"): a device
 * fault on a host page copies it and leaves the host page in place; the
 * copy becomes the device's page when the launch ends. What it promises,
 * and what it does not, checked at the boundary:
 *
 *   basic     every word a launch wrote is seen after it, the pages are
 *             the device's then (moved once each, at the end), and the
 *             next launches and host passes go on from there;
 *   boundary  during a launch, a host read of a page the device wrote
 *             sees the bytes from before the launch (the weaker promise,
 *             asserted so that a change of it is seen), a host write to
 *             such a page takes the device's bytes back first (neither
 *             side's write is lost, the device reads the host's), and a
 *             host write to a page the device has not reached yet is what
 *             the device reads;
 *   hostfill  a host thread fills memory while a launch runs: where the
 *             device faulted (its chunks are protected) a few faults per
 *             2 MiB chunk, not one per page; elsewhere none; its bytes
 *             are there after;
 *   room      a device with less memory than the launch touches: the
 *             pages beyond its room take the usual path (moves,
 *             evictions), nothing is lost;
 *   stream    a launch over 8 MiB: takes until the density region is
 *             SVM_LAUNCH_MOVE_MIN, moves from there; stream_takes (that
 *             set to 1G): every page taken;
 *   twodev    launches on two devices at once over the same pages, each
 *             writing its own words: both sides' words survive;
 *   uring     pages pinned by an io_uring registered buffer that nothing
 *             has found pinned yet: the device takes them, the kernel
 *             writes other words of them (READ_FIXED) during the launch,
 *             and at its end they stay the pinned pages (the move out of
 *             the way is refused), with the device's words and the
 *             kernel's; WRITE_FIXED then writes what the host sees.
 *
 * Every wait is bounded; a timeout is a failure, not a hang. Runs under
 * SVM_COHERENCE=launch (CTest sets it); SKIP elsewhere with the reason.
 * boundary wants SVM_GRANULARITY=4K: a larger block takes the pages of
 * the rounds after it along, which are then the device's when they start.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "svmtest.h"

#ifdef SVMT_HAVE_URING
#include <liburing.h>
#endif

static size_t pg, words;

/* ---- basic ---------------------------------------------------------------- */

struct add_args {
	uint64_t *base;
	uint64_t add;
};

/* Adds `add` to every word of page i. */
static void kernel_add(const svm_kernel_ctx_t *ctx, size_t i, void *arg)
{
	const struct add_args *a = arg;
	uint64_t *d = svm_device_ptr(ctx, a->base + i * words);

	for (size_t w = 0; w < words; w++)
		d[w] += a->add;
}

static void check_words(const uint64_t *p, size_t pages, uint64_t seed, uint64_t add)
{
	for (size_t i = 0; i < pages * words; i++)
		CHECK_MSG(p[i] == svmt_pattern(seed, i) + add,
			  "word %zu (page %zu) is %#llx, expected %#llx", i, i / words,
			  (unsigned long long)p[i],
			  (unsigned long long)(svmt_pattern(seed, i) + add));
}

static void basic(void)
{
	size_t pages = 512;
	uint64_t *p = svmt_alloc(pages * pg);
	struct add_args a = { p, 3 };
	svm_stats_t s0, s1;

	for (size_t i = 0; i < pages * words; i++)
		p[i] = svmt_pattern(7, i);
	s0 = svmt_stats();
	CHECK_OK(svm_launch(0, pages, kernel_add, &a));
	s1 = svmt_stats();
	/* taken during the launch, the device's at its end: one move each */
	CHECK_EQ(svmt_count_at(p, pages * pg, 0), pages);
	CHECK_EQ(s1.pages_to_device - s0.pages_to_device, pages);
	CHECK(s1.device_faults > s0.device_faults);
	/* on the device already: the next launch takes nothing */
	s0 = svmt_stats();
	CHECK_OK(svm_launch(0, pages, kernel_add, &a));
	s1 = svmt_stats();
	CHECK_EQ(s1.device_faults - s0.device_faults, 0);
	check_words(p, pages, 7, 6); /* the host pass brings them home */
	CHECK_EQ(svmt_count_at(p, pages * pg, SVM_HOST), pages);
	/* home again: taken again, and the host writes meanwhile count */
	for (size_t i = 0; i < pages; i++)
		p[i * words] += 100;
	CHECK_OK(svm_launch(0, pages, kernel_add, &a));
	for (size_t i = 0; i < pages; i++)
		p[i * words] -= 100;
	check_words(p, pages, 7, 9);
	CHECK_OK(svm_free(p));
	printf("ok: basic: %zu pages, three launches\n", pages);
}

/* ---- boundary ------------------------------------------------------------- */

enum kind { READ_OLD, WRITE_BACK, HOST_FIRST, NKINDS };

struct round {
	enum kind kind;
	uint64_t *p; /* the round's page; word 0 starts as `old` */
	uint64_t old, tag, seen0, seen1; /* seen*: by the device, after step 2 */
	uint64_t host_seen;               /* word 0, by the host, after step 1 */
	int step;
	int timed_out;
};

static void kernel_side(const svm_kernel_ctx_t *ctx, size_t i, void *arg)
{
	struct round *r = arg;
	volatile uint64_t *d = svm_device_ptr(ctx, r->p);

	(void)i;
	if (r->kind != HOST_FIRST)
		d[0] = r->tag; /* the device takes the page: a copy */
	__atomic_store_n(&r->step, 1, __ATOMIC_RELEASE);
	if (svmt_wait_step(&r->step, 2)) {
		r->timed_out = 1;
		return;
	}
	r->seen0 = d[0];
	r->seen1 = d[1];
}

static void *host_side(void *arg)
{
	struct round *r = arg;
	volatile uint64_t *h = r->p;

	if (svmt_wait_step(&r->step, 1)) {
		r->timed_out = 1;
		return NULL;
	}
	r->host_seen = h[0];
	if (r->kind != READ_OLD)
		h[1] = r->tag + 1;
	__atomic_store_n(&r->step, 2, __ATOMIC_RELEASE);
	return NULL;
}

static void boundary(void)
{
	size_t rounds = svmt_scaled(300);
	uint64_t *base = svmt_alloc(rounds * pg);

	for (size_t k = 0; k < rounds; k++)
		base[k * words] = 5000 + k;
	for (size_t k = 0; k < rounds; k++) {
		struct round r = { .kind = (enum kind)(k % NKINDS), .p = base + k * words,
				   .old = 5000 + k, .tag = 1000 * (k + 1) };
		pthread_t t;

		CHECK(pthread_create(&t, NULL, host_side, &r) == 0);
		CHECK_OK(svm_launch(0, 1, kernel_side, &r));
		CHECK(pthread_join(t, NULL) == 0);
		CHECK_MSG(!r.timed_out, "round %zu: a hand-off waited 10 s", k);
		/*
		 * The weaker promise itself: the device wrote word 0 before step
		 * 1, and the host, reading after it, still sees the word from
		 * before the launch (under SVM_COHERENCE=access it sees the
		 * device's).
		 */
		CHECK_MSG(r.host_seen == r.old, "round %zu (%s): during the launch the host read "
			  "%#llx, expected the bytes from before it, %#llx", k,
			  r.kind == HOST_FIRST ? "host first" : "after a device write",
			  (unsigned long long)r.host_seen, (unsigned long long)r.old);
		switch (r.kind) {
		case READ_OLD:
			CHECK_EQ(r.seen0, r.tag);
			CHECK_EQ(r.p[0], r.tag); /* visible at the launch's end */
			CHECK_EQ(r.p[1], 0);
			break;
		case WRITE_BACK:
			CHECK_EQ(r.seen0, r.tag);     /* its own write survived the write-back */
			CHECK_EQ(r.seen1, r.tag + 1); /* and it reads the host's */
			CHECK_EQ(r.p[0], r.tag);
			CHECK_EQ(r.p[1], r.tag + 1);
			break;
		case HOST_FIRST:
			CHECK_EQ(r.seen0, r.old);
			CHECK_EQ(r.seen1, r.tag + 1); /* the host's write before its access */
			CHECK_EQ(r.p[0], r.old);
			CHECK_EQ(r.p[1], r.tag + 1);
			break;
		default:
			break;
		}
	}
	CHECK_OK(svm_free(base));
	printf("ok: boundary: %zu rounds\n", rounds);
}

/* ---- hostfill -------------------------------------------------------------- */

#define FILL_BYTES (4u << 20)
#define CHUNK (2u << 20)
#define NEAR (128u << 10) /* the device's block, and room for its alignment */

struct fill {
	uint64_t *x;     /* the device touches one word per 2 MiB, the host the rest */
	uint64_t *y;     /* the host's alone */
	int done, step;
	int timed_out;
	uint64_t faults_x, faults_y;
};

/* Index i touches x at i * 2 MiB; index 0 then keeps the launch running. */
static void kernel_touch_chunks(const svm_kernel_ctx_t *ctx, size_t i, void *arg)
{
	struct fill *f = arg;
	volatile uint64_t *d = svm_device_ptr(ctx, f->x + i * (CHUNK / 8));

	d[0] += 1;
	__atomic_fetch_add(&f->done, 1, __ATOMIC_ACQ_REL);
	if (i == 0 && svmt_wait_step(&f->step, 1))
		f->timed_out = 1;
}

static bool near_device(size_t byte)
{
	size_t off = byte % CHUNK;

	return off < NEAR || off >= CHUNK - NEAR;
}

static void *filler(void *arg)
{
	struct fill *f = arg;
	svm_stats_t s0, s1, s2;

	if (svmt_wait_step(&f->done, (int)(FILL_BYTES / CHUNK))) {
		f->timed_out = 1;
		return NULL;
	}
	s0 = svmt_stats();
	for (size_t i = 0; i < FILL_BYTES / 8; i++)
		if (!near_device(i * 8))
			f->x[i] = svmt_pattern(9, i);
	s1 = svmt_stats();
	for (size_t i = 0; i < FILL_BYTES / 8; i++)
		f->y[i] = svmt_pattern(10, i);
	s2 = svmt_stats();
	f->faults_x = s1.cpu_faults - s0.cpu_faults;
	f->faults_y = s2.cpu_faults - s1.cpu_faults;
	__atomic_store_n(&f->step, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void hostfill(void)
{
	struct fill f = { .x = svmt_alloc(FILL_BYTES), .y = svmt_alloc(FILL_BYTES) };
	pthread_t t;

	memset(f.x, 0, FILL_BYTES);
	memset(f.y, 0, FILL_BYTES); /* host pages when the launch begins */
	CHECK(pthread_create(&t, NULL, filler, &f) == 0);
	CHECK_OK(svm_launch(0, FILL_BYTES / CHUNK, kernel_touch_chunks, &f));
	CHECK(pthread_join(t, NULL) == 0);
	CHECK_MSG(!f.timed_out, "the launch and the host's fill waited 10 s for each other");
	/*
	 * x: the device's first fault in each chunk protected the chunk; the
	 * host's first write there lifts the protection of the untaken run
	 * around it (the taken block may split a chunk in two runs).
	 */
	CHECK_MSG(f.faults_x <= 8, "filling 4 MiB the device had faulted in took %llu faults, "
		  "expected a few per 2 MiB chunk", (unsigned long long)f.faults_x);
	CHECK_MSG(f.faults_y == 0, "filling 4 MiB no device touched took %llu faults",
		  (unsigned long long)f.faults_y);
	for (size_t i = 0; i < FILL_BYTES / 8; i++) {
		if (!near_device(i * 8))
			CHECK_EQ(f.x[i], svmt_pattern(9, i));
		CHECK_EQ(f.y[i], svmt_pattern(10, i));
	}
	for (size_t c = 0; c < FILL_BYTES / CHUNK; c++)
		CHECK_EQ(f.x[c * (CHUNK / 8)], 1);
	CHECK_OK(svm_free(f.x));
	CHECK_OK(svm_free(f.y));
	printf("ok: hostfill: 4 MiB filled during a launch in %llu faults where the device "
	       "faulted, %llu elsewhere\n", (unsigned long long)f.faults_x,
	       (unsigned long long)f.faults_y);
}

/* ---- room ------------------------------------------------------------------ */

static void room(void)
{
	size_t pages = 1024; /* 4 MiB; CTest gives the device 1 MiB */
	uint64_t *p = svmt_alloc(pages * pg);
	struct add_args a = { p, 11 };

	for (size_t i = 0; i < pages * words; i++)
		p[i] = svmt_pattern(21, i);
	CHECK_OK(svm_launch(0, pages, kernel_add, &a));
	CHECK_OK(svm_launch(0, pages, kernel_add, &a));
	check_words(p, pages, 21, 22);
	CHECK_OK(svm_free(p));
	printf("ok: room: %zu pages through a smaller device, twice\n", pages);
}

/* ---- stream ---------------------------------------------------------------- */

/*
 * One launch over 8 MiB of host pages, every page written: a stream. By
 * default its faults take their pages until the density region reaches
 * SVM_LAUNCH_MOVE_MIN (512 KiB), then move the region (one flush per run
 * instead of two copies per page), so most pages arrive by moves during
 * the launch. `takes` (CTest: SVM_LAUNCH_MOVE_MIN=1G): every page taken,
 * none moved before the launch's end. Either way each page moves to the
 * device once and every word is there after.
 */
static void stream(bool takes)
{
	size_t pages = 2048;
	uint64_t *p = svmt_alloc(pages * pg);
	struct add_args a = { p, 5 };
	svm_stats_t s0, s1;
	unsigned long long taken;

	for (size_t i = 0; i < pages * words; i++)
		p[i] = svmt_pattern(31, i);
	s0 = svmt_stats();
	CHECK_OK(svm_launch(0, pages, kernel_add, &a));
	s1 = svmt_stats();
	taken = (unsigned long long)(s1.remote_accesses - s0.remote_accesses);
	CHECK_EQ(svmt_count_at(p, pages * pg, 0), pages);
	CHECK_EQ(s1.pages_to_device - s0.pages_to_device, pages);
	if (takes)
		CHECK_MSG(taken == pages, "%llu of %zu pages taken, expected all", taken, pages);
	else
		CHECK_MSG(taken <= pages / 2, "%llu of %zu pages of a stream taken, expected "
			  "most moved", taken, pages);
	check_words(p, pages, 31, 5);
	CHECK_OK(svm_free(p));
	printf("ok: stream%s: %zu pages, %llu taken, %llu device faults\n", takes ? " (takes)" : "",
	       pages, taken, (unsigned long long)(s1.device_faults - s0.device_faults));
}

/* ---- twodev ---------------------------------------------------------------- */

struct word_args {
	uint64_t *base;
	size_t word; /* which word of each page this device adds to */
};

static void kernel_word(const svm_kernel_ctx_t *ctx, size_t i, void *arg)
{
	const struct word_args *a = arg;
	uint64_t *d = svm_device_ptr(ctx, a->base + i * words);

	d[a->word] += 1;
}

struct launcher {
	int dev;
	size_t pages, reps;
	struct word_args a;
};

static void *launch_thread(void *arg)
{
	struct launcher *l = arg;

	for (size_t k = 0; k < l->reps; k++)
		CHECK_OK(svm_launch(l->dev, l->pages, kernel_word, &l->a));
	return NULL;
}

static void twodev(void)
{
	size_t pages = 256, reps = svmt_scaled(20);
	uint64_t *p = svmt_alloc(pages * pg);
	struct launcher l[2] = {
		{ 0, pages, reps, { p, 0 } },
		{ 1, pages, reps, { p, 1 } },
	};
	pthread_t t[2];

	if (svm_device_count() < 2)
		svmt_skip("twodev needs SVM_USER_DEVICES=2");
	for (size_t i = 0; i < pages * words; i++)
		p[i] = svmt_pattern(3, i);
	for (int d = 0; d < 2; d++)
		CHECK(pthread_create(&t[d], NULL, launch_thread, &l[d]) == 0);
	for (int d = 0; d < 2; d++)
		CHECK(pthread_join(t[d], NULL) == 0);
	for (size_t i = 0; i < pages * words; i++) {
		uint64_t want = svmt_pattern(3, i) + (i % words < 2 ? reps : 0);

		CHECK_MSG(p[i] == want, "word %zu of page %zu is %#llx, expected %#llx",
			  i % words, i / words, (unsigned long long)p[i],
			  (unsigned long long)want);
	}
	CHECK_OK(svm_free(p));
	printf("ok: twodev: %zu launches on each of two devices at once\n", reps);
}

/* ---- uring ------------------------------------------------------------------ */

#ifdef SVMT_HAVE_URING
#define URING_PAGES 16

struct uring_args {
	uint64_t *buf;
	int done;  /* device writes done (pages) */
	int step;  /* 1: the kernel's reads are in */
	int timed_out;
};

/* Word 0 of page i; index 0 then waits until the kernel wrote word 1 of each. */
static void kernel_pinned(const svm_kernel_ctx_t *ctx, size_t i, void *arg)
{
	struct uring_args *a = arg;
	uint64_t *d = svm_device_ptr(ctx, a->buf + i * words);

	d[0] = 0xd0d0000 + i;
	__atomic_fetch_add(&a->done, 1, __ATOMIC_ACQ_REL);
	if (i == 0 && svmt_wait_step(&a->step, 1))
		a->timed_out = 1;
}

static void uring_one(struct io_uring *ring, bool write, int fd, void *p, size_t len,
		      off_t off)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	struct io_uring_cqe *cqe;

	CHECK(sqe);
	if (write)
		io_uring_prep_write_fixed(sqe, fd, p, (unsigned)len, off, 0);
	else
		io_uring_prep_read_fixed(sqe, fd, p, (unsigned)len, off, 0);
	CHECK_EQ(io_uring_submit(ring), 1);
	CHECK_EQ(io_uring_wait_cqe(ring, &cqe), 0);
	CHECK_MSG(cqe->res == (int)len, "%s_FIXED returned %d, expected %zu",
		  write ? "WRITE" : "READ", cqe->res, len);
	io_uring_cqe_seen(ring, cqe);
}

struct uring_host {
	struct uring_args *a;
	struct io_uring *ring;
	int fd;
};

/* During the launch: once the device wrote every page, the kernel writes word 1 of each. */
static void *uring_host_side(void *arg)
{
	struct uring_host *u = arg;

	if (svmt_wait_step(&u->a->done, URING_PAGES)) {
		u->a->timed_out = 1;
		return NULL;
	}
	for (size_t i = 0; i < URING_PAGES; i++)
		uring_one(u->ring, false, u->fd, u->a->buf + i * words + 1, sizeof(uint64_t),
			  (off_t)(i * sizeof(uint64_t)));
	__atomic_store_n(&u->a->step, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void uring(void)
{
	size_t len = URING_PAGES * pg;
	uint64_t *buf = svmt_alloc(len), *out = malloc(len), from_file[URING_PAGES];
	struct uring_args a = { .buf = buf };
	struct io_uring ring;
	struct uring_host u = { &a, &ring, -1 };
	struct iovec iov = { buf, len };
	pthread_t t;
	int r;

	CHECK(out != NULL);
	for (size_t i = 0; i < URING_PAGES * words; i++)
		buf[i] = svmt_pattern(5, i);
	r = io_uring_queue_init(URING_PAGES, &ring, 0);
	if (r < 0)
		svmt_skip("io_uring is not available here: %s", strerror(-r));
	r = io_uring_register_buffers(&ring, &iov, 1);
	if (r < 0)
		svmt_skip("cannot register an io_uring buffer: %s (RLIMIT_MEMLOCK?)", strerror(-r));
	u.fd = memfd_create("svmrt-launch-uring", MFD_CLOEXEC);
	CHECK(u.fd >= 0);
	for (size_t i = 0; i < URING_PAGES; i++)
		from_file[i] = 0xf11e0000 + i;
	CHECK_EQ(pwrite(u.fd, from_file, sizeof(from_file), 0), (ssize_t)sizeof(from_file));

	CHECK(pthread_create(&t, NULL, uring_host_side, &u) == 0);
	CHECK_OK(svm_launch(0, URING_PAGES, kernel_pinned, &a));
	CHECK(pthread_join(t, NULL) == 0);
	CHECK_MSG(!a.timed_out, "the launch's hand-off with io_uring waited 10 s");
	for (size_t i = 0; i < URING_PAGES * words; i++) {
		size_t w = i % words, pgi = i / words;
		uint64_t want = w == 0 ? 0xd0d0000 + pgi : w == 1 ? from_file[pgi] :
					 svmt_pattern(5, i);

		CHECK_MSG(buf[i] == want, "page %zu word %zu is %#llx, expected %#llx (%s)", pgi,
			  w, (unsigned long long)buf[i], (unsigned long long)want,
			  w == 0 ? "the device's" : w == 1 ? "READ_FIXED's" : "untouched");
	}
	/* the pinned pages are still the program's: WRITE_FIXED writes what it sees */
	uring_one(&ring, true, u.fd, buf, len, 0);
	CHECK_EQ(pread(u.fd, out, len, 0), (ssize_t)len);
	CHECK_MSG(!memcmp(out, buf, len), "WRITE_FIXED wrote bytes the host does not see");
	CHECK_EQ(svmt_count_at(buf, len, SVM_HOST), URING_PAGES);
	CHECK_EQ(io_uring_unregister_buffers(&ring), 0);
	io_uring_queue_exit(&ring);
	close(u.fd);
	free(out);
	CHECK_OK(svm_free(buf));
	printf("ok: uring: %d pinned pages taken, written by the device and the kernel\n",
	       URING_PAGES);
}
#else
static void uring(void)
{
	svmt_skip("built without liburing (liburing-dev)");
}
#endif

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "basic";

	pg = svmt_page_size();
	words = pg / sizeof(uint64_t);
	svmt_init();
	svmt_skip_on_kshim("launch coherence is the user backend's");
	{
		const char *c = getenv("SVM_COHERENCE");

		if (!c || strcmp(c, "launch"))
			svmt_skip("SVM_COHERENCE is not launch here");
	}
	if (!strcmp(mode, "basic"))
		basic();
	else if (!strcmp(mode, "boundary"))
		boundary();
	else if (!strcmp(mode, "hostfill"))
		hostfill();
	else if (!strcmp(mode, "room"))
		room();
	else if (!strcmp(mode, "stream"))
		stream(false);
	else if (!strcmp(mode, "stream_takes"))
		stream(true);
	else if (!strcmp(mode, "twodev"))
		twodev();
	else if (!strcmp(mode, "uring"))
		uring();
	else
		FAIL("unknown mode %s", mode);
	CHECK_OK(svm_finalize());
	return 0;
}
