/*
 * anon.c - the in-tree anonymous memory pager: the VMM's first swap pager
 * (paper §6.3).  It creates anonymous memory objects that start all zero
 * and keeps the blocks paged out to it in host memory.
 *
 * It is an ordinary pager: it sees the VMM only through the public
 * interface (a vmm object, cache objects and cache-rights), and serves only
 * the VMM that created it (bind requests naming another VMM are refused).
 *
 * Locks: each object has a mutex, taken with no VMM lock held (the VMM
 * never holds one while calling a pager), and held across calls into the
 * VMM's vmm object (create_cache_object), which never call back.
 */
/* Built from the public headers only (and libbsd's tree.h): a pager needs
 * nothing else. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/tree.h>

#include <spring/spring.h>

#include "anon.h"

/* libbsd's tree.h marks static generated functions with __unused. */
#ifndef __unused
#define __unused __attribute__((unused))
#endif

struct anon_swap {
    char *vmm_name;         /* [c] a copy: objects may outlive the VMM */
    size_t page_size;       /* [c] */
    spring_vmm_obj_t vobj;  /* [c] stale (refused) once the VMM is gone */
    atomic_uint refs;       /* [a] the VMM's + one per object */
};

struct anon_page {
    RB_ENTRY(anon_page) node;
    spring_off_t off;
    uint8_t data[];
};
RB_HEAD(anon_tree, anon_page);

static int page_cmp(const struct anon_page *a, const struct anon_page *b)
{
    return a->off < b->off ? -1 : a->off > b->off;
}
RB_GENERATE_STATIC(anon_tree, anon_page, node, page_cmp)

struct anon_obj {
    struct anon_swap *sw;           /* [c] reference */
    spring_off_t length;            /* [c] */
    size_t page_size;               /* [c] */
    pthread_mutex_t lock;
    atomic_uint refs;               /* [a] memory object + live cache */
    bool has_cache;                 /* [lock] */
    spring_cache_obj_t cache;       /* [lock] */
    spring_cache_rights_t rights;   /* [lock] */
    struct anon_tree pages;         /* [lock] non-zero pages paged out */
};

/* The pager object of one cache of an object. */
struct anon_pobj {
    struct anon_obj *o;       /* [c] reference */
    spring_cache_obj_t cache; /* [c] once created */
};

static void swap_unref(struct anon_swap *sw)
{
    if (atomic_fetch_sub(&sw->refs, 1) == 1) {
        free(sw->vmm_name);
        free(sw);
    }
}

static void obj_unref(struct anon_obj *o)
{
    if (atomic_fetch_sub(&o->refs, 1) != 1)
        return;
    struct anon_page *p, *n;
    RB_FOREACH_SAFE(p, anon_tree, &o->pages, n) {
        RB_REMOVE(anon_tree, &o->pages, p);
        free(p);
    }
    pthread_mutex_destroy(&o->lock);
    swap_unref(o->sw);
    free(o);
}

/* ------------------------------------------------------------------ */
/* Pager object.                                                        */

static struct anon_page *find_page(struct anon_obj *o, spring_off_t off)
{
    struct anon_page key = {.off = off};
    return RB_FIND(anon_tree, &o->pages, &key);
}

static int a_page_in(void *self, spring_off_t offset, spring_off_t size, spring_rights_t access,
                     spring_ownership_t *own, spring_page_buf_t *dst)
{
    struct anon_obj *o = ((struct anon_pobj *)self)->o;
    pthread_mutex_lock(&o->lock);
    for (size_t i = 0; i < dst->npages; i++) {
        struct anon_page *p = find_page(o, offset + (spring_off_t)i * o->page_size);
        if (p)
            memcpy(dst->pages[i], p->data, o->page_size);
        else if (!dst->upgrade)
            dst->zero[i] = 1;
    }
    pthread_mutex_unlock(&o->lock);
    return 0;
}

/* Store data handed back by the VMM.  => o->lock held. */
static int store(struct anon_obj *o, const spring_data_t *d)
{
    for (size_t i = 0; d && i < d->nblocks; i++) {
        const spring_data_block_t *b = &d->blocks[i];
        for (spring_off_t at = 0; at < b->length; at += o->page_size) {
            spring_off_t off = b->offset + at;
            struct anon_page *p = find_page(o, off);
            if (b->bytes == NULL) {
                if (p) {
                    RB_REMOVE(anon_tree, &o->pages, p);
                    free(p);
                }
                continue;
            }
            if (p == NULL) {
                p = malloc(sizeof *p + o->page_size);
                if (p == NULL)
                    return SPRING_ENOMEM;
                p->off = off;
                RB_INSERT(anon_tree, &o->pages, p);
            }
            memcpy(p->data, (const uint8_t *)b->bytes + at, o->page_size);
        }
    }
    return 0;
}

static int a_page_out(void *self, spring_off_t offset, spring_off_t size, spring_ownership_t *own,
                      const spring_data_t *data)
{
    struct anon_obj *o = ((struct anon_pobj *)self)->o;
    pthread_mutex_lock(&o->lock);
    int rc = store(o, data);
    pthread_mutex_unlock(&o->lock);
    return rc;
}

static int a_zero_fill_range(void *self, spring_off_t offset, spring_off_t size, spring_ownership_t *own)
{
    struct anon_obj *o = ((struct anon_pobj *)self)->o;
    pthread_mutex_lock(&o->lock);
    struct anon_page key = {.off = offset}, *p, *n;
    for (p = RB_NFIND(anon_tree, &o->pages, &key); p && p->off < offset + size; p = n) {
        n = RB_NEXT(anon_tree, &o->pages, p);
        RB_REMOVE(anon_tree, &o->pages, p);
        free(p);
    }
    pthread_mutex_unlock(&o->lock);
    return 0;
}

static void a_done_with_pager_object(void *self)
{
    struct anon_pobj *po = self;
    struct anon_obj *o = po->o;
    pthread_mutex_lock(&o->lock);
    if (o->has_cache && o->cache.h == po->cache.h)
        o->has_cache = false;
    pthread_mutex_unlock(&o->lock);
    free(po);
    obj_unref(o); /* the cache's reference */
}

static const spring_pager_ops_t anon_pager_ops = {
    .version = SPRING_PAGER_OPS_VERSION,
    .page_in = a_page_in,
    .page_out = a_page_out,
    .write_out = a_page_out,
    .sync = a_page_out,
    .zero_fill_range = a_zero_fill_range,
    .done_with_cache = NULL,
    .done_with_pager_object = a_done_with_pager_object,
};

/* ------------------------------------------------------------------ */
/* Memory object.                                                       */

static const spring_pager_info_t anon_info = {0, SPRING_CACHE_ANON, 0, true};

static struct anon_pobj *pobj_new(struct anon_obj *o)
{
    struct anon_pobj *po = calloc(1, sizeof *po);
    if (po == NULL)
        return NULL;
    po->o = o;
    atomic_fetch_add(&o->refs, 1);
    return po;
}

/* Undo pobj_new when the VMM did not take the pager object. */
static void pobj_drop(struct anon_pobj *po)
{
    atomic_fetch_sub(&po->o->refs, 1);
    free(po);
}

/* Create the object's cache.  With key, bind it to a pending final_bind.
 * => o->lock held. */
static int make_cache(struct anon_obj *o, const spring_bind_key_t *key, spring_off_t off, spring_off_t len)
{
    struct anon_pobj *po = pobj_new(o);
    if (po == NULL)
        return SPRING_ENOMEM;
    spring_cache_obj_t c;
    spring_cache_rights_t r;
    int rc;
    if (key == NULL)
        rc = spring_vmm_create_cache_object(o->sw->vobj, &anon_pager_ops, po, false, &anon_info,
                                            SPRING_OWN_EXCLUSIVE, SPRING_RIGHTS_RWX, &c, &r);
    else
        rc = spring_vmm_create_cache_object_and_bind(o->sw->vobj, *key, len, off, SPRING_RIGHTS_RWX,
                                                     &anon_pager_ops, po, false, &anon_info,
                                                     SPRING_OWN_EXCLUSIVE, SPRING_RIGHTS_RWX, &c, &r);
    if (rc) {
        pobj_drop(po);
        return rc;
    }
    po->cache = c;
    if (o->has_cache)
        (void)spring_cache_rights_release(o->rights);
    o->cache = c;
    o->rights = r;
    o->has_cache = true;
    return 0;
}

static int a_bind(void *self, const char *vmm_name, spring_rights_t access, spring_off_t off, spring_off_t *length,
                  spring_cache_rights_t *rights, spring_off_t *cache_off, long *flags)
{
    struct anon_obj *o = self;
    if (strcmp(vmm_name, o->sw->vmm_name) != 0)
        return SPRING_EINVAL; /* this pager serves its own VMM only */
    if (off >= o->length)
        return SPRING_ERANGE;
    if (*length > o->length - off)
        *length = o->length - off;
    pthread_mutex_lock(&o->lock);
    int rc = o->has_cache ? 0 : make_cache(o, NULL, 0, 0);
    if (rc == 0) {
        *rights = o->rights;
        *cache_off = off;
        *flags = 0;
    }
    pthread_mutex_unlock(&o->lock);
    return rc;
}

static int a_final_bind(void *self, spring_bind_key_t key, const char *vmm_name, spring_rights_t access,
                        spring_off_t off, spring_off_t length, long *flags)
{
    struct anon_obj *o = self;
    if (strcmp(vmm_name, o->sw->vmm_name) != 0)
        return SPRING_EINVAL;
    *flags = 0;
    pthread_mutex_lock(&o->lock);
    int rc = SPRING_EBADHANDLE;
    if (o->has_cache) {
        spring_cache_rights_t sib;
        if (spring_cache_rights_create_restricted_sibling(o->rights, SPRING_RIGHTS_RWX, &sib) == 0) {
            rc = spring_vmm_bind_cache(o->sw->vobj, key, length, off, sib);
            if (rc)
                spring_cache_rights_release(sib);
        }
    }
    if (rc)
        rc = make_cache(o, &key, off, length);
    pthread_mutex_unlock(&o->lock);
    return rc;
}

static int a_get_length(void *self, spring_off_t *length)
{
    *length = ((struct anon_obj *)self)->length;
    return 0;
}

static void a_release(void *self)
{
    struct anon_obj *o = self;
    pthread_mutex_lock(&o->lock);
    bool has = o->has_cache;
    spring_cache_obj_t c = o->cache;
    pthread_mutex_unlock(&o->lock);
    /* Nobody can map the object any more: its data goes.  The cache's
     * done_with_pager_object drops the cache's reference. */
    if (has && spring_cache_destroy(c) != 0) {
        /* The VMM is gone and took the cache with it. */
    }
    obj_unref(o);
}

static const spring_mobj_ops_t anon_mobj_ops = {
    .version = SPRING_MOBJ_OPS_VERSION,
    .bind = a_bind,
    .final_bind = a_final_bind,
    .get_length = a_get_length,
    .set_length = NULL,
    .release = a_release,
};

/* ------------------------------------------------------------------ */
/* Swap pager.                                                          */

static int s_create_mobj(void *self, spring_off_t length, spring_mobj_t **out)
{
    struct anon_swap *sw = self;
    if (length == 0)
        return SPRING_EINVAL;
    struct anon_obj *o = calloc(1, sizeof *o);
    if (o == NULL)
        return SPRING_ENOMEM;
    o->sw = sw;
    o->length = length;
    o->page_size = sw->page_size;
    pthread_mutex_init(&o->lock, NULL);
    atomic_init(&o->refs, 1);
    RB_INIT(&o->pages);
    atomic_fetch_add(&sw->refs, 1);
    int rc = spring_mobj_new(&anon_mobj_ops, o, out);
    if (rc) {
        obj_unref(o);
        return rc;
    }
    return 0;
}

static void s_release(void *self)
{
    swap_unref(self);
}

static const spring_swap_pager_ops_t anon_swap_ops = {
    .version = SPRING_SWAP_PAGER_OPS_VERSION,
    .create_mobj = s_create_mobj,
    .release = s_release,
};

const spring_swap_pager_ops_t *spring__anon_swap_ops(void)
{
    return &anon_swap_ops;
}

void *spring__anon_swap_new(spring_vmm_t *vmm)
{
    struct anon_swap *sw = calloc(1, sizeof *sw);
    if (sw == NULL)
        return NULL;
    sw->vmm_name = strdup(spring_vmm_name(vmm));
    atomic_init(&sw->refs, 1);
    spring_vm_info_t info = {.size = sizeof info};
    if (sw->vmm_name == NULL || spring_vmm_get_object(vmm, SPRING_PRIV_SYSTEM, &sw->vobj) != 0 ||
        spring_vmm_get_vm_info(sw->vobj, &info) != 0) {
        free(sw->vmm_name);
        free(sw);
        return NULL;
    }
    sw->page_size = info.page_size;
    return sw;
}
