/*
 * paths.c - one end-to-end path: pager -> bind -> map -> fault -> HAT ->
 * access; a shared read fault asks for read-only data; two memory objects
 * share one cache.
 */
#include "api.h"

START_TEST(test_map_read_write)
{
    spring_registry_t *reg;
    spring_vmm_t *vmm = test_vmm("vmm1", 32, &reg);
    spring_as_t *as;
    ck_assert_rc(spring_as_new(vmm, NULL, &as), 0);
    tpager_t *tp = tp_new(reg, "vmm1", NULL, 16 * PS, 0, SPRING_OWN_EXCLUSIVE, true);
    spring_mobj_t *m = tp_mobj(tp, SPRING_RIGHTS_RW);
    spring_off_t len = 8 * PS;
    spring_addr_t addr = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_map(as, m, 4 * PS, &len, &addr, SPRING_RIGHTS_RW), 0);
    ck_assert_uint_eq(len, 8 * PS);
    uint8_t buf[100];
    ck_assert_rc(spring_as_read(as, addr + PS + 10, buf, sizeof buf), 0);
    for (size_t i = 0; i < sizeof buf; i++)
        ck_assert_uint_eq(buf[i], tp_pattern(5 * PS + 10 + i));
    /* A read fault on a read-write mapping of an exclusive cache asks for
     * read-write data (§5.1). */
    ck_assert_uint_eq(tp_count(tp, TP_PAGE_IN), 1);
    ck_assert_uint_eq(tp_call(tp, 1).kind, TP_PAGE_IN);
    ck_assert_uint_eq(tp_call(tp, 1).access, SPRING_RIGHTS_RW);
    ck_assert_uint_eq(tp_call(tp, 1).off, 5 * PS);
    memset(buf, 0xab, sizeof buf);
    ck_assert_rc(spring_as_write(as, addr + 2 * PS - 50, buf, sizeof buf), 0); /* crosses a page */
    ck_assert_rc(spring_as_flush(as, addr, len, false), 0);
    ck_assert_uint_eq(tp_store(tp)[4 * PS + 2 * PS - 50], 0xab);
    ck_assert_uint_eq(tp_store(tp)[4 * PS + 2 * PS + 49], 0xab);
    /* The two modified pages are contiguous: one page_out carries both. */
    ck_assert_uint_eq(tp_count(tp, TP_PAGE_OUT), 1);
    ck_assert_uint_eq(tp_call(tp, tp_ncalls(tp) - 1).size, 2 * PS);
    ck_assert_uint_eq(tp_call(tp, tp_ncalls(tp) - 1).data_blocks, 2);
    if (TEST_RECORDING_HAT) /* the VMM went through the recording HAT */
        ck_assert(rechat_count(RH_ENTER) > 0 && rechat_count(RH_TRANSLATE) > 0 && rechat_count(RH_UNLOAD) > 0);
    CHECK_VMM(vmm);
    spring_as_destroy(as);
    spring_mobj_unref(m);
    tp_free(tp);
    test_vmm_free(vmm, reg);
}
END_TEST

START_TEST(test_shared_read_fault_asks_read_only)
{
    spring_registry_t *reg;
    spring_vmm_t *vmm = test_vmm("vmm1", 32, &reg);
    spring_as_t *as;
    ck_assert_rc(spring_as_new(vmm, NULL, &as), 0);
    tpager_t *tp = tp_new(reg, "vmm1", NULL, 4 * PS, 0, SPRING_OWN_SHARED, true);
    spring_mobj_t *m = tp_mobj(tp, SPRING_RIGHTS_RW);
    spring_off_t len = 4 * PS;
    spring_addr_t addr = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_map(as, m, 0, &len, &addr, SPRING_RIGHTS_RW), 0);
    ck_assert_rc(spring_as_fault(as, addr, SPRING_RIGHTS_R), 0);
    ck_assert_uint_eq(tp_count(tp, TP_PAGE_IN), 1);
    tp_call_t c = tp_call(tp, tp_ncalls(tp) - 1);
    ck_assert_uint_eq(c.access, SPRING_RIGHTS_RO);
    ck_assert_uint_eq(c.own, SPRING_OWN_SHARED);
    /* A write then upgrades the block: a read-write page_in of the same block. */
    ck_assert_rc(spring_as_fault(as, addr, SPRING_RIGHTS_W), 0);
    c = tp_call(tp, tp_ncalls(tp) - 1);
    ck_assert_uint_eq(c.kind, TP_PAGE_IN);
    ck_assert_uint_eq(c.access, SPRING_RIGHTS_RW);
    ck_assert(c.upgrade);
    CHECK_VMM(vmm);
    spring_as_destroy(as);
    spring_mobj_unref(m);
    tp_free(tp);
    test_vmm_free(vmm, reg);
}
END_TEST

START_TEST(test_two_mobjs_share_cache)
{
    spring_registry_t *reg;
    spring_vmm_t *vmm = test_vmm("vmm1", 32, &reg);
    spring_as_t *as;
    ck_assert_rc(spring_as_new(vmm, NULL, &as), 0);
    tpager_t *tp = tp_new(reg, "vmm1", NULL, 4 * PS, 0, SPRING_OWN_EXCLUSIVE, true);
    spring_mobj_t *rw = tp_mobj(tp, SPRING_RIGHTS_RW), *ro = tp_mobj(tp, SPRING_RIGHTS_RO);
    spring_off_t len = 4 * PS;
    spring_addr_t a1 = SPRING_ANYWHERE, a2 = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_map(as, rw, 0, &len, &a1, SPRING_RIGHTS_RW), 0);
    ck_assert_rc(spring_as_map(as, ro, 0, &len, &a2, SPRING_RIGHTS_RW), SPRING_ERIGHTS);
    ck_assert_rc(spring_as_map(as, ro, 0, &len, &a2, SPRING_RIGHTS_RO), 0);
    ck_assert_rc(spring_as_change_access_rights(as, a2, PS, SPRING_RIGHTS_RW), SPRING_ERIGHTS);
    void *p1, *p2;
    spring_pin_t pin1, pin2;
    ck_assert_rc(spring_as_translate(as, a1, SPRING_RIGHTS_W, &p1, &pin1), 0);
    ck_assert_rc(spring_as_translate(as, a2, SPRING_RIGHTS_R, &p2, &pin2), 0);
    ck_assert_ptr_eq(p1, p2); /* the same frame */
    *(uint8_t *)p1 = 0x5a;
    spring_pin_release(&pin1);
    spring_pin_release(&pin2);
    ck_assert_rc(spring_as_write(as, a2, "x", 1), SPRING_EACCES);
    uint8_t v;
    ck_assert_rc(spring_as_read(as, a2, &v, 1), 0);
    ck_assert_uint_eq(v, 0x5a);
    ck_assert_uint_eq(tp_count(tp, TP_PAGE_IN), 1);
    CHECK_VMM(vmm);
    spring_as_destroy(as);
    spring_mobj_unref(rw);
    spring_mobj_unref(ro);
    tp_free(tp);
    test_vmm_free(vmm, reg);
}
END_TEST

void api_paths(Suite *s)
{
    TCase *t = tcase_create("paths");
    tcase_add_test(t, test_map_read_write);
    tcase_add_test(t, test_shared_read_fault_asks_read_only);
    tcase_add_test(t, test_two_mobjs_share_cache);
    suite_add_tcase(s, t);
}
