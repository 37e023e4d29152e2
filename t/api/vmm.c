/*
 * vmm.c - vmm.h, the VMM: configuration, creation (and its HAT),
 * destruction while busy, the vmm object, the consistency check, failure
 * injection, information, sync, pager statistics, reclaiming caches,
 * create_cache_object, bind_cache and create_cache_object_and_bind (inside
 * final_bind), add_swap_pager.
 */
#include "api.h"
#include "testhooks.h"

static const spring_pager_ops_t sp_ops_v0 = {
    .version = 0, .page_in = sp_page_in, .page_out = sp_page_out,
    .done_with_pager_object = sp_done_with_pager_object,
};
static const spring_pager_ops_t sp_ops_vneg = {
    .version = -1, .page_in = sp_page_in, .page_out = sp_page_out,
    .done_with_pager_object = sp_done_with_pager_object,
};
/* A version newer than the library knows. */
static const spring_pager_ops_t sp_ops_vnew = {
    .version = SPRING_PAGER_OPS_VERSION + 1, .page_in = sp_page_in, .page_out = sp_page_out,
    .done_with_pager_object = sp_done_with_pager_object,
};
static const spring_pager_ops_t sp_ops_no_page_in = {
    .version = SPRING_PAGER_OPS_VERSION, .page_out = sp_page_out,
    .done_with_pager_object = sp_done_with_pager_object,
};
static const spring_pager_ops_t sp_ops_no_page_out = {
    .version = SPRING_PAGER_OPS_VERSION, .page_in = sp_page_in,
    .done_with_pager_object = sp_done_with_pager_object,
};

/* Pager-ops variants by table index. */
enum { OPS_GOOD, OPS_NULL, OPS_V0, OPS_VNEG, OPS_NO_PAGE_IN, OPS_NO_PAGE_OUT, OPS_VNEW };
static const spring_pager_ops_t *const pager_ops_variant[] = {
    &sp_ops, NULL, &sp_ops_v0, &sp_ops_vneg, &sp_ops_no_page_in, &sp_ops_no_page_out, &sp_ops_vnew,
};

/* --- A HAT wrapping the test HAT, to see what the VMM tells it and to make
 * its create and ctx_create fail. */

static spring_hat_ops_t wrap_hat;
static int wrap_create_rc, wrap_ctx_rc;
static spring_hat_env_t wrap_env;
static char wrap_options[32];

static const spring_hat_ops_t *base_hat(void)
{
    return test_hat_ops ? test_hat_ops : spring_hat_soft();
}

static int wrap_create(const spring_hat_env_t *env, void **hat)
{
    wrap_env = *env;
    snprintf(wrap_options, sizeof wrap_options, "%s", env->options ? env->options : "(null)");
    if (wrap_create_rc)
        return wrap_create_rc;
    return base_hat()->create(env, hat);
}

static struct spring_as *wrap_ctx_as;

static int wrap_ctx_create(void *hat, struct spring_as *as, void **ctx)
{
    wrap_ctx_as = as;
    if (wrap_ctx_rc)
        return wrap_ctx_rc;
    return base_hat()->ctx_create(hat, as, ctx);
}

static const spring_hat_ops_t *wrapped_hat(void)
{
    wrap_hat = *base_hat();
    wrap_hat.create = wrap_create;
    wrap_hat.ctx_create = wrap_ctx_create;
    wrap_create_rc = wrap_ctx_rc = 0;
    return &wrap_hat;
}

START_TEST(test_vmm_config_init)
{
    spring_vmm_config_t cfg;
    memset(&cfg, 0x5a, sizeof cfg);
    spring_vmm_config_init(&cfg);
    ck_assert_str_eq(cfg.name, "vmm");
    ck_assert_uint_eq(cfg.page_size, 4096);
    ck_assert_uint_eq(cfg.nframes, 1024);
    ck_assert_int_eq(cfg.mode, SPRING_VMM_THREADED);
    ck_assert_ptr_null(cfg.hat);
    ck_assert_ptr_null(cfg.hat_options);
    ck_assert(!cfg.no_default_swap_pager);
    ck_assert_uint_eq(cfg.max_unattached_caches, 0);
    spring_vmm_config_init(NULL); /* ignored */
    /* The defaults make a working VMM (threaded). */
    spring_vmm_t *vmm;
    cfg.hat = test_hat_ops;
    ck_assert_rc(spring_vmm_new(&cfg, &vmm), 0);
    ck_assert_str_eq(spring_vmm_name(vmm), "vmm");
    spring_vm_info_t info = test_vm_info(vmm);
    ck_assert_uint_eq(info.page_size, 4096);
    ck_assert_uint_eq(info.nframes, 1024);
    ck_assert_uint_eq(info.free_frames + info.inuse_frames, 1024);
    ck_assert_rc(spring_vmm_destroy(vmm), 0);
}
END_TEST

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
        {4096, 0, "v", 0, SPRING_EINVAL},
        {4096, 4, "v", 1, 0},               /* the fewest frames */
        {4096, 64, "", 0, SPRING_EINVAL},   /* empty name */
        {4096, 64, NULL, 0, SPRING_EINVAL},
        {4096, 64, "v", 7, SPRING_EINVAL},  /* unknown mode */
        {4096, 64, "v", -1, SPRING_EINVAL},
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

/* Clear one required slot of a HAT vtable. */
static void hat_clear_slot(spring_hat_ops_t *h, int slot)
{
    switch (slot) {
    case 0: h->create = NULL; break;
    case 1: h->destroy = NULL; break;
    case 2: h->ctx_create = NULL; break;
    case 3: h->ctx_destroy = NULL; break;
    case 4: h->enter = NULL; break;
    case 5: h->remove = NULL; break;
    case 6: h->protect = NULL; break;
    case 7: h->frame_unload = NULL; break;
    case 8: h->frame_protect = NULL; break;
    case 9: h->frame_refmod = NULL; break;
    case 10: h->translate = NULL; break;
    default: break;
    }
}

START_TEST(test_vmm_new_hat)
{
    spring_vmm_config_t cfg;
    spring_vmm_t *vmm = NULL;
    spring_hat_ops_t bad;
    spring_vmm_config_init(&cfg);
    cfg.mode = SPRING_VMM_DETERMINISTIC;
    cfg.nframes = 16;
    cfg.hat = &bad;
    /* Every required slot: missing -> EINVAL. */
    for (int slot = 0; slot < 11; slot++) {
        bad = *base_hat();
        hat_clear_slot(&bad, slot);
        CASE_RC(slot, spring_vmm_new(&cfg, &vmm), SPRING_EINVAL);
    }
    static const int versions[] = {0, -1, -1000, 1, SPRING_HAT_OPS_VERSION + 1, 99}; /* 1: the old layout */
    for (size_t i = 0; i < NELEM(versions); i++) {
        bad = *base_hat();
        bad.version = versions[i];
        CASE_RC(i, spring_vmm_new(&cfg, &vmm), SPRING_EVERSION);
    }
    static const size_t bad_mmu[] = {3 * 1024, 8192, 1 << 20};
    for (size_t i = 0; i < NELEM(bad_mmu); i++) { /* not a power of two dividing the 4 KiB page */
        bad = *base_hat();
        bad.mmu_page_size = bad_mmu[i];
        CASE_RC(i, spring_vmm_new(&cfg, &vmm), SPRING_EINVAL);
    }
    bad = *base_hat();
    bad.name = NULL; /* the name is not a method */
    ck_assert_rc(spring_vmm_new(&cfg, &vmm), 0);
    ck_assert_ptr_null(spring_vmm_hat_extension(vmm, "anything", 1)); /* no extension slot */
    ck_assert_ptr_null(spring_vmm_hat_extension(vmm, NULL, 1));
    ck_assert_ptr_null(spring_vmm_hat_extension(NULL, "anything", 1));
    ck_assert_rc(spring_vmm_destroy(vmm), 0);

    /* The VMM tells the backend its frame pool and options. */
    cfg.hat = wrapped_hat();
    cfg.page_size = 8192;
    cfg.hat_options = "opt=1";
    ck_assert_rc(spring_vmm_new(&cfg, &vmm), 0);
    ck_assert_int_eq(wrap_env.version, SPRING_HAT_ENV_VERSION);
    ck_assert_uint_eq(wrap_env.size, sizeof(spring_hat_env_t));
    ck_assert_uint_eq(wrap_env.page_size, 8192);
    ck_assert_uint_eq(wrap_env.mmu_pages_per_page, 1);
    ck_assert_uint_eq(wrap_env.nframes, 16);
    ck_assert_ptr_nonnull(wrap_env.frame_base);
    ck_assert_int_ge(wrap_env.frame_fd, 0);
    ck_assert_uint_eq(wrap_env.frame_offset, 0);
    ck_assert(wrap_env.vmm && wrap_env.report_fault && wrap_env.take_frames && wrap_env.give_frames);
    ck_assert_str_eq(wrap_options, "opt=1");
    /* ctx_create failing: spring_as_new returns the HAT's code. */
    spring_as_t *as = NULL;
    wrap_ctx_rc = SPRING_ENOSPC;
    ck_assert_rc(spring_as_new(vmm, NULL, &as), SPRING_ENOSPC);
    ck_assert_uint_eq(test_vm_info(vmm).naddress_spaces, 0);
    wrap_ctx_rc = 0;
    ck_assert_rc(spring_as_new(vmm, NULL, &as), 0);
    ck_assert_ptr_eq(wrap_ctx_as, as); /* the context knows its address space */
    ck_assert_uint_eq(test_vm_info(vmm).naddress_spaces, 1);
    ck_assert_uint_eq(spring_as_get_page_size(as), 8192);
    spring_as_destroy(as);
    ck_assert_rc(spring_vmm_destroy(vmm), 0);
    /* create failing: spring_vmm_new returns the backend's code. */
    wrap_create_rc = SPRING_ENOSPC;
    vmm = NULL;
    ck_assert_rc(spring_vmm_new(&cfg, &vmm), SPRING_ENOSPC);
    ck_assert_ptr_null(vmm);
    wrap_create_rc = 0;
}
END_TEST

START_TEST(test_vmm_destroy_busy)
{
    spring_registry_t *reg;
    spring_vmm_t *vmm = test_vmm("api", 16, &reg);
    spring_as_t *as;
    ck_assert_rc(spring_as_new(vmm, NULL, &as), 0);
    tpager_t *tp = tp_new(reg, "api", NULL, 4 * PS, 0, SPRING_OWN_EXCLUSIVE, true);
    spring_mobj_t *m = tp_mobj(tp, SPRING_RIGHTS_RW);
    map_at(as, m, 0, 4 * PS, A0, SPRING_RIGHTS_RW);
    ck_assert_uint_eq(read_byte(as, A0 + 5), tp_pattern(5));
    spring_vmm_obj_t vo = vmm_obj(vmm, SPRING_PRIV_USER);
    spring_vm_info_t before = test_vm_info(vmm);

    ck_assert_rc(spring_vmm_destroy(vmm), SPRING_EBUSY);
    /* Nothing changed: the address space, the vmm object, the registry. */
    CHECK_VMM(vmm);
    ck_assert_str_eq(spring_vmm_name(vmm), "api");
    spring_vm_info_t after = {.size = sizeof after};
    ck_assert_rc(spring_vmm_get_vm_info(vo, &after), 0);
    ck_assert_uint_eq(after.naddress_spaces, before.naddress_spaces);
    ck_assert_uint_eq(after.ncaches, before.ncaches);
    ck_assert_uint_eq(after.inuse_frames, before.inuse_frames);
    ck_assert_uint_eq(read_byte(as, A0 + PS + 9), tp_pattern(PS + 9));
    write_byte(as, A0 + 2 * PS, 0x42);
    ck_assert_uint_eq(read_byte(as, A0 + 2 * PS), 0x42);
    spring_vmm_obj_t looked;
    ck_assert_rc(spring_registry_lookup(reg, "api", NULL, &looked), 0);
    ck_assert_uint_eq(tp_count(tp, TP_DONE_WITH_POBJ), 0);

    /* Once the address space is gone the VMM goes, and takes the remaining
     * cache with it (the pager is told). */
    spring_as_destroy(as);
    spring_mobj_unref(m);
    ck_assert_rc(spring_registry_remove_vmm(reg, vmm), 0);
    ck_assert_rc(spring_vmm_destroy(vmm), 0);
    ck_assert_uint_eq(tp_count(tp, TP_DONE_WITH_POBJ), 1);
    /* Its vmm objects are stale now. */
    ck_assert_rc(spring_vmm_get_vm_info(vo, &after), SPRING_EBADHANDLE);
    ck_assert_rc(spring_vmm_get_vm_info(looked, &after), SPRING_EBADHANDLE);
    ck_assert_rc(spring_registry_lookup(reg, "api", NULL, &looked), SPRING_ENOENT);
    tp_free(tp);
    spring_registry_destroy(reg);
}
END_TEST

START_TEST(test_vmm_get_object)
{
    spring_vmm_t *vmm = test_vmm("api", 16, NULL);
    static spring_vmm_obj_t sink;
    const struct {
        spring_vmm_t *vmm;
        int priv;
        spring_vmm_obj_t *out;
        int want;
    } t[] = {
        {NULL, SPRING_PRIV_USER, &sink, SPRING_EINVAL},
        {vmm, SPRING_PRIV_USER, NULL, SPRING_EINVAL},
        {vmm, 2, &sink, SPRING_EINVAL},
        {vmm, -1, &sink, SPRING_EINVAL},
        {vmm, 100, &sink, SPRING_EINVAL},
    };
    for (size_t i = 0; i < NELEM(t); i++)
        CASE_RC(i, spring_vmm_get_object(t[i].vmm, (spring_privilege_t)t[i].priv, t[i].out), t[i].want);
    spring_vmm_obj_t user, sys, user2;
    ck_assert_rc(spring_vmm_get_object(vmm, SPRING_PRIV_USER, &user), 0);
    ck_assert_rc(spring_vmm_get_object(vmm, SPRING_PRIV_SYSTEM, &sys), 0);
    ck_assert_rc(spring_vmm_get_object(vmm, SPRING_PRIV_USER, &user2), 0);
    ck_assert_uint_ne(user.h, 0);
    ck_assert_uint_ne(sys.h, 0);
    ck_assert_uint_ne(user.h, sys.h);
    ck_assert_uint_eq(user.h, user2.h);
    /* Both work; only the system one may add swap pagers. */
    spring_vm_info_t info = {.size = sizeof info};
    ck_assert_rc(spring_vmm_get_vm_info(user, &info), 0);
    ck_assert_rc(spring_vmm_get_vm_info(sys, &info), 0);
    cswap_t cs = {0};
    ck_assert_rc(spring_vmm_add_swap_pager(user, &cs_ops, &cs, false), SPRING_EPERM);
    ck_assert_rc(spring_vmm_add_swap_pager(sys, &cs_ops, &cs, false), 0);
    ck_assert_rc(spring_vmm_destroy(vmm), 0);
    ck_assert_int_eq(cs.releases, 1);
}
END_TEST

START_TEST(test_vmm_check)
{
    const char *why = "unset";
    ck_assert_rc(spring_vmm_check(NULL, &why), SPRING_EINVAL);
    ck_assert_rc(spring_vmm_check(NULL, NULL), SPRING_EINVAL);
    fix_t f;
    fix_init(&f, true, 0);
    ck_assert_rc(spring_vmm_check(f.vmm, NULL), 0); /* why is optional */
    ck_assert_uint_eq(read_byte(f.as, A0), tp_pattern(0));
    ck_assert_rc(spring_as_lock_memory(f.as, A0 + PS, PS), 0);
    ck_assert_rc(spring_vmm_check(f.vmm, &why), 0);
    fix_fini(&f);
}
END_TEST

START_TEST(test_vmm_inject_alloc_failure)
{
    ck_assert_rc(spring__test_inject_alloc_failure(NULL, 1), SPRING_EINVAL);
    spring_vmm_t *vmm = test_vmm("api", 16, NULL);
    spring_as_t *as1 = NULL, *as2 = NULL, *as3 = NULL;
    /* The next allocation fails; the one after does not. */
    ck_assert_rc(spring__test_inject_alloc_failure(vmm, 1), 0);
    ck_assert_rc(spring_as_new(vmm, NULL, &as1), SPRING_ENOMEM);
    ck_assert_uint_eq(test_vm_info(vmm).naddress_spaces, 0);
    ck_assert_rc(spring_as_new(vmm, NULL, &as1), 0);
    /* The second from now. */
    ck_assert_rc(spring__test_inject_alloc_failure(vmm, 2), 0);
    ck_assert_rc(spring_as_new(vmm, NULL, &as2), 0);
    ck_assert_rc(spring_as_new(vmm, NULL, &as3), SPRING_ENOMEM);
    /* 0 turns it off. */
    ck_assert_rc(spring__test_inject_alloc_failure(vmm, 1), 0);
    ck_assert_rc(spring__test_inject_alloc_failure(vmm, 0), 0);
    ck_assert_rc(spring_as_new(vmm, NULL, &as3), 0);
    ck_assert_uint_eq(test_vm_info(vmm).naddress_spaces, 3);
    CHECK_VMM(vmm);
    spring_as_destroy(as1);
    spring_as_destroy(as2);
    spring_as_destroy(as3);
    ck_assert_rc(spring_vmm_destroy(vmm), 0);
}
END_TEST

START_TEST(test_vmm_get_vm_info)
{
    fix_t f;
    fix_init(&f, false, 0);
    spring_vmm_obj_t user = vmm_obj(f.vmm, SPRING_PRIV_USER);
    spring_vm_info_t info = {.size = sizeof info};
    ck_assert_rc(spring_vmm_get_vm_info(user, NULL), SPRING_EINVAL);
    /* Handles that are not vmm objects. */
    spring_vmm_t *gone = test_vmm("gone", 4, NULL);
    spring_vmm_obj_t stale = vmm_obj(gone, SPRING_PRIV_SYSTEM);
    ck_assert_rc(spring_vmm_destroy(gone), 0);
    uint64_t bad[16];
    size_t n = forgeries(user.h, bad);
    bad[n++] = tp_cache(f.tp).h;  /* a cache object */
    bad[n++] = tp_rights(f.tp).h; /* a cache-rights object */
    bad[n++] = stale.h;           /* a destroyed VMM's */
    for (size_t i = 0; i < n; i++) {
        memset(&info, 0x5a, sizeof info);
        info.size = sizeof info;
        CASE_RC(i, spring_vmm_get_vm_info((spring_vmm_obj_t){bad[i]}, &info), SPRING_EBADHANDLE);
    }
    /* Legal. */
    ck_assert_rc(spring_vmm_get_vm_info(user, &info), 0);
    ck_assert_uint_eq(info.page_size, PS);
    ck_assert_uint_eq(info.nframes, 64);
    ck_assert_uint_eq(info.free_frames + info.inuse_frames, 64);
    ck_assert_uint_eq(info.naddress_spaces, 1);
    ck_assert_uint_eq(info.ncaches, 1);
    ck_assert_uint_eq(info.locked_frames, 0);
    uint64_t faults = info.faults, page_ins = info.page_ins;
    size_t free_frames = info.free_frames;
    ck_assert_uint_eq(read_byte(f.as, A0 + 3 * PS), tp_pattern(3 * PS));
    ck_assert_rc(spring_vmm_get_vm_info(vmm_obj(f.vmm, SPRING_PRIV_SYSTEM), &info), 0);
    ck_assert_uint_eq(info.faults, faults + 1);
    ck_assert_uint_eq(info.page_ins, page_ins + 1);
    ck_assert_uint_eq(info.free_frames, free_frames - 1);
    fix_fini(&f);
}
END_TEST

/* spring_vmm_sync: NULL refused; nothing modified: no pager call; a
 * modified page goes back with sync and stays cached; a failing sync
 * leaves it modified and says so; an empty VMM syncs. */
START_TEST(test_vmm_sync)
{
    ck_assert_rc(spring_vmm_sync(NULL), SPRING_EINVAL);
    spring_vmm_t *empty = test_vmm("empty", 8, NULL);
    ck_assert_rc(spring_vmm_sync(empty), 0);
    ck_assert_rc(spring_vmm_destroy(empty), 0);
    fix_t f;
    fix_init(&f, false, 0);
    (void)read_byte(f.as, A0);
    tp_clear(f.tp);
    ck_assert_rc(spring_vmm_sync(f.vmm), 0);
    ck_assert_uint_eq(tp_ncalls(f.tp), 0);
    write_byte(f.as, A0 + PS, 0x5a);
    tp_fail(f.tp, TP_SYNC, SPRING_EOVERFLOW, false);
    ck_assert_rc(spring_vmm_sync(f.vmm), SPRING_EPAGER);
    ck_assert_uint_ne(tp_store(f.tp)[PS], 0x5a);
    ck_assert_rc(spring_vmm_sync(f.vmm), 0);
    ck_assert_uint_eq(tp_store(f.tp)[PS], 0x5a);
    ck_assert_uint_eq(tp_count(f.tp, TP_SYNC), 2);
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_OUT), 0);
    ck_assert_uint_eq(test_vm_info(f.vmm).write_backs, 2);
    tp_clear(f.tp);
    ck_assert_uint_eq(read_byte(f.as, A0 + PS), 0x5a);
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), 0);
    fix_fini(&f);
}
END_TEST

/* spring_cache_pager_stats and spring_as_pager_stats: illegal uses
 * refused; the counts follow the pager traffic; spring_last_error names a
 * failing pager method and its code. */
START_TEST(test_pager_stats)
{
    fix_t f;
    fix_init(&f, false, 0);
    spring_pager_stats_t st = {.size = sizeof st};
    spring_cache_obj_t c = tp_cache(f.tp);
    ck_assert_rc(spring_cache_pager_stats(c, NULL), SPRING_EINVAL);
    ck_assert_rc(spring_cache_pager_stats((spring_cache_obj_t){FORGED}, &st), SPRING_EBADHANDLE);
    ck_assert_rc(spring_cache_pager_stats((spring_cache_obj_t){0}, &st), SPRING_EBADHANDLE);
    ck_assert_rc(spring_cache_pager_stats((spring_cache_obj_t){tp_rights(f.tp).h}, &st), SPRING_EBADHANDLE);
    ck_assert_rc(spring_as_pager_stats(NULL, A0, &st), SPRING_EINVAL);
    ck_assert_rc(spring_as_pager_stats(f.as, A0, NULL), SPRING_EINVAL);
    ck_assert_rc(spring_as_pager_stats(f.as, AFREE, &st), SPRING_ENOTMAPPED);
    (void)read_byte(f.as, A0);
    (void)read_byte(f.as, A0 + PS);
    write_byte(f.as, A0 + 2 * PS, 1);
    ck_assert_rc(spring_cache_pager_stats(c, &st), 0);
    ck_assert_uint_eq(st.page_ins, tp_count(f.tp, TP_PAGE_IN));
    ck_assert_uint_eq(st.page_ins, 3);
    ck_assert_uint_eq(st.bytes_in, 3 * PS);
    ck_assert_uint_eq(st.page_outs + st.syncs + st.write_outs + st.failures, 0);
    ck_assert_rc(spring_as_flush(f.as, A0, 8 * PS, true), 0);
    tp_fail(f.tp, TP_PAGE_IN, SPRING_ENOSPC, false);
    uint8_t v;
    ck_assert_rc(spring_as_read(f.as, A0 + 5 * PS, &v, 1), SPRING_EPAGER);
    ck_assert_msg(strstr(spring_last_error(), "page_in") && strstr(spring_last_error(), "SPRING_ENOSPC"), "%s",
                  spring_last_error());
    spring_pager_stats_t st2 = {.size = sizeof st2};
    ck_assert_rc(spring_as_pager_stats(f.as, A0 + 3, &st2), 0);
    ck_assert_uint_eq(st2.syncs, 1);
    ck_assert_uint_eq(st2.bytes_out, PS);
    ck_assert_uint_eq(st2.page_ins, 4);
    ck_assert_uint_eq(st2.failures, 1);
    ck_assert_uint_ge(st2.ns, st.ns);
    /* The read-only object at A1 maps the same cache: the same pager. */
    spring_pager_stats_t st3 = {.size = sizeof st3};
    ck_assert_rc(spring_as_pager_stats(f.as, A1, &st3), 0);
    ck_assert_uint_eq(st3.page_ins, st2.page_ins);
    fix_fini(&f);
}
END_TEST

START_TEST(test_vmm_reclaim_caches)
{
    ck_assert_rc(spring_vmm_reclaim_caches(NULL, 0), SPRING_EINVAL);
    fix_t f;
    fix_init(&f, false, 0);
    spring_cache_obj_t c = tp_cache(f.tp);
    spring_cache_rights_t r = tp_rights(f.tp);
    write_byte(f.as, A0 + PS, 0x99);
    /* Nothing unattached yet. */
    ck_assert_int_eq(spring_vmm_reclaim_caches(f.vmm, 0), 0);
    ck_assert_rc(spring_as_unmap(f.as, A0, 8 * PS), 0);
    ck_assert_rc(spring_as_unmap(f.as, A1, 4 * PS), 0);
    ck_assert_uint_eq(tp_count(f.tp, TP_DONE_WITH_CACHE), 1);
    spring_vm_info_t info = test_vm_info(f.vmm);
    ck_assert_uint_eq(info.unattached_caches, 1);
    ck_assert_uint_eq(info.ncaches, 1);
    ck_assert_int_eq(spring_vmm_reclaim_caches(f.vmm, 1), 0); /* one may remain */
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_OUT), 0);
    ck_assert_int_eq(spring_vmm_reclaim_caches(f.vmm, 0), 1);
    /* The modified page went back first; the pager was told. */
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_OUT), 1);
    ck_assert_uint_eq(tp_store(f.tp)[PS], 0x99);
    ck_assert_uint_eq(tp_count(f.tp, TP_DONE_WITH_POBJ), 1);
    info = test_vm_info(f.vmm);
    ck_assert_uint_eq(info.unattached_caches, 0);
    ck_assert_uint_eq(info.ncaches, 0);
    /* Its handles are stale. */
    ck_assert_rc(spring_cache_flush_back(c, 0, SPRING_SIZE_ALL, NULL, NULL), SPRING_EBADHANDLE);
    spring_rights_t got;
    ck_assert_rc(spring_cache_rights_get(r, &got), SPRING_EBADHANDLE);
    ck_assert_int_eq(spring_vmm_reclaim_caches(f.vmm, 0), 0);
    /* Mapping again makes a new cache, with the data from the pager. */
    map_at(f.as, f.rw, 0, 8 * PS, A0, SPRING_RIGHTS_RW);
    map_at(f.as, f.ro, 8 * PS, 4 * PS, A1, SPRING_RIGHTS_RO);
    ck_assert_uint_eq(read_byte(f.as, A0 + PS), 0x99);
    ck_assert_uint_ne(tp_cache(f.tp).h, c.h);
    fix_fini(&f);
}
END_TEST

/* --- create_cache_object */

START_TEST(test_create_cache_object)
{
    spring_registry_t *reg;
    spring_vmm_t *vmm = test_vmm("api", 16, &reg);
    spring_vmm_obj_t user = vmm_obj(vmm, SPRING_PRIV_USER);
    spring_vmm_t *gone = test_vmm("gone", 4, NULL);
    spring_vmm_obj_t stale = vmm_obj(gone, SPRING_PRIV_SYSTEM);
    ck_assert_rc(spring_vmm_destroy(gone), 0);
    spager_t other = {0};
    spring_cache_obj_t oc;
    spring_cache_rights_t orr;
    sp_cache(user, &other, SPRING_RIGHTS_RW, &oc, &orr);
    enum { V_GOOD, V_FORGED, V_ZERO, V_CACHE, V_RIGHTS, V_STALE };
    const uint64_t vobjs[] = {user.h, FORGED, 0, oc.h, orr.h, stale.h};
    static const struct {
        int vobj, ops;
        bool null_info;
        spring_off_t block_size;
        int kind, own, max;
        bool null_cache, null_rights;
        int want;
    } t[] = {
        {V_GOOD, OPS_GOOD, false, 0, 0, 1, 7, true, false, SPRING_EINVAL},
        {V_GOOD, OPS_GOOD, false, 0, 0, 1, 7, false, true, SPRING_EINVAL},
        {V_FORGED, OPS_GOOD, false, 0, 0, 1, 7, false, false, SPRING_EBADHANDLE},
        {V_ZERO, OPS_GOOD, false, 0, 0, 1, 7, false, false, SPRING_EBADHANDLE},
        {V_CACHE, OPS_GOOD, false, 0, 0, 1, 7, false, false, SPRING_EBADHANDLE},
        {V_RIGHTS, OPS_GOOD, false, 0, 0, 1, 7, false, false, SPRING_EBADHANDLE},
        {V_STALE, OPS_GOOD, false, 0, 0, 1, 7, false, false, SPRING_EBADHANDLE},
        {V_GOOD, OPS_NULL, false, 0, 0, 1, 7, false, false, SPRING_EINVAL},
        {V_GOOD, OPS_V0, false, 0, 0, 1, 7, false, false, SPRING_EVERSION},
        {V_GOOD, OPS_VNEG, false, 0, 0, 1, 7, false, false, SPRING_EVERSION},
        {V_GOOD, OPS_VNEW, false, 0, 0, 1, 7, false, false, SPRING_EVERSION},
        {V_GOOD, OPS_NO_PAGE_IN, false, 0, 0, 1, 7, false, false, SPRING_EINVAL},
        {V_GOOD, OPS_NO_PAGE_OUT, false, 0, 0, 1, 7, false, false, SPRING_EINVAL},
        {V_GOOD, OPS_GOOD, true, 0, 0, 1, 7, false, false, SPRING_EINVAL},           /* info NULL */
        {V_GOOD, OPS_GOOD, false, 3 * PS, 0, 1, 7, false, false, SPRING_EINVAL},     /* not a power of two */
        {V_GOOD, OPS_GOOD, false, 6 * PS, 0, 1, 7, false, false, SPRING_EINVAL},
        {V_GOOD, OPS_GOOD, false, PS / 2, 0, 1, 7, false, false, SPRING_EINVAL},     /* below a page */
        {V_GOOD, OPS_GOOD, false, 1, 0, 1, 7, false, false, SPRING_EINVAL},
        {V_GOOD, OPS_GOOD, false, PS + 1, 0, 1, 7, false, false, SPRING_EINVAL},
        /* vmm.h's block-size rule: more than a quarter of the 16 frames. */
        {V_GOOD, OPS_GOOD, false, 8 * PS, 0, 1, 7, false, false, SPRING_ENOFRAMES},
        {V_GOOD, OPS_GOOD, false, 16 * PS, 0, 1, 7, false, false, SPRING_ENOFRAMES},
        {V_GOOD, OPS_GOOD, false, (spring_off_t)1 << 40, 0, 1, 7, false, false, SPRING_ENOFRAMES},
        {V_GOOD, OPS_GOOD, false, 0, 3, 1, 7, false, false, SPRING_EINVAL},          /* unknown kind */
        {V_GOOD, OPS_GOOD, false, 0, 0, 0, 7, false, false, SPRING_EINVAL},          /* own UNCHANGED */
        {V_GOOD, OPS_GOOD, false, 0, 0, 3, 7, false, false, SPRING_EINVAL},
        {V_GOOD, OPS_GOOD, false, 0, 0, -1, 7, false, false, SPRING_EINVAL},
        {V_GOOD, OPS_GOOD, false, 0, 0, 1, 0, false, false, SPRING_EINVAL},          /* rights NONE */
        {V_GOOD, OPS_GOOD, false, 0, 0, 1, 2, false, false, SPRING_EINVAL},          /* write-only */
        {V_GOOD, OPS_GOOD, false, 0, 0, 1, 4, false, false, SPRING_EINVAL},          /* execute-only */
        {V_GOOD, OPS_GOOD, false, 0, 0, 1, 6, false, false, SPRING_EINVAL},
        {V_GOOD, OPS_GOOD, false, 0, 0, 1, 8, false, false, SPRING_EINVAL},
        /* Legal ones. */
        {V_GOOD, OPS_GOOD, false, 0, 0, 1, 7, false, false, 0},
        {V_GOOD, OPS_GOOD, false, 2 * PS, 1, 2, 1, false, false, 0},
        {V_GOOD, OPS_GOOD, false, PS, 2, 1, 5, false, false, 0},
        {V_GOOD, OPS_GOOD, false, 4 * PS, 0, 2, 3, false, false, 0},
    };
    size_t ncaches = test_vm_info(vmm).ncaches;
    for (size_t i = 0; i < NELEM(t); i++) {
        spager_t sp = {.fill = (uint8_t)i};
        spring_pager_info_t info = {t[i].block_size, (spring_cache_kind_t)t[i].kind, 0, true};
        spring_cache_obj_t c = {0};
        spring_cache_rights_t r = {0};
        int rc = spring_vmm_create_cache_object((spring_vmm_obj_t){vobjs[t[i].vobj]}, pager_ops_variant[t[i].ops],
                                                &sp, false, t[i].null_info ? NULL : &info,
                                                (spring_ownership_t)t[i].own, (spring_rights_t)t[i].max,
                                                t[i].null_cache ? NULL : &c, t[i].null_rights ? NULL : &r);
        CASE_RC(i, rc, t[i].want);
        if (rc != 0) {
            /* Nothing created, the pager object not consumed. */
            ck_assert_uint_eq(test_vm_info(vmm).ncaches, ncaches);
            ck_assert_int_eq(sp.done_pobj, 0);
            continue;
        }
        ck_assert_uint_ne(c.h, 0);
        ck_assert_uint_ne(r.h, 0);
        spring_rights_t got;
        ck_assert_rc(spring_cache_rights_get(r, &got), 0);
        ck_assert_int_eq(got, t[i].max);
        ck_assert_uint_eq(test_vm_info(vmm).ncaches, ncaches + 1);
        ck_assert_rc(spring_cache_destroy(c), 0);
        ck_assert_int_eq(sp.done_pobj, 1);
        ck_assert_int_eq(sp.page_ins, 0);
        ck_assert_uint_eq(test_vm_info(vmm).ncaches, ncaches);
    }
    CHECK_VMM(vmm);
    ck_assert_rc(spring_cache_destroy(oc), 0);
    test_vmm_free(vmm, reg);
}
END_TEST

/* --- bind_cache and create_cache_object_and_bind, run inside final_bind. */

/* Handle selectors for the tables below. */
enum { S_GOOD, S_FORGED, S_ZERO, S_CACHE, S_RIGHTS, S_STALE, S_DEAD, S_FOREIGN, S_VMMOBJ };

static struct bk_ctx {
    spring_vmm_t *vmm;
    spring_vmm_obj_t vobj, foreign_vobj;
    spring_cache_obj_t cache;             /* an existing cache of this VMM */
    spring_cache_rights_t rights;         /* its rights (RWX) */
    spring_cache_rights_t stale;          /* a released cache-rights */
    spring_cache_rights_t dead;           /* a cache-rights of a destroyed cache */
    spring_cache_rights_t foreign;        /* a cache-rights of another VMM's cache */
    spager_t made;                        /* the pager of the cache made inside final_bind */
    spring_cache_obj_t made_cache;
    spring_cache_rights_t made_rights;
    bool ran;
} bk;

static uint64_t pick_vobj(int s)
{
    switch (s) {
    case S_GOOD: return bk.vobj.h;
    case S_FORGED: return FORGED;
    case S_ZERO: return 0;
    case S_CACHE: return bk.cache.h;
    case S_RIGHTS: return bk.rights.h;
    case S_FOREIGN: return bk.foreign_vobj.h;
    default: return FORGED ^ 1;
    }
}

static uint64_t pick_key(int s, spring_bind_key_t key)
{
    switch (s) {
    case S_GOOD: return key.h;
    case S_FORGED: return FORGED;
    case S_ZERO: return 0;
    case S_CACHE: return bk.cache.h;
    case S_RIGHTS: return bk.rights.h;
    case S_VMMOBJ: return bk.vobj.h;
    default: return key.h ^ ((uint64_t)1 << 62);
    }
}

static uint64_t pick_rights(int s, spring_cache_rights_t good)
{
    switch (s) {
    case S_GOOD: return good.h;
    case S_FORGED: return FORGED;
    case S_ZERO: return 0;
    case S_CACHE: return bk.cache.h;
    case S_STALE: return bk.stale.h;
    case S_DEAD: return bk.dead.h;
    case S_FOREIGN: return bk.foreign.h;
    case S_VMMOBJ: return bk.vobj.h;
    default: return FORGED ^ 2;
    }
}

static void fb_bind_cache(cmobj_t *m, spring_bind_key_t key, spring_off_t off, spring_off_t len)
{
    (void)m;
    static const struct {
        int vobj, key, rights;
        spring_off_t len;
        int want;
    } t[] = {
        {S_FORGED, S_GOOD, S_GOOD, 4 * PS, SPRING_EBADHANDLE},
        {S_ZERO, S_GOOD, S_GOOD, 4 * PS, SPRING_EBADHANDLE},
        {S_CACHE, S_GOOD, S_GOOD, 4 * PS, SPRING_EBADHANDLE},   /* a cache handle as the vmm object */
        {S_RIGHTS, S_GOOD, S_GOOD, 4 * PS, SPRING_EBADHANDLE},
        {S_FOREIGN, S_GOOD, S_GOOD, 4 * PS, SPRING_EBADHANDLE}, /* the key is not outstanding there */
        {S_FOREIGN, S_GOOD, S_FOREIGN, 4 * PS, SPRING_EBADHANDLE}, /* not even with its own cache */
        {S_GOOD, S_FORGED, S_GOOD, 4 * PS, SPRING_EBADHANDLE},
        {S_GOOD, S_ZERO, S_GOOD, 4 * PS, SPRING_EBADHANDLE},
        {S_GOOD, S_CACHE, S_GOOD, 4 * PS, SPRING_EBADHANDLE},
        {S_GOOD, S_RIGHTS, S_GOOD, 4 * PS, SPRING_EBADHANDLE},
        {S_GOOD, S_VMMOBJ, S_GOOD, 4 * PS, SPRING_EBADHANDLE},
        {S_GOOD, S_GOOD, S_FORGED, 4 * PS, SPRING_EBADHANDLE},
        {S_GOOD, S_GOOD, S_ZERO, 4 * PS, SPRING_EBADHANDLE},
        {S_GOOD, S_GOOD, S_CACHE, 4 * PS, SPRING_EBADHANDLE},   /* a cache handle as the cache-rights */
        {S_GOOD, S_GOOD, S_VMMOBJ, 4 * PS, SPRING_EBADHANDLE},
        {S_GOOD, S_GOOD, S_STALE, 4 * PS, SPRING_EBADHANDLE},   /* released */
        {S_GOOD, S_GOOD, S_DEAD, 4 * PS, SPRING_EBADHANDLE},    /* its cache was destroyed */
        {S_GOOD, S_GOOD, S_FOREIGN, 4 * PS, SPRING_EBADHANDLE}, /* another VMM's cache */
        {S_GOOD, S_GOOD, S_GOOD, 0, SPRING_EINVAL},
    };
    ck_assert_uint_eq(len, 4 * PS);
    spring_cache_rights_t sib, sib2;
    spring_rights_t got;
    ck_assert_rc(spring_cache_rights_create_restricted_sibling(bk.rights, SPRING_RIGHTS_RW, &sib), 0);
    for (size_t i = 0; i < NELEM(t); i++) {
        spring_vmm_obj_t vo = {pick_vobj(t[i].vobj)};
        spring_bind_key_t k = {pick_key(t[i].key, key)};
        spring_cache_rights_t r = {pick_rights(t[i].rights, sib)};
        CASE_RC(i, spring_vmm_bind_cache(vo, k, t[i].len, off, r), t[i].want);
        /* The cache-rights is consumed only on success. */
        ck_assert_rc(spring_cache_rights_get(sib, &got), 0);
    }
    ck_assert_rc(spring_vmm_bind_cache(bk.vobj, key, len, off, sib), 0);
    ck_assert_rc(spring_cache_rights_get(sib, &got), SPRING_EBADHANDLE); /* consumed */
    /* The key is bound now. */
    ck_assert_rc(spring_cache_rights_create_restricted_sibling(bk.rights, SPRING_RIGHTS_RO, &sib2), 0);
    ck_assert_rc(spring_vmm_bind_cache(bk.vobj, key, len, off, sib2), SPRING_EBUSY);
    ck_assert_rc(spring_cache_rights_get(sib2, &got), 0);
    ck_assert_rc(spring_cache_rights_release(sib2), 0);
    bk.ran = true;
}

/* Set up bk: this VMM's cache, a released and a dead cache-rights, and
 * another VMM with a cache of its own. */
static void bk_setup(spring_vmm_t *vmm, spring_vmm_t *other, spager_t *sp, spager_t *dead_sp, spager_t *osp,
                     spring_cache_obj_t *ocache)
{
    memset(&bk, 0, sizeof bk);
    bk.vmm = vmm;
    bk.vobj = vmm_obj(vmm, SPRING_PRIV_USER);
    bk.foreign_vobj = vmm_obj(other, SPRING_PRIV_USER);
    sp_cache(bk.vobj, sp, SPRING_RIGHTS_RWX, &bk.cache, &bk.rights);
    ck_assert_rc(spring_cache_rights_create_restricted_sibling(bk.rights, SPRING_RIGHTS_RO, &bk.stale), 0);
    ck_assert_rc(spring_cache_rights_release(bk.stale), 0);
    spring_cache_obj_t dc;
    sp_cache(bk.vobj, dead_sp, SPRING_RIGHTS_RWX, &dc, &bk.dead);
    ck_assert_rc(spring_cache_destroy(dc), 0);
    sp_cache(bk.foreign_vobj, osp, SPRING_RIGHTS_RWX, ocache, &bk.foreign);
}

START_TEST(test_vmm_bind_cache)
{
    spring_registry_t *reg;
    spring_vmm_t *vmm = test_vmm("api", 16, &reg), *other = test_vmm("other", 8, NULL);
    spager_t sp = {.fill = 0x5a}, dsp = {0}, osp = {0};
    spring_cache_obj_t ocache;
    bk_setup(vmm, other, &sp, &dsp, &osp, &ocache);
    cmobj_t cm = {.bind_rights = {FORGED}, .in_final_bind = fb_bind_cache};
    spring_mobj_t *m = cm_new(&cm, &cm_ops);
    spring_as_t *as;
    ck_assert_rc(spring_as_new(vmm, NULL, &as), 0);
    map_at(as, m, 0, 4 * PS, A0, SPRING_RIGHTS_RW);
    ck_assert(bk.ran);
    ck_assert_int_eq(cm.final_bind_calls, 1);
    /* The region maps the bound cache, with the binding's rights. */
    ck_assert_uint_eq(read_byte(as, A0 + 2 * PS), 0x5a);
    ck_assert_int_eq(sp.page_ins, 1);
    spring_mapping_t mp[2];
    size_t n;
    bool more;
    ck_assert_rc(spring_as_get_mappings(as, A0, 4 * PS, mp, 2, &n, &more), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(mp[0].max_access, SPRING_RIGHTS_RW);
    ck_assert_ptr_eq(mp[0].mobj, m);
    spring_mappings_release(mp, n);
    /* After final_bind returned the key is not outstanding any more. */
    spring_cache_rights_t sib;
    spring_rights_t got;
    ck_assert_rc(spring_cache_rights_create_restricted_sibling(bk.rights, SPRING_RIGHTS_RW, &sib), 0);
    ck_assert_rc(spring_vmm_bind_cache(bk.vobj, cm.key, PS, 0, sib), SPRING_EBADHANDLE);
    ck_assert_rc(spring_cache_rights_get(sib, &got), 0);
    ck_assert_rc(spring_cache_rights_release(sib), 0);
    CHECK_VMM(vmm);

    /* A final_bind that binds nothing, or binds and then fails: EBIND. */
    cm.in_final_bind = NULL;
    spring_off_t len = PS;
    spring_addr_t addr = AFREE;
    ck_assert_rc(spring_as_map(as, m, 0, &len, &addr, SPRING_RIGHTS_RW), SPRING_EBIND);
    ck_assert_int_eq(cm.final_bind_calls, 2);
    ck_assert_uint_eq(test_as_stats(as).nregions, 1);
    CHECK_VMM(vmm);

    spring_as_destroy(as);
    spring_mobj_unref(m);
    ck_assert_rc(spring_cache_destroy(bk.cache), 0);
    ck_assert_rc(spring_cache_destroy(ocache), 0);
    ck_assert_int_eq(sp.done_pobj, 1);
    ck_assert_rc(spring_vmm_destroy(other), 0);
    test_vmm_free(vmm, reg);
}
END_TEST

static void fb_create_and_bind(cmobj_t *m, spring_bind_key_t key, spring_off_t off, spring_off_t len)
{
    (void)m;
    enum { I_GOOD, I_NULL, I_BS, I_KIND };
    static const struct {
        int vobj, key;
        spring_off_t len;
        int bind_max, max, ops, info, own;
        bool null_cache, null_rights;
        int want;
    } t[] = {
        {S_GOOD, S_GOOD, 4 * PS, 3, 7, OPS_GOOD, I_GOOD, 1, true, false, SPRING_EINVAL},
        {S_GOOD, S_GOOD, 4 * PS, 3, 7, OPS_GOOD, I_GOOD, 1, false, true, SPRING_EINVAL},
        {S_GOOD, S_GOOD, 0, 3, 7, OPS_GOOD, I_GOOD, 1, false, false, SPRING_EINVAL},
        {S_GOOD, S_GOOD, 4 * PS, 2, 7, OPS_GOOD, I_GOOD, 1, false, false, SPRING_EINVAL}, /* write-only */
        {S_GOOD, S_GOOD, 4 * PS, 8, 7, OPS_GOOD, I_GOOD, 1, false, false, SPRING_EINVAL},
        {S_GOOD, S_GOOD, 4 * PS, 0, 7, OPS_GOOD, I_GOOD, 1, false, false, SPRING_EINVAL},
        {S_GOOD, S_GOOD, 4 * PS, 1, 4, OPS_GOOD, I_GOOD, 1, false, false, SPRING_EINVAL}, /* max execute-only */
        {S_GOOD, S_GOOD, 4 * PS, 7, 3, OPS_GOOD, I_GOOD, 1, false, false, SPRING_ERIGHTS}, /* wider than max */
        {S_GOOD, S_GOOD, 4 * PS, 5, 3, OPS_GOOD, I_GOOD, 1, false, false, SPRING_ERIGHTS},
        {S_GOOD, S_GOOD, 4 * PS, 3, 1, OPS_GOOD, I_GOOD, 1, false, false, SPRING_ERIGHTS},
        {S_FORGED, S_GOOD, 4 * PS, 3, 7, OPS_GOOD, I_GOOD, 1, false, false, SPRING_EBADHANDLE},
        {S_ZERO, S_GOOD, 4 * PS, 3, 7, OPS_GOOD, I_GOOD, 1, false, false, SPRING_EBADHANDLE},
        {S_CACHE, S_GOOD, 4 * PS, 3, 7, OPS_GOOD, I_GOOD, 1, false, false, SPRING_EBADHANDLE},
        {S_FOREIGN, S_GOOD, 4 * PS, 3, 7, OPS_GOOD, I_GOOD, 1, false, false, SPRING_EBADHANDLE},
        {S_GOOD, S_FORGED, 4 * PS, 3, 7, OPS_GOOD, I_GOOD, 1, false, false, SPRING_EBADHANDLE},
        {S_GOOD, S_ZERO, 4 * PS, 3, 7, OPS_GOOD, I_GOOD, 1, false, false, SPRING_EBADHANDLE},
        {S_GOOD, S_CACHE, 4 * PS, 3, 7, OPS_GOOD, I_GOOD, 1, false, false, SPRING_EBADHANDLE},
        {S_GOOD, S_VMMOBJ, 4 * PS, 3, 7, OPS_GOOD, I_GOOD, 1, false, false, SPRING_EBADHANDLE},
        {S_GOOD, S_GOOD, 4 * PS, 3, 7, OPS_NULL, I_GOOD, 1, false, false, SPRING_EINVAL},
        {S_GOOD, S_GOOD, 4 * PS, 3, 7, OPS_V0, I_GOOD, 1, false, false, SPRING_EVERSION},
        {S_GOOD, S_GOOD, 4 * PS, 3, 7, OPS_NO_PAGE_IN, I_GOOD, 1, false, false, SPRING_EINVAL},
        {S_GOOD, S_GOOD, 4 * PS, 3, 7, OPS_GOOD, I_NULL, 1, false, false, SPRING_EINVAL},
        {S_GOOD, S_GOOD, 4 * PS, 3, 7, OPS_GOOD, I_BS, 1, false, false, SPRING_EINVAL},
        {S_GOOD, S_GOOD, 4 * PS, 3, 7, OPS_GOOD, I_KIND, 1, false, false, SPRING_EINVAL},
        {S_GOOD, S_GOOD, 4 * PS, 3, 7, OPS_GOOD, I_GOOD, 0, false, false, SPRING_EINVAL},
        {S_GOOD, S_GOOD, 4 * PS, 3, 7, OPS_GOOD, I_GOOD, 3, false, false, SPRING_EINVAL},
    };
    const spring_pager_info_t infos[] = {
        {0, SPRING_CACHE_DATA, 0, true}, {0}, {3 * PS, SPRING_CACHE_DATA, 0, true}, {0, 9, 0, true}};
    size_t ncaches = test_vm_info(bk.vmm).ncaches;
    ck_assert_uint_eq(len, 4 * PS);
    for (size_t i = 0; i < NELEM(t); i++) {
        spring_cache_obj_t c = {0};
        spring_cache_rights_t r = {0};
        int rc = spring_vmm_create_cache_object_and_bind(
            (spring_vmm_obj_t){pick_vobj(t[i].vobj)}, (spring_bind_key_t){pick_key(t[i].key, key)}, t[i].len, off,
            (spring_rights_t)t[i].bind_max, pager_ops_variant[t[i].ops], &bk.made, false,
            t[i].info == I_NULL ? NULL : &infos[t[i].info], (spring_ownership_t)t[i].own, (spring_rights_t)t[i].max,
            t[i].null_cache ? NULL : &c, t[i].null_rights ? NULL : &r);
        CASE_RC(i, rc, t[i].want);
        ck_assert_uint_eq(test_vm_info(bk.vmm).ncaches, ncaches);
        ck_assert_int_eq(bk.made.done_pobj, 0); /* not consumed */
    }
    spring_pager_info_t info = {0, SPRING_CACHE_DATA, 0, true};
    ck_assert_rc(spring_vmm_create_cache_object_and_bind(bk.vobj, key, len, off, SPRING_RIGHTS_RW, &sp_ops, &bk.made,
                                                         false, &info, SPRING_OWN_EXCLUSIVE, SPRING_RIGHTS_RWX,
                                                         &bk.made_cache, &bk.made_rights),
                 0);
    spring_rights_t got;
    ck_assert_rc(spring_cache_rights_get(bk.made_rights, &got), 0);
    ck_assert_int_eq(got, SPRING_RIGHTS_RWX);
    ck_assert_uint_eq(test_vm_info(bk.vmm).ncaches, ncaches + 1);
    /* The key is bound now. */
    spager_t extra = {0};
    spring_cache_obj_t c2;
    spring_cache_rights_t r2;
    ck_assert_rc(spring_vmm_create_cache_object_and_bind(bk.vobj, key, len, off, SPRING_RIGHTS_RW, &sp_ops, &extra,
                                                         false, &info, SPRING_OWN_EXCLUSIVE, SPRING_RIGHTS_RWX, &c2,
                                                         &r2),
                 SPRING_EBUSY);
    ck_assert_uint_eq(test_vm_info(bk.vmm).ncaches, ncaches + 1);
    ck_assert_int_eq(extra.done_pobj, 0);
    bk.ran = true;
}

START_TEST(test_vmm_create_cache_object_and_bind)
{
    spring_registry_t *reg;
    spring_vmm_t *vmm = test_vmm("api", 16, &reg), *other = test_vmm("other", 8, NULL);
    spager_t sp = {0}, dsp = {0}, osp = {0};
    spring_cache_obj_t ocache;
    bk_setup(vmm, other, &sp, &dsp, &osp, &ocache);
    bk.made.fill = 0x6b;
    cmobj_t cm = {.bind_rights = {FORGED}, .in_final_bind = fb_create_and_bind};
    spring_mobj_t *m = cm_new(&cm, &cm_ops);
    spring_as_t *as;
    ck_assert_rc(spring_as_new(vmm, NULL, &as), 0);
    map_at(as, m, 0, 4 * PS, A0, SPRING_RIGHTS_RW);
    ck_assert(bk.ran);
    ck_assert_uint_eq(read_byte(as, A0 + 3 * PS), 0x6b);
    ck_assert_int_eq(bk.made.page_ins, 1);
    spring_mapping_t mp[2];
    size_t n;
    bool more;
    ck_assert_rc(spring_as_get_mappings(as, A0, 4 * PS, mp, 2, &n, &more), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(mp[0].max_access, SPRING_RIGHTS_RW); /* bind_max_rights */
    spring_mappings_release(mp, n);
    /* The key is gone once final_bind returned. */
    spager_t late = {0};
    spring_pager_info_t info = {0, SPRING_CACHE_DATA, 0, true};
    spring_cache_obj_t c2;
    spring_cache_rights_t r2;
    size_t ncaches = test_vm_info(vmm).ncaches;
    ck_assert_rc(spring_vmm_create_cache_object_and_bind(bk.vobj, cm.key, PS, 0, SPRING_RIGHTS_RO, &sp_ops, &late,
                                                         false, &info, SPRING_OWN_EXCLUSIVE, SPRING_RIGHTS_RO, &c2,
                                                         &r2),
                 SPRING_EBADHANDLE);
    ck_assert_uint_eq(test_vm_info(vmm).ncaches, ncaches);
    CHECK_VMM(vmm);
    spring_as_destroy(as);
    spring_mobj_unref(m);
    ck_assert_rc(spring_cache_destroy(bk.made_cache), 0);
    ck_assert_int_eq(bk.made.done_pobj, 1);
    ck_assert_rc(spring_cache_destroy(bk.cache), 0);
    ck_assert_rc(spring_cache_destroy(ocache), 0);
    ck_assert_rc(spring_vmm_destroy(other), 0);
    test_vmm_free(vmm, reg);
}
END_TEST

/* --- add_swap_pager */

START_TEST(test_vmm_add_swap_pager)
{
    spring_registry_t *reg;
    spring_vmm_t *vmm = test_vmm("api", 32, &reg);
    spring_vmm_obj_t sys = vmm_obj(vmm, SPRING_PRIV_SYSTEM), user = vmm_obj(vmm, SPRING_PRIV_USER);
    spring_vmm_t *gone = test_vmm("gone", 4, NULL);
    spring_vmm_obj_t stale = vmm_obj(gone, SPRING_PRIV_SYSTEM);
    ck_assert_rc(spring_vmm_destroy(gone), 0);
    cswap_t bad = {0};
    const struct {
        uint64_t vobj;
        const spring_swap_pager_ops_t *ops;
        int want;
    } t[] = {
        {sys.h, NULL, SPRING_EINVAL},
        {sys.h, &cs_ops_v0, SPRING_EVERSION},
        {sys.h, &cs_ops_v99, SPRING_EVERSION},
        {sys.h, &cs_ops_no_create, SPRING_EINVAL},
        {FORGED, &cs_ops, SPRING_EBADHANDLE},
        {0, &cs_ops, SPRING_EBADHANDLE},
        {sys.h ^ ((uint64_t)1 << 50), &cs_ops, SPRING_EBADHANDLE},
        {stale.h, &cs_ops, SPRING_EBADHANDLE},
        {user.h, &cs_ops, SPRING_EPERM},
    };
    for (size_t i = 0; i < NELEM(t); i++)
        CASE_RC(i, spring_vmm_add_swap_pager((spring_vmm_obj_t){t[i].vobj}, t[i].ops, &bad, false), t[i].want);

    /* None of them was added: the in-tree anonymous pager still serves. */
    spring_as_t *as;
    ck_assert_rc(spring_as_new(vmm, NULL, &as), 0);
    spring_mobj_t *mo[4] = {NULL};
    spring_off_t len = 2 * PS;
    spring_addr_t addr = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_allocate_memory_and_mobj(as, &len, &addr, SPRING_RIGHTS_RW, &mo[0]), 0);
    ck_assert_int_eq(bad.creates, 0);

    /* A temporary one waits behind the first temporary one (in order). */
    cswap_t tmp = {reg, "api", 0, 0, 0, {0}, 0}, full = {reg, "api", SPRING_ENOSPC, 0, 0, {0}, 0},
            perm = {reg, "api", 0, 0, 0, {0}, 0};
    ck_assert_rc(spring_vmm_add_swap_pager(sys, &cs_ops, &tmp, true), 0);
    len = 2 * PS, addr = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_allocate_memory_and_mobj(as, &len, &addr, SPRING_RIGHTS_RW, &mo[1]), 0);
    ck_assert_int_eq(tmp.creates, 0);
    /* Permanent ones take over from temporary ones; one that answers ENOSPC
     * passes the request to the next. */
    ck_assert_rc(spring_vmm_add_swap_pager(sys, &cs_ops, &full, false), 0);
    ck_assert_rc(spring_vmm_add_swap_pager(sys, &cs_ops, &perm, false), 0);
    len = 2 * PS, addr = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_allocate_memory_and_mobj(as, &len, &addr, SPRING_RIGHTS_RW, &mo[2]), 0);
    ck_assert_int_eq(tmp.creates, 0);
    ck_assert_int_eq(full.creates, 1);
    ck_assert_int_eq(perm.creates, 1);
    ck_assert_uint_eq(perm.ntp, 1);
    write_byte(as, addr + PS, 0x31);
    ck_assert_uint_eq(read_byte(as, addr + PS), 0x31);
    ck_assert_uint_eq(tp_count(perm.tp[0], TP_BIND), 1);
    CHECK_VMM(vmm);

    spring_as_destroy(as);
    for (size_t i = 0; i < NELEM(mo); i++)
        spring_mobj_unref(mo[i]);
    cs_free(&perm);
    ck_assert_int_eq(perm.releases + full.releases + tmp.releases, 0);
    test_vmm_free(vmm, reg);
    /* Released when the VMM is destroyed. */
    ck_assert_int_eq(tmp.releases, 1);
    ck_assert_int_eq(full.releases, 1);
    ck_assert_int_eq(perm.releases, 1);
    ck_assert_int_eq(bad.releases, 0);
}
END_TEST

void api_vmm(Suite *s)
{
    TCase *t = tcase_create("vmm");
    tcase_add_test(t, test_vmm_config_init);
    tcase_add_test(t, test_vmm_new_illegal);
    tcase_add_test(t, test_vmm_new_hat);
    tcase_add_test(t, test_vmm_destroy_busy);
    tcase_add_test(t, test_vmm_get_object);
    tcase_add_test(t, test_vmm_check);
    tcase_add_test(t, test_vmm_inject_alloc_failure);
    tcase_add_test(t, test_vmm_get_vm_info);
    tcase_add_test(t, test_vmm_reclaim_caches);
    tcase_add_test(t, test_vmm_sync);
    tcase_add_test(t, test_pager_stats);
    tcase_add_test(t, test_create_cache_object);
    tcase_add_test(t, test_vmm_bind_cache);
    tcase_add_test(t, test_vmm_create_cache_object_and_bind);
    tcase_add_test(t, test_vmm_add_swap_pager);
    suite_add_tcase(s, t);
}
