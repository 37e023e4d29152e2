/*
 * registry.c - vmm.h, the registry: adding and removing VMMs, granting and
 * looking up.
 */
#include "api.h"

START_TEST(test_registry_add_remove)
{
    spring_registry_t *reg = NULL;
    ck_assert_rc(spring_registry_new(NULL), SPRING_EINVAL);
    ck_assert_rc(spring_registry_new(&reg), 0);
    ck_assert_ptr_nonnull(reg);
    spring_registry_destroy(NULL); /* ignored */
    spring_vmm_t *a = test_vmm("a", 4, NULL), *a2 = test_vmm("a", 4, NULL), *b = test_vmm("b", 4, NULL);
    const struct {
        spring_registry_t *reg;
        spring_vmm_t *vmm;
        int want;
    } add[] = {
        {NULL, a, SPRING_EINVAL},
        {reg, NULL, SPRING_EINVAL},
        {reg, a, 0},
        {reg, a, SPRING_EEXIST},  /* the same VMM again */
        {reg, a2, SPRING_EEXIST}, /* another VMM with the same name */
        {reg, b, 0},
    };
    for (size_t i = 0; i < NELEM(add); i++)
        CASE_RC(i, spring_registry_add_vmm(add[i].reg, add[i].vmm), add[i].want);
    /* The name still leads to the first VMM. */
    spring_vmm_obj_t o;
    spring_vm_info_t info = {.size = sizeof info};
    ck_assert_rc(spring_registry_lookup(reg, "a", NULL, &o), 0);
    ck_assert_uint_eq(o.h, vmm_obj(a, SPRING_PRIV_USER).h);
    ck_assert_rc(spring_vmm_get_vm_info(o, &info), 0);
    const struct {
        spring_registry_t *reg;
        spring_vmm_t *vmm;
        int want;
    } rem[] = {
        {NULL, a, SPRING_EINVAL},
        {reg, NULL, SPRING_EINVAL},
        {reg, a2, SPRING_ENOENT}, /* never registered */
        {reg, a, 0},
        {reg, a, SPRING_ENOENT},  /* removed already */
    };
    for (size_t i = 0; i < NELEM(rem); i++)
        CASE_RC(i, spring_registry_remove_vmm(rem[i].reg, rem[i].vmm), rem[i].want);
    ck_assert_rc(spring_registry_lookup(reg, "a", NULL, &o), SPRING_ENOENT);
    ck_assert_rc(spring_registry_add_vmm(reg, a2), 0); /* the name is free again */
    ck_assert_rc(spring_registry_lookup(reg, "a", NULL, &o), 0);
    ck_assert_uint_eq(o.h, vmm_obj(a2, SPRING_PRIV_USER).h);
    ck_assert_rc(spring_registry_lookup(reg, "b", NULL, &o), 0);
    /* Destroying the registry does not affect its VMMs. */
    spring_registry_destroy(reg);
    ck_assert_rc(spring_vmm_get_vm_info(o, &info), 0);
    CHECK_VMM(b);
    ck_assert_rc(spring_vmm_destroy(a), 0);
    ck_assert_rc(spring_vmm_destroy(a2), 0);
    ck_assert_rc(spring_vmm_destroy(b), 0);
}
END_TEST

START_TEST(test_registry_grant_lookup)
{
    spring_registry_t *reg;
    spring_vmm_t *vmm = test_vmm("api", 8, &reg);
    static spring_vmm_obj_t sink;
    const struct {
        spring_registry_t *reg;
        const char *cred;
        int priv, want;
    } g[] = {
        {NULL, "k", SPRING_PRIV_USER, SPRING_EINVAL},
        {reg, NULL, SPRING_PRIV_USER, SPRING_EINVAL},
        {reg, "", SPRING_PRIV_USER, SPRING_EINVAL},
        {reg, "k", 2, SPRING_EINVAL},
        {reg, "k", -1, SPRING_EINVAL},
        {reg, "user-key", SPRING_PRIV_USER, 0},
        {reg, "sys-key", SPRING_PRIV_SYSTEM, 0},
    };
    for (size_t i = 0; i < NELEM(g); i++)
        CASE_RC(i, spring_registry_grant(g[i].reg, g[i].cred, (spring_privilege_t)g[i].priv), g[i].want);
    const struct {
        spring_registry_t *reg;
        const char *name, *cred;
        spring_vmm_obj_t *out;
        int want;
    } l[] = {
        {NULL, "api", NULL, &sink, SPRING_EINVAL},
        {reg, NULL, NULL, &sink, SPRING_EINVAL},
        {reg, "api", NULL, NULL, SPRING_EINVAL},
        {reg, "nope", NULL, &sink, SPRING_ENOENT},
        {reg, "", NULL, &sink, SPRING_ENOENT},
        {reg, "API", NULL, &sink, SPRING_ENOENT},  /* names are exact */
        {reg, "api", "k", &sink, SPRING_EPERM},    /* never granted */
        {reg, "api", "sys-key ", &sink, SPRING_EPERM},
        {reg, "api", "", &sink, SPRING_EPERM},
        {reg, "api", NULL, &sink, 0},
        {reg, "api", "user-key", &sink, 0},
        {reg, "api", "sys-key", &sink, 0},
    };
    for (size_t i = 0; i < NELEM(l); i++)
        CASE_RC(i, spring_registry_lookup(l[i].reg, l[i].name, l[i].cred, l[i].out), l[i].want);
    /* The privilege follows the credential. */
    spring_vmm_obj_t anon, user, sys;
    ck_assert_rc(spring_registry_lookup(reg, "api", NULL, &anon), 0);
    ck_assert_rc(spring_registry_lookup(reg, "api", "user-key", &user), 0);
    ck_assert_rc(spring_registry_lookup(reg, "api", "sys-key", &sys), 0);
    cswap_t cs = {0};
    ck_assert_rc(spring_vmm_add_swap_pager(anon, &cs_ops, &cs, true), SPRING_EPERM);
    ck_assert_rc(spring_vmm_add_swap_pager(user, &cs_ops, &cs, true), SPRING_EPERM);
    ck_assert_rc(spring_vmm_add_swap_pager(sys, &cs_ops, &cs, true), 0);
    /* Granting again replaces the privilege. */
    ck_assert_rc(spring_registry_grant(reg, "user-key", SPRING_PRIV_SYSTEM), 0);
    ck_assert_rc(spring_registry_grant(reg, "sys-key", SPRING_PRIV_USER), 0);
    ck_assert_rc(spring_registry_lookup(reg, "api", "user-key", &user), 0);
    ck_assert_rc(spring_registry_lookup(reg, "api", "sys-key", &sys), 0);
    cswap_t cs2 = {0};
    ck_assert_rc(spring_vmm_add_swap_pager(sys, &cs_ops, &cs2, true), SPRING_EPERM);
    ck_assert_rc(spring_vmm_add_swap_pager(user, &cs_ops, &cs2, true), 0);
    test_vmm_free(vmm, reg);
    ck_assert_int_eq(cs.releases, 1);
    ck_assert_int_eq(cs2.releases, 1);
}
END_TEST

void api_registry(Suite *s)
{
    TCase *t = tcase_create("registry");
    tcase_add_test(t, test_registry_add_remove);
    tcase_add_test(t, test_registry_grant_lookup);
    suite_add_tcase(s, t);
}
