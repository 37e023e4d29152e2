/*
 * anon.c - anonymous memory and swap pagers: zero-filled and persistent, an
 * anonymous object mapped twice, per-space and added swap pagers, none.
 */
#include "scen.h"

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

void scen_anon(Suite *s)
{
    TCase *t = tcase_create("anon");
    tcase_add_test(t, test_anon_zero_and_persistent);
    tcase_add_test(t, test_anon_mobj_mapped_twice);
    tcase_add_test(t, test_anon_set_swap_pager);
    tcase_add_test(t, test_anon_add_swap_pager);
    tcase_add_test(t, test_anon_no_swap);
    suite_add_tcase(s, t);
}
