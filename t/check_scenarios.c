/*
 * check_scenarios.c - protocol scenarios, each asserting the exact pager
 * traffic the VMM generates and the data that moves.  One feature per
 * file of t/scenarios/, each adding the TCase of its name:
 *
 *   ownership   the §5.1 rule deciding the mode of a page_in
 *   once        two faults on one page cause one page_in (also concurrent)
 *   pressure    §6.1: clean frames are reused silently, dirty ones paged out once
 *   pagercalls  flush_back, deny_writes, write_back, delete_range, zero_fill,
 *               populate, destroy_cache and their data-return guarantees
 *   transit     pager calls made from inside page_in / page_out
 *   bind        the §7.5 race and invalid cache-rights going to final_bind
 *   sharing     two memory objects with different rights over one cache
 *   lock        lock_memory under frame pressure and its limits
 *   events      catch_as_events: fault and mapping events, resolving faults;
 *               SPRING_ANYWHERE placement
 *   inject      host-memory failure injection at every call site
 *   pagererrors pager errors at every call site
 *   blocks      block size larger than the page size
 *   pins        spring_as_translate's pins against the pager's calls
 *   nosync      pagers without sync: write_out, or neither
 *   lost        nothing lost, nothing stale: destroy and sync page out, kept
 *               blocks, data lists, batching, no foreign data, upgrades
 *   twokind     a block's identity moving between two caches
 *   privilege   a system pager's failed page-outs are retried
 *   anon        anonymous memory and swap pagers
 *
 * scenarios/scen.h has what they share (helpers.c, pagers.c); main is
 * t/testmain.c.  Only the public headers, t/testlib.h and
 * libvm/testing/testhooks.h (the test build's hooks) are used.
 */
#include "scenarios/scen.h"
#include "testmain.h"

Suite *test_suite(void)
{
    static void (*const features[])(Suite *) = {
        scen_ownership, scen_once,   scen_pressure, scen_pagercalls, scen_transit,     scen_bind,
        scen_sharing,   scen_lock,   scen_events,   scen_inject,     scen_pagererrors, scen_blocks,
        scen_pins,      scen_nosync, scen_lost,     scen_twokind,    scen_privilege,   scen_anon,
    };
    Suite *s = suite_create("scenarios");
    for (size_t i = 0; i < sizeof features / sizeof features[0]; i++)
        features[i](s);
    return s;
}
