/*
 * springvm.c - the command that runs a configured paging stack.
 *
 *   springvm run [CONFIG] [--json]   build the stack of CONFIG (default:
 *                                    the shipped configuration), run its
 *                                    workloads, check every byte read back,
 *                                    print statistics
 *   springvm check-config CONFIG     validate a configuration
 *   springvm plugins [--path DIR]    list the plugins on the search path
 *   springvm test-pager PLUGIN ...   a model-based random test of a pager
 *                                    plugin (testpager.c)
 *   springvm new-pager NAME          write a pager plugin skeleton (newpager.c)
 *
 * Workloads (the configuration's "workloads" array, checked as strictly as
 * the rest; see springvm(1) and docs/configuration.md):
 *   {"kind": "sequential", "as", "mapping", "access", "io_size", "passes"}
 *   {"kind": "random", "as", "mapping", "count", "io_size", "seed", "write_percent"}
 *   {"kind": "trace", "file"}        one access per line: AS r|w ADDRESS LENGTH
 *   {"kind": "sync"}                 spring_vmm_sync(), then the files of
 *                                    objects with a "path" option checked
 *
 * Data are checked against a model: a page written by a workload holds a
 * pattern that depends on its object, its page and the number of times it
 * was written (writes are whole pages); a read compares every byte of the
 * pages it touches that the model knows (anonymous memory starts zero;
 * other objects' pages are known once written).  Any mismatch makes run
 * exit non-zero.
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
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include <spring/spring.h>

#include "testpager.h"

#ifndef SPRINGVM_DEFAULT_CONFIG
#define SPRINGVM_DEFAULT_CONFIG "default.json"
#endif

static const char *prog = "springvm";

static void usage(FILE *f)
{
    fprintf(f,
            "usage: springvm COMMAND [ARGS]\n"
            "\n"
            "Run a paging stack of the Spring virtual memory system from a JSON configuration.\n"
            "\n"
            "commands:\n"
            "  run [CONFIG] [--json] [--plot FILE.png] [--trace FILE]\n"
            "                             build the stack of CONFIG (default: %s), run its\n"
            "                             workloads, check every byte read back, print statistics;\n"
            "                             --json prints them as one JSON document and nothing else;\n"
            "                             --plot draws faults, page-ins, page-outs and free frames\n"
            "                             over time with gnuplot; --trace dumps the VMM's event trace\n"
            "                             (binds, pager calls, faults) to FILE\n"
            "  trace FILE                 print a trace dump as text, one record per line\n"
            "  check-config CONFIG        validate CONFIG and print its errors as run would\n"
            "  plugins [--path DIR]...    list the plugins on the search path: name, kind, version,\n"
            "                             file, options; marks plugins another one shadows\n"
            "  test-pager PLUGIN [KEY=VALUE]... [--object KEY=VALUE]... [--seed N] [--ops N]\n"
            "             [--pages N] [--pool SIZE] [--file PATH]\n"
            "                             a model-based random test (paper 9.8) of a pager or swap plugin (a\n"
            "                             name on the search path or a path): every byte read through its\n"
            "                             mappings, view and file interface checked after writes, flushes,\n"
            "                             syncs and new binds; --file PATH: the file the pager stores the\n"
            "                             object in, checked after every flush and sync; prints the seed,\n"
            "                             and the operations on failure; exit 1 on failure\n"
            "  new-pager NAME             write a pager plugin skeleton into the new directory NAME: NAME.c\n"
            "                             (files as memory objects through the store helper) and a\n"
            "                             Makefile that builds it with pkg-config springvm\n"
            "  help                       this text\n"
            "\n"
            "Exit status: 0 on success; 1 when a workload read data other than what was written;\n"
            "2 for an error (a bad configuration, a plugin that does not load, a failed call).\n"
            "The configuration format is docs/configuration.md; plugins are found along\n"
            "SPRING_PLUGIN_PATH, the configuration's plugin_path, the build tree and the installed\n"
            "plugin directory.\n",
            SPRINGVM_DEFAULT_CONFIG);
}

__attribute__((format(printf, 1, 2))) static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", prog);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ------------------------------------------------------------------ */
/* The data model.                                                      */

/* A mapping known to the runner: where it is, and which object pages it
 * shows (object id, first object page). */
struct rmap {
    const char *as_name;
    const char *name;
    spring_as_t *as;
    spring_addr_t addr;
    spring_off_t len;
    uint32_t obj;       /* model object id */
    uint64_t first;     /* object page at addr */
    bool zero_initial;  /* the object is anonymous: unwritten pages read zero */
    bool writable;
};

/* Versions of written pages: open addressing on (object, page). */
struct model {
    uint64_t *keys; /* (obj << 40 | page) + 1; 0 = empty */
    uint32_t *ver;
    size_t cap, n;
};

static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static uint32_t *model_slot(struct model *m, uint32_t obj, uint64_t page, bool add)
{
    uint64_t key = (((uint64_t)obj << 40) | page) + 1;
    if (add && 2 * (m->n + 1) > m->cap) {
        size_t ncap = m->cap ? 2 * m->cap : 1024;
        uint64_t *nk = calloc(ncap, sizeof *nk);
        uint32_t *nv = calloc(ncap, sizeof *nv);
        if (!nk || !nv)
            die("out of memory");
        for (size_t i = 0; i < m->cap; i++)
            if (m->keys[i]) {
                size_t j = mix(m->keys[i]) & (ncap - 1);
                while (nk[j])
                    j = (j + 1) & (ncap - 1);
                nk[j] = m->keys[i];
                nv[j] = m->ver[i];
            }
        free(m->keys);
        free(m->ver);
        m->keys = nk;
        m->ver = nv;
        m->cap = ncap;
    }
    if (m->cap == 0)
        return NULL;
    size_t j = mix(key) & (m->cap - 1);
    while (m->keys[j] && m->keys[j] != key)
        j = (j + 1) & (m->cap - 1);
    if (m->keys[j] == 0) {
        if (!add)
            return NULL;
        m->keys[j] = key;
        m->n++;
    }
    return &m->ver[j];
}

/* The page's pattern for a version (version 0 of an anonymous page: zero). */
static void pattern(uint8_t *buf, size_t ps, uint32_t obj, uint64_t page, uint32_t ver)
{
    if (ver == 0) {
        memset(buf, 0, ps);
        return;
    }
    uint64_t x = mix(((uint64_t)obj << 40) ^ (page << 8) ^ ((uint64_t)ver << 52) ^ ver);
    for (size_t i = 0; i < ps; i += 8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        memcpy(buf + i, &x, 8);
    }
}

struct runner {
    spring_stack_t *stack;
    spring_vmm_t *vmm;
    size_t ps, nframes;
    struct rmap *maps;
    size_t nmaps;
    struct model model;
    uint8_t *buf, *want;
    uint64_t reads, writes, bytes_read, bytes_written, mismatches, checked_pages, disk_pages;
    const json_t *objs;   /* the configuration's objects */
    bool json, progress;
    double t0, last_progress;
    /* --plot: the VMM's counters sampled every SAMPLE_S seconds */
    const char *plot;
    double last_sample;
    struct sample *samples;
    size_t nsamples, capsamples;
};

#define SAMPLE_S 0.02

struct sample {
    double t;
    uint64_t faults, page_ins, page_outs;
    size_t free_frames;
};

static void sample_now(struct runner *r, double t)
{
    spring_vmm_obj_t vo;
    spring_vm_info_t vi = {.size = sizeof vi};
    if (spring_vmm_get_object(r->vmm, SPRING_PRIV_USER, &vo) != 0 || spring_vmm_get_vm_info(vo, &vi) != 0)
        return;
    if (r->nsamples == r->capsamples) {
        size_t cap = r->capsamples ? 2 * r->capsamples : 1024;
        struct sample *n = realloc(r->samples, cap * sizeof *n);
        if (n == NULL)
            return;
        r->samples = n;
        r->capsamples = cap;
    }
    r->samples[r->nsamples++] = (struct sample){t - r->t0, vi.faults, vi.page_ins, vi.page_outs, vi.free_frames};
    r->last_sample = t;
}

static void progress(struct runner *r, const char *what, uint64_t done, uint64_t total)
{
    if (!r->progress && !r->plot)
        return;
    double t = now_s();
    if (r->plot && t - r->last_sample >= SAMPLE_S)
        sample_now(r, t);
    if (!r->progress)
        return;
    if (t - r->t0 < 2 || t - r->last_progress < 0.5)
        return;
    r->last_progress = t;
    fprintf(stderr, "\r%s: %s %3.0f%% (%" PRIu64 " reads, %" PRIu64 " writes, %" PRIu64 " mismatches)   ", prog,
            what, total ? 100.0 * (double)done / (double)total : 0.0, r->reads, r->writes, r->mismatches);
    fflush(stderr);
}

/* Write whole page p (index within mapping m) with its next version. */
static void write_page(struct runner *r, const struct rmap *m, uint64_t p)
{
    uint64_t op = m->first + p;
    uint32_t *v = model_slot(&r->model, m->obj, op, true);
    uint32_t nv = *v + 1;
    pattern(r->buf, r->ps, m->obj, op, nv);
    int rc = spring_as_write(m->as, m->addr + p * r->ps, r->buf, r->ps);
    if (rc != 0)
        die("write of %s:%s page %" PRIu64 ": %s (%s)", m->as_name, m->name, p, spring_strerror(rc),
            spring_last_error());
    *v = nv;
    r->writes++;
    r->bytes_written += r->ps;
}

/* Read [off, off + len) of page p of mapping m and check what the model
 * knows of it. */
static void read_check(struct runner *r, const struct rmap *m, uint64_t p, size_t off, size_t len)
{
    int rc = spring_as_read(m->as, m->addr + p * r->ps + off, r->buf, len);
    if (rc != 0)
        die("read of %s:%s page %" PRIu64 ": %s (%s)", m->as_name, m->name, p, spring_strerror(rc),
            spring_last_error());
    r->reads++;
    r->bytes_read += len;
    uint64_t op = m->first + p;
    uint32_t *v = model_slot(&r->model, m->obj, op, false);
    if (v == NULL && !m->zero_initial)
        return; /* never written by this run: unknown */
    pattern(r->want, r->ps, m->obj, op, v ? *v : 0);
    r->checked_pages++;
    if (memcmp(r->buf, r->want + off, len) != 0) {
        if (r->mismatches++ < 10)
            fprintf(stderr, "%s: MISMATCH in %s:%s at 0x%" PRIx64 " (object page %" PRIu64 ", version %u)\n", prog,
                    m->as_name, m->name, (uint64_t)(m->addr + p * r->ps + off), op, v ? *v : 0);
    }
}

/* ------------------------------------------------------------------ */
/* Workloads.                                                           */

static const struct rmap *find_map(const struct runner *r, const char *as, const char *name)
{
    for (size_t i = 0; i < r->nmaps; i++)
        if (strcmp(r->maps[i].as_name, as) == 0 && r->maps[i].name && strcmp(r->maps[i].name, name) == 0)
            return &r->maps[i];
    return NULL;
}

static const char *config_path;

__attribute__((format(printf, 2, 3))) static void wfail(size_t i, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: %s: workloads[%zu]: ", prog, config_path, i);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

static uint64_t wsize(size_t i, const json_t *w, const char *key, uint64_t def)
{
    const json_t *v = json_object_get(w, key);
    uint64_t x;
    if (v == NULL)
        return def;
    if (json_is_integer(v) && json_integer_value(v) >= 0)
        return (uint64_t)json_integer_value(v);
    if (json_is_string(v) && spring_parse_size(json_string_value(v), &x) == 0)
        return x;
    wfail(i, "%s: expected a size (a number, or a string like \"4KiB\")", key);
    return 0;
}

static uint64_t wuint(size_t i, const json_t *w, const char *key, uint64_t def, uint64_t max)
{
    const json_t *v = json_object_get(w, key);
    if (v == NULL)
        return def;
    if (!json_is_integer(v) || json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) > max)
        wfail(i, "%s: expected an integer from 0 to %" PRIu64, key, max);
    return (uint64_t)json_integer_value(v);
}

static const char *wstr(size_t i, const json_t *w, const char *key)
{
    const json_t *v = json_object_get(w, key);
    if (v == NULL || !json_is_string(v))
        wfail(i, "%s: expected a string", key);
    return json_string_value(v);
}

static void wkeys(size_t i, const json_t *w, const char *const *keys)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)w, k, v) {
        bool ok = false;
        for (size_t j = 0; keys[j] && !ok; j++)
            ok = strcmp(keys[j], k) == 0;
        if (!ok) {
            char list[256] = "";
            size_t at = 0;
            for (size_t j = 0; keys[j]; j++)
                at += (size_t)snprintf(list + at, sizeof list - at, "%s%s", j ? ", " : "", keys[j]);
            wfail(i, "%s: unknown key (expected one of: %s)", k, list);
        }
    }
}

static const struct rmap *wmap(struct runner *r, size_t i, const json_t *w)
{
    const char *as = wstr(i, w, "as"), *name = wstr(i, w, "mapping");
    const struct rmap *m = find_map(r, as, name);
    if (m == NULL)
        wfail(i, "no mapping named \"%s\" in address space \"%s\"", name, as);
    return m;
}

static void run_sequential(struct runner *r, size_t i, const json_t *w, bool dry)
{
    static const char *const keys[] = {"kind", "as", "mapping", "access", "io_size", "passes", NULL};
    wkeys(i, w, keys);
    const struct rmap *m = wmap(r, i, w);
    const char *acc = json_object_get(w, "access") ? wstr(i, w, "access") : "write-read";
    bool wr = strcmp(acc, "write") == 0 || strcmp(acc, "write-read") == 0;
    bool rd = strcmp(acc, "read") == 0 || strcmp(acc, "write-read") == 0;
    if (!wr && !rd)
        wfail(i, "access: expected \"read\", \"write\" or \"write-read\", found \"%s\"", acc);
    if (wr && !m->writable)
        wfail(i, "mapping %s:%s is not writable", m->as_name, m->name);
    uint64_t io = wsize(i, w, "io_size", r->ps), passes = wuint(i, w, "passes", 1, 1000000);
    if (io == 0 || io > r->ps)
        wfail(i, "io_size: expected 1 to %zu bytes (reads of part of a page; writes are whole pages)", r->ps);
    if (dry)
        return;
    uint64_t np = (uint64_t)m->len / r->ps;
    for (uint64_t pass = 0; pass < passes; pass++) {
        for (uint64_t p = 0; wr && p < np; p++) {
            write_page(r, m, p);
            progress(r, "sequential write", pass * np + p, passes * np);
        }
        for (uint64_t p = 0; rd && p < np; p++) {
            read_check(r, m, p, 0, (size_t)io);
            progress(r, "sequential read", pass * np + p, passes * np);
        }
    }
}

static void run_random(struct runner *r, size_t i, const json_t *w, bool dry)
{
    static const char *const keys[] = {"kind", "as", "mapping", "count", "io_size", "seed", "write_percent", NULL};
    wkeys(i, w, keys);
    const struct rmap *m = wmap(r, i, w);
    uint64_t count = wuint(i, w, "count", 10000, UINT64_C(1) << 40), io = wsize(i, w, "io_size", 4096);
    uint64_t seed = wuint(i, w, "seed", 1, UINT64_MAX >> 1), wp = wuint(i, w, "write_percent", 50, 100);
    if (io == 0 || io > r->ps)
        wfail(i, "io_size: expected 1 to %zu bytes", r->ps);
    if (wp > 0 && !m->writable)
        wfail(i, "mapping %s:%s is not writable (give write_percent 0)", m->as_name, m->name);
    if (dry)
        return;
    uint64_t np = (uint64_t)m->len / r->ps, x = seed;
    for (uint64_t k = 0; k < count; k++) {
        x = mix(x);
        uint64_t p = x % np;
        if ((x >> 40) % 100 < wp)
            write_page(r, m, p);
        else
            read_check(r, m, p, (size_t)((x >> 20) % (r->ps - io + 1)), (size_t)io);
        progress(r, "random", k, count);
    }
}

/* A trace line: AS r|w ADDRESS LENGTH. */
/* A path of the configuration: relative paths start from its directory. */
static void config_relative(const char *file, char *path, size_t n)
{
    const char *slash = strrchr(config_path, '/');
    if (file[0] != '/' && slash)
        snprintf(path, n, "%.*s/%s", (int)(slash - config_path), config_path, file);
    else
        snprintf(path, n, "%s", file);
}

static void run_trace(struct runner *r, size_t i, const json_t *w, bool dry)
{
    static const char *const keys[] = {"kind", "file", NULL};
    wkeys(i, w, keys);
    const char *file = wstr(i, w, "file");
    char path[4096];
    config_relative(file, path, sizeof path);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        wfail(i, "file: %s: %s", path, strerror(errno));
    char line[1024];
    unsigned lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char as[256], op[8], a[64], l[64], extra[8];
        int n = sscanf(line, "%255s %7s %63s %63s %7s", as, op, a, l, extra);
        if (n <= 0)
            continue;
        if (n != 4) {
            fclose(f);
            die("%s:%u: expected AS r|w ADDRESS LENGTH", path, lineno);
        }
        char *e1, *e2;
        errno = 0;
        unsigned long long addr = strtoull(a, &e1, 0), len = strtoull(l, &e2, 0);
        if (*e1 || *e2 || errno || len == 0 || (strcmp(op, "r") && strcmp(op, "w"))) {
            fclose(f);
            die("%s:%u: expected AS r|w ADDRESS LENGTH (numbers decimal or 0x hex, LENGTH > 0)", path, lineno);
        }
        const struct rmap *m = NULL;
        for (size_t k = 0; k < r->nmaps && !m; k++)
            if (strcmp(r->maps[k].as_name, as) == 0 && addr >= r->maps[k].addr &&
                addr + len <= r->maps[k].addr + (spring_addr_t)r->maps[k].len)
                m = &r->maps[k];
        if (m == NULL) {
            fclose(f);
            die("%s:%u: %s 0x%llx+%llu is not inside one configured mapping of address space \"%s\"", path, lineno,
                op, addr, len, as);
        }
        if (op[0] == 'w' && !m->writable) {
            fclose(f);
            die("%s:%u: mapping %s:%s is not writable", path, lineno, m->as_name, m->name ? m->name : "?");
        }
        if (dry)
            continue;
        progress(r, "trace", lineno, 0);
        uint64_t p0 = (addr - m->addr) / r->ps, p1 = (addr + len - 1 - m->addr) / r->ps;
        for (uint64_t p = p0; p <= p1; p++) {
            if (op[0] == 'w') {
                write_page(r, m, p);
            } else {
                size_t off = p == p0 ? (size_t)((addr - m->addr) % r->ps) : 0;
                size_t end = p == p1 ? (size_t)((addr + len - 1 - m->addr) % r->ps) + 1 : r->ps;
                read_check(r, m, p, off, end - off);
            }
        }
    }
    fclose(f);
}

/* The file of object id cannot be read after a sync: every page the run
 * wrote to the object is a mismatch. */
static void missing_file(struct runner *r, uint32_t id, const char *path)
{
    int e = errno;
    uint64_t n = 0;
    for (size_t j = 0; j < r->model.cap; j++)
        n += r->model.keys[j] != 0 && (r->model.keys[j] - 1) >> 40 == id;
    if (n > 0 && r->mismatches < 10)
        fprintf(stderr, "%s: MISMATCH on disk after sync: %s: %s (%" PRIu64 " pages written)\n", prog, path,
                strerror(e), n);
    r->mismatches += n;
}

/* After a sync: the file of every object whose options name a "path" (a
 * file pager's object) holds, in every page the run wrote and the file
 * still covers, what the run wrote last.  A file that several objects
 * name is not checked: which object's data reached it last is the pagers'
 * business (one cache, or several), not the model's. */
static void check_files(struct runner *r)
{
    size_t n = json_array_size(r->objs);
    struct stat *sb = calloc(n ? n : 1, sizeof *sb);
    bool *has = calloc(n ? n : 1, sizeof *has);
    if (sb == NULL || has == NULL)
        die("out of memory");
    char path[4096];
    for (size_t k = 0; k < n; k++) {
        const json_t *o = json_array_get(r->objs, k);
        const char *file = json_string_value(json_object_get(json_object_get(o, "options"), "path"));
        if (json_object_get(o, "pager") == NULL || file == NULL || file[0] == '\0')
            continue;
        config_relative(file, path, sizeof path);
        has[k] = stat(path, &sb[k]) == 0;
        if (!has[k])
            missing_file(r, (uint32_t)(k + 1), path);
    }
    for (size_t k = 0; k < n; k++) {
        if (!has[k])
            continue;
        bool shared = false;
        for (size_t l = 0; l < n; l++)
            shared |= l != k && has[l] && sb[l].st_dev == sb[k].st_dev && sb[l].st_ino == sb[k].st_ino;
        if (shared)
            continue;
        const json_t *o = json_array_get(r->objs, k);
        config_relative(json_string_value(json_object_get(json_object_get(o, "options"), "path")), path,
                        sizeof path);
        uint32_t id = (uint32_t)(k + 1); /* the model id of the object (collect_maps) */
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            missing_file(r, id, path);
            continue;
        }
        for (size_t j = 0; j < r->model.cap; j++) {
            uint64_t key = r->model.keys[j];
            if (key == 0 || (key - 1) >> 40 != id)
                continue;
            uint64_t page = (key - 1) & ((1ull << 40) - 1);
            if (pread(fd, r->buf, r->ps, (off_t)(page * r->ps)) != (ssize_t)r->ps)
                continue; /* the file no longer covers the page */
            pattern(r->want, r->ps, id, page, r->model.ver[j]);
            r->disk_pages++;
            if (memcmp(r->buf, r->want, r->ps) != 0 && r->mismatches++ < 10)
                fprintf(stderr, "%s: MISMATCH on disk after sync: %s page %" PRIu64 " (version %u)\n", prog, path,
                        page, r->model.ver[j]);
        }
        close(fd);
    }
    free(sb);
    free(has);
}

static void run_workloads(struct runner *r, const json_t *ws, bool dry)
{
    if (ws == NULL)
        return;
    if (!json_is_array(ws)) {
        fprintf(stderr, "%s: %s: workloads: expected an array\n", prog, config_path);
        exit(2);
    }
    for (size_t i = 0; i < json_array_size(ws); i++) {
        const json_t *w = json_array_get(ws, i);
        if (!json_is_object(w))
            wfail(i, "expected an object");
        const char *kind = wstr(i, w, "kind");
        if (strcmp(kind, "sequential") == 0)
            run_sequential(r, i, w, dry);
        else if (strcmp(kind, "random") == 0)
            run_random(r, i, w, dry);
        else if (strcmp(kind, "trace") == 0)
            run_trace(r, i, w, dry);
        else if (strcmp(kind, "sync") == 0) {
            static const char *const keys[] = {"kind", NULL};
            wkeys(i, w, keys);
            int rc = dry ? 0 : spring_vmm_sync(r->vmm);
            if (rc)
                die("sync: %s (%s)", spring_strerror(rc), spring_last_error());
            if (!dry)
                check_files(r);
        } else
            wfail(i, "kind: expected \"sequential\", \"random\", \"trace\" or \"sync\", found \"%s\"", kind);
    }
}

/* Draw the samples with gnuplot: faults, page-ins and page-outs per
 * interval and free frames, over time. */
static void plot(struct runner *r)
{
    char data[] = "/tmp/springvm-plot-XXXXXX";
    int fd = mkstemp(data);
    if (fd < 0)
        die("--plot: a temporary file: %s", strerror(errno));
    FILE *f = fdopen(fd, "w");
    for (size_t i = 1; i < r->nsamples; i++) {
        const struct sample *a = &r->samples[i - 1], *b = &r->samples[i];
        fprintf(f, "%.4f %" PRIu64 " %" PRIu64 " %" PRIu64 " %zu\n", b->t, b->faults - a->faults,
                b->page_ins - a->page_ins, b->page_outs - a->page_outs, b->free_frames);
    }
    fclose(f);
    FILE *g = popen("gnuplot", "w");
    if (g == NULL) {
        unlink(data);
        die("--plot: gnuplot could not be started: %s", strerror(errno));
    }
    fprintf(g,
            "set terminal png size 1000,600\n"
            "set output '%s'\n"
            "set title 'springvm run: %s'\n"
            "set xlabel 'seconds'\n"
            "set ylabel 'events per %.0f ms'\n"
            "set y2label 'free frames'\n"
            "set y2tics\n"
            "set y2range [0:%zu]\n"
            "set key outside bottom center horizontal\n"
            "plot '%s' using 1:2 with lines title 'faults', '' using 1:3 with lines title 'page-ins', "
            "'' using 1:4 with lines title 'page-outs', '' using 1:5 axes x1y2 with lines title 'free frames'\n",
            r->plot, config_path, SAMPLE_S * 1000, r->nframes, data);
    int st = pclose(g);
    unlink(data);
    if (st != 0)
        die("--plot: gnuplot failed (exit status %d); is it installed (Debian: gnuplot-nox)?", st);
}

/* ------------------------------------------------------------------ */
/* Commands.                                                            */

/* The mappings of the stack, with their objects' model ids. */
static void collect_maps(struct runner *r, const json_t *root)
{
    const json_t *ases = json_object_get(root, "address_spaces"), *objs = json_object_get(root, "objects");
    size_t n = 0;
    for (size_t i = 0; i < json_array_size(ases); i++)
        n += json_array_size(json_object_get(json_array_get(ases, i), "mappings"));
    r->maps = calloc(n ? n : 1, sizeof *r->maps);
    for (size_t i = 0; i < json_array_size(ases); i++) {
        const json_t *a = json_array_get(ases, i);
        const char *an = json_string_value(json_object_get(a, "name"));
        const json_t *ms = json_object_get(a, "mappings");
        spring_as_t *as;
        if (spring_stack_get_as(r->stack, an, &as) != 0)
            die("%s", spring_stack_error());
        for (size_t j = 0; j < json_array_size(ms); j++) {
            const json_t *m = json_array_get(ms, j);
            struct rmap *x = &r->maps[r->nmaps++];
            x->as_name = an;
            x->as = as;
            x->name = json_string_value(json_object_get(m, "name"));
            const char *rights = json_string_value(json_object_get(m, "rights"));
            x->writable = rights == NULL || strchr(rights, 'w') != NULL;
            const char *obj = json_string_value(json_object_get(m, "object"));
            if (obj == NULL) {
                x->obj = (uint32_t)(1000000 + r->nmaps); /* its own anonymous object */
                x->zero_initial = true;
            } else {
                /* The model id of an object: a view shares its base's. */
                size_t k;
                const char *base = obj;
                for (int hops = 0; hops < 64; hops++) {
                    const json_t *o = NULL;
                    for (k = 0; k < json_array_size(objs); k++)
                        if (strcmp(json_string_value(json_object_get(json_array_get(objs, k), "name")), base) == 0)
                            o = json_array_get(objs, k);
                    const char *v = json_string_value(json_object_get(o, "view"));
                    if (v == NULL) {
                        x->zero_initial = json_object_get(o, "anonymous") != NULL;
                        break;
                    }
                    base = v;
                }
                for (k = 0; k < json_array_size(objs); k++)
                    if (strcmp(json_string_value(json_object_get(json_array_get(objs, k), "name")), base) == 0)
                        break;
                x->obj = (uint32_t)(k + 1);
                x->first = wsize(0, m, "offset", 0) / r->ps;
            }
            if (x->name) {
                if (spring_stack_mapping(r->stack, an, x->name, &x->addr, &x->len) != 0)
                    die("%s", spring_stack_error());
            } else {
                x->name = NULL; /* unnamed mappings are not reachable by workloads */
            }
        }
    }
}

static void print_stats(struct runner *r, double secs, const json_t *root)
{
    spring_vm_info_t vi = {.size = sizeof vi};
    spring_vmm_obj_t vo;
    if (spring_vmm_get_object(r->vmm, SPRING_PRIV_USER, &vo) != 0 || spring_vmm_get_vm_info(vo, &vi) != 0)
        die("the VMM's information: %s", spring_last_error());
    const json_t *ases = json_object_get(root, "address_spaces");
    if (r->json) {
        json_t *doc = json_pack("{s:s, s:f, s:{s:I, s:I, s:I, s:I, s:I}, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
                                "s:I, s:I}}",
                                "config", config_path, "seconds", secs, "workloads", "reads", (json_int_t)r->reads,
                                "writes", (json_int_t)r->writes, "bytes_read", (json_int_t)r->bytes_read,
                                "bytes_written", (json_int_t)r->bytes_written, "mismatches",
                                (json_int_t)r->mismatches, "vmm", "page_size", (json_int_t)vi.page_size, "frames",
                                (json_int_t)vi.nframes, "free_frames", (json_int_t)vi.free_frames, "faults",
                                (json_int_t)vi.faults, "page_ins", (json_int_t)vi.page_ins, "page_outs",
                                (json_int_t)vi.page_outs, "write_backs", (json_int_t)vi.write_backs, "zero_fills",
                                (json_int_t)vi.zero_fills, "reclaims_clean", (json_int_t)vi.reclaims_clean, "scrubs",
                                (json_int_t)vi.scrubs, "caches", (json_int_t)vi.ncaches);
        json_object_set_new(json_object_get(doc, "workloads"), "disk_pages_checked",
                            json_integer((json_int_t)r->disk_pages));
        json_t *ja = json_array();
        for (size_t i = 0; i < json_array_size(ases); i++) {
            const char *an = json_string_value(json_object_get(json_array_get(ases, i), "name"));
            spring_as_t *as;
            spring_as_statistics_t st = {.size = sizeof st};
            if (spring_stack_get_as(r->stack, an, &as) != 0 || spring_as_statistics(as, &st) != 0)
                die("statistics of %s", an);
            json_t *pj = json_array();
            for (size_t k = 0; k < r->nmaps; k++) {
                spring_pager_stats_t ps = {.size = sizeof ps};
                if (r->maps[k].as != as || !r->maps[k].name ||
                    spring_as_pager_stats(as, r->maps[k].addr, &ps) != 0)
                    continue;
                json_array_append_new(pj, json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f}", "mapping",
                                                    r->maps[k].name, "page_ins", (json_int_t)ps.page_ins,
                                                    "page_outs", (json_int_t)ps.page_outs, "syncs",
                                                    (json_int_t)ps.syncs, "write_outs", (json_int_t)ps.write_outs,
                                                    "failures", (json_int_t)ps.failures, "bytes_in",
                                                    (json_int_t)ps.bytes_in, "bytes_out", (json_int_t)ps.bytes_out,
                                                    "pager_ms", (double)ps.ns / 1e6));
            }
            json_array_append_new(ja, json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o}", "name", an,
                                                "regions", (json_int_t)st.nregions, "resident",
                                                (json_int_t)st.resident, "faults", (json_int_t)st.faults,
                                                "zero_fills", (json_int_t)st.zero_fills, "page_ins",
                                                (json_int_t)st.page_ins, "protection_faults",
                                                (json_int_t)st.protection_faults, "unmapped_faults",
                                                (json_int_t)st.unmapped_faults, "tlb_hits", (json_int_t)st.tlb_hits,
                                                "pagers", pj));
            spring_stack_put_as(r->stack, as);
        }
        json_object_set_new(doc, "address_spaces", ja);
        json_dumpf(doc, stdout, JSON_INDENT(2));
        putchar('\n');
        json_decref(doc);
        return;
    }
    printf("%s: %s: %.2f s, %" PRIu64 " reads (%" PRIu64 " bytes), %" PRIu64 " writes (%" PRIu64
           " bytes), %" PRIu64 " pages checked (%" PRIu64 " of them on disk after a sync), %" PRIu64
           " mismatches\n\n",
           prog, config_path, secs, r->reads, r->bytes_read, r->writes, r->bytes_written,
           r->checked_pages + r->disk_pages, r->disk_pages, r->mismatches);
    printf("VMM %s: %zu frames of %zu bytes (%zu free, %zu caches)\n", spring_vmm_name(r->vmm), vi.nframes,
           vi.page_size, vi.free_frames, vi.ncaches);
    printf("  %-12s %-12s %-12s %-12s %-12s %-12s %-12s\n", "faults", "page_ins", "page_outs", "write_backs",
           "zero_fills", "clean_reuse", "scrubs");
    printf("  %-12" PRIu64 " %-12" PRIu64 " %-12" PRIu64 " %-12" PRIu64 " %-12" PRIu64 " %-12" PRIu64
           " %-12" PRIu64 "\n\n",
           vi.faults, vi.page_ins, vi.page_outs, vi.write_backs, vi.zero_fills, vi.reclaims_clean, vi.scrubs);
    printf("%-14s %-8s %-9s %-10s %-10s %-10s %-10s %-10s\n", "address space", "regions", "resident", "faults",
           "zero_fill", "page_in", "prot_flt", "tlb_hits");
    for (size_t i = 0; i < json_array_size(ases); i++) {
        const char *an = json_string_value(json_object_get(json_array_get(ases, i), "name"));
        spring_as_t *as;
        spring_as_statistics_t st = {.size = sizeof st};
        if (spring_stack_get_as(r->stack, an, &as) != 0 || spring_as_statistics(as, &st) != 0)
            die("statistics of %s", an);
        printf("%-14s %-8zu %-9zu %-10" PRIu64 " %-10" PRIu64 " %-10" PRIu64 " %-10" PRIu64 " %-10" PRIu64 "\n", an,
               st.nregions, st.resident, st.faults, st.zero_fills, st.page_ins, st.protection_faults, st.tlb_hits);
        spring_stack_put_as(r->stack, as);
    }
    printf("\n%-24s %-9s %-9s %-7s %-9s %-9s %-12s %-12s %-9s\n", "pager of mapping", "page_in", "page_out", "sync",
           "write_out", "failures", "bytes_in", "bytes_out", "pager_ms");
    for (size_t k = 0; k < r->nmaps; k++) {
        spring_pager_stats_t ps = {.size = sizeof ps};
        if (!r->maps[k].name || spring_as_pager_stats(r->maps[k].as, r->maps[k].addr, &ps) != 0)
            continue;
        char nm[64];
        snprintf(nm, sizeof nm, "%s:%s", r->maps[k].as_name, r->maps[k].name);
        printf("%-24s %-9" PRIu64 " %-9" PRIu64 " %-7" PRIu64 " %-9" PRIu64 " %-9" PRIu64 " %-12" PRIu64
               " %-12" PRIu64 " %-9.1f\n",
               nm, ps.page_ins, ps.page_outs, ps.syncs, ps.write_outs, ps.failures, ps.bytes_in, ps.bytes_out,
               (double)ps.ns / 1e6);
    }
}

static json_t *load_json(const char *path)
{
    json_error_t err;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
    if (root == NULL) {
        if (err.line > 0)
            fprintf(stderr, "%s: %s:%d:%d: %s\n", prog, path, err.line, err.column, err.text);
        else
            fprintf(stderr, "%s: %s: %s\n", prog, path, err.text);
        exit(2);
    }
    return root;
}

/* The trace ring springvm run --trace turns on when the configuration
 * does not size it. */
#define RUN_TRACE_RECORDS 65536

static int cmd_run(int argc, char **argv, bool check_only)
{
    struct runner r = {0};
    const char *trace_path = NULL;
    config_path = NULL;
    for (int i = 0; i < argc; i++) {
        if (!check_only && strcmp(argv[i], "--json") == 0)
            r.json = true;
        else if (!check_only && strcmp(argv[i], "--plot") == 0 && i + 1 < argc)
            r.plot = argv[++i];
        else if (!check_only && strcmp(argv[i], "--trace") == 0 && i + 1 < argc)
            trace_path = argv[++i];
        else if (argv[i][0] == '-')
            die("%s: unknown option %s (see springvm help)", check_only ? "check-config" : "run", argv[i]);
        else if (config_path == NULL)
            config_path = argv[i];
        else
            die("one configuration at a time (found %s and %s)", config_path, argv[i]);
    }
    if (config_path == NULL) {
        if (check_only)
            die("check-config: which configuration? (springvm check-config FILE)");
        config_path = access(SPRINGVM_DEFAULT_CONFIG, R_OK) == 0 ? SPRINGVM_DEFAULT_CONFIG : SPRINGVM_SOURCE_CONFIG;
    }
    json_t *root = load_json(config_path);
    int rc = spring_stack_open(config_path, &r.stack);
    if (rc != 0) {
        fprintf(stderr, "%s: %s\n", prog, spring_stack_error());
        json_decref(root);
        return 2;
    }
    if (spring_stack_get_vmm(r.stack, &r.vmm) != 0)
        die("%s", spring_stack_error());
    spring_vm_info_t vi = {.size = sizeof vi};
    spring_vmm_obj_t vo;
    if (spring_vmm_get_object(r.vmm, SPRING_PRIV_USER, &vo) != 0 || spring_vmm_get_vm_info(vo, &vi) != 0)
        die("the VMM's information");
    if (trace_path != NULL && spring_vmm_trace_size(r.vmm) == 0 &&
        (rc = spring_vmm_trace_set_size(r.vmm, RUN_TRACE_RECORDS)) != 0)
        die("--trace: %s", spring_strerror(rc));
    r.ps = vi.page_size;
    r.nframes = vi.nframes;
    r.buf = malloc(r.ps);
    r.want = malloc(r.ps);
    r.objs = json_object_get(root, "objects");
    collect_maps(&r, root);
    /* Check the workloads before running any. */
    run_workloads(&r, json_object_get(root, "workloads"), true);
    if (check_only) {
        printf("%s: %s: ok\n", prog, config_path);
    } else {
        r.progress = !r.json && isatty(STDERR_FILENO);
        r.t0 = now_s();
        if (r.plot)
            sample_now(&r, r.t0);
        run_workloads(&r, json_object_get(root, "workloads"), false);
        if (r.plot) {
            sample_now(&r, now_s());
            plot(&r);
        }
        if (trace_path != NULL) {
            FILE *tf = fopen(trace_path, "wb");
            if (tf == NULL)
                die("--trace: %s: %s", trace_path, strerror(errno));
            rc = spring_vmm_trace_dump(r.vmm, fileno(tf));
            if (fclose(tf) != 0 && rc == 0)
                rc = SPRING_EIO;
            if (rc != 0)
                die("--trace: %s: %s (%s)", trace_path, spring_strerror(rc), spring_last_error());
        }
        if (r.progress && now_s() - r.t0 >= 2)
            fputc('\n', stderr);
        print_stats(&r, now_s() - r.t0, root);
    }
    for (size_t i = 0; i < r.nmaps; i++)
        spring_stack_put_as(r.stack, r.maps[i].as);
    spring_stack_put_vmm(r.stack, r.vmm);
    rc = spring_stack_close(r.stack);
    if (rc != 0)
        die("closing the stack: %s", spring_stack_error());
    free(r.buf);
    free(r.want);
    free(r.maps);
    free(r.samples);
    free(r.model.keys);
    free(r.model.ver);
    json_decref(root);
    if (r.mismatches) {
        if (!r.json)
            fprintf(stderr, "%s: %" PRIu64 " mismatches: data read back differ from what was written\n", prog,
                    r.mismatches);
        return 1;
    }
    return 0;
}

static int cmd_trace(int argc, char **argv)
{
    if (argc != 1)
        die("trace: which dump? (springvm trace FILE)");
    int rc = spring_trace_print(argv[0], stdout);
    if (rc != 0) {
        fprintf(stderr, "%s: trace: %s\n", prog, spring_last_error());
        return 2;
    }
    return 0;
}

static int list_one(void *arg, const spring_plugin_entry_info_t *e)
{
    (void)arg;
    if (e->info == NULL) {
        printf("%-12s %-6s %-8s %s%s\n    does not load: %s\n", e->name, "?", "?", e->path,
               e->shadowed ? "  (shadowed)" : "", e->error);
        return 0;
    }
    const spring_plugin_t *d = e->info;
    printf("%-12s %-6s %-8s %s%s\n    %s\n", d->name, spring_plugin_kind_name(d->kind), d->version, e->path,
           e->shadowed ? "  (shadowed by an earlier one: never loaded by name)" : "", d->description);
    for (int pass = 0; pass < 2; pass++) {
        const spring_plugin_option_t *o = pass == 0 ? d->options : NULL;
        size_t n = pass == 0 ? d->noptions : 0;
        if (pass == 1 && d->kind == SPRING_PLUGIN_PAGER) {
            o = d->pager->object_options;
            n = d->pager->nobject_options;
        }
        for (size_t i = 0; i < n; i++)
            printf("    %s%-14s %-8s default %-10s %s\n", pass ? "object option " : "option ", o[i].name,
                   spring_option_type_name(o[i].type), o[i].def ? o[i].def : "(required)", o[i].doc ? o[i].doc : "");
    }
    return 0;
}

static int cmd_plugins(int argc, char **argv)
{
    const char **dirs = calloc((size_t)argc + 1, sizeof *dirs);
    size_t n = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--path") == 0 && i + 1 < argc)
            dirs[n++] = argv[++i];
        else
            die("plugins: unknown argument %s (springvm plugins [--path DIR]...)", argv[i]);
    }
    printf("%-12s %-6s %-8s %s\n", "name", "kind", "version", "file");
    int rc = spring_plugin_list(dirs, list_one, NULL);
    free(dirs);
    if (rc != 0)
        die("plugins: %s", spring_strerror(rc));
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("springvm %s\n", SPRING_VERSION_STRING);
        return 0;
    }
    if (strcmp(cmd, "run") == 0)
        return cmd_run(argc - 2, argv + 2, false);
    if (strcmp(cmd, "check-config") == 0)
        return cmd_run(argc - 2, argv + 2, true);
    if (strcmp(cmd, "plugins") == 0)
        return cmd_plugins(argc - 2, argv + 2);
    if (strcmp(cmd, "trace") == 0)
        return cmd_trace(argc - 2, argv + 2);
    if (strcmp(cmd, "test-pager") == 0)
        return springvm_test_pager(argc - 2, argv + 2);
    if (strcmp(cmd, "new-pager") == 0)
        return springvm_new_pager(argc - 2, argv + 2);
    fprintf(stderr, "%s: unknown command %s\n", prog, cmd);
    usage(stderr);
    return 2;
}
