/**
 * @file file.h
 * @brief The file interface of a memory object (§1.1: a file is a memory
 *        object that also has read, write and length operations), offered
 *        by the filepager plugin's objects through spring_mobj_query().
 *
 * @code
 * const spring_file_t *f = spring_mobj_query(m, SPRING_FILE_INTERFACE, 1);
 * if (f != NULL)
 *     rc = f->write(m, 0, "hello", 5);
 * @endcode
 *
 * Reads and writes through this interface are coherent with every mapping
 * of the file in the VMM the pager instance serves: the pager does them
 * through a mapping of its own, so there is one cache of the file in that
 * VMM (coherence with mappings in other VMMs is not provided).
 */
#ifndef SPRING_FILE_H
#define SPRING_FILE_H

#include <spring/common.h>
#include <spring/pager.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief The name of the file interface, version 1 (#spring_file_t). */
#define SPRING_FILE_INTERFACE "spring.file"

/** @brief The file interface: each function takes the memory object. */
typedef struct spring_file {
    int version; /**< 1 */
    /**
     * @brief Read from the file.
     * @param mobj the object (borrow).
     * @param offset where.
     * @param buf produce: the bytes.
     * @param length how many bytes are wanted.
     * @param done produce: how many were read (fewer at the end of the file;
     *        0 at or past it).
     * @return 0; #SPRING_EINVAL for NULL arguments; the code of the access
     *   (#SPRING_EIO for an I/O error).
     */
    int (*read)(spring_mobj_t *mobj, spring_off_t offset, void *buf, size_t length, size_t *done);
    /**
     * @brief Write to the file, extending it as POSIX write() does.
     * @param mobj the object (borrow).
     * @param offset where.
     * @param buf the bytes (borrow).
     * @param length how many.
     * @return 0; #SPRING_EINVAL for NULL; #SPRING_ERIGHTS for an object
     *   without write rights; the code of the access or of the extension.
     */
    int (*write)(spring_mobj_t *mobj, spring_off_t offset, const void *buf, size_t length);
    /**
     * @brief The file's length.
     * @param mobj the object (borrow).
     * @param length produce: bytes.
     * @return 0, or the error.
     */
    int (*get_length)(spring_mobj_t *mobj, spring_off_t *length);
    /**
     * @brief Change the file's length (POSIX truncate semantics).
     * @param mobj the object (borrow).
     * @param length the new length.
     * @return 0; #SPRING_ERIGHTS for an object without write rights; the
     *   error.
     */
    int (*set_length)(spring_mobj_t *mobj, spring_off_t length);
    /**
     * @brief Write every modified page of the file back and make it durable
     *        (fsync) before returning.
     * @param mobj the object (borrow).
     * @return 0, or the error (#SPRING_EIO).
     */
    int (*sync)(spring_mobj_t *mobj);
} spring_file_t;

#ifdef __cplusplus
}
#endif
#endif /* SPRING_FILE_H */
