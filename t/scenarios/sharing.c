/*
 * sharing.c - two memory objects with different maximum rights over one
 * cache.
 */
#include "scen.h"

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

void scen_sharing(Suite *s)
{
    TCase *t = tcase_create("sharing");
    tcase_add_test(t, test_sharing_two_mobjs_one_cache);
    suite_add_tcase(s, t);
}
