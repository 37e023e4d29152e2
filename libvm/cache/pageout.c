/*
 * pageout.c - modified data going back to pagers (paper §6.1, §9.2.2):
 * batches of contiguous modified blocks sent with page_out, sync or
 * write_out, eviction of one block for the frame allocator, and the
 * address-space flush.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cache/cache_int.h"

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
    vm_assert_held(&p->c->lock);
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
    vm_assert_held(&p->c->lock);
    struct vm_cache *c = p->c;
    spring_vmm_t *vmm = c->vmm;
    if (p->nblk == 0)
        return 0;
    spring_data_t d = {p->nent, p->ent};
    spring_off_t off = p->blk[0]->offset, len = p->end - off;
    spring_ownership_t own = c->own;
    spring__callout_begin(c);
    spring__transit_add(vmm, +1);
    for (size_t i = 0; i < p->nblk; i++)
        spring__pageout_move(vmm, p->blk[i], true);
    vm_unlock(&c->lock);
    int rc = spring__pager_push(c, p->how, off, len, &own, &d);
    vm_lock(&c->lock);
    spring__transit_add(vmm, -1);
    p->due |= spring__callout_end(c, own);
    for (size_t i = 0; i < p->nblk; i++) {
        struct vm_block *b = p->blk[i];
        spring__pageout_move(vmm, b, false);
        b->state = VM_B_VALID;
        if (b->doomed && rc != 0 && !b->discard && b->hashed) {
            b->doomed = false; /* flush_back wanted it, and the pager has not got it: keep it */
        } else if (b->doomed) {
            spring__block_release_doomed(c, b);
        } else if (rc == 0) {
            b->dirty = false;
            if (p->how == VM_PUSH_OUT) {
                spring__block_unhash(c, b);
                spring__block_release(c, b);
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
/* Replacement: the in-use and page-out lists, and making room.          */

/*
 * Blocks in use are on one list in the order they came in; a use sets the
 * block's reference flag without a lock (spring__block_touch).  To make
 * room, the scan takes blocks from the head: one used since the scan last
 * passed it gets a second chance (flag cleared, moved to the tail), any
 * other is evicted (clean: reused silently, §6.1; modified: paged out).
 * Each step is O(1); a pass looks at each block at most twice.  This is
 * where the two-handed clock sweeper will go.
 */

/* => page_lock held. */
static void list_out(spring_vmm_t *vmm, struct vm_block *b)
{
    vm_assert_held(&vmm->page_lock);
    if (b->onlist == VM_BL_INUSE) {
        TAILQ_REMOVE(&vmm->inuse, b, lru);
        vmm->ninuse--;
    } else if (b->onlist == VM_BL_PAGEOUT) {
        TAILQ_REMOVE(&vmm->pageoutq, b, lru);
    }
    b->onlist = VM_BL_NONE;
}

/* => page_lock held. */
static void list_in(spring_vmm_t *vmm, struct vm_block *b, bool out)
{
    vm_assert_held(&vmm->page_lock);
    if (out) {
        TAILQ_INSERT_TAIL(&vmm->pageoutq, b, lru);
        b->onlist = VM_BL_PAGEOUT;
    } else {
        TAILQ_INSERT_TAIL(&vmm->inuse, b, lru);
        b->onlist = VM_BL_INUSE;
        vmm->ninuse++;
    }
}

void spring__lru_insert(spring_vmm_t *vmm, struct vm_block *b)
{
    vm_lock(&vmm->page_lock);
    if (b->onlist == VM_BL_NONE)
        list_in(vmm, b, false);
    vm_unlock(&vmm->page_lock);
}

void spring__lru_remove(spring_vmm_t *vmm, struct vm_block *b)
{
    vm_lock(&vmm->page_lock);
    list_out(vmm, b);
    vm_unlock(&vmm->page_lock);
}

void spring__pageout_replace(spring_vmm_t *vmm, struct vm_block *old, struct vm_block *nb)
{
    vm_lock(&vmm->page_lock);
    nb->onlist = old->onlist;
    if (old->onlist != VM_BL_NONE) {
        TAILQ_INSERT_BEFORE(old, nb, lru);
        if (old->onlist == VM_BL_INUSE)
            TAILQ_REMOVE(&vmm->inuse, old, lru);
        else
            TAILQ_REMOVE(&vmm->pageoutq, old, lru);
        old->onlist = VM_BL_NONE;
    }
    vm_unlock(&vmm->page_lock);
}

void spring__pageout_move(spring_vmm_t *vmm, struct vm_block *b, bool out)
{
    vm_lock(&vmm->page_lock);
    list_out(vmm, b);
    list_in(vmm, b, out);
    vm_unlock(&vmm->page_lock);
}

int spring__pageout_make_room(spring_vmm_t *vmm, size_t n)
{
    spring__assert_no_locks("spring__pageout_make_room");
    struct timespec deadline = {0, 0};
    atomic_fetch_add(&vmm->cv_waiters, 1); /* unpins and transfers ending wake us */
    atomic_fetch_add(&vmm->room_gen, 1);  /* a new pass: pagers that were full may have room again */
    vm_lock(&vmm->page_lock);
    int rc = 0;
    while (vmm->nfree < n) {
        size_t limit = 2 * vmm->ninuse + 1, tried = 0;
        bool progress = false, transient = false;
        struct vm_block *b;
        while (vmm->nfree < n && tried < limit && (b = TAILQ_FIRST(&vmm->inuse)) != NULL) {
            tried++;
            /* To the tail, so the next step sees another block. */
            TAILQ_REMOVE(&vmm->inuse, b, lru);
            TAILQ_INSERT_TAIL(&vmm->inuse, b, lru);
            if (atomic_exchange_explicit(&b->referenced, false, memory_order_relaxed))
                continue; /* used since the last pass: a second chance */
            struct vm_cache *c = b->cache;
            spring_off_t off = b->offset;
            spring__cache_ref(c);
            vm_unlock(&vmm->page_lock);
            int r = spring__cache_evict(c, off);
            spring__cache_unref(c);
            vm_lock(&vmm->page_lock);
            if (r == 0)
                progress = true;
            else if (r == 1)
                transient = true;
        }
        if (vmm->nfree >= n || progress)
            continue;
        if (atomic_load(&vmm->ntransit) == 0 && !transient && vmm->ndeferred == 0 && !vmm->gp_inflight) {
            rc = SPRING_ENOFRAMES; /* every block is locked, or refused by its pager */
            break;
        }
        /* Only blocks in transit or pinned could go: wait until a frame is
         * freed, a transfer ends or a pin goes, for up to a second. */
        if (deadline.tv_sec == 0) {
            clock_gettime(CLOCK_MONOTONIC, &deadline);
            deadline.tv_sec += 1;
        }
        uint64_t gen = vmm->frame_gen;
        spring__qs_offline(); /* a waiting thread is quiescent (qsbr.c) */
        while (vmm->frame_gen == gen && vmm->nfree < n && rc == 0)
            if (vm_cond_timedwait(&vmm->frame_cv, &vmm->page_lock, &deadline) != 0)
                rc = SPRING_ENOFRAMES;
        spring__qs_online();
        if (rc != 0 && vmm->nfree >= n)
            rc = 0;
        if (rc != 0 && (vmm->ndeferred != 0 || vmm->gp_inflight))
            rc = SPRING_EQUIESCE; /* frames wait for a grace period that does not end */
        if (rc != 0)
            break;
    }
    vm_unlock(&vmm->page_lock);
    atomic_fetch_sub(&vmm->cv_waiters, 1);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Eviction (for the frame allocator).                                  */

int spring__cache_evict(struct vm_cache *c, spring_off_t off)
{
    spring__assert_no_locks("spring__cache_evict");
    spring_vmm_t *vmm = c->vmm;
    struct push p;
    int ret;
    if (push_init(c, &p) != 0)
        return 1; /* host memory is short: try another block */
    vm_lock(&c->lock);
    struct vm_block *b = spring__block_lookup(c, off);
    if (b == NULL) {
        ret = 1; /* already gone: the frames were freed by someone */
        goto out;
    }
    if (b->state != VM_B_VALID || spring__block_pinned(vmm, b)) {
        ret = 1;
        goto out;
    }
    if (spring__block_locked(c, off)) {
        ret = 2;
        goto out;
    }
    b->state = VM_B_OTHER;
    spring__hat_unload_block(vmm, b);
    /* A translate that pinned before the unload is seen here; one that
     * pins after it fails its re-validation and takes the slow path. */
    if (spring__block_pinned(vmm, b)) {
        b->state = VM_B_VALID;
        pthread_cond_broadcast(&c->cv);
        ret = 1;
        goto out;
    }
    if (spring__block_fast_settle(c, b, false) != 0) {
        /* A fast writer may still be writing: try it once a grace period
         * has passed. */
        b->state = VM_B_VALID;
        pthread_cond_broadcast(&c->cv);
        ret = 1;
        goto out;
    }
    bool dirty = spring__block_dirty(vmm, b) && c->rw_attach != 0;
    if (dirty && atomic_load(&c->full_gen) == atomic_load(&vmm->room_gen)) {
        /* Its pager had no space in this pass: not offered again. */
        b->state = VM_B_VALID;
        pthread_cond_broadcast(&c->cv);
        ret = 2;
        goto out;
    }
    if (!dirty) {
        /* Clean: reuse without telling the pager (§6.1). */
        b->state = VM_B_VALID;
        spring__block_unhash(c, b);
        spring__block_release(c, b);
        atomic_fetch_add(&vmm->st_reclaims_clean, 1);
        pthread_cond_broadcast(&c->cv);
        ret = 0;
        goto out;
    }
    push_add(&p, b, VM_PUSH_OUT);
    if (push_call(&p) == SPRING_ENOSPC)
        atomic_store(&c->full_gen, atomic_load(&vmm->room_gen));
    /* Released (or doomed and released) unless the pager refused it: with
     * the cache lock held since push_call re-took it, nothing else can have
     * entered a block at off. */
    ret = spring__block_lookup(c, off) == NULL ? 0 : 2;
out:
    vm_unlock(&c->lock);
    push_fini(&p);
    if (p.due)
        spring__pager_done(c);
    return ret;
}

/* ------------------------------------------------------------------ */
/* The address-space flush (§A flush) and lock_memory support.          */

int spring__cache_flush(struct vm_cache *c, spring_off_t off, spring_off_t size, bool keep)
{
    spring__assert_no_locks("spring__cache_flush");
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
        bool kept = keep || spring__block_locked(c, b->offset);
        b->state = VM_B_OTHER;
        if (kept)
            for (size_t i = 0; i < b->nframes; i++)
                spring__hat_frame_protect(vmm, b->frames[i], SPRING_RIGHTS_RX);
        else
            spring__hat_unload_block(vmm, b);
        if (spring__block_wpinned(vmm, b)) {
            /* Send what is gathered before waiting: a pin holder may be
             * waiting for one of those blocks. */
            (void)push_call(&p);
            spring__block_wait_wpins(c, b);
        }
        int src = spring__block_fast_settle(c, b, true);
        if (b->doomed && b->discard) { /* deleted or destroyed while we waited */
            b->state = VM_B_VALID;
            pthread_cond_broadcast(&c->cv);
            spring__block_release_doomed(c, b);
            continue;
        }
        if (src != 0) { /* a fast writer did not pass a quiescent point: it stays modified */
            b->state = VM_B_VALID;
            b->doomed = false;
            pthread_cond_broadcast(&c->cv);
            if (p.rc == 0)
                p.rc = src;
            continue;
        }
        if (!spring__block_dirty(vmm, b) || c->rw_attach == 0) {
            b->state = VM_B_VALID;
            pthread_cond_broadcast(&c->cv);
            if (!kept || b->doomed) /* clean: dropped, or kept */
                spring__block_release_doomed(c, b);
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
        if (!push_fits(&p, b, how)) {
            (void)push_call(&p);
            /* b was held in transit across that call: one the pager
             * deleted, zero-filled, populated or destroyed from inside it
             * is not sent (cache.h, "Pages in transit"). */
            if (b->doomed && b->discard) {
                b->state = VM_B_VALID;
                pthread_cond_broadcast(&c->cv);
                spring__block_release_doomed(c, b);
                continue;
            }
        }
        push_add(&p, b, how);
    }
    (void)push_call(&p);
    vm_unlock(&c->lock);
    push_fini(&p);
    if (p.due)
        spring__pager_done(c);
    return p.rc;
}
