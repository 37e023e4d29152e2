/*
 * as.c - as.h, address spaces: options and creation, map (illegal calls,
 * the bind protocol, legal calls, ENOMEM, foreign rights, many regions),
 * unmap, allocate_memory (and a memory object), change_access_rights,
 * flush, the page size, mappings, statistics, the swap pager, lock_memory,
 * events, read and write through faults, translate and its pins.
 */
#include "api.h"
#include "testhooks.h"

/* The last page-aligned address: a range starting there wraps around 2^64. */
#define ATOP ((spring_addr_t)0 - PS)

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
    snap_take(fix.as, &s);
    for (size_t i = 0; i < NELEM(t); i++) {
        spring_off_t len = t[i].len;
        spring_addr_t addr = t[i].addr;
        spring_mobj_t *m = (t[i].flags & F_NULL_MOBJ) ? NULL : (t[i].flags & F_RO_MOBJ) ? fix.ro : fix.rw;
        int rc = spring_as_map((t[i].flags & F_NULL_AS) ? NULL : fix.as, m, t[i].off,
                               (t[i].flags & F_NULL_LEN) ? NULL : &len, (t[i].flags & F_NULL_ADDR) ? NULL : &addr,
                               (spring_rights_t)t[i].access);
        CASE_RC(i, rc, t[i].want);
        snap_check(fix.as, &s, __func__, i);
        CHECK_VMM(fix.vmm);
    }
    /* The pager failing the bind: EBIND, and the thread's last error says
     * what the pager answered. */
    spring_off_t len = PS;
    spring_addr_t addr = AFREE;
    tp_fail(fix.tp, TP_BIND, SPRING_ENOMEM, false);
    ck_assert_rc(spring_as_map(fix.as, fix.rw, 0, &len, &addr, SPRING_RIGHTS_RW), SPRING_EBIND);
    ck_assert_msg(strstr(spring_last_error(), "bind") && strstr(spring_last_error(), "SPRING_ENOMEM"), "%s",
                  spring_last_error());
    snap_check(fix.as, &s, __func__, 100);
    /* An offset past the object's end: the pager's ERANGE passes through. */
    ck_assert_rc(spring_as_map(fix.as, fix.rw, 16 * PS, &len, &addr, SPRING_RIGHTS_RW), SPRING_ERANGE);
    ck_assert_msg(strstr(spring_last_error(), "SPRING_ERANGE"), "%s", spring_last_error());
    /* A cache-rights the VMM cannot use, and a final_bind that does nothing. */
    tp_set_bind_rights(fix.tp, (spring_cache_rights_t){FORGED});
    tp_set_final_bind_noop(fix.tp, true);
    ck_assert_rc(spring_as_map(fix.as, fix.rw, 0, &len, &addr, SPRING_RIGHTS_RW), SPRING_EBIND);
    ck_assert_uint_eq(tp_count(fix.tp, TP_FINAL_BIND), 1);
    snap_check(fix.as, &s, __func__, 101);
    tp_set_bind_rights(fix.tp, (spring_cache_rights_t){0});
    tp_set_final_bind_noop(fix.tp, false);
    /* The address space is full: ENOSPC for ANYWHERE. */
    spring_as_options_t o;
    spring_as_options_init(&o);
    o.base = PS;
    o.limit = 4 * PS;
    spring_as_t *small;
    ck_assert_rc(spring_as_new(fix.vmm, &o, &small), 0);
    len = 2 * PS, addr = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_map(small, fix.rw, 0, &len, &addr, SPRING_RIGHTS_RW), 0);
    ck_assert_uint_eq(addr, PS);
    len = 2 * PS, addr = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_map(small, fix.rw, 0, &len, &addr, SPRING_RIGHTS_RW), SPRING_ENOSPC);
    len = PS, addr = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_map(small, fix.rw, 0, &len, &addr, SPRING_RIGHTS_RW), 0);
    ck_assert_uint_eq(addr, 3 * PS);
    spring_as_destroy(small);
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
    /* Adjacent to a region; the pager shortens a map past its end. */
    map_at(fix.as, fix.rw, 8 * PS, 2 * PS, A0 + 8 * PS, SPRING_RIGHTS_RO);
    spring_off_t len = 8 * PS;
    spring_addr_t addr = AFREE;
    ck_assert_rc(spring_as_map(fix.as, fix.rw, 12 * PS, &len, &addr, SPRING_RIGHTS_RW), 0);
    ck_assert_uint_eq(len, 4 * PS);
    ck_assert_uint_eq(addr, AFREE);
    ck_assert_uint_eq(read_byte(fix.as, AFREE + 3 * PS + 1), tp_pattern(15 * PS + 1));
    ck_assert_uint_eq(read_byte(fix.as, A0 + 9 * PS), tp_pattern(9 * PS));
    /* ANYWHERE: first fit. */
    len = PS, addr = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_map(fix.as, fix.ro, 0, &len, &addr, SPRING_RIGHTS_RO), 0);
    ck_assert_uint_eq(addr, PS);
    spring_as_statistics_t st = test_as_stats(fix.as);
    ck_assert_uint_eq(st.nregions, 5);
    ck_assert_uint_eq(st.mapped, (8 + 4 + 2 + 4 + 1) * PS);
    CHECK_VMM(fix.vmm);
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
    spring_mapping_t one = {.mobj = fix.rw, .length = PS, .address = AFREE, .access = SPRING_RIGHTS_RW};
    ck_assert_rc(spring_as_map_many(NULL, &one, 1), SPRING_EINVAL);
    ck_assert_rc(spring_as_map_many(fix.as, NULL, 1), SPRING_EINVAL);
    ck_assert_uint_eq(test_as_stats(fix.as).nregions, 2);
    spring_mapping_t m[5] = {
        {.mobj = fix.rw, .mobj_offset = 0, .length = 2 * PS, .address = AFREE, .access = SPRING_RIGHTS_RW},
        {.mobj = fix.rw, .mobj_offset = 0, .length = PS, .address = A0 + PS, .access = SPRING_RIGHTS_RW},
        {.mobj = fix.rw, .mobj_offset = 0, .length = PS, .address = SPRING_ANYWHERE, .access = SPRING_RIGHTS_W},
        {.mobj = fix.ro, .mobj_offset = 12 * PS, .length = 8 * PS, .address = SPRING_ANYWHERE,
         .access = SPRING_RIGHTS_RO},
        {.mobj = fix.ro, .mobj_offset = 0, .length = PS, .address = AFREE + 8 * PS, .access = SPRING_RIGHTS_RW},
    };
    /* Entries after a failure are still tried; the first failure is returned. */
    ck_assert_rc(spring_as_map_many(fix.as, m, 5), SPRING_EEXIST);
    static const int want[] = {0, SPRING_EEXIST, SPRING_EINVAL, 0, SPRING_ERIGHTS};
    for (size_t i = 0; i < 5; i++)
        CASE_RC(i, m[i].result, want[i]);
    ck_assert_uint_eq(m[0].address, AFREE);
    ck_assert_uint_eq(m[3].length, 4 * PS); /* shortened by the pager */
    ck_assert_uint_eq(m[3].address, PS);
    ck_assert_uint_eq(test_as_stats(fix.as).nregions, 4);
    ck_assert_uint_eq(read_byte(fix.as, AFREE + PS), tp_pattern(PS));
    ck_assert_uint_eq(read_byte(fix.as, PS + 3 * PS), tp_pattern(15 * PS));
    /* All succeeding. */
    spring_mapping_t ok[2] = {
        {.mobj = fix.rw, .length = PS, .address = AFREE + 16 * PS, .access = SPRING_RIGHTS_RO},
        {.mobj = fix.ro, .mobj_offset = PS, .length = PS, .address = SPRING_ANYWHERE, .access = SPRING_RIGHTS_RO},
    };
    ck_assert_rc(spring_as_map_many(fix.as, ok, 2), 0);
    ck_assert_int_eq(ok[0].result, 0);
    ck_assert_int_eq(ok[1].result, 0);
    ck_assert_uint_eq(test_as_stats(fix.as).nregions, 6);
    CHECK_VMM(fix.vmm);
}
END_TEST

START_TEST(test_as_unmap)
{
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
    snap_take(fix.as, &s);
    for (size_t i = 0; i < NELEM(t); i++) {
        CASE_RC(i, spring_as_unmap(t[i].null_as ? NULL : fix.as, t[i].addr, t[i].len), t[i].want);
        snap_check(fix.as, &s, __func__, i);
    }
    /* Unmapped ranges are ignored. */
    ck_assert_rc(spring_as_unmap(fix.as, AFREE, 16 * PS), 0);
    snap_check(fix.as, &s, __func__, 50);
    /* A split that needs memory it cannot have changes nothing. */
    ck_assert_rc(spring__test_inject_alloc_failure(fix.vmm, 1), 0);
    ck_assert_rc(spring_as_unmap(fix.as, A0 + 3 * PS, PS), SPRING_ENOMEM);
    ck_assert_rc(spring__test_inject_alloc_failure(fix.vmm, 0), 0);
    snap_check(fix.as, &s, __func__, 51);
    CHECK_VMM(fix.vmm);
    /* Legal: a hole in the middle splits the region. */
    ck_assert_uint_eq(read_byte(fix.as, A0 + 3 * PS), tp_pattern(3 * PS));
    ck_assert_rc(spring_as_unmap(fix.as, A0 + 3 * PS, PS), 0);
    spring_mapping_t m[4];
    size_t n;
    bool more;
    ck_assert_rc(spring_as_get_mappings(fix.as, A0, 8 * PS, m, 4, &n, &more), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(m[0].address, A0);
    ck_assert_uint_eq(m[0].length, 3 * PS);
    ck_assert_uint_eq(m[1].address, A0 + 4 * PS);
    ck_assert_uint_eq(m[1].length, 4 * PS);
    ck_assert_uint_eq(m[1].mobj_offset, 4 * PS);
    spring_mappings_release(m, n);
    uint8_t v;
    ck_assert_rc(spring_as_read(fix.as, A0 + 3 * PS, &v, 1), SPRING_ENOTMAPPED);
    ck_assert_uint_eq(read_byte(fix.as, A0 + 4 * PS), tp_pattern(4 * PS));
    ck_assert_uint_eq(read_byte(fix.as, A0 + 2 * PS), tp_pattern(2 * PS));
    /* One range over several regions and gaps. */
    ck_assert_rc(spring_as_unmap(fix.as, A0 + PS, A1 + 2 * PS - (A0 + PS)), 0);
    ck_assert_rc(spring_as_get_mappings(fix.as, PS, SPACE_LIMIT - PS, m, 4, &n, &more), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(m[0].address, A0);
    ck_assert_uint_eq(m[0].length, PS);
    ck_assert_uint_eq(m[1].address, A1 + 2 * PS);
    ck_assert_uint_eq(m[1].mobj_offset, 10 * PS);
    spring_mappings_release(m, n);
    ck_assert_uint_eq(test_as_stats(fix.as).mapped, 3 * PS);
    CHECK_VMM(fix.vmm);
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
    snap_take(fix.as, &s);
    for (size_t i = 0; i < NELEM(t); i++) {
        spring_off_t len = t[i].len;
        spring_addr_t addr = t[i].addr;
        spring_mobj_t *m = NULL;
        CASE_RC(i, spring_as_allocate_memory_and_mobj((t[i].flags & F_NULL_AS) ? NULL : fix.as,
                                                      (t[i].flags & F_NULL_LEN) ? NULL : &len,
                                                      (t[i].flags & F_NULL_ADDR) ? NULL : &addr,
                                                      (spring_rights_t)t[i].access,
                                                      (t[i].flags & F_NULL_MOBJ) ? NULL : &m),
                t[i].want);
        ck_assert_ptr_null(m);
        snap_check(fix.as, &s, __func__, i);
    }
    /* Legal: the object can be mapped again, and outlives our reference. */
    spring_off_t len = 4 * PS, mlen;
    spring_addr_t addr = AFREE;
    spring_mobj_t *m = NULL;
    ck_assert_rc(spring_as_allocate_memory_and_mobj(fix.as, &len, &addr, SPRING_RIGHTS_RW, &m), 0);
    ck_assert_ptr_nonnull(m);
    ck_assert_uint_eq(addr, AFREE);
    ck_assert_rc(spring_mobj_get_length(m, &mlen), 0);
    ck_assert_uint_eq(mlen, 4 * PS);
    map_at(fix.as, m, PS, 2 * PS, AFREE + 16 * PS, SPRING_RIGHTS_RO);
    spring_mobj_unref(m);
    write_byte(fix.as, AFREE + PS + 3, 0x66);
    ck_assert_uint_eq(read_byte(fix.as, AFREE + 16 * PS + 3), 0x66);
    ck_assert_uint_eq(read_byte(fix.as, AFREE + 16 * PS + PS), 0);
    spring_mapping_t mp[1];
    size_t n;
    bool more;
    ck_assert_rc(spring_as_get_mappings(fix.as, AFREE, PS, mp, 1, &n, &more), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_ptr_eq(mp[0].mobj, m);
    spring_mappings_release(mp, n);
    CHECK_VMM(fix.vmm);
}
END_TEST

START_TEST(test_as_change_access_rights)
{
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
    write_byte(fix.as, A0 + PS, 1);
    snap_t s;
    snap_take(fix.as, &s);
    for (size_t i = 0; i < NELEM(t); i++) {
        CASE_RC(i, spring_as_change_access_rights(t[i].null_as ? NULL : fix.as, t[i].addr, t[i].len,
                                                  (spring_rights_t)t[i].rights),
                t[i].want);
        snap_check(fix.as, &s, __func__, i);
        write_byte(fix.as, A0 + PS, (uint8_t)i); /* still writable */
    }
    /* Out of memory for the split: nothing changed. */
    ck_assert_rc(spring__test_inject_alloc_failure(fix.vmm, 1), 0);
    ck_assert_rc(spring_as_change_access_rights(fix.as, A0 + 2 * PS, PS, SPRING_RIGHTS_RO), SPRING_ENOMEM);
    ck_assert_rc(spring__test_inject_alloc_failure(fix.vmm, 0), 0);
    snap_check(fix.as, &s, __func__, 100);
    write_byte(fix.as, A0 + 2 * PS, 1);
    CHECK_VMM(fix.vmm);
    /* Legal: a read-only page and a guard page inside the region. */
    ck_assert_rc(spring_as_change_access_rights(fix.as, A0 + 2 * PS, PS, SPRING_RIGHTS_RO), 0);
    ck_assert_rc(spring_as_change_access_rights(fix.as, A0 + 4 * PS, PS, SPRING_RIGHTS_NONE), 0);
    spring_mapping_t m[8];
    size_t n;
    bool more;
    ck_assert_rc(spring_as_get_mappings(fix.as, A0, 8 * PS, m, 8, &n, &more), 0);
    ck_assert_uint_eq(n, 5);
    static const int acc[] = {3, 1, 3, 0, 3};
    for (size_t i = 0; i < n; i++) {
        ck_assert_int_eq(m[i].access, acc[i]);
        ck_assert_int_eq(m[i].max_access, SPRING_RIGHTS_RW);
    }
    spring_mappings_release(m, n);
    uint8_t v;
    ck_assert_rc(spring_as_write(fix.as, A0 + 2 * PS, &v, 1), SPRING_EACCES);
    ck_assert_uint_eq(read_byte(fix.as, A0 + 2 * PS), 1);
    ck_assert_rc(spring_as_read(fix.as, A0 + 4 * PS, &v, 1), SPRING_EACCES);
    write_byte(fix.as, A0 + 3 * PS, 9);
    /* Back to read-write: one run again. */
    ck_assert_rc(spring_as_change_access_rights(fix.as, A0, 8 * PS, SPRING_RIGHTS_RW), 0);
    ck_assert_rc(spring_as_get_mappings(fix.as, A0, 8 * PS, m, 8, &n, &more), 0);
    ck_assert_uint_eq(n, 1);
    spring_mappings_release(m, n);
    write_byte(fix.as, A0 + 4 * PS, 2);
    /* Across two adjacent regions; NONE on a read-only mapping. */
    map_at(fix.as, fix.rw, 8 * PS, 2 * PS, A0 + 8 * PS, SPRING_RIGHTS_RW);
    ck_assert_rc(spring_as_change_access_rights(fix.as, A0 + 6 * PS, 4 * PS, SPRING_RIGHTS_RO), 0);
    ck_assert_rc(spring_as_write(fix.as, A0 + 9 * PS, &v, 1), SPRING_EACCES);
    ck_assert_rc(spring_as_change_access_rights(fix.as, A1, 4 * PS, SPRING_RIGHTS_NONE), 0);
    ck_assert_rc(spring_as_read(fix.as, A1, &v, 1), SPRING_EACCES);
    ck_assert_rc(spring_as_change_access_rights(fix.as, A1, 4 * PS, SPRING_RIGHTS_RO), 0);
    ck_assert_uint_eq(read_byte(fix.as, A1), tp_pattern(8 * PS));
    CHECK_VMM(fix.vmm);
}
END_TEST

START_TEST(test_as_flush)
{
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
    write_byte(fix.as, A0, 0xd1);
    for (size_t i = 0; i < NELEM(t); i++) {
        CASE_RC(i, spring_as_flush(t[i].null_as ? NULL : fix.as, t[i].addr, t[i].len, i & 1), t[i].want);
        ck_assert_uint_eq(tp_count(fix.tp, TP_PAGE_OUT) + tp_count(fix.tp, TP_SYNC), 0);
    }
    ck_assert_rc(spring_as_flush(fix.as, AFREE, 4 * PS, false), 0); /* nothing mapped there */
    size_t page_ins = tp_count(fix.tp, TP_PAGE_IN);
    /* please_keep: sync, the page stays cached. */
    ck_assert_rc(spring_as_flush(fix.as, A0, PS, true), 0);
    ck_assert_uint_eq(tp_count(fix.tp, TP_SYNC), 1);
    ck_assert_uint_eq(tp_store(fix.tp)[0], 0xd1);
    ck_assert_uint_eq(read_byte(fix.as, A0), 0xd1);
    ck_assert_uint_eq(tp_count(fix.tp, TP_PAGE_IN), page_ins);
    /* Without it: page_out, and the page goes. */
    write_byte(fix.as, A0, 0xd2);
    ck_assert_uint_eq(read_byte(fix.as, A0 + 5 * PS), tp_pattern(5 * PS)); /* clean */
    page_ins = tp_count(fix.tp, TP_PAGE_IN);
    ck_assert_rc(spring_as_flush(fix.as, A0, 8 * PS, false), 0);
    ck_assert_uint_eq(tp_count(fix.tp, TP_PAGE_OUT), 1); /* the clean page is just dropped */
    ck_assert_uint_eq(tp_store(fix.tp)[0], 0xd2);
    ck_assert_uint_eq(test_as_stats(fix.as).resident, 0);
    ck_assert_uint_eq(read_byte(fix.as, A0), 0xd2);
    ck_assert_uint_eq(tp_count(fix.tp, TP_PAGE_IN), page_ins + 1);
    /* A pager failure: EPAGER, the page stays cached and modified; a
     * pager without space (a full swap): ENOSPC, likewise. */
    write_byte(fix.as, A0, 0xd3);
    tp_fail(fix.tp, TP_PAGE_OUT, SPRING_ENOSPC, false);
    ck_assert_rc(spring_as_flush(fix.as, A0, PS, false), SPRING_ENOSPC);
    ck_assert_uint_eq(tp_store(fix.tp)[0], 0xd2);
    tp_fail(fix.tp, TP_PAGE_OUT, SPRING_EOVERFLOW, false);
    ck_assert_rc(spring_as_flush(fix.as, A0, PS, false), SPRING_EPAGER);
    ck_assert_uint_eq(tp_store(fix.tp)[0], 0xd2);
    page_ins = tp_count(fix.tp, TP_PAGE_IN);
    ck_assert_uint_eq(read_byte(fix.as, A0), 0xd3);
    ck_assert_uint_eq(tp_count(fix.tp, TP_PAGE_IN), page_ins);
    ck_assert_rc(spring_as_flush(fix.as, A0, PS, false), 0);
    ck_assert_uint_eq(tp_store(fix.tp)[0], 0xd3);
    tp_fail(fix.tp, TP_SYNC, SPRING_EOVERFLOW, false);
    write_byte(fix.as, A0, 0xd4);
    ck_assert_rc(spring_as_flush(fix.as, A0, PS, true), SPRING_EPAGER);
    ck_assert_rc(spring_as_flush(fix.as, A0, PS, true), 0);
    ck_assert_uint_eq(tp_store(fix.tp)[0], 0xd4);
    CHECK_VMM(fix.vmm);
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
        CASE_RC(i, spring_as_get_mappings(t[i].null_as ? NULL : fix.as, t[i].addr, t[i].len, t[i].out, t[i].cap,
                                          t[i].n, t[i].more),
                t[i].want);
    /* Everything. */
    ck_assert_rc(spring_as_get_mappings(fix.as, PS, SPACE_LIMIT - PS, m, 4, &n, &more), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert(!more);
    ck_assert_ptr_eq(m[0].mobj, fix.rw);
    ck_assert_uint_eq(m[0].mobj_offset, 0);
    ck_assert_uint_eq(m[0].length, 8 * PS);
    ck_assert_uint_eq(m[0].address, A0);
    ck_assert_int_eq(m[0].access, SPRING_RIGHTS_RW);
    ck_assert_int_eq(m[0].max_access, SPRING_RIGHTS_RW);
    ck_assert(!m[0].locked);
    ck_assert_ptr_eq(m[1].mobj, fix.ro);
    ck_assert_uint_eq(m[1].mobj_offset, 8 * PS);
    ck_assert_uint_eq(m[1].length, 4 * PS);
    ck_assert_uint_eq(m[1].address, A1);
    ck_assert_int_eq(m[1].access, SPRING_RIGHTS_RO);
    ck_assert_int_eq(m[1].max_access, SPRING_RIGHTS_RO);
    spring_mappings_release(m, n);
    ck_assert_ptr_null(m[0].mobj);
    ck_assert_ptr_null(m[1].mobj);
    /* No room at all, and too little room: more_regions. */
    ck_assert_rc(spring_as_get_mappings(fix.as, PS, SPACE_LIMIT - PS, NULL, 0, &n, &more), 0);
    ck_assert_uint_eq(n, 0);
    ck_assert(more);
    ck_assert_rc(spring_as_get_mappings(fix.as, PS, SPACE_LIMIT - PS, m, 1, &n, &more), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert(more);
    ck_assert_uint_eq(m[0].address, A0);
    spring_mappings_release(m, n);
    /* Exactly enough room. */
    ck_assert_rc(spring_as_get_mappings(fix.as, PS, SPACE_LIMIT - PS, m, 2, &n, &more), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert(!more);
    spring_mappings_release(m, n);
    /* Clipped to the range. */
    ck_assert_rc(spring_as_get_mappings(fix.as, A0 + 2 * PS, 3 * PS, m, 4, &n, &more), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(m[0].address, A0 + 2 * PS);
    ck_assert_uint_eq(m[0].length, 3 * PS);
    ck_assert_uint_eq(m[0].mobj_offset, 2 * PS);
    spring_mappings_release(m, n);
    ck_assert_rc(spring_as_get_mappings(fix.as, A0 + 7 * PS, A1 + PS - (A0 + 7 * PS), m, 4, &n, &more), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(m[0].length, PS);
    ck_assert_uint_eq(m[1].address, A1);
    ck_assert_uint_eq(m[1].length, PS);
    spring_mappings_release(m, n);
    /* Nothing there. */
    ck_assert_rc(spring_as_get_mappings(fix.as, AFREE, PS, NULL, 0, &n, &more), 0);
    ck_assert_uint_eq(n, 0);
    ck_assert(!more);
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
    spring_as_statistics_t st = {.size = sizeof st};
    ck_assert_rc(spring_as_statistics(NULL, &st), SPRING_EINVAL);
    ck_assert_rc(spring_as_statistics(fix.as, NULL), SPRING_EINVAL);
    st = test_as_stats(fix.as);
    ck_assert_uint_eq(st.nregions, 2);
    ck_assert_uint_eq(st.mapped, 12 * PS);
    ck_assert_uint_eq(st.resident, 0);
    ck_assert_uint_eq(st.faults + st.zero_fills + st.page_ins + st.protection_faults + st.unmapped_faults, 0);
    ck_assert_uint_eq(read_byte(fix.as, A0), tp_pattern(0));                /* a page-in */
    spring_off_t len = PS;
    spring_addr_t addr = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_allocate_memory(fix.as, &len, &addr, SPRING_RIGHTS_RW), 0);
    ck_assert_uint_eq(read_byte(fix.as, addr), 0);                   /* a zero fill */
    uint8_t v = 0;
    ck_assert_rc(spring_as_write(fix.as, A1, &v, 1), SPRING_EACCES); /* a protection fault */
    ck_assert_rc(spring_as_read(fix.as, AFREE, &v, 1), SPRING_ENOTMAPPED);
    st = test_as_stats(fix.as);
    ck_assert_uint_eq(st.nregions, 3);
    ck_assert_uint_eq(st.mapped, 13 * PS);
    ck_assert_uint_eq(st.resident, 2);
    ck_assert_uint_eq(st.locked, 0);
    ck_assert_uint_eq(st.faults, 2);
    ck_assert_uint_eq(st.page_ins, 1);
    ck_assert_uint_eq(st.zero_fills, 1);
    ck_assert_uint_eq(st.protection_faults, 1);
    ck_assert_uint_eq(st.unmapped_faults, 1);
}
END_TEST

START_TEST(test_as_set_swap_pager)
{
    cswap_t c1 = {fix.reg, "api", 0, 0, 0, {0}, 0}, c2 = {fix.reg, "api", 0, 0, 0, {0}, 0}, bad = {0};
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
        CASE_RC(i, spring_as_set_swap_pager(t[i].null_as ? NULL : fix.as, t[i].ops, &bad), t[i].want);
    spring_mobj_t *m[4] = {NULL};
    spring_off_t len = PS;
    spring_addr_t addr = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_allocate_memory_and_mobj(fix.as, &len, &addr, SPRING_RIGHTS_RW, &m[0]), 0);
    ck_assert_int_eq(bad.creates, 0); /* none of them was set */
    /* The address space's own swap pager. */
    ck_assert_rc(spring_as_set_swap_pager(fix.as, &cs_ops, &c1), 0);
    len = 2 * PS, addr = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_allocate_memory_and_mobj(fix.as, &len, &addr, SPRING_RIGHTS_RW, &m[1]), 0);
    ck_assert_int_eq(c1.creates, 1);
    write_byte(fix.as, addr + PS, 0x12);
    ck_assert_uint_eq(read_byte(fix.as, addr + PS), 0x12);
    /* Replaced: the old one is kept until the address space goes (a
     * concurrent allocation may still be using it). */
    ck_assert_rc(spring_as_set_swap_pager(fix.as, &cs_ops, &c2), 0);
    ck_assert_int_eq(c1.releases, 0);
    len = PS, addr = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_allocate_memory_and_mobj(fix.as, &len, &addr, SPRING_RIGHTS_RW, &m[2]), 0);
    ck_assert_int_eq(c1.creates, 1);
    ck_assert_int_eq(c2.creates, 1);
    /* The swap pager failing: nothing mapped, no object. */
    c2.rc = SPRING_EPAGER;
    spring_mobj_t *none = NULL;
    size_t nregions = test_as_stats(fix.as).nregions;
    len = PS, addr = SPRING_ANYWHERE;
    ck_assert_int_ne(spring_as_allocate_memory_and_mobj(fix.as, &len, &addr, SPRING_RIGHTS_RW, &none), 0);
    ck_assert_ptr_null(none);
    ck_assert_uint_eq(test_as_stats(fix.as).nregions, nregions);
    c2.rc = 0;
    /* NULL: back to the VMM's swap pagers. */
    ck_assert_rc(spring_as_set_swap_pager(fix.as, NULL, NULL), 0);
    ck_assert_int_eq(c2.releases, 0);
    len = PS, addr = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_allocate_memory_and_mobj(fix.as, &len, &addr, SPRING_RIGHTS_RW, &m[3]), 0);
    ck_assert_int_eq(c2.creates, 2); /* the VMM's in-tree pager served it */
    /* Released with the address space. */
    ck_assert_rc(spring_as_set_swap_pager(fix.as, &cs_ops, &c2), 0);
    spring_as_destroy(fix.as);
    ck_assert_int_eq(c1.releases, 1);
    ck_assert_int_eq(c2.releases, 2);
    ck_assert_int_eq(c1.releases, 1);
    ck_assert_int_eq(bad.releases, 0);
    for (size_t i = 0; i < NELEM(m); i++)
        spring_mobj_unref(m[i]);
    cs_free(&c1);
    cs_free(&c2);
    ck_assert_rc(spring_as_new(fix.vmm, NULL, &fix.as), 0);
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
    ck_assert_rc(spring_as_catch_as_events(NULL, ev_handler, &evr), SPRING_EINVAL);
    memset(&evr, 0, sizeof evr);
    evr.mobj = fix.rw;
    ck_assert_rc(spring_as_catch_as_events(fix.as, ev_handler, &evr), 0);
    /* An unmapped access the handler resolves. */
    ck_assert_uint_eq(read_byte(fix.as, AFREE + 10), tp_pattern(10));
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
    ck_assert_rc(spring_as_write(fix.as, A1 + 5, &v, 1), SPRING_EACCES);
    ck_assert_uint_ge(evr.n, 1);
    ck_assert_int_eq(evr.ev[0].kind, SPRING_AS_EVENT_ACCESS);
    ck_assert_uint_eq(evr.ev[0].address, A1 + 5);
    ck_assert_int_eq(evr.ev[0].access, SPRING_RIGHTS_W);
    /* Protection and unmapping. */
    evr.n = 0;
    ck_assert_rc(spring_as_change_access_rights(fix.as, A0, 2 * PS, SPRING_RIGHTS_RO), 0);
    ck_assert_rc(spring_as_unmap(fix.as, AFREE, PS), 0);
    ck_assert_uint_eq(evr.n, 2);
    ck_assert_int_eq(evr.ev[0].kind, SPRING_AS_EVENT_PROTECT);
    ck_assert_uint_eq(evr.ev[0].address, A0);
    ck_assert_uint_eq(evr.ev[0].length, 2 * PS);
    ck_assert_int_eq(evr.ev[0].access, SPRING_RIGHTS_RO);
    ck_assert_int_eq(evr.ev[1].kind, SPRING_AS_EVENT_UNMAP);
    ck_assert_uint_eq(evr.ev[1].address, AFREE);
    ck_assert_uint_eq(evr.ev[1].length, PS);
    /* Removed: no more events. */
    ck_assert_rc(spring_as_catch_as_events(fix.as, NULL, NULL), 0);
    evr.n = 0;
    ck_assert_rc(spring_as_read(fix.as, AFREE, &v, 1), SPRING_ENOTMAPPED);
    ck_assert_rc(spring_as_unmap(fix.as, A0, PS), 0);
    ck_assert_uint_eq(evr.n, 0);
}
END_TEST

START_TEST(test_as_read_write_fault)
{
    ck_assert_rc(spring_as_change_access_rights(fix.as, A0 + 7 * PS, PS, SPRING_RIGHTS_NONE), 0);
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
    size_t ncalls = tp_ncalls(fix.tp);
    for (size_t i = 0; i < NELEM(t); i++) {
        spring_as_t *as = t[i].null_as ? NULL : fix.as;
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
    ck_assert_uint_le(tp_ncalls(fix.tp), ncalls + 2);
    /* Legal: any alignment and length, across pages. */
    uint8_t big[3 * PS];
    ck_assert_rc(spring_as_read(fix.as, A0 + 100, big, sizeof big), 0);
    for (size_t i = 0; i < sizeof big; i++)
        ck_assert_uint_eq(big[i], tp_pattern(100 + i));
    memset(big, 0xc3, sizeof big);
    ck_assert_rc(spring_as_write(fix.as, A0 + PS - 1, big, 2 * PS + 2), 0);
    ck_assert_uint_eq(read_byte(fix.as, A0 + PS - 2), tp_pattern(PS - 2));
    ck_assert_uint_eq(read_byte(fix.as, A0 + PS - 1), 0xc3);
    ck_assert_uint_eq(read_byte(fix.as, A0 + 3 * PS), 0xc3);
    ck_assert_uint_eq(read_byte(fix.as, A0 + 3 * PS + 1), tp_pattern(3 * PS + 1));
    ck_assert_rc(spring_as_read(fix.as, A0, NULL, 0), 0);
    ck_assert_rc(spring_as_fault(fix.as, A0 + 5 * PS + 77, SPRING_RIGHTS_R), 0);
    ck_assert_rc(spring_as_fault(fix.as, A0 + 5 * PS, SPRING_RIGHTS_W), 0);
    ck_assert_rc(spring_as_fault(fix.as, A1, SPRING_RIGHTS_R), 0);
    spring_mobj_t *rx = tp_mobj(fix.tp, SPRING_RIGHTS_RX);
    map_at(fix.as, rx, 0, PS, AFREE, SPRING_RIGHTS_RX);
    ck_assert_rc(spring_as_fault(fix.as, AFREE + 8, SPRING_RIGHTS_X), 0);
    ck_assert_rc(spring_as_fault(fix.as, AFREE + 8, SPRING_RIGHTS_W), SPRING_EACCES);
    /* A pager failure fails the access (EPAGER); the next one works. */
    tp_fail(fix.tp, TP_PAGE_IN, SPRING_ENOSPC, false);
    uint8_t v;
    ck_assert_rc(spring_as_read(fix.as, A1 + PS, &v, 1), SPRING_EPAGER);
    ck_assert_uint_eq(read_byte(fix.as, A1 + PS), tp_pattern(9 * PS));
    tp_fail(fix.tp, TP_PAGE_IN, SPRING_ENOSPC, false);
    ck_assert_rc(spring_as_fault(fix.as, A0 + 4 * PS, SPRING_RIGHTS_W), SPRING_EPAGER);
    CHECK_VMM(fix.vmm);
    ck_assert_rc(spring_as_unmap(fix.as, AFREE, PS), 0);
    spring_mobj_unref(rx);
}
END_TEST

START_TEST(test_as_translate_pins)
{
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
        CASE_RC(i, spring_as_translate(t[i].null_as ? NULL : fix.as, t[i].addr, (spring_rights_t)t[i].access,
                                       t[i].ptr, t[i].pin),
                t[i].want);
        ck_assert(!spring_pin_valid(&pinsink));
    }
    /* A read pin. */
    ck_assert_rc(spring_as_translate(fix.as, A0 + 10, SPRING_RIGHTS_R, &p, &pin), 0);
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
    ck_assert_rc(spring_as_translate(fix.as, A0 + PS, SPRING_RIGHTS_W, &p, &pin), 0);
    *(uint8_t *)p = 0x7e;
    spring_pin_release(&pin);
    ck_assert_uint_eq(read_byte(fix.as, A0 + PS), 0x7e);
    ck_assert_rc(spring_as_flush(fix.as, A0 + PS, PS, true), 0);
    ck_assert_uint_eq(tp_store(fix.tp)[PS], 0x7e);
    /* unmap neither waits nor revokes. */
    ck_assert_rc(spring_as_translate(fix.as, A0 + 2 * PS, SPRING_RIGHTS_R, &p, &pin), 0);
    ck_assert_rc(spring_as_unmap(fix.as, A0 + 2 * PS, PS), 0);
    ck_assert(spring_pin_valid(&pin));
    ck_assert_uint_eq(*(uint8_t *)p, tp_pattern(2 * PS));
    spring_pin_release(&pin);
    /* delete_range revokes: the pointer stays readable memory until released. */
    ck_assert_rc(spring_as_translate(fix.as, A0 + 3 * PS, SPRING_RIGHTS_R, &p, &pin), 0);
    ck_assert_rc(spring_cache_delete_range(tp_cache(fix.tp), 3 * PS, PS, NULL), 0);
    ck_assert(!spring_pin_valid(&pin));
    ck_assert_uint_eq(*(uint8_t *)p, tp_pattern(3 * PS));
    spring_pin_release(&pin);
    ck_assert(!spring_pin_valid(&pin));
    CHECK_VMM(fix.vmm);
}
END_TEST

void api_as(Suite *s)
{
    TCase *t = tcase_create("as");
    tcase_add_checked_fixture(t, fix_setup, fix_teardown);
    tcase_add_test(t, test_as_map_illegal);
    tcase_add_test(t, test_as_map_legal);
    tcase_add_test(t, test_as_map_many);
    tcase_add_test(t, test_as_unmap);
    tcase_add_test(t, test_as_allocate_memory_and_mobj);
    tcase_add_test(t, test_as_change_access_rights);
    tcase_add_test(t, test_as_flush);
    tcase_add_test(t, test_as_get_mappings);
    tcase_add_test(t, test_as_statistics);
    tcase_add_test(t, test_as_set_swap_pager);
    tcase_add_test(t, test_as_catch_as_events);
    tcase_add_test(t, test_as_read_write_fault);
    tcase_add_test(t, test_as_translate_pins);
    suite_add_tcase(s, t);
    /* The tests that make their own set-up. */
    t = tcase_create("as");
    tcase_add_test(t, test_as_options_new);
    tcase_add_test(t, test_as_map_bind_protocol);
    tcase_add_test(t, test_as_map_enomem);
    tcase_add_test(t, test_as_map_foreign_rights);
    tcase_add_test(t, test_as_allocate_memory);
    tcase_add_test(t, test_as_get_page_size);
    tcase_add_test(t, test_mappings_release);
    tcase_add_test(t, test_as_lock_memory);
    suite_add_tcase(s, t);
}
