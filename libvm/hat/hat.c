/*
 * hat.c - the HAT dispatch layer (hatcall.h): checking a backend's vtable,
 * creating its instance with the environment of hat.h version 2, and the
 * upcalls a backend makes into the VMM (a fault it took, frames for its own
 * tables), and its extensions.
 */
#include <stdio.h>

#include "vmm/vm_int.h" /* includes hatcall.h after the structures it needs */

const spring_hat_ops_t *spring__hat_of(const spring_vmm_config_t *cfg)
{
    return cfg->hat ? cfg->hat : spring_hat_soft();
}

int spring__hat_check(const spring_hat_ops_t *hat, size_t page_size)
{
    if (hat->version != 2 && hat->version != SPRING_HAT_OPS_VERSION) {
        spring__set_error(0, "HAT backend %s: vtable version %d, this library accepts 2 and %d",
                          hat->name ? hat->name : "(unnamed)", hat->version, SPRING_HAT_OPS_VERSION);
        return SPRING_EVERSION;
    }
    if (!hat->create || !hat->destroy || !hat->ctx_create || !hat->ctx_destroy || !hat->enter || !hat->remove ||
        !hat->protect || !hat->frame_unload || !hat->frame_protect || !hat->frame_refmod || !hat->translate)
        return SPRING_EINVAL;
    size_t mmu = hat->mmu_page_size;
    if (mmu != 0 && ((mmu & (mmu - 1)) != 0 || mmu > page_size))
        return SPRING_EINVAL;
    uint64_t sizes = hat->version >= 3 ? hat->page_sizes : 0;
    if (sizes != 0 && (page_size >= ((size_t)1 << 63) || !(sizes & ((uint64_t)page_size)))) {
        char list[256] = "";
        size_t at = 0;
        for (unsigned k = 0; k < 64 && at < sizeof list; k++)
            if (sizes & ((uint64_t)1 << k))
                at += (size_t)snprintf(list + at, sizeof list - at, "%s%llu", at ? ", " : "",
                                       (unsigned long long)1 << k);
        spring__set_error(0, "HAT backend %s does not support a page size of %zu bytes (it supports %s)",
                          hat->name ? hat->name : "(unnamed)", page_size, list);
        return SPRING_EINVAL;
    }
    return 0;
}

/* The VMM's side of the environment is the VMM itself. */
static spring_vmm_t *vmm_of(spring_hat_vmm_t *hv)
{
    return (spring_vmm_t *)(void *)hv;
}

static int up_report_fault(spring_hat_vmm_t *hv, struct spring_as *as, spring_addr_t va, spring_rights_t access)
{
    (void)hv;
    spring__assert_no_locks("a HAT backend's fault upcall");
    return spring_as_fault(as, va, access);
}

static int up_take_frames(spring_hat_vmm_t *hv, size_t n, size_t *frames)
{
    return spring__frames_take_special(vmm_of(hv), n, frames);
}

static void up_give_frames(spring_hat_vmm_t *hv, const size_t *frames, size_t n)
{
    spring__frames_give_special(vmm_of(hv), frames, n);
}

int spring__hat_create(spring_vmm_t *vmm, const spring_hat_ops_t *hat, const char *options,
                       const struct spring_options *opts)
{
    size_t mmu = hat->mmu_page_size ? hat->mmu_page_size : vmm->page_size;
    spring_hat_env_t env = {
        .version = SPRING_HAT_ENV_VERSION,
        .size = sizeof env,
        .page_size = vmm->page_size,
        .mmu_pages_per_page = (unsigned)(vmm->page_size / mmu),
        .nframes = vmm->nframes,
        .frame_base = vmm->frame_base,
        .frame_fd = vmm->memfd,
        .frame_offset = 0,
        .options = options,
        .vmm = (spring_hat_vmm_t *)(void *)vmm,
        .report_fault = up_report_fault,
        .take_frames = up_take_frames,
        .give_frames = up_give_frames,
        .opts = opts,
    };
    spring__assert_no_locks("HAT create");
    vmm->hat = hat; /* the backend may take frames while it creates itself */
    int rc = hat->create(&env, &vmm->hatp);
    if (rc) {
        vmm->hat = NULL;
        return rc < 0 && rc > SPRING__ERR_MIN ? rc : SPRING_EINVAL;
    }
    return 0;
}

void spring__hat_destroy(spring_vmm_t *vmm)
{
    vmm->hat->destroy(vmm->hatp);
}

const void *spring_vmm_hat_extension(spring_vmm_t *vmm, const char *name, int version)
{
    if (vmm == NULL || name == NULL || vmm->hat->extension == NULL)
        return NULL;
    return vmm->hat->extension(vmm->hatp, name, version);
}
