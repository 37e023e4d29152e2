/* testlib.c - the recording test pager and VMM set-up for the tests. */
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "testlib.h"

const spring_hat_ops_t *test_hat_ops = NULL;

spring_vmm_t *test_vmm(const char *name, size_t nframes, spring_registry_t **reg)
{
    spring_vmm_config_t cfg;
    spring_vmm_config_init(&cfg);
    cfg.name = name;
    cfg.nframes = nframes;
    cfg.mode = SPRING_VMM_DETERMINISTIC;
    cfg.hat = test_hat_ops;
    spring_vmm_t *vmm = NULL;
    if (spring_vmm_new(&cfg, &vmm) != 0)
        abort();
    if (reg) {
        if (spring_registry_new(reg) != 0 || spring_registry_add_vmm(*reg, vmm) != 0)
            abort();
    }
    dirty_pool(vmm);
    return vmm;
}

static spring_vm_info_t vm_info_or_abort(spring_vmm_t *vmm)
{
    spring_vmm_obj_t o;
    spring_vm_info_t info = {.size = sizeof info};
    if (spring_vmm_get_object(vmm, SPRING_PRIV_USER, &o) != 0 || spring_vmm_get_vm_info(o, &info) != 0)
        abort();
    return info;
}

void dirty_pool(spring_vmm_t *vmm)
{
    spring_vm_info_t before = vm_info_or_abort(vmm);
    size_t ps = before.page_size, n = before.free_frames;
    if (n == 0)
        return;
    spring_as_t *as;
    if (spring_as_new(vmm, NULL, &as) != 0)
        abort();
    spring_off_t len = (spring_off_t)(n * ps);
    spring_addr_t a = SPRING_ANYWHERE;
    if (spring_as_allocate_memory(as, &len, &a, SPRING_RIGHTS_RW) != 0)
        abort();
    uint8_t *buf = malloc(ps);
    if (buf == NULL)
        abort();
    /* One zero-filled frame per page, each taken from the free list. */
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < ps; k++)
            buf[k] = (uint8_t)(0xd0 | ((i + k) & 0x0f)); /* never zero */
        if (spring_as_write(as, a + (spring_addr_t)(i * ps), buf, ps) != 0)
            abort();
    }
    free(buf);
    if (vm_info_or_abort(vmm).free_frames != 0)
        abort(); /* some free frame was not dirtied */
    spring_as_destroy(as);
    spring_vm_info_t after = vm_info_or_abort(vmm);
    if (after.free_frames != before.free_frames || after.ncaches != before.ncaches ||
        after.naddress_spaces != before.naddress_spaces)
        abort(); /* the scratch mapping left something behind */
}

void test_vmm_free(spring_vmm_t *vmm, spring_registry_t *reg)
{
    if (reg) {
        spring_registry_remove_vmm(reg, vmm);
        spring_registry_destroy(reg);
    }
    if (spring_vmm_destroy(vmm) != 0)
        abort();
}

/* ------------------------------------------------------------------ */

uint8_t tp_pattern(spring_off_t off)
{
    /* splitmix64's finalizer over (page, offset in page). */
    uint64_t x = ((uint64_t)off / 4096) * 0x9e3779b97f4a7c15ULL + ((uint64_t)off % 4096 + 1) * 0xd1b54a32d192ed03ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    x ^= x >> 31;
    /* Never zero, so that no page of the pattern is sent as all-zero. */
    uint8_t b = (uint8_t)(x >> 24);
    return b ? b : (uint8_t)(1 + ((uint64_t)off / 4096) % 255);
}

bool tp_is_pattern(const uint8_t *p, size_t n, spring_off_t off)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != tp_pattern(off + (spring_off_t)i))
            return false;
    return true;
}

struct tpager {
    pthread_mutex_t lock;
    spring_registry_t *reg;
    char *credential;
    spring_off_t length;
    spring_off_t block_size;
    spring_ownership_t own;
    uint8_t *store;
    bool have_vobj;
    spring_vmm_obj_t vobj;
    bool has_cache;
    spring_cache_obj_t cache;
    spring_cache_rights_t rights;
    tp_call_t *log;
    size_t nlog, caplog;
    int fail_rc[TP_NKINDS];
    bool fail_always[TP_NKINDS];
    tp_hook_fn hook;
    void *hook_arg;
    spring_cache_rights_t bind_override;
    void (*bind_hook)(tpager_t *, void *);
    void *bind_hook_arg;
    bool final_bind_noop;
    spring_ownership_t own_reply;
    unsigned nmobj;
    bool upgrade_overwrites;
    spring_pager_ops_t ops; /* this pager's vtable: tp_pager_ops less the slots tp_set_slots removed */
};

struct tp_mobj {
    tpager_t *tp;
    spring_rights_t max;
};

static const char *kind_names[TP_NKINDS] = {"page_in", "page_out", "write_out", "sync", "zero_fill_range",
                                            "done_with_cache", "done_with_pager_object", "bind", "final_bind"};

const char *tp_kind_name(enum tp_kind kind)
{
    return kind < TP_NKINDS ? kind_names[kind] : "?";
}

/* Record a call; returns the failure to inject (0 = none).  => tp->lock. */
static int record(tpager_t *tp, tp_call_t c)
{
    if (tp->nlog == tp->caplog) {
        tp->caplog = tp->caplog ? tp->caplog * 2 : 64;
        tp->log = realloc(tp->log, tp->caplog * sizeof *tp->log);
        if (tp->log == NULL)
            abort();
    }
    int rc = tp->fail_rc[c.kind];
    if (!tp->fail_always[c.kind])
        tp->fail_rc[c.kind] = 0;
    c.rc = rc;
    tp->log[tp->nlog++] = c;
    return rc;
}

static bool zero_range(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

static int p_page_in(void *self, spring_off_t off, spring_off_t size, spring_rights_t access,
                     spring_ownership_t *own, spring_page_buf_t *dst)
{
    tpager_t *tp = self;
    pthread_mutex_lock(&tp->lock);
    tp_call_t c = {TP_PAGE_IN, off, size, access, *own, dst->upgrade, 0, 0, false, 0};
    int rc = record(tp, c);
    tp_hook_fn hook = tp->hook;
    void *arg = tp->hook_arg;
    pthread_mutex_unlock(&tp->lock);
    if (hook)
        hook(tp, TP_PAGE_IN, off, arg);
    if (rc)
        return rc;
    pthread_mutex_lock(&tp->lock);
    if (!dst->upgrade || tp->upgrade_overwrites) {
        for (size_t i = 0; i < dst->npages; i++) {
            spring_off_t o = off + (spring_off_t)i * dst->page_size;
            if (o + dst->page_size <= tp->length && !zero_range(tp->store + o, dst->page_size))
                memcpy(dst->pages[i], tp->store + o, dst->page_size);
            else
                dst->zero[i] = 1;
        }
    }
    if (tp->own_reply)
        *own = tp->own_reply;
    pthread_mutex_unlock(&tp->lock);
    return 0;
}

static int put_data(tpager_t *tp, enum tp_kind kind, spring_off_t off, spring_off_t size, spring_ownership_t *own,
                    const spring_data_t *d)
{
    pthread_mutex_lock(&tp->lock);
    size_t nz = 0;
    bool ok = d != NULL && d->nblocks == size / 4096;
    for (size_t i = 0; d && i < d->nblocks; i++) {
        if (d->blocks[i].bytes == NULL)
            nz++;
        if (d->blocks[i].offset != off + i * 4096 || d->blocks[i].length != 4096)
            ok = false;
    }
    tp_call_t c = {kind, off, size, 0, *own, false, d ? d->nblocks : 0, nz, ok, 0};
    int rc = record(tp, c);
    tp_hook_fn hook = tp->hook;
    void *arg = tp->hook_arg;
    pthread_mutex_unlock(&tp->lock);
    if (hook)
        hook(tp, kind, off, arg);
    if (rc)
        return rc;
    pthread_mutex_lock(&tp->lock);
    for (size_t i = 0; d && i < d->nblocks; i++) {
        const spring_data_block_t *b = &d->blocks[i];
        if (b->offset + b->length > tp->length)
            continue;
        if (b->bytes)
            memcpy(tp->store + b->offset, b->bytes, b->length);
        else
            memset(tp->store + b->offset, 0, b->length);
    }
    pthread_mutex_unlock(&tp->lock);
    return 0;
}

static int p_page_out(void *self, spring_off_t off, spring_off_t size, spring_ownership_t *own,
                      const spring_data_t *d)
{
    return put_data(self, TP_PAGE_OUT, off, size, own, d);
}

static int p_write_out(void *self, spring_off_t off, spring_off_t size, spring_ownership_t *own,
                       const spring_data_t *d)
{
    return put_data(self, TP_WRITE_OUT, off, size, own, d);
}

static int p_sync(void *self, spring_off_t off, spring_off_t size, spring_ownership_t *own, const spring_data_t *d)
{
    return put_data(self, TP_SYNC, off, size, own, d);
}

static int p_zero_fill_range(void *self, spring_off_t off, spring_off_t size, spring_ownership_t *own)
{
    tpager_t *tp = self;
    pthread_mutex_lock(&tp->lock);
    tp_call_t c = {TP_ZERO_FILL_RANGE, off, size, 0, *own, false, 0, 0, false, 0};
    int rc = record(tp, c);
    if (rc == 0 && off < tp->length)
        memset(tp->store + off, 0, (size_t)(size < tp->length - off ? size : tp->length - off));
    pthread_mutex_unlock(&tp->lock);
    return rc;
}

static void p_done_with_cache(void *self, spring_ownership_t *own)
{
    tpager_t *tp = self;
    pthread_mutex_lock(&tp->lock);
    tp_call_t c = {TP_DONE_WITH_CACHE, 0, 0, 0, *own, false, 0, 0, false, 0};
    (void)record(tp, c);
    pthread_mutex_unlock(&tp->lock);
}

static void p_done_with_pager_object(void *self)
{
    tpager_t *tp = self;
    pthread_mutex_lock(&tp->lock);
    tp_call_t c = {TP_DONE_WITH_POBJ, 0, 0, 0, 0, false, 0, 0, false, 0};
    (void)record(tp, c);
    tp->has_cache = false;
    pthread_mutex_unlock(&tp->lock);
}

static const spring_pager_ops_t tp_pager_ops = {
    .version = SPRING_PAGER_OPS_VERSION,
    .page_in = p_page_in,
    .page_out = p_page_out,
    .write_out = p_write_out,
    .sync = p_sync,
    .zero_fill_range = p_zero_fill_range,
    .done_with_cache = p_done_with_cache,
    .done_with_pager_object = p_done_with_pager_object,
};

/* => tp->lock held. */
static int get_vobj(tpager_t *tp, const char *vmm_name)
{
    if (tp->have_vobj)
        return 0;
    int rc = spring_registry_lookup(tp->reg, vmm_name, tp->credential, &tp->vobj);
    if (rc == 0)
        tp->have_vobj = true;
    return rc;
}

static spring_pager_info_t tp_info(tpager_t *tp)
{
    spring_pager_info_t info = {tp->block_size, SPRING_CACHE_DATA, 0, true};
    return info;
}

static int m_bind(void *self, const char *vmm_name, spring_rights_t access, spring_off_t off, spring_off_t *length,
                  spring_cache_rights_t *rights, spring_off_t *cache_off, long *flags)
{
    struct tp_mobj *m = self;
    tpager_t *tp = m->tp;
    pthread_mutex_lock(&tp->lock);
    tp_call_t c = {TP_BIND, off, *length, access, 0, false, 0, 0, false, 0};
    int rc = record(tp, c);
    if (rc == 0)
        rc = get_vobj(tp, vmm_name);
    if (rc == 0 && !tp->has_cache) {
        spring_pager_info_t info = tp_info(tp);
        rc = spring_vmm_create_cache_object(tp->vobj, &tp->ops, tp, true, &info, tp->own, SPRING_RIGHTS_RWX,
                                            &tp->cache, &tp->rights);
        if (rc == 0)
            tp->has_cache = true;
    }
    spring_cache_rights_t r = {0};
    if (rc == 0)
        rc = spring_cache_rights_create_restricted_sibling(tp->rights, m->max, &r);
    if (rc == 0 && tp->bind_override.h != 0)
        r = tp->bind_override;
    if (rc == 0) {
        if (off >= tp->length)
            rc = SPRING_ERANGE;
        else if (*length > tp->length - off)
            *length = tp->length - off;
    }
    void (*hook)(tpager_t *, void *) = tp->bind_hook;
    void *harg = tp->bind_hook_arg;
    pthread_mutex_unlock(&tp->lock);
    if (rc == 0 && hook)
        hook(tp, harg);
    *rights = r;
    *cache_off = off;
    *flags = 0;
    return rc;
}

static int m_final_bind(void *self, spring_bind_key_t key, const char *vmm_name, spring_rights_t access,
                        spring_off_t off, spring_off_t length, long *flags)
{
    struct tp_mobj *m = self;
    tpager_t *tp = m->tp;
    pthread_mutex_lock(&tp->lock);
    tp_call_t c = {TP_FINAL_BIND, off, length, access, 0, false, 0, 0, false, 0};
    int rc = record(tp, c);
    *flags = 0;
    if (rc || tp->final_bind_noop) {
        pthread_mutex_unlock(&tp->lock);
        return rc;
    }
    rc = get_vobj(tp, vmm_name);
    if (rc == 0 && tp->has_cache) {
        /* §7.5: believe the cache exists; try bind_cache first. */
        spring_cache_rights_t sib;
        rc = spring_cache_rights_create_restricted_sibling(tp->rights, m->max, &sib);
        if (rc == 0) {
            rc = spring_vmm_bind_cache(tp->vobj, key, length, off, sib);
            if (rc)
                spring_cache_rights_release(sib);
        }
        if (rc)
            tp->has_cache = false;
    } else if (rc == 0) {
        rc = SPRING_EBADHANDLE;
    }
    if (rc) {
        spring_pager_info_t info = tp_info(tp);
        rc = spring_vmm_create_cache_object_and_bind(tp->vobj, key, length, off, m->max, &tp->ops, tp, true,
                                                     &info, tp->own, SPRING_RIGHTS_RWX, &tp->cache, &tp->rights);
        if (rc == 0)
            tp->has_cache = true;
    }
    pthread_mutex_unlock(&tp->lock);
    return rc;
}

static int m_get_length(void *self, spring_off_t *len)
{
    *len = ((struct tp_mobj *)self)->tp->length;
    return 0;
}

static void m_release(void *self)
{
    struct tp_mobj *m = self;
    pthread_mutex_lock(&m->tp->lock);
    m->tp->nmobj--;
    pthread_mutex_unlock(&m->tp->lock);
    free(m);
}

static const spring_mobj_ops_t tp_mobj_ops = {
    .version = SPRING_MOBJ_OPS_VERSION,
    .bind = m_bind,
    .final_bind = m_final_bind,
    .get_length = m_get_length,
    .set_length = NULL,
    .release = m_release,
};

tpager_t *tp_new(spring_registry_t *reg, const char *vmm_name, const char *credential, spring_off_t length,
                 spring_off_t block_size, spring_ownership_t own, bool pattern)
{
    (void)vmm_name;
    tpager_t *tp = calloc(1, sizeof *tp);
    if (tp == NULL)
        abort();
    pthread_mutex_init(&tp->lock, NULL);
    tp->reg = reg;
    tp->credential = credential ? strdup(credential) : NULL;
    tp->length = length;
    tp->block_size = block_size;
    tp->own = own;
    tp->ops = tp_pager_ops;
    tp->store = calloc(1, (size_t)length);
    if (tp->store == NULL)
        abort();
    if (pattern)
        for (spring_off_t i = 0; i < length; i++)
            tp->store[i] = tp_pattern(i);
    return tp;
}

void tp_free(tpager_t *tp)
{
    pthread_mutex_lock(&tp->lock);
    bool has = tp->has_cache;
    spring_cache_obj_t c = tp->cache;
    pthread_mutex_unlock(&tp->lock);
    if (has)
        (void)spring_cache_destroy(c);
    free(tp->log);
    free(tp->store);
    free(tp->credential);
    pthread_mutex_destroy(&tp->lock);
    free(tp);
}

spring_mobj_t *tp_mobj(tpager_t *tp, spring_rights_t max)
{
    struct tp_mobj *m = calloc(1, sizeof *m);
    spring_mobj_t *mo;
    if (m == NULL)
        abort();
    m->tp = tp;
    m->max = max;
    if (spring_mobj_new(&tp_mobj_ops, m, &mo) != 0)
        abort();
    pthread_mutex_lock(&tp->lock);
    tp->nmobj++;
    pthread_mutex_unlock(&tp->lock);
    return mo;
}

uint8_t *tp_store(tpager_t *tp)
{
    return tp->store;
}

void tp_lock(tpager_t *tp)
{
    pthread_mutex_lock(&tp->lock);
}

void tp_unlock(tpager_t *tp)
{
    pthread_mutex_unlock(&tp->lock);
}

spring_cache_obj_t tp_cache(tpager_t *tp)
{
    pthread_mutex_lock(&tp->lock);
    spring_cache_obj_t c = tp->has_cache ? tp->cache : (spring_cache_obj_t){0};
    pthread_mutex_unlock(&tp->lock);
    return c;
}

spring_cache_rights_t tp_rights(tpager_t *tp)
{
    pthread_mutex_lock(&tp->lock);
    spring_cache_rights_t r = tp->has_cache ? tp->rights : (spring_cache_rights_t){0};
    pthread_mutex_unlock(&tp->lock);
    return r;
}

size_t tp_ncalls(tpager_t *tp)
{
    pthread_mutex_lock(&tp->lock);
    size_t n = tp->nlog;
    pthread_mutex_unlock(&tp->lock);
    return n;
}

tp_call_t tp_call(tpager_t *tp, size_t i)
{
    pthread_mutex_lock(&tp->lock);
    tp_call_t c = tp->log[i];
    pthread_mutex_unlock(&tp->lock);
    return c;
}

size_t tp_count(tpager_t *tp, enum tp_kind kind)
{
    size_t n = 0;
    pthread_mutex_lock(&tp->lock);
    for (size_t i = 0; i < tp->nlog; i++)
        if (tp->log[i].kind == kind)
            n++;
    pthread_mutex_unlock(&tp->lock);
    return n;
}

void tp_clear(tpager_t *tp)
{
    pthread_mutex_lock(&tp->lock);
    tp->nlog = 0;
    pthread_mutex_unlock(&tp->lock);
}

void tp_fail(tpager_t *tp, enum tp_kind kind, int rc, bool always)
{
    pthread_mutex_lock(&tp->lock);
    tp->fail_rc[kind] = rc;
    tp->fail_always[kind] = always;
    pthread_mutex_unlock(&tp->lock);
}

void tp_set_hook(tpager_t *tp, tp_hook_fn fn, void *arg)
{
    pthread_mutex_lock(&tp->lock);
    tp->hook = fn;
    tp->hook_arg = arg;
    pthread_mutex_unlock(&tp->lock);
}

void tp_set_bind_rights(tpager_t *tp, spring_cache_rights_t r)
{
    pthread_mutex_lock(&tp->lock);
    tp->bind_override = r;
    pthread_mutex_unlock(&tp->lock);
}

void tp_set_bind_hook(tpager_t *tp, void (*fn)(tpager_t *, void *), void *arg)
{
    pthread_mutex_lock(&tp->lock);
    tp->bind_hook = fn;
    tp->bind_hook_arg = arg;
    pthread_mutex_unlock(&tp->lock);
}

void tp_set_final_bind_noop(tpager_t *tp, bool noop)
{
    pthread_mutex_lock(&tp->lock);
    tp->final_bind_noop = noop;
    pthread_mutex_unlock(&tp->lock);
}

void tp_set_own_reply(tpager_t *tp, spring_ownership_t own)
{
    pthread_mutex_lock(&tp->lock);
    tp->own_reply = own;
    pthread_mutex_unlock(&tp->lock);
}

spring_vm_info_t test_vm_info(spring_vmm_t *vmm)
{
    spring_vmm_obj_t o;
    spring_vm_info_t info = {.size = sizeof info};
    ck_assert_rc(spring_vmm_get_object(vmm, SPRING_PRIV_USER, &o), 0);
    ck_assert_rc(spring_vmm_get_vm_info(o, &info), 0);
    return info;
}

spring_as_statistics_t test_as_stats(spring_as_t *as)
{
    spring_as_statistics_t st = {.size = sizeof st};
    ck_assert_rc(spring_as_statistics(as, &st), 0);
    return st;
}

void tp_set_upgrade_overwrites(tpager_t *tp, bool on)
{
    pthread_mutex_lock(&tp->lock);
    tp->upgrade_overwrites = on;
    pthread_mutex_unlock(&tp->lock);
}

void tp_set_slots(tpager_t *tp, unsigned missing)
{
    pthread_mutex_lock(&tp->lock);
    if (tp->has_cache)
        abort(); /* the VMM holds the vtable of the cache made already */
    tp->ops = tp_pager_ops;
    if (missing & TP_NO_WRITE_OUT)
        tp->ops.write_out = NULL;
    if (missing & TP_NO_SYNC)
        tp->ops.sync = NULL;
    if (missing & TP_NO_ZERO_FILL_RANGE)
        tp->ops.zero_fill_range = NULL;
    if (missing & TP_NO_DONE_WITH_CACHE)
        tp->ops.done_with_cache = NULL;
    if (missing & TP_NO_DONE_WITH_POBJ)
        tp->ops.done_with_pager_object = NULL;
    pthread_mutex_unlock(&tp->lock);
}

void fx_setup(fx_t *f, const char *vmm_name, size_t nframes, size_t npages, spring_off_t bs,
              spring_ownership_t own, bool privileged, bool pattern)
{
    memset(f, 0, sizeof *f);
    f->vmm = test_vmm(vmm_name, nframes, &f->reg);
    spring_as_options_t o;
    spring_as_options_init(&o);
    o.privileged = privileged;
    ck_assert_rc(spring_as_new(f->vmm, &o, &f->as), 0);
    f->len = (spring_off_t)npages * 4096;
    f->tp = tp_new(f->reg, vmm_name, NULL, f->len, bs, own, pattern);
    f->m = tp_mobj(f->tp, SPRING_RIGHTS_RW);
}

void fx_map(fx_t *f, spring_rights_t access)
{
    spring_off_t len = f->len;
    f->a = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_map(f->as, f->m, 0, &len, &f->a, access), 0);
    ck_assert_uint_eq(len, f->len);
}

void fx_fini(fx_t *f)
{
    CHECK_VMM(f->vmm);
    spring_as_destroy(f->as);
    spring_mobj_unref(f->m);
    /* Caches the test pager lost track of go now, while it still exists. */
    (void)spring_vmm_reclaim_caches(f->vmm, 0);
    tp_free(f->tp);
    test_vmm_free(f->vmm, f->reg);
}
