/*
 * variant.c - broken plugins for the loader's tests, one per VARIANT_*
 * macro: each is what a careless plugin author might build.
 */
#include <spring/spring.h>

static int p_instance_new(const spring_plugin_env_t *env, const spring_options_t *opts, void **instance)
{
    (void)env;
    (void)opts;
    *instance = NULL;
    return SPRING_ENOSYS;
}

static int p_mobj_new(void *instance, const spring_options_t *opts, spring_mobj_t **out)
{
    (void)instance;
    (void)opts;
    *out = NULL;
    return SPRING_ENOSYS;
}

static void p_instance_destroy(void *instance)
{
    (void)instance;
}

static const spring_pager_plugin_t pager __attribute__((unused)) = {
    .version = SPRING_PAGER_PLUGIN_VERSION,
    .instance_new = p_instance_new,
    .mobj_new = p_mobj_new,
    .instance_destroy = p_instance_destroy,
};

#ifdef VARIANT_BADOPT
static const spring_plugin_option_t options[] = {
    {"blocks", SPRING_OPT_SIZE, "lots", "a default that is not a size", 0, 0},
};
#define NOPTIONS 1
#else
static const spring_plugin_option_t options[] = {
    {"unused", SPRING_OPT_BOOL, "false", "an option", 0, 0},
};
#define NOPTIONS 1
#endif

static const spring_plugin_t desc __attribute__((unused)) = {
#ifdef VARIANT_BADABI
    .abi_major = SPRING_PLUGIN_ABI_MAJOR + 1,
#else
    .abi_major = SPRING_PLUGIN_ABI_MAJOR,
#endif
#ifdef VARIANT_NEWMINOR
    .abi_minor = SPRING_PLUGIN_ABI_MINOR + 1,
#else
    .abi_minor = SPRING_PLUGIN_ABI_MINOR,
#endif
    .name = VARIANT_NAME,
    .version = "0.1",
    .kind = SPRING_PLUGIN_PAGER,
    .description = "a test plugin",
    .options = options,
    .noptions = NOPTIONS,
#ifndef VARIANT_NOPROVISION
    .pager = &pager,
#endif
};

#ifdef VARIANT_NOENTRY
/* The entry under another name: the loader finds no entry symbol. */
const spring_plugin_t *spring_plugin_entry_misspelt(void);
const spring_plugin_t *spring_plugin_entry_misspelt(void)
{
    return &desc;
}
#else
spring_plugin_entry_fn spring_plugin_entry;

const spring_plugin_t *spring_plugin_entry(void)
{
#ifdef VARIANT_NULLENTRY
    return NULL;
#else
    return &desc;
#endif
}
#endif
