/*
 * check_store.c - the store pager helper (include/spring/store.h): a pager
 * made of a store's data operations.  Two memory stores drive it: one with
 * only the required slots (read, write, get_length) and one with every
 * slot.  The tests check one cache per VMM shared by views of different
 * rights, data reaching the store by every path (flush, sync, eviction,
 * spring_store_sync, teardown), the end of the store (ERANGE, partial
 * pages, truncate and grow), final_bind, failing and odd stores, the
 * lifetime (release exactly once), concurrent paging with
 * spring_store_sync, and every illegal call.  Only the public headers are
 * used (and libvm/testing/testhooks.h for the bind hook).
 */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testhooks.h"
#include "testlib.h"
#include "testmain.h"

#define PS 4096

/* ------------------------------------------------------------------ */
/* A memory store.                                                      */

typedef struct mstore {
    pthread_mutex_t lock;
    uint8_t *bytes;
    size_t cap;
    spring_off_t len;
    unsigned n_read, n_write, n_get_length, n_read_pages, n_write_pages, n_set_length, n_sync;
    atomic_uint n_release;
    size_t max_read_npages;  /* the largest npages given to read_pages */
    size_t read_pages_pages; /* pages read through read_pages */
    int fail_get_length;     /* code to return (0: none) */
    int fail_read;           /* code for reads touching page fail_read_page */
    spring_off_t fail_read_page;
    int fail_write;
    int fail_sync;
    bool bad;                /* the helper asked for something outside the store */
    char why[160];
} mstore_t;

/* The data of generation gen at store offset off: gen 0 is the initial
 * pattern; every page differs from every other and no page is zero. */
static uint8_t gen_byte(spring_off_t off, unsigned gen)
{
    uint8_t p = tp_pattern(off);
    return gen == 0 ? p : (uint8_t)(p ^ (uint8_t)(1 + 2 * (gen % 127)));
}

static mstore_t *ms_new(spring_off_t len)
{
    mstore_t *ms = calloc(1, sizeof *ms);
    ck_assert_ptr_nonnull(ms);
    pthread_mutex_init(&ms->lock, NULL);
    ms->cap = (size_t)len + 64 * PS;
    ms->bytes = calloc(1, ms->cap);
    ck_assert_ptr_nonnull(ms->bytes);
    ms->len = len;
    for (spring_off_t o = 0; o < len; o++)
        ms->bytes[o] = gen_byte(o, 0);
    return ms;
}

static void ms_free(mstore_t *ms)
{
    pthread_mutex_destroy(&ms->lock);
    free(ms->bytes);
    free(ms);
}

/* Record that the helper broke the contract.  => ms->lock held. */
static void ms_bad(mstore_t *ms, const char *what, spring_off_t off, size_t n)
{
    if (!ms->bad)
        snprintf(ms->why, sizeof ms->why, "%s(%#llx, %zu) with length %#llx", what, (unsigned long long)off, n,
                 (unsigned long long)ms->len);
    ms->bad = true;
}

static bool ms_fails_read(const mstore_t *ms, spring_off_t off, size_t n)
{
    return ms->fail_read != 0 && off < ms->fail_read_page + PS && off + n > ms->fail_read_page;
}

static int ms_read(void *self, spring_off_t off, void *buf, size_t n)
{
    mstore_t *ms = self;
    pthread_mutex_lock(&ms->lock);
    ms->n_read++;
    int rc = 0;
    if (off + n > ms->len || n == 0 || n > PS) {
        ms_bad(ms, "read", off, n);
        rc = SPRING_ERANGE;
    } else if (ms_fails_read(ms, off, n)) {
        rc = ms->fail_read;
    } else {
        memcpy(buf, ms->bytes + off, n);
    }
    pthread_mutex_unlock(&ms->lock);
    return rc;
}

static int ms_write(void *self, spring_off_t off, const void *buf, size_t n)
{
    mstore_t *ms = self;
    pthread_mutex_lock(&ms->lock);
    ms->n_write++;
    int rc = 0;
    if (off + n > ms->len || n == 0 || n > PS) {
        ms_bad(ms, "write", off, n);
        rc = SPRING_ERANGE;
    } else if (ms->fail_write) {
        rc = ms->fail_write;
    } else if (buf != NULL) {
        memcpy(ms->bytes + off, buf, n);
    } else {
        memset(ms->bytes + off, 0, n);
    }
    pthread_mutex_unlock(&ms->lock);
    return rc;
}

static int ms_get_length(void *self, spring_off_t *len)
{
    mstore_t *ms = self;
    pthread_mutex_lock(&ms->lock);
    ms->n_get_length++;
    int rc = ms->fail_get_length;
    if (rc == 0)
        *len = ms->len;
    pthread_mutex_unlock(&ms->lock);
    return rc;
}

static int ms_read_pages(void *self, spring_off_t off, void *const *pages, size_t np, size_t ps)
{
    mstore_t *ms = self;
    pthread_mutex_lock(&ms->lock);
    ms->n_read_pages++;
    ms->read_pages_pages += np;
    if (np > ms->max_read_npages)
        ms->max_read_npages = np;
    int rc = 0;
    if (np == 0 || off % ps != 0 || off + np * ps > ms->len) {
        ms_bad(ms, "read_pages", off, np);
        rc = SPRING_ERANGE;
    } else if (ms_fails_read(ms, off, np * ps)) {
        rc = ms->fail_read;
    } else {
        for (size_t i = 0; i < np; i++)
            memcpy(pages[i], ms->bytes + off + i * ps, ps);
    }
    pthread_mutex_unlock(&ms->lock);
    return rc;
}

static int ms_write_pages(void *self, spring_off_t off, const void *const *pages, size_t np, size_t ps)
{
    mstore_t *ms = self;
    pthread_mutex_lock(&ms->lock);
    ms->n_write_pages++;
    int rc = 0;
    if (np == 0 || off % ps != 0 || off + np * ps > ms->len) {
        ms_bad(ms, "write_pages", off, np);
        rc = SPRING_ERANGE;
    } else if (ms->fail_write) {
        rc = ms->fail_write;
    } else {
        for (size_t i = 0; i < np; i++) {
            if (pages[i] != NULL)
                memcpy(ms->bytes + off + i * ps, pages[i], ps);
            else
                memset(ms->bytes + off + i * ps, 0, ps);
        }
    }
    pthread_mutex_unlock(&ms->lock);
    return rc;
}

static int ms_set_length(void *self, spring_off_t len)
{
    mstore_t *ms = self;
    pthread_mutex_lock(&ms->lock);
    ms->n_set_length++;
    int rc = 0;
    if (len > ms->cap) {
        rc = SPRING_ENOSPC;
    } else {
        if (len < ms->len)
            memset(ms->bytes + len, 0, (size_t)(ms->len - len)); /* growing again reads zero */
        ms->len = len;
    }
    pthread_mutex_unlock(&ms->lock);
    return rc;
}

static int ms_sync(void *self)
{
    mstore_t *ms = self;
    pthread_mutex_lock(&ms->lock);
    ms->n_sync++;
    int rc = ms->fail_sync;
    pthread_mutex_unlock(&ms->lock);
    return rc;
}

static void ms_release(void *self)
{
    atomic_fetch_add(&((mstore_t *)self)->n_release, 1);
}

static const spring_store_ops_t min_ops = {
    .version = SPRING_STORE_OPS_VERSION,
    .read = ms_read,
    .write = ms_write,
    .get_length = ms_get_length,
};

static const spring_store_ops_t full_ops = {
    .version = SPRING_STORE_OPS_VERSION,
    .read = ms_read,
    .write = ms_write,
    .get_length = ms_get_length,
    .read_pages = ms_read_pages,
    .write_pages = ms_write_pages,
    .set_length = ms_set_length,
    .sync = ms_sync,
    .release = ms_release,
};

/* The minimal store with a release counter, so that its lifetime can be
 * checked too (release is optional; the other optional slots stay NULL). */
static const spring_store_ops_t min_ops_release = {
    .version = SPRING_STORE_OPS_VERSION,
    .read = ms_read,
    .write = ms_write,
    .get_length = ms_get_length,
    .release = ms_release,
};

static void ms_set(mstore_t *ms, int *field, int v)
{
    pthread_mutex_lock(&ms->lock);
    *field = v;
    pthread_mutex_unlock(&ms->lock);
}

/* Whether the store holds generation gen in [off, off+n).  Fails the test
 * with the first wrong byte otherwise. */
static void ms_expect(mstore_t *ms, spring_off_t off, size_t n, unsigned gen)
{
    pthread_mutex_lock(&ms->lock);
    for (size_t i = 0; i < n; i++) {
        uint8_t want = gen_byte(off + i, gen), got = ms->bytes[off + i];
        if (got != want) {
            pthread_mutex_unlock(&ms->lock);
            ck_abort_msg("store byte %#llx is %#x, want %#x (generation %u)", (unsigned long long)(off + i), got,
                         want, gen);
        }
    }
    pthread_mutex_unlock(&ms->lock);
}

static void ms_expect_zero(mstore_t *ms, spring_off_t off, size_t n)
{
    pthread_mutex_lock(&ms->lock);
    for (size_t i = 0; i < n; i++)
        if (ms->bytes[off + i] != 0) {
            pthread_mutex_unlock(&ms->lock);
            ck_abort_msg("store byte %#llx is %#x, want 0", (unsigned long long)(off + i), ms->bytes[off + i]);
        }
    pthread_mutex_unlock(&ms->lock);
}

static void ms_ok(mstore_t *ms)
{
    pthread_mutex_lock(&ms->lock);
    bool bad = ms->bad;
    char why[sizeof ms->why];
    memcpy(why, ms->why, sizeof why);
    pthread_mutex_unlock(&ms->lock);
    ck_assert_msg(!bad, "the helper broke the store contract: %s", why);
}

/* ------------------------------------------------------------------ */
/* Fixture: a VMM, an address space and a store.                        */

typedef struct sfx {
    spring_registry_t *reg;
    spring_vmm_t *vmm;
    spring_as_t *as;
    mstore_t *ms;
    spring_store_t *st; /* the creator's reference, NULL once dropped */
    size_t ncaches0;    /* caches of the VMM before the store made any */
} sfx_t;

/* Make the store's length len (within what it was made with): the bytes
 * past it become zero, as a file's would after a truncation. */
static void ms_shrink(mstore_t *ms, spring_off_t len)
{
    pthread_mutex_lock(&ms->lock);
    ck_assert_uint_le((size_t)len, ms->cap);
    if ((size_t)len < ms->cap)
        memset(ms->bytes + len, 0, ms->cap - (size_t)len);
    ms->len = len;
    pthread_mutex_unlock(&ms->lock);
}

static void sfx_setup_cfg(sfx_t *f, const char *name, size_t nframes, spring_off_t len, const spring_store_ops_t *ops,
                          const spring_store_config_t *cfg_in)
{
    memset(f, 0, sizeof *f);
    f->vmm = test_vmm(name, nframes, &f->reg);
    ck_assert_rc(spring_as_new(f->vmm, NULL, &f->as), 0);
    f->ms = ms_new(len);
    spring_store_config_t cfg;
    if (cfg_in != NULL) {
        cfg = *cfg_in;
    } else {
        spring_store_config_init(&cfg);
    }
    cfg.registry = f->reg;
    ck_assert_rc(spring_store_new(ops, f->ms, &cfg, &f->st), 0);
    f->ncaches0 = test_vm_info(f->vmm).ncaches;
}

static void sfx_setup(sfx_t *f, const char *name, size_t nframes, spring_off_t len, const spring_store_ops_t *ops,
                      spring_off_t bs)
{
    spring_store_config_t cfg;
    spring_store_config_init(&cfg);
    cfg.block_size = bs;
    sfx_setup_cfg(f, name, nframes, len, ops, &cfg);
}

static size_t sfx_caches(sfx_t *f)
{
    return test_vm_info(f->vmm).ncaches - f->ncaches0;
}

static void sfx_fini(sfx_t *f)
{
    if (f->as != NULL)
        spring_as_destroy(f->as);
    spring_store_unref(f->st);
    CHECK_VMM(f->vmm);
    ms_ok(f->ms);
    test_vmm_free(f->vmm, f->reg);
    ms_free(f->ms);
}

static spring_mobj_t *view(spring_store_t *st, spring_rights_t max)
{
    spring_mobj_t *m = NULL;
    ck_assert_rc(spring_store_mobj(st, max, &m), 0);
    return m;
}

static spring_addr_t map(spring_as_t *as, spring_mobj_t *m, spring_off_t len, spring_rights_t access)
{
    spring_addr_t a = SPRING_ANYWHERE;
    spring_off_t l = len;
    ck_assert_rc(spring_as_map(as, m, 0, &l, &a, access), 0);
    ck_assert_uint_eq(l, len);
    return a;
}

static void write_page(spring_as_t *as, spring_addr_t base, spring_off_t page, unsigned gen)
{
    uint8_t buf[PS];
    for (size_t i = 0; i < PS; i++)
        buf[i] = gen_byte(page * PS + i, gen);
    ck_assert_rc(spring_as_write(as, base + page * PS, buf, PS), 0);
}

/* Read page `page` through the mapping at base and check it holds gen in
 * [0, valid) and zero after. */
static void expect_page(spring_as_t *as, spring_addr_t base, spring_off_t page, unsigned gen, size_t valid)
{
    uint8_t buf[PS];
    ck_assert_rc(spring_as_read(as, base + page * PS, buf, PS), 0);
    for (size_t i = 0; i < PS; i++) {
        uint8_t want = i < valid ? gen_byte(page * PS + i, gen) : 0;
        ck_assert_msg(buf[i] == want, "page %llu byte %zu is %#x, want %#x (generation %u)",
                      (unsigned long long)page, i, buf[i], want, gen);
    }
}

/* The access failed because the page_in failed with `code`. */
/* An access to a block wholly past the end of the store: SPRING_ERANGE,
 * passed through from the page_in (as SIGBUS). */
static void expect_past_end(int rc)
{
    ck_assert_msg(rc == SPRING_ERANGE, "access returned %s, want SPRING_ERANGE", spring_err_name(rc));
    ck_assert_msg(strstr(spring_last_error(), "past the end") != NULL, "spring_last_error() = \"%s\"",
                  spring_last_error());
}

static void expect_pager_fail(int rc, const char *code)
{
    ck_assert_msg(rc == SPRING_EPAGER, "access returned %s, want SPRING_EPAGER", spring_err_name(rc));
    ck_assert_msg(strstr(spring_last_error(), code) != NULL, "spring_last_error() = \"%s\", want it to name %s",
                  spring_last_error(), code);
}

/* The two stores the loop tests run with (_i). */
static const spring_store_ops_t *const kinds[2] = {&min_ops_release, &full_ops};

/* ------------------------------------------------------------------ */
/* Illegal uses.                                                        */

START_TEST(test_store_illegal)
{
    spring_registry_t *reg;
    spring_vmm_t *vmm = test_vmm("ill", 16, &reg);
    mstore_t *ms = ms_new(4 * PS);
    spring_store_config_t cfg;
    spring_store_config_init(NULL); /* ignored */
    spring_store_config_init(&cfg);
    ck_assert_ptr_null(cfg.registry);
    ck_assert_ptr_null(cfg.credential);
    ck_assert_uint_eq(cfg.block_size, 0);
    ck_assert_int_eq(cfg.kind, SPRING_CACHE_DATA);
    ck_assert(cfg.keep_unattached);
    spring_store_t *st = (spring_store_t *)&cfg; /* must stay untouched on failure */
    spring_store_t *const poison = st;

    /* NULL arguments and no registry. */
    ck_assert_rc(spring_store_new(&full_ops, ms, &cfg, &st), SPRING_EINVAL); /* registry NULL */
    cfg.registry = reg;
    ck_assert_rc(spring_store_new(NULL, ms, &cfg, &st), SPRING_EINVAL);
    ck_assert_rc(spring_store_new(&full_ops, ms, NULL, &st), SPRING_EINVAL);
    ck_assert_rc(spring_store_new(&full_ops, ms, &cfg, NULL), SPRING_EINVAL);

    /* Versions: newer than the library, and below 1. */
    spring_store_ops_t ops = full_ops;
    ops.version = SPRING_STORE_OPS_VERSION + 1;
    ck_assert_rc(spring_store_new(&ops, ms, &cfg, &st), SPRING_EVERSION);
    ops.version = 0;
    ck_assert_rc(spring_store_new(&ops, ms, &cfg, &st), SPRING_EVERSION);
    ops.version = -1;
    ck_assert_rc(spring_store_new(&ops, ms, &cfg, &st), SPRING_EVERSION);

    /* A required slot missing. */
    ops = full_ops;
    ops.read = NULL;
    ck_assert_rc(spring_store_new(&ops, ms, &cfg, &st), SPRING_EINVAL);
    ops = full_ops;
    ops.write = NULL;
    ck_assert_rc(spring_store_new(&ops, ms, &cfg, &st), SPRING_EINVAL);
    ops = full_ops;
    ops.get_length = NULL;
    ck_assert_rc(spring_store_new(&ops, ms, &cfg, &st), SPRING_EINVAL);

    /* Bad configuration values. */
    spring_off_t bad_bs[] = {1, 3, 2048, 12288, 4096 + 1};
    for (size_t i = 0; i < sizeof bad_bs / sizeof bad_bs[0]; i++) {
        cfg.block_size = bad_bs[i];
        ck_assert_rc(spring_store_new(&full_ops, ms, &cfg, &st), SPRING_EINVAL);
    }
    cfg.block_size = 0;
    cfg.kind = (spring_cache_kind_t)3;
    ck_assert_rc(spring_store_new(&full_ops, ms, &cfg, &st), SPRING_EINVAL);
    cfg.kind = SPRING_CACHE_DATA;
    ck_assert_ptr_eq(st, poison);
    ck_assert_uint_eq(atomic_load(&ms->n_release), 0); /* not consumed on failure */
    ck_assert_uint_eq(ms->n_get_length + ms->n_read + ms->n_write, 0);

    /* The minimal store is accepted (a NULL implementation pointer too). */
    ck_assert_rc(spring_store_new(&min_ops, NULL, &cfg, &st), 0);
    spring_store_unref(st);
    ck_assert_rc(spring_store_new(&min_ops_release, ms, &cfg, &st), 0);

    /* spring_store_mobj. */
    spring_mobj_t *m = (spring_mobj_t *)poison;
    ck_assert_rc(spring_store_mobj(NULL, SPRING_RIGHTS_RW, &m), SPRING_EINVAL);
    ck_assert_rc(spring_store_mobj(st, SPRING_RIGHTS_RW, NULL), SPRING_EINVAL);
    spring_rights_t bad_rights[] = {SPRING_RIGHTS_NONE, SPRING_RIGHTS_W, SPRING_RIGHTS_X, 6, 8, 15};
    for (size_t i = 0; i < sizeof bad_rights / sizeof bad_rights[0]; i++)
        ck_assert_rc(spring_store_mobj(st, bad_rights[i], &m), SPRING_EINVAL);
    ck_assert_ptr_eq(m, (spring_mobj_t *)poison);

    /* The other functions. */
    spring_off_t len = 0;
    ck_assert_rc(spring_store_sync(NULL), SPRING_EINVAL);
    ck_assert_rc(spring_store_get_length(NULL, &len), SPRING_EINVAL);
    ck_assert_rc(spring_store_get_length(st, NULL), SPRING_EINVAL);
    ck_assert_rc(spring_store_set_length(NULL, PS), SPRING_EINVAL);
    ck_assert_rc(spring_store_set_length(st, PS), SPRING_ENOSYS); /* no set_length slot */
    ck_assert_ptr_null(spring_store_ref(NULL));
    spring_store_unref(NULL);
    ck_assert_rc(spring_store_get_length(st, &len), 0);
    ck_assert_uint_eq(len, 4 * PS);

    /* A view's length calls are the store's. */
    m = view(st, SPRING_RIGHTS_RO);
    ck_assert_rc(spring_mobj_get_length(m, &len), 0);
    ck_assert_uint_eq(len, 4 * PS);
    ck_assert_rc(spring_mobj_set_length(m, PS), SPRING_ENOSYS);
    ck_assert_rc(spring_store_sync(st), 0); /* nothing cached: nothing to do */
    spring_mobj_unref(m);
    ck_assert_uint_eq(atomic_load(&ms->n_release), 0); /* the creator still holds it */
    spring_store_unref(st);
    ck_assert_uint_eq(atomic_load(&ms->n_release), 1);
    ck_assert_uint_eq(ms->n_write, 0);
    ms_ok(ms);
    ms_free(ms);
    test_vmm_free(vmm, reg);
}
END_TEST

/* Binds the helper cannot serve fail the map with SPRING_EBIND and say
 * why: a VMM missing from the registry, a credential never granted, a
 * block size the VMM refuses. */
START_TEST(test_store_bind_refused)
{
    spring_registry_t *reg, *other;
    spring_vmm_t *vmm = test_vmm("refuse", 16, &reg);
    ck_assert_rc(spring_registry_new(&other), 0); /* knows no VMM */
    mstore_t *ms = ms_new(8 * PS);
    spring_as_t *as;
    ck_assert_rc(spring_as_new(vmm, NULL, &as), 0);
    struct {
        spring_registry_t *reg;
        const char *cred;
        spring_off_t bs;
        const char *why;
    } cases[] = {
        {other, NULL, 0, "SPRING_ENOENT"},
        {reg, "never granted", 0, "SPRING_EPERM"},
        {reg, NULL, 8 * PS, "SPRING_ENOFRAMES"}, /* 8 pages: more than a quarter of 16 frames */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        spring_store_config_t cfg;
        spring_store_config_init(&cfg);
        cfg.registry = cases[i].reg;
        cfg.credential = cases[i].cred;
        cfg.block_size = cases[i].bs;
        spring_store_t *st;
        ck_assert_rc(spring_store_new(&min_ops_release, ms, &cfg, &st), 0);
        spring_mobj_t *m = view(st, SPRING_RIGHTS_RW);
        spring_addr_t a = SPRING_ANYWHERE;
        spring_off_t l = 8 * PS;
        ck_assert_rc(spring_as_map(as, m, 0, &l, &a, SPRING_RIGHTS_RW), SPRING_EBIND);
        ck_assert_msg(strstr(spring_last_error(), cases[i].why) != NULL, "case %zu: \"%s\", want %s", i,
                      spring_last_error(), cases[i].why);
        spring_mobj_unref(m);
        spring_store_unref(st);
        ck_assert_uint_eq(atomic_load(&ms->n_release), i + 1);
    }
    /* A granted credential is used: the caches get system privilege, and
     * the map works. */
    ck_assert_rc(spring_registry_grant(reg, "cred", SPRING_PRIV_SYSTEM), 0);
    spring_store_config_t cfg;
    spring_store_config_init(&cfg);
    cfg.registry = reg;
    cfg.credential = "cred";
    spring_store_t *st;
    ck_assert_rc(spring_store_new(&min_ops_release, ms, &cfg, &st), 0);
    spring_mobj_t *m = view(st, SPRING_RIGHTS_RW);
    spring_addr_t a = map(as, m, 8 * PS, SPRING_RIGHTS_RW);
    expect_page(as, a, 2, 0, PS);
    spring_as_destroy(as);
    spring_mobj_unref(m);
    spring_store_unref(st);
    ck_assert_uint_eq(atomic_load(&ms->n_release), 4);
    ms_ok(ms);
    ms_free(ms);
    spring_registry_destroy(other);
    test_vmm_free(vmm, reg);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Views of different rights share one cache per VMM.                  */

START_TEST(test_store_views_share_cache)
{
    sfx_t f;
    sfx_setup(&f, "views", 64, 16 * PS, kinds[_i], 0);
    spring_mobj_t *rw = view(f.st, SPRING_RIGHTS_RW), *ro = view(f.st, SPRING_RIGHTS_RO),
                  *rx = view(f.st, SPRING_RIGHTS_RX);
    spring_addr_t a_rw = map(f.as, rw, 16 * PS, SPRING_RIGHTS_RW);
    spring_addr_t a_ro = map(f.as, ro, 16 * PS, SPRING_RIGHTS_RO);
    spring_addr_t a_rx = map(f.as, rx, 16 * PS, SPRING_RIGHTS_RX);
    ck_assert_uint_eq(sfx_caches(&f), 1); /* one cache for the three views */

    /* The views never exceed their rights. */
    spring_addr_t a = SPRING_ANYWHERE;
    spring_off_t l = 16 * PS;
    ck_assert_rc(spring_as_map(f.as, ro, 0, &l, &a, SPRING_RIGHTS_RW), SPRING_ERIGHTS);
    ck_assert_rc(spring_as_map(f.as, rx, 0, &l, &a, SPRING_RIGHTS_RWX), SPRING_ERIGHTS);
    ck_assert_rc(spring_as_change_access_rights(f.as, a_ro, 16 * PS, SPRING_RIGHTS_RW), SPRING_ERIGHTS);
    uint8_t byte = 1;
    ck_assert_rc(spring_as_write(f.as, a_ro + 3 * PS, &byte, 1), SPRING_EACCES);
    ck_assert_rc(spring_as_write(f.as, a_rx + 3 * PS, &byte, 1), SPRING_EACCES);

    /* Reads through either view see the store; a write through the
     * read-write view is seen at once through the others. */
    expect_page(f.as, a_ro, 3, 0, PS);
    write_page(f.as, a_rw, 3, 1);
    expect_page(f.as, a_ro, 3, 1, PS);
    expect_page(f.as, a_rx, 3, 1, PS);
    ck_assert_rc(spring_as_fault(f.as, a_rx + 3 * PS, SPRING_RIGHTS_X), 0);
    for (spring_off_t p = 0; p < 16; p++)
        if (p != 3)
            expect_page(f.as, a_rx, p, 0, PS);

    /* The three mappings are one cache: one pager, the same statistics. */
    spring_pager_stats_t s1 = {.size = sizeof s1}, s2 = {.size = sizeof s2}, s3 = {.size = sizeof s3};
    ck_assert_rc(spring_as_pager_stats(f.as, a_rw, &s1), 0);
    ck_assert_rc(spring_as_pager_stats(f.as, a_ro, &s2), 0);
    ck_assert_rc(spring_as_pager_stats(f.as, a_rx, &s3), 0);
    ck_assert_uint_eq(s1.page_ins, s2.page_ins);
    ck_assert_uint_eq(s1.page_ins, s3.page_ins);
    ck_assert_uint_eq(s1.page_ins, 17); /* each page once, and the upgrade of page 3 */

    /* The write is not in the store until it is written back. */
    ms_expect(f.ms, 3 * PS, PS, 0);
    spring_as_destroy(f.as);
    f.as = NULL;
    spring_mobj_unref(rw);
    spring_mobj_unref(ro);
    spring_mobj_unref(rx);
    ck_assert_uint_eq(sfx_caches(&f), 1); /* kept for the creator */
    spring_store_unref(f.st);
    f.st = NULL;
    /* The last reference: the modified page was written, the cache went,
     * the store was released. */
    ck_assert_uint_eq(sfx_caches(&f), 0);
    ck_assert_uint_eq(atomic_load(&f.ms->n_release), 1);
    ms_expect(f.ms, 3 * PS, PS, 1);
    ms_expect(f.ms, 0, 3 * PS, 0);
    ms_expect(f.ms, 4 * PS, 12 * PS, 0);
    sfx_fini(&f);
}
END_TEST

/* Two VMMs: each gets its own cache; no coherence between them, the store
 * carries data from one to the other. */
START_TEST(test_store_two_vmms)
{
    sfx_t f;
    sfx_setup(&f, "vmm-a", 64, 8 * PS, kinds[_i], 0);
    spring_vmm_t *b = test_vmm("vmm-b", 64, NULL);
    ck_assert_rc(spring_registry_add_vmm(f.reg, b), 0);
    size_t b0 = test_vm_info(b).ncaches;
    spring_as_t *bas;
    ck_assert_rc(spring_as_new(b, NULL, &bas), 0);
    spring_mobj_t *m = view(f.st, SPRING_RIGHTS_RW);
    spring_addr_t a = map(f.as, m, 8 * PS, SPRING_RIGHTS_RW);
    spring_addr_t ab = map(bas, m, 8 * PS, SPRING_RIGHTS_RW);
    ck_assert_uint_eq(sfx_caches(&f), 1);
    ck_assert_uint_eq(test_vm_info(b).ncaches - b0, 1);

    expect_page(bas, ab, 0, 0, PS); /* B caches page 0 */
    write_page(f.as, a, 0, 1);
    write_page(f.as, a, 1, 1);
    expect_page(bas, ab, 1, 0, PS); /* A's write is not in the store yet */
    ck_assert_rc(spring_store_sync(f.st), 0);
    ms_expect(f.ms, 0, 2 * PS, 1);
    /* B's cached pages are its own (no coherence); a page B drops and
     * reads again comes from the store. */
    expect_page(bas, ab, 0, 0, PS);
    ck_assert_rc(spring_as_flush(bas, ab, 8 * PS, false), 0);
    expect_page(bas, ab, 0, 1, PS);
    expect_page(bas, ab, 1, 1, PS);

    /* B's writes reach the store through B's cache. */
    write_page(bas, ab, 5, 2);
    ck_assert_rc(spring_vmm_sync(b), 0);
    ms_expect(f.ms, 5 * PS, PS, 2);
    spring_pager_stats_t sa = {.size = sizeof sa}, sb = {.size = sizeof sb};
    ck_assert_rc(spring_as_pager_stats(f.as, a, &sa), 0);
    ck_assert_rc(spring_as_pager_stats(bas, ab, &sb), 0);
    ck_assert_uint_eq(sa.page_ins, 2);
    ck_assert_uint_eq(sb.page_ins, 5); /* 0, 1, then 0, 1 again after the flush, and 5 */
    ck_assert_uint_ge(sb.syncs + sb.write_outs, 1);

    /* Teardown: both caches go with the last reference. */
    write_page(bas, ab, 6, 3);
    spring_as_destroy(bas);
    spring_as_destroy(f.as);
    f.as = NULL;
    spring_mobj_unref(m);
    ck_assert_rc(spring_registry_remove_vmm(f.reg, b), 0);
    spring_store_unref(f.st);
    f.st = NULL;
    ck_assert_uint_eq(test_vm_info(b).ncaches, b0);
    ck_assert_uint_eq(sfx_caches(&f), 0);
    ck_assert_uint_eq(atomic_load(&f.ms->n_release), 1);
    ms_expect(f.ms, 6 * PS, PS, 3);
    CHECK_VMM(b);
    test_vmm_free(b, NULL);
    sfx_fini(&f);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Data reaches the store by every path.                                */

static void write_all(sfx_t *f, spring_addr_t a, spring_off_t n, unsigned gen)
{
    for (spring_off_t p = 0; p < n; p++)
        write_page(f->as, a, p, gen);
}

START_TEST(test_store_data_reaches_store)
{
    enum { N = 64 };
    sfx_t f;
    sfx_setup(&f, "paths", 16, N * PS, kinds[_i], 0); /* 16 frames for 64 pages */
    spring_mobj_t *m = view(f.st, SPRING_RIGHTS_RW);
    spring_addr_t a = map(f.as, m, N * PS, SPRING_RIGHTS_RW);

    /* Eviction alone: 64 pages through 16 frames. */
    write_all(&f, a, N, 1);
    spring_pager_stats_t s = {.size = sizeof s};
    ck_assert_rc(spring_as_pager_stats(f.as, a, &s), 0);
    ck_assert_uint_ge(s.page_outs, 1);
    ms_expect(f.ms, 0, 32 * PS, 1); /* the first half was evicted long ago */

    /* spring_as_flush without please_keep: the rest. */
    ck_assert_rc(spring_as_flush(f.as, a, N * PS, false), 0);
    ms_expect(f.ms, 0, N * PS, 1);

    /* spring_vmm_sync: evicted pages went by page_out, resident ones by sync. */
    write_all(&f, a, N, 2);
    ck_assert_rc(spring_vmm_sync(f.vmm), 0);
    ms_expect(f.ms, 0, N * PS, 2);

    /* spring_as_flush with please_keep. */
    for (spring_off_t p = 0; p < 8; p++)
        write_page(f.as, a, p, 3);
    ck_assert_rc(spring_as_flush(f.as, a, N * PS, true), 0);
    ms_expect(f.ms, 0, 8 * PS, 3);
    for (spring_off_t p = 0; p < 8; p++)
        expect_page(f.as, a, p, 3, PS); /* kept, and right */

    /* spring_store_sync: the helper takes the data back itself. */
    write_all(&f, a, N, 4);
    ck_assert_rc(spring_store_sync(f.st), 0);
    ms_expect(f.ms, 0, N * PS, 4);
    if (kinds[_i] == &full_ops)
        ck_assert_uint_eq(f.ms->n_sync, 1);

    /* Teardown writes what is left. */
    for (spring_off_t p = 40; p < N; p++)
        write_page(f.as, a, p, 5);
    spring_as_destroy(f.as);
    f.as = NULL;
    spring_mobj_unref(m);
    spring_store_unref(f.st);
    f.st = NULL;
    ms_expect(f.ms, 0, 40 * PS, 4);
    ms_expect(f.ms, 40 * PS, (N - 40) * PS, 5);
    ck_assert_uint_eq(atomic_load(&f.ms->n_release), 1);

    /* Which slots carried the data. */
    if (kinds[_i] == &full_ops) {
        ck_assert_uint_eq(f.ms->n_read, 0); /* every page in was whole: read_pages */
        ck_assert_uint_eq(f.ms->n_write, 0);
        ck_assert_uint_ge(f.ms->n_read_pages, N);
        ck_assert_uint_ge(f.ms->n_write_pages, 1);
    } else {
        ck_assert_uint_ge(f.ms->n_read, N);
        ck_assert_uint_ge(f.ms->n_write, 3 * N);
    }
    sfx_fini(&f);
}
END_TEST

/* Failures injected where the helper calls the store (storecall.h): a
 * failed write leaves the data held and modified, and a later sync writes
 * it; a failed get_length fails the page-in with the store's code; an
 * unknown slot is refused. */
START_TEST(test_store_injected_failures)
{
    sfx_t f;
    sfx_setup(&f, "inject", 16, 8 * PS, kinds[_i], 0);
    ck_assert_rc(spring__test_store_fail(f.st, "no-such-slot", 1, SPRING_EIO), SPRING_EINVAL);
    ck_assert_rc(spring__test_store_fail(NULL, "write", 1, SPRING_EIO), SPRING_EINVAL);
    spring_mobj_t *m = view(f.st, SPRING_RIGHTS_RW);
    spring_addr_t a = map(f.as, m, 8 * PS, SPRING_RIGHTS_RW);
    write_all(&f, a, 8, 1);
    const char *slot = kinds[_i] == &full_ops ? "write_pages" : "write";
    ck_assert_rc(spring__test_store_fail(f.st, slot, 1, SPRING_ENOSPC), 0);
    ck_assert_rc(spring_store_sync(f.st), SPRING_ENOSPC);
    ck_assert_rc(spring_store_sync(f.st), 0);
    ms_expect(f.ms, 0, 8 * PS, 1);
    for (spring_off_t p = 0; p < 8; p++)
        expect_page(f.as, a, p, 1, PS);
    /* A page-in whose get_length fails. */
    ck_assert_rc(spring_as_flush(f.as, a, 8 * PS, false), 0);
    ck_assert_rc(spring__test_store_fail(f.st, "get_length", 1, SPRING_EIO), 0);
    uint8_t b;
    expect_pager_fail(spring_as_read(f.as, a, &b, 1), "SPRING_EIO");
    expect_page(f.as, a, 0, 1, PS);
    spring_as_destroy(f.as);
    f.as = NULL;
    spring_mobj_unref(m);
    sfx_fini(&f);
}
END_TEST

/* Blocks of several pages: read_pages is called once per block, and a
 * block the end cuts is read up to the end. */
START_TEST(test_store_blocks)
{
    sfx_t f;
    spring_off_t len = 10 * PS + PS / 2; /* blocks of 4 pages: 0-3, 4-7, 8-11 (cut in page 10) */
    sfx_setup(&f, "blocks", 32, 16 * PS, &full_ops, 4 * PS);
    spring_mobj_t *m = view(f.st, SPRING_RIGHTS_RW);
    spring_addr_t a = map(f.as, m, 16 * PS, SPRING_RIGHTS_RW);
    ms_shrink(f.ms, len); /* the store shrinks by itself, before any page-in */
    expect_page(f.as, a, 1, 0, PS);
    ck_assert_uint_eq(f.ms->n_read_pages, 1);
    ck_assert_uint_eq(f.ms->max_read_npages, 4);
    expect_page(f.as, a, 3, 0, PS); /* same block: no call */
    ck_assert_uint_eq(f.ms->n_read_pages, 1);
    expect_page(f.as, a, 9, 0, PS);
    ck_assert_uint_eq(f.ms->n_read_pages, 2); /* pages 8 and 9 */
    ck_assert_uint_eq(f.ms->read_pages_pages, 6);
    ck_assert_uint_eq(f.ms->n_read, 1);       /* page 10, up to the end */
    expect_page(f.as, a, 10, 0, PS / 2);
    expect_page(f.as, a, 11, 0, 0);           /* in the cut block, past the end: zero */
    uint8_t buf[8];
    expect_past_end(spring_as_read(f.as, a + 12 * PS, buf, sizeof buf));

    /* Writing the cut block back writes up to the end only. */
    write_page(f.as, a, 9, 1);
    write_page(f.as, a, 10, 1);
    write_page(f.as, a, 11, 1);
    ck_assert_rc(spring_as_flush(f.as, a, 16 * PS, false), 0);
    spring_off_t l;
    ck_assert_rc(spring_store_get_length(f.st, &l), 0);
    ck_assert_uint_eq(l, len);
    ms_expect(f.ms, 9 * PS, PS + PS / 2, 1);
    ms_expect(f.ms, 8 * PS, PS, 0);
    expect_page(f.as, a, 10, 1, PS / 2);
    expect_page(f.as, a, 11, 0, 0);
    spring_mobj_unref(m);
    sfx_fini(&f);
}
END_TEST

/* ------------------------------------------------------------------ */
/* The end of the store.                                                */

START_TEST(test_store_past_end)
{
    sfx_t f;
    spring_off_t len = 5 * PS + 100;
    sfx_setup(&f, "end", 32, 8 * PS, kinds[_i], 0);
    spring_mobj_t *m = view(f.st, SPRING_RIGHTS_RW);
    /* A mapping past the end is refused (ERANGE); within the length
     * rounded up to a page it is made. */
    ms_shrink(f.ms, len);
    spring_off_t l8 = 8 * PS;
    spring_addr_t a8 = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_map(f.as, m, 0, &l8, &a8, SPRING_RIGHTS_RW), SPRING_ERANGE);
    ck_assert_msg(strstr(spring_last_error(), "SPRING_ERANGE"), "%s", spring_last_error());
    ms_shrink(f.ms, 8 * PS);
    spring_addr_t a = map(f.as, m, 8 * PS, SPRING_RIGHTS_RW);
    ms_shrink(f.ms, len); /* then the end moves down (by itself, before any page-in) */
    expect_page(f.as, a, 4, 0, PS);
    expect_page(f.as, a, 5, 0, 100); /* the tail of the last page reads zero */
    uint8_t buf[16] = {0};
    /* Wholly past the end: the page_in fails with SPRING_ERANGE, the
     * access with SPRING_EPAGER. */
    expect_past_end(spring_as_read(f.as, a + 6 * PS, buf, sizeof buf));
    expect_past_end(spring_as_write(f.as, a + 7 * PS, buf, sizeof buf));
    expect_past_end(spring_as_fault(f.as, a + 6 * PS + 5, SPRING_RIGHTS_R));

    /* Bytes past the end of the last page can be written in the cache but
     * never reach the store, which does not grow. */
    memset(buf, 0xee, sizeof buf);
    ck_assert_rc(spring_as_write(f.as, a + 5 * PS + 10, buf, sizeof buf), 0);
    ck_assert_rc(spring_as_write(f.as, a + 5 * PS + 200, buf, sizeof buf), 0);
    ck_assert_rc(spring_as_flush(f.as, a, 8 * PS, false), 0);
    spring_off_t l;
    ck_assert_rc(spring_store_get_length(f.st, &l), 0);
    ck_assert_uint_eq(l, len);
    ck_assert_uint_eq(f.ms->bytes[5 * PS + 10], 0xee);
    ck_assert_uint_eq(f.ms->bytes[5 * PS + 25], 0xee);
    ck_assert_uint_eq(f.ms->bytes[5 * PS + 200], 0); /* past the end: never written */
    ms_expect(f.ms, 5 * PS, 10, 0);
    ms_expect(f.ms, 5 * PS + 26, 100 - 26, 0);
    /* Read again from the store: the scribble past the end is gone. */
    ck_assert_rc(spring_as_read(f.as, a + 5 * PS + 200, buf, sizeof buf), 0);
    for (size_t i = 0; i < sizeof buf; i++)
        ck_assert_uint_eq(buf[i], 0);
    spring_mobj_unref(m);
    sfx_fini(&f);
}
END_TEST

/* set_length: truncate then grow reads zeros (POSIX), cached pages past
 * the end go, data before the end stays; with one-page and four-page
 * blocks; through the store and through a view. */
START_TEST(test_store_truncate_grow)
{
    spring_off_t bs = _i == 0 ? 0 : 4 * PS;
    sfx_t f;
    sfx_setup(&f, "trunc", 64, 16 * PS, &full_ops, bs);
    spring_mobj_t *m = view(f.st, SPRING_RIGHTS_RW);
    spring_addr_t a = map(f.as, m, 16 * PS, SPRING_RIGHTS_RW);
    write_all(&f, a, 16, 1); /* all cached and modified */

    /* Truncate in the middle of page 5. */
    spring_off_t end = 5 * PS + 300;
    ck_assert_rc(spring_mobj_set_length(m, end), 0);
    spring_off_t l;
    ck_assert_rc(spring_store_get_length(f.st, &l), 0);
    ck_assert_uint_eq(l, end);
    ms_expect(f.ms, 5 * PS, 300, 1); /* the boundary page's bytes before the end went to the store */
    expect_page(f.as, a, 5, 1, 300);
    for (spring_off_t p = 0; p < 5; p++)
        expect_page(f.as, a, p, 1, PS); /* modified pages before the end are intact */
    /* Past the end: pages in the block the end cuts read zero, the blocks
     * after it cannot be paged in. */
    spring_off_t cut = _i == 0 ? 6 : 8;
    for (spring_off_t p = 6; p < cut; p++)
        expect_page(f.as, a, p, 0, 0);
    uint8_t buf[8];
    for (spring_off_t p = cut; p < 16; p++)
        expect_past_end(spring_as_read(f.as, a + p * PS, buf, sizeof buf));

    /* Grow: everything from the old end reads zero. */
    ck_assert_rc(spring_store_set_length(f.st, 12 * PS), 0);
    expect_page(f.as, a, 5, 1, 300);
    for (spring_off_t p = 6; p < 12; p++)
        expect_page(f.as, a, p, 0, 0);
    expect_past_end(spring_as_read(f.as, a + 12 * PS, buf, sizeof buf));

    /* A scribble past the end does not survive a growth either. */
    ck_assert_rc(spring_store_set_length(f.st, end), 0);
    memset(buf, 0x77, sizeof buf);
    ck_assert_rc(spring_as_write(f.as, a + 5 * PS + 1000, buf, sizeof buf), 0);
    ck_assert_rc(spring_store_set_length(f.st, 8 * PS), 0);
    expect_page(f.as, a, 5, 1, 300);

    /* Everything written back: the store is the model. */
    write_page(f.as, a, 7, 2);
    ck_assert_rc(spring_as_flush(f.as, a, 16 * PS, false), 0);
    ms_expect(f.ms, 0, end, 1);
    ms_expect_zero(f.ms, end, 7 * PS - end);
    ms_expect(f.ms, 7 * PS, PS, 2);
    ck_assert_rc(spring_store_get_length(f.st, &l), 0);
    ck_assert_uint_eq(l, 8 * PS);
    ck_assert_uint_eq(f.ms->n_set_length, 4);

    /* A failed set_length changes nothing. */
    ck_assert_rc(spring_store_set_length(f.st, 1024 * PS), SPRING_ENOSPC);
    ck_assert_rc(spring_store_get_length(f.st, &l), 0);
    ck_assert_uint_eq(l, 8 * PS);
    expect_page(f.as, a, 7, 2, PS);
    spring_mobj_unref(m);
    sfx_fini(&f);
}
END_TEST

/* The bytes past the end in the last page read zero also when the frame
 * the page-in is given last held this cache's own data: the VMM scrubs
 * only frames that held another cache's data (§7.4), so the zeros are the
 * helper's to write. */
START_TEST(test_store_tail_zero_own_frame)
{
    enum { N = 32 };
    sfx_t f;
    sfx_setup(&f, "tail", 16, N * PS, kinds[_i], 0); /* 32 pages through 16 frames: every frame holds one */
    spring_mobj_t *m = view(f.st, SPRING_RIGHTS_RW);
    spring_addr_t a = map(f.as, m, N * PS, SPRING_RIGHTS_RW);
    for (spring_off_t p = 0; p < N; p++)
        expect_page(f.as, a, p, 0, PS);
    ck_assert_uint_eq(test_vm_info(f.vmm).nframes, 16);
    const spring_off_t ends[] = {5 * PS + 100, 3 * PS + 1, PS + PS - 1};
    for (size_t k = 0; k < sizeof ends / sizeof *ends; k++) {
        /* Nothing cached: the frames are free and still hold the cache's
         * pages.  Then the store ends inside a page. */
        ck_assert_rc(spring_as_flush(f.as, a, N * PS, false), 0);
        ms_shrink(f.ms, ends[k]);
        spring_off_t last = ends[k] / PS;
        expect_page(f.as, a, last, 0, (size_t)(ends[k] % PS));
        if (last > 0)
            expect_page(f.as, a, last - 1, 0, PS);
    }
    spring_mobj_unref(m);
    sfx_fini(&f);
}
END_TEST

/* A view of a view (the view interface, pager.h) has at most its parent's
 * rights: asking for more is refused, asking for fewer gives a view that
 * shares the store's cache and cannot be mapped beyond its own rights. */
START_TEST(test_store_view_of_view)
{
    sfx_t f;
    sfx_setup(&f, "vov", 32, 8 * PS, &full_ops, 0);
    spring_mobj_t *ro = view(f.st, SPRING_RIGHTS_RO), *rw = view(f.st, SPRING_RIGHTS_RW);
    const spring_mobj_view_t *vro = spring_mobj_query(ro, SPRING_MOBJ_VIEW_INTERFACE, 1);
    const spring_mobj_view_t *vrw = spring_mobj_query(rw, SPRING_MOBJ_VIEW_INTERFACE, 1);
    ck_assert_ptr_nonnull(vro);
    ck_assert_ptr_nonnull(vrw);
    spring_mobj_t *const poison = (spring_mobj_t *)&f;
    spring_mobj_t *out = poison;
    /* More rights than the parent: refused, nothing made. */
    ck_assert_rc(vro->view(ro, SPRING_RIGHTS_RW, &out), SPRING_ERIGHTS);
    ck_assert_rc(vro->view(ro, SPRING_RIGHTS_RX, &out), SPRING_ERIGHTS);
    ck_assert_rc(vro->view(ro, SPRING_RIGHTS_RWX, &out), SPRING_ERIGHTS);
    ck_assert_rc(vrw->view(rw, SPRING_RIGHTS_RWX, &out), SPRING_ERIGHTS);
    ck_assert_rc(vrw->view(rw, SPRING_RIGHTS_RX, &out), SPRING_ERIGHTS);
    ck_assert_rc(vrw->view(rw, SPRING_RIGHTS_W, &out), SPRING_EINVAL);
    ck_assert_rc(vrw->view(rw, SPRING_RIGHTS_RO, NULL), SPRING_EINVAL);
    ck_assert_ptr_eq(out, poison);
    /* Fewer (or the same): a view of the same store, with those rights. */
    spring_mobj_t *ro2, *roro;
    ck_assert_rc(vrw->view(rw, SPRING_RIGHTS_RO, &ro2), 0);
    ck_assert_rc(vro->view(ro2, SPRING_RIGHTS_RO, &roro), 0);
    ck_assert_uint_eq(spring_store_mobj_rights(ro2), SPRING_RIGHTS_RO);
    ck_assert_uint_eq(spring_store_mobj_rights(roro), SPRING_RIGHTS_RO);
    ck_assert_ptr_eq(spring_store_data(roro), f.ms);
    spring_addr_t a = SPRING_ANYWHERE;
    spring_off_t l = 8 * PS;
    ck_assert_rc(spring_as_map(f.as, roro, 0, &l, &a, SPRING_RIGHTS_RW), SPRING_ERIGHTS);
    spring_addr_t arw = map(f.as, rw, 8 * PS, SPRING_RIGHTS_RW), aro = map(f.as, roro, 8 * PS, SPRING_RIGHTS_RO);
    ck_assert_rc(spring_as_change_access_rights(f.as, aro, 8 * PS, SPRING_RIGHTS_RW), SPRING_ERIGHTS);
    write_page(f.as, arw, 2, 1);
    expect_page(f.as, aro, 2, 1, PS); /* one cache */
    ck_assert_uint_eq(sfx_caches(&f), 1);
    spring_mobj_unref(roro);
    spring_mobj_unref(ro2);
    spring_mobj_unref(ro);
    spring_mobj_unref(rw);
    sfx_fini(&f);
}
END_TEST

/* The store shrinks, and grows again, while the helper still holds data
 * a failed spring_store_sync left it: the held bytes past the new end are
 * gone (they read zero after the growth, and never reach the store), the
 * held bytes before it stay and reach the store once writes work. */
START_TEST(test_store_shrink_while_held)
{
    sfx_t f;
    sfx_setup(&f, "heldshrink", 32, 8 * PS, &full_ops, 0);
    spring_mobj_t *m = view(f.st, SPRING_RIGHTS_RW);
    spring_addr_t a = map(f.as, m, 8 * PS, SPRING_RIGHTS_RW);
    write_all(&f, a, 8, 1);
    ms_set(f.ms, &f.ms->fail_write, SPRING_ENOSPC);
    ck_assert_rc(spring_store_sync(f.st), SPRING_ENOSPC); /* the helper holds the eight pages */
    ck_assert_rc(spring_as_flush(f.as, a, 8 * PS, false), 0); /* clean now: dropped */
    ms_expect(f.ms, 0, 8 * PS, 0);
    /* Shrink into page 2: the length changes, the held data before the
     * end still cannot be written. */
    const spring_off_t end = 2 * PS + 100;
    ck_assert_rc(spring_store_set_length(f.st, end), SPRING_ENOSPC);
    spring_off_t l;
    ck_assert_rc(spring_store_get_length(f.st, &l), 0);
    ck_assert_uint_eq(l, end);
    expect_page(f.as, a, 1, 1, PS);
    expect_page(f.as, a, 2, 1, 100);
    uint8_t buf[8];
    expect_past_end(spring_as_read(f.as, a + 3 * PS, buf, sizeof buf));
    /* Grow again, the data still held: from the old end on, zeros. */
    ck_assert_rc(spring_store_set_length(f.st, 8 * PS), SPRING_ENOSPC);
    expect_page(f.as, a, 2, 1, 100);
    for (spring_off_t p = 3; p < 8; p++)
        expect_page(f.as, a, p, 0, 0);
    /* Writes work again: the held data reaches the store, and only it. */
    ms_set(f.ms, &f.ms->fail_write, 0);
    ck_assert_rc(spring_store_sync(f.st), 0);
    ms_expect(f.ms, 0, end, 1);
    ms_expect_zero(f.ms, end, 8 * PS - end);
    ck_assert_rc(spring_as_flush(f.as, a, 8 * PS, false), 0);
    expect_page(f.as, a, 0, 1, PS);
    expect_page(f.as, a, 2, 1, 100);
    for (spring_off_t p = 3; p < 8; p++)
        expect_page(f.as, a, p, 0, 0);
    spring_mobj_unref(m);
    sfx_fini(&f);
}
END_TEST

/* ------------------------------------------------------------------ */
/* final_bind (§7.5).                                                   */

struct hook_arg {
    spring_vmm_t *vmm;
    int mode;      /* 1: forge the cache-rights; 2: reclaim the cache */
    int reclaimed; /* what spring_vmm_reclaim_caches returned */
    int calls;
};

static void bind_hook(void *arg, int where, spring_cache_rights_t *rights)
{
    struct hook_arg *h = arg;
    if (where != 1)
        return;
    h->calls++;
    if (h->mode == 1)
        rights->h ^= 0x5a5a5a5a00000000ULL; /* not a handle the VMM issued */
    else if (h->mode == 2)
        h->reclaimed = spring_vmm_reclaim_caches(h->vmm, 0);
}

START_TEST(test_store_final_bind)
{
    sfx_t f;
    sfx_setup(&f, "final", 64, 8 * PS, kinds[_i], 0);
    struct hook_arg h = {.vmm = f.vmm};
    spring__test_store_hook(f.st, bind_hook, &h);
    spring_mobj_t *rw = view(f.st, SPRING_RIGHTS_RW), *ro = view(f.st, SPRING_RIGHTS_RO);

    /* Forged rights for a new cache: final_bind binds the cache bind made. */
    h.mode = 1;
    spring_addr_t a = map(f.as, rw, 8 * PS, SPRING_RIGHTS_RW);
    ck_assert_int_eq(h.calls, 1);
    ck_assert_uint_eq(sfx_caches(&f), 1);
    write_page(f.as, a, 2, 1);
    /* Again for the read-only view: the same cache, with its rights. */
    spring_addr_t b = map(f.as, ro, 8 * PS, SPRING_RIGHTS_RO);
    ck_assert_uint_eq(sfx_caches(&f), 1);
    expect_page(f.as, b, 2, 1, PS);
    uint8_t byte = 0;
    ck_assert_rc(spring_as_write(f.as, b + 2 * PS, &byte, 1), SPRING_EACCES);
    ck_assert_rc(spring_as_change_access_rights(f.as, b, 8 * PS, SPRING_RIGHTS_RW), SPRING_ERIGHTS);
    spring_addr_t c = SPRING_ANYWHERE;
    spring_off_t l = 8 * PS;
    ck_assert_rc(spring_as_map(f.as, ro, 0, &l, &c, SPRING_RIGHTS_RW), SPRING_ERIGHTS);

    /* The cache is reclaimed between bind and the VMM's look at its
     * answer: final_bind makes a new cache bound to the key; the data went
     * to the store with the reclamation. */
    ck_assert_rc(spring_as_unmap(f.as, a, 8 * PS), 0);
    ck_assert_rc(spring_as_unmap(f.as, b, 8 * PS), 0);
    h.mode = 2;
    a = map(f.as, rw, 8 * PS, SPRING_RIGHTS_RW);
    ck_assert_int_eq(h.reclaimed, 1);
    ms_expect(f.ms, 2 * PS, PS, 1);
    ck_assert_uint_eq(sfx_caches(&f), 1);
    expect_page(f.as, a, 2, 1, PS);
    write_page(f.as, a, 3, 2);
    /* The cache final_bind made is the store's cache from now on. */
    h.mode = 0;
    b = map(f.as, ro, 8 * PS, SPRING_RIGHTS_RO);
    ck_assert_uint_eq(sfx_caches(&f), 1);
    expect_page(f.as, b, 3, 2, PS);
    ck_assert_rc(spring_as_write(f.as, b + 3 * PS, &byte, 1), SPRING_EACCES);

    /* Reclaimed while the read-only view binds: its new cache still has
     * read-only rights for that view. */
    ck_assert_rc(spring_as_unmap(f.as, a, 8 * PS), 0);
    ck_assert_rc(spring_as_unmap(f.as, b, 8 * PS), 0);
    h.mode = 2;
    b = map(f.as, ro, 8 * PS, SPRING_RIGHTS_RO);
    ck_assert_int_eq(h.reclaimed, 1);
    ck_assert_rc(spring_as_change_access_rights(f.as, b, 8 * PS, SPRING_RIGHTS_RW), SPRING_ERIGHTS);
    expect_page(f.as, b, 3, 2, PS);
    h.mode = 0;
    a = map(f.as, rw, 8 * PS, SPRING_RIGHTS_RW);
    ck_assert_uint_eq(sfx_caches(&f), 1);
    write_page(f.as, a, 4, 3);
    expect_page(f.as, b, 4, 3, PS);
    spring_mobj_unref(rw);
    spring_mobj_unref(ro);
    sfx_fini(&f);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Failing and odd stores.                                              */

/* A read that fails fails the access with the store's code and corrupts
 * nothing; once the store recovers, the page reads right. */
START_TEST(test_store_read_error)
{
    sfx_t f;
    sfx_setup(&f, "rderr", 32, 8 * PS, kinds[_i], 0);
    spring_mobj_t *m = view(f.st, SPRING_RIGHTS_RW);
    spring_addr_t a = map(f.as, m, 8 * PS, SPRING_RIGHTS_RW);
    write_page(f.as, a, 2, 1);
    pthread_mutex_lock(&f.ms->lock);
    f.ms->fail_read = SPRING_EOVERFLOW;
    f.ms->fail_read_page = 3 * PS;
    pthread_mutex_unlock(&f.ms->lock);
    uint8_t buf[PS];
    expect_pager_fail(spring_as_read(f.as, a + 3 * PS, buf, PS), "SPRING_EOVERFLOW");
    memset(buf, 0x11, PS);
    expect_pager_fail(spring_as_write(f.as, a + 3 * PS, buf, PS), "SPRING_EOVERFLOW");
    expect_page(f.as, a, 4, 0, PS); /* other pages are fine */
    expect_page(f.as, a, 2, 1, PS);
    CHECK_VMM(f.vmm);
    ms_set(f.ms, &f.ms->fail_read, 0);
    expect_page(f.as, a, 3, 0, PS);
    ck_assert_rc(spring_as_flush(f.as, a, 8 * PS, false), 0);
    ms_expect(f.ms, 0, 2 * PS, 0);
    ms_expect(f.ms, 2 * PS, PS, 1);
    ms_expect(f.ms, 3 * PS, 5 * PS, 0);
    spring_mobj_unref(m);
    sfx_fini(&f);
}
END_TEST

/* get_length failing; writes failing in page_out and in
 * spring_store_sync (nothing lost: the data stays with the VMM or the
 * helper, and page-ins see it); codes that are not SPRING_E* codes. */
START_TEST(test_store_hostile)
{
    sfx_t f;
    sfx_setup(&f, "hostile", 32, 8 * PS, kinds[_i], 0);
    spring_mobj_t *m = view(f.st, SPRING_RIGHTS_RW);
    spring_addr_t a = map(f.as, m, 8 * PS, SPRING_RIGHTS_RW);
    write_page(f.as, a, 0, 1);
    uint8_t buf[PS];

    /* get_length fails: page-ins and page-outs fail, the lengths too. */
    ms_set(f.ms, &f.ms->fail_get_length, SPRING_ENOSPC);
    expect_pager_fail(spring_as_read(f.as, a + PS, buf, PS), "SPRING_ENOSPC");
    spring_off_t l;
    ck_assert_rc(spring_store_get_length(f.st, &l), SPRING_ENOSPC);
    ck_assert_rc(spring_mobj_get_length(m, &l), SPRING_ENOSPC);
    ck_assert_rc(spring_as_flush(f.as, a, 8 * PS, false), SPRING_ENOSPC); /* passed through: "no space" */
    expect_page(f.as, a, 0, 1, PS); /* still cached and modified */
    ms_set(f.ms, &f.ms->fail_get_length, 0);
    ck_assert_rc(spring_as_flush(f.as, a, 8 * PS, false), 0);
    ms_expect(f.ms, 0, PS, 1);

    /* write fails in a page_out: the VMM keeps the data. */
    write_page(f.as, a, 1, 2);
    ms_set(f.ms, &f.ms->fail_write, SPRING_ENOSPC);
    ck_assert_rc(spring_as_flush(f.as, a, 8 * PS, false), SPRING_ENOSPC);
    ck_assert_ptr_nonnull(strstr(spring_last_error(), "SPRING_ENOSPC"));
    expect_page(f.as, a, 1, 2, PS);
    ms_expect(f.ms, PS, PS, 0);

    /* write fails in spring_store_sync: the cache counts the data as clean,
     * the helper keeps it; a flush now drops the page without a page_out,
     * and the next page-in still sees the data. */
    write_page(f.as, a, 2, 3);
    ck_assert_rc(spring_store_sync(f.st), SPRING_ENOSPC);
    spring_pager_stats_t s0 = {.size = sizeof s0}, s1 = {.size = sizeof s1};
    ck_assert_rc(spring_as_pager_stats(f.as, a, &s0), 0);
    ck_assert_rc(spring_as_flush(f.as, a, 8 * PS, false), 0);
    ck_assert_rc(spring_as_pager_stats(f.as, a, &s1), 0);
    ck_assert_uint_eq(s1.page_outs, s0.page_outs); /* nothing modified was left */
    ms_expect(f.ms, PS, 2 * PS, 0);
    expect_page(f.as, a, 1, 2, PS);
    expect_page(f.as, a, 2, 3, PS);
    ck_assert_rc(spring_store_sync(f.st), SPRING_ENOSPC); /* still failing */
    ms_set(f.ms, &f.ms->fail_write, 0);
    ck_assert_rc(spring_store_sync(f.st), 0);
    ms_expect(f.ms, PS, PS, 2);
    ms_expect(f.ms, 2 * PS, PS, 3);

    /* A newer write wins over the kept data. */
    write_page(f.as, a, 4, 4);
    ms_set(f.ms, &f.ms->fail_write, SPRING_ENOSPC);
    ck_assert_rc(spring_store_sync(f.st), SPRING_ENOSPC);
    ms_set(f.ms, &f.ms->fail_write, 0);
    write_page(f.as, a, 4, 5);
    ck_assert_rc(spring_as_flush(f.as, a, 8 * PS, false), 0); /* page_out of generation 5 */
    ck_assert_rc(spring_store_sync(f.st), 0);
    ms_expect(f.ms, 4 * PS, PS, 5);
    expect_page(f.as, a, 4, 5, PS);

    /* Codes that are not SPRING_E* codes are protocol errors. */
    ms_set(f.ms, &f.ms->fail_get_length, 5);
    ck_assert_rc(spring_store_get_length(f.st, &l), SPRING_EPROTO);
    expect_pager_fail(spring_as_read(f.as, a + 6 * PS, buf, PS), "SPRING_EPROTO");
    ms_set(f.ms, &f.ms->fail_get_length, -1000);
    ck_assert_rc(spring_store_get_length(f.st, &l), SPRING_EPROTO);
    ms_set(f.ms, &f.ms->fail_get_length, 0);
    if (kinds[_i] == &full_ops) {
        ms_set(f.ms, &f.ms->fail_sync, SPRING_EPAGER);
        ck_assert_rc(spring_store_sync(f.st), SPRING_EPAGER);
        ms_set(f.ms, &f.ms->fail_sync, 0);
        ck_assert_rc(spring_store_sync(f.st), 0);
    }
    CHECK_VMM(f.vmm);
    spring_mobj_unref(m);
    sfx_fini(&f);
}
END_TEST

/* A page_out of newer data that reaches the store after spring_store_sync
 * took a page back but before it kept it: the newer data stays. */
struct race_arg {
    sfx_t *f;
    spring_addr_t a;
    int calls;
};

static void race_hook(void *arg, int where, spring_cache_rights_t *rights)
{
    struct race_arg *r = arg;
    if (where != 2 || r->calls++ != 0)
        return;
    /* Page 1 is cached and clean now: write it again and push it out. */
    write_page(r->f->as, r->a, 1, 2);
    ck_assert_rc(spring_as_flush(r->f->as, r->a + PS, PS, false), 0);
    ms_expect(r->f->ms, PS, PS, 2);
}

START_TEST(test_store_sync_newer_page_out)
{
    sfx_t f;
    sfx_setup(&f, "newer", 32, 4 * PS, kinds[_i], 0);
    spring_mobj_t *m = view(f.st, SPRING_RIGHTS_RW);
    struct race_arg r = {&f, map(f.as, m, 4 * PS, SPRING_RIGHTS_RW), 0};
    write_page(f.as, r.a, 1, 1);
    write_page(f.as, r.a, 2, 1);
    spring__test_store_hook(f.st, race_hook, &r);
    ck_assert_rc(spring_store_sync(f.st), 0);
    ck_assert_int_eq(r.calls, 1);
    spring__test_store_hook(f.st, NULL, NULL);
    ms_expect(f.ms, PS, PS, 2);  /* not overwritten with the older data */
    ms_expect(f.ms, 2 * PS, PS, 1);
    expect_page(f.as, r.a, 1, 2, PS); /* paged in again: the store, no stale kept data */
    ck_assert_rc(spring_store_sync(f.st), 0);
    ms_expect(f.ms, PS, PS, 2);
    spring_mobj_unref(m);
    sfx_fini(&f);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Lifetime: release exactly once, after the last view, cache and
 * creator reference.                                                   */

START_TEST(test_store_release_once)
{
    for (int order = 0; order < 5; order++) {
        sfx_t f;
        spring_store_config_t cfg;
        spring_store_config_init(&cfg);
        cfg.keep_unattached = order != 3;
        sfx_setup_cfg(&f, "life", 32, 8 * PS, kinds[_i], &cfg);
        mstore_t *ms = f.ms;
        spring_mobj_t *m = view(f.st, SPRING_RIGHTS_RW);
        spring_addr_t a = map(f.as, m, 8 * PS, SPRING_RIGHTS_RW);
        write_page(f.as, a, 1, 1);
        ck_assert_rc(spring_as_unmap(f.as, a, 8 * PS), 0);
        switch (order) {
        case 0: /* the creator first, then the view */
            spring_store_unref(f.st);
            f.st = NULL;
            ck_assert_uint_eq(atomic_load(&ms->n_release), 0);
            spring_mobj_unref(m);
            break;
        case 1: /* the view first: the cache stays for the creator */
            spring_mobj_unref(m);
            ck_assert_uint_eq(sfx_caches(&f), 1);
            ck_assert_uint_eq(atomic_load(&ms->n_release), 0);
            spring_store_unref(f.st);
            f.st = NULL;
            break;
        case 2: /* the VMM reclaims the cache first; an extra reference */
            ck_assert_int_eq(spring_vmm_reclaim_caches(f.vmm, 0), 1);
            ck_assert_uint_eq(sfx_caches(&f), 0);
            ms_expect(ms, PS, PS, 1);
            ck_assert_ptr_eq(spring_store_ref(f.st), f.st);
            spring_mobj_unref(m);
            spring_store_unref(f.st);
            ck_assert_uint_eq(atomic_load(&ms->n_release), 0);
            spring_store_unref(f.st);
            f.st = NULL;
            break;
        case 3: /* keep_unattached false: the unmap reclaimed the cache */
            ck_assert_uint_eq(sfx_caches(&f), 0);
            ms_expect(ms, PS, PS, 1);
            spring_store_unref(f.st);
            f.st = NULL;
            ck_assert_uint_eq(atomic_load(&ms->n_release), 0);
            spring_mobj_unref(m);
            break;
        case 4: { /* the VMM goes first: it pages the data out, destroys the cache */
            spring_mobj_unref(m);
            spring_as_destroy(f.as);
            f.as = NULL;
            spring_vmm_t *vmm = f.vmm;
            ck_assert_rc(spring_registry_remove_vmm(f.reg, vmm), 0);
            ck_assert_rc(spring_vmm_destroy(vmm), 0);
            ms_expect(ms, PS, PS, 1);
            ck_assert_uint_eq(atomic_load(&ms->n_release), 0);
            spring_store_unref(f.st);
            ck_assert_uint_eq(atomic_load(&ms->n_release), 1);
            spring_registry_destroy(f.reg);
            ms_ok(ms);
            ms_free(ms);
            continue;
        }
        }
        ck_assert_uint_eq(atomic_load(&ms->n_release), 1);
        ck_assert_uint_eq(sfx_caches(&f), 0);
        ms_expect(ms, PS, PS, 1);
        ms_expect(ms, 0, PS, 0);
        sfx_fini(&f);
    }
}
END_TEST

/* ------------------------------------------------------------------ */
/* Concurrency: paging, eviction and spring_store_sync at once.          */

enum { CC_PAGES = 48, CC_WRITERS = 2, CC_OPS = 1500 };

struct cc {
    sfx_t *f;
    spring_addr_t a;
    unsigned gen[CC_PAGES]; /* the last generation written to each page (its writer's) */
    atomic_int writers_done;
    atomic_uint enoframes;  /* accesses tried again after SPRING_ENOFRAMES */
    unsigned seed;
    char err[200];
    atomic_int failed;
};

struct cc_w {
    struct cc *cc;
    int k;
};

static void cc_fail(struct cc *cc, const char *msg, spring_off_t page, int rc)
{
    if (atomic_exchange(&cc->failed, 1) == 0)
        snprintf(cc->err, sizeof cc->err, "%s: page %llu: %s (seed %u)", msg, (unsigned long long)page,
                 spring_err_name(rc), cc->seed);
}

/* An access, tried again when it fails with SPRING_ENOFRAMES.  That code
 * is not the helper's: a thread that needs a frame while every block is in
 * transit waits on the VMM's frame condition for up to a second, and the
 * blocks a spring_cache_write_back() holds are not counted as in transit
 * nor announced when they leave it (libvm/cache/pagerops.c take_data), so on a
 * slow run (ThreadSanitizer) such a wait can end in SPRING_ENOFRAMES.  The
 * data checks below are what this test is about. */
static int cc_access(struct cc *cc, bool write, spring_off_t p, uint8_t *buf)
{
    int rc;
    for (int tries = 0; tries < 20; tries++) {
        rc = write ? spring_as_write(cc->f->as, cc->a + p * PS, buf, PS)
                   : spring_as_read(cc->f->as, cc->a + p * PS, buf, PS);
        if (rc != SPRING_ENOFRAMES)
            break;
        atomic_fetch_add(&cc->enoframes, 1);
    }
    return rc;
}

static bool cc_check(struct cc *cc, spring_off_t p, const uint8_t *buf)
{
    for (size_t i = 0; i < PS; i++)
        if (buf[i] != gen_byte(p * PS + i, cc->gen[p]))
            return false;
    return true;
}

static void *cc_writer(void *arg)
{
    struct cc_w *w = arg;
    struct cc *cc = w->cc;
    unsigned r = cc->seed + (unsigned)w->k * 7919;
    uint8_t *buf = malloc(PS);
    const spring_off_t per = CC_PAGES / CC_WRITERS;
    for (int i = 0; i < CC_OPS && !atomic_load(&cc->failed); i++) {
        spring_off_t p = (spring_off_t)w->k * per + (spring_off_t)(rand_r(&r) % per);
        if (rand_r(&r) % 3 == 0) {
            /* A read: must show the last generation this thread wrote. */
            int rc = cc_access(cc, false, p, buf);
            if (rc != 0)
                cc_fail(cc, "read failed", p, rc);
            else if (!cc_check(cc, p, buf))
                cc_fail(cc, "read shows stale data", p, rc);
            continue;
        }
        unsigned g = cc->gen[p] + 1;
        for (size_t k = 0; k < PS; k++)
            buf[k] = gen_byte(p * PS + k, g);
        int rc = cc_access(cc, true, p, buf);
        if (rc != 0) {
            cc_fail(cc, "write failed", p, rc);
            break;
        }
        cc->gen[p] = g;
    }
    free(buf);
    atomic_fetch_add(&cc->writers_done, 1);
    return NULL;
}

static void *cc_syncer(void *arg)
{
    struct cc *cc = arg;
    while (atomic_load(&cc->writers_done) < CC_WRITERS && !atomic_load(&cc->failed)) {
        int rc = spring_store_sync(cc->f->st);
        if (rc != 0)
            cc_fail(cc, "spring_store_sync", 0, rc);
    }
    return NULL;
}

START_TEST(test_store_concurrent_sync)
{
    sfx_t f;
    sfx_setup(&f, "conc", 16, CC_PAGES * PS, kinds[_i], 0);
    spring_mobj_t *m = view(f.st, SPRING_RIGHTS_RW);
    static struct cc cc; /* big: not on the stack */
    memset(&cc, 0, sizeof cc);
    cc.f = &f;
    cc.a = map(f.as, m, CC_PAGES * PS, SPRING_RIGHTS_RW);
    const char *s = getenv("STORE_SEED");
    cc.seed = s != NULL ? (unsigned)strtoul(s, NULL, 0) : 12345u + (unsigned)_i;
    printf("check_store: concurrent_sync seed %u (STORE_SEED=%u reproduces it)\n", cc.seed, cc.seed);
    pthread_t w[CC_WRITERS], sy;
    struct cc_w wa[CC_WRITERS];
    for (int k = 0; k < CC_WRITERS; k++) {
        wa[k] = (struct cc_w){&cc, k};
        ck_assert_int_eq(pthread_create(&w[k], NULL, cc_writer, &wa[k]), 0);
    }
    ck_assert_int_eq(pthread_create(&sy, NULL, cc_syncer, &cc), 0);
    for (int k = 0; k < CC_WRITERS; k++)
        pthread_join(w[k], NULL);
    pthread_join(sy, NULL);
    ck_assert_msg(!atomic_load(&cc.failed), "%s", cc.err);
    if (atomic_load(&cc.enoframes) != 0)
        printf("check_store: concurrent_sync: %u accesses tried again after SPRING_ENOFRAMES\n",
               atomic_load(&cc.enoframes));
    ck_assert_rc(spring_store_sync(f.st), 0);
    for (spring_off_t p = 0; p < CC_PAGES; p++)
        ms_expect(f.ms, p * PS, PS, cc.gen[p]);
    spring_pager_stats_t st = {.size = sizeof st};
    ck_assert_rc(spring_as_pager_stats(f.as, cc.a, &st), 0);
    ck_assert_uint_ge(st.page_outs, 1); /* eviction did run alongside */
    spring_mobj_unref(m);
    sfx_fini(&f);
}
END_TEST

/* ------------------------------------------------------------------ */
/* discard: a store serving anonymous memory (an address space's swap   */
/* pager) frees what it stored for memory that is unmapped.             */

struct astore {
    mstore_t *ms;
    atomic_uint n_discard;
    atomic_llong discarded;   /* bytes, over all calls */
    atomic_int delay_ms;      /* the next discard sleeps this long first */
    atomic_bool discarding;   /* a delayed discard is running */
    spring_as_t *alloc_in;    /* the next discard allocates a page here (a pager may) */
    spring_off_t last_off, last_len;
};

static int as_read(void *self, spring_off_t off, void *buf, size_t n)
{
    return ms_read(((struct astore *)self)->ms, off, buf, n);
}

static int as_write(void *self, spring_off_t off, const void *buf, size_t n)
{
    return ms_write(((struct astore *)self)->ms, off, buf, n);
}

static int as_get_length(void *self, spring_off_t *len)
{
    return ms_get_length(((struct astore *)self)->ms, len);
}

static int as_discard(void *self, spring_off_t off, spring_off_t len)
{
    struct astore *a = self;
    spring_as_t *as = a->alloc_in;
    if (as != NULL) {
        a->alloc_in = NULL;
        spring_off_t l = PS;
        spring_addr_t at = SPRING_ANYWHERE;
        ck_assert_rc(spring_as_allocate_memory(as, &l, &at, SPRING_RIGHTS_RW), 0); /* must not wait for us */
    }
    int d = atomic_exchange(&a->delay_ms, 0);
    if (d > 0) {
        atomic_store(&a->discarding, true);
        usleep((useconds_t)d * 1000);
    }
    pthread_mutex_lock(&a->ms->lock);
    if (off + len > a->ms->len || len <= 0 || off % PS || len % PS)
        ms_bad(a->ms, "discard", off, (size_t)len);
    else
        memset(a->ms->bytes + off, 0, (size_t)len);
    a->last_off = off;
    a->last_len = len;
    pthread_mutex_unlock(&a->ms->lock);
    atomic_fetch_add(&a->n_discard, 1);
    atomic_fetch_add(&a->discarded, (long long)len);
    if (d > 0)
        atomic_store(&a->discarding, false);
    return 0;
}

static const spring_store_ops_t anon_ops = {
    .version = SPRING_STORE_OPS_VERSION,
    .read = as_read,
    .write = as_write,
    .get_length = as_get_length,
    .discard = as_discard,
};

struct aswap {
    spring_registry_t *reg;
    struct astore a;
    mstore_t *ms;
};

static int aw_create(void *self, spring_off_t length, spring_mobj_t **out)
{
    struct aswap *w = self;
    /* one object: the address space's default anonymous object */
    ck_assert_ptr_null(w->ms);
    w->ms = w->a.ms = ms_new(length);
    memset(w->ms->bytes, 0, w->ms->cap); /* anonymous memory: zero */
    spring_store_config_t cfg;
    spring_store_config_init(&cfg);
    cfg.registry = w->reg;
    cfg.kind = SPRING_CACHE_ANON;
    spring_store_t *st;
    int rc = spring_store_new(&anon_ops, &w->a, &cfg, &st);
    if (rc == 0) {
        rc = spring_store_mobj(st, SPRING_RIGHTS_RWX, out);
        spring_store_unref(st);
    }
    return rc;
}

static const spring_swap_pager_ops_t aw_ops = {.version = SPRING_SWAP_PAGER_OPS_VERSION, .create_mobj = aw_create};

struct unmapper {
    spring_as_t *as;
    spring_addr_t at;
};

static void *unmap_thread(void *arg)
{
    struct unmapper *u = arg;
    ck_assert_rc(spring_as_unmap(u->as, u->at, PS), 0);
    return NULL;
}

/* The store's discard is called for memory allocated and unmapped, with
 * the range; what it dropped is never read back.  An allocation of the
 * range an unmap is still telling the store about waits until the store
 * is told, so that the late discard cannot wipe the new memory's data. */
START_TEST(test_store_discard)
{
    spring_registry_t *reg;
    spring_vmm_t *vmm = test_vmm("discard", 64, &reg);
    spring_as_options_t o;
    spring_as_options_init(&o);
    o.limit = 256 * PS;
    spring_as_t *as;
    ck_assert_rc(spring_as_new(vmm, &o, &as), 0);
    struct aswap w = {.reg = reg};
    ck_assert_rc(spring_as_set_swap_pager(as, &aw_ops, &w), 0);
    spring_off_t len = 2 * PS;
    spring_addr_t x = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_allocate_memory(as, &len, &x, SPRING_RIGHTS_RW), 0);
    ck_assert_ptr_nonnull(w.ms);
    ck_assert_uint_ge(atomic_load(&w.a.n_discard), 1); /* the allocation's range */
    ck_assert_int_eq(w.a.last_len, 2 * PS);
    ck_assert_rc(spring_as_write(as, x, "old", 4), 0);
    ck_assert_rc(spring_as_flush(as, x, 2 * PS, false), 0);
    ck_assert(memcmp(w.ms->bytes + w.a.last_off, "old", 4) == 0); /* the store has it */
    spring_off_t where = w.a.last_off;
    unsigned before = atomic_load(&w.a.n_discard);
    ck_assert_rc(spring_as_unmap(as, x + PS, PS), 0); /* part of it: the part's range */
    ck_assert_uint_eq(atomic_load(&w.a.n_discard), before + 1);
    ck_assert_int_eq(w.a.last_off, where + PS);
    ck_assert_int_eq(w.a.last_len, PS);
    ck_assert(memcmp(w.ms->bytes + where, "old", 4) == 0);
    /* The race: an unmap whose discard is slow, an allocation of the same
     * range meanwhile, data written there and paged out. */
    struct unmapper u = {as, x};
    atomic_store(&w.a.delay_ms, 300);
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, unmap_thread, &u), 0);
    while (!atomic_load(&w.a.discarding))
        usleep(1000);
    spring_addr_t y = x;
    len = PS;
    ck_assert_rc(spring_as_allocate_memory(as, &len, &y, SPRING_RIGHTS_RW), 0);
    ck_assert_msg(!atomic_load(&w.a.discarding), "the allocation returned while the unmap's discard was running");
    ck_assert_rc(spring_as_write(as, x, "new data", 9), 0);
    ck_assert_rc(spring_as_flush(as, x, PS, false), 0);
    ck_assert_int_eq(pthread_join(th, NULL), 0);
    char buf[16] = {0};
    ck_assert_rc(spring_as_read(as, x, buf, 9), 0);
    ck_assert_str_eq(buf, "new data");
    ck_assert(memcmp(w.ms->bytes + where, "new data", 9) == 0);
    /* A discard that allocates elsewhere in the same address space (from
     * inside the pager) does not wait for itself. */
    w.a.alloc_in = as;
    ck_assert_rc(spring_as_unmap(as, x, PS), 0);
    ck_assert_ptr_null(w.a.alloc_in);
    /* One unmap over many regions (more than one chunk of them), the first
     * cut in two: every byte of them is told. */
    spring_addr_t r0 = 64 * PS;
    len = 2 * PS;
    ck_assert_rc(spring_as_allocate_memory(as, &len, &r0, SPRING_RIGHTS_RW), 0);
    for (int i = 0; i < 40; i++) {
        spring_addr_t ri = r0 + (spring_addr_t)(2 + i) * PS;
        len = PS;
        ck_assert_rc(spring_as_allocate_memory(as, &len, &ri, SPRING_RIGHTS_RW), 0);
    }
    long long told = atomic_load(&w.a.discarded);
    ck_assert_rc(spring_as_unmap(as, r0 + PS, 41 * PS), 0);
    ck_assert_int_eq(atomic_load(&w.a.discarded) - told, 41 * PS);
    ck_assert_msg(!w.ms->bad, "%s", w.ms->why);
    /* The last reference to a store of anonymous memory goes while its
     * cache holds modified pages: they are not written to the store (a
     * store of data would get them). */
    for (int kind = 0; kind < 2; kind++) {
        mstore_t *ms = ms_new(8 * PS);
        spring_store_config_t cfg;
        spring_store_config_init(&cfg);
        cfg.registry = reg;
        cfg.kind = kind ? SPRING_CACHE_ANON : SPRING_CACHE_DATA;
        spring_store_t *st;
        spring_mobj_t *m;
        ck_assert_rc(spring_store_new(&min_ops, ms, &cfg, &st), 0);
        ck_assert_rc(spring_store_mobj(st, SPRING_RIGHTS_RW, &m), 0);
        spring_addr_t z = SPRING_ANYWHERE;
        len = 3 * PS;
        ck_assert_rc(spring_as_map(as, m, 0, &len, &z, SPRING_RIGHTS_RW), 0);
        for (int i = 0; i < 3; i++)
            ck_assert_rc(spring_as_write(as, z + (spring_addr_t)i * PS, "dirty", 6), 0);
        ck_assert_rc(spring_as_unmap(as, z, len), 0);
        spring_mobj_unref(m);
        spring_store_unref(st);
        ck_assert_uint_eq(ms->n_write, (kind ? 0u : 3u));
        ms_free(ms);
    }
    spring_as_destroy(as);
    ck_assert_rc(spring_registry_remove_vmm(reg, vmm), 0);
    ck_assert_rc(spring_vmm_destroy(vmm), 0);
    spring_registry_destroy(reg);
    ms_free(w.ms);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("store");
    TCase *t = tcase_create("helper");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, test_store_illegal);
    tcase_add_test(t, test_store_bind_refused);
    tcase_add_loop_test(t, test_store_views_share_cache, 0, 2);
    tcase_add_loop_test(t, test_store_two_vmms, 0, 2);
    tcase_add_loop_test(t, test_store_data_reaches_store, 0, 2);
    tcase_add_loop_test(t, test_store_injected_failures, 0, 2);
    tcase_add_test(t, test_store_blocks);
    tcase_add_loop_test(t, test_store_past_end, 0, 2);
    tcase_add_loop_test(t, test_store_truncate_grow, 0, 2);
    tcase_add_loop_test(t, test_store_tail_zero_own_frame, 0, 2);
    tcase_add_test(t, test_store_view_of_view);
    tcase_add_test(t, test_store_shrink_while_held);
    tcase_add_loop_test(t, test_store_final_bind, 0, 2);
    tcase_add_loop_test(t, test_store_read_error, 0, 2);
    tcase_add_loop_test(t, test_store_hostile, 0, 2);
    tcase_add_loop_test(t, test_store_sync_newer_page_out, 0, 2);
    tcase_add_loop_test(t, test_store_release_once, 0, 2);
    tcase_add_loop_test(t, test_store_concurrent_sync, 0, 2);
    tcase_add_test(t, test_store_discard);
    suite_add_tcase(s, t);
    return s;
}
