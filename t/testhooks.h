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

#endif
