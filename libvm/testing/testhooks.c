/*
 * testhooks.c - test-only hooks that break one internal invariant on
 * purpose, so that the tests can show the consistency checker
 * (spring_vmm_check) catches each kind of damage it claims to check.
 *
 * Not part of the public interface: compiled only into the test build of
 * the library (SPRING_TEST_HOOKS; testhooks.h says which tests link it),
 * declared in testhooks.h and nowhere in include/spring/.  Nothing in the
 * library calls them.  Also the hook that moves a block between caches.
 *
 * spring__test_corrupt(vmm, name) changes a few fields of one structure of
 * the VMM (the first that has what the corruption needs) and remembers
 * their old bytes; spring__test_repair(vmm) puts them back.  One corruption
 * at a time, process-wide.  Each change is made, and undone, under the
 * locks that protect the fields it touches.  Between the two, only
 * spring_vmm_check may be called on the VMM: every other call may act on
 * the damaged state.
 */
#include <stdint.h>
#include <string.h>

#include "cache/cache_int.h"
#include "testing/testhooks.h"

#ifndef SPRING_TEST_HOOKS
#error "testhooks.c is compiled into the test build of the library only"
#endif

/* ------------------------------------------------------------------ */
/* The undo record.                                                      */

#define MAXPATCH 4

struct patch {
    void *addr;
    size_t len;
    unsigned char old[16];
};

static struct {
    spring_vmm_t *vmm;              /* NULL: no corruption in place */
    size_t n;
    struct patch p[MAXPATCH];
    void (*undo)(void *);           /* for changes that are not field patches */
    void *undo_arg;
    /* The locks the change was made under (taken again to undo it). */
    vm_rwlock_t *rw;                /* an address-space lock, taken first */
    vm_mutex_t *m[2];               /* then these, in this order */
    struct vm_cache *cache;         /* a reference held until the repair */
} rec;

static pthread_mutex_t rec_lock = PTHREAD_MUTEX_INITIALIZER;

/* Remember the len bytes at addr before they are changed. */
static void save(void *addr, size_t len)
{
    struct patch *p = &rec.p[rec.n++];
    p->addr = addr;
    p->len = len;
    memcpy(p->old, addr, len);
}

#define SAVE(field) save(&(field), sizeof(field))

static void locks_take(void)
{
    if (rec.rw)
        vm_wrlock(rec.rw);
    for (int i = 0; i < 2; i++)
        if (rec.m[i])
            vm_lock(rec.m[i]);
}

static void locks_drop(void)
{
    for (int i = 1; i >= 0; i--)
        if (rec.m[i])
            vm_unlock(rec.m[i]);
    if (rec.rw)
        vm_rwunlock(rec.rw);
}

/* ------------------------------------------------------------------ */
/* Finding what to damage.                                              */

/* The valid blocks of c in offset order (at most cap), from the in-use
 * list.  => c->lock held. */
static size_t cache_blocks(struct vm_cache *c, struct vm_block **out, size_t cap)
{
    spring_vmm_t *vmm = c->vmm;
    size_t n = 0;
    struct vm_block *b;
    vm_lock(&vmm->page_lock);
    TAILQ_FOREACH(b, &vmm->inuse, lru) {
        if (b->cache != c || b->state != VM_B_VALID || !b->hashed || n == cap)
            continue;
        size_t i = n++;
        while (i > 0 && out[i - 1]->offset > b->offset) {
            out[i] = out[i - 1];
            i--;
        }
        out[i] = b;
    }
    vm_unlock(&vmm->page_lock);
    return n;
}

#define MAXBLK 256

/* Whether c caches a block at off.  => c->lock held. */
static bool cached_at(struct vm_cache *c, spring_off_t off)
{
    struct vm_block *v[MAXBLK];
    size_t n = cache_blocks(c, v, MAXBLK);
    for (size_t i = 0; i < n; i++)
        if (v[i]->offset == off)
            return true;
    return false;
}

/* The ranges of c's zero-fill table in order (at most cap), walking the
 * tree through its links.  => c->lock held. */
static void zr_walk(struct vm_zrange *z, struct vm_zrange **out, size_t *n, size_t cap)
{
    if (z == NULL)
        return;
    zr_walk(RB_LEFT(z, node), out, n, cap);
    if (*n < cap)
        out[(*n)++] = z;
    zr_walk(RB_RIGHT(z, node), out, n, cap);
}

/* Try fn on each attached cache, under its lock, until one can be damaged
 * its way (fn returns 0).  The change is undone under the cache lock (and
 * rec.m[1], if fn names one), and the cache is held until then.
 * => no lock held. */
static int for_caches(spring_vmm_t *vmm, int (*fn)(struct vm_cache *))
{
    vm_lock(&vmm->cache_lock);
    size_t n = 0;
    struct vm_cache *c, *v[64];
    TAILQ_FOREACH(c, &vmm->lists[VM_CL_ATTACHED], lq)
        if (n < 64) {
            spring__cache_ref(c);
            v[n++] = c;
        }
    vm_unlock(&vmm->cache_lock);
    int rc = SPRING_ENOENT;
    for (size_t i = 0; i < n; i++) {
        if (rc != 0) {
            vm_lock(&v[i]->lock);
            rc = v[i]->destroyed ? SPRING_ENOENT : fn(v[i]);
            vm_unlock(&v[i]->lock);
            if (rc == 0) {
                rec.cache = v[i]; /* keeps this reference */
                rec.m[0] = &v[i]->lock;
                continue;
            }
        }
        spring__cache_unref(v[i]);
    }
    return rc;
}

/* Try fn on each address space, write-locked, until one can be damaged
 * its way.  The change is undone under that lock (then rec.m[0], if fn
 * names one).  => no lock held. */
static int for_as(spring_vmm_t *vmm, int (*fn)(spring_as_t *))
{
    int rc = SPRING_ENOENT;
    vm_lock(&vmm->as_list_lock);
    spring_as_t *as;
    LIST_FOREACH(as, &vmm->as_list, link) {
        vm_wrlock(&as->lock);
        rc = as->nregions > 0 ? fn(as) : SPRING_ENOENT;
        vm_rwunlock(&as->lock);
        if (rc == 0) {
            rec.rw = &as->lock;
            break;
        }
    }
    vm_unlock(&vmm->as_list_lock);
    return rc;
}

/* The region after r.  => as->lock held. */
static struct vm_region *next_region(spring_as_t *as, const struct vm_region *r)
{
    return rt_find_gt(&as->idx, r->start);
}

/* ------------------------------------------------------------------ */
/* The corruptions: one per invariant spring_vmm_check verifies.         */

/* Frames and the page lists (check.c), under the page lock. */

static int c_free_count(spring_vmm_t *vmm)
{
    SAVE(vmm->nfree);
    vmm->nfree++;
    return 0;
}

static int c_free_frame_in_use(spring_vmm_t *vmm)
{
    struct vm_frame *f = TAILQ_FIRST(&vmm->freeq);
    struct vm_block *b = TAILQ_FIRST(&vmm->inuse);
    if (f == NULL || b == NULL)
        return SPRING_ENOENT;
    SAVE(f->block);
    f->block = b;
    return 0;
}

static int c_used_frame_marked_free(spring_vmm_t *vmm)
{
    struct vm_block *b = TAILQ_FIRST(&vmm->inuse);
    if (b == NULL)
        return SPRING_ENOENT;
    struct vm_frame *f = &vmm->frames[b->frames[0]];
    SAVE(f->onfree);
    f->onfree = true;
    return 0;
}

static int c_locked_count(spring_vmm_t *vmm)
{
    SAVE(vmm->nlocked);
    vmm->nlocked = vmm->nframes + 1;
    return 0;
}

static int c_inuse_list_mark(spring_vmm_t *vmm)
{
    struct vm_block *b = TAILQ_FIRST(&vmm->inuse);
    if (b == NULL)
        return SPRING_ENOENT;
    SAVE(b->onlist);
    b->onlist = VM_BL_PAGEOUT;
    return 0;
}

/* => page_lock held. */
static void undo_pageout_move(void *arg)
{
    struct vm_block *b = arg;
    TAILQ_REMOVE(&b->cache->vmm->pageoutq, b, lru);
    TAILQ_INSERT_HEAD(&b->cache->vmm->inuse, b, lru);
    b->cache->vmm->ninuse++;
}

static int c_inuse_count(spring_vmm_t *vmm)
{
    SAVE(vmm->ninuse);
    vmm->ninuse++;
    return 0;
}

static int c_special_count(spring_vmm_t *vmm)
{
    SAVE(vmm->nspecial);
    vmm->nspecial++;
    return 0;
}

static int c_pageout_list_mark(spring_vmm_t *vmm)
{
    struct vm_block *b = TAILQ_FIRST(&vmm->inuse);
    if (b == NULL)
        return SPRING_ENOENT;
    /* On the page-out list (the in-use count follows), still marked in use. */
    TAILQ_REMOVE(&vmm->inuse, b, lru);
    vmm->ninuse--;
    TAILQ_INSERT_TAIL(&vmm->pageoutq, b, lru);
    rec.undo = undo_pageout_move;
    rec.undo_arg = b;
    return 0;
}

/* The cache lists (check.c), under the cache-list lock. */

static int c_cache_list(spring_vmm_t *vmm)
{
    struct vm_cache *c = TAILQ_FIRST(&vmm->lists[VM_CL_ATTACHED]);
    if (c == NULL)
        return SPRING_ENOENT;
    SAVE(c->list);
    c->list = VM_CL_UNATT_DATA;
    return 0;
}

static int c_cache_attach_count(spring_vmm_t *vmm)
{
    struct vm_cache *c = TAILQ_FIRST(&vmm->lists[VM_CL_ATTACHED]);
    if (c == NULL)
        return SPRING_ENOENT;
    SAVE(c->nattach);
    c->nattach = 0;
    return 0;
}

/* One cache: blocks, page hash, zero-fill table (cache.c), under the
 * cache lock. */

/* The page-hash bucket holding b, or SIZE_MAX.  => c->lock held. */
static size_t hash_find(spring_vmm_t *vmm, const struct vm_block *b)
{
    for (size_t i = 0; i <= vmm->hash_mask; i++) {
        vm_mutex_t *hl = &vmm->hash_locks[i % VM_HASH_LOCKS].m;
        vm_lock(hl);
        bool here = false;
        for (struct vm_block *x = vmm->hash[i].head; x && !here; x = x->hnext)
            here = x == b;
        vm_unlock(hl);
        if (here)
            return i;
    }
    return SIZE_MAX;
}

/* Move b from bucket `from` to the head of bucket `to`.  => c->lock held. */
static void hash_move(spring_vmm_t *vmm, struct vm_block *b, size_t from, size_t to)
{
    vm_mutex_t *hl = &vmm->hash_locks[from % VM_HASH_LOCKS].m;
    vm_lock(hl);
    for (struct vm_block **pp = &vmm->hash[from].head; *pp; pp = &(*pp)->hnext)
        if (*pp == b) {
            *pp = b->hnext;
            break;
        }
    vm_unlock(hl);
    hl = &vmm->hash_locks[to % VM_HASH_LOCKS].m;
    vm_lock(hl);
    b->hnext = vmm->hash[to].head;
    vmm->hash[to].head = b;
    vm_unlock(hl);
}

/* Two blocks that trade their offsets, and their places in the page hash
 * with them, so that each is still found under its (new) offset but the
 * cache's tree has them in the wrong order. */
static struct {
    struct vm_block *b[2];
    size_t bucket[2];
} swapped;

static void swap_blocks(bool back)
{
    struct vm_block **b = swapped.b;
    spring_vmm_t *vmm = b[0]->cache->vmm;
    spring_off_t o = b[0]->offset;
    b[0]->offset = b[1]->offset;
    b[1]->offset = o;
    hash_move(vmm, b[0], swapped.bucket[back], swapped.bucket[!back]);
    hash_move(vmm, b[1], swapped.bucket[!back], swapped.bucket[back]);
}

/* => c->lock held (the repair holds it). */
static void undo_swap(void *arg)
{
    (void)arg;
    swap_blocks(true);
}

static int c_block_order(struct vm_cache *c)
{
    struct vm_block *v[2];
    if (cache_blocks(c, v, 2) < 2)
        return SPRING_ENOENT;
    swapped.b[0] = v[0];
    swapped.b[1] = v[1];
    swapped.bucket[0] = hash_find(c->vmm, v[0]);
    swapped.bucket[1] = hash_find(c->vmm, v[1]);
    if (swapped.bucket[0] == SIZE_MAX || swapped.bucket[1] == SIZE_MAX)
        return SPRING_ENOENT;
    swap_blocks(false);
    rec.undo = undo_swap;
    return 0;
}

static int c_block_align(struct vm_cache *c)
{
    struct vm_block *v[MAXBLK];
    size_t n = cache_blocks(c, v, MAXBLK);
    if (n == 0 || n == MAXBLK || c->pages_per_block < 2)
        return SPRING_ENOENT;
    /* The last block: still after the others, no longer aligned. */
    SAVE(v[n - 1]->offset);
    v[n - 1]->offset += c->vmm->page_size;
    return 0;
}

static int c_block_unhashed(struct vm_cache *c)
{
    spring_vmm_t *vmm = c->vmm;
    struct vm_block *v[1];
    if (cache_blocks(c, v, 1) < 1)
        return SPRING_ENOENT;
    /* Find the chain that holds the block and unlink it there. */
    for (size_t i = 0; i <= vmm->hash_mask; i++) {
        vm_mutex_t *hl = &vmm->hash_locks[i % VM_HASH_LOCKS].m;
        vm_lock(hl);
        for (struct vm_block **pp = &vmm->hash[i].head; *pp; pp = &(*pp)->hnext)
            if (*pp == v[0]) {
                save(pp, sizeof *pp);
                *pp = v[0]->hnext;
                vm_unlock(hl);
                rec.m[1] = hl;
                return 0;
            }
        vm_unlock(hl);
    }
    return SPRING_ENOENT;
}

static int c_block_in_zero_table(struct vm_cache *c)
{
    struct vm_zrange *z[64];
    size_t n = 0;
    zr_walk(RB_ROOT(&c->zr), z, &n, 64);
    /* A range just before a cached block grows over it. */
    for (size_t i = 0; i < n; i++)
        if (cached_at(c, z[i]->end) && (i + 1 == n || z[i + 1]->start > z[i]->end + c->block_size)) {
            SAVE(z[i]->end);
            z[i]->end += c->block_size;
            return 0;
        }
    return SPRING_ENOENT;
}

static int c_block_frame_owner(struct vm_cache *c)
{
    spring_vmm_t *vmm = c->vmm;
    struct vm_block *v[1];
    if (cache_blocks(c, v, 1) < 1)
        return SPRING_ENOENT;
    vm_lock(&vmm->page_lock);
    struct vm_frame *f = &vmm->frames[v[0]->frames[0]];
    SAVE(f->block);
    f->block = NULL;
    vm_unlock(&vmm->page_lock);
    rec.m[1] = &vmm->page_lock; /* a [p]+[o] field */
    return 0;
}

static int c_rw_without_write_rights(struct vm_cache *c)
{
    struct vm_block *v[MAXBLK];
    size_t n = cache_blocks(c, v, MAXBLK);
    bool rw = false;
    for (size_t i = 0; i < n; i++)
        rw |= v[i]->rw;
    if (!rw)
        return SPRING_ENOENT;
    SAVE(c->max_rights);
    c->max_rights &= ~SPRING_RIGHTS_W;
    return 0;
}

static int c_block_count(struct vm_cache *c)
{
    SAVE(c->nblocks);
    c->nblocks++;
    return 0;
}

static int c_zero_table_order(struct vm_cache *c)
{
    struct vm_zrange *z[64];
    size_t n = 0;
    zr_walk(RB_ROOT(&c->zr), z, &n, 64);
    /* Two ranges with no cached block between them meet: not coalesced. */
    for (size_t i = 0; i + 1 < n; i++) {
        bool between = false;
        for (spring_off_t o = z[i]->end; o < z[i + 1]->start && !between; o += c->block_size)
            between = cached_at(c, o);
        if (!between) {
            SAVE(z[i]->end);
            z[i]->end = z[i + 1]->start;
            return 0;
        }
    }
    return SPRING_ENOENT;
}

static int c_zero_table_count(struct vm_cache *c)
{
    if (c->nzr == 0)
        return SPRING_ENOENT;
    SAVE(c->nzr);
    c->nzr++;
    return 0;
}

/* Address spaces (as.c, rtree.c), write-locked. */

static int c_region_empty(spring_as_t *as)
{
    struct vm_region *r = rt_first(&as->idx);
    SAVE(r->end);
    r->end = r->start;
    return 0;
}

static int c_region_order(spring_as_t *as)
{
    struct vm_region *r1 = rt_first(&as->idx), *r2 = next_region(as, r1);
    if (r2 == NULL)
        return SPRING_ENOENT;
    /* The second region's start is no longer its key. */
    SAVE(r2->start);
    r2->start = r1->start;
    return 0;
}

static int c_region_overlap(spring_as_t *as)
{
    struct vm_region *r1 = rt_first(&as->idx), *r2 = next_region(as, r1);
    if (r2 == NULL)
        return SPRING_ENOENT;
    /* The first region (and its last run) reaches into the second. */
    SAVE(r1->end);
    SAVE(r1->sub[r1->nsub - 1].end);
    r1->end = r2->start + as->vmm->page_size;
    r1->sub[r1->nsub - 1].end = r1->end;
    return 0;
}

static int c_subregion_cover(spring_as_t *as)
{
    for (struct vm_region *r = rt_first(&as->idx); r != NULL; r = next_region(as, r))
        if (r->sub[0].end - r->sub[0].start > as->vmm->page_size) {
            SAVE(r->sub[0].start);
            r->sub[0].start += as->vmm->page_size;
            return 0;
        }
    return SPRING_ENOENT;
}

static int c_subregion_gap(spring_as_t *as)
{
    for (struct vm_region *r = rt_first(&as->idx); r != NULL; r = next_region(as, r))
        if (r->nsub >= 2 && r->sub[0].end - r->sub[0].start > as->vmm->page_size) {
            SAVE(r->sub[0].end);
            r->sub[0].end -= as->vmm->page_size;
            return 0;
        }
    return SPRING_ENOENT;
}

static int c_rights_above_binding(spring_as_t *as)
{
    for (struct vm_region *r = rt_first(&as->idx); r != NULL; r = next_region(as, r))
        for (size_t i = 0; i < r->nsub; i++)
            if (r->sub[i].prot & SPRING_RIGHTS_W) {
                SAVE(r->maxprot);
                r->maxprot = SPRING_RIGHTS_RO;
                return 0;
            }
    return SPRING_ENOENT;
}

static int c_region_index_count(spring_as_t *as)
{
    SAVE(as->idx.n);
    as->idx.n++;
    return 0;
}

static int c_free_hint(spring_as_t *as)
{
    /* Claims no gap below the limit is longer than a page. */
    vm_lock(&as->free_lock);
    SAVE(as->free_hint);
    SAVE(as->free_hole);
    as->free_hint = as->limit;
    as->free_hole = (spring_off_t)as->vmm->page_size;
    vm_unlock(&as->free_lock);
    rec.m[0] = &as->free_lock;
    return 0;
}

static int c_region_count(spring_as_t *as)
{
    SAVE(as->nregions);
    as->nregions++;
    return 0;
}

/* The address-space list (check.c). */

static int c_as_count(spring_vmm_t *vmm)
{
    SAVE(vmm->nas);
    vmm->nas++;
    return 0;
}

/* Drivers: the lock each kind of field is changed under. */
#define PAGE_FN(f)                                  \
    static int f##_d(spring_vmm_t *vmm)             \
    {                                               \
        vm_lock(&vmm->page_lock);                   \
        int rc = f(vmm);                            \
        vm_unlock(&vmm->page_lock);                 \
        if (rc == 0)                                \
            rec.m[0] = &vmm->page_lock;             \
        return rc;                                  \
    }
#define LIST_FN(f, lk)                              \
    static int f##_d(spring_vmm_t *vmm)             \
    {                                               \
        vm_lock(&vmm->lk);                          \
        int rc = f(vmm);                            \
        vm_unlock(&vmm->lk);                        \
        if (rc == 0)                                \
            rec.m[0] = &vmm->lk;                    \
        return rc;                                  \
    }
#define CACHE_FN(f)                                 \
    static int f##_d(spring_vmm_t *vmm)             \
    {                                               \
        return for_caches(vmm, f);                  \
    }
#define AS_FN(f)                                    \
    static int f##_d(spring_vmm_t *vmm)             \
    {                                               \
        return for_as(vmm, f);                      \
    }

PAGE_FN(c_free_count)
PAGE_FN(c_free_frame_in_use)
PAGE_FN(c_used_frame_marked_free)
PAGE_FN(c_locked_count)
PAGE_FN(c_inuse_list_mark)
PAGE_FN(c_pageout_list_mark)
PAGE_FN(c_inuse_count)
PAGE_FN(c_special_count)
LIST_FN(c_cache_list, cache_lock)
LIST_FN(c_cache_attach_count, cache_lock)
CACHE_FN(c_block_order)
CACHE_FN(c_block_align)
CACHE_FN(c_block_unhashed)
CACHE_FN(c_block_in_zero_table)
CACHE_FN(c_block_frame_owner)
CACHE_FN(c_rw_without_write_rights)
CACHE_FN(c_block_count)
CACHE_FN(c_zero_table_order)
CACHE_FN(c_zero_table_count)
AS_FN(c_region_empty)
AS_FN(c_region_order)
AS_FN(c_region_overlap)
AS_FN(c_subregion_cover)
AS_FN(c_subregion_gap)
AS_FN(c_rights_above_binding)
AS_FN(c_region_index_count)
AS_FN(c_free_hint)
AS_FN(c_region_count)
LIST_FN(c_as_count, as_list_lock)

static const struct corruption {
    const char *name;
    int (*fn)(spring_vmm_t *);
} corruptions[] = {
    {"free-count", c_free_count_d},
    {"free-frame-in-use", c_free_frame_in_use_d},
    {"used-frame-marked-free", c_used_frame_marked_free_d},
    {"locked-count", c_locked_count_d},
    {"inuse-list-mark", c_inuse_list_mark_d},
    {"pageout-list-mark", c_pageout_list_mark_d},
    {"inuse-count", c_inuse_count_d},
    {"special-count", c_special_count_d},
    {"cache-list", c_cache_list_d},
    {"cache-attach-count", c_cache_attach_count_d},
    {"block-order", c_block_order_d},
    {"block-align", c_block_align_d},
    {"block-unhashed", c_block_unhashed_d},
    {"block-in-zero-table", c_block_in_zero_table_d},
    {"block-frame-owner", c_block_frame_owner_d},
    {"rw-without-write-rights", c_rw_without_write_rights_d},
    {"block-count", c_block_count_d},
    {"zero-table-order", c_zero_table_order_d},
    {"zero-table-count", c_zero_table_count_d},
    {"region-empty", c_region_empty_d},
    {"region-order", c_region_order_d},
    {"region-overlap", c_region_overlap_d},
    {"subregion-cover", c_subregion_cover_d},
    {"subregion-gap", c_subregion_gap_d},
    {"rights-above-binding", c_rights_above_binding_d},
    {"region-index-count", c_region_index_count_d},
    {"free-hint", c_free_hint_d},
    {"region-count", c_region_count_d},
    {"as-count", c_as_count_d},
};

/* ------------------------------------------------------------------ */
/* The hooks.                                                            */

/*
 * Break the invariant `what` (a name from spring__test_corruption_name) in
 * vmm.  Returns 0; SPRING_EINVAL for NULL arguments or an unknown name;
 * SPRING_EBUSY if a corruption is in place (repair it first);
 * SPRING_ENOENT if the VMM holds nothing to break that way (e.g. no cache
 * with two blocks).  => no lock held.
 */
int spring__test_corrupt(spring_vmm_t *vmm, const char *what)
{
    if (vmm == NULL || what == NULL)
        return SPRING_EINVAL;
    const struct corruption *k = NULL;
    for (size_t i = 0; i < sizeof corruptions / sizeof corruptions[0]; i++)
        if (strcmp(corruptions[i].name, what) == 0)
            k = &corruptions[i];
    if (k == NULL)
        return SPRING_EINVAL;
    pthread_mutex_lock(&rec_lock);
    if (rec.vmm != NULL) {
        pthread_mutex_unlock(&rec_lock);
        return SPRING_EBUSY;
    }
    memset(&rec, 0, sizeof rec);
    int rc = k->fn(vmm);
    if (rc == 0) {
        rec.vmm = vmm;
    } else {
        if (rec.cache)
            spring__cache_unref(rec.cache);
        memset(&rec, 0, sizeof rec);
    }
    pthread_mutex_unlock(&rec_lock);
    return rc;
}

/* Undo the corruption in place in vmm.  Returns 0, or SPRING_ENOENT if
 * there is none.  => no lock held. */
int spring__test_repair(spring_vmm_t *vmm)
{
    pthread_mutex_lock(&rec_lock);
    if (vmm == NULL || rec.vmm != vmm) {
        pthread_mutex_unlock(&rec_lock);
        return SPRING_ENOENT;
    }
    locks_take();
    while (rec.n > 0) {
        struct patch *p = &rec.p[--rec.n];
        memcpy(p->addr, p->old, p->len);
    }
    if (rec.undo)
        rec.undo(rec.undo_arg);
    locks_drop();
    if (rec.cache)
        spring__cache_unref(rec.cache);
    memset(&rec, 0, sizeof rec);
    pthread_mutex_unlock(&rec_lock);
    return 0;
}

/* The name of corruption i (0, 1, ...), or NULL past the last. */
const char *spring__test_corruption_name(unsigned i)
{
    return i < sizeof corruptions / sizeof corruptions[0] ? corruptions[i].name : NULL;
}

/* ------------------------------------------------------------------ */
/* Move a block between two caches (spring__block_move).                 */

int spring__test_move_block(spring_cache_obj_t src, spring_off_t soff, spring_cache_obj_t dst, spring_off_t doff)
{
    struct vm_cache *a, *b;
    int rc = spring__cache_from_handle(src, &a);
    if (rc)
        return rc;
    if ((rc = spring__cache_from_handle(dst, &b)) != 0) {
        spring__cache_unref(a);
        return rc;
    }
    rc = spring__block_move(a, soff, b, doff);
    spring__cache_unref(b);
    spring__cache_unref(a);
    return rc;
}
