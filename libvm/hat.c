/*
 * hat.c - the HAT dispatch layer (hatcall.h): checking a backend's vtable
 * and creating and destroying its instance.
 */
#include "vm_int.h" /* includes hatcall.h after the structures it needs */

const spring_hat_ops_t *spring__hat_of(const spring_vmm_config_t *cfg)
{
    return cfg->hat ? cfg->hat : spring_hat_soft();
}

int spring__hat_check(const spring_hat_ops_t *hat)
{
    if (hat->version < 1 || hat->version > SPRING_HAT_OPS_VERSION)
        return SPRING_EVERSION;
    if (!hat->create || !hat->destroy || !hat->ctx_create || !hat->ctx_destroy || !hat->enter || !hat->remove ||
        !hat->protect || !hat->frame_unload || !hat->frame_protect || !hat->frame_refmod || !hat->translate)
        return SPRING_EINVAL;
    return 0;
}

int spring__hat_create(spring_vmm_t *vmm, const spring_hat_ops_t *hat, const char *options)
{
    spring_hat_env_t env = {vmm->page_size, vmm->nframes, vmm->frame_base, options};
    spring__assert_no_locks("HAT create");
    int rc = hat->create(&env, &vmm->hatp);
    if (rc)
        return rc < 0 && rc > SPRING__ERR_MIN ? rc : SPRING_EINVAL;
    vmm->hat = hat;
    return 0;
}

void spring__hat_destroy(spring_vmm_t *vmm)
{
    vmm->hat->destroy(vmm->hatp);
}
