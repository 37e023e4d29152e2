/*
 * hello.c - the smallest springvm program: create a VMM, map zero-filled
 * memory from the in-tree anonymous pager, write and read it through the
 * address space (more of it than the frame pool holds, so pages travel to
 * the pager and back), and print what happened.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <spring/spring.h>

#define CHECK(call)                                                                                    \
    do {                                                                                               \
        int rc_ = (call);                                                                              \
        if (rc_ != 0) {                                                                                \
            fprintf(stderr, "hello: %s: %s (%s)\n", #call, spring_strerror(rc_), spring_err_name(rc_)); \
            exit(1);                                                                                   \
        }                                                                                              \
    } while (0)

int main(void)
{
    spring_vmm_config_t cfg;
    spring_vmm_config_init(&cfg);
    cfg.name = "hello-vmm";
    cfg.nframes = 64; /* 256 KiB of frames */
    cfg.mode = SPRING_VMM_DETERMINISTIC;

    spring_vmm_t *vmm;
    spring_as_t *as;
    CHECK(spring_vmm_new(&cfg, &vmm));
    CHECK(spring_as_new(vmm, NULL, &as));

    /* 1 MiB of zero-filled memory: four times the frame pool. */
    spring_off_t len = 1 << 20;
    spring_addr_t addr = SPRING_ANYWHERE;
    CHECK(spring_as_allocate_memory(as, &len, &addr, SPRING_RIGHTS_RW));
    printf("mapped %" PRIu64 " KiB of anonymous memory at 0x%" PRIx64 "\n", len >> 10, addr);

    size_t ps = spring_as_get_page_size(as);
    for (spring_off_t off = 0; off < len; off += ps) {
        char line[64];
        snprintf(line, sizeof line, "page %" PRIu64, off / ps);
        CHECK(spring_as_write(as, addr + off, line, strlen(line) + 1));
    }
    unsigned bad = 0;
    for (spring_off_t off = 0; off < len; off += ps) {
        char want[64], got[64];
        snprintf(want, sizeof want, "page %" PRIu64, off / ps);
        CHECK(spring_as_read(as, addr + off, got, strlen(want) + 1));
        if (strcmp(want, got) != 0)
            bad++;
    }
    printf("wrote and read back %" PRIu64 " pages: %u mismatches\n", len / ps, bad);
    /* The pages read last are still resident: reading them again is
     * served by the software TLB, without a fault. */
    for (spring_off_t off = len - 16 * ps; off < len; off += ps) {
        char c;
        CHECK(spring_as_read(as, addr + off, &c, 1));
    }

    spring_as_statistics_t st = {.size = sizeof st};
    CHECK(spring_as_statistics(as, &st));
    printf("address space: %zu region(s), %" PRIu64 " KiB mapped, %zu pages resident, %" PRIu64
           " faults (%" PRIu64 " zero-fill, %" PRIu64 " paged in), %" PRIu64 " translations without a fault\n",
           st.nregions, st.mapped >> 10, st.resident, st.faults, st.zero_fills, st.page_ins, st.tlb_hits);

    spring_vmm_obj_t vo;
    spring_vm_info_t vi = {.size = sizeof vi};
    CHECK(spring_vmm_get_object(vmm, SPRING_PRIV_USER, &vo));
    CHECK(spring_vmm_get_vm_info(vo, &vi));
    printf("vmm %s: %zu frames of %zu bytes, %zu free; %" PRIu64 " page-ins, %" PRIu64
           " page-outs, %" PRIu64 " clean reuses, %zu cache(s)\n",
           spring_vmm_name(vmm), vi.nframes, vi.page_size, vi.free_frames, vi.page_ins, vi.page_outs,
           vi.reclaims_clean, vi.ncaches);

    const char *why;
    CHECK(spring_vmm_check(vmm, &why));
    spring_as_destroy(as);
    CHECK(spring_vmm_destroy(vmm));
    printf("%s\n", bad == 0 ? "ok" : "FAILED");
    return bad == 0 ? 0 : 1;
}
