/*
 * anon.h - the in-tree anonymous swap pager (anon.c), as the VMM creates
 * it.  The pager itself is built from the public headers only.
 */
#ifndef SPRING_ANON_H
#define SPRING_ANON_H

#include <spring/spring.h>

/* The swap pager's vtable, and a new instance serving the VMM `vmm` (its
 * vmm object is taken with system privilege), or NULL. */
__attribute__((visibility("hidden"))) const spring_swap_pager_ops_t *spring__anon_swap_ops(void);
__attribute__((visibility("hidden"))) void *spring__anon_swap_new(spring_vmm_t *vmm);

#endif
