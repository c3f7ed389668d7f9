/* SPDX-License-Identifier: MIT */
/*
 * Placement decisions of runtime/topo. Usage: topo_topo xml|host
 *   xml   with HWLOC_XMLFILE=two-nodes-two-gpus.xml (2 NUMA nodes of 2
 *         CPUs, GPU 0000:3b:00.0 below node 0, 0000:af:00.0 below node 1):
 *         PCI locality, node CPUs, user-device spreading and lists
 *   host  this machine: the path runs; with one node it places nothing,
 *         and svm_device_props reports the node the devices sit near
 */
#include "svmtest.h"
#include "../../runtime/topo/topo.h"

static void case_xml(void)
{
	char cpus[64];
	bool bad;

	CHECK(getenv("HWLOC_XMLFILE") != NULL);
	CHECK_EQ(svm__topo_init(), 0);
	CHECK_EQ(svm__topo_nodes(), 2);
	CHECK_EQ(svm__topo_node_of_pci("0000:3b:00.0"), 0);
	CHECK_EQ(svm__topo_node_of_pci("0000:af:00.0"), 1);
	CHECK_EQ(svm__topo_node_of_pci("0000:01:00.0"), -1); /* no such device */
	CHECK_EQ(svm__topo_node_of_pci(""), -1);
	CHECK(svm__topo_node_cpus(0, cpus, sizeof(cpus)));
	CHECK_MSG(!strcmp(cpus, "0-1"), "node 0 CPUs %s", cpus);
	CHECK(svm__topo_node_cpus(1, cpus, sizeof(cpus)));
	CHECK_MSG(!strcmp(cpus, "2-3"), "node 1 CPUs %s", cpus);
	CHECK(!svm__topo_node_cpus(2, cpus, sizeof(cpus)));
	/* spread: devices dealt over the nodes in turn */
	CHECK_EQ(svm__topo_user_device_node(0, "spread", &bad), 0);
	CHECK_EQ(svm__topo_user_device_node(1, "spread", &bad), 1);
	CHECK_EQ(svm__topo_user_device_node(2, "spread", &bad), 0);
	CHECK(!bad);
	/* an explicit list */
	CHECK_EQ(svm__topo_user_device_node(0, "1,0", &bad), 1);
	CHECK_EQ(svm__topo_user_device_node(1, "1,0", &bad), 0);
	CHECK_EQ(svm__topo_user_device_node(2, "1,0", &bad), -1);
	CHECK(!bad);
	svm__topo_user_device_node(0, "1,x", &bad);
	CHECK(bad);
	svm__topo_describe(stdout);
	svm__topo_fini();
	printf("PASS topo xml\n");
}

static void case_host(void)
{
	svm_device_props_t p;
	int nodes;
	uint64_t *a;

	CHECK_EQ(svm__topo_init(), 0);
	nodes = svm__topo_nodes();
	svm__topo_describe(stdout);
	svm__topo_fini();
	svmt_init();
	for (int d = 0; d < svm_device_count(); d++) {
		CHECK_OK(svm_device_props(d, &p));
		CHECK_EQ(p.numa_node, nodes > 1 ? d % nodes : 0);
	}
	/* a migration home runs the placement path; one node: it places nothing */
	a = svmt_alloc(64 * svmt_page_size());
	memset(a, 1, 64 * svmt_page_size());
	CHECK_OK(svm_prefetch(a, 64 * svmt_page_size(), 0, NULL));
	CHECK_EQ(a[0], 0x0101010101010101ull);
	if (nodes == 1)
		CHECK(svm__topo_page_node(a) <= 0);
	CHECK_OK(svm_free(a));
	CHECK_OK(svm_finalize());
	printf("PASS topo host: %d node(s)%s\n", nodes,
	       nodes == 1 ? ", nothing to place" : "");
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "xml"))
		case_xml();
	else if (argc == 2 && !strcmp(argv[1], "host"))
		case_host();
	else
		FAIL("usage: %s xml|host", argv[0]);
	return 0;
}
