/* SPDX-License-Identifier: MIT */
/*
 * Placement decisions of runtime/topo. Usage: topo_topo xml|plugins|host
 *   xml   with HWLOC_XMLFILE=two-nodes-two-gpus.xml (2 NUMA nodes of 2
 *         CPUs, GPU 0000:3b:00.0 below node 0, 0000:af:00.0 below node 1):
 *         PCI locality, node CPUs, user-device spreading and lists
 *   plugins  with HWLOC_PLUGINS_PATH=the fake GPU plugins' folder: the
 *         topology load never asks hwloc's GPU plugins (opencl, cuda, nvml,
 *         rsmi, levelzero, gl) to discover: the OpenCL one started an
 *         OpenCL driver inside svm_init on a 16-core machine, whose LLVM
 *         took SIGBUS over (user.device_faults.oneshot)
 *   host  this machine: the path runs; with one node it places nothing,
 *         and svm_device_props reports the node the devices sit near; with
 *         more (the VM), pages home from each device are on its node and
 *         its workers run on that node's CPUs
 */
#include <sched.h>
#include <signal.h>
#include <unistd.h>

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

static bool sig_ignored(int sig)
{
	struct sigaction sa;

	CHECK(sigaction(sig, NULL, &sa) == 0);
	return !(sa.sa_flags & SA_SIGINFO) && sa.sa_handler == SIG_IGN;
}

static void case_plugins(void)
{
	const char *dir = getenv("HWLOC_PLUGINS_PATH");

	CHECK(dir != NULL);
	CHECK(!sig_ignored(SIGUSR1) && !sig_ignored(SIGUSR2));
	svm__topo_init();
	if (!sig_ignored(SIGUSR1))
		svmt_skip("hwloc here loaded no plugin from %s (built without plugin support?)",
			  dir);
	CHECK_MSG(!sig_ignored(SIGUSR2), "the topology load asked one of hwloc's GPU plugins "
		  "to discover: that starts GPU drivers inside svm_init");
	svm__topo_fini();
	printf("PASS topo plugins: the GPU plugins were loaded, none discovered\n");
}

static void record_cpu(const svm_kernel_ctx_t *ctx, size_t i, void *arg)
{
	(void)ctx;
	((int *)arg)[i] = sched_getcpu();
}

/* Is CPU cpu on NUMA node node (sysfs)? */
static bool cpu_on_node(int cpu, int node)
{
	char path[96];

	snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%d/node%d", cpu,
		 node);
	return access(path, F_OK) == 0;
}

/*
 * More than one node (the VM): for every device, pages that come home
 * from it are on its node (move_pages status), and its workers run on its
 * node's CPUs.
 */
static void check_placement(void)
{
	size_t n = 64, pg = svmt_page_size();
	int cpus[256];

	for (int d = 0; d < svm_device_count(); d++) {
		svm_device_props_t p;
		uint64_t *a;

		CHECK_OK(svm_device_props(d, &p));
		CHECK(p.numa_node >= 0);
		a = svmt_alloc(n * pg);
		memset(a, 7, n * pg);
		CHECK_OK(svm_prefetch(a, n * pg, d, NULL));
		CHECK_OK(svm_prefetch(a, n * pg, SVM_HOST, NULL));
		for (size_t i = 0; i < n; i++)
			CHECK_EQ(svm__topo_page_node((char *)a + i * pg), p.numa_node);
		CHECK_EQ(a[0], 0x0707070707070707ull);
		CHECK_OK(svm_free(a));

		memset(cpus, -1, sizeof(cpus));
		CHECK_OK(svm_launch(d, 256, record_cpu, cpus));
		for (int i = 0; i < 256; i++)
			if (cpus[i] < 0 || !cpu_on_node(cpus[i], p.numa_node))
				FAIL("device %d (node %d): work item %d ran on CPU %d",
				     d, p.numa_node, i, cpus[i]);
		printf("device %d: pages home on node %d, workers on its CPUs\n", d,
		       p.numa_node);
	}
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
	if (nodes > 1)
		check_placement();
	CHECK_OK(svm_finalize());
	printf("PASS topo host: %d node(s)%s\n", nodes,
	       nodes == 1 ? ", nothing to place" : "");
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "xml"))
		case_xml();
	else if (argc == 2 && !strcmp(argv[1], "plugins"))
		case_plugins();
	else if (argc == 2 && !strcmp(argv[1], "host"))
		case_host();
	else
		FAIL("usage: %s xml|plugins|host", argv[0]);
	return 0;
}
