/*
 * scen.h - what the feature files of t/check_scenarios share: the
 * constants, the checked fixture, the assertions on memory and on the
 * test pager's call log (helpers.c), small pagers of their own
 * (pagers.c), and each feature's function adding its TCase(s) to the
 * suite (check_scenarios.c lists them).  Helpers one feature uses stay
 * static in its file.
 *
 * Only the public headers and t/testlib.h are used; a feature that needs a
 * test hook includes libvm/testing/testhooks.h itself.
 */
#ifndef SPRING_T_SCEN_H
#define SPRING_T_SCEN_H

#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "testlib.h"

#define PS 4096
#define VMM_NAME "scen"
/* What a failing test pager answers. */
#define PAGER_ERR SPRING_EOVERFLOW /* any pager error but ENOSPC, which means "no space" (a full swap) */

/* Frame pressure: a pool of PN frames under PNP pages. */
enum { PN = 8, PNP = 3 * PN };

/* ------------------------------------------------------------------ */
/* The features (one file each, named as the TCase they add).           */

void scen_ownership(Suite *s);
void scen_once(Suite *s);
void scen_pressure(Suite *s);
void scen_pagercalls(Suite *s);
void scen_transit(Suite *s);
void scen_bind(Suite *s);
void scen_sharing(Suite *s);
void scen_lock(Suite *s);
void scen_events(Suite *s);
void scen_inject(Suite *s);
void scen_pagererrors(Suite *s);
void scen_blocks(Suite *s);
void scen_pins(Suite *s);
void scen_nosync(Suite *s);
void scen_lost(Suite *s);
void scen_twokind(Suite *s);
void scen_privilege(Suite *s);
void scen_anon(Suite *s);

/* ------------------------------------------------------------------ */
/* Set-up (helpers.c).                                                  */

/* An address space; limit 0 = the default. */
spring_as_t *as_new(spring_vmm_t *vmm, bool privileged, spring_addr_t limit);

/* The fixture (testlib.h) with a privileged address space and patterned
 * initial data. */
void fx_init(fx_t *f, size_t nframes, size_t npages, spring_off_t bs, spring_ownership_t own);

/*
 * The checked fixture (tcase_add_checked_fixture): Check runs the set-up
 * before each test of the TCase, in the test's own process, and the
 * tear-down after the test returns; a failed assertion in either fails
 * the test.  Tests that start from it work on fx.  A feature where only
 * some tests start from the same fixture adds them to a TCase with it and
 * the others to a second TCase of the same name (Check runs both under
 * that name, CK_RUN_CASE included).  The tear-down runs after the test's
 * frame is gone: a test leaves no hook or handler pointing into it.
 */
extern fx_t fx;
/* fx_init(&fx, 32, 4, 0, SPRING_OWN_EXCLUSIVE): 32 frames, 4 pages in
 * one-page blocks, nothing mapped yet. */
void fx_setup4(void);
/* The same with 8 pages. */
void fx_setup8(void);
/* Check the VMM, then tear fx down (fx_fini). */
void fx_teardown(void);

/* ------------------------------------------------------------------ */
/* Memory and the call log (helpers.c).                                 */

/* Write a whole page of byte v at a. */
int put_page(spring_as_t *as, spring_addr_t a, uint8_t v);
/* Whether the n bytes at p are all v. */
bool mem_is(const uint8_t *p, size_t n, uint8_t v);
/* Whether p holds the pattern of cache offsets [off, off+n). */
bool mem_is_pat(const uint8_t *p, size_t n, spring_off_t off);
/* Whether the page at a reads as all v. */
bool page_is(spring_as_t *as, spring_addr_t a, uint8_t v);
/* Whether the page at a reads as the pattern of cache offset off. */
bool page_is_pat(spring_as_t *as, spring_addr_t a, spring_off_t off);
/* Read and write one byte (the test fails if the access does). */
uint8_t rd1(spring_as_t *as, spring_addr_t a);
void wr1(spring_as_t *as, spring_addr_t a, uint8_t v);
/* Whether the pager's store holds n bytes of v at off. */
bool store_is(tpager_t *tp, spring_off_t off, size_t n, uint8_t v);

/* Calls of kind k at cache offset off in the log. */
size_t calls_at(tpager_t *tp, enum tp_kind k, spring_off_t off);
/* Pages carried by the calls of kind k (page_out, write_out, sync: one
 * call may carry a run of blocks, one data entry per page). */
size_t pages_of(tpager_t *tp, enum tp_kind k);
/* The last call of kind k. */
tp_call_t last_of(tpager_t *tp, enum tp_kind k);
/* Assert the call log is exactly the kinds given (n of them). */
void expect_log(tpager_t *tp, const enum tp_kind *k, size_t n);

/* Mappings of [a, a+len): up to 8 entries, copied to out (references dropped). */
size_t mappings(spring_as_t *as, spring_addr_t a, spring_off_t len, spring_mapping_t *out);
/* Whether the mappings of [a, a+len) say exactly [a, a+nlocked) is locked. */
bool locked_prefix(spring_as_t *as, spring_addr_t a, spring_off_t len, spring_off_t nlocked);

#define DZERO (-1) /* dblock_is: a zero indication */
#define DPAT 256   /* dblock_is: the pager's pattern */
/* Whether entry i of d is the page at off holding v (a byte, DZERO or DPAT). */
bool dblock_is(const spring_data_t *d, size_t i, spring_off_t off, int v);
/* Populate one page at off with byte v (v < 0: a zero indication). */
int populate1(spring_cache_obj_t c, spring_off_t off, spring_rights_t access, int v);

/* The pager-side cache calls by name (transit makes them from inside the
 * pager's calls, inject under host-memory failures). */
enum act_kind { A_FLUSH, A_DELETE, A_POPULATE_RO, A_POPULATE_RW, A_DESTROY, A_DENY, A_WRITEBACK, A_ZERO };

/* ------------------------------------------------------------------ */
/* Small pagers (pagers.c).                                             */

/* A minimal pager for caches the test creates itself (mini_ops; self is
 * a struct mini). */
struct mini {
    int done;     /* done_with_pager_object calls */
    int page_ins;
};
extern const spring_pager_ops_t mini_ops;

/* A swap pager made of test pagers (tswap_ops; self is a struct tswap):
 * each object is a fresh test pager (zero store) of the length asked for. */
struct tswap {
    spring_registry_t *reg;
    const char *vmm_name;
    tpager_t *tps[8];
    size_t n;
    int created;  /* create_mobj calls */
    int released; /* release calls */
    int fail_rc;  /* answer create_mobj with this */
};
extern const spring_swap_pager_ops_t tswap_ops;
/* Free the test pagers it made (after every object was released). */
void tswap_free(struct tswap *s);

/* A small pager over an 8-page store whose ops the test picks (with or
 * without write_out; never sync), with its own memory object (wmobj_ops;
 * self is the struct wpager). */
struct wpager {
    spring_vmm_t *vmm;
    const spring_pager_ops_t *ops;
    uint8_t store[8 * PS];
    bool has_cache;
    spring_cache_obj_t cache;
    spring_cache_rights_t rights;
    int page_ins, upgrades, page_outs, write_outs, done;
    uint8_t marker; /* the hostile variant: the byte it looks for ... */
    size_t seen;    /* ... and the lent pages it found holding it */
};
extern const spring_pager_ops_t wpager_write_out_ops; /* page_in, page_out, write_out */
extern const spring_pager_ops_t wpager_plain_ops;     /* page_in, page_out */
extern const spring_mobj_ops_t wmobj_ops;
/* Slots of the ops above, for a variant: page_out keeps the data in the
 * store; done_with_pager_object counts and forgets the cache. */
int w_page_out(void *self, spring_off_t off, spring_off_t size, spring_ownership_t *own, const spring_data_t *d);
void w_done(void *self);
/* A wpager mapped read-write at *a in a fresh VMM. */
struct wpager *wpager_setup(const spring_pager_ops_t *ops, spring_as_t **as, spring_mobj_t **m, spring_addr_t *a);
/* Check the VMM, tear it down, and check the pager was told once. */
void wpager_teardown(struct wpager *w, spring_as_t *as, spring_mobj_t *m);

#endif
