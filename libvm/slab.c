/*
 * slab.c - fixed-size objects carved from aligned chunks (see slab.h).
 */
#include "slab.h"
#include "vm_int.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Under AddressSanitizer, free and never-carved objects are poisoned, so a
 * use after free inside a chunk is caught as it would be with malloc. */
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

/* A chunk: this header, then per_chunk objects.  Objects never handed out
 * are carved from the end of the used part (nfresh), so a new chunk is not
 * touched beyond what is used; freed ones are linked through their first
 * word. */
struct vm_slab_chunk {
    struct vm_slab_chunk *next, *prev; /* on the partial list */
    void *free;                        /* freed objects */
    unsigned nfree;                    /* free objects, carved or not */
    unsigned nfresh;                   /* objects carved so far */
};

#define HDR ((sizeof(struct vm_slab_chunk) + 15) & ~(size_t)15)
/* A chunk that cannot hold this many objects is not worth it: malloc. */
#define MIN_PER_CHUNK 4

void spring__slab_init(struct vm_slab *s, size_t size)
{
    memset(s, 0, sizeof *s);
    s->size = (size + 15) & ~(size_t)15;
    if (s->size < sizeof(void *))
        s->size = 16;
    size_t n = (VM_SLAB_CHUNK - HDR) / s->size;
    s->per_chunk = n >= MIN_PER_CHUNK ? (unsigned)n : 0;
}

static void partial_link(struct vm_slab *s, struct vm_slab_chunk *k)
{
    k->prev = NULL;
    k->next = s->partial;
    if (s->partial != NULL)
        s->partial->prev = k;
    s->partial = k;
}

static void partial_unlink(struct vm_slab *s, struct vm_slab_chunk *k)
{
    if (k->prev != NULL)
        k->prev->next = k->next;
    else
        s->partial = k->next;
    if (k->next != NULL)
        k->next->prev = k->prev;
    k->next = k->prev = NULL;
}

void *spring__slab_alloc(spring_vmm_t *vmm, struct vm_slab *s)
{
    if (spring__alloc_fails(vmm))
        return NULL;
    if (s->per_chunk == 0) {
        void *p = calloc(1, s->size);
        if (p != NULL)
            s->nobj++;
        return p;
    }
    struct vm_slab_chunk *k = s->partial;
    if (k == NULL) {
        if ((k = s->empty) != NULL) {
            s->empty = NULL;
        } else {
            if ((k = aligned_alloc(VM_SLAB_CHUNK, VM_SLAB_CHUNK)) == NULL)
                return NULL;
            k->free = NULL;
            k->nfree = s->per_chunk;
            k->nfresh = 0;
            POISON((char *)k + HDR, VM_SLAB_CHUNK - HDR);
            s->nchunks++;
        }
        partial_link(s, k);
    }
    void *p = k->free;
    if (p == NULL)
        p = (char *)k + HDR + (size_t)k->nfresh++ * s->size;
    UNPOISON(p, s->size);
    if (p == k->free)
        memcpy(&k->free, p, sizeof(void *));
    if (--k->nfree == 0)
        partial_unlink(s, k); /* full: found again through its objects */
    s->nobj++;
    memset(p, 0, s->size);
    return p;
}

void spring__slab_free(struct vm_slab *s, void *p)
{
    if (p == NULL)
        return;
    s->nobj--;
    if (s->per_chunk == 0) {
        free(p);
        return;
    }
    struct vm_slab_chunk *k = (void *)((uintptr_t)p & ~(uintptr_t)(VM_SLAB_CHUNK - 1));
    memcpy(p, &k->free, sizeof(void *));
    POISON(p, s->size);
    k->free = p;
    if (k->nfree++ == 0)
        partial_link(s, k);
    if (k->nfree == s->per_chunk) { /* wholly free: keep one, return the rest */
        partial_unlink(s, k);
        if (s->empty == NULL) {
            s->empty = k;
        } else {
            UNPOISON(k, VM_SLAB_CHUNK);
            free(k);
            s->nchunks--;
        }
    }
}

void spring__slab_fini(struct vm_slab *s)
{
    VM_DEBUG_ONLY(assert(s->nobj == 0));
    struct vm_slab_chunk *k;
    while ((k = s->partial) != NULL) {
        partial_unlink(s, k);
        UNPOISON(k, VM_SLAB_CHUNK);
        free(k);
    }
    if (s->empty != NULL)
        UNPOISON(s->empty, VM_SLAB_CHUNK);
    free(s->empty);
    s->empty = NULL;
    s->nchunks = 0;
}

size_t spring__slab_bytes(const struct vm_slab *s)
{
    return s->per_chunk == 0 ? s->nobj * s->size : s->nchunks * VM_SLAB_CHUNK;
}
