/*
 * pagers.c - small pagers of scen.h that several features of
 * t/check_scenarios use: a minimal pager (mini), a swap pager made of test
 * pagers (tswap), and an 8-page pager with its own memory object (wpager).
 */
#include "scen.h"

static int mini_page_in(void *self, spring_off_t off, spring_off_t size, spring_rights_t access,
                        spring_ownership_t *own, spring_page_buf_t *dst)
{
    ((struct mini *)self)->page_ins++;
    for (size_t i = 0; i < dst->npages; i++)
        dst->zero[i] = 1;
    return 0;
}

static int mini_page_out(void *self, spring_off_t off, spring_off_t size, spring_ownership_t *own,
                         const spring_data_t *d)
{
    return 0;
}

static void mini_done(void *self)
{
    ((struct mini *)self)->done++;
}

const spring_pager_ops_t mini_ops = {
    .version = SPRING_PAGER_OPS_VERSION,
    .page_in = mini_page_in,
    .page_out = mini_page_out,
    .done_with_pager_object = mini_done,
};

static int ts_create(void *self, spring_off_t length, spring_mobj_t **out)
{
    struct tswap *s = self;
    s->created++;
    if (s->fail_rc)
        return s->fail_rc;
    if (s->n == 8)
        return SPRING_ENOSPC;
    tpager_t *tp = tp_new(s->reg, s->vmm_name, NULL, length, 0, SPRING_OWN_EXCLUSIVE, false);
    s->tps[s->n++] = tp;
    *out = tp_mobj(tp, SPRING_RIGHTS_RWX);
    return 0;
}

static void ts_release(void *self)
{
    ((struct tswap *)self)->released++;
}

const spring_swap_pager_ops_t tswap_ops = {
    .version = SPRING_SWAP_PAGER_OPS_VERSION,
    .create_mobj = ts_create,
    .release = ts_release,
};

void tswap_free(struct tswap *s)
{
    for (size_t i = 0; i < s->n; i++)
        tp_free(s->tps[i]);
    s->n = 0;
}

static int w_page_in(void *self, spring_off_t off, spring_off_t size, spring_rights_t access,
                     spring_ownership_t *own, spring_page_buf_t *dst)
{
    struct wpager *w = self;
    w->page_ins++;
    if (dst->upgrade) {
        w->upgrades++;
        return 0;
    }
    for (size_t i = 0; i < dst->npages; i++)
        memcpy(dst->pages[i], w->store + off + i * PS, PS);
    return 0;
}

static void w_keep(struct wpager *w, const spring_data_t *d)
{
    for (size_t i = 0; d && i < d->nblocks; i++) {
        const spring_data_block_t *b = &d->blocks[i];
        if (b->bytes)
            memcpy(w->store + b->offset, b->bytes, b->length);
        else
            memset(w->store + b->offset, 0, b->length);
    }
}

int w_page_out(void *self, spring_off_t off, spring_off_t size, spring_ownership_t *own, const spring_data_t *d)
{
    ((struct wpager *)self)->page_outs++;
    w_keep(self, d);
    return 0;
}

static int w_write_out(void *self, spring_off_t off, spring_off_t size, spring_ownership_t *own,
                       const spring_data_t *d)
{
    ((struct wpager *)self)->write_outs++;
    w_keep(self, d);
    return 0;
}

void w_done(void *self)
{
    struct wpager *w = self;
    w->done++;
    w->has_cache = false;
}

const spring_pager_ops_t wpager_write_out_ops = {
    .version = SPRING_PAGER_OPS_VERSION,
    .page_in = w_page_in,
    .page_out = w_page_out,
    .write_out = w_write_out,
    .done_with_pager_object = w_done,
};

const spring_pager_ops_t wpager_plain_ops = {
    .version = SPRING_PAGER_OPS_VERSION,
    .page_in = w_page_in,
    .page_out = w_page_out,
    .done_with_pager_object = w_done,
};

static int wm_bind(void *self, const char *vmm_name, spring_rights_t access, spring_off_t off, spring_off_t *length,
                   spring_cache_rights_t *rights, spring_off_t *cache_off, long *flags)
{
    struct wpager *w = self;
    if (!w->has_cache) {
        spring_vmm_obj_t o;
        spring_pager_info_t info = {0, SPRING_CACHE_DATA, 0, true};
        int rc = spring_vmm_get_object(w->vmm, SPRING_PRIV_USER, &o);
        if (rc == 0)
            rc = spring_vmm_create_cache_object(o, w->ops, w, false, &info, SPRING_OWN_EXCLUSIVE, SPRING_RIGHTS_RWX,
                                                &w->cache, &w->rights);
        if (rc)
            return rc;
        w->has_cache = true;
    }
    if (off >= sizeof w->store)
        return SPRING_ERANGE;
    if (*length > sizeof w->store - off)
        *length = sizeof w->store - off;
    *rights = w->rights;
    *cache_off = off;
    *flags = 0;
    return 0;
}

static int wm_final_bind(void *self, spring_bind_key_t key, const char *vmm_name, spring_rights_t access,
                         spring_off_t off, spring_off_t length, long *flags)
{
    *flags = 0;
    return SPRING_EBADHANDLE;
}

const spring_mobj_ops_t wmobj_ops = {
    .version = SPRING_MOBJ_OPS_VERSION,
    .bind = wm_bind,
    .final_bind = wm_final_bind,
};

struct wpager *wpager_setup(const spring_pager_ops_t *ops, spring_as_t **as, spring_mobj_t **m, spring_addr_t *a)
{
    struct wpager *w = calloc(1, sizeof *w);
    ck_assert_ptr_nonnull(w);
    w->vmm = test_vmm(VMM_NAME, 32, NULL);
    w->ops = ops;
    for (size_t i = 0; i < sizeof w->store; i++)
        w->store[i] = tp_pattern(i);
    *as = as_new(w->vmm, false, 0);
    ck_assert_rc(spring_mobj_new(&wmobj_ops, w, m), 0);
    spring_off_t len = sizeof w->store;
    *a = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_map(*as, *m, 0, &len, a, SPRING_RIGHTS_RW), 0);
    return w;
}

void wpager_teardown(struct wpager *w, spring_as_t *as, spring_mobj_t *m)
{
    CHECK_VMM(w->vmm);
    spring_as_destroy(as);
    spring_mobj_unref(m);
    test_vmm_free(w->vmm, NULL);
    ck_assert_int_eq(w->done, 1);
    free(w);
}
