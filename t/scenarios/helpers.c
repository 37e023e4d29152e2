/*
 * helpers.c - the helpers of scen.h that the features of t/check_scenarios
 * share: set-up, the checked fixture, and assertions on memory and on the
 * test pager's call log.
 */
#include "scen.h"

spring_as_t *as_new(spring_vmm_t *vmm, bool privileged, spring_addr_t limit)
{
    spring_as_options_t o;
    spring_as_options_init(&o);
    o.privileged = privileged;
    if (limit)
        o.limit = limit;
    spring_as_t *as = NULL;
    ck_assert_rc(spring_as_new(vmm, &o, &as), 0);
    return as;
}

void fx_init(fx_t *f, size_t nframes, size_t npages, spring_off_t bs, spring_ownership_t own)
{
    fx_setup(f, VMM_NAME, nframes, npages, bs, own, true, true);
}

int put_page(spring_as_t *as, spring_addr_t a, uint8_t v)
{
    uint8_t buf[PS];
    memset(buf, v, sizeof buf);
    return spring_as_write(as, a, buf, sizeof buf);
}

bool mem_is(const uint8_t *p, size_t n, uint8_t v)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != v)
            return false;
    return true;
}

bool mem_is_pat(const uint8_t *p, size_t n, spring_off_t off)
{
    return tp_is_pattern(p, n, off);
}

bool page_is(spring_as_t *as, spring_addr_t a, uint8_t v)
{
    uint8_t buf[PS];
    int rc = spring_as_read(as, a, buf, sizeof buf);
    ck_assert_msg(rc == 0, "read at %#llx: %s", (unsigned long long)a, spring_err_name(rc));
    return mem_is(buf, sizeof buf, v);
}

bool page_is_pat(spring_as_t *as, spring_addr_t a, spring_off_t off)
{
    uint8_t buf[PS];
    int rc = spring_as_read(as, a, buf, sizeof buf);
    ck_assert_msg(rc == 0, "read at %#llx: %s", (unsigned long long)a, spring_err_name(rc));
    return mem_is_pat(buf, sizeof buf, off);
}

uint8_t rd1(spring_as_t *as, spring_addr_t a)
{
    uint8_t v = 0;
    int rc = spring_as_read(as, a, &v, 1);
    ck_assert_msg(rc == 0, "read at %#llx: %s", (unsigned long long)a, spring_err_name(rc));
    return v;
}

void wr1(spring_as_t *as, spring_addr_t a, uint8_t v)
{
    int rc = spring_as_write(as, a, &v, 1);
    ck_assert_msg(rc == 0, "write at %#llx: %s", (unsigned long long)a, spring_err_name(rc));
}

bool store_is(tpager_t *tp, spring_off_t off, size_t n, uint8_t v)
{
    tp_lock(tp);
    bool r = mem_is(tp_store(tp) + off, n, v);
    tp_unlock(tp);
    return r;
}

size_t calls_at(tpager_t *tp, enum tp_kind k, spring_off_t off)
{
    size_t n = 0;
    for (size_t i = 0; i < tp_ncalls(tp); i++) {
        tp_call_t c = tp_call(tp, i);
        if (c.kind == k && c.off <= off && (off < c.off + c.size || (c.size == 0 && off == c.off)))
            n++;
    }
    return n;
}

size_t pages_of(tpager_t *tp, enum tp_kind k)
{
    size_t n = 0;
    for (size_t i = 0; i < tp_ncalls(tp); i++) {
        tp_call_t c = tp_call(tp, i);
        if (c.kind == k) {
            ck_assert_uint_eq(c.data_blocks, c.size / PS); /* one entry per page, covering the range */
            n += c.data_blocks;
        }
    }
    return n;
}

tp_call_t last_of(tpager_t *tp, enum tp_kind k)
{
    for (size_t i = tp_ncalls(tp); i-- > 0;) {
        tp_call_t c = tp_call(tp, i);
        if (c.kind == k)
            return c;
    }
    ck_abort_msg("no %s call recorded", tp_kind_name(k));
    tp_call_t none;
    memset(&none, 0, sizeof none);
    return none;
}

void expect_log(tpager_t *tp, const enum tp_kind *k, size_t n)
{
    size_t got = tp_ncalls(tp);
    for (size_t i = 0; i < got && i < n; i++)
        ck_assert_msg(tp_call(tp, i).kind == k[i], "call %zu is %s, want %s", i, tp_kind_name(tp_call(tp, i).kind),
                      tp_kind_name(k[i]));
    ck_assert_msg(got == n, "%zu pager calls recorded, want %zu (last: %s)", got, n,
                  got ? tp_kind_name(tp_call(tp, got - 1).kind) : "none");
}

size_t mappings(spring_as_t *as, spring_addr_t a, spring_off_t len, spring_mapping_t *out)
{
    spring_mapping_t m[8];
    size_t n = 0;
    bool more = false;
    ck_assert_rc(spring_as_get_mappings(as, a, len, m, 8, &n, &more), 0);
    ck_assert(!more);
    spring_mappings_release(m, n);
    if (out)
        memcpy(out, m, n * sizeof *m);
    return n;
}

bool dblock_is(const spring_data_t *d, size_t i, spring_off_t off, int v)
{
    if (d == NULL || i >= d->nblocks)
        return false;
    const spring_data_block_t *b = &d->blocks[i];
    if (b->offset != off || b->length != PS)
        return false;
    if (v == DZERO)
        return b->bytes == NULL;
    if (b->bytes == NULL)
        return false;
    if (v == DPAT)
        return mem_is_pat(b->bytes, PS, off);
    return mem_is(b->bytes, PS, (uint8_t)v);
}

int populate1(spring_cache_obj_t c, spring_off_t off, spring_rights_t access, int v)
{
    uint8_t buf[PS];
    memset(buf, v < 0 ? 0 : v, sizeof buf);
    spring_data_block_t b = {off, PS, v < 0 ? NULL : buf};
    spring_data_t d = {1, &b};
    return spring_cache_populate(c, off, PS, access, NULL, &d);
}

bool locked_prefix(spring_as_t *as, spring_addr_t a, spring_off_t len, spring_off_t nlocked)
{
    spring_mapping_t m[8];
    size_t n = mappings(as, a, len, m);
    spring_addr_t at = a;
    for (size_t i = 0; i < n; i++) {
        if (m[i].address != at)
            return false;
        for (spring_addr_t p = m[i].address; p < m[i].address + m[i].length; p += PS)
            if (m[i].locked != (p < a + nlocked))
                return false;
        at += m[i].length;
    }
    return at == a + len;
}

fx_t fx;

void fx_setup4(void)
{
    fx_init(&fx, 32, 4, 0, SPRING_OWN_EXCLUSIVE);
}

void fx_setup8(void)
{
    fx_init(&fx, 32, 8, 0, SPRING_OWN_EXCLUSIVE);
}

void fx_teardown(void)
{
    fx_fini(&fx);
}
