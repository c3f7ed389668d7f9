/* SPDX-License-Identifier: MIT */
/*
 * Data integrity through many migrations both ways. A seeded random walk
 * of host writes, device kernel writes, device kernel checksums, host
 * checks and prefetches of random ranges to random locations, against a
 * shadow copy in plain memory. Run with SVM_USER_UFFD_MOVE=1 and =0 (the
 * UFFDIO_MOVE and the UFFDIO_COPY paths), and with several devices.
 *
 * usage: test_integrity [rounds [seed]]  (rounds scaled by SVMT_SCALE_PERCENT)
 */
#define _GNU_SOURCE
#include "svmtest.h"

#define MIB (1u << 20)

static size_t pg, words_per_page, npages;
static uint64_t *svm, *shadow;
static int ndev;
static uint64_t rng;
static int verbose; /* SVMT_VERBOSE=1: print every step */

struct range {
	size_t first, count; /* in pages */
};

struct kargs {
	uint64_t *base; /* host address of the first page of the range */
	size_t words;   /* per page */
	uint64_t mul, add;
	uint64_t *sums; /* per page checksums (device pass) */
};

static void kernel_transform(const svm_kernel_ctx_t *ctx, size_t i, void *arg)
{
	struct kargs *a = arg;
	uint64_t *d = svm_device_ptr(ctx, a->base + i * a->words);

	for (size_t j = 0; j < a->words; j++)
		d[j] = d[j] * a->mul + a->add + j;
}

static void kernel_sum(const svm_kernel_ctx_t *ctx, size_t i, void *arg)
{
	struct kargs *a = arg;
	const uint64_t *d = svm_device_ptr(ctx, a->base + i * a->words);

	a->sums[i] = svmt_checksum(d, a->words * sizeof(uint64_t));
}

static struct range random_range(void)
{
	struct range r;
	size_t max = 1 + svmt_rand(&rng) % (npages / 2);

	r.first = svmt_rand(&rng) % npages;
	r.count = max;
	if (r.first + r.count > npages)
		r.count = npages - r.first;
	return r;
}

static int random_device(void)
{
	return (int)(svmt_rand(&rng) % (uint64_t)ndev);
}

static void host_write(struct range r)
{
	size_t n = 1 + svmt_rand(&rng) % 64;

	for (size_t k = 0; k < n; k++) {
		size_t page = r.first + svmt_rand(&rng) % r.count;
		size_t w = page * words_per_page +
			   svmt_rand(&rng) % words_per_page;
		uint64_t v = svmt_rand(&rng);

		svm[w] = v;
		shadow[w] = v;
	}
}

/* Every page of r must be owned by `location`; names the first that is not. */
static void expect_at(struct range r, int location)
{
	svm_page_info_t *info = calloc(r.count, sizeof(*info));

	CHECK(info != NULL);
	CHECK_OK(svm_query(svm + r.first * words_per_page, r.count * pg, info,
			   r.count));
	for (size_t i = 0; i < r.count; i++)
		CHECK_MSG(info[i].location == location,
			  "after a prefetch of pages [%zu, %zu) to %d that "
			  "returned SVM_OK, page %zu is at %d (copies %#x, "
			  "migrations %u, last failure %s)",
			  r.first, r.first + r.count, location, r.first + i,
			  info[i].location, info[i].copies,
			  info[i].migrations,
			  svm_failure_string(info[i].last_failure));
	free(info);
}

static void prefetch(struct range r, int location)
{
	svm_migrate_report_t rep;

	CHECK_OK(svm_prefetch(svm + r.first * words_per_page, r.count * pg,
			      location, &rep));
	CHECK_EQ(rep.pages, r.count);
	CHECK_EQ(rep.moved + rep.already, r.count);
	CHECK_EQ(rep.failed, 0);
	expect_at(r, location);
}

static void device_transform(struct range r, int dev)
{
	struct kargs a = {
		.base = svm + r.first * words_per_page,
		.words = words_per_page,
		.mul = svmt_rand(&rng) | 1,
		.add = svmt_rand(&rng),
	};

	CHECK_OK(svm_launch(dev, r.count, kernel_transform, &a));
	for (size_t i = r.first * words_per_page;
	     i < (r.first + r.count) * words_per_page; i++)
		shadow[i] = shadow[i] * a.mul + a.add + i % words_per_page;
}

static void device_check(struct range r, int dev)
{
	struct kargs a = {
		.base = svm + r.first * words_per_page,
		.words = words_per_page,
		.sums = calloc(r.count, sizeof(uint64_t)),
	};

	CHECK(a.sums != NULL);
	CHECK_OK(svm_launch(dev, r.count, kernel_sum, &a));
	for (size_t i = 0; i < r.count; i++) {
		const uint64_t *s = shadow + (r.first + i) * words_per_page;

		CHECK_MSG(a.sums[i] == svmt_checksum(s, pg),
			  "device %d sees page %zu with a wrong checksum", dev,
			  r.first + i);
	}
	free(a.sums);
}

static void host_check(struct range r)
{
	size_t lo = r.first * words_per_page;
	size_t hi = (r.first + r.count) * words_per_page;

	for (size_t i = lo; i < hi; i++)
		CHECK_MSG(svm[i] == shadow[i],
			  "word %zu (page %zu) is %016llx, expected %016llx", i,
			  i / words_per_page, (unsigned long long)svm[i],
			  (unsigned long long)shadow[i]);
}

static void step(unsigned round)
{
	struct range r = random_range();
	unsigned what = (unsigned)(svmt_rand(&rng) % 6);

	static const char *const names[] = {
		"host write", "prefetch to a device", "prefetch to the host",
		"device transform", "device check", "host check",
	};

	if (verbose)
		printf("round %u: %s, pages [%zu, %zu)\n", round, names[what],
		       r.first, r.first + r.count);
	switch (what) {
	case 0:
		host_write(r);
		break;
	case 1:
		prefetch(r, random_device());
		break;
	case 2:
		prefetch(r, SVM_HOST);
		break;
	case 3:
		device_transform(r, random_device());
		break;
	case 4:
		device_check(r, random_device());
		break;
	default:
		host_check(r);
		break;
	}
}

int main(int argc, char **argv)
{
	unsigned rounds = (unsigned)svmt_scaled(argc > 1 ? strtoul(argv[1], NULL, 0) : 200);
	uint64_t seed = argc > 2 ? strtoull(argv[2], NULL, 0) : 12345;
	size_t bytes = 8 * MIB;
	svm_stats_t st;

	pg = svmt_page_size();
	words_per_page = pg / sizeof(uint64_t);
	npages = bytes / pg;
	rng = seed;
	verbose = getenv("SVMT_VERBOSE") != NULL;
	svmt_init();
	ndev = svm_device_count();
	CHECK_GE(ndev, 1);

	svm = svmt_alloc(bytes);
	shadow = malloc(bytes);
	CHECK(shadow != NULL);
	for (size_t i = 0; i < bytes / sizeof(uint64_t); i++)
		svm[i] = shadow[i] = svmt_pattern(seed, i);

	for (unsigned r = 0; r < rounds; r++)
		step(r);

	/* Everything once more: on each device, then on the host. */
	for (int d = 0; d < ndev; d++)
		device_check((struct range){ 0, npages }, d);
	host_check((struct range){ 0, npages });
	CHECK(memcmp(svm, shadow, bytes) == 0);

	st = svmt_stats();
	printf("%u rounds, seed %llu, %d device(s): %llu pages to devices, "
	       "%llu to host, %llu CPU faults, %llu device faults\n",
	       rounds, (unsigned long long)seed, ndev,
	       (unsigned long long)st.pages_to_device,
	       (unsigned long long)st.pages_to_host,
	       (unsigned long long)st.cpu_faults,
	       (unsigned long long)st.device_faults);
	CHECK(st.pages_to_device > 0 && st.pages_to_host > 0);
	CHECK(st.cpu_faults > 0 && st.device_faults > 0);
	CHECK_OK(svm_free(svm));
	free(shadow);
	CHECK_OK(svm_finalize());
	printf("integrity: ok\n");
	return 0;
}
