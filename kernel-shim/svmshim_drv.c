// SPDX-License-Identifier: GPL-2.0
/*
 * svmshim_drv.c - svmrt kernel shim: DRM render-node driver, ioctls, pins.
 *
 * One platform device carries one DRM device with a render node; behind it
 * are @devices emulated accelerators, each with @vram_mb MiB of device
 * private memory on a NUMA node. User space finds the node by the DRM
 * driver name "svmshim" and talks the uAPI of include/uapi/svmshim.h.
 */
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/log2.h>
#include <linux/module.h>
#include <linux/mm.h>
#include <linux/nodemask.h>
#include <linux/platform_device.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/user.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/vmalloc.h>

#include <drm/drm_drv.h>
#include <drm/drm_file.h>
#include <drm/drm_ioctl.h>

#include "svmshim_priv.h"

#define SVMSHIM_MAX_PIN_PAGES	(SVMSHIM_MAX_PIN_BYTES >> PAGE_SHIFT)

static unsigned int devices = 2;
module_param(devices, uint, 0444);
MODULE_PARM_DESC(devices, "number of emulated devices (1-8, default 2)");

static unsigned long vram_mb = 256;
module_param(vram_mb, ulong, 0444);
MODULE_PARM_DESC(vram_mb, "emulated device memory per device in MiB (default 256)");

static int svm_numa_node[SVMSHIM_MAX_DEVICES] = {
	[0 ... SVMSHIM_MAX_DEVICES - 1] = NUMA_NO_NODE
};
static int numa_node_count;
module_param_array_named(numa_node, svm_numa_node, int, &numa_node_count, 0444);
MODULE_PARM_DESC(numa_node, "NUMA node of each device (default: online nodes round robin)");

/* The most one open file may pin (all its PINs together), in MiB. */
static unsigned long pin_max_mb = 16384;
module_param(pin_max_mb, ulong, 0644);
MODULE_PARM_DESC(pin_max_mb, "most memory the pins of one open file may hold, in MiB (default 16384)");

unsigned int svmshim_batch_pages = 512;
module_param_named(batch_pages, svmshim_batch_pages, uint, 0644);
MODULE_PARM_DESC(batch_pages, "pages per migrate_vma batch (1-4096, default 512)");

/*
 * Fault injection: see svm_inject_draw() in svmshim_dmem.c. It acts on
 * MIGRATE and on device faults' migrations, in the direction chosen; CPU
 * faults (migrate_to_ram()) only meet BUSY, and only with inject_count set
 * (they fault again until it is spent); eviction is never injected, so
 * room can always be made. Every write resets the per-device draw
 * counters and the count of injected failures, so a run is reproducible
 * from the values written.
 */
struct svm_inject svmshim_inject;

static int svm_inject_set(const char *val, const struct kernel_param *kp)
{
	unsigned long long v;
	int ret, i;

	ret = kstrtoull(val, 0, &v);
	if (ret)
		return ret;
	if (kp->arg == &svmshim_inject.seed) {
		WRITE_ONCE(svmshim_inject.seed, v);
	} else {
		if (v > UINT_MAX ||
		    (kp->arg == &svmshim_inject.class && v >= SVMSHIM_FAIL_COUNT) ||
		    (kp->arg == &svmshim_inject.percent && v > 100) ||
		    (kp->arg == &svmshim_inject.direction &&
		     v > SVM_INJECT_TO_DEVICE))
			return -EINVAL;
		WRITE_ONCE(*(unsigned int *)kp->arg, (unsigned int)v);
	}
	for (i = 0; i <= SVMSHIM_MAX_DEVICES; i++)
		atomic64_set(&svmshim_inject.draws[i], 0);
	atomic_set(&svmshim_inject.hits, 0);
	return 0;
}

static const struct kernel_param_ops svm_inject_uint_ops = {
	.set = svm_inject_set,
	.get = param_get_uint,
};

static const struct kernel_param_ops svm_inject_ullong_ops = {
	.set = svm_inject_set,
	.get = param_get_ullong,
};

static int svm_inject_hits_get(char *buf, const struct kernel_param *kp)
{
	return sprintf(buf, "%d\n", atomic_read(&svmshim_inject.hits));
}

static const struct kernel_param_ops svm_inject_hits_ops = {
	.get = svm_inject_hits_get,
};

module_param_cb(inject_class, &svm_inject_uint_ops, &svmshim_inject.class, 0644);
MODULE_PARM_DESC(inject_class, "fault injection: class (0 none, 1 pinned, 2 busy, 3 no_memory, 4 unsupported)");
module_param_cb(inject_percent, &svm_inject_uint_ops, &svmshim_inject.percent, 0644);
MODULE_PARM_DESC(inject_percent, "fault injection: share of page moves that fail (0-100)");
module_param_cb(inject_direction, &svm_inject_uint_ops, &svmshim_inject.direction, 0644);
MODULE_PARM_DESC(inject_direction, "fault injection: moves it acts on (0 any, 1 to the host, 2 to a device)");
module_param_cb(inject_seed, &svm_inject_ullong_ops, &svmshim_inject.seed, 0644);
MODULE_PARM_DESC(inject_seed, "fault injection: seed");
module_param_cb(inject_count, &svm_inject_uint_ops, &svmshim_inject.count, 0644);
MODULE_PARM_DESC(inject_count, "fault injection: stop after this many injected failures (0: no limit)");
module_param_cb(inject_hits, &svm_inject_hits_ops, NULL, 0444);
MODULE_PARM_DESC(inject_hits, "fault injection: failures injected since the last write of an inject_* parameter");

static struct platform_device *svmshim_pdev;
static struct svmshim *svmshim;

static inline struct svmshim *to_svmshim(struct drm_device *drm)
{
	return container_of(drm, struct svmshim, drm);
}

static bool svm_range_ok(u64 start, u64 length)
{
	return length && PAGE_ALIGNED(start) && PAGE_ALIGNED(length) &&
	       start + length > start && start + length <= TASK_SIZE;
}

static int svmshim_ioctl_get_info(struct drm_device *drm, void *data,
				  struct drm_file *file)
{
	struct svmshim *shim = to_svmshim(drm);
	struct drm_svmshim_get_info *a = data;
	unsigned long total, free;
	struct svm_device *sdev;

	if (a->flags || a->pad || memchr_inv(a->reserved, 0, sizeof(a->reserved)))
		return -EINVAL;
	if (a->device >= shim->ndevices)
		return -EINVAL;
	sdev = &shim->devs[a->device];
	/* Pages the caller's views still hold pending count as in use. */
	svm_views_drain(file->driver_priv, 0, TASK_SIZE, false);
	svm_device_usage(sdev, &total, &free);
	a->version = SVMSHIM_UAPI_VERSION;
	a->device_count = shim->ndevices;
	a->memory_bytes = (u64)total << PAGE_SHIFT;
	a->free_bytes = (u64)free << PAGE_SHIFT;
	a->numa_node = sdev->nid;
	a->page_size = PAGE_SIZE;
	a->batch_pages = clamp_t(unsigned int, READ_ONCE(svmshim_batch_pages),
				 1, SVMSHIM_MAX_BATCH);
	return 0;
}

/*
 * The caller's retry pauses: given only with their flag (@on), each at
 * most SVMSHIM_MAX_BACKOFF_US. A cap below the first pause just caps it.
 */
static bool svm_backoff_ok(bool on, u32 first_us, u32 max_us)
{
	if (!on)
		return !first_us && !max_us;
	return first_us <= SVMSHIM_MAX_BACKOFF_US &&
	       max_us <= SVMSHIM_MAX_BACKOFF_US;
}

static int svmshim_ioctl_migrate(struct drm_device *drm, void *data,
				 struct drm_file *file)
{
	struct svmshim *shim = to_svmshim(drm);
	struct drm_svmshim_migrate *a = data;

	if (a->flags & ~SVMSHIM_MIGRATE_FLAGS)
		return -EINVAL;
	if (a->evicted_prefetched || a->pad2)
		return -EINVAL;
	if (!(a->flags & SVMSHIM_MIGRATE_RETRY) &&
	    (a->retry_rounds || a->retry_budget_us || a->retries || a->rounds ||
	     (a->flags & SVMSHIM_MIGRATE_BACKOFF)))
		return -EINVAL;
	if (!svm_backoff_ok(a->flags & SVMSHIM_MIGRATE_BACKOFF, a->backoff_us,
			    a->backoff_max_us))
		return -EINVAL;
	if (a->retry_rounds > SVMSHIM_MAX_RETRY_ROUNDS ||
	    a->retry_budget_us > SVMSHIM_MAX_RETRY_BUDGET_US)
		return -EINVAL;
	if (!svm_range_ok(a->start, a->length))
		return -EINVAL;
	if (a->dest != SVMSHIM_LOC_HOST &&
	    (a->dest < 0 || a->dest >= (s32)shim->ndevices))
		return -EINVAL;
	a->moved = 0;
	a->already = 0;
	a->evicted = 0;
	a->retries = 0;
	a->rounds = 0;
	memset(a->failed, 0, sizeof(a->failed));
	/* The views' pending references first (else they read as BUSY). */
	svm_views_drain(file->driver_priv, a->start, a->start + a->length,
			a->dest >= 0);
	return svm_migrate(file->driver_priv, a);
}

static int svmshim_ioctl_snapshot(struct drm_device *drm, void *data,
				  struct drm_file *file)
{
	struct drm_svmshim_snapshot *a = data;

	if (a->flags || a->pad || memchr_inv(a->reserved, 0, sizeof(a->reserved)))
		return -EINVAL;
	if (!svm_range_ok(a->start, a->length))
		return -EINVAL;
	a->host = 0;
	a->device = 0;
	a->none = 0;
	svm_views_drain(file->driver_priv, a->start, a->start + a->length,
			false);
	return svm_snapshot(file->driver_priv, a);
}

/*
 * Pins are charged the way io_uring charges its registered buffers: to the
 * caller's user (user_struct.locked_vm, shared with io_uring, AF_XDP and
 * others) against its RLIMIT_MEMLOCK, unless it has CAP_IPC_LOCK, and to
 * its mm's pinned_vm (VmPin) in any case. The pin keeps what it charged
 * (the user and the mm, by reference), so that whoever drops it (UNPIN,
 * or the last close of the file in another process or after the pinner
 * exited) gives back exactly that. The charge is taken before the pages
 * are pinned and given back after they are unpinned.
 */
static int svm_pin_charge(struct svm_pin *pin, unsigned long npages)
{
	if (!capable(CAP_IPC_LOCK)) {
		struct user_struct *user = current_user();
		unsigned long limit = rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT;
		long cur = atomic_long_read(&user->locked_vm);

		do {
			if (cur + npages > limit)
				return -ENOMEM;
		} while (!atomic_long_try_cmpxchg(&user->locked_vm, &cur,
						  cur + npages));
		pin->user = get_uid(user);
	}
	mmgrab(current->mm);
	pin->mm = current->mm;
	atomic64_add(npages, &pin->mm->pinned_vm);
	pin->charged = npages;
	return 0;
}

static void svm_pin_release(struct svm_pin *pin)
{
	if (pin->npages)
		unpin_user_pages(pin->pages, pin->npages);
	if (pin->mm) {
		atomic64_sub(pin->charged, &pin->mm->pinned_vm);
		mmdrop(pin->mm);
	}
	if (pin->user) {
		atomic_long_sub(pin->charged, &pin->user->locked_vm);
		free_uid(pin->user);
	}
	kvfree(pin->pages);
	kfree(pin);
}

/*
 * The file's share: at most pin_max_mb MiB and SVMSHIM_MAX_PINS pins,
 * reserved under sf->lock before pinning (so concurrent PINs cannot
 * overshoot) and given back by svm_pin_unreserve().
 */
static int svm_pin_reserve(struct svm_file *sf, unsigned long npages)
{
	unsigned long max = min_t(unsigned long, READ_ONCE(pin_max_mb),
				  ULONG_MAX >> 20) << (20 - PAGE_SHIFT);
	int ret = 0;

	mutex_lock(&sf->lock);
	if (sf->nr_pins >= SVMSHIM_MAX_PINS || sf->pinned_pages > max ||
	    npages > max - sf->pinned_pages) {
		ret = -ENOSPC;
	} else {
		sf->nr_pins++;
		sf->pinned_pages += npages;
	}
	mutex_unlock(&sf->lock);
	return ret;
}

static void svm_pin_unreserve(struct svm_file *sf, unsigned long npages)
{
	mutex_lock(&sf->lock);
	sf->nr_pins--;
	sf->pinned_pages -= npages;
	mutex_unlock(&sf->lock);
}

static int svmshim_ioctl_pin(struct drm_device *drm, void *data,
			     struct drm_file *file)
{
	struct svm_file *sf = file->driver_priv;
	struct drm_svmshim_pin *a = data;
	unsigned long npages, done = 0;
	struct svm_pin *pin;
	int ret;

	if (a->flags || a->pad || memchr_inv(a->reserved, 0, sizeof(a->reserved)))
		return -EINVAL;
	if (!svm_range_ok(a->start, a->length))
		return -EINVAL;
	npages = a->length >> PAGE_SHIFT;
	if (npages > SVMSHIM_MAX_PIN_PAGES)
		return -EINVAL;
	if (!current->mm)
		return -EINVAL;

	ret = svm_pin_reserve(sf, npages);
	if (ret)
		return ret;
	ret = -ENOMEM;
	pin = kzalloc(sizeof(*pin), GFP_KERNEL_ACCOUNT);
	if (!pin)
		goto out_unreserve;
	pin->pages = kvmalloc_array(npages, sizeof(*pin->pages),
				    GFP_KERNEL_ACCOUNT);
	if (!pin->pages)
		goto out_free;
	ret = svm_pin_charge(pin, npages);
	if (ret)
		goto out_free;
	/* Each round pins at least one page or stops: bounded. */
	while (done < npages) {
		ret = pin_user_pages_fast(a->start + (done << PAGE_SHIFT),
					  min_t(unsigned long, npages - done, INT_MAX),
					  FOLL_WRITE | FOLL_LONGTERM,
					  pin->pages + done);
		if (ret <= 0) {
			pin->npages = done;
			ret = ret ? ret : -EFAULT;
			goto out_free;
		}
		done += ret;
	}
	pin->start = a->start;
	pin->npages = npages;

	mutex_lock(&sf->lock);
	list_add_tail(&pin->node, &sf->pins);
	mutex_unlock(&sf->lock);
	a->pages = npages;
	return 0;

out_free:
	svm_pin_release(pin);
out_unreserve:
	svm_pin_unreserve(sf, npages);
	return ret;
}

/* Only the calling process's own pins (see the uAPI header). */
static int svmshim_ioctl_unpin(struct drm_device *drm, void *data,
			       struct drm_file *file)
{
	struct svm_file *sf = file->driver_priv;
	struct drm_svmshim_pin *a = data;
	struct svm_pin *pin, *tmp;
	LIST_HEAD(gone);

	if (a->flags || a->pad || memchr_inv(a->reserved, 0, sizeof(a->reserved)))
		return -EINVAL;
	if (!svm_range_ok(a->start, a->length))
		return -EINVAL;

	a->pages = 0;
	mutex_lock(&sf->lock);
	list_for_each_entry_safe(pin, tmp, &sf->pins, node) {
		u64 pend = pin->start + ((u64)pin->npages << PAGE_SHIFT);

		if (pin->mm == current->mm && pin->start >= a->start &&
		    pend <= a->start + a->length) {
			list_move(&pin->node, &gone);
			sf->nr_pins--;
			sf->pinned_pages -= pin->npages;
		}
	}
	mutex_unlock(&sf->lock);

	list_for_each_entry_safe(pin, tmp, &gone, node) {
		a->pages += pin->npages;
		svm_pin_release(pin);
		cond_resched();
	}
	return a->pages ? 0 : -ENOENT;
}

static int svmshim_ioctl_set_attr(struct drm_device *drm, void *data,
				  struct drm_file *file)
{
	struct svmshim *shim = to_svmshim(drm);
	struct drm_svmshim_attr *a = data;
	u32 g = a->granularity;
	int ret;

	if (a->flags & ~SVMSHIM_ATTR_FLAGS)
		return -EINVAL;
	if (!(a->flags & SVMSHIM_ATTR_PREFETCH_DENSITY) ?
	    a->prefetch_threshold || a->prefetch_max :
	    !a->prefetch_threshold || a->prefetch_threshold > 100 ||
	    !is_power_of_2(a->prefetch_max) ||
	    a->prefetch_max < 2 * PAGE_SIZE ||
	    a->prefetch_max > SVMSHIM_MAX_PREFETCH)
		return -EINVAL;
	if (a->pad || (!(a->flags & SVMSHIM_ATTR_THRASH) ?
	    a->thrash_window_us || a->thrash_threshold || a->thrash_hold_ms :
	    a->thrash_window_us > SVMSHIM_MAX_THRASH_WINDOW_US ||
	    !a->thrash_threshold ||
	    a->thrash_threshold > SVMSHIM_MAX_THRASH_THRESHOLD ||
	    !a->thrash_hold_ms || a->thrash_hold_ms > SVMSHIM_MAX_THRASH_HOLD_MS))
		return -EINVAL;
	if (!svm_backoff_ok(a->flags & SVMSHIM_ATTR_FAULT_BACKOFF,
			    a->fault_backoff_us, a->fault_backoff_max_us))
		return -EINVAL;
	if (a->fault_retry_rounds > SVMSHIM_MAX_RETRY_ROUNDS ||
	    a->fault_budget_us > SVMSHIM_MAX_FAULT_BUDGET_US)
		return -EINVAL;
	if (!svm_range_ok(a->start, a->length))
		return -EINVAL;
	if (a->preferred != SVMSHIM_LOC_NONE && a->preferred != SVMSHIM_LOC_HOST &&
	    (a->preferred < 0 || a->preferred >= (s32)shim->ndevices))
		return -EINVAL;
	if (a->accessed_by & ~(u32)GENMASK(shim->ndevices - 1, 0))
		return -EINVAL;
	if (g && (!is_power_of_2(g) || g < PAGE_SIZE ||
		  g > SVMSHIM_MAX_GRANULARITY))
		return -EINVAL;
	ret = svm_set_attr(file->driver_priv, a);
	if (ret)
		return ret;
	/* Drop what the views map there: the next access obeys the new ones. */
	svm_views_zap(file->driver_priv, a->start, a->start + a->length);
	return 0;
}

static int svmshim_ioctl_events(struct drm_device *drm, void *data,
				struct drm_file *file)
{
	struct drm_svmshim_events *a = data;

	if (memchr_inv(a->reserved, 0, sizeof(a->reserved)))
		return -EINVAL;
	if (!a->capacity || a->capacity > SVMSHIM_EVENT_RING || !a->events)
		return -EINVAL;
	a->count = 0;
	a->dropped = 0;
	return svm_events_read(file->driver_priv, a);
}

static int svmshim_open(struct drm_device *drm, struct drm_file *file)
{
	struct svm_file *sf;
	int ret;

	sf = kzalloc(sizeof(*sf), GFP_KERNEL_ACCOUNT);
	if (!sf)
		return -ENOMEM;
	sf->shim = to_svmshim(drm);
	mutex_init(&sf->lock);
	INIT_LIST_HEAD(&sf->pins);
	ret = svm_file_view_init(sf);
	if (ret) {
		mutex_destroy(&sf->lock);
		kfree(sf);
		return ret;
	}
	file->driver_priv = sf;
	return 0;
}

static void svmshim_postclose(struct drm_device *drm, struct drm_file *file)
{
	struct svm_file *sf = file->driver_priv;
	struct svm_pin *pin, *tmp;

	list_for_each_entry_safe(pin, tmp, &sf->pins, node) {
		list_del(&pin->node);
		svm_pin_release(pin);
		cond_resched();
	}
	svm_file_evict(sf);
	svm_file_view_fini(sf);
	mutex_destroy(&sf->lock);
	kfree(sf);
}

static const struct drm_ioctl_desc svmshim_ioctls[] = {
	DRM_IOCTL_DEF_DRV(SVMSHIM_GET_INFO, svmshim_ioctl_get_info, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(SVMSHIM_MIGRATE, svmshim_ioctl_migrate, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(SVMSHIM_PIN, svmshim_ioctl_pin, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(SVMSHIM_UNPIN, svmshim_ioctl_unpin, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(SVMSHIM_SNAPSHOT, svmshim_ioctl_snapshot, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(SVMSHIM_SET_ATTR, svmshim_ioctl_set_attr, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(SVMSHIM_EVENTS, svmshim_ioctl_events, DRM_RENDER_ALLOW),
};

static const struct file_operations svmshim_fops = {
	.owner = THIS_MODULE,
	.open = drm_open,
	.release = drm_release,
	.unlocked_ioctl = drm_ioctl,
#ifdef CONFIG_COMPAT
	.compat_ioctl = drm_compat_ioctl,
#endif
	.poll = drm_poll,
	.read = drm_read,
	.mmap = svmshim_mmap,
	.llseek = noop_llseek,
	SVMSHIM_FOP_FLAGS
};

static const struct drm_driver svmshim_driver = {
	.driver_features = DRIVER_RENDER,
	.open = svmshim_open,
	.postclose = svmshim_postclose,
	.ioctls = svmshim_ioctls,
	.num_ioctls = ARRAY_SIZE(svmshim_ioctls),
	.fops = &svmshim_fops,
	.name = SVMSHIM_DRIVER_NAME,
	.desc = "svmrt shared virtual memory shim",
	SVMSHIM_DRM_DATE("20261122")
	.major = 1,
	.minor = SVMSHIM_UAPI_VERSION,
};

static int svmshim_pick_node(unsigned int index)
{
	int nid, n = 0, want;

	if (index < numa_node_count && svm_numa_node[index] != NUMA_NO_NODE) {
		nid = svm_numa_node[index];
		return node_online(nid) ? nid : -EINVAL;
	}
	want = index % num_online_nodes();
	for_each_online_node(nid)
		if (n++ == want)
			return nid;
	return first_online_node;
}

static int __init svmshim_init(void)
{
	unsigned int i;
	int ret, nid;

	if (!devices || devices > SVMSHIM_MAX_DEVICES || !vram_mb ||
	    vram_mb > SZ_1M)
		return -EINVAL;

	svmshim_pdev = platform_device_register_simple("svmshim", -1, NULL, 0);
	if (IS_ERR(svmshim_pdev))
		return PTR_ERR(svmshim_pdev);
	if (!devres_open_group(&svmshim_pdev->dev, NULL, GFP_KERNEL)) {
		ret = -ENOMEM;
		goto out_pdev;
	}

	svmshim = devm_drm_dev_alloc(&svmshim_pdev->dev, &svmshim_driver,
				     struct svmshim, drm);
	if (IS_ERR(svmshim)) {
		ret = PTR_ERR(svmshim);
		goto out_group;
	}
	svmshim->ndevices = devices;
	svm_shim_view_init(svmshim);
	for (i = 0; i < devices; i++) {
		nid = svmshim_pick_node(i);
		if (nid < 0) {
			pr_err("svmshim: numa_node[%u] is not online\n", i);
			ret = -EINVAL;
			goto out_group;
		}
		svm_device_init(svmshim, i, nid, vram_mb << 20);
	}

	ret = drm_dev_register(&svmshim->drm, 0);
	if (ret)
		goto out_group;

	for (i = 0; i < devices; i++)
		pr_info("svmshim: device %u: %lu MiB on node %d\n", i, vram_mb,
			svmshim->devs[i].nid);
	return 0;

out_group:
	devres_release_group(&svmshim_pdev->dev, NULL);
out_pdev:
	platform_device_unregister(svmshim_pdev);
	return ret;
}

static void __exit svmshim_exit(void)
{
	unsigned int i;
	unsigned long total = 0, free = 0;

	drm_dev_unregister(&svmshim->drm);
	for (i = 0; i < svmshim->ndevices; i++) {
		struct svm_device *sdev = &svmshim->devs[i];

		svm_device_fini(sdev);
		total += sdev->nr_pages;
		free += sdev->nr_free;
	}
	if (total == free)
		pr_info("svmshim: unload: all %lu device pages returned\n",
			total);
	devres_release_group(&svmshim_pdev->dev, NULL);
	platform_device_unregister(svmshim_pdev);
}

module_init(svmshim_init);
module_exit(svmshim_exit);

MODULE_DESCRIPTION("svmrt shared virtual memory shim (device private memory)");
MODULE_LICENSE("GPL");
MODULE_VERSION(SVMSHIM_VERSION); /* dkms.conf's PACKAGE_VERSION (Kbuild) */
