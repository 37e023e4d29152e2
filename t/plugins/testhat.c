/*
 * testhat.c - a HAT plugin for the loader's tests: the soft HAT's vtable
 * under another name, with an option, a restricted set of page sizes, and
 * an extension that reports the option value it was created with.  Built
 * from the public headers only, exporting only its entry symbol.
 */
#include <string.h>

#include <spring/spring.h>

static spring_hat_ops_t ops;            /* the soft HAT's, renamed (filled on first entry) */
static int (*soft_create)(const spring_hat_env_t *env, void **hat);
static int64_t created_with = -1;       /* the tlb option of the last instance made */

static int th_create(const spring_hat_env_t *env, void **hat)
{
    created_with = env->size >= offsetof(spring_hat_env_t, opts) + sizeof env->opts && env->opts
                       ? spring_options_int(env->opts, "tlb")
                       : -2;
    return soft_create(env, hat);
}

static const void *th_extension(void *hat, const char *name, int version)
{
    (void)hat;
    return strcmp(name, "testhat.created_with") == 0 && version == 1 ? &created_with : NULL;
}

static const spring_plugin_option_t options[] = {
    {"tlb", SPRING_OPT_INT, "64", "entries of the TLB (a test option)", 1, 4096},
};

static spring_plugin_t desc = {
    .abi_major = SPRING_PLUGIN_ABI_MAJOR,
    .abi_minor = SPRING_PLUGIN_ABI_MINOR,
    .name = "testhat",
    .version = "1.0",
    .kind = SPRING_PLUGIN_HAT,
    .description = "the soft HAT under another name (a test plugin)",
    .options = options,
    .noptions = 1,
};

spring_plugin_entry_fn spring_plugin_entry;

const spring_plugin_t *spring_plugin_entry(void)
{
    if (desc.hat == NULL) {
        ops = *spring_hat_soft();
        soft_create = ops.create;
        ops.name = "testhat";
        ops.create = th_create;
        ops.extension = th_extension;
        ops.page_sizes = 4096 | 8192;
        desc.hat = &ops;
    }
    return &desc;
}
