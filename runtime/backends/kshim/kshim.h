/* SPDX-License-Identifier: MIT */
/*
 * Internals shared by the files of the kshim backend (kshim.c: devices,
 * heap, views and the ops; kshim_events.c: the shim's event ring and the
 * per-page bookkeeping that both files feed). Nothing here is used outside
 * runtime/backends/kshim/.
 */
#ifndef SVM_BACKENDS_KSHIM_H
#define SVM_BACKENDS_KSHIM_H

#include "../backend.h"
#include "uapi/svmshim.h"

/*
 * Prepares the event ring of the open render node fd (probes EVENTS once;
 * false if the shim has none, which is logged) and frees it again. The
 * event code calls nothing in kshim.c: kshim.c drives it.
 */
bool kshim_events_init(int fd);
void kshim_events_fini(void);

/* Drains the ring into rt's stats and page records (caller holds rt->lock). */
void kshim_events_drain(struct svm__rt *rt);

/* µs since svm_init of a CLOCK_MONOTONIC time in ns. */
static inline uint32_t kshim_us(const struct svm__rt *rt, uint64_t ns)
{
	return (uint32_t)((ns - rt->t0_ns) / 1000);
}

#endif
