/*
 * as.c - the address-space layer (paper §4.1.2, §9.1, Appendix A).
 *
 * An address space keeps its regions in address order (§9.1 uses a sorted
 * list) in a B+ tree on the start address (libvm/as/rtree.c: O(log n) lookup
 * touching few cache lines even with a million regions), with a hint to
 * the region found last.  Walks go from a region to the one with the next
 * start address, so adding or removing a region writes nothing of its
 * neighbours.  Each
 * region has a subregion map: sorted runs of pages with the same rights and
 * lock state, covering the region.
 *
 * Locks: as->lock (a read-write lock).  Faults take it for reading; map,
 * unmap and attribute changes for writing.  It is never held across a
 * pager call or an event handler: the fault path enters translations under
 * it (and the cache lock) only when the page is already resident, and
 * otherwise drops it, has the cache layer bring the page in, and retries.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#if defined(__linux__)
#include <linux/membarrier.h>
#include <sys/syscall.h>
#endif

#include "as/rtree.h"
#include "vmm/vm_int.h"

/* ------------------------------------------------------------------ */
/* Calls in progress (spring_as_destroy waits for them).                */

/*
 * spring_as_destroy marks the space dying, waits until no call on it is in
 * progress, and only then takes it apart.  Every public call enters
 * (as_enter) before it touches the space and leaves (as_leave) when it
 * returns; one that finds the space dying leaves at once and fails with
 * SPRING_EDESTROYED.  Nothing here makes a call that begins after destroy
 * returned safe: the space is freed memory then (as.h says so).
 *
 * The hot calls (a read, a write or a translation that hits in the HAT)
 * must not pay for this with an atomic read-modify-write on a line every
 * thread of the space shares.  So a thread's outermost call is recorded in
 * the thread's own record (`in`, a hazard pointer) with a plain store, and
 * destroy finds it by scanning the records.  The reader's store of `in`
 * then load of `dying`, against destroy's store of `dying` then scan, is
 * Dekker's pattern: each side needs a full fence between its store and its
 * load.  membarrier(2) (MEMBARRIER_CMD_PRIVATE_EXPEDITED) makes every
 * running thread of the process execute one, so destroy issues it and the
 * reader only keeps the compiler from reordering.  Where membarrier is
 * missing (an old kernel, valgrind) threads get no record: every call is
 * counted, as below.
 *
 * A call a thread makes while it is in one already (from a pager method,
 * an event handler or a HAT fault upcall) is counted in the space's `busy`
 * instead: the record holds one space.  So is every call of a thread whose
 * record could not be allocated.  The record also lists the spaces of the
 * thread's counted calls (AS_NEST_MAX of them), so that a destroy from
 * inside a call on the same space is refused instead of waiting for itself.
 *
 * Records live on one process-wide list (threads_lock, a leaf); a thread
 * gets one at its first call and gives it back when it exits.
 */

#define AS_NEST_MAX 4

struct as_thread {
    _Atomic(spring_as_t *) in;        /* [a] the space of the thread's outermost call, or NULL */
    spring_as_t *nested[AS_NEST_MAX]; /* its own thread only: the spaces of its counted calls */
    unsigned nnested;                 /* its own thread only */
    LIST_ENTRY(as_thread) link;       /* [threads_lock] */
};

/* How a call was entered (struct vm_as_call.how). */
enum { CALL_NONE, CALL_RECORDED, CALL_COUNTED, CALL_COUNTED_LISTED };

static _Thread_local struct as_thread *tl_thread __attribute__((tls_model("initial-exec")));
static vm_mutex_t threads_lock = VM_MUTEX_INITIALIZER(VM_RANK_AS_THREADS);
static LIST_HEAD(, as_thread) threads = LIST_HEAD_INITIALIZER(threads);
static pthread_once_t threads_once = PTHREAD_ONCE_INIT;
static pthread_key_t threads_key;
static bool threads_key_ok;  /* [c after threads_once] */
static bool use_membarrier;  /* [c after threads_once] destroy fences for the readers; records exist */

/* A thread exits: its record goes (it is in no call). */
static void thread_exit(void *p)
{
    struct as_thread *t = p;
    vm_lock(&threads_lock);
    LIST_REMOVE(t, link);
    vm_unlock(&threads_lock);
    free(t);
    tl_thread = NULL;
}

static void threads_init(void)
{
    threads_key_ok = pthread_key_create(&threads_key, thread_exit) == 0;
#if defined(__linux__) && defined(__NR_membarrier)
    use_membarrier = syscall(__NR_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
#endif
}

/* The calling thread's record, made now; NULL if it cannot be (or if
 * membarrier is missing: every call is counted then). */
static struct as_thread *thread_record(void)
{
    pthread_once(&threads_once, threads_init);
    struct as_thread *t;
    if (!use_membarrier || !threads_key_ok || (t = calloc(1, sizeof *t)) == NULL)
        return NULL;
    if (pthread_setspecific(threads_key, t) != 0) {
        free(t);
        return NULL;
    }
    vm_lock(&threads_lock);
    LIST_INSERT_HEAD(&threads, t, link);
    vm_unlock(&threads_lock);
    tl_thread = t;
    return t;
}

/* Record the thread's outermost call.  => t is the thread's, t->in NULL. */
static inline void record_call(struct as_thread *t, spring_as_t *as)
{
    atomic_store_explicit(&t->in, as, memory_order_relaxed);
    atomic_signal_fence(memory_order_seq_cst); /* destroy's membarrier is the fence */
}

/* as_enter's other cases: a first call of the thread, a nested call. */
static __attribute__((noinline)) void as_enter_slow(spring_as_t *as, struct vm_as_call *c)
{
    struct as_thread *t = tl_thread;
    if (t == NULL)
        t = thread_record();
    if (t != NULL && atomic_load_explicit(&t->in, memory_order_relaxed) == NULL) {
        record_call(t, as);
        c->rec = t;
        c->how = CALL_RECORDED;
        return;
    }
    atomic_fetch_add(&as->busy, 1); /* then as_enter reads dying: seq_cst, against destroy */
    c->how = CALL_COUNTED;
    if (t != NULL && t->nnested < AS_NEST_MAX) {
        t->nested[t->nnested++] = as;
        c->rec = t;
        c->how = CALL_COUNTED_LISTED;
    }
}

static __attribute__((noinline)) void as_leave_counted(struct vm_as_call *c)
{
    if (c->how == CALL_COUNTED_LISTED)
        ((struct as_thread *)c->rec)->nnested--;
    atomic_fetch_sub_explicit(&c->as->busy, 1, memory_order_release);
}

/* Leave the call c entered (nothing if it entered none).  Afterwards the
 * space may be freed at any time. */
static inline void as_leave(struct vm_as_call *c)
{
    if (__builtin_expect(c->how == CALL_RECORDED, 1))
        atomic_store_explicit(&((struct as_thread *)c->rec)->in, NULL, memory_order_release);
    else if (c->how != CALL_NONE)
        as_leave_counted(c);
    c->how = CALL_NONE;
}

/* Enter a call on as.  False (and nothing entered) if as is being
 * destroyed.  => no lock held. */
static inline bool as_enter(spring_as_t *as, struct vm_as_call *c)
{
    spring__assert_no_locks("as_enter");
    c->as = as;
    struct as_thread *t = tl_thread;
    if (__builtin_expect(t != NULL && atomic_load_explicit(&t->in, memory_order_relaxed) == NULL, 1)) {
        record_call(t, as);
        c->rec = t;
        c->how = CALL_RECORDED;
    } else {
        as_enter_slow(as, c);
    }
    if (__builtin_expect(!atomic_load(&as->dying), 1))
        return true;
    as_leave(c);
    return false;
}

bool spring__as_enter(spring_as_t *as, struct vm_as_call *c)
{
    return as_enter(as, c);
}

void spring__as_leave(struct vm_as_call *c)
{
    as_leave(c);
}

/* Whether the calling thread is inside a call on as. */
static bool in_call_here(const spring_as_t *as)
{
    const struct as_thread *t = tl_thread;
    if (t == NULL)
        return false;
    if (atomic_load_explicit(&t->in, memory_order_relaxed) == as)
        return true;
    for (unsigned i = 0; i < t->nnested; i++)
        if (t->nested[i] == as)
            return true;
    return false;
}

/* Whether some thread's record shows a call on as in progress. */
static bool recorded_anywhere(const spring_as_t *as)
{
    bool found = false;
    vm_lock(&threads_lock);
    const struct as_thread *t;
    LIST_FOREACH(t, &threads, link)
        if (atomic_load(&t->in) == as) {
            found = true;
            break;
        }
    vm_unlock(&threads_lock);
    return found;
}

/* Wait until no call on as is in progress.  => as->dying set; no lock
 * held.  Calls in progress can wait for pagers, so the wait polls, backing
 * off to a millisecond. */
static void wait_for_calls(spring_as_t *as)
{
    pthread_once(&threads_once, threads_init);
#if defined(__linux__) && defined(__NR_membarrier)
    if (use_membarrier)
        while (syscall(__NR_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) != 0 && errno == EINTR)
            continue;
#endif
    for (unsigned spins = 0; atomic_load(&as->busy) != 0 || recorded_anywhere(as); spins++) {
        if (spins < 16) {
            sched_yield();
        } else {
            long us = spins < 16 + 10 ? 1L << (spins - 16) : 1000;
            struct timespec ts = {0, us * 1000};
            nanosleep(&ts, NULL);
        }
    }
}

/* The top of a call on an address space that is not a public call of the
 * debug build's checker (see AS_API_ENTER): enter it, or return `fail`
 * when the space is being destroyed.  The call is left when the function
 * returns. */
#define AS_ENTER(as, fail)                                                            \
    struct vm_as_call as_call_ __attribute__((cleanup(as_leave))) = {NULL, NULL, CALL_NONE}; \
    if ((as) != NULL && !as_enter((as), &as_call_))                                   \
    return (fail)

/* The top of a public call on an address space: it enters the call (a
 * space being destroyed fails it with SPRING_EDESTROYED), and in the
 * debug build its VMM's consistency checker runs when the outermost call
 * returns. */
#define AS_API_ENTER(as)                \
    VM_API_ENTER();                     \
    AS_ENTER(as, SPRING_EDESTROYED);    \
    if ((as) != NULL)                   \
    VM_API_VMM((as)->vmm)


#define AS_DEFAULT_LIMIT ((spring_addr_t)1 << 47)

/* ------------------------------------------------------------------ */
/* Helpers.                                                             */

static bool aligned(const spring_as_t *as, uint64_t x)
{
    return (x & (as->vmm->page_size - 1)) == 0;
}

/* Validate a range argument: aligned, non-empty, inside the space. */
static int check_range(const spring_as_t *as, spring_addr_t addr, spring_off_t len)
{
    if (len == 0)
        return SPRING_EINVAL;
    if (!aligned(as, addr) || !aligned(as, len))
        return SPRING_EALIGN;
    if (addr < as->base || addr + len < addr || addr + len > as->limit)
        return SPRING_ERANGE;
    return 0;
}

/* The region containing va, or NULL.  => as->lock held. */
static struct vm_region *region_find(spring_as_t *as, spring_addr_t va)
{
    vm_assert_held(&as->lock);
    struct vm_region *h = atomic_load_explicit(&as->hint, memory_order_relaxed);
    if (h != NULL && va >= h->start && va < h->end)
        return h;
    struct vm_region *r = rt_find_le(&as->idx, va);
    if (r != NULL && va < r->end) {
        atomic_store_explicit(&as->hint, r, memory_order_relaxed);
        return r;
    }
    return NULL;
}

/* The region after r in address order, or NULL.  => as->lock held. */
static struct vm_region *region_next(spring_as_t *as, const struct vm_region *r)
{
    vm_assert_held(&as->lock);
    return rt_find_gt(&as->idx, r->start);
}

/* The first region ending after va.  => as->lock held. */
static struct vm_region *region_first_after(spring_as_t *as, spring_addr_t va)
{
    vm_assert_held(&as->lock);
    struct vm_region *r = rt_find_le(&as->idx, va);
    if (r != NULL && r->end > va)
        return r;
    return rt_find_gt(&as->idx, va);
}

/* Enter r in the index, which has a reserve (rt_reserve).
 * => as->lock held for writing. */
static void region_insert(spring_as_t *as, struct vm_region *r)
{
    vm_assert_wrheld(&as->lock);
    rt_insert(&as->idx, r->start, r);
}

/* => as->lock held for writing. */
static void region_remove(spring_as_t *as, struct vm_region *r)
{
    vm_assert_wrheld(&as->lock);
    rt_remove(&as->idx, r->start);
}

static struct vm_subregion *sub_find(struct vm_region *r, spring_addr_t va)
{
    size_t lo = 0, hi = r->nsub;
    while (lo + 1 < hi) {
        size_t mid = (lo + hi) / 2;
        if (r->sub[mid].start <= va)
            lo = mid;
        else
            hi = mid;
    }
    return &r->sub[lo];
}

/* Make room for `extra` more runs.  => as->lock held for writing. */
static int sub_reserve(spring_as_t *as, struct vm_region *r, size_t extra)
{
    vm_assert_wrheld(&as->lock);
    spring_vmm_t *vmm = as->vmm;
    struct vm_subregion *n;
    if (r->sub == &r->sub1) { /* the inline run moves out to an allocated array */
        n = spring__malloc(vmm, (r->nsub + extra) * sizeof *n);
        if (n != NULL)
            memcpy(n, r->sub, r->nsub * sizeof *n);
    } else {
        n = spring__realloc(vmm, r->sub, (r->nsub + extra) * sizeof *n);
    }
    if (n == NULL)
        return SPRING_ENOMEM;
    r->sub = n;
    return 0;
}

/* Split the run containing a so that a run starts at a.  Capacity for one
 * more run must have been reserved. */
static void sub_split(struct vm_region *r, spring_addr_t a)
{
    if (a <= r->start || a >= r->end)
        return;
    struct vm_subregion *s = sub_find(r, a);
    if (s->start == a)
        return;
    size_t i = (size_t)(s - r->sub);
    memmove(&r->sub[i + 2], &r->sub[i + 1], (r->nsub - i - 1) * sizeof *s);
    r->sub[i + 1] = r->sub[i];
    r->sub[i + 1].start = a;
    r->sub[i].end = a;
    r->nsub++;
}

static void sub_merge(struct vm_region *r)
{
    size_t j = 0;
    for (size_t i = 1; i < r->nsub; i++) {
        if (r->sub[i].prot == r->sub[j].prot && r->sub[i].locked == r->sub[j].locked)
            r->sub[j].end = r->sub[i].end;
        else
            r->sub[++j] = r->sub[i];
    }
    r->nsub = j + 1;
}

/* Regions come from the address space's slab (slab.h), under its own leaf
 * lock: they are made and freed with as->lock not held. */
static struct vm_region *region_alloc(spring_as_t *as)
{
    vm_lock(&as->slab_lock);
    struct vm_region *r = spring__slab_alloc(as->vmm, &as->regions);
    vm_unlock(&as->slab_lock);
    return r;
}

static void region_free(spring_as_t *as, struct vm_region *r)
{
    if (r == NULL)
        return;
    if (r->sub != &r->sub1)
        free(r->sub);
    vm_lock(&as->slab_lock);
    spring__slab_free(&as->regions, r);
    vm_unlock(&as->slab_lock);
}

/* Whether this thread is running an event handler: while it is, no event
 * is delivered on the thread (as.h), so a handler that touches the
 * faulting address cannot recurse. */
static _Thread_local unsigned in_handler;

/* Deliver an event to the handler, if there is one and this thread is not
 * running one already.  Returns the handler's answer, or 0.
 * => no lock held. */
static int deliver(spring_as_t *as, spring_as_event_kind_t kind, spring_addr_t a, spring_off_t len,
                   spring_rights_t rights)
{
    if (in_handler)
        return 0;
    vm_rdlock(&as->lock);
    spring_as_handler_fn fn = as->handler;
    void *arg = as->handler_arg;
    vm_rwunlock(&as->lock);
    if (fn == NULL)
        return 0;
    spring_as_event_t ev = {kind, a, len, rights};
    spring__assert_no_locks("calling an address-space event handler");
    in_handler++;
    int r = fn(as, &ev, arg);
    in_handler--;
    return r;
}

/* Notify the handler of a mapping event.  => no lock held. */
static void notify(spring_as_t *as, spring_as_event_kind_t kind, spring_addr_t a, spring_off_t len,
                   spring_rights_t rights)
{
    (void)deliver(as, kind, a, len, rights);
}

/* ------------------------------------------------------------------ */
/* Creation and destruction.                                            */

void spring_as_options_init(spring_as_options_t *opts)
{
    if (opts == NULL)
        return;
    memset(opts, 0, sizeof *opts);
    opts->size = sizeof *opts;
    opts->base = 0; /* 0 = one page */
    opts->limit = AS_DEFAULT_LIMIT;
    opts->privileged = false;
}

int spring_as_new(spring_vmm_t *vmm, const spring_as_options_t *opts, spring_as_t **out)
{
    spring_as_options_t o;
    spring_as_options_init(&o);
    if (vmm == NULL || out == NULL || (opts != NULL && spring__struct_in(&o, sizeof o, SPRING__AS_OPTIONS_V1, opts) != 0))
        return SPRING_EINVAL;
    if (o.base == 0)
        o.base = vmm->page_size;
    if ((o.base | o.limit) & (vmm->page_size - 1))
        return SPRING_EALIGN;
    if (o.base >= o.limit)
        return SPRING_EINVAL;
    spring_as_t *as = spring__calloc(vmm, 1, sizeof *as);
    if (as == NULL)
        return SPRING_ENOMEM;
    as->vmm = vmm;
    as->page_shift = vmm->page_shift;
    as->fgenp = &vmm->fgen;
    as->base = o.base;
    as->limit = o.limit;
    as->privileged = o.privileged;
    as->id = atomic_fetch_add(&vmm->next_as_id, 1) + 1;
    rt_init(&as->idx);
    int rc = spring__hat_ctx_create(vmm, as, &as->hatctx);
    if (rc) {
        free(as);
        return rc < 0 && rc > SPRING__ERR_MIN ? rc : SPRING_ENOMEM;
    }
    vm_rwlock_init(&as->lock, VM_RANK_AS);
    vm_mutex_init(&as->free_lock, VM_RANK_AS_FREE);
    pthread_cond_init(&as->anon_cv, NULL);
    vm_mutex_init(&as->slab_lock, VM_RANK_SLAB);
    spring__slab_init(&as->regions, sizeof(struct vm_region));
    as->free_hint = as->base;
    as->free_hole = 0;
    vm_lock(&vmm->as_list_lock);
    LIST_INSERT_HEAD(&vmm->as_list, as, link);
    vmm->nas++;
    vm_unlock(&vmm->as_list_lock);
    *out = as;
    return 0;
}

static int unmap_range(spring_as_t *as, spring_addr_t addr, spring_off_t len, bool events);

void spring_as_destroy(spring_as_t *as)
{
    if (as == NULL)
        return;
    if (in_call_here(as)) {
        /* It would wait for itself; the call it is in goes on using the
         * space when this returns. */
        spring__set_error(SPRING_EBUSY, "spring_as_destroy: called from inside a call on the same address "
                                        "space; the space is not destroyed");
        return;
    }
    spring__assert_no_locks("spring_as_destroy");
    if (atomic_exchange(&as->dying, true))
        return; /* another thread is destroying it */
    spring_vmm_t *vmm = as->vmm;
    /* Fast translations cached for the space are stale from now on: a
     * spring_as_translate_fast() that begins now takes the slow path, and
     * fails there as every other call does. */
    spring__hat_revoked(vmm);
    wait_for_calls(as);
    vm_wrlock(&as->lock);
    as->handler = NULL;
    vm_rwunlock(&as->lock);
    /* Cannot fail: a whole-space range needs no split, hence no memory. */
    (void)unmap_range(as, as->base, as->limit - as->base, false);
    spring__hat_ctx_destroy(vmm, as->hatctx);
    if (as->swap.ops)
        spring__swap_release(&as->swap);
    while (as->old_swaps) {
        struct vm_swap *o = as->old_swaps;
        as->old_swaps = o->next;
        if (o->ops)
            spring__swap_release(o);
        free(o);
    }
    spring_mobj_unref(as->anon);
    vm_lock(&vmm->as_list_lock);
    LIST_REMOVE(as, link);
    vmm->nas--;
    vm_unlock(&vmm->as_list_lock);
    rt_fini(&as->idx);
    spring__slab_fini(&as->regions);
    vm_mutex_destroy(&as->slab_lock);
    pthread_cond_destroy(&as->anon_cv);
    vm_mutex_destroy(&as->free_lock);
    vm_rwlock_destroy(&as->lock);
    spring__as_free_deferred(as);
}

/* ------------------------------------------------------------------ */
/* zero_fill_range calls of the default anonymous object on their way.  */

/* Enter tells [0, n) in the list.  => as->lock held (so that no range in
 * them is mapped again before they are in). */
static void tells_enter(spring_as_t *as, struct vm_tell *t, size_t n)
{
    vm_assert_held(&as->lock);
    pthread_t self = pthread_self();
    vm_lock(&as->free_lock);
    for (size_t i = 0; i < n; i++) {
        t[i].owner = self;
        t[i].next = as->tells;
        as->tells = &t[i];
    }
    vm_unlock(&as->free_lock);
}

/* Make the calls of tells [0, n), then take them off the list (and drop
 * their cache references).  => no lock held. */
static void tells_make(spring_as_t *as, struct vm_tell *t, size_t n)
{
    spring__assert_no_locks("tells_make");
    for (size_t i = 0; i < n; i++) /* a hint: a failure is counted only */
        (void)spring__cache_tell_zero(t[i].c, t[i].off, t[i].end - t[i].off);
    vm_lock(&as->free_lock);
    for (size_t i = 0; i < n; i++)
        for (struct vm_tell **pp = &as->tells; *pp != NULL; pp = &(*pp)->next)
            if (*pp == &t[i]) {
                *pp = t[i].next;
                break;
            }
    pthread_cond_broadcast(&as->anon_cv);
    vm_unlock(&as->free_lock);
    for (size_t i = 0; i < n; i++)
        spring__cache_unref(t[i].c);
}

/* Wait until no call on its way overlaps [off, end) of cache c, but for
 * the calling thread's own (a pager's zero_fill_range that allocates in
 * this space, maybe the very range it is told about, must not wait for
 * itself).  => no lock held. */
static void tells_wait(spring_as_t *as, struct vm_cache *c, spring_off_t off, spring_off_t end)
{
    spring__assert_no_locks("tells_wait");
    pthread_t self = pthread_self();
    vm_lock(&as->free_lock);
    for (;;) {
        const struct vm_tell *t = as->tells;
        while (t != NULL && !(t->c == c && t->off < end && off < t->end && !pthread_equal(t->owner, self)))
            t = t->next;
        if (t == NULL)
            break;
        vm_cond_wait(&as->anon_cv, &as->free_lock);
    }
    vm_unlock(&as->free_lock);
}

/* ------------------------------------------------------------------ */
/* Mapping.                                                             */

/* The lowest free range of len bytes (first fit), or SPRING_ENOSPC.  The
 * search starts at the free-space hint when no gap below it can hold len,
 * so that filling an address space from the bottom does not rescan every
 * region each time.  => as->lock held. */
static int find_free(spring_as_t *as, spring_off_t len, spring_addr_t *out)
{
    vm_assert_held(&as->lock);
    vm_lock(&as->free_lock);
    bool from_hint = len > as->free_hole;
    spring_addr_t cand = from_hint ? as->free_hint : as->base;
    spring_off_t hole = from_hint ? as->free_hole : 0; /* the longest gap seen below cand */
    vm_unlock(&as->free_lock);
    struct vm_region *r = region_first_after(as, cand);
    while (cand + len >= cand && cand + len <= as->limit) {
        if (r == NULL || r->start >= cand + len) {
            /* The gaps below cand are at most `hole` long: under the read
             * lock nothing was unmapped meanwhile, so the pair is true. */
            vm_lock(&as->free_lock);
            as->free_hint = cand;
            as->free_hole = hole;
            vm_unlock(&as->free_lock);
            *out = cand;
            return 0;
        }
        if (r->start > cand)
            hole = SPRING__MAX(hole, r->start - cand);
        cand = SPRING__MAX(cand, r->end);
        r = region_next(as, r);
    }
    return SPRING_ENOSPC;
}

/* Space was freed from addr up: the gap that now holds addr may be longer
 * than the hint allows, so the hint moves down to that gap's start.  The
 * hint is always the address-space base or the end of a region, so when
 * addr is at or above it the gap starts at or above it too and nothing
 * changes.  No free_lock: the write lock keeps every search out.
 * => as->lock held for writing. */
static void free_hint_lower(spring_as_t *as, spring_addr_t addr)
{
    vm_assert_wrheld(&as->lock);
    if (addr >= as->free_hint)
        return;
    struct vm_region *p = rt_find_le(&as->idx, addr);
    spring_addr_t gap = p != NULL ? SPRING__MIN(p->end, addr) : as->base;
    if (gap < as->free_hint)
        as->free_hint = gap;
}

/* Whether [a, a+len) is free.  => as->lock held. */
/* For rt_insert_if: whether [a, a+len) lies between the regions le and gt
 * (the neighbours of a in the index). */
struct fit_arg {
    spring_addr_t a;
    spring_off_t len;
};

static bool region_fits(void *le, void *gt, void *arg)
{
    const struct fit_arg *fa = arg;
    const struct vm_region *l = le, *g = gt;
    return (l == NULL || l->end <= fa->a) && (g == NULL || g->start >= fa->a + fa->len);
}

enum { MAP_ANON_DEFAULT = 1 };

/*
 * Map part of mobj.  With MAP_ANON_DEFAULT the object offset is the address
 * (the default anonymous object mirrors the address space) and the range is
 * zero-filled before it becomes visible.
 * => no lock held.
 */
static int map_internal(spring_as_t *as, spring_mobj_t *mobj, spring_off_t off, spring_off_t *length,
                        spring_addr_t *address, spring_rights_t access, int flags)
{
    spring__assert_no_locks("map_internal");
    spring_vmm_t *vmm = as->vmm;
    spring_off_t len = *length;
    spring_addr_t addr = *address;
    int rc;
    for (unsigned attempt = 0;; attempt++) {
        if (addr == SPRING_ANYWHERE || attempt > 0) {
            if (*address != SPRING_ANYWHERE)
                return SPRING_EEXIST;
            if (attempt > 16)
                return SPRING_ENOSPC;
            vm_rdlock(&as->lock);
            rc = find_free(as, len, &addr);
            vm_rwunlock(&as->lock);
            if (rc)
                return rc;
        }
        if (flags & MAP_ANON_DEFAULT)
            off = addr;
        struct vm_cache *c;
        spring_off_t blen = len, coff;
        spring_rights_t rights;
        rc = spring__bind(vmm, as->id, mobj, access, off, &blen, &c, &coff, &rights);
        if (rc)
            return rc;
        if (!spring_rights_subset(access, rights)) {
            spring__cache_detach(c);
            spring__cache_unref(c);
            return SPRING_ERIGHTS;
        }
        if ((flags & MAP_ANON_DEFAULT) && blen != len) {
            spring__cache_detach(c);
            spring__cache_unref(c);
            return SPRING_EBIND;
        }
        struct vm_region *r = region_alloc(as);
        if (r == NULL) {
            spring__cache_detach(c);
            spring__cache_unref(c);
            return SPRING_ENOMEM;
        }
        r->start = addr;
        r->end = addr + blen;
        r->mobj = spring_mobj_ref(mobj);
        r->mobj_off = off;
        r->cache = c;
        r->cache_off = coff;
        r->maxprot = rights;
        r->anon_default = (flags & MAP_ANON_DEFAULT) != 0;
        struct vm_subregion *sub = &r->sub1;
        sub->start = r->start;
        sub->end = r->end;
        sub->prot = access;
        sub->locked = false;
        r->sub = sub;
        r->nsub = 1;
        vm_wrlock(&as->lock);
        /* One descent of the index checks that the range is still free and
         * enters the region. */
        struct fit_arg fa = {addr, blen};
        bool nomem = rt_reserve(&as->idx) != 0;
        if (nomem || !rt_insert_if(&as->idx, addr, r, region_fits, &fa)) {
            vm_rwunlock(&as->lock);
            spring_mobj_unref(r->mobj);
            region_free(as, r);
            spring__cache_detach(c);
            spring__cache_unref(c);
            if (nomem)
                return SPRING_ENOMEM;
            continue; /* taken meanwhile: choose again, or EEXIST */
        }
        /* The default anonymous object's range is made zero here, under
         * the lock, once the range is ours: nobody can have mapped it
         * meanwhile, and no fault sees it before it is zero. */
        if ((flags & MAP_ANON_DEFAULT) && (rc = spring__cache_discard(c, coff, blen)) != 0) {
            region_remove(as, r);
            vm_rwunlock(&as->lock);
            spring_mobj_unref(r->mobj);
            region_free(as, r);
            spring__cache_detach(c);
            spring__cache_unref(c);
            return rc;
        }
        as->nregions++;
        as->mapped += blen;
        as->gen++;
        /* Let the pager drop what it stored for the range (the data of an
         * earlier allocation there), then let the calls on their way that
         * overlap the range end (an unmap's, or an allocation's that this
         * range was unmapped from meanwhile), so that none comes after
         * data is written to this memory.  Only those: a pager's
         * zero_fill_range may itself allocate elsewhere in this space. */
        struct vm_tell me = {.c = c, .off = coff, .end = coff + blen};
        if (flags & MAP_ANON_DEFAULT) {
            spring__cache_ref(c);
            tells_enter(as, &me, 1);
        }
        vm_rwunlock(&as->lock);
        if (flags & MAP_ANON_DEFAULT) {
            tells_make(as, &me, 1);
            tells_wait(as, c, coff, coff + blen);
        }
        *length = blen;
        *address = addr;
        notify(as, SPRING_AS_EVENT_MAP, addr, blen, access);
        return 0;
    }
}

static int check_map_args(spring_as_t *as, spring_off_t off, const spring_off_t *length,
                          const spring_addr_t *address, spring_rights_t access)
{
    if (length == NULL || address == NULL || *length == 0 || !spring_rights_valid(access))
        return SPRING_EINVAL;
    if (!aligned(as, off) || !aligned(as, *length))
        return SPRING_EALIGN;
    if (off + *length < off)
        return SPRING_ERANGE;
    if (*address != SPRING_ANYWHERE) {
        int rc = check_range(as, *address, *length);
        if (rc)
            return rc;
    } else if (*length > as->limit - as->base)
        return SPRING_ERANGE;
    /* A fixed range already in use fails before the pager is asked to bind
     * (map_internal checks again under the write lock). */
    if (*address != SPRING_ANYWHERE) {
        struct fit_arg fa = {*address, *length};
        void *le, *gt;
        vm_rdlock(&as->lock);
        rt_neighbours(&as->idx, *address, &le, &gt);
        bool free_ = region_fits(le, gt, &fa);
        vm_rwunlock(&as->lock);
        if (!free_)
            return SPRING_EEXIST;
    }
    return 0;
}

int spring_as_map(spring_as_t *as, spring_mobj_t *mobj, spring_off_t mobj_offset, spring_off_t *length,
                  spring_addr_t *address, spring_rights_t access)
{
    AS_API_ENTER(as);
    if (as == NULL || mobj == NULL)
        return SPRING_EINVAL;
    int rc = check_map_args(as, mobj_offset, length, address, access);
    if (rc)
        return rc;
    return map_internal(as, mobj, mobj_offset, length, address, access, 0);
}

int spring_as_map_many(spring_as_t *as, spring_mapping_t *m, size_t n)
{
    AS_API_ENTER(as);
    if (as == NULL || (m == NULL && n > 0))
        return SPRING_EINVAL;
    int first = 0;
    for (size_t i = 0; i < n; i++) {
        m[i].result = spring_as_map(as, m[i].mobj, m[i].mobj_offset, &m[i].length, &m[i].address, m[i].access);
        if (m[i].result != 0 && first == 0)
            first = m[i].result;
    }
    return first;
}

#define UNMAP_CHUNK 32

/* Keep only the runs of r inside [s, e), clipped. */
static void sub_clip(struct vm_region *r, spring_addr_t s, spring_addr_t e)
{
    size_t j = 0;
    for (size_t i = 0; i < r->nsub; i++) {
        if (r->sub[i].end <= s || r->sub[i].start >= e)
            continue;
        r->sub[j] = r->sub[i];
        r->sub[j].start = SPRING__MAX(r->sub[j].start, s);
        r->sub[j].end = SPRING__MIN(r->sub[j].end, e);
        j++;
    }
    r->nsub = j;
}

/* Remove [addr, addr+len) from the address space.  Regions partly in the
 * range are trimmed or split.  Works in chunks so that it needs no memory
 * except for a split, which only happens when the range lies strictly
 * inside one region: then SPRING_ENOMEM leaves everything as it was.
 * => no lock held. */
static int unmap_range(spring_as_t *as, spring_addr_t addr, spring_off_t len, bool events)
{
    spring__assert_no_locks("unmap_range");
    spring_vmm_t *vmm = as->vmm;
    spring_addr_t end = addr + len;
    struct vm_region *spare = NULL;
    size_t spare_cap = 0;
    bool changed = false;
    int rc = 0;
    for (;;) {
        struct vm_region *dead[UNMAP_CHUNK];
        /* Ranges of the default anonymous object made zero: told to its
         * pager (zero_fill_range) once the lock is dropped, so that it can
         * free what it stored there (swap slots); a cache reference each.
         * Until then an allocation of an overlapping range waits for them
         * (tells_wait). */
        struct vm_tell zr[UNMAP_CHUNK];
        size_t ndead = 0, nzr = 0, need = 0;
        bool more = false;
        spring_addr_t low = end; /* the lowest address this chunk frees */
        vm_wrlock(&as->lock);
        struct vm_region *r = region_first_after(as, addr), *next;
        for (; r && r->start < end; r = next) {
            next = region_next(as, r);
            if (ndead == UNMAP_CHUNK || nzr == UNMAP_CHUNK) {
                more = true;
                break;
            }
            spring_addr_t s = SPRING__MAX(r->start, addr), e = SPRING__MIN(r->end, end);
            bool split = s > r->start && e < r->end;
            if (split && (spare == NULL || spare_cap < r->nsub)) {
                need = r->nsub;
                break;
            }
            if (split && rt_reserve(&as->idx) != 0) {
                rc = SPRING_ENOMEM; /* nothing was changed: the range is inside r */
                break;
            }
            spring__hat_remove(vmm, as->hatctx, s, e - s);
            /* Locked pages in the removed part are unlocked. */
            for (size_t i = 0; i < r->nsub; i++) {
                spring_addr_t ls = SPRING__MAX(r->sub[i].start, s), le = SPRING__MIN(r->sub[i].end, e);
                if (r->sub[i].locked && le > ls)
                    (void)spring__cache_lock_range(r->cache, r->cache_off + (ls - r->start), le - ls, -1);
            }
            if (r->anon_default) { /* its data goes: the next allocation there must read zero */
                (void)spring__cache_discard(r->cache, r->cache_off + (s - r->start), e - s);
                spring__cache_ref(r->cache);
                zr[nzr].c = r->cache;
                zr[nzr].off = r->cache_off + (s - r->start);
                zr[nzr].end = zr[nzr].off + (e - s);
                nzr++;
            }
            as->mapped -= e - s;
            changed = true;
            low = SPRING__MIN(low, s);
            if (s == r->start && e == r->end) {
                region_remove(as, r);
                as->nregions--;
                dead[ndead++] = r;
            } else if (split) {
                /* r keeps [start, s); the spare takes [e, end). */
                struct vm_region *r2 = spare;
                struct vm_subregion *sub2 = r2->sub;
                spare = NULL;
                *r2 = *r;
                r2->sub = sub2;
                memcpy(r2->sub, r->sub, r->nsub * sizeof *sub2);
                r2->nsub = r->nsub;
                r2->start = e;
                r2->mobj = spring_mobj_ref(r->mobj);
                r2->mobj_off = r->mobj_off + (e - r->start);
                r2->cache_off = r->cache_off + (e - r->start);
                spring__cache_ref(r->cache);
                spring__cache_attach(r->cache, (r->maxprot & SPRING_RIGHTS_W) != 0);
                sub_clip(r2, e, r2->end);
                sub_clip(r, r->start, s);
                r->end = s;
                region_insert(as, r2);
                as->nregions++;
            } else if (s == r->start) { /* trim the front; the order among regions is unchanged */
                sub_clip(r, e, r->end);
                r->mobj_off += e - r->start;
                r->cache_off += e - r->start;
                rt_rekey(&as->idx, r->start, e);
                r->start = e;
            } else { /* trim the back */
                sub_clip(r, r->start, s);
                r->end = s;
            }
        }
        if (changed) {
            atomic_store(&as->hint, NULL);
            as->gen++;
        }
        if (low < end)
            free_hint_lower(as, low);
        if (nzr > 0)
            tells_enter(as, zr, nzr);
        vm_rwunlock(&as->lock);
        if (nzr > 0)
            tells_make(as, zr, nzr);
        for (size_t i = 0; i < ndead; i++) {
            struct vm_region *x = dead[i];
            spring__cache_detach(x->cache);
            spring__cache_unref(x->cache);
            spring_mobj_unref(x->mobj);
            region_free(as, x);
        }
        if (need) {
            /* A split needs a region: allocate it unlocked, then look again. */
            if (spare)
                region_free(as, spare);
            spare = region_alloc(as);
            if (spare)
                spare->sub = need == 1 ? &spare->sub1 : spring__calloc(vmm, need, sizeof *spare->sub);
            if (spare == NULL || spare->sub == NULL) {
                if (spare != NULL)
                    spare->sub = &spare->sub1;
                region_free(as, spare);
                spare = NULL;
                rc = SPRING_ENOMEM;
                break;
            }
            spare_cap = need;
            continue;
        }
        if (!more)
            break;
    }
    if (spare)
        region_free(as, spare);
    if (events && changed)
        notify(as, SPRING_AS_EVENT_UNMAP, addr, len, SPRING_RIGHTS_NONE);
    return rc;
}

int spring_as_unmap(spring_as_t *as, spring_addr_t address, spring_off_t length)
{
    AS_API_ENTER(as);
    if (as == NULL)
        return SPRING_EINVAL;
    int rc = check_range(as, address, length);
    if (rc)
        return rc;
    return unmap_range(as, address, length, true);
}

/* The default anonymous memory object, created on first use. */
static int default_anon(spring_as_t *as, spring_mobj_t **out)
{
    for (;;) {
        vm_rdlock(&as->lock);
        spring_mobj_t *m = spring_mobj_ref(as->anon);
        struct vm_swap sw = as->swap;
        uint64_t gen = as->swap_gen;
        vm_rwunlock(&as->lock);
        if (m) {
            *out = m;
            return 0;
        }
        /* The swap pager stays valid: a replaced one is released only when
         * the address space is destroyed. */
        int rc = spring__vmm_new_anon(as->vmm, sw.ops ? &sw : NULL, as->limit, &m);
        if (rc)
            return rc;
        spring_mobj_t *extra = NULL;
        vm_wrlock(&as->lock);
        if (as->anon == NULL && as->swap_gen == gen)
            as->anon = spring_mobj_ref(m);
        else
            extra = m; /* lost a race, or the swap pager changed meanwhile */
        vm_rwunlock(&as->lock);
        if (extra == NULL) {
            *out = m;
            return 0;
        }
        spring_mobj_unref(extra); /* with no lock held: its pager may do anything */
    }
}

int spring_as_allocate_memory(spring_as_t *as, spring_off_t *length, spring_addr_t *address, spring_rights_t access)
{
    AS_API_ENTER(as);
    if (as == NULL)
        return SPRING_EINVAL;
    int rc = check_map_args(as, 0, length, address, access);
    if (rc)
        return rc;
    spring_mobj_t *m;
    if ((rc = default_anon(as, &m)) != 0)
        return rc;
    rc = map_internal(as, m, 0, length, address, access, MAP_ANON_DEFAULT);
    spring_mobj_unref(m);
    return rc;
}

int spring_as_allocate_memory_and_mobj(spring_as_t *as, spring_off_t *length, spring_addr_t *address,
                                       spring_rights_t access, spring_mobj_t **mobj)
{
    AS_API_ENTER(as);
    if (as == NULL || mobj == NULL)
        return SPRING_EINVAL;
    int rc = check_map_args(as, 0, length, address, access);
    if (rc)
        return rc;
    vm_rdlock(&as->lock);
    struct vm_swap sw = as->swap;
    vm_rwunlock(&as->lock);
    spring_mobj_t *m;
    if ((rc = spring__vmm_new_anon(as->vmm, sw.ops ? &sw : NULL, *length, &m)) != 0)
        return rc;
    rc = map_internal(as, m, 0, length, address, access, 0);
    if (rc) {
        spring_mobj_unref(m);
        return rc;
    }
    *mobj = m;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Attributes: rights and locks.                                        */

/* Check that [addr, end) is wholly mapped; reserve two more runs in every
 * region it touches.  => as->lock held for writing. */
static int cover_and_reserve(spring_as_t *as, spring_addr_t addr, spring_addr_t end, spring_rights_t rights,
                             bool check_rights)
{
    vm_assert_wrheld(&as->lock);
    spring_addr_t at = addr;
    struct vm_region *r = region_first_after(as, addr);
    for (; at < end; r = region_next(as, r)) {
        if (r == NULL || r->start > at)
            return SPRING_ENOTMAPPED;
        if (check_rights && !spring_rights_subset(rights, r->maxprot))
            return SPRING_ERIGHTS;
        at = r->end;
    }
    for (r = region_first_after(as, addr); r && r->start < end; r = region_next(as, r))
        if (sub_reserve(as, r, 2) != 0)
            return SPRING_ENOMEM;
    return 0;
}

int spring_as_change_access_rights(spring_as_t *as, spring_addr_t address, spring_off_t length,
                                   spring_rights_t rights)
{
    AS_API_ENTER(as);
    if (as == NULL || (rights != SPRING_RIGHTS_NONE && !spring_rights_valid(rights)))
        return SPRING_EINVAL;
    int rc = check_range(as, address, length);
    if (rc)
        return rc;
    spring_addr_t end = address + length;
    vm_wrlock(&as->lock);
    rc = cover_and_reserve(as, address, end, rights, true);
    if (rc) {
        vm_rwunlock(&as->lock);
        return rc;
    }
    for (struct vm_region *r = region_first_after(as, address); r && r->start < end;
         r = region_next(as, r)) {
        spring_addr_t s = SPRING__MAX(r->start, address), e = SPRING__MIN(r->end, end);
        sub_split(r, s);
        sub_split(r, e);
        for (size_t i = 0; i < r->nsub; i++)
            if (r->sub[i].start >= s && r->sub[i].end <= e)
                r->sub[i].prot = rights;
        sub_merge(r);
    }
    spring__hat_protect(as->vmm, as->hatctx, address, length, rights);
    as->gen++;
    vm_rwunlock(&as->lock);
    notify(as, SPRING_AS_EVENT_PROTECT, address, length, rights);
    return 0;
}

/* Set or clear the lock attribute of [addr, end) and adjust the caches'
 * lock counts.  On failure nothing is changed.  => no lock held. */
/* A run of addresses whose lock state set_locked changed. */
struct lock_run {
    struct vm_cache *c;
    spring_off_t off, len;  /* in the cache */
    spring_addr_t s, e;     /* in the address space */
};

static int set_locked(spring_as_t *as, spring_addr_t addr, spring_addr_t end, bool lock, struct lock_run **changed,
                      size_t *nchanged)
{
    spring__assert_no_locks("set_locked");
    vm_wrlock(&as->lock);
    int rc = cover_and_reserve(as, addr, end, 0, false);
    if (rc) {
        vm_rwunlock(&as->lock);
        return rc;
    }
    /* The runs whose state changes, before anything is changed. */
    struct lock_run *segs = NULL;
    size_t nseg = 0, cap = 0;
    struct vm_region *r;
    for (r = region_first_after(as, addr); r && r->start < end; r = region_next(as, r)) {
        spring_addr_t s = SPRING__MAX(r->start, addr), e = SPRING__MIN(r->end, end);
        for (size_t i = 0; i < r->nsub; i++) {
            spring_addr_t ls = SPRING__MAX(r->sub[i].start, s), le = SPRING__MIN(r->sub[i].end, e);
            if (le <= ls || r->sub[i].locked == lock)
                continue;
            if (nseg == cap) {
                size_t ncap = cap ? cap * 2 : 8;
                struct lock_run *n = spring__realloc(as->vmm, segs, ncap * sizeof *n);
                if (n == NULL) {
                    rc = SPRING_ENOMEM;
                    goto out;
                }
                segs = n;
                cap = ncap;
            }
            segs[nseg++] = (struct lock_run){r->cache, r->cache_off + (ls - r->start), le - ls, ls, le};
        }
    }
    size_t done;
    for (done = 0; done < nseg; done++) {
        rc = spring__cache_lock_range(segs[done].c, segs[done].off, segs[done].len, lock ? 1 : -1);
        if (rc)
            break;
    }
    if (rc) {
        while (done-- > 0)
            (void)spring__cache_lock_range(segs[done].c, segs[done].off, segs[done].len, lock ? -1 : 1);
        goto out;
    }
    for (r = region_first_after(as, addr); r && r->start < end; r = region_next(as, r)) {
        spring_addr_t s = SPRING__MAX(r->start, addr), e = SPRING__MIN(r->end, end);
        sub_split(r, s);
        sub_split(r, e);
        for (size_t i = 0; i < r->nsub; i++)
            if (r->sub[i].start >= s && r->sub[i].end <= e)
                r->sub[i].locked = lock;
        sub_merge(r);
    }
    as->gen++;
    if (changed) {
        *changed = segs;
        *nchanged = nseg;
        segs = NULL;
    }
out:
    vm_rwunlock(&as->lock);
    free(segs);
    return rc;
}

static int as_fault_pin(spring_as_t *as, spring_addr_t va, spring_rights_t access, enum vm_pin pin, size_t *frame,
                        bool ignore_prot);

int spring_as_lock_memory(spring_as_t *as, spring_addr_t address, spring_off_t length)
{
    AS_API_ENTER(as);
    if (as == NULL)
        return SPRING_EINVAL;
    int rc = check_range(as, address, length);
    if (rc)
        return rc;
    if (!as->privileged)
        return SPRING_EPERM;
    /* set_locked reports the runs this call locked: a failure below
     * unlocks those only, not locks other calls took. */
    struct lock_run *runs = NULL;
    size_t nruns = 0;
    spring_addr_t end = address + length;
    rc = set_locked(as, address, end, true, &runs, &nruns);
    /* Make every page resident now. */
    for (spring_addr_t a = address; a < end && rc == 0; a += as->vmm->page_size) {
        size_t f;
        rc = as_fault_pin(as, a, SPRING_RIGHTS_R, VM_PIN_NONE, &f, true);
        for (size_t i = 0; rc != 0 && i < nruns; i++)
            (void)set_locked(as, runs[i].s, runs[i].e, false, NULL, NULL);
    }
    free(runs);
    return rc;
}

int spring_as_unlock_memory(spring_as_t *as, spring_addr_t address, spring_off_t length)
{
    AS_API_ENTER(as);
    if (as == NULL)
        return SPRING_EINVAL;
    int rc = check_range(as, address, length);
    if (rc)
        return rc;
    if (!as->privileged)
        return SPRING_EPERM;
    return set_locked(as, address, address + length, false, NULL, NULL);
}

/* ------------------------------------------------------------------ */
/* Flush, queries.                                                      */

int spring_as_flush(spring_as_t *as, spring_addr_t address, spring_off_t length, bool please_keep)
{
    AS_API_ENTER(as);
    if (as == NULL)
        return SPRING_EINVAL;
    int rc = check_range(as, address, length);
    if (rc)
        return rc;
    spring_addr_t end = address + length;
    struct job {
        struct vm_cache *c;
        spring_off_t off, len;
    } *jobs = NULL;
    size_t n = 0, cap = 0;
    vm_rdlock(&as->lock);
    for (struct vm_region *r = region_first_after(as, address); r && r->start < end;
         r = region_next(as, r)) {
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            struct job *nj = spring__realloc(as->vmm, jobs, ncap * sizeof *nj);
            if (nj == NULL) {
                vm_rwunlock(&as->lock);
                for (size_t i = 0; i < n; i++)
                    spring__cache_unref(jobs[i].c);
                free(jobs);
                return SPRING_ENOMEM;
            }
            jobs = nj;
            cap = ncap;
        }
        spring_addr_t s = SPRING__MAX(r->start, address), e = SPRING__MIN(r->end, end);
        spring__cache_ref(r->cache);
        jobs[n++] = (struct job){r->cache, r->cache_off + (s - r->start), e - s};
    }
    vm_rwunlock(&as->lock);
    for (size_t i = 0; i < n; i++) {
        int r = spring__cache_flush(jobs[i].c, jobs[i].off, jobs[i].len, please_keep);
        if (r && rc == 0)
            rc = r;
        spring__cache_unref(jobs[i].c);
    }
    free(jobs);
    return rc;
}

size_t spring_as_get_page_size(const spring_as_t *as)
{
    spring_as_t *s = (spring_as_t *)(uintptr_t)as; /* entering a call writes the space's count */
    AS_ENTER(s, 0);
    return s ? s->vmm->page_size : 0;
}

int spring_as_get_mappings(spring_as_t *as, spring_addr_t address, spring_off_t length, spring_mapping_t *out,
                           size_t cap, size_t *n, bool *more_regions)
{
    AS_ENTER(as, SPRING_EDESTROYED);
    if (as == NULL || n == NULL || more_regions == NULL || (out == NULL && cap > 0))
        return SPRING_EINVAL;
    int rc = check_range(as, address, length);
    if (rc)
        return rc;
    spring_addr_t end = address + length;
    size_t k = 0;
    bool more = false;
    vm_rdlock(&as->lock);
    for (struct vm_region *r = region_first_after(as, address); r && r->start < end && !more;
         r = region_next(as, r)) {
        for (size_t i = 0; i < r->nsub; i++) {
            spring_addr_t s = SPRING__MAX(r->sub[i].start, address), e = SPRING__MIN(r->sub[i].end, end);
            if (e <= s)
                continue;
            if (k == cap) {
                more = true;
                break;
            }
            out[k].mobj = spring_mobj_ref(r->mobj);
            out[k].mobj_offset = r->mobj_off + (s - r->start);
            out[k].length = e - s;
            out[k].address = s;
            out[k].access = r->sub[i].prot;
            out[k].max_access = r->maxprot;
            out[k].locked = r->sub[i].locked;
            out[k].result = 0;
            k++;
        }
        if (r->end >= end) /* done, without touching the next region */
            break;
    }
    vm_rwunlock(&as->lock);
    *n = k;
    *more_regions = more;
    return 0;
}

void spring_mappings_release(spring_mapping_t *m, size_t n)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < n; i++) {
        spring_mobj_unref(m[i].mobj);
        m[i].mobj = NULL;
    }
}

int spring_as_statistics(spring_as_t *as, spring_as_statistics_t *out)
{
    AS_ENTER(as, SPRING_EDESTROYED);
    if (as == NULL || out == NULL || spring__struct_out_check(out, SPRING__AS_STATS_V1) != 0)
        return SPRING_EINVAL;
    spring_as_statistics_t stats = {.size = sizeof stats}, *st = &stats;
    vm_rdlock(&as->lock);
    st->nregions = as->nregions;
    st->mapped = as->mapped;
    struct vm_region *r;
    for (r = rt_first(&as->idx); r != NULL; r = region_next(as, r)) {
        st->resident += spring__cache_resident(r->cache, r->cache_off, r->end - r->start);
        for (size_t i = 0; i < r->nsub; i++)
            if (r->sub[i].locked)
                st->locked += (size_t)((r->sub[i].end - r->sub[i].start) >> as->vmm->page_shift);
    }
    vm_rwunlock(&as->lock);
    st->faults = atomic_load(&as->st_faults);
    st->zero_fills = atomic_load(&as->st_zero_fills);
    st->page_ins = atomic_load(&as->st_page_ins);
    st->protection_faults = atomic_load(&as->st_prot_faults);
    st->unmapped_faults = atomic_load(&as->st_unmapped_faults);
    st->tlb_hits = atomic_load(&as->st_tlb_hits);
    spring__struct_out(out, st, sizeof *st);
    return 0;
}

int spring_as_pager_stats(spring_as_t *as, spring_addr_t address, spring_pager_stats_t *stats)
{
    AS_ENTER(as, SPRING_EDESTROYED);
    if (as == NULL || stats == NULL || spring__struct_out_check(stats, SPRING__PAGER_STATS_V1) != 0)
        return SPRING_EINVAL;
    spring_pager_stats_t st = {.size = sizeof st};
    vm_rdlock(&as->lock);
    struct vm_region *r = region_find(as, address);
    if (r != NULL)
        spring__cache_pager_stats(r->cache, &st);
    vm_rwunlock(&as->lock);
    if (r == NULL)
        return SPRING_ENOTMAPPED;
    spring__struct_out(stats, &st, sizeof st);
    return 0;
}

int spring_as_set_swap_pager(spring_as_t *as, const spring_swap_pager_ops_t *ops, void *swapper)
{
    AS_API_ENTER(as);
    if (as == NULL)
        return SPRING_EINVAL;
    int rc = ops != NULL ? spring__swap_ops_check(ops) : 0;
    if (rc)
        return rc;
    struct vm_swap *keep = spring__calloc(as->vmm, 1, sizeof *keep);
    if (keep == NULL)
        return SPRING_ENOMEM;
    vm_wrlock(&as->lock);
    *keep = as->swap;
    spring_mobj_t *oldanon = as->anon;
    as->swap.ops = ops;
    as->swap.self = swapper;
    as->swap.temporary = false;
    as->swap_gen++;
    as->anon = NULL; /* the next allocation gets one from the new pager */
    /* The old pager may be in use by a thread that copied it: it is released
     * when the address space is destroyed. */
    keep->next = as->old_swaps;
    as->old_swaps = keep;
    vm_rwunlock(&as->lock);
    spring_mobj_unref(oldanon);
    return 0;
}

int spring_as_catch_as_events(spring_as_t *as, spring_as_handler_fn fn, void *arg)
{
    AS_ENTER(as, SPRING_EDESTROYED);
    if (as == NULL)
        return SPRING_EINVAL;
    vm_wrlock(&as->lock);
    as->handler = fn;
    as->handler_arg = arg;
    vm_rwunlock(&as->lock);
    return 0;
}

/* ------------------------------------------------------------------ */
/* The fault path (§9.4) and memory access.                             */

static bool valid_access(spring_rights_t a)
{
    return a == SPRING_RIGHTS_R || a == SPRING_RIGHTS_W || a == SPRING_RIGHTS_X;
}

/* Ask the handler about a fault.  Returns true to retry.  => no lock held. */
static bool fault_event(spring_as_t *as, spring_as_event_kind_t kind, spring_addr_t va, spring_rights_t access,
                        unsigned *tries)
{
    spring__assert_no_locks("fault_event");
    if (++*tries > VM_FAULT_HANDLER_TRIES)
        return false;
    return deliver(as, kind, va, 0, access) == 1;
}

/* The trace record of a fault's end (SPRING_TRACE_FAULT): handled (rc 0),
 * or failed in the cache layer.  t0 is the fault's start (0: tracing was
 * off then). */
static void trace_fault_end(spring_as_t *as, uint64_t t0, uint64_t cache, spring_addr_t va, spring_off_t off,
                            spring_rights_t access, int rc)
{
    VM_TRACE(as->vmm, .kind = SPRING_TRACE_FAULT, .result = rc, .cache = cache, .as = as->id, .address = va,
             .offset = off, .access = access, .duration_ns = spring__trace_since(t0));
}

/*
 * A word on faults: the whole fault path, its cases, locks and retries.
 *
 * Who comes here.  spring_as_read, spring_as_write and spring_as_translate
 * ask the HAT first (translate_pin, as_copy: a hit costs no lock and ends
 * there); spring_as_translate_fast asks its per-thread table first
 * (mem/qsbr.c).  A miss, spring_as_fault and lock_memory come to
 * as_fault_pin, below, with what to do to the frame (enum vm_pin).
 *
 * The cases, in the order they are tried, and where their code is:
 *   1. Unmapped: no region covers the page (region_find: the hint, then
 *      the B+ tree).  SPRING_ENOTMAPPED, after the event handler had its
 *      chance (fault_event).
 *   2. Refused: the subregion's rights lack the access.  SPRING_EACCES,
 *      after the handler had its chance.
 *   3. Resident in the right mode: spring__cache_fault_fast
 *      (cache/fault.c) finds the block in the page hash and enters it
 *      (fault_enter: the faulting page and, map-ahead, the block's other
 *      pages the same run of rights covers).
 *   4. Zero-fill: the zero-fill table covers the page and a frame is free:
 *      spring__cache_fault_fast makes the block (zero_block) and enters it.
 *   5. Everything else is the slow path, spring__cache_fault_slow
 *      (cache/fault.c), with no address-space lock held: wait for a block
 *      in transit (on the cache's cv); upgrade a read-only block for a
 *      write (block_upgrade: page_in with the upgrade flag, §5.1); or page
 *      the block in through a stub (block_page_in, zero-fill with a frame
 *      taken by waiting included).  It enters nothing: the fault starts
 *      over at case 1 and ends in case 3.
 *   6. The HAT needs a frame for its own tables (enter says
 *      SPRING_ENOFRAMES): the page-out path makes room
 *      (spring__pageout_make_room, cache/pageout.c) with no lock held, and
 *      the fault starts over.
 *
 * Locks.  Cases 1 to 4 and 6's attempt run under as->lock for reading;
 * cases 3 and 4 take the cache lock inside it (and the page lock for a
 * frame, and the HAT's lock in enter), in the order of docs/locking.md.
 * The slow path holds a reference to the cache and only the cache lock,
 * which it drops across every pager call (a stub marks the block in
 * transit, so that a second fault on it waits instead of calling the pager
 * again).  No lock is held while an event handler or a pager runs.
 *
 * Retries.  The handler may resolve a fault at most VM_FAULT_HANDLER_TRIES
 * times; the fault starts over at most VM_FAULT_LOOPS times (then
 * SPRING_ENOFRAMES); the slow path makes at most VM_FAULT_PAGER_TRIES
 * pager calls for one block (then SPRING_EPAGER: the pager keeps taking the
 * block away).  A cache destroyed meanwhile ends the fault with
 * SPRING_EDESTROYED.
 */

/* Resolve a fault at va for access; enter the translation and pin the
 * frame as asked (enum vm_pin).  With ignore_prot the rights are
 * not checked (lock_memory makes guard pages resident too) and nothing is
 * entered in the HAT unless the rights allow the access.
 *
 * Trace records (trace.h) are made where the statistics count: an
 * unmapped address, an access the rights refuse, a page zero-filled or
 * paged in, and the fault's end (handled, or failed in the cache layer). */
static int as_fault_pin(spring_as_t *as, spring_addr_t va, spring_rights_t access, enum vm_pin pin, size_t *frame,
                        bool ignore_prot)
{
    spring_vmm_t *vmm = as->vmm;
    spring_addr_t vpage = va & ~(spring_addr_t)(vmm->page_size - 1);
    unsigned tries = 0, loops = 0;
    uint64_t t0 = spring__trace_t0(vmm);
    for (;;) {
        vm_rdlock(&as->lock);
        struct vm_region *r = region_find(as, vpage);
        if (r == NULL) {
            vm_rwunlock(&as->lock);
            atomic_fetch_add(&as->st_unmapped_faults, 1);
            VM_TRACE(vmm, .kind = SPRING_TRACE_FAULT_UNMAPPED, .result = SPRING_ENOTMAPPED, .as = as->id,
                     .address = va, .access = access);
            if (fault_event(as, SPRING_AS_EVENT_UNMAPPED, va, access, &tries))
                continue;
            return SPRING_ENOTMAPPED;
        }
        struct vm_subregion *sub = sub_find(r, vpage);
        spring_rights_t prot = sub->prot;
        struct vm_cache *c = r->cache;
        /* For trace records: c may go once as->lock is dropped. */
        uint64_t cid = spring__trace_on(vmm) ? spring__cache_id(c) : 0;
        spring_off_t coff = r->cache_off + (vpage - r->start);
        if (!ignore_prot && (prot & access) != access) {
            vm_rwunlock(&as->lock);
            atomic_fetch_add(&as->st_prot_faults, 1);
            VM_TRACE(vmm, .kind = SPRING_TRACE_FAULT_PROTECTION, .result = SPRING_EACCES, .cache = cid,
                     .as = as->id, .address = va, .offset = coff, .access = access);
            if (fault_event(as, SPRING_AS_EVENT_ACCESS, va, access, &tries))
                continue;
            return SPRING_EACCES;
        }
        struct vm_fault f = {
            .off = coff,
            .access = access,
            .rw_ok = (prot & SPRING_RIGHTS_W) != 0,
            .hatctx = as->hatctx,
            .va = vpage,
            .prot = prot,
            .ahead_lo = sub->start,
            .ahead_hi = sub->end,
            .pin = pin,
        };
        int rc;
        if (ignore_prot && (prot & access) != access) {
            rc = SPRING__EAGAIN; /* only make it resident */
        } else {
            rc = spring__cache_fault_fast(c, &f);
        }
        if (rc == SPRING_ENOFRAMES && ++loops <= VM_FAULT_LOOPS) {
            /* The HAT needs a free frame for its tables: make room with no
             * lock held, and enter again. */
            vm_rwunlock(&as->lock);
            if ((rc = spring__pageout_make_room(vmm, vmm->nfree_target)) != 0) {
                trace_fault_end(as, t0, cid, va, coff, access, rc);
                return rc;
            }
            continue;
        }
        if (rc != SPRING__EAGAIN) {
            vm_rwunlock(&as->lock);
            if (rc == 0) {
                atomic_fetch_add(&as->st_faults, 1);
                atomic_fetch_add(&vmm->st_faults, 1);
                if (f.zero_filled) {
                    atomic_fetch_add(&as->st_zero_fills, 1);
                    VM_TRACE(vmm, .kind = SPRING_TRACE_FAULT_ZERO_FILL, .cache = cid, .as = as->id, .address = va,
                             .offset = coff, .access = access);
                }
                *frame = f.frame;
            }
            trace_fault_end(as, t0, cid, va, coff, access, rc);
            return rc;
        }
        spring__cache_ref(c);
        vm_rwunlock(&as->lock);
        uint64_t ts = spring__trace_t0(vmm);
        rc = spring__cache_fault_slow(c, &f);
        spring__cache_unref(c);
        if (rc) {
            trace_fault_end(as, t0, cid, va, coff, access, rc);
            return rc;
        }
        if (f.paged_in) {
            atomic_fetch_add(&as->st_page_ins, 1);
            VM_TRACE(vmm, .kind = SPRING_TRACE_FAULT_PAGE_IN, .cache = cid, .as = as->id, .address = va,
                     .offset = coff, .access = access, .duration_ns = spring__trace_since(ts));
        }
        if (f.zero_filled) {
            atomic_fetch_add(&as->st_zero_fills, 1);
            VM_TRACE(vmm, .kind = SPRING_TRACE_FAULT_ZERO_FILL, .cache = cid, .as = as->id, .address = va,
                     .offset = coff, .access = access, .duration_ns = spring__trace_since(ts));
        }
        f.paged_in = f.zero_filled = false;
        if (ignore_prot && (prot & access) != access)
            return 0;
        if (++loops > VM_FAULT_LOOPS) {
            trace_fault_end(as, t0, cid, va, coff, access, SPRING_ENOFRAMES);
            return SPRING_ENOFRAMES;
        }
    }
}

int spring__as_fault_fast(spring_as_t *as, spring_addr_t va, spring_rights_t access, size_t *frame)
{
    return as_fault_pin(as, va, access, VM_PIN_FAST, frame, false);
}

int spring_as_fault(spring_as_t *as, spring_addr_t address, spring_rights_t access)
{
    AS_API_ENTER(as);
    size_t f;
    if (as == NULL || !valid_access(access))
        return SPRING_EINVAL;
    return as_fault_pin(as, address, access, VM_PIN_NONE, &f, false);
}

/* Translate with a pin: the HAT's fast path, else a fault. */
static inline __attribute__((always_inline)) int translate_pin(spring_as_t *as, spring_addr_t va,
                                                            spring_rights_t access, size_t *frame)
{
    spring_vmm_t *vmm = as->vmm;
    bool w = (access & SPRING_RIGHTS_W) != 0;
    size_t f, f2;
    if (spring__hat_translate(vmm, as->hatctx, va, access, &f) == 0) {
        struct vm_frame *fr = &vmm->frames[f];
        atomic_fetch_add(&fr->pins, 1);
        if (w)
            atomic_fetch_add(&fr->wpins, 1);
        /* Re-validate after pinning (see spring__cache_evict). */
        if (spring__hat_translate(vmm, as->hatctx, va, access, &f2) == 0 && f2 == f) {
            /* A plain (not locked) increment: under concurrency the count is
             * approximate, and the hot path stays free of a third locked
             * instruction. */
            atomic_store_explicit(&as->st_tlb_hits,
                                  atomic_load_explicit(&as->st_tlb_hits, memory_order_relaxed) + 1,
                                  memory_order_relaxed);
            *frame = f;
            return 0;
        }
        spring__frame_unpin(vmm, fr, w);
    }
    return as_fault_pin(as, va, access, w ? VM_PIN_WRITE : VM_PIN_READ, frame, false);
}

int spring_as_translate(spring_as_t *as, spring_addr_t address, spring_rights_t access, void **ptr,
                        spring_pin_t *pin)
{
    AS_API_ENTER(as);
    if (as == NULL || ptr == NULL || pin == NULL || !valid_access(access))
        return SPRING_EINVAL;
    size_t f;
    int rc = translate_pin(as, address, access, &f);
    if (rc)
        return rc;
    spring_vmm_t *vmm = as->vmm;
    *ptr = (uint8_t *)spring__frame_addr(vmm, f) + (address & (vmm->page_size - 1));
    pin->vmm = vmm;
    pin->frame = &vmm->frames[f];
    pin->access = access;
    return 0;
}

void spring_pin_release(spring_pin_t *pin)
{
    if (pin == NULL || pin->frame == NULL)
        return;
    spring__frame_unpin(pin->vmm, pin->frame, (pin->access & SPRING_RIGHTS_W) != 0);
    pin->frame = NULL;
    pin->vmm = NULL;
}

bool spring_pin_valid(const spring_pin_t *pin)
{
    if (pin == NULL || pin->frame == NULL)
        return false;
    /* A pinned frame taken from its cache is always an orphan until its
     * last pin goes (spring__frames_free). */
    struct vm_frame *f = pin->frame;
    return !atomic_load(&f->orphan);
}

static inline __attribute__((always_inline)) int as_copy(spring_as_t *as, spring_addr_t address, void *buf,
                                                      const void *src, size_t len)
{
    if (as == NULL || (len > 0 && buf == NULL && src == NULL))
        return SPRING_EINVAL;
    /* A range wrapping around 2^64 covers the top page, which no address
     * space can map (as.h documents no ERANGE here). */
    if (address + len < address)
        return SPRING_ENOTMAPPED;
    spring_vmm_t *vmm = as->vmm;
    spring_rights_t access = src ? SPRING_RIGHTS_W : SPRING_RIGHTS_R;
    size_t done = 0;
    while (done < len) {
        spring_addr_t a = address + done;
        size_t in_page = vmm->page_size - (size_t)(a & (vmm->page_size - 1));
        size_t n = SPRING__MIN(in_page, len - done);
        size_t f;
        int rc = translate_pin(as, a, access, &f);
        if (rc)
            return rc;
        uint8_t *p = (uint8_t *)spring__frame_addr(vmm, f) + (a & (vmm->page_size - 1));
        if (src)
            memcpy(p, (const uint8_t *)src + done, n);
        else
            memcpy((uint8_t *)buf + done, p, n);
        spring__frame_unpin(vmm, &vmm->frames[f], src != NULL);
        done += n;
    }
    return 0;
}

int spring_as_read(spring_as_t *as, spring_addr_t address, void *buf, size_t len)
{
    AS_API_ENTER(as);
    if (buf == NULL && len > 0)
        return SPRING_EINVAL;
    return as_copy(as, address, buf, NULL, len);
}

int spring_as_write(spring_as_t *as, spring_addr_t address, const void *buf, size_t len)
{
    AS_API_ENTER(as);
    if (buf == NULL && len > 0)
        return SPRING_EINVAL;
    return as_copy(as, address, NULL, buf, len);
}

/* ------------------------------------------------------------------ */
/* Consistency check of one address space.  => vmm->as_list_lock held  */
/* (the checker walks the list), no other lock.                         */

int spring__as_check(spring_as_t *as, const char **why)
{
    vm_assert_held(&as->vmm->as_list_lock);
    int rc = 0;
    vm_rdlock(&as->lock);
    struct vm_region *r, *prev = NULL;
    size_t n = 0;
    spring_off_t mapped = 0;
    for (r = rt_first(&as->idx); r != NULL; r = region_next(as, r)) {
        n++;
        mapped += r->end - r->start;
        if (r->start >= r->end || r->start < as->base || r->end > as->limit) {
            *why = "region empty or outside the address space";
            rc = SPRING_EPROTO;
            break;
        }
        if (prev && prev->start >= r->start) { /* a start that is not its key */
            *why = "region index out of order";
            rc = SPRING_EPROTO;
            break;
        }
        if (prev && prev->end > r->start) {
            *why = "regions overlap";
            rc = SPRING_EPROTO;
            break;
        }
        if (r->nsub == 0 || r->sub[0].start != r->start || r->sub[r->nsub - 1].end != r->end) {
            *why = "subregion map does not cover its region";
            rc = SPRING_EPROTO;
            break;
        }
        for (size_t i = 0; i < r->nsub; i++) {
            const struct vm_subregion *s = &r->sub[i];
            if (s->start >= s->end || (i > 0 && r->sub[i - 1].end != s->start)) {
                *why = "subregion map has a gap or an empty run";
                rc = SPRING_EPROTO;
                break;
            }
            if (s->prot != SPRING_RIGHTS_NONE && !spring_rights_subset(s->prot, r->maxprot)) {
                *why = "page rights exceed the binding's rights";
                rc = SPRING_EPROTO;
                break;
            }
        }
        if (rc)
            break;
        prev = r;
    }
    const char *rwhy = rc == 0 ? rt_check(&as->idx) : NULL;
    if (rwhy != NULL) {
        *why = rwhy;
        rc = SPRING_EPROTO;
    }
    if (rc == 0 && as->idx.n != n) {
        *why = "region index count wrong";
        rc = SPRING_EPROTO;
    }
    for (r = rt_first(&as->idx); r != NULL; r = region_next(as, r)) {
        if (rc != 0)
            break;
        if (rt_find_le(&as->idx, r->start) != r) {
            *why = "region index does not lead to a region";
            rc = SPRING_EPROTO;
        }
    }
    /* The free-space hint: no gap that begins below it is longer than
     * free_hole (find_free relies on it to skip the space below). */
    vm_lock(&as->free_lock);
    spring_addr_t hint = as->free_hint;
    spring_off_t hole = as->free_hole;
    vm_unlock(&as->free_lock);
    spring_addr_t gap = as->base;
    for (r = rt_first(&as->idx); rc == 0 && r != NULL && gap < hint; r = region_next(as, r)) {
        if (r->start > gap && r->start - gap > hole) {
            *why = "a gap below the free-space hint is longer than the hint allows";
            rc = SPRING_EPROTO;
        }
        gap = r->end;
    }
    if (rc == 0 && gap < hint && as->limit - gap > hole) {
        *why = "the free-space hint lies beyond a gap longer than it allows";
        rc = SPRING_EPROTO;
    }
    if (rc == 0 && (n != as->nregions || mapped != as->mapped)) {
        *why = "address-space region count or size wrong";
        rc = SPRING_EPROTO;
    }
    vm_rwunlock(&as->lock);
    return rc;
}
