/*
 * model.h - a small reference model of the documented behaviour of address
 * spaces, memory objects of test pagers and their caches, used by the
 * pseudo-random test (t/random.c).  It shares no code with libvm/: it only
 * uses the public types and error codes.
 *
 * The model of what a pager must keep, the part of §9.8 a pager's author
 * needs, is installed with springvm (springvm/model.c, springvm
 * test-pager), which runs against any pager or swap plugin.  This one stays
 * with the tests: it models the VMM itself (regions, rights, locks,
 * ownership, pager-side calls with forged handles) through test pagers that
 * only the tests have.
 *
 * What it models:
 * - per address space, every page: which object maps it (a test pager's
 *   memory object or the default anonymous object), the object offset, the
 *   page's rights, the mapping's maximum rights, the lock attribute, and the
 *   region it belongs to (get_mappings reports one entry per run of pages
 *   with the same attributes inside one region);
 * - per test pager: the "truth" (the content every mapping of its memory
 *   objects must show), what its backing store may hold (the truth at the
 *   last guaranteed write-back, or a version the library may have sent
 *   since: model_store_*), which pages were written since the last
 *   guaranteed write-back, whether its cache exists, its generation (a
 *   destroyed cache leaves regions that fault with SPRING_EDESTROYED) and
 *   its ownership state;
 * - per address space, the bytes of its default anonymous object;
 * - the frames reserved by lock_memory (for SPRING_ELOCKLIMIT).
 *
 * Each operation returns the set of results it may legally have (a bit mask
 * built with MX()): a single code when one is determined, several when more
 * than one argument is wrong and the documentation does not say which is
 * reported first.  The functions named *_apply change the model after the
 * library reported success.
 */
#ifndef SPRING_TEST_MODEL_H
#define SPRING_TEST_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include <spring/spring.h>

/* A set of acceptable results: bit 0 = success, bit k = error code -k. */
typedef uint32_t model_exp_t;
#define MX(code) ((model_exp_t)1u << (unsigned)(-(code)))
#define MX_OK MX(0)

static inline bool model_accepts(model_exp_t e, int rc)
{
    return rc <= 0 && rc > -32 && (e & MX(rc)) != 0;
}

#define MODEL_MAX_PAGERS 12 /* test pagers, then anonymous memory objects (model_aobj_new) */
#define MODEL_MAX_MOBJS 4
#define MODEL_MAX_AS 3

/* Object ids of a page. */
#define MODEL_UNMAPPED (-1)
#define MODEL_ANON (-2)

typedef struct model_page {
    int16_t obj;      /* pager index, MODEL_ANON or MODEL_UNMAPPED */
    uint8_t mobj;     /* which memory object of the pager */
    uint8_t prot;     /* the page's rights */
    uint8_t maxprot;  /* the mapping's maximum rights */
    bool locked;
    uint32_t gen;     /* cache generation the region was bound to (pagers) */
    uint32_t region;  /* region id */
    uint64_t off;     /* object offset of the page, bytes */
} model_page_t;

/* A small set of page contents, as 64-bit digests (model_digest). */
#define MODEL_VSET_MAX 24
typedef struct model_vset {
    uint8_t n;
    bool any;             /* too many to keep: anything (counted in model_t.vset_overflows) */
    uint64_t h[MODEL_VSET_MAX];
} model_vset_t;

typedef struct model_pager {
    uint64_t len_pages;   /* object length */
    unsigned bs_pages;    /* cache block size in pages */
    unsigned nmobj;
    unsigned mobj_max[MODEL_MAX_MOBJS];
    uint8_t *truth;       /* len_pages pages */
    uint8_t *pending;     /* per page: written since the last guaranteed write-back */
    uint32_t gen;         /* current cache generation */
    bool has_cache;
    bool attached_once;   /* the current cache was attached (it is on an unattached list when not mapped) */
    uint8_t *held;        /* per block: locked by lock_memory and known resident since */
    spring_ownership_t own, own_initial;
    /* Per page: what the backing store may hold.  One content, unless the
     * library sent the page to the pager (page_out, sync, write_out) during
     * an operation that also wrote it: then any version the page had
     * during that operation (which one depends on when eviction chose the
     * block, which the model does not simulate). */
    model_vset_t *store;
    /* Per page: the versions it had during the current operation (empty:
     * not written by it). */
    model_vset_t *opv;
} model_pager_t;

typedef struct model_as {
    uint64_t base_page, limit_page; /* [base, limit) in pages */
    bool privileged;
    model_page_t *pages;            /* limit_page entries; [0, base) never mapped */
    uint8_t *anon;                  /* default anonymous object, indexed by address */
    bool anon_cache;                /* its cache exists */
} model_as_t;

typedef struct model {
    size_t ps;
    size_t nframes;
    unsigned npagers, nas;
    model_pager_t pager[MODEL_MAX_PAGERS];
    model_as_t as[MODEL_MAX_AS];
    uint32_t next_region;
    unsigned max_bs_made;   /* pages in the largest block of any cache made so far */
    bool journal;           /* model_write_apply records versions in opv */
    uint64_t vset_overflows;
} model_t;

/* One get_mappings entry as the model predicts it. */
typedef struct model_entry {
    int obj;          /* pager index or MODEL_ANON */
    unsigned mobj;
    uint64_t address, length, off;
    unsigned access, max_access;
    bool locked;
} model_entry_t;

/* Handles a pager-side call may be given. */
enum model_handle {
    MH_CURRENT = 0, /* the pager's cache handle (tp_cache): valid iff the cache exists */
    MH_STALE,       /* a destroyed cache's handle */
    MH_FORGED,      /* a made-up value */
    MH_ZERO,        /* 0 */
    MH_WRONG_TYPE   /* a live handle of another type (a cache-rights) */
};

/* The ownership argument of a pager-side call. */
enum model_own { MO_NULL = 0, MO_UNCHANGED, MO_EXCLUSIVE, MO_SHARED, MO_BOGUS };

enum model_take { MT_FLUSH_BACK, MT_DENY_WRITES, MT_WRITE_BACK, MT_DELETE, MT_ZERO_FILL };

/* Set-up. */
model_t *model_new(size_t page_size, size_t nframes);
void model_free(model_t *m);
/* A pager whose store initially holds `store` (len_pages pages). */
int model_add_pager(model_t *m, uint64_t len_pages, unsigned bs_pages, spring_ownership_t own, const uint8_t *store);
int model_add_mobj(model_t *m, int pager, unsigned max_rights);
/* An anonymous memory object of len_pages zero pages (allocate_memory_and_
 * mobj), modelled as a pager with one-page blocks and one memory object of
 * maximum rights RWX: in slot `slot` (a new one if slot == npagers, else
 * one whose object is gone and that no page maps).  Returns the slot. */
int model_aobj_new(model_t *m, int slot, uint64_t len_pages);
int model_add_as(model_t *m, uint64_t base_page, uint64_t limit_page, bool privileged);

/* Queries. */
const model_page_t *model_page(const model_t *m, int as, uint64_t page); /* NULL outside [0, limit) */
bool model_page_live(const model_t *m, const model_page_t *pg); /* mapped, cache not destroyed */
bool model_range_free(const model_t *m, int as, uint64_t addr, uint64_t len);
/* Predicted get_mappings of [addr, addr+len) (a valid range) with capacity cap. */
size_t model_entries(const model_t *m, int as, uint64_t addr, uint64_t len, model_entry_t *out, size_t cap,
                     bool *more);
void model_stats(const model_t *m, int as, size_t *nregions, uint64_t *mapped, size_t *locked_pages);
size_t model_locked_frames(const model_t *m);
/* Whether a fault on some live page of [addr, addr+len) may find no frame:
 * its cache's block needs more frames than lock_memory left unreserved.
 * (The lock limit keeps two of the largest blocks of the caches that exist
 * when it locks; a cache with larger blocks made later can be starved, and
 * its faults then fail with SPRING_ENOFRAMES.) */
bool model_starved(const model_t *m, int as, uint64_t addr, uint64_t len);
/* The same for a pager's cache as a whole. */
bool model_pager_starved(const model_t *m, int pager);
size_t model_ncaches(const model_t *m);
/* Pointer to the truth of one byte of the object a page maps (pager or
 * anonymous), or NULL if unmapped. */
uint8_t *model_byte(model_t *m, int as, uint64_t addr);

/* Address-space operations.  Those without _apply change the model
 * themselves when the expected result is success (and it is unique). */
/* The lowest address of a free range of len bytes (what SPRING_ANYWHERE
 * chooses: first fit), or UINT64_MAX. */
uint64_t model_first_fit(const model_t *m, int as, uint64_t len);
/* bind_fails: the pager's bind will fail (an injected failure). */
model_exp_t model_map(model_t *m, int as, int pager, int mobj, uint64_t off, uint64_t len, uint64_t addr,
                      unsigned access, bool bind_fails, uint64_t *maplen);
void model_map_apply(model_t *m, int as, int pager, int mobj, uint64_t off, uint64_t addr, uint64_t len,
                     unsigned access);
model_exp_t model_alloc(model_t *m, int as, uint64_t len, uint64_t addr, unsigned access);
void model_alloc_apply(model_t *m, int as, uint64_t addr, uint64_t len, unsigned access);
model_exp_t model_unmap(model_t *m, int as, uint64_t addr, uint64_t len);
model_exp_t model_protect(model_t *m, int as, uint64_t addr, uint64_t len, unsigned rights);
model_exp_t model_lock(model_t *m, int as, uint64_t addr, uint64_t len);
void model_lock_apply(model_t *m, int as, uint64_t addr, uint64_t len);
model_exp_t model_unlock(model_t *m, int as, uint64_t addr, uint64_t len);
/* flush: after success (model_flush_apply) the pager pages of the range
 * are no longer pending. */
model_exp_t model_flush(model_t *m, int as, uint64_t addr, uint64_t len);
void model_flush_apply(model_t *m, int as, uint64_t addr, uint64_t len);
/* Whether [addr, addr+len) maps a live page of the pager. */
bool model_touches(const model_t *m, int as, uint64_t addr, uint64_t len, int pager);
/* spring_vmm_reclaim_caches(keep) with keep 0 (all) or >= the number of
 * unattached caches (none): the caches that go.  Apply with
 * model_cache_gone (their modified data was paged out first). */
int model_reclaim(const model_t *m, size_t keep, bool pagers[MODEL_MAX_PAGERS], bool anon[MODEL_MAX_AS]);
void model_cache_gone(model_t *m, int pager);

/* Locked blocks and page traffic: a block with a locked page is never
 * evicted (never paged out: flushes of locked blocks use sync), and one
 * known resident since lock_memory made it so is never paged in again,
 * unless the pager took it away (flush_back, delete_range, zero_fill). */
void model_held_lock(model_t *m, int as, uint64_t addr, uint64_t len);     /* after lock_memory */
void model_held_clear(model_t *m, int pager, uint64_t off, uint64_t end);   /* the pager took blocks */
/* Per block of the pager's current cache: 1 if some page of it is locked. */
void model_locked_blocks(const model_t *m, int pager, uint8_t *out);
/* read/write/fault of [addr, addr+len) for `access` (R, W or X).  *prefix is
 * the number of leading bytes (whole pages before the failing one) the call
 * handles before it fails. */
model_exp_t model_access(const model_t *m, int as, uint64_t addr, uint64_t len, unsigned access, uint64_t *prefix);
void model_write_apply(model_t *m, int as, uint64_t addr, const uint8_t *buf, uint64_t len);
void model_read(model_t *m, int as, uint64_t addr, uint8_t *buf, uint64_t len);
/* A write of n bytes at object offset off of a pager's cache that no
 * address space mapping is involved in (through a pin held since the page
 * was unmapped, for instance); within one page. */
void model_obj_write(model_t *m, int pager, uint64_t off, const uint8_t *buf, uint64_t n);

/* Pager-side calls on a pager's cache.  `end` gets the end of the range
 * (SPRING_SIZE_ALL resolved). */
model_exp_t model_take(model_t *m, int pager, enum model_handle h, uint64_t off, uint64_t size, enum model_own own,
                       enum model_take op, uint64_t *end);
/* After a successful call: the new ownership state and the result the
 * call must report in *own (when own is not MO_NULL). */
spring_ownership_t model_own_apply(model_t *m, int pager, enum model_own own);
/* After flush_back/deny_writes/write_back applied the returned data to the
 * store: the range is no longer pending. */
void model_take_done(model_t *m, int pager, uint64_t off, uint64_t end);
/* delete_range, destroy (and flush_back without a data list): the cached
 * data of the range is dropped, so the truth becomes what the store holds,
 * which the model predicts (model_store_may_hold).  Returns the first page
 * whose store content the model does not predict (the truth is then left
 * as it was), or UINT64_MAX. */
uint64_t model_reload(model_t *m, int pager, uint64_t off, uint64_t end, const uint8_t *store);

/* The pager's backing store. */
uint64_t model_digest(const uint8_t *p, size_t n);
/* Start an operation: forget the versions pages had during the last one.
 * model_write_apply records, per page it writes, the content before the
 * operation and after each write. */
void model_op_begin(model_t *m);
/* Whether model_write_apply records versions (on by default). */
void model_journal(model_t *m, bool on);
/* The library sent `page` of the pager to it (a page_out, sync or
 * write_out the pager carried out) during the current operation. */
void model_store_sent(model_t *m, int pager, uint64_t page);
/* The store of [p0, p1) (pages) now holds exactly the truth. */
void model_store_is_truth(model_t *m, int pager, uint64_t p0, uint64_t p1);
/* Whether the store's copy of `page` is one the model predicts. */
bool model_store_may_hold(const model_t *m, int pager, uint64_t page, const uint8_t *bytes);
void model_zero_apply(model_t *m, int pager, uint64_t off, uint64_t end);
/* populate: `covers` says whether the data list covers the range exactly;
 * access is the mode asked for. */
model_exp_t model_populate(model_t *m, int pager, enum model_handle h, uint64_t off, uint64_t size, unsigned access,
                           enum model_own own, bool data_null, bool covers);
void model_populate_apply(model_t *m, int pager, uint64_t off, uint64_t size, const uint8_t *bytes);
model_exp_t model_destroy(model_t *m, int pager, enum model_handle h);
/* Returns as model_reload. */
uint64_t model_destroy_apply(model_t *m, int pager, const uint8_t *store);

#endif
