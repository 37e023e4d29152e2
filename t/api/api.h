/*
 * api.h - what the feature files of t/check_api share: the constants, the
 * fixture (also as Check's checked fixture) and small helpers
 * (helpers.c), a simple pager object, a configurable memory object and a
 * swap pager (pagers.c), and each feature's function adding its TCase(s)
 * to the suite (check_api.c lists them).  Helpers one feature uses stay
 * static in its file.
 *
 * The files are compiled twice: over the soft HAT (t/check_api) and over
 * the recording HAT (t/check_api_rechat, TEST_RECORDING_HAT=1).  Only the
 * public headers and t/testlib.h are used; a feature that needs a test
 * hook includes libvm/testing/testhooks.h itself.
 */
#ifndef SPRING_T_API_H
#define SPRING_T_API_H

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"

#ifndef TEST_RECORDING_HAT
#define TEST_RECORDING_HAT 0
#endif

#define PS 4096

/* ------------------------------------------------------------------ */
/* The features (one file each, named as the TCase they add).           */

void api_common(Suite *s);
void api_hat(Suite *s);
void api_pager(Suite *s);
void api_vmm(Suite *s);
void api_registry(Suite *s);
void api_cache(Suite *s);
void api_as(Suite *s);
void api_paths(Suite *s);

/* ------------------------------------------------------------------ */
/* Constants and helpers (helpers.c).                                   */

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* The default address-space limit (spring_as_options_init). */
#define SPACE_LIMIT ((spring_addr_t)1 << 47)
/* Fixture addresses: A0 maps 8 pages of a read-write object read-write,
 * A1 maps 4 pages of a read-only object read-only, AFREE is never mapped. */
#define A0 ((spring_addr_t)0x100000)
#define A1 ((spring_addr_t)0x200000)
#define AFREE ((spring_addr_t)0x400000)

/* A forged handle value; 0 is never issued either. */
#define FORGED 0x5eed5eed5eed5eedULL

/* Fail a table case with its index and the error names. */
#define CASE_RC(i, got, want)                                                                    \
    do {                                                                                         \
        int g_ = (got), w_ = (want);                                                             \
        ck_assert_msg(g_ == w_, "%s: case %zu: got %s, want %s", __func__, (size_t)(i),          \
                      spring_err_name(g_), spring_err_name(w_));                                  \
    } while (0)

/* Handle values that are forged relative to a real one, stored in out
 * (7 today; callers leave room for 16): random, the extremes, the right
 * index with a wrong check value, a neighbour.  Answers how many. */
size_t forgeries(uint64_t real, uint64_t *out);
/* Map [off, off+len) of m at addr exactly (the test fails otherwise). */
void map_at(spring_as_t *as, spring_mobj_t *m, spring_off_t off, spring_off_t len, spring_addr_t addr,
            spring_rights_t access);
/* The VMM's object of privilege priv. */
spring_vmm_obj_t vmm_obj(spring_vmm_t *vmm, spring_privilege_t priv);
/* Read and write one byte (the test fails if the access does). */
uint8_t read_byte(spring_as_t *as, spring_addr_t a);
void write_byte(spring_as_t *as, spring_addr_t a, uint8_t v);

/* A snapshot of every mapping of an address space with the default bounds.
 * The memory object pointers are kept for comparison only. */
#define SNAP_MAX 16
typedef struct snap {
    size_t n;
    spring_mapping_t m[SNAP_MAX];
} snap_t;
void snap_take(spring_as_t *as, snap_t *s);
/* Fail unless the mappings are those of the snapshot (fn and i name the
 * table case). */
void snap_check(spring_as_t *as, const snap_t *want, const char *fn, size_t i);

/*
 * The fixture: a VMM "api" (64 frames) registered in a registry, an
 * address space, a test pager of 16 patterned pages with the given block
 * size, a read-write and a read-only memory object of it, the first mapped
 * read-write at A0 (object offset 0, 8 pages), the second read-only at A1
 * (object offset 8 pages, 4 pages).
 */
typedef struct fix {
    spring_registry_t *reg;
    spring_vmm_t *vmm;
    spring_as_t *as;
    tpager_t *tp;
    spring_mobj_t *rw, *ro;
} fix_t;
void fix_init(fix_t *f, bool privileged, spring_off_t block_size);
/* Check the VMM, then tear the fixture down. */
void fix_fini(fix_t *f);

/*
 * The checked fixture (tcase_add_checked_fixture): Check runs fix_setup
 * (fix_init(&fix, false, 0)) before each test of the TCase, in the test's
 * own process, and fix_teardown (fix_fini(&fix)) after the test returns;
 * a failed assertion in either fails the test.  Tests that start from it
 * work on fix.  A feature where only some tests start from it adds them to
 * a TCase with it and the others to a second TCase of the same name (Check
 * runs both under that name, CK_RUN_CASE included).  The tear-down runs
 * after the test's frame is gone: a test leaves nothing of the fixture
 * pointing into it.
 */
extern fix_t fix;
void fix_setup(void);
void fix_teardown(void);

/* ------------------------------------------------------------------ */
/* Pager objects, memory objects, swap pagers (pagers.c).               */

/* A simple pager object (sp_ops; self is a spager_t): fills pages with
 * one byte and counts calls. */
typedef struct spager {
    uint8_t fill;
    int page_ins, page_outs, done_cache, done_pobj;
} spager_t;
extern const spring_pager_ops_t sp_ops;
/* Its slots, for variants of sp_ops. */
int sp_page_in(void *self, spring_off_t off, spring_off_t size, spring_rights_t access, spring_ownership_t *own,
               spring_page_buf_t *dst);
int sp_page_out(void *self, spring_off_t off, spring_off_t size, spring_ownership_t *own, const spring_data_t *data);
void sp_done_with_pager_object(void *self);
/* A cache of a simple pager, kept when unattached. */
void sp_cache(spring_vmm_obj_t vobj, spager_t *sp, spring_rights_t max, spring_cache_obj_t *c,
              spring_cache_rights_t *r);

/* A configurable memory object (cm_ops; self is a cmobj_t). */
typedef struct cmobj cmobj_t;
struct cmobj {
    int releases;
    int get_rc;                      /* get_length's answer */
    spring_off_t length;
    int set_rc, set_calls;           /* set_length's answer */
    spring_off_t set_to;
    spring_cache_rights_t bind_rights; /* what bind hands the VMM (forged: final_bind follows) */
    int bind_rc;
    long bind_flags;
    spring_off_t bind_extra_len;     /* added to the length asked for */
    spring_off_t bind_coff;          /* added to the cache offset */
    int bind_calls, final_bind_calls;
    int final_bind_rc;
    /* Run inside final_bind, with the key. */
    void (*in_final_bind)(cmobj_t *m, spring_bind_key_t key, spring_off_t off, spring_off_t len);
    spring_bind_key_t key;           /* the last key received */
};
extern const spring_mobj_ops_t cm_ops;
/* Its slots, for variants of cm_ops. */
int cm_bind(void *self, const char *vmm_name, spring_rights_t access, spring_off_t off, spring_off_t *length,
            spring_cache_rights_t *rights, spring_off_t *cache_off, long *flags);
int cm_final_bind(void *self, spring_bind_key_t key, const char *vmm_name, spring_rights_t access, spring_off_t off,
                  spring_off_t len, long *flags);
void cm_release(void *self);
/* A memory object of m with the given ops. */
spring_mobj_t *cm_new(cmobj_t *m, const spring_mobj_ops_t *ops);

/* A swap pager handing out test-pager objects (cs_ops; self is a
 * cswap_t), and variants: version 0, version 99, no create_mobj. */
typedef struct cswap {
    spring_registry_t *reg;
    const char *vmm_name;
    int rc;                /* answer every create_mobj with this (0 = create) */
    int creates, releases;
    tpager_t *tp[8];
    size_t ntp;
} cswap_t;
extern const spring_swap_pager_ops_t cs_ops, cs_ops_v0, cs_ops_v99, cs_ops_no_create;
/* Free the test pagers (after every object they made was released). */
void cs_free(cswap_t *cs);

#endif
