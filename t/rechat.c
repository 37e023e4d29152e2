/*
 * rechat.c - the recording HAT: the soft HAT behind a vtable of its own
 * that counts every call.  The API tests run once over the soft HAT and
 * once over this one, to show the VMM uses only the HAT interface.
 */
#include <stdatomic.h>

#include "testlib.h"

static atomic_ulong counts[RH_NOPS];

static const spring_hat_ops_t *soft(void)
{
    return spring_hat_soft();
}

static int r_create(const spring_hat_env_t *env, void **hat)
{
    return soft()->create(env, hat);
}

static void r_destroy(void *hat)
{
    soft()->destroy(hat);
}

static int r_ctx_create(void *hat, void **ctx)
{
    return soft()->ctx_create(hat, ctx);
}

static void r_ctx_destroy(void *hat, void *ctx)
{
    soft()->ctx_destroy(hat, ctx);
}

static int r_enter(void *hat, void *ctx, spring_addr_t va, size_t frame, spring_rights_t prot)
{
    atomic_fetch_add(&counts[RH_ENTER], 1);
    return soft()->enter(hat, ctx, va, frame, prot);
}

static void r_remove(void *hat, void *ctx, spring_addr_t va, spring_off_t len)
{
    atomic_fetch_add(&counts[RH_REMOVE], 1);
    soft()->remove(hat, ctx, va, len);
}

static void r_protect(void *hat, void *ctx, spring_addr_t va, spring_off_t len, spring_rights_t prot)
{
    atomic_fetch_add(&counts[RH_PROTECT], 1);
    soft()->protect(hat, ctx, va, len, prot);
}

static void r_frame_unload(void *hat, size_t frame)
{
    atomic_fetch_add(&counts[RH_UNLOAD], 1);
    soft()->frame_unload(hat, frame);
}

static void r_frame_protect(void *hat, size_t frame, spring_rights_t prot)
{
    atomic_fetch_add(&counts[RH_FPROTECT], 1);
    soft()->frame_protect(hat, frame, prot);
}

static unsigned r_frame_refmod(void *hat, size_t frame, unsigned clear)
{
    atomic_fetch_add(&counts[RH_REFMOD], 1);
    return soft()->frame_refmod(hat, frame, clear);
}

static int r_translate(void *hat, void *ctx, spring_addr_t va, spring_rights_t access, size_t *frame)
{
    atomic_fetch_add(&counts[RH_TRANSLATE], 1);
    return soft()->translate(hat, ctx, va, access, frame);
}

static const spring_hat_ops_t rechat = {
    .version = SPRING_HAT_OPS_VERSION,
    .name = "recording",
    .create = r_create,
    .destroy = r_destroy,
    .ctx_create = r_ctx_create,
    .ctx_destroy = r_ctx_destroy,
    .enter = r_enter,
    .remove = r_remove,
    .protect = r_protect,
    .frame_unload = r_frame_unload,
    .frame_protect = r_frame_protect,
    .frame_refmod = r_frame_refmod,
    .translate = r_translate,
};

const spring_hat_ops_t *rechat_ops(void)
{
    return &rechat;
}

unsigned long rechat_count(enum rechat_op op)
{
    return atomic_load(&counts[op]);
}
