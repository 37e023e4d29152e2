/*
 * frame.c - physical memory: the page-frame pool (architecture decision 1),
 * the free list, pins, and frame allocation (the page-out module, pageout.c,
 * makes room when the free list is short).
 *
 * Frame data is one MAP_SHARED mapping of a memfd, so every frame has a
 * stable host address and a file offset.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "cache/cache_int.h"

int spring__frames_init(spring_vmm_t *vmm)
{
    size_t bytes = vmm->nframes * vmm->page_size;
    vmm->memfd = memfd_create("springvm-frames", MFD_CLOEXEC);
    if (vmm->memfd < 0)
        return SPRING_ENOMEM;
    if (ftruncate(vmm->memfd, (off_t)bytes) != 0)
        goto fail_fd;
    /* Populated up front: the pool is the VMM's physical memory. */
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, vmm->memfd, 0);
    if (p == MAP_FAILED)
        goto fail_fd;
    vmm->frame_base = p;
    vmm->frames = calloc(vmm->nframes, sizeof *vmm->frames);
    if (vmm->frames == NULL)
        goto fail_map;
    size_t nb = 64;
    while (nb < vmm->nframes)
        nb <<= 1;
    vmm->hash = calloc(nb, sizeof *vmm->hash);
    if (vmm->hash == NULL)
        goto fail_frames;
    vmm->hash_mask = nb - 1;
    for (size_t i = 0; i < VM_HASH_LOCKS; i++)
        vm_mutex_init(&vmm->hash_locks[i].m, VM_RANK_HASH);
    TAILQ_INIT(&vmm->freeq);
    TAILQ_INIT(&vmm->inuse);
    TAILQ_INIT(&vmm->pageoutq);
    for (size_t i = 0; i < vmm->nframes; i++) {
        struct vm_frame *f = &vmm->frames[i];
        atomic_init(&f->pins, 0);
        atomic_init(&f->wpins, 0);
        atomic_init(&f->orphan, false);
        f->onfree = true;
        TAILQ_INSERT_TAIL(&vmm->freeq, f, fq);
    }
    vmm->nfree = vmm->nframes;
    vmm->max_block_pages = 1;
    return 0;
fail_frames:
    free(vmm->frames);
    vmm->frames = NULL;
fail_map:
    munmap(vmm->frame_base, bytes);
    vmm->frame_base = NULL;
fail_fd:
    close(vmm->memfd);
    vmm->memfd = -1;
    return SPRING_ENOMEM;
}

void spring__frames_fini(spring_vmm_t *vmm)
{
    if (vmm->hash) {
        for (size_t i = 0; i < VM_HASH_LOCKS; i++)
            vm_mutex_destroy(&vmm->hash_locks[i].m);
        free(vmm->hash);
        vmm->hash = NULL;
    }
    free(vmm->frames);
    vmm->frames = NULL;
    if (vmm->frame_base)
        munmap(vmm->frame_base, vmm->nframes * vmm->page_size);
    vmm->frame_base = NULL;
    if (vmm->memfd >= 0)
        close(vmm->memfd);
    vmm->memfd = -1;
}

void spring__frame_event_locked(spring_vmm_t *vmm)
{
    vm_assert_held(&vmm->page_lock);
    vmm->frame_gen++;
    pthread_cond_broadcast(&vmm->frame_cv);
}

void spring__frame_event(spring_vmm_t *vmm)
{
    /* Waiters count themselves before they look at what they wait for,
     * and whoever changes it looks at the count after (both seq_cst): either
     * the waiter sees the change or this sees the waiter. */
    if (atomic_load(&vmm->cv_waiters) == 0)
        return;
    vm_lock(&vmm->page_lock);
    spring__frame_event_locked(vmm);
    vm_unlock(&vmm->page_lock);
}

static size_t frame_no(const spring_vmm_t *vmm, const struct vm_frame *f)
{
    return (size_t)(f - vmm->frames);
}

/* => page_lock held. */
static void free_one_locked(spring_vmm_t *vmm, struct vm_frame *f)
{
    vm_assert_held(&vmm->page_lock);
    f->block = NULL;
    f->fastfree = false;
    f->onfree = true;
    TAILQ_INSERT_TAIL(&vmm->freeq, f, fq);
    vmm->nfree++;
}

void spring__frames_free(spring_vmm_t *vmm, const size_t *fr, size_t n)
{
    vm_assert_unheld(&vmm->page_lock);
    vm_lock(&vmm->page_lock);
    for (size_t i = 0; i < n; i++) {
        struct vm_frame *f = &vmm->frames[fr[i]];
        f->block = NULL;
        /* A pinned frame becomes an orphan; whoever sees the last pin go
         * (here or in spring__frame_unpin) frees it.  Dekker-style: both
         * sides write their own variable, then read the other's, with
         * sequentially consistent atomics. */
        atomic_store(&f->orphan, true);
        if (atomic_load(&f->pins) == 0) {
            bool t = true;
            if (atomic_compare_exchange_strong(&f->orphan, &t, false))
                free_one_locked(vmm, f);
        }
    }
    spring__frame_event_locked(vmm);
    vm_unlock(&vmm->page_lock);
}

void spring__frame_unpin(spring_vmm_t *vmm, struct vm_frame *f, bool write)
{
    if (write)
        atomic_fetch_sub(&f->wpins, 1);
    if (atomic_fetch_sub(&f->pins, 1) == 1) {
        if (atomic_load(&f->orphan)) {
            bool t = true;
            if (atomic_compare_exchange_strong(&f->orphan, &t, false)) {
                vm_lock(&vmm->page_lock);
                if (f->fastfree && !vmm->gp_closed)
                    spring__frame_defer_locked(vmm, f); /* fast readers may still read it */
                else
                    free_one_locked(vmm, f);
                spring__frame_event_locked(vmm);
                vm_unlock(&vmm->page_lock);
                return;
            }
        }
    }
    /* Someone may be waiting for pins to drain (flush_back, the page-out
     * module): wake them. */
    spring__frame_event(vmm);
}

/* Take n frames off the free list.  => page_lock held, nfree >= n. */
static void take_free_locked(spring_vmm_t *vmm, size_t n, size_t *out)
{
    vm_assert_held(&vmm->page_lock);
    for (size_t i = 0; i < n; i++) {
        struct vm_frame *f = TAILQ_FIRST(&vmm->freeq);
        TAILQ_REMOVE(&vmm->freeq, f, fq);
        f->onfree = false;
        out[i] = frame_no(vmm, f);
    }
    vmm->nfree -= n;
}

/* Take n frames off the free list without making room: SPRING_ENOFRAMES
 * when fewer are free.  Special frames are marked as the HAT backend's. */
static int take_now(spring_vmm_t *vmm, size_t n, size_t *out, bool special)
{
    vm_lock(&vmm->page_lock);
    if (vmm->nfree < n) {
        vm_unlock(&vmm->page_lock);
        return SPRING_ENOFRAMES;
    }
    take_free_locked(vmm, n, out);
    if (special) {
        for (size_t i = 0; i < n; i++)
            vmm->frames[out[i]].special = true;
        vmm->nspecial += n;
    }
    vm_unlock(&vmm->page_lock);
    return 0;
}

int spring__frames_take_special(spring_vmm_t *vmm, size_t n, size_t *out)
{
    return take_now(vmm, n, out, true);
}

void spring__frames_give_special(spring_vmm_t *vmm, const size_t *fr, size_t n)
{
    vm_lock(&vmm->page_lock);
    for (size_t i = 0; i < n; i++) {
        struct vm_frame *f = &vmm->frames[fr[i]];
        if (fr[i] >= vmm->nframes || !f->special)
            continue; /* not a frame the backend took: ignored */
        f->special = false;
        f->owner = 0;
        /* The backend's table data: zeroed before anyone else sees it. */
        memset(spring__frame_addr(vmm, fr[i]), 0, vmm->page_size);
        vmm->nspecial--;
        free_one_locked(vmm, f);
    }
    spring__frame_event_locked(vmm);
    vm_unlock(&vmm->page_lock);
}

int spring__frames_alloc_nowait(spring_vmm_t *vmm, size_t n, size_t *out)
{
    int rc = take_now(vmm, n, out, false);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < n; i++)
        spring__hat_frame_refmod(vmm, out[i], SPRING_HAT_REF | SPRING_HAT_MOD);
    return 0;
}

/*
 * Allocate n frames.  When the free list is short, the page-out module
 * (pageout.c) makes room by evicting blocks, and the allocation is tried
 * again; SPRING_ENOFRAMES when no room can be made.
 *
 * => no cache lock held (eviction takes victims' cache locks and may call
 *    their pagers).
 */
int spring__frames_alloc(spring_vmm_t *vmm, size_t n, size_t *out)
{
    vm_assert_no_rank(VM_RANK_CACHE);
    if (n == 0 || n > vmm->nframes)
        return SPRING_ENOFRAMES;
    for (;;) {
        vm_lock(&vmm->page_lock);
        if (vmm->nfree >= n) {
            take_free_locked(vmm, n, out);
            vm_unlock(&vmm->page_lock);
            return 0;
        }
        vm_unlock(&vmm->page_lock);
        int rc = spring__pageout_make_room(vmm, n);
        if (rc != 0)
            return rc;
    }
}
