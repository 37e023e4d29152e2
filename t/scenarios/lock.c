/*
 * lock.c - lock_memory: no page traffic under frame pressure, the lock
 * limit, failures keeping earlier locks, delete_range, privilege,
 * unmapping.
 */
#include "scen.h"

/* Locked pages cause no page traffic under frame pressure: their page_ins
 * happen at lock time, and afterwards neither eviction nor translation
 * touches them.  A flush writes them back (sync) but keeps them.  Unlocked,
 * they are reclaimed like any other page. */
START_TEST(test_lock_no_traffic_under_pressure)
{
    enum { N = 16, NP = 64, NL = 4 };
    fx_t f;
    fx_init(&f, N, NP, 0, SPRING_OWN_EXCLUSIVE);
    fx_map(&f, SPRING_RIGHTS_RW);
    ck_assert_rc(spring_as_lock_memory(f.as, f.a, NL * PS), 0);
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), NL);
    for (spring_off_t i = 0; i < NL; i++) {
        ck_assert_uint_eq(calls_at(f.tp, TP_PAGE_IN, i * PS), 1);
        ck_assert_rc(put_page(f.as, f.a + i * PS, (uint8_t)(0xa0 + i)), 0);
    }
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), NL);
    ck_assert_uint_eq(test_vm_info(f.vmm).locked_frames, NL);
    ck_assert_uint_eq(test_as_stats(f.as).locked, NL);
    ck_assert(locked_prefix(f.as, f.a, f.len, NL * PS));
    tp_clear(f.tp);
    for (spring_off_t i = NL; i < NP; i++)
        ck_assert_rc(put_page(f.as, f.a + i * PS, (uint8_t)i), 0);
    for (spring_off_t i = NL; i < NP; i++)
        ck_assert_uint_eq(rd1(f.as, f.a + i * PS), (uint8_t)i);
    ck_assert_uint_gt(tp_count(f.tp, TP_PAGE_OUT), 0);
    for (size_t i = 0; i < tp_ncalls(f.tp); i++)
        ck_assert_msg(tp_call(f.tp, i).off >= NL * PS, "%s of locked page %#llx",
                      tp_kind_name(tp_call(f.tp, i).kind), (unsigned long long)tp_call(f.tp, i).off);
    size_t before = tp_ncalls(f.tp);
    for (spring_off_t i = 0; i < NL; i++) {
        void *p;
        spring_pin_t pin;
        ck_assert_rc(spring_as_translate(f.as, f.a + i * PS, SPRING_RIGHTS_R, &p, &pin), 0);
        ck_assert(mem_is(p, PS, (uint8_t)(0xa0 + i)));
        spring_pin_release(&pin);
    }
    ck_assert_uint_eq(tp_ncalls(f.tp), before);
    /* flush: locked pages are written back and stay. */
    tp_clear(f.tp);
    ck_assert_rc(spring_as_flush(f.as, f.a, f.len, false), 0);
    for (spring_off_t i = 0; i < NL; i++) {
        ck_assert_uint_eq(calls_at(f.tp, TP_SYNC, i * PS) + calls_at(f.tp, TP_PAGE_OUT, i * PS), 1);
        ck_assert(store_is(f.tp, i * PS, PS, (uint8_t)(0xa0 + i)));
    }
    for (spring_off_t i = 0; i < NL; i++)
        ck_assert(page_is(f.as, f.a + i * PS, (uint8_t)(0xa0 + i)));
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), 0);
    /* Unlocked: pressure reclaims them; they are paged in again. */
    ck_assert_rc(spring_as_unlock_memory(f.as, f.a, NL * PS), 0);
    ck_assert_uint_eq(test_vm_info(f.vmm).locked_frames, 0);
    ck_assert(locked_prefix(f.as, f.a, f.len, 0));
    tp_clear(f.tp);
    for (spring_off_t i = NL; i < NP; i++)
        rd1(f.as, f.a + i * PS);
    for (spring_off_t i = 0; i < NL; i++)
        ck_assert(page_is(f.as, f.a + i * PS, (uint8_t)(0xa0 + i)));
    for (spring_off_t i = 0; i < NL; i++)
        ck_assert_uint_eq(calls_at(f.tp, TP_PAGE_IN, i * PS), 1);
    fx_fini(&f);
}
END_TEST

/* Locking more than the pool can hold fails with ELOCKLIMIT and leaves
 * nothing locked; up to the limit works. */
START_TEST(test_lock_limit)
{
    enum { N = 16 };
    fx_t f;
    fx_init(&f, N, 2 * N, 0, SPRING_OWN_EXCLUSIVE);
    fx_map(&f, SPRING_RIGHTS_RW);
    ck_assert_rc(spring_as_lock_memory(f.as, f.a, N * PS), SPRING_ELOCKLIMIT);
    ck_assert(locked_prefix(f.as, f.a, f.len, 0));
    ck_assert_uint_eq(test_vm_info(f.vmm).locked_frames, 0);
    ck_assert_uint_eq(test_as_stats(f.as).locked, 0);
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), 0);
    ck_assert_rc(spring_as_lock_memory(f.as, f.a, (N - 2) * PS), 0);
    ck_assert_uint_eq(test_vm_info(f.vmm).locked_frames, N - 2);
    ck_assert_rc(spring_as_lock_memory(f.as, f.a + (N - 2) * PS, PS), SPRING_ELOCKLIMIT);
    ck_assert(locked_prefix(f.as, f.a, f.len, (N - 2) * PS));
    /* The rest still pages through the unlocked frames. */
    for (spring_off_t i = N - 2; i < 2 * N; i++)
        ck_assert_rc(put_page(f.as, f.a + i * PS, (uint8_t)i), 0);
    for (spring_off_t i = N - 2; i < 2 * N; i++)
        ck_assert_uint_eq(rd1(f.as, f.a + i * PS), (uint8_t)i);
    ck_assert_rc(spring_as_unlock_memory(f.as, f.a, f.len), 0);
    ck_assert_uint_eq(test_vm_info(f.vmm).locked_frames, 0);
    fx_fini(&f);
}
END_TEST

/* A lock across two regions of two caches: the first cache's locks are
 * taken, the second's exceed the limit, and the first are rolled back. */
START_TEST(test_lock_limit_two_regions_rolls_back)
{
    enum { N = 16 };
    fx_t f;
    fx_init(&f, N, 4, 0, SPRING_OWN_EXCLUSIVE);
    fx_map(&f, SPRING_RIGHTS_RW);
    tpager_t *tp2 = tp_new(f.reg, VMM_NAME, NULL, 20 * PS, 0, SPRING_OWN_EXCLUSIVE, true);
    spring_mobj_t *m2 = tp_mobj(tp2, SPRING_RIGHTS_RW);
    spring_off_t len = 20 * PS;
    spring_addr_t b = f.a + f.len;
    ck_assert_rc(spring_as_map(f.as, m2, 0, &len, &b, SPRING_RIGHTS_RW), 0);
    ck_assert_rc(spring_as_lock_memory(f.as, f.a, 16 * PS), SPRING_ELOCKLIMIT);
    ck_assert(locked_prefix(f.as, f.a, 24 * PS, 0));
    ck_assert_uint_eq(test_vm_info(f.vmm).locked_frames, 0);
    /* Nothing stays locked behind the mappings' back: pressure evicts all. */
    for (spring_off_t i = 0; i < 24; i++)
        rd1(f.as, f.a + i * PS);
    for (spring_off_t i = 0; i < 4; i++)
        rd1(f.as, f.a + i * PS);
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), 8);
    spring_as_destroy(f.as);
    f.as = as_new(f.vmm, false, 0);
    spring_mobj_unref(m2);
    tp_free(tp2);
    fx_fini(&f);
}
END_TEST

/* A lock that fails (the pager refuses a page_in) leaves the pages that
 * were locked before it locked: "on failure nothing is locked" means
 * nothing new, not that earlier locks are dropped. */
START_TEST(test_lock_failure_keeps_earlier_locks)
{
    fx_t f;
    fx_init(&f, 32, 8, 0, SPRING_OWN_EXCLUSIVE);
    fx_map(&f, SPRING_RIGHTS_RW);
    ck_assert_rc(spring_as_lock_memory(f.as, f.a, 2 * PS), 0);
    ck_assert_uint_eq(test_vm_info(f.vmm).locked_frames, 2);
    tp_fail(f.tp, TP_PAGE_IN, PAGER_ERR, false);
    ck_assert_rc(spring_as_lock_memory(f.as, f.a, 4 * PS), SPRING_EPAGER);
    ck_assert_msg(locked_prefix(f.as, f.a, f.len, 2 * PS),
                  "a failed lock_memory unlocked pages locked by an earlier call");
    ck_assert_uint_eq(test_vm_info(f.vmm).locked_frames, 2);
    fx_fini(&f);
}
END_TEST

/* delete_range of a locked page: the pager's word wins (the modification is
 * discarded); the page stays locked, is paged in again on its next access
 * and then never leaves under pressure. */
START_TEST(test_lock_delete_range_wins)
{
    enum { N = 8 };
    fx_t f;
    fx_init(&f, N, 3 * N, 0, SPRING_OWN_EXCLUSIVE);
    fx_map(&f, SPRING_RIGHTS_RW);
    ck_assert_rc(spring_as_lock_memory(f.as, f.a, PS), 0);
    ck_assert_rc(put_page(f.as, f.a, 0xb1), 0);
    ck_assert_rc(spring_cache_delete_range(tp_cache(f.tp), 0, PS, NULL), 0);
    ck_assert(locked_prefix(f.as, f.a, f.len, PS));
    ck_assert(page_is_pat(f.as, f.a, 0));
    ck_assert_uint_eq(calls_at(f.tp, TP_PAGE_IN, 0), 2);
    for (spring_off_t i = 1; i < 3 * N; i++)
        ck_assert_rc(put_page(f.as, f.a + i * PS, (uint8_t)i), 0);
    ck_assert(page_is_pat(f.as, f.a, 0));
    ck_assert_uint_eq(calls_at(f.tp, TP_PAGE_IN, 0), 2);
    ck_assert_uint_eq(calls_at(f.tp, TP_PAGE_OUT, 0), 0);
    fx_fini(&f);
}
END_TEST

/* Only privileged address spaces lock. */
START_TEST(test_lock_eperm)
{
    fx_t f;
    fx_init(&f, 32, 4, 0, SPRING_OWN_EXCLUSIVE);
    spring_as_destroy(f.as);
    f.as = as_new(f.vmm, false, 0);
    fx_map(&f, SPRING_RIGHTS_RW);
    ck_assert_rc(spring_as_lock_memory(f.as, f.a, PS), SPRING_EPERM);
    ck_assert_rc(spring_as_unlock_memory(f.as, f.a, PS), SPRING_EPERM);
    ck_assert(locked_prefix(f.as, f.a, f.len, 0));
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), 0);
    fx_fini(&f);
}
END_TEST

/* Unmapping a locked range drops its locks. */
START_TEST(test_lock_unmap_unlocks)
{
    fx_t f;
    fx_init(&f, 32, 8, 0, SPRING_OWN_EXCLUSIVE);
    fx_map(&f, SPRING_RIGHTS_RW);
    ck_assert_rc(spring_as_lock_memory(f.as, f.a, 4 * PS), 0);
    ck_assert_uint_eq(test_vm_info(f.vmm).locked_frames, 4);
    ck_assert_rc(spring_as_unmap(f.as, f.a + 2 * PS, 4 * PS), 0);
    ck_assert_uint_eq(test_vm_info(f.vmm).locked_frames, 2);
    ck_assert(locked_prefix(f.as, f.a, 2 * PS, 2 * PS));
    ck_assert_rc(spring_as_unmap(f.as, f.a, f.len), 0);
    ck_assert_uint_eq(test_vm_info(f.vmm).locked_frames, 0);
    fx_fini(&f);
}
END_TEST

void scen_lock(Suite *s)
{
    TCase *t = tcase_create("lock");
    tcase_add_test(t, test_lock_no_traffic_under_pressure);
    tcase_add_test(t, test_lock_limit);
    tcase_add_test(t, test_lock_limit_two_regions_rolls_back);
    tcase_add_test(t, test_lock_failure_keeps_earlier_locks);
    tcase_add_test(t, test_lock_delete_range_wins);
    tcase_add_test(t, test_lock_eperm);
    tcase_add_test(t, test_lock_unmap_unlocks);
    suite_add_tcase(s, t);
}
