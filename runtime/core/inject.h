/* SPDX-License-Identifier: MIT */
/*
 * Fault injection: makes a chosen share of page moves fail with a chosen
 * class, deterministically from a seed, so that tests can prove each rule
 * of the retry policy. Spec (SVM_INJECT):
 *   class=busy|no-memory|pinned|unsupported,percent=P[,seed=S]
 *   [,direction=any|to-host|to-device][,count=N]
 * PINNED and UNSUPPORTED stick to a page (the same pages fail every time,
 * as a real pin would); BUSY and NO_MEMORY are drawn anew at each attempt.
 * count=N stops after N injected failures ("fails for a while").
 *
 * class=left-behind is no failure: it plays the kernel fault of
 * docs/data-integrity.md ("Open"), where a page UFFDIO_MOVE reported
 * moved is back where it came from by the next move. The chosen pages
 * move, are reported moved, and are then put back at their source
 * behind the runtime's back (user backend, UFFDIO_MOVE path only).
 */
#ifndef SVM_CORE_INJECT_H
#define SVM_CORE_INJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "svmrt.h"

struct svm__inject {
	bool on;
	svm_failure_t cls;
	unsigned percent;
	uint64_t seed;
	int direction; /* 0 any, 1 to host, 2 to a device */
	uint64_t count; /* 0: no limit */
	uint64_t injected;
	uint64_t draws;
	bool left_behind; /* class=left-behind (cls stays NONE) */
};

/* false (with a reason in err) if spec does not parse; "" turns it off */
bool svm__inject_parse(const char *spec, struct svm__inject *inj, char *err, size_t len);
/* The class a move of the page at addr from src to dst fails with, or NONE. */
svm_failure_t svm__inject_draw(struct svm__inject *inj, uintptr_t addr, int src, int dst);
/* class=left-behind: is the page at addr, just moved from src to dst, to be put back? */
bool svm__inject_leave(struct svm__inject *inj, uintptr_t addr, int src, int dst);

#endif
