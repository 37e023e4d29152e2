/*
 * testhooks.h - hooks the library exports for its own tests only.  They are
 * not part of the public interface (include/spring/ does not declare them)
 * and may change at any time.
 */
#ifndef SPRING_TESTHOOKS_H
#define SPRING_TESTHOOKS_H

#include <spring/spring.h>

/* Make the nth host-memory allocation the VMM makes from now on fail (1 =
 * the next one; 0 turns injection off).  0, or SPRING_EINVAL for NULL. */
SPRING_API int spring__test_inject_alloc_failure(spring_vmm_t *vmm, unsigned nth);

/* Move the cached block at soff of cache src to offset doff of cache dst
 * (the identity change copy-on-write and bulk move make): 0, or
 * SPRING_ENOENT, SPRING_EEXIST, SPRING_EBUSY (try again), SPRING_EINVAL,
 * SPRING_EDESTROYED, SPRING_EBADHANDLE. */
SPRING_API int spring__test_move_block(spring_cache_obj_t src, spring_off_t soff, spring_cache_obj_t dst,
                                       spring_off_t doff);

#endif
