/*
 * filepager.c - files as memory objects (paper §8): the filepager plugin.
 *
 * A file is a store of the library's store helper (store.h): pages are
 * read with preadv and written with pwritev, the length is the file's, and
 * set_length is ftruncate.  Two memory objects of one file (the same
 * device and inode) are views of one store, so they share one cache per
 * VMM whatever their rights.  Each object also offers the file interface
 * (file.h): its reads and writes go through a mapping of the file in an
 * address space of the instance's own, on the VMM the instance serves, so
 * they are coherent with every mapping of the file there (the paper's
 * design: the file pager maps the file itself, and no second cache
 * exists).  Coherence with mappings in other VMMs is not provided.
 *
 * Every read, write, truncate and fsync of a file passes the failure
 * injection of the options fail_io_after and fail_io_errno first, so that
 * tests can show an I/O error (or a full file system) is reported as the
 * system's would be and nothing is corrupted.
 *
 * Built from the public headers only; exports only its entry symbol.
 *
 * Locks: in->lock guards the instance's list of files and the own
 * mapping of each file; it is never held across a call into the VMM that
 * can call this pager back (the store's methods take no lock of ours but
 * the I/O counter's atomic).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <spring/spring.h>

/* ------------------------------------------------------------------ */
/* The I/O layer.                                                       */

struct fp_instance;

/* Whether this I/O call is to fail (fail_io_after: the Nth call from the
 * instance's start fails with the errno fail_io_errno names; 0: never). */
static bool io_fails(struct fp_instance *in);

struct fp_instance {
    spring_registry_t *reg;   /* [c] */
    char *cred;               /* [c] copied, or NULL */
    spring_vmm_t *vmm;        /* [c] the VMM served (its own address space lives there) */
    char *base_dir;           /* [c] relative paths are resolved against it, or NULL */
    spring_off_t block_size;  /* [c] */
    bool fsync;               /* [c] sync makes data durable with fdatasync */
    atomic_long io_left;      /* [a] I/O calls until the injected failure; <= 0: none */
    int fail_errno;           /* [c] the errno of the injected failure */
    pthread_mutex_t lock;
    spring_as_t *as;          /* [lock] the instance's own address space, made on first use */
    bool stopped;             /* [lock] the VMM is going: no own address space any more */
    struct fp_file *files;    /* [lock] open files */
};

static bool io_fails(struct fp_instance *in)
{
    if (atomic_load(&in->io_left) <= 0)
        return false;
    return atomic_fetch_sub(&in->io_left, 1) == 1;
}

static int io_code(int e)
{
    switch (e) {
    case ENOENT: return SPRING_ENOENT;
    case EACCES:
    case EPERM:
    case EROFS: return SPRING_EPERM;
    case ENOSPC:
    case EDQUOT: return SPRING_ENOSPC;
    case ENOMEM: return SPRING_ENOMEM;
    default: return SPRING_EIO;
    }
}

/* ------------------------------------------------------------------ */
/* Files.                                                               */

struct fp_file;
static bool injected(struct fp_file *f, const char *what, const spring_off_t *off);

struct fp_file {
    struct fp_instance *in;   /* [c] */
    char *path;               /* [c] */
    int fd;                   /* [c] */
    bool writable;            /* [c] opened read-write */
    dev_t dev;                /* [c] */
    ino_t ino;                /* [c] */
    spring_store_t *st;       /* [c] the store (the file list holds its reference) */
    spring_mobj_t *own;       /* [in->lock] the object the instance maps for the file interface */
    spring_addr_t own_addr;   /* [in->lock] where, or 0 */
    spring_off_t own_len;     /* [in->lock] how much */
    struct fp_file *next;     /* [in->lock] */
};

/* The injected I/O failure (fail_io_after), described for the caller; it
 * sets errno as the failed system call would. */
static bool injected(struct fp_file *f, const char *what, const spring_off_t *off)
{
    if (!io_fails(f->in))
        return false;
    int e = f->in->fail_errno;
    if (off != NULL)
        spring_set_last_error("%s: %s at %lld: injected I/O error: %s", f->path, what, (long long)*off, strerror(e));
    else
        spring_set_last_error("%s: %s: injected I/O error: %s", f->path, what, strerror(e));
    errno = e;
    return true;
}

static int vec_io(struct fp_file *f, bool write, spring_off_t offset, void *const *pages, size_t npages,
                  size_t page_size);

static int s_read_pages(void *store, spring_off_t offset, void *const *pages, size_t npages, size_t page_size)
{
    struct fp_file *f = store;
    if (injected(f, "read", &offset))
        return io_code(errno);
    return vec_io(f, false, offset, pages, npages, page_size);
}

static int s_read(void *store, spring_off_t offset, void *buf, size_t length)
{
    struct fp_file *f = store;
    if (injected(f, "read", &offset))
        return io_code(errno);
    size_t done = 0;
    while (done < length) {
        ssize_t r = pread(f->fd, (char *)buf + done, length - done, (off_t)offset + (off_t)done);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            spring_set_last_error("%s: read at %lld: %s", f->path, (long long)offset, strerror(e));
            return io_code(e);
        }
        if (r == 0) {
            memset((char *)buf + done, 0, length - done);
            break;
        }
        done += (size_t)r;
    }
    return 0;
}

static int write_all(struct fp_file *f, const void *buf, size_t length, spring_off_t offset)
{
    size_t done = 0;
    while (done < length) {
        ssize_t r = pwrite(f->fd, (const char *)buf + done, length - done, (off_t)offset + (off_t)done);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            spring_set_last_error("%s: write at %lld: %s", f->path, (long long)offset, strerror(e));
            return io_code(e);
        }
        done += (size_t)r;
    }
    return 0;
}

static const char zeros[65536];

static int s_write(void *store, spring_off_t offset, const void *buf, size_t length)
{
    struct fp_file *f = store;
    if (injected(f, "write", &offset))
        return io_code(errno);
    if (buf != NULL)
        return write_all(f, buf, length, offset);
    for (size_t done = 0; done < length;) { /* zeros */
        size_t n = length - done < sizeof zeros ? length - done : sizeof zeros;
        int rc = write_all(f, zeros, n, offset + (spring_off_t)done);
        if (rc)
            return rc;
        done += n;
    }
    return 0;
}

/* Whole pages at offset, 64 to a system call: read into the pages (a short
 * read, the file shrank behind our back: the rest reads zero), or written
 * from them (NULL: a zero page; a short write is finished page by page). */
static int vec_io(struct fp_file *f, bool write, spring_off_t offset, void *const *pages, size_t npages,
                  size_t page_size)
{
    struct iovec iov[64];
    size_t done = 0;
    while (done < npages) {
        size_t n = npages - done < 64 ? npages - done : 64;
        for (size_t i = 0; i < n; i++)
            iov[i] = (struct iovec){pages[done + i] ? pages[done + i] : (void *)zeros, page_size};
        off_t at = (off_t)offset + (off_t)(done * page_size);
        ssize_t r = write ? pwritev(f->fd, iov, (int)n, at) : preadv(f->fd, iov, (int)n, at);
        if (r < 0) {
            int e = errno;
            spring_set_last_error("%s: %s at %lld: %s", f->path, write ? "write" : "read", (long long)at,
                                  strerror(e));
            return io_code(e);
        }
        for (size_t i = (size_t)r / page_size; (size_t)r < n * page_size && i < n; i++) {
            size_t have = i == (size_t)r / page_size ? (size_t)r % page_size : 0;
            if (!write) {
                memset((char *)pages[done + i] + have, 0, page_size - have);
                continue;
            }
            int rc = write_all(f, (const char *)iov[i].iov_base + have, page_size - have,
                               (spring_off_t)at + (spring_off_t)(i * page_size + have));
            if (rc)
                return rc;
        }
        done += n;
    }
    return 0;
}

static int s_write_pages(void *store, spring_off_t offset, const void *const *pages, size_t npages, size_t page_size)
{
    struct fp_file *f = store;
    if (injected(f, "write", &offset))
        return io_code(errno);
    return vec_io(f, true, offset, (void *const *)pages, npages, page_size);
}

static int s_get_length(void *store, spring_off_t *length)
{
    struct fp_file *f = store;
    struct stat sb;
    if (fstat(f->fd, &sb) != 0) {
        int e = errno;
        spring_set_last_error("%s: stat: %s", f->path, strerror(e));
        return io_code(e);
    }
    *length = (spring_off_t)sb.st_size;
    return 0;
}

static int s_set_length(void *store, spring_off_t length)
{
    struct fp_file *f = store;
    if (!f->writable) {
        spring_set_last_error("%s: opened read-only", f->path);
        return SPRING_ERIGHTS;
    }
    if (injected(f, "truncate", NULL))
        return io_code(errno);
    if (ftruncate(f->fd, (off_t)length) != 0) {
        int e = errno;
        spring_set_last_error("%s: truncate to %lld: %s", f->path, (long long)length, strerror(e));
        return io_code(e);
    }
    return 0;
}

static int s_sync(void *store)
{
    struct fp_file *f = store;
    if (!f->in->fsync || !f->writable)
        return 0;
    if (injected(f, "fsync", NULL))
        return io_code(errno);
    if (fdatasync(f->fd) != 0) {
        int e = errno;
        spring_set_last_error("%s: fsync: %s", f->path, strerror(e));
        return io_code(e);
    }
    return 0;
}

static void s_release(void *store)
{
    struct fp_file *f = store;
    close(f->fd);
    free(f->path);
    free(f);
}

/* ------------------------------------------------------------------ */
/* The file interface (file.h), through the instance's own mapping.     */

/* The file of a memory object this plugin made, or NULL. */
static struct fp_file *file_of(spring_mobj_t *m);

/* Map (or map again, larger) the file in the instance's own address space
 * so that [0, need) is covered.  => in->lock held (the VMM calls below
 * never call this pager back with it: a map binds, which the helper
 * answers without our lock). */
static int own_map(struct fp_file *f, spring_off_t need)
{
    struct fp_instance *in = f->in;
    if (in->stopped)
        return SPRING_EDESTROYED;
    if (in->as == NULL) {
        int rc = spring_as_new(in->vmm, NULL, &in->as);
        if (rc)
            return rc;
    }
    if (f->own == NULL) {
        int rc = spring_store_mobj(f->st, f->writable ? SPRING_RIGHTS_RW : SPRING_RIGHTS_RO, &f->own);
        if (rc)
            return rc;
    }
    if (f->own_addr != 0 && f->own_len >= need)
        return 0;
    if (f->own_addr != 0) {
        (void)spring_as_unmap(in->as, f->own_addr, f->own_len);
        f->own_addr = 0;
    }
    size_t ps = spring_as_get_page_size(in->as);
    /* The whole file as it is now (a mapping may not pass its end). */
    spring_off_t len, flen;
    int lrc = spring_store_get_length(f->st, &flen);
    if (lrc)
        return lrc;
    len = flen > need ? flen : need;
    len = (len + (spring_off_t)ps - 1) / (spring_off_t)ps * (spring_off_t)ps;
    spring_addr_t a = SPRING_ANYWHERE;
    int rc = spring_as_map(in->as, f->own, 0, &len, &a, f->writable ? SPRING_RIGHTS_RW : SPRING_RIGHTS_RO);
    if (rc)
        return rc;
    f->own_addr = a;
    f->own_len = len;
    return 0;
}

static int f_get_length(spring_mobj_t *m, spring_off_t *length)
{
    if (m == NULL || length == NULL)
        return SPRING_EINVAL;
    return spring_mobj_get_length(m, length);
}

static int f_set_length(spring_mobj_t *m, spring_off_t length)
{
    if (m == NULL)
        return SPRING_EINVAL;
    if (!(spring_store_mobj_rights(m) & SPRING_RIGHTS_W))
        return SPRING_ERIGHTS;
    return spring_mobj_set_length(m, length);
}

static int f_read(spring_mobj_t *m, spring_off_t off, void *buf, size_t length, size_t *done)
{
    struct fp_file *f = file_of(m);
    if (f == NULL || buf == NULL || done == NULL)
        return SPRING_EINVAL;
    *done = 0;
    spring_off_t len;
    int rc = spring_store_get_length(f->st, &len);
    if (rc)
        return rc;
    if (off >= len || length == 0)
        return 0;
    size_t n = (spring_off_t)length > len - off ? (size_t)(len - off) : length;
    pthread_mutex_lock(&f->in->lock);
    rc = own_map(f, off + (spring_off_t)n);
    spring_addr_t a = f->own_addr;
    pthread_mutex_unlock(&f->in->lock);
    if (rc == 0 && (rc = spring_as_read(f->in->as, a + (spring_addr_t)off, buf, n)) == 0)
        *done = n;
    return rc;
}

static int f_write(spring_mobj_t *m, spring_off_t off, const void *buf, size_t length)
{
    struct fp_file *f = file_of(m);
    if (f == NULL || buf == NULL)
        return SPRING_EINVAL;
    if (!f->writable || !(spring_store_mobj_rights(m) & SPRING_RIGHTS_W))
        return SPRING_ERIGHTS; /* a read-only file, or a read-only object of it */
    if (length == 0)
        return 0;
    spring_off_t len;
    int rc = spring_store_get_length(f->st, &len);
    if (rc)
        return rc;
    if (off + (spring_off_t)length > len && (rc = spring_store_set_length(f->st, off + (spring_off_t)length)) != 0)
        return rc;
    pthread_mutex_lock(&f->in->lock);
    rc = own_map(f, off + (spring_off_t)length);
    spring_addr_t a = f->own_addr;
    pthread_mutex_unlock(&f->in->lock);
    if (rc == 0)
        rc = spring_as_write(f->in->as, a + (spring_addr_t)off, buf, length);
    return rc;
}

static int f_sync(spring_mobj_t *m)
{
    struct fp_file *f = file_of(m);
    if (f == NULL)
        return SPRING_EINVAL;
    return spring_store_sync(f->st);
}

static const spring_file_t file_iface = {
    .version = 1,
    .read = f_read,
    .write = f_write,
    .get_length = f_get_length,
    .set_length = f_set_length,
    .sync = f_sync,
};

static const void *s_query(void *store, const char *name, int version)
{
    (void)store;
    return strcmp(name, SPRING_FILE_INTERFACE) == 0 && version == 1 ? &file_iface : NULL;
}

static const spring_store_ops_t file_ops = {
    .version = SPRING_STORE_OPS_VERSION,
    .read = s_read,
    .write = s_write,
    .get_length = s_get_length,
    .read_pages = s_read_pages,
    .write_pages = s_write_pages,
    .set_length = s_set_length,
    .sync = s_sync,
    .release = s_release,
    .query = s_query,
};

static struct fp_file *file_of(spring_mobj_t *m)
{
    return m != NULL && spring_store_ops_of(m) == &file_ops ? spring_store_data(m) : NULL;
}

/* ------------------------------------------------------------------ */
/* The plugin: instances and objects.                                   */

static const spring_plugin_option_t instance_options[] = {
    {"block_size", SPRING_OPT_SIZE, "0", "the caches' block size: 0 for one page, else a power of two", 0,
     (int64_t)1 << 30},
    {"fsync", SPRING_OPT_BOOL, "true", "a sync makes written data durable (fdatasync) before it returns", 0, 0},
    {"fail_io_after", SPRING_OPT_INT, "0",
     "for tests: the Nth read, write, truncate or fsync of a file fails (0: never)", 0, INT64_MAX},
    {"fail_io_errno", SPRING_OPT_STRING, "EIO",
     "for tests: the system's error of that failure: EIO, ENOSPC, EDQUOT, EROFS or ENOMEM", 0, 0},
};

/* The errors fail_io_errno may name. */
static const struct {
    const char *name;
    int e;
} fail_errnos[] = {{"EIO", EIO}, {"ENOSPC", ENOSPC}, {"EDQUOT", EDQUOT}, {"EROFS", EROFS}, {"ENOMEM", ENOMEM}};

static const spring_plugin_option_t object_options[] = {
    {"path", SPRING_OPT_STRING, NULL, "the file (relative paths: to the configuration's directory)", 0, 0},
    {"writable", SPRING_OPT_BOOL, "true", "open the file read-write (else read-only: the object's rights are r)", 0,
     0},
    {"create", SPRING_OPT_BOOL, "false", "create the file if it does not exist", 0, 0},
    {"size", SPRING_OPT_SIZE, "0", "with create: the length of a file this call creates", 0, 0},
};

static int p_instance_new(const spring_plugin_env_t *env, const spring_options_t *opts, void **instance)
{
    struct fp_instance *in = calloc(1, sizeof *in);
    if (in == NULL)
        return SPRING_ENOMEM;
    in->reg = env->registry;
    in->vmm = env->vmm;
    in->block_size = (spring_off_t)spring_options_size(opts, "block_size");
    in->fsync = spring_options_bool(opts, "fsync");
    atomic_init(&in->io_left, (long)spring_options_int(opts, "fail_io_after"));
    const char *fe = spring_options_string(opts, "fail_io_errno");
    for (size_t i = 0; i < sizeof fail_errnos / sizeof *fail_errnos; i++)
        if (strcmp(fe, fail_errnos[i].name) == 0)
            in->fail_errno = fail_errnos[i].e;
    if (in->fail_errno == 0) {
        spring_set_last_error("fail_io_errno: expected EIO, ENOSPC, EDQUOT, EROFS or ENOMEM, found \"%s\"", fe);
        free(in);
        return SPRING_EINVAL;
    }
    if ((env->credential && (in->cred = strdup(env->credential)) == NULL) ||
        (env->base_dir && (in->base_dir = strdup(env->base_dir)) == NULL)) {
        free(in->cred);
        free(in);
        return SPRING_ENOMEM;
    }
    if (in->block_size != 0 && (in->block_size & (in->block_size - 1)) != 0) {
        spring_set_last_error("block_size %lld is not a power of two", (long long)in->block_size);
        free(in->cred);
        free(in->base_dir);
        free(in);
        return SPRING_EINVAL;
    }
    pthread_mutex_init(&in->lock, NULL);
    *instance = in;
    return 0;
}

static int p_mobj_new(void *instance, const spring_options_t *opts, spring_mobj_t **out)
{
    struct fp_instance *in = instance;
    const char *p = spring_options_string(opts, "path");
    bool writable = spring_options_bool(opts, "writable"), create = spring_options_bool(opts, "create");
    char path[PATH_MAX];
    if (p[0] != '/' && in->base_dir)
        snprintf(path, sizeof path, "%s/%s", in->base_dir, p);
    else
        snprintf(path, sizeof path, "%s", p);
    int flags = (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC;
    int fd = open(path, flags | (create ? O_CREAT | O_EXCL : 0), 0644);
    bool created = fd >= 0 && create;
    if (fd < 0 && create && errno == EEXIST)
        fd = open(path, flags);
    if (fd < 0) {
        int e = errno;
        spring_set_last_error("%s: %s", path, strerror(e));
        return io_code(e);
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        spring_set_last_error("%s: not a regular file", path);
        close(fd);
        return SPRING_EINVAL;
    }
    uint64_t size = spring_options_size(opts, "size");
    if (created && size > 0 && ftruncate(fd, (off_t)size) != 0) {
        int e = errno;
        spring_set_last_error("%s: setting its size: %s", path, strerror(e));
        close(fd);
        return io_code(e);
    }
    spring_rights_t max = writable ? SPRING_RIGHTS_RW : SPRING_RIGHTS_RO;
    pthread_mutex_lock(&in->lock);
    /* One store per file: a second object of it is another view. */
    for (struct fp_file *f = in->files; f; f = f->next)
        if (f->dev == sb.st_dev && f->ino == sb.st_ino) {
            close(fd);
            if (writable && !f->writable) {
                pthread_mutex_unlock(&in->lock);
                spring_set_last_error("%s: already open read-only in this instance; open it writable first",
                                      path);
                return SPRING_ERIGHTS;
            }
            int rc = spring_store_mobj(f->st, max, out);
            pthread_mutex_unlock(&in->lock);
            return rc;
        }
    struct fp_file *f = calloc(1, sizeof *f);
    if (f == NULL || (f->path = strdup(path)) == NULL) {
        pthread_mutex_unlock(&in->lock);
        free(f);
        close(fd);
        return SPRING_ENOMEM;
    }
    f->in = in;
    f->fd = fd;
    f->writable = writable;
    f->dev = sb.st_dev;
    f->ino = sb.st_ino;
    spring_store_config_t cfg;
    spring_store_config_init(&cfg);
    cfg.registry = in->reg;
    cfg.credential = in->cred;
    cfg.block_size = in->block_size;
    cfg.kind = SPRING_CACHE_DATA;
    int rc = spring_store_new(&file_ops, f, &cfg, &f->st);
    if (rc == 0 && (rc = spring_store_mobj(f->st, max, out)) != 0)
        spring_store_unref(f->st); /* releases f */
    else if (rc != 0) {
        free(f->path);
        free(f);
        close(fd);
    }
    if (rc == 0) {
        f->next = in->files;
        in->files = f;
    }
    pthread_mutex_unlock(&in->lock);
    return rc;
}

static void p_instance_stop(void *instance)
{
    struct fp_instance *in = instance;
    pthread_mutex_lock(&in->lock);
    in->stopped = true;
    spring_as_t *as = in->as;
    in->as = NULL;
    for (struct fp_file *f = in->files; f; f = f->next)
        f->own_addr = 0;
    pthread_mutex_unlock(&in->lock);
    spring_as_destroy(as);
}

static void p_instance_destroy(void *instance)
{
    struct fp_instance *in = instance;
    pthread_mutex_lock(&in->lock);
    struct fp_file *files = in->files;
    in->files = NULL;
    spring_as_t *as = in->as;
    in->as = NULL;
    pthread_mutex_unlock(&in->lock);
    /* The own mappings go with the address space, then the objects, then
     * the stores (whose release closes the files). */
    spring_as_destroy(as);
    for (struct fp_file *f = files, *n; f; f = n) {
        n = f->next;
        spring_mobj_unref(f->own);
        spring_store_unref(f->st);
    }
    pthread_mutex_destroy(&in->lock);
    free(in->cred);
    free(in->base_dir);
    free(in);
}

static const spring_pager_plugin_t pager = {
    .version = SPRING_PAGER_PLUGIN_VERSION,
    .needs_system = false,
    .object_options = object_options,
    .nobject_options = sizeof object_options / sizeof *object_options,
    .instance_new = p_instance_new,
    .mobj_new = p_mobj_new,
    .instance_destroy = p_instance_destroy,
    .instance_stop = p_instance_stop,
};

static const spring_plugin_t desc = {
    .abi_major = SPRING_PLUGIN_ABI_MAJOR,
    .abi_minor = SPRING_PLUGIN_ABI_MINOR,
    .name = "filepager",
    .version = SPRING_VERSION_STRING,
    .kind = SPRING_PLUGIN_PAGER,
    .description = "files as memory objects (paper 8): read and write coherent with mappings, POSIX lengths",
    .options = instance_options,
    .noptions = sizeof instance_options / sizeof *instance_options,
    .pager = &pager,
};

SPRING_PLUGIN_EXPORT(desc)
