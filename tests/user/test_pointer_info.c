/* SPDX-License-Identifier: MIT */
/*
 * svm_pointer_info (shared/design.md, issue 17): for any pointer inside a
 * live allocation, its base, its size as allocated and where the page
 * holding the pointer lives now; SVM_ERROR_INVALID_ARGUMENT for anything
 * else (NULL, freed, stack, malloc, past the end, a device's view) and
 * for info == NULL.
 *
 * The location is checked at every place a page can be: never touched,
 * host, device 0, device 1, pinned, accessed-by (served in place) and
 * read-duplicated, against what svm_query says of the same page. And the
 * output itself is put at each of those places (issue 15's rule: computed
 * under the lock, stored after it), with a watchdog that names a hang.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdbool.h>

#include "svmtest.h"

#define WATCHDOG_S 30

enum place { UNTOUCHED, HOST, DEV0, DEV1, PINNED, ACCESSED_BY, READ_DUP, NPLACES };
static const char *const place_name[NPLACES] = {
	"never touched", "host", "device 0", "device 1",
	"pinned", "accessed-by (in place)", "read-duplicated",
};

static int ndev;
static size_t page;

static void on_alarm(int sig)
{
	static const char msg[] = "FAIL: hang: svm_pointer_info did not return within the "
				  "watchdog\n";

	(void)sig;
	if (write(2, msg, sizeof(msg) - 1) < 0)
		_exit(1);
	_exit(1);
}

static void kernel_read(const svm_kernel_ctx_t *ctx, size_t i, void *arg)
{
	const volatile uint64_t *p = svm_device_ptr(ctx, (const char *)arg + i * 64);

	(void)*p;
}

/* Device code records the device's address of arg (its view). */
static void *volatile view_addr;
static void kernel_view(const svm_kernel_ctx_t *ctx, size_t i, void *arg)
{
	if (i == 0)
		view_addr = svm_device_ptr(ctx, arg);
}

/* The location svm_query gives the page holding p. */
static int query_loc(const void *p)
{
	svm_page_info_t info;
	uintptr_t pg = (uintptr_t)p & ~(uintptr_t)(page - 1);

	CHECK_OK(svm_query((const void *)pg, page, &info, 1));
	return info.location;
}

/* Puts the page at p (page aligned) at `pl`; false if this machine cannot. */
static bool place(char *p, enum place pl)
{
	switch (pl) {
	case UNTOUCHED:
		return true;
	case HOST:
		CHECK_OK(svm_prefetch(p, page, SVM_HOST, NULL));
		return true;
	case DEV0:
	case DEV1: {
		int d = (int)pl - (int)DEV0;

		if (d >= ndev)
			return false;
		CHECK_OK(svm_prefetch(p, page, d, NULL));
		CHECK_EQ(query_loc(p), d);
		return true;
	}
	case PINNED:
		CHECK_OK(svm_pin(p, page));
		return true;
	case ACCESSED_BY:
		CHECK_OK(svm_prefetch(p, page, SVM_HOST, NULL));
		CHECK_OK(svm_advise(p, page, SVM_ADVISE_SET_ACCESSED_BY, 0));
		CHECK_OK(svm_launch(0, 4, kernel_read, p));
		return true;
	case READ_DUP:
		CHECK_OK(svm_prefetch(p, page, SVM_HOST, NULL));
		CHECK_OK(svm_advise(p, page, SVM_ADVISE_SET_READ_MOSTLY, 0));
		CHECK_OK(svm_launch(0, 4, kernel_read, p));
		return true;
	case NPLACES:
		break;
	}
	return false;
}

static void unplace(char *p, enum place pl)
{
	if (pl == PINNED)
		CHECK_OK(svm_unpin(p, page));
	else if (pl == ACCESSED_BY)
		CHECK_OK(svm_advise(p, page, SVM_ADVISE_UNSET_ACCESSED_BY, 0));
	else if (pl == READ_DUP)
		CHECK_OK(svm_advise(p, page, SVM_ADVISE_UNSET_READ_MOSTLY, 0));
}

/* svm_pointer_info(p) must say base, bytes and the page's location now. */
static void expect(const void *p, const void *base, size_t bytes, int loc)
{
	svm_pointer_info_t info;

	memset(&info, 0x5a, sizeof(info));
	CHECK_OK(svm_pointer_info(p, &info));
	CHECK_MSG(info.base == base, "svm_pointer_info(%p): base %p, expected %p", p, info.base,
		  base);
	CHECK_EQ(info.bytes, bytes);
	CHECK_MSG(info.location == loc, "svm_pointer_info(%p): location %d, expected %d", p,
		  info.location, loc);
}

static void expect_inval(const void *p, const char *what)
{
	svm_pointer_info_t info, before;

	memset(&info, 0x5a, sizeof(info));
	before = info;
	CHECK_MSG(svm_pointer_info(p, &info) == SVM_ERROR_INVALID_ARGUMENT,
		  "svm_pointer_info(%s = %p) is not SVM_ERROR_INVALID_ARGUMENT", what, p);
	CHECK_MSG(!memcmp(&info, &before, sizeof(info)), "svm_pointer_info(%s) wrote its output",
		  what);
}

/* The location at every place, seen through pointers into that page. */
static void locations(void)
{
	size_t bytes = 3 * page + 100; /* the last page only partly allocated */

	printf("locations:\n");
	for (int pl = 0; pl < NPLACES; pl++) {
		char *x = svmt_alloc(bytes);
		char *mid = x + page; /* the second page is placed, the others stay */

		if (!place(mid, (enum place)pl)) {
			printf("  %-24s not here (%d device(s))\n", place_name[pl], ndev);
			CHECK_OK(svm_free(x));
			continue;
		}
		int loc = query_loc(mid);

		if (pl == UNTOUCHED || pl == HOST || pl == PINNED || pl == ACCESSED_BY)
			CHECK_EQ(loc, SVM_HOST);
		else if (pl == DEV0 || pl == DEV1)
			CHECK_EQ(loc, pl - (int)DEV0);
		/* first byte, interior bytes, any alignment, last byte of the page */
		expect(mid, x, bytes, loc);
		expect(mid + 1, x, bytes, loc);
		expect(mid + page / 2 + 3, x, bytes, loc);
		expect(mid + page - 1, x, bytes, loc);
		/* the pages around it did not move */
		expect(x, x, bytes, query_loc(x));
		expect(x + page - 1, x, bytes, query_loc(x));
		expect(x + 2 * page, x, bytes, query_loc(x + 2 * page));
		/* the last byte as allocated; one past it is not inside */
		expect(x + bytes - 1, x, bytes, query_loc(x + bytes - 1));
		expect_inval(x + bytes, "one past the end (same page)");
		expect_inval(x + 3 * page + page - 1, "the last page's slack");
		printf("  %-24s location %d ok\n", place_name[pl], loc);
		unplace(mid, (enum place)pl);
		CHECK_OK(svm_free(x));
		expect_inval(mid, "freed");
		expect_inval(x, "freed base");
	}
}

/* Pointers that are not inside a live allocation. */
static void outside(void)
{
	int on_stack = 0;
	char *heap = malloc(64);
	svm_pointer_info_t info;
	char *a, *b;

	CHECK(heap);
	expect_inval(NULL, "NULL");
	expect_inval(&on_stack, "a stack variable");
	expect_inval(heap, "malloc memory");
	expect_inval((const void *)outside, "a function");
	expect_inval((const void *)UINTPTR_MAX, "UINTPTR_MAX");
	free(heap);

	/* a whole-page allocation: one past its end is the next one or a gap */
	a = svmt_alloc(2 * page);
	b = svmt_alloc(page);
	CHECK_OK(svm_prefetch(a, 2 * page, 0, NULL));
	expect(a + 2 * page - 1, a, 2 * page, 0);
	if (a + 2 * page == b) {
		expect(a + 2 * page, b, page, query_loc(b));
	} else {
		info.base = NULL;
		svm_result_t r = svm_pointer_info(a + 2 * page, &info);

		CHECK_MSG(r == SVM_ERROR_INVALID_ARGUMENT || (r == SVM_OK && info.base != a),
			  "one past a 2-page allocation reported as inside it");
	}
	expect(b, b, page, query_loc(b));

	/* info == NULL, valid pointer or not */
	CHECK_INVAL(svm_pointer_info(a, NULL));
	CHECK_INVAL(svm_pointer_info(NULL, NULL));

	/* the device's view of a: the device's address, not the host's */
	view_addr = NULL;
	CHECK_OK(svm_launch(0, 1, kernel_view, a));
	CHECK(view_addr != NULL);
	if (view_addr != (void *)a) {
		expect_inval(view_addr, "device 0's view of an allocation");
		expect_inval((char *)view_addr + page, "device 0's view, second page");
	}
	/* an output in freed SVM memory or in a device's view */
	CHECK_OK(svm_free(b));
	CHECK_INVAL(svm_pointer_info(a, (svm_pointer_info_t *)b));
	if (view_addr != (void *)a)
		CHECK_INVAL(svm_pointer_info(a, (svm_pointer_info_t *)view_addr));
	/* an output running past the end of its allocation */
	CHECK_INVAL(svm_pointer_info(a, (svm_pointer_info_t *)(a + 2 * page - 8)));
	CHECK_OK(svm_free(a));
	printf("outside any allocation: ok\n");
}

/* The output itself at every place, also inside the page it asks about. */
static void outputs(void)
{
	char *data = svmt_alloc(4 * page);

	CHECK_OK(svm_prefetch(data, 4 * page, ndev > 1 ? 1 : 0, NULL));
	printf("output in SVM memory:\n");
	for (int pl = 0; pl < NPLACES; pl++) {
		char *box = svmt_alloc(page);
		svm_pointer_info_t *out = (svm_pointer_info_t *)(box + 40); /* not at the page's start */

		if (!place(box, (enum place)pl)) {
			printf("  %-24s not here\n", place_name[pl]);
			CHECK_OK(svm_free(box));
			continue;
		}
		int dloc = query_loc(data + page);

		alarm(WATCHDOG_S);
		CHECK_OK(svm_pointer_info(data + page + 5, out));
		alarm(0);
		CHECK(out->base == data);
		CHECK_EQ(out->bytes, 4 * page);
		CHECK_EQ(out->location, dloc);
		unplace(box, (enum place)pl);

		/* about its own page: the answer is where the page was when asked */
		CHECK(place(box, (enum place)pl));
		int bloc = query_loc(box);

		alarm(WATCHDOG_S);
		CHECK_OK(svm_pointer_info(box + 7, out));
		alarm(0);
		CHECK(out->base == box);
		CHECK_EQ(out->bytes, page);
		CHECK_MSG(out->location == bloc || out->location == SVM_HOST,
			  "own page: location %d, was %d", out->location, bloc);
		unplace(box, (enum place)pl);
		printf("  %-24s ok\n", place_name[pl]);
		CHECK_OK(svm_free(box));
	}
	CHECK_OK(svm_free(data));
}

int main(void)
{
	struct sigaction sa;
	svm_pointer_info_t info;
	char stack[64];

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	page = svmt_page_size();
	CHECK_NOINIT(svm_pointer_info(stack, &info));
	svmt_default_env("SVM_USER_DEVICES", "2");
	svmt_init();
	ndev = svm_device_count();
	CHECK(ndev >= 1);
	printf("svm_pointer_info (%s backend, %d device(s))\n", svmt_backend(), ndev);

	locations();
	outside();
	outputs();

	/* a large allocation (2 MiB aligned): pages far inside it */
	size_t big = (4u << 20) + 12345;
	char *x = svmt_alloc(big);

	CHECK_OK(svm_prefetch(x + (3u << 20), page, 0, NULL));
	expect(x + (3u << 20) + 17, x, big, 0);
	expect(x + (1u << 20), x, big, query_loc(x + (1u << 20)));
	expect(x + big - 1, x, big, query_loc(x + big - 1));
	expect_inval(x + big, "one past a large allocation");
	CHECK_OK(svm_free(x));

	CHECK_OK(svm_finalize());
	CHECK_NOINIT(svm_pointer_info(stack, &info));
	printf("PASS\n");
	return 0;
}
