/*
 * common.c - common.h and error.h: error names and values, rights, data
 * lists.
 */
#include "api.h"

START_TEST(test_error_names)
{
    ck_assert_str_eq(spring_err_name(0), "SPRING_OK");
    ck_assert_str_eq(spring_err_name(SPRING_EINVAL), "SPRING_EINVAL");
    ck_assert_str_eq(spring_err_name(SPRING_EBADHANDLE), "SPRING_EBADHANDLE");
    ck_assert_str_eq(spring_err_name(SPRING_EOVERFLOW), "SPRING_EOVERFLOW");
    ck_assert_str_eq(spring_err_name(12345), "SPRING_EUNKNOWN");
    ck_assert_str_eq(spring_err_name(SPRING__ERR_MIN), "SPRING_EUNKNOWN");
    ck_assert_str_eq(spring_strerror(0), "success");
    ck_assert_str_eq(spring_strerror(SPRING_ENOMEM), "out of host memory");
    ck_assert_str_eq(spring_strerror(-9999), "unknown error");
    /* Every code has a distinct name and a message. */
    for (int e = -1; e > SPRING__ERR_MIN; e--) {
        ck_assert_str_ne(spring_err_name(e), "SPRING_EUNKNOWN");
        ck_assert_str_ne(spring_strerror(e), "unknown error");
        for (int f = e - 1; f > SPRING__ERR_MIN; f--)
            ck_assert_str_ne(spring_err_name(e), spring_err_name(f));
    }
}
END_TEST

START_TEST(test_error_values)
{
    /* The values are part of the interface (error.h: stable across releases). */
    static const struct {
        int code;
        const char *name;
        const char *msg;
    } t[] = {
        {SPRING_EINVAL, "SPRING_EINVAL", "invalid argument"},
        {SPRING_EALIGN, "SPRING_EALIGN", "address, offset or length is not aligned"},
        {SPRING_ERANGE, "SPRING_ERANGE", "range lies outside the address space or object"},
        {SPRING_EEXIST, "SPRING_EEXIST", "range overlaps an existing mapping"},
        {SPRING_ENOTMAPPED, "SPRING_ENOTMAPPED", "address is not mapped"},
        {SPRING_ERIGHTS, "SPRING_ERIGHTS", "requested rights exceed the rights held"},
        {SPRING_EBADHANDLE, "SPRING_EBADHANDLE", "handle is forged, stale, of the wrong type or foreign"},
        {SPRING_EDESTROYED, "SPRING_EDESTROYED", "object has been destroyed"},
        {SPRING_EPERM, "SPRING_EPERM", "operation requires privilege"},
        {SPRING_EVERSION, "SPRING_EVERSION", "interface version not supported"},
        {SPRING_ENOSWAP, "SPRING_ENOSWAP", "no swap pager is available"},
    };
    for (size_t i = 0; i < NELEM(t); i++) {
        ck_assert_msg(strcmp(spring_err_name(t[i].code), t[i].name) == 0, "case %zu: %s", i,
                      spring_err_name(t[i].code));
        ck_assert_msg(strcmp(spring_strerror(t[i].code), t[i].msg) == 0, "case %zu: %s", i,
                      spring_strerror(t[i].code));
    }
    ck_assert_int_eq(SPRING_EINVAL, -1);
    ck_assert_int_eq(SPRING_EOVERFLOW, -23);
    ck_assert_int_eq(SPRING_ENOKEEP, -24);
    ck_assert_int_eq(SPRING_EQUIESCE, -25);
    ck_assert_str_eq(spring_err_name(1), "SPRING_EUNKNOWN");
    ck_assert_str_eq(spring_strerror(INT32_MIN), "unknown error");
}
END_TEST

START_TEST(test_rights)
{
    ck_assert(spring_rights_valid(SPRING_RIGHTS_RO));
    ck_assert(spring_rights_valid(SPRING_RIGHTS_RX));
    ck_assert(spring_rights_valid(SPRING_RIGHTS_RW));
    ck_assert(spring_rights_valid(SPRING_RIGHTS_RWX));
    ck_assert(!spring_rights_valid(SPRING_RIGHTS_NONE));
    ck_assert(!spring_rights_valid(SPRING_RIGHTS_W));
    ck_assert(!spring_rights_valid(SPRING_RIGHTS_X));
    ck_assert(!spring_rights_valid((spring_rights_t)8));
    ck_assert(spring_rights_subset(SPRING_RIGHTS_RO, SPRING_RIGHTS_RW));
    ck_assert(!spring_rights_subset(SPRING_RIGHTS_RWX, SPRING_RIGHTS_RW));
    ck_assert(!spring_rights_subset(SPRING_RIGHTS_RX, SPRING_RIGHTS_RW));
    /* Exactly four of the values 0..15 are valid rights. */
    for (unsigned r = 0; r < 16; r++) {
        bool want = r == 1 || r == 3 || r == 5 || r == 7;
        ck_assert_msg(spring_rights_valid((spring_rights_t)r) == want, "rights %u", r);
    }
    /* subset(a, b) is bitwise inclusion, for every pair of bit sets. */
    for (unsigned a = 0; a < 8; a++)
        for (unsigned b = 0; b < 8; b++)
            ck_assert_msg(spring_rights_subset((spring_rights_t)a, (spring_rights_t)b) == ((a & ~b) == 0),
                          "subset(%u, %u)", a, b);
}
END_TEST

START_TEST(test_data_lists)
{
    spring_data_free(NULL); /* accepted */
    ck_assert_uint_eq(spring_data_length(NULL), 0);
    spring_data_t empty = {0, NULL};
    ck_assert_uint_eq(spring_data_length(&empty), 0);
    static uint8_t page[PS];
    spring_data_block_t b[3] = {{0, PS, page}, {PS, 2 * PS, NULL}, {3 * PS, PS, page}};
    spring_data_t d = {3, b};
    ck_assert_uint_eq(spring_data_length(&d), 4 * PS); /* zero ranges count */

    /* A list the VMM produces: modified pages, an all-zero one as an
     * indication; the caller frees it. */
    fix_t f;
    fix_init(&f, false, 0);
    write_byte(f.as, A0, 0xab);
    static const uint8_t zero[PS];
    ck_assert_rc(spring_as_write(f.as, A0 + PS, zero, PS), 0);
    spring_data_t *got = NULL;
    ck_assert_rc(spring_cache_flush_back(tp_cache(f.tp), 0, SPRING_SIZE_ALL, NULL, &got), 0);
    ck_assert_ptr_nonnull(got);
    ck_assert_uint_eq(spring_data_length(got), 2 * PS);
    ck_assert_uint_eq(got->nblocks, 2);
    ck_assert_uint_eq(got->blocks[0].offset, 0);
    ck_assert_ptr_nonnull(got->blocks[0].bytes);
    ck_assert_uint_eq(((const uint8_t *)got->blocks[0].bytes)[0], 0xab);
    ck_assert_uint_eq(((const uint8_t *)got->blocks[0].bytes)[1], tp_pattern(1));
    ck_assert_uint_eq(got->blocks[1].offset, PS);
    ck_assert_ptr_null(got->blocks[1].bytes);
    spring_data_free(got);
    fix_fini(&f);
}
END_TEST

void api_common(Suite *s)
{
    TCase *t = tcase_create("common");
    tcase_add_test(t, test_error_names);
    tcase_add_test(t, test_error_values);
    tcase_add_test(t, test_rights);
    tcase_add_test(t, test_data_lists);
    suite_add_tcase(s, t);
}
