/*
 * pagercalls.c - the pager-side cache calls and their data guarantees
 * (Appendix B): flush_back, deny_writes, write_back, delete_range,
 * zero_fill, populate, destroy_cache, SPRING_SIZE_ALL; a cache whose
 * maximum rights lack write.
 */
#include "scen.h"

/* flush_back returns exactly the modified blocks (written data; all-zero
 * pages and touched zero-filled blocks as zero indications), never clean
 * ones, makes no pager call, and removes everything: each page is paged in
 * again on its next access.  An untouched zero-filled range is not a cached
 * block; it leaves the cache too (it may come back as a zero indication). */
START_TEST(test_flush_back_returns_modified)
{
    fx_map(&fx, SPRING_RIGHTS_RW);
    spring_cache_obj_t c = tp_cache(fx.tp);
    rd1(fx.as, fx.a);                                 /* page 0: clean */
    ck_assert_rc(put_page(fx.as, fx.a + PS, 0x11), 0); /* page 1: data */
    ck_assert_rc(put_page(fx.as, fx.a + 2 * PS, 0), 0); /* page 2: all zero */
    ck_assert_rc(spring_cache_zero_fill(c, 4 * PS, 2 * PS, NULL), 0);
    dirty_pool(fx.vmm);
    ck_assert_uint_eq(rd1(fx.as, fx.a + 4 * PS), 0);   /* page 4: zero-filled, touched */
    tp_clear(fx.tp);
    spring_data_t *d = NULL;
    ck_assert_rc(spring_cache_flush_back(c, 0, SPRING_SIZE_ALL, NULL, &d), 0);
    ck_assert_ptr_nonnull(d);
    ck_assert_msg(d->nblocks == 3 || (d->nblocks == 4 && dblock_is(d, 3, 5 * PS, DZERO)),
                  "flush_back returned %zu blocks", d->nblocks);
    ck_assert_msg(dblock_is(d, 0, PS, 0x11), "page 1's data");
    ck_assert_msg(dblock_is(d, 1, 2 * PS, DZERO), "page 2 as a zero indication");
    ck_assert_msg(dblock_is(d, 2, 4 * PS, DZERO), "zero-filled page 4 as a zero indication");
    spring_data_free(d);
    ck_assert_uint_eq(tp_ncalls(fx.tp), 0);
    for (spring_off_t i = 0; i < 6; i++) {
        rd1(fx.as, fx.a + i * PS);
        ck_assert_msg(calls_at(fx.tp, TP_PAGE_IN, i * PS) == 1, "page %d not paged in again after flush_back",
                      (int)i);
    }
    d = NULL;
    ck_assert_rc(spring_cache_flush_back(c, 0, SPRING_SIZE_ALL, NULL, &d), 0);
    ck_assert_uint_eq(d->nblocks, 0);
    spring_data_free(d);
}
END_TEST

/* deny_writes returns the modified blocks and keeps a read-only copy: reads
 * need no page_in, a write upgrades; clean blocks return nothing. */
/* deny_writes without a data list keeps modified blocks modified; a later
 * write upgrades them, and even a pager that sends its (older) data with
 * the grant cannot overwrite the only current copy. */
START_TEST(test_deny_writes_no_data_keeps_modifications)
{
    fx_t f;
    fx_init(&f, 32, 4, 0, SPRING_OWN_EXCLUSIVE);
    fx_map(&f, SPRING_RIGHTS_RW);
    tp_set_upgrade_overwrites(f.tp, true);
    spring_cache_obj_t c = tp_cache(f.tp);
    ck_assert_rc(put_page(f.as, f.a, 0x58), 0);
    ck_assert_rc(spring_cache_deny_writes(c, 0, SPRING_SIZE_ALL, NULL, NULL), 0);
    ck_assert(page_is(f.as, f.a, 0x58));
    wr1(f.as, f.a + 1, 0x59); /* upgrade page_in: the pager sends its old bytes */
    ck_assert(last_of(f.tp, TP_PAGE_IN).upgrade);
    ck_assert_uint_eq(rd1(f.as, f.a), 0x58);
    ck_assert_uint_eq(rd1(f.as, f.a + 1), 0x59);
    ck_assert_rc(spring_as_flush(f.as, f.a, PS, false), 0);
    ck_assert(store_is(f.tp, 0, 1, 0x58));
    ck_assert(store_is(f.tp, 1, 1, 0x59));
    fx_fini(&f);
}
END_TEST

START_TEST(test_deny_writes)
{
    fx_map(&fx, SPRING_RIGHTS_RW);
    spring_cache_obj_t c = tp_cache(fx.tp);
    ck_assert_rc(put_page(fx.as, fx.a, 0x22), 0);
    rd1(fx.as, fx.a + PS); /* read-write (exclusive), clean */
    tp_clear(fx.tp);
    spring_data_t *d = NULL;
    ck_assert_rc(spring_cache_deny_writes(c, 0, SPRING_SIZE_ALL, NULL, &d), 0);
    ck_assert_uint_eq(d->nblocks, 1);
    ck_assert(dblock_is(d, 0, 0, 0x22));
    spring_data_free(d);
    ck_assert(page_is(fx.as, fx.a, 0x22));
    ck_assert(page_is_pat(fx.as, fx.a + PS, PS));
    ck_assert_uint_eq(tp_ncalls(fx.tp), 0);
    wr1(fx.as, fx.a + PS, 0x23);
    ck_assert_uint_eq(tp_ncalls(fx.tp), 1);
    tp_call_t u = last_of(fx.tp, TP_PAGE_IN);
    ck_assert_uint_eq(u.off, PS);
    ck_assert_uint_eq(u.access, SPRING_RIGHTS_RW);
    ck_assert(u.upgrade);
    wr1(fx.as, fx.a, 0x24);
    ck_assert_uint_eq(tp_count(fx.tp, TP_PAGE_IN), 2);
    ck_assert(last_of(fx.tp, TP_PAGE_IN).upgrade);
    ck_assert_uint_eq(rd1(fx.as, fx.a + 1), 0x22); /* the upgrade kept the data */
    d = NULL;
    ck_assert_rc(spring_cache_deny_writes(c, 0, SPRING_SIZE_ALL, NULL, &d), 0);
    ck_assert_uint_eq(d->nblocks, 2);
    ck_assert_uint_eq(d->blocks[0].offset, 0);
    ck_assert_uint_eq(((const uint8_t *)d->blocks[0].bytes)[0], 0x24);
    ck_assert_uint_eq(((const uint8_t *)d->blocks[1].bytes)[0], 0x23);
    spring_data_free(d);
    d = NULL;
    ck_assert_rc(spring_cache_deny_writes(c, 0, SPRING_SIZE_ALL, NULL, &d), 0);
    ck_assert_uint_eq(d->nblocks, 0);
    spring_data_free(d);
    ck_assert_uint_eq(tp_count(fx.tp, TP_PAGE_OUT), 0);
}
END_TEST

/* write_back returns a copy of the modified blocks and keeps their mode: a
 * later write needs no page_in; once returned, a block is clean (a flush
 * sends nothing). */
START_TEST(test_write_back)
{
    fx_map(&fx, SPRING_RIGHTS_RW);
    spring_cache_obj_t c = tp_cache(fx.tp);
    ck_assert_rc(put_page(fx.as, fx.a, 0x33), 0);
    rd1(fx.as, fx.a + PS);
    tp_clear(fx.tp);
    spring_data_t *d = NULL;
    ck_assert_rc(spring_cache_write_back(c, 0, SPRING_SIZE_ALL, NULL, &d), 0);
    ck_assert_uint_eq(d->nblocks, 1);
    ck_assert(dblock_is(d, 0, 0, 0x33));
    spring_data_free(d);
    ck_assert_rc(put_page(fx.as, fx.a, 0x34), 0);
    ck_assert_uint_eq(tp_ncalls(fx.tp), 0);
    d = NULL;
    ck_assert_rc(spring_cache_write_back(c, 0, SPRING_SIZE_ALL, NULL, &d), 0);
    ck_assert_uint_eq(d->nblocks, 1);
    ck_assert(dblock_is(d, 0, 0, 0x34));
    spring_data_free(d);
    d = NULL;
    ck_assert_rc(spring_cache_write_back(c, 0, SPRING_SIZE_ALL, NULL, &d), 0);
    ck_assert_uint_eq(d->nblocks, 0);
    spring_data_free(d);
    ck_assert(page_is(fx.as, fx.a, 0x34));
    ck_assert_rc(spring_as_flush(fx.as, fx.a, fx.len, false), 0);
    ck_assert_uint_eq(tp_ncalls(fx.tp), 0);
}
END_TEST

/* delete_range returns nothing and discards modified data: the next access
 * pages the pager's data in, and nothing is ever paged out. */
START_TEST(test_delete_range)
{
    fx_map(&fx, SPRING_RIGHTS_RW);
    spring_cache_obj_t c = tp_cache(fx.tp);
    ck_assert_rc(put_page(fx.as, fx.a, 0x44), 0);
    rd1(fx.as, fx.a + PS);
    tp_clear(fx.tp);
    ck_assert_rc(spring_cache_delete_range(c, 0, SPRING_SIZE_ALL, NULL), 0);
    ck_assert_uint_eq(tp_ncalls(fx.tp), 0);
    ck_assert(page_is_pat(fx.as, fx.a, 0));
    ck_assert_uint_eq(calls_at(fx.tp, TP_PAGE_IN, 0), 1);
    rd1(fx.as, fx.a + PS);
    ck_assert_uint_eq(calls_at(fx.tp, TP_PAGE_IN, PS), 1);
    ck_assert_rc(spring_as_flush(fx.as, fx.a, fx.len, false), 0);
    ck_assert_uint_eq(tp_count(fx.tp, TP_PAGE_OUT), 0);
    ck_assert(store_is(fx.tp, 0, 1, tp_pattern(0)));
}
END_TEST

/* delete_range removes zero-fill ranges too (zero_fill put that data in
 * the cache): the next access asks the pager again and shows its data, here
 * still the pattern, since this pager did not zero its own copy. */
START_TEST(test_delete_range_drops_zero_fill)
{
    fx_map(&fx, SPRING_RIGHTS_RW);
    spring_cache_obj_t c = tp_cache(fx.tp);
    ck_assert_rc(spring_cache_zero_fill(c, 0, 4 * PS, NULL), 0);
    ck_assert(page_is(fx.as, fx.a + PS, 0)); /* one block materialized, three still in the table */
    tp_clear(fx.tp);
    ck_assert_rc(spring_cache_delete_range(c, 0, 4 * PS, NULL), 0);
    for (spring_off_t i = 0; i < 4; i++) {
        ck_assert_msg(page_is_pat(fx.as, fx.a + i * PS, i * PS), "page %d: delete_range left it zero-filled",
                      (int)i);
        ck_assert_uint_eq(calls_at(fx.tp, TP_PAGE_IN, i * PS), 1);
    }
}
END_TEST

/* zero_fill: the range reads zero with no page_in and is held read-write
 * (a write needs no page_in even in the shared state); cached data in it
 * is discarded; the zero blocks count as modified. */
START_TEST(test_zero_fill)
{
    fx_t f;
    fx_init(&f, 32, 8, 0, SPRING_OWN_SHARED);
    fx_map(&f, SPRING_RIGHTS_RW);
    spring_cache_obj_t c = tp_cache(f.tp);
    ck_assert_rc(put_page(f.as, f.a + PS, 0x55), 0);
    rd1(f.as, f.a + 3 * PS);
    tp_clear(f.tp);
    ck_assert_rc(spring_cache_zero_fill(c, 0, 2 * PS, NULL), 0);
    dirty_pool(f.vmm);
    ck_assert(page_is(f.as, f.a, 0));
    ck_assert(page_is(f.as, f.a + PS, 0));
    ck_assert_rc(put_page(f.as, f.a, 0x56), 0);
    ck_assert_uint_eq(tp_ncalls(f.tp), 0);
    ck_assert(page_is_pat(f.as, f.a + 3 * PS, 3 * PS)); /* outside: untouched */
    ck_assert_uint_eq(tp_ncalls(f.tp), 0);
    ck_assert_rc(spring_as_flush(f.as, f.a, 2 * PS, false), 0);
    /* Both modified pages in one call: page 0 with bytes, page 1 as an
     * all-zero indication. */
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_OUT), 1);
    tp_call_t p0 = tp_call(f.tp, 0);
    ck_assert_uint_eq(p0.off, 0);
    ck_assert_uint_eq(p0.size, 2 * PS);
    ck_assert_uint_eq(p0.data_blocks, 2);
    ck_assert_uint_eq(p0.zero_blocks, 1);
    ck_assert(store_is(f.tp, 0, PS, 0x56));
    ck_assert(store_is(f.tp, PS, PS, 0));
    fx_fini(&f);
}
END_TEST

/* populate introduces data: reads need no page_in (a cached block and its
 * translations are replaced); read-write data takes writes without a
 * page_in; read-only data upgrades on a write and keeps its bytes. */
START_TEST(test_populate)
{
    fx_t f;
    fx_init(&f, 32, 8, 0, SPRING_OWN_SHARED);
    fx_map(&f, SPRING_RIGHTS_RW);
    spring_cache_obj_t c = tp_cache(f.tp);
    ck_assert(page_is_pat(f.as, f.a + 3 * PS, 3 * PS)); /* cached, translated */
    tp_clear(f.tp);
    ck_assert_rc(populate1(c, 0, SPRING_RIGHTS_RW, 0x77), 0);
    uint8_t b1[PS], b3[PS];
    memset(b1, 0x78, PS);
    memset(b3, 0x79, PS);
    spring_data_block_t blk[3] = {{PS, PS, b1}, {2 * PS, PS, NULL}, {3 * PS, PS, b3}};
    spring_data_t d = {3, blk};
    ck_assert_rc(spring_cache_populate(c, PS, 3 * PS, SPRING_RIGHTS_RO, NULL, &d), 0);
    ck_assert(page_is(f.as, f.a, 0x77));
    ck_assert(page_is(f.as, f.a + PS, 0x78));
    ck_assert(page_is(f.as, f.a + 2 * PS, 0));
    ck_assert_msg(page_is(f.as, f.a + 3 * PS, 0x79), "a stale translation survived populate");
    wr1(f.as, f.a, 0x70);
    ck_assert_uint_eq(tp_ncalls(f.tp), 0);
    wr1(f.as, f.a + PS, 0x71);
    ck_assert_uint_eq(tp_ncalls(f.tp), 1);
    tp_call_t u = last_of(f.tp, TP_PAGE_IN);
    ck_assert_uint_eq(u.off, PS);
    ck_assert_uint_eq(u.access, SPRING_RIGHTS_RW);
    ck_assert(u.upgrade);
    ck_assert_uint_eq(rd1(f.as, f.a + PS), 0x71);
    ck_assert_uint_eq(rd1(f.as, f.a + PS + 1), 0x78);
    /* Illegal populates change nothing. */
    ck_assert_rc(spring_cache_populate(c, 0, SPRING_SIZE_ALL, SPRING_RIGHTS_RO, NULL, &d), SPRING_EINVAL);
    ck_assert_rc(spring_cache_populate(c, PS, 4 * PS, SPRING_RIGHTS_RO, NULL, &d), SPRING_EINVAL);
    ck_assert_rc(spring_cache_populate(c, PS, 3 * PS, SPRING_RIGHTS_RWX, NULL, &d), SPRING_EINVAL);
    ck_assert_rc(spring_cache_populate(c, 1, PS, SPRING_RIGHTS_RO, NULL, &d), SPRING_EALIGN);
    ck_assert_rc(spring_cache_populate(c, 0, PS, SPRING_RIGHTS_RO, NULL, NULL), SPRING_EINVAL);
    ck_assert_uint_eq(rd1(f.as, f.a), 0x70);
    ck_assert_uint_eq(rd1(f.as, f.a + PS), 0x71);
    ck_assert_uint_eq(tp_ncalls(f.tp), 1);
    fx_fini(&f);
}
END_TEST

/* destroy_cache: the region stays and faults with EDESTROYED; the pager
 * object gets done_with_pager_object exactly once and no other call ever;
 * the cache's handles are dead; mapping the object again binds a new cache. */
START_TEST(test_destroy_cache)
{
    fx_map(&fx, SPRING_RIGHTS_RW);
    rd1(fx.as, fx.a);
    ck_assert_rc(put_page(fx.as, fx.a + PS, 0x66), 0);
    spring_cache_obj_t c = tp_cache(fx.tp);
    spring_cache_rights_t r = tp_rights(fx.tp);
    tp_clear(fx.tp);
    ck_assert_rc(spring_cache_destroy(c), 0);
    const enum tp_kind want[] = {TP_DONE_WITH_POBJ};
    expect_log(fx.tp, want, 1);
    uint8_t v = 0;
    void *p;
    spring_pin_t pin;
    ck_assert_rc(spring_as_read(fx.as, fx.a, &v, 1), SPRING_EDESTROYED);
    ck_assert_rc(spring_as_read(fx.as, fx.a + 2 * PS, &v, 1), SPRING_EDESTROYED);
    ck_assert_rc(spring_as_write(fx.as, fx.a + PS, &v, 1), SPRING_EDESTROYED);
    ck_assert_rc(spring_as_fault(fx.as, fx.a, SPRING_RIGHTS_R), SPRING_EDESTROYED);
    ck_assert_rc(spring_as_translate(fx.as, fx.a, SPRING_RIGHTS_R, &p, &pin), SPRING_EDESTROYED);
    ck_assert_uint_eq(mappings(fx.as, fx.a, fx.len, NULL), 1);
    ck_assert_rc(spring_as_flush(fx.as, fx.a, fx.len, false), 0);
    ck_assert_rc(spring_cache_destroy(c), SPRING_EBADHANDLE);
    ck_assert_rc(spring_cache_flush_back(c, 0, PS, NULL, NULL), SPRING_EBADHANDLE);
    ck_assert_rc(spring_cache_delete_range(c, 0, PS, NULL), SPRING_EBADHANDLE);
    ck_assert_rc(populate1(c, 0, SPRING_RIGHTS_RO, 1), SPRING_EBADHANDLE);
    spring_rights_t rr;
    ck_assert_rc(spring_cache_rights_get(r, &rr), SPRING_EBADHANDLE);
    ck_assert_rc(spring_as_unmap(fx.as, fx.a, fx.len), 0);
    expect_log(fx.tp, want, 1); /* never called again */
    CHECK_VMM(fx.vmm);
    fx_map(&fx, SPRING_RIGHTS_RW);
    ck_assert(page_is_pat(fx.as, fx.a + PS, PS)); /* the modified data was discarded */
    ck_assert_uint_eq(tp_count(fx.tp, TP_BIND), 1);
    ck_assert_uint_eq(tp_count(fx.tp, TP_PAGE_IN), 1);
    ck_assert_uint_eq(tp_count(fx.tp, TP_DONE_WITH_POBJ), 1);
}
END_TEST

/* SPRING_SIZE_ALL means "to the end of the cache"; ranges are checked. */
START_TEST(test_size_all_ranges)
{
    fx_map(&fx, SPRING_RIGHTS_RW);
    spring_cache_obj_t c = tp_cache(fx.tp);
    for (spring_off_t i = 0; i < 8; i++)
        ck_assert_rc(put_page(fx.as, fx.a + i * PS, (uint8_t)(i + 1)), 0);
    tp_clear(fx.tp);
    spring_data_t *d = NULL;
    ck_assert_rc(spring_cache_flush_back(c, 2 * PS, SPRING_SIZE_ALL, NULL, &d), 0);
    ck_assert_uint_eq(d->nblocks, 6);
    for (size_t i = 0; i < 6; i++)
        ck_assert(dblock_is(d, i, (2 + i) * PS, (int)(3 + i)));
    ck_assert_uint_eq(spring_data_length(d), 6 * PS);
    spring_data_free(d);
    d = NULL;
    ck_assert_rc(spring_cache_write_back(c, 0, SPRING_SIZE_ALL, NULL, &d), 0);
    ck_assert_uint_eq(d->nblocks, 2);
    ck_assert(dblock_is(d, 0, 0, 1));
    ck_assert(dblock_is(d, 1, PS, 2));
    spring_data_free(d);
    ck_assert_uint_eq(tp_ncalls(fx.tp), 0);
    ck_assert_rc(spring_cache_delete_range(c, PS, SPRING_SIZE_ALL, NULL), 0);
    ck_assert(page_is(fx.as, fx.a, 1));
    ck_assert_uint_eq(tp_ncalls(fx.tp), 0);
    ck_assert(page_is_pat(fx.as, fx.a + PS, PS));
    ck_assert_uint_eq(tp_count(fx.tp, TP_PAGE_IN), 1);
    ck_assert_rc(spring_cache_flush_back(c, 1, PS, NULL, NULL), SPRING_EALIGN);
    ck_assert_rc(spring_cache_flush_back(c, 0, PS + 1, NULL, NULL), SPRING_EALIGN);
    ck_assert_rc(spring_cache_flush_back(c, PS, (spring_off_t)0 - PS, NULL, NULL), SPRING_ERANGE);
    ck_assert_rc(spring_cache_delete_range(c, 2 * PS, (spring_off_t)0 - PS, NULL), SPRING_ERANGE);
    spring_cache_obj_t forged = {0x5eed0000abcdef01ULL};
    ck_assert_rc(spring_cache_flush_back(forged, 0, PS, NULL, NULL), SPRING_EBADHANDLE);
    ck_assert(page_is(fx.as, fx.a, 1));
    ck_assert_uint_eq(tp_count(fx.tp, TP_PAGE_IN), 1);
}
END_TEST

/* A cache whose maximum rights lack write takes no read-write data. */
START_TEST(test_ro_cache_refuses_write_data)
{
    spring_vmm_t *vmm = test_vmm(VMM_NAME, 32, NULL);
    spring_vmm_obj_t o;
    ck_assert_rc(spring_vmm_get_object(vmm, SPRING_PRIV_USER, &o), 0);
    struct mini mp = {0, 0};
    spring_pager_info_t info = {0, SPRING_CACHE_DATA, 0, true};
    spring_cache_obj_t c;
    spring_cache_rights_t r, sib;
    ck_assert_rc(spring_vmm_create_cache_object(o, &mini_ops, &mp, false, &info, SPRING_OWN_EXCLUSIVE,
                                                SPRING_RIGHTS_RO, &c, &r),
                 0);
    ck_assert_rc(populate1(c, 0, SPRING_RIGHTS_RW, 1), SPRING_ERIGHTS);
    ck_assert_rc(spring_cache_zero_fill(c, 0, PS, NULL), SPRING_ERIGHTS);
    ck_assert_rc(spring_cache_rights_create_restricted_sibling(r, SPRING_RIGHTS_RW, &sib), SPRING_ERIGHTS);
    ck_assert_rc(populate1(c, 0, SPRING_RIGHTS_RO, 1), 0);
    CHECK_VMM(vmm);
    test_vmm_free(vmm, NULL);
    ck_assert_int_eq(mp.done, 1);
}
END_TEST

void scen_pagercalls(Suite *s)
{
    TCase *t = tcase_create("pagercalls");
    tcase_add_checked_fixture(t, fx_setup8, fx_teardown);
    tcase_add_test(t, test_flush_back_returns_modified);
    tcase_add_test(t, test_deny_writes);
    tcase_add_test(t, test_write_back);
    tcase_add_test(t, test_delete_range);
    tcase_add_test(t, test_delete_range_drops_zero_fill);
    tcase_add_test(t, test_destroy_cache);
    tcase_add_test(t, test_size_all_ranges);
    suite_add_tcase(s, t);
    /* The tests that make their own set-up. */
    t = tcase_create("pagercalls");
    tcase_add_test(t, test_deny_writes_no_data_keeps_modifications);
    tcase_add_test(t, test_zero_fill);
    tcase_add_test(t, test_populate);
    tcase_add_test(t, test_ro_cache_refuses_write_data);
    suite_add_tcase(s, t);
}
