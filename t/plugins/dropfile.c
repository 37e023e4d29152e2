/*
 * dropfile.c - a broken file pager, for the tests of springvm run: its
 * memory objects are files (object option "path"), read through the store
 * helper, but its write says it wrote and writes nothing, so the file
 * never holds what was written through a mapping (and with unlink=true the
 * file is removed once open).  springvm run's check of the files after a
 * sync must catch both.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <spring/spring.h>

static int d_read(void *store, spring_off_t off, void *buf, size_t len)
{
    return pread(*(int *)store, buf, len, (off_t)off) == (ssize_t)len ? 0 : SPRING_EIO;
}

static int d_write(void *store, spring_off_t off, const void *buf, size_t len)
{
    (void)store, (void)off, (void)buf, (void)len;
    return 0; /* the bug */
}

static int d_get_length(void *store, spring_off_t *len)
{
    struct stat sb;
    if (fstat(*(int *)store, &sb) != 0)
        return SPRING_EIO;
    *len = (spring_off_t)sb.st_size;
    return 0;
}

static void d_release(void *store)
{
    close(*(int *)store);
    free(store);
}

static const spring_store_ops_t ops = {
    .version = SPRING_STORE_OPS_VERSION,
    .read = d_read,
    .write = d_write,
    .get_length = d_get_length,
    .release = d_release,
};

struct inst {
    spring_store_config_t cfg;
    char *base;
};

static int p_instance_new(const spring_plugin_env_t *env, const spring_options_t *opts, void **instance)
{
    (void)opts;
    struct inst *in = calloc(1, sizeof *in);
    if (in == NULL)
        return SPRING_ENOMEM;
    spring_store_config_init(&in->cfg);
    in->cfg.registry = env->registry;
    in->base = env->base_dir ? realpath(env->base_dir, NULL) : NULL;
    *instance = in;
    return 0;
}

static int p_mobj_new(void *instance, const spring_options_t *opts, spring_mobj_t **out)
{
    struct inst *in = instance;
    int dir = in->base ? open(in->base, O_RDONLY | O_DIRECTORY) : AT_FDCWD;
    int *fd = malloc(sizeof *fd);
    if (fd == NULL || (*fd = openat(dir, spring_options_string(opts, "path"), O_RDONLY)) < 0) {
        free(fd);
        if (dir >= 0)
            close(dir);
        return SPRING_ENOENT;
    }
    if (spring_options_bool(opts, "unlink")) /* the file goes; the pager keeps it open */
        (void)unlinkat(dir, spring_options_string(opts, "path"), 0);
    if (dir >= 0)
        close(dir);
    spring_store_t *st;
    int rc = spring_store_new(&ops, fd, &in->cfg, &st);
    if (rc != 0) {
        d_release(fd);
        return rc;
    }
    rc = spring_store_mobj(st, SPRING_RIGHTS_RW, out);
    spring_store_unref(st);
    return rc;
}

static void p_instance_destroy(void *instance)
{
    struct inst *in = instance;
    free(in->base);
    free(in);
}

static const spring_plugin_option_t object_options[] = {
    {"path", SPRING_OPT_STRING, NULL, "the file (relative to the configuration)", 0, 0},
    {"unlink", SPRING_OPT_BOOL, "false", "remove the file once it is open", 0, 0},
};

static const spring_pager_plugin_t pager = {
    .version = SPRING_PAGER_PLUGIN_VERSION,
    .object_options = object_options,
    .nobject_options = 2,
    .instance_new = p_instance_new,
    .mobj_new = p_mobj_new,
    .instance_destroy = p_instance_destroy,
};

static const spring_plugin_t desc = {
    .abi_major = SPRING_PLUGIN_ABI_MAJOR,
    .abi_minor = SPRING_PLUGIN_ABI_MINOR,
    .name = "dropfile",
    .version = "1.0",
    .kind = SPRING_PLUGIN_PAGER,
    .description = "files whose writes are lost (a broken pager, for tests)",
    .pager = &pager,
};

SPRING_PLUGIN_EXPORT(desc)
