/* SPDX-License-Identifier: MIT */
/*
 * The C side of tests/fortran: sizes and field offsets of svmrt.h's
 * structs, so the Fortran test can compare the module's bind(C) types
 * with them field by field.
 */
#include <stddef.h>

#include <svmrt.h>

size_t svmt_c_layout(int which);

size_t svmt_c_layout(int which)
{
	switch (which) {
	case 0: return sizeof(svm_device_props_t);
	case 1: return offsetof(svm_device_props_t, memory_bytes);
	case 2: return offsetof(svm_device_props_t, numa_node);
	case 3: return offsetof(svm_device_props_t, pci_bus_id);
	case 4: return offsetof(svm_device_props_t, compute_threads);
	case 10: return sizeof(svm_migrate_report_t);
	case 11: return offsetof(svm_migrate_report_t, failed_by);
	case 12: return offsetof(svm_migrate_report_t, retries);
	case 20: return sizeof(svm_page_info_t);
	case 21: return offsetof(svm_page_info_t, copies);
	case 22: return offsetof(svm_page_info_t, last_failure);
	case 30: return sizeof(svm_pointer_info_t);
	case 31: return offsetof(svm_pointer_info_t, bytes);
	case 32: return offsetof(svm_pointer_info_t, location);
	case 40: return sizeof(svm_stats_t);
	case 41: return offsetof(svm_stats_t, failures_by);
	case 42: return offsetof(svm_stats_t, launches);
	case 43: return offsetof(svm_stats_t, device_resident_bytes);
	}
	return (size_t)-1;
}
