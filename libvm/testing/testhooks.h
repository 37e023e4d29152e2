/*
 * testhooks.h - hooks the library has for its own tests only: the one
 * header that declares them, for the library's sources and the tests alike.
 *
 * They exist only in the test build of the library (compiled with
 * SPRING_TEST_HOOKS: libvm/libspringvm-hooked.la, which is never
 * installed, linked statically into the few tests that need a hook); the
 * installed libspringvm has none of them (.ci/run checks `nm -D`).  They
 * are not part of the public interface and may change at any time.  Every
 * other test links the installed library.
 *
 * This header includes no private header of the core, so that the host
 * layer's store helper, built from the public headers only, can use it.
 */
#ifndef SPRING_TESTHOOKS_H
#define SPRING_TESTHOOKS_H

#include <spring/spring.h>

/* Make the nth host-memory allocation the VMM makes from now on fail (1 =
 * the next one; 0 turns injection off).  0, or SPRING_EINVAL for NULL.
 * (vmm.c) */
int spring__test_inject_alloc_failure(spring_vmm_t *vmm, unsigned nth);

/* Move the cached block at soff of cache src to offset doff of cache dst
 * (the identity change copy-on-write and bulk move make): 0, or
 * SPRING_ENOENT, SPRING_EEXIST, SPRING_EBUSY (try again), SPRING_EINVAL,
 * SPRING_EDESTROYED, SPRING_EBADHANDLE.  (testhooks.c) */
int spring__test_move_block(spring_cache_obj_t src, spring_off_t soff, spring_cache_obj_t dst, spring_off_t doff);

/* Break one internal invariant that spring_vmm_check verifies, by name
 * (spring__test_corruption_name lists them), in the first structure of
 * vmm that has what it needs (libvm/testing/testhooks.c says what each changes).
 * 0; SPRING_EINVAL for NULL or an unknown name; SPRING_EBUSY while another
 * corruption is in place; SPRING_ENOENT if the VMM holds nothing to break
 * that way.  Until spring__test_repair, call nothing but spring_vmm_check
 * on the VMM.  (testhooks.c) */
int spring__test_corrupt(spring_vmm_t *vmm, const char *what);
/* Undo the corruption in place.  0, or SPRING_ENOENT if there is none. */
int spring__test_repair(spring_vmm_t *vmm);
/* The name of corruption i (0, 1, ...), NULL past the last. */
const char *spring__test_corruption_name(unsigned i);

/* Make the store helper (store.c) call fn, with none of its locks held:
 * where 1: in bind, with the cache-rights it is about to return; fn may
 *   change it (a forged one makes the VMM call final_bind while the cache
 *   lives) or reclaim the cache (the §7.5 race);
 * where 2: when spring_store_sync, set_length or teardown received data
 *   from a cache and has not yet kept it (rights NULL); page-ins of that
 *   range wait until it is kept, page_out does not.
 * NULL turns it off.  (store.c) */
void spring__test_store_hook(spring_store_t *st, void (*fn)(void *arg, int where, spring_cache_rights_t *rights),
                             void *arg);

/* Make the nth call (1 = the next) of a store's slot by the store helper
 * fail with rc, in place of the call (host/storecall.h, the one place the
 * helper calls a store): slot is "read", "write", "get_length",
 * "read_pages", "write_pages", "set_length", "sync" or "discard"; nth 0
 * turns it off.  0, or SPRING_EINVAL for NULL or an unknown slot.
 * (store.c) */
int spring__test_store_fail(spring_store_t *st, const char *slot, unsigned nth, int rc);

#endif
