/*
 * ownership.c - ownership (§5.1): the rule deciding the mode a page_in asks
 * for, and the pager changing the ownership state.
 */
#include "scen.h"

/* A read fault on a read-write region of an exclusive cache asks the pager
 * for read-write data; the write that follows needs no other page_in. */
START_TEST(test_own_exclusive_read_asks_rw)
{
    fx_map(&fx, SPRING_RIGHTS_RW);
    ck_assert_uint_eq(rd1(fx.as, fx.a + PS + 5), tp_pattern(PS + 5));
    ck_assert_uint_eq(tp_count(fx.tp, TP_PAGE_IN), 1);
    tp_call_t c = last_of(fx.tp, TP_PAGE_IN);
    ck_assert_uint_eq(c.off, PS);
    ck_assert_uint_eq(c.size, PS);
    ck_assert_uint_eq(c.access, SPRING_RIGHTS_RW);
    ck_assert_uint_eq(c.own, SPRING_OWN_EXCLUSIVE);
    ck_assert(!c.upgrade);
    ck_assert_rc(put_page(fx.as, fx.a + PS, 0x11), 0);
    ck_assert_uint_eq(tp_count(fx.tp, TP_PAGE_IN), 1);
}
END_TEST

/* In the shared state a read fault asks for read-only data, and the write
 * that follows upgrades the block: a read-write page_in with the upgrade
 * flag, which keeps the cached bytes. */
START_TEST(test_own_shared_read_asks_ro_then_upgrade)
{
    fx_t f;
    fx_init(&f, 32, 8, 0, SPRING_OWN_SHARED);
    fx_map(&f, SPRING_RIGHTS_RW);
    ck_assert_uint_eq(rd1(f.as, f.a), tp_pattern(0));
    tp_call_t c = last_of(f.tp, TP_PAGE_IN);
    ck_assert_uint_eq(c.access, SPRING_RIGHTS_RO);
    ck_assert_uint_eq(c.own, SPRING_OWN_SHARED);
    ck_assert(!c.upgrade);
    wr1(f.as, f.a + 7, 0xee);
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), 2);
    c = last_of(f.tp, TP_PAGE_IN);
    ck_assert_uint_eq(c.off, 0);
    ck_assert_uint_eq(c.access, SPRING_RIGHTS_RW);
    ck_assert_uint_eq(c.own, SPRING_OWN_SHARED);
    ck_assert(c.upgrade);
    uint8_t buf[16];
    ck_assert_rc(spring_as_read(f.as, f.a, buf, sizeof buf), 0);
    for (size_t i = 0; i < sizeof buf; i++)
        ck_assert_uint_eq(buf[i], i == 7 ? 0xee : tp_pattern(i));
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), 2);
    fx_fini(&f);
}
END_TEST

/* A read fault on a read-only region asks for read-only data even when the
 * cache is exclusive; a write there is refused without pager traffic; once
 * the region is made writable the write upgrades the block. */
START_TEST(test_own_ro_region_asks_ro)
{
    fx_map(&fx, SPRING_RIGHTS_RO);
    ck_assert_uint_eq(rd1(fx.as, fx.a + 2 * PS), tp_pattern(2 * PS));
    tp_call_t c = last_of(fx.tp, TP_PAGE_IN);
    ck_assert_uint_eq(c.access, SPRING_RIGHTS_RO);
    ck_assert_uint_eq(c.own, SPRING_OWN_EXCLUSIVE);
    uint8_t v = 1;
    ck_assert_rc(spring_as_write(fx.as, fx.a + 2 * PS, &v, 1), SPRING_EACCES);
    ck_assert_uint_eq(tp_count(fx.tp, TP_PAGE_IN), 1);
    ck_assert_rc(spring_as_change_access_rights(fx.as, fx.a, fx.len, SPRING_RIGHTS_RW), 0);
    wr1(fx.as, fx.a + 2 * PS, 1);
    ck_assert_uint_eq(tp_count(fx.tp, TP_PAGE_IN), 2);
    c = last_of(fx.tp, TP_PAGE_IN);
    ck_assert_uint_eq(c.off, 2 * PS);
    ck_assert_uint_eq(c.access, SPRING_RIGHTS_RW);
    ck_assert(c.upgrade);
}
END_TEST

/* The pager changes the ownership through the own argument of page_in, and
 * the next page_ins follow the new state. */
START_TEST(test_own_pager_reply_changes_requests)
{
    fx_map(&fx, SPRING_RIGHTS_RW);
    tp_set_own_reply(fx.tp, SPRING_OWN_SHARED);
    rd1(fx.as, fx.a);
    tp_call_t c = last_of(fx.tp, TP_PAGE_IN);
    ck_assert_uint_eq(c.access, SPRING_RIGHTS_RW);
    ck_assert_uint_eq(c.own, SPRING_OWN_EXCLUSIVE);
    rd1(fx.as, fx.a + PS);
    c = last_of(fx.tp, TP_PAGE_IN);
    ck_assert_uint_eq(c.access, SPRING_RIGHTS_RO);
    ck_assert_uint_eq(c.own, SPRING_OWN_SHARED);
    tp_set_own_reply(fx.tp, SPRING_OWN_EXCLUSIVE);
    rd1(fx.as, fx.a + 2 * PS);
    c = last_of(fx.tp, TP_PAGE_IN);
    ck_assert_uint_eq(c.access, SPRING_RIGHTS_RO);
    ck_assert_uint_eq(c.own, SPRING_OWN_SHARED);
    rd1(fx.as, fx.a + 3 * PS);
    c = last_of(fx.tp, TP_PAGE_IN);
    ck_assert_uint_eq(c.access, SPRING_RIGHTS_RW);
    ck_assert_uint_eq(c.own, SPRING_OWN_EXCLUSIVE);
    ck_assert_uint_eq(tp_count(fx.tp, TP_PAGE_IN), 4);
}
END_TEST

/* The pager changes the ownership through the own argument of its cache
 * calls; UNCHANGED reports the state; an invalid state is refused. */
START_TEST(test_own_pager_calls_change_state)
{
    fx_map(&fx, SPRING_RIGHTS_RW);
    spring_cache_obj_t cache = tp_cache(fx.tp);
    spring_ownership_t o = SPRING_OWN_SHARED;
    ck_assert_rc(spring_cache_delete_range(cache, 7 * PS, PS, &o), 0);
    ck_assert_uint_eq(o, SPRING_OWN_SHARED);
    rd1(fx.as, fx.a + 4 * PS);
    tp_call_t c = last_of(fx.tp, TP_PAGE_IN);
    ck_assert_uint_eq(c.access, SPRING_RIGHTS_RO);
    ck_assert_uint_eq(c.own, SPRING_OWN_SHARED);
    o = SPRING_OWN_UNCHANGED;
    ck_assert_rc(spring_cache_flush_back(cache, 7 * PS, PS, &o, NULL), 0);
    ck_assert_uint_eq(o, SPRING_OWN_SHARED);
    o = SPRING_OWN_EXCLUSIVE;
    ck_assert_rc(spring_cache_write_back(cache, 7 * PS, PS, &o, NULL), 0);
    ck_assert_uint_eq(o, SPRING_OWN_EXCLUSIVE);
    rd1(fx.as, fx.a + 5 * PS);
    c = last_of(fx.tp, TP_PAGE_IN);
    ck_assert_uint_eq(c.access, SPRING_RIGHTS_RW);
    ck_assert_uint_eq(c.own, SPRING_OWN_EXCLUSIVE);
    o = (spring_ownership_t)9;
    ck_assert_rc(spring_cache_delete_range(cache, 0, SPRING_SIZE_ALL, &o), SPRING_EINVAL);
    /* Refused: nothing was deleted. */
    rd1(fx.as, fx.a + 5 * PS);
    ck_assert_uint_eq(tp_count(fx.tp, TP_PAGE_IN), 2);
}
END_TEST

void scen_ownership(Suite *s)
{
    TCase *t = tcase_create("ownership");
    tcase_add_checked_fixture(t, fx_setup8, fx_teardown);
    tcase_add_test(t, test_own_exclusive_read_asks_rw);
    tcase_add_test(t, test_own_ro_region_asks_ro);
    tcase_add_test(t, test_own_pager_reply_changes_requests);
    tcase_add_test(t, test_own_pager_calls_change_state);
    suite_add_tcase(s, t);
    /* The tests that make their own set-up. */
    t = tcase_create("ownership");
    tcase_add_test(t, test_own_shared_read_asks_ro_then_upgrade);
    suite_add_tcase(s, t);
}
