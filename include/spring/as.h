/**
 * @file as.h
 * @brief The address space object (Appendix A) and memory access for
 *        embedders.
 *
 * An address space is a range of virtual addresses [base, limit) in which
 * regions map parts of memory objects.  Each page of a region has its own
 * access rights and lock state.  No mapping ever exceeds the rights of the
 * memory object's binding (the cache-rights the pager returned).
 *
 * All addresses, offsets and lengths given to these calls must be multiples
 * of the page size unless a function says otherwise.  Every function is
 * thread-safe, spring_as_destroy() included: it waits for the calls in
 * progress on the space, and every function taking the space fails with
 * #SPRING_EDESTROYED when called while destroy waits (what a call may not
 * do is begin after destroy returned: see there).  None may be called from
 * inside a pager method of a pager whose data the call may need (it could
 * wait for that pager).
 */
#ifndef SPRING_AS_H
#define SPRING_AS_H

#include <spring/cache.h>
#include <spring/common.h>
#include <spring/pager.h>
#include <spring/vmm.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief An address space. */
typedef struct spring_as spring_as_t;

/** @brief Options for a new address space.  Initialize with spring_as_options_init(). */
typedef struct spring_as_options {
    size_t size;         /**< sizeof(spring_as_options_t), set by spring_as_options_init()
                              (@ref sized_structs "structures that grow") */
    spring_addr_t base;  /**< lowest usable address (page aligned); 0 means one page: address 0 is never usable */
    spring_addr_t limit; /**< one past the highest usable address; default 2^47 */
    bool privileged;     /**< authenticated for lock_memory (§4.1.2) */
} spring_as_options_t;

/**
 * @brief Fill address-space options with defaults.
 * @param opts produce; NULL is ignored.
 */
SPRING_API void spring_as_options_init(spring_as_options_t *opts);

/**
 * @brief Create an address space.
 * @param vmm the VMM (borrow: it must outlive the address space).
 * @param opts the options (copy), or NULL for the defaults.
 * @param out produce: the address space.
 * @return 0; #SPRING_EINVAL for NULL, base >= limit, or an options @c size
 *   the library cannot read (@ref sized_structs "structures that grow"); #SPRING_EALIGN for
 *   unaligned bounds; #SPRING_ENOMEM; or the HAT's code.
 */
SPRING_API int spring_as_new(spring_vmm_t *vmm, const spring_as_options_t *opts, spring_as_t **out);

/**
 * @brief Destroy an address space: every region is unmapped.
 *
 * Calls on the space that other threads are inside when destroy is called
 * are waited for: destroy returns only after each of them has returned,
 * with its usual result (a call held in a pager or an event handler holds
 * destroy as long).  spring_as_translate_fast() is no exception.  A call
 * that begins while destroy waits fails with #SPRING_EDESTROYED and
 * changes nothing (spring_as_get_page_size() answers 0).
 *
 * When destroy returns the space is freed memory, and a call that begins
 * then cannot be caught: it is the caller's bug.  So is one that begins
 * after destroy was called, unless the caller knows destroy still waits
 * (for a call it holds).  A thread that may begin calls on the space must
 * therefore be stopped before destroy is called; a thread already inside
 * a call (blocked in a pager, say) need not be waited for by the caller.
 * Destroying a space twice is the caller's bug too.
 *
 * Called from inside a call on the same space (from its event handler, or
 * from a pager method or a handler run for one of its calls), destroy
 * would wait for itself: it does nothing instead, and spring_last_error()
 * says why.
 *
 * @param as the address space (consume, once no other call on it can
 *        begin); NULL is ignored.
 */
SPRING_API void spring_as_destroy(spring_as_t *as);

/** @brief One mapping, as given to map_many and reported by get_mappings. */
typedef struct spring_mapping {
    spring_mobj_t *mobj;       /**< map_many: borrowed; get_mappings: a reference the caller owns */
    spring_off_t mobj_offset;  /**< offset in the memory object */
    spring_off_t length;       /**< bytes */
    spring_addr_t address;     /**< map_many: wanted address or #SPRING_ANYWHERE; produced */
    spring_rights_t access;    /**< the access rights of the pages */
    spring_rights_t max_access; /**< get_mappings: the most the mapping may be given */
    bool locked;               /**< get_mappings: the pages are locked in memory */
    int result;                /**< map_many: this entry's result code */
} spring_mapping_t;

/**
 * @brief map (Appendix A): map part of a memory object.
 *
 * The VMM binds the memory object (§7.2) and maps the cache it is pointed
 * at.  If the pager's cache-rights is invalid the VMM tries final_bind
 * (§7.5) before failing.
 *
 * @param as the address space (borrow).
 * @param mobj the memory object (copy: the region keeps a reference).
 * @param mobj_offset offset in the object (page aligned).
 * @param length borrow: bytes to map (page aligned, non-zero); on return the
 *        length mapped (the pager may shorten it).
 * @param address borrow: the wanted address, or #SPRING_ANYWHERE; on return
 *        the address mapped.
 * @param access the access rights (one of the four).
 * @return 0; #SPRING_EINVAL (NULL, zero length, invalid rights);
 *   #SPRING_EALIGN; #SPRING_ERANGE (outside the address space, offset
 *   overflow, or the memory object's bind answered #SPRING_ERANGE: the
 *   range lies past the object's end, as a file's pager says); #SPRING_EEXIST
 *   (overlaps a mapping); #SPRING_ENOSPC (no free
 *   range for #SPRING_ANYWHERE); #SPRING_EBIND (the bind failed otherwise, or the
 *   cache-rights was forged, stale or foreign and final_bind failed too:
 *   spring_last_error() then says why, with the code the pager's bind or
 *   final_bind returned, for example #SPRING_ENOFRAMES for a cache whose block size the
 *   frame pool cannot hold, or the protocol rule its answer broke);
 *   #SPRING_ERIGHTS (@p access exceeds the binding's rights);
 *   #SPRING_ENOMEM.  On failure nothing is mapped.
 */
SPRING_API int spring_as_map(spring_as_t *as, spring_mobj_t *mobj, spring_off_t mobj_offset, spring_off_t *length,
                             spring_addr_t *address, spring_rights_t access);

/**
 * @brief map_many (Appendix A): several maps in one call.
 *
 * Entries are mapped in order; each entry's @c result says how it went and
 * @c address/@c length are updated as by spring_as_map().  Entries after a
 * failed one are still tried.
 *
 * @param as the address space (borrow).
 * @param mappings borrow: the entries.
 * @param n number of entries.
 * @return 0 if every entry was mapped; otherwise the first failing entry's
 *   code; #SPRING_EINVAL for NULL arguments.
 */
SPRING_API int spring_as_map_many(spring_as_t *as, spring_mapping_t *mappings, size_t n);

/**
 * @brief unmap (Appendix A): remove mappings in a range; regions partly in
 *        the range are split.  Unmapped parts of the range are ignored.
 *        Pins are not affected: a pinned frame stays valid (and cached).
 * @param as the address space (borrow).
 * @param address start (page aligned).
 * @param length bytes (page aligned, non-zero).
 * @return 0; #SPRING_EINVAL; #SPRING_EALIGN; #SPRING_ERANGE; #SPRING_ENOMEM
 *   (a split needed memory; nothing changed).
 */
SPRING_API int spring_as_unmap(spring_as_t *as, spring_addr_t address, spring_off_t length);

/**
 * @brief allocate_memory (Appendix A): map zero-filled memory from the
 *        address space's default anonymous memory object.
 * @param as the address space (borrow).
 * @param length borrow: bytes (page aligned, non-zero).
 * @param address borrow: the wanted address or #SPRING_ANYWHERE; produced.
 * @param access the access rights.
 * @return as spring_as_map(); #SPRING_ENOSWAP if no swap pager is available.
 */
SPRING_API int spring_as_allocate_memory(spring_as_t *as, spring_off_t *length, spring_addr_t *address,
                                         spring_rights_t access);

/**
 * @brief allocate_memory_and_mobj (Appendix A): obtain a new anonymous
 *        memory object from a swap pager and map it.
 * @param as the address space (borrow).
 * @param length borrow: bytes.
 * @param address borrow: the wanted address or #SPRING_ANYWHERE; produced.
 * @param access the access rights.
 * @param mobj produce: the new memory object (one reference for the caller;
 *        the region holds its own).
 * @return as spring_as_allocate_memory().
 */
SPRING_API int spring_as_allocate_memory_and_mobj(spring_as_t *as, spring_off_t *length, spring_addr_t *address,
                                                  spring_rights_t access, spring_mobj_t **mobj);

/**
 * @brief change_access_rights (Appendix A) of every page in a range.
 * @param as the address space (borrow).
 * @param address start.
 * @param length bytes.
 * @param rights the new rights: one of the four, or #SPRING_RIGHTS_NONE.
 * @return 0; #SPRING_EINVAL; #SPRING_EALIGN; #SPRING_ERANGE;
 *   #SPRING_ENOTMAPPED (part of the range is not mapped); #SPRING_ERIGHTS
 *   (exceeds some region's maximum rights); #SPRING_ENOMEM.  On failure
 *   nothing changed.
 */
SPRING_API int spring_as_change_access_rights(spring_as_t *as, spring_addr_t address, spring_off_t length,
                                              spring_rights_t rights);

/**
 * @brief flush (Appendix A): write modified pages of a range back to their
 *        pagers.
 *
 * Without @p please_keep the pages are removed from the cache: modified
 * ones are paged out (page_out), clean ones simply dropped.  With
 * @p please_keep they stay cached.  One rule covers every page the VMM
 * must keep (please_keep, or a page locked in memory, which is never
 * removed): its modified data goes back with the pager's sync (the page
 * stays in its mode), else with its write_out (the page stays read-only).
 * A pager with neither cannot receive data the VMM keeps: those pages stay
 * cached and modified, and the call returns #SPRING_ENOKEEP.  A pager call
 * may carry several contiguous blocks.
 *
 * @param as the address space (borrow).
 * @param address start.
 * @param length bytes.
 * @param please_keep keep the data cached.
 * @return 0; #SPRING_EINVAL; #SPRING_EALIGN; #SPRING_ERANGE;
 *   #SPRING_EPAGER or #SPRING_EPROTO (a pager failed; its pages stay cached
 *   and modified); #SPRING_ENOSPC (a pager had no space, as a full swap
 *   does: its pages stay cached and modified); #SPRING_ENOKEEP (see
 *   above); #SPRING_ENOMEM.  Every
 *   page of the range is tried; the first failure is returned.
 */
SPRING_API int spring_as_flush(spring_as_t *as, spring_addr_t address, spring_off_t length, bool please_keep);

/**
 * @brief get_page_size (Appendix A).
 * @param as the address space (borrow).
 * @return the page size in bytes, or 0 for NULL or a space being destroyed.
 */
SPRING_API size_t spring_as_get_page_size(const spring_as_t *as);

/**
 * @brief get_mappings (Appendix A): describe the mappings that intersect a
 *        range, one entry per run of pages with the same attributes,
 *        clipped to the range, in address order.
 * @param as the address space (borrow).
 * @param address start.
 * @param length bytes.
 * @param out produce: up to @p cap entries; each holds a memory object
 *        reference the caller must drop (spring_mappings_release()).
 * @param cap capacity of @p out.
 * @param n produce: number of entries written.
 * @param more_regions produce: true if entries were left out for lack of room.
 * @return 0; #SPRING_EINVAL (NULL arguments, @p out NULL with @p cap > 0);
 *   #SPRING_EALIGN; #SPRING_ERANGE.
 */
SPRING_API int spring_as_get_mappings(spring_as_t *as, spring_addr_t address, spring_off_t length,
                                      spring_mapping_t *out, size_t cap, size_t *n, bool *more_regions);

/**
 * @brief Drop the memory object references of get_mappings entries.
 * @param m the entries (borrow; their @c mobj fields are cleared).
 * @param n number of entries.
 */
SPRING_API void spring_mappings_release(spring_mapping_t *m, size_t n);

/** @brief Per-address-space statistics (Appendix A statistics). */
typedef struct spring_as_statistics {
    size_t size;             /**< set by the caller to sizeof(spring_as_statistics_t) before the call
                                  (@ref sized_structs "structures that grow") */
    size_t nregions;         /**< regions mapped */
    spring_off_t mapped;     /**< bytes mapped */
    size_t resident;         /**< pages entered in the HAT */
    size_t locked;           /**< pages locked in memory */
    uint64_t faults;         /**< faults handled */
    uint64_t zero_fills;     /**< faults satisfied with a zero page */
    uint64_t page_ins;       /**< faults that called a pager */
    uint64_t protection_faults; /**< accesses refused by the rights */
    uint64_t unmapped_faults;   /**< accesses to unmapped addresses */
    uint64_t tlb_hits;       /**< translations served by the HAT without a fault (approximate under concurrency) */
} spring_as_statistics_t;

/**
 * @brief statistics (Appendix A).
 * @param as the address space (borrow).
 * @param stats borrow: the caller sets stats->size; the rest is produced.
 * @return 0; #SPRING_EINVAL for NULL or a @c size smaller than the first
 *   version of the structure.
 */
SPRING_API int spring_as_statistics(spring_as_t *as, spring_as_statistics_t *stats);

/**
 * @brief The statistics of the pager whose cache is mapped at an address
 *        (the embedder's view of spring_cache_pager_stats()).
 * @param as the address space (borrow).
 * @param address any address inside the mapping.
 * @param stats borrow: the caller sets stats->size; the statistics of the
 *        mapped cache's pager object are produced.
 * @return 0; #SPRING_EINVAL for NULL or a @c size smaller than the first
 *   version of the structure; #SPRING_ENOTMAPPED.
 */
SPRING_API int spring_as_pager_stats(spring_as_t *as, spring_addr_t address, spring_pager_stats_t *stats);

/**
 * @brief set_swap_pager (§6.3; add_swap_pager in Appendix A): the swap pager
 *        this address space's anonymous memory comes from.  Memory already
 *        allocated keeps its object; the default anonymous object is
 *        replaced on the next allocation.
 * @param as the address space (borrow).
 * @param ops the swap pager vtable (borrow: must outlive the address space),
 *        or NULL to go back to the VMM's swap pagers.
 * @param swapper the implementation pointer (consume; released when the
 *        address space is destroyed, also after it was replaced, since a
 *        concurrent allocation may still be using it).
 * @return 0; #SPRING_EINVAL; #SPRING_EVERSION; #SPRING_ENOMEM.
 */
SPRING_API int spring_as_set_swap_pager(spring_as_t *as, const spring_swap_pager_ops_t *ops, void *swapper);

/**
 * @brief lock_memory (Appendix A): make the pages of a range resident and
 *        keep them so: under frame pressure they never cause page traffic.
 * @param as the address space (borrow); must be privileged.
 * @param address start.
 * @param length bytes.
 * @return 0; #SPRING_EINVAL; #SPRING_EALIGN; #SPRING_ERANGE;
 *   #SPRING_ENOTMAPPED; #SPRING_EPERM (not privileged);
 *   #SPRING_ELOCKLIMIT (the pool cannot hold the locked pages and still
 *   keep two of the largest blocks of any cache unlocked);
 *   #SPRING_EPAGER, #SPRING_EPROTO (a pager failed making a page
 *   resident); #SPRING_EDESTROYED (a region's cache was destroyed);
 *   #SPRING_ENOFRAMES (no frame could be freed to make a page resident).
 *   On failure nothing this call locked stays locked.
 */
SPRING_API int spring_as_lock_memory(spring_as_t *as, spring_addr_t address, spring_off_t length);

/**
 * @brief unlock_memory (Appendix A).
 * @param as the address space (borrow).
 * @param address start.
 * @param length bytes.
 * @return 0; #SPRING_EINVAL; #SPRING_EALIGN; #SPRING_ERANGE;
 *   #SPRING_ENOTMAPPED; #SPRING_EPERM.
 */
SPRING_API int spring_as_unlock_memory(spring_as_t *as, spring_addr_t address, spring_off_t length);

/** @brief Kinds of address-space events. */
typedef enum spring_as_event_kind {
    SPRING_AS_EVENT_UNMAPPED = 1, /**< access to an unmapped address */
    SPRING_AS_EVENT_ACCESS = 2,   /**< access violating the rights */
    SPRING_AS_EVENT_MAP = 3,      /**< a range was mapped */
    SPRING_AS_EVENT_UNMAP = 4,    /**< a range was unmapped */
    SPRING_AS_EVENT_PROTECT = 5   /**< rights of a range changed */
} spring_as_event_kind_t;

/** @brief An address-space event. */
typedef struct spring_as_event {
    spring_as_event_kind_t kind; /**< what happened */
    spring_addr_t address;       /**< the faulting address, or the range start */
    spring_off_t length;         /**< the range length (0 for faults) */
    spring_rights_t access;      /**< the access (faults) or the new rights */
} spring_as_event_t;

/**
 * @brief An event handler.  It runs with no VMM lock held, in the thread
 *        that caused the event, and may call any address-space function
 *        (but for spring_as_destroy() of the space whose call it runs in,
 *        which is refused).
 *
 * While a thread runs a handler, no event is delivered on that thread (of
 * any address space): a fault it takes fails as it would with no handler
 * (#SPRING_ENOTMAPPED or #SPRING_EACCES), and mapping events it causes are
 * not reported.  So a handler that touches the faulting address gets an
 * error instead of recursing.
 * @param as the address space.
 * @param ev the event (borrow).
 * @param arg the handler's argument.
 * @return for fault events: 1 to have the access retried (the handler
 *   resolved it, for example by mapping memory), 0 to let it fail.
 *   Ignored for mapping events.
 */
typedef int (*spring_as_handler_fn)(spring_as_t *as, const spring_as_event_t *ev, void *arg);

/**
 * @brief catch_as_events (Appendix A): set (or clear) the event handler.
 * @param as the address space (borrow).
 * @param fn the handler, or NULL to remove it.
 * @param arg its argument.
 * @return 0; #SPRING_EINVAL for NULL @p as.
 */
SPRING_API int spring_as_catch_as_events(spring_as_t *as, spring_as_handler_fn fn, void *arg);

/**
 * @brief Read bytes through the address space, faulting as needed.  Any
 *        alignment and length.
 * @param as the address space (borrow).
 * @param address where to read.
 * @param buf produce: @p len bytes.
 * @param len bytes.
 * @return 0; #SPRING_EINVAL; #SPRING_ENOTMAPPED; #SPRING_EACCES; a pager
 *   failure (#SPRING_EPAGER); #SPRING_ERANGE when the pager says the page
 *   lies wholly past the end of its object (a truncated file: the SIGBUS
 *   of a POSIX mapping); #SPRING_EDESTROYED; #SPRING_ENOFRAMES.  On
 *   failure, bytes before the failing page may have been read.
 */
SPRING_API int spring_as_read(spring_as_t *as, spring_addr_t address, void *buf, size_t len);

/**
 * @brief Write bytes through the address space, faulting as needed.
 * @param as the address space (borrow).
 * @param address where to write.
 * @param buf the bytes (borrow).
 * @param len bytes.
 * @return as spring_as_read().  On failure, pages before the failing one
 *   may have been written.
 */
SPRING_API int spring_as_write(spring_as_t *as, spring_addr_t address, const void *buf, size_t len);

/**
 * @brief Resolve a fault explicitly (as an MMU trap handler would).
 * @param as the address space (borrow).
 * @param address the faulting address (any alignment).
 * @param access #SPRING_RIGHTS_R, #SPRING_RIGHTS_W or #SPRING_RIGHTS_X.
 * @return as spring_as_read().
 */
SPRING_API int spring_as_fault(spring_as_t *as, spring_addr_t address, spring_rights_t access);

/** @brief A pin on a page frame, produced by spring_as_translate(). */
typedef struct spring_pin {
    void *vmm;        /**< internal: the VMM */
    void *frame;      /**< internal: the pinned frame, NULL when released */
    unsigned access;  /**< internal: the access pinned for */
} spring_pin_t;

/**
 * @brief Translate an address, for an access, to a host pointer into its
 *        frame, faulting as needed; the software TLB serves the fast path.
 *
 * The pointer is valid for the bytes from @p address to the end of its
 * page, and the frame is pinned until spring_pin_release(): it is never
 * evicted or reused meanwhile.  Pager requests that take data back
 * (flush_back, deny_writes, write_back, and spring_as_flush) wait for
 * write pins; delete_range, zero_fill, populate and destroy_cache do not
 * wait, and after them writes through the pointer no longer reach the
 * cache (spring_pin_valid() tells).  unmap neither waits nor revokes: the
 * frame stays cached, except for memory from spring_as_allocate_memory(),
 * whose data unmap discards.  A request waiting for a write pin keeps the
 * pages it takes back in transit meanwhile (faults on them wait): keep
 * write pins short, and while holding one do not access pages that a
 * pager may be taking back at the same time.
 *
 * @param as the address space (borrow).
 * @param address the address.
 * @param access #SPRING_RIGHTS_R, #SPRING_RIGHTS_W or #SPRING_RIGHTS_X.
 * @param ptr produce: the host pointer.
 * @param pin produce: the pin to release.
 * @return as spring_as_fault().
 */
SPRING_API int spring_as_translate(spring_as_t *as, spring_addr_t address, spring_rights_t access, void **ptr,
                                   spring_pin_t *pin);

/**
 * @brief Register the calling thread for spring_as_translate_fast()
 *        (quiescent-state-based reclamation, liburcu's QSBR flavour).
 *
 * A registered thread promises to pass quiescent points
 * (spring_quiescent(), or any springvm call other than
 * spring_as_translate_fast()) regularly: the VMM reuses frames that fast
 * translations may have reached, and marks clean blocks that fast
 * translations for writing reached, only after every registered thread
 * passed one (a grace period).  A registered thread that stops passing
 * quiescent points for more than about a second makes the calls that need
 * a grace period fail with #SPRING_EQUIESCE (frame allocation, write-back
 * of such blocks, spring_vmm_destroy()); it never makes the VMM reuse a
 * frame early.  A thread unregisters (spring_thread_unregister()) before
 * it exits, and while it blocks for long outside the library.
 * @return 0 (also when already registered); #SPRING_ENOMEM.
 */
SPRING_API int spring_thread_register(void);

/**
 * @brief Unregister the calling thread (a quiescent point); its fast
 *        pointers must not be used any more.  Nothing happens for a thread
 *        that is not registered.
 */
SPRING_API void spring_thread_unregister(void);

/**
 * @brief A quiescent point of the calling thread: from here on it uses no
 *        pointer spring_as_translate_fast() gave it before.  Cheap (no
 *        lock, no system call); nothing happens for a thread that is not
 *        registered.
 */
SPRING_API void spring_quiescent(void);

/**
 * @brief Translate an address to a host pointer at the cost of about a
 *        load, without a pin: for an emulator's or a runtime's inner loop.
 *
 * A hit in the calling thread's translation cache makes no atomic
 * read-modify-write and takes no lock; a miss faults as spring_as_fault()
 * does.  The pointer is valid for the bytes from @p address to the end of
 * its page until the thread's next quiescent point (spring_quiescent(),
 * spring_thread_unregister(), or any other springvm call, which may wait
 * for a grace period): after that it must not be used, and for long-lived
 * pointers spring_as_translate() (a pin) is the tool.  Until then the
 * frame is not reused, even if the page is unmapped, protected, evicted or
 * taken back by its pager meanwhile (a late access reaches the old frame:
 * a read may see the old data, a write after the page was taken back is
 * not seen by anyone).
 *
 * A translation for #SPRING_RIGHTS_W is handed out only for a block marked
 * modified (this call marks it), so no write through the pointer escapes
 * dirty tracking: before the VMM writes such a block back and marks it
 * clean, it revokes the translations and waits for a grace period.
 *
 * A HAT backend that must see every access (spring_hat_ops_t::flags
 * without #SPRING_HAT_FAST) declines: the call returns #SPRING_ENOSYS.
 *
 * @param as the address space (borrow).
 * @param address any address.
 * @param access #SPRING_RIGHTS_R, #SPRING_RIGHTS_W or #SPRING_RIGHTS_X.
 * @param ptr produce: the host address of @p address.
 * @return 0; #SPRING_EINVAL for NULL arguments, another access, or a
 *   thread that is not registered (spring_thread_register());
 *   #SPRING_ENOSYS (the HAT declines); or spring_as_fault()'s codes.
 */
SPRING_API int spring_as_translate_fast(spring_as_t *as, spring_addr_t address, spring_rights_t access, void **ptr);

/**
 * @brief Release a pin from spring_as_translate().
 * @param pin borrow: the pin; it is cleared.  A cleared pin is ignored.
 */
SPRING_API void spring_pin_release(spring_pin_t *pin);

/**
 * @brief Whether a pinned frame still belongs to the cache it was
 *        translated from (false after delete_range or destroy_cache took it).
 * @param pin the pin (borrow).
 * @return true if the data is still cached there.
 */
SPRING_API bool spring_pin_valid(const spring_pin_t *pin);

#ifdef __cplusplus
}
#endif
#endif /* SPRING_AS_H */
