/* SPDX-License-Identifier: MIT */
/*
 * shim_params.h - the svmshim module's parameters, from a test: read and
 * write /sys/module/svmshim/parameters/<name>, and set its fault injection
 * in one go. Plain libc, so that both the static VM tests (tests/kshim,
 * tests/perf/kshim) and the runtime's tests (tests/retry) can use it.
 */
#ifndef SHIM_PARAMS_H
#define SHIM_PARAMS_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define KSHIM_PARAM_DIR "/sys/module/svmshim/parameters/"

/* inject_direction values */
#define KSHIM_INJECT_ANY	0
#define KSHIM_INJECT_TO_HOST	1
#define KSHIM_INJECT_TO_DEVICE	2

/* Writes parameter @name; 0 or -errno (-EINVAL for a value it refuses). */
static inline int kshim_param_set(const char *name, unsigned long long v)
{
	char path[128], buf[32];
	int f, len, ret;

	snprintf(path, sizeof(path), KSHIM_PARAM_DIR "%s", name);
	f = open(path, O_WRONLY | O_CLOEXEC);
	if (f < 0)
		return -errno;
	len = snprintf(buf, sizeof(buf), "%llu\n", v);
	ret = write(f, buf, len) == len ? 0 : -errno;
	close(f);
	return ret;
}

/* Parameter @name's value, or -1 when it cannot be read. */
static inline long kshim_param_get(const char *name)
{
	char path[128], buf[32];
	ssize_t len;
	int f;

	snprintf(path, sizeof(path), KSHIM_PARAM_DIR "%s", name);
	f = open(path, O_RDONLY | O_CLOEXEC);
	if (f < 0)
		return -1;
	len = read(f, buf, sizeof(buf) - 1);
	close(f);
	if (len <= 0)
		return -1;
	buf[len] = 0;
	return strtol(buf, NULL, 0);
}

/*
 * Sets every inject_* parameter, the class last so that no draw sees half
 * a setting; each write also resets inject_hits. 0, or -1 if one failed.
 */
static inline int kshim_inject(unsigned int cls, unsigned int pct,
			       unsigned long long seed, unsigned long long count,
			       unsigned int dir)
{
	if (kshim_param_set("inject_class", 0) ||
	    kshim_param_set("inject_count", count) ||
	    kshim_param_set("inject_seed", seed) ||
	    kshim_param_set("inject_percent", pct) ||
	    kshim_param_set("inject_direction", dir) ||
	    kshim_param_set("inject_class", cls))
		return -1;
	return 0;
}

#endif
