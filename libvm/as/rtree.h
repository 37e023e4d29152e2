/*
 * rtree.h - the ordered index of an address space's regions: a B+ tree
 * keyed by start address, with wide nodes so that a lookup among a million
 * regions touches few cache lines.  It is also the order of the regions
 * (paper §9.1 keeps them in a sorted list): a walk goes from key to next
 * key, so that adding or removing a region writes no other region.
 *
 * Operations that may split nodes draw them from a reserve that the caller
 * fills beforehand (rt_reserve), outside its locks, so that an insert under
 * the address-space lock never fails.
 *
 * Locks: none of its own; the caller holds the address-space lock (read for
 * lookups, write for changes).
 */
#ifndef SPRING_RTREE_H
#define SPRING_RTREE_H

#ifdef SPRING_PUBLIC_HEADERS_ONLY
#error "a plugin built from the public headers includes a private header of libvm"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RT_FANOUT 32

struct rt_node;

struct rtree {
    struct rt_node *root;   /* NULL when empty */
    unsigned height;        /* 0 when empty; 1 = the root is a leaf */
    size_t n;               /* entries */
    struct rt_node *spare;  /* reserve of free nodes (linked) */
    size_t nspare;
};

void rt_init(struct rtree *t);
/* Free every node; the values are the caller's. */
void rt_fini(struct rtree *t);
/* Make sure an insert can complete without allocating.  Returns 0 or -1. */
int rt_reserve(struct rtree *t);
/* Insert key -> val (key not present).  Needs a reserve (rt_reserve). */
void rt_insert(struct rtree *t, uint64_t key, void *val);
/* Insert key -> val (key not present) if fits(le, gt, arg) says so, where
 * le is the value with the greatest key <= key and gt the one with the
 * least key > key (NULL where there is none): one descent serves the check
 * and the insert.  Needs a reserve.  Returns whether it inserted. */
bool rt_insert_if(struct rtree *t, uint64_t key, void *val, bool (*fits)(void *le, void *gt, void *arg), void *arg);
/* Remove key (present).  Never allocates. */
void rt_remove(struct rtree *t, uint64_t key);
/* Change a present key in place to a larger one that keeps the order
 * (the next key, if any, is larger than nkey). */
void rt_rekey(struct rtree *t, uint64_t key, uint64_t nkey);
/* The value with the greatest key <= key, or NULL. */
void *rt_find_le(const struct rtree *t, uint64_t key);
/* The value with the least key > key, or NULL. */
void *rt_find_gt(const struct rtree *t, uint64_t key);
/* Both at once, in one descent: *le as rt_find_le, *gt as rt_find_gt. */
void rt_neighbours(const struct rtree *t, uint64_t key, void **le, void **gt);
/* The value with the least key, or NULL. */
void *rt_first(const struct rtree *t);
/* Check the structure; returns NULL or a description of the fault. */
const char *rt_check(const struct rtree *t);

#endif
