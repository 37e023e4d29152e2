/*
 * mempager.c - a pager plugin over host memory, made with the store
 * helper, for the tests of springvm test-pager: with drop=true its writes
 * are lost (a pager that drops page_out data), which the test must catch.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <spring/spring.h>

struct mem {
    uint8_t *bytes;
    spring_off_t length;
    bool drop;
};

static int m_read(void *store, spring_off_t off, void *buf, size_t len)
{
    struct mem *m = store;
    memcpy(buf, m->bytes + off, len);
    return 0;
}

static int m_write(void *store, spring_off_t off, const void *buf, size_t len)
{
    struct mem *m = store;
    if (m->drop)
        return 0; /* the broken pager: says it wrote, keeps nothing */
    if (buf != NULL)
        memcpy(m->bytes + off, buf, len);
    else
        memset(m->bytes + off, 0, len);
    return 0;
}

static int m_get_length(void *store, spring_off_t *length)
{
    *length = ((struct mem *)store)->length;
    return 0;
}

static void m_release(void *store)
{
    struct mem *m = store;
    free(m->bytes);
    free(m);
}

static const spring_store_ops_t ops = {
    .version = SPRING_STORE_OPS_VERSION,
    .read = m_read,
    .write = m_write,
    .get_length = m_get_length,
    .release = m_release,
};

struct inst {
    spring_registry_t *reg;
    bool drop;
};

static int p_instance_new(const spring_plugin_env_t *env, const spring_options_t *opts, void **instance)
{
    struct inst *in = calloc(1, sizeof *in);
    if (in == NULL)
        return SPRING_ENOMEM;
    in->reg = env->registry;
    in->drop = spring_options_bool(opts, "drop");
    *instance = in;
    return 0;
}

static int p_mobj_new(void *instance, const spring_options_t *opts, spring_mobj_t **out)
{
    struct inst *in = instance;
    struct mem *m = calloc(1, sizeof *m);
    if (m == NULL)
        return SPRING_ENOMEM;
    m->length = (spring_off_t)spring_options_size(opts, "size");
    m->drop = in->drop;
    if ((m->bytes = calloc(1, (size_t)m->length)) == NULL) {
        free(m);
        return SPRING_ENOMEM;
    }
    for (spring_off_t i = 0; i < m->length; i++)
        m->bytes[i] = (uint8_t)(i * 7 + i / 4096); /* every page different */
    spring_store_config_t cfg;
    spring_store_config_init(&cfg);
    cfg.registry = in->reg;
    spring_store_t *st;
    int rc = spring_store_new(&ops, m, &cfg, &st);
    if (rc != 0) {
        m_release(m);
        return rc;
    }
    rc = spring_store_mobj(st, SPRING_RIGHTS_RW, out);
    spring_store_unref(st); /* the object holds the store */
    return rc;
}

static void p_instance_destroy(void *instance)
{
    free(instance);
}

static const spring_plugin_option_t options[] = {
    {"drop", SPRING_OPT_BOOL, "false", "lose every write (a broken pager, for tests)", 0, 0},
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
    .name = "mempager",
    .version = "1.0",
    .kind = SPRING_PLUGIN_PAGER,
    .description = "host memory made a pager by the store helper (a test plugin; drop=true loses writes)",
    .options = options,
    .noptions = 1,
    .pager = &pager,
};

SPRING_PLUGIN_EXPORT(desc)
