/*
 * transit.c - pages in transit: the pager calls back into its cache from
 * inside page_in and page_out (the same block, other blocks, during an
 * upgrade, during eviction and flush).
 */
#include "scen.h"

/* Every frame in use holds a page of the fixture's mappings (one address
 * space, one cache, nothing pinned): no frame leaked. */
#define CHECK_FRAMES(f)                                                                            \
    do {                                                                                           \
        size_t inuse_ = test_vm_info((f)->vmm).inuse_frames, res_ = test_as_stats((f)->as).resident;          \
        ck_assert_msg(inuse_ == res_, "%zu frames in use, %zu pages resident", inuse_, res_);       \
    } while (0)

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
    fx_map(&fx, SPRING_RIGHTS_RW);
    struct transit t;
    transit_page_in_0(&fx, &t, A_FLUSH, 0);
    ck_assert(page_is_pat(fx.as, fx.a, 0));
    ck_assert(t.fired);
    ck_assert_rc(t.acts[0].rc, 0);
    ck_assert_uint_eq(t.acts[0].nblocks, 0);
    ck_assert_uint_eq(calls_at(fx.tp, TP_PAGE_IN, 0), 2);
    tp_set_hook(fx.tp, NULL, NULL);
    ck_assert(page_is_pat(fx.as, fx.a, 0));
    ck_assert_uint_eq(tp_count(fx.tp, TP_PAGE_IN), 2);
    CHECK_FRAMES(&fx);
}
END_TEST

/* The same with delete_range. */
START_TEST(test_transit_delete_same_block)
{
    fx_map(&fx, SPRING_RIGHTS_RW);
    struct transit t;
    transit_page_in_0(&fx, &t, A_DELETE, 0);
    ck_assert(page_is_pat(fx.as, fx.a, 0));
    ck_assert_rc(t.acts[0].rc, 0);
    ck_assert_uint_eq(calls_at(fx.tp, TP_PAGE_IN, 0), 2);
    tp_set_hook(fx.tp, NULL, NULL);
    CHECK_FRAMES(&fx);
}
END_TEST

/* The same with zero_fill: the fault then finds a zero block, no page_in. */
START_TEST(test_transit_zero_fill_same_block)
{
    fx_map(&fx, SPRING_RIGHTS_RW);
    struct transit t;
    transit_page_in_0(&fx, &t, A_ZERO, 0);
    ck_assert(page_is(fx.as, fx.a, 0));
    ck_assert_rc(t.acts[0].rc, 0);
    ck_assert_uint_eq(calls_at(fx.tp, TP_PAGE_IN, 0), 1);
    tp_set_hook(fx.tp, NULL, NULL);
    CHECK_FRAMES(&fx);
}
END_TEST

/* populate of the block being paged in: populate's data wins and the fault
 * needs no second page_in. */
START_TEST(test_transit_populate_same_block)
{
    fx_map(&fx, SPRING_RIGHTS_RW);
    struct transit t;
    transit_page_in_0(&fx, &t, A_POPULATE_RW, 0xab);
    ck_assert(page_is(fx.as, fx.a, 0xab));
    ck_assert_rc(t.acts[0].rc, 0);
    ck_assert_uint_eq(tp_count(fx.tp, TP_PAGE_IN), 1);
    wr1(fx.as, fx.a, 0xac); /* populated read-write: no upgrade */
    ck_assert_uint_eq(tp_count(fx.tp, TP_PAGE_IN), 1);
    tp_set_hook(fx.tp, NULL, NULL);
    CHECK_FRAMES(&fx);
}
END_TEST

/* destroy_cache from inside page_in: the fault fails with EDESTROYED and
 * the pager object gets done_with_pager_object exactly once, after the
 * page_in returned. */
START_TEST(test_transit_destroy_in_page_in)
{
    fx_map(&fx, SPRING_RIGHTS_RW);
    struct transit t;
    transit_page_in_0(&fx, &t, A_DESTROY, 0);
    tp_clear(fx.tp);
    uint8_t v;
    ck_assert_rc(spring_as_read(fx.as, fx.a, &v, 1), SPRING_EDESTROYED);
    ck_assert_rc(t.acts[0].rc, 0);
    const enum tp_kind want[] = {TP_PAGE_IN, TP_DONE_WITH_POBJ};
    expect_log(fx.tp, want, 2);
    ck_assert_rc(spring_as_read(fx.as, fx.a + PS, &v, 1), SPRING_EDESTROYED);
    expect_log(fx.tp, want, 2);
    tp_set_hook(fx.tp, NULL, NULL);
    CHECK_FRAMES(&fx);
}
END_TEST

/* deny_writes and write_back skip the block in transit: the page_in goes
 * through and the block is cached read-write as asked. */
START_TEST(test_transit_deny_and_write_back_skip)
{
    fx_map(&fx, SPRING_RIGHTS_RW);
    struct transit t;
    transit_page_in_0(&fx, &t, A_DENY, 0);
    t.acts[1] = (struct act){A_WRITEBACK, 0, SPRING_SIZE_ALL, 0, -99, 0};
    t.nacts = 2;
    ck_assert(page_is_pat(fx.as, fx.a, 0));
    ck_assert_rc(t.acts[0].rc, 0);
    ck_assert_rc(t.acts[1].rc, 0);
    ck_assert_uint_eq(t.acts[0].nblocks + t.acts[1].nblocks, 0);
    wr1(fx.as, fx.a, 1);
    ck_assert_uint_eq(tp_count(fx.tp, TP_PAGE_IN), 1);
    tp_set_hook(fx.tp, NULL, NULL);
    CHECK_FRAMES(&fx);
}
END_TEST

/* From inside the page_in of page 0, the pager works on other blocks:
 * flush_back returns page 1's data, delete_range drops page 2, populate
 * introduces page 3.  Page 0's own page_in is not disturbed. */
START_TEST(test_transit_other_blocks)
{
    fx_map(&fx, SPRING_RIGHTS_RW);
    ck_assert_rc(put_page(fx.as, fx.a + PS, 0x12), 0);
    rd1(fx.as, fx.a + 2 * PS);
    struct transit t;
    transit_page_in_0(&fx, &t, A_FLUSH, 0);
    t.acts[0] = (struct act){A_FLUSH, PS, PS, 0, -99, 0};
    t.acts[1] = (struct act){A_DELETE, 2 * PS, PS, 0, -99, 0};
    t.acts[2] = (struct act){A_POPULATE_RO, 3 * PS, PS, 0xcd, -99, 0};
    t.nacts = 3;
    tp_clear(fx.tp);
    ck_assert(page_is_pat(fx.as, fx.a, 0));
    ck_assert(t.fired);
    for (size_t i = 0; i < 3; i++)
        ck_assert_rc(t.acts[i].rc, 0);
    ck_assert_uint_eq(t.acts[0].nblocks, 1);
    ck_assert_uint_eq(tp_count(fx.tp, TP_PAGE_IN), 1);
    tp_set_hook(fx.tp, NULL, NULL);
    ck_assert(page_is(fx.as, fx.a + 3 * PS, 0xcd));
    ck_assert_uint_eq(tp_count(fx.tp, TP_PAGE_IN), 1);
    ck_assert(page_is_pat(fx.as, fx.a + 2 * PS, 2 * PS));
    ck_assert(page_is_pat(fx.as, fx.a + PS, PS)); /* flushed back: from the store again */
    ck_assert_uint_eq(tp_count(fx.tp, TP_PAGE_IN), 3);
    CHECK_FRAMES(&fx);
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
    fx_map(&fx, SPRING_RIGHTS_RW);
    ck_assert_rc(put_page(fx.as, fx.a, 0x31), 0);
    spring_cache_obj_t c = tp_cache(fx.tp);
    ck_assert_rc(spring_cache_deny_writes(c, 0, PS, NULL, NULL), 0); /* read-only, still modified */
    struct transit t;
    transit_page_in_0(&fx, &t, A_FLUSH, 0);
    tp_clear(fx.tp);
    wr1(fx.as, fx.a + 5, 0x99);
    ck_assert(t.fired);
    ck_assert_rc(t.acts[0].rc, 0);
    ck_assert_uint_eq(t.acts[0].nblocks, 0); /* in transit: nothing taken */
    ck_assert_uint_eq(tp_count(fx.tp, TP_PAGE_IN), 1);
    ck_assert(tp_call(fx.tp, 0).upgrade);
    tp_set_hook(fx.tp, NULL, NULL);
    uint8_t buf[PS];
    ck_assert_rc(spring_as_read(fx.as, fx.a, buf, PS), 0);
    ck_assert_uint_eq(buf[5], 0x99);
    buf[5] = 0x31;
    ck_assert_msg(mem_is(buf, PS, 0x31), "the modified data of the block doomed during its upgrade was lost");
    ck_assert_rc(spring_as_flush(fx.as, fx.a, PS, false), 0);
    tp_lock(fx.tp);
    bool stored = tp_store(fx.tp)[5] == 0x99 && tp_store(fx.tp)[6] == 0x31;
    tp_unlock(fx.tp);
    ck_assert(stored);
    CHECK_FRAMES(&fx);
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
    fx_map(&fx, SPRING_RIGHTS_RW);
    ck_assert_rc(put_page(fx.as, fx.a, 0x5b), 0);
    struct transit t;
    memset(&t, 0, sizeof t);
    t.when = TP_PAGE_OUT;
    t.acts[0] = (struct act){A_DELETE, 0, SPRING_SIZE_ALL, 0, -99, 0};
    t.nacts = 1;
    tp_set_hook(fx.tp, transit_hook, &t);
    ck_assert_rc(spring_as_flush(fx.as, fx.a, fx.len, false), 0);
    ck_assert(t.fired);
    ck_assert(store_is(fx.tp, 0, PS, 0x5b));
    tp_set_hook(fx.tp, NULL, NULL);
    ck_assert(page_is(fx.as, fx.a, 0x5b));
    ck_assert_uint_eq(calls_at(fx.tp, TP_PAGE_IN, 0), 2);
    CHECK_FRAMES(&fx);
}
END_TEST

void scen_transit(Suite *s)
{
    TCase *t = tcase_create("transit");
    tcase_add_checked_fixture(t, fx_setup4, fx_teardown);
    tcase_add_test(t, test_transit_flush_back_same_block);
    tcase_add_test(t, test_transit_delete_same_block);
    tcase_add_test(t, test_transit_zero_fill_same_block);
    tcase_add_test(t, test_transit_populate_same_block);
    tcase_add_test(t, test_transit_destroy_in_page_in);
    tcase_add_test(t, test_transit_deny_and_write_back_skip);
    tcase_add_test(t, test_transit_other_blocks);
    tcase_add_test(t, test_transit_flush_during_upgrade_keeps_modified);
    tcase_add_test(t, test_transit_delete_in_flush_page_out);
    suite_add_tcase(s, t);
    /* The tests that make their own set-up. */
    t = tcase_create("transit");
    tcase_add_test(t, test_transit_flush_during_upgrade);
    tcase_add_test(t, test_transit_flush_in_page_out);
    tcase_add_test(t, test_transit_delete_in_page_out);
    suite_add_tcase(s, t);
}
