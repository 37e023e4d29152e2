/*
 * skeleton.c - the springvm pager plugin "skeleton": every memory object
 * is a file, paged through the store helper (<spring/store.h>), which does
 * the whole pager protocol.  The plugin supplies the file's I/O (first
 * part) and says how to make memory objects from options (second part).
 *
 * Each memory object is a store of its own: two objects of one file have
 * two caches, which are not coherent (a pager that shares one store per
 * file, as the filepager plugin does, keeps them so).
 *
 * Made by `springvm new-pager skeleton`.  `make` builds it, `make test`
 * runs springvm test-pager on it, `make run` runs the stack of
 * skeleton.json (a file of its own mapped and paged through it), and
 * `make install` puts it where springvm finds it by name.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <spring/spring.h>

/* [io] */
/* The I/O: the store is an open file descriptor.  A failure is reported as
 * SPRING_EPAGER (the pager's I/O failed), with the reason for the message. */
static int io_failed(const char *what)
{
    spring_set_last_error("skeleton: %s: %m", what);
    return SPRING_EPAGER;
}

static int f_read(void *store, spring_off_t off, void *buf, size_t len)
{
    return pread(*(int *)store, buf, len, (off_t)off) == (ssize_t)len ? 0 : io_failed("read");
}

static int f_write(void *store, spring_off_t off, const void *buf, size_t len)
{
    static const char zeros[4096]; /* buf NULL means zeros; len is at most a page */
    const char *src = buf;
    for (size_t done = 0, n; done < len; done += n) {
        n = buf ? len - done : len - done < sizeof zeros ? len - done : sizeof zeros;
        if (pwrite(*(int *)store, buf ? src + done : zeros, n, (off_t)(off + done)) != (ssize_t)n)
            return io_failed("write");
    }
    return 0;
}

static int f_get_length(void *store, spring_off_t *len)
{
    struct stat sb;
    if (fstat(*(int *)store, &sb) != 0)
        return io_failed("fstat");
    *len = (spring_off_t)sb.st_size;
    return 0;
}

static int f_set_length(void *store, spring_off_t len)
{
    return ftruncate(*(int *)store, (off_t)len) == 0 ? 0 : io_failed("ftruncate");
}

static int f_sync(void *store)
{
    return fsync(*(int *)store) == 0 ? 0 : io_failed("fsync");
}

static void f_release(void *store)
{
    close(*(int *)store);
    free(store);
}

/* The directory relative paths start from: base_dir, or the current one. */
static int f_opendir(const char *base_dir, int *dir)
{
    *dir = base_dir ? open(base_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : AT_FDCWD;
    if (*dir != -1)
        return 0;
    spring_set_last_error("skeleton: %s: %m", base_dir);
    return SPRING_ENOENT;
}

/* Open the file of an object: a path relative to the directory dir, or a
 * fresh temporary file when path is "". */
static int f_open(int dir, const char *path, uint64_t size, int **fdp)
{
    char tmp[] = "/tmp/skeleton-XXXXXX";
    int fd = path[0] ? openat(dir, path, O_RDWR | O_CREAT | O_CLOEXEC, 0644) : mkstemp(tmp);
    struct stat sb;
    if (fd < 0 || (!path[0] && unlink(tmp) != 0) || fstat(fd, &sb) != 0 ||
        ((uint64_t)sb.st_size < size && ftruncate(fd, (off_t)size) != 0) || !(*fdp = malloc(sizeof **fdp))) {
        int e = errno;
        spring_set_last_error("skeleton: %s: %m", path[0] ? path : "a temporary file");
        if (fd >= 0)
            close(fd);
        return e == ENOENT ? SPRING_ENOENT : e == EACCES || e == EROFS ? SPRING_EPERM : SPRING_EIO;
    }
    **fdp = fd;
    return 0;
}
/* [io] */

/* [plugin] */
/* Everything else: the store helper does bind, final_bind, one cache per
 * VMM, views with fewer rights and the done_with_* bookkeeping. */
static const spring_store_ops_t file_ops = {
    .version = SPRING_STORE_OPS_VERSION,
    .read = f_read, /* required: read, write, get_length */
    .write = f_write,
    .get_length = f_get_length,
    .set_length = f_set_length, /* optional */
    .sync = f_sync,
    .release = f_release,
};

/* An instance: how the helper finds the VMM a bind names, and the
 * directory relative paths start from (the configuration's). */
struct inst {
    spring_store_config_t cfg;
    int dir;
};

static int p_instance_new(const spring_plugin_env_t *env, const spring_options_t *opts, void **instance)
{
    (void)opts; /* this plugin has no instance options */
    struct inst *in = malloc(sizeof *in);
    int rc = in ? f_opendir(env->base_dir, &in->dir) : SPRING_ENOMEM;
    if (rc != 0) {
        free(in);
        return rc;
    }
    spring_store_config_init(&in->cfg);
    in->cfg.registry = env->registry;
    *instance = in;
    return 0;
}

/* A memory object from its options: a store over the file, and a view of
 * it.  The view offers spring.view (a view with fewer rights, sharing the
 * cache: "view" in a configuration). */
static int p_mobj_new(void *instance, const spring_options_t *opts, spring_mobj_t **out)
{
    struct inst *in = instance;
    int *fd, rc = f_open(in->dir, spring_options_string(opts, "path"), spring_options_size(opts, "size"), &fd);
    spring_store_t *st;
    if (rc == 0 && (rc = spring_store_new(&file_ops, fd, &in->cfg, &st)) != 0)
        f_release(fd); /* not taken on failure */
    if (rc != 0)
        return rc;
    rc = spring_store_mobj(st, SPRING_RIGHTS_RW, out);
    spring_store_unref(st); /* the memory object holds the store */
    return rc;
}

static void p_instance_destroy(void *instance)
{
    struct inst *in = instance;
    if (in->dir >= 0)
        close(in->dir);
    free(in);
}

static const spring_plugin_option_t object_options[] = {
    {"path", SPRING_OPT_STRING, "", "the file, relative to the configuration (\"\": a temporary file)", 0, 0},
    {"size", SPRING_OPT_SIZE, "1MiB", "make the file at least this long", 0, 1ull << 40},
};

static const spring_pager_plugin_t pager = {
    .version = SPRING_PAGER_PLUGIN_VERSION,
    .object_options = object_options,
    .nobject_options = sizeof object_options / sizeof object_options[0],
    .instance_new = p_instance_new,
    .mobj_new = p_mobj_new,
    .instance_destroy = p_instance_destroy,
};

static const spring_plugin_t desc = {
    .abi_major = SPRING_PLUGIN_ABI_MAJOR,
    .abi_minor = SPRING_PLUGIN_ABI_MINOR,
    .name = "skeleton",
    .version = "0.1",
    .kind = SPRING_PLUGIN_PAGER,
    .description = "files as memory objects",
    .pager = &pager,
};

SPRING_PLUGIN_EXPORT(desc)
/* [plugin] */
