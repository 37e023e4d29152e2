/*
 * trace.c - the VMM's event trace (paper §9.9): the ring of records
 * (vmtrace.h) and its public calls (include/spring/trace.h).
 *
 * Locks: vmm->trace_lock guards vmm->trace; vmm->trace_on mirrors
 * trace.cap != 0 for the record points' unlocked check and is written
 * under the lock.  The lock is a leaf (docs/locking.md row 15): it is held
 * only to copy records in or out.
 */
#include <stdlib.h>
#include <string.h>

#include "cache_int.h"

/* ------------------------------------------------------------------ */
/* Kinds.                                                               */

#define CHECK_KIND(name, value, text) \
    _Static_assert(SPRING_TRACE_##name == (value), "spring_trace_kind_t differs from SPRING_TRACE_KIND_MAP");
SPRING_TRACE_KIND_MAP(CHECK_KIND)
#undef CHECK_KIND

const char *spring_trace_kind_name(int kind)
{
    switch (kind) {
#define KIND_NAME(name, value, text) \
    case (value):                    \
        return (text);
        SPRING_TRACE_KIND_MAP(KIND_NAME)
#undef KIND_NAME
    default:
        return "unknown";
    }
}

/* ------------------------------------------------------------------ */
/* The ring.                                                            */

/* Numbers for the threads that record, in the order they first do. */
static atomic_uint next_thread;
static _Thread_local uint32_t this_thread;

int spring__trace_init(spring_vmm_t *vmm, size_t cap)
{
    vm_mutex_init(&vmm->trace_lock, VM_RANK_TRACE);
    memset(&vmm->trace, 0, sizeof vmm->trace);
    atomic_init(&vmm->trace_on, false);
    if (cap == 0)
        return 0;
    vmm->trace.ring = calloc(cap, sizeof *vmm->trace.ring);
    if (vmm->trace.ring == NULL)
        return SPRING_ENOMEM; /* spring__trace_fini() undoes the rest */
    vmm->trace.cap = cap;
    atomic_store(&vmm->trace_on, true);
    return 0;
}

void spring__trace_fini(spring_vmm_t *vmm)
{
    free(vmm->trace.ring);
    vmm->trace.ring = NULL;
    vm_mutex_destroy(&vmm->trace_lock);
}

void spring__trace_put(spring_vmm_t *vmm, spring_trace_record_t *r)
{
    if (this_thread == 0)
        this_thread = atomic_fetch_add(&next_thread, 1) + 1;
    r->thread = this_thread;
    vm_lock(&vmm->trace_lock);
    struct vm_trace *t = &vmm->trace;
    if (t->cap != 0) {
        /* The time is taken under the lock: record numbers and times go
         * up together. */
        r->time_ns = spring__now_ns();
        r->seq = t->next++;
        t->ring[r->seq % t->cap] = *r;
        if (t->count < t->cap)
            t->count++;
        else
            t->lost++;
    }
    vm_unlock(&vmm->trace_lock);
}

/* Copy the newest n records held, oldest first.  => trace_lock held. */
static void ring_copy(const struct vm_trace *t, spring_trace_record_t *out, size_t n)
{
    uint64_t s = t->next - n;
    for (size_t i = 0; i < n; i++, s++)
        out[i] = t->ring[s % t->cap];
}

int spring_vmm_trace_set_size(spring_vmm_t *vmm, size_t nrecords)
{
    if (vmm == NULL || nrecords > SPRING_TRACE_MAX_RECORDS)
        return SPRING_EINVAL;
    spring_trace_record_t *ring = NULL;
    if (nrecords != 0 && (ring = spring__calloc(vmm, nrecords, sizeof *ring)) == NULL)
        return SPRING_ENOMEM;
    vm_lock(&vmm->trace_lock);
    struct vm_trace *t = &vmm->trace;
    spring_trace_record_t *old = t->ring;
    if (nrecords == 0) {
        t->count = 0;
        t->lost = 0;
    } else {
        size_t keep = SPRING__MIN(t->count, nrecords);
        uint64_t s = t->next - keep;
        for (size_t i = 0; i < keep; i++, s++)
            ring[s % nrecords] = t->ring[s % t->cap];
        t->lost += t->count - keep;
        t->count = keep;
    }
    t->ring = ring;
    t->cap = nrecords;
    atomic_store(&vmm->trace_on, nrecords != 0);
    vm_unlock(&vmm->trace_lock);
    free(old);
    return 0;
}

size_t spring_vmm_trace_size(spring_vmm_t *vmm)
{
    if (vmm == NULL)
        return 0;
    vm_lock(&vmm->trace_lock);
    size_t cap = vmm->trace.cap;
    vm_unlock(&vmm->trace_lock);
    return cap;
}

int spring_vmm_trace_read(spring_vmm_t *vmm, spring_trace_record_t *records, size_t max, size_t *n, uint64_t *lost)
{
    if (vmm == NULL || records == NULL || max == 0 || n == NULL)
        return SPRING_EINVAL;
    vm_lock(&vmm->trace_lock);
    const struct vm_trace *t = &vmm->trace;
    size_t k = SPRING__MIN(t->count, max);
    ring_copy(t, records, k);
    uint64_t l = t->lost;
    vm_unlock(&vmm->trace_lock);
    *n = k;
    if (lost != NULL)
        *lost = l;
    return 0;
}

int spring_vmm_trace_clear(spring_vmm_t *vmm)
{
    if (vmm == NULL)
        return SPRING_EINVAL;
    vm_lock(&vmm->trace_lock);
    vmm->trace.count = 0;
    vmm->trace.lost = 0;
    vm_unlock(&vmm->trace_lock);
    return 0;
}

uint64_t spring_as_trace_id(const spring_as_t *as)
{
    return as ? as->id : 0;
}

int spring_cache_trace_id(spring_cache_obj_t cache, uint64_t *id)
{
    if (id == NULL)
        return SPRING_EINVAL;
    struct vm_cache *c;
    int rc = spring__cache_from_handle(cache, &c);
    if (rc)
        return rc;
    *id = c->id;
    spring__cache_unref(c);
    return 0;
}
