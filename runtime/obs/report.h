/* SPDX-License-Identifier: MIT */
/*
 * The visual report (docs/report.md): one self-contained HTML file made
 * from trace events. The runtime makes it at exit (SVM_REPORT=FILE) from
 * its trace ring; svm-report makes the same from an SVM_TRACE file.
 */
#ifndef SVM_CORE_REPORT_H
#define SVM_CORE_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "svmrt.h"
#include "profile.h"

#define SVM__REPORT_MAX_DEVICES 16

/* The svm_stats_t counters, in the order the trace and the report name them. */
#define SVM__STATS_FIELDS(X)                                                         \
	X(cpu_faults) X(device_faults) X(pages_to_device) X(pages_to_host)           \
	X(bytes_to_device) X(bytes_to_host) X(move_attempts) X(retries) X(evictions) \
	X(thrash_events) X(read_duplicates) X(collapses) X(remote_accesses)          \
	X(prefetches) X(launches) X(fault_service_ns) X(fault_service_max_ns)        \
	X(move_ns_to_device) X(move_ns_to_host) X(device_resident_bytes)            \
	X(prefetched_pages) X(prefetched_evicted) X(thrash_holds) X(thrash_held_faults)

/* A range known without its alloc event (live at exit, or from otherData). */
struct svm__report_range {
	uint64_t start, pages, bytes;
	char site[128];
};

struct svm__report_in {
	const char *backend;
	const char *source;  /* what it was made from, shown in the header */
	int ndev;
	char dev_names[SVM__REPORT_MAX_DEVICES][96];
	bool have_stats;     /* total and dev[] are the runtime's final svm_stats */
	svm_stats_t total, dev[SVM__REPORT_MAX_DEVICES];
	double seconds;      /* run time, 0 if unknown */
	struct svm__event *ev; /* reordered by time in place */
	size_t nev;
	uint64_t dropped;    /* events the ring lost */
	const struct svm__report_range *ranges;
	size_t nranges;
	/* the name of an alloc event's site (runtime: a code address; tool: a string index) */
	void (*site_name)(uint64_t site, char *buf, size_t len, void *arg);
	void *site_arg;
};

/* Writes the report to path; 0, or -1 after saying why on stderr. */
int svm__report_write(const char *path, struct svm__report_in *in);

/* A JSON string with everything outside printable ASCII and <>& escaped. */
void svm__json_string(FILE *f, const char *s);

/* A svm_stats_t as a JSON object: SVM__STATS_FIELDS, then failures_by[]. */
void svm__json_stats(FILE *f, const svm_stats_t *s);

#endif
