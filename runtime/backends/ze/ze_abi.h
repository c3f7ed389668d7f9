/* SPDX-License-Identifier: MIT */
/*
 * The part of the Level Zero C interface that the ze backend uses, declared
 * here so that svmrt builds and runs where Level Zero is absent. Written
 * from the specification (v1.4 core API, plus the PCI properties
 * extension). Names carry an lz_ prefix so they never clash with the real
 * header; tests/ze/abi_check.c compares every layout and value below with
 * <level_zero/ze_api.h> when that header is installed.
 *
 * Every Level Zero entry point is a plain C function (no special calling
 * convention on Linux) returning an lz_result_t.
 */
#ifndef SVM_BACKENDS_ZE_ABI_H
#define SVM_BACKENDS_ZE_ABI_H

#include <stddef.h>
#include <stdint.h>

typedef uint32_t lz_result_t; /* an enum in the spec: 32 bits, values below */

#define LZ_SUCCESS                        0x00000000u
#define LZ_NOT_READY                      0x00000001u
#define LZ_ERROR_DEVICE_LOST              0x70000001u
#define LZ_ERROR_OUT_OF_HOST_MEMORY       0x70000002u
#define LZ_ERROR_OUT_OF_DEVICE_MEMORY     0x70000003u
#define LZ_ERROR_DEVICE_REQUIRES_RESET    0x70000006u
#define LZ_ERROR_DEVICE_IN_LOW_POWER      0x70000007u
#define LZ_ERROR_INSUFFICIENT_PERMISSIONS 0x70010000u
#define LZ_ERROR_NOT_AVAILABLE            0x70010001u
#define LZ_ERROR_DEPENDENCY_UNAVAILABLE   0x70020000u
#define LZ_ERROR_UNINITIALIZED            0x78000001u
#define LZ_ERROR_UNSUPPORTED_VERSION      0x78000002u
#define LZ_ERROR_UNSUPPORTED_FEATURE      0x78000003u
#define LZ_ERROR_INVALID_ARGUMENT         0x78000004u
#define LZ_ERROR_INVALID_NULL_HANDLE      0x78000005u
#define LZ_ERROR_HANDLE_OBJECT_IN_USE     0x78000006u
#define LZ_ERROR_INVALID_NULL_POINTER     0x78000007u
#define LZ_ERROR_INVALID_SIZE             0x78000008u
#define LZ_ERROR_UNSUPPORTED_SIZE         0x78000009u
#define LZ_ERROR_UNSUPPORTED_ALIGNMENT    0x7800000au
#define LZ_ERROR_INVALID_ENUMERATION      0x7800000cu
#define LZ_ERROR_UNSUPPORTED_ENUMERATION  0x7800000du
#define LZ_ERROR_OVERLAPPING_REGIONS      0x7800001au
#define LZ_ERROR_UNKNOWN                  0x7ffffffeu

/* Opaque handles: pointers to structures the driver never shows. */
typedef struct lz_driver *lz_driver_t;
typedef struct lz_device *lz_device_t;
typedef struct lz_context *lz_context_t;
typedef struct lz_cmdlist *lz_cmdlist_t;

/* ze_structure_type_t values of the structures below */
#define LZ_STYPE_DEVICE_PROPERTIES        0x3u
#define LZ_STYPE_DEVICE_MEMORY_PROPERTIES 0x7u
#define LZ_STYPE_CONTEXT_DESC             0xdu
#define LZ_STYPE_COMMAND_QUEUE_DESC       0xeu
#define LZ_STYPE_DEVICE_MEM_ALLOC_DESC    0x15u
#define LZ_STYPE_HOST_MEM_ALLOC_DESC      0x16u
#define LZ_STYPE_MEMORY_ALLOCATION_PROPS  0x17u
#define LZ_STYPE_PCI_EXT_PROPERTIES       0x10008u

#define LZ_DEVICE_TYPE_GPU 1u
#define LZ_MAX_DEVICE_NAME 256
#define LZ_DEVICE_UUID_SIZE 16

/* zeDeviceGetProperties */
struct lz_device_properties {
	uint32_t stype;
	void *next;
	uint32_t type;
	uint32_t vendor_id;
	uint32_t device_id;
	uint32_t flags;
	uint32_t subdevice_id;
	uint32_t core_clock_rate;
	uint64_t max_mem_alloc_size;
	uint32_t max_hardware_contexts;
	uint32_t max_command_queue_priority;
	uint32_t threads_per_eu;
	uint32_t eu_simd_width;
	uint32_t eus_per_subslice;
	uint32_t subslices_per_slice;
	uint32_t slices;
	uint64_t timer_resolution;
	uint32_t timestamp_valid_bits;
	uint32_t kernel_timestamp_valid_bits;
	uint8_t uuid[LZ_DEVICE_UUID_SIZE];
	char name[LZ_MAX_DEVICE_NAME];
};

/* zeDeviceGetMemoryProperties: one per memory of the device */
struct lz_device_memory_properties {
	uint32_t stype;
	void *next;
	uint32_t flags;
	uint32_t max_clock_rate;
	uint32_t max_bus_width;
	uint64_t total_size;
	char name[LZ_MAX_DEVICE_NAME];
};

/* zeDevicePciGetPropertiesExt (extension ZE_extension_pci_properties) */
struct lz_pci_ext_properties {
	uint32_t stype;
	void *next;
	uint32_t domain, bus, device, function;
	int32_t gen_version;
	int32_t width;
	int64_t max_bandwidth;
};

struct lz_context_desc {
	uint32_t stype;
	const void *next;
	uint32_t flags;
};

#define LZ_QUEUE_MODE_SYNCHRONOUS 1u
#define LZ_QUEUE_PRIORITY_NORMAL 0u

struct lz_command_queue_desc {
	uint32_t stype;
	const void *next;
	uint32_t ordinal;
	uint32_t index;
	uint32_t flags;
	uint32_t mode;
	uint32_t priority;
};

struct lz_device_mem_alloc_desc {
	uint32_t stype;
	const void *next;
	uint32_t flags;
	uint32_t ordinal;
};

struct lz_host_mem_alloc_desc {
	uint32_t stype;
	const void *next;
	uint32_t flags;
};

/* ze_memory_type_t */
#define LZ_MEMORY_TYPE_UNKNOWN 0u
#define LZ_MEMORY_TYPE_HOST 1u
#define LZ_MEMORY_TYPE_DEVICE 2u
#define LZ_MEMORY_TYPE_SHARED 3u

struct lz_memory_allocation_properties {
	uint32_t stype;
	void *next;
	uint32_t type;
	uint64_t id;
	uint64_t page_size;
};

/* ze_memory_advice_t */
#define LZ_ADVICE_SET_READ_MOSTLY 0u
#define LZ_ADVICE_CLEAR_READ_MOSTLY 1u
#define LZ_ADVICE_SET_PREFERRED_LOCATION 2u
#define LZ_ADVICE_CLEAR_PREFERRED_LOCATION 3u

/* The entry points, as function pointer types for dlsym. */
typedef lz_result_t (*lz_init_fn)(uint32_t flags);
typedef lz_result_t (*lz_driver_get_fn)(uint32_t *count, lz_driver_t *drivers);
typedef lz_result_t (*lz_device_get_fn)(lz_driver_t drv, uint32_t *count, lz_device_t *devs);
typedef lz_result_t (*lz_device_props_fn)(lz_device_t dev, struct lz_device_properties *p);
typedef lz_result_t (*lz_device_mem_props_fn)(lz_device_t dev, uint32_t *count,
					      struct lz_device_memory_properties *p);
typedef lz_result_t (*lz_device_pci_props_fn)(lz_device_t dev, struct lz_pci_ext_properties *p);
typedef lz_result_t (*lz_context_create_fn)(lz_driver_t drv, const struct lz_context_desc *d,
					    lz_context_t *ctx);
typedef lz_result_t (*lz_context_destroy_fn)(lz_context_t ctx);
typedef lz_result_t (*lz_mem_alloc_shared_fn)(lz_context_t ctx,
					      const struct lz_device_mem_alloc_desc *dd,
					      const struct lz_host_mem_alloc_desc *hd, size_t size,
					      size_t alignment, lz_device_t dev, void **ptr);
typedef lz_result_t (*lz_mem_free_fn)(lz_context_t ctx, void *ptr);
typedef lz_result_t (*lz_mem_alloc_props_fn)(lz_context_t ctx, const void *ptr,
					     struct lz_memory_allocation_properties *p,
					     lz_device_t *dev);
typedef lz_result_t (*lz_cmdlist_create_immediate_fn)(lz_context_t ctx, lz_device_t dev,
						      const struct lz_command_queue_desc *d,
						      lz_cmdlist_t *cl);
typedef lz_result_t (*lz_cmdlist_destroy_fn)(lz_cmdlist_t cl);
typedef lz_result_t (*lz_cmdlist_prefetch_fn)(lz_cmdlist_t cl, const void *ptr, size_t size);
typedef lz_result_t (*lz_cmdlist_advise_fn)(lz_cmdlist_t cl, lz_device_t dev, const void *ptr,
					    size_t size, uint32_t advice);

#endif
