/*
 * qsbr.c - translations that cost about a load (architecture decision 9):
 * spring_as_translate_fast() and the quiescent-state-based reclamation
 * (QSBR) behind it, using liburcu's QSBR flavour.
 *
 * A registered thread keeps a small direct-mapped cache of translations
 * (address space, page) -> host address of the frame.  A hit checks the
 * entry against the VMM's revocation generation (fgen, bumped after every
 * revocation of a translation: unmap, protect, eviction and every HAT
 * removal, hatcall.h) and returns: plain loads, no atomic read-modify-write.
 * A pointer so obtained stays usable until the thread's next quiescent
 * point.  The VMM makes that safe with grace periods (a period in which
 * every registered thread passed a quiescent point):
 *
 *   - frames of a block a fast translation reached are not reused until a
 *     grace period has passed after they were freed (spring__frames_free_
 *     deferred): a late reader reads the old data of the old frame;
 *   - a fast translation for writing is handed out only for a block marked
 *     modified, and before the VMM reads such a block's data to write it
 *     back and marks it clean, a grace period must pass (spring__block_
 *     fast_settle in block.c), so no write escapes dirty tracking;
 *   - an upgrade never writes into frames fast readers may be reading.
 *
 * A registered thread that never passes a quiescent point stops grace
 * periods: the calls that need one then fail with SPRING_EQUIESCE after a
 * second (frames are never reused early).
 *
 * Grace periods are asked of liburcu with call_rcu, one at a time; the
 * callback (in liburcu's worker thread, holding no VMM lock) frees the
 * frames deferred before it began, records the completed sequence and
 * wakes waiters on frame_cv.  Locks: gp_* fields and the deferred lists
 * under vmm->page_lock.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <urcu-qsbr.h>

#include "cache/cache_int.h"

/* ------------------------------------------------------------------ */
/* Threads.                                                             */

#define FTLB_SIZE 256

/* 32 bytes, so that an entry never straddles a cache line. */
struct ftlb_ent {
    const spring_as_t *as;
    uint64_t tag;     /* vpn + 1; 0 = empty */
    uint64_t gen;     /* the VMM's fgen when it was filled */
    uintptr_t page;   /* host address of the page | the accesses it serves (pages are 4 KiB aligned
                         at least, so the low bits are free) */
};
#define FTLB_PROT_MASK ((uintptr_t)SPRING_RIGHTS_RWX)

/* initial-exec: a thread-local access in the hit path is one load, not a call. */
static _Thread_local struct ftlb_ent *tl_tlb __attribute__((tls_model("initial-exec")));
static _Thread_local bool tl_registered __attribute__((tls_model("initial-exec")));
/* Threads registered now: while there is none, no fast translation can be
 * reading an address space's record (spring__as_free_deferred). */
static atomic_uint nregistered;

int spring_thread_register(void)
{
    if (tl_registered)
        return 0;
    struct ftlb_ent *t = aligned_alloc(64, FTLB_SIZE * sizeof *t);
    if (t != NULL)
        memset(t, 0, FTLB_SIZE * sizeof *t);
    if (t == NULL)
        return SPRING_ENOMEM;
    tl_tlb = t;
    atomic_fetch_add(&nregistered, 1);
    urcu_qsbr_register_thread();
    tl_registered = true;
    return 0;
}

void spring_thread_unregister(void)
{
    if (!tl_registered)
        return;
    urcu_qsbr_unregister_thread();
    free(tl_tlb);
    tl_tlb = NULL;
    tl_registered = false;
    atomic_fetch_sub(&nregistered, 1);
}

void spring_quiescent(void)
{
    if (tl_registered)
        urcu_qsbr_quiescent_state();
}

void spring__qs_offline(void)
{
    if (tl_registered)
        urcu_qsbr_thread_offline();
}

void spring__qs_online(void)
{
    if (tl_registered)
        urcu_qsbr_thread_online();
}

/* ------------------------------------------------------------------ */
/* Grace periods.                                                       */

struct vm_gp {
    struct rcu_head head;
    spring_vmm_t *vmm;
};

static void gp_done_cb(struct rcu_head *h);

/* Start a grace period now.  => page_lock held, none running. */
static void gp_start_locked(spring_vmm_t *vmm)
{
    vm_assert_held(&vmm->page_lock);
    vmm->gp_seq++;
    vmm->gp_inflight = true;
    TAILQ_CONCAT(&vmm->defer_pending, &vmm->defer_wait, fq);
    call_rcu(&vmm->gp->head, gp_done_cb);
}

uint64_t spring__gp_request_locked(spring_vmm_t *vmm)
{
    vm_assert_held(&vmm->page_lock);
    if (!vmm->gp_inflight) {
        gp_start_locked(vmm);
        return vmm->gp_seq;
    }
    vmm->gp_again = true; /* the running one may have begun before the caller's change */
    return vmm->gp_seq + 1;
}

/* A grace period ended (liburcu's worker thread, no VMM lock held). */
static void gp_done_cb(struct rcu_head *h)
{
    struct vm_gp *gp = (struct vm_gp *)(void *)h;
    spring_vmm_t *vmm = gp->vmm;
    vm_lock(&vmm->page_lock);
    vmm->gp_done = vmm->gp_seq;
    struct vm_frame *f;
    while ((f = TAILQ_FIRST(&vmm->defer_pending)) != NULL) {
        TAILQ_REMOVE(&vmm->defer_pending, f, fq);
        vmm->ndeferred--;
        f->fastfree = false;
        f->onfree = true;
        TAILQ_INSERT_TAIL(&vmm->freeq, f, fq);
        vmm->nfree++;
    }
    vmm->gp_inflight = false;
    if (vmm->gp_again || !TAILQ_EMPTY(&vmm->defer_wait)) {
        vmm->gp_again = false;
        gp_start_locked(vmm);
    }
    spring__frame_event_locked(vmm);
    vm_unlock(&vmm->page_lock);
}

int spring__gp_init(spring_vmm_t *vmm)
{
    static atomic_uint_fast64_t gens;
    struct vm_gp *gp = calloc(1, sizeof *gp);
    if (gp == NULL)
        return SPRING_ENOMEM;
    gp->vmm = vmm;
    vmm->gp = gp;
    TAILQ_INIT(&vmm->defer_wait);
    TAILQ_INIT(&vmm->defer_pending);
    /* Each VMM's generations start far from every other's, so that a
     * thread's cached entry for a destroyed VMM never matches a new one. */
    atomic_init(&vmm->fgen, atomic_fetch_add(&gens, (uint_fast64_t)1 << 40) + ((uint_fast64_t)1 << 40));
    return 0;
}

void spring__frames_free_deferred(spring_vmm_t *vmm, const size_t *fr, size_t n)
{
    vm_assert_unheld(&vmm->page_lock);
    vm_lock(&vmm->page_lock);
    if (vmm->gp_closed) { /* the VMM is going: no address space, no reader */
        vm_unlock(&vmm->page_lock);
        spring__frames_free(vmm, fr, n);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        struct vm_frame *f = &vmm->frames[fr[i]];
        f->block = NULL;
        f->fastfree = true;
        atomic_store(&f->orphan, true);
        if (atomic_load(&f->pins) != 0)
            continue; /* an orphan: its last unpin defers it (frame.c) */
        bool t = true;
        if (!atomic_compare_exchange_strong(&f->orphan, &t, false))
            continue;
        TAILQ_INSERT_TAIL(&vmm->defer_wait, f, fq);
        vmm->ndeferred++;
    }
    if (!vmm->gp_inflight && !TAILQ_EMPTY(&vmm->defer_wait))
        gp_start_locked(vmm);
    vm_unlock(&vmm->page_lock);
}

/* Defer one frame whose last pin went.  => page_lock held. */
void spring__frame_defer_locked(spring_vmm_t *vmm, struct vm_frame *f)
{
    vm_assert_held(&vmm->page_lock);
    TAILQ_INSERT_TAIL(&vmm->defer_wait, f, fq);
    vmm->ndeferred++;
    if (!vmm->gp_inflight)
        gp_start_locked(vmm);
}

/* Wait, with page_lock held, until grace period s has completed or the
 * deadline passes.  The thread is quiescent meanwhile. */
static int gp_wait_locked(spring_vmm_t *vmm, uint64_t s, const struct timespec *deadline)
{
    int rc = 0;
    atomic_fetch_add(&vmm->cv_waiters, 1);
    spring__qs_offline();
    while (vmm->gp_done < s && rc == 0)
        if (vm_cond_timedwait(&vmm->frame_cv, &vmm->page_lock, deadline) != 0 && vmm->gp_done < s)
            rc = SPRING_EQUIESCE;
    spring__qs_online();
    atomic_fetch_sub(&vmm->cv_waiters, 1);
    return rc;
}

static void deadline_in(struct timespec *ts, int sec)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += sec;
}

int spring__gp_wait(spring_vmm_t *vmm)
{
    struct timespec deadline;
    deadline_in(&deadline, 1);
    vm_lock(&vmm->page_lock);
    int rc = gp_wait_locked(vmm, spring__gp_request_locked(vmm), &deadline);
    vm_unlock(&vmm->page_lock);
    if (rc == SPRING_EQUIESCE)
        spring__set_error(rc, "a grace period did not end within a second");
    return rc;
}

int spring__gp_drain(spring_vmm_t *vmm)
{
    struct timespec deadline;
    deadline_in(&deadline, 1);
    int rc = 0;
    bool used = false;
    vm_lock(&vmm->page_lock);
    while (rc == 0 && (vmm->gp_inflight || vmm->ndeferred != 0)) {
        used = true;
        if (!vmm->gp_inflight)
            gp_start_locked(vmm);
        rc = gp_wait_locked(vmm, vmm->gp_seq, &deadline);
    }
    used |= vmm->gp_seq != 0;
    if (rc == 0)
        vmm->gp_closed = true; /* frames freed from now on go back at once */
    vm_unlock(&vmm->page_lock);
    if (rc == 0 && used) {
        /* The last callback may still be returning: let it finish. */
        spring__qs_offline();
        urcu_qsbr_barrier();
        spring__qs_online();
    }
    if (rc != 0)
        spring__set_error(rc, "grace periods did not end within a second");
    return rc;
}

void spring__gp_fini(spring_vmm_t *vmm)
{
    free(vmm->gp);
    vmm->gp = NULL;
}

/* ------------------------------------------------------------------ */
/* A destroyed address space's record.                                  */

_Static_assert(sizeof(struct rcu_head) <= sizeof(struct vm_rcu_head) &&
                   _Alignof(struct rcu_head) <= _Alignof(struct vm_rcu_head),
               "struct vm_rcu_head cannot hold liburcu's struct rcu_head");

static void as_free_cb(struct rcu_head *h)
{
    free((char *)h - offsetof(spring_as_t, rcu));
}

/* The hit path of spring_as_translate_fast() reads the record (page_shift,
 * fgenp) with no count and no lock, between two quiescent points of a
 * registered thread: so the record goes after a grace period.  By then
 * every later call finds its translations stale (destroy's unmap bumped
 * fgen) and enters the slow path, which fails once the space is dying. */
void spring__as_free_deferred(spring_as_t *as)
{
    if (atomic_load(&nregistered) == 0) {
        free(as);
        return;
    }
    call_rcu((struct rcu_head *)(void *)&as->rcu, as_free_cb);
}

/* ------------------------------------------------------------------ */
/* The fast translation.                                                */

static size_t ftlb_index(const spring_as_t *as, uint64_t vpn)
{
    return (size_t)((vpn ^ ((uintptr_t)as >> 6)) & (FTLB_SIZE - 1));
}

int spring_as_translate_fast(spring_as_t *as, spring_addr_t address, spring_rights_t access, void **ptr)
{
    struct ftlb_ent *t = tl_tlb;
    if (t != NULL && as != NULL && ptr != NULL) {
        uint64_t vpn = address >> as->page_shift;
        const struct ftlb_ent *e = &t[ftlb_index(as, vpn)];
        if (e->tag == vpn + 1 && e->as == as && (e->page & access) == (uintptr_t)access && access != 0 &&
            e->gen == atomic_load_explicit(as->fgenp, memory_order_acquire)) {
            *ptr = (uint8_t *)(e->page & ~FTLB_PROT_MASK) + (address & (((spring_addr_t)1 << as->page_shift) - 1));
            return 0;
        }
    }
    return spring__translate_fast_slow(as, address, access, ptr);
}

static int translate_fast_slow(spring_as_t *as, spring_addr_t address, spring_rights_t access, void **ptr);

int spring__translate_fast_slow(spring_as_t *as, spring_addr_t address, spring_rights_t access, void **ptr)
{
    if (as == NULL || ptr == NULL ||
        (access != SPRING_RIGHTS_R && access != SPRING_RIGHTS_W && access != SPRING_RIGHTS_X))
        return SPRING_EINVAL;
    if (!tl_registered) {
        spring__set_error(SPRING_EINVAL, "spring_as_translate_fast: the thread is not registered");
        return SPRING_EINVAL;
    }
    /* A call in progress, which spring_as_destroy waits for (as.c). */
    struct vm_as_call call;
    if (!spring__as_enter(as, &call))
        return SPRING_EDESTROYED;
    int rc = translate_fast_slow(as, address, access, ptr);
    spring__as_leave(&call);
    return rc;
}

/* => the call on as entered. */
static int translate_fast_slow(spring_as_t *as, spring_addr_t address, spring_rights_t access, void **ptr)
{
    spring_vmm_t *vmm = as->vmm;
    if (!(spring__hat_flags(vmm) & SPRING_HAT_FAST))
        return SPRING_ENOSYS; /* the backend sees every access */
    atomic_store(&vmm->fast_active, true);
    /* The generation before the translation is resolved: a revocation
     * after this point makes the entry stale (a pointer handed out now is
     * covered by the grace period the revoker waits for). */
    uint64_t gen = atomic_load_explicit(&vmm->fgen, memory_order_acquire);
    size_t f;
    int rc = spring__as_fault_fast(as, address, access, &f);
    if (rc != 0)
        return rc;
    uint8_t *page = spring__frame_addr(vmm, f);
    uint64_t vpn = address >> vmm->page_shift;
    struct ftlb_ent *e = &tl_tlb[ftlb_index(as, vpn)];
    e->as = as;
    e->tag = vpn + 1;
    e->gen = gen;
    /* A write translation serves reads too; a read one is upgraded by the
     * slow path (which marks the block modified) on the first write. */
    e->page = (uintptr_t)page | (uintptr_t)(access == SPRING_RIGHTS_W ? SPRING_RIGHTS_RW : access);
    *ptr = page + (address & (vmm->page_size - 1));
    return 0;
}
