/*
 * cache.c - cache.h, the pager's calls on its cache: ranges, flush_back,
 * deny_writes, write_back, delete_range, zero_fill, populate, destroy,
 * cache-rights.
 */
#include "api.h"

/* The five calls with the same shape, by index. */
enum cop { C_FLUSH_BACK, C_DENY_WRITES, C_WRITE_BACK, C_DELETE_RANGE, C_ZERO_FILL, C_NOPS };
static const char *const cop_name[C_NOPS] = {"flush_back", "deny_writes", "write_back", "delete_range",
                                             "zero_fill"};

static int cache_call(enum cop op, spring_cache_obj_t c, spring_off_t off, spring_off_t size,
                      spring_ownership_t *own)
{
    spring_data_t *d = NULL;
    int rc;
    switch (op) {
    case C_FLUSH_BACK: rc = spring_cache_flush_back(c, off, size, own, &d); break;
    case C_DENY_WRITES: rc = spring_cache_deny_writes(c, off, size, own, &d); break;
    case C_WRITE_BACK: rc = spring_cache_write_back(c, off, size, own, &d); break;
    case C_DELETE_RANGE: rc = spring_cache_delete_range(c, off, size, own); break;
    default: rc = spring_cache_zero_fill(c, off, size, own); break;
    }
    if (rc == 0)
        spring_data_free(d);
    else
        ck_assert_msg(d == NULL, "%s failed but produced data", cop_name[op]);
    return rc;
}

START_TEST(test_cache_range_illegal)
{
    /* Blocks of two pages: page aligned is not enough. */
    fix_t f;
    fix_init(&f, false, 2 * PS);
    spring_cache_obj_t c = tp_cache(f.tp);
    write_byte(f.as, A0, 0xee);                         /* block 0 modified */
    ck_assert_uint_eq(read_byte(f.as, A0 + 5 * PS), tp_pattern(5 * PS)); /* block 2 clean */
    const spring_off_t wrap = (spring_off_t)0 - 4 * PS; /* block aligned, near 2^64 */
    static const struct {
        spring_off_t off, size;
        int own;
        int want;
    } t[] = {
        {PS, 2 * PS, 0, SPRING_EALIGN},  /* page aligned, not block aligned */
        {1, 2 * PS, 0, SPRING_EALIGN},
        {0, PS, 0, SPRING_EALIGN},
        {0, 3 * PS, 0, SPRING_EALIGN},
        {0, 1, 0, SPRING_EALIGN},
        {PS, SPRING_SIZE_ALL, 0, SPRING_EALIGN},
        {3 * PS, 4 * PS, 0, SPRING_EALIGN},
        {0, 2 * PS, 3, SPRING_EINVAL},   /* not an ownership state */
        {0, 2 * PS, -1, SPRING_EINVAL},
        {0, 2 * PS, 0x100, SPRING_EINVAL},
        {0, SPRING_SIZE_ALL, 7, SPRING_EINVAL},
    };
    for (int op = 0; op < C_NOPS; op++) {
        size_t ncalls = tp_ncalls(f.tp);
        size_t resident = test_as_stats(f.as).resident;
        for (size_t i = 0; i < NELEM(t); i++) {
            spring_ownership_t own = (spring_ownership_t)t[i].own;
            int rc = cache_call((enum cop)op, c, t[i].off, t[i].size, &own);
            ck_assert_msg(rc == t[i].want, "%s case %zu: got %s, want %s", cop_name[op], i, spring_err_name(rc),
                          spring_err_name(t[i].want));
        }
        /* offset+size overflowing 2^64. */
        int rc = cache_call((enum cop)op, c, wrap, 8 * PS, NULL);
        ck_assert_msg(rc == SPRING_ERANGE, "%s overflow: got %s", cop_name[op], spring_err_name(rc));
        rc = cache_call((enum cop)op, c, wrap, (spring_off_t)0 - 2 * PS, NULL);
        ck_assert_msg(rc == SPRING_ERANGE, "%s overflow 2: got %s", cop_name[op], spring_err_name(rc));
        /* Forged handles and handles of other types. */
        uint64_t bad[16];
        size_t n = forgeries(c.h, bad);
        bad[n++] = tp_rights(f.tp).h;                        /* a cache-rights where a cache is expected */
        bad[n++] = vmm_obj(f.vmm, SPRING_PRIV_SYSTEM).h;     /* a vmm object */
        for (size_t i = 0; i < n; i++) {
            spring_ownership_t own = SPRING_OWN_SHARED;
            rc = cache_call((enum cop)op, (spring_cache_obj_t){bad[i]}, 0, SPRING_SIZE_ALL, &own);
            ck_assert_msg(rc == SPRING_EBADHANDLE, "%s handle %zu: got %s", cop_name[op], i, spring_err_name(rc));
        }
        /* Nothing happened: no pager call, the same pages cached, the
         * modified data still there, the ownership unchanged. */
        ck_assert_uint_eq(tp_ncalls(f.tp), ncalls);
        ck_assert_uint_eq(test_as_stats(f.as).resident, resident);
        ck_assert_uint_eq(read_byte(f.as, A0), 0xee);
        ck_assert_uint_eq(read_byte(f.as, A0 + 5 * PS + 1), tp_pattern(5 * PS + 1));
        ck_assert_uint_eq(tp_ncalls(f.tp), ncalls);
        CHECK_VMM(f.vmm);
    }
    spring_ownership_t own;
    /* Legal: any block-aligned range, to the end or far away. */
    for (int op = 0; op < C_NOPS; op++) {
        own = SPRING_OWN_UNCHANGED;
        ck_assert_rc(cache_call((enum cop)op, c, (spring_off_t)1 << 40, SPRING_SIZE_ALL, &own), 0);
        ck_assert_int_eq(own, SPRING_OWN_EXCLUSIVE);
        ck_assert_rc(cache_call((enum cop)op, c, wrap, 2 * PS, NULL), 0);
    }
    ck_assert_uint_eq(read_byte(f.as, A0), 0xee);
    fix_fini(&f);
}
END_TEST

START_TEST(test_cache_flush_back)
{
    spring_cache_obj_t c = tp_cache(fix.tp);
    write_byte(fix.as, A0, 0xab);
    ck_assert_uint_eq(read_byte(fix.as, A0 + PS), tp_pattern(PS));
    size_t page_ins = tp_count(fix.tp, TP_PAGE_IN);
    spring_ownership_t own = SPRING_OWN_SHARED;
    spring_data_t *d = NULL;
    ck_assert_rc(spring_cache_flush_back(c, 0, 2 * PS, &own, &d), 0);
    ck_assert_int_eq(own, SPRING_OWN_SHARED);
    /* Only the modified page comes back. */
    ck_assert_ptr_nonnull(d);
    ck_assert_uint_eq(d->nblocks, 1);
    ck_assert_uint_eq(d->blocks[0].offset, 0);
    ck_assert_uint_eq(d->blocks[0].length, PS);
    ck_assert_uint_eq(((const uint8_t *)d->blocks[0].bytes)[0], 0xab);
    spring_data_free(d);
    ck_assert_uint_eq(test_as_stats(fix.as).resident, 0);
    ck_assert_uint_eq(tp_count(fix.tp, TP_PAGE_OUT), 0); /* returned, not paged out */
    /* Both pages are gone: the pager's copy comes back (it did not store the
     * returned data), and the cache now passes SHARED to the pager. */
    ck_assert_uint_eq(read_byte(fix.as, A0), tp_pattern(0));
    ck_assert_uint_eq(read_byte(fix.as, A0 + PS), tp_pattern(PS));
    ck_assert_uint_eq(tp_count(fix.tp, TP_PAGE_IN), page_ins + 2);
    tp_call_t last = tp_call(fix.tp, tp_ncalls(fix.tp) - 1);
    ck_assert_int_eq(last.own, SPRING_OWN_SHARED);
    ck_assert_int_eq(last.access, SPRING_RIGHTS_RO); /* shared: a read asks for read-only */
    /* data and own may be NULL; UNCHANGED reports the state. */
    ck_assert_rc(spring_cache_flush_back(c, 0, SPRING_SIZE_ALL, NULL, NULL), 0);
    own = SPRING_OWN_UNCHANGED;
    ck_assert_rc(spring_cache_flush_back(c, 0, SPRING_SIZE_ALL, &own, &d), 0);
    ck_assert_int_eq(own, SPRING_OWN_SHARED);
    ck_assert_uint_eq(d->nblocks, 0);
    ck_assert_uint_eq(spring_data_length(d), 0);
    spring_data_free(d);
}
END_TEST

START_TEST(test_cache_deny_writes)
{
    spring_cache_obj_t c = tp_cache(fix.tp);
    write_byte(fix.as, A0, 0x21);
    ck_assert_uint_eq(read_byte(fix.as, A0 + PS), tp_pattern(PS)); /* read-write (exclusive), clean */
    size_t page_ins = tp_count(fix.tp, TP_PAGE_IN);
    spring_data_t *d = NULL;
    ck_assert_rc(spring_cache_deny_writes(c, 0, SPRING_SIZE_ALL, NULL, &d), 0);
    ck_assert_uint_eq(d->nblocks, 1);
    ck_assert_uint_eq(d->blocks[0].offset, 0);
    ck_assert_uint_eq(((const uint8_t *)d->blocks[0].bytes)[0], 0x21);
    spring_data_free(d);
    /* A read-only copy stays: reads need no pager call ... */
    ck_assert_uint_eq(read_byte(fix.as, A0), 0x21);
    ck_assert_uint_eq(test_as_stats(fix.as).resident, 2);
    ck_assert_uint_eq(tp_count(fix.tp, TP_PAGE_IN), page_ins);
    /* ... a write asks the pager for write access again. */
    write_byte(fix.as, A0 + 1, 0x22);
    ck_assert_uint_eq(tp_count(fix.tp, TP_PAGE_IN), page_ins + 1);
    tp_call_t last = tp_call(fix.tp, tp_ncalls(fix.tp) - 1);
    ck_assert_int_eq(last.kind, TP_PAGE_IN);
    ck_assert(last.upgrade);
    ck_assert_int_eq(last.access, SPRING_RIGHTS_RW);
    ck_assert_uint_eq(read_byte(fix.as, A0), 0x21);
    /* Nothing modified in page 1: nothing returned. */
    ck_assert_rc(spring_cache_deny_writes(c, PS, PS, NULL, &d), 0);
    ck_assert_uint_eq(d->nblocks, 0);
    spring_data_free(d);
}
END_TEST

START_TEST(test_cache_write_back)
{
    spring_cache_obj_t c = tp_cache(fix.tp);
    write_byte(fix.as, A0 + 3 * PS, 0x41);
    size_t page_ins = tp_count(fix.tp, TP_PAGE_IN);
    spring_data_t *d = NULL;
    spring_ownership_t own = SPRING_OWN_EXCLUSIVE;
    ck_assert_rc(spring_cache_write_back(c, 0, SPRING_SIZE_ALL, &own, &d), 0);
    ck_assert_int_eq(own, SPRING_OWN_EXCLUSIVE);
    ck_assert_uint_eq(d->nblocks, 1);
    ck_assert_uint_eq(d->blocks[0].offset, 3 * PS);
    ck_assert_uint_eq(((const uint8_t *)d->blocks[0].bytes)[0], 0x41);
    spring_data_free(d);
    /* Still cached read-write: a write needs no pager call. */
    ck_assert_uint_eq(read_byte(fix.as, A0 + 3 * PS), 0x41);
    ck_assert_rc(spring_cache_write_back(c, 0, SPRING_SIZE_ALL, NULL, &d), 0);
    ck_assert_uint_eq(d->nblocks, 0); /* clean since */
    spring_data_free(d);
    write_byte(fix.as, A0 + 3 * PS + 1, 0x42);
    ck_assert_uint_eq(tp_count(fix.tp, TP_PAGE_IN), page_ins);
    ck_assert_rc(spring_cache_write_back(c, 3 * PS, PS, NULL, &d), 0);
    ck_assert_uint_eq(d->nblocks, 1);
    ck_assert_uint_eq(((const uint8_t *)d->blocks[0].bytes)[1], 0x42);
    spring_data_free(d);
    ck_assert_rc(spring_cache_write_back(c, 0, SPRING_SIZE_ALL, NULL, NULL), 0); /* data may be NULL */
}
END_TEST

START_TEST(test_cache_delete_range)
{
    spring_cache_obj_t c = tp_cache(fix.tp);
    write_byte(fix.as, A0 + 2 * PS, 0x99);
    ck_assert_uint_eq(read_byte(fix.as, A0 + 4 * PS), tp_pattern(4 * PS));
    size_t page_ins = tp_count(fix.tp, TP_PAGE_IN);
    spring_ownership_t own = SPRING_OWN_SHARED;
    ck_assert_rc(spring_cache_delete_range(c, 2 * PS, PS, &own), 0);
    ck_assert_int_eq(own, SPRING_OWN_SHARED);
    ck_assert_uint_eq(test_as_stats(fix.as).resident, 1);
    /* The modification is gone; nothing was sent to the pager. */
    ck_assert_uint_eq(read_byte(fix.as, A0 + 2 * PS), tp_pattern(2 * PS));
    ck_assert_uint_eq(tp_count(fix.tp, TP_PAGE_IN), page_ins + 1);
    ck_assert_uint_eq(tp_count(fix.tp, TP_PAGE_OUT) + tp_count(fix.tp, TP_SYNC) + tp_count(fix.tp, TP_WRITE_OUT), 0);
    ck_assert_rc(spring_cache_delete_range(c, 0, SPRING_SIZE_ALL, NULL), 0);
    ck_assert_uint_eq(test_as_stats(fix.as).resident, 0);
}
END_TEST

START_TEST(test_cache_zero_fill)
{
    spring_cache_obj_t c = tp_cache(fix.tp);
    ck_assert_uint_eq(read_byte(fix.as, A0 + 3 * PS + 7), tp_pattern(3 * PS + 7));
    size_t page_ins = tp_count(fix.tp, TP_PAGE_IN);
    ck_assert_rc(spring_cache_zero_fill(c, 2 * PS, 2 * PS, NULL), 0);
    dirty_pool(fix.vmm);
    uint8_t buf[2 * PS];
    memset(buf, 0xff, sizeof buf);
    ck_assert_rc(spring_as_read(fix.as, A0 + 2 * PS, buf, sizeof buf), 0);
    for (size_t i = 0; i < sizeof buf; i++)
        ck_assert_uint_eq(buf[i], 0);
    ck_assert_uint_eq(tp_count(fix.tp, TP_PAGE_IN), page_ins); /* no pager call */
    /* Held read-write: a write needs no pager call either. */
    write_byte(fix.as, A0 + 2 * PS, 5);
    ck_assert_uint_eq(tp_count(fix.tp, TP_PAGE_IN), page_ins);
    ck_assert_uint_eq(read_byte(fix.as, A0 + 4 * PS), tp_pattern(4 * PS)); /* outside the range */
}
END_TEST

START_TEST(test_cache_populate)
{
    fix_t f;
    fix_init(&f, false, 2 * PS);
    spring_cache_obj_t c = tp_cache(f.tp);
    static uint8_t src[4 * PS];
    memset(src, 0x77, sizeof src);
    spring_data_block_t one[1] = {{4 * PS, 2 * PS, src}};
    const spring_data_t good = {1, one};
    const spring_off_t wrap = (spring_off_t)0 - 2 * PS;
    /* Data lists for the table. */
    spring_data_block_t gap[2] = {{4 * PS, PS, src}, {6 * PS, PS, src}};
    spring_data_block_t shrt[1] = {{4 * PS, PS, src}};
    spring_data_block_t lng[1] = {{4 * PS, 4 * PS, src}};
    spring_data_block_t shifted[1] = {{5 * PS, 2 * PS, src}};
    spring_data_block_t empty_first[2] = {{4 * PS, 0, src}, {4 * PS, 2 * PS, src}};
    spring_data_block_t half[2] = {{4 * PS, PS / 2, src}, {4 * PS + PS / 2, PS + PS / 2, src}};
    spring_data_block_t pages[2] = {{4 * PS, PS, src}, {5 * PS, PS, NULL}};
    spring_data_block_t at_ps[1] = {{PS, 2 * PS, src}};
    spring_data_block_t odd[1] = {{4 * PS, PS + 1, src}};
    spring_data_block_t wrapping[1] = {{wrap, 4 * PS, src}};
    const spring_data_t d_gap = {2, gap}, d_short = {1, shrt}, d_long = {1, lng}, d_shifted = {1, shifted},
                        d_empty_first = {2, empty_first}, d_half = {2, half}, d_null_blocks = {1, NULL},
                        d_none = {0, NULL}, d_at_ps = {1, at_ps}, d_odd = {1, odd}, d_wrapping = {1, wrapping};
    const struct {
        spring_off_t off, size;
        int access, own;
        const spring_data_t *data;
        int want;
    } t[] = {
        {4 * PS, 2 * PS, 7, 0, &good, SPRING_EINVAL},   /* only RO or RW */
        {4 * PS, 2 * PS, 5, 0, &good, SPRING_EINVAL},
        {4 * PS, 2 * PS, 2, 0, &good, SPRING_EINVAL},
        {4 * PS, 2 * PS, 4, 0, &good, SPRING_EINVAL},
        {4 * PS, 2 * PS, 0, 0, &good, SPRING_EINVAL},
        {4 * PS, 2 * PS, 8, 0, &good, SPRING_EINVAL},
        {4 * PS, 2 * PS, 1, 3, &good, SPRING_EINVAL},   /* not an ownership state */
        {4 * PS, 2 * PS, 1, -2, &good, SPRING_EINVAL},
        {4 * PS, SPRING_SIZE_ALL, 1, 0, &good, SPRING_EINVAL},
        {4 * PS, 2 * PS, 1, 0, NULL, SPRING_EINVAL},
        {4 * PS, 2 * PS, 1, 0, &d_gap, SPRING_EINVAL},
        {4 * PS, 2 * PS, 1, 0, &d_short, SPRING_EINVAL},
        {4 * PS, 2 * PS, 1, 0, &d_long, SPRING_EINVAL},
        {4 * PS, 2 * PS, 1, 0, &d_shifted, SPRING_EINVAL},
        {4 * PS, 2 * PS, 1, 0, &d_empty_first, SPRING_EINVAL},
        {4 * PS, 2 * PS, 1, 0, &d_half, SPRING_EINVAL},  /* not in page pieces */
        {4 * PS, 2 * PS, 1, 0, &d_null_blocks, SPRING_EINVAL},
        {4 * PS, 2 * PS, 1, 0, &d_none, SPRING_EINVAL},
        {PS, 2 * PS, 1, 0, &d_at_ps, SPRING_EALIGN},     /* page aligned, not block aligned */
        {4 * PS, PS + 1, 1, 0, &d_odd, SPRING_EALIGN},
        {wrap, 4 * PS, 1, 0, &d_wrapping, SPRING_ERANGE}, /* offset+size overflows */
    };
    size_t ncalls = tp_ncalls(f.tp);
    size_t resident = test_as_stats(f.as).resident;
    for (size_t i = 0; i < NELEM(t); i++) {
        spring_ownership_t own = (spring_ownership_t)t[i].own;
        CASE_RC(i, spring_cache_populate(c, t[i].off, t[i].size, (spring_rights_t)t[i].access, &own, t[i].data),
                t[i].want);
        ck_assert_uint_eq(test_as_stats(f.as).resident, resident);
    }
    uint64_t bad[16];
    size_t n = forgeries(c.h, bad);
    bad[n++] = tp_rights(f.tp).h;
    for (size_t i = 0; i < n; i++)
        CASE_RC(i, spring_cache_populate((spring_cache_obj_t){bad[i]}, 4 * PS, 2 * PS, SPRING_RIGHTS_RO, NULL,
                                         &good),
                SPRING_EBADHANDLE);
    ck_assert_uint_eq(tp_ncalls(f.tp), ncalls);
    CHECK_VMM(f.vmm);

    /* Legal: read-only data is read without the pager; a write upgrades it. */
    spring_ownership_t own = SPRING_OWN_SHARED;
    ck_assert_rc(spring_cache_populate(c, 4 * PS, 2 * PS, SPRING_RIGHTS_RO, &own, &good), 0);
    ck_assert_int_eq(own, SPRING_OWN_SHARED);
    ck_assert_uint_eq(read_byte(f.as, A0 + 5 * PS + 9), 0x77);
    ck_assert_uint_eq(tp_ncalls(f.tp), ncalls);
    write_byte(f.as, A0 + 4 * PS, 0x78);
    tp_call_t last = tp_call(f.tp, tp_ncalls(f.tp) - 1);
    ck_assert_int_eq(last.kind, TP_PAGE_IN);
    ck_assert(last.upgrade);
    ck_assert_uint_eq(read_byte(f.as, A0 + 4 * PS), 0x78);
    /* Read-write data with a zero page: no pager call at all; replaces. */
    const spring_data_t d_pages = {2, pages};
    ncalls = tp_ncalls(f.tp);
    ck_assert_rc(spring_cache_populate(c, 4 * PS, 2 * PS, SPRING_RIGHTS_RW, NULL, &d_pages), 0);
    ck_assert_uint_eq(read_byte(f.as, A0 + 4 * PS), 0x77);
    ck_assert_uint_eq(read_byte(f.as, A0 + 5 * PS + 100), 0);
    write_byte(f.as, A0 + 5 * PS, 1);
    ck_assert_uint_eq(tp_ncalls(f.tp), ncalls);

    /* A cache whose maximum rights lack write: no read-write data, no zero fill. */
    spager_t sp = {.fill = 3};
    spring_cache_obj_t roc;
    spring_cache_rights_t ror;
    sp_cache(vmm_obj(f.vmm, SPRING_PRIV_USER), &sp, SPRING_RIGHTS_RX, &roc, &ror);
    spring_data_block_t b1[1] = {{0, PS, src}};
    const spring_data_t d1 = {1, b1};
    ck_assert_rc(spring_cache_populate(roc, 0, PS, SPRING_RIGHTS_RW, NULL, &d1), SPRING_ERIGHTS);
    ck_assert_rc(spring_cache_zero_fill(roc, 0, PS, NULL), SPRING_ERIGHTS);
    ck_assert_rc(spring_cache_populate(roc, 0, PS, SPRING_RIGHTS_RO, NULL, &d1), 0);
    cmobj_t cm = {.bind_rights = ror};
    spring_mobj_t *m = cm_new(&cm, &cm_ops);
    map_at(f.as, m, 0, PS, AFREE, SPRING_RIGHTS_RX);
    ck_assert_uint_eq(read_byte(f.as, AFREE), 0x77);
    ck_assert_int_eq(sp.page_ins, 0);
    ck_assert_rc(spring_as_unmap(f.as, AFREE, PS), 0);
    spring_mobj_unref(m);
    ck_assert_rc(spring_cache_destroy(roc), 0);
    fix_fini(&f);
}
END_TEST

START_TEST(test_cache_destroy)
{
    spring_cache_obj_t c = tp_cache(fix.tp);
    spring_cache_rights_t r = tp_rights(fix.tp);
    ck_assert_uint_eq(read_byte(fix.as, A0), tp_pattern(0));
    ck_assert_uint_eq(read_byte(fix.as, A1), tp_pattern(8 * PS));
    /* Illegal handles destroy nothing. */
    uint64_t bad[16];
    size_t n = forgeries(c.h, bad);
    bad[n++] = r.h;
    bad[n++] = vmm_obj(fix.vmm, SPRING_PRIV_SYSTEM).h;
    for (size_t i = 0; i < n; i++)
        CASE_RC(i, spring_cache_destroy((spring_cache_obj_t){bad[i]}), SPRING_EBADHANDLE);
    ck_assert_uint_eq(tp_count(fix.tp, TP_DONE_WITH_POBJ), 0);
    ck_assert_uint_eq(read_byte(fix.as, A0 + 1), tp_pattern(1));
    size_t ncaches = test_vm_info(fix.vmm).ncaches;

    ck_assert_rc(spring_cache_destroy(c), 0);
    ck_assert_uint_eq(tp_count(fix.tp, TP_DONE_WITH_POBJ), 1);
    ck_assert_uint_eq(test_vm_info(fix.vmm).ncaches, ncaches - 1);
    /* Every call on its handles: EBADHANDLE. */
    for (int op = 0; op < C_NOPS; op++) {
        int rc = cache_call((enum cop)op, c, 0, SPRING_SIZE_ALL, NULL);
        ck_assert_msg(rc == SPRING_EBADHANDLE, "%s: %s", cop_name[op], spring_err_name(rc));
    }
    static uint8_t page[PS];
    spring_data_block_t b[1] = {{0, PS, page}};
    const spring_data_t d = {1, b};
    ck_assert_rc(spring_cache_populate(c, 0, PS, SPRING_RIGHTS_RO, NULL, &d), SPRING_EBADHANDLE);
    ck_assert_rc(spring_cache_destroy(c), SPRING_EBADHANDLE);
    spring_rights_t got;
    spring_cache_rights_t sib;
    ck_assert_rc(spring_cache_rights_get(r, &got), SPRING_EBADHANDLE);
    ck_assert_rc(spring_cache_rights_create_restricted_sibling(r, SPRING_RIGHTS_RO, &sib), SPRING_EBADHANDLE);
    ck_assert_rc(spring_cache_rights_release(r), SPRING_EBADHANDLE);
    /* The regions stay, and fault with EDESTROYED. */
    snap_t s;
    snap_take(fix.as, &s);
    ck_assert_uint_eq(s.n, 2);
    uint8_t v;
    void *p;
    spring_pin_t pin = {0};
    const struct {
        spring_addr_t a;
        int how; /* 0 read, 1 write, 2 fault R, 3 fault W, 4 translate */
    } t[] = {{A0, 0}, {A0 + PS, 1}, {A0 + 2 * PS, 2}, {A0 + 3 * PS, 3}, {A0 + 4 * PS, 4}, {A1, 0}, {A1, 2}};
    for (size_t i = 0; i < NELEM(t); i++) {
        int rc;
        switch (t[i].how) {
        case 0: rc = spring_as_read(fix.as, t[i].a, &v, 1); break;
        case 1: rc = spring_as_write(fix.as, t[i].a, &v, 1); break;
        case 2: rc = spring_as_fault(fix.as, t[i].a, SPRING_RIGHTS_R); break;
        case 3: rc = spring_as_fault(fix.as, t[i].a, SPRING_RIGHTS_W); break;
        default: rc = spring_as_translate(fix.as, t[i].a, SPRING_RIGHTS_R, &p, &pin); break;
        }
        CASE_RC(i, rc, SPRING_EDESTROYED);
    }
    snap_check(fix.as, &s, __func__, 0);
    CHECK_VMM(fix.vmm);
    /* Unmapping works; mapping again binds a new cache. */
    ck_assert_rc(spring_as_unmap(fix.as, A0, 8 * PS), 0);
    map_at(fix.as, fix.rw, 0, 8 * PS, A0, SPRING_RIGHTS_RW);
    ck_assert_uint_eq(read_byte(fix.as, A0 + 6), tp_pattern(6));
    ck_assert_uint_ne(tp_cache(fix.tp).h, c.h);
    ck_assert_rc(spring_as_read(fix.as, A1, &v, 1), SPRING_EDESTROYED); /* still the old cache */
}
END_TEST

START_TEST(test_cache_rights)
{
    spring_cache_obj_t c = tp_cache(fix.tp);
    spring_cache_rights_t all = tp_rights(fix.tp), ro, rw, stale;
    spring_rights_t got;
    ck_assert_rc(spring_cache_rights_get(all, &got), 0);
    ck_assert_int_eq(got, SPRING_RIGHTS_RWX);
    ck_assert_rc(spring_cache_rights_create_restricted_sibling(all, SPRING_RIGHTS_RO, &ro), 0);
    ck_assert_rc(spring_cache_rights_create_restricted_sibling(all, SPRING_RIGHTS_RW, &rw), 0);
    ck_assert_rc(spring_cache_rights_create_restricted_sibling(all, SPRING_RIGHTS_RO, &stale), 0);
    ck_assert_rc(spring_cache_rights_release(stale), 0);

    /* get */
    static spring_rights_t sink;
    const struct {
        uint64_t h;
        spring_rights_t *out;
        int want;
    } g[] = {
        {all.h, NULL, SPRING_EINVAL},
        {FORGED, &sink, SPRING_EBADHANDLE},
        {0, &sink, SPRING_EBADHANDLE},
        {c.h, &sink, SPRING_EBADHANDLE},     /* a cache handle where a cache-rights is expected */
        {stale.h, &sink, SPRING_EBADHANDLE}, /* released */
        {vmm_obj(fix.vmm, SPRING_PRIV_USER).h, &sink, SPRING_EBADHANDLE},
        {all.h ^ ((uint64_t)1 << 40), &sink, SPRING_EBADHANDLE},
    };
    for (size_t i = 0; i < NELEM(g); i++)
        CASE_RC(i, spring_cache_rights_get((spring_cache_rights_t){g[i].h}, g[i].out), g[i].want);

    /* create_restricted_sibling */
    static spring_cache_rights_t out;
    const struct {
        uint64_t h;
        int subset;
        spring_cache_rights_t *out;
        int want;
    } s[] = {
        {ro.h, SPRING_RIGHTS_RW, &out, SPRING_ERIGHTS},  /* widening */
        {ro.h, SPRING_RIGHTS_RX, &out, SPRING_ERIGHTS},
        {ro.h, SPRING_RIGHTS_RWX, &out, SPRING_ERIGHTS},
        {rw.h, SPRING_RIGHTS_RX, &out, SPRING_ERIGHTS},
        {rw.h, SPRING_RIGHTS_RWX, &out, SPRING_ERIGHTS},
        {all.h, SPRING_RIGHTS_W, &out, SPRING_EINVAL},   /* write-only */
        {all.h, SPRING_RIGHTS_X, &out, SPRING_EINVAL},   /* execute-only */
        {all.h, SPRING_RIGHTS_NONE, &out, SPRING_EINVAL},
        {all.h, 6, &out, SPRING_EINVAL},
        {all.h, 8, &out, SPRING_EINVAL},
        {all.h, SPRING_RIGHTS_RO, NULL, SPRING_EINVAL},
        {FORGED, SPRING_RIGHTS_RO, &out, SPRING_EBADHANDLE},
        {0, SPRING_RIGHTS_RO, &out, SPRING_EBADHANDLE},
        {c.h, SPRING_RIGHTS_RO, &out, SPRING_EBADHANDLE},
        {stale.h, SPRING_RIGHTS_RO, &out, SPRING_EBADHANDLE},
    };
    for (size_t i = 0; i < NELEM(s); i++)
        CASE_RC(i, spring_cache_rights_create_restricted_sibling((spring_cache_rights_t){s[i].h},
                                                                 (spring_rights_t)s[i].subset, s[i].out),
                s[i].want);
    /* Legal: every subset. */
    static const struct {
        int held, subset;
    } ok[] = {{7, 1}, {7, 3}, {7, 5}, {7, 7}, {3, 1}, {3, 3}, {1, 1}, {5, 1}, {5, 5}};
    for (size_t i = 0; i < NELEM(ok); i++) {
        spring_cache_rights_t held, sib;
        ck_assert_rc(spring_cache_rights_create_restricted_sibling(all, (spring_rights_t)ok[i].held, &held), 0);
        ck_assert_rc(spring_cache_rights_create_restricted_sibling(held, (spring_rights_t)ok[i].subset, &sib), 0);
        ck_assert_uint_ne(sib.h, held.h);
        ck_assert_rc(spring_cache_rights_get(sib, &got), 0);
        ck_assert_msg(got == (spring_rights_t)ok[i].subset, "case %zu: rights %d", i, got);
        ck_assert_rc(spring_cache_rights_release(held), 0);
        ck_assert_rc(spring_cache_rights_get(sib, &got), 0); /* siblings are independent */
        ck_assert_rc(spring_cache_rights_release(sib), 0);
    }

    /* release */
    const uint64_t rel[] = {FORGED, 0, c.h, stale.h, vmm_obj(fix.vmm, SPRING_PRIV_USER).h};
    for (size_t i = 0; i < NELEM(rel); i++)
        CASE_RC(i, spring_cache_rights_release((spring_cache_rights_t){rel[i]}), SPRING_EBADHANDLE);
    ck_assert_rc(spring_cache_rights_release(ro), 0);
    ck_assert_rc(spring_cache_rights_release(ro), SPRING_EBADHANDLE);
    ck_assert_rc(spring_cache_rights_get(ro, &got), SPRING_EBADHANDLE);
    /* The cache is not affected. */
    ck_assert_rc(spring_cache_rights_get(rw, &got), 0);
    ck_assert_int_eq(got, SPRING_RIGHTS_RW);
    ck_assert_uint_eq(read_byte(fix.as, A0 + 9), tp_pattern(9));
    ck_assert_rc(spring_cache_write_back(c, 0, SPRING_SIZE_ALL, NULL, NULL), 0);
    ck_assert_rc(spring_cache_rights_release(rw), 0);
}
END_TEST

void api_cache(Suite *s)
{
    TCase *t = tcase_create("cache");
    tcase_add_checked_fixture(t, fix_setup, fix_teardown);
    tcase_add_test(t, test_cache_flush_back);
    tcase_add_test(t, test_cache_deny_writes);
    tcase_add_test(t, test_cache_write_back);
    tcase_add_test(t, test_cache_delete_range);
    tcase_add_test(t, test_cache_zero_fill);
    tcase_add_test(t, test_cache_destroy);
    tcase_add_test(t, test_cache_rights);
    suite_add_tcase(s, t);
    /* The tests that make their own set-up. */
    t = tcase_create("cache");
    tcase_add_test(t, test_cache_range_illegal);
    tcase_add_test(t, test_cache_populate);
    suite_add_tcase(s, t);
}
