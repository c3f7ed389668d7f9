/* SPDX-License-Identifier: MIT */
/*
 * A fake Level Zero driver for svmrt's tests: the real loader
 * (libze_loader.so.1) loads it through ZE_ENABLE_ALT_DRIVERS=/path/to/it.
 *
 * A driver is a shared library that exports one "get table" function per
 * group of entry points (zeGetDeviceProcAddrTable, zetGetMetricProcAddrTable,
 * zesGetPowerProcAddrTable, ...). The loader asks for every group, so this
 * library exports every getter the 1.8 loader knows; the groups svmrt does
 * not use come back zero-filled. The few entry points the ze backend calls
 * are implemented here, and each call is written as one line to the file
 * named by FAKE_ZE_LOG, which the tests read to check what svmrt asked for.
 *
 * This is test code: it reads its own environment variables.
 *   FAKE_ZE_LOG=FILE        append one line per call
 *   FAKE_ZE_DEVICES=N       GPUs of the one driver (0..2, default 1)
 *   FAKE_ZE_INIT_FAIL=1     the driver's zeInit fails (the loader drops it)
 *   FAKE_ZE_FAIL=Call:0xRC  the next calls of Call (e.g. MemAllocShared)
 *                           return RC; read at every call, so a test can
 *                           setenv/unsetenv it between calls
 * Devices: 0 "Fake Xe GPU 0" at PCI 0000:3b:00.0, 1 "Fake Xe GPU 1" at
 * 0000:af:00.0 (the GPUs of tests/topo/two-nodes-two-gpus.xml), 4 GiB each.
 * Shared allocations are anonymous mmap()s, aligned as asked.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <level_zero/ze_ddi.h>
#include <level_zero/zes_ddi.h>
#include <level_zero/zet_ddi.h>

#define EXPORT __attribute__((visibility("default")))
#define MAX_DEV 2

struct _ze_driver_handle_t { int magic; };
struct _ze_device_handle_t { int index; };
struct _ze_context_handle_t { int magic; };
struct _ze_command_list_handle_t { int device; };

static struct _ze_driver_handle_t the_driver = { 0x2e };
static struct _ze_device_handle_t the_devices[MAX_DEV] = { { 0 }, { 1 } };
static const uint32_t pci_bus[MAX_DEV] = { 0x3b, 0xaf }; /* domain 0, device 0, fn 0 */

struct alloc {
	void *base; /* what mmap returned */
	size_t maplen;
	void *ptr;  /* what the caller got */
	size_t size;
	uint64_t id;
	int device; /* -1: none */
	struct alloc *next;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct alloc *allocs;
static uint64_t next_id = 1;

/* ---- recording and failure injection --------------------------------- */

static void record(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void record(const char *fmt, ...)
{
	const char *path = getenv("FAKE_ZE_LOG");
	va_list ap;
	FILE *f;

	if (!path || !*path)
		return;
	pthread_mutex_lock(&lock);
	f = fopen(path, "a");
	if (f) {
		va_start(ap, fmt);
		vfprintf(f, fmt, ap);
		va_end(ap);
		fputc('\n', f);
		fclose(f);
	}
	pthread_mutex_unlock(&lock);
}

/* FAKE_ZE_FAIL=Call:0xRC: the result to fake for `call`, or success. */
static ze_result_t injected(const char *call)
{
	const char *spec = getenv("FAKE_ZE_FAIL");
	size_t n = strlen(call);

	if (!spec || strncmp(spec, call, n) || spec[n] != ':')
		return ZE_RESULT_SUCCESS;
	return (ze_result_t)strtoul(spec + n + 1, NULL, 0);
}

static int ndevices(void)
{
	const char *s = getenv("FAKE_ZE_DEVICES");
	int n = s ? atoi(s) : 1;

	return n < 0 ? 0 : n > MAX_DEV ? MAX_DEV : n;
}

static int dev_index(ze_device_handle_t d)
{
	for (int i = 0; i < MAX_DEV; i++)
		if (d == &the_devices[i])
			return i;
	return -1;
}

#define FAIL_IF_INJECTED(call)                                         \
	do {                                                           \
		ze_result_t inj_ = injected(call);                     \
		if (inj_ != ZE_RESULT_SUCCESS) {                       \
			record("%s injected=0x%x", call, (unsigned)inj_); \
			return inj_;                                   \
		}                                                      \
	} while (0)

/* ---- the entry points svmrt uses -------------------------------------- */

static ze_result_t fake_init(ze_init_flags_t flags)
{
	const char *fail = getenv("FAKE_ZE_INIT_FAIL");

	record("Init flags=0x%x", (unsigned)flags);
	if (fail && *fail == '1')
		return ZE_RESULT_ERROR_UNINITIALIZED;
	return ZE_RESULT_SUCCESS;
}

static ze_result_t fake_driver_get(uint32_t *count, ze_driver_handle_t *drivers)
{
	if (!count)
		return ZE_RESULT_ERROR_INVALID_NULL_POINTER;
	if (drivers && *count >= 1)
		drivers[0] = &the_driver;
	*count = 1;
	return ZE_RESULT_SUCCESS;
}

static ze_result_t fake_driver_get_api_version(ze_driver_handle_t d, ze_api_version_t *v)
{
	(void)d;
	*v = ZE_API_VERSION_1_4;
	return ZE_RESULT_SUCCESS;
}

static ze_result_t fake_device_get(ze_driver_handle_t drv, uint32_t *count,
				   ze_device_handle_t *devs)
{
	uint32_t n = (uint32_t)ndevices();

	if (drv != &the_driver)
		return ZE_RESULT_ERROR_INVALID_NULL_HANDLE;
	if (!count)
		return ZE_RESULT_ERROR_INVALID_NULL_POINTER;
	if (!devs || *count == 0) {
		*count = n;
		return ZE_RESULT_SUCCESS;
	}
	if (*count > n)
		*count = n;
	for (uint32_t i = 0; i < *count; i++)
		devs[i] = &the_devices[i];
	return ZE_RESULT_SUCCESS;
}

static ze_result_t fake_device_props(ze_device_handle_t d, ze_device_properties_t *p)
{
	int i = dev_index(d);

	if (i < 0)
		return ZE_RESULT_ERROR_INVALID_NULL_HANDLE;
	if (!p || p->stype != ZE_STRUCTURE_TYPE_DEVICE_PROPERTIES)
		return ZE_RESULT_ERROR_INVALID_ARGUMENT;
	FAIL_IF_INJECTED("DeviceGetProperties");
	p->type = ZE_DEVICE_TYPE_GPU;
	p->vendorId = 0x8086;
	p->deviceId = 0x56a0;
	p->maxMemAllocSize = 4ull << 30;
	snprintf(p->name, sizeof(p->name), "Fake Xe GPU %d", i);
	return ZE_RESULT_SUCCESS;
}

static ze_result_t fake_device_mem_props(ze_device_handle_t d, uint32_t *count,
					 ze_device_memory_properties_t *p)
{
	if (dev_index(d) < 0)
		return ZE_RESULT_ERROR_INVALID_NULL_HANDLE;
	if (!count)
		return ZE_RESULT_ERROR_INVALID_NULL_POINTER;
	if (p && *count >= 1) {
		p[0].totalSize = 4ull << 30;
		snprintf(p[0].name, sizeof(p[0].name), "HBM");
	}
	*count = 1;
	return ZE_RESULT_SUCCESS;
}

static ze_result_t fake_device_pci_props(ze_device_handle_t d, ze_pci_ext_properties_t *p)
{
	int i = dev_index(d);

	if (i < 0)
		return ZE_RESULT_ERROR_INVALID_NULL_HANDLE;
	if (!p || p->stype != ZE_STRUCTURE_TYPE_PCI_EXT_PROPERTIES)
		return ZE_RESULT_ERROR_INVALID_ARGUMENT;
	FAIL_IF_INJECTED("DevicePciGetPropertiesExt");
	p->address.domain = 0;
	p->address.bus = pci_bus[i];
	p->address.device = 0;
	p->address.function = 0;
	return ZE_RESULT_SUCCESS;
}

static ze_result_t fake_context_create(ze_driver_handle_t drv, const ze_context_desc_t *desc,
				       ze_context_handle_t *ctx)
{
	if (drv != &the_driver)
		return ZE_RESULT_ERROR_INVALID_NULL_HANDLE;
	if (!desc || !ctx || desc->stype != ZE_STRUCTURE_TYPE_CONTEXT_DESC)
		return ZE_RESULT_ERROR_INVALID_ARGUMENT;
	FAIL_IF_INJECTED("ContextCreate");
	*ctx = calloc(1, sizeof(**ctx));
	if (!*ctx)
		return ZE_RESULT_ERROR_OUT_OF_HOST_MEMORY;
	(*ctx)->magic = 0xc7;
	record("ContextCreate ctx=%p", (void *)*ctx);
	return ZE_RESULT_SUCCESS;
}

static ze_result_t fake_context_destroy(ze_context_handle_t ctx)
{
	if (!ctx || ctx->magic != 0xc7)
		return ZE_RESULT_ERROR_INVALID_NULL_HANDLE;
	record("ContextDestroy ctx=%p", (void *)ctx);
	ctx->magic = 0;
	free(ctx);
	return ZE_RESULT_SUCCESS;
}

static ze_result_t fake_alloc_shared(ze_context_handle_t ctx,
				     const ze_device_mem_alloc_desc_t *dd,
				     const ze_host_mem_alloc_desc_t *hd, size_t size,
				     size_t align, ze_device_handle_t dev, void **out)
{
	struct alloc *a;
	uintptr_t at;

	if (!ctx || ctx->magic != 0xc7)
		return ZE_RESULT_ERROR_INVALID_NULL_HANDLE;
	if (!dd || !hd || !out || dd->stype != ZE_STRUCTURE_TYPE_DEVICE_MEM_ALLOC_DESC ||
	    hd->stype != ZE_STRUCTURE_TYPE_HOST_MEM_ALLOC_DESC)
		return ZE_RESULT_ERROR_INVALID_ARGUMENT;
	if (!size)
		return ZE_RESULT_ERROR_UNSUPPORTED_SIZE;
	if (align & (align - 1))
		return ZE_RESULT_ERROR_UNSUPPORTED_ALIGNMENT;
	if (dev && dev_index(dev) < 0)
		return ZE_RESULT_ERROR_INVALID_NULL_HANDLE;
	FAIL_IF_INJECTED("MemAllocShared");
	a = calloc(1, sizeof(*a));
	if (!a)
		return ZE_RESULT_ERROR_OUT_OF_HOST_MEMORY;
	if (align < 4096)
		align = 4096;
	a->maplen = size + align;
	a->base = mmap(NULL, a->maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);
	if (a->base == MAP_FAILED) {
		free(a);
		return ZE_RESULT_ERROR_OUT_OF_DEVICE_MEMORY;
	}
	at = ((uintptr_t)a->base + align - 1) & ~(uintptr_t)(align - 1);
	/* fresh memory of a real driver is not zero: make sure svmrt clears it */
	memset((void *)at, 0xa5, size);
	a->ptr = (void *)at;
	a->size = size;
	a->device = dev ? dev_index(dev) : -1;
	pthread_mutex_lock(&lock);
	a->id = next_id++;
	a->next = allocs;
	allocs = a;
	pthread_mutex_unlock(&lock);
	*out = a->ptr;
	record("MemAllocShared ptr=%p size=%zu align=%zu dev=%d", a->ptr, size, align, a->device);
	return ZE_RESULT_SUCCESS;
}

static ze_result_t fake_mem_free(ze_context_handle_t ctx, void *ptr)
{
	struct alloc **pp, *a = NULL;

	if (!ctx || ctx->magic != 0xc7)
		return ZE_RESULT_ERROR_INVALID_NULL_HANDLE;
	FAIL_IF_INJECTED("MemFree");
	pthread_mutex_lock(&lock);
	for (pp = &allocs; *pp; pp = &(*pp)->next) {
		if ((*pp)->ptr == ptr) {
			a = *pp;
			*pp = a->next;
			break;
		}
	}
	pthread_mutex_unlock(&lock);
	record("MemFree ptr=%p%s", ptr, a ? "" : " unknown");
	if (!a)
		return ZE_RESULT_ERROR_INVALID_ARGUMENT;
	munmap(a->base, a->maplen);
	free(a);
	return ZE_RESULT_SUCCESS;
}

static ze_result_t fake_alloc_props(ze_context_handle_t ctx, const void *ptr,
				    ze_memory_allocation_properties_t *p,
				    ze_device_handle_t *dev)
{
	const struct alloc *a;

	if (!ctx || ctx->magic != 0xc7)
		return ZE_RESULT_ERROR_INVALID_NULL_HANDLE;
	if (!p)
		return ZE_RESULT_ERROR_INVALID_NULL_POINTER;
	FAIL_IF_INJECTED("MemGetAllocProperties");
	p->type = ZE_MEMORY_TYPE_UNKNOWN;
	p->id = 0;
	p->pageSize = 0;
	if (dev)
		*dev = NULL;
	pthread_mutex_lock(&lock);
	for (a = allocs; a; a = a->next) {
		if ((const char *)ptr >= (const char *)a->ptr &&
		    (const char *)ptr < (const char *)a->ptr + a->size) {
			p->type = ZE_MEMORY_TYPE_SHARED;
			p->id = a->id;
			p->pageSize = 65536;
			if (dev && a->device >= 0)
				*dev = &the_devices[a->device];
			break;
		}
	}
	pthread_mutex_unlock(&lock);
	record("MemGetAllocProperties ptr=%p type=%d", ptr, (int)p->type);
	return ZE_RESULT_SUCCESS;
}

static ze_result_t fake_cl_create_immediate(ze_context_handle_t ctx, ze_device_handle_t dev,
					    const ze_command_queue_desc_t *desc,
					    ze_command_list_handle_t *cl)
{
	int i = dev_index(dev);

	if (!ctx || ctx->magic != 0xc7 || i < 0)
		return ZE_RESULT_ERROR_INVALID_NULL_HANDLE;
	if (!desc || !cl || desc->stype != ZE_STRUCTURE_TYPE_COMMAND_QUEUE_DESC)
		return ZE_RESULT_ERROR_INVALID_ARGUMENT;
	FAIL_IF_INJECTED("CommandListCreateImmediate");
	*cl = calloc(1, sizeof(**cl));
	if (!*cl)
		return ZE_RESULT_ERROR_OUT_OF_HOST_MEMORY;
	(*cl)->device = i;
	record("CommandListCreateImmediate dev=%d mode=%d ordinal=%u", i, (int)desc->mode,
	       desc->ordinal);
	return ZE_RESULT_SUCCESS;
}

static ze_result_t fake_cl_destroy(ze_command_list_handle_t cl)
{
	if (!cl)
		return ZE_RESULT_ERROR_INVALID_NULL_HANDLE;
	record("CommandListDestroy dev=%d", cl->device);
	free(cl);
	return ZE_RESULT_SUCCESS;
}

static ze_result_t fake_prefetch(ze_command_list_handle_t cl, const void *ptr, size_t size)
{
	if (!cl)
		return ZE_RESULT_ERROR_INVALID_NULL_HANDLE;
	FAIL_IF_INJECTED("CommandListAppendMemoryPrefetch");
	record("Prefetch dev=%d ptr=%p size=%zu", cl->device, ptr, size);
	return ZE_RESULT_SUCCESS;
}

static ze_result_t fake_advise(ze_command_list_handle_t cl, ze_device_handle_t dev,
			       const void *ptr, size_t size, ze_memory_advice_t advice)
{
	if (!cl || dev_index(dev) < 0)
		return ZE_RESULT_ERROR_INVALID_NULL_HANDLE;
	if ((unsigned)advice > ZE_MEMORY_ADVICE_BIAS_UNCACHED)
		return ZE_RESULT_ERROR_INVALID_ENUMERATION;
	FAIL_IF_INJECTED("CommandListAppendMemAdvise");
	record("Advise list=%d dev=%d ptr=%p size=%zu advice=%d", cl->device, dev_index(dev),
	       ptr, size, (int)advice);
	return ZE_RESULT_SUCCESS;
}

/* ---- the tables ------------------------------------------------------- */

EXPORT ze_result_t zeGetGlobalProcAddrTable(ze_api_version_t v, ze_global_dditable_t *t)
{
	(void)v;
	if (!t)
		return ZE_RESULT_ERROR_INVALID_NULL_POINTER;
	memset(t, 0, sizeof(*t));
	t->pfnInit = fake_init;
	return ZE_RESULT_SUCCESS;
}

EXPORT ze_result_t zeGetDriverProcAddrTable(ze_api_version_t v, ze_driver_dditable_t *t)
{
	(void)v;
	if (!t)
		return ZE_RESULT_ERROR_INVALID_NULL_POINTER;
	memset(t, 0, sizeof(*t));
	t->pfnGet = fake_driver_get;
	t->pfnGetApiVersion = fake_driver_get_api_version;
	return ZE_RESULT_SUCCESS;
}

EXPORT ze_result_t zeGetDeviceProcAddrTable(ze_api_version_t v, ze_device_dditable_t *t)
{
	(void)v;
	if (!t)
		return ZE_RESULT_ERROR_INVALID_NULL_POINTER;
	memset(t, 0, sizeof(*t));
	t->pfnGet = fake_device_get;
	t->pfnGetProperties = fake_device_props;
	t->pfnGetMemoryProperties = fake_device_mem_props;
	t->pfnPciGetPropertiesExt = fake_device_pci_props;
	return ZE_RESULT_SUCCESS;
}

EXPORT ze_result_t zeGetContextProcAddrTable(ze_api_version_t v, ze_context_dditable_t *t)
{
	(void)v;
	if (!t)
		return ZE_RESULT_ERROR_INVALID_NULL_POINTER;
	memset(t, 0, sizeof(*t));
	t->pfnCreate = fake_context_create;
	t->pfnDestroy = fake_context_destroy;
	return ZE_RESULT_SUCCESS;
}

EXPORT ze_result_t zeGetMemProcAddrTable(ze_api_version_t v, ze_mem_dditable_t *t)
{
	(void)v;
	if (!t)
		return ZE_RESULT_ERROR_INVALID_NULL_POINTER;
	memset(t, 0, sizeof(*t));
	t->pfnAllocShared = fake_alloc_shared;
	t->pfnFree = fake_mem_free;
	t->pfnGetAllocProperties = fake_alloc_props;
	return ZE_RESULT_SUCCESS;
}

EXPORT ze_result_t zeGetCommandListProcAddrTable(ze_api_version_t v,
						 ze_command_list_dditable_t *t)
{
	(void)v;
	if (!t)
		return ZE_RESULT_ERROR_INVALID_NULL_POINTER;
	memset(t, 0, sizeof(*t));
	t->pfnCreateImmediate = fake_cl_create_immediate;
	t->pfnDestroy = fake_cl_destroy;
	t->pfnAppendMemoryPrefetch = fake_prefetch;
	t->pfnAppendMemAdvise = fake_advise;
	return ZE_RESULT_SUCCESS;
}

/* Every other group the loader asks for: present, and empty. */
#define EMPTY_TABLE(getter, type)                                        \
	EXPORT ze_result_t getter(ze_api_version_t v, type *t)           \
	{                                                                \
		(void)v;                                                 \
		if (!t)                                                  \
			return ZE_RESULT_ERROR_INVALID_NULL_POINTER;     \
		memset(t, 0, sizeof(*t));                                \
		return ZE_RESULT_SUCCESS;                                \
	}

EMPTY_TABLE(zeGetDeviceExpProcAddrTable, ze_device_exp_dditable_t)
EMPTY_TABLE(zeGetCommandQueueProcAddrTable, ze_command_queue_dditable_t)
EMPTY_TABLE(zeGetImageProcAddrTable, ze_image_dditable_t)
EMPTY_TABLE(zeGetImageExpProcAddrTable, ze_image_exp_dditable_t)
EMPTY_TABLE(zeGetFenceProcAddrTable, ze_fence_dditable_t)
EMPTY_TABLE(zeGetEventPoolProcAddrTable, ze_event_pool_dditable_t)
EMPTY_TABLE(zeGetEventProcAddrTable, ze_event_dditable_t)
EMPTY_TABLE(zeGetEventExpProcAddrTable, ze_event_exp_dditable_t)
EMPTY_TABLE(zeGetModuleProcAddrTable, ze_module_dditable_t)
EMPTY_TABLE(zeGetModuleBuildLogProcAddrTable, ze_module_build_log_dditable_t)
EMPTY_TABLE(zeGetKernelProcAddrTable, ze_kernel_dditable_t)
EMPTY_TABLE(zeGetKernelExpProcAddrTable, ze_kernel_exp_dditable_t)
EMPTY_TABLE(zeGetSamplerProcAddrTable, ze_sampler_dditable_t)
EMPTY_TABLE(zeGetPhysicalMemProcAddrTable, ze_physical_mem_dditable_t)
EMPTY_TABLE(zeGetVirtualMemProcAddrTable, ze_virtual_mem_dditable_t)
EMPTY_TABLE(zeGetFabricVertexExpProcAddrTable, ze_fabric_vertex_exp_dditable_t)
EMPTY_TABLE(zeGetFabricEdgeExpProcAddrTable, ze_fabric_edge_exp_dditable_t)

EMPTY_TABLE(zetGetDeviceProcAddrTable, zet_device_dditable_t)
EMPTY_TABLE(zetGetContextProcAddrTable, zet_context_dditable_t)
EMPTY_TABLE(zetGetCommandListProcAddrTable, zet_command_list_dditable_t)
EMPTY_TABLE(zetGetModuleProcAddrTable, zet_module_dditable_t)
EMPTY_TABLE(zetGetKernelProcAddrTable, zet_kernel_dditable_t)
EMPTY_TABLE(zetGetMetricGroupProcAddrTable, zet_metric_group_dditable_t)
EMPTY_TABLE(zetGetMetricGroupExpProcAddrTable, zet_metric_group_exp_dditable_t)
EMPTY_TABLE(zetGetMetricProcAddrTable, zet_metric_dditable_t)
EMPTY_TABLE(zetGetMetricStreamerProcAddrTable, zet_metric_streamer_dditable_t)
EMPTY_TABLE(zetGetMetricQueryPoolProcAddrTable, zet_metric_query_pool_dditable_t)
EMPTY_TABLE(zetGetMetricQueryProcAddrTable, zet_metric_query_dditable_t)
EMPTY_TABLE(zetGetTracerExpProcAddrTable, zet_tracer_exp_dditable_t)
EMPTY_TABLE(zetGetDebugProcAddrTable, zet_debug_dditable_t)

EMPTY_TABLE(zesGetDriverProcAddrTable, zes_driver_dditable_t)
EMPTY_TABLE(zesGetDeviceProcAddrTable, zes_device_dditable_t)
EMPTY_TABLE(zesGetSchedulerProcAddrTable, zes_scheduler_dditable_t)
EMPTY_TABLE(zesGetPerformanceFactorProcAddrTable, zes_performance_factor_dditable_t)
EMPTY_TABLE(zesGetPowerProcAddrTable, zes_power_dditable_t)
EMPTY_TABLE(zesGetFrequencyProcAddrTable, zes_frequency_dditable_t)
EMPTY_TABLE(zesGetEngineProcAddrTable, zes_engine_dditable_t)
EMPTY_TABLE(zesGetStandbyProcAddrTable, zes_standby_dditable_t)
EMPTY_TABLE(zesGetFirmwareProcAddrTable, zes_firmware_dditable_t)
EMPTY_TABLE(zesGetMemoryProcAddrTable, zes_memory_dditable_t)
EMPTY_TABLE(zesGetFabricPortProcAddrTable, zes_fabric_port_dditable_t)
EMPTY_TABLE(zesGetTemperatureProcAddrTable, zes_temperature_dditable_t)
EMPTY_TABLE(zesGetPsuProcAddrTable, zes_psu_dditable_t)
EMPTY_TABLE(zesGetFanProcAddrTable, zes_fan_dditable_t)
EMPTY_TABLE(zesGetLedProcAddrTable, zes_led_dditable_t)
EMPTY_TABLE(zesGetRasProcAddrTable, zes_ras_dditable_t)
EMPTY_TABLE(zesGetDiagnosticsProcAddrTable, zes_diagnostics_dditable_t)
