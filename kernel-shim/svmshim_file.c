// SPDX-License-Identifier: GPL-2.0
/*
 * svmshim_file.c - what a file keeps besides its views and pins: range
 * attributes (SET_ATTR) and the event ring (EVENTS).
 *
 * Both the migration side (svmshim_dmem.c: events, eviction's preference
 * lookups) and the view side (svmshim_view.c: a device fault's attributes
 * and events) use these; they live here so that neither of those two files
 * calls the other back: svmshim_view.c calls into svmshim_dmem.c (a device
 * fault migrates), and both call into this file, which calls neither.
 */
#include <linux/ktime.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>

#include "svmshim_priv.h"

#define SVM_MAX_ATTRS		65536

/* ---- events ------------------------------------------------------------- */

static void svm_event_put(struct svm_file *sf, u16 type, u16 class,
			  s32 device, unsigned long addr, u64 pages,
			  u32 flags, u64 duration_ns, u32 prefetched)
{
	struct svm_events *e = &sf->events;
	struct drm_svmshim_event *ev;
	unsigned long irqflags;

	spin_lock_irqsave(&e->lock, irqflags);
	if (e->count == SVMSHIM_EVENT_RING) {
		e->dropped++;
	} else {
		ev = &e->ev[(e->head + e->count) % SVMSHIM_EVENT_RING];
		e->count++;
		ev->time_ns = ktime_get_ns();
		ev->duration_ns = duration_ns;
		ev->addr = addr;
		ev->pages = pages;
		ev->type = type;
		ev->class = class;
		ev->device = device;
		ev->flags = flags;
		ev->prefetched = prefetched;
	}
	spin_unlock_irqrestore(&e->lock, irqflags);
}

void svm_event(struct svm_file *sf, u16 type, u16 class, s32 device,
	       unsigned long addr, u64 pages, u32 flags, u64 duration_ns)
{
	svm_event_put(sf, type, class, device, addr, pages, flags,
		      duration_ns, 0);
}

/* EVICT: @pages left @device, @prefetched of them the file's bets. */
void svm_event_evict(struct svm_file *sf, s32 device, unsigned long addr,
		     u64 pages, u32 prefetched, u32 flags)
{
	svm_event_put(sf, SVMSHIM_EVENT_EVICT, 0, device, addr, pages, flags,
		      0, prefetched);
}

int svm_events_read(struct svm_file *sf, struct drm_svmshim_events *a)
{
	struct drm_svmshim_event __user *out = u64_to_user_ptr(a->events);
	struct svm_events *e = &sf->events;
	struct drm_svmshim_event *buf;
	unsigned int i, n;
	u64 dropped;

	if (!a->capacity || !a->events)
		return -EINVAL;
	n = min_t(u32, a->capacity, SVMSHIM_EVENT_RING);
	buf = kvmalloc_array(n, sizeof(*buf), GFP_KERNEL_ACCOUNT);
	if (!buf)
		return -ENOMEM;

	spin_lock_irq(&e->lock);
	n = min(n, e->count);
	for (i = 0; i < n; i++)
		buf[i] = e->ev[(e->head + i) % SVMSHIM_EVENT_RING];
	e->head = (e->head + n) % SVMSHIM_EVENT_RING;
	e->count -= n;
	dropped = e->dropped;
	e->dropped = 0;
	spin_unlock_irq(&e->lock);

	a->count = n;
	a->dropped = dropped;
	if (n && copy_to_user(out, buf, n * sizeof(*buf))) {
		/* Taken out of the ring but not delivered: say so. */
		spin_lock_irq(&e->lock);
		e->dropped += n + dropped;
		spin_unlock_irq(&e->lock);
		kvfree(buf);
		return -EFAULT;
	}
	kvfree(buf);
	return 0;
}

/* ---- attributes --------------------------------------------------------- */

static void svm_attr_default(struct svm_attr *a, unsigned long addr)
{
	*a = (struct svm_attr) {
		.start = addr & PAGE_MASK,
		.end = (addr & PAGE_MASK) + PAGE_SIZE,
		.preferred = SVMSHIM_LOC_NONE,
		.granularity = PAGE_SIZE,
		.backoff_us = SVM_RETRY_PAUSE_US,
		.backoff_max_us = SVM_RETRY_PAUSE_MAX_US,
	};
}

/*
 * The records are disjoint, so ordered by start they are ordered by end
 * too: the first record that ends after @addr holds @addr or is the next
 * one. NULL if none; attr_lock held.
 */
static struct svm_attr_node *svm_attr_after(struct svm_file *sf,
					    unsigned long addr)
{
	struct rb_node *n = sf->attrs.rb_node;
	struct svm_attr_node *an, *best = NULL;

	while (n) {
		an = rb_entry(n, struct svm_attr_node, rb);
		if (an->a.end > addr) {
			best = an;
			n = n->rb_left;
		} else {
			n = n->rb_right;
		}
	}
	return best;
}

/* The record holding @addr, or NULL; attr_lock held. */
static struct svm_attr_node *svm_attr_find(struct svm_file *sf,
					   unsigned long addr)
{
	struct svm_attr_node *an = svm_attr_after(sf, addr);

	return an && an->a.start <= addr ? an : NULL;
}

static void svm_attr_insert(struct svm_file *sf, struct svm_attr_node *fresh)
{
	struct rb_node **link = &sf->attrs.rb_node, *parent = NULL;

	while (*link) {
		parent = *link;
		if (fresh->a.start < rb_entry(parent, struct svm_attr_node,
					      rb)->a.start)
			link = &parent->rb_left;
		else
			link = &parent->rb_right;
	}
	rb_link_node(&fresh->rb, parent, link);
	rb_insert_color(&fresh->rb, &sf->attrs);
	sf->nr_attrs++;
}

/* The attributes of the page at @addr (a copy). */
void svm_attr_get(struct svm_file *sf, unsigned long addr,
			 struct svm_attr *out)
{
	struct svm_attr_node *an;

	svm_attr_default(out, addr);
	spin_lock(&sf->attr_lock);
	an = svm_attr_find(sf, addr);
	if (an)
		*out = an->a;
	spin_unlock(&sf->attr_lock);
}

/*
 * Does @sf prefer device @dev for the page at @addr? For eviction, under
 * the device's spinlock (attr_lock is a spinlock for this); a tree lookup,
 * so the eviction's walk does not grow with the number of records.
 */
bool svm_attr_prefers(struct svm_file *sf, unsigned long addr, unsigned int dev)
{
	struct svm_attr_node *an;
	bool ret;

	spin_lock(&sf->attr_lock);
	an = svm_attr_find(sf, addr);
	ret = an && an->a.preferred == (s32)dev;
	spin_unlock(&sf->attr_lock);
	return ret;
}

static struct svm_thrash_slot *svm_thrash_slot(struct svm_file *sf,
					       unsigned long addr);

/*
 * New attributes start a new history: the host pages of [start, end)
 * forget theirs (the runtime sets a new allocation's attributes, and an
 * address freed and given out again is another page). At most one pass
 * over the table.
 */
static void svm_thrash_forget(struct svm_file *sf, unsigned long start,
			      unsigned long end)
{
	unsigned long a, i, first = start >> PAGE_SHIFT, last = end >> PAGE_SHIFT;
	struct svm_thrash_slot *tab = READ_ONCE(sf->thrash), *s;

	if (!tab)
		return;
	spin_lock(&sf->thrash_lock);
	if (last - first >= SVMSHIM_THRASH_SLOTS) {
		for (i = 0; i < SVMSHIM_THRASH_SLOTS; i++)
			if (tab[i].idx > first && tab[i].idx <= last)
				tab[i].idx = 0;
	} else {
		for (a = start; a < end; a += PAGE_SIZE) {
			s = svm_thrash_slot(sf, a);
			if (s->idx == (a >> PAGE_SHIFT) + 1)
				s->idx = 0;
		}
	}
	spin_unlock(&sf->thrash_lock);
}

int svm_set_attr(struct svm_file *sf, const struct drm_svmshim_attr *args)
{
	unsigned long start = args->start, end = args->start + args->length;
	struct svm_attr_node *an, *next, *fresh, *split;
	struct rb_node *rb;

	fresh = kzalloc(sizeof(*fresh), GFP_KERNEL_ACCOUNT);
	split = kzalloc(sizeof(*split), GFP_KERNEL_ACCOUNT);
	if (!fresh || !split) {
		kfree(fresh);
		kfree(split);
		return -ENOMEM;
	}
	fresh->a = (struct svm_attr) {
		.start = start,
		.end = end,
		.flags = args->flags,
		.preferred = args->preferred,
		.accessed_by = args->accessed_by,
		.granularity = args->granularity ? args->granularity : PAGE_SIZE,
		.rounds = args->fault_retry_rounds,
		.budget_us = args->fault_budget_us,
		.backoff_us = SVM_RETRY_PAUSE_US,
		.backoff_max_us = SVM_RETRY_PAUSE_MAX_US,
	};
	if (args->flags & SVMSHIM_ATTR_FAULT_BACKOFF) {
		fresh->a.backoff_us = args->fault_backoff_us;
		fresh->a.backoff_max_us = args->fault_backoff_max_us;
	}
	if (args->flags & SVMSHIM_ATTR_PREFETCH_DENSITY) {
		fresh->a.prefetch_pct = args->prefetch_threshold;
		fresh->a.prefetch_max = args->prefetch_max;
	}
	if (args->flags & SVMSHIM_ATTR_THRASH) {
		fresh->a.thrash_window_us = args->thrash_window_us;
		fresh->a.thrash_threshold = args->thrash_threshold;
		fresh->a.thrash_hold_ms = args->thrash_hold_ms;
		if (!READ_ONCE(sf->thrash)) {
			struct svm_thrash_slot *t;

			t = kvcalloc(SVMSHIM_THRASH_SLOTS, sizeof(*t),
				     GFP_KERNEL_ACCOUNT);
			if (!t) {
				kfree(fresh);
				kfree(split);
				return -ENOMEM;
			}
			spin_lock(&sf->thrash_lock);
			if (!sf->thrash) {
				WRITE_ONCE(sf->thrash, t);
				t = NULL;
			}
			spin_unlock(&sf->thrash_lock);
			kvfree(t);
		}
	}

	spin_lock(&sf->attr_lock);
	if (sf->nr_attrs + 2 > SVM_MAX_ATTRS) {
		spin_unlock(&sf->attr_lock);
		kfree(fresh);
		kfree(split);
		return -ENOSPC;
	}
	/*
	 * Cut [start, end) out of what is there (shortening a record keeps
	 * the order: they are disjoint), then insert. O(log n) plus the
	 * records that go.
	 */
	for (an = svm_attr_after(sf, start); an && an->a.start < end;
	     an = next) {
		rb = rb_next(&an->rb);
		next = rb ? rb_entry(rb, struct svm_attr_node, rb) : NULL;
		if (an->a.start < start && an->a.end > end) {
			/* Covers both sides: keep a head and a tail. */
			split->a = an->a;
			split->a.start = end;
			an->a.end = start;
			svm_attr_insert(sf, split);
			split = NULL;
			break;
		}
		if (an->a.start < start) {
			an->a.end = start;
		} else if (an->a.end > end) {
			an->a.start = end;
			break;
		} else {
			rb_erase(&an->rb, &sf->attrs);
			sf->nr_attrs--;
			kfree(an);
		}
	}
	svm_attr_insert(sf, fresh);
	spin_unlock(&sf->attr_lock);
	kfree(split);
	svm_thrash_forget(sf, start, end);
	return 0;
}

/* ---- density counts ------------------------------------------------------ */

/*
 * Entries for the 2 MiB pieces of [start, end), before pages move there
 * (nothing locked; may sleep). A file at SVM_MAX_DENS entries counts no
 * new piece: its pages read as absent, so the prefetcher brings less,
 * never wrong data.
 */
void svm_dens_prepare(struct svm_file *sf, unsigned long start,
		      unsigned long end)
{
	unsigned long i;
	struct svm_dens *d;

	for (i = start >> SVM_DENS_SHIFT; i <= (end - 1) >> SVM_DENS_SHIFT; i++) {
		if (xa_load(&sf->dens, i))
			continue;
		if (atomic_inc_return(&sf->nr_dens) > SVM_MAX_DENS) {
			atomic_dec(&sf->nr_dens);
			return;
		}
		d = kzalloc(sizeof(*d), GFP_KERNEL_ACCOUNT);
		if (d)
			d->moves = SVM_DENS_MOVES(SVMSHIM_LOC_NONE, 0);
		if (!d || xa_insert(&sf->dens, i, d, GFP_KERNEL_ACCOUNT)) {
			/* No memory, or another move made it meanwhile. */
			kfree(d);
			atomic_dec(&sf->nr_dens);
		}
	}
}

/*
 * A page this file moved to device @dev arrived at @addr (+1) or left
 * (-1); under that device's lock (any context: a lookup only).
 */
void svm_dens_add(struct svm_file *sf, unsigned long addr, unsigned int dev,
		  int delta)
{
	struct svm_dens *d = xa_load(&sf->dens, addr >> SVM_DENS_SHIFT);
	u32 n;

	if (!d)
		return;
	n = d->n[dev];
	if (delta < 0 && !n)
		return;		/* counted before its entry existed */
	WRITE_ONCE(d->n[dev], n + delta);
}

/* Pages of @dev in the 2 MiB piece holding @addr (a racy read: a hint). */
unsigned long svm_dens_get(struct svm_file *sf, unsigned long addr,
			   unsigned int dev)
{
	struct svm_dens *d = xa_load(&sf->dens, addr >> SVM_DENS_SHIFT);

	return d ? min_t(unsigned long, READ_ONCE(d->n[dev]), SVM_DENS_PAGES) : 0;
}

/*
 * @pages pages of the 2 MiB piece holding @addr moved to @loc (a device
 * index or SVMSHIM_LOC_HOST) from another location, with their data: a
 * first touch or a discard is no move. A move the other way than the
 * piece's latest starts the count again. Any context (a lookup and a
 * spinlock); callers hold a device's lock or none.
 */
void svm_dens_moved(struct svm_file *sf, unsigned long addr, int loc,
		    unsigned long pages)
{
	struct svm_dens *d = xa_load(&sf->dens, addr >> SVM_DENS_SHIFT);
	unsigned long arrived = 0;
	u32 m;

	if (!d || !pages)
		return;
	spin_lock(&sf->dens_lock);
	m = d->moves;
	if (SVM_DENS_TO(m) == loc)
		arrived = SVM_DENS_ARRIVED(m);
	arrived = min_t(unsigned long, arrived + pages, SVM_DENS_ARRIVED_MAX);
	WRITE_ONCE(d->moves, SVM_DENS_MOVES(loc, arrived));
	spin_unlock(&sf->dens_lock);
}

/*
 * Pages that arrived on @dev in the 2 MiB piece holding @addr since a
 * move there last went elsewhere (0 if the latest went elsewhere); at
 * most a piece. A racy read: a hint.
 */
unsigned long svm_dens_arrived(struct svm_file *sf, unsigned long addr,
			       unsigned int dev)
{
	struct svm_dens *d = xa_load(&sf->dens, addr >> SVM_DENS_SHIFT);
	u32 m;

	if (!d)
		return 0;
	m = READ_ONCE(d->moves);
	if (SVM_DENS_TO(m) != (int)dev)
		return 0;
	return min_t(unsigned long, SVM_DENS_ARRIVED(m), SVM_DENS_PAGES);
}

/* ---- thrashing holds ------------------------------------------------------ */

#define SVM_HOLD_LEVEL_MAX	5	/* a hold doubles at most this often */

/*
 * A fault moved the page whose history is @t (attributes @a) at @now.
 * Returns true when this move puts it on hold. As the runtime's
 * policy/thrash.c: a move within the window of the last is a thrash
 * event; @thrash_threshold of them in a row hold the page; the first move
 * after a hold says nothing, and if the second is a thrash event the page
 * is held again at once, twice as long; a move outside the window ends it.
 * Moves of a page while it is held (CPU faults) only count.
 */
bool svm_thrash_note(struct svm_thrash *t, const struct svm_attr *a, u64 now)
{
	bool thrash = t->last_ns &&
		      now - t->last_ns < (u64)a->thrash_window_us * NSEC_PER_USEC;

	t->last_ns = now;
	if (!a->thrash_threshold)
		return false;
	/*
	 * The first move after a hold: the page did not move while held, so
	 * this says nothing (the runtime's window is shorter than its holds;
	 * here a window may be longer, hence the test comes first).
	 */
	if (t->rehold == 2) {
		t->rehold = 1;
		return false;
	}
	if (!thrash) {
		t->run = 0;
		t->rehold = 0;
		t->level = 0;
		return false;
	}
	if (t->run < SVMSHIM_MAX_THRASH_THRESHOLD)
		t->run++;
	if (t->held || (t->run < a->thrash_threshold && !t->rehold))
		return false;
	if (t->rehold && t->level < SVM_HOLD_LEVEL_MAX)
		t->level++;
	else if (!t->rehold)
		t->level = 0;
	t->held = 1;
	t->run = 0;
	t->rehold = 0;
	t->until_ns = now + ((u64)a->thrash_hold_ms * NSEC_PER_MSEC << t->level);
	return true;
}

static struct svm_thrash_slot *svm_thrash_slot(struct svm_file *sf,
					       unsigned long addr)
{
	struct svm_thrash_slot *tab = READ_ONCE(sf->thrash);

	return tab ? &tab[(addr >> PAGE_SHIFT) % SVMSHIM_THRASH_SLOTS] : NULL;
}

/*
 * Is the host page at @addr on hold at @now? A hold that ran out is ended
 * here (the page may move again) and told by an EVENT_HOLD of class 1
 * (device @dev: the one whose fault found it).
 */
bool svm_thrash_held(struct svm_file *sf, unsigned long addr, s32 dev, u64 now)
{
	struct svm_thrash_slot *s = svm_thrash_slot(sf, addr);
	bool held = false, ended = false;

	if (!s)
		return false;
	spin_lock(&sf->thrash_lock);
	if (s->idx == (addr >> PAGE_SHIFT) + 1 && s->t.held) {
		if ((s64)(s->t.until_ns - now) > 0) {
			held = true;
		} else {
			s->t.held = 0;
			s->t.rehold = 2;
			ended = true;
		}
	}
	spin_unlock(&sf->thrash_lock);
	if (ended)
		svm_event(sf, SVMSHIM_EVENT_HOLD, 1, dev, addr & PAGE_MASK, 1,
			  SVMSHIM_EVENT_BY_FAULT, 0);
	return held;
}

/* The history of the host page at @addr, taken out of the table (or none). */
void svm_thrash_take(struct svm_file *sf, unsigned long addr,
		     struct svm_thrash *out)
{
	struct svm_thrash_slot *s = svm_thrash_slot(sf, addr);

	memset(out, 0, sizeof(*out));
	if (!s)
		return;
	spin_lock(&sf->thrash_lock);
	if (s->idx == (addr >> PAGE_SHIFT) + 1) {
		*out = s->t;
		s->idx = 0;
	}
	spin_unlock(&sf->thrash_lock);
}

/* The page at @addr came home with history @t: remember it. */
void svm_thrash_put(struct svm_file *sf, unsigned long addr,
		    const struct svm_thrash *t)
{
	struct svm_thrash_slot *s = svm_thrash_slot(sf, addr);

	if (!s)
		return;
	spin_lock(&sf->thrash_lock);
	s->idx = (addr >> PAGE_SHIFT) + 1;
	s->t = *t;
	spin_unlock(&sf->thrash_lock);
}

/* ---- per file ------------------------------------------------------------ */

int svm_file_view_init(struct svm_file *sf)
{
	sf->attrs = RB_ROOT;
	spin_lock_init(&sf->attr_lock);
	spin_lock_init(&sf->events.lock);
	xa_init(&sf->dens);
	spin_lock_init(&sf->thrash_lock);
	spin_lock_init(&sf->dens_lock);
	atomic_set(&sf->nr_dens, 0);
	sf->events.ev = kvcalloc(SVMSHIM_EVENT_RING, sizeof(*sf->events.ev),
				 GFP_KERNEL_ACCOUNT);
	if (!sf->events.ev)
		return -ENOMEM;
	return 0;
}

/* Postclose: every view is gone already (a view's VMA holds the file). */
void svm_file_view_fini(struct svm_file *sf)
{
	struct svm_attr_node *an, *tmp;
	struct svm_dens *d;
	unsigned long i;

	rbtree_postorder_for_each_entry_safe(an, tmp, &sf->attrs, rb)
		kfree(an);
	sf->attrs = RB_ROOT;
	kvfree(sf->events.ev);
	/* No device page names this file as its owner any more. */
	xa_for_each(&sf->dens, i, d)
		kfree(d);
	xa_destroy(&sf->dens);
	kvfree(sf->thrash);
}
