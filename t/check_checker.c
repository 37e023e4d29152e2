/*
 * check_checker.c - the consistency checker (spring_vmm_check) is shown to
 * catch what it claims to check.
 *
 * For each invariant it verifies, a test-only hook (libvm/testing/testhooks.c,
 * declared in libvm/testing/testhooks.h) breaks one structure of a small VMM on
 * purpose; the checker must then answer SPRING_EPROTO with the message of
 * that invariant, and 0 again once the hook has put the structure back.
 * The same VMM state, checked before any damage, must pass.  A checker
 * that always answers 0 fails here.
 */
#include <check.h>
#include <string.h>

#include "testhooks.h"
#include "testlib.h"
#include "testmain.h"

#define PS 4096
#define VMM_NAME "chk"

/* The damage the hook can do and what the checker must then say (a part
 * of its message). */
static const struct expect {
    const char *name;
    const char *why;
} expects[] = {
    {"free-count", "free-frame count wrong"},
    {"free-frame-in-use", "a free frame is in use or pinned"},
    {"used-frame-marked-free", "frames marked free but not on the free list"},
    {"locked-count", "more frames locked than exist"},
    {"inuse-list-mark", "block on the in-use list not marked so"},
    {"pageout-list-mark", "block on the page-out list not marked so"},
    {"inuse-count", "in-use block count wrong"},
    {"special-count", "count of the HAT's table frames wrong"},
    {"cache-list", "cache on a list it does not record"},
    {"cache-attach-count", "cache on the wrong attached/unattached list"},
    {"block-order", "cache block tree out of order"},
    {"block-align", "cache block offset not block aligned"},
    {"block-unhashed", "cache block missing from the page hash"},
    {"block-in-zero-table", "cached block also in the zero-fill table"},
    {"block-frame-owner", "block frame not owned by the block"},
    {"rw-without-write-rights", "read-write block in a cache without write rights"},
    {"block-count", "cache block count wrong"},
    {"zero-table-order", "zero-fill table not sorted, coalesced and block aligned"},
    {"zero-table-count", "zero-fill table count wrong"},
    {"region-empty", "region empty or outside the address space"},
    {"region-order", "region index out of order"},
    {"region-overlap", "regions overlap"},
    {"subregion-cover", "subregion map does not cover its region"},
    {"subregion-gap", "subregion map has a gap or an empty run"},
    {"rights-above-binding", "page rights exceed the binding's rights"},
    {"region-index-count", "rtree: entry count wrong"},
    {"free-hint", "free-space hint"},
    {"region-count", "address-space region count or size wrong"},
    {"as-count", "address-space count wrong"},
};
#define NEXPECT (sizeof expects / sizeof expects[0])

/*
 * The state every case starts from: a VMM of 32 frames; one address space
 * with two regions and a gap between them; the first maps a test pager's
 * object of 24 pages in blocks of 2 pages, read-write in its first half and
 * read-only in its second (two runs); blocks 0, 1, 2 and 4 are cached and
 * modified, blocks 3, 7 and 9 are in the zero-fill table (three ranges;
 * block 4 right after the first, nothing cached between the last two), the
 * others are not cached; the second region is anonymous memory with one
 * page written.
 */
typedef struct world {
    spring_registry_t *reg;
    spring_vmm_t *vmm;
    spring_as_t *as;
    tpager_t *tp;
    spring_mobj_t *m;
    spring_addr_t a, anon;
} world_t;

static void world_init(world_t *w)
{
    memset(w, 0, sizeof *w);
    w->vmm = test_vmm(VMM_NAME, 32, &w->reg);
    ck_assert_rc(spring_as_new(w->vmm, NULL, &w->as), 0);
    w->tp = tp_new(w->reg, VMM_NAME, NULL, 24 * PS, 2 * PS, SPRING_OWN_EXCLUSIVE, true);
    w->m = tp_mobj(w->tp, SPRING_RIGHTS_RW);
    spring_off_t len = 24 * PS;
    w->a = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_map(w->as, w->m, 0, &len, &w->a, SPRING_RIGHTS_RW), 0);
    ck_assert_rc(spring_as_change_access_rights(w->as, w->a + 12 * PS, 12 * PS, SPRING_RIGHTS_RO), 0);
    spring_cache_obj_t c = tp_cache(w->tp);
    static const spring_off_t zb[] = {3, 7, 9};
    for (size_t i = 0; i < 3; i++)
        ck_assert_rc(spring_cache_zero_fill(c, zb[i] * 2 * PS, 2 * PS, NULL), 0);
    uint8_t v = 0x5a;
    static const spring_off_t wb[] = {0, 1, 2, 4};
    for (size_t i = 0; i < 4; i++)
        ck_assert_rc(spring_as_write(w->as, w->a + wb[i] * 2 * PS, &v, 1), 0);
    len = 4 * PS;
    w->anon = w->a + 28 * PS;
    ck_assert_rc(spring_as_allocate_memory(w->as, &len, &w->anon, SPRING_RIGHTS_RW), 0);
    ck_assert_rc(spring_as_write(w->as, w->anon, &v, 1), 0);
}

static void world_fini(world_t *w)
{
    CHECK_VMM(w->vmm);
    spring_as_destroy(w->as);
    spring_mobj_unref(w->m);
    tp_free(w->tp);
    test_vmm_free(w->vmm, w->reg);
}

/* Each corruption is caught, with its own message, and repaired. */
START_TEST(test_checker_catches)
{
    const struct expect *x = &expects[_i];
    world_t w;
    world_init(&w);
    const char *why = "not set";
    ck_assert_rc(spring_vmm_check(w.vmm, &why), 0);
    ck_assert_ptr_null(why);
    int rc = spring__test_corrupt(w.vmm, x->name);
    ck_assert_msg(rc == 0, "%s: the hook could not corrupt the state (%s)", x->name, spring_err_name(rc));
    why = NULL;
    rc = spring_vmm_check(w.vmm, &why);
    const char *w1 = why ? why : "(none)";
    (void)spring__test_repair(w.vmm); /* before any assertion: the tear-down needs a sound VMM */
    ck_assert_msg(rc == SPRING_EPROTO, "%s: spring_vmm_check returned %s after the corruption", x->name,
                  spring_err_name(rc));
    ck_assert_msg(why != NULL, "%s: no message", x->name);
    ck_assert_msg(strstr(why, x->why) != NULL, "%s: the checker says \"%s\", want \"%s\"", x->name, w1, x->why);
    why = "not set";
    ck_assert_rc(spring_vmm_check(w.vmm, &why), 0);
    ck_assert_ptr_null(why);
    world_fini(&w);
}
END_TEST

/* The table above covers every corruption the hook knows, and the hook
 * knows every name in it; repair without corruption, a second corruption
 * and unknown names are refused. */
START_TEST(test_checker_cases_complete)
{
    unsigned n = 0;
    for (const char *name; (name = spring__test_corruption_name(n)) != NULL; n++) {
        bool found = false;
        for (size_t k = 0; k < NEXPECT; k++)
            found |= strcmp(expects[k].name, name) == 0;
        ck_assert_msg(found, "corruption \"%s\" has no expected message in check_checker.c", name);
    }
    ck_assert_uint_eq(n, NEXPECT);
    world_t w;
    world_init(&w);
    ck_assert_rc(spring__test_corrupt(w.vmm, "no-such-damage"), SPRING_EINVAL);
    ck_assert_rc(spring__test_corrupt(NULL, "free-count"), SPRING_EINVAL);
    ck_assert_rc(spring__test_repair(w.vmm), SPRING_ENOENT);
    ck_assert_rc(spring__test_corrupt(w.vmm, "block-count"), 0);
    ck_assert_rc(spring__test_corrupt(w.vmm, "free-count"), SPRING_EBUSY);
    ck_assert_rc(spring__test_repair(w.vmm), 0);
    ck_assert_rc(spring__test_repair(w.vmm), SPRING_ENOENT);
    world_fini(&w);
}
END_TEST

/* A VMM with nothing in it passes, and damage that needs a cache or a
 * region is refused there rather than reported as done. */
START_TEST(test_checker_empty_vmm)
{
    spring_registry_t *reg;
    spring_vmm_t *vmm = test_vmm(VMM_NAME, 8, &reg);
    CHECK_VMM(vmm);
    ck_assert_rc(spring__test_corrupt(vmm, "block-order"), SPRING_ENOENT);
    ck_assert_rc(spring__test_corrupt(vmm, "region-overlap"), SPRING_ENOENT);
    ck_assert_rc(spring__test_corrupt(vmm, "free-count"), 0);
    ck_assert_rc(spring_vmm_check(vmm, NULL), SPRING_EPROTO);
    ck_assert_rc(spring__test_repair(vmm), 0);
    CHECK_VMM(vmm);
    test_vmm_free(vmm, reg);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("checker");
    TCase *tc = tcase_create("corruptions");
    tcase_add_loop_test(tc, test_checker_catches, 0, (int)NEXPECT);
    tcase_add_test(tc, test_checker_cases_complete);
    tcase_add_test(tc, test_checker_empty_vmm);
    suite_add_tcase(s, tc);
    return s;
}
