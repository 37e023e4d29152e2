/*
 * testpager.c - springvm test-pager: a model-based random test (§9.8)
 * against any pager plugin.
 *
 * The plugin's instance serves a VMM with a small frame pool, so that pages
 * travel to the pager and back.  One memory object is made with the given
 * object options and mapped twice (two address spaces; plus a read-only
 * view when the object offers the view interface).  Seeded operations
 * write and read pages through the mappings, flush, sync, drop the cache
 * (unmap, reclaim, map again: a new bind, so every page comes back from
 * the pager) and check every byte against the model: the content of a page
 * is what was last written through any mapping, or, for a page not yet
 * written, what the first read saw.  A mismatch, a call that fails, or a
 * protocol violation the VMM reports (SPRING_EPROTO) fails the test; the
 * seed and the last operations are printed.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <spring/spring.h>

#include "testpager.h"

#define LOG_KEEP 64

struct tp {
    spring_vmm_t *vmm;
    spring_registry_t *reg;
    spring_as_t *as[2];
    spring_as_t *ro_as;       /* the view's mapping, or NULL */
    spring_mobj_t *m, *view;
    spring_addr_t addr[2], ro_addr;
    size_t ps, npages;
    uint8_t *expect;          /* npages pages */
    uint8_t *known;           /* per page */
    uint8_t *buf;
    uint64_t seed, x;
    char log[LOG_KEEP][160];
    uint64_t nops;
    uint64_t writes, reads, flushes, syncs, rebinds, protocol, failures, mismatches;
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

static void compare(struct tp *t, size_t p, const uint8_t *got, const char *via)
{
    if (!t->known[p]) {
        memcpy(t->expect + p * t->ps, got, t->ps);
        t->known[p] = 1;
        return;
    }
    const uint8_t *want = t->expect + p * t->ps;
    if (memcmp(got, want, t->ps) != 0) {
        size_t i = 0;
        while (got[i] == want[i])
            i++;
        if (t->mismatches++ < 5)
            fprintf(stderr,
                    "springvm test-pager: MISMATCH: page %zu byte %zu through %s: read 0x%02x, expected 0x%02x\n", p,
                    i, via, got[i], want[i]);
        logop(t, "MISMATCH page %zu byte %zu via %s", p, i, via);
    }
}

static int map_all(struct tp *t)
{
    for (int i = 0; i < 2; i++) {
        spring_off_t len = (spring_off_t)(t->npages * t->ps);
        t->addr[i] = SPRING_ANYWHERE;
        int rc = spring_as_map(t->as[i], t->m, 0, &len, &t->addr[i], SPRING_RIGHTS_RW);
        if (rc)
            return rc;
    }
    if (t->view) {
        spring_off_t len = (spring_off_t)(t->npages * t->ps);
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

static void step(struct tp *t)
{
    uint64_t r = rnd(t);
    size_t p = (size_t)((r >> 8) % t->npages);
    int m = (int)((r >> 40) & 1);
    unsigned op = (unsigned)(r % 100);
    int rc;
    if (op < 35) { /* write a page */
        for (size_t i = 0; i < t->ps; i += 8) {
            uint64_t v = rnd(t);
            memcpy(t->buf + i, &v, 8);
        }
        logop(t, "write page %zu via mapping %d", p, m);
        rc = spring_as_write(t->as[m], t->addr[m] + p * t->ps, t->buf, t->ps);
        if (check_rc(t, rc, "write")) {
            memcpy(t->expect + p * t->ps, t->buf, t->ps);
            t->known[p] = 1;
            t->writes++;
        }
    } else if (op < 75) { /* read a page */
        logop(t, "read page %zu via mapping %d", p, m);
        rc = spring_as_read(t->as[m], t->addr[m] + p * t->ps, t->buf, t->ps);
        if (check_rc(t, rc, "read")) {
            compare(t, p, t->buf, m ? "mapping 1" : "mapping 0");
            t->reads++;
        }
    } else if (op < 82 && t->view) { /* read through the read-only view */
        logop(t, "read page %zu via the read-only view", p);
        rc = spring_as_read(t->ro_as, t->ro_addr + p * t->ps, t->buf, t->ps);
        if (check_rc(t, rc, "read of the view")) {
            compare(t, p, t->buf, "the read-only view");
            t->reads++;
        }
        /* and a write through it must be refused */
        rc = spring_as_write(t->ro_as, t->ro_addr + p * t->ps, t->buf, 1);
        if (rc != SPRING_EACCES) {
            t->failures++;
            fprintf(stderr, "springvm test-pager: a write through the read-only view returned %s, expected "
                            "SPRING_EACCES\n", spring_err_name(rc));
            logop(t, "write via view NOT refused");
        }
    } else if (op < 90) { /* flush a range */
        size_t n = 1 + (size_t)((r >> 20) % 16);
        if (p + n > t->npages)
            n = t->npages - p;
        bool keep = (r >> 50) & 1;
        logop(t, "flush pages %zu..%zu via mapping %d%s", p, p + n - 1, m, keep ? " (keep)" : "");
        rc = spring_as_flush(t->as[m], t->addr[m] + p * t->ps, (spring_off_t)(n * t->ps), keep);
        if (check_rc(t, rc, "flush"))
            t->flushes++;
    } else if (op < 95) { /* sync everything */
        logop(t, "sync the VMM");
        if (check_rc(t, spring_vmm_sync(t->vmm), "sync"))
            t->syncs++;
    } else { /* drop the cache: every page comes back from the pager */
        logop(t, "unmap, reclaim caches, map again (a new bind)");
        unmap_all(t);
        (void)spring_vmm_reclaim_caches(t->vmm, 0);
        if (check_rc(t, map_all(t), "map again"))
            t->rebinds++;
    }
}

int springvm_test_pager(int argc, char **argv)
{
    const char *name = NULL;
    int status = 2;
    void *inst = NULL;
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
    int rc = spring_plugin_load(name, NULL, SPRING_PLUGIN_PAGER, &lib);
    if (rc) {
        fprintf(stderr, "springvm test-pager: %s\n", spring_last_error());
        goto bad;
    }
    const spring_plugin_t *d = spring_plugin_info(lib);
    if ((rc = spring_options_new(d->options, d->noptions, &io)) != 0 ||
        (rc = spring_options_new(d->pager->object_options, d->pager->nobject_options, &oo)) != 0) {
        fprintf(stderr, "springvm test-pager: %s\n", spring_last_error());
        goto bad;
    }
    for (size_t i = 0; i < ni; i++)
        if ((rc = spring_options_assign(io, iopts[i])) != 0) {
            fprintf(stderr, "springvm test-pager: instance option: %s\n", spring_last_error());
            goto bad;
        }
    for (size_t i = 0; i < no; i++)
        if ((rc = spring_options_assign(oo, oopts[i])) != 0) {
            fprintf(stderr, "springvm test-pager: object option: %s\n", spring_last_error());
            goto bad;
        }
    if ((rc = spring_options_check(io)) != 0 || (rc = spring_options_check(oo)) != 0) {
        fprintf(stderr, "springvm test-pager: %s\n", spring_last_error());
        goto bad;
    }
    free(iopts);
    free(oopts);

    struct tp t = {.seed = seed, .x = seed};
    printf("springvm test-pager: plugin %s %s (%s), seed %" PRIu64 ", %" PRIu64 " operations\n", d->name, d->version,
           spring_plugin_path(lib), seed, ops);
    fflush(stdout);
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
                               .vmm_name = cfg.name, .credential = d->pager->needs_system ? cred : NULL,
                               .vmm = t.vmm, .base_dir = NULL};
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
    for (int i = 0; i < 2; i++)
        if ((rc = spring_as_new(t.vmm, NULL, &t.as[i])) != 0)
            goto setup_failed;
    if (t.view && spring_as_new(t.vmm, NULL, &t.ro_as) != 0)
        goto setup_failed;
    t.expect = calloc(t.npages, t.ps);
    t.known = calloc(t.npages, 1);
    t.buf = malloc(t.ps);
    if ((rc = map_all(&t)) != 0) {
        fprintf(stderr, "springvm test-pager: mapping the object failed: %s (%s)\n", spring_strerror(rc),
                spring_last_error());
        goto setup_failed;
    }
    for (uint64_t i = 0; i < ops && t.mismatches + t.failures + t.protocol == 0; i++)
        step(&t);
    /* The end: everything written back, the cache dropped, every page
     * read back from the pager. */
    if (t.mismatches + t.failures + t.protocol == 0) {
        logop(&t, "final: sync, unmap, reclaim, map again, read every page");
        check_rc(&t, spring_vmm_sync(t.vmm), "final sync");
        unmap_all(&t);
        (void)spring_vmm_reclaim_caches(t.vmm, 0);
        if (check_rc(&t, map_all(&t), "final map"))
            for (size_t p = 0; p < t.npages; p++)
                if (check_rc(&t, spring_as_read(t.as[0], t.addr[0] + p * t.ps, t.buf, t.ps), "final read"))
                    compare(&t, p, t.buf, "mapping 0 (final)");
    }
    bool ok = t.mismatches + t.failures + t.protocol == 0;
    status = ok ? 0 : 1;
    printf("springvm test-pager: %" PRIu64 " operations: %" PRIu64 " writes, %" PRIu64 " reads, %" PRIu64
           " flushes, %" PRIu64 " syncs, %" PRIu64 " new binds; %" PRIu64 " mismatches, %" PRIu64
           " failed calls, %" PRIu64 " protocol violations%s\n",
           t.nops, t.writes, t.reads, t.flushes, t.syncs, t.rebinds, t.mismatches, t.failures, t.protocol,
           t.view ? "" : " (the object offers no read-only view)");
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
    spring_options_free(io);
    spring_options_free(oo);
    free(t.expect);
    free(t.known);
    free(t.buf);
    return status;

bad: /* a bad command line, plugin or option (exit 2) */
    free(iopts);
    free(oopts);
    spring_options_free(io);
    spring_options_free(oo);
    spring_plugin_unref(lib);
    return 2;
}
