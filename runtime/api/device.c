/* SPDX-License-Identifier: MIT */
/* The devices: count, properties, and svm_launch. */
#include <string.h>

#include "api.h"
#include "launch.h"
#include "../policy/policy.h"
#include "../backends/backend.h"

/* ---- devices ------------------------------------------------------- */

int svm_device_count(void)
{
	struct svm__rt *rt = svm__rt_get();
	int n;

	if (svm__api_enter(rt) != SVM_OK)
		return 0;
	n = rt->ndev;
	svm__api_leave(rt);
	return n;
}

svm_result_t svm_device_props(int device, svm_device_props_t *props)
{
	struct svm__rt *rt = svm__rt_get();
	svm_device_props_t out;
	svm_result_t res = svm__api_enter(rt);

	if (res != SVM_OK)
		return res;
	if (device < 0 || device >= rt->ndev || !svm__api_out_ok(rt, props, sizeof(*props))) {
		res = SVM_ERROR_INVALID_ARGUMENT;
	} else {
		memset(&out, 0, sizeof(out));
		res = rt->be->device_props(rt, device, &out);
		out.compute_threads =
			rt->dev[device].launchable ? svm__pool_threads(rt) : 0;
	}
	svm__api_leave(rt);
	if (res == SVM_OK) /* outputs are stored unlocked: see "Outputs" above */
		STORE_OUT(props, out);
	return res;
}

/* ---- launch -------------------------------------------------------- */

svm_result_t svm_launch(int device, size_t grid, svm_kernel_fn fn, void *arg)
{
	struct svm__rt *rt = svm__rt_get();
	svm_result_t res;

	if (!svm__api_live())
		return SVM_ERROR_NOT_INITIALIZED;
	if (!fn || !grid)
		return SVM_ERROR_INVALID_ARGUMENT;
	res = svm__api_enter(rt);
	if (res != SVM_OK)
		return res;
	if (device < 0 || device >= rt->ndev)
		res = SVM_ERROR_INVALID_ARGUMENT;
	else if (!rt->dev[device].launchable)
		res = SVM_ERROR_UNSUPPORTED;
	svm__api_leave(rt);
	if (res != SVM_OK)
		return res;

	pthread_mutex_lock(&svm__launch_lock[device]);
	/*
	 * A last svm_finalize may have run since the checks above (it takes
	 * each launch lock only to stop that device's workers), and even an
	 * svm_init after it with other devices: check again under this lock,
	 * which finalize needs before it can tear the device down.
	 */
	res = svm__api_enter(rt);
	if (res == SVM_OK) {
		if (device >= rt->ndev)
			res = SVM_ERROR_INVALID_ARGUMENT;
		else if (!rt->dev[device].launchable)
			res = SVM_ERROR_UNSUPPORTED;
		svm__api_leave(rt);
	}
	if (res != SVM_OK) {
		pthread_mutex_unlock(&svm__launch_lock[device]);
		return res;
	}
	atomic_fetch_add(&rt->launches, 1);
	uint64_t t0 = svm__now_ns();
	bool window = svm__launch_coherent(rt); /* SVM_COHERENCE=launch */

	if (window) {
		pthread_mutex_lock(&rt->lock);
		svm__launch_begin(rt);
		pthread_mutex_unlock(&rt->lock);
	}
	if (rt->be->engine.device_running)
		rt->be->engine.device_running(rt, device, true);
	res = svm__pool_run(rt, device, grid, fn, arg);
	if (rt->be->engine.device_running)
		rt->be->engine.device_running(rt, device, false);
	svm__trace((struct svm__event){ .type = SVM__EV_LAUNCH, .ts_ns = t0,
					.dur_ns = svm__now_ns() - t0, .pages = grid, .src = -2,
					.dst = (int8_t)device });
	/* in-place working copies end with the launch: writes become visible */
	pthread_mutex_lock(&rt->lock);
	if (window) /* pages the launch took become the device's */
		svm__launch_end(rt, device);
	svm__remote_flush_device(rt, device);
	if (rt->be->replace.sync) /* what the driver did during the launch */
		rt->be->replace.sync(rt, false);
	pthread_mutex_unlock(&rt->lock);
	pthread_mutex_unlock(&svm__launch_lock[device]);
	return res;
}
