/*
 * blocks.c - blocks larger than a page (4 pages): one page_in per block,
 * whole blocks paged out, alignment of faults, calls and locks; unmapping
 * part of a region keeps every page at its object offset.
 */
#include "scen.h"

#define BS (4 * PS)

/* One page_in per block, block aligned; the block's other pages are then
 * served without a pager call; flush_back returns the whole block. */
START_TEST(test_block_one_page_in_per_block)
{
    fx_t f;
    fx_init(&f, 32, 16, BS, SPRING_OWN_EXCLUSIVE);
    fx_map(&f, SPRING_RIGHTS_RW);
    ck_assert_uint_eq(rd1(f.as, f.a + 5 * PS), tp_pattern(5 * PS));
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), 1);
    tp_call_t c = last_of(f.tp, TP_PAGE_IN);
    ck_assert_uint_eq(c.off, 4 * PS);
    ck_assert_uint_eq(c.size, BS);
    for (spring_off_t i = 4; i < 8; i++)
        ck_assert(page_is_pat(f.as, f.a + i * PS, i * PS));
    ck_assert_rc(put_page(f.as, f.a + 6 * PS, 0x66), 0);
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), 1);
    rd1(f.as, f.a + 11 * PS);
    c = last_of(f.tp, TP_PAGE_IN);
    ck_assert_uint_eq(c.off, 8 * PS);
    ck_assert_uint_eq(c.size, BS);
    spring_data_t *d = NULL;
    ck_assert_rc(spring_cache_flush_back(tp_cache(f.tp), 0, SPRING_SIZE_ALL, NULL, &d), 0);
    ck_assert_uint_eq(spring_data_length(d), BS);
    ck_assert_uint_eq(d->nblocks, 4);
    ck_assert(dblock_is(d, 0, 4 * PS, DPAT));
    ck_assert(dblock_is(d, 1, 5 * PS, DPAT));
    ck_assert(dblock_is(d, 2, 6 * PS, 0x66));
    ck_assert(dblock_is(d, 3, 7 * PS, DPAT));
    spring_data_free(d);
    rd1(f.as, f.a + 7 * PS);
    ck_assert_uint_eq(calls_at(f.tp, TP_PAGE_IN, 4 * PS), 2);
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), 3);
    fx_fini(&f);
}
END_TEST

/* Under pressure and in a flush, dirty blocks go out whole: page_out calls
 * are block aligned, cover whole blocks and carry every page of each, one
 * entry per page; each block goes exactly once. */
START_TEST(test_block_page_out_whole_blocks)
{
    fx_t f;
    fx_init(&f, 16, 32, BS, SPRING_OWN_EXCLUSIVE);
    fx_map(&f, SPRING_RIGHTS_RW);
    for (spring_off_t b = 0; b < 8; b++)
        wr1(f.as, f.a + b * BS + PS + 1, (uint8_t)(0xc0 + b));
    ck_assert_rc(spring_as_flush(f.as, f.a, f.len, false), 0);
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), 8);
    ck_assert_uint_eq(pages_of(f.tp, TP_PAGE_OUT), 8 * BS / PS);
    for (size_t i = 0; i < tp_ncalls(f.tp); i++) {
        tp_call_t c = tp_call(f.tp, i);
        if (c.kind != TP_PAGE_OUT && c.kind != TP_PAGE_IN)
            continue;
        ck_assert_uint_eq(c.off % BS, 0);
        if (c.kind == TP_PAGE_IN)
            ck_assert_uint_eq(c.size, BS);
        else
            ck_assert_uint_eq(c.size % BS, 0);
    }
    for (spring_off_t b = 0; b < 8; b++) {
        ck_assert_uint_eq(calls_at(f.tp, TP_PAGE_OUT, b * BS), 1);
        tp_lock(f.tp);
        const uint8_t *s = tp_store(f.tp);
        ck_assert_uint_eq(s[b * BS + PS + 1], 0xc0 + b);
        ck_assert(mem_is_pat(s + b * BS, PS, b * BS));
        ck_assert_uint_eq(s[b * BS + PS], tp_pattern(b * BS + PS));
        tp_unlock(f.tp);
    }
    fx_fini(&f);
}
END_TEST

/* A mapping need not start on a block boundary: faults align. */
START_TEST(test_block_unaligned_mapping)
{
    fx_t f;
    fx_init(&f, 32, 16, BS, SPRING_OWN_EXCLUSIVE);
    spring_off_t len = 8 * PS;
    spring_addr_t a = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_map(f.as, f.m, 2 * PS, &len, &a, SPRING_RIGHTS_RW), 0);
    ck_assert(page_is_pat(f.as, a, 2 * PS));
    tp_call_t c = last_of(f.tp, TP_PAGE_IN);
    ck_assert_uint_eq(c.off, 0);
    ck_assert_uint_eq(c.size, BS);
    ck_assert(page_is_pat(f.as, a + PS, 3 * PS));
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), 1);
    ck_assert(page_is_pat(f.as, a + 2 * PS, 4 * PS));
    c = last_of(f.tp, TP_PAGE_IN);
    ck_assert_uint_eq(c.off, 4 * PS);
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), 2);
    fx_fini(&f);
}
END_TEST

/* Unmapping part of a region keeps every remaining page at its object
 * offset: after trimming the front, splitting out the middle and trimming
 * the back, each page reads (and writes) the data of its own offset, and
 * get_mappings reports the offsets. */
START_TEST(test_unmap_keeps_object_offsets)
{
    fx_t f;
    fx_init(&f, 32, 12, 0, SPRING_OWN_EXCLUSIVE);
    fx_map(&f, SPRING_RIGHTS_RW);
    ck_assert_rc(put_page(f.as, f.a + 5 * PS, 0x5e), 0);
    ck_assert_rc(spring_as_unmap(f.as, f.a, 2 * PS), 0); /* the front */
    for (spring_off_t i = 2; i < 12; i++)
        ck_assert_msg(i == 5 ? page_is(f.as, f.a + i * PS, 0x5e) : page_is_pat(f.as, f.a + i * PS, i * PS),
                      "after trimming the front, page %d does not show its object offset", (int)i);
    spring_mapping_t m[8];
    ck_assert_uint_eq(mappings(f.as, f.a, f.len, m), 1);
    ck_assert_uint_eq(m[0].address, f.a + 2 * PS);
    ck_assert_uint_eq(m[0].mobj_offset, 2 * PS);
    ck_assert_rc(spring_as_unmap(f.as, f.a + 6 * PS, 2 * PS), 0); /* the middle: a split */
    ck_assert_rc(spring_as_unmap(f.as, f.a + 11 * PS, PS), 0);    /* the back */
    ck_assert_uint_eq(mappings(f.as, f.a, f.len, m), 2);
    ck_assert_uint_eq(m[1].address, f.a + 8 * PS);
    ck_assert_uint_eq(m[1].mobj_offset, 8 * PS);
    for (spring_off_t i = 2; i < 11; i++)
        if (i < 6 || i >= 8)
            ck_assert_msg(i == 5 ? page_is(f.as, f.a + i * PS, 0x5e) : page_is_pat(f.as, f.a + i * PS, i * PS),
                          "after the split, page %d does not show its object offset", (int)i);
    ck_assert_rc(put_page(f.as, f.a + 9 * PS, 0x99), 0);
    ck_assert_rc(spring_as_flush(f.as, f.a + 2 * PS, 9 * PS, false), 0);
    ck_assert(store_is(f.tp, 5 * PS, PS, 0x5e));
    ck_assert(store_is(f.tp, 9 * PS, PS, 0x99));
    tp_lock(f.tp);
    bool rest = tp_is_pattern(tp_store(f.tp) + 8 * PS, PS, 8 * PS) && tp_is_pattern(tp_store(f.tp), 5 * PS, 0);
    tp_unlock(f.tp);
    ck_assert(rest);
    fx_fini(&f);
}
END_TEST

/* Pager calls take block-aligned ranges; locking a page reserves a block. */
START_TEST(test_block_alignment_and_locks)
{
    fx_t f;
    fx_init(&f, 32, 16, BS, SPRING_OWN_EXCLUSIVE);
    fx_map(&f, SPRING_RIGHTS_RW);
    spring_cache_obj_t c = tp_cache(f.tp);
    ck_assert_rc(spring_cache_flush_back(c, PS, BS, NULL, NULL), SPRING_EALIGN);
    ck_assert_rc(spring_cache_flush_back(c, 0, PS, NULL, NULL), SPRING_EALIGN);
    ck_assert_rc(spring_cache_delete_range(c, 0, 2 * PS, NULL), SPRING_EALIGN);
    ck_assert_rc(spring_cache_zero_fill(c, 2 * PS, BS, NULL), SPRING_EALIGN);
    ck_assert_rc(populate1(c, 0, SPRING_RIGHTS_RO, 1), SPRING_EALIGN);
    ck_assert_rc(spring_as_lock_memory(f.as, f.a + 5 * PS, PS), 0);
    ck_assert_uint_eq(test_vm_info(f.vmm).locked_frames, 4);
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), 1);
    ck_assert_uint_eq(last_of(f.tp, TP_PAGE_IN).off, 4 * PS);
    ck_assert_rc(spring_as_unlock_memory(f.as, f.a + 5 * PS, PS), 0);
    ck_assert_uint_eq(test_vm_info(f.vmm).locked_frames, 0);
    fx_fini(&f);
}
END_TEST

void scen_blocks(Suite *s)
{
    TCase *t = tcase_create("blocks");
    tcase_add_test(t, test_block_one_page_in_per_block);
    tcase_add_test(t, test_block_page_out_whole_blocks);
    tcase_add_test(t, test_block_unaligned_mapping);
    tcase_add_test(t, test_block_alignment_and_locks);
    tcase_add_test(t, test_unmap_keeps_object_offsets);
    suite_add_tcase(s, t);
}
