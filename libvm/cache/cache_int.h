/*
 * cache_int.h - the cache layer's private layout and internal interface.
 *
 * Part 1 (vm_int.h) is what the other layers see of the cache layer: an
 * opaque struct vm_cache and the spring__cache_* calls.  This part 2 is the
 * layout of caches and blocks, included only by the cache layer's files
 * (libvm/cache/: cache.c, block.c, fault.c, pagerops.c, pageout.c) and by
 * the pager dispatch layer (pager/pager.c: per-cache counts), the frame
 * pool (mem/frame.c: its lists hold blocks), grace periods (mem/qsbr.c:
 * blocks fast translations reached), the consistency checker
 * (vmm/check.c), the event trace (vmm/trace.c: cache ids) and the test
 * hooks (testing/testhooks.c).
 *
 * Field tags as in vm_int.h: [c] constant after creation, [a] atomic, [o]
 * cache lock, [l] VMM cache-list lock, [p] VMM page lock, [h] page-hash
 * stripe lock.  A field with two tags is read under either lock and
 * written under both.
 */
#ifndef SPRING_CACHE_INT_H
#define SPRING_CACHE_INT_H

#ifdef SPRING_PUBLIC_HEADERS_ONLY
#error "a plugin built from the public headers includes a private header of libvm"
#endif

#include "vmm/vm_int.h"

/* ------------------------------------------------------------------ */
/* Blocks.                                                              */

enum vm_block_list {
    VM_BL_NONE = 0,
    VM_BL_INUSE = 1,  /* in use in a cache, least recently used first */
    VM_BL_PAGEOUT = 2 /* in use, being paged out to its pager (§9.2.2) */
};

enum vm_block_state {
    VM_B_VALID = 0,   /* data present, not in transit */
    VM_B_PAGEIN = 1,  /* being paged in (stub) */
    VM_B_PAGEOUT = 2, /* being paged out / written back */
    VM_B_OTHER = 3    /* short transition (upgrade, eviction) */
};

/* A cached block of a cache: block_size bytes in pages_per_block frames. */
struct vm_block {
    struct vm_cache *cache;            /* [o]+[p] (the caches' locks and page_lock to change: a move) */
    spring_off_t offset;               /* [o]+[p] block-aligned cache offset */
    RB_ENTRY(vm_block) tnode;          /* [o] cache's ordered tree */
    struct vm_block *hnext;            /* [h] page-hash chain */
    TAILQ_ENTRY(vm_block) lru;         /* [p] in-use (LRU first) or page-out list */
    uint8_t onlist;                    /* [p] VM_BL_NONE, VM_BL_INUSE or VM_BL_PAGEOUT */
    atomic_bool referenced;            /* [a] used since the replacement scan last passed it */
    bool fast;                         /* [o] a fast translation reached it: frames freed after a grace period */
    bool fastw;                        /* [o] a fast write translation was handed out since it was last clean */
    uint64_t fastw_gp;                 /* [o] the grace period that settles fastw (0: none asked) */
    bool hashed;                       /* [o] in the tree and the hash */
    uint8_t state;                     /* [o] enum vm_block_state */
    bool doomed;                       /* [o] removed while in transit */
    bool discard;                      /* [o] ... and its data is not wanted */
    bool taken;                        /* [o] held by a flush_back/deny_writes/write_back */
    struct vm_block *take_next;        /* [o] that call's list of taken blocks */
    bool rw;                           /* [o] held read-write */
    bool dirty;                        /* [o] modified since the pager saw it */
    size_t nframes;                    /* [c] */
    size_t frames[];                   /* [o] frame numbers */
};

/* ------------------------------------------------------------------ */
/* Caches.                                                              */

RB_HEAD(vm_block_tree, vm_block);

/* A range of the zero-fill table: [start, end). */
struct vm_zrange {
    RB_ENTRY(vm_zrange) node;  /* [o] */
    spring_off_t start, end;   /* [o] */
};
RB_HEAD(vm_zr_tree, vm_zrange);

/* Per-cache count of locks on a block offset (lock_memory). */
struct vm_lockent {
    RB_ENTRY(vm_lockent) node; /* [o] */
    spring_off_t offset;       /* [o] */
    unsigned count;            /* [o] */
};
RB_HEAD(vm_lock_tree, vm_lockent);

RB_PROTOTYPE(vm_block_tree, vm_block, tnode, spring__block_cmp)
RB_PROTOTYPE(vm_zr_tree, vm_zrange, node, spring__zr_cmp)
RB_PROTOTYPE(vm_lock_tree, vm_lockent, node, spring__lockent_cmp)

/* Statistics of the calls made to a cache's pager object (pager.c). */
enum { VM_PST_PAGE_IN, VM_PST_PAGE_OUT, VM_PST_SYNC, VM_PST_WRITE_OUT, VM_PST_OTHER, VM_PST_N };
struct vm_pstats {
    atomic_uint_fast64_t calls[VM_PST_N]; /* [a] */
    atomic_uint_fast64_t failures, nospace, bytes_in, bytes_out, ns; /* [a] */
};

struct vm_cache {
    spring_vmm_t *vmm;                  /* [c] */
    vm_mutex_t lock;
    pthread_cond_t cv;                  /* signalled when a block changes state */
    atomic_uint refs;                   /* [a] structure references */
    uint64_t handle;                    /* [c] the cache object handle */
    uint64_t id;                        /* [c] unique in the VMM, never 0 (frame owners) */
    atomic_uint_fast64_t full_gen;      /* [a] the make-room pass in which its pager last had no space
                                           (pageout.c: its modified blocks are not offered again in it) */
    const spring_pager_ops_t *pops;     /* [c] */
    void *pager;                        /* [c] */
    spring_pager_info_t info;           /* [c] */
    spring_off_t block_size;            /* [c] */
    unsigned block_shift;               /* [c] */
    size_t pages_per_block;             /* [c] */
    spring_rights_t max_rights;         /* [c] */
    spring_privilege_t priv;            /* [c] privilege of the creating vmm object */
    bool signal_last_ref;               /* [c] */
    spring_ownership_t own;             /* [o] */
    bool destroyed;                     /* [o] */
    bool pager_done;                    /* [o] done_with_pager_object called or due */
    unsigned callouts;                  /* [o] pager calls in flight */
    struct vm_block_tree blocks;        /* [o] */
    size_t nblocks;                     /* [o] */
    struct vm_zr_tree zr;               /* [o] zero-fill table */
    size_t nzr;                         /* [o] ranges in it */
    struct vm_lock_tree locks;          /* [o] lock_memory counts */
    size_t nlocked;                     /* [o] block offsets locked */
    unsigned nattach;                   /* [l] regions + bind keys attached */
    unsigned rw_attach;                 /* [o] read-write attachments ever made (sticky count) */
    int list;                           /* [l] enum vm_cache_list */
    bool dying;                         /* [l] being destroyed */
    TAILQ_ENTRY(vm_cache) lq;           /* [l] */
    struct vm_pstats pst;               /* [a] */
    struct vm_slab blk_slab;            /* [o] where its blocks come from (block.c) */
    struct vm_slab zr_slab;             /* [o] where its zero-fill table nodes come from */
    uint64_t *rights_h;                 /* [o] rights handles issued */
    size_t nrights, rightscap;          /* [o] */
};

/* ------------------------------------------------------------------ */
/* block.c: blocks, the page hash, the zero-fill table, pins, locks.    */

/* The block at boff, or NULL.  => c->lock held. */
SPRING__HIDDEN struct vm_block *spring__block_lookup(struct vm_cache *c, spring_off_t boff);
/* A new block (not hashed, no frames yet), or NULL. */
SPRING__HIDDEN struct vm_block *spring__block_alloc(struct vm_cache *c, spring_off_t off);
/* Give back a block that was never hashed (its frames are the caller's).
 * => c->lock held. */
SPRING__HIDDEN void spring__block_free(struct vm_cache *c, struct vm_block *b);
/* Free the cache's kept blocks and nodes (cache teardown). */
SPRING__HIDDEN void spring__block_slab_init(struct vm_cache *c);
SPRING__HIDDEN void spring__block_slab_fini(struct vm_cache *c);
/* Enter b in the cache's tree and the page hash; its frames become its.
 * => c->lock held. */
SPRING__HIDDEN void spring__block_hash(struct vm_cache *c, struct vm_block *b);
/* => c->lock held. */
SPRING__HIDDEN void spring__block_unhash(struct vm_cache *c, struct vm_block *b);
/* Free an unhashed block: translations, frames (pinned ones as orphans).
 * => c->lock held. */
SPRING__HIDDEN void spring__block_release(struct vm_cache *c, struct vm_block *b);
/* Remove a block; one in transit is only doomed (its owner frees it).
 * => c->lock held. */
SPRING__HIDDEN void spring__block_remove(struct vm_cache *c, struct vm_block *b, bool discard, bool make_room);
/* After a transfer: free a doomed block.  => c->lock held. */
SPRING__HIDDEN void spring__block_release_doomed(struct vm_cache *c, struct vm_block *b);
/* Count a block going in or out of transit. */
SPRING__HIDDEN void spring__transit_add(spring_vmm_t *vmm, int d);
/* Whether a frame of b has a (write) pin. */
SPRING__HIDDEN bool spring__block_wpinned(spring_vmm_t *vmm, const struct vm_block *b);
SPRING__HIDDEN bool spring__block_pinned(spring_vmm_t *vmm, const struct vm_block *b);
/* Wait until b has no write pin; c->lock is dropped meanwhile.
 * => c->lock held, b in transit, its write translations gone. */
SPRING__HIDDEN void spring__block_wait_wpins(struct vm_cache *c, struct vm_block *b);
/* Before b's data is read to be written back and b marked clean: if a fast
 * write translation was handed out for it, a grace period must pass since
 * its write translations were revoked (qsbr.c).  With wait, wait for one
 * (c->lock dropped meanwhile; 0 or SPRING_EQUIESCE); without, ask for one
 * and answer SPRING__EAGAIN until it has passed.
 * => c->lock held, b in transit, its write translations gone. */
SPRING__HIDDEN int spring__block_fast_settle(struct vm_cache *c, struct vm_block *b, bool wait);
/* Gather the HAT's modified bits into b->dirty.  => c->lock held. */
SPRING__HIDDEN bool spring__block_dirty(spring_vmm_t *vmm, struct vm_block *b);
/* Whether a page of the block at boff is locked.  => c->lock held. */
SPRING__HIDDEN bool spring__block_locked(struct vm_cache *c, spring_off_t boff);
/* Allocate frames for b with c->lock dropped (lend: scrub frames that
 * held another cache's data).  => c->lock held; re-taken on return. */
SPRING__HIDDEN int spring__block_alloc_frames(struct vm_cache *c, struct vm_block *b, bool lend);
/* The zero-fill table.  => c->lock held. */
SPRING__HIDDEN int spring__zr_add(struct vm_cache *c, spring_off_t s, spring_off_t e);
SPRING__HIDDEN int spring__zr_remove(struct vm_cache *c, spring_off_t s, spring_off_t e);
SPRING__HIDDEN void spring__zr_clear(struct vm_cache *c);
SPRING__HIDDEN int spring__block_cmp(const struct vm_block *a, const struct vm_block *b);
SPRING__HIDDEN int spring__zr_cmp(const struct vm_zrange *a, const struct vm_zrange *b);
SPRING__HIDDEN int spring__lockent_cmp(const struct vm_lockent *a, const struct vm_lockent *b);

/* Move the block at soff of src to doff of dst (same VMM and block size):
 * its identity changes under both caches' locks (taken in address order),
 * its translations go, its data stays in its frames and is modified for
 * dst.  0; SPRING_ENOENT (no block there), SPRING_EEXIST (dst has one),
 * SPRING_EBUSY (in transit, pinned, locked, or reached by fast
 * translations), SPRING_EDESTROYED, SPRING_EINVAL, SPRING_ENOMEM.
 * => no lock held. */
SPRING__HIDDEN int spring__block_move(struct vm_cache *src, spring_off_t soff, struct vm_cache *dst,
                                      spring_off_t doff);
/* Remove every translation of b's frames. */
static inline void spring__hat_unload_block(spring_vmm_t *vmm, const struct vm_block *b)
{
    for (size_t i = 0; i < b->nframes; i++)
        spring__hat_frame_unload(vmm, b->frames[i]);
}

/* ------------------------------------------------------------------ */
/* pageout.c: the in-use (replacement) and page-out lists.              */

/* Put b at the tail of the in-use list.  => c->lock held. */
SPRING__HIDDEN void spring__lru_insert(spring_vmm_t *vmm, struct vm_block *b);
/* Take b off whichever list it is on.  => c->lock held. */
SPRING__HIDDEN void spring__lru_remove(spring_vmm_t *vmm, struct vm_block *b);
/* Move b to the page-out list (out) or back to the in-use tail.
 * => c->lock held. */
SPRING__HIDDEN void spring__pageout_move(spring_vmm_t *vmm, struct vm_block *b, bool out);
/* nb takes old's place on its replacement list (a block's record replaced
 * by a copy: spring__block_move). */
SPRING__HIDDEN void spring__pageout_replace(spring_vmm_t *vmm, struct vm_block *old, struct vm_block *nb);
/* Note a use of b for replacement (no lock taken). */
static inline void spring__block_touch(struct vm_block *b)
{
    if (!atomic_load_explicit(&b->referenced, memory_order_relaxed))
        atomic_store_explicit(&b->referenced, true, memory_order_relaxed);
}

/* ------------------------------------------------------------------ */
/* cache.c: pager calls in flight, handles.                             */

/* Before a pager call.  => c->lock held. */
SPRING__HIDDEN void spring__callout_begin(struct vm_cache *c);
/* After it: take the ownership the pager set; whether
 * done_with_pager_object is now due.  => c->lock held. */
SPRING__HIDDEN bool spring__callout_end(struct vm_cache *c, spring_ownership_t own);
/* Tell the pager object it is done with.  => no lock held. */
SPRING__HIDDEN void spring__pager_done(struct vm_cache *c);
/* A cache object handle's cache, with a reference. */
SPRING__HIDDEN int spring__cache_from_handle(spring_cache_obj_t h, struct vm_cache **out);
/* Validate and normalize a block-aligned range. */
SPRING__HIDDEN int spring__cache_check_range(const struct vm_cache *c, spring_off_t off, spring_off_t *size,
                                             spring_off_t *end);
SPRING__HIDDEN bool spring__valid_own(spring_ownership_t o);

#endif /* SPRING_CACHE_INT_H */
