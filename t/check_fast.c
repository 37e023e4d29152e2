/*
 * check_fast.c - spring_as_translate_fast() and the quiescent-state-based
 * reclamation behind it (as.h): legal and illegal uses, revocations seen by
 * the next translation, no frame reused while a registered thread may
 * still read it, no write through a fast pointer escaping write-back, and
 * a thread that never passes a quiescent point making allocation fail with
 * SPRING_EQUIESCE rather than reuse a frame early, a write translation
 * asked after a read one of the same page, and frames freed behind fast
 * readers coming back to the pool by themselves after a grace period.
 *
 * Not run under ThreadSanitizer: liburcu is not built for it.  Only the
 * public headers are used.
 */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "testlib.h"
#include "testmain.h"

#define PS 4096
#define VMM_NAME "fast"

static void fx_init(fx_t *f, size_t nframes, size_t npages)
{
    fx_setup(f, VMM_NAME, nframes, npages, 0, SPRING_OWN_EXCLUSIVE, false, false);
    fx_map(f, SPRING_RIGHTS_RW);
}

static void fill(fx_t *f, spring_off_t page, uint8_t v)
{
    uint8_t buf[PS];
    memset(buf, v, PS);
    ck_assert_rc(spring_as_write(f->as, f->a + page * PS, buf, PS), 0);
}

/* Illegal uses; a HAT without SPRING_HAT_FAST declines. */
START_TEST(test_fast_illegal)
{
    fx_t f;
    fx_init(&f, 16, 4);
    void *p = NULL;
    /* Not registered. */
    ck_assert_rc(spring_as_translate_fast(f.as, f.a, SPRING_RIGHTS_R, &p), SPRING_EINVAL);
    ck_assert_rc(spring_thread_register(), 0);
    ck_assert_rc(spring_thread_register(), 0); /* again: fine */
    ck_assert_rc(spring_as_translate_fast(NULL, f.a, SPRING_RIGHTS_R, &p), SPRING_EINVAL);
    ck_assert_rc(spring_as_translate_fast(f.as, f.a, SPRING_RIGHTS_R, NULL), SPRING_EINVAL);
    ck_assert_rc(spring_as_translate_fast(f.as, f.a, SPRING_RIGHTS_RW, &p), SPRING_EINVAL);
    ck_assert_rc(spring_as_translate_fast(f.as, f.a, SPRING_RIGHTS_NONE, &p), SPRING_EINVAL);
    ck_assert_rc(spring_as_translate_fast(f.as, f.a + f.len + 64 * PS, SPRING_RIGHTS_R, &p), SPRING_ENOTMAPPED);
    spring_quiescent();
    spring_thread_unregister();
    spring_thread_unregister(); /* again: nothing */
    spring_quiescent();         /* unregistered: nothing */
    ck_assert_rc(spring_as_translate_fast(f.as, f.a, SPRING_RIGHTS_R, &p), SPRING_EINVAL);
    fx_fini(&f);

    /* The recording HAT leaves SPRING_HAT_FAST clear. */
    spring_vmm_config_t cfg;
    spring_vmm_config_init(&cfg);
    cfg.nframes = 8;
    cfg.hat = rechat_ops();
    spring_vmm_t *vmm;
    ck_assert_rc(spring_vmm_new(&cfg, &vmm), 0);
    spring_as_t *as;
    ck_assert_rc(spring_as_new(vmm, NULL, &as), 0);
    spring_off_t len = PS;
    spring_addr_t a = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_allocate_memory(as, &len, &a, SPRING_RIGHTS_RW), 0);
    ck_assert_rc(spring_thread_register(), 0);
    ck_assert_rc(spring_as_translate_fast(as, a, SPRING_RIGHTS_R, &p), SPRING_ENOSYS);
    spring_thread_unregister();
    spring_as_destroy(as);
    ck_assert_rc(spring_vmm_destroy(vmm), 0);
}
END_TEST

/* Hits give the same address as a pin would; a write translation marks
 * the block modified, so a flush sends the write; revocations (unmap,
 * protect) are seen by the next translation. */
START_TEST(test_fast_hits_and_revocations)
{
    fx_t f;
    fx_init(&f, 16, 4);
    fill(&f, 1, 0x31);
    ck_assert_rc(spring_thread_register(), 0);
    void *p, *q, *pp;
    spring_pin_t pin;
    ck_assert_rc(spring_as_translate_fast(f.as, f.a + PS + 10, SPRING_RIGHTS_R, &p), 0);
    ck_assert_rc(spring_as_translate_fast(f.as, f.a + PS + 10, SPRING_RIGHTS_R, &q), 0); /* a hit */
    ck_assert_ptr_eq(p, q);
    ck_assert_rc(spring_as_translate(f.as, f.a + PS + 10, SPRING_RIGHTS_R, &pp, &pin), 0);
    ck_assert_ptr_eq(p, pp);
    spring_pin_release(&pin);
    ck_assert_uint_eq(*(uint8_t *)p, 0x31);
    /* A write through a fast pointer reaches the pager with the flush. */
    ck_assert_rc(spring_as_translate_fast(f.as, f.a + 2 * PS, SPRING_RIGHTS_W, &p), 0);
    *(uint8_t *)p = 0x77;
    spring_quiescent();
    ck_assert_rc(spring_as_flush(f.as, f.a + 2 * PS, PS, false), 0);
    tp_lock(f.tp);
    ck_assert_uint_eq(tp_store(f.tp)[2 * PS], 0x77);
    tp_unlock(f.tp);
    /* Protect read-only: a write translation is refused, a read one works. */
    ck_assert_rc(spring_as_change_access_rights(f.as, f.a + PS, PS, SPRING_RIGHTS_RO), 0);
    ck_assert_rc(spring_as_translate_fast(f.as, f.a + PS, SPRING_RIGHTS_W, &p), SPRING_EACCES);
    ck_assert_rc(spring_as_translate_fast(f.as, f.a + PS, SPRING_RIGHTS_R, &p), 0);
    /* Unmapped: the cached translation is not used any more. */
    spring_quiescent();
    ck_assert_rc(spring_as_unmap(f.as, f.a + PS, PS), 0);
    ck_assert_rc(spring_as_translate_fast(f.as, f.a + PS, SPRING_RIGHTS_R, &p), SPRING_ENOTMAPPED);
    spring_thread_unregister();
    fx_fini(&f);
}
END_TEST

/* Reading many pages through fast translations in a small pool: blocks
 * fast translations reached are evicted, their frames come back after a
 * grace period (this thread's waits are quiescent points), and every page
 * reads right. */
START_TEST(test_fast_under_pressure)
{
    fx_t f;
    fx_init(&f, 8, 32);
    for (spring_off_t i = 0; i < 32; i++)
        fill(&f, i, (uint8_t)(0x40 + i));
    ck_assert_rc(spring_thread_register(), 0);
    for (int round = 0; round < 2; round++)
        for (spring_off_t i = 0; i < 32; i++) {
            void *p;
            ck_assert_rc(spring_as_translate_fast(f.as, f.a + i * PS + 5, SPRING_RIGHTS_R, &p), 0);
            ck_assert_uint_eq(*(uint8_t *)p, 0x40 + i);
            spring_quiescent();
        }
    spring_thread_unregister();
    for (spring_off_t i = 0; i < 32; i++) { /* nothing lost: the dirty pages were paged out and back */
        uint8_t v;
        ck_assert_rc(spring_as_read(f.as, f.a + i * PS + 7, &v, 1), 0);
        ck_assert_uint_eq(v, 0x40 + i);
    }
    fx_fini(&f);
}
END_TEST

/* Another thread holds a fast pointer and has not passed a quiescent
 * point: the page is taken away and the pool filled with other data, yet
 * the frame is not reused (the reader still sees its data); allocation
 * that would need it fails with SPRING_EQUIESCE; once the reader passes a
 * quiescent point, it works. */
struct holder {
    spring_as_t *as;
    spring_addr_t a;
    atomic_int phase; /* 1: holding; 2: main done; 3: checked */
    uint8_t seen;
    int rc;
};

static void *holder_thread(void *arg)
{
    struct holder *h = arg;
    void *p;
    ck_assert_rc(spring_thread_register(), 0);
    h->rc = spring_as_translate_fast(h->as, h->a, SPRING_RIGHTS_R, &p);
    atomic_store(&h->phase, 1);
    while (atomic_load(&h->phase) != 2)
        ; /* no quiescent point on purpose */
    if (h->rc == 0)
        h->seen = *(volatile uint8_t *)p;
    atomic_store(&h->phase, 3);
    spring_quiescent();
    spring_thread_unregister();
    return NULL;
}

START_TEST(test_fast_no_early_reuse)
{
    fx_t f;
    fx_init(&f, 8, 16);
    fill(&f, 0, 0xaa);
    ck_assert_rc(spring_as_flush(f.as, f.a, PS, true), 0);
    struct holder h = {.as = f.as, .a = f.a};
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, holder_thread, &h), 0);
    while (atomic_load(&h.phase) != 1)
        sched_yield();
    ck_assert_rc(h.rc, 0);
    /* Take page 0 away, then fill every frame with other data. */
    ck_assert_rc(spring_cache_delete_range(tp_cache(f.tp), 0, PS, NULL), 0);
    int rc = 0;
    for (spring_off_t i = 1; i < 16 && rc == 0; i++) {
        uint8_t buf[PS];
        memset(buf, 0xbb, PS);
        rc = spring_as_write(f.as, f.a + i * PS, buf, PS);
    }
    /* With one frame held back, the rest still turn over; no frame came
     * back early. */
    ck_assert_msg(rc == 0 || rc == SPRING_EQUIESCE, "%s", spring_err_name(rc));
    atomic_store(&h.phase, 2);
    pthread_join(th, NULL);
    ck_assert_uint_eq(h.seen, 0xaa);
    /* The reader is gone: everything works again. */
    for (spring_off_t i = 0; i < 16; i++) {
        uint8_t v;
        ck_assert_rc(spring_as_read(f.as, f.a + i * PS, &v, 1), 0);
    }
    fx_fini(&f);
}
END_TEST

/* A thread that never passes a quiescent point while frames wait for a
 * grace period: allocation fails with SPRING_EQUIESCE, and nothing is lost
 * or reused. */
START_TEST(test_fast_equiesce)
{
    fx_t f;
    fx_init(&f, 6, 6);
    for (spring_off_t i = 0; i < 6; i++)
        fill(&f, i, (uint8_t)(0x60 + i));
    ck_assert_rc(spring_as_flush(f.as, f.a, f.len, true), 0);
    /* Every frame's block is reached by fast translations of a thread that
     * then stops passing quiescent points. */
    struct holder h = {.as = f.as, .a = f.a};
    (void)h;
    ck_assert_rc(spring_thread_register(), 0);
    for (spring_off_t i = 0; i < 6; i++) {
        void *p;
        ck_assert_rc(spring_as_translate_fast(f.as, f.a + i * PS, SPRING_RIGHTS_R, &p), 0);
    }
    spring_thread_unregister(); /* this thread is fine; now a stuck one */
    pthread_t th;
    struct holder h2 = {.as = f.as, .a = f.a + 5 * PS};
    ck_assert_int_eq(pthread_create(&th, NULL, holder_thread, &h2), 0);
    while (atomic_load(&h2.phase) != 1)
        sched_yield();
    /* Another object needs frames: only frames waiting for the grace
     * period could be had. */
    spring_off_t len = 6 * PS;
    spring_addr_t b = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_allocate_memory(f.as, &len, &b, SPRING_RIGHTS_RW), 0);
    int rc = 0;
    for (spring_off_t i = 0; i < 6 && rc == 0; i++) {
        uint8_t v = 1;
        rc = spring_as_write(f.as, b + i * PS, &v, 1);
    }
    ck_assert_rc(rc, SPRING_EQUIESCE);
    atomic_store(&h2.phase, 2);
    pthread_join(th, NULL);
    ck_assert_uint_eq(h2.seen, 0x65);
    uint8_t v = 1;
    ck_assert_rc(spring_as_write(f.as, b + 5 * PS, &v, 1), 0);
    for (spring_off_t i = 0; i < 6; i++) {
        ck_assert_rc(spring_as_read(f.as, f.a + i * PS, &v, 1), 0);
        ck_assert_uint_eq(v, 0x60 + i);
    }
    fx_fini(&f);
}
END_TEST

/* A write through a fast pointer made before write_back is in the data it
 * returns: the VMM waits for a grace period (the writer's quiescent point)
 * before it reads the block and marks it clean. */
struct writer {
    spring_as_t *as;
    spring_addr_t a;
    atomic_int phase; /* 1: wrote; 2: main done */
    int rc;
};

static void *writer_thread(void *arg)
{
    struct writer *w = arg;
    void *p;
    ck_assert_rc(spring_thread_register(), 0);
    w->rc = spring_as_translate_fast(w->as, w->a, SPRING_RIGHTS_W, &p);
    if (w->rc == 0)
        memset(p, 0x5c, 64);
    atomic_store(&w->phase, 1);
    while (atomic_load(&w->phase) != 2) {
        if (w->rc == 0)
            ((volatile uint8_t *)p)[100] = 0x5d; /* still writing until its quiescent point */
        spring_quiescent();
        if (w->rc == 0 && spring_as_translate_fast(w->as, w->a, SPRING_RIGHTS_W, &p) != 0)
            w->rc = -1;
    }
    spring_thread_unregister();
    return NULL;
}

START_TEST(test_fast_write_not_lost)
{
    fx_t f;
    fx_init(&f, 16, 4);
    fill(&f, 0, 0x01);
    ck_assert_rc(spring_as_flush(f.as, f.a, PS, true), 0);
    struct writer w = {.as = f.as, .a = f.a};
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, writer_thread, &w), 0);
    while (atomic_load(&w.phase) != 1)
        sched_yield();
    spring_data_t *d = NULL;
    ck_assert_rc(spring_cache_write_back(tp_cache(f.tp), 0, PS, NULL, &d), 0);
    ck_assert_uint_eq(d->nblocks, 1);
    const uint8_t *bytes = d->blocks[0].bytes;
    ck_assert_ptr_nonnull(bytes);
    ck_assert_uint_eq(bytes[0], 0x5c);
    ck_assert_uint_eq(bytes[63], 0x5c);
    spring_data_free(d);
    atomic_store(&w.phase, 2);
    pthread_join(th, NULL);
    ck_assert_rc(w.rc, 0);
    /* The writer kept writing after write_back through new translations:
     * the block was marked modified again, so a flush sends it. */
    ck_assert_rc(spring_as_flush(f.as, f.a, PS, false), 0);
    tp_lock(f.tp);
    ck_assert_uint_eq(tp_store(f.tp)[100], 0x5d);
    tp_unlock(f.tp);
    fx_fini(&f);
}
END_TEST

/* A writer that holds a fast write pointer and has not passed a quiescent
 * point: a flush cannot mark its block clean (the VMM would miss the
 * writes still to come through that pointer); it reports SPRING_EQUIESCE
 * and keeps the block modified, so the writer's later write through the
 * same pointer still reaches the pager. */
struct holdw {
    spring_as_t *as;
    spring_addr_t a;
    atomic_int phase; /* 1: holding; 2: main's flush returned; 3: wrote */
    int rc;
};

static void *holdw_thread(void *arg)
{
    struct holdw *w = arg;
    void *p;
    ck_assert_rc(spring_thread_register(), 0);
    w->rc = spring_as_translate_fast(w->as, w->a, SPRING_RIGHTS_W, &p);
    atomic_store(&w->phase, 1);
    while (atomic_load(&w->phase) != 2)
        ; /* no quiescent point: p stays usable */
    if (w->rc == 0)
        ((volatile uint8_t *)p)[9] = 0x99;
    atomic_store(&w->phase, 3);
    spring_quiescent();
    spring_thread_unregister();
    return NULL;
}

START_TEST(test_fast_flush_waits_for_writer)
{
    fx_t f;
    fx_init(&f, 16, 4);
    fill(&f, 0, 0x01);
    ck_assert_rc(spring_as_flush(f.as, f.a, PS, true), 0);
    struct holdw w = {.as = f.as, .a = f.a};
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, holdw_thread, &w), 0);
    while (atomic_load(&w.phase) != 1)
        sched_yield();
    ck_assert_rc(w.rc, 0);
    ck_assert_rc(spring_as_flush(f.as, f.a, PS, true), SPRING_EQUIESCE);
    atomic_store(&w.phase, 2);
    pthread_join(th, NULL);
    ck_assert_rc(spring_as_flush(f.as, f.a, PS, true), 0);
    tp_lock(f.tp);
    ck_assert_uint_eq(tp_store(f.tp)[9], 0x99);
    tp_unlock(f.tp);
    fx_fini(&f);
}
END_TEST

/* A write translation asked after a read translation of the same page:
 * the thread's entry for the page serves reads only, so the write goes to
 * the slow path.  On a read-only page it is refused and the data stays;
 * on a clean writable page it is granted, the block is marked modified,
 * and a write through it reaches the pager at the next flush. */
START_TEST(test_fast_write_after_read)
{
    fx_t f;
    fx_init(&f, 16, 4);
    fill(&f, 0, 0x21);
    fill(&f, 1, 0x22);
    ck_assert_rc(spring_as_flush(f.as, f.a, 2 * PS, true), 0); /* both clean, kept */
    ck_assert_rc(spring_as_change_access_rights(f.as, f.a, PS, SPRING_RIGHTS_RO), 0);
    ck_assert_rc(spring_thread_register(), 0);
    void *p = NULL, *q = NULL;
    /* The read-only page: read, then write refused (twice: no entry
     * serves it either). */
    ck_assert_rc(spring_as_translate_fast(f.as, f.a + 8, SPRING_RIGHTS_R, &p), 0);
    ck_assert_uint_eq(*(uint8_t *)p, 0x21);
    ck_assert_rc(spring_as_translate_fast(f.as, f.a + 8, SPRING_RIGHTS_W, &q), SPRING_EACCES);
    ck_assert_rc(spring_as_translate_fast(f.as, f.a + 8, SPRING_RIGHTS_R, &p), 0);
    ck_assert_rc(spring_as_translate_fast(f.as, f.a + 8, SPRING_RIGHTS_W, &q), SPRING_EACCES);
    ck_assert_rc(spring_as_fault(f.as, f.a + 8, SPRING_RIGHTS_W), SPRING_EACCES);
    /* The clean page: read, then write granted; the write is sent by the
     * next flush. */
    ck_assert_rc(spring_as_translate_fast(f.as, f.a + PS + 8, SPRING_RIGHTS_R, &p), 0);
    ck_assert_uint_eq(*(uint8_t *)p, 0x22);
    ck_assert_rc(spring_as_translate_fast(f.as, f.a + PS + 8, SPRING_RIGHTS_W, &q), 0);
    *(uint8_t *)q = 0x99;
    spring_quiescent();
    ck_assert_rc(spring_as_flush(f.as, f.a, 2 * PS, false), 0);
    spring_thread_unregister();
    tp_lock(f.tp);
    ck_assert_uint_eq(tp_store(f.tp)[8], 0x21);
    ck_assert_uint_eq(tp_store(f.tp)[PS + 8], 0x99);
    ck_assert_uint_eq(tp_store(f.tp)[PS + 9], 0x22);
    tp_unlock(f.tp);
    uint8_t v;
    ck_assert_rc(spring_as_read(f.as, f.a + 8, &v, 1), 0);
    ck_assert_uint_eq(v, 0x21);
    ck_assert_rc(spring_as_read(f.as, f.a + PS + 8, &v, 1), 0);
    ck_assert_uint_eq(v, 0x99);
    fx_fini(&f);
}
END_TEST

/* Wait, reading only the VMM's information (which drives nothing), until
 * every frame but the HAT's own is free again, for at most five seconds.
 * Returns the free frames last seen. */
static size_t wait_pool_full(spring_vmm_t *vmm)
{
    spring_vm_info_t vi = test_vm_info(vmm);
    for (int i = 0; i < 5000 && vi.free_frames + vi.special_frames < vi.nframes; i++) {
        struct timespec ms = {0, 1000 * 1000};
        nanosleep(&ms, NULL);
        vi = test_vm_info(vmm);
    }
    return vi.free_frames + vi.special_frames;
}

/* A thread that reads two pages through fast translations and then passes
 * no quiescent point until told. */
struct reader2 {
    spring_as_t *as;
    spring_addr_t a[2];
    atomic_int phase; /* 1: holding; 2: go on */
    int rc;
};

static void *reader2_thread(void *arg)
{
    struct reader2 *r = arg;
    void *p;
    ck_assert_rc(spring_thread_register(), 0);
    for (int i = 0; i < 2 && r->rc == 0; i++)
        r->rc = spring_as_translate_fast(r->as, r->a[i], SPRING_RIGHTS_R, &p);
    atomic_store(&r->phase, 1);
    while (atomic_load(&r->phase) != 2)
        ; /* no quiescent point on purpose: the grace period waits */
    spring_quiescent();
    spring_thread_unregister();
    return NULL;
}

/* Frames of blocks fast translations reached come back to the pool after
 * a grace period with no further activity: the test makes no call that
 * could ask for a grace period or for frames while it waits.  Frames freed
 * while no grace period runs start one; frames freed while one runs wait
 * for the next, which starts when that one ends. */
START_TEST(test_fast_grace_frees_by_itself)
{
    fx_t f;
    fx_init(&f, 16, 4);
    spring_cache_obj_t c = tp_cache(f.tp);
    size_t nframes = test_vm_info(f.vmm).nframes;
    /* No grace period running. */
    ck_assert_rc(spring_thread_register(), 0);
    void *p;
    ck_assert_rc(spring_as_translate_fast(f.as, f.a, SPRING_RIGHTS_R, &p), 0);
    spring_thread_unregister();
    ck_assert_rc(spring_cache_delete_range(c, 0, PS, NULL), 0);
    ck_assert_uint_eq(wait_pool_full(f.vmm), nframes);
    /* One running (a reader holds it open) when the second page goes. */
    struct reader2 r = {.as = f.as, .a = {f.a + PS, f.a + 2 * PS}};
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, reader2_thread, &r), 0);
    while (atomic_load(&r.phase) != 1)
        sched_yield();
    ck_assert_rc(r.rc, 0);
    ck_assert_rc(spring_cache_delete_range(c, PS, PS, NULL), 0);     /* starts a grace period */
    ck_assert_rc(spring_cache_delete_range(c, 2 * PS, PS, NULL), 0); /* during it */
    spring_vm_info_t vi = test_vm_info(f.vmm); /* held back while the reader holds the grace period */
    ck_assert_uint_lt(vi.free_frames + vi.special_frames, nframes);
    atomic_store(&r.phase, 2);
    pthread_join(th, NULL);
    ck_assert_uint_eq(wait_pool_full(f.vmm), nframes);
    fx_fini(&f);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("fast");
    TCase *t = tcase_create("qsbr");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, test_fast_illegal);
    tcase_add_test(t, test_fast_hits_and_revocations);
    tcase_add_test(t, test_fast_under_pressure);
    tcase_add_test(t, test_fast_no_early_reuse);
    tcase_add_test(t, test_fast_equiesce);
    tcase_add_test(t, test_fast_write_not_lost);
    tcase_add_test(t, test_fast_flush_waits_for_writer);
    tcase_add_test(t, test_fast_write_after_read);
    tcase_add_test(t, test_fast_grace_frees_by_itself);
    suite_add_tcase(s, t);
    return s;
}
