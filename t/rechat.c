/*
 * rechat.c - the recording HAT: a second, independent HAT backend that
 * counts every call.  It keeps all translations in one flat table searched
 * linearly, with no TLB: nothing like the soft HAT's structures, so tests
 * passing over both show the VMM relies on the HAT interface only.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "testlib.h"

static atomic_ulong counts[RH_NOPS];

struct rent {
    void *ctx; /* NULL = free slot */
    uint64_t vpn;
    size_t frame;
    unsigned prot;
};

struct rhat {
    pthread_mutex_t lock;
    unsigned shift;
    size_t nframes;
    struct rent *tab;
    size_t n, cap;
    uint8_t *refmod;
};

struct rctx {
    int unused;
};

static int r_create(const spring_hat_env_t *env, void **out)
{
    struct rhat *h = calloc(1, sizeof *h);
    if (h == NULL)
        return SPRING_ENOMEM;
    h->shift = (unsigned)__builtin_ctzl(env->page_size);
    h->nframes = env->nframes;
    h->refmod = calloc(env->nframes, 1);
    if (h->refmod == NULL) {
        free(h);
        return SPRING_ENOMEM;
    }
    pthread_mutex_init(&h->lock, NULL);
    *out = h;
    return 0;
}

static void r_destroy(void *hp)
{
    struct rhat *h = hp;
    pthread_mutex_destroy(&h->lock);
    free(h->tab);
    free(h->refmod);
    free(h);
}

static int r_ctx_create(void *hp, struct spring_as *as, void **ctx)
{
    *ctx = calloc(1, sizeof(struct rctx));
    return *ctx ? 0 : SPRING_ENOMEM;
}

/* Drop entries matching fn.  => h->lock held. */
static void sweep(struct rhat *h, void *ctx, uint64_t v0, uint64_t v1, long frame, unsigned keep)
{
    for (size_t i = 0; i < h->n; i++) {
        struct rent *e = &h->tab[i];
        if (e->ctx == NULL)
            continue;
        bool hit = frame >= 0 ? e->frame == (size_t)frame : (e->ctx == ctx && e->vpn >= v0 && e->vpn < v1);
        if (!hit)
            continue;
        e->prot &= keep;
        if (e->prot == 0)
            e->ctx = NULL;
    }
}

static void r_ctx_destroy(void *hp, void *ctx)
{
    struct rhat *h = hp;
    pthread_mutex_lock(&h->lock);
    sweep(h, ctx, 0, UINT64_MAX, -1, 0);
    pthread_mutex_unlock(&h->lock);
    free(ctx);
}

static struct rent *find(struct rhat *h, void *ctx, uint64_t vpn)
{
    for (size_t i = 0; i < h->n; i++)
        if (h->tab[i].ctx == ctx && h->tab[i].vpn == vpn)
            return &h->tab[i];
    return NULL;
}

static int r_enter(void *hp, void *ctx, spring_addr_t va, size_t frame, spring_rights_t prot)
{
    struct rhat *h = hp;
    atomic_fetch_add(&counts[RH_ENTER], 1);
    if (frame >= h->nframes || prot == SPRING_RIGHTS_NONE || (va & ((1ULL << h->shift) - 1)))
        return SPRING_EINVAL;
    pthread_mutex_lock(&h->lock);
    struct rent *e = find(h, ctx, va >> h->shift);
    for (size_t i = 0; i < h->n && e == NULL; i++) /* reuse a free slot */
        if (h->tab[i].ctx == NULL)
            e = &h->tab[i];
    if (e == NULL) {
        if (h->n == h->cap) {
            size_t ncap = h->cap ? h->cap * 2 : 64;
            struct rent *t = realloc(h->tab, ncap * sizeof *t);
            if (t == NULL) {
                pthread_mutex_unlock(&h->lock);
                return SPRING_ENOMEM;
            }
            h->tab = t;
            h->cap = ncap;
        }
        e = &h->tab[h->n++];
    }
    e->ctx = ctx;
    e->vpn = va >> h->shift;
    e->frame = frame;
    e->prot = prot;
    pthread_mutex_unlock(&h->lock);
    return 0;
}

static void r_remove(void *hp, void *ctx, spring_addr_t va, spring_off_t len)
{
    struct rhat *h = hp;
    atomic_fetch_add(&counts[RH_REMOVE], 1);
    pthread_mutex_lock(&h->lock);
    sweep(h, ctx, va >> h->shift, (va + len) >> h->shift, -1, 0);
    pthread_mutex_unlock(&h->lock);
}

static void r_protect(void *hp, void *ctx, spring_addr_t va, spring_off_t len, spring_rights_t prot)
{
    struct rhat *h = hp;
    atomic_fetch_add(&counts[RH_PROTECT], 1);
    pthread_mutex_lock(&h->lock);
    sweep(h, ctx, va >> h->shift, (va + len) >> h->shift, -1, prot);
    pthread_mutex_unlock(&h->lock);
}

static void r_frame_protect(void *hp, size_t frame, spring_rights_t prot)
{
    struct rhat *h = hp;
    atomic_fetch_add(&counts[RH_FPROTECT], 1);
    pthread_mutex_lock(&h->lock);
    sweep(h, NULL, 0, 0, (long)frame, prot);
    pthread_mutex_unlock(&h->lock);
}

static void r_frame_unload(void *hp, size_t frame)
{
    struct rhat *h = hp;
    atomic_fetch_add(&counts[RH_UNLOAD], 1);
    pthread_mutex_lock(&h->lock);
    sweep(h, NULL, 0, 0, (long)frame, 0);
    pthread_mutex_unlock(&h->lock);
}

static unsigned r_frame_refmod(void *hp, size_t frame, unsigned clear)
{
    struct rhat *h = hp;
    atomic_fetch_add(&counts[RH_REFMOD], 1);
    if (frame >= h->nframes)
        return 0;
    pthread_mutex_lock(&h->lock);
    unsigned r = h->refmod[frame];
    h->refmod[frame] = (uint8_t)(r & ~clear);
    pthread_mutex_unlock(&h->lock);
    return r;
}

static int r_translate(void *hp, void *ctx, spring_addr_t va, spring_rights_t access, size_t *frame)
{
    struct rhat *h = hp;
    atomic_fetch_add(&counts[RH_TRANSLATE], 1);
    pthread_mutex_lock(&h->lock);
    struct rent *e = find(h, ctx, va >> h->shift);
    int rc = 0;
    if (e == NULL)
        rc = SPRING_ENOTMAPPED;
    else if ((e->prot & access) != access)
        rc = SPRING_EACCES;
    else {
        *frame = e->frame;
        h->refmod[e->frame] |= (uint8_t)(SPRING_HAT_REF | ((access & SPRING_RIGHTS_W) ? SPRING_HAT_MOD : 0));
    }
    pthread_mutex_unlock(&h->lock);
    return rc;
}

static const spring_hat_ops_t rechat = {
    .version = SPRING_HAT_OPS_VERSION,
    .name = "recording",
    .create = r_create,
    .destroy = r_destroy,
    .ctx_create = r_ctx_create,
    .ctx_destroy = r_ctx_destroy,
    .enter = r_enter,
    .remove = r_remove,
    .protect = r_protect,
    .frame_unload = r_frame_unload,
    .frame_protect = r_frame_protect,
    .frame_refmod = r_frame_refmod,
    .translate = r_translate,
};

const spring_hat_ops_t *rechat_ops(void)
{
    return &rechat;
}

unsigned long rechat_count(enum rechat_op op)
{
    return atomic_load(&counts[op]);
}
