/*
 * pagerops.c - the cache object's methods a pager calls (Appendix B):
 * flush_back, deny_writes, write_back, delete_range, zero_fill, populate,
 * and the VMM's own zero-fill of anonymous memory.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cache/cache_int.h"

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
    vm_assert_held(&b->cache->lock);
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
int spring__cache_from_handle(spring_cache_obj_t h, struct vm_cache **out)
{
    void *obj;
    int rc = spring__handle_get(h.h, VM_H_CACHE, &obj, NULL);
    if (rc)
        return rc;
    *out = obj;
    return 0;
}

/* Validate and normalize a range.  => c->lock not needed (constants). */
int spring__cache_check_range(const struct vm_cache *c, spring_off_t off, spring_off_t *size, spring_off_t *end)
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

/* The trace record of a pager's call on cache c (trace.h): the call's code,
 * the range as the pager gave it, the time the call took.  => c alive. */
static void trace_cache_call(struct vm_cache *c, int kind, uint64_t t0, int rc, spring_off_t off, spring_off_t size,
                             spring_rights_t access)
{
    VM_TRACE(c->vmm, .kind = (uint32_t)kind, .result = rc, .cache = c->id, .offset = off, .length = size,
             .access = access, .duration_ns = spring__trace_since(t0));
}

static const int take_kind[] = {
    [OP_FLUSH] = SPRING_TRACE_CACHE_FLUSH_BACK,     [OP_DENY] = SPRING_TRACE_CACHE_DENY_WRITES,
    [OP_WRITEBACK] = SPRING_TRACE_CACHE_WRITE_BACK, [OP_DELETE] = SPRING_TRACE_CACHE_DELETE_RANGE,
    [OP_ZERO] = SPRING_TRACE_CACHE_ZERO_FILL,
};

static int take_data_body(struct vm_cache *c, spring_off_t off, spring_off_t size, spring_ownership_t *own,
                          spring_data_t **data, enum take_op op);

/* The body of flush_back, deny_writes, write_back, delete_range and
 * zero_fill; api is the public call's scope (NULL for an internal call,
 * which is not traced: the trace has the pager's calls). */
static int take_data(spring_cache_obj_t h, spring_off_t off, spring_off_t size, spring_ownership_t *own,
                     spring_data_t **data, enum take_op op, struct vm_api_scope *api)
{
    struct vm_cache *c;
    int rc = 0;
    if (own != NULL && *own != SPRING_OWN_UNCHANGED && !spring__valid_own(*own))
        return SPRING_EINVAL;
    if ((rc = spring__cache_from_handle(h, &c)) != 0)
        return rc;
    uint64_t t0 = 0;
    if (api != NULL) {
        api->vmm = c->vmm; /* a public call: the debug build checks this VMM after it */
        t0 = spring__trace_t0(c->vmm);
    }
    rc = take_data_body(c, off, size, own, data, op);
    if (api != NULL)
        trace_cache_call(c, take_kind[op], t0, rc, off, size, SPRING_RIGHTS_NONE);
    spring__cache_unref(c);
    return rc;
}

/* take_data with the cache found.  => c referenced; no lock held. */
static int take_data_body(struct vm_cache *c, spring_off_t off, spring_off_t size, spring_ownership_t *own,
                          spring_data_t **data, enum take_op op)
{
    spring_off_t end;
    int rc;
    spring_vmm_t *vmm = c->vmm;
    if ((rc = spring__cache_check_range(c, off, &size, &end)) != 0)
        return rc;
    if (op == OP_ZERO && !(c->max_rights & SPRING_RIGHTS_W))
        return SPRING_ERIGHTS;
    struct gather g = {NULL, 0, 0, 0};
    spring_data_t *result = NULL;
    vm_lock(&c->lock);
    if (c->destroyed) {
        rc = SPRING_EBADHANDLE;
        goto out;
    }
    /* Reserve zero-fill table room first so that nothing fails half way. */
    if (op == OP_ZERO) {
        if ((rc = spring__zr_add(c, off, end)) != 0)
            goto out;
    } else if (op == OP_DELETE) {
        if ((rc = spring__zr_remove(c, off, end)) != 0)
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
                spring__block_remove(c, b, true, false); /* doomed: its owner frees it */
            continue;
        }
        if (op == OP_DELETE || op == OP_ZERO) {
            spring__block_remove(c, b, true, false);
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
        spring__block_wait_wpins(c, b);
        /* Returned data marks the block clean: no fast writer may still be
         * writing it (qsbr.c). */
        if (data != NULL && (rc = spring__block_fast_settle(c, b, true)) != 0)
            break;
        if (b->doomed && b->discard)
            continue; /* deleted meanwhile: its data is not wanted */
        if (spring__block_dirty(vmm, b) && c->rw_attach != 0 && data != NULL && (rc = gather_block(vmm, &g, b)) != 0)
            break;
    }
    /* Copy the data out while the blocks are still held. */
    if (rc == 0 && data != NULL && (result = gather_copy(vmm, &g)) == NULL)
        rc = SPRING_ENOMEM;
    free(g.e);
    /* Every block's data is gathered: only now take the blocks, so that an
     * ENOMEM above leaves everything cached and modified. */
    if (rc == 0 && (op == OP_FLUSH || op == OP_DENY))
        rc = spring__zr_remove(c, off, end);
    if (rc == 0 && op == OP_FLUSH) {
        /* Blocks in transit that are not this call's are doomed. */
        struct vm_block key = {.offset = off}, *next;
        for (b = RB_NFIND(vm_block_tree, &c->blocks, &key); b != NULL && b->offset < end; b = next) {
            next = RB_NEXT(vm_block_tree, &c->blocks, b);
            if (b->state != VM_B_VALID && !b->taken)
                spring__block_remove(c, b, false, false);
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
            spring__block_release_doomed(c, b); /* its data, if wanted, is in this call's result */
            continue;
        }
        if (rc != 0)
            continue;
        if (data != NULL)
            b->dirty = false; /* the pager has the data now; without a list it stays modified here */
        if (op == OP_FLUSH) {
            spring__block_unhash(c, b);
            spring__block_release(c, b);
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
    /* Blocks held by this call were out of the replacement scan's reach
     * (not counted in transit): a thread making room may be waiting for
     * them, so tell it they are back (or freed). */
    spring__frame_event(c->vmm);
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
    spring__assert_no_locks("spring__cache_tell_zero");
    /* Appendix D zero_fill_range. */
    vm_lock(&c->lock);
    if (c->destroyed || c->pops->zero_fill_range == NULL) {
        vm_unlock(&c->lock);
        return 0;
    }
    spring_ownership_t own = c->own;
    spring__callout_begin(c);
    vm_unlock(&c->lock);
    int prc = spring__pager_zero_fill_range(c, off, size, &own);
    vm_lock(&c->lock);
    bool due = spring__callout_end(c, own);
    vm_unlock(&c->lock);
    if (due)
        spring__pager_done(c);
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
    if (own != NULL && *own != SPRING_OWN_UNCHANGED && !spring__valid_own(*own))
        return SPRING_EINVAL;
    if (size == SPRING_SIZE_ALL || data == NULL)
        return SPRING_EINVAL;
    if ((rc = spring__cache_from_handle(cache, &c)) != 0)
        return rc;
    spring_vmm_t *vmm = c->vmm;
    VM_API_VMM(vmm);
    uint64_t t0 = spring__trace_t0(vmm);
    spring_off_t size0 = size;
    if ((rc = spring__cache_check_range(c, offset, &size, &end)) != 0 || (rc = check_cover(c, offset, end, data)) != 0)
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
        struct vm_block *nb = spring__block_alloc(c, o);
        if (nb == NULL) {
            rc = SPRING_ENOMEM;
            break;
        }
        if ((rc = spring__block_alloc_frames(c, nb, false)) != 0) {
            spring__block_free(c, nb);
            break;
        }
        if (c->destroyed) {
            spring__frames_free(vmm, nb->frames, nb->nframes);
            spring__block_free(c, nb);
            rc = SPRING_EBADHANDLE;
            break;
        }
        if ((rc = spring__zr_remove(c, o, o + c->block_size)) != 0) {
            spring__frames_free(vmm, nb->frames, nb->nframes);
            spring__block_free(c, nb);
            break;
        }
        struct vm_block *old = spring__block_lookup(c, o);
        if (old != NULL)
            spring__block_remove(c, old, true, true);
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
        spring__block_hash(c, nb);
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
    trace_cache_call(c, SPRING_TRACE_CACHE_POPULATE, t0, rc, offset, size0, access);
    spring__cache_unref(c);
    return rc;
}
