/*
 * cache.c - the cache layer's cache descriptors (paper §5.1, §7, §9.2.1):
 * creation, references, attachment and the cache lists, the calls-in-flight
 * count that decides done_with_pager_object, destruction, cache-rights
 * objects, reclamation (§7.5) and the consistency check of a cache.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cache/cache_int.h"

/* ------------------------------------------------------------------ */
/* References and lists.                                                */

void spring__zr_clear(struct vm_cache *c);

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
    spring__zr_clear(c);
    spring__block_slab_fini(c);
    free(c->rights_h);
    vm_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->cv);
    free(c);
}

uint64_t spring__cache_id(const struct vm_cache *c)
{
    return c->id;
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
    vm_assert_held(&vmm->cache_lock);
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

bool spring__valid_own(spring_ownership_t o)
{
    return o == SPRING_OWN_EXCLUSIVE || o == SPRING_OWN_SHARED;
}

int spring__cache_new(spring_vmm_t *vmm, spring_privilege_t priv, const spring_pager_ops_t *ops, void *pager,
                      bool signal_last_ref, const spring_pager_info_t *info, spring_ownership_t own,
                      spring_rights_t max_rights, struct vm_cache **out)
{
    if (ops == NULL || info == NULL || out == NULL || !spring_rights_valid(max_rights) || !spring__valid_own(own))
        return SPRING_EINVAL;
    int rc = spring__pager_ops_check(ops);
    if (rc)
        return rc;
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
    spring__block_slab_init(c);
    c->max_rights = max_rights;
    c->priv = priv;
    c->signal_last_ref = signal_last_ref;
    c->own = own;
    c->list = VM_CL_NONE;
    RB_INIT(&c->blocks);
    RB_INIT(&c->locks);
    RB_INIT(&c->zr);
    rc = spring__handle_new(VM_H_CACHE, c, 0, &c->handle);
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

/* Issue a cache-rights handle.  => no cache lock held (a bind key's lock
 * may be: bind holds it across the cache's creation). */
static int rights_new(struct vm_cache *c, spring_rights_t r, uint64_t *out)
{
    vm_assert_no_rank(VM_RANK_CACHE);
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

void spring__cache_note_rw(struct vm_cache *c)
{
    spring__assert_no_locks("spring__cache_note_rw");
    vm_lock(&c->lock);
    c->rw_attach++;
    vm_unlock(&c->lock);
}

void spring__cache_count(spring_vmm_t *vmm, size_t *ncaches, size_t *unattached)
{
    spring__assert_no_locks("spring__cache_count");
    vm_lock(&vmm->cache_lock);
    *ncaches = vmm->ncaches;
    *unattached = 0;
    for (int l = VM_CL_UNATT_TEXT; l <= VM_CL_UNATT_ANON; l++) {
        struct vm_cache *c;
        TAILQ_FOREACH(c, &vmm->lists[l], lq)
            (*unattached)++;
    }
    vm_unlock(&vmm->cache_lock);
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
    spring__assert_no_locks("spring__cache_detach");
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
        if (spring__valid_own(own) && !c->destroyed)
            c->own = own;
        vm_unlock(&c->lock);
        if (done)
            spring__pager_done_with_pager_object(c);
    }
    /* Keep the unattached lists within bounds; caches not to be kept go now. */
    spring__cache_reclaim(vmm, vmm->max_unattached);
}

/* ------------------------------------------------------------------ */
/* Pager calls.                                                          */

/* Before a pager call.  => c->lock held. */
void spring__callout_begin(struct vm_cache *c)
{
    vm_assert_held(&c->lock);
    c->callouts++;
}

/* After a pager call: take the ownership the pager set, and find out
 * whether the pager object is now due its done_with_pager_object.
 * => c->lock held. */
bool spring__callout_end(struct vm_cache *c, spring_ownership_t own)
{
    vm_assert_held(&c->lock);
    c->callouts--;
    if (!c->destroyed && spring__valid_own(own))
        c->own = own;
    if (c->destroyed && c->callouts == 0 && !c->pager_done) {
        c->pager_done = true;
        return true;
    }
    return false;
}

void spring__pager_done(struct vm_cache *c)
{
    spring__pager_done_with_pager_object(c);
}

/* Destroy a cache: discard everything, invalidate its handles.  Regions
 * keep their references and fault with SPRING_EDESTROYED.
 * => no lock held. */
static void cache_kill(struct vm_cache *c)
{
    spring__assert_no_locks("cache_kill");
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
        spring__block_remove(c, b, true, true);
    spring__zr_clear(c);
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
        spring__pager_done(c);
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
    int rc = spring__cache_from_handle(cache, &c);
    if (rc)
        return rc;
    VM_API_VMM(c->vmm);
    uint64_t t0 = spring__trace_t0(c->vmm);
    cache_kill(c);
    VM_TRACE(c->vmm, .kind = SPRING_TRACE_CACHE_DESTROY, .cache = c->id, .duration_ns = spring__trace_since(t0));
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
    st->nospace = atomic_load(&p->nospace);
    st->bytes_in = atomic_load(&p->bytes_in);
    st->bytes_out = atomic_load(&p->bytes_out);
    st->ns = atomic_load(&p->ns);
}

int spring_cache_pager_stats(spring_cache_obj_t cache, spring_pager_stats_t *stats)
{
    struct vm_cache *c;
    if (stats == NULL || spring__struct_out_check(stats, SPRING__PAGER_STATS_V1) != 0)
        return SPRING_EINVAL;
    int rc = spring__cache_from_handle(cache, &c);
    if (rc)
        return rc;
    spring_pager_stats_t st = {.size = sizeof st};
    spring__cache_pager_stats(c, &st);
    spring__cache_unref(c);
    spring__struct_out(stats, &st, sizeof st);
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
/* Reclamation (§7.5) and teardown.                                     */

/* Whether no block of c is modified or in transit.  => c->lock held. */
static bool cache_clean(struct vm_cache *c)
{
    vm_assert_held(&c->lock);
    struct vm_block *b;
    RB_FOREACH(b, vm_block_tree, &c->blocks)
        if (b->state != VM_B_VALID || (spring__block_dirty(c->vmm, b) && c->rw_attach != 0))
            return false;
    return true;
}

/* Reclaim unattached caches until at most `keep` remain (caches the pager
 * did not ask to keep always go).  Dirty data is paged out first; a cache
 * whose page-out fails is kept.  Returns the number reclaimed.
 * => no lock held. */
int spring__cache_reclaim(spring_vmm_t *vmm, size_t keep)
{
    spring__assert_no_locks("spring__cache_reclaim");
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

int spring__cache_push_all(spring_vmm_t *vmm, bool keep, bool skip_anon)
{
    spring__assert_no_locks("spring__cache_push_all");
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
        int r = 0;
        if (!skip_anon || v[i]->info.kind != SPRING_CACHE_ANON)
            r = spring__cache_flush(v[i], 0, ~(v[i]->block_size - 1), keep);
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

/* Pages of [off, off+len) that are cached.  => no cache lock held (the
 * address-space lock may be: spring_as_statistics holds it). */
size_t spring__cache_resident(struct vm_cache *c, spring_off_t off, spring_off_t len)
{
    vm_assert_no_rank(VM_RANK_CACHE);
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
    spring__assert_no_locks("spring__cache_check");
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
        if (spring__block_lookup(c, b->offset) != b) {
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
            const struct vm_frame *f = b->frames[i] < vmm->nframes ? &vmm->frames[b->frames[i]] : NULL;
            if (f == NULL || f->block != b || f->onfree) {
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
