/*
 * model.c - the reference model of t/model.h.  Plain arrays, one entry per
 * page; no code in common with the library.
 */
#include <stdlib.h>
#include <string.h>

#include "model.h"

#define R_R 1u
#define R_W 2u
#define R_X 4u

static bool rights_valid(unsigned r)
{
    return r == 1 || r == 3 || r == 5 || r == 7;
}

static bool subset(unsigned a, unsigned b)
{
    return (a & ~b) == 0;
}

model_t *model_new(size_t page_size, size_t nframes)
{
    model_t *m = calloc(1, sizeof *m);
    if (m == NULL)
        abort();
    m->ps = page_size;
    m->nframes = nframes;
    m->next_region = 1;
    m->max_bs_made = 1;
    m->journal = true;
    return m;
}

/* ------------------------------------------------------------------ */
/* Sets of page contents.                                               */

uint64_t model_digest(const uint8_t *p, size_t n)
{
    uint64_t h = 0x6a09e667f3bcc909ULL ^ n;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t v;
        memcpy(&v, p + i, 8);
        h = (h ^ v) * 0x9e3779b97f4a7c15ULL;
        h ^= h >> 29;
    }
    for (; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ULL;
    h ^= h >> 32;
    h *= 0xd6e8feb86659fd93ULL;
    return h ^ (h >> 32);
}

static void vset_one(model_vset_t *s, uint64_t h)
{
    s->n = 1;
    s->any = false;
    s->h[0] = h;
}

static void vset_add(model_t *m, model_vset_t *s, uint64_t h)
{
    if (s->any)
        return;
    for (unsigned i = 0; i < s->n; i++)
        if (s->h[i] == h)
            return;
    if (s->n == MODEL_VSET_MAX) {
        s->any = true;
        m->vset_overflows++;
        return;
    }
    s->h[s->n++] = h;
}

static bool vset_has(const model_vset_t *s, uint64_t h)
{
    if (s->any)
        return true;
    for (unsigned i = 0; i < s->n; i++)
        if (s->h[i] == h)
            return true;
    return false;
}

static uint64_t truth_digest(const model_t *m, int pager, uint64_t page)
{
    return model_digest(m->pager[pager].truth + page * m->ps, m->ps);
}

void model_op_begin(model_t *m)
{
    for (unsigned i = 0; i < m->npagers; i++) {
        model_pager_t *p = &m->pager[i];
        for (uint64_t k = 0; k < p->len_pages; k++) {
            p->opv[k].n = 0;
            p->opv[k].any = false;
        }
    }
    m->journal = true;
}

void model_journal(model_t *m, bool on)
{
    m->journal = on;
}

void model_store_sent(model_t *m, int pager, uint64_t page)
{
    model_pager_t *p = &m->pager[pager];
    if (page >= p->len_pages)
        return;
    if (p->opv[page].n > 0 || p->opv[page].any)
        p->store[page] = p->opv[page];
    else
        vset_one(&p->store[page], truth_digest(m, pager, page));
}

void model_store_is_truth(model_t *m, int pager, uint64_t p0, uint64_t p1)
{
    model_pager_t *p = &m->pager[pager];
    for (uint64_t k = p0; k < p1 && k < p->len_pages; k++)
        vset_one(&p->store[k], truth_digest(m, pager, k));
}

bool model_store_may_hold(const model_t *m, int pager, uint64_t page, const uint8_t *bytes)
{
    return vset_has(&m->pager[pager].store[page], model_digest(bytes, m->ps));
}

void model_free(model_t *m)
{
    if (m == NULL)
        return;
    for (unsigned i = 0; i < m->npagers; i++) {
        free(m->pager[i].truth);
        free(m->pager[i].pending);
        free(m->pager[i].held);
        free(m->pager[i].store);
        free(m->pager[i].opv);
    }
    for (unsigned i = 0; i < m->nas; i++) {
        free(m->as[i].pages);
        free(m->as[i].anon);
    }
    free(m);
}

int model_add_pager(model_t *m, uint64_t len_pages, unsigned bs_pages, spring_ownership_t own, const uint8_t *store)
{
    if (m->npagers == MODEL_MAX_PAGERS)
        abort();
    model_pager_t *p = &m->pager[m->npagers];
    memset(p, 0, sizeof *p);
    p->len_pages = len_pages;
    p->bs_pages = bs_pages ? bs_pages : 1;
    p->truth = malloc(len_pages * m->ps);
    p->pending = calloc(len_pages, 1);
    p->held = calloc(len_pages / p->bs_pages + 1, 1);
    if (p->truth == NULL || p->pending == NULL || p->held == NULL)
        abort();
    memcpy(p->truth, store, len_pages * m->ps);
    p->own = p->own_initial = own;
    p->store = calloc(len_pages, sizeof *p->store);
    p->opv = calloc(len_pages, sizeof *p->opv);
    if (p->store == NULL || p->opv == NULL)
        abort();
    int i = (int)m->npagers++;
    model_store_is_truth(m, i, 0, len_pages);
    return i;
}

int model_aobj_new(model_t *m, int slot, uint64_t len_pages)
{
    uint8_t *zero = calloc(len_pages, m->ps);
    if (zero == NULL)
        abort();
    if (slot == (int)m->npagers) {
        slot = model_add_pager(m, len_pages, 1, SPRING_OWN_EXCLUSIVE, zero);
        model_add_mobj(m, slot, R_R | R_W | R_X);
        free(zero);
        return slot;
    }
    model_pager_t *p = &m->pager[slot];
    uint32_t gen = p->gen + 1;
    free(p->truth);
    free(p->pending);
    free(p->held);
    free(p->store);
    free(p->opv);
    unsigned n = m->npagers;
    m->npagers = (unsigned)slot; /* model_add_pager fills slot `slot` */
    model_add_pager(m, len_pages, 1, SPRING_OWN_EXCLUSIVE, zero);
    m->npagers = n;
    p->gen = gen; /* pages of the old object (none) stay stale */
    model_add_mobj(m, slot, R_R | R_W | R_X);
    free(zero);
    return slot;
}

int model_add_mobj(model_t *m, int pager, unsigned max_rights)
{
    model_pager_t *p = &m->pager[pager];
    if (p->nmobj == MODEL_MAX_MOBJS)
        abort();
    p->mobj_max[p->nmobj] = max_rights;
    return (int)p->nmobj++;
}

int model_add_as(model_t *m, uint64_t base_page, uint64_t limit_page, bool privileged)
{
    if (m->nas == MODEL_MAX_AS)
        abort();
    model_as_t *a = &m->as[m->nas];
    a->base_page = base_page;
    a->limit_page = limit_page;
    a->privileged = privileged;
    a->pages = calloc(limit_page, sizeof *a->pages);
    a->anon = calloc(limit_page, m->ps);
    if (a->pages == NULL || a->anon == NULL)
        abort();
    for (uint64_t i = 0; i < limit_page; i++)
        a->pages[i].obj = MODEL_UNMAPPED;
    a->anon_cache = false;
    return (int)m->nas++;
}

/* ------------------------------------------------------------------ */
/* Queries.                                                             */

const model_page_t *model_page(const model_t *m, int as, uint64_t page)
{
    const model_as_t *a = &m->as[as];
    return page < a->limit_page ? &a->pages[page] : NULL;
}

bool model_page_live(const model_t *m, const model_page_t *pg)
{
    if (pg == NULL || pg->obj == MODEL_UNMAPPED)
        return false;
    if (pg->obj == MODEL_ANON)
        return true;
    return pg->gen == m->pager[pg->obj].gen;
}

bool model_range_free(const model_t *m, int as, uint64_t addr, uint64_t len)
{
    const model_as_t *a = &m->as[as];
    if (addr % m->ps || len % m->ps || len == 0 || addr + len < addr)
        return false;
    uint64_t p0 = addr / m->ps, p1 = (addr + len) / m->ps;
    if (p0 < a->base_page || p1 > a->limit_page)
        return false;
    for (uint64_t p = p0; p < p1; p++)
        if (a->pages[p].obj != MODEL_UNMAPPED)
            return false;
    return true;
}

/* Whether two mapped pages belong to one get_mappings entry. */
static bool same_run(const model_page_t *a, const model_page_t *b)
{
    return a->region == b->region && a->prot == b->prot && a->locked == b->locked;
}

size_t model_entries(const model_t *m, int as, uint64_t addr, uint64_t len, model_entry_t *out, size_t cap,
                     bool *more)
{
    const model_as_t *a = &m->as[as];
    uint64_t p0 = addr / m->ps, p1 = (addr + len) / m->ps;
    if (p1 > a->limit_page)
        p1 = a->limit_page;
    size_t n = 0;
    *more = false;
    const model_page_t *prev = NULL;
    for (uint64_t p = p0; p < p1; p++) {
        const model_page_t *pg = &a->pages[p];
        if (pg->obj == MODEL_UNMAPPED) {
            prev = NULL;
            continue;
        }
        if (prev != NULL && same_run(prev, pg)) {
            out[n - 1].length += m->ps;
            prev = pg;
            continue;
        }
        if (n == cap) {
            *more = true;
            return n;
        }
        model_entry_t *e = &out[n++];
        e->obj = pg->obj;
        e->mobj = pg->mobj;
        e->address = p * m->ps;
        e->length = m->ps;
        e->off = pg->off;
        e->access = pg->prot;
        e->max_access = pg->maxprot;
        e->locked = pg->locked;
        prev = pg;
    }
    return n;
}

void model_stats(const model_t *m, int as, size_t *nregions, uint64_t *mapped_bytes, size_t *locked_pages)
{
    const model_as_t *a = &m->as[as];
    size_t nr = 0, nl = 0;
    uint64_t mb = 0;
    for (uint64_t p = 0; p < a->limit_page; p++) {
        const model_page_t *pg = &a->pages[p];
        if (pg->obj == MODEL_UNMAPPED)
            continue;
        mb += m->ps;
        if (pg->locked)
            nl++;
        if (p == 0 || a->pages[p - 1].obj == MODEL_UNMAPPED || a->pages[p - 1].region != pg->region)
            nr++;
    }
    *nregions = nr;
    *mapped_bytes = mb;
    *locked_pages = nl;
}

/* ------------------------------------------------------------------ */
/* Locked blocks: a set of (cache instance, block) keys.                */

#define LSET_SIZE 4096

typedef struct lset {
    uint64_t k[LSET_SIZE]; /* 0 = empty */
} lset_t;

static bool lset_add(lset_t *s, uint64_t key)
{
    uint64_t h = (key * 0x9e3779b97f4a7c15ULL) >> 52;
    for (;;) {
        size_t i = (size_t)(h & (LSET_SIZE - 1));
        if (s->k[i] == key)
            return false;
        if (s->k[i] == 0) {
            s->k[i] = key;
            return true;
        }
        h++;
    }
}

/* The key of the lock-count block a page belongs to, and its frames. */
static uint64_t lock_key(const model_t *m, int as, const model_page_t *pg, uint64_t page, size_t *ppb)
{
    if (pg->obj == MODEL_ANON) {
        *ppb = 1;
        return ((uint64_t)(100 + as) << 56) | (page + 1);
    }
    const model_pager_t *p = &m->pager[pg->obj];
    *ppb = p->bs_pages;
    uint64_t block = pg->off / m->ps / p->bs_pages;
    return ((uint64_t)(1 + pg->obj) << 56) | ((uint64_t)(pg->gen & 0xffffff) << 32) | (block + 1);
}

static size_t locked_blocks(const model_t *m, lset_t *s)
{
    size_t frames = 0;
    for (unsigned as = 0; as < m->nas; as++) {
        const model_as_t *a = &m->as[as];
        for (uint64_t p = 0; p < a->limit_page; p++) {
            const model_page_t *pg = &a->pages[p];
            if (pg->obj == MODEL_UNMAPPED || !pg->locked)
                continue;
            size_t ppb;
            if (lset_add(s, lock_key(m, (int)as, pg, p, &ppb)))
                frames += ppb;
        }
    }
    return frames;
}

size_t model_locked_frames(const model_t *m)
{
    lset_t *s = calloc(1, sizeof *s);
    if (s == NULL)
        abort();
    size_t n = locked_blocks(m, s);
    free(s);
    return n;
}

static size_t page_ppb(const model_t *m, const model_page_t *pg)
{
    return pg->obj >= 0 ? m->pager[pg->obj].bs_pages : 1;
}

bool model_pager_starved(const model_t *m, int pager)
{
    return m->pager[pager].bs_pages + model_locked_frames(m) > m->nframes;
}

bool model_starved(const model_t *m, int as, uint64_t addr, uint64_t len)
{
    if (len == 0 || addr + len < addr)
        return false;
    size_t need = 0;
    for (uint64_t p = addr / m->ps; p <= (addr + len - 1) / m->ps; p++) {
        const model_page_t *pg = model_page(m, as, p);
        if (pg == NULL)
            break;
        if (model_page_live(m, pg) && page_ppb(m, pg) > need)
            need = page_ppb(m, pg);
    }
    /* Two frames always stay unreserved: one-page blocks never starve. */
    return need > 2 && need + model_locked_frames(m) > m->nframes;
}

size_t model_ncaches(const model_t *m)
{
    size_t n = 0;
    for (unsigned i = 0; i < m->npagers; i++)
        n += m->pager[i].has_cache;
    for (unsigned i = 0; i < m->nas; i++)
        n += m->as[i].anon_cache;
    return n;
}

uint8_t *model_byte(model_t *m, int as, uint64_t addr)
{
    model_as_t *a = &m->as[as];
    uint64_t p = addr / m->ps;
    if (p >= a->limit_page || a->pages[p].obj == MODEL_UNMAPPED)
        return NULL;
    const model_page_t *pg = &a->pages[p];
    if (pg->obj == MODEL_ANON)
        return &a->anon[addr];
    return &m->pager[pg->obj].truth[pg->off + addr % m->ps];
}

/* ------------------------------------------------------------------ */
/* Address-space operations.                                            */

/* The checks every range argument gets (check_range of the interface). */
static model_exp_t range_errors(const model_t *m, int as, uint64_t addr, uint64_t len)
{
    const model_as_t *a = &m->as[as];
    model_exp_t e = 0;
    if (len == 0)
        return MX(SPRING_EINVAL);
    if (addr % m->ps || len % m->ps)
        e |= MX(SPRING_EALIGN);
    if (addr < a->base_page * m->ps || addr + len < addr || addr + len > a->limit_page * m->ps)
        e |= MX(SPRING_ERANGE);
    return e;
}

static model_exp_t map_arg_errors(const model_t *m, int as, uint64_t off, uint64_t len, uint64_t addr,
                                  unsigned access)
{
    const model_as_t *a = &m->as[as];
    model_exp_t e = 0;
    if (len == 0 || !rights_valid(access))
        e |= MX(SPRING_EINVAL);
    if (len == 0)
        return e;
    if (off % m->ps || len % m->ps)
        e |= MX(SPRING_EALIGN);
    if (off + len < off)
        e |= MX(SPRING_ERANGE);
    if (addr != SPRING_ANYWHERE)
        e |= range_errors(m, as, addr, len);
    else if (len > (a->limit_page - a->base_page) * m->ps)
        e |= MX(SPRING_ERANGE);
    return e;
}

static bool any_gap(const model_t *m, int as, uint64_t len)
{
    const model_as_t *a = &m->as[as];
    uint64_t need = len / m->ps, run = 0;
    for (uint64_t p = a->base_page; p < a->limit_page; p++) {
        run = a->pages[p].obj == MODEL_UNMAPPED ? run + 1 : 0;
        if (run >= need)
            return true;
    }
    return false;
}

uint64_t model_first_fit(const model_t *m, int as, uint64_t len)
{
    const model_as_t *a = &m->as[as];
    uint64_t need = len / m->ps, run = 0;
    for (uint64_t p = a->base_page; p < a->limit_page; p++) {
        run = a->pages[p].obj == MODEL_UNMAPPED ? run + 1 : 0;
        if (run >= need)
            return (p + 1 - need) * m->ps;
    }
    return UINT64_MAX;
}

model_exp_t model_map(model_t *m, int as, int pager, int mobj, uint64_t off, uint64_t len, uint64_t addr,
                      unsigned access, bool bind_fails, uint64_t *maplen)
{
    model_exp_t e = map_arg_errors(m, as, off, len, addr, access);
    if (e)
        return e;
    if (addr != SPRING_ANYWHERE && !model_range_free(m, as, addr, len))
        return MX(SPRING_EEXIST);
    if (addr == SPRING_ANYWHERE && !any_gap(m, as, len))
        return MX(SPRING_ENOSPC);
    if (bind_fails)
        return MX(SPRING_EBIND);
    /* The bind: the pager creates its cache if it has none. */
    model_pager_t *p = &m->pager[pager];
    /* A new cache needs two of its blocks' worth of frames not locked:
     * else the pager's create_cache_object fails and so does its bind. */
    if (!p->has_cache && model_locked_frames(m) + 2 * p->bs_pages > m->nframes)
        return MX(SPRING_EBIND);
    if (!p->has_cache && p->bs_pages > m->max_bs_made)
        m->max_bs_made = p->bs_pages;
    p->has_cache = true;
    uint64_t objlen = p->len_pages * m->ps;
    if (off >= objlen)
        return MX(SPRING_ERANGE); /* the pager's answer, passed through */
    p->attached_once = true; /* attached (and at once detached on failure) */
    if (!subset(access, p->mobj_max[mobj]))
        return MX(SPRING_ERIGHTS);
    *maplen = len < objlen - off ? len : objlen - off;
    return MX_OK;
}

static uint32_t new_region(model_t *m)
{
    return m->next_region++;
}

void model_map_apply(model_t *m, int as, int pager, int mobj, uint64_t off, uint64_t addr, uint64_t len,
                     unsigned access)
{
    model_as_t *a = &m->as[as];
    model_pager_t *p = &m->pager[pager];
    uint32_t r = new_region(m);
    for (uint64_t i = 0; i < len / m->ps; i++) {
        model_page_t *pg = &a->pages[addr / m->ps + i];
        pg->obj = (int16_t)pager;
        pg->mobj = (uint8_t)mobj;
        pg->prot = (uint8_t)access;
        pg->maxprot = (uint8_t)p->mobj_max[mobj];
        pg->locked = false;
        pg->gen = p->gen;
        pg->region = r;
        pg->off = off + i * m->ps;
    }
}

model_exp_t model_alloc(model_t *m, int as, uint64_t len, uint64_t addr, unsigned access)
{
    model_exp_t e = map_arg_errors(m, as, 0, len, addr, access);
    if (e)
        return e;
    if (addr != SPRING_ANYWHERE && !model_range_free(m, as, addr, len))
        return MX(SPRING_EEXIST);
    if (addr == SPRING_ANYWHERE && !any_gap(m, as, len))
        return MX(SPRING_ENOSPC);
    return MX_OK;
}

void model_alloc_apply(model_t *m, int as, uint64_t addr, uint64_t len, unsigned access)
{
    model_as_t *a = &m->as[as];
    uint32_t r = new_region(m);
    a->anon_cache = true;
    memset(a->anon + addr, 0, len);
    for (uint64_t i = 0; i < len / m->ps; i++) {
        model_page_t *pg = &a->pages[addr / m->ps + i];
        pg->obj = MODEL_ANON;
        pg->mobj = 0;
        pg->prot = (uint8_t)access;
        pg->maxprot = R_R | R_W | R_X;
        pg->locked = false;
        pg->gen = 0;
        pg->region = r;
        pg->off = addr + i * m->ps;
    }
}

model_exp_t model_unmap(model_t *m, int as, uint64_t addr, uint64_t len)
{
    model_exp_t e = range_errors(m, as, addr, len);
    if (e)
        return e;
    model_as_t *a = &m->as[as];
    uint64_t p0 = addr / m->ps, p1 = (addr + len) / m->ps;
    uint32_t left = p0 > 0 && a->pages[p0 - 1].obj != MODEL_UNMAPPED ? a->pages[p0 - 1].region : 0;
    for (uint64_t p = p0; p < p1; p++) {
        a->pages[p].obj = MODEL_UNMAPPED;
        a->pages[p].locked = false;
        a->pages[p].region = 0;
    }
    /* A region that spanned the whole range is split: its right part is a
     * region of its own. */
    if (left != 0 && p1 < a->limit_page && a->pages[p1].obj != MODEL_UNMAPPED && a->pages[p1].region == left) {
        uint32_t r = new_region(m);
        for (uint64_t p = p1; p < a->limit_page && a->pages[p].obj != MODEL_UNMAPPED && a->pages[p].region == left;
             p++)
            a->pages[p].region = r;
    }
    return MX_OK;
}

model_exp_t model_protect(model_t *m, int as, uint64_t addr, uint64_t len, unsigned rights)
{
    model_exp_t e = 0;
    if (rights != 0 && !rights_valid(rights))
        e |= MX(SPRING_EINVAL);
    e |= range_errors(m, as, addr, len);
    if (e)
        return e;
    model_as_t *a = &m->as[as];
    uint64_t p0 = addr / m->ps, p1 = (addr + len) / m->ps;
    for (uint64_t p = p0; p < p1; p++) {
        const model_page_t *pg = &a->pages[p];
        if (pg->obj == MODEL_UNMAPPED)
            e |= MX(SPRING_ENOTMAPPED);
        else if (!subset(rights, pg->maxprot))
            e |= MX(SPRING_ERIGHTS);
    }
    if (e)
        return e;
    for (uint64_t p = p0; p < p1; p++)
        a->pages[p].prot = (uint8_t)rights;
    return MX_OK;
}

static model_exp_t lock_common(const model_t *m, int as, uint64_t addr, uint64_t len)
{
    model_exp_t e = range_errors(m, as, addr, len);
    if (e)
        return e;
    const model_as_t *a = &m->as[as];
    if (!a->privileged)
        e |= MX(SPRING_EPERM);
    for (uint64_t p = addr / m->ps; p < (addr + len) / m->ps; p++)
        if (a->pages[p].obj == MODEL_UNMAPPED) {
            e |= MX(SPRING_ENOTMAPPED);
            break;
        }
    return e;
}

model_exp_t model_lock(model_t *m, int as, uint64_t addr, uint64_t len)
{
    model_exp_t e = lock_common(m, as, addr, len);
    if (e)
        return e;
    model_as_t *a = &m->as[as];
    uint64_t p0 = addr / m->ps, p1 = (addr + len) / m->ps;
    /* The lock limit: frames are reserved per block of a cache with a
     * locked page; two of the largest blocks of any cache made so far (or
     * of the locking cache) always stay unlocked. */
    lset_t *s = calloc(1, sizeof *s);
    if (s == NULL)
        abort();
    size_t frames = locked_blocks(m, s);
    for (uint64_t p = p0; p < p1 && e == 0; p++) {
        const model_page_t *pg = &a->pages[p];
        if (pg->locked)
            continue;
        size_t ppb;
        if (lset_add(s, lock_key(m, as, pg, p, &ppb)))
            frames += ppb;
        if (frames + 2 * (ppb > m->max_bs_made ? ppb : m->max_bs_made) > m->nframes)
            e = MX(SPRING_ELOCKLIMIT);
    }
    free(s);
    if (e)
        return e;
    /* Every page is made resident: a destroyed cache fails that, and so
     * may a starved pool (see model_starved; judged with the new locks in
     * place).  On failure nothing changes. */
    bool *was = calloc(p1 - p0, sizeof *was);
    if (was == NULL)
        abort();
    for (uint64_t p = p0; p < p1; p++) {
        was[p - p0] = a->pages[p].locked;
        a->pages[p].locked = true;
    }
    e = model_starved(m, as, addr, len) ? MX(SPRING_ENOFRAMES) : 0;
    for (uint64_t p = p0; p < p1; p++)
        a->pages[p].locked = was[p - p0];
    free(was);
    for (uint64_t p = p0; p < p1; p++)
        if (!model_page_live(m, &a->pages[p])) {
            e |= MX(SPRING_EDESTROYED);
            break;
        }
    if (e == 0)
        return MX_OK;
    return e | (e == MX(SPRING_ENOFRAMES) ? MX_OK : 0);
}

void model_lock_apply(model_t *m, int as, uint64_t addr, uint64_t len)
{
    for (uint64_t p = addr / m->ps; p < (addr + len) / m->ps; p++)
        m->as[as].pages[p].locked = true;
}

model_exp_t model_unlock(model_t *m, int as, uint64_t addr, uint64_t len)
{
    model_exp_t e = lock_common(m, as, addr, len);
    if (e)
        return e;
    model_as_t *a = &m->as[as];
    for (uint64_t p = addr / m->ps; p < (addr + len) / m->ps; p++)
        a->pages[p].locked = false;
    return MX_OK;
}

model_exp_t model_flush(model_t *m, int as, uint64_t addr, uint64_t len)
{
    model_exp_t e = range_errors(m, as, addr, len);
    return e ? e : MX_OK;
}

bool model_touches(const model_t *m, int as, uint64_t addr, uint64_t len, int pager)
{
    if (len == 0)
        return false;
    uint64_t last = addr + len < addr ? UINT64_MAX : addr + len - 1;
    for (uint64_t p = addr / m->ps; p <= last / m->ps; p++) {
        const model_page_t *pg = model_page(m, as, p);
        if (pg == NULL)
            break;
        if (pg->obj == pager && model_page_live(m, pg))
            return true;
    }
    return false;
}

int model_reclaim(const model_t *m, size_t keep, bool pagers[MODEL_MAX_PAGERS], bool anon[MODEL_MAX_AS])
{
    int n = 0;
    for (unsigned i = 0; i < m->npagers; i++) {
        const model_pager_t *p = &m->pager[i];
        pagers[i] = p->has_cache && p->attached_once;
        for (unsigned as = 0; as < m->nas && pagers[i]; as++)
            for (uint64_t k = 0; k < m->as[as].limit_page && pagers[i]; k++) {
                const model_page_t *pg = &m->as[as].pages[k];
                if (pg->obj == (int)i && pg->gen == p->gen)
                    pagers[i] = false;
            }
        n += pagers[i];
    }
    for (unsigned as = 0; as < m->nas; as++) {
        anon[as] = m->as[as].anon_cache;
        for (uint64_t k = 0; k < m->as[as].limit_page && anon[as]; k++)
            if (m->as[as].pages[k].obj == MODEL_ANON)
                anon[as] = false;
        n += anon[as];
    }
    if ((size_t)n <= keep) {
        memset(pagers, 0, MODEL_MAX_PAGERS * sizeof *pagers);
        memset(anon, 0, MODEL_MAX_AS * sizeof *anon);
        return 0;
    }
    return n; /* keep is 0 */
}

void model_cache_gone(model_t *m, int pager)
{
    model_pager_t *p = &m->pager[pager];
    memset(p->pending, 0, p->len_pages);
    memset(p->held, 0, p->len_pages / p->bs_pages + 1);
    p->gen++;
    p->has_cache = false;
    p->attached_once = false;
    p->own = p->own_initial;
}

void model_held_lock(model_t *m, int as, uint64_t addr, uint64_t len)
{
    for (uint64_t p = addr / m->ps; p < (addr + len) / m->ps; p++) {
        const model_page_t *pg = model_page(m, as, p);
        if (pg != NULL && pg->obj >= 0 && model_page_live(m, pg))
            m->pager[pg->obj].held[pg->off / m->ps / m->pager[pg->obj].bs_pages] = 1;
    }
}

void model_held_clear(model_t *m, int pager, uint64_t off, uint64_t end)
{
    model_pager_t *p = &m->pager[pager];
    uint64_t bs = (uint64_t)p->bs_pages * m->ps, nb = p->len_pages / p->bs_pages + 1;
    for (uint64_t b = off / bs; b < nb && b * bs < end; b++)
        p->held[b] = 0;
}

void model_locked_blocks(const model_t *m, int pager, uint8_t *out)
{
    const model_pager_t *p = &m->pager[pager];
    memset(out, 0, p->len_pages / p->bs_pages + 1);
    for (unsigned as = 0; as < m->nas; as++)
        for (uint64_t k = 0; k < m->as[as].limit_page; k++) {
            const model_page_t *pg = &m->as[as].pages[k];
            if (pg->obj == pager && pg->locked && pg->gen == p->gen)
                out[pg->off / m->ps / p->bs_pages] = 1;
        }
}

void model_flush_apply(model_t *m, int as, uint64_t addr, uint64_t len)
{
    model_as_t *a = &m->as[as];
    for (uint64_t p = addr / m->ps; p < (addr + len) / m->ps; p++) {
        const model_page_t *pg = &a->pages[p];
        if (pg->obj >= 0 && model_page_live(m, pg))
            m->pager[pg->obj].pending[pg->off / m->ps] = 0;
    }
}

model_exp_t model_access(const model_t *m, int as, uint64_t addr, uint64_t len, unsigned access, uint64_t *prefix)
{
    *prefix = 0;
    if (len == 0)
        return MX_OK;
    if (addr + len < addr)
        return MX(SPRING_ENOTMAPPED); /* it covers the top page, which is never mapped */
    uint64_t first = addr / m->ps, last = (addr + len - 1) / m->ps;
    model_exp_t starve = model_starved(m, as, addr, len) ? MX(SPRING_ENOFRAMES) : 0;
    for (uint64_t p = first; p <= last; p++) {
        const model_page_t *pg = model_page(m, as, p);
        model_exp_t e = 0;
        if (pg == NULL || pg->obj == MODEL_UNMAPPED)
            e = MX(SPRING_ENOTMAPPED);
        else if ((pg->prot & access) != access)
            e = MX(SPRING_EACCES);
        else if (!model_page_live(m, pg))
            e = MX(SPRING_EDESTROYED);
        if (e) {
            *prefix = p == first ? 0 : p * m->ps - addr;
            return e | starve;
        }
    }
    *prefix = len;
    return MX_OK | starve;
}

void model_write_apply(model_t *m, int as, uint64_t addr, const uint8_t *buf, uint64_t len)
{
    uint64_t done = 0;
    while (done < len) {
        uint64_t a = addr + done;
        uint64_t n = m->ps - a % m->ps;
        if (n > len - done)
            n = len - done;
        const model_page_t *pg = model_page(m, as, a / m->ps);
        uint8_t *dst = model_byte(m, as, a);
        if (dst == NULL)
            abort();
        model_vset_t *v = pg->obj >= 0 ? &m->pager[pg->obj].opv[pg->off / m->ps] : NULL;
        if (v != NULL && m->journal && v->n == 0 && !v->any)
            vset_add(m, v, truth_digest(m, pg->obj, pg->off / m->ps)); /* before the operation */
        memcpy(dst, buf + done, n);
        if (v != NULL && m->journal)
            vset_add(m, v, truth_digest(m, pg->obj, pg->off / m->ps));
        if (pg->obj >= 0)
            m->pager[pg->obj].pending[pg->off / m->ps] = 1;
        done += n;
    }
}

void model_obj_write(model_t *m, int pager, uint64_t off, const uint8_t *buf, uint64_t n)
{
    model_pager_t *p = &m->pager[pager];
    uint64_t page = off / m->ps;
    if (page >= p->len_pages || off % m->ps + n > m->ps)
        abort();
    model_vset_t *v = &p->opv[page];
    if (m->journal && v->n == 0 && !v->any)
        vset_add(m, v, truth_digest(m, pager, page));
    memcpy(p->truth + off, buf, n);
    if (m->journal)
        vset_add(m, v, truth_digest(m, pager, page));
    p->pending[page] = 1;
}

void model_read(model_t *m, int as, uint64_t addr, uint8_t *buf, uint64_t len)
{
    uint64_t done = 0;
    while (done < len) {
        uint64_t a = addr + done;
        uint64_t n = m->ps - a % m->ps;
        if (n > len - done)
            n = len - done;
        const uint8_t *src = model_byte(m, as, a);
        if (src == NULL)
            abort();
        memcpy(buf + done, src, n);
        done += n;
    }
}

/* ------------------------------------------------------------------ */
/* Pager-side calls.                                                    */

static model_exp_t handle_errors(const model_t *m, int pager, enum model_handle h)
{
    if (h == MH_CURRENT && m->pager[pager].has_cache)
        return 0;
    return MX(SPRING_EBADHANDLE);
}

static model_exp_t own_errors(enum model_own own)
{
    return own == MO_BOGUS ? MX(SPRING_EINVAL) : 0;
}

static model_exp_t cache_range_errors(const model_t *m, int pager, uint64_t off, uint64_t size, uint64_t *end)
{
    uint64_t bs = (uint64_t)m->pager[pager].bs_pages * m->ps;
    model_exp_t e = 0;
    if (off % bs)
        e |= MX(SPRING_EALIGN);
    if (size == SPRING_SIZE_ALL) {
        *end = ~(bs - 1);
        return e;
    }
    if (size % bs)
        e |= MX(SPRING_EALIGN);
    if (off + size < off)
        e |= MX(SPRING_ERANGE);
    *end = off + size;
    return e;
}

model_exp_t model_take(model_t *m, int pager, enum model_handle h, uint64_t off, uint64_t size, enum model_own own,
                       enum model_take op, uint64_t *end)
{
    model_exp_t e = own_errors(own) | handle_errors(m, pager, h) | cache_range_errors(m, pager, off, size, end);
    (void)op; /* the test pager's caches have write rights: zero_fill never gets SPRING_ERIGHTS */
    return e ? e : MX_OK;
}

spring_ownership_t model_own_apply(model_t *m, int pager, enum model_own own)
{
    model_pager_t *p = &m->pager[pager];
    if (own == MO_EXCLUSIVE)
        p->own = SPRING_OWN_EXCLUSIVE;
    else if (own == MO_SHARED)
        p->own = SPRING_OWN_SHARED;
    return p->own;
}

/* Pages of the object in [off, end). */
static void page_span(const model_t *m, int pager, uint64_t off, uint64_t end, uint64_t *p0, uint64_t *p1)
{
    uint64_t len = m->pager[pager].len_pages;
    *p0 = off / m->ps;
    *p1 = end / m->ps + (end % m->ps != 0);
    if (*p0 > len)
        *p0 = len;
    if (*p1 > len)
        *p1 = len;
}

void model_take_done(model_t *m, int pager, uint64_t off, uint64_t end)
{
    uint64_t p0, p1;
    page_span(m, pager, off, end, &p0, &p1);
    for (uint64_t p = p0; p < p1; p++)
        m->pager[pager].pending[p] = 0;
    model_store_is_truth(m, pager, p0, p1);
}

uint64_t model_reload(model_t *m, int pager, uint64_t off, uint64_t end, const uint8_t *store)
{
    uint64_t p0, p1;
    page_span(m, pager, off, end, &p0, &p1);
    model_pager_t *p = &m->pager[pager];
    /* The store holds what the library last sent for each page (or what
     * the test put there): never anything else.  Only then is it the
     * truth. */
    for (uint64_t i = p0; i < p1; i++)
        if (!model_store_may_hold(m, pager, i, store + i * m->ps))
            return i;
    if (p1 > p0)
        memcpy(p->truth + p0 * m->ps, store + p0 * m->ps, (p1 - p0) * m->ps);
    for (uint64_t i = p0; i < p1; i++)
        p->pending[i] = 0;
    model_store_is_truth(m, pager, p0, p1);
    return UINT64_MAX;
}

void model_zero_apply(model_t *m, int pager, uint64_t off, uint64_t end)
{
    uint64_t p0, p1;
    page_span(m, pager, off, end, &p0, &p1);
    model_pager_t *p = &m->pager[pager];
    if (p1 > p0)
        memset(p->truth + p0 * m->ps, 0, (p1 - p0) * m->ps);
    for (uint64_t i = p0; i < p1; i++)
        p->pending[i] = 0;
    model_store_is_truth(m, pager, p0, p1); /* the pager zeroes its store as it tells the cache */
}

model_exp_t model_populate(model_t *m, int pager, enum model_handle h, uint64_t off, uint64_t size, unsigned access,
                           enum model_own own, bool data_null, bool covers)
{
    model_exp_t e = 0;
    if (access != R_R && access != (R_R | R_W))
        e |= MX(SPRING_EINVAL);
    e |= own_errors(own);
    if (size == SPRING_SIZE_ALL || data_null)
        e |= MX(SPRING_EINVAL);
    e |= handle_errors(m, pager, h);
    if (size != SPRING_SIZE_ALL) {
        uint64_t end;
        e |= cache_range_errors(m, pager, off, size, &end);
    }
    if (!covers)
        e |= MX(SPRING_EINVAL);
    return e ? e : MX_OK;
}

void model_populate_apply(model_t *m, int pager, uint64_t off, uint64_t size, const uint8_t *bytes)
{
    uint64_t p0, p1;
    page_span(m, pager, off, off + size, &p0, &p1);
    model_pager_t *p = &m->pager[pager];
    for (uint64_t i = p0; i < p1; i++) {
        memcpy(p->truth + i * m->ps, bytes + (i * m->ps - off), m->ps);
        p->pending[i] = 0;
    }
    model_store_is_truth(m, pager, p0, p1); /* the pager writes the same data to its store */
}

model_exp_t model_destroy(model_t *m, int pager, enum model_handle h)
{
    model_exp_t e = handle_errors(m, pager, h);
    return e ? e : MX_OK;
}

uint64_t model_destroy_apply(model_t *m, int pager, const uint8_t *store)
{
    model_pager_t *p = &m->pager[pager];
    uint64_t bad = model_reload(m, pager, 0, p->len_pages * m->ps, store);
    if (bad == UINT64_MAX)
        model_cache_gone(m, pager);
    return bad;
}
