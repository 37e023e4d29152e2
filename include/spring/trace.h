/**
 * @file trace.h
 * @brief The VMM's event trace (paper §9.9): a circular buffer of records
 *        of binds, pager calls, faults and pagers' calls on caches, read
 *        in place or dumped to a file and analyzed off-line.
 *
 * Each VMM has one ring of a size the embedder chooses: in its
 * configuration (spring_vmm_config_t::trace_records) or later with
 * spring_vmm_trace_set_size().  The size is 0 by default: tracing is off
 * and costs one predictable branch at each point that would record.  When
 * the ring is full the oldest record is overwritten and counted as lost.
 *
 * What is recorded, with the monotonic time (CLOCK_MONOTONIC, ns) at which
 * the record was made, in the order the records were made:
 * - the VMM's calls to memory objects: bind and final_bind (§7);
 * - every call the VMM makes to a pager object (Appendix D): page_in,
 *   page_out, write_out, sync, zero_fill_range, done_with_cache and
 *   done_with_pager_object, with the time spent in the pager;
 * - faults, each where spring_as_statistics_t counts it: a fault handled
 *   (#SPRING_TRACE_FAULT), one satisfied with a zero page, one that called a
 *   pager, an access refused by the rights, an access to an unmapped
 *   address;
 * - a pager's calls on a cache object (Appendix B): flush_back,
 *   deny_writes, write_back, delete_range, zero_fill, populate and
 *   destroy_cache.
 *
 * docs/trace.md describes every kind's fields and the dump format.
 *
 * Thread safety: every function here may be called from any thread,
 * concurrently with faults and pager calls.  The ring has a lock of its
 * own, the last in the library's lock order, which is never held across a
 * pager call or any I/O.
 */
#ifndef SPRING_TRACE_H
#define SPRING_TRACE_H

#include <stdio.h>

#include <spring/as.h>
#include <spring/cache.h>
#include <spring/common.h>
#include <spring/vmm.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @brief The kinds of trace records: X(name, value, text).
 *
 * Values are stable: they are written to dump files.  A new kind is
 * appended and raises #SPRING_TRACE_FORMAT_VERSION.
 */
#define SPRING_TRACE_KIND_MAP(X)                                    \
    X(BIND, 1, "mobj.bind")                                         \
    X(FINAL_BIND, 2, "mobj.final_bind")                             \
    X(PAGE_IN, 3, "pager.page_in")                                  \
    X(PAGE_OUT, 4, "pager.page_out")                                \
    X(WRITE_OUT, 5, "pager.write_out")                              \
    X(SYNC, 6, "pager.sync")                                        \
    X(ZERO_FILL_RANGE, 7, "pager.zero_fill_range")                  \
    X(DONE_WITH_CACHE, 8, "pager.done_with_cache")                  \
    X(DONE_WITH_PAGER_OBJECT, 9, "pager.done_with_pager_object")    \
    X(FAULT, 10, "fault")                                           \
    X(FAULT_ZERO_FILL, 11, "fault.zero_fill")                       \
    X(FAULT_PAGE_IN, 12, "fault.page_in")                           \
    X(FAULT_PROTECTION, 13, "fault.protection")                     \
    X(FAULT_UNMAPPED, 14, "fault.unmapped")                         \
    X(CACHE_FLUSH_BACK, 15, "cache.flush_back")                     \
    X(CACHE_DENY_WRITES, 16, "cache.deny_writes")                   \
    X(CACHE_WRITE_BACK, 17, "cache.write_back")                     \
    X(CACHE_DELETE_RANGE, 18, "cache.delete_range")                 \
    X(CACHE_ZERO_FILL, 19, "cache.zero_fill")                       \
    X(CACHE_POPULATE, 20, "cache.populate")                         \
    X(CACHE_DESTROY, 21, "cache.destroy")

/**
 * @brief What a trace record records.  Each equals its entry in
 *        #SPRING_TRACE_KIND_MAP (checked when the library is compiled).
 *
 * The @c mobj.* kinds are the VMM's calls to a memory object, @c pager.*
 * its calls to a pager object, @c fault* the fault path's events, and
 * @c cache.* a pager's calls to a cache object.
 */
typedef enum spring_trace_kind {
    SPRING_TRACE_BIND = 1,                    /**< the memory object's bind returned (mobj.bind) */
    SPRING_TRACE_FINAL_BIND = 2,              /**< the memory object's final_bind returned (mobj.final_bind) */
    SPRING_TRACE_PAGE_IN = 3,                 /**< a page_in call returned (pager.page_in) */
    SPRING_TRACE_PAGE_OUT = 4,                /**< a page_out call returned (pager.page_out) */
    SPRING_TRACE_WRITE_OUT = 5,               /**< a write_out call returned (pager.write_out) */
    SPRING_TRACE_SYNC = 6,                    /**< a sync call returned (pager.sync) */
    SPRING_TRACE_ZERO_FILL_RANGE = 7,         /**< a zero_fill_range call returned (pager.zero_fill_range) */
    SPRING_TRACE_DONE_WITH_CACHE = 8,         /**< a done_with_cache call returned (pager.done_with_cache) */
    SPRING_TRACE_DONE_WITH_PAGER_OBJECT = 9,  /**< a done_with_pager_object call returned */
    SPRING_TRACE_FAULT = 10,                  /**< a fault in a mapping ended: handled, or failed in the cache layer */
    SPRING_TRACE_FAULT_ZERO_FILL = 11,        /**< a fault was satisfied with a zero page (fault.zero_fill) */
    SPRING_TRACE_FAULT_PAGE_IN = 12,          /**< a fault called the pager (fault.page_in) */
    SPRING_TRACE_FAULT_PROTECTION = 13,       /**< an access was refused by the rights (fault.protection) */
    SPRING_TRACE_FAULT_UNMAPPED = 14,         /**< an access to an unmapped address (fault.unmapped) */
    SPRING_TRACE_CACHE_FLUSH_BACK = 15,       /**< a pager's spring_cache_flush_back() returned */
    SPRING_TRACE_CACHE_DENY_WRITES = 16,      /**< a pager's spring_cache_deny_writes() returned */
    SPRING_TRACE_CACHE_WRITE_BACK = 17,       /**< a pager's spring_cache_write_back() returned */
    SPRING_TRACE_CACHE_DELETE_RANGE = 18,     /**< a pager's spring_cache_delete_range() returned */
    SPRING_TRACE_CACHE_ZERO_FILL = 19,        /**< a pager's spring_cache_zero_fill() returned */
    SPRING_TRACE_CACHE_POPULATE = 20,         /**< a pager's spring_cache_populate() returned */
    SPRING_TRACE_CACHE_DESTROY = 21           /**< a pager's spring_cache_destroy() returned */
} spring_trace_kind_t;

/**
 * @brief One trace record.  docs/trace.md says what each field holds for
 *        each kind; a field that does not apply is 0.
 */
typedef struct spring_trace_record {
    uint64_t seq;         /**< the record's number: 0 for the VMM's first record, one more for each next */
    uint64_t time_ns;     /**< CLOCK_MONOTONIC time at which the record was made (the event's end), in ns */
    uint64_t duration_ns; /**< time the call or fault took, in ns (calls into a pager: the time inside it) */
    uint64_t cache;       /**< the cache's id (spring_cache_trace_id()), or 0 */
    uint64_t as;          /**< the address space's id (spring_as_trace_id()), or 0 */
    uint64_t address;     /**< faults: the faulting address */
    uint64_t offset;      /**< cache offset (pager and cache calls, faults in a mapping); object offset (binds) */
    uint64_t length;      /**< bytes the call covers */
    uint32_t kind;        /**< a #spring_trace_kind_t */
    int32_t result;       /**< calls into a pager: the code it returned; otherwise the call's or fault's code */
    uint32_t access;      /**< the #spring_rights_t asked for or the kind of access, where one applies */
    uint32_t thread;      /**< the thread that made the record: 1 for the first thread to record, and so on */
} spring_trace_record_t;

/** @brief The largest ring: records a VMM's trace may hold. */
#define SPRING_TRACE_MAX_RECORDS ((size_t)1 << 24)

/** @brief The dump format's version this library writes and the newest it reads. */
#define SPRING_TRACE_FORMAT_VERSION 1

/**
 * @brief The text of a record kind, as spring_trace_print() prints it (for
 *        example "pager.page_in").
 * @param kind a #spring_trace_kind_t.
 * @return a static string; "unknown" for a value that is not a kind.
 *   Never NULL.  Thread-safe.
 */
SPRING_API const char *spring_trace_kind_name(int kind);

/**
 * @brief Turn tracing on, resize its ring, or turn it off.
 *
 * Resizing keeps the newest records that fit; the ones it drops are
 * counted as lost.  A size of 0 turns tracing off: the ring and its
 * records go and the lost count returns to 0.  Record numbers
 * (spring_trace_record_t::seq) continue across every change.
 *
 * @param vmm the VMM (borrow).
 * @param nrecords the ring's size in records, at most
 *        #SPRING_TRACE_MAX_RECORDS; 0 for off.
 * @return 0; #SPRING_EINVAL for a NULL @p vmm or a size above
 *   #SPRING_TRACE_MAX_RECORDS; #SPRING_ENOMEM (the ring is unchanged).
 */
SPRING_API int spring_vmm_trace_set_size(spring_vmm_t *vmm, size_t nrecords);

/**
 * @brief The ring's size in records (0: tracing is off).
 * @param vmm the VMM (borrow).
 * @return the size; 0 for NULL.
 */
SPRING_API size_t spring_vmm_trace_size(spring_vmm_t *vmm);

/**
 * @brief Copy the records the ring holds, oldest first, without removing
 *        them.
 *
 * Reading does not consume: two reads with nothing recorded between them
 * return the same records.  A reader that collects a trace repeatedly
 * skips the records whose @c seq it has seen.  If the ring holds more than
 * @p max records, the newest @p max are copied.
 *
 * @param vmm the VMM (borrow).
 * @param records produce: room for @p max records.
 * @param max how many records fit in @p records (at least 1).
 * @param n produce: how many were copied (0 when tracing is off or
 *        nothing was recorded).
 * @param lost produce, optional (NULL): the records overwritten, or
 *        dropped by a resize, since tracing was turned on or the ring was
 *        last cleared.
 * @return 0; #SPRING_EINVAL for a NULL @p vmm, @p records or @p n, or a
 *   @p max of 0.
 */
SPRING_API int spring_vmm_trace_read(spring_vmm_t *vmm, spring_trace_record_t *records, size_t max, size_t *n,
                                     uint64_t *lost);

/**
 * @brief Empty the ring and set its lost count to 0; tracing stays on with
 *        the same size.
 * @param vmm the VMM (borrow).
 * @return 0; #SPRING_EINVAL for NULL.
 */
SPRING_API int spring_vmm_trace_clear(spring_vmm_t *vmm);

/**
 * @brief Write the records the ring holds to a file descriptor, in the
 *        binary dump format of docs/trace.md (header, then the records
 *        oldest first).
 *
 * The records are copied out under the ring's lock and written after it
 * is released, so the VMM keeps running meanwhile; nothing is removed
 * from the ring.  With tracing off the dump has a header and no records.
 *
 * @param vmm the VMM (borrow).
 * @param fd a file descriptor open for writing (borrow: not closed); the
 *        dump is written at its current position.
 * @return 0; #SPRING_EINVAL for a NULL @p vmm or a negative @p fd;
 *   #SPRING_EIO if a write failed (spring_last_error() says why; part of
 *   the dump may have been written); #SPRING_ENOMEM.
 */
SPRING_API int spring_vmm_trace_dump(spring_vmm_t *vmm, int fd);

/**
 * @brief Read a dump file written by spring_vmm_trace_dump() and print it
 *        as text: a header line starting with '#', then one line per
 *        record (docs/trace.md gives the line format).
 *
 * The whole file is checked before anything is printed.
 *
 * @param path the dump file's path (borrow).
 * @param out where to print (borrow).
 * @return 0; #SPRING_EINVAL for NULL arguments, or a file that is not a
 *   dump (wrong magic) or is corrupt (a header or record size other than
 *   its version's, more records than the ring's size, an unknown record
 *   kind, bytes after the last record); #SPRING_EVERSION for a dump of a
 *   format version newer than #SPRING_TRACE_FORMAT_VERSION; #SPRING_EIO
 *   if the file could not be opened or read, ends before its header or
 *   its last record (truncated), or printing to @p out failed;
 *   #SPRING_ENOMEM.  spring_last_error() says which.
 */
SPRING_API int spring_trace_print(const char *path, FILE *out);

/**
 * @brief An address space's id, as trace records carry it
 *        (spring_trace_record_t::as): unique in its VMM, never 0.
 * @param as the address space (borrow).
 * @return the id; 0 for NULL.
 */
SPRING_API uint64_t spring_as_trace_id(const spring_as_t *as);

/**
 * @brief A cache's id, as trace records carry it
 *        (spring_trace_record_t::cache): unique in its VMM, never 0.
 * @param cache the cache object (copy).
 * @param id produce: the id.
 * @return 0; #SPRING_EINVAL for NULL @p id; #SPRING_EBADHANDLE for a
 *   forged, stale or foreign handle.
 */
SPRING_API int spring_cache_trace_id(spring_cache_obj_t cache, uint64_t *id);

#ifdef __cplusplus
}
#endif
#endif /* SPRING_TRACE_H */
