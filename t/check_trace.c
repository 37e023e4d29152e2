/*
 * check_trace.c - the VMM's event trace (trace.h, docs/trace.md): the
 * records a known sequence of calls makes, in order and with their
 * fields; the ring's overflow; tracing off by default; resizing; the
 * dump file and its text form, for every record kind; dump files that are
 * not dumps, truncated or newer; many threads faulting with tracing on;
 * and illegal uses of every trace call.  Only the public headers are used.
 */
#define _GNU_SOURCE /* asprintf */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testlib.h"
#include "testmain.h"

#define PS 4096
#define VMM_NAME "trace"
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------------ */
/* Helpers.                                                             */

/* The ring's records (at most cap), oldest first. */
static size_t read_all(spring_vmm_t *vmm, spring_trace_record_t *out, size_t cap, uint64_t *lost)
{
    size_t n = 99999;
    ck_assert_rc(spring_vmm_trace_read(vmm, out, cap, &n, lost), 0);
    ck_assert_uint_le(n, cap);
    return n;
}

/* Print records (to the test log) when a sequence is not the one expected. */
static void show(const spring_trace_record_t *r, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, "  %zu: %s rc=%s cache=%llu as=%llu addr=%#llx off=%#llx len=%#llx access=%u\n", i,
                spring_trace_kind_name((int)r[i].kind), spring_err_name(r[i].result), (unsigned long long)r[i].cache,
                (unsigned long long)r[i].as, (unsigned long long)r[i].address, (unsigned long long)r[i].offset,
                (unsigned long long)r[i].length, r[i].access);
}

/* The records' kinds are exactly want[0..nwant). */
static void expect_kinds(const spring_trace_record_t *r, size_t n, const int *want, size_t nwant)
{
    bool same = n == nwant;
    for (size_t i = 0; same && i < n; i++)
        same = (int)r[i].kind == want[i];
    if (!same) {
        fprintf(stderr, "trace records, %zu of them (want %zu):\n", n, nwant);
        show(r, n);
        for (size_t i = 0; i < nwant; i++)
            fprintf(stderr, "  want %zu: %s\n", i, spring_trace_kind_name(want[i]));
    }
    ck_assert_msg(same, "the trace differs from the sequence expected (see the log)");
}

/* Numbers one apart, times and threads set, times not going back. */
static void expect_well_formed(const spring_trace_record_t *r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        ck_assert_uint_ne(r[i].time_ns, 0);
        ck_assert_uint_ne(r[i].thread, 0);
        ck_assert_str_ne(spring_trace_kind_name((int)r[i].kind), "unknown");
        if (i > 0) {
            ck_assert_uint_eq(r[i].seq, r[i - 1].seq + 1);
            ck_assert_uint_ge(r[i].time_ns, r[i - 1].time_ns);
        }
    }
}

static uint64_t cache_id(fx_t *f)
{
    uint64_t id = 0;
    ck_assert_rc(spring_cache_trace_id(tp_cache(f->tp), &id), 0);
    ck_assert_uint_ne(id, 0);
    return id;
}

/* A temporary file's path (unlinked by the caller); its descriptor in *fd. */
static char *temp_file(int *fd)
{
    const char *dir = getenv("TMPDIR");
    char *path = NULL;
    ck_assert_int_ge(asprintf(&path, "%s/springvm-trace-XXXXXX", dir && *dir ? dir : "/tmp"), 0);
    *fd = mkstemp(path);
    ck_assert_int_ge(*fd, 0);
    return path;
}

/* The whole of a file. */
static char *file_text(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    char *b = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n + 4096 > cap) {
            cap = cap * 2 + 4096;
            b = realloc(b, cap + 1);
            ck_assert_ptr_nonnull(b);
        }
        size_t got = fread(b + n, 1, cap - n, f);
        if (got == 0)
            break;
        n += got;
    }
    fclose(f);
    b[n] = '\0';
    if (len)
        *len = n;
    return b;
}

static void write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(p, 1, n, f), n);
    ck_assert_int_eq(fclose(f), 0);
}

/* spring_trace_print() of path into a string; its code in *rc. */
static char *print_to_string(const char *path, int *rc)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    ck_assert_ptr_nonnull(out);
    *rc = spring_trace_print(path, out);
    fclose(out);
    return text;
}

/* ------------------------------------------------------------------ */
/* The records of a known sequence.                                     */

/* map; a pager zero-fills page 0 and the test faults it (written); a
 * read fault pages page 1 in; a write to page 1; a flush; an unmap.
 * Exactly these records, in this order, with these fields. */
START_TEST(test_trace_sequence)
{
    fx_t f;
    fx_setup(&f, VMM_NAME, 32, 4, 0, SPRING_OWN_SHARED, false, true);
    ck_assert_rc(spring_vmm_trace_set_size(f.vmm, 64), 0);
    ck_assert_uint_eq(spring_vmm_trace_size(f.vmm), 64);
    uint64_t asid = spring_as_trace_id(f.as);
    ck_assert_uint_ne(asid, 0);

    fx_map(&f, SPRING_RIGHTS_RW);                                     /* mobj.bind */
    uint64_t cid = cache_id(&f);
    ck_assert_rc(spring_cache_zero_fill(tp_cache(f.tp), 0, PS, NULL), 0); /* cache.zero_fill */
    ck_assert_rc(spring_as_fault(f.as, f.a + 16, SPRING_RIGHTS_W), 0);    /* fault.zero_fill, fault */
    ck_assert_rc(spring_as_fault(f.as, f.a + PS + 8, SPRING_RIGHTS_R), 0); /* pager.page_in, fault.page_in, fault */
    uint8_t byte = 7;
    /* Page 1 came in read-only (shared ownership): the write asks for
     * write access, a page_in of the block held read-only.  An upgrade is
     * not counted as a fault that paged in (spring_as_statistics_t), so
     * it has no fault.page_in record: the pager call's record shows it. */
    ck_assert_rc(spring_as_write(f.as, f.a + PS + 9, &byte, 1), 0);       /* pager.page_in, fault */
    ck_assert_rc(spring_as_flush(f.as, f.a, f.len, false), 0);            /* pager.page_out */
    ck_assert_rc(spring_as_unmap(f.as, f.a, f.len), 0);                  /* pager.done_with_cache */

    spring_trace_record_t r[64];
    uint64_t lost = 99;
    size_t n = read_all(f.vmm, r, NELEM(r), &lost);
    ck_assert_uint_eq(lost, 0);
    static const int want[] = {
        SPRING_TRACE_BIND,           SPRING_TRACE_CACHE_ZERO_FILL, SPRING_TRACE_FAULT_ZERO_FILL,
        SPRING_TRACE_FAULT,          SPRING_TRACE_PAGE_IN,         SPRING_TRACE_FAULT_PAGE_IN,
        SPRING_TRACE_FAULT,          SPRING_TRACE_PAGE_IN,         SPRING_TRACE_FAULT,
        SPRING_TRACE_PAGE_OUT,       SPRING_TRACE_DONE_WITH_CACHE,
    };
    expect_kinds(r, n, want, NELEM(want));
    expect_well_formed(r, n);
    ck_assert_uint_eq(r[0].seq, 0);

    /* mobj.bind: the object offset and length, the access, the cache. */
    ck_assert_int_eq(r[0].result, 0);
    ck_assert_uint_eq(r[0].cache, cid);
    ck_assert_uint_eq(r[0].as, asid);
    ck_assert_uint_eq(r[0].offset, 0);
    ck_assert_uint_eq(r[0].length, f.len);
    ck_assert_uint_eq(r[0].access, SPRING_RIGHTS_RW);
    /* cache.zero_fill: the range as the pager gave it. */
    ck_assert_uint_eq(r[1].cache, cid);
    ck_assert_uint_eq(r[1].as, 0);
    ck_assert_uint_eq(r[1].offset, 0);
    ck_assert_uint_eq(r[1].length, PS);
    ck_assert_int_eq(r[1].result, 0);
    /* The zero-fill fault: the address, the cache offset, the access. */
    for (int i = 2; i <= 3; i++) {
        ck_assert_uint_eq(r[i].cache, cid);
        ck_assert_uint_eq(r[i].as, asid);
        ck_assert_uint_eq(r[i].address, f.a + 16);
        ck_assert_uint_eq(r[i].offset, 0);
        ck_assert_uint_eq(r[i].access, SPRING_RIGHTS_W);
        ck_assert_int_eq(r[i].result, 0);
    }
    /* The read fault: page_in of the block read-only, then the fault's
     * records; the fault took at least as long as the pager. */
    ck_assert_uint_eq(r[4].cache, cid);
    ck_assert_uint_eq(r[4].as, 0);
    ck_assert_uint_eq(r[4].offset, PS);
    ck_assert_uint_eq(r[4].length, PS);
    ck_assert_uint_eq(r[4].access, SPRING_RIGHTS_RO);
    for (int i = 5; i <= 6; i++) {
        ck_assert_uint_eq(r[i].address, f.a + PS + 8);
        ck_assert_uint_eq(r[i].offset, PS);
        ck_assert_uint_eq(r[i].access, SPRING_RIGHTS_R);
        ck_assert_uint_ge(r[i].duration_ns, r[4].duration_ns);
    }
    /* The write: page_in of the same block read-write (an upgrade). */
    ck_assert_uint_eq(r[7].offset, PS);
    ck_assert_uint_eq(r[7].access, SPRING_RIGHTS_RW);
    ck_assert_uint_eq(r[8].address, f.a + PS + 9);
    ck_assert_uint_eq(r[8].access, SPRING_RIGHTS_W);
    ck_assert_uint_ge(r[8].duration_ns, r[7].duration_ns);
    /* The flush: one page_out carrying both modified pages. */
    ck_assert_uint_eq(r[9].cache, cid);
    ck_assert_uint_eq(r[9].offset, 0);
    ck_assert_uint_eq(r[9].length, 2 * PS);
    ck_assert_int_eq(r[9].result, 0);
    /* The unmap removed the last binding (the pager asked to be told). */
    ck_assert_uint_eq(r[10].cache, cid);

    /* The statistics count what the fault records say. */
    spring_as_statistics_t st = test_as_stats(f.as);
    ck_assert_uint_eq(st.faults, 3);
    ck_assert_uint_eq(st.zero_fills, 1);
    ck_assert_uint_eq(st.page_ins, 1);
    /* The pager's calls are the records' calls. */
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_IN), 2);
    ck_assert_uint_eq(tp_count(f.tp, TP_PAGE_OUT), 1);

    /* Reading again gives the same: reading does not consume. */
    spring_trace_record_t r2[64];
    size_t n2 = read_all(f.vmm, r2, NELEM(r2), NULL);
    ck_assert_uint_eq(n2, n);
    ck_assert_int_eq(memcmp(r, r2, n * sizeof r[0]), 0);
    /* A smaller buffer gets the newest. */
    n2 = read_all(f.vmm, r2, 3, NULL);
    ck_assert_uint_eq(n2, 3);
    ck_assert_int_eq(memcmp(r + n - 3, r2, 3 * sizeof r[0]), 0);
    fx_fini(&f);
}
END_TEST

/* Protection and unmapped faults, a failed page_in, a pager's calls on the
 * cache (flush_back, deny_writes, write_back, delete_range, populate,
 * destroy) and final_bind. */
START_TEST(test_trace_other_kinds)
{
    fx_t f;
    fx_setup(&f, VMM_NAME, 32, 4, 0, SPRING_OWN_EXCLUSIVE, false, true);
    fx_map(&f, SPRING_RIGHTS_RO);
    ck_assert_rc(spring_vmm_trace_set_size(f.vmm, 64), 0);
    uint64_t cid = cache_id(&f), asid = spring_as_trace_id(f.as);
    spring_cache_obj_t c = tp_cache(f.tp);

    ck_assert_rc(spring_as_fault(f.as, f.a, SPRING_RIGHTS_W), SPRING_EACCES);
    ck_assert_rc(spring_as_fault(f.as, f.a + f.len + 64 * PS, SPRING_RIGHTS_R), SPRING_ENOTMAPPED);
    tp_fail(f.tp, TP_PAGE_IN, SPRING_ENOSPC, false);
    ck_assert_rc(spring_as_fault(f.as, f.a + PS, SPRING_RIGHTS_R), SPRING_EPAGER);
    spring_data_t *d = NULL;
    ck_assert_rc(spring_cache_flush_back(c, 0, SPRING_SIZE_ALL, NULL, &d), 0);
    spring_data_free(d);
    ck_assert_rc(spring_cache_deny_writes(c, 0, PS, NULL, &d), 0);
    spring_data_free(d);
    ck_assert_rc(spring_cache_write_back(c, PS, PS, NULL, &d), 0);
    spring_data_free(d);
    ck_assert_rc(spring_cache_delete_range(c, 2 * PS, 2 * PS, NULL), 0);
    ck_assert_rc(spring_cache_delete_range(c, 1, PS, NULL), SPRING_EALIGN); /* recorded, with its code */
    spring_data_block_t blk = {0, PS, NULL};
    spring_data_t pd = {1, &blk};
    ck_assert_rc(spring_cache_populate(c, 0, PS, SPRING_RIGHTS_RO, NULL, &pd), 0);

    spring_trace_record_t r[64];
    size_t n = read_all(f.vmm, r, NELEM(r), NULL);
    static const int want[] = {
        SPRING_TRACE_FAULT_PROTECTION,   SPRING_TRACE_FAULT_UNMAPPED,     SPRING_TRACE_PAGE_IN,
        SPRING_TRACE_FAULT,              SPRING_TRACE_CACHE_FLUSH_BACK,   SPRING_TRACE_CACHE_DENY_WRITES,
        SPRING_TRACE_CACHE_WRITE_BACK,   SPRING_TRACE_CACHE_DELETE_RANGE, SPRING_TRACE_CACHE_DELETE_RANGE,
        SPRING_TRACE_CACHE_POPULATE,
    };
    expect_kinds(r, n, want, NELEM(want));
    expect_well_formed(r, n);
    ck_assert_int_eq(r[0].result, SPRING_EACCES);
    ck_assert_uint_eq(r[0].cache, cid);
    ck_assert_uint_eq(r[0].as, asid);
    ck_assert_uint_eq(r[0].address, f.a);
    ck_assert_uint_eq(r[0].access, SPRING_RIGHTS_W);
    ck_assert_int_eq(r[1].result, SPRING_ENOTMAPPED);
    ck_assert_uint_eq(r[1].cache, 0);
    ck_assert_uint_eq(r[1].as, asid);
    ck_assert_uint_eq(r[1].address, f.a + f.len + 64 * PS);
    ck_assert_int_eq(r[2].result, SPRING_ENOSPC); /* the pager's own code */
    ck_assert_int_eq(r[3].result, SPRING_EPAGER); /* the fault's */
    ck_assert_uint_eq(r[4].length, SPRING_SIZE_ALL);
    ck_assert_uint_eq(r[6].offset, PS);
    ck_assert_uint_eq(r[7].offset, 2 * PS);
    ck_assert_uint_eq(r[7].length, 2 * PS);
    ck_assert_int_eq(r[8].result, SPRING_EALIGN);
    ck_assert_uint_eq(r[9].access, SPRING_RIGHTS_RO);
    for (size_t i = 4; i < n; i++)
        ck_assert_uint_eq(r[i].cache, cid);
    spring_as_statistics_t st = test_as_stats(f.as);
    ck_assert_uint_eq(st.protection_faults, 1);
    ck_assert_uint_eq(st.unmapped_faults, 1);

    /* The pager destroys its cache: cache.destroy, after the
     * done_with_pager_object it causes. */
    ck_assert_rc(spring_vmm_trace_clear(f.vmm), 0);
    ck_assert_rc(spring_as_unmap(f.as, f.a, f.len), 0);
    ck_assert_rc(spring_cache_destroy(c), 0);
    n = read_all(f.vmm, r, NELEM(r), NULL);
    static const int want2[] = {SPRING_TRACE_DONE_WITH_CACHE, SPRING_TRACE_DONE_WITH_PAGER_OBJECT,
                                SPRING_TRACE_CACHE_DESTROY};
    expect_kinds(r, n, want2, NELEM(want2));
    ck_assert_uint_eq(r[2].cache, cid);
    ck_assert_uint_eq(r[2].result, 0);
    /* A destroyed cache's handle is refused and not recorded. */
    ck_assert_rc(spring_cache_delete_range(c, 0, PS, NULL), SPRING_EBADHANDLE);
    ck_assert_rc(spring_cache_trace_id(c, &cid), SPRING_EBADHANDLE);
    n = read_all(f.vmm, r, NELEM(r), NULL);
    ck_assert_uint_eq(n, NELEM(want2));
    fx_fini(&f);
}
END_TEST

/* A bind whose cache-rights leads to no live cache: final_bind. */
START_TEST(test_trace_final_bind)
{
    fx_t f;
    fx_setup(&f, VMM_NAME, 32, 4, 0, SPRING_OWN_EXCLUSIVE, false, true);
    ck_assert_rc(spring_vmm_trace_set_size(f.vmm, 16), 0);
    spring_cache_rights_t forged = {0x5eed};
    tp_set_bind_rights(f.tp, forged);
    fx_map(&f, SPRING_RIGHTS_RW);
    uint64_t cid = cache_id(&f);
    spring_trace_record_t r[16];
    size_t n = read_all(f.vmm, r, NELEM(r), NULL);
    static const int want[] = {SPRING_TRACE_BIND, SPRING_TRACE_FINAL_BIND};
    expect_kinds(r, n, want, NELEM(want));
    ck_assert_int_eq(r[0].result, 0);
    ck_assert_uint_eq(r[0].cache, 0); /* leads to no cache */
    ck_assert_int_eq(r[1].result, 0);
    ck_assert_uint_eq(r[1].cache, cid);
    ck_assert_uint_eq(r[1].as, spring_as_trace_id(f.as));
    ck_assert_uint_eq(r[1].length, f.len);
    ck_assert_uint_eq(r[1].access, SPRING_RIGHTS_RW);
    fx_fini(&f);
}
END_TEST

/* ------------------------------------------------------------------ */
/* The ring.                                                            */

/* Off by default: nothing is recorded and reads give nothing; turned off
 * again, the records are forgotten. */
START_TEST(test_trace_off_by_default)
{
    spring_vmm_config_t cfg;
    spring_vmm_config_init(&cfg);
    ck_assert_uint_eq(cfg.trace_records, 0);
    fx_t f;
    fx_setup(&f, VMM_NAME, 32, 4, 0, SPRING_OWN_EXCLUSIVE, false, true);
    ck_assert_uint_eq(spring_vmm_trace_size(f.vmm), 0);
    fx_map(&f, SPRING_RIGHTS_RW);
    ck_assert_rc(spring_as_fault(f.as, f.a, SPRING_RIGHTS_W), 0);
    ck_assert_rc(spring_as_flush(f.as, f.a, f.len, false), 0);
    spring_trace_record_t r[4];
    uint64_t lost = 99;
    size_t n = read_all(f.vmm, r, NELEM(r), &lost);
    ck_assert_uint_eq(n, 0);
    ck_assert_uint_eq(lost, 0);
    /* Turned on, it records; turned off again, it forgets. */
    ck_assert_rc(spring_vmm_trace_set_size(f.vmm, 4), 0);
    ck_assert_rc(spring_as_fault(f.as, f.a, SPRING_RIGHTS_R), 0);
    n = read_all(f.vmm, r, NELEM(r), NULL);
    ck_assert_uint_gt(n, 0);
    ck_assert_rc(spring_vmm_trace_set_size(f.vmm, 0), 0);
    ck_assert_uint_eq(spring_vmm_trace_size(f.vmm), 0);
    ck_assert_rc(spring_as_fault(f.as, f.a, SPRING_RIGHTS_R), 0);
    n = read_all(f.vmm, r, NELEM(r), &lost);
    ck_assert_uint_eq(n, 0);
    ck_assert_uint_eq(lost, 0);
    fx_fini(&f);
}
END_TEST

/* A full ring keeps the newest records and counts the others as lost;
 * record numbers go on; clear empties it; a resize keeps the newest that
 * fit. */
START_TEST(test_trace_overflow)
{
    spring_vmm_config_t cfg;
    spring_vmm_config_init(&cfg);
    cfg.name = VMM_NAME;
    cfg.nframes = 16;
    cfg.trace_records = 8;
    spring_vmm_t *vmm;
    ck_assert_rc(spring_vmm_new(&cfg, &vmm), 0);
    ck_assert_uint_eq(spring_vmm_trace_size(vmm), 8);
    spring_as_t *as;
    ck_assert_rc(spring_as_new(vmm, NULL, &as), 0);
    /* 20 unmapped faults: 20 records of known addresses. */
    for (int i = 0; i < 20; i++)
        ck_assert_rc(spring_as_fault(as, (spring_addr_t)(100 + i) * PS, SPRING_RIGHTS_R), SPRING_ENOTMAPPED);
    spring_trace_record_t r[32];
    uint64_t lost = 0;
    size_t n = read_all(vmm, r, NELEM(r), &lost);
    ck_assert_uint_eq(n, 8);
    ck_assert_uint_eq(lost, 12);
    expect_well_formed(r, n);
    for (size_t i = 0; i < n; i++) {
        ck_assert_uint_eq(r[i].kind, SPRING_TRACE_FAULT_UNMAPPED);
        ck_assert_uint_eq(r[i].seq, 12 + i);
        ck_assert_uint_eq(r[i].address, (spring_addr_t)(112 + i) * PS);
    }
    /* Shrinking keeps the newest 3; 5 more are lost. */
    ck_assert_rc(spring_vmm_trace_set_size(vmm, 3), 0);
    n = read_all(vmm, r, NELEM(r), &lost);
    ck_assert_uint_eq(n, 3);
    ck_assert_uint_eq(lost, 17);
    ck_assert_uint_eq(r[0].seq, 17);
    ck_assert_uint_eq(r[2].address, (spring_addr_t)119 * PS);
    /* Growing keeps them all, and the ring fills further. */
    ck_assert_rc(spring_vmm_trace_set_size(vmm, 10), 0);
    ck_assert_rc(spring_as_fault(as, 200 * PS, SPRING_RIGHTS_R), SPRING_ENOTMAPPED);
    n = read_all(vmm, r, NELEM(r), &lost);
    ck_assert_uint_eq(n, 4);
    ck_assert_uint_eq(lost, 17);
    expect_well_formed(r, n);
    ck_assert_uint_eq(r[3].seq, 20);
    ck_assert_uint_eq(r[3].address, 200 * PS);
    /* Clear: nothing held, nothing lost; numbers go on. */
    ck_assert_rc(spring_vmm_trace_clear(vmm), 0);
    n = read_all(vmm, r, NELEM(r), &lost);
    ck_assert_uint_eq(n, 0);
    ck_assert_uint_eq(lost, 0);
    ck_assert_rc(spring_as_fault(as, 201 * PS, SPRING_RIGHTS_R), SPRING_ENOTMAPPED);
    n = read_all(vmm, r, NELEM(r), &lost);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(r[0].seq, 21);
    /* A ring of one record. */
    ck_assert_rc(spring_vmm_trace_set_size(vmm, 1), 0);
    ck_assert_rc(spring_as_fault(as, 202 * PS, SPRING_RIGHTS_R), SPRING_ENOTMAPPED);
    n = read_all(vmm, r, NELEM(r), &lost);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(lost, 1);
    ck_assert_uint_eq(r[0].seq, 22);
    spring_as_destroy(as);
    ck_assert_rc(spring_vmm_destroy(vmm), 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Dump files.                                                          */

/* The header's fields (docs/trace.md). */
static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
    return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static void set_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* A VMM with a known trace: n unmapped faults at page 100 on, with a
 * ring of cap records. */
static spring_vmm_t *vmm_with_faults(size_t cap, int n, spring_as_t **asp)
{
    spring_vmm_t *vmm = test_vmm(VMM_NAME, 16, NULL);
    ck_assert_rc(spring_vmm_trace_set_size(vmm, cap), 0);
    spring_as_t *as;
    ck_assert_rc(spring_as_new(vmm, NULL, &as), 0);
    for (int i = 0; i < n; i++)
        ck_assert_rc(spring_as_fault(as, (spring_addr_t)(100 + i) * PS, SPRING_RIGHTS_R), SPRING_ENOTMAPPED);
    *asp = as;
    return vmm;
}

static void vmm_with_faults_free(spring_vmm_t *vmm, spring_as_t *as)
{
    spring_as_destroy(as);
    test_vmm_free(vmm, NULL);
}

/* The dump's bytes are the documented format; print turns them into the
 * documented lines. */
START_TEST(test_trace_dump_and_print)
{
    fx_t f;
    fx_setup(&f, VMM_NAME, 32, 4, 0, SPRING_OWN_SHARED, false, true);
    ck_assert_rc(spring_vmm_trace_set_size(f.vmm, 5), 0);
    fx_map(&f, SPRING_RIGHTS_RW);
    ck_assert_rc(spring_as_fault(f.as, f.a + PS, SPRING_RIGHTS_R), 0);
    ck_assert_rc(spring_as_fault(f.as, f.a + f.len + 8 * PS, SPRING_RIGHTS_R), SPRING_ENOTMAPPED);
    ck_assert_rc(spring_as_fault(f.as, f.a, SPRING_RIGHTS_R), 0);
    /* 8 records in all (bind; page_in, fault.page_in, fault; fault.unmapped;
     * page_in, fault.page_in, fault): the first 3 are lost. */
    spring_trace_record_t r[8];
    uint64_t lost;
    size_t n = read_all(f.vmm, r, NELEM(r), &lost);
    ck_assert_uint_eq(n, 5);
    ck_assert_uint_eq(lost, 3);

    int fd;
    char *path = temp_file(&fd);
    ck_assert_rc(spring_vmm_trace_dump(f.vmm, fd), 0);
    ck_assert_int_eq(close(fd), 0);
    size_t len;
    uint8_t *b = (uint8_t *)file_text(path, &len);
    ck_assert_uint_eq(len, 64 + 5 * 80);
    ck_assert_int_eq(memcmp(b, "SPRVMTRC", 8), 0);
    ck_assert_uint_eq(le32(b + 8), SPRING_TRACE_FORMAT_VERSION);
    ck_assert_uint_eq(le32(b + 12), 64);
    ck_assert_uint_eq(le32(b + 16), 80);
    ck_assert_uint_eq(le64(b + 24), 5);
    ck_assert_uint_eq(le64(b + 32), 3);
    ck_assert_uint_eq(le64(b + 40), 5);
    ck_assert_uint_ge(le64(b + 48), r[4].time_ns);
    for (size_t i = 0; i < n; i++) {
        const uint8_t *p = b + 64 + i * 80;
        ck_assert_uint_eq(le64(p + 0), r[i].seq);
        ck_assert_uint_eq(le64(p + 8), r[i].time_ns);
        ck_assert_uint_eq(le64(p + 16), r[i].duration_ns);
        ck_assert_uint_eq(le64(p + 24), r[i].cache);
        ck_assert_uint_eq(le64(p + 32), r[i].as);
        ck_assert_uint_eq(le64(p + 40), r[i].address);
        ck_assert_uint_eq(le64(p + 48), r[i].offset);
        ck_assert_uint_eq(le64(p + 56), r[i].length);
        ck_assert_uint_eq(le32(p + 64), r[i].kind);
        ck_assert_uint_eq(le32(p + 68), (uint32_t)r[i].result);
        ck_assert_uint_eq(le32(p + 72), r[i].access);
        ck_assert_uint_eq(le32(p + 76), r[i].thread);
    }
    free(b);

    int rc;
    char *text = print_to_string(path, &rc);
    ck_assert_rc(rc, 0);
    /* Header, column line, one line per record. */
    size_t lines = 0;
    for (const char *p = text; *p; p++)
        lines += *p == '\n';
    ck_assert_uint_eq(lines, 2 + 5);
    static const char head[] = "# springvm trace, format version 1: 5 records, 3 lost, ring of 5, dumped at ";
    ck_assert_msg(strncmp(text, head, strlen(head)) == 0, "%s", text);
    /* Every record has its line. */
    char want[512];
    uint64_t cid = cache_id(&f), asid = spring_as_trace_id(f.as);
    ck_assert_uint_eq(r[1].kind, SPRING_TRACE_FAULT_UNMAPPED);
    snprintf(want, sizeof want,
             "\n%llu %llu t%u fault.unmapped rc=SPRING_ENOTMAPPED cache=0 as=%llu addr=%#llx off=0 len=0 access=r-- "
             "dur=0\n",
             (unsigned long long)r[1].seq, (unsigned long long)r[1].time_ns, r[1].thread, (unsigned long long)asid,
             (unsigned long long)(f.a + f.len + 8 * PS));
    ck_assert_msg(strstr(text, want) != NULL, "no line\n%s\nin\n%s", want + 1, text);
    ck_assert_uint_eq(r[4].kind, SPRING_TRACE_FAULT);
    snprintf(want, sizeof want, "\n%llu %llu t%u fault rc=SPRING_OK cache=%llu as=%llu addr=%#llx off=0 len=0 "
             "access=r-- dur=%llu\n",
             (unsigned long long)r[4].seq, (unsigned long long)r[4].time_ns, r[4].thread, (unsigned long long)cid,
             (unsigned long long)asid, (unsigned long long)f.a, (unsigned long long)r[4].duration_ns);
    ck_assert_msg(strstr(text, want) != NULL, "no line\n%s\nin\n%s", want + 1, text);
    ck_assert_uint_eq(r[2].kind, SPRING_TRACE_PAGE_IN);
    snprintf(want, sizeof want, "\n%llu %llu t%u pager.page_in rc=SPRING_OK cache=%llu as=0 addr=0 off=0 len=%#x "
             "access=r-- dur=%llu\n",
             (unsigned long long)r[2].seq, (unsigned long long)r[2].time_ns, r[2].thread, (unsigned long long)cid,
             PS, (unsigned long long)r[2].duration_ns);
    ck_assert_msg(strstr(text, want) != NULL, "no line\n%s\nin\n%s", want + 1, text);
    ck_assert_ptr_nonnull(strstr(text, " fault.page_in rc=SPRING_OK cache="));
    ck_assert_ptr_nonnull(strstr(text, "\n3 "));
    ck_assert_ptr_null(strstr(text, "\n2 ")); /* lost */
    free(text);

    /* With tracing off: a header and no records. */
    ck_assert_rc(spring_vmm_trace_set_size(f.vmm, 0), 0);
    fd = open(path, O_WRONLY | O_TRUNC);
    ck_assert_int_ge(fd, 0);
    ck_assert_rc(spring_vmm_trace_dump(f.vmm, fd), 0);
    close(fd);
    text = print_to_string(path, &rc);
    ck_assert_rc(rc, 0);
    ck_assert_ptr_nonnull(strstr(text, ": 0 records, 0 lost, ring of 0,"));
    free(text);
    unlink(path);
    free(path);
    fx_fini(&f);
}
END_TEST

/* The text spring_trace_print() gives a record (docs/trace.md). */
static void record_line(const spring_trace_record_t *r, char *out, size_t n)
{
    char acc[4] = {(r->access & SPRING_RIGHTS_R) ? 'r' : '-', (r->access & SPRING_RIGHTS_W) ? 'w' : '-',
                   (r->access & SPRING_RIGHTS_X) ? 'x' : '-', '\0'};
    snprintf(out, n, "%llu %llu t%u %s rc=%s cache=%llu as=%llu addr=%#llx off=%#llx len=%#llx access=%s dur=%llu\n",
             (unsigned long long)r->seq, (unsigned long long)r->time_ns, r->thread,
             spring_trace_kind_name((int)r->kind), spring_err_name(r->result), (unsigned long long)r->cache,
             (unsigned long long)r->as, (unsigned long long)r->address, (unsigned long long)r->offset,
             (unsigned long long)r->length, acc, (unsigned long long)r->duration_ns);
}

/* The first record of a kind, or NULL. */
static const spring_trace_record_t *find_kind(const spring_trace_record_t *r, size_t n, int kind)
{
    for (size_t i = 0; i < n; i++)
        if ((int)r[i].kind == kind)
            return &r[i];
    return NULL;
}

/* Every kind trace.h enumerates, in one trace: each is in the dump with
 * its fields, and in the printed text as its own line with its name and
 * fields; a few fields per kind are checked against the calls that made
 * them (docs/trace.md's table). */
START_TEST(test_trace_every_kind_dumped_and_printed)
{
    fx_t f;
    fx_setup(&f, VMM_NAME, 32, 4, 0, SPRING_OWN_EXCLUSIVE, false, true);
    tp_set_slots(f.tp, TP_NO_SYNC); /* data kept goes back with write_out */
    ck_assert_rc(spring_vmm_trace_set_size(f.vmm, 256), 0);
    uint64_t asid = spring_as_trace_id(f.as);
    /* bind leads to no cache: final_bind. */
    spring_cache_rights_t forged = {0x5eed};
    tp_set_bind_rights(f.tp, forged);
    fx_map(&f, SPRING_RIGHTS_RW);
    spring_cache_obj_t c = tp_cache(f.tp);
    uint64_t cid = cache_id(&f);
    ck_assert_rc(spring_cache_zero_fill(c, 0, PS, NULL), 0);                 /* cache.zero_fill */
    ck_assert_rc(spring_as_fault(f.as, f.a + 16, SPRING_RIGHTS_W), 0);       /* fault.zero_fill, fault */
    ck_assert_rc(spring_as_fault(f.as, f.a + PS + 8, SPRING_RIGHTS_R), 0);   /* pager.page_in, fault.page_in */
    ck_assert_rc(spring_as_change_access_rights(f.as, f.a + 3 * PS, PS, SPRING_RIGHTS_RO), 0);
    ck_assert_rc(spring_as_fault(f.as, f.a + 3 * PS, SPRING_RIGHTS_W), SPRING_EACCES); /* fault.protection */
    ck_assert_rc(spring_as_fault(f.as, f.a + f.len + 8 * PS, SPRING_RIGHTS_X), SPRING_ENOTMAPPED); /* unmapped */
    ck_assert_rc(spring_as_flush(f.as, f.a, PS, true), 0);                   /* pager.write_out */
    uint8_t byte = 5;
    ck_assert_rc(spring_as_write(f.as, f.a + 2 * PS, &byte, 1), 0);
    ck_assert_rc(spring_as_flush(f.as, f.a + 2 * PS, PS, false), 0);         /* pager.page_out */
    /* Anonymous memory: zero_fill_range when allocated, sync when kept. */
    spring_off_t alen = PS;
    spring_addr_t anon = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_allocate_memory(f.as, &alen, &anon, SPRING_RIGHTS_RW), 0); /* zero_fill_range */
    ck_assert_rc(spring_as_write(f.as, anon, &byte, 1), 0);
    ck_assert_rc(spring_as_flush(f.as, anon, PS, true), 0);                  /* pager.sync */
    /* The pager's calls on its cache. */
    spring_data_t *d = NULL;
    ck_assert_rc(spring_cache_flush_back(c, 3 * PS, PS, NULL, &d), 0);
    spring_data_free(d);
    ck_assert_rc(spring_cache_deny_writes(c, 2 * PS, PS, NULL, &d), 0);
    spring_data_free(d);
    ck_assert_rc(spring_cache_write_back(c, PS, PS, NULL, &d), 0);
    spring_data_free(d);
    ck_assert_rc(spring_cache_delete_range(c, 2 * PS, 2 * PS, NULL), 0);
    spring_data_block_t blk = {3 * PS, PS, NULL};
    spring_data_t pd = {1, &blk};
    ck_assert_rc(spring_cache_populate(c, 3 * PS, PS, SPRING_RIGHTS_RO, NULL, &pd), 0);
    /* The end: done_with_cache, done_with_pager_object, cache.destroy. */
    ck_assert_rc(spring_as_unmap(f.as, f.a, f.len), 0);
    ck_assert_rc(spring_cache_destroy(c), 0);

    spring_trace_record_t r[256];
    uint64_t lost = 99;
    size_t n = read_all(f.vmm, r, NELEM(r), &lost);
    ck_assert_uint_eq(lost, 0);
    expect_well_formed(r, n);

    /* Each kind's own fields.  ANON: the anonymous memory's cache offset,
     * as its fault records it. */
    const uint64_t ANON = UINT64_MAX;
    uint64_t anon_off = ANON;
    for (size_t i = 0; i < n; i++)
        if (r[i].kind == SPRING_TRACE_FAULT_ZERO_FILL && r[i].address == anon)
            anon_off = r[i].offset;
    ck_assert_uint_ne(anon_off, ANON);
    const struct {
        int kind;
        bool cache;    /* carries this test pager's cache id (else 0 or another cache's) */
        bool as;       /* carries the address space's id (else 0) */
        int result;
        uint64_t offset, length;
        uint32_t access;
    } want[] = {
        {SPRING_TRACE_BIND, false, true, 0, 0, 4 * PS, SPRING_RIGHTS_RW},
        {SPRING_TRACE_FINAL_BIND, true, true, 0, 0, 4 * PS, SPRING_RIGHTS_RW},
        {SPRING_TRACE_PAGE_IN, true, false, 0, PS, PS, SPRING_RIGHTS_RW}, /* exclusive: a read asks for RW */
        {SPRING_TRACE_PAGE_OUT, true, false, 0, 2 * PS, PS, 0},
        {SPRING_TRACE_WRITE_OUT, true, false, 0, 0, PS, 0},
        {SPRING_TRACE_SYNC, false, false, 0, ANON, PS, 0},
        {SPRING_TRACE_ZERO_FILL_RANGE, false, false, 0, ANON, PS, 0},
        {SPRING_TRACE_DONE_WITH_CACHE, true, false, 0, 0, 0, 0},
        {SPRING_TRACE_DONE_WITH_PAGER_OBJECT, true, false, 0, 0, 0, 0},
        {SPRING_TRACE_FAULT, true, true, 0, 0, 0, SPRING_RIGHTS_W},
        {SPRING_TRACE_FAULT_ZERO_FILL, true, true, 0, 0, 0, SPRING_RIGHTS_W},
        {SPRING_TRACE_FAULT_PAGE_IN, true, true, 0, PS, 0, SPRING_RIGHTS_R},
        {SPRING_TRACE_FAULT_PROTECTION, true, true, SPRING_EACCES, 3 * PS, 0, SPRING_RIGHTS_W},
        {SPRING_TRACE_FAULT_UNMAPPED, false, true, SPRING_ENOTMAPPED, 0, 0, SPRING_RIGHTS_X},
        {SPRING_TRACE_CACHE_FLUSH_BACK, true, false, 0, 3 * PS, PS, 0},
        {SPRING_TRACE_CACHE_DENY_WRITES, true, false, 0, 2 * PS, PS, 0},
        {SPRING_TRACE_CACHE_WRITE_BACK, true, false, 0, PS, PS, 0},
        {SPRING_TRACE_CACHE_DELETE_RANGE, true, false, 0, 2 * PS, 2 * PS, 0},
        {SPRING_TRACE_CACHE_ZERO_FILL, true, false, 0, 0, PS, 0},
        {SPRING_TRACE_CACHE_POPULATE, true, false, 0, 3 * PS, PS, SPRING_RIGHTS_RO},
        {SPRING_TRACE_CACHE_DESTROY, true, false, 0, 0, 0, 0},
    };
    /* The list is every kind of the map, once. */
#define COUNT_KIND(name, value, text) +1
    ck_assert_uint_eq(NELEM(want), 0 SPRING_TRACE_KIND_MAP(COUNT_KIND));
#undef COUNT_KIND
    for (size_t k = 0; k < NELEM(want); k++) {
        const spring_trace_record_t *x = find_kind(r, n, want[k].kind);
        const char *name = spring_trace_kind_name(want[k].kind);
        if (x == NULL)
            show(r, n);
        ck_assert_msg(x != NULL, "no %s record in the trace (see the log)", name);
        ck_assert_msg(want[k].cache ? x->cache == cid : x->cache != cid, "%s: cache %llu (this cache is %llu)", name,
                      (unsigned long long)x->cache, (unsigned long long)cid);
        ck_assert_msg(x->as == (want[k].as ? asid : 0), "%s: as %llu", name, (unsigned long long)x->as);
        ck_assert_msg(x->result == want[k].result, "%s: result %s", name, spring_err_name(x->result));
        ck_assert_msg(x->offset == (want[k].offset == ANON ? anon_off : want[k].offset), "%s: offset %#llx", name,
                      (unsigned long long)x->offset);
        ck_assert_msg(x->length == want[k].length, "%s: length %#llx", name, (unsigned long long)x->length);
        ck_assert_msg(x->access == want[k].access, "%s: access %u", name, x->access);
    }
    /* The anonymous memory's records name its cache, not the pager's. */
    uint64_t anon_cid = find_kind(r, n, SPRING_TRACE_SYNC)->cache;
    ck_assert_uint_ne(anon_cid, 0);
    ck_assert_uint_eq(find_kind(r, n, SPRING_TRACE_ZERO_FILL_RANGE)->cache, anon_cid);
    ck_assert_uint_eq(find_kind(r, n, SPRING_TRACE_FAULT_ZERO_FILL)->address, f.a + 16);
    ck_assert_uint_eq(find_kind(r, n, SPRING_TRACE_FAULT_PAGE_IN)->address, f.a + PS + 8);
    ck_assert_uint_eq(find_kind(r, n, SPRING_TRACE_FAULT_PROTECTION)->address, f.a + 3 * PS);
    ck_assert_uint_eq(find_kind(r, n, SPRING_TRACE_FAULT_UNMAPPED)->address, f.a + f.len + 8 * PS);

    /* The dump: every record, every field. */
    int fd;
    char *path = temp_file(&fd);
    ck_assert_rc(spring_vmm_trace_dump(f.vmm, fd), 0);
    ck_assert_int_eq(close(fd), 0);
    size_t len;
    uint8_t *b = (uint8_t *)file_text(path, &len);
    ck_assert_uint_eq(len, 64 + n * 80);
    ck_assert_uint_eq(le64(b + 24), n);
    for (size_t i = 0; i < n; i++) {
        const uint8_t *q = b + 64 + i * 80;
        ck_assert_uint_eq(le64(q + 0), r[i].seq);
        ck_assert_uint_eq(le64(q + 8), r[i].time_ns);
        ck_assert_uint_eq(le64(q + 16), r[i].duration_ns);
        ck_assert_uint_eq(le64(q + 24), r[i].cache);
        ck_assert_uint_eq(le64(q + 32), r[i].as);
        ck_assert_uint_eq(le64(q + 40), r[i].address);
        ck_assert_uint_eq(le64(q + 48), r[i].offset);
        ck_assert_uint_eq(le64(q + 56), r[i].length);
        ck_assert_uint_eq(le32(q + 64), r[i].kind);
        ck_assert_uint_eq(le32(q + 68), (uint32_t)r[i].result);
        ck_assert_uint_eq(le32(q + 72), r[i].access);
        ck_assert_uint_eq(le32(q + 76), r[i].thread);
    }
    free(b);

    /* The text: the two comment lines, then exactly one line per record,
     * in order, each with its kind's name and its fields. */
    int rc;
    char *text = print_to_string(path, &rc);
    ck_assert_msg(rc == 0, "spring_trace_print: %s (%s)", spring_err_name(rc), spring_last_error());
    const char *at = strchr(text, '\n');
    ck_assert_ptr_nonnull(at);
    ck_assert_msg(strncmp(at + 1, "# seq ", 6) == 0, "%s", text);
    at = strchr(at + 1, '\n') + 1;
    for (size_t i = 0; i < n; i++) {
        char line[512];
        record_line(&r[i], line, sizeof line);
        ck_assert_msg(strncmp(at, line, strlen(line)) == 0, "record %zu: want\n%sin\n%s", i, line, text);
        at += strlen(line);
    }
    ck_assert_str_eq(at, "");
    /* Every kind's name is in the text. */
#define KIND_IN_TEXT(name, value, kind_text) \
    ck_assert_msg(strstr(text, " " kind_text " rc=") != NULL, "%s not printed:\n%s", kind_text, text);
    SPRING_TRACE_KIND_MAP(KIND_IN_TEXT)
#undef KIND_IN_TEXT
    free(text);
    unlink(path);
    free(path);
    fx_fini(&f);
}
END_TEST

/* Files that are not dumps, are corrupt, truncated or newer are refused
 * with the documented codes, and nothing is printed. */
START_TEST(test_trace_bad_files)
{
    spring_as_t *as;
    spring_vmm_t *vmm = vmm_with_faults(8, 3, &as);
    int fd;
    char *path = temp_file(&fd);
    ck_assert_rc(spring_vmm_trace_dump(vmm, fd), 0);
    close(fd);
    size_t len;
    uint8_t *good = (uint8_t *)file_text(path, &len);
    ck_assert_uint_eq(len, 64 + 3 * 80);
    uint8_t *b = malloc(len + 80);
    ck_assert_ptr_nonnull(b);

    static const struct {
        const char *what;
        size_t off;   /* a 32-bit field to change (0: none) */
        uint32_t val;
        size_t len;   /* bytes of the file kept (0: all), or added when extra */
        bool extra;
        int rc;
    } cases[] = {
        {"magic", 2, 0x41414141, 0, false, SPRING_EINVAL},
        {"version 0", 8, 0, 0, false, SPRING_EINVAL},
        {"newer version", 8, SPRING_TRACE_FORMAT_VERSION + 1, 0, false, SPRING_EVERSION},
        {"header size", 12, 72, 0, false, SPRING_EINVAL},
        {"record size", 16, 96, 0, false, SPRING_EINVAL},
        {"more records than the ring", 40, 2, 0, false, SPRING_EINVAL},
        {"kind 0", 64 + 80 + 64, 0, 0, false, SPRING_EINVAL},
        {"unknown kind", 64 + 2 * 80 + 64, 999, 0, false, SPRING_EINVAL},
        {"bytes after the last record", 0, 0, 7, true, SPRING_EINVAL},
        {"empty", 0, 0, 0, true, SPRING_EINVAL},
        {"half the magic", 0, 0, 4, false, SPRING_EINVAL},
        {"half the header", 0, 0, 40, false, SPRING_EIO},
        {"a record short", 0, 0, 64 + 2 * 80, false, SPRING_EIO},
        {"a byte short", 0, 0, 64 + 3 * 80 - 1, false, SPRING_EIO},
    };
    for (size_t i = 0; i < NELEM(cases); i++) {
        size_t n = len;
        memcpy(b, good, len);
        if (cases[i].extra && cases[i].len) {
            memset(b + len, 0, cases[i].len);
            n = len + cases[i].len;
        } else if (cases[i].extra) {
            n = 0;
        } else if (cases[i].len) {
            n = cases[i].len;
        }
        if (cases[i].off)
            set_le32(b + cases[i].off, cases[i].val);
        write_file(path, b, n);
        int rc;
        char *text = print_to_string(path, &rc);
        ck_assert_msg(rc == cases[i].rc, "%s: %s, want %s (%s)", cases[i].what, spring_err_name(rc),
                      spring_err_name(cases[i].rc), spring_last_error());
        ck_assert_msg(text == NULL || text[0] == '\0', "%s: printed %s", cases[i].what, text);
        ck_assert_str_ne(spring_last_error(), "");
        free(text);
    }
    /* The good file still prints. */
    write_file(path, good, len);
    int rc;
    char *text = print_to_string(path, &rc);
    ck_assert_rc(rc, 0);
    free(text);
    /* A file that does not exist. */
    unlink(path);
    text = print_to_string(path, &rc);
    ck_assert_rc(rc, SPRING_EIO);
    ck_assert_ptr_nonnull(strstr(spring_last_error(), path));
    free(text);
    free(b);
    free(good);
    free(path);
    vmm_with_faults_free(vmm, as);
}
END_TEST

/* A dump to a descriptor that cannot be written fails with SPRING_EIO. */
START_TEST(test_trace_dump_write_fails)
{
    spring_as_t *as;
    spring_vmm_t *vmm = vmm_with_faults(8, 3, &as);
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    close(p[0]);
    /* The read end is closed: the write fails with EPIPE (SIGPIPE ignored). */
    void (*old)(int) = signal(SIGPIPE, SIG_IGN);
    ck_assert_rc(spring_vmm_trace_dump(vmm, p[1]), SPRING_EIO);
    signal(SIGPIPE, old);
    close(p[1]);
    int fd = open("/dev/null", O_RDONLY);
    ck_assert_int_ge(fd, 0);
    ck_assert_rc(spring_vmm_trace_dump(vmm, fd), SPRING_EIO);
    close(fd);
    vmm_with_faults_free(vmm, as);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Concurrency.                                                         */

#define NTHREADS 4
#define NPAGES 32
#define ROUNDS 40

struct worker {
    fx_t *f;
    int id;
    int rc;
};

/* Fault every page of the mapping, writing some, for ROUNDS rounds; the
 * pool is small, so pages are paged out and in. */
static void *worker(void *arg)
{
    struct worker *w = arg;
    fx_t *f = w->f;
    for (int round = 0; round < ROUNDS && w->rc == 0; round++)
        for (int i = 0; i < NPAGES && w->rc == 0; i++) {
            int page = (i * 7 + w->id * 5 + round) % NPAGES;
            spring_rights_t a = (page + round) % 3 == 0 ? SPRING_RIGHTS_W : SPRING_RIGHTS_R;
            w->rc = spring_as_fault(f->as, f->a + (spring_addr_t)page * PS, a);
        }
    return NULL;
}

/* Another thread reads and resizes the ring meanwhile. */
struct reader {
    fx_t *f;
    atomic_bool stop;
    unsigned reads;
};

static void *reader(void *arg)
{
    struct reader *rd = arg;
    static spring_trace_record_t r[256];
    while (!atomic_load(&rd->stop)) {
        size_t n;
        if (spring_vmm_trace_read(rd->f->vmm, r, NELEM(r), &n, NULL) != 0)
            break;
        for (size_t i = 1; i < n; i++)
            if (r[i].seq != r[i - 1].seq + 1 || r[i].time_ns < r[i - 1].time_ns)
                return (void *)1;
        rd->reads++;
        if (rd->reads % 16 == 0)
            (void)spring_vmm_trace_set_size(rd->f->vmm, rd->reads % 32 == 0 ? 4096 : 1024);
    }
    return NULL;
}

/* Many threads fault with tracing on; a reader reads and resizes.  Each
 * thread's records are its own faults; with a ring large enough nothing
 * is lost, and the fault records agree with the statistics. */
START_TEST(test_trace_concurrent)
{
    fx_t f;
    fx_setup(&f, VMM_NAME, 16, NPAGES, 0, SPRING_OWN_EXCLUSIVE, false, true);
    fx_map(&f, SPRING_RIGHTS_RW);
    ck_assert_rc(spring_vmm_trace_set_size(f.vmm, 1024), 0);
    struct worker w[NTHREADS];
    pthread_t th[NTHREADS], rt;
    struct reader rd = {.f = &f};
    atomic_init(&rd.stop, false);
    ck_assert_int_eq(pthread_create(&rt, NULL, reader, &rd), 0);
    for (int i = 0; i < NTHREADS; i++) {
        w[i] = (struct worker){.f = &f, .id = i};
        ck_assert_int_eq(pthread_create(&th[i], NULL, worker, &w[i]), 0);
    }
    for (int i = 0; i < NTHREADS; i++) {
        pthread_join(th[i], NULL);
        ck_assert_rc(w[i].rc, 0);
    }
    atomic_store(&rd.stop, true);
    void *bad;
    pthread_join(rt, &bad);
    ck_assert_ptr_null(bad);

    /* Again, in a ring that holds everything: the records agree with the
     * statistics. */
    const size_t cap = (size_t)NTHREADS * ROUNDS * NPAGES * 8;
    ck_assert_rc(spring_vmm_trace_set_size(f.vmm, cap), 0);
    ck_assert_rc(spring_vmm_trace_clear(f.vmm), 0);
    spring_as_statistics_t before = test_as_stats(f.as);
    for (int i = 0; i < NTHREADS; i++) {
        w[i] = (struct worker){.f = &f, .id = i};
        ck_assert_int_eq(pthread_create(&th[i], NULL, worker, &w[i]), 0);
    }
    for (int i = 0; i < NTHREADS; i++) {
        pthread_join(th[i], NULL);
        ck_assert_rc(w[i].rc, 0);
    }
    spring_as_statistics_t after = test_as_stats(f.as);
    spring_trace_record_t *r = malloc(cap * sizeof *r);
    ck_assert_ptr_nonnull(r);
    uint64_t lost;
    size_t n = read_all(f.vmm, r, cap, &lost);
    ck_assert_uint_eq(lost, 0);
    ck_assert_uint_lt(n, cap);
    expect_well_formed(r, n);
    uint64_t faults = 0, zero = 0, pin = 0, pageins = 0;
    uint32_t threads[NTHREADS + 1] = {0};
    size_t nthreads = 0;
    for (size_t i = 0; i < n; i++) {
        faults += r[i].kind == SPRING_TRACE_FAULT && r[i].result == 0;
        zero += r[i].kind == SPRING_TRACE_FAULT_ZERO_FILL;
        pin += r[i].kind == SPRING_TRACE_FAULT_PAGE_IN;
        pageins += r[i].kind == SPRING_TRACE_PAGE_IN;
        if (r[i].kind == SPRING_TRACE_FAULT) {
            size_t k;
            for (k = 0; k < nthreads && threads[k] != r[i].thread; k++)
                ;
            if (k == nthreads && nthreads < NELEM(threads))
                threads[nthreads++] = r[i].thread;
        }
    }
    ck_assert_uint_eq(faults, after.faults - before.faults);
    ck_assert_uint_eq(faults, (uint64_t)NTHREADS * ROUNDS * NPAGES);
    ck_assert_uint_eq(zero, after.zero_fills - before.zero_fills);
    ck_assert_uint_eq(pin, after.page_ins - before.page_ins);
    ck_assert_uint_ge(pageins, pin);
    ck_assert_uint_gt(pin, 0); /* the pool is smaller than the mapping */
    ck_assert_uint_eq(nthreads, NTHREADS);
    free(r);
    fx_fini(&f);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Illegal uses.                                                        */

START_TEST(test_trace_illegal)
{
    spring_as_t *as;
    spring_vmm_t *vmm = vmm_with_faults(8, 2, &as);
    spring_trace_record_t r[4];
    size_t n = 77;
    uint64_t lost = 77, id = 77;

    ck_assert_rc(spring_vmm_trace_set_size(NULL, 8), SPRING_EINVAL);
    ck_assert_rc(spring_vmm_trace_set_size(vmm, SPRING_TRACE_MAX_RECORDS + 1), SPRING_EINVAL);
    ck_assert_rc(spring_vmm_trace_set_size(vmm, (size_t)-1), SPRING_EINVAL);
    ck_assert_uint_eq(spring_vmm_trace_size(vmm), 8); /* unchanged */
    ck_assert_uint_eq(spring_vmm_trace_size(NULL), 0);

    ck_assert_rc(spring_vmm_trace_read(NULL, r, 4, &n, &lost), SPRING_EINVAL);
    ck_assert_rc(spring_vmm_trace_read(vmm, NULL, 4, &n, &lost), SPRING_EINVAL);
    ck_assert_rc(spring_vmm_trace_read(vmm, r, 0, &n, &lost), SPRING_EINVAL);
    ck_assert_rc(spring_vmm_trace_read(vmm, r, 4, NULL, &lost), SPRING_EINVAL);
    ck_assert_uint_eq(n, 77);
    ck_assert_uint_eq(lost, 77);
    ck_assert_rc(spring_vmm_trace_read(vmm, r, 4, &n, NULL), 0); /* lost is optional */
    ck_assert_uint_eq(n, 2);

    ck_assert_rc(spring_vmm_trace_clear(NULL), SPRING_EINVAL);
    ck_assert_rc(spring_vmm_trace_dump(NULL, 1), SPRING_EINVAL);
    ck_assert_rc(spring_vmm_trace_dump(vmm, -1), SPRING_EINVAL);
    ck_assert_rc(spring_trace_print(NULL, stdout), SPRING_EINVAL);
    ck_assert_rc(spring_trace_print("/nonexistent", NULL), SPRING_EINVAL);

    ck_assert_uint_eq(spring_as_trace_id(NULL), 0);
    spring_cache_obj_t bad = {0x12345};
    ck_assert_rc(spring_cache_trace_id(bad, &id), SPRING_EBADHANDLE);
    ck_assert_rc(spring_cache_trace_id(bad, NULL), SPRING_EINVAL);
    ck_assert_uint_eq(id, 77);

    ck_assert_str_eq(spring_trace_kind_name(0), "unknown");
    ck_assert_str_eq(spring_trace_kind_name(-1), "unknown");
    ck_assert_str_eq(spring_trace_kind_name(SPRING_TRACE_CACHE_DESTROY + 1), "unknown");
    ck_assert_str_eq(spring_trace_kind_name(SPRING_TRACE_PAGE_IN), "pager.page_in");
    ck_assert_str_eq(spring_trace_kind_name(SPRING_TRACE_BIND), "mobj.bind");
    ck_assert_str_eq(spring_trace_kind_name(SPRING_TRACE_FAULT), "fault");
    ck_assert_str_eq(spring_trace_kind_name(SPRING_TRACE_CACHE_DESTROY), "cache.destroy");
    /* Every kind has a distinct name. */
    for (int k = SPRING_TRACE_BIND; k <= SPRING_TRACE_CACHE_DESTROY; k++) {
        ck_assert_str_ne(spring_trace_kind_name(k), "unknown");
        for (int j = k + 1; j <= SPRING_TRACE_CACHE_DESTROY; j++)
            ck_assert_str_ne(spring_trace_kind_name(k), spring_trace_kind_name(j));
    }
    ck_assert_str_eq(spring_err_name(SPRING_EIO), "SPRING_EIO");
    ck_assert_int_eq(SPRING_EIO, -26);

    /* A configuration asking for too large a ring. */
    spring_vmm_config_t cfg;
    spring_vmm_config_init(&cfg);
    cfg.trace_records = SPRING_TRACE_MAX_RECORDS + 1;
    spring_vmm_t *v2 = NULL;
    ck_assert_rc(spring_vmm_new(&cfg, &v2), SPRING_EINVAL);
    ck_assert_ptr_null(v2);
    vmm_with_faults_free(vmm, as);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("trace");
    TCase *t = tcase_create("records");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, test_trace_sequence);
    tcase_add_test(t, test_trace_other_kinds);
    tcase_add_test(t, test_trace_final_bind);
    tcase_add_test(t, test_trace_off_by_default);
    tcase_add_test(t, test_trace_overflow);
    tcase_add_test(t, test_trace_dump_and_print);
    tcase_add_test(t, test_trace_every_kind_dumped_and_printed);
    tcase_add_test(t, test_trace_bad_files);
    tcase_add_test(t, test_trace_dump_write_fails);
    tcase_add_test(t, test_trace_concurrent);
    tcase_add_test(t, test_trace_illegal);
    suite_add_tcase(s, t);
    return s;
}
