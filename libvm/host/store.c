/*
 * store.c - a pager made easy (include/spring/store.h): the memory-object
 * and pager-object side of a pager whose store supplies only its data
 * operations (read, write, get_length, and optional vectored, length and
 * durability operations), the way umap's Store does.
 *
 * Built from the public headers only, like the in-tree anonymous pager: a
 * pager needs nothing else.
 *
 * Objects.  A spring_store (the helper's state for one store) has views
 * (memory objects with a maximum right) and, at each VMM a view was bound
 * at, one cache whose pager object is a store_entry.  Bind, final_bind and
 * done_with_pager_object keep the list of entries: one per VMM name.
 *
 * Data the helper takes back itself.  spring_store_sync (write_back),
 * set_length (flush_back of the block holding the boundary) and teardown
 * (flush_back of everything) receive modified data from a cache, which
 * then counts it as clean: from that moment the helper is the only holder
 * of the data until it is in the store.  Three things follow.
 *   1. The data goes into `held` (4096-byte units: the smallest page
 *      size, so VMMs of different page sizes share the table), and page_in
 *      lays held units over what it read, so a block the VMM drops before
 *      the data is written is not read back stale.  held units are written
 *      to the store (held_write) with `io` exclusive; a unit whose write
 *      fails stays held, and the next spring_store_sync writes it.
 *   2. Between the moment the cache marks the data clean and the moment
 *      it is held, the VMM may drop a clean block (or flush_back removed
 *      it) and a fault may page it in again from the store: stale.  So a
 *      take puts up a fence over its range of its cache before the cache
 *      call, and lifts it when the data is held; a page_in (not an
 *      upgrade) in a fenced range waits for that.  A page_in that began
 *      before the fence is no danger: its block is in transit, and the
 *      cache call skips it.  The wait adds no deadlock to the core's rule
 *      for write pins (cache.h): the cache call waits for write pins on the
 *      blocks it takes, so a thread holding one must not access pages the
 *      pager may be taking back at the same time anyway.  page_out is
 *      never fenced (eviction calls it from any thread).
 *   3. A page_out of the same page that started after the take (so its
 *      data is newer: the take held the block in transit, and a later
 *      page_out needs the block modified again) may reach the store before
 *      the take's data is held.  Each call gets an epoch; while a take is
 *      in progress, page_out/sync/write_out note the epoch with which they
 *      wrote each page (`seen`), and the take does not hold a page that a
 *      newer write of the same cache reached.  A successful write of a
 *      page removes older held units of it (the store is newer).
 *
 * Locks (pager-side: the VMM holds none of its locks while it calls the
 * helper, and the helper is not in the VMM's lock table).
 *   st->lock [l]   a mutex: the entries, counts, held and seen tables, the
 *                  fences (page_in waits on st->fence_cv).  Held
 *                  across VMM calls that never call a pager back (registry
 *                  look-up, get_vm_info, cache creation, bind_cache,
 *                  cache-rights calls); never across a store method, nor
 *                  across spring_cache_* calls that take data or destroy.
 *   st->io [io]    a rwlock: shared across one transfer (get_length and the
 *                  reads or writes of one pager call); exclusive across a
 *                  length change and across held_write, so that neither
 *                  runs while a transfer uses the length it read.  Never
 *                  held across a VMM call.  Taken before st->lock.
 *   st->len_lock   serializes spring_store_set_length calls; held across
 *                  the cache calls of one (which never call a pager back).
 *                  Taken before st->io.
 * Order: len_lock, io, lock.  --enable-debug (SPRING_DEBUG) checks the
 * preconditions stated as "=>" below.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/tree.h>

#include <spring/spring.h>

#include "storecall.h"

/* libbsd's tree.h marks static generated functions with __unused. */
#ifndef __unused
#define __unused __attribute__((unused))
#endif

/* The unit of held data: the smallest page size a VMM may have. */
#define UNIT 4096u

/* The test build's hook (testhooks.h): fn runs at two points, with no
 * lock held: where 1 just before bind returns (with the cache-rights it
 * returns), where 2 in a take, after the cache returned the data and
 * before it is held (rights NULL).  HOOK(st, where, rights) calls it. */
#ifdef SPRING_TEST_HOOKS
#include "../testing/testhooks.h"
#define HOOK(st, where, rights)                           \
    do {                                                  \
        if ((st)->hook != NULL)                           \
            (st)->hook((st)->hook_arg, (where), (rights)); \
    } while (0)
#else
#define HOOK(st, where, rights) ((void)0)
#endif

/* ------------------------------------------------------------------ */
/* Debug checks of the lock preconditions.                              */

#ifdef SPRING_DEBUG
static _Thread_local const spring_store_t *lock_owner; /* the store whose lock this thread holds */
static _Thread_local unsigned io_depth;                /* st->io holds of this thread */
#define ST_ASSERT(cond, what)                                                                   \
    do {                                                                                        \
        if (!(cond)) {                                                                          \
            fprintf(stderr, "springvm: store helper: precondition failed: %s (%s:%d)\n", what,  \
                    __FILE__, __LINE__);                                                        \
            abort();                                                                            \
        }                                                                                       \
    } while (0)
#define NOTE_LOCK(st) (lock_owner = (st))
#define NOTE_UNLOCK(st) (lock_owner = NULL)
#define NOTE_IO(d) (io_depth += (d))
#define ASSERT_HELD(st) ST_ASSERT(lock_owner == (st), "caller holds st->lock")
#define ASSERT_NO_LOCK() ST_ASSERT(lock_owner == NULL, "no store lock held")
#define ASSERT_NO_IO() ST_ASSERT(io_depth == 0, "st->io not held")
#define ASSERT_IO() ST_ASSERT(io_depth > 0, "st->io held")
#else
#define NOTE_LOCK(st) ((void)0)
#define NOTE_UNLOCK(st) ((void)0)
#define NOTE_IO(d) ((void)0)
#define ASSERT_HELD(st) ((void)0)
#define ASSERT_NO_LOCK() ((void)0)
#define ASSERT_NO_IO() ((void)0)
#define ASSERT_IO() ((void)0)
#endif

/* ------------------------------------------------------------------ */
/* Structures.                                                          */

/* Data taken back in one call: the list the cache produced, and the held
 * units pointing into it.  Freed when no unit and no held_write snapshot
 * uses it. */
struct batch {
    spring_data_t *d; /* [c] produced by the cache */
    size_t refs;      /* [l] units in the held tree + snapshot pins */
};

/* One held unit: UNIT bytes at off, of which the first `valid` come from
 * `bytes` (NULL: zero) and the rest are zero. */
struct held {
    RB_ENTRY(held) node;  /* [l] */
    spring_off_t off;     /* [c] a multiple of UNIT */
    const uint8_t *bytes; /* [c] */
    size_t valid;         /* [l] (set_length lowers it, with io exclusive) */
    uint64_t epoch;       /* [c] the take's epoch */
    uint64_t gen;         /* [c] unique: held_write removes only what it wrote */
    struct batch *batch;  /* [c] */
};
RB_HEAD(held_tree, held);

static int held_cmp(const struct held *a, const struct held *b)
{
    return a->off < b->off ? -1 : a->off > b->off;
}
RB_GENERATE_STATIC(held_tree, held, node, held_cmp)

/* The epoch of the latest write of one page of one cache by the VMM's
 * page_out, sync or write_out, while takes are in progress. */
struct seen {
    RB_ENTRY(seen) node;
    uint64_t id;      /* the entry (cache) */
    spring_off_t off; /* the page (the cache's page size) */
    uint64_t out;     /* the epoch */
};
RB_HEAD(seen_tree, seen);

static int seen_cmp(const struct seen *a, const struct seen *b)
{
    if (a->id != b->id)
        return a->id < b->id ? -1 : 1;
    return a->off < b->off ? -1 : a->off > b->off;
}
RB_GENERATE_STATIC(seen_tree, seen, node, seen_cmp)

/* A range of one cache a take is collecting: page-ins there wait. */
struct fence {
    uint64_t id;             /* the entry (cache) */
    spring_off_t off, end;   /* [off, end) */
    struct fence *next;
};

/* One VMM's cache of the store, and its pager object. */
struct store_entry {
    spring_store_t *st;               /* [c] holds a reference (refs) */
    struct store_entry *next;         /* [l] in st->entries */
    bool linked;                      /* [l] in st->entries (the current cache of its VMM) */
    uint64_t id;                      /* [c] unique in the store */
    char *vmm_name;                   /* [c] */
    spring_vmm_obj_t vobj;            /* [c] */
    size_t page_size;                 /* [c] the VMM's */
    spring_off_t block_size;          /* [c] the cache's */
    spring_cache_obj_t cache;         /* [l] once created */
    spring_cache_rights_t rights[8];  /* [l] by rights value: [RWX] from creation, the others made on demand */
};

/* A view: a memory object of the store with a maximum right. */
struct store_view {
    spring_store_t *st;  /* [c] holds a reference (users and refs) */
    spring_rights_t max; /* [c] */
};

struct spring_store {
    struct store_call call;        /* [c] the store, called only through storecall.h */
    spring_registry_t *reg;        /* [c] */
    char *credential;              /* [c] a copy, or NULL */
    spring_pager_info_t info;      /* [c] */
    pthread_mutex_t lock;
    pthread_rwlock_t io;
    pthread_mutex_t len_lock;
    unsigned users;                /* [l] the creator's references and the views */
    unsigned refs;                 /* [l] users, plus one per live cache (entry) */
    struct store_entry *entries;   /* [l] the current cache of each VMM */
    uint64_t next_id;              /* [l] */
    uint64_t epoch;                /* [l] */
    uint64_t gen;                  /* [l] */
    unsigned takes;                /* [l] takes in progress */
    struct held_tree held;         /* [l] */
    struct seen_tree seen;         /* [l] kept while takes > 0 */
    struct fence *fences;          /* [l] takes collecting data */
    pthread_cond_t fence_cv;       /* a fence was lifted (with st->lock) */
#ifdef SPRING_TEST_HOOKS
    void (*hook)(void *, int, spring_cache_rights_t *); /* [c] the test build's hook */
    void *hook_arg;                                     /* [c] */
#endif
};

static void st_lock(spring_store_t *st)
{
    pthread_mutex_lock(&st->lock);
    NOTE_LOCK(st);
}

static void st_unlock(spring_store_t *st)
{
    NOTE_UNLOCK(st);
    pthread_mutex_unlock(&st->lock);
}

static void io_shared(spring_store_t *st)
{
    ASSERT_NO_LOCK();
    pthread_rwlock_rdlock(&st->io);
    NOTE_IO(1);
}

static void io_exclusive(spring_store_t *st)
{
    ASSERT_NO_LOCK();
    pthread_rwlock_wrlock(&st->io);
    NOTE_IO(1);
}

static void io_done(spring_store_t *st)
{
    NOTE_IO(-1);
    pthread_rwlock_unlock(&st->io);
}

static int store_length(spring_store_t *st, spring_off_t *len)
{
    ASSERT_NO_LOCK();
    *len = 0;
    return sc_get_length(&st->call, len);
}

static spring_off_t min_off(spring_off_t a, spring_off_t b)
{
    return a < b ? a : b;
}

/* ------------------------------------------------------------------ */
/* References.                                                          */

/* Drop a reference (refs).  At the last one the store is released. */
static void store_unref(spring_store_t *st)
{
    st_lock(st);
    bool last = --st->refs == 0;
    st_unlock(st);
    if (!last)
        return;
    /* Nothing can reach the store any more: no view, no cache. */
    struct held *h, *hn;
    RB_FOREACH_SAFE(h, held_tree, &st->held, hn) {
        RB_REMOVE(held_tree, &st->held, h);
        if (--h->batch->refs == 0) {
            spring_data_free(h->batch->d);
            free(h->batch);
        }
    }
    sc_release(&st->call);
    pthread_mutex_destroy(&st->lock);
    pthread_cond_destroy(&st->fence_cv);
    pthread_rwlock_destroy(&st->io);
    pthread_mutex_destroy(&st->len_lock);
    free(st->credential);
    free(st);
}

static void teardown(spring_store_t *st);

/* Drop a reference that can make mappings (users).  At the last one the
 * caches go (teardown), then the reference itself.  => no lock held. */
static void user_unref(spring_store_t *st)
{
    ASSERT_NO_LOCK();
    ASSERT_NO_IO();
    st_lock(st);
    bool last = --st->users == 0;
    st_unlock(st);
    if (last)
        teardown(st);
    store_unref(st);
}

/* ------------------------------------------------------------------ */
/* Held data and epochs.  All => st->lock held.                         */

static void batch_unpin(spring_store_t *st, struct batch *b)
{
    ASSERT_HELD(st);
    if (--b->refs == 0) {
        spring_data_free(b->d);
        free(b);
    }
}

static void held_remove(spring_store_t *st, struct held *h)
{
    ASSERT_HELD(st);
    RB_REMOVE(held_tree, &st->held, h);
    batch_unpin(st, h->batch);
}

/* Remove the held units of [off, off+len) older than epoch (0: all). */
static void held_drop(spring_store_t *st, spring_off_t off, spring_off_t len, uint64_t epoch)
{
    ASSERT_HELD(st);
    struct held key = {.off = off}, *h, *n;
    for (h = RB_NFIND(held_tree, &st->held, &key); h != NULL && h->off < off + len; h = n) {
        n = RB_NEXT(held_tree, &st->held, h);
        if (epoch == 0 || h->epoch < epoch)
            held_remove(st, h);
    }
}

/* Remove every held unit at or past off. */
static void held_drop_from(spring_store_t *st, spring_off_t off)
{
    ASSERT_HELD(st);
    struct held key = {.off = off}, *h, *n;
    for (h = RB_NFIND(held_tree, &st->held, &key); h != NULL; h = n) {
        n = RB_NEXT(held_tree, &st->held, h);
        held_remove(st, h);
    }
}

/* Hold h (filled in), replacing an older unit at its offset. */
static void held_put(spring_store_t *st, struct held *h)
{
    ASSERT_HELD(st);
    struct held *old = RB_FIND(held_tree, &st->held, h);
    if (old != NULL)
        held_remove(st, old);
    h->gen = ++st->gen;
    RB_INSERT(held_tree, &st->held, h);
    h->batch->refs++;
}

static struct seen *seen_find(spring_store_t *st, uint64_t id, spring_off_t off)
{
    ASSERT_HELD(st);
    struct seen key = {.id = id, .off = off};
    return RB_FIND(seen_tree, &st->seen, &key);
}

/* Note a write of page off of cache id with an epoch, while a take is in
 * progress.  SPRING_ENOMEM if it could not be noted. */
static int seen_note(spring_store_t *st, uint64_t id, spring_off_t off, uint64_t epoch)
{
    ASSERT_HELD(st);
    if (st->takes == 0)
        return 0;
    struct seen *s = seen_find(st, id, off);
    if (s == NULL) {
        if ((s = calloc(1, sizeof *s)) == NULL)
            return SPRING_ENOMEM;
        s->id = id;
        s->off = off;
        RB_INSERT(seen_tree, &st->seen, s);
    }
    if (epoch > s->out)
        s->out = epoch;
    return 0;
}

/* Whether a take is collecting part of [off, end) of cache id. */
static bool fenced(spring_store_t *st, uint64_t id, spring_off_t off, spring_off_t end)
{
    ASSERT_HELD(st);
    for (const struct fence *f = st->fences; f != NULL; f = f->next)
        if (f->id == id && f->off < end && off < f->end)
            return true;
    return false;
}

static void fence_lift(spring_store_t *st, struct fence *fc)
{
    ASSERT_HELD(st);
    struct fence **pp = &st->fences;
    while (*pp != fc)
        pp = &(*pp)->next;
    *pp = fc->next;
    pthread_cond_broadcast(&st->fence_cv);
}

static void seen_clear(spring_store_t *st)
{
    ASSERT_HELD(st);
    struct seen *s, *n;
    RB_FOREACH_SAFE(s, seen_tree, &st->seen, n) {
        RB_REMOVE(seen_tree, &st->seen, s);
        free(s);
    }
}

/* ------------------------------------------------------------------ */
/* Writing pages to the store.                                          */

/* A page to write: `size` bytes at off, bytes[0, valid) then zeros. */
struct pg {
    spring_off_t off;
    const uint8_t *bytes; /* NULL: all zero */
    size_t valid;
};

static bool pg_whole(const struct pg *p, size_t size, spring_off_t len)
{
    return p->off + size <= len && (p->bytes == NULL || p->valid == size);
}

/* Write pages p[0, n) (increasing offsets, multiples of size) to the store
 * whose length is len: only bytes before len are written, pages at or past
 * it are skipped.  *done: how many leading pages are done (written or
 * skipped).  => st->io held. */
static int put_pages(spring_store_t *st, const struct pg *p, size_t n, size_t size, spring_off_t len, size_t *done)
{
    ASSERT_IO();
    ASSERT_NO_LOCK();
    const void **vec = NULL;
    int rc = 0;
    size_t i = 0;
    if (sc_has(&st->call, SO_WRITE_PAGES) && n > 0 && (vec = malloc(n * sizeof *vec)) == NULL) {
        *done = 0;
        return SPRING_ENOMEM;
    }
    while (i < n) {
        const struct pg *q = &p[i];
        if (q->off >= len) {
            i++; /* past the end: the store does not grow by writing */
            continue;
        }
        if (vec != NULL && pg_whole(q, size, len)) {
            size_t j = i;
            while (j < n && pg_whole(&p[j], size, len) && (j == i || p[j].off == p[j - 1].off + size)) {
                vec[j - i] = p[j].bytes;
                j++;
            }
            if ((rc = sc_write_pages(&st->call, q->off, vec, j - i, size)) != 0)
                break;
            i = j;
            continue;
        }
        size_t limit = (size_t)min_off(size, len - q->off);
        size_t v = q->bytes != NULL ? (q->valid < limit ? q->valid : limit) : 0;
        if (v > 0 && (rc = sc_write(&st->call, q->off, q->bytes, v)) != 0)
            break;
        if (limit > v && (rc = sc_write(&st->call, q->off + v, NULL, limit - v)) != 0)
            break;
        i++;
    }
    free(vec);
    *done = i;
    return rc;
}

/* Write every held unit to the store; a unit written (or past the end) is
 * no longer held, a failed one stays.  => no lock held. */
static int held_write(spring_store_t *st)
{
    ASSERT_NO_LOCK();
    io_exclusive(st);
    st_lock(st);
    size_t n = 0;
    struct held *h;
    RB_FOREACH(h, held_tree, &st->held)
        n++;
    if (n == 0) {
        st_unlock(st);
        io_done(st);
        return 0;
    }
    struct pg *p = malloc(n * sizeof *p);
    struct held **snap = malloc(n * sizeof *snap);
    uint64_t *gens = malloc(n * sizeof *gens);
    if (p == NULL || snap == NULL || gens == NULL) {
        st_unlock(st);
        io_done(st);
        free(p);
        free(snap);
        free(gens);
        return SPRING_ENOMEM;
    }
    size_t i = 0;
    RB_FOREACH(h, held_tree, &st->held) {
        p[i] = (struct pg){h->off, h->bytes, h->valid};
        snap[i] = h;
        gens[i] = h->gen;
        h->batch->refs++; /* pinned: a take may replace the unit while it is written */
        i++;
    }
    st_unlock(st);
    spring_off_t len;
    size_t done = 0;
    int rc = store_length(st, &len);
    if (rc == 0)
        rc = put_pages(st, p, n, UNIT, len, &done);
    st_lock(st);
    for (i = 0; i < n; i++) {
        struct batch *b = snap[i]->batch;
        if (i < done) {
            struct held key = {.off = p[i].off}, *cur = RB_FIND(held_tree, &st->held, &key);
            if (cur != NULL && cur->gen == gens[i])
                held_remove(st, cur);
        }
        batch_unpin(st, b); /* after the unit's last use */
    }
    st_unlock(st);
    io_done(st);
    free(p);
    free(snap);
    free(gens);
    return rc;
}

/* ------------------------------------------------------------------ */
/* The pager object (pager.h, spring_pager_ops_t).                      */

static int p_page_in(void *self, spring_off_t offset, spring_off_t size, spring_rights_t access,
                     spring_ownership_t *own, spring_page_buf_t *dst)
{
    struct store_entry *e = self;
    spring_store_t *st = e->st;
    size_t ps = dst->page_size;
    spring_off_t len;
    if (!dst->upgrade) {
        /* Data a take is collecting is not in the store yet. */
        st_lock(st);
        while (fenced(st, e->id, offset, offset + size))
            pthread_cond_wait(&st->fence_cv, &st->lock);
        st_unlock(st);
    }
    io_shared(st);
    int rc = store_length(st, &len);
    if (rc == 0 && offset >= len)
        rc = SPRING_ERANGE; /* wholly past the end */
    if (rc != 0 || dst->upgrade)
        goto out; /* an upgrade: the cached data is current, send nothing */
    size_t whole = (size_t)min_off(dst->npages, (len - offset) / ps);
    if (whole > 0) {
        if (sc_has(&st->call, SO_READ_PAGES))
            rc = sc_read_pages(&st->call, offset, dst->pages, whole, ps);
        else
            for (size_t i = 0; i < whole && rc == 0; i++)
                rc = sc_read(&st->call, offset + (spring_off_t)i * ps, dst->pages[i], ps);
    }
    size_t i = whole;
    if (rc == 0 && i < dst->npages && offset + (spring_off_t)i * ps < len) {
        /* The page the end cuts: its tail reads zero. */
        size_t tail = (size_t)(len - (offset + (spring_off_t)i * ps));
        rc = sc_read(&st->call, offset + (spring_off_t)i * ps, dst->pages[i], tail);
        memset((uint8_t *)dst->pages[i] + tail, 0, ps - tail);
        i++;
    }
    for (; rc == 0 && i < dst->npages; i++)
        dst->zero[i] = 1; /* wholly past the end, in a block the end cuts */
    if (rc != 0)
        goto out;
    /* Lay the held data over what the store had. */
    st_lock(st);
    struct held key = {.off = offset}, *h;
    for (h = RB_NFIND(held_tree, &st->held, &key); h != NULL && h->off < offset + size;
         h = RB_NEXT(held_tree, &st->held, h)) {
        size_t pi = (size_t)((h->off - offset) / ps), at = (size_t)((h->off - offset) % ps);
        if (dst->zero[pi] || h->off >= len)
            continue;
        size_t lim = (size_t)min_off(UNIT, len - h->off), v = h->bytes ? (h->valid < lim ? h->valid : lim) : 0;
        uint8_t *to = (uint8_t *)dst->pages[pi] + at;
        if (v > 0)
            memcpy(to, h->bytes, v);
        memset(to + v, 0, UNIT - v);
    }
    st_unlock(st);
out:
    io_done(st);
    return rc;
}

/* Start a call that puts data in the store (io_done ends it): its epoch,
 * newer than every held unit, so that the call can drop what it replaces. */
static uint64_t io_begin_write(spring_store_t *st)
{
    io_shared(st);
    st_lock(st);
    uint64_t epoch = ++st->epoch;
    st_unlock(st);
    return epoch;
}

/* page_out, write_out and sync: write the pages to the store (the VMM
 * drops or keeps them as the call says). */
static int p_push(void *self, spring_off_t offset, spring_off_t size, spring_ownership_t *own,
                  const spring_data_t *data)
{
    struct store_entry *e = self;
    spring_store_t *st = e->st;
    size_t ps = e->page_size, n = 0;
    for (size_t k = 0; data != NULL && k < data->nblocks; k++)
        n += (size_t)(data->blocks[k].length / ps);
    if (n == 0)
        return 0;
    struct pg *p = malloc(n * sizeof *p);
    if (p == NULL)
        return SPRING_ENOMEM; /* the VMM keeps the blocks modified */
    size_t i = 0;
    for (size_t k = 0; k < data->nblocks; k++) {
        const spring_data_block_t *b = &data->blocks[k];
        for (spring_off_t at = 0; at + ps <= b->length; at += ps, i++)
            p[i] = (struct pg){b->offset + at, b->bytes ? (const uint8_t *)b->bytes + at : NULL, ps};
    }
    uint64_t epoch = io_begin_write(st);
    spring_off_t len;
    size_t done = 0;
    int rc = store_length(st, &len);
    if (rc == 0)
        rc = put_pages(st, p, n, ps, len, &done);
    st_lock(st);
    for (i = 0; i < done; i++) {
        held_drop(st, p[i].off, ps, epoch); /* the store has newer data now */
        int nrc = seen_note(st, e->id, p[i].off, epoch);
        if (rc == 0)
            rc = nrc; /* not noted: fail, so that the VMM sends the data again */
    }
    st_unlock(st);
    io_done(st);
    free(p);
    return rc;
}

/* zero_fill_range (anonymous memory only: allocation and unmap): the range
 * reads zero from now on.  A store with discard frees its space; data the
 * helper holds there is dropped either way (the VMM zero-fills the range). */
static int p_zero_fill_range(void *self, spring_off_t offset, spring_off_t size, spring_ownership_t *own)
{
    (void)own;
    struct store_entry *e = self;
    spring_store_t *st = e->st;
    uint64_t epoch = io_begin_write(st);
    spring_off_t len;
    int rc = 0;
    if (sc_has(&st->call, SO_DISCARD) && (rc = store_length(st, &len)) == 0 && offset < len)
        rc = sc_discard(&st->call, offset, min_off(size, len - offset));
    if (rc == 0) {
        st_lock(st);
        held_drop(st, offset, size, epoch);
        st_unlock(st);
    }
    io_done(st);
    return rc;
}

static void entry_unlink(spring_store_t *st, struct store_entry *e);

static void p_done_with_pager_object(void *self)
{
    struct store_entry *e = self;
    spring_store_t *st = e->st;
    st_lock(st);
    if (e->linked)
        entry_unlink(st, e);
    st_unlock(st);
    free(e->vmm_name);
    free(e);
    store_unref(st); /* the cache's reference */
}

static const spring_pager_ops_t store_pager_ops = {
    .version = SPRING_PAGER_OPS_VERSION,
    .page_in = p_page_in,
    .page_out = p_push,
    .write_out = p_push, /* sync is present, so the VMM uses sync; kept for completeness */
    .sync = p_push,
    .zero_fill_range = p_zero_fill_range, /* only anonymous memory gets it */
    .done_with_cache = NULL,  /* caches are made without signal_last_ref */
    .done_with_pager_object = p_done_with_pager_object,
};

/* ------------------------------------------------------------------ */
/* Entries (one cache per VMM).                                         */

static struct store_entry *entry_find(spring_store_t *st, const char *vmm_name)
{
    ASSERT_HELD(st);
    for (struct store_entry *e = st->entries; e != NULL; e = e->next)
        if (strcmp(e->vmm_name, vmm_name) == 0)
            return e;
    return NULL;
}

static void entry_unlink(spring_store_t *st, struct store_entry *e)
{
    ASSERT_HELD(st);
    struct store_entry **pp = &st->entries;
    while (*pp != e)
        pp = &(*pp)->next;
    *pp = e->next;
    e->linked = false;
}

/* Make the cache of the VMM named vmm_name; with key, bound to that
 * pending final_bind (len bytes at cache offset off, bind_rights).
 * => st->lock held (every call here never calls a pager back). */
static int entry_make(spring_store_t *st, const char *vmm_name, const spring_bind_key_t *key, spring_off_t off,
                      spring_off_t len, spring_rights_t bind_rights, struct store_entry **out)
{
    ASSERT_HELD(st);
    spring_vmm_obj_t vobj;
    spring_vm_info_t vi = {.size = sizeof vi};
    int rc = spring_registry_lookup(st->reg, vmm_name, st->credential, &vobj);
    if (rc == 0)
        rc = spring_vmm_get_vm_info(vobj, &vi);
    if (rc != 0)
        return rc;
    struct store_entry *e = calloc(1, sizeof *e);
    if (e == NULL || (e->vmm_name = strdup(vmm_name)) == NULL) {
        free(e);
        return SPRING_ENOMEM;
    }
    e->st = st;
    e->id = ++st->next_id;
    e->vobj = vobj;
    e->page_size = vi.page_size;
    e->block_size = st->info.block_size ? st->info.block_size : vi.page_size;
    spring_cache_rights_t r;
    if (key == NULL)
        rc = spring_vmm_create_cache_object(vobj, &store_pager_ops, e, false, &st->info, SPRING_OWN_EXCLUSIVE,
                                            SPRING_RIGHTS_RWX, &e->cache, &r);
    else
        rc = spring_vmm_create_cache_object_and_bind(vobj, *key, len, off, bind_rights, &store_pager_ops, e, false,
                                                     &st->info, SPRING_OWN_EXCLUSIVE, SPRING_RIGHTS_RWX, &e->cache,
                                                     &r);
    if (rc != 0) {
        free(e->vmm_name); /* the pager object is not consumed on failure */
        free(e);
        return rc;
    }
    e->rights[SPRING_RIGHTS_RWX] = r;
    e->linked = true;
    e->next = st->entries;
    st->entries = e;
    st->refs++; /* dropped by done_with_pager_object */
    *out = e;
    return 0;
}

/* The cache-rights for a view with rights max: made once per cache and
 * handed to every bind (the VMM borrows it).  => st->lock held. */
static int entry_rights(struct store_entry *e, spring_rights_t max, spring_cache_rights_t *out)
{
    ASSERT_HELD(e->st);
    if (e->rights[max].h == 0) {
        int rc = spring_cache_rights_create_restricted_sibling(e->rights[SPRING_RIGHTS_RWX], max, &e->rights[max]);
        if (rc != 0)
            return rc;
    }
    *out = e->rights[max];
    return 0;
}

/* Whether the entry's cache still exists.  => st->lock held. */
static bool entry_alive(struct store_entry *e)
{
    ASSERT_HELD(e->st);
    spring_rights_t r;
    return spring_cache_rights_get(e->rights[SPRING_RIGHTS_RWX], &r) == 0;
}

/* What a caller needs of an entry once st->lock is dropped (the entry may
 * be freed meanwhile). */
struct csnap {
    uint64_t id;
    spring_cache_obj_t cache;
    size_t page_size;
    spring_off_t block_size;
};

/* The current caches.  => no lock held; *out freed by the caller. */
static int snapshot(spring_store_t *st, struct csnap **out, size_t *n)
{
    st_lock(st);
    size_t k = 0;
    for (struct store_entry *e = st->entries; e != NULL; e = e->next)
        k++;
    struct csnap *c = k ? malloc(k * sizeof *c) : NULL;
    if (k > 0 && c == NULL) {
        st_unlock(st);
        return SPRING_ENOMEM;
    }
    k = 0;
    for (struct store_entry *e = st->entries; e != NULL; e = e->next)
        c[k++] = (struct csnap){e->id, e->cache, e->page_size, e->block_size};
    st_unlock(st);
    *out = c;
    *n = k;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Taking data back from a cache.                                       */

/* Write d directly, when the held units could not be allocated.
 * => no lock held. */
static int take_direct(spring_store_t *st, const struct csnap *c, const spring_data_t *d, uint64_t t,
                       spring_off_t limit)
{
    int rc = 0;
    io_exclusive(st);
    spring_off_t len;
    int lrc = store_length(st, &len);
    for (size_t k = 0; lrc == 0 && k < d->nblocks; k++) {
        const spring_data_block_t *b = &d->blocks[k];
        for (spring_off_t at = 0; at + c->page_size <= b->length; at += c->page_size) {
            spring_off_t o = b->offset + at;
            st_lock(st);
            struct seen *s = seen_find(st, c->id, o);
            bool newer = s != NULL && s->out > t;
            st_unlock(st);
            if (newer || o >= min_off(len, limit))
                continue;
            struct pg one = {o, b->bytes ? (const uint8_t *)b->bytes + at : NULL,
                             (size_t)min_off(c->page_size, min_off(len, limit) - o)};
            size_t done;
            int wrc = put_pages(st, &one, 1, c->page_size, min_off(len, limit), &done);
            if (rc == 0)
                rc = wrc;
        }
    }
    io_done(st);
    return lrc ? lrc : rc;
}

/*
 * Take the modified data of [off, off+size) back from cache c and hold it
 * (see the top of this file): flush: flush_back (the blocks leave the
 * cache), else write_back (they stay, clean).  Bytes at or past limit are
 * not held (set_length's boundary).  Page-ins of the range wait meanwhile.
 * Returns the cache's code (0 for a cache that is gone: its VMM paged its
 * data out before destroying it); SPRING_ENOMEM if the data could not be
 * held (it was written directly).  => no lock held.
 */
static int take(spring_store_t *st, const struct csnap *c, bool flush, spring_off_t off, spring_off_t size,
                spring_off_t limit)
{
    ASSERT_NO_LOCK();
    ASSERT_NO_IO();
    struct fence fc = {c->id, off, size == SPRING_SIZE_ALL || off + size < off ? SPRING_SIZE_ALL : off + size, NULL};
    st_lock(st);
    uint64_t t = ++st->epoch;
    st->takes++;
    fc.next = st->fences;
    st->fences = &fc;
    st_unlock(st);
    spring_data_t *d = NULL;
    int rc = flush ? spring_cache_flush_back(c->cache, off, size, NULL, &d)
                   : spring_cache_write_back(c->cache, off, size, NULL, &d);
    if (rc == SPRING_EBADHANDLE)
        rc = 0;
    HOOK(st, 2, NULL);
    size_t units = 0;
    for (size_t k = 0; rc == 0 && d != NULL && k < d->nblocks; k++)
        units += (size_t)((d->blocks[k].length + UNIT - 1) / UNIT);
    struct batch *bt = NULL;
    struct held *hs = NULL;
    if (units > 0) {
        bt = malloc(sizeof *bt + units * sizeof *hs);
        if (bt == NULL) {
            rc = take_direct(st, c, d, t, limit);
            spring_data_free(d);
            d = NULL;
        } else {
            hs = (struct held *)(void *)(bt + 1);
            bt->d = d;
            bt->refs = 1; /* this function's, until the units are in */
        }
    } else {
        spring_data_free(d);
        d = NULL;
    }
    if (bt != NULL) {
        size_t u = 0;
        st_lock(st);
        for (size_t k = 0; k < d->nblocks; k++) {
            const spring_data_block_t *b = &d->blocks[k];
            for (spring_off_t at = 0; at + c->page_size <= b->length; at += c->page_size) {
                spring_off_t o = b->offset + at;
                struct seen *s = seen_find(st, c->id, o);
                if (o >= limit || (s != NULL && s->out > t))
                    continue; /* past the boundary, or newer data reached the store */
                for (size_t x = 0; x < c->page_size; x += UNIT) {
                    spring_off_t uo = o + x;
                    if (uo >= limit)
                        break;
                    struct held *h = &hs[u++];
                    h->off = uo;
                    h->bytes = b->bytes ? (const uint8_t *)b->bytes + at + x : NULL;
                    h->valid = (size_t)min_off(UNIT, limit - uo);
                    h->epoch = t;
                    h->batch = bt;
                    held_put(st, h);
                }
            }
        }
        batch_unpin(st, bt);
        st_unlock(st);
    }
    st_lock(st);
    fence_lift(st, &fc); /* the data is held (or written): page-ins may read */
    if (--st->takes == 0)
        seen_clear(st);
    st_unlock(st);
    return rc;
}

/* ------------------------------------------------------------------ */
/* The memory object (pager.h, spring_mobj_ops_t): a view.              */

static int v_bind(void *self, const char *vmm_name, spring_rights_t access, spring_off_t off, spring_off_t *length,
                  spring_cache_rights_t *rights, spring_off_t *cache_off, long *flags)
{
    struct store_view *v = self;
    spring_store_t *st = v->st;
    *flags = 0;
    *cache_off = off; /* cache offsets are store offsets */
    st_lock(st);
    struct store_entry *e = entry_find(st, vmm_name);
    int rc = e != NULL ? 0 : entry_make(st, vmm_name, NULL, 0, 0, 0, &e);
    if (rc == 0 && (rc = entry_rights(e, v->max, rights)) != 0 && !entry_alive(e)) {
        /* Reclaimed, and its done_with_pager_object not here yet. */
        entry_unlink(st, e);
        if ((rc = entry_make(st, vmm_name, NULL, 0, 0, 0, &e)) == 0)
            rc = entry_rights(e, v->max, rights);
    }
    size_t ps = rc == 0 ? e->page_size : 0;
    st_unlock(st);
    /* A mapping must lie within the store's length, rounded up to a page
     * (the partial last page reads zero past the end); accesses past an
     * end that moves down later fail with SPRING_ERANGE. */
    spring_off_t len;
    if (rc == 0 && (rc = spring_store_get_length(st, &len)) == 0) {
        spring_off_t end = (len + (spring_off_t)ps - 1) / (spring_off_t)ps * (spring_off_t)ps;
        if (off >= end || *length > end - off) {
            spring_set_last_error("bind of [%#llx, +%#llx) past the end of the store (%lld bytes)",
                                  (unsigned long long)off, (unsigned long long)*length, (long long)len);
            rc = SPRING_ERANGE;
        }
    }
    /* If the cache is reclaimed from here on, the VMM finds the cache-rights
     * dead and calls final_bind (§7.5). */
    if (rc == 0)
        HOOK(st, 1, rights);
    return rc;
}

static int v_final_bind(void *self, spring_bind_key_t key, const char *vmm_name, spring_rights_t access,
                        spring_off_t off, spring_off_t length, long *flags)
{
    struct store_view *v = self;
    spring_store_t *st = v->st;
    *flags = 0;
    st_lock(st);
    struct store_entry *e = entry_find(st, vmm_name);
    int rc = SPRING_EBADHANDLE;
    if (e != NULL) {
        /* Offer the cache we believe exists (§7.5). */
        spring_cache_rights_t sib;
        rc = spring_cache_rights_create_restricted_sibling(e->rights[SPRING_RIGHTS_RWX], v->max, &sib);
        if (rc == 0 && (rc = spring_vmm_bind_cache(e->vobj, key, length, off, sib)) != 0)
            (void)spring_cache_rights_release(sib); /* consumed only on success */
        if (rc != 0 && !entry_alive(e)) {
            entry_unlink(st, e); /* reclaimed meanwhile: its done_with_pager_object frees it */
            e = NULL;
        }
    }
    if (e == NULL)
        rc = entry_make(st, vmm_name, &key, off, length, v->max, &e);
    st_unlock(st);
    return rc;
}

static int v_get_length(void *self, spring_off_t *length)
{
    return spring_store_get_length(((struct store_view *)self)->st, length);
}

static int v_set_length(void *self, spring_off_t length)
{
    return spring_store_set_length(((struct store_view *)self)->st, length);
}

static void v_release(void *self)
{
    struct store_view *v = self;
    spring_store_t *st = v->st;
    free(v);
    user_unref(st);
}

/* The view interface (pager.h): a view of a view, of at most its rights. */
static int v_view(spring_mobj_t *mobj, spring_rights_t max, spring_mobj_t **out);

static const spring_mobj_view_t view_iface = {.version = 1, .view = v_view};

static const void *v_query(void *self, const char *name, int version)
{
    struct store_view *v = self;
    if (strcmp(name, SPRING_MOBJ_VIEW_INTERFACE) == 0)
        return version == 1 ? &view_iface : NULL;
    return sc_query(&v->st->call, name, version);
}

static const spring_mobj_ops_t store_mobj_ops = {
    .version = SPRING_MOBJ_OPS_VERSION,
    .bind = v_bind,
    .final_bind = v_final_bind,
    .get_length = v_get_length,
    .set_length = v_set_length,
    .release = v_release,
    .query = v_query,
};

/* The view behind a memory object of ours, or NULL. */
static struct store_view *view_of(spring_mobj_t *mobj)
{
    const void *vi = spring_mobj_query(mobj, SPRING_MOBJ_VIEW_INTERFACE, 1);
    return vi == &view_iface ? spring_mobj_impl(mobj) : NULL;
}

static int v_view(spring_mobj_t *mobj, spring_rights_t max, spring_mobj_t **out)
{
    struct store_view *v = view_of(mobj);
    if (v == NULL || out == NULL || !spring_rights_valid(max))
        return SPRING_EINVAL;
    if (!spring_rights_subset(max, v->max))
        return SPRING_ERIGHTS;
    return spring_store_mobj(v->st, max, out);
}

void *spring_store_data(spring_mobj_t *mobj)
{
    struct store_view *v = mobj ? view_of(mobj) : NULL;
    return v ? v->st->call.impl : NULL;
}

spring_rights_t spring_store_mobj_rights(spring_mobj_t *mobj)
{
    struct store_view *v = mobj ? view_of(mobj) : NULL;
    return v ? v->max : SPRING_RIGHTS_NONE;
}

const spring_store_ops_t *spring_store_ops_of(spring_mobj_t *mobj)
{
    struct store_view *v = mobj ? view_of(mobj) : NULL;
    return v ? v->st->call.ops : NULL;
}

/* ------------------------------------------------------------------ */
/* Teardown: nothing can map the store any more.                         */

static void teardown(spring_store_t *st)
{
    struct csnap *c = NULL;
    size_t n = 0;
    if (snapshot(st, &c, &n) != 0)
        return; /* the caches stay with their VMMs, which page their data out */
    if (st->info.kind == SPRING_CACHE_ANON) {
        /* Anonymous memory nobody can map any more: nobody can read its
         * data again, so none is written (a swap store would only fill). */
        for (size_t i = 0; i < n; i++)
            (void)spring_cache_destroy(c[i].cache);
        free(c);
        return;
    }
    int *ok = calloc(n ? n : 1, sizeof *ok);
    for (size_t i = 0; ok != NULL && i < n; i++)
        ok[i] = take(st, &c[i], true, 0, SPRING_SIZE_ALL, SPRING_SIZE_ALL) == 0;
    (void)held_write(st); /* a failure here is final: the store saw it */
    /* A cache whose data could not be taken is left to its VMM, whose
     * reclamation pages the data out (and the store lives until then). */
    for (size_t i = 0; ok != NULL && i < n; i++)
        if (ok[i])
            (void)spring_cache_destroy(c[i].cache); /* no lock held: done_with_pager_object may run now */
    free(ok);
    free(c);
}

/* ------------------------------------------------------------------ */
/* Public functions.                                                    */

void spring_store_config_init(spring_store_config_t *cfg)
{
    if (cfg == NULL)
        return;
    memset(cfg, 0, sizeof *cfg);
    cfg->kind = SPRING_CACHE_DATA;
    cfg->keep_unattached = true;
}

int spring_store_new(const spring_store_ops_t *ops, void *store, const spring_store_config_t *cfg,
                     spring_store_t **out)
{
    if (ops == NULL || cfg == NULL || out == NULL)
        return SPRING_EINVAL;
    int rc = sc_check(ops);
    if (rc)
        return rc;
    if (cfg->registry == NULL)
        return SPRING_EINVAL;
    spring_off_t bs = cfg->block_size;
    if (bs != 0 && (bs < UNIT || (bs & (bs - 1)) != 0))
        return SPRING_EINVAL;
    if (cfg->kind != SPRING_CACHE_DATA && cfg->kind != SPRING_CACHE_TEXT && cfg->kind != SPRING_CACHE_ANON)
        return SPRING_EINVAL;
    spring_store_t *st = calloc(1, sizeof *st);
    if (st == NULL)
        return SPRING_ENOMEM;
    if (cfg->credential != NULL && (st->credential = strdup(cfg->credential)) == NULL) {
        free(st);
        return SPRING_ENOMEM;
    }
    st->call.ops = ops;
    st->call.impl = store;
    st->reg = cfg->registry;
    st->info = (spring_pager_info_t){.block_size = bs, .kind = cfg->kind, .cost = 0,
                                     .keep_unattached = cfg->keep_unattached};
    pthread_mutex_init(&st->lock, NULL);
    pthread_cond_init(&st->fence_cv, NULL);
    pthread_rwlock_init(&st->io, NULL);
    pthread_mutex_init(&st->len_lock, NULL);
    st->users = 1;
    st->refs = 1;
    RB_INIT(&st->held);
    RB_INIT(&st->seen);
    *out = st;
    return 0;
}

int spring_store_mobj(spring_store_t *st, spring_rights_t max_rights, spring_mobj_t **out)
{
    if (st == NULL || out == NULL || !spring_rights_valid(max_rights))
        return SPRING_EINVAL;
    struct store_view *v = malloc(sizeof *v);
    if (v == NULL)
        return SPRING_ENOMEM;
    v->st = st;
    v->max = max_rights;
    int rc = spring_mobj_new(&store_mobj_ops, v, out);
    if (rc != 0) {
        free(v);
        return rc;
    }
    st_lock(st);
    st->users++;
    st->refs++;
    st_unlock(st);
    return 0;
}

int spring_store_sync(spring_store_t *st)
{
    if (st == NULL)
        return SPRING_EINVAL;
    ASSERT_NO_LOCK();
    ASSERT_NO_IO();
    struct csnap *c = NULL;
    size_t n = 0;
    int rc = snapshot(st, &c, &n);
    for (size_t i = 0; i < n; i++) {
        int trc = take(st, &c[i], false, 0, SPRING_SIZE_ALL, SPRING_SIZE_ALL);
        if (rc == 0)
            rc = trc;
    }
    free(c);
    int wrc = held_write(st);
    if (rc == 0)
        rc = wrc;
    if (sc_has(&st->call, SO_SYNC)) {
        int src = sc_sync(&st->call);
        if (rc == 0)
            rc = src;
    }
    return rc;
}

int spring_store_get_length(spring_store_t *st, spring_off_t *length)
{
    if (st == NULL || length == NULL)
        return SPRING_EINVAL;
    ASSERT_NO_LOCK();
    return store_length(st, length);
}

int spring_store_set_length(spring_store_t *st, spring_off_t length)
{
    if (st == NULL)
        return SPRING_EINVAL;
    if (!sc_has(&st->call, SO_SET_LENGTH))
        return SPRING_ENOSYS;
    ASSERT_NO_LOCK();
    ASSERT_NO_IO();
    pthread_mutex_lock(&st->len_lock);
    /* The length changes with no transfer running. */
    io_exclusive(st);
    spring_off_t old;
    int rc = store_length(st, &old);
    if (rc == 0)
        rc = sc_set_length(&st->call, length);
    spring_off_t lo = min_off(old, length);
    if (rc == 0) {
        /* Held data past the lower end is gone. */
        st_lock(st);
        if (lo % UNIT != 0) {
            struct held key = {.off = lo - lo % UNIT}, *h = RB_FIND(held_tree, &st->held, &key);
            if (h != NULL && h->valid > lo % UNIT)
                h->valid = (size_t)(lo % UNIT);
        }
        held_drop_from(st, lo + (UNIT - lo % UNIT) % UNIT);
        st_unlock(st);
    }
    io_done(st);
    if (rc != 0) {
        pthread_mutex_unlock(&st->len_lock);
        return rc;
    }
    /* Every VMM's cache: the block holding the lower end gives its bytes
     * before that end back (the rest is discarded), and after a shrink the
     * blocks past the new end go. */
    struct csnap *c = NULL;
    size_t n = 0;
    rc = snapshot(st, &c, &n);
    for (size_t i = 0; i < n; i++) {
        spring_off_t bs = c[i].block_size;
        int crc = 0;
        if (lo % bs != 0)
            crc = take(st, &c[i], true, lo - lo % bs, bs, lo);
        if (crc == 0 && length < old) {
            crc = spring_cache_delete_range(c[i].cache, (length + bs - 1) / bs * bs, SPRING_SIZE_ALL, NULL);
            if (crc == SPRING_EBADHANDLE)
                crc = 0; /* the cache is gone */
        }
        if (rc == 0)
            rc = crc;
    }
    free(c);
    int wrc = held_write(st);
    if (rc == 0)
        rc = wrc;
    pthread_mutex_unlock(&st->len_lock);
    return rc;
}

spring_store_t *spring_store_ref(spring_store_t *st)
{
    if (st == NULL)
        return NULL;
    st_lock(st);
    st->users++;
    st->refs++;
    st_unlock(st);
    return st;
}

void spring_store_unref(spring_store_t *st)
{
    if (st != NULL)
        user_unref(st);
}

#ifdef SPRING_TEST_HOOKS
int spring__test_store_fail(spring_store_t *st, const char *slot, unsigned nth, int rc)
{
    static const char *const names[SO_COUNT] = {
        [SO_READ] = "read",       [SO_WRITE] = "write",           [SO_GET_LENGTH] = "get_length",
        [SO_READ_PAGES] = "read_pages", [SO_WRITE_PAGES] = "write_pages", [SO_SET_LENGTH] = "set_length",
        [SO_SYNC] = "sync",       [SO_DISCARD] = "discard",
    };
    if (st == NULL || slot == NULL)
        return SPRING_EINVAL;
    for (int op = 0; op < SO_COUNT; op++)
        if (strcmp(names[op], slot) == 0) {
            atomic_store(&st->call.fail_rc[op], rc);
            atomic_store(&st->call.fail_nth[op], nth);
            return 0;
        }
    return SPRING_EINVAL;
}
#endif

#ifdef SPRING_TEST_HOOKS
void spring__test_store_hook(spring_store_t *st, void (*fn)(void *arg, int where, spring_cache_rights_t *rights),
                             void *arg)
{
    if (st == NULL)
        return;
    st->hook = fn;
    st->hook_arg = arg;
}
#endif
