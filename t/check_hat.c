/*
 * check_hat.c - a test HAT backend that uses every slot and upcall of the
 * HAT interface, version 2 (include/spring/hat.h), around the soft HAT:
 *
 *   - its MMU page is half the VMM's page (mmu_pages_per_page == 2);
 *   - it keeps "tables" in frames it takes from the VMM (take_frames at
 *     creation and for each context's first translation), gives them back
 *     (give_frames), and fails an enter with SPRING_ENOFRAMES when no free
 *     frame is left, which the VMM must answer by making room;
 *   - it reports faults it "took" itself through report_fault;
 *   - it offers an extension ("test.hat", version 1) with its counters.
 *
 * Only the public headers are used.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"
#include "testmain.h"

#define PS 8192
#define MMU 4096

/* The extension the backend offers. */
struct test_hat_ext {
    void *hat;
    int (*touch)(void *hat, struct spring_as *as, spring_addr_t va, spring_rights_t access);
    int (*mapped)(void *hat, struct spring_as *as, spring_addr_t va, size_t *frame);
    unsigned table_frames;   /* frames held for tables now */
    unsigned enoframes;      /* enters refused for want of a table frame */
    unsigned mmu_ratio;      /* env->mmu_pages_per_page as given */
    int env_fd;              /* env->frame_fd as given */
};

struct tctx {
    void *soft;
    struct spring_as *as;
    bool has_table;
    size_t table;
};

struct thd {
    const spring_hat_ops_t *s;
    void *soft;
    spring_hat_env_t env;
    size_t root;
    struct test_hat_ext ext;
    struct tctx *ctxs[16];
};

static const spring_hat_ops_t *soft(void)
{
    return spring_hat_soft();
}

/* Write a table frame, as an MMU's tables would be written. */
static void table_init(struct thd *h, size_t f)
{
    memset(h->env.frame_base + f * h->env.page_size, 0x5e, h->env.page_size);
}

static int t_create(const spring_hat_env_t *env, void **out)
{
    if (env->version != SPRING_HAT_ENV_VERSION || env->size < sizeof *env)
        return SPRING_EVERSION;
    struct thd *h = calloc(1, sizeof *h);
    if (h == NULL)
        return SPRING_ENOMEM;
    h->env = *env;
    h->ext.hat = h;
    h->ext.mmu_ratio = env->mmu_pages_per_page;
    h->ext.env_fd = env->frame_fd;
    int rc = env->take_frames(env->vmm, 1, &h->root);
    if (rc == 0) {
        table_init(h, h->root);
        h->ext.table_frames++;
        rc = soft()->create(env, &h->soft);
        if (rc)
            env->give_frames(env->vmm, &h->root, 1);
    }
    if (rc) {
        free(h);
        return rc;
    }
    *out = h;
    return 0;
}

static void t_destroy(void *hp)
{
    struct thd *h = hp;
    soft()->destroy(h->soft);
    h->env.give_frames(h->env.vmm, &h->root, 1);
    free(h);
}

static int t_ctx_create(void *hp, struct spring_as *as, void **out)
{
    struct thd *h = hp;
    struct tctx *c = calloc(1, sizeof *c);
    if (c == NULL)
        return SPRING_ENOMEM;
    c->as = as;
    int rc = soft()->ctx_create(h->soft, as, &c->soft);
    if (rc) {
        free(c);
        return rc;
    }
    for (size_t i = 0; i < 16; i++)
        if (h->ctxs[i] == NULL) {
            h->ctxs[i] = c;
            break;
        }
    *out = c;
    return 0;
}

static void t_ctx_destroy(void *hp, void *cp)
{
    struct thd *h = hp;
    struct tctx *c = cp;
    for (size_t i = 0; i < 16; i++)
        if (h->ctxs[i] == c)
            h->ctxs[i] = NULL;
    if (c->has_table) {
        h->env.give_frames(h->env.vmm, &c->table, 1);
        h->ext.table_frames--;
    }
    soft()->ctx_destroy(h->soft, c->soft);
    free(c);
}

static int t_enter(void *hp, void *cp, spring_addr_t va, size_t frame, spring_rights_t prot)
{
    struct thd *h = hp;
    struct tctx *c = cp;
    if (!c->has_table) {
        /* The context's first translation needs a table frame. */
        if (h->env.take_frames(h->env.vmm, 1, &c->table) != 0) {
            h->ext.enoframes++;
            return SPRING_ENOFRAMES;
        }
        table_init(h, c->table);
        c->has_table = true;
        h->ext.table_frames++;
    }
    return soft()->enter(h->soft, c->soft, va, frame, prot);
}

static void t_remove(void *hp, void *cp, spring_addr_t va, spring_off_t len)
{
    soft()->remove(((struct thd *)hp)->soft, ((struct tctx *)cp)->soft, va, len);
}

static void t_protect(void *hp, void *cp, spring_addr_t va, spring_off_t len, spring_rights_t prot)
{
    soft()->protect(((struct thd *)hp)->soft, ((struct tctx *)cp)->soft, va, len, prot);
}

static void t_frame_unload(void *hp, size_t frame)
{
    soft()->frame_unload(((struct thd *)hp)->soft, frame);
}

static void t_frame_protect(void *hp, size_t frame, spring_rights_t prot)
{
    soft()->frame_protect(((struct thd *)hp)->soft, frame, prot);
}

static unsigned t_frame_refmod(void *hp, size_t frame, unsigned clear)
{
    return soft()->frame_refmod(((struct thd *)hp)->soft, frame, clear);
}

static int t_translate(void *hp, void *cp, spring_addr_t va, spring_rights_t access, size_t *frame)
{
    return soft()->translate(((struct thd *)hp)->soft, ((struct tctx *)cp)->soft, va, access, frame);
}

static struct tctx *ctx_of(struct thd *h, struct spring_as *as)
{
    for (size_t i = 0; i < 16; i++)
        if (h->ctxs[i] && h->ctxs[i]->as == as)
            return h->ctxs[i];
    return NULL;
}

/* A fault the backend "took": reported to the VMM, which resolves it. */
static int x_touch(void *hp, struct spring_as *as, spring_addr_t va, spring_rights_t access)
{
    struct thd *h = hp;
    return h->env.report_fault(h->env.vmm, as, va, access);
}

/* Whether the backend holds a translation of va (read). */
static int x_mapped(void *hp, struct spring_as *as, spring_addr_t va, size_t *frame)
{
    struct thd *h = hp;
    struct tctx *c = ctx_of(h, as);
    return c ? soft()->translate(h->soft, c->soft, va, SPRING_RIGHTS_R, frame) : SPRING_ENOTMAPPED;
}

static const void *t_extension(void *hp, const char *name, int version)
{
    struct thd *h = hp;
    if (strcmp(name, "test.hat") == 0 && version == 1) {
        h->ext.touch = x_touch;
        h->ext.mapped = x_mapped;
        return &h->ext;
    }
    return NULL;
}

static const spring_hat_ops_t test_hat = {
    .version = SPRING_HAT_OPS_VERSION,
    .name = "test",
    .mmu_page_size = MMU,
    .create = t_create,
    .destroy = t_destroy,
    .ctx_create = t_ctx_create,
    .ctx_destroy = t_ctx_destroy,
    .enter = t_enter,
    .remove = t_remove,
    .protect = t_protect,
    .frame_unload = t_frame_unload,
    .frame_protect = t_frame_protect,
    .frame_refmod = t_frame_refmod,
    .translate = t_translate,
    .extension = t_extension,
};

static spring_vmm_t *vmm_new(size_t nframes)
{
    spring_vmm_config_t cfg;
    spring_vmm_config_init(&cfg);
    cfg.name = "hat";
    cfg.page_size = PS;
    cfg.nframes = nframes;
    cfg.mode = SPRING_VMM_DETERMINISTIC;
    cfg.hat = &test_hat;
    spring_vmm_t *vmm = NULL;
    ck_assert_rc(spring_vmm_new(&cfg, &vmm), 0);
    return vmm;
}

static struct test_hat_ext *ext_of(spring_vmm_t *vmm)
{
    const struct test_hat_ext *e = spring_vmm_hat_extension(vmm, "test.hat", 1);
    ck_assert_ptr_nonnull(e);
    return (struct test_hat_ext *)e;
}

/* The environment: MMU page ratio, the pool's descriptor; the extension
 * query by name and version. */
START_TEST(test_hat_env_and_extension)
{
    spring_vmm_t *vmm = vmm_new(16);
    struct test_hat_ext *e = ext_of(vmm);
    ck_assert_uint_eq(e->mmu_ratio, PS / MMU);
    ck_assert_int_ge(e->env_fd, 0);
    ck_assert_ptr_null(spring_vmm_hat_extension(vmm, "test.hat", 2));
    ck_assert_ptr_null(spring_vmm_hat_extension(vmm, "test.other", 1));
    ck_assert_ptr_eq(spring_vmm_hat_extension(vmm, "test.hat", 1), e);
    CHECK_VMM(vmm);
    ck_assert_rc(spring_vmm_destroy(vmm), 0);
}
END_TEST

/* Table frames taken from the VMM (the special cache of §9.2.1): counted
 * in vm_info, never evicted or handed to a pager, given back with the
 * context and the backend; the VMM's checker accepts them. */
START_TEST(test_hat_table_frames)
{
    spring_vmm_t *vmm = vmm_new(16);
    struct test_hat_ext *e = ext_of(vmm);
    ck_assert_uint_eq(test_vm_info(vmm).special_frames, 1); /* the root, taken at creation */
    spring_as_t *as = NULL;
    ck_assert_rc(spring_as_new(vmm, NULL, &as), 0);
    spring_off_t len = 8 * PS;
    spring_addr_t a = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_allocate_memory(as, &len, &a, SPRING_RIGHTS_RW), 0);
    uint8_t v = 0x42;
    ck_assert_rc(spring_as_write(as, a, &v, 1), 0);
    ck_assert_uint_eq(e->table_frames, 2);
    spring_vm_info_t vi = test_vm_info(vmm);
    ck_assert_uint_eq(vi.special_frames, 2);
    ck_assert_uint_eq(vi.free_frames + vi.special_frames + 1, 16); /* one frame of data */
    CHECK_VMM(vmm);
    /* Under pressure the table frames stay: fill every other frame. */
    for (spring_off_t i = 0; i < 8; i++)
        ck_assert_rc(spring_as_write(as, a + i * PS, &v, 1), 0);
    ck_assert_uint_eq(test_vm_info(vmm).special_frames, 2);
    CHECK_VMM(vmm);
    spring_as_destroy(as);
    ck_assert_uint_eq(e->table_frames, 1);
    ck_assert_uint_eq(test_vm_info(vmm).special_frames, 1);
    ck_assert_rc(spring_vmm_destroy(vmm), 0);
}
END_TEST

/* An enter that needs a table frame when none is free returns
 * SPRING_ENOFRAMES; the VMM makes room (evicting) and enters again, so the
 * access still succeeds. */
START_TEST(test_hat_table_frame_under_pressure)
{
    spring_vmm_t *vmm = vmm_new(8);
    struct test_hat_ext *e = ext_of(vmm);
    spring_as_t *as1 = NULL, *as2 = NULL;
    ck_assert_rc(spring_as_new(vmm, NULL, &as1), 0);
    ck_assert_rc(spring_as_new(vmm, NULL, &as2), 0);
    spring_off_t len = 16 * PS;
    spring_addr_t a = SPRING_ANYWHERE;
    spring_mobj_t *m = NULL;
    ck_assert_rc(spring_as_allocate_memory_and_mobj(as1, &len, &a, SPRING_RIGHTS_RW, &m), 0);
    uint8_t v = 0x17;
    for (spring_off_t i = 0; i < 16; i++) { /* every frame ends up holding data */
        v = (uint8_t)(0x10 + i);
        ck_assert_rc(spring_as_write(as1, a + i * PS, &v, 1), 0);
    }
    ck_assert_uint_eq(test_vm_info(vmm).free_frames, 0);
    /* as2's first translation needs a table frame: none is free. */
    spring_addr_t b = SPRING_ANYWHERE;
    len = 16 * PS;
    ck_assert_rc(spring_as_map(as2, m, 0, &len, &b, SPRING_RIGHTS_RW), 0);
    unsigned before = e->enoframes;
    ck_assert_rc(spring_as_read(as2, b + 15 * PS, &v, 1), 0);
    ck_assert_uint_eq(v, 0x10 + 15);
    ck_assert_uint_gt(e->enoframes, before);
    ck_assert_uint_eq(e->table_frames, 3);
    CHECK_VMM(vmm);
    /* Nothing was lost making room. */
    for (spring_off_t i = 0; i < 16; i++) {
        ck_assert_rc(spring_as_read(as2, b + i * PS, &v, 1), 0);
        ck_assert_uint_eq(v, 0x10 + i);
    }
    spring_as_destroy(as2);
    spring_as_destroy(as1);
    spring_mobj_unref(m);
    ck_assert_rc(spring_vmm_destroy(vmm), 0);
}
END_TEST

/* A fault the backend took is reported through the upcall: the VMM
 * resolves it (paging in, entering the translation through the backend);
 * an unmapped address or a forbidden access gets the code spring_as_fault
 * gives. */
START_TEST(test_hat_fault_upcall)
{
    spring_vmm_t *vmm = vmm_new(16);
    struct test_hat_ext *e = ext_of(vmm);
    spring_as_t *as = NULL;
    ck_assert_rc(spring_as_new(vmm, NULL, &as), 0);
    spring_off_t len = 4 * PS;
    spring_addr_t a = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_allocate_memory(as, &len, &a, SPRING_RIGHTS_RO), 0);
    size_t fr;
    ck_assert_rc(e->mapped(e->hat, as, a + PS, &fr), SPRING_ENOTMAPPED);
    ck_assert_rc(e->touch(e->hat, as, a + PS + 5, SPRING_RIGHTS_R), 0);
    ck_assert_rc(e->mapped(e->hat, as, a + PS, &fr), 0);
    spring_as_statistics_t st = test_as_stats(as);
    ck_assert_uint_eq(st.faults, 1);
    ck_assert_uint_eq(st.resident, 1);
    ck_assert_rc(e->touch(e->hat, as, a + PS, SPRING_RIGHTS_W), SPRING_EACCES);
    ck_assert_rc(e->touch(e->hat, as, a + 64 * PS, SPRING_RIGHTS_R), SPRING_ENOTMAPPED);
    CHECK_VMM(vmm);
    spring_as_destroy(as);
    ck_assert_rc(spring_vmm_destroy(vmm), 0);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("hat");
    TCase *t = tcase_create("v2");
    tcase_add_test(t, test_hat_env_and_extension);
    tcase_add_test(t, test_hat_table_frames);
    tcase_add_test(t, test_hat_table_frame_under_pressure);
    tcase_add_test(t, test_hat_fault_upcall);
    suite_add_tcase(s, t);
    return s;
}
