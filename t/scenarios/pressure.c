/*
 * pressure.c - frame pressure (§6.1): clean frames are reused silently,
 * dirty pages go to the pager exactly once, all-zero pages as zero
 * indications.
 */
#include "scen.h"

/* Reading 3N pages through a pool of N frames reuses clean frames without
 * telling the pager: page_ins only, each page once. */
START_TEST(test_pressure_clean_reuse_is_silent)
{
    fx_map(&fx, SPRING_RIGHTS_RW);
    for (spring_off_t i = 0; i < PNP; i++)
        ck_assert_uint_eq(rd1(fx.as, fx.a + i * PS + i), tp_pattern(i * PS + i));
    ck_assert_uint_eq(tp_count(fx.tp, TP_PAGE_OUT), 0);
    ck_assert_uint_eq(tp_count(fx.tp, TP_WRITE_OUT), 0);
    ck_assert_uint_eq(tp_count(fx.tp, TP_SYNC), 0);
    ck_assert_uint_eq(tp_count(fx.tp, TP_PAGE_IN), PNP);
    for (spring_off_t i = 0; i < PNP; i++)
        ck_assert_uint_eq(calls_at(fx.tp, TP_PAGE_IN, i * PS), 1);
    ck_assert_uint_ge(test_vm_info(fx.vmm).reclaims_clean, PNP - PN);
    /* The first page was reclaimed: it is paged in again. */
    ck_assert_uint_eq(rd1(fx.as, fx.a), tp_pattern(0));
    ck_assert_uint_eq(calls_at(fx.tp, TP_PAGE_IN, 0), 2);
    ck_assert_uint_eq(tp_count(fx.tp, TP_PAGE_OUT), 0);
}
END_TEST

/* Writing 3N pages: each dirty page goes to the pager exactly once (by
 * eviction or by the final flush), with its data. */
START_TEST(test_pressure_dirty_paged_out_once)
{
    fx_map(&fx, SPRING_RIGHTS_RW);
    for (spring_off_t i = 0; i < PNP; i++)
        ck_assert_rc(put_page(fx.as, fx.a + i * PS, (uint8_t)(i + 1)), 0);
    ck_assert_uint_gt(tp_count(fx.tp, TP_PAGE_OUT), 0); /* eviction did page out */
    size_t evicted = tp_count(fx.tp, TP_PAGE_OUT);
    ck_assert_rc(spring_as_flush(fx.as, fx.a, fx.len, false), 0);
    ck_assert_uint_eq(pages_of(fx.tp, TP_PAGE_OUT), PNP);
    /* The flush sends the resident run of pages in one call. */
    ck_assert_uint_eq(tp_count(fx.tp, TP_PAGE_OUT), evicted + 1);
    for (spring_off_t i = 0; i < PNP; i++) {
        ck_assert_msg(calls_at(fx.tp, TP_PAGE_OUT, i * PS) == 1, "page %d paged out %zu times", (int)i,
                      calls_at(fx.tp, TP_PAGE_OUT, i * PS));
        ck_assert_msg(store_is(fx.tp, i * PS, PS, (uint8_t)(i + 1)), "page %d: wrong data at the pager", (int)i);
    }
    for (size_t i = 0; i < tp_ncalls(fx.tp); i++) {
        tp_call_t c = tp_call(fx.tp, i);
        if (c.kind != TP_PAGE_OUT)
            continue;
        ck_assert_uint_eq(c.zero_blocks, 0);
    }
    ck_assert_uint_eq(tp_count(fx.tp, TP_PAGE_IN), PNP);
    ck_assert_uint_eq(tp_count(fx.tp, TP_SYNC) + tp_count(fx.tp, TP_WRITE_OUT), 0);
}
END_TEST

/* Dirty all-zero pages travel as zero indications; the pager zeroes them. */
START_TEST(test_pressure_zero_pages_as_indications)
{
    fx_map(&fx, SPRING_RIGHTS_RW);
    for (spring_off_t i = 0; i < PNP; i++)
        ck_assert_rc(put_page(fx.as, fx.a + i * PS, 0), 0);
    ck_assert_rc(spring_as_flush(fx.as, fx.a, fx.len, false), 0);
    ck_assert_uint_eq(pages_of(fx.tp, TP_PAGE_OUT), PNP);
    for (size_t i = 0; i < tp_ncalls(fx.tp); i++) {
        tp_call_t c = tp_call(fx.tp, i);
        if (c.kind != TP_PAGE_OUT)
            continue;
        ck_assert_uint_eq(c.zero_blocks, c.data_blocks); /* every page an indication */
    }
    ck_assert(store_is(fx.tp, 0, PNP * PS, 0));
}
END_TEST

/* Pages the pager answers as all zero (zero indications in page_in) read
 * zero, also in frames that last held other data of the same cache, which
 * are not scrubbed before the page_in (§7.4 does not require it): only the
 * VMM's handling of the indication clears them. */
START_TEST(test_pressure_zero_indications_clear_reused_frames)
{
    fx_map(&fx, SPRING_RIGHTS_RW);
    /* Every frame ends up holding (or having held) this cache's data. */
    for (spring_off_t i = 0; i < PNP; i++)
        ck_assert_rc(put_page(fx.as, fx.a + i * PS, (uint8_t)(0x80 | i)), 0);
    ck_assert_rc(spring_as_flush(fx.as, fx.a, fx.len, false), 0);
    ck_assert(test_vm_info(fx.vmm).free_frames == PN);
    /* The pager's pages are now all zero. */
    tp_lock(fx.tp);
    memset(tp_store(fx.tp), 0, (size_t)fx.len);
    tp_unlock(fx.tp);
    uint64_t scrubs = test_vm_info(fx.vmm).scrubs;
    tp_clear(fx.tp);
    for (spring_off_t i = 0; i < PNP; i++)
        ck_assert_msg(page_is(fx.as, fx.a + i * PS, 0), "page %d: a page the pager sent as all zero is not",
                      (int)i);
    ck_assert_uint_eq(tp_count(fx.tp, TP_PAGE_IN), PNP);
    ck_assert_uint_eq(test_vm_info(fx.vmm).scrubs, scrubs); /* the frames were this cache's: not scrubbed */
}
END_TEST

/* A cache never bound writable (only bound through a memory object whose
 * rights are read-only) never sends data, even blocks the pager zero-filled
 * (held read-write, counted modified): no page_out under pressure or on
 * flush, nothing in write_back's or flush_back's result. */
START_TEST(test_pressure_ro_bound_never_sends)
{
    spring_mobj_unref(fx.m);
    fx.m = tp_mobj(fx.tp, SPRING_RIGHTS_RO);
    fx_map(&fx, SPRING_RIGHTS_RO);
    ck_assert_rc(spring_cache_zero_fill(tp_cache(fx.tp), 0, 4 * PS, NULL), 0);
    for (spring_off_t i = 0; i < PNP; i++)
        ck_assert_uint_eq(rd1(fx.as, fx.a + i * PS + 1), i < 4 ? 0 : tp_pattern(i * PS + 1));
    ck_assert_uint_eq(tp_count(fx.tp, TP_PAGE_IN), PNP - 4);
    for (size_t i = 0; i < tp_ncalls(fx.tp); i++)
        if (tp_call(fx.tp, i).kind == TP_PAGE_IN)
            ck_assert_uint_eq(tp_call(fx.tp, i).access, SPRING_RIGHTS_RO);
    ck_assert_uint_eq(tp_count(fx.tp, TP_PAGE_OUT), 0);
    /* Some zero-filled pages are still cached (re-materialize two). */
    ck_assert_rc(spring_cache_zero_fill(tp_cache(fx.tp), 0, 2 * PS, NULL), 0);
    ck_assert_uint_eq(rd1(fx.as, fx.a), 0);
    ck_assert_uint_eq(rd1(fx.as, fx.a + PS), 0);
    spring_data_t *d = NULL;
    ck_assert_rc(spring_cache_write_back(tp_cache(fx.tp), 0, SPRING_SIZE_ALL, NULL, &d), 0);
    ck_assert_uint_eq(d->nblocks, 0);
    spring_data_free(d);
    ck_assert_rc(spring_as_flush(fx.as, fx.a, fx.len, false), 0);
    ck_assert_uint_eq(tp_count(fx.tp, TP_PAGE_OUT) + tp_count(fx.tp, TP_SYNC) + tp_count(fx.tp, TP_WRITE_OUT), 0);
    ck_assert_uint_eq(rd1(fx.as, fx.a + 2 * PS), tp_pattern(2 * PS));
    d = NULL;
    ck_assert_rc(spring_cache_flush_back(tp_cache(fx.tp), 0, SPRING_SIZE_ALL, NULL, &d), 0);
    ck_assert_uint_eq(d->nblocks, 0);
    spring_data_free(d);
}
END_TEST

/* Every test starts from a fixture of PN frames under PNP pages, nothing
 * mapped yet. */
static void pressure_setup(void)
{
    fx_init(&fx, PN, PNP, 0, SPRING_OWN_EXCLUSIVE);
}

void scen_pressure(Suite *s)
{
    TCase *t = tcase_create("pressure");
    tcase_add_checked_fixture(t, pressure_setup, fx_teardown);
    tcase_add_test(t, test_pressure_clean_reuse_is_silent);
    tcase_add_test(t, test_pressure_dirty_paged_out_once);
    tcase_add_test(t, test_pressure_zero_pages_as_indications);
    tcase_add_test(t, test_pressure_zero_indications_clear_reused_frames);
    tcase_add_test(t, test_pressure_ro_bound_never_sends);
    suite_add_tcase(s, t);
}
