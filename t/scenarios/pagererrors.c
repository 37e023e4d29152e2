/*
 * pagererrors.c - pager errors at every call site: page_in, page_out (once
 * and always), sync and flush; a swap pager whose objects fail
 * zero_fill_range.
 */
#include "scen.h"

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

void scen_pagererrors(Suite *s)
{
    TCase *t = tcase_create("pagererrors");
    tcase_add_test(t, test_pager_error_page_in);
    tcase_add_test(t, test_pager_error_page_out_once);
    tcase_add_test(t, test_pager_error_page_out_always);
    tcase_add_test(t, test_pager_error_sync_and_flush);
    tcase_add_test(t, test_anon_zero_fill_range_fails);
    suite_add_tcase(s, t);
}
