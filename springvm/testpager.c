/*
 * testpager.c - springvm test-pager: a model-based random test (§9.8)
 * against any pager or swap-pager plugin.
 *
 * The plugin's instance serves a VMM with a small frame pool, so that pages
 * travel to the pager and back.  One memory object is made (a pager's with
 * the given object options; a swap pager's anonymous object) and mapped
 * read-write in two address spaces, plus read-only through a view when the
 * object offers the view interface.  Seeded operations write pages (random
 * bytes, all zero, nearly all zero) and ranges, read pages and ranges
 * through every mapping, the view and the file interface (when the object
 * offers it), flush, sync, and drop the cache (unmap, reclaim, map again:
 * a new bind, so every page comes back from the pager); every byte read is
 * checked against the model (model.h).  With --file, the store is a file
 * the test can read: its bytes are the object's initial content, and after
 * every flush and sync the pages that reached the pager must be in it.
 * A mismatch, a call that fails, or a protocol violation the VMM reports
 * (SPRING_EPROTO) fails the test; the seed and the last operations are
 * printed.  A pager without sync and write_out cannot take back data the
 * VMM keeps: those syncs fail with SPRING_ENOKEEP, which the test counts
 * and accepts (pager.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <spring/spring.h>

#include "model.h"
#include "testpager.h"

#define LOG_KEEP 64
#define ANON_PAGES 64

struct tp {
    spring_vmm_t *vmm;
    spring_registry_t *reg;
    spring_as_t *as[2];
    spring_as_t *ro_as;       /* the view's mapping, or NULL */
    spring_mobj_t *m, *view;
    const spring_file_t *fi;  /* the object's file interface, or NULL */
    spring_addr_t addr[2], ro_addr;
    spring_off_t mapped;      /* the length map_all's mappings got */
    size_t ps, npages;
    model_t md;
    uint8_t *buf, *buf2;      /* two pages each */
    const char *file;         /* --file: the store's bytes, or NULL */
    int fd;
    uint8_t *disk;            /* npages pages */
    uint64_t seed, x;
    char log[LOG_KEEP][160];
    uint64_t nops;
    /* A swap plugin also serves an address space's default anonymous
     * memory: allocations and unmaps in a window of ANON_PAGES pages. */
    spring_as_t *anon_as;
    spring_addr_t anon_base;
    size_t anon_pages;        /* the window: ANON_PAGES, or fewer for a small swap */
    model_t amd;
    uint8_t amapped[64];
    uint64_t anon_ops;
    uint64_t writes, reads, file_ops, flushes, syncs, rebinds, nokeep, disk_checks;
    uint64_t protocol, failures, mismatches;
};

static uint64_t rnd(struct tp *t)
{
    t->x += 0x9e3779b97f4a7c15ull;
    uint64_t z = t->x;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

__attribute__((format(printf, 2, 3))) static void logop(struct tp *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->log[t->nops % LOG_KEEP], sizeof t->log[0], fmt, ap);
    va_end(ap);
    t->nops++;
}

static void dump_log(const struct tp *t)
{
    uint64_t first = t->nops > LOG_KEEP ? t->nops - LOG_KEEP : 0;
    fprintf(stderr, "springvm test-pager: the last %" PRIu64 " operations:\n", t->nops - first);
    for (uint64_t i = first; i < t->nops; i++)
        fprintf(stderr, "  %6" PRIu64 "  %s\n", i, t->log[i % LOG_KEEP]);
}

static bool failed(const struct tp *t)
{
    return t->mismatches + t->failures + t->protocol != 0;
}

/* A call failed: record it (EPROTO counted apart). */
static bool check_rc(struct tp *t, int rc, const char *what)
{
    if (rc == 0)
        return true;
    if (rc == SPRING_EPROTO)
        t->protocol++;
    else
        t->failures++;
    fprintf(stderr, "springvm test-pager: %s: %s (%s): %s\n", what, spring_strerror(rc), spring_err_name(rc),
            spring_last_error());
    logop(t, "%s FAILED: %s", what, spring_err_name(rc));
    return false;
}

static void mismatch(struct tp *t, const model_diff_t *d, const char *via)
{
    if (t->mismatches++ < 5)
        fprintf(stderr,
                "springvm test-pager: MISMATCH: offset 0x%" PRIx64 " (page %" PRIu64 ") through %s: read 0x%02x, "
                "expected 0x%02x\n",
                d->offset, d->offset / t->ps, via, d->got, d->want);
    logop(t, "MISMATCH at 0x%" PRIx64 " via %s: 0x%02x, expected 0x%02x", d->offset, via, d->got, d->want);
}

static const char *const via_name[] = {"mapping 0", "mapping 1", "the read-only view", "the file interface"};
enum { VIA_MAP0, VIA_MAP1, VIA_VIEW, VIA_FILE };

/* Read [off, off+len) (len at most two pages) through via and check it. */
static void do_read(struct tp *t, int via, uint64_t off, size_t len)
{
    int rc;
    logop(t, "read 0x%" PRIx64 "+%zu via %s", off, len, via_name[via]);
    if (via == VIA_FILE) {
        size_t done = 0;
        rc = t->fi->read(t->m, (spring_off_t)off, t->buf, len, &done);
        if (rc == 0 && done != len) {
            t->failures++;
            fprintf(stderr, "springvm test-pager: the file interface read %zu bytes of %zu inside the object\n", done,
                    len);
            return;
        }
    } else if (via == VIA_VIEW) {
        rc = spring_as_read(t->ro_as, t->ro_addr + off, t->buf, len);
    } else {
        rc = spring_as_read(t->as[via], t->addr[via] + off, t->buf, len);
    }
    if (!check_rc(t, rc, "read"))
        return;
    t->reads++;
    model_diff_t d;
    if (!model_check(&t->md, off, t->buf, len, &d))
        mismatch(t, &d, via_name[via]);
}

/* Write [off, off+len) from t->buf through via (a mapping or the file
 * interface).  Pages it covers partly are read first, so that the model
 * knows the bytes it keeps. */
static void do_write(struct tp *t, int via, uint64_t off, size_t len, const char *what)
{
    uint64_t first = off / t->ps * t->ps, last = (off + len - 1) / t->ps * t->ps;
    memcpy(t->buf2, t->buf, len); /* the reads below use t->buf */
    if (!model_known(&t->md, first, t->ps))
        do_read(t, VIA_MAP0, first, t->ps);
    if (last != first && !model_known(&t->md, last, t->ps))
        do_read(t, VIA_MAP0, last, t->ps);
    if (failed(t))
        return;
    memcpy(t->buf, t->buf2, len);
    logop(t, "write %s 0x%" PRIx64 "+%zu via %s", what, off, len, via_name[via]);
    int rc = via == VIA_FILE ? t->fi->write(t->m, (spring_off_t)off, t->buf, len)
                             : spring_as_write(t->as[via], t->addr[via] + off, t->buf, len);
    if (check_rc(t, rc, "write")) {
        model_write(&t->md, off, t->buf, len);
        t->writes++;
    }
}

/* With --file: the pages that reached the pager must be in the file. */
static void check_disk(struct tp *t, const char *after)
{
    if (t->file == NULL || failed(t))
        return;
    size_t len = t->npages * t->ps;
    ssize_t n = pread(t->fd, t->disk, len, 0);
    if (n != (ssize_t)len) {
        t->failures++;
        fprintf(stderr, "springvm test-pager: %s: read %zd bytes of %zu (%m)\n", t->file, n, len);
        return;
    }
    t->disk_checks++;
    model_diff_t d;
    if (!model_check_store(&t->md, t->disk, &d)) {
        char via[256];
        snprintf(via, sizeof via, "the file %s after %s", t->file, after);
        mismatch(t, &d, via);
    }
}

/* Map the object twice and the view once; t->mapped: the length the
 * mappings got (a pager may shorten a binding). */
static int map_all(struct tp *t)
{
    spring_off_t len = (spring_off_t)(t->npages * t->ps);
    t->mapped = len;
    for (int i = 0; i < 2; i++) {
        t->addr[i] = SPRING_ANYWHERE;
        int rc = spring_as_map(t->as[i], t->m, 0, &len, &t->addr[i], SPRING_RIGHTS_RW);
        if (rc)
            return rc;
        if (len < t->mapped)
            t->mapped = len;
    }
    if (t->view) {
        t->ro_addr = SPRING_ANYWHERE;
        int rc = spring_as_map(t->ro_as, t->view, 0, &len, &t->ro_addr, SPRING_RIGHTS_RO);
        if (rc)
            return rc;
    }
    return 0;
}

static void unmap_all(struct tp *t)
{
    spring_off_t len = (spring_off_t)(t->npages * t->ps);
    for (int i = 0; i < 2; i++)
        (void)spring_as_unmap(t->as[i], t->addr[i], len);
    if (t->view)
        (void)spring_as_unmap(t->ro_as, t->ro_addr, len);
}

static void sync_all(struct tp *t, const char *what)
{
    logop(t, "%s", what);
    int rc = spring_vmm_sync(t->vmm);
    if (rc == SPRING_ENOKEEP) { /* a pager without sync and write_out */
        t->nokeep++;
        return;
    }
    if (check_rc(t, rc, what)) {
        model_stored(&t->md, 0, t->npages);
        t->syncs++;
        check_disk(t, "a sync");
    }
}

/* Drop the cache: every page out of it (a flush that keeps nothing, so
 * that pages leave even when the pager keeps a mapping of its own, as a
 * file pager's file interface does), the mappings gone, the caches
 * reclaimed, and a new bind: every page now comes from the pager. */
static void drop_cache(struct tp *t, const char *what)
{
    logop(t, "%s: flush everything, unmap, reclaim caches, map again (a new bind)", what);
    int rc = spring_as_flush(t->as[0], t->addr[0], (spring_off_t)(t->npages * t->ps), false);
    if (check_rc(t, rc, "the flush before a new bind")) {
        model_stored(&t->md, 0, t->npages);
        check_disk(t, "a flush");
    }
    unmap_all(t);
    (void)spring_vmm_reclaim_caches(t->vmm, 0);
    if (check_rc(t, map_all(t), "map again"))
        t->rebinds++;
}

/* A page of random bytes, all zero, or all zero but a few bytes (never the
 * first: a pager that judges a page zero by its first byte is wrong). */
static void fill(struct tp *t, uint8_t *p, size_t len, int kind)
{
    memset(p, 0, len);
    if (kind == 1 || (kind == 2 && len < 2))
        return;
    if (kind == 2 && len > 1) {
        for (int k = 0; k < 3; k++)
            p[1 + rnd(t) % (len - 1)] = (uint8_t)(1 + rnd(t) % 255);
        return;
    }
    for (size_t i = 0; i + 8 <= len; i += 8) {
        uint64_t v = rnd(t);
        memcpy(p + i, &v, 8);
    }
    for (size_t i = len / 8 * 8; i < len; i++)
        p[i] = (uint8_t)rnd(t);
}

/* An operation on the default anonymous memory of t->anon_as (a swap
 * plugin's): allocate a free run of the window (it reads zero), unmap a
 * run (the pager is told it is zero: a swap frees its slots), write or
 * read a page (an unmapped one: SPRING_ENOTMAPPED). */
static void anon_step(struct tp *t, uint64_t r)
{
    size_t p = (size_t)((r >> 8) % t->anon_pages), n = 1 + (size_t)((r >> 20) % 8);
    if (p + n > t->anon_pages)
        n = t->anon_pages - p;
    spring_addr_t at = t->anon_base + (spring_addr_t)p * t->ps;
    unsigned what = (unsigned)((r >> 32) % 5);
    int rc;
    t->anon_ops++;
    if (what == 0) {
        for (size_t i = 0; i < n; i++)
            if (t->amapped[p + i])
                return; /* not free: another time */
        logop(t, "anonymous memory: allocate pages %zu..%zu", p, p + n - 1);
        spring_off_t len = (spring_off_t)(n * t->ps);
        rc = spring_as_allocate_memory(t->anon_as, &len, &at, SPRING_RIGHTS_RW);
        if (check_rc(t, rc, "allocate_memory")) {
            memset(t->buf, 0, t->ps);
            for (size_t i = 0; i < n; i++) {
                model_write(&t->amd, (uint64_t)(p + i) * t->ps, t->buf, t->ps);
                t->amapped[p + i] = 1;
            }
        }
    } else if (what == 4) { /* out to the swap, so that the next access pages in */
        size_t k = 0;
        while (k < n && t->amapped[p + k])
            k++;
        if (k == 0)
            return;
        logop(t, "anonymous memory: flush pages %zu..%zu", p, p + k - 1);
        (void)check_rc(t, spring_as_flush(t->anon_as, at, (spring_off_t)(k * t->ps), false), "flush");
    } else if (what == 1) {
        logop(t, "anonymous memory: unmap pages %zu..%zu", p, p + n - 1);
        if (check_rc(t, spring_as_unmap(t->anon_as, at, (spring_off_t)(n * t->ps)), "unmap"))
            memset(t->amapped + p, 0, n);
    } else {
        bool w = what == 2;
        if (w)
            fill(t, t->buf, t->ps, (int)(r >> 60) % 3);
        logop(t, "anonymous memory: %s page %zu%s", w ? "write" : "read", p, t->amapped[p] ? "" : " (not mapped)");
        rc = w ? spring_as_write(t->anon_as, at, t->buf, t->ps) : spring_as_read(t->anon_as, at, t->buf2, t->ps);
        if (!t->amapped[p]) {
            if (rc != SPRING_ENOTMAPPED) {
                t->failures++;
                fprintf(stderr, "springvm test-pager: an access to unmapped anonymous memory returned %s, expected "
                                "SPRING_ENOTMAPPED\n", spring_err_name(rc));
            }
        } else if (check_rc(t, rc, w ? "write to anonymous memory" : "read of anonymous memory")) {
            model_diff_t d;
            if (w)
                model_write(&t->amd, (uint64_t)p * t->ps, t->buf, t->ps);
            else if (!model_check(&t->amd, (uint64_t)p * t->ps, t->buf2, t->ps, &d))
                mismatch(t, &d, "the anonymous memory of an address space");
        }
    }
}

static void step(struct tp *t)
{
    uint64_t r = rnd(t);
    if (t->anon_as && r % 4 == 0) {
        anon_step(t, rnd(t));
        return;
    }
    size_t p = (size_t)((r >> 8) % t->npages);
    int m = (int)((r >> 40) & 1);
    unsigned op = (unsigned)(r % 100);
    uint64_t off = (uint64_t)p * t->ps;
    /* a range of 1 byte to two pages, inside the object */
    size_t rlen = 1 + (size_t)((r >> 44) % (2 * t->ps));
    uint64_t roff = off + (r >> 20) % t->ps;
    if (roff + rlen > t->npages * t->ps)
        rlen = (size_t)(t->npages * t->ps - roff);
    if (op < 20) { /* a page of random bytes */
        fill(t, t->buf, t->ps, 0);
        do_write(t, m, off, t->ps, "page");
    } else if (op < 24) { /* an all-zero page: page-outs carry it as an indication */
        fill(t, t->buf, t->ps, 1);
        do_write(t, m, off, t->ps, "zero page");
    } else if (op < 28) { /* zero but for a few bytes */
        fill(t, t->buf, t->ps, 2);
        do_write(t, m, off, t->ps, "sparse page");
    } else if (op < 33) { /* a range */
        fill(t, t->buf, rlen, (int)(r >> 60) % 3);
        do_write(t, m, roff, rlen, "range");
    } else if (op < 58) {
        do_read(t, m, off, t->ps);
    } else if (op < 63) {
        do_read(t, m, roff, rlen);
    } else if (op < 70 && t->view) { /* the read-only view: reads, and a write refused */
        do_read(t, VIA_VIEW, off, t->ps);
        int rc = spring_as_write(t->ro_as, t->ro_addr + off, t->buf, 1);
        if (rc != SPRING_EACCES) {
            t->failures++;
            fprintf(stderr, "springvm test-pager: a write through the read-only view returned %s, expected "
                            "SPRING_EACCES\n", spring_err_name(rc));
            logop(t, "write via view NOT refused");
        }
    } else if (op < 75 && t->fi) { /* the file interface */
        t->file_ops++;
        if ((r >> 58) & 1) {
            fill(t, t->buf, rlen, (int)(r >> 60) % 3);
            do_write(t, VIA_FILE, roff, rlen, "range");
        } else {
            do_read(t, VIA_FILE, roff, rlen);
        }
    } else if (op < 75) {
        do_read(t, m ^ 1, off, t->ps);
    } else if (op < 83) { /* flush a range */
        size_t n = 1 + (size_t)((r >> 20) % 16);
        if (p + n > t->npages)
            n = t->npages - p;
        bool keep = (r >> 50) & 1;
        logop(t, "flush pages %zu..%zu via mapping %d%s", p, p + n - 1, m, keep ? " (keep)" : "");
        int rc = spring_as_flush(t->as[m], t->addr[m] + off, (spring_off_t)(n * t->ps), keep);
        if (rc == SPRING_ENOKEEP && keep) {
            t->nokeep++;
        } else if (check_rc(t, rc, "flush")) {
            model_stored(&t->md, p, n);
            t->flushes++;
            check_disk(t, "a flush");
        }
    } else if (op < 89) {
        sync_all(t, "sync the VMM");
    } else if (op < 92 && t->fi) { /* the object's own sync (file interface) */
        logop(t, "sync the file");
        t->file_ops++;
        if (check_rc(t, t->fi->sync(t->m), "the file interface's sync")) {
            model_stored(&t->md, 0, t->npages);
            t->syncs++;
            check_disk(t, "the file's sync");
        }
    } else if (op < 92) {
        sync_all(t, "sync the VMM");
    } else { /* drop the cache: every page comes back from the pager */
        drop_cache(t, "drop the cache");
    }
}

int springvm_test_pager(int argc, char **argv)
{
    const char *name = NULL, *file = NULL;
    int status = 2;
    void *inst = NULL, *swapper = NULL;
    /* Freed on every bad input too (goto bad), so that a sanitizer build
     * sees no leak from the refused command lines the tests try. */
    spring_plugin_lib_t *lib = NULL;
    spring_options_t *io = NULL, *oo = NULL;
    const char **iopts = calloc((size_t)argc + 1, sizeof *iopts), **oopts = calloc((size_t)argc + 1, sizeof *oopts);
    size_t ni = 0, no = 0;
    uint64_t seed = (uint64_t)time(NULL), ops = 20000, pool = 256 * 1024, pages = 256;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--object") == 0 && i + 1 < argc)
            oopts[no++] = argv[++i];
        else if (strcmp(a, "--file") == 0 && i + 1 < argc)
            file = argv[++i];
        else if (strcmp(a, "--seed") == 0 && i + 1 < argc)
            seed = strtoull(argv[++i], NULL, 0);
        else if (strcmp(a, "--ops") == 0 && i + 1 < argc)
            ops = strtoull(argv[++i], NULL, 0);
        else if (strcmp(a, "--pages") == 0 && i + 1 < argc)
            pages = strtoull(argv[++i], NULL, 0);
        else if (strcmp(a, "--pool") == 0 && i + 1 < argc) {
            if (spring_parse_size(argv[++i], &pool) != 0) {
                fprintf(stderr, "springvm test-pager: --pool: expected a size, found %s\n", argv[i]);
                goto bad;
            }
        } else if (a[0] == '-') {
            fprintf(stderr, "springvm test-pager: unknown option %s (see springvm help)\n", a);
            goto bad;
        } else if (name == NULL)
            name = a;
        else if (strchr(a, '='))
            iopts[ni++] = a;
        else {
            fprintf(stderr, "springvm test-pager: expected KEY=VALUE, found %s\n", a);
            goto bad;
        }
    }
    if (name == NULL) {
        fprintf(stderr, "springvm test-pager: which plugin? (springvm test-pager PLUGIN [KEY=VALUE]... "
                        "[--object KEY=VALUE]...)\n");
        goto bad;
    }
    if (pages == 0 || ops == 0) {
        fprintf(stderr, "springvm test-pager: --pages and --ops must be positive\n");
        goto bad;
    }
    int rc = spring_plugin_load(name, NULL, SPRING_PLUGIN_ANY, &lib);
    if (rc) {
        fprintf(stderr, "springvm test-pager: %s\n", spring_last_error());
        goto bad;
    }
    const spring_plugin_t *d = spring_plugin_info(lib);
    bool swap = d->kind == SPRING_PLUGIN_SWAP;
    if (d->kind != SPRING_PLUGIN_PAGER && !swap) {
        fprintf(stderr, "springvm test-pager: %s: expected a pager or swap plugin, found plugin %s of kind %s\n",
                spring_plugin_path(lib), d->name, d->kind == SPRING_PLUGIN_HAT ? "hat" : "unknown");
        goto bad;
    }
    if (swap && (no > 0 || file)) {
        fprintf(stderr, "springvm test-pager: %s is a swap pager: its objects are anonymous memory, made without "
                        "object options or a file (--object, --file)\n", d->name);
        goto bad;
    }
    if ((rc = spring_options_new(d->options, d->noptions, &io)) != 0 ||
        (!swap && (rc = spring_options_new(d->pager->object_options, d->pager->nobject_options, &oo)) != 0)) {
        fprintf(stderr, "springvm test-pager: %s\n", spring_last_error());
        goto bad;
    }
    for (size_t i = 0; i < ni; i++)
        if ((rc = spring_options_assign(io, iopts[i])) != 0) {
            fprintf(stderr, "springvm test-pager: instance option (KEY=VALUE): %s\n", spring_last_error());
            goto bad;
        }
    for (size_t i = 0; i < no; i++)
        if ((rc = spring_options_assign(oo, oopts[i])) != 0) {
            fprintf(stderr, "springvm test-pager: object option (--object KEY=VALUE): %s\n", spring_last_error());
            goto bad;
        }
    if ((rc = spring_options_check(io)) != 0) {
        fprintf(stderr, "springvm test-pager: instance option (KEY=VALUE): %s\n", spring_last_error());
        goto bad;
    }
    if (oo && (rc = spring_options_check(oo)) != 0) {
        fprintf(stderr, "springvm test-pager: object option (--object KEY=VALUE): %s\n", spring_last_error());
        goto bad;
    }
    free(iopts);
    free(oopts);
    iopts = oopts = NULL;

    struct tp t = {.seed = seed, .x = seed, .file = file, .fd = -1};
    printf("springvm test-pager: %s plugin %s %s (%s), seed %" PRIu64 ", %" PRIu64 " operations\n",
           swap ? "swap" : "pager", d->name, d->version, spring_plugin_path(lib), seed, ops);
    fflush(stdout);
    if (file && (t.fd = open(file, O_RDONLY | O_CLOEXEC)) < 0) {
        fprintf(stderr, "springvm test-pager: --file %s: %m\n", file);
        goto setup_failed;
    }
    spring_vmm_config_t cfg;
    spring_vmm_config_init(&cfg);
    cfg.name = "test-pager";
    cfg.mode = SPRING_VMM_DETERMINISTIC;
    cfg.nframes = (size_t)(pool / cfg.page_size);
    if (cfg.nframes < 16)
        cfg.nframes = 16;
    const char *cred = "springvm-test-pager";
    if ((rc = spring_vmm_new(&cfg, &t.vmm)) || (rc = spring_registry_new(&t.reg)) ||
        (rc = spring_registry_add_vmm(t.reg, t.vmm)) || (rc = spring_registry_grant(t.reg, cred, SPRING_PRIV_SYSTEM))) {
        fprintf(stderr, "springvm test-pager: the VMM: %s\n", spring_strerror(rc));
        goto setup_failed;
    }
    t.ps = cfg.page_size;
    spring_plugin_env_t env = {.version = SPRING_PLUGIN_ENV_VERSION, .size = sizeof env, .registry = t.reg,
                               .vmm_name = cfg.name, .credential = swap || d->pager->needs_system ? cred : NULL,
                               .vmm = t.vmm, .base_dir = NULL};
    if (swap) {
        /* A swap pager: added to the VMM (which releases it when it goes),
         * and asked for an anonymous object of the size tested, all zero. */
        spring_vmm_obj_t vobj;
        if ((rc = d->swap->instance_new(&env, io, &swapper)) != 0) {
            fprintf(stderr, "springvm test-pager: the plugin's instance_new failed: %s (%s)\n", spring_strerror(rc),
                    spring_last_error());
            goto setup_failed;
        }
        if ((rc = spring_registry_lookup(t.reg, cfg.name, cred, &vobj)) != 0 ||
            (rc = spring_vmm_add_swap_pager(vobj, d->swap->ops, swapper, false)) != 0) {
            fprintf(stderr, "springvm test-pager: add_swap_pager: %s (%s)\n", spring_strerror(rc), spring_last_error());
            if (d->swap->ops->release)
                d->swap->ops->release(swapper);
            goto setup_failed;
        }
        /* (swapper stays valid until the VMM is destroyed) */
        if ((rc = d->swap->ops->create_mobj(swapper, (spring_off_t)(pages * t.ps), &t.m)) != 0 || t.m == NULL) {
            fprintf(stderr, "springvm test-pager: the plugin's create_mobj failed: %s (%s)\n", spring_strerror(rc),
                    spring_last_error());
            goto setup_failed;
        }
        /* A swap that reports its slots (spring.swap) and has fewer than
         * the pages tested: a smaller object, so that a full swap (which
         * refuses page-outs with SPRING_ENOSPC, as it should) is not
         * taken for a failure. */
        const spring_swap_iface_t *sw = spring_mobj_query(t.m, SPRING_SWAP_INTERFACE, SPRING_SWAP_INTERFACE_VERSION);
        spring_swap_stats_t ss;
        t.anon_pages = ANON_PAGES;
        if (sw && sw->stats(t.m, &ss) == 0 && ss.slots_free < pages + ANON_PAGES) {
            /* (room for the window too: a quarter of the swap at most) */
            t.anon_pages = ss.slots_free / 4 < ANON_PAGES ? (size_t)(ss.slots_free / 4) : ANON_PAGES;
            pages = ss.slots_free - t.anon_pages;
            printf("springvm test-pager: the swap has %" PRIu64 " free slots: the object is made %" PRIu64
                   " pages long (%zu more for anonymous memory)\n",
                   (uint64_t)ss.slots_free, pages, t.anon_pages);
            spring_mobj_unref(t.m);
            t.m = NULL;
            if (pages == 0 ||
                (rc = d->swap->ops->create_mobj(swapper, (spring_off_t)(pages * t.ps), &t.m)) != 0 || t.m == NULL) {
                fprintf(stderr, "springvm test-pager: the plugin's create_mobj failed: %s (%s)\n",
                        spring_strerror(rc), spring_last_error());
                goto setup_failed;
            }
        }
    } else {
        if ((rc = d->pager->instance_new(&env, io, &inst)) != 0) {
            fprintf(stderr, "springvm test-pager: the plugin's instance_new failed: %s (%s)\n", spring_strerror(rc),
                    spring_last_error());
            goto setup_failed;
        }
        if ((rc = d->pager->mobj_new(inst, oo, &t.m)) != 0 || t.m == NULL) {
            fprintf(stderr, "springvm test-pager: the plugin's mobj_new failed: %s (%s)\n", spring_strerror(rc),
                    spring_last_error());
            goto setup_failed;
        }
    }
    spring_off_t len;
    if (spring_mobj_get_length(t.m, &len) == 0 && (uint64_t)len / t.ps < pages)
        pages = (uint64_t)len / t.ps;
    if (pages == 0) {
        fprintf(stderr, "springvm test-pager: the object is shorter than a page\n");
        goto setup_failed;
    }
    t.npages = (size_t)pages;
    const spring_mobj_view_t *vi = spring_mobj_query(t.m, SPRING_MOBJ_VIEW_INTERFACE, 1);
    if (vi && (rc = vi->view(t.m, SPRING_RIGHTS_RO, &t.view)) != 0) {
        fprintf(stderr, "springvm test-pager: the object's view interface failed: %s\n", spring_strerror(rc));
        goto setup_failed;
    }
    t.fi = spring_mobj_query(t.m, SPRING_FILE_INTERFACE, 1);
    for (int i = 0; i < 2; i++)
        if ((rc = spring_as_new(t.vmm, NULL, &t.as[i])) != 0)
            goto setup_failed;
    if (t.view && spring_as_new(t.vmm, NULL, &t.ro_as) != 0)
        goto setup_failed;
    if ((rc = map_all(&t)) != 0) {
        fprintf(stderr, "springvm test-pager: mapping the object failed: %s (%s)\n", spring_strerror(rc),
                spring_last_error());
        goto setup_failed;
    }
    if (t.mapped < (spring_off_t)(t.npages * t.ps)) { /* the pager shortened the binding (pager.h, bind) */
        printf("springvm test-pager: the pager's bind shortened the mapping to %" PRIu64 " bytes\n",
               (uint64_t)t.mapped);
        t.npages = (size_t)t.mapped / t.ps;
        if (t.npages == 0)
            goto setup_failed;
    }
    printf("springvm test-pager: %zu pages of %zu bytes tested", t.npages, t.ps);
    if (spring_mobj_get_length(t.m, &len) == 0 && (uint64_t)len % t.ps != 0 && (uint64_t)len / t.ps == t.npages)
        printf(" (the object is %" PRIu64 " bytes: its last %" PRIu64 " bytes, a partial page, are not tested)",
               (uint64_t)len, (uint64_t)len % t.ps);
    printf("\n");
    t.buf = malloc(2 * t.ps);
    t.buf2 = malloc(2 * t.ps);
    if (model_init(&t.md, t.ps, t.npages) != 0 || !t.buf || !t.buf2 ||
        (file && (t.disk = malloc(t.npages * t.ps)) == NULL)) {
        fprintf(stderr, "springvm test-pager: out of memory\n");
        goto setup_failed;
    }
    if (swap) {
        uint8_t *zeros = calloc(t.npages, t.ps); /* anonymous memory starts all zero: every page known */
        if (zeros == NULL)
            goto setup_failed;
        model_learn_store(&t.md, zeros);
        free(zeros);
    } else if (file) { /* the store's bytes are the object's initial content */
        ssize_t n = pread(t.fd, t.disk, t.npages * t.ps, 0);
        if (n != (ssize_t)(t.npages * t.ps)) {
            fprintf(stderr, "springvm test-pager: --file %s: %zd bytes read of the %zu the object has (%s)\n", file,
                    n, t.npages * t.ps, n < 0 ? strerror(errno) : "shorter than the object");
            goto setup_failed;
        }
        model_learn_store(&t.md, t.disk);
    }
    if (swap && t.anon_pages > 0) {
        /* The default anonymous memory of an address space comes from the
         * plugin too (the VMM's only permanent swap pager): a window of
         * anon_pages pages where memory is allocated and unmapped. */
        spring_off_t wl = (spring_off_t)(t.anon_pages * t.ps);
        t.anon_base = SPRING_ANYWHERE;
        if ((rc = spring_as_new(t.vmm, NULL, &t.anon_as)) != 0 ||
            (rc = spring_as_allocate_memory(t.anon_as, &wl, &t.anon_base, SPRING_RIGHTS_RW)) != 0 ||
            (rc = spring_as_unmap(t.anon_as, t.anon_base, wl)) != 0 || model_init(&t.amd, t.ps, t.anon_pages) != 0) {
            fprintf(stderr, "springvm test-pager: anonymous memory: %s (%s)\n", spring_strerror(rc),
                    spring_last_error());
            goto setup_failed;
        }
    }
    for (uint64_t i = 0; i < ops && !failed(&t); i++)
        step(&t);
    /* The end: everything written back, the cache dropped, every page
     * read back from the pager. */
    if (!failed(&t)) {
        sync_all(&t, "final: sync");
        uint64_t binds = t.rebinds;
        drop_cache(&t, "final");
        if (t.rebinds > binds) {
            logop(&t, "final: read every page");
            for (size_t p = 0; p < t.npages && !failed(&t); p++)
                do_read(&t, VIA_MAP0, (uint64_t)p * t.ps, t.ps);
        }
    }
    bool ok = !failed(&t);
    status = ok ? 0 : 1;
    printf("springvm test-pager: %" PRIu64 " operations: %" PRIu64 " writes, %" PRIu64 " reads (%" PRIu64
           " through the file interface), %" PRIu64 " flushes, %" PRIu64 " syncs, %" PRIu64 " new binds, %" PRIu64
           " file checks; %" PRIu64 " mismatches, %" PRIu64 " failed calls, %" PRIu64 " protocol violations\n",
           t.nops, t.writes, t.reads, t.file_ops, t.flushes, t.syncs, t.rebinds, t.disk_checks, t.mismatches,
           t.failures, t.protocol);
    spring_vmm_obj_t vo;
    spring_vm_info_t vi_end = {.size = sizeof vi_end};
    if (spring_registry_lookup(t.reg, cfg.name, NULL, &vo) == 0 && spring_vmm_get_vm_info(vo, &vi_end) == 0)
        printf("springvm test-pager: the pager was called %" PRIu64 " times to page in and %" PRIu64
               " times to page out\n", vi_end.page_ins, vi_end.page_outs);
    if (t.anon_as)
        printf("springvm test-pager: %" PRIu64 " operations on an address space's anonymous memory (allocate, flush, "
               "unmap, write, read)\n", t.anon_ops);
    if (!t.view)
        printf("springvm test-pager: the object offers no read-only view (spring.view): not tested\n");
    if (!t.fi)
        printf("springvm test-pager: the object offers no file interface (spring.file): not tested\n");
    if (t.nokeep)
        printf("springvm test-pager: %" PRIu64 " syncs and flushes that keep data refused with SPRING_ENOKEEP "
               "(the pager has neither sync nor write_out)\n", t.nokeep);
    if (!ok) {
        dump_log(&t);
        printf("springvm test-pager: FAILED (seed %" PRIu64 "; rerun with --seed %" PRIu64 ")\n", seed, seed);
    } else {
        printf("springvm test-pager: passed (seed %" PRIu64 ")\n", seed);
    }
setup_failed: /* status 2 when the set-up failed */
    /* Teardown in order: mappings, objects, the VMM, the instance, the plugin. */
    for (int i = 0; i < 2; i++)
        spring_as_destroy(t.as[i]);
    spring_as_destroy(t.ro_as);
    spring_as_destroy(t.anon_as);
    model_fini(&t.amd);
    spring_mobj_unref(t.view);
    spring_mobj_unref(t.m);
    if (inst && d->pager->instance_stop)
        d->pager->instance_stop(inst);
    if (t.reg && t.vmm)
        (void)spring_registry_remove_vmm(t.reg, t.vmm);
    rc = t.vmm ? spring_vmm_destroy(t.vmm) : 0;
    if (rc != 0) {
        fprintf(stderr, "springvm test-pager: destroying the VMM: %s (%s)\n", spring_strerror(rc),
                spring_last_error());
        if (status == 0)
            status = 1;
    } else {
        if (inst)
            d->pager->instance_destroy(inst);
        if (t.reg)
            spring_registry_destroy(t.reg);
        spring_plugin_unref(lib); /* (kept loaded when the VMM could not go: its caches call the plugin) */
    }
    if (t.fd >= 0)
        close(t.fd);
    spring_options_free(io);
    spring_options_free(oo);
    model_fini(&t.md);
    free(t.buf);
    free(t.buf2);
    free(t.disk);
    return status;

bad: /* a bad command line, plugin or option (exit 2) */
    free(iopts);
    free(oopts);
    spring_options_free(io);
    spring_options_free(oo);
    spring_plugin_unref(lib);
    return 2;
}
