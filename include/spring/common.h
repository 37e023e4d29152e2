/**
 * @file common.h
 * @brief Types shared by every springvm interface: rights, ownership,
 *        capabilities (handles), data blocks and the export macro.
 *
 * Passing modes of the paper (Appendices A-D) map to C ownership as follows,
 * and every function's documentation says which one applies:
 * - @b copy: the callee takes its own reference; the caller keeps its own.
 * - @b consume: ownership moves to the callee.
 * - @b borrow: an in-out argument.
 * - @b produce: an out argument; the caller owns what is produced.
 *
 * @anchor sized_structs
 * <b>Structures that grow.</b>  A structure that later versions of the
 * library may extend (spring_vmm_config_t, spring_as_options_t,
 * spring_vm_info_t, spring_as_statistics_t, spring_pager_stats_t) starts
 * with <tt>size_t size</tt>: the caller sets it to @c sizeof the structure
 * as the header it was compiled with declares it, before every call that
 * reads or fills it.  The init functions (spring_vmm_config_init(),
 * spring_as_options_init()) set it; for a structure the library fills,
 * write for example <tt>spring_vm_info_t info = {.size = sizeof info};</tt>.
 * The library reads and writes only the first @c size bytes, so a program
 * built against an older header keeps working with a newer library: fields
 * it does not know take their defaults (input) or are not written
 * (output).  A @c size smaller than the structure's first version is
 * #SPRING_EINVAL; a larger @c size than the library knows is accepted for a
 * structure the library fills (the bytes it does not know are zeroed) and,
 * for one it reads, only if those bytes are zero (else #SPRING_EINVAL: the
 * caller asks for something this library cannot do).  A @c size above
 * #SPRING_STRUCT_SIZE_MAX is #SPRING_EINVAL too: it is no structure's size,
 * but a @c size never set.  Fields are only ever appended.
 */
#ifndef SPRING_COMMON_H
#define SPRING_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Marks a symbol exported from the shared library. */
#if defined(__GNUC__)
#define SPRING_API __attribute__((visibility("default")))
#else
#define SPRING_API
#endif

/** @brief The largest @c size a structure that grows may give (@ref
 *         sized_structs "structures that grow"). */
#define SPRING_STRUCT_SIZE_MAX 4096u

/** @brief A virtual address inside an address space. */
typedef uint64_t spring_addr_t;

/** @brief An offset (or length) in bytes inside a memory object or cache. */
typedef uint64_t spring_off_t;

/** @brief A size meaning "from the offset to the end of the cache" (Appendix B). */
#define SPRING_SIZE_ALL ((spring_off_t)-1)

/**
 * @brief Address argument meaning "let the VMM choose the address".
 *
 * The VMM chooses the lowest free range of the address space that holds the
 * requested length (first fit), searching from a hint so that a space filled
 * from the bottom is not rescanned on every call.
 */
#define SPRING_ANYWHERE ((spring_addr_t)-1)

/**
 * @brief Access rights (paper §7.3) and kinds of access.
 *
 * The three bits combine into the four rights a cache-rights object or a
 * mapping may carry: #SPRING_RIGHTS_RO, #SPRING_RIGHTS_RX, #SPRING_RIGHTS_RW
 * and #SPRING_RIGHTS_RWX.  #SPRING_RIGHTS_NONE is accepted only by
 * spring_as_change_access_rights() (a guard range).  A single bit names the
 * kind of one access (a read, a write or an instruction fetch).
 */
typedef enum spring_rights {
    SPRING_RIGHTS_NONE = 0,                      /**< no access */
    SPRING_RIGHTS_R = 1,                         /**< read bit; also a read access */
    SPRING_RIGHTS_W = 2,                         /**< write bit; also a write access */
    SPRING_RIGHTS_X = 4,                         /**< execute bit; also an instruction fetch */
    SPRING_RIGHTS_RO = 1,                        /**< read-only */
    SPRING_RIGHTS_RX = 5,                        /**< read-execute */
    SPRING_RIGHTS_RW = 3,                        /**< read-write */
    SPRING_RIGHTS_RWX = 7                        /**< read-write-execute */
} spring_rights_t;

/**
 * @brief Whether @p r is one of the four rights of §7.3.
 * @param r the rights to test.
 * @return true for RO, RX, RW and RWX; false otherwise (NONE, write-only,
 *   execute-only and any other bits).
 */
SPRING_API bool spring_rights_valid(spring_rights_t r);

/**
 * @brief Whether rights @p a are a subset of rights @p b.
 * @param a the rights asked for.
 * @param b the rights held.
 * @return true if every bit of @p a is in @p b.
 */
SPRING_API bool spring_rights_subset(spring_rights_t a, spring_rights_t b);

/**
 * @brief The ownership state of a cache (paper §5.1).
 *
 * A hint set by the pager: in the exclusive state a read fault on a
 * read-write mapping asks the pager for read-write data; in the shared state
 * it asks for read-only data.  #SPRING_OWN_UNCHANGED is accepted wherever a
 * caller passes an ownership state in (borrow) and means "leave it as is".
 */
typedef enum spring_ownership {
    SPRING_OWN_UNCHANGED = 0, /**< in an argument: do not change the state */
    SPRING_OWN_EXCLUSIVE = 1, /**< the cache's data is not shared elsewhere */
    SPRING_OWN_SHARED = 2     /**< the data may be cached elsewhere too */
} spring_ownership_t;

/**
 * @brief A cache object as the pager holds it (the "vcache object" of
 *        Appendix B).
 *
 * All capabilities are 64-bit handles issued by the VMM and checked against
 * its handle table on every use: a forged, stale (destroyed) or foreign
 * handle is refused with #SPRING_EBADHANDLE.  The value 0 is never issued.
 */
typedef struct spring_cache_obj {
    uint64_t h; /**< opaque handle value */
} spring_cache_obj_t;

/** @brief A cache-rights object: a capability for a cache with some rights (§7.3). */
typedef struct spring_cache_rights {
    uint64_t h; /**< opaque handle value */
} spring_cache_rights_t;

/** @brief A bind-key object, used by final_bind (§7.5).  It has no methods. */
typedef struct spring_bind_key {
    uint64_t h; /**< opaque handle value */
} spring_bind_key_t;

/**
 * @brief A vmm object (Appendix C) as a pager holds it.
 *
 * Obtained from a registry by the VMM's name (spring_registry_lookup()); it
 * carries the privilege the credential used for the look-up granted.
 */
typedef struct spring_vmm_obj {
    uint64_t h; /**< opaque handle value */
} spring_vmm_obj_t;

/**
 * @brief One range of data crossing the pager boundary.
 *
 * A range is page aligned and a whole number of pages long.  All-zero
 * data travels as an indication (@c bytes is NULL) rather than as bytes.
 */
typedef struct spring_data_block {
    spring_off_t offset; /**< cache offset of the first byte (page aligned) */
    spring_off_t length; /**< length in bytes (a multiple of the page size) */
    const void *bytes;   /**< the data, or NULL: the range is all zero */
} spring_data_block_t;

/**
 * @brief A list of data ranges, in increasing offset order, not overlapping.
 *
 * @b From the VMM (page_out, write_out and sync arguments; flush_back,
 * deny_writes and write_back results) the list has one entry per page:
 * every entry is page aligned and one page long, so the all-zero
 * indication is per page, and a block of several pages is several
 * consecutive entries.  The entries of one block always travel together,
 * in the same call or result.  A page_out, write_out or sync call carries
 * the modified blocks of one contiguous run of block offsets, which its
 * offset and size cover exactly (at most 256 pages, or one block if a
 * block is larger).
 *
 * When the VMM hands data to a pager (page_out, write_out, sync) it lends
 * the list for the duration of the call; the bytes point into the page
 * frames themselves (no copy).  When a pager hands data to the VMM
 * (populate) it lends its own list, whose entries may be longer than a
 * page.  When the VMM returns data as a result (flush_back, deny_writes,
 * write_back) the list is produced, with its own copy of the bytes: the
 * caller owns it and frees it with spring_data_free().
 */
typedef struct spring_data {
    size_t nblocks;                /**< number of entries in @c blocks */
    spring_data_block_t *blocks;   /**< the ranges */
} spring_data_t;

/**
 * @brief Free a data list produced by the VMM (the result of flush_back,
 *        deny_writes or write_back); not for lists a pager built itself.
 * @param data the list (consume); NULL is accepted and ignored.
 */
SPRING_API void spring_data_free(spring_data_t *data);

/**
 * @brief Total number of bytes (zero ranges included) a data list describes.
 * @param data the list (borrow); NULL gives 0.
 * @return the sum of the blocks' lengths.
 */
SPRING_API spring_off_t spring_data_length(const spring_data_t *data);

#ifdef __cplusplus
}
#endif
#endif /* SPRING_COMMON_H */
