/* SPDX-License-Identifier: MIT */
/*
 * hello - the smallest svmrt program.
 *
 * Allocates shared memory, fills it on the host, runs a device kernel that
 * transforms it in place, reads the result back on the host and checks it.
 * Along the way it prints where the pages live and what moved.
 *
 *   SVM_LOG=info ./hello
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <svmrt.h>

#define COUNT (1u << 20) /* numbers: 4 MiB of uint32_t */

struct square_args {
	uint32_t *data;   /* host address; the kernel asks for its own view */
	size_t per_index; /* numbers handled by one index */
};

/* Device code: index i squares its slice of the numbers and adds one. */
static void square_plus_one(const svm_kernel_ctx_t *ctx, size_t i, void *arg)
{
	struct square_args *a = arg;
	uint32_t *d = svm_device_ptr(ctx, a->data + i * a->per_index);

	for (size_t k = 0; k < a->per_index; k++)
		d[k] = d[k] * d[k] + 1;
}

static int check(svm_result_t r, const char *what)
{
	if (r == SVM_OK)
		return 0;
	fprintf(stderr, "hello: %s failed: %s\n", what, svm_result_string(r));
	return -1;
}

/* Prints how many pages of the buffer sit where. */
static void where(const char *when, const void *p, size_t bytes)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t n = (bytes + page - 1) / page, host = 0, dev = 0, fresh = 0;
	svm_page_info_t *info = calloc(n, sizeof(*info));

	if (!info || svm_query(p, bytes, info, n) != SVM_OK) {
		free(info);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (info[i].copies == 0)
			fresh++;
		else if (info[i].location == SVM_HOST)
			host++;
		else
			dev++;
	}
	printf("  %-28s %zu pages on the host, %zu on a device, "
	       "%zu never touched\n", when, host, dev, fresh);
	free(info);
}

static void moved(const char *what, const svm_stats_t *a, const svm_stats_t *b)
{
	printf("  %-28s %" PRIu64 " pages went to the device "
	       "(%" PRIu64 " device faults), %" PRIu64 " came back "
	       "(%" PRIu64 " CPU faults)\n",
	       what, b->pages_to_device - a->pages_to_device,
	       b->device_faults - a->device_faults,
	       b->pages_to_host - a->pages_to_host,
	       b->cpu_faults - a->cpu_faults);
}

int main(void)
{
	svm_device_props_t props;
	svm_stats_t s0, s1, s2;
	struct square_args args;
	uint32_t *data = NULL;
	size_t bytes = COUNT * sizeof(uint32_t), bad = 0;

	if (check(svm_init(), "svm_init"))
		return 1;
	if (check(svm_device_props(0, &props), "svm_device_props"))
		return 1;
	printf("svmrt hello: %d device(s); device 0 is \"%s\" (%s backend, "
	       "%" PRIu64 " MiB, %u threads)\n",
	       svm_device_count(), props.name, props.backend,
	       props.memory_bytes >> 20, props.compute_threads);

	if (check(svm_alloc((void **)&data, bytes), "svm_alloc"))
		return 1;
	printf("allocated %zu MiB of shared memory at %p\n", bytes >> 20,
	       (void *)data);
	where("after svm_alloc:", data, bytes);

	for (uint32_t i = 0; i < COUNT; i++)
		data[i] = i % 40000;
	where("after the host filled it:", data, bytes);

	svm_stats(&s0);
	args.data = data;
	args.per_index = 4096;
	if (check(svm_launch(0, COUNT / args.per_index, square_plus_one, &args),
		  "svm_launch"))
		return 1;
	svm_stats(&s1);
	where("after the device kernel:", data, bytes);
	moved("the kernel's faults:", &s0, &s1);

	for (uint32_t i = 0; i < COUNT; i++) {
		uint32_t x = i % 40000;

		bad += data[i] != x * x + 1;
	}
	svm_stats(&s2);
	where("after the host read it:", data, bytes);
	moved("the host's faults:", &s1, &s2);

	if (bad) {
		printf("WRONG: %zu of %u numbers are not x*x+1\n", bad, COUNT);
		return 1;
	}
	printf("all %u numbers are x*x+1: the device and the host shared one "
	       "pointer\n", COUNT);
	printf("fault service: %" PRIu64 " us in total, longest %" PRIu64
	       " us\n", s2.fault_service_ns / 1000,
	       s2.fault_service_max_ns / 1000);

	if (check(svm_free(data), "svm_free") ||
	    check(svm_finalize(), "svm_finalize"))
		return 1;
	return 0;
}
