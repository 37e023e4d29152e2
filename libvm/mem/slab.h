/*
 * slab.h - fixed-size objects carved from aligned chunks (one allocator for
 * the library's many small records: regions, blocks, zero-fill nodes).
 *
 * A slab hands out objects of one size from chunks of VM_SLAB_CHUNK bytes,
 * aligned to their size, so that an object finds its chunk by masking its
 * address.  Chunks with free objects sit on a list; a chunk whose objects
 * are all free goes back to the chunk pool, except one kept against churn.  An
 * allocation and a free are O(1), and a million objects cost their own size
 * plus one chunk header per chunk, not a malloc header each.  Objects too
 * large for a chunk to hold several come from malloc directly (the slab
 * still counts them).
 *
 * Chunks come from a process-wide pool of aligned spans (slab.c) under
 * the pool's own leaf lock.
 *
 * Locks: none of its own; the owner serializes every call on one slab
 * (the cache lock for a cache's blocks, the address space's region-slab
 * lock for its regions).
 */
#ifndef SPRING_SLAB_H
#define SPRING_SLAB_H

#ifdef SPRING_PUBLIC_HEADERS_ONLY
#error "a plugin built from the public headers includes a private header of libvm"
#endif

#include <stddef.h>

struct spring_vmm;

/* Chunk size and alignment. */
#define VM_SLAB_CHUNK ((size_t)16384)

struct vm_slab_chunk;

struct vm_slab {
    size_t size;                   /* object size, rounded up to 16 bytes */
    unsigned per_chunk;            /* objects per chunk; 0: each object from malloc */
    struct vm_slab_chunk *partial; /* chunks with at least one free object */
    struct vm_slab_chunk *empty;   /* one wholly free chunk kept, or NULL */
    size_t nobj;                   /* objects handed out */
    size_t nchunks;                /* chunks held (the kept empty one included) */
};

/* Prepare a slab of objects of `size` bytes (no memory is taken yet). */
void spring__slab_init(struct vm_slab *s, size_t size);
/* A zeroed object, or NULL when memory is short (allocation-failure
 * injection of vmm applies; vmm may be NULL). */
void *spring__slab_alloc(struct spring_vmm *vmm, struct vm_slab *s);
/* Return an object of this slab (NULL is ignored). */
void spring__slab_free(struct vm_slab *s, void *p);
/* Release every chunk.  Every object must have been freed. */
void spring__slab_fini(struct vm_slab *s);
/* Bytes the slab holds (chunks, or large objects), for the metadata
 * figures. */
size_t spring__slab_bytes(const struct vm_slab *s);

#endif
