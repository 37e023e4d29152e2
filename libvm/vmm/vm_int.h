/*
 * vm_int.h - private structures of the VMM core.
 *
 * Nothing outside libvm/ includes this file; plugins and tests use only
 * include/spring/.
 *
 * Field tags (the "locks" key of each structure):
 *   [c]  constant after creation
 *   [a]  atomic
 *   [A]  address-space lock (as->lock)
 *   [o]  cache lock (cache->lock)
 *   [l]  VMM cache-list lock (vmm->cache_lock)
 *   [p]  VMM page lock (vmm->page_lock): frame lists and counters
 *   [h]  page-hash bucket lock
 *   [s]  VMM swap lock (vmm->swap_lock)
 *   [t]  handle-table lock
 *   [k]  the bind key's lock
 *   [f]  as->free_lock
 *   [r]  VMM trace lock (vmm->trace_lock)
 * A field tagged with two locks ([A + free_lock], [o]+[p]) may be read
 * holding either and is written holding both.  The two-part private
 * header cache_int.h tags the cache layer's structures the same way.
 *
 * Lock order: docs/locking.md holds the one table for the whole library.
 * In short, the fault path's natural order:
 *   as->lock  ->  cache->lock  ->  hash bucket  ->  vmm->page_lock
 *             ->  HAT backend lock  ->  handle-table lock
 * vmm->as_list_lock, vmm->cache_lock and vmm->swap_lock are taken with no
 * cache lock held.  No lock is ever held across a call into a pager or an
 * address-space event handler.
 */
#ifndef SPRING_VM_INT_H
#define SPRING_VM_INT_H

#ifdef SPRING_PUBLIC_HEADERS_ONLY
#error "a plugin built from the public headers includes a private header of libvm"
#endif

#include <pthread.h>
#include <stdatomic.h>
#include <sys/queue.h>
#include <sys/tree.h>

/* libbsd's tree.h marks static generated functions with __unused. */
#ifndef __unused
#define __unused __attribute__((unused))
#endif

#include <spring/spring.h>

#include "vmm/lock.h"
#include "pager/pagercall.h"
#include "as/rtree.h"
#include "mem/slab.h"

#define SPRING__HIDDEN __attribute__((visibility("hidden")))

#include "vmm/vmtrace.h"

/* ------------------------------------------------------------------ */
/* Handles (capabilities).  One process-wide table.                     */

enum vm_handle_type {
    VM_H_FREE = 0,
    VM_H_CACHE = 1,  /* obj: struct vm_cache *; aux unused */
    VM_H_RIGHTS = 2, /* obj: struct vm_cache *; aux: rights */
    VM_H_BINDKEY = 3, /* obj: struct vm_bindkey * */
    VM_H_VMM = 4      /* obj: spring_vmm_t *; aux: privilege */
};

SPRING__HIDDEN int spring__handle_new(int type, void *obj, unsigned aux, uint64_t *out);
/* Look a handle up; on success the object is returned with a reference
 * taken (caches) or as is (others), and *aux set.  Returns SPRING_EBADHANDLE
 * for anything not issued, freed or of another type. */
SPRING__HIDDEN int spring__handle_get(uint64_t h, int type, void **obj, unsigned *aux);
SPRING__HIDDEN int spring__handle_free(uint64_t h, int type);

/* ------------------------------------------------------------------ */
/* Page frames.  Blocks and caches are the cache layer's (cache_int.h).  */

struct vm_block;
struct vm_cache;

/* A page frame.  Frame i's data is at vmm->frame_base + i * page_size.
 * [o/p]: a frame belongs either to a block (its cache's lock guards it) or
 * to the pool (page_lock guards it); it passes between them with no other
 * thread able to reach it (taken off the free list, or freed by the
 * block's owner). */
struct vm_frame {
    struct vm_block *block;      /* [o/p] block using the frame, or NULL */
    atomic_uint pins;            /* [a] pins (translate, fault path) */
    atomic_uint wpins;           /* [a] pins for write */
    atomic_bool orphan;          /* [a] removed from its block while pinned */
    uint64_t owner;              /* [o/p] id of the cache whose data the frame last held; 0 = all zero */
    TAILQ_ENTRY(vm_frame) fq;    /* [p] free list */
    bool onfree;                 /* [p] on the free list */
    bool special;                /* [p] taken by the HAT backend for its tables (§9.2.1) */
    bool fastfree;               /* [p] freed from a block fast translations reached: an orphan's
                                    last unpin defers it too (qsbr.c) */
};

enum vm_cache_list {
    VM_CL_NONE = -1,
    VM_CL_ATTACHED = 0,
    VM_CL_NEW = 1,
    VM_CL_SPECIAL = 2,
    VM_CL_UNATT_TEXT = 3,
    VM_CL_UNATT_DATA = 4,
    VM_CL_UNATT_ANON = 5,
    VM_CL_COUNT = 6
};

TAILQ_HEAD(vm_cache_tq, vm_cache);
TAILQ_HEAD(vm_frame_tq, vm_frame);
TAILQ_HEAD(vm_block_tq, vm_block);

/* ------------------------------------------------------------------ */
/* Bind keys (§7.5).                                                     */

struct vm_bindkey {
    spring_vmm_t *vmm;          /* [c] */
    atomic_uint refs;           /* [a] the key handle's reference + lookups */
    vm_mutex_t lock;
    struct vm_cache *cache;     /* [k] bound cache (holds a ref and an attachment) */
    spring_rights_t rights;     /* [k] rights of the binding */
    spring_off_t offset;        /* [k] bind_cache_offset */
    spring_off_t length;        /* [k] bind_length */
    bool dead;                  /* [k] final_bind has returned */
};

SPRING__HIDDEN void spring__bindkey_ref(struct vm_bindkey *k);
SPRING__HIDDEN void spring__bindkey_unref(struct vm_bindkey *k);

/* ------------------------------------------------------------------ */
/* Swap pagers.                                                         */

/* A swap pager.  On the VMM's list its fields are [c] and the link [s];
 * an address space's own is [A] (copied out under it before a call). */
struct vm_swap {
    const spring_swap_pager_ops_t *ops; /* [c] / [A] */
    void *self;                         /* [c] / [A] */
    bool temporary;                     /* [c] */
    struct vm_swap *next;               /* [s] / [A] */
};

/* ------------------------------------------------------------------ */
/* The VMM.                                                             */

struct vm_hash_bucket {
    struct vm_block *head; /* [h] */
};

/* The page hash's locks: one per group of buckets (bucket index modulo
 * VM_HASH_LOCKS), each on a cache line of its own, so that the locks stay
 * in cache however large the hash. */
#define VM_HASH_LOCKS 64
struct vm_hash_lock {
    vm_mutex_t m;
} __attribute__((aligned(64)));

struct spring_vmm {
    char *name;                         /* [c] */
    size_t page_size;                   /* [c] */
    unsigned page_shift;                /* [c] */
    size_t nframes;                     /* [c] */
    spring_vmm_mode_t mode;             /* [c] */
    size_t max_unattached;              /* [c] */

    int memfd;                          /* [c] */
    uint8_t *frame_base;                /* [c] */
    struct vm_frame *frames;            /* [c] array; fields as tagged */

    const spring_hat_ops_t *hat;        /* [c] */
    void *hatp;                         /* [c] */
    spring_vmm_hold_t hat_hold;         /* [c] what keeps the backend's code loaded (a reference), or none */

    vm_mutex_t page_lock;
    pthread_cond_t frame_cv;            /* frames may have become available */
    struct vm_frame_tq freeq;           /* [p] */
    struct vm_block_tq inuse;           /* [p] LRU first */
    struct vm_block_tq pageoutq;        /* [p] blocks being paged out */
    size_t nfree;                       /* [p] */
    size_t nlocked;                     /* [p] frames reserved by lock_memory */
    size_t max_block_pages;             /* [p] pages in the largest block of any cache made */
    size_t ninuse;                      /* [p] blocks on the in-use list */
    size_t nspecial;                    /* [p] frames the HAT backend took (the special cache) */
    size_t nfree_target;                /* [c] free frames to make when the HAT needs table frames */
    /* Translations without atomics (qsbr.c). */
    atomic_bool fast_active;            /* [a] a fast translation was ever handed out */
    atomic_uint_fast64_t fgen;          /* [a] bumped after every revocation while fast_active */
    struct vm_gp *gp;                   /* [c after first use, set under page_lock] grace periods */
    uint64_t gp_seq, gp_done;           /* [p] grace periods requested, completed */
    bool gp_inflight, gp_again;         /* [p] one is running; another is wanted after it */
    bool gp_closed;                     /* [p] the VMM is being destroyed: no more deferral */
    struct vm_frame_tq defer_wait;      /* [p] frames freed since the running grace period began */
    struct vm_frame_tq defer_pending;   /* [p] frames the running grace period will free */
    size_t ndeferred;                   /* [p] frames on both */
    uint64_t frame_gen;                 /* [p] bumped with every frame_cv broadcast */
    atomic_size_t ntransit;             /* [a] blocks in transit */
    atomic_uint cv_waiters;             /* [a] threads waiting on frame_cv (spring__frame_event) */
    atomic_uint_fast64_t next_cache_id; /* [a] */

    struct vm_hash_bucket *hash;        /* [c] array; chains [h] */
    struct vm_hash_lock hash_locks[VM_HASH_LOCKS];
    size_t hash_mask;                   /* [c] */

    vm_mutex_t cache_lock;
    struct vm_cache_tq lists[VM_CL_COUNT]; /* [l] */
    size_t ncaches;                     /* [l] */

    vm_mutex_t as_list_lock;
    size_t nas;                         /* [as_list_lock] */
    LIST_HEAD(, spring_as) as_list;     /* [as_list_lock] */

    vm_mutex_t swap_lock;
    struct vm_swap *swaps;              /* [s] */

    uint64_t objh_user;                 /* [c] vmm object handles */
    uint64_t objh_system;               /* [c] */

    /* statistics */
    atomic_uint_fast64_t st_faults, st_page_ins, st_page_outs, st_write_backs, st_reclaims_clean, st_zero_fills,
        st_scrubs, st_nospace;
    atomic_uint_fast64_t room_gen;      /* [a] make-room passes begun (pageout.c) */

#ifdef SPRING_TEST_HOOKS
    /* failure injection (the test build only: testhooks.h) */
    atomic_int inject_alloc;            /* [a] fail the Nth allocation from now, 0 = off */
#endif

    /* The event trace (trace.c, vmtrace.h). */
    atomic_bool trace_on;               /* [a; written under r] trace.cap != 0 */
    vm_mutex_t trace_lock;
    struct vm_trace trace;              /* [r] */
    atomic_uint_fast64_t next_as_id;    /* [a] the last address-space id given */
};

/* ------------------------------------------------------------------ */
/* Address spaces.                                                      */

/* A run of pages with the same attributes inside a region. */
struct vm_subregion {
    spring_addr_t start, end;  /* [A] absolute addresses */
    spring_rights_t prot;      /* [A] */
    bool locked;               /* [A] */
};

struct vm_region {
    spring_addr_t start, end;  /* [A] */
    spring_mobj_t *mobj;       /* [A] reference */
    spring_off_t mobj_off;     /* [A] object offset at start */
    struct vm_cache *cache;    /* [A] reference + attachment */
    spring_off_t cache_off;    /* [A] cache offset at start */
    spring_rights_t maxprot;   /* [A] rights of the binding */
    bool anon_default;         /* [A] maps the default anonymous object */
    struct vm_subregion *sub;  /* [A] sorted, covering [start, end): &sub1 or allocated */
    size_t nsub;               /* [A] */
    struct vm_subregion sub1;  /* [A] the one run of a region that never had more */
};

/* A zero_fill_range call of the default anonymous object on its way
 * (as.c: spring_as.tells). */
struct vm_tell {
    struct vm_cache *c;
    spring_off_t off, end;
    pthread_t owner;   /* the thread that makes the call */
    struct vm_tell *next;
};

/* Room for liburcu's struct rcu_head (qsbr.c checks the size), so that
 * this header need not include liburcu's. */
struct vm_rcu_head {
    void *opaque[2];
};

struct spring_as {
    spring_vmm_t *vmm;                  /* [c] */
    unsigned page_shift;                /* [c] vmm->page_shift, at hand for the fast path */
    const atomic_uint_fast64_t *fgenp;  /* [c] &vmm->fgen, likewise (qsbr.c) */
    /* spring_as_destroy has begun: calls that begin now fail; destroy
     * waits for the calls in progress (as.c, "Calls in progress"). */
    atomic_bool dying;                  /* [a] */
    vm_rwlock_t lock;
    struct rtree idx;                   /* [A] the regions, by start address */
    _Atomic(struct vm_region *) hint;   /* [a] last region found (read under [A]) */
    size_t nregions;                    /* [A] */
    spring_off_t mapped;                /* [A] */
    uint64_t gen;                       /* [A] bumped on every mapping change */
    /* Where a first-fit search may start: every gap that begins below
     * free_hint is at most free_hole bytes long, so a longer request need
     * not look below it (see find_free in as.c).  Searches under the read
     * lock update the pair together under free_lock. */
    vm_mutex_t free_lock;
    spring_addr_t free_hint;            /* [A + free_lock; A write alone] base or a region end */
    spring_off_t free_hole;             /* [A + free_lock; A write alone] */
    /* Ranges of the default anonymous object whose zero_fill_range call
     * is still to come or running (unmaps and allocations make it after
     * dropping the lock): an allocation waits for those that overlap its
     * own range before it returns, so that a late call cannot wipe data
     * written to the new memory. */
    struct vm_tell *tells;              /* [free_lock] */
    pthread_cond_t anon_cv;             /* signalled (free_lock) when tells leave the list */
    vm_mutex_t slab_lock;
    struct vm_slab regions;             /* [slab_lock] where its regions come from */
    void *hatctx;                       /* [c] */
    spring_addr_t base, limit;          /* [c] */
    bool privileged;                    /* [c] */
    uint64_t id;                        /* [c] unique in the VMM, never 0 (trace records) */
    spring_as_handler_fn handler;       /* [A] */
    void *handler_arg;                  /* [A] */
    struct vm_swap swap;                /* [A] per-domain swap pager (ops NULL = none) */
    uint64_t swap_gen;                  /* [A] bumped when the swap pager changes */
    struct vm_swap *old_swaps;          /* [A] replaced swap pagers, released at destruction */
    spring_mobj_t *anon;                /* [A] default anonymous object */
    LIST_ENTRY(spring_as) link;         /* [as_list_lock] */
    atomic_uint_fast64_t st_faults, st_zero_fills, st_page_ins, st_prot_faults, st_unmapped_faults,
        st_tlb_hits;
    /* Calls in progress that a thread's own record does not show (calls
     * nested in another call of the thread, or made by a thread that has
     * no record): counted here (as.c). */
    atomic_uint busy;                   /* [a] */
    struct vm_rcu_head rcu;             /* the record's free, deferred past fast translations (qsbr.c) */
};

/* ------------------------------------------------------------------ */
/* Memory objects.                                                      */

struct spring_mobj {
    const spring_mobj_ops_t *ops; /* [c] */
    void *self;                   /* [c] */
    atomic_uint refs;             /* [a] */
};

/* ------------------------------------------------------------------ */
/* Internal interfaces between the layers.                              */

/* vmm.c */
/* Whether this allocation is to fail (allocation-failure injection, for
 * allocators that do not call malloc every time: slab.c). */
SPRING__HIDDEN bool spring__alloc_fails(spring_vmm_t *vmm);
SPRING__HIDDEN void *spring__malloc(spring_vmm_t *vmm, size_t n);
SPRING__HIDDEN void *spring__calloc(spring_vmm_t *vmm, size_t n, size_t m);
SPRING__HIDDEN void *spring__realloc(spring_vmm_t *vmm, void *p, size_t n);
SPRING__HIDDEN spring_vmm_t *spring__vmm_from_obj(spring_vmm_obj_t o, spring_privilege_t *priv);
SPRING__HIDDEN int spring__vmm_new_anon(spring_vmm_t *vmm, struct vm_swap *first, spring_off_t length,
                                        spring_mobj_t **out);

/* frame.c */
SPRING__HIDDEN int spring__frames_init(spring_vmm_t *vmm);
SPRING__HIDDEN void spring__frames_fini(spring_vmm_t *vmm);
/* Allocate n frames, evicting least recently used blocks if needed.
 * => no cache lock held. */
SPRING__HIDDEN int spring__frames_alloc(spring_vmm_t *vmm, size_t n, size_t *out);
/* Return frames to the free list.  Pinned frames become orphans and are
 * freed by their last unpin.  => page_lock not held. */
/* Take n frames from the free list only (no eviction, no waiting).
 * => may be called with any lock held up to the cache lock. */
SPRING__HIDDEN int spring__frames_alloc_nowait(spring_vmm_t *vmm, size_t n, size_t *out);
SPRING__HIDDEN void spring__frames_free(spring_vmm_t *vmm, const size_t *f, size_t n);
/* Frames for the HAT backend's tables: free frames only, never blocking
 * (SPRING_ENOFRAMES); and giving them back.  => any lock may be held up to
 * the HAT's (taken from inside HAT slots). */
SPRING__HIDDEN int spring__frames_take_special(spring_vmm_t *vmm, size_t n, size_t *out);
SPRING__HIDDEN void spring__frames_give_special(spring_vmm_t *vmm, const size_t *f, size_t n);
/* Something frame_cv waiters wait for happened (frames freed, a transfer
 * ended, a pin released): wake them.  _locked: => page_lock held. */
SPRING__HIDDEN void spring__frame_event(spring_vmm_t *vmm);
SPRING__HIDDEN void spring__frame_event_locked(spring_vmm_t *vmm);

/* qsbr.c: grace periods for translations without atomics.  Free frames
 * that fast translations may have reached: they go back to the free list
 * after a grace period (=> page_lock not held).  Wait for a grace period
 * that began after now, with no lock held (0, SPRING_EQUIESCE after a
 * second).  Request one (=> page_lock held); its sequence is returned. */
SPRING__HIDDEN void spring__frames_free_deferred(spring_vmm_t *vmm, const size_t *f, size_t n);
SPRING__HIDDEN int spring__gp_wait(spring_vmm_t *vmm);
SPRING__HIDDEN uint64_t spring__gp_request_locked(spring_vmm_t *vmm);
/* Wait for in-flight grace periods before the VMM goes (0, EQUIESCE). */
SPRING__HIDDEN int spring__gp_drain(spring_vmm_t *vmm);
SPRING__HIDDEN int spring__gp_init(spring_vmm_t *vmm);
SPRING__HIDDEN void spring__gp_fini(spring_vmm_t *vmm);
/* A frame deferred by its last unpin.  => page_lock held. */
SPRING__HIDDEN void spring__frame_defer_locked(spring_vmm_t *vmm, struct vm_frame *f);
/* spring_as_translate_fast's miss path, and the fault it makes (as.c:
 * a fault that marks the block reached by a fast translation). */
SPRING__HIDDEN int spring__translate_fast_slow(spring_as_t *as, spring_addr_t va, spring_rights_t access, void **ptr);
SPRING__HIDDEN int spring__as_fault_fast(spring_as_t *as, spring_addr_t va, spring_rights_t access, size_t *frame);
/* A call in progress on an address space, which spring_as_destroy waits
 * for (as.c, "Calls in progress").  spring__as_enter answers false, having
 * left again, when the space is being destroyed; otherwise the caller
 * calls spring__as_leave when done with the space.  => no lock held. */
struct vm_as_call {
    spring_as_t *as;
    void *rec; /* as.c: the thread's record the call is in, or NULL */
    int how;   /* as.c: how the call was entered */
};
SPRING__HIDDEN bool spring__as_enter(spring_as_t *as, struct vm_as_call *c);
SPRING__HIDDEN void spring__as_leave(struct vm_as_call *c);
/* Free a destroyed address space's record once no fast translation that
 * may have begun before can still read it (at once when no thread is
 * registered for fast translations). */
SPRING__HIDDEN void spring__as_free_deferred(spring_as_t *as);
/* The calling thread is between a wait's start and end: quiescent. */
SPRING__HIDDEN void spring__qs_offline(void);
SPRING__HIDDEN void spring__qs_online(void);

/* cache/pageout.c: replacement.  Make at least n frames free by evicting
 * blocks, waiting (on frame_cv, up to a second) while the only candidates
 * are in transit or pinned.  0, or SPRING_ENOFRAMES.  => no lock held. */
SPRING__HIDDEN int spring__pageout_make_room(spring_vmm_t *vmm, size_t n);
/* mem/frame.c: drop a pin. */
SPRING__HIDDEN void spring__frame_unpin(spring_vmm_t *vmm, struct vm_frame *fr, bool write);
/* The most pages a block may have in this VMM: a quarter of the pool
 * (at least one page).  vmm.h documents it. */
static inline size_t spring__max_block_pages(const spring_vmm_t *vmm)
{
    return vmm->nframes / 4 ? vmm->nframes / 4 : 1;
}
static inline void *spring__frame_addr(const spring_vmm_t *vmm, size_t f)
{
    return vmm->frame_base + (f << vmm->page_shift);
}

/* The cache layer (libvm/cache/): in cache.c unless a comment names
 * another file of that folder. */
/* The cache's id (its trace identity and frame owner mark).  => c alive. */
SPRING__HIDDEN uint64_t spring__cache_id(const struct vm_cache *c);
SPRING__HIDDEN void spring__cache_ref(struct vm_cache *c);
SPRING__HIDDEN void spring__cache_unref(struct vm_cache *c);
SPRING__HIDDEN int spring__cache_new(spring_vmm_t *vmm, spring_privilege_t priv, const spring_pager_ops_t *ops,
                                     void *pager, bool signal_last_ref, const spring_pager_info_t *info,
                                     spring_ownership_t own, spring_rights_t max_rights, struct vm_cache **out);
SPRING__HIDDEN void spring__cache_attach(struct vm_cache *c, bool rw);
/* The cache is bound writable from now on (§6.1).  => no lock held. */
SPRING__HIDDEN void spring__cache_note_rw(struct vm_cache *c);
/* Live caches, and those on the unattached lists.  => no lock held. */
SPRING__HIDDEN void spring__cache_count(spring_vmm_t *vmm, size_t *ncaches, size_t *unattached);
SPRING__HIDDEN void spring__cache_detach(struct vm_cache *c);
/* What a fault does to the frame it enters (struct vm_fault.pin). */
enum vm_pin {
    VM_PIN_NONE = 0,  /* nothing: spring_as_fault, lock_memory */
    VM_PIN_READ = 1,  /* a pin (spring_as_translate for reading, as_copy) */
    VM_PIN_WRITE = 2, /* a write pin: the block is marked modified */
    VM_PIN_FAST = 3   /* no pin: a fast translation (QSBR, mem/qsbr.c) */
};
/* The fault path's bounds (as/as.c, cache/fault.c): how often an
 * address-space event handler may resolve one fault, how often a fault
 * starts over for frames (the HAT's tables, or a page brought in and taken
 * away again), and how many pager calls one fault may make for its block. */
#define VM_FAULT_HANDLER_TRIES 8
#define VM_FAULT_LOOPS 1000
#define VM_FAULT_PAGER_TRIES 64
/* A fault in the cache layer (§9.4 step 3). */
struct vm_fault {
    spring_off_t off;       /* cache offset of the faulting page */
    spring_rights_t access; /* R, W or X */
    bool rw_ok;             /* the mapping is writable (exclusive-ownership rule) */
    void *hatctx;           /* where to enter the translation (fast only) */
    spring_addr_t va;       /* page-aligned virtual address */
    spring_rights_t prot;   /* the mapping's rights for the page */
    spring_addr_t ahead_lo, ahead_hi; /* where the same rights map the cache linearly (map-ahead) */
    enum vm_pin pin;        /* what to do to the frame entered */
    size_t frame;           /* out: the frame entered */
    bool zero_filled;       /* out */
    bool paged_in;          /* out */
};
/* Internal "try the slow path" code; never returned to callers. */
#define SPRING__EAGAIN 1
/* fault.c: with the address-space lock held (read): if the page is resident in the
 * right mode (or zero-fill with a free frame), enter its translation under
 * the cache lock and pin as asked; else SPRING__EAGAIN.  Never waits and
 * never calls a pager. */
SPRING__HIDDEN int spring__cache_fault_fast(struct vm_cache *c, struct vm_fault *f);
/* fault.c: with no lock held: make the page resident in the right mode (waiting for
 * transit, paging in or upgrading).  Enters nothing. */
SPRING__HIDDEN int spring__cache_fault_slow(struct vm_cache *c, struct vm_fault *f);
/* pageout.c: evict one block, for the frame allocator.  => no lock held.  Returns 0 if
 * the block was freed, >0 if skipped, <0 on error. */
SPRING__HIDDEN int spring__cache_evict(struct vm_cache *c, spring_off_t off);
/* pagerops.c: VMM-internal zero fill of a range of an anonymous cache: discard what is
 * cached and enter the range in the zero-fill table (no pager call; may be
 * called with the address-space lock held) ... */
SPRING__HIDDEN int spring__cache_discard(struct vm_cache *c, spring_off_t off, spring_off_t size);
/* ... and tell the pager the range is zero (zero_fill_range).
 * => no lock held. */
SPRING__HIDDEN int spring__cache_tell_zero(struct vm_cache *c, spring_off_t off, spring_off_t size);
/* pageout.c: write back / flush for spring_as_flush. => no lock held. */
SPRING__HIDDEN int spring__cache_flush(struct vm_cache *c, spring_off_t off, spring_off_t size, bool keep);
/* block.c */
SPRING__HIDDEN int spring__cache_lock_range(struct vm_cache *c, spring_off_t off, spring_off_t size, int delta);
/* Write every modified block of every cache back to its pager: with keep
 * as spring_vmm_sync() (sync, else write_out), else paged out as
 * reclamation does; with skip_anon, not those of anonymous memory (caches
 * whose pager said SPRING_CACHE_ANON).  Returns the first failure; every
 * cache is tried.  => no lock held. */
SPRING__HIDDEN int spring__cache_push_all(spring_vmm_t *vmm, bool keep, bool skip_anon);
SPRING__HIDDEN void spring__cache_destroy_all(spring_vmm_t *vmm);
/* Destroy a cache whose creation is being undone (no done_with_pager_object). */
SPRING__HIDDEN void spring__cache_abort(struct vm_cache *c);
SPRING__HIDDEN int spring__rights_attach(spring_vmm_t *vmm, spring_cache_rights_t r, bool rw,
                                         struct vm_cache **out, spring_rights_t *rights);
SPRING__HIDDEN int spring__cache_reclaim(spring_vmm_t *vmm, size_t keep);
/* block.c */
SPRING__HIDDEN bool spring__cache_zr_contains(const struct vm_cache *c, spring_off_t off);
/* as/as.c: the address space's part of the consistency checker. */
SPRING__HIDDEN int spring__as_check(spring_as_t *as, const char **why);
SPRING__HIDDEN size_t spring__cache_resident(struct vm_cache *c, spring_off_t off, spring_off_t len);
SPRING__HIDDEN int spring__cache_check(struct vm_cache *c, const char **why);
SPRING__HIDDEN void spring__cache_pager_stats(struct vm_cache *c, spring_pager_stats_t *st);

/* bind.c */
/* Resolve a memory object to a cache: bind, then final_bind if needed.
 * On success *cache holds a reference and an attachment.  as_id: the
 * address space mapping it, for the trace records. */
SPRING__HIDDEN int spring__bind(spring_vmm_t *vmm, uint64_t as_id, spring_mobj_t *mobj, spring_rights_t access,
                                spring_off_t mobj_off, spring_off_t *length, struct vm_cache **cache,
                                spring_off_t *cache_off, spring_rights_t *rights);

/* anon.c: the in-tree anonymous pager (anon.h) */
#include "pager/anon.h"

/* data.c */
SPRING__HIDDEN bool spring__all_zero(const void *p, size_t n);

/* error.c: structures that grow (common.h, "structures that grow"); each
 * starts with its size_t size.  struct_in: the caller's structure src,
 * read into dst (known bytes, holding the defaults), where first is the
 * size of the structure's first version; 0, or SPRING_EINVAL for a size
 * below first or a larger one whose bytes past known are not zero.
 * dst->size becomes known.  struct_out: a structure the library fills,
 * checked before (SPRING_EINVAL for a size below first), then the known
 * bytes of src copied to dst up to dst's size (dst->size kept), the bytes
 * past known zeroed. */
SPRING__HIDDEN int spring__struct_in(void *dst, size_t known, size_t first, const void *src);
SPRING__HIDDEN int spring__struct_out_check(const void *dst, size_t first);
SPRING__HIDDEN void spring__struct_out(void *dst, const void *src, size_t known);
/* The first version of each (the sizes when the size field came in; a
 * field appended later leaves these as they are). */
#define SPRING__VMM_CONFIG_V1 sizeof(spring_vmm_config_t)
#define SPRING__AS_OPTIONS_V1 sizeof(spring_as_options_t)
#define SPRING__VM_INFO_V1 sizeof(spring_vm_info_t)
#define SPRING__AS_STATS_V1 sizeof(spring_as_statistics_t)
#define SPRING__PAGER_STATS_V1 sizeof(spring_pager_stats_t)

/* HAT dispatch (the wrappers need the structures above). */
#include "hat/hatcall.h"


#define SPRING__MIN(a, b) ((a) < (b) ? (a) : (b))
#define SPRING__MAX(a, b) ((a) > (b) ? (a) : (b))

#endif /* SPRING_VM_INT_H */
