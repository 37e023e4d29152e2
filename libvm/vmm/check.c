/*
 * check.c - the internal consistency checker (spring_vmm_check): frame
 * lists and counters, every cache's blocks, page hash and zero-fill table,
 * and every address space's regions and subregion maps.
 */
#include <stdlib.h>

#include "cache/cache_int.h"

static int check_frames(spring_vmm_t *vmm, const char **why)
{
    int rc = 0;
    vm_lock(&vmm->page_lock);
    size_t nfree = 0;
    struct vm_frame *f;
    TAILQ_FOREACH(f, &vmm->freeq, fq) {
        nfree++;
        if (!f->onfree || f->block != NULL || atomic_load(&f->pins) != 0) {
            *why = "a free frame is in use or pinned";
            rc = SPRING_EPROTO;
            break;
        }
    }
    if (rc == 0 && nfree != vmm->nfree) {
        *why = "free-frame count wrong";
        rc = SPRING_EPROTO;
    }
    size_t onfree = 0;
    for (size_t i = 0; rc == 0 && i < vmm->nframes; i++)
        if (vmm->frames[i].onfree)
            onfree++;
    if (rc == 0 && onfree != nfree) {
        *why = "frames marked free but not on the free list";
        rc = SPRING_EPROTO;
    }
    size_t special = 0;
    for (size_t i = 0; rc == 0 && i < vmm->nframes; i++)
        if (vmm->frames[i].special && (vmm->frames[i].onfree || vmm->frames[i].block != NULL))
            *why = "a frame of the HAT's tables is also free or in a block", rc = SPRING_EPROTO;
        else if (vmm->frames[i].special)
            special++;
    if (rc == 0 && special != vmm->nspecial) {
        *why = "count of the HAT's table frames wrong";
        rc = SPRING_EPROTO;
    }
    if (rc == 0 && vmm->nlocked > vmm->nframes) {
        *why = "more frames locked than exist";
        rc = SPRING_EPROTO;
    }
    struct vm_block *b;
    size_t ninuse = 0;
    TAILQ_FOREACH(b, &vmm->inuse, lru) {
        ninuse++;
        if (rc == 0 && b->onlist != VM_BL_INUSE) {
            *why = "block on the in-use list not marked so";
            rc = SPRING_EPROTO;
        }
    }
    if (rc == 0 && ninuse != vmm->ninuse) {
        *why = "in-use block count wrong";
        rc = SPRING_EPROTO;
    }
    TAILQ_FOREACH(b, &vmm->pageoutq, lru) {
        if (rc)
            break;
        if (b->onlist != VM_BL_PAGEOUT) {
            *why = "block on the page-out list not marked so";
            rc = SPRING_EPROTO;
        }
    }
    vm_unlock(&vmm->page_lock);
    return rc;
}

int spring_vmm_check(spring_vmm_t *vmm, const char **why)
{
    const char *dummy;
    if (vmm == NULL)
        return SPRING_EINVAL;
    if (why == NULL)
        why = &dummy;
    *why = NULL;
    int rc = check_frames(vmm, why);
    if (rc)
        return rc;
    /* Caches: take references under the list lock, check without it. */
    for (int l = 0; l < VM_CL_COUNT && rc == 0; l++) {
        vm_lock(&vmm->cache_lock);
        size_t n = 0;
        struct vm_cache *c;
        TAILQ_FOREACH(c, &vmm->lists[l], lq)
            n++;
        struct vm_cache **v = n ? spring__calloc(vmm, n, sizeof *v) : NULL;
        if (n && v == NULL) {
            vm_unlock(&vmm->cache_lock);
            return SPRING_ENOMEM;
        }
        size_t k = 0;
        TAILQ_FOREACH(c, &vmm->lists[l], lq) {
            if (c->list != l) {
                *why = "cache on a list it does not record";
                rc = SPRING_EPROTO;
            }
            if ((l == VM_CL_ATTACHED) != (c->nattach > 0) && l != VM_CL_NEW) {
                *why = "cache on the wrong attached/unattached list";
                rc = SPRING_EPROTO;
            }
            spring__cache_ref(c);
            v[k++] = c;
        }
        vm_unlock(&vmm->cache_lock);
        for (size_t i = 0; i < k; i++) {
            if (rc == 0)
                rc = spring__cache_check(v[i], why);
            spring__cache_unref(v[i]);
        }
        free(v);
    }
    if (rc)
        return rc;
    vm_lock(&vmm->as_list_lock);
    spring_as_t *as;
    size_t nas = 0;
    LIST_FOREACH(as, &vmm->as_list, link) {
        nas++;
        if (rc == 0)
            rc = spring__as_check(as, why);
    }
    if (rc == 0 && nas != vmm->nas) {
        *why = "address-space count wrong";
        rc = SPRING_EPROTO;
    }
    vm_unlock(&vmm->as_list_lock);
    return rc;
}
