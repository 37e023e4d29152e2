/*
 * privilege.c - a system (default) pager is waited for: its failed
 * page-outs are retried.
 */
#include "scen.h"

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

void scen_privilege(Suite *s)
{
    TCase *t = tcase_create("privilege");
    tcase_add_test(t, test_system_pager_page_out_retried);
    suite_add_tcase(s, t);
}
