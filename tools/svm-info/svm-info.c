/* SPDX-License-Identifier: MIT */
/*
 * svm-info: what svmrt can use on this machine.
 *   svm-info       backends (and why each is or is not available), devices
 *   svm-info -e    also every SVM_* variable, its value and where it came from
 * Built against the runtime's objects, so it reports what the library sees.
 */
#include <stdio.h>
#include <string.h>

#include "../../runtime/backends/backend.h"
#include "../../runtime/topo/topo.h"

static void print_var(const char *name, const char *value, const char *deflt,
		      enum svm__config_source src, const char *help, void *arg)
{
	static const char *const srcs[] = { "default", "environment", "invalid in environment" };

	(void)arg;
	printf("  %-24s = %-16s (%s%s%s)\n      %s\n", name, *value ? value : "\"\"", srcs[src],
	       src == SVM__SRC_DEFAULT ? "" : "; default ",
	       src == SVM__SRC_DEFAULT ? "" : (*deflt ? deflt : "\"\""), help);
}

static int usage(const char *argv0)
{
	fprintf(stderr, "usage: %s [-e]\n  -e  list every SVM_* variable with its value\n",
		argv0);
	return 2;
}

int main(int argc, char **argv)
{
	struct svm__config cfg;
	bool env = false;
	svm_result_t r;
	int n;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-e"))
			env = true;
		else
			return usage(argv[0]);
	}
	svm__config_load(&cfg);
	printf("svmrt %s\n\nbackends (SVM_BACKEND=auto tries them in this order):\n",
	       svm_version());
	for (size_t i = 0; i < svm__nbackends; i++) {
		const struct svm__backend_entry *b = &svm__backends[i];
		char why[256] = "";

		if (!b->ops)
			printf("  %-6s not available: %s\n", b->name, b->absent);
		else if (b->ops->probe(&cfg, why, sizeof(why)))
			printf("  %-6s available\n", b->name);
		else
			printf("  %-6s not available: %s\n", b->name, why);
	}

	r = svm_init();
	if (r != SVM_OK) {
		printf("\nsvm_init: %s; no devices (the log above says why)\n",
		       svm_result_string(r));
	} else {
		n = svm_device_count();
		printf("\ndevices (%d):\n", n);
		for (int d = 0; d < n; d++) {
			svm_device_props_t p;

			if (svm_device_props(d, &p) != SVM_OK)
				continue;
			printf("  %d: %s\n     backend %s, memory %llu MiB, NUMA node %d, "
			       "PCI %s, %u compute threads\n", d, p.name, p.backend,
			       (unsigned long long)(p.memory_bytes >> 20), p.numa_node,
			       p.pci_bus_id[0] ? p.pci_bus_id : "-", p.compute_threads);
		}
		svm_finalize();
	}
	printf("\ntopology:\n");
	svm__topo_init();
	svm__topo_describe(stdout);
	svm__topo_fini();
	if (env) {
		printf("\nconfiguration (set with environment variables):\n");
		svm__config_visit(print_var, NULL);
	}
	return r == SVM_OK ? 0 : 1;
}
