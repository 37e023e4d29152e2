/*
 * check_rtree.c - the region index (libvm/as/rtree.c) against a sorted array:
 * seeded random inserts (plain, and checked with rt_insert_if), removals
 * and in-place rekeys, with every lookup (rt_find_le, rt_find_gt,
 * rt_neighbours, rt_first), an in-order walk and the structure
 * check compared after each step.  The index is internal to the library, so
 * this test compiles it in directly.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../libvm/as/rtree.h"
#include "testmain.h"

#define NKEYS 2048

/* Check's assertions record their place on every call, which is slow in a
 * loop of millions: test first, and call it only to report a failure. */
#define EXPECT(cond, ...)                                                                                  \
    do {                                                                                                   \
        if (!(cond))                                                                                       \
            ck_abort_msg(__VA_ARGS__);                                                                     \
    } while (0) /* keys are multiples of 4 below 4 * NKEYS */

static uint64_t rng;
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* The reference: present[i] says whether key 4*i+bump[i] is in; vals are
 * the address of the slot, so a value tells its key. */
static bool present[NKEYS];
static uint64_t keyof[NKEYS];

static void *val(size_t i)
{
    return &present[i];
}

static size_t slot(const void *v)
{
    return (size_t)((const bool *)v - present);
}

/* The reference answers, by linear scan. */
static void *ref_le(uint64_t k)
{
    void *best = NULL;
    uint64_t bk = 0;
    for (size_t i = 0; i < NKEYS; i++)
        if (present[i] && keyof[i] <= k && (best == NULL || keyof[i] > bk)) {
            best = val(i);
            bk = keyof[i];
        }
    return best;
}

static void *ref_gt(uint64_t k)
{
    void *best = NULL;
    uint64_t bk = 0;
    for (size_t i = 0; i < NKEYS; i++)
        if (present[i] && keyof[i] > k && (best == NULL || keyof[i] < bk)) {
            best = val(i);
            bk = keyof[i];
        }
    return best;
}

static void compare(struct rtree *t, size_t n, unsigned step)
{
    const char *why = rt_check(t);
    EXPECT(why == NULL, "step %u: %s", step, why);
    EXPECT(t->n == n, "step %u: %zu entries, expected %zu", step, t->n, n);
    /* The walk visits every key once, in order. */
    size_t seen = 0;
    uint64_t last = 0;
    for (void *v = rt_first(t); v != NULL; v = rt_find_gt(t, keyof[slot(v)])) {
        size_t i = slot(v);
        EXPECT(present[i], "step %u: walk found a removed key", step);
        EXPECT(seen == 0 || keyof[i] > last, "step %u: walk out of order", step);
        last = keyof[i];
        seen++;
    }
    EXPECT(seen == n, "step %u: walk saw %zu of %zu", step, seen, n);
    /* Lookups at random points, at keys and next to them. */
    for (int j = 0; j < 16; j++) {
        uint64_t k = rnd() % (4 * NKEYS + 8);
        EXPECT(rt_find_le(t, k) == ref_le(k), "step %u: find_le(%llu) wrong", step, (unsigned long long)k);
        EXPECT(rt_find_gt(t, k) == ref_gt(k), "step %u: find_gt(%llu) wrong", step, (unsigned long long)k);
        void *le, *gt;
        rt_neighbours(t, k, &le, &gt);
        EXPECT(le == ref_le(k) && gt == ref_gt(k), "step %u: neighbours(%llu) wrong", step, (unsigned long long)k);
    }
    EXPECT(rt_find_le(t, UINT64_MAX) == ref_le(UINT64_MAX), "step %u: find_le(max) wrong", step);
    EXPECT(rt_find_gt(t, UINT64_MAX) == NULL, "step %u: find_gt(max) not NULL", step);
}

/* rt_insert_if's check: the neighbours it is shown must be the
 * reference's; it agrees to the insert or not as told. */
struct fit {
    uint64_t k;
    bool agree, called, right;
};

static bool fit_cb(void *le, void *gt, void *arg)
{
    struct fit *f = arg;
    f->called = true;
    f->right = le == ref_le(f->k) && gt == ref_gt(f->k);
    return f->agree;
}

static void run(uint64_t seed, unsigned steps, unsigned insert_pct)
{
    struct rtree t;
    rt_init(&t);
    rng = seed;
    memset(present, 0, sizeof present);
    for (size_t i = 0; i < NKEYS; i++)
        keyof[i] = 4 * (uint64_t)i;
    size_t n = 0;
    for (unsigned s = 0; s < steps; s++) {
        size_t i = rnd() % NKEYS;
        unsigned what = (unsigned)(rnd() % 100);
        if (!present[i] && what < insert_pct) {
            keyof[i] = 4 * (uint64_t)i; /* a fresh key starts at its slot's base */
            EXPECT(rt_reserve(&t) == 0, "step %u: no memory", s);
            if (what % 2 == 0) {
                rt_insert(&t, keyof[i], val(i));
            } else {
                /* The one-descent check-and-insert; now and then refused. */
                struct fit f = {keyof[i], what % 5 != 1, false, false};
                bool in = rt_insert_if(&t, keyof[i], val(i), fit_cb, &f);
                EXPECT(f.called && f.right, "step %u: insert_if showed the wrong neighbours", s);
                EXPECT(in == f.agree, "step %u: insert_if did not do as its check said", s);
                if (!in) {
                    compare(&t, n, s);
                    continue;
                }
            }
            present[i] = true;
            n++;
        } else if (present[i] && what % 3 == 0 && keyof[i] % 4 < 3) {
            /* Raise the key within its slot: the order is kept. */
            uint64_t nk = keyof[i] + 1;
            rt_rekey(&t, keyof[i], nk);
            keyof[i] = nk;
        } else if (present[i]) {
            rt_remove(&t, keyof[i]);
            present[i] = false;
            n--;
        }
        if (s % 13 == 0 || n < 64)
            compare(&t, n, s);
    }
    compare(&t, n, steps);
    rt_fini(&t);
}

START_TEST(test_rtree_grow_and_shrink)
{
    /* Mostly inserts, so the tree grows several levels; then mostly
     * removals, so nodes empty and the root gives way. */
    run(0x1234567ULL + (uint64_t)_i, 12000, 90);
    run(0x7654321ULL + (uint64_t)_i, 12000, 20);
}
END_TEST

START_TEST(test_rtree_empty)
{
    struct rtree t;
    rt_init(&t);
    ck_assert_ptr_null(rt_first(&t));
    ck_assert_ptr_null(rt_find_le(&t, 5));
    ck_assert_ptr_null(rt_find_gt(&t, 5));
    ck_assert_ptr_null(rt_check(&t));
    /* Removing an absent key changes nothing. */
    rt_remove(&t, 5);
    ck_assert_ptr_null(rt_check(&t));
    ck_assert_int_eq(rt_reserve(&t), 0);
    rt_insert(&t, 8, val(2));
    rt_remove(&t, 9);
    ck_assert_uint_eq(t.n, 1);
    ck_assert_ptr_eq(rt_find_gt(&t, 0), val(2));
    ck_assert_ptr_null(rt_find_gt(&t, 8));
    rt_remove(&t, 8);
    ck_assert_ptr_null(rt_first(&t));
    ck_assert_uint_eq(t.height, 0);
    rt_fini(&t);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("rtree");
    TCase *tc = tcase_create("index");
    tcase_add_test(tc, test_rtree_empty);
    tcase_add_loop_test(tc, test_rtree_grow_and_shrink, 0, 4);
    suite_add_tcase(s, tc);
    return s;
}
