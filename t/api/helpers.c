/*
 * helpers.c - the helpers of api.h that the features of t/check_api share:
 * forged handles, exact maps, one-byte accesses, mapping snapshots and the
 * fixture (also as Check's checked fixture).
 */
#include "api.h"

size_t forgeries(uint64_t real, uint64_t *out)
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

void map_at(spring_as_t *as, spring_mobj_t *m, spring_off_t off, spring_off_t len, spring_addr_t addr,
            spring_rights_t access)
{
    spring_off_t l = len;
    spring_addr_t a = addr;
    ck_assert_rc(spring_as_map(as, m, off, &l, &a, access), 0);
    ck_assert_uint_eq(l, len);
    ck_assert_uint_eq(a, addr);
}

spring_vmm_obj_t vmm_obj(spring_vmm_t *vmm, spring_privilege_t priv)
{
    spring_vmm_obj_t o;
    ck_assert_rc(spring_vmm_get_object(vmm, priv, &o), 0);
    return o;
}

uint8_t read_byte(spring_as_t *as, spring_addr_t a)
{
    uint8_t v = 0;
    ck_assert_rc(spring_as_read(as, a, &v, 1), 0);
    return v;
}

void write_byte(spring_as_t *as, spring_addr_t a, uint8_t v)
{
    ck_assert_rc(spring_as_write(as, a, &v, 1), 0);
}

void snap_take(spring_as_t *as, snap_t *s)
{
    bool more = true;
    ck_assert_rc(spring_as_get_mappings(as, PS, SPACE_LIMIT - PS, s->m, SNAP_MAX, &s->n, &more), 0);
    ck_assert(!more);
    for (size_t i = 0; i < s->n; i++)
        spring_mobj_unref(s->m[i].mobj); /* the pointer stays, for comparison */
}

void snap_check(spring_as_t *as, const snap_t *want, const char *fn, size_t i)
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

void fix_init(fix_t *f, bool privileged, spring_off_t block_size)
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

void fix_fini(fix_t *f)
{
    CHECK_VMM(f->vmm);
    spring_as_destroy(f->as);
    spring_mobj_unref(f->rw);
    spring_mobj_unref(f->ro);
    tp_free(f->tp);
    test_vmm_free(f->vmm, f->reg);
}

fix_t fix;

void fix_setup(void)
{
    fix_init(&fix, false, 0);
}

void fix_teardown(void)
{
    fix_fini(&fix);
}
