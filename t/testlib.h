/*
 * testlib.h - helpers shared by the tests: a recording test pager, a
 * recording HAT, and VMM set-up.  Uses only the public interface.
 */
#ifndef SPRING_TESTLIB_H
#define SPRING_TESTLIB_H

#include <check.h>
#include <pthread.h>
#include <stdio.h>

#include <spring/spring.h>

/* ------------------------------------------------------------------ */
/* VMM set-up.                                                          */

/* Which HAT test VMMs use: NULL = the soft HAT, else the recording HAT. */
extern const spring_hat_ops_t *test_hat_ops;

/* A VMM named `name` with nframes 4 KiB frames, deterministic mode, the
 * test HAT, registered in a fresh registry (returned in *reg). */
spring_vmm_t *test_vmm(const char *name, size_t nframes, spring_registry_t **reg);
void test_vmm_free(spring_vmm_t *vmm, spring_registry_t *reg);

/* Make every frame on the VMM's free list hold non-zero data: fill them
 * all through a scratch anonymous mapping, then destroy it, so that the
 * frames return to the free list dirty.  Memory a test then expects to
 * read zero (allocate_memory, zero_fill, a pager's all-zero pages) is
 * zero because the VMM cleared it, not because the frame was never used.
 * test_vmm() does it for every VMM it makes; call it again before a zero
 * check that follows activity which may have left clean frames free.
 * Frames in use are not touched. */
void dirty_pool(spring_vmm_t *vmm);

/* ------------------------------------------------------------------ */
/* The recording test pager.                                            */

enum tp_kind {
    TP_PAGE_IN,
    TP_PAGE_OUT,
    TP_WRITE_OUT,
    TP_SYNC,
    TP_ZERO_FILL_RANGE,
    TP_DONE_WITH_CACHE,
    TP_DONE_WITH_POBJ,
    TP_BIND,
    TP_FINAL_BIND,
    TP_NKINDS
};

/* One recorded call. */
typedef struct tp_call {
    enum tp_kind kind;
    spring_off_t off, size;
    spring_rights_t access;   /* page_in: the mode asked for; bind: the access */
    spring_ownership_t own;   /* the ownership the VMM passed */
    bool upgrade;             /* page_in of a block held read-only */
    size_t data_blocks;       /* page_out/write_out/sync: data blocks */
    size_t zero_blocks;       /* ... of which all-zero indications */
    bool entries_ok;          /* ... each one page (4096 bytes) long, consecutive, covering [off, off+size) */
    int rc;                   /* the failure tp_fail injected into the call (0: it did its work) */
} tp_call_t;

typedef struct tpager tpager_t;

/* A hook run inside the pager's page_in/page_out (after the call is
 * recorded, before data moves), e.g. to call back into the cache. */
typedef void (*tp_hook_fn)(tpager_t *tp, enum tp_kind kind, spring_off_t off, void *arg);

/*
 * The test pager's initial backing store (tp_new with `pattern`): the byte
 * at object offset `off`.  A hash of the page number (off / 4096) and the
 * offset in the page (off % 4096), so that every page differs from every
 * other (an offset error of whole pages shows) and no page is all zero.
 * The one definition every test and helper uses.
 */
uint8_t tp_pattern(spring_off_t off);
/* Whether the n bytes at p are the pattern of object offsets [off, off+n). */
bool tp_is_pattern(const uint8_t *p, size_t n, spring_off_t off);

/*
 * A pager with `length` bytes of backing store (initially tp_pattern()
 * when `pattern`, else zero), caches with the given block size (0 = page),
 * maximum rights RWX, initial ownership `own`.  It looks up the VMM named
 * vmm_name in reg (credential may be NULL).  The cache is created on first
 * bind.
 */
tpager_t *tp_new(spring_registry_t *reg, const char *vmm_name, const char *credential, spring_off_t length,
                 spring_off_t block_size, spring_ownership_t own, bool pattern);
/* Destroy the pager's cache (if any) and free it, after all its memory
 * objects were released. */
void tp_free(tpager_t *tp);

/* A memory object of the pager whose maximum rights are `max`: bind hands
 * the VMM a cache-rights restricted to `max`.  One reference for the caller. */
spring_mobj_t *tp_mobj(tpager_t *tp, spring_rights_t max);

/* The backing store (length bytes); lock with tp_lock while reading it
 * concurrently with paging. */
uint8_t *tp_store(tpager_t *tp);
void tp_lock(tpager_t *tp);
void tp_unlock(tpager_t *tp);

/* The cache created by the pager (0 handle if none yet) and its rights. */
spring_cache_obj_t tp_cache(tpager_t *tp);
spring_cache_rights_t tp_rights(tpager_t *tp);

/* The call log. */
size_t tp_ncalls(tpager_t *tp);
tp_call_t tp_call(tpager_t *tp, size_t i);
size_t tp_count(tpager_t *tp, enum tp_kind kind);
void tp_clear(tpager_t *tp);
const char *tp_kind_name(enum tp_kind kind);

/* Make the next call of `kind` fail with rc (once), or every call when
 * `always`. */
void tp_fail(tpager_t *tp, enum tp_kind kind, int rc, bool always);
/* Set a hook for page_in/page_out. */
void tp_set_hook(tpager_t *tp, tp_hook_fn fn, void *arg);
/* Make bind return this cache-rights instead of the real one (0 = off). */
void tp_set_bind_rights(tpager_t *tp, spring_cache_rights_t r);
/* Make bind call this function just before it returns (e.g. to reclaim
 * the cache: the §7.5 race). */
void tp_set_bind_hook(tpager_t *tp, void (*fn)(tpager_t *tp, void *arg), void *arg);
/* Make final_bind do nothing (so the map fails). */
void tp_set_final_bind_noop(tpager_t *tp, bool noop);
/* Make page_in write the store's data into the frames on an upgrade too
 * (a pager that sends data with every grant). */
void tp_set_upgrade_overwrites(tpager_t *tp, bool on);
/* Optional pager-object slots a test pager can lack (tp_set_slots). */
enum {
    TP_NO_WRITE_OUT = 1,
    TP_NO_SYNC = 2,
    TP_NO_ZERO_FILL_RANGE = 4,
    TP_NO_DONE_WITH_CACHE = 8,
    TP_NO_DONE_WITH_POBJ = 16,
    TP_NO_OPTIONAL = 31 /* only the required page_in and page_out */
};
/* Make the pager's caches lack the optional slots in `missing` (a mask of
 * TP_NO_*); call before the pager's cache is created. */
void tp_set_slots(tpager_t *tp, unsigned missing);
/* Make page_in set the ownership state it returns to `own` (0 = leave). */
void tp_set_own_reply(tpager_t *tp, spring_ownership_t own);

/* ------------------------------------------------------------------ */
/* The recording HAT (t/rechat.c): an independent backend with counters. */

enum rechat_op { RH_ENTER, RH_REMOVE, RH_PROTECT, RH_UNLOAD, RH_FPROTECT, RH_REFMOD, RH_TRANSLATE, RH_NOPS };
const spring_hat_ops_t *rechat_ops(void);
unsigned long rechat_count(enum rechat_op op);

/* ------------------------------------------------------------------ */
/* Small helpers.                                                       */

/* The VMM's information and an address space's statistics (the test
 * fails if the calls do). */
spring_vm_info_t test_vm_info(spring_vmm_t *vmm);
spring_as_statistics_t test_as_stats(spring_as_t *as);

/* A fixture: a VMM, one address space and a test pager with a memory
 * object of maximum rights RW over npages pages. */
typedef struct fx {
    spring_registry_t *reg;
    spring_vmm_t *vmm;
    spring_as_t *as;
    tpager_t *tp;
    spring_mobj_t *m;
    spring_addr_t a;   /* where fx_map mapped the object */
    spring_off_t len;  /* the object's length */
} fx_t;

/* Set up f: the VMM named vmm_name with nframes frames, an address space
 * (privileged or not), a test pager (block size bs, 0 = a page; ownership
 * own; initial data tp_pattern() when pattern, else zero).  Nothing is
 * mapped yet. */
void fx_setup(fx_t *f, const char *vmm_name, size_t nframes, size_t npages, spring_off_t bs,
              spring_ownership_t own, bool privileged, bool pattern);
/* Map the whole object anywhere with the given access; sets f->a. */
void fx_map(fx_t *f, spring_rights_t access);
/* Check the VMM, then tear the fixture down. */
void fx_fini(fx_t *f);

/* Fail the test with the VMM's consistency-check message. */
#define CHECK_VMM(vmm)                                                                        \
    do {                                                                                      \
        const char *why_ = NULL;                                                              \
        int rc_ = spring_vmm_check((vmm), &why_);                                             \
        ck_assert_msg(rc_ == 0, "vmm check: %s (%s)", why_ ? why_ : "?", spring_err_name(rc_)); \
    } while (0)

#define ck_assert_rc(call, want)                                                               \
    do {                                                                                       \
        int got_ = (call);                                                                     \
        ck_assert_msg(got_ == (want), "%s = %s, want %s", #call, spring_err_name(got_),         \
                      spring_err_name(want));                                                  \
    } while (0)

#endif
