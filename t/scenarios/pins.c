/*
 * pins.c - pins (spring_as_translate) against the pager's calls: revoked by
 * delete_range and destroy, kept across unmap, waited for by flush_back.
 */
#include "scen.h"

/* delete_range does not wait for a write pin (the holder is this very
 * thread) but revokes it: writes through the pointer no longer reach the
 * cache; the frame is reused only once the pin is released. */
START_TEST(test_pin_revoked_by_delete_range)
{
    fx_map(&fx, SPRING_RIGHTS_RW);
    void *p;
    spring_pin_t pin;
    ck_assert_rc(spring_as_translate(fx.as, fx.a, SPRING_RIGHTS_W, &p, &pin), 0);
    ck_assert(spring_pin_valid(&pin));
    memset(p, 0x11, PS);
    size_t nfree = test_vm_info(fx.vmm).free_frames;
    ck_assert_rc(spring_cache_delete_range(tp_cache(fx.tp), 0, PS, NULL), 0);
    ck_assert(!spring_pin_valid(&pin));
    ck_assert_uint_eq(test_vm_info(fx.vmm).free_frames, nfree); /* still pinned */
    memset(p, 0x12, PS);
    spring_pin_release(&pin);
    ck_assert_uint_eq(test_vm_info(fx.vmm).free_frames, nfree + 1);
    CHECK_VMM(fx.vmm);
    ck_assert(page_is_pat(fx.as, fx.a, 0));
    ck_assert_uint_eq(tp_count(fx.tp, TP_PAGE_IN), 2);
    ck_assert_rc(spring_as_flush(fx.as, fx.a, fx.len, false), 0);
    ck_assert_uint_eq(tp_count(fx.tp, TP_PAGE_OUT), 0);
}
END_TEST

/* destroy_cache revokes pins the same way. */
START_TEST(test_pin_revoked_by_destroy)
{
    fx_map(&fx, SPRING_RIGHTS_RW);
    void *p;
    spring_pin_t pin;
    ck_assert_rc(spring_as_translate(fx.as, fx.a + PS, SPRING_RIGHTS_R, &p, &pin), 0);
    ck_assert(mem_is_pat(p, PS, PS));
    ck_assert_rc(spring_cache_destroy(tp_cache(fx.tp)), 0);
    ck_assert(!spring_pin_valid(&pin));
    ck_assert(mem_is_pat(p, PS, PS)); /* still valid memory */
    spring_pin_release(&pin);
    ck_assert_uint_eq(test_vm_info(fx.vmm).free_frames, 32);
    CHECK_VMM(fx.vmm);
}
END_TEST

/* unmap neither waits for nor revokes a pin: the frame stays cached, the
 * write through the pointer is seen by a new mapping and reaches the pager. */
START_TEST(test_pin_survives_unmap)
{
    fx_map(&fx, SPRING_RIGHTS_RW);
    void *p;
    spring_pin_t pin;
    ck_assert_rc(spring_as_translate(fx.as, fx.a, SPRING_RIGHTS_W, &p, &pin), 0);
    ck_assert_rc(spring_as_unmap(fx.as, fx.a, fx.len), 0);
    ck_assert(spring_pin_valid(&pin));
    memset(p, 0x13, PS);
    spring_pin_release(&pin);
    fx_map(&fx, SPRING_RIGHTS_RW);
    ck_assert(page_is(fx.as, fx.a, 0x13));
    ck_assert_uint_eq(tp_count(fx.tp, TP_PAGE_IN), 1);
    ck_assert_rc(spring_as_flush(fx.as, fx.a, fx.len, false), 0);
    ck_assert(store_is(fx.tp, 0, PS, 0x13));
}
END_TEST

/* flush_back waits for a write pin: a pager thread's flush_back does not
 * return while the pin is held (100 ms), the pin holder can meanwhile fault
 * on another page of the cache, and the flush returns the bytes written
 * through the pointer before the release. */
struct pinwait {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    spring_cache_obj_t cache;
    bool done;
    int rc;
    spring_data_t *d;
};

static void *flush_thread(void *arg)
{
    struct pinwait *w = arg;
    spring_data_t *d = NULL;
    int rc = spring_cache_flush_back(w->cache, 0, PS, NULL, &d);
    pthread_mutex_lock(&w->mu);
    w->rc = rc;
    w->d = d;
    w->done = true;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

START_TEST(test_pin_flush_back_waits)
{
    fx_map(&fx, SPRING_RIGHTS_RW);
    void *p;
    spring_pin_t pin;
    ck_assert_rc(spring_as_translate(fx.as, fx.a, SPRING_RIGHTS_W, &p, &pin), 0);
    memset(p, 0x14, PS);
    struct pinwait w;
    memset(&w, 0, sizeof w);
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, NULL);
    w.cache = tp_cache(fx.tp);
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, flush_thread, &w), 0);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 100L * 1000 * 1000;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&w.mu);
    while (!w.done)
        if (pthread_cond_timedwait(&w.cv, &w.mu, &ts) != 0)
            break;
    bool early = w.done;
    pthread_mutex_unlock(&w.mu);
    /* While the flush waits, the pin holder can still fault on another page
     * of the cache (the wait holds no cache lock). */
    ck_assert(page_is_pat(fx.as, fx.a + 2 * PS, 2 * PS));
    memset(p, 0x15, PS);
    spring_pin_release(&pin);
    pthread_join(t, NULL);
    ck_assert_msg(!early, "flush_back returned while a write pin was held");
    ck_assert_rc(w.rc, 0);
    ck_assert_uint_eq(w.d->nblocks, 1);
    ck_assert(dblock_is(w.d, 0, 0, 0x15));
    spring_data_free(w.d);
    pthread_mutex_destroy(&w.mu);
    pthread_cond_destroy(&w.cv);
}
END_TEST

void scen_pins(Suite *s)
{
    TCase *t = tcase_create("pins");
    tcase_add_checked_fixture(t, fx_setup4, fx_teardown);
    tcase_add_test(t, test_pin_revoked_by_delete_range);
    tcase_add_test(t, test_pin_revoked_by_destroy);
    tcase_add_test(t, test_pin_survives_unmap);
    tcase_add_test(t, test_pin_flush_back_waits);
    suite_add_tcase(s, t);
}
