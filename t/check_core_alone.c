/*
 * check_core_alone.c - the VMM core is a layer of its own (docs/architecture.md,
 * decision 11): this program is linked with the core's convenience library
 * only, without jansson, libdl or the host layer (the plugin loader, the
 * JSON stack, the store helper), so that it links at all is the first test.
 * It then runs the core through its public calls: a VMM with the soft HAT
 * and the in-tree anonymous pager, an address space, memory written and
 * read, and spring_vmm_sync_flags().
 */
#include <check.h>
#include <string.h>

#include <spring/spring.h>

#include "testmain.h"

#define ck_assert_rc(x, want)                                                             \
    do {                                                                                  \
        int rc_ = (x);                                                                    \
        ck_assert_msg(rc_ == (want), "%s = %s, expected %s", #x, spring_err_name(rc_), \
                      spring_err_name(want));                                             \
    } while (0)

static spring_vm_info_t info(spring_vmm_t *vmm)
{
    spring_vmm_obj_t o;
    ck_assert_rc(spring_vmm_get_object(vmm, SPRING_PRIV_USER, &o), 0);
    spring_vm_info_t i;
    ck_assert_rc(spring_vmm_get_vm_info(o, &i), 0);
    return i;
}

START_TEST(test_core_runs)
{
    spring_vmm_config_t cfg;
    spring_vmm_config_init(&cfg);
    cfg.name = "core";
    cfg.nframes = 32;
    cfg.mode = SPRING_VMM_DETERMINISTIC;
    spring_vmm_t *vmm;
    ck_assert_rc(spring_vmm_new(&cfg, &vmm), 0);
    spring_as_t *as;
    ck_assert_rc(spring_as_new(vmm, NULL, &as), 0);
    spring_off_t len = 8 * 4096;
    spring_addr_t a = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_allocate_memory(as, &len, &a, SPRING_RIGHTS_RW), 0);
    ck_assert_rc(spring_as_write(as, a + 4095, "core", 5), 0);
    char buf[5];
    ck_assert_rc(spring_as_read(as, a + 4095, buf, 5), 0);
    ck_assert_str_eq(buf, "core");
    spring_as_destroy(as);
    ck_assert_rc(spring_vmm_destroy(vmm), 0);
}
END_TEST

/* spring_vmm_sync_flags: unknown flags and NULL refused; with
 * SPRING_VMM_SYNC_SKIP_ANON anonymous memory is not written back, without
 * it it is (the in-tree anonymous pager keeps data with sync). */
START_TEST(test_sync_flags)
{
    ck_assert_rc(spring_vmm_sync_flags(NULL, 0), SPRING_EINVAL);
    spring_vmm_config_t cfg;
    spring_vmm_config_init(&cfg);
    cfg.name = "sync";
    cfg.nframes = 32;
    cfg.mode = SPRING_VMM_DETERMINISTIC;
    spring_vmm_t *vmm;
    ck_assert_rc(spring_vmm_new(&cfg, &vmm), 0);
    spring_as_t *as;
    ck_assert_rc(spring_as_new(vmm, NULL, &as), 0);
    spring_off_t len = 4 * 4096;
    spring_addr_t a = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_allocate_memory(as, &len, &a, SPRING_RIGHTS_RW), 0);
    ck_assert_rc(spring_as_write(as, a, "anon", 4), 0);
    uint64_t wb = info(vmm).write_backs, po = info(vmm).page_outs;
    ck_assert_rc(spring_vmm_sync_flags(vmm, 2), SPRING_EINVAL);
    ck_assert_rc(spring_vmm_sync_flags(vmm, ~0u), SPRING_EINVAL);
    ck_assert_rc(spring_vmm_sync_flags(vmm, SPRING_VMM_SYNC_SKIP_ANON), 0);
    ck_assert_uint_eq(info(vmm).write_backs, wb);
    ck_assert_uint_eq(info(vmm).page_outs, po);
    ck_assert_rc(spring_vmm_sync_flags(vmm, 0), 0);
    ck_assert_uint_gt(info(vmm).write_backs + info(vmm).page_outs, wb + po);
    char buf[4];
    ck_assert_rc(spring_as_read(as, a, buf, 4), 0);
    ck_assert_mem_eq(buf, "anon", 4);
    spring_as_destroy(as);
    ck_assert_rc(spring_vmm_destroy(vmm), 0);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("core_alone");
    TCase *t = tcase_create("core");
    tcase_add_test(t, test_core_runs);
    tcase_add_test(t, test_sync_flags);
    suite_add_tcase(s, t);
    return s;
}
