/* SPDX-License-Identifier: MIT */
/*
 * runtime/backends/ze/ze_abi.h declares what svmrt uses of Level Zero in
 * its own words; this compares every layout and value with the real
 * <level_zero/ze_api.h>. It fails to compile if one differs. It also
 * builds svmrt_ze.h's typed helper against the real handle types.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <level_zero/ze_api.h>

#define SVMRT_ZE_TYPES
#include "svmrt_ze.h"
#include "ze_abi.h"

#define SAME_SIZE(a, b) _Static_assert(sizeof(a) == sizeof(b), #a " vs " #b)
#define SAME_AT(a, fa, b, fb) \
	_Static_assert(offsetof(a, fa) == offsetof(b, fb), #a "." #fa " vs " #b "." #fb)
#define SAME_VAL(a, b) _Static_assert((uint64_t)(a) == (uint64_t)(b), #a " vs " #b)

SAME_SIZE(lz_result_t, ze_result_t);
SAME_VAL(LZ_SUCCESS, ZE_RESULT_SUCCESS);
SAME_VAL(LZ_NOT_READY, ZE_RESULT_NOT_READY);
SAME_VAL(LZ_ERROR_DEVICE_LOST, ZE_RESULT_ERROR_DEVICE_LOST);
SAME_VAL(LZ_ERROR_OUT_OF_HOST_MEMORY, ZE_RESULT_ERROR_OUT_OF_HOST_MEMORY);
SAME_VAL(LZ_ERROR_OUT_OF_DEVICE_MEMORY, ZE_RESULT_ERROR_OUT_OF_DEVICE_MEMORY);
SAME_VAL(LZ_ERROR_DEVICE_REQUIRES_RESET, ZE_RESULT_ERROR_DEVICE_REQUIRES_RESET);
SAME_VAL(LZ_ERROR_DEVICE_IN_LOW_POWER, ZE_RESULT_ERROR_DEVICE_IN_LOW_POWER_STATE);
SAME_VAL(LZ_ERROR_INSUFFICIENT_PERMISSIONS, ZE_RESULT_ERROR_INSUFFICIENT_PERMISSIONS);
SAME_VAL(LZ_ERROR_NOT_AVAILABLE, ZE_RESULT_ERROR_NOT_AVAILABLE);
SAME_VAL(LZ_ERROR_DEPENDENCY_UNAVAILABLE, ZE_RESULT_ERROR_DEPENDENCY_UNAVAILABLE);
SAME_VAL(LZ_ERROR_UNINITIALIZED, ZE_RESULT_ERROR_UNINITIALIZED);
SAME_VAL(LZ_ERROR_UNSUPPORTED_VERSION, ZE_RESULT_ERROR_UNSUPPORTED_VERSION);
SAME_VAL(LZ_ERROR_UNSUPPORTED_FEATURE, ZE_RESULT_ERROR_UNSUPPORTED_FEATURE);
SAME_VAL(LZ_ERROR_INVALID_ARGUMENT, ZE_RESULT_ERROR_INVALID_ARGUMENT);
SAME_VAL(LZ_ERROR_INVALID_NULL_HANDLE, ZE_RESULT_ERROR_INVALID_NULL_HANDLE);
SAME_VAL(LZ_ERROR_HANDLE_OBJECT_IN_USE, ZE_RESULT_ERROR_HANDLE_OBJECT_IN_USE);
SAME_VAL(LZ_ERROR_INVALID_NULL_POINTER, ZE_RESULT_ERROR_INVALID_NULL_POINTER);
SAME_VAL(LZ_ERROR_INVALID_SIZE, ZE_RESULT_ERROR_INVALID_SIZE);
SAME_VAL(LZ_ERROR_UNSUPPORTED_SIZE, ZE_RESULT_ERROR_UNSUPPORTED_SIZE);
SAME_VAL(LZ_ERROR_UNSUPPORTED_ALIGNMENT, ZE_RESULT_ERROR_UNSUPPORTED_ALIGNMENT);
SAME_VAL(LZ_ERROR_INVALID_ENUMERATION, ZE_RESULT_ERROR_INVALID_ENUMERATION);
SAME_VAL(LZ_ERROR_UNSUPPORTED_ENUMERATION, ZE_RESULT_ERROR_UNSUPPORTED_ENUMERATION);
SAME_VAL(LZ_ERROR_OVERLAPPING_REGIONS, ZE_RESULT_ERROR_OVERLAPPING_REGIONS);
SAME_VAL(LZ_ERROR_UNKNOWN, ZE_RESULT_ERROR_UNKNOWN);

SAME_VAL(LZ_STYPE_DEVICE_PROPERTIES, ZE_STRUCTURE_TYPE_DEVICE_PROPERTIES);
SAME_VAL(LZ_STYPE_DEVICE_MEMORY_PROPERTIES, ZE_STRUCTURE_TYPE_DEVICE_MEMORY_PROPERTIES);
SAME_VAL(LZ_STYPE_CONTEXT_DESC, ZE_STRUCTURE_TYPE_CONTEXT_DESC);
SAME_VAL(LZ_STYPE_COMMAND_QUEUE_DESC, ZE_STRUCTURE_TYPE_COMMAND_QUEUE_DESC);
SAME_VAL(LZ_STYPE_DEVICE_MEM_ALLOC_DESC, ZE_STRUCTURE_TYPE_DEVICE_MEM_ALLOC_DESC);
SAME_VAL(LZ_STYPE_HOST_MEM_ALLOC_DESC, ZE_STRUCTURE_TYPE_HOST_MEM_ALLOC_DESC);
SAME_VAL(LZ_STYPE_MEMORY_ALLOCATION_PROPS, ZE_STRUCTURE_TYPE_MEMORY_ALLOCATION_PROPERTIES);
SAME_VAL(LZ_STYPE_PCI_EXT_PROPERTIES, ZE_STRUCTURE_TYPE_PCI_EXT_PROPERTIES);
SAME_VAL(LZ_DEVICE_TYPE_GPU, ZE_DEVICE_TYPE_GPU);
SAME_VAL(LZ_MAX_DEVICE_NAME, ZE_MAX_DEVICE_NAME);
SAME_VAL(LZ_DEVICE_UUID_SIZE, ZE_MAX_DEVICE_UUID_SIZE);
SAME_VAL(LZ_QUEUE_MODE_SYNCHRONOUS, ZE_COMMAND_QUEUE_MODE_SYNCHRONOUS);
SAME_VAL(LZ_QUEUE_PRIORITY_NORMAL, ZE_COMMAND_QUEUE_PRIORITY_NORMAL);
SAME_VAL(LZ_MEMORY_TYPE_UNKNOWN, ZE_MEMORY_TYPE_UNKNOWN);
SAME_VAL(LZ_MEMORY_TYPE_HOST, ZE_MEMORY_TYPE_HOST);
SAME_VAL(LZ_MEMORY_TYPE_DEVICE, ZE_MEMORY_TYPE_DEVICE);
SAME_VAL(LZ_MEMORY_TYPE_SHARED, ZE_MEMORY_TYPE_SHARED);
SAME_VAL(LZ_ADVICE_SET_READ_MOSTLY, ZE_MEMORY_ADVICE_SET_READ_MOSTLY);
SAME_VAL(LZ_ADVICE_CLEAR_READ_MOSTLY, ZE_MEMORY_ADVICE_CLEAR_READ_MOSTLY);
SAME_VAL(LZ_ADVICE_SET_PREFERRED_LOCATION, ZE_MEMORY_ADVICE_SET_PREFERRED_LOCATION);
SAME_VAL(LZ_ADVICE_CLEAR_PREFERRED_LOCATION, ZE_MEMORY_ADVICE_CLEAR_PREFERRED_LOCATION);
SAME_VAL(1 /* LZ_INIT_GPU_ONLY in ze.c */, ZE_INIT_FLAG_GPU_ONLY);

SAME_SIZE(struct lz_device_properties, ze_device_properties_t);
SAME_AT(struct lz_device_properties, type, ze_device_properties_t, type);
SAME_AT(struct lz_device_properties, max_mem_alloc_size, ze_device_properties_t,
	maxMemAllocSize);
SAME_AT(struct lz_device_properties, timer_resolution, ze_device_properties_t,
	timerResolution);
SAME_AT(struct lz_device_properties, uuid, ze_device_properties_t, uuid);
SAME_AT(struct lz_device_properties, name, ze_device_properties_t, name);

SAME_SIZE(struct lz_device_memory_properties, ze_device_memory_properties_t);
SAME_AT(struct lz_device_memory_properties, total_size, ze_device_memory_properties_t,
	totalSize);
SAME_AT(struct lz_device_memory_properties, name, ze_device_memory_properties_t, name);

SAME_SIZE(struct lz_pci_ext_properties, ze_pci_ext_properties_t);
SAME_AT(struct lz_pci_ext_properties, domain, ze_pci_ext_properties_t, address.domain);
SAME_AT(struct lz_pci_ext_properties, bus, ze_pci_ext_properties_t, address.bus);
SAME_AT(struct lz_pci_ext_properties, device, ze_pci_ext_properties_t, address.device);
SAME_AT(struct lz_pci_ext_properties, function, ze_pci_ext_properties_t, address.function);
SAME_AT(struct lz_pci_ext_properties, max_bandwidth, ze_pci_ext_properties_t,
	maxSpeed.maxBandwidth);

SAME_SIZE(struct lz_context_desc, ze_context_desc_t);
SAME_AT(struct lz_context_desc, flags, ze_context_desc_t, flags);
SAME_SIZE(struct lz_command_queue_desc, ze_command_queue_desc_t);
SAME_AT(struct lz_command_queue_desc, ordinal, ze_command_queue_desc_t, ordinal);
SAME_AT(struct lz_command_queue_desc, mode, ze_command_queue_desc_t, mode);
SAME_AT(struct lz_command_queue_desc, priority, ze_command_queue_desc_t, priority);
SAME_SIZE(struct lz_device_mem_alloc_desc, ze_device_mem_alloc_desc_t);
SAME_AT(struct lz_device_mem_alloc_desc, ordinal, ze_device_mem_alloc_desc_t, ordinal);
SAME_SIZE(struct lz_host_mem_alloc_desc, ze_host_mem_alloc_desc_t);
SAME_SIZE(struct lz_memory_allocation_properties, ze_memory_allocation_properties_t);
SAME_AT(struct lz_memory_allocation_properties, type, ze_memory_allocation_properties_t, type);
SAME_AT(struct lz_memory_allocation_properties, page_size, ze_memory_allocation_properties_t,
	pageSize);

int main(void)
{
	ze_context_handle_t ctx = NULL;
	ze_device_handle_t dev = NULL;

	/* svmrt is not initialized: the typed helper says so */
	if (svm_ze_handles_typed(0, &ctx, &dev) != SVM_ERROR_NOT_INITIALIZED) {
		fprintf(stderr, "FAIL: svm_ze_handles_typed before svm_init\n");
		return 1;
	}
	printf("PASS ze abi: ze_abi.h matches <level_zero/ze_api.h>\n");
	return 0;
}
