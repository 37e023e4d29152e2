/*
 * twokind.c - two of a kind: a block's identity moves between two caches,
 * also while other threads fault on it.
 */
#include "scen.h"
#include "testhooks.h"

/* Moving a block: its data appears at the new cache and offset, the old
 * one pages in from its pager again; the cases that cannot move say why. */
START_TEST(test_move_block_basic)
{
    fx_map(&fx, SPRING_RIGHTS_RW);
    tpager_t *tp2 = tp_new(fx.reg, VMM_NAME, NULL, 4 * PS, 0, SPRING_OWN_EXCLUSIVE, false);
    spring_mobj_t *m2 = tp_mobj(tp2, SPRING_RIGHTS_RW);
    spring_off_t len = 4 * PS;
    spring_addr_t a2 = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_map(fx.as, m2, 0, &len, &a2, SPRING_RIGHTS_RW), 0);
    spring_cache_obj_t c1 = tp_cache(fx.tp), c2 = tp_cache(tp2);
    ck_assert_rc(put_page(fx.as, fx.a + PS, 0x3c), 0);
    ck_assert_rc(spring__test_move_block(c1, PS, c2, 2 * PS), 0);
    ck_assert(page_is(fx.as, a2 + 2 * PS, 0x3c));      /* the data moved */
    ck_assert(page_is_pat(fx.as, fx.a + PS, PS));        /* the old place pages in again */
    ck_assert_rc(spring__test_move_block(c1, 3 * PS, c2, 0), SPRING_ENOENT); /* nothing cached there */
    (void)rd1(fx.as, fx.a);
    ck_assert_rc(spring__test_move_block(c1, 0, c2, 2 * PS), SPRING_EEXIST);
    ck_assert_rc(spring__test_move_block(c1, 1, c2, 0), SPRING_EINVAL);   /* not block aligned */
    ck_assert_rc(spring__test_move_block(c1, 0, (spring_cache_obj_t){0}, 0), SPRING_EBADHANDLE);
    void *p;
    spring_pin_t pin;
    ck_assert_rc(spring_as_translate(fx.as, fx.a, SPRING_RIGHTS_R, &p, &pin), 0);
    ck_assert_rc(spring__test_move_block(c1, 0, c2, 3 * PS), SPRING_EBUSY); /* pinned */
    spring_pin_release(&pin);
    ck_assert_rc(spring__test_move_block(c1, 0, c2, 3 * PS), 0);
    ck_assert(page_is_pat(fx.as, a2 + 3 * PS, 0));
    CHECK_VMM(fx.vmm);
    /* The moved data is modified for its new cache: a flush sends it there. */
    ck_assert_rc(spring_as_flush(fx.as, a2, 4 * PS, false), 0);
    ck_assert(store_is(tp2, 2 * PS, PS, 0x3c));
    ck_assert_rc(spring_as_unmap(fx.as, a2, 4 * PS), 0);
    spring_mobj_unref(m2);
    (void)spring_vmm_reclaim_caches(fx.vmm, 0);
    tp_free(tp2);
}
END_TEST

/* Blocks move back and forth between two caches while other threads
 * fault on both: every read succeeds, moves happen, and the VMM stays
 * consistent (in the debug build the two cache locks are checked to be
 * taken in address order, and every lock precondition; under TSan, no
 * race on a block's identity). */
struct move_reader {
    spring_as_t *as;
    spring_addr_t a, b;
    atomic_int stop;
    atomic_size_t reads, bad;
};

static void *move_read_thread(void *arg)
{
    struct move_reader *r = arg;
    uint8_t buf[64];
    unsigned i = 0;
    while (!atomic_load(&r->stop)) {
        spring_addr_t at = ((i & 1) ? r->b : r->a) + (spring_addr_t)((i >> 1) % 4) * PS;
        if (spring_as_read(r->as, at, buf, sizeof buf) != 0)
            atomic_fetch_add(&r->bad, 1);
        atomic_fetch_add(&r->reads, 1);
        i++;
    }
    return NULL;
}

START_TEST(test_move_block_while_faulting)
{
    fx_map(&fx, SPRING_RIGHTS_RW);
    tpager_t *tp2 = tp_new(fx.reg, VMM_NAME, NULL, 4 * PS, 0, SPRING_OWN_EXCLUSIVE, false);
    spring_mobj_t *m2 = tp_mobj(tp2, SPRING_RIGHTS_RW);
    spring_off_t len = 4 * PS;
    spring_addr_t a2 = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_map(fx.as, m2, 0, &len, &a2, SPRING_RIGHTS_RW), 0);
    spring_cache_obj_t c1 = tp_cache(fx.tp), c2 = tp_cache(tp2);
    struct move_reader r = {.as = fx.as, .a = fx.a, .b = a2};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, move_read_thread, &r), 0);
    while (atomic_load(&r.reads) < 2)
        sched_yield();
    size_t moved = 0;
    for (int n = 0; n < 4000; n++) {
        spring_off_t off = (spring_off_t)(n % 4) * PS;
        bool there = n & 4;
        int rc;
        /* Take the destination's block away first (it may have been
         * faulted in), then move. */
        (void)spring_cache_flush_back(there ? c1 : c2, off, PS, NULL, NULL);
        rc = there ? spring__test_move_block(c2, off, c1, off) : spring__test_move_block(c1, off, c2, off);
        ck_assert_msg(rc == 0 || rc == SPRING_ENOENT || rc == SPRING_EEXIST || rc == SPRING_EBUSY, "%s",
                      spring_err_name(rc));
        if (rc == 0)
            moved++;
    }
    atomic_store(&r.stop, 1);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    ck_assert_uint_gt(moved, 0);
    ck_assert_uint_eq(atomic_load(&r.bad), 0);
    CHECK_VMM(fx.vmm);
    ck_assert_rc(spring_as_unmap(fx.as, a2, 4 * PS), 0);
    spring_mobj_unref(m2);
    (void)spring_vmm_reclaim_caches(fx.vmm, 0);
    tp_free(tp2);
}
END_TEST

void scen_twokind(Suite *s)
{
    TCase *t = tcase_create("twokind");
    tcase_add_checked_fixture(t, fx_setup4, fx_teardown);
    tcase_add_test(t, test_move_block_basic);
    tcase_add_test(t, test_move_block_while_faulting);
    suite_add_tcase(s, t);
}
