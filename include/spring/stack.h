/**
 * @file stack.h
 * @brief A whole paging stack from one JSON configuration: the VMM with its
 *        HAT backend, swap pagers, pager instances, named memory objects
 *        and address spaces with their mappings (docs/configuration.md).
 *
 * A program opens a configuration and gets the stack; it takes what it
 * needs by name (spring_stack_get_as(), spring_stack_get_mobj(), ...) and
 * gives it back (spring_stack_put_as(), ...); spring_stack_close() flushes
 * modified data to the pagers and tears everything down in order, and
 * refuses while the program holds anything it took.
 *
 * Every error of a configuration is reported as text by
 * spring_stack_error() (or spring_last_error()): a JSON syntax error as
 * @c FILE:LINE:COLUMN: message, any other as @c FILE: KEY.PATH: message,
 * saying what was expected and what was found.
 *
 * Locks: a stack is not thread-safe by itself: open, get, put and close
 * are the caller's to serialize.  What a program takes from it (the VMM,
 * address spaces, memory objects) is as thread-safe as ever.
 */
#ifndef SPRING_STACK_H
#define SPRING_STACK_H

#include <spring/as.h>
#include <spring/common.h>
#include <spring/pager.h>
#include <spring/vmm.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief A configured stack.  Opaque. */
typedef struct spring_stack spring_stack_t;

/**
 * @brief Build a stack from a configuration file.
 * @param path the file.
 * @param out produce: the stack.
 * @return 0; #SPRING_EINVAL for NULL arguments; #SPRING_ECONFIG for a
 *   configuration that cannot be read, is not JSON, or breaks the format
 *   (the message says where and why); #SPRING_EPLUGIN, #SPRING_EVERSION
 *   or #SPRING_ENOENT for a plugin that does not load (the message names
 *   the key that asked for it); or the code of the call that failed while
 *   building (creating the VMM, a pager instance, an object, a mapping),
 *   with the key in the message.  On failure nothing is left behind.
 */
SPRING_API int spring_stack_open(const char *path, spring_stack_t **out);

/**
 * @brief Build a stack from a configuration in a string.
 * @param json the configuration's text.
 * @param origin the name errors give it (e.g. "<string>"), and the base of
 *        relative paths in it (the current directory when it has no '/');
 *        NULL: "<string>".
 * @param out produce: the stack.
 * @return as spring_stack_open().
 */
SPRING_API int spring_stack_open_string(const char *json, const char *origin, spring_stack_t **out);

/**
 * @brief The message of the calling thread's last stack error (the same
 *        text as spring_last_error() right after the failing call).
 * @return a string owned by the library (never NULL).
 */
SPRING_API const char *spring_stack_error(void);

/**
 * @brief Take the stack's VMM.  Give it back with spring_stack_put_vmm().
 * @param s the stack (borrow).
 * @param out produce: the VMM (borrowed from the stack until put).
 * @return 0; #SPRING_EINVAL for NULL arguments.
 */
SPRING_API int spring_stack_get_vmm(spring_stack_t *s, spring_vmm_t **out);

/**
 * @brief Give back what spring_stack_get_vmm() took.
 * @param s the stack (borrow).
 * @param vmm the VMM.
 * @return 0; #SPRING_EINVAL for NULL or a VMM not taken from @p s.
 */
SPRING_API int spring_stack_put_vmm(spring_stack_t *s, spring_vmm_t *vmm);

/**
 * @brief Take an address space by its configured name.
 * @param s the stack (borrow).
 * @param name the name.
 * @param out produce: the address space (borrowed from the stack until put).
 * @return 0; #SPRING_EINVAL for NULL arguments; #SPRING_ENOENT for an
 *   unknown name.
 */
SPRING_API int spring_stack_get_as(spring_stack_t *s, const char *name, spring_as_t **out);

/**
 * @brief Give back what spring_stack_get_as() took.
 * @param s the stack (borrow).
 * @param as the address space.
 * @return 0; #SPRING_EINVAL for NULL or an address space not taken from
 *   @p s.
 */
SPRING_API int spring_stack_put_as(spring_stack_t *s, spring_as_t *as);

/**
 * @brief Take a memory object by its configured name.
 * @param s the stack (borrow).
 * @param name the name.
 * @param out produce: the object, with a reference of the caller's own
 *        that spring_stack_put_mobj() drops.
 * @return 0; #SPRING_EINVAL for NULL arguments; #SPRING_ENOENT for an
 *   unknown name.
 */
SPRING_API int spring_stack_get_mobj(spring_stack_t *s, const char *name, spring_mobj_t **out);

/**
 * @brief Give back what spring_stack_get_mobj() took, with its reference.
 * @param s the stack (borrow).
 * @param mobj the object (consume).
 * @return 0; #SPRING_EINVAL for NULL or an object not taken from @p s
 *   (its reference is not dropped then).
 */
SPRING_API int spring_stack_put_mobj(spring_stack_t *s, spring_mobj_t *mobj);

/**
 * @brief Where a configured mapping is.
 * @param s the stack (borrow).
 * @param as_name the address space's name.
 * @param mapping the mapping's name.
 * @param address produce: its start.
 * @param length produce: its length in bytes.
 * @return 0; #SPRING_EINVAL for NULL arguments; #SPRING_ENOENT for an
 *   unknown address space or mapping.
 */
SPRING_API int spring_stack_mapping(spring_stack_t *s, const char *as_name, const char *mapping,
                                    spring_addr_t *address, spring_off_t *length);

/**
 * @brief The names of the configured address spaces, memory objects or
 *        mappings (of one address space), in configuration order.
 * @param s the stack (borrow).
 * @param what "address_spaces", "objects" or "mappings".
 * @param as_name for "mappings": the address space; else ignored.
 * @param i which (from 0).
 * @return the name (owned by the stack, valid until close); NULL past the
 *   last one, for NULL arguments or an unknown @p what.
 */
SPRING_API const char *spring_stack_name(spring_stack_t *s, const char *what, const char *as_name, size_t i);

/**
 * @brief Tear a stack down: every modified page is written to its pager
 *        (as spring_vmm_sync() does), then the address spaces, the memory
 *        objects, the pager instances, the VMM (with its swap pagers) and
 *        the plugins go, in that order.  Anonymous memory (the caches
 *        whose pager says #SPRING_CACHE_ANON: the default anonymous
 *        objects, the configuration's anonymous objects) is not written
 *        back: it dies with the stack, so a full swap does not stop a
 *        close.
 * @param s the stack (consume on success); NULL is ignored (0).
 * @return 0; #SPRING_EBUSY while anything taken from the stack has not
 *   been given back (nothing changes); the code of the failed write-back
 *   (nothing changes: the stack stays open and close can be tried again);
 *   or the code of spring_vmm_destroy() (the address spaces are gone by
 *   then; the stack stays open and close can be tried again).
 */
SPRING_API int spring_stack_close(spring_stack_t *s);

#ifdef __cplusplus
}
#endif
#endif /* SPRING_STACK_H */
