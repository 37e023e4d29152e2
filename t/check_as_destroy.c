/*
 * check_as_destroy.c - spring_as_destroy() while other threads are inside
 * calls on the same address space (as.h): destroy waits for the calls in
 * progress, calls that begin while it waits fail with SPRING_EDESTROYED,
 * and a destroy from inside a call on the same space is refused.
 *
 *   waits     one call held inside the library (a pager's page_in,
 *             page_out or bind, an event handler, a nested call from a
 *             handler of another space) while another thread destroys the
 *             space: destroy does not return before the call, every new
 *             call fails cleanly, the held call completes with its result
 *   dying     threads doing reads, writes, faults, maps, unmaps and
 *             allocations on the space while it is destroyed (one call held
 *             so that the space stays allocated until they all stopped)
 *   self      a destroy from inside a call on the same space is refused
 *
 * The held call makes the test deterministic: "in progress" is a call the
 * pager or the handler has seen, and nothing begins a call after destroy
 * returned (that is the caller's bug, as.h).  Run under ASan and TSan too.
 *
 * Only the public headers and t/testlib.h are used.
 */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "testlib.h"
#include "testmain.h"

#define PS 4096
#define VMM_NAME "destroy"
#define NPAGES 16

#ifndef __SANITIZE_THREAD__ /* liburcu's QSBR is not instrumented: no fast translations under TSan */
#define FAST_TRANSLATIONS 1
#endif

/* ------------------------------------------------------------------ */
/* Helpers.                                                             */

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* A gate a pager hook or an event handler stops at: the first call that
 * reaches it while it is armed waits there until the test opens it. */
struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool armed, reached, open;
    spring_off_t at;   /* page hooks: stop only at this offset */
    enum tp_kind kind; /* page hooks: stop only in this call */
};

static void gate_init(struct gate *g, enum tp_kind kind, spring_off_t at)
{
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    g->armed = g->reached = g->open = false;
    g->kind = kind;
    g->at = at;
}

static void gate_arm(struct gate *g)
{
    pthread_mutex_lock(&g->mu);
    g->armed = true;
    pthread_mutex_unlock(&g->mu);
}

/* Stop here if armed, until opened. */
static void gate_pass(struct gate *g)
{
    pthread_mutex_lock(&g->mu);
    if (g->armed) {
        g->armed = false;
        g->reached = true;
        pthread_cond_broadcast(&g->cv);
        while (!g->open)
            pthread_cond_wait(&g->cv, &g->mu);
    }
    pthread_mutex_unlock(&g->mu);
}

static void gate_wait_reached(struct gate *g)
{
    pthread_mutex_lock(&g->mu);
    while (!g->reached)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
}

static void gate_open(struct gate *g)
{
    pthread_mutex_lock(&g->mu);
    g->open = true;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

static void gate_hook(tpager_t *tp, enum tp_kind kind, spring_off_t off, void *arg)
{
    (void)tp;
    struct gate *g = arg;
    if (kind == g->kind && off == g->at)
        gate_pass(g);
}

static void gate_bind_hook(tpager_t *tp, void *arg)
{
    (void)tp;
    gate_pass(arg);
}

/* The destroying thread. */
struct destroyer {
    pthread_t th;
    spring_as_t *as;
    atomic_bool done;
};

static void *destroy_main(void *arg)
{
    struct destroyer *d = arg;
    spring_as_destroy(d->as);
    atomic_store(&d->done, true);
    return NULL;
}

static void destroyer_start(struct destroyer *d, spring_as_t *as)
{
    d->as = as;
    atomic_init(&d->done, false);
    ck_assert_int_eq(pthread_create(&d->th, NULL, destroy_main, d), 0);
}

/* Wait until the destroy of as has begun: a new call fails with
 * SPRING_EDESTROYED.  => a call on as is held, so as stays allocated. */
static void wait_dying(spring_as_t *as)
{
    double t0 = now_s();
    spring_as_statistics_t st = {.size = sizeof st};
    int rc;
    while ((rc = spring_as_statistics(as, &st)) == 0 && now_s() - t0 < 20)
        sleep_ms(1);
    ck_assert_msg(rc == SPRING_EDESTROYED, "a call begun after spring_as_destroy began returned %s",
                  spring_err_name(rc));
}

/* Every call on as, begun while destroy waits, fails with SPRING_EDESTROYED
 * and changes nothing.  => as is being destroyed; a call on it is held. */
static void check_calls_refused(spring_as_t *as, spring_addr_t a, spring_mobj_t *m)
{
    uint8_t buf[8] = {0};
    spring_off_t len = PS;
    spring_addr_t at = SPRING_ANYWHERE;
    spring_mobj_t *nm = NULL;
    void *p = NULL;
    spring_pin_t pin = {0};
    spring_mapping_t mp[2];
    size_t n = 0;
    bool more = false;
    spring_as_statistics_t st = {.size = sizeof st};
    spring_pager_stats_t ps = {.size = sizeof ps};
    ck_assert_rc(spring_as_read(as, a + PS, buf, 1), SPRING_EDESTROYED);
    ck_assert_rc(spring_as_write(as, a + PS, buf, 1), SPRING_EDESTROYED);
    ck_assert_rc(spring_as_fault(as, a + PS, SPRING_RIGHTS_R), SPRING_EDESTROYED);
    ck_assert_rc(spring_as_translate(as, a + PS, SPRING_RIGHTS_R, &p, &pin), SPRING_EDESTROYED);
    ck_assert_rc(spring_as_map(as, m, 0, &len, &at, SPRING_RIGHTS_R), SPRING_EDESTROYED);
    memset(mp, 0, sizeof mp);
    mp[0].mobj = m;
    mp[0].length = PS;
    mp[0].address = SPRING_ANYWHERE;
    mp[0].access = SPRING_RIGHTS_R;
    ck_assert_rc(spring_as_map_many(as, mp, 1), SPRING_EDESTROYED);
    ck_assert_rc(spring_as_unmap(as, a, PS), SPRING_EDESTROYED);
    len = PS;
    at = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_allocate_memory(as, &len, &at, SPRING_RIGHTS_RW), SPRING_EDESTROYED);
    ck_assert_rc(spring_as_allocate_memory_and_mobj(as, &len, &at, SPRING_RIGHTS_RW, &nm), SPRING_EDESTROYED);
    ck_assert_ptr_null(nm);
    ck_assert_rc(spring_as_change_access_rights(as, a, PS, SPRING_RIGHTS_R), SPRING_EDESTROYED);
    ck_assert_rc(spring_as_lock_memory(as, a, PS), SPRING_EDESTROYED);
    ck_assert_rc(spring_as_unlock_memory(as, a, PS), SPRING_EDESTROYED);
    ck_assert_rc(spring_as_flush(as, a, PS, true), SPRING_EDESTROYED);
    ck_assert_rc(spring_as_get_mappings(as, a, PS, mp, 2, &n, &more), SPRING_EDESTROYED);
    ck_assert_rc(spring_as_statistics(as, &st), SPRING_EDESTROYED);
    ck_assert_rc(spring_as_pager_stats(as, a, &ps), SPRING_EDESTROYED);
    ck_assert_rc(spring_as_set_swap_pager(as, NULL, NULL), SPRING_EDESTROYED);
    ck_assert_rc(spring_as_catch_as_events(as, NULL, NULL), SPRING_EDESTROYED);
    ck_assert_uint_eq(spring_as_get_page_size(as), 0);
#ifdef FAST_TRANSLATIONS
    /* A hit in this thread's translation cache (fast_start) fails too. */
    ck_assert_rc(spring_as_translate_fast(as, a + PS, SPRING_RIGHTS_R, &p), SPRING_EDESTROYED);
#endif
}

/* Register this thread for fast translations and have one of page 1 of
 * the mapping at a cached. */
static void fast_start(spring_as_t *as, spring_addr_t a)
{
#ifdef FAST_TRANSLATIONS
    void *p;
    ck_assert_rc(spring_thread_register(), 0);
    ck_assert_rc(spring_as_translate_fast(as, a + PS, SPRING_RIGHTS_R, &p), 0);
    ck_assert_rc(spring_as_translate_fast(as, a + PS, SPRING_RIGHTS_R, &p), 0);
    ck_assert(tp_is_pattern(p, 1, PS));
#else
    (void)as;
    (void)a;
#endif
}

static void fast_stop(void)
{
#ifdef FAST_TRANSLATIONS
    spring_thread_unregister();
#endif
}

/* ------------------------------------------------------------------ */
/* waits: one call held inside the library while the space is destroyed. */

enum held_kind {
    H_READ,      /* spring_as_read, held in page_in */
    H_WRITE,     /* spring_as_write, held in page_in */
    H_FAULT,     /* spring_as_fault, held in page_in */
    H_TRANSLATE, /* spring_as_translate, held in page_in */
    H_LOCK,      /* spring_as_lock_memory, held in page_in */
    H_FLUSH,     /* spring_as_flush, held in page_out */
    H_MAP,       /* spring_as_map, held in the pager's bind */
    H_HANDLER,   /* spring_as_fault of an unmapped address, held in the event handler */
    H_NESTED,    /* a read from the handler of another space's fault, held in page_in */
    H_NKINDS
};

static const char *const held_name[] = {"read", "write", "fault", "translate", "lock_memory",
                                        "flush", "map", "handler", "nested"};

struct held {
    enum held_kind kind;
    fx_t *f;
    spring_as_t *other; /* H_NESTED: the space whose fault's handler reads f->as */
    spring_mobj_t *m2;  /* H_MAP: the object it maps */
    struct gate *g;
    pthread_t th;
    int rc;             /* produced: the held call's result */
    uint8_t buf[PS];    /* produced: what it read */
};

static int stop_handler(spring_as_t *as, const spring_as_event_t *ev, void *arg)
{
    (void)as;
    if (ev->kind == SPRING_AS_EVENT_UNMAPPED)
        gate_pass(arg);
    return 0;
}

static int nested_handler(spring_as_t *as, const spring_as_event_t *ev, void *arg)
{
    (void)as;
    struct held *h = arg;
    if (ev->kind == SPRING_AS_EVENT_UNMAPPED)
        h->rc = spring_as_read(h->f->as, h->f->a, h->buf, PS);
    return 0;
}

static void *held_main(void *arg)
{
    struct held *h = arg;
    fx_t *f = h->f;
    spring_off_t len = PS;
    spring_addr_t at = SPRING_ANYWHERE;
    void *p;
    spring_pin_t pin;
    switch (h->kind) {
    case H_READ:
        h->rc = spring_as_read(f->as, f->a, h->buf, PS);
        break;
    case H_WRITE:
        memset(h->buf, 0x77, PS);
        h->rc = spring_as_write(f->as, f->a, h->buf, PS);
        break;
    case H_FAULT:
        h->rc = spring_as_fault(f->as, f->a, SPRING_RIGHTS_W);
        break;
    case H_TRANSLATE:
        h->rc = spring_as_translate(f->as, f->a, SPRING_RIGHTS_R, &p, &pin);
        if (h->rc == 0) {
            memcpy(h->buf, p, PS);
            spring_pin_release(&pin);
        }
        break;
    case H_LOCK:
        h->rc = spring_as_lock_memory(f->as, f->a, PS);
        break;
    case H_FLUSH:
        h->rc = spring_as_flush(f->as, f->a, f->len, false);
        break;
    case H_MAP:
        h->rc = spring_as_map(f->as, h->m2, 0, &len, &at, SPRING_RIGHTS_RW);
        break;
    case H_HANDLER:
        h->rc = spring_as_fault(f->as, f->a + f->len + 16 * PS, SPRING_RIGHTS_R);
        break;
    case H_NESTED:
        /* The outer call is on another space: the held call is this
         * thread's nested one. */
        (void)spring_as_fault(h->other, 64 * PS, SPRING_RIGHTS_R);
        break;
    case H_NKINDS:
        break;
    }
    return NULL;
}

/* Set up the held call of kind k and start it; returns once it is held. */
static void held_start(struct held *h, enum held_kind k, fx_t *f, struct gate *g)
{
    memset(h, 0, sizeof *h);
    h->kind = k;
    h->f = f;
    h->g = g;
    h->rc = -99;
    switch (k) {
    case H_FLUSH:
        ck_assert_rc(spring_as_write(f->as, f->a, "dirty", 5), 0);
        gate_init(g, TP_PAGE_OUT, 0);
        tp_set_hook(f->tp, gate_hook, g);
        break;
    case H_MAP:
        h->m2 = tp_mobj(f->tp, SPRING_RIGHTS_RW);
        gate_init(g, TP_BIND, 0);
        tp_set_bind_hook(f->tp, gate_bind_hook, g);
        break;
    case H_HANDLER:
        gate_init(g, TP_NKINDS, 0);
        ck_assert_rc(spring_as_catch_as_events(f->as, stop_handler, g), 0);
        break;
    case H_NESTED:
        ck_assert_rc(spring_as_new(f->vmm, NULL, &h->other), 0);
        ck_assert_rc(spring_as_catch_as_events(h->other, nested_handler, h), 0);
        gate_init(g, TP_PAGE_IN, 0);
        tp_set_hook(f->tp, gate_hook, g);
        break;
    default:
        gate_init(g, TP_PAGE_IN, 0);
        tp_set_hook(f->tp, gate_hook, g);
        break;
    }
    gate_arm(g);
    ck_assert_int_eq(pthread_create(&h->th, NULL, held_main, h), 0);
    gate_wait_reached(g);
}

/* The held call's result, once it returned. */
static void held_check(struct held *h)
{
    fx_t *f = h->f;
    switch (h->kind) {
    case H_READ:
    case H_TRANSLATE:
    case H_NESTED:
        ck_assert_rc(h->rc, 0);
        ck_assert_msg(tp_is_pattern(h->buf, PS, 0), "%s: the held call read wrong data", held_name[h->kind]);
        break;
    case H_WRITE:
    case H_FAULT:
    case H_LOCK:
    case H_MAP:
        ck_assert_rc(h->rc, 0);
        break;
    case H_FLUSH:
        ck_assert_rc(h->rc, 0);
        tp_lock(f->tp);
        ck_assert_msg(memcmp(tp_store(f->tp), "dirty", 5) == 0, "the held flush did not reach the pager");
        tp_unlock(f->tp);
        break;
    case H_HANDLER:
        ck_assert_rc(h->rc, SPRING_ENOTMAPPED);
        break;
    case H_NKINDS:
        break;
    }
}

START_TEST(test_destroy_waits_for_call_in_progress)
{
    enum held_kind k = (enum held_kind)_i;
    fx_t f;
    fx_setup(&f, VMM_NAME, 64, NPAGES, 0, SPRING_OWN_EXCLUSIVE, true, true);
    fx_map(&f, SPRING_RIGHTS_RW);
    struct gate g;
    struct held h;
    fast_start(f.as, f.a);
    held_start(&h, k, &f, &g);
    struct destroyer d;
    destroyer_start(&d, f.as);
    wait_dying(f.as);
    ck_assert_msg(!atomic_load(&d.done), "%s: destroy returned while a call on the space was in progress",
                  held_name[k]);
    check_calls_refused(f.as, f.a, f.m);
    fast_stop();
    sleep_ms(20);
    ck_assert_msg(!atomic_load(&d.done), "%s: destroy returned while a call on the space was in progress",
                  held_name[k]);
    gate_open(&g);
    ck_assert_int_eq(pthread_join(h.th, NULL), 0);
    ck_assert_int_eq(pthread_join(d.th, NULL), 0);
    f.as = NULL;
    held_check(&h);
    tp_set_hook(f.tp, NULL, NULL);
    tp_set_bind_hook(f.tp, NULL, NULL);
    /* Nothing of the space is left: no region holds a cache or an object. */
    spring_vm_info_t info = test_vm_info(f.vmm);
    ck_assert_uint_eq(info.naddress_spaces, h.other != NULL ? 1 : 0);
    ck_assert_uint_eq(info.ncaches, info.unattached_caches);
    CHECK_VMM(f.vmm);
    spring_as_destroy(h.other);
    spring_mobj_unref(h.m2);
    fx_fini(&f);
}
END_TEST

/* ------------------------------------------------------------------ */
/* dying: threads working on the space while it is destroyed.           */

#define NLOOPERS 3

struct looper {
    pthread_t th;
    fx_t *f;
    unsigned id;
    unsigned seed;
    unsigned long ops;     /* produced: calls made */
    int bad;               /* produced: an unexpected result code (0: none) */
    const char *bad_op;
    bool wrong_data;       /* produced: a read did not return what the thread wrote */
    bool refused;          /* produced: a call failed with SPRING_EDESTROYED */
};

/* Whether rc is a result an operation may have here besides success. */
static bool rc_ok(int rc)
{
    return rc == 0 || rc == SPRING_EDESTROYED;
}

static void *looper_main(void *arg)
{
    struct looper *l = arg;
    fx_t *f = l->f;
    /* Pages 1 + id, 1 + id + NLOOPERS, ... of the fixture's mapping are
     * this thread's (page 0 is the held call's); it also maps and unmaps
     * a page of its own at a fixed address above the mapping. */
    spring_addr_t own_map = f->a + f->len + (spring_addr_t)(64 + 4 * l->id) * PS;
    uint8_t last[NPAGES] = {0};
    double t0 = now_s();
    while (!l->refused && now_s() - t0 < 20) {
        unsigned r = (unsigned)rand_r(&l->seed);
        unsigned pg = 1 + l->id + NLOOPERS * (r / 16 % ((NPAGES - 1 - l->id) / NLOOPERS));
        spring_addr_t a = f->a + (spring_addr_t)pg * PS;
        uint8_t v = (uint8_t)(r >> 8), got = 0;
        int rc = 0;
        const char *op = "";
        switch (r % 8) {
        case 0:
            op = "write";
            if ((rc = spring_as_write(f->as, a + 7, &v, 1)) == 0)
                last[pg] = v;
            break;
        case 1:
            op = "read";
            if ((rc = spring_as_read(f->as, a + 7, &got, 1)) == 0 && last[pg] != 0 && got != last[pg])
                l->wrong_data = true;
            break;
        case 2: {
            op = "translate";
            void *p;
            spring_pin_t pin;
            if ((rc = spring_as_translate(f->as, a + 7, SPRING_RIGHTS_R, &p, &pin)) == 0) {
                if (last[pg] != 0 && *(uint8_t *)p != last[pg])
                    l->wrong_data = true;
                spring_pin_release(&pin);
            }
            break;
        }
        case 3:
            op = "fault";
            rc = spring_as_fault(f->as, a, SPRING_RIGHTS_W);
            break;
        case 4: {
            op = "map";
            spring_off_t len = PS;
            spring_addr_t at = own_map;
            rc = spring_as_map(f->as, f->m, 0, &len, &at, SPRING_RIGHTS_R);
            if (rc == SPRING_EEXIST) /* mapped by an earlier round of this thread */
                rc = 0;
            break;
        }
        case 5:
            op = "unmap";
            rc = spring_as_unmap(f->as, own_map, PS);
            break;
        case 6: {
            op = "allocate";
            spring_off_t len = PS;
            spring_addr_t at = SPRING_ANYWHERE;
            if ((rc = spring_as_allocate_memory(f->as, &len, &at, SPRING_RIGHTS_RW)) == 0) {
                uint8_t one = 1;
                rc = spring_as_write(f->as, at, &one, 1);
                int rc2 = spring_as_unmap(f->as, at, len);
                if (rc == 0)
                    rc = rc2;
            }
            break;
        }
        default:
            op = "flush";
            rc = spring_as_flush(f->as, a, PS, (r & 64) != 0);
            break;
        }
        l->ops++;
        if (rc == SPRING_EDESTROYED)
            l->refused = true;
        else if (!rc_ok(rc) && l->bad == 0) {
            l->bad = rc;
            l->bad_op = op;
        }
    }
    return NULL;
}

START_TEST(test_destroy_while_threads_work)
{
    for (unsigned round = 0; round < 8; round++) {
        fx_t f;
        fx_setup(&f, VMM_NAME, 12, NPAGES, 0, SPRING_OWN_EXCLUSIVE, true, true);
        fx_map(&f, SPRING_RIGHTS_RW);
        struct gate g;
        struct held h;
        held_start(&h, H_READ, &f, &g);
        struct looper l[NLOOPERS];
        for (unsigned i = 0; i < NLOOPERS; i++) {
            memset(&l[i], 0, sizeof l[i]);
            l[i].f = &f;
            l[i].id = i;
            l[i].seed = 1000 * round + i;
            ck_assert_int_eq(pthread_create(&l[i].th, NULL, looper_main, &l[i]), 0);
        }
        sleep_ms(1 + (long)(round % 4) * 3);
        struct destroyer d;
        destroyer_start(&d, f.as);
        for (unsigned i = 0; i < NLOOPERS; i++)
            ck_assert_int_eq(pthread_join(l[i].th, NULL), 0);
        ck_assert_msg(!atomic_load(&d.done), "destroy returned while a call on the space was in progress");
        gate_open(&g);
        ck_assert_int_eq(pthread_join(h.th, NULL), 0);
        ck_assert_int_eq(pthread_join(d.th, NULL), 0);
        f.as = NULL;
        held_check(&h);
        for (unsigned i = 0; i < NLOOPERS; i++) {
            ck_assert_msg(l[i].refused, "round %u thread %u: no call failed with SPRING_EDESTROYED", round, i);
            ck_assert_msg(l[i].bad == 0, "round %u thread %u: %s returned %s", round, i, l[i].bad_op,
                          spring_err_name(l[i].bad));
            ck_assert_msg(!l[i].wrong_data, "round %u thread %u: a read returned wrong data", round, i);
        }
        tp_set_hook(f.tp, NULL, NULL);
        spring_vm_info_t info = test_vm_info(f.vmm);
        ck_assert_uint_eq(info.naddress_spaces, 0);
        ck_assert_uint_eq(info.ncaches, info.unattached_caches);
        fx_fini(&f);
    }
}
END_TEST

/* ------------------------------------------------------------------ */
/* self: a destroy from inside a call on the same space is refused.    */

struct self_destroy {
    spring_as_t *target;
    bool tried;
    const char *why; /* spring_last_error() after the refused destroy */
    char whybuf[256];
};

static void self_destroy_try(struct self_destroy *s)
{
    if (s->tried)
        return;
    s->tried = true;
    spring_as_destroy(s->target);
    const char *e = spring_last_error();
    snprintf(s->whybuf, sizeof s->whybuf, "%s", e != NULL ? e : "");
    s->why = s->whybuf;
}

static int self_destroy_handler(spring_as_t *as, const spring_as_event_t *ev, void *arg)
{
    (void)as;
    if (ev->kind == SPRING_AS_EVENT_UNMAPPED)
        self_destroy_try(arg);
    return 0;
}

static void self_destroy_hook(tpager_t *tp, enum tp_kind kind, spring_off_t off, void *arg)
{
    (void)tp;
    (void)off;
    if (kind == TP_PAGE_IN)
        self_destroy_try(arg);
}

/* The space is whole after the refused destroy. */
static void check_space_alive(fx_t *f, struct self_destroy *s)
{
    ck_assert(s->tried);
    ck_assert_msg(strstr(s->why, "inside a call") != NULL, "spring_last_error() after the refused destroy: %s",
                  s->why);
    ck_assert_uint_eq(test_vm_info(f->vmm).naddress_spaces, 1);
    uint8_t buf[PS];
    ck_assert_rc(spring_as_read(f->as, f->a + PS, buf, PS), 0);
    ck_assert(tp_is_pattern(buf, PS, PS));
    ck_assert_uint_eq(test_as_stats(f->as).nregions, 1);
    CHECK_VMM(f->vmm);
}

/* From the space's own event handler. */
START_TEST(test_destroy_from_own_handler_refused)
{
    fx_t f;
    fx_setup(&f, VMM_NAME, 32, NPAGES, 0, SPRING_OWN_EXCLUSIVE, true, true);
    fx_map(&f, SPRING_RIGHTS_RW);
    struct self_destroy s = {f.as, false, NULL, {0}};
    ck_assert_rc(spring_as_catch_as_events(f.as, self_destroy_handler, &s), 0);
    ck_assert_rc(spring_as_fault(f.as, f.a + f.len + PS, SPRING_RIGHTS_R), SPRING_ENOTMAPPED);
    check_space_alive(&f, &s);
    fx_fini(&f);
}
END_TEST

/* From a pager's page_in for a fault on the space. */
START_TEST(test_destroy_from_own_page_in_refused)
{
    fx_t f;
    fx_setup(&f, VMM_NAME, 32, NPAGES, 0, SPRING_OWN_EXCLUSIVE, true, true);
    fx_map(&f, SPRING_RIGHTS_RW);
    struct self_destroy s = {f.as, false, NULL, {0}};
    tp_set_hook(f.tp, self_destroy_hook, &s);
    uint8_t buf[PS];
    ck_assert_rc(spring_as_read(f.as, f.a, buf, PS), 0);
    ck_assert(tp_is_pattern(buf, PS, 0));
    tp_set_hook(f.tp, NULL, NULL);
    check_space_alive(&f, &s);
    fx_fini(&f);
}
END_TEST

/* From a nested call: another space's handler reads this space, and the
 * read's page_in destroys it. */
static int read_other_handler(spring_as_t *as, const spring_as_event_t *ev, void *arg)
{
    (void)as;
    fx_t *f = arg;
    uint8_t v;
    if (ev->kind == SPRING_AS_EVENT_UNMAPPED)
        (void)spring_as_read(f->as, f->a, &v, 1);
    return 0;
}

START_TEST(test_destroy_from_nested_call_refused)
{
    fx_t f;
    fx_setup(&f, VMM_NAME, 32, NPAGES, 0, SPRING_OWN_EXCLUSIVE, true, true);
    fx_map(&f, SPRING_RIGHTS_RW);
    spring_as_t *other;
    ck_assert_rc(spring_as_new(f.vmm, NULL, &other), 0);
    ck_assert_rc(spring_as_catch_as_events(other, read_other_handler, &f), 0);
    struct self_destroy s = {f.as, false, NULL, {0}};
    tp_set_hook(f.tp, self_destroy_hook, &s);
    ck_assert_rc(spring_as_fault(other, 64 * PS, SPRING_RIGHTS_R), SPRING_ENOTMAPPED);
    tp_set_hook(f.tp, NULL, NULL);
    spring_as_destroy(other);
    check_space_alive(&f, &s);
    fx_fini(&f);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("as_destroy");
    TCase *t = tcase_create("waits");
    tcase_add_loop_test(t, test_destroy_waits_for_call_in_progress, 0, H_NKINDS);
    suite_add_tcase(s, t);
    t = tcase_create("dying");
    tcase_add_test(t, test_destroy_while_threads_work);
    suite_add_tcase(s, t);
    t = tcase_create("self");
    /* A destroy that waits for its own thread never returns: fail soon. */
    tcase_set_timeout(t, 60);
    tcase_add_test(t, test_destroy_from_own_handler_refused);
    tcase_add_test(t, test_destroy_from_own_page_in_refused);
    tcase_add_test(t, test_destroy_from_nested_call_refused);
    suite_add_tcase(s, t);
    return s;
}
