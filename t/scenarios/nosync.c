/*
 * nosync.c - pagers without sync: flush with please_keep uses write_out, or
 * is refused when the pager has neither.
 */
#include "scen.h"

/* A pager with write_out and no sync: flush with please_keep writes the
 * data out with write_out and keeps a read-only copy: a read needs no
 * page_in, a write upgrades. */
START_TEST(test_flush_keep_uses_write_out)
{
    spring_as_t *as;
    spring_mobj_t *m;
    spring_addr_t a;
    struct wpager *w = wpager_setup(&wpager_write_out_ops, &as, &m, &a);
    ck_assert_rc(put_page(as, a, 0x2a), 0);
    ck_assert_int_eq(w->page_ins, 1);
    ck_assert_rc(spring_as_flush(as, a, PS, true), 0);
    ck_assert_int_eq(w->write_outs, 1);
    ck_assert_int_eq(w->page_outs, 0);
    ck_assert(mem_is(w->store, PS, 0x2a));
    ck_assert(page_is(as, a, 0x2a));
    ck_assert_int_eq(w->page_ins, 1);
    wr1(as, a, 0x2b);
    ck_assert_int_eq(w->page_ins, 2);
    ck_assert_int_eq(w->upgrades, 1);
    ck_assert_uint_eq(rd1(as, a + 1), 0x2a);
    ck_assert_rc(spring_as_flush(as, a, PS, true), 0);
    ck_assert_int_eq(w->write_outs, 2);
    ck_assert_uint_eq(w->store[0], 0x2b);
    wpager_teardown(w, as, m);
}
END_TEST

/* A pager with neither sync nor write_out cannot receive data the VMM
 * keeps: flush with please_keep reports ENOKEEP, sends nothing (page_out
 * would make the VMM drop what it keeps), and the page stays cached and
 * modified; a flush without please_keep then pages it out. */
START_TEST(test_flush_keep_without_sync_refused)
{
    spring_as_t *as;
    spring_mobj_t *m;
    spring_addr_t a;
    struct wpager *w = wpager_setup(&wpager_plain_ops, &as, &m, &a);
    ck_assert_rc(put_page(as, a, 0x2c), 0);
    ck_assert_rc(spring_as_flush(as, a, PS, true), SPRING_ENOKEEP);
    ck_assert_int_eq(w->page_outs, 0);
    ck_assert_int_eq(w->write_outs, 0);
    ck_assert(page_is(as, a, 0x2c));
    ck_assert_int_eq(w->page_ins, 1);
    ck_assert_rc(spring_as_flush(as, a, PS, false), 0);
    ck_assert_int_eq(w->page_outs, 1);
    ck_assert(mem_is(w->store, PS, 0x2c));
    ck_assert(page_is(as, a, 0x2c));
    ck_assert_int_eq(w->page_ins, 2);
    wpager_teardown(w, as, m);
}
END_TEST

void scen_nosync(Suite *s)
{
    TCase *t = tcase_create("nosync");
    tcase_add_test(t, test_flush_keep_uses_write_out);
    tcase_add_test(t, test_flush_keep_without_sync_refused);
    suite_add_tcase(s, t);
}
