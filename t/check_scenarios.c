/*
 * check_scenarios.c - protocol scenarios, each asserting the exact pager
 * traffic the VMM generates and the data that moves:
 *
 *   ownership   the §5.1 rule deciding the mode of a page_in
 *   once        two faults on one page cause one page_in (also concurrent)
 *   pressure    §6.1: clean frames are reused silently, dirty ones paged out once
 *   pagercalls  flush_back, deny_writes, write_back, delete_range, zero_fill,
 *               populate, destroy_cache and their data-return guarantees
 *   transit     pager calls made from inside page_in / page_out
 *   bind        the §7.5 race and invalid cache-rights going to final_bind
 *   sharing     two memory objects with different rights over one cache
 *   lock        lock_memory under frame pressure and its limits
 *   events      catch_as_events: fault and mapping events, resolving faults
 *   inject      host-memory failure injection and pager errors at every call site
 *   blocks      block size larger than the page size
 *   anon        anonymous memory and swap pagers
 *   lost        nothing lost, nothing stale: destroy and sync page out, kept
 *               blocks, data lists, batching, no foreign data, upgrades
 *
 * Only the public headers and t/testlib.h are used.
 */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "testhooks.h"
#include "testlib.h"
#include "testmain.h"

#define PS 4096
#define VMM_NAME "scen"
/* What a failing test pager answers. */
#define PAGER_ERR SPRING_EOVERFLOW /* any pager error but ENOSPC, which means "no space" (a full swap) */

/* ------------------------------------------------------------------ */
/* Helpers.                                                             */


/* Every frame in use holds a page of the fixture's mappings (one address
 * space, one cache, nothing pinned): no frame leaked. */
#define CHECK_FRAMES(f)                                                                            \
    do {                                                                                           \
        size_t inuse_ = test_vm_info((f)->vmm).inuse_frames, res_ = test_as_stats((f)->as).resident;          \
        ck_assert_msg(inuse_ == res_, "%zu frames in use, %zu pages resident", inuse_, res_);       \
    } while (0)

/* An address space; limit 0 = the default. */
static spring_as_t *as_new(spring_vmm_t *vmm, bool privileged, spring_addr_t limit)
{
    spring_as_options_t o;
    spring_as_options_init(&o);
    o.privileged = privileged;
    if (limit)
        o.limit = limit;
    spring_as_t *as = NULL;
    ck_assert_rc(spring_as_new(vmm, &o, &as), 0);
    return as;
}

/* The fixture (testlib.h) with a privileged address space and patterned
 * initial data. */
static void fx_init(fx_t *f, size_t nframes, size_t npages, spring_off_t bs, spring_ownership_t own)
{
    fx_setup(f, VMM_NAME, nframes, npages, bs, own, true, true);
}

/* Write a whole page of byte v at a. */
static int put_page(spring_as_t *as, spring_addr_t a, uint8_t v)
{
    uint8_t buf[PS];
    memset(buf, v, sizeof buf);
    return spring_as_write(as, a, buf, sizeof buf);
}

static bool mem_is(const uint8_t *p, size_t n, uint8_t v)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != v)
            return false;
    return true;
}

/* Whether p holds the pattern of cache offsets [off, off+n). */
static bool mem_is_pat(const uint8_t *p, size_t n, spring_off_t off)
{
    return tp_is_pattern(p, n, off);
}

/* Whether the page at a reads as all v. */
static bool page_is(spring_as_t *as, spring_addr_t a, uint8_t v)
{
    uint8_t buf[PS];
    int rc = spring_as_read(as, a, buf, sizeof buf);
    ck_assert_msg(rc == 0, "read at %#llx: %s", (unsigned long long)a, spring_err_name(rc));
    return mem_is(buf, sizeof buf, v);
}

/* Whether the page at a reads as the pattern of cache offset off. */
static bool page_is_pat(spring_as_t *as, spring_addr_t a, spring_off_t off)
{
    uint8_t buf[PS];
    int rc = spring_as_read(as, a, buf, sizeof buf);
    ck_assert_msg(rc == 0, "read at %#llx: %s", (unsigned long long)a, spring_err_name(rc));
    return mem_is_pat(buf, sizeof buf, off);
}

static uint8_t rd1(spring_as_t *as, spring_addr_t a)
{
    uint8_t v = 0;
    int rc = spring_as_read(as, a, &v, 1);
    ck_assert_msg(rc == 0, "read at %#llx: %s", (unsigned long long)a, spring_err_name(rc));
    return v;
}

static void wr1(spring_as_t *as, spring_addr_t a, uint8_t v)
{
    int rc = spring_as_write(as, a, &v, 1);
    ck_assert_msg(rc == 0, "write at %#llx: %s", (unsigned long long)a, spring_err_name(rc));
}

/* Whether the pager's store holds n bytes of v at off. */
static bool store_is(tpager_t *tp, spring_off_t off, size_t n, uint8_t v)
{
    tp_lock(tp);
    bool r = mem_is(tp_store(tp) + off, n, v);
    tp_unlock(tp);
    return r;
}

/* Calls of kind k at cache offset off in the log. */
static size_t calls_at(tpager_t *tp, enum tp_kind k, spring_off_t off)
{
    size_t n = 0;
    for (size_t i = 0; i < tp_ncalls(tp); i++) {
        tp_call_t c = tp_call(tp, i);
        if (c.kind == k && c.off <= off && (off < c.off + c.size || (c.size == 0 && off == c.off)))
            n++;
    }
    return n;
}

/* Pages carried by the calls of kind k (page_out, write_out, sync: one
 * call may carry a run of blocks, one data entry per page). */
static size_t pages_of(tpager_t *tp, enum tp_kind k)
{
    size_t n = 0;
    for (size_t i = 0; i < tp_ncalls(tp); i++) {
        tp_call_t c = tp_call(tp, i);
        if (c.kind == k) {
            ck_assert_uint_eq(c.data_blocks, c.size / PS); /* one entry per page, covering the range */
            n += c.data_blocks;
        }
    }
    return n;
}

/* The last call of kind k. */
static tp_call_t last_of(tpager_t *tp, enum tp_kind k)
{
    for (size_t i = tp_ncalls(tp); i-- > 0;) {
        tp_call_t c = tp_call(tp, i);
        if (c.kind == k)
            return c;
    }
    ck_abort_msg("no %s call recorded", tp_kind_name(k));
    tp_call_t none;
    memset(&none, 0, sizeof none);
    return none;
}

/* Assert the call log is exactly the kinds given (n of them). */
static void expect_log(tpager_t *tp, const enum tp_kind *k, size_t n)
{
    size_t got = tp_ncalls(tp);
    for (size_t i = 0; i < got && i < n; i++)
        ck_assert_msg(tp_call(tp, i).kind == k[i], "call %zu is %s, want %s", i, tp_kind_name(tp_call(tp, i).kind),
                      tp_kind_name(k[i]));
    ck_assert_msg(got == n, "%zu pager calls recorded, want %zu (last: %s)", got, n,
                  got ? tp_kind_name(tp_call(tp, got - 1).kind) : "none");
}

/* Mappings of [a, a+len): up to 8 entries, copied to out (references dropped). */
static size_t mappings(spring_as_t *as, spring_addr_t a, spring_off_t len, spring_mapping_t *out)
{
    spring_mapping_t m[8];
    size_t n = 0;
    bool more = false;
    ck_assert_rc(spring_as_get_mappings(as, a, len, m, 8, &n, &more), 0);
    ck_assert(!more);
    spring_mappings_release(m, n);
    if (out)
        memcpy(out, m, n * sizeof *m);
    return n;
}

#define DZERO (-1) /* dblock_is: a zero indication */
#define DPAT 256   /* dblock_is: the pager's pattern */

/* Whether entry i of d is the page at off holding v (a byte, DZERO or DPAT). */
static bool dblock_is(const spring_data_t *d, size_t i, spring_off_t off, int v)
{
    if (d == NULL || i >= d->nblocks)
        return false;
    const spring_data_block_t *b = &d->blocks[i];
    if (b->offset != off || b->length != PS)
        return false;
    if (v == DZERO)
        return b->bytes == NULL;
    if (b->bytes == NULL)
        return false;
    if (v == DPAT)
        return mem_is_pat(b->bytes, PS, off);
    return mem_is(b->bytes, PS, (uint8_t)v);
}

/* Populate one page at off with byte v (v < 0: a zero indication). */
static int populate1(spring_cache_obj_t c, spring_off_t off, spring_rights_t access, int v)
{
    uint8_t buf[PS];
    memset(buf, v < 0 ? 0 : v, sizeof buf);
    spring_data_block_t b = {off, PS, v < 0 ? NULL : buf};
    spring_data_t d = {1, &b};
    return spring_cache_populate(c, off, PS, access, NULL, &d);
}

/* ------------------------------------------------------------------ */
/* Ownership (§5.1).                                                    */

/* A read fault on a read-write region of an exclusive cache asks the pager
 * for read-write data; the write that follows needs no other page_in. */
START_TEST(test_own_exclusive_read_asks_rw)
{
    fx_t f;
    fx_init(&f, 32, 8, 0, SPRING_OWN_EXCLUSIVE);
    fx_map(&f, SPRING_RIGHTS_RW);
    ck_assert_uint_eq(rd1(f.as, f.a + PS + 5), tp_pattern(PS + 5));
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), 1);
    tp_call_t c = last_of(f.tp, TP_PAGE_IN);
    ck_assert_uint_eq(c.off, PS);
    ck_assert_uint_eq(c.size, PS);
    ck_assert_uint_eq(c.access, SPRING_RIGHTS_RW);
    ck_assert_uint_eq(c.own, SPRING_OWN_EXCLUSIVE);
    ck_assert(!c.upgrade);
    ck_assert_rc(put_page(f.as, f.a + PS, 0x11), 0);
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), 1);
    fx_fini(&f);
}
END_TEST

/* In the shared state a read fault asks for read-only data, and the write
 * that follows upgrades the block: a read-write page_in with the upgrade
 * flag, which keeps the cached bytes. */
START_TEST(test_own_shared_read_asks_ro_then_upgrade)
{
    fx_t f;
    fx_init(&f, 32, 8, 0, SPRING_OWN_SHARED);
    fx_map(&f, SPRING_RIGHTS_RW);
    ck_assert_uint_eq(rd1(f.as, f.a), tp_pattern(0));
    tp_call_t c = last_of(f.tp, TP_PAGE_IN);
    ck_assert_uint_eq(c.access, SPRING_RIGHTS_RO);
    ck_assert_uint_eq(c.own, SPRING_OWN_SHARED);
    ck_assert(!c.upgrade);
    wr1(f.as, f.a + 7, 0xee);
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), 2);
    c = last_of(f.tp, TP_PAGE_IN);
    ck_assert_uint_eq(c.off, 0);
    ck_assert_uint_eq(c.access, SPRING_RIGHTS_RW);
    ck_assert_uint_eq(c.own, SPRING_OWN_SHARED);
    ck_assert(c.upgrade);
    uint8_t buf[16];
    ck_assert_rc(spring_as_read(f.as, f.a, buf, sizeof buf), 0);
    for (size_t i = 0; i < sizeof buf; i++)
        ck_assert_uint_eq(buf[i], i == 7 ? 0xee : tp_pattern(i));
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), 2);
    fx_fini(&f);
}
END_TEST

/* A read fault on a read-only region asks for read-only data even when the
 * cache is exclusive; a write there is refused without pager traffic; once
 * the region is made writable the write upgrades the block. */
START_TEST(test_own_ro_region_asks_ro)
{
    fx_t f;
    fx_init(&f, 32, 8, 0, SPRING_OWN_EXCLUSIVE);
    fx_map(&f, SPRING_RIGHTS_RO);
    ck_assert_uint_eq(rd1(f.as, f.a + 2 * PS), tp_pattern(2 * PS));
    tp_call_t c = last_of(f.tp, TP_PAGE_IN);
    ck_assert_uint_eq(c.access, SPRING_RIGHTS_RO);
    ck_assert_uint_eq(c.own, SPRING_OWN_EXCLUSIVE);
    uint8_t v = 1;
    ck_assert_rc(spring_as_write(f.as, f.a + 2 * PS, &v, 1), SPRING_EACCES);
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), 1);
    ck_assert_rc(spring_as_change_access_rights(f.as, f.a, f.len, SPRING_RIGHTS_RW), 0);
    wr1(f.as, f.a + 2 * PS, 1);
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), 2);
    c = last_of(f.tp, TP_PAGE_IN);
    ck_assert_uint_eq(c.off, 2 * PS);
    ck_assert_uint_eq(c.access, SPRING_RIGHTS_RW);
    ck_assert(c.upgrade);
    fx_fini(&f);
}
END_TEST

/* The pager changes the ownership through the own argument of page_in, and
 * the next page_ins follow the new state. */
START_TEST(test_own_pager_reply_changes_requests)
{
    fx_t f;
    fx_init(&f, 32, 8, 0, SPRING_OWN_EXCLUSIVE);
    fx_map(&f, SPRING_RIGHTS_RW);
    tp_set_own_reply(f.tp, SPRING_OWN_SHARED);
    rd1(f.as, f.a);
    tp_call_t c = last_of(f.tp, TP_PAGE_IN);
    ck_assert_uint_eq(c.access, SPRING_RIGHTS_RW);
    ck_assert_uint_eq(c.own, SPRING_OWN_EXCLUSIVE);
    rd1(f.as, f.a + PS);
    c = last_of(f.tp, TP_PAGE_IN);
    ck_assert_uint_eq(c.access, SPRING_RIGHTS_RO);
    ck_assert_uint_eq(c.own, SPRING_OWN_SHARED);
    tp_set_own_reply(f.tp, SPRING_OWN_EXCLUSIVE);
    rd1(f.as, f.a + 2 * PS);
    c = last_of(f.tp, TP_PAGE_IN);
    ck_assert_uint_eq(c.access, SPRING_RIGHTS_RO);
    ck_assert_uint_eq(c.own, SPRING_OWN_SHARED);
    rd1(f.as, f.a + 3 * PS);
    c = last_of(f.tp, TP_PAGE_IN);
    ck_assert_uint_eq(c.access, SPRING_RIGHTS_RW);
    ck_assert_uint_eq(c.own, SPRING_OWN_EXCLUSIVE);
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), 4);
    fx_fini(&f);
}
END_TEST

/* The pager changes the ownership through the own argument of its cache
 * calls; UNCHANGED reports the state; an invalid state is refused. */
START_TEST(test_own_pager_calls_change_state)
{
    fx_t f;
    fx_init(&f, 32, 8, 0, SPRING_OWN_EXCLUSIVE);
    fx_map(&f, SPRING_RIGHTS_RW);
    spring_cache_obj_t cache = tp_cache(f.tp);
    spring_ownership_t o = SPRING_OWN_SHARED;
    ck_assert_rc(spring_cache_delete_range(cache, 7 * PS, PS, &o), 0);
    ck_assert_uint_eq(o, SPRING_OWN_SHARED);
    rd1(f.as, f.a + 4 * PS);
    tp_call_t c = last_of(f.tp, TP_PAGE_IN);
    ck_assert_uint_eq(c.access, SPRING_RIGHTS_RO);
    ck_assert_uint_eq(c.own, SPRING_OWN_SHARED);
    o = SPRING_OWN_UNCHANGED;
    ck_assert_rc(spring_cache_flush_back(cache, 7 * PS, PS, &o, NULL), 0);
    ck_assert_uint_eq(o, SPRING_OWN_SHARED);
    o = SPRING_OWN_EXCLUSIVE;
    ck_assert_rc(spring_cache_write_back(cache, 7 * PS, PS, &o, NULL), 0);
    ck_assert_uint_eq(o, SPRING_OWN_EXCLUSIVE);
    rd1(f.as, f.a + 5 * PS);
    c = last_of(f.tp, TP_PAGE_IN);
    ck_assert_uint_eq(c.access, SPRING_RIGHTS_RW);
    ck_assert_uint_eq(c.own, SPRING_OWN_EXCLUSIVE);
    o = (spring_ownership_t)9;
    ck_assert_rc(spring_cache_delete_range(cache, 0, SPRING_SIZE_ALL, &o), SPRING_EINVAL);
    /* Refused: nothing was deleted. */
    rd1(f.as, f.a + 5 * PS);
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), 2);
    fx_fini(&f);
}
END_TEST

/* ------------------------------------------------------------------ */
/* One page_in per page.                                                */

/* Repeated faults on a page, through two mappings in two address spaces,
 * cause one page_in and share one frame. */
START_TEST(test_once_sequential)
{
    fx_t f;
    fx_init(&f, 32, 8, 0, SPRING_OWN_EXCLUSIVE);
    fx_map(&f, SPRING_RIGHTS_RW);
    ck_assert_uint_eq(rd1(f.as, f.a + 3), tp_pattern(3));
    ck_assert_uint_eq(rd1(f.as, f.a + 4), tp_pattern(4));
    ck_assert_rc(spring_as_fault(f.as, f.a + 100, SPRING_RIGHTS_R), 0);
    ck_assert_rc(spring_as_fault(f.as, f.a + 200, SPRING_RIGHTS_W), 0);
    spring_as_t *as2 = as_new(f.vmm, false, 0);
    spring_off_t len = PS;
    spring_addr_t a2 = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_map(as2, f.m, 0, &len, &a2, SPRING_RIGHTS_RO), 0);
    ck_assert_uint_eq(rd1(as2, a2 + 3), tp_pattern(3));
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), 1);
    void *p1, *p2;
    spring_pin_t pin1, pin2;
    ck_assert_rc(spring_as_translate(f.as, f.a, SPRING_RIGHTS_R, &p1, &pin1), 0);
    ck_assert_rc(spring_as_translate(as2, a2, SPRING_RIGHTS_R, &p2, &pin2), 0);
    ck_assert_ptr_eq(p1, p2);
    spring_pin_release(&pin1);
    spring_pin_release(&pin2);
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), 1);
    spring_as_destroy(as2);
    fx_fini(&f);
}
END_TEST

/* Two threads fault on one page.  Thread B starts faulting only once A's
 * page_in is in progress (A's page_in waits for B to start, then gives B
 * 100 ms).  B must not finish before A's page_in returns (the page is in
 * transit), and there is exactly one page_in. */
struct conc {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    spring_as_t *as;
    spring_addr_t addr;
    bool b_write;
    bool in_page_in, b_started, b_done, b_done_early;
    int b_rc;
    uint8_t b_val;
};

static void conc_hook(tpager_t *tp, enum tp_kind kind, spring_off_t off, void *arg)
{
    struct conc *c = arg;
    if (kind != TP_PAGE_IN)
        return;
    pthread_mutex_lock(&c->mu);
    if (c->in_page_in) { /* only the first page_in waits */
        pthread_mutex_unlock(&c->mu);
        return;
    }
    c->in_page_in = true;
    pthread_cond_broadcast(&c->cv);
    while (!c->b_started)
        pthread_cond_wait(&c->cv, &c->mu);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 100L * 1000 * 1000;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    while (!c->b_done)
        if (pthread_cond_timedwait(&c->cv, &c->mu, &ts) != 0)
            break;
    c->b_done_early = c->b_done;
    pthread_mutex_unlock(&c->mu);
}

static void *conc_thread(void *arg)
{
    struct conc *c = arg;
    pthread_mutex_lock(&c->mu);
    while (!c->in_page_in)
        pthread_cond_wait(&c->cv, &c->mu);
    c->b_started = true;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    uint8_t v = 0xb7;
    int rc = c->b_write ? spring_as_write(c->as, c->addr, &v, 1) : spring_as_read(c->as, c->addr, &v, 1);
    pthread_mutex_lock(&c->mu);
    c->b_rc = rc;
    c->b_val = v;
    c->b_done = true;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

static void run_conc(fx_t *f, struct conc *c, spring_addr_t a_addr, bool b_write)
{
    pthread_t t;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    c->as = f->as;
    c->b_write = b_write;
    tp_set_hook(f->tp, conc_hook, c);
    ck_assert_int_eq(pthread_create(&t, NULL, conc_thread, c), 0);
    uint8_t v;
    int rc = spring_as_read(f->as, a_addr, &v, 1);
    pthread_join(t, NULL);
    tp_set_hook(f->tp, NULL, NULL);
    ck_assert_rc(rc, 0);
    ck_assert_msg(!c->b_done_early, "the second fault finished while the page was still being paged in");
    ck_assert_rc(c->b_rc, 0);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
}

START_TEST(test_once_concurrent_read)
{
    fx_t f;
    fx_init(&f, 32, 8, 0, SPRING_OWN_EXCLUSIVE);
    fx_map(&f, SPRING_RIGHTS_RW);
    struct conc c;
    memset(&c, 0, sizeof c);
    c.addr = f.a + 3 * PS + 9;
    run_conc(&f, &c, f.a + 3 * PS + 1, false);
    ck_assert_uint_eq(c.b_val, tp_pattern(3 * PS + 9));
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), 1);
    ck_assert_uint_eq(last_of(f.tp, TP_PAGE_IN).off, 3 * PS);
    fx_fini(&f);
}
END_TEST

/* The same with a shared cache and a write from B: B waits for A's
 * read-only page_in, then upgrades: exactly two page_ins, in that order. */
START_TEST(test_once_concurrent_write_upgrades)
{
    fx_t f;
    fx_init(&f, 32, 8, 0, SPRING_OWN_SHARED);
    fx_map(&f, SPRING_RIGHTS_RW);
    struct conc c;
    memset(&c, 0, sizeof c);
    c.addr = f.a + 2 * PS + 9;
    run_conc(&f, &c, f.a + 2 * PS + 1, true);
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), 2);
    ck_assert_uint_eq(tp_call(f.tp, 1).kind, TP_PAGE_IN);
    ck_assert_uint_eq(tp_call(f.tp, 1).access, SPRING_RIGHTS_RO);
    ck_assert(!tp_call(f.tp, 1).upgrade);
    ck_assert_uint_eq(tp_call(f.tp, 2).kind, TP_PAGE_IN);
    ck_assert_uint_eq(tp_call(f.tp, 2).access, SPRING_RIGHTS_RW);
    ck_assert(tp_call(f.tp, 2).upgrade);
    ck_assert_uint_eq(rd1(f.as, f.a + 2 * PS + 9), 0xb7);
    ck_assert_uint_eq(rd1(f.as, f.a + 2 * PS + 8), tp_pattern(2 * PS + 8));
    fx_fini(&f);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Frame pressure (§6.1).                                               */

enum { PN = 8, PNP = 3 * PN };

/* Reading 3N pages through a pool of N frames reuses clean frames without
 * telling the pager: page_ins only, each page once. */
START_TEST(test_pressure_clean_reuse_is_silent)
{
    fx_t f;
    fx_init(&f, PN, PNP, 0, SPRING_OWN_EXCLUSIVE);
    fx_map(&f, SPRING_RIGHTS_RW);
    for (spring_off_t i = 0; i < PNP; i++)
        ck_assert_uint_eq(rd1(f.as, f.a + i * PS + i), tp_pattern(i * PS + i));
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_OUT), 0);
    ck_assert_uint_eq(tp_count(f.tp, TP_WRITE_OUT), 0);
    ck_assert_uint_eq(tp_count(f.tp, TP_SYNC), 0);
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), PNP);
    for (spring_off_t i = 0; i < PNP; i++)
        ck_assert_uint_eq(calls_at(f.tp, TP_PAGE_IN, i * PS), 1);
    ck_assert_uint_ge(test_vm_info(f.vmm).reclaims_clean, PNP - PN);
    /* The first page was reclaimed: it is paged in again. */
    ck_assert_uint_eq(rd1(f.as, f.a), tp_pattern(0));
    ck_assert_uint_eq(calls_at(f.tp, TP_PAGE_IN, 0), 2);
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_OUT), 0);
    fx_fini(&f);
}
END_TEST

/* Writing 3N pages: each dirty page goes to the pager exactly once (by
 * eviction or by the final flush), with its data. */
START_TEST(test_pressure_dirty_paged_out_once)
{
    fx_t f;
    fx_init(&f, PN, PNP, 0, SPRING_OWN_EXCLUSIVE);
    fx_map(&f, SPRING_RIGHTS_RW);
    for (spring_off_t i = 0; i < PNP; i++)
        ck_assert_rc(put_page(f.as, f.a + i * PS, (uint8_t)(i + 1)), 0);
    ck_assert_uint_gt(tp_count(f.tp, TP_PAGE_OUT), 0); /* eviction did page out */
    size_t evicted = tp_count(f.tp, TP_PAGE_OUT);
    ck_assert_rc(spring_as_flush(f.as, f.a, f.len, false), 0);
    ck_assert_uint_eq(pages_of(f.tp, TP_PAGE_OUT), PNP);
    /* The flush sends the resident run of pages in one call. */
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_OUT), evicted + 1);
    for (spring_off_t i = 0; i < PNP; i++) {
        ck_assert_msg(calls_at(f.tp, TP_PAGE_OUT, i * PS) == 1, "page %d paged out %zu times", (int)i,
                      calls_at(f.tp, TP_PAGE_OUT, i * PS));
        ck_assert_msg(store_is(f.tp, i * PS, PS, (uint8_t)(i + 1)), "page %d: wrong data at the pager", (int)i);
    }
    for (size_t i = 0; i < tp_ncalls(f.tp); i++) {
        tp_call_t c = tp_call(f.tp, i);
        if (c.kind != TP_PAGE_OUT)
            continue;
        ck_assert_uint_eq(c.zero_blocks, 0);
    }
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), PNP);
    ck_assert_uint_eq(tp_count(f.tp, TP_SYNC) + tp_count(f.tp, TP_WRITE_OUT), 0);
    fx_fini(&f);
}
END_TEST

/* Dirty all-zero pages travel as zero indications; the pager zeroes them. */
START_TEST(test_pressure_zero_pages_as_indications)
{
    fx_t f;
    fx_init(&f, PN, PNP, 0, SPRING_OWN_EXCLUSIVE);
    fx_map(&f, SPRING_RIGHTS_RW);
    for (spring_off_t i = 0; i < PNP; i++)
        ck_assert_rc(put_page(f.as, f.a + i * PS, 0), 0);
    ck_assert_rc(spring_as_flush(f.as, f.a, f.len, false), 0);
    ck_assert_uint_eq(pages_of(f.tp, TP_PAGE_OUT), PNP);
    for (size_t i = 0; i < tp_ncalls(f.tp); i++) {
        tp_call_t c = tp_call(f.tp, i);
        if (c.kind != TP_PAGE_OUT)
            continue;
        ck_assert_uint_eq(c.zero_blocks, c.data_blocks); /* every page an indication */
    }
    ck_assert(store_is(f.tp, 0, PNP * PS, 0));
    fx_fini(&f);
}
END_TEST

/* Pages the pager answers as all zero (zero indications in page_in) read
 * zero, also in frames that last held other data of the same cache, which
 * are not scrubbed before the page_in (§7.4 does not require it): only the
 * VMM's handling of the indication clears them. */
START_TEST(test_pressure_zero_indications_clear_reused_frames)
{
    fx_t f;
    fx_init(&f, PN, PNP, 0, SPRING_OWN_EXCLUSIVE);
    fx_map(&f, SPRING_RIGHTS_RW);
    /* Every frame ends up holding (or having held) this cache's data. */
    for (spring_off_t i = 0; i < PNP; i++)
        ck_assert_rc(put_page(f.as, f.a + i * PS, (uint8_t)(0x80 | i)), 0);
    ck_assert_rc(spring_as_flush(f.as, f.a, f.len, false), 0);
    ck_assert(test_vm_info(f.vmm).free_frames == PN);
    /* The pager's pages are now all zero. */
    tp_lock(f.tp);
    memset(tp_store(f.tp), 0, (size_t)f.len);
    tp_unlock(f.tp);
    uint64_t scrubs = test_vm_info(f.vmm).scrubs;
    tp_clear(f.tp);
    for (spring_off_t i = 0; i < PNP; i++)
        ck_assert_msg(page_is(f.as, f.a + i * PS, 0), "page %d: a page the pager sent as all zero is not",
                      (int)i);
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), PNP);
    ck_assert_uint_eq(test_vm_info(f.vmm).scrubs, scrubs); /* the frames were this cache's: not scrubbed */
    fx_fini(&f);
}
END_TEST

/* A cache never bound writable (only bound through a memory object whose
 * rights are read-only) never sends data, even blocks the pager zero-filled
 * (held read-write, counted modified): no page_out under pressure or on
 * flush, nothing in write_back's or flush_back's result. */
START_TEST(test_pressure_ro_bound_never_sends)
{
    fx_t f;
    fx_init(&f, PN, PNP, 0, SPRING_OWN_EXCLUSIVE);
    spring_mobj_unref(f.m);
    f.m = tp_mobj(f.tp, SPRING_RIGHTS_RO);
    fx_map(&f, SPRING_RIGHTS_RO);
    ck_assert_rc(spring_cache_zero_fill(tp_cache(f.tp), 0, 4 * PS, NULL), 0);
    for (spring_off_t i = 0; i < PNP; i++)
        ck_assert_uint_eq(rd1(f.as, f.a + i * PS + 1), i < 4 ? 0 : tp_pattern(i * PS + 1));
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), PNP - 4);
    for (size_t i = 0; i < tp_ncalls(f.tp); i++)
        if (tp_call(f.tp, i).kind == TP_PAGE_IN)
            ck_assert_uint_eq(tp_call(f.tp, i).access, SPRING_RIGHTS_RO);
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_OUT), 0);
    /* Some zero-filled pages are still cached (re-materialize two). */
    ck_assert_rc(spring_cache_zero_fill(tp_cache(f.tp), 0, 2 * PS, NULL), 0);
    ck_assert_uint_eq(rd1(f.as, f.a), 0);
    ck_assert_uint_eq(rd1(f.as, f.a + PS), 0);
    spring_data_t *d = NULL;
    ck_assert_rc(spring_cache_write_back(tp_cache(f.tp), 0, SPRING_SIZE_ALL, NULL, &d), 0);
    ck_assert_uint_eq(d->nblocks, 0);
    spring_data_free(d);
    ck_assert_rc(spring_as_flush(f.as, f.a, f.len, false), 0);
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_OUT) + tp_count(f.tp, TP_SYNC) + tp_count(f.tp, TP_WRITE_OUT), 0);
    ck_assert_uint_eq(rd1(f.as, f.a + 2 * PS), tp_pattern(2 * PS));
    d = NULL;
    ck_assert_rc(spring_cache_flush_back(tp_cache(f.tp), 0, SPRING_SIZE_ALL, NULL, &d), 0);
    ck_assert_uint_eq(d->nblocks, 0);
    spring_data_free(d);
    fx_fini(&f);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Pager-side cache calls and their data guarantees (Appendix B).       */

/* flush_back returns exactly the modified blocks (written data; all-zero
 * pages and touched zero-filled blocks as zero indications), never clean
 * ones, makes no pager call, and removes everything: each page is paged in
 * again on its next access.  An untouched zero-filled range is not a cached
 * block; it leaves the cache too (it may come back as a zero indication). */
START_TEST(test_flush_back_returns_modified)
{
    fx_t f;
    fx_init(&f, 32, 8, 0, SPRING_OWN_EXCLUSIVE);
    fx_map(&f, SPRING_RIGHTS_RW);
    spring_cache_obj_t c = tp_cache(f.tp);
    rd1(f.as, f.a);                                 /* page 0: clean */
    ck_assert_rc(put_page(f.as, f.a + PS, 0x11), 0); /* page 1: data */
    ck_assert_rc(put_page(f.as, f.a + 2 * PS, 0), 0); /* page 2: all zero */
    ck_assert_rc(spring_cache_zero_fill(c, 4 * PS, 2 * PS, NULL), 0);
    dirty_pool(f.vmm);
    ck_assert_uint_eq(rd1(f.as, f.a + 4 * PS), 0);   /* page 4: zero-filled, touched */
    tp_clear(f.tp);
    spring_data_t *d = NULL;
    ck_assert_rc(spring_cache_flush_back(c, 0, SPRING_SIZE_ALL, NULL, &d), 0);
    ck_assert_ptr_nonnull(d);
    ck_assert_msg(d->nblocks == 3 || (d->nblocks == 4 && dblock_is(d, 3, 5 * PS, DZERO)),
                  "flush_back returned %zu blocks", d->nblocks);
    ck_assert_msg(dblock_is(d, 0, PS, 0x11), "page 1's data");
    ck_assert_msg(dblock_is(d, 1, 2 * PS, DZERO), "page 2 as a zero indication");
    ck_assert_msg(dblock_is(d, 2, 4 * PS, DZERO), "zero-filled page 4 as a zero indication");
    spring_data_free(d);
    ck_assert_uint_eq(tp_ncalls(f.tp), 0);
    for (spring_off_t i = 0; i < 6; i++) {
        rd1(f.as, f.a + i * PS);
        ck_assert_msg(calls_at(f.tp, TP_PAGE_IN, i * PS) == 1, "page %d not paged in again after flush_back",
                      (int)i);
    }
    d = NULL;
    ck_assert_rc(spring_cache_flush_back(c, 0, SPRING_SIZE_ALL, NULL, &d), 0);
    ck_assert_uint_eq(d->nblocks, 0);
    spring_data_free(d);
    fx_fini(&f);
}
END_TEST

/* deny_writes returns the modified blocks and keeps a read-only copy: reads
 * need no page_in, a write upgrades; clean blocks return nothing. */
/* deny_writes without a data list keeps modified blocks modified; a later
 * write upgrades them, and even a pager that sends its (older) data with
 * the grant cannot overwrite the only current copy. */
START_TEST(test_deny_writes_no_data_keeps_modifications)
{
    fx_t f;
    fx_init(&f, 32, 4, 0, SPRING_OWN_EXCLUSIVE);
    fx_map(&f, SPRING_RIGHTS_RW);
    tp_set_upgrade_overwrites(f.tp, true);
    spring_cache_obj_t c = tp_cache(f.tp);
    ck_assert_rc(put_page(f.as, f.a, 0x58), 0);
    ck_assert_rc(spring_cache_deny_writes(c, 0, SPRING_SIZE_ALL, NULL, NULL), 0);
    ck_assert(page_is(f.as, f.a, 0x58));
    wr1(f.as, f.a + 1, 0x59); /* upgrade page_in: the pager sends its old bytes */
    ck_assert(last_of(f.tp, TP_PAGE_IN).upgrade);
    ck_assert_uint_eq(rd1(f.as, f.a), 0x58);
    ck_assert_uint_eq(rd1(f.as, f.a + 1), 0x59);
    ck_assert_rc(spring_as_flush(f.as, f.a, PS, false), 0);
    ck_assert(store_is(f.tp, 0, 1, 0x58));
    ck_assert(store_is(f.tp, 1, 1, 0x59));
    fx_fini(&f);
}
END_TEST

START_TEST(test_deny_writes)
{
    fx_t f;
    fx_init(&f, 32, 8, 0, SPRING_OWN_EXCLUSIVE);
    fx_map(&f, SPRING_RIGHTS_RW);
    spring_cache_obj_t c = tp_cache(f.tp);
    ck_assert_rc(put_page(f.as, f.a, 0x22), 0);
    rd1(f.as, f.a + PS); /* read-write (exclusive), clean */
    tp_clear(f.tp);
    spring_data_t *d = NULL;
    ck_assert_rc(spring_cache_deny_writes(c, 0, SPRING_SIZE_ALL, NULL, &d), 0);
    ck_assert_uint_eq(d->nblocks, 1);
    ck_assert(dblock_is(d, 0, 0, 0x22));
    spring_data_free(d);
    ck_assert(page_is(f.as, f.a, 0x22));
    ck_assert(page_is_pat(f.as, f.a + PS, PS));
    ck_assert_uint_eq(tp_ncalls(f.tp), 0);
    wr1(f.as, f.a + PS, 0x23);
    ck_assert_uint_eq(tp_ncalls(f.tp), 1);
    tp_call_t u = last_of(f.tp, TP_PAGE_IN);
    ck_assert_uint_eq(u.off, PS);
    ck_assert_uint_eq(u.access, SPRING_RIGHTS_RW);
    ck_assert(u.upgrade);
    wr1(f.as, f.a, 0x24);
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), 2);
    ck_assert(last_of(f.tp, TP_PAGE_IN).upgrade);
    ck_assert_uint_eq(rd1(f.as, f.a + 1), 0x22); /* the upgrade kept the data */
    d = NULL;
    ck_assert_rc(spring_cache_deny_writes(c, 0, SPRING_SIZE_ALL, NULL, &d), 0);
    ck_assert_uint_eq(d->nblocks, 2);
    ck_assert_uint_eq(d->blocks[0].offset, 0);
    ck_assert_uint_eq(((const uint8_t *)d->blocks[0].bytes)[0], 0x24);
    ck_assert_uint_eq(((const uint8_t *)d->blocks[1].bytes)[0], 0x23);
    spring_data_free(d);
    d = NULL;
    ck_assert_rc(spring_cache_deny_writes(c, 0, SPRING_SIZE_ALL, NULL, &d), 0);
    ck_assert_uint_eq(d->nblocks, 0);
    spring_data_free(d);
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_OUT), 0);
    fx_fini(&f);
}
END_TEST

/* write_back returns a copy of the modified blocks and keeps their mode: a
 * later write needs no page_in; once returned, a block is clean (a flush
 * sends nothing). */
START_TEST(test_write_back)
{
    fx_t f;
    fx_init(&f, 32, 8, 0, SPRING_OWN_EXCLUSIVE);
    fx_map(&f, SPRING_RIGHTS_RW);
    spring_cache_obj_t c = tp_cache(f.tp);
    ck_assert_rc(put_page(f.as, f.a, 0x33), 0);
    rd1(f.as, f.a + PS);
    tp_clear(f.tp);
    spring_data_t *d = NULL;
    ck_assert_rc(spring_cache_write_back(c, 0, SPRING_SIZE_ALL, NULL, &d), 0);
    ck_assert_uint_eq(d->nblocks, 1);
    ck_assert(dblock_is(d, 0, 0, 0x33));
    spring_data_free(d);
    ck_assert_rc(put_page(f.as, f.a, 0x34), 0);
    ck_assert_uint_eq(tp_ncalls(f.tp), 0);
    d = NULL;
    ck_assert_rc(spring_cache_write_back(c, 0, SPRING_SIZE_ALL, NULL, &d), 0);
    ck_assert_uint_eq(d->nblocks, 1);
    ck_assert(dblock_is(d, 0, 0, 0x34));
    spring_data_free(d);
    d = NULL;
    ck_assert_rc(spring_cache_write_back(c, 0, SPRING_SIZE_ALL, NULL, &d), 0);
    ck_assert_uint_eq(d->nblocks, 0);
    spring_data_free(d);
    ck_assert(page_is(f.as, f.a, 0x34));
    ck_assert_rc(spring_as_flush(f.as, f.a, f.len, false), 0);
    ck_assert_uint_eq(tp_ncalls(f.tp), 0);
    fx_fini(&f);
}
END_TEST

/* delete_range returns nothing and discards modified data: the next access
 * pages the pager's data in, and nothing is ever paged out. */
START_TEST(test_delete_range)
{
    fx_t f;
    fx_init(&f, 32, 8, 0, SPRING_OWN_EXCLUSIVE);
    fx_map(&f, SPRING_RIGHTS_RW);
    spring_cache_obj_t c = tp_cache(f.tp);
    ck_assert_rc(put_page(f.as, f.a, 0x44), 0);
    rd1(f.as, f.a + PS);
    tp_clear(f.tp);
    ck_assert_rc(spring_cache_delete_range(c, 0, SPRING_SIZE_ALL, NULL), 0);
    ck_assert_uint_eq(tp_ncalls(f.tp), 0);
    ck_assert(page_is_pat(f.as, f.a, 0));
    ck_assert_uint_eq(calls_at(f.tp, TP_PAGE_IN, 0), 1);
    rd1(f.as, f.a + PS);
    ck_assert_uint_eq(calls_at(f.tp, TP_PAGE_IN, PS), 1);
    ck_assert_rc(spring_as_flush(f.as, f.a, f.len, false), 0);
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_OUT), 0);
    ck_assert(store_is(f.tp, 0, 1, tp_pattern(0)));
    fx_fini(&f);
}
END_TEST

/* delete_range removes zero-fill ranges too (zero_fill put that data in
 * the cache): the next access asks the pager again and shows its data, here
 * still the pattern, since this pager did not zero its own copy. */
START_TEST(test_delete_range_drops_zero_fill)
{
    fx_t f;
    fx_init(&f, 32, 8, 0, SPRING_OWN_EXCLUSIVE);
    fx_map(&f, SPRING_RIGHTS_RW);
    spring_cache_obj_t c = tp_cache(f.tp);
    ck_assert_rc(spring_cache_zero_fill(c, 0, 4 * PS, NULL), 0);
    ck_assert(page_is(f.as, f.a + PS, 0)); /* one block materialized, three still in the table */
    tp_clear(f.tp);
    ck_assert_rc(spring_cache_delete_range(c, 0, 4 * PS, NULL), 0);
    for (spring_off_t i = 0; i < 4; i++) {
        ck_assert_msg(page_is_pat(f.as, f.a + i * PS, i * PS), "page %d: delete_range left it zero-filled",
                      (int)i);
        ck_assert_uint_eq(calls_at(f.tp, TP_PAGE_IN, i * PS), 1);
    }
    fx_fini(&f);
}
END_TEST

/* zero_fill: the range reads zero with no page_in and is held read-write
 * (a write needs no page_in even in the shared state); cached data in it
 * is discarded; the zero blocks count as modified. */
START_TEST(test_zero_fill)
{
    fx_t f;
    fx_init(&f, 32, 8, 0, SPRING_OWN_SHARED);
    fx_map(&f, SPRING_RIGHTS_RW);
    spring_cache_obj_t c = tp_cache(f.tp);
    ck_assert_rc(put_page(f.as, f.a + PS, 0x55), 0);
    rd1(f.as, f.a + 3 * PS);
    tp_clear(f.tp);
    ck_assert_rc(spring_cache_zero_fill(c, 0, 2 * PS, NULL), 0);
    dirty_pool(f.vmm);
    ck_assert(page_is(f.as, f.a, 0));
    ck_assert(page_is(f.as, f.a + PS, 0));
    ck_assert_rc(put_page(f.as, f.a, 0x56), 0);
    ck_assert_uint_eq(tp_ncalls(f.tp), 0);
    ck_assert(page_is_pat(f.as, f.a + 3 * PS, 3 * PS)); /* outside: untouched */
    ck_assert_uint_eq(tp_ncalls(f.tp), 0);
    ck_assert_rc(spring_as_flush(f.as, f.a, 2 * PS, false), 0);
    /* Both modified pages in one call: page 0 with bytes, page 1 as an
     * all-zero indication. */
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_OUT), 1);
    tp_call_t p0 = tp_call(f.tp, 0);
    ck_assert_uint_eq(p0.off, 0);
    ck_assert_uint_eq(p0.size, 2 * PS);
    ck_assert_uint_eq(p0.data_blocks, 2);
    ck_assert_uint_eq(p0.zero_blocks, 1);
    ck_assert(store_is(f.tp, 0, PS, 0x56));
    ck_assert(store_is(f.tp, PS, PS, 0));
    fx_fini(&f);
}
END_TEST

/* populate introduces data: reads need no page_in (a cached block and its
 * translations are replaced); read-write data takes writes without a
 * page_in; read-only data upgrades on a write and keeps its bytes. */
START_TEST(test_populate)
{
    fx_t f;
    fx_init(&f, 32, 8, 0, SPRING_OWN_SHARED);
    fx_map(&f, SPRING_RIGHTS_RW);
    spring_cache_obj_t c = tp_cache(f.tp);
    ck_assert(page_is_pat(f.as, f.a + 3 * PS, 3 * PS)); /* cached, translated */
    tp_clear(f.tp);
    ck_assert_rc(populate1(c, 0, SPRING_RIGHTS_RW, 0x77), 0);
    uint8_t b1[PS], b3[PS];
    memset(b1, 0x78, PS);
    memset(b3, 0x79, PS);
    spring_data_block_t blk[3] = {{PS, PS, b1}, {2 * PS, PS, NULL}, {3 * PS, PS, b3}};
    spring_data_t d = {3, blk};
    ck_assert_rc(spring_cache_populate(c, PS, 3 * PS, SPRING_RIGHTS_RO, NULL, &d), 0);
    ck_assert(page_is(f.as, f.a, 0x77));
    ck_assert(page_is(f.as, f.a + PS, 0x78));
    ck_assert(page_is(f.as, f.a + 2 * PS, 0));
    ck_assert_msg(page_is(f.as, f.a + 3 * PS, 0x79), "a stale translation survived populate");
    wr1(f.as, f.a, 0x70);
    ck_assert_uint_eq(tp_ncalls(f.tp), 0);
    wr1(f.as, f.a + PS, 0x71);
    ck_assert_uint_eq(tp_ncalls(f.tp), 1);
    tp_call_t u = last_of(f.tp, TP_PAGE_IN);
    ck_assert_uint_eq(u.off, PS);
    ck_assert_uint_eq(u.access, SPRING_RIGHTS_RW);
    ck_assert(u.upgrade);
    ck_assert_uint_eq(rd1(f.as, f.a + PS), 0x71);
    ck_assert_uint_eq(rd1(f.as, f.a + PS + 1), 0x78);
    /* Illegal populates change nothing. */
    ck_assert_rc(spring_cache_populate(c, 0, SPRING_SIZE_ALL, SPRING_RIGHTS_RO, NULL, &d), SPRING_EINVAL);
    ck_assert_rc(spring_cache_populate(c, PS, 4 * PS, SPRING_RIGHTS_RO, NULL, &d), SPRING_EINVAL);
    ck_assert_rc(spring_cache_populate(c, PS, 3 * PS, SPRING_RIGHTS_RWX, NULL, &d), SPRING_EINVAL);
    ck_assert_rc(spring_cache_populate(c, 1, PS, SPRING_RIGHTS_RO, NULL, &d), SPRING_EALIGN);
    ck_assert_rc(spring_cache_populate(c, 0, PS, SPRING_RIGHTS_RO, NULL, NULL), SPRING_EINVAL);
    ck_assert_uint_eq(rd1(f.as, f.a), 0x70);
    ck_assert_uint_eq(rd1(f.as, f.a + PS), 0x71);
    ck_assert_uint_eq(tp_ncalls(f.tp), 1);
    fx_fini(&f);
}
END_TEST

/* destroy_cache: the region stays and faults with EDESTROYED; the pager
 * object gets done_with_pager_object exactly once and no other call ever;
 * the cache's handles are dead; mapping the object again binds a new cache. */
START_TEST(test_destroy_cache)
{
    fx_t f;
    fx_init(&f, 32, 8, 0, SPRING_OWN_EXCLUSIVE);
    fx_map(&f, SPRING_RIGHTS_RW);
    rd1(f.as, f.a);
    ck_assert_rc(put_page(f.as, f.a + PS, 0x66), 0);
    spring_cache_obj_t c = tp_cache(f.tp);
    spring_cache_rights_t r = tp_rights(f.tp);
    tp_clear(f.tp);
    ck_assert_rc(spring_cache_destroy(c), 0);
    const enum tp_kind want[] = {TP_DONE_WITH_POBJ};
    expect_log(f.tp, want, 1);
    uint8_t v = 0;
    void *p;
    spring_pin_t pin;
    ck_assert_rc(spring_as_read(f.as, f.a, &v, 1), SPRING_EDESTROYED);
    ck_assert_rc(spring_as_read(f.as, f.a + 2 * PS, &v, 1), SPRING_EDESTROYED);
    ck_assert_rc(spring_as_write(f.as, f.a + PS, &v, 1), SPRING_EDESTROYED);
    ck_assert_rc(spring_as_fault(f.as, f.a, SPRING_RIGHTS_R), SPRING_EDESTROYED);
    ck_assert_rc(spring_as_translate(f.as, f.a, SPRING_RIGHTS_R, &p, &pin), SPRING_EDESTROYED);
    ck_assert_uint_eq(mappings(f.as, f.a, f.len, NULL), 1);
    ck_assert_rc(spring_as_flush(f.as, f.a, f.len, false), 0);
    ck_assert_rc(spring_cache_destroy(c), SPRING_EBADHANDLE);
    ck_assert_rc(spring_cache_flush_back(c, 0, PS, NULL, NULL), SPRING_EBADHANDLE);
    ck_assert_rc(spring_cache_delete_range(c, 0, PS, NULL), SPRING_EBADHANDLE);
    ck_assert_rc(populate1(c, 0, SPRING_RIGHTS_RO, 1), SPRING_EBADHANDLE);
    spring_rights_t rr;
    ck_assert_rc(spring_cache_rights_get(r, &rr), SPRING_EBADHANDLE);
    ck_assert_rc(spring_as_unmap(f.as, f.a, f.len), 0);
    expect_log(f.tp, want, 1); /* never called again */
    CHECK_VMM(f.vmm);
    fx_map(&f, SPRING_RIGHTS_RW);
    ck_assert(page_is_pat(f.as, f.a + PS, PS)); /* the modified data was discarded */
    ck_assert_uint_eq(tp_count(f.tp, TP_BIND), 1);
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), 1);
    ck_assert_uint_eq(tp_count(f.tp, TP_DONE_WITH_POBJ), 1);
    fx_fini(&f);
}
END_TEST

/* SPRING_SIZE_ALL means "to the end of the cache"; ranges are checked. */
START_TEST(test_size_all_ranges)
{
    fx_t f;
    fx_init(&f, 32, 8, 0, SPRING_OWN_EXCLUSIVE);
    fx_map(&f, SPRING_RIGHTS_RW);
    spring_cache_obj_t c = tp_cache(f.tp);
    for (spring_off_t i = 0; i < 8; i++)
        ck_assert_rc(put_page(f.as, f.a + i * PS, (uint8_t)(i + 1)), 0);
    tp_clear(f.tp);
    spring_data_t *d = NULL;
    ck_assert_rc(spring_cache_flush_back(c, 2 * PS, SPRING_SIZE_ALL, NULL, &d), 0);
    ck_assert_uint_eq(d->nblocks, 6);
    for (size_t i = 0; i < 6; i++)
        ck_assert(dblock_is(d, i, (2 + i) * PS, (int)(3 + i)));
    ck_assert_uint_eq(spring_data_length(d), 6 * PS);
    spring_data_free(d);
    d = NULL;
    ck_assert_rc(spring_cache_write_back(c, 0, SPRING_SIZE_ALL, NULL, &d), 0);
    ck_assert_uint_eq(d->nblocks, 2);
    ck_assert(dblock_is(d, 0, 0, 1));
    ck_assert(dblock_is(d, 1, PS, 2));
    spring_data_free(d);
    ck_assert_uint_eq(tp_ncalls(f.tp), 0);
    ck_assert_rc(spring_cache_delete_range(c, PS, SPRING_SIZE_ALL, NULL), 0);
    ck_assert(page_is(f.as, f.a, 1));
    ck_assert_uint_eq(tp_ncalls(f.tp), 0);
    ck_assert(page_is_pat(f.as, f.a + PS, PS));
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), 1);
    ck_assert_rc(spring_cache_flush_back(c, 1, PS, NULL, NULL), SPRING_EALIGN);
    ck_assert_rc(spring_cache_flush_back(c, 0, PS + 1, NULL, NULL), SPRING_EALIGN);
    ck_assert_rc(spring_cache_flush_back(c, PS, (spring_off_t)0 - PS, NULL, NULL), SPRING_ERANGE);
    ck_assert_rc(spring_cache_delete_range(c, 2 * PS, (spring_off_t)0 - PS, NULL), SPRING_ERANGE);
    spring_cache_obj_t forged = {0x5eed0000abcdef01ULL};
    ck_assert_rc(spring_cache_flush_back(forged, 0, PS, NULL, NULL), SPRING_EBADHANDLE);
    ck_assert(page_is(f.as, f.a, 1));
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), 1);
    fx_fini(&f);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Pages in transit: the pager calls back from inside page_in/page_out. */

enum act_kind { A_FLUSH, A_DELETE, A_POPULATE_RO, A_POPULATE_RW, A_DESTROY, A_DENY, A_WRITEBACK, A_ZERO };

struct act {
    enum act_kind k;
    spring_off_t off, size;
    int fill;       /* populate: the byte */
    int rc;         /* produced */
    size_t nblocks; /* produced: blocks returned */
};

/* Fire the actions once, inside the nth call of kind `when` at offset `at`. */
struct transit {
    enum tp_kind when;
    spring_off_t at;
    unsigned nth; /* 0 or 1 = the first */
    unsigned seen;
    bool fired;
    struct act acts[4];
    size_t nacts;
};

static void do_act(tpager_t *tp, struct act *a)
{
    spring_cache_obj_t c = tp_cache(tp);
    spring_data_t *d = NULL;
    switch (a->k) {
    case A_FLUSH:
        a->rc = spring_cache_flush_back(c, a->off, a->size, NULL, &d);
        break;
    case A_DENY:
        a->rc = spring_cache_deny_writes(c, a->off, a->size, NULL, &d);
        break;
    case A_WRITEBACK:
        a->rc = spring_cache_write_back(c, a->off, a->size, NULL, &d);
        break;
    case A_DELETE:
        a->rc = spring_cache_delete_range(c, a->off, a->size, NULL);
        break;
    case A_ZERO:
        a->rc = spring_cache_zero_fill(c, a->off, a->size, NULL);
        break;
    case A_POPULATE_RO:
    case A_POPULATE_RW:
        a->rc = populate1(c, a->off, a->k == A_POPULATE_RW ? SPRING_RIGHTS_RW : SPRING_RIGHTS_RO, a->fill);
        break;
    case A_DESTROY:
        a->rc = spring_cache_destroy(c);
        break;
    }
    if (d) {
        a->nblocks = d->nblocks;
        spring_data_free(d);
    }
}

static void transit_hook(tpager_t *tp, enum tp_kind kind, spring_off_t off, void *arg)
{
    struct transit *t = arg;
    if (t->fired || kind != t->when || off != t->at)
        return;
    if (++t->seen < (t->nth ? t->nth : 1))
        return;
    t->fired = true;
    for (size_t i = 0; i < t->nacts; i++)
        do_act(tp, &t->acts[i]);
}

/* One action inside the first page_in of page 0. */
static void transit_page_in_0(fx_t *f, struct transit *t, enum act_kind k, int fill)
{
    memset(t, 0, sizeof *t);
    t->when = TP_PAGE_IN;
    t->at = 0;
    t->acts[0] = (struct act){k, 0, PS, fill, -99, 0};
    t->nacts = 1;
    tp_set_hook(f->tp, transit_hook, t);
}

/* flush_back of the block being paged in: the block is doomed, the data
 * that arrives is discarded, and the fault pages it in again. */
START_TEST(test_transit_flush_back_same_block)
{
    fx_t f;
    fx_init(&f, 32, 4, 0, SPRING_OWN_EXCLUSIVE);
    fx_map(&f, SPRING_RIGHTS_RW);
    struct transit t;
    transit_page_in_0(&f, &t, A_FLUSH, 0);
    ck_assert(page_is_pat(f.as, f.a, 0));
    ck_assert(t.fired);
    ck_assert_rc(t.acts[0].rc, 0);
    ck_assert_uint_eq(t.acts[0].nblocks, 0);
    ck_assert_uint_eq(calls_at(f.tp, TP_PAGE_IN, 0), 2);
    tp_set_hook(f.tp, NULL, NULL);
    ck_assert(page_is_pat(f.as, f.a, 0));
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), 2);
    CHECK_FRAMES(&f);
    fx_fini(&f);
}
END_TEST

/* The same with delete_range. */
START_TEST(test_transit_delete_same_block)
{
    fx_t f;
    fx_init(&f, 32, 4, 0, SPRING_OWN_EXCLUSIVE);
    fx_map(&f, SPRING_RIGHTS_RW);
    struct transit t;
    transit_page_in_0(&f, &t, A_DELETE, 0);
    ck_assert(page_is_pat(f.as, f.a, 0));
    ck_assert_rc(t.acts[0].rc, 0);
    ck_assert_uint_eq(calls_at(f.tp, TP_PAGE_IN, 0), 2);
    tp_set_hook(f.tp, NULL, NULL);
    CHECK_FRAMES(&f);
    fx_fini(&f);
}
END_TEST

/* The same with zero_fill: the fault then finds a zero block, no page_in. */
START_TEST(test_transit_zero_fill_same_block)
{
    fx_t f;
    fx_init(&f, 32, 4, 0, SPRING_OWN_EXCLUSIVE);
    fx_map(&f, SPRING_RIGHTS_RW);
    struct transit t;
    transit_page_in_0(&f, &t, A_ZERO, 0);
    ck_assert(page_is(f.as, f.a, 0));
    ck_assert_rc(t.acts[0].rc, 0);
    ck_assert_uint_eq(calls_at(f.tp, TP_PAGE_IN, 0), 1);
    tp_set_hook(f.tp, NULL, NULL);
    CHECK_FRAMES(&f);
    fx_fini(&f);
}
END_TEST

/* populate of the block being paged in: populate's data wins and the fault
 * needs no second page_in. */
START_TEST(test_transit_populate_same_block)
{
    fx_t f;
    fx_init(&f, 32, 4, 0, SPRING_OWN_EXCLUSIVE);
    fx_map(&f, SPRING_RIGHTS_RW);
    struct transit t;
    transit_page_in_0(&f, &t, A_POPULATE_RW, 0xab);
    ck_assert(page_is(f.as, f.a, 0xab));
    ck_assert_rc(t.acts[0].rc, 0);
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), 1);
    wr1(f.as, f.a, 0xac); /* populated read-write: no upgrade */
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), 1);
    tp_set_hook(f.tp, NULL, NULL);
    CHECK_FRAMES(&f);
    fx_fini(&f);
}
END_TEST

/* destroy_cache from inside page_in: the fault fails with EDESTROYED and
 * the pager object gets done_with_pager_object exactly once, after the
 * page_in returned. */
START_TEST(test_transit_destroy_in_page_in)
{
    fx_t f;
    fx_init(&f, 32, 4, 0, SPRING_OWN_EXCLUSIVE);
    fx_map(&f, SPRING_RIGHTS_RW);
    struct transit t;
    transit_page_in_0(&f, &t, A_DESTROY, 0);
    tp_clear(f.tp);
    uint8_t v;
    ck_assert_rc(spring_as_read(f.as, f.a, &v, 1), SPRING_EDESTROYED);
    ck_assert_rc(t.acts[0].rc, 0);
    const enum tp_kind want[] = {TP_PAGE_IN, TP_DONE_WITH_POBJ};
    expect_log(f.tp, want, 2);
    ck_assert_rc(spring_as_read(f.as, f.a + PS, &v, 1), SPRING_EDESTROYED);
    expect_log(f.tp, want, 2);
    tp_set_hook(f.tp, NULL, NULL);
    CHECK_FRAMES(&f);
    fx_fini(&f);
}
END_TEST

/* deny_writes and write_back skip the block in transit: the page_in goes
 * through and the block is cached read-write as asked. */
START_TEST(test_transit_deny_and_write_back_skip)
{
    fx_t f;
    fx_init(&f, 32, 4, 0, SPRING_OWN_EXCLUSIVE);
    fx_map(&f, SPRING_RIGHTS_RW);
    struct transit t;
    transit_page_in_0(&f, &t, A_DENY, 0);
    t.acts[1] = (struct act){A_WRITEBACK, 0, SPRING_SIZE_ALL, 0, -99, 0};
    t.nacts = 2;
    ck_assert(page_is_pat(f.as, f.a, 0));
    ck_assert_rc(t.acts[0].rc, 0);
    ck_assert_rc(t.acts[1].rc, 0);
    ck_assert_uint_eq(t.acts[0].nblocks + t.acts[1].nblocks, 0);
    wr1(f.as, f.a, 1);
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), 1);
    tp_set_hook(f.tp, NULL, NULL);
    CHECK_FRAMES(&f);
    fx_fini(&f);
}
END_TEST

/* From inside the page_in of page 0, the pager works on other blocks:
 * flush_back returns page 1's data, delete_range drops page 2, populate
 * introduces page 3.  Page 0's own page_in is not disturbed. */
START_TEST(test_transit_other_blocks)
{
    fx_t f;
    fx_init(&f, 32, 4, 0, SPRING_OWN_EXCLUSIVE);
    fx_map(&f, SPRING_RIGHTS_RW);
    ck_assert_rc(put_page(f.as, f.a + PS, 0x12), 0);
    rd1(f.as, f.a + 2 * PS);
    struct transit t;
    transit_page_in_0(&f, &t, A_FLUSH, 0);
    t.acts[0] = (struct act){A_FLUSH, PS, PS, 0, -99, 0};
    t.acts[1] = (struct act){A_DELETE, 2 * PS, PS, 0, -99, 0};
    t.acts[2] = (struct act){A_POPULATE_RO, 3 * PS, PS, 0xcd, -99, 0};
    t.nacts = 3;
    tp_clear(f.tp);
    ck_assert(page_is_pat(f.as, f.a, 0));
    ck_assert(t.fired);
    for (size_t i = 0; i < 3; i++)
        ck_assert_rc(t.acts[i].rc, 0);
    ck_assert_uint_eq(t.acts[0].nblocks, 1);
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), 1);
    tp_set_hook(f.tp, NULL, NULL);
    ck_assert(page_is(f.as, f.a + 3 * PS, 0xcd));
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), 1);
    ck_assert(page_is_pat(f.as, f.a + 2 * PS, 2 * PS));
    ck_assert(page_is_pat(f.as, f.a + PS, PS)); /* flushed back: from the store again */
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), 3);
    CHECK_FRAMES(&f);
    fx_fini(&f);
}
END_TEST

/* flush_back from inside an upgrade page_in: the block is doomed; the
 * write pages it in afresh (read-write) and lands in the new block. */
START_TEST(test_transit_flush_during_upgrade)
{
    fx_t f;
    fx_init(&f, 32, 4, 0, SPRING_OWN_SHARED);
    fx_map(&f, SPRING_RIGHTS_RW);
    rd1(f.as, f.a);
    struct transit t;
    transit_page_in_0(&f, &t, A_FLUSH, 0);
    t.nth = 1; /* counted from now: the upgrade */
    tp_clear(f.tp);
    wr1(f.as, f.a + 5, 0x99);
    ck_assert(t.fired);
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), 2);
    ck_assert(tp_call(f.tp, 0).upgrade);
    ck_assert(!tp_call(f.tp, 1).upgrade);
    ck_assert_uint_eq(tp_call(f.tp, 1).access, SPRING_RIGHTS_RW);
    tp_set_hook(f.tp, NULL, NULL);
    ck_assert_uint_eq(rd1(f.as, f.a + 5), 0x99);
    ck_assert_rc(spring_as_flush(f.as, f.a, PS, false), 0);
    tp_lock(f.tp);
    ck_assert_uint_eq(tp_store(f.tp)[5], 0x99);
    tp_unlock(f.tp);
    CHECK_FRAMES(&f);
    fx_fini(&f);
}
END_TEST

/* The same with a modified read-only block (deny_writes without a data
 * list keeps the modifications): flush_back cannot take the block in
 * transit, so its data never reached the pager; the upgrade must keep the
 * block and its data, and the write lands on top of it. */
START_TEST(test_transit_flush_during_upgrade_keeps_modified)
{
    fx_t f;
    fx_init(&f, 32, 4, 0, SPRING_OWN_EXCLUSIVE);
    fx_map(&f, SPRING_RIGHTS_RW);
    ck_assert_rc(put_page(f.as, f.a, 0x31), 0);
    spring_cache_obj_t c = tp_cache(f.tp);
    ck_assert_rc(spring_cache_deny_writes(c, 0, PS, NULL, NULL), 0); /* read-only, still modified */
    struct transit t;
    transit_page_in_0(&f, &t, A_FLUSH, 0);
    tp_clear(f.tp);
    wr1(f.as, f.a + 5, 0x99);
    ck_assert(t.fired);
    ck_assert_rc(t.acts[0].rc, 0);
    ck_assert_uint_eq(t.acts[0].nblocks, 0); /* in transit: nothing taken */
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), 1);
    ck_assert(tp_call(f.tp, 0).upgrade);
    tp_set_hook(f.tp, NULL, NULL);
    uint8_t buf[PS];
    ck_assert_rc(spring_as_read(f.as, f.a, buf, PS), 0);
    ck_assert_uint_eq(buf[5], 0x99);
    buf[5] = 0x31;
    ck_assert_msg(mem_is(buf, PS, 0x31), "the modified data of the block doomed during its upgrade was lost");
    ck_assert_rc(spring_as_flush(f.as, f.a, PS, false), 0);
    tp_lock(f.tp);
    bool stored = tp_store(f.tp)[5] == 0x99 && tp_store(f.tp)[6] == 0x31;
    tp_unlock(f.tp);
    ck_assert(stored);
    CHECK_FRAMES(&f);
    fx_fini(&f);
}
END_TEST

/* Under frame pressure, from inside the page_out of an evicted dirty page,
 * the pager calls flush_back (then delete_range) on it: nothing comes back
 * (the data is already at the pager), the page_out completes, and the next
 * access pages the data in. */
static void transit_evict(enum act_kind k)
{
    fx_t f;
    fx_init(&f, PN, 2 * PN, 0, SPRING_OWN_EXCLUSIVE);
    fx_map(&f, SPRING_RIGHTS_RW);
    ck_assert_rc(put_page(f.as, f.a, 0x5a), 0);
    struct transit t;
    memset(&t, 0, sizeof t);
    t.when = TP_PAGE_OUT;
    t.at = 0;
    t.acts[0] = (struct act){k, 0, PS, 0, -99, 0};
    t.acts[1] = (struct act){A_FLUSH, PS, SPRING_SIZE_ALL, 0, -99, 0};
    t.nacts = 2;
    tp_set_hook(f.tp, transit_hook, &t);
    for (spring_off_t i = 1; i < 2 * PN; i++)
        rd1(f.as, f.a + i * PS);
    ck_assert(t.fired);
    ck_assert_rc(t.acts[0].rc, 0);
    ck_assert_rc(t.acts[1].rc, 0);
    ck_assert_uint_eq(t.acts[0].nblocks, 0);
    ck_assert_uint_eq(calls_at(f.tp, TP_PAGE_OUT, 0), 1);
    ck_assert(store_is(f.tp, 0, PS, 0x5a));
    tp_set_hook(f.tp, NULL, NULL);
    CHECK_VMM(f.vmm);
    ck_assert(page_is(f.as, f.a, 0x5a));
    ck_assert_uint_eq(calls_at(f.tp, TP_PAGE_IN, 0), 2);
    ck_assert_uint_eq(calls_at(f.tp, TP_PAGE_OUT, 0), 1);
    CHECK_FRAMES(&f);
    fx_fini(&f);
}

START_TEST(test_transit_flush_in_page_out)
{
    transit_evict(A_FLUSH);
}
END_TEST

START_TEST(test_transit_delete_in_page_out)
{
    transit_evict(A_DELETE);
}
END_TEST

/* The same through spring_as_flush instead of eviction. */
START_TEST(test_transit_delete_in_flush_page_out)
{
    fx_t f;
    fx_init(&f, 32, 4, 0, SPRING_OWN_EXCLUSIVE);
    fx_map(&f, SPRING_RIGHTS_RW);
    ck_assert_rc(put_page(f.as, f.a, 0x5b), 0);
    struct transit t;
    memset(&t, 0, sizeof t);
    t.when = TP_PAGE_OUT;
    t.acts[0] = (struct act){A_DELETE, 0, SPRING_SIZE_ALL, 0, -99, 0};
    t.nacts = 1;
    tp_set_hook(f.tp, transit_hook, &t);
    ck_assert_rc(spring_as_flush(f.as, f.a, f.len, false), 0);
    ck_assert(t.fired);
    ck_assert(store_is(f.tp, 0, PS, 0x5b));
    tp_set_hook(f.tp, NULL, NULL);
    ck_assert(page_is(f.as, f.a, 0x5b));
    ck_assert_uint_eq(calls_at(f.tp, TP_PAGE_IN, 0), 2);
    CHECK_FRAMES(&f);
    fx_fini(&f);
}
END_TEST

/* ------------------------------------------------------------------ */
/* The bind protocol (§7.5).                                            */

struct reclaim_hook {
    spring_vmm_t *vmm;
    bool done;
    int reclaimed;
};

static void reclaim_in_bind(tpager_t *tp, void *arg)
{
    struct reclaim_hook *h = arg;
    if (h->done)
        return;
    h->done = true;
    h->reclaimed = spring_vmm_reclaim_caches(h->vmm, 0);
}

/* The cache is reclaimed after the pager picked its cache-rights in bind:
 * the dirty data is paged out, the pager object released, and the stale
 * rights send the VMM to final_bind, where the pager creates a new cache.
 * The map succeeds and reads the data back from the pager. */
START_TEST(test_bind_reclaim_race)
{
    fx_t f;
    fx_init(&f, 32, 4, 0, SPRING_OWN_EXCLUSIVE);
    fx_map(&f, SPRING_RIGHTS_RW);
    ck_assert_rc(put_page(f.as, f.a, 0x61), 0);
    ck_assert_rc(spring_as_unmap(f.as, f.a, f.len), 0);
    ck_assert_uint_eq(test_vm_info(f.vmm).unattached_caches, 1);
    ck_assert_uint_eq(tp_count(f.tp, TP_DONE_WITH_CACHE), 1); /* signal_last_ref */
    struct reclaim_hook h = {f.vmm, false, 0};
    tp_set_bind_hook(f.tp, reclaim_in_bind, &h);
    tp_clear(f.tp);
    fx_map(&f, SPRING_RIGHTS_RW);
    tp_set_bind_hook(f.tp, NULL, NULL);
    ck_assert_int_eq(h.reclaimed, 1);
    const enum tp_kind want[] = {TP_BIND, TP_PAGE_OUT, TP_DONE_WITH_POBJ, TP_FINAL_BIND};
    expect_log(f.tp, want, 4);
    ck_assert(store_is(f.tp, 0, PS, 0x61));
    ck_assert(page_is(f.as, f.a, 0x61));
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), 1);
    spring_vm_info_t info = test_vm_info(f.vmm);
    ck_assert_uint_eq(info.ncaches, 1);
    ck_assert_uint_eq(info.unattached_caches, 0);
    CHECK_VMM(f.vmm);
    fx_fini(&f);
}
END_TEST

/* The same race when the reclaimer's page_out fails: the cache is kept,
 * the rights stay valid, no final_bind, and the data is still cached. */
START_TEST(test_bind_reclaim_race_page_out_fails)
{
    fx_t f;
    fx_init(&f, 32, 4, 0, SPRING_OWN_EXCLUSIVE);
    fx_map(&f, SPRING_RIGHTS_RW);
    ck_assert_rc(put_page(f.as, f.a, 0x62), 0);
    ck_assert_rc(spring_as_unmap(f.as, f.a, f.len), 0);
    struct reclaim_hook h = {f.vmm, false, 0};
    tp_set_bind_hook(f.tp, reclaim_in_bind, &h);
    tp_fail(f.tp, TP_PAGE_OUT, PAGER_ERR, false);
    tp_clear(f.tp);
    fx_map(&f, SPRING_RIGHTS_RW);
    tp_set_bind_hook(f.tp, NULL, NULL);
    ck_assert_int_eq(h.reclaimed, 0);
    const enum tp_kind want[] = {TP_BIND, TP_PAGE_OUT};
    expect_log(f.tp, want, 2);
    ck_assert(page_is(f.as, f.a, 0x62));
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), 0);
    ck_assert_rc(spring_as_flush(f.as, f.a, f.len, false), 0);
    ck_assert(store_is(f.tp, 0, PS, 0x62));
    fx_fini(&f);
}
END_TEST

/* A bind that races with reclamation's page_out: another thread maps the
 * object while the reclaimer's page_out of its modified page is still in
 * the pager.  It must attach the same cache (and wait for the block on its
 * way out), not get a second cache through final_bind that pages in the
 * pager's older data. */
struct race_reader {
    fx_t *f;
    spring_as_t *as;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool mapped, read_done;
    bool in_page_out, page_in_during_page_out;
    uint8_t v;
    int rc;
};

static void race_set(struct race_reader *r, bool *flag)
{
    pthread_mutex_lock(&r->mu);
    *flag = true;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

static void *race_reader_thread(void *arg)
{
    struct race_reader *r = arg;
    spring_off_t len = r->f->len;
    spring_addr_t a = SPRING_ANYWHERE;
    r->rc = spring_as_map(r->as, r->f->m, 0, &len, &a, SPRING_RIGHTS_RW);
    race_set(r, &r->mapped);
    if (r->rc == 0)
        r->rc = spring_as_read(r->as, a, &r->v, 1);
    race_set(r, &r->read_done);
    return NULL;
}

struct race_hook {
    struct race_reader *r;
    pthread_t th;
    bool started;
};

static void bind_in_page_out(tpager_t *tp, enum tp_kind kind, spring_off_t off, void *arg)
{
    struct race_hook *h = arg;
    struct race_reader *r = h->r;
    (void)tp;
    (void)off;
    if (kind == TP_PAGE_IN) { /* the reader's: only after the page_out is right */
        pthread_mutex_lock(&r->mu);
        r->page_in_during_page_out |= r->in_page_out;
        pthread_cond_broadcast(&r->cv);
        pthread_mutex_unlock(&r->mu);
        return;
    }
    if (kind != TP_PAGE_OUT || h->started)
        return;
    h->started = true;
    pthread_mutex_lock(&r->mu);
    r->in_page_out = true;
    pthread_mutex_unlock(&r->mu);
    ck_assert_int_eq(pthread_create(&h->th, NULL, race_reader_thread, r), 0);
    /* The reader maps the object while this page_out is in the pager. */
    pthread_mutex_lock(&r->mu);
    while (!r->mapped)
        pthread_cond_wait(&r->cv, &r->mu);
    /* Right: its read waits for this page_out, so nothing more happens
     * until it returns.  Wrong: the read pages in the pager's old data (a
     * page_in now) or finishes without waiting.  What must not happen
     * cannot be waited for: wait for either, up to 200 ms. */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 200L * 1000 * 1000;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    while (!r->read_done && !r->page_in_during_page_out)
        if (pthread_cond_timedwait(&r->cv, &r->mu, &ts) != 0)
            break;
    r->in_page_out = false;
    pthread_mutex_unlock(&r->mu);
}

START_TEST(test_bind_during_reclaim_page_out)
{
    fx_t f;
    fx_init(&f, 32, 4, 0, SPRING_OWN_EXCLUSIVE);
    fx_map(&f, SPRING_RIGHTS_RW);
    ck_assert_rc(put_page(f.as, f.a, 0x63), 0);
    ck_assert_rc(spring_as_unmap(f.as, f.a, f.len), 0);
    struct race_reader r = {.f = &f, .as = as_new(f.vmm, false, 0)};
    pthread_mutex_init(&r.mu, NULL);
    pthread_cond_init(&r.cv, NULL);
    struct race_hook h = {.r = &r};
    tp_set_hook(f.tp, bind_in_page_out, &h);
    tp_clear(f.tp);
    int reclaimed = spring_vmm_reclaim_caches(f.vmm, 0);
    ck_assert(h.started);
    pthread_join(h.th, NULL);
    tp_set_hook(f.tp, NULL, NULL);
    ck_assert_rc(r.rc, 0);
    ck_assert_uint_eq(r.v, 0x63);
    ck_assert_msg(!r.page_in_during_page_out, "the block was paged in while its page_out was in the pager");
    pthread_mutex_destroy(&r.mu);
    pthread_cond_destroy(&r.cv);
    ck_assert_int_eq(reclaimed, 0); /* bound again meanwhile: it stays */
    ck_assert_uint_eq(tp_count(f.tp, TP_FINAL_BIND), 0);
    ck_assert_uint_eq(test_vm_info(f.vmm).ncaches, 1);
    spring_as_destroy(r.as);
    fx_fini(&f);
}
END_TEST

/* bind hands back an invalid cache-rights (given): the VMM calls
 * final_bind, where the pager binds its existing cache with bind_cache.
 * The new mapping shares the cached frame: no second page_in. */
static void bind_bad_rights(fx_t *f, spring_cache_rights_t bad)
{
    tp_set_bind_rights(f->tp, bad);
    tp_clear(f->tp);
    spring_off_t len = f->len;
    spring_addr_t a2 = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_map(f->as, f->m, 0, &len, &a2, SPRING_RIGHTS_RW), 0);
    tp_set_bind_rights(f->tp, (spring_cache_rights_t){0});
    const enum tp_kind want[] = {TP_BIND, TP_FINAL_BIND};
    expect_log(f->tp, want, 2);
    ck_assert(page_is_pat(f->as, a2, 0));
    void *p1, *p2;
    spring_pin_t pin1, pin2;
    ck_assert_rc(spring_as_translate(f->as, f->a, SPRING_RIGHTS_R, &p1, &pin1), 0);
    ck_assert_rc(spring_as_translate(f->as, a2, SPRING_RIGHTS_R, &p2, &pin2), 0);
    ck_assert_ptr_eq(p1, p2);
    spring_pin_release(&pin1);
    spring_pin_release(&pin2);
    wr1(f->as, a2 + 1, 0x3c);
    ck_assert_uint_eq(rd1(f->as, f->a + 1), 0x3c);
    ck_assert_uint_eq(tp_count(f->tp, TP_PAGE_IN), 0);
    ck_assert_uint_eq(test_vm_info(f->vmm).ncaches, 1);
    CHECK_VMM(f->vmm);
}

START_TEST(test_bind_forged_rights)
{
    fx_t f;
    fx_init(&f, 32, 4, 0, SPRING_OWN_EXCLUSIVE);
    fx_map(&f, SPRING_RIGHTS_RW);
    rd1(f.as, f.a);
    bind_bad_rights(&f, (spring_cache_rights_t){0x5eed0000abcdef01ULL});
    fx_fini(&f);
}
END_TEST

START_TEST(test_bind_stale_rights)
{
    fx_t f;
    fx_init(&f, 32, 4, 0, SPRING_OWN_EXCLUSIVE);
    fx_map(&f, SPRING_RIGHTS_RW);
    rd1(f.as, f.a);
    spring_cache_rights_t s;
    ck_assert_rc(spring_cache_rights_create_restricted_sibling(tp_rights(f.tp), SPRING_RIGHTS_RW, &s), 0);
    ck_assert_rc(spring_cache_rights_release(s), 0);
    bind_bad_rights(&f, s);
    fx_fini(&f);
}
END_TEST

/* A cache-rights of another VMM's cache is foreign: final_bind too.  The
 * mapping shows this pager's data, and the other VMM is unaffected. */
START_TEST(test_bind_foreign_rights)
{
    fx_t f;
    fx_init(&f, 32, 4, 0, SPRING_OWN_EXCLUSIVE);
    fx_map(&f, SPRING_RIGHTS_RW);
    rd1(f.as, f.a);
    spring_registry_t *reg2;
    spring_vmm_t *vmm2 = test_vmm("scen2", 32, &reg2);
    spring_as_t *as2 = as_new(vmm2, false, 0);
    tpager_t *tp2 = tp_new(reg2, "scen2", NULL, 4 * PS, 0, SPRING_OWN_EXCLUSIVE, true);
    memset(tp_store(tp2), 0xee, 4 * PS);
    spring_mobj_t *m2 = tp_mobj(tp2, SPRING_RIGHTS_RW);
    spring_off_t len = 4 * PS;
    spring_addr_t b = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_map(as2, m2, 0, &len, &b, SPRING_RIGHTS_RW), 0);
    ck_assert(page_is(as2, b, 0xee));
    bind_bad_rights(&f, tp_rights(tp2));
    ck_assert(page_is(as2, b, 0xee));
    ck_assert_uint_eq(tp_count(tp2, TP_PAGE_IN), 1);
    CHECK_VMM(vmm2);
    spring_as_destroy(as2);
    spring_mobj_unref(m2);
    tp_free(tp2);
    test_vmm_free(vmm2, reg2);
    fx_fini(&f);
}
END_TEST

/* A final_bind that binds nothing (or fails): the map fails with EBIND and
 * nothing is mapped; the existing mapping and the VMM are unaffected; the
 * next map works. */
START_TEST(test_bind_final_bind_noop_or_fails)
{
    fx_t f;
    fx_init(&f, 32, 4, 0, SPRING_OWN_EXCLUSIVE);
    fx_map(&f, SPRING_RIGHTS_RW);
    ck_assert_rc(put_page(f.as, f.a, 0x4d), 0);
    spring_addr_t x = (spring_addr_t)1 << 32;
    for (int round = 0; round < 2; round++) {
        tp_set_bind_rights(f.tp, (spring_cache_rights_t){0x5eed0000abcdef01ULL});
        if (round == 0)
            tp_set_final_bind_noop(f.tp, true);
        else
            tp_fail(f.tp, TP_FINAL_BIND, PAGER_ERR, false);
        tp_clear(f.tp);
        spring_off_t len = f.len;
        spring_addr_t a2 = x;
        ck_assert_rc(spring_as_map(f.as, f.m, 0, &len, &a2, SPRING_RIGHTS_RW), SPRING_EBIND);
        const enum tp_kind want[] = {TP_BIND, TP_FINAL_BIND};
        expect_log(f.tp, want, 2);
        ck_assert_uint_eq(mappings(f.as, x, f.len, NULL), 0);
        ck_assert_uint_eq(test_as_stats(f.as).nregions, 1);
        ck_assert(page_is(f.as, f.a, 0x4d));
        ck_assert_uint_eq(test_vm_info(f.vmm).ncaches, 1);
        CHECK_VMM(f.vmm);
        tp_set_final_bind_noop(f.tp, false);
        tp_set_bind_rights(f.tp, (spring_cache_rights_t){0});
    }
    spring_off_t len = f.len;
    spring_addr_t a2 = x;
    ck_assert_rc(spring_as_map(f.as, f.m, 0, &len, &a2, SPRING_RIGHTS_RW), 0);
    ck_assert(page_is(f.as, x, 0x4d));
    fx_fini(&f);
}
END_TEST

/* A failing bind: EBIND, nothing mapped, no final_bind. */
START_TEST(test_bind_fails)
{
    fx_t f;
    fx_init(&f, 32, 4, 0, SPRING_OWN_EXCLUSIVE);
    tp_fail(f.tp, TP_BIND, PAGER_ERR, false);
    spring_off_t len = f.len;
    spring_addr_t a = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_map(f.as, f.m, 0, &len, &a, SPRING_RIGHTS_RW), SPRING_EBIND);
    const enum tp_kind want[] = {TP_BIND};
    expect_log(f.tp, want, 1);
    ck_assert_uint_eq(test_as_stats(f.as).nregions, 0);
    CHECK_VMM(f.vmm);
    fx_map(&f, SPRING_RIGHTS_RW);
    ck_assert(page_is_pat(f.as, f.a, 0));
    fx_fini(&f);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Two memory objects, different maximum rights, one cache.              */

/* The read-write and the read-only object share frames and one page_in;
 * the read-only one can never be mapped or made read-write. */
START_TEST(test_sharing_two_mobjs_one_cache)
{
    fx_t f;
    fx_init(&f, 32, 4, 0, SPRING_OWN_EXCLUSIVE);
    spring_mobj_t *ro = tp_mobj(f.tp, SPRING_RIGHTS_RO);
    fx_map(&f, SPRING_RIGHTS_RW);
    spring_off_t len = f.len;
    spring_addr_t b = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_map(f.as, ro, 0, &len, &b, SPRING_RIGHTS_RW), SPRING_ERIGHTS);
    ck_assert_rc(spring_as_map(f.as, ro, 0, &len, &b, SPRING_RIGHTS_RWX), SPRING_ERIGHTS);
    ck_assert_rc(spring_as_map(f.as, ro, 0, &len, &b, SPRING_RIGHTS_RX), SPRING_ERIGHTS);
    ck_assert_uint_eq(test_as_stats(f.as).nregions, 1);
    ck_assert_rc(spring_as_map(f.as, ro, 0, &len, &b, SPRING_RIGHTS_RO), 0);
    ck_assert_uint_eq(rd1(f.as, f.a), tp_pattern(0));
    ck_assert_uint_eq(rd1(f.as, b), tp_pattern(0));
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), 1);
    void *p1, *p2;
    spring_pin_t pin1, pin2;
    ck_assert_rc(spring_as_translate(f.as, f.a, SPRING_RIGHTS_W, &p1, &pin1), 0);
    ck_assert_rc(spring_as_translate(f.as, b, SPRING_RIGHTS_R, &p2, &pin2), 0);
    ck_assert_ptr_eq(p1, p2);
    *(uint8_t *)p1 = 0x5a;
    spring_pin_release(&pin1);
    spring_pin_release(&pin2);
    ck_assert_uint_eq(rd1(f.as, b), 0x5a);
    ck_assert_rc(spring_as_change_access_rights(f.as, b, PS, SPRING_RIGHTS_RW), SPRING_ERIGHTS);
    ck_assert_rc(spring_as_change_access_rights(f.as, b, PS, SPRING_RIGHTS_RX), SPRING_ERIGHTS);
    uint8_t v = 1;
    ck_assert_rc(spring_as_write(f.as, b, &v, 1), SPRING_EACCES);
    ck_assert_rc(spring_as_fault(f.as, b + PS, SPRING_RIGHTS_W), SPRING_EACCES);
    ck_assert_rc(spring_as_translate(f.as, b, SPRING_RIGHTS_W, &p2, &pin2), SPRING_EACCES);
    spring_mapping_t m[8];
    ck_assert_uint_eq(mappings(f.as, b, len, m), 1);
    ck_assert_uint_eq(m[0].access, SPRING_RIGHTS_RO);
    ck_assert_uint_eq(m[0].max_access, SPRING_RIGHTS_RO);
    ck_assert_uint_eq(rd1(f.as, b), 0x5a);
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), 1);
    ck_assert_uint_eq(test_vm_info(f.vmm).ncaches, 1);
    spring_as_destroy(f.as);
    f.as = as_new(f.vmm, false, 0);
    spring_mobj_unref(ro);
    fx_fini(&f);
}
END_TEST

/* ------------------------------------------------------------------ */
/* lock_memory.                                                         */

/* Whether the mappings of [a, a+len) say exactly [a, a+nlocked) is locked. */
static bool locked_prefix(spring_as_t *as, spring_addr_t a, spring_off_t len, spring_off_t nlocked)
{
    spring_mapping_t m[8];
    size_t n = mappings(as, a, len, m);
    spring_addr_t at = a;
    for (size_t i = 0; i < n; i++) {
        if (m[i].address != at)
            return false;
        for (spring_addr_t p = m[i].address; p < m[i].address + m[i].length; p += PS)
            if (m[i].locked != (p < a + nlocked))
                return false;
        at += m[i].length;
    }
    return at == a + len;
}

/* Locked pages cause no page traffic under frame pressure: their page_ins
 * happen at lock time, and afterwards neither eviction nor translation
 * touches them.  A flush writes them back (sync) but keeps them.  Unlocked,
 * they are reclaimed like any other page. */
START_TEST(test_lock_no_traffic_under_pressure)
{
    enum { N = 16, NP = 64, NL = 4 };
    fx_t f;
    fx_init(&f, N, NP, 0, SPRING_OWN_EXCLUSIVE);
    fx_map(&f, SPRING_RIGHTS_RW);
    ck_assert_rc(spring_as_lock_memory(f.as, f.a, NL * PS), 0);
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), NL);
    for (spring_off_t i = 0; i < NL; i++) {
        ck_assert_uint_eq(calls_at(f.tp, TP_PAGE_IN, i * PS), 1);
        ck_assert_rc(put_page(f.as, f.a + i * PS, (uint8_t)(0xa0 + i)), 0);
    }
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), NL);
    ck_assert_uint_eq(test_vm_info(f.vmm).locked_frames, NL);
    ck_assert_uint_eq(test_as_stats(f.as).locked, NL);
    ck_assert(locked_prefix(f.as, f.a, f.len, NL * PS));
    tp_clear(f.tp);
    for (spring_off_t i = NL; i < NP; i++)
        ck_assert_rc(put_page(f.as, f.a + i * PS, (uint8_t)i), 0);
    for (spring_off_t i = NL; i < NP; i++)
        ck_assert_uint_eq(rd1(f.as, f.a + i * PS), (uint8_t)i);
    ck_assert_uint_gt(tp_count(f.tp, TP_PAGE_OUT), 0);
    for (size_t i = 0; i < tp_ncalls(f.tp); i++)
        ck_assert_msg(tp_call(f.tp, i).off >= NL * PS, "%s of locked page %#llx",
                      tp_kind_name(tp_call(f.tp, i).kind), (unsigned long long)tp_call(f.tp, i).off);
    size_t before = tp_ncalls(f.tp);
    for (spring_off_t i = 0; i < NL; i++) {
        void *p;
        spring_pin_t pin;
        ck_assert_rc(spring_as_translate(f.as, f.a + i * PS, SPRING_RIGHTS_R, &p, &pin), 0);
        ck_assert(mem_is(p, PS, (uint8_t)(0xa0 + i)));
        spring_pin_release(&pin);
    }
    ck_assert_uint_eq(tp_ncalls(f.tp), before);
    /* flush: locked pages are written back and stay. */
    tp_clear(f.tp);
    ck_assert_rc(spring_as_flush(f.as, f.a, f.len, false), 0);
    for (spring_off_t i = 0; i < NL; i++) {
        ck_assert_uint_eq(calls_at(f.tp, TP_SYNC, i * PS) + calls_at(f.tp, TP_PAGE_OUT, i * PS), 1);
        ck_assert(store_is(f.tp, i * PS, PS, (uint8_t)(0xa0 + i)));
    }
    for (spring_off_t i = 0; i < NL; i++)
        ck_assert(page_is(f.as, f.a + i * PS, (uint8_t)(0xa0 + i)));
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), 0);
    /* Unlocked: pressure reclaims them; they are paged in again. */
    ck_assert_rc(spring_as_unlock_memory(f.as, f.a, NL * PS), 0);
    ck_assert_uint_eq(test_vm_info(f.vmm).locked_frames, 0);
    ck_assert(locked_prefix(f.as, f.a, f.len, 0));
    tp_clear(f.tp);
    for (spring_off_t i = NL; i < NP; i++)
        rd1(f.as, f.a + i * PS);
    for (spring_off_t i = 0; i < NL; i++)
        ck_assert(page_is(f.as, f.a + i * PS, (uint8_t)(0xa0 + i)));
    for (spring_off_t i = 0; i < NL; i++)
        ck_assert_uint_eq(calls_at(f.tp, TP_PAGE_IN, i * PS), 1);
    fx_fini(&f);
}
END_TEST

/* Locking more than the pool can hold fails with ELOCKLIMIT and leaves
 * nothing locked; up to the limit works. */
START_TEST(test_lock_limit)
{
    enum { N = 16 };
    fx_t f;
    fx_init(&f, N, 2 * N, 0, SPRING_OWN_EXCLUSIVE);
    fx_map(&f, SPRING_RIGHTS_RW);
    ck_assert_rc(spring_as_lock_memory(f.as, f.a, N * PS), SPRING_ELOCKLIMIT);
    ck_assert(locked_prefix(f.as, f.a, f.len, 0));
    ck_assert_uint_eq(test_vm_info(f.vmm).locked_frames, 0);
    ck_assert_uint_eq(test_as_stats(f.as).locked, 0);
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), 0);
    ck_assert_rc(spring_as_lock_memory(f.as, f.a, (N - 2) * PS), 0);
    ck_assert_uint_eq(test_vm_info(f.vmm).locked_frames, N - 2);
    ck_assert_rc(spring_as_lock_memory(f.as, f.a + (N - 2) * PS, PS), SPRING_ELOCKLIMIT);
    ck_assert(locked_prefix(f.as, f.a, f.len, (N - 2) * PS));
    /* The rest still pages through the unlocked frames. */
    for (spring_off_t i = N - 2; i < 2 * N; i++)
        ck_assert_rc(put_page(f.as, f.a + i * PS, (uint8_t)i), 0);
    for (spring_off_t i = N - 2; i < 2 * N; i++)
        ck_assert_uint_eq(rd1(f.as, f.a + i * PS), (uint8_t)i);
    ck_assert_rc(spring_as_unlock_memory(f.as, f.a, f.len), 0);
    ck_assert_uint_eq(test_vm_info(f.vmm).locked_frames, 0);
    fx_fini(&f);
}
END_TEST

/* A lock across two regions of two caches: the first cache's locks are
 * taken, the second's exceed the limit, and the first are rolled back. */
START_TEST(test_lock_limit_two_regions_rolls_back)
{
    enum { N = 16 };
    fx_t f;
    fx_init(&f, N, 4, 0, SPRING_OWN_EXCLUSIVE);
    fx_map(&f, SPRING_RIGHTS_RW);
    tpager_t *tp2 = tp_new(f.reg, VMM_NAME, NULL, 20 * PS, 0, SPRING_OWN_EXCLUSIVE, true);
    spring_mobj_t *m2 = tp_mobj(tp2, SPRING_RIGHTS_RW);
    spring_off_t len = 20 * PS;
    spring_addr_t b = f.a + f.len;
    ck_assert_rc(spring_as_map(f.as, m2, 0, &len, &b, SPRING_RIGHTS_RW), 0);
    ck_assert_rc(spring_as_lock_memory(f.as, f.a, 16 * PS), SPRING_ELOCKLIMIT);
    ck_assert(locked_prefix(f.as, f.a, 24 * PS, 0));
    ck_assert_uint_eq(test_vm_info(f.vmm).locked_frames, 0);
    /* Nothing stays locked behind the mappings' back: pressure evicts all. */
    for (spring_off_t i = 0; i < 24; i++)
        rd1(f.as, f.a + i * PS);
    for (spring_off_t i = 0; i < 4; i++)
        rd1(f.as, f.a + i * PS);
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), 8);
    spring_as_destroy(f.as);
    f.as = as_new(f.vmm, false, 0);
    spring_mobj_unref(m2);
    tp_free(tp2);
    fx_fini(&f);
}
END_TEST

/* A lock that fails (the pager refuses a page_in) leaves the pages that
 * were locked before it locked: "on failure nothing is locked" means
 * nothing new, not that earlier locks are dropped. */
START_TEST(test_lock_failure_keeps_earlier_locks)
{
    fx_t f;
    fx_init(&f, 32, 8, 0, SPRING_OWN_EXCLUSIVE);
    fx_map(&f, SPRING_RIGHTS_RW);
    ck_assert_rc(spring_as_lock_memory(f.as, f.a, 2 * PS), 0);
    ck_assert_uint_eq(test_vm_info(f.vmm).locked_frames, 2);
    tp_fail(f.tp, TP_PAGE_IN, PAGER_ERR, false);
    ck_assert_rc(spring_as_lock_memory(f.as, f.a, 4 * PS), SPRING_EPAGER);
    ck_assert_msg(locked_prefix(f.as, f.a, f.len, 2 * PS),
                  "a failed lock_memory unlocked pages locked by an earlier call");
    ck_assert_uint_eq(test_vm_info(f.vmm).locked_frames, 2);
    fx_fini(&f);
}
END_TEST

/* delete_range of a locked page: the pager's word wins (the modification is
 * discarded); the page stays locked, is paged in again on its next access
 * and then never leaves under pressure. */
START_TEST(test_lock_delete_range_wins)
{
    enum { N = 8 };
    fx_t f;
    fx_init(&f, N, 3 * N, 0, SPRING_OWN_EXCLUSIVE);
    fx_map(&f, SPRING_RIGHTS_RW);
    ck_assert_rc(spring_as_lock_memory(f.as, f.a, PS), 0);
    ck_assert_rc(put_page(f.as, f.a, 0xb1), 0);
    ck_assert_rc(spring_cache_delete_range(tp_cache(f.tp), 0, PS, NULL), 0);
    ck_assert(locked_prefix(f.as, f.a, f.len, PS));
    ck_assert(page_is_pat(f.as, f.a, 0));
    ck_assert_uint_eq(calls_at(f.tp, TP_PAGE_IN, 0), 2);
    for (spring_off_t i = 1; i < 3 * N; i++)
        ck_assert_rc(put_page(f.as, f.a + i * PS, (uint8_t)i), 0);
    ck_assert(page_is_pat(f.as, f.a, 0));
    ck_assert_uint_eq(calls_at(f.tp, TP_PAGE_IN, 0), 2);
    ck_assert_uint_eq(calls_at(f.tp, TP_PAGE_OUT, 0), 0);
    fx_fini(&f);
}
END_TEST

/* Only privileged address spaces lock. */
START_TEST(test_lock_eperm)
{
    fx_t f;
    fx_init(&f, 32, 4, 0, SPRING_OWN_EXCLUSIVE);
    spring_as_destroy(f.as);
    f.as = as_new(f.vmm, false, 0);
    fx_map(&f, SPRING_RIGHTS_RW);
    ck_assert_rc(spring_as_lock_memory(f.as, f.a, PS), SPRING_EPERM);
    ck_assert_rc(spring_as_unlock_memory(f.as, f.a, PS), SPRING_EPERM);
    ck_assert(locked_prefix(f.as, f.a, f.len, 0));
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), 0);
    fx_fini(&f);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Address-space events.                                                */

enum ev_mode { EV_PASSIVE, EV_ALLOCATE, EV_MAKE_RW, EV_SPIN };

struct evlog {
    spring_as_event_t ev[32];
    size_t n;          /* events recorded (at most 32) */
    size_t calls;      /* handler calls */
    enum ev_mode mode;
    int inner_rc;      /* the handler's own call */
    size_t map_visible; /* MAP events whose range get_mappings already shows */
};

static int ev_handler(spring_as_t *as, const spring_as_event_t *ev, void *arg)
{
    struct evlog *l = arg;
    l->calls++;
    if (l->n < 32)
        l->ev[l->n++] = *ev;
    spring_addr_t page = ev->address & ~(spring_addr_t)(PS - 1);
    switch (ev->kind) {
    case SPRING_AS_EVENT_UNMAPPED:
        if (l->mode == EV_ALLOCATE) {
            spring_off_t len = PS;
            spring_addr_t a = page;
            l->inner_rc = spring_as_allocate_memory(as, &len, &a, SPRING_RIGHTS_RW);
            return l->inner_rc == 0;
        }
        return l->mode == EV_SPIN;
    case SPRING_AS_EVENT_ACCESS:
        if (l->mode == EV_MAKE_RW) {
            l->inner_rc = spring_as_change_access_rights(as, page, PS, SPRING_RIGHTS_RW);
            return l->inner_rc == 0;
        }
        return l->mode == EV_SPIN;
    case SPRING_AS_EVENT_MAP: {
        spring_mapping_t m[2];
        size_t n = 0;
        bool more;
        if (spring_as_get_mappings(as, ev->address, ev->length, m, 2, &n, &more) == 0 && n == 1 &&
            m[0].length == ev->length)
            l->map_visible++;
        spring_mappings_release(m, n);
        return 0;
    }
    default:
        return 0;
    }
}

static void ev_is(const struct evlog *l, size_t i, spring_as_event_kind_t kind, spring_addr_t a, spring_off_t len,
                  spring_rights_t access)
{
    ck_assert_msg(i < l->n, "event %zu missing (%zu recorded)", i, l->n);
    const spring_as_event_t *e = &l->ev[i];
    ck_assert_msg(e->kind == kind && e->address == a && e->length == len && e->access == access,
                  "event %zu: kind %d addr %#llx len %#llx access %d; want %d %#llx %#llx %d", i, (int)e->kind,
                  (unsigned long long)e->address, (unsigned long long)e->length, (int)e->access, (int)kind,
                  (unsigned long long)a, (unsigned long long)len, (int)access);
}

/* map, protect, unmap and allocate_memory are reported with their ranges;
 * the handler runs after the change (it sees the new mapping) and with no
 * lock held (it calls get_mappings on the same address space). */
START_TEST(test_events_mapping_changes)
{
    fx_t f;
    fx_init(&f, 32, 4, 0, SPRING_OWN_EXCLUSIVE);
    struct evlog l;
    memset(&l, 0, sizeof l);
    ck_assert_rc(spring_as_catch_as_events(f.as, ev_handler, &l), 0);
    fx_map(&f, SPRING_RIGHTS_RW);
    ev_is(&l, 0, SPRING_AS_EVENT_MAP, f.a, f.len, SPRING_RIGHTS_RW);
    ck_assert_uint_eq(l.map_visible, 1);
    ck_assert_rc(spring_as_change_access_rights(f.as, f.a + PS, 2 * PS, SPRING_RIGHTS_RO), 0);
    ev_is(&l, 1, SPRING_AS_EVENT_PROTECT, f.a + PS, 2 * PS, SPRING_RIGHTS_RO);
    ck_assert_rc(spring_as_unmap(f.as, f.a + 3 * PS, PS), 0);
    ev_is(&l, 2, SPRING_AS_EVENT_UNMAP, f.a + 3 * PS, PS, SPRING_RIGHTS_NONE);
    spring_off_t len = 2 * PS;
    spring_addr_t b = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_allocate_memory(f.as, &len, &b, SPRING_RIGHTS_RW), 0);
    ev_is(&l, 3, SPRING_AS_EVENT_MAP, b, 2 * PS, SPRING_RIGHTS_RW);
    ck_assert_uint_eq(l.map_visible, 2);
    ck_assert_uint_eq(l.n, 4);
    ck_assert_rc(spring_as_catch_as_events(f.as, NULL, NULL), 0);
    ck_assert_rc(spring_as_unmap(f.as, b, len), 0);
    ck_assert_uint_eq(l.n, 4);
    fx_fini(&f);
}
END_TEST

/* Accesses to unmapped addresses are reported with the exact address and
 * the access; a handler returning 0 lets them fail with ENOTMAPPED. */
START_TEST(test_events_unmapped_reported)
{
    fx_t f;
    fx_init(&f, 32, 4, 0, SPRING_OWN_EXCLUSIVE);
    struct evlog l;
    memset(&l, 0, sizeof l);
    ck_assert_rc(spring_as_catch_as_events(f.as, ev_handler, &l), 0);
    spring_addr_t x = (spring_addr_t)1 << 30;
    uint8_t v = 0;
    ck_assert_rc(spring_as_read(f.as, x + 123, &v, 1), SPRING_ENOTMAPPED);
    ck_assert_rc(spring_as_write(f.as, x + 5, &v, 1), SPRING_ENOTMAPPED);
    ck_assert_rc(spring_as_fault(f.as, x + PS, SPRING_RIGHTS_X), SPRING_ENOTMAPPED);
    ck_assert_uint_eq(l.n, 3);
    ev_is(&l, 0, SPRING_AS_EVENT_UNMAPPED, x + 123, 0, SPRING_RIGHTS_R);
    ev_is(&l, 1, SPRING_AS_EVENT_UNMAPPED, x + 5, 0, SPRING_RIGHTS_W);
    ev_is(&l, 2, SPRING_AS_EVENT_UNMAPPED, x + PS, 0, SPRING_RIGHTS_X);
    ck_assert_uint_eq(test_as_stats(f.as).unmapped_faults, 3);
    fx_fini(&f);
}
END_TEST

/* The handler resolves an unmapped fault by allocating memory at the page
 * (an address-space call on the same address space, from the handler) and
 * returns 1: the access is retried and succeeds. */
START_TEST(test_events_handler_maps_memory)
{
    fx_t f;
    fx_init(&f, 32, 4, 0, SPRING_OWN_EXCLUSIVE);
    struct evlog l;
    memset(&l, 0, sizeof l);
    l.mode = EV_ALLOCATE;
    ck_assert_rc(spring_as_catch_as_events(f.as, ev_handler, &l), 0);
    spring_addr_t x = (spring_addr_t)1 << 30;
    wr1(f.as, x + 10, 0x5c);
    ck_assert_rc(l.inner_rc, 0);
    /* The handler's allocation is not reported as a map event: no event is
     * delivered on a thread while it runs a handler (as.h). */
    ck_assert_uint_eq(l.n, 1);
    ev_is(&l, 0, SPRING_AS_EVENT_UNMAPPED, x + 10, 0, SPRING_RIGHTS_W);
    ck_assert_uint_eq(rd1(f.as, x + 10), 0x5c);
    ck_assert_uint_eq(rd1(f.as, x + 11), 0);
    ck_assert_uint_eq(l.n, 1);
    ck_assert_uint_eq(mappings(f.as, x, PS, NULL), 1);
    fx_fini(&f);
}
END_TEST

/* Access violations are reported (kind, address, access); returning 0 fails
 * the access with EACCES; a handler that upgrades the page's rights and
 * returns 1 makes the access succeed. */
START_TEST(test_events_access_violation)
{
    fx_t f;
    fx_init(&f, 32, 4, 0, SPRING_OWN_EXCLUSIVE);
    fx_map(&f, SPRING_RIGHTS_RO);
    struct evlog l;
    memset(&l, 0, sizeof l);
    ck_assert_rc(spring_as_catch_as_events(f.as, ev_handler, &l), 0);
    uint8_t v = 0x5d;
    ck_assert_rc(spring_as_write(f.as, f.a + 3, &v, 1), SPRING_EACCES);
    ck_assert_rc(spring_as_fault(f.as, f.a + PS, SPRING_RIGHTS_X), SPRING_EACCES);
    ck_assert_uint_eq(l.n, 2);
    ev_is(&l, 0, SPRING_AS_EVENT_ACCESS, f.a + 3, 0, SPRING_RIGHTS_W);
    ev_is(&l, 1, SPRING_AS_EVENT_ACCESS, f.a + PS, 0, SPRING_RIGHTS_X);
    l.mode = EV_MAKE_RW;
    wr1(f.as, f.a + 3, 0x5d);
    ck_assert_rc(l.inner_rc, 0);
    ev_is(&l, 2, SPRING_AS_EVENT_ACCESS, f.a + 3, 0, SPRING_RIGHTS_W);
    /* The handler's own change_access_rights is not reported (as.h: no
     * event is delivered on a thread while it runs a handler). */
    ck_assert_uint_eq(l.n, 3);
    ck_assert_uint_eq(rd1(f.as, f.a + 3), 0x5d);
    l.mode = EV_PASSIVE;
    ck_assert_rc(spring_as_write(f.as, f.a + PS, &v, 1), SPRING_EACCES);
    ck_assert_uint_ge(test_as_stats(f.as).protection_faults, 4);
    fx_fini(&f);
}
END_TEST

/* A handler that touches the faulting address itself: without the rule of
 * as.h it would be called again from inside itself until the stack ran
 * out.  Its own access fails as with no handler, its own mapping change is
 * not reported, and it runs once per retry of the outer access. */
struct ev_touch {
    unsigned calls, depth, max_depth;
    int inner_read, inner_fault;
    uint8_t inner_v;
    size_t events;
};

static int ev_touch_handler(spring_as_t *as, const spring_as_event_t *ev, void *arg)
{
    struct ev_touch *t = arg;
    t->calls++;
    t->events++;
    if (++t->depth > t->max_depth)
        t->max_depth = t->depth;
    int answer = 0;
    if (ev->kind == SPRING_AS_EVENT_UNMAPPED || ev->kind == SPRING_AS_EVENT_ACCESS) {
        t->inner_read = spring_as_read(as, ev->address, &t->inner_v, 1);
        t->inner_fault = spring_as_fault(as, ev->address, ev->access);
        if (ev->kind == SPRING_AS_EVENT_ACCESS) {
            /* resolve it: make the page writable (an event of its own, skipped) */
            spring_addr_t page = ev->address & ~(spring_addr_t)(PS - 1);
            answer = spring_as_change_access_rights(as, page, PS, SPRING_RIGHTS_RW) == 0;
        }
    }
    t->depth--;
    return answer;
}

START_TEST(test_events_handler_touching_fault_address)
{
    fx_t f;
    fx_init(&f, 32, 4, 0, SPRING_OWN_EXCLUSIVE);
    fx_map(&f, SPRING_RIGHTS_RO);
    struct ev_touch t;
    memset(&t, 0, sizeof t);
    ck_assert_rc(spring_as_catch_as_events(f.as, ev_touch_handler, &t), 0);
    spring_addr_t x = (spring_addr_t)1 << 30;
    uint8_t v = 0;
    ck_assert_rc(spring_as_read(f.as, x + 7, &v, 1), SPRING_ENOTMAPPED);
    ck_assert_uint_eq(t.calls, 1);
    ck_assert_uint_eq(t.max_depth, 1);
    ck_assert_rc(t.inner_read, SPRING_ENOTMAPPED);
    ck_assert_rc(t.inner_fault, SPRING_ENOTMAPPED);
    /* A write to a read-only page: inside the handler the same write fails
     * with EACCES, the handler's change of rights resolves the outer one. */
    memset(&t, 0, sizeof t);
    v = 0x6e;
    ck_assert_rc(spring_as_write(f.as, f.a + PS + 9, &v, 1), 0);
    ck_assert_uint_eq(t.calls, 1);
    ck_assert_uint_eq(t.events, 1); /* the PROTECT from inside was not delivered */
    ck_assert_uint_eq(t.max_depth, 1);
    ck_assert_rc(t.inner_fault, SPRING_EACCES);
    ck_assert_rc(t.inner_read, 0); /* reading the read-only page is allowed */
    ck_assert_uint_eq(rd1(f.as, f.a + PS + 9), 0x6e);
    /* Outside a handler, events are delivered again. */
    ck_assert_rc(spring_as_change_access_rights(f.as, f.a, PS, SPRING_RIGHTS_RW), 0);
    ck_assert_uint_eq(t.events, 2);
    fx_fini(&f);
}
END_TEST

/* A handler that claims to resolve a fault but does not: the retries are
 * bounded and the access fails. */
START_TEST(test_events_retry_bounded)
{
    fx_t f;
    fx_init(&f, 32, 4, 0, SPRING_OWN_EXCLUSIVE);
    struct evlog l;
    memset(&l, 0, sizeof l);
    l.mode = EV_SPIN;
    ck_assert_rc(spring_as_catch_as_events(f.as, ev_handler, &l), 0);
    uint8_t v;
    ck_assert_rc(spring_as_read(f.as, (spring_addr_t)1 << 30, &v, 1), SPRING_ENOTMAPPED);
    ck_assert_uint_gt(l.calls, 1);
    ck_assert_uint_le(l.calls, 32);
    fx_fini(&f);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Failure injection: host memory.                                      */

/*
 * Each test runs one operation on a fresh fixture with the k-th host
 * allocation failing, for k = 1..KMAX: the operation either succeeds or
 * fails cleanly (ENOMEM, or a documented code), and then the VMM is
 * consistent and the state is all-or-nothing.  The last k (beyond the
 * operation's allocations) must succeed, and some k must have failed.
 */
#define KMAX 24

static void inject(spring_vmm_t *vmm, unsigned k)
{
    ck_assert_rc(spring__test_inject_alloc_failure(vmm, k), 0);
}

#define INJECT_END(nfail, last)                                                               \
    do {                                                                                      \
        ck_assert_msg((nfail) > 0, "no injected failure was ever hit");                       \
        ck_assert_msg((last) == 0, "the operation still fails beyond its allocations: %s", \
                      spring_err_name(last));                                                 \
    } while (0)

/* map: binding creates the cache (first time) or finds it. */
static void inject_map(bool cache_exists)
{
    unsigned nfail = 0;
    int rc = 0;
    for (unsigned k = 1; k <= KMAX; k++) {
        fx_t f;
        fx_init(&f, 32, 4, 0, SPRING_OWN_EXCLUSIVE);
        if (cache_exists) {
            fx_map(&f, SPRING_RIGHTS_RW);
            ck_assert_rc(spring_as_unmap(f.as, f.a, f.len), 0);
        }
        spring_off_t len = f.len;
        spring_addr_t a = SPRING_ANYWHERE;
        inject(f.vmm, k);
        rc = spring_as_map(f.as, f.m, 0, &len, &a, SPRING_RIGHTS_RW);
        inject(f.vmm, 0);
        ck_assert_msg(rc == 0 || rc == SPRING_ENOMEM || rc == SPRING_EBIND, "k=%u: %s", k, spring_err_name(rc));
        CHECK_VMM(f.vmm);
        if (rc == 0) {
            ck_assert_uint_eq(mappings(f.as, a, len, NULL), 1);
            ck_assert(page_is_pat(f.as, a, 0));
        } else {
            nfail++;
            ck_assert_uint_eq(test_as_stats(f.as).nregions, 0);
            fx_map(&f, SPRING_RIGHTS_RW);
            ck_assert(page_is_pat(f.as, f.a, 0));
        }
        fx_fini(&f);
    }
    INJECT_END(nfail, rc);
}

START_TEST(test_inject_map_new_cache)
{
    inject_map(false);
}
END_TEST

START_TEST(test_inject_map_existing_cache)
{
    inject_map(true);
}
END_TEST

/* map through final_bind (forged rights): bind keys, bind_cache. */
START_TEST(test_inject_map_final_bind)
{
    unsigned nfail = 0;
    int rc = 0;
    for (unsigned k = 1; k <= KMAX; k++) {
        fx_t f;
        fx_init(&f, 32, 4, 0, SPRING_OWN_EXCLUSIVE);
        fx_map(&f, SPRING_RIGHTS_RW);
        ck_assert_rc(put_page(f.as, f.a, 0x21), 0);
        tp_set_bind_rights(f.tp, (spring_cache_rights_t){0x5eed0000abcdef01ULL});
        spring_off_t len = f.len;
        spring_addr_t a = SPRING_ANYWHERE;
        inject(f.vmm, k);
        rc = spring_as_map(f.as, f.m, 0, &len, &a, SPRING_RIGHTS_RW);
        inject(f.vmm, 0);
        tp_set_bind_rights(f.tp, (spring_cache_rights_t){0});
        ck_assert_msg(rc == 0 || rc == SPRING_ENOMEM || rc == SPRING_EBIND, "k=%u: %s", k, spring_err_name(rc));
        CHECK_VMM(f.vmm);
        ck_assert_uint_eq(test_as_stats(f.as).nregions, rc == 0 ? 2 : 1);
        if (rc == 0)
            ck_assert(page_is(f.as, a, 0x21));
        else
            nfail++;
        ck_assert(page_is(f.as, f.a, 0x21));
        fx_fini(&f);
    }
    INJECT_END(nfail, rc);
}
END_TEST

/* unmap of the middle of a region (a split): two regions, or unchanged. */
static void inject_unmap_split(bool anon)
{
    unsigned nfail = 0;
    int rc = 0;
    for (unsigned k = 1; k <= KMAX; k++) {
        fx_t f;
        fx_init(&f, 32, 8, 0, SPRING_OWN_EXCLUSIVE);
        if (anon) {
            spring_off_t len = f.len;
            f.a = SPRING_ANYWHERE;
            ck_assert_rc(spring_as_allocate_memory(f.as, &len, &f.a, SPRING_RIGHTS_RW), 0);
            for (spring_off_t i = 0; i < 8; i++)
                ck_assert_rc(put_page(f.as, f.a + i * PS, 0xe0), 0);
        } else {
            fx_map(&f, SPRING_RIGHTS_RW);
        }
        inject(f.vmm, k);
        rc = spring_as_unmap(f.as, f.a + 3 * PS, 2 * PS);
        inject(f.vmm, 0);
        ck_assert_msg(rc == 0 || rc == SPRING_ENOMEM, "k=%u: %s", k, spring_err_name(rc));
        CHECK_VMM(f.vmm);
        spring_mapping_t m[8];
        size_t n = mappings(f.as, f.a, f.len, m);
        uint8_t v;
        if (rc == 0) {
            ck_assert_uint_eq(n, 2);
            ck_assert_uint_eq(m[0].address, f.a);
            ck_assert_uint_eq(m[0].length, 3 * PS);
            ck_assert_uint_eq(m[1].address, f.a + 5 * PS);
            ck_assert_uint_eq(m[1].length, 3 * PS);
            ck_assert_uint_eq(m[1].mobj_offset, m[0].mobj_offset + 5 * PS);
            ck_assert_rc(spring_as_read(f.as, f.a + 3 * PS, &v, 1), SPRING_ENOTMAPPED);
            if (anon) { /* the unmapped range is zero when allocated again */
                spring_off_t len = 2 * PS;
                spring_addr_t a = f.a + 3 * PS;
                ck_assert_rc(spring_as_allocate_memory(f.as, &len, &a, SPRING_RIGHTS_RW), 0);
                ck_assert(page_is(f.as, a, 0));
                ck_assert(page_is(f.as, a + PS, 0));
            }
        } else {
            nfail++;
            ck_assert_uint_eq(n, 1);
            ck_assert_uint_eq(m[0].length, 8 * PS);
        }
        for (spring_off_t i = 0; i < 8; i++) {
            bool hole = i == 3 || i == 4;
            if (hole && rc == 0 && !anon)
                continue; /* unmapped */
            if (anon) /* the hole was allocated again after a successful unmap */
                ck_assert(page_is(f.as, f.a + i * PS, hole && rc == 0 ? 0 : 0xe0));
            else
                ck_assert(page_is_pat(f.as, f.a + i * PS, i * PS));
        }
        fx_fini(&f);
    }
    INJECT_END(nfail, rc);
}

START_TEST(test_inject_unmap_split)
{
    inject_unmap_split(false);
}
END_TEST

START_TEST(test_inject_unmap_split_anon)
{
    inject_unmap_split(true);
}
END_TEST

/* A fault (page_in path, or zero-fill path of anonymous memory): on
 * failure nothing is cached and no pager was called. */
static void inject_fault(bool anon)
{
    unsigned nfail = 0;
    int rc = 0;
    for (unsigned k = 1; k <= KMAX; k++) {
        fx_t f;
        fx_init(&f, 32, 8, 0, SPRING_OWN_EXCLUSIVE);
        if (anon) {
            spring_off_t len = f.len;
            f.a = SPRING_ANYWHERE;
            ck_assert_rc(spring_as_allocate_memory(f.as, &len, &f.a, SPRING_RIGHTS_RW), 0);
        } else {
            fx_map(&f, SPRING_RIGHTS_RW);
        }
        size_t inuse = test_vm_info(f.vmm).inuse_frames;
        inject(f.vmm, k);
        rc = spring_as_fault(f.as, f.a + 5 * PS, SPRING_RIGHTS_W);
        inject(f.vmm, 0);
        ck_assert_msg(rc == 0 || rc == SPRING_ENOMEM, "k=%u: %s", k, spring_err_name(rc));
        CHECK_VMM(f.vmm);
        if (rc != 0) {
            nfail++;
            ck_assert_uint_eq(test_vm_info(f.vmm).inuse_frames, inuse);
            ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), 0);
        }
        wr1(f.as, f.a + 5 * PS, 0x42);
        ck_assert_uint_eq(rd1(f.as, f.a + 5 * PS + 1), anon ? 0 : tp_pattern(5 * PS + 1));
        ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), anon ? 0 : 1);
        fx_fini(&f);
    }
    INJECT_END(nfail, rc);
}

START_TEST(test_inject_fault)
{
    inject_fault(false);
}
END_TEST

START_TEST(test_inject_fault_anon)
{
    inject_fault(true);
}
END_TEST

/* flush_back, deny_writes, write_back of four modified pages: ENOMEM means
 * nothing was taken (no data lost: every page still reads its modified
 * bytes, and a later call returns all four); success returns all four. */
static void inject_take(enum act_kind k)
{
    static const char *names[] = {[A_FLUSH] = "flush_back", [A_DENY] = "deny_writes", [A_WRITEBACK] = "write_back"};
    unsigned nfail = 0;
    int rc = 0;
    for (unsigned kk = 1; kk <= KMAX; kk++) {
        fx_t f;
        fx_init(&f, 32, 4, 0, SPRING_OWN_EXCLUSIVE);
        fx_map(&f, SPRING_RIGHTS_RW);
        spring_cache_obj_t c = tp_cache(f.tp);
        for (spring_off_t i = 0; i < 4; i++)
            ck_assert_rc(put_page(f.as, f.a + i * PS, (uint8_t)(0x10 + i)), 0);
        tp_clear(f.tp);
        spring_data_t *d = NULL;
        inject(f.vmm, kk);
        if (k == A_FLUSH)
            rc = spring_cache_flush_back(c, 0, SPRING_SIZE_ALL, NULL, &d);
        else if (k == A_DENY)
            rc = spring_cache_deny_writes(c, 0, SPRING_SIZE_ALL, NULL, &d);
        else
            rc = spring_cache_write_back(c, 0, SPRING_SIZE_ALL, NULL, &d);
        inject(f.vmm, 0);
        ck_assert_msg(rc == 0 || rc == SPRING_ENOMEM, "k=%u: %s", kk, spring_err_name(rc));
        CHECK_VMM(f.vmm);
        if (rc == 0) {
            ck_assert_uint_eq(d->nblocks, 4);
            for (spring_off_t i = 0; i < 4; i++)
                ck_assert(dblock_is(d, i, i * PS, 0x10 + (int)i));
            spring_data_free(d);
        } else {
            nfail++;
            ck_assert_ptr_null(d);
            /* Nothing was taken: the data is still cached, still modified. */
            for (spring_off_t i = 0; i < 4; i++)
                ck_assert_msg(page_is(f.as, f.a + i * PS, (uint8_t)(0x10 + i)),
                              "%s failed with ENOMEM (k=%u) but page %d lost its modified data", names[k], kk,
                              (int)i);
            ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), 0);
            d = NULL;
            ck_assert_rc(spring_cache_write_back(c, 0, SPRING_SIZE_ALL, NULL, &d), 0);
            ck_assert_msg(d->nblocks == 4,
                          "%s failed with ENOMEM (k=%u) but left only %zu of 4 pages modified: the others' "
                          "data would never reach the pager",
                          names[k], kk, d->nblocks);
            spring_data_free(d);
        }
        fx_fini(&f);
    }
    INJECT_END(nfail, rc);
}

START_TEST(test_inject_flush_back)
{
    inject_take(A_FLUSH);
}
END_TEST

START_TEST(test_inject_deny_writes)
{
    inject_take(A_DENY);
}
END_TEST

START_TEST(test_inject_write_back)
{
    inject_take(A_WRITEBACK);
}
END_TEST

/* zero_fill: all or nothing (the zero-fill table is full, so it must grow). */
START_TEST(test_inject_zero_fill)
{
    unsigned nfail = 0;
    int rc = 0;
    for (unsigned k = 1; k <= KMAX; k++) {
        fx_t f;
        fx_init(&f, 32, 12, 0, SPRING_OWN_EXCLUSIVE);
        fx_map(&f, SPRING_RIGHTS_RW);
        ck_assert_rc(put_page(f.as, f.a, 0x81), 0);
        spring_cache_obj_t c = tp_cache(f.tp);
        for (spring_off_t i = 3; i < 10; i += 2) /* four ranges: a full table */
            ck_assert_rc(spring_cache_zero_fill(c, i * PS, PS, NULL), 0);
        inject(f.vmm, k);
        rc = spring_cache_zero_fill(c, 0, 2 * PS, NULL);
        inject(f.vmm, 0);
        ck_assert_msg(rc == 0 || rc == SPRING_ENOMEM, "k=%u: %s", k, spring_err_name(rc));
        CHECK_VMM(f.vmm);
        if (rc == 0) {
            ck_assert(page_is(f.as, f.a, 0));
            ck_assert(page_is(f.as, f.a + PS, 0));
            ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), 1);
        } else {
            nfail++;
            ck_assert(page_is(f.as, f.a, 0x81));
            ck_assert(page_is_pat(f.as, f.a + PS, PS));
        }
        ck_assert(page_is(f.as, f.a + 3 * PS, 0));
        fx_fini(&f);
    }
    INJECT_END(nfail, rc);
}
END_TEST

/* populate of four pages: ENOMEM may leave a prefix populated, never
 * anything else; every page reads either its new data or the pager's. */
START_TEST(test_inject_populate)
{
    unsigned nfail = 0;
    int rc = 0;
    for (unsigned k = 1; k <= KMAX; k++) {
        fx_t f;
        fx_init(&f, 32, 4, 0, SPRING_OWN_EXCLUSIVE);
        fx_map(&f, SPRING_RIGHTS_RW);
        spring_cache_obj_t c = tp_cache(f.tp);
        static uint8_t buf[4][PS];
        spring_data_block_t blk[4];
        for (int i = 0; i < 4; i++) {
            memset(buf[i], 0x90 + i, PS);
            blk[i] = (spring_data_block_t){(spring_off_t)i * PS, PS, buf[i]};
        }
        spring_data_t d = {4, blk};
        inject(f.vmm, k);
        rc = spring_cache_populate(c, 0, 4 * PS, SPRING_RIGHTS_RW, NULL, &d);
        inject(f.vmm, 0);
        ck_assert_msg(rc == 0 || rc == SPRING_ENOMEM, "k=%u: %s", k, spring_err_name(rc));
        CHECK_VMM(f.vmm);
        if (rc)
            nfail++;
        bool prefix = true;
        for (spring_off_t i = 0; i < 4; i++) {
            size_t before = tp_count(f.tp, TP_PAGE_IN);
            bool mine = page_is(f.as, f.a + i * PS, (uint8_t)(0x90 + i));
            if (mine) {
                ck_assert_msg(prefix, "k=%u: populate entered page %d after skipping one", k, (int)i);
                ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), before);
            } else {
                ck_assert_msg(rc != 0, "k=%u: populate succeeded but page %d is not populated", k, (int)i);
                ck_assert(page_is_pat(f.as, f.a + i * PS, i * PS));
                prefix = false;
            }
        }
        fx_fini(&f);
    }
    INJECT_END(nfail, rc);
}
END_TEST

/* lock_memory: all locked, or nothing. */
START_TEST(test_inject_lock_memory)
{
    unsigned nfail = 0;
    int rc = 0;
    for (unsigned k = 1; k <= KMAX; k++) {
        fx_t f;
        fx_init(&f, 32, 8, 0, SPRING_OWN_EXCLUSIVE);
        fx_map(&f, SPRING_RIGHTS_RW);
        rd1(f.as, f.a + PS);
        inject(f.vmm, k);
        rc = spring_as_lock_memory(f.as, f.a, 4 * PS);
        inject(f.vmm, 0);
        ck_assert_msg(rc == 0 || rc == SPRING_ENOMEM, "k=%u: %s", k, spring_err_name(rc));
        CHECK_VMM(f.vmm);
        ck_assert(locked_prefix(f.as, f.a, f.len, rc == 0 ? 4 * PS : 0));
        ck_assert_uint_eq(test_vm_info(f.vmm).locked_frames, rc == 0 ? 4 : 0);
        ck_assert_uint_eq(test_as_stats(f.as).locked, rc == 0 ? 4 : 0);
        if (rc)
            nfail++;
        fx_fini(&f);
    }
    INJECT_END(nfail, rc);
}
END_TEST

/* change_access_rights of a middle range: three runs, or unchanged. */
START_TEST(test_inject_change_access_rights)
{
    unsigned nfail = 0;
    int rc = 0;
    for (unsigned k = 1; k <= KMAX; k++) {
        fx_t f;
        fx_init(&f, 32, 8, 0, SPRING_OWN_EXCLUSIVE);
        fx_map(&f, SPRING_RIGHTS_RW);
        inject(f.vmm, k);
        rc = spring_as_change_access_rights(f.as, f.a + 2 * PS, 2 * PS, SPRING_RIGHTS_RO);
        inject(f.vmm, 0);
        ck_assert_msg(rc == 0 || rc == SPRING_ENOMEM, "k=%u: %s", k, spring_err_name(rc));
        CHECK_VMM(f.vmm);
        spring_mapping_t m[8];
        size_t n = mappings(f.as, f.a, f.len, m);
        uint8_t v = 1;
        if (rc == 0) {
            ck_assert_uint_eq(n, 3);
            ck_assert_uint_eq(m[1].address, f.a + 2 * PS);
            ck_assert_uint_eq(m[1].length, 2 * PS);
            ck_assert_uint_eq(m[1].access, SPRING_RIGHTS_RO);
            ck_assert_rc(spring_as_write(f.as, f.a + 2 * PS, &v, 1), SPRING_EACCES);
        } else {
            nfail++;
            ck_assert_uint_eq(n, 1);
            ck_assert_uint_eq(m[0].access, SPRING_RIGHTS_RW);
            ck_assert_rc(spring_as_write(f.as, f.a + 2 * PS, &v, 1), 0);
        }
        fx_fini(&f);
    }
    INJECT_END(nfail, rc);
}
END_TEST

/* allocate_memory and allocate_memory_and_mobj: mapped and zero, or
 * nothing mapped (and no object handed out). */
static void inject_allocate(bool and_mobj)
{
    unsigned nfail = 0;
    int rc = 0;
    for (unsigned k = 1; k <= KMAX; k++) {
        fx_t f;
        fx_init(&f, 32, 4, 0, SPRING_OWN_EXCLUSIVE);
        spring_off_t len = 4 * PS;
        spring_addr_t a = SPRING_ANYWHERE;
        spring_mobj_t *m = NULL;
        inject(f.vmm, k);
        if (and_mobj)
            rc = spring_as_allocate_memory_and_mobj(f.as, &len, &a, SPRING_RIGHTS_RW, &m);
        else
            rc = spring_as_allocate_memory(f.as, &len, &a, SPRING_RIGHTS_RW);
        inject(f.vmm, 0);
        ck_assert_msg(rc == 0 || rc == SPRING_ENOMEM || rc == SPRING_EBIND, "k=%u: %s", k, spring_err_name(rc));
        CHECK_VMM(f.vmm);
        if (rc == 0) {
            ck_assert_uint_eq(test_as_stats(f.as).nregions, 1);
            ck_assert(page_is(f.as, a + 3 * PS, 0));
            wr1(f.as, a, 7);
            ck_assert(!and_mobj || m != NULL);
        } else {
            nfail++;
            ck_assert_ptr_null(m);
            ck_assert_uint_eq(test_as_stats(f.as).nregions, 0);
            len = 4 * PS;
            a = SPRING_ANYWHERE;
            ck_assert_rc(spring_as_allocate_memory(f.as, &len, &a, SPRING_RIGHTS_RW), 0);
            ck_assert(page_is(f.as, a, 0));
        }
        spring_mobj_unref(m);
        fx_fini(&f);
    }
    INJECT_END(nfail, rc);
}

START_TEST(test_inject_allocate_memory)
{
    inject_allocate(false);
}
END_TEST

START_TEST(test_inject_allocate_memory_and_mobj)
{
    inject_allocate(true);
}
END_TEST

/* A minimal pager for caches the test creates itself. */
struct mini {
    int done;     /* done_with_pager_object calls */
    int page_ins;
};

static int mini_page_in(void *self, spring_off_t off, spring_off_t size, spring_rights_t access,
                        spring_ownership_t *own, spring_page_buf_t *dst)
{
    ((struct mini *)self)->page_ins++;
    for (size_t i = 0; i < dst->npages; i++)
        dst->zero[i] = 1;
    return 0;
}

static int mini_page_out(void *self, spring_off_t off, spring_off_t size, spring_ownership_t *own,
                         const spring_data_t *d)
{
    return 0;
}

static void mini_done(void *self)
{
    ((struct mini *)self)->done++;
}

static const spring_pager_ops_t mini_ops = {
    .version = SPRING_PAGER_OPS_VERSION,
    .page_in = mini_page_in,
    .page_out = mini_page_out,
    .done_with_pager_object = mini_done,
};

/* create_cache_object: on failure the pager object is not consumed (never
 * called) and no cache exists; on success the handles work. */
START_TEST(test_inject_create_cache_object)
{
    unsigned nfail = 0;
    int rc = 0;
    for (unsigned k = 1; k <= KMAX; k++) {
        spring_vmm_t *vmm = test_vmm(VMM_NAME, 32, NULL);
        spring_vmm_obj_t o;
        ck_assert_rc(spring_vmm_get_object(vmm, SPRING_PRIV_USER, &o), 0);
        struct mini mp = {0, 0};
        spring_pager_info_t info = {0, SPRING_CACHE_DATA, 0, true};
        spring_cache_obj_t c = {0};
        spring_cache_rights_t r = {0};
        size_t ncaches = test_vm_info(vmm).ncaches;
        inject(vmm, k);
        rc = spring_vmm_create_cache_object(o, &mini_ops, &mp, false, &info, SPRING_OWN_EXCLUSIVE, SPRING_RIGHTS_RW,
                                            &c, &r);
        inject(vmm, 0);
        ck_assert_msg(rc == 0 || rc == SPRING_ENOMEM, "k=%u: %s", k, spring_err_name(rc));
        CHECK_VMM(vmm);
        if (rc == 0) {
            ck_assert_uint_eq(test_vm_info(vmm).ncaches, ncaches + 1);
            spring_rights_t rr;
            ck_assert_rc(spring_cache_rights_get(r, &rr), 0);
            ck_assert_uint_eq(rr, SPRING_RIGHTS_RW);
            ck_assert_rc(populate1(c, 0, SPRING_RIGHTS_RW, 1), 0);
            ck_assert_rc(spring_cache_destroy(c), 0);
            ck_assert_int_eq(mp.done, 1);
        } else {
            nfail++;
            ck_assert_int_eq(mp.done, 0);
            ck_assert_uint_eq(test_vm_info(vmm).ncaches, ncaches);
        }
        ck_assert_int_eq(mp.page_ins, 0);
        test_vmm_free(vmm, NULL);
        ck_assert_int_eq(mp.done, rc == 0 ? 1 : 0);
    }
    INJECT_END(nfail, rc);
}
END_TEST

/* A cache whose maximum rights lack write takes no read-write data. */
START_TEST(test_ro_cache_refuses_write_data)
{
    spring_vmm_t *vmm = test_vmm(VMM_NAME, 32, NULL);
    spring_vmm_obj_t o;
    ck_assert_rc(spring_vmm_get_object(vmm, SPRING_PRIV_USER, &o), 0);
    struct mini mp = {0, 0};
    spring_pager_info_t info = {0, SPRING_CACHE_DATA, 0, true};
    spring_cache_obj_t c;
    spring_cache_rights_t r, sib;
    ck_assert_rc(spring_vmm_create_cache_object(o, &mini_ops, &mp, false, &info, SPRING_OWN_EXCLUSIVE,
                                                SPRING_RIGHTS_RO, &c, &r),
                 0);
    ck_assert_rc(populate1(c, 0, SPRING_RIGHTS_RW, 1), SPRING_ERIGHTS);
    ck_assert_rc(spring_cache_zero_fill(c, 0, PS, NULL), SPRING_ERIGHTS);
    ck_assert_rc(spring_cache_rights_create_restricted_sibling(r, SPRING_RIGHTS_RW, &sib), SPRING_ERIGHTS);
    ck_assert_rc(populate1(c, 0, SPRING_RIGHTS_RO, 1), 0);
    CHECK_VMM(vmm);
    test_vmm_free(vmm, NULL);
    ck_assert_int_eq(mp.done, 1);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Pager errors at every call site.                                     */

/* page_in fails: the fault fails with EPAGER (EPROTO for a value outside
 * the protocol), nothing is cached, and the next try works.  A failed
 * upgrade leaves the block cached read-only. */
START_TEST(test_pager_error_page_in)
{
    fx_t f;
    fx_init(&f, 32, 4, 0, SPRING_OWN_SHARED);
    fx_map(&f, SPRING_RIGHTS_RW);
    size_t inuse = test_vm_info(f.vmm).inuse_frames;
    uint8_t v;
    tp_fail(f.tp, TP_PAGE_IN, PAGER_ERR, false);
    ck_assert_rc(spring_as_read(f.as, f.a, &v, 1), SPRING_EPAGER);
    ck_assert_uint_eq(test_vm_info(f.vmm).inuse_frames, inuse);
    tp_fail(f.tp, TP_PAGE_IN, 7, false);
    ck_assert_rc(spring_as_read(f.as, f.a, &v, 1), SPRING_EPROTO);
    ck_assert_uint_eq(test_vm_info(f.vmm).inuse_frames, inuse);
    CHECK_VMM(f.vmm);
    ck_assert(page_is_pat(f.as, f.a, 0));
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), 3);
    tp_fail(f.tp, TP_PAGE_IN, PAGER_ERR, false);
    v = 9;
    ck_assert_rc(spring_as_write(f.as, f.a, &v, 1), SPRING_EPAGER);
    ck_assert(last_of(f.tp, TP_PAGE_IN).upgrade);
    ck_assert(page_is_pat(f.as, f.a, 0));
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), 4);
    wr1(f.as, f.a, 9);
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), 5);
    ck_assert(last_of(f.tp, TP_PAGE_IN).upgrade);
    CHECK_VMM(f.vmm);
    fx_fini(&f);
}
END_TEST

/* page_out fails once during eviction: the block stays dirty, another is
 * evicted, and the data reaches the pager later: 2N pages, 2N+1 pages sent
 * (the first twice). */
START_TEST(test_pager_error_page_out_once)
{
    fx_t f;
    fx_init(&f, PN, 2 * PN, 0, SPRING_OWN_EXCLUSIVE);
    fx_map(&f, SPRING_RIGHTS_RW);
    tp_fail(f.tp, TP_PAGE_OUT, PAGER_ERR, false);
    for (spring_off_t i = 0; i < 2 * PN; i++)
        ck_assert_rc(put_page(f.as, f.a + i * PS, (uint8_t)(0x40 + i)), 0);
    ck_assert_rc(spring_as_flush(f.as, f.a, f.len, false), 0);
    ck_assert_uint_eq(pages_of(f.tp, TP_PAGE_OUT), 2 * PN + 1);
    ck_assert_uint_eq(calls_at(f.tp, TP_PAGE_OUT, 0), 2);
    for (spring_off_t i = 0; i < 2 * PN; i++)
        ck_assert_msg(store_is(f.tp, i * PS, PS, (uint8_t)(0x40 + i)), "page %d lost", (int)i);
    CHECK_VMM(f.vmm);
    fx_fini(&f);
}
END_TEST

/* page_out always fails: once every frame holds refused dirty data, a
 * fault fails with ENOFRAMES; nothing is lost, and when the pager works
 * again a flush delivers everything and paging resumes. */
START_TEST(test_pager_error_page_out_always)
{
    fx_t f;
    fx_init(&f, PN, 2 * PN, 0, SPRING_OWN_EXCLUSIVE);
    fx_map(&f, SPRING_RIGHTS_RW);
    tp_fail(f.tp, TP_PAGE_OUT, PAGER_ERR, true);
    for (spring_off_t i = 0; i < PN; i++)
        ck_assert_rc(put_page(f.as, f.a + i * PS, (uint8_t)(0x40 + i)), 0);
    ck_assert_rc(put_page(f.as, f.a + PN * PS, 0x40 + PN), SPRING_ENOFRAMES);
    ck_assert_rc(spring_as_flush(f.as, f.a, f.len, false), SPRING_EPAGER);
    CHECK_VMM(f.vmm);
    for (spring_off_t i = 0; i < PN; i++)
        ck_assert(page_is(f.as, f.a + i * PS, (uint8_t)(0x40 + i)));
    tp_fail(f.tp, TP_PAGE_OUT, 0, false);
    ck_assert_rc(spring_as_flush(f.as, f.a, f.len, false), 0);
    for (spring_off_t i = 0; i < PN; i++)
        ck_assert(store_is(f.tp, i * PS, PS, (uint8_t)(0x40 + i)));
    ck_assert_rc(put_page(f.as, f.a + PN * PS, 0x40 + PN), 0);
    CHECK_VMM(f.vmm);
    fx_fini(&f);
}
END_TEST

/* sync (flush with please_keep) fails: EPAGER, the data stays cached and
 * modified; the next flush delivers it.  The same for page_out of a flush. */
START_TEST(test_pager_error_sync_and_flush)
{
    fx_t f;
    fx_init(&f, 32, 4, 0, SPRING_OWN_EXCLUSIVE);
    fx_map(&f, SPRING_RIGHTS_RW);
    ck_assert_rc(put_page(f.as, f.a, 0x71), 0);
    tp_fail(f.tp, TP_SYNC, PAGER_ERR, false);
    ck_assert_rc(spring_as_flush(f.as, f.a, PS, true), SPRING_EPAGER);
    ck_assert_uint_eq(tp_count(f.tp, TP_SYNC), 1);
    ck_assert(page_is(f.as, f.a, 0x71));
    ck_assert_rc(spring_as_flush(f.as, f.a, PS, true), 0);
    ck_assert_uint_eq(tp_count(f.tp, TP_SYNC), 2);
    ck_assert_uint_eq(last_of(f.tp, TP_SYNC).data_blocks, 1);
    ck_assert(store_is(f.tp, 0, PS, 0x71));
    ck_assert_rc(spring_as_flush(f.as, f.a, PS, true), 0); /* clean now */
    ck_assert_uint_eq(tp_count(f.tp, TP_SYNC), 2);
    wr1(f.as, f.a, 0x72); /* kept read-write: no page_in */
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), 1);
    ck_assert_rc(put_page(f.as, f.a + PS, 0x73), 0);
    tp_fail(f.tp, TP_PAGE_OUT, PAGER_ERR, false);
    ck_assert_rc(spring_as_flush(f.as, f.a + PS, PS, false), SPRING_EPAGER);
    ck_assert(page_is(f.as, f.a + PS, 0x73));
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), 2);
    ck_assert_rc(spring_as_flush(f.as, f.a + PS, PS, false), 0);
    ck_assert(store_is(f.tp, PS, PS, 0x73));
    ck_assert(page_is(f.as, f.a + PS, 0x73));
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), 3);
    CHECK_VMM(f.vmm);
    fx_fini(&f);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Blocks larger than a page (block_size = 4 pages).                    */

#define BS (4 * PS)

/* One page_in per block, block aligned; the block's other pages are then
 * served without a pager call; flush_back returns the whole block. */
START_TEST(test_block_one_page_in_per_block)
{
    fx_t f;
    fx_init(&f, 32, 16, BS, SPRING_OWN_EXCLUSIVE);
    fx_map(&f, SPRING_RIGHTS_RW);
    ck_assert_uint_eq(rd1(f.as, f.a + 5 * PS), tp_pattern(5 * PS));
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), 1);
    tp_call_t c = last_of(f.tp, TP_PAGE_IN);
    ck_assert_uint_eq(c.off, 4 * PS);
    ck_assert_uint_eq(c.size, BS);
    for (spring_off_t i = 4; i < 8; i++)
        ck_assert(page_is_pat(f.as, f.a + i * PS, i * PS));
    ck_assert_rc(put_page(f.as, f.a + 6 * PS, 0x66), 0);
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), 1);
    rd1(f.as, f.a + 11 * PS);
    c = last_of(f.tp, TP_PAGE_IN);
    ck_assert_uint_eq(c.off, 8 * PS);
    ck_assert_uint_eq(c.size, BS);
    spring_data_t *d = NULL;
    ck_assert_rc(spring_cache_flush_back(tp_cache(f.tp), 0, SPRING_SIZE_ALL, NULL, &d), 0);
    ck_assert_uint_eq(spring_data_length(d), BS);
    ck_assert_uint_eq(d->nblocks, 4);
    ck_assert(dblock_is(d, 0, 4 * PS, DPAT));
    ck_assert(dblock_is(d, 1, 5 * PS, DPAT));
    ck_assert(dblock_is(d, 2, 6 * PS, 0x66));
    ck_assert(dblock_is(d, 3, 7 * PS, DPAT));
    spring_data_free(d);
    rd1(f.as, f.a + 7 * PS);
    ck_assert_uint_eq(calls_at(f.tp, TP_PAGE_IN, 4 * PS), 2);
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), 3);
    fx_fini(&f);
}
END_TEST

/* Under pressure and in a flush, dirty blocks go out whole: page_out calls
 * are block aligned, cover whole blocks and carry every page of each, one
 * entry per page; each block goes exactly once. */
START_TEST(test_block_page_out_whole_blocks)
{
    fx_t f;
    fx_init(&f, 16, 32, BS, SPRING_OWN_EXCLUSIVE);
    fx_map(&f, SPRING_RIGHTS_RW);
    for (spring_off_t b = 0; b < 8; b++)
        wr1(f.as, f.a + b * BS + PS + 1, (uint8_t)(0xc0 + b));
    ck_assert_rc(spring_as_flush(f.as, f.a, f.len, false), 0);
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), 8);
    ck_assert_uint_eq(pages_of(f.tp, TP_PAGE_OUT), 8 * BS / PS);
    for (size_t i = 0; i < tp_ncalls(f.tp); i++) {
        tp_call_t c = tp_call(f.tp, i);
        if (c.kind != TP_PAGE_OUT && c.kind != TP_PAGE_IN)
            continue;
        ck_assert_uint_eq(c.off % BS, 0);
        if (c.kind == TP_PAGE_IN)
            ck_assert_uint_eq(c.size, BS);
        else
            ck_assert_uint_eq(c.size % BS, 0);
    }
    for (spring_off_t b = 0; b < 8; b++) {
        ck_assert_uint_eq(calls_at(f.tp, TP_PAGE_OUT, b * BS), 1);
        tp_lock(f.tp);
        const uint8_t *s = tp_store(f.tp);
        ck_assert_uint_eq(s[b * BS + PS + 1], 0xc0 + b);
        ck_assert(mem_is_pat(s + b * BS, PS, b * BS));
        ck_assert_uint_eq(s[b * BS + PS], tp_pattern(b * BS + PS));
        tp_unlock(f.tp);
    }
    fx_fini(&f);
}
END_TEST

/* A mapping need not start on a block boundary: faults align. */
START_TEST(test_block_unaligned_mapping)
{
    fx_t f;
    fx_init(&f, 32, 16, BS, SPRING_OWN_EXCLUSIVE);
    spring_off_t len = 8 * PS;
    spring_addr_t a = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_map(f.as, f.m, 2 * PS, &len, &a, SPRING_RIGHTS_RW), 0);
    ck_assert(page_is_pat(f.as, a, 2 * PS));
    tp_call_t c = last_of(f.tp, TP_PAGE_IN);
    ck_assert_uint_eq(c.off, 0);
    ck_assert_uint_eq(c.size, BS);
    ck_assert(page_is_pat(f.as, a + PS, 3 * PS));
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), 1);
    ck_assert(page_is_pat(f.as, a + 2 * PS, 4 * PS));
    c = last_of(f.tp, TP_PAGE_IN);
    ck_assert_uint_eq(c.off, 4 * PS);
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), 2);
    fx_fini(&f);
}
END_TEST

/* Unmapping part of a region keeps every remaining page at its object
 * offset: after trimming the front, splitting out the middle and trimming
 * the back, each page reads (and writes) the data of its own offset, and
 * get_mappings reports the offsets. */
START_TEST(test_unmap_keeps_object_offsets)
{
    fx_t f;
    fx_init(&f, 32, 12, 0, SPRING_OWN_EXCLUSIVE);
    fx_map(&f, SPRING_RIGHTS_RW);
    ck_assert_rc(put_page(f.as, f.a + 5 * PS, 0x5e), 0);
    ck_assert_rc(spring_as_unmap(f.as, f.a, 2 * PS), 0); /* the front */
    for (spring_off_t i = 2; i < 12; i++)
        ck_assert_msg(i == 5 ? page_is(f.as, f.a + i * PS, 0x5e) : page_is_pat(f.as, f.a + i * PS, i * PS),
                      "after trimming the front, page %d does not show its object offset", (int)i);
    spring_mapping_t m[8];
    ck_assert_uint_eq(mappings(f.as, f.a, f.len, m), 1);
    ck_assert_uint_eq(m[0].address, f.a + 2 * PS);
    ck_assert_uint_eq(m[0].mobj_offset, 2 * PS);
    ck_assert_rc(spring_as_unmap(f.as, f.a + 6 * PS, 2 * PS), 0); /* the middle: a split */
    ck_assert_rc(spring_as_unmap(f.as, f.a + 11 * PS, PS), 0);    /* the back */
    ck_assert_uint_eq(mappings(f.as, f.a, f.len, m), 2);
    ck_assert_uint_eq(m[1].address, f.a + 8 * PS);
    ck_assert_uint_eq(m[1].mobj_offset, 8 * PS);
    for (spring_off_t i = 2; i < 11; i++)
        if (i < 6 || i >= 8)
            ck_assert_msg(i == 5 ? page_is(f.as, f.a + i * PS, 0x5e) : page_is_pat(f.as, f.a + i * PS, i * PS),
                          "after the split, page %d does not show its object offset", (int)i);
    ck_assert_rc(put_page(f.as, f.a + 9 * PS, 0x99), 0);
    ck_assert_rc(spring_as_flush(f.as, f.a + 2 * PS, 9 * PS, false), 0);
    ck_assert(store_is(f.tp, 5 * PS, PS, 0x5e));
    ck_assert(store_is(f.tp, 9 * PS, PS, 0x99));
    tp_lock(f.tp);
    bool rest = tp_is_pattern(tp_store(f.tp) + 8 * PS, PS, 8 * PS) && tp_is_pattern(tp_store(f.tp), 5 * PS, 0);
    tp_unlock(f.tp);
    ck_assert(rest);
    fx_fini(&f);
}
END_TEST

/* Pager calls take block-aligned ranges; locking a page reserves a block. */
START_TEST(test_block_alignment_and_locks)
{
    fx_t f;
    fx_init(&f, 32, 16, BS, SPRING_OWN_EXCLUSIVE);
    fx_map(&f, SPRING_RIGHTS_RW);
    spring_cache_obj_t c = tp_cache(f.tp);
    ck_assert_rc(spring_cache_flush_back(c, PS, BS, NULL, NULL), SPRING_EALIGN);
    ck_assert_rc(spring_cache_flush_back(c, 0, PS, NULL, NULL), SPRING_EALIGN);
    ck_assert_rc(spring_cache_delete_range(c, 0, 2 * PS, NULL), SPRING_EALIGN);
    ck_assert_rc(spring_cache_zero_fill(c, 2 * PS, BS, NULL), SPRING_EALIGN);
    ck_assert_rc(populate1(c, 0, SPRING_RIGHTS_RO, 1), SPRING_EALIGN);
    ck_assert_rc(spring_as_lock_memory(f.as, f.a + 5 * PS, PS), 0);
    ck_assert_uint_eq(test_vm_info(f.vmm).locked_frames, 4);
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), 1);
    ck_assert_uint_eq(last_of(f.tp, TP_PAGE_IN).off, 4 * PS);
    ck_assert_rc(spring_as_unlock_memory(f.as, f.a + 5 * PS, PS), 0);
    ck_assert_uint_eq(test_vm_info(f.vmm).locked_frames, 0);
    fx_fini(&f);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Anonymous memory and swap pagers.                                    */

/* A swap pager made of test pagers: each object is a fresh test pager
 * (zero store) of the length asked for. */
struct tswap {
    spring_registry_t *reg;
    const char *vmm_name;
    tpager_t *tps[8];
    size_t n;
    int created;  /* create_mobj calls */
    int released; /* release calls */
    int fail_rc;  /* answer create_mobj with this */
};

static int ts_create(void *self, spring_off_t length, spring_mobj_t **out)
{
    struct tswap *s = self;
    s->created++;
    if (s->fail_rc)
        return s->fail_rc;
    if (s->n == 8)
        return SPRING_ENOSPC;
    tpager_t *tp = tp_new(s->reg, s->vmm_name, NULL, length, 0, SPRING_OWN_EXCLUSIVE, false);
    s->tps[s->n++] = tp;
    *out = tp_mobj(tp, SPRING_RIGHTS_RWX);
    return 0;
}

static void ts_release(void *self)
{
    ((struct tswap *)self)->released++;
}

static const spring_swap_pager_ops_t tswap_ops = {
    .version = SPRING_SWAP_PAGER_OPS_VERSION,
    .create_mobj = ts_create,
    .release = ts_release,
};

static void tswap_free(struct tswap *s)
{
    for (size_t i = 0; i < s->n; i++)
        tp_free(s->tps[i]);
    s->n = 0;
}

/* allocate_memory reads zero and keeps its data across eviction through the
 * in-tree anonymous pager (a pool of N frames, 3N pages). */
START_TEST(test_anon_zero_and_persistent)
{
    spring_registry_t *reg;
    spring_vmm_t *vmm = test_vmm(VMM_NAME, PN, &reg);
    spring_as_t *as = as_new(vmm, false, 0);
    spring_off_t len = PNP * PS;
    spring_addr_t a = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_allocate_memory(as, &len, &a, SPRING_RIGHTS_RW), 0);
    for (spring_off_t i = 0; i < PNP; i++)
        ck_assert(page_is(as, a + i * PS, 0));
    spring_vm_info_t info = test_vm_info(vmm);
    ck_assert_uint_eq(info.page_ins, 0);
    ck_assert_uint_ge(info.zero_fills, PNP);
    for (spring_off_t i = 0; i < PNP; i++)
        ck_assert_rc(put_page(as, a + i * PS, (uint8_t)(i + 1)), 0);
    for (spring_off_t i = 0; i < PNP; i++)
        ck_assert_msg(page_is(as, a + i * PS, (uint8_t)(i + 1)), "anonymous page %d lost", (int)i);
    info = test_vm_info(vmm);
    ck_assert_uint_gt(info.page_outs, 0);
    ck_assert_uint_gt(info.page_ins, 0);
    CHECK_VMM(vmm);
    spring_as_destroy(as);
    test_vmm_free(vmm, reg);
}
END_TEST

/* allocate_memory_and_mobj's object can be mapped a second time (in the
 * same and in another address space of the VMM) and shows the same data. */
START_TEST(test_anon_mobj_mapped_twice)
{
    spring_registry_t *reg;
    spring_vmm_t *vmm = test_vmm(VMM_NAME, 32, &reg);
    spring_as_t *as = as_new(vmm, false, 0), *as2 = as_new(vmm, false, 0);
    spring_off_t len = 4 * PS;
    spring_addr_t a = SPRING_ANYWHERE, b = SPRING_ANYWHERE, c = SPRING_ANYWHERE;
    spring_mobj_t *m = NULL;
    ck_assert_rc(spring_as_allocate_memory_and_mobj(as, &len, &a, SPRING_RIGHTS_RW, &m), 0);
    ck_assert_ptr_nonnull(m);
    ck_assert_rc(put_page(as, a + PS, 0x21), 0);
    ck_assert_rc(spring_as_map(as, m, 0, &len, &b, SPRING_RIGHTS_RW), 0);
    ck_assert_uint_ne(a, b);
    ck_assert(page_is(as, b + PS, 0x21));
    ck_assert(page_is(as, b, 0));
    ck_assert_rc(put_page(as, b + 2 * PS, 0x22), 0);
    ck_assert(page_is(as, a + 2 * PS, 0x22));
    ck_assert_rc(spring_as_map(as2, m, 0, &len, &c, SPRING_RIGHTS_RO), 0);
    ck_assert(page_is(as2, c + PS, 0x21));
    ck_assert(page_is(as2, c + 2 * PS, 0x22));
    void *p1, *p2;
    spring_pin_t pin1, pin2;
    ck_assert_rc(spring_as_translate(as, a + PS, SPRING_RIGHTS_R, &p1, &pin1), 0);
    ck_assert_rc(spring_as_translate(as2, c + PS, SPRING_RIGHTS_R, &p2, &pin2), 0);
    ck_assert_ptr_eq(p1, p2);
    spring_pin_release(&pin1);
    spring_pin_release(&pin2);
    /* The first mapping going away does not take the data. */
    ck_assert_rc(spring_as_unmap(as, a, len), 0);
    ck_assert(page_is(as, b + PS, 0x21));
    CHECK_VMM(vmm);
    spring_as_destroy(as);
    ck_assert(page_is(as2, c + 2 * PS, 0x22));
    spring_as_destroy(as2);
    spring_mobj_unref(m);
    test_vmm_free(vmm, reg);
}
END_TEST

/* set_swap_pager: later allocations come from the address space's own swap
 * pager (one object for allocate_memory, zero-filled with zero_fill_range,
 * then paged to it); memory allocated before stays with its object. */
START_TEST(test_anon_set_swap_pager)
{
    spring_registry_t *reg;
    spring_vmm_t *vmm = test_vmm(VMM_NAME, 32, &reg);
    spring_as_t *as = as_new(vmm, false, 65 * PS);
    spring_off_t len = 2 * PS;
    spring_addr_t a = SPRING_ANYWHERE, b = SPRING_ANYWHERE, c = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_allocate_memory(as, &len, &a, SPRING_RIGHTS_RW), 0);
    ck_assert_rc(put_page(as, a, 0x31), 0);
    struct tswap ts = {reg, VMM_NAME, {NULL}, 0, 0, 0, 0};
    ck_assert_rc(spring_as_set_swap_pager(as, &tswap_ops, &ts), 0);
    ck_assert_int_eq(ts.created, 0);
    ck_assert_rc(spring_as_allocate_memory(as, &len, &b, SPRING_RIGHTS_RW), 0);
    ck_assert_int_eq(ts.created, 1);
    tpager_t *tp = ts.tps[0];
    ck_assert_uint_eq(calls_at(tp, TP_ZERO_FILL_RANGE, b), 1);
    ck_assert_uint_eq(last_of(tp, TP_ZERO_FILL_RANGE).size, 2 * PS);
    ck_assert(page_is(as, b, 0));
    ck_assert(page_is(as, b + PS, 0));
    ck_assert_uint_eq(tp_count(tp, TP_PAGE_IN), 0);
    ck_assert_rc(put_page(as, b, 0x32), 0);
    ck_assert_rc(put_page(as, b + PS, 0x33), 0);
    ck_assert_rc(spring_as_flush(as, b, 2 * PS, false), 0);
    ck_assert_uint_eq(calls_at(tp, TP_PAGE_OUT, b), 1);
    ck_assert_uint_eq(calls_at(tp, TP_PAGE_OUT, b + PS), 1);
    ck_assert(store_is(tp, b, PS, 0x32));
    ck_assert(store_is(tp, b + PS, PS, 0x33));
    ck_assert(page_is(as, b + PS, 0x33));
    ck_assert_uint_eq(calls_at(tp, TP_PAGE_IN, b + PS), 1);
    /* The earlier allocation keeps the in-tree object. */
    size_t nout = tp_count(tp, TP_PAGE_OUT);
    ck_assert_rc(spring_as_flush(as, a, 2 * PS, false), 0);
    ck_assert(page_is(as, a, 0x31));
    ck_assert_uint_eq(tp_count(tp, TP_PAGE_OUT), nout);
    /* Unmapping anonymous memory discards it in the cache and tells the
     * pager the range is zero (so that it can free what it stored there,
     * pager.h); allocating the range again tells it once more. */
    ck_assert_rc(spring_as_unmap(as, b, 2 * PS), 0);
    ck_assert_uint_eq(calls_at(tp, TP_ZERO_FILL_RANGE, b), 2);
    ck_assert_uint_eq(last_of(tp, TP_ZERO_FILL_RANGE).size, 2 * PS);
    ck_assert_uint_eq(tp_count(tp, TP_PAGE_OUT), nout); /* nothing written on the way out */
    len = 2 * PS;
    spring_addr_t b2 = b;
    ck_assert_rc(spring_as_allocate_memory(as, &len, &b2, SPRING_RIGHTS_RW), 0);
    ck_assert_uint_eq(calls_at(tp, TP_ZERO_FILL_RANGE, b), 3);
    ck_assert(store_is(tp, b, 2 * PS, 0));
    ck_assert(page_is(as, b, 0) && page_is(as, b + PS, 0));
    ck_assert_rc(spring_as_unmap(as, b, 2 * PS), 0);
    /* allocate_memory_and_mobj asks the swap pager for a new object. */
    spring_mobj_t *m = NULL;
    len = PS;
    ck_assert_rc(spring_as_allocate_memory_and_mobj(as, &len, &c, SPRING_RIGHTS_RW, &m), 0);
    ck_assert_int_eq(ts.created, 2);
    ck_assert(page_is(as, c, 0));
    CHECK_VMM(vmm);
    spring_as_destroy(as);
    ck_assert_int_eq(ts.released, 1);
    spring_mobj_unref(m);
    tswap_free(&ts);
    test_vmm_free(vmm, reg);
}
END_TEST

/* add_swap_pager: only system pagers may add; a temporary one does not take
 * over from the in-tree (temporary) pager; the first permanent one does,
 * for new objects (an existing default object stays); one that answers
 * ENOSPC passes the request to the next permanent one.  Swap pagers are
 * released with the VMM. */
START_TEST(test_anon_add_swap_pager)
{
    spring_registry_t *reg;
    spring_vmm_t *vmm = test_vmm(VMM_NAME, 32, &reg);
    spring_vmm_obj_t user, sys;
    ck_assert_rc(spring_vmm_get_object(vmm, SPRING_PRIV_USER, &user), 0);
    ck_assert_rc(spring_vmm_get_object(vmm, SPRING_PRIV_SYSTEM, &sys), 0);
    struct tswap t1 = {reg, VMM_NAME, {NULL}, 0, 0, 0, 0};
    struct tswap t2 = t1, t3 = t1;
    ck_assert_rc(spring_vmm_add_swap_pager(user, &tswap_ops, &t1, false), SPRING_EPERM);
    ck_assert_rc(spring_vmm_add_swap_pager(sys, &tswap_ops, &t1, true), 0);
    spring_as_t *as1 = as_new(vmm, false, 65 * PS);
    spring_off_t len = PS;
    spring_addr_t a = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_allocate_memory(as1, &len, &a, SPRING_RIGHTS_RW), 0);
    ck_assert_int_eq(t1.created, 0);
    ck_assert_rc(spring_vmm_add_swap_pager(sys, &tswap_ops, &t2, false), 0);
    spring_as_t *as2 = as_new(vmm, false, 65 * PS);
    a = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_allocate_memory(as2, &len, &a, SPRING_RIGHTS_RW), 0);
    ck_assert_int_eq(t2.created, 1);
    ck_assert_rc(put_page(as2, a, 0x44), 0);
    ck_assert_rc(spring_as_flush(as2, a, PS, false), 0);
    ck_assert(store_is(t2.tps[0], a, PS, 0x44));
    a = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_allocate_memory(as1, &len, &a, SPRING_RIGHTS_RW), 0);
    ck_assert_int_eq(t2.created, 1);
    spring_mobj_t *m1 = NULL, *m2 = NULL;
    a = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_allocate_memory_and_mobj(as1, &len, &a, SPRING_RIGHTS_RW, &m1), 0);
    ck_assert_int_eq(t2.created, 2);
    ck_assert_rc(spring_vmm_add_swap_pager(sys, &tswap_ops, &t3, false), 0);
    t2.fail_rc = SPRING_ENOSPC;
    a = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_allocate_memory_and_mobj(as1, &len, &a, SPRING_RIGHTS_RW, &m2), 0);
    ck_assert_int_eq(t2.created, 3);
    ck_assert_int_eq(t3.created, 1);
    ck_assert(page_is(as1, a, 0));
    ck_assert_int_eq(t1.created, 0);
    CHECK_VMM(vmm);
    spring_as_destroy(as1);
    spring_as_destroy(as2);
    spring_mobj_unref(m1);
    spring_mobj_unref(m2);
    tswap_free(&t2);
    tswap_free(&t3);
    ck_assert_int_eq(t1.released + t2.released + t3.released, 0);
    test_vmm_free(vmm, reg);
    ck_assert_int_eq(t1.released, 1);
    ck_assert_int_eq(t2.released, 1);
    ck_assert_int_eq(t3.released, 1);
}
END_TEST

/* Without any swap pager anonymous memory cannot be had: ENOSWAP. */
START_TEST(test_anon_no_swap)
{
    spring_vmm_config_t cfg;
    spring_vmm_config_init(&cfg);
    cfg.name = VMM_NAME;
    cfg.nframes = 16;
    cfg.mode = SPRING_VMM_DETERMINISTIC;
    cfg.no_default_swap_pager = true;
    spring_vmm_t *vmm;
    ck_assert_rc(spring_vmm_new(&cfg, &vmm), 0);
    spring_as_t *as = as_new(vmm, false, 0);
    spring_off_t len = PS;
    spring_addr_t a = SPRING_ANYWHERE;
    spring_mobj_t *m = NULL;
    ck_assert_rc(spring_as_allocate_memory(as, &len, &a, SPRING_RIGHTS_RW), SPRING_ENOSWAP);
    ck_assert_rc(spring_as_allocate_memory_and_mobj(as, &len, &a, SPRING_RIGHTS_RW, &m), SPRING_ENOSWAP);
    ck_assert_ptr_null(m);
    ck_assert_uint_eq(test_as_stats(as).nregions, 0);
    CHECK_VMM(vmm);
    spring_as_destroy(as);
    ck_assert_rc(spring_vmm_destroy(vmm), 0);
}
END_TEST

/* zero_fill_range fails: the call only lets the pager drop stale data, so
 * allocate_memory still succeeds and the memory reads zero. */
START_TEST(test_anon_zero_fill_range_fails)
{
    spring_registry_t *reg;
    spring_vmm_t *vmm = test_vmm(VMM_NAME, 32, &reg);
    spring_as_t *as = as_new(vmm, false, 65 * PS);
    struct tswap ts = {reg, VMM_NAME, {NULL}, 0, 0, 0, 0};
    ck_assert_rc(spring_as_set_swap_pager(as, &tswap_ops, &ts), 0);
    spring_off_t len = PS;
    spring_addr_t a = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_allocate_memory(as, &len, &a, SPRING_RIGHTS_RW), 0);
    tp_fail(ts.tps[0], TP_ZERO_FILL_RANGE, PAGER_ERR, false);
    spring_addr_t b = a + 4 * PS;
    ck_assert_rc(spring_as_allocate_memory(as, &len, &b, SPRING_RIGHTS_RW), 0);
    ck_assert_uint_eq(tp_count(ts.tps[0], TP_ZERO_FILL_RANGE), 2);
    ck_assert(page_is(as, b, 0));
    ck_assert_uint_eq(test_as_stats(as).nregions, 2);
    CHECK_VMM(vmm);
    spring_as_destroy(as);
    tswap_free(&ts);
    test_vmm_free(vmm, reg);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Pagers without sync: write_out, or neither.                          */

/* A small pager over an 8-page store whose ops the test picks (with or
 * without write_out; never sync), with its own memory object. */
struct wpager {
    spring_vmm_t *vmm;
    const spring_pager_ops_t *ops;
    uint8_t store[8 * PS];
    bool has_cache;
    spring_cache_obj_t cache;
    spring_cache_rights_t rights;
    int page_ins, upgrades, page_outs, write_outs, done;
    uint8_t marker; /* the hostile variant: the byte it looks for ... */
    size_t seen;    /* ... and the lent pages it found holding it */
};

static int w_page_in(void *self, spring_off_t off, spring_off_t size, spring_rights_t access,
                     spring_ownership_t *own, spring_page_buf_t *dst)
{
    struct wpager *w = self;
    w->page_ins++;
    if (dst->upgrade) {
        w->upgrades++;
        return 0;
    }
    for (size_t i = 0; i < dst->npages; i++)
        memcpy(dst->pages[i], w->store + off + i * PS, PS);
    return 0;
}

static void w_keep(struct wpager *w, const spring_data_t *d)
{
    for (size_t i = 0; d && i < d->nblocks; i++) {
        const spring_data_block_t *b = &d->blocks[i];
        if (b->bytes)
            memcpy(w->store + b->offset, b->bytes, b->length);
        else
            memset(w->store + b->offset, 0, b->length);
    }
}

static int w_page_out(void *self, spring_off_t off, spring_off_t size, spring_ownership_t *own,
                      const spring_data_t *d)
{
    ((struct wpager *)self)->page_outs++;
    w_keep(self, d);
    return 0;
}

static int w_write_out(void *self, spring_off_t off, spring_off_t size, spring_ownership_t *own,
                       const spring_data_t *d)
{
    ((struct wpager *)self)->write_outs++;
    w_keep(self, d);
    return 0;
}

static void w_done(void *self)
{
    struct wpager *w = self;
    w->done++;
    w->has_cache = false;
}

static const spring_pager_ops_t wpager_write_out_ops = {
    .version = SPRING_PAGER_OPS_VERSION,
    .page_in = w_page_in,
    .page_out = w_page_out,
    .write_out = w_write_out,
    .done_with_pager_object = w_done,
};

static const spring_pager_ops_t wpager_plain_ops = {
    .version = SPRING_PAGER_OPS_VERSION,
    .page_in = w_page_in,
    .page_out = w_page_out,
    .done_with_pager_object = w_done,
};

static int wm_bind(void *self, const char *vmm_name, spring_rights_t access, spring_off_t off, spring_off_t *length,
                   spring_cache_rights_t *rights, spring_off_t *cache_off, long *flags)
{
    struct wpager *w = self;
    if (!w->has_cache) {
        spring_vmm_obj_t o;
        spring_pager_info_t info = {0, SPRING_CACHE_DATA, 0, true};
        int rc = spring_vmm_get_object(w->vmm, SPRING_PRIV_USER, &o);
        if (rc == 0)
            rc = spring_vmm_create_cache_object(o, w->ops, w, false, &info, SPRING_OWN_EXCLUSIVE, SPRING_RIGHTS_RWX,
                                                &w->cache, &w->rights);
        if (rc)
            return rc;
        w->has_cache = true;
    }
    if (off >= sizeof w->store)
        return SPRING_ERANGE;
    if (*length > sizeof w->store - off)
        *length = sizeof w->store - off;
    *rights = w->rights;
    *cache_off = off;
    *flags = 0;
    return 0;
}

static int wm_final_bind(void *self, spring_bind_key_t key, const char *vmm_name, spring_rights_t access,
                         spring_off_t off, spring_off_t length, long *flags)
{
    *flags = 0;
    return SPRING_EBADHANDLE;
}

static const spring_mobj_ops_t wmobj_ops = {
    .version = SPRING_MOBJ_OPS_VERSION,
    .bind = wm_bind,
    .final_bind = wm_final_bind,
};

/* A wpager mapped read-write at *a in a fresh VMM. */
static struct wpager *wpager_setup(const spring_pager_ops_t *ops, spring_as_t **as, spring_mobj_t **m,
                                   spring_addr_t *a)
{
    struct wpager *w = calloc(1, sizeof *w);
    ck_assert_ptr_nonnull(w);
    w->vmm = test_vmm(VMM_NAME, 32, NULL);
    w->ops = ops;
    for (size_t i = 0; i < sizeof w->store; i++)
        w->store[i] = tp_pattern(i);
    *as = as_new(w->vmm, false, 0);
    ck_assert_rc(spring_mobj_new(&wmobj_ops, w, m), 0);
    spring_off_t len = sizeof w->store;
    *a = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_map(*as, *m, 0, &len, a, SPRING_RIGHTS_RW), 0);
    return w;
}

static void wpager_teardown(struct wpager *w, spring_as_t *as, spring_mobj_t *m)
{
    CHECK_VMM(w->vmm);
    spring_as_destroy(as);
    spring_mobj_unref(m);
    test_vmm_free(w->vmm, NULL);
    ck_assert_int_eq(w->done, 1);
    free(w);
}

/* A pager with write_out and no sync: flush with please_keep writes the
 * data out with write_out and keeps a read-only copy: a read needs no
 * page_in, a write upgrades. */
START_TEST(test_flush_keep_uses_write_out)
{
    spring_as_t *as;
    spring_mobj_t *m;
    spring_addr_t a;
    struct wpager *w = wpager_setup(&wpager_write_out_ops, &as, &m, &a);
    ck_assert_rc(put_page(as, a, 0x2a), 0);
    ck_assert_int_eq(w->page_ins, 1);
    ck_assert_rc(spring_as_flush(as, a, PS, true), 0);
    ck_assert_int_eq(w->write_outs, 1);
    ck_assert_int_eq(w->page_outs, 0);
    ck_assert(mem_is(w->store, PS, 0x2a));
    ck_assert(page_is(as, a, 0x2a));
    ck_assert_int_eq(w->page_ins, 1);
    wr1(as, a, 0x2b);
    ck_assert_int_eq(w->page_ins, 2);
    ck_assert_int_eq(w->upgrades, 1);
    ck_assert_uint_eq(rd1(as, a + 1), 0x2a);
    ck_assert_rc(spring_as_flush(as, a, PS, true), 0);
    ck_assert_int_eq(w->write_outs, 2);
    ck_assert_uint_eq(w->store[0], 0x2b);
    wpager_teardown(w, as, m);
}
END_TEST

/* A pager with neither sync nor write_out cannot receive data the VMM
 * keeps: flush with please_keep reports ENOKEEP, sends nothing (page_out
 * would make the VMM drop what it keeps), and the page stays cached and
 * modified; a flush without please_keep then pages it out. */
START_TEST(test_flush_keep_without_sync_refused)
{
    spring_as_t *as;
    spring_mobj_t *m;
    spring_addr_t a;
    struct wpager *w = wpager_setup(&wpager_plain_ops, &as, &m, &a);
    ck_assert_rc(put_page(as, a, 0x2c), 0);
    ck_assert_rc(spring_as_flush(as, a, PS, true), SPRING_ENOKEEP);
    ck_assert_int_eq(w->page_outs, 0);
    ck_assert_int_eq(w->write_outs, 0);
    ck_assert(page_is(as, a, 0x2c));
    ck_assert_int_eq(w->page_ins, 1);
    ck_assert_rc(spring_as_flush(as, a, PS, false), 0);
    ck_assert_int_eq(w->page_outs, 1);
    ck_assert(mem_is(w->store, PS, 0x2c));
    ck_assert(page_is(as, a, 0x2c));
    ck_assert_int_eq(w->page_ins, 2);
    wpager_teardown(w, as, m);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Pins (spring_as_translate) and the pager's calls.                     */

/* delete_range does not wait for a write pin (the holder is this very
 * thread) but revokes it: writes through the pointer no longer reach the
 * cache; the frame is reused only once the pin is released. */
START_TEST(test_pin_revoked_by_delete_range)
{
    fx_t f;
    fx_init(&f, 32, 4, 0, SPRING_OWN_EXCLUSIVE);
    fx_map(&f, SPRING_RIGHTS_RW);
    void *p;
    spring_pin_t pin;
    ck_assert_rc(spring_as_translate(f.as, f.a, SPRING_RIGHTS_W, &p, &pin), 0);
    ck_assert(spring_pin_valid(&pin));
    memset(p, 0x11, PS);
    size_t nfree = test_vm_info(f.vmm).free_frames;
    ck_assert_rc(spring_cache_delete_range(tp_cache(f.tp), 0, PS, NULL), 0);
    ck_assert(!spring_pin_valid(&pin));
    ck_assert_uint_eq(test_vm_info(f.vmm).free_frames, nfree); /* still pinned */
    memset(p, 0x12, PS);
    spring_pin_release(&pin);
    ck_assert_uint_eq(test_vm_info(f.vmm).free_frames, nfree + 1);
    CHECK_VMM(f.vmm);
    ck_assert(page_is_pat(f.as, f.a, 0));
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), 2);
    ck_assert_rc(spring_as_flush(f.as, f.a, f.len, false), 0);
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_OUT), 0);
    fx_fini(&f);
}
END_TEST

/* destroy_cache revokes pins the same way. */
START_TEST(test_pin_revoked_by_destroy)
{
    fx_t f;
    fx_init(&f, 32, 4, 0, SPRING_OWN_EXCLUSIVE);
    fx_map(&f, SPRING_RIGHTS_RW);
    void *p;
    spring_pin_t pin;
    ck_assert_rc(spring_as_translate(f.as, f.a + PS, SPRING_RIGHTS_R, &p, &pin), 0);
    ck_assert(mem_is_pat(p, PS, PS));
    ck_assert_rc(spring_cache_destroy(tp_cache(f.tp)), 0);
    ck_assert(!spring_pin_valid(&pin));
    ck_assert(mem_is_pat(p, PS, PS)); /* still valid memory */
    spring_pin_release(&pin);
    ck_assert_uint_eq(test_vm_info(f.vmm).free_frames, 32);
    CHECK_VMM(f.vmm);
    fx_fini(&f);
}
END_TEST

/* unmap neither waits for nor revokes a pin: the frame stays cached, the
 * write through the pointer is seen by a new mapping and reaches the pager. */
START_TEST(test_pin_survives_unmap)
{
    fx_t f;
    fx_init(&f, 32, 4, 0, SPRING_OWN_EXCLUSIVE);
    fx_map(&f, SPRING_RIGHTS_RW);
    void *p;
    spring_pin_t pin;
    ck_assert_rc(spring_as_translate(f.as, f.a, SPRING_RIGHTS_W, &p, &pin), 0);
    ck_assert_rc(spring_as_unmap(f.as, f.a, f.len), 0);
    ck_assert(spring_pin_valid(&pin));
    memset(p, 0x13, PS);
    spring_pin_release(&pin);
    fx_map(&f, SPRING_RIGHTS_RW);
    ck_assert(page_is(f.as, f.a, 0x13));
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), 1);
    ck_assert_rc(spring_as_flush(f.as, f.a, f.len, false), 0);
    ck_assert(store_is(f.tp, 0, PS, 0x13));
    fx_fini(&f);
}
END_TEST

/* flush_back waits for a write pin: a pager thread's flush_back does not
 * return while the pin is held (100 ms), the pin holder can meanwhile fault
 * on another page of the cache, and the flush returns the bytes written
 * through the pointer before the release. */
struct pinwait {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    spring_cache_obj_t cache;
    bool done;
    int rc;
    spring_data_t *d;
};

static void *flush_thread(void *arg)
{
    struct pinwait *w = arg;
    spring_data_t *d = NULL;
    int rc = spring_cache_flush_back(w->cache, 0, PS, NULL, &d);
    pthread_mutex_lock(&w->mu);
    w->rc = rc;
    w->d = d;
    w->done = true;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

START_TEST(test_pin_flush_back_waits)
{
    fx_t f;
    fx_init(&f, 32, 4, 0, SPRING_OWN_EXCLUSIVE);
    fx_map(&f, SPRING_RIGHTS_RW);
    void *p;
    spring_pin_t pin;
    ck_assert_rc(spring_as_translate(f.as, f.a, SPRING_RIGHTS_W, &p, &pin), 0);
    memset(p, 0x14, PS);
    struct pinwait w;
    memset(&w, 0, sizeof w);
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, NULL);
    w.cache = tp_cache(f.tp);
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, flush_thread, &w), 0);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 100L * 1000 * 1000;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&w.mu);
    while (!w.done)
        if (pthread_cond_timedwait(&w.cv, &w.mu, &ts) != 0)
            break;
    bool early = w.done;
    pthread_mutex_unlock(&w.mu);
    /* While the flush waits, the pin holder can still fault on another page
     * of the cache (the wait holds no cache lock). */
    ck_assert(page_is_pat(f.as, f.a + 2 * PS, 2 * PS));
    memset(p, 0x15, PS);
    spring_pin_release(&pin);
    pthread_join(t, NULL);
    ck_assert_msg(!early, "flush_back returned while a write pin was held");
    ck_assert_rc(w.rc, 0);
    ck_assert_uint_eq(w.d->nblocks, 1);
    ck_assert(dblock_is(w.d, 0, 0, 0x15));
    spring_data_free(w.d);
    pthread_mutex_destroy(&w.mu);
    pthread_cond_destroy(&w.cv);
    fx_fini(&f);
}
END_TEST

/* Unmapping a locked range drops its locks. */
START_TEST(test_lock_unmap_unlocks)
{
    fx_t f;
    fx_init(&f, 32, 8, 0, SPRING_OWN_EXCLUSIVE);
    fx_map(&f, SPRING_RIGHTS_RW);
    ck_assert_rc(spring_as_lock_memory(f.as, f.a, 4 * PS), 0);
    ck_assert_uint_eq(test_vm_info(f.vmm).locked_frames, 4);
    ck_assert_rc(spring_as_unmap(f.as, f.a + 2 * PS, 4 * PS), 0);
    ck_assert_uint_eq(test_vm_info(f.vmm).locked_frames, 2);
    ck_assert(locked_prefix(f.as, f.a, 2 * PS, 2 * PS));
    ck_assert_rc(spring_as_unmap(f.as, f.a, f.len), 0);
    ck_assert_uint_eq(test_vm_info(f.vmm).locked_frames, 0);
    fx_fini(&f);
}
END_TEST

/* A system (default) pager is waited for: its failed page-outs are retried
 * (vmm.h, SPRING_PRIV_SYSTEM; paper §5.1, footnote 4), so a flush succeeds
 * through a transient page_out failure, where an ordinary pager's flush
 * fails with EPAGER. */
START_TEST(test_system_pager_page_out_retried)
{
    fx_t f;
    fx_init(&f, 32, 4, 0, SPRING_OWN_EXCLUSIVE);
    spring_mobj_unref(f.m);
    tp_free(f.tp);
    ck_assert_rc(spring_registry_grant(f.reg, "system-pager", SPRING_PRIV_SYSTEM), 0);
    f.tp = tp_new(f.reg, VMM_NAME, "system-pager", f.len, 0, SPRING_OWN_EXCLUSIVE, true);
    f.m = tp_mobj(f.tp, SPRING_RIGHTS_RW);
    fx_map(&f, SPRING_RIGHTS_RW);
    ck_assert_rc(put_page(f.as, f.a, 0x7e), 0);
    tp_fail(f.tp, TP_PAGE_OUT, PAGER_ERR, false);
    int rc = spring_as_flush(f.as, f.a, PS, false);
    ck_assert_msg(rc == 0, "flush of a system pager's data failed with %s: its failed page_out was not retried "
                  "(SPRING_PRIV_SYSTEM is not implemented)", spring_err_name(rc));
    ck_assert_uint_eq(calls_at(f.tp, TP_PAGE_OUT, 0), 2);
    ck_assert(store_is(f.tp, 0, PS, 0x7e));
    fx_fini(&f);
}
END_TEST

/* A full swap (a system pager whose page_out answers SPRING_ENOSPC):
 * modified pages stay resident and intact, the writer that needs a frame
 * gets SPRING_ENOFRAMES (never a silent zero page), the refusal is counted
 * as no space, not as a failure, and is not retried: one page_out per pass
 * of the replacement scan, not one per modified block nor the system
 * pager's retries.  Once the pager has room, the writes go on. */
START_TEST(test_swap_full_keeps_pages)
{
    fx_t f;
    fx_init(&f, 16, 40, 0, SPRING_OWN_EXCLUSIVE);
    spring_mobj_unref(f.m);
    tp_free(f.tp);
    ck_assert_rc(spring_registry_grant(f.reg, "swap-pager", SPRING_PRIV_SYSTEM), 0);
    f.tp = tp_new(f.reg, VMM_NAME, "swap-pager", f.len, 0, SPRING_OWN_EXCLUSIVE, true);
    f.m = tp_mobj(f.tp, SPRING_RIGHTS_RW);
    fx_map(&f, SPRING_RIGHTS_RW);
    tp_fail(f.tp, TP_PAGE_OUT, SPRING_ENOSPC, true);
    spring_off_t written = 0;
    int rc = 0;
    for (; written < 40 && (rc = put_page(f.as, f.a + written * PS, (uint8_t)(0x40 + written))) == 0; written++)
        ;
    ck_assert_rc(rc, SPRING_ENOFRAMES);
    ck_assert_msg(written >= 4 && written <= 16, "%d pages written before the pool filled", (int)written);
    size_t outs = tp_count(f.tp, TP_PAGE_OUT);
    ck_assert_msg(outs >= 1 && outs <= 4, "%zu page_out calls for one refused allocation", outs);
    spring_pager_stats_t st;
    ck_assert_rc(spring_as_pager_stats(f.as, f.a, &st), 0);
    ck_assert_uint_eq(st.nospace, st.page_outs);
    ck_assert_uint_eq(st.failures, 0);
    ck_assert_uint_eq(test_vm_info(f.vmm).pageouts_nospace, st.page_outs);
    for (spring_off_t i = 0; i < written; i++)
        ck_assert_msg(page_is(f.as, f.a + i * PS, (uint8_t)(0x40 + i)), "page %d lost", (int)i);
    /* Room again: the writes go on, and everything reaches the pager. */
    tp_fail(f.tp, TP_PAGE_OUT, 0, false);
    for (spring_off_t i = written; i < 40; i++)
        ck_assert_rc(put_page(f.as, f.a + i * PS, (uint8_t)(0x40 + i)), 0);
    ck_assert_rc(spring_as_flush(f.as, f.a, 40 * PS, false), 0);
    for (spring_off_t i = 0; i < 40; i++)
        ck_assert_msg(store_is(f.tp, i * PS, PS, (uint8_t)(0x40 + i)), "page %d not in the store", (int)i);
    fx_fini(&f);
}
END_TEST

/* SPRING_ANYWHERE is first fit: the lowest free range that holds the
 * request.  Filling a space from the bottom, then opening holes, checks that
 * the free-space hint (which lets a search skip the full space below it)
 * never skips a hole that fits, and the checker checks the hint itself. */
START_TEST(test_anywhere_first_fit)
{
    fx_t f;
    fx_init(&f, 32, 4, 0, SPRING_OWN_EXCLUSIVE);
    const size_t n = 600;
    spring_addr_t *at = calloc(n, sizeof *at);
    ck_assert_ptr_nonnull(at);
    spring_addr_t base = 0;
    for (size_t i = 0; i < n; i++) {
        spring_off_t len = PS;
        at[i] = SPRING_ANYWHERE;
        ck_assert_rc(spring_as_allocate_memory(f.as, &len, &at[i], SPRING_RIGHTS_RW), 0);
        if (i == 0)
            base = at[0];
        ck_assert_uint_eq(at[i], base + i * PS); /* packed from the bottom */
    }
    CHECK_VMM(f.vmm);
    /* Holes of one page at 100 and 400, of two pages at 200-201. */
    ck_assert_rc(spring_as_unmap(f.as, at[400], PS), 0);
    ck_assert_rc(spring_as_unmap(f.as, at[200], 2 * PS), 0);
    ck_assert_rc(spring_as_unmap(f.as, at[100], PS), 0);
    CHECK_VMM(f.vmm);
    /* Two pages: the lowest hole that holds them is 200. */
    spring_off_t len = 2 * PS;
    spring_addr_t a = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_map(f.as, f.m, 0, &len, &a, SPRING_RIGHTS_RW), 0);
    ck_assert_uint_eq(a, at[200]);
    /* Three pages: no hole holds them; the end of the packed range. */
    len = 3 * PS;
    a = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_allocate_memory(f.as, &len, &a, SPRING_RIGHTS_RW), 0);
    ck_assert_uint_eq(a, base + n * PS);
    /* One page each: 100, then 400, then after the three pages. */
    spring_addr_t want[3] = {at[100], at[400], base + (n + 3) * PS};
    for (int i = 0; i < 3; i++) {
        len = PS;
        a = SPRING_ANYWHERE;
        ck_assert_rc(spring_as_allocate_memory(f.as, &len, &a, SPRING_RIGHTS_RW), 0);
        ck_assert_uint_eq(a, want[i]);
        CHECK_VMM(f.vmm);
    }
    /* A space too full for the request: SPRING_ENOSPC, nothing changes. */
    spring_as_statistics_t before, after;
    ck_assert_rc(spring_as_statistics(f.as, &before), 0);
    len = (spring_off_t)1 << 46;
    a = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_allocate_memory(f.as, &len, &a, SPRING_RIGHTS_RW), 0);
    len = (spring_off_t)1 << 46;
    a = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_allocate_memory(f.as, &len, &a, SPRING_RIGHTS_RW), SPRING_ENOSPC);
    ck_assert_rc(spring_as_statistics(f.as, &after), 0);
    ck_assert_uint_eq(after.nregions, before.nregions + 1);
    free(at);
    fx_fini(&f);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Nothing lost, nothing stale (regressions).                           */

/* A fixture like fx_init whose pager lacks the optional slots `missing`. */
static void fx_init_slots(fx_t *f, size_t nframes, size_t npages, spring_off_t bs, unsigned missing)
{
    fx_init(f, nframes, npages, bs, SPRING_OWN_EXCLUSIVE);
    tp_set_slots(f->tp, missing);
}

/* Tear a fixture down whose VMM the test destroyed already. */
static void fx_fini_destroyed(fx_t *f)
{
    tp_free(f->tp);
}

/* A cache kept after its last unmap (keep_unattached) holds modified pages
 * when the VMM is destroyed: they reach the pager first, with a pager that
 * has every slot and with one that has only page_in and page_out. */
START_TEST(test_lost_destroy_pages_out_kept_cache)
{
    static const unsigned masks[] = {0, TP_NO_OPTIONAL};
    for (size_t k = 0; k < 2; k++) {
        fx_t f;
        fx_init_slots(&f, 32, 8, 0, masks[k]);
        fx_map(&f, SPRING_RIGHTS_RW);
        for (spring_off_t i = 0; i < 8; i++)
            ck_assert_rc(put_page(f.as, f.a + i * PS, (uint8_t)(0x30 + i)), 0);
        spring_as_destroy(f.as);
        spring_mobj_unref(f.m);
        ck_assert_uint_eq(test_vm_info(f.vmm).unattached_caches, 1);
        ck_assert(!store_is(f.tp, 0, PS, 0x30));
        spring_registry_remove_vmm(f.reg, f.vmm);
        spring_registry_destroy(f.reg);
        ck_assert_rc(spring_vmm_destroy(f.vmm), 0);
        for (spring_off_t i = 0; i < 8; i++)
            ck_assert_msg(store_is(f.tp, i * PS, PS, (uint8_t)(0x30 + i)), "slots %#x: page %d lost", masks[k],
                          (int)i);
        ck_assert_uint_eq(pages_of(f.tp, TP_PAGE_OUT), 8);
        ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_OUT), 1); /* one run, one call */
        fx_fini_destroyed(&f);
    }
}
END_TEST

/* A page-out that fails during spring_vmm_destroy: the call returns the
 * error and the VMM stays usable and consistent with the data still
 * cached; once the pager works again, destroy succeeds and delivers it. */
START_TEST(test_lost_destroy_failure_keeps_vmm)
{
    fx_t f;
    fx_init(&f, 32, 4, 0, SPRING_OWN_EXCLUSIVE);
    fx_map(&f, SPRING_RIGHTS_RW);
    for (spring_off_t i = 0; i < 4; i++)
        ck_assert_rc(put_page(f.as, f.a + i * PS, (uint8_t)(0x70 + i)), 0);
    spring_as_destroy(f.as);
    spring_mobj_unref(f.m);
    tp_fail(f.tp, TP_PAGE_OUT, PAGER_ERR, true);
    ck_assert_rc(spring_vmm_destroy(f.vmm), SPRING_EPAGER);
    CHECK_VMM(f.vmm);
    spring_vm_info_t vi = test_vm_info(f.vmm);
    ck_assert_uint_eq(vi.ncaches, 1);
    ck_assert_uint_eq(vi.inuse_frames, 4);
    /* Still usable: map it again and read what was written. */
    f.as = as_new(f.vmm, true, 0);
    f.m = tp_mobj(f.tp, SPRING_RIGHTS_RW);
    fx_map(&f, SPRING_RIGHTS_RW);
    ck_assert(page_is(f.as, f.a + 2 * PS, 0x72));
    spring_as_destroy(f.as);
    spring_mobj_unref(f.m);
    tp_fail(f.tp, TP_PAGE_OUT, 0, false);
    spring_registry_remove_vmm(f.reg, f.vmm);
    spring_registry_destroy(f.reg);
    ck_assert_rc(spring_vmm_destroy(f.vmm), 0);
    for (spring_off_t i = 0; i < 4; i++)
        ck_assert(store_is(f.tp, i * PS, PS, (uint8_t)(0x70 + i)));
    fx_fini_destroyed(&f);
}
END_TEST

/* spring_vmm_sync writes every modified block back and keeps it: with
 * sync (the pages stay writable), with write_out alone (they stay
 * read-only: a write upgrades), and with neither (ENOKEEP: nothing sent,
 * still modified, and a flush without please_keep delivers it). */
START_TEST(test_lost_vmm_sync)
{
    static const unsigned masks[] = {0, TP_NO_SYNC, TP_NO_SYNC | TP_NO_WRITE_OUT};
    ck_assert_rc(spring_vmm_sync(NULL), SPRING_EINVAL);
    for (size_t k = 0; k < 3; k++) {
        fx_t f;
        fx_init_slots(&f, 32, 6, 0, masks[k]);
        fx_map(&f, SPRING_RIGHTS_RW);
        for (spring_off_t i = 0; i < 3; i++)
            ck_assert_rc(put_page(f.as, f.a + i * PS, (uint8_t)(0x90 + i)), 0);
        size_t ins = tp_count(f.tp, TP_PAGE_IN);
        tp_clear(f.tp);
        int rc = spring_vmm_sync(f.vmm);
        if (k == 2) {
            ck_assert_rc(rc, SPRING_ENOKEEP);
            ck_assert_uint_eq(tp_ncalls(f.tp), 0);
            ck_assert(!store_is(f.tp, 0, PS, 0x90));
            ck_assert(page_is(f.as, f.a, 0x90));
            ck_assert_rc(spring_as_flush(f.as, f.a, f.len, false), 0);
            ck_assert_uint_eq(pages_of(f.tp, TP_PAGE_OUT), 3);
        } else {
            enum tp_kind kind = k == 0 ? TP_SYNC : TP_WRITE_OUT;
            ck_assert_rc(rc, 0);
            ck_assert_uint_eq(tp_count(f.tp, kind), 1);
            ck_assert_uint_eq(pages_of(f.tp, kind), 3);
            ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_OUT), 0);
            /* Kept: reading needs no page_in. */
            ck_assert(page_is(f.as, f.a + PS, 0x91));
            ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), 0);
            /* Clean now: a second sync sends nothing. */
            tp_clear(f.tp);
            ck_assert_rc(spring_vmm_sync(f.vmm), 0);
            ck_assert_uint_eq(tp_ncalls(f.tp), 0);
            /* write_out left it read-only: a write upgrades. */
            wr1(f.as, f.a, 0x99);
            ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), k == 1 ? 1 : 0);
        }
        for (spring_off_t i = 0; i < 3; i++)
            ck_assert(store_is(f.tp, i * PS, PS, (uint8_t)(0x90 + i)));
        (void)ins;
        fx_fini(&f);
    }
}
END_TEST

/* deny_writes without a data list leaves the block modified; a later
 * deny_writes with a list returns it (cache.h: it still reaches the pager),
 * and only once. */
START_TEST(test_lost_deny_writes_after_dataless)
{
    fx_t f;
    fx_init(&f, 32, 4, 0, SPRING_OWN_EXCLUSIVE);
    fx_map(&f, SPRING_RIGHTS_RW);
    spring_cache_obj_t c = tp_cache(f.tp);
    ck_assert_rc(put_page(f.as, f.a + PS, 0x4e), 0);
    ck_assert_rc(spring_cache_deny_writes(c, 0, SPRING_SIZE_ALL, NULL, NULL), 0);
    spring_data_t *d = NULL;
    ck_assert_rc(spring_cache_deny_writes(c, 0, SPRING_SIZE_ALL, NULL, &d), 0);
    ck_assert_uint_eq(d->nblocks, 1);
    ck_assert_uint_eq(d->blocks[0].offset, PS);
    ck_assert_uint_eq(d->blocks[0].length, PS);
    ck_assert(d->blocks[0].bytes != NULL && mem_is(d->blocks[0].bytes, PS, 0x4e));
    spring_data_free(d);
    ck_assert_rc(spring_cache_deny_writes(c, 0, SPRING_SIZE_ALL, NULL, &d), 0);
    ck_assert_uint_eq(d->nblocks, 0);
    spring_data_free(d);
    ck_assert_rc(spring_cache_write_back(c, 0, SPRING_SIZE_ALL, NULL, &d), 0);
    ck_assert_uint_eq(d->nblocks, 0);
    spring_data_free(d);
    ck_assert(page_is(f.as, f.a + PS, 0x4e));
    fx_fini(&f);
}
END_TEST

/* spring_as_flush with a locked page and an unlocked one, with and without
 * please_keep, for every combination of sync and write_out: a block the
 * VMM keeps goes back with sync, else write_out (then read-only), else the
 * call says ENOKEEP and the block stays modified; a locked block is never
 * paged out; an unlocked one without please_keep is. */
START_TEST(test_lost_flush_kept_every_slot)
{
    static const unsigned masks[] = {0, TP_NO_SYNC, TP_NO_WRITE_OUT, TP_NO_SYNC | TP_NO_WRITE_OUT};
    for (size_t k = 0; k < 4; k++)
        for (int keep = 0; keep < 2; keep++) {
            bool has_sync = !(masks[k] & TP_NO_SYNC), has_wo = !(masks[k] & TP_NO_WRITE_OUT);
            fx_t f;
            fx_init_slots(&f, 32, 4, 0, masks[k]);
            fx_map(&f, SPRING_RIGHTS_RW);
            ck_assert_rc(spring_as_lock_memory(f.as, f.a, PS), 0);
            ck_assert_rc(put_page(f.as, f.a, 0x11), 0);
            ck_assert_rc(put_page(f.as, f.a + PS, 0x12), 0);
            tp_clear(f.tp);
            int rc = spring_as_flush(f.as, f.a, 2 * PS, keep);
            const char *what = keep ? "please_keep" : "no please_keep";
            ck_assert_msg(calls_at(f.tp, TP_PAGE_OUT, 0) == 0, "slots %#x, %s: locked page paged out", masks[k],
                          what);
            if (has_sync || has_wo) {
                ck_assert_rc(rc, 0);
                enum tp_kind kind = has_sync ? TP_SYNC : TP_WRITE_OUT;
                ck_assert_uint_eq(calls_at(f.tp, kind, 0), 1);
                ck_assert(store_is(f.tp, 0, PS, 0x11));
            } else {
                ck_assert_rc(rc, SPRING_ENOKEEP);
                ck_assert_uint_eq(calls_at(f.tp, TP_SYNC, 0) + calls_at(f.tp, TP_WRITE_OUT, 0), 0);
                ck_assert(!store_is(f.tp, 0, PS, 0x11));
            }
            /* The unlocked page: paged out without please_keep; kept like
             * the locked one with it. */
            if (!keep) {
                ck_assert_uint_eq(calls_at(f.tp, TP_PAGE_OUT, PS), 1);
                ck_assert(store_is(f.tp, PS, PS, 0x12));
            } else {
                ck_assert_uint_eq(calls_at(f.tp, TP_PAGE_OUT, PS), 0);
                ck_assert(store_is(f.tp, PS, PS, 0x12) == (has_sync || has_wo));
            }
            /* What stayed: reading page 0 needs no page_in; writing it
             * upgrades only after write_out. */
            tp_clear(f.tp);
            ck_assert(page_is(f.as, f.a, 0x11));
            ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), 0);
            wr1(f.as, f.a, 0x13);
            ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), (!has_sync && has_wo) ? 1 : 0);
            /* Nothing is lost: unlocked, a plain flush delivers it. */
            ck_assert_rc(spring_as_unlock_memory(f.as, f.a, PS), 0);
            ck_assert_rc(spring_as_flush(f.as, f.a, f.len, false), 0);
            ck_assert(store_is(f.tp, 0, 1, 0x13));
            ck_assert(store_is(f.tp, 1, PS - 1, 0x11));
            fx_fini(&f);
        }
}
END_TEST

/* Data lists the VMM hands a pager, for blocks of 1, 2 and 4 pages, by
 * eviction and by flush: block-aligned calls of whole blocks, one page per
 * entry, consecutive, all-zero pages as indications (one zero page inside
 * a block of several), each block exactly once, with its data. */
START_TEST(test_lost_data_lists_per_page)
{
    static const unsigned bsp[] = {1, 2, 4};
    for (size_t k = 0; k < 3; k++) {
        spring_off_t bs = bsp[k] * PS;
        fx_t f;
        fx_init(&f, 16, 24, bs, SPRING_OWN_EXCLUSIVE);
        fx_map(&f, SPRING_RIGHTS_RW);
        for (spring_off_t i = 0; i < 24; i++)
            ck_assert_rc(put_page(f.as, f.a + i * PS, i == 5 ? 0 : (uint8_t)(0x20 + i)), 0);
        ck_assert_uint_gt(tp_count(f.tp, TP_PAGE_OUT), 0); /* eviction happened */
        ck_assert_rc(spring_as_flush(f.as, f.a, f.len, false), 0);
        size_t zeros = 0;
        for (size_t i = 0; i < tp_ncalls(f.tp); i++) {
            tp_call_t c = tp_call(f.tp, i);
            if (c.kind != TP_PAGE_OUT)
                continue;
            ck_assert_msg(c.off % bs == 0 && c.size % bs == 0 && c.size > 0, "bs %u: call %#llx+%#llx",
                          bsp[k], (unsigned long long)c.off, (unsigned long long)c.size);
            ck_assert_msg(c.entries_ok, "bs %u: entries are not one per page covering the call", bsp[k]);
            zeros += c.zero_blocks;
        }
        ck_assert_uint_eq(zeros, 1);
        ck_assert_uint_eq(pages_of(f.tp, TP_PAGE_OUT), 24);
        for (spring_off_t i = 0; i < 24; i++) {
            ck_assert_uint_eq(calls_at(f.tp, TP_PAGE_OUT, i * PS), 1);
            ck_assert(store_is(f.tp, i * PS, PS, i == 5 ? 0 : (uint8_t)(0x20 + i)));
        }
        fx_fini(&f);
    }
}
END_TEST

/* A flush of many modified pages makes one call per run of contiguous
 * modified blocks, at most 256 pages each: 299 dirty pages around one
 * clean page go in two calls (100 + 199 pages), 300 in two (256 + 44). */
START_TEST(test_lost_flush_batches_runs)
{
    fx_t f;
    fx_init(&f, 640, 300, 0, SPRING_OWN_EXCLUSIVE);
    fx_map(&f, SPRING_RIGHTS_RW);
    for (spring_off_t i = 0; i < 300; i++)
        if (i != 100)
            ck_assert_rc(put_page(f.as, f.a + i * PS, (uint8_t)i), 0);
    ck_assert(page_is_pat(f.as, f.a + 100 * PS, 100 * PS));
    tp_clear(f.tp);
    ck_assert_rc(spring_as_flush(f.as, f.a, f.len, true), 0);
    ck_assert_uint_eq(tp_count(f.tp, TP_SYNC), 2);
    ck_assert_uint_eq(pages_of(f.tp, TP_SYNC), 299);
    ck_assert_uint_eq(tp_call(f.tp, 0).size, 100 * PS);
    ck_assert_uint_eq(tp_call(f.tp, 1).off, 101 * PS);
    wr1(f.as, f.a + 100 * PS, 1);
    for (spring_off_t i = 0; i < 300; i++)
        wr1(f.as, f.a + i * PS + 7, 2);
    tp_clear(f.tp);
    ck_assert_rc(spring_as_flush(f.as, f.a, f.len, false), 0);
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_OUT), 2);
    ck_assert_uint_eq(tp_call(f.tp, 0).size, 256 * PS);
    ck_assert_uint_eq(tp_call(f.tp, 1).size, 44 * PS);
    ck_assert_uint_eq(test_vm_info(f.vmm).write_backs, 2);
    fx_fini(&f);
}
END_TEST

/* A hostile pager (a wpager whose page_in looks for foreign bytes in the
 * frames it is lent, and writes nothing into them, nor marks them zero). */
static int h_page_in(void *self, spring_off_t off, spring_off_t size, spring_rights_t access,
                     spring_ownership_t *own, spring_page_buf_t *dst)
{
    struct wpager *h = self;
    h->page_ins++;
    for (size_t i = 0; i < dst->npages; i++)
        if (memchr(dst->pages[i], h->marker, dst->page_size) != NULL)
            h->seen++;
    return 0;
}

static const spring_pager_ops_t hostile_ops = {
    .version = SPRING_PAGER_OPS_VERSION,
    .page_in = h_page_in,
    .page_out = w_page_out,
    .done_with_pager_object = w_done,
};

/* §7.4: no frame reaches a pager, or a client, holding data the pager is
 * not entitled to: not another pager's evicted pages, not freed anonymous
 * memory.  Frames the pager's own cache used last are not scrubbed. */
START_TEST(test_lost_no_foreign_data_in_page_in)
{
    fx_t f;
    fx_init(&f, 8, 8, 0, SPRING_OWN_EXCLUSIVE);
    fx_map(&f, SPRING_RIGHTS_RW);
    struct wpager h = {.vmm = f.vmm, .ops = &hostile_ops, .marker = 0xa5};
    /* Another object's data, then freed anonymous memory, fill every frame. */
    for (spring_off_t i = 0; i < 4; i++)
        ck_assert_rc(put_page(f.as, f.a + i * PS, 0xa5), 0);
    spring_off_t alen = 4 * PS;
    spring_addr_t anon = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_allocate_memory(f.as, &alen, &anon, SPRING_RIGHTS_RW), 0);
    for (spring_off_t i = 0; i < 4; i++)
        ck_assert_rc(put_page(f.as, anon + i * PS, 0xa5), 0);
    ck_assert_rc(spring_as_unmap(f.as, anon, alen), 0);
    ck_assert_rc(spring_as_flush(f.as, f.a, f.len, false), 0);
    uint64_t scrubs0 = test_vm_info(f.vmm).scrubs;
    spring_mobj_t *hm;
    ck_assert_rc(spring_mobj_new(&wmobj_ops, &h, &hm), 0);
    spring_off_t hlen = sizeof h.store;
    spring_addr_t ha = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_map(f.as, hm, 0, &hlen, &ha, SPRING_RIGHTS_RO), 0);
    for (spring_off_t i = 0; i < 8; i++) {
        uint8_t buf[PS];
        ck_assert_rc(spring_as_read(f.as, ha + i * PS, buf, PS), 0);
        ck_assert_msg(!memchr(buf, 0xa5, PS), "page %d: a client sees another object's data", (int)i);
    }
    ck_assert_int_eq(h.page_ins, 8);
    ck_assert_uint_eq(h.seen, 0);
    uint64_t scrubs1 = test_vm_info(f.vmm).scrubs;
    ck_assert_uint_ge(scrubs1 - scrubs0, 1);
    /* Dropped and read again, the pages get frames this cache used last:
     * no scrub. */
    ck_assert_rc(spring_as_flush(f.as, ha, hlen, false), 0);
    for (spring_off_t i = 0; i < 8; i++)
        (void)rd1(f.as, ha + i * PS);
    ck_assert_int_eq(h.page_ins, 16);
    ck_assert_uint_eq(test_vm_info(f.vmm).scrubs, scrubs1);
    ck_assert_uint_eq(h.seen, 0);
    ck_assert_rc(spring_as_unmap(f.as, ha, hlen), 0);
    spring_mobj_unref(hm);
    fx_fini(&f);
    ck_assert_int_eq(h.done, 1);
}
END_TEST

/* A read-to-write upgrade while other threads read the page through
 * spring_as_read and hold read pins: the pager sends newer data with each
 * grant, yet a reader never sees a page change under its pin or a torn
 * page (ThreadSanitizer sees no race in the TSan build). */
struct upg_reader {
    spring_as_t *as;
    spring_addr_t a;
    atomic_int stop;
    atomic_size_t nreads, torn, changed;
    pthread_mutex_t mu; /* signals each read to the upgrading thread */
    pthread_cond_t cv;
};

static bool page_uniform(const uint8_t *p)
{
    for (size_t i = 1; i < PS; i++)
        if (p[i] != p[0])
            return false;
    return true;
}

static void *upg_read_thread(void *arg)
{
    struct upg_reader *r = arg;
    uint8_t buf[PS], first[PS];
    while (!atomic_load(&r->stop)) {
        if (spring_as_read(r->as, r->a, buf, PS) == 0) {
            if (!page_uniform(buf))
                atomic_fetch_add(&r->torn, 1);
            pthread_mutex_lock(&r->mu);
            atomic_fetch_add(&r->nreads, 1);
            pthread_cond_broadcast(&r->cv);
            pthread_mutex_unlock(&r->mu);
        }
        void *p;
        spring_pin_t pin;
        if (spring_as_translate(r->as, r->a, SPRING_RIGHTS_R, &p, &pin) == 0) {
            memcpy(first, p, PS);
            for (int k = 0; k < 50; k++)
                if (memcmp(first, p, PS) != 0) {
                    atomic_fetch_add(&r->changed, 1);
                    break;
                }
            if (!page_uniform(first))
                atomic_fetch_add(&r->torn, 1);
            spring_pin_release(&pin);
        }
    }
    return NULL;
}

START_TEST(test_lost_upgrade_under_readers)
{
    fx_t f;
    fx_init(&f, 32, 2, 0, SPRING_OWN_SHARED);
    fx_map(&f, SPRING_RIGHTS_RW);
    tp_set_upgrade_overwrites(f.tp, true);
    tp_lock(f.tp);
    memset(tp_store(f.tp), 1, PS);
    tp_unlock(f.tp);
    ck_assert(page_is(f.as, f.a, 1)); /* read-only (shared ownership) */
    spring_cache_obj_t c = tp_cache(f.tp);
    /* Deterministic first: a read pin held across the upgrade keeps seeing
     * the data it pinned; the pager's newer data is in the cache after. */
    void *p;
    spring_pin_t pin;
    ck_assert_rc(spring_as_translate(f.as, f.a + 8, SPRING_RIGHTS_R, &p, &pin), 0);
    tp_lock(f.tp);
    memset(tp_store(f.tp), 0x77, PS);
    tp_unlock(f.tp);
    ck_assert_rc(spring_as_fault(f.as, f.a, SPRING_RIGHTS_W), 0);
    ck_assert(last_of(f.tp, TP_PAGE_IN).upgrade);
    ck_assert_msg(mem_is((const uint8_t *)p - 8, PS, 1), "the upgrade wrote into a frame a reader had pinned");
    ck_assert(!spring_pin_valid(&pin)); /* the cache's data moved to another frame */
    spring_pin_release(&pin);
    ck_assert(page_is(f.as, f.a, 0x77));
    /* Then concurrent readers against a stream of upgrades: before each
     * upgrade, wait until the readers have read again since the last. */
    struct upg_reader r = {.as = f.as, .a = f.a};
    pthread_mutex_init(&r.mu, NULL);
    pthread_cond_init(&r.cv, NULL);
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, upg_read_thread, &r), 0);
    size_t seen = 0;
    for (unsigned v = 2; v < 200; v++) {
        pthread_mutex_lock(&r.mu);
        while (atomic_load(&r.nreads) == seen)
            pthread_cond_wait(&r.cv, &r.mu);
        seen = atomic_load(&r.nreads);
        pthread_mutex_unlock(&r.mu);
        ck_assert_rc(spring_cache_deny_writes(c, 0, SPRING_SIZE_ALL, NULL, NULL), 0);
        tp_lock(f.tp);
        memset(tp_store(f.tp), (int)v, PS); /* newer data at the pager */
        tp_unlock(f.tp);
        ck_assert_rc(spring_as_fault(f.as, f.a, SPRING_RIGHTS_W), 0); /* upgrade: the pager sends it */
    }
    atomic_store(&r.stop, 1);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    ck_assert(page_is(f.as, f.a, 199));
    ck_assert_uint_eq(atomic_load(&r.torn), 0);
    ck_assert_uint_eq(atomic_load(&r.changed), 0);
    ck_assert_uint_ge(atomic_load(&r.nreads), 198); /* at least one between every two upgrades */
    pthread_mutex_destroy(&r.mu);
    pthread_cond_destroy(&r.cv);
    fx_fini(&f);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Two of a kind: a block's identity changes between two caches.        */

/* Moving a block: its data appears at the new cache and offset, the old
 * one pages in from its pager again; the cases that cannot move say why. */
START_TEST(test_move_block_basic)
{
    fx_t f;
    fx_init(&f, 32, 4, 0, SPRING_OWN_EXCLUSIVE);
    fx_map(&f, SPRING_RIGHTS_RW);
    tpager_t *tp2 = tp_new(f.reg, VMM_NAME, NULL, 4 * PS, 0, SPRING_OWN_EXCLUSIVE, false);
    spring_mobj_t *m2 = tp_mobj(tp2, SPRING_RIGHTS_RW);
    spring_off_t len = 4 * PS;
    spring_addr_t a2 = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_map(f.as, m2, 0, &len, &a2, SPRING_RIGHTS_RW), 0);
    spring_cache_obj_t c1 = tp_cache(f.tp), c2 = tp_cache(tp2);
    ck_assert_rc(put_page(f.as, f.a + PS, 0x3c), 0);
    ck_assert_rc(spring__test_move_block(c1, PS, c2, 2 * PS), 0);
    ck_assert(page_is(f.as, a2 + 2 * PS, 0x3c));      /* the data moved */
    ck_assert(page_is_pat(f.as, f.a + PS, PS));        /* the old place pages in again */
    ck_assert_rc(spring__test_move_block(c1, 3 * PS, c2, 0), SPRING_ENOENT); /* nothing cached there */
    (void)rd1(f.as, f.a);
    ck_assert_rc(spring__test_move_block(c1, 0, c2, 2 * PS), SPRING_EEXIST);
    ck_assert_rc(spring__test_move_block(c1, 1, c2, 0), SPRING_EINVAL);   /* not block aligned */
    ck_assert_rc(spring__test_move_block(c1, 0, (spring_cache_obj_t){0}, 0), SPRING_EBADHANDLE);
    void *p;
    spring_pin_t pin;
    ck_assert_rc(spring_as_translate(f.as, f.a, SPRING_RIGHTS_R, &p, &pin), 0);
    ck_assert_rc(spring__test_move_block(c1, 0, c2, 3 * PS), SPRING_EBUSY); /* pinned */
    spring_pin_release(&pin);
    ck_assert_rc(spring__test_move_block(c1, 0, c2, 3 * PS), 0);
    ck_assert(page_is_pat(f.as, a2 + 3 * PS, 0));
    CHECK_VMM(f.vmm);
    /* The moved data is modified for its new cache: a flush sends it there. */
    ck_assert_rc(spring_as_flush(f.as, a2, 4 * PS, false), 0);
    ck_assert(store_is(tp2, 2 * PS, PS, 0x3c));
    ck_assert_rc(spring_as_unmap(f.as, a2, 4 * PS), 0);
    spring_mobj_unref(m2);
    (void)spring_vmm_reclaim_caches(f.vmm, 0);
    tp_free(tp2);
    fx_fini(&f);
}
END_TEST

/* Blocks move back and forth between two caches while other threads
 * fault on both: every read succeeds, moves happen, and the VMM stays
 * consistent (in the debug build the two cache locks are checked to be
 * taken in address order, and every lock precondition; under TSan, no
 * race on a block's identity). */
struct move_reader {
    spring_as_t *as;
    spring_addr_t a, b;
    atomic_int stop;
    atomic_size_t reads, bad;
};

static void *move_read_thread(void *arg)
{
    struct move_reader *r = arg;
    uint8_t buf[64];
    unsigned i = 0;
    while (!atomic_load(&r->stop)) {
        spring_addr_t at = ((i & 1) ? r->b : r->a) + (spring_addr_t)((i >> 1) % 4) * PS;
        if (spring_as_read(r->as, at, buf, sizeof buf) != 0)
            atomic_fetch_add(&r->bad, 1);
        atomic_fetch_add(&r->reads, 1);
        i++;
    }
    return NULL;
}

START_TEST(test_move_block_while_faulting)
{
    fx_t f;
    fx_init(&f, 32, 4, 0, SPRING_OWN_EXCLUSIVE);
    fx_map(&f, SPRING_RIGHTS_RW);
    tpager_t *tp2 = tp_new(f.reg, VMM_NAME, NULL, 4 * PS, 0, SPRING_OWN_EXCLUSIVE, false);
    spring_mobj_t *m2 = tp_mobj(tp2, SPRING_RIGHTS_RW);
    spring_off_t len = 4 * PS;
    spring_addr_t a2 = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_map(f.as, m2, 0, &len, &a2, SPRING_RIGHTS_RW), 0);
    spring_cache_obj_t c1 = tp_cache(f.tp), c2 = tp_cache(tp2);
    struct move_reader r = {.as = f.as, .a = f.a, .b = a2};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, move_read_thread, &r), 0);
    while (atomic_load(&r.reads) < 2)
        sched_yield();
    size_t moved = 0;
    for (int n = 0; n < 4000; n++) {
        spring_off_t off = (spring_off_t)(n % 4) * PS;
        bool there = n & 4;
        int rc;
        /* Take the destination's block away first (it may have been
         * faulted in), then move. */
        (void)spring_cache_flush_back(there ? c1 : c2, off, PS, NULL, NULL);
        rc = there ? spring__test_move_block(c2, off, c1, off) : spring__test_move_block(c1, off, c2, off);
        ck_assert_msg(rc == 0 || rc == SPRING_ENOENT || rc == SPRING_EEXIST || rc == SPRING_EBUSY, "%s",
                      spring_err_name(rc));
        if (rc == 0)
            moved++;
    }
    atomic_store(&r.stop, 1);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    ck_assert_uint_gt(moved, 0);
    ck_assert_uint_eq(atomic_load(&r.bad), 0);
    CHECK_VMM(f.vmm);
    ck_assert_rc(spring_as_unmap(f.as, a2, 4 * PS), 0);
    spring_mobj_unref(m2);
    (void)spring_vmm_reclaim_caches(f.vmm, 0);
    tp_free(tp2);
    fx_fini(&f);
}
END_TEST

/* ------------------------------------------------------------------ */

static TCase *tc(Suite *s, const char *name)
{
    TCase *t = tcase_create(name);
    suite_add_tcase(s, t);
    return t;
}

Suite *test_suite(void)
{
    Suite *s = suite_create("scenarios");
    TCase *t = tc(s, "ownership");
    tcase_add_test(t, test_own_exclusive_read_asks_rw);
    tcase_add_test(t, test_own_shared_read_asks_ro_then_upgrade);
    tcase_add_test(t, test_own_ro_region_asks_ro);
    tcase_add_test(t, test_own_pager_reply_changes_requests);
    tcase_add_test(t, test_own_pager_calls_change_state);
    t = tc(s, "once");
    tcase_add_test(t, test_once_sequential);
    tcase_add_test(t, test_once_concurrent_read);
    tcase_add_test(t, test_once_concurrent_write_upgrades);
    t = tc(s, "pressure");
    tcase_add_test(t, test_pressure_clean_reuse_is_silent);
    tcase_add_test(t, test_pressure_dirty_paged_out_once);
    tcase_add_test(t, test_pressure_zero_pages_as_indications);
    tcase_add_test(t, test_pressure_zero_indications_clear_reused_frames);
    tcase_add_test(t, test_pressure_ro_bound_never_sends);
    t = tc(s, "pagercalls");
    tcase_add_test(t, test_flush_back_returns_modified);
    tcase_add_test(t, test_deny_writes);
    tcase_add_test(t, test_deny_writes_no_data_keeps_modifications);
    tcase_add_test(t, test_write_back);
    tcase_add_test(t, test_delete_range);
    tcase_add_test(t, test_delete_range_drops_zero_fill);
    tcase_add_test(t, test_zero_fill);
    tcase_add_test(t, test_populate);
    tcase_add_test(t, test_destroy_cache);
    tcase_add_test(t, test_size_all_ranges);
    tcase_add_test(t, test_ro_cache_refuses_write_data);
    t = tc(s, "transit");
    tcase_add_test(t, test_transit_flush_back_same_block);
    tcase_add_test(t, test_transit_delete_same_block);
    tcase_add_test(t, test_transit_zero_fill_same_block);
    tcase_add_test(t, test_transit_populate_same_block);
    tcase_add_test(t, test_transit_destroy_in_page_in);
    tcase_add_test(t, test_transit_deny_and_write_back_skip);
    tcase_add_test(t, test_transit_other_blocks);
    tcase_add_test(t, test_transit_flush_during_upgrade);
    tcase_add_test(t, test_transit_flush_during_upgrade_keeps_modified);
    tcase_add_test(t, test_transit_flush_in_page_out);
    tcase_add_test(t, test_transit_delete_in_page_out);
    tcase_add_test(t, test_transit_delete_in_flush_page_out);
    t = tc(s, "bind");
    tcase_add_test(t, test_bind_reclaim_race);
    tcase_add_test(t, test_bind_reclaim_race_page_out_fails);
    tcase_add_test(t, test_bind_during_reclaim_page_out);
    tcase_add_test(t, test_bind_forged_rights);
    tcase_add_test(t, test_bind_stale_rights);
    tcase_add_test(t, test_bind_foreign_rights);
    tcase_add_test(t, test_bind_final_bind_noop_or_fails);
    tcase_add_test(t, test_bind_fails);
    t = tc(s, "sharing");
    tcase_add_test(t, test_sharing_two_mobjs_one_cache);
    t = tc(s, "lock");
    tcase_add_test(t, test_lock_no_traffic_under_pressure);
    tcase_add_test(t, test_lock_limit);
    tcase_add_test(t, test_lock_limit_two_regions_rolls_back);
    tcase_add_test(t, test_lock_failure_keeps_earlier_locks);
    tcase_add_test(t, test_lock_delete_range_wins);
    tcase_add_test(t, test_lock_eperm);
    tcase_add_test(t, test_lock_unmap_unlocks);
    t = tc(s, "events");
    tcase_add_test(t, test_events_mapping_changes);
    tcase_add_test(t, test_anywhere_first_fit);
    tcase_add_test(t, test_events_unmapped_reported);
    tcase_add_test(t, test_events_handler_maps_memory);
    tcase_add_test(t, test_events_access_violation);
    tcase_add_test(t, test_events_retry_bounded);
    tcase_add_test(t, test_events_handler_touching_fault_address);
    t = tc(s, "inject");
    tcase_add_test(t, test_inject_map_new_cache);
    tcase_add_test(t, test_inject_map_existing_cache);
    tcase_add_test(t, test_inject_map_final_bind);
    tcase_add_test(t, test_inject_unmap_split);
    tcase_add_test(t, test_inject_unmap_split_anon);
    tcase_add_test(t, test_inject_fault);
    tcase_add_test(t, test_inject_fault_anon);
    tcase_add_test(t, test_inject_flush_back);
    tcase_add_test(t, test_inject_deny_writes);
    tcase_add_test(t, test_inject_write_back);
    tcase_add_test(t, test_inject_zero_fill);
    tcase_add_test(t, test_inject_populate);
    tcase_add_test(t, test_inject_lock_memory);
    tcase_add_test(t, test_inject_change_access_rights);
    tcase_add_test(t, test_inject_allocate_memory);
    tcase_add_test(t, test_inject_allocate_memory_and_mobj);
    tcase_add_test(t, test_inject_create_cache_object);
    t = tc(s, "pagererrors");
    tcase_add_test(t, test_pager_error_page_in);
    tcase_add_test(t, test_pager_error_page_out_once);
    tcase_add_test(t, test_pager_error_page_out_always);
    tcase_add_test(t, test_pager_error_sync_and_flush);
    tcase_add_test(t, test_anon_zero_fill_range_fails);
    t = tc(s, "blocks");
    tcase_add_test(t, test_block_one_page_in_per_block);
    tcase_add_test(t, test_block_page_out_whole_blocks);
    tcase_add_test(t, test_block_unaligned_mapping);
    tcase_add_test(t, test_block_alignment_and_locks);
    tcase_add_test(t, test_unmap_keeps_object_offsets);
    t = tc(s, "pins");
    tcase_add_test(t, test_pin_revoked_by_delete_range);
    tcase_add_test(t, test_pin_revoked_by_destroy);
    tcase_add_test(t, test_pin_survives_unmap);
    tcase_add_test(t, test_pin_flush_back_waits);
    t = tc(s, "nosync");
    tcase_add_test(t, test_flush_keep_uses_write_out);
    tcase_add_test(t, test_flush_keep_without_sync_refused);
    t = tc(s, "lost");
    tcase_add_test(t, test_lost_destroy_pages_out_kept_cache);
    tcase_add_test(t, test_lost_destroy_failure_keeps_vmm);
    tcase_add_test(t, test_swap_full_keeps_pages);
    tcase_add_test(t, test_lost_vmm_sync);
    tcase_add_test(t, test_lost_deny_writes_after_dataless);
    tcase_add_test(t, test_lost_flush_kept_every_slot);
    tcase_add_test(t, test_lost_data_lists_per_page);
    tcase_add_test(t, test_lost_flush_batches_runs);
    tcase_add_test(t, test_lost_no_foreign_data_in_page_in);
    tcase_add_test(t, test_lost_upgrade_under_readers);
    t = tc(s, "twokind");
    tcase_add_test(t, test_move_block_basic);
    tcase_add_test(t, test_move_block_while_faulting);
    t = tc(s, "privilege");
    tcase_add_test(t, test_system_pager_page_out_retried);
    t = tc(s, "anon");
    tcase_add_test(t, test_anon_zero_and_persistent);
    tcase_add_test(t, test_anon_mobj_mapped_twice);
    tcase_add_test(t, test_anon_set_swap_pager);
    tcase_add_test(t, test_anon_add_swap_pager);
    tcase_add_test(t, test_anon_no_swap);
    return s;
}
