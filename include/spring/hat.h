/**
 * @file hat.h
 * @brief The HAT plugin API: the machine-independent interface to address
 *        translation (paper §9.3.1).
 *
 * A HAT backend keeps three kinds of information (§9.3.2): which virtual
 * addresses of which context map each page frame, whatever translation
 * tables its MMU needs, and a software TLB in front of them.  The true
 * state of every mapping lives in the VMM's address-space and cache layers,
 * so a backend may forget a translation at any time (the VMM re-enters it
 * on the next fault); it must never invent one.
 *
 * The soft HAT (the default) keeps a software page table per context.
 * Other backends (the planned sun4m SRMMU and host-memory backends,
 * @ref arch_decision_8 "architecture decision 8") are to implement the same
 * vtable.
 *
 * @b Threads: the VMM calls the backend from any thread, and may hold its
 * own locks while it does (enter, frame_unload, frame_protect and
 * frame_refmod under a cache's lock; remove and protect under an address
 * space's lock): the backend's lock is the last in the VMM's lock order
 * (docs/locking.md).  So the backend does its own locking, never blocks for
 * long, and never calls back into the VMM.  Frames are numbered from 0 to
 * nframes-1; frame @c f's data is at @c frame_base + f * page_size.
 */
#ifndef SPRING_HAT_H
#define SPRING_HAT_H

#include <spring/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief The version of #spring_hat_ops_t this header describes, and the
 *         only one this library accepts (others get #SPRING_EVERSION). */
#define SPRING_HAT_OPS_VERSION 1

/** @brief Referenced bit reported by the frame_refmod slot. */
#define SPRING_HAT_REF 1u
/** @brief Modified bit reported by the frame_refmod slot. */
#define SPRING_HAT_MOD 2u

/** @brief What the VMM tells a backend when it creates it. */
typedef struct spring_hat_env {
    size_t page_size;   /**< bytes per page frame (a power of two, >= 4096) */
    size_t nframes;     /**< number of page frames */
    uint8_t *frame_base; /**< host address of frame 0; frames are contiguous */
    const char *options; /**< backend-specific options, or NULL */
} spring_hat_env_t;

/**
 * @brief A HAT backend.  All slots are required unless marked optional.
 *
 * @c hat is the backend instance made by @c create; @c ctx a context made
 * by @c ctx_create (one per address space).
 */
typedef struct spring_hat_ops {
    int version;      /**< #SPRING_HAT_OPS_VERSION */
    const char *name; /**< short backend name, e.g. "soft" */

    /**
     * @brief Create a backend instance.
     * @param env the frame pool (borrow, valid for the call).
     * @param hat produce: the instance.
     * @return 0 or a negative code.
     */
    int (*create)(const spring_hat_env_t *env, void **hat);
    /**
     * @brief Destroy an instance; every context has been destroyed.
     * @param hat the instance (consume).
     */
    void (*destroy)(void *hat);
    /**
     * @brief Create a translation context (the "hat address space descriptor").
     * @param hat the instance.
     * @param ctx produce: the context.
     * @return 0 or a negative code (#SPRING_ENOMEM, or #SPRING_ENOSPC when the
     *   MMU has no context left).
     */
    int (*ctx_create)(void *hat, void **ctx);
    /**
     * @brief Destroy a context; it holds no translation any more.
     * @param hat the instance.
     * @param ctx the context (consume).
     */
    void (*ctx_destroy)(void *hat, void *ctx);
    /**
     * @brief Enter (or replace) the translation of one page.
     * @param hat the instance.
     * @param ctx the context.
     * @param va page-aligned virtual address.
     * @param frame the frame number.
     * @param prot the MMU protection (a subset of RWX, not NONE).
     * @return 0, or #SPRING_ENOMEM (the VMM then fails the access with it).
     */
    int (*enter)(void *hat, void *ctx, spring_addr_t va, size_t frame, spring_rights_t prot);
    /**
     * @brief Remove every translation in [va, va+len) of a context.
     * @param hat the instance.
     * @param ctx the context.
     * @param va page-aligned start.
     * @param len page-aligned length.
     */
    void (*remove)(void *hat, void *ctx, spring_addr_t va, spring_off_t len);
    /**
     * @brief Restrict translations in [va, va+len): each keeps only the bits
     *        also in @p prot (NONE removes them).
     * @param hat the instance.
     * @param ctx the context.
     * @param va page-aligned start.
     * @param len page-aligned length.
     * @param prot the rights to keep.
     */
    void (*protect)(void *hat, void *ctx, spring_addr_t va, spring_off_t len, spring_rights_t prot);
    /**
     * @brief Remove every translation of a frame, in every context.
     * @param hat the instance.
     * @param frame the frame number.
     */
    void (*frame_unload)(void *hat, size_t frame);
    /**
     * @brief Restrict every translation of a frame to @p prot.
     * @param hat the instance.
     * @param frame the frame number.
     * @param prot the rights to keep (NONE removes them).
     */
    void (*frame_protect)(void *hat, size_t frame, spring_rights_t prot);
    /**
     * @brief Read, and clear, the referenced/modified information of a frame,
     *        gathered over all its translations.
     * @param hat the instance.
     * @param frame the frame number.
     * @param clear the bits to clear after reading (#SPRING_HAT_REF, #SPRING_HAT_MOD).
     * @return the bits set before clearing.
     */
    unsigned (*frame_refmod)(void *hat, size_t frame, unsigned clear);
    /**
     * @brief Translate an access through the software TLB and the tables,
     *        setting the referenced (and, for a write, modified) information.
     * @param hat the instance.
     * @param ctx the context.
     * @param va the virtual address.
     * @param access one of #SPRING_RIGHTS_R, #SPRING_RIGHTS_W, #SPRING_RIGHTS_X.
     * @param frame produce: the frame number.
     * @return 0; #SPRING_ENOTMAPPED when no translation exists;
     *   #SPRING_EACCES when one exists but does not allow @p access.
     */
    int (*translate)(void *hat, void *ctx, spring_addr_t va, spring_rights_t access, size_t *frame);
    /* methods above: version 1 */
} spring_hat_ops_t;

/**
 * @brief The soft HAT: a software page table and TLB per context.  The
 *        default backend.
 * @return the vtable (static storage).
 */
SPRING_API const spring_hat_ops_t *spring_hat_soft(void);

#ifdef __cplusplus
}
#endif
#endif /* SPRING_HAT_H */
