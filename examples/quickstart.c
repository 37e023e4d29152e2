/*
 * quickstart.c - the program of the quick start (docs/mainpage.md): a VMM,
 * an address space, zero-filled memory from the in-tree anonymous pager,
 * a write and a read through the address space, and teardown.
 */
#include <inttypes.h>
#include <stdio.h>

#include <spring/spring.h>

int main(void)
{
    spring_vmm_config_t cfg;
    spring_vmm_t *vmm;
    spring_as_t *as;
    int rc;

    spring_vmm_config_init(&cfg); /* 1024 frames of 4 KiB, the soft HAT */
    if ((rc = spring_vmm_new(&cfg, &vmm)) != 0 || (rc = spring_as_new(vmm, NULL, &as)) != 0) {
        fprintf(stderr, "quickstart: %s\n", spring_strerror(rc));
        return 1;
    }

    /* Map 64 KiB of zero-filled memory wherever the VMM finds room. */
    spring_off_t len = 64 * 1024;
    spring_addr_t addr = SPRING_ANYWHERE;
    char buf[32] = "";
    if ((rc = spring_as_allocate_memory(as, &len, &addr, SPRING_RIGHTS_RW)) == 0 &&
        (rc = spring_as_write(as, addr + 5000, "hello, Spring", 14)) == 0)
        rc = spring_as_read(as, addr + 5000, buf, 14);
    if (rc == 0)
        printf("read back \"%s\" from 0x%" PRIx64 "\n", buf, addr + 5000);
    else
        fprintf(stderr, "quickstart: %s\n", spring_strerror(rc));

    spring_as_destroy(as);             /* unmaps everything */
    int rc2 = spring_vmm_destroy(vmm); /* after every address space */
    return rc == 0 && rc2 == 0 ? 0 : 1;
}
