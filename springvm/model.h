/*
 * model.h - the model of springvm test-pager (paper §9.8): what one memory
 * object must show, page by page, through every way of reaching it
 * (mappings, a read-only view, the file interface), and what its pager's
 * store must hold.
 *
 * A page's content is known once it was written, or read for the first
 * time (a pager's initial data is its own), or given by the store itself
 * (model_learn_store: a backing file read before the test).  Every later
 * read must show exactly the known content.  A page is "dirty" from a
 * write until a call that guarantees the write reached the pager returns
 * (a flush, a sync, the object's own sync); a page that is not dirty must
 * be in the store as the model knows it.
 *
 * Installed with springvm (it is part of the command), used by nothing
 * else; it knows nothing of the library but the page size.
 */
#ifndef SPRINGVM_MODEL_H
#define SPRINGVM_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct model {
    size_t ps, npages;
    uint8_t *want;  /* npages * ps: the content every access must show */
    uint8_t *known; /* per page: want holds it */
    uint8_t *dirty; /* per page: written since it surely reached the pager */
} model_t;

/* A mismatch found by model_check / model_check_store. */
typedef struct model_diff {
    uint64_t offset; /* object offset of the first differing byte */
    uint8_t got, want;
} model_diff_t;

int model_init(model_t *m, size_t page_size, size_t npages); /* 0, or -1 (no memory) */
void model_fini(model_t *m);

/* Whether every page of [off, off+len) is known. */
bool model_known(const model_t *m, uint64_t off, size_t len);
/* A write of [off, off+len): the pages it covers partly must be known. */
void model_write(model_t *m, uint64_t off, const void *buf, size_t len);
/* A read of [off, off+len) returned got: false with the first difference
 * in a known page; the pages it covers whole and did not know become
 * known (the pager's own data).  Pages it covers partly stay unknown. */
bool model_check(model_t *m, uint64_t off, const void *got, size_t len, model_diff_t *diff);
/* The pages of [first, first+n) surely reached the pager. */
void model_stored(model_t *m, size_t first, size_t n);
/* The store holds bytes (npages * ps of it, read from the backing file):
 * false with the first difference in a page that is known and not dirty. */
bool model_check_store(const model_t *m, const uint8_t *bytes, model_diff_t *diff);
/* Before any access: the store's content is the object's (every page known). */
void model_learn_store(model_t *m, const uint8_t *bytes);

#endif
