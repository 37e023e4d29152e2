/*
 * bench_paging.c - the speed goals of paging, per-page metadata, scaling
 * and region counts, each printed against a baseline measured side by side
 * in the same process (rounds interleaved, medians with their spread):
 *
 *  1. paging throughput (paper §9.9): a sequential read of a file through
 *     an address space, every block paged in by a file pager (preadv into
 *     the frames), against raw pread of the same file with the same block
 *     size into a buffer as large as the frame pool; block sizes 4, 16 and
 *     64 KiB; goal >= 0.8x at 4 KiB, >= 0.95x from 16 KiB.  Plus random
 *     4 KiB reads against pread at the same offsets; goal <= 1.2x the time.
 *  2. a zero-fill fault (spring_as_write of one byte into a fresh page)
 *     against memset of one 4 KiB page of a buffer as large as the pool;
 *     goal <= 2x.  (bench_core compares it with the kernel's own fault.)
 *  3. host memory per resident page: RSS growth minus the frame pool, per
 *     page made resident by zero-fill faults; goal <= 64 bytes (stretch 48).
 *  4. scaling: zero-fill faults and resident reads with 2 threads, each on
 *     its own address space of one VMM, against 1 thread doing the same
 *     total work; goal >= 1.8x.  2 threads on one address space, and the
 *     machine's own scaling of memset / plain loads, are shown for context.
 *  5. regions: nanoseconds per map / lookup / unmap added between 1,000 and
 *     1,000,000 regions, against the kernel's mmap / mincore / munmap added
 *     between 1,000 VMAs and the most vm.max_map_count allows (raised to
 *     262144 for the run if permitted); goal: ours added <= kernel's added.
 *
 * The TLB-hit translation and the kernel-fault comparison are in bench_core.
 * Timing is never a test: goals are reported, nothing fails on them.
 *
 * Usage: bench_paging [-q] [-s SECTIONS] [-b KiB]
 *   -q           small sizes, a few seconds in all
 *   -s SECTIONS  comma-separated subset of: paging,filepager,swap,zerofill,metadata,scaling,regions
 *   -b KiB       paging throughput at one block size only (4, 16 or 64), e.g. to profile it
 * The file for section 1 is created in $TMPDIR (default /tmp) and unlinked
 * at once, so it goes away however the program ends.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <spring/spring.h>

#define PAGE 4096u
#define KiB ((size_t)1024)
#define MiB (KiB * 1024)

#define DIE(call)                                                                          \
    do {                                                                                   \
        int rc_ = (call);                                                                  \
        if (rc_ != 0) {                                                                    \
            fprintf(stderr, "bench_paging: %s: %s\n", #call, spring_err_name(rc_));        \
            exit(1);                                                                       \
        }                                                                                  \
    } while (0)

/* Kept out of line so that a profile shows each side of a comparison. */
#define NOINLINE __attribute__((noinline))

static void die_errno(const char *what)
{
    fprintf(stderr, "bench_paging: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void die_msg(const char *what)
{
    fprintf(stderr, "bench_paging: %s\n", what);
    exit(1);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (p == NULL)
        die_msg("out of memory");
    return p;
}

/* A page-aligned buffer, touched so that no page fault lands in a timing. */
static uint8_t *touched_buffer(size_t bytes)
{
    uint8_t *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (p == MAP_FAILED)
        die_errno("mmap");
    memset(p, 1, bytes);
    return p;
}

/* ------------------------------------------------------------------ */
/* Statistics and output                                                */

struct st {
    double med, lo, hi;
};

static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static struct st summarize(const double *v, int n)
{
    double s[64];
    if (n < 1 || n > 64)
        die_msg("summarize: bad round count");
    memcpy(s, v, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmpd);
    struct st r = {n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2, s[0], s[n - 1]};
    return r;
}

static int nmet, nnotmet;

/* Four significant digits, without an exponent. */
static const char *fmt_num(char *buf, size_t cap, double v)
{
    double m = v < 0 ? -v : v;
    int decimals = m >= 1000 ? 0 : m >= 100 ? 1 : m >= 10 ? 2 : m >= 1 ? 3 : 4;
    snprintf(buf, cap, "%.*f", decimals, v);
    return buf;
}

/* Format a statistic as "median [min, max]". */
static const char *fmt_st(char *buf, size_t cap, struct st s, const char *unit)
{
    char a[24], b[24], c[24];
    if (s.med != s.med) /* NaN: no value */
        snprintf(buf, cap, "%s", "-");
    else if (s.lo == s.med && s.hi == s.med) /* one value, no spread */
        snprintf(buf, cap, "%s%s", fmt_num(a, sizeof a, s.med), unit);
    else
        snprintf(buf, cap, "%s%s [%s, %s]", fmt_num(a, sizeof a, s.med), unit, fmt_num(b, sizeof b, s.lo),
                 fmt_num(c, sizeof c, s.hi));
    return buf;
}

static const struct st NOVAL = {__builtin_nan(""), 0, 0};

static void header(void)
{
    printf("%-40s %-28s %-28s %-26s %s\n", "figure", "springvm", "baseline", "ratio", "goal");
}

static void row(const char *name, struct st s, const char *su, struct st b, const char *bu, struct st r,
                const char *goal, bool met)
{
    char x[96], y[96], z[96];
    printf("%-40s %-28s %-28s %-26s %-20s %s\n", name, fmt_st(x, sizeof x, s, su), fmt_st(y, sizeof y, b, bu),
           fmt_st(z, sizeof z, r, "x"), goal, met ? "met" : "NOT met");
    if (met)
        nmet++;
    else
        nnotmet++;
    fflush(stdout);
}

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("    ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
}

/* The first three fields of /proc/loadavg: other work on the machine
 * makes the figures noisy. */
static const char *loadavg(void)
{
    static char buf[64];
    FILE *f = fopen("/proc/loadavg", "r");
    double a, b, c;
    if (f != NULL && fscanf(f, "%lf %lf %lf", &a, &b, &c) == 3)
        snprintf(buf, sizeof buf, "%.2f %.2f %.2f", a, b, c);
    else
        snprintf(buf, sizeof buf, "?");
    if (f)
        fclose(f);
    return buf;
}

static double section_start;

static void section_end(void)
{
    if (section_start > 0)
        note("(section took %.0f s)", now() - section_start);
    section_start = 0;
}

static void section(const char *title)
{
    section_end();
    printf("\n== %s (load average %s)\n", title, loadavg());
    fflush(stdout);
    section_start = now();
}

/* ------------------------------------------------------------------ */
/* Configuration                                                        */

static struct {
    bool quick;
    int rounds;              /* interleaved rounds per figure (at most) */
    double budget;           /* seconds a paging figure may take before it stops adding rounds */
    size_t file_bytes;       /* section 1 */
    size_t rand_reads;       /* section 1, random reads per round */
    size_t zf_pages;         /* section 2 */
    size_t meta_frames;      /* section 3 */
    size_t scale_pages;      /* section 4, zero-fill pages per thread */
    size_t scale_reads;      /* section 4, reads per thread */
    size_t reg_small, reg_large, reg_ops; /* section 5 */
    size_t only_block;       /* section 1: one block size (bytes), 0 = all */
} C;

static void config(bool quick)
{
    C.quick = quick;
    C.rounds = quick ? 5 : 7;
    C.budget = quick ? 1.0 : 15.0;
    C.file_bytes = quick ? 32 * MiB : 256 * MiB;
    C.rand_reads = quick ? 8192 : 65536;
    C.zf_pages = quick ? 4096 : 32768;
    C.meta_frames = quick ? 32768 : 262144;
    C.scale_pages = quick ? 4096 : 65536;
    C.scale_reads = quick ? 100000 : 2000000;
    C.reg_small = 1000;
    C.reg_large = quick ? 100000 : 1000000;
    C.reg_ops = quick ? 2000 : 10000;
}

static spring_vmm_t *new_vmm(const char *name, size_t nframes)
{
    spring_vmm_config_t cfg;
    spring_vmm_config_init(&cfg);
    cfg.name = name;
    cfg.nframes = nframes;
    cfg.mode = SPRING_VMM_THREADED;
    spring_vmm_t *vmm;
    DIE(spring_vmm_new(&cfg, &vmm));
    return vmm;
}

static spring_vm_info_t vm_info(spring_vmm_t *vmm)
{
    spring_vmm_obj_t o;
    spring_vm_info_t info = {.size = sizeof info};
    DIE(spring_vmm_get_object(vmm, SPRING_PRIV_USER, &o));
    DIE(spring_vmm_get_vm_info(o, &info));
    return info;
}

/* ------------------------------------------------------------------ */
/* A file pager: pread/pwrite on a file descriptor.                     */
/*                                                                      */
/* The memory object is the file; bind finds (or creates) the one cache */
/* it keeps per VMM, looked up by the VMM's name in a registry.  Each   */
/* cache's pager object is a struct fcache.                             */

#define FP_MAXVMM 4

struct fpager;

struct fcache {
    struct fpager *fp;
    bool live;
    char vmm_name[64];
    spring_vmm_obj_t vobj;
    spring_cache_obj_t cache;
    spring_cache_rights_t rights_rw, rights_ro;
};

struct fpager {
    pthread_mutex_t lock;
    spring_registry_t *reg;
    int fd;
    spring_off_t length;
    spring_off_t block_size;
    struct fcache ent[FP_MAXVMM];
    atomic_uint_fast64_t page_in_calls, page_out_calls;
};

static const uint8_t zero_page[PAGE];

/* Read len bytes at off into the iovecs, going on after short reads. */
static int read_full(int fd, struct iovec *iov, int n, off_t off)
{
    while (n > 0) {
        ssize_t got = preadv(fd, iov, n, off);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return SPRING_EPAGER;
        }
        if (got == 0)
            return SPRING_EPAGER; /* the file shrank under us */
        off += got;
        while (n > 0 && (size_t)got >= iov->iov_len) {
            got -= (ssize_t)iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (uint8_t *)iov->iov_base + got;
            iov->iov_len -= (size_t)got;
        }
    }
    return 0;
}

static int write_full(int fd, const void *p, size_t len, off_t off)
{
    const uint8_t *b = p;
    while (len > 0) {
        ssize_t put = pwrite(fd, b, len, off);
        if (put < 0) {
            if (errno == EINTR)
                continue;
            return SPRING_EPAGER;
        }
        b += put;
        len -= (size_t)put;
        off += put;
    }
    return 0;
}

static int fp_page_in(void *self, spring_off_t off, spring_off_t size, spring_rights_t access,
                      spring_ownership_t *own, spring_page_buf_t *dst)
{
    struct fcache *fc = self;
    struct fpager *fp = fc->fp;
    atomic_fetch_add_explicit(&fp->page_in_calls, 1, memory_order_relaxed);
    if (dst->upgrade)
        return 0; /* the frames already hold the file's data */
    struct iovec iov[64];
    size_t i = 0;
    while (i < dst->npages) {
        spring_off_t o = off + (spring_off_t)i * dst->page_size;
        if (o >= fp->length) {
            dst->zero[i++] = 1; /* beyond the end of the file */
            continue;
        }
        int n = 0;
        spring_off_t start = o;
        while (i < dst->npages && n < 64 && o < fp->length) {
            size_t len = fp->length - o < dst->page_size ? (size_t)(fp->length - o) : dst->page_size;
            iov[n].iov_base = dst->pages[i];
            iov[n].iov_len = len;
            if (len < dst->page_size)
                memset((uint8_t *)dst->pages[i] + len, 0, dst->page_size - len);
            n++;
            i++;
            o += dst->page_size;
        }
        int rc = read_full(fp->fd, iov, n, (off_t)start);
        if (rc)
            return rc;
    }
    return 0;
}

static int fp_put(struct fpager *fp, const spring_data_t *d)
{
    atomic_fetch_add_explicit(&fp->page_out_calls, 1, memory_order_relaxed);
    for (size_t i = 0; d != NULL && i < d->nblocks; i++) {
        const spring_data_block_t *b = &d->blocks[i];
        if (b->offset >= fp->length)
            continue;
        spring_off_t len = b->length < fp->length - b->offset ? b->length : fp->length - b->offset;
        if (b->bytes) {
            int rc = write_full(fp->fd, b->bytes, (size_t)len, (off_t)b->offset);
            if (rc)
                return rc;
        } else {
            for (spring_off_t o = 0; o < len; o += PAGE) {
                size_t n = len - o < PAGE ? (size_t)(len - o) : PAGE;
                int rc = write_full(fp->fd, zero_page, n, (off_t)(b->offset + o));
                if (rc)
                    return rc;
            }
        }
    }
    return 0;
}

static int fp_page_out(void *self, spring_off_t off, spring_off_t size, spring_ownership_t *own,
                       const spring_data_t *d)
{
    return fp_put(((struct fcache *)self)->fp, d);
}

static void fp_done_with_pager_object(void *self)
{
    struct fcache *fc = self;
    pthread_mutex_lock(&fc->fp->lock);
    fc->live = false;
    fc->vmm_name[0] = '\0';
    pthread_mutex_unlock(&fc->fp->lock);
}

static const spring_pager_ops_t fp_pager_ops = {
    .version = SPRING_PAGER_OPS_VERSION,
    .page_in = fp_page_in,
    .page_out = fp_page_out,
    .write_out = fp_page_out, /* the VMM keeps a read-only copy; the file gets the data */
    .sync = fp_page_out,
    .done_with_pager_object = fp_done_with_pager_object,
};

static spring_pager_info_t fp_info(const struct fpager *fp)
{
    spring_pager_info_t info = {fp->block_size, SPRING_CACHE_DATA, 0, true};
    return info;
}

/* The entry for vmm_name, live or not.  => fp->lock held. */
static struct fcache *fp_entry(struct fpager *fp, const char *vmm_name)
{
    struct fcache *spare = NULL;
    for (size_t i = 0; i < FP_MAXVMM; i++) {
        if (strcmp(fp->ent[i].vmm_name, vmm_name) == 0)
            return &fp->ent[i];
        if (spare == NULL && fp->ent[i].vmm_name[0] == '\0')
            spare = &fp->ent[i];
    }
    if (spare == NULL || strlen(vmm_name) >= sizeof spare->vmm_name)
        return NULL;
    memset(spare, 0, sizeof *spare);
    spare->fp = fp;
    strcpy(spare->vmm_name, vmm_name);
    return spare;
}

/* Look the VMM up (§7.2 step 6) once per entry.  => fp->lock held. */
static int fp_vobj(struct fpager *fp, struct fcache *fc)
{
    if (fc->vobj.h != 0)
        return 0;
    return spring_registry_lookup(fp->reg, fc->vmm_name, NULL, &fc->vobj);
}

static int fm_bind(void *self, const char *vmm_name, spring_rights_t access, spring_off_t off, spring_off_t *length,
                   spring_cache_rights_t *rights, spring_off_t *cache_off, long *flags)
{
    struct fpager *fp = self;
    *flags = 0;
    if (off >= fp->length)
        return SPRING_ERANGE;
    pthread_mutex_lock(&fp->lock);
    struct fcache *fc = fp_entry(fp, vmm_name);
    int rc = fc ? fp_vobj(fp, fc) : SPRING_ENOSPC;
    if (rc == 0 && !fc->live) {
        spring_pager_info_t info = fp_info(fp);
        rc = spring_vmm_create_cache_object(fc->vobj, &fp_pager_ops, fc, false, &info, SPRING_OWN_EXCLUSIVE,
                                            SPRING_RIGHTS_RW, &fc->cache, &fc->rights_rw);
        if (rc == 0) {
            fc->live = true;
            rc = spring_cache_rights_create_restricted_sibling(fc->rights_rw, SPRING_RIGHTS_RO, &fc->rights_ro);
        }
    }
    if (rc == 0)
        *rights = (access & SPRING_RIGHTS_W) ? fc->rights_rw : fc->rights_ro; /* lent: the pager keeps them */
    pthread_mutex_unlock(&fp->lock);
    if (rc)
        return rc;
    if (*length > fp->length - off)
        *length = fp->length - off;
    *cache_off = off;
    return 0;
}

static int fm_final_bind(void *self, spring_bind_key_t key, const char *vmm_name, spring_rights_t access,
                         spring_off_t off, spring_off_t length, long *flags)
{
    struct fpager *fp = self;
    spring_rights_t want = (access & SPRING_RIGHTS_W) ? SPRING_RIGHTS_RW : SPRING_RIGHTS_RO;
    *flags = 0;
    pthread_mutex_lock(&fp->lock);
    struct fcache *fc = fp_entry(fp, vmm_name);
    int rc = fc ? fp_vobj(fp, fc) : SPRING_ENOSPC;
    if (rc == 0 && fc->live) {
        /* §7.5: believe the cache still exists; offer it first. */
        spring_cache_rights_t sib;
        rc = spring_cache_rights_create_restricted_sibling(fc->rights_rw, want, &sib);
        if (rc == 0) {
            rc = spring_vmm_bind_cache(fc->vobj, key, length, off, sib);
            if (rc != 0)
                (void)spring_cache_rights_release(sib); /* not consumed; it may already be stale */
        }
        if (rc != 0)
            fc->live = false;
    } else if (rc == 0) {
        rc = SPRING_EBADHANDLE;
    }
    if (rc != 0 && fc != NULL) {
        spring_pager_info_t info = fp_info(fp);
        rc = spring_vmm_create_cache_object_and_bind(fc->vobj, key, length, off, want, &fp_pager_ops, fc, false,
                                                     &info, SPRING_OWN_EXCLUSIVE, SPRING_RIGHTS_RW, &fc->cache,
                                                     &fc->rights_rw);
        if (rc == 0) {
            fc->live = true;
            rc = spring_cache_rights_create_restricted_sibling(fc->rights_rw, SPRING_RIGHTS_RO, &fc->rights_ro);
        }
    }
    pthread_mutex_unlock(&fp->lock);
    return rc;
}

static int fm_get_length(void *self, spring_off_t *len)
{
    *len = ((struct fpager *)self)->length;
    return 0;
}

static const spring_mobj_ops_t fm_ops = {
    .version = SPRING_MOBJ_OPS_VERSION,
    .bind = fm_bind,
    .final_bind = fm_final_bind,
    .get_length = fm_get_length,
};

/* ------------------------------------------------------------------ */
/* 1. Paging throughput                                                 */

static int make_file(size_t bytes)
{
    const char *dir = getenv("TMPDIR");
    if (dir == NULL || *dir == '\0')
        dir = "/tmp";
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/springvm-bench-XXXXXX", dir);
    int fd = mkstemp(path);
    if (fd < 0)
        die_errno(path);
    if (unlink(path) != 0) /* gone at exit, however the program ends */
        die_errno("unlink");
    /* Every aligned 8-byte word holds its own file offset. */
    size_t chunk = 1 * MiB;
    uint64_t *buf = xmalloc(chunk);
    for (size_t off = 0; off < bytes; off += chunk) {
        for (size_t i = 0; i < chunk / 8; i++)
            buf[i] = off + i * 8;
        if (write_full(fd, buf, chunk, (off_t)off) != 0)
            die_errno("writing the bench file");
    }
    free(buf);
    if (fsync(fd) != 0) /* no writeback in the background while timing */
        die_errno("fsync");
    return fd;
}

/* Read the file once so that it is in the kernel's page cache. */
static void warm_file(int fd, size_t bytes)
{
    size_t chunk = 1 * MiB;
    uint8_t *buf = xmalloc(chunk);
    for (size_t off = 0; off < bytes; off += chunk)
        if (pread(fd, buf, chunk, (off_t)off) != (ssize_t)chunk)
            die_errno("pread (warming the file)");
    free(buf);
}

struct penv {
    char name[32];
    spring_registry_t *reg;
    spring_vmm_t *vmm;
    struct fpager *fp;
    struct fpager *fp2; /* a second pager of the file (scrub_cost), or NULL */
    spring_plugin_lib_t *lib; /* the filepager plugin, when the file is its object */
    void *inst;               /* its instance */
    spring_mobj_t *mobj;
    spring_as_t *as;
    spring_addr_t addr;
    size_t pool_bytes;
};

static void penv_new(struct penv *e, int fd, size_t file_bytes, size_t block)
{
    memset(e, 0, sizeof *e);
    snprintf(e->name, sizeof e->name, "paging-%zuk", block / KiB);
    e->pool_bytes = file_bytes / 4;
    e->vmm = new_vmm(e->name, e->pool_bytes / PAGE);
    DIE(spring_registry_new(&e->reg));
    DIE(spring_registry_add_vmm(e->reg, e->vmm));
    e->fp = calloc(1, sizeof *e->fp);
    if (e->fp == NULL)
        die_msg("out of memory");
    pthread_mutex_init(&e->fp->lock, NULL);
    e->fp->reg = e->reg;
    e->fp->fd = fd;
    e->fp->length = file_bytes;
    e->fp->block_size = block;
    DIE(spring_mobj_new(&fm_ops, e->fp, &e->mobj));
    DIE(spring_as_new(e->vmm, NULL, &e->as));
    spring_off_t len = file_bytes;
    e->addr = SPRING_ANYWHERE;
    DIE(spring_as_map(e->as, e->mobj, 0, &len, &e->addr, SPRING_RIGHTS_RO));
    if (len != file_bytes)
        die_msg("the file pager shortened the mapping");
}

/* The same set-up, with the file an object of the filepager plugin (the
 * unlinked bench file reopened through /proc/self/fd). */
static void penv_new_filepager(struct penv *e, int fd, size_t file_bytes, size_t block)
{
    memset(e, 0, sizeof *e);
    snprintf(e->name, sizeof e->name, "filepager-%zuk", block / KiB);
    e->pool_bytes = file_bytes / 4;
    e->vmm = new_vmm(e->name, e->pool_bytes / PAGE);
    DIE(spring_registry_new(&e->reg));
    DIE(spring_registry_add_vmm(e->reg, e->vmm));
    if (spring_plugin_load("filepager", NULL, SPRING_PLUGIN_PAGER, &e->lib) != 0)
        die_msg(spring_last_error());
    const spring_plugin_t *d = spring_plugin_info(e->lib);
    spring_options_t *io, *oo;
    char kv[64], path[64];
    DIE(spring_options_new(d->options, d->noptions, &io));
    snprintf(kv, sizeof kv, "block_size=%zu", block);
    DIE(spring_options_assign(io, kv));
    DIE(spring_options_new(d->pager->object_options, d->pager->nobject_options, &oo));
    snprintf(path, sizeof path, "path=/proc/self/fd/%d", fd);
    DIE(spring_options_assign(oo, path));
    DIE(spring_options_assign(oo, "writable=false"));
    spring_plugin_env_t env = {.version = SPRING_PLUGIN_ENV_VERSION, .size = sizeof env, .registry = e->reg,
                               .vmm_name = e->name, .vmm = e->vmm};
    DIE(d->pager->instance_new(&env, io, &e->inst));
    DIE(d->pager->mobj_new(e->inst, oo, &e->mobj));
    spring_options_free(io);
    spring_options_free(oo);
    DIE(spring_as_new(e->vmm, NULL, &e->as));
    spring_off_t len = file_bytes;
    e->addr = SPRING_ANYWHERE;
    DIE(spring_as_map(e->as, e->mobj, 0, &len, &e->addr, SPRING_RIGHTS_RO));
}

static void penv_free(struct penv *e)
{
    spring_as_destroy(e->as);
    spring_mobj_unref(e->mobj);
    const spring_pager_plugin_t *pp = e->lib ? spring_plugin_info(e->lib)->pager : NULL;
    if (pp && pp->instance_stop)
        pp->instance_stop(e->inst);
    DIE(spring_registry_remove_vmm(e->reg, e->vmm));
    DIE(spring_vmm_destroy(e->vmm)); /* destroys the cache: done_with_pager_object */
    spring_registry_destroy(e->reg);
    if (pp) {
        pp->instance_destroy(e->inst);
        spring_plugin_unref(e->lib);
        return;
    }
    for (size_t i = 0; i < FP_MAXVMM; i++)
        if (e->fp->ent[i].live)
            die_msg("the VMM did not release the file pager's cache");
    pthread_mutex_destroy(&e->fp->lock);
    free(e->fp);
    if (e->fp2 != NULL) {
        pthread_mutex_destroy(&e->fp2->lock);
        free(e->fp2);
    }
}

static uint64_t expected_sum(size_t file_bytes)
{
    uint64_t n = file_bytes / PAGE;
    return (uint64_t)PAGE * (n * (n - 1) / 2);
}

/* One pass through the address space: 8 bytes read from every page, after
 * a flush that empties the cache (not timed). */
/* The page_in calls the mapping's pager has answered so far. */
static uint64_t page_in_calls(struct penv *e)
{
    spring_pager_stats_t st = {.size = sizeof st};
    DIE(spring_as_pager_stats(e->as, e->addr, &st));
    return st.page_ins;
}

NOINLINE static double spring_seq_pass(struct penv *e, size_t file_bytes, uint64_t *page_ins)
{
    DIE(spring_as_flush(e->as, e->addr, file_bytes, false));
    uint64_t before = page_in_calls(e);
    uint64_t sum = 0;
    double t0 = now();
    for (size_t off = 0; off < file_bytes; off += PAGE) {
        uint64_t w;
        DIE(spring_as_read(e->as, e->addr + off, &w, sizeof w));
        sum += w;
    }
    double t = now() - t0;
    if (sum != expected_sum(file_bytes))
        die_msg("springvm read wrong data from the file");
    *page_ins = page_in_calls(e) - before;
    return t;
}

NOINLINE static double pread_seq_pass(int fd, size_t file_bytes, size_t block, uint8_t *buf, size_t buf_bytes)
{
    uint64_t sum = 0;
    double t0 = now();
    for (size_t off = 0; off < file_bytes; off += block) {
        uint8_t *p = buf + off % buf_bytes;
        if (pread(fd, p, block, (off_t)off) != (ssize_t)block)
            die_errno("pread");
        for (size_t j = 0; j < block; j += PAGE)
            sum += *(const uint64_t *)(p + j);
    }
    double t = now() - t0;
    if (sum != expected_sum(file_bytes))
        die_msg("pread read wrong data");
    return t;
}

NOINLINE static double spring_rand_pass(struct penv *e, const uint32_t *pg, size_t n, uint64_t *page_ins)
{
    uint64_t before = page_in_calls(e);
    uint64_t sum = 0, want = 0;
    double t0 = now();
    for (size_t i = 0; i < n; i++) {
        uint64_t w;
        DIE(spring_as_read(e->as, e->addr + (spring_addr_t)pg[i] * PAGE, &w, sizeof w));
        sum += w;
    }
    double t = now() - t0;
    for (size_t i = 0; i < n; i++)
        want += (uint64_t)pg[i] * PAGE;
    if (sum != want)
        die_msg("springvm read wrong data from the file");
    *page_ins = page_in_calls(e) - before;
    return t;
}

NOINLINE static double pread_rand_pass(int fd, const uint32_t *pg, size_t n, uint8_t *buf, size_t buf_bytes)
{
    uint64_t sum = 0, want = 0;
    size_t slots = buf_bytes / PAGE;
    double t0 = now();
    for (size_t i = 0; i < n; i++) {
        uint8_t *p = buf + (i % slots) * PAGE;
        if (pread(fd, p, PAGE, (off_t)pg[i] * PAGE) != (ssize_t)PAGE)
            die_errno("pread");
        sum += *(const uint64_t *)p;
    }
    double t = now() - t0;
    for (size_t i = 0; i < n; i++)
        want += (uint64_t)pg[i] * PAGE;
    if (sum != want)
        die_msg("pread read wrong data");
    return t;
}

/* The cost of the rule that no frame reaches a pager holding another
 * cache's data: sequential passes over a file through its own cache, when
 * the frames last held that cache's data (no zeroing) and when they last
 * held another cache's (every page-in zeroes its frame first). */
static void scrub_cost(struct penv *e, int fd, size_t fb)
{
    struct fpager *fp2 = calloc(1, sizeof *fp2);
    if (fp2 == NULL)
        die_msg("out of memory");
    pthread_mutex_init(&fp2->lock, NULL);
    fp2->reg = e->reg;
    fp2->fd = fd;
    fp2->length = fb;
    fp2->block_size = e->fp->block_size;
    struct penv e2 = *e; /* the same VMM and address space, another cache */
    e2.fp = fp2;
    DIE(spring_mobj_new(&fm_ops, fp2, &e2.mobj));
    spring_off_t len = fb;
    e2.addr = SPRING_ANYWHERE;
    DIE(spring_as_map(e->as, e2.mobj, 0, &len, &e2.addr, SPRING_RIGHTS_RO));
    double same[64], cross[64], r[64], per[64], ns[64];
    uint64_t pis = 0;
    int n = 0;
    double t_start = now();
    while (n < C.rounds && (n < 3 || now() - t_start < C.budget)) {
        (void)spring_seq_pass(e, fb, &pis);             /* the pool now holds this cache's data */
        same[n] = spring_seq_pass(e, fb, &pis);
        (void)spring_seq_pass(&e2, fb, &pis);           /* ... now the other cache's */
        uint64_t s0 = vm_info(e->vmm).scrubs;
        cross[n] = spring_seq_pass(e, fb, &pis);
        uint64_t zeroed = vm_info(e->vmm).scrubs - s0;
        per[n] = (double)zeroed / (double)(fb / PAGE);
        ns[n] = zeroed ? (cross[n] - same[n]) * 1e9 / (double)zeroed : 0;
        r[n] = cross[n] / same[n];
        same[n] = (double)fb / same[n] / 1e6;
        cross[n] = (double)fb / cross[n] / 1e6;
        n++;
    }
    char name[64];
    snprintf(name, sizeof name, "  scrub cost, 4 KiB, MB/s (%d rnd)", n);
    char x[96], y[96], z[96]; /* a row with no goal: not counted as met or not */
    printf("%-40s %-28s %-28s %-26s %s\n", name, fmt_st(x, sizeof x, summarize(cross, n), ""),
           fmt_st(y, sizeof y, summarize(same, n), ""), fmt_st(z, sizeof z, summarize(r, n), "x"), "(no goal)");
    note("value: frames last held another cache's data (%.0f%% of the page-ins zeroed one first); baseline: they",
         summarize(per, n).med * 100);
    note("held this cache's (none zeroed); ratio = time with zeroing / time without: %.0f ns more per zeroed frame",
         summarize(ns, n).med);
    DIE(spring_as_unmap(e->as, e2.addr, fb));
    spring_mobj_unref(e2.mobj);
    e->fp2 = fp2; /* freed after the VMM, which still holds its cache */
}

/* Sequential passes through e's mapping against pread of the same blocks,
 * interleaved; one row.  Goal: >= 0.95 from 16 KiB blocks, >= 0.8 below. */
static void seq_row(struct penv *e, int fd, size_t fb, size_t bs, uint8_t *buf, const char *what)
{
    double s[64], p[64], r[64];
    uint64_t pis = 0;
    int n = 0;
    double t_start = now();
    /* One untimed pass each to settle the caches. */
    (void)spring_seq_pass(e, fb, &pis);
    (void)pread_seq_pass(fd, fb, bs, buf, e->pool_bytes);
    while (n < C.rounds && (n < 3 || now() - t_start < C.budget)) {
        double ts, tp;
        if (n % 2 == 0) {
            ts = spring_seq_pass(e, fb, &pis);
            tp = pread_seq_pass(fd, fb, bs, buf, e->pool_bytes);
        } else {
            tp = pread_seq_pass(fd, fb, bs, buf, e->pool_bytes);
            ts = spring_seq_pass(e, fb, &pis);
        }
        if (pis != fb / bs)
            note("warning: %" PRIu64 " page_in calls in a pass, expected %zu", pis, fb / bs);
        s[n] = (double)fb / ts / 1e6;
        p[n] = (double)fb / tp / 1e6;
        r[n] = tp / ts;
        n++;
    }
    char name[64], goal[32];
    double g = bs >= 16 * KiB ? 0.95 : 0.8;
    snprintf(name, sizeof name, "%s %2zu KiB blocks, MB/s (%d rnd)", what, bs / KiB, n);
    snprintf(goal, sizeof goal, ">= %.2fx", g);
    struct st rs = summarize(r, n);
    row(name, summarize(s, n), "", summarize(p, n), "", rs, goal, rs.med >= g);
}

static void bench_paging(void)
{
    size_t fb = C.file_bytes;
    section("paging throughput (§9.9): file pager (preadv into the frames) vs raw pread");
    int fd = make_file(fb);
    warm_file(fd, fb);
    note("file %zu MiB in the page cache; frame pool %zu MiB (a quarter); sequential: 8 bytes read from every page",
         fb / MiB, fb / 4 / MiB);
    note("through a read-only mapping, cache flushed before each round (not timed); baseline: pread of each block");
    note("into a buffer as large as the pool, rotating.  Values in MB/s; ratio = springvm/pread throughput.");
    uint8_t *buf = touched_buffer(fb / 4);
    static const size_t blocks[] = {4 * KiB, 16 * KiB, 64 * KiB};
    for (size_t bi = 0; bi < sizeof blocks / sizeof *blocks; bi++) {
        size_t bs = blocks[bi];
        if (C.only_block != 0 && bs != C.only_block)
            continue;
        struct penv e;
        penv_new(&e, fd, fb, bs);
        seq_row(&e, fd, fb, bs, buf, "seq read");
        double t_start;
        uint64_t pis = 0;
        char name[64];
        if (bs == 4 * KiB) {
            /* Random 4 KiB reads, steady state: the pool holds a quarter of the file. */
            size_t nr = C.rand_reads, npages = fb / PAGE;
            uint32_t *pg = xmalloc(nr * sizeof *pg);
            double rs_[64], rp[64], rr[64], frac[64];
            int m = 0;
            t_start = now();
            while (m < C.rounds && (m < 3 || now() - t_start < C.budget)) {
                for (size_t i = 0; i < nr; i++)
                    pg[i] = (uint32_t)(rnd() % npages);
                double ts, tp;
                if (m % 2 == 0) {
                    ts = spring_rand_pass(&e, pg, nr, &pis);
                    tp = pread_rand_pass(fd, pg, nr, buf, e.pool_bytes);
                } else {
                    tp = pread_rand_pass(fd, pg, nr, buf, e.pool_bytes);
                    ts = spring_rand_pass(&e, pg, nr, &pis);
                }
                rs_[m] = ts * 1e9 / (double)nr;
                rp[m] = tp * 1e9 / (double)nr;
                rr[m] = ts / tp;
                frac[m] = (double)pis / (double)nr;
                m++;
            }
            struct st rq = summarize(rr, m);
            snprintf(name, sizeof name, "random 4 KiB reads, ns/read (%d rnd)", m);
            row(name, summarize(rs_, m), "", summarize(rp, m), "", rq, "time <= 1.2x", rq.med <= 1.2);
            note("%zu random pages per round; %.0f%% of springvm's reads paged in (the rest hit the pool)", nr,
                 summarize(frac, m).med * 100);
            free(pg);
            scrub_cost(&e, fd, fb);
        }
        penv_free(&e);
    }
    munmap(buf, fb / 4);
    close(fd);
}

/* The filepager plugin's paging throughput, the same way (issue: the
 * filepager joins the paging bench). */
static void bench_filepager(void)
{
    size_t fb = C.file_bytes;
    section("filepager plugin: paging throughput vs raw pread (file four times the pool)");
    int fd = make_file(fb);
    warm_file(fd, fb);
    note("the same file and passes as above, the file an object of plugins/filepager (preadv per block)");
    uint8_t *buf = touched_buffer(fb / 4);
    static const size_t blocks[] = {4 * KiB, 16 * KiB, 64 * KiB};
    for (size_t bi = 0; bi < sizeof blocks / sizeof *blocks; bi++) {
        if (C.only_block != 0 && blocks[bi] != C.only_block)
            continue;
        struct penv e;
        penv_new_filepager(&e, fd, fb, blocks[bi]);
        seq_row(&e, fd, fb, blocks[bi], buf, "filepager seq");
        penv_free(&e);
    }
    munmap(buf, fb / 4);
    close(fd);
}

/* Anonymous memory four times the pool: write then read every page, with
 * the swap plugin (a swap file) against the in-tree anonymous pager (host
 * memory), interleaved rounds. */
static double anon_pass(bool swap_plugin, size_t pool_pages, char *swapfile)
{
    spring_vmm_config_t cfg;
    spring_vmm_config_init(&cfg);
    cfg.name = swap_plugin ? "anon-swap" : "anon-intree";
    cfg.nframes = pool_pages;
    cfg.no_default_swap_pager = swap_plugin;
    spring_vmm_t *vmm;
    DIE(spring_vmm_new(&cfg, &vmm));
    spring_registry_t *reg = NULL;
    spring_plugin_lib_t *lib = NULL;
    if (swap_plugin) {
        DIE(spring_registry_new(&reg));
        DIE(spring_registry_add_vmm(reg, vmm));
        DIE(spring_registry_grant(reg, "bench-swap", SPRING_PRIV_SYSTEM));
        if (spring_plugin_load("swap", NULL, SPRING_PLUGIN_SWAP, &lib) != 0)
            die_msg(spring_last_error());
        const spring_plugin_t *d = spring_plugin_info(lib);
        spring_options_t *o;
        char kv[300];
        DIE(spring_options_new(d->options, d->noptions, &o));
        snprintf(kv, sizeof kv, "files=%s", swapfile);
        DIE(spring_options_assign(o, kv));
        snprintf(kv, sizeof kv, "size=%zu", 8 * pool_pages * PAGE);
        DIE(spring_options_assign(o, kv));
        spring_plugin_env_t env = {.version = SPRING_PLUGIN_ENV_VERSION, .size = sizeof env, .registry = reg,
                                   .vmm_name = cfg.name, .credential = "bench-swap", .vmm = vmm};
        void *inst;
        DIE(d->swap->instance_new(&env, o, &inst));
        spring_options_free(o);
        spring_vmm_obj_t vo;
        DIE(spring_vmm_get_object(vmm, SPRING_PRIV_SYSTEM, &vo));
        DIE(spring_vmm_add_swap_pager(vo, d->swap->ops, inst, false));
    }
    spring_as_t *as;
    DIE(spring_as_new(vmm, NULL, &as));
    size_t npages = 4 * pool_pages;
    spring_off_t len = (spring_off_t)npages * PAGE;
    spring_addr_t a = SPRING_ANYWHERE;
    DIE(spring_as_allocate_memory(as, &len, &a, SPRING_RIGHTS_RW));
    uint8_t page[PAGE];
    double t0 = now();
    for (size_t i = 0; i < npages; i++) {
        memset(page, (int)(i & 0xff) | 1, PAGE);
        DIE(spring_as_write(as, a + i * PAGE, page, PAGE));
    }
    uint64_t sum = 0;
    for (size_t i = 0; i < npages; i++) {
        uint64_t w;
        DIE(spring_as_read(as, a + i * PAGE, &w, sizeof w));
        sum += w & 0xff;
    }
    double t = now() - t0;
    uint64_t want = 0;
    for (size_t i = 0; i < npages; i++)
        want += (i & 0xff) | 1;
    if (sum != want)
        die_msg("anonymous memory read back wrong");
    spring_as_destroy(as);
    if (reg)
        DIE(spring_registry_remove_vmm(reg, vmm));
    DIE(spring_vmm_destroy(vmm));
    spring_registry_destroy(reg);
    spring_plugin_unref(lib);
    return t;
}

static void bench_swap(void)
{
    section("swap plugin: anonymous memory under 4x pressure, swap file vs in-tree anonymous pager");
    size_t pool_pages = C.file_bytes / 4 / PAGE / 4;
    const char *dir = getenv("TMPDIR");
    char swapfile[256];
    snprintf(swapfile, sizeof swapfile, "%s/springvm-bench-swap-%d", dir && *dir ? dir : "/tmp", (int)getpid());
    note("pool %zu MiB, %zu MiB written then read through the address space; swap file %s (removed)",
         pool_pages * PAGE / MiB, 4 * pool_pages * PAGE / MiB, swapfile);
    double s[64], b[64], r[64];
    int n = 0;
    double t_start = now();
    while (n < C.rounds && (n < 3 || now() - t_start < C.budget)) {
        double ts, tb;
        if (n % 2 == 0) {
            ts = anon_pass(true, pool_pages, swapfile);
            tb = anon_pass(false, pool_pages, swapfile);
        } else {
            tb = anon_pass(false, pool_pages, swapfile);
            ts = anon_pass(true, pool_pages, swapfile);
        }
        s[n] = ts * 1e3;
        b[n] = tb * 1e3;
        r[n] = ts / tb;
        n++;
    }
    char name[64];
    snprintf(name, sizeof name, "write+read 4x pool, ms (%d rnd)", n);
    char x[64], y[64], z[64];
    printf("%-40s %-28s %-28s %-26s %s\n", name, fmt_st(x, sizeof x, summarize(s, n), ""),
           fmt_st(y, sizeof y, summarize(b, n), ""), fmt_st(z, sizeof z, summarize(r, n), "x"), "(no goal)");
}

/* ------------------------------------------------------------------ */
/* 2. Zero-fill fault vs memset of one page                             */

static uint8_t *volatile memset_sink;

static double zf_spring_ns(spring_vmm_t *vmm, size_t pages)
{
    spring_as_t *as;
    DIE(spring_as_new(vmm, NULL, &as));
    spring_off_t len = (spring_off_t)pages * PAGE;
    spring_addr_t a = SPRING_ANYWHERE;
    DIE(spring_as_allocate_memory(as, &len, &a, SPRING_RIGHTS_RW));
    uint8_t one = 1;
    double t0 = now();
    for (size_t i = 0; i < pages; i++)
        DIE(spring_as_write(as, a + (spring_addr_t)i * PAGE, &one, 1));
    double t = now() - t0;
    spring_as_destroy(as);
    return t * 1e9 / (double)pages;
}

static double memset_ns(uint8_t *buf, size_t pages)
{
    double t0 = now();
    for (size_t i = 0; i < pages; i++)
        memset(buf + i * PAGE, 0, PAGE);
    double t = now() - t0;
    memset_sink = buf;
    return t * 1e9 / (double)pages;
}

static void bench_zerofill(void)
{
    size_t pages = C.zf_pages;
    section("zero-fill fault vs memset of one page");
    note("%zu fresh pages of spring_as_allocate_memory memory, one byte written to each, zeroing included;",
         pages);
    note("baseline: memset of each 4 KiB page of a touched buffer of the same size (%zu MiB).  ns/page.",
         pages * PAGE / MiB);
    spring_vmm_t *vmm = new_vmm("zerofill", pages + 64);
    uint8_t *buf = touched_buffer(pages * PAGE);
    double s[64], b[64], r[64];
    (void)zf_spring_ns(vmm, pages);
    (void)memset_ns(buf, pages);
    bool leaked = false;
    for (int i = 0; i < C.rounds; i++) {
        if (i % 2 == 0) {
            s[i] = zf_spring_ns(vmm, pages);
            b[i] = memset_ns(buf, pages);
        } else {
            b[i] = memset_ns(buf, pages);
            s[i] = zf_spring_ns(vmm, pages);
        }
        r[i] = s[i] / b[i];
        spring_vm_info_t info = vm_info(vmm);
        if (info.free_frames != info.nframes)
            leaked = true;
    }
    struct st rs = summarize(r, C.rounds);
    row("zero-fill fault, ns/page", summarize(s, C.rounds), "", summarize(b, C.rounds), "", rs, "<= 2x",
        rs.med <= 2);
    if (leaked)
        note("warning: frames were not all free after destroying the address space");
    munmap(buf, pages * PAGE);
    DIE(spring_vmm_destroy(vmm));
}

/* ------------------------------------------------------------------ */
/* 3. Metadata per resident page                                        */

static size_t rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL)
        die_errno("/proc/self/statm");
    unsigned long size, res;
    if (fscanf(f, "%lu %lu", &size, &res) != 2)
        die_msg("cannot parse /proc/self/statm");
    fclose(f);
    return (size_t)res * (size_t)sysconf(_SC_PAGESIZE);
}

static void bench_metadata(void)
{
    size_t nframes = C.meta_frames, n = nframes - 64;
    section("host memory per resident page (RSS growth minus the frame pool)");
    size_t r0 = rss_bytes();
    spring_vmm_t *vmm = new_vmm("metadata", nframes);
    size_t r1 = rss_bytes();
    spring_as_t *as;
    DIE(spring_as_new(vmm, NULL, &as));
    spring_off_t len = (spring_off_t)n * PAGE;
    spring_addr_t a = SPRING_ANYWHERE;
    DIE(spring_as_allocate_memory(as, &len, &a, SPRING_RIGHTS_RW));
    uint8_t one = 1;
    for (size_t i = 0; i < n; i++)
        DIE(spring_as_write(as, a + (spring_addr_t)i * PAGE, &one, 1));
    size_t r2 = rss_bytes();
    spring_vm_info_t info = vm_info(vmm);
    spring_as_statistics_t st = {.size = sizeof st};
    DIE(spring_as_statistics(as, &st));
    size_t pool = nframes * PAGE;
    double at_new = ((double)r1 - (double)r0 - (double)pool) / (double)nframes;
    double resident = ((double)r2 - (double)r1) / (double)n;
    double total = ((double)r2 - (double)r0 - (double)pool) / (double)n;
    note("pool %zu frames (%zu MiB, populated at creation); %zu pages made resident by zero-fill faults",
         nframes, pool / MiB, n);
    note("RSS: before the VMM %zu KiB, after creating it %zu KiB, after the faults %zu KiB", r0 / KiB, r1 / KiB,
         r2 / KiB);
    note("per page: %.1f bytes at creation beyond the pool (frame table), %.1f bytes added by residency", at_new,
         resident);
    if (info.page_outs != 0 || st.resident != n)
        note("warning: %" PRIu64 " page-outs, %zu pages resident (expected 0 and %zu)", info.page_outs,
             st.resident, n);
    struct st v = {total, total, total};
    row("metadata, bytes/resident page (1 run)", v, "", NOVAL, "", NOVAL, "<= 64 (stretch 48)", total <= 64);
    spring_as_destroy(as);
    DIE(spring_vmm_destroy(vmm));
}

/* ------------------------------------------------------------------ */
/* 4. Scaling                                                           */

enum wkind { W_ZEROFILL, W_READ, W_MEMSET, W_LOAD };

struct worker {
    enum wkind kind;
    spring_as_t *as;
    spring_addr_t a;
    uint8_t *buf;
    size_t pages;
    size_t reads;
    pthread_barrier_t *bar;
    double t0, t1;
    uint64_t sum;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    uint64_t sum = 0;
    uint8_t one = 1;
    pthread_barrier_wait(w->bar);
    w->t0 = now();
    switch (w->kind) {
    case W_ZEROFILL:
        for (size_t i = 0; i < w->pages; i++)
            DIE(spring_as_write(w->as, w->a + (spring_addr_t)i * PAGE, &one, 1));
        break;
    case W_READ:
        for (size_t i = 0; i < w->reads; i++) {
            uint64_t x;
            DIE(spring_as_read(w->as, w->a + (spring_addr_t)(i % w->pages) * PAGE, &x, sizeof x));
            sum += x;
        }
        break;
    case W_MEMSET:
        for (size_t i = 0; i < w->pages; i++)
            memset(w->buf + i * PAGE, 0, PAGE);
        memset_sink = w->buf;
        break;
    case W_LOAD:
        for (size_t i = 0; i < w->reads; i++)
            sum += *(const volatile uint64_t *)(w->buf + (i % w->pages) * PAGE);
        break;
    }
    w->t1 = now();
    w->sum = sum;
    return NULL;
}

/* Run the workers, one thread each; return the wall time from the first
 * start to the last end. */
static double run_workers(struct worker *w, int n)
{
    pthread_t th[2];
    pthread_barrier_t bar;
    if (n > 2 || pthread_barrier_init(&bar, NULL, (unsigned)n) != 0)
        die_msg("pthread_barrier_init");
    for (int i = 0; i < n; i++) {
        w[i].bar = &bar;
        int e = pthread_create(&th[i], NULL, worker_main, &w[i]);
        if (e != 0) {
            errno = e;
            die_errno("pthread_create");
        }
    }
    for (int i = 0; i < n; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&bar);
    double t0 = w[0].t0, t1 = w[0].t1;
    for (int i = 1; i < n; i++) {
        t0 = w[i].t0 < t0 ? w[i].t0 : t0;
        t1 = w[i].t1 > t1 ? w[i].t1 : t1;
    }
    return t1 - t0;
}

static spring_addr_t alloc_region(spring_as_t *as, size_t pages)
{
    spring_off_t len = (spring_off_t)pages * PAGE;
    spring_addr_t a = SPRING_ANYWHERE;
    DIE(spring_as_allocate_memory(as, &len, &a, SPRING_RIGHTS_RW));
    return a;
}

/* Zero-fill: 1 thread on 2W pages, 2 threads on W pages each in their own
 * address space, 2 threads on W pages each in one address space. */
static void zf_round(spring_vmm_t *vmm, size_t w_pages, double *t1, double *t2, double *tsh)
{
    spring_as_t *a, *b;
    struct worker w[2];
    DIE(spring_as_new(vmm, NULL, &a));
    memset(w, 0, sizeof w);
    w[0] = (struct worker){.kind = W_ZEROFILL, .as = a, .a = alloc_region(a, 2 * w_pages), .pages = 2 * w_pages};
    *t1 = run_workers(w, 1);
    spring_as_destroy(a);

    DIE(spring_as_new(vmm, NULL, &a));
    DIE(spring_as_new(vmm, NULL, &b));
    w[0] = (struct worker){.kind = W_ZEROFILL, .as = a, .a = alloc_region(a, w_pages), .pages = w_pages};
    w[1] = (struct worker){.kind = W_ZEROFILL, .as = b, .a = alloc_region(b, w_pages), .pages = w_pages};
    *t2 = run_workers(w, 2);
    spring_as_destroy(a);
    spring_as_destroy(b);

    DIE(spring_as_new(vmm, NULL, &a));
    w[0] = (struct worker){.kind = W_ZEROFILL, .as = a, .a = alloc_region(a, w_pages), .pages = w_pages};
    w[1] = (struct worker){.kind = W_ZEROFILL, .as = a, .a = alloc_region(a, w_pages), .pages = w_pages};
    *tsh = run_workers(w, 2);
    spring_as_destroy(a);
}

static void floor_round(enum wkind kind, uint8_t *buf, size_t pages, size_t reads, double *t1, double *t2)
{
    struct worker w[2];
    memset(w, 0, sizeof w);
    w[0] = (struct worker){.kind = kind, .buf = buf, .pages = 2 * pages, .reads = 2 * reads};
    *t1 = run_workers(w, 1);
    w[0] = (struct worker){.kind = kind, .buf = buf, .pages = pages, .reads = reads};
    w[1] = (struct worker){.kind = kind, .buf = buf + pages * PAGE, .pages = pages, .reads = reads};
    *t2 = run_workers(w, 2);
}

static void scaling_rows(const char *what, const double *t1, const double *t2, const double *tsh, const double *f1,
                         const double *f2, int n)
{
    double own[64], sh[64], fl[64], rel[64];
    for (int i = 0; i < n; i++) {
        own[i] = t1[i] / t2[i];
        sh[i] = t1[i] / tsh[i];
        fl[i] = f1[i] / f2[i];
        rel[i] = own[i] / fl[i];
    }
    char name[80], val[96];
    struct st so = summarize(own, n);
    snprintf(name, sizeof name, "%s, 2T/1T", what);
    row(name, so, "x", summarize(fl, n), "x", summarize(rel, n), "springvm >= 1.8x", so.med >= 1.8);
    printf("%-40s %s\n", "  same, 2T in one shared AS (no goal)", fmt_st(val, sizeof val, summarize(sh, n), "x"));
    fflush(stdout);
}

static void bench_scaling(void)
{
    size_t W = C.scale_pages, R = C.scale_reads;
    const size_t rpages_big = 4096, rpages_small = 64;
    section("scaling: 2 threads vs 1 thread doing the same total work");
    note("value = throughput of 2 threads / 1 thread; baseline = the same for the machine's floor (memset of the");
    note("same pages / plain 8-byte loads, 2 threads on separate halves); ratio = springvm scaling / floor scaling.");
    note("zero-fill: %zu pages in all; reads: %zu spring_as_read of 8 bytes in all, over resident pages", 2 * W,
         2 * R);
    if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
        note("warning: fewer than 2 processors online");
    spring_vmm_t *vmm = new_vmm("scaling", 2 * W + 3 * rpages_big + 3 * rpages_small + 256);
    uint8_t *buf = touched_buffer(2 * W * PAGE);
    double t1[64], t2[64], tsh[64], f1[64], f2[64];
    int n = C.rounds;
    for (int i = 0; i < n; i++) {
        zf_round(vmm, W, &t1[i], &t2[i], &tsh[i]);
        floor_round(W_MEMSET, buf, W, 0, &f1[i], &f2[i]);
    }
    scaling_rows("zero-fill faults", t1, t2, tsh, f1, f2, n);

    /* Resident reads.  Address space a: two regions (the 1-thread run, and
     * the shared-space run's second thread); b: one region. */
    static const size_t rsizes[2] = {4096, 64};
    for (int k = 0; k < 2; k++) {
        size_t rp = rsizes[k];
        spring_as_t *a, *b;
        DIE(spring_as_new(vmm, NULL, &a));
        DIE(spring_as_new(vmm, NULL, &b));
        spring_addr_t a1 = alloc_region(a, rp), a2 = alloc_region(a, rp), b1 = alloc_region(b, rp);
        uint8_t one = 1;
        for (size_t i = 0; i < rp; i++) {
            DIE(spring_as_write(a, a1 + i * PAGE, &one, 1));
            DIE(spring_as_write(a, a2 + i * PAGE, &one, 1));
            DIE(spring_as_write(b, b1 + i * PAGE, &one, 1));
        }
        struct worker w[2];
        for (int i = 0; i < n; i++) {
            memset(w, 0, sizeof w);
            w[0] = (struct worker){.kind = W_READ, .as = a, .a = a1, .pages = rp, .reads = 2 * R};
            t1[i] = run_workers(w, 1);
            w[0] = (struct worker){.kind = W_READ, .as = a, .a = a1, .pages = rp, .reads = R};
            w[1] = (struct worker){.kind = W_READ, .as = b, .a = b1, .pages = rp, .reads = R};
            t2[i] = run_workers(w, 2);
            w[1] = (struct worker){.kind = W_READ, .as = a, .a = a2, .pages = rp, .reads = R};
            tsh[i] = run_workers(w, 2);
            floor_round(W_LOAD, buf, rp, R, &f1[i], &f2[i]);
        }
        char what[64];
        snprintf(what, sizeof what, "reads, %zu pages%s", rp, rp > 256 ? " (TLB miss)" : "");
        scaling_rows(what, t1, t2, tsh, f1, f2, n);
        spring_as_destroy(a);
        spring_as_destroy(b);
    }
    munmap(buf, 2 * W * PAGE);
    DIE(spring_vmm_destroy(vmm));
}

/* ------------------------------------------------------------------ */
/* 5. Regions: ours vs the kernel's VMAs                                */

/* A pager whose one cache backs every mapping (as in bench_core). */
struct bpager {
    spring_vmm_obj_t vo;
    spring_cache_obj_t cache;
    spring_cache_rights_t rights;
    bool has;
};

static int b_page_in(void *self, spring_off_t off, spring_off_t size, spring_rights_t access,
                     spring_ownership_t *own, spring_page_buf_t *dst)
{
    for (size_t i = 0; i < dst->npages; i++)
        dst->zero[i] = 1;
    return 0;
}

static int b_page_out(void *self, spring_off_t off, spring_off_t size, spring_ownership_t *own,
                      const spring_data_t *d)
{
    return 0;
}

static const spring_pager_ops_t bpager_ops = {
    .version = SPRING_PAGER_OPS_VERSION, .page_in = b_page_in, .page_out = b_page_out};

static int b_bind(void *self, const char *name, spring_rights_t access, spring_off_t off, spring_off_t *len,
                  spring_cache_rights_t *r, spring_off_t *coff, long *flags)
{
    struct bpager *b = self;
    if (!b->has) {
        spring_pager_info_t info = {0, SPRING_CACHE_DATA, 0, true};
        int rc = spring_vmm_create_cache_object(b->vo, &bpager_ops, b, false, &info, SPRING_OWN_EXCLUSIVE,
                                                SPRING_RIGHTS_RW, &b->cache, &b->rights);
        if (rc)
            return rc;
        b->has = true;
    }
    *r = b->rights;
    *coff = off;
    *flags = 0;
    return 0;
}

static int b_final_bind(void *self, spring_bind_key_t key, const char *name, spring_rights_t access,
                        spring_off_t off, spring_off_t len, long *flags)
{
    *flags = 0;
    return SPRING_EBIND;
}

static const spring_mobj_ops_t bmobj_ops = {
    .version = SPRING_MOBJ_OPS_VERSION, .bind = b_bind, .final_bind = b_final_bind};

struct reg_ns {
    double map, lookup, unmap;
};

/* Inner repetitions of the operations on one set-up (each leaves the
 * regions as it found them); a set-up takes far longer than the operations. */
#define REG_REPS 3

static struct reg_ns reg_median(const struct reg_ns *v, int n)
{
    double m[REG_REPS], l[REG_REPS], u[REG_REPS];
    for (int i = 0; i < n; i++) {
        m[i] = v[i].map;
        l[i] = v[i].lookup;
        u[i] = v[i].unmap;
    }
    struct reg_ns r = {summarize(m, n).med, summarize(l, n).med, summarize(u, n).med};
    return r;
}

/* `ops` maps into random gaps of n one-page regions spaced two pages
 * apart, lookups at random mapped pages, then unmaps of the extra regions. */
static struct reg_ns spring_region_ops(spring_as_t *as, spring_mobj_t *m, spring_addr_t base, size_t n, size_t ops,
                                       spring_addr_t *extra)
{
    struct reg_ns r;
    for (size_t i = 0; i < ops; i++)
        extra[i] = base + (rnd() % n) * 2 * PAGE + PAGE;
    size_t mapped = 0;
    double t0 = now();
    for (size_t i = 0; i < ops; i++) {
        spring_off_t len = PAGE;
        spring_addr_t a = extra[i];
        int rc = spring_as_map(as, m, 0, &len, &a, SPRING_RIGHTS_RW);
        if (rc == 0)
            extra[mapped++] = a;
        else if (rc != SPRING_EEXIST) /* the same gap drawn twice */
            DIE(rc);
    }
    r.map = (now() - t0) * 1e9 / (double)ops;
    spring_mapping_t out;
    size_t got;
    bool more;
    t0 = now();
    for (size_t i = 0; i < ops; i++) {
        spring_addr_t a = base + (rnd() % n) * 2 * PAGE;
        DIE(spring_as_get_mappings(as, a, PAGE, &out, 1, &got, &more));
        spring_mappings_release(&out, got);
    }
    r.lookup = (now() - t0) * 1e9 / (double)ops;
    t0 = now();
    for (size_t i = 0; i < mapped; i++)
        DIE(spring_as_unmap(as, extra[i], PAGE));
    r.unmap = (now() - t0) * 1e9 / (double)(mapped ? mapped : 1);
    return r;
}

static struct reg_ns spring_regions(size_t n, size_t ops)
{
    spring_vmm_t *vmm = new_vmm("regions", 64);
    struct bpager bp = {0};
    DIE(spring_vmm_get_object(vmm, SPRING_PRIV_USER, &bp.vo));
    spring_mobj_t *m;
    DIE(spring_mobj_new(&bmobj_ops, &bp, &m));
    spring_as_t *as;
    DIE(spring_as_new(vmm, NULL, &as));
    const spring_addr_t base = 1ULL << 32;
    for (size_t i = 0; i < n; i++) {
        spring_off_t len = PAGE;
        spring_addr_t a = base + i * 2 * PAGE;
        DIE(spring_as_map(as, m, 0, &len, &a, SPRING_RIGHTS_RW));
    }
    spring_addr_t *extra = xmalloc(ops * sizeof *extra);
    struct reg_ns v[REG_REPS];
    for (int i = 0; i < REG_REPS; i++)
        v[i] = spring_region_ops(as, m, base, n, ops, extra);
    free(extra);
    spring_as_destroy(as);
    spring_mobj_unref(m);
    if (bp.has)
        DIE(spring_cache_destroy(bp.cache));
    DIE(spring_vmm_destroy(vmm));
    return reg_median(v, REG_REPS);
}

static struct reg_ns kernel_region_ops(uint8_t *base, size_t n, size_t ops, uint8_t **extra)
{
    struct reg_ns r;
    for (size_t i = 0; i < ops; i++)
        extra[i] = base + (rnd() % n) * 2 * PAGE + PAGE;
    size_t mapped = 0;
    double t0 = now();
    for (size_t i = 0; i < ops; i++) {
        void *p = mmap(extra[i], PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
                       -1, 0);
        if (p == extra[i])
            extra[mapped++] = p;
        else if (p != MAP_FAILED || errno != EEXIST)
            die_errno("mmap (extra)");
    }
    r.map = (now() - t0) * 1e9 / (double)ops;
    unsigned char vec;
    t0 = now();
    for (size_t i = 0; i < ops; i++)
        if (mincore(base + (rnd() % n) * 2 * PAGE, PAGE, &vec) != 0)
            die_errno("mincore");
    r.lookup = (now() - t0) * 1e9 / (double)ops;
    t0 = now();
    for (size_t i = 0; i < mapped; i++)
        if (munmap(extra[i], PAGE) != 0)
            die_errno("munmap");
    r.unmap = (now() - t0) * 1e9 / (double)(mapped ? mapped : 1);
    return r;
}

/* The same with the kernel: n one-page anonymous PROT_READ mappings with
 * one-page holes (n VMAs: nothing adjacent, nothing merges); the extra
 * mappings are PROT_READ|PROT_WRITE so they do not merge with their
 * neighbours either; lookup is mincore of one page. */
static struct reg_ns kernel_regions(size_t n, size_t ops)
{
    size_t span = (2 * n + 2) * PAGE;
    uint8_t *base = mmap(NULL, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base == MAP_FAILED)
        die_errno("mmap (reserving)");
    if (munmap(base, span) != 0) /* a free range of the right size; nothing else maps meanwhile */
        die_errno("munmap");
    for (size_t i = 0; i < n; i++) {
        void *want = base + i * 2 * PAGE;
        void *p = mmap(want, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
        if (p != want)
            die_errno("mmap (kernel regions; vm.max_map_count reached?)");
    }
    uint8_t **extra = xmalloc(ops * sizeof *extra);
    struct reg_ns v[REG_REPS];
    for (int i = 0; i < REG_REPS; i++)
        v[i] = kernel_region_ops(base, n, ops, extra);
    free(extra);
    if (munmap(base, span) != 0)
        die_errno("munmap");
    return reg_median(v, REG_REPS);
}

#define MAX_MAP_COUNT "/proc/sys/vm/max_map_count"
static long old_max_map = -1;
static char old_max_map_str[32];

static long read_max_map(void)
{
    FILE *f = fopen(MAX_MAP_COUNT, "r");
    long v = -1;
    if (f == NULL || fscanf(f, "%ld", &v) != 1)
        v = -1;
    if (f)
        fclose(f);
    return v;
}

static bool write_max_map(const char *s)
{
    int fd = open(MAX_MAP_COUNT, O_WRONLY);
    if (fd < 0)
        return false;
    size_t len = strlen(s);
    bool ok = write(fd, s, len) == (ssize_t)len;
    return close(fd) == 0 && ok;
}

static void restore_max_map(void)
{
    if (old_max_map > 0 && !write_max_map(old_max_map_str))
        fprintf(stderr, "bench_paging: could not restore %s to %ld\n", MAX_MAP_COUNT, old_max_map);
    old_max_map = -1;
}

static void restore_on_signal(int sig)
{
    /* open, write and close are async-signal-safe. */
    if (old_max_map > 0) {
        int fd = open(MAX_MAP_COUNT, O_WRONLY);
        if (fd >= 0) {
            ssize_t w = write(fd, old_max_map_str, strlen(old_max_map_str));
            (void)w;
            close(fd);
        }
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Raise vm.max_map_count to `want` for this run if permitted; the old value
 * comes back at exit.  Returns the limit in force. */
static long raise_max_map(long want)
{
    long cur = read_max_map();
    if (cur < 0 || cur >= want)
        return cur;
    snprintf(old_max_map_str, sizeof old_max_map_str, "%ld\n", cur);
    char s[32];
    snprintf(s, sizeof s, "%ld\n", want);
    old_max_map = cur;
    atexit(restore_max_map);
    signal(SIGINT, restore_on_signal);
    signal(SIGTERM, restore_on_signal);
    signal(SIGHUP, restore_on_signal);
    if (!write_max_map(s)) {
        old_max_map = -1;
        return cur;
    }
    return read_max_map();
}

static size_t count_vmas(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    if (f == NULL)
        die_errno("/proc/self/maps");
    size_t n = 0;
    int c;
    while ((c = fgetc(f)) != EOF)
        if (c == '\n')
            n++;
    fclose(f);
    return n;
}

static void bench_regions(void)
{
    size_t small = C.reg_small, large = C.reg_large, ops = C.reg_ops;
    section("regions: added ns per operation, few vs many regions, springvm vs the kernel's VMAs");
    long before = read_max_map();
    long limit = raise_max_map(262144);
    size_t have = count_vmas();
    if (limit <= 0 || (size_t)limit < have + ops + small + 256)
        die_msg("cannot read a usable vm.max_map_count");
    size_t klarge = (size_t)limit - have - ops - 256;
    if (C.quick && klarge > 65000)
        klarge = 65000;
    note("vm.max_map_count %ld%s; kernel at %zu and %zu VMAs (mmap / mincore / munmap of one page)", limit,
         limit != before ? " (raised for this run, restored at exit)" : "", small, klarge);
    note("springvm at %zu and %zu regions (map / get_mappings of one page / unmap); %zu ops of each kind,", small,
         large, ops);
    note("median of %d repetitions per set-up; added = large - small per round; ratio = median added / median added",
         REG_REPS);
    enum { NR = 3 };
    struct reg_ns s1[NR], s2[NR], k1[NR], k2[NR];
    for (int i = 0; i < NR; i++) {
        s1[i] = spring_regions(small, ops);
        k1[i] = kernel_regions(small, ops);
        s2[i] = spring_regions(large, ops);
        k2[i] = kernel_regions(klarge, ops);
    }
    static const char *names[3] = {"map", "lookup", "unmap"};
    for (int op = 0; op < 3; op++) {
        double a[NR], b[NR], sa[NR], sb[NR], ka[NR], kb[NR];
        for (int i = 0; i < NR; i++) {
            const double *x1 = &s1[i].map, *x2 = &s2[i].map, *y1 = &k1[i].map, *y2 = &k2[i].map;
            sa[i] = x1[op];
            sb[i] = x2[op];
            ka[i] = y1[op];
            kb[i] = y2[op];
            a[i] = sb[i] - sa[i];
            b[i] = kb[i] - ka[i];
        }
        char name[80];
        snprintf(name, sizeof name, "%s, added ns/op (%d rnd)", names[op], NR);
        struct st sa_ = summarize(a, NR), sb_ = summarize(b, NR);
        double q = sa_.med / sb_.med; /* a ratio of medians: per-round ratios of small differences are noise */
        struct st r = sb_.med > 0 ? (struct st){q, q, q} : NOVAL;
        row(name, sa_, "", sb_, "", r, "springvm <= kernel", sa_.med <= sb_.med);
        note("%s ns/op: springvm %.0f at %zu, %.0f at %zu; kernel %.0f at %zu, %.0f at %zu", names[op],
             summarize(sa, NR).med, small, summarize(sb, NR).med, large, summarize(ka, NR).med, small,
             summarize(kb, NR).med, klarge);
    }
    restore_max_map();
}

/* ------------------------------------------------------------------ */

static bool want(const char *list, const char *name)
{
    if (list == NULL)
        return true;
    size_t n = strlen(name);
    for (const char *p = list; (p = strstr(p, name)) != NULL; p += n)
        if ((p == list || p[-1] == ',') && (p[n] == '\0' || p[n] == ','))
            return true;
    return false;
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_paging [-q] [-s paging,filepager,swap,zerofill,metadata,scaling,regions] [-b 4|16|64]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    bool quick = false;
    const char *only = NULL;
    size_t only_block = 0;
    int opt;
    while ((opt = getopt(argc, argv, "qs:b:h")) != -1) {
        switch (opt) {
        case 'q':
            quick = true;
            break;
        case 'b':
            only_block = strtoul(optarg, NULL, 10) * KiB;
            if (only_block != 4 * KiB && only_block != 16 * KiB && only_block != 64 * KiB)
                usage();
            break;
        case 's':
            only = optarg;
            break;
        default:
            usage();
        }
    }
    if (optind != argc)
        usage();
    static const char *known[] = {"paging", "filepager", "swap", "zerofill", "metadata", "scaling", "regions"};
    if (only) {
        char *copy = strdup(only), *save = NULL;
        for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            bool ok = false;
            for (size_t i = 0; i < sizeof known / sizeof *known; i++)
                ok |= strcmp(t, known[i]) == 0;
            if (!ok)
                usage();
        }
        free(copy);
    }
    config(quick);
    C.only_block = only_block;
    printf("springvm paging benchmark%s: each figure is the median of interleaved rounds [min, max];\n",
           quick ? " (quick mode)" : "");
    printf("ratio = springvm / baseline per round (see each section).  Timings are not tests.\n");
    printf("%ld processors online, load average %s%s\n\n", sysconf(_SC_NPROCESSORS_ONLN), loadavg(),
           " (other work on the machine makes the figures noisy)");
    header();
    double t0 = now();
    /* Metadata first: RSS is cleanest before other sections free memory. */
    if (want(only, "metadata"))
        bench_metadata();
    if (want(only, "paging"))
        bench_paging();
    if (want(only, "filepager"))
        bench_filepager();
    if (want(only, "swap"))
        bench_swap();
    if (want(only, "zerofill"))
        bench_zerofill();
    if (want(only, "scaling"))
        bench_scaling();
    if (want(only, "regions"))
        bench_regions();
    section_end();
    printf("\n%d goals met, %d not met (%.0f s; load average now %s)\n", nmet, nnotmet, now() - t0, loadavg());
    return 0;
}
