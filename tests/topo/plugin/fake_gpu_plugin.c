/* SPDX-License-Identifier: MIT */
/*
 * An hwloc discovery plugin that stands for the GPU ones (opencl, cuda,
 * nvml, rsmi, levelzero, gl): built once under each of those names, it
 * leaves a mark where a test can see it without linking to it. Loading
 * the plugin sets SIGUSR1 to SIG_IGN; its discovery being asked for (the
 * point where the real OpenCL plugin started an OpenCL driver, with LLVM
 * and a SIGBUS handler in it) sets SIGUSR2 to SIG_IGN. It discovers
 * nothing. FAKE_NAME is the component name, set by the build.
 */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stddef.h>

#include <hwloc.h>
#include <hwloc/plugins.h>

#define CAT2(a, b, c) a##b##c
#define CAT(a, b, c) CAT2(a, b, c)
#define STR2(x) #x
#define STR(x) STR2(x)

static void mark(int sig)
{
	struct sigaction sa = { .sa_handler = SIG_IGN };

	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
}

static int fake_init(unsigned long flags)
{
	(void)flags;
	mark(SIGUSR1);
	return 0;
}

static struct hwloc_backend *fake_instantiate(struct hwloc_topology *topology,
					      struct hwloc_disc_component *component,
					      unsigned excluded_phases, const void *data1,
					      const void *data2, const void *data3)
{
	(void)topology;
	(void)component;
	(void)excluded_phases;
	(void)data1;
	(void)data2;
	(void)data3;
	mark(SIGUSR2);
	return NULL; /* no backend: hwloc goes on without it */
}

static struct hwloc_disc_component fake_disc = {
	.name = STR(FAKE_NAME),
	.phases = HWLOC_DISC_PHASE_IO,
	.excluded_phases = 0,
	.instantiate = fake_instantiate,
	.priority = 10,
	.enabled_by_default = 1,
	.next = NULL,
};

/* hwloc looks for hwloc_<name>_component in hwloc_<name>.so */
__attribute__((visibility("default"))) struct hwloc_component CAT(hwloc_, FAKE_NAME, _component) = {
	.abi = HWLOC_COMPONENT_ABI,
	.init = fake_init,
	.finalize = NULL,
	.type = HWLOC_COMPONENT_TYPE_DISC,
	.flags = 0,
	.data = &fake_disc,
};
