/**
 * @file cache.h
 * @brief The cache object (Appendix B, cache_object) and the cache-rights
 *        object (§7.3): the calls a pager makes on its caches.
 *
 * All calls take handles the VMM issued.  A forged, stale or foreign handle
 * gets #SPRING_EBADHANDLE and changes nothing.
 *
 * Offsets and sizes are aligned to the cache's block size; a size of
 * #SPRING_SIZE_ALL means "to the end of the cache".  The @p own argument of
 * every call is borrow: on entry it is the ownership state the pager wants
 * (#SPRING_OWN_UNCHANGED to keep the current one), on return the cache's
 * state.  It may be NULL.
 *
 * @b Pages in transit.  A pager may call any of these methods from inside
 * its own page_in, page_out, sync or write_out.  No call waits for a page
 * whose transfer is in progress:
 * - flush_back, delete_range, zero_fill, populate and destroy_cache mark
 *   such a page as doomed: when the transfer ends, the data that arrives
 *   is discarded and the page is neither entered in the cache nor kept
 *   there (a fault on it pages it in again; after zero_fill it reads zero
 *   without a page_in).  A page being paged out (or synced, or written
 *   out) is on its way to the pager: its data is not returned again, and
 *   faults on it wait until the call has ended (populate does not wait:
 *   its data wins).  If that call fails, a page flush_back asked for stays
 *   cached and modified.
 * - deny_writes and write_back skip it: its data is not yet in the cache,
 *   or is on its way to the pager.
 *
 * A flush of many pages (spring_as_flush(), spring_vmm_sync(), the VMM's
 * own page-out) makes several pager calls, and holds the next page it will
 * send in transit while it makes the call before.  A page that
 * delete_range, zero_fill, populate or destroy_cache dooms meanwhile, from
 * inside the flush's own earlier call too, is dropped: no later call of
 * the flush carries its data.  One that flush_back dooms is still sent,
 * once, by the flush (which is how its data reaches the pager), and then
 * leaves the cache.
 *
 * @b Pins.  Pointers obtained with spring_as_translate() pin their frame.
 * flush_back, deny_writes and write_back wait until write pins on the
 * pages they return are released (so no write through such a pointer is
 * lost); delete_range, zero_fill, populate and destroy_cache revoke pins:
 * the frame stays valid memory until the pin is released, but is no longer
 * part of the cache.
 */
#ifndef SPRING_CACHE_H
#define SPRING_CACHE_H

#include <spring/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @brief flush_back: remove data from the cache and return the modified
 *        part to the pager.
 * @param cache the cache (copy).
 * @param offset cache offset (block aligned).
 * @param size bytes (block aligned) or #SPRING_SIZE_ALL.
 * @param own borrow, may be NULL: the ownership state.
 * @param data produce, may be NULL: the modified blocks (free with
 *        spring_data_free()); clean blocks and caches not bound writable
 *        never return data; all-zero blocks come back as an indication.
 *        With NULL the pager declines the data: the removed blocks'
 *        modifications are discarded.
 * @return 0; #SPRING_EBADHANDLE; #SPRING_EALIGN; #SPRING_ERANGE for an
 *   offset+size overflow; #SPRING_EINVAL for an invalid ownership;
 *   #SPRING_ENOMEM (nothing removed).
 */
SPRING_API int spring_cache_flush_back(spring_cache_obj_t cache, spring_off_t offset, spring_off_t size,
                                       spring_ownership_t *own, spring_data_t **data);

/**
 * @brief deny_writes: downgrade read-write blocks to read-only, returning
 *        the modified ones.  A read-only copy stays cached.
 * @param cache the cache (copy).
 * @param offset cache offset.
 * @param size bytes or #SPRING_SIZE_ALL.
 * @param own borrow, may be NULL.
 * @param data produce, may be NULL: the modified blocks.  With NULL the
 *        blocks are downgraded but stay modified in the cache, so that
 *        their data still reaches the pager later (nothing is lost).
 * @return as spring_cache_flush_back().
 */
SPRING_API int spring_cache_deny_writes(spring_cache_obj_t cache, spring_off_t offset, spring_off_t size,
                                        spring_ownership_t *own, spring_data_t **data);

/**
 * @brief write_back: return a copy of the modified blocks; every block stays
 *        cached in the mode it had.
 * @param cache the cache (copy).
 * @param offset cache offset.
 * @param size bytes or #SPRING_SIZE_ALL.
 * @param own borrow, may be NULL.
 * @param data produce, may be NULL: the modified blocks.  With NULL
 *        nothing changes (the blocks stay modified).
 * @return as spring_cache_flush_back().
 */
SPRING_API int spring_cache_write_back(spring_cache_obj_t cache, spring_off_t offset, spring_off_t size,
                                       spring_ownership_t *own, spring_data_t **data);

/**
 * @brief delete_range: remove data from the cache; nothing is returned.
 * @param cache the cache (copy).
 * @param offset cache offset.
 * @param size bytes or #SPRING_SIZE_ALL.
 * @param own borrow, may be NULL.
 * @return 0; #SPRING_EBADHANDLE; #SPRING_EALIGN; #SPRING_ERANGE;
 *   #SPRING_EINVAL.  Blocks locked in memory are removed too: the pager's
 *   word wins; they are paged in again, and locked again, on their next
 *   access.
 */
SPRING_API int spring_cache_delete_range(spring_cache_obj_t cache, spring_off_t offset, spring_off_t size,
                                         spring_ownership_t *own);

/**
 * @brief zero_fill: the range is all zero; the VMM holds it read-write
 *        without asking the pager for data.  Cached blocks in the range are
 *        discarded.
 * @param cache the cache (copy).
 * @param offset cache offset.
 * @param size bytes or #SPRING_SIZE_ALL.
 * @param own borrow, may be NULL.
 * @return as spring_cache_delete_range(); #SPRING_ERIGHTS if the cache's
 *   maximum rights do not include write.
 */
SPRING_API int spring_cache_zero_fill(spring_cache_obj_t cache, spring_off_t offset, spring_off_t size,
                                      spring_ownership_t *own);

/**
 * @brief populate: introduce data into the cache.
 *
 * Blocks of the range that are already cached are replaced (their old data
 * is discarded; a pager must not populate blocks it knows to be modified).
 *
 * The blocks are entered one at a time, in offset order.  To find a frame
 * for one, populate may have the VMM page out modified blocks, this
 * pager's too: the pager's page_out then runs inside populate.  A call the
 * pager makes from there comes after the blocks populate has entered and
 * before the others: a zero_fill or delete_range there discards the blocks
 * already entered, and populate's data then replaces it in every block it
 * enters afterwards (for the blocks not yet entered, populate's data wins).
 *
 * @param cache the cache (copy).
 * @param offset cache offset.
 * @param size bytes (not #SPRING_SIZE_ALL).
 * @param access the mode the data is held in: #SPRING_RIGHTS_RO or #SPRING_RIGHTS_RW.
 * @param own borrow, may be NULL.
 * @param data the data (copy): blocks covering exactly [offset, offset+size)
 *        in order; a block with NULL bytes is all zero.
 * @return 0; #SPRING_EBADHANDLE; #SPRING_EALIGN; #SPRING_ERANGE;
 *   #SPRING_EINVAL (bad access, data not covering the range);
 *   #SPRING_ERIGHTS (read-write into a cache whose rights lack write);
 *   #SPRING_ENOFRAMES (no frame could be freed; nothing changed for the
 *   blocks not yet entered).
 */
SPRING_API int spring_cache_populate(spring_cache_obj_t cache, spring_off_t offset, spring_off_t size,
                                     spring_rights_t access, spring_ownership_t *own, const spring_data_t *data);

/**
 * @brief destroy_cache: discard every page and every binding.  Address
 *        space regions mapping the cache stay, and fault with
 *        #SPRING_EDESTROYED.  The pager object gets done_with_pager_object.
 * @param cache the cache (consume).
 * @return 0; #SPRING_EBADHANDLE.
 */
SPRING_API int spring_cache_destroy(spring_cache_obj_t cache);

/**
 * @brief The rights a cache-rights object encapsulates.
 * @param rights the cache-rights (copy).
 * @param out produce: the rights.
 * @return 0; #SPRING_EINVAL for NULL; #SPRING_EBADHANDLE.
 */
SPRING_API int spring_cache_rights_get(spring_cache_rights_t rights, spring_rights_t *out);

/**
 * @brief create_restricted_sibling (§7.3): a cache-rights object for the same
 *        cache with a subset of the rights.
 * @param rights the cache-rights held (copy).
 * @param subset the rights wanted (one of the four).
 * @param out produce: the new cache-rights.
 * @return 0; #SPRING_EINVAL for NULL or invalid rights; #SPRING_ERIGHTS if
 *   @p subset is not a subset; #SPRING_EBADHANDLE; #SPRING_ENOMEM.
 */
SPRING_API int spring_cache_rights_create_restricted_sibling(spring_cache_rights_t rights, spring_rights_t subset,
                                                             spring_cache_rights_t *out);

/**
 * @brief Delete a cache-rights object.  The cache is not affected.
 * @param rights the cache-rights (consume).
 * @return 0; #SPRING_EBADHANDLE.
 */
SPRING_API int spring_cache_rights_release(spring_cache_rights_t rights);

/**
 * @brief Statistics of the calls the VMM made to one cache's pager object.
 *
 * Every call counts, retries of a system pager's failed call included.
 */
typedef struct spring_pager_stats {
    size_t size;          /**< set by the caller to sizeof(spring_pager_stats_t) before the call
                               (@ref sized_structs "structures that grow") */
    uint64_t page_ins;    /**< page_in calls */
    uint64_t page_outs;   /**< page_out calls (one call may carry several blocks) */
    uint64_t syncs;       /**< sync calls */
    uint64_t write_outs;  /**< write_out calls */
    uint64_t other_calls; /**< zero_fill_range, done_with_cache and done_with_pager_object calls */
    uint64_t failures;    /**< calls that returned an error (other than #SPRING_ENOSPC from page_out) */
    uint64_t nospace;     /**< page_out, sync and write_out calls refused with #SPRING_ENOSPC: the pager
                               has no room (a full swap); not retried, not counted in failures */
    uint64_t bytes_in;    /**< bytes the successful page_in calls delivered (upgrades included) */
    uint64_t bytes_out;   /**< bytes page_out, sync and write_out calls covered (all-zero pages included) */
    uint64_t ns;          /**< time spent inside the pager's methods, in nanoseconds (monotonic clock) */
} spring_pager_stats_t;

/**
 * @brief The statistics of a cache's pager object.
 * @param cache the cache object (copy).
 * @param stats borrow: the caller sets stats->size; the statistics are
 *        produced.
 * @return 0; #SPRING_EINVAL for NULL @p stats or a @c size smaller than the
 *   first version of the structure; #SPRING_EBADHANDLE.
 */
SPRING_API int spring_cache_pager_stats(spring_cache_obj_t cache, spring_pager_stats_t *stats);

#ifdef __cplusplus
}
#endif
#endif /* SPRING_CACHE_H */
