/* SPDX-License-Identifier: MIT */
/*
 * The table of every SVM_* environment variable. This is the only file of
 * svmrt that reads the environment; docs/configuration.md mirrors it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "../obs/log.h"

enum var_type { T_ENUM, T_INT, T_SIZE, T_BOOL, T_SET, T_STRING };

struct var {
	const char *name;
	enum var_type type;
	const char *deflt;
	size_t offset;      /* into struct svm__config */
	long long min, max; /* T_INT, T_SIZE */
	const char *choices; /* T_ENUM: "a|b|c", value is the index; T_SET: bit index */
	bool pow2;          /* T_SIZE: must be a power of two */
	const char *help;
};

#define OFF(f) offsetof(struct svm__config, f)

static const struct var table[] = {
	{ "SVM_BACKEND", T_ENUM, "auto", OFF(backend), 0, 0, "auto|kshim|user|ze", false,
	  "backend: auto picks kshim if a shim device exists, then ze, then user" },
	{ "SVM_LOG", T_ENUM, "warn", OFF(log_level), 0, 0, "error|warn|info|debug", false,
	  "log level of messages on stderr" },
	{ "SVM_HEAP_SIZE", T_SIZE, "64G", OFF(heap_size), 64 << 20, 1LL << 46, NULL, false,
	  "virtual size of the SVM heap that svm_alloc carves from (reserved, not committed)" },
	{ "SVM_GRANULARITY", T_SIZE, "64K", OFF(granularity), 4096, 2 << 20, NULL, true,
	  "migration block for faults: the aligned block around a faulting page moves as one" },
	{ "SVM_PREFETCH", T_ENUM, "auto", OFF(prefetch), 0, 0, "auto|off|density", false,
	  "what a fault brings besides its page: off (its SVM_GRANULARITY block) or density "
	  "(from a 4K page, or the SVM_GRANULARITY block when that is set, grow to the largest "
	  "aligned region of up to SVM_PREFETCH_MAX that is mostly at the destination "
	  "already); auto: "
	  "density unless SVM_GRANULARITY is set, then off" },
	{ "SVM_PREFETCH_THRESHOLD", T_INT, "50", OFF(prefetch_threshold), 1, 100, NULL, false,
	  "density prefetch: a region comes along when more than this percent of its pages "
	  "are at the destination (or faulting)" },
	{ "SVM_PREFETCH_MAX", T_SIZE, "64M", OFF(prefetch_max), 8192, 1LL << 30, NULL, true,
	  "density prefetch: the largest region one fault may bring along (a power of two)" },
	{ "SVM_COHERENCE", T_ENUM, "access", OFF(coherence), 0, 0, "access|launch", false,
	  "when the host sees what a launch's device code did to host pages: access (at "
	  "every access: each device fault moves its pages, the host never reads stale "
	  "bytes) or launch (user backend: device faults on host pages copy them and leave "
	  "the host pages in place, write-protected; the copies become the device's pages "
	  "when the launch ends; until then a host read sees the bytes from before the "
	  "launch, a host write first takes the device's bytes back: "
	  "docs/architecture.md, \"Launch coherence\")" },
	{ "SVM_LAUNCH_MOVE_MIN", T_SIZE, "512K", OFF(launch_move_min), 4096, 1LL << 30, NULL, true,
	  "launch coherence: a device fault whose block or density region is at least this "
	  "large moves its pages as under access coherence (one TLB flush for the run) "
	  "instead of copying them; 1G: always copy" },
	{ "SVM_USER_DEVICES", T_INT, "1", OFF(user_devices), 1, 16, NULL, false,
	  "user backend: number of emulated devices" },
	{ "SVM_USER_DEVICE_MEMORY", T_SIZE, "1G", OFF(user_device_memory), 64 << 10, 1LL << 40, NULL, false,
	  "user backend: memory capacity of each emulated device (K/M/G suffixes)" },
	{ "SVM_USER_DEVICE_THREADS", T_INT, "0", OFF(user_device_threads), 0, 1024, NULL, false,
	  "user and kshim backends: worker threads per device for svm_launch (0: one per online CPU)" },
	{ "SVM_LAUNCH_CHUNK", T_INT, "0", OFF(launch_chunk), 0, 1 << 20, NULL, false,
	  "user and kshim backends: consecutive svm_launch indices a worker takes at a time "
	  "(0: an eighth of a worker's share, at most 4096)" },
	{ "SVM_USER_DEVICE_NUMA", T_STRING, "spread", OFF(user_device_numa), 0, 127, NULL, false,
	  "user backend: host NUMA node of each device: spread (round robin) or a list like 1,0" },
	{ "SVM_USER_FAULT_CPU", T_INT, "-1", OFF(user_fault_cpu), -1, 4095, NULL, false,
	  "user backend: CPU the fault-service threads are bound to (-1: not bound)" },
	{ "SVM_USER_FAULT_SERVERS", T_INT, "1", OFF(user_fault_servers), 1, SVM__MAX_FAULT_SERVERS,
	  NULL, false, "user backend: fault-service threads, serving host faults (and device "
	  "faults with SVM_USER_DEVICE_FAULTS=server) on different pages at once" },
	{ "SVM_USER_DEVICE_FAULTS", T_ENUM, "self", OFF(user_device_faults), 0, 0, "self|server",
	  false, "user backend: who serves a fault on a device's memory: self (the faulting "
	  "worker, from a SIGBUS handler; device code then cannot pass device memory that is "
	  "not resident to a system call) or server (the fault-service threads)" },
	{ "SVM_USER_UFFD_MOVE", T_BOOL, "1", OFF(user_uffd_move), 0, 1, NULL, false,
	  "user backend: move pages with UFFDIO_MOVE when the kernel has it (0: always copy)" },
	{ "SVM_USER_COPY_HOME", T_INT, "1", OFF(user_copy_home), 0, 16, NULL, false,
	  "user backend: a move home of at most this many pages from a device that runs no "
	  "launch copies them (UFFDIO_COPY) and drops the device's copy later, in batches "
	  "(0: always move)" },
	{ "SVM_USER_PIN_PROBE", T_ENUM, "auto", OFF(user_pin_probe), 0, 0, "auto|always|long-term",
	  false, "user backend, copy path: when to look for pages pinned by others before copying "
	  "host pages away: auto is always on Linux 6.4+ (O_DIRECT pins) and long-term before; "
	  "always: before every copy; long-term: from the first long-term pin seen on (VmPin, a "
	  "probe), since VmPin lags behind the pins" },
	{ "SVM_USER_FAULT_TIMEOUT_MS", T_INT, "60000", OFF(fault_timeout_ms), 100, 86400000, NULL, false,
	  "user backend: a host access whose page cannot come home within this many ms "
	  "aborts the process with a message instead of waiting forever" },
	{ "SVM_USER_SERVICE_FAIL", T_STRING, "", OFF(user_service_fail), 0, 31, NULL, false,
	  "tests only: transient=N makes the fault-service thread's next N polls fail with "
	  "EINTR/EAGAIN/ENOMEM; fatal makes its next read fail with EIO; epoll makes each "
	  "server's epoll setup fail, so that it waits with poll(); writeback makes the next "
	  "in-place write-back of a pinned page fail to unprotect it" },
	{ "SVM_ZE_LOADER", T_STRING, "libze_loader.so.1", OFF(ze_loader), 0, 255, NULL, false,
	  "ze backend: file name (or path) of the Level Zero loader that svmrt dlopens" },
	{ "SVM_RETRY_ROUNDS", T_INT, "4", OFF(retry_rounds), 0, 100, NULL, false,
	  "most retry rounds one migration spends on pages that may still move" },
	{ "SVM_RETRY_BUDGET_US", T_INT, "20000", OFF(retry_budget_us), 0, 10000000, NULL, false,
	  "time budget of one migration's retry rounds, in microseconds, from the first retry" },
	{ "SVM_RETRY_BACKOFF_US", T_INT, "50", OFF(retry_backoff_us), 0, 1000000, NULL, false,
	  "pause before the first retry round in microseconds; doubles each round" },
	{ "SVM_RETRY_BACKOFF_MAX_US", T_INT, "2000", OFF(retry_backoff_max_us), 0, 1000000, NULL,
	  false, "longest pause between two retry rounds, in microseconds" },
	{ "SVM_RETRY_DRAIN", T_BOOL, "1", OFF(retry_drain), 0, 1, NULL, false,
	  "ask the backend to drain per-CPU LRU caches between retry rounds" },
	{ "SVM_RETRY_CLASSES", T_SET, "busy,no-memory", OFF(retry_classes), 0, 0,
	  "none|pinned|busy|no-memory|unsupported", false,
	  "failure classes that are retried (comma separated; empty or none: no retries)" },
	{ "SVM_PROFILE", T_STRING, "", OFF(profile), 0, 255, NULL, false,
	  "1: print a profile summary to stderr at exit; json:FILE: write it as JSON" },
	{ "SVM_PROFILE_CALLSITES", T_BOOL, "0", OFF(profile_callsites), 0, 1, NULL, false,
	  "record where each allocation was made, for the profile's top ranges" },
	{ "SVM_TRACE", T_STRING, "", OFF(trace), 0, 255, NULL, false,
	  "FILE: write a Chrome Trace Event JSON timeline (opens in Perfetto)" },
	{ "SVM_REPORT", T_STRING, "", OFF(report), 0, 255, NULL, false,
	  "FILE: write the visual report (one self-contained HTML file) at exit" },
	{ "SVM_TRACE_EVENTS", T_INT, "1048576", OFF(trace_events), 1024, 67108864, NULL, false,
	  "events the trace keeps in memory; older ones are dropped and counted" },
	{ "SVM_THRASH_WINDOW_US", T_INT, "100000", OFF(thrash_window_us), 0, 10000000, NULL, false,
	  "a page that moves again within this many microseconds counts as a thrash event" },
	{ "SVM_THRASH", T_BOOL, "1", OFF(thrash), 0, 1, NULL, false,
	  "thrashing mitigation: a page that keeps moving back and forth is held on the host "
	  "for a while, devices reach it in place (or read a copy)" },
	{ "SVM_THRASH_THRESHOLD", T_INT, "3", OFF(thrash_threshold), 1, 15, NULL, false,
	  "thrash events in a row (each within SVM_THRASH_WINDOW_US of the last move) that put "
	  "a page on hold" },
	{ "SVM_THRASH_HOLD_MS", T_INT, "200", OFF(thrash_hold_ms), 1, 3600000, NULL, false,
	  "how long a thrashing page is held on the host; after that it may move again "
	  "(unless SVM_THRASH_RENEW renews it: both sides still use it)" },
	{ "SVM_THRASH_RENEW", T_BOOL, "1", OFF(thrash_renew), 0, 1, NULL, false,
	  "user backend: renew a hold that runs out while both sides used the page during it "
	  "(the host's writes are watched: one write fault per 64 KiB and hold)" },
	{ "SVM_INJECT", T_STRING, "", OFF(inject), 0, 127, NULL, false,
	  "fault injection: class=C,percent=P[,seed=S][,direction=to-host|to-device][,count=N]; "
	  "C is busy, no-memory, pinned, unsupported or left-behind" },
};

#define NVARS (sizeof(table) / sizeof(table[0]))

/* what svm__config_load saw, for svm__config_visit */
static const char *seen[NVARS];
static enum svm__config_source source[NVARS];

bool svm__parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	if (!s || !*s || *s == '-')
		return false;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s)
		return false;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	}
	if ((*end == 'i' || *end == 'I') && shift) /* accept "KiB" too */
		end++;
	if ((*end == 'b' || *end == 'B') && shift)
		end++;
	if (*end)
		return false;
	if (shift && v > (~0ULL >> shift))
		return false;
	*out = v << shift;
	return true;
}

static bool parse_enum(const char *s, const char *choices, long long *out)
{
	long long i = 0;
	const char *c = choices;
	size_t n = strlen(s);

	while (*c) {
		size_t len = strcspn(c, "|");

		if (len == n && strncasecmp(c, s, n) == 0) {
			*out = i;
			return true;
		}
		c += len;
		if (*c == '|')
			c++;
		i++;
	}
	return false;
}

/* "a,b" over choices "x|a|b" -> bits 1 and 2; "" and "none" are empty */
static bool parse_set(const char *s, const char *choices, long long *out)
{
	char item[32];

	*out = 0;
	while (*s) {
		size_t len = strcspn(s, ",");
		long long bit;

		if (len >= sizeof(item))
			return false;
		memcpy(item, s, len);
		item[len] = 0;
		if (!parse_enum(item, choices, &bit))
			return false;
		if (bit > 0)
			*out |= 1LL << bit;
		s += len;
		if (*s == ',')
			s++;
	}
	return true;
}

static bool parse_value(const struct var *v, const char *s, long long *out)
{
	char *end;
	uint64_t u;

	switch (v->type) {
	case T_ENUM:
		return parse_enum(s, v->choices, out);
	case T_SET:
		return parse_set(s, v->choices, out);
	case T_STRING:
		*out = 0;
		return strlen(s) <= (size_t)v->max;
	case T_BOOL:
		if (!strcmp(s, "1") || !strcasecmp(s, "yes") || !strcasecmp(s, "on") ||
		    !strcasecmp(s, "true"))
			*out = 1;
		else if (!strcmp(s, "0") || !strcasecmp(s, "no") || !strcasecmp(s, "off") ||
			 !strcasecmp(s, "false"))
			*out = 0;
		else
			return false;
		return true;
	case T_INT:
		errno = 0;
		*out = strtoll(s, &end, 10);
		if (errno || end == s || *end)
			return false;
		break;
	case T_SIZE:
		if (!svm__parse_size(s, &u) || u > (uint64_t)v->max)
			return false;
		if (v->pow2 && (u & (u - 1)))
			return false;
		*out = (long long)u;
		break;
	}
	return v->type == T_SET || (*out >= v->min && *out <= v->max);
}

static void store(struct svm__config *cfg, const struct var *v, long long val, const char *s)
{
	char *field = (char *)cfg + v->offset;

	switch (v->type) {
	case T_STRING:
		snprintf(field, (size_t)v->max + 1, "%s", s);
		break;
	case T_SET:
		*(unsigned *)field = (unsigned)val;
		break;
	case T_ENUM:
	case T_INT:
		*(int *)field = (int)val;
		break;
	case T_BOOL:
		*(bool *)field = val != 0;
		break;
	case T_SIZE:
		*(uint64_t *)field = (uint64_t)val;
		break;
	}
}

static const char *describe(const struct var *v, char *buf, size_t len)
{
	switch (v->type) {
	case T_ENUM:
		snprintf(buf, len, "one of %s", v->choices);
		break;
	case T_BOOL:
		snprintf(buf, len, "0 or 1");
		break;
	case T_SET:
		snprintf(buf, len, "a comma-separated list of %s", v->choices);
		break;
	case T_STRING:
		snprintf(buf, len, "at most %lld characters", v->max);
		break;
	case T_INT:
		snprintf(buf, len, "an integer from %lld to %lld", v->min, v->max);
		break;
	case T_SIZE:
		snprintf(buf, len, "a size from %lld to %lld bytes (K/M/G suffixes)%s",
			 v->min, v->max, v->pow2 ? ", a power of two" : "");
		break;
	}
	return buf;
}

void svm__config_load(struct svm__config *cfg)
{
	bool granularity_set = false;

	memset(cfg, 0, sizeof(*cfg));
	/* SVM_LOG first, so that complaints about the others obey it */
	for (size_t pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < NVARS; i++) {
			const struct var *v = &table[i];
			bool is_log = v->offset == OFF(log_level);
			const char *env;
			long long val;
			char what[128];

			if (is_log != (pass == 0))
				continue;
			parse_value(v, v->deflt, &val);
			store(cfg, v, val, v->deflt);
			seen[i] = v->deflt;
			source[i] = SVM__SRC_DEFAULT;
			env = getenv(v->name);
			if (!env)
				continue;
			if (parse_value(v, env, &val)) {
				store(cfg, v, val, env);
				seen[i] = env;
				source[i] = SVM__SRC_ENV;
				if (v->offset == OFF(granularity))
					granularity_set = true;
			} else {
				source[i] = SVM__SRC_BAD_ENV;
				svm__warn("%s=\"%s\" is not valid (expected %s); using the default %s",
					  v->name, env, describe(v, what, sizeof(what)), v->deflt);
			}
			if (is_log)
				svm__log_level = cfg->log_level;
		}
	}
	/* a fixed block asked for keeps faults to that block unless density is asked too */
	if (cfg->prefetch == SVM__PREFETCH_AUTO)
		cfg->prefetch = granularity_set ? SVM__PREFETCH_OFF : SVM__PREFETCH_DENSITY;
	cfg->granularity_set = granularity_set;
}

void svm__config_visit(svm__config_visit_fn fn, void *arg)
{
	for (size_t i = 0; i < NVARS; i++)
		fn(table[i].name, seen[i] ? seen[i] : table[i].deflt, table[i].deflt,
		   source[i], table[i].help, arg);
}
