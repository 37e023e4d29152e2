/*
 * check_api.c - the public API, function by function: legal uses and a
 * table of illegal ones with the exact error each gets.  Built twice: over
 * the soft HAT and over the recording HAT (TEST_RECORDING_HAT).
 *
 * One section per public header: common.h and error.h, hat.h, pager.h,
 * vmm.h (VMM, vmm object, registry), cache.h, as.h.  Each illegal call that
 * must leave state unchanged is followed by a check that it did.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "testhooks.h"
#include "testlib.h"
#include "testmain.h"

#ifndef TEST_RECORDING_HAT
#define TEST_RECORDING_HAT 0
#endif

#define PS 4096

/* ------------------------------------------------------------------ */
/* Shared helpers.                                                      */

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* The default address-space limit (spring_as_options_init). */
#define SPACE_LIMIT ((spring_addr_t)1 << 47)
/* Fixture addresses: A0 maps 8 pages of a read-write object read-write,
 * A1 maps 4 pages of a read-only object read-only, AFREE is never mapped. */
#define A0 ((spring_addr_t)0x100000)
#define A1 ((spring_addr_t)0x200000)
#define AFREE ((spring_addr_t)0x400000)
/* The last page-aligned address: a range starting there wraps around 2^64. */
#define ATOP ((spring_addr_t)0 - PS)

/* A forged handle value; 0 is never issued either. */
#define FORGED 0x5eed5eed5eed5eedULL

/* Fail a table case with its index and the error names. */
#define CASE_RC(i, got, want)                                                                    \
    do {                                                                                         \
        int g_ = (got), w_ = (want);                                                             \
        ck_assert_msg(g_ == w_, "%s: case %zu: got %s, want %s", __func__, (size_t)(i),          \
                      spring_err_name(g_), spring_err_name(w_));                                  \
    } while (0)

/* Handle values that are forged relative to a real one: random, the
 * extremes, the right index with a wrong check value, a neighbour. */
static size_t forgeries(uint64_t real, uint64_t *out)
{
    size_t n = 0;
    out[n++] = FORGED;
    out[n++] = 0;
    out[n++] = UINT64_MAX;
    out[n++] = 1;
    out[n++] = real ^ ((uint64_t)1 << 63);
    out[n++] = real ^ ((uint64_t)1 << 30);
    out[n++] = real + 1;
    return n;
}

static void map_at(spring_as_t *as, spring_mobj_t *m, spring_off_t off, spring_off_t len, spring_addr_t addr,
                   spring_rights_t access)
{
    spring_off_t l = len;
    spring_addr_t a = addr;
    ck_assert_rc(spring_as_map(as, m, off, &l, &a, access), 0);
    ck_assert_uint_eq(l, len);
    ck_assert_uint_eq(a, addr);
}


static spring_vmm_obj_t vmm_obj(spring_vmm_t *vmm, spring_privilege_t priv)
{
    spring_vmm_obj_t o;
    ck_assert_rc(spring_vmm_get_object(vmm, priv, &o), 0);
    return o;
}

static uint8_t read_byte(spring_as_t *as, spring_addr_t a)
{
    uint8_t v = 0;
    ck_assert_rc(spring_as_read(as, a, &v, 1), 0);
    return v;
}

static void write_byte(spring_as_t *as, spring_addr_t a, uint8_t v)
{
    ck_assert_rc(spring_as_write(as, a, &v, 1), 0);
}

/* A snapshot of every mapping of an address space with the default bounds.
 * The memory object pointers are kept for comparison only. */
#define SNAP_MAX 16
typedef struct snap {
    size_t n;
    spring_mapping_t m[SNAP_MAX];
} snap_t;

static void snap_take(spring_as_t *as, snap_t *s)
{
    bool more = true;
    ck_assert_rc(spring_as_get_mappings(as, PS, SPACE_LIMIT - PS, s->m, SNAP_MAX, &s->n, &more), 0);
    ck_assert(!more);
    for (size_t i = 0; i < s->n; i++)
        spring_mobj_unref(s->m[i].mobj); /* the pointer stays, for comparison */
}

/* Fail unless the mappings are those of the snapshot. */
static void snap_check(spring_as_t *as, const snap_t *want, const char *fn, size_t i)
{
    snap_t now;
    snap_take(as, &now);
    ck_assert_msg(now.n == want->n, "%s: case %zu: %zu mappings, want %zu", fn, i, now.n, want->n);
    for (size_t k = 0; k < now.n; k++) {
        const spring_mapping_t *a = &now.m[k], *b = &want->m[k];
        ck_assert_msg(a->mobj == b->mobj && a->mobj_offset == b->mobj_offset && a->length == b->length &&
                          a->address == b->address && a->access == b->access && a->max_access == b->max_access &&
                          a->locked == b->locked,
                      "%s: case %zu: mapping %zu changed", fn, i, k);
    }
}

/*
 * The fixture: a VMM "api" (64 frames) registered in a registry, an
 * address space, a test pager of 16 patterned pages with the given block
 * size, a read-write and a read-only memory object of it, the first mapped
 * read-write at A0 (object offset 0, 8 pages), the second read-only at A1
 * (object offset 8 pages, 4 pages).
 */
typedef struct fix {
    spring_registry_t *reg;
    spring_vmm_t *vmm;
    spring_as_t *as;
    tpager_t *tp;
    spring_mobj_t *rw, *ro;
} fix_t;

static void fix_init(fix_t *f, bool privileged, spring_off_t block_size)
{
    f->vmm = test_vmm("api", 64, &f->reg);
    spring_as_options_t o;
    spring_as_options_init(&o);
    o.privileged = privileged;
    ck_assert_rc(spring_as_new(f->vmm, &o, &f->as), 0);
    f->tp = tp_new(f->reg, "api", NULL, 16 * PS, block_size, SPRING_OWN_EXCLUSIVE, true);
    f->rw = tp_mobj(f->tp, SPRING_RIGHTS_RW);
    f->ro = tp_mobj(f->tp, SPRING_RIGHTS_RO);
    map_at(f->as, f->rw, 0, 8 * PS, A0, SPRING_RIGHTS_RW);
    map_at(f->as, f->ro, 8 * PS, 4 * PS, A1, SPRING_RIGHTS_RO);
}

static void fix_fini(fix_t *f)
{
    CHECK_VMM(f->vmm);
    spring_as_destroy(f->as);
    spring_mobj_unref(f->rw);
    spring_mobj_unref(f->ro);
    tp_free(f->tp);
    test_vmm_free(f->vmm, f->reg);
}

/* --- A simple pager object: fills pages with one byte and counts calls. */

typedef struct spager {
    uint8_t fill;
    int page_ins, page_outs, done_cache, done_pobj;
} spager_t;

static int sp_page_in(void *self, spring_off_t off, spring_off_t size, spring_rights_t access,
                      spring_ownership_t *own, spring_page_buf_t *dst)
{
    spager_t *sp = self;
    (void)off, (void)size, (void)access, (void)own;
    sp->page_ins++;
    if (!dst->upgrade)
        for (size_t i = 0; i < dst->npages; i++)
            memset(dst->pages[i], sp->fill, dst->page_size);
    return 0;
}

static int sp_page_out(void *self, spring_off_t off, spring_off_t size, spring_ownership_t *own,
                       const spring_data_t *data)
{
    (void)off, (void)size, (void)own, (void)data;
    ((spager_t *)self)->page_outs++;
    return 0;
}

static void sp_done_with_cache(void *self, spring_ownership_t *own)
{
    (void)own;
    ((spager_t *)self)->done_cache++;
}

static void sp_done_with_pager_object(void *self)
{
    ((spager_t *)self)->done_pobj++;
}

static const spring_pager_ops_t sp_ops = {
    .version = SPRING_PAGER_OPS_VERSION,
    .page_in = sp_page_in,
    .page_out = sp_page_out,
    .done_with_cache = sp_done_with_cache,
    .done_with_pager_object = sp_done_with_pager_object,
};
static const spring_pager_ops_t sp_ops_v0 = {
    .version = 0, .page_in = sp_page_in, .page_out = sp_page_out,
    .done_with_pager_object = sp_done_with_pager_object,
};
static const spring_pager_ops_t sp_ops_vneg = {
    .version = -1, .page_in = sp_page_in, .page_out = sp_page_out,
    .done_with_pager_object = sp_done_with_pager_object,
};
/* A version newer than the library knows. */
static const spring_pager_ops_t sp_ops_vnew = {
    .version = SPRING_PAGER_OPS_VERSION + 1, .page_in = sp_page_in, .page_out = sp_page_out,
    .done_with_pager_object = sp_done_with_pager_object,
};
static const spring_pager_ops_t sp_ops_no_page_in = {
    .version = SPRING_PAGER_OPS_VERSION, .page_out = sp_page_out,
    .done_with_pager_object = sp_done_with_pager_object,
};
static const spring_pager_ops_t sp_ops_no_page_out = {
    .version = SPRING_PAGER_OPS_VERSION, .page_in = sp_page_in,
    .done_with_pager_object = sp_done_with_pager_object,
};

/* Pager-ops variants by table index. */
enum { OPS_GOOD, OPS_NULL, OPS_V0, OPS_VNEG, OPS_NO_PAGE_IN, OPS_NO_PAGE_OUT, OPS_VNEW };
static const spring_pager_ops_t *const pager_ops_variant[] = {
    &sp_ops, NULL, &sp_ops_v0, &sp_ops_vneg, &sp_ops_no_page_in, &sp_ops_no_page_out, &sp_ops_vnew,
};

/* A cache of a simple pager, kept when unattached. */
static void sp_cache(spring_vmm_obj_t vobj, spager_t *sp, spring_rights_t max, spring_cache_obj_t *c,
                     spring_cache_rights_t *r)
{
    spring_pager_info_t info = {0, SPRING_CACHE_DATA, 0, true};
    ck_assert_rc(spring_vmm_create_cache_object(vobj, &sp_ops, sp, false, &info, SPRING_OWN_EXCLUSIVE, max, c, r),
                 0);
}

/* --- A configurable memory object. */

typedef struct cmobj cmobj_t;
struct cmobj {
    int releases;
    int get_rc;                      /* get_length's answer */
    spring_off_t length;
    int set_rc, set_calls;           /* set_length's answer */
    spring_off_t set_to;
    spring_cache_rights_t bind_rights; /* what bind hands the VMM (forged: final_bind follows) */
    int bind_rc;
    long bind_flags;
    spring_off_t bind_extra_len;     /* added to the length asked for */
    spring_off_t bind_coff;          /* added to the cache offset */
    int bind_calls, final_bind_calls;
    int final_bind_rc;
    /* Run inside final_bind, with the key. */
    void (*in_final_bind)(cmobj_t *m, spring_bind_key_t key, spring_off_t off, spring_off_t len);
    spring_bind_key_t key;           /* the last key received */
};

static int cm_bind(void *self, const char *vmm_name, spring_rights_t access, spring_off_t off, spring_off_t *length,
                   spring_cache_rights_t *rights, spring_off_t *cache_off, long *flags)
{
    cmobj_t *m = self;
    (void)vmm_name, (void)access;
    m->bind_calls++;
    *rights = m->bind_rights;
    *cache_off = off + m->bind_coff;
    *flags = m->bind_flags;
    *length += m->bind_extra_len;
    return m->bind_rc;
}

static int cm_final_bind(void *self, spring_bind_key_t key, const char *vmm_name, spring_rights_t access,
                         spring_off_t off, spring_off_t len, long *flags)
{
    cmobj_t *m = self;
    (void)vmm_name, (void)access;
    m->final_bind_calls++;
    m->key = key;
    *flags = 0;
    if (m->in_final_bind)
        m->in_final_bind(m, key, off, len);
    return m->final_bind_rc;
}

static int cm_get_length(void *self, spring_off_t *length)
{
    cmobj_t *m = self;
    *length = m->length;
    return m->get_rc;
}

static int cm_set_length(void *self, spring_off_t length)
{
    cmobj_t *m = self;
    m->set_calls++;
    m->set_to = length;
    return m->set_rc;
}

static void cm_release(void *self)
{
    ((cmobj_t *)self)->releases++;
}

static const spring_mobj_ops_t cm_ops = {
    .version = SPRING_MOBJ_OPS_VERSION,
    .bind = cm_bind,
    .final_bind = cm_final_bind,
    .get_length = cm_get_length,
    .set_length = cm_set_length,
    .release = cm_release,
};
/* Only the required slots (and release). */
static const spring_mobj_ops_t cm_ops_min = {
    .version = SPRING_MOBJ_OPS_VERSION,
    .bind = cm_bind,
    .final_bind = cm_final_bind,
    .release = cm_release,
};

static spring_mobj_t *cm_new(cmobj_t *m, const spring_mobj_ops_t *ops)
{
    spring_mobj_t *mo = NULL;
    ck_assert_rc(spring_mobj_new(ops, m, &mo), 0);
    return mo;
}

/* --- A swap pager handing out test-pager objects. */

typedef struct cswap {
    spring_registry_t *reg;
    const char *vmm_name;
    int rc;                /* answer every create_mobj with this (0 = create) */
    int creates, releases;
    tpager_t *tp[8];
    size_t ntp;
} cswap_t;

static int cs_create_mobj(void *self, spring_off_t length, spring_mobj_t **out)
{
    cswap_t *cs = self;
    cs->creates++;
    if (cs->rc)
        return cs->rc;
    if (length > 64 * PS || cs->ntp == NELEM(cs->tp))
        return SPRING_ENOSPC;
    tpager_t *tp = tp_new(cs->reg, cs->vmm_name, NULL, length, 0, SPRING_OWN_EXCLUSIVE, false);
    cs->tp[cs->ntp++] = tp;
    *out = tp_mobj(tp, SPRING_RIGHTS_RWX);
    return 0;
}

static void cs_release(void *self)
{
    ((cswap_t *)self)->releases++;
}

static const spring_swap_pager_ops_t cs_ops = {SPRING_SWAP_PAGER_OPS_VERSION, cs_create_mobj, cs_release};
static const spring_swap_pager_ops_t cs_ops_v0 = {0, cs_create_mobj, cs_release};
static const spring_swap_pager_ops_t cs_ops_v99 = {99, cs_create_mobj, cs_release};
static const spring_swap_pager_ops_t cs_ops_no_create = {SPRING_SWAP_PAGER_OPS_VERSION, NULL, cs_release};

/* Free the test pagers (after every object they made was released). */
static void cs_free(cswap_t *cs)
{
    for (size_t i = 0; i < cs->ntp; i++)
        tp_free(cs->tp[i]);
    cs->ntp = 0;
}

/* --- A HAT wrapping the test HAT, to see what the VMM tells it and to make
 * its create and ctx_create fail. */

static spring_hat_ops_t wrap_hat;
static int wrap_create_rc, wrap_ctx_rc;
static spring_hat_env_t wrap_env;
static char wrap_options[32];

static const spring_hat_ops_t *base_hat(void)
{
    return test_hat_ops ? test_hat_ops : spring_hat_soft();
}

static int wrap_create(const spring_hat_env_t *env, void **hat)
{
    wrap_env = *env;
    snprintf(wrap_options, sizeof wrap_options, "%s", env->options ? env->options : "(null)");
    if (wrap_create_rc)
        return wrap_create_rc;
    return base_hat()->create(env, hat);
}

static struct spring_as *wrap_ctx_as;

static int wrap_ctx_create(void *hat, struct spring_as *as, void **ctx)
{
    wrap_ctx_as = as;
    if (wrap_ctx_rc)
        return wrap_ctx_rc;
    return base_hat()->ctx_create(hat, as, ctx);
}

static const spring_hat_ops_t *wrapped_hat(void)
{
    wrap_hat = *base_hat();
    wrap_hat.create = wrap_create;
    wrap_hat.ctx_create = wrap_ctx_create;
    wrap_create_rc = wrap_ctx_rc = 0;
    return &wrap_hat;
}

/* ------------------------------------------------------------------ */
/* common.h and error.h                                                 */

START_TEST(test_error_names)
{
    ck_assert_str_eq(spring_err_name(0), "SPRING_OK");
    ck_assert_str_eq(spring_err_name(SPRING_EINVAL), "SPRING_EINVAL");
    ck_assert_str_eq(spring_err_name(SPRING_EBADHANDLE), "SPRING_EBADHANDLE");
    ck_assert_str_eq(spring_err_name(SPRING_EOVERFLOW), "SPRING_EOVERFLOW");
    ck_assert_str_eq(spring_err_name(12345), "SPRING_EUNKNOWN");
    ck_assert_str_eq(spring_err_name(SPRING__ERR_MIN), "SPRING_EUNKNOWN");
    ck_assert_str_eq(spring_strerror(0), "success");
    ck_assert_str_eq(spring_strerror(SPRING_ENOMEM), "out of host memory");
    ck_assert_str_eq(spring_strerror(-9999), "unknown error");
    /* Every code has a distinct name and a message. */
    for (int e = -1; e > SPRING__ERR_MIN; e--) {
        ck_assert_str_ne(spring_err_name(e), "SPRING_EUNKNOWN");
        ck_assert_str_ne(spring_strerror(e), "unknown error");
        for (int f = e - 1; f > SPRING__ERR_MIN; f--)
            ck_assert_str_ne(spring_err_name(e), spring_err_name(f));
    }
}
END_TEST

START_TEST(test_error_values)
{
    /* The values are part of the interface (error.h: stable across releases). */
    static const struct {
        int code;
        const char *name;
        const char *msg;
    } t[] = {
        {SPRING_EINVAL, "SPRING_EINVAL", "invalid argument"},
        {SPRING_EALIGN, "SPRING_EALIGN", "address, offset or length is not aligned"},
        {SPRING_ERANGE, "SPRING_ERANGE", "range lies outside the address space or object"},
        {SPRING_EEXIST, "SPRING_EEXIST", "range overlaps an existing mapping"},
        {SPRING_ENOTMAPPED, "SPRING_ENOTMAPPED", "address is not mapped"},
        {SPRING_ERIGHTS, "SPRING_ERIGHTS", "requested rights exceed the rights held"},
        {SPRING_EBADHANDLE, "SPRING_EBADHANDLE", "handle is forged, stale, of the wrong type or foreign"},
        {SPRING_EDESTROYED, "SPRING_EDESTROYED", "object has been destroyed"},
        {SPRING_EPERM, "SPRING_EPERM", "operation requires privilege"},
        {SPRING_EVERSION, "SPRING_EVERSION", "interface version not supported"},
        {SPRING_ENOSWAP, "SPRING_ENOSWAP", "no swap pager is available"},
    };
    for (size_t i = 0; i < NELEM(t); i++) {
        ck_assert_msg(strcmp(spring_err_name(t[i].code), t[i].name) == 0, "case %zu: %s", i,
                      spring_err_name(t[i].code));
        ck_assert_msg(strcmp(spring_strerror(t[i].code), t[i].msg) == 0, "case %zu: %s", i,
                      spring_strerror(t[i].code));
    }
    ck_assert_int_eq(SPRING_EINVAL, -1);
    ck_assert_int_eq(SPRING_EOVERFLOW, -23);
    ck_assert_int_eq(SPRING_ENOKEEP, -24);
    ck_assert_int_eq(SPRING_EQUIESCE, -25);
    ck_assert_str_eq(spring_err_name(1), "SPRING_EUNKNOWN");
    ck_assert_str_eq(spring_strerror(INT32_MIN), "unknown error");
}
END_TEST

START_TEST(test_rights)
{
    ck_assert(spring_rights_valid(SPRING_RIGHTS_RO));
    ck_assert(spring_rights_valid(SPRING_RIGHTS_RX));
    ck_assert(spring_rights_valid(SPRING_RIGHTS_RW));
    ck_assert(spring_rights_valid(SPRING_RIGHTS_RWX));
    ck_assert(!spring_rights_valid(SPRING_RIGHTS_NONE));
    ck_assert(!spring_rights_valid(SPRING_RIGHTS_W));
    ck_assert(!spring_rights_valid(SPRING_RIGHTS_X));
    ck_assert(!spring_rights_valid((spring_rights_t)8));
    ck_assert(spring_rights_subset(SPRING_RIGHTS_RO, SPRING_RIGHTS_RW));
    ck_assert(!spring_rights_subset(SPRING_RIGHTS_RWX, SPRING_RIGHTS_RW));
    ck_assert(!spring_rights_subset(SPRING_RIGHTS_RX, SPRING_RIGHTS_RW));
    /* Exactly four of the values 0..15 are valid rights. */
    for (unsigned r = 0; r < 16; r++) {
        bool want = r == 1 || r == 3 || r == 5 || r == 7;
        ck_assert_msg(spring_rights_valid((spring_rights_t)r) == want, "rights %u", r);
    }
    /* subset(a, b) is bitwise inclusion, for every pair of bit sets. */
    for (unsigned a = 0; a < 8; a++)
        for (unsigned b = 0; b < 8; b++)
            ck_assert_msg(spring_rights_subset((spring_rights_t)a, (spring_rights_t)b) == ((a & ~b) == 0),
                          "subset(%u, %u)", a, b);
}
END_TEST

START_TEST(test_data_lists)
{
    spring_data_free(NULL); /* accepted */
    ck_assert_uint_eq(spring_data_length(NULL), 0);
    spring_data_t empty = {0, NULL};
    ck_assert_uint_eq(spring_data_length(&empty), 0);
    static uint8_t page[PS];
    spring_data_block_t b[3] = {{0, PS, page}, {PS, 2 * PS, NULL}, {3 * PS, PS, page}};
    spring_data_t d = {3, b};
    ck_assert_uint_eq(spring_data_length(&d), 4 * PS); /* zero ranges count */

    /* A list the VMM produces: modified pages, an all-zero one as an
     * indication; the caller frees it. */
    fix_t f;
    fix_init(&f, false, 0);
    write_byte(f.as, A0, 0xab);
    static const uint8_t zero[PS];
    ck_assert_rc(spring_as_write(f.as, A0 + PS, zero, PS), 0);
    spring_data_t *got = NULL;
    ck_assert_rc(spring_cache_flush_back(tp_cache(f.tp), 0, SPRING_SIZE_ALL, NULL, &got), 0);
    ck_assert_ptr_nonnull(got);
    ck_assert_uint_eq(spring_data_length(got), 2 * PS);
    ck_assert_uint_eq(got->nblocks, 2);
    ck_assert_uint_eq(got->blocks[0].offset, 0);
    ck_assert_ptr_nonnull(got->blocks[0].bytes);
    ck_assert_uint_eq(((const uint8_t *)got->blocks[0].bytes)[0], 0xab);
    ck_assert_uint_eq(((const uint8_t *)got->blocks[0].bytes)[1], tp_pattern(1));
    ck_assert_uint_eq(got->blocks[1].offset, PS);
    ck_assert_ptr_null(got->blocks[1].bytes);
    spring_data_free(got);
    fix_fini(&f);
}
END_TEST

/* ------------------------------------------------------------------ */
/* hat.h                                                                */

START_TEST(test_hat_soft)
{
    const spring_hat_ops_t *h = spring_hat_soft();
    ck_assert_ptr_nonnull(h);
    ck_assert_ptr_eq(spring_hat_soft(), h); /* static storage */
    ck_assert_int_eq(h->version, SPRING_HAT_OPS_VERSION);
    ck_assert_str_eq(h->name, "soft");
    ck_assert(h->create && h->destroy && h->ctx_create && h->ctx_destroy && h->enter && h->remove && h->protect &&
              h->frame_unload && h->frame_protect && h->frame_refmod && h->translate);

    /* Drive the backend through its vtable. */
    uint8_t *frames = aligned_alloc(PS, 4 * PS);
    ck_assert_ptr_nonnull(frames);
    spring_hat_env_t env = {.version = SPRING_HAT_ENV_VERSION, .size = sizeof env, .page_size = PS,
                            .mmu_pages_per_page = 1, .nframes = 4, .frame_base = frames, .frame_fd = -1};
    void *hat, *ctx;
    size_t fr = 99;
    const spring_addr_t va = 0x10000;
    ck_assert_rc(h->create(&env, &hat), 0);
    ck_assert_rc(h->ctx_create(hat, NULL, &ctx), 0);
    ck_assert_rc(h->translate(hat, ctx, va, SPRING_RIGHTS_R, &fr), SPRING_ENOTMAPPED);
    ck_assert_rc(h->enter(hat, ctx, va, 2, SPRING_RIGHTS_RO), 0);
    ck_assert_rc(h->translate(hat, ctx, va + 123, SPRING_RIGHTS_R, &fr), 0);
    ck_assert_uint_eq(fr, 2);
    ck_assert_rc(h->translate(hat, ctx, va, SPRING_RIGHTS_W, &fr), SPRING_EACCES);
    ck_assert_rc(h->translate(hat, ctx, va, SPRING_RIGHTS_X, &fr), SPRING_EACCES);
    ck_assert_rc(h->translate(hat, ctx, va + PS, SPRING_RIGHTS_R, &fr), SPRING_ENOTMAPPED);
    unsigned rm = h->frame_refmod(hat, 2, SPRING_HAT_REF | SPRING_HAT_MOD);
    ck_assert(rm & SPRING_HAT_REF);
    ck_assert(!(rm & SPRING_HAT_MOD));
    ck_assert_uint_eq(h->frame_refmod(hat, 2, 0), 0); /* cleared */
    ck_assert_rc(h->enter(hat, ctx, va, 2, SPRING_RIGHTS_RW), 0); /* replaces */
    ck_assert_rc(h->translate(hat, ctx, va, SPRING_RIGHTS_W, &fr), 0);
    ck_assert(h->frame_refmod(hat, 2, SPRING_HAT_MOD) & SPRING_HAT_MOD);
    h->frame_protect(hat, 2, SPRING_RIGHTS_RO);
    ck_assert_rc(h->translate(hat, ctx, va, SPRING_RIGHTS_W, &fr), SPRING_EACCES);
    ck_assert_rc(h->translate(hat, ctx, va, SPRING_RIGHTS_R, &fr), 0);
    h->protect(hat, ctx, va, PS, SPRING_RIGHTS_NONE); /* NONE removes */
    ck_assert_rc(h->translate(hat, ctx, va, SPRING_RIGHTS_R, &fr), SPRING_ENOTMAPPED);
    ck_assert_rc(h->enter(hat, ctx, va, 2, SPRING_RIGHTS_RO), 0);
    h->frame_unload(hat, 2);
    ck_assert_rc(h->translate(hat, ctx, va, SPRING_RIGHTS_R, &fr), SPRING_ENOTMAPPED);
    ck_assert_rc(h->enter(hat, ctx, va, 3, SPRING_RIGHTS_RX), 0);
    ck_assert_rc(h->translate(hat, ctx, va, SPRING_RIGHTS_X, &fr), 0);
    ck_assert_uint_eq(fr, 3);
    h->remove(hat, ctx, va, PS);
    ck_assert_rc(h->translate(hat, ctx, va, SPRING_RIGHTS_R, &fr), SPRING_ENOTMAPPED);
    h->ctx_destroy(hat, ctx);
    h->destroy(hat);
    free(frames);

    /* The VMM takes it explicitly as well as by default. */
    spring_vmm_config_t cfg;
    spring_vmm_config_init(&cfg);
    cfg.hat = h;
    cfg.nframes = 8;
    cfg.mode = SPRING_VMM_DETERMINISTIC;
    spring_vmm_t *vmm;
    ck_assert_rc(spring_vmm_new(&cfg, &vmm), 0);
    spring_as_t *as;
    ck_assert_rc(spring_as_new(vmm, NULL, &as), 0);
    spring_off_t len = PS;
    spring_addr_t addr = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_allocate_memory(as, &len, &addr, SPRING_RIGHTS_RW), 0);
    write_byte(as, addr, 7);
    ck_assert_uint_eq(read_byte(as, addr), 7);
    spring_as_destroy(as);
    ck_assert_rc(spring_vmm_destroy(vmm), 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* pager.h                                                              */

START_TEST(test_mobj_new)
{
    static const spring_mobj_ops_t v0 = {.version = 0, .bind = cm_bind, .final_bind = cm_final_bind};
    static const spring_mobj_ops_t vneg = {.version = -5, .bind = cm_bind, .final_bind = cm_final_bind};
    static const spring_mobj_ops_t vnew = {.version = SPRING_MOBJ_OPS_VERSION + 1, .bind = cm_bind,
                                           .final_bind = cm_final_bind};
    static const spring_mobj_ops_t no_bind = {.version = SPRING_MOBJ_OPS_VERSION, .final_bind = cm_final_bind};
    static const spring_mobj_ops_t no_final = {.version = SPRING_MOBJ_OPS_VERSION, .bind = cm_bind};
    static const struct {
        const spring_mobj_ops_t *ops;
        bool null_out;
        int want;
    } t[] = {
        {NULL, false, SPRING_EINVAL},
        {&cm_ops, true, SPRING_EINVAL},
        {&v0, false, SPRING_EVERSION},
        {&vneg, false, SPRING_EVERSION},
        {&vnew, false, SPRING_EVERSION},
        {&no_bind, false, SPRING_EINVAL},
        {&no_final, false, SPRING_EINVAL},
    };
    cmobj_t cm = {0};
    for (size_t i = 0; i < NELEM(t); i++) {
        spring_mobj_t *m = NULL;
        CASE_RC(i, spring_mobj_new(t[i].ops, &cm, t[i].null_out ? NULL : &m), t[i].want);
        ck_assert_ptr_null(m);
    }
    ck_assert_int_eq(cm.releases, 0);
    /* Legal: optional slots may be NULL; self comes back. */
    spring_mobj_t *m = NULL;
    ck_assert_rc(spring_mobj_new(&cm_ops_min, &cm, &m), 0);
    ck_assert_ptr_nonnull(m);
    ck_assert_ptr_eq(spring_mobj_impl(m), &cm);
    spring_mobj_unref(m);
    ck_assert_int_eq(cm.releases, 1);
    static const spring_mobj_ops_t bare = {.version = SPRING_MOBJ_OPS_VERSION, .bind = cm_bind,
                                           .final_bind = cm_final_bind};
    ck_assert_rc(spring_mobj_new(&bare, NULL, &m), 0); /* no release slot, NULL self */
    ck_assert_ptr_null(spring_mobj_impl(m));
    spring_mobj_unref(m);
}
END_TEST

START_TEST(test_mobj_refs)
{
    cmobj_t cm = {0};
    spring_mobj_t *m = cm_new(&cm, &cm_ops);
    ck_assert_ptr_eq(spring_mobj_ref(m), m);
    ck_assert_ptr_eq(spring_mobj_ref(m), m);
    spring_mobj_unref(m);
    spring_mobj_unref(m);
    ck_assert_int_eq(cm.releases, 0);
    ck_assert_ptr_null(spring_mobj_ref(NULL));
    spring_mobj_unref(NULL);
    ck_assert_ptr_null(spring_mobj_impl(NULL));

    /* A mapping holds its own reference (map: copy). */
    spring_registry_t *reg;
    spring_vmm_t *vmm = test_vmm("api", 16, &reg);
    spager_t sp = {.fill = 0x11};
    spring_cache_obj_t c;
    spring_cache_rights_t r;
    sp_cache(vmm_obj(vmm, SPRING_PRIV_USER), &sp, SPRING_RIGHTS_RW, &c, &r);
    cm.bind_rights = r;
    spring_as_t *as;
    ck_assert_rc(spring_as_new(vmm, NULL, &as), 0);
    map_at(as, m, 0, 2 * PS, A0, SPRING_RIGHTS_RW);
    spring_mobj_unref(m);
    ck_assert_int_eq(cm.releases, 0);
    ck_assert_uint_eq(read_byte(as, A0 + PS), 0x11);
    ck_assert_rc(spring_as_unmap(as, A0, PS), 0); /* half of it: still referenced */
    ck_assert_int_eq(cm.releases, 0);
    ck_assert_rc(spring_as_unmap(as, A0, 2 * PS), 0);
    ck_assert_int_eq(cm.releases, 1);
    CHECK_VMM(vmm);
    spring_as_destroy(as);
    ck_assert_rc(spring_cache_destroy(c), 0);
    ck_assert_int_eq(sp.done_pobj, 1);
    test_vmm_free(vmm, reg);
}
END_TEST

START_TEST(test_mobj_length)
{
    cmobj_t full = {.length = 12345}, min = {0}, perr = {.get_rc = SPRING_EPAGER, .set_rc = SPRING_EBUSY},
            pbad = {.get_rc = 7, .set_rc = 3};
    spring_mobj_t *mf = cm_new(&full, &cm_ops), *mm = cm_new(&min, &cm_ops_min), *me = cm_new(&perr, &cm_ops),
                  *mb = cm_new(&pbad, &cm_ops);
    spring_off_t len = 0;
    static spring_off_t lenbuf;
    const struct {
        spring_mobj_t *m;
        spring_off_t *len;
        int want;
    } g[] = {
        {NULL, &lenbuf, SPRING_EINVAL},
        {mf, NULL, SPRING_EINVAL},
        {mm, &lenbuf, SPRING_ENOSYS},   /* no get_length slot */
        {me, &lenbuf, SPRING_EPAGER},   /* the pager's code */
        {mb, &lenbuf, SPRING_EPROTO},   /* not a code: a protocol violation */
    };
    for (size_t i = 0; i < NELEM(g); i++)
        CASE_RC(i, spring_mobj_get_length(g[i].m, g[i].len), g[i].want);
    ck_assert_rc(spring_mobj_get_length(mf, &len), 0);
    ck_assert_uint_eq(len, 12345);

    const struct {
        spring_mobj_t *m;
        int want;
    } s[] = {
        {NULL, SPRING_EINVAL},
        {mm, SPRING_ENOSYS},
        {me, SPRING_EBUSY},
        {mb, SPRING_EPROTO},
    };
    for (size_t i = 0; i < NELEM(s); i++)
        CASE_RC(i, spring_mobj_set_length(s[i].m, 99 * PS), s[i].want);
    ck_assert_int_eq(min.set_calls, 0);
    ck_assert_rc(spring_mobj_set_length(mf, 777), 0);
    ck_assert_int_eq(full.set_calls, 1);
    ck_assert_uint_eq(full.set_to, 777);

    /* The test pager has get_length but no set_length. */
    spring_registry_t *reg;
    spring_vmm_t *vmm = test_vmm("api", 16, &reg);
    tpager_t *tp = tp_new(reg, "api", NULL, 5 * PS, 0, SPRING_OWN_EXCLUSIVE, false);
    spring_mobj_t *tm = tp_mobj(tp, SPRING_RIGHTS_RW);
    ck_assert_rc(spring_mobj_get_length(tm, &len), 0);
    ck_assert_uint_eq(len, 5 * PS);
    ck_assert_rc(spring_mobj_set_length(tm, PS), SPRING_ENOSYS);
    spring_mobj_unref(tm);
    tp_free(tp);
    test_vmm_free(vmm, reg);

    spring_mobj_unref(mf);
    spring_mobj_unref(mm);
    spring_mobj_unref(me);
    spring_mobj_unref(mb);
    ck_assert_int_eq(full.releases + min.releases + perr.releases + pbad.releases, 4);
}
END_TEST

/* ------------------------------------------------------------------ */
/* vmm.h: the VMM                                                       */

START_TEST(test_vmm_config_init)
{
    spring_vmm_config_t cfg;
    memset(&cfg, 0x5a, sizeof cfg);
    spring_vmm_config_init(&cfg);
    ck_assert_str_eq(cfg.name, "vmm");
    ck_assert_uint_eq(cfg.page_size, 4096);
    ck_assert_uint_eq(cfg.nframes, 1024);
    ck_assert_int_eq(cfg.mode, SPRING_VMM_THREADED);
    ck_assert_ptr_null(cfg.hat);
    ck_assert_ptr_null(cfg.hat_options);
    ck_assert(!cfg.no_default_swap_pager);
    ck_assert_uint_eq(cfg.max_unattached_caches, 0);
    spring_vmm_config_init(NULL); /* ignored */
    /* The defaults make a working VMM (threaded). */
    spring_vmm_t *vmm;
    cfg.hat = test_hat_ops;
    ck_assert_rc(spring_vmm_new(&cfg, &vmm), 0);
    ck_assert_str_eq(spring_vmm_name(vmm), "vmm");
    spring_vm_info_t info = test_vm_info(vmm);
    ck_assert_uint_eq(info.page_size, 4096);
    ck_assert_uint_eq(info.nframes, 1024);
    ck_assert_uint_eq(info.free_frames + info.inuse_frames, 1024);
    ck_assert_rc(spring_vmm_destroy(vmm), 0);
}
END_TEST

START_TEST(test_vmm_new_illegal)
{
    spring_vmm_config_t cfg;
    spring_vmm_t *vmm = NULL;
    static const struct {
        size_t page_size, nframes;
        const char *name;
        int mode;
        int want;
    } t[] = {
        {4096, 64, "v", 0, 0},
        {8192, 64, "v", 1, 0},
        {2048, 64, "v", 0, SPRING_EINVAL},  /* below 4 KiB */
        {12288, 64, "v", 0, SPRING_EINVAL}, /* not a power of two */
        {0, 64, "v", 0, SPRING_EINVAL},
        {4096, 3, "v", 0, SPRING_EINVAL},   /* too few frames */
        {4096, 0, "v", 0, SPRING_EINVAL},
        {4096, 4, "v", 1, 0},               /* the fewest frames */
        {4096, 64, "", 0, SPRING_EINVAL},   /* empty name */
        {4096, 64, NULL, 0, SPRING_EINVAL},
        {4096, 64, "v", 7, SPRING_EINVAL},  /* unknown mode */
        {4096, 64, "v", -1, SPRING_EINVAL},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        spring_vmm_config_init(&cfg);
        cfg.page_size = t[i].page_size;
        cfg.nframes = t[i].nframes;
        cfg.name = t[i].name;
        cfg.mode = (spring_vmm_mode_t)t[i].mode;
        cfg.hat = test_hat_ops;
        int rc = spring_vmm_new(&cfg, &vmm);
        ck_assert_msg(rc == t[i].want, "case %zu: %s", i, spring_err_name(rc));
        if (rc == 0) {
            ck_assert_str_eq(spring_vmm_name(vmm), "v");
            ck_assert_rc(spring_vmm_destroy(vmm), 0);
        }
    }
    ck_assert_rc(spring_vmm_new(NULL, &vmm), SPRING_EINVAL);
    spring_vmm_config_init(&cfg);
    ck_assert_rc(spring_vmm_new(&cfg, NULL), SPRING_EINVAL);
    spring_hat_ops_t bad = *spring_hat_soft();
    bad.version = 0;
    cfg.hat = &bad;
    ck_assert_rc(spring_vmm_new(&cfg, &vmm), SPRING_EVERSION);
    bad = *spring_hat_soft();
    bad.translate = NULL;
    ck_assert_rc(spring_vmm_new(&cfg, &vmm), SPRING_EINVAL);
    ck_assert_rc(spring_vmm_destroy(NULL), SPRING_EINVAL);
    ck_assert_ptr_null(spring_vmm_name(NULL));
    spring_vmm_config_init(NULL); /* accepted */
}
END_TEST

/* Clear one required slot of a HAT vtable. */
static void hat_clear_slot(spring_hat_ops_t *h, int slot)
{
    switch (slot) {
    case 0: h->create = NULL; break;
    case 1: h->destroy = NULL; break;
    case 2: h->ctx_create = NULL; break;
    case 3: h->ctx_destroy = NULL; break;
    case 4: h->enter = NULL; break;
    case 5: h->remove = NULL; break;
    case 6: h->protect = NULL; break;
    case 7: h->frame_unload = NULL; break;
    case 8: h->frame_protect = NULL; break;
    case 9: h->frame_refmod = NULL; break;
    case 10: h->translate = NULL; break;
    default: break;
    }
}

START_TEST(test_vmm_new_hat)
{
    spring_vmm_config_t cfg;
    spring_vmm_t *vmm = NULL;
    spring_hat_ops_t bad;
    spring_vmm_config_init(&cfg);
    cfg.mode = SPRING_VMM_DETERMINISTIC;
    cfg.nframes = 16;
    cfg.hat = &bad;
    /* Every required slot: missing -> EINVAL. */
    for (int slot = 0; slot < 11; slot++) {
        bad = *base_hat();
        hat_clear_slot(&bad, slot);
        CASE_RC(slot, spring_vmm_new(&cfg, &vmm), SPRING_EINVAL);
    }
    static const int versions[] = {0, -1, -1000, 1, SPRING_HAT_OPS_VERSION + 1, 99}; /* 1: the old layout */
    for (size_t i = 0; i < NELEM(versions); i++) {
        bad = *base_hat();
        bad.version = versions[i];
        CASE_RC(i, spring_vmm_new(&cfg, &vmm), SPRING_EVERSION);
    }
    static const size_t bad_mmu[] = {3 * 1024, 8192, 1 << 20};
    for (size_t i = 0; i < NELEM(bad_mmu); i++) { /* not a power of two dividing the 4 KiB page */
        bad = *base_hat();
        bad.mmu_page_size = bad_mmu[i];
        CASE_RC(i, spring_vmm_new(&cfg, &vmm), SPRING_EINVAL);
    }
    bad = *base_hat();
    bad.name = NULL; /* the name is not a method */
    ck_assert_rc(spring_vmm_new(&cfg, &vmm), 0);
    ck_assert_ptr_null(spring_vmm_hat_extension(vmm, "anything", 1)); /* no extension slot */
    ck_assert_ptr_null(spring_vmm_hat_extension(vmm, NULL, 1));
    ck_assert_ptr_null(spring_vmm_hat_extension(NULL, "anything", 1));
    ck_assert_rc(spring_vmm_destroy(vmm), 0);

    /* The VMM tells the backend its frame pool and options. */
    cfg.hat = wrapped_hat();
    cfg.page_size = 8192;
    cfg.hat_options = "opt=1";
    ck_assert_rc(spring_vmm_new(&cfg, &vmm), 0);
    ck_assert_int_eq(wrap_env.version, SPRING_HAT_ENV_VERSION);
    ck_assert_uint_eq(wrap_env.size, sizeof(spring_hat_env_t));
    ck_assert_uint_eq(wrap_env.page_size, 8192);
    ck_assert_uint_eq(wrap_env.mmu_pages_per_page, 1);
    ck_assert_uint_eq(wrap_env.nframes, 16);
    ck_assert_ptr_nonnull(wrap_env.frame_base);
    ck_assert_int_ge(wrap_env.frame_fd, 0);
    ck_assert_uint_eq(wrap_env.frame_offset, 0);
    ck_assert(wrap_env.vmm && wrap_env.report_fault && wrap_env.take_frames && wrap_env.give_frames);
    ck_assert_str_eq(wrap_options, "opt=1");
    /* ctx_create failing: spring_as_new returns the HAT's code. */
    spring_as_t *as = NULL;
    wrap_ctx_rc = SPRING_ENOSPC;
    ck_assert_rc(spring_as_new(vmm, NULL, &as), SPRING_ENOSPC);
    ck_assert_uint_eq(test_vm_info(vmm).naddress_spaces, 0);
    wrap_ctx_rc = 0;
    ck_assert_rc(spring_as_new(vmm, NULL, &as), 0);
    ck_assert_ptr_eq(wrap_ctx_as, as); /* the context knows its address space */
    ck_assert_uint_eq(test_vm_info(vmm).naddress_spaces, 1);
    ck_assert_uint_eq(spring_as_get_page_size(as), 8192);
    spring_as_destroy(as);
    ck_assert_rc(spring_vmm_destroy(vmm), 0);
    /* create failing: spring_vmm_new returns the backend's code. */
    wrap_create_rc = SPRING_ENOSPC;
    vmm = NULL;
    ck_assert_rc(spring_vmm_new(&cfg, &vmm), SPRING_ENOSPC);
    ck_assert_ptr_null(vmm);
    wrap_create_rc = 0;
}
END_TEST

START_TEST(test_vmm_destroy_busy)
{
    spring_registry_t *reg;
    spring_vmm_t *vmm = test_vmm("api", 16, &reg);
    spring_as_t *as;
    ck_assert_rc(spring_as_new(vmm, NULL, &as), 0);
    tpager_t *tp = tp_new(reg, "api", NULL, 4 * PS, 0, SPRING_OWN_EXCLUSIVE, true);
    spring_mobj_t *m = tp_mobj(tp, SPRING_RIGHTS_RW);
    map_at(as, m, 0, 4 * PS, A0, SPRING_RIGHTS_RW);
    ck_assert_uint_eq(read_byte(as, A0 + 5), tp_pattern(5));
    spring_vmm_obj_t vo = vmm_obj(vmm, SPRING_PRIV_USER);
    spring_vm_info_t before = test_vm_info(vmm);

    ck_assert_rc(spring_vmm_destroy(vmm), SPRING_EBUSY);
    /* Nothing changed: the address space, the vmm object, the registry. */
    CHECK_VMM(vmm);
    ck_assert_str_eq(spring_vmm_name(vmm), "api");
    spring_vm_info_t after;
    ck_assert_rc(spring_vmm_get_vm_info(vo, &after), 0);
    ck_assert_uint_eq(after.naddress_spaces, before.naddress_spaces);
    ck_assert_uint_eq(after.ncaches, before.ncaches);
    ck_assert_uint_eq(after.inuse_frames, before.inuse_frames);
    ck_assert_uint_eq(read_byte(as, A0 + PS + 9), tp_pattern(PS + 9));
    write_byte(as, A0 + 2 * PS, 0x42);
    ck_assert_uint_eq(read_byte(as, A0 + 2 * PS), 0x42);
    spring_vmm_obj_t looked;
    ck_assert_rc(spring_registry_lookup(reg, "api", NULL, &looked), 0);
    ck_assert_uint_eq(tp_count(tp, TP_DONE_WITH_POBJ), 0);

    /* Once the address space is gone the VMM goes, and takes the remaining
     * cache with it (the pager is told). */
    spring_as_destroy(as);
    spring_mobj_unref(m);
    ck_assert_rc(spring_registry_remove_vmm(reg, vmm), 0);
    ck_assert_rc(spring_vmm_destroy(vmm), 0);
    ck_assert_uint_eq(tp_count(tp, TP_DONE_WITH_POBJ), 1);
    /* Its vmm objects are stale now. */
    ck_assert_rc(spring_vmm_get_vm_info(vo, &after), SPRING_EBADHANDLE);
    ck_assert_rc(spring_vmm_get_vm_info(looked, &after), SPRING_EBADHANDLE);
    ck_assert_rc(spring_registry_lookup(reg, "api", NULL, &looked), SPRING_ENOENT);
    tp_free(tp);
    spring_registry_destroy(reg);
}
END_TEST

START_TEST(test_vmm_get_object)
{
    spring_vmm_t *vmm = test_vmm("api", 16, NULL);
    static spring_vmm_obj_t sink;
    const struct {
        spring_vmm_t *vmm;
        int priv;
        spring_vmm_obj_t *out;
        int want;
    } t[] = {
        {NULL, SPRING_PRIV_USER, &sink, SPRING_EINVAL},
        {vmm, SPRING_PRIV_USER, NULL, SPRING_EINVAL},
        {vmm, 2, &sink, SPRING_EINVAL},
        {vmm, -1, &sink, SPRING_EINVAL},
        {vmm, 100, &sink, SPRING_EINVAL},
    };
    for (size_t i = 0; i < NELEM(t); i++)
        CASE_RC(i, spring_vmm_get_object(t[i].vmm, (spring_privilege_t)t[i].priv, t[i].out), t[i].want);
    spring_vmm_obj_t user, sys, user2;
    ck_assert_rc(spring_vmm_get_object(vmm, SPRING_PRIV_USER, &user), 0);
    ck_assert_rc(spring_vmm_get_object(vmm, SPRING_PRIV_SYSTEM, &sys), 0);
    ck_assert_rc(spring_vmm_get_object(vmm, SPRING_PRIV_USER, &user2), 0);
    ck_assert_uint_ne(user.h, 0);
    ck_assert_uint_ne(sys.h, 0);
    ck_assert_uint_ne(user.h, sys.h);
    ck_assert_uint_eq(user.h, user2.h);
    /* Both work; only the system one may add swap pagers. */
    spring_vm_info_t info;
    ck_assert_rc(spring_vmm_get_vm_info(user, &info), 0);
    ck_assert_rc(spring_vmm_get_vm_info(sys, &info), 0);
    cswap_t cs = {0};
    ck_assert_rc(spring_vmm_add_swap_pager(user, &cs_ops, &cs, false), SPRING_EPERM);
    ck_assert_rc(spring_vmm_add_swap_pager(sys, &cs_ops, &cs, false), 0);
    ck_assert_rc(spring_vmm_destroy(vmm), 0);
    ck_assert_int_eq(cs.releases, 1);
}
END_TEST

START_TEST(test_vmm_check)
{
    const char *why = "unset";
    ck_assert_rc(spring_vmm_check(NULL, &why), SPRING_EINVAL);
    ck_assert_rc(spring_vmm_check(NULL, NULL), SPRING_EINVAL);
    fix_t f;
    fix_init(&f, true, 0);
    ck_assert_rc(spring_vmm_check(f.vmm, NULL), 0); /* why is optional */
    ck_assert_uint_eq(read_byte(f.as, A0), tp_pattern(0));
    ck_assert_rc(spring_as_lock_memory(f.as, A0 + PS, PS), 0);
    ck_assert_rc(spring_vmm_check(f.vmm, &why), 0);
    fix_fini(&f);
}
END_TEST

START_TEST(test_vmm_inject_alloc_failure)
{
    ck_assert_rc(spring__test_inject_alloc_failure(NULL, 1), SPRING_EINVAL);
    spring_vmm_t *vmm = test_vmm("api", 16, NULL);
    spring_as_t *as1 = NULL, *as2 = NULL, *as3 = NULL;
    /* The next allocation fails; the one after does not. */
    ck_assert_rc(spring__test_inject_alloc_failure(vmm, 1), 0);
    ck_assert_rc(spring_as_new(vmm, NULL, &as1), SPRING_ENOMEM);
    ck_assert_uint_eq(test_vm_info(vmm).naddress_spaces, 0);
    ck_assert_rc(spring_as_new(vmm, NULL, &as1), 0);
    /* The second from now. */
    ck_assert_rc(spring__test_inject_alloc_failure(vmm, 2), 0);
    ck_assert_rc(spring_as_new(vmm, NULL, &as2), 0);
    ck_assert_rc(spring_as_new(vmm, NULL, &as3), SPRING_ENOMEM);
    /* 0 turns it off. */
    ck_assert_rc(spring__test_inject_alloc_failure(vmm, 1), 0);
    ck_assert_rc(spring__test_inject_alloc_failure(vmm, 0), 0);
    ck_assert_rc(spring_as_new(vmm, NULL, &as3), 0);
    ck_assert_uint_eq(test_vm_info(vmm).naddress_spaces, 3);
    CHECK_VMM(vmm);
    spring_as_destroy(as1);
    spring_as_destroy(as2);
    spring_as_destroy(as3);
    ck_assert_rc(spring_vmm_destroy(vmm), 0);
}
END_TEST

START_TEST(test_vmm_get_vm_info)
{
    fix_t f;
    fix_init(&f, false, 0);
    spring_vmm_obj_t user = vmm_obj(f.vmm, SPRING_PRIV_USER);
    spring_vm_info_t info;
    ck_assert_rc(spring_vmm_get_vm_info(user, NULL), SPRING_EINVAL);
    /* Handles that are not vmm objects. */
    spring_vmm_t *gone = test_vmm("gone", 4, NULL);
    spring_vmm_obj_t stale = vmm_obj(gone, SPRING_PRIV_SYSTEM);
    ck_assert_rc(spring_vmm_destroy(gone), 0);
    uint64_t bad[16];
    size_t n = forgeries(user.h, bad);
    bad[n++] = tp_cache(f.tp).h;  /* a cache object */
    bad[n++] = tp_rights(f.tp).h; /* a cache-rights object */
    bad[n++] = stale.h;           /* a destroyed VMM's */
    for (size_t i = 0; i < n; i++) {
        memset(&info, 0x5a, sizeof info);
        CASE_RC(i, spring_vmm_get_vm_info((spring_vmm_obj_t){bad[i]}, &info), SPRING_EBADHANDLE);
    }
    /* Legal. */
    ck_assert_rc(spring_vmm_get_vm_info(user, &info), 0);
    ck_assert_uint_eq(info.page_size, PS);
    ck_assert_uint_eq(info.nframes, 64);
    ck_assert_uint_eq(info.free_frames + info.inuse_frames, 64);
    ck_assert_uint_eq(info.naddress_spaces, 1);
    ck_assert_uint_eq(info.ncaches, 1);
    ck_assert_uint_eq(info.locked_frames, 0);
    uint64_t faults = info.faults, page_ins = info.page_ins;
    size_t free_frames = info.free_frames;
    ck_assert_uint_eq(read_byte(f.as, A0 + 3 * PS), tp_pattern(3 * PS));
    ck_assert_rc(spring_vmm_get_vm_info(vmm_obj(f.vmm, SPRING_PRIV_SYSTEM), &info), 0);
    ck_assert_uint_eq(info.faults, faults + 1);
    ck_assert_uint_eq(info.page_ins, page_ins + 1);
    ck_assert_uint_eq(info.free_frames, free_frames - 1);
    fix_fini(&f);
}
END_TEST

/* spring_vmm_sync: NULL refused; nothing modified: no pager call; a
 * modified page goes back with sync and stays cached; a failing sync
 * leaves it modified and says so; an empty VMM syncs. */
START_TEST(test_vmm_sync)
{
    ck_assert_rc(spring_vmm_sync(NULL), SPRING_EINVAL);
    spring_vmm_t *empty = test_vmm("empty", 8, NULL);
    ck_assert_rc(spring_vmm_sync(empty), 0);
    ck_assert_rc(spring_vmm_destroy(empty), 0);
    fix_t f;
    fix_init(&f, false, 0);
    (void)read_byte(f.as, A0);
    tp_clear(f.tp);
    ck_assert_rc(spring_vmm_sync(f.vmm), 0);
    ck_assert_uint_eq(tp_ncalls(f.tp), 0);
    write_byte(f.as, A0 + PS, 0x5a);
    tp_fail(f.tp, TP_SYNC, SPRING_EOVERFLOW, false);
    ck_assert_rc(spring_vmm_sync(f.vmm), SPRING_EPAGER);
    ck_assert_uint_ne(tp_store(f.tp)[PS], 0x5a);
    ck_assert_rc(spring_vmm_sync(f.vmm), 0);
    ck_assert_uint_eq(tp_store(f.tp)[PS], 0x5a);
    ck_assert_uint_eq(tp_count(f.tp, TP_SYNC), 2);
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_OUT), 0);
    ck_assert_uint_eq(test_vm_info(f.vmm).write_backs, 2);
    tp_clear(f.tp);
    ck_assert_uint_eq(read_byte(f.as, A0 + PS), 0x5a);
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), 0);
    fix_fini(&f);
}
END_TEST

/* spring_cache_pager_stats and spring_as_pager_stats: illegal uses
 * refused; the counts follow the pager traffic; spring_last_error names a
 * failing pager method and its code. */
START_TEST(test_pager_stats)
{
    fix_t f;
    fix_init(&f, false, 0);
    spring_pager_stats_t st;
    spring_cache_obj_t c = tp_cache(f.tp);
    ck_assert_rc(spring_cache_pager_stats(c, NULL), SPRING_EINVAL);
    ck_assert_rc(spring_cache_pager_stats((spring_cache_obj_t){FORGED}, &st), SPRING_EBADHANDLE);
    ck_assert_rc(spring_cache_pager_stats((spring_cache_obj_t){0}, &st), SPRING_EBADHANDLE);
    ck_assert_rc(spring_cache_pager_stats((spring_cache_obj_t){tp_rights(f.tp).h}, &st), SPRING_EBADHANDLE);
    ck_assert_rc(spring_as_pager_stats(NULL, A0, &st), SPRING_EINVAL);
    ck_assert_rc(spring_as_pager_stats(f.as, A0, NULL), SPRING_EINVAL);
    ck_assert_rc(spring_as_pager_stats(f.as, AFREE, &st), SPRING_ENOTMAPPED);
    (void)read_byte(f.as, A0);
    (void)read_byte(f.as, A0 + PS);
    write_byte(f.as, A0 + 2 * PS, 1);
    ck_assert_rc(spring_cache_pager_stats(c, &st), 0);
    ck_assert_uint_eq(st.page_ins, tp_count(f.tp, TP_PAGE_IN));
    ck_assert_uint_eq(st.page_ins, 3);
    ck_assert_uint_eq(st.bytes_in, 3 * PS);
    ck_assert_uint_eq(st.page_outs + st.syncs + st.write_outs + st.failures, 0);
    ck_assert_rc(spring_as_flush(f.as, A0, 8 * PS, true), 0);
    tp_fail(f.tp, TP_PAGE_IN, SPRING_ENOSPC, false);
    uint8_t v;
    ck_assert_rc(spring_as_read(f.as, A0 + 5 * PS, &v, 1), SPRING_EPAGER);
    ck_assert_msg(strstr(spring_last_error(), "page_in") && strstr(spring_last_error(), "SPRING_ENOSPC"), "%s",
                  spring_last_error());
    spring_pager_stats_t st2;
    ck_assert_rc(spring_as_pager_stats(f.as, A0 + 3, &st2), 0);
    ck_assert_uint_eq(st2.syncs, 1);
    ck_assert_uint_eq(st2.bytes_out, PS);
    ck_assert_uint_eq(st2.page_ins, 4);
    ck_assert_uint_eq(st2.failures, 1);
    ck_assert_uint_ge(st2.ns, st.ns);
    /* The read-only object at A1 maps the same cache: the same pager. */
    spring_pager_stats_t st3;
    ck_assert_rc(spring_as_pager_stats(f.as, A1, &st3), 0);
    ck_assert_uint_eq(st3.page_ins, st2.page_ins);
    fix_fini(&f);
}
END_TEST

START_TEST(test_vmm_reclaim_caches)
{
    ck_assert_rc(spring_vmm_reclaim_caches(NULL, 0), SPRING_EINVAL);
    fix_t f;
    fix_init(&f, false, 0);
    spring_cache_obj_t c = tp_cache(f.tp);
    spring_cache_rights_t r = tp_rights(f.tp);
    write_byte(f.as, A0 + PS, 0x99);
    /* Nothing unattached yet. */
    ck_assert_int_eq(spring_vmm_reclaim_caches(f.vmm, 0), 0);
    ck_assert_rc(spring_as_unmap(f.as, A0, 8 * PS), 0);
    ck_assert_rc(spring_as_unmap(f.as, A1, 4 * PS), 0);
    ck_assert_uint_eq(tp_count(f.tp, TP_DONE_WITH_CACHE), 1);
    spring_vm_info_t info = test_vm_info(f.vmm);
    ck_assert_uint_eq(info.unattached_caches, 1);
    ck_assert_uint_eq(info.ncaches, 1);
    ck_assert_int_eq(spring_vmm_reclaim_caches(f.vmm, 1), 0); /* one may remain */
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_OUT), 0);
    ck_assert_int_eq(spring_vmm_reclaim_caches(f.vmm, 0), 1);
    /* The modified page went back first; the pager was told. */
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_OUT), 1);
    ck_assert_uint_eq(tp_store(f.tp)[PS], 0x99);
    ck_assert_uint_eq(tp_count(f.tp, TP_DONE_WITH_POBJ), 1);
    info = test_vm_info(f.vmm);
    ck_assert_uint_eq(info.unattached_caches, 0);
    ck_assert_uint_eq(info.ncaches, 0);
    /* Its handles are stale. */
    ck_assert_rc(spring_cache_flush_back(c, 0, SPRING_SIZE_ALL, NULL, NULL), SPRING_EBADHANDLE);
    spring_rights_t got;
    ck_assert_rc(spring_cache_rights_get(r, &got), SPRING_EBADHANDLE);
    ck_assert_int_eq(spring_vmm_reclaim_caches(f.vmm, 0), 0);
    /* Mapping again makes a new cache, with the data from the pager. */
    map_at(f.as, f.rw, 0, 8 * PS, A0, SPRING_RIGHTS_RW);
    map_at(f.as, f.ro, 8 * PS, 4 * PS, A1, SPRING_RIGHTS_RO);
    ck_assert_uint_eq(read_byte(f.as, A0 + PS), 0x99);
    ck_assert_uint_ne(tp_cache(f.tp).h, c.h);
    fix_fini(&f);
}
END_TEST

/* --- create_cache_object */

START_TEST(test_create_cache_object)
{
    spring_registry_t *reg;
    spring_vmm_t *vmm = test_vmm("api", 16, &reg);
    spring_vmm_obj_t user = vmm_obj(vmm, SPRING_PRIV_USER);
    spring_vmm_t *gone = test_vmm("gone", 4, NULL);
    spring_vmm_obj_t stale = vmm_obj(gone, SPRING_PRIV_SYSTEM);
    ck_assert_rc(spring_vmm_destroy(gone), 0);
    spager_t other = {0};
    spring_cache_obj_t oc;
    spring_cache_rights_t orr;
    sp_cache(user, &other, SPRING_RIGHTS_RW, &oc, &orr);
    enum { V_GOOD, V_FORGED, V_ZERO, V_CACHE, V_RIGHTS, V_STALE };
    const uint64_t vobjs[] = {user.h, FORGED, 0, oc.h, orr.h, stale.h};
    static const struct {
        int vobj, ops;
        bool null_info;
        spring_off_t block_size;
        int kind, own, max;
        bool null_cache, null_rights;
        int want;
    } t[] = {
        {V_GOOD, OPS_GOOD, false, 0, 0, 1, 7, true, false, SPRING_EINVAL},
        {V_GOOD, OPS_GOOD, false, 0, 0, 1, 7, false, true, SPRING_EINVAL},
        {V_FORGED, OPS_GOOD, false, 0, 0, 1, 7, false, false, SPRING_EBADHANDLE},
        {V_ZERO, OPS_GOOD, false, 0, 0, 1, 7, false, false, SPRING_EBADHANDLE},
        {V_CACHE, OPS_GOOD, false, 0, 0, 1, 7, false, false, SPRING_EBADHANDLE},
        {V_RIGHTS, OPS_GOOD, false, 0, 0, 1, 7, false, false, SPRING_EBADHANDLE},
        {V_STALE, OPS_GOOD, false, 0, 0, 1, 7, false, false, SPRING_EBADHANDLE},
        {V_GOOD, OPS_NULL, false, 0, 0, 1, 7, false, false, SPRING_EINVAL},
        {V_GOOD, OPS_V0, false, 0, 0, 1, 7, false, false, SPRING_EVERSION},
        {V_GOOD, OPS_VNEG, false, 0, 0, 1, 7, false, false, SPRING_EVERSION},
        {V_GOOD, OPS_VNEW, false, 0, 0, 1, 7, false, false, SPRING_EVERSION},
        {V_GOOD, OPS_NO_PAGE_IN, false, 0, 0, 1, 7, false, false, SPRING_EINVAL},
        {V_GOOD, OPS_NO_PAGE_OUT, false, 0, 0, 1, 7, false, false, SPRING_EINVAL},
        {V_GOOD, OPS_GOOD, true, 0, 0, 1, 7, false, false, SPRING_EINVAL},           /* info NULL */
        {V_GOOD, OPS_GOOD, false, 3 * PS, 0, 1, 7, false, false, SPRING_EINVAL},     /* not a power of two */
        {V_GOOD, OPS_GOOD, false, 6 * PS, 0, 1, 7, false, false, SPRING_EINVAL},
        {V_GOOD, OPS_GOOD, false, PS / 2, 0, 1, 7, false, false, SPRING_EINVAL},     /* below a page */
        {V_GOOD, OPS_GOOD, false, 1, 0, 1, 7, false, false, SPRING_EINVAL},
        {V_GOOD, OPS_GOOD, false, PS + 1, 0, 1, 7, false, false, SPRING_EINVAL},
        /* vmm.h's block-size rule: more than a quarter of the 16 frames. */
        {V_GOOD, OPS_GOOD, false, 8 * PS, 0, 1, 7, false, false, SPRING_ENOFRAMES},
        {V_GOOD, OPS_GOOD, false, 16 * PS, 0, 1, 7, false, false, SPRING_ENOFRAMES},
        {V_GOOD, OPS_GOOD, false, (spring_off_t)1 << 40, 0, 1, 7, false, false, SPRING_ENOFRAMES},
        {V_GOOD, OPS_GOOD, false, 0, 3, 1, 7, false, false, SPRING_EINVAL},          /* unknown kind */
        {V_GOOD, OPS_GOOD, false, 0, 0, 0, 7, false, false, SPRING_EINVAL},          /* own UNCHANGED */
        {V_GOOD, OPS_GOOD, false, 0, 0, 3, 7, false, false, SPRING_EINVAL},
        {V_GOOD, OPS_GOOD, false, 0, 0, -1, 7, false, false, SPRING_EINVAL},
        {V_GOOD, OPS_GOOD, false, 0, 0, 1, 0, false, false, SPRING_EINVAL},          /* rights NONE */
        {V_GOOD, OPS_GOOD, false, 0, 0, 1, 2, false, false, SPRING_EINVAL},          /* write-only */
        {V_GOOD, OPS_GOOD, false, 0, 0, 1, 4, false, false, SPRING_EINVAL},          /* execute-only */
        {V_GOOD, OPS_GOOD, false, 0, 0, 1, 6, false, false, SPRING_EINVAL},
        {V_GOOD, OPS_GOOD, false, 0, 0, 1, 8, false, false, SPRING_EINVAL},
        /* Legal ones. */
        {V_GOOD, OPS_GOOD, false, 0, 0, 1, 7, false, false, 0},
        {V_GOOD, OPS_GOOD, false, 2 * PS, 1, 2, 1, false, false, 0},
        {V_GOOD, OPS_GOOD, false, PS, 2, 1, 5, false, false, 0},
        {V_GOOD, OPS_GOOD, false, 4 * PS, 0, 2, 3, false, false, 0},
    };
    size_t ncaches = test_vm_info(vmm).ncaches;
    for (size_t i = 0; i < NELEM(t); i++) {
        spager_t sp = {.fill = (uint8_t)i};
        spring_pager_info_t info = {t[i].block_size, (spring_cache_kind_t)t[i].kind, 0, true};
        spring_cache_obj_t c = {0};
        spring_cache_rights_t r = {0};
        int rc = spring_vmm_create_cache_object((spring_vmm_obj_t){vobjs[t[i].vobj]}, pager_ops_variant[t[i].ops],
                                                &sp, false, t[i].null_info ? NULL : &info,
                                                (spring_ownership_t)t[i].own, (spring_rights_t)t[i].max,
                                                t[i].null_cache ? NULL : &c, t[i].null_rights ? NULL : &r);
        CASE_RC(i, rc, t[i].want);
        if (rc != 0) {
            /* Nothing created, the pager object not consumed. */
            ck_assert_uint_eq(test_vm_info(vmm).ncaches, ncaches);
            ck_assert_int_eq(sp.done_pobj, 0);
            continue;
        }
        ck_assert_uint_ne(c.h, 0);
        ck_assert_uint_ne(r.h, 0);
        spring_rights_t got;
        ck_assert_rc(spring_cache_rights_get(r, &got), 0);
        ck_assert_int_eq(got, t[i].max);
        ck_assert_uint_eq(test_vm_info(vmm).ncaches, ncaches + 1);
        ck_assert_rc(spring_cache_destroy(c), 0);
        ck_assert_int_eq(sp.done_pobj, 1);
        ck_assert_int_eq(sp.page_ins, 0);
        ck_assert_uint_eq(test_vm_info(vmm).ncaches, ncaches);
    }
    CHECK_VMM(vmm);
    ck_assert_rc(spring_cache_destroy(oc), 0);
    test_vmm_free(vmm, reg);
}
END_TEST

/* --- bind_cache and create_cache_object_and_bind, run inside final_bind. */

/* Handle selectors for the tables below. */
enum { S_GOOD, S_FORGED, S_ZERO, S_CACHE, S_RIGHTS, S_STALE, S_DEAD, S_FOREIGN, S_VMMOBJ };

static struct bk_ctx {
    spring_vmm_t *vmm;
    spring_vmm_obj_t vobj, foreign_vobj;
    spring_cache_obj_t cache;             /* an existing cache of this VMM */
    spring_cache_rights_t rights;         /* its rights (RWX) */
    spring_cache_rights_t stale;          /* a released cache-rights */
    spring_cache_rights_t dead;           /* a cache-rights of a destroyed cache */
    spring_cache_rights_t foreign;        /* a cache-rights of another VMM's cache */
    spager_t made;                        /* the pager of the cache made inside final_bind */
    spring_cache_obj_t made_cache;
    spring_cache_rights_t made_rights;
    bool ran;
} bk;

static uint64_t pick_vobj(int s)
{
    switch (s) {
    case S_GOOD: return bk.vobj.h;
    case S_FORGED: return FORGED;
    case S_ZERO: return 0;
    case S_CACHE: return bk.cache.h;
    case S_RIGHTS: return bk.rights.h;
    case S_FOREIGN: return bk.foreign_vobj.h;
    default: return FORGED ^ 1;
    }
}

static uint64_t pick_key(int s, spring_bind_key_t key)
{
    switch (s) {
    case S_GOOD: return key.h;
    case S_FORGED: return FORGED;
    case S_ZERO: return 0;
    case S_CACHE: return bk.cache.h;
    case S_RIGHTS: return bk.rights.h;
    case S_VMMOBJ: return bk.vobj.h;
    default: return key.h ^ ((uint64_t)1 << 62);
    }
}

static uint64_t pick_rights(int s, spring_cache_rights_t good)
{
    switch (s) {
    case S_GOOD: return good.h;
    case S_FORGED: return FORGED;
    case S_ZERO: return 0;
    case S_CACHE: return bk.cache.h;
    case S_STALE: return bk.stale.h;
    case S_DEAD: return bk.dead.h;
    case S_FOREIGN: return bk.foreign.h;
    case S_VMMOBJ: return bk.vobj.h;
    default: return FORGED ^ 2;
    }
}

static void fb_bind_cache(cmobj_t *m, spring_bind_key_t key, spring_off_t off, spring_off_t len)
{
    (void)m;
    static const struct {
        int vobj, key, rights;
        spring_off_t len;
        int want;
    } t[] = {
        {S_FORGED, S_GOOD, S_GOOD, 4 * PS, SPRING_EBADHANDLE},
        {S_ZERO, S_GOOD, S_GOOD, 4 * PS, SPRING_EBADHANDLE},
        {S_CACHE, S_GOOD, S_GOOD, 4 * PS, SPRING_EBADHANDLE},   /* a cache handle as the vmm object */
        {S_RIGHTS, S_GOOD, S_GOOD, 4 * PS, SPRING_EBADHANDLE},
        {S_FOREIGN, S_GOOD, S_GOOD, 4 * PS, SPRING_EBADHANDLE}, /* the key is not outstanding there */
        {S_FOREIGN, S_GOOD, S_FOREIGN, 4 * PS, SPRING_EBADHANDLE}, /* not even with its own cache */
        {S_GOOD, S_FORGED, S_GOOD, 4 * PS, SPRING_EBADHANDLE},
        {S_GOOD, S_ZERO, S_GOOD, 4 * PS, SPRING_EBADHANDLE},
        {S_GOOD, S_CACHE, S_GOOD, 4 * PS, SPRING_EBADHANDLE},
        {S_GOOD, S_RIGHTS, S_GOOD, 4 * PS, SPRING_EBADHANDLE},
        {S_GOOD, S_VMMOBJ, S_GOOD, 4 * PS, SPRING_EBADHANDLE},
        {S_GOOD, S_GOOD, S_FORGED, 4 * PS, SPRING_EBADHANDLE},
        {S_GOOD, S_GOOD, S_ZERO, 4 * PS, SPRING_EBADHANDLE},
        {S_GOOD, S_GOOD, S_CACHE, 4 * PS, SPRING_EBADHANDLE},   /* a cache handle as the cache-rights */
        {S_GOOD, S_GOOD, S_VMMOBJ, 4 * PS, SPRING_EBADHANDLE},
        {S_GOOD, S_GOOD, S_STALE, 4 * PS, SPRING_EBADHANDLE},   /* released */
        {S_GOOD, S_GOOD, S_DEAD, 4 * PS, SPRING_EBADHANDLE},    /* its cache was destroyed */
        {S_GOOD, S_GOOD, S_FOREIGN, 4 * PS, SPRING_EBADHANDLE}, /* another VMM's cache */
        {S_GOOD, S_GOOD, S_GOOD, 0, SPRING_EINVAL},
    };
    ck_assert_uint_eq(len, 4 * PS);
    spring_cache_rights_t sib, sib2;
    spring_rights_t got;
    ck_assert_rc(spring_cache_rights_create_restricted_sibling(bk.rights, SPRING_RIGHTS_RW, &sib), 0);
    for (size_t i = 0; i < NELEM(t); i++) {
        spring_vmm_obj_t vo = {pick_vobj(t[i].vobj)};
        spring_bind_key_t k = {pick_key(t[i].key, key)};
        spring_cache_rights_t r = {pick_rights(t[i].rights, sib)};
        CASE_RC(i, spring_vmm_bind_cache(vo, k, t[i].len, off, r), t[i].want);
        /* The cache-rights is consumed only on success. */
        ck_assert_rc(spring_cache_rights_get(sib, &got), 0);
    }
    ck_assert_rc(spring_vmm_bind_cache(bk.vobj, key, len, off, sib), 0);
    ck_assert_rc(spring_cache_rights_get(sib, &got), SPRING_EBADHANDLE); /* consumed */
    /* The key is bound now. */
    ck_assert_rc(spring_cache_rights_create_restricted_sibling(bk.rights, SPRING_RIGHTS_RO, &sib2), 0);
    ck_assert_rc(spring_vmm_bind_cache(bk.vobj, key, len, off, sib2), SPRING_EBUSY);
    ck_assert_rc(spring_cache_rights_get(sib2, &got), 0);
    ck_assert_rc(spring_cache_rights_release(sib2), 0);
    bk.ran = true;
}

/* Set up bk: this VMM's cache, a released and a dead cache-rights, and
 * another VMM with a cache of its own. */
static void bk_setup(spring_vmm_t *vmm, spring_vmm_t *other, spager_t *sp, spager_t *dead_sp, spager_t *osp,
                     spring_cache_obj_t *ocache)
{
    memset(&bk, 0, sizeof bk);
    bk.vmm = vmm;
    bk.vobj = vmm_obj(vmm, SPRING_PRIV_USER);
    bk.foreign_vobj = vmm_obj(other, SPRING_PRIV_USER);
    sp_cache(bk.vobj, sp, SPRING_RIGHTS_RWX, &bk.cache, &bk.rights);
    ck_assert_rc(spring_cache_rights_create_restricted_sibling(bk.rights, SPRING_RIGHTS_RO, &bk.stale), 0);
    ck_assert_rc(spring_cache_rights_release(bk.stale), 0);
    spring_cache_obj_t dc;
    sp_cache(bk.vobj, dead_sp, SPRING_RIGHTS_RWX, &dc, &bk.dead);
    ck_assert_rc(spring_cache_destroy(dc), 0);
    sp_cache(bk.foreign_vobj, osp, SPRING_RIGHTS_RWX, ocache, &bk.foreign);
}

START_TEST(test_vmm_bind_cache)
{
    spring_registry_t *reg;
    spring_vmm_t *vmm = test_vmm("api", 16, &reg), *other = test_vmm("other", 8, NULL);
    spager_t sp = {.fill = 0x5a}, dsp = {0}, osp = {0};
    spring_cache_obj_t ocache;
    bk_setup(vmm, other, &sp, &dsp, &osp, &ocache);
    cmobj_t cm = {.bind_rights = {FORGED}, .in_final_bind = fb_bind_cache};
    spring_mobj_t *m = cm_new(&cm, &cm_ops);
    spring_as_t *as;
    ck_assert_rc(spring_as_new(vmm, NULL, &as), 0);
    map_at(as, m, 0, 4 * PS, A0, SPRING_RIGHTS_RW);
    ck_assert(bk.ran);
    ck_assert_int_eq(cm.final_bind_calls, 1);
    /* The region maps the bound cache, with the binding's rights. */
    ck_assert_uint_eq(read_byte(as, A0 + 2 * PS), 0x5a);
    ck_assert_int_eq(sp.page_ins, 1);
    spring_mapping_t mp[2];
    size_t n;
    bool more;
    ck_assert_rc(spring_as_get_mappings(as, A0, 4 * PS, mp, 2, &n, &more), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(mp[0].max_access, SPRING_RIGHTS_RW);
    ck_assert_ptr_eq(mp[0].mobj, m);
    spring_mappings_release(mp, n);
    /* After final_bind returned the key is not outstanding any more. */
    spring_cache_rights_t sib;
    spring_rights_t got;
    ck_assert_rc(spring_cache_rights_create_restricted_sibling(bk.rights, SPRING_RIGHTS_RW, &sib), 0);
    ck_assert_rc(spring_vmm_bind_cache(bk.vobj, cm.key, PS, 0, sib), SPRING_EBADHANDLE);
    ck_assert_rc(spring_cache_rights_get(sib, &got), 0);
    ck_assert_rc(spring_cache_rights_release(sib), 0);
    CHECK_VMM(vmm);

    /* A final_bind that binds nothing, or binds and then fails: EBIND. */
    cm.in_final_bind = NULL;
    spring_off_t len = PS;
    spring_addr_t addr = AFREE;
    ck_assert_rc(spring_as_map(as, m, 0, &len, &addr, SPRING_RIGHTS_RW), SPRING_EBIND);
    ck_assert_int_eq(cm.final_bind_calls, 2);
    ck_assert_uint_eq(test_as_stats(as).nregions, 1);
    CHECK_VMM(vmm);

    spring_as_destroy(as);
    spring_mobj_unref(m);
    ck_assert_rc(spring_cache_destroy(bk.cache), 0);
    ck_assert_rc(spring_cache_destroy(ocache), 0);
    ck_assert_int_eq(sp.done_pobj, 1);
    ck_assert_rc(spring_vmm_destroy(other), 0);
    test_vmm_free(vmm, reg);
}
END_TEST

static void fb_create_and_bind(cmobj_t *m, spring_bind_key_t key, spring_off_t off, spring_off_t len)
{
    (void)m;
    enum { I_GOOD, I_NULL, I_BS, I_KIND };
    static const struct {
        int vobj, key;
        spring_off_t len;
        int bind_max, max, ops, info, own;
        bool null_cache, null_rights;
        int want;
    } t[] = {
        {S_GOOD, S_GOOD, 4 * PS, 3, 7, OPS_GOOD, I_GOOD, 1, true, false, SPRING_EINVAL},
        {S_GOOD, S_GOOD, 4 * PS, 3, 7, OPS_GOOD, I_GOOD, 1, false, true, SPRING_EINVAL},
        {S_GOOD, S_GOOD, 0, 3, 7, OPS_GOOD, I_GOOD, 1, false, false, SPRING_EINVAL},
        {S_GOOD, S_GOOD, 4 * PS, 2, 7, OPS_GOOD, I_GOOD, 1, false, false, SPRING_EINVAL}, /* write-only */
        {S_GOOD, S_GOOD, 4 * PS, 8, 7, OPS_GOOD, I_GOOD, 1, false, false, SPRING_EINVAL},
        {S_GOOD, S_GOOD, 4 * PS, 0, 7, OPS_GOOD, I_GOOD, 1, false, false, SPRING_EINVAL},
        {S_GOOD, S_GOOD, 4 * PS, 1, 4, OPS_GOOD, I_GOOD, 1, false, false, SPRING_EINVAL}, /* max execute-only */
        {S_GOOD, S_GOOD, 4 * PS, 7, 3, OPS_GOOD, I_GOOD, 1, false, false, SPRING_ERIGHTS}, /* wider than max */
        {S_GOOD, S_GOOD, 4 * PS, 5, 3, OPS_GOOD, I_GOOD, 1, false, false, SPRING_ERIGHTS},
        {S_GOOD, S_GOOD, 4 * PS, 3, 1, OPS_GOOD, I_GOOD, 1, false, false, SPRING_ERIGHTS},
        {S_FORGED, S_GOOD, 4 * PS, 3, 7, OPS_GOOD, I_GOOD, 1, false, false, SPRING_EBADHANDLE},
        {S_ZERO, S_GOOD, 4 * PS, 3, 7, OPS_GOOD, I_GOOD, 1, false, false, SPRING_EBADHANDLE},
        {S_CACHE, S_GOOD, 4 * PS, 3, 7, OPS_GOOD, I_GOOD, 1, false, false, SPRING_EBADHANDLE},
        {S_FOREIGN, S_GOOD, 4 * PS, 3, 7, OPS_GOOD, I_GOOD, 1, false, false, SPRING_EBADHANDLE},
        {S_GOOD, S_FORGED, 4 * PS, 3, 7, OPS_GOOD, I_GOOD, 1, false, false, SPRING_EBADHANDLE},
        {S_GOOD, S_ZERO, 4 * PS, 3, 7, OPS_GOOD, I_GOOD, 1, false, false, SPRING_EBADHANDLE},
        {S_GOOD, S_CACHE, 4 * PS, 3, 7, OPS_GOOD, I_GOOD, 1, false, false, SPRING_EBADHANDLE},
        {S_GOOD, S_VMMOBJ, 4 * PS, 3, 7, OPS_GOOD, I_GOOD, 1, false, false, SPRING_EBADHANDLE},
        {S_GOOD, S_GOOD, 4 * PS, 3, 7, OPS_NULL, I_GOOD, 1, false, false, SPRING_EINVAL},
        {S_GOOD, S_GOOD, 4 * PS, 3, 7, OPS_V0, I_GOOD, 1, false, false, SPRING_EVERSION},
        {S_GOOD, S_GOOD, 4 * PS, 3, 7, OPS_NO_PAGE_IN, I_GOOD, 1, false, false, SPRING_EINVAL},
        {S_GOOD, S_GOOD, 4 * PS, 3, 7, OPS_GOOD, I_NULL, 1, false, false, SPRING_EINVAL},
        {S_GOOD, S_GOOD, 4 * PS, 3, 7, OPS_GOOD, I_BS, 1, false, false, SPRING_EINVAL},
        {S_GOOD, S_GOOD, 4 * PS, 3, 7, OPS_GOOD, I_KIND, 1, false, false, SPRING_EINVAL},
        {S_GOOD, S_GOOD, 4 * PS, 3, 7, OPS_GOOD, I_GOOD, 0, false, false, SPRING_EINVAL},
        {S_GOOD, S_GOOD, 4 * PS, 3, 7, OPS_GOOD, I_GOOD, 3, false, false, SPRING_EINVAL},
    };
    const spring_pager_info_t infos[] = {
        {0, SPRING_CACHE_DATA, 0, true}, {0}, {3 * PS, SPRING_CACHE_DATA, 0, true}, {0, 9, 0, true}};
    size_t ncaches = test_vm_info(bk.vmm).ncaches;
    ck_assert_uint_eq(len, 4 * PS);
    for (size_t i = 0; i < NELEM(t); i++) {
        spring_cache_obj_t c = {0};
        spring_cache_rights_t r = {0};
        int rc = spring_vmm_create_cache_object_and_bind(
            (spring_vmm_obj_t){pick_vobj(t[i].vobj)}, (spring_bind_key_t){pick_key(t[i].key, key)}, t[i].len, off,
            (spring_rights_t)t[i].bind_max, pager_ops_variant[t[i].ops], &bk.made, false,
            t[i].info == I_NULL ? NULL : &infos[t[i].info], (spring_ownership_t)t[i].own, (spring_rights_t)t[i].max,
            t[i].null_cache ? NULL : &c, t[i].null_rights ? NULL : &r);
        CASE_RC(i, rc, t[i].want);
        ck_assert_uint_eq(test_vm_info(bk.vmm).ncaches, ncaches);
        ck_assert_int_eq(bk.made.done_pobj, 0); /* not consumed */
    }
    spring_pager_info_t info = {0, SPRING_CACHE_DATA, 0, true};
    ck_assert_rc(spring_vmm_create_cache_object_and_bind(bk.vobj, key, len, off, SPRING_RIGHTS_RW, &sp_ops, &bk.made,
                                                         false, &info, SPRING_OWN_EXCLUSIVE, SPRING_RIGHTS_RWX,
                                                         &bk.made_cache, &bk.made_rights),
                 0);
    spring_rights_t got;
    ck_assert_rc(spring_cache_rights_get(bk.made_rights, &got), 0);
    ck_assert_int_eq(got, SPRING_RIGHTS_RWX);
    ck_assert_uint_eq(test_vm_info(bk.vmm).ncaches, ncaches + 1);
    /* The key is bound now. */
    spager_t extra = {0};
    spring_cache_obj_t c2;
    spring_cache_rights_t r2;
    ck_assert_rc(spring_vmm_create_cache_object_and_bind(bk.vobj, key, len, off, SPRING_RIGHTS_RW, &sp_ops, &extra,
                                                         false, &info, SPRING_OWN_EXCLUSIVE, SPRING_RIGHTS_RWX, &c2,
                                                         &r2),
                 SPRING_EBUSY);
    ck_assert_uint_eq(test_vm_info(bk.vmm).ncaches, ncaches + 1);
    ck_assert_int_eq(extra.done_pobj, 0);
    bk.ran = true;
}

START_TEST(test_vmm_create_cache_object_and_bind)
{
    spring_registry_t *reg;
    spring_vmm_t *vmm = test_vmm("api", 16, &reg), *other = test_vmm("other", 8, NULL);
    spager_t sp = {0}, dsp = {0}, osp = {0};
    spring_cache_obj_t ocache;
    bk_setup(vmm, other, &sp, &dsp, &osp, &ocache);
    bk.made.fill = 0x6b;
    cmobj_t cm = {.bind_rights = {FORGED}, .in_final_bind = fb_create_and_bind};
    spring_mobj_t *m = cm_new(&cm, &cm_ops);
    spring_as_t *as;
    ck_assert_rc(spring_as_new(vmm, NULL, &as), 0);
    map_at(as, m, 0, 4 * PS, A0, SPRING_RIGHTS_RW);
    ck_assert(bk.ran);
    ck_assert_uint_eq(read_byte(as, A0 + 3 * PS), 0x6b);
    ck_assert_int_eq(bk.made.page_ins, 1);
    spring_mapping_t mp[2];
    size_t n;
    bool more;
    ck_assert_rc(spring_as_get_mappings(as, A0, 4 * PS, mp, 2, &n, &more), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(mp[0].max_access, SPRING_RIGHTS_RW); /* bind_max_rights */
    spring_mappings_release(mp, n);
    /* The key is gone once final_bind returned. */
    spager_t late = {0};
    spring_pager_info_t info = {0, SPRING_CACHE_DATA, 0, true};
    spring_cache_obj_t c2;
    spring_cache_rights_t r2;
    size_t ncaches = test_vm_info(vmm).ncaches;
    ck_assert_rc(spring_vmm_create_cache_object_and_bind(bk.vobj, cm.key, PS, 0, SPRING_RIGHTS_RO, &sp_ops, &late,
                                                         false, &info, SPRING_OWN_EXCLUSIVE, SPRING_RIGHTS_RO, &c2,
                                                         &r2),
                 SPRING_EBADHANDLE);
    ck_assert_uint_eq(test_vm_info(vmm).ncaches, ncaches);
    CHECK_VMM(vmm);
    spring_as_destroy(as);
    spring_mobj_unref(m);
    ck_assert_rc(spring_cache_destroy(bk.made_cache), 0);
    ck_assert_int_eq(bk.made.done_pobj, 1);
    ck_assert_rc(spring_cache_destroy(bk.cache), 0);
    ck_assert_rc(spring_cache_destroy(ocache), 0);
    ck_assert_rc(spring_vmm_destroy(other), 0);
    test_vmm_free(vmm, reg);
}
END_TEST

/* --- add_swap_pager */

START_TEST(test_vmm_add_swap_pager)
{
    spring_registry_t *reg;
    spring_vmm_t *vmm = test_vmm("api", 32, &reg);
    spring_vmm_obj_t sys = vmm_obj(vmm, SPRING_PRIV_SYSTEM), user = vmm_obj(vmm, SPRING_PRIV_USER);
    spring_vmm_t *gone = test_vmm("gone", 4, NULL);
    spring_vmm_obj_t stale = vmm_obj(gone, SPRING_PRIV_SYSTEM);
    ck_assert_rc(spring_vmm_destroy(gone), 0);
    cswap_t bad = {0};
    const struct {
        uint64_t vobj;
        const spring_swap_pager_ops_t *ops;
        int want;
    } t[] = {
        {sys.h, NULL, SPRING_EINVAL},
        {sys.h, &cs_ops_v0, SPRING_EVERSION},
        {sys.h, &cs_ops_v99, SPRING_EVERSION},
        {sys.h, &cs_ops_no_create, SPRING_EINVAL},
        {FORGED, &cs_ops, SPRING_EBADHANDLE},
        {0, &cs_ops, SPRING_EBADHANDLE},
        {sys.h ^ ((uint64_t)1 << 50), &cs_ops, SPRING_EBADHANDLE},
        {stale.h, &cs_ops, SPRING_EBADHANDLE},
        {user.h, &cs_ops, SPRING_EPERM},
    };
    for (size_t i = 0; i < NELEM(t); i++)
        CASE_RC(i, spring_vmm_add_swap_pager((spring_vmm_obj_t){t[i].vobj}, t[i].ops, &bad, false), t[i].want);

    /* None of them was added: the in-tree anonymous pager still serves. */
    spring_as_t *as;
    ck_assert_rc(spring_as_new(vmm, NULL, &as), 0);
    spring_mobj_t *mo[4] = {NULL};
    spring_off_t len = 2 * PS;
    spring_addr_t addr = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_allocate_memory_and_mobj(as, &len, &addr, SPRING_RIGHTS_RW, &mo[0]), 0);
    ck_assert_int_eq(bad.creates, 0);

    /* A temporary one waits behind the first temporary one (in order). */
    cswap_t tmp = {reg, "api", 0, 0, 0, {0}, 0}, full = {reg, "api", SPRING_ENOSPC, 0, 0, {0}, 0},
            perm = {reg, "api", 0, 0, 0, {0}, 0};
    ck_assert_rc(spring_vmm_add_swap_pager(sys, &cs_ops, &tmp, true), 0);
    len = 2 * PS, addr = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_allocate_memory_and_mobj(as, &len, &addr, SPRING_RIGHTS_RW, &mo[1]), 0);
    ck_assert_int_eq(tmp.creates, 0);
    /* Permanent ones take over from temporary ones; one that answers ENOSPC
     * passes the request to the next. */
    ck_assert_rc(spring_vmm_add_swap_pager(sys, &cs_ops, &full, false), 0);
    ck_assert_rc(spring_vmm_add_swap_pager(sys, &cs_ops, &perm, false), 0);
    len = 2 * PS, addr = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_allocate_memory_and_mobj(as, &len, &addr, SPRING_RIGHTS_RW, &mo[2]), 0);
    ck_assert_int_eq(tmp.creates, 0);
    ck_assert_int_eq(full.creates, 1);
    ck_assert_int_eq(perm.creates, 1);
    ck_assert_uint_eq(perm.ntp, 1);
    write_byte(as, addr + PS, 0x31);
    ck_assert_uint_eq(read_byte(as, addr + PS), 0x31);
    ck_assert_uint_eq(tp_count(perm.tp[0], TP_BIND), 1);
    CHECK_VMM(vmm);

    spring_as_destroy(as);
    for (size_t i = 0; i < NELEM(mo); i++)
        spring_mobj_unref(mo[i]);
    cs_free(&perm);
    ck_assert_int_eq(perm.releases + full.releases + tmp.releases, 0);
    test_vmm_free(vmm, reg);
    /* Released when the VMM is destroyed. */
    ck_assert_int_eq(tmp.releases, 1);
    ck_assert_int_eq(full.releases, 1);
    ck_assert_int_eq(perm.releases, 1);
    ck_assert_int_eq(bad.releases, 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* vmm.h: the registry                                                  */

START_TEST(test_registry_add_remove)
{
    spring_registry_t *reg = NULL;
    ck_assert_rc(spring_registry_new(NULL), SPRING_EINVAL);
    ck_assert_rc(spring_registry_new(&reg), 0);
    ck_assert_ptr_nonnull(reg);
    spring_registry_destroy(NULL); /* ignored */
    spring_vmm_t *a = test_vmm("a", 4, NULL), *a2 = test_vmm("a", 4, NULL), *b = test_vmm("b", 4, NULL);
    const struct {
        spring_registry_t *reg;
        spring_vmm_t *vmm;
        int want;
    } add[] = {
        {NULL, a, SPRING_EINVAL},
        {reg, NULL, SPRING_EINVAL},
        {reg, a, 0},
        {reg, a, SPRING_EEXIST},  /* the same VMM again */
        {reg, a2, SPRING_EEXIST}, /* another VMM with the same name */
        {reg, b, 0},
    };
    for (size_t i = 0; i < NELEM(add); i++)
        CASE_RC(i, spring_registry_add_vmm(add[i].reg, add[i].vmm), add[i].want);
    /* The name still leads to the first VMM. */
    spring_vmm_obj_t o;
    spring_vm_info_t info;
    ck_assert_rc(spring_registry_lookup(reg, "a", NULL, &o), 0);
    ck_assert_uint_eq(o.h, vmm_obj(a, SPRING_PRIV_USER).h);
    ck_assert_rc(spring_vmm_get_vm_info(o, &info), 0);
    const struct {
        spring_registry_t *reg;
        spring_vmm_t *vmm;
        int want;
    } rem[] = {
        {NULL, a, SPRING_EINVAL},
        {reg, NULL, SPRING_EINVAL},
        {reg, a2, SPRING_ENOENT}, /* never registered */
        {reg, a, 0},
        {reg, a, SPRING_ENOENT},  /* removed already */
    };
    for (size_t i = 0; i < NELEM(rem); i++)
        CASE_RC(i, spring_registry_remove_vmm(rem[i].reg, rem[i].vmm), rem[i].want);
    ck_assert_rc(spring_registry_lookup(reg, "a", NULL, &o), SPRING_ENOENT);
    ck_assert_rc(spring_registry_add_vmm(reg, a2), 0); /* the name is free again */
    ck_assert_rc(spring_registry_lookup(reg, "a", NULL, &o), 0);
    ck_assert_uint_eq(o.h, vmm_obj(a2, SPRING_PRIV_USER).h);
    ck_assert_rc(spring_registry_lookup(reg, "b", NULL, &o), 0);
    /* Destroying the registry does not affect its VMMs. */
    spring_registry_destroy(reg);
    ck_assert_rc(spring_vmm_get_vm_info(o, &info), 0);
    CHECK_VMM(b);
    ck_assert_rc(spring_vmm_destroy(a), 0);
    ck_assert_rc(spring_vmm_destroy(a2), 0);
    ck_assert_rc(spring_vmm_destroy(b), 0);
}
END_TEST

START_TEST(test_registry_grant_lookup)
{
    spring_registry_t *reg;
    spring_vmm_t *vmm = test_vmm("api", 8, &reg);
    static spring_vmm_obj_t sink;
    const struct {
        spring_registry_t *reg;
        const char *cred;
        int priv, want;
    } g[] = {
        {NULL, "k", SPRING_PRIV_USER, SPRING_EINVAL},
        {reg, NULL, SPRING_PRIV_USER, SPRING_EINVAL},
        {reg, "", SPRING_PRIV_USER, SPRING_EINVAL},
        {reg, "k", 2, SPRING_EINVAL},
        {reg, "k", -1, SPRING_EINVAL},
        {reg, "user-key", SPRING_PRIV_USER, 0},
        {reg, "sys-key", SPRING_PRIV_SYSTEM, 0},
    };
    for (size_t i = 0; i < NELEM(g); i++)
        CASE_RC(i, spring_registry_grant(g[i].reg, g[i].cred, (spring_privilege_t)g[i].priv), g[i].want);
    const struct {
        spring_registry_t *reg;
        const char *name, *cred;
        spring_vmm_obj_t *out;
        int want;
    } l[] = {
        {NULL, "api", NULL, &sink, SPRING_EINVAL},
        {reg, NULL, NULL, &sink, SPRING_EINVAL},
        {reg, "api", NULL, NULL, SPRING_EINVAL},
        {reg, "nope", NULL, &sink, SPRING_ENOENT},
        {reg, "", NULL, &sink, SPRING_ENOENT},
        {reg, "API", NULL, &sink, SPRING_ENOENT},  /* names are exact */
        {reg, "api", "k", &sink, SPRING_EPERM},    /* never granted */
        {reg, "api", "sys-key ", &sink, SPRING_EPERM},
        {reg, "api", "", &sink, SPRING_EPERM},
        {reg, "api", NULL, &sink, 0},
        {reg, "api", "user-key", &sink, 0},
        {reg, "api", "sys-key", &sink, 0},
    };
    for (size_t i = 0; i < NELEM(l); i++)
        CASE_RC(i, spring_registry_lookup(l[i].reg, l[i].name, l[i].cred, l[i].out), l[i].want);
    /* The privilege follows the credential. */
    spring_vmm_obj_t anon, user, sys;
    ck_assert_rc(spring_registry_lookup(reg, "api", NULL, &anon), 0);
    ck_assert_rc(spring_registry_lookup(reg, "api", "user-key", &user), 0);
    ck_assert_rc(spring_registry_lookup(reg, "api", "sys-key", &sys), 0);
    cswap_t cs = {0};
    ck_assert_rc(spring_vmm_add_swap_pager(anon, &cs_ops, &cs, true), SPRING_EPERM);
    ck_assert_rc(spring_vmm_add_swap_pager(user, &cs_ops, &cs, true), SPRING_EPERM);
    ck_assert_rc(spring_vmm_add_swap_pager(sys, &cs_ops, &cs, true), 0);
    /* Granting again replaces the privilege. */
    ck_assert_rc(spring_registry_grant(reg, "user-key", SPRING_PRIV_SYSTEM), 0);
    ck_assert_rc(spring_registry_grant(reg, "sys-key", SPRING_PRIV_USER), 0);
    ck_assert_rc(spring_registry_lookup(reg, "api", "user-key", &user), 0);
    ck_assert_rc(spring_registry_lookup(reg, "api", "sys-key", &sys), 0);
    cswap_t cs2 = {0};
    ck_assert_rc(spring_vmm_add_swap_pager(sys, &cs_ops, &cs2, true), SPRING_EPERM);
    ck_assert_rc(spring_vmm_add_swap_pager(user, &cs_ops, &cs2, true), 0);
    test_vmm_free(vmm, reg);
    ck_assert_int_eq(cs.releases, 1);
    ck_assert_int_eq(cs2.releases, 1);
}
END_TEST

/* ------------------------------------------------------------------ */
/* cache.h                                                              */

/* The five calls with the same shape, by index. */
enum cop { C_FLUSH_BACK, C_DENY_WRITES, C_WRITE_BACK, C_DELETE_RANGE, C_ZERO_FILL, C_NOPS };
static const char *const cop_name[C_NOPS] = {"flush_back", "deny_writes", "write_back", "delete_range",
                                             "zero_fill"};

static int cache_call(enum cop op, spring_cache_obj_t c, spring_off_t off, spring_off_t size,
                      spring_ownership_t *own)
{
    spring_data_t *d = NULL;
    int rc;
    switch (op) {
    case C_FLUSH_BACK: rc = spring_cache_flush_back(c, off, size, own, &d); break;
    case C_DENY_WRITES: rc = spring_cache_deny_writes(c, off, size, own, &d); break;
    case C_WRITE_BACK: rc = spring_cache_write_back(c, off, size, own, &d); break;
    case C_DELETE_RANGE: rc = spring_cache_delete_range(c, off, size, own); break;
    default: rc = spring_cache_zero_fill(c, off, size, own); break;
    }
    if (rc == 0)
        spring_data_free(d);
    else
        ck_assert_msg(d == NULL, "%s failed but produced data", cop_name[op]);
    return rc;
}

START_TEST(test_cache_range_illegal)
{
    /* Blocks of two pages: page aligned is not enough. */
    fix_t f;
    fix_init(&f, false, 2 * PS);
    spring_cache_obj_t c = tp_cache(f.tp);
    write_byte(f.as, A0, 0xee);                         /* block 0 modified */
    ck_assert_uint_eq(read_byte(f.as, A0 + 5 * PS), tp_pattern(5 * PS)); /* block 2 clean */
    const spring_off_t wrap = (spring_off_t)0 - 4 * PS; /* block aligned, near 2^64 */
    static const struct {
        spring_off_t off, size;
        int own;
        int want;
    } t[] = {
        {PS, 2 * PS, 0, SPRING_EALIGN},  /* page aligned, not block aligned */
        {1, 2 * PS, 0, SPRING_EALIGN},
        {0, PS, 0, SPRING_EALIGN},
        {0, 3 * PS, 0, SPRING_EALIGN},
        {0, 1, 0, SPRING_EALIGN},
        {PS, SPRING_SIZE_ALL, 0, SPRING_EALIGN},
        {3 * PS, 4 * PS, 0, SPRING_EALIGN},
        {0, 2 * PS, 3, SPRING_EINVAL},   /* not an ownership state */
        {0, 2 * PS, -1, SPRING_EINVAL},
        {0, 2 * PS, 0x100, SPRING_EINVAL},
        {0, SPRING_SIZE_ALL, 7, SPRING_EINVAL},
    };
    for (int op = 0; op < C_NOPS; op++) {
        size_t ncalls = tp_ncalls(f.tp);
        size_t resident = test_as_stats(f.as).resident;
        for (size_t i = 0; i < NELEM(t); i++) {
            spring_ownership_t own = (spring_ownership_t)t[i].own;
            int rc = cache_call((enum cop)op, c, t[i].off, t[i].size, &own);
            ck_assert_msg(rc == t[i].want, "%s case %zu: got %s, want %s", cop_name[op], i, spring_err_name(rc),
                          spring_err_name(t[i].want));
        }
        /* offset+size overflowing 2^64. */
        int rc = cache_call((enum cop)op, c, wrap, 8 * PS, NULL);
        ck_assert_msg(rc == SPRING_ERANGE, "%s overflow: got %s", cop_name[op], spring_err_name(rc));
        rc = cache_call((enum cop)op, c, wrap, (spring_off_t)0 - 2 * PS, NULL);
        ck_assert_msg(rc == SPRING_ERANGE, "%s overflow 2: got %s", cop_name[op], spring_err_name(rc));
        /* Forged handles and handles of other types. */
        uint64_t bad[16];
        size_t n = forgeries(c.h, bad);
        bad[n++] = tp_rights(f.tp).h;                        /* a cache-rights where a cache is expected */
        bad[n++] = vmm_obj(f.vmm, SPRING_PRIV_SYSTEM).h;     /* a vmm object */
        for (size_t i = 0; i < n; i++) {
            spring_ownership_t own = SPRING_OWN_SHARED;
            rc = cache_call((enum cop)op, (spring_cache_obj_t){bad[i]}, 0, SPRING_SIZE_ALL, &own);
            ck_assert_msg(rc == SPRING_EBADHANDLE, "%s handle %zu: got %s", cop_name[op], i, spring_err_name(rc));
        }
        /* Nothing happened: no pager call, the same pages cached, the
         * modified data still there, the ownership unchanged. */
        ck_assert_uint_eq(tp_ncalls(f.tp), ncalls);
        ck_assert_uint_eq(test_as_stats(f.as).resident, resident);
        ck_assert_uint_eq(read_byte(f.as, A0), 0xee);
        ck_assert_uint_eq(read_byte(f.as, A0 + 5 * PS + 1), tp_pattern(5 * PS + 1));
        ck_assert_uint_eq(tp_ncalls(f.tp), ncalls);
        CHECK_VMM(f.vmm);
    }
    spring_ownership_t own;
    /* Legal: any block-aligned range, to the end or far away. */
    for (int op = 0; op < C_NOPS; op++) {
        own = SPRING_OWN_UNCHANGED;
        ck_assert_rc(cache_call((enum cop)op, c, (spring_off_t)1 << 40, SPRING_SIZE_ALL, &own), 0);
        ck_assert_int_eq(own, SPRING_OWN_EXCLUSIVE);
        ck_assert_rc(cache_call((enum cop)op, c, wrap, 2 * PS, NULL), 0);
    }
    ck_assert_uint_eq(read_byte(f.as, A0), 0xee);
    fix_fini(&f);
}
END_TEST

START_TEST(test_cache_flush_back)
{
    fix_t f;
    fix_init(&f, false, 0);
    spring_cache_obj_t c = tp_cache(f.tp);
    write_byte(f.as, A0, 0xab);
    ck_assert_uint_eq(read_byte(f.as, A0 + PS), tp_pattern(PS));
    size_t page_ins = tp_count(f.tp, TP_PAGE_IN);
    spring_ownership_t own = SPRING_OWN_SHARED;
    spring_data_t *d = NULL;
    ck_assert_rc(spring_cache_flush_back(c, 0, 2 * PS, &own, &d), 0);
    ck_assert_int_eq(own, SPRING_OWN_SHARED);
    /* Only the modified page comes back. */
    ck_assert_ptr_nonnull(d);
    ck_assert_uint_eq(d->nblocks, 1);
    ck_assert_uint_eq(d->blocks[0].offset, 0);
    ck_assert_uint_eq(d->blocks[0].length, PS);
    ck_assert_uint_eq(((const uint8_t *)d->blocks[0].bytes)[0], 0xab);
    spring_data_free(d);
    ck_assert_uint_eq(test_as_stats(f.as).resident, 0);
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_OUT), 0); /* returned, not paged out */
    /* Both pages are gone: the pager's copy comes back (it did not store the
     * returned data), and the cache now passes SHARED to the pager. */
    ck_assert_uint_eq(read_byte(f.as, A0), tp_pattern(0));
    ck_assert_uint_eq(read_byte(f.as, A0 + PS), tp_pattern(PS));
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), page_ins + 2);
    tp_call_t last = tp_call(f.tp, tp_ncalls(f.tp) - 1);
    ck_assert_int_eq(last.own, SPRING_OWN_SHARED);
    ck_assert_int_eq(last.access, SPRING_RIGHTS_RO); /* shared: a read asks for read-only */
    /* data and own may be NULL; UNCHANGED reports the state. */
    ck_assert_rc(spring_cache_flush_back(c, 0, SPRING_SIZE_ALL, NULL, NULL), 0);
    own = SPRING_OWN_UNCHANGED;
    ck_assert_rc(spring_cache_flush_back(c, 0, SPRING_SIZE_ALL, &own, &d), 0);
    ck_assert_int_eq(own, SPRING_OWN_SHARED);
    ck_assert_uint_eq(d->nblocks, 0);
    ck_assert_uint_eq(spring_data_length(d), 0);
    spring_data_free(d);
    fix_fini(&f);
}
END_TEST

START_TEST(test_cache_deny_writes)
{
    fix_t f;
    fix_init(&f, false, 0);
    spring_cache_obj_t c = tp_cache(f.tp);
    write_byte(f.as, A0, 0x21);
    ck_assert_uint_eq(read_byte(f.as, A0 + PS), tp_pattern(PS)); /* read-write (exclusive), clean */
    size_t page_ins = tp_count(f.tp, TP_PAGE_IN);
    spring_data_t *d = NULL;
    ck_assert_rc(spring_cache_deny_writes(c, 0, SPRING_SIZE_ALL, NULL, &d), 0);
    ck_assert_uint_eq(d->nblocks, 1);
    ck_assert_uint_eq(d->blocks[0].offset, 0);
    ck_assert_uint_eq(((const uint8_t *)d->blocks[0].bytes)[0], 0x21);
    spring_data_free(d);
    /* A read-only copy stays: reads need no pager call ... */
    ck_assert_uint_eq(read_byte(f.as, A0), 0x21);
    ck_assert_uint_eq(test_as_stats(f.as).resident, 2);
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), page_ins);
    /* ... a write asks the pager for write access again. */
    write_byte(f.as, A0 + 1, 0x22);
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), page_ins + 1);
    tp_call_t last = tp_call(f.tp, tp_ncalls(f.tp) - 1);
    ck_assert_int_eq(last.kind, TP_PAGE_IN);
    ck_assert(last.upgrade);
    ck_assert_int_eq(last.access, SPRING_RIGHTS_RW);
    ck_assert_uint_eq(read_byte(f.as, A0), 0x21);
    /* Nothing modified in page 1: nothing returned. */
    ck_assert_rc(spring_cache_deny_writes(c, PS, PS, NULL, &d), 0);
    ck_assert_uint_eq(d->nblocks, 0);
    spring_data_free(d);
    fix_fini(&f);
}
END_TEST

START_TEST(test_cache_write_back)
{
    fix_t f;
    fix_init(&f, false, 0);
    spring_cache_obj_t c = tp_cache(f.tp);
    write_byte(f.as, A0 + 3 * PS, 0x41);
    size_t page_ins = tp_count(f.tp, TP_PAGE_IN);
    spring_data_t *d = NULL;
    spring_ownership_t own = SPRING_OWN_EXCLUSIVE;
    ck_assert_rc(spring_cache_write_back(c, 0, SPRING_SIZE_ALL, &own, &d), 0);
    ck_assert_int_eq(own, SPRING_OWN_EXCLUSIVE);
    ck_assert_uint_eq(d->nblocks, 1);
    ck_assert_uint_eq(d->blocks[0].offset, 3 * PS);
    ck_assert_uint_eq(((const uint8_t *)d->blocks[0].bytes)[0], 0x41);
    spring_data_free(d);
    /* Still cached read-write: a write needs no pager call. */
    ck_assert_uint_eq(read_byte(f.as, A0 + 3 * PS), 0x41);
    ck_assert_rc(spring_cache_write_back(c, 0, SPRING_SIZE_ALL, NULL, &d), 0);
    ck_assert_uint_eq(d->nblocks, 0); /* clean since */
    spring_data_free(d);
    write_byte(f.as, A0 + 3 * PS + 1, 0x42);
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), page_ins);
    ck_assert_rc(spring_cache_write_back(c, 3 * PS, PS, NULL, &d), 0);
    ck_assert_uint_eq(d->nblocks, 1);
    ck_assert_uint_eq(((const uint8_t *)d->blocks[0].bytes)[1], 0x42);
    spring_data_free(d);
    ck_assert_rc(spring_cache_write_back(c, 0, SPRING_SIZE_ALL, NULL, NULL), 0); /* data may be NULL */
    fix_fini(&f);
}
END_TEST

START_TEST(test_cache_delete_range)
{
    fix_t f;
    fix_init(&f, false, 0);
    spring_cache_obj_t c = tp_cache(f.tp);
    write_byte(f.as, A0 + 2 * PS, 0x99);
    ck_assert_uint_eq(read_byte(f.as, A0 + 4 * PS), tp_pattern(4 * PS));
    size_t page_ins = tp_count(f.tp, TP_PAGE_IN);
    spring_ownership_t own = SPRING_OWN_SHARED;
    ck_assert_rc(spring_cache_delete_range(c, 2 * PS, PS, &own), 0);
    ck_assert_int_eq(own, SPRING_OWN_SHARED);
    ck_assert_uint_eq(test_as_stats(f.as).resident, 1);
    /* The modification is gone; nothing was sent to the pager. */
    ck_assert_uint_eq(read_byte(f.as, A0 + 2 * PS), tp_pattern(2 * PS));
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), page_ins + 1);
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_OUT) + tp_count(f.tp, TP_SYNC) + tp_count(f.tp, TP_WRITE_OUT), 0);
    ck_assert_rc(spring_cache_delete_range(c, 0, SPRING_SIZE_ALL, NULL), 0);
    ck_assert_uint_eq(test_as_stats(f.as).resident, 0);
    fix_fini(&f);
}
END_TEST

START_TEST(test_cache_zero_fill)
{
    fix_t f;
    fix_init(&f, false, 0);
    spring_cache_obj_t c = tp_cache(f.tp);
    ck_assert_uint_eq(read_byte(f.as, A0 + 3 * PS + 7), tp_pattern(3 * PS + 7));
    size_t page_ins = tp_count(f.tp, TP_PAGE_IN);
    ck_assert_rc(spring_cache_zero_fill(c, 2 * PS, 2 * PS, NULL), 0);
    dirty_pool(f.vmm);
    uint8_t buf[2 * PS];
    memset(buf, 0xff, sizeof buf);
    ck_assert_rc(spring_as_read(f.as, A0 + 2 * PS, buf, sizeof buf), 0);
    for (size_t i = 0; i < sizeof buf; i++)
        ck_assert_uint_eq(buf[i], 0);
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), page_ins); /* no pager call */
    /* Held read-write: a write needs no pager call either. */
    write_byte(f.as, A0 + 2 * PS, 5);
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), page_ins);
    ck_assert_uint_eq(read_byte(f.as, A0 + 4 * PS), tp_pattern(4 * PS)); /* outside the range */
    fix_fini(&f);
}
END_TEST

START_TEST(test_cache_populate)
{
    fix_t f;
    fix_init(&f, false, 2 * PS);
    spring_cache_obj_t c = tp_cache(f.tp);
    static uint8_t src[4 * PS];
    memset(src, 0x77, sizeof src);
    spring_data_block_t one[1] = {{4 * PS, 2 * PS, src}};
    const spring_data_t good = {1, one};
    const spring_off_t wrap = (spring_off_t)0 - 2 * PS;
    /* Data lists for the table. */
    spring_data_block_t gap[2] = {{4 * PS, PS, src}, {6 * PS, PS, src}};
    spring_data_block_t shrt[1] = {{4 * PS, PS, src}};
    spring_data_block_t lng[1] = {{4 * PS, 4 * PS, src}};
    spring_data_block_t shifted[1] = {{5 * PS, 2 * PS, src}};
    spring_data_block_t empty_first[2] = {{4 * PS, 0, src}, {4 * PS, 2 * PS, src}};
    spring_data_block_t half[2] = {{4 * PS, PS / 2, src}, {4 * PS + PS / 2, PS + PS / 2, src}};
    spring_data_block_t pages[2] = {{4 * PS, PS, src}, {5 * PS, PS, NULL}};
    spring_data_block_t at_ps[1] = {{PS, 2 * PS, src}};
    spring_data_block_t odd[1] = {{4 * PS, PS + 1, src}};
    spring_data_block_t wrapping[1] = {{wrap, 4 * PS, src}};
    const spring_data_t d_gap = {2, gap}, d_short = {1, shrt}, d_long = {1, lng}, d_shifted = {1, shifted},
                        d_empty_first = {2, empty_first}, d_half = {2, half}, d_null_blocks = {1, NULL},
                        d_none = {0, NULL}, d_at_ps = {1, at_ps}, d_odd = {1, odd}, d_wrapping = {1, wrapping};
    const struct {
        spring_off_t off, size;
        int access, own;
        const spring_data_t *data;
        int want;
    } t[] = {
        {4 * PS, 2 * PS, 7, 0, &good, SPRING_EINVAL},   /* only RO or RW */
        {4 * PS, 2 * PS, 5, 0, &good, SPRING_EINVAL},
        {4 * PS, 2 * PS, 2, 0, &good, SPRING_EINVAL},
        {4 * PS, 2 * PS, 4, 0, &good, SPRING_EINVAL},
        {4 * PS, 2 * PS, 0, 0, &good, SPRING_EINVAL},
        {4 * PS, 2 * PS, 8, 0, &good, SPRING_EINVAL},
        {4 * PS, 2 * PS, 1, 3, &good, SPRING_EINVAL},   /* not an ownership state */
        {4 * PS, 2 * PS, 1, -2, &good, SPRING_EINVAL},
        {4 * PS, SPRING_SIZE_ALL, 1, 0, &good, SPRING_EINVAL},
        {4 * PS, 2 * PS, 1, 0, NULL, SPRING_EINVAL},
        {4 * PS, 2 * PS, 1, 0, &d_gap, SPRING_EINVAL},
        {4 * PS, 2 * PS, 1, 0, &d_short, SPRING_EINVAL},
        {4 * PS, 2 * PS, 1, 0, &d_long, SPRING_EINVAL},
        {4 * PS, 2 * PS, 1, 0, &d_shifted, SPRING_EINVAL},
        {4 * PS, 2 * PS, 1, 0, &d_empty_first, SPRING_EINVAL},
        {4 * PS, 2 * PS, 1, 0, &d_half, SPRING_EINVAL},  /* not in page pieces */
        {4 * PS, 2 * PS, 1, 0, &d_null_blocks, SPRING_EINVAL},
        {4 * PS, 2 * PS, 1, 0, &d_none, SPRING_EINVAL},
        {PS, 2 * PS, 1, 0, &d_at_ps, SPRING_EALIGN},     /* page aligned, not block aligned */
        {4 * PS, PS + 1, 1, 0, &d_odd, SPRING_EALIGN},
        {wrap, 4 * PS, 1, 0, &d_wrapping, SPRING_ERANGE}, /* offset+size overflows */
    };
    size_t ncalls = tp_ncalls(f.tp);
    size_t resident = test_as_stats(f.as).resident;
    for (size_t i = 0; i < NELEM(t); i++) {
        spring_ownership_t own = (spring_ownership_t)t[i].own;
        CASE_RC(i, spring_cache_populate(c, t[i].off, t[i].size, (spring_rights_t)t[i].access, &own, t[i].data),
                t[i].want);
        ck_assert_uint_eq(test_as_stats(f.as).resident, resident);
    }
    uint64_t bad[16];
    size_t n = forgeries(c.h, bad);
    bad[n++] = tp_rights(f.tp).h;
    for (size_t i = 0; i < n; i++)
        CASE_RC(i, spring_cache_populate((spring_cache_obj_t){bad[i]}, 4 * PS, 2 * PS, SPRING_RIGHTS_RO, NULL,
                                         &good),
                SPRING_EBADHANDLE);
    ck_assert_uint_eq(tp_ncalls(f.tp), ncalls);
    CHECK_VMM(f.vmm);

    /* Legal: read-only data is read without the pager; a write upgrades it. */
    spring_ownership_t own = SPRING_OWN_SHARED;
    ck_assert_rc(spring_cache_populate(c, 4 * PS, 2 * PS, SPRING_RIGHTS_RO, &own, &good), 0);
    ck_assert_int_eq(own, SPRING_OWN_SHARED);
    ck_assert_uint_eq(read_byte(f.as, A0 + 5 * PS + 9), 0x77);
    ck_assert_uint_eq(tp_ncalls(f.tp), ncalls);
    write_byte(f.as, A0 + 4 * PS, 0x78);
    tp_call_t last = tp_call(f.tp, tp_ncalls(f.tp) - 1);
    ck_assert_int_eq(last.kind, TP_PAGE_IN);
    ck_assert(last.upgrade);
    ck_assert_uint_eq(read_byte(f.as, A0 + 4 * PS), 0x78);
    /* Read-write data with a zero page: no pager call at all; replaces. */
    const spring_data_t d_pages = {2, pages};
    ncalls = tp_ncalls(f.tp);
    ck_assert_rc(spring_cache_populate(c, 4 * PS, 2 * PS, SPRING_RIGHTS_RW, NULL, &d_pages), 0);
    ck_assert_uint_eq(read_byte(f.as, A0 + 4 * PS), 0x77);
    ck_assert_uint_eq(read_byte(f.as, A0 + 5 * PS + 100), 0);
    write_byte(f.as, A0 + 5 * PS, 1);
    ck_assert_uint_eq(tp_ncalls(f.tp), ncalls);

    /* A cache whose maximum rights lack write: no read-write data, no zero fill. */
    spager_t sp = {.fill = 3};
    spring_cache_obj_t roc;
    spring_cache_rights_t ror;
    sp_cache(vmm_obj(f.vmm, SPRING_PRIV_USER), &sp, SPRING_RIGHTS_RX, &roc, &ror);
    spring_data_block_t b1[1] = {{0, PS, src}};
    const spring_data_t d1 = {1, b1};
    ck_assert_rc(spring_cache_populate(roc, 0, PS, SPRING_RIGHTS_RW, NULL, &d1), SPRING_ERIGHTS);
    ck_assert_rc(spring_cache_zero_fill(roc, 0, PS, NULL), SPRING_ERIGHTS);
    ck_assert_rc(spring_cache_populate(roc, 0, PS, SPRING_RIGHTS_RO, NULL, &d1), 0);
    cmobj_t cm = {.bind_rights = ror};
    spring_mobj_t *m = cm_new(&cm, &cm_ops);
    map_at(f.as, m, 0, PS, AFREE, SPRING_RIGHTS_RX);
    ck_assert_uint_eq(read_byte(f.as, AFREE), 0x77);
    ck_assert_int_eq(sp.page_ins, 0);
    ck_assert_rc(spring_as_unmap(f.as, AFREE, PS), 0);
    spring_mobj_unref(m);
    ck_assert_rc(spring_cache_destroy(roc), 0);
    fix_fini(&f);
}
END_TEST

START_TEST(test_cache_destroy)
{
    fix_t f;
    fix_init(&f, false, 0);
    spring_cache_obj_t c = tp_cache(f.tp);
    spring_cache_rights_t r = tp_rights(f.tp);
    ck_assert_uint_eq(read_byte(f.as, A0), tp_pattern(0));
    ck_assert_uint_eq(read_byte(f.as, A1), tp_pattern(8 * PS));
    /* Illegal handles destroy nothing. */
    uint64_t bad[16];
    size_t n = forgeries(c.h, bad);
    bad[n++] = r.h;
    bad[n++] = vmm_obj(f.vmm, SPRING_PRIV_SYSTEM).h;
    for (size_t i = 0; i < n; i++)
        CASE_RC(i, spring_cache_destroy((spring_cache_obj_t){bad[i]}), SPRING_EBADHANDLE);
    ck_assert_uint_eq(tp_count(f.tp, TP_DONE_WITH_POBJ), 0);
    ck_assert_uint_eq(read_byte(f.as, A0 + 1), tp_pattern(1));
    size_t ncaches = test_vm_info(f.vmm).ncaches;

    ck_assert_rc(spring_cache_destroy(c), 0);
    ck_assert_uint_eq(tp_count(f.tp, TP_DONE_WITH_POBJ), 1);
    ck_assert_uint_eq(test_vm_info(f.vmm).ncaches, ncaches - 1);
    /* Every call on its handles: EBADHANDLE. */
    for (int op = 0; op < C_NOPS; op++) {
        int rc = cache_call((enum cop)op, c, 0, SPRING_SIZE_ALL, NULL);
        ck_assert_msg(rc == SPRING_EBADHANDLE, "%s: %s", cop_name[op], spring_err_name(rc));
    }
    static uint8_t page[PS];
    spring_data_block_t b[1] = {{0, PS, page}};
    const spring_data_t d = {1, b};
    ck_assert_rc(spring_cache_populate(c, 0, PS, SPRING_RIGHTS_RO, NULL, &d), SPRING_EBADHANDLE);
    ck_assert_rc(spring_cache_destroy(c), SPRING_EBADHANDLE);
    spring_rights_t got;
    spring_cache_rights_t sib;
    ck_assert_rc(spring_cache_rights_get(r, &got), SPRING_EBADHANDLE);
    ck_assert_rc(spring_cache_rights_create_restricted_sibling(r, SPRING_RIGHTS_RO, &sib), SPRING_EBADHANDLE);
    ck_assert_rc(spring_cache_rights_release(r), SPRING_EBADHANDLE);
    /* The regions stay, and fault with EDESTROYED. */
    snap_t s;
    snap_take(f.as, &s);
    ck_assert_uint_eq(s.n, 2);
    uint8_t v;
    void *p;
    spring_pin_t pin = {0};
    const struct {
        spring_addr_t a;
        int how; /* 0 read, 1 write, 2 fault R, 3 fault W, 4 translate */
    } t[] = {{A0, 0}, {A0 + PS, 1}, {A0 + 2 * PS, 2}, {A0 + 3 * PS, 3}, {A0 + 4 * PS, 4}, {A1, 0}, {A1, 2}};
    for (size_t i = 0; i < NELEM(t); i++) {
        int rc;
        switch (t[i].how) {
        case 0: rc = spring_as_read(f.as, t[i].a, &v, 1); break;
        case 1: rc = spring_as_write(f.as, t[i].a, &v, 1); break;
        case 2: rc = spring_as_fault(f.as, t[i].a, SPRING_RIGHTS_R); break;
        case 3: rc = spring_as_fault(f.as, t[i].a, SPRING_RIGHTS_W); break;
        default: rc = spring_as_translate(f.as, t[i].a, SPRING_RIGHTS_R, &p, &pin); break;
        }
        CASE_RC(i, rc, SPRING_EDESTROYED);
    }
    snap_check(f.as, &s, __func__, 0);
    CHECK_VMM(f.vmm);
    /* Unmapping works; mapping again binds a new cache. */
    ck_assert_rc(spring_as_unmap(f.as, A0, 8 * PS), 0);
    map_at(f.as, f.rw, 0, 8 * PS, A0, SPRING_RIGHTS_RW);
    ck_assert_uint_eq(read_byte(f.as, A0 + 6), tp_pattern(6));
    ck_assert_uint_ne(tp_cache(f.tp).h, c.h);
    ck_assert_rc(spring_as_read(f.as, A1, &v, 1), SPRING_EDESTROYED); /* still the old cache */
    fix_fini(&f);
}
END_TEST

START_TEST(test_cache_rights)
{
    fix_t f;
    fix_init(&f, false, 0);
    spring_cache_obj_t c = tp_cache(f.tp);
    spring_cache_rights_t all = tp_rights(f.tp), ro, rw, stale;
    spring_rights_t got;
    ck_assert_rc(spring_cache_rights_get(all, &got), 0);
    ck_assert_int_eq(got, SPRING_RIGHTS_RWX);
    ck_assert_rc(spring_cache_rights_create_restricted_sibling(all, SPRING_RIGHTS_RO, &ro), 0);
    ck_assert_rc(spring_cache_rights_create_restricted_sibling(all, SPRING_RIGHTS_RW, &rw), 0);
    ck_assert_rc(spring_cache_rights_create_restricted_sibling(all, SPRING_RIGHTS_RO, &stale), 0);
    ck_assert_rc(spring_cache_rights_release(stale), 0);

    /* get */
    static spring_rights_t sink;
    const struct {
        uint64_t h;
        spring_rights_t *out;
        int want;
    } g[] = {
        {all.h, NULL, SPRING_EINVAL},
        {FORGED, &sink, SPRING_EBADHANDLE},
        {0, &sink, SPRING_EBADHANDLE},
        {c.h, &sink, SPRING_EBADHANDLE},     /* a cache handle where a cache-rights is expected */
        {stale.h, &sink, SPRING_EBADHANDLE}, /* released */
        {vmm_obj(f.vmm, SPRING_PRIV_USER).h, &sink, SPRING_EBADHANDLE},
        {all.h ^ ((uint64_t)1 << 40), &sink, SPRING_EBADHANDLE},
    };
    for (size_t i = 0; i < NELEM(g); i++)
        CASE_RC(i, spring_cache_rights_get((spring_cache_rights_t){g[i].h}, g[i].out), g[i].want);

    /* create_restricted_sibling */
    static spring_cache_rights_t out;
    const struct {
        uint64_t h;
        int subset;
        spring_cache_rights_t *out;
        int want;
    } s[] = {
        {ro.h, SPRING_RIGHTS_RW, &out, SPRING_ERIGHTS},  /* widening */
        {ro.h, SPRING_RIGHTS_RX, &out, SPRING_ERIGHTS},
        {ro.h, SPRING_RIGHTS_RWX, &out, SPRING_ERIGHTS},
        {rw.h, SPRING_RIGHTS_RX, &out, SPRING_ERIGHTS},
        {rw.h, SPRING_RIGHTS_RWX, &out, SPRING_ERIGHTS},
        {all.h, SPRING_RIGHTS_W, &out, SPRING_EINVAL},   /* write-only */
        {all.h, SPRING_RIGHTS_X, &out, SPRING_EINVAL},   /* execute-only */
        {all.h, SPRING_RIGHTS_NONE, &out, SPRING_EINVAL},
        {all.h, 6, &out, SPRING_EINVAL},
        {all.h, 8, &out, SPRING_EINVAL},
        {all.h, SPRING_RIGHTS_RO, NULL, SPRING_EINVAL},
        {FORGED, SPRING_RIGHTS_RO, &out, SPRING_EBADHANDLE},
        {0, SPRING_RIGHTS_RO, &out, SPRING_EBADHANDLE},
        {c.h, SPRING_RIGHTS_RO, &out, SPRING_EBADHANDLE},
        {stale.h, SPRING_RIGHTS_RO, &out, SPRING_EBADHANDLE},
    };
    for (size_t i = 0; i < NELEM(s); i++)
        CASE_RC(i, spring_cache_rights_create_restricted_sibling((spring_cache_rights_t){s[i].h},
                                                                 (spring_rights_t)s[i].subset, s[i].out),
                s[i].want);
    /* Legal: every subset. */
    static const struct {
        int held, subset;
    } ok[] = {{7, 1}, {7, 3}, {7, 5}, {7, 7}, {3, 1}, {3, 3}, {1, 1}, {5, 1}, {5, 5}};
    for (size_t i = 0; i < NELEM(ok); i++) {
        spring_cache_rights_t held, sib;
        ck_assert_rc(spring_cache_rights_create_restricted_sibling(all, (spring_rights_t)ok[i].held, &held), 0);
        ck_assert_rc(spring_cache_rights_create_restricted_sibling(held, (spring_rights_t)ok[i].subset, &sib), 0);
        ck_assert_uint_ne(sib.h, held.h);
        ck_assert_rc(spring_cache_rights_get(sib, &got), 0);
        ck_assert_msg(got == (spring_rights_t)ok[i].subset, "case %zu: rights %d", i, got);
        ck_assert_rc(spring_cache_rights_release(held), 0);
        ck_assert_rc(spring_cache_rights_get(sib, &got), 0); /* siblings are independent */
        ck_assert_rc(spring_cache_rights_release(sib), 0);
    }

    /* release */
    const uint64_t rel[] = {FORGED, 0, c.h, stale.h, vmm_obj(f.vmm, SPRING_PRIV_USER).h};
    for (size_t i = 0; i < NELEM(rel); i++)
        CASE_RC(i, spring_cache_rights_release((spring_cache_rights_t){rel[i]}), SPRING_EBADHANDLE);
    ck_assert_rc(spring_cache_rights_release(ro), 0);
    ck_assert_rc(spring_cache_rights_release(ro), SPRING_EBADHANDLE);
    ck_assert_rc(spring_cache_rights_get(ro, &got), SPRING_EBADHANDLE);
    /* The cache is not affected. */
    ck_assert_rc(spring_cache_rights_get(rw, &got), 0);
    ck_assert_int_eq(got, SPRING_RIGHTS_RW);
    ck_assert_uint_eq(read_byte(f.as, A0 + 9), tp_pattern(9));
    ck_assert_rc(spring_cache_write_back(c, 0, SPRING_SIZE_ALL, NULL, NULL), 0);
    ck_assert_rc(spring_cache_rights_release(rw), 0);
    fix_fini(&f);
}
END_TEST

/* ------------------------------------------------------------------ */
/* as.h                                                                 */

START_TEST(test_as_options_new)
{
    spring_as_options_t o;
    memset(&o, 0x5a, sizeof o);
    spring_as_options_init(&o);
    ck_assert_uint_eq(o.base, 0); /* 0 = one page */
    ck_assert_uint_eq(o.limit, SPACE_LIMIT);
    ck_assert(!o.privileged);
    spring_as_options_init(NULL); /* ignored */

    spring_registry_t *reg;
    spring_vmm_t *vmm = test_vmm("api", 16, &reg);
    tpager_t *tp = tp_new(reg, "api", NULL, 4 * PS, 0, SPRING_OWN_EXCLUSIVE, true);
    spring_mobj_t *m = tp_mobj(tp, SPRING_RIGHTS_RW);
    static spring_as_t *sink;
    const struct {
        bool null_vmm, null_out;
        spring_addr_t base, limit;
        int want;
    } t[] = {
        {true, false, 0, SPACE_LIMIT, SPRING_EINVAL},
        {false, true, 0, SPACE_LIMIT, SPRING_EINVAL},
        {false, false, 1, SPACE_LIMIT, SPRING_EALIGN},
        {false, false, PS + 8, SPACE_LIMIT, SPRING_EALIGN},
        {false, false, PS, SPACE_LIMIT + 1, SPRING_EALIGN},
        {false, false, PS, 10 * PS + 100, SPRING_EALIGN},
        {false, false, 10 * PS, 10 * PS, SPRING_EINVAL}, /* base >= limit */
        {false, false, 10 * PS, 5 * PS, SPRING_EINVAL},
        {false, false, 0, PS, SPRING_EINVAL},             /* the default base is one page */
    };
    for (size_t i = 0; i < NELEM(t); i++) {
        spring_as_options_init(&o);
        o.base = t[i].base;
        o.limit = t[i].limit;
        CASE_RC(i, spring_as_new(t[i].null_vmm ? NULL : vmm, &o, t[i].null_out ? NULL : &sink), t[i].want);
        ck_assert_uint_eq(test_vm_info(vmm).naddress_spaces, 0);
    }
    /* Legal: the defaults (NULL options), and explicit bounds. */
    spring_as_t *as, *as2;
    ck_assert_rc(spring_as_new(vmm, NULL, &as), 0);
    spring_off_t len = PS;
    spring_addr_t addr = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_map(as, m, 0, &len, &addr, SPRING_RIGHTS_RW), 0);
    ck_assert_uint_eq(addr, PS); /* first fit from the default base */
    map_at(as, m, 0, PS, SPACE_LIMIT - PS, SPRING_RIGHTS_RW);
    len = PS, addr = SPACE_LIMIT;
    ck_assert_rc(spring_as_map(as, m, 0, &len, &addr, SPRING_RIGHTS_RW), SPRING_ERANGE);
    spring_as_options_init(&o);
    o.base = 0x10000;
    o.limit = 0x20000;
    ck_assert_rc(spring_as_new(vmm, &o, &as2), 0);
    ck_assert_uint_eq(test_vm_info(vmm).naddress_spaces, 2);
    len = PS, addr = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_map(as2, m, 0, &len, &addr, SPRING_RIGHTS_RW), 0);
    ck_assert_uint_eq(addr, 0x10000);
    static const struct {
        spring_addr_t a;
        spring_off_t len;
        int want;
    } b[] = {
        {0xf000, PS, SPRING_ERANGE},     /* below base */
        {0x1f000, 2 * PS, SPRING_ERANGE}, /* past limit */
        {0x20000, PS, SPRING_ERANGE},
        {0x1f000, PS, 0},
    };
    for (size_t i = 0; i < NELEM(b); i++) {
        len = b[i].len, addr = b[i].a;
        CASE_RC(i, spring_as_map(as2, m, 0, &len, &addr, SPRING_RIGHTS_RO), b[i].want);
    }
    ck_assert_uint_eq(read_byte(as2, 0x1f000 + 3), tp_pattern(3));
    uint8_t v;
    ck_assert_rc(spring_as_read(as2, 0x20000, &v, 1), SPRING_ENOTMAPPED);
    ck_assert_rc(spring_as_read(as2, 0xf000, &v, 1), SPRING_ENOTMAPPED);
    CHECK_VMM(vmm);
    spring_as_destroy(as2);
    spring_as_destroy(NULL); /* ignored */
    ck_assert_uint_eq(test_vm_info(vmm).naddress_spaces, 1);
    spring_as_destroy(as);
    ck_assert_uint_eq(test_vm_info(vmm).naddress_spaces, 0);
    spring_mobj_unref(m);
    tp_free(tp);
    test_vmm_free(vmm, reg);
}
END_TEST

/* Table flags for map-like calls. */
#define F_NULL_AS 1u
#define F_NULL_LEN 2u
#define F_NULL_ADDR 4u
#define F_NULL_MOBJ 8u
#define F_RO_MOBJ 16u

START_TEST(test_as_map_illegal)
{
    fix_t f;
    fix_init(&f, false, 0);
    static const struct {
        unsigned flags;
        spring_off_t off, len;
        spring_addr_t addr;
        int access, want;
    } t[] = {
        {F_NULL_AS, 0, PS, AFREE, 3, SPRING_EINVAL},
        {F_NULL_MOBJ, 0, PS, AFREE, 3, SPRING_EINVAL},
        {F_NULL_LEN, 0, PS, AFREE, 3, SPRING_EINVAL},
        {F_NULL_ADDR, 0, PS, AFREE, 3, SPRING_EINVAL},
        {0, 0, 0, AFREE, 3, SPRING_EINVAL},                 /* zero length */
        {0, 0, PS, AFREE, 0, SPRING_EINVAL},                /* rights NONE */
        {0, 0, PS, AFREE, 2, SPRING_EINVAL},                /* write-only */
        {0, 0, PS, AFREE, 4, SPRING_EINVAL},                /* execute-only */
        {0, 0, PS, AFREE, 6, SPRING_EINVAL},
        {0, 0, PS, AFREE, 8, SPRING_EINVAL},
        {0, 1, PS, AFREE, 3, SPRING_EALIGN},
        {0, PS / 2, PS, AFREE, 3, SPRING_EALIGN},
        {0, 0, PS + 1, AFREE, 3, SPRING_EALIGN},
        {0, 0, 1, AFREE, 3, SPRING_EALIGN},
        {0, 0, PS, AFREE + 1, 3, SPRING_EALIGN},
        {0, 0, PS, AFREE + PS / 2, 3, SPRING_EALIGN},
        {0, 0, PS, SPRING_ANYWHERE - 1, 3, SPRING_EALIGN},
        {0, (spring_off_t)0 - PS, 2 * PS, AFREE, 3, SPRING_ERANGE}, /* object offset overflow */
        {0, 0, PS, 0, 3, SPRING_ERANGE},                    /* below the base */
        {0, 0, PS, SPACE_LIMIT, 3, SPRING_ERANGE},          /* at the limit */
        {0, 0, 2 * PS, SPACE_LIMIT - PS, 3, SPRING_ERANGE}, /* across the limit */
        {0, 0, PS, (spring_addr_t)1 << 60, 3, SPRING_ERANGE},
        {0, 0, 2 * PS, ATOP, 3, SPRING_ERANGE},             /* wraps around 2^64 */
        {0, 0, 4 * PS, ATOP - PS, 3, SPRING_ERANGE},
        {0, 0, SPACE_LIMIT, SPRING_ANYWHERE, 3, SPRING_ERANGE}, /* larger than the space */
        {0, 0, (spring_off_t)0 - PS, SPRING_ANYWHERE, 3, SPRING_ERANGE},
        {0, 0, PS, A0, 3, SPRING_EEXIST},                   /* overlaps */
        {0, 0, PS, A0 + 7 * PS, 3, SPRING_EEXIST},
        {0, 0, 2 * PS, A0 - PS, 3, SPRING_EEXIST},
        {0, 0, 2 * PS, A0 + 7 * PS, 3, SPRING_EEXIST},
        {0, 0, 16 * PS, A0 - 4 * PS, 3, SPRING_EEXIST},     /* contains a region */
        {0, 0, PS, A1 + 3 * PS, 1, SPRING_EEXIST},
        {F_RO_MOBJ, 8 * PS, PS, AFREE, 3, SPRING_ERIGHTS},  /* RW of a read-only object */
        {F_RO_MOBJ, 8 * PS, PS, AFREE, 5, SPRING_ERIGHTS},
        {F_RO_MOBJ, 8 * PS, PS, AFREE, 7, SPRING_ERIGHTS},
        {0, 0, PS, AFREE, 7, SPRING_ERIGHTS},               /* RWX of a read-write object */
        {0, 0, PS, AFREE, 5, SPRING_ERIGHTS},
        {0, 16 * PS, PS, AFREE, 3, SPRING_ERANGE},          /* the pager says the offset is past the end */
        {0, 64 * PS, PS, SPRING_ANYWHERE, 1, SPRING_ERANGE},
    };
    snap_t s;
    snap_take(f.as, &s);
    for (size_t i = 0; i < NELEM(t); i++) {
        spring_off_t len = t[i].len;
        spring_addr_t addr = t[i].addr;
        spring_mobj_t *m = (t[i].flags & F_NULL_MOBJ) ? NULL : (t[i].flags & F_RO_MOBJ) ? f.ro : f.rw;
        int rc = spring_as_map((t[i].flags & F_NULL_AS) ? NULL : f.as, m, t[i].off,
                               (t[i].flags & F_NULL_LEN) ? NULL : &len, (t[i].flags & F_NULL_ADDR) ? NULL : &addr,
                               (spring_rights_t)t[i].access);
        CASE_RC(i, rc, t[i].want);
        snap_check(f.as, &s, __func__, i);
        CHECK_VMM(f.vmm);
    }
    /* The pager failing the bind: EBIND, and the thread's last error says
     * what the pager answered. */
    spring_off_t len = PS;
    spring_addr_t addr = AFREE;
    tp_fail(f.tp, TP_BIND, SPRING_ENOMEM, false);
    ck_assert_rc(spring_as_map(f.as, f.rw, 0, &len, &addr, SPRING_RIGHTS_RW), SPRING_EBIND);
    ck_assert_msg(strstr(spring_last_error(), "bind") && strstr(spring_last_error(), "SPRING_ENOMEM"), "%s",
                  spring_last_error());
    snap_check(f.as, &s, __func__, 100);
    /* An offset past the object's end: the pager's ERANGE passes through. */
    ck_assert_rc(spring_as_map(f.as, f.rw, 16 * PS, &len, &addr, SPRING_RIGHTS_RW), SPRING_ERANGE);
    ck_assert_msg(strstr(spring_last_error(), "SPRING_ERANGE"), "%s", spring_last_error());
    /* A cache-rights the VMM cannot use, and a final_bind that does nothing. */
    tp_set_bind_rights(f.tp, (spring_cache_rights_t){FORGED});
    tp_set_final_bind_noop(f.tp, true);
    ck_assert_rc(spring_as_map(f.as, f.rw, 0, &len, &addr, SPRING_RIGHTS_RW), SPRING_EBIND);
    ck_assert_uint_eq(tp_count(f.tp, TP_FINAL_BIND), 1);
    snap_check(f.as, &s, __func__, 101);
    tp_set_bind_rights(f.tp, (spring_cache_rights_t){0});
    tp_set_final_bind_noop(f.tp, false);
    /* The address space is full: ENOSPC for ANYWHERE. */
    spring_as_options_t o;
    spring_as_options_init(&o);
    o.base = PS;
    o.limit = 4 * PS;
    spring_as_t *small;
    ck_assert_rc(spring_as_new(f.vmm, &o, &small), 0);
    len = 2 * PS, addr = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_map(small, f.rw, 0, &len, &addr, SPRING_RIGHTS_RW), 0);
    ck_assert_uint_eq(addr, PS);
    len = 2 * PS, addr = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_map(small, f.rw, 0, &len, &addr, SPRING_RIGHTS_RW), SPRING_ENOSPC);
    len = PS, addr = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_map(small, f.rw, 0, &len, &addr, SPRING_RIGHTS_RW), 0);
    ck_assert_uint_eq(addr, 3 * PS);
    spring_as_destroy(small);
    fix_fini(&f);
}
END_TEST

START_TEST(test_as_map_bind_protocol)
{
    /* A memory object whose bind answers outside the protocol: EBIND, and
     * nothing mapped. */
    spring_registry_t *reg;
    spring_vmm_t *vmm = test_vmm("api", 16, &reg);
    spager_t sp = {.fill = 0x3c};
    spring_cache_obj_t c;
    spring_cache_rights_t r;
    sp_cache(vmm_obj(vmm, SPRING_PRIV_USER), &sp, SPRING_RIGHTS_RW, &c, &r);
    spring_as_t *as;
    ck_assert_rc(spring_as_new(vmm, NULL, &as), 0);
    static const struct {
        int bind_rc;
        long flags;
        spring_off_t extra_len, coff;
        int want;
    } t[] = {
        {SPRING_EPAGER, 0, 0, 0, SPRING_EBIND},   /* the pager's error */
        {SPRING_ENOMEM, 0, 0, 0, SPRING_EBIND},
        {5, 0, 0, 0, SPRING_EBIND},               /* not a code */
        {0, 1, 0, 0, SPRING_EBIND},               /* reserved flags set */
        {0, 0, PS, 0, SPRING_EBIND},              /* longer than asked */
        {0, 0, 0, 1, SPRING_EBIND},               /* unaligned cache offset */
        {0, 0, 0, 0, 0},
        {0, 0, 0, 2 * PS, 0},
    };
    for (size_t i = 0; i < NELEM(t); i++) {
        cmobj_t cm = {.bind_rights = r, .bind_rc = t[i].bind_rc, .bind_flags = t[i].flags,
                      .bind_extra_len = t[i].extra_len, .bind_coff = t[i].coff};
        spring_mobj_t *m = cm_new(&cm, &cm_ops);
        spring_off_t len = 2 * PS;
        spring_addr_t addr = A0;
        CASE_RC(i, spring_as_map(as, m, 0, &len, &addr, SPRING_RIGHTS_RW), t[i].want);
        ck_assert_int_eq(cm.bind_calls, 1);
        ck_assert_uint_eq(test_as_stats(as).nregions, t[i].want == 0 ? 1 : 0);
        if (t[i].want == 0) {
            write_byte(as, A0 + PS, (uint8_t)i);
            ck_assert_rc(spring_as_unmap(as, A0, 2 * PS), 0);
        }
        spring_mobj_unref(m);
        ck_assert_int_eq(cm.releases, 1);
        CHECK_VMM(vmm);
    }
    /* The cache offsets the binding gave were used. */
    spring_data_t *d;
    ck_assert_rc(spring_cache_flush_back(c, 0, SPRING_SIZE_ALL, NULL, &d), 0);
    ck_assert_uint_eq(d->nblocks, 2);
    ck_assert_uint_eq(d->blocks[0].offset, PS);
    ck_assert_uint_eq(d->blocks[1].offset, 3 * PS);
    spring_data_free(d);
    spring_as_destroy(as);
    ck_assert_rc(spring_cache_destroy(c), 0);
    test_vmm_free(vmm, reg);
}
END_TEST

START_TEST(test_as_map_legal)
{
    fix_t f;
    fix_init(&f, false, 0);
    /* Adjacent to a region; the pager shortens a map past its end. */
    map_at(f.as, f.rw, 8 * PS, 2 * PS, A0 + 8 * PS, SPRING_RIGHTS_RO);
    spring_off_t len = 8 * PS;
    spring_addr_t addr = AFREE;
    ck_assert_rc(spring_as_map(f.as, f.rw, 12 * PS, &len, &addr, SPRING_RIGHTS_RW), 0);
    ck_assert_uint_eq(len, 4 * PS);
    ck_assert_uint_eq(addr, AFREE);
    ck_assert_uint_eq(read_byte(f.as, AFREE + 3 * PS + 1), tp_pattern(15 * PS + 1));
    ck_assert_uint_eq(read_byte(f.as, A0 + 9 * PS), tp_pattern(9 * PS));
    /* ANYWHERE: first fit. */
    len = PS, addr = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_map(f.as, f.ro, 0, &len, &addr, SPRING_RIGHTS_RO), 0);
    ck_assert_uint_eq(addr, PS);
    spring_as_statistics_t st = test_as_stats(f.as);
    ck_assert_uint_eq(st.nregions, 5);
    ck_assert_uint_eq(st.mapped, (8 + 4 + 2 + 4 + 1) * PS);
    CHECK_VMM(f.vmm);
    fix_fini(&f);
}
END_TEST

START_TEST(test_as_map_enomem)
{
    /* Host memory failing at each allocation in turn: ENOMEM (or EBIND
     * when it was the pager's allocation that failed), nothing mapped. */
    fix_t f;
    fix_init(&f, false, 0);
    tpager_t *tp2 = tp_new(f.reg, "api", NULL, 8 * PS, 0, SPRING_OWN_EXCLUSIVE, true);
    spring_mobj_t *m2 = tp_mobj(tp2, SPRING_RIGHTS_RW);
    snap_t s;
    snap_take(f.as, &s);
    unsigned n;
    int rc = -1;
    for (n = 1; n < 200; n++) {
        ck_assert_rc(spring__test_inject_alloc_failure(f.vmm, n), 0);
        spring_off_t len = 4 * PS;
        spring_addr_t addr = AFREE;
        rc = spring_as_map(f.as, (n & 1) ? m2 : f.rw, 0, &len, &addr, SPRING_RIGHTS_RW);
        ck_assert_rc(spring__test_inject_alloc_failure(f.vmm, 0), 0);
        if (rc == 0)
            break;
        ck_assert_msg(rc == SPRING_ENOMEM || rc == SPRING_EBIND, "failure %u: %s", n, spring_err_name(rc));
        snap_check(f.as, &s, __func__, n);
        CHECK_VMM(f.vmm);
    }
    ck_assert_rc(rc, 0);
    ck_assert_uint_gt(n, 1);
    ck_assert_uint_eq(read_byte(f.as, AFREE + PS), tp_pattern(PS));
    ck_assert_rc(spring_as_unmap(f.as, AFREE, 4 * PS), 0);
    spring_mobj_unref(m2);
    tp_free(tp2);
    fix_fini(&f);
}
END_TEST

START_TEST(test_as_map_foreign_rights)
{
    /* Cache-rights a bind may hand back that do not lead to a cache of this
     * VMM: the VMM cannot tell a forged one from a stale or foreign one, so
     * it tries final_bind and the pager decides. */
    spring_registry_t *rega, *regb;
    spring_vmm_t *a = test_vmm("vmm-a", 16, &rega), *b = test_vmm("vmm-b", 16, &regb);
    spring_as_t *asa, *asb;
    ck_assert_rc(spring_as_new(a, NULL, &asa), 0);
    ck_assert_rc(spring_as_new(b, NULL, &asb), 0);
    tpager_t *tpa = tp_new(rega, "vmm-a", NULL, 4 * PS, 0, SPRING_OWN_EXCLUSIVE, true);
    tpager_t *tpb = tp_new(regb, "vmm-b", NULL, 4 * PS, 0, SPRING_OWN_EXCLUSIVE, true);
    spring_mobj_t *ma = tp_mobj(tpa, SPRING_RIGHTS_RW), *mb = tp_mobj(tpb, SPRING_RIGHTS_RW);
    map_at(asa, ma, 0, 4 * PS, A0, SPRING_RIGHTS_RW); /* a cache in VMM a */
    map_at(asb, mb, 0, 4 * PS, A0, SPRING_RIGHTS_RW); /* and one in VMM b */
    spring_cache_rights_t stale;
    ck_assert_rc(spring_cache_rights_create_restricted_sibling(tp_rights(tpb), SPRING_RIGHTS_RW, &stale), 0);
    ck_assert_rc(spring_cache_rights_release(stale), 0);
    const uint64_t bad[] = {
        tp_rights(tpa).h, /* another VMM's cache-rights */
        FORGED,
        UINT64_MAX,
        tp_cache(tpb).h,  /* a cache handle, not a cache-rights */
        stale.h,          /* released */
        vmm_obj(b, SPRING_PRIV_USER).h,
    };
    snap_t s;
    snap_take(asb, &s);
    for (size_t i = 0; i < NELEM(bad); i++) {
        tp_set_bind_rights(tpb, (spring_cache_rights_t){bad[i]});
        /* The pager's final_bind binds its own cache: the map succeeds. */
        tp_clear(tpb);
        spring_off_t len = 2 * PS;
        spring_addr_t addr = AFREE;
        CASE_RC(i, spring_as_map(asb, mb, PS, &len, &addr, SPRING_RIGHTS_RW), 0);
        ck_assert_uint_eq(tp_count(tpb, TP_FINAL_BIND), 1);
        ck_assert_uint_eq(read_byte(asb, AFREE + 1), tp_pattern(PS + 1));
        ck_assert_rc(spring_as_unmap(asb, AFREE, 2 * PS), 0);
        /* Its final_bind doing nothing: EBIND, nothing mapped. */
        tp_set_final_bind_noop(tpb, true);
        tp_clear(tpb);
        len = 2 * PS, addr = AFREE;
        CASE_RC(i, spring_as_map(asb, mb, PS, &len, &addr, SPRING_RIGHTS_RW), SPRING_EBIND);
        ck_assert_uint_eq(tp_count(tpb, TP_FINAL_BIND), 1);
        tp_set_final_bind_noop(tpb, false);
        snap_check(asb, &s, __func__, i);
        CHECK_VMM(b);
    }
    tp_set_bind_rights(tpb, (spring_cache_rights_t){0});
    /* VMM a is untouched. */
    ck_assert_uint_eq(read_byte(asa, A0 + 2), tp_pattern(2));
    CHECK_VMM(a);
    spring_as_destroy(asa);
    spring_as_destroy(asb);
    spring_mobj_unref(ma);
    spring_mobj_unref(mb);
    tp_free(tpa);
    tp_free(tpb);
    test_vmm_free(a, rega);
    test_vmm_free(b, regb);
}
END_TEST

START_TEST(test_as_map_many)
{
    fix_t f;
    fix_init(&f, false, 0);
    spring_mapping_t one = {.mobj = f.rw, .length = PS, .address = AFREE, .access = SPRING_RIGHTS_RW};
    ck_assert_rc(spring_as_map_many(NULL, &one, 1), SPRING_EINVAL);
    ck_assert_rc(spring_as_map_many(f.as, NULL, 1), SPRING_EINVAL);
    ck_assert_uint_eq(test_as_stats(f.as).nregions, 2);
    spring_mapping_t m[5] = {
        {.mobj = f.rw, .mobj_offset = 0, .length = 2 * PS, .address = AFREE, .access = SPRING_RIGHTS_RW},
        {.mobj = f.rw, .mobj_offset = 0, .length = PS, .address = A0 + PS, .access = SPRING_RIGHTS_RW},
        {.mobj = f.rw, .mobj_offset = 0, .length = PS, .address = SPRING_ANYWHERE, .access = SPRING_RIGHTS_W},
        {.mobj = f.ro, .mobj_offset = 12 * PS, .length = 8 * PS, .address = SPRING_ANYWHERE,
         .access = SPRING_RIGHTS_RO},
        {.mobj = f.ro, .mobj_offset = 0, .length = PS, .address = AFREE + 8 * PS, .access = SPRING_RIGHTS_RW},
    };
    /* Entries after a failure are still tried; the first failure is returned. */
    ck_assert_rc(spring_as_map_many(f.as, m, 5), SPRING_EEXIST);
    static const int want[] = {0, SPRING_EEXIST, SPRING_EINVAL, 0, SPRING_ERIGHTS};
    for (size_t i = 0; i < 5; i++)
        CASE_RC(i, m[i].result, want[i]);
    ck_assert_uint_eq(m[0].address, AFREE);
    ck_assert_uint_eq(m[3].length, 4 * PS); /* shortened by the pager */
    ck_assert_uint_eq(m[3].address, PS);
    ck_assert_uint_eq(test_as_stats(f.as).nregions, 4);
    ck_assert_uint_eq(read_byte(f.as, AFREE + PS), tp_pattern(PS));
    ck_assert_uint_eq(read_byte(f.as, PS + 3 * PS), tp_pattern(15 * PS));
    /* All succeeding. */
    spring_mapping_t ok[2] = {
        {.mobj = f.rw, .length = PS, .address = AFREE + 16 * PS, .access = SPRING_RIGHTS_RO},
        {.mobj = f.ro, .mobj_offset = PS, .length = PS, .address = SPRING_ANYWHERE, .access = SPRING_RIGHTS_RO},
    };
    ck_assert_rc(spring_as_map_many(f.as, ok, 2), 0);
    ck_assert_int_eq(ok[0].result, 0);
    ck_assert_int_eq(ok[1].result, 0);
    ck_assert_uint_eq(test_as_stats(f.as).nregions, 6);
    CHECK_VMM(f.vmm);
    fix_fini(&f);
}
END_TEST

START_TEST(test_as_unmap)
{
    fix_t f;
    fix_init(&f, false, 0);
    static const struct {
        bool null_as;
        spring_addr_t addr;
        spring_off_t len;
        int want;
    } t[] = {
        {true, A0, PS, SPRING_EINVAL},
        {false, A0, 0, SPRING_EINVAL},
        {false, A0 + 1, PS, SPRING_EALIGN},
        {false, A0, PS + 1, SPRING_EALIGN},
        {false, A0, PS / 2, SPRING_EALIGN},
        {false, 0, PS, SPRING_ERANGE},
        {false, 0, SPACE_LIMIT, SPRING_ERANGE},
        {false, SPACE_LIMIT, PS, SPRING_ERANGE},
        {false, SPACE_LIMIT - PS, 2 * PS, SPRING_ERANGE},
        {false, ATOP, 2 * PS, SPRING_ERANGE},
        {false, A0, (spring_off_t)0 - PS, SPRING_ERANGE},
    };
    snap_t s;
    snap_take(f.as, &s);
    for (size_t i = 0; i < NELEM(t); i++) {
        CASE_RC(i, spring_as_unmap(t[i].null_as ? NULL : f.as, t[i].addr, t[i].len), t[i].want);
        snap_check(f.as, &s, __func__, i);
    }
    /* Unmapped ranges are ignored. */
    ck_assert_rc(spring_as_unmap(f.as, AFREE, 16 * PS), 0);
    snap_check(f.as, &s, __func__, 50);
    /* A split that needs memory it cannot have changes nothing. */
    ck_assert_rc(spring__test_inject_alloc_failure(f.vmm, 1), 0);
    ck_assert_rc(spring_as_unmap(f.as, A0 + 3 * PS, PS), SPRING_ENOMEM);
    ck_assert_rc(spring__test_inject_alloc_failure(f.vmm, 0), 0);
    snap_check(f.as, &s, __func__, 51);
    CHECK_VMM(f.vmm);
    /* Legal: a hole in the middle splits the region. */
    ck_assert_uint_eq(read_byte(f.as, A0 + 3 * PS), tp_pattern(3 * PS));
    ck_assert_rc(spring_as_unmap(f.as, A0 + 3 * PS, PS), 0);
    spring_mapping_t m[4];
    size_t n;
    bool more;
    ck_assert_rc(spring_as_get_mappings(f.as, A0, 8 * PS, m, 4, &n, &more), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(m[0].address, A0);
    ck_assert_uint_eq(m[0].length, 3 * PS);
    ck_assert_uint_eq(m[1].address, A0 + 4 * PS);
    ck_assert_uint_eq(m[1].length, 4 * PS);
    ck_assert_uint_eq(m[1].mobj_offset, 4 * PS);
    spring_mappings_release(m, n);
    uint8_t v;
    ck_assert_rc(spring_as_read(f.as, A0 + 3 * PS, &v, 1), SPRING_ENOTMAPPED);
    ck_assert_uint_eq(read_byte(f.as, A0 + 4 * PS), tp_pattern(4 * PS));
    ck_assert_uint_eq(read_byte(f.as, A0 + 2 * PS), tp_pattern(2 * PS));
    /* One range over several regions and gaps. */
    ck_assert_rc(spring_as_unmap(f.as, A0 + PS, A1 + 2 * PS - (A0 + PS)), 0);
    ck_assert_rc(spring_as_get_mappings(f.as, PS, SPACE_LIMIT - PS, m, 4, &n, &more), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(m[0].address, A0);
    ck_assert_uint_eq(m[0].length, PS);
    ck_assert_uint_eq(m[1].address, A1 + 2 * PS);
    ck_assert_uint_eq(m[1].mobj_offset, 10 * PS);
    spring_mappings_release(m, n);
    ck_assert_uint_eq(test_as_stats(f.as).mapped, 3 * PS);
    CHECK_VMM(f.vmm);
    fix_fini(&f);
}
END_TEST

START_TEST(test_as_allocate_memory)
{
    fix_t f;
    fix_init(&f, false, 0);
    static const struct {
        unsigned flags;
        spring_off_t len;
        spring_addr_t addr;
        int access, want;
    } t[] = {
        {F_NULL_AS, PS, AFREE, 3, SPRING_EINVAL},
        {F_NULL_LEN, PS, AFREE, 3, SPRING_EINVAL},
        {F_NULL_ADDR, PS, AFREE, 3, SPRING_EINVAL},
        {0, 0, AFREE, 3, SPRING_EINVAL},
        {0, PS, AFREE, 0, SPRING_EINVAL},
        {0, PS, AFREE, 2, SPRING_EINVAL},
        {0, PS, AFREE, 4, SPRING_EINVAL},
        {0, PS, AFREE, 9, SPRING_EINVAL},
        {0, PS + 1, AFREE, 3, SPRING_EALIGN},
        {0, PS, AFREE + 1, 3, SPRING_EALIGN},
        {0, PS, 0, 3, SPRING_ERANGE},
        {0, PS, SPACE_LIMIT, 3, SPRING_ERANGE},
        {0, 2 * PS, ATOP, 3, SPRING_ERANGE},
        {0, SPACE_LIMIT, SPRING_ANYWHERE, 3, SPRING_ERANGE},
        {0, PS, A0 + 2 * PS, 3, SPRING_EEXIST},
        {0, 4 * PS, A1 - 2 * PS, 3, SPRING_EEXIST},
    };
    snap_t s;
    snap_take(f.as, &s);
    for (size_t i = 0; i < NELEM(t); i++) {
        spring_off_t len = t[i].len;
        spring_addr_t addr = t[i].addr;
        CASE_RC(i, spring_as_allocate_memory((t[i].flags & F_NULL_AS) ? NULL : f.as,
                                             (t[i].flags & F_NULL_LEN) ? NULL : &len,
                                             (t[i].flags & F_NULL_ADDR) ? NULL : &addr, (spring_rights_t)t[i].access),
                t[i].want);
        snap_check(f.as, &s, __func__, i);
    }
    /* Legal: zero-filled, read-write. */
    spring_off_t len = 2 * PS;
    spring_addr_t addr = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_allocate_memory(f.as, &len, &addr, SPRING_RIGHTS_RW), 0);
    ck_assert_uint_eq(addr, PS);
    ck_assert_uint_eq(len, 2 * PS);
    ck_assert_uint_eq(read_byte(f.as, addr + PS + 17), 0);
    write_byte(f.as, addr + 5, 0x55);
    ck_assert_uint_eq(read_byte(f.as, addr + 5), 0x55);
    /* Memory allocated again is zero again (in frames that held data). */
    ck_assert_rc(spring_as_unmap(f.as, addr, len), 0);
    dirty_pool(f.vmm);
    ck_assert_rc(spring_as_allocate_memory(f.as, &len, &addr, SPRING_RIGHTS_RO), 0);
    ck_assert_uint_eq(addr, PS);
    ck_assert_uint_eq(read_byte(f.as, addr + 5), 0);
    ck_assert_rc(spring_as_write(f.as, addr, "x", 1), SPRING_EACCES);
    ck_assert_uint_gt(test_as_stats(f.as).zero_fills, 0);
    CHECK_VMM(f.vmm);
    fix_fini(&f);

    /* No swap pager at all: ENOSWAP, nothing mapped. */
    spring_vmm_config_t cfg;
    spring_vmm_config_init(&cfg);
    cfg.mode = SPRING_VMM_DETERMINISTIC;
    cfg.nframes = 8;
    cfg.hat = test_hat_ops;
    cfg.no_default_swap_pager = true;
    spring_vmm_t *vmm;
    ck_assert_rc(spring_vmm_new(&cfg, &vmm), 0);
    spring_as_t *as;
    ck_assert_rc(spring_as_new(vmm, NULL, &as), 0);
    spring_mobj_t *m = NULL;
    len = PS, addr = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_allocate_memory(as, &len, &addr, SPRING_RIGHTS_RW), SPRING_ENOSWAP);
    ck_assert_rc(spring_as_allocate_memory_and_mobj(as, &len, &addr, SPRING_RIGHTS_RW, &m), SPRING_ENOSWAP);
    ck_assert_ptr_null(m);
    ck_assert_uint_eq(test_as_stats(as).nregions, 0);
    spring_as_destroy(as);
    ck_assert_rc(spring_vmm_destroy(vmm), 0);
}
END_TEST

START_TEST(test_as_allocate_memory_and_mobj)
{
    fix_t f;
    fix_init(&f, false, 0);
    static const struct {
        unsigned flags;
        spring_off_t len;
        spring_addr_t addr;
        int access, want;
    } t[] = {
        {F_NULL_AS, PS, AFREE, 3, SPRING_EINVAL},
        {F_NULL_MOBJ, PS, AFREE, 3, SPRING_EINVAL},
        {F_NULL_LEN, PS, AFREE, 3, SPRING_EINVAL},
        {F_NULL_ADDR, PS, AFREE, 3, SPRING_EINVAL},
        {0, 0, AFREE, 3, SPRING_EINVAL},
        {0, PS, AFREE, 2, SPRING_EINVAL},
        {0, PS, AFREE, 8, SPRING_EINVAL},
        {0, PS / 2, AFREE, 3, SPRING_EALIGN},
        {0, PS, AFREE - 1, 3, SPRING_EALIGN},
        {0, PS, 0, 3, SPRING_ERANGE},
        {0, 2 * PS, SPACE_LIMIT - PS, 3, SPRING_ERANGE},
        {0, 2 * PS, ATOP, 3, SPRING_ERANGE},
        {0, PS, A1, 3, SPRING_EEXIST},
    };
    snap_t s;
    snap_take(f.as, &s);
    for (size_t i = 0; i < NELEM(t); i++) {
        spring_off_t len = t[i].len;
        spring_addr_t addr = t[i].addr;
        spring_mobj_t *m = NULL;
        CASE_RC(i, spring_as_allocate_memory_and_mobj((t[i].flags & F_NULL_AS) ? NULL : f.as,
                                                      (t[i].flags & F_NULL_LEN) ? NULL : &len,
                                                      (t[i].flags & F_NULL_ADDR) ? NULL : &addr,
                                                      (spring_rights_t)t[i].access,
                                                      (t[i].flags & F_NULL_MOBJ) ? NULL : &m),
                t[i].want);
        ck_assert_ptr_null(m);
        snap_check(f.as, &s, __func__, i);
    }
    /* Legal: the object can be mapped again, and outlives our reference. */
    spring_off_t len = 4 * PS, mlen;
    spring_addr_t addr = AFREE;
    spring_mobj_t *m = NULL;
    ck_assert_rc(spring_as_allocate_memory_and_mobj(f.as, &len, &addr, SPRING_RIGHTS_RW, &m), 0);
    ck_assert_ptr_nonnull(m);
    ck_assert_uint_eq(addr, AFREE);
    ck_assert_rc(spring_mobj_get_length(m, &mlen), 0);
    ck_assert_uint_eq(mlen, 4 * PS);
    map_at(f.as, m, PS, 2 * PS, AFREE + 16 * PS, SPRING_RIGHTS_RO);
    spring_mobj_unref(m);
    write_byte(f.as, AFREE + PS + 3, 0x66);
    ck_assert_uint_eq(read_byte(f.as, AFREE + 16 * PS + 3), 0x66);
    ck_assert_uint_eq(read_byte(f.as, AFREE + 16 * PS + PS), 0);
    spring_mapping_t mp[1];
    size_t n;
    bool more;
    ck_assert_rc(spring_as_get_mappings(f.as, AFREE, PS, mp, 1, &n, &more), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_ptr_eq(mp[0].mobj, m);
    spring_mappings_release(mp, n);
    CHECK_VMM(f.vmm);
    fix_fini(&f);
}
END_TEST

START_TEST(test_as_change_access_rights)
{
    fix_t f;
    fix_init(&f, false, 0);
    static const struct {
        bool null_as;
        spring_addr_t addr;
        spring_off_t len;
        int rights, want;
    } t[] = {
        {true, A0, PS, 1, SPRING_EINVAL},
        {false, A0, PS, 2, SPRING_EINVAL},           /* write-only */
        {false, A0, PS, 4, SPRING_EINVAL},           /* execute-only */
        {false, A0, PS, 6, SPRING_EINVAL},
        {false, A0, PS, 8, SPRING_EINVAL},
        {false, A0, 0, 1, SPRING_EINVAL},
        {false, A0 + 1, PS, 1, SPRING_EALIGN},
        {false, A0, PS - 1, 1, SPRING_EALIGN},
        {false, 0, PS, 1, SPRING_ERANGE},
        {false, SPACE_LIMIT, PS, 1, SPRING_ERANGE},
        {false, ATOP, 2 * PS, 1, SPRING_ERANGE},
        {false, AFREE, PS, 1, SPRING_ENOTMAPPED},
        {false, A0 + 6 * PS, 4 * PS, 1, SPRING_ENOTMAPPED}, /* runs past the region */
        {false, A0 - PS, 2 * PS, 1, SPRING_ENOTMAPPED},
        {false, A0, A1 + PS - A0, 1, SPRING_ENOTMAPPED},    /* spans a gap */
        {false, A1, PS, 3, SPRING_ERIGHTS},                  /* beyond the binding */
        {false, A1, PS, 5, SPRING_ERIGHTS},
        {false, A1 + 3 * PS, PS, 7, SPRING_ERIGHTS},
        {false, A0 + 2 * PS, PS, 7, SPRING_ERIGHTS},
        {false, A0, 8 * PS, 5, SPRING_ERIGHTS},
    };
    write_byte(f.as, A0 + PS, 1);
    snap_t s;
    snap_take(f.as, &s);
    for (size_t i = 0; i < NELEM(t); i++) {
        CASE_RC(i, spring_as_change_access_rights(t[i].null_as ? NULL : f.as, t[i].addr, t[i].len,
                                                  (spring_rights_t)t[i].rights),
                t[i].want);
        snap_check(f.as, &s, __func__, i);
        write_byte(f.as, A0 + PS, (uint8_t)i); /* still writable */
    }
    /* Out of memory for the split: nothing changed. */
    ck_assert_rc(spring__test_inject_alloc_failure(f.vmm, 1), 0);
    ck_assert_rc(spring_as_change_access_rights(f.as, A0 + 2 * PS, PS, SPRING_RIGHTS_RO), SPRING_ENOMEM);
    ck_assert_rc(spring__test_inject_alloc_failure(f.vmm, 0), 0);
    snap_check(f.as, &s, __func__, 100);
    write_byte(f.as, A0 + 2 * PS, 1);
    CHECK_VMM(f.vmm);
    /* Legal: a read-only page and a guard page inside the region. */
    ck_assert_rc(spring_as_change_access_rights(f.as, A0 + 2 * PS, PS, SPRING_RIGHTS_RO), 0);
    ck_assert_rc(spring_as_change_access_rights(f.as, A0 + 4 * PS, PS, SPRING_RIGHTS_NONE), 0);
    spring_mapping_t m[8];
    size_t n;
    bool more;
    ck_assert_rc(spring_as_get_mappings(f.as, A0, 8 * PS, m, 8, &n, &more), 0);
    ck_assert_uint_eq(n, 5);
    static const int acc[] = {3, 1, 3, 0, 3};
    for (size_t i = 0; i < n; i++) {
        ck_assert_int_eq(m[i].access, acc[i]);
        ck_assert_int_eq(m[i].max_access, SPRING_RIGHTS_RW);
    }
    spring_mappings_release(m, n);
    uint8_t v;
    ck_assert_rc(spring_as_write(f.as, A0 + 2 * PS, &v, 1), SPRING_EACCES);
    ck_assert_uint_eq(read_byte(f.as, A0 + 2 * PS), 1);
    ck_assert_rc(spring_as_read(f.as, A0 + 4 * PS, &v, 1), SPRING_EACCES);
    write_byte(f.as, A0 + 3 * PS, 9);
    /* Back to read-write: one run again. */
    ck_assert_rc(spring_as_change_access_rights(f.as, A0, 8 * PS, SPRING_RIGHTS_RW), 0);
    ck_assert_rc(spring_as_get_mappings(f.as, A0, 8 * PS, m, 8, &n, &more), 0);
    ck_assert_uint_eq(n, 1);
    spring_mappings_release(m, n);
    write_byte(f.as, A0 + 4 * PS, 2);
    /* Across two adjacent regions; NONE on a read-only mapping. */
    map_at(f.as, f.rw, 8 * PS, 2 * PS, A0 + 8 * PS, SPRING_RIGHTS_RW);
    ck_assert_rc(spring_as_change_access_rights(f.as, A0 + 6 * PS, 4 * PS, SPRING_RIGHTS_RO), 0);
    ck_assert_rc(spring_as_write(f.as, A0 + 9 * PS, &v, 1), SPRING_EACCES);
    ck_assert_rc(spring_as_change_access_rights(f.as, A1, 4 * PS, SPRING_RIGHTS_NONE), 0);
    ck_assert_rc(spring_as_read(f.as, A1, &v, 1), SPRING_EACCES);
    ck_assert_rc(spring_as_change_access_rights(f.as, A1, 4 * PS, SPRING_RIGHTS_RO), 0);
    ck_assert_uint_eq(read_byte(f.as, A1), tp_pattern(8 * PS));
    CHECK_VMM(f.vmm);
    fix_fini(&f);
}
END_TEST

START_TEST(test_as_flush)
{
    fix_t f;
    fix_init(&f, false, 0);
    static const struct {
        bool null_as;
        spring_addr_t addr;
        spring_off_t len;
        int want;
    } t[] = {
        {true, A0, PS, SPRING_EINVAL},
        {false, A0, 0, SPRING_EINVAL},
        {false, A0 + 8, PS, SPRING_EALIGN},
        {false, A0, 3 * PS / 2, SPRING_EALIGN},
        {false, 0, PS, SPRING_ERANGE},
        {false, SPACE_LIMIT - PS, 2 * PS, SPRING_ERANGE},
        {false, ATOP, 2 * PS, SPRING_ERANGE},
    };
    write_byte(f.as, A0, 0xd1);
    for (size_t i = 0; i < NELEM(t); i++) {
        CASE_RC(i, spring_as_flush(t[i].null_as ? NULL : f.as, t[i].addr, t[i].len, i & 1), t[i].want);
        ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_OUT) + tp_count(f.tp, TP_SYNC), 0);
    }
    ck_assert_rc(spring_as_flush(f.as, AFREE, 4 * PS, false), 0); /* nothing mapped there */
    size_t page_ins = tp_count(f.tp, TP_PAGE_IN);
    /* please_keep: sync, the page stays cached. */
    ck_assert_rc(spring_as_flush(f.as, A0, PS, true), 0);
    ck_assert_uint_eq(tp_count(f.tp, TP_SYNC), 1);
    ck_assert_uint_eq(tp_store(f.tp)[0], 0xd1);
    ck_assert_uint_eq(read_byte(f.as, A0), 0xd1);
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), page_ins);
    /* Without it: page_out, and the page goes. */
    write_byte(f.as, A0, 0xd2);
    ck_assert_uint_eq(read_byte(f.as, A0 + 5 * PS), tp_pattern(5 * PS)); /* clean */
    page_ins = tp_count(f.tp, TP_PAGE_IN);
    ck_assert_rc(spring_as_flush(f.as, A0, 8 * PS, false), 0);
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_OUT), 1); /* the clean page is just dropped */
    ck_assert_uint_eq(tp_store(f.tp)[0], 0xd2);
    ck_assert_uint_eq(test_as_stats(f.as).resident, 0);
    ck_assert_uint_eq(read_byte(f.as, A0), 0xd2);
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), page_ins + 1);
    /* A pager failure: EPAGER, the page stays cached and modified; a
     * pager without space (a full swap): ENOSPC, likewise. */
    write_byte(f.as, A0, 0xd3);
    tp_fail(f.tp, TP_PAGE_OUT, SPRING_ENOSPC, false);
    ck_assert_rc(spring_as_flush(f.as, A0, PS, false), SPRING_ENOSPC);
    ck_assert_uint_eq(tp_store(f.tp)[0], 0xd2);
    tp_fail(f.tp, TP_PAGE_OUT, SPRING_EOVERFLOW, false);
    ck_assert_rc(spring_as_flush(f.as, A0, PS, false), SPRING_EPAGER);
    ck_assert_uint_eq(tp_store(f.tp)[0], 0xd2);
    page_ins = tp_count(f.tp, TP_PAGE_IN);
    ck_assert_uint_eq(read_byte(f.as, A0), 0xd3);
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), page_ins);
    ck_assert_rc(spring_as_flush(f.as, A0, PS, false), 0);
    ck_assert_uint_eq(tp_store(f.tp)[0], 0xd3);
    tp_fail(f.tp, TP_SYNC, SPRING_EOVERFLOW, false);
    write_byte(f.as, A0, 0xd4);
    ck_assert_rc(spring_as_flush(f.as, A0, PS, true), SPRING_EPAGER);
    ck_assert_rc(spring_as_flush(f.as, A0, PS, true), 0);
    ck_assert_uint_eq(tp_store(f.tp)[0], 0xd4);
    CHECK_VMM(f.vmm);
    fix_fini(&f);
}
END_TEST

START_TEST(test_as_get_page_size)
{
    ck_assert_uint_eq(spring_as_get_page_size(NULL), 0);
    fix_t f;
    fix_init(&f, false, 0);
    ck_assert_uint_eq(spring_as_get_page_size(f.as), PS);
    fix_fini(&f);
    spring_vmm_config_t cfg;
    spring_vmm_config_init(&cfg);
    cfg.page_size = 16384;
    cfg.nframes = 8;
    cfg.mode = SPRING_VMM_DETERMINISTIC;
    cfg.hat = test_hat_ops;
    spring_vmm_t *vmm;
    ck_assert_rc(spring_vmm_new(&cfg, &vmm), 0);
    spring_as_t *as;
    ck_assert_rc(spring_as_new(vmm, NULL, &as), 0);
    ck_assert_uint_eq(spring_as_get_page_size(as), 16384);
    /* Alignment follows the page size. */
    spring_off_t len = PS;
    spring_addr_t addr = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_allocate_memory(as, &len, &addr, SPRING_RIGHTS_RW), SPRING_EALIGN);
    len = 16384;
    ck_assert_rc(spring_as_allocate_memory(as, &len, &addr, SPRING_RIGHTS_RW), 0);
    ck_assert_uint_eq(addr, 16384);
    spring_as_destroy(as);
    ck_assert_rc(spring_vmm_destroy(vmm), 0);
}
END_TEST

START_TEST(test_as_get_mappings)
{
    fix_t f;
    fix_init(&f, false, 0);
    spring_mapping_t m[4];
    size_t n = 77;
    bool more = true;
    static size_t nsink;
    static bool msink;
    const struct {
        bool null_as;
        spring_addr_t addr;
        spring_off_t len;
        spring_mapping_t *out;
        size_t cap;
        size_t *n;
        bool *more;
        int want;
    } t[] = {
        {true, A0, PS, m, 4, &nsink, &msink, SPRING_EINVAL},
        {false, A0, PS, m, 4, NULL, &msink, SPRING_EINVAL},
        {false, A0, PS, m, 4, &nsink, NULL, SPRING_EINVAL},
        {false, A0, PS, NULL, 4, &nsink, &msink, SPRING_EINVAL},  /* out NULL, cap > 0 */
        {false, A0, 0, m, 4, &nsink, &msink, SPRING_EINVAL},
        {false, A0 + 2, PS, m, 4, &nsink, &msink, SPRING_EALIGN},
        {false, A0, PS + 2, m, 4, &nsink, &msink, SPRING_EALIGN},
        {false, 0, PS, m, 4, &nsink, &msink, SPRING_ERANGE},
        {false, PS, SPACE_LIMIT, m, 4, &nsink, &msink, SPRING_ERANGE},
        {false, ATOP, 2 * PS, m, 4, &nsink, &msink, SPRING_ERANGE},
    };
    for (size_t i = 0; i < NELEM(t); i++)
        CASE_RC(i, spring_as_get_mappings(t[i].null_as ? NULL : f.as, t[i].addr, t[i].len, t[i].out, t[i].cap,
                                          t[i].n, t[i].more),
                t[i].want);
    /* Everything. */
    ck_assert_rc(spring_as_get_mappings(f.as, PS, SPACE_LIMIT - PS, m, 4, &n, &more), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert(!more);
    ck_assert_ptr_eq(m[0].mobj, f.rw);
    ck_assert_uint_eq(m[0].mobj_offset, 0);
    ck_assert_uint_eq(m[0].length, 8 * PS);
    ck_assert_uint_eq(m[0].address, A0);
    ck_assert_int_eq(m[0].access, SPRING_RIGHTS_RW);
    ck_assert_int_eq(m[0].max_access, SPRING_RIGHTS_RW);
    ck_assert(!m[0].locked);
    ck_assert_ptr_eq(m[1].mobj, f.ro);
    ck_assert_uint_eq(m[1].mobj_offset, 8 * PS);
    ck_assert_uint_eq(m[1].length, 4 * PS);
    ck_assert_uint_eq(m[1].address, A1);
    ck_assert_int_eq(m[1].access, SPRING_RIGHTS_RO);
    ck_assert_int_eq(m[1].max_access, SPRING_RIGHTS_RO);
    spring_mappings_release(m, n);
    ck_assert_ptr_null(m[0].mobj);
    ck_assert_ptr_null(m[1].mobj);
    /* No room at all, and too little room: more_regions. */
    ck_assert_rc(spring_as_get_mappings(f.as, PS, SPACE_LIMIT - PS, NULL, 0, &n, &more), 0);
    ck_assert_uint_eq(n, 0);
    ck_assert(more);
    ck_assert_rc(spring_as_get_mappings(f.as, PS, SPACE_LIMIT - PS, m, 1, &n, &more), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert(more);
    ck_assert_uint_eq(m[0].address, A0);
    spring_mappings_release(m, n);
    /* Exactly enough room. */
    ck_assert_rc(spring_as_get_mappings(f.as, PS, SPACE_LIMIT - PS, m, 2, &n, &more), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert(!more);
    spring_mappings_release(m, n);
    /* Clipped to the range. */
    ck_assert_rc(spring_as_get_mappings(f.as, A0 + 2 * PS, 3 * PS, m, 4, &n, &more), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(m[0].address, A0 + 2 * PS);
    ck_assert_uint_eq(m[0].length, 3 * PS);
    ck_assert_uint_eq(m[0].mobj_offset, 2 * PS);
    spring_mappings_release(m, n);
    ck_assert_rc(spring_as_get_mappings(f.as, A0 + 7 * PS, A1 + PS - (A0 + 7 * PS), m, 4, &n, &more), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(m[0].length, PS);
    ck_assert_uint_eq(m[1].address, A1);
    ck_assert_uint_eq(m[1].length, PS);
    spring_mappings_release(m, n);
    /* Nothing there. */
    ck_assert_rc(spring_as_get_mappings(f.as, AFREE, PS, NULL, 0, &n, &more), 0);
    ck_assert_uint_eq(n, 0);
    ck_assert(!more);
    fix_fini(&f);
}
END_TEST

START_TEST(test_mappings_release)
{
    spring_mappings_release(NULL, 0);
    spring_mappings_release(NULL, 5);
    spring_registry_t *reg;
    spring_vmm_t *vmm = test_vmm("api", 16, &reg);
    spager_t sp = {.fill = 1};
    spring_cache_obj_t c;
    spring_cache_rights_t r;
    sp_cache(vmm_obj(vmm, SPRING_PRIV_USER), &sp, SPRING_RIGHTS_RW, &c, &r);
    cmobj_t cm = {.bind_rights = r};
    spring_mobj_t *mo = cm_new(&cm, &cm_ops);
    spring_as_t *as;
    ck_assert_rc(spring_as_new(vmm, NULL, &as), 0);
    map_at(as, mo, 0, 2 * PS, A0, SPRING_RIGHTS_RW);
    ck_assert_rc(spring_as_change_access_rights(as, A0, PS, SPRING_RIGHTS_RO), 0);
    spring_mobj_unref(mo);
    spring_mapping_t m[2];
    size_t n;
    bool more;
    ck_assert_rc(spring_as_get_mappings(as, A0, 2 * PS, m, 2, &n, &more), 0);
    ck_assert_uint_eq(n, 2);
    /* The entries hold references of their own. */
    ck_assert_rc(spring_as_unmap(as, A0, 2 * PS), 0);
    ck_assert_int_eq(cm.releases, 0);
    spring_mappings_release(m, 1);
    ck_assert_ptr_null(m[0].mobj);
    ck_assert_ptr_eq(m[1].mobj, mo);
    ck_assert_int_eq(cm.releases, 0);
    spring_mappings_release(m, 2); /* a cleared entry is skipped */
    ck_assert_ptr_null(m[1].mobj);
    ck_assert_int_eq(cm.releases, 1);
    spring_mappings_release(m, 2);
    ck_assert_int_eq(cm.releases, 1);
    spring_as_destroy(as);
    ck_assert_rc(spring_cache_destroy(c), 0);
    test_vmm_free(vmm, reg);
}
END_TEST

START_TEST(test_as_statistics)
{
    fix_t f;
    fix_init(&f, false, 0);
    spring_as_statistics_t st;
    ck_assert_rc(spring_as_statistics(NULL, &st), SPRING_EINVAL);
    ck_assert_rc(spring_as_statistics(f.as, NULL), SPRING_EINVAL);
    st = test_as_stats(f.as);
    ck_assert_uint_eq(st.nregions, 2);
    ck_assert_uint_eq(st.mapped, 12 * PS);
    ck_assert_uint_eq(st.resident, 0);
    ck_assert_uint_eq(st.faults + st.zero_fills + st.page_ins + st.protection_faults + st.unmapped_faults, 0);
    ck_assert_uint_eq(read_byte(f.as, A0), tp_pattern(0));                /* a page-in */
    spring_off_t len = PS;
    spring_addr_t addr = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_allocate_memory(f.as, &len, &addr, SPRING_RIGHTS_RW), 0);
    ck_assert_uint_eq(read_byte(f.as, addr), 0);                   /* a zero fill */
    uint8_t v = 0;
    ck_assert_rc(spring_as_write(f.as, A1, &v, 1), SPRING_EACCES); /* a protection fault */
    ck_assert_rc(spring_as_read(f.as, AFREE, &v, 1), SPRING_ENOTMAPPED);
    st = test_as_stats(f.as);
    ck_assert_uint_eq(st.nregions, 3);
    ck_assert_uint_eq(st.mapped, 13 * PS);
    ck_assert_uint_eq(st.resident, 2);
    ck_assert_uint_eq(st.locked, 0);
    ck_assert_uint_eq(st.faults, 2);
    ck_assert_uint_eq(st.page_ins, 1);
    ck_assert_uint_eq(st.zero_fills, 1);
    ck_assert_uint_eq(st.protection_faults, 1);
    ck_assert_uint_eq(st.unmapped_faults, 1);
    fix_fini(&f);
}
END_TEST

START_TEST(test_as_set_swap_pager)
{
    fix_t f;
    fix_init(&f, false, 0);
    cswap_t c1 = {f.reg, "api", 0, 0, 0, {0}, 0}, c2 = {f.reg, "api", 0, 0, 0, {0}, 0}, bad = {0};
    const struct {
        bool null_as;
        const spring_swap_pager_ops_t *ops;
        int want;
    } t[] = {
        {true, &cs_ops, SPRING_EINVAL},
        {false, &cs_ops_v0, SPRING_EVERSION},
        {false, &cs_ops_v99, SPRING_EVERSION},
        {false, &cs_ops_no_create, SPRING_EINVAL},
    };
    for (size_t i = 0; i < NELEM(t); i++)
        CASE_RC(i, spring_as_set_swap_pager(t[i].null_as ? NULL : f.as, t[i].ops, &bad), t[i].want);
    spring_mobj_t *m[4] = {NULL};
    spring_off_t len = PS;
    spring_addr_t addr = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_allocate_memory_and_mobj(f.as, &len, &addr, SPRING_RIGHTS_RW, &m[0]), 0);
    ck_assert_int_eq(bad.creates, 0); /* none of them was set */
    /* The address space's own swap pager. */
    ck_assert_rc(spring_as_set_swap_pager(f.as, &cs_ops, &c1), 0);
    len = 2 * PS, addr = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_allocate_memory_and_mobj(f.as, &len, &addr, SPRING_RIGHTS_RW, &m[1]), 0);
    ck_assert_int_eq(c1.creates, 1);
    write_byte(f.as, addr + PS, 0x12);
    ck_assert_uint_eq(read_byte(f.as, addr + PS), 0x12);
    /* Replaced: the old one is kept until the address space goes (a
     * concurrent allocation may still be using it). */
    ck_assert_rc(spring_as_set_swap_pager(f.as, &cs_ops, &c2), 0);
    ck_assert_int_eq(c1.releases, 0);
    len = PS, addr = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_allocate_memory_and_mobj(f.as, &len, &addr, SPRING_RIGHTS_RW, &m[2]), 0);
    ck_assert_int_eq(c1.creates, 1);
    ck_assert_int_eq(c2.creates, 1);
    /* The swap pager failing: nothing mapped, no object. */
    c2.rc = SPRING_EPAGER;
    spring_mobj_t *none = NULL;
    size_t nregions = test_as_stats(f.as).nregions;
    len = PS, addr = SPRING_ANYWHERE;
    ck_assert_int_ne(spring_as_allocate_memory_and_mobj(f.as, &len, &addr, SPRING_RIGHTS_RW, &none), 0);
    ck_assert_ptr_null(none);
    ck_assert_uint_eq(test_as_stats(f.as).nregions, nregions);
    c2.rc = 0;
    /* NULL: back to the VMM's swap pagers. */
    ck_assert_rc(spring_as_set_swap_pager(f.as, NULL, NULL), 0);
    ck_assert_int_eq(c2.releases, 0);
    len = PS, addr = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_allocate_memory_and_mobj(f.as, &len, &addr, SPRING_RIGHTS_RW, &m[3]), 0);
    ck_assert_int_eq(c2.creates, 2); /* the VMM's in-tree pager served it */
    /* Released with the address space. */
    ck_assert_rc(spring_as_set_swap_pager(f.as, &cs_ops, &c2), 0);
    spring_as_destroy(f.as);
    ck_assert_int_eq(c1.releases, 1);
    ck_assert_int_eq(c2.releases, 2);
    ck_assert_int_eq(c1.releases, 1);
    ck_assert_int_eq(bad.releases, 0);
    for (size_t i = 0; i < NELEM(m); i++)
        spring_mobj_unref(m[i]);
    cs_free(&c1);
    cs_free(&c2);
    ck_assert_rc(spring_as_new(f.vmm, NULL, &f.as), 0);
    fix_fini(&f);
}
END_TEST

START_TEST(test_as_lock_memory)
{
    fix_t f;
    fix_init(&f, true, 0);
    static const struct {
        bool null_as;
        spring_addr_t addr;
        spring_off_t len;
        int want;
    } t[] = {
        {true, A0, PS, SPRING_EINVAL},
        {false, A0, 0, SPRING_EINVAL},
        {false, A0 + 1, PS, SPRING_EALIGN},
        {false, A0, 2 * PS - 1, SPRING_EALIGN},
        {false, 0, PS, SPRING_ERANGE},
        {false, SPACE_LIMIT, PS, SPRING_ERANGE},
        {false, ATOP, 2 * PS, SPRING_ERANGE},
        {false, AFREE, PS, SPRING_ENOTMAPPED},
        {false, A0 + 7 * PS, 2 * PS, SPRING_ENOTMAPPED},
        {false, A0 - PS, 2 * PS, SPRING_ENOTMAPPED},
    };
    snap_t s;
    snap_take(f.as, &s);
    for (size_t i = 0; i < NELEM(t); i++) {
        spring_as_t *as = t[i].null_as ? NULL : f.as;
        CASE_RC(i, spring_as_lock_memory(as, t[i].addr, t[i].len), t[i].want);
        CASE_RC(i, spring_as_unlock_memory(as, t[i].addr, t[i].len), t[i].want);
        snap_check(f.as, &s, __func__, i);
        ck_assert_uint_eq(test_as_stats(f.as).locked, 0);
    }
    ck_assert_uint_eq(test_as_stats(f.as).resident, 0);
    /* A pager failure while making the pages resident: nothing locked. */
    tp_fail(f.tp, TP_PAGE_IN, SPRING_ENOSPC, false);
    ck_assert_rc(spring_as_lock_memory(f.as, A0, 4 * PS), SPRING_EPAGER);
    snap_check(f.as, &s, __func__, 100);
    ck_assert_uint_eq(test_as_stats(f.as).locked, 0);
    ck_assert_uint_eq(test_vm_info(f.vmm).locked_frames, 0);
    /* Legal: resident without an access, reported locked. */
    size_t page_ins = tp_count(f.tp, TP_PAGE_IN);
    ck_assert_rc(spring_as_lock_memory(f.as, A0 + PS, 2 * PS), 0);
    spring_as_statistics_t st = test_as_stats(f.as);
    ck_assert_uint_eq(st.locked, 2);
    ck_assert_uint_ge(st.resident, 2);
    ck_assert_uint_ge(tp_count(f.tp, TP_PAGE_IN), page_ins + 2);
    ck_assert_uint_eq(test_vm_info(f.vmm).locked_frames, 2);
    spring_mapping_t m[4];
    size_t n;
    bool more;
    ck_assert_rc(spring_as_get_mappings(f.as, A0, 8 * PS, m, 4, &n, &more), 0);
    ck_assert_uint_eq(n, 3);
    ck_assert(!m[0].locked && m[1].locked && !m[2].locked);
    ck_assert_uint_eq(m[1].address, A0 + PS);
    ck_assert_uint_eq(m[1].length, 2 * PS);
    spring_mappings_release(m, n);
    /* A read-only range can be locked too. */
    ck_assert_rc(spring_as_lock_memory(f.as, A1, PS), 0);
    ck_assert_uint_eq(test_as_stats(f.as).locked, 3);
    CHECK_VMM(f.vmm);
    ck_assert_rc(spring_as_unlock_memory(f.as, A0, 8 * PS), 0);
    ck_assert_rc(spring_as_unlock_memory(f.as, A0, 8 * PS), 0); /* unlocked already */
    ck_assert_rc(spring_as_unlock_memory(f.as, A1, 4 * PS), 0);
    ck_assert_uint_eq(test_as_stats(f.as).locked, 0);
    ck_assert_uint_eq(test_vm_info(f.vmm).locked_frames, 0);
    ck_assert_rc(spring_as_get_mappings(f.as, A0, 8 * PS, m, 4, &n, &more), 0);
    ck_assert_uint_eq(n, 1);
    spring_mappings_release(m, n);
    fix_fini(&f);

    /* A non-privileged address space: EPERM, for a range that is fine. */
    fix_init(&f, false, 0);
    ck_assert_rc(spring_as_lock_memory(f.as, A0, PS), SPRING_EPERM);
    ck_assert_rc(spring_as_unlock_memory(f.as, A0, PS), SPRING_EPERM);
    ck_assert_uint_eq(test_as_stats(f.as).locked, 0);
    ck_assert_uint_eq(test_as_stats(f.as).resident, 0);
    fix_fini(&f);

    /* More than the pool can hold: ELOCKLIMIT, nothing locked. */
    spring_registry_t *reg;
    spring_vmm_t *vmm = test_vmm("small", 8, &reg);
    spring_as_options_t o;
    spring_as_options_init(&o);
    o.privileged = true;
    spring_as_t *as;
    ck_assert_rc(spring_as_new(vmm, &o, &as), 0);
    tpager_t *tp = tp_new(reg, "small", NULL, 8 * PS, 0, SPRING_OWN_EXCLUSIVE, true);
    spring_mobj_t *mo = tp_mobj(tp, SPRING_RIGHTS_RW);
    map_at(as, mo, 0, 8 * PS, A0, SPRING_RIGHTS_RW);
    ck_assert_rc(spring_as_lock_memory(as, A0, 8 * PS), SPRING_ELOCKLIMIT);
    ck_assert_uint_eq(test_as_stats(as).locked, 0);
    ck_assert_uint_eq(test_vm_info(vmm).locked_frames, 0);
    ck_assert_rc(spring_as_lock_memory(as, A0, 2 * PS), 0);
    ck_assert_uint_eq(test_as_stats(as).locked, 2);
    CHECK_VMM(vmm);
    spring_as_destroy(as);
    ck_assert_uint_eq(test_vm_info(vmm).locked_frames, 0);
    spring_mobj_unref(mo);
    tp_free(tp);
    test_vmm_free(vmm, reg);
}
END_TEST

/* An event handler that records events and, for an unmapped access at
 * AFREE, maps the test object there and asks for a retry. */
static struct ev_rec {
    spring_as_event_t ev[16];
    size_t n;
    spring_mobj_t *mobj;
    int access_answer;
} evr;

static int ev_handler(spring_as_t *as, const spring_as_event_t *ev, void *arg)
{
    ck_assert_ptr_eq(arg, &evr);
    if (evr.n < NELEM(evr.ev))
        evr.ev[evr.n++] = *ev;
    if (ev->kind == SPRING_AS_EVENT_UNMAPPED && ev->address >= AFREE && ev->address < AFREE + PS) {
        spring_off_t len = PS;
        spring_addr_t addr = AFREE;
        return spring_as_map(as, evr.mobj, 0, &len, &addr, SPRING_RIGHTS_RW) == 0;
    }
    if (ev->kind == SPRING_AS_EVENT_ACCESS)
        return evr.access_answer;
    return 0;
}

START_TEST(test_as_catch_as_events)
{
    fix_t f;
    fix_init(&f, false, 0);
    ck_assert_rc(spring_as_catch_as_events(NULL, ev_handler, &evr), SPRING_EINVAL);
    memset(&evr, 0, sizeof evr);
    evr.mobj = f.rw;
    ck_assert_rc(spring_as_catch_as_events(f.as, ev_handler, &evr), 0);
    /* An unmapped access the handler resolves. */
    ck_assert_uint_eq(read_byte(f.as, AFREE + 10), tp_pattern(10));
    /* The handler's own map is not reported: no event is delivered on a
     * thread while it runs a handler. */
    ck_assert_uint_eq(evr.n, 1);
    ck_assert_int_eq(evr.ev[0].kind, SPRING_AS_EVENT_UNMAPPED);
    ck_assert_uint_eq(evr.ev[0].address, AFREE + 10);
    ck_assert_int_eq(evr.ev[0].access, SPRING_RIGHTS_R);
    ck_assert_uint_eq(evr.ev[0].length, 0);
    /* An access violation it declines. */
    evr.n = 0;
    uint8_t v = 0;
    ck_assert_rc(spring_as_write(f.as, A1 + 5, &v, 1), SPRING_EACCES);
    ck_assert_uint_ge(evr.n, 1);
    ck_assert_int_eq(evr.ev[0].kind, SPRING_AS_EVENT_ACCESS);
    ck_assert_uint_eq(evr.ev[0].address, A1 + 5);
    ck_assert_int_eq(evr.ev[0].access, SPRING_RIGHTS_W);
    /* Protection and unmapping. */
    evr.n = 0;
    ck_assert_rc(spring_as_change_access_rights(f.as, A0, 2 * PS, SPRING_RIGHTS_RO), 0);
    ck_assert_rc(spring_as_unmap(f.as, AFREE, PS), 0);
    ck_assert_uint_eq(evr.n, 2);
    ck_assert_int_eq(evr.ev[0].kind, SPRING_AS_EVENT_PROTECT);
    ck_assert_uint_eq(evr.ev[0].address, A0);
    ck_assert_uint_eq(evr.ev[0].length, 2 * PS);
    ck_assert_int_eq(evr.ev[0].access, SPRING_RIGHTS_RO);
    ck_assert_int_eq(evr.ev[1].kind, SPRING_AS_EVENT_UNMAP);
    ck_assert_uint_eq(evr.ev[1].address, AFREE);
    ck_assert_uint_eq(evr.ev[1].length, PS);
    /* Removed: no more events. */
    ck_assert_rc(spring_as_catch_as_events(f.as, NULL, NULL), 0);
    evr.n = 0;
    ck_assert_rc(spring_as_read(f.as, AFREE, &v, 1), SPRING_ENOTMAPPED);
    ck_assert_rc(spring_as_unmap(f.as, A0, PS), 0);
    ck_assert_uint_eq(evr.n, 0);
    fix_fini(&f);
}
END_TEST

START_TEST(test_as_read_write_fault)
{
    fix_t f;
    fix_init(&f, false, 0);
    ck_assert_rc(spring_as_change_access_rights(f.as, A0 + 7 * PS, PS, SPRING_RIGHTS_NONE), 0);
    enum { OP_READ, OP_WRITE, OP_FAULT };
    static uint8_t buf[16];
    static const struct {
        int op;
        bool null_as, null_buf;
        spring_addr_t addr;
        size_t len;    /* read/write */
        int access;    /* fault */
        int want;
    } t[] = {
        {OP_READ, true, false, A0, 1, 0, SPRING_EINVAL},
        {OP_READ, false, true, A0, 1, 0, SPRING_EINVAL},
        {OP_READ, false, false, AFREE, 1, 0, SPRING_ENOTMAPPED},
        {OP_READ, false, false, 0, 1, 0, SPRING_ENOTMAPPED},
        {OP_READ, false, false, SPACE_LIMIT, 1, 0, SPRING_ENOTMAPPED},
        {OP_READ, false, false, A1 + 4 * PS - 1, 2, 0, SPRING_ENOTMAPPED}, /* runs off the end */
        {OP_READ, false, false, (spring_addr_t)0 - 8, 16, 0, SPRING_ENOTMAPPED}, /* wraps around 2^64 */
        {OP_READ, false, false, A0 + 7 * PS, 1, 0, SPRING_EACCES},       /* guard page */
        {OP_READ, false, false, A0 + 7 * PS - 1, 2, 0, SPRING_EACCES},
        {OP_WRITE, true, false, A0, 1, 0, SPRING_EINVAL},
        {OP_WRITE, false, true, A0, 1, 0, SPRING_EINVAL},
        {OP_WRITE, false, false, A1, 1, 0, SPRING_EACCES},              /* read-only */
        {OP_WRITE, false, false, A0 + 7 * PS, 1, 0, SPRING_EACCES},
        {OP_WRITE, false, false, AFREE, 1, 0, SPRING_ENOTMAPPED},
        {OP_WRITE, false, false, (spring_addr_t)0 - 8, 16, 0, SPRING_ENOTMAPPED},
        {OP_FAULT, true, false, A0, 0, 1, SPRING_EINVAL},
        {OP_FAULT, false, false, A0, 0, 0, SPRING_EINVAL},               /* not one access */
        {OP_FAULT, false, false, A0, 0, 3, SPRING_EINVAL},
        {OP_FAULT, false, false, A0, 0, 5, SPRING_EINVAL},
        {OP_FAULT, false, false, A0, 0, 7, SPRING_EINVAL},
        {OP_FAULT, false, false, A0, 0, 8, SPRING_EINVAL},
        {OP_FAULT, false, false, A0, 0, 4, SPRING_EACCES},               /* no execute right */
        {OP_FAULT, false, false, A1 + 100, 0, 2, SPRING_EACCES},
        {OP_FAULT, false, false, A0 + 7 * PS, 0, 1, SPRING_EACCES},
        {OP_FAULT, false, false, AFREE, 0, 1, SPRING_ENOTMAPPED},
        {OP_FAULT, false, false, (spring_addr_t)0 - 1, 0, 1, SPRING_ENOTMAPPED},
    };
    size_t ncalls = tp_ncalls(f.tp);
    for (size_t i = 0; i < NELEM(t); i++) {
        spring_as_t *as = t[i].null_as ? NULL : f.as;
        int rc;
        if (t[i].op == OP_READ)
            rc = spring_as_read(as, t[i].addr, t[i].null_buf ? NULL : buf, t[i].len);
        else if (t[i].op == OP_WRITE)
            rc = spring_as_write(as, t[i].addr, t[i].null_buf ? NULL : buf, t[i].len);
        else
            rc = spring_as_fault(as, t[i].addr, (spring_rights_t)t[i].access);
        CASE_RC(i, rc, t[i].want);
    }
    /* Only the reads that reached mapped pages called the pager. */
    ck_assert_uint_le(tp_ncalls(f.tp), ncalls + 2);
    /* Legal: any alignment and length, across pages. */
    uint8_t big[3 * PS];
    ck_assert_rc(spring_as_read(f.as, A0 + 100, big, sizeof big), 0);
    for (size_t i = 0; i < sizeof big; i++)
        ck_assert_uint_eq(big[i], tp_pattern(100 + i));
    memset(big, 0xc3, sizeof big);
    ck_assert_rc(spring_as_write(f.as, A0 + PS - 1, big, 2 * PS + 2), 0);
    ck_assert_uint_eq(read_byte(f.as, A0 + PS - 2), tp_pattern(PS - 2));
    ck_assert_uint_eq(read_byte(f.as, A0 + PS - 1), 0xc3);
    ck_assert_uint_eq(read_byte(f.as, A0 + 3 * PS), 0xc3);
    ck_assert_uint_eq(read_byte(f.as, A0 + 3 * PS + 1), tp_pattern(3 * PS + 1));
    ck_assert_rc(spring_as_read(f.as, A0, NULL, 0), 0);
    ck_assert_rc(spring_as_fault(f.as, A0 + 5 * PS + 77, SPRING_RIGHTS_R), 0);
    ck_assert_rc(spring_as_fault(f.as, A0 + 5 * PS, SPRING_RIGHTS_W), 0);
    ck_assert_rc(spring_as_fault(f.as, A1, SPRING_RIGHTS_R), 0);
    spring_mobj_t *rx = tp_mobj(f.tp, SPRING_RIGHTS_RX);
    map_at(f.as, rx, 0, PS, AFREE, SPRING_RIGHTS_RX);
    ck_assert_rc(spring_as_fault(f.as, AFREE + 8, SPRING_RIGHTS_X), 0);
    ck_assert_rc(spring_as_fault(f.as, AFREE + 8, SPRING_RIGHTS_W), SPRING_EACCES);
    /* A pager failure fails the access (EPAGER); the next one works. */
    tp_fail(f.tp, TP_PAGE_IN, SPRING_ENOSPC, false);
    uint8_t v;
    ck_assert_rc(spring_as_read(f.as, A1 + PS, &v, 1), SPRING_EPAGER);
    ck_assert_uint_eq(read_byte(f.as, A1 + PS), tp_pattern(9 * PS));
    tp_fail(f.tp, TP_PAGE_IN, SPRING_ENOSPC, false);
    ck_assert_rc(spring_as_fault(f.as, A0 + 4 * PS, SPRING_RIGHTS_W), SPRING_EPAGER);
    CHECK_VMM(f.vmm);
    ck_assert_rc(spring_as_unmap(f.as, AFREE, PS), 0);
    spring_mobj_unref(rx);
    fix_fini(&f);
}
END_TEST

START_TEST(test_as_translate_pins)
{
    fix_t f;
    fix_init(&f, false, 0);
    void *p = NULL;
    spring_pin_t pin = {0};
    static void *psink;
    static spring_pin_t pinsink;
    const struct {
        bool null_as;
        void **ptr;
        spring_pin_t *pin;
        spring_addr_t addr;
        int access, want;
    } t[] = {
        {true, &psink, &pinsink, A0, 1, SPRING_EINVAL},
        {false, NULL, &pinsink, A0, 1, SPRING_EINVAL},
        {false, &psink, NULL, A0, 1, SPRING_EINVAL},
        {false, &psink, &pinsink, A0, 0, SPRING_EINVAL},
        {false, &psink, &pinsink, A0, 3, SPRING_EINVAL},
        {false, &psink, &pinsink, A0, 8, SPRING_EINVAL},
        {false, &psink, &pinsink, AFREE, 1, SPRING_ENOTMAPPED},
        {false, &psink, &pinsink, A1, 2, SPRING_EACCES},
        {false, &psink, &pinsink, A0, 4, SPRING_EACCES},
    };
    for (size_t i = 0; i < NELEM(t); i++) {
        CASE_RC(i, spring_as_translate(t[i].null_as ? NULL : f.as, t[i].addr, (spring_rights_t)t[i].access,
                                       t[i].ptr, t[i].pin),
                t[i].want);
        ck_assert(!spring_pin_valid(&pinsink));
    }
    /* A read pin. */
    ck_assert_rc(spring_as_translate(f.as, A0 + 10, SPRING_RIGHTS_R, &p, &pin), 0);
    ck_assert_uint_eq(*(uint8_t *)p, tp_pattern(10));
    ck_assert_uint_eq(((uint8_t *)p)[PS - 11], tp_pattern(PS - 1)); /* valid to the end of the page */
    ck_assert(spring_pin_valid(&pin));
    spring_pin_release(&pin);
    ck_assert(!spring_pin_valid(&pin));
    ck_assert_ptr_null(pin.frame);
    spring_pin_release(&pin); /* a cleared pin is ignored */
    spring_pin_release(NULL);
    ck_assert(!spring_pin_valid(NULL));
    spring_pin_t zero = {0};
    spring_pin_release(&zero);
    ck_assert(!spring_pin_valid(&zero));
    /* A write pin: writes through the pointer reach the cache. */
    ck_assert_rc(spring_as_translate(f.as, A0 + PS, SPRING_RIGHTS_W, &p, &pin), 0);
    *(uint8_t *)p = 0x7e;
    spring_pin_release(&pin);
    ck_assert_uint_eq(read_byte(f.as, A0 + PS), 0x7e);
    ck_assert_rc(spring_as_flush(f.as, A0 + PS, PS, true), 0);
    ck_assert_uint_eq(tp_store(f.tp)[PS], 0x7e);
    /* unmap neither waits nor revokes. */
    ck_assert_rc(spring_as_translate(f.as, A0 + 2 * PS, SPRING_RIGHTS_R, &p, &pin), 0);
    ck_assert_rc(spring_as_unmap(f.as, A0 + 2 * PS, PS), 0);
    ck_assert(spring_pin_valid(&pin));
    ck_assert_uint_eq(*(uint8_t *)p, tp_pattern(2 * PS));
    spring_pin_release(&pin);
    /* delete_range revokes: the pointer stays readable memory until released. */
    ck_assert_rc(spring_as_translate(f.as, A0 + 3 * PS, SPRING_RIGHTS_R, &p, &pin), 0);
    ck_assert_rc(spring_cache_delete_range(tp_cache(f.tp), 3 * PS, PS, NULL), 0);
    ck_assert(!spring_pin_valid(&pin));
    ck_assert_uint_eq(*(uint8_t *)p, tp_pattern(3 * PS));
    spring_pin_release(&pin);
    ck_assert(!spring_pin_valid(&pin));
    CHECK_VMM(f.vmm);
    fix_fini(&f);
}
END_TEST

/* ------------------------------------------------------------------ */
/* One end-to-end path: pager -> bind -> map -> fault -> HAT -> access.  */

START_TEST(test_map_read_write)
{
    spring_registry_t *reg;
    spring_vmm_t *vmm = test_vmm("vmm1", 32, &reg);
    spring_as_t *as;
    ck_assert_rc(spring_as_new(vmm, NULL, &as), 0);
    tpager_t *tp = tp_new(reg, "vmm1", NULL, 16 * PS, 0, SPRING_OWN_EXCLUSIVE, true);
    spring_mobj_t *m = tp_mobj(tp, SPRING_RIGHTS_RW);
    spring_off_t len = 8 * PS;
    spring_addr_t addr = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_map(as, m, 4 * PS, &len, &addr, SPRING_RIGHTS_RW), 0);
    ck_assert_uint_eq(len, 8 * PS);
    uint8_t buf[100];
    ck_assert_rc(spring_as_read(as, addr + PS + 10, buf, sizeof buf), 0);
    for (size_t i = 0; i < sizeof buf; i++)
        ck_assert_uint_eq(buf[i], tp_pattern(5 * PS + 10 + i));
    /* A read fault on a read-write mapping of an exclusive cache asks for
     * read-write data (§5.1). */
    ck_assert_uint_eq(tp_count(tp, TP_PAGE_IN), 1);
    ck_assert_uint_eq(tp_call(tp, 1).kind, TP_PAGE_IN);
    ck_assert_uint_eq(tp_call(tp, 1).access, SPRING_RIGHTS_RW);
    ck_assert_uint_eq(tp_call(tp, 1).off, 5 * PS);
    memset(buf, 0xab, sizeof buf);
    ck_assert_rc(spring_as_write(as, addr + 2 * PS - 50, buf, sizeof buf), 0); /* crosses a page */
    ck_assert_rc(spring_as_flush(as, addr, len, false), 0);
    ck_assert_uint_eq(tp_store(tp)[4 * PS + 2 * PS - 50], 0xab);
    ck_assert_uint_eq(tp_store(tp)[4 * PS + 2 * PS + 49], 0xab);
    /* The two modified pages are contiguous: one page_out carries both. */
    ck_assert_uint_eq(tp_count(tp, TP_PAGE_OUT), 1);
    ck_assert_uint_eq(tp_call(tp, tp_ncalls(tp) - 1).size, 2 * PS);
    ck_assert_uint_eq(tp_call(tp, tp_ncalls(tp) - 1).data_blocks, 2);
    if (TEST_RECORDING_HAT) /* the VMM went through the recording HAT */
        ck_assert(rechat_count(RH_ENTER) > 0 && rechat_count(RH_TRANSLATE) > 0 && rechat_count(RH_UNLOAD) > 0);
    CHECK_VMM(vmm);
    spring_as_destroy(as);
    spring_mobj_unref(m);
    tp_free(tp);
    test_vmm_free(vmm, reg);
}
END_TEST

START_TEST(test_shared_read_fault_asks_read_only)
{
    spring_registry_t *reg;
    spring_vmm_t *vmm = test_vmm("vmm1", 32, &reg);
    spring_as_t *as;
    ck_assert_rc(spring_as_new(vmm, NULL, &as), 0);
    tpager_t *tp = tp_new(reg, "vmm1", NULL, 4 * PS, 0, SPRING_OWN_SHARED, true);
    spring_mobj_t *m = tp_mobj(tp, SPRING_RIGHTS_RW);
    spring_off_t len = 4 * PS;
    spring_addr_t addr = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_map(as, m, 0, &len, &addr, SPRING_RIGHTS_RW), 0);
    ck_assert_rc(spring_as_fault(as, addr, SPRING_RIGHTS_R), 0);
    ck_assert_uint_eq(tp_count(tp, TP_PAGE_IN), 1);
    tp_call_t c = tp_call(tp, tp_ncalls(tp) - 1);
    ck_assert_uint_eq(c.access, SPRING_RIGHTS_RO);
    ck_assert_uint_eq(c.own, SPRING_OWN_SHARED);
    /* A write then upgrades the block: a read-write page_in of the same block. */
    ck_assert_rc(spring_as_fault(as, addr, SPRING_RIGHTS_W), 0);
    c = tp_call(tp, tp_ncalls(tp) - 1);
    ck_assert_uint_eq(c.kind, TP_PAGE_IN);
    ck_assert_uint_eq(c.access, SPRING_RIGHTS_RW);
    ck_assert(c.upgrade);
    CHECK_VMM(vmm);
    spring_as_destroy(as);
    spring_mobj_unref(m);
    tp_free(tp);
    test_vmm_free(vmm, reg);
}
END_TEST

START_TEST(test_two_mobjs_share_cache)
{
    spring_registry_t *reg;
    spring_vmm_t *vmm = test_vmm("vmm1", 32, &reg);
    spring_as_t *as;
    ck_assert_rc(spring_as_new(vmm, NULL, &as), 0);
    tpager_t *tp = tp_new(reg, "vmm1", NULL, 4 * PS, 0, SPRING_OWN_EXCLUSIVE, true);
    spring_mobj_t *rw = tp_mobj(tp, SPRING_RIGHTS_RW), *ro = tp_mobj(tp, SPRING_RIGHTS_RO);
    spring_off_t len = 4 * PS;
    spring_addr_t a1 = SPRING_ANYWHERE, a2 = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_map(as, rw, 0, &len, &a1, SPRING_RIGHTS_RW), 0);
    ck_assert_rc(spring_as_map(as, ro, 0, &len, &a2, SPRING_RIGHTS_RW), SPRING_ERIGHTS);
    ck_assert_rc(spring_as_map(as, ro, 0, &len, &a2, SPRING_RIGHTS_RO), 0);
    ck_assert_rc(spring_as_change_access_rights(as, a2, PS, SPRING_RIGHTS_RW), SPRING_ERIGHTS);
    void *p1, *p2;
    spring_pin_t pin1, pin2;
    ck_assert_rc(spring_as_translate(as, a1, SPRING_RIGHTS_W, &p1, &pin1), 0);
    ck_assert_rc(spring_as_translate(as, a2, SPRING_RIGHTS_R, &p2, &pin2), 0);
    ck_assert_ptr_eq(p1, p2); /* the same frame */
    *(uint8_t *)p1 = 0x5a;
    spring_pin_release(&pin1);
    spring_pin_release(&pin2);
    ck_assert_rc(spring_as_write(as, a2, "x", 1), SPRING_EACCES);
    uint8_t v;
    ck_assert_rc(spring_as_read(as, a2, &v, 1), 0);
    ck_assert_uint_eq(v, 0x5a);
    ck_assert_uint_eq(tp_count(tp, TP_PAGE_IN), 1);
    CHECK_VMM(vmm);
    spring_as_destroy(as);
    spring_mobj_unref(rw);
    spring_mobj_unref(ro);
    tp_free(tp);
    test_vmm_free(vmm, reg);
}
END_TEST

Suite *test_suite(void)
{
#if TEST_RECORDING_HAT
    /* t/check_api_rechat: every test VMM uses the recording HAT. */
    test_hat_ops = rechat_ops();
#endif
    Suite *s = suite_create(TEST_RECORDING_HAT ? "api (recording HAT)" : "api (soft HAT)");
    TCase *tc = tcase_create("common");
    tcase_add_test(tc, test_error_names);
    tcase_add_test(tc, test_error_values);
    tcase_add_test(tc, test_rights);
    tcase_add_test(tc, test_data_lists);
    suite_add_tcase(s, tc);
    tc = tcase_create("hat");
    tcase_add_test(tc, test_hat_soft);
    suite_add_tcase(s, tc);
    tc = tcase_create("pager");
    tcase_add_test(tc, test_mobj_new);
    tcase_add_test(tc, test_mobj_refs);
    tcase_add_test(tc, test_mobj_length);
    suite_add_tcase(s, tc);
    tc = tcase_create("vmm");
    tcase_add_test(tc, test_vmm_config_init);
    tcase_add_test(tc, test_vmm_new_illegal);
    tcase_add_test(tc, test_vmm_new_hat);
    tcase_add_test(tc, test_vmm_destroy_busy);
    tcase_add_test(tc, test_vmm_get_object);
    tcase_add_test(tc, test_vmm_check);
    tcase_add_test(tc, test_vmm_inject_alloc_failure);
    tcase_add_test(tc, test_vmm_get_vm_info);
    tcase_add_test(tc, test_vmm_reclaim_caches);
    tcase_add_test(tc, test_vmm_sync);
    tcase_add_test(tc, test_pager_stats);
    tcase_add_test(tc, test_create_cache_object);
    tcase_add_test(tc, test_vmm_bind_cache);
    tcase_add_test(tc, test_vmm_create_cache_object_and_bind);
    tcase_add_test(tc, test_vmm_add_swap_pager);
    suite_add_tcase(s, tc);
    tc = tcase_create("registry");
    tcase_add_test(tc, test_registry_add_remove);
    tcase_add_test(tc, test_registry_grant_lookup);
    suite_add_tcase(s, tc);
    tc = tcase_create("cache");
    tcase_add_test(tc, test_cache_range_illegal);
    tcase_add_test(tc, test_cache_flush_back);
    tcase_add_test(tc, test_cache_deny_writes);
    tcase_add_test(tc, test_cache_write_back);
    tcase_add_test(tc, test_cache_delete_range);
    tcase_add_test(tc, test_cache_zero_fill);
    tcase_add_test(tc, test_cache_populate);
    tcase_add_test(tc, test_cache_destroy);
    tcase_add_test(tc, test_cache_rights);
    suite_add_tcase(s, tc);
    tc = tcase_create("as");
    tcase_add_test(tc, test_as_options_new);
    tcase_add_test(tc, test_as_map_illegal);
    tcase_add_test(tc, test_as_map_bind_protocol);
    tcase_add_test(tc, test_as_map_legal);
    tcase_add_test(tc, test_as_map_enomem);
    tcase_add_test(tc, test_as_map_foreign_rights);
    tcase_add_test(tc, test_as_map_many);
    tcase_add_test(tc, test_as_unmap);
    tcase_add_test(tc, test_as_allocate_memory);
    tcase_add_test(tc, test_as_allocate_memory_and_mobj);
    tcase_add_test(tc, test_as_change_access_rights);
    tcase_add_test(tc, test_as_flush);
    tcase_add_test(tc, test_as_get_page_size);
    tcase_add_test(tc, test_as_get_mappings);
    tcase_add_test(tc, test_mappings_release);
    tcase_add_test(tc, test_as_statistics);
    tcase_add_test(tc, test_as_set_swap_pager);
    tcase_add_test(tc, test_as_lock_memory);
    tcase_add_test(tc, test_as_catch_as_events);
    tcase_add_test(tc, test_as_read_write_fault);
    tcase_add_test(tc, test_as_translate_pins);
    suite_add_tcase(s, tc);
    tc = tcase_create("paths");
    tcase_add_test(tc, test_map_read_write);
    tcase_add_test(tc, test_shared_read_fault_asks_read_only);
    tcase_add_test(tc, test_two_mobjs_share_cache);
    suite_add_tcase(s, tc);
    return s;
}
