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
 * (docs/locking.md).  So the backend does its own locking and never blocks
 * for long.  It calls back into the VMM only through the upcalls of its
 * environment (spring_hat_env_t): take_frames and give_frames from inside a
 * slot, and report_fault with none of its own locks held; no other VMM call
 * is allowed from a slot.  Frames are numbered from 0 to
 * nframes-1; frame @c f's data is at @c frame_base + f * page_size.
 */
#ifndef SPRING_HAT_H
#define SPRING_HAT_H

#include <spring/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief The version of #spring_hat_ops_t this header describes.  The
 *         library accepts versions 2 and 3 (version 2 has no
 *         spring_hat_ops_t::page_sizes: any page size); any other version
 *         (version 1 included) gets #SPRING_EVERSION. */
#define SPRING_HAT_OPS_VERSION 3

/** @brief The version of #spring_hat_env_t this header describes (2 added
 *         spring_hat_env_t::opts). */
#define SPRING_HAT_ENV_VERSION 2

/**
 * @brief spring_hat_ops_t::flags: the VMM may serve translations from its
 *        own per-thread cache without calling the backend
 *        (spring_as_translate_fast()).  A backend that must see every
 *        access (to count it, say) leaves it clear, and the fast path is
 *        declined with #SPRING_ENOSYS.
 */
#define SPRING_HAT_FAST 1u

/** @brief Referenced bit reported by the frame_refmod slot. */
#define SPRING_HAT_REF 1u
/** @brief Modified bit reported by the frame_refmod slot. */
#define SPRING_HAT_MOD 2u

struct spring_as;

/**
 * @brief The VMM's side of a backend instance: what a backend passes back
 *        to the environment's upcalls.  Opaque.
 */
typedef struct spring_hat_vmm spring_hat_vmm_t;

/**
 * @brief What the VMM tells a backend when it creates it, and the calls a
 *        backend may make back into the VMM.
 *
 * Versioned and size-prefixed: fields are only ever appended; a backend
 * reads a field only if @c size covers it.  The structure is lent for the
 * create call; the upcall pointers and @c vmm stay valid until destroy.
 */
typedef struct spring_hat_env {
    int version;         /**< #SPRING_HAT_ENV_VERSION */
    size_t size;         /**< sizeof(spring_hat_env_t) as the VMM was built */
    size_t page_size;    /**< bytes per VMM page frame (a power of two, >= 4096) */
    /** VMM page size / the backend's MMU page size (spring_hat_ops_t::mmu_page_size):
     *  a VMM page is this many MMU pages (paper §9.2.2, footnote 9) */
    unsigned mmu_pages_per_page;
    size_t nframes;      /**< number of page frames */
    uint8_t *frame_base; /**< host address of frame 0; frames are contiguous */
    int frame_fd;        /**< the frame pool's file descriptor (a memfd): a backend may map
                              frames at other addresses (borrow: never close it) */
    uint64_t frame_offset; /**< offset of frame 0 in @c frame_fd; frame f is at
                                frame_offset + f * page_size */
    const char *options; /**< backend-specific options, or NULL */
    spring_hat_vmm_t *vmm; /**< the VMM's side, passed to the upcalls below */
    /**
     * @brief Report a fault the backend took itself (a host-memory backend
     *        sees real faults): the VMM resolves it as spring_as_fault()
     *        does, entering the translation through the backend.
     *
     * Call it with none of the backend's locks held that its other slots
     * take, and never from inside one of its slots: it runs with no VMM
     * lock held and may call any slot.
     * @param vmm @c env->vmm.
     * @param as the address space of the context that faulted (the one
     *        given to ctx_create).
     * @param va the faulting address.
     * @param access #SPRING_RIGHTS_R, #SPRING_RIGHTS_W or #SPRING_RIGHTS_X.
     * @return 0 once a translation for @p access is entered; or the code
     *   spring_as_fault() would return.
     */
    int (*report_fault)(spring_hat_vmm_t *vmm, struct spring_as *as, spring_addr_t va, spring_rights_t access);
    /**
     * @brief Take page frames from the VMM for the backend's own tables
     *        (the "special" cache of §9.2.1: such frames are never evicted
     *        or handed to a pager, and the VMM does not touch their data).
     *
     * It never blocks and may be called from inside any slot, with VMM
     * locks held: it takes free frames only.  An enter that needs a table
     * frame and gets #SPRING_ENOFRAMES returns #SPRING_ENOFRAMES itself:
     * the VMM then frees frames (with no lock held) and enters again.
     * @param vmm @c env->vmm.
     * @param n how many.
     * @param frames produce: their numbers (contents undefined).
     * @return 0; #SPRING_ENOFRAMES if fewer than @p n frames are free.
     */
    int (*take_frames)(spring_hat_vmm_t *vmm, size_t n, size_t *frames);
    /**
     * @brief Give frames taken with take_frames back to the VMM.
     * @param vmm @c env->vmm.
     * @param frames their numbers (borrow).
     * @param n how many.
     */
    void (*give_frames)(spring_hat_vmm_t *vmm, const size_t *frames, size_t n);
    /** the backend's options as a checked set (plugin.h: a HAT plugin's options from a
     *  configuration), or NULL (version 2) */
    const struct spring_options *opts;
} spring_hat_env_t;

/**
 * @brief A HAT backend.  All slots are required unless marked optional.
 *
 * @c hat is the backend instance made by @c create; @c ctx a context made
 * by @c ctx_create (one per address space).  Frames taken with
 * spring_hat_env_t::take_frames must all be given back before destroy
 * returns.
 */
typedef struct spring_hat_ops {
    int version;          /**< #SPRING_HAT_OPS_VERSION */
    const char *name;     /**< short backend name, e.g. "soft" */
    size_t mmu_page_size; /**< the MMU's page size: a power of two dividing the VMM's page size;
                               0 = the VMM's page size */
    unsigned flags;       /**< #SPRING_HAT_FAST or 0 */

    /**
     * @brief Create a backend instance.
     * @param env the environment (borrow, valid for the call; the upcalls
     *        it names stay valid until destroy).
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
     * @brief Create a translation context (the "hat address space
     *        descriptor") for an address space.
     * @param hat the instance.
     * @param as the address space the context belongs to (borrow: valid
     *        until ctx_destroy), for report_fault.
     * @param ctx produce: the context.
     * @return 0 or a negative code (#SPRING_ENOMEM, or #SPRING_ENOSPC when the
     *   MMU has no context left).
     */
    int (*ctx_create)(void *hat, struct spring_as *as, void **ctx);
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
     * @return 0; #SPRING_ENOFRAMES when a table frame could not be taken
     *   (the VMM frees frames and calls again); #SPRING_ENOMEM (the VMM
     *   fails the access with it).
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
    /**
     * @brief An interface of the backend's own, by name and version
     *        (optional): how a backend offers what the common slots do not
     *        cover (the SRMMU's cycle counters, say).  The VMM passes the
     *        answer through spring_vmm_hat_extension().
     * @param hat the instance.
     * @param name the interface's name.
     * @param version the version asked for.
     * @return the interface (a vtable or structure the backend documents,
     *   valid until destroy), or NULL if the backend has no such interface
     *   of that version.
     */
    const void *(*extension)(void *hat, const char *name, int version);
    /* methods above: version 2 */
    /** the VMM page sizes the backend supports: bit k set = 2^k bytes; 0 = any.  A VMM
     *  created with another page size fails with #SPRING_EINVAL, and spring_last_error()
     *  names the sizes the backend supports. */
    uint64_t page_sizes;
    /* fields above: version 3 */
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
