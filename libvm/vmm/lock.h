/*
 * lock.h - the library's locks, each with its rank in the one lock-order
 * table (docs/locking.md), and the checks of the debug build.
 *
 * Every VMM lock is a vm_mutex_t or vm_rwlock_t initialized with its rank.
 * In a normal build the wrappers are the pthread calls and nothing more.
 * With ./configure --enable-debug (SPRING_DEBUG) each thread keeps a record
 * of the locks it holds, and
 *   - taking a lock asserts that the thread holds no lock of a later rank
 *     (nor of the same rank, except in the order the table gives for two
 *     locks of one class: by increasing address),
 *   - vm_assert_held() / vm_assert_unheld() check a function's stated
 *     precondition ("=> caller holds c->lock"), vm_assert_wrheld() one
 *     that names the mode ("=> as->lock held for writing": the record
 *     keeps the mode each lock was taken in), vm_assert_no_rank() one that
 *     names a class of locks ("=> no cache lock held"),
 *   - spring__assert_no_locks() is called before every call into a pager,
 *     a swap pager, an event handler or a HAT fault upcall: no VMM lock may
 *     be held across one (paper §9.4).
 * A failed check prints the locks held and aborts: it is a bug in the
 * library, never a caller's error.
 */
#ifndef SPRING_LOCK_H
#define SPRING_LOCK_H

#ifdef SPRING_PUBLIC_HEADERS_ONLY
#error "a plugin built from the public headers includes a private header of libvm"
#endif

#include <pthread.h>
#include <stdbool.h>
#include <time.h>

/* The ranks: docs/locking.md's table, row by row. */
enum vm_rank {
    VM_RANK_REGISTRY = 1,   /* spring_registry.lock */
    VM_RANK_SWAP = 2,       /* vmm->swap_lock */
    VM_RANK_AS_LIST = 3,    /* vmm->as_list_lock */
    VM_RANK_AS = 4,         /* as->lock (rwlock) */
    VM_RANK_AS_FREE = 5,    /* as->free_lock */
    VM_RANK_BINDKEY = 6,    /* bind key lock */
    VM_RANK_CACHE_LIST = 7, /* vmm->cache_lock */
    VM_RANK_CACHE = 8,      /* cache->lock */
    VM_RANK_HASH = 9,       /* page-hash stripe lock */
    VM_RANK_PAGE = 10,      /* vmm->page_lock */
    VM_RANK_HAT = 11,       /* (the HAT backend's own lock: not a vm_mutex_t) */
    VM_RANK_HANDLE = 12,    /* handle-table lock */
    VM_RANK_SLAB = 13,      /* as->slab_lock */
    VM_RANK_CHUNKS = 14,    /* the slab chunk pool's lock (slab.c) */
    VM_RANK_TRACE = 15,     /* vmm->trace_lock (trace.c) */
    VM_RANK_AS_THREADS = 16 /* the list of threads' call records (as.c) */
};

typedef struct vm_mutex {
    pthread_mutex_t m;
#ifdef SPRING_DEBUG
    int rank;
#endif
} vm_mutex_t;

typedef struct vm_rwlock {
    pthread_rwlock_t l;
#ifdef SPRING_DEBUG
    int rank;
#endif
} vm_rwlock_t;

#ifdef SPRING_DEBUG
#define VM_MUTEX_INITIALIZER(rank) {PTHREAD_MUTEX_INITIALIZER, (rank)}
void spring__lock_note(const void *l, int rank, bool write);
void spring__unlock_note(const void *l);
bool spring__lock_held(const void *l);
bool spring__lock_held_write(const void *l);
bool spring__rank_held(int rank);
void spring__lock_fail(const char *what, const void *l, const char *file, int line);
void spring__assert_no_locks_at(const char *what, const char *file, int line);
#define vm_assert_held(l) \
    ((void)(spring__lock_held(l) || (spring__lock_fail("not held", (l), __FILE__, __LINE__), 0)))
#define vm_assert_unheld(l) \
    ((void)(!spring__lock_held(l) || (spring__lock_fail("held", (l), __FILE__, __LINE__), 0)))
#define vm_assert_wrheld(l) \
    ((void)(spring__lock_held_write(l) || (spring__lock_fail("not held for writing", (l), __FILE__, __LINE__), 0)))
#define vm_assert_no_rank(rank) \
    ((void)(!spring__rank_held(rank) || (spring__lock_fail("of that rank held", NULL, __FILE__, __LINE__), 0)))
#define spring__assert_no_locks(what) spring__assert_no_locks_at((what), __FILE__, __LINE__)
#define VM_DEBUG_ONLY(x) x
#else
#define VM_MUTEX_INITIALIZER(rank) {PTHREAD_MUTEX_INITIALIZER}
#define vm_assert_held(l) ((void)(l))
#define vm_assert_unheld(l) ((void)(l))
#define vm_assert_wrheld(l) ((void)(l))
#define vm_assert_no_rank(rank) ((void)(rank))
#define spring__assert_no_locks(what) ((void)0)
#define VM_DEBUG_ONLY(x)
#endif

/*
 * Public calls (debug build): VM_API_ENTER() at the top of a public
 * function that changes VMM state opens a scope; VM_API_VMM(vmm) names the
 * VMM once it is known.  When the outermost such call of a thread returns,
 * with no lock held, the VMM's consistency checker runs (sampled: every
 * SPRING_DEBUG_CHECK_EVERY-th call, 8 by default; 1 checks after every
 * call) and a failure aborts with the checker's message.
 */
struct spring_vmm;
struct vm_api_scope {
    struct spring_vmm *vmm;
};
#ifdef SPRING_DEBUG
struct vm_api_scope spring__api_enter(void);
void spring__api_leave(struct vm_api_scope *s);
#define VM_API_ENTER() \
    struct vm_api_scope vm_api_scope_ __attribute__((cleanup(spring__api_leave))) = spring__api_enter()
#define VM_API_VMM(v) (vm_api_scope_.vmm = (v))
#else
#define VM_API_ENTER() struct vm_api_scope vm_api_scope_ __attribute__((unused)) = {NULL}
#define VM_API_VMM(v) ((void)(v))
#endif
/* The scope of the current public call, for a helper that learns the VMM. */
#define VM_API_SCOPE (&vm_api_scope_)

static inline void vm_mutex_init(vm_mutex_t *l, int rank)
{
    pthread_mutex_init(&l->m, NULL);
    VM_DEBUG_ONLY(l->rank = rank);
    (void)rank;
}

static inline void vm_mutex_destroy(vm_mutex_t *l)
{
    pthread_mutex_destroy(&l->m);
}

static inline void vm_lock(vm_mutex_t *l)
{
    VM_DEBUG_ONLY(spring__lock_note(l, l->rank, true));
    pthread_mutex_lock(&l->m);
}

static inline void vm_unlock(vm_mutex_t *l)
{
    VM_DEBUG_ONLY(spring__unlock_note(l));
    pthread_mutex_unlock(&l->m);
}

/* Wait on cv, releasing l meanwhile.  => l held. */
static inline void vm_cond_wait(pthread_cond_t *cv, vm_mutex_t *l)
{
    vm_assert_held(l);
    VM_DEBUG_ONLY(spring__unlock_note(l));
    pthread_cond_wait(cv, &l->m);
    VM_DEBUG_ONLY(spring__lock_note(l, 0, true)); /* re-taken: its place in the order was checked before */
}

/* As vm_cond_wait, until the CLOCK_MONOTONIC time `at` (the cv must have
 * been made with vm_cond_init). */
static inline int vm_cond_timedwait(pthread_cond_t *cv, vm_mutex_t *l, const struct timespec *at)
{
    vm_assert_held(l);
    VM_DEBUG_ONLY(spring__unlock_note(l));
    int rc = pthread_cond_timedwait(cv, &l->m, at);
    VM_DEBUG_ONLY(spring__lock_note(l, 0, true));
    return rc;
}

/* A condition variable whose timed waits use the monotonic clock. */
static inline void vm_cond_init(pthread_cond_t *cv)
{
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(cv, &a);
    pthread_condattr_destroy(&a);
}

static inline void vm_rwlock_init(vm_rwlock_t *l, int rank)
{
    pthread_rwlock_init(&l->l, NULL);
    VM_DEBUG_ONLY(l->rank = rank);
    (void)rank;
}

static inline void vm_rwlock_destroy(vm_rwlock_t *l)
{
    pthread_rwlock_destroy(&l->l);
}

static inline void vm_rdlock(vm_rwlock_t *l)
{
    VM_DEBUG_ONLY(spring__lock_note(l, l->rank, false));
    pthread_rwlock_rdlock(&l->l);
}

static inline void vm_wrlock(vm_rwlock_t *l)
{
    VM_DEBUG_ONLY(spring__lock_note(l, l->rank, true));
    pthread_rwlock_wrlock(&l->l);
}

static inline void vm_rwunlock(vm_rwlock_t *l)
{
    VM_DEBUG_ONLY(spring__unlock_note(l));
    pthread_rwlock_unlock(&l->l);
}

#endif /* SPRING_LOCK_H */
