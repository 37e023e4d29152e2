/*
 * check_core_alone.c - the VMM core is a layer of its own (docs/architecture.md,
 * decision 11): this program is linked with the core's convenience library
 * only, without jansson, libdl or the host layer (the plugin loader, the
 * JSON stack, the store helper), so that it links at all is the first test.
 * It then runs the core through its public calls: a VMM with the soft HAT
 * and the in-tree anonymous pager, an address space, memory written and
 * read, spring_vmm_sync_flags(), and the structures that grow (common.h:
 * each starts with its size).
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

static spring_vmm_t *vmm_small(const char *name)
{
    spring_vmm_config_t cfg;
    spring_vmm_config_init(&cfg);
    cfg.name = name;
    cfg.nframes = 32;
    cfg.mode = SPRING_VMM_DETERMINISTIC;
    spring_vmm_t *vmm;
    ck_assert_rc(spring_vmm_new(&cfg, &vmm), 0);
    return vmm;
}

static spring_vm_info_t info(spring_vmm_t *vmm)
{
    spring_vmm_obj_t o;
    ck_assert_rc(spring_vmm_get_object(vmm, SPRING_PRIV_USER, &o), 0);
    spring_vm_info_t i = {.size = sizeof i};
    ck_assert_rc(spring_vmm_get_vm_info(o, &i), 0);
    return i;
}

/* An address space of vmm with len bytes of anonymous memory: its address. */
static spring_addr_t anon_as(spring_vmm_t *vmm, spring_off_t len, spring_as_t **as)
{
    ck_assert_rc(spring_as_new(vmm, NULL, as), 0);
    spring_addr_t a = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_allocate_memory(*as, &len, &a, SPRING_RIGHTS_RW), 0);
    return a;
}

START_TEST(test_core_runs)
{
    spring_vmm_t *vmm = vmm_small("core");
    spring_as_t *as;
    spring_addr_t a = anon_as(vmm, 8 * 4096, &as);
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
    spring_vmm_t *vmm = vmm_small("sync");
    spring_as_t *as;
    spring_addr_t a = anon_as(vmm, 4 * 4096, &as);
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

/* A structure the library reads: the init function sets its size; a size
 * below the first version is refused, and so is a larger one whose extra
 * bytes are not zero; a larger one with zero extra bytes is read. */
struct big_config {
    spring_vmm_config_t cfg;
    unsigned char more[24];
};

START_TEST(test_sized_config)
{
    struct big_config b;
    memset(&b, 0x5a, sizeof b);
    spring_vmm_config_init(&b.cfg);
    ck_assert_uint_eq(b.cfg.size, sizeof(spring_vmm_config_t));
    b.cfg.name = "sized";
    b.cfg.nframes = 16;
    b.cfg.mode = SPRING_VMM_DETERMINISTIC;
    spring_vmm_t *vmm = NULL;
    b.cfg.size = 0;
    ck_assert_rc(spring_vmm_new(&b.cfg, &vmm), SPRING_EINVAL);
    b.cfg.size = sizeof(spring_vmm_config_t) - 1;
    ck_assert_rc(spring_vmm_new(&b.cfg, &vmm), SPRING_EINVAL);
    b.cfg.size = SPRING_STRUCT_SIZE_MAX + 1; /* never set */
    ck_assert_rc(spring_vmm_new(&b.cfg, &vmm), SPRING_EINVAL);
    b.cfg.size = sizeof b; /* a newer header's fields this library does not know: not zero */
    ck_assert_rc(spring_vmm_new(&b.cfg, &vmm), SPRING_EINVAL);
    ck_assert_ptr_null(vmm);
    memset(b.more, 0, sizeof b.more);
    ck_assert_rc(spring_vmm_new(&b.cfg, &vmm), 0);
    ck_assert_str_eq(spring_vmm_name(vmm), "sized");
    ck_assert_uint_eq(info(vmm).nframes, 16);

    spring_as_options_t o[2];
    memset(o, 0x5a, sizeof o);
    spring_as_options_init(&o[0]);
    ck_assert_uint_eq(o[0].size, sizeof o[0]);
    spring_as_t *as = NULL;
    o[0].size = 8;
    ck_assert_rc(spring_as_new(vmm, &o[0], &as), SPRING_EINVAL);
    o[0].size = sizeof o; /* the second element's bytes are not zero */
    ck_assert_rc(spring_as_new(vmm, &o[0], &as), SPRING_EINVAL);
    memset(&o[1], 0, sizeof o[1]);
    o[0].limit = 1u << 20;
    ck_assert_rc(spring_as_new(vmm, &o[0], &as), 0);
    spring_off_t len = 4096;
    spring_addr_t a = 1u << 20;
    ck_assert_rc(spring_as_allocate_memory(as, &len, &a, SPRING_RIGHTS_RW), SPRING_ERANGE);
    spring_as_destroy(as);
    ck_assert_rc(spring_vmm_destroy(vmm), 0);
}
END_TEST

/* Structures the library fills: a size below the first version is refused
 * and nothing is written; the library writes only size bytes; a larger
 * size has the bytes it does not know zeroed, and no byte past size is
 * touched. */
#define FILLED(type, name, call, check)                                                              \
    do {                                                                                        \
        struct {                                                                                \
            type v;                                                                             \
            unsigned char more[16];                                                             \
            unsigned char past[16];                                                             \
        } b;                                                                                    \
        memset(&b, 0x5a, sizeof b);                                                             \
        type *name = &b.v;                                                                      \
        name->size = 0;                                                                         \
        ck_assert_rc(call, SPRING_EINVAL);                                                      \
        name->size = sizeof(type) - 1;                                                          \
        ck_assert_rc(call, SPRING_EINVAL);                                                      \
        name->size = SPRING_STRUCT_SIZE_MAX + 1;                                                \
        ck_assert_rc(call, SPRING_EINVAL);                                                      \
        for (size_t k_ = sizeof(size_t); k_ < sizeof(type); k_++)                                \
            ck_assert_msg(((unsigned char *)name)[k_] == 0x5a, #type ": byte %zu written", k_);  \
        name->size = sizeof(type);                                                              \
        ck_assert_rc(call, 0);                                                                  \
        ck_assert_uint_eq(name->size, sizeof(type));                                            \
        for (size_t k_ = 0; k_ < sizeof b.more; k_++)                                           \
            ck_assert_uint_eq(b.more[k_], 0x5a);                                                \
        check;                                                                                  \
        name->size = sizeof(type) + sizeof b.more;                                              \
        ck_assert_rc(call, 0);                                                                  \
        ck_assert_uint_eq(name->size, sizeof(type) + sizeof b.more);                            \
        for (size_t k_ = 0; k_ < sizeof b.more; k_++)                                           \
            ck_assert_uint_eq(b.more[k_], 0);                                                   \
        for (size_t k_ = 0; k_ < sizeof b.past; k_++)                                           \
            ck_assert_uint_eq(b.past[k_], 0x5a);                                                \
    } while (0)

START_TEST(test_sized_outputs)
{
    spring_vmm_t *vmm = vmm_small("out");
    spring_as_t *as;
    spring_addr_t a = anon_as(vmm, 4096, &as);
    ck_assert_rc(spring_as_write(as, a, "x", 1), 0);
    spring_vmm_obj_t o;
    ck_assert_rc(spring_vmm_get_object(vmm, SPRING_PRIV_USER, &o), 0);
    FILLED(spring_vm_info_t, vi, spring_vmm_get_vm_info(o, vi), ck_assert_uint_eq(vi->nframes, 32));
    FILLED(spring_as_statistics_t, st, spring_as_statistics(as, st),
           ck_assert(st->nregions == 1 && st->resident == 1));
    FILLED(spring_pager_stats_t, ps, spring_as_pager_stats(as, a, ps), ck_assert_uint_eq(ps->page_outs, 0));
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
    tcase_add_test(t, test_sized_config);
    tcase_add_test(t, test_sized_outputs);
    suite_add_tcase(s, t);
    return s;
}
