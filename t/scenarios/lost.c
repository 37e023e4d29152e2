/*
 * lost.c - nothing lost, nothing stale (regressions): destroy and sync page
 * out, a full swap keeps pages, kept blocks, data lists, batching, no
 * foreign data in a page_in, upgrades under readers.
 */
#include "scen.h"

/* A full swap (a system pager whose page_out answers SPRING_ENOSPC):
 * modified pages stay resident and intact, the writer that needs a frame
 * gets SPRING_ENOFRAMES (never a silent zero page), the refusal is counted
 * as no space, not as a failure, and is not retried: one page_out per pass
 * of the replacement scan, not one per modified block nor the system
 * pager's retries.  Once the pager has room, the writes go on. */
START_TEST(test_swap_full_keeps_pages)
{
    fx_t f;
    fx_init(&f, 16, 40, 0, SPRING_OWN_EXCLUSIVE);
    spring_mobj_unref(f.m);
    tp_free(f.tp);
    ck_assert_rc(spring_registry_grant(f.reg, "swap-pager", SPRING_PRIV_SYSTEM), 0);
    f.tp = tp_new(f.reg, VMM_NAME, "swap-pager", f.len, 0, SPRING_OWN_EXCLUSIVE, true);
    f.m = tp_mobj(f.tp, SPRING_RIGHTS_RW);
    fx_map(&f, SPRING_RIGHTS_RW);
    tp_fail(f.tp, TP_PAGE_OUT, SPRING_ENOSPC, true);
    spring_off_t written = 0;
    int rc = 0;
    for (; written < 40 && (rc = put_page(f.as, f.a + written * PS, (uint8_t)(0x40 + written))) == 0; written++)
        ;
    ck_assert_rc(rc, SPRING_ENOFRAMES);
    ck_assert_msg(written >= 4 && written <= 16, "%d pages written before the pool filled", (int)written);
    size_t outs = tp_count(f.tp, TP_PAGE_OUT);
    ck_assert_msg(outs >= 1 && outs <= 4, "%zu page_out calls for one refused allocation", outs);
    spring_pager_stats_t st = {.size = sizeof st};
    ck_assert_rc(spring_as_pager_stats(f.as, f.a, &st), 0);
    ck_assert_uint_eq(st.nospace, st.page_outs);
    ck_assert_uint_eq(st.failures, 0);
    ck_assert_uint_eq(test_vm_info(f.vmm).pageouts_nospace, st.page_outs);
    for (spring_off_t i = 0; i < written; i++)
        ck_assert_msg(page_is(f.as, f.a + i * PS, (uint8_t)(0x40 + i)), "page %d lost", (int)i);
    /* Room again: the writes go on, and everything reaches the pager. */
    tp_fail(f.tp, TP_PAGE_OUT, 0, false);
    for (spring_off_t i = written; i < 40; i++)
        ck_assert_rc(put_page(f.as, f.a + i * PS, (uint8_t)(0x40 + i)), 0);
    ck_assert_rc(spring_as_flush(f.as, f.a, 40 * PS, false), 0);
    for (spring_off_t i = 0; i < 40; i++)
        ck_assert_msg(store_is(f.tp, i * PS, PS, (uint8_t)(0x40 + i)), "page %d not in the store", (int)i);
    fx_fini(&f);
}
END_TEST

/* A fixture like fx_init whose pager lacks the optional slots `missing`. */
static void fx_init_slots(fx_t *f, size_t nframes, size_t npages, spring_off_t bs, unsigned missing)
{
    fx_init(f, nframes, npages, bs, SPRING_OWN_EXCLUSIVE);
    tp_set_slots(f->tp, missing);
}

/* Tear a fixture down whose VMM the test destroyed already. */
static void fx_fini_destroyed(fx_t *f)
{
    tp_free(f->tp);
}

/* A cache kept after its last unmap (keep_unattached) holds modified pages
 * when the VMM is destroyed: they reach the pager first, with a pager that
 * has every slot and with one that has only page_in and page_out. */
START_TEST(test_lost_destroy_pages_out_kept_cache)
{
    static const unsigned masks[] = {0, TP_NO_OPTIONAL};
    for (size_t k = 0; k < 2; k++) {
        fx_t f;
        fx_init_slots(&f, 32, 8, 0, masks[k]);
        fx_map(&f, SPRING_RIGHTS_RW);
        for (spring_off_t i = 0; i < 8; i++)
            ck_assert_rc(put_page(f.as, f.a + i * PS, (uint8_t)(0x30 + i)), 0);
        spring_as_destroy(f.as);
        spring_mobj_unref(f.m);
        ck_assert_uint_eq(test_vm_info(f.vmm).unattached_caches, 1);
        ck_assert(!store_is(f.tp, 0, PS, 0x30));
        spring_registry_remove_vmm(f.reg, f.vmm);
        spring_registry_destroy(f.reg);
        ck_assert_rc(spring_vmm_destroy(f.vmm), 0);
        for (spring_off_t i = 0; i < 8; i++)
            ck_assert_msg(store_is(f.tp, i * PS, PS, (uint8_t)(0x30 + i)), "slots %#x: page %d lost", masks[k],
                          (int)i);
        ck_assert_uint_eq(pages_of(f.tp, TP_PAGE_OUT), 8);
        ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_OUT), 1); /* one run, one call */
        fx_fini_destroyed(&f);
    }
}
END_TEST

/* A page-out that fails during spring_vmm_destroy: the call returns the
 * error and the VMM stays usable and consistent with the data still
 * cached; once the pager works again, destroy succeeds and delivers it. */
START_TEST(test_lost_destroy_failure_keeps_vmm)
{
    fx_t f;
    fx_init(&f, 32, 4, 0, SPRING_OWN_EXCLUSIVE);
    fx_map(&f, SPRING_RIGHTS_RW);
    for (spring_off_t i = 0; i < 4; i++)
        ck_assert_rc(put_page(f.as, f.a + i * PS, (uint8_t)(0x70 + i)), 0);
    spring_as_destroy(f.as);
    spring_mobj_unref(f.m);
    tp_fail(f.tp, TP_PAGE_OUT, PAGER_ERR, true);
    ck_assert_rc(spring_vmm_destroy(f.vmm), SPRING_EPAGER);
    CHECK_VMM(f.vmm);
    spring_vm_info_t vi = test_vm_info(f.vmm);
    ck_assert_uint_eq(vi.ncaches, 1);
    ck_assert_uint_eq(vi.inuse_frames, 4);
    /* Still usable: map it again and read what was written. */
    f.as = as_new(f.vmm, true, 0);
    f.m = tp_mobj(f.tp, SPRING_RIGHTS_RW);
    fx_map(&f, SPRING_RIGHTS_RW);
    ck_assert(page_is(f.as, f.a + 2 * PS, 0x72));
    spring_as_destroy(f.as);
    spring_mobj_unref(f.m);
    tp_fail(f.tp, TP_PAGE_OUT, 0, false);
    spring_registry_remove_vmm(f.reg, f.vmm);
    spring_registry_destroy(f.reg);
    ck_assert_rc(spring_vmm_destroy(f.vmm), 0);
    for (spring_off_t i = 0; i < 4; i++)
        ck_assert(store_is(f.tp, i * PS, PS, (uint8_t)(0x70 + i)));
    fx_fini_destroyed(&f);
}
END_TEST

/* spring_vmm_sync writes every modified block back and keeps it: with
 * sync (the pages stay writable), with write_out alone (they stay
 * read-only: a write upgrades), and with neither (ENOKEEP: nothing sent,
 * still modified, and a flush without please_keep delivers it). */
START_TEST(test_lost_vmm_sync)
{
    static const unsigned masks[] = {0, TP_NO_SYNC, TP_NO_SYNC | TP_NO_WRITE_OUT};
    ck_assert_rc(spring_vmm_sync(NULL), SPRING_EINVAL);
    for (size_t k = 0; k < 3; k++) {
        fx_t f;
        fx_init_slots(&f, 32, 6, 0, masks[k]);
        fx_map(&f, SPRING_RIGHTS_RW);
        for (spring_off_t i = 0; i < 3; i++)
            ck_assert_rc(put_page(f.as, f.a + i * PS, (uint8_t)(0x90 + i)), 0);
        size_t ins = tp_count(f.tp, TP_PAGE_IN);
        tp_clear(f.tp);
        int rc = spring_vmm_sync(f.vmm);
        if (k == 2) {
            ck_assert_rc(rc, SPRING_ENOKEEP);
            ck_assert_uint_eq(tp_ncalls(f.tp), 0);
            ck_assert(!store_is(f.tp, 0, PS, 0x90));
            ck_assert(page_is(f.as, f.a, 0x90));
            ck_assert_rc(spring_as_flush(f.as, f.a, f.len, false), 0);
            ck_assert_uint_eq(pages_of(f.tp, TP_PAGE_OUT), 3);
        } else {
            enum tp_kind kind = k == 0 ? TP_SYNC : TP_WRITE_OUT;
            ck_assert_rc(rc, 0);
            ck_assert_uint_eq(tp_count(f.tp, kind), 1);
            ck_assert_uint_eq(pages_of(f.tp, kind), 3);
            ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_OUT), 0);
            /* Kept: reading needs no page_in. */
            ck_assert(page_is(f.as, f.a + PS, 0x91));
            ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), 0);
            /* Clean now: a second sync sends nothing. */
            tp_clear(f.tp);
            ck_assert_rc(spring_vmm_sync(f.vmm), 0);
            ck_assert_uint_eq(tp_ncalls(f.tp), 0);
            /* write_out left it read-only: a write upgrades. */
            wr1(f.as, f.a, 0x99);
            ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), k == 1 ? 1 : 0);
        }
        for (spring_off_t i = 0; i < 3; i++)
            ck_assert(store_is(f.tp, i * PS, PS, (uint8_t)(0x90 + i)));
        (void)ins;
        fx_fini(&f);
    }
}
END_TEST

/* deny_writes without a data list leaves the block modified; a later
 * deny_writes with a list returns it (cache.h: it still reaches the pager),
 * and only once. */
START_TEST(test_lost_deny_writes_after_dataless)
{
    fx_t f;
    fx_init(&f, 32, 4, 0, SPRING_OWN_EXCLUSIVE);
    fx_map(&f, SPRING_RIGHTS_RW);
    spring_cache_obj_t c = tp_cache(f.tp);
    ck_assert_rc(put_page(f.as, f.a + PS, 0x4e), 0);
    ck_assert_rc(spring_cache_deny_writes(c, 0, SPRING_SIZE_ALL, NULL, NULL), 0);
    spring_data_t *d = NULL;
    ck_assert_rc(spring_cache_deny_writes(c, 0, SPRING_SIZE_ALL, NULL, &d), 0);
    ck_assert_uint_eq(d->nblocks, 1);
    ck_assert_uint_eq(d->blocks[0].offset, PS);
    ck_assert_uint_eq(d->blocks[0].length, PS);
    ck_assert(d->blocks[0].bytes != NULL && mem_is(d->blocks[0].bytes, PS, 0x4e));
    spring_data_free(d);
    ck_assert_rc(spring_cache_deny_writes(c, 0, SPRING_SIZE_ALL, NULL, &d), 0);
    ck_assert_uint_eq(d->nblocks, 0);
    spring_data_free(d);
    ck_assert_rc(spring_cache_write_back(c, 0, SPRING_SIZE_ALL, NULL, &d), 0);
    ck_assert_uint_eq(d->nblocks, 0);
    spring_data_free(d);
    ck_assert(page_is(f.as, f.a + PS, 0x4e));
    fx_fini(&f);
}
END_TEST

/* spring_as_flush with a locked page and an unlocked one, with and without
 * please_keep, for every combination of sync and write_out: a block the
 * VMM keeps goes back with sync, else write_out (then read-only), else the
 * call says ENOKEEP and the block stays modified; a locked block is never
 * paged out; an unlocked one without please_keep is. */
START_TEST(test_lost_flush_kept_every_slot)
{
    static const unsigned masks[] = {0, TP_NO_SYNC, TP_NO_WRITE_OUT, TP_NO_SYNC | TP_NO_WRITE_OUT};
    for (size_t k = 0; k < 4; k++)
        for (int keep = 0; keep < 2; keep++) {
            bool has_sync = !(masks[k] & TP_NO_SYNC), has_wo = !(masks[k] & TP_NO_WRITE_OUT);
            fx_t f;
            fx_init_slots(&f, 32, 4, 0, masks[k]);
            fx_map(&f, SPRING_RIGHTS_RW);
            ck_assert_rc(spring_as_lock_memory(f.as, f.a, PS), 0);
            ck_assert_rc(put_page(f.as, f.a, 0x11), 0);
            ck_assert_rc(put_page(f.as, f.a + PS, 0x12), 0);
            tp_clear(f.tp);
            int rc = spring_as_flush(f.as, f.a, 2 * PS, keep);
            const char *what = keep ? "please_keep" : "no please_keep";
            ck_assert_msg(calls_at(f.tp, TP_PAGE_OUT, 0) == 0, "slots %#x, %s: locked page paged out", masks[k],
                          what);
            if (has_sync || has_wo) {
                ck_assert_rc(rc, 0);
                enum tp_kind kind = has_sync ? TP_SYNC : TP_WRITE_OUT;
                ck_assert_uint_eq(calls_at(f.tp, kind, 0), 1);
                ck_assert(store_is(f.tp, 0, PS, 0x11));
            } else {
                ck_assert_rc(rc, SPRING_ENOKEEP);
                ck_assert_uint_eq(calls_at(f.tp, TP_SYNC, 0) + calls_at(f.tp, TP_WRITE_OUT, 0), 0);
                ck_assert(!store_is(f.tp, 0, PS, 0x11));
            }
            /* The unlocked page: paged out without please_keep; kept like
             * the locked one with it. */
            if (!keep) {
                ck_assert_uint_eq(calls_at(f.tp, TP_PAGE_OUT, PS), 1);
                ck_assert(store_is(f.tp, PS, PS, 0x12));
            } else {
                ck_assert_uint_eq(calls_at(f.tp, TP_PAGE_OUT, PS), 0);
                ck_assert(store_is(f.tp, PS, PS, 0x12) == (has_sync || has_wo));
            }
            /* What stayed: reading page 0 needs no page_in; writing it
             * upgrades only after write_out. */
            tp_clear(f.tp);
            ck_assert(page_is(f.as, f.a, 0x11));
            ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), 0);
            wr1(f.as, f.a, 0x13);
            ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), (!has_sync && has_wo) ? 1 : 0);
            /* Nothing is lost: unlocked, a plain flush delivers it. */
            ck_assert_rc(spring_as_unlock_memory(f.as, f.a, PS), 0);
            ck_assert_rc(spring_as_flush(f.as, f.a, f.len, false), 0);
            ck_assert(store_is(f.tp, 0, 1, 0x13));
            ck_assert(store_is(f.tp, 1, PS - 1, 0x11));
            fx_fini(&f);
        }
}
END_TEST

/* Data lists the VMM hands a pager, for blocks of 1, 2 and 4 pages, by
 * eviction and by flush: block-aligned calls of whole blocks, one page per
 * entry, consecutive, all-zero pages as indications (one zero page inside
 * a block of several), each block exactly once, with its data. */
START_TEST(test_lost_data_lists_per_page)
{
    static const unsigned bsp[] = {1, 2, 4};
    for (size_t k = 0; k < 3; k++) {
        spring_off_t bs = bsp[k] * PS;
        fx_t f;
        fx_init(&f, 16, 24, bs, SPRING_OWN_EXCLUSIVE);
        fx_map(&f, SPRING_RIGHTS_RW);
        for (spring_off_t i = 0; i < 24; i++)
            ck_assert_rc(put_page(f.as, f.a + i * PS, i == 5 ? 0 : (uint8_t)(0x20 + i)), 0);
        ck_assert_uint_gt(tp_count(f.tp, TP_PAGE_OUT), 0); /* eviction happened */
        ck_assert_rc(spring_as_flush(f.as, f.a, f.len, false), 0);
        size_t zeros = 0;
        for (size_t i = 0; i < tp_ncalls(f.tp); i++) {
            tp_call_t c = tp_call(f.tp, i);
            if (c.kind != TP_PAGE_OUT)
                continue;
            ck_assert_msg(c.off % bs == 0 && c.size % bs == 0 && c.size > 0, "bs %u: call %#llx+%#llx",
                          bsp[k], (unsigned long long)c.off, (unsigned long long)c.size);
            ck_assert_msg(c.entries_ok, "bs %u: entries are not one per page covering the call", bsp[k]);
            zeros += c.zero_blocks;
        }
        ck_assert_uint_eq(zeros, 1);
        ck_assert_uint_eq(pages_of(f.tp, TP_PAGE_OUT), 24);
        for (spring_off_t i = 0; i < 24; i++) {
            ck_assert_uint_eq(calls_at(f.tp, TP_PAGE_OUT, i * PS), 1);
            ck_assert(store_is(f.tp, i * PS, PS, i == 5 ? 0 : (uint8_t)(0x20 + i)));
        }
        fx_fini(&f);
    }
}
END_TEST

/* A flush of many modified pages makes one call per run of contiguous
 * modified blocks, at most 256 pages each: 299 dirty pages around one
 * clean page go in two calls (100 + 199 pages), 300 in two (256 + 44). */
START_TEST(test_lost_flush_batches_runs)
{
    fx_t f;
    fx_init(&f, 640, 300, 0, SPRING_OWN_EXCLUSIVE);
    fx_map(&f, SPRING_RIGHTS_RW);
    for (spring_off_t i = 0; i < 300; i++)
        if (i != 100)
            ck_assert_rc(put_page(f.as, f.a + i * PS, (uint8_t)i), 0);
    ck_assert(page_is_pat(f.as, f.a + 100 * PS, 100 * PS));
    tp_clear(f.tp);
    ck_assert_rc(spring_as_flush(f.as, f.a, f.len, true), 0);
    ck_assert_uint_eq(tp_count(f.tp, TP_SYNC), 2);
    ck_assert_uint_eq(pages_of(f.tp, TP_SYNC), 299);
    ck_assert_uint_eq(tp_call(f.tp, 0).size, 100 * PS);
    ck_assert_uint_eq(tp_call(f.tp, 1).off, 101 * PS);
    wr1(f.as, f.a + 100 * PS, 1);
    for (spring_off_t i = 0; i < 300; i++)
        wr1(f.as, f.a + i * PS + 7, 2);
    tp_clear(f.tp);
    ck_assert_rc(spring_as_flush(f.as, f.a, f.len, false), 0);
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_OUT), 2);
    ck_assert_uint_eq(tp_call(f.tp, 0).size, 256 * PS);
    ck_assert_uint_eq(tp_call(f.tp, 1).size, 44 * PS);
    ck_assert_uint_eq(test_vm_info(f.vmm).write_backs, 2);
    fx_fini(&f);
}
END_TEST

/* A hostile pager (a wpager whose page_in looks for foreign bytes in the
 * frames it is lent, and writes nothing into them, nor marks them zero). */
static int h_page_in(void *self, spring_off_t off, spring_off_t size, spring_rights_t access,
                     spring_ownership_t *own, spring_page_buf_t *dst)
{
    struct wpager *h = self;
    h->page_ins++;
    for (size_t i = 0; i < dst->npages; i++)
        if (memchr(dst->pages[i], h->marker, dst->page_size) != NULL)
            h->seen++;
    return 0;
}

static const spring_pager_ops_t hostile_ops = {
    .version = SPRING_PAGER_OPS_VERSION,
    .page_in = h_page_in,
    .page_out = w_page_out,
    .done_with_pager_object = w_done,
};

/* §7.4: no frame reaches a pager, or a client, holding data the pager is
 * not entitled to: not another pager's evicted pages, not freed anonymous
 * memory.  Frames the pager's own cache used last are not scrubbed. */
START_TEST(test_lost_no_foreign_data_in_page_in)
{
    fx_t f;
    fx_init(&f, 8, 8, 0, SPRING_OWN_EXCLUSIVE);
    fx_map(&f, SPRING_RIGHTS_RW);
    struct wpager h = {.vmm = f.vmm, .ops = &hostile_ops, .marker = 0xa5};
    /* Another object's data, then freed anonymous memory, fill every frame. */
    for (spring_off_t i = 0; i < 4; i++)
        ck_assert_rc(put_page(f.as, f.a + i * PS, 0xa5), 0);
    spring_off_t alen = 4 * PS;
    spring_addr_t anon = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_allocate_memory(f.as, &alen, &anon, SPRING_RIGHTS_RW), 0);
    for (spring_off_t i = 0; i < 4; i++)
        ck_assert_rc(put_page(f.as, anon + i * PS, 0xa5), 0);
    ck_assert_rc(spring_as_unmap(f.as, anon, alen), 0);
    ck_assert_rc(spring_as_flush(f.as, f.a, f.len, false), 0);
    uint64_t scrubs0 = test_vm_info(f.vmm).scrubs;
    spring_mobj_t *hm;
    ck_assert_rc(spring_mobj_new(&wmobj_ops, &h, &hm), 0);
    spring_off_t hlen = sizeof h.store;
    spring_addr_t ha = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_map(f.as, hm, 0, &hlen, &ha, SPRING_RIGHTS_RO), 0);
    for (spring_off_t i = 0; i < 8; i++) {
        uint8_t buf[PS];
        ck_assert_rc(spring_as_read(f.as, ha + i * PS, buf, PS), 0);
        ck_assert_msg(!memchr(buf, 0xa5, PS), "page %d: a client sees another object's data", (int)i);
    }
    ck_assert_int_eq(h.page_ins, 8);
    ck_assert_uint_eq(h.seen, 0);
    uint64_t scrubs1 = test_vm_info(f.vmm).scrubs;
    ck_assert_uint_ge(scrubs1 - scrubs0, 1);
    /* Dropped and read again, the pages get frames this cache used last:
     * no scrub. */
    ck_assert_rc(spring_as_flush(f.as, ha, hlen, false), 0);
    for (spring_off_t i = 0; i < 8; i++)
        (void)rd1(f.as, ha + i * PS);
    ck_assert_int_eq(h.page_ins, 16);
    ck_assert_uint_eq(test_vm_info(f.vmm).scrubs, scrubs1);
    ck_assert_uint_eq(h.seen, 0);
    ck_assert_rc(spring_as_unmap(f.as, ha, hlen), 0);
    spring_mobj_unref(hm);
    fx_fini(&f);
    ck_assert_int_eq(h.done, 1);
}
END_TEST

/* A read-to-write upgrade while other threads read the page through
 * spring_as_read and hold read pins: the pager sends newer data with each
 * grant, yet a reader never sees a page change under its pin or a torn
 * page (ThreadSanitizer sees no race in the TSan build). */
struct upg_reader {
    spring_as_t *as;
    spring_addr_t a;
    atomic_int stop;
    atomic_size_t nreads, torn, changed;
    pthread_mutex_t mu; /* signals each read to the upgrading thread */
    pthread_cond_t cv;
};

static bool page_uniform(const uint8_t *p)
{
    for (size_t i = 1; i < PS; i++)
        if (p[i] != p[0])
            return false;
    return true;
}

static void *upg_read_thread(void *arg)
{
    struct upg_reader *r = arg;
    uint8_t buf[PS], first[PS];
    while (!atomic_load(&r->stop)) {
        if (spring_as_read(r->as, r->a, buf, PS) == 0) {
            if (!page_uniform(buf))
                atomic_fetch_add(&r->torn, 1);
            pthread_mutex_lock(&r->mu);
            atomic_fetch_add(&r->nreads, 1);
            pthread_cond_broadcast(&r->cv);
            pthread_mutex_unlock(&r->mu);
        }
        void *p;
        spring_pin_t pin;
        if (spring_as_translate(r->as, r->a, SPRING_RIGHTS_R, &p, &pin) == 0) {
            memcpy(first, p, PS);
            for (int k = 0; k < 50; k++)
                if (memcmp(first, p, PS) != 0) {
                    atomic_fetch_add(&r->changed, 1);
                    break;
                }
            if (!page_uniform(first))
                atomic_fetch_add(&r->torn, 1);
            spring_pin_release(&pin);
        }
    }
    return NULL;
}

START_TEST(test_lost_upgrade_under_readers)
{
    fx_t f;
    fx_init(&f, 32, 2, 0, SPRING_OWN_SHARED);
    fx_map(&f, SPRING_RIGHTS_RW);
    tp_set_upgrade_overwrites(f.tp, true);
    tp_lock(f.tp);
    memset(tp_store(f.tp), 1, PS);
    tp_unlock(f.tp);
    ck_assert(page_is(f.as, f.a, 1)); /* read-only (shared ownership) */
    spring_cache_obj_t c = tp_cache(f.tp);
    /* Deterministic first: a read pin held across the upgrade keeps seeing
     * the data it pinned; the pager's newer data is in the cache after. */
    void *p;
    spring_pin_t pin;
    ck_assert_rc(spring_as_translate(f.as, f.a + 8, SPRING_RIGHTS_R, &p, &pin), 0);
    tp_lock(f.tp);
    memset(tp_store(f.tp), 0x77, PS);
    tp_unlock(f.tp);
    ck_assert_rc(spring_as_fault(f.as, f.a, SPRING_RIGHTS_W), 0);
    ck_assert(last_of(f.tp, TP_PAGE_IN).upgrade);
    ck_assert_msg(mem_is((const uint8_t *)p - 8, PS, 1), "the upgrade wrote into a frame a reader had pinned");
    ck_assert(!spring_pin_valid(&pin)); /* the cache's data moved to another frame */
    spring_pin_release(&pin);
    ck_assert(page_is(f.as, f.a, 0x77));
    /* Then concurrent readers against a stream of upgrades: before each
     * upgrade, wait until the readers have read again since the last. */
    struct upg_reader r = {.as = f.as, .a = f.a};
    pthread_mutex_init(&r.mu, NULL);
    pthread_cond_init(&r.cv, NULL);
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, upg_read_thread, &r), 0);
    size_t seen = 0;
    for (unsigned v = 2; v < 200; v++) {
        pthread_mutex_lock(&r.mu);
        while (atomic_load(&r.nreads) == seen)
            pthread_cond_wait(&r.cv, &r.mu);
        seen = atomic_load(&r.nreads);
        pthread_mutex_unlock(&r.mu);
        ck_assert_rc(spring_cache_deny_writes(c, 0, SPRING_SIZE_ALL, NULL, NULL), 0);
        tp_lock(f.tp);
        memset(tp_store(f.tp), (int)v, PS); /* newer data at the pager */
        tp_unlock(f.tp);
        ck_assert_rc(spring_as_fault(f.as, f.a, SPRING_RIGHTS_W), 0); /* upgrade: the pager sends it */
    }
    atomic_store(&r.stop, 1);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    ck_assert(page_is(f.as, f.a, 199));
    ck_assert_uint_eq(atomic_load(&r.torn), 0);
    ck_assert_uint_eq(atomic_load(&r.changed), 0);
    ck_assert_uint_ge(atomic_load(&r.nreads), 198); /* at least one between every two upgrades */
    pthread_mutex_destroy(&r.mu);
    pthread_cond_destroy(&r.cv);
    fx_fini(&f);
}
END_TEST

void scen_lost(Suite *s)
{
    TCase *t = tcase_create("lost");
    tcase_add_test(t, test_lost_destroy_pages_out_kept_cache);
    tcase_add_test(t, test_lost_destroy_failure_keeps_vmm);
    tcase_add_test(t, test_swap_full_keeps_pages);
    tcase_add_test(t, test_lost_vmm_sync);
    tcase_add_test(t, test_lost_deny_writes_after_dataless);
    tcase_add_test(t, test_lost_flush_kept_every_slot);
    tcase_add_test(t, test_lost_data_lists_per_page);
    tcase_add_test(t, test_lost_flush_batches_runs);
    tcase_add_test(t, test_lost_no_foreign_data_in_page_in);
    tcase_add_test(t, test_lost_upgrade_under_readers);
    suite_add_tcase(s, t);
}
