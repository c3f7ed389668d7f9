/* SPDX-License-Identifier: MIT */
/* The runtime's settings, read once by svm_init() from SVM_* variables. */
#ifndef SVM_CORE_CONFIG_H
#define SVM_CORE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Most user-backend fault-service threads (SVM_USER_FAULT_SERVERS). */
#define SVM__MAX_FAULT_SERVERS 16

enum svm__backend_choice {
	SVM__BACKEND_AUTO, SVM__BACKEND_KSHIM, SVM__BACKEND_USER, SVM__BACKEND_ZE,
};

struct svm__config {
	int backend;            /* enum svm__backend_choice */
	int log_level;          /* enum svm__log_level */
	uint64_t heap_size;
	uint64_t granularity;   /* migration block, power of two, 4K..2M */
	bool granularity_set;   /* SVM_GRANULARITY came from the environment */
	int prefetch;           /* enum svm__prefetch: after loading, OFF or DENSITY */
	int prefetch_threshold; /* density: percent, 1..100 */
	uint64_t prefetch_max;  /* density: largest region, bytes, power of two */
	int coherence;          /* enum svm__coherence */
	uint64_t launch_move_min; /* launch coherence: runs this long (bytes) move, not taken */
	int user_devices;
	uint64_t user_device_memory;
	int user_device_threads; /* 0: one per online CPU */
	int launch_chunk;        /* indices a launch worker takes at a time, 0: auto */
	int user_fault_cpu;      /* -1: unbound */
	int user_fault_servers;  /* fault-service threads (user backend) */
	char user_device_numa[128]; /* "spread" or a node per device */
	bool user_uffd_move;
	int user_device_faults;  /* 0 self (SIGBUS in the faulting worker), 1 server */
	int user_copy_home;      /* pages: a move home up to this copies, drop deferred */
	int user_pin_probe;      /* 0 auto, 1 always, 2 long-term (copy path: pins of others) */
	int fault_timeout_ms;    /* most a host access waits for its page, then abort */
	char user_service_fail[32]; /* test only: make the fault-service thread fail */
	char ze_loader[256];     /* ze backend: the Level Zero loader's file name */
	/* retry policy (runtime/policy/retry.c) */
	int retry_rounds;        /* retry rounds of one migration */
	int retry_budget_us;     /* time budget of one migration's retries */
	int retry_backoff_us;    /* first pause, doubles each round ... */
	int retry_backoff_max_us; /* ... up to this */
	bool retry_drain;        /* ask the backend to drain LRU caches between rounds */
	unsigned retry_classes;  /* bit f: pages failing with class f are retried */
	char inject[128];
	int thrash_window_us;    /* a move back within this is a thrash event */
	bool thrash;             /* thrashing mitigation on */
	int thrash_threshold;    /* thrash events in a row that put a page on hold */
	int thrash_hold_ms;      /* how long it is held */
	bool thrash_renew;       /* renew a hold while both sides use the page */
	char profile[256];       /* "", "1" or "json:FILE" */
	bool profile_callsites;
	char trace[256];         /* Chrome trace file, "" for none */
	char report[256];        /* HTML report file, "" for none */
	int trace_events;        /* trace ring capacity */        /* fault injection spec, "" for none */
};

enum svm__coherence { SVM__COHERENCE_ACCESS, SVM__COHERENCE_LAUNCH };

enum svm__prefetch { SVM__PREFETCH_AUTO, SVM__PREFETCH_OFF, SVM__PREFETCH_DENSITY };

enum svm__config_source { SVM__SRC_DEFAULT, SVM__SRC_ENV, SVM__SRC_BAD_ENV };

/* Fills cfg from the environment; bad values are logged and replaced. */
void svm__config_load(struct svm__config *cfg);

/* For svm-info: walks the table with each entry's current value. */
typedef void (*svm__config_visit_fn)(const char *name, const char *value,
				     const char *deflt, enum svm__config_source src,
				     const char *help, void *arg);
void svm__config_visit(svm__config_visit_fn fn, void *arg);

/* Parses "64K", "1G", "4096"; false on junk or overflow. */
bool svm__parse_size(const char *s, uint64_t *out);

#endif
