/*
 * vmm.c - the VMM: creation and destruction, the vmm object of Appendix C,
 * swap pagers (§6.3) and memory-object references.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/vm_int.h"
#include "testing/testhooks.h"

/* ------------------------------------------------------------------ */
/* Allocation, with failure injection in the test build.                */

#ifdef SPRING_TEST_HOOKS
bool spring__alloc_fails(spring_vmm_t *vmm)
{
    if (vmm == NULL)
        return false;
    int n = atomic_load(&vmm->inject_alloc);
    while (n > 0) {
        if (atomic_compare_exchange_weak(&vmm->inject_alloc, &n, n - 1))
            return n == 1;
    }
    return false;
}

int spring__test_inject_alloc_failure(spring_vmm_t *vmm, unsigned nth)
{
    if (vmm == NULL)
        return SPRING_EINVAL;
    atomic_store(&vmm->inject_alloc, (int)nth);
    return 0;
}
#else
bool spring__alloc_fails(spring_vmm_t *vmm)
{
    (void)vmm;
    return false;
}
#endif

void *spring__malloc(spring_vmm_t *vmm, size_t n)
{
    return spring__alloc_fails(vmm) ? NULL : malloc(n);
}

void *spring__calloc(spring_vmm_t *vmm, size_t n, size_t m)
{
    return spring__alloc_fails(vmm) ? NULL : calloc(n, m);
}

void *spring__realloc(spring_vmm_t *vmm, void *p, size_t n)
{
    return spring__alloc_fails(vmm) ? NULL : realloc(p, n);
}

/* ------------------------------------------------------------------ */
/* Creation.                                                            */

void spring_vmm_config_init(spring_vmm_config_t *cfg)
{
    if (cfg == NULL)
        return;
    memset(cfg, 0, sizeof *cfg);
    cfg->size = sizeof *cfg;
    cfg->name = "vmm";
    cfg->page_size = 4096;
    cfg->nframes = 1024;
    cfg->mode = SPRING_VMM_THREADED;
    cfg->hat = NULL;
    cfg->hat_options = NULL;
    cfg->no_default_swap_pager = false;
    cfg->max_unattached_caches = 0;
    cfg->trace_records = 0;
}

static bool pow2(size_t x)
{
    return x != 0 && (x & (x - 1)) == 0;
}

/* The last of a VMM: its locks and its memory. */
static void vmm_free(spring_vmm_t *vmm)
{
    vm_mutex_destroy(&vmm->page_lock);
    pthread_cond_destroy(&vmm->frame_cv);
    vm_mutex_destroy(&vmm->cache_lock);
    vm_mutex_destroy(&vmm->as_list_lock);
    vm_mutex_destroy(&vmm->swap_lock);
    spring__trace_fini(vmm);
    free(vmm->name);
    if (vmm->hat_hold.obj != NULL)
        vmm->hat_hold.unref(vmm->hat_hold.obj);
    free(vmm);
}

int spring_vmm_new(const spring_vmm_config_t *cfg_in, spring_vmm_t **out)
{
    int rc;
    spring_vmm_config_t cfg_copy;
    spring_vmm_config_init(&cfg_copy);
    if (cfg_in == NULL || out == NULL ||
        spring__struct_in(&cfg_copy, sizeof cfg_copy, SPRING__VMM_CONFIG_V1, cfg_in) != 0)
        return SPRING_EINVAL;
    const spring_vmm_config_t *cfg = &cfg_copy;
    if (cfg->name == NULL || cfg->name[0] == '\0' || !pow2(cfg->page_size) ||
        cfg->page_size < 4096 || cfg->nframes < 4 || (cfg->mode != SPRING_VMM_THREADED &&
        cfg->mode != SPRING_VMM_DETERMINISTIC))
        return SPRING_EINVAL;
    if (cfg->nframes > ((size_t)1 << 40) / cfg->page_size || cfg->trace_records > SPRING_TRACE_MAX_RECORDS)
        return SPRING_EINVAL;
    if (cfg->hat_hold.obj != NULL && (cfg->hat_hold.ref == NULL || cfg->hat_hold.unref == NULL))
        return SPRING_EINVAL;
    const spring_hat_ops_t *hat = spring__hat_of(cfg);
    if ((rc = spring__hat_check(hat, cfg->page_size)) != 0)
        return rc;

    spring_vmm_t *vmm = calloc(1, sizeof *vmm);
    if (vmm == NULL)
        return SPRING_ENOMEM;
    vmm->memfd = -1;
    vmm->name = strdup(cfg->name);
    if (vmm->name == NULL) {
        free(vmm);
        return SPRING_ENOMEM;
    }
    vmm->page_size = cfg->page_size;
    vmm->page_shift = (unsigned)__builtin_ctzl(cfg->page_size);
    vmm->nframes = cfg->nframes;
    vmm->mode = cfg->mode;
    vmm->max_unattached = cfg->max_unattached_caches ? cfg->max_unattached_caches : 64;
    vmm->nfree_target = SPRING__MIN(cfg->nframes / 8 + 1, 16);
    vm_mutex_init(&vmm->page_lock, VM_RANK_PAGE);
    vm_cond_init(&vmm->frame_cv);
    vm_mutex_init(&vmm->cache_lock, VM_RANK_CACHE_LIST);
    vm_mutex_init(&vmm->as_list_lock, VM_RANK_AS_LIST);
    vm_mutex_init(&vmm->swap_lock, VM_RANK_SWAP);
    for (int i = 0; i < VM_CL_COUNT; i++)
        TAILQ_INIT(&vmm->lists[i]);
    LIST_INIT(&vmm->as_list);

    rc = spring__trace_init(vmm, cfg->trace_records);
    if (rc)
        goto fail;
    rc = spring__frames_init(vmm);
    if (rc)
        goto fail;
    rc = spring__gp_init(vmm);
    if (rc)
        goto fail_frames;
    rc = spring__hat_create(vmm, hat, cfg->hat_options, cfg->hat_opts);
    if (rc)
        goto fail_frames;
    rc = spring__handle_new(VM_H_VMM, vmm, SPRING_PRIV_USER, &vmm->objh_user);
    if (rc)
        goto fail_hat;
    rc = spring__handle_new(VM_H_VMM, vmm, SPRING_PRIV_SYSTEM, &vmm->objh_system);
    if (rc)
        goto fail_h1;
    if (!cfg->no_default_swap_pager) {
        void *anon = spring__anon_swap_new(vmm);
        if (anon == NULL) {
            rc = SPRING_ENOMEM;
            goto fail_h2;
        }
        spring_vmm_obj_t o = {vmm->objh_system};
        rc = spring_vmm_add_swap_pager(o, spring__anon_swap_ops(), anon, true);
        if (rc) {
            spring__anon_swap_ops()->release(anon);
            goto fail_h2;
        }
    }
    if (cfg->hat_hold.obj != NULL) {
        vmm->hat_hold = cfg->hat_hold;
        vmm->hat_hold.ref(vmm->hat_hold.obj);
    }
    *out = vmm;
    return 0;

fail_h2:
    spring__handle_free(vmm->objh_system, VM_H_VMM);
fail_h1:
    spring__handle_free(vmm->objh_user, VM_H_VMM);
fail_hat:
    spring__hat_destroy(vmm);
fail_frames:
    spring__gp_fini(vmm);
    spring__frames_fini(vmm);
fail:
    vmm_free(vmm);
    return rc;
}

int spring_vmm_destroy(spring_vmm_t *vmm)
{
    if (vmm == NULL)
        return SPRING_EINVAL;
    vm_lock(&vmm->as_list_lock);
    size_t nas = vmm->nas;
    vm_unlock(&vmm->as_list_lock);
    if (nas != 0)
        return SPRING_EBUSY;
    /* Nothing is lost (§9.2.3): every modified block goes to its pager
     * first, as reclamation does.  Anonymous objects nobody references any
     * more were destroyed by their pagers when the last reference went. */
    int rc = spring__cache_push_all(vmm, false, false);
    if (rc != 0)
        return rc;
    /* Frames fast translations reached wait for a grace period: let the
     * running ones end (a registered thread that never passes a quiescent
     * point makes this fail, and the VMM stays). */
    if ((rc = spring__gp_drain(vmm)) != 0)
        return rc;
    /* No new vmm-object calls from here on. */
    spring__handle_free(vmm->objh_user, VM_H_VMM);
    spring__handle_free(vmm->objh_system, VM_H_VMM);
    /* Swap pagers first: releasing them drops their memory objects, whose
     * pagers destroy their caches. */
    vm_lock(&vmm->swap_lock);
    struct vm_swap *s = vmm->swaps;
    vmm->swaps = NULL;
    vm_unlock(&vmm->swap_lock);
    while (s) {
        struct vm_swap *n = s->next;
        spring__swap_release(s);
        free(s);
        s = n;
    }
    spring__cache_destroy_all(vmm);
    spring__hat_destroy(vmm);
    spring__gp_fini(vmm);
    spring__frames_fini(vmm);
    vmm_free(vmm);
    return 0;
}

const char *spring_vmm_name(const spring_vmm_t *vmm)
{
    return vmm ? vmm->name : NULL;
}

int spring_vmm_get_object(spring_vmm_t *vmm, spring_privilege_t priv, spring_vmm_obj_t *out)
{
    if (vmm == NULL || out == NULL)
        return SPRING_EINVAL;
    if (priv == SPRING_PRIV_USER)
        out->h = vmm->objh_user;
    else if (priv == SPRING_PRIV_SYSTEM)
        out->h = vmm->objh_system;
    else
        return SPRING_EINVAL;
    return 0;
}

spring_vmm_t *spring__vmm_from_obj(spring_vmm_obj_t o, spring_privilege_t *priv)
{
    void *obj;
    unsigned aux;
    if (spring__handle_get(o.h, VM_H_VMM, &obj, &aux) != 0)
        return NULL;
    if (priv)
        *priv = (spring_privilege_t)aux;
    return obj;
}

int spring_vmm_get_vm_info(spring_vmm_obj_t vmm_obj, spring_vm_info_t *out)
{
    if (out == NULL || spring__struct_out_check(out, SPRING__VM_INFO_V1) != 0)
        return SPRING_EINVAL;
    spring_vmm_t *vmm = spring__vmm_from_obj(vmm_obj, NULL);
    if (vmm == NULL)
        return SPRING_EBADHANDLE;
    spring_vm_info_t i = {.size = sizeof i}, *info = &i;
    info->page_size = vmm->page_size;
    info->nframes = vmm->nframes;
    vm_lock(&vmm->page_lock);
    info->free_frames = vmm->nfree;
    info->locked_frames = vmm->nlocked;
    info->special_frames = vmm->nspecial;
    vm_unlock(&vmm->page_lock);
    info->inuse_frames = vmm->nframes - info->free_frames;
    spring__cache_count(vmm, &info->ncaches, &info->unattached_caches);
    vm_lock(&vmm->as_list_lock);
    info->naddress_spaces = vmm->nas;
    vm_unlock(&vmm->as_list_lock);
    info->faults = atomic_load(&vmm->st_faults);
    info->page_ins = atomic_load(&vmm->st_page_ins);
    info->page_outs = atomic_load(&vmm->st_page_outs);
    info->write_backs = atomic_load(&vmm->st_write_backs);
    info->scrubs = atomic_load(&vmm->st_scrubs);
    info->reclaims_clean = atomic_load(&vmm->st_reclaims_clean);
    info->zero_fills = atomic_load(&vmm->st_zero_fills);
    info->pageouts_nospace = atomic_load(&vmm->st_nospace);
    spring__struct_out(out, info, sizeof *info);
    return 0;
}

int spring_vmm_sync(spring_vmm_t *vmm)
{
    return spring_vmm_sync_flags(vmm, 0);
}

int spring_vmm_sync_flags(spring_vmm_t *vmm, unsigned flags)
{
    VM_API_ENTER();
    VM_API_VMM(vmm);
    if (vmm == NULL || (flags & ~SPRING_VMM_SYNC_SKIP_ANON) != 0)
        return SPRING_EINVAL;
    return spring__cache_push_all(vmm, true, (flags & SPRING_VMM_SYNC_SKIP_ANON) != 0);
}

int spring_vmm_reclaim_caches(spring_vmm_t *vmm, size_t keep)
{
    VM_API_ENTER();
    VM_API_VMM(vmm);
    if (vmm == NULL)
        return SPRING_EINVAL;
    return spring__cache_reclaim(vmm, keep);
}

/* ------------------------------------------------------------------ */
/* Swap pagers.                                                         */

int spring_vmm_add_swap_pager(spring_vmm_obj_t vmm_obj, const spring_swap_pager_ops_t *ops, void *swapper,
                              bool temporary)
{
    int rc = spring__swap_ops_check(ops);
    if (rc)
        return rc;
    spring_privilege_t priv;
    spring_vmm_t *vmm = spring__vmm_from_obj(vmm_obj, &priv);
    if (vmm == NULL)
        return SPRING_EBADHANDLE;
    if (priv != SPRING_PRIV_SYSTEM)
        return SPRING_EPERM;
    struct vm_swap *s = spring__calloc(vmm, 1, sizeof *s);
    if (s == NULL)
        return SPRING_ENOMEM;
    s->ops = ops;
    s->self = swapper;
    s->temporary = temporary;
    vm_lock(&vmm->swap_lock);
    struct vm_swap **pp = &vmm->swaps;
    while (*pp)
        pp = &(*pp)->next;
    *pp = s;
    vm_unlock(&vmm->swap_lock);
    return 0;
}

/* Create an anonymous memory object: from `first` (an address space's own
 * swap pager) if given, else from the VMM's swap pagers in order, skipping
 * temporary ones while a permanent one exists.  Swap pagers live until the
 * VMM is destroyed, so calling them after dropping swap_lock is safe. */
int spring__vmm_new_anon(spring_vmm_t *vmm, struct vm_swap *first, spring_off_t length, spring_mobj_t **out)
{
    int rc;
    if (first != NULL && first->ops != NULL)
        return spring__swap_create_mobj(first, length, out);
    enum { MAXS = 64 };
    struct vm_swap cand[MAXS];
    size_t n = 0;
    bool permanent = false;
    vm_lock(&vmm->swap_lock);
    for (struct vm_swap *s = vmm->swaps; s; s = s->next)
        if (!s->temporary)
            permanent = true;
    for (struct vm_swap *s = vmm->swaps; s && n < MAXS; s = s->next)
        if (!permanent || !s->temporary)
            cand[n++] = *s;
    vm_unlock(&vmm->swap_lock);
    if (n == 0)
        return SPRING_ENOSWAP;
    rc = SPRING_ENOSWAP;
    for (size_t i = 0; i < n; i++) {
        rc = spring__swap_create_mobj(&cand[i], length, out);
        if (rc != SPRING_ENOSPC)
            return rc;
    }
    return rc;
}

/* ------------------------------------------------------------------ */
/* Memory objects.                                                      */

int spring_mobj_new(const spring_mobj_ops_t *ops, void *self, spring_mobj_t **out)
{
    if (out == NULL)
        return SPRING_EINVAL;
    int rc = spring__mobj_ops_check(ops);
    if (rc)
        return rc;
    spring_mobj_t *m = malloc(sizeof *m);
    if (m == NULL)
        return SPRING_ENOMEM;
    m->ops = ops;
    m->self = self;
    atomic_init(&m->refs, 1);
    *out = m;
    return 0;
}

spring_mobj_t *spring_mobj_ref(spring_mobj_t *mobj)
{
    if (mobj)
        atomic_fetch_add(&mobj->refs, 1);
    return mobj;
}

void spring_mobj_unref(spring_mobj_t *mobj)
{
    if (mobj == NULL)
        return;
    if (atomic_fetch_sub(&mobj->refs, 1) == 1) {
        spring__mobj_release(mobj);
        free(mobj);
    }
}

void *spring_mobj_impl(const spring_mobj_t *mobj)
{
    return mobj ? mobj->self : NULL;
}
