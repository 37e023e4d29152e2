/*
 * swap.c - a swap pager over swap files (paper §6.3): the swap plugin.
 *
 * An instance owns one or more swap files, each cut into slots of one page
 * of the VMM's page size.  create_mobj hands out anonymous memory objects
 * (all zero at first), each a store of the library's store helper
 * (store.h), which does bind, final_bind and the caches.  A store keeps a
 * page table from its pages to slots: a page gets a slot on its first
 * write of non-zero data, loses it when it is written as all zero (buf
 * NULL or bytes all zero) and when the object is released; a page without
 * a slot reads as zero.  Freed slots go on a per-file stack and are reused
 * first, so allocation is O(1); slots never used yet are taken from the
 * file's high-water mark.  When every slot of every file is used, a write
 * of a new page fails with SPRING_ENOSPC: the VMM keeps the page resident
 * and modified (pager.h, page_out), so nothing is lost.
 *
 * Each object answers spring_mobj_query() for SPRING_SWAP_INTERFACE
 * (swap.h) with the instance's slot statistics.
 *
 * Every read and write of a swap file passes the failure injection of the
 * options fail_io_after and fail_io_errno first, so that tests can show an
 * I/O error, or a full file system, is reported as the system's would be.
 *
 * Built from the public headers only; exports only its entry symbol.
 *
 * Lifetime: the instance is reference counted: one reference for whoever
 * uses it as a swap pager (dropped by ops->release) and one per object
 * alive (dropped by the store's release), so objects may outlive the VMM's
 * use of the swap pager.  The last reference closes the files and unlinks
 * the ones the instance created when the option remove is set.
 *
 * Locks (order: o->lock, then in->lock):
 *   in->lock  guards every file's slot allocator and the instance counters
 *             ([in] below);
 *   o->lock   guards one object's page table and is held across that
 *             object's file I/O, so reads and writes of one object are
 *             serialized (the helper may call them concurrently).
 * Neither is held across a call into the VMM or the store helper.
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
#include <unistd.h>

#include <spring/spring.h>

/* ------------------------------------------------------------------ */
/* Instances and their files.                                           */

struct sw_file {
    char *path;          /* [c] */
    int fd;              /* [c] */
    bool created;        /* [c] this instance created it (remove unlinks it) */
    uint32_t nslots;     /* [c] */
    uint32_t fresh;      /* [in] slots [fresh, nslots) were never used */
    uint32_t nfree;      /* [in] entries on the free stack */
    uint32_t *free;      /* [in] freed slots, reused first (capacity nslots) */
};

struct sw_instance {
    atomic_uint refs;            /* [a] the user's (ops->release) + one per object */
    spring_registry_t *reg;      /* [c] borrow: outlives the instance's objects' caches */
    char *cred;                  /* [c] the system credential, copied */
    size_t page_size;            /* [c] the VMM's page size: one slot */
    bool remove;                 /* [c] unlink the files it created at the end */
    struct sw_file *files;       /* [c] the array; each file's allocator is [in] */
    size_t nfiles;               /* [c] */
    pthread_mutex_t lock;
    size_t next;                 /* [in] the file the next allocation tries first */
    uint64_t slots_total;        /* [c] */
    uint64_t slots_used;         /* [in] */
    uint64_t refused;            /* [in] writes refused with SPRING_ENOSPC */
    uint32_t objects;            /* [in] objects alive */
    atomic_long io_left;         /* [a] I/O calls until the injected failure; <= 0: none */
    int fail_errno;              /* [c] the errno of the injected failure */
};

/* A slot reference in a page table: 0 = no slot; else the file index + 1
 * in the high 32 bits and the slot in the low 32. */
typedef uint64_t sw_slot_t;
#define SLOT_MAKE(f, s) ((((sw_slot_t)(f) + 1) << 32) | (sw_slot_t)(s))
#define SLOT_FILE(x) ((size_t)((x) >> 32) - 1)
#define SLOT_INDEX(x) ((uint32_t)(x))

static void instance_unref(struct sw_instance *in)
{
    if (atomic_fetch_sub(&in->refs, 1) != 1)
        return;
    for (size_t i = 0; i < in->nfiles; i++) {
        struct sw_file *f = &in->files[i];
        if (f->fd >= 0)
            close(f->fd);
        if (f->created && in->remove)
            (void)unlink(f->path);
        free(f->path);
        free(f->free);
    }
    free(in->files);
    pthread_mutex_destroy(&in->lock);
    free(in->cred);
    free(in);
}

/* Take a free slot: a freed one first, else a never-used one, trying the
 * files round-robin from in->next.  => in->lock held.  Returns 0 or
 * SPRING_ENOSPC. */
static int slot_take(struct sw_instance *in, sw_slot_t *out)
{
    for (size_t k = 0; k < in->nfiles; k++) {
        size_t i = (in->next + k) % in->nfiles;
        struct sw_file *f = &in->files[i];
        uint32_t s;
        if (f->nfree > 0)
            s = f->free[--f->nfree];
        else if (f->fresh < f->nslots)
            s = f->fresh++;
        else
            continue;
        in->next = (i + 1) % in->nfiles;
        in->slots_used++;
        *out = SLOT_MAKE(i, s);
        return 0;
    }
    in->refused++;
    return SPRING_ENOSPC;
}

/* Give a slot back.  => in->lock held. */
static void slot_give(struct sw_instance *in, sw_slot_t x)
{
    struct sw_file *f = &in->files[SLOT_FILE(x)];
    f->free[f->nfree++] = SLOT_INDEX(x);
    in->slots_used--;
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
/* Objects: stores of the helper.                                       */

/* An object's page table: page index -> slot, for the pages that have a
 * slot only (an object may be as long as an address space: the default
 * anonymous object is), in an open-addressing hash table with linear
 * probing, at most half full; O(1) amortized. */
struct sw_pt {
    uint64_t *keys;   /* page indexes */
    sw_slot_t *vals;  /* 0: an empty entry */
    size_t cap;       /* a power of two, or 0 */
    size_t n;         /* entries in use */
};

struct sw_obj {
    struct sw_instance *in;  /* [c] reference */
    spring_off_t length;     /* [c] */
    pthread_mutex_t lock;
    struct sw_pt pt;         /* [lock] */
};

static size_t pt_hash(const struct sw_pt *t, uint64_t key)
{
    return (size_t)((key * 0x9E3779B97F4A7C15ull) >> 17) & (t->cap - 1);
}

/* The entry of page key, or the empty entry where it would go.
 * => t->cap > 0. */
static size_t pt_find(const struct sw_pt *t, uint64_t key)
{
    size_t i = pt_hash(t, key);
    while (t->vals[i] != 0 && t->keys[i] != key)
        i = (i + 1) & (t->cap - 1);
    return i;
}

/* The slot of page key, or 0. */
static sw_slot_t pt_get(const struct sw_pt *t, uint64_t key)
{
    return t->cap == 0 ? 0 : t->vals[pt_find(t, key)];
}

/* Enter page key with slot v (non-zero; the page has none yet). */
static int pt_put(struct sw_pt *t, uint64_t key, sw_slot_t v)
{
    if (2 * (t->n + 1) > t->cap) {
        struct sw_pt g = {.cap = t->cap ? 2 * t->cap : 64};
        if ((g.keys = malloc(g.cap * sizeof *g.keys)) == NULL || (g.vals = calloc(g.cap, sizeof *g.vals)) == NULL) {
            free(g.keys);
            return SPRING_ENOMEM;
        }
        for (size_t i = 0; i < t->cap; i++)
            if (t->vals[i] != 0) {
                size_t j = pt_find(&g, t->keys[i]);
                g.keys[j] = t->keys[i];
                g.vals[j] = t->vals[i];
            }
        g.n = t->n;
        free(t->keys);
        free(t->vals);
        *t = g;
    }
    size_t i = pt_find(t, key);
    t->keys[i] = key;
    t->vals[i] = v;
    t->n++;
    return 0;
}

/* Remove page key (present), shifting back the entries after it. */
static void pt_del(struct sw_pt *t, uint64_t key)
{
    size_t mask = t->cap - 1, i = pt_find(t, key);
    t->vals[i] = 0;
    t->n--;
    for (size_t j = (i + 1) & mask; t->vals[j] != 0; j = (j + 1) & mask) {
        size_t h = pt_hash(t, t->keys[j]);
        /* Move j to the hole at i unless its home h lies cyclically in (i, j]. */
        if (i <= j ? (h <= i || h > j) : (h <= i && h > j)) {
            t->keys[i] = t->keys[j];
            t->vals[i] = t->vals[j];
            t->vals[j] = 0;
            i = j;
        }
    }
}

/* Whether this read or write of a swap file is to fail (fail_io_after:
 * the Nth from the instance's start; 0: never): then errno is set as the
 * failed system call would set it (fail_io_errno), and the error says so. */
static bool injected(struct sw_instance *in, const struct sw_file *f, const char *what, off_t at)
{
    if (atomic_load(&in->io_left) <= 0 || atomic_fetch_sub(&in->io_left, 1) != 1)
        return false;
    int e = in->fail_errno;
    spring_set_last_error("%s: %s at %lld: injected I/O error: %s", f->path, what, (long long)at, strerror(e));
    errno = e;
    return true;
}

static int io_read(struct sw_obj *o, sw_slot_t x, size_t inner, void *buf, size_t n)
{
    struct sw_file *f = &o->in->files[SLOT_FILE(x)];
    off_t at = (off_t)SLOT_INDEX(x) * (off_t)o->in->page_size + (off_t)inner;
    size_t done = 0;
    if (injected(o->in, f, "read", at))
        return io_code(errno);
    while (done < n) {
        ssize_t r = pread(f->fd, (char *)buf + done, n - done, at + (off_t)done);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            spring_set_last_error("%s: read at %lld: %s", f->path, (long long)(at + (off_t)done), strerror(e));
            return io_code(e);
        }
        if (r == 0) { /* the file was cut behind our back: zeros */
            memset((char *)buf + done, 0, n - done);
            break;
        }
        done += (size_t)r;
    }
    return 0;
}

static const char zeros[65536];

/* Write n bytes (buf NULL: zeros) at inner in slot x. */
static int io_write(struct sw_obj *o, sw_slot_t x, size_t inner, const void *buf, size_t n)
{
    struct sw_file *f = &o->in->files[SLOT_FILE(x)];
    off_t at = (off_t)SLOT_INDEX(x) * (off_t)o->in->page_size + (off_t)inner;
    size_t done = 0;
    if (injected(o->in, f, "write", at))
        return io_code(errno);
    while (done < n) {
        size_t want = n - done;
        const void *src = (const char *)buf + done;
        if (buf == NULL) {
            src = zeros;
            if (want > sizeof zeros)
                want = sizeof zeros;
        }
        ssize_t r = pwrite(f->fd, src, want, at + (off_t)done);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            spring_set_last_error("%s: write at %lld: %s", f->path, (long long)(at + (off_t)done), strerror(e));
            return io_code(e);
        }
        done += (size_t)r;
    }
    return 0;
}

static bool all_zero(const void *buf, size_t n)
{
    const unsigned char *b = buf;
    return n == 0 || (b[0] == 0 && memcmp(b, b + 1, n - 1) == 0);
}

static int pieces(struct sw_obj *o, spring_off_t offset, void *rbuf, const void *wbuf, size_t length, bool write);

static int s_read(void *store, spring_off_t offset, void *buf, size_t length)
{
    return pieces(store, offset, buf, NULL, length, false);
}

/* Write part of page p.  => o->lock held. */
static int write_piece(struct sw_obj *o, uint64_t p, size_t inner, const void *buf, size_t n)
{
    struct sw_instance *in = o->in;
    bool whole = inner == 0 && n == in->page_size;
    bool zero = buf == NULL || all_zero(buf, n);
    sw_slot_t x = pt_get(&o->pt, p);
    if (zero) {
        if (x == 0)
            return 0; /* already reads zero */
        if (!whole)
            return io_write(o, x, inner, NULL, n);
        pt_del(&o->pt, p);
        pthread_mutex_lock(&in->lock);
        slot_give(in, x);
        pthread_mutex_unlock(&in->lock);
        return 0;
    }
    if (x != 0)
        return io_write(o, x, inner, buf, n);
    pthread_mutex_lock(&in->lock);
    int rc = slot_take(in, &x);
    uint64_t total = in->slots_total;
    pthread_mutex_unlock(&in->lock);
    if (rc) {
        spring_set_last_error("swap full: all %llu slots of %zu swap file%s are used", (unsigned long long)total,
                              in->nfiles, in->nfiles == 1 ? "" : "s");
        return rc;
    }
    /* A slot may hold a page of before: zero what this write leaves. */
    if (inner > 0)
        rc = io_write(o, x, 0, NULL, inner);
    if (rc == 0)
        rc = io_write(o, x, inner, buf, n);
    if (rc == 0 && inner + n < in->page_size)
        rc = io_write(o, x, inner + n, NULL, in->page_size - inner - n);
    if (rc == 0)
        rc = pt_put(&o->pt, p, x);
    if (rc != 0) {
        pthread_mutex_lock(&in->lock);
        slot_give(in, x);
        pthread_mutex_unlock(&in->lock);
    }
    return rc;
}

/* Read or write [offset, offset+length) page by page (a page without a
 * slot reads zero; wbuf NULL writes zeros). */
static int pieces(struct sw_obj *o, spring_off_t offset, void *rbuf, const void *wbuf, size_t length, bool write)
{
    size_t ps = o->in->page_size;
    int rc = 0;
    pthread_mutex_lock(&o->lock);
    for (size_t done = 0; done < length && rc == 0;) {
        spring_off_t at = offset + (spring_off_t)done;
        uint64_t p = (uint64_t)(at / (spring_off_t)ps);
        size_t inner = (size_t)(at % (spring_off_t)ps);
        size_t n = ps - inner < length - done ? ps - inner : length - done;
        sw_slot_t x;
        if (write)
            rc = write_piece(o, p, inner, wbuf ? (const char *)wbuf + done : NULL, n);
        else if ((x = pt_get(&o->pt, p)) == 0)
            memset((char *)rbuf + done, 0, n);
        else
            rc = io_read(o, x, inner, (char *)rbuf + done, n);
        done += n;
    }
    pthread_mutex_unlock(&o->lock);
    return rc;
}

static int s_write(void *store, spring_off_t offset, const void *buf, size_t length)
{
    return pieces(store, offset, NULL, buf, length, true);
}

static int s_discard(void *store, spring_off_t offset, spring_off_t length)
{
    struct sw_obj *o = store;
    struct sw_instance *in = o->in;
    uint64_t ps = in->page_size, lo = (uint64_t)offset, hi = (uint64_t)(offset + length);
    uint64_t first = (lo + ps - 1) / ps, end = hi / ps; /* the whole pages */
    int rc = 0;
    pthread_mutex_lock(&o->lock);
    /* Parts of pages at the ends are written zero (the VMM's ranges are
     * page aligned: only for a caller of the store's own). */
    uint64_t head_end = (lo / ps + 1) * ps < hi ? (lo / ps + 1) * ps : hi;
    if (lo % ps != 0)
        rc = write_piece(o, lo / ps, (size_t)(lo % ps), NULL, (size_t)(head_end - lo));
    if (rc == 0 && hi % ps != 0 && hi / ps >= first)
        rc = write_piece(o, hi / ps, 0, NULL, (size_t)(hi % ps));
    pthread_mutex_lock(&in->lock);
    if (end > first && end - first <= o->pt.n) {
        for (uint64_t p = first; p < end; p++) {
            sw_slot_t x = pt_get(&o->pt, p);
            if (x != 0) {
                pt_del(&o->pt, p);
                slot_give(in, x);
            }
        }
    } else if (end > first) {
        for (size_t i = 0; i < o->pt.cap;) {
            /* pt_del may move a later entry into i: look at i again */
            if (o->pt.vals[i] != 0 && o->pt.keys[i] >= first && o->pt.keys[i] < end) {
                sw_slot_t x = o->pt.vals[i];
                pt_del(&o->pt, o->pt.keys[i]);
                slot_give(in, x);
            } else {
                i++;
            }
        }
    }
    pthread_mutex_unlock(&in->lock);
    pthread_mutex_unlock(&o->lock);
    return rc;
}

static int s_get_length(void *store, spring_off_t *length)
{
    *length = ((struct sw_obj *)store)->length;
    return 0;
}

static void s_release(void *store)
{
    struct sw_obj *o = store;
    struct sw_instance *in = o->in;
    pthread_mutex_lock(&in->lock);
    for (size_t i = 0; i < o->pt.cap; i++)
        if (o->pt.vals[i] != 0)
            slot_give(in, o->pt.vals[i]);
    in->objects--;
    pthread_mutex_unlock(&in->lock);
    free(o->pt.keys);
    free(o->pt.vals);
    pthread_mutex_destroy(&o->lock);
    free(o);
    instance_unref(in);
}

static int x_stats(spring_mobj_t *m, spring_swap_stats_t *out);

static const spring_swap_iface_t swap_iface = {
    .version = SPRING_SWAP_INTERFACE_VERSION,
    .stats = x_stats,
};

static const void *s_query(void *store, const char *name, int version)
{
    (void)store;
    return strcmp(name, SPRING_SWAP_INTERFACE) == 0 && version == SPRING_SWAP_INTERFACE_VERSION ? &swap_iface
                                                                                               : NULL;
}

static const spring_store_ops_t swap_store_ops = {
    .version = SPRING_STORE_OPS_VERSION,
    .read = s_read,
    .write = s_write,
    .get_length = s_get_length,
    .release = s_release,
    .query = s_query,
    .discard = s_discard,
};

static int x_stats(spring_mobj_t *m, spring_swap_stats_t *out)
{
    if (m == NULL || out == NULL || spring_store_ops_of(m) != &swap_store_ops)
        return SPRING_EINVAL;
    struct sw_instance *in = ((struct sw_obj *)spring_store_data(m))->in;
    pthread_mutex_lock(&in->lock);
    *out = (spring_swap_stats_t){
        .slots_total = in->slots_total,
        .slots_used = in->slots_used,
        .slots_free = in->slots_total - in->slots_used,
        .writes_refused_full = in->refused,
        .page_size = in->page_size,
        .files = (uint32_t)in->nfiles,
        .objects = in->objects,
    };
    pthread_mutex_unlock(&in->lock);
    return 0;
}

/* ------------------------------------------------------------------ */
/* The swap-pager vtable.                                               */

static int w_create_mobj(void *self, spring_off_t length, spring_mobj_t **out)
{
    struct sw_instance *in = self;
    if (out == NULL || length <= 0)
        return SPRING_EINVAL;
    struct sw_obj *o = calloc(1, sizeof *o);
    if (o == NULL)
        return SPRING_ENOMEM;
    o->length = length;
    pthread_mutex_init(&o->lock, NULL);
    o->in = in;
    spring_store_config_t cfg;
    spring_store_config_init(&cfg);
    cfg.registry = in->reg;
    cfg.credential = in->cred; /* system privilege for the caches */
    cfg.kind = SPRING_CACHE_ANON;
    atomic_fetch_add(&in->refs, 1);
    pthread_mutex_lock(&in->lock);
    in->objects++;
    pthread_mutex_unlock(&in->lock);
    spring_store_t *st;
    int rc = spring_store_new(&swap_store_ops, o, &cfg, &st);
    if (rc != 0) {
        s_release(o); /* not consumed: undo by hand */
        return rc;
    }
    rc = spring_store_mobj(st, SPRING_RIGHTS_RWX, out);
    spring_store_unref(st); /* the object holds the store (and releases it with the object) */
    return rc;
}

static void w_release(void *self)
{
    instance_unref(self);
}

static const spring_swap_pager_ops_t swap_ops = {
    .version = SPRING_SWAP_PAGER_OPS_VERSION,
    .create_mobj = w_create_mobj,
    .release = w_release,
};

/* ------------------------------------------------------------------ */
/* Instances.                                                           */

static const spring_plugin_option_t instance_options[] = {
    {"files", SPRING_OPT_STRING, NULL,
     "comma-separated paths of the swap files (relative paths: to the configuration's directory)", 0, 0},
    {"size", SPRING_OPT_SIZE, "64MiB", "each swap file's size (created, or truncated, to it); one slot per page",
     0, 0},
    {"remove", SPRING_OPT_BOOL, "true", "unlink the swap files this instance created when it ends", 0, 0},
    {"fail_io_after", SPRING_OPT_INT, "0", "for tests: the Nth read or write of a swap file fails (0: never)", 0,
     INT64_MAX},
    {"fail_io_errno", SPRING_OPT_STRING, "EIO",
     "for tests: the system's error of that failure: EIO, ENOSPC, EDQUOT, EROFS or ENOMEM", 0, 0},
};

/* The errors fail_io_errno may name. */
static const struct {
    const char *name;
    int e;
} fail_errnos[] = {{"EIO", EIO}, {"ENOSPC", ENOSPC}, {"EDQUOT", EDQUOT}, {"EROFS", EROFS}, {"ENOMEM", ENOMEM}};

/* Open one swap file and size it.  On failure spring_last_error() says why. */
static int file_open(struct sw_instance *in, struct sw_file *f, const char *base_dir, const char *name, size_t len,
                     uint64_t size)
{
    char path[PATH_MAX];
    int n = name[0] != '/' && base_dir ? snprintf(path, sizeof path, "%s/%.*s", base_dir, (int)len, name)
                                       : snprintf(path, sizeof path, "%.*s", (int)len, name);
    if (n < 0 || (size_t)n >= sizeof path) {
        spring_set_last_error("swap file %.*s: path too long", (int)len, name);
        return SPRING_EINVAL;
    }
    if ((f->path = strdup(path)) == NULL)
        return SPRING_ENOMEM;
    f->fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    f->created = f->fd >= 0;
    if (f->fd < 0 && errno == EEXIST)
        f->fd = open(path, O_RDWR | O_CLOEXEC);
    if (f->fd < 0) {
        int e = errno;
        spring_set_last_error("swap file %s: %s", path, strerror(e));
        return io_code(e);
    }
    struct stat sb;
    if (fstat(f->fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        spring_set_last_error("swap file %s: not a regular file", path);
        return SPRING_EINVAL;
    }
    for (struct sw_file *g = in->files; g < f; g++) {
        struct stat gb;
        if (fstat(g->fd, &gb) == 0 && gb.st_dev == sb.st_dev && gb.st_ino == sb.st_ino) {
            spring_set_last_error("swap file %s: named twice (also as %s)", path, g->path);
            return SPRING_EINVAL;
        }
    }
    if (ftruncate(f->fd, (off_t)size) != 0) {
        int e = errno;
        spring_set_last_error("swap file %s: setting its size to %llu: %s", path, (unsigned long long)size,
                              strerror(e));
        return io_code(e);
    }
    uint64_t nslots = size / in->page_size;
    f->nslots = nslots > UINT32_MAX ? UINT32_MAX : (uint32_t)nslots;
    if ((f->free = malloc((size_t)f->nslots * sizeof *f->free)) == NULL)
        return SPRING_ENOMEM;
    in->slots_total += f->nslots;
    return 0;
}

static int p_instance_new(const spring_plugin_env_t *env, const spring_options_t *opts, void **swapper)
{
    const char *files = spring_options_string(opts, "files");
    uint64_t size = spring_options_size(opts, "size");
    if (files == NULL || env == NULL || swapper == NULL)
        return SPRING_EINVAL;
    spring_vmm_obj_t vobj;
    spring_vm_info_t vi = {.size = sizeof vi};
    int rc = spring_registry_lookup(env->registry, env->vmm_name, env->credential, &vobj);
    if (rc == 0)
        rc = spring_vmm_get_vm_info(vobj, &vi);
    if (rc != 0) {
        spring_set_last_error("VMM %s: %s", env->vmm_name ? env->vmm_name : "(none)", spring_strerror(rc));
        return rc;
    }
    if (size < vi.page_size) {
        spring_set_last_error("size %llu is less than one page (%zu bytes)", (unsigned long long)size, vi.page_size);
        return SPRING_EINVAL;
    }
    const char *fe = spring_options_string(opts, "fail_io_errno");
    int fail_errno = 0;
    for (size_t i = 0; i < sizeof fail_errnos / sizeof *fail_errnos; i++)
        if (strcmp(fe, fail_errnos[i].name) == 0)
            fail_errno = fail_errnos[i].e;
    if (fail_errno == 0) {
        spring_set_last_error("fail_io_errno: expected EIO, ENOSPC, EDQUOT, EROFS or ENOMEM, found \"%s\"", fe);
        return SPRING_EINVAL;
    }
    /* The list: comma-separated, blanks around a name ignored, none empty. */
    size_t nfiles = 1;
    for (const char *p = files; *p; p++)
        nfiles += *p == ',';
    struct sw_instance *in = calloc(1, sizeof *in);
    if (in == NULL || (in->files = calloc(nfiles, sizeof *in->files)) == NULL ||
        (env->credential && (in->cred = strdup(env->credential)) == NULL)) {
        if (in)
            free(in->files);
        free(in);
        return SPRING_ENOMEM;
    }
    atomic_init(&in->refs, 1);
    atomic_init(&in->io_left, (long)spring_options_int(opts, "fail_io_after"));
    in->fail_errno = fail_errno;
    pthread_mutex_init(&in->lock, NULL);
    in->reg = env->registry;
    in->page_size = vi.page_size;
    in->remove = spring_options_bool(opts, "remove");
    for (size_t i = 0; i < nfiles; i++)
        in->files[i].fd = -1;
    const char *p = files;
    for (size_t i = 0; i < nfiles && rc == 0; i++) {
        const char *end = strchr(p, ',');
        if (end == NULL)
            end = p + strlen(p);
        const char *a = p, *b = end;
        while (a < b && (*a == ' ' || *a == '\t'))
            a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
            b--;
        in->nfiles = i + 1;
        if (a == b) {
            spring_set_last_error("files: entry %zu of \"%s\" is empty", i + 1, files);
            rc = SPRING_EINVAL;
        } else
            rc = file_open(in, &in->files[i], env->base_dir, a, (size_t)(b - a), size);
        p = *end ? end + 1 : end;
    }
    if (rc != 0) {
        in->remove = true; /* a failed start leaves no file it made */
        instance_unref(in);
        return rc;
    }
    *swapper = in;
    return 0;
}

static const spring_swap_plugin_t swap_plugin = {
    .version = SPRING_SWAP_PLUGIN_VERSION,
    .ops = &swap_ops,
    .instance_new = p_instance_new,
};

static const spring_plugin_t desc = {
    .abi_major = SPRING_PLUGIN_ABI_MAJOR,
    .abi_minor = SPRING_PLUGIN_ABI_MINOR,
    .name = "swap",
    .version = SPRING_VERSION_STRING,
    .kind = SPRING_PLUGIN_SWAP,
    .description = "anonymous memory in slots of swap files (paper 6.3); stats through spring.swap (swap.h)",
    .options = instance_options,
    .noptions = sizeof instance_options / sizeof *instance_options,
    .swap = &swap_plugin,
};

SPRING_PLUGIN_EXPORT(desc)
