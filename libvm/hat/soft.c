/*
 * soft.c - the soft HAT: the default HAT backend (paper §9.3).
 *
 * Each context has a software page table (a hash of page-table entries
 * keyed by virtual page number) with a direct-mapped software TLB in front.
 * Each frame has a list of the entries that map it (the "hat frame
 * descriptor"), so every translation of a frame can be found, restricted
 * or removed; and referenced/modified bits, set by translate.
 *
 * Locks: one mutex per instance, a leaf: the backend never calls the VMM.
 * translate reads the TLB without it: each context has a sequence counter,
 * odd while a TLB entry is being changed (always under the mutex); a reader
 * that sees it change retries under the mutex.  All TLB accesses are
 * sequentially consistent atomics, so that the VMM's pin protocol (pin,
 * then translate again; remove, then look at the pins) holds.
 */
/* Built from the public headers only: a HAT backend needs nothing else. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <spring/spring.h>

#define TLB_SIZE 256

struct spte {
    struct spte *hnext;      /* page-table hash chain */
    struct spte *fnext;      /* frame's list of translations */
    struct sctx *ctx;
    uint64_t vpn;
    size_t frame;
    unsigned prot;
};

struct stlb {
    _Atomic uint64_t tag;  /* vpn + 1; 0 = invalid */
    _Atomic size_t frame;
    _Atomic unsigned prot;
};

struct sctx {
    struct spte **tab;       /* [lock] */
    size_t mask;             /* [lock] */
    size_t n;                /* [lock] */
    atomic_uint seq;         /* odd while a TLB entry changes; written under lock */
    struct stlb tlb[TLB_SIZE];
};

struct shat {
    pthread_mutex_t lock;
    size_t nframes;
    unsigned shift;
    struct spte **fhead;     /* [lock] per frame */
    _Atomic uint8_t *refmod; /* per frame */
    struct spte *spare;      /* [lock] freed entries kept for reuse (hnext links them) */
    unsigned nspare;         /* [lock] */
};

#define SPARE_KEEP 256

/* An entry: a kept one, or a new one.  => h->lock held. */
static struct spte *pte_alloc(struct shat *h)
{
    struct spte *e = h->spare;
    if (e != NULL) {
        h->spare = e->hnext;
        h->nspare--;
        return e;
    }
    return malloc(sizeof *e);
}

/* => h->lock held. */
static void pte_free(struct shat *h, struct spte *e)
{
    if (h->nspare >= SPARE_KEEP) {
        free(e);
        return;
    }
    e->hnext = h->spare;
    h->spare = e;
    h->nspare++;
}

static size_t vhash(uint64_t vpn, size_t mask)
{
    return (size_t)((vpn * 0x9e3779b97f4a7c15ULL) >> 17) & mask;
}

static int soft_create(const spring_hat_env_t *env, void **out)
{
    struct shat *h = calloc(1, sizeof *h);
    if (h == NULL)
        return SPRING_ENOMEM;
    h->nframes = env->nframes;
    h->shift = (unsigned)__builtin_ctzl(env->page_size);
    h->fhead = calloc(env->nframes, sizeof *h->fhead);
    h->refmod = calloc(env->nframes, sizeof *h->refmod);
    if (h->fhead == NULL || h->refmod == NULL) {
        free(h->fhead);
        free((void *)h->refmod);
        free(h);
        return SPRING_ENOMEM;
    }
    pthread_mutex_init(&h->lock, NULL);
    *out = h;
    return 0;
}

static void soft_destroy(void *hp)
{
    struct shat *h = hp;
    while (h->spare != NULL) {
        struct spte *e = h->spare;
        h->spare = e->hnext;
        free(e);
    }
    pthread_mutex_destroy(&h->lock);
    free(h->fhead);
    free((void *)h->refmod);
    free(h);
}

static int soft_ctx_create(void *hp, struct spring_as *as, void **out)
{
    struct sctx *c = calloc(1, sizeof *c);
    if (c == NULL)
        return SPRING_ENOMEM;
    c->mask = 63;
    c->tab = calloc(c->mask + 1, sizeof *c->tab);
    if (c->tab == NULL) {
        free(c);
        return SPRING_ENOMEM;
    }
    *out = c;
    return 0;
}

/* => h->lock held. */
static void unlink_frame(struct shat *h, struct spte *e)
{
    for (struct spte **pp = &h->fhead[e->frame]; *pp; pp = &(*pp)->fnext)
        if (*pp == e) {
            *pp = e->fnext;
            return;
        }
}

/* => h->lock held. */
static void tlb_inval(struct sctx *c, uint64_t vpn)
{
    struct stlb *t = &c->tlb[vpn & (TLB_SIZE - 1)];
    if (atomic_load(&t->tag) == vpn + 1) {
        atomic_fetch_add(&c->seq, 1);
        atomic_store(&t->tag, 0);
        atomic_fetch_add(&c->seq, 1);
    }
}

/* => h->lock held. */
static void tlb_fill(struct sctx *c, uint64_t vpn, size_t frame, unsigned prot)
{
    struct stlb *t = &c->tlb[vpn & (TLB_SIZE - 1)];
    atomic_fetch_add(&c->seq, 1);
    atomic_store(&t->tag, vpn + 1);
    atomic_store(&t->frame, frame);
    atomic_store(&t->prot, prot);
    atomic_fetch_add(&c->seq, 1);
}

static void set_refmod(struct shat *h, size_t frame, spring_rights_t access)
{
    uint8_t bits = (uint8_t)(SPRING_HAT_REF | ((access & SPRING_RIGHTS_W) ? SPRING_HAT_MOD : 0));
    if ((atomic_load_explicit(&h->refmod[frame], memory_order_relaxed) & bits) != bits)
        atomic_fetch_or(&h->refmod[frame], bits);
}

/* Remove entry e from its context and frame.  => h->lock held. */
static void drop_pte(struct shat *h, struct spte *e)
{
    struct sctx *c = e->ctx;
    for (struct spte **pp = &c->tab[vhash(e->vpn, c->mask)]; *pp; pp = &(*pp)->hnext)
        if (*pp == e) {
            *pp = e->hnext;
            break;
        }
    c->n--;
    unlink_frame(h, e);
    tlb_inval(c, e->vpn);
    pte_free(h, e);
}

static void soft_ctx_destroy(void *hp, void *cp)
{
    struct shat *h = hp;
    struct sctx *c = cp;
    pthread_mutex_lock(&h->lock);
    for (size_t i = 0; i <= c->mask; i++)
        while (c->tab[i])
            drop_pte(h, c->tab[i]);
    pthread_mutex_unlock(&h->lock);
    free(c->tab);
    free(c);
}

static struct spte *find(struct sctx *c, uint64_t vpn)
{
    for (struct spte *e = c->tab[vhash(vpn, c->mask)]; e; e = e->hnext)
        if (e->vpn == vpn)
            return e;
    return NULL;
}

static void grow(struct sctx *c)
{
    size_t nmask = c->mask * 2 + 1;
    struct spte **nt = calloc(nmask + 1, sizeof *nt);
    if (nt == NULL)
        return; /* keep the smaller table: slower, still correct */
    for (size_t i = 0; i <= c->mask; i++)
        while (c->tab[i]) {
            struct spte *e = c->tab[i];
            c->tab[i] = e->hnext;
            size_t j = vhash(e->vpn, nmask);
            e->hnext = nt[j];
            nt[j] = e;
        }
    free(c->tab);
    c->tab = nt;
    c->mask = nmask;
}

static int soft_enter(void *hp, void *cp, spring_addr_t va, size_t frame, spring_rights_t prot)
{
    struct shat *h = hp;
    struct sctx *c = cp;
    uint64_t vpn = va >> h->shift;
    if (frame >= h->nframes || prot == SPRING_RIGHTS_NONE)
        return SPRING_EINVAL;
    pthread_mutex_lock(&h->lock);
    struct spte *e = find(c, vpn);
    if (e != NULL) {
        if (e->frame != frame) {
            unlink_frame(h, e);
            e->frame = frame;
            e->fnext = h->fhead[frame];
            h->fhead[frame] = e;
        }
        e->prot = prot;
        tlb_inval(c, vpn);
        pthread_mutex_unlock(&h->lock);
        return 0;
    }
    e = pte_alloc(h);
    if (e == NULL) {
        pthread_mutex_unlock(&h->lock);
        return SPRING_ENOMEM;
    }
    if (c->n > 2 * (c->mask + 1))
        grow(c);
    e->ctx = c;
    e->vpn = vpn;
    e->frame = frame;
    e->prot = prot;
    size_t i = vhash(vpn, c->mask);
    e->hnext = c->tab[i];
    c->tab[i] = e;
    c->n++;
    e->fnext = h->fhead[frame];
    h->fhead[frame] = e;
    pthread_mutex_unlock(&h->lock);
    return 0;
}

/* Apply fn to every entry of c in [va, va+len).  Walks the pages or the
 * whole table, whichever is smaller.  => h->lock held. */
static void range_apply(struct shat *h, struct sctx *c, spring_addr_t va, spring_off_t len, unsigned keep)
{
    uint64_t v0 = va >> h->shift, v1 = (va + len) >> h->shift;
    if (v1 - v0 <= c->n * 2) {
        for (uint64_t v = v0; v < v1; v++) {
            struct spte *e = find(c, v);
            if (e == NULL)
                continue;
            if ((e->prot & keep) == 0)
                drop_pte(h, e);
            else {
                e->prot &= keep;
                tlb_inval(c, v);
            }
        }
        return;
    }
    for (size_t i = 0; i <= c->mask; i++) {
        struct spte *e = c->tab[i];
        while (e) {
            struct spte *n = e->hnext;
            if (e->vpn >= v0 && e->vpn < v1) {
                if ((e->prot & keep) == 0)
                    drop_pte(h, e);
                else {
                    e->prot &= keep;
                    tlb_inval(c, e->vpn);
                }
            }
            e = n;
        }
    }
}

static void soft_remove(void *hp, void *cp, spring_addr_t va, spring_off_t len)
{
    struct shat *h = hp;
    pthread_mutex_lock(&h->lock);
    range_apply(h, cp, va, len, 0);
    pthread_mutex_unlock(&h->lock);
}

static void soft_protect(void *hp, void *cp, spring_addr_t va, spring_off_t len, spring_rights_t prot)
{
    struct shat *h = hp;
    pthread_mutex_lock(&h->lock);
    range_apply(h, cp, va, len, prot);
    pthread_mutex_unlock(&h->lock);
}

static void soft_frame_protect(void *hp, size_t frame, spring_rights_t prot)
{
    struct shat *h = hp;
    if (frame >= h->nframes)
        return;
    pthread_mutex_lock(&h->lock);
    struct spte *e = h->fhead[frame];
    while (e) {
        struct spte *n = e->fnext;
        if ((e->prot & prot) == 0)
            drop_pte(h, e);
        else {
            e->prot &= prot;
            tlb_inval(e->ctx, e->vpn);
        }
        e = n;
    }
    pthread_mutex_unlock(&h->lock);
}

static void soft_frame_unload(void *hp, size_t frame)
{
    soft_frame_protect(hp, frame, SPRING_RIGHTS_NONE);
}

static unsigned soft_frame_refmod(void *hp, size_t frame, unsigned clear)
{
    struct shat *h = hp;
    if (frame >= h->nframes)
        return 0;
    return atomic_fetch_and(&h->refmod[frame], (uint8_t)~clear); /* atomic: no lock needed */
}

static int soft_translate(void *hp, void *cp, spring_addr_t va, spring_rights_t access, size_t *frame)
{
    struct shat *h = hp;
    struct sctx *c = cp;
    uint64_t vpn = va >> h->shift;
    struct stlb *t = &c->tlb[vpn & (TLB_SIZE - 1)];
    /* Fast path: the TLB, without the lock. */
    unsigned s1 = atomic_load(&c->seq);
    if ((s1 & 1) == 0) {
        uint64_t tag = atomic_load(&t->tag);
        size_t fr = atomic_load(&t->frame);
        unsigned prot = atomic_load(&t->prot);
        if (atomic_load(&c->seq) == s1 && tag == vpn + 1 && (prot & access) == access) {
            set_refmod(h, fr, access);
            *frame = fr;
            return 0;
        }
    }
    pthread_mutex_lock(&h->lock);
    struct spte *e = find(c, vpn);
    if (e == NULL) {
        pthread_mutex_unlock(&h->lock);
        return SPRING_ENOTMAPPED;
    }
    tlb_fill(c, vpn, e->frame, e->prot);
    if ((e->prot & access) != access) {
        pthread_mutex_unlock(&h->lock);
        return SPRING_EACCES;
    }
    set_refmod(h, e->frame, access);
    *frame = e->frame;
    pthread_mutex_unlock(&h->lock);
    return 0;
}

static const spring_hat_ops_t soft_ops = {
    .version = SPRING_HAT_OPS_VERSION,
    .name = "soft",
    .mmu_page_size = 0,
    .flags = SPRING_HAT_FAST,
    .create = soft_create,
    .destroy = soft_destroy,
    .ctx_create = soft_ctx_create,
    .ctx_destroy = soft_ctx_destroy,
    .enter = soft_enter,
    .remove = soft_remove,
    .protect = soft_protect,
    .frame_unload = soft_frame_unload,
    .frame_protect = soft_frame_protect,
    .frame_refmod = soft_frame_refmod,
    .translate = soft_translate,
    .extension = NULL,
};

const spring_hat_ops_t *spring_hat_soft(void)
{
    return &soft_ops;
}
