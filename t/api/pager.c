/*
 * pager.c - pager.h: memory objects: creation, references, length.
 */
#include "api.h"

/* Only the required slots (and release). */
static const spring_mobj_ops_t cm_ops_min = {
    .version = SPRING_MOBJ_OPS_VERSION,
    .bind = cm_bind,
    .final_bind = cm_final_bind,
    .release = cm_release,
};

START_TEST(test_mobj_new)
{
    static const spring_mobj_ops_t v0 = {.version = 0, .bind = cm_bind, .final_bind = cm_final_bind};
    static const spring_mobj_ops_t vneg = {.version = -5, .bind = cm_bind, .final_bind = cm_final_bind};
    static const spring_mobj_ops_t vnew = {.version = SPRING_MOBJ_OPS_VERSION + 1, .bind = cm_bind,
                                           .final_bind = cm_final_bind};
    static const spring_mobj_ops_t no_bind = {.version = SPRING_MOBJ_OPS_VERSION, .final_bind = cm_final_bind};
    static const spring_mobj_ops_t no_final = {.version = SPRING_MOBJ_OPS_VERSION, .bind = cm_bind};
    static const struct {
        const spring_mobj_ops_t *ops;
        bool null_out;
        int want;
    } t[] = {
        {NULL, false, SPRING_EINVAL},
        {&cm_ops, true, SPRING_EINVAL},
        {&v0, false, SPRING_EVERSION},
        {&vneg, false, SPRING_EVERSION},
        {&vnew, false, SPRING_EVERSION},
        {&no_bind, false, SPRING_EINVAL},
        {&no_final, false, SPRING_EINVAL},
    };
    cmobj_t cm = {0};
    for (size_t i = 0; i < NELEM(t); i++) {
        spring_mobj_t *m = NULL;
        CASE_RC(i, spring_mobj_new(t[i].ops, &cm, t[i].null_out ? NULL : &m), t[i].want);
        ck_assert_ptr_null(m);
    }
    ck_assert_int_eq(cm.releases, 0);
    /* Legal: optional slots may be NULL; self comes back. */
    spring_mobj_t *m = NULL;
    ck_assert_rc(spring_mobj_new(&cm_ops_min, &cm, &m), 0);
    ck_assert_ptr_nonnull(m);
    ck_assert_ptr_eq(spring_mobj_impl(m), &cm);
    spring_mobj_unref(m);
    ck_assert_int_eq(cm.releases, 1);
    static const spring_mobj_ops_t bare = {.version = SPRING_MOBJ_OPS_VERSION, .bind = cm_bind,
                                           .final_bind = cm_final_bind};
    ck_assert_rc(spring_mobj_new(&bare, NULL, &m), 0); /* no release slot, NULL self */
    ck_assert_ptr_null(spring_mobj_impl(m));
    spring_mobj_unref(m);
}
END_TEST

START_TEST(test_mobj_refs)
{
    cmobj_t cm = {0};
    spring_mobj_t *m = cm_new(&cm, &cm_ops);
    ck_assert_ptr_eq(spring_mobj_ref(m), m);
    ck_assert_ptr_eq(spring_mobj_ref(m), m);
    spring_mobj_unref(m);
    spring_mobj_unref(m);
    ck_assert_int_eq(cm.releases, 0);
    ck_assert_ptr_null(spring_mobj_ref(NULL));
    spring_mobj_unref(NULL);
    ck_assert_ptr_null(spring_mobj_impl(NULL));

    /* A mapping holds its own reference (map: copy). */
    spring_registry_t *reg;
    spring_vmm_t *vmm = test_vmm("api", 16, &reg);
    spager_t sp = {.fill = 0x11};
    spring_cache_obj_t c;
    spring_cache_rights_t r;
    sp_cache(vmm_obj(vmm, SPRING_PRIV_USER), &sp, SPRING_RIGHTS_RW, &c, &r);
    cm.bind_rights = r;
    spring_as_t *as;
    ck_assert_rc(spring_as_new(vmm, NULL, &as), 0);
    map_at(as, m, 0, 2 * PS, A0, SPRING_RIGHTS_RW);
    spring_mobj_unref(m);
    ck_assert_int_eq(cm.releases, 0);
    ck_assert_uint_eq(read_byte(as, A0 + PS), 0x11);
    ck_assert_rc(spring_as_unmap(as, A0, PS), 0); /* half of it: still referenced */
    ck_assert_int_eq(cm.releases, 0);
    ck_assert_rc(spring_as_unmap(as, A0, 2 * PS), 0);
    ck_assert_int_eq(cm.releases, 1);
    CHECK_VMM(vmm);
    spring_as_destroy(as);
    ck_assert_rc(spring_cache_destroy(c), 0);
    ck_assert_int_eq(sp.done_pobj, 1);
    test_vmm_free(vmm, reg);
}
END_TEST

START_TEST(test_mobj_length)
{
    cmobj_t full = {.length = 12345}, min = {0}, perr = {.get_rc = SPRING_EPAGER, .set_rc = SPRING_EBUSY},
            pbad = {.get_rc = 7, .set_rc = 3};
    spring_mobj_t *mf = cm_new(&full, &cm_ops), *mm = cm_new(&min, &cm_ops_min), *me = cm_new(&perr, &cm_ops),
                  *mb = cm_new(&pbad, &cm_ops);
    spring_off_t len = 0;
    static spring_off_t lenbuf;
    const struct {
        spring_mobj_t *m;
        spring_off_t *len;
        int want;
    } g[] = {
        {NULL, &lenbuf, SPRING_EINVAL},
        {mf, NULL, SPRING_EINVAL},
        {mm, &lenbuf, SPRING_ENOSYS},   /* no get_length slot */
        {me, &lenbuf, SPRING_EPAGER},   /* the pager's code */
        {mb, &lenbuf, SPRING_EPROTO},   /* not a code: a protocol violation */
    };
    for (size_t i = 0; i < NELEM(g); i++)
        CASE_RC(i, spring_mobj_get_length(g[i].m, g[i].len), g[i].want);
    ck_assert_rc(spring_mobj_get_length(mf, &len), 0);
    ck_assert_uint_eq(len, 12345);

    const struct {
        spring_mobj_t *m;
        int want;
    } s[] = {
        {NULL, SPRING_EINVAL},
        {mm, SPRING_ENOSYS},
        {me, SPRING_EBUSY},
        {mb, SPRING_EPROTO},
    };
    for (size_t i = 0; i < NELEM(s); i++)
        CASE_RC(i, spring_mobj_set_length(s[i].m, 99 * PS), s[i].want);
    ck_assert_int_eq(min.set_calls, 0);
    ck_assert_rc(spring_mobj_set_length(mf, 777), 0);
    ck_assert_int_eq(full.set_calls, 1);
    ck_assert_uint_eq(full.set_to, 777);

    /* The test pager has get_length but no set_length. */
    spring_registry_t *reg;
    spring_vmm_t *vmm = test_vmm("api", 16, &reg);
    tpager_t *tp = tp_new(reg, "api", NULL, 5 * PS, 0, SPRING_OWN_EXCLUSIVE, false);
    spring_mobj_t *tm = tp_mobj(tp, SPRING_RIGHTS_RW);
    ck_assert_rc(spring_mobj_get_length(tm, &len), 0);
    ck_assert_uint_eq(len, 5 * PS);
    ck_assert_rc(spring_mobj_set_length(tm, PS), SPRING_ENOSYS);
    spring_mobj_unref(tm);
    tp_free(tp);
    test_vmm_free(vmm, reg);

    spring_mobj_unref(mf);
    spring_mobj_unref(mm);
    spring_mobj_unref(me);
    spring_mobj_unref(mb);
    ck_assert_int_eq(full.releases + min.releases + perr.releases + pbad.releases, 4);
}
END_TEST

void api_pager(Suite *s)
{
    TCase *t = tcase_create("pager");
    tcase_add_test(t, test_mobj_new);
    tcase_add_test(t, test_mobj_refs);
    tcase_add_test(t, test_mobj_length);
    suite_add_tcase(s, t);
}
