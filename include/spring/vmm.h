/**
 * @file vmm.h
 * @brief The virtual memory manager: creation, the name registry, and the
 *        vmm / cache_manager object of Appendices B and C.
 *
 * A VMM (#spring_vmm_t) owns a pool of page frames of one page size, the
 * caches that hold pagers' data in those frames, and the address spaces
 * that map them.  Pagers never see the VMM structure: they obtain a vmm
 * object (#spring_vmm_obj_t) by the VMM's name from a registry the embedder
 * controls, and create caches through it.
 */
#ifndef SPRING_VMM_H
#define SPRING_VMM_H

#include <spring/common.h>
#include <spring/hat.h>
#include <spring/pager.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief A virtual memory manager. */
typedef struct spring_vmm spring_vmm_t;

/** @brief A name registry: the "well-known name server" of §7.2 step 6. */
typedef struct spring_registry spring_registry_t;

/**
 * @brief How the VMM runs its internal activities
 *        (@ref arch_decision_5 "architecture decision 5").
 *
 * What this version runs: no thread of its own, in either mode; the two
 * modes behave the same.  Frames are reclaimed by the faulting thread when
 * the free list runs out, and unattached caches by the thread that removes
 * the last binding when the unattached limit is passed (or by
 * spring_vmm_reclaim_caches()).  The clock sweeper, pushers and
 * prefetchers, which will run as threads in threaded mode and be stepped
 * by the embedder in deterministic mode, come later; #SPRING_VMM_THREADED
 * is the default and stays accepted.
 */
typedef enum spring_vmm_mode {
    SPRING_VMM_THREADED = 0,     /**< the default: background threads will run the internal activities (none yet) */
    SPRING_VMM_DETERMINISTIC = 1 /**< no background threads ever; the embedder will step them */
} spring_vmm_mode_t;

/**
 * @brief The privilege a vmm object carries (§5.1, footnote 4).
 *
 * It decides what the VMM does when one of that pager's calls fails.
 */
typedef enum spring_privilege {
    SPRING_PRIV_USER = 0,  /**< an ordinary pager: a failed call stands at once */
    SPRING_PRIV_SYSTEM = 1 /**< a default (system) pager: the VMM retries its failed calls */
} spring_privilege_t;

/**
 * @brief How many times the VMM calls a #SPRING_PRIV_SYSTEM pager again
 *        (1 ms apart) after a page_in, page_out, write_out or sync fails
 *        with a negative code.  Only system pagers may add swap pagers.
 *        A cache's privilege is that of the vmm object that created it.
 */
#define SPRING_SYSTEM_RETRIES 8

/**
 * @brief What keeps a HAT backend's code in memory while a VMM uses it: a
 *        reference the VMM takes at creation and drops when it is destroyed.
 *
 * A backend that comes from a loaded plugin (plugin.h) lives in code that
 * unloading the plugin removes; spring_plugin_hat_config() fills this in
 * with a reference to the plugin, so that the caller may drop its own
 * reference as soon as the VMM exists.  With no holder (@c obj NULL, the
 * default) the caller keeps the backend's code loaded until the VMM is
 * destroyed.
 */
typedef struct spring_vmm_hold {
    void *obj;                /**< the object that keeps the code loaded, or NULL for none */
    void (*ref)(void *obj);   /**< takes a reference to @c obj: called once, when spring_vmm_new() succeeds */
    void (*unref)(void *obj); /**< drops it: called once, when the VMM is destroyed */
} spring_vmm_hold_t;

/** @brief Configuration of a new VMM.  Initialize with spring_vmm_config_init(). */
typedef struct spring_vmm_config {
    size_t size;                   /**< sizeof(spring_vmm_config_t), set by spring_vmm_config_init()
                                        (@ref sized_structs "structures that grow") */
    const char *name;              /**< the VMM's name, used in bind requests (copied) */
    size_t page_size;              /**< a power of two, at least 4096 */
    size_t nframes;                /**< number of page frames in the pool (at least 4) */
    spring_vmm_mode_t mode;        /**< threaded or deterministic */
    const spring_hat_ops_t *hat;   /**< HAT backend; NULL = the soft HAT */
    const char *hat_options;       /**< backend options string, or NULL */
    bool no_default_swap_pager;    /**< do not add the in-tree anonymous pager */
    size_t max_unattached_caches;  /**< reclamation limit (§7.5); 0 = a default */
    const struct spring_options *hat_opts; /**< the backend's options as a checked set (plugin.h),
                                                 or NULL; lent to the backend's create */
    size_t trace_records;          /**< the event trace's ring size in records (trace.h), at most
                                        #SPRING_TRACE_MAX_RECORDS; 0 (the default) = tracing off;
                                        spring_vmm_trace_set_size() changes it later */
    spring_vmm_hold_t hat_hold;    /**< what keeps the backend's code loaded (copy: the VMM takes its own
                                        reference); none by default; spring_plugin_hat_config() sets it */
} spring_vmm_config_t;

/**
 * @brief Fill a configuration with defaults: name "vmm", 4096-byte pages,
 *        1024 frames, threaded, soft HAT, in-tree anonymous swap pager,
 *        no event trace.
 * @param cfg the configuration (produce); NULL is ignored.
 */
SPRING_API void spring_vmm_config_init(spring_vmm_config_t *cfg);

/**
 * @brief Create a VMM.
 * @param cfg the configuration (copy).
 * @param out produce: the VMM.
 * @return 0; #SPRING_EINVAL for NULL arguments, a @c size the library
 *   cannot read (@ref sized_structs "structures that grow"), an empty name, a page size
 *   that is not a power of two of at least 4096, fewer than 4 frames, or a
 *   trace ring larger than #SPRING_TRACE_MAX_RECORDS;
 *   a HAT vtable missing a required slot, or whose mmu_page_size is not
 *   a power of two dividing the page size; a @c hat_hold with an object
 *   but without both functions; #SPRING_EVERSION for a HAT
 *   vtable whose version is not #SPRING_HAT_OPS_VERSION (version 1 is no
 *   longer accepted); #SPRING_ENOMEM; or the HAT backend's code.
 */
SPRING_API int spring_vmm_new(const spring_vmm_config_t *cfg, spring_vmm_t **out);

/**
 * @brief Destroy a VMM.  Every address space must have been destroyed
 *        first.
 *
 * Nothing is lost (§9.2.3): first every modified block of every cache is
 * paged out to its pager (page_out, as cache reclamation does; one call
 * may carry several blocks).  Only then are the remaining caches destroyed
 * (their pagers are told with done_with_pager_object) and the swap pagers
 * released.  Anonymous memory objects that nobody references any more
 * were destroyed by their pagers when the last reference went (the
 * in-tree anonymous pager does so), so their data is not paged out.
 *
 * If a page-out fails, the VMM is not destroyed: the call returns the
 * error, and the VMM stays usable with the blocks that could not go still
 * cached and modified (blocks that did go are clean or gone, as after
 * spring_vmm_sync()).  The caller can retry, or have the pager destroy its
 * caches first.
 *
 * @param vmm the VMM (consume on success; borrow on failure).
 * @return 0; #SPRING_EINVAL for NULL; #SPRING_EBUSY if address spaces remain
 *   (nothing is changed); #SPRING_EPAGER or #SPRING_EPROTO if a pager
 *   failed a page-out, #SPRING_ENOSPC if one had no space; #SPRING_ENOMEM.
 */
SPRING_API int spring_vmm_destroy(spring_vmm_t *vmm);

/**
 * @brief Write every modified block of the VMM back to its pager, keeping
 *        the data cached.
 *
 * Each block goes back the way every block the VMM keeps does: with the
 * pager's sync (the block stays cached in its mode), else its write_out
 * (the block stays cached read-only).  A pager with neither cannot receive
 * data the VMM keeps: its modified blocks stay modified and the call
 * returns #SPRING_ENOKEEP (the other caches are still written back).  One
 * call to a pager may carry several contiguous blocks.  Blocks being paged
 * in or out at the time are skipped.
 *
 * @param vmm the VMM (borrow).
 * @return 0 when every modified block reached its pager; #SPRING_EINVAL for
 *   NULL; otherwise the first failure: #SPRING_ENOKEEP, #SPRING_EPAGER,
 *   #SPRING_ENOSPC (no space) or #SPRING_EPROTO (that pager's blocks stay
 *   cached and modified),
 *   #SPRING_ENOMEM.  Call it with no VMM call of this thread in progress
 *   (not from inside a pager method of a pager it may call).
 */
SPRING_API int spring_vmm_sync(spring_vmm_t *vmm);

/** @brief spring_vmm_sync_flags(): leave anonymous memory alone (the caches
 *         whose pager said #SPRING_CACHE_ANON at creation). */
#define SPRING_VMM_SYNC_SKIP_ANON 0x1u

/**
 * @brief spring_vmm_sync() with choices: which caches are written back.
 *
 * With no flag it is spring_vmm_sync().  With #SPRING_VMM_SYNC_SKIP_ANON the
 * caches of anonymous memory are not written back (their data dies with the
 * VMM, so writing it to swap first is wasted, and fails when the swap is
 * full); every other cache is, as by spring_vmm_sync().
 *
 * @param vmm the VMM (borrow).
 * @param flags 0 or #SPRING_VMM_SYNC_SKIP_ANON.
 * @return as spring_vmm_sync(); #SPRING_EINVAL also for an unknown flag
 *   (nothing is written back).
 */
SPRING_API int spring_vmm_sync_flags(spring_vmm_t *vmm, unsigned flags);

/**
 * @brief The VMM's name.
 * @param vmm the VMM (borrow).
 * @return the name (owned by the VMM), or NULL for NULL.
 */
SPRING_API const char *spring_vmm_name(const spring_vmm_t *vmm);

/**
 * @brief A vmm object for the embedder's own use (for example to give an
 *        in-process pager directly, without a registry).
 * @param vmm the VMM (borrow).
 * @param priv the privilege the object carries.
 * @param out produce: the handle.
 * @return 0; #SPRING_EINVAL for NULL or an unknown privilege; #SPRING_ENOMEM.
 */
SPRING_API int spring_vmm_get_object(spring_vmm_t *vmm, spring_privilege_t priv, spring_vmm_obj_t *out);

/**
 * @brief Check the VMM's internal invariants (frame lists, page hash,
 *        region trees, HAT translations, handle table).
 * @param vmm the VMM (borrow).
 * @param why produce, optional: a static or VMM-owned description of the
 *        first inconsistency found.
 * @return 0 if consistent; #SPRING_EPROTO with @p why set otherwise;
 *   #SPRING_EINVAL for NULL.  Takes every lock in order; call it from a
 *   thread that holds none and not from inside a pager method.
 */
SPRING_API int spring_vmm_check(spring_vmm_t *vmm, const char **why);

/**
 * @brief Step the cache reclaimer (§7.5) by hand: reclaim unattached caches,
 *        least recently detached first, until at most @p keep remain.
 *        Modified data is paged out to the caches' pagers first; a cache
 *        whose page-out fails is kept.  In threaded mode the VMM also does
 *        this by itself when the unattached limit is passed.
 * @param vmm the VMM (borrow).
 * @param keep how many unattached caches may remain.
 * @return the number of caches reclaimed (>= 0); #SPRING_EINVAL for NULL.
 */
SPRING_API int spring_vmm_reclaim_caches(spring_vmm_t *vmm, size_t keep);

/** @brief VMM-wide information and statistics (get_vm_info, Appendix C). */
typedef struct spring_vm_info {
    size_t size;                 /**< set by the caller to sizeof(spring_vm_info_t) before the call
                                      (@ref sized_structs "structures that grow") */
    size_t page_size;            /**< bytes per page */
    size_t nframes;              /**< frames in the pool */
    size_t free_frames;          /**< frames on the free list */
    size_t inuse_frames;         /**< frames holding cached data */
    size_t locked_frames;        /**< frames locked in memory */
    size_t special_frames;       /**< frames the HAT backend took for its own tables (§9.2.1) */
    size_t ncaches;              /**< live caches */
    size_t unattached_caches;    /**< caches on the unattached lists */
    size_t naddress_spaces;      /**< live address spaces */
    uint64_t faults;             /**< faults handled */
    uint64_t page_ins;           /**< page_in calls made to pagers (a call that is retried counts each time) */
    uint64_t page_outs;          /**< page_out calls made to pagers (one call may carry several blocks) */
    uint64_t write_backs;        /**< sync and write_out calls made to pagers (data the VMM keeps) */
    uint64_t reclaims_clean;     /**< clean blocks reused without telling the pager */
    uint64_t zero_fills;         /**< pages zero-filled without a pager call */
    uint64_t scrubs;             /**< frames zeroed before a page_in because they last held another cache's data */
    uint64_t pageouts_nospace;   /**< page_out calls a pager refused with #SPRING_ENOSPC (a full swap): the
                                      blocks stay cached and modified, the call is not retried, and the
                                      replacement scan offers that cache's modified blocks no more in the
                                      same pass */
} spring_vm_info_t;

/**
 * @brief get_vm_info (Appendix C).
 * @param vmm_obj the vmm object (copy).
 * @param info borrow: the caller sets info->size; the rest is produced.
 * @return 0; #SPRING_EINVAL for NULL or a @c size smaller than the first
 *   version of the structure; #SPRING_EBADHANDLE for a bad handle.
 */
SPRING_API int spring_vmm_get_vm_info(spring_vmm_obj_t vmm_obj, spring_vm_info_t *info);

/**
 * @brief create_cache_object (Appendix B, §7.2 steps 3a-3c).
 *
 * The pager object is consumed: from now on the VMM calls it for this
 * cache, and calls its done_with_pager_object when the cache is destroyed
 * or reclaimed.  On failure the pager object is not consumed.
 *
 * @param vmm_obj the vmm object (copy).
 * @param pager_ops the pager object's vtable (borrow: must outlive the cache).
 * @param pager the pager object's implementation pointer (consume).
 * @param signal_last_ref call done_with_cache when the last binding goes.
 * @param info block size and hints (copy).
 * @param ownership the initial ownership state (exclusive or shared).
 * @param max_rights the maximum rights of the cache (one of the four).
 * @param cache produce: the cache object (a handle for the pager).
 * @param rights produce: a cache-rights object with @p max_rights.
 * @return 0; #SPRING_EINVAL for NULL arguments, invalid rights, ownership,
 *   or a block size that is not a power-of-two multiple of the page size;
 *   #SPRING_EVERSION for a pager vtable of an unsupported version;
 *   #SPRING_EBADHANDLE for a bad vmm object; #SPRING_ENOFRAMES if the
 *   block is too large for the pool (the block-size rule below);
 *   #SPRING_ENOMEM.
 *
 * @b Block-size rule: a block (spring_pager_info_t::block_size, a
 * power-of-two multiple of the page size) may have at most a quarter of
 * the VMM's frames (nframes / 4 pages), and the frames not locked in
 * memory must hold two blocks of that size; a larger block gets
 * #SPRING_ENOFRAMES.  A block size that is not a power-of-two multiple of
 * the page size gets #SPRING_EINVAL.
 */
SPRING_API int spring_vmm_create_cache_object(spring_vmm_obj_t vmm_obj, const spring_pager_ops_t *pager_ops,
                                              void *pager, bool signal_last_ref, const spring_pager_info_t *info,
                                              spring_ownership_t ownership, spring_rights_t max_rights,
                                              spring_cache_obj_t *cache, spring_cache_rights_t *rights);

/**
 * @brief create_cache_object_and_bind (Appendix B, §7.5): create a cache and
 *        bind it to an outstanding final_bind.
 * @param vmm_obj the vmm object (copy).
 * @param key the bind key received in final_bind (borrow: it stays the
 *        VMM's, valid until final_bind returns; a second binding with it
 *        gets #SPRING_EBUSY).
 * @param bind_length bytes of the cache the binding covers.
 * @param bind_cache_offset the cache offset matching the mapped object offset.
 * @param bind_max_rights the rights of the binding (at most @p max_rights).
 * @param pager_ops as for spring_vmm_create_cache_object().
 * @param pager as for spring_vmm_create_cache_object() (consume).
 * @param signal_last_ref as for spring_vmm_create_cache_object().
 * @param info as for spring_vmm_create_cache_object().
 * @param ownership as for spring_vmm_create_cache_object().
 * @param max_rights as for spring_vmm_create_cache_object().
 * @param cache produce: the cache object.
 * @param rights produce: a cache-rights object with @p max_rights.
 * @return 0; the codes of spring_vmm_create_cache_object(); #SPRING_EBADHANDLE
 *   for a key that is not outstanding at this VMM; #SPRING_ERIGHTS if
 *   @p bind_max_rights exceeds @p max_rights; #SPRING_EBUSY if the key is
 *   already bound.
 */
SPRING_API int spring_vmm_create_cache_object_and_bind(
    spring_vmm_obj_t vmm_obj, spring_bind_key_t key, spring_off_t bind_length, spring_off_t bind_cache_offset,
    spring_rights_t bind_max_rights, const spring_pager_ops_t *pager_ops, void *pager, bool signal_last_ref,
    const spring_pager_info_t *info, spring_ownership_t ownership, spring_rights_t max_rights,
    spring_cache_obj_t *cache, spring_cache_rights_t *rights);

/**
 * @brief bind_cache (Appendix B, §7.5): bind an existing cache to an
 *        outstanding final_bind.
 *
 * On success the cache cannot be reclaimed until the bind key is gone.
 *
 * @param vmm_obj the vmm object (copy).
 * @param key the bind key received in final_bind (borrow: as for
 *        spring_vmm_create_cache_object_and_bind()).
 * @param bind_length bytes of the cache the binding covers.
 * @param bind_cache_offset the cache offset matching the mapped object offset.
 * @param rights a cache-rights object for the cache (consume on success).
 * @return 0; #SPRING_EBADHANDLE for a bad vmm object, key or cache-rights
 *   (including one for a cache that was reclaimed); #SPRING_EBUSY if the key
 *   is already bound; #SPRING_EINVAL.
 */
SPRING_API int spring_vmm_bind_cache(spring_vmm_obj_t vmm_obj, spring_bind_key_t key, spring_off_t bind_length,
                                     spring_off_t bind_cache_offset, spring_cache_rights_t rights);

/**
 * @brief add_swap_pager (Appendix C, §6.3).
 *
 * The VMM asks its swap pagers for anonymous memory objects, in the order
 * they were added, moving to the next when one answers #SPRING_ENOSPC.
 * A @b temporary swap pager serves new requests only while no permanent
 * (non-temporary) swap pager is registered: it is the stop-gap used until
 * real swap is added.  Objects it already created stay with it.  Swap
 * pagers are released when the VMM is destroyed.
 *
 * @param vmm_obj the vmm object (copy); requires #SPRING_PRIV_SYSTEM.
 * @param ops the swap pager vtable (borrow: must outlive the VMM).
 * @param swapper the implementation pointer (consume).
 * @param temporary see above.
 * @return 0; #SPRING_EINVAL for NULL or a missing required slot;
 *   #SPRING_EVERSION; #SPRING_EBADHANDLE; #SPRING_EPERM for a user-privilege
 *   vmm object; #SPRING_ENOMEM.
 */
SPRING_API int spring_vmm_add_swap_pager(spring_vmm_obj_t vmm_obj, const spring_swap_pager_ops_t *ops,
                                         void *swapper, bool temporary);

/**
 * @brief An interface the VMM's HAT backend offers of its own, by name and
 *        version (spring_hat_ops_t::extension), such as a backend's
 *        counters.
 * @param vmm the VMM (borrow).
 * @param name the interface's name.
 * @param version the version asked for.
 * @return the interface as the backend documents it, valid until the VMM
 *   is destroyed; NULL for NULL arguments, a backend without extensions,
 *   or one that has no such interface of that version.
 */
SPRING_API const void *spring_vmm_hat_extension(spring_vmm_t *vmm, const char *name, int version);

/**
 * @brief Create an empty registry.
 * @param out produce: the registry.
 * @return 0; #SPRING_EINVAL for NULL; #SPRING_ENOMEM.
 */
SPRING_API int spring_registry_new(spring_registry_t **out);

/**
 * @brief Destroy a registry.  The VMMs registered in it are not affected.
 * @param reg the registry (consume); NULL is ignored.
 */
SPRING_API void spring_registry_destroy(spring_registry_t *reg);

/**
 * @brief Register a VMM under its name.
 * @param reg the registry (borrow).
 * @param vmm the VMM (borrow: unregister it before destroying it).
 * @return 0; #SPRING_EINVAL for NULL; #SPRING_EEXIST if the name is taken;
 *   #SPRING_ENOMEM.
 */
SPRING_API int spring_registry_add_vmm(spring_registry_t *reg, spring_vmm_t *vmm);

/**
 * @brief Remove a VMM from a registry.
 * @param reg the registry (borrow).
 * @param vmm the VMM (borrow).
 * @return 0; #SPRING_EINVAL for NULL; #SPRING_ENOENT if it is not registered.
 */
SPRING_API int spring_registry_remove_vmm(spring_registry_t *reg, spring_vmm_t *vmm);

/**
 * @brief Say which privilege a credential grants.
 * @param reg the registry (borrow).
 * @param credential an opaque secret string (copied; non-empty).
 * @param priv the privilege it grants.
 * @return 0; #SPRING_EINVAL for NULL, an empty credential or an unknown
 *   privilege; #SPRING_ENOMEM.  Granting a credential again replaces its
 *   privilege.
 */
SPRING_API int spring_registry_grant(spring_registry_t *reg, const char *credential, spring_privilege_t priv);

/**
 * @brief Look a VMM up by name, as a pager does in §7.2 step 6.
 * @param reg the registry (borrow).
 * @param name the VMM's name.
 * @param credential a credential granted with spring_registry_grant(), or
 *        NULL for an ordinary (#SPRING_PRIV_USER) vmm object.
 * @param out produce: the vmm object, with the credential's privilege.
 * @return 0; #SPRING_EINVAL for NULL; #SPRING_ENOENT for an unknown name;
 *   #SPRING_EPERM for a credential that was never granted.
 */
SPRING_API int spring_registry_lookup(spring_registry_t *reg, const char *name, const char *credential,
                                      spring_vmm_obj_t *out);

#ifdef __cplusplus
}
#endif
#endif /* SPRING_VMM_H */
