/**
 * @file error.h
 * @brief Error codes returned by every springvm function.
 *
 * Every function that can fail returns an @c int: 0 on success and a
 * negative @c SPRING_E* code on failure.  The codes come from one list,
 * #SPRING_ERRNO_MAP, so that the enumeration, spring_strerror() and
 * spring_err_name() cannot drift apart.
 */
#ifndef SPRING_ERROR_H
#define SPRING_ERROR_H

#include <spring/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @brief The list of error codes: X(name, value, message).
 *
 * Values are stable across releases; new codes are only ever appended.
 */
#define SPRING_ERRNO_MAP(X)                                                        \
    X(EINVAL, -1, "invalid argument")                                             \
    X(ENOMEM, -2, "out of host memory")                                           \
    X(EALIGN, -3, "address, offset or length is not aligned")                     \
    X(ERANGE, -4, "range lies outside the address space or object")               \
    X(EEXIST, -5, "range overlaps an existing mapping")                           \
    X(ENOTMAPPED, -6, "address is not mapped")                                    \
    X(EACCES, -7, "access not permitted by the mapping")                          \
    X(ERIGHTS, -8, "requested rights exceed the rights held")                     \
    X(EBADHANDLE, -9, "handle is forged, stale, of the wrong type or foreign")     \
    X(EDESTROYED, -10, "object has been destroyed")                               \
    X(EPAGER, -11, "the pager reported an error")                                 \
    X(EPROTO, -12, "the pager violated the protocol")                            \
    X(EBUSY, -13, "object is busy")                                               \
    X(ENOFRAMES, -14, "no page frame can be freed")                               \
    X(ELOCKLIMIT, -15, "locking would exceed the page-frame pool")                \
    X(EPERM, -16, "operation requires privilege")                                 \
    X(ENOENT, -17, "no such name")                                                \
    X(EVERSION, -18, "interface version not supported")                           \
    X(ENOSYS, -19, "operation not implemented")                                   \
    X(ENOSPC, -20, "no space left")                                               \
    X(EBIND, -21, "the memory object could not be bound")                         \
    X(ENOSWAP, -22, "no swap pager is available")                                 \
    X(EOVERFLOW, -23, "value too large")                                          \
    X(ENOKEEP, -24, "the pager cannot take back data the VMM keeps (no sync or write_out)")  \
    X(EQUIESCE, -25, "a thread registered for fast translations has not passed a quiescent point") \
    X(EIO, -26, "a file could not be read or written, or ended early")                          \
    X(EPLUGIN, -27, "the plugin could not be loaded or is not what was asked for")                \
    X(ECONFIG, -28, "the configuration is invalid")

/**
 * @brief Error codes (all negative).  Each equals its entry in
 *        #SPRING_ERRNO_MAP (checked when the library is compiled).
 */
typedef enum spring_errno {
    SPRING_EINVAL = -1, /**< invalid argument */
    SPRING_ENOMEM = -2, /**< out of host memory */
    SPRING_EALIGN = -3, /**< address, offset or length is not aligned */
    SPRING_ERANGE = -4, /**< range lies outside the address space or object */
    SPRING_EEXIST = -5, /**< range overlaps an existing mapping */
    SPRING_ENOTMAPPED = -6, /**< address is not mapped */
    SPRING_EACCES = -7, /**< access not permitted by the mapping */
    SPRING_ERIGHTS = -8, /**< requested rights exceed the rights held */
    SPRING_EBADHANDLE = -9, /**< handle is forged, stale, of the wrong type or foreign */
    SPRING_EDESTROYED = -10, /**< object has been destroyed */
    SPRING_EPAGER = -11, /**< the pager reported an error */
    SPRING_EPROTO = -12, /**< the pager violated the protocol */
    SPRING_EBUSY = -13, /**< object is busy */
    SPRING_ENOFRAMES = -14, /**< no page frame can be freed */
    SPRING_ELOCKLIMIT = -15, /**< locking would exceed the page-frame pool */
    SPRING_EPERM = -16, /**< operation requires privilege */
    SPRING_ENOENT = -17, /**< no such name */
    SPRING_EVERSION = -18, /**< interface version not supported */
    SPRING_ENOSYS = -19, /**< operation not implemented */
    SPRING_ENOSPC = -20, /**< no space left */
    SPRING_EBIND = -21, /**< the memory object could not be bound */
    SPRING_ENOSWAP = -22, /**< no swap pager is available */
    SPRING_EOVERFLOW = -23, /**< value too large */
    SPRING_ENOKEEP = -24, /**< the pager cannot take back data the VMM keeps (no sync or write_out) */
    SPRING_EQUIESCE = -25, /**< a thread registered for fast translations has not passed a quiescent point */
    SPRING_EIO = -26,      /**< a file could not be read or written, or ended early */
    SPRING_EPLUGIN = -27,  /**< a plugin could not be loaded, or is not what was asked for */
    SPRING_ECONFIG = -28,  /**< the configuration is invalid */
    SPRING__ERR_MIN = -29 /**< one below the lowest code; not an error code */
} spring_errno_t;

/**
 * @brief The message for an error code.
 * @param err a code returned by a springvm function (0 is accepted too).
 * @return a static string; "unknown error" for a value that is not a code.
 *   Never NULL.  Thread-safe.
 */
SPRING_API const char *spring_strerror(int err);

/**
 * @brief The symbolic name of an error code, for example "SPRING_EINVAL".
 * @param err a code returned by a springvm function (0 gives "SPRING_OK").
 * @return a static string; "SPRING_EUNKNOWN" for a value that is not a code.
 *   Never NULL.  Thread-safe.
 */
SPRING_API const char *spring_err_name(int err);

/**
 * @brief The calling thread's description of the most recent failure the
 *        library recorded, with its specific cause.
 *
 * Codes such as #SPRING_EPAGER and #SPRING_EBIND say which party failed;
 * this says what happened: which pager method failed at which offset and
 * the code the pager itself returned, or why a bind was refused.  The
 * library records a message where a call fails because of a pager, a
 * memory object or a swap pager (every pager call), and where a bind or a
 * map is refused.  A successful call does not clear it.
 *
 * @return a string owned by the thread (never NULL; empty when nothing was
 *   recorded), valid until the thread's next springvm call.  Thread-safe.
 */
SPRING_API const char *spring_last_error(void);

/**
 * @brief Record the calling thread's description of a failure, for a
 *        pager or plugin to say what went wrong (a file's path and the
 *        system's reason, say) before it returns its code: the library's
 *        messages that quote spring_last_error() then carry it.
 * @param fmt a printf format (NULL clears the description); the text is
 *        cut at 1023 bytes.
 * @param ... its arguments.
 */
SPRING_API void spring_set_last_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#ifdef __cplusplus
}
#endif
#endif /* SPRING_ERROR_H */
