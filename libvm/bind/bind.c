/*
 * bind.c - the bind protocol (paper §7): bind, and final_bind with bind
 * keys when the cache-rights a pager returns does not lead to a live cache
 * of this VMM (§7.5: a cache reclaimed during the bind, or a forged, stale
 * or foreign cache-rights; the VMM cannot tell which).
 */
#include <stdlib.h>

#include "vmm/vm_int.h"


void spring__bindkey_ref(struct vm_bindkey *k)
{
    atomic_fetch_add(&k->refs, 1);
}

/* Drop a reference; the last one frees the key and whatever binding a
 * late bind_cache left in it. */
void spring__bindkey_unref(struct vm_bindkey *k)
{
    if (atomic_fetch_sub(&k->refs, 1) != 1)
        return;
    if (k->cache) {
        spring__cache_detach(k->cache);
        spring__cache_unref(k->cache);
    }
    vm_mutex_destroy(&k->lock);
    free(k);
}

/* A memory object's bind code as map reports it: SPRING_ERANGE (a range
 * past the object's end) passes through; any other failure is
 * SPRING_EBIND, its own code in spring_last_error(). */
static int call_rc(int rc)
{
    if (rc == 0)
        return 0;
    return rc == SPRING_ERANGE ? SPRING_ERANGE : SPRING_EBIND;
}

/* The trace record of a bind or final_bind (trace.h): the memory object's
 * own code, the cache its answer leads to (0: none, or an answer the VMM
 * refused), the object offset and the length answered (asked, on failure). */
static void trace_bind(spring_vmm_t *vmm, int kind, uint64_t ns, int rc, const struct vm_cache *c, uint64_t as_id,
                       spring_off_t off, spring_off_t len, spring_rights_t access)
{
    VM_TRACE(vmm, .kind = (uint32_t)kind, .result = rc, .cache = c ? spring__cache_id(c) : 0, .as = as_id, .offset = off,
             .length = len, .access = access, .duration_ns = ns);
}

int spring__bind(spring_vmm_t *vmm, uint64_t as_id, spring_mobj_t *mobj, spring_rights_t access,
                 spring_off_t mobj_off, spring_off_t *length, struct vm_cache **cache, spring_off_t *cache_off,
                 spring_rights_t *rights)
{
    spring_off_t len = *length;
    spring_cache_rights_t r = {0};
    spring_off_t coff = 0;
    long flags = 0;
    uint64_t t0 = spring__trace_t0(vmm);
    int rc = spring__mobj_bind(mobj, vmm->name, access, mobj_off, &len, &r, &coff, &flags);
    uint64_t ns = spring__trace_since(t0); /* the record waits for the cache the answer leads to */
    if (rc != 0) {
        trace_bind(vmm, SPRING_TRACE_BIND, ns, rc, NULL, as_id, mobj_off, *length, access);
        return call_rc(rc);
    }
    if (len == 0 || len > *length || (len & (vmm->page_size - 1)) || (coff & (vmm->page_size - 1)) ||
        coff + len < coff || flags != 0) {
        trace_bind(vmm, SPRING_TRACE_BIND, ns, rc, NULL, as_id, mobj_off, len, access);
        spring__set_error(0, "the memory object's bind answered outside the protocol: length %#llx for %#llx asked, "
                          "cache offset %#llx, flags %#lx (page-aligned, non-empty, not longer, flags 0)",
                          (unsigned long long)len, (unsigned long long)*length, (unsigned long long)coff, flags);
        return SPRING_EBIND;
    }
    /* A binding whose rights include write makes the cache "bound
     * writable" (§6.1) even if it is mapped read-only for now. */
    int arc = spring__rights_attach(vmm, r, true, cache, rights);
    trace_bind(vmm, SPRING_TRACE_BIND, ns, rc, arc == 0 ? *cache : NULL, as_id, mobj_off, len, access);
    if (arc == 0) { /* the cache offset need not be block aligned: faults align */
        *length = len;
        *cache_off = coff;
        return 0;
    }
    /* §7.5: final_bind with a bind key. */
    struct vm_bindkey *k = spring__calloc(vmm, 1, sizeof *k);
    if (k == NULL)
        return SPRING_ENOMEM;
    k->vmm = vmm;
    atomic_init(&k->refs, 1);
    vm_mutex_init(&k->lock, VM_RANK_BINDKEY);
    spring_bind_key_t key;
    rc = spring__handle_new(VM_H_BINDKEY, k, 0, &key.h);
    if (rc) {
        spring__bindkey_unref(k);
        return rc;
    }
    flags = 0;
    t0 = spring__trace_t0(vmm);
    rc = spring__mobj_final_bind(mobj, key, vmm->name, access, mobj_off, len, &flags);
    ns = spring__trace_since(t0);
    /* The key is consumed: it dies now, whatever the pager did. */
    spring__handle_free(key.h, VM_H_BINDKEY);
    vm_lock(&k->lock);
    struct vm_cache *c = k->cache;
    spring_rights_t kr = k->rights;
    spring_off_t klen = k->length, koff = k->offset;
    k->cache = NULL;
    k->dead = true;
    vm_unlock(&k->lock);
    spring__bindkey_unref(k);
    bool ok = c != NULL && rc == 0 && flags == 0 && klen != 0 && (klen & (vmm->page_size - 1)) == 0 &&
              (koff & (vmm->page_size - 1)) == 0 && koff + klen >= koff;
    trace_bind(vmm, SPRING_TRACE_FINAL_BIND, ns, rc, ok ? c : NULL, as_id, mobj_off, ok ? klen : len, access);
    if (c == NULL) {
        if (rc == 0)
            spring__set_error(0, "bind returned a cache-rights that leads to no live cache of this VMM, and "
                              "final_bind bound no cache to the key");
        return SPRING_EBIND;
    }
    /* The key held a reference and an attachment: they pass to the caller. */
    if (!ok) {
        if (rc == 0)
            spring__set_error(0, "final_bind bound a cache but answered outside the protocol: flags %#lx, length "
                              "%#llx, cache offset %#llx", flags, (unsigned long long)klen, (unsigned long long)koff);
        spring__cache_detach(c);
        spring__cache_unref(c);
        return SPRING_EBIND;
    }
    if (kr & SPRING_RIGHTS_W)
        spring__cache_note_rw(c);
    *cache = c;
    *rights = kr;
    *length = SPRING__MIN(len, klen);
    *cache_off = koff;
    return 0;
}

/* Resolve an outstanding bind key of this VMM.  Returns it locked. */
static int key_get(spring_vmm_t *vmm, spring_bind_key_t key, struct vm_bindkey **out)
{
    void *obj;
    int rc = spring__handle_get(key.h, VM_H_BINDKEY, &obj, NULL);
    if (rc)
        return rc;
    struct vm_bindkey *k = obj;
    if (k->vmm != vmm) {
        spring__bindkey_unref(k);
        return SPRING_EBADHANDLE;
    }
    vm_lock(&k->lock);
    if (k->dead) {
        vm_unlock(&k->lock);
        spring__bindkey_unref(k);
        return SPRING_EBADHANDLE;
    }
    if (k->cache != NULL) {
        vm_unlock(&k->lock);
        spring__bindkey_unref(k);
        return SPRING_EBUSY;
    }
    *out = k;
    return 0;
}

/* Unlock and drop a key from key_get. */
static void key_put(struct vm_bindkey *k)
{
    vm_unlock(&k->lock);
    spring__bindkey_unref(k);
}

int spring_vmm_bind_cache(spring_vmm_obj_t vmm_obj, spring_bind_key_t key, spring_off_t bind_length,
                          spring_off_t bind_cache_offset, spring_cache_rights_t rights)
{
    spring_vmm_t *vmm = spring__vmm_from_obj(vmm_obj, NULL);
    if (vmm == NULL)
        return SPRING_EBADHANDLE;
    if (bind_length == 0)
        return SPRING_EINVAL;
    struct vm_bindkey *k;
    int rc = key_get(vmm, key, &k);
    if (rc)
        return rc;
    struct vm_cache *c;
    spring_rights_t r;
    rc = spring__rights_attach(vmm, rights, false, &c, &r);
    if (rc == 0) {
        k->cache = c;
        k->rights = r;
        k->offset = bind_cache_offset;
        k->length = bind_length;
        key_put(k);
        spring_cache_rights_release(rights); /* consumed */
        return 0;
    }
    key_put(k);
    return rc;
}

int spring_vmm_create_cache_object_and_bind(spring_vmm_obj_t vmm_obj, spring_bind_key_t key,
                                            spring_off_t bind_length, spring_off_t bind_cache_offset,
                                            spring_rights_t bind_max_rights, const spring_pager_ops_t *pager_ops,
                                            void *pager, bool signal_last_ref, const spring_pager_info_t *info,
                                            spring_ownership_t ownership, spring_rights_t max_rights,
                                            spring_cache_obj_t *cache, spring_cache_rights_t *rights)
{
    if (cache == NULL || rights == NULL || bind_length == 0 || !spring_rights_valid(bind_max_rights) ||
        !spring_rights_valid(max_rights))
        return SPRING_EINVAL;
    if (!spring_rights_subset(bind_max_rights, max_rights))
        return SPRING_ERIGHTS;
    spring_vmm_t *vmm = spring__vmm_from_obj(vmm_obj, NULL);
    if (vmm == NULL)
        return SPRING_EBADHANDLE;
    struct vm_bindkey *k;
    int rc = key_get(vmm, key, &k);
    if (rc)
        return rc;
    rc = spring_vmm_create_cache_object(vmm_obj, pager_ops, pager, signal_last_ref, info, ownership, max_rights,
                                        cache, rights);
    if (rc) {
        key_put(k);
        return rc;
    }
    struct vm_cache *c;
    spring_rights_t r;
    spring_cache_rights_t sib;
    rc = spring_cache_rights_create_restricted_sibling(*rights, bind_max_rights, &sib);
    if (rc == 0) {
        rc = spring__rights_attach(vmm, sib, false, &c, &r);
        spring_cache_rights_release(sib);
    }
    if (rc) {
        key_put(k);
        void *obj;
        if (spring__handle_get(cache->h, VM_H_CACHE, &obj, NULL) == 0) {
            spring__cache_abort(obj);
            spring__cache_unref(obj);
        }
        return rc;
    }
    k->cache = c;
    k->rights = r;
    k->offset = bind_cache_offset;
    k->length = bind_length;
    key_put(k);
    return 0;
}
