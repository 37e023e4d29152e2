/*
 * block.c - the cache layer's blocks (paper §9.2): cached blocks and the
 * page hash keyed by (cache, offset), the zero-fill table, blocks in
 * transit, pins, modified bits, and lock_memory's per-block lock counts.
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
 * -> vmm->page_lock -> HAT (docs/locking.md).  Never held across a pager call.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cache/cache_int.h"

int spring__block_cmp(const struct vm_block *a, const struct vm_block *b)
{
    return a->offset < b->offset ? -1 : a->offset > b->offset;
}
RB_GENERATE(vm_block_tree, vm_block, tnode, spring__block_cmp)

int spring__lockent_cmp(const struct vm_lockent *a, const struct vm_lockent *b)
{
    return a->offset < b->offset ? -1 : a->offset > b->offset;
}
RB_GENERATE(vm_lock_tree, vm_lockent, node, spring__lockent_cmp)

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
struct vm_block *spring__block_lookup(struct vm_cache *c, spring_off_t off)
{
    vm_assert_held(&c->lock);
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
void spring__block_hash(struct vm_cache *c, struct vm_block *b)
{
    vm_assert_held(&c->lock);
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
void spring__block_unhash(struct vm_cache *c, struct vm_block *b)
{
    vm_assert_held(&c->lock);
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

/* Blocks and zero-fill nodes come from per-cache slabs (slab.h), so that
 * the fault path makes no malloc call in the steady state. */
void spring__block_slab_init(struct vm_cache *c)
{
    spring__slab_init(&c->blk_slab, sizeof(struct vm_block) + c->pages_per_block * sizeof(size_t));
    spring__slab_init(&c->zr_slab, sizeof(struct vm_zrange));
}

void spring__block_slab_fini(struct vm_cache *c)
{
    spring__slab_fini(&c->blk_slab);
    spring__slab_fini(&c->zr_slab);
}

struct vm_block *spring__block_alloc(struct vm_cache *c, spring_off_t off)
{
    vm_assert_held(&c->lock);
    struct vm_block *b = spring__slab_alloc(c->vmm, &c->blk_slab);
    if (b == NULL)
        return NULL;
    b->cache = c;
    b->offset = off;
    b->nframes = c->pages_per_block;
    return b;
}

void spring__block_free(struct vm_cache *c, struct vm_block *b)
{
    vm_assert_held(&c->lock);
    spring__slab_free(&c->blk_slab, b);
}

/* Free a block that is no longer hashed: its translations go, its frames
 * return to the pool (pinned ones as orphans).  => c->lock held. */
void spring__block_release(struct vm_cache *c, struct vm_block *b)
{
    vm_assert_held(&c->lock);
    spring_vmm_t *vmm = c->vmm;
    spring__lru_remove(vmm, b);
    spring__hat_unload_block(vmm, b);
    if (b->fast)
        spring__frames_free_deferred(vmm, b->frames, b->nframes); /* fast readers: after a grace period */
    else
        spring__frames_free(vmm, b->frames, b->nframes);
    spring__block_free(c, b);
}

int spring__block_fast_settle(struct vm_cache *c, struct vm_block *b, bool wait)
{
    vm_assert_held(&c->lock);
    if (!b->fastw)
        return 0;
    spring_vmm_t *vmm = c->vmm;
    if (wait) {
        vm_unlock(&c->lock);
        int rc = spring__gp_wait(vmm);
        vm_lock(&c->lock);
        if (rc != 0)
            return rc;
    } else {
        vm_lock(&vmm->page_lock);
        if (b->fastw_gp == 0)
            b->fastw_gp = spring__gp_request_locked(vmm);
        bool done = vmm->gp_done >= b->fastw_gp;
        vm_unlock(&vmm->page_lock);
        if (!done)
            return SPRING__EAGAIN;
    }
    b->fastw = false;
    b->fastw_gp = 0;
    return 0;
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
void spring__block_remove(struct vm_cache *c, struct vm_block *b, bool discard, bool make_room)
{
    vm_assert_held(&c->lock);
    if (b->state == VM_B_VALID) {
        spring__block_unhash(c, b);
        spring__block_release(c, b);
        return;
    }
    b->doomed = true;
    b->discard |= discard;
    if (b->state == VM_B_PAGEIN || make_room)
        spring__block_unhash(c, b);
}

/* After a transfer: free a doomed block.  => c->lock held. */
void spring__block_release_doomed(struct vm_cache *c, struct vm_block *b)
{
    vm_assert_held(&c->lock);
    spring__block_unhash(c, b);
    spring__block_release(c, b);
}

void spring__transit_add(spring_vmm_t *vmm, int d)
{
    if (d > 0) {
        atomic_fetch_add(&vmm->ntransit, (size_t)d);
    } else {
        atomic_fetch_sub(&vmm->ntransit, (size_t)-d);
        spring__frame_event(vmm); /* the allocator may wait for a transfer to end */
    }
}

/* Whether a frame of b has a write pin (pins are atomics: pin holders
 * never take a cache lock).  => c->lock held, or b in transit and so
 * stable (spring__block_wait_wpins looks under page_lock alone). */
bool spring__block_wpinned(spring_vmm_t *vmm, const struct vm_block *b)
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
void spring__block_wait_wpins(struct vm_cache *c, struct vm_block *b)
{
    vm_assert_held(&c->lock);
    spring_vmm_t *vmm = c->vmm;
    if (!spring__block_wpinned(vmm, b))
        return;
    vm_unlock(&c->lock);
    atomic_fetch_add(&vmm->cv_waiters, 1);
    vm_lock(&vmm->page_lock);
    spring__qs_offline(); /* a waiting thread is quiescent (qsbr.c) */
    while (spring__block_wpinned(vmm, b))
        vm_cond_wait(&vmm->frame_cv, &vmm->page_lock);
    spring__qs_online();
    vm_unlock(&vmm->page_lock);
    atomic_fetch_sub(&vmm->cv_waiters, 1);
    vm_lock(&c->lock);
}

bool spring__block_pinned(spring_vmm_t *vmm, const struct vm_block *b)
{
    for (size_t i = 0; i < b->nframes; i++)
        if (atomic_load(&vmm->frames[b->frames[i]].pins) != 0)
            return true;
    return false;
}

/* Gather the HAT's modified bits into b->dirty, clearing them.
 * => c->lock held. */
bool spring__block_dirty(spring_vmm_t *vmm, struct vm_block *b)
{
    vm_assert_held(&b->cache->lock);
    for (size_t i = 0; i < b->nframes; i++)
        if (spring__hat_frame_refmod(vmm, b->frames[i], SPRING_HAT_MOD) & SPRING_HAT_MOD)
            b->dirty = true;
    return b->dirty;
}

/* ------------------------------------------------------------------ */
/* Zero-fill table: a tree of sorted, non-overlapping, coalesced ranges. */

int spring__zr_cmp(const struct vm_zrange *a, const struct vm_zrange *b)
{
    return a->start < b->start ? -1 : a->start > b->start;
}
RB_GENERATE(vm_zr_tree, vm_zrange, node, spring__zr_cmp)

/* => c->lock held. */
static struct vm_zrange *zr_node_alloc(struct vm_cache *c)
{
    vm_assert_held(&c->lock);
    return spring__slab_alloc(c->vmm, &c->zr_slab);
}

/* The first range ending after off.  => c->lock held. */
static struct vm_zrange *zr_first_after(const struct vm_cache *c, spring_off_t off)
{
    vm_assert_held(&c->lock);
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

void spring__zr_clear(struct vm_cache *c)
{
    struct vm_zrange *r, *n;
    RB_FOREACH_SAFE(r, vm_zr_tree, &c->zr, n) {
        RB_REMOVE(vm_zr_tree, &c->zr, r);
        spring__slab_free(&c->zr_slab, r);
    }
    c->nzr = 0;
}

/* Remove [s, e) from the table; a split needs one node.  => c->lock held. */
int spring__zr_remove(struct vm_cache *c, spring_off_t s, spring_off_t e)
{
    vm_assert_held(&c->lock);
    if (s >= e)
        return 0; /* an empty range: nothing to remove (and nothing to split) */
    struct vm_zrange *r = zr_first_after(c, s), *next;
    if (r != NULL && r->start < s && r->end > e) {
        struct vm_zrange *n = zr_node_alloc(c);
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
            spring__slab_free(&c->zr_slab, r);
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
int spring__zr_add(struct vm_cache *c, spring_off_t s, spring_off_t e)
{
    vm_assert_held(&c->lock);
    if (s >= e)
        return 0; /* an empty range is never entered */
    struct vm_zrange *r = zr_first_after(c, s);
    if (r != NULL && r->start <= s && r->end >= e)
        return 0; /* already there */
    struct vm_zrange *n = zr_node_alloc(c);
    if (n == NULL)
        return SPRING_ENOMEM;
    (void)spring__zr_remove(c, s, e); /* no split: no range holds all of [s, e) */
    n->start = s;
    n->end = e;
    RB_INSERT(vm_zr_tree, &c->zr, n);
    c->nzr++;
    struct vm_zrange *p = RB_PREV(vm_zr_tree, &c->zr, n), *x = RB_NEXT(vm_zr_tree, &c->zr, n);
    if (x != NULL && x->start == n->end) {
        n->end = x->end;
        RB_REMOVE(vm_zr_tree, &c->zr, x);
        spring__slab_free(&c->zr_slab, x);
        c->nzr--;
    }
    if (p != NULL && p->end == n->start) {
        p->end = n->end;
        RB_REMOVE(vm_zr_tree, &c->zr, n);
        spring__slab_free(&c->zr_slab, n);
        c->nzr--;
    }
    return 0;
}

/* Whether any page of the block at boff is locked.  => c->lock held. */
bool spring__block_locked(struct vm_cache *c, spring_off_t boff)
{
    vm_assert_held(&c->lock);
    struct vm_lockent key = {.offset = boff};
    struct vm_lockent *le = RB_NFIND(vm_lock_tree, &c->locks, &key);
    return le != NULL && le->offset < boff + c->block_size;
}

/* Add delta (+1 or -1) to the lock count of every page in [off, off+size)
 * (page aligned).  Frames are reserved per block: a block with at least one
 * locked page reserves all its frames.  Locking fails with
 * SPRING_ELOCKLIMIT if the pool cannot hold the newly reserved frames: two
 * of the largest blocks of any cache always stay unlocked, so that faults
 * on every cache can make progress.
 * => no cache lock held (the address-space lock may be: lock_memory and
 *    unmap hold it). */
int spring__cache_lock_range(struct vm_cache *c, spring_off_t off, spring_off_t size, int delta)
{
    vm_assert_no_rank(VM_RANK_CACHE);
    spring_vmm_t *vmm = c->vmm;
    spring_off_t ps = vmm->page_size, end = off + size;
    int rc = 0;
    vm_lock(&c->lock);
    if (delta > 0) {
        /* Count the blocks that become locked. */
        size_t fresh = 0;
        spring_off_t bm = c->block_size - 1;
        for (spring_off_t b = off & ~bm; b < end; b += c->block_size)
            if (!spring__block_locked(c, b))
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
                if (!spring__block_locked(c, b)) {
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
/* Moving a block between caches: the identity change copy-on-write and */
/* bulk move (§9.5, §9.6) will make.                                    */

/* Take two caches' locks in the order docs/locking.md gives for two locks
 * of one class: increasing address (one lock if they are the same). */
static void lock_two(struct vm_cache *a, struct vm_cache *b)
{
    if (a == b) {
        vm_lock(&a->lock);
    } else if ((uintptr_t)a < (uintptr_t)b) {
        vm_lock(&a->lock);
        vm_lock(&b->lock);
    } else {
        vm_lock(&b->lock);
        vm_lock(&a->lock);
    }
}

static void unlock_two(struct vm_cache *a, struct vm_cache *b)
{
    if (a != b)
        vm_unlock(&b->lock);
    vm_unlock(&a->lock);
}

int spring__block_move(struct vm_cache *src, spring_off_t soff, struct vm_cache *dst, spring_off_t doff)
{
    if (src->vmm != dst->vmm || src->block_size != dst->block_size || ((soff | doff) & (src->block_size - 1)))
        return SPRING_EINVAL;
    if (src == dst && soff == doff)
        return 0;
    spring_vmm_t *vmm = src->vmm;
    int rc = 0;
    lock_two(src, dst);
    struct vm_block *b = spring__block_lookup(src, soff);
    if (src->destroyed || dst->destroyed) {
        rc = SPRING_EDESTROYED;
    } else if (b == NULL) {
        rc = SPRING_ENOENT;
    } else if (spring__block_lookup(dst, doff) != NULL) {
        rc = SPRING_EEXIST;
    } else if (b->state != VM_B_VALID || b->fast || b->taken || spring__block_locked(src, soff) ||
               spring__block_pinned(vmm, b)) {
        rc = SPRING_EBUSY; /* in transit, reached without pins, held by a call, locked or pinned */
    } else {
        /* Its translations belong to the old identity. */
        spring__hat_unload_block(vmm, b);
        if (spring__block_pinned(vmm, b))
            rc = SPRING_EBUSY; /* pinned before the unload: translations come back on the next fault */
        else
            rc = spring__zr_remove(dst, doff, doff + dst->block_size);
    }
    /* The block's record comes from its cache's slab: the moved block is a
     * copy from dst's, taking the old one's place on the replacement list. */
    struct vm_block *nb = NULL;
    if (rc == 0 && (nb = spring__block_alloc(dst, doff)) == NULL)
        rc = SPRING_ENOMEM;
    if (rc == 0) {
        (void)spring__block_dirty(vmm, b);
        spring__block_unhash(src, b);
        memcpy(nb->frames, b->frames, b->nframes * sizeof *b->frames);
        nb->state = b->state;
        nb->dirty = true; /* dst's pager has never seen these bytes */
        nb->rw = b->rw && (dst->max_rights & SPRING_RIGHTS_W);
        atomic_store_explicit(&nb->referenced, atomic_load_explicit(&b->referenced, memory_order_relaxed),
                              memory_order_relaxed);
        spring__pageout_replace(vmm, b, nb); /* the scan reads identities under page_lock */
        spring__block_hash(dst, nb);
        spring__block_free(src, b);
        pthread_cond_broadcast(&src->cv);
        pthread_cond_broadcast(&dst->cv);
    }
    unlock_two(src, dst);
    return rc;
}
