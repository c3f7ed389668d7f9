/* SPDX-License-Identifier: MIT */
/*
 * Topology: the only place that talks to hwloc and libnuma. Which host
 * NUMA node is nearest each device, and putting threads and pages there.
 * Loaded once per svm_init; every function works (and does nothing
 * harmful) on a machine with one node or without NUMA support.
 */
#ifndef SVM_TOPO_H
#define SVM_TOPO_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/*
 * Loads the topology the first time (later calls return at once): 0, or
 * -1 if hwloc could not load it (then one node is assumed). It stays
 * loaded for the life of the process, since reading it (PCI config space
 * included) is the slowest part of svm_init; svm__topo_fini drops it.
 */
int svm__topo_init(void);
void svm__topo_fini(void);
int svm__topo_nodes(void); /* NUMA nodes, at least 1 */
/* The nearest node of a PCI device ("0000:3b:00.0"), -1 if unknown. */
int svm__topo_node_of_pci(const char *busid);
/*
 * The node of emulated device dev: spec is "spread" (devices over the
 * nodes in turn) or a comma list of node numbers, one per device.
 * -1 on a bad spec (with *bad set).
 */
int svm__topo_user_device_node(int dev, const char *spec, bool *bad);
/* The CPUs of a node as a list ("2-3"); false if no such node. */
bool svm__topo_node_cpus(int node, char *buf, size_t len);
/* Binds a thread to the CPUs of a node; false if it could not. */
bool svm__topo_bind_thread(pthread_t t, int node);
/* Makes [addr, addr+len) prefer node for new pages; false if not. */
bool svm__topo_prefer(void *addr, size_t len, int node);
/* Moves the pages of [addr, addr+len) to node; returns pages now there. */
size_t svm__topo_move_pages(void *addr, size_t len, int node);
/* The node a page is on, -1 if unknown. */
int svm__topo_page_node(void *addr);
/* Nodes, their CPUs and memory, for svm-info. */
void svm__topo_describe(FILE *f);

#endif
