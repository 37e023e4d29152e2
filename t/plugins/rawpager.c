/*
 * rawpager.c - a pager plugin that speaks the full protocol of pager.h
 * with the required slots only: bind and final_bind on the memory object,
 * page_in and page_out on the pager object; no sync, write_out, release,
 * done_with_* or query.  Each memory object is a buffer of host memory
 * with one cache at the VMM of the instance.  For the tests of springvm
 * test-pager, which must pass it as it is, and must fail it with one of
 * its bugs (the instance option "bug"):
 *   drop             page_out keeps nothing (data lost);
 *   zero_first_byte  page_in marks a page all-zero when its first byte is
 *                    zero (wrong zero flags: data lost on the way in);
 *   ignore_zero_out  page_out ignores the all-zero indication (a page
 *                    written zero comes back with its old bytes);
 *   lose_last_byte   page_out stores every page but its last byte (the
 *                    last byte of each page comes back with its old value);
 *   count_in         page_in delivers the data right but answers the number
 *                    of bytes it delivered, as read(2) would, instead of 0:
 *                    a protocol violation (SPRING_EPROTO), no data lost.
 * Without done_with_pager_object the pager never learns that its cache is
 * gone: it asks (spring_cache_rights_get answers SPRING_EBADHANDLE) before
 * it hands the cache out again.  Without release it frees its buffers when
 * the instance goes (after the VMM).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <spring/spring.h>

enum bug { BUG_NONE, BUG_DROP, BUG_ZERO_FIRST_BYTE, BUG_IGNORE_ZERO_OUT, BUG_LOSE_LAST_BYTE, BUG_COUNT_IN, BUG_N };

struct inst {
    spring_registry_t *reg;
    char *cred;
    enum bug bug;
    pthread_mutex_t lock;
    struct obj *objs; /* [lock] every object made, freed with the instance */
};

struct obj {
    struct inst *in;
    struct obj *next;
    pthread_mutex_t lock;
    uint8_t *bytes;
    spring_off_t length;
    spring_mobj_t *mobj;     /* [c] */
    bool has_cache;          /* [lock] */
    spring_vmm_obj_t vobj;   /* [lock] */
    spring_cache_rights_t rw; /* [lock] while has_cache */
};

static int r_page_in(void *self, spring_off_t offset, spring_off_t size, spring_rights_t access,
                     spring_ownership_t *own, spring_page_buf_t *dst)
{
    (void)size, (void)access, (void)own;
    struct obj *o = self;
    if (dst->upgrade)
        return 0;
    pthread_mutex_lock(&o->lock);
    for (size_t i = 0; i < dst->npages; i++) {
        spring_off_t at = offset + (spring_off_t)(i * dst->page_size);
        if (at >= o->length)
            dst->zero[i] = 1;
        else if (o->in->bug == BUG_ZERO_FIRST_BYTE && o->bytes[at] == 0)
            dst->zero[i] = 1; /* the bug: a page is not zero because its first byte is */
        else
            memcpy(dst->pages[i], o->bytes + at, dst->page_size);
    }
    pthread_mutex_unlock(&o->lock);
    if (o->in->bug == BUG_COUNT_IN)
        return (int)(dst->npages * dst->page_size); /* the bug: a count, where the protocol wants 0 */
    return 0;
}

static int r_page_out(void *self, spring_off_t offset, spring_off_t size, spring_ownership_t *own,
                      const spring_data_t *data)
{
    (void)offset, (void)size, (void)own;
    struct obj *o = self;
    if (o->in->bug == BUG_DROP)
        return 0; /* the bug: says it kept the data, keeps nothing */
    pthread_mutex_lock(&o->lock);
    for (size_t i = 0; i < data->nblocks; i++) {
        const spring_data_block_t *e = &data->blocks[i];
        if (e->offset >= o->length || e->length > o->length - e->offset)
            continue;
        /* the bug lose_last_byte: each page (one entry) short of its last byte */
        size_t n = (size_t)e->length - (o->in->bug == BUG_LOSE_LAST_BYTE && e->length > 0);
        if (e->bytes != NULL)
            memcpy(o->bytes + e->offset, e->bytes, n);
        else if (o->in->bug != BUG_IGNORE_ZERO_OUT) /* the bug: the indication ignored */
            memset(o->bytes + e->offset, 0, n);
    }
    pthread_mutex_unlock(&o->lock);
    return 0;
}

static const spring_pager_ops_t pager_ops = {
    .version = SPRING_PAGER_OPS_VERSION,
    .page_in = r_page_in,
    .page_out = r_page_out,
};

/* The object's cache, if it still exists (the pager is not told when the
 * VMM reclaims it).  => o->lock held. */
static bool cache_alive(struct obj *o)
{
    spring_rights_t r;
    if (o->has_cache && spring_cache_rights_get(o->rw, &r) == SPRING_EBADHANDLE) {
        (void)spring_cache_rights_release(o->rw);
        o->has_cache = false;
    }
    return o->has_cache;
}

static int make_cache(struct obj *o, const char *vmm_name, const spring_bind_key_t *key, spring_off_t off,
                      spring_off_t len, spring_rights_t access)
{
    static const spring_pager_info_t info = {.block_size = 0, .kind = SPRING_CACHE_DATA};
    int rc = o->vobj.h != 0 ? 0 : spring_registry_lookup(o->in->reg, vmm_name, o->in->cred, &o->vobj);
    spring_cache_obj_t cache;
    if (rc == 0 && key == NULL)
        rc = spring_vmm_create_cache_object(o->vobj, &pager_ops, o, true, &info, SPRING_OWN_EXCLUSIVE,
                                            SPRING_RIGHTS_RW, &cache, &o->rw);
    else if (rc == 0)
        rc = spring_vmm_create_cache_object_and_bind(o->vobj, *key, len, off, access, &pager_ops, o, true, &info,
                                                     SPRING_OWN_EXCLUSIVE, SPRING_RIGHTS_RW, &cache, &o->rw);
    o->has_cache = rc == 0;
    return rc;
}

static int r_bind(void *self, const char *vmm_name, spring_rights_t access, spring_off_t off, spring_off_t *length,
                  spring_cache_rights_t *rights, spring_off_t *cache_off, long *flags)
{
    (void)access;
    struct obj *o = self;
    *flags = 0;
    *cache_off = off;
    if (off >= o->length)
        return SPRING_ERANGE;
    if (*length > o->length - off)
        *length = o->length - off;
    pthread_mutex_lock(&o->lock);
    int rc = cache_alive(o) ? 0 : make_cache(o, vmm_name, NULL, 0, 0, 0);
    *rights = o->rw;
    pthread_mutex_unlock(&o->lock);
    return rc;
}

static int r_final_bind(void *self, spring_bind_key_t key, const char *vmm_name, spring_rights_t access,
                        spring_off_t off, spring_off_t length, long *flags)
{
    struct obj *o = self;
    *flags = 0;
    pthread_mutex_lock(&o->lock);
    int rc = SPRING_EBADHANDLE;
    spring_cache_rights_t sib;
    if (cache_alive(o) && spring_cache_rights_create_restricted_sibling(o->rw, SPRING_RIGHTS_RW, &sib) == 0) {
        rc = spring_vmm_bind_cache(o->vobj, key, length, off, sib); /* consumes sib on success */
        if (rc != 0)
            (void)spring_cache_rights_release(sib);
    }
    if (rc == SPRING_EBADHANDLE)
        rc = make_cache(o, vmm_name, &key, off, length, access);
    pthread_mutex_unlock(&o->lock);
    return rc;
}

static const spring_mobj_ops_t mobj_ops = {
    .version = SPRING_MOBJ_OPS_VERSION,
    .bind = r_bind,
    .final_bind = r_final_bind,
};

static int p_instance_new(const spring_plugin_env_t *env, const spring_options_t *opts, void **instance)
{
    static const char *const bugs[BUG_N] = {"none",           "drop",           "zero_first_byte",
                                            "ignore_zero_out", "lose_last_byte", "count_in"};
    const char *b = spring_options_string(opts, "bug");
    int bug = -1;
    for (int i = 0; i < BUG_N; i++)
        if (strcmp(b, bugs[i]) == 0)
            bug = i;
    if (bug < 0) {
        spring_set_last_error("rawpager: bug: expected none, drop, zero_first_byte, ignore_zero_out, lose_last_byte "
                              "or count_in, found %s", b);
        return SPRING_EINVAL;
    }
    struct inst *in = calloc(1, sizeof *in);
    if (in == NULL || (env->credential && (in->cred = strdup(env->credential)) == NULL)) {
        free(in);
        return SPRING_ENOMEM;
    }
    in->reg = env->registry;
    in->bug = (enum bug)bug;
    pthread_mutex_init(&in->lock, NULL);
    *instance = in;
    return 0;
}

static int p_mobj_new(void *instance, const spring_options_t *opts, spring_mobj_t **out)
{
    struct inst *in = instance;
    struct obj *o = calloc(1, sizeof *o);
    if (o == NULL)
        return SPRING_ENOMEM;
    o->in = in;
    o->length = (spring_off_t)spring_options_size(opts, "size");
    if ((o->bytes = malloc((size_t)o->length)) == NULL) {
        free(o);
        return SPRING_ENOMEM;
    }
    for (spring_off_t i = 0; i < o->length; i++)
        o->bytes[i] = (uint8_t)(i * 7 + i / 4096); /* every page different; some start with 0 */
    int rc = spring_mobj_new(&mobj_ops, o, out);
    if (rc != 0) {
        free(o->bytes);
        free(o);
        return rc;
    }
    o->mobj = *out;
    pthread_mutex_init(&o->lock, NULL);
    pthread_mutex_lock(&in->lock);
    o->next = in->objs;
    in->objs = o;
    pthread_mutex_unlock(&in->lock);
    return 0;
}

/* After the VMM: no cache calls its pager objects any more. */
static void p_instance_destroy(void *instance)
{
    struct inst *in = instance;
    for (struct obj *o = in->objs, *next; o != NULL; o = next) {
        next = o->next;
        if (o->has_cache)
            (void)spring_cache_rights_release(o->rw);
        pthread_mutex_destroy(&o->lock);
        free(o->bytes);
        free(o);
    }
    pthread_mutex_destroy(&in->lock);
    free(in->cred);
    free(in);
}

static const spring_plugin_option_t options[] = {
    {"bug", SPRING_OPT_STRING, "none",
     "none, or a bug: drop, zero_first_byte, ignore_zero_out, lose_last_byte, count_in", 0, 0},
};
static const spring_plugin_option_t object_options[] = {
    {"size", SPRING_OPT_SIZE, "1MiB", "the object's length", 4096, 1 << 30},
};

static const spring_pager_plugin_t pager = {
    .version = SPRING_PAGER_PLUGIN_VERSION,
    .object_options = object_options,
    .nobject_options = 1,
    .instance_new = p_instance_new,
    .mobj_new = p_mobj_new,
    .instance_destroy = p_instance_destroy,
};

static const spring_plugin_t desc = {
    .abi_major = SPRING_PLUGIN_ABI_MAJOR,
    .abi_minor = SPRING_PLUGIN_ABI_MINOR,
    .name = "rawpager",
    .version = "1.0",
    .kind = SPRING_PLUGIN_PAGER,
    .description = "the full protocol with the required slots only, over host memory (a test plugin; bug=... "
                   "breaks it)",
    .options = options,
    .noptions = 1,
    .pager = &pager,
};

SPRING_PLUGIN_EXPORT(desc)
