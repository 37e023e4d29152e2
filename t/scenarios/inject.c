/*
 * inject.c - host-memory failure injection: every operation with its k-th
 * allocation failing fails cleanly and leaves the VMM consistent.
 */
#include "scen.h"
#include "testhooks.h"

/*
 * Each test runs one operation on a fresh fixture with the k-th host
 * allocation failing, for k = 1..KMAX: the operation either succeeds or
 * fails cleanly (ENOMEM, or a documented code), and then the VMM is
 * consistent and the state is all-or-nothing.  The last k (beyond the
 * operation's allocations) must succeed, and some k must have failed.
 */
#define KMAX 24

static void inject(spring_vmm_t *vmm, unsigned k)
{
    ck_assert_rc(spring__test_inject_alloc_failure(vmm, k), 0);
}

#define INJECT_END(nfail, last)                                                               \
    do {                                                                                      \
        ck_assert_msg((nfail) > 0, "no injected failure was ever hit");                       \
        ck_assert_msg((last) == 0, "the operation still fails beyond its allocations: %s", \
                      spring_err_name(last));                                                 \
    } while (0)

/* map: binding creates the cache (first time) or finds it. */
static void inject_map(bool cache_exists)
{
    unsigned nfail = 0;
    int rc = 0;
    for (unsigned k = 1; k <= KMAX; k++) {
        fx_t f;
        fx_init(&f, 32, 4, 0, SPRING_OWN_EXCLUSIVE);
        if (cache_exists) {
            fx_map(&f, SPRING_RIGHTS_RW);
            ck_assert_rc(spring_as_unmap(f.as, f.a, f.len), 0);
        }
        spring_off_t len = f.len;
        spring_addr_t a = SPRING_ANYWHERE;
        inject(f.vmm, k);
        rc = spring_as_map(f.as, f.m, 0, &len, &a, SPRING_RIGHTS_RW);
        inject(f.vmm, 0);
        ck_assert_msg(rc == 0 || rc == SPRING_ENOMEM || rc == SPRING_EBIND, "k=%u: %s", k, spring_err_name(rc));
        CHECK_VMM(f.vmm);
        if (rc == 0) {
            ck_assert_uint_eq(mappings(f.as, a, len, NULL), 1);
            ck_assert(page_is_pat(f.as, a, 0));
        } else {
            nfail++;
            ck_assert_uint_eq(test_as_stats(f.as).nregions, 0);
            fx_map(&f, SPRING_RIGHTS_RW);
            ck_assert(page_is_pat(f.as, f.a, 0));
        }
        fx_fini(&f);
    }
    INJECT_END(nfail, rc);
}

START_TEST(test_inject_map_new_cache)
{
    inject_map(false);
}
END_TEST

START_TEST(test_inject_map_existing_cache)
{
    inject_map(true);
}
END_TEST

/* map through final_bind (forged rights): bind keys, bind_cache. */
START_TEST(test_inject_map_final_bind)
{
    unsigned nfail = 0;
    int rc = 0;
    for (unsigned k = 1; k <= KMAX; k++) {
        fx_t f;
        fx_init(&f, 32, 4, 0, SPRING_OWN_EXCLUSIVE);
        fx_map(&f, SPRING_RIGHTS_RW);
        ck_assert_rc(put_page(f.as, f.a, 0x21), 0);
        tp_set_bind_rights(f.tp, (spring_cache_rights_t){0x5eed0000abcdef01ULL});
        spring_off_t len = f.len;
        spring_addr_t a = SPRING_ANYWHERE;
        inject(f.vmm, k);
        rc = spring_as_map(f.as, f.m, 0, &len, &a, SPRING_RIGHTS_RW);
        inject(f.vmm, 0);
        tp_set_bind_rights(f.tp, (spring_cache_rights_t){0});
        ck_assert_msg(rc == 0 || rc == SPRING_ENOMEM || rc == SPRING_EBIND, "k=%u: %s", k, spring_err_name(rc));
        CHECK_VMM(f.vmm);
        ck_assert_uint_eq(test_as_stats(f.as).nregions, rc == 0 ? 2 : 1);
        if (rc == 0)
            ck_assert(page_is(f.as, a, 0x21));
        else
            nfail++;
        ck_assert(page_is(f.as, f.a, 0x21));
        fx_fini(&f);
    }
    INJECT_END(nfail, rc);
}
END_TEST

/* unmap of the middle of a region (a split): two regions, or unchanged. */
static void inject_unmap_split(bool anon)
{
    unsigned nfail = 0;
    int rc = 0;
    for (unsigned k = 1; k <= KMAX; k++) {
        fx_t f;
        fx_init(&f, 32, 8, 0, SPRING_OWN_EXCLUSIVE);
        if (anon) {
            spring_off_t len = f.len;
            f.a = SPRING_ANYWHERE;
            ck_assert_rc(spring_as_allocate_memory(f.as, &len, &f.a, SPRING_RIGHTS_RW), 0);
            for (spring_off_t i = 0; i < 8; i++)
                ck_assert_rc(put_page(f.as, f.a + i * PS, 0xe0), 0);
        } else {
            fx_map(&f, SPRING_RIGHTS_RW);
        }
        inject(f.vmm, k);
        rc = spring_as_unmap(f.as, f.a + 3 * PS, 2 * PS);
        inject(f.vmm, 0);
        ck_assert_msg(rc == 0 || rc == SPRING_ENOMEM, "k=%u: %s", k, spring_err_name(rc));
        CHECK_VMM(f.vmm);
        spring_mapping_t m[8];
        size_t n = mappings(f.as, f.a, f.len, m);
        uint8_t v;
        if (rc == 0) {
            ck_assert_uint_eq(n, 2);
            ck_assert_uint_eq(m[0].address, f.a);
            ck_assert_uint_eq(m[0].length, 3 * PS);
            ck_assert_uint_eq(m[1].address, f.a + 5 * PS);
            ck_assert_uint_eq(m[1].length, 3 * PS);
            ck_assert_uint_eq(m[1].mobj_offset, m[0].mobj_offset + 5 * PS);
            ck_assert_rc(spring_as_read(f.as, f.a + 3 * PS, &v, 1), SPRING_ENOTMAPPED);
            if (anon) { /* the unmapped range is zero when allocated again */
                spring_off_t len = 2 * PS;
                spring_addr_t a = f.a + 3 * PS;
                ck_assert_rc(spring_as_allocate_memory(f.as, &len, &a, SPRING_RIGHTS_RW), 0);
                ck_assert(page_is(f.as, a, 0));
                ck_assert(page_is(f.as, a + PS, 0));
            }
        } else {
            nfail++;
            ck_assert_uint_eq(n, 1);
            ck_assert_uint_eq(m[0].length, 8 * PS);
        }
        for (spring_off_t i = 0; i < 8; i++) {
            bool hole = i == 3 || i == 4;
            if (hole && rc == 0 && !anon)
                continue; /* unmapped */
            if (anon) /* the hole was allocated again after a successful unmap */
                ck_assert(page_is(f.as, f.a + i * PS, hole && rc == 0 ? 0 : 0xe0));
            else
                ck_assert(page_is_pat(f.as, f.a + i * PS, i * PS));
        }
        fx_fini(&f);
    }
    INJECT_END(nfail, rc);
}

START_TEST(test_inject_unmap_split)
{
    inject_unmap_split(false);
}
END_TEST

START_TEST(test_inject_unmap_split_anon)
{
    inject_unmap_split(true);
}
END_TEST

/* A fault (page_in path, or zero-fill path of anonymous memory): on
 * failure nothing is cached and no pager was called. */
static void inject_fault(bool anon)
{
    unsigned nfail = 0;
    int rc = 0;
    for (unsigned k = 1; k <= KMAX; k++) {
        fx_t f;
        fx_init(&f, 32, 8, 0, SPRING_OWN_EXCLUSIVE);
        if (anon) {
            spring_off_t len = f.len;
            f.a = SPRING_ANYWHERE;
            ck_assert_rc(spring_as_allocate_memory(f.as, &len, &f.a, SPRING_RIGHTS_RW), 0);
        } else {
            fx_map(&f, SPRING_RIGHTS_RW);
        }
        size_t inuse = test_vm_info(f.vmm).inuse_frames;
        inject(f.vmm, k);
        rc = spring_as_fault(f.as, f.a + 5 * PS, SPRING_RIGHTS_W);
        inject(f.vmm, 0);
        ck_assert_msg(rc == 0 || rc == SPRING_ENOMEM, "k=%u: %s", k, spring_err_name(rc));
        CHECK_VMM(f.vmm);
        if (rc != 0) {
            nfail++;
            ck_assert_uint_eq(test_vm_info(f.vmm).inuse_frames, inuse);
            ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), 0);
        }
        wr1(f.as, f.a + 5 * PS, 0x42);
        ck_assert_uint_eq(rd1(f.as, f.a + 5 * PS + 1), anon ? 0 : tp_pattern(5 * PS + 1));
        ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), anon ? 0 : 1);
        fx_fini(&f);
    }
    INJECT_END(nfail, rc);
}

START_TEST(test_inject_fault)
{
    inject_fault(false);
}
END_TEST

START_TEST(test_inject_fault_anon)
{
    inject_fault(true);
}
END_TEST

/* flush_back, deny_writes, write_back of four modified pages: ENOMEM means
 * nothing was taken (no data lost: every page still reads its modified
 * bytes, and a later call returns all four); success returns all four. */
static void inject_take(enum act_kind k)
{
    static const char *names[] = {[A_FLUSH] = "flush_back", [A_DENY] = "deny_writes", [A_WRITEBACK] = "write_back"};
    unsigned nfail = 0;
    int rc = 0;
    for (unsigned kk = 1; kk <= KMAX; kk++) {
        fx_t f;
        fx_init(&f, 32, 4, 0, SPRING_OWN_EXCLUSIVE);
        fx_map(&f, SPRING_RIGHTS_RW);
        spring_cache_obj_t c = tp_cache(f.tp);
        for (spring_off_t i = 0; i < 4; i++)
            ck_assert_rc(put_page(f.as, f.a + i * PS, (uint8_t)(0x10 + i)), 0);
        tp_clear(f.tp);
        spring_data_t *d = NULL;
        inject(f.vmm, kk);
        if (k == A_FLUSH)
            rc = spring_cache_flush_back(c, 0, SPRING_SIZE_ALL, NULL, &d);
        else if (k == A_DENY)
            rc = spring_cache_deny_writes(c, 0, SPRING_SIZE_ALL, NULL, &d);
        else
            rc = spring_cache_write_back(c, 0, SPRING_SIZE_ALL, NULL, &d);
        inject(f.vmm, 0);
        ck_assert_msg(rc == 0 || rc == SPRING_ENOMEM, "k=%u: %s", kk, spring_err_name(rc));
        CHECK_VMM(f.vmm);
        if (rc == 0) {
            ck_assert_uint_eq(d->nblocks, 4);
            for (spring_off_t i = 0; i < 4; i++)
                ck_assert(dblock_is(d, i, i * PS, 0x10 + (int)i));
            spring_data_free(d);
        } else {
            nfail++;
            ck_assert_ptr_null(d);
            /* Nothing was taken: the data is still cached, still modified. */
            for (spring_off_t i = 0; i < 4; i++)
                ck_assert_msg(page_is(f.as, f.a + i * PS, (uint8_t)(0x10 + i)),
                              "%s failed with ENOMEM (k=%u) but page %d lost its modified data", names[k], kk,
                              (int)i);
            ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), 0);
            d = NULL;
            ck_assert_rc(spring_cache_write_back(c, 0, SPRING_SIZE_ALL, NULL, &d), 0);
            ck_assert_msg(d->nblocks == 4,
                          "%s failed with ENOMEM (k=%u) but left only %zu of 4 pages modified: the others' "
                          "data would never reach the pager",
                          names[k], kk, d->nblocks);
            spring_data_free(d);
        }
        fx_fini(&f);
    }
    INJECT_END(nfail, rc);
}

START_TEST(test_inject_flush_back)
{
    inject_take(A_FLUSH);
}
END_TEST

START_TEST(test_inject_deny_writes)
{
    inject_take(A_DENY);
}
END_TEST

START_TEST(test_inject_write_back)
{
    inject_take(A_WRITEBACK);
}
END_TEST

/* zero_fill: all or nothing (the zero-fill table is full, so it must grow). */
START_TEST(test_inject_zero_fill)
{
    unsigned nfail = 0;
    int rc = 0;
    for (unsigned k = 1; k <= KMAX; k++) {
        fx_t f;
        fx_init(&f, 32, 12, 0, SPRING_OWN_EXCLUSIVE);
        fx_map(&f, SPRING_RIGHTS_RW);
        ck_assert_rc(put_page(f.as, f.a, 0x81), 0);
        spring_cache_obj_t c = tp_cache(f.tp);
        for (spring_off_t i = 3; i < 10; i += 2) /* four ranges: a full table */
            ck_assert_rc(spring_cache_zero_fill(c, i * PS, PS, NULL), 0);
        inject(f.vmm, k);
        rc = spring_cache_zero_fill(c, 0, 2 * PS, NULL);
        inject(f.vmm, 0);
        ck_assert_msg(rc == 0 || rc == SPRING_ENOMEM, "k=%u: %s", k, spring_err_name(rc));
        CHECK_VMM(f.vmm);
        if (rc == 0) {
            ck_assert(page_is(f.as, f.a, 0));
            ck_assert(page_is(f.as, f.a + PS, 0));
            ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), 1);
        } else {
            nfail++;
            ck_assert(page_is(f.as, f.a, 0x81));
            ck_assert(page_is_pat(f.as, f.a + PS, PS));
        }
        ck_assert(page_is(f.as, f.a + 3 * PS, 0));
        fx_fini(&f);
    }
    INJECT_END(nfail, rc);
}
END_TEST

/* populate of four pages: ENOMEM may leave a prefix populated, never
 * anything else; every page reads either its new data or the pager's. */
START_TEST(test_inject_populate)
{
    unsigned nfail = 0;
    int rc = 0;
    for (unsigned k = 1; k <= KMAX; k++) {
        fx_t f;
        fx_init(&f, 32, 4, 0, SPRING_OWN_EXCLUSIVE);
        fx_map(&f, SPRING_RIGHTS_RW);
        spring_cache_obj_t c = tp_cache(f.tp);
        static uint8_t buf[4][PS];
        spring_data_block_t blk[4];
        for (int i = 0; i < 4; i++) {
            memset(buf[i], 0x90 + i, PS);
            blk[i] = (spring_data_block_t){(spring_off_t)i * PS, PS, buf[i]};
        }
        spring_data_t d = {4, blk};
        inject(f.vmm, k);
        rc = spring_cache_populate(c, 0, 4 * PS, SPRING_RIGHTS_RW, NULL, &d);
        inject(f.vmm, 0);
        ck_assert_msg(rc == 0 || rc == SPRING_ENOMEM, "k=%u: %s", k, spring_err_name(rc));
        CHECK_VMM(f.vmm);
        if (rc)
            nfail++;
        bool prefix = true;
        for (spring_off_t i = 0; i < 4; i++) {
            size_t before = tp_count(f.tp, TP_PAGE_IN);
            bool mine = page_is(f.as, f.a + i * PS, (uint8_t)(0x90 + i));
            if (mine) {
                ck_assert_msg(prefix, "k=%u: populate entered page %d after skipping one", k, (int)i);
                ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), before);
            } else {
                ck_assert_msg(rc != 0, "k=%u: populate succeeded but page %d is not populated", k, (int)i);
                ck_assert(page_is_pat(f.as, f.a + i * PS, i * PS));
                prefix = false;
            }
        }
        fx_fini(&f);
    }
    INJECT_END(nfail, rc);
}
END_TEST

/* lock_memory: all locked, or nothing. */
START_TEST(test_inject_lock_memory)
{
    unsigned nfail = 0;
    int rc = 0;
    for (unsigned k = 1; k <= KMAX; k++) {
        fx_t f;
        fx_init(&f, 32, 8, 0, SPRING_OWN_EXCLUSIVE);
        fx_map(&f, SPRING_RIGHTS_RW);
        rd1(f.as, f.a + PS);
        inject(f.vmm, k);
        rc = spring_as_lock_memory(f.as, f.a, 4 * PS);
        inject(f.vmm, 0);
        ck_assert_msg(rc == 0 || rc == SPRING_ENOMEM, "k=%u: %s", k, spring_err_name(rc));
        CHECK_VMM(f.vmm);
        ck_assert(locked_prefix(f.as, f.a, f.len, rc == 0 ? 4 * PS : 0));
        ck_assert_uint_eq(test_vm_info(f.vmm).locked_frames, rc == 0 ? 4 : 0);
        ck_assert_uint_eq(test_as_stats(f.as).locked, rc == 0 ? 4 : 0);
        if (rc)
            nfail++;
        fx_fini(&f);
    }
    INJECT_END(nfail, rc);
}
END_TEST

/* change_access_rights of a middle range: three runs, or unchanged. */
START_TEST(test_inject_change_access_rights)
{
    unsigned nfail = 0;
    int rc = 0;
    for (unsigned k = 1; k <= KMAX; k++) {
        fx_t f;
        fx_init(&f, 32, 8, 0, SPRING_OWN_EXCLUSIVE);
        fx_map(&f, SPRING_RIGHTS_RW);
        inject(f.vmm, k);
        rc = spring_as_change_access_rights(f.as, f.a + 2 * PS, 2 * PS, SPRING_RIGHTS_RO);
        inject(f.vmm, 0);
        ck_assert_msg(rc == 0 || rc == SPRING_ENOMEM, "k=%u: %s", k, spring_err_name(rc));
        CHECK_VMM(f.vmm);
        spring_mapping_t m[8];
        size_t n = mappings(f.as, f.a, f.len, m);
        uint8_t v = 1;
        if (rc == 0) {
            ck_assert_uint_eq(n, 3);
            ck_assert_uint_eq(m[1].address, f.a + 2 * PS);
            ck_assert_uint_eq(m[1].length, 2 * PS);
            ck_assert_uint_eq(m[1].access, SPRING_RIGHTS_RO);
            ck_assert_rc(spring_as_write(f.as, f.a + 2 * PS, &v, 1), SPRING_EACCES);
        } else {
            nfail++;
            ck_assert_uint_eq(n, 1);
            ck_assert_uint_eq(m[0].access, SPRING_RIGHTS_RW);
            ck_assert_rc(spring_as_write(f.as, f.a + 2 * PS, &v, 1), 0);
        }
        fx_fini(&f);
    }
    INJECT_END(nfail, rc);
}
END_TEST

/* allocate_memory and allocate_memory_and_mobj: mapped and zero, or
 * nothing mapped (and no object handed out). */
static void inject_allocate(bool and_mobj)
{
    unsigned nfail = 0;
    int rc = 0;
    for (unsigned k = 1; k <= KMAX; k++) {
        fx_t f;
        fx_init(&f, 32, 4, 0, SPRING_OWN_EXCLUSIVE);
        spring_off_t len = 4 * PS;
        spring_addr_t a = SPRING_ANYWHERE;
        spring_mobj_t *m = NULL;
        inject(f.vmm, k);
        if (and_mobj)
            rc = spring_as_allocate_memory_and_mobj(f.as, &len, &a, SPRING_RIGHTS_RW, &m);
        else
            rc = spring_as_allocate_memory(f.as, &len, &a, SPRING_RIGHTS_RW);
        inject(f.vmm, 0);
        ck_assert_msg(rc == 0 || rc == SPRING_ENOMEM || rc == SPRING_EBIND, "k=%u: %s", k, spring_err_name(rc));
        CHECK_VMM(f.vmm);
        if (rc == 0) {
            ck_assert_uint_eq(test_as_stats(f.as).nregions, 1);
            ck_assert(page_is(f.as, a + 3 * PS, 0));
            wr1(f.as, a, 7);
            ck_assert(!and_mobj || m != NULL);
        } else {
            nfail++;
            ck_assert_ptr_null(m);
            ck_assert_uint_eq(test_as_stats(f.as).nregions, 0);
            len = 4 * PS;
            a = SPRING_ANYWHERE;
            ck_assert_rc(spring_as_allocate_memory(f.as, &len, &a, SPRING_RIGHTS_RW), 0);
            ck_assert(page_is(f.as, a, 0));
        }
        spring_mobj_unref(m);
        fx_fini(&f);
    }
    INJECT_END(nfail, rc);
}

START_TEST(test_inject_allocate_memory)
{
    inject_allocate(false);
}
END_TEST

START_TEST(test_inject_allocate_memory_and_mobj)
{
    inject_allocate(true);
}
END_TEST

/* create_cache_object: on failure the pager object is not consumed (never
 * called) and no cache exists; on success the handles work. */
START_TEST(test_inject_create_cache_object)
{
    unsigned nfail = 0;
    int rc = 0;
    for (unsigned k = 1; k <= KMAX; k++) {
        spring_vmm_t *vmm = test_vmm(VMM_NAME, 32, NULL);
        spring_vmm_obj_t o;
        ck_assert_rc(spring_vmm_get_object(vmm, SPRING_PRIV_USER, &o), 0);
        struct mini mp = {0, 0};
        spring_pager_info_t info = {0, SPRING_CACHE_DATA, 0, true};
        spring_cache_obj_t c = {0};
        spring_cache_rights_t r = {0};
        size_t ncaches = test_vm_info(vmm).ncaches;
        inject(vmm, k);
        rc = spring_vmm_create_cache_object(o, &mini_ops, &mp, false, &info, SPRING_OWN_EXCLUSIVE, SPRING_RIGHTS_RW,
                                            &c, &r);
        inject(vmm, 0);
        ck_assert_msg(rc == 0 || rc == SPRING_ENOMEM, "k=%u: %s", k, spring_err_name(rc));
        CHECK_VMM(vmm);
        if (rc == 0) {
            ck_assert_uint_eq(test_vm_info(vmm).ncaches, ncaches + 1);
            spring_rights_t rr;
            ck_assert_rc(spring_cache_rights_get(r, &rr), 0);
            ck_assert_uint_eq(rr, SPRING_RIGHTS_RW);
            ck_assert_rc(populate1(c, 0, SPRING_RIGHTS_RW, 1), 0);
            ck_assert_rc(spring_cache_destroy(c), 0);
            ck_assert_int_eq(mp.done, 1);
        } else {
            nfail++;
            ck_assert_int_eq(mp.done, 0);
            ck_assert_uint_eq(test_vm_info(vmm).ncaches, ncaches);
        }
        ck_assert_int_eq(mp.page_ins, 0);
        test_vmm_free(vmm, NULL);
        ck_assert_int_eq(mp.done, rc == 0 ? 1 : 0);
    }
    INJECT_END(nfail, rc);
}
END_TEST

void scen_inject(Suite *s)
{
    TCase *t = tcase_create("inject");
    tcase_add_test(t, test_inject_map_new_cache);
    tcase_add_test(t, test_inject_map_existing_cache);
    tcase_add_test(t, test_inject_map_final_bind);
    tcase_add_test(t, test_inject_unmap_split);
    tcase_add_test(t, test_inject_unmap_split_anon);
    tcase_add_test(t, test_inject_fault);
    tcase_add_test(t, test_inject_fault_anon);
    tcase_add_test(t, test_inject_flush_back);
    tcase_add_test(t, test_inject_deny_writes);
    tcase_add_test(t, test_inject_write_back);
    tcase_add_test(t, test_inject_zero_fill);
    tcase_add_test(t, test_inject_populate);
    tcase_add_test(t, test_inject_lock_memory);
    tcase_add_test(t, test_inject_change_access_rights);
    tcase_add_test(t, test_inject_allocate_memory);
    tcase_add_test(t, test_inject_allocate_memory_and_mobj);
    tcase_add_test(t, test_inject_create_cache_object);
    suite_add_tcase(s, t);
}
