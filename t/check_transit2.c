/*
 * check_transit2.c - pager calls made from inside the VMM's own pager
 * calls, second part (the first is the "transit" case of
 * check_scenarios.c), each asserting the pager traffic and the data:
 *
 *   flushheld   a flush of several pages holds the next page it will send
 *               while it makes a call: delete_range, zero_fill, populate
 *               or destroy_cache of that page from inside the call drops
 *               it (no later call sends it); flush_back lets it be sent
 *   zerotransit zero_fill of a page in transit (being synced or paged out):
 *               the data reaches the pager, then the page reads zero
 *   populate    a zero_fill from inside a page_out that populate caused
 *               (to find a frame): populate's data wins for the blocks it
 *               had not entered yet
 *
 * Only the public headers and t/testlib.h are used.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"
#include "testmain.h"

#define PS 4096
#define VMM_NAME "transit2"

/* ------------------------------------------------------------------ */
/* Helpers.                                                             */

/* Every frame in use holds a page of the fixture's mappings. */
#define CHECK_FRAMES(f)                                                                                  \
    do {                                                                                                 \
        size_t inuse_ = test_vm_info((f)->vmm).inuse_frames, res_ = test_as_stats((f)->as).resident;     \
        ck_assert_msg(inuse_ == res_, "%zu frames in use, %zu pages resident", inuse_, res_);             \
    } while (0)

static bool mem_is(const uint8_t *p, size_t n, uint8_t v)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != v)
            return false;
    return true;
}

/* Write a whole page of byte v at a. */
static int put_page(spring_as_t *as, spring_addr_t a, uint8_t v)
{
    uint8_t buf[PS];
    memset(buf, v, sizeof buf);
    return spring_as_write(as, a, buf, sizeof buf);
}

static void read_page(spring_as_t *as, spring_addr_t a, uint8_t *buf)
{
    int rc = spring_as_read(as, a, buf, PS);
    ck_assert_msg(rc == 0, "read at %#llx: %s", (unsigned long long)a, spring_err_name(rc));
}

/* Whether the page at a reads as all v. */
static bool page_is(spring_as_t *as, spring_addr_t a, uint8_t v)
{
    uint8_t buf[PS];
    read_page(as, a, buf);
    return mem_is(buf, PS, v);
}

/* Whether the page at a reads as the pattern of cache offset off. */
static bool page_is_pat(spring_as_t *as, spring_addr_t a, spring_off_t off)
{
    uint8_t buf[PS];
    read_page(as, a, buf);
    return tp_is_pattern(buf, PS, off);
}

/* Whether the pager's store holds a page of v at off. */
static bool store_is(tpager_t *tp, spring_off_t off, uint8_t v)
{
    tp_lock(tp);
    bool r = mem_is(tp_store(tp) + off, PS, v);
    tp_unlock(tp);
    return r;
}

/* Whether the pager's store still holds its initial pattern at off. */
static bool store_is_pat(tpager_t *tp, spring_off_t off)
{
    tp_lock(tp);
    bool r = tp_is_pattern(tp_store(tp) + off, PS, off);
    tp_unlock(tp);
    return r;
}

/* Calls of kind k whose range holds cache offset off. */
static size_t calls_at(tpager_t *tp, enum tp_kind k, spring_off_t off)
{
    size_t n = 0;
    for (size_t i = 0; i < tp_ncalls(tp); i++) {
        tp_call_t c = tp_call(tp, i);
        if (c.kind == k && c.off <= off && off < c.off + c.size)
            n++;
    }
    return n;
}

/* populate npages pages of byte v (read-write) at off. */
static int populate_pages(spring_cache_obj_t c, spring_off_t off, size_t npages, uint8_t v)
{
    uint8_t *buf = malloc(npages * PS);
    ck_assert_ptr_nonnull(buf);
    memset(buf, v, npages * PS);
    spring_data_block_t b = {off, (spring_off_t)npages * PS, buf};
    spring_data_t d = {1, &b};
    int rc = spring_cache_populate(c, off, (spring_off_t)npages * PS, SPRING_RIGHTS_RW, NULL, &d);
    free(buf);
    return rc;
}

/* One pager call on the cache, made from inside the nth call of kind
 * `when` at offset `at` (the first when nth is 0). */
enum act_kind { A_DELETE, A_ZERO, A_POPULATE, A_DESTROY, A_FLUSH_BACK, A_NKINDS };

static const char *const act_name[] = {"delete_range", "zero_fill", "populate", "destroy_cache", "flush_back"};

struct inside {
    enum tp_kind when;
    spring_off_t at; /* ~0: any offset */
    unsigned nth, seen;
    bool fired;
    enum act_kind k;
    spring_off_t off, size;
    int rc;          /* produced */
    size_t nblocks;  /* produced: flush_back's data blocks */
};

static void inside_hook(tpager_t *tp, enum tp_kind kind, spring_off_t off, void *arg)
{
    struct inside *x = arg;
    if (x->fired || kind != x->when || (x->at != ~(spring_off_t)0 && off != x->at))
        return;
    if (++x->seen < (x->nth ? x->nth : 1))
        return;
    x->fired = true;
    spring_cache_obj_t c = tp_cache(tp);
    spring_data_t *d = NULL;
    switch (x->k) {
    case A_DELETE:
        x->rc = spring_cache_delete_range(c, x->off, x->size, NULL);
        break;
    case A_ZERO:
        x->rc = spring_cache_zero_fill(c, x->off, x->size, NULL);
        break;
    case A_POPULATE:
        x->rc = populate_pages(c, x->off, (size_t)(x->size / PS), 0xcd);
        break;
    case A_DESTROY:
        x->rc = spring_cache_destroy(c);
        break;
    case A_FLUSH_BACK:
        x->rc = spring_cache_flush_back(c, x->off, x->size, NULL, &d);
        break;
    case A_NKINDS:
        break;
    }
    if (d != NULL) {
        x->nblocks = d->nblocks;
        spring_data_free(d);
    }
}

static void inside_set(fx_t *f, struct inside *x, enum tp_kind when, spring_off_t at, enum act_kind k,
                       spring_off_t off, spring_off_t size)
{
    memset(x, 0, sizeof *x);
    x->when = when;
    x->at = at;
    x->k = k;
    x->off = off;
    x->size = size;
    x->rc = -99;
    tp_set_hook(f->tp, inside_hook, x);
}

/* ------------------------------------------------------------------ */
/* flushheld: the page a flush holds while it makes a call.             */

/*
 * Pages 0 and 2 are modified, so a flush sends them in two calls (they are
 * not contiguous): it holds page 2 in transit while it sends page 0.  From
 * inside that call the pager deletes, zero-fills, populates page 2 or
 * destroys the cache: page 2's old data must not reach the pager by the
 * flush's next call.  keep: a please_keep flush (sync) instead of page_out.
 */
static void held_doomed(enum act_kind k, bool keep)
{
    fx_t f;
    fx_setup(&f, VMM_NAME, 32, 4, 0, SPRING_OWN_EXCLUSIVE, true, true);
    fx_map(&f, SPRING_RIGHTS_RW);
    ck_assert_rc(put_page(f.as, f.a, 0x5a), 0);
    ck_assert_rc(put_page(f.as, f.a + 2 * PS, 0x5c), 0);
    enum tp_kind send = keep ? TP_SYNC : TP_PAGE_OUT;
    struct inside x;
    inside_set(&f, &x, send, 0, k, 2 * PS, PS);
    tp_clear(f.tp);
    int rc = spring_as_flush(f.as, f.a, f.len, keep);
    ck_assert_msg(x.fired, "%s: no %s of page 0", act_name[k], tp_kind_name(send));
    ck_assert_rc(x.rc, 0);
    if (k != A_DESTROY)
        ck_assert_rc(rc, 0);
    tp_set_hook(f.tp, NULL, NULL);
    ck_assert_uint_eq(calls_at(f.tp, send, 0), 1);
    ck_assert(store_is(f.tp, 0, 0x5a));
    ck_assert_msg(calls_at(f.tp, send, 2 * PS) == 0, "%s from inside the flush's call: page 2 was still sent",
                  act_name[k]);
    ck_assert_msg(store_is_pat(f.tp, 2 * PS), "%s from inside the flush's call: page 2's old data reached the pager",
                  act_name[k]);
    tp_clear(f.tp);
    switch (k) {
    case A_DELETE:
        ck_assert(page_is_pat(f.as, f.a + 2 * PS, 2 * PS)); /* the pager's data again */
        ck_assert_uint_eq(calls_at(f.tp, TP_PAGE_IN, 2 * PS), 1);
        break;
    case A_ZERO:
        ck_assert(page_is(f.as, f.a + 2 * PS, 0));
        ck_assert_uint_eq(calls_at(f.tp, TP_PAGE_IN, 2 * PS), 0);
        break;
    case A_POPULATE:
        ck_assert(page_is(f.as, f.a + 2 * PS, 0xcd));
        ck_assert_uint_eq(calls_at(f.tp, TP_PAGE_IN, 2 * PS), 0);
        break;
    case A_DESTROY: {
        uint8_t v;
        ck_assert_rc(spring_as_read(f.as, f.a + 2 * PS, &v, 1), SPRING_EDESTROYED);
        ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), 0);
        break;
    }
    default:
        break;
    }
    /* Page 2's old data does not reach the pager later either. */
    ck_assert_rc(spring_vmm_sync(f.vmm), 0);
    ck_assert(!store_is(f.tp, 2 * PS, 0x5c));
    if (k != A_DESTROY)
        CHECK_FRAMES(&f);
    fx_fini(&f);
}

START_TEST(test_flush_held_page_doomed)
{
    held_doomed((enum act_kind)_i, false);
}
END_TEST

START_TEST(test_flush_keep_held_page_doomed)
{
    held_doomed((enum act_kind)_i, true);
}
END_TEST

/* flush_back of the held page from inside the flush's first call: it is
 * in transit, so nothing comes back, and the flush still sends it, once
 * (that is how its data reaches the pager); then it is no longer cached. */
START_TEST(test_flush_held_page_flush_back_still_sent)
{
    bool keep = _i != 0;
    fx_t f;
    fx_setup(&f, VMM_NAME, 32, 4, 0, SPRING_OWN_EXCLUSIVE, true, true);
    fx_map(&f, SPRING_RIGHTS_RW);
    ck_assert_rc(put_page(f.as, f.a, 0x5a), 0);
    ck_assert_rc(put_page(f.as, f.a + 2 * PS, 0x5c), 0);
    enum tp_kind send = keep ? TP_SYNC : TP_PAGE_OUT;
    struct inside x;
    inside_set(&f, &x, send, 0, A_FLUSH_BACK, 2 * PS, PS);
    tp_clear(f.tp);
    ck_assert_rc(spring_as_flush(f.as, f.a, f.len, keep), 0);
    ck_assert(x.fired);
    ck_assert_rc(x.rc, 0);
    ck_assert_uint_eq(x.nblocks, 0);
    tp_set_hook(f.tp, NULL, NULL);
    ck_assert_uint_eq(calls_at(f.tp, send, 2 * PS), 1);
    ck_assert(store_is(f.tp, 2 * PS, 0x5c));
    tp_clear(f.tp);
    ck_assert(page_is(f.as, f.a + 2 * PS, 0x5c));
    ck_assert_msg(calls_at(f.tp, TP_PAGE_IN, 2 * PS) == 1, "the page flush_back asked for is still cached");
    CHECK_FRAMES(&f);
    fx_fini(&f);
}
END_TEST

/* ------------------------------------------------------------------ */
/* zerotransit: zero_fill of a page on its way to the pager.            */

/* From inside the sync of a kept flush: the sync delivers the data, then
 * the page is not kept: it reads zero, with no page_in. */
START_TEST(test_zero_fill_in_sync_same_page)
{
    fx_t f;
    fx_setup(&f, VMM_NAME, 32, 4, 0, SPRING_OWN_EXCLUSIVE, true, true);
    fx_map(&f, SPRING_RIGHTS_RW);
    ck_assert_rc(put_page(f.as, f.a, 0x5a), 0);
    struct inside x;
    inside_set(&f, &x, TP_SYNC, 0, A_ZERO, 0, PS);
    tp_clear(f.tp);
    ck_assert_rc(spring_as_flush(f.as, f.a, PS, true), 0);
    ck_assert(x.fired);
    ck_assert_rc(x.rc, 0);
    tp_set_hook(f.tp, NULL, NULL);
    ck_assert(store_is(f.tp, 0, 0x5a));
    ck_assert_msg(page_is(f.as, f.a, 0), "the page zero-filled while it was synced kept its old data");
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), 0);
    ck_assert_uint_eq(tp_count(f.tp, TP_SYNC), 1);
    CHECK_FRAMES(&f);
    fx_fini(&f);
}
END_TEST

/* From inside the page_out of an evicted page: the same. */
START_TEST(test_zero_fill_in_page_out_same_page)
{
    enum { N = 8 };
    fx_t f;
    fx_setup(&f, VMM_NAME, N, 2 * N, 0, SPRING_OWN_EXCLUSIVE, true, true);
    fx_map(&f, SPRING_RIGHTS_RW);
    ck_assert_rc(put_page(f.as, f.a, 0x5a), 0);
    struct inside x;
    inside_set(&f, &x, TP_PAGE_OUT, 0, A_ZERO, 0, PS);
    for (spring_off_t i = 1; i < 2 * N; i++) {
        uint8_t v;
        ck_assert_rc(spring_as_read(f.as, f.a + i * PS, &v, 1), 0);
    }
    ck_assert(x.fired);
    ck_assert_rc(x.rc, 0);
    tp_set_hook(f.tp, NULL, NULL);
    ck_assert(store_is(f.tp, 0, 0x5a));
    tp_clear(f.tp);
    ck_assert(page_is(f.as, f.a, 0));
    ck_assert_uint_eq(calls_at(f.tp, TP_PAGE_IN, 0), 0);
    CHECK_FRAMES(&f);
    fx_fini(&f);
}
END_TEST

/* ------------------------------------------------------------------ */
/* populate: a zero_fill from inside populate's own page-out.           */

/*
 * Every frame holds a modified page, so populate's first block needs a
 * frame the VMM gets by paging one out: the pager's page_out runs inside
 * populate, before populate entered anything, and from there the pager
 * zero-fills the whole range and one page past it.  populate's data wins
 * for the blocks it had not entered (all of them); the page past the range
 * reads zero.  And populate's blocks replace the zero-fill completely:
 * once they leave the cache (clean, without a pager call), they read the
 * pager's data again, not zero.
 */
START_TEST(test_zero_fill_in_populate_page_out)
{
    enum { N = 8, R = 3 };
    fx_t f;
    fx_setup(&f, VMM_NAME, N, 4 * N, 0, SPRING_OWN_EXCLUSIVE, true, true);
    fx_map(&f, SPRING_RIGHTS_RW);
    spring_off_t dirty = 2 * N * PS; /* the modified pages: from page 2N on */
    for (spring_off_t i = 0; test_vm_info(f.vmm).free_frames > 0; i++) {
        ck_assert_uint_lt(i, 2 * N);
        ck_assert_rc(put_page(f.as, f.a + dirty + i * PS, 0x50 + (uint8_t)i), 0);
    }
    struct inside x;
    inside_set(&f, &x, TP_PAGE_OUT, ~(spring_off_t)0, A_ZERO, 0, (R + 1) * PS);
    tp_clear(f.tp);
    ck_assert_rc(populate_pages(tp_cache(f.tp), 0, R, 0xab), 0);
    ck_assert_msg(x.fired, "populate made no page_out");
    ck_assert_rc(x.rc, 0);
    tp_set_hook(f.tp, NULL, NULL);
    /* Room, so that reading does not evict populate's clean blocks. */
    ck_assert_rc(spring_as_flush(f.as, f.a + dirty, 2 * N * PS, false), 0);
    tp_clear(f.tp);
    for (spring_off_t i = 0; i < R; i++)
        ck_assert_msg(page_is(f.as, f.a + i * PS, 0xab), "page %d: the zero_fill made inside populate won",
                      (int)i);
    ck_assert(page_is(f.as, f.a + R * PS, 0));
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), 0);
    /* Clean: dropped without a pager call; then the pager's data again. */
    ck_assert_rc(spring_as_flush(f.as, f.a, R * PS, false), 0);
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_OUT), 0);
    for (spring_off_t i = 0; i < R; i++)
        ck_assert_msg(page_is_pat(f.as, f.a + i * PS, i * PS),
                      "page %d: the zero_fill made inside populate outlived populate's block", (int)i);
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), R);
    CHECK_FRAMES(&f);
    fx_fini(&f);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("transit2");
    TCase *t = tcase_create("flushheld");
    tcase_add_loop_test(t, test_flush_held_page_doomed, A_DELETE, A_FLUSH_BACK);
    tcase_add_loop_test(t, test_flush_keep_held_page_doomed, A_DELETE, A_FLUSH_BACK);
    tcase_add_loop_test(t, test_flush_held_page_flush_back_still_sent, 0, 2);
    suite_add_tcase(s, t);
    t = tcase_create("zerotransit");
    tcase_add_test(t, test_zero_fill_in_sync_same_page);
    tcase_add_test(t, test_zero_fill_in_page_out_same_page);
    suite_add_tcase(s, t);
    t = tcase_create("populate");
    tcase_add_test(t, test_zero_fill_in_populate_page_out);
    suite_add_tcase(s, t);
    return s;
}
