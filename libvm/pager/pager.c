/*
 * pager.c - the dispatch layer in front of the pager interface's vtables
 * (pagercall.h): the only code that calls a pager object, a memory object
 * or a swap pager.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cache/cache_int.h" /* the cache layout; includes vm_int.h and pagercall.h */

/* ------------------------------------------------------------------ */
/* The vtables' versions and required slots.                            */

int spring__pager_ops_check(const spring_pager_ops_t *ops)
{
    if (ops == NULL)
        return SPRING_EINVAL;
    if (ops->version < 1 || ops->version > SPRING_PAGER_OPS_VERSION)
        return SPRING_EVERSION;
    return ops->page_in == NULL || ops->page_out == NULL ? SPRING_EINVAL : 0;
}

int spring__mobj_ops_check(const spring_mobj_ops_t *ops)
{
    if (ops == NULL)
        return SPRING_EINVAL;
    if (ops->version < 1 || ops->version > SPRING_MOBJ_OPS_VERSION)
        return SPRING_EVERSION;
    return ops->bind == NULL || ops->final_bind == NULL ? SPRING_EINVAL : 0;
}

int spring__swap_ops_check(const spring_swap_pager_ops_t *ops)
{
    if (ops == NULL)
        return SPRING_EINVAL;
    if (ops->version < 1 || ops->version > SPRING_SWAP_PAGER_OPS_VERSION)
        return SPRING_EVERSION;
    return ops->create_mobj == NULL ? SPRING_EINVAL : 0;
}

/* ------------------------------------------------------------------ */
/* Statistics and return codes.                                         */

static void count(struct vm_cache *c, int what, uint64_t ns, int rc, uint64_t bytes_in, uint64_t bytes_out)
{
    struct vm_pstats *s = &c->pst;
    atomic_fetch_add_explicit(&s->calls[what], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->ns, ns, memory_order_relaxed);
    if (rc == SPRING_ENOSPC && what != VM_PST_PAGE_IN)
        atomic_fetch_add_explicit(&s->nospace, 1, memory_order_relaxed);
    else if (rc != 0)
        atomic_fetch_add_explicit(&s->failures, 1, memory_order_relaxed);
    if (bytes_in)
        atomic_fetch_add_explicit(&s->bytes_in, bytes_in, memory_order_relaxed);
    if (bytes_out)
        atomic_fetch_add_explicit(&s->bytes_out, bytes_out, memory_order_relaxed);
}

/* A pager method's code as the VMM reports it: negative SPRING_E* codes
 * are the pager's failures (SPRING_EPAGER), anything else that is not 0
 * breaks the protocol (SPRING_EPROTO). */
static int pager_rc(int rc)
{
    if (rc == 0)
        return 0;
    if (rc > 0 || rc <= SPRING__ERR_MIN)
        return SPRING_EPROTO;
    return SPRING_EPAGER;
}

/* Whether to call a pager again after a failure (§5.1: the VMM waits for
 * its default pagers).  Calls of a system-privilege pager that fail with a
 * pager error are retried SPRING_SYSTEM_RETRIES times, 1 ms apart; an
 * ordinary pager's failure stands at once.  A block whose page-out was
 * refused stays cached and modified either way, so nothing is lost. */
static bool system_retry(const struct vm_cache *c, int rc, unsigned attempt)
{
    if (rc >= 0 || rc <= SPRING__ERR_MIN || c->priv != SPRING_PRIV_SYSTEM || attempt >= SPRING_SYSTEM_RETRIES)
        return false;
    struct timespec ts = {0, 1000 * 1000};
    nanosleep(&ts, NULL);
    return true;
}

static const char *const push_names[] = {"page_out", "sync", "write_out"};

/* The trace record of a call to c's pager (trace.h): the pager's own code,
 * the time inside it. */
static void trace_call(struct vm_cache *c, int kind, uint64_t ns, int rc, spring_off_t off, spring_off_t size,
                       spring_rights_t access)
{
    VM_TRACE(c->vmm, .kind = (uint32_t)kind, .result = rc, .cache = c->id, .offset = off, .length = size,
             .access = access, .duration_ns = ns);
}

/* ------------------------------------------------------------------ */
/* Pager objects.                                                       */

int spring__pager_page_in(struct vm_cache *c, spring_off_t off, spring_off_t size, spring_rights_t access,
                          spring_ownership_t *own, spring_page_buf_t *dst)
{
    spring__assert_no_locks("pager page_in");
    int rc;
    for (unsigned attempt = 0;; attempt++) {
        memset(dst->zero, 0, dst->npages);
        uint64_t t0 = spring__now_ns();
        rc = c->pops->page_in(c->pager, off, size, access, own, dst);
        uint64_t ns = spring__now_ns() - t0;
        count(c, VM_PST_PAGE_IN, ns, rc, rc == 0 ? size : 0, 0);
        trace_call(c, SPRING_TRACE_PAGE_IN, ns, rc, off, size, access);
        atomic_fetch_add(&c->vmm->st_page_ins, 1);
        if (rc == SPRING_ERANGE)
            break; /* past the end of the object: an answer, not a failure to retry */
        if (!system_retry(c, rc, attempt))
            break;
    }
    if (rc == SPRING_ERANGE) {
        spring__set_error(rc, "the pager's page_in(offset %#llx, size %#llx): past the end of the object",
                          (unsigned long long)off, (unsigned long long)size);
        return SPRING_ERANGE; /* passed through: the access fails as SIGBUS would */
    }
    if (rc != 0)
        spring__set_error(rc, "the pager's page_in(offset %#llx, size %#llx) failed", (unsigned long long)off,
                          (unsigned long long)size);
    return pager_rc(rc);
}

int spring__pager_push(struct vm_cache *c, int how, spring_off_t off, spring_off_t size, spring_ownership_t *own,
                       const spring_data_t *data)
{
    spring__assert_no_locks("pager page_out/sync/write_out");
    int rc;
    for (unsigned attempt = 0;; attempt++) {
        uint64_t t0 = spring__now_ns();
        if (how == VM_PUSH_SYNC)
            rc = c->pops->sync(c->pager, off, size, own, data);
        else if (how == VM_PUSH_WRITE_OUT)
            rc = c->pops->write_out(c->pager, off, size, own, data);
        else
            rc = c->pops->page_out(c->pager, off, size, own, data);
        uint64_t ns = spring__now_ns() - t0;
        count(c, how == VM_PUSH_SYNC ? VM_PST_SYNC : how == VM_PUSH_WRITE_OUT ? VM_PST_WRITE_OUT : VM_PST_PAGE_OUT,
              ns, rc, 0, size);
        trace_call(c,
                   how == VM_PUSH_SYNC        ? SPRING_TRACE_SYNC
                   : how == VM_PUSH_WRITE_OUT ? SPRING_TRACE_WRITE_OUT
                                              : SPRING_TRACE_PAGE_OUT,
                   ns, rc, off, size, SPRING_RIGHTS_NONE);
        atomic_fetch_add(how == VM_PUSH_OUT ? &c->vmm->st_page_outs : &c->vmm->st_write_backs, 1);
        if (rc == SPRING_ENOSPC)
            break; /* no room at the pager (a full swap): a state, not a failure to retry */
        if (!system_retry(c, rc, attempt))
            break;
    }
    if (rc == SPRING_ENOSPC) {
        atomic_fetch_add(&c->vmm->st_nospace, 1);
        spring__set_error(rc, "the pager has no space for %s(offset %#llx, size %#llx)", push_names[how],
                          (unsigned long long)off, (unsigned long long)size);
        return SPRING_ENOSPC;
    }
    if (rc != 0)
        spring__set_error(rc, "the pager's %s(offset %#llx, size %#llx) failed", push_names[how],
                          (unsigned long long)off, (unsigned long long)size);
    return pager_rc(rc);
}

int spring__pager_zero_fill_range(struct vm_cache *c, spring_off_t off, spring_off_t size,
                                  spring_ownership_t *own)
{
    spring__assert_no_locks("pager zero_fill_range");
    if (c->pops->zero_fill_range == NULL)
        return 0;
    uint64_t t0 = spring__now_ns();
    int rc = c->pops->zero_fill_range(c->pager, off, size, own);
    uint64_t ns = spring__now_ns() - t0;
    count(c, VM_PST_OTHER, ns, rc, 0, 0);
    trace_call(c, SPRING_TRACE_ZERO_FILL_RANGE, ns, rc, off, size, SPRING_RIGHTS_NONE);
    if (rc != 0)
        spring__set_error(rc, "the pager's zero_fill_range(offset %#llx, size %#llx) failed",
                          (unsigned long long)off, (unsigned long long)size);
    return pager_rc(rc);
}

void spring__pager_done_with_cache(struct vm_cache *c, spring_ownership_t *own)
{
    spring__assert_no_locks("pager done_with_cache");
    if (c->pops->done_with_cache == NULL)
        return;
    uint64_t t0 = spring__now_ns();
    c->pops->done_with_cache(c->pager, own);
    uint64_t ns = spring__now_ns() - t0;
    count(c, VM_PST_OTHER, ns, 0, 0, 0);
    trace_call(c, SPRING_TRACE_DONE_WITH_CACHE, ns, 0, 0, 0, SPRING_RIGHTS_NONE);
}

void spring__pager_done_with_pager_object(struct vm_cache *c)
{
    spring__assert_no_locks("pager done_with_pager_object");
    if (c->pops->done_with_pager_object == NULL)
        return;
    uint64_t t0 = spring__now_ns();
    c->pops->done_with_pager_object(c->pager);
    uint64_t ns = spring__now_ns() - t0;
    count(c, VM_PST_OTHER, ns, 0, 0, 0);
    trace_call(c, SPRING_TRACE_DONE_WITH_PAGER_OBJECT, ns, 0, 0, 0, SPRING_RIGHTS_NONE);
}

int spring__pager_keep_how(const struct vm_cache *c)
{
    return c->pops->sync ? VM_PUSH_SYNC : c->pops->write_out ? VM_PUSH_WRITE_OUT : -1;
}

/* ------------------------------------------------------------------ */
/* Memory objects.                                                      */

int spring__mobj_bind(spring_mobj_t *m, const char *vmm_name, spring_rights_t access, spring_off_t off,
                      spring_off_t *length, spring_cache_rights_t *rights, spring_off_t *cache_off, long *flags)
{
    spring__assert_no_locks("memory object bind");
    int rc = m->ops->bind(m->self, vmm_name, access, off, length, rights, cache_off, flags);
    if (rc != 0)
        spring__set_error(rc, "the memory object's bind(offset %#llx) failed", (unsigned long long)off);
    return rc;
}

int spring__mobj_final_bind(spring_mobj_t *m, spring_bind_key_t key, const char *vmm_name, spring_rights_t access,
                            spring_off_t off, spring_off_t length, long *flags)
{
    spring__assert_no_locks("memory object final_bind");
    int rc = m->ops->final_bind(m->self, key, vmm_name, access, off, length, flags);
    if (rc != 0)
        spring__set_error(rc, "the memory object's final_bind(offset %#llx) failed", (unsigned long long)off);
    return rc;
}

int spring_mobj_get_length(spring_mobj_t *mobj, spring_off_t *length)
{
    if (mobj == NULL || length == NULL)
        return SPRING_EINVAL;
    if (mobj->ops->get_length == NULL)
        return SPRING_ENOSYS;
    spring__assert_no_locks("memory object get_length");
    int rc = mobj->ops->get_length(mobj->self, length);
    return rc > 0 ? SPRING_EPROTO : rc;
}

int spring_mobj_set_length(spring_mobj_t *mobj, spring_off_t length)
{
    if (mobj == NULL)
        return SPRING_EINVAL;
    if (mobj->ops->set_length == NULL)
        return SPRING_ENOSYS;
    spring__assert_no_locks("memory object set_length");
    int rc = mobj->ops->set_length(mobj->self, length);
    return rc > 0 ? SPRING_EPROTO : rc;
}

const void *spring_mobj_query(spring_mobj_t *mobj, const char *name, int version)
{
    if (mobj == NULL || name == NULL || mobj->ops->version < 2 || mobj->ops->query == NULL)
        return NULL;
    spring__assert_no_locks("memory object query");
    return mobj->ops->query(mobj->self, name, version);
}

void spring__mobj_release(spring_mobj_t *m)
{
    spring__assert_no_locks("memory object release");
    if (m->ops->release)
        m->ops->release(m->self);
}

/* ------------------------------------------------------------------ */
/* Swap pagers.                                                         */

int spring__swap_create_mobj(const struct vm_swap *s, spring_off_t length, spring_mobj_t **out)
{
    spring__assert_no_locks("swap pager create_mobj");
    *out = NULL;
    int rc = s->ops->create_mobj(s->self, length, out);
    if (rc == 0 && *out == NULL)
        rc = SPRING_EPROTO;
    if (rc > 0 || rc <= SPRING__ERR_MIN)
        rc = SPRING_EPROTO;
    if (rc != 0)
        spring__set_error(rc, "the swap pager's create_mobj(length %#llx) failed", (unsigned long long)length);
    return rc;
}

void spring__swap_release(const struct vm_swap *s)
{
    spring__assert_no_locks("swap pager release");
    if (s->ops->release)
        s->ops->release(s->self);
}
