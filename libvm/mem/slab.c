/*
 * slab.c - fixed-size objects carved from aligned chunks (see slab.h).
 */
#include "mem/slab.h"
#include "vmm/vm_int.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

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

/*
 * Chunks come from a process-wide pool that maps aligned spans of
 * VM_SLAB_SPAN bytes (malloc's aligned allocations would waste as much as
 * they give).  A chunk returned to the pool goes on its free list; beyond
 * POOL_KEEP free chunks its memory goes back to the kernel (it stays
 * mapped, and reads zero when reused).
 */
#define VM_SLAB_SPAN ((size_t)1 << 20)
#define POOL_KEEP 64

static vm_mutex_t pool_lock = VM_MUTEX_INITIALIZER(VM_RANK_CHUNKS);
static void *pool_free;  /* [pool_lock] free chunks, linked through their first word */
static size_t pool_nfree; /* [pool_lock] */

static void *chunk_get(void)
{
    vm_lock(&pool_lock);
    void *k = pool_free;
    if (k == NULL) {
        /* A new span, aligned by trimming a larger mapping. */
        size_t len = VM_SLAB_SPAN + VM_SLAB_CHUNK;
        char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED) {
            vm_unlock(&pool_lock);
            return NULL;
        }
        char *a = (char *)(((uintptr_t)m + VM_SLAB_CHUNK - 1) & ~(uintptr_t)(VM_SLAB_CHUNK - 1));
        if (a > m)
            munmap(m, (size_t)(a - m));
        if (a + VM_SLAB_SPAN < m + len)
            munmap(a + VM_SLAB_SPAN, (size_t)(m + len - (a + VM_SLAB_SPAN)));
        for (size_t off = VM_SLAB_SPAN; off > VM_SLAB_CHUNK; off -= VM_SLAB_CHUNK) {
            void *c = a + off - VM_SLAB_CHUNK;
            memcpy(c, &pool_free, sizeof(void *));
            pool_free = c;
            pool_nfree++;
        }
        k = a;
    } else {
        memcpy(&pool_free, k, sizeof(void *));
        pool_nfree--;
    }
    vm_unlock(&pool_lock);
    return k;
}

static void chunk_put(void *k)
{
    vm_lock(&pool_lock);
    if (pool_nfree >= POOL_KEEP)
        (void)madvise(k, VM_SLAB_CHUNK, MADV_DONTNEED);
    memcpy(k, &pool_free, sizeof(void *));
    pool_free = k;
    pool_nfree++;
    vm_unlock(&pool_lock);
}
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
            if ((k = chunk_get()) == NULL)
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
            chunk_put(k);
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
        chunk_put(k);
    }
    if (s->empty != NULL) {
        UNPOISON(s->empty, VM_SLAB_CHUNK);
        chunk_put(s->empty);
    }
    s->empty = NULL;
    s->nchunks = 0;
}

size_t spring__slab_bytes(const struct vm_slab *s)
{
    return s->per_chunk == 0 ? s->nobj * s->size : s->nchunks * VM_SLAB_CHUNK;
}
