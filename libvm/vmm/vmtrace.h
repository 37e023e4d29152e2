/*
 * vmtrace.h - the VMM's event trace (trace.c; the public side is
 * include/spring/trace.h, the format docs/trace.md).
 *
 * A point that records writes
 *
 *     VM_TRACE(vmm, .kind = SPRING_TRACE_..., .cache = c->id, ...);
 *
 * which costs one predictable branch on a relaxed atomic load while
 * tracing is off.  When it is on, spring__trace_put() stamps the record
 * (number, time, thread) and stores it in the ring under vmm->trace_lock,
 * a leaf of the lock order (docs/locking.md): nothing is called and no
 * other lock is taken while it is held.  A record point may hold any lock,
 * though every one in the library records with none held.
 */
#ifndef SPRING_VMTRACE_H
#define SPRING_VMTRACE_H

#ifdef SPRING_PUBLIC_HEADERS_ONLY
#error "a plugin built from the public headers includes a private header of libvm"
#endif

#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include <spring/spring.h>

#include "vmm/lock.h"

/* The ring.  Record number s is at ring[s % cap] while it is among the
 * newest `count`.  => vmm->trace_lock for every field. */
struct vm_trace {
    spring_trace_record_t *ring; /* cap records; NULL when off */
    size_t cap;                  /* 0 = off */
    size_t count;                /* records held (at most cap) */
    uint64_t next;               /* the next record's number (never reset) */
    uint64_t lost;               /* overwritten or dropped since on or cleared */
};

static inline uint64_t spring__now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Set up and tear down a VMM's trace (cap records; 0 = off).  _init:
 * 0 or SPRING_ENOMEM; _fini follows it either way.  => the VMM not yet
 * (or no longer) shared. */
SPRING__HIDDEN int spring__trace_init(spring_vmm_t *vmm, size_t cap);
SPRING__HIDDEN void spring__trace_fini(spring_vmm_t *vmm);

/* Store a record: seq, time_ns and thread are filled in here.  => any
 * lock may be held (trace_lock is a leaf); trace_lock not held. */
SPRING__HIDDEN void spring__trace_put(spring_vmm_t *vmm, spring_trace_record_t *r);

/* Whether the VMM is tracing (a hint: the ring may be turned off before
 * the record is stored, and spring__trace_put() then drops it). */
#define spring__trace_on(vmm) \
    __builtin_expect(atomic_load_explicit(&(vmm)->trace_on, memory_order_relaxed), 0)

/* The monotonic time if the VMM is tracing, else 0: the start of a
 * duration a record will carry. */
#define spring__trace_t0(vmm) (spring__trace_on(vmm) ? spring__now_ns() : 0)

/* Record an event (designated initializers of spring_trace_record_t). */
#define VM_TRACE(vmm, ...)                                     \
    do {                                                       \
        spring_vmm_t *vm_trace_vmm_ = (vmm);                   \
        if (spring__trace_on(vm_trace_vmm_)) {                 \
            spring_trace_record_t vm_trace_r_ = {__VA_ARGS__}; \
            spring__trace_put(vm_trace_vmm_, &vm_trace_r_);    \
        }                                                      \
    } while (0)

/* The time since t0 (0 if t0 is 0: tracing was off when it was taken). */
static inline uint64_t spring__trace_since(uint64_t t0)
{
    return t0 ? spring__now_ns() - t0 : 0;
}

#endif /* SPRING_VMTRACE_H */
