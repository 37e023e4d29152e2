/*
 * fault.c - the cache layer's part of the fault path (paper §9.4 step 3):
 * serving a fault from a resident block or the zero-fill table, paging a
 * block in through a stub, and read-to-write upgrades (§5.1).
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cache/cache_int.h"

/* ------------------------------------------------------------------ */
/* The fault path's page_in (§9.4 step 3).                              */

/* Allocate frames for a new block with c->lock dropped.  With `lend` the
 * frames are about to be lent to the pager's page_in: any that last held
 * another cache's data is zeroed first (§7.4: a pager sees only its own
 * data), while nobody else can reach them.  Returns with c->lock held.
 * => c->lock held. */
int spring__block_alloc_frames(struct vm_cache *c, struct vm_block *b, bool lend)
{
    vm_assert_held(&c->lock);
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

/* Enter the translation for f and pin the frame.  => c->lock held, the
 * address-space lock held by the caller, b valid. */
static int fault_enter(struct vm_cache *c, struct vm_block *b, struct vm_fault *f)
{
    vm_assert_held(&c->lock);
    spring_vmm_t *vmm = c->vmm;
    size_t idx = (size_t)((f->off - b->offset) >> vmm->page_shift);
    size_t fr = b->frames[idx];
    spring_rights_t prot = f->prot;
    if (!b->rw)
        prot &= ~SPRING_RIGHTS_W;
    int rc = spring__hat_enter(vmm, f->hatctx, f->va, fr, prot);
    if (rc)
        return rc < 0 && rc > SPRING__ERR_MIN ? rc : SPRING_ENOMEM;
    /* Map ahead: the block's other pages are resident too; enter those the
     * same run of the mapping covers, so that touching them is a hit. */
    spring_addr_t va0 = f->va - (spring_addr_t)(idx << vmm->page_shift);
    for (size_t i = 0; i < b->nframes; i++) {
        spring_addr_t va = va0 + ((spring_addr_t)i << vmm->page_shift);
        if (i != idx && va >= f->ahead_lo && va < f->ahead_hi)
            (void)spring__hat_enter(vmm, f->hatctx, va, b->frames[i], prot); /* a hint: ENOMEM only loses it */
    }
    if (f->pin == VM_PIN_FAST) {
        /* A fast translation (qsbr.c): no pin; the block's frames are freed
         * after a grace period, and one for writing needs the block marked
         * modified, and a grace period before it is marked clean again. */
        b->fast = true;
        if (f->access & SPRING_RIGHTS_W) {
            b->dirty = true;
            b->fastw = true;
            b->fastw_gp = 0;
        }
    } else if (f->pin != VM_PIN_NONE) {
        atomic_fetch_add(&vmm->frames[fr].pins, 1);
        if (f->pin == VM_PIN_WRITE) {
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
    vm_assert_held(&c->lock);
    spring_vmm_t *vmm = c->vmm;
    struct vm_block *b = spring__block_alloc(c, boff);
    if (b == NULL)
        return SPRING_ENOMEM;
    int rc = spring__zr_remove(c, boff, boff + c->block_size);
    if (rc) {
        spring__block_free(c, b);
        return rc;
    }
    for (size_t i = 0; i < b->nframes; i++) {
        b->frames[i] = fr[i];
        memset(spring__frame_addr(vmm, fr[i]), 0, vmm->page_size);
    }
    b->state = VM_B_VALID;
    b->rw = true;
    b->dirty = true; /* the pager holds no copy of this data */
    spring__block_hash(c, b);
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
    struct vm_block *b = spring__block_lookup(c, boff);
    if (b != NULL) {
        if (b->state != VM_B_VALID || (want_w && !b->rw)) {
            vm_unlock(&c->lock);
            return SPRING__EAGAIN;
        }
        rc = fault_enter(c, b, f);
        if (rc == 0)
            spring__block_touch(b); /* under the cache lock: b may go once it is dropped */
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
    vm_assert_held(&c->lock);
    spring_vmm_t *vmm = c->vmm;
    void *pages[b->nframes];
    uint8_t zero[b->nframes];
    for (size_t i = 0; i < b->nframes; i++)
        pages[i] = scratch ? scratch + i * vmm->page_size : spring__frame_addr(vmm, b->frames[i]);
    spring_page_buf_t pb = {b->offset, c->block_size, vmm->page_size, b->nframes, pages, zero, upgrade};
    spring_ownership_t own = c->own;
    spring__callout_begin(c);
    spring__transit_add(vmm, +1);
    vm_unlock(&c->lock);
    int prc = spring__pager_page_in(c, b->offset, c->block_size, rw ? SPRING_RIGHTS_RW : SPRING_RIGHTS_RO, &own,
                                    &pb);
    vm_lock(&c->lock);
    spring__transit_add(vmm, -1);
    *due |= spring__callout_end(c, own);
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
    vm_assert_held(&c->lock);
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
    if (b->fast)
        spring__frames_free_deferred(vmm, b->frames, b->nframes);
    else
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
    vm_assert_held(&c->lock);
    spring_vmm_t *vmm = c->vmm;
    b->state = VM_B_OTHER;
    spring__hat_unload_block(vmm, b);
    (void)spring__block_dirty(vmm, b); /* b->dirty now says whether the cache holds the only current data */
    uint8_t *scratch = NULL;
    if (b->dirty || b->fast || spring__block_pinned(vmm, b)) { /* b->fast: readers without pins */
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
        spring__block_release_doomed(c, b);
    else if (rc == 0)
        b->rw = true;
    return rc;
}

/* Page a block in through a stub (§9.4).  => c->lock held, no block at
 * boff; dropped and re-taken around frame allocation and the pager call. */
static int block_page_in(struct vm_cache *c, spring_off_t boff, bool mode_rw, bool *due, struct vm_fault *f)
{
    vm_assert_held(&c->lock);
    spring_vmm_t *vmm = c->vmm;
    struct vm_block *b = spring__block_alloc(c, boff);
    if (b == NULL)
        return SPRING_ENOMEM;
    int rc = spring__block_alloc_frames(c, b, true);
    if (rc) {
        spring__block_free(c, b);
        return rc;
    }
    if (c->destroyed || spring__block_lookup(c, boff) != NULL) {
        /* Lost a race while the lock was dropped: the caller looks again. */
        spring__frames_free(vmm, b->frames, b->nframes);
        spring__block_free(c, b);
        return 0;
    }
    if (spring__cache_zr_contains(c, boff)) {
        struct vm_block *zb;
        size_t fr[b->nframes];
        memcpy(fr, b->frames, sizeof fr);
        spring__block_free(c, b);
        rc = zero_block(c, boff, fr, &zb);
        if (rc)
            spring__frames_free(vmm, fr, c->pages_per_block);
        else
            f->zero_filled = true;
        return rc;
    }
    b->state = VM_B_PAGEIN;
    spring__block_hash(c, b);
    int prc = pager_page_in(c, b, mode_rw, false, due, NULL);
    b->state = VM_B_VALID;
    if (b->doomed || prc != 0) {
        /* Taken away during the call, or failed: discard the data. */
        spring__block_release_doomed(c, b);
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
        if (tries > VM_FAULT_PAGER_TRIES) {
            rc = SPRING_EPAGER; /* the pager keeps taking the block away */
            break;
        }
        struct vm_block *b = spring__block_lookup(c, boff);
        if (b != NULL && b->state != VM_B_VALID) {
            spring__qs_offline(); /* a waiting thread is quiescent (qsbr.c) */
            vm_cond_wait(&c->cv, &c->lock);
            spring__qs_online();
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
        spring__pager_done(c);
    return rc;
}
