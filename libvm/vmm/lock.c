/*
 * lock.c - the debug build's record of the locks each thread holds, which
 * turns docs/locking.md's table into a checked specification (lock.h).
 * Compiled to nothing in a normal build.
 */
#include "vmm/lock.h"

#ifdef SPRING_DEBUG
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#define VM_MAX_HELD 32

struct held {
    const void *l;
    int rank;
    bool write; /* taken exclusively (a mutex, or a rwlock for writing) */
};

static _Thread_local struct held held[VM_MAX_HELD];
static _Thread_local int nheld;

static void dump(void)
{
    fprintf(stderr, "springvm: locks held by this thread:");
    for (int i = 0; i < nheld; i++)
        fprintf(stderr, " %p(rank %d)", held[i].l, held[i].rank);
    fprintf(stderr, "%s\n", nheld ? "" : " none");
}

void spring__lock_fail(const char *what, const void *l, const char *file, int line)
{
    fprintf(stderr, "springvm: lock check failed at %s:%d: lock %p %s\n", file, line, l, what);
    dump();
    abort();
}

void spring__lock_note(const void *l, int rank, bool write)
{
    if (rank == 0) { /* re-taken after a condition wait: keep its first rank */
        for (int i = nheld; i < VM_MAX_HELD; i++)
            if (held[i].l == l) {
                rank = held[i].rank;
                break;
            }
    }
    for (int i = 0; i < nheld; i++) {
        if (held[i].l == l)
            spring__lock_fail("taken twice by one thread", l, __FILE__, __LINE__);
        /* docs/locking.md: never a lock of an earlier rank while one of a
         * later rank is held; two of one rank in increasing address order. */
        if (rank != 0 && (held[i].rank > rank || (held[i].rank == rank && (const char *)held[i].l > (const char *)l))) {
            fprintf(stderr, "springvm: lock order violated: taking %p (rank %d) while holding %p (rank %d)\n", l,
                    rank, held[i].l, held[i].rank);
            dump();
            abort();
        }
    }
    if (nheld == VM_MAX_HELD)
        spring__lock_fail("beyond the record's capacity", l, __FILE__, __LINE__);
    held[nheld].l = l;
    held[nheld].rank = rank;
    held[nheld].write = write;
    nheld++;
}

void spring__unlock_note(const void *l)
{
    for (int i = nheld - 1; i >= 0; i--)
        if (held[i].l == l) {
            struct held h = held[i];
            for (int j = i; j < nheld - 1; j++)
                held[j] = held[j + 1];
            nheld--;
            held[nheld] = h; /* kept just past the end: a condition wait looks its rank up there */
            return;
        }
    spring__lock_fail("released but not held", l, __FILE__, __LINE__);
}

bool spring__lock_held(const void *l)
{
    for (int i = 0; i < nheld; i++)
        if (held[i].l == l)
            return true;
    return false;
}

bool spring__lock_held_write(const void *l)
{
    for (int i = 0; i < nheld; i++)
        if (held[i].l == l)
            return held[i].write;
    return false;
}

bool spring__rank_held(int rank)
{
    for (int i = 0; i < nheld; i++)
        if (held[i].rank == rank)
            return true;
    return false;
}

void spring__assert_no_locks_at(const char *what, const char *file, int line)
{
    if (nheld == 0)
        return;
    fprintf(stderr, "springvm: %s at %s:%d with a VMM lock held\n", what, file, line);
    dump();
    abort();
}

/* ------------------------------------------------------------------ */
/* The consistency checker after outermost public calls.               */

#include <spring/spring.h>

static _Thread_local int api_depth;
static atomic_uint api_calls;

struct vm_api_scope spring__api_enter(void)
{
    api_depth++;
    struct vm_api_scope s = {NULL};
    return s;
}

static unsigned check_every(void)
{
    static atomic_uint every;
    unsigned e = atomic_load(&every);
    if (e == 0) {
        const char *v = getenv("SPRING_DEBUG_CHECK_EVERY");
        e = v && atoi(v) > 0 ? (unsigned)atoi(v) : 8;
        atomic_store(&every, e);
    }
    return e;
}

void spring__api_leave(struct vm_api_scope *s)
{
    if (--api_depth != 0 || s->vmm == NULL)
        return;
    spring__assert_no_locks("returning from a public call");
    if (atomic_fetch_add(&api_calls, 1) % check_every() != 0)
        return;
    const char *why = NULL;
    if (spring_vmm_check(s->vmm, &why) == SPRING_EPROTO) { /* ENOMEM (injected in tests): no verdict */
        fprintf(stderr, "springvm: consistency check failed after a public call: %s\n", why ? why : "?");
        abort();
    }
}
#else
/* ISO C wants a translation unit to declare something. */
typedef int spring__lock_unused_t;
#endif
