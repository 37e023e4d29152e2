/*
 * hat.c - hat.h: the soft HAT's vtable.
 */
#include "api.h"

START_TEST(test_hat_soft)
{
    const spring_hat_ops_t *h = spring_hat_soft();
    ck_assert_ptr_nonnull(h);
    ck_assert_ptr_eq(spring_hat_soft(), h); /* static storage */
    ck_assert_int_eq(h->version, SPRING_HAT_OPS_VERSION);
    ck_assert_str_eq(h->name, "soft");
    ck_assert(h->create && h->destroy && h->ctx_create && h->ctx_destroy && h->enter && h->remove && h->protect &&
              h->frame_unload && h->frame_protect && h->frame_refmod && h->translate);

    /* Drive the backend through its vtable. */
    uint8_t *frames = aligned_alloc(PS, 4 * PS);
    ck_assert_ptr_nonnull(frames);
    spring_hat_env_t env = {.version = SPRING_HAT_ENV_VERSION, .size = sizeof env, .page_size = PS,
                            .mmu_pages_per_page = 1, .nframes = 4, .frame_base = frames, .frame_fd = -1};
    void *hat, *ctx;
    size_t fr = 99;
    const spring_addr_t va = 0x10000;
    ck_assert_rc(h->create(&env, &hat), 0);
    ck_assert_rc(h->ctx_create(hat, NULL, &ctx), 0);
    ck_assert_rc(h->translate(hat, ctx, va, SPRING_RIGHTS_R, &fr), SPRING_ENOTMAPPED);
    ck_assert_rc(h->enter(hat, ctx, va, 2, SPRING_RIGHTS_RO), 0);
    ck_assert_rc(h->translate(hat, ctx, va + 123, SPRING_RIGHTS_R, &fr), 0);
    ck_assert_uint_eq(fr, 2);
    ck_assert_rc(h->translate(hat, ctx, va, SPRING_RIGHTS_W, &fr), SPRING_EACCES);
    ck_assert_rc(h->translate(hat, ctx, va, SPRING_RIGHTS_X, &fr), SPRING_EACCES);
    ck_assert_rc(h->translate(hat, ctx, va + PS, SPRING_RIGHTS_R, &fr), SPRING_ENOTMAPPED);
    unsigned rm = h->frame_refmod(hat, 2, SPRING_HAT_REF | SPRING_HAT_MOD);
    ck_assert(rm & SPRING_HAT_REF);
    ck_assert(!(rm & SPRING_HAT_MOD));
    ck_assert_uint_eq(h->frame_refmod(hat, 2, 0), 0); /* cleared */
    ck_assert_rc(h->enter(hat, ctx, va, 2, SPRING_RIGHTS_RW), 0); /* replaces */
    ck_assert_rc(h->translate(hat, ctx, va, SPRING_RIGHTS_W, &fr), 0);
    ck_assert(h->frame_refmod(hat, 2, SPRING_HAT_MOD) & SPRING_HAT_MOD);
    h->frame_protect(hat, 2, SPRING_RIGHTS_RO);
    ck_assert_rc(h->translate(hat, ctx, va, SPRING_RIGHTS_W, &fr), SPRING_EACCES);
    ck_assert_rc(h->translate(hat, ctx, va, SPRING_RIGHTS_R, &fr), 0);
    h->protect(hat, ctx, va, PS, SPRING_RIGHTS_NONE); /* NONE removes */
    ck_assert_rc(h->translate(hat, ctx, va, SPRING_RIGHTS_R, &fr), SPRING_ENOTMAPPED);
    ck_assert_rc(h->enter(hat, ctx, va, 2, SPRING_RIGHTS_RO), 0);
    h->frame_unload(hat, 2);
    ck_assert_rc(h->translate(hat, ctx, va, SPRING_RIGHTS_R, &fr), SPRING_ENOTMAPPED);
    ck_assert_rc(h->enter(hat, ctx, va, 3, SPRING_RIGHTS_RX), 0);
    ck_assert_rc(h->translate(hat, ctx, va, SPRING_RIGHTS_X, &fr), 0);
    ck_assert_uint_eq(fr, 3);
    h->remove(hat, ctx, va, PS);
    ck_assert_rc(h->translate(hat, ctx, va, SPRING_RIGHTS_R, &fr), SPRING_ENOTMAPPED);
    h->ctx_destroy(hat, ctx);
    h->destroy(hat);
    free(frames);

    /* The VMM takes it explicitly as well as by default. */
    spring_vmm_config_t cfg;
    spring_vmm_config_init(&cfg);
    cfg.hat = h;
    cfg.nframes = 8;
    cfg.mode = SPRING_VMM_DETERMINISTIC;
    spring_vmm_t *vmm;
    ck_assert_rc(spring_vmm_new(&cfg, &vmm), 0);
    spring_as_t *as;
    ck_assert_rc(spring_as_new(vmm, NULL, &as), 0);
    spring_off_t len = PS;
    spring_addr_t addr = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_allocate_memory(as, &len, &addr, SPRING_RIGHTS_RW), 0);
    write_byte(as, addr, 7);
    ck_assert_uint_eq(read_byte(as, addr), 7);
    spring_as_destroy(as);
    ck_assert_rc(spring_vmm_destroy(vmm), 0);
}
END_TEST

void api_hat(Suite *s)
{
    TCase *t = tcase_create("hat");
    tcase_add_test(t, test_hat_soft);
    suite_add_tcase(s, t);
}
