/*
 * bench_core.c - speed of the core paths, each printed as a ratio against a
 * baseline measured side by side in the same run:
 *
 *  1. a zero-fill fault through spring_as_write (one byte into each fresh
 *     page, zeroing included) against the Linux kernel's own anonymous page
 *     fault (one byte into each fresh page of an anonymous mmap), for
 *     information (bench_paging holds the goal, against memset)
 *  2. a translation that hits: spring_as_translate_fast (no pin, QSBR)
 *     against a plain load of the same pages, goal <= 3x; and the pinned
 *     spring_as_translate + spring_pin_release for comparison
 *
 * bench_paging prints the other figures of the speed goals (paging
 * throughput, zero-fill against memset, metadata, scaling, regions against
 * the kernel); `make bench` runs both.
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
    printf("zero-fill fault   springvm %8.1f ns  kernel %8.1f ns  ratio %6.3fx  (no goal here: bench_paging "
           "measures it against memset)\n", sm, km, sm / km);

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

    return 0;
}
