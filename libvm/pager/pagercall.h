/*
 * pagercall.h - the dispatch layer in front of every plugin vtable of the
 * pager interface (include/spring/pager.h): pager objects, memory objects
 * and swap pagers.  libvm/pager/pager.c is the only file that calls through one
 * of those vtables.
 *
 * Each wrapper
 *   - asserts (debug build) that the calling thread holds no VMM lock,
 *   - checks an optional slot for NULL (versions and required slots are
 *     checked when the vtable is handed to the VMM, by the checks below,
 *     also here),
 *   - applies the privilege policy: a #SPRING_PRIV_SYSTEM pager's failed
 *     data call is retried (vmm.h, SPRING_SYSTEM_RETRIES),
 *   - maps the pager's return code (0; a negative SPRING_E* code becomes
 *     SPRING_EPAGER, anything else SPRING_EPROTO) and records the pager's
 *     own code in the thread's last-error message (spring_last_error()),
 *   - counts the call in the cache's pager statistics (calls, bytes, time),
 *   - and records it in the VMM's event trace (vmtrace.h) with the pager's
 *     own code and the time inside the pager.
 * The memory object's bind and final_bind are recorded by bind.c, which
 * knows the cache their answers lead to.
 *
 * => no VMM lock held, for every function here.
 */
#ifndef SPRING_PAGERCALL_H
#define SPRING_PAGERCALL_H

#ifdef SPRING_PUBLIC_HEADERS_ONLY
#error "a plugin built from the public headers includes a private header of libvm"
#endif

#include <spring/spring.h>

struct vm_cache;
struct vm_swap;

/* The vtables' checks, made when one is handed to the VMM (the cache's
 * pager object, a memory object, a swap pager): 0; SPRING_EVERSION for a
 * version this library does not know; SPRING_EINVAL for NULL or a
 * required slot missing. */
int spring__pager_ops_check(const spring_pager_ops_t *ops);
int spring__mobj_ops_check(const spring_mobj_ops_t *ops);
int spring__swap_ops_check(const spring_swap_pager_ops_t *ops);

/* How modified blocks go back (page_out, sync or write_out). */
enum vm_push_how {
    VM_PUSH_OUT = 0,      /* page_out: the VMM drops the blocks */
    VM_PUSH_SYNC = 1,     /* sync: the blocks stay cached in their mode */
    VM_PUSH_WRITE_OUT = 2 /* write_out: the blocks stay cached read-only */
};

/* The pager object's page_in. */
int spring__pager_page_in(struct vm_cache *c, spring_off_t off, spring_off_t size, spring_rights_t access,
                          spring_ownership_t *own, spring_page_buf_t *dst);
/* page_out, sync or write_out (how: enum vm_push_how; the slot exists). */
int spring__pager_push(struct vm_cache *c, int how, spring_off_t off, spring_off_t size, spring_ownership_t *own,
                       const spring_data_t *data);
/* zero_fill_range (0 without the slot). */
int spring__pager_zero_fill_range(struct vm_cache *c, spring_off_t off, spring_off_t size,
                                  spring_ownership_t *own);
/* done_with_cache, done_with_pager_object (nothing without the slot). */
void spring__pager_done_with_cache(struct vm_cache *c, spring_ownership_t *own);
void spring__pager_done_with_pager_object(struct vm_cache *c);
/* How a block the VMM keeps goes back: VM_PUSH_SYNC, else
 * VM_PUSH_WRITE_OUT, else -1 (the pager has neither). */
int spring__pager_keep_how(const struct vm_cache *c);

/* The memory object's bind and final_bind: the pager's code, unmapped. */
int spring__mobj_bind(spring_mobj_t *m, const char *vmm_name, spring_rights_t access, spring_off_t off,
                      spring_off_t *length, spring_cache_rights_t *rights, spring_off_t *cache_off, long *flags);
int spring__mobj_final_bind(spring_mobj_t *m, spring_bind_key_t key, const char *vmm_name, spring_rights_t access,
                            spring_off_t off, spring_off_t length, long *flags);

/* The memory object's release (nothing without the slot). */
void spring__mobj_release(spring_mobj_t *m);

/* A swap pager's create_mobj (SPRING_EPROTO for a success without an
 * object) and release. */
int spring__swap_create_mobj(const struct vm_swap *s, spring_off_t length, spring_mobj_t **out);
void spring__swap_release(const struct vm_swap *s);

/* Record a message for spring_last_error() on this thread. */
void spring__set_error(int rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif /* SPRING_PAGERCALL_H */
