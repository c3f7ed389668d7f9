/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <hwloc.h>
#include <numa.h>
#include <numaif.h>
#include <stdlib.h>
#include <string.h>

#include "topo.h"
#include "../obs/log.h"

static hwloc_topology_t topo;
static bool loaded;
static int nnodes = 1;
static const char *const gpu_plugins[] = { "opencl", "cuda", "nvml", "rsmi", "levelzero", "gl" };

int svm__topo_init(void)
{
	if (loaded)
		return 0;
	if (hwloc_topology_init(&topo))
		goto fail;
	/* keep GPUs and the bridges above them: PCI locality needs them */
	hwloc_topology_set_io_types_filter(topo, HWLOC_TYPE_FILTER_KEEP_IMPORTANT);
	/*
	 * but not hwloc's GPU plugins: they start the GPU drivers (OpenCL,
	 * CUDA, NVML, ROCm SMI, Level Zero, X) inside svm_init to name the
	 * GPUs' OS devices, which the PCI devices above them already place.
	 * On a 16-core machine the OpenCL one started an OpenCL driver, with
	 * 16 threads and LLVM, whose crash handler took SIGBUS away from the
	 * user backend at the program's first own SIGBUS (topo.plugins,
	 * user.device_faults.oneshot). hwloc refuses a name it has no such
	 * plugin for with EINVAL: nothing to keep out.
	 */
	for (size_t i = 0; i < sizeof(gpu_plugins) / sizeof(gpu_plugins[0]); i++)
		if (hwloc_topology_set_components(topo, HWLOC_TOPOLOGY_COMPONENTS_FLAG_BLACKLIST,
						  gpu_plugins[i]) && errno != EINVAL)
			svm__warn("topology: cannot keep hwloc's %s plugin out: %s",
				  gpu_plugins[i], strerror(errno));
	if (hwloc_topology_load(topo)) {
		hwloc_topology_destroy(topo);
		goto fail;
	}
	loaded = true;
	nnodes = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_NUMANODE);
	if (nnodes < 1)
		nnodes = 1;
	if (nnodes == 1)
		svm__info("topology: one NUMA node; nothing to place (the path runs, nothing moves)");
	else
		svm__info("topology: %d NUMA nodes; device threads and pages go near their device",
			  nnodes);
	return 0;
fail:
	svm__warn("topology: hwloc could not load the machine's topology (%s); "
		  "assuming one NUMA node", strerror(errno));
	nnodes = 1;
	return -1;
}

void svm__topo_fini(void)
{
	if (loaded)
		hwloc_topology_destroy(topo);
	loaded = false;
	nnodes = 1;
}

int svm__topo_nodes(void)
{
	return nnodes;
}

int svm__topo_node_of_pci(const char *busid)
{
	hwloc_obj_t pci, anc;

	if (!loaded || !busid || !*busid)
		return -1;
	pci = hwloc_get_pcidev_by_busidstring(topo, busid);
	if (!pci)
		return -1;
	anc = hwloc_get_non_io_ancestor_obj(topo, pci);
	/* a device attached below one node; above several it has no nearest */
	if (!anc || !anc->nodeset || hwloc_bitmap_weight(anc->nodeset) != 1)
		return -1;
	return hwloc_bitmap_first(anc->nodeset);
}

int svm__topo_user_device_node(int dev, const char *spec, bool *bad)
{
	const char *s = spec;

	*bad = false;
	if (!strcmp(spec, "spread") || !*spec) {
		hwloc_obj_t node;

		if (!loaded)
			return nnodes > 1 ? dev % nnodes : 0;
		node = hwloc_get_obj_by_type(topo, HWLOC_OBJ_NUMANODE, (unsigned)(dev % nnodes));
		return node ? (int)node->os_index : -1;
	}
	int node = -1; /* a list shorter than the devices: no node for this one */

	for (int i = 0; *s; i++) { /* the whole list must parse */
		char *end;
		long v = strtol(s, &end, 10);

		if (end == s || v < 0 || v > 4095 || (*end && *end != ',')) {
			*bad = true;
			return -1;
		}
		if (i == dev)
			node = (int)v;
		s = *end ? end + 1 : end;
	}
	return node;
}

static hwloc_obj_t node_obj(int node)
{
	return loaded && node >= 0 ? hwloc_get_numanode_obj_by_os_index(topo, (unsigned)node) :
				     NULL;
}

bool svm__topo_node_cpus(int node, char *buf, size_t len)
{
	hwloc_obj_t n = node_obj(node);

	if (!n || !n->cpuset)
		return false;
	hwloc_bitmap_list_snprintf(buf, len, n->cpuset);
	return true;
}

bool svm__topo_bind_thread(pthread_t t, int node)
{
	hwloc_obj_t n = node_obj(node);

	if (!n || !n->cpuset || hwloc_bitmap_iszero(n->cpuset))
		return false;
	return hwloc_set_thread_cpubind(topo, t, n->cpuset, 0) == 0;
}

bool svm__topo_prefer(void *addr, size_t len, int node)
{
	unsigned long mask[16] = { 0 };

	if (node < 0 || node >= (int)(sizeof(mask) * 8) || numa_available() < 0)
		return false;
	mask[node / (8 * sizeof(long))] = 1UL << (node % (8 * sizeof(long)));
	return mbind(addr, len, MPOL_PREFERRED, mask, sizeof(mask) * 8, 0) == 0;
}

size_t svm__topo_move_pages(void *addr, size_t len, int node)
{
	size_t n = len / 4096, done = 0;
	void *pages[256];
	int nodes[256], status[256];

	if (node < 0 || numa_available() < 0)
		return 0;
	for (size_t i = 0; i < n; i += 256) {
		size_t k = n - i < 256 ? n - i : 256;

		for (size_t j = 0; j < k; j++) {
			pages[j] = (char *)addr + (i + j) * 4096;
			nodes[j] = node;
		}
		if (move_pages(0, k, pages, nodes, status, MPOL_MF_MOVE) < 0)
			break;
		for (size_t j = 0; j < k; j++)
			done += status[j] == node;
	}
	return done;
}

int svm__topo_page_node(void *addr)
{
	int status = -1;

	if (numa_available() < 0 || move_pages(0, 1, &addr, NULL, &status, 0) < 0)
		return -1;
	return status;
}

void svm__topo_describe(FILE *f)
{
	if (!loaded) {
		fprintf(f, "  (no topology: hwloc did not load)\n");
		return;
	}
	for (int i = 0; i < nnodes; i++) {
		hwloc_obj_t n = hwloc_get_obj_by_type(topo, HWLOC_OBJ_NUMANODE, (unsigned)i);
		char cpus[128] = "";

		if (!n)
			continue;
		if (n->cpuset)
			hwloc_bitmap_list_snprintf(cpus, sizeof(cpus), n->cpuset);
		fprintf(f, "  node %u: CPUs %s, %llu MiB\n", n->os_index, cpus[0] ? cpus : "none",
			(unsigned long long)(n->attr ? n->attr->numanode.local_memory >> 20 : 0));
	}
	for (hwloc_obj_t o = hwloc_get_next_pcidev(topo, NULL); o;
	     o = hwloc_get_next_pcidev(topo, o)) {
		char busid[32];

		if (o->attr->pcidev.class_id >> 8 != 0x03) /* display controllers */
			continue;
		snprintf(busid, sizeof(busid), "%04x:%02x:%02x.%01x", o->attr->pcidev.domain,
			 o->attr->pcidev.bus, o->attr->pcidev.dev, o->attr->pcidev.func);
		fprintf(f, "  GPU %s [%04x:%04x] near node %d\n", busid, o->attr->pcidev.vendor_id,
			o->attr->pcidev.device_id, svm__topo_node_of_pci(busid));
	}
}
