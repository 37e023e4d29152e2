/**
 * @file pager.h
 * @brief The pager plugin API: memory objects, pager objects and swap
 *        pagers (paper §4, §6, §7 and Appendix D).
 *
 * A pager implements two separate objects.  The @b memory object represents
 * memory: it can be mapped, and it answers the VMM's bind requests.  The
 * @b pager object provides the paging operations of one cache-pager channel.
 * The two are separate vtables so that a pager may implement them in
 * different places (§4.4), and so that one memory object can point the VMM
 * at a cache created by another pager (stacking).
 *
 * Every vtable starts with an @c int version and grows only by appending.
 * The VMM checks the version and checks each optional slot for NULL before
 * calling it.  This version of the library accepts version 1 of each
 * vtable (#SPRING_PAGER_OPS_VERSION, #SPRING_MOBJ_OPS_VERSION,
 * #SPRING_SWAP_PAGER_OPS_VERSION); a vtable whose version is below 1 or
 * newer than the library knows is refused with #SPRING_EVERSION.  A pager's
 * methods return 0 or a negative @c SPRING_E* code; any other value is
 * treated as #SPRING_EPROTO.
 *
 * @b Locking: the VMM never holds one of its locks while it calls a pager,
 * so a pager may call back into the VMM (cache methods, vmm methods) from
 * inside any of its methods.  Two calls into the VMM may call the pager
 * back on the same thread before they return: spring_cache_populate()
 * allocates frames and may evict, which can call page_out of any cache
 * (the caller's own included), and spring_cache_destroy() may call
 * done_with_pager_object.  A pager must not hold a lock of its own across
 * those calls that its page_out or done_with_pager_object also takes.
 */
#ifndef SPRING_PAGER_H
#define SPRING_PAGER_H

#include <spring/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief The version of #spring_pager_ops_t this header describes. */
#define SPRING_PAGER_OPS_VERSION 1
/** @brief The version of #spring_mobj_ops_t this header describes (2 added
 *         spring_mobj_ops_t::query); versions 1 and 2 are accepted. */
#define SPRING_MOBJ_OPS_VERSION 2
/** @brief The version of #spring_swap_pager_ops_t this header describes. */
#define SPRING_SWAP_PAGER_OPS_VERSION 1

/**
 * @brief The destination of a page_in: the page frames themselves.
 *
 * The VMM hands the pager the frames the data is to land in, so data is
 * read once.  For each page the pager either writes the page's bytes into
 * @c pages[i] or sets @c zero[i] to 1 to say "this page is all zero"
 * (the VMM then zeroes it).  A frame never shows the pager another
 * object's data (§7.4): a frame that last held another cache's data is
 * zeroed before it is lent, so a page the pager neither writes nor marks
 * zero holds zeros or this cache's own earlier data.  On an upgrade (the
 * VMM already holds the block read-only and asks for read-write,
 * @c upgrade set) the pages already hold the cached data; the pager may
 * leave them as they are or overwrite them with newer data.  They may be
 * a copy rather than the frames (when readers hold the frames, or when the
 * cache holds modified data, which then wins over the pager's).
 *
 * The structure is lent for the duration of the call only.
 */
typedef struct spring_page_buf {
    spring_off_t offset;  /**< cache offset of the first page (block aligned) */
    spring_off_t length;  /**< bytes asked for (a multiple of the block size) */
    size_t page_size;     /**< size of each page */
    size_t npages;        /**< length / page_size */
    void *const *pages;   /**< host address of each destination frame */
    uint8_t *zero;        /**< per page: set to 1 to mean "all zero" */
    bool upgrade;         /**< the frames already hold the cached data */
} spring_page_buf_t;

/**
 * @brief The pager object (Appendix D, pager_object): how the VMM pages one
 *        cache in and out.
 *
 * @c self is the implementation pointer the pager passed with the vtable.
 * For every request, @p offset and @p size are aligned to the cache's block
 * size, and @p own is the cache's ownership state: the pager may change it
 * by storing a new state (borrow).
 */
typedef struct spring_pager_ops {
    int version; /**< #SPRING_PAGER_OPS_VERSION */

    /**
     * @brief Bring data into the cache (required).
     * @param self the pager object.
     * @param offset cache offset.
     * @param size bytes.
     * @param access #SPRING_RIGHTS_RO or #SPRING_RIGHTS_RW: the mode asked for.
     * @param own borrow: the cache's ownership state.
     * @param dst the destination frames (borrow, for the call only).
     * @return 0, or a negative code: the fault that caused the request fails
     *   with #SPRING_EPAGER; #SPRING_ERANGE means the range lies past the
     *   end of the object (a truncated file), is not retried, and the
     *   fault fails with #SPRING_ERANGE itself.
     */
    int (*page_in)(void *self, spring_off_t offset, spring_off_t size, spring_rights_t access,
                   spring_ownership_t *own, spring_page_buf_t *dst);
    /**
     * @brief Move data out of the cache (required).  The VMM drops the
     *        blocks after a successful call.  Only modified blocks of caches
     *        bound writable are paged out (clean blocks are dropped without
     *        a call, §6.1).  One call carries the modified blocks of one run
     *        of contiguous block offsets, which @p offset and @p size cover
     *        exactly, one data entry per page (see #spring_data_t); all-zero
     *        pages travel as an indication.
     * @param self the pager object.
     * @param offset cache offset of the first block.
     * @param size bytes covered (a multiple of the block size).
     * @param own borrow: the cache's ownership state.
     * @param data the data (borrow, for the call only: the bytes point into
     *        the page frames).
         * @return 0, or a negative code: the VMM keeps every block of the call
     *   cached and modified.  #SPRING_ENOSPC means the pager has no room
     *   (a full swap): the VMM does not retry the call as it retries a
     *   system pager's failures, does not offer that cache's modified
     *   blocks again in the same replacement pass, and counts it apart
     *   (spring_pager_stats_t::nospace, spring_vm_info_t::pageouts_nospace);
     *   a caller that needed a frame then gets #SPRING_ENOFRAMES.
     */
    int (*page_out)(void *self, spring_off_t offset, spring_off_t size, spring_ownership_t *own,
                    const spring_data_t *data);
    /**
     * @brief Downgrade read-write data to read-only; the VMM keeps a
     *        read-only copy (optional).
     *
     * Data the VMM keeps cached (a page locked in memory, a
     * spring_as_flush() with please_keep, spring_vmm_sync()) goes back with
     * sync, or with write_out when the pager has no sync.  A pager with
     * neither cannot receive such data: those blocks stay cached and
     * modified and the call that wanted them written reports
     * #SPRING_ENOKEEP.  The data list is as for page_out.
     * @param self the pager object.
     * @param offset cache offset.
     * @param size bytes.
     * @param own borrow: the cache's ownership state.
     * @param data the modified data (borrow).
     * @return 0, or a negative code: the blocks stay cached and modified.
     */
    int (*write_out)(void *self, spring_off_t offset, spring_off_t size, spring_ownership_t *own,
                     const spring_data_t *data);
    /**
     * @brief Copy data back to the pager; the VMM keeps it in the same mode
     *        (optional; see write_out for what the VMM does without it).
     *        The data list is as for page_out.
     * @param self the pager object.
     * @param offset cache offset.
     * @param size bytes.
     * @param own borrow: the cache's ownership state.
     * @param data the modified data (borrow).
     * @return 0, or a negative code: the blocks stay cached and modified.
     */
    int (*sync)(void *self, spring_off_t offset, spring_off_t size, spring_ownership_t *own,
                const spring_data_t *data);
    /**
     * @brief Tell the pager that a range is now all zero and held read-write
     *        by the VMM (optional).  The VMM calls it after it made a range
     *        of the default anonymous object zero, when
     *        spring_as_allocate_memory() maps it and when it is unmapped.
     *        It is a hint: the VMM has already made the range zero in the
     *        cache, and a failure does not fail the mapping call.  The call
     *        for an unmap comes after the unmap dropped its locks, but
     *        before any later allocation of the range returns, so no data
     *        written to the range afterwards reaches the pager before it.
     *        (So the method may allocate memory in that address space
     *        itself, but must not wait for another thread that does.)
     * @param self the pager object.
     * @param offset cache offset.
     * @param size bytes.
     * @param own borrow: the cache's ownership state.
     * @return 0 or a negative code (counted as a failure in the pager's
     *   statistics, otherwise ignored).
     */
    int (*zero_fill_range)(void *self, spring_off_t offset, spring_off_t size, spring_ownership_t *own);
    /**
     * @brief The last binding to the cache is gone (optional; called only
     *        when the cache was created with signal_last_ref).
     * @param self the pager object.
     * @param own borrow: the cache's ownership state.
     */
    void (*done_with_cache)(void *self, spring_ownership_t *own);
    /**
     * @brief The VMM will never call this pager object again (optional): the
     *        cache was destroyed or reclaimed.  The pager may free @p self.
     * @param self the pager object.
     */
    void (*done_with_pager_object)(void *self);
    /* methods above: version 1 */
} spring_pager_ops_t;

/** @brief Kinds of cache: selects the unattached list a cache waits on (§9.2.1). */
typedef enum spring_cache_kind {
    SPRING_CACHE_DATA = 0, /**< file or other data */
    SPRING_CACHE_TEXT = 1, /**< program text */
    SPRING_CACHE_ANON = 2  /**< anonymous memory */
} spring_cache_kind_t;

/** @brief Information a pager gives when it creates a cache (§5.1, footnote 3). */
typedef struct spring_pager_info {
    spring_off_t block_size;  /**< a power-of-two multiple of the page size, at most a quarter of the
                                   frame pool (spring_vmm_create_cache_object()); 0 = one page */
    spring_cache_kind_t kind; /**< hint: text, data or anonymous */
    unsigned cost;            /**< hint: relative cost of using the pager (0 = cheap) */
    bool keep_unattached;     /**< keep the cache after its last attachment is gone: until more than the
                                   VMM's max_unattached_caches are unattached (oldest go first) or
                                   spring_vmm_reclaim_caches() reclaims it; false: reclaimed at once */
} spring_pager_info_t;

/**
 * @brief A memory object.  Reference counted; created by its pager with
 *        spring_mobj_new(), held by regions, COW maps and clients.
 */
typedef struct spring_mobj spring_mobj_t;

/**
 * @brief The memory object (Appendix D, memory_object).
 *
 * @c self is the implementation pointer given to spring_mobj_new().
 */
typedef struct spring_mobj_ops {
    int version; /**< #SPRING_MOBJ_OPS_VERSION */

    /**
     * @brief Point the VMM named @p vmm_name at a cache holding this
     *        object's data (required; §7.2 steps 2-4).
     * @param self the memory object.
     * @param vmm_name the name of the VMM asking (not the VMM itself): the
     *        pager looks the vmm object up in its registry (§7.2 step 6).
     * @param access the rights the mapping asks for.
     * @param mobj_offset offset in the memory object.
     * @param length borrow: bytes asked for; the pager may shorten it.
     * @param rights produce: a cache-rights object for the cache.  The VMM
     *        borrows it: the pager keeps ownership.
     * @param cache_offset produce: the cache offset matching @p mobj_offset.
     * @param flags produce: reserved, must be set to 0.
     * @return 0 or a negative code (the map fails with #SPRING_EBIND).
     */
    int (*bind)(void *self, const char *vmm_name, spring_rights_t access, spring_off_t mobj_offset,
                spring_off_t *length, spring_cache_rights_t *rights, spring_off_t *cache_offset,
                long *flags);
    /**
     * @brief Second chance after a bind that returned an invalid cache-rights
     *        (required; §7.5).  The pager is expected to call
     *        spring_vmm_bind_cache() or spring_vmm_create_cache_object_and_bind()
     *        with @p key before it returns.
     * @param self the memory object.
     * @param key the bind key (consume: valid until final_bind returns).
     * @param vmm_name the name of the VMM asking.
     * @param access the rights the mapping asks for.
     * @param mobj_offset offset in the memory object.
     * @param length bytes asked for.
     * @param flags produce: reserved, must be set to 0.
     * @return 0 or a negative code.
     */
    int (*final_bind)(void *self, spring_bind_key_t key, const char *vmm_name, spring_rights_t access,
                      spring_off_t mobj_offset, spring_off_t length, long *flags);
    /**
     * @brief The object's length (optional).
     * @param self the memory object.
     * @param length produce: the length in bytes.
     * @return 0 or a negative code.
     */
    int (*get_length)(void *self, spring_off_t *length);
    /**
     * @brief Change the object's length (optional).
     * @param self the memory object.
     * @param length the new length in bytes.
     * @return 0 or a negative code.
     */
    int (*set_length)(void *self, spring_off_t length);
    /**
     * @brief All references to the memory object are gone (optional).
     * @param self the memory object; the pager may free it.
     */
    void (*release)(void *self);
    /* methods above: version 1 */
    /**
     * @brief A further interface the object offers, by name and version
     *        (optional): the paper's interface inheritance (§1.1: a file
     *        is a memory object that also has read, write and length
     *        operations).  Reached with spring_mobj_query().
     * @param self the implementation.
     * @param name the interface's name (#SPRING_MOBJ_VIEW_INTERFACE, or one
     *        the pager documents).
     * @param version the version asked for.
     * @return the interface (a structure the pager documents, valid while
     *   the object lives), or NULL if it has no such interface of that
     *   version.  By convention an interface's functions take the memory
     *   object itself as their first argument (as #spring_mobj_view_t
     *   does), so that a caller needs nothing but the object.
     */
    const void *(*query)(void *self, const char *name, int version);
    /* methods above: version 2 */
} spring_mobj_ops_t;

/**
 * @brief Wrap a pager's memory object implementation in a reference-counted
 *        memory object.
 * @param ops the vtable (borrow: must stay valid while the object lives).
 * @param self the implementation pointer passed back to every method.
 * @param out produce: the new object, with one reference for the caller.
 * @return 0; #SPRING_EINVAL if @p ops or @p out is NULL or a required slot
 *   is NULL; #SPRING_EVERSION if the version is not supported;
 *   #SPRING_ENOMEM.
 */
SPRING_API int spring_mobj_new(const spring_mobj_ops_t *ops, void *self, spring_mobj_t **out);

/**
 * @brief Take a reference (copy).
 * @param mobj the object; NULL is ignored.
 * @return @p mobj.
 */
SPRING_API spring_mobj_t *spring_mobj_ref(spring_mobj_t *mobj);

/**
 * @brief Drop a reference (consume).  At the last one, the implementation's
 *        release method is called.
 * @param mobj the object; NULL is ignored.
 */
SPRING_API void spring_mobj_unref(spring_mobj_t *mobj);

/**
 * @brief The implementation pointer of a memory object.
 * @param mobj the object (borrow).
 * @return the @c self given to spring_mobj_new(), or NULL for NULL.
 */
SPRING_API void *spring_mobj_impl(const spring_mobj_t *mobj);

/**
 * @brief Call the memory object's get_length method.
 * @param mobj the object (borrow).
 * @param length produce: the length.
 * @return 0; #SPRING_EINVAL for NULL arguments; #SPRING_ENOSYS if the
 *   object has no get_length; or the pager's code.
 */
SPRING_API int spring_mobj_get_length(spring_mobj_t *mobj, spring_off_t *length);

/**
 * @brief Call the memory object's set_length method.
 * @param mobj the object (borrow).
 * @param length the new length.
 * @return 0; #SPRING_EINVAL for NULL; #SPRING_ENOSYS if the object has no
 *   set_length; or the pager's code.
 */
SPRING_API int spring_mobj_set_length(spring_mobj_t *mobj, spring_off_t length);

/**
 * @brief A further interface of a memory object (spring_mobj_ops_t::query).
 * @param mobj the object (borrow).
 * @param name the interface's name.
 * @param version the version asked for.
 * @return what the object's query answered; NULL for NULL arguments, an
 *   object of version 1 or without query, or one without that interface.
 */
SPRING_API const void *spring_mobj_query(spring_mobj_t *mobj, const char *name, int version);

/** @brief The name of the view interface (#spring_mobj_view_t), version 1:
 *         an object that can hand out views of itself with fewer rights. */
#define SPRING_MOBJ_VIEW_INTERFACE "spring.view"

/**
 * @brief The view interface: the read-only and read-write objects over one
 *        memory that share one cache (§2).
 */
typedef struct spring_mobj_view {
    int version; /**< 1 */
    /**
     * @brief A memory object over the same memory with at most @p max
     *        rights: every mapping of either shares the one cache, and no
     *        mapping of the view gets more than @p max (not even by
     *        spring_as_change_access_rights()).
     * @param mobj the object queried (borrow).
     * @param max the rights of the view (a subset of the object's own).
     * @param out produce: the view, one reference for the caller.
     * @return 0; #SPRING_ERIGHTS if @p max exceeds the object's rights;
     *   #SPRING_EINVAL for invalid rights; #SPRING_ENOMEM.
     */
    int (*view)(spring_mobj_t *mobj, spring_rights_t max, spring_mobj_t **out);
} spring_mobj_view_t;

/**
 * @brief A swap pager (§6.3): creates anonymous memory objects for the VMM.
 *
 * An anonymous memory object starts all zero and is like any other memory
 * object: it can be passed around and mapped elsewhere.
 */
typedef struct spring_swap_pager_ops {
    int version; /**< #SPRING_SWAP_PAGER_OPS_VERSION */
    /**
     * @brief Create an anonymous memory object (required).
     * @param self the swap pager.
     * @param length the length of the object in bytes.
     * @param out produce: the new object with one reference for the caller.
     * @return 0; #SPRING_ENOSPC when it has no room (the VMM then tries the
     *   next swap pager); or another negative code.
     */
    int (*create_mobj)(void *self, spring_off_t length, spring_mobj_t **out);
    /**
     * @brief The VMM or address space no longer uses this swap pager
     *        (optional).
     * @param self the swap pager.
     */
    void (*release)(void *self);
    /* methods above: version 1 */
} spring_swap_pager_ops_t;

#ifdef __cplusplus
}
#endif
#endif /* SPRING_PAGER_H */
