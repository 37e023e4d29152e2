/*
 * check_api.c - the public API, function by function: legal uses and a
 * table of illegal ones with the exact error each gets.  Built twice: over
 * the soft HAT (t/check_api) and over the recording HAT
 * (t/check_api_rechat, TEST_RECORDING_HAT).
 *
 * One feature per file of t/api/, each adding the TCase of its name, about
 * one public header: common.c (common.h and error.h), hat.c, pager.c,
 * vmm.c (the VMM and the vmm object), registry.c (vmm.h's registry),
 * cache.c, as.c, and paths.c (one end-to-end path).  Each illegal call
 * that must leave state unchanged is followed by a check that it did.
 *
 * api/api.h has what they share (helpers.c, pagers.c); main is
 * t/testmain.c.  Only the public headers, t/testlib.h and
 * libvm/testing/testhooks.h (the test build's hooks) are used.
 */
#include "api/api.h"
#include "testmain.h"

Suite *test_suite(void)
{
    static void (*const features[])(Suite *) = {
        api_common, api_hat, api_pager, api_vmm, api_registry, api_cache, api_as, api_paths,
    };
#if TEST_RECORDING_HAT
    /* t/check_api_rechat: every test VMM uses the recording HAT. */
    test_hat_ops = rechat_ops();
#endif
    Suite *s = suite_create(TEST_RECORDING_HAT ? "api (recording HAT)" : "api (soft HAT)");
    for (size_t i = 0; i < sizeof features / sizeof features[0]; i++)
        features[i](s);
    return s;
}
