/*
 * stress.c - concurrency stress tests.
 *
 * "counters": several threads increment counters, each thread its own
 * 64-byte slot in every page of a mapped range, alternating between two
 * access methods (a write-pinned pointer from spring_as_translate, and
 * spring_as_read + spring_as_write), while the frame pool holds a quarter
 * of the range so eviction and page-outs never stop.  Each thread keeps a
 * shadow of its counters and checks every value it reads against it.  Over
 * the recording test pager, a "pager" thread meanwhile takes data back at
 * random (flush_back, deny_writes, write_back, changing the ownership
 * state) and keeps what it is given in the pager's backing store, which
 * later page-ins read.  Over anonymous memory, the other thread flushes
 * ranges through the address space instead.  The amount of work is fixed:
 * every worker makes all its increments, and the pager thread makes a
 * fixed number of requests, paced by the workers' progress (request j
 * waits until the workers have made j/N of their increments), so that the
 * requests are spread over the whole run whatever the machine's speed.
 * At the end every counter read through the address space equals its
 * shadow, and after a flush of everything so does the pager's store (the
 * bytes outside the slots still hold the initial pattern) and every frame
 * is free again.
 *
 * "in flight": several threads fault the same pages while their page_in is
 * in flight, and the pager calls back into the cache from inside page_in.
 * The page_in waits (a rendezvous, no sleep) until another thread has set
 * out to fault the same page, or until no other thread can: every one is
 * done with the round or itself inside a page_in.  Without eviction
 * (enough frames) every page removal is one the test makes, so the call
 * log must show, per page: exactly one page_in when the pager takes away
 * only other blocks; exactly two when it flushes the page itself from
 * inside its first page_in; and at most one more than the flush_backs
 * covering the page when the pager takes random ranges (upgrades after its
 * deny_writes aside).  The counters
 * runs cannot assert this: there clean blocks are reclaimed without telling
 * the pager, so the log cannot tell a double page-in from a re-fault.
 *
 * Environment: SPRING_STRESS_ITERS, the increments per thread in a
 * counters run (default 400000; an eighth of that in sanitizer builds, a
 * fortieth under VALGRIND; the pager thread's requests and the in-flight
 * rounds scale with it); SPRING_STRESS_SEED, the random seed: DEFAULT_SEED
 * unless set, so that `make check` runs the same work every time (the
 * threads' interleaving still varies); "time" draws a new one from the
 * clock.  The seed is printed at the start.  A deadlock fails the test
 * through the test case's timeout.
 */
#define _GNU_SOURCE
#include <check.h>
#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "testlib.h"
#include "testmain.h"

#define PS 4096
#define SLOT 64          /* bytes per thread slot in a page */
#define NTHREADS 4       /* worker threads */
#define NPAGES 128       /* pages in a counters range */
#define NFRAMES 32       /* frames in the pool of a counters run */
#define DEFAULT_SEED 20261125ULL /* the seed of `make check` (see main) */

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define STRESS_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define STRESS_SANITIZED 1
#endif
#endif
#ifndef STRESS_SANITIZED
#define STRESS_SANITIZED 0
#endif

/* ------------------------------------------------------------------ */
/* Parameters, random numbers, time.                                    */

static uint64_t seed;

static unsigned long env_ulong(const char *name, unsigned long dflt)
{
    const char *s = getenv(name);
    if (s == NULL || *s == '\0')
        return dflt;
    char *end;
    unsigned long v = strtoul(s, &end, 0);
    return *end == '\0' ? v : dflt;
}

/* Increments per thread in one counters run. */
static unsigned long stress_iters(void)
{
    unsigned long dflt = 400000;
    if (STRESS_SANITIZED)
        dflt /= 8;
    if (getenv("VALGRIND") != NULL)
        dflt /= 40;
    unsigned long n = env_ulong("SPRING_STRESS_ITERS", dflt);
    return n ? n : 1;
}

static uint64_t rnd(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The initial content of the test pager's store (tp_new with pattern) as
 * a counter. */
static uint32_t pattern_u32(spring_off_t off)
{
    uint8_t b[4] = {tp_pattern(off), tp_pattern(off + 1), tp_pattern(off + 2), tp_pattern(off + 3)};
    uint32_t v;
    memcpy(&v, b, sizeof v);
    return v;
}

/* ------------------------------------------------------------------ */
/* Pager side: take data back from the cache and keep it.               */

enum take { TAKE_FLUSH, TAKE_DENY, TAKE_WRITE_BACK };

static const char *take_name(enum take op)
{
    return op == TAKE_FLUSH ? "flush_back" : op == TAKE_DENY ? "deny_writes" : "write_back";
}

/* Keep the data the VMM returned in the store (bytes NULL = zero).
 * => tp_lock held. */
static void store_data(tpager_t *tp, spring_off_t store_len, const spring_data_t *d)
{
    uint8_t *s = tp_store(tp);
    for (size_t i = 0; d != NULL && i < d->nblocks; i++) {
        const spring_data_block_t *b = &d->blocks[i];
        if (b->offset > store_len || b->length > store_len - b->offset)
            continue;
        if (b->bytes)
            memcpy(s + b->offset, b->bytes, (size_t)b->length);
        else
            memset(s + b->offset, 0, (size_t)b->length);
    }
}

/*
 * One pager request.  The pager's lock is held from the call until the
 * returned data is in the store: a page_in of the same block (which takes
 * that lock) must not read the store in between, or it would bring back
 * stale data.  Holding it is safe: these requests never call the pager,
 * and they wait only for write pins, which are released without any lock.
 */
static int pager_take(tpager_t *tp, spring_cache_obj_t cache, spring_off_t store_len, enum take op, spring_off_t off,
                      spring_off_t size, spring_ownership_t own)
{
    spring_data_t *d = NULL;
    tp_lock(tp);
    int rc;
    if (op == TAKE_FLUSH)
        rc = spring_cache_flush_back(cache, off, size, &own, &d);
    else if (op == TAKE_DENY)
        rc = spring_cache_deny_writes(cache, off, size, &own, &d);
    else
        rc = spring_cache_write_back(cache, off, size, &own, &d);
    if (rc == 0)
        store_data(tp, store_len, d);
    tp_unlock(tp);
    spring_data_free(d);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Failures seen by helper threads: the first is kept; all stop.        */

struct errbox {
    pthread_mutex_t lock;
    atomic_bool stop;
    char msg[768];
};

static void errbox_init(struct errbox *e)
{
    pthread_mutex_init(&e->lock, NULL);
    atomic_init(&e->stop, false);
    e->msg[0] = '\0';
}

static void errbox_fini(struct errbox *e)
{
    pthread_mutex_destroy(&e->lock);
}

__attribute__((format(printf, 2, 3))) static void fail_at(struct errbox *e, const char *fmt, ...)
{
    pthread_mutex_lock(&e->lock);
    if (e->msg[0] == '\0') {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
    }
    pthread_mutex_unlock(&e->lock);
    atomic_store(&e->stop, true);
}

/* Assert, in the test's own thread, that no helper thread failed. */
static void errbox_check(struct errbox *e)
{
    pthread_mutex_lock(&e->lock);
    char msg[sizeof e->msg];
    memcpy(msg, e->msg, sizeof msg);
    pthread_mutex_unlock(&e->lock);
    ck_assert_msg(msg[0] == '\0', "%s (seed %llu)", msg, (unsigned long long)seed);
}

static void check_vmm_now(spring_vmm_t *vmm, struct errbox *e, const char *when)
{
    const char *why = NULL;
    int rc = spring_vmm_check(vmm, &why);
    if (rc != 0)
        fail_at(e, "spring_vmm_check %s: %s (%s)", when, why ? why : "?", spring_err_name(rc));
}

/* ------------------------------------------------------------------ */
/* Counters.                                                            */

struct run {
    const char *name;
    spring_vmm_t *vmm;
    spring_registry_t *reg;
    spring_as_t *as[2];
    spring_addr_t base[2]; /* the range in each address space */
    unsigned nas;
    bool anon;             /* anonymous memory instead of the test pager */
    tpager_t *tp;
    spring_cache_obj_t cache;
    spring_off_t block;    /* the cache's block size */
    spring_off_t len;      /* bytes in the range */
    unsigned long iters;   /* increments per worker */
    unsigned long ntakes;  /* requests of the pager thread */
    uint32_t shadow[NTHREADS][NPAGES];
    unsigned long done[NTHREADS]; /* increments each worker made */
    atomic_uint workers_left;
    atomic_ulong increments, pin_incs, rw_incs, flushes;
    atomic_ulong takes[3], taken_blocks;
    /* Pacing: the workers' increments so far, and the count the pager
     * thread waits for (ULONG_MAX when it is not waiting). */
    pthread_mutex_t pace_mu;
    pthread_cond_t pace_cv;
    atomic_ulong progress, need;
    struct errbox err;
};

/* A worker made an increment: wake the pager thread if it waits for it. */
static void pace_step(struct run *r)
{
    unsigned long p = atomic_fetch_add(&r->progress, 1) + 1;
    if (p >= atomic_load(&r->need)) {
        pthread_mutex_lock(&r->pace_mu);
        pthread_cond_broadcast(&r->pace_cv);
        pthread_mutex_unlock(&r->pace_mu);
    }
}

/* The pager thread: wait until the workers made `n` increments, or all
 * stopped. */
static void pace_wait(struct run *r, unsigned long n)
{
    pthread_mutex_lock(&r->pace_mu);
    atomic_store(&r->need, n);
    while (atomic_load(&r->progress) < n && atomic_load(&r->workers_left) > 0 && !atomic_load(&r->err.stop))
        pthread_cond_wait(&r->pace_cv, &r->pace_mu);
    atomic_store(&r->need, ULONG_MAX);
    pthread_mutex_unlock(&r->pace_mu);
}

struct worker {
    struct run *r;
    unsigned id;
};

/* Increment thread t's counter in page p through a write-pinned pointer. */
static int inc_pinned(struct run *r, unsigned t, size_t p, uint32_t want)
{
    spring_as_t *as = r->as[t % r->nas];
    spring_addr_t a = r->base[t % r->nas] + (spring_addr_t)p * PS + (spring_addr_t)t * SLOT;
    void *ptr = NULL;
    spring_pin_t pin;
    int rc = spring_as_translate(as, a, SPRING_RIGHTS_W, &ptr, &pin);
    if (rc != 0) {
        fail_at(&r->err, "%s: thread %u page %zu: translate(W) = %s", r->name, t, p, spring_err_name(rc));
        return rc;
    }
    uint32_t *q = ptr;
    uint32_t got = *q;
    if (got == want)
        *q = want + 1;
    spring_pin_release(&pin);
    if (got != want) {
        fail_at(&r->err, "%s: thread %u page %zu: pinned pointer reads %u, shadow %u (lost update)", r->name, t, p,
                got, want);
        return -1;
    }
    return 0;
}

/* Increment it with spring_as_read + spring_as_write. */
static int inc_rw(struct run *r, unsigned t, size_t p, uint32_t want)
{
    spring_as_t *as = r->as[t % r->nas];
    spring_addr_t a = r->base[t % r->nas] + (spring_addr_t)p * PS + (spring_addr_t)t * SLOT;
    uint32_t got = 0;
    int rc = spring_as_read(as, a, &got, sizeof got);
    if (rc != 0) {
        fail_at(&r->err, "%s: thread %u page %zu: spring_as_read = %s", r->name, t, p, spring_err_name(rc));
        return rc;
    }
    if (got != want) {
        fail_at(&r->err, "%s: thread %u page %zu: spring_as_read gives %u, shadow %u (lost update)", r->name, t, p,
                got, want);
        return -1;
    }
    uint32_t v = want + 1;
    rc = spring_as_write(as, a, &v, sizeof v);
    if (rc != 0)
        fail_at(&r->err, "%s: thread %u page %zu: spring_as_write = %s", r->name, t, p, spring_err_name(rc));
    return rc;
}

/* Check the counter through a read pin. */
static int check_read_pin(struct run *r, unsigned t, size_t p, uint32_t want)
{
    spring_as_t *as = r->as[t % r->nas];
    spring_addr_t a = r->base[t % r->nas] + (spring_addr_t)p * PS + (spring_addr_t)t * SLOT;
    void *ptr = NULL;
    spring_pin_t pin;
    int rc = spring_as_translate(as, a, SPRING_RIGHTS_R, &ptr, &pin);
    if (rc != 0) {
        fail_at(&r->err, "%s: thread %u page %zu: translate(R) = %s", r->name, t, p, spring_err_name(rc));
        return rc;
    }
    uint32_t got = *(const uint32_t *)ptr;
    spring_pin_release(&pin);
    if (got != want) {
        fail_at(&r->err, "%s: thread %u page %zu: read pin sees %u, shadow %u", r->name, t, p, got, want);
        return -1;
    }
    return 0;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct run *r = w->r;
    unsigned t = w->id;
    uint64_t rs = seed ^ ((uint64_t)(t + 1) << 40);
    size_t npages = (size_t)(r->len / PS);
    unsigned long pins = 0, rws = 0, flushes = 0;
    for (unsigned long i = 0; i < r->iters && !atomic_load(&r->err.stop); i++) {
        uint64_t x = rnd(&rs);
        size_t p = (size_t)(x % npages);
        uint32_t want = r->shadow[t][p];
        int rc;
        if (((x >> 32) & 15) == 0 && (rc = check_read_pin(r, t, p, want)) != 0)
            break;
        if (i & 1) {
            rc = inc_pinned(r, t, p, want);
            pins++;
        } else {
            rc = inc_rw(r, t, p, want);
            rws++;
        }
        if (rc != 0)
            break;
        r->shadow[t][p] = want + 1;
        pace_step(r);
        if (((x >> 40) & 127) == 0) {
            /* Now and then push a block out through the address space. */
            spring_off_t boff = ((spring_off_t)p * PS) & ~(r->block - 1);
            spring_addr_t a = r->base[t % r->nas] + boff;
            bool keep = (x >> 50) & 1;
            rc = spring_as_flush(r->as[t % r->nas], a, r->block, keep);
            if (rc != 0) {
                fail_at(&r->err, "%s: thread %u: spring_as_flush(page %zu, keep %d) = %s", r->name, t, p, keep,
                        spring_err_name(rc));
                break;
            }
            flushes++;
        }
    }
    r->done[t] = pins + rws;
    atomic_fetch_add(&r->increments, pins + rws);
    atomic_fetch_add(&r->pin_incs, pins);
    atomic_fetch_add(&r->rw_incs, rws);
    atomic_fetch_add(&r->flushes, flushes);
    pthread_mutex_lock(&r->pace_mu);
    atomic_fetch_sub(&r->workers_left, 1);
    pthread_cond_broadcast(&r->pace_cv);
    pthread_mutex_unlock(&r->pace_mu);
    return NULL;
}

/* The pager thread: r->ntakes random requests on random ranges of the
 * test pager's cache, spread over the workers' run; over anonymous memory,
 * random flushes of the address space.  A consistency check now and then. */
static void *pager_main(void *arg)
{
    struct run *r = arg;
    uint64_t rs = seed ^ 0x5a5a5a5a5a5aULL;
    spring_off_t nblocks = r->len / r->block;
    unsigned long n = 0, total = r->iters * NTHREADS;
    for (unsigned long j = 0; j < r->ntakes && !atomic_load(&r->err.stop); j++) {
        pace_wait(r, (unsigned long)((double)total * (double)j / (double)r->ntakes));
        uint64_t x = rnd(&rs);
        spring_off_t b0 = (x & 0xffff) % nblocks;
        spring_off_t nb = 1 + ((x >> 16) & 0xff) % 16;
        if (b0 + nb > nblocks)
            nb = nblocks - b0;
        spring_off_t off = b0 * r->block, size = nb * r->block;
        if (((x >> 24) & 31) == 0) {
            off = 0;
            size = SPRING_SIZE_ALL;
        }
        int rc;
        if (r->anon) {
            bool keep = (x >> 32) & 1;
            rc = spring_as_flush(r->as[0], r->base[0] + off, size == SPRING_SIZE_ALL ? r->len : size, keep);
            if (rc != 0) {
                fail_at(&r->err, "%s: pager thread: spring_as_flush = %s", r->name, spring_err_name(rc));
                break;
            }
            atomic_fetch_add(&r->takes[TAKE_FLUSH], 1);
        } else {
            unsigned k = (unsigned)((x >> 32) % 10);
            enum take op = k < 4 ? TAKE_FLUSH : k < 7 ? TAKE_DENY : TAKE_WRITE_BACK;
            static const spring_ownership_t owns[] = {SPRING_OWN_UNCHANGED, SPRING_OWN_UNCHANGED,
                                                      SPRING_OWN_EXCLUSIVE, SPRING_OWN_SHARED};
            spring_ownership_t own = owns[(x >> 40) & 3];
            rc = pager_take(r->tp, r->cache, r->len, op, off, size, own);
            if (rc != 0) {
                fail_at(&r->err, "%s: pager thread: %s(%llu, %llu) = %s", r->name, take_name(op),
                        (unsigned long long)off, (unsigned long long)size, spring_err_name(rc));
                break;
            }
            atomic_fetch_add(&r->takes[op], 1);
        }
        if (++n % 64 == 0) {
            check_vmm_now(r->vmm, &r->err, "during the run");
            if (!r->anon)
                tp_clear(r->tp); /* keep the call log small */
        }
    }
    return NULL;
}

/* Set up a run: the VMM, nas address spaces, the range in each. */
static void run_setup(struct run *r, const char *name, bool anon, unsigned nas, spring_off_t block,
                      spring_ownership_t own)
{
    memset(r, 0, sizeof *r);
    r->name = name;
    r->anon = anon;
    r->nas = nas;
    r->block = block;
    r->len = (spring_off_t)NPAGES * PS;
    r->iters = stress_iters();
    r->ntakes = r->iters / 50 > 64 ? r->iters / 50 : 64;
    pthread_mutex_init(&r->pace_mu, NULL);
    pthread_cond_init(&r->pace_cv, NULL);
    atomic_init(&r->progress, 0);
    atomic_init(&r->need, ULONG_MAX);
    errbox_init(&r->err);
    r->vmm = test_vmm("stress", NFRAMES, &r->reg);
    for (unsigned i = 0; i < nas; i++)
        ck_assert_rc(spring_as_new(r->vmm, NULL, &r->as[i]), 0);
    if (anon) {
        spring_off_t len = r->len;
        r->base[0] = SPRING_ANYWHERE;
        ck_assert_rc(spring_as_allocate_memory(r->as[0], &len, &r->base[0], SPRING_RIGHTS_RW), 0);
        ck_assert(len == r->len);
        /* Anonymous memory starts zero. */
        for (unsigned t = 0; t < NTHREADS; t++)
            for (size_t p = 0; p < NPAGES; p++)
                r->shadow[t][p] = 0;
        return;
    }
    r->tp = tp_new(r->reg, "stress", NULL, r->len, block, own, true);
    spring_mobj_t *m = tp_mobj(r->tp, SPRING_RIGHTS_RW);
    for (unsigned i = 0; i < nas; i++) {
        spring_off_t len = r->len;
        r->base[i] = SPRING_ANYWHERE;
        ck_assert_rc(spring_as_map(r->as[i], m, 0, &len, &r->base[i], SPRING_RIGHTS_RW), 0);
        ck_assert(len == r->len);
    }
    spring_mobj_unref(m);
    r->cache = tp_cache(r->tp);
    ck_assert(r->cache.h != 0);
    for (unsigned t = 0; t < NTHREADS; t++)
        for (size_t p = 0; p < NPAGES; p++)
            r->shadow[t][p] = pattern_u32((spring_off_t)p * PS + (spring_off_t)t * SLOT);
}

static void run_teardown(struct run *r)
{
    for (unsigned i = 0; i < r->nas; i++)
        spring_as_destroy(r->as[i]);
    if (r->tp)
        tp_free(r->tp);
    test_vmm_free(r->vmm, r->reg);
    errbox_fini(&r->err);
    pthread_mutex_destroy(&r->pace_mu);
    pthread_cond_destroy(&r->pace_cv);
}

static spring_vm_info_t vm_info(spring_vmm_t *vmm);

/* Every frame is free (nothing cached, no pin left behind). */
static void assert_frames_free(struct run *r)
{
    spring_vm_info_t info = vm_info(r->vmm);
    ck_assert_msg(info.free_frames == info.nframes, "%s: %zu of %zu frames free after flushing everything", r->name,
                  info.free_frames, info.nframes);
}

static spring_vm_info_t vm_info(spring_vmm_t *vmm)
{
    spring_vmm_obj_t vo;
    spring_vm_info_t info = {.size = sizeof info};
    ck_assert_rc(spring_vmm_get_object(vmm, SPRING_PRIV_USER, &vo), 0);
    ck_assert_rc(spring_vmm_get_vm_info(vo, &info), 0);
    return info;
}

static void run_counters(struct run *r)
{
    pthread_t th[NTHREADS], pager;
    struct worker w[NTHREADS];
    double t0 = now();
    atomic_store(&r->workers_left, NTHREADS);
    for (unsigned t = 0; t < NTHREADS; t++) {
        w[t] = (struct worker){r, t};
        ck_assert_int_eq(pthread_create(&th[t], NULL, worker_main, &w[t]), 0);
    }
    ck_assert_int_eq(pthread_create(&pager, NULL, pager_main, r), 0);
    for (unsigned t = 0; t < NTHREADS; t++)
        pthread_join(th[t], NULL);
    pthread_join(pager, NULL);
    errbox_check(&r->err);
    CHECK_VMM(r->vmm);
    /* All the work was done: every increment, every request. */
    for (unsigned t = 0; t < NTHREADS; t++)
        ck_assert_msg(r->done[t] == r->iters, "%s: worker %u made %lu of its %lu increments", r->name, t, r->done[t],
                      r->iters);
    unsigned long ntk = (unsigned long)(atomic_load(&r->takes[TAKE_FLUSH]) + atomic_load(&r->takes[TAKE_DENY]) +
                                        atomic_load(&r->takes[TAKE_WRITE_BACK]));
    ck_assert_msg(ntk == r->ntakes, "%s: the pager thread made %lu of its %lu requests", r->name, ntk, r->ntakes);
    if (!r->anon)
        for (int k = 0; k < 3; k++)
            ck_assert_msg(atomic_load(&r->takes[k]) >= r->ntakes / 8, "%s: only %lu %s of %lu requests", r->name,
                          (unsigned long)atomic_load(&r->takes[k]), take_name((enum take)k), r->ntakes);
    ck_assert_msg(atomic_load(&r->flushes) > 0, "%s: the workers made no flush", r->name);
    /* The pool was short: blocks went out all the time. */
    spring_vm_info_t info = vm_info(r->vmm);
    unsigned long incs = (unsigned long)atomic_load(&r->increments);
    ck_assert_msg(info.page_outs > 0 && info.page_ins > incs / 8, "%s: only %llu page_ins and %llu page_outs",
                  r->name, (unsigned long long)info.page_ins, (unsigned long long)info.page_outs);

    /* Every counter, read through every address space, equals its shadow. */
    for (unsigned i = 0; i < r->nas; i++)
        for (size_t p = 0; p < NPAGES; p++)
            for (unsigned t = 0; t < NTHREADS; t++) {
                uint32_t v = 0;
                spring_addr_t a = r->base[i] + (spring_addr_t)p * PS + (spring_addr_t)t * SLOT;
                ck_assert_rc(spring_as_read(r->as[i], a, &v, sizeof v), 0);
                ck_assert_msg(v == r->shadow[t][p], "%s: as %u page %zu slot %u reads %u, shadow %u (seed %llu)",
                              r->name, i, p, t, v, r->shadow[t][p], (unsigned long long)seed);
            }

    /* Flush everything: the pager's store holds every counter. */
    for (unsigned i = 0; i < r->nas; i++)
        ck_assert_rc(spring_as_flush(r->as[i], r->base[i], r->len, false), 0);
    CHECK_VMM(r->vmm);
    assert_frames_free(r);
    if (r->anon) {
        /* The anonymous pager's copy, read back through page-ins. */
        for (size_t p = 0; p < NPAGES; p++)
            for (unsigned t = 0; t < NTHREADS; t++) {
                uint32_t v = 0;
                spring_addr_t a = r->base[0] + (spring_addr_t)p * PS + (spring_addr_t)t * SLOT;
                ck_assert_rc(spring_as_read(r->as[0], a, &v, sizeof v), 0);
                ck_assert_msg(v == r->shadow[t][p], "%s: page %zu slot %u after flush reads %u, shadow %u", r->name,
                              p, t, v, r->shadow[t][p]);
            }
    } else {
        tp_lock(r->tp);
        const uint8_t *s = tp_store(r->tp);
        spring_off_t bad = r->len;
        uint32_t got = 0, want = 0;
        for (spring_off_t o = 0; o < r->len && bad == r->len; o++) {
            size_t p = (size_t)(o / PS);
            spring_off_t in = o % PS;
            if (in % SLOT == 0 && in / SLOT < NTHREADS) {
                memcpy(&got, s + o, sizeof got);
                want = r->shadow[in / SLOT][p];
                if (got != want)
                    bad = o;
                o += sizeof got - 1;
            } else if (s[o] != tp_pattern(o)) {
                bad = o;
                got = s[o];
                want = tp_pattern(o);
            }
        }
        tp_unlock(r->tp);
        ck_assert_msg(bad == r->len, "%s: pager store at offset %llu holds %u, want %u (seed %llu)", r->name,
                      (unsigned long long)bad, got, want, (unsigned long long)seed);
    }
    double dt = now() - t0;
    char other[160];
    if (r->anon)
        snprintf(other, sizeof other, "flusher: %lu as flushes", (unsigned long)atomic_load(&r->takes[TAKE_FLUSH]));
    else
        snprintf(other, sizeof other, "pager: %lu flush_back, %lu deny_writes, %lu write_back",
                 (unsigned long)atomic_load(&r->takes[TAKE_FLUSH]), (unsigned long)atomic_load(&r->takes[TAKE_DENY]),
                 (unsigned long)atomic_load(&r->takes[TAKE_WRITE_BACK]));
    printf("%s: %lu increments (%lu pinned, %lu read+write), %lu as flushes, %llu page_ins, %llu page_outs, "
           "%llu clean reclaims; %s; %.2f s\n",
           r->name, incs, (unsigned long)atomic_load(&r->pin_incs), (unsigned long)atomic_load(&r->rw_incs),
           (unsigned long)atomic_load(&r->flushes), (unsigned long long)info.page_ins,
           (unsigned long long)info.page_outs, (unsigned long long)info.reclaims_clean, other, dt);
    fflush(stdout);
}

/* _i = 0: one address space, one-page blocks, exclusive ownership.
 * _i = 1: two address spaces mapping the same cache, two-page blocks,
 * shared ownership (read faults ask for read-only data, then upgrade). */
START_TEST(test_counters_tpager)
{
    struct run *r = malloc(sizeof *r);
    ck_assert_ptr_nonnull(r);
    if (_i == 0)
        run_setup(r, "tpager/1as/block1", false, 1, PS, SPRING_OWN_EXCLUSIVE);
    else
        run_setup(r, "tpager/2as/block2", false, 2, 2 * PS, SPRING_OWN_SHARED);
    run_counters(r);
    run_teardown(r);
    free(r);
}
END_TEST

START_TEST(test_counters_anon)
{
    struct run *r = malloc(sizeof *r);
    ck_assert_ptr_nonnull(r);
    run_setup(r, "anon", true, 1, PS, SPRING_OWN_EXCLUSIVE);
    run_counters(r);
    run_teardown(r);
    free(r);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Faults while a page_in is in flight.                                 */

#define IF_NF 16    /* pages the workers fault */
#define IF_NV 16    /* victim pages the pager takes from inside page_in */
#define IF_NSELF 4  /* fault pages [IF_NF - IF_NSELF, IF_NF) flush themselves in their first page_in */
#define IF_PAGES (IF_NF + IF_NV)

enum if_mode { IF_OTHER, IF_SELF, IF_CHAOS };

struct inflight {
    spring_vmm_t *vmm;
    spring_registry_t *reg;
    spring_as_t *as;
    spring_addr_t base;
    tpager_t *tp;
    spring_cache_obj_t cache;
    enum if_mode mode;
    unsigned round;
    pthread_barrier_t bar;
    atomic_bool self_done[IF_NF];
    atomic_uint flushes[IF_PAGES]; /* flush_backs covering each page (this round) */
    atomic_uint hook_calls;
    atomic_uint_fast64_t hook_rs;
    uint32_t shadow[NTHREADS][IF_NF];
    uint32_t victim_val;
    /* The rendezvous of a page_in with the other faults on its page: per
     * worker, the page it has set out to access (-1: none), whether it is
     * inside a page_in (the hook) and whether it is done with the round. */
    pthread_mutex_t rv_mu;
    pthread_cond_t rv_cv;
    int cur[NTHREADS];
    bool in_hook[NTHREADS], round_done[NTHREADS];
    unsigned piled; /* page_ins that another thread's fault on their page joined */
    struct errbox err;
};

/* The worker this thread is (-1: not a worker). */
static _Thread_local int if_me = -1;

/* Worker t sets out to access page p (or is done with it: p = -1). */
static void if_announce(struct inflight *s, unsigned t, int p)
{
    pthread_mutex_lock(&s->rv_mu);
    s->cur[t] = p;
    pthread_cond_broadcast(&s->rv_cv);
    pthread_mutex_unlock(&s->rv_mu);
}

/* Inside worker t's page_in of page p: wait until another worker has set
 * out to fault p too (it then waits for this page_in, or finds the page
 * resident if it gets there late), or until none can: each other worker
 * is done with the round or inside a page_in itself.  A worker waiting in
 * the library for another page in flight has set out for that page, whose
 * page_in therefore goes on: no deadlock. */
static void if_rendezvous(struct inflight *s, unsigned t, int p)
{
    pthread_mutex_lock(&s->rv_mu);
    s->in_hook[t] = true;
    pthread_cond_broadcast(&s->rv_cv);
    for (;;) {
        bool joined = false, free_other = false;
        for (unsigned u = 0; u < NTHREADS; u++) {
            if (u == t)
                continue;
            joined |= s->cur[u] == p;
            free_other |= !s->round_done[u] && !s->in_hook[u];
        }
        if (joined)
            s->piled++;
        if (joined || !free_other || atomic_load(&s->err.stop))
            break;
        pthread_cond_wait(&s->rv_cv, &s->rv_mu);
    }
    s->in_hook[t] = false;
    pthread_mutex_unlock(&s->rv_mu);
}

static void if_take(struct inflight *s, enum take op, size_t page, size_t npages)
{
    if (op == TAKE_FLUSH)
        for (size_t p = page; p < page + npages && p < IF_PAGES; p++)
            atomic_fetch_add(&s->flushes[p], 1);
    int rc = pager_take(s->tp, s->cache, (spring_off_t)IF_PAGES * PS, op, (spring_off_t)page * PS,
                        (spring_off_t)npages * PS, SPRING_OWN_UNCHANGED);
    if (rc != 0)
        fail_at(&s->err, "in flight: %s(page %zu) from inside page_in = %s", take_name(op), page,
                spring_err_name(rc));
}

/* Runs inside the pager's page_in (no lock held): stay in flight until
 * another thread faults on the page too, then call back into the cache. */
static void if_hook(tpager_t *tp, enum tp_kind kind, spring_off_t off, void *arg)
{
    struct inflight *s = arg;
    (void)tp;
    if (kind != TP_PAGE_IN)
        return;
    size_t p = (size_t)(off / PS);
    if (p >= IF_NF || if_me < 0)
        return; /* the test's own page-ins of victims */
    atomic_fetch_add(&s->hook_calls, 1);
    uint64_t rs = atomic_fetch_add(&s->hook_rs, 0x9e3779b97f4a7c15ULL);
    uint64_t x = rnd(&rs);
    if_rendezvous(s, (unsigned)if_me, (int)p);
    switch (s->mode) {
    case IF_OTHER:
        if_take(s, (enum take)((p + s->round) % 3), IF_NF + p, 1);
        break;
    case IF_SELF:
        if (p >= IF_NF - IF_NSELF && !atomic_exchange(&s->self_done[p], true))
            if_take(s, TAKE_FLUSH, p, 1); /* dooms the block being paged in */
        else
            if_take(s, (enum take)((p + s->round) % 3), IF_NF + p, 1);
        break;
    case IF_CHAOS: {
        /* Any range, the faulted pages included (also the one in flight). */
        size_t q = (size_t)((x >> 16) % IF_PAGES), n = 1 + (size_t)((x >> 24) % 4);
        if_take(s, (enum take)((x >> 32) % 3), q, n);
        break;
    }
    }
}

struct if_worker {
    struct inflight *s;
    unsigned id;
    unsigned rounds;
};

static void *if_worker_main(void *arg)
{
    struct if_worker *w = arg;
    struct inflight *s = w->s;
    unsigned t = w->id;
    if_me = (int)t;
    uint64_t rs = seed ^ ((uint64_t)(t + 1) << 44) ^ 0x1234;
    for (unsigned round = 0; round < w->rounds; round++) {
        pthread_barrier_wait(&s->bar); /* the round is set up */
        /* All threads start on the same page, then go their own ways. */
        size_t order[IF_NF];
        for (size_t i = 0; i < IF_NF; i++)
            order[i] = i;
        for (size_t i = IF_NF - 1; i > 1; i--) {
            size_t j = 1 + (size_t)(rnd(&rs) % i);
            size_t tmp = order[i];
            order[i] = order[j];
            order[j] = tmp;
        }
        order[0] = round % IF_NF;
        for (size_t i = 1; i < IF_NF; i++)
            if (order[i] == order[0])
                order[i] = 0;
        for (size_t i = 0; i < IF_NF && !atomic_load(&s->err.stop); i++) {
            size_t p = order[i];
            spring_addr_t a = s->base + (spring_addr_t)p * PS + (spring_addr_t)t * SLOT;
            uint32_t want = s->shadow[t][p], got = 0;
            int rc = 0;
            if_announce(s, t, (int)p);
            switch ((rnd(&rs) + i) % 3) {
            case 0: /* a read fault, then a write-pinned increment */
                if ((rc = spring_as_read(s->as, a, &got, sizeof got)) != 0 || got != want)
                    break;
                /* fall through */
            case 1: {
                void *ptr;
                spring_pin_t pin;
                if ((rc = spring_as_translate(s->as, a, SPRING_RIGHTS_W, &ptr, &pin)) != 0)
                    break;
                got = *(uint32_t *)ptr;
                if (got == want)
                    *(uint32_t *)ptr = want + 1;
                spring_pin_release(&pin);
                break;
            }
            default: {
                uint32_t v = want + 1;
                if ((rc = spring_as_read(s->as, a, &got, sizeof got)) == 0 && got == want)
                    rc = spring_as_write(s->as, a, &v, sizeof v);
                break;
            }
            }
            if_announce(s, t, -1);
            if (rc != 0) {
                fail_at(&s->err, "in flight: thread %u page %zu: %s", t, p, spring_err_name(rc));
                break;
            }
            if (got != want) {
                fail_at(&s->err, "in flight: thread %u page %zu reads %u, shadow %u", t, p, got, want);
                break;
            }
            s->shadow[t][p] = want + 1;
        }
        pthread_mutex_lock(&s->rv_mu);
        s->cur[t] = -1;
        s->round_done[t] = true;
        pthread_cond_broadcast(&s->rv_cv);
        pthread_mutex_unlock(&s->rv_mu);
        pthread_barrier_wait(&s->bar); /* the round is over */
    }
    return NULL;
}

/* Count the page_ins of each page in the call log: those that bring the
 * data (n) and upgrades of a read-only copy (up). */
static void count_page_ins(tpager_t *tp, unsigned *n, unsigned *up)
{
    memset(n, 0, IF_PAGES * sizeof *n);
    memset(up, 0, IF_PAGES * sizeof *up);
    size_t nc = tp_ncalls(tp);
    for (size_t i = 0; i < nc; i++) {
        tp_call_t c = tp_call(tp, i);
        if (c.kind == TP_PAGE_IN && c.off / PS < IF_PAGES)
            for (spring_off_t o = c.off; o < c.off + c.size; o += PS)
                (c.upgrade ? up : n)[o / PS]++;
    }
}

static unsigned if_rounds(void)
{
    unsigned long it = stress_iters();
    unsigned long r = it / 1000;
    if (r < 4)
        r = 4;
    if (r > 40)
        r = 40;
    return (unsigned)r;
}

START_TEST(test_inflight)
{
    static const enum if_mode modes[] = {IF_OTHER, IF_SELF, IF_CHAOS};
    static const char *names[] = {"other blocks", "own block", "random ranges"};
    struct inflight *s = calloc(1, sizeof *s);
    ck_assert_ptr_nonnull(s);
    s->mode = modes[_i];
    errbox_init(&s->err);
    pthread_mutex_init(&s->rv_mu, NULL);
    pthread_cond_init(&s->rv_cv, NULL);
    for (unsigned t = 0; t < NTHREADS; t++)
        s->cur[t] = -1;
    atomic_init(&s->hook_rs, seed ^ 0xabcdefULL);
    /* Frames for every page twice over: no eviction, every removal is ours. */
    s->vmm = test_vmm("inflight", 2 * IF_PAGES + 8, &s->reg);
    ck_assert_rc(spring_as_new(s->vmm, NULL, &s->as), 0);
    s->tp = tp_new(s->reg, "inflight", NULL, (spring_off_t)IF_PAGES * PS, 0, SPRING_OWN_EXCLUSIVE, true);
    spring_mobj_t *m = tp_mobj(s->tp, SPRING_RIGHTS_RW);
    spring_off_t len = (spring_off_t)IF_PAGES * PS;
    s->base = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_map(s->as, m, 0, &len, &s->base, SPRING_RIGHTS_RW), 0);
    spring_mobj_unref(m);
    s->cache = tp_cache(s->tp);
    for (unsigned t = 0; t < NTHREADS; t++)
        for (size_t p = 0; p < IF_NF; p++)
            s->shadow[t][p] = pattern_u32((spring_off_t)p * PS + (spring_off_t)t * SLOT);
    tp_set_hook(s->tp, if_hook, s);

    unsigned rounds = if_rounds();
    pthread_t th[NTHREADS];
    struct if_worker w[NTHREADS];
    ck_assert_int_eq(pthread_barrier_init(&s->bar, NULL, NTHREADS + 1), 0);
    for (unsigned t = 0; t < NTHREADS; t++) {
        w[t] = (struct if_worker){s, t, rounds};
        ck_assert_int_eq(pthread_create(&th[t], NULL, if_worker_main, &w[t]), 0);
    }
    unsigned bad_page = IF_PAGES, bad_n = 0, bad_min = 0, bad_max = 0, bad_round = 0;
    for (unsigned round = 0; round < rounds; round++) {
        pthread_mutex_lock(&s->rv_mu); /* the workers are at the barrier */
        for (unsigned t = 0; t < NTHREADS; t++) {
            s->cur[t] = -1;
            s->round_done[t] = false;
        }
        pthread_mutex_unlock(&s->rv_mu);
        if (bad_page != IF_PAGES || atomic_load(&s->err.stop)) {
            /* Failed: let the workers go through their remaining rounds idle. */
            atomic_store(&s->err.stop, true);
            pthread_barrier_wait(&s->bar);
            pthread_barrier_wait(&s->bar);
            continue;
        }
        /* Set up: the faulted pages are not cached, the victims are cached
         * and modified, and the log is empty. */
        s->round = round;
        ck_assert_rc(pager_take(s->tp, s->cache, len, TAKE_FLUSH, 0, (spring_off_t)IF_NF * PS, SPRING_OWN_UNCHANGED),
                     0);
        s->victim_val = round + 1;
        for (size_t v = IF_NF; v < IF_PAGES; v++)
            ck_assert_rc(spring_as_write(s->as, s->base + (spring_addr_t)v * PS + 8, &s->victim_val, 4), 0);
        tp_clear(s->tp);
        for (size_t p = 0; p < IF_PAGES; p++)
            atomic_store(&s->flushes[p], 0);
        for (size_t p = 0; p < IF_NF; p++)
            atomic_store(&s->self_done[p], false);
        pthread_barrier_wait(&s->bar);
        pthread_barrier_wait(&s->bar);
        if (atomic_load(&s->err.stop))
            continue;
        /* Only the pager's flush_backs remove a faulted page (the pool holds
         * everything), and each removal allows one more page_in.  A
         * deny_writes allows one upgrade; the exact modes never deny the
         * faulted pages, so no upgrade may appear there. */
        unsigned n[IF_PAGES], up[IF_PAGES];
        count_page_ins(s->tp, n, up);
        for (size_t p = 0; p < IF_NF && bad_page == IF_PAGES; p++) {
            unsigned lo = 1, hi = 1;
            if (s->mode == IF_SELF && p >= IF_NF - IF_NSELF)
                lo = hi = 2;
            else if (s->mode == IF_CHAOS)
                hi = 1 + atomic_load(&s->flushes[p]);
            if (s->mode != IF_CHAOS)
                n[p] += up[p];
            if (n[p] < lo || n[p] > hi) {
                bad_page = (unsigned)p;
                bad_n = n[p];
                bad_min = lo;
                bad_max = hi;
                bad_round = round;
            }
        }
    }
    for (unsigned t = 0; t < NTHREADS; t++)
        pthread_join(th[t], NULL);
    errbox_check(&s->err);
    ck_assert_msg(bad_page == IF_PAGES, "in flight (%s), round %u: page %u was paged in %u times, want %u to %u%s",
                  names[_i], bad_round, bad_page, bad_n, bad_min, bad_max,
                  bad_n > bad_max ? " (a double page-in)" : "");
    ck_assert_msg(atomic_load(&s->hook_calls) >= rounds * IF_NF, "the hook ran %u times",
                  atomic_load(&s->hook_calls));
    /* Every round starts with all workers on one page: at least that
     * page_in had company. */
    ck_assert_msg(s->piled >= rounds, "in flight (%s): only %u page_ins were joined by another fault in %u rounds",
                  names[_i], s->piled, rounds);
    tp_set_hook(s->tp, NULL, NULL);
    CHECK_VMM(s->vmm);

    /* The counters, through the address space and in the store. */
    for (size_t p = 0; p < IF_NF; p++)
        for (unsigned t = 0; t < NTHREADS; t++) {
            uint32_t v = 0;
            ck_assert_rc(spring_as_read(s->as, s->base + (spring_addr_t)p * PS + (spring_addr_t)t * SLOT, &v, 4), 0);
            ck_assert_uint_eq(v, s->shadow[t][p]);
        }
    ck_assert_rc(spring_as_flush(s->as, s->base, len, false), 0);
    tp_lock(s->tp);
    const uint8_t *st = tp_store(s->tp);
    for (size_t p = 0; p < IF_NF; p++)
        for (unsigned t = 0; t < NTHREADS; t++) {
            uint32_t v;
            memcpy(&v, st + p * PS + t * SLOT, 4);
            if (v != s->shadow[t][p]) {
                tp_unlock(s->tp);
                ck_abort_msg("in flight: store page %zu slot %u holds %u, want %u", p, t, v, s->shadow[t][p]);
            }
        }
    for (size_t v = IF_NF; v < IF_PAGES; v++) {
        uint32_t x;
        memcpy(&x, st + v * PS + 8, 4);
        if (x != s->victim_val) {
            tp_unlock(s->tp);
            ck_abort_msg("in flight: victim page %zu holds %u in the store, want %u", v, x, s->victim_val);
        }
    }
    tp_unlock(s->tp);
    CHECK_VMM(s->vmm);

    pthread_barrier_destroy(&s->bar);
    spring_as_destroy(s->as);
    tp_free(s->tp);
    test_vmm_free(s->vmm, s->reg);
    errbox_fini(&s->err);
    pthread_mutex_destroy(&s->rv_mu);
    pthread_cond_destroy(&s->rv_cv);
    free(s);
}
END_TEST

/* ------------------------------------------------------------------ */

static Suite *stress_suite(void)
{
    Suite *s = suite_create("stress");
    TCase *tc = tcase_create("counters");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, test_counters_tpager, 0, 2);
    tcase_add_test(tc, test_counters_anon);
    suite_add_tcase(s, tc);
    tc = tcase_create("in flight");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, test_inflight, 0, 3);
    suite_add_tcase(s, tc);
    return s;
}

Suite *test_suite(void)
{
    /* Without SPRING_STRESS_SEED the seed is fixed: `make check` makes the
     * same requests and accesses every run.  "time" draws one. */
    const char *env_seed = getenv("SPRING_STRESS_SEED");
    seed = DEFAULT_SEED;
    if (env_seed != NULL && strcmp(env_seed, "time") == 0) {
        seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
    } else if (env_seed != NULL && *env_seed != '\0') {
        char *end;
        seed = strtoull(env_seed, &end, 0);
        if (*end != '\0') {
            fprintf(stderr, "t/stress: SPRING_STRESS_SEED must be a number or \"time\", not \"%s\"\n", env_seed);
            exit(2);
        }
    }
    printf("stress: seed %llu (replay: SPRING_STRESS_SEED=%llu t/stress), %lu increments per worker\n",
           (unsigned long long)seed, (unsigned long long)seed, stress_iters());
    fflush(stdout);
    return stress_suite();
}
