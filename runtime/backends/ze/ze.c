/* SPDX-License-Identifier: MIT */
/*
 * The ze backend: real Intel GPUs through the Level Zero loader.
 *
 * The loader is opened at run time (SVM_ZE_LOADER, default
 * libze_loader.so.1) and every entry point is looked up with dlsym, so an
 * application linked with svmrt runs where Level Zero is absent: the
 * backend then reports itself unavailable and SVM_BACKEND=auto moves on.
 *
 * Memory is Level Zero shared memory and migration is the driver's: svmrt
 * keeps its ranges for argument checks only. Prefetch and advice become
 * commands on one synchronous immediate command list per device. There is
 * no device code of ours: applications launch their own kernels with the
 * handles that svm_ze_handles() gives them.
 *
 * Every Level Zero result goes through lz_check(), the one place where a
 * native code becomes an svm_result_t and is logged.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "../backend.h"
#include "../../topo/topo.h"
#include "ze.h"
#include "ze_abi.h"

#define LZ_INIT_GPU_ONLY 1u

/* The entry points we use, looked up by name. */
struct lz_api {
	lz_init_fn init;
	lz_driver_get_fn driver_get;
	lz_device_get_fn device_get;
	lz_device_props_fn device_props;
	lz_device_mem_props_fn device_mem_props;
	lz_device_pci_props_fn device_pci_props; /* an extension: may be NULL */
	lz_context_create_fn context_create;
	lz_context_destroy_fn context_destroy;
	lz_mem_alloc_shared_fn alloc_shared;
	lz_mem_free_fn mem_free;
	lz_mem_alloc_props_fn alloc_props;
	lz_cmdlist_create_immediate_fn cl_create;
	lz_cmdlist_destroy_fn cl_destroy;
	lz_cmdlist_prefetch_fn cl_prefetch;
	lz_cmdlist_advise_fn cl_advise;
};

static const struct {
	const char *name;
	size_t offset;
	bool optional;
} symbols[] = {
#define SYM(f, n, opt) { n, offsetof(struct lz_api, f), opt }
	SYM(init, "zeInit", false),
	SYM(driver_get, "zeDriverGet", false),
	SYM(device_get, "zeDeviceGet", false),
	SYM(device_props, "zeDeviceGetProperties", false),
	SYM(device_mem_props, "zeDeviceGetMemoryProperties", false),
	SYM(device_pci_props, "zeDevicePciGetPropertiesExt", true),
	SYM(context_create, "zeContextCreate", false),
	SYM(context_destroy, "zeContextDestroy", false),
	SYM(alloc_shared, "zeMemAllocShared", false),
	SYM(mem_free, "zeMemFree", false),
	SYM(alloc_props, "zeMemGetAllocProperties", false),
	SYM(cl_create, "zeCommandListCreateImmediate", false),
	SYM(cl_destroy, "zeCommandListDestroy", false),
	SYM(cl_prefetch, "zeCommandListAppendMemoryPrefetch", false),
	SYM(cl_advise, "zeCommandListAppendMemAdvise", false),
#undef SYM
};

struct ze_dev {
	lz_device_t handle;
	lz_cmdlist_t cl;
	char name[64];
	char pci[16]; /* "dddd:bb:dd.f" or "" */
	uint64_t memory;
};

static struct ze {
	/* the loader stays open once opened: Level Zero initializes once */
	void *lib;
	char lib_name[256];
	struct lz_api f;
	lz_driver_t driver;
	lz_context_t ctx;
	int ndev;
	struct ze_dev dev[SVM__MAX_DEVICES];
	bool ready; /* handles published to svm_ze_handles; rt->lock */
} Z;

/* ---- results: the one boundary --------------------------------------- */

static const char *lz_name(lz_result_t r)
{
	switch (r) {
	case LZ_SUCCESS: return "ZE_RESULT_SUCCESS";
	case LZ_NOT_READY: return "ZE_RESULT_NOT_READY";
	case LZ_ERROR_DEVICE_LOST: return "ZE_RESULT_ERROR_DEVICE_LOST";
	case LZ_ERROR_OUT_OF_HOST_MEMORY: return "ZE_RESULT_ERROR_OUT_OF_HOST_MEMORY";
	case LZ_ERROR_OUT_OF_DEVICE_MEMORY: return "ZE_RESULT_ERROR_OUT_OF_DEVICE_MEMORY";
	case LZ_ERROR_DEVICE_REQUIRES_RESET: return "ZE_RESULT_ERROR_DEVICE_REQUIRES_RESET";
	case LZ_ERROR_DEVICE_IN_LOW_POWER: return "ZE_RESULT_ERROR_DEVICE_IN_LOW_POWER_STATE";
	case LZ_ERROR_INSUFFICIENT_PERMISSIONS:
		return "ZE_RESULT_ERROR_INSUFFICIENT_PERMISSIONS";
	case LZ_ERROR_NOT_AVAILABLE: return "ZE_RESULT_ERROR_NOT_AVAILABLE";
	case LZ_ERROR_DEPENDENCY_UNAVAILABLE: return "ZE_RESULT_ERROR_DEPENDENCY_UNAVAILABLE";
	case LZ_ERROR_UNINITIALIZED: return "ZE_RESULT_ERROR_UNINITIALIZED";
	case LZ_ERROR_UNSUPPORTED_VERSION: return "ZE_RESULT_ERROR_UNSUPPORTED_VERSION";
	case LZ_ERROR_UNSUPPORTED_FEATURE: return "ZE_RESULT_ERROR_UNSUPPORTED_FEATURE";
	case LZ_ERROR_INVALID_ARGUMENT: return "ZE_RESULT_ERROR_INVALID_ARGUMENT";
	case LZ_ERROR_INVALID_NULL_HANDLE: return "ZE_RESULT_ERROR_INVALID_NULL_HANDLE";
	case LZ_ERROR_HANDLE_OBJECT_IN_USE: return "ZE_RESULT_ERROR_HANDLE_OBJECT_IN_USE";
	case LZ_ERROR_INVALID_NULL_POINTER: return "ZE_RESULT_ERROR_INVALID_NULL_POINTER";
	case LZ_ERROR_INVALID_SIZE: return "ZE_RESULT_ERROR_INVALID_SIZE";
	case LZ_ERROR_UNSUPPORTED_SIZE: return "ZE_RESULT_ERROR_UNSUPPORTED_SIZE";
	case LZ_ERROR_UNSUPPORTED_ALIGNMENT: return "ZE_RESULT_ERROR_UNSUPPORTED_ALIGNMENT";
	case LZ_ERROR_INVALID_ENUMERATION: return "ZE_RESULT_ERROR_INVALID_ENUMERATION";
	case LZ_ERROR_UNSUPPORTED_ENUMERATION: return "ZE_RESULT_ERROR_UNSUPPORTED_ENUMERATION";
	case LZ_ERROR_OVERLAPPING_REGIONS: return "ZE_RESULT_ERROR_OVERLAPPING_REGIONS";
	case LZ_ERROR_UNKNOWN: return "ZE_RESULT_ERROR_UNKNOWN";
	}
	return "an unknown ze_result_t";
}

static svm_result_t lz_map(lz_result_t r)
{
	switch (r) {
	case LZ_SUCCESS:
		return SVM_OK;
	case LZ_ERROR_OUT_OF_HOST_MEMORY:
	case LZ_ERROR_OUT_OF_DEVICE_MEMORY:
	case LZ_ERROR_UNSUPPORTED_SIZE: /* larger than the device can allocate */
		return SVM_ERROR_OUT_OF_MEMORY;
	case LZ_ERROR_UNSUPPORTED_VERSION:
	case LZ_ERROR_UNSUPPORTED_FEATURE:
	case LZ_ERROR_UNSUPPORTED_ALIGNMENT:
	case LZ_ERROR_UNSUPPORTED_ENUMERATION:
		return SVM_ERROR_UNSUPPORTED;
	case LZ_ERROR_INVALID_ARGUMENT:
	case LZ_ERROR_INVALID_NULL_POINTER:
	case LZ_ERROR_INVALID_SIZE:
	case LZ_ERROR_INVALID_ENUMERATION:
	case LZ_ERROR_OVERLAPPING_REGIONS:
		return SVM_ERROR_INVALID_ARGUMENT;
	case LZ_ERROR_UNINITIALIZED:
	case LZ_ERROR_DEPENDENCY_UNAVAILABLE:
		return SVM_ERROR_NO_DEVICE;
	}
	return SVM_ERROR_BACKEND;
}

/* Maps r; a failure goes to the log at `level` with its native code and name. */
static svm_result_t lz_check_at(int level, lz_result_t r, const char *what)
{
	svm_result_t res = lz_map(r);

	if (r != LZ_SUCCESS)
		svm__log(level, "ze: %s failed: %#x %s (%s)", what, (unsigned)r, lz_name(r),
			 svm__result_name(res));
	return res;
}

static svm_result_t lz_check(lz_result_t r, const char *what)
{
	return lz_check_at(SVM__LOG_ERROR, r, what);
}

/* ---- discovery ------------------------------------------------------- */

/* Opens the loader and resolves the entry points; false with why if not. */
static bool open_loader(const char *name, char *why, size_t len)
{
	struct lz_api f;
	void *lib;

	if (Z.lib && !strcmp(Z.lib_name, name))
		return true;
	if (Z.ready) {
		snprintf(why, len, "svmrt already uses the Level Zero loader %s", Z.lib_name);
		return false;
	}
	dlerror();
	lib = dlopen(name, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		const char *e = dlerror();

		snprintf(why, len, "cannot load the Level Zero loader %s (%s); install libze1 "
			 "and a Level Zero GPU driver, or name the loader with SVM_ZE_LOADER",
			 name, e ? e : "unknown error");
		return false;
	}
	for (size_t i = 0; i < sizeof(symbols) / sizeof(symbols[0]); i++) {
		void *p = dlsym(lib, symbols[i].name);

		if (!p && !symbols[i].optional) {
			snprintf(why, len, "the Level Zero loader %s lacks %s", name,
				 symbols[i].name);
			dlclose(lib);
			return false;
		}
		/* POSIX: a data pointer from dlsym converts to a function pointer */
		memcpy((char *)&f + symbols[i].offset, &p, sizeof(p));
	}
	/* an older loader stays open: its drivers may still be in use */
	Z.f = f;
	Z.lib = lib;
	snprintf(Z.lib_name, sizeof(Z.lib_name), "%s", name);
	return true;
}

static bool is_gpu(lz_device_t d)
{
	struct lz_device_properties p = { .stype = LZ_STYPE_DEVICE_PROPERTIES };

	return Z.f.device_props(d, &p) == LZ_SUCCESS && p.type == LZ_DEVICE_TYPE_GPU;
}

/* The GPUs of driver drv into out[]; returns how many. */
static int gpus_of(lz_driver_t drv, lz_device_t *out)
{
	lz_device_t devs[SVM__MAX_DEVICES];
	uint32_t count = 0;
	int n = 0;

	if (Z.f.device_get(drv, &count, NULL) != LZ_SUCCESS || !count)
		return 0;
	if (count > SVM__MAX_DEVICES) {
		svm__warn("ze: the driver has %u devices; svmrt uses the first %d", count,
			  SVM__MAX_DEVICES);
		count = SVM__MAX_DEVICES;
	}
	if (Z.f.device_get(drv, &count, devs) != LZ_SUCCESS)
		return 0;
	for (uint32_t i = 0; i < count && i < SVM__MAX_DEVICES; i++)
		if (is_gpu(devs[i]))
			out[n++] = devs[i];
	return n;
}

/*
 * Loader, zeInit, the first driver with a GPU and its GPUs (into *driver,
 * devs[] and *ndev). False with a reason when any of it is missing.
 */
static bool discover(const struct svm__config *cfg, lz_driver_t *driver, lz_device_t *devs,
		     int *ndev, char *why, size_t len)
{
	lz_driver_t drivers[8];
	uint32_t count = 0;
	lz_result_t r;

	*ndev = 0;
	if (!open_loader(cfg->ze_loader, why, len))
		return false;
	r = Z.f.init(LZ_INIT_GPU_ONLY);
	if (r != LZ_SUCCESS) {
		snprintf(why, len, "zeInit failed with %#x %s: no usable Level Zero GPU driver "
			 "(is one installed, and may this user open /dev/dri/renderD*?)",
			 (unsigned)r, lz_name(r));
		return false;
	}
	r = Z.f.driver_get(&count, NULL);
	if (r == LZ_SUCCESS && count > 8)
		count = 8;
	if (r == LZ_SUCCESS && count)
		r = Z.f.driver_get(&count, drivers);
	if (r != LZ_SUCCESS || !count) {
		snprintf(why, len, "the Level Zero loader found no driver (zeDriverGet: %#x %s, "
			 "%u drivers)", (unsigned)r, lz_name(r), count);
		return false;
	}
	for (uint32_t i = 0; i < count; i++) {
		*ndev = gpus_of(drivers[i], devs);
		if (*ndev) {
			*driver = drivers[i];
			return true;
		}
	}
	snprintf(why, len, "no GPU in the %u Level Zero driver(s) found", count);
	return false;
}

static bool ze_probe(const struct svm__config *cfg, char *why, size_t len)
{
	lz_device_t devs[SVM__MAX_DEVICES];
	lz_driver_t drv;
	int n;

	return discover(cfg, &drv, devs, &n, why, len);
}

/* ---- devices --------------------------------------------------------- */

static void describe(struct ze_dev *d)
{
	struct lz_device_properties p = { .stype = LZ_STYPE_DEVICE_PROPERTIES };
	struct lz_device_memory_properties mem[4];
	struct lz_pci_ext_properties pci = { .stype = LZ_STYPE_PCI_EXT_PROPERTIES };
	uint32_t count = 4;

	if (lz_check(Z.f.device_props(d->handle, &p), "zeDeviceGetProperties") == SVM_OK) {
		size_t n = strnlen(p.name, sizeof(d->name) - 1);

		memcpy(d->name, p.name, n); /* svm_device_props_t keeps 63 characters */
		d->name[n] = 0;
	} else {
		snprintf(d->name, sizeof(d->name), "Level Zero device");
	}
	memset(mem, 0, sizeof(mem));
	for (uint32_t i = 0; i < count; i++)
		mem[i].stype = LZ_STYPE_DEVICE_MEMORY_PROPERTIES;
	d->memory = 0;
	if (lz_check(Z.f.device_mem_props(d->handle, &count, mem),
		     "zeDeviceGetMemoryProperties") == SVM_OK)
		for (uint32_t i = 0; i < count && i < 4; i++)
			d->memory += mem[i].total_size;
	d->pci[0] = 0;
	if (!Z.f.device_pci_props) {
		svm__info("ze: the loader has no zeDevicePciGetPropertiesExt; no PCI bus id");
		return;
	}
	/* an optional extension: without it the device has no bus id, no node */
	if (lz_check_at(SVM__LOG_WARN, Z.f.device_pci_props(d->handle, &pci),
			"zeDevicePciGetPropertiesExt") == SVM_OK)
		snprintf(d->pci, sizeof(d->pci), "%04x:%02x:%02x.%x", pci.domain & 0xffff,
			 pci.bus & 0xff, pci.device & 0x1f, pci.function & 0x7);
}

static svm_result_t open_cmdlist(struct ze_dev *d)
{
	struct lz_command_queue_desc q = {
		.stype = LZ_STYPE_COMMAND_QUEUE_DESC,
		.ordinal = 0, /* the first queue group: every GPU's has compute */
		.index = 0,
		.mode = LZ_QUEUE_MODE_SYNCHRONOUS,
		.priority = LZ_QUEUE_PRIORITY_NORMAL,
	};

	return lz_check(Z.f.cl_create(Z.ctx, d->handle, &q, &d->cl),
			"zeCommandListCreateImmediate");
}

static void ze_fini(struct svm__rt *rt)
{
	pthread_mutex_lock(&rt->lock);
	Z.ready = false;
	pthread_mutex_unlock(&rt->lock);
	for (int i = 0; i < Z.ndev; i++)
		if (Z.dev[i].cl)
			lz_check(Z.f.cl_destroy(Z.dev[i].cl), "zeCommandListDestroy");
	if (Z.ctx)
		lz_check(Z.f.context_destroy(Z.ctx), "zeContextDestroy");
	Z.ctx = NULL;
	Z.driver = NULL;
	Z.ndev = 0;
	memset(Z.dev, 0, sizeof(Z.dev));
}

static svm_result_t ze_init(struct svm__rt *rt, uintptr_t *heap, size_t *heap_size)
{
	struct lz_context_desc cd = { .stype = LZ_STYPE_CONTEXT_DESC };
	lz_device_t devs[SVM__MAX_DEVICES];
	char why[256];
	svm_result_t res;
	int n;

	if (!discover(&rt->cfg, &Z.driver, devs, &n, why, sizeof(why))) {
		svm__err("ze backend: %s", why);
		return SVM_ERROR_NO_DEVICE;
	}
	memset(Z.dev, 0, sizeof(Z.dev));
	for (int i = 0; i < n; i++)
		Z.dev[i].handle = devs[i];
	Z.ndev = n;
	res = lz_check(Z.f.context_create(Z.driver, &cd, &Z.ctx), "zeContextCreate");
	if (res != SVM_OK) {
		Z.ctx = NULL;
		goto fail;
	}
	for (int i = 0; i < Z.ndev; i++) {
		struct ze_dev *d = &Z.dev[i];

		describe(d);
		res = open_cmdlist(d);
		if (res != SVM_OK) {
			d->cl = NULL;
			goto fail;
		}
		rt->dev[i].capacity = d->memory / SVM__PAGE_SIZE;
		rt->dev[i].numa_node = svm__topo_node_of_pci(d->pci);
		rt->dev[i].launchable = false; /* kernels are the application's */
		rt->dev[i].view = 0;
		svm__info("ze: device %d: %s, %llu MiB, PCI %s, NUMA node %d", i, d->name,
			  (unsigned long long)(d->memory >> 20), d->pci[0] ? d->pci : "-",
			  rt->dev[i].numa_node);
	}
	rt->ndev = Z.ndev;
	*heap = 0; /* the driver allocates: no heap of ours */
	*heap_size = 0;
	pthread_mutex_lock(&rt->lock);
	Z.ready = true;
	pthread_mutex_unlock(&rt->lock);
	return SVM_OK;
fail:
	ze_fini(rt);
	return res;
}

static svm_result_t ze_device_props(struct svm__rt *rt, int dev, svm_device_props_t *p)
{
	const struct ze_dev *d = &Z.dev[dev];

	snprintf(p->name, sizeof(p->name), "%s", d->name);
	snprintf(p->backend, sizeof(p->backend), "ze");
	p->memory_bytes = d->memory;
	p->numa_node = rt->dev[dev].numa_node;
	snprintf(p->pci_bus_id, sizeof(p->pci_bus_id), "%s", d->pci);
	return SVM_OK;
}

/* ---- memory ---------------------------------------------------------- */

static size_t page_round(size_t bytes)
{
	return (bytes + SVM__PAGE_SIZE - 1) & ~(SVM__PAGE_SIZE - 1);
}

static svm_result_t ze_alloc_range(struct svm__rt *rt, size_t bytes, uintptr_t *addr)
{
	struct lz_device_mem_alloc_desc dd = { .stype = LZ_STYPE_DEVICE_MEM_ALLOC_DESC };
	struct lz_host_mem_alloc_desc hd = { .stype = LZ_STYPE_HOST_MEM_ALLOC_DESC };
	size_t len = page_round(bytes);
	size_t align = len >= SVM__HUGE_SIZE ? SVM__HUGE_SIZE : SVM__PAGE_SIZE;
	/* one GPU: tie the memory to it; several: to none, each may migrate it */
	lz_device_t dev = rt->ndev == 1 ? Z.dev[0].handle : NULL;
	void *p = NULL;
	svm_result_t res;

	if (len < bytes)
		return SVM_ERROR_OUT_OF_MEMORY;
	res = lz_check(Z.f.alloc_shared(Z.ctx, &dd, &hd, len, align, dev, &p),
		       "zeMemAllocShared");
	if (res != SVM_OK)
		return res;
	if (!p || ((uintptr_t)p & (align - 1))) {
		svm__err("ze: zeMemAllocShared(%zu, alignment %zu) returned %p", len, align, p);
		if (p)
			lz_check(Z.f.mem_free(Z.ctx, p), "zeMemFree");
		return SVM_ERROR_BACKEND;
	}
	/* svm_alloc promises zeros; Level Zero does not. First touch: host. */
	memset(p, 0, len);
	*addr = (uintptr_t)p;
	return SVM_OK;
}

static void ze_free_range(struct svm__rt *rt, struct svm__range *r)
{
	(void)rt;
	lz_check(Z.f.mem_free(Z.ctx, (void *)r->start), "zeMemFree");
}

/* ---- prefetch, advice, query ------------------------------------------ */

static svm_result_t ze_prefetch(struct svm__rt *rt, struct svm__range *r, size_t first, size_t n,
				int dst, svm_migrate_report_t *rep)
{
	const void *p = (const void *)(r->start + first * SVM__PAGE_SIZE);
	svm_migrate_report_t local;
	svm_result_t res;

	(void)rt;
	if (!rep)
		rep = &local;
	*rep = (svm_migrate_report_t){ .pages = n };
	if (dst == SVM_HOST) {
		/* Level Zero prefetches to a device only; the host's touch brings pages home */
		svm__info("ze: svm_prefetch to the host: Level Zero has no such command");
		rep->failed = rep->failed_by[SVM_FAILURE_UNSUPPORTED] = n;
		return SVM_ERROR_UNSUPPORTED;
	}
	res = lz_check(Z.f.cl_prefetch(Z.dev[dst].cl, p, n * SVM__PAGE_SIZE),
		       "zeCommandListAppendMemoryPrefetch");
	if (res != SVM_OK)
		return res;
	rep->moved = n; /* the driver decides what really moves; it does not say */
	return SVM_OK;
}

/* Sends one advice for [p, p+len) to device dev. */
static svm_result_t advise_one(int dev, const void *p, size_t len, uint32_t advice)
{
	return lz_check(Z.f.cl_advise(Z.dev[dev].cl, Z.dev[dev].handle, p, len, advice),
			"zeCommandListAppendMemAdvise");
}

/* The same advice on behalf of every device. */
static svm_result_t advise_all(const void *p, size_t len, uint32_t advice)
{
	for (int d = 0; d < Z.ndev; d++) {
		svm_result_t res = advise_one(d, p, len, advice);

		if (res != SVM_OK)
			return res;
	}
	return SVM_OK;
}

static svm_result_t ze_advise(struct svm__rt *rt, struct svm__range *r, size_t first, size_t n,
			      svm_advice_t advice, int location)
{
	const void *p = (const void *)(r->start + first * SVM__PAGE_SIZE);
	size_t len = n * SVM__PAGE_SIZE;

	(void)rt;
	switch (advice) {
	case SVM_ADVISE_SET_READ_MOSTLY:
		return advise_all(p, len, LZ_ADVICE_SET_READ_MOSTLY);
	case SVM_ADVISE_UNSET_READ_MOSTLY:
		return advise_all(p, len, LZ_ADVICE_CLEAR_READ_MOSTLY);
	case SVM_ADVISE_SET_PREFERRED_LOCATION:
		if (location == SVM_HOST) {
			svm__info("ze: no Level Zero advice prefers host memory");
			return SVM_ERROR_UNSUPPORTED;
		}
		return advise_one(location, p, len, LZ_ADVICE_SET_PREFERRED_LOCATION);
	case SVM_ADVISE_UNSET_PREFERRED_LOCATION:
		return advise_all(p, len, LZ_ADVICE_CLEAR_PREFERRED_LOCATION);
	case SVM_ADVISE_SET_ACCESSED_BY:
	case SVM_ADVISE_UNSET_ACCESSED_BY:
		svm__info("ze: Level Zero has no accessed-by advice");
		return SVM_ERROR_UNSUPPORTED;
	}
	return SVM_ERROR_INVALID_ARGUMENT;
}

static svm_result_t ze_query(struct svm__rt *rt, struct svm__range *r, size_t first, size_t n,
			     svm_page_info_t *pages)
{
	struct lz_memory_allocation_properties ap = { .stype = LZ_STYPE_MEMORY_ALLOCATION_PROPS };
	const void *p = (const void *)(r->start + first * SVM__PAGE_SIZE);
	lz_device_t dev = NULL;
	svm_result_t res;

	(void)rt;
	res = lz_check(Z.f.alloc_props(Z.ctx, p, &ap, &dev), "zeMemGetAllocProperties");
	if (res != SVM_OK)
		return res;
	if (ap.type != LZ_MEMORY_TYPE_SHARED) {
		svm__err("ze: the driver says %p is not shared memory (type %u)", p, ap.type);
		return SVM_ERROR_BACKEND;
	}
	svm__dbg("ze: %p: shared allocation %llu, driver page size %llu", p,
		 (unsigned long long)ap.id, (unsigned long long)ap.page_size);
	/* Level Zero does not tell where a page is: see docs/ze.md */
	for (size_t i = 0; i < n; i++)
		pages[i] = (svm_page_info_t){ .location = SVM_HOST,
					      .last_failure = SVM_FAILURE_NONE };
	return SVM_OK;
}

/* ---- for svm_ze_handles (api/ze.c) ---------------------------------- */

svm_result_t svm__ze_handles(int device, void **context, void **device_handle)
{
	if (!Z.ready) /* another backend is live, or none */
		return SVM_ERROR_NOT_INITIALIZED;
	if (device < 0 || device >= Z.ndev)
		return SVM_ERROR_INVALID_ARGUMENT;
	*context = Z.ctx;
	*device_handle = Z.dev[device].handle;
	return SVM_OK;
}

const struct svm__backend_ops svm__ze_ops = {
	.name = "ze",
	.probe = ze_probe,
	.init = ze_init,
	.fini = ze_fini,
	.device_props = ze_device_props,
	.replace.alloc_range = ze_alloc_range,
	.replace.free_range = ze_free_range,
	.replace.prefetch = ze_prefetch,
	.replace.advise = ze_advise,
	.replace.query = ze_query,
	/* no move(): the driver migrates; pin/unpin are unsupported */
};
