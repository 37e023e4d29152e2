/*
 * mempager.c - a complete pager whose backing store is host memory, and a
 * program that walks one mapping through its whole life: bind, faults,
 * upgrade, eviction, flush, a pager-initiated write_back, reclamation and
 * teardown.  docs/pager-guide.md explains it step by step.
 *
 * The pager serves one store (a byte array) to one VMM.  It hands out
 * memory objects ("views") with a maximum right each; all views share the
 * store's one cache, so every mapping of the store sees the same pages.
 *
 * The lines "[name]" in comments mark the pieces the guide shows.
 *
 * Locks: st->lock protects the store and its cache fields.  It is held
 * across VMM calls that never call a pager back (registry look-up, cache
 * creation, cache-rights calls, bind_cache, flush_back, write_back), and
 * never across spring_cache_destroy(), which may call
 * done_with_pager_object at once.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <spring/spring.h>

#define CHECK(call)                                                                                       \
    do {                                                                                                  \
        int rc_ = (call);                                                                                 \
        if (rc_ != 0) {                                                                                   \
            fprintf(stderr, "mempager: %s: %s (%s)\n", #call, spring_strerror(rc_), spring_err_name(rc_)); \
            exit(1);                                                                                      \
        }                                                                                                 \
    } while (0)

struct pobj;

/* The store and the cache that holds its pages at the VMM. */
struct store {
    pthread_mutex_t lock;
    unsigned refs;                /* [lock] the creator's, one per view, one for a live pager object */
    spring_registry_t *reg;       /* [c] where the VMM is looked up by name */
    uint8_t *bytes;               /* [lock] the data */
    spring_off_t length;          /* [c] a multiple of the page size */
    char *vmm_name;               /* [lock] the VMM served, once a bind named it */
    spring_vmm_obj_t vobj;        /* [lock] its vmm object */
    unsigned nviews;              /* [lock] live memory objects */
    struct pobj *po;              /* [lock] pager object of the current cache, or NULL */
    spring_cache_obj_t cache;     /* [lock] the current cache (while po != NULL) */
    spring_cache_rights_t rw, ro; /* [lock] its cache-rights: maximum, and read-only (0 until made) */
    bool trace;                   /* [lock] print each call of the VMM */
    unsigned n_page_in, n_upgrade, n_page_out, n_sync, n_synced; /* [lock] calls, and pages synced */
};

/* The pager object of one cache. */
struct pobj {
    struct store *st;
};

/* A memory object: the store with a maximum right. */
struct view {
    struct store *st;
    spring_rights_t max;
};

static void store_unref(struct store *st)
{
    pthread_mutex_lock(&st->lock);
    bool last = --st->refs == 0;
    pthread_mutex_unlock(&st->lock);
    if (!last)
        return;
    pthread_mutex_destroy(&st->lock);
    free(st->vmm_name);
    free(st->bytes);
    free(st);
}

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0)
            return false;
    return true;
}

/* [store_data] */
/* Store a data list from the VMM.  Entries are page aligned; NULL bytes
 * mean "all zero".  => st->lock held. */
static void store_data(struct store *st, const spring_data_t *d)
{
    for (size_t i = 0; d != NULL && i < d->nblocks; i++) {
        const spring_data_block_t *e = &d->blocks[i];
        if (e->offset >= st->length || e->length > st->length - e->offset)
            continue; /* beyond the store: nothing of ours */
        if (e->bytes != NULL)
            memcpy(st->bytes + e->offset, e->bytes, e->length);
        else
            memset(st->bytes + e->offset, 0, e->length);
    }
}
/* [store_data] */

/* ------------------------------------------------------------------ */
/* The pager object (pager.h, spring_pager_ops_t).                      */

/* [page_in] */
static int p_page_in(void *self, spring_off_t offset, spring_off_t size, spring_rights_t access,
                     spring_ownership_t *own, spring_page_buf_t *dst)
{
    struct store *st = ((struct pobj *)self)->st;
    pthread_mutex_lock(&st->lock);
    st->n_page_in++;
    if (st->trace)
        printf("  page_in(0x%" PRIx64 ", %s%s)\n", offset, access == SPRING_RIGHTS_RW ? "read-write" : "read-only",
               dst->upgrade ? ", upgrade" : "");
    if (dst->upgrade) {
        st->n_upgrade++; /* the cached data is current: grant write, send nothing */
    } else {
        for (size_t i = 0; i < dst->npages; i++) {
            spring_off_t o = offset + (spring_off_t)i * dst->page_size;
            if (o >= st->length || all_zero(st->bytes + o, dst->page_size))
                dst->zero[i] = 1;
            else
                memcpy(dst->pages[i], st->bytes + o, dst->page_size);
        }
    }
    pthread_mutex_unlock(&st->lock);
    return 0;
}
/* [page_in] */

/* [page_out] */
static int p_page_out(void *self, spring_off_t offset, spring_off_t size, spring_ownership_t *own,
                      const spring_data_t *data)
{
    struct store *st = ((struct pobj *)self)->st;
    pthread_mutex_lock(&st->lock);
    st->n_page_out++;
    if (st->trace)
        printf("  page_out(0x%" PRIx64 ", %" PRIu64 " bytes)\n", offset, size);
    store_data(st, data);
    pthread_mutex_unlock(&st->lock);
    return 0;
}
/* [page_out] */

static int p_sync(void *self, spring_off_t offset, spring_off_t size, spring_ownership_t *own,
                  const spring_data_t *data)
{
    struct store *st = ((struct pobj *)self)->st;
    pthread_mutex_lock(&st->lock);
    st->n_sync++;
    st->n_synced += (unsigned)data->nblocks; /* one entry per page */
    if (st->trace)
        printf("  sync(0x%" PRIx64 ", %" PRIu64 " bytes)\n", offset, size);
    store_data(st, data);
    pthread_mutex_unlock(&st->lock);
    return 0;
}

static void p_done_with_cache(void *self, spring_ownership_t *own)
{
    struct store *st = ((struct pobj *)self)->st;
    pthread_mutex_lock(&st->lock);
    if (st->trace)
        printf("  done_with_cache: the last mapping is gone; the cache is kept for reuse\n");
    pthread_mutex_unlock(&st->lock);
}

/* [done] */
static void p_done_with_pager_object(void *self)
{
    struct pobj *po = self;
    struct store *st = po->st;
    pthread_mutex_lock(&st->lock);
    if (st->trace)
        printf("  done_with_pager_object: the cache is gone\n");
    if (st->po == po) {
        st->po = NULL; /* its cache-rights died with it */
        st->ro.h = 0;
    }
    pthread_mutex_unlock(&st->lock);
    free(po);
    store_unref(st);
}
/* [done] */

/* [pager_ops] */
static const spring_pager_ops_t mp_pager_ops = {
    .version = SPRING_PAGER_OPS_VERSION,
    .page_in = p_page_in,
    .page_out = p_page_out,
    .write_out = NULL, /* with sync, data the VMM keeps always goes back by sync */
    .sync = p_sync,
    .zero_fill_range = NULL, /* only anonymous memory needs it */
    .done_with_cache = p_done_with_cache,
    .done_with_pager_object = p_done_with_pager_object,
};
/* [pager_ops] */

/* ------------------------------------------------------------------ */
/* The memory object (pager.h, spring_mobj_ops_t).                      */

/* [vobj] */
/* The vmm object of the VMM named in a bind (§7.2 step 6), looked up once.
 * => st->lock held. */
static int get_vobj(struct store *st, const char *vmm_name)
{
    if (st->vmm_name != NULL)
        return strcmp(st->vmm_name, vmm_name) == 0 ? 0 : SPRING_EINVAL; /* one VMM only */
    int rc = spring_registry_lookup(st->reg, vmm_name, NULL, &st->vobj);
    if (rc == 0 && (st->vmm_name = strdup(vmm_name)) == NULL)
        rc = SPRING_ENOMEM;
    return rc;
}
/* [vobj] */

/* [create] */
/* Create the store's cache; with a key, bind it to the pending final_bind.
 * => st->lock held. */
static int make_cache(struct store *st, const spring_bind_key_t *key, spring_off_t off, spring_off_t len,
                      spring_rights_t bind_rights)
{
    static const spring_pager_info_t info = {
        .block_size = 0, /* one page */
        .kind = SPRING_CACHE_DATA,
        .cost = 0,
        .keep_unattached = true, /* keep the pages while nothing maps the store */
    };
    struct pobj *po = malloc(sizeof *po);
    if (po == NULL)
        return SPRING_ENOMEM;
    po->st = st;
    spring_cache_obj_t cache;
    spring_cache_rights_t rw;
    int rc;
    if (key == NULL)
        rc = spring_vmm_create_cache_object(st->vobj, &mp_pager_ops, po, true, &info, SPRING_OWN_EXCLUSIVE,
                                            SPRING_RIGHTS_RW, &cache, &rw);
    else
        rc = spring_vmm_create_cache_object_and_bind(st->vobj, *key, len, off, bind_rights, &mp_pager_ops, po, true,
                                                     &info, SPRING_OWN_EXCLUSIVE, SPRING_RIGHTS_RW, &cache, &rw);
    if (rc != 0) {
        free(po); /* not consumed on failure */
        return rc;
    }
    st->po = po;
    st->refs++; /* the pager object's reference, dropped by done_with_pager_object */
    st->cache = cache;
    st->rw = rw;
    st->ro.h = 0;
    return 0;
}
/* [create] */

/* [rights] */
/* The cache-rights for a view: the maximum one, or a read-only sibling made
 * once and handed out every time.  => st->lock held, st->po != NULL. */
static int rights_for(struct store *st, spring_rights_t max, spring_cache_rights_t *out)
{
    if (max == SPRING_RIGHTS_RW) {
        *out = st->rw;
        return 0;
    }
    if (st->ro.h == 0) {
        int rc = spring_cache_rights_create_restricted_sibling(st->rw, SPRING_RIGHTS_RO, &st->ro);
        if (rc != 0)
            return rc;
    }
    *out = st->ro;
    return 0;
}
/* [rights] */

/* [bind] */
static int m_bind(void *self, const char *vmm_name, spring_rights_t access, spring_off_t off, spring_off_t *length,
                  spring_cache_rights_t *rights, spring_off_t *cache_off, long *flags)
{
    struct view *v = self;
    struct store *st = v->st;
    *flags = 0;
    if (off >= st->length)
        return SPRING_ERANGE;
    if (*length > st->length - off)
        *length = st->length - off; /* the pager may shorten a binding */
    pthread_mutex_lock(&st->lock);
    int rc = get_vobj(st, vmm_name);
    bool fresh = rc == 0 && st->po == NULL;
    if (fresh)
        rc = make_cache(st, NULL, 0, 0, 0);
    if (rc == 0)
        rc = rights_for(st, v->max, rights);
    *cache_off = off; /* cache offsets are store offsets */
    if (st->trace)
        printf("  bind(\"%s\", %s view): %s cache\n", vmm_name, v->max == SPRING_RIGHTS_RW ? "read-write" : "read-only",
               rc != 0 ? "no" : fresh ? "new" : "existing");
    pthread_mutex_unlock(&st->lock);
    return rc;
}
/* [bind] */

/* [final_bind] */
static int m_final_bind(void *self, spring_bind_key_t key, const char *vmm_name, spring_rights_t access,
                        spring_off_t off, spring_off_t length, long *flags)
{
    struct view *v = self;
    struct store *st = v->st;
    *flags = 0;
    pthread_mutex_lock(&st->lock);
    int rc = get_vobj(st, vmm_name);
    bool need_new = rc == 0 && st->po == NULL;
    if (rc == 0 && st->po != NULL) {
        /* We believe the cache exists: offer it first (§7.5). */
        spring_cache_rights_t sib;
        rc = spring_cache_rights_create_restricted_sibling(st->rw, v->max, &sib);
        if (rc == 0) {
            rc = spring_vmm_bind_cache(st->vobj, key, length, off, sib); /* consumes sib on success */
            if (rc != 0)
                (void)spring_cache_rights_release(sib);
        }
        if (rc == SPRING_EBADHANDLE) {
            st->po = NULL; /* reclaimed meanwhile: forget it (its done_with_pager_object still comes) */
            need_new = true;
        }
    }
    if (need_new)
        rc = make_cache(st, &key, off, length, v->max);
    pthread_mutex_unlock(&st->lock);
    return rc;
}
/* [final_bind] */

static int m_get_length(void *self, spring_off_t *length)
{
    *length = ((struct view *)self)->st->length;
    return 0;
}

/* [release] */
/* The last reference to a view is gone.  When no view is left nothing can
 * map the store: take the modified pages back and destroy the cache. */
static void m_release(void *self)
{
    struct view *v = self;
    struct store *st = v->st;
    spring_data_t *d = NULL;
    bool destroy = false;
    spring_cache_obj_t cache = {0};
    pthread_mutex_lock(&st->lock);
    if (--st->nviews == 0 && st->po != NULL) {
        cache = st->cache;
        /* If flush_back fails (no memory), keep the cache: its data will
         * reach the pager when the VMM reclaims it. */
        if (spring_cache_flush_back(cache, 0, SPRING_SIZE_ALL, NULL, &d) == 0) {
            store_data(st, d);
            spring_data_free(d);
            st->po = NULL;
            destroy = true;
        }
    }
    pthread_mutex_unlock(&st->lock);
    if (destroy)
        (void)spring_cache_destroy(cache); /* no lock held: done_with_pager_object may run now */
    free(v);
    store_unref(st);
}
/* [release] */

/* [mobj_ops] */
static const spring_mobj_ops_t mp_mobj_ops = {
    .version = SPRING_MOBJ_OPS_VERSION,
    .bind = m_bind,
    .final_bind = m_final_bind,
    .get_length = m_get_length,
    .set_length = NULL, /* the store has a fixed length */
    .release = m_release,
};
/* [mobj_ops] */

/* ------------------------------------------------------------------ */
/* The pager's own interface, for the program below.                    */

static struct store *store_new(spring_registry_t *reg, spring_off_t length)
{
    struct store *st = calloc(1, sizeof *st);
    if (st == NULL || (st->bytes = calloc(1, (size_t)length)) == NULL)
        exit(1);
    pthread_mutex_init(&st->lock, NULL);
    st->refs = 1;
    st->reg = reg;
    st->length = length;
    return st;
}

static spring_mobj_t *store_view(struct store *st, spring_rights_t max)
{
    struct view *v = malloc(sizeof *v);
    spring_mobj_t *m;
    if (v == NULL)
        exit(1);
    v->st = st;
    v->max = max;
    CHECK(spring_mobj_new(&mp_mobj_ops, v, &m));
    pthread_mutex_lock(&st->lock);
    st->refs++;
    st->nviews++;
    pthread_mutex_unlock(&st->lock);
    return m;
}

/* [pull] */
/* The pager asks for a copy of every modified page (Appendix B write_back). */
static void store_pull(struct store *st)
{
    pthread_mutex_lock(&st->lock);
    if (st->po != NULL) {
        spring_data_t *d = NULL;
        CHECK(spring_cache_write_back(st->cache, 0, SPRING_SIZE_ALL, NULL, &d));
        printf("  write_back: %zu modified page(s) copied to the store\n", d ? d->nblocks : 0);
        store_data(st, d);
        spring_data_free(d);
    }
    pthread_mutex_unlock(&st->lock);
}
/* [pull] */

static void set_trace(struct store *st, bool on)
{
    pthread_mutex_lock(&st->lock);
    st->trace = on;
    pthread_mutex_unlock(&st->lock);
}

/* ------------------------------------------------------------------ */

int main(void)
{
    enum { NPAGES = 64 };
    spring_vmm_config_t cfg;
    spring_vmm_config_init(&cfg);
    cfg.name = "demo-vmm";
    cfg.nframes = 16; /* a quarter of the store: pages must travel */
    cfg.mode = SPRING_VMM_DETERMINISTIC;
    spring_vmm_t *vmm;
    spring_registry_t *reg;
    spring_as_t *as;
    CHECK(spring_vmm_new(&cfg, &vmm));
    CHECK(spring_registry_new(&reg));
    CHECK(spring_registry_add_vmm(reg, vmm));
    CHECK(spring_as_new(vmm, NULL, &as));
    size_t ps = spring_as_get_page_size(as);

    /* A store whose first half holds text and whose second half is zero. */
    struct store *st = store_new(reg, (spring_off_t)NPAGES * ps);
    for (int i = 0; i < NPAGES / 2; i++)
        snprintf((char *)st->bytes + (size_t)i * ps, ps, "store page %d", i);
    spring_mobj_t *rw = store_view(st, SPRING_RIGHTS_RW);
    spring_mobj_t *ro = store_view(st, SPRING_RIGHTS_RO);

    printf("1. map a read-write and a read-only view\n");
    set_trace(st, true);
    spring_off_t len = (spring_off_t)NPAGES * ps;
    spring_addr_t a_rw = SPRING_ANYWHERE, a_ro = SPRING_ANYWHERE, a_bad = SPRING_ANYWHERE;
    CHECK(spring_as_map(as, rw, 0, &len, &a_rw, SPRING_RIGHTS_RW));
    CHECK(spring_as_map(as, ro, 0, &len, &a_ro, SPRING_RIGHTS_RO));
    int rc = spring_as_map(as, ro, 0, &len, &a_bad, SPRING_RIGHTS_RW);
    printf("  mapping the read-only view read-write: %s\n", spring_err_name(rc));

    printf("2. faults\n");
    char buf[32];
    CHECK(spring_as_read(as, a_ro + 3 * ps, buf, sizeof buf));
    printf("  read-only view, page 3: \"%s\"\n", buf);
    CHECK(spring_as_write(as, a_rw + 3 * ps, "changed page 3", 15));
    CHECK(spring_as_read(as, a_ro + 3 * ps, buf, sizeof buf));
    printf("  read-only view, page 3 after a write through the other view: \"%s\"\n", buf);
    CHECK(spring_as_read(as, a_rw + 5 * ps, buf, sizeof buf));
    printf("  read-write view, page 5: \"%s\"\n", buf);
    CHECK(spring_as_read(as, a_ro + 40 * ps, buf, sizeof buf));
    printf("  read-only view, page 40: %s\n", buf[0] == 0 ? "zero" : "not zero");

    printf("3. write all %d pages through %zu frames: modified pages are paged out\n", NPAGES, cfg.nframes);
    set_trace(st, false);
    for (int i = 0; i < NPAGES; i++) {
        snprintf(buf, sizeof buf, "written page %d", i);
        CHECK(spring_as_write(as, a_rw + (spring_addr_t)i * ps, buf, strlen(buf) + 1));
    }
    printf("  so far %u page_in (%u upgrade), %u page_out\n", st->n_page_in, st->n_upgrade, st->n_page_out);

    printf("4. spring_as_flush with please_keep: the resident modified pages go back by sync\n");
    CHECK(spring_as_write(as, a_rw + 62 * ps, "synced page 62", 15));
    CHECK(spring_as_flush(as, a_rw, len, true));
    printf("  %u sync call(s) carrying %u page(s); store page 62: \"%s\"\n", st->n_sync, st->n_synced,
           (char *)st->bytes + 62 * ps);

    printf("5. the pager asks for the modified pages itself\n");
    CHECK(spring_as_write(as, a_rw + 63 * ps, "pulled page 63", 15));
    store_pull(st);
    printf("  store page 63: \"%s\"\n", (char *)st->bytes + 63 * ps);

    printf("6. unmap both views, reclaim the unattached cache, map again\n");
    CHECK(spring_as_write(as, a_rw + 10 * ps, "written page 10", 16));
    set_trace(st, true);
    CHECK(spring_as_unmap(as, a_rw, len));
    CHECK(spring_as_unmap(as, a_ro, len));
    printf("  spring_vmm_reclaim_caches: %d cache(s) reclaimed\n", spring_vmm_reclaim_caches(vmm, 0));
    a_ro = SPRING_ANYWHERE;
    CHECK(spring_as_map(as, ro, 0, &len, &a_ro, SPRING_RIGHTS_RO));
    CHECK(spring_as_read(as, a_ro + 3 * ps, buf, sizeof buf));
    printf("  read-only view, page 3: \"%s\"\n", buf);

    printf("7. teardown\n");
    spring_as_destroy(as);
    spring_mobj_unref(rw);
    spring_mobj_unref(ro); /* the last view: flush_back, then destroy the cache */
    const char *why = NULL;
    CHECK(spring_vmm_check(vmm, &why));
    CHECK(spring_registry_remove_vmm(reg, vmm));
    CHECK(spring_vmm_destroy(vmm));
    spring_registry_destroy(reg);
    int bad = 0;
    for (int i = 0; i < NPAGES; i++) {
        char want[32];
        snprintf(want, sizeof want, "%s page %d", i == 62 ? "synced" : i == 63 ? "pulled" : "written", i);
        if (strcmp((char *)st->bytes + (size_t)i * ps, want) != 0)
            bad++;
    }
    printf("store: %d of %d pages as expected\n", NPAGES - bad, NPAGES);
    store_unref(st);
    printf("%s\n", bad == 0 ? "ok" : "FAILED");
    return bad == 0 ? 0 : 1;
}
