/*
 * bind.c - the bind protocol (§7.5): the cache reclaimed while bind runs,
 * and invalid cache-rights (forged, stale, foreign) going to final_bind.
 */
#include "scen.h"

struct reclaim_hook {
    spring_vmm_t *vmm;
    bool done;
    int reclaimed;
};

static void reclaim_in_bind(tpager_t *tp, void *arg)
{
    struct reclaim_hook *h = arg;
    if (h->done)
        return;
    h->done = true;
    h->reclaimed = spring_vmm_reclaim_caches(h->vmm, 0);
}

/* The cache is reclaimed after the pager picked its cache-rights in bind:
 * the dirty data is paged out, the pager object released, and the stale
 * rights send the VMM to final_bind, where the pager creates a new cache.
 * The map succeeds and reads the data back from the pager. */
START_TEST(test_bind_reclaim_race)
{
    fx_map(&fx, SPRING_RIGHTS_RW);
    ck_assert_rc(put_page(fx.as, fx.a, 0x61), 0);
    ck_assert_rc(spring_as_unmap(fx.as, fx.a, fx.len), 0);
    ck_assert_uint_eq(test_vm_info(fx.vmm).unattached_caches, 1);
    ck_assert_uint_eq(tp_count(fx.tp, TP_DONE_WITH_CACHE), 1); /* signal_last_ref */
    struct reclaim_hook h = {fx.vmm, false, 0};
    tp_set_bind_hook(fx.tp, reclaim_in_bind, &h);
    tp_clear(fx.tp);
    fx_map(&fx, SPRING_RIGHTS_RW);
    tp_set_bind_hook(fx.tp, NULL, NULL);
    ck_assert_int_eq(h.reclaimed, 1);
    const enum tp_kind want[] = {TP_BIND, TP_PAGE_OUT, TP_DONE_WITH_POBJ, TP_FINAL_BIND};
    expect_log(fx.tp, want, 4);
    ck_assert(store_is(fx.tp, 0, PS, 0x61));
    ck_assert(page_is(fx.as, fx.a, 0x61));
    ck_assert_uint_eq(tp_count(fx.tp, TP_PAGE_IN), 1);
    spring_vm_info_t info = test_vm_info(fx.vmm);
    ck_assert_uint_eq(info.ncaches, 1);
    ck_assert_uint_eq(info.unattached_caches, 0);
    CHECK_VMM(fx.vmm);
}
END_TEST

/* The same race when the reclaimer's page_out fails: the cache is kept,
 * the rights stay valid, no final_bind, and the data is still cached. */
START_TEST(test_bind_reclaim_race_page_out_fails)
{
    fx_map(&fx, SPRING_RIGHTS_RW);
    ck_assert_rc(put_page(fx.as, fx.a, 0x62), 0);
    ck_assert_rc(spring_as_unmap(fx.as, fx.a, fx.len), 0);
    struct reclaim_hook h = {fx.vmm, false, 0};
    tp_set_bind_hook(fx.tp, reclaim_in_bind, &h);
    tp_fail(fx.tp, TP_PAGE_OUT, PAGER_ERR, false);
    tp_clear(fx.tp);
    fx_map(&fx, SPRING_RIGHTS_RW);
    tp_set_bind_hook(fx.tp, NULL, NULL);
    ck_assert_int_eq(h.reclaimed, 0);
    const enum tp_kind want[] = {TP_BIND, TP_PAGE_OUT};
    expect_log(fx.tp, want, 2);
    ck_assert(page_is(fx.as, fx.a, 0x62));
    ck_assert_uint_eq(tp_count(fx.tp, TP_PAGE_IN), 0);
    ck_assert_rc(spring_as_flush(fx.as, fx.a, fx.len, false), 0);
    ck_assert(store_is(fx.tp, 0, PS, 0x62));
}
END_TEST

/* A bind that races with reclamation's page_out: another thread maps the
 * object while the reclaimer's page_out of its modified page is still in
 * the pager.  It must attach the same cache (and wait for the block on its
 * way out), not get a second cache through final_bind that pages in the
 * pager's older data. */
struct race_reader {
    fx_t *f;
    spring_as_t *as;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool mapped, read_done;
    bool in_page_out, page_in_during_page_out;
    uint8_t v;
    int rc;
};

static void race_set(struct race_reader *r, bool *flag)
{
    pthread_mutex_lock(&r->mu);
    *flag = true;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

static void *race_reader_thread(void *arg)
{
    struct race_reader *r = arg;
    spring_off_t len = r->f->len;
    spring_addr_t a = SPRING_ANYWHERE;
    r->rc = spring_as_map(r->as, r->f->m, 0, &len, &a, SPRING_RIGHTS_RW);
    race_set(r, &r->mapped);
    if (r->rc == 0)
        r->rc = spring_as_read(r->as, a, &r->v, 1);
    race_set(r, &r->read_done);
    return NULL;
}

struct race_hook {
    struct race_reader *r;
    pthread_t th;
    bool started;
};

static void bind_in_page_out(tpager_t *tp, enum tp_kind kind, spring_off_t off, void *arg)
{
    struct race_hook *h = arg;
    struct race_reader *r = h->r;
    (void)tp;
    (void)off;
    if (kind == TP_PAGE_IN) { /* the reader's: only after the page_out is right */
        pthread_mutex_lock(&r->mu);
        r->page_in_during_page_out |= r->in_page_out;
        pthread_cond_broadcast(&r->cv);
        pthread_mutex_unlock(&r->mu);
        return;
    }
    if (kind != TP_PAGE_OUT || h->started)
        return;
    h->started = true;
    pthread_mutex_lock(&r->mu);
    r->in_page_out = true;
    pthread_mutex_unlock(&r->mu);
    ck_assert_int_eq(pthread_create(&h->th, NULL, race_reader_thread, r), 0);
    /* The reader maps the object while this page_out is in the pager. */
    pthread_mutex_lock(&r->mu);
    while (!r->mapped)
        pthread_cond_wait(&r->cv, &r->mu);
    /* Right: its read waits for this page_out, so nothing more happens
     * until it returns.  Wrong: the read pages in the pager's old data (a
     * page_in now) or finishes without waiting.  What must not happen
     * cannot be waited for: wait for either, up to 200 ms. */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 200L * 1000 * 1000;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    while (!r->read_done && !r->page_in_during_page_out)
        if (pthread_cond_timedwait(&r->cv, &r->mu, &ts) != 0)
            break;
    r->in_page_out = false;
    pthread_mutex_unlock(&r->mu);
}

START_TEST(test_bind_during_reclaim_page_out)
{
    fx_map(&fx, SPRING_RIGHTS_RW);
    ck_assert_rc(put_page(fx.as, fx.a, 0x63), 0);
    ck_assert_rc(spring_as_unmap(fx.as, fx.a, fx.len), 0);
    struct race_reader r = {.f = &fx, .as = as_new(fx.vmm, false, 0)};
    pthread_mutex_init(&r.mu, NULL);
    pthread_cond_init(&r.cv, NULL);
    struct race_hook h = {.r = &r};
    tp_set_hook(fx.tp, bind_in_page_out, &h);
    tp_clear(fx.tp);
    int reclaimed = spring_vmm_reclaim_caches(fx.vmm, 0);
    ck_assert(h.started);
    pthread_join(h.th, NULL);
    tp_set_hook(fx.tp, NULL, NULL);
    ck_assert_rc(r.rc, 0);
    ck_assert_uint_eq(r.v, 0x63);
    ck_assert_msg(!r.page_in_during_page_out, "the block was paged in while its page_out was in the pager");
    pthread_mutex_destroy(&r.mu);
    pthread_cond_destroy(&r.cv);
    ck_assert_int_eq(reclaimed, 0); /* bound again meanwhile: it stays */
    ck_assert_uint_eq(tp_count(fx.tp, TP_FINAL_BIND), 0);
    ck_assert_uint_eq(test_vm_info(fx.vmm).ncaches, 1);
    spring_as_destroy(r.as);
}
END_TEST

/* bind hands back an invalid cache-rights (given): the VMM calls
 * final_bind, where the pager binds its existing cache with bind_cache.
 * The new mapping shares the cached frame: no second page_in. */
static void bind_bad_rights(fx_t *f, spring_cache_rights_t bad)
{
    tp_set_bind_rights(f->tp, bad);
    tp_clear(f->tp);
    spring_off_t len = f->len;
    spring_addr_t a2 = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_map(f->as, f->m, 0, &len, &a2, SPRING_RIGHTS_RW), 0);
    tp_set_bind_rights(f->tp, (spring_cache_rights_t){0});
    const enum tp_kind want[] = {TP_BIND, TP_FINAL_BIND};
    expect_log(f->tp, want, 2);
    ck_assert(page_is_pat(f->as, a2, 0));
    void *p1, *p2;
    spring_pin_t pin1, pin2;
    ck_assert_rc(spring_as_translate(f->as, f->a, SPRING_RIGHTS_R, &p1, &pin1), 0);
    ck_assert_rc(spring_as_translate(f->as, a2, SPRING_RIGHTS_R, &p2, &pin2), 0);
    ck_assert_ptr_eq(p1, p2);
    spring_pin_release(&pin1);
    spring_pin_release(&pin2);
    wr1(f->as, a2 + 1, 0x3c);
    ck_assert_uint_eq(rd1(f->as, f->a + 1), 0x3c);
    ck_assert_uint_eq(tp_count(f->tp, TP_PAGE_IN), 0);
    ck_assert_uint_eq(test_vm_info(f->vmm).ncaches, 1);
    CHECK_VMM(f->vmm);
}

START_TEST(test_bind_forged_rights)
{
    fx_map(&fx, SPRING_RIGHTS_RW);
    rd1(fx.as, fx.a);
    bind_bad_rights(&fx, (spring_cache_rights_t){0x5eed0000abcdef01ULL});
}
END_TEST

START_TEST(test_bind_stale_rights)
{
    fx_map(&fx, SPRING_RIGHTS_RW);
    rd1(fx.as, fx.a);
    spring_cache_rights_t s;
    ck_assert_rc(spring_cache_rights_create_restricted_sibling(tp_rights(fx.tp), SPRING_RIGHTS_RW, &s), 0);
    ck_assert_rc(spring_cache_rights_release(s), 0);
    bind_bad_rights(&fx, s);
}
END_TEST

/* A cache-rights of another VMM's cache is foreign: final_bind too.  The
 * mapping shows this pager's data, and the other VMM is unaffected. */
START_TEST(test_bind_foreign_rights)
{
    fx_map(&fx, SPRING_RIGHTS_RW);
    rd1(fx.as, fx.a);
    spring_registry_t *reg2;
    spring_vmm_t *vmm2 = test_vmm("scen2", 32, &reg2);
    spring_as_t *as2 = as_new(vmm2, false, 0);
    tpager_t *tp2 = tp_new(reg2, "scen2", NULL, 4 * PS, 0, SPRING_OWN_EXCLUSIVE, true);
    memset(tp_store(tp2), 0xee, 4 * PS);
    spring_mobj_t *m2 = tp_mobj(tp2, SPRING_RIGHTS_RW);
    spring_off_t len = 4 * PS;
    spring_addr_t b = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_map(as2, m2, 0, &len, &b, SPRING_RIGHTS_RW), 0);
    ck_assert(page_is(as2, b, 0xee));
    bind_bad_rights(&fx, tp_rights(tp2));
    ck_assert(page_is(as2, b, 0xee));
    ck_assert_uint_eq(tp_count(tp2, TP_PAGE_IN), 1);
    CHECK_VMM(vmm2);
    spring_as_destroy(as2);
    spring_mobj_unref(m2);
    tp_free(tp2);
    test_vmm_free(vmm2, reg2);
}
END_TEST

/* A final_bind that binds nothing (or fails): the map fails with EBIND and
 * nothing is mapped; the existing mapping and the VMM are unaffected; the
 * next map works. */
START_TEST(test_bind_final_bind_noop_or_fails)
{
    fx_map(&fx, SPRING_RIGHTS_RW);
    ck_assert_rc(put_page(fx.as, fx.a, 0x4d), 0);
    spring_addr_t x = (spring_addr_t)1 << 32;
    for (int round = 0; round < 2; round++) {
        tp_set_bind_rights(fx.tp, (spring_cache_rights_t){0x5eed0000abcdef01ULL});
        if (round == 0)
            tp_set_final_bind_noop(fx.tp, true);
        else
            tp_fail(fx.tp, TP_FINAL_BIND, PAGER_ERR, false);
        tp_clear(fx.tp);
        spring_off_t len = fx.len;
        spring_addr_t a2 = x;
        ck_assert_rc(spring_as_map(fx.as, fx.m, 0, &len, &a2, SPRING_RIGHTS_RW), SPRING_EBIND);
        const enum tp_kind want[] = {TP_BIND, TP_FINAL_BIND};
        expect_log(fx.tp, want, 2);
        ck_assert_uint_eq(mappings(fx.as, x, fx.len, NULL), 0);
        ck_assert_uint_eq(test_as_stats(fx.as).nregions, 1);
        ck_assert(page_is(fx.as, fx.a, 0x4d));
        ck_assert_uint_eq(test_vm_info(fx.vmm).ncaches, 1);
        CHECK_VMM(fx.vmm);
        tp_set_final_bind_noop(fx.tp, false);
        tp_set_bind_rights(fx.tp, (spring_cache_rights_t){0});
    }
    spring_off_t len = fx.len;
    spring_addr_t a2 = x;
    ck_assert_rc(spring_as_map(fx.as, fx.m, 0, &len, &a2, SPRING_RIGHTS_RW), 0);
    ck_assert(page_is(fx.as, x, 0x4d));
}
END_TEST

/* A failing bind: EBIND, nothing mapped, no final_bind. */
START_TEST(test_bind_fails)
{
    tp_fail(fx.tp, TP_BIND, PAGER_ERR, false);
    spring_off_t len = fx.len;
    spring_addr_t a = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_map(fx.as, fx.m, 0, &len, &a, SPRING_RIGHTS_RW), SPRING_EBIND);
    const enum tp_kind want[] = {TP_BIND};
    expect_log(fx.tp, want, 1);
    ck_assert_uint_eq(test_as_stats(fx.as).nregions, 0);
    CHECK_VMM(fx.vmm);
    fx_map(&fx, SPRING_RIGHTS_RW);
    ck_assert(page_is_pat(fx.as, fx.a, 0));
}
END_TEST

void scen_bind(Suite *s)
{
    TCase *t = tcase_create("bind");
    tcase_add_checked_fixture(t, fx_setup4, fx_teardown);
    tcase_add_test(t, test_bind_reclaim_race);
    tcase_add_test(t, test_bind_reclaim_race_page_out_fails);
    tcase_add_test(t, test_bind_during_reclaim_page_out);
    tcase_add_test(t, test_bind_forged_rights);
    tcase_add_test(t, test_bind_stale_rights);
    tcase_add_test(t, test_bind_foreign_rights);
    tcase_add_test(t, test_bind_final_bind_noop_or_fails);
    tcase_add_test(t, test_bind_fails);
    suite_add_tcase(s, t);
}
