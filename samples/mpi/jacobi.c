/* SPDX-License-Identifier: MIT */
/*
 * jacobi - a distributed 2-D Jacobi stencil over MPI, on SVM memory that
 * lives on a device when MPI gets it.
 *
 *   mpirun -np N ./jacobi [columns, default 8192] [rows, default 32]
 *                         [iterations, default 20]
 *
 * The global grid (rows x columns of int64) is cut into N blocks of whole
 * rows, one per rank, each with a halo row above and below. Every rank
 * allocates its block with svm_alloc and updates it with device kernels
 * (svm_launch) on device local_rank % svm_device_count(). Each iteration:
 *
 *   1. the halo exchange straight from and into the SVM rows, which are
 *      prefetched to the device first: MPI_Sendrecv, then the stencil
 *      kernel (one index per row) on every row (even iterations); or
 *      MPI_Isend/MPI_Irecv, the stencil on the inner rows while the
 *      messages are in flight (so device faults and the transport's
 *      copies meet on the rows being sent), MPI_Waitall, the stencil on
 *      the first and last row (odd iterations);
 *   2. two more kernels: the column sums of the new block and the block's
 *      residual (sum of |new - old|);
 *   3. MPI_Allreduce of [column sums, residual] with both buffers in SVM
 *      memory on the device (the send buffer was written by the kernels,
 *      the receive buffer is prefetched there).
 *
 * At the end rank 0 gathers the whole grid with MPI_Gather into an SVM
 * buffer on its device. Every rank repeats the computation serially on the
 * whole grid in plain malloc memory and compares, exactly (integer
 * arithmetic), each iteration's reduced column sums and residual, its own
 * rows at the end, and (rank 0) the gathered grid.
 *
 * With Open MPI's shared-memory transport (vader) messages above its eager
 * limit (4 KiB) are copied by the kernel between the two processes
 * (CMA: process_vm_readv/writev), so the kernel's copy routines and its
 * short-term pins meet pages that sit on a device. Rows are 64 KiB by
 * default, well above that limit.
 *
 * Rank 0 prints per rank what moved (svm_stats) and how many of the pages
 * handed to MPI were on the device at the time (svm_query). Exit 0 when
 * every rank agrees with the serial computation, 1 otherwise, 77 when
 * there is no device to run kernels on.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mpi.h>
#include <svmrt.h>

#define COLCHUNK 1024 /* columns per index of the column-sum kernel */

static size_t W;     /* columns */
static size_t G;     /* global rows (without the two boundary rows) */
static size_t nloc;  /* rows of this rank */
static int rank, nranks, device;

/* The fixed start and boundary values: a hash of the position, 20 bits. */
static int64_t start_value(long grow, size_t col)
{
	uint64_t x = (uint64_t)(grow + 1) * 0x9E3779B97F4A7C15ull + col;

	x ^= x >> 30;
	x *= 0xBF58476D1CE4E5B9ull;
	x ^= x >> 27;
	x *= 0x94D049BB133111EBull;
	x ^= x >> 31;
	return (int64_t)(x & 0xFFFFF);
}

/* One row of the update; the same code for the device and the reference. */
static int64_t update_row(int64_t *out, const int64_t *up, const int64_t *mid,
			  const int64_t *down)
{
	int64_t diff = 0;

	out[0] = mid[0];
	out[W - 1] = mid[W - 1];
	for (size_t j = 1; j + 1 < W; j++) {
		int64_t v = (4 * mid[j] + up[j] + down[j] + mid[j - 1] + mid[j + 1]) >> 3;

		out[j] = v;
		diff += v > mid[j] ? v - mid[j] : mid[j] - v;
	}
	return diff;
}

/* ---- device kernels ---------------------------------------------------- */

struct step_args {
	int64_t *cur, *nxt; /* (nloc + 2) rows of W */
	int64_t *rowres;    /* nloc residuals */
	int64_t *red;       /* W column sums, then the residual */
	size_t first;       /* the stencil kernel's index 0 is block row first + 1 */
};

static void stencil_kernel(const svm_kernel_ctx_t *ctx, size_t i, void *arg)
{
	struct step_args *a = arg;
	size_t r = a->first + i + 1;
	const int64_t *up = svm_device_ptr(ctx, a->cur + (r - 1) * W);
	const int64_t *mid = svm_device_ptr(ctx, a->cur + r * W);
	const int64_t *down = svm_device_ptr(ctx, a->cur + (r + 1) * W);
	int64_t *out = svm_device_ptr(ctx, a->nxt + r * W);
	int64_t *res = svm_device_ptr(ctx, a->rowres + r - 1);

	*res = update_row(out, up, mid, down);
}

static void colsum_kernel(const svm_kernel_ctx_t *ctx, size_t k, void *arg)
{
	struct step_args *a = arg;
	size_t lo = k * COLCHUNK, hi = lo + COLCHUNK < W ? lo + COLCHUNK : W;
	int64_t *sum = svm_device_ptr(ctx, a->red + lo);

	for (size_t j = 0; j < hi - lo; j++)
		sum[j] = 0;
	for (size_t r = 1; r <= nloc; r++) {
		const int64_t *row = svm_device_ptr(ctx, a->nxt + r * W + lo);

		for (size_t j = 0; j < hi - lo; j++)
			sum[j] += row[j];
	}
}

static void residual_kernel(const svm_kernel_ctx_t *ctx, size_t k, void *arg)
{
	struct step_args *a = arg;
	const int64_t *rr = svm_device_ptr(ctx, a->rowres);
	int64_t *out = svm_device_ptr(ctx, a->red + W);
	int64_t s = 0;

	(void)k;
	for (size_t i = 0; i < nloc; i++)
		s += rr[i];
	*out = s;
}

/* ---- helpers ------------------------------------------------------------ */

static int failed;

static void __attribute__((format(printf, 1, 2))) fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "jacobi: rank %d: ", rank);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	failed = 1;
}

static int svm_ok(svm_result_t r, const char *what)
{
	if (r == SVM_OK || r == SVM_PARTIAL)
		return 1;
	fprintf(stderr, "jacobi: rank %d: %s: %s\n", rank, what, svm_result_string(r));
	failed = 1;
	return 0;
}

static int mpi_ok(int rc, const char *what)
{
	char msg[MPI_MAX_ERROR_STRING];
	int len = 0;

	if (rc == MPI_SUCCESS)
		return 1;
	MPI_Error_string(rc, msg, &len);
	fprintf(stderr, "jacobi: rank %d: %s: %s\n", rank, what, msg);
	failed = 1;
	return 0;
}

static size_t page_size;

/* Moves the whole pages around [p, p + bytes) to `where`. */
static void prefetch(const void *p, size_t bytes, int where, const char *what)
{
	uintptr_t lo = (uintptr_t)p & ~(page_size - 1);
	uintptr_t hi = ((uintptr_t)p + bytes + page_size - 1) & ~(page_size - 1);

	svm_ok(svm_prefetch((const void *)lo, hi - lo, where, NULL), what);
}

/* Pages handed to MPI, and how many of them sat on a device then. */
struct handoff {
	uint64_t pages, on_device;
};

static void count_resident(struct handoff *h, const void *p, size_t bytes)
{
	uintptr_t lo = (uintptr_t)p & ~(page_size - 1);
	uintptr_t hi = ((uintptr_t)p + bytes + page_size - 1) & ~(page_size - 1);
	size_t n = (hi - lo) / page_size;
	svm_page_info_t *info = calloc(n, sizeof(*info));

	if (!info) {
		fail("out of memory for svm_query");
		return;
	}
	if (svm_ok(svm_query((const void *)lo, hi - lo, info, n), "svm_query"))
		for (size_t i = 0; i < n; i++) {
			h->pages++;
			h->on_device += info[i].location != SVM_HOST;
		}
	free(info);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- the halo exchange --------------------------------------------------- */

/* The stencil on block rows [first + 1, first + count]. */
static void stencil(struct step_args *a, size_t first, size_t count)
{
	a->first = first;
	if (count)
		svm_ok(svm_launch(device, count, stencil_kernel, a), "svm_launch(stencil)");
}

/*
 * Blocking iterations exchange, then update every row. Nonblocking ones
 * post the four messages, update the rows that need no halo while they
 * are in flight (those kernels read the two rows being sent, which MPI
 * allows), wait, then update the first and the last row.
 */
static void exchange_and_update(struct step_args *a, int nonblocking, struct handoff *h)
{
	int64_t *g = a->cur;
	int up = rank > 0 ? rank - 1 : MPI_PROC_NULL;
	int down = rank + 1 < nranks ? rank + 1 : MPI_PROC_NULL;
	int count = (int)W;
	int64_t *top_send = g + W, *top_recv = g;
	int64_t *bot_send = g + nloc * W, *bot_recv = g + (nloc + 1) * W;
	size_t rb = W * sizeof(*g);

	/* The four rows live on the device when MPI gets them. */
	if (up != MPI_PROC_NULL) {
		prefetch(top_recv, 2 * rb, device, "svm_prefetch(top rows)");
		count_resident(h, top_recv, 2 * rb);
	}
	if (down != MPI_PROC_NULL) {
		prefetch(bot_send, 2 * rb, device, "svm_prefetch(bottom rows)");
		count_resident(h, bot_send, 2 * rb);
	}
	if (!nonblocking) {
		/* downward: my last row to the rank below, my top halo from above */
		mpi_ok(MPI_Sendrecv(bot_send, count, MPI_INT64_T, down, 1,
				    top_recv, count, MPI_INT64_T, up, 1,
				    MPI_COMM_WORLD, MPI_STATUS_IGNORE), "MPI_Sendrecv(down)");
		mpi_ok(MPI_Sendrecv(top_send, count, MPI_INT64_T, up, 2,
				    bot_recv, count, MPI_INT64_T, down, 2,
				    MPI_COMM_WORLD, MPI_STATUS_IGNORE), "MPI_Sendrecv(up)");
		stencil(a, 0, nloc);
		return;
	}
	MPI_Request rq[4];

	mpi_ok(MPI_Irecv(top_recv, count, MPI_INT64_T, up, 1, MPI_COMM_WORLD, &rq[0]), "MPI_Irecv");
	mpi_ok(MPI_Irecv(bot_recv, count, MPI_INT64_T, down, 2, MPI_COMM_WORLD, &rq[1]), "MPI_Irecv");
	mpi_ok(MPI_Isend(bot_send, count, MPI_INT64_T, down, 1, MPI_COMM_WORLD, &rq[2]), "MPI_Isend");
	mpi_ok(MPI_Isend(top_send, count, MPI_INT64_T, up, 2, MPI_COMM_WORLD, &rq[3]), "MPI_Isend");
	if (nloc > 2)
		stencil(a, 1, nloc - 2);
	mpi_ok(MPI_Waitall(4, rq, MPI_STATUSES_IGNORE), "MPI_Waitall");
	stencil(a, 0, 1);
	if (nloc > 1)
		stencil(a, nloc - 1, 1);
}

/* ---- the serial reference -------------------------------------------------- */

struct reference {
	int64_t *cur, *nxt; /* (G + 2) rows of W, plain memory */
	int64_t *colsum;    /* W */
	int64_t residual;
};

static int reference_init(struct reference *s)
{
	s->cur = malloc((G + 2) * W * sizeof(int64_t));
	s->nxt = malloc((G + 2) * W * sizeof(int64_t));
	s->colsum = malloc(W * sizeof(int64_t));
	if (!s->cur || !s->nxt || !s->colsum)
		return -1;
	for (size_t r = 0; r < G + 2; r++)
		for (size_t j = 0; j < W; j++)
			s->cur[r * W + j] = s->nxt[r * W + j] = start_value((long)r - 1, j);
	return 0;
}

static void reference_step(struct reference *s)
{
	int64_t *t;

	s->residual = 0;
	for (size_t r = 1; r <= G; r++)
		s->residual += update_row(s->nxt + r * W, s->cur + (r - 1) * W,
					  s->cur + r * W, s->cur + (r + 1) * W);
	for (size_t j = 0; j < W; j++)
		s->colsum[j] = 0;
	for (size_t r = 1; r <= G; r++)
		for (size_t j = 0; j < W; j++)
			s->colsum[j] += s->nxt[r * W + j];
	t = s->cur, s->cur = s->nxt, s->nxt = t;
}

/* ---- main -------------------------------------------------------------------- */

static size_t arg(int argc, char **argv, int i, size_t def)
{
	return argc > i ? strtoul(argv[i], NULL, 0) : def;
}

int main(int argc, char **argv)
{
	size_t iters, mism_red = 0, mism_rows = 0, mism_gather = 0;
	struct handoff halo = { 0 }, red_send = { 0 }, red_recv = { 0 }, gath = { 0 };
	struct reference ref;
	struct step_args a;
	svm_stats_t st0, st1;
	int64_t *gathered = NULL;
	int local_rank = 0, ndev = 0, skip = 0, inited;
	MPI_Comm node;
	double t0, t1;

	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &nranks);
	MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &node);
	MPI_Comm_rank(node, &local_rank);
	MPI_Comm_free(&node);
	page_size = (size_t)sysconf(_SC_PAGESIZE);

	W = arg(argc, argv, 1, 8192);
	G = arg(argc, argv, 2, 32);
	iters = arg(argc, argv, 3, 20);
	if (W < 3 || W > (1u << 24) || G == 0 || G % (size_t)nranks || iters == 0) {
		if (rank == 0)
			fprintf(stderr, "jacobi: need 3 <= columns <= 2^24, rows a multiple of "
				"the %d ranks, iterations > 0\n", nranks);
		MPI_Finalize();
		return 2;
	}
	nloc = G / (size_t)nranks;

	inited = svm_init() == SVM_OK;
	if (!inited || (ndev = svm_device_count()) < 1)
		skip = 1;
	MPI_Allreduce(MPI_IN_PLACE, &skip, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
	if (skip) {
		if (rank == 0)
			printf("SKIP: a rank has no svmrt device to run kernels on "
			       "(svm_init failed or no device; see SVM_BACKEND)\n");
		if (inited)
			svm_finalize();
		MPI_Finalize();
		return 77;
	}
	device = local_rank % ndev;

	size_t gbytes = (nloc + 2) * W * sizeof(int64_t);

	memset(&a, 0, sizeof(a));
	if (!svm_ok(svm_alloc((void **)&a.cur, gbytes), "svm_alloc(cur)") ||
	    !svm_ok(svm_alloc((void **)&a.nxt, gbytes), "svm_alloc(nxt)") ||
	    !svm_ok(svm_alloc((void **)&a.rowres, nloc * sizeof(int64_t)), "svm_alloc(rowres)") ||
	    !svm_ok(svm_alloc((void **)&a.red, (W + 1) * sizeof(int64_t)), "svm_alloc(red)"))
		MPI_Abort(MPI_COMM_WORLD, 1);
	int64_t *glob;

	if (!svm_ok(svm_alloc((void **)&glob, (W + 1) * sizeof(int64_t)), "svm_alloc(glob)"))
		MPI_Abort(MPI_COMM_WORLD, 1);
	if (rank == 0 &&
	    !svm_ok(svm_alloc((void **)&gathered, G * W * sizeof(int64_t)), "svm_alloc(gathered)"))
		MPI_Abort(MPI_COMM_WORLD, 1);
	if (reference_init(&ref)) {
		fail("out of memory for the reference");
		MPI_Abort(MPI_COMM_WORLD, 1);
	}

	/* Block rows r = 0..nloc+1 are global rows rank*nloc - 1 + r; the
	 * halo rows of the edge ranks are the fixed boundary. */
	for (size_t r = 0; r < nloc + 2; r++)
		for (size_t j = 0; j < W; j++)
			a.cur[r * W + j] = a.nxt[r * W + j] =
				start_value((long)(rank * nloc + r) - 1, j);
	/* Everything starts on the device. */
	prefetch(a.cur, gbytes, device, "svm_prefetch(cur)");
	prefetch(a.nxt, gbytes, device, "svm_prefetch(nxt)");

	MPI_Barrier(MPI_COMM_WORLD);
	svm_stats(&st0);
	t0 = now();
	for (size_t it = 0; it < iters && !failed; it++) {
		exchange_and_update(&a, (int)(it & 1), &halo);
		svm_ok(svm_launch(device, (W + COLCHUNK - 1) / COLCHUNK, colsum_kernel, &a),
		       "svm_launch(colsum)");
		svm_ok(svm_launch(device, 1, residual_kernel, &a), "svm_launch(residual)");

		/* sendbuf written by the kernels, recvbuf moved there now */
		prefetch(glob, (W + 1) * sizeof(int64_t), device, "svm_prefetch(glob)");
		count_resident(&red_send, a.red, (W + 1) * sizeof(int64_t));
		count_resident(&red_recv, glob, (W + 1) * sizeof(int64_t));
		mpi_ok(MPI_Allreduce(a.red, glob, (int)(W + 1), MPI_INT64_T, MPI_SUM,
				     MPI_COMM_WORLD), "MPI_Allreduce");

		reference_step(&ref);
		for (size_t j = 0; j < W; j++)
			mism_red += glob[j] != ref.colsum[j];
		if (glob[W] != ref.residual) {
			mism_red++;
			fail("iteration %zu: residual %" PRId64 ", serial %" PRId64, it,
			     glob[W], ref.residual);
		}
		int64_t *t = a.cur;

		a.cur = a.nxt, a.nxt = t;
	}
	t1 = now();

	/* The whole grid to rank 0, from device pages into device pages. */
	prefetch(a.cur + W, nloc * W * sizeof(int64_t), device, "svm_prefetch(rows)");
	count_resident(&gath, a.cur + W, nloc * W * sizeof(int64_t));
	if (rank == 0) {
		prefetch(gathered, G * W * sizeof(int64_t), device, "svm_prefetch(gathered)");
		count_resident(&gath, gathered, G * W * sizeof(int64_t));
	}
	mpi_ok(MPI_Gather(a.cur + W, (int)(nloc * W), MPI_INT64_T, gathered,
			  (int)(nloc * W), MPI_INT64_T, 0, MPI_COMM_WORLD), "MPI_Gather");
	svm_stats(&st1);

	for (size_t r = 1; r <= nloc; r++)
		for (size_t j = 0; j < W; j++)
			mism_rows += a.cur[r * W + j] != ref.cur[(rank * nloc + r) * W + j];
	if (rank == 0)
		for (size_t i = 0; i < G * W; i++)
			mism_gather += gathered[i] != ref.cur[W + i];
	if (mism_red)
		fail("%zu reduced values differ from the serial run", mism_red);
	if (mism_rows)
		fail("%zu values of the final block differ from the serial run", mism_rows);
	if (mism_gather)
		fail("%zu values of the gathered grid differ from the serial run", mism_gather);
	if (st1.pages_to_device == st0.pages_to_device)
		fail("no page moved to the device");
	if (halo.on_device + red_send.on_device + red_recv.on_device == 0)
		fail("no page handed to MPI was on the device; the run proves nothing");

	/* Per rank, printed by rank 0 in rank order. */
	enum { F_CPU, F_DEV, P_TODEV, P_TOHOST, PINNED, BUSY, REMOTE, H_PAGES, H_DEV, RS_PAGES,
	       RS_DEV, RR_PAGES, RR_DEV, G_PAGES, G_DEV, US, FAILED, NF };
	uint64_t mine[NF] = {
		st1.cpu_faults - st0.cpu_faults, st1.device_faults - st0.device_faults,
		st1.pages_to_device - st0.pages_to_device, st1.pages_to_host - st0.pages_to_host,
		st1.failures_by[SVM_FAILURE_PINNED] - st0.failures_by[SVM_FAILURE_PINNED],
		st1.failures_by[SVM_FAILURE_BUSY] - st0.failures_by[SVM_FAILURE_BUSY],
		st1.remote_accesses - st0.remote_accesses,
		halo.pages, halo.on_device, red_send.pages, red_send.on_device,
		red_recv.pages, red_recv.on_device, gath.pages, gath.on_device,
		(uint64_t)((t1 - t0) * 1e6), (uint64_t)failed,
	};
	uint64_t *all = rank == 0 ? calloc((size_t)nranks * NF, sizeof(uint64_t)) : NULL;

	if (rank == 0 && !all)
		MPI_Abort(MPI_COMM_WORLD, 1);
	MPI_Gather(mine, NF, MPI_UINT64_T, all, NF, MPI_UINT64_T, 0, MPI_COMM_WORLD);
	int any = failed;

	MPI_Allreduce(MPI_IN_PLACE, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
	if (rank == 0) {
		svm_device_props_t p;

		svm_device_props(device, &p);
		printf("jacobi: %d ranks, %zu x %zu int64 grid (%zu rows each, rows of %zu KiB), "
		       "%zu iterations, backend %s\n", nranks, G, W, nloc,
		       W * sizeof(int64_t) >> 10, iters, p.backend);
		for (int r = 0; r < nranks; r++) {
			uint64_t *v = all + (size_t)r * NF;

			printf("rank %d: %" PRIu64 " ms; faults: %" PRIu64 " cpu, %" PRIu64
			       " device; pages moved: %" PRIu64 " to the device, %" PRIu64
			       " to the host; not moved: %" PRIu64 " pinned, %" PRIu64 " busy, %"
			       PRIu64 " served in place; on the device when MPI got them: halo rows %" PRIu64
			       "/%" PRIu64 ", allreduce send %" PRIu64 "/%" PRIu64 ", recv %" PRIu64
			       "/%" PRIu64 ", gather %" PRIu64 "/%" PRIu64 "%s\n", r,
			       v[US] / 1000, v[F_CPU], v[F_DEV], v[P_TODEV], v[P_TOHOST],
			       v[PINNED], v[BUSY], v[REMOTE],
			       v[H_DEV], v[H_PAGES], v[RS_DEV], v[RS_PAGES], v[RR_DEV], v[RR_PAGES],
			       v[G_DEV], v[G_PAGES], v[FAILED] ? "  FAILED" : "");
		}
		printf("%s: every rank %s the serial computation (reductions each iteration, "
		       "final rows, gathered grid)\n", any ? "FAIL" : "PASS",
		       any ? "does not match" : "matches");
	}
	free(all);
	free(ref.cur);
	free(ref.nxt);
	free(ref.colsum);
	svm_free(a.cur);
	svm_free(a.nxt);
	svm_free(a.rowres);
	svm_free(a.red);
	svm_free(glob);
	if (gathered)
		svm_free(gathered);
	svm_finalize();
	MPI_Finalize();
	return any ? 1 : 0;
}
