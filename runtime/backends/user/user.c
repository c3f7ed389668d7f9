/* SPDX-License-Identifier: MIT */
/*
 * The user backend: a device emulated in user space with userfaultfd.
 *
 * The heap and one view per device are anonymous mappings of the same size,
 * all registered with one userfaultfd for MISSING and WP faults. A page
 * lives in exactly one of them (plus read-only duplicates); a page of the
 * heap lives at the same offset in a view. Moving a page is UFFDIO_MOVE
 * (the page itself changes address, no copy) where the kernel has it, and
 * otherwise write-protect, UFFDIO_COPY, MADV_DONTNEED, so that a write that
 * races with the copy waits instead of being lost.
 *
 * A move home of a page or a few (SVM_USER_COPY_HOME) from a device that
 * runs no launch is a UFFDIO_COPY instead, and the device's copy is dropped
 * later, many at once (struct drops): a move's TLB flush costs a lone 4 KiB
 * fault more than the copy does.
 *
 * Fault-service threads (SVM_USER_FAULT_SERVERS of them, each woken alone
 * through its own epoll instance: waiter_open) read fault
 * messages from the one userfaultfd, ask runtime/policy what to do under
 * svm__rt.lock, and wake the faulting threads. With UFFDIO_MOVE the moves
 * themselves run with the lock let go (the copy path keeps it: core/rt.h,
 * move_under_lock), the pages marked in flight (core/rt.h), so one
 * server moves a block while another serves a fault elsewhere; a fault
 * on a page in flight waits for that move and is then served again. No
 * signal handler is installed: a thread that faults simply sleeps in the
 * kernel until the page is there, and every install (UFFDIO_MOVE, the
 * copy path's wake after the drop, a zero fill) wakes it at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../backend.h"
#include "../../policy/fault.h"
#include "../../topo/topo.h"
#include "uffd.h"

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

#ifndef MADV_DONTNEED_LOCKED
#define MADV_DONTNEED_LOCKED 24 /* Linux 5.18 */
#endif

#define ZERO_CHUNK (2UL << 20)
#define IOCTL_TRIES 64 /* bound on EAGAIN retries of one ioctl */

static struct user {
	int uffd;
	/*
	 * The devices' views, registered apart with UFFD_FEATURE_SIGBUS when
	 * their faults are served by the faulting thread (see
	 * view_fault), else -1 and the views are on uffd too.
	 */
	int vuffd;
	struct svm__rt *rt; /* for view_fault */
	int stopfd;
	bool have_move; /* UFFDIO_MOVE usable */
	atomic_int copy_home; /* SVM_USER_COPY_HOME; 0 once a stale copy could not be dropped */
	bool kernel_faults; /* not limited to user-mode faults */
	bool thread_ids;    /* fault messages carry the faulting thread */
	int nservers; /* fault-service threads started */
	uintptr_t heap;
	size_t size;
	uintptr_t view[SVM__MAX_DEVICES];
	/*
	 * The host bytes each in-place copy started from (same layout as the
	 * heap; only pages a device works on in place hold anything): the
	 * write-back of a pinned page stores only the bytes the device changed
	 * (see write_back_in_place). Not registered with the userfaultfd.
	 */
	uintptr_t shadow;
	/*
	 * Launch coherence, UFFDIO_MOVE path: where a commit moves the host
	 * pages it drops (user_commit), so that the kernel's refusal to move
	 * a pinned page tells which to keep. Same layout as the heap,
	 * registered with uffd (UFFDIO_MOVE wants its destination so), never
	 * read; 0 without UFFDIO_MOVE.
	 */
	uintptr_t scratch;
	int node[SVM__MAX_DEVICES]; /* each device's host NUMA node */
	int ndev;
	void *zeros;
	int pagemap; /* /proc/self/pagemap, to tell pinned pages from shared ones */
	bool probe_always; /* copy path: probe for pins before every host page copy */
	atomic_bool ever_pinned; /* a pin was seen (VmPin, or a probe found one): see pins_maybe */
	atomic_uint fail_transient; /* SVM_USER_SERVICE_FAIL=transient=N: polls left to fail */
	atomic_bool fail_fatal;     /* SVM_USER_SERVICE_FAIL=fatal: the next read fails */
	bool fail_epoll;            /* SVM_USER_SERVICE_FAIL=epoll: epoll setup fails */
	atomic_bool fail_writeback; /* SVM_USER_SERVICE_FAIL=writeback: see unprotect_pinned */
	atomic_int servers_waiting; /* fault servers waiting for rt->lock (server_lock) */
} U = { .uffd = -1, .vuffd = -1, .stopfd = -1, .pagemap = -1 };

/*
 * One fault-service thread and what only it touches: its CPU faults whose
 * page could not come home yet (see pending_add).
 */
struct server {
	struct svm__rt *rt;
	pthread_t thread;
	int epfd; /* its own epoll instance (see waiter_open); -1: it uses poll() */
	struct pending *P;
	size_t np, cap;
};
static struct server S[SVM__MAX_FAULT_SERVERS];
/*
 * Pages copied home whose device copy is still there (copy_home), per
 * device: stale, so they must go before the device runs code (a launch
 * would read them without faulting) and before anything is placed in the
 * device's view (an install finds the address taken). Nothing else reads
 * a view page the runtime does not own there. They are dropped
 * (MADV_DONTNEED, one call per run of neighbouring pages) when a launch
 * starts on the device (device_running), before every move or copy to it,
 * when a list is full, and when a fault server has been idle DROP_IDLE_MS.
 * The lock is a leaf: nothing is taken under it.
 */
#define DROP_RUNS 64   /* runs of neighbouring pages one list holds */
#define DROP_PAGES 512 /* pages one list holds (2 MiB of stale copies per device) */
#define DROP_IDLE_MS 1

static struct drops {
	pthread_mutex_t lock;
	bool running;        /* the device runs a launch: no copies home from it */
	atomic_size_t pages; /* pages listed; read unlocked to skip an empty list */
	size_t n;
	struct {
		uintptr_t a;
		size_t len;
	} run[DROP_RUNS];
} D[SVM__MAX_DEVICES];

/* SVM_INJECT draws from one generator; movers run in parallel now */
static pthread_mutex_t inject_lock = PTHREAD_MUTEX_INITIALIZER;

static uintptr_t area(int loc)
{
	return loc == SVM_HOST ? U.heap : U.view[loc];
}

/* The location whose mapping holds address a: SVM_HOST, a device, or -2 (not ours). */
static int loc_of(uintptr_t a)
{
	if (a - U.heap < U.size)
		return SVM_HOST;
	for (int d = 0; d < U.ndev; d++)
		if (a - U.view[d] < U.size)
			return d;
	return -2;
}

/* The address of heap address addr in the mapping of location loc. */
static uintptr_t at(int loc, uintptr_t addr)
{
	return area(loc) + (addr - U.heap);
}

/* Where the in-place snapshot of heap address addr lives (U.shadow). */
static uintptr_t snap_at(uintptr_t addr)
{
	return U.shadow + (addr - U.heap);
}

static uintptr_t scratch_at(uintptr_t addr)
{
	return U.scratch + (addr - U.heap);
}

/* The userfaultfd an address is registered with (the views' when they have their own). */
static int fd_for(uintptr_t addr)
{
	bool view = addr - U.heap >= U.size && (!U.scratch || addr - U.scratch >= U.size);

	return U.vuffd >= 0 && view ? U.vuffd : U.uffd;
}

static svm_failure_t classify_errno(int err, const char *what, uintptr_t addr)
{
	switch (err) {
	case EAGAIN:
	case EBUSY:
		return SVM_FAILURE_BUSY;
	case ENOMEM:
		return SVM_FAILURE_NO_MEMORY;
	default:
		svm__err("%s at %#lx failed: %s", what, (unsigned long)addr, strerror(err));
		return err == EEXIST ? SVM_FAILURE_BUSY : SVM_FAILURE_UNSUPPORTED;
	}
}

static int uffd_wp_once(uintptr_t addr, size_t len, uint64_t mode)
{
	struct uffdio_writeprotect wp = {
		.range = { .start = addr, .len = len },
		.mode = mode,
	};

	for (int i = 0; i < IOCTL_TRIES; i++) {
		if (ioctl(fd_for(addr), UFFDIO_WRITEPROTECT, &wp) == 0)
			return 0;
		if (errno != EAGAIN)
			break;
	}
	return -errno;
}

/*
 * On older kernels (6.1 among them) UFFDIO_WRITEPROTECT wants its range
 * inside one VMA, and answers ENOENT for a run across a cut between two
 * VMAs that could not merge again (see vma_cut below; 6.12 walks the VMAs
 * itself).
 * Then the run is protected one page at a time: a page is always inside
 * one VMA. Without this, every move of such a block on the copy path
 * failed as BUSY on those kernels (user.vma_split in the 6.1 VM).
 */
static int uffd_wp_mode(uintptr_t addr, size_t len, uint64_t mode)
{
	int ret = uffd_wp_once(addr, len, mode);

	if (ret != -ENOENT || len <= SVM__PAGE_SIZE)
		return ret;
	for (size_t off = 0; off < len; off += SVM__PAGE_SIZE) {
		ret = uffd_wp_once(addr + off, SVM__PAGE_SIZE, mode);
		if (ret)
			return ret;
	}
	return 0;
}

static int uffd_wp(uintptr_t addr, size_t len, bool protect)
{
	return uffd_wp_mode(addr, len, protect ? UFFDIO_WRITEPROTECT_MODE_WP : 0);
}

static void uffd_wake(uintptr_t addr, size_t len)
{
	struct uffdio_range r = { .start = addr, .len = len };

	ioctl(fd_for(addr), UFFDIO_WAKE, &r);
}

/*
 * UFFDIO_COPY and UFFDIO_MOVE want the destination (MOVE: both sides)
 * inside one VMA. A run of pages can cross a boundary between two
 * anonymous VMAs of one mapping that could not merge again (pieces of
 * earlier allocations at these addresses, each with its own anon_vma):
 * COPY answers ENOENT, MOVE EINVAL, every time. Then the run goes on one
 * page at a time (a page is always inside one VMA). Found by the soak.
 */
static bool vma_cut(int err, int cut_errno, bool *by_page, size_t left)
{
	if (err != cut_errno || *by_page || left <= SVM__PAGE_SIZE)
		return false;
	*by_page = true;
	return true;
}

/*
 * Copies len bytes into the missing pages at dst; returns bytes done.
 * mode: UFFDIO_COPY_MODE_WP and/or _DONTWAKE. A copy that replaces a page
 * (the source is dropped after it) must not wake: a woken thread could
 * write the new page, tell another thread, and that one still read the
 * old page. The caller drops the source, then wakes.
 */
static size_t uffd_copy(uintptr_t dst, uintptr_t src, size_t len, uint64_t mode, int *err)
{
	size_t done = 0;
	bool by_page = false;

	*err = 0;
	for (int tries = 0; done < len && tries < IOCTL_TRIES; tries++) {
		size_t n = by_page ? SVM__PAGE_SIZE : len - done;
		struct uffdio_copy c = {
			.dst = dst + done, .src = src + done, .len = n,
			.mode = mode,
		};

		if (ioctl(fd_for(dst), UFFDIO_COPY, &c) == 0) {
			done += n;
			*err = 0;
			tries = -1; /* the bound is on retries of one step */
			continue;
		}
		*err = errno;
		if (c.copy > 0)
			done += (size_t)c.copy;
		if (vma_cut(*err, ENOENT, &by_page, len - done))
			continue;
		if (*err != EAGAIN)
			break;
	}
	if (done == len)
		*err = 0;
	return done;
}

/* Moves len bytes of pages from src to dst; returns bytes done. */
static size_t uffd_move(uintptr_t dst, uintptr_t src, size_t len, int *err)
{
	size_t done = 0;
	bool by_page = false;

	*err = 0;
	for (int tries = 0; done < len && tries < IOCTL_TRIES; tries++) {
		size_t n = by_page ? SVM__PAGE_SIZE : len - done;
		struct uffdio_move m = { .dst = dst + done, .src = src + done, .len = n };

		/* MOVE wants the destination registered with the fd it is called on */
		if (ioctl(fd_for(dst), UFFDIO_MOVE, &m) == 0) {
			done += n;
			*err = 0;
			tries = -1; /* the bound is on retries of one step */
			continue;
		}
		*err = errno;
		if (m.move > 0)
			done += (size_t)m.move;
		if (vma_cut(*err, EINVAL, &by_page, len - done)) /* see vma_cut */
			continue;
		if (*err != EAGAIN)
			break;
	}
	if (done == len)
		*err = 0;
	return done;
}

/* The /proc/self/pagemap entries of n pages at addr; false if unknown. */
static bool pagemap_entries(uintptr_t addr, size_t n, uint64_t *e)
{
	size_t len = n * sizeof(*e);

	return U.pagemap >= 0 && pread(U.pagemap, e, len,
				       (off_t)(addr / SVM__PAGE_SIZE * sizeof(*e))) == (ssize_t)len;
}

#define PM_PRESENT (1ULL << 63)
#define PM_SWAP (1ULL << 62)
#define PM_EXCLUSIVE (1ULL << 56) /* mapped only here */
#define PM_UFFD_WP (1ULL << 57)	  /* write-protected by userfaultfd */
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/*
 * Marks in hole[] the pages of [addr, addr + n pages) (n <= 256) that hold
 * nothing: neither mapped nor swapped out. Touching one faults on our own
 * userfaultfd, so the service thread must never read one, not even as the
 * source of a UFFDIO_COPY: it would wait for itself, and with it every
 * fault of the process. A page the runtime has there is missing when the
 * program dropped it (MADV_DONTNEED; MADV_FREE and reclaim). Returns how
 * many; 0 when pagemap cannot tell (then the pages are read, as before).
 */
static size_t holes(uintptr_t addr, size_t n, bool *hole)
{
	uint64_t e[256];
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		hole[i] = false;
	if (n > 256 || !pagemap_entries(addr, n, e))
		return 0;
	for (size_t i = 0; i < n; i++) {
		hole[i] = !(e[i] & (PM_PRESENT | PM_SWAP));
		k += hole[i];
	}
	return k;
}

/*
 * UFFDIO_COPY of n pages from src to the missing pages at dst, where a
 * page with nothing at src (a hole: see holes()) gets zeros, as the kernel
 * gives a dropped anonymous page. Returns bytes done, in order.
 */
static size_t uffd_copy_filled(uintptr_t dst, uintptr_t src, size_t n, uint64_t mode, int *err)
{
	bool hole[256];
	size_t done = 0;

	*err = 0;
	for (size_t c = 0; c < n; c += 256) {
		size_t m = n - c < 256 ? n - c : 256;

		holes(src + done, m, hole);
		for (size_t i = 0, j; i < m; i = j) {
			size_t len, got;

			for (j = i + 1; j < m && hole[j] == hole[i]; j++)
				;
			len = (j - i) * SVM__PAGE_SIZE;
			got = uffd_copy(dst + done, hole[i] ? (uintptr_t)U.zeros : src + done, len,
					mode, err);
			done += got;
			if (got < len)
				return done;
		}
	}
	return done;
}

/* kB of long-term pins this process holds (io_uring buffers, RDMA); -1 unknown */
static long pinned_kb(void)
{
	char buf[4096], *p;
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	ssize_t got;

	if (fd < 0)
		return -1;
	got = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (got <= 0)
		return -1;
	buf[got] = 0;
	p = strstr(buf, "\nVmPin:");
	return p ? strtol(p + 7, NULL, 10) : -1;
}

/*
 * Held by a pin probe from its fork to its child's end (for reading:
 * probes may overlap), and by busy_page from its look at the page to its
 * last move (for writing): a probe's child shares every page of the
 * process for as long as it lives, and a page shared so (or left not
 * exclusive by it: the next write makes it so again) is refused by
 * UFFDIO_MOVE as if pinned. A probe made for other pages (in-place ends
 * run under rt->lock, moves do not) then had a mover's page reported
 * PINNED (user.pin.race.move, 6 runs of 11). busy_page is the rare side
 * (a refused move), so a run of probes cannot starve it on the path
 * that calls it: there probes come from in-place ends, one at a time.
 */
static pthread_rwlock_t probe_lock = PTHREAD_RWLOCK_INITIALIZER;

/*
 * Which of n present host pages at h does someone else pin (io_uring,
 * RDMA, O_DIRECT where it pins)? No system call says so. fork() does, as a
 * side effect: a child shares every anonymous page with its parent except
 * the ones that may be pinned for DMA, which it gets a private copy of. So
 * a child that only waits is made (a bare clone: no atfork handlers, no
 * SIGCHLD), and while it lives a page still mapped once in our pagemap
 * (PM_EXCLUSIVE) is a pinned one. Costs one fork of the process; the pages
 * it shared are copied on the next write (the copy-on-write of a fork).
 * Returns false if it cannot tell (the caller must then assume pinned).
 */
static bool probe_pins(uintptr_t h, size_t n, bool *pinned)
{
	uint64_t e[256];
	int p[2], st;
	bool ok;
	pid_t pid;
	sigset_t all, old;

	if (pipe2(p, O_CLOEXEC))
		return false;
	pthread_rwlock_rdlock(&probe_lock); /* see busy_page */
	/* the child runs none of the program's signal handlers */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid = (pid_t)syscall(SYS_clone, 0UL, NULL, NULL, NULL, NULL);
	if (pid != 0)
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (pid == 0) { /* the child: wait for the parent's word, then go */
		char c;

		syscall(SYS_close, p[1]);
		syscall(SYS_read, p[0], &c, 1);
		syscall(SYS_exit_group, 0);
	}
	/* one fork for all n pages: the child lives until every entry is read */
	ok = pid > 0;
	for (size_t c = 0; ok && c < n; c += 256) {
		size_t m = n - c < 256 ? n - c : 256;

		ok = pagemap_entries(h + c * SVM__PAGE_SIZE, m, e);
		for (size_t i = 0; ok && i < m; i++) {
			pinned[c + i] = (e[i] & PM_PRESENT) && (e[i] & PM_EXCLUSIVE);
			if (pinned[c + i])
				atomic_store(&U.ever_pinned, true);
		}
	}
	/* a byte, not EOF: a process forked meanwhile may hold p[1] too */
	if (pid > 0 && write(p[1], "", 1) != 1)
		svm__err("pin probe: cannot release the child: %s", strerror(errno));
	close(p[1]);
	close(p[0]);
	if (pid > 0)
		while (waitpid(pid, &st, __WALL) < 0 && errno == EINTR)
			;
	pthread_rwlock_unlock(&probe_lock);
	return ok;
}

/*
 * May someone else pin host pages now? While VmPin says so, and from the
 * first pin seen on (VmPin, a probe, UFFDIO_MOVE refusing a pinned page)
 * to the end of the process: VmPin alone lags, since io_uring (and RDMA)
 * takes all the pins of a buffer, faulting the missing pages in, before it
 * accounts them, so VmPin reads 0 while pages are pinned already. A
 * process that never pinned anything pays nothing (no fork).
 */
static bool pins_maybe(void)
{
	long kb;

	if (atomic_load(&U.ever_pinned))
		return true;
	kb = pinned_kb();
	if (kb > 0)
		atomic_store(&U.ever_pinned, true);
	return kb != 0; /* unknown (-1) counts as maybe */
}

/*
 * Must the copy path look for pins before copying host pages away? Always
 * where a short-term pin can exist that the probe sees (O_DIRECT pins its
 * pages from Linux 6.4 on; before, it takes plain references, which
 * nothing in user space can see), or when asked (SVM_USER_PIN_PROBE=
 * always). Otherwise (before 6.4, or SVM_USER_PIN_PROBE=long-term) when
 * someone may pin host pages now (pins_maybe): not while VmPin reads 0
 * alone, since a registration in progress has pinned pages it has not
 * counted yet, and a page copied away then is lost to its pinner
 * (user.pin.race.longterm.copy). From the first pin seen on, this forks
 * before every copy of host pages, as `always` does.
 */
static bool need_pin_probe(const struct svm__rt *rt)
{
	(void)rt;
	return U.probe_always || pins_maybe();
}

/* The probe could not run: every page is taken as pinned; said once. */
static void cannot_probe(size_t n, uintptr_t s)
{
	static atomic_bool said;

	if (!atomic_exchange(&said, true))
		svm__warn("cannot tell whether %zu pages at %#lx are pinned (%s); they and any "
			  "like them stay on the host, reported PINNED", n, (unsigned long)s,
			  U.pagemap < 0 ? "/proc/self/pagemap is not readable" : "fork failed");
}

/*
 * Copies the pages of [s, s + n pages) to d that skip[] leaves (a pinned
 * page is unprotected again and reported PINNED; with `injected` the
 * class already in out[] stays). The pages are write-protected already.
 * In pieces of at most 256 pages, each dropped at s as soon as it is
 * copied: a long run is not held twice.
 */
static size_t copy_runs(uintptr_t d, uintptr_t s, size_t n, const bool *skip, bool injected,
			svm_failure_t *out)
{
	size_t moved = 0;
	int err = 0;

	for (size_t i = 0; i < n;) {
		size_t j = i + 1, done;
		uintptr_t off = i * SVM__PAGE_SIZE;

		if (skip[i]) {
			if (!injected || out[i] == SVM_FAILURE_NONE)
				out[i] = SVM_FAILURE_PINNED;
			uffd_wp(s + off, SVM__PAGE_SIZE, false);
			i++;
			continue;
		}
		while (j < n && j - i < 256 && !skip[j])
			j++;
		done = uffd_copy_filled(d + off, s + off, j - i, UFFDIO_COPY_MODE_DONTWAKE, &err);
		if (done) {
			madvise((void *)(s + off), done, MADV_DONTNEED);
			uffd_wake(d + off, done);
		}
		if (done < (j - i) * SVM__PAGE_SIZE)
			uffd_wp(s + off + done, (j - i) * SVM__PAGE_SIZE - done, false);
		for (size_t k = i; k < j; k++)
			out[k] = (k - i) * SVM__PAGE_SIZE < done ? SVM_FAILURE_NONE :
				 classify_errno(err, "UFFDIO_COPY", s + k * SVM__PAGE_SIZE);
		moved += done / SVM__PAGE_SIZE;
		i = j;
	}
	return moved;
}

/*
 * Write-protects n host pages at s and, with `probe`, finds the pinned
 * ones (all of them if it cannot tell). False if the protection failed.
 */
static bool protect_and_probe(uintptr_t s, size_t n, bool probe, bool *pinned)
{
	if (uffd_wp(s, n * SVM__PAGE_SIZE, true))
		return false;
	if (probe && !probe_pins(s, n, pinned)) {
		cannot_probe(n, s);
		for (size_t i = 0; i < n; i++)
			pinned[i] = true;
	}
	return true;
}

/*
 * Copy path of a move: the source is write-protected first so no write
 * can land between the copy and the drop; writers wait, then fault again
 * on the now missing source page and are served from the new place. A
 * host page that someone else pinned is never copied away (its pinner
 * would go on using a page the program no longer sees): with `probe` it
 * is looked for, under the write protection (a new writable pin waits on
 * it), and reported PINNED.
 */
static size_t copy_move(uintptr_t d, uintptr_t s, size_t len, bool probe, svm_failure_t *out)
{
	size_t n = len / SVM__PAGE_SIZE, moved = 0, step = n;
	bool stack[256], *pinned = stack;

	/*
	 * The whole run is protected, then probed with one fork, then copied
	 * run by run: every page copied was write-protected before the probe
	 * that cleared it and stays so until it is copied and dropped. (A
	 * fork costs what the process maps, not what is probed.) Without
	 * memory for the marks: one probe per 256 pages.
	 */
	if (n > 256 && !(pinned = malloc(n * sizeof(*pinned)))) {
		pinned = stack;
		step = 256;
	}
	for (size_t c = 0; c < n; c += step) {
		size_t m = n - c < step ? n - c : step;
		uintptr_t off = c * SVM__PAGE_SIZE;

		memset(pinned, 0, m * sizeof(*pinned));
		if (!protect_and_probe(s + off, m, probe, pinned)) {
			for (size_t i = c; i < c + m; i++)
				out[i] = SVM_FAILURE_BUSY;
			continue;
		}
		moved += copy_runs(d + off, s + off, m, pinned, false, out + c);
		uffd_wake(s + off, m * SVM__PAGE_SIZE);
	}
	if (pinned != stack)
		free(pinned);
	return moved;
}

static size_t zero_fill(uintptr_t d, size_t len, svm_failure_t *out)
{
	size_t done = 0;
	int err = 0;

	while (done < len) {
		size_t chunk = len - done < ZERO_CHUNK ? len - done : ZERO_CHUNK;
		size_t got = uffd_copy(d + done, (uintptr_t)U.zeros, chunk, 0, &err);

		done += got;
		if (got < chunk)
			break;
	}
	for (size_t i = 0; i < len / SVM__PAGE_SIZE; i++)
		out[i] = i * SVM__PAGE_SIZE < done ? SVM_FAILURE_NONE :
			 classify_errno(err, "zero fill", d + i * SVM__PAGE_SIZE);
	return done / SVM__PAGE_SIZE;
}

/*
 * UFFDIO_MOVE refused the page at s with EBUSY: it is shared (a fork
 * child has or had it), or pinned by someone (io_uring, RDMA, O_DIRECT).
 * A page mapped more than once cannot be pinned (the kernel unshares a
 * page before it pins it): it goes the copy way. One mapped only here and
 * not write-protected takes a write fault, which makes a page left over
 * from a fork exclusive again and leaves a pinned page alone; if the move
 * still fails, the page is pinned. One that is write-protected cannot take
 * that fault from this thread: it stays, BUSY, and is offered again.
 */
enum busy_kind { BUSY_SHARED, BUSY_PINNED, BUSY_MOVED, BUSY_UNSURE };

static enum busy_kind busy_page(uintptr_t d, uintptr_t s)
{
	enum busy_kind k;
	uint64_t e;
	int err;

	/* no probe's child shares the page from the look to the move (probe_lock) */
	pthread_rwlock_wrlock(&probe_lock);
	if (!pagemap_entries(s, 1, &e))
		k = BUSY_UNSURE;
	else if (!(e & PM_EXCLUSIVE))
		k = BUSY_SHARED;
	else if ((e & PM_UFFD_WP) || madvise((void *)s, SVM__PAGE_SIZE, MADV_POPULATE_WRITE))
		k = BUSY_UNSURE;
	else if (uffd_move(d, s, SVM__PAGE_SIZE, &err) == SVM__PAGE_SIZE)
		k = BUSY_MOVED;
	else
		k = err == EBUSY ? BUSY_PINNED : BUSY_UNSURE;
	pthread_rwlock_unlock(&probe_lock);
	return k;
}

/*
 * Copies the page at s that busy_page() found shared, so not pinned. But
 * a writable pin (an io_uring registration) may have ended the sharing
 * since it looked: its copy-on-write leaves this process a page of its
 * own, pinned, and copying that away would orphan the pin. So it looks
 * again once the page is write-protected (a new writable pin now waits):
 * still shared, it is copied; this process's own now, it stays, BUSY, and
 * the next try's UFFDIO_MOVE moves it or finds it pinned (user.pin.shared).
 */
static size_t copy_shared(uintptr_t d, uintptr_t s, svm_failure_t *out)
{
	bool keep = false;
	uint64_t e;
	size_t moved;

	if (uffd_wp(s, SVM__PAGE_SIZE, true)) {
		*out = SVM_FAILURE_BUSY;
		return 0;
	}
	if (!pagemap_entries(s, 1, &e) || (e & PM_EXCLUSIVE)) {
		uffd_wp(s, SVM__PAGE_SIZE, false);
		uffd_wake(s, SVM__PAGE_SIZE);
		*out = SVM_FAILURE_BUSY;
		return 0;
	}
	moved = copy_runs(d, s, 1, &keep, false, out);
	uffd_wake(s, SVM__PAGE_SIZE);
	return moved;
}

/* D[dev].lock held. */
static void drops_flush_locked(int dev)
{
	struct drops *q = &D[dev];

	for (size_t i = 0; i < q->n; i++) {
		void *a = (void *)q->run[i].a;

		/* MADV_DONTNEED refuses locked pages (mlockall): _LOCKED takes them */
		if (madvise(a, q->run[i].len, MADV_DONTNEED) &&
		    madvise(a, q->run[i].len, MADV_DONTNEED_LOCKED)) {
			/* left there, a launch would read it: no more copies home */
			svm__err("device %d: cannot drop the copy of %zu bytes at %#lx that came "
				 "home: %s; pages move home from now on", dev, q->run[i].len,
				 (unsigned long)q->run[i].a, strerror(errno));
			atomic_store(&U.copy_home, 0);
		}
	}
	q->n = 0;
	atomic_store(&q->pages, 0);
}

static void drops_flush(int dev)
{
	if (!atomic_load(&D[dev].pages))
		return;
	pthread_mutex_lock(&D[dev].lock);
	drops_flush_locked(dev);
	pthread_mutex_unlock(&D[dev].lock);
}

static bool drops_any(void)
{
	for (int d = 0; d < U.ndev; d++)
		if (atomic_load(&D[d].pages))
			return true;
	return false;
}

/*
 * Lists [s, s + len): it joins a run it touches (threads that each stream
 * through their own part make a run each), else starts one.
 */
static void drops_add(struct drops *q, uintptr_t s, size_t len)
{
	size_t i;

	for (i = 0; i < q->n; i++) {
		if (q->run[i].a + q->run[i].len == s)
			break;
		if (s + len == q->run[i].a) {
			q->run[i].a = s;
			break;
		}
	}
	if (i == q->n) {
		q->run[i].a = s;
		q->run[i].len = 0;
		q->n++;
	}
	q->run[i].len += len;
	atomic_fetch_add(&q->pages, len / SVM__PAGE_SIZE);
}

/*
 * Copies n pages home from device src (view address s, heap address d),
 * unless the device runs a launch, and lists its copy to be dropped.
 * UFFDIO_COPY wakes the threads waiting on d at once: no thread can see
 * the stale copy before it goes (struct drops), so there is nothing a
 * reader could find out of order. Returns the pages copied (a prefix).
 */
static size_t copy_home(uintptr_t d, uintptr_t s, size_t n, int src)
{
	struct drops *q = &D[src];
	size_t len = 0;
	int err;

	pthread_mutex_lock(&q->lock);
	if (q->running || !atomic_load(&U.copy_home))
		goto out;
	if (q->n == DROP_RUNS || atomic_load(&q->pages) + n > DROP_PAGES)
		drops_flush_locked(src);
	len = uffd_copy(d, s, n * SVM__PAGE_SIZE, 0, &err) & ~(SVM__PAGE_SIZE - 1);
	if (!len)
		goto out;
	drops_add(q, s, len);
out:
	pthread_mutex_unlock(&q->lock);
	return len / SVM__PAGE_SIZE;
}

static void bus_check(void);

static void user_device_running(struct svm__rt *rt, int dev, bool running)
{
	(void)rt;
	if (running && U.vuffd >= 0)
		bus_check();
	pthread_mutex_lock(&D[dev].lock);
	D[dev].running = running;
	if (running)
		drops_flush_locked(dev);
	pthread_mutex_unlock(&D[dev].lock);
}

/* Does a page map at a (present or swapped out)? False where pagemap cannot tell. */
static bool page_mapped(uintptr_t a)
{
	uint64_t e;

	return pagemap_entries(a, 1, &e) && (e & (PM_PRESENT | PM_SWAP));
}

/* Is nothing mapped at a? False where pagemap cannot tell. */
static bool page_empty(uintptr_t a)
{
	uint64_t e;

	return pagemap_entries(a, 1, &e) && !(e & (PM_PRESENT | PM_SWAP));
}

/*
 * UFFDIO_MOVE refused the page at d as there already (EEXIST). Is it,
 * with nothing left at s? Then its bytes are at d, and the move is done:
 * on the 6.18 development host a 2 MiB piece of a run the kernel reported
 * moved (and pagemap showed moved) is now and then back at its source by
 * the next move, which meets it at its destination. Counted as refused, the
 * runtime kept the page recorded at the empty source, and the next access
 * there read zeros (docs/data-integrity.md, "Open"; tests/soak/
 * prefetch_loop.c). Said once.
 */
static bool at_destination(uintptr_t d, uintptr_t s)
{
	static atomic_bool said;

	if (!page_mapped(d) || !page_empty(s))
		return false;
	if (!atomic_exchange(&said, true))
		svm__warn("user backend: UFFDIO_MOVE found the page at %#lx already moved, with "
			  "nothing left where it came from: an earlier move the kernel reported "
			  "whole left it behind; taken as moved (said once)", (unsigned long)d);
	return true;
}

static size_t transfer_run(struct svm__rt *rt, uintptr_t addr, size_t n, int src, int dst,
			   svm_failure_t *out)
{
	size_t len = n * SVM__PAGE_SIZE, done = 0, moved = 0, i;
	uintptr_t s = at(src == SVM__LOC_NONE ? SVM_HOST : src, addr), d = at(dst, addr);
	int err = 0;

	if (src == SVM__LOC_NONE)
		return zero_fill(d, len, out);
	if (!U.have_move)
		return copy_move(d, s, len, src == SVM_HOST && dst >= 0 && need_pin_probe(rt),
				 out);
	while (done < len) {
		size_t got = uffd_move(d + done, s + done, len - done, &err), k;

		for (i = 0; i < got / SVM__PAGE_SIZE; i++)
			out[done / SVM__PAGE_SIZE + i] = SVM_FAILURE_NONE;
		done += got;
		moved += got / SVM__PAGE_SIZE;
		if (done == len)
			break;
		k = done / SVM__PAGE_SIZE;
		bool hole = false;

		if (err == ENOENT && holes(s + done, 1, &hole) && hole) {
			/* nothing there to move (see holes()): the page arrives as zeros */
			moved += zero_fill(d + done, SVM__PAGE_SIZE, &out[k]);
			done += SVM__PAGE_SIZE;
			continue;
		}
		if (err == EEXIST && at_destination(d + done, s + done)) {
			out[k] = SVM_FAILURE_NONE;
			moved++;
			done += SVM__PAGE_SIZE;
			continue;
		}
		if (err != EBUSY) {
			/* EAGAIN after its tries, or worse: the rest is offered again */
			for (i = k; i < n; i++)
				out[i] = classify_errno(err, "UFFDIO_MOVE", addr + i * SVM__PAGE_SIZE);
			break;
		}
		/*
		 * A pinned page stays, PINNED: copying it away would leave the
		 * pinned page to its DMA user while the address shows another.
		 * Only a shared page (never a pinned one) is copied, if it is
		 * still shared once write-protected (copy_shared).
		 */
		switch (busy_page(d + done, s + done)) {
		case BUSY_PINNED:
			atomic_store(&U.ever_pinned, true);
			out[k] = SVM_FAILURE_PINNED;
			break;
		case BUSY_MOVED:
			out[k] = SVM_FAILURE_NONE;
			moved++;
			break;
		case BUSY_SHARED:
			moved += copy_shared(d + done, s + done, &out[k]);
			break;
		case BUSY_UNSURE:
			out[k] = SVM_FAILURE_BUSY;
			break;
		}
		done += SVM__PAGE_SIZE;
	}
	return moved;
}

/* Moves a run; a small one home from a device by copy_home. */
static size_t move_run(struct svm__rt *rt, uintptr_t addr, size_t n, int src, int dst,
		       svm_failure_t *out)
{
	size_t k = 0;

	if (dst == SVM_HOST && src >= 0 && n <= (size_t)atomic_load(&U.copy_home))
		k = copy_home(at(SVM_HOST, addr), at(src, addr), n, src);
	for (size_t i = 0; i < k; i++)
		out[i] = SVM_FAILURE_NONE;
	if (k == n)
		return k;
	return k + transfer_run(rt, addr + k * SVM__PAGE_SIZE, n - k, src, dst, out + k);
}

/*
 * Pages coming home from a device land on its node, as a copy out of real
 * device memory would. Only on machines with more than one node.
 */
static void place_home(uintptr_t addr, size_t n, int src, int dst)
{
	if (dst != SVM_HOST || src < 0 || svm__topo_nodes() < 2 || U.node[src] < 0)
		return;
	svm__topo_move_pages((void *)addr, n * SVM__PAGE_SIZE, U.node[src]);
}

/*
 * SVM_INJECT class=left-behind: plays the kernel fault of
 * docs/data-integrity.md ("Open"): some pages of the run just moved, and
 * reported moved, go back to where they came from. Only where the
 * kernel's move moved them: not on the copy path, not a small move home
 * that copy_home served (its device copy stays there until dropped).
 */
static void leave_behind(struct svm__rt *rt, uintptr_t addr, size_t n, int src, int dst,
			 const svm_failure_t *out)
{
	if (!U.have_move || (dst == SVM_HOST && n <= (size_t)atomic_load(&U.copy_home)))
		return;
	for (size_t i = 0; i < n; i++) {
		uintptr_t a = addr + i * SVM__PAGE_SIZE;
		bool leave;
		int err;

		if (out[i] != SVM_FAILURE_NONE)
			continue;
		pthread_mutex_lock(&inject_lock);
		leave = svm__inject_leave(&rt->inject, a, src, dst);
		pthread_mutex_unlock(&inject_lock);
		if (leave && uffd_move(at(src, a), at(dst, a), SVM__PAGE_SIZE, &err) != SVM__PAGE_SIZE)
			svm__warn("SVM_INJECT left-behind: could not put %#lx back: %s",
				  (unsigned long)a, strerror(err));
	}
}

static size_t user_move(struct svm__rt *rt, uintptr_t addr, size_t n, int src, int dst,
			svm_failure_t *out)
{
	size_t moved = 0;

	if (dst >= 0) /* the device's stale copies go before anything lands there */
		drops_flush(dst);
	/* a zero fill is not a move */
	if (!rt->inject.on || rt->inject.left_behind || src == SVM__LOC_NONE) {
		moved = move_run(rt, addr, n, src, dst, out);
		place_home(addr, n, src, dst);
		if (rt->inject.on && rt->inject.left_behind && src != SVM__LOC_NONE)
			leave_behind(rt, addr, n, src, dst, out);
		return moved;
	}
	/*
	 * SVM_INJECT: chosen pages fail, the runs between them move. On the
	 * copy path with a pin probe, one probe covers them all.
	 */
	bool stack[256], *skip = n <= 256 ? stack : NULL;

	if (src == SVM_HOST && dst >= 0 && !U.have_move && need_pin_probe(rt) &&
	    (skip || (skip = calloc(n, sizeof(*skip))))) {
		uintptr_t s = at(SVM_HOST, addr);
		size_t left = 0;

		memset(skip, 0, n * sizeof(*skip));
		pthread_mutex_lock(&inject_lock);
		for (size_t i = 0; i < n; i++) {
			out[i] = svm__inject_draw(&rt->inject, addr + i * SVM__PAGE_SIZE, src, dst);
			left += out[i] == SVM_FAILURE_NONE;
		}
		pthread_mutex_unlock(&inject_lock);
		if (!left) {
			/* all injected: nothing to copy, nothing to probe */
		} else if (!protect_and_probe(s, n, true, skip)) {
			for (size_t i = 0; i < n; i++)
				if (out[i] == SVM_FAILURE_NONE)
					out[i] = SVM_FAILURE_BUSY;
		} else {
			for (size_t i = 0; i < n; i++)
				skip[i] = skip[i] || out[i] != SVM_FAILURE_NONE;
			moved = copy_runs(at(dst, addr), s, n, skip, true, out);
			uffd_wake(s, n * SVM__PAGE_SIZE);
		}
		if (skip != stack)
			free(skip);
		return moved;
	}
	for (size_t i = 0; i < n;) {
		size_t j = i;

		pthread_mutex_lock(&inject_lock);
		while (j < n && (out[j] = svm__inject_draw(&rt->inject, addr + j * SVM__PAGE_SIZE,
							   src, dst)) == SVM_FAILURE_NONE)
			j++;
		pthread_mutex_unlock(&inject_lock);
		if (j > i) {
			moved += move_run(rt, addr + i * SVM__PAGE_SIZE, j - i, src, dst, out + i);
			place_home(addr + i * SVM__PAGE_SIZE, j - i, src, dst);
		}
		i = j + 1; /* out[j] holds the injected class */
	}
	return moved;
}

static svm_result_t user_duplicate(struct svm__rt *rt, uintptr_t addr, size_t n, int owner,
				   int dst)
{
	uintptr_t s = at(owner, addr);
	size_t len = n * SVM__PAGE_SIZE;
	int err;

	(void)rt;
	if (dst >= 0)
		drops_flush(dst);
	if (uffd_wp(s, len, true))
		return SVM_ERROR_BACKEND;
	if (uffd_copy_filled(at(dst, addr), s, n, UFFDIO_COPY_MODE_WP, &err) != len) {
		svm__err("read duplicate of %#lx failed: %s", (unsigned long)addr, strerror(err));
		madvise((void *)at(dst, addr), len, MADV_DONTNEED);
		uffd_wp(s, len, false);
		return SVM_ERROR_BACKEND;
	}
	return SVM_OK;
}

/* The host's next write to these pages faults (policy/thrash.c: holds). */
static svm_result_t user_watch(struct svm__rt *rt, uintptr_t addr, size_t n)
{
	(void)rt;
	return uffd_wp(at(SVM_HOST, addr), n * SVM__PAGE_SIZE, true) ? SVM_ERROR_BACKEND : SVM_OK;
}

static svm_result_t user_collapse(struct svm__rt *rt, uintptr_t addr, size_t n, int owner,
				  uint32_t drop_mask)
{
	size_t len = n * SVM__PAGE_SIZE;

	(void)rt;
	for (int loc = SVM_HOST; loc < U.ndev; loc++) {
		if (!(drop_mask & svm__loc_bit(loc)))
			continue;
		madvise((void *)at(loc, addr), len, MADV_DONTNEED);
		uffd_wake(at(loc, addr), len);
	}
	return uffd_wp(at(owner, addr), len, false) ? SVM_ERROR_BACKEND : SVM_OK;
}

/*
 * In place: the device works on a copy of the host page while the host
 * page is write-protected, so a host write first takes the device's bytes
 * back (remote_unmap); at the end of the launch the copy comes home.
 */
static svm_result_t in_place_copy(uintptr_t addr, size_t n, int dev, bool present);

static svm_result_t user_remote_map(struct svm__rt *rt, uintptr_t addr, size_t n, int dev)
{
	(void)rt;
	drops_flush(dev);
	if (uffd_wp(at(SVM_HOST, addr), n * SVM__PAGE_SIZE, true))
		return SVM_ERROR_BACKEND;
	return in_place_copy(addr, n, dev, false);
}

/*
 * Launch coherence (policy/launch.c): user_remote_map for pages that the
 * launch protected when it began, so no protection (and no TLB flush)
 * here. Pagemap must show every page present and still write-protected:
 * a page whose protection was lifted meanwhile (a host write, a watch
 * lifted around one) would lose the host's later writes when the launch
 * ends and its host page goes, whatever the page's record says.
 */
static svm_result_t user_take(struct svm__rt *rt, uintptr_t addr, size_t n, int dev)
{
	const uint64_t want = PM_PRESENT | PM_UFFD_WP;
	uintptr_t h = at(SVM_HOST, addr);
	uint64_t e[256];

	(void)rt;
	for (size_t c = 0; c < n; c += 256) {
		size_t m = n - c < 256 ? n - c : 256;

		if (!pagemap_entries(h + c * SVM__PAGE_SIZE, m, e))
			return SVM_ERROR_UNSUPPORTED;
		for (size_t i = 0; i < m; i++)
			if ((e[i] & want) != want)
				return SVM_ERROR_BACKEND;
	}
	drops_flush(dev);
	return in_place_copy(addr, n, dev, true);
}

/*
 * Launch coherence, UFFDIO_MOVE path: moves the host pages of the pages
 * [addr, addr + n) that out[] leaves NONE out of the way, to U.scratch,
 * and drops them there; a page the kernel refuses to move (EBUSY: pinned,
 * or shared with a fork child for a moment) gets PINNED, one that is not
 * there (the program dropped it) has nothing to drop.
 */
static void commit_move(uintptr_t addr, size_t n, svm_failure_t *out)
{
	uintptr_t h = at(SVM_HOST, addr);

	for (size_t i = 0, j; i < n; i = j) {
		for (j = i; j < n && out[j] == SVM_FAILURE_NONE; j++)
			;
		if (j == i) {
			j++;
			continue;
		}
		for (size_t k = i; k < j;) {
			uintptr_t off = k * SVM__PAGE_SIZE;
			int err;

			k += uffd_move(scratch_at(addr + off), h + off, (j - k) * SVM__PAGE_SIZE,
				       &err) / SVM__PAGE_SIZE;
			if (k == j)
				break;
			if (err != ENOENT) /* ENOENT: a hole, nothing to drop */
				out[k] = err == EBUSY ? SVM_FAILURE_PINNED :
					 classify_errno(err, "launch commit", addr + k * SVM__PAGE_SIZE);
			k++;
		}
		madvise((void *)scratch_at(addr + i * SVM__PAGE_SIZE), (j - i) * SVM__PAGE_SIZE,
			MADV_DONTNEED);
	}
}

/*
 * The copy path: marks PINNED the pages of [h, h + n pages) that the pin
 * probe finds pinned, as a copy looks for them (need_pin_probe: one fork
 * for the run); all of them when it cannot tell.
 */
static void commit_pins(struct svm__rt *rt, uintptr_t h, size_t n, svm_failure_t *out)
{
	bool *pinned;

	if (!need_pin_probe(rt))
		return;
	pinned = calloc(n, sizeof(*pinned));
	if (!pinned || !probe_pins(h, n, pinned)) {
		cannot_probe(n, h);
		for (size_t i = 0; i < n; i++)
			out[i] = SVM_FAILURE_PINNED; /* cannot tell: keep every page */
	} else {
		for (size_t i = 0; i < n; i++)
			if (pinned[i])
				out[i] = SVM_FAILURE_PINNED;
	}
	free(pinned);
}

/*
 * The launch is over: device dev's copies of n taken pages become the
 * pages, and the host's go. A page someone else pins must stay, since its
 * pinner (an O_DIRECT read in flight since before the launch, an io_uring
 * buffer) goes on using it and the program must see what it writes: it
 * gets out[i] = PINNED and stays in place; the caller marks it pinned, so
 * that remote_unmap ends its copy by storing only the bytes the device
 * changed, from the snapshot in_place_copy made.
 *
 * With UFFDIO_MOVE the kernel tells the pinned pages (commit_move), each
 * move flushing its page from the CPUs that run this process now (at a
 * launch's end, mostly the launching one). A fork (the pin probe) would
 * not do there: it leaves every other host page of the process shared for
 * a moment, and UFFDIO_MOVE refuses such a page until the host writes it.
 * No new writable pin can appear on these pages during the launch: they
 * are write-protected, so its fault takes the device's bytes back first.
 */
static size_t user_commit(struct svm__rt *rt, uintptr_t addr, size_t n, int dev,
			  svm_failure_t *out)
{
	uintptr_t h = at(SVM_HOST, addr);
	size_t ok = 0;

	for (size_t i = 0; i < n; i++) {
		out[i] = SVM_FAILURE_NONE;
		/* SVM_INJECT: the commit is this launch's move to the device */
		if (rt->inject.on)
			out[i] = svm__inject_draw(&rt->inject, addr + i * SVM__PAGE_SIZE, SVM_HOST,
						  dev);
	}
	if (U.have_move)
		commit_move(addr, n, out); /* the host pages are gone already */
	else
		commit_pins(rt, h, n, out);
	for (size_t i = 0, j; i < n; i = j) {
		bool done = out[i] == SVM_FAILURE_NONE;

		for (j = i + 1; j < n && (out[j] == SVM_FAILURE_NONE) == done; j++)
			;
		if (!done)
			continue;
		if (!U.have_move)
			madvise((void *)(h + i * SVM__PAGE_SIZE), (j - i) * SVM__PAGE_SIZE,
				MADV_DONTNEED);
		madvise((void *)snap_at(addr + i * SVM__PAGE_SIZE), (j - i) * SVM__PAGE_SIZE,
			MADV_DONTNEED);
		ok += j - i;
	}
	return ok;
}

/*
 * The device's working copies of n host pages that are write-protected
 * already: a snapshot, then the copy from it. `present`: the caller saw
 * every host page there in pagemap (user_take), so none is looked up as
 * a hole again.
 */
static svm_result_t in_place_copy(uintptr_t addr, size_t n, int dev, bool present)
{
	uintptr_t h = at(SVM_HOST, addr);
	size_t len = n * SVM__PAGE_SIZE;
	int err;

	/*
	 * The snapshot first, then the device's copy from the snapshot: the
	 * host page is protected against the program's writes, not against
	 * the kernel's into a page pinned for DMA (an io_uring READ_FIXED),
	 * so the copy and the snapshot must be the same bytes, taken once.
	 * One call fills the snapshot's pages, not a fault per page in memcpy.
	 */
	madvise((void *)snap_at(addr), len, MADV_POPULATE_WRITE);
	for (size_t c = 0; c < n; c += 256) {
		size_t m = n - c < 256 ? n - c : 256;
		bool hole[256] = { false };

		if (!present)
			holes(h + c * SVM__PAGE_SIZE, m, hole);
		for (size_t i = 0; i < m; i++) {
			uintptr_t off = (c + i) * SVM__PAGE_SIZE;

			if (hole[i]) /* nothing to read there (see holes()): zeros */
				madvise((void *)snap_at(addr + off), SVM__PAGE_SIZE, MADV_DONTNEED);
			else
				memcpy((void *)snap_at(addr + off), (const void *)(h + off),
				       SVM__PAGE_SIZE);
		}
	}
	if (uffd_copy(at(dev, addr), snap_at(addr), len, 0, &err) != len) {
		svm__err("in-place copy of %#lx failed: %s", (unsigned long)addr, strerror(err));
		madvise((void *)at(dev, addr), len, MADV_DONTNEED);
		madvise((void *)snap_at(addr), len, MADV_DONTNEED);
		uffd_wp(h, len, false);
		return SVM_ERROR_BACKEND;
	}
	return SVM_OK;
}

/* Replaces the host pages by the device's: the usual write-back. */
static size_t replace_run(uintptr_t addr, size_t n, int dev, svm_failure_t *out)
{
	uintptr_t h = at(SVM_HOST, addr), v = at(dev, addr);
	size_t len = n * SVM__PAGE_SIZE, done = 0, ok = 0;
	int err = 0;

	madvise((void *)h, len, MADV_DONTNEED);
	if (U.have_move)
		done = uffd_move(h, v, len, &err);
	for (size_t i = 0; i < n; i++) {
		uintptr_t off = i * SVM__PAGE_SIZE;
		unsigned char vec = 0;

		out[i] = SVM_FAILURE_NONE;
		if (off < done) {
			ok++;
			continue;
		}
		if (mincore((void *)(h + off), SVM__PAGE_SIZE, &vec) == 0 && (vec & 1)) {
			/* nothing maps it but us, and we dropped it: never seen; keep one copy */
			svm__err("in-place write-back at %#lx: the host page came back while the "
				 "device's copy was moving home; the host's bytes are kept",
				 (unsigned long)(addr + off));
			madvise((void *)(v + off), SVM__PAGE_SIZE, MADV_DONTNEED);
			ok++;
			continue;
		}
		if (uffd_copy(h + off, v + off, SVM__PAGE_SIZE, UFFDIO_COPY_MODE_DONTWAKE, &err) ==
		    SVM__PAGE_SIZE) {
			madvise((void *)(v + off), SVM__PAGE_SIZE, MADV_DONTNEED);
			ok++;
			continue;
		}
		/* the bytes stay in the view, writable: the device owns the page now */
		out[i] = classify_errno(err, "in-place write-back", addr + off);
		uffd_wp(v + off, SVM__PAGE_SIZE, false);
	}
	return ok;
}

/*
 * Ends device dev's in-place copies of n pages (not pinned ones). A view
 * page with nothing in it (the device's copy was dropped: see holes())
 * leaves its host page as it is: its bytes are the current ones.
 */
static size_t remote_unmap_run(uintptr_t addr, size_t n, int dev, svm_failure_t *out)
{
	bool gone[256];
	size_t ok = 0;

	for (size_t c = 0; c < n; c += 256) {
		size_t m = n - c < 256 ? n - c : 256;
		uintptr_t a = addr + c * SVM__PAGE_SIZE;

		holes(at(dev, a), m, gone);
		for (size_t i = 0, j; i < m; i = j) {
			for (j = i + 1; j < m && gone[j] == gone[i]; j++)
				;
			if (!gone[i]) {
				ok += replace_run(a + i * SVM__PAGE_SIZE, j - i, dev, out + c + i);
				continue;
			}
			uffd_wp(at(SVM_HOST, a + i * SVM__PAGE_SIZE), (j - i) * SVM__PAGE_SIZE, false);
			for (size_t k = i; k < j; k++)
				out[c + k] = SVM_FAILURE_NONE;
			ok += j - i;
		}
	}
	/* the view's copies are gone: host threads may go on (see uffd_copy) */
	uffd_wake(at(SVM_HOST, addr), n * SVM__PAGE_SIZE);
	return ok;
}

static void __attribute__((noreturn)) service_fatal(const char *what);

/* The device keeps its bytes after all: they go back where it had them. */
static void restore_device_copy(uintptr_t v, const uint64_t *bytes)
{
	int err;

	if (uffd_copy(v, (uintptr_t)bytes, SVM__PAGE_SIZE, UFFDIO_COPY_MODE_DONTWAKE, &err) !=
	    SVM__PAGE_SIZE)
		service_fatal("in-place write-back: the device's copy could not be restored");
}

/*
 * Makes the pinned host page h writable again at the end of an in-place
 * copy (its write protection kept host writes out meanwhile). If the
 * kernel refuses, no state is right: the host page stays mapped, since its
 * pinner uses it, so the page cannot become the device's (a host read
 * would see the old bytes without a fault, and a host write's move home
 * would find the address taken until the fault timeout), and the device's
 * bytes cannot be stored into a page we cannot write. UFFDIO_WRITEPROTECT
 * on our own registered range fails only without memory for page tables;
 * stop there, with the reason, rather than go on with a page two places
 * disagree about (SVM_USER_SERVICE_FAIL=writeback makes it fail, for
 * retry.io_uring.writeback).
 */
static void unprotect_pinned(uintptr_t h)
{
	int ret = uffd_wp_mode(h, SVM__PAGE_SIZE, UFFDIO_WRITEPROTECT_MODE_DONTWAKE);
	char what[200];

	if (atomic_exchange(&U.fail_writeback, false))
		ret = -ENOMEM;
	if (!ret)
		return;
	snprintf(what, sizeof(what), "in-place write-back of the pinned page at %#lx: the host "
		 "page cannot be made writable again (%s), so the device's bytes cannot reach it",
		 (unsigned long)h, strerror(-ret));
	service_fatal(what);
}

/*
 * Ends an in-place copy of a pinned host page h (device copy at v): the
 * host page stays (its pinner uses it), and the bytes the device changed
 * are stored into it. Changed means: unlike the snapshot the copy started
 * from (remote_map), not unlike the host page now. Someone else may have
 * written the pinned page meanwhile (the kernel, for an io_uring
 * READ_FIXED or RDMA: the write protection does not stop them), and
 * comparing with the host page would take those bytes for the device's
 * and put the device's old ones back (user.pin.race). The caller drops the
 * snapshot.
 */
static bool write_back_in_place(uintptr_t h, uintptr_t v)
{
	uint64_t before[SVM__PAGE_SIZE / 8], now[SVM__PAGE_SIZE / 8];
	uint64_t *dst = (uint64_t *)h;
	bool h_gone, v_gone;
	int err;

	/* nothing may be read where nothing is (see holes()) */
	holes(h, 1, &h_gone);
	holes(v, 1, &v_gone);
	if (v_gone) { /* the device's copy was dropped: the host page is current */
		unprotect_pinned(h);
		return true;
	}
	/* still protected: nobody writes either while they are read */
	memcpy(now, (const void *)v, sizeof(now));
	madvise((void *)v, SVM__PAGE_SIZE, MADV_DONTNEED);
	if (h_gone) { /* the program dropped the host page: the device's bytes are all */
		if (uffd_copy(h, (uintptr_t)now, SVM__PAGE_SIZE, UFFDIO_COPY_MODE_DONTWAKE,
			      &err) == SVM__PAGE_SIZE)
			return true;
		restore_device_copy(v, now);
		return false;
	}
	memcpy(before, (const void *)snap_at(h), sizeof(before));
	unprotect_pinned(h);
	for (size_t w = 0; w < SVM__PAGE_SIZE / 8; w++) {
		uint64_t nv = now[w], ov = before[w];

		if (nv == ov)
			continue;
		for (int b = 0; b < 8; b++) {
			unsigned char nb = ((const unsigned char *)&nv)[b];

			if (((const unsigned char *)&ov)[b] != nb)
				__atomic_store_n((unsigned char *)&dst[w] + b, nb, __ATOMIC_RELAXED);
		}
	}
	return true;
}

/* n <= 256: the engine ends in-place copies in runs of at most that (remote_end). */
static size_t user_remote_unmap(struct svm__rt *rt, uintptr_t addr, size_t n, int dev,
				svm_failure_t *out)
{
	struct svm__range *r = svm__range_find(rt, addr);
	size_t first = r ? (addr - r->start) / SVM__PAGE_SIZE : 0, ok = 0, i, j;
	bool pinned[256] = { false }, probed[256] = { false };

	/* stop device writes */
	uffd_wp(at(dev, addr), n * SVM__PAGE_SIZE, true);
	/*
	 * Pins the runtime saw, and the ones it looks for now (pins_maybe). A
	 * new writable pin (O_DIRECT read, io_uring registration) cannot be
	 * taken on these pages meanwhile: they are write-protected, so it
	 * waits and ends the device's copy first. But one taken before
	 * remote_map protected them may not be counted in VmPin yet, and was
	 * dropped with its page when the probe went by VmPin alone
	 * (user.pin.race). Not by need_pin_probe: probing before every in-place
	 * end forks there even in a process that never pins, and on the
	 * UFFDIO_MOVE path pages a fork child shared for a moment were then
	 * refused by UFFDIO_MOVE and reported PINNED (user.servers.move).
	 */
	if (pins_maybe() && !probe_pins(at(SVM_HOST, addr), n, probed)) {
		cannot_probe(n, at(SVM_HOST, addr));
		for (i = 0; i < n; i++)
			probed[i] = true; /* cannot tell: keep every page */
	}
	for (i = 0; i < n; i++)
		pinned[i] = (r && r->pages[first + i].pinned_seen) || probed[i];
	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && pinned[j] == pinned[i]; j++)
			;
		if (!pinned[i]) {
			ok += remote_unmap_run(addr + i * SVM__PAGE_SIZE, j - i, dev, out + i);
			continue;
		}
		for (size_t k = i; k < j; k++) {
			uintptr_t a = addr + k * SVM__PAGE_SIZE;

			out[k] = SVM_FAILURE_NONE;
			if (write_back_in_place(at(SVM_HOST, a), at(dev, a))) {
				uffd_wake(at(SVM_HOST, a), SVM__PAGE_SIZE);
				ok++;
			} else { /* the device keeps the bytes, writable: it owns the page */
				out[k] = SVM_FAILURE_BUSY;
				uffd_wp(at(dev, a), SVM__PAGE_SIZE, false);
			}
		}
	}
	madvise((void *)snap_at(addr), n * SVM__PAGE_SIZE, MADV_DONTNEED); /* the snapshots */
	uffd_wake(at(dev, addr), n * SVM__PAGE_SIZE);
	return ok;
}

static svm_result_t user_range_map(struct svm__rt *rt, struct svm__range *r)
{
	size_t len = r->npages * SVM__PAGE_SIZE;

	(void)rt;
	if (mprotect((void *)snap_at(r->start), len, PROT_READ | PROT_WRITE) ||
	    (U.scratch && mprotect((void *)scratch_at(r->start), len, PROT_READ | PROT_WRITE))) {
		svm__err("mprotect of %zu bytes failed: %s", len, strerror(errno));
		mprotect((void *)snap_at(r->start), len, PROT_NONE);
		return SVM_ERROR_OUT_OF_MEMORY;
	}
	for (int loc = SVM_HOST; loc < U.ndev; loc++) {
		if (mprotect((void *)at(loc, r->start), len, PROT_READ | PROT_WRITE)) {
			svm__err("mprotect of %zu bytes failed: %s", len, strerror(errno));
			while (--loc >= SVM_HOST)
				mprotect((void *)at(loc, r->start), len, PROT_NONE);
			mprotect((void *)snap_at(r->start), len, PROT_NONE);
			if (U.scratch)
				mprotect((void *)scratch_at(r->start), len, PROT_NONE);
			return SVM_ERROR_OUT_OF_MEMORY;
		}
	}
	return SVM_OK;
}

static void user_range_unmap(struct svm__rt *rt, struct svm__range *r)
{
	size_t len = r->npages * SVM__PAGE_SIZE;

	(void)rt;
	for (int loc = SVM_HOST; loc < U.ndev; loc++) {
		uintptr_t a = at(loc, r->start);

		madvise((void *)a, len, MADV_DONTNEED);
		uffd_wp(a, len, false);
		mprotect((void *)a, len, PROT_NONE);
		uffd_wake(a, len); /* a racing access now faults as SIGSEGV */
	}
	madvise((void *)snap_at(r->start), len, MADV_DONTNEED);
	mprotect((void *)snap_at(r->start), len, PROT_NONE);
	if (U.scratch) {
		madvise((void *)scratch_at(r->start), len, MADV_DONTNEED);
		mprotect((void *)scratch_at(r->start), len, PROT_NONE);
	}
}

/*
 * CPU faults whose page could not come home yet (svm__fault_cpu said
 * pending): the thread stays asleep in the kernel, and the server that
 * read the fault tries again after a pause, outside the lock, doubling the
 * pause up to SVM_RETRY_BACKOFF_MAX_US, until the page is home or
 * SVM_USER_FAULT_TIMEOUT_MS has passed since the fault came in. Each
 * server keeps its own list (struct server): two servers may hold the
 * same page, each retries it and each wakes its threads.
 */
/* Most fault messages one server reads at a time. */
#define SERVICE_BATCH 256

struct pending {
	uintptr_t a, h;   /* faulting address (page) and its heap address */
	bool write;
	uint64_t since_ns, next_ns, pause_ns;
	bool warned;
};

/* false if there is no memory to remember it: the caller wakes the thread */
static bool pending_add(struct server *sv, uintptr_t a, uintptr_t h, bool write, uint64_t now,
			const struct svm__config *cfg)
{
	for (size_t i = 0; i < sv->np; i++)
		if (sv->P[i].a == a)
			return true; /* another thread waits on the same page */
	if (sv->np == sv->cap) {
		size_t cap = sv->cap ? 2 * sv->cap : 16;
		struct pending *q = realloc(sv->P, cap * sizeof(*q));

		if (!q)
			return false;
		sv->P = q;
		sv->cap = cap;
	}
	sv->P[sv->np++] = (struct pending){ .a = a, .h = h, .write = write, .since_ns = now,
				    .pause_ns = (uint64_t)cfg->retry_backoff_us * 1000 + 1000,
				    .next_ns = now + (uint64_t)cfg->retry_backoff_us * 1000 + 1000 };
	return true;
}

/* The clear end of a fault that can never complete: a message, then abort. */
static void __attribute__((noreturn)) service_fatal(const char *what)
{
	svm__err("%s; host accesses to SVM memory can no longer complete, so the process "
		 "stops here instead of leaving threads asleep forever", what);
	abort();
}

/* Is the view address v of device dev a copy home's stale copy, still to be dropped? */
static bool drop_pending(int dev, uintptr_t v)
{
	bool listed = false;

	if (!atomic_load(&D[dev].pages))
		return false;
	pthread_mutex_lock(&D[dev].lock);
	for (size_t i = 0; i < D[dev].n && !listed; i++)
		listed = v >= D[dev].run[i].a && v - D[dev].run[i].a < D[dev].run[i].len;
	pthread_mutex_unlock(&D[dev].lock);
	return listed;
}

/*
 * The page at h, recorded at loc alone, holds nothing there: is it at
 * another location, where nothing records a copy? Then a move the kernel
 * reported done left it behind (at_destination says how), and it is
 * brought to loc; zeros there would lose it. Not a read copy, an in-place
 * copy or a copy home waiting to be dropped: those are known, and a page
 * the program dropped gets zeros as before. Rt->lock held. Said once.
 */
static bool refill_found(struct svm__rt *rt, int loc, uintptr_t h)
{
	static atomic_bool said;
	const struct svm__page *p = svm__page_find(rt, h);
	uintptr_t a = at(loc, h);
	int err;

	if (!p || p->loc != loc || p->copies != svm__loc_bit(loc) || p->remote || p->inflight)
		return false;
	for (int l = SVM_HOST; l < U.ndev; l++) {
		uintptr_t o = at(l, h);

		if (l == loc || !page_mapped(o) || (l >= 0 && drop_pending(l, o)))
			continue;
		if (uffd_move(a, o, SVM__PAGE_SIZE, &err) != SVM__PAGE_SIZE)
			return false;
		if (!atomic_exchange(&said, true))
			svm__warn("user backend: page %#lx, recorded at %d, was at %d: an earlier move "
				  "the kernel reported done left it behind; brought back (said once)",
				  (unsigned long)h, loc, l);
		return true;
	}
	return false;
}

/*
 * A fault at loc that needed nothing: stale (the page got there after the
 * thread faulted, and is there now), on a page a move left elsewhere
 * (refill_found brings it), or on a page the program dropped,
 * which gets zeros as a dropped anonymous page would (any copy elsewhere
 * ends first; bytes a device changed in place come home instead). Without
 * this the thread would be woken and fault again, forever. Rt->lock held.
 */
static int refill_dropped(struct svm__rt *rt, int loc, uintptr_t h)
{
	uintptr_t a = at(loc, h);
	bool gone = false;
	int err;

	if (!holes(a, 1, &gone))
		return SVM__FAULT_NONE;
	if (refill_found(rt, loc, h))
		return loc;
	if (!svm__fault_dropped(rt, loc, h))
		return SVM__FAULT_NONE;
	if (holes(a, 1, &gone) &&
	    uffd_copy(a, (uintptr_t)U.zeros, SVM__PAGE_SIZE, UFFDIO_COPY_MODE_DONTWAKE, &err) !=
		    SVM__PAGE_SIZE &&
	    err != EEXIST)
		svm__err("page %#lx: the program dropped it, and zeros could not be put there: %s",
			 (unsigned long)h, strerror(err));
	svm__dbg("page %#lx: dropped by the program (madvise) at %d, read again as zeros",
		 (unsigned long)h, loc);
	return loc;
}

/* A fault on device dev's view at heap address h, rt->lock held (serve, serve_self). */
static int serve_device(struct svm__rt *rt, int dev, uintptr_t h, bool wp, bool write,
			uint32_t seen, bool *moved_here)
{
	int charged;

	if (wp)
		return svm__fault_device_wp(rt, dev, h, seen);
	charged = svm__fault_device(rt, dev, h, write, seen, moved_here);
	return charged == SVM__FAULT_NONE ? refill_dropped(rt, dev, h) : charged;
}

/*
 * One fault of a batch, rt->lock held. Returns the page to wake, or 0 when
 * its thread stays asleep (a CPU fault whose page is still away: it goes
 * on the pending list) or the address is not ours.
 */
static uintptr_t serve(struct server *sv, const struct uffd_msg *m, uint32_t seen)
{
	struct svm__rt *rt = sv->rt;
	uintptr_t a = (uintptr_t)m->arg.pagefault.address & ~(SVM__PAGE_SIZE - 1);
	bool wp = m->arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WP;
	bool write = m->arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WRITE;
	bool pending = false, moved_here = false;
	int loc = loc_of(a), charged;
	uint64_t t0 = svm__now_ns();
	uint32_t tid = U.thread_ids ? m->arg.pagefault.feat.ptid : 0;

	if (loc == -2)
		return 0;
	uintptr_t h = U.heap + (a - area(loc));

	if (loc == SVM_HOST && wp)
		charged = svm__fault_cpu_wp(rt, h, seen);
	else if (loc == SVM_HOST) {
		charged = svm__fault_cpu(rt, h, write, seen, false, &pending, &moved_here);
		if (charged == SVM__FAULT_NONE && !pending)
			charged = refill_dropped(rt, SVM_HOST, h);
	}
	else
		charged = serve_device(rt, loc, h, wp, write, seen, &moved_here);
	if (charged != SVM__FAULT_NONE)
		svm__fault_account(rt, charged, loc == SVM_HOST, write, t0, svm__now_ns() - t0,
				   tid, h);
	if (pending && pending_add(sv, a, h, write, svm__now_ns(), &rt->cfg))
		return 0; /* asleep until the page is home */
	/*
	 * The move that brought the page here ran after the thread faulted
	 * and woke it (and every thread waiting on the pages it installed):
	 * UFFDIO_MOVE wakes its destination, the copy path wakes it after
	 * the source is dropped, the zero fill copies without DONTWAKE. A
	 * second UFFDIO_WAKE would only cost the fault's latency a system
	 * call (issue 18: 4 KiB fault p50).
	 */
	if (moved_here)
		return 0;
	/* resolved or not, the thread retries its access */
	return a;
}

static int cmp_uintptr(const void *x, const void *y)
{
	uintptr_t a = *(const uintptr_t *)x, b = *(const uintptr_t *)y;

	return a < b ? -1 : a > b;
}

/*
 * Wakes the threads of a batch: sorted, duplicates gone, one UFFDIO_WAKE
 * per run of neighbouring pages (never across a pending page, which is not
 * in the list, so its thread sleeps on).
 */
static void wake_pages(uintptr_t *w, size_t n)
{
	qsort(w, n, sizeof(*w), cmp_uintptr);
	for (size_t i = 0, j; i < n; i = j) {
		for (j = i + 1; j < n && w[j] - w[j - 1] <= SVM__PAGE_SIZE; j++)
			;
		uffd_wake(w[i], w[j - 1] - w[i] + SVM__PAGE_SIZE);
	}
}

/*
 * rt->lock for a fault server. Host threads wait in the kernel for what
 * it serves, while device workers serve their own faults and take the
 * lock again at once (view_fault): a mutex favours whoever runs, and with
 * workers faulting back to back the server could wait for many of their
 * faults in a row (host threads made 20 rounds while launches made 1000 in
 * user.copy_home's race, and none in 12 minutes in the 6.1 VM). So a
 * server says it waits, and workers let it go first (serve_self).
 */
static void server_lock(struct svm__rt *rt)
{
	atomic_fetch_add(&U.servers_waiting, 1);
	pthread_mutex_lock(&rt->lock);
	atomic_fetch_sub(&U.servers_waiting, 1);
}

/*
 * Serves one batch of messages under rt->lock (which the moves, and the
 * waits for pages in flight, let go of), then the wakes after it is let
 * go. Several threads that fault on one page queue one message each: only
 * the first is served, the others only wake (and a fault on another page
 * of a block the first one moved is stale: svm__fault_* leave it alone).
 * A message for the same page may also reach another server; that one
 * waits for the page's move and finds its fault stale.
 */
static void serve_batch(struct server *sv, const struct uffd_msg *msgs, size_t n,
			uint32_t seen)
{
	struct svm__rt *rt = sv->rt;
	uintptr_t wake[SERVICE_BATCH];
	size_t nwake = 0;

	server_lock(rt);
	for (size_t i = 0; i < n; i++) {
		const struct uffd_msg *m = &msgs[i];
		bool dup = false;

		if (m->event != UFFD_EVENT_PAGEFAULT)
			continue;
		for (size_t k = 0; k < i && !dup; k++)
			dup = msgs[k].event == UFFD_EVENT_PAGEFAULT &&
			      !((msgs[k].arg.pagefault.address ^ m->arg.pagefault.address) &
				~(uint64_t)(SVM__PAGE_SIZE - 1)) &&
			      msgs[k].arg.pagefault.flags == m->arg.pagefault.flags;
		uintptr_t a = dup ? 0 : serve(sv, m, seen);

		if (a)
			wake[nwake++] = a;
	}
	pthread_mutex_unlock(&rt->lock);
	wake_pages(wake, nwake);
}

/* Tries the pending CPU faults that are due; ms until the next one, or -1. */
static int pending_run(struct server *sv)
{
	struct svm__rt *rt = sv->rt;
	uint64_t now, next = UINT64_MAX;
	const struct svm__config *cfg = &rt->cfg;

	/* the usual case: no clock read (it is on every fault's path) */
	if (!sv->np)
		return -1;
	now = svm__now_ns();

	for (size_t i = 0; i < sv->np;) {
		struct pending *f = &sv->P[i];
		bool still = false;
		char what[256];

		if (f->next_ns > now) {
			next = f->next_ns < next ? f->next_ns : next;
			i++;
			continue;
		}
		server_lock(rt);
		svm__fault_cpu(rt, f->h, f->write, (uint32_t)atomic_load(&rt->seq), true, &still,
			       NULL);
		const struct svm__page *p = still ? svm__page_find(rt, f->h) : NULL;
		svm_page_info_t info = { .location = SVM_HOST };

		if (p) {
			info.location = p->loc;
			info.last_failure = (svm_failure_t)p->last_failure;
		}
		pthread_mutex_unlock(&rt->lock);
		now = svm__now_ns();
		if (!still) {
			uffd_wake(f->a, SVM__PAGE_SIZE);
			sv->P[i] = sv->P[--sv->np];
			continue;
		}
		if (now - f->since_ns >= (uint64_t)cfg->fault_timeout_ms * 1000000ull) {
			snprintf(what, sizeof(what), "page %#lx: a host access waited %d ms "
				 "(SVM_USER_FAULT_TIMEOUT_MS) for the page to come back from device %d "
				 "and it still cannot (last failure: %s)", (unsigned long)f->h,
				 cfg->fault_timeout_ms, info.location,
				 svm__failure_name(info.last_failure));
			service_fatal(what);
		}
		if (!f->warned && now - f->since_ns >= 1000000000ull) {
			svm__warn("page %#lx: a host access has waited 1 s for the page to come back "
				  "from device %d (%s); still trying, up to %d ms in all",
				  (unsigned long)f->h, info.location,
				  svm__failure_name(info.last_failure), cfg->fault_timeout_ms);
			f->warned = true;
		}
		f->pause_ns *= 2;
		if (f->pause_ns > (uint64_t)cfg->retry_backoff_max_us * 1000 + 1000)
			f->pause_ns = (uint64_t)cfg->retry_backoff_max_us * 1000 + 1000;
		f->next_ns = now + f->pause_ns;
		next = f->next_ns < next ? f->next_ns : next;
		i++;
	}
	if (next == UINT64_MAX)
		return -1;
	now = svm__now_ns();
	return next <= now ? 0 : (int)((next - now + 999999) / 1000000);
}

/*
 * SVM_USER_SERVICE_FAIL, for tests: the next N polls fail with a transient
 * error (EINTR, ENOMEM, EAGAIN in turn), or the next read fails with EIO.
 */
static int injected_errno(bool at_read)
{
	static const int transient[] = { EINTR, ENOMEM, EAGAIN };

	unsigned left = atomic_load(&U.fail_transient);

	if (at_read && atomic_exchange(&U.fail_fatal, false))
		return EIO;
	while (!at_read && left)
		if (atomic_compare_exchange_weak(&U.fail_transient, &left, left - 1))
			return transient[(left - 1) % 3];
	return 0;
}

/*
 * How the service thread meets its own errors: EINTR and EAGAIN go round
 * again; ENOMEM is retried after a pause, for up to a second in a row; any
 * other error, or a userfaultfd that reports an error or hang-up, is fatal
 * (service_fatal): no fault can be served after it.
 */
static void service_error(const char *call, int err, unsigned *nomem)
{
	char what[160];

	if (err == EINTR || err == EAGAIN || (err == ENOMEM && *nomem + 1 < 1000))
		svm__dbg("fault service: %s: %s; going on", call, strerror(err));
	if (err == EINTR || err == EAGAIN)
		return;
	if (err == ENOMEM && ++*nomem < 1000) {
		struct timespec ts = { 0, 1000000 }; /* no lock held */

		nanosleep(&ts, NULL);
		return;
	}
	snprintf(what, sizeof(what), "fault service: %s failed: %s%s", call, strerror(err),
		 err == ENOMEM ? " (for a second in a row)" : "");
	service_fatal(what);
}

/*
 * How a server waits for faults. With several servers, a plain poll() on
 * the one userfaultfd wakes every one of them for each fault (the kernel
 * queues poll waiters as non-exclusive), and on few CPUs the ones that then
 * find the queue empty take the faulting thread's CPU. So each server waits
 * in its own epoll instance that holds the userfaultfd as an exclusive
 * waiter (EPOLLEXCLUSIVE, Linux 4.5 on): the kernel's fault path wakes the
 * userfaultfd's queue for one waiter, and epoll passes that wake-up on to
 * the next instance when the first has nobody waiting in it (its server is
 * busy serving), so one fault wakes one idle server. A busy server still
 * finds the userfaultfd ready on its next wait (level-triggered), so no
 * fault is left unseen. The stop eventfd is in every instance, not
 * exclusive: it wakes them all.
 *
 * If the instance cannot be set up (no memory, no file descriptors left, a
 * kernel without EPOLLEXCLUSIVE, or SVM_USER_SERVICE_FAIL=epoll) the server
 * says so in a debug line and waits with poll() as before: correct, only
 * woken more often than it needs. Init does not fail for it.
 */
static int waiter_open(int idx)
{
	struct epoll_event uf = { .events = EPOLLIN | EPOLLEXCLUSIVE, .data.fd = U.uffd };
	struct epoll_event stop = { .events = EPOLLIN, .data.fd = U.stopfd };
	const char *what = "epoll_create1";
	int epfd = U.fail_epoll ? -1 : epoll_create1(EPOLL_CLOEXEC), err = U.fail_epoll ? EMFILE : 0;

	if (epfd >= 0) {
		what = "epoll_ctl";
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, U.uffd, &uf) ||
		    epoll_ctl(epfd, EPOLL_CTL_ADD, U.stopfd, &stop)) {
			err = errno;
			close(epfd);
			epfd = -1;
		}
	} else if (!err) {
		err = errno;
	}
	if (epfd < 0)
		svm__dbg("fault service %d: %s: %s; waiting with poll(), so every fault wakes "
			 "every server", idx, what, strerror(err));
	return epfd;
}

/*
 * Wait up to wait_ms (-1: no limit) for a fault message or the stop
 * eventfd. Returns 0 or the wait's errno; *in: the userfaultfd is ready,
 * *stop: stop now. An error or hang-up on the userfaultfd is fatal.
 */
static int wait_for_faults(const struct server *sv, int wait_ms, bool *in, bool *stop)
{
	short bad = 0;
	int ready;

	*in = *stop = false;
	if (sv->epfd >= 0) {
		struct epoll_event ev[2];

		ready = epoll_wait(sv->epfd, ev, 2, wait_ms);
		for (int i = 0; i < ready; i++) {
			if (ev[i].data.fd == U.stopfd)
				*stop = true;
			else if (ev[i].events & (EPOLLERR | EPOLLHUP))
				bad = POLLERR;
			else if (ev[i].events & EPOLLIN)
				*in = true;
		}
	} else {
		struct pollfd pfd[2] = { { U.uffd, POLLIN, 0 }, { U.stopfd, POLLIN, 0 } };

		ready = poll(pfd, 2, wait_ms);
		if (ready > 0) {
			*stop = pfd[1].revents != 0;
			bad = pfd[0].revents & (POLLERR | POLLHUP | POLLNVAL);
			*in = pfd[0].revents & POLLIN;
		}
	}
	if (ready < 0)
		return errno;
	if (!*stop && bad)
		service_fatal("fault service: the userfaultfd reports an error or hang-up");
	return 0;
}

/*
 * Device faults served by the thread that makes them
 * (SVM_USER_DEVICE_FAULTS=self, the default where the kernel has
 * UFFD_FEATURE_SIGBUS). The views have a userfaultfd of their own in
 * SIGBUS mode: an access to a view page that is not there, or is
 * write-protected, raises SIGBUS in the thread that made it (a launch
 * worker), and view_fault runs the fault entry a server would run, under
 * rt->lock, and returns; the access then runs again. No message, no
 * second thread, no wake-up, no switch between CPUs: T workers serve T
 * faults at once (issue 18: device-fault scaling, the sparse touch), and
 * a fault costs about what its move costs.
 *
 * What it asks of others: a system call that device code makes on device
 * memory not resident there fails with EFAULT instead of waiting (on a
 * real device that memory is no CPU address at all; docs/api.md). A
 * SIGBUS handler a program installs after svm_init must pass on the
 * signals it does not handle to the one it replaced, as handlers chained
 * over a JVM's or libsigsegv's do (a warning at the next launch says so).
 * The runtime itself never touches a view page that is not there, and
 * never with rt->lock held (a server could not have served that either),
 * so the handler never runs inside the runtime.
 */
static struct sigaction old_bus; /* SIGBUS's action when user_init put ours in */
static atomic_bool bus_warned;

static void view_fault(int sig, siginfo_t *si, void *ctx);

static bool bus_is_ours(const struct sigaction *sa)
{
	return (sa->sa_flags & SA_SIGINFO) && sa->sa_sigaction == view_fault;
}

/* Makes view_fault SIGBUS's handler. */
static int bus_install(void)
{
	struct sigaction sa = { .sa_sigaction = view_fault, .sa_flags = SA_SIGINFO | SA_RESTART };

	sigemptyset(&sa.sa_mask);
	return sigaction(SIGBUS, &sa, NULL);
}

/*
 * After the handler chained to returned. It may have put back the handler
 * it replaced, so that the access faults again into that one: LLVM's
 * crash handler does (hwloc's OpenCL plugin loaded it, through an
 * OpenCL driver, into svm_init on a 16-core machine). Ours went with it,
 * and the next device fault would reach a handler that knows nothing of
 * device memory: a launch worker jumped into the main thread's frame
 * (user.device_faults.oneshot). So what it put in place becomes the
 * handler chained to, and ours goes back. A device fault in another
 * thread between its sigaction and ours still meets the other handler;
 * only not taking it away can close that. (A handler that a program
 * installs over ours and chains to ours is not called from here.)
 */
static void bus_keep(void)
{
	struct sigaction cur;

	if (sigaction(SIGBUS, NULL, &cur) || bus_is_ours(&cur))
		return;
	old_bus = cur;
	bus_install();
}

/*
 * A SIGBUS that is no device fault: what SIGBUS did before svm_init. The
 * default action (or an ignored fault, which the kernel does not ignore)
 * is put back and happens when the access faults again; a signal sent
 * with kill() is raised again.
 */
static void chain_bus(int sig, siginfo_t *si, void *ctx)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };

	if (old_bus.sa_flags & SA_SIGINFO) {
		old_bus.sa_sigaction(sig, si, ctx);
		bus_keep();
		return;
	}
	if (old_bus.sa_handler != SIG_DFL && old_bus.sa_handler != SIG_IGN) {
		old_bus.sa_handler(sig);
		bus_keep();
		return;
	}
	if (si->si_code <= 0) { /* sent, not a fault */
		if (old_bus.sa_handler == SIG_DFL) {
			sigaction(sig, &dfl, NULL);
			raise(sig);
		}
		return;
	}
	sigaction(sig, &dfl, NULL);
}

/*
 * One thread's run of faults on one page (serve_self): a device access
 * that never completes must not spin unseen. Static TLS (initial-exec):
 * nothing is allocated in the handler for it.
 */
struct self_run {
	uintptr_t addr;
	bool after_wp_write; /* its latest fault there: a write to a write-protected page */
	unsigned repeats;
	uint64_t since_ns;
	bool warned;
};
static __thread struct self_run self_run __attribute__((tls_model("initial-exec")));

/*
 * Under rt->lock, at now: the same access faulted again, its page taken
 * away (or never made accessible) between the handler's return and the
 * access. After 1 s say what the page looks like; after
 * SVM_USER_FAULT_TIMEOUT_MS stop, as a host access would. (serve_self
 * gives the CPU away before the lock from the 8th time on.)
 */
static void self_repeat(struct svm__rt *rt, int dev, uintptr_t a, uintptr_t h, bool wp,
			bool write, uint64_t code, uint64_t now)
{
	struct self_run *sr = &self_run;
	char what[320];

	if (sr->addr != a) {
		*sr = (struct self_run){ .addr = a, .since_ns = now };
		return;
	}
	if (now - sr->since_ns < 1000000000ull)
		return;
	const struct svm__page *p = svm__page_find(rt, h);
	bool gone = false;

	holes(a, 1, &gone);
	snprintf(what, sizeof(what), "page %#lx: device %d's %s has faulted %u times in %.1f s "
		 "(fault code %#llx, served as %s; the view page %s; owner %d, copies %#x, in place "
		 "on %#x, pinned %d, held %d, in flight %d)", (unsigned long)h, dev,
		 write ? "write" : "read", sr->repeats, (double)(now - sr->since_ns) / 1e9,
		 (unsigned long long)code, wp ? "write-protect" : "missing",
		 gone ? "is not there" : "is there", p ? p->loc : -2, p ? p->copies : 0,
		 p ? p->remote : 0, p ? p->pinned_seen : 0, p ? p->held : 0, p ? p->inflight : 0);
	if (now - sr->since_ns >= (uint64_t)rt->cfg.fault_timeout_ms * 1000000ull)
		service_fatal(what);
	if (!sr->warned) {
		svm__warn("%s; still trying, up to SVM_USER_FAULT_TIMEOUT_MS", what);
		sr->warned = true;
	}
}

/* A device fault at view address a, served here, in the thread that made it. */
static void serve_self(struct svm__rt *rt, int dev, uintptr_t a, const void *ctx)
{
	uintptr_t h = U.heap + (a - U.view[dev]);
	bool wp, write, moved_here = false;
	uint64_t code = 0;
	int charged;

#if defined(__x86_64__)
	/* the page fault's error code: bit 0, the page was there (write-protect); bit 1, a write */
	code = (uint64_t)((const ucontext_t *)ctx)->uc_mcontext.gregs[REG_ERR];
	wp = code & 1;
	write = code & 2;
#else
	bool gone = true;

	(void)ctx;
	holes(a, 1, &gone);
	wp = !gone;
	write = true; /* not told: a write never leaves a stale read-only copy */
#endif
	/*
	 * The same page right after a write to it faulted as write-protected:
	 * the same access again, a write. A CPU may report a read-modify-write
	 * instruction's fault on a missing page as a read (qemu's TCG does:
	 * the load part faults first). Served as a read, the page may come as
	 * a read-only copy (read-mostly, a held page); the store part's fault
	 * drops that copy, and the instruction starts over as a read, without
	 * end: the 6.1 VM's thrashing tests looped so. A service thread never
	 * sees this, because the kernel retries a fault it handed to
	 * userfaultfd with its write flag kept; an instruction run again after
	 * a signal starts anew, so the flag is kept here.
	 */
	if (self_run.addr == a && self_run.after_wp_write)
		write = true;
	if (self_run.addr == a && ++self_run.repeats >= 8)
		sched_yield();
	/* a fault server waits for the lock: its host threads go first (server_lock) */
	for (int i = 0; i < 1000 && atomic_load(&U.servers_waiting); i++)
		sched_yield();
	pthread_mutex_lock(&rt->lock);
	uint64_t t0 = svm__now_ns();

	self_repeat(rt, dev, a, h, wp, write, code, t0);
	self_run.after_wp_write = wp && write;
	charged = serve_device(rt, dev, h, wp, write, (uint32_t)atomic_load(&rt->seq),
			       &moved_here);
	/* tid 0: a traced event takes the current thread's, the faulting one */
	if (charged != SVM__FAULT_NONE)
		svm__fault_account(rt, charged, false, write, t0, svm__now_ns() - t0, 0, h);
	pthread_mutex_unlock(&rt->lock);
}

static void view_fault(int sig, siginfo_t *si, void *ctx)
{
	int saved = errno, dev = -1;
	struct svm__rt *rt = U.rt;
	uintptr_t a = (uintptr_t)si->si_addr & ~(uintptr_t)(SVM__PAGE_SIZE - 1);

	if (rt && U.vuffd >= 0 && si->si_code == BUS_ADRERR)
		dev = loc_of(a); /* SVM_HOST or -2: not a device fault */
	if (dev >= 0)
		serve_self(rt, dev, a, ctx);
	else
		chain_bus(sig, si, ctx);
	errno = saved;
}

/* Puts view_fault in place for SIGBUS (user_init). */
static bool bus_take(void)
{
	struct sigaction cur;

	if (sigaction(SIGBUS, NULL, &cur))
		return false;
	if (bus_is_ours(&cur))
		return true;
	old_bus = cur;
	atomic_store(&bus_warned, false);
	return bus_install() == 0;
}

/* Puts back what SIGBUS did before, unless a handler installed since replaced ours. */
static void bus_give_back(void)
{
	struct sigaction cur;

	if (sigaction(SIGBUS, NULL, &cur) == 0 && bus_is_ours(&cur))
		sigaction(SIGBUS, &old_bus, NULL);
}

/* At each launch: is ours still SIGBUS's handler? Says it once if not. */
static void bus_check(void)
{
	struct sigaction cur;

	if (sigaction(SIGBUS, NULL, &cur) || bus_is_ours(&cur) || atomic_exchange(&bus_warned, true))
		return;
	svm__warn("user backend: the program (or a library it loaded) replaced svmrt's SIGBUS "
		  "handler after svm_init; "
		  "device code's faults reach the new handler first, which must pass the signals "
		  "it does not handle to the one it replaced, or the process ends on the first "
		  "one (SVM_USER_DEVICE_FAULTS=server serves them without signals)");
}

/*
 * One fault-service thread. Several wait on the one userfaultfd, woken one
 * at a time (waiter_open); a read hands each message to one of them (one
 * that finds the queue empty gets EAGAIN), and the stop eventfd, never
 * read, stops them all.
 */
static void *service_thread(void *arg)
{
	struct server *sv = arg;
	struct svm__rt *rt = sv->rt;
	struct uffd_msg msgs[SERVICE_BATCH];
	unsigned nomem = 0;

	for (;;) {
		int wait_ms = pending_run(sv), err;
		bool in, stop, idle = drops_any();

		if (idle && (wait_ms < 0 || wait_ms > DROP_IDLE_MS))
			wait_ms = DROP_IDLE_MS;
		err = wait_for_faults(sv, wait_ms, &in, &stop);
		if (idle && !err && !in && !stop) /* quiet for a while: stale copies go */
			for (int d = 0; d < U.ndev; d++)
				drops_flush(d);
		if (!err)
			err = injected_errno(false);
		if (err) {
			service_error(sv->epfd >= 0 ? "epoll_wait" : "poll", err, &nomem);
			continue;
		}
		if (stop)
			break;
		if (!in)
			continue; /* a pending fault is due */
		/*
		 * Before the read: a page that changes after this point woke
		 * the threads waiting on it, so their messages in this batch
		 * are stale (svm__fault_cpu and friends).
		 */
		uint32_t seen = (uint32_t)atomic_load(&rt->seq);
		size_t n = 0;

		/*
		 * Every message queued now, up to a batch: one read returns
		 * all it has room for, so a short read means the queue is
		 * empty (a message that comes later makes the next poll return).
		 */
		while (n < SERVICE_BATCH) {
			size_t want = SERVICE_BATCH - n;
			ssize_t got = read(U.uffd, &msgs[n], want * sizeof(msgs[0]));

			err = got < 0 ? errno : injected_errno(true);
			if (got > 0 && !err)
				n += (size_t)got / sizeof(msgs[0]);
			if (err || got <= 0 || (size_t)got < want * sizeof(msgs[0]))
				break;
		}
		if (err == EAGAIN && !n)
			continue; /* another server took them */
		if (err && (err != EAGAIN || !n)) {
			service_error("read", err, &nomem);
			if (!n)
				continue;
		}
		nomem = 0;
		serve_batch(sv, msgs, n, seen);
	}
	free(sv->P);
	sv->P = NULL;
	sv->np = sv->cap = 0;
	return NULL;
}

/* Is the running kernel older than major.minor? */
static bool kernel_before(int major, int minor)
{
	struct utsname u;
	int ma = 0, mi = 0;

	if (uname(&u) || sscanf(u.release, "%d.%d", &ma, &mi) != 2)
		return true;
	return ma < major || (ma == major && mi < minor);
}

/* A userfaultfd that takes kernel-mode faults if we may have one. */
static int open_uffd(bool *kernel_faults, char *why, size_t len)
{
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	int err = errno;

	*kernel_faults = true;
	if (fd >= 0)
		return fd;
	int dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);

	if (dev >= 0) {
		fd = ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK);
		close(dev);
		if (fd >= 0)
			return fd;
	}
	fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
	if (fd >= 0) {
		*kernel_faults = false;
		return fd;
	}
	snprintf(why, len, "userfaultfd is not available: %s (kernel without "
		 "CONFIG_USERFAULTFD, or seccomp forbids it)", strerror(err));
	return -1;
}

static bool api_handshake(int fd, uint64_t want, uint64_t *have)
{
	struct uffdio_api api = { .api = UFFD_API, .features = want };

	if (ioctl(fd, UFFDIO_API, &api))
		return false;
	*have = api.features;
	return true;
}

static bool user_probe(const struct svm__config *cfg, char *why, size_t len)
{
	bool kf;
	int fd;

	(void)cfg;
	if (RUNNING_ON_VALGRIND) {
		/*
		 * valgrind runs one thread at a time; a thread asleep in a
		 * userfaultfd fault holds that turn and the fault-service
		 * thread never runs. Refuse rather than hang.
		 */
		snprintf(why, len, "running under valgrind, which runs one thread at a time, so "
			 "the fault-service thread could never answer a fault (use the ASan build "
			 "for leak checks)");
		return false;
	}
	fd = open_uffd(&kf, why, len);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}


static int register_area(int fd, uintptr_t a, size_t size, bool need_move)
{
	struct uffdio_register reg = {
		.range = { .start = a, .len = size },
		.mode = UFFDIO_REGISTER_MODE_MISSING | UFFDIO_REGISTER_MODE_WP,
	};
	uint64_t need = (1ULL << _UFFDIO_COPY) | (1ULL << _UFFDIO_WAKE) |
			(1ULL << _UFFDIO_WRITEPROTECT);

	if (need_move)
		need |= 1ULL << _UFFDIO_MOVE;
	if (ioctl(fd, UFFDIO_REGISTER, &reg)) {
		svm__err("UFFDIO_REGISTER of %zu bytes failed: %s", size, strerror(errno));
		return -1;
	}
	if ((reg.ioctls & need) != need) {
		svm__err("userfaultfd lacks needed operations (ioctls %#llx)",
			 (unsigned long long)reg.ioctls);
		return -1;
	}
	return 0;
}

static void user_fini(struct svm__rt *rt);

static int device_node(const struct svm__config *cfg, int d)
{
	bool bad;
	int node = svm__topo_user_device_node(d, cfg->user_device_numa, &bad);

	if (bad)
		svm__warn("SVM_USER_DEVICE_NUMA=\"%s\" is not spread or a list of node numbers; "
			  "devices are spread over the nodes", cfg->user_device_numa);
	if (bad)
		node = svm__topo_user_device_node(d, "spread", &bad);
	if (node >= svm__topo_nodes() && node > 0)
		svm__warn("device %d: node %d does not exist here (%d node(s))", d, node,
			  svm__topo_nodes());
	return node;
}

static svm_result_t user_init(struct svm__rt *rt, uintptr_t *heap, size_t *heap_size)
{
	const struct svm__config *cfg = &rt->cfg;
	char why[256];
	uint64_t have = 0, avail, want = UFFD_FEATURE_PAGEFAULT_FLAG_WP;
	int probe;
	bool kf, self_faults;

	memset(&U, 0, sizeof(U));
	U.uffd = U.vuffd = U.stopfd = -1;
	U.pagemap = -1;
	/* no thread of this runtime yet (a fork child may find a parent's lock taken) */
	for (int d = 0; d < SVM__MAX_DEVICES; d++) {
		pthread_mutex_init(&D[d].lock, NULL);
		D[d].running = false;
		D[d].n = 0;
		atomic_store(&D[d].pages, 0);
	}
	/* ask once for the feature list, then open the real one with what we use */
	probe = open_uffd(&kf, why, sizeof(why));
	if (probe < 0) {
		svm__err("user backend: %s", why);
		return SVM_ERROR_NO_DEVICE;
	}
	if (!api_handshake(probe, 0, &have)) {
		svm__err("user backend: UFFDIO_API failed: %s", strerror(errno));
		close(probe);
		return SVM_ERROR_NO_DEVICE;
	}
	close(probe);
	avail = have;
	if (!(have & UFFD_FEATURE_PAGEFAULT_FLAG_WP)) {
		svm__err("user backend: the kernel's userfaultfd has no write-protect mode "
			 "(needs Linux 5.7 or later)");
		return SVM_ERROR_NO_DEVICE;
	}
	U.have_move = cfg->user_uffd_move && (have & UFFD_FEATURE_MOVE);
	atomic_store(&U.copy_home, cfg->user_copy_home);
	/* the copy path's moves stay under rt->lock (core/rt.h: move_under_lock) */
	rt->move_under_lock = !U.have_move;
	/* one UFFDIO_MOVE costs by the page; the copy path's probe by the call */
	rt->move_piece = U.have_move ? 256 : 0;
	if (U.have_move)
		want |= UFFD_FEATURE_MOVE;
	U.thread_ids = have & UFFD_FEATURE_THREAD_ID;
	if (U.thread_ids)
		want |= UFFD_FEATURE_THREAD_ID;
	U.uffd = open_uffd(&U.kernel_faults, why, sizeof(why));
	if (U.uffd < 0 || !api_handshake(U.uffd, want, &have)) {
		svm__err("user backend: userfaultfd setup failed: %s", strerror(errno));
		goto fail;
	}
	if (!U.kernel_faults)
		svm__warn("userfaultfd is limited to user-mode faults for this process: a system "
			  "call such as read() into SVM memory that lives on a device fails with "
			  "EFAULT. To allow it, give this user access to /dev/userfaultfd or set "
			  "sysctl vm.unprivileged_userfaultfd=1");
	if (!U.kernel_faults && rt->cfg.coherence == SVM__COHERENCE_LAUNCH) {
		/*
		 * Launch coherence write-protects every host page during a
		 * launch: a system call writing one (a host thread's read())
		 * would fail with EFAULT instead of waiting for our fault.
		 */
		svm__warn("SVM_COHERENCE=launch needs kernel-mode userfaultfd faults (see the "
			  "line above); device faults keep the default, access");
		rt->cfg.coherence = SVM__COHERENCE_ACCESS;
	}
	svm__info("user backend: moving pages with %s", U.have_move ? "UFFDIO_MOVE" :
			 "write-protect + UFFDIO_COPY");
	/* the views' own userfaultfd, in SIGBUS mode (see view_fault) */
	self_faults = cfg->user_device_faults == 0 && (avail & UFFD_FEATURE_SIGBUS);
	if (self_faults) {
		bool vkf;

		U.vuffd = open_uffd(&vkf, why, sizeof(why));
		if (U.vuffd < 0 || !api_handshake(U.vuffd, (want & ~(uint64_t)UFFD_FEATURE_THREAD_ID) |
							   UFFD_FEATURE_SIGBUS, &have)) {
			svm__err("user backend: the devices' userfaultfd setup failed: %s",
				 strerror(errno));
			goto fail;
		}
	} else if (cfg->user_device_faults == 0) {
		svm__info("user backend: the kernel's userfaultfd has no SIGBUS mode; device "
			  "faults go to the fault-service threads");
	}
	svm__info("user backend: device faults served by %s", self_faults ?
		  "the faulting thread (SIGBUS)" : "the fault-service threads");

	U.size = cfg->heap_size & ~(SVM__HUGE_SIZE - 1);
	U.ndev = cfg->user_devices;
	U.pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC); /* -1: no pin test */
	U.probe_always = cfg->user_pin_probe == 1 ||
			 (cfg->user_pin_probe == 0 && !kernel_before(6, 4));
	if (!strcmp(cfg->user_service_fail, "fatal"))
		atomic_store(&U.fail_fatal, true);
	else if (!strcmp(cfg->user_service_fail, "writeback"))
		atomic_store(&U.fail_writeback, true);
	else if (!strcmp(cfg->user_service_fail, "epoll"))
		U.fail_epoll = true;
	else if (!strncmp(cfg->user_service_fail, "transient=", 10))
		atomic_store(&U.fail_transient,
			     (unsigned)strtoul(cfg->user_service_fail + 10, NULL, 10));
	else if (cfg->user_service_fail[0])
		svm__warn("SVM_USER_SERVICE_FAIL=\"%s\" is not transient=N, fatal, epoll or "
			  "writeback; ignored",
			  cfg->user_service_fail);
	if (!U.have_move)
		svm__info("user backend: copy path; pins looked for %s", U.probe_always ?
			  "before every copy of host pages" :
			  "before every copy of host pages from the first long-term pin seen on");
	U.zeros = mmap(NULL, ZERO_CHUNK, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	U.heap = (uintptr_t)svm__heap_reserve(U.size);
	U.shadow = (uintptr_t)svm__heap_reserve(U.size);
	if (U.zeros == MAP_FAILED || !U.heap || !U.shadow)
		goto nomem;
	/* a fork child gets the data through the heap */
	madvise((void *)U.shadow, U.size, MADV_DONTFORK);
	if (register_area(U.uffd, U.heap, U.size, U.have_move))
		goto fail;
	if (U.have_move) {
		U.scratch = (uintptr_t)svm__heap_reserve(U.size);
		if (!U.scratch)
			goto nomem;
		madvise((void *)U.scratch, U.size, MADV_DONTFORK);
		if (register_area(U.uffd, U.scratch, U.size, true))
			goto fail;
	}
	for (int d = 0; d < U.ndev; d++) {
		U.view[d] = (uintptr_t)svm__heap_reserve(U.size);
		if (!U.view[d])
			goto nomem;
		/* a fork child gets the data through the heap, not the views */
		madvise((void *)U.view[d], U.size, MADV_DONTFORK);
		if (register_area(fd_for(U.view[d]), U.view[d], U.size, U.have_move))
			goto fail;
		rt->dev[d].view = U.view[d];
		rt->dev[d].capacity = cfg->user_device_memory / SVM__PAGE_SIZE;
		rt->dev[d].numa_node = device_node(cfg, d);
		rt->dev[d].launchable = true;
		U.node[d] = rt->dev[d].numa_node;
		/* device memory comes from the device's node */
		if (svm__topo_nodes() > 1 && U.node[d] >= 0 &&
		    !svm__topo_prefer((void *)U.view[d], U.size, U.node[d]))
			svm__warn("device %d: cannot place its memory on node %d", d, U.node[d]);
	}
	rt->ndev = U.ndev;
	U.rt = rt;
	if (U.vuffd >= 0 && !bus_take()) {
		svm__err("user backend: cannot install the SIGBUS handler that serves device "
			 "faults: %s", strerror(errno));
		goto fail;
	}

	U.stopfd = eventfd(0, EFD_CLOEXEC);
	if (U.stopfd < 0)
		goto nothread;
	for (int i = 0; i < cfg->user_fault_servers; i++) {
		S[i] = (struct server){ .rt = rt, .epfd = waiter_open(i) };
		if (pthread_create(&S[i].thread, NULL, service_thread, &S[i])) {
			if (S[i].epfd >= 0)
				close(S[i].epfd);
			S[i].epfd = -1;
			break;
		}
		U.nservers++;
		if (cfg->user_fault_cpu >= 0) {
			cpu_set_t set;

			CPU_ZERO(&set);
			CPU_SET(cfg->user_fault_cpu, &set);
			if (pthread_setaffinity_np(S[i].thread, sizeof(set), &set))
				svm__warn("SVM_USER_FAULT_CPU=%d: cannot bind the fault thread there",
					  cfg->user_fault_cpu);
		}
	}
	if (!U.nservers)
		goto nothread;
	if (U.nservers < cfg->user_fault_servers)
		svm__warn("user backend: %d of %d fault-service threads started",
			  U.nservers, cfg->user_fault_servers);
	*heap = U.heap;
	*heap_size = U.size;
	return SVM_OK;
nothread:
	svm__err("user backend: cannot start the fault-service thread");
	goto fail;
nomem:
	svm__err("user backend: cannot reserve %zu bytes of address space per mapping "
		 "(SVM_HEAP_SIZE)", U.size);
	user_fini(rt);
	return SVM_ERROR_OUT_OF_MEMORY;
fail:
	user_fini(rt);
	return SVM_ERROR_BACKEND;
}

static void user_fini(struct svm__rt *rt)
{
	if (U.nservers) {
		uint64_t one = 1;

		if (write(U.stopfd, &one, sizeof(one)) != sizeof(one))
			svm__err("fault service: cannot signal stop: %s", strerror(errno));
		for (int i = 0; i < U.nservers; i++) {
			pthread_join(S[i].thread, NULL);
			if (S[i].epfd >= 0)
				close(S[i].epfd);
			S[i].epfd = -1;
		}
	}
	if (U.vuffd >= 0)
		bus_give_back();
	for (int d = 0; d < SVM__MAX_DEVICES; d++) {
		if (U.view[d])
			munmap((void *)U.view[d], U.size);
		rt->dev[d].view = 0;
	}
	if (U.heap)
		munmap((void *)U.heap, U.size);
	if (U.shadow)
		munmap((void *)U.shadow, U.size);
	if (U.scratch)
		munmap((void *)U.scratch, U.size);
	U.scratch = 0;
	if (U.zeros && U.zeros != MAP_FAILED)
		munmap(U.zeros, ZERO_CHUNK);
	if (U.uffd >= 0)
		close(U.uffd);
	if (U.vuffd >= 0)
		close(U.vuffd);
	if (U.stopfd >= 0)
		close(U.stopfd);
	if (U.pagemap >= 0)
		close(U.pagemap);
	memset(&U, 0, sizeof(U));
	U.uffd = U.vuffd = U.stopfd = -1;
}

static svm_result_t user_device_props(struct svm__rt *rt, int dev, svm_device_props_t *p)
{
	snprintf(p->name, sizeof(p->name), "svmrt emulated device %d", dev);
	snprintf(p->backend, sizeof(p->backend), "user");
	p->memory_bytes = rt->dev[dev].capacity * SVM__PAGE_SIZE;
	p->numa_node = rt->dev[dev].numa_node;
	p->pci_bus_id[0] = 0;
	return SVM_OK;
}

const struct svm__backend_ops svm__user_ops = {
	.name = "user",
	.probe = user_probe,
	.init = user_init,
	.fini = user_fini,
	.device_props = user_device_props,
	.range_map = user_range_map,
	.range_unmap = user_range_unmap,
	.engine.move = user_move,
	.engine.duplicate = user_duplicate,
	.engine.collapse = user_collapse,
	.engine.remote_map = user_remote_map,
	.engine.remote_unmap = user_remote_unmap,
	.engine.watch = user_watch,
	.engine.take = user_take,
	.engine.commit = user_commit,
	.engine.device_running = user_device_running,
};
