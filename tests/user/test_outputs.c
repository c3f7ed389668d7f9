/* SPDX-License-Identifier: MIT */
/*
 * Every output argument of the API may live in SVM memory, wherever that
 * memory is at the time of the call: on the host, on device 0, on device 1,
 * pinned (svm_pin), served in place (accessed-by), read-duplicated
 * (read-mostly after a device read). The call completes and its result is
 * there. The canonical case is a linked list kept in SVM memory:
 * svm_alloc((void **)&node->next, n) with node on a device.
 *
 * A call that hangs (an entry point storing its result while it holds a
 * lock the fault service needs) is caught by a watchdog that names the
 * call and fails the test.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdbool.h>

#include "svmtest.h"

#define WATCHDOG_S 30
#define DATA_PAGES 8

/* One page of SVM memory that receives every kind of output. */
struct box {
	struct box *next;
	svm_stats_t stats;
	svm_device_props_t props;
	svm_migrate_report_t report;
	svm_page_info_t info[DATA_PAGES];
};

enum place { HOST, DEV0, DEV1, PINNED, ACCESSED_BY, READ_DUP, NPLACES };
static const char *const place_name[NPLACES] = {
	"host", "device 0", "device 1", "pinned", "accessed-by (in place)", "read-duplicated",
};

static volatile sig_atomic_t step_len;
static char step[160];

static void on_alarm(int sig)
{
	static const char pre[] = "FAIL: hang: ";
	static const char post[] = " did not return within the watchdog\n";

	(void)sig;
	if (write(2, pre, sizeof(pre) - 1) < 0 || write(2, step, (size_t)step_len) < 0 ||
	    write(2, post, sizeof(post) - 1) < 0)
		_exit(1);
	_exit(1);
}

static void begin(const char *what, enum place pl)
{
	int n = snprintf(step, sizeof(step), "%s with its output %s", what, place_name[pl]);

	step_len = n < (int)sizeof(step) ? n : (int)sizeof(step) - 1;
	alarm(WATCHDOG_S);
}

static void end(void)
{
	alarm(0);
}

static void kernel_read(const svm_kernel_ctx_t *ctx, size_t i, void *arg)
{
	const volatile uint64_t *p = svm_device_ptr(ctx, (const char *)arg + i * 64);

	(void)*p;
}

static int ndev;
static bool user_backend;

/* The box's page, queried without touching it. */
static svm_page_info_t where(const struct box *b)
{
	svm_page_info_t info;

	CHECK_OK(svm_query(b, svmt_page_size(), &info, 1));
	return info;
}

/* Puts the box's page where `pl` says; false if this machine cannot. */
static bool place(struct box *b, enum place pl)
{
	svm_page_info_t info;

	switch (pl) {
	case HOST:
		CHECK_OK(svm_prefetch(b, svmt_page_size(), SVM_HOST, NULL));
		CHECK_EQ(where(b).location, SVM_HOST);
		return true;
	case DEV0:
	case DEV1: {
		int d = pl == DEV0 ? 0 : 1;

		if (d >= ndev)
			return false;
		CHECK_OK(svm_prefetch(b, svmt_page_size(), d, NULL));
		CHECK_EQ(where(b).location, d);
		return true;
	}
	case PINNED:
		CHECK_OK(svm_pin(b, svmt_page_size()));
		CHECK_EQ(where(b).location, SVM_HOST);
		return true;
	case ACCESSED_BY:
		CHECK_OK(svm_prefetch(b, svmt_page_size(), SVM_HOST, NULL));
		CHECK_OK(svm_advise(b, svmt_page_size(), SVM_ADVISE_SET_ACCESSED_BY, 0));
		CHECK_OK(svm_launch(0, 4, kernel_read, b));
		CHECK_EQ(where(b).location, SVM_HOST);
		return true;
	case READ_DUP:
		CHECK_OK(svm_prefetch(b, svmt_page_size(), SVM_HOST, NULL));
		CHECK_OK(svm_advise(b, svmt_page_size(), SVM_ADVISE_SET_READ_MOSTLY, 0));
		CHECK_OK(svm_launch(0, 4, kernel_read, b));
		info = where(b);
		if (user_backend) /* the user backend keeps a read-only host copy */
			CHECK_MSG(info.copies == 3, "read-mostly page has copies %#x, expected "
				  "host and device 0", info.copies);
		return true;
	case NPLACES:
		break;
	}
	return false;
}

static void unplace(struct box *b, enum place pl)
{
	if (pl == PINNED)
		CHECK_OK(svm_unpin(b, svmt_page_size()));
	else if (pl == ACCESSED_BY)
		CHECK_OK(svm_advise(b, svmt_page_size(), SVM_ADVISE_UNSET_ACCESSED_BY, 0));
	else if (pl == READ_DUP)
		CHECK_OK(svm_advise(b, svmt_page_size(), SVM_ADVISE_UNSET_READ_MOSTLY, 0));
}

static void outputs_at(struct box *b, enum place pl, uint64_t *data)
{
	svm_device_props_t props;
	svm_page_info_t info[DATA_PAGES];
	svm_stats_t s;
	size_t bytes = DATA_PAGES * svmt_page_size();
	int dev = ndev > 1 ? 1 : 0;

	if (!place(b, pl)) {
		printf("  %-24s not here (%d device(s))\n", place_name[pl], ndev);
		return;
	}
	unplace(b, pl);
	printf("  %-24s", place_name[pl]);

	/* svm_alloc: the linked-list case, node->next */
	CHECK(place(b, pl));
	b->next = NULL;
	CHECK(place(b, pl));
	begin("svm_alloc(&node->next)", pl);
	CHECK_OK(svm_alloc((void **)&b->next, svmt_page_size()));
	end();
	CHECK(b->next != NULL);
	b->next->next = b; /* the new node is usable memory */
	CHECK(b->next->next == b);
	CHECK_OK(svm_free(b->next));
	unplace(b, pl);

	/* svm_stats and svm_device_stats */
	CHECK(place(b, pl));
	begin("svm_stats", pl);
	CHECK_OK(svm_stats(&b->stats));
	end();
	CHECK_OK(svm_stats(&s));
	CHECK_EQ(b->stats.launches, s.launches);
	CHECK(b->stats.prefetches <= s.prefetches && b->stats.prefetches > 0);
	unplace(b, pl);

	CHECK(place(b, pl));
	memset(&s, 0xa5, sizeof(s));
	begin("svm_device_stats", pl);
	CHECK_OK(svm_device_stats(0, &b->stats));
	end();
	CHECK_OK(svm_device_stats(0, &s));
	CHECK(b->stats.device_faults <= s.device_faults);
	CHECK(b->stats.pages_to_device <= s.pages_to_device);
	unplace(b, pl);

	/* svm_device_props */
	CHECK(place(b, pl));
	begin("svm_device_props", pl);
	CHECK_OK(svm_device_props(dev, &b->props));
	end();
	CHECK_OK(svm_device_props(dev, &props));
	CHECK(!memcmp(&b->props, &props, sizeof(props)));
	unplace(b, pl);

	/* svm_prefetch's report, of another allocation */
	CHECK(place(b, pl));
	begin("svm_prefetch(report)", pl);
	CHECK_OK(svm_prefetch(data, bytes, dev, &b->report));
	end();
	CHECK_EQ(b->report.pages, DATA_PAGES);
	CHECK_EQ(b->report.failed, 0);
	CHECK_EQ(b->report.moved + b->report.already, DATA_PAGES);
	unplace(b, pl);

	/* svm_query's array, of that allocation (all on `dev` now) */
	CHECK(place(b, pl));
	begin("svm_query(pages)", pl);
	CHECK_OK(svm_query(data, bytes, b->info, DATA_PAGES));
	end();
	CHECK_OK(svm_query(data, bytes, info, DATA_PAGES));
	for (size_t i = 0; i < DATA_PAGES; i++) {
		CHECK_EQ(b->info[i].location, dev);
		CHECK_EQ(b->info[i].location, info[i].location);
	}
	unplace(b, pl);

	/* the box queried and prefetched into itself */
	CHECK(place(b, pl));
	begin("svm_query of its own page", pl);
	CHECK_OK(svm_query(b, svmt_page_size(), b->info, 1));
	end();
	CHECK(b->info[0].location == SVM_HOST || b->info[0].location == (int)pl - (int)DEV0);
	unplace(b, pl);
	if (pl != PINNED && pl != READ_DUP) {
		CHECK(place(b, pl));
		begin("svm_prefetch of its own page", pl);
		svm_result_t r = svm_prefetch(b, svmt_page_size(), 0, &b->report);

		end();
		/* an accessed-by page may stay where it is (PARTIAL, reported) */
		CHECK_MSG(r == SVM_OK || r == SVM_PARTIAL, "svm_prefetch: %s", svm_result_string(r));
		CHECK_EQ(b->report.pages, 1);
		CHECK_EQ(b->report.moved + b->report.already + b->report.failed, 1);
		CHECK_EQ(b->report.failed != 0, r == SVM_PARTIAL);
		if (r == SVM_PARTIAL)
			printf(" [own-page prefetch: %zu pinned %zu busy]", b->report.failed_by[SVM_FAILURE_PINNED], b->report.failed_by[SVM_FAILURE_BUSY]);
		/*
		 * Not pinned now (the pinned placement, with its svm_unpin,
		 * came earlier): no stale pinned mark may make it PINNED
		 * (issue 15; retry.pinned_io.stale checks the same at length).
		 * Checked on the user backend; on kshim (a real kernel pin) it
		 * is printed above until a VM run has confirmed it there too.
		 */
		if (user_backend)
			CHECK_EQ(b->report.failed_by[SVM_FAILURE_PINNED], 0);
		unplace(b, pl);
	}
	printf(" ok\n");
}

int main(void)
{
	struct sigaction sa;
	uint64_t *data;
	struct box *b;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	svmt_default_env("SVM_USER_DEVICES", "2");
	svmt_init();
	ndev = svm_device_count();
	CHECK(ndev >= 1);
	user_backend = !strcmp(svmt_backend(), "user");
	CHECK(sizeof(struct box) <= svmt_page_size());
	b = svmt_alloc(svmt_page_size());
	data = svmt_alloc(DATA_PAGES * svmt_page_size());
	for (size_t i = 0; i < DATA_PAGES * svmt_page_size() / 8; i++)
		data[i] = svmt_pattern(15, i);

	printf("outputs in SVM memory (%s backend, %d device(s)):\n", svmt_backend(), ndev);
	/* a fresh page for each place: one's advice and marks do not leak
	 * into the next */
	for (int pl = 0; pl < NPLACES; pl++) {
		struct box *fresh = svmt_alloc(svmt_page_size());

		outputs_at(fresh, (enum place)pl, data);
		CHECK_OK(svm_free(fresh));
	}

	/* a list of nodes in SVM memory, each allocated through the previous
	 * node's next field while that node lives on a device */
	struct box *head = b, *n = b;

	for (int i = 0; i < 16; i++) {
		n->next = NULL;
		CHECK_OK(svm_prefetch(n, svmt_page_size(), i % ndev, NULL));
		begin("svm_alloc(&node->next) down a list", (enum place)(DEV0 + (i % ndev)));
		CHECK_OK(svm_alloc((void **)&n->next, svmt_page_size()));
		end();
		n = n->next;
	}
	n->next = NULL;
	int len = 0;

	for (n = head->next; n; n = n->next)
		len++;
	CHECK_EQ(len, 16);
	for (n = head->next; n;) {
		struct box *next = n->next;

		CHECK_OK(svm_free(n));
		n = next;
	}
	for (size_t i = 0; i < DATA_PAGES * svmt_page_size() / 8; i++)
		CHECK_MSG(data[i] == svmt_pattern(15, i), "data word %zu lost", i);
	CHECK_OK(svm_free(data));
	CHECK_OK(svm_free(b));
	CHECK_OK(svm_finalize());
	printf("PASS\n");
	return 0;
}
