/*
 * bench_core.c - speed of the core paths, each printed as a ratio against a
 * baseline measured side by side in the same run:
 *
 *  1. a zero-fill fault through spring_as_write (one byte into each fresh
 *     page, zeroing included) against the Linux kernel's own anonymous page
 *     fault (one byte into each fresh page of an anonymous mmap); goal <= 0.1x
 *  2. a translation that hits: spring_as_translate_fast (no pin, QSBR)
 *     against a plain load of the same pages, goal <= 3x; and the pinned
 *     spring_as_translate + spring_pin_release for comparison
 *  3. map, lookup (spring_as_get_mappings of one page at a random mapped
 *     address) and unmap per operation with 1,000,000 regions against
 *     1,000 regions; goal <= 2x
 *
 * Each figure is the median of several rounds.  Usage: bench_core [-q]
 * (-q: smaller sizes, for a quick look).
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include <spring/spring.h>

#define DIE(call)                                                                          \
    do {                                                                                   \
        int rc_ = (call);                                                                  \
        if (rc_ != 0) {                                                                    \
            fprintf(stderr, "bench: %s: %s\n", #call, spring_err_name(rc_));               \
            exit(1);                                                                       \
        }                                                                                  \
    } while (0)

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmpd);
    return v[n / 2];
}

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

#define ROUNDS 7

/* ------------------------------------------------------------------ */
/* 1. zero-fill faults                                                  */

static double kernel_fault_ns(size_t pages)
{
    size_t len = pages * 4096;
    uint8_t *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        perror("mmap");
        exit(1);
    }
    double t0 = now();
    for (size_t i = 0; i < pages; i++)
        p[i * 4096] = 1;
    double t = now() - t0;
    munmap(p, len);
    return t * 1e9 / (double)pages;
}

static double spring_fault_ns(spring_vmm_t *vmm, size_t pages)
{
    spring_as_t *as;
    DIE(spring_as_new(vmm, NULL, &as));
    spring_off_t len = pages * 4096;
    spring_addr_t a = SPRING_ANYWHERE;
    DIE(spring_as_allocate_memory(as, &len, &a, SPRING_RIGHTS_RW));
    uint8_t one = 1;
    double t0 = now();
    for (size_t i = 0; i < pages; i++)
        spring_as_write(as, a + i * 4096, &one, 1);
    double t = now() - t0;
    spring_as_destroy(as);
    return t * 1e9 / (double)pages;
}

/* ------------------------------------------------------------------ */
/* 2. TLB-hit translation                                               */

static double plain_load_ns(const volatile uint8_t *p, size_t pages, size_t n)
{
    uint64_t sum = 0;
    double t0 = now();
    for (size_t i = 0; i < n; i++)
        sum += p[(i % pages) * 4096 + (i & 63)];
    double t = now() - t0;
    if (sum == 42)
        puts("");
    return t * 1e9 / (double)n;
}

static double translate_ns(spring_as_t *as, spring_addr_t a, size_t pages, size_t n)
{
    uint64_t sum = 0;
    double t0 = now();
    for (size_t i = 0; i < n; i++) {
        void *p;
        spring_pin_t pin;
        if (spring_as_translate(as, a + (i % pages) * 4096 + (i & 63), SPRING_RIGHTS_R, &p, &pin) == 0) {
            sum += *(volatile uint8_t *)p;
            spring_pin_release(&pin);
        }
    }
    double t = now() - t0;
    if (sum == 42)
        puts("");
    return t * 1e9 / (double)n;
}

/* The same loop through spring_as_translate_fast (QSBR, no pin): a
 * quiescent point every 1024 translations, as an emulator's loop would. */
static double translate_fast_ns(spring_as_t *as, spring_addr_t a, size_t pages, size_t n)
{
    uint64_t sum = 0;
    double t0 = now();
    for (size_t i = 0; i < n; i++) {
        void *p;
        if (spring_as_translate_fast(as, a + (i % pages) * 4096 + (i & 63), SPRING_RIGHTS_R, &p) == 0)
            sum += *(volatile uint8_t *)p;
        if ((i & 1023) == 0)
            spring_quiescent();
    }
    double t = now() - t0;
    if (sum == 42)
        puts("");
    return t * 1e9 / (double)n;
}

/* ------------------------------------------------------------------ */
/* 3. regions: a pager whose one cache backs every mapping              */

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
    return SPRING_EBIND;
}

static const spring_mobj_ops_t bmobj_ops = {
    .version = SPRING_MOBJ_OPS_VERSION, .bind = b_bind, .final_bind = b_final_bind};

struct regions_result {
    double map_ns, lookup_ns, unmap_ns;
};

/* Map n one-page regions (with one-page gaps), then time `ops` maps,
 * lookups and unmaps of extra regions / random addresses. */
static struct regions_result regions_bench(size_t n, size_t ops)
{
    spring_vmm_config_t cfg;
    spring_vmm_config_init(&cfg);
    cfg.name = "bench-regions";
    cfg.nframes = 64;
    cfg.mode = SPRING_VMM_DETERMINISTIC;
    spring_vmm_t *vmm;
    DIE(spring_vmm_new(&cfg, &vmm));
    struct bpager bp = {0};
    DIE(spring_vmm_get_object(vmm, SPRING_PRIV_USER, &bp.vo));
    spring_mobj_t *m;
    DIE(spring_mobj_new(&bmobj_ops, &bp, &m));
    spring_as_t *as;
    DIE(spring_as_new(vmm, NULL, &as));
    const spring_addr_t base = 1ULL << 32;
    for (size_t i = 0; i < n; i++) {
        spring_off_t len = 4096;
        spring_addr_t a = base + i * 8192;
        DIE(spring_as_map(as, m, 0, &len, &a, SPRING_RIGHTS_RW));
    }
    struct regions_result r;
    /* map: extra regions in the gaps, at random places */
    spring_addr_t *extra = malloc(ops * sizeof *extra);
    for (size_t i = 0; i < ops; i++)
        extra[i] = base + ((rnd() % n) * 8192) + 4096;
    size_t mapped = 0;
    double t0 = now();
    for (size_t i = 0; i < ops; i++) {
        spring_off_t len = 4096;
        spring_addr_t a = extra[i];
        if (spring_as_map(as, m, 0, &len, &a, SPRING_RIGHTS_RW) == 0)
            extra[mapped++] = a;
    }
    r.map_ns = (now() - t0) * 1e9 / (double)ops;
    /* lookup at random mapped addresses */
    spring_mapping_t out;
    size_t got;
    bool more;
    t0 = now();
    for (size_t i = 0; i < ops; i++) {
        spring_addr_t a = base + (rnd() % n) * 8192;
        if (spring_as_get_mappings(as, a, 4096, &out, 1, &got, &more) == 0)
            spring_mappings_release(&out, got);
    }
    r.lookup_ns = (now() - t0) * 1e9 / (double)ops;
    t0 = now();
    for (size_t i = 0; i < mapped; i++)
        spring_as_unmap(as, extra[i], 4096);
    r.unmap_ns = (now() - t0) * 1e9 / (double)(mapped ? mapped : 1);
    free(extra);
    spring_as_destroy(as);
    spring_mobj_unref(m);
    if (bp.has)
        spring_cache_destroy(bp.cache);
    DIE(spring_vmm_destroy(vmm));
    return r;
}

int main(int argc, char **argv)
{
    bool quick = argc > 1 && strcmp(argv[1], "-q") == 0;
    size_t fpages = quick ? 4096 : 32768;

    printf("springvm core benchmark (median of %d rounds; ratio = springvm / baseline)\n\n", ROUNDS);

    /* 1 */
    spring_vmm_config_t cfg;
    spring_vmm_config_init(&cfg);
    cfg.name = "bench";
    cfg.nframes = fpages + 64;
    cfg.mode = SPRING_VMM_DETERMINISTIC;
    spring_vmm_t *vmm;
    DIE(spring_vmm_new(&cfg, &vmm));
    double k[ROUNDS], s[ROUNDS];
    for (int i = 0; i < ROUNDS; i++) {
        k[i] = kernel_fault_ns(fpages);
        s[i] = spring_fault_ns(vmm, fpages);
    }
    double km = median(k, ROUNDS), sm = median(s, ROUNDS);
    printf("zero-fill fault   springvm %8.1f ns  kernel %8.1f ns  ratio %6.3fx  (goal <= 0.1x) %s\n", sm, km,
           sm / km, sm / km <= 0.1 ? "met" : "NOT MET");

    /* 2 */
    spring_as_t *as;
    DIE(spring_as_new(vmm, NULL, &as));
    size_t tpages = 64;
    spring_off_t len = tpages * 4096;
    spring_addr_t a = SPRING_ANYWHERE;
    DIE(spring_as_allocate_memory(as, &len, &a, SPRING_RIGHTS_RW));
    for (size_t i = 0; i < tpages; i++)
        DIE(spring_as_fault(as, a + i * 4096, SPRING_RIGHTS_W));
    uint8_t *plain = calloc(tpages, 4096);
    size_t n = quick ? 1000000 : 5000000;
    double f[ROUNDS];
    DIE(spring_thread_register());
    for (int i = 0; i < ROUNDS; i++) {
        k[i] = plain_load_ns(plain, tpages, n);
        f[i] = translate_fast_ns(as, a, tpages, n);
        s[i] = translate_ns(as, a, tpages, n);
    }
    spring_thread_unregister();
    km = median(k, ROUNDS);
    sm = median(s, ROUNDS);
    double fm = median(f, ROUNDS);
    printf("fast translate    springvm %8.1f ns  load   %8.1f ns  ratio %6.3fx  (goal <= 3x)   %s\n", fm, km,
           fm / km, fm / km <= 3 ? "met" : "NOT MET");
    printf("pinned translate  springvm %8.1f ns  load   %8.1f ns  ratio %6.3fx  (no goal: for long-lived pointers)\n",
           sm, km, sm / km);
    free(plain);
    spring_as_destroy(as);
    DIE(spring_vmm_destroy(vmm));

    /* 3 */
    size_t small = 1000, large = quick ? 100000 : 1000000, ops = quick ? 2000 : 10000;
    double m1[3], m2[3], l1[3], l2[3], u1[3], u2[3];
    for (int i = 0; i < 3; i++) {
        struct regions_result x = regions_bench(small, ops), y = regions_bench(large, ops);
        m1[i] = x.map_ns, l1[i] = x.lookup_ns, u1[i] = x.unmap_ns;
        m2[i] = y.map_ns, l2[i] = y.lookup_ns, u2[i] = y.unmap_ns;
    }
    double mm1 = median(m1, 3), mm2 = median(m2, 3), ll1 = median(l1, 3), ll2 = median(l2, 3);
    double uu1 = median(u1, 3), uu2 = median(u2, 3);
    printf("map    %zu regions %8.1f ns  %zu regions %8.1f ns  ratio %6.3fx  (goal <= 2x)   %s\n", large, mm2,
           small, mm1, mm2 / mm1, mm2 / mm1 <= 2 ? "met" : "NOT MET");
    printf("lookup %zu regions %8.1f ns  %zu regions %8.1f ns  ratio %6.3fx  (goal <= 2x)   %s\n", large, ll2,
           small, ll1, ll2 / ll1, ll2 / ll1 <= 2 ? "met" : "NOT MET");
    printf("unmap  %zu regions %8.1f ns  %zu regions %8.1f ns  ratio %6.3fx  (goal <= 2x)   %s\n", large, uu2,
           small, uu1, uu2 / uu1, uu2 / uu1 <= 2 ? "met" : "NOT MET");
    return 0;
}
