/*
 * hatcall.h - the dispatch layer in front of the HAT plugin vtable
 * (include/spring/hat.h).  These wrappers and libvm/hat/hat.c are the only
 * code that calls a HAT backend.
 *
 * The vtable's version and required slots are checked once, when the VMM
 * is created (spring__hat_create); the wrappers are inline, since the fault
 * path and translations go through them.  HAT calls may be made with VMM
 * locks held: the backend's own lock comes after every core lock but the
 * page lock (docs/locking.md, row 11), and a backend calls back into the
 * VMM from these slots only through its environment's take_frames and
 * give_frames (which take the page lock alone); report_fault comes from the
 * backend's own fault path, not from a slot.
 */
#ifndef SPRING_HATCALL_H
#define SPRING_HATCALL_H

#ifdef SPRING_PUBLIC_HEADERS_ONLY
#error "a plugin built from the public headers includes a private header of libvm"
#endif

#include <spring/spring.h>

/* The HAT a configuration names (the soft HAT by default), whether the
 * library can use it (SPRING_EVERSION, SPRING_EINVAL for a missing slot),
 * and its instance for a VMM whose frame pool exists.  => no lock held. */
const spring_hat_ops_t *spring__hat_of(const spring_vmm_config_t *cfg);
int spring__hat_check(const spring_hat_ops_t *hat, size_t page_size);
int spring__hat_create(spring_vmm_t *vmm, const spring_hat_ops_t *hat, const char *options,
                       const struct spring_options *opts);
void spring__hat_destroy(spring_vmm_t *vmm);

#define SPRING__HAT(vmm) ((vmm)->hat)

/* Every slot call (debug build): the page lock is not held (docs/locking.md,
 * row 11: a backend's take_frames and give_frames take it). */
#define HAT_CALL_CHECK(vmm) vm_assert_unheld(&(vmm)->page_lock)

/* The backend's capability flags (spring_hat_ops_t::flags). */
static inline unsigned spring__hat_flags(const spring_vmm_t *vmm)
{
    return vmm->hat->flags;
}

static inline int spring__hat_ctx_create(spring_vmm_t *vmm, spring_as_t *as, void **ctx)
{
    HAT_CALL_CHECK(vmm);
    return SPRING__HAT(vmm)->ctx_create(vmm->hatp, as, ctx);
}

static inline void spring__hat_ctx_destroy(spring_vmm_t *vmm, void *ctx)
{
    HAT_CALL_CHECK(vmm);
    SPRING__HAT(vmm)->ctx_destroy(vmm->hatp, ctx);
}

/* Enter a translation.  Returns 0 or a SPRING_E* code (anything else the
 * backend answers becomes SPRING_ENOMEM); SPRING_ENOFRAMES: the backend
 * needs a free frame for its tables (make room with no lock held, retry). */
static inline int spring__hat_enter(spring_vmm_t *vmm, void *ctx, spring_addr_t va, size_t frame,
                                    spring_rights_t prot)
{
    HAT_CALL_CHECK(vmm);
    int rc = SPRING__HAT(vmm)->enter(vmm->hatp, ctx, va, frame, prot);
    return rc == 0 || (rc < 0 && rc > SPRING__ERR_MIN) ? rc : SPRING_ENOMEM;
}

/* A translation was revoked: translations the VMM cached per thread for
 * spring_as_translate_fast() are stale from now on (qsbr.c).  Called after
 * the backend's change. */
static inline void spring__hat_revoked(spring_vmm_t *vmm)
{
    if (atomic_load(&vmm->fast_active))
        atomic_fetch_add(&vmm->fgen, 1);
}

static inline void spring__hat_remove(spring_vmm_t *vmm, void *ctx, spring_addr_t va, spring_off_t len)
{
    HAT_CALL_CHECK(vmm);
    SPRING__HAT(vmm)->remove(vmm->hatp, ctx, va, len);
    spring__hat_revoked(vmm);
}

static inline void spring__hat_protect(spring_vmm_t *vmm, void *ctx, spring_addr_t va, spring_off_t len,
                                       spring_rights_t prot)
{
    HAT_CALL_CHECK(vmm);
    SPRING__HAT(vmm)->protect(vmm->hatp, ctx, va, len, prot);
    spring__hat_revoked(vmm);
}

static inline void spring__hat_frame_unload(spring_vmm_t *vmm, size_t frame)
{
    HAT_CALL_CHECK(vmm);
    SPRING__HAT(vmm)->frame_unload(vmm->hatp, frame);
    spring__hat_revoked(vmm);
}

static inline void spring__hat_frame_protect(spring_vmm_t *vmm, size_t frame, spring_rights_t prot)
{
    HAT_CALL_CHECK(vmm);
    SPRING__HAT(vmm)->frame_protect(vmm->hatp, frame, prot);
    spring__hat_revoked(vmm);
}

static inline unsigned spring__hat_frame_refmod(spring_vmm_t *vmm, size_t frame, unsigned clear)
{
    HAT_CALL_CHECK(vmm);
    return SPRING__HAT(vmm)->frame_refmod(vmm->hatp, frame, clear);
}

static inline int spring__hat_translate(spring_vmm_t *vmm, void *ctx, spring_addr_t va, spring_rights_t access,
                                        size_t *frame)
{
    HAT_CALL_CHECK(vmm);
    return SPRING__HAT(vmm)->translate(vmm->hatp, ctx, va, access, frame);
}

#endif /* SPRING_HATCALL_H */
