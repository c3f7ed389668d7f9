/* SPDX-License-Identifier: MIT */
/*
 * The one runtime object. It is file-static: every other file gets it as
 * a parameter, except the API layer's entry points and the callbacks that
 * take no argument (atexit/atfork handlers), which ask svm__rt_get().
 */
#include "rt.h"

static struct svm__rt rt = { .lock = PTHREAD_MUTEX_INITIALIZER,
				.settled = PTHREAD_COND_INITIALIZER };

struct svm__rt *svm__rt_get(void)
{
	return &rt;
}
