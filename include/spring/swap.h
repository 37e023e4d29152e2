/**
 * @file swap.h
 * @brief The statistics interface of the swap plugin's anonymous memory
 *        objects (plugins/swap).
 *
 * The swap plugin (kind @c swap, docs/configuration.md) keeps the pages of
 * the anonymous memory objects it creates in slots of one or more swap
 * files, one slot per page of the VMM's page size.  Each of its objects
 * answers spring_mobj_query() for #SPRING_SWAP_INTERFACE, version
 * #SPRING_SWAP_INTERFACE_VERSION, with a #spring_swap_iface_t; its
 * @c stats function describes the swap-pager instance that made the
 * object (all its files, all its objects), not the one object.
 *
 * @code
 * const spring_swap_iface_t *sw = spring_mobj_query(m, SPRING_SWAP_INTERFACE, SPRING_SWAP_INTERFACE_VERSION);
 * spring_swap_stats_t st;
 * if (sw != NULL && sw->stats(m, &st) == 0)
 *     printf("%llu of %llu slots used\n", (unsigned long long)st.slots_used,
 *            (unsigned long long)st.slots_total);
 * @endcode
 *
 * Locks: the functions are thread-safe; the figures are a snapshot taken
 * under the instance's lock.
 */
#ifndef SPRING_SWAP_H
#define SPRING_SWAP_H

#include <spring/common.h>
#include <spring/pager.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief The name under which a swap plugin's objects offer #spring_swap_iface_t. */
#define SPRING_SWAP_INTERFACE "spring.swap"
/** @brief The version of #spring_swap_iface_t this header describes. */
#define SPRING_SWAP_INTERFACE_VERSION 1

/** @brief The state of a swap-pager instance's slots. */
typedef struct spring_swap_stats {
    uint64_t slots_total;         /**< slots in all its swap files (each file's size / the page size) */
    uint64_t slots_used;          /**< slots holding a page of some object */
    uint64_t slots_free;          /**< slots_total - slots_used */
    uint64_t writes_refused_full; /**< writes refused with #SPRING_ENOSPC because every slot was used */
    uint64_t page_size;           /**< bytes per slot: the VMM's page size */
    uint32_t files;               /**< how many swap files */
    uint32_t objects;             /**< anonymous memory objects alive (made and not yet released) */
} spring_swap_stats_t;

/**
 * @brief The swap interface of an anonymous memory object made by the swap
 *        plugin.  Grows only by appending.
 */
typedef struct spring_swap_iface {
    int version; /**< #SPRING_SWAP_INTERFACE_VERSION */
    /**
     * @brief The statistics of the instance that made @p m.
     * @param m the memory object the interface was asked of (borrow).
     * @param out produce: the statistics.
     * @return 0; #SPRING_EINVAL for NULL arguments or an object the swap
     *   plugin did not make.
     */
    int (*stats)(spring_mobj_t *m, spring_swap_stats_t *out);
    /* methods above: version 1 */
} spring_swap_iface_t;

#ifdef __cplusplus
}
#endif
#endif /* SPRING_SWAP_H */
