/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kshim_util.h - small helpers for the svmshim VM tests and benchmark:
 * find the render node, wrap the ioctls, fill and check patterns.
 */
#ifndef KSHIM_UTIL_H
#define KSHIM_UTIL_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "svmshim.h"

#define KPAGE 4096UL

/* Open the svmshim render node (DRM_IOCTL_VERSION name == "svmshim"). */
static inline int kshim_open(void)
{
	char path[64], name[64];
	int minor, fd;

	for (minor = 128; minor < 192; minor++) {
		struct drm_version v;

		snprintf(path, sizeof(path), "/dev/dri/renderD%d", minor);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		memset(&v, 0, sizeof(v));
		memset(name, 0, sizeof(name));
		v.name = name;
		v.name_len = sizeof(name) - 1;
		if (ioctl(fd, DRM_IOCTL_VERSION, &v) == 0 &&
		    strcmp(name, SVMSHIM_DRIVER_NAME) == 0)
			return fd;
		close(fd);
	}
	return -1;
}

static inline int kshim_info(int fd, unsigned int dev,
			     struct drm_svmshim_get_info *info)
{
	memset(info, 0, sizeof(*info));
	info->device = dev;
	return ioctl(fd, DRM_IOCTL_SVMSHIM_GET_INFO, info) ? -errno : 0;
}

/* MIGRATE arguments: the range, the destination and flags, all else 0. */
static inline void kshim_migrate_init(struct drm_svmshim_migrate *m, void *p,
				      size_t len, int dest, unsigned int flags)
{
	memset(m, 0, sizeof(*m));
	m->start = (uintptr_t)p;
	m->length = len;
	m->dest = dest;
	m->flags = flags;
}

/* MIGRATE with a retry budget (SVMSHIM_MIGRATE_RETRY in flags). */
static inline int kshim_migrate_budget(int fd, void *p, size_t len, int dest,
				       unsigned int flags, unsigned int rounds,
				       unsigned int budget_us, uint8_t *res,
				       struct drm_svmshim_migrate *out)
{
	struct drm_svmshim_migrate m;
	int ret;

	kshim_migrate_init(&m, p, len, dest, flags);
	m.retry_rounds = rounds;
	m.retry_budget_us = budget_us;
	m.results = (uintptr_t)res;
	ret = ioctl(fd, DRM_IOCTL_SVMSHIM_MIGRATE, &m) ? -errno : 0;
	if (out)
		*out = m;
	return ret;
}

static inline int kshim_migrate(int fd, void *p, size_t len, int dest,
				unsigned int flags, uint8_t *res,
				struct drm_svmshim_migrate *out)
{
	return kshim_migrate_budget(fd, p, len, dest, flags, 0, 0, res, out);
}

static inline int kshim_snapshot(int fd, void *p, size_t len, int32_t *loc,
				 struct drm_svmshim_snapshot *out)
{
	struct drm_svmshim_snapshot s;
	int ret;

	memset(&s, 0, sizeof(s));
	s.start = (uintptr_t)p;
	s.length = len;
	s.locations = (uintptr_t)loc;
	ret = ioctl(fd, DRM_IOCTL_SVMSHIM_SNAPSHOT, &s) ? -errno : 0;
	if (out)
		*out = s;
	return ret;
}

static inline int kshim_pin(int fd, void *p, size_t len, int unpin)
{
	struct drm_svmshim_pin a;

	memset(&a, 0, sizeof(a));
	a.start = (uintptr_t)p;
	a.length = len;
	return ioctl(fd, unpin ? DRM_IOCTL_SVMSHIM_UNPIN : DRM_IOCTL_SVMSHIM_PIN,
		     &a) ? -errno : 0;
}

/* Device @dev's view of [heap, heap + len); NULL (errno set) on failure. */
static inline void *kshim_view(int fd, unsigned int dev, void *heap, size_t len)
{
	void *v = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		       (off_t)SVMSHIM_VIEW_OFFSET(dev, (uintptr_t)heap));

	return v == MAP_FAILED ? NULL : v;
}

/* SET_ATTR arguments: range, flags and @preferred (a device, LOC_HOST or
 * LOC_NONE), all else 0. */
static inline void kshim_attr_init(struct drm_svmshim_attr *a, void *p,
				   size_t len, unsigned int flags, int preferred)
{
	memset(a, 0, sizeof(*a));
	a->start = (uintptr_t)p;
	a->length = len;
	a->flags = flags;
	a->preferred = preferred;
}

static inline int kshim_attr(int fd, void *p, size_t len, unsigned int flags,
			     int preferred, unsigned int accessed_by,
			     unsigned int granularity)
{
	struct drm_svmshim_attr a;

	kshim_attr_init(&a, p, len, flags, preferred);
	a.accessed_by = accessed_by;
	a.granularity = granularity;
	return ioctl(fd, DRM_IOCTL_SVMSHIM_SET_ATTR, &a) ? -errno : 0;
}

/* EVENTS into ev[cap]; returns the count or -errno; *dropped if set. */
static inline long kshim_events(int fd, struct drm_svmshim_event *ev,
				unsigned int cap, uint64_t *dropped)
{
	struct drm_svmshim_events e;

	memset(&e, 0, sizeof(e));
	e.events = (uintptr_t)ev;
	e.capacity = cap;
	if (ioctl(fd, DRM_IOCTL_SVMSHIM_EVENTS, &e))
		return -errno;
	if (dropped)
		*dropped = e.dropped;
	return e.count;
}

/* Pattern: every 8-byte word holds its address xor a seed. */
static inline void fill(void *p, size_t len, uint64_t seed)
{
	uint64_t *w = p;
	size_t i;

	for (i = 0; i < len / 8; i++)
		w[i] = ((uintptr_t)&w[i]) ^ seed;
}

/* Returns the index of the first bad word, or -1. */
static inline long check(const void *p, size_t len, uint64_t seed)
{
	const uint64_t *w = p;
	size_t i;

	for (i = 0; i < len / 8; i++)
		if (w[i] != (((uintptr_t)&w[i]) ^ seed))
			return (long)i;
	return -1;
}

static inline double now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

#endif
