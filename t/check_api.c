/*
 * check_api.c - the public API, function by function: legal uses and a
 * table of illegal ones with the exact error each gets.  Built twice: over
 * the soft HAT and over the recording HAT (TEST_RECORDING_HAT).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"

#ifndef TEST_RECORDING_HAT
#define TEST_RECORDING_HAT 0
#endif

#define PS 4096

/* ------------------------------------------------------------------ */
/* Errors.                                                              */

START_TEST(test_error_names)
{
    ck_assert_str_eq(spring_err_name(0), "SPRING_OK");
    ck_assert_str_eq(spring_err_name(SPRING_EINVAL), "SPRING_EINVAL");
    ck_assert_str_eq(spring_err_name(SPRING_EBADHANDLE), "SPRING_EBADHANDLE");
    ck_assert_str_eq(spring_err_name(SPRING_EOVERFLOW), "SPRING_EOVERFLOW");
    ck_assert_str_eq(spring_err_name(12345), "SPRING_EUNKNOWN");
    ck_assert_str_eq(spring_err_name(SPRING__ERR_MIN), "SPRING_EUNKNOWN");
    ck_assert_str_eq(spring_strerror(0), "success");
    ck_assert_str_eq(spring_strerror(SPRING_ENOMEM), "out of host memory");
    ck_assert_str_eq(spring_strerror(-9999), "unknown error");
    /* Every code has a distinct name and a message. */
    for (int e = -1; e > SPRING__ERR_MIN; e--) {
        ck_assert_str_ne(spring_err_name(e), "SPRING_EUNKNOWN");
        ck_assert_str_ne(spring_strerror(e), "unknown error");
        for (int f = e - 1; f > SPRING__ERR_MIN; f--)
            ck_assert_str_ne(spring_err_name(e), spring_err_name(f));
    }
}
END_TEST

START_TEST(test_rights)
{
    ck_assert(spring_rights_valid(SPRING_RIGHTS_RO));
    ck_assert(spring_rights_valid(SPRING_RIGHTS_RX));
    ck_assert(spring_rights_valid(SPRING_RIGHTS_RW));
    ck_assert(spring_rights_valid(SPRING_RIGHTS_RWX));
    ck_assert(!spring_rights_valid(SPRING_RIGHTS_NONE));
    ck_assert(!spring_rights_valid(SPRING_RIGHTS_W));
    ck_assert(!spring_rights_valid(SPRING_RIGHTS_X));
    ck_assert(!spring_rights_valid((spring_rights_t)8));
    ck_assert(spring_rights_subset(SPRING_RIGHTS_RO, SPRING_RIGHTS_RW));
    ck_assert(!spring_rights_subset(SPRING_RIGHTS_RWX, SPRING_RIGHTS_RW));
    ck_assert(!spring_rights_subset(SPRING_RIGHTS_RX, SPRING_RIGHTS_RW));
}
END_TEST

/* ------------------------------------------------------------------ */
/* VMM creation.                                                        */

START_TEST(test_vmm_new_illegal)
{
    spring_vmm_config_t cfg;
    spring_vmm_t *vmm = NULL;
    static const struct {
        size_t page_size, nframes;
        const char *name;
        int mode;
        int want;
    } t[] = {
        {4096, 64, "v", 0, 0},
        {8192, 64, "v", 1, 0},
        {2048, 64, "v", 0, SPRING_EINVAL},  /* below 4 KiB */
        {12288, 64, "v", 0, SPRING_EINVAL}, /* not a power of two */
        {0, 64, "v", 0, SPRING_EINVAL},
        {4096, 3, "v", 0, SPRING_EINVAL},   /* too few frames */
        {4096, 64, "", 0, SPRING_EINVAL},   /* empty name */
        {4096, 64, NULL, 0, SPRING_EINVAL},
        {4096, 64, "v", 7, SPRING_EINVAL},  /* unknown mode */
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        spring_vmm_config_init(&cfg);
        cfg.page_size = t[i].page_size;
        cfg.nframes = t[i].nframes;
        cfg.name = t[i].name;
        cfg.mode = (spring_vmm_mode_t)t[i].mode;
        cfg.hat = test_hat_ops;
        int rc = spring_vmm_new(&cfg, &vmm);
        ck_assert_msg(rc == t[i].want, "case %zu: %s", i, spring_err_name(rc));
        if (rc == 0) {
            ck_assert_str_eq(spring_vmm_name(vmm), "v");
            ck_assert_rc(spring_vmm_destroy(vmm), 0);
        }
    }
    ck_assert_rc(spring_vmm_new(NULL, &vmm), SPRING_EINVAL);
    spring_vmm_config_init(&cfg);
    ck_assert_rc(spring_vmm_new(&cfg, NULL), SPRING_EINVAL);
    spring_hat_ops_t bad = *spring_hat_soft();
    bad.version = 0;
    cfg.hat = &bad;
    ck_assert_rc(spring_vmm_new(&cfg, &vmm), SPRING_EVERSION);
    bad = *spring_hat_soft();
    bad.translate = NULL;
    ck_assert_rc(spring_vmm_new(&cfg, &vmm), SPRING_EINVAL);
    ck_assert_rc(spring_vmm_destroy(NULL), SPRING_EINVAL);
    ck_assert_ptr_null(spring_vmm_name(NULL));
    spring_vmm_config_init(NULL); /* accepted */
}
END_TEST

/* ------------------------------------------------------------------ */
/* One end-to-end path: pager -> bind -> map -> fault -> HAT -> access.  */

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
        ck_assert_uint_eq(buf[i], ((5 * PS + 10 + i) * 7 + 3) & 0xff);
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
    ck_assert_uint_eq(tp_count(tp, TP_PAGE_OUT), 2);
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

static Suite *api_suite(void)
{
    Suite *s = suite_create(TEST_RECORDING_HAT ? "api (recording HAT)" : "api (soft HAT)");
    TCase *tc = tcase_create("errors");
    tcase_add_test(tc, test_error_names);
    tcase_add_test(tc, test_rights);
    suite_add_tcase(s, tc);
    tc = tcase_create("vmm");
    tcase_add_test(tc, test_vmm_new_illegal);
    suite_add_tcase(s, tc);
    tc = tcase_create("paths");
    tcase_add_test(tc, test_map_read_write);
    tcase_add_test(tc, test_shared_read_fault_asks_read_only);
    tcase_add_test(tc, test_two_mobjs_share_cache);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
#if TEST_RECORDING_HAT
    test_hat_ops = rechat_ops();
#endif
    SRunner *sr = srunner_create(api_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
