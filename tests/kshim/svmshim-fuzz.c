// SPDX-License-Identifier: GPL-2.0
/*
 * svmshim-fuzz - a uAPI fuzzer of svmshim.ko, run in the VM.
 *
 *   svmshim-fuzz [-t SECONDS] [-s SEED] [-p PROCS] [-j THREADS]
 *                [-x OP,OP...] [-i OP,OP...] [-u GID] [-l] [-T]
 *
 * PROCS processes (default 2) of THREADS threads (default 3) each issue
 * hostile ioctls (every field: ranges unmapped, partly mapped, kernel,
 * wrapping, huge, misaligned; file, shared, PROT_NONE, read-only, hugetlb,
 * memfd and view mappings; NULL, read-only, short and unmapped result
 * arrays; unknown flags, non-zero padding and reserved words, bad devices
 * and out-of-bound times and counts), map the render node at random
 * offsets, and meanwhile mremap, madvise, mprotect, munmap, fork and
 * close. One thread of the first process keeps a self-check region moving
 * between the devices and the host, through MIGRATE and device faults, and
 * checks its contents every round: any lost or foreign word is a failure.
 *
 * The run is seeded: "FUZZ: seed N" is printed first and -s N replays the
 * same choices (the interleaving of threads is the scheduler's). -u GID runs
 * as uid/gid 65534 in supplementary group GID (the render node's group),
 * without capabilities. -l lists the operations; -x leaves some out, -i
 * adds them back. -T runs the fuzzer's own regression
 * tests instead of fuzzing ("FUZZ SELFTEST PASS" or "... FAIL").
 *
 * Exit 0 when every process ended in time and the self-check held; the
 * kernel log (WARN/BUG/lockdep...) and the unload report are checked by
 * tests/vm/check-log.sh. Markers: "FUZZ: ..." lines, last "FUZZ PASS" or
 * "FUZZ FAIL: why".
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <grp.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <ucontext.h>

#include "kshim_util.h"
#include "shim_params.h"

#define MiB (1024UL * 1024UL)

#ifndef MADV_COLD
#define MADV_COLD 20
#endif
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif
#ifndef MAP_HUGETLB
#define MAP_HUGETLB 0x40000
#endif

/* ---- operations ----------------------------------------------------------- */

enum op {
	OP_INFO, OP_MIGRATE, OP_SNAPSHOT, OP_PIN, OP_UNPIN, OP_ATTR, OP_EVENTS,
	OP_BADIOCTL, OP_MMAP_NODE, OP_VIEW, OP_TOUCH, OP_MADVISE, OP_MPROTECT,
	OP_MREMAP, OP_REMAP, OP_FORK, OP_CLOSE, OP_DOFORK, OP_VIEWMREMAP,
	OP_WRONLYVIEW, OP_INJECT, OP_COUNT
};

static const char *const op_names[OP_COUNT] = {
	"info", "migrate", "snapshot", "pin", "unpin", "attr", "events",
	"badioctl", "mmapnode", "view", "touch", "madvise", "mprotect",
	"mremap", "remap", "fork", "close", "dofork", "viewmremap",
	"wronlyview", "inject",
};

/* Relative weights. */
static const unsigned int op_weight[OP_COUNT] = {
	2, 12, 6, 4, 4, 5, 3, 2, 3, 6, 10, 5, 3, 3, 3, 2, 2, 1, 1, 1, 1,
};

static bool op_on[OP_COUNT];

/* ---- random numbers (xorshift64*, one state per thread) ------------------ */

static uint64_t rnd(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static uint64_t below(uint64_t *s, uint64_t n)
{
	return n ? rnd(s) % n : 0;
}

static bool chance(uint64_t *s, unsigned int pct)
{
	return below(s, 100) < pct;
}

/* ---- shared state of one process ----------------------------------------- */

#define NSLOTS		12
#define SLOT_MAX_PAGES	512	/* 2 MiB */

enum slot_kind { K_ANON, K_THP, K_SHARED, K_FILE, K_FILE_SHARED, K_MEMFD,
		 K_RDONLY, K_PROTNONE, K_HUGETLB, K_KINDS };

static const char *const kind_names[K_KINDS] = {
	"anon", "thp", "shared", "file", "file-shared", "memfd", "read-only",
	"prot-none", "hugetlb",
};

/*
 * A slot is a mapping the threads play with. Its lock only orders the
 * bookkeeping; the mapping itself changes under other threads' feet on
 * purpose (their touches recover from SIGSEGV/SIGBUS).
 */
struct slot {
	pthread_mutex_t lock;
	char *addr;
	size_t len;
	int kind;
	char *view;		/* a view of it, or NULL */
	size_t view_len;
};

static struct slot slots[NSLOTS];
static _Atomic int shim_fd = -1;	/* the process's file; swapped by close */
static unsigned int ndev = 2;
static char node_path[64];
static int file_fd = -1;		/* a tmpfs file behind the file slots */
static char *guard;			/* RW page then PROT_NONE page */
static char *ro_page;			/* a read-only page */
static char *hole;			/* an address with nothing mapped */
static bool hugetlb_ok;
static volatile bool stop;
static atomic_ulong op_count[OP_COUNT];
static atomic_ulong op_ok[OP_COUNT];
static atomic_ulong op_ms[OP_COUNT];	/* time spent in each, ms */
static atomic_ulong op_max_ms[OP_COUNT];	/* the longest one */

/*
 * What each thread is doing, in memory shared with the parent, so that a
 * hang can be told: [process][thread], the checker is thread 0.
 */
#define MAXT 65
struct tstatus {
	_Atomic int tid;
	_Atomic int op;			/* enum op, or -1: the checker */
	_Atomic uint64_t addr;		/* last address touched or asked for */
	_Atomic uint64_t len;
	_Atomic uint64_t ops;		/* operations started */
	char pad[24];
};
static struct tstatus (*board)[MAXT];
static __thread struct tstatus *me;

static void note(uint64_t addr, uint64_t len)
{
	if (me) {
		atomic_store(&me->addr, addr);
		atomic_store(&me->len, len);
	}
}

/* The self-check region (first process only). */
#define CHECK_PAGES	128
static char *check_mem;
static atomic_ulong check_rounds, check_bad;

/* ---- recovering from our own faults -------------------------------------- */

static __thread sigjmp_buf touch_jmp;
static __thread volatile int in_touch;

/* The line of /proc/self/maps that holds @addr, written to stdout (a crash). */
static void crash_map(const char *what, uint64_t addr)
{
	char buf[8192], line[160];
	int f = open("/proc/self/maps", O_RDONLY);
	ssize_t n = f >= 0 ? read(f, buf, sizeof(buf) - 1) : -1;
	char *l = buf, *e;

	if (f >= 0)
		close(f);
	buf[n > 0 ? n : 0] = 0;
	/* (one read: the first 8 KiB of the maps, enough for the fuzzer's) */
	for (; *l; l = e + 1) {
		unsigned long long lo, hi;

		e = strchr(l, '\n');
		if (!e)
			break;
		if (sscanf(l, "%llx-%llx", &lo, &hi) == 2 && addr >= lo && addr < hi) {
			int k = snprintf(line, sizeof(line), "FUZZ:   %s %#llx in %.*s\n", what,
					 (unsigned long long)addr, (int)(e - l), l);

			if (write(1, line, k < (int)sizeof(line) ? k : (int)sizeof(line) - 1) < 0)
				break;
			return;
		}
	}
	{
		int k = snprintf(line, sizeof(line), "FUZZ:   %s %#llx: not mapped\n", what,
				 (unsigned long long)addr);

		if (write(1, line, k) < 0)
			return;
	}
}

static void on_fault(int sig, siginfo_t *si, void *uc)
{
	char line[256];
	uint64_t pc = 0;
	int k;

	if (in_touch)
		siglongjmp(touch_jmp, sig);
	/*
	 * A fault outside a guarded touch: a real crash. Say where it was (the
	 * address, the code, what this thread was doing) before dying of it.
	 */
#if defined(__x86_64__)
	pc = (uint64_t)((ucontext_t *)uc)->uc_mcontext.gregs[REG_RIP];
#else
	(void)uc;
#endif
	k = snprintf(line, sizeof(line),
		     "FUZZ: pid %d tid %d: signal %d code %d at %p, pc %#llx, last op %d address %#llx (+%#llx)\n",
		     getpid(), gettid(), sig, si->si_code, si->si_addr, (unsigned long long)pc,
		     me ? atomic_load(&me->op) : -2,
		     me ? (unsigned long long)atomic_load(&me->addr) : 0ULL,
		     me ? (unsigned long long)atomic_load(&me->len) : 0ULL);
	if (write(1, line, k) >= 0) {
		crash_map("address", (uintptr_t)si->si_addr);
		crash_map("pc", pc);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static void catch_faults(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_fault;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
}

/* Reads (and maybe writes) one word at @p; false if it faulted. */
static bool touch(volatile uint64_t *p, bool write, uint64_t v)
{
	bool ok = true;

	note((uintptr_t)p, write);
	in_touch = 1;
	if (sigsetjmp(touch_jmp, 1) == 0) {
		uint64_t x = *p;

		if (write)
			*p = v ^ x;
	} else {
		ok = false;
	}
	in_touch = 0;
	return ok;
}

/* Reads one word at @p into *out; false (and *out untouched) if it faulted. */
static bool read_guarded(volatile uint64_t *p, uint64_t *out)
{
	bool ok = true;

	in_touch = 1;
	if (sigsetjmp(touch_jmp, 1) == 0)
		*out = *p;
	else
		ok = false;
	in_touch = 0;
	return ok;
}

/* ---- mappings -------------------------------------------------------------- */

/*
 * Fills a mapping just made. Its address may be one a slot had before: a
 * thread holding a stale copy of that slot may mprotect or unmap part of
 * it meanwhile (the fuzzer's own race, not the kernel's: a 6.1 CI run died
 * of SEGV_ACCERR in this memset on a page made read-only that way). A
 * fault ends the fill; the mapping is used as it is.
 */
static void fill_guarded(void *p, size_t len, int c)
{
	in_touch = 1;
	if (sigsetjmp(touch_jmp, 1) == 0)
		memset(p, c, len);
	in_touch = 0;
}

static void *map_kind(int kind, size_t len)
{
	int prot = PROT_READ | PROT_WRITE, flags = MAP_PRIVATE | MAP_ANONYMOUS;
	int f = -1;
	void *p;

	switch (kind) {
	case K_THP:
		p = mmap(NULL, len + 2 * MiB, prot, flags, -1, 0);
		if (p == MAP_FAILED)
			return NULL;
		{
			uintptr_t a = ((uintptr_t)p + 2 * MiB - 1) & ~(2 * MiB - 1);

			if (a > (uintptr_t)p)
				munmap(p, a - (uintptr_t)p);
			munmap((char *)a + len, (uintptr_t)p + 2 * MiB - a);
			p = (void *)a;
		}
		madvise(p, len, MADV_HUGEPAGE);
		fill_guarded(p, len, 0x11);
		return p;
	case K_SHARED:
		flags = MAP_SHARED | MAP_ANONYMOUS;
		break;
	case K_FILE:
		flags = MAP_PRIVATE;
		f = file_fd;
		break;
	case K_FILE_SHARED:
		flags = MAP_SHARED;
		f = file_fd;
		break;
	case K_MEMFD:
		f = memfd_create("fuzz", 0);
		if (f < 0 || ftruncate(f, len)) {
			if (f >= 0)
				close(f);
			return NULL;
		}
		flags = MAP_SHARED;
		break;
	case K_HUGETLB:
		if (!hugetlb_ok)
			return NULL;
		flags |= MAP_HUGETLB;
		len = (len + 2 * MiB - 1) & ~(2 * MiB - 1);
		break;
	default:
		break;
	}
	p = mmap(NULL, len, prot, flags, f, 0);
	if (kind == K_MEMFD)
		close(f);
	if (p == MAP_FAILED)
		return NULL;
	fill_guarded(p, len, 0x22);
	if (kind == K_RDONLY)
		mprotect(p, len, PROT_READ);
	else if (kind == K_PROTNONE)
		mprotect(p, len, PROT_NONE);
	return p;
}

/* (Re)fills slot @i with a new mapping of a random kind; lock held. */
static void slot_new(struct slot *s, uint64_t *r)
{
	size_t pages = 1 + below(r, SLOT_MAX_PAGES);
	int kind = chance(r, 50) ? K_ANON : (int)below(r, K_KINDS);

	if (kind == K_THP)
		pages = 512;
	s->len = pages * KPAGE;
	s->kind = kind;
	s->addr = map_kind(kind, s->len);
	if (!s->addr) {
		s->kind = K_ANON;
		s->addr = map_kind(K_ANON, s->len);
	}
	if (!s->addr)
		s->len = 0;
}

/*
 * A consistent copy of a slot (the threads change slots under each other;
 * a torn address/length pair could reach memory that is no slot's).
 */
struct slot_copy {
	char *addr, *view;
	size_t len, view_len;
};

static bool fork_child;	/* a fork child takes no lock: its holder is gone */

/*
 * A fork child's MIGRATE retries for at most this long (its parent waits
 * for it, FORK_WAIT_S at most): a child asked for the uAPI's longest
 * budget (SVMSHIM_MAX_RETRY_BUDGET_US, 10 s) once slept that long in its
 * retry pauses, which the parent's 10 s wait took for a hang.
 */
#define CHILD_BUDGET_US	200000
#define FORK_WAIT_S	30

static struct slot_copy slot_get(struct slot *s)
{
	struct slot_copy c;

	if (!fork_child)
		pthread_mutex_lock(&s->lock);
	c.addr = s->addr;
	c.len = s->addr ? s->len : 0;
	c.view = s->view;
	c.view_len = s->view ? s->view_len : 0;
	if (!fork_child)
		pthread_mutex_unlock(&s->lock);
	return c;
}

/*
 * Does [a, a + l) reach the self-check region? Operations that change
 * memory (writes, munmap, madvise, mprotect, result arrays) stay off it:
 * what it loses must be the kernel's doing, never the fuzzer's.
 */
static bool hits_check(uint64_t a, uint64_t l)
{
	uint64_t c = (uintptr_t)check_mem;

	return check_mem && a < c + CHECK_PAGES * KPAGE && a + l > c;
}

/* ---- hostile values --------------------------------------------------------- */

/* A range: mostly real ones, often hostile. */
static void pick_range(uint64_t *r, uint64_t *start, uint64_t *len)
{
	struct slot_copy s = slot_get(&slots[below(r, NSLOTS)]);
	uint64_t a = (uintptr_t)s.addr, l = s.len, off;

	switch (below(r, 16)) {
	case 0:		/* unmapped */
		*start = (uintptr_t)hole;
		*len = KPAGE * (1 + below(r, 16));
		return;
	case 1:		/* kernel */
		*start = 0xffff888000000000ULL + below(r, 1 << 20) * KPAGE;
		*len = KPAGE * (1 + below(r, 16));
		return;
	case 2:		/* wrapping */
		*start = -(uint64_t)KPAGE * (1 + below(r, 4));
		*len = KPAGE * (8 + below(r, 8));
		return;
	case 3:		/* huge */
		*start = a;
		*len = chance(r, 50) ? (1ULL << 47) : (rnd(r) & ~(KPAGE - 1));
		return;
	case 4:		/* misaligned */
		*start = a + 1 + below(r, KPAGE - 1);
		*len = l;
		return;
	case 5:
		*start = a;
		*len = l ? l - 1 - below(r, KPAGE - 1) : 7;
		return;
	case 6:		/* zero, NULL */
		*start = chance(r, 50) ? 0 : a;
		*len = chance(r, 50) ? 0 : KPAGE;
		return;
	case 7:		/* partly mapped: runs past the end */
		*start = a + (l ? below(r, l / KPAGE) * KPAGE : 0);
		*len = l + KPAGE * (1 + below(r, 64));
		return;
	case 8:		/* the guard page pair, the read-only page */
		*start = chance(r, 50) ? (uintptr_t)guard : (uintptr_t)ro_page;
		*len = KPAGE * (1 + below(r, 2));
		return;
	case 9:		/* a view */
		if (s.view) {
			*start = (uintptr_t)s.view;
			*len = s.view_len;
			return;
		}
		break;
	case 10:	/* the self-check region: only harmless ioctls reach it */
		if (check_mem) {
			*start = (uintptr_t)check_mem;
			*len = CHECK_PAGES * KPAGE;
			return;
		}
		break;
	default:
		break;
	}
	/* a sub-range of a slot (of any kind) */
	if (!l) {
		*start = a;
		*len = KPAGE;
		return;
	}
	off = below(r, l / KPAGE);
	*start = a + off * KPAGE;
	*len = KPAGE * (1 + below(r, l / KPAGE - off));
}

/*
 * An output array for @n bytes: NULL, fine, short (runs into a PROT_NONE
 * page), read-only, unmapped, kernel, or a slot (maybe on a device).
 */
static uint64_t pick_out(uint64_t *r, size_t n, void *buf, size_t buflen)
{
	struct slot_copy s = slot_get(&slots[below(r, NSLOTS)]);
	uint64_t a;

	switch (below(r, 8)) {
	case 0:
		return 0;
	case 1:		/* short: the end of the RW page before the guard */
		return (uintptr_t)guard + KPAGE - below(r, n < KPAGE ? n : KPAGE);
	case 2:
		return (uintptr_t)ro_page;
	case 3:
		return (uintptr_t)hole;
	case 4:
		return 0xffff888000000000ULL;
	case 5:
		if (s.addr && s.len >= n) {
			a = (uintptr_t)s.addr + below(r, s.len - n + 1);
			if (!hits_check(a, n))
				return a;
		}
		break;
	default:
		break;
	}
	return n <= buflen ? (uintptr_t)buf : 0;
}

/* A device index: mostly good, sometimes not. */
static int32_t pick_dev(uint64_t *r)
{
	switch (below(r, 10)) {
	case 0:
		return (int32_t)ndev + (int32_t)below(r, 4);
	case 1:
		return -(int32_t)below(r, 8);
	case 2:
		return (int32_t)rnd(r);
	default:
		return (int32_t)below(r, ndev + 1) - 1;	/* -1 is the host */
	}
}

/* A u32 time or count: small, at the bound, or anything. */
static uint32_t pick_u32(uint64_t *r, uint32_t bound)
{
	switch (below(r, 6)) {
	case 0:
		return 0;
	case 1:
		return bound;
	case 2:
		return bound + 1;
	case 3:
		return (uint32_t)rnd(r);
	default:
		return (uint32_t)below(r, bound < 64 ? bound + 1 : 64);
	}
}

/* Flags: the known ones, sometimes an unknown bit. */
static uint32_t pick_flags(uint64_t *r, uint32_t known)
{
	uint32_t f = (uint32_t)rnd(r) & known;

	if (chance(r, 10))
		f |= 1u << below(r, 32);
	return f;
}

/* Padding and reserved words: zero, mostly. */
static uint64_t pick_pad(uint64_t *r)
{
	return chance(r, 5) ? rnd(r) | 1 : 0;
}

/* ---- the ioctls ------------------------------------------------------------- */

static int shim_ioctl(unsigned long req, void *arg)
{
	return ioctl(atomic_load(&shim_fd), req, arg) ? -errno : 0;
}

static int do_info(uint64_t *r)
{
	struct drm_svmshim_get_info a;

	memset(&a, 0, sizeof(a));
	a.device = chance(r, 80) ? (uint32_t)below(r, ndev) : (uint32_t)pick_dev(r);
	a.flags = (uint32_t)pick_pad(r);
	a.pad = (uint32_t)pick_pad(r);
	a.reserved[below(r, 4)] = pick_pad(r);
	return shim_ioctl(DRM_IOCTL_SVMSHIM_GET_INFO, &a);
}

static int do_migrate(uint64_t *r)
{
	static __thread uint8_t res[SLOT_MAX_PAGES * 2];
	struct drm_svmshim_migrate a;
	uint64_t start, len;

	memset(&a, 0, sizeof(a));
	pick_range(r, &start, &len);
	note(start, len);
	a.start = start;
	a.length = len;
	a.dest = pick_dev(r);
	a.flags = pick_flags(r, SVMSHIM_MIGRATE_FLAGS);
	if (a.flags & SVMSHIM_MIGRATE_RETRY) {
		a.retry_rounds = pick_u32(r, 4);
		/* short budgets: the fuzzer wants many calls, not long ones */
		a.retry_budget_us = chance(r, 3) ? pick_u32(r, SVMSHIM_MAX_RETRY_BUDGET_US)
						 : (uint32_t)below(r, 2000);
	}
	if (a.flags & SVMSHIM_MIGRATE_BACKOFF) {
		a.backoff_us = chance(r, 5) ? pick_u32(r, SVMSHIM_MAX_BACKOFF_US)
					    : (uint32_t)below(r, 200);
		a.backoff_max_us = (uint32_t)below(r, 500);
	}
	if (fork_child && a.retry_budget_us > CHILD_BUDGET_US)
		a.retry_budget_us = CHILD_BUDGET_US;
	if (chance(r, 3))
		a.retries = (uint32_t)rnd(r);
	a.evicted_prefetched = (uint32_t)pick_pad(r);	/* out only: in 0 */
	a.pad2 = (uint32_t)pick_pad(r);
	a.results = pick_out(r, len / KPAGE, res, sizeof(res));
	return shim_ioctl(DRM_IOCTL_SVMSHIM_MIGRATE, &a);
}

static int do_snapshot(uint64_t *r)
{
	static __thread int32_t loc[SLOT_MAX_PAGES * 2];
	struct drm_svmshim_snapshot a;
	uint64_t start, len;

	memset(&a, 0, sizeof(a));
	pick_range(r, &start, &len);
	note(start, len);
	a.start = start;
	a.length = len;
	a.locations = pick_out(r, len / KPAGE * 4, loc, sizeof(loc));
	a.flags = (uint32_t)pick_pad(r);
	a.pad = (uint32_t)pick_pad(r);
	a.reserved[below(r, 3)] = pick_pad(r);
	return shim_ioctl(DRM_IOCTL_SVMSHIM_SNAPSHOT, &a);
}

static int do_pin(uint64_t *r, bool unpin)
{
	/* the last pins made: UNPIN mostly picks one (or a range around it) */
	static __thread uint64_t last[8][2];
	struct drm_svmshim_pin a;
	uint64_t start, len;
	int ret;

	memset(&a, 0, sizeof(a));
	pick_range(r, &start, &len);
	/* pins stay small: they hold memory until UNPIN or close */
	if (!unpin && len > 64 * KPAGE && chance(r, 90))
		len = 64 * KPAGE;
	if (unpin && chance(r, 70)) {
		uint64_t *l = last[below(r, 8)];

		start = l[0] - (chance(r, 30) ? KPAGE * below(r, 4) : 0);
		len = l[1] + (l[0] - start) + (chance(r, 30) ? KPAGE * below(r, 4) : 0);
	}
	note(start, len);
	a.start = start;
	a.length = len;
	a.flags = (uint32_t)pick_pad(r);
	a.pad = (uint32_t)pick_pad(r);
	a.reserved[below(r, 2)] = pick_pad(r);
	ret = shim_ioctl(unpin ? DRM_IOCTL_SVMSHIM_UNPIN : DRM_IOCTL_SVMSHIM_PIN, &a);
	if (!unpin && !ret) {
		uint64_t *l = last[below(r, 8)];

		l[0] = start;
		l[1] = len;
	}
	return ret;
}

static int do_attr(uint64_t *r)
{
	struct drm_svmshim_attr a;
	uint64_t start, len;

	memset(&a, 0, sizeof(a));
	pick_range(r, &start, &len);
	note(start, len);
	a.start = start;
	a.length = len;
	a.flags = pick_flags(r, SVMSHIM_ATTR_FLAGS);
	a.preferred = chance(r, 30) ? SVMSHIM_LOC_NONE : pick_dev(r);
	a.accessed_by = chance(r, 80) ? (uint32_t)below(r, 1u << ndev) : (uint32_t)rnd(r);
	a.granularity = chance(r, 70) ? (uint32_t)(KPAGE << below(r, 10)) : pick_u32(r, 2 << 20);
	a.fault_retry_rounds = pick_u32(r, 4);
	a.fault_budget_us = chance(r, 5) ? pick_u32(r, SVMSHIM_MAX_FAULT_BUDGET_US)
					 : (uint32_t)below(r, 5000);
	if (a.flags & SVMSHIM_ATTR_FAULT_BACKOFF) {
		a.fault_backoff_us = (uint32_t)below(r, 300);
		a.fault_backoff_max_us = chance(r, 5) ? pick_u32(r, SVMSHIM_MAX_BACKOFF_US)
						      : (uint32_t)below(r, 1000);
	}
	/* The density prefetcher (version 4): bounds, and 0 without the flag. */
	if (a.flags & SVMSHIM_ATTR_PREFETCH_DENSITY) {
		a.prefetch_threshold = chance(r, 80) ? 1 + (uint32_t)below(r, 100)
						     : pick_u32(r, 100);
		a.prefetch_max = chance(r, 80) ? (uint32_t)(2 * KPAGE << below(r, 18))
					       : pick_u32(r, SVMSHIM_MAX_PREFETCH);
	} else {
		a.prefetch_threshold = (uint32_t)pick_pad(r);
		a.prefetch_max = (uint32_t)pick_pad(r);
	}
	return shim_ioctl(DRM_IOCTL_SVMSHIM_SET_ATTR, &a);
}

static int do_events(uint64_t *r)
{
	static __thread struct drm_svmshim_event ev[64];
	struct drm_svmshim_events a;

	memset(&a, 0, sizeof(a));
	a.capacity = chance(r, 70) ? (uint32_t)below(r, 65) : pick_u32(r, SVMSHIM_EVENT_RING);
	a.events = pick_out(r, (size_t)a.capacity * sizeof(ev[0]), ev, sizeof(ev));
	a.count = (uint32_t)pick_pad(r);
	a.reserved[below(r, 2)] = pick_pad(r);
	return shim_ioctl(DRM_IOCTL_SVMSHIM_EVENTS, &a);
}

/* Unknown ioctl numbers, wrong sizes and directions, garbage arguments. */
static int do_badioctl(uint64_t *r)
{
	static __thread uint64_t buf[64];
	unsigned long nr = DRM_COMMAND_BASE + below(r, 0x20);
	unsigned long size = below(r, 4) ? below(r, sizeof(buf)) : below(r, 1 << 13);
	unsigned long req;

	for (size_t i = 0; i < 64; i++)
		buf[i] = rnd(r);
	switch (below(r, 3)) {
	case 0:
		req = DRM_IOWR(nr, char[1]) & ~(_IOC_SIZEMASK << _IOC_SIZESHIFT);
		req |= (size & _IOC_SIZEMASK) << _IOC_SIZESHIFT;
		break;
	case 1:
		req = _IOC(below(r, 4), DRM_IOCTL_BASE, nr, size & _IOC_SIZEMASK);
		break;
	default:
		req = DRM_IOWR(nr, char[1]) & ~(_IOC_SIZEMASK << _IOC_SIZESHIFT);
		req |= (size & _IOC_SIZEMASK) << _IOC_SIZESHIFT;
		return ioctl(atomic_load(&shim_fd), req, chance(r, 50) ? (void *)hole : NULL)
		       ? -errno : 0;
	}
	return ioctl(atomic_load(&shim_fd), req, buf) ? -errno : 0;
}

/*
 * May the fuzzer write through page @i of a node mapping of @len bytes at
 * offset @off, made from slot copy @s? A view writes to the memory it
 * mirrors, and the mirrored range of a random offset runs past the slot
 * into whatever lies above it: the self-check region (its words changed
 * by the fuzzer's own writes, at the start of a page, were reported as
 * lost data), the board, the guard pages. Writes stay inside the slot;
 * reads go anywhere.
 */
static bool node_write_ok(uint64_t off, const struct slot_copy *s, uint64_t i)
{
	uint64_t dev = off >> 56, h = (off & ((1ULL << 56) - 1)) + i * KPAGE;

	if (!dev || dev > ndev || !s->addr)
		return false;
	return h >= (uintptr_t)s->addr && h + KPAGE <= (uintptr_t)s->addr + s->len &&
	       !hits_check(h, KPAGE);
}

/* mmap of the node at a random offset, touched and unmapped. */
static int do_mmap_node(uint64_t *r)
{
	struct slot_copy s = slot_get(&slots[below(r, NSLOTS)]);
	uint64_t off, len = KPAGE * (1 + below(r, 64));
	int prot = (int)below(r, 8), flags = chance(r, 80) ? MAP_SHARED : MAP_PRIVATE;
	char *p;

	if ((prot & (PROT_READ | PROT_WRITE)) == PROT_WRITE && !op_on[OP_WRONLYVIEW])
		prot |= PROT_READ;

	switch (below(r, 4)) {
	case 0:
		off = rnd(r) & ~(KPAGE - 1);
		break;
	case 1:
		off = SVMSHIM_VIEW_OFFSET(pick_dev(r) & 0xff, rnd(r) & ((1ULL << 56) - 1)) &
		      ~(KPAGE - 1);
		break;
	default:
		off = SVMSHIM_VIEW_OFFSET(below(r, ndev + 1),
					  (uintptr_t)s.addr + below(r, 8) * KPAGE);
		break;
	}
	p = mmap(NULL, len, prot, flags, atomic_load(&shim_fd), (off_t)off);
	if (p == MAP_FAILED)
		return -errno;
	for (int i = 0; i < 4; i++) {
		uint64_t pg = below(r, len / KPAGE);
		bool write = chance(r, 40);

		touch((volatile uint64_t *)(p + pg * KPAGE), write && node_write_ok(off, &s, pg),
		      rnd(r));
	}
	munmap(p, len);
	return 0;
}

/* A view of a slot: create one, or use and drop the one there. */
static int do_view(uint64_t *r)
{
	struct slot *s = &slots[below(r, NSLOTS)];
	int ret = 0;

	pthread_mutex_lock(&s->lock);
	if (!s->view && s->addr) {
		void *v = kshim_view(atomic_load(&shim_fd), (unsigned int)below(r, ndev), s->addr,
				     s->len);

		if (v) {
			s->view = v;
			s->view_len = s->len;
		} else {
			ret = -errno;
		}
	} else if (s->view) {
		for (int i = 0; i < 8; i++)
			touch((volatile uint64_t *)(s->view + below(r, s->view_len / KPAGE) * KPAGE +
						    8 * below(r, KPAGE / 8)),
			      chance(r, 50), rnd(r));
		if (chance(r, 30)) {
			munmap(s->view, s->view_len);
			s->view = NULL;
		}
	}
	pthread_mutex_unlock(&s->lock);
	return ret;
}

/* CPU touches of a slot (and of its view): CPU faults, COW, zero pages. */
static int do_touch(uint64_t *r)
{
	struct slot_copy s = slot_get(&slots[below(r, NSLOTS)]);
	char *base = s.addr;
	size_t len = s.len;
	int bad = 0;

	if (!base || !len)
		return 0;
	for (int i = 0; i < 16; i++)
		bad += !touch((volatile uint64_t *)(base + below(r, len / 8) * 8), chance(r, 50),
			      rnd(r));
	return bad ? -EFAULT : 0;
}

static int do_madvise(uint64_t *r)
{
	static const int adv[] = { MADV_DONTNEED, MADV_FREE, MADV_PAGEOUT, MADV_COLD,
				   MADV_WILLNEED, MADV_DOFORK, MADV_DONTFORK,
				   MADV_HUGEPAGE, MADV_NOHUGEPAGE, MADV_NORMAL };
	struct slot_copy s = slot_get(&slots[below(r, NSLOTS)]);
	int a = adv[below(r, sizeof(adv) / sizeof(adv[0]))];
	uint64_t off, len;

	if (!s.addr || !s.len)
		return 0;
	off = below(r, s.len / KPAGE) * KPAGE;
	len = KPAGE * (1 + below(r, (s.len - off) / KPAGE));
	if (s.view && chance(r, 30)) {
		/* on a view: everything but MADV_DOFORK (its own op) */
		if (a == MADV_DOFORK)
			a = MADV_DONTNEED;
		if (off + len > s.view_len || hits_check((uintptr_t)s.view + off, len))
			return 0;
		return madvise(s.view + off, len, a) ? -errno : 0;
	}
	if (hits_check((uintptr_t)s.addr + off, len))
		return 0;
	return madvise(s.addr + off, len, a) ? -errno : 0;
}

static int do_mprotect(uint64_t *r)
{
	static const int prots[] = { PROT_NONE, PROT_READ, PROT_READ | PROT_WRITE };
	struct slot_copy s = slot_get(&slots[below(r, NSLOTS)]);
	int p = prots[below(r, 3)];
	uint64_t off, len;

	if (!s.addr || !s.len)
		return 0;
	off = below(r, s.len / KPAGE) * KPAGE;
	len = KPAGE * (1 + below(r, 16));
	if (off + len > s.len)
		len = s.len - off;
	if (s.view && chance(r, 20)) {
		if (off >= s.view_len || hits_check((uintptr_t)s.view + off, KPAGE))
			return 0;
		return mprotect(s.view + off, KPAGE, p) ? -errno : 0;
	}
	if (hits_check((uintptr_t)s.addr + off, len))
		return 0;
	if (p != PROT_NONE || chance(r, 30))
		return mprotect(s.addr + off, len, p) ? -errno : 0;
	return 0;
}

/* mremap of a slot: move it, grow or shrink it. Its view stays (stale). */
static int do_mremap(uint64_t *r)
{
	struct slot *s = &slots[below(r, NSLOTS)];
	size_t nl;
	void *p;
	int ret = 0;

	pthread_mutex_lock(&s->lock);
	if (s->addr && s->len && s->kind != K_HUGETLB) {
		nl = KPAGE * (1 + below(r, SLOT_MAX_PAGES));
		p = mremap(s->addr, s->len, nl, MREMAP_MAYMOVE);
		if (p != MAP_FAILED) {
			s->addr = p;
			s->len = nl;
		} else {
			ret = -errno;
		}
	}
	pthread_mutex_unlock(&s->lock);
	return ret;
}

/* munmap a slot (and maybe its view) and map a new one. */
static int do_remap(uint64_t *r)
{
	struct slot *s = &slots[below(r, NSLOTS)];

	pthread_mutex_lock(&s->lock);
	if (s->addr) {
		if (chance(r, 20) && s->len > KPAGE)	/* a hole in it */
			munmap(s->addr + KPAGE * below(r, s->len / KPAGE), KPAGE);
		else
			munmap(s->addr, s->len);
	}
	if (s->view && chance(r, 50)) {
		munmap(s->view, s->view_len);
		s->view = NULL;
	}
	slot_new(s, r);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

static unsigned int my_proc;	/* this process's index */
static void dump_stacks(pid_t pid, unsigned int p);

/* A child that migrates, touches (COW of device pages) and exits or dies. */
static int do_fork(uint64_t *r)
{
	uint64_t cr = rnd(r) | 1;
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		fork_child = true;
		if (me)
			atomic_store(&me->tid, gettid());
		/*
		 * Half the children move pages with a file of their own, which
		 * their exit closes after their mm is gone (pages COW-shared
		 * with the parent stay mapped there).
		 */
		if (chance(&cr, 50)) {
			int nf = open(node_path, O_RDWR | O_CLOEXEC);

			if (nf >= 0)
				atomic_store(&shim_fd, nf);
		}
		for (int i = 0; i < 8; i++) {
			if (chance(&cr, 50))
				do_migrate(&cr);
			else
				do_touch(&cr);
		}
		if (chance(&cr, 20))
			close(atomic_load(&shim_fd));
		if (chance(&cr, 20))
			raise(SIGKILL);
		_exit(0);
	}
	/*
	 * The child may be killed by the parent's exit; no wait forever. Its
	 * eight calls retry CHILD_BUDGET_US at most each: FORK_WAIT_S is far
	 * beyond what it may take.
	 */
	for (double t0 = now_sec(); now_sec() - t0 < FORK_WAIT_S;) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return 0;
		usleep(10000);
	}
	printf("FUZZ: fork child %d still running after %d s\n", pid, FORK_WAIT_S);
	dump_stacks(pid, my_proc);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -ETIMEDOUT;
}

/* Close the process's file (views keep it alive) and open a new one. */
static int do_close(uint64_t *r)
{
	int nf = open(node_path, O_RDWR | O_CLOEXEC), old;

	(void)r;
	if (nf < 0)
		return -errno;
	old = atomic_exchange(&shim_fd, nf);
	close(old);
	return 0;
}

/* Known UAF of issue 19 item 2: a view copied into a fork child. */
static int do_dofork(uint64_t *r)
{
	struct slot *s = &slots[below(r, NSLOTS)];
	int ret = 0;

	pthread_mutex_lock(&s->lock);
	if (s->view)
		ret = madvise(s->view, s->view_len, MADV_DOFORK) ? -errno : 0;
	pthread_mutex_unlock(&s->lock);
	if (!ret)
		ret = do_fork(r);
	return ret;
}

/* Known UAF of issue 19 item 1: mremap of a view (refused, view dead). */
static int do_viewmremap(uint64_t *r)
{
	struct slot *s = &slots[below(r, NSLOTS)];
	void *p;
	int ret = 0;

	pthread_mutex_lock(&s->lock);
	if (s->view) {
		p = mremap(s->view, s->view_len, s->view_len + (chance(r, 50) ? KPAGE : 0),
			   MREMAP_MAYMOVE);
		if (p != MAP_FAILED) {
			s->view = p;
		} else {
			ret = -errno;
		}
	}
	pthread_mutex_unlock(&s->lock);
	return ret;
}

/*
 * Root only: the shim's fault injection, at random (at most 30% of moves,
 * any class, any direction; never CPU faults, which need inject_count).
 * main() turns it off at the end.
 */
static int do_inject(uint64_t *r)
{
	if (geteuid() != 0)
		return -EPERM;
	if (chance(r, 40))
		return kshim_param_set("inject_class", 0);
	kshim_param_set("inject_class", 0);
	kshim_param_set("inject_count", 0);
	kshim_param_set("inject_seed", rnd(r));
	kshim_param_set("inject_percent", below(r, 31));
	kshim_param_set("inject_direction", below(r, 3));
	return kshim_param_set("inject_class", 1 + below(r, SVMSHIM_FAIL_COUNT - 1));
}

static int run_op(enum op o, uint64_t *r)
{
	switch (o) {
	case OP_INFO: return do_info(r);
	case OP_MIGRATE: return do_migrate(r);
	case OP_SNAPSHOT: return do_snapshot(r);
	case OP_PIN: return do_pin(r, false);
	case OP_UNPIN: return do_pin(r, true);
	case OP_ATTR: return do_attr(r);
	case OP_EVENTS: return do_events(r);
	case OP_BADIOCTL: return do_badioctl(r);
	case OP_MMAP_NODE: return do_mmap_node(r);
	case OP_VIEW: return do_view(r);
	case OP_TOUCH: return do_touch(r);
	case OP_MADVISE: return do_madvise(r);
	case OP_MPROTECT: return do_mprotect(r);
	case OP_MREMAP: return do_mremap(r);
	case OP_REMAP: return do_remap(r);
	case OP_FORK: return do_fork(r);
	case OP_CLOSE: return do_close(r);
	case OP_DOFORK: return do_dofork(r);
	case OP_VIEWMREMAP: return do_viewmremap(r);
	case OP_WRONLYVIEW: return do_mmap_node(r);	/* write-only ones allowed */
	case OP_INJECT: return do_inject(r);
	default: return 0;
	}
}

static void thread_board(int slot, const char *name)
{
	me = board ? &board[0][0] + slot : NULL;
	if (me)
		atomic_store(&me->tid, gettid());
	pthread_setname_np(pthread_self(), name);
}

/*
 * Every thread (and the checker's view) exists before the first operation:
 * a thread stack mapped while workers already munmap and remap could land
 * where a slot or its view was, and a stale view or range would then reach
 * it (a thread's stack or TLS is not the fuzzer's to scribble on).
 */
static pthread_barrier_t start_line;

static void *worker(void *arg)
{
	uint64_t r = (uint64_t)(uintptr_t)arg >> 8 | 1;
	unsigned int total = 0;

	thread_board((int)((uintptr_t)arg & 0xff), "fuzz-worker");
	pthread_barrier_wait(&start_line);

	for (int o = 0; o < OP_COUNT; o++)
		total += op_on[o] ? op_weight[o] : 0;
	while (!stop && total) {
		unsigned int w = (unsigned int)below(&r, total);
		int o;

		for (o = 0; o < OP_COUNT; o++) {
			if (!op_on[o])
				continue;
			if (w < op_weight[o])
				break;
			w -= op_weight[o];
		}
		atomic_fetch_add(&op_count[o], 1);
		if (me) {
			atomic_store(&me->op, o);
			atomic_fetch_add(&me->ops, 1);
		}
		{
			double t0 = now_sec();
			unsigned long ms, max;

			if (run_op((enum op)o, &r) == 0)
				atomic_fetch_add(&op_ok[o], 1);
			ms = (unsigned long)((now_sec() - t0) * 1000);
			atomic_fetch_add(&op_ms[o], ms);
			max = atomic_load(&op_max_ms[o]);
			while (ms > max && !atomic_compare_exchange_weak(&op_max_ms[o], &max, ms))
				;
		}
	}
	return NULL;
}

/* ---- the self-check region ------------------------------------------------- */

/* Word i of generation g. */
static uint64_t check_word(size_t i, uint64_t g)
{
	return (i * 0x9E3779B97F4A7C15ULL) ^ (g << 40) ^ 0x5ca1ab1e;
}

/*
 * Rewrites the region with generation g, moves it around (MIGRATE to a
 * device or home, device faults through its own view), then reads it all
 * back by CPU: every word must be generation g's. Only this thread writes
 * it; the others reach it only through ioctls that do not change data
 * (MIGRATE, SNAPSHOT, PIN, SET_ATTR) and fork.
 */
static void *checker(void *arg)
{
	uint64_t r = (uint64_t)(uintptr_t)arg >> 8 | 1, g = 0;
	volatile uint64_t *w = (volatile uint64_t *)check_mem;
	size_t nw = CHECK_PAGES * KPAGE / 8, i;
	int cfd = kshim_open();
	char *view = cfd >= 0 ? kshim_view(cfd, 0, check_mem, CHECK_PAGES * KPAGE) : NULL;

	thread_board((int)((uintptr_t)arg & 0xff), "fuzz-checker");
	if (me)
		atomic_store(&me->op, -1);
	pthread_barrier_wait(&start_line);
	while (!stop) {
		g++;
		if (me)
			atomic_fetch_add(&me->ops, 1);
		for (i = 0; i < nw; i++)
			w[i] = check_word(i, g);
		for (int k = 0; k < 4; k++) {
			int dest = (int)below(&r, ndev + 1) - 1;

			kshim_migrate(cfd, check_mem, CHECK_PAGES * KPAGE, dest,
				      SVMSHIM_MIGRATE_DRAIN_LRU, NULL, NULL);
			if (view)	/* device faults: device 0 reads it */
				for (i = 0; i < 8; i++) {
					size_t j = below(&r, nw);
					uint64_t x = ~check_word(j, g);

					read_guarded((volatile uint64_t *)view + j, &x);
					if (x != check_word(j, g) &&
					    atomic_fetch_add(&check_bad, 1) < 5)
						printf("FUZZ: self-check: view word %zu of gen %llu is %#llx, not %#llx\n",
						       j, (unsigned long long)g, (unsigned long long)x,
						       (unsigned long long)check_word(j, g));
				}
		}
		for (i = 0; i < nw; i++)
			if (w[i] != check_word(i, g)) {
				if (atomic_fetch_add(&check_bad, 1) < 5)
					printf("FUZZ: self-check: word %zu of gen %llu is %#llx, not %#llx\n",
					       i, (unsigned long long)g, (unsigned long long)w[i],
					       (unsigned long long)check_word(i, g));
			}
		atomic_fetch_add(&check_rounds, 1);
	}
	if (view)
		munmap(view, CHECK_PAGES * KPAGE);
	if (cfd >= 0)
		close(cfd);
	return NULL;
}

/* ---- one process ------------------------------------------------------------ */

static int fuzz_process(uint64_t seed, unsigned int threads, double secs, bool first,
			unsigned int board_base)
{
	pthread_t th[64], ct;
	uint64_t r = seed | 1;
	char tmpl[] = "/tmp/svmshim-fuzz-XXXXXX";
	double t0 = now_sec();
	int i;

	my_proc = board_base / MAXT;
	catch_faults();

	/* first: no address the fuzzer plays with (the hole) can be it */
	if (first) {
		check_mem = mmap(NULL, CHECK_PAGES * KPAGE, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (check_mem == MAP_FAILED)
			return 1;
	}
	file_fd = mkstemp(tmpl);
	if (file_fd >= 0) {
		unlink(tmpl);
		if (ftruncate(file_fd, 4 * MiB))
			return 1;
	}
	guard = mmap(NULL, 2 * KPAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ro_page = mmap(NULL, KPAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	hole = mmap(NULL, 16 * KPAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (guard == MAP_FAILED || ro_page == MAP_FAILED || hole == MAP_FAILED)
		return 1;
	mprotect(guard + KPAGE, KPAGE, PROT_NONE);
	munmap(hole, 16 * KPAGE);	/* nothing there now (maybe reused later) */
	{
		void *h = mmap(NULL, 2 * MiB, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);

		hugetlb_ok = h != MAP_FAILED;
		if (hugetlb_ok)
			munmap(h, 2 * MiB);
		else if (first)
			printf("FUZZ: no hugetlb pages here: the %s slots are anonymous\n",
			       kind_names[K_HUGETLB]);
	}
	for (i = 0; i < NSLOTS; i++) {
		pthread_mutex_init(&slots[i].lock, NULL);
		slot_new(&slots[i], &r);
	}
	pthread_barrier_init(&start_line, NULL, threads + (first ? 1 : 0) + 1);
	if (first) {
		pthread_create(&ct, NULL, checker, (void *)(uintptr_t)(rnd(&r) << 8 | board_base));
	}
	for (i = 0; i < (int)threads; i++)
		pthread_create(&th[i], NULL, worker,
			       (void *)(uintptr_t)(rnd(&r) << 8 | (board_base + 1 + i)));
	pthread_barrier_wait(&start_line);
	while (now_sec() - t0 < secs)
		usleep(100000);
	stop = true;
	for (i = 0; i < (int)threads; i++)
		pthread_join(th[i], NULL);
	if (first) {
		pthread_join(ct, NULL);
		printf("FUZZ: self-check: %lu rounds, %lu bad words\n",
		       atomic_load(&check_rounds), atomic_load(&check_bad));
		if (!atomic_load(&check_rounds) || atomic_load(&check_bad))
			return 2;
	}
	{
		char line[1024];
		int n = 0;

		n += snprintf(line + n, sizeof(line) - n, "FUZZ: pid %d ops (ok/all):", getpid());
		for (i = 0; i < OP_COUNT && n < (int)sizeof(line) - 40; i++)
			if (op_on[i])
				n += snprintf(line + n, sizeof(line) - n, " %s %lu/%lu", op_names[i],
					      atomic_load(&op_ok[i]), atomic_load(&op_count[i]));
		printf("%s\n", line);
		/* where the time went: the ops that took most of it, and their longest */
		n = snprintf(line, sizeof(line), "FUZZ: pid %d time (ms total/longest):", getpid());
		for (i = 0; i < OP_COUNT && n < (int)sizeof(line) - 40; i++)
			if (op_on[i] && atomic_load(&op_ms[i]) >= 1000)
				n += snprintf(line + n, sizeof(line) - n, " %s %lu/%lu", op_names[i],
					      atomic_load(&op_ms[i]), atomic_load(&op_max_ms[i]));
		printf("%s\n", line);
	}
	return 0;
}

/*
 * -T: the fuzzer's own regression tests (no fuzzing). Node mappings made
 * from a slot mirror up to 71 pages from its start: with a slot right
 * below the self-check region, the writes through them must stay inside
 * the slot (they once changed the region's page-first words, reported as
 * lost data), and some must land there (or this tests nothing).
 */
static int self_test(void)
{
	size_t slot_pages = 8, nw = CHECK_PAGES * KPAGE / 8, changed = 0, written = 0;
	uint64_t r = 0x5eed | 1;
	char *area, *slot;
	int bad = 0;

	catch_faults();
	/* the slot, then the region right above it */
	area = mmap(NULL, (slot_pages + CHECK_PAGES) * KPAGE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED) {
		printf("FUZZ SELFTEST FAIL: mmap: %s\n", strerror(errno));
		return 1;
	}
	slot = area;
	check_mem = area + slot_pages * KPAGE;
	for (size_t i = 0; i < nw; i++)
		((uint64_t *)check_mem)[i] = check_word(i, 1);
	memset(slot, 0, slot_pages * KPAGE);
	for (int i = 0; i < NSLOTS; i++) {
		pthread_mutex_init(&slots[i].lock, NULL);
		slots[i].addr = slot;
		slots[i].len = slot_pages * KPAGE;
		slots[i].kind = K_ANON;
	}
	for (int i = 0; i < 2000; i++)
		do_mmap_node(&r);
	for (size_t i = 0; i < nw; i++)
		if (((uint64_t *)check_mem)[i] != check_word(i, 1) && bad++ < 5)
			printf("FUZZ SELFTEST: a node mapping wrote word %zu of the region\n", i);
	for (size_t i = 0; i < slot_pages * KPAGE / 8; i++)
		written += ((uint64_t *)slot)[i] != 0;
	changed = (size_t)bad;
	if (changed || !written) {
		printf("FUZZ SELFTEST FAIL: %zu words of the region changed, %zu of the slot\n",
		       changed, written);
		return 1;
	}
	printf("FUZZ SELFTEST PASS: node mappings wrote %zu words of their slot, none past it\n",
	       written);
	return 0;
}

/* ---- main -------------------------------------------------------------------- */

static int set_ops(const char *list, bool on)
{
	char buf[256], *tok, *save;

	snprintf(buf, sizeof(buf), "%s", list);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int o;

		for (o = 0; o < OP_COUNT; o++)
			if (!strcmp(tok, op_names[o]))
				break;
		if (o == OP_COUNT) {
			fprintf(stderr, "svmshim-fuzz: unknown operation %s\n", tok);
			return -1;
		}
		op_on[o] = on;
	}
	return 0;
}

static long task_minflt(pid_t pid, int t)
{
	char path[128], buf[1024], *q;
	long v = -1;
	ssize_t n;
	int f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", pid, t);
	f = open(path, O_RDONLY);
	if (f < 0)
		return -1;
	n = read(f, buf, sizeof(buf) - 1);
	close(f);
	buf[n > 0 ? n : 0] = 0;
	q = strrchr(buf, ')');
	/* after ")": state ppid pgrp session tty tpgid flags minflt */
	if (q && sscanf(q + 2, "%*c %*d %*d %*d %*d %*d %*u %ld", &v) != 1)
		v = -1;
	return v;
}

/* The line of /proc/@pid/maps that holds @addr. */
static void dump_map(pid_t pid, uint64_t addr)
{
	char path[64], line[512];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long long lo, hi;

		if (sscanf(line, "%llx-%llx", &lo, &hi) == 2 && addr >= lo && addr < hi) {
			printf("FUZZ:   mapped there: %s", line);
			break;
		}
	}
	if (f)
		fclose(f);
}

/* What thread @t of process @p was doing, from the board. */
static void dump_board(pid_t pid, unsigned int p, int t)
{
	for (int i = 0; board && i < MAXT; i++) {
		struct tstatus *b = &board[0][0] + p * MAXT + i;
		int op = atomic_load(&b->op);

		if (atomic_load(&b->tid) != t)
			continue;
		printf("FUZZ:   %s, %llu ops, last address %#llx (+%#llx)\n",
		       op < 0 ? "the checker" : op < OP_COUNT ? op_names[op] : "?",
		       (unsigned long long)atomic_load(&b->ops),
		       (unsigned long long)atomic_load(&b->addr),
		       (unsigned long long)atomic_load(&b->len));
		dump_map(pid, atomic_load(&b->addr));
	}
}

/* Prints the kernel stacks of @pid's threads (a hang's evidence). */
static void dump_stacks(pid_t pid, unsigned int p)
{
	char path[128], buf[4096];
	struct dirent *de;
	ssize_t n;
	DIR *d;
	int f;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	while (d && (de = readdir(d))) {
		int t = atoi(de->d_name);

		if (t <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%d/stack", pid, t);
		f = open(path, O_RDONLY);
		if (f >= 0) {
			n = read(f, buf, sizeof(buf) - 1);
			close(f);
			buf[n > 0 ? n : 0] = 0;
		} else {	/* root only */
			snprintf(buf, sizeof(buf), "(kernel stack not readable: %s)\n",
				 strerror(errno));
		}
		printf("FUZZ: hung task %d/%d:\n%s", pid, t, buf);
		dump_board(pid, p, t);
		snprintf(path, sizeof(path), "/proc/%d/task/%d/syscall", pid, t);
		f = open(path, O_RDONLY);
		if (f >= 0) {
			n = read(f, buf, sizeof(buf) - 1);
			close(f);
			buf[n > 0 ? n : 0] = 0;
			printf("FUZZ:   syscall (nr or -1, sp, pc): %s", buf);
		}
		{
			long f0 = task_minflt(pid, t), f1;

			usleep(1000000);
			f1 = task_minflt(pid, t);
			printf("FUZZ:   minor faults: %ld in 1 s\n", f1 - f0);
		}
	}
	if (d)
		closedir(d);
}

int main(int argc, char **argv)
{
	unsigned int procs = 2, threads = 3;
	uint64_t seed = 0;
	double secs = 30;
	gid_t gid = 0;
	bool unpriv = false, self_test_only = false;
	int c, f, failed = 0;
	struct drm_svmshim_get_info info;
	pid_t pids[16];

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int o = 0; o < OP_COUNT; o++)
		op_on[o] = true;
	while ((c = getopt(argc, argv, "t:s:p:j:x:i:u:lT")) != -1) {
		switch (c) {
		case 't': secs = atof(optarg); break;
		case 's': seed = strtoull(optarg, NULL, 0); break;
		case 'p': procs = (unsigned int)atoi(optarg); break;
		case 'j': threads = (unsigned int)atoi(optarg); break;
		case 'x': if (set_ops(optarg, false)) return 2; break;
		case 'i': if (set_ops(optarg, true)) return 2; break;
		case 'u': gid = (gid_t)atoi(optarg); unpriv = true; break;
		case 'T':
			self_test_only = true;
			break;
		case 'l':
			for (int o = 0; o < OP_COUNT; o++)
				printf("%s%s\n", op_names[o], op_on[o] ? "" : " (off by default)");
			return 0;
		default:
			fprintf(stderr, "usage: %s [-t s] [-s seed] [-p procs] [-j threads] "
				"[-x ops] [-i ops] [-u gid] [-l] [-T]\n", argv[0]);
			return 2;
		}
	}
	if (procs < 1 || procs > 16 || threads < 1 || threads > 64)
		return 2;
	if (!seed) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		seed = ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)ts.tv_nsec ^ (uint64_t)getpid();
	}
	if (!self_test_only)
		printf("FUZZ: seed %llu (replay: -s %llu), %.0f s, %u processes x %u threads%s\n",
		       (unsigned long long)seed, (unsigned long long)seed, secs, procs, threads,
		       unpriv ? ", unprivileged" : "");
	if (!self_test_only) {
		char line[512];
		int n = snprintf(line, sizeof(line), "FUZZ: left out:");

		for (int o = 0; o < OP_COUNT; o++)
			if (!op_on[o])
				n += snprintf(line + n, sizeof(line) - n, " %s", op_names[o]);
		printf("%s\n", line);
	}

	f = kshim_open();
	if (f < 0) {
		printf("FUZZ FAIL: no svmshim render node\n");
		return 1;
	}
	{
		struct stat st;

		for (int minor = 128; minor < 192; minor++) {
			struct stat me;

			snprintf(node_path, sizeof(node_path), "/dev/dri/renderD%d", minor);
			if (!stat(node_path, &st) && !fstat(f, &me) && st.st_rdev == me.st_rdev)
				break;
		}
	}
	if (kshim_info(f, 0, &info) == 0)
		ndev = info.device_count;
	if (self_test_only) {
		atomic_store(&shim_fd, f);
		return self_test();
	}
	close(f);
	if (unpriv) {
		struct rlimit rl = { 256 * KPAGE, 256 * KPAGE };

		if (setrlimit(RLIMIT_MEMLOCK, &rl) || setgroups(1, &gid) ||
		    setgid(65534) || setuid(65534)) {
			printf("FUZZ FAIL: cannot drop privileges: %s\n", strerror(errno));
			return 1;
		}
	}
	f = open(node_path, O_RDWR | O_CLOEXEC);
	if (f < 0) {
		printf("FUZZ FAIL: open %s: %s\n", node_path, strerror(errno));
		return 1;
	}
	atomic_store(&shim_fd, f);
	board = mmap(NULL, sizeof(*board) * procs, PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (board == MAP_FAILED)
		board = NULL;

	for (unsigned int p = 0; p < procs; p++) {
		pids[p] = fork();
		if (pids[p] == 0)
			_exit(fuzz_process(seed + 0x1000 * p, threads, secs, p == 0, p * MAXT));
	}
	for (unsigned int p = 0; p < procs; p++) {
		double t0 = now_sec();
		int status = 0;

		if (pids[p] < 0) {
			failed = 1;
			continue;
		}
		/* the run, then 60 s for the last calls and the exit */
		while (waitpid(pids[p], &status, WNOHANG) != pids[p]) {
			if (now_sec() - t0 > secs + 60) {
				printf("FUZZ: process %d did not end 60 s after the run\n", pids[p]);
				dump_stacks(pids[p], p);
				kill(pids[p], SIGKILL);
				for (int k = 0; k < 100; k++) {
					if (waitpid(pids[p], &status, WNOHANG) == pids[p])
						break;
					usleep(100000);
				}
				failed = 1;
				break;
			}
			usleep(100000);
		}
		if (WIFSIGNALED(status) && WTERMSIG(status) != SIGKILL) {
			printf("FUZZ: process %d killed by signal %d\n", pids[p], WTERMSIG(status));
			failed = 1;
		} else if (WIFEXITED(status) && WEXITSTATUS(status)) {
			printf("FUZZ: process %d exit %d%s\n", pids[p], WEXITSTATUS(status),
			       WEXITSTATUS(status) == 2 ? " (self-check)" : "");
			failed = 1;
		}
	}
	close(atomic_load(&shim_fd));
	if (!unpriv && op_on[OP_INJECT])
		kshim_param_set("inject_class", 0);
	if (failed) {
		printf("FUZZ FAIL: seed %llu\n", (unsigned long long)seed);
		return 1;
	}
	printf("FUZZ PASS\n");
	return 0;
}
