/*
 * pagers.c - the objects of api.h that several features of t/check_api
 * use: a simple pager object (sp), a configurable memory object (cm) and a
 * swap pager handing out test-pager objects (cs).
 */
#include "api.h"

int sp_page_in(void *self, spring_off_t off, spring_off_t size, spring_rights_t access, spring_ownership_t *own,
               spring_page_buf_t *dst)
{
    spager_t *sp = self;
    (void)off, (void)size, (void)access, (void)own;
    sp->page_ins++;
    if (!dst->upgrade)
        for (size_t i = 0; i < dst->npages; i++)
            memset(dst->pages[i], sp->fill, dst->page_size);
    return 0;
}

int sp_page_out(void *self, spring_off_t off, spring_off_t size, spring_ownership_t *own, const spring_data_t *data)
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

void sp_done_with_pager_object(void *self)
{
    ((spager_t *)self)->done_pobj++;
}

const spring_pager_ops_t sp_ops = {
    .version = SPRING_PAGER_OPS_VERSION,
    .page_in = sp_page_in,
    .page_out = sp_page_out,
    .done_with_cache = sp_done_with_cache,
    .done_with_pager_object = sp_done_with_pager_object,
};

void sp_cache(spring_vmm_obj_t vobj, spager_t *sp, spring_rights_t max, spring_cache_obj_t *c,
              spring_cache_rights_t *r)
{
    spring_pager_info_t info = {0, SPRING_CACHE_DATA, 0, true};
    ck_assert_rc(spring_vmm_create_cache_object(vobj, &sp_ops, sp, false, &info, SPRING_OWN_EXCLUSIVE, max, c, r),
                 0);
}

int cm_bind(void *self, const char *vmm_name, spring_rights_t access, spring_off_t off, spring_off_t *length,
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

int cm_final_bind(void *self, spring_bind_key_t key, const char *vmm_name, spring_rights_t access, spring_off_t off,
                  spring_off_t len, long *flags)
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

void cm_release(void *self)
{
    ((cmobj_t *)self)->releases++;
}

const spring_mobj_ops_t cm_ops = {
    .version = SPRING_MOBJ_OPS_VERSION,
    .bind = cm_bind,
    .final_bind = cm_final_bind,
    .get_length = cm_get_length,
    .set_length = cm_set_length,
    .release = cm_release,
};

spring_mobj_t *cm_new(cmobj_t *m, const spring_mobj_ops_t *ops)
{
    spring_mobj_t *mo = NULL;
    ck_assert_rc(spring_mobj_new(ops, m, &mo), 0);
    return mo;
}

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

const spring_swap_pager_ops_t cs_ops = {SPRING_SWAP_PAGER_OPS_VERSION, cs_create_mobj, cs_release};
const spring_swap_pager_ops_t cs_ops_v0 = {0, cs_create_mobj, cs_release};
const spring_swap_pager_ops_t cs_ops_v99 = {99, cs_create_mobj, cs_release};
const spring_swap_pager_ops_t cs_ops_no_create = {SPRING_SWAP_PAGER_OPS_VERSION, NULL, cs_release};

void cs_free(cswap_t *cs)
{
    for (size_t i = 0; i < cs->ntp; i++)
        tp_free(cs->tp[i]);
    cs->ntp = 0;
}
