/*
 * cache.c - the cache layer (paper §5.1, §6.1, §9.2): cache descriptors,
 * cached blocks, the page hash, the zero-fill table, the fault path's
 * page_in, eviction, and the cache object methods pagers call.
 *
 * A block is the unit of paging: block_size bytes (a power-of-two multiple
 * of the page size) held in pages_per_block frames.  A block is either
 * wholly cached or not at all, and has one mode (read-only or read-write).
 *
 * In-transition blocks (§9.2.2): a block being paged in is entered as a
 * stub (state VM_B_PAGEIN) before the cache lock is dropped for the pager
 * call; a second fault on it waits on the cache's condition variable.  A
 * pager call that removes a block in transit (flush_back, delete_range,
 * populate, destroy_cache, even from inside the page_in itself) never waits
 * for it: it marks the block doomed and unhashes it at once; the thread
 * that owns the transfer frees it when the pager returns, discarding the
 * data that arrived.
 *
 * Locks: cache->lock protects the block tree, the blocks' states, the
 * zero-fill table and the lock counts.  Order: cache->lock -> hash bucket
 * -> vmm->page_lock -> HAT.  Never held across a pager call.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vm_int.h"

static int block_cmp(const struct vm_block *a, const struct vm_block *b)
{
    return a->offset < b->offset ? -1 : a->offset > b->offset;
}
RB_GENERATE_STATIC(vm_block_tree, vm_block, tnode, block_cmp)

static int lockent_cmp(const struct vm_lockent *a, const struct vm_lockent *b)
{
    return a->offset < b->offset ? -1 : a->offset > b->offset;
}
RB_GENERATE_STATIC(vm_lock_tree, vm_lockent, node, lockent_cmp)

/* ------------------------------------------------------------------ */
/* References and lists.                                                */

static void zr_clear(struct vm_cache *c);

static void cache_free(struct vm_cache *c)
{
    spring_vmm_t *vmm = c->vmm;
    struct vm_lockent *le, *ln;
    RB_FOREACH_SAFE(le, vm_lock_tree, &c->locks, ln) {
        RB_REMOVE(vm_lock_tree, &c->locks, le);
        free(le);
    }
    vm_lock(&vmm->page_lock);
    vmm->nlocked -= c->nlocked * c->pages_per_block;
    vm_unlock(&vmm->page_lock);
    zr_clear(c);
    free(c->rights_h);
    vm_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->cv);
    free(c);
}

void spring__cache_ref(struct vm_cache *c)
{
    atomic_fetch_add(&c->refs, 1);
}

void spring__cache_unref(struct vm_cache *c)
{
    if (atomic_fetch_sub(&c->refs, 1) == 1)
        cache_free(c);
}

/* => vmm->cache_lock held. */
static void list_move(struct vm_cache *c, int list)
{
    spring_vmm_t *vmm = c->vmm;
    if (c->list == list)
        return;
    if (c->list != VM_CL_NONE)
        TAILQ_REMOVE(&vmm->lists[c->list], c, lq);
    c->list = list;
    if (list != VM_CL_NONE)
        TAILQ_INSERT_TAIL(&vmm->lists[list], c, lq);
}

static int unattached_list(const struct vm_cache *c)
{
    switch (c->info.kind) {
    case SPRING_CACHE_TEXT:
        return VM_CL_UNATT_TEXT;
    case SPRING_CACHE_ANON:
        return VM_CL_UNATT_ANON;
    default:
        return VM_CL_UNATT_DATA;
    }
}

static bool valid_own(spring_ownership_t o)
{
    return o == SPRING_OWN_EXCLUSIVE || o == SPRING_OWN_SHARED;
}

int spring__cache_new(spring_vmm_t *vmm, spring_privilege_t priv, const spring_pager_ops_t *ops, void *pager,
                      bool signal_last_ref, const spring_pager_info_t *info, spring_ownership_t own,
                      spring_rights_t max_rights, struct vm_cache **out)
{
    if (ops == NULL || info == NULL || out == NULL || !spring_rights_valid(max_rights) || !valid_own(own))
        return SPRING_EINVAL;
    if (ops->version < 1 || ops->version > SPRING_PAGER_OPS_VERSION)
        return SPRING_EVERSION;
    if (ops->page_in == NULL || ops->page_out == NULL)
        return SPRING_EINVAL;
    if (info->kind != SPRING_CACHE_DATA && info->kind != SPRING_CACHE_TEXT && info->kind != SPRING_CACHE_ANON)
        return SPRING_EINVAL;
    spring_off_t bs = info->block_size ? info->block_size : vmm->page_size;
    if (bs < vmm->page_size || (bs & (bs - 1)) != 0)
        return SPRING_EINVAL;
    /* The block-size rule of vmm.h: at most a quarter of the pool, and
     * faults must always find two blocks' worth of frames not locked. */
    if (bs / vmm->page_size > spring__max_block_pages(vmm))
        return SPRING_ENOFRAMES;
    size_t ppb = (size_t)(bs / vmm->page_size);
    vm_lock(&vmm->page_lock);
    bool fits = vmm->nlocked + 2 * ppb <= vmm->nframes;
    vm_unlock(&vmm->page_lock);
    if (!fits)
        return SPRING_ENOFRAMES;
    struct vm_cache *c = spring__calloc(vmm, 1, sizeof *c);
    if (c == NULL)
        return SPRING_ENOMEM;
    vm_lock(&vmm->page_lock);
    vmm->max_block_pages = SPRING__MAX(vmm->max_block_pages, ppb);
    vm_unlock(&vmm->page_lock);
    c->vmm = vmm;
    c->id = atomic_fetch_add(&vmm->next_cache_id, 1) + 1;
    vm_mutex_init(&c->lock, VM_RANK_CACHE);
    vm_cond_init(&c->cv);
    atomic_init(&c->refs, 1); /* the creation reference, dropped at destruction */
    c->pops = ops;
    c->pager = pager;
    c->info = *info;
    c->info.block_size = bs;
    c->block_size = bs;
    c->block_shift = (unsigned)__builtin_ctzll(bs);
    c->pages_per_block = (size_t)(bs / vmm->page_size);
    c->max_rights = max_rights;
    c->priv = priv;
    c->signal_last_ref = signal_last_ref;
    c->own = own;
    c->list = VM_CL_NONE;
    RB_INIT(&c->blocks);
    RB_INIT(&c->locks);
    RB_INIT(&c->zr);
    int rc = spring__handle_new(VM_H_CACHE, c, 0, &c->handle);
    if (rc) {
        vm_mutex_destroy(&c->lock);
        pthread_cond_destroy(&c->cv);
        free(c);
        return rc;
    }
    vm_lock(&vmm->cache_lock);
    list_move(c, VM_CL_NEW);
    vmm->ncaches++;
    vm_unlock(&vmm->cache_lock);
    *out = c;
    return 0;
}

/* Issue a cache-rights handle.  => no lock held. */
static int rights_new(struct vm_cache *c, spring_rights_t r, uint64_t *out)
{
    vm_lock(&c->lock);
    if (c->destroyed) {
        vm_unlock(&c->lock);
        return SPRING_EBADHANDLE;
    }
    if (c->nrights == c->rightscap) {
        size_t ncap = c->rightscap ? c->rightscap * 2 : 4;
        uint64_t *n = spring__realloc(c->vmm, c->rights_h, ncap * sizeof *n);
        if (n == NULL) {
            vm_unlock(&c->lock);
            return SPRING_ENOMEM;
        }
        c->rights_h = n;
        c->rightscap = ncap;
    }
    int rc = spring__handle_new(VM_H_RIGHTS, c, r, out);
    if (rc == 0)
        c->rights_h[c->nrights++] = *out;
    vm_unlock(&c->lock);
    return rc;
}

/* Attach a region or binding.  Unless `always`, fails if the cache is
 * destroyed or being reclaimed (off every list); with `always` (a region
 * split: the cache is attached already) it counts regardless. */
static bool attach(struct vm_cache *c, bool rw, bool always)
{
    spring_vmm_t *vmm = c->vmm;
    vm_lock(&vmm->cache_lock);
    if (c->list == VM_CL_NONE && !always) {
        vm_unlock(&vmm->cache_lock);
        return false;
    }
    c->nattach++;
    if (c->list != VM_CL_NONE)
        list_move(c, VM_CL_ATTACHED);
    vm_unlock(&vmm->cache_lock);
    if (rw) {
        vm_lock(&c->lock);
        c->rw_attach++;
        vm_unlock(&c->lock);
    }
    return true;
}

void spring__cache_attach(struct vm_cache *c, bool rw)
{
    (void)attach(c, rw, true);
}

/* Drop an attachment.  At the last one the cache goes to its unattached
 * list and, if asked, the pager is told (done_with_cache).  Caches the
 * pager did not ask to keep are reclaimed at once.  => no lock held. */
void spring__cache_detach(struct vm_cache *c)
{
    spring_vmm_t *vmm = c->vmm;
    bool last = false;
    vm_lock(&vmm->cache_lock);
    if (--c->nattach == 0) {
        last = true;
        if (c->list != VM_CL_NONE)
            list_move(c, unattached_list(c));
    }
    vm_unlock(&vmm->cache_lock);
    if (!last)
        return;
    vm_lock(&c->lock);
    bool tell = c->signal_last_ref && !c->destroyed && c->pops->done_with_cache != NULL;
    spring_ownership_t own = c->own;
    if (tell)
        c->callouts++;
    vm_unlock(&c->lock);
    if (tell) {
        spring__pager_done_with_cache(c, &own);
        vm_lock(&c->lock);
        c->callouts--;
        bool done = c->destroyed && c->callouts == 0 && !c->pager_done;
        if (done)
            c->pager_done = true;
        if (valid_own(own) && !c->destroyed)
            c->own = own;
        vm_unlock(&c->lock);
        if (done)
            spring__pager_done_with_pager_object(c);
    }
    /* Keep the unattached lists within bounds; caches not to be kept go now. */
    spring__cache_reclaim(vmm, vmm->max_unattached);
}

/* ------------------------------------------------------------------ */
/* Page hash.                                                           */

static struct vm_hash_bucket *bucket(spring_vmm_t *vmm, const struct vm_cache *c, spring_off_t off)
{
    uint64_t k = ((uint64_t)(uintptr_t)c >> 4) ^ (off >> vmm->page_shift) * 0x9e3779b97f4a7c15ULL;
    k ^= k >> 29;
    return &vmm->hash[k & vmm->hash_mask];
}

static vm_mutex_t *bucket_lock(spring_vmm_t *vmm, const struct vm_hash_bucket *hb)
{
    return &vmm->hash_locks[(size_t)(hb - vmm->hash) % VM_HASH_LOCKS].m;
}

/* => c->lock held. */
static struct vm_block *lookup(struct vm_cache *c, spring_off_t off)
{
    struct vm_hash_bucket *hb = bucket(c->vmm, c, off);
    struct vm_block *b;
    vm_lock(bucket_lock(c->vmm, hb));
    for (b = hb->head; b; b = b->hnext)
        if (b->cache == c && b->offset == off)
            break;
    vm_unlock(bucket_lock(c->vmm, hb));
    return b;
}

/* Enter b in the cache's tree and the page hash.  => c->lock held. */
static void block_hash(struct vm_cache *c, struct vm_block *b)
{
    struct vm_hash_bucket *hb = bucket(c->vmm, c, b->offset);
    RB_INSERT(vm_block_tree, &c->blocks, b);
    c->nblocks++;
    vm_lock(bucket_lock(c->vmm, hb));
    b->hnext = hb->head;
    hb->head = b;
    vm_unlock(bucket_lock(c->vmm, hb));
    b->hashed = true;
    for (size_t i = 0; i < b->nframes; i++) {
        c->vmm->frames[b->frames[i]].block = b;
        c->vmm->frames[b->frames[i]].owner = c->id;
    }
}

/* => c->lock held. */
static void block_unhash(struct vm_cache *c, struct vm_block *b)
{
    if (!b->hashed)
        return;
    struct vm_hash_bucket *hb = bucket(c->vmm, c, b->offset);
    vm_lock(bucket_lock(c->vmm, hb));
    for (struct vm_block **pp = &hb->head; *pp; pp = &(*pp)->hnext)
        if (*pp == b) {
            *pp = b->hnext;
            break;
        }
    vm_unlock(bucket_lock(c->vmm, hb));
    RB_REMOVE(vm_block_tree, &c->blocks, b);
    c->nblocks--;
    b->hashed = false;
}

static struct vm_block *block_alloc(struct vm_cache *c, spring_off_t off)
{
    struct vm_block *b = spring__calloc(c->vmm, 1, sizeof *b + c->pages_per_block * sizeof(size_t));
    if (b == NULL)
        return NULL;
    b->cache = c;
    b->offset = off;
    b->nframes = c->pages_per_block;
    return b;
}

/* Free a block that is no longer hashed: its translations go, its frames
 * return to the pool (pinned ones as orphans).  => c->lock held. */
static void block_release(struct vm_cache *c, struct vm_block *b)
{
    spring_vmm_t *vmm = c->vmm;
    spring__lru_remove(vmm, b);
    spring__hat_unload_block(vmm, b);
    spring__frames_free(vmm, b->frames, b->nframes);
    free(b);
}

/* Remove a block from the cache.  A block in transit is only doomed; its
 * owner frees it when the transfer ends.  A block being paged in is
 * unhashed at once (its data comes from the pager and can be fetched
 * again); any other block in transit (being paged out, upgraded or taken
 * back) stays hashed meanwhile, so that a new fault waits for it instead of
 * paging in what the pager has not received yet; with make_room (populate)
 * it is unhashed at once for the new block.
 * discard: the data is not wanted (delete_range, destroy); otherwise, if
 * the page-out fails, the owner keeps the block.  => c->lock held. */
static void block_remove(struct vm_cache *c, struct vm_block *b, bool discard, bool make_room)
{
    if (b->state == VM_B_VALID) {
        block_unhash(c, b);
        block_release(c, b);
        return;
    }
    b->doomed = true;
    b->discard |= discard;
    if (b->state == VM_B_PAGEIN || make_room)
        block_unhash(c, b);
}

/* After a transfer: free a doomed block.  => c->lock held. */
static void block_release_doomed(struct vm_cache *c, struct vm_block *b)
{
    block_unhash(c, b);
    block_release(c, b);
}

static void transit_add(spring_vmm_t *vmm, int d)
{
    vm_lock(&vmm->page_lock);
    vmm->ntransit = (size_t)((long)vmm->ntransit + d);
    if (d < 0)
        pthread_cond_broadcast(&vmm->frame_cv);
    vm_unlock(&vmm->page_lock);
}

/* Wait until no frame of b has a write pin.  Callers have removed or
 * restricted b's write translations first, so no new write pin can be
 * taken (the translate fast path re-validates after pinning).
 * => c->lock held (pin holders never take a cache lock). */
static bool any_wpins(spring_vmm_t *vmm, const struct vm_block *b)
{
    for (size_t i = 0; i < b->nframes; i++)
        if (atomic_load(&vmm->frames[b->frames[i]].wpins) != 0)
            return true;
    return false;
}

/* Wait until no frame of b has a write pin.  The caller has removed or
 * restricted b's write translations and marked b in transit, so no new
 * write pin can be taken (the translate fast path re-validates after
 * pinning) and b stays allocated; the cache lock is dropped while waiting,
 * so that a pin holder can still fault elsewhere in the cache.  The caller
 * re-checks b->doomed afterwards.  => c->lock held; dropped and re-taken. */
static void wait_wpins(struct vm_cache *c, struct vm_block *b)
{
    spring_vmm_t *vmm = c->vmm;
    if (!any_wpins(vmm, b))
        return;
    vm_unlock(&c->lock);
    atomic_fetch_add(&vmm->pin_waiters, 1);
    vm_lock(&vmm->page_lock);
    while (any_wpins(vmm, b))
        vm_cond_wait(&vmm->frame_cv, &vmm->page_lock);
    vm_unlock(&vmm->page_lock);
    atomic_fetch_sub(&vmm->pin_waiters, 1);
    vm_lock(&c->lock);
}

static bool any_pins(spring_vmm_t *vmm, const struct vm_block *b)
{
    for (size_t i = 0; i < b->nframes; i++)
        if (atomic_load(&vmm->frames[b->frames[i]].pins) != 0)
            return true;
    return false;
}

/* Gather the HAT's modified bits into b->dirty, clearing them.
 * => c->lock held. */
static bool block_dirty(spring_vmm_t *vmm, struct vm_block *b)
{
    for (size_t i = 0; i < b->nframes; i++)
        if (spring__hat_frame_refmod(vmm, b->frames[i], SPRING_HAT_MOD) & SPRING_HAT_MOD)
            b->dirty = true;
    return b->dirty;
}

/* ------------------------------------------------------------------ */
/* Zero-fill table: a tree of sorted, non-overlapping, coalesced ranges. */

static int zr_cmp(const struct vm_zrange *a, const struct vm_zrange *b)
{
    return a->start < b->start ? -1 : a->start > b->start;
}
RB_GENERATE_STATIC(vm_zr_tree, vm_zrange, node, zr_cmp)

/* The first range ending after off.  => c->lock held. */
static struct vm_zrange *zr_first_after(const struct vm_cache *c, spring_off_t off)
{
    struct vm_zrange *n = RB_ROOT(&c->zr), *best = NULL;
    while (n != NULL) {
        if (n->end > off) {
            best = n;
            if (n->start <= off)
                return n;
            n = RB_LEFT(n, node);
        } else
            n = RB_RIGHT(n, node);
    }
    return best;
}

bool spring__cache_zr_contains(const struct vm_cache *c, spring_off_t off)
{
    const struct vm_zrange *r = zr_first_after(c, off);
    return r != NULL && r->start <= off;
}

static void zr_clear(struct vm_cache *c)
{
    struct vm_zrange *r, *n;
    RB_FOREACH_SAFE(r, vm_zr_tree, &c->zr, n) {
        RB_REMOVE(vm_zr_tree, &c->zr, r);
        free(r);
    }
    c->nzr = 0;
}

/* Remove [s, e) from the table; a split needs one node.  => c->lock held. */
static int zr_remove(struct vm_cache *c, spring_off_t s, spring_off_t e)
{
    if (s >= e)
        return 0; /* an empty range: nothing to remove (and nothing to split) */
    struct vm_zrange *r = zr_first_after(c, s), *next;
    if (r != NULL && r->start < s && r->end > e) {
        struct vm_zrange *n = spring__malloc(c->vmm, sizeof *n);
        if (n == NULL)
            return SPRING_ENOMEM;
        n->start = e;
        n->end = r->end;
        r->end = s;
        RB_INSERT(vm_zr_tree, &c->zr, n);
        c->nzr++;
        return 0;
    }
    for (; r != NULL && r->start < e; r = next) {
        next = RB_NEXT(vm_zr_tree, &c->zr, r);
        if (r->start >= s && r->end <= e) {
            RB_REMOVE(vm_zr_tree, &c->zr, r);
            free(r);
            c->nzr--;
        } else if (r->start < s) {
            r->end = s;
        } else {
            r->start = e; /* the order among ranges is unchanged */
        }
    }
    return 0;
}

/* Add [s, e).  => c->lock held. */
static int zr_add(struct vm_cache *c, spring_off_t s, spring_off_t e)
{
    if (s >= e)
        return 0; /* an empty range is never entered */
    struct vm_zrange *r = zr_first_after(c, s);
    if (r != NULL && r->start <= s && r->end >= e)
        return 0; /* already there */
    struct vm_zrange *n = spring__malloc(c->vmm, sizeof *n);
    if (n == NULL)
        return SPRING_ENOMEM;
    (void)zr_remove(c, s, e); /* no split: no range holds all of [s, e) */
    n->start = s;
    n->end = e;
    RB_INSERT(vm_zr_tree, &c->zr, n);
    c->nzr++;
    struct vm_zrange *p = RB_PREV(vm_zr_tree, &c->zr, n), *x = RB_NEXT(vm_zr_tree, &c->zr, n);
    if (x != NULL && x->start == n->end) {
        n->end = x->end;
        RB_REMOVE(vm_zr_tree, &c->zr, x);
        free(x);
        c->nzr--;
    }
    if (p != NULL && p->end == n->start) {
        p->end = n->end;
        RB_REMOVE(vm_zr_tree, &c->zr, n);
        free(n);
        c->nzr--;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Pager calls.                                                          */

/* Before a pager call.  => c->lock held. */
static void callout_begin(struct vm_cache *c)
{
    c->callouts++;
}

/* After a pager call: take the ownership the pager set, and find out
 * whether the pager object is now due its done_with_pager_object.
 * => c->lock held. */
static bool callout_end(struct vm_cache *c, spring_ownership_t own)
{
    c->callouts--;
    if (!c->destroyed && valid_own(own))
        c->own = own;
    if (c->destroyed && c->callouts == 0 && !c->pager_done) {
        c->pager_done = true;
        return true;
    }
    return false;
}

static void pager_done(struct vm_cache *c)
{
    spring__pager_done_with_pager_object(c);
}

/* ------------------------------------------------------------------ */
/* Pushing modified blocks back to the pager: page_out, sync, write_out. */

/*
 * Modified blocks go back in batches: one pager call carries the blocks of
 * a run of contiguous block offsets, as one data entry per page pointing
 * into the frames (a block's frames are not contiguous, so there is no
 * bounce copy), at most PUSH_PAGES pages (or one block, if a block is
 * larger).  Every block of a batch is in transit (VM_B_PAGEOUT, on the
 * page-out list) from push_add until push_call has applied the result.
 */
#define PUSH_PAGES 256

struct push {
    struct vm_cache *c;
    int how;                  /* of the blocks in the batch */
    spring_off_t end;         /* the offset after the batch's last block */
    size_t nblk, nent, cap;   /* cap: entries the arrays hold */
    struct vm_block **blk;
    spring_data_block_t *ent;
    struct vm_block *blk1[PUSH_PAGES];
    spring_data_block_t ent1[PUSH_PAGES];
    bool due;                 /* done_with_pager_object is due */
    int rc;                   /* the first failure */
};

/* Start an empty batch.  Allocates only for blocks of more than
 * PUSH_PAGES pages.  => no lock needed. */
static int push_init(struct vm_cache *c, struct push *p)
{
    p->c = c;
    p->how = VM_PUSH_OUT;
    p->end = 0;
    p->nblk = p->nent = 0;
    p->due = false;
    p->rc = 0;
    p->cap = PUSH_PAGES;
    p->blk = p->blk1;
    p->ent = p->ent1;
    if (c->pages_per_block > PUSH_PAGES) {
        p->cap = c->pages_per_block;
        p->ent = spring__malloc(c->vmm, p->cap * sizeof *p->ent);
        p->blk = spring__malloc(c->vmm, p->cap * sizeof *p->blk);
        if (p->ent == NULL || p->blk == NULL) {
            free(p->ent != p->ent1 ? p->ent : NULL);
            free(p->blk != p->blk1 ? p->blk : NULL);
            return SPRING_ENOMEM;
        }
    }
    return 0;
}

static void push_fini(struct push *p)
{
    if (p->ent != p->ent1)
        free(p->ent);
    if (p->blk != p->blk1)
        free(p->blk);
}

/* Whether b, going back `how`, can join the batch. */
static bool push_fits(const struct push *p, const struct vm_block *b, int how)
{
    return p->nblk == 0 || (p->how == how && b->offset == p->end && p->nent + b->nframes <= p->cap);
}

/* Add b (modified, its write translations gone or write-protected, no
 * write pins) to the batch, which it fits.  => c->lock held. */
static void push_add(struct push *p, struct vm_block *b, int how)
{
    spring_vmm_t *vmm = p->c->vmm;
    b->state = VM_B_PAGEOUT;
    p->how = how;
    p->blk[p->nblk++] = b;
    p->end = b->offset + p->c->block_size;
    for (size_t i = 0; i < b->nframes; i++) {
        void *a = spring__frame_addr(vmm, b->frames[i]);
        spring_data_block_t *e = &p->ent[p->nent++];
        e->offset = b->offset + (spring_off_t)i * vmm->page_size;
        e->length = vmm->page_size;
        e->bytes = spring__all_zero(a, vmm->page_size) ? NULL : a;
    }
}

/* Send the batch to the pager in one call and apply the result to each of
 * its blocks: on success they are clean (page_out: released; write_out:
 * read-only); on failure they stay cached and modified.  A block doomed
 * meanwhile is released, unless the call failed and its data is still
 * wanted.  Returns the call's code and records the first failure in p->rc.
 * => c->lock held; dropped and re-taken around the call. */
static int push_call(struct push *p)
{
    struct vm_cache *c = p->c;
    spring_vmm_t *vmm = c->vmm;
    if (p->nblk == 0)
        return 0;
    spring_data_t d = {p->nent, p->ent};
    spring_off_t off = p->blk[0]->offset, len = p->end - off;
    spring_ownership_t own = c->own;
    callout_begin(c);
    transit_add(vmm, +1);
    for (size_t i = 0; i < p->nblk; i++)
        spring__pageout_move(vmm, p->blk[i], true);
    vm_unlock(&c->lock);
    int rc = spring__pager_push(c, p->how, off, len, &own, &d);
    vm_lock(&c->lock);
    transit_add(vmm, -1);
    p->due |= callout_end(c, own);
    for (size_t i = 0; i < p->nblk; i++) {
        struct vm_block *b = p->blk[i];
        spring__pageout_move(vmm, b, false);
        b->state = VM_B_VALID;
        if (b->doomed && rc != 0 && !b->discard && b->hashed) {
            b->doomed = false; /* flush_back wanted it, and the pager has not got it: keep it */
        } else if (b->doomed) {
            block_release_doomed(c, b);
        } else if (rc == 0) {
            b->dirty = false;
            if (p->how == VM_PUSH_OUT) {
                block_unhash(c, b);
                block_release(c, b);
            } else if (p->how == VM_PUSH_WRITE_OUT) {
                b->rw = false;
            }
        }
    }
    pthread_cond_broadcast(&c->cv);
    p->nblk = p->nent = 0;
    if (rc != 0 && p->rc == 0)
        p->rc = rc;
    return rc;
}

/* ------------------------------------------------------------------ */
/* The fault path's page_in (§9.4 step 3).                              */

/* Allocate frames for a new block with c->lock dropped.  With `lend` the
 * frames are about to be lent to the pager's page_in: any that last held
 * another cache's data is zeroed first (§7.4: a pager sees only its own
 * data), while nobody else can reach them.  Returns with c->lock held.
 * => c->lock held. */
static int alloc_frames_unlocked(struct vm_cache *c, struct vm_block *b, bool lend)
{
    spring_vmm_t *vmm = c->vmm;
    vm_unlock(&c->lock);
    int rc = spring__frames_alloc(vmm, b->nframes, b->frames);
    if (rc == 0)
        for (size_t i = 0; i < b->nframes; i++) {
            struct vm_frame *fr = &vmm->frames[b->frames[i]];
            spring__hat_frame_refmod(vmm, b->frames[i], SPRING_HAT_REF | SPRING_HAT_MOD);
            if (lend && fr->owner != 0 && fr->owner != c->id) {
                memset(spring__frame_addr(vmm, b->frames[i]), 0, vmm->page_size);
                fr->owner = 0;
                atomic_fetch_add(&vmm->st_scrubs, 1);
            }
        }
    vm_lock(&c->lock);
    return rc;
}

/* Whether any page of the block at boff is locked.  => c->lock held. */
static bool block_locked(struct vm_cache *c, spring_off_t boff)
{
    struct vm_lockent key = {.offset = boff};
    struct vm_lockent *le = RB_NFIND(vm_lock_tree, &c->locks, &key);
    return le != NULL && le->offset < boff + c->block_size;
}

/* Enter the translation for f and pin the frame.  => c->lock held, the
 * address-space lock held by the caller, b valid. */
static int fault_enter(struct vm_cache *c, struct vm_block *b, struct vm_fault *f)
{
    spring_vmm_t *vmm = c->vmm;
    size_t idx = (size_t)((f->off - b->offset) >> vmm->page_shift);
    size_t fr = b->frames[idx];
    spring_rights_t prot = f->prot;
    if (!b->rw)
        prot &= ~SPRING_RIGHTS_W;
    int rc = spring__hat_enter(vmm, f->hatctx, f->va, fr, prot);
    if (rc)
        return rc < 0 && rc > SPRING__ERR_MIN ? rc : SPRING_ENOMEM;
    if (f->pin) {
        atomic_fetch_add(&vmm->frames[fr].pins, 1);
        if (f->pin == 2) {
            atomic_fetch_add(&vmm->frames[fr].wpins, 1);
            b->dirty = true; /* writes through the pin bypass the HAT's bits */
        }
    }
    f->frame = fr;
    return 0;
}

/* Materialize a block from the zero-fill table into frames fr.
 * => c->lock held. */
static int zero_block(struct vm_cache *c, spring_off_t boff, const size_t *fr, struct vm_block **out)
{
    spring_vmm_t *vmm = c->vmm;
    struct vm_block *b = block_alloc(c, boff);
    if (b == NULL)
        return SPRING_ENOMEM;
    int rc = zr_remove(c, boff, boff + c->block_size);
    if (rc) {
        free(b);
        return rc;
    }
    for (size_t i = 0; i < b->nframes; i++) {
        b->frames[i] = fr[i];
        memset(spring__frame_addr(vmm, fr[i]), 0, vmm->page_size);
    }
    b->state = VM_B_VALID;
    b->rw = true;
    b->dirty = true; /* the pager holds no copy of this data */
    block_hash(c, b);
    spring__lru_insert(vmm, b);
    atomic_fetch_add(&vmm->st_zero_fills, b->nframes);
    *out = b;
    return 0;
}

int spring__cache_fault_fast(struct vm_cache *c, struct vm_fault *f)
{
    spring_vmm_t *vmm = c->vmm;
    spring_off_t boff = f->off & ~(c->block_size - 1);
    bool want_w = (f->access & SPRING_RIGHTS_W) != 0;
    int rc;
    vm_lock(&c->lock);
    if (c->destroyed) {
        vm_unlock(&c->lock);
        return SPRING_EDESTROYED;
    }
    struct vm_block *b = lookup(c, boff);
    if (b != NULL) {
        if (b->state != VM_B_VALID || (want_w && !b->rw)) {
            vm_unlock(&c->lock);
            return SPRING__EAGAIN;
        }
        rc = fault_enter(c, b, f);
        if (rc == 0)
            spring__lru_touch(vmm, b); /* under the cache lock: b may go once it is dropped */
        vm_unlock(&c->lock);
        return rc;
    }
    if (!spring__cache_zr_contains(c, boff)) {
        vm_unlock(&c->lock);
        return SPRING__EAGAIN;
    }
    /* A zero-fill page: served from the free list without a pager call. */
    size_t fr[c->pages_per_block];
    if (spring__frames_alloc_nowait(vmm, c->pages_per_block, fr) != 0) {
        vm_unlock(&c->lock);
        return SPRING__EAGAIN;
    }
    rc = zero_block(c, boff, fr, &b);
    if (rc == 0)
        rc = fault_enter(c, b, f);
    else
        spring__frames_free(vmm, fr, c->pages_per_block);
    if (rc == 0)
        f->zero_filled = true;
    vm_unlock(&c->lock);
    return rc;
}

/* Call the pager's page_in for block b, which is in transit (§9.4).  The
 * data lands in b's frames, or in `scratch` (b->nframes pages) when given;
 * on success the pages the pager marked all-zero are zeroed there.
 * Returns the pager's code.  => c->lock held; dropped and re-taken around
 * the call. */
static int pager_page_in(struct vm_cache *c, struct vm_block *b, bool rw, bool upgrade, bool *due,
                         uint8_t *scratch)
{
    spring_vmm_t *vmm = c->vmm;
    void *pages[b->nframes];
    uint8_t zero[b->nframes];
    for (size_t i = 0; i < b->nframes; i++)
        pages[i] = scratch ? scratch + i * vmm->page_size : spring__frame_addr(vmm, b->frames[i]);
    spring_page_buf_t pb = {b->offset, c->block_size, vmm->page_size, b->nframes, pages, zero, upgrade};
    spring_ownership_t own = c->own;
    callout_begin(c);
    transit_add(vmm, +1);
    vm_unlock(&c->lock);
    int prc = spring__pager_page_in(c, b->offset, c->block_size, rw ? SPRING_RIGHTS_RW : SPRING_RIGHTS_RO, &own,
                                    &pb);
    vm_lock(&c->lock);
    transit_add(vmm, -1);
    *due |= callout_end(c, own);
    pthread_cond_broadcast(&c->cv);
    if (prc == 0 && !b->doomed)
        for (size_t i = 0; i < b->nframes; i++)
            if (zero[i])
                memset(pages[i], 0, vmm->page_size);
    return prc;
}

/* Whether b's frames hold exactly the pages at src.  => b in transit. */
static bool frames_equal(spring_vmm_t *vmm, const struct vm_block *b, const uint8_t *src)
{
    for (size_t i = 0; i < b->nframes; i++)
        if (memcmp(spring__frame_addr(vmm, b->frames[i]), src + i * vmm->page_size, vmm->page_size) != 0)
            return false;
    return true;
}

/* Move b to fresh frames holding the pages at src.  The old frames go back
 * to the pool; pinned ones stay valid memory, with the old data, until
 * their last pin goes (spring_pin_valid() then says false).
 * => c->lock held, b in transit, its translations gone; dropped and
 *    re-taken around the allocation. */
static int block_new_frames(struct vm_cache *c, struct vm_block *b, const uint8_t *src)
{
    spring_vmm_t *vmm = c->vmm;
    size_t nf[b->nframes];
    vm_unlock(&c->lock);
    int rc = spring__frames_alloc(vmm, b->nframes, nf);
    for (size_t i = 0; rc == 0 && i < b->nframes; i++) {
        spring__hat_frame_refmod(vmm, nf[i], SPRING_HAT_REF | SPRING_HAT_MOD);
        memcpy(spring__frame_addr(vmm, nf[i]), src + i * vmm->page_size, vmm->page_size);
    }
    vm_lock(&c->lock);
    if (rc)
        return rc;
    if (b->doomed) { /* taken away meanwhile: its data is not wanted here */
        spring__frames_free(vmm, nf, b->nframes);
        return 0;
    }
    spring__frames_free(vmm, b->frames, b->nframes);
    memcpy(b->frames, nf, sizeof nf);
    for (size_t i = 0; i < b->nframes; i++) {
        vmm->frames[nf[i]].block = b;
        vmm->frames[nf[i]].owner = c->id;
    }
    return 0;
}

/*
 * Upgrade a read-only block to read-write (§5.1).  The pager may send
 * newer data with the grant.  Readers may hold pins on the block's frames
 * and be reading them (a pin taken before the unload below; see
 * spring__cache_evict), so the pager never writes into frames that
 * someone may be reading: with readers, its data goes to scratch memory,
 * and if it differs from the cached data the block moves to fresh frames
 * (the readers keep the old frames until they let go).  A modified block
 * keeps its own data: the cache holds the only current copy, so the
 * pager's data (in scratch) is discarded.
 * => c->lock held, b valid and read-only; dropped and re-taken.
 */
static int block_upgrade(struct vm_cache *c, struct vm_block *b, bool *due)
{
    spring_vmm_t *vmm = c->vmm;
    b->state = VM_B_OTHER;
    spring__hat_unload_block(vmm, b);
    (void)block_dirty(vmm, b); /* b->dirty now says whether the cache holds the only current data */
    uint8_t *scratch = NULL;
    if (b->dirty || any_pins(vmm, b)) {
        scratch = spring__malloc(vmm, b->nframes * vmm->page_size);
        if (scratch == NULL) {
            b->state = VM_B_VALID;
            pthread_cond_broadcast(&c->cv);
            return SPRING_ENOMEM;
        }
        for (size_t i = 0; i < b->nframes; i++)
            memcpy(scratch + i * vmm->page_size, spring__frame_addr(vmm, b->frames[i]), vmm->page_size);
    }
    int rc = pager_page_in(c, b, true, true, due, scratch);
    if (rc == 0 && scratch != NULL && !b->dirty && !b->doomed && !frames_equal(vmm, b, scratch))
        rc = block_new_frames(c, b, scratch);
    free(scratch);
    b->state = VM_B_VALID;
    pthread_cond_broadcast(&c->cv);
    if (b->doomed && !b->discard && b->dirty && b->hashed)
        b->doomed = false; /* flush_back skipped it in transit: its modified data must not go */
    if (b->doomed)
        block_release_doomed(c, b);
    else if (rc == 0)
        b->rw = true;
    return rc;
}

/* Page a block in through a stub (§9.4).  => c->lock held, no block at
 * boff; dropped and re-taken around frame allocation and the pager call. */
static int block_page_in(struct vm_cache *c, spring_off_t boff, bool mode_rw, bool *due, struct vm_fault *f)
{
    spring_vmm_t *vmm = c->vmm;
    struct vm_block *b = block_alloc(c, boff);
    if (b == NULL)
        return SPRING_ENOMEM;
    int rc = alloc_frames_unlocked(c, b, true);
    if (rc) {
        free(b);
        return rc;
    }
    if (c->destroyed || lookup(c, boff) != NULL) {
        /* Lost a race while the lock was dropped: the caller looks again. */
        spring__frames_free(vmm, b->frames, b->nframes);
        free(b);
        return 0;
    }
    if (spring__cache_zr_contains(c, boff)) {
        struct vm_block *zb;
        size_t fr[b->nframes];
        memcpy(fr, b->frames, sizeof fr);
        free(b);
        rc = zero_block(c, boff, fr, &zb);
        if (rc)
            spring__frames_free(vmm, fr, c->pages_per_block);
        else
            f->zero_filled = true;
        return rc;
    }
    b->state = VM_B_PAGEIN;
    block_hash(c, b);
    int prc = pager_page_in(c, b, mode_rw, false, due, NULL);
    b->state = VM_B_VALID;
    if (b->doomed || prc != 0) {
        /* Taken away during the call, or failed: discard the data. */
        block_release_doomed(c, b);
        return prc;
    }
    b->rw = mode_rw;
    b->dirty = false;
    spring__lru_insert(vmm, b);
    f->paged_in = true;
    return 0;
}

int spring__cache_fault_slow(struct vm_cache *c, struct vm_fault *f)
{
    spring_off_t boff = f->off & ~(c->block_size - 1);
    bool want_w = (f->access & SPRING_RIGHTS_W) != 0;
    bool due = false;
    int rc = 0;
    vm_lock(&c->lock);
    for (unsigned tries = 0;;) { /* counts pager calls, not waits for transit */
        if (c->destroyed) {
            rc = SPRING_EDESTROYED;
            break;
        }
        if (tries > 64) {
            rc = SPRING_EPAGER; /* the pager keeps taking the block away */
            break;
        }
        struct vm_block *b = lookup(c, boff);
        if (b != NULL && b->state != VM_B_VALID) {
            vm_cond_wait(&c->cv, &c->lock);
            continue;
        }
        if (b != NULL && want_w && !b->rw) {
            if (!(c->max_rights & SPRING_RIGHTS_W)) {
                rc = SPRING_EACCES;
                break;
            }
            tries++;
            if ((rc = block_upgrade(c, b, &due)) != 0)
                break;
            continue;
        }
        if (b != NULL)
            break; /* resident in the right mode */
        bool mode_rw = (c->max_rights & SPRING_RIGHTS_W) &&
                       (want_w || (c->own == SPRING_OWN_EXCLUSIVE && f->rw_ok));
        tries++;
        if ((rc = block_page_in(c, boff, mode_rw, &due, f)) != 0)
            break;
    }
    vm_unlock(&c->lock);
    if (due)
        pager_done(c);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Eviction (for the frame allocator).                                  */

int spring__cache_evict(struct vm_cache *c, spring_off_t off)
{
    spring_vmm_t *vmm = c->vmm;
    struct push p;
    int ret;
    if (push_init(c, &p) != 0)
        return 1; /* host memory is short: try another block */
    vm_lock(&c->lock);
    struct vm_block *b = lookup(c, off);
    if (b == NULL) {
        ret = 1; /* already gone: the frames were freed by someone */
        goto out;
    }
    if (b->state != VM_B_VALID || any_pins(vmm, b)) {
        ret = 1;
        goto out;
    }
    if (block_locked(c, off)) {
        ret = 2;
        goto out;
    }
    b->state = VM_B_OTHER;
    spring__hat_unload_block(vmm, b);
    /* A translate that pinned before the unload is seen here; one that
     * pins after it fails its re-validation and takes the slow path. */
    if (any_pins(vmm, b)) {
        b->state = VM_B_VALID;
        pthread_cond_broadcast(&c->cv);
        ret = 1;
        goto out;
    }
    if (!block_dirty(vmm, b) || c->rw_attach == 0) {
        /* Clean: reuse without telling the pager (§6.1). */
        b->state = VM_B_VALID;
        block_unhash(c, b);
        block_release(c, b);
        atomic_fetch_add(&vmm->st_reclaims_clean, 1);
        pthread_cond_broadcast(&c->cv);
        ret = 0;
        goto out;
    }
    push_add(&p, b, VM_PUSH_OUT);
    (void)push_call(&p);
    /* Released (or doomed and released) unless the pager refused it: with
     * the cache lock held since push_call re-took it, nothing else can have
     * entered a block at off. */
    ret = lookup(c, off) == NULL ? 0 : 2;
out:
    vm_unlock(&c->lock);
    push_fini(&p);
    if (p.due)
        pager_done(c);
    return ret;
}

/* ------------------------------------------------------------------ */
/* Pager-side calls (Appendix B).                                       */

enum take_op { OP_FLUSH, OP_DENY, OP_WRITEBACK, OP_DELETE, OP_ZERO };

/* The data a flush_back, deny_writes or write_back returns, gathered as
 * entries pointing into the frames of the blocks it holds in transit. */
struct gather {
    spring_data_block_t *e;
    size_t n, cap;
    size_t nbytes; /* bytes of the entries that are not all zero */
};

/* Add b's pages, one entry each.  => c->lock held, b in transit. */
static int gather_block(spring_vmm_t *vmm, struct gather *g, const struct vm_block *b)
{
    if (g->n + b->nframes > g->cap) {
        size_t ncap = SPRING__MAX(g->cap * 2, g->n + b->nframes);
        ncap = SPRING__MAX(ncap, 16);
        spring_data_block_t *n = spring__realloc(vmm, g->e, ncap * sizeof *n);
        if (n == NULL)
            return SPRING_ENOMEM;
        g->e = n;
        g->cap = ncap;
    }
    for (size_t i = 0; i < b->nframes; i++) {
        void *a = spring__frame_addr(vmm, b->frames[i]);
        spring_data_block_t *e = &g->e[g->n++];
        e->offset = b->offset + (spring_off_t)i * vmm->page_size;
        e->length = vmm->page_size;
        e->bytes = spring__all_zero(a, vmm->page_size) ? NULL : a;
        if (e->bytes)
            g->nbytes += vmm->page_size;
    }
    return 0;
}

/* The produced list: one allocation holding the list, its entries and a
 * copy of the bytes (spring_data_free frees it).  => the frames are
 * stable (the blocks are in transit). */
static spring_data_t *gather_copy(spring_vmm_t *vmm, const struct gather *g)
{
    size_t at = sizeof(spring_data_t) + g->n * sizeof(spring_data_block_t);
    at = (at + 63) & ~(size_t)63;
    uint8_t *mem = spring__malloc(vmm, at + g->nbytes);
    if (mem == NULL)
        return NULL;
    spring_data_t *d = (spring_data_t *)(void *)mem;
    d->nblocks = g->n;
    d->blocks = (spring_data_block_t *)(void *)(mem + sizeof *d);
    for (size_t i = 0; i < g->n; i++) {
        d->blocks[i] = g->e[i];
        if (g->e[i].bytes != NULL) {
            memcpy(mem + at, g->e[i].bytes, (size_t)g->e[i].length);
            d->blocks[i].bytes = mem + at;
            at += (size_t)g->e[i].length;
        }
    }
    return d;
}

/* Resolve a cache object handle.  Returns the cache with a reference. */
static int cache_from_handle(spring_cache_obj_t h, struct vm_cache **out)
{
    void *obj;
    int rc = spring__handle_get(h.h, VM_H_CACHE, &obj, NULL);
    if (rc)
        return rc;
    *out = obj;
    return 0;
}

/* Validate and normalize a range.  => c->lock not needed (constants). */
static int check_range(const struct vm_cache *c, spring_off_t off, spring_off_t *size, spring_off_t *end)
{
    spring_off_t m = c->block_size - 1;
    if (off & m)
        return SPRING_EALIGN;
    if (*size == SPRING_SIZE_ALL) {
        *end = ~m; /* the highest block-aligned offset */
        *size = *end - off;
        return 0;
    }
    if (*size & m)
        return SPRING_EALIGN;
    if (off + *size < off)
        return SPRING_ERANGE;
    *end = off + *size;
    return 0;
}

/* The body of flush_back, deny_writes, write_back, delete_range and
 * zero_fill; api is the public call's scope (NULL for an internal call). */
static int take_data(spring_cache_obj_t h, spring_off_t off, spring_off_t size, spring_ownership_t *own,
                     spring_data_t **data, enum take_op op, struct vm_api_scope *api)
{
    struct vm_cache *c;
    spring_off_t end;
    int rc = 0;
    if (own != NULL && *own != SPRING_OWN_UNCHANGED && !valid_own(*own))
        return SPRING_EINVAL;
    if ((rc = cache_from_handle(h, &c)) != 0)
        return rc;
    spring_vmm_t *vmm = c->vmm;
    if (api != NULL)
        api->vmm = vmm; /* a public call: the debug build checks this VMM after it */
    if ((rc = check_range(c, off, &size, &end)) != 0) {
        spring__cache_unref(c);
        return rc;
    }
    if (op == OP_ZERO && !(c->max_rights & SPRING_RIGHTS_W)) {
        spring__cache_unref(c);
        return SPRING_ERIGHTS;
    }
    struct gather g = {NULL, 0, 0, 0};
    spring_data_t *result = NULL;
    vm_lock(&c->lock);
    if (c->destroyed) {
        rc = SPRING_EBADHANDLE;
        goto out;
    }
    /* Reserve zero-fill table room first so that nothing fails half way. */
    if (op == OP_ZERO) {
        if ((rc = zr_add(c, off, end)) != 0)
            goto out;
    } else if (op == OP_DELETE) {
        if ((rc = zr_remove(c, off, end)) != 0)
            goto out;
    }
    /* Pass 1: gather.  Blocks taken back are held in transit (VM_B_OTHER,
     * on this call's list) until pass 2, so that nobody changes them while
     * the cache lock is dropped to wait for write pins. */
    struct vm_block *taken = NULL, *b;
    spring_off_t at = off;
    for (;;) {
        struct vm_block key = {.offset = at};
        b = RB_NFIND(vm_block_tree, &c->blocks, &key);
        if (b == NULL || b->offset >= end)
            break;
        at = b->offset + c->block_size;
        if (b->state != VM_B_VALID) {
            if (op == OP_DELETE || op == OP_ZERO)
                block_remove(c, b, true, false); /* doomed: its owner frees it */
            continue;
        }
        if (op == OP_DELETE || op == OP_ZERO) {
            block_remove(c, b, true, false);
            continue;
        }
        if (op == OP_DENY && !b->rw && !b->dirty)
            continue; /* read-only already, and nothing the pager lacks */
        b->state = VM_B_OTHER;
        b->taken = true;
        b->take_next = taken;
        taken = b;
        if (op == OP_FLUSH)
            spring__hat_unload_block(vmm, b);
        else
            for (size_t i = 0; i < b->nframes; i++)
                spring__hat_frame_protect(vmm, b->frames[i], SPRING_RIGHTS_RX);
        wait_wpins(c, b);
        if (b->doomed && b->discard)
            continue; /* deleted meanwhile: its data is not wanted */
        if (block_dirty(vmm, b) && c->rw_attach != 0 && data != NULL && (rc = gather_block(vmm, &g, b)) != 0)
            break;
    }
    /* Copy the data out while the blocks are still held. */
    if (rc == 0 && data != NULL && (result = gather_copy(vmm, &g)) == NULL)
        rc = SPRING_ENOMEM;
    free(g.e);
    /* Every block's data is gathered: only now take the blocks, so that an
     * ENOMEM above leaves everything cached and modified. */
    if (rc == 0 && (op == OP_FLUSH || op == OP_DENY))
        rc = zr_remove(c, off, end);
    if (rc == 0 && op == OP_FLUSH) {
        /* Blocks in transit that are not this call's are doomed. */
        struct vm_block key = {.offset = off}, *next;
        for (b = RB_NFIND(vm_block_tree, &c->blocks, &key); b != NULL && b->offset < end; b = next) {
            next = RB_NEXT(vm_block_tree, &c->blocks, b);
            if (b->state != VM_B_VALID && !b->taken)
                block_remove(c, b, false, false);
        }
    }
    /* Pass 2: commit (or, after an error, give the blocks back unchanged). */
    while (taken != NULL) {
        b = taken;
        taken = b->take_next;
        b->taken = false;
        b->take_next = NULL;
        b->state = VM_B_VALID;
        if (b->doomed) {
            block_release_doomed(c, b); /* its data, if wanted, is in this call's result */
            continue;
        }
        if (rc != 0)
            continue;
        if (data != NULL)
            b->dirty = false; /* the pager has the data now; without a list it stays modified here */
        if (op == OP_FLUSH) {
            block_unhash(c, b);
            block_release(c, b);
        } else if (op == OP_DENY) {
            b->rw = false;
        }
    }
out:
    if (rc == 0 && own != NULL) {
        if (*own != SPRING_OWN_UNCHANGED)
            c->own = *own;
        *own = c->own;
    }
    pthread_cond_broadcast(&c->cv);
    vm_unlock(&c->lock);
    spring__cache_unref(c);
    if (rc) {
        spring_data_free(result);
        return rc;
    }
    if (data != NULL)
        *data = result;
    return 0;
}

int spring_cache_flush_back(spring_cache_obj_t cache, spring_off_t offset, spring_off_t size,
                            spring_ownership_t *own, spring_data_t **data)
{
    VM_API_ENTER();
    return take_data(cache, offset, size, own, data, OP_FLUSH, VM_API_SCOPE);
}

int spring_cache_deny_writes(spring_cache_obj_t cache, spring_off_t offset, spring_off_t size,
                             spring_ownership_t *own, spring_data_t **data)
{
    VM_API_ENTER();
    return take_data(cache, offset, size, own, data, OP_DENY, VM_API_SCOPE);
}

int spring_cache_write_back(spring_cache_obj_t cache, spring_off_t offset, spring_off_t size,
                            spring_ownership_t *own, spring_data_t **data)
{
    VM_API_ENTER();
    return take_data(cache, offset, size, own, data, OP_WRITEBACK, VM_API_SCOPE);
}

int spring_cache_delete_range(spring_cache_obj_t cache, spring_off_t offset, spring_off_t size,
                              spring_ownership_t *own)
{
    VM_API_ENTER();
    return take_data(cache, offset, size, own, NULL, OP_DELETE, VM_API_SCOPE);
}

int spring_cache_zero_fill(spring_cache_obj_t cache, spring_off_t offset, spring_off_t size,
                           spring_ownership_t *own)
{
    VM_API_ENTER();
    return take_data(cache, offset, size, own, NULL, OP_ZERO, VM_API_SCOPE);
}

int spring__cache_discard(struct vm_cache *c, spring_off_t off, spring_off_t size)
{
    spring_cache_obj_t h = {c->handle};
    return take_data(h, off, size, NULL, NULL, OP_ZERO, NULL);
}

int spring__cache_tell_zero(struct vm_cache *c, spring_off_t off, spring_off_t size)
{
    /* Appendix D zero_fill_range. */
    vm_lock(&c->lock);
    if (c->destroyed || c->pops->zero_fill_range == NULL) {
        vm_unlock(&c->lock);
        return 0;
    }
    spring_ownership_t own = c->own;
    callout_begin(c);
    vm_unlock(&c->lock);
    int prc = spring__pager_zero_fill_range(c, off, size, &own);
    vm_lock(&c->lock);
    bool due = callout_end(c, own);
    vm_unlock(&c->lock);
    if (due)
        pager_done(c);
    return prc;
}

/* Check that a populate data list covers [off, end) exactly, in order,
 * in page-aligned pieces. */
static int check_cover(const struct vm_cache *c, spring_off_t off, spring_off_t end, const spring_data_t *d)
{
    spring_off_t at = off, pm = c->vmm->page_size - 1;
    if (d == NULL || (d->nblocks > 0 && d->blocks == NULL))
        return SPRING_EINVAL;
    for (size_t i = 0; i < d->nblocks; i++) {
        const spring_data_block_t *x = &d->blocks[i];
        if (x->offset != at || x->length == 0 || (x->length & pm) || x->offset + x->length < x->offset)
            return SPRING_EINVAL;
        at += x->length;
    }
    return at == end ? 0 : SPRING_EINVAL;
}

/* The source bytes for cache offset `o` (a page) in d, or NULL for zero. */
static const void *data_at(const spring_data_t *d, spring_off_t o)
{
    for (size_t i = 0; i < d->nblocks; i++) {
        const spring_data_block_t *x = &d->blocks[i];
        if (o >= x->offset && o < x->offset + x->length)
            return x->bytes ? (const uint8_t *)x->bytes + (o - x->offset) : NULL;
    }
    return NULL;
}

int spring_cache_populate(spring_cache_obj_t cache, spring_off_t offset, spring_off_t size, spring_rights_t access,
                          spring_ownership_t *own, const spring_data_t *data)
{
    VM_API_ENTER();
    struct vm_cache *c;
    spring_off_t end;
    int rc;
    if (access != SPRING_RIGHTS_RO && access != SPRING_RIGHTS_RW)
        return SPRING_EINVAL;
    if (own != NULL && *own != SPRING_OWN_UNCHANGED && !valid_own(*own))
        return SPRING_EINVAL;
    if (size == SPRING_SIZE_ALL || data == NULL)
        return SPRING_EINVAL;
    if ((rc = cache_from_handle(cache, &c)) != 0)
        return rc;
    spring_vmm_t *vmm = c->vmm;
    VM_API_VMM(vmm);
    if ((rc = check_range(c, offset, &size, &end)) != 0 || (rc = check_cover(c, offset, end, data)) != 0)
        goto out_unref;
    if ((access & SPRING_RIGHTS_W) && !(c->max_rights & SPRING_RIGHTS_W)) {
        rc = SPRING_ERIGHTS;
        goto out_unref;
    }
    vm_lock(&c->lock);
    for (spring_off_t o = offset; o < end; o += c->block_size) {
        if (c->destroyed) {
            rc = SPRING_EBADHANDLE;
            break;
        }
        struct vm_block *nb = block_alloc(c, o);
        if (nb == NULL) {
            rc = SPRING_ENOMEM;
            break;
        }
        if ((rc = alloc_frames_unlocked(c, nb, false)) != 0) {
            free(nb);
            break;
        }
        if (c->destroyed) {
            spring__frames_free(vmm, nb->frames, nb->nframes);
            free(nb);
            rc = SPRING_EBADHANDLE;
            break;
        }
        if ((rc = zr_remove(c, o, o + c->block_size)) != 0) {
            spring__frames_free(vmm, nb->frames, nb->nframes);
            free(nb);
            break;
        }
        struct vm_block *old = lookup(c, o);
        if (old != NULL)
            block_remove(c, old, true, true);
        for (size_t i = 0; i < nb->nframes; i++) {
            void *dst = spring__frame_addr(vmm, nb->frames[i]);
            const void *src = data_at(data, o + (spring_off_t)i * vmm->page_size);
            if (src)
                memcpy(dst, src, vmm->page_size);
            else
                memset(dst, 0, vmm->page_size);
        }
        nb->state = VM_B_VALID;
        nb->rw = (access & SPRING_RIGHTS_W) != 0;
        block_hash(c, nb);
        spring__lru_insert(vmm, nb);
    }
    if (rc == 0 && own != NULL) {
        if (*own != SPRING_OWN_UNCHANGED)
            c->own = *own;
        *own = c->own;
    }
    pthread_cond_broadcast(&c->cv);
    vm_unlock(&c->lock);
out_unref:
    spring__cache_unref(c);
    return rc;
}

/* Destroy a cache: discard everything, invalidate its handles.  Regions
 * keep their references and fault with SPRING_EDESTROYED.
 * => no lock held. */
static void cache_kill(struct vm_cache *c)
{
    spring_vmm_t *vmm = c->vmm;
    vm_lock(&vmm->cache_lock);
    c->dying = true; /* a failed reclaim must not put it back on a list */
    list_move(c, VM_CL_NONE);
    vm_unlock(&vmm->cache_lock);
    vm_lock(&c->lock);
    if (c->destroyed) {
        vm_unlock(&c->lock);
        return;
    }
    c->destroyed = true;
    struct vm_block *b, *nb;
    RB_FOREACH_SAFE(b, vm_block_tree, &c->blocks, nb)
        block_remove(c, b, true, true);
    zr_clear(c);
    spring__handle_free(c->handle, VM_H_CACHE);
    for (size_t i = 0; i < c->nrights; i++)
        spring__handle_free(c->rights_h[i], VM_H_RIGHTS);
    c->nrights = 0;
    bool due = c->callouts == 0 && !c->pager_done;
    if (due)
        c->pager_done = true;
    pthread_cond_broadcast(&c->cv);
    vm_unlock(&c->lock);
    vm_lock(&vmm->cache_lock);
    vmm->ncaches--;
    vm_unlock(&vmm->cache_lock);
    if (due)
        pager_done(c);
    spring__cache_unref(c); /* the creation reference */
}

void spring__cache_abort(struct vm_cache *c)
{
    vm_lock(&c->lock);
    c->pager_done = true; /* the pager object was not consumed */
    vm_unlock(&c->lock);
    cache_kill(c);
}

int spring_cache_destroy(spring_cache_obj_t cache)
{
    VM_API_ENTER();
    struct vm_cache *c;
    int rc = cache_from_handle(cache, &c);
    if (rc)
        return rc;
    VM_API_VMM(c->vmm);
    cache_kill(c);
    spring__cache_unref(c);
    return 0;
}

/* Read a cache's pager statistics.  => no lock needed (atomics). */
void spring__cache_pager_stats(struct vm_cache *c, spring_pager_stats_t *st)
{
    const struct vm_pstats *p = &c->pst;
    st->page_ins = atomic_load(&p->calls[VM_PST_PAGE_IN]);
    st->page_outs = atomic_load(&p->calls[VM_PST_PAGE_OUT]);
    st->syncs = atomic_load(&p->calls[VM_PST_SYNC]);
    st->write_outs = atomic_load(&p->calls[VM_PST_WRITE_OUT]);
    st->other_calls = atomic_load(&p->calls[VM_PST_OTHER]);
    st->failures = atomic_load(&p->failures);
    st->bytes_in = atomic_load(&p->bytes_in);
    st->bytes_out = atomic_load(&p->bytes_out);
    st->ns = atomic_load(&p->ns);
}

int spring_cache_pager_stats(spring_cache_obj_t cache, spring_pager_stats_t *stats)
{
    struct vm_cache *c;
    if (stats == NULL)
        return SPRING_EINVAL;
    int rc = cache_from_handle(cache, &c);
    if (rc)
        return rc;
    spring__cache_pager_stats(c, stats);
    spring__cache_unref(c);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Cache-rights objects.                                                */

int spring_cache_rights_get(spring_cache_rights_t rights, spring_rights_t *out)
{
    void *obj;
    unsigned aux;
    if (out == NULL)
        return SPRING_EINVAL;
    int rc = spring__handle_get(rights.h, VM_H_RIGHTS, &obj, &aux);
    if (rc)
        return rc;
    spring__cache_unref(obj);
    *out = (spring_rights_t)aux;
    return 0;
}

int spring_cache_rights_create_restricted_sibling(spring_cache_rights_t rights, spring_rights_t subset,
                                                  spring_cache_rights_t *out)
{
    void *obj;
    unsigned aux;
    if (out == NULL || !spring_rights_valid(subset))
        return SPRING_EINVAL;
    int rc = spring__handle_get(rights.h, VM_H_RIGHTS, &obj, &aux);
    if (rc)
        return rc;
    struct vm_cache *c = obj;
    if (!spring_rights_subset(subset, (spring_rights_t)aux))
        rc = SPRING_ERIGHTS;
    else
        rc = rights_new(c, subset, &out->h);
    spring__cache_unref(c);
    return rc;
}

int spring_cache_rights_release(spring_cache_rights_t rights)
{
    void *obj;
    int rc = spring__handle_get(rights.h, VM_H_RIGHTS, &obj, NULL);
    if (rc)
        return rc;
    struct vm_cache *c = obj;
    vm_lock(&c->lock);
    for (size_t i = 0; i < c->nrights; i++)
        if (c->rights_h[i] == rights.h) {
            c->rights_h[i] = c->rights_h[--c->nrights];
            break;
        }
    rc = spring__handle_free(rights.h, VM_H_RIGHTS);
    vm_unlock(&c->lock);
    spring__cache_unref(c);
    return rc;
}

/* Resolve a cache-rights handle for a bind at `vmm`: the cache must be
 * this VMM's and attachable.  On success the cache is returned with a
 * reference and an attachment.  Returns SPRING_EBADHANDLE for forged,
 * stale or foreign rights, or a cache being reclaimed. */
int spring__rights_attach(spring_vmm_t *vmm, spring_cache_rights_t r, bool rw, struct vm_cache **out,
                          spring_rights_t *rights)
{
    void *obj;
    unsigned aux;
    int rc = spring__handle_get(r.h, VM_H_RIGHTS, &obj, &aux);
    if (rc)
        return rc;
    struct vm_cache *c = obj;
    if (c->vmm != vmm || !attach(c, rw && (aux & SPRING_RIGHTS_W), false)) {
        spring__cache_unref(c);
        return SPRING_EBADHANDLE;
    }
    *out = c;
    *rights = (spring_rights_t)aux;
    return 0;
}

/* ------------------------------------------------------------------ */
/* vmm object: create_cache_object (Appendix B).                        */

int spring_vmm_create_cache_object(spring_vmm_obj_t vmm_obj, const spring_pager_ops_t *pager_ops, void *pager,
                                   bool signal_last_ref, const spring_pager_info_t *info,
                                   spring_ownership_t ownership, spring_rights_t max_rights,
                                   spring_cache_obj_t *cache, spring_cache_rights_t *rights)
{
    if (cache == NULL || rights == NULL)
        return SPRING_EINVAL;
    spring_privilege_t priv;
    spring_vmm_t *vmm = spring__vmm_from_obj(vmm_obj, &priv);
    if (vmm == NULL)
        return SPRING_EBADHANDLE;
    struct vm_cache *c;
    int rc = spring__cache_new(vmm, priv, pager_ops, pager, signal_last_ref, info, ownership, max_rights, &c);
    if (rc)
        return rc;
    rc = rights_new(c, max_rights, &rights->h);
    if (rc) {
        spring__cache_abort(c);
        return rc;
    }
    cache->h = c->handle;
    return 0;
}

/* ------------------------------------------------------------------ */
/* The address-space flush (§A flush) and lock_memory support.          */

int spring__cache_flush(struct vm_cache *c, spring_off_t off, spring_off_t size, bool keep)
{
    spring_vmm_t *vmm = c->vmm;
    spring_off_t end = off + size;
    struct push p;
    int rc = push_init(c, &p);
    if (rc)
        return rc;
    int khow = spring__pager_keep_how(c);
    off &= ~(c->block_size - 1);
    vm_lock(&c->lock);
    spring_off_t at = off;
    while (!c->destroyed && at < end) {
        struct vm_block key = {.offset = at};
        struct vm_block *b = RB_NFIND(vm_block_tree, &c->blocks, &key);
        if (b == NULL || b->offset >= end)
            break;
        at = b->offset + c->block_size;
        if (b->state != VM_B_VALID)
            continue;
        /* A locked block, like every block of a please_keep flush, stays. */
        bool kept = keep || block_locked(c, b->offset);
        b->state = VM_B_OTHER;
        if (kept)
            for (size_t i = 0; i < b->nframes; i++)
                spring__hat_frame_protect(vmm, b->frames[i], SPRING_RIGHTS_RX);
        else
            spring__hat_unload_block(vmm, b);
        if (any_wpins(vmm, b)) {
            /* Send what is gathered before waiting: a pin holder may be
             * waiting for one of those blocks. */
            (void)push_call(&p);
            wait_wpins(c, b);
        }
        if (b->doomed && b->discard) { /* deleted or destroyed while we waited */
            b->state = VM_B_VALID;
            pthread_cond_broadcast(&c->cv);
            block_release_doomed(c, b);
            continue;
        }
        if (!block_dirty(vmm, b) || c->rw_attach == 0) {
            b->state = VM_B_VALID;
            pthread_cond_broadcast(&c->cv);
            if (!kept || b->doomed) /* clean: dropped, or kept */
                block_release_doomed(c, b);
            continue;
        }
        int how = kept ? khow : VM_PUSH_OUT;
        if (how < 0) {
            /* Kept data a pager without sync and write_out cannot receive:
             * the block stays cached and modified (as.h). */
            b->state = VM_B_VALID;
            b->doomed = false;
            pthread_cond_broadcast(&c->cv);
            if (p.rc == 0)
                p.rc = SPRING_ENOKEEP;
            continue;
        }
        if (!push_fits(&p, b, how))
            (void)push_call(&p);
        push_add(&p, b, how);
    }
    (void)push_call(&p);
    vm_unlock(&c->lock);
    push_fini(&p);
    if (p.due)
        pager_done(c);
    return p.rc;
}

/* Add delta (+1 or -1) to the lock count of every page in [off, off+size)
 * (page aligned).  Frames are reserved per block: a block with at least one
 * locked page reserves all its frames.  Locking fails with
 * SPRING_ELOCKLIMIT if the pool cannot hold the newly reserved frames: two
 * of the largest blocks of any cache always stay unlocked, so that faults
 * on every cache can make progress.
 * => no lock held. */
int spring__cache_lock_range(struct vm_cache *c, spring_off_t off, spring_off_t size, int delta)
{
    spring_vmm_t *vmm = c->vmm;
    spring_off_t ps = vmm->page_size, end = off + size;
    int rc = 0;
    vm_lock(&c->lock);
    if (delta > 0) {
        /* Count the blocks that become locked. */
        size_t fresh = 0;
        spring_off_t bm = c->block_size - 1;
        for (spring_off_t b = off & ~bm; b < end; b += c->block_size)
            if (!block_locked(c, b))
                fresh++;
        size_t need = fresh * c->pages_per_block;
        vm_lock(&vmm->page_lock);
        if (vmm->nlocked + need + 2 * SPRING__MAX(vmm->max_block_pages, c->pages_per_block) > vmm->nframes)
            rc = SPRING_ELOCKLIMIT;
        vm_unlock(&vmm->page_lock);
        if (rc)
            goto out;
        /* Allocate every missing entry first, so that nothing fails later. */
        size_t nnew = 0;
        for (spring_off_t o = off; o < end; o += ps) {
            struct vm_lockent key = {.offset = o};
            if (RB_FIND(vm_lock_tree, &c->locks, &key) == NULL)
                nnew++;
        }
        struct vm_lockent **pool = nnew ? spring__calloc(vmm, nnew, sizeof *pool) : NULL;
        if (nnew && pool == NULL) {
            rc = SPRING_ENOMEM;
            goto out;
        }
        for (size_t i = 0; i < nnew; i++)
            if ((pool[i] = spring__calloc(vmm, 1, sizeof **pool)) == NULL) {
                while (i-- > 0)
                    free(pool[i]);
                free(pool);
                rc = SPRING_ENOMEM;
                goto out;
            }
        size_t used = 0;
        for (spring_off_t o = off; o < end; o += ps) {
            struct vm_lockent key = {.offset = o}, *le = RB_FIND(vm_lock_tree, &c->locks, &key);
            if (le == NULL) {
                le = pool[used++];
                le->offset = o;
                RB_INSERT(vm_lock_tree, &c->locks, le);
            }
            le->count++;
        }
        free(pool);
        c->nlocked += fresh;
        vm_lock(&vmm->page_lock);
        vmm->nlocked += need;
        vm_unlock(&vmm->page_lock);
    } else {
        for (spring_off_t o = off; o < end; o += ps) {
            struct vm_lockent key = {.offset = o}, *le = RB_FIND(vm_lock_tree, &c->locks, &key);
            if (le && --le->count == 0) {
                RB_REMOVE(vm_lock_tree, &c->locks, le);
                free(le);
                spring_off_t b = o & ~(c->block_size - 1);
                if (!block_locked(c, b)) {
                    c->nlocked--;
                    vm_lock(&vmm->page_lock);
                    vmm->nlocked -= c->pages_per_block;
                    vm_unlock(&vmm->page_lock);
                }
            }
        }
    }
out:
    vm_unlock(&c->lock);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Reclamation (§7.5) and teardown.                                     */

/* Whether no block of c is modified or in transit.  => c->lock held. */
static bool cache_clean(struct vm_cache *c)
{
    vm_assert_held(&c->lock);
    struct vm_block *b;
    RB_FOREACH(b, vm_block_tree, &c->blocks)
        if (b->state != VM_B_VALID || (block_dirty(c->vmm, b) && c->rw_attach != 0))
            return false;
    return true;
}

/* Reclaim unattached caches until at most `keep` remain (caches the pager
 * did not ask to keep always go).  Dirty data is paged out first; a cache
 * whose page-out fails is kept.  Returns the number reclaimed.
 * => no lock held. */
int spring__cache_reclaim(spring_vmm_t *vmm, size_t keep)
{
    int n = 0;
    for (;;) {
        struct vm_cache *victim = NULL;
        vm_lock(&vmm->cache_lock);
        size_t count = 0;
        for (int l = VM_CL_UNATT_TEXT; l <= VM_CL_UNATT_ANON; l++) {
            struct vm_cache *c;
            TAILQ_FOREACH(c, &vmm->lists[l], lq) {
                count++;
                if (victim == NULL && !c->info.keep_unattached && c->nattach == 0)
                    victim = c;
            }
        }
        if (victim == NULL && count > keep) {
            /* Oldest first: data before anon before text (text is cheapest
             * to keep around for reuse). */
            static const int order[] = {VM_CL_UNATT_DATA, VM_CL_UNATT_ANON, VM_CL_UNATT_TEXT};
            for (int i = 0; i < 3 && victim == NULL; i++)
                victim = TAILQ_FIRST(&vmm->lists[order[i]]);
        }
        if (victim == NULL) {
            vm_unlock(&vmm->cache_lock);
            return n;
        }
        /* Page its modified data out while it is still on its list: a bind
         * meanwhile attaches this cache instead of making a second one that
         * would read the pager's data before the page-out reached it.  Only
         * a cache found clean and unattached leaves the lists (§7.5: no bind
         * can attach it from then on) and goes. */
        spring__cache_ref(victim);
        vm_unlock(&vmm->cache_lock);
        bool gone = false, busy = true;
        for (int attempt = 0; attempt < 4 && !gone; attempt++) {
            int rc = spring__cache_flush(victim, 0, ~(victim->block_size - 1), false);
            if (rc != 0) {
                spring__cache_unref(victim);
                return n; /* keep it, modified; try again later */
            }
            vm_lock(&vmm->cache_lock);
            if (victim->list == VM_CL_NONE || victim->nattach != 0) {
                vm_unlock(&vmm->cache_lock); /* destroyed, or bound again, meanwhile */
                busy = false;
                break;
            }
            vm_lock(&victim->lock);
            if (cache_clean(victim)) {
                list_move(victim, VM_CL_NONE);
                gone = true;
            }
            vm_unlock(&victim->lock);
            vm_unlock(&vmm->cache_lock);
        }
        if (gone) {
            cache_kill(victim);
            n++;
        }
        spring__cache_unref(victim);
        if (!gone && busy)
            return n; /* still modified after every attempt: leave it for a later pass */
    }
}

int spring__cache_push_all(spring_vmm_t *vmm, bool keep)
{
    vm_lock(&vmm->cache_lock);
    size_t n = 0, i = 0;
    struct vm_cache *c;
    for (int l = 0; l < VM_CL_COUNT; l++)
        TAILQ_FOREACH(c, &vmm->lists[l], lq)
            n++;
    struct vm_cache **v = n ? spring__malloc(vmm, n * sizeof *v) : NULL;
    if (n && v == NULL) {
        vm_unlock(&vmm->cache_lock);
        return SPRING_ENOMEM;
    }
    for (int l = 0; l < VM_CL_COUNT; l++)
        TAILQ_FOREACH(c, &vmm->lists[l], lq) {
            spring__cache_ref(c);
            v[i++] = c;
        }
    vm_unlock(&vmm->cache_lock);
    int rc = 0;
    for (i = 0; i < n; i++) {
        int r = spring__cache_flush(v[i], 0, ~(v[i]->block_size - 1), keep);
        if (r != 0 && rc == 0)
            rc = r;
        spring__cache_unref(v[i]);
    }
    free(v);
    return rc;
}

void spring__cache_destroy_all(spring_vmm_t *vmm)
{
    for (;;) {
        struct vm_cache *c = NULL;
        vm_lock(&vmm->cache_lock);
        for (int l = 0; l < VM_CL_COUNT && c == NULL; l++)
            c = TAILQ_FIRST(&vmm->lists[l]);
        if (c)
            spring__cache_ref(c);
        vm_unlock(&vmm->cache_lock);
        if (c == NULL)
            return;
        cache_kill(c);
        spring__cache_unref(c);
    }
}

/* Pages of [off, off+len) that are cached.  => no lock held. */
size_t spring__cache_resident(struct vm_cache *c, spring_off_t off, spring_off_t len)
{
    size_t n = 0;
    spring_off_t ps = c->vmm->page_size, end = off + len;
    vm_lock(&c->lock);
    struct vm_block key = {.offset = off & ~(c->block_size - 1)};
    for (struct vm_block *b = RB_NFIND(vm_block_tree, &c->blocks, &key); b && b->offset < end;
         b = RB_NEXT(vm_block_tree, &c->blocks, b)) {
        if (b->state != VM_B_VALID)
            continue;
        spring_off_t s = SPRING__MAX(b->offset, off), e = SPRING__MIN(b->offset + c->block_size, end);
        if (e > s)
            n += (size_t)((e - s) / ps);
    }
    vm_unlock(&c->lock);
    return n;
}

/* ------------------------------------------------------------------ */
/* Consistency check of one cache.  => no lock held.                    */

int spring__cache_check(struct vm_cache *c, const char **why)
{
    spring_vmm_t *vmm = c->vmm;
    int rc = 0;
    vm_lock(&c->lock);
    size_t n = 0;
    struct vm_block *b;
    spring_off_t prev = 0;
    bool first = true;
    RB_FOREACH(b, vm_block_tree, &c->blocks) {
        n++;
        if (!first && b->offset <= prev) {
            *why = "cache block tree out of order";
            rc = SPRING_EPROTO;
            break;
        }
        first = false;
        prev = b->offset;
        if (b->offset & (c->block_size - 1)) {
            *why = "cache block offset not block aligned";
            rc = SPRING_EPROTO;
            break;
        }
        if (lookup(c, b->offset) != b) {
            *why = "cache block missing from the page hash";
            rc = SPRING_EPROTO;
            break;
        }
        if (!b->doomed && spring__cache_zr_contains(c, b->offset)) { /* a doomed page-out may linger */
            *why = "cached block also in the zero-fill table";
            rc = SPRING_EPROTO;
            break;
        }
        for (size_t i = 0; i < b->nframes; i++) {
            struct vm_frame *f = &vmm->frames[b->frames[i]];
            if (b->frames[i] >= vmm->nframes || f->block != b || f->onfree) {
                *why = "block frame not owned by the block";
                rc = SPRING_EPROTO;
                break;
            }
        }
        if (rc)
            break;
        if (b->rw && !(c->max_rights & SPRING_RIGHTS_W)) {
            *why = "read-write block in a cache without write rights";
            rc = SPRING_EPROTO;
            break;
        }
    }
    if (rc == 0 && n != c->nblocks) {
        *why = "cache block count wrong";
        rc = SPRING_EPROTO;
    }
    struct vm_zrange *z, *pz = NULL;
    size_t nz = 0;
    RB_FOREACH(z, vm_zr_tree, &c->zr) {
        nz++;
        if (rc == 0 && (z->start >= z->end || (pz && pz->end >= z->start) ||
                        ((z->start | z->end) & (c->block_size - 1)))) {
            *why = "zero-fill table not sorted, coalesced and block aligned";
            rc = SPRING_EPROTO;
        }
        pz = z;
    }
    if (rc == 0 && nz != c->nzr) {
        *why = "zero-fill table count wrong";
        rc = SPRING_EPROTO;
    }
    vm_unlock(&c->lock);
    return rc;
}
