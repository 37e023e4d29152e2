/*
 * handle.c - the process-wide capability table (architecture decision 2).
 *
 * A handle is a 64-bit value: the low 24 bits index a slot, the high 40 bits
 * are a check value drawn at issue time from a generator seeded with a
 * per-process secret (getrandom).  A slot remembers its check value, type
 * and object; looking a handle up compares all three, so a guessed, stale
 * (freed) or reused handle, or one of another type, is refused.  A foreign
 * handle (issued for another VMM) is caught by the caller, which compares
 * the object's VMM with its own.
 *
 * Locks: one mutex, a leaf in the lock order (docs/locking.md).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "vmm/vm_int.h"

#define H_INDEX_BITS 24
#define H_INDEX_MASK ((1u << H_INDEX_BITS) - 1)
#define H_MAX_SLOTS (1u << H_INDEX_BITS)

struct hslot {
    uint64_t check;  /* [t] 0 when free */
    int type;        /* [t] */
    void *obj;       /* [t] */
    unsigned aux;    /* [t] */
    uint32_t next_free; /* [t] free-list link (index + 1), 0 = end */
};

static vm_mutex_t htab_lock = VM_MUTEX_INITIALIZER(VM_RANK_HANDLE);
static struct hslot *htab;      /* [t] */
static uint32_t htab_cap;       /* [t] */
static uint32_t htab_used;      /* [t] slots ever handed out (high-water) */
static uint32_t htab_free;      /* [t] free list head (index + 1) */
static uint64_t h_state;        /* [t] generator state */
static bool h_seeded;           /* [t] */

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void h_seed(void)
{
    uint64_t seed = 0;
    if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) != (ssize_t)sizeof seed) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        seed = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)(uintptr_t)&seed;
    }
    h_state = seed;
    h_seeded = true;
}

int spring__handle_new(int type, void *obj, unsigned aux, uint64_t *out)
{
    uint32_t idx;
    vm_lock(&htab_lock);
    if (!h_seeded)
        h_seed();
    if (htab_free != 0) {
        idx = htab_free - 1;
        htab_free = htab[idx].next_free;
    } else {
        if (htab_used == htab_cap) {
            uint32_t ncap = htab_cap ? htab_cap * 2 : 256;
            struct hslot *n;
            if (htab_cap >= H_MAX_SLOTS || (n = realloc(htab, (size_t)ncap * sizeof *n)) == NULL) {
                vm_unlock(&htab_lock);
                return SPRING_ENOMEM;
            }
            memset(n + htab_cap, 0, (size_t)(ncap - htab_cap) * sizeof *n);
            htab = n;
            htab_cap = ncap;
        }
        idx = htab_used++;
    }
    uint64_t check;
    do
        check = splitmix64(&h_state) >> H_INDEX_BITS;
    while (check == 0);
    htab[idx].check = check;
    htab[idx].type = type;
    htab[idx].obj = obj;
    htab[idx].aux = aux;
    htab[idx].next_free = 0;
    *out = (check << H_INDEX_BITS) | idx;
    vm_unlock(&htab_lock);
    return 0;
}

/* => htab_lock held. */
static struct hslot *h_find(uint64_t h, int type)
{
    vm_assert_held(&htab_lock);
    uint32_t idx = (uint32_t)(h & H_INDEX_MASK);
    uint64_t check = h >> H_INDEX_BITS;
    if (h == 0 || idx >= htab_used)
        return NULL;
    struct hslot *s = &htab[idx];
    if (s->check == 0 || s->check != check || s->type != type)
        return NULL;
    return s;
}

int spring__handle_get(uint64_t h, int type, void **obj, unsigned *aux)
{
    vm_lock(&htab_lock);
    struct hslot *s = h_find(h, type);
    if (s == NULL) {
        vm_unlock(&htab_lock);
        return SPRING_EBADHANDLE;
    }
    *obj = s->obj;
    if (aux)
        *aux = s->aux;
    if (type == VM_H_CACHE || type == VM_H_RIGHTS)
        spring__cache_ref(s->obj);
    else if (type == VM_H_BINDKEY)
        spring__bindkey_ref(s->obj);
    vm_unlock(&htab_lock);
    return 0;
}

static void h_release_slot(uint32_t idx)
{
    htab[idx].check = 0;
    htab[idx].type = VM_H_FREE;
    htab[idx].obj = NULL;
    htab[idx].next_free = htab_free;
    htab_free = idx + 1;
}

int spring__handle_free(uint64_t h, int type)
{
    vm_lock(&htab_lock);
    struct hslot *s = h_find(h, type);
    if (s == NULL) {
        vm_unlock(&htab_lock);
        return SPRING_EBADHANDLE;
    }
    h_release_slot((uint32_t)(s - htab));
    vm_unlock(&htab_lock);
    return 0;
}

/* Free the table at unload so leak checkers see a clean exit. */
__attribute__((destructor)) static void h_fini(void)
{
    vm_lock(&htab_lock);
    free(htab);
    htab = NULL;
    htab_cap = htab_used = htab_free = 0;
    vm_unlock(&htab_lock);
}
