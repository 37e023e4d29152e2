/*
 * once.c - one page_in per page: repeated faults on a page, also from two
 * threads at once, cause one page_in.
 */
#include "scen.h"

/* Repeated faults on a page, through two mappings in two address spaces,
 * cause one page_in and share one frame. */
START_TEST(test_once_sequential)
{
    fx_t f;
    fx_init(&f, 32, 8, 0, SPRING_OWN_EXCLUSIVE);
    fx_map(&f, SPRING_RIGHTS_RW);
    ck_assert_uint_eq(rd1(f.as, f.a + 3), tp_pattern(3));
    ck_assert_uint_eq(rd1(f.as, f.a + 4), tp_pattern(4));
    ck_assert_rc(spring_as_fault(f.as, f.a + 100, SPRING_RIGHTS_R), 0);
    ck_assert_rc(spring_as_fault(f.as, f.a + 200, SPRING_RIGHTS_W), 0);
    spring_as_t *as2 = as_new(f.vmm, false, 0);
    spring_off_t len = PS;
    spring_addr_t a2 = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_map(as2, f.m, 0, &len, &a2, SPRING_RIGHTS_RO), 0);
    ck_assert_uint_eq(rd1(as2, a2 + 3), tp_pattern(3));
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), 1);
    void *p1, *p2;
    spring_pin_t pin1, pin2;
    ck_assert_rc(spring_as_translate(f.as, f.a, SPRING_RIGHTS_R, &p1, &pin1), 0);
    ck_assert_rc(spring_as_translate(as2, a2, SPRING_RIGHTS_R, &p2, &pin2), 0);
    ck_assert_ptr_eq(p1, p2);
    spring_pin_release(&pin1);
    spring_pin_release(&pin2);
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), 1);
    spring_as_destroy(as2);
    fx_fini(&f);
}
END_TEST

/* Two threads fault on one page.  Thread B starts faulting only once A's
 * page_in is in progress (A's page_in waits for B to start, then gives B
 * 100 ms).  B must not finish before A's page_in returns (the page is in
 * transit), and there is exactly one page_in. */
struct conc {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    spring_as_t *as;
    spring_addr_t addr;
    bool b_write;
    bool in_page_in, b_started, b_done, b_done_early;
    int b_rc;
    uint8_t b_val;
};

static void conc_hook(tpager_t *tp, enum tp_kind kind, spring_off_t off, void *arg)
{
    struct conc *c = arg;
    if (kind != TP_PAGE_IN)
        return;
    pthread_mutex_lock(&c->mu);
    if (c->in_page_in) { /* only the first page_in waits */
        pthread_mutex_unlock(&c->mu);
        return;
    }
    c->in_page_in = true;
    pthread_cond_broadcast(&c->cv);
    while (!c->b_started)
        pthread_cond_wait(&c->cv, &c->mu);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 100L * 1000 * 1000;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    while (!c->b_done)
        if (pthread_cond_timedwait(&c->cv, &c->mu, &ts) != 0)
            break;
    c->b_done_early = c->b_done;
    pthread_mutex_unlock(&c->mu);
}

static void *conc_thread(void *arg)
{
    struct conc *c = arg;
    pthread_mutex_lock(&c->mu);
    while (!c->in_page_in)
        pthread_cond_wait(&c->cv, &c->mu);
    c->b_started = true;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    uint8_t v = 0xb7;
    int rc = c->b_write ? spring_as_write(c->as, c->addr, &v, 1) : spring_as_read(c->as, c->addr, &v, 1);
    pthread_mutex_lock(&c->mu);
    c->b_rc = rc;
    c->b_val = v;
    c->b_done = true;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

static void run_conc(fx_t *f, struct conc *c, spring_addr_t a_addr, bool b_write)
{
    pthread_t t;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    c->as = f->as;
    c->b_write = b_write;
    tp_set_hook(f->tp, conc_hook, c);
    ck_assert_int_eq(pthread_create(&t, NULL, conc_thread, c), 0);
    uint8_t v;
    int rc = spring_as_read(f->as, a_addr, &v, 1);
    pthread_join(t, NULL);
    tp_set_hook(f->tp, NULL, NULL);
    ck_assert_rc(rc, 0);
    ck_assert_msg(!c->b_done_early, "the second fault finished while the page was still being paged in");
    ck_assert_rc(c->b_rc, 0);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
}

START_TEST(test_once_concurrent_read)
{
    fx_t f;
    fx_init(&f, 32, 8, 0, SPRING_OWN_EXCLUSIVE);
    fx_map(&f, SPRING_RIGHTS_RW);
    struct conc c;
    memset(&c, 0, sizeof c);
    c.addr = f.a + 3 * PS + 9;
    run_conc(&f, &c, f.a + 3 * PS + 1, false);
    ck_assert_uint_eq(c.b_val, tp_pattern(3 * PS + 9));
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), 1);
    ck_assert_uint_eq(last_of(f.tp, TP_PAGE_IN).off, 3 * PS);
    fx_fini(&f);
}
END_TEST

/* The same with a shared cache and a write from B: B waits for A's
 * read-only page_in, then upgrades: exactly two page_ins, in that order. */
START_TEST(test_once_concurrent_write_upgrades)
{
    fx_t f;
    fx_init(&f, 32, 8, 0, SPRING_OWN_SHARED);
    fx_map(&f, SPRING_RIGHTS_RW);
    struct conc c;
    memset(&c, 0, sizeof c);
    c.addr = f.a + 2 * PS + 9;
    run_conc(&f, &c, f.a + 2 * PS + 1, true);
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), 2);
    ck_assert_uint_eq(tp_call(f.tp, 1).kind, TP_PAGE_IN);
    ck_assert_uint_eq(tp_call(f.tp, 1).access, SPRING_RIGHTS_RO);
    ck_assert(!tp_call(f.tp, 1).upgrade);
    ck_assert_uint_eq(tp_call(f.tp, 2).kind, TP_PAGE_IN);
    ck_assert_uint_eq(tp_call(f.tp, 2).access, SPRING_RIGHTS_RW);
    ck_assert(tp_call(f.tp, 2).upgrade);
    ck_assert_uint_eq(rd1(f.as, f.a + 2 * PS + 9), 0xb7);
    ck_assert_uint_eq(rd1(f.as, f.a + 2 * PS + 8), tp_pattern(2 * PS + 8));
    fx_fini(&f);
}
END_TEST

void scen_once(Suite *s)
{
    TCase *t = tcase_create("once");
    tcase_add_test(t, test_once_sequential);
    tcase_add_test(t, test_once_concurrent_read);
    tcase_add_test(t, test_once_concurrent_write_upgrades);
    suite_add_tcase(s, t);
}
