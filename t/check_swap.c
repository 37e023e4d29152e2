/*
 * check_swap.c - the swap plugin (plugins/swap): anonymous memory larger
 * than the frame pool goes to slots of swap files and comes back intact;
 * slots are freed and reused as memory comes and goes; a full swap makes
 * accesses fail with SPRING_ENOFRAMES and never loses a page; a swap pager
 * serving one address space; two swap files; bad options; a file system
 * that refuses a write for lack of space; parts of pages written through
 * the store interface; pages that are zero but for one byte.  Stacks are
 * built from JSON (stack.h); statistics come from the objects'
 * spring.swap interface (swap.h).  Only the public headers are used.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testlib.h"
#include "testmain.h"

#define PS 4096

/* A path for a swap file of this test process. */
static const char *tmp_path(char *buf, size_t n, const char *tag)
{
    snprintf(buf, n, "/tmp/springvm-check-swap-%ld-%s", (long)getpid(), tag);
    return buf;
}

static spring_stack_t *open_stack(const char *json)
{
    unsetenv("SPRING_PLUGIN_PATH");
    spring_stack_t *s = NULL;
    int rc = spring_stack_open_string(json, "swap.json", &s);
    ck_assert_msg(rc == 0, "%s: %s\n%s", spring_err_name(rc), spring_stack_error(), json);
    return s;
}

/* The byte at offset i of page p of pattern seed. */
static unsigned char pat(unsigned seed, size_t p, size_t i)
{
    return (unsigned char)(seed * 131 + p * 7 + i * 13 + (p >> 8) + 1) | 1; /* never zero */
}

static void fill(unsigned char *buf, unsigned seed, size_t p)
{
    for (size_t i = 0; i < PS; i++)
        buf[i] = pat(seed, p, i);
}

static int write_page(spring_as_t *as, spring_addr_t base, unsigned seed, size_t p)
{
    unsigned char buf[PS];
    fill(buf, seed, p);
    return spring_as_write(as, base + (spring_addr_t)(p * PS), buf, PS);
}

/* Read page p and compare; returns the read's code (a wrong byte fails
 * the test). */
static int check_page(spring_as_t *as, spring_addr_t base, unsigned seed, size_t p)
{
    unsigned char buf[PS], want[PS];
    int rc = spring_as_read(as, base + (spring_addr_t)(p * PS), buf, PS);
    if (rc != 0)
        return rc;
    fill(want, seed, p);
    for (size_t i = 0; i < PS; i++)
        ck_assert_msg(buf[i] == want[i], "page %zu byte %zu: %#x, want %#x", p, i, buf[i], want[i]);
    return 0;
}

/* The swap statistics of the object mapped at addr. */
static spring_swap_stats_t swap_stats_at(spring_as_t *as, spring_addr_t addr)
{
    spring_mapping_t m;
    size_t n = 0;
    bool more;
    ck_assert_rc(spring_as_get_mappings(as, addr, PS, &m, 1, &n, &more), 0);
    ck_assert_uint_eq(n, 1);
    const spring_swap_iface_t *sw = spring_mobj_query(m.mobj, SPRING_SWAP_INTERFACE, SPRING_SWAP_INTERFACE_VERSION);
    ck_assert_msg(sw != NULL, "the anonymous object does not answer " SPRING_SWAP_INTERFACE);
    ck_assert_ptr_null(spring_mobj_query(m.mobj, SPRING_SWAP_INTERFACE, SPRING_SWAP_INTERFACE_VERSION + 1));
    spring_swap_stats_t st;
    ck_assert_rc(sw->stats(m.mobj, &st), 0);
    ck_assert_rc(sw->stats(NULL, &st), SPRING_EINVAL);
    spring_mappings_release(&m, 1);
    ck_assert_uint_eq(st.slots_used + st.slots_free, st.slots_total);
    ck_assert_uint_eq(st.page_size, PS);
    return st;
}

/* A stack of one swap file (tag names it) of swap bytes, with the further
 * swap options extra (", ..." or ""), a pool of pool bytes, and one
 * address space "a" with one anonymous mapping "heap" of heap bytes: its
 * address space and where the mapping is. */
static spring_stack_t *swap_stack_opts(const char *tag, const char *pool, const char *swap, const char *heap,
                                       const char *extra, char *f, size_t fn, spring_as_t **as, spring_addr_t *at,
                                       spring_off_t *len)
{
    char json[2048];
    tmp_path(f, fn, tag);
    snprintf(json, sizeof json,
             "{\"vmm\": {\"name\": \"sw-%s\", \"pool\": \"%s\", \"mode\": \"deterministic\", \"default_swap\": false},\n"
             " \"swap\": [{\"name\": \"s0\", \"plugin\": \"swap\", \"options\": {\"files\": \"%s\", \"size\": \"%s\"%s}}],\n"
             " \"address_spaces\": [{\"name\": \"a\", \"mappings\": [{\"name\": \"heap\", \"anonymous\": \"%s\"}]}]}",
             tag, pool, f, swap, extra, heap);
    spring_stack_t *s = open_stack(json);
    ck_assert_rc(spring_stack_get_as(s, "a", as), 0);
    ck_assert_rc(spring_stack_mapping(s, "a", "heap", at, len), 0);
    return s;
}

static spring_stack_t *swap_stack(const char *tag, const char *pool, const char *swap, const char *heap,
                                  char *f, size_t fn, spring_as_t **as, spring_addr_t *at, spring_off_t *len)
{
    return swap_stack_opts(tag, pool, swap, heap, "", f, fn, as, at, len);
}

static bool exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

/* (1) Anonymous memory twice the pool: every page goes out and comes back. */
START_TEST(test_swap_pages_out_and_in)
{
    char f[256];
    spring_as_t *as;
    spring_addr_t a;
    spring_off_t len;
    spring_stack_t *s = swap_stack("one", "256KiB", "1MiB", "512KiB", f, sizeof f, &as, &a, &len);
    ck_assert(exists(f));
    size_t np = (size_t)len / PS;
    ck_assert_uint_eq(np, 128);
    spring_swap_stats_t st = swap_stats_at(as, a);
    ck_assert_uint_eq(st.slots_total, 256);
    ck_assert_uint_eq(st.slots_used, 0);
    ck_assert_uint_eq(st.files, 1);
    for (size_t p = 0; p < np; p++)
        ck_assert_rc(write_page(as, a, 1, p), 0);
    for (size_t p = 0; p < np; p++)
        ck_assert_rc(check_page(as, a, 1, p), 0);
    st = swap_stats_at(as, a);
    /* 128 pages through 64 frames: at least 64 went to swap. */
    ck_assert_msg(st.slots_used >= np - 64, "slots used %llu", (unsigned long long)st.slots_used);
    ck_assert_uint_eq(st.writes_refused_full, 0);
    /* Pages written all zero give their slots back. */
    unsigned char zero[PS] = {0};
    for (size_t p = 0; p < np; p++)
        ck_assert_rc(spring_as_write(as, a + (spring_addr_t)(p * PS), zero, PS), 0);
    for (size_t p = 0; p < np; p++) { /* push everything through the swap again */
        unsigned char buf[PS];
        ck_assert_rc(spring_as_read(as, a + (spring_addr_t)(p * PS), buf, PS), 0);
        ck_assert_msg(buf[0] == 0 && memcmp(buf, buf + 1, PS - 1) == 0, "page %zu not zero", p);
    }
    ck_assert_rc(spring_as_flush(as, a, len, false), 0);
    st = swap_stats_at(as, a);
    ck_assert_msg(st.slots_used == 0, "all-zero pages still hold %llu slots", (unsigned long long)st.slots_used);
    ck_assert_rc(spring_stack_put_as(s, as), 0);
    ck_assert_rc(spring_stack_close(s), 0);
    ck_assert_msg(!exists(f), "%s left behind", f); /* remove defaults to true */
}
END_TEST

/* (2) Ten times the swap's size through it over time: slots are freed
 * when memory goes and reused. */
START_TEST(test_swap_churn)
{
    char f[256];
    spring_as_t *as;
    spring_addr_t probe;
    spring_off_t plen;
    spring_stack_t *s = swap_stack("churn", "128KiB", "256KiB", "4KiB", f, sizeof f, &as, &probe, &plen);
    const size_t np = 48; /* 192KiB: more than the pool (32 frames), less than pool + swap (32 + 64) */
    uint64_t through = 0, total = 0;
    for (unsigned round = 0; round < 14; round++) {
        spring_off_t len = (spring_off_t)(np * PS);
        spring_addr_t a = SPRING_ANYWHERE;
        spring_mobj_t *m;
        ck_assert_rc(spring_as_allocate_memory_and_mobj(as, &len, &a, SPRING_RIGHTS_RW, &m), 0);
        for (size_t p = 0; p < np; p++)
            ck_assert_rc(write_page(as, a, round, p), 0);
        for (size_t p = 0; p < np; p++)
            ck_assert_rc(check_page(as, a, round, p), 0);
        spring_swap_stats_t st = swap_stats_at(as, a);
        total = st.slots_total;
        ck_assert_msg(st.slots_used >= np - 32, "round %u: %llu slots used", round,
                      (unsigned long long)st.slots_used);
        ck_assert_uint_eq(st.objects, 2);
        through += st.slots_used;
        ck_assert_rc(spring_as_unmap(as, a, len), 0);
        spring_mobj_unref(m);
        st = swap_stats_at(as, probe);
        ck_assert_msg(st.slots_used == 0, "round %u: %llu slots still used after the unmap", round,
                      (unsigned long long)st.slots_used);
        ck_assert_uint_eq(st.objects, 1);
    }
    ck_assert_uint_eq(total, 64);
    /* Bytes through the swap: far more than it holds, so slots were reused. */
    ck_assert_msg(through * PS >= 4 * total * PS, "only %llu slots' worth went through", (unsigned long long)through);
    spring_swap_stats_t st = swap_stats_at(as, probe);
    ck_assert_uint_eq(st.slots_used, 0);
    ck_assert_uint_eq(st.slots_free, 64);
    ck_assert_uint_eq(st.writes_refused_full, 0);
    ck_assert_rc(spring_stack_put_as(s, as), 0);
    ck_assert_rc(spring_stack_close(s), 0);
}
END_TEST

/* (1b) Unmapping part of the address space's anonymous memory (the
 * default anonymous object, one object for the whole space) gives back the
 * slots of the pages unmapped; the pages left keep their data, and memory
 * allocated again where the unmapped part was reads zero. */
START_TEST(test_swap_partial_unmap)
{
    char f[256];
    spring_as_t *as;
    spring_addr_t a;
    spring_off_t len;
    spring_stack_t *s = swap_stack("partial", "128KiB", "256KiB", "192KiB", f, sizeof f, &as, &a, &len);
    const size_t np = 48, cut = 40; /* 48 pages in a pool of 32 frames */
    for (size_t p = 0; p < np; p++)
        ck_assert_rc(write_page(as, a, 5, p), 0);
    for (size_t p = 0; p < np; p++)
        ck_assert_rc(check_page(as, a, 5, p), 0);
    spring_swap_stats_t st = swap_stats_at(as, a + (spring_addr_t)((np - 1) * PS));
    ck_assert_msg(st.slots_used >= np - 32, "%llu slots used", (unsigned long long)st.slots_used);
    ck_assert_rc(spring_as_unmap(as, a, (spring_off_t)(cut * PS)), 0);
    st = swap_stats_at(as, a + (spring_addr_t)((np - 1) * PS));
    ck_assert_msg(st.slots_used <= np - cut, "%llu slots still used for the %zu pages left",
                  (unsigned long long)st.slots_used, np - cut);
    for (size_t p = cut; p < np; p++)
        ck_assert_rc(check_page(as, a, 5, p), 0);
    spring_addr_t b = a;
    spring_off_t blen = (spring_off_t)(cut * PS);
    ck_assert_rc(spring_as_allocate_memory(as, &blen, &b, SPRING_RIGHTS_RW), 0);
    ck_assert_uint_eq(b, a);
    unsigned char buf[PS];
    for (size_t p = 0; p < cut; p++) {
        ck_assert_rc(spring_as_read(as, a + (spring_addr_t)(p * PS), buf, PS), 0);
        for (size_t i = 0; i < PS; i++)
            ck_assert_msg(buf[i] == 0, "page %zu byte %zu: %#x after a new allocation", p, i, buf[i]);
    }
    ck_assert_rc(spring_stack_put_as(s, as), 0);
    ck_assert_rc(spring_stack_close(s), 0);
}
END_TEST

/* (3b) A stack whose swap is full and whose memory is all modified
 * anonymous pages closes: anonymous memory dies with the stack, it is not
 * written back first (stack.h). */
START_TEST(test_swap_full_close)
{
    char f[256];
    spring_as_t *as;
    spring_addr_t a;
    spring_off_t len;
    spring_stack_t *s = swap_stack("fullclose", "64KiB", "64KiB", "256KiB", f, sizeof f, &as, &a, &len);
    size_t p = 0;
    int rc = 0;
    for (; p < (size_t)len / PS && (rc = write_page(as, a, 9, p)) == 0; p++)
        ;
    ck_assert_msg(rc == SPRING_ENOFRAMES, "page %zu: %s", p, spring_err_name(rc));
    ck_assert_uint_ge(p, 16 + 16 - 2); /* the pool and the swap are full */
    spring_swap_stats_t st = swap_stats_at(as, a);
    ck_assert_uint_eq(st.slots_free, 0);
    ck_assert_rc(spring_stack_put_as(s, as), 0);
    ck_assert_rc(spring_stack_close(s), 0);
}
END_TEST

/* (3) A full swap: writes fail with SPRING_ENOFRAMES, a page is never lost
 * or read as zero, and once memory is unmapped writes succeed again. */
START_TEST(test_swap_full)
{
    char f[256];
    spring_as_t *as;
    spring_vmm_t *vmm;
    spring_addr_t a, b;
    spring_off_t alen, blen;
    spring_stack_t *s = swap_stack("full", "64KiB", "64KiB", "256KiB", f, sizeof f, &as, &a, &alen);
    ck_assert_rc(spring_stack_get_vmm(s, &vmm), 0);
    /* b is an object of its own (the stack's mappings share the address
     * space's default anonymous object): unmapping it releases it. */
    spring_mobj_t *bm;
    blen = 8 * PS;
    b = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_allocate_memory_and_mobj(as, &blen, &b, SPRING_RIGHTS_RW, &bm), 0);
    size_t nb = (size_t)blen / PS, na = (size_t)alen / PS; /* 8 and 64; pool 16 frames, swap 16 slots */
    for (size_t p = 0; p < nb; p++)
        ck_assert_rc(write_page(as, b, 7, p), 0);
    size_t ok = 0;
    int rc = 0;
    for (; ok < na; ok++)
        if ((rc = write_page(as, a, 3, ok)) != 0)
            break;
    ck_assert_msg(rc == SPRING_ENOFRAMES, "writing page %zu: %s, want SPRING_ENOFRAMES", ok, spring_err_name(rc));
    ck_assert_msg(ok + nb >= 16 && ok + nb <= 32, "%zu pages written before the swap was full", ok + nb);
    spring_vm_info_t vi = test_vm_info(vmm);
    ck_assert_msg(vi.pageouts_nospace > 0, "pageouts_nospace 0");
    spring_pager_stats_t ps = {.size = sizeof ps};
    ck_assert_rc(spring_as_pager_stats(as, a, &ps), 0);
    spring_pager_stats_t psb = {.size = sizeof psb};
    ck_assert_rc(spring_as_pager_stats(as, b, &psb), 0);
    ck_assert_msg(ps.nospace + psb.nospace > 0, "no page_out was refused for lack of room");
    ck_assert_uint_eq(ps.failures, 0);
    ck_assert_uint_eq(psb.failures, 0);
    spring_swap_stats_t st = swap_stats_at(as, a);
    ck_assert_uint_eq(st.slots_total, 16);
    ck_assert_uint_eq(st.slots_used, 16);
    ck_assert_uint_eq(st.slots_free, 0);
    ck_assert_msg(st.writes_refused_full > 0, "no write refused");
    /* While it is full a read may find no frame, but never wrong data. */
    for (size_t p = 0; p < ok; p++) {
        int r = check_page(as, a, 3, p);
        ck_assert_msg(r == 0 || r == SPRING_ENOFRAMES, "page %zu: %s", p, spring_err_name(r));
    }
    for (size_t p = 0; p < nb; p++) {
        int r = check_page(as, b, 7, p);
        ck_assert_msg(r == 0 || r == SPRING_ENOFRAMES, "b page %zu: %s", p, spring_err_name(r));
    }
    /* Unmapping b frees its slots and frames: everything written reads
     * back, and the write that failed succeeds. */
    ck_assert_rc(spring_as_unmap(as, b, blen), 0);
    spring_mobj_unref(bm);
    spring_swap_stats_t after = swap_stats_at(as, a);
    vi = test_vm_info(vmm);
    ck_assert_msg(after.slots_used < st.slots_used || vi.free_frames > 0, "unmapping b freed nothing");
    ck_assert_uint_eq(after.objects, 1);
    for (size_t p = 0; p < ok; p++)
        ck_assert_rc(check_page(as, a, 3, p), 0);
    ck_assert_rc(write_page(as, a, 3, ok), 0);
    ck_assert_rc(check_page(as, a, 3, ok), 0);
    ck_assert_rc(spring_as_pager_stats(as, a, &ps), 0);
    ck_assert_uint_eq(ps.failures, 0);
    ck_assert_rc(spring_as_unmap(as, a, alen), 0);
    ck_assert_rc(spring_stack_put_as(s, as), 0);
    ck_assert_rc(spring_stack_put_vmm(s, vmm), 0);
    ck_assert_rc(spring_stack_close(s), 0);
}
END_TEST

/* (4) A swap pager that serves one address space only. */
START_TEST(test_swap_per_address_space)
{
    char f[256], json[2048];
    tmp_path(f, sizeof f, "as");
    snprintf(json, sizeof json,
             "{\"vmm\": {\"name\": \"sw4\", \"pool\": \"128KiB\", \"mode\": \"deterministic\", \"default_swap\": false},\n"
             " \"swap\": [{\"name\": \"s0\", \"plugin\": \"swap\", \"options\": {\"files\": \"%s\", \"size\": \"1MiB\"}}],\n"
             " \"address_spaces\": [{\"name\": \"a\", \"swap\": \"s0\",\n"
             "                       \"mappings\": [{\"name\": \"heap\", \"anonymous\": \"256KiB\"}]},\n"
             "                      {\"name\": \"b\"}]}",
             f);
    spring_stack_t *s = open_stack(json);
    spring_as_t *as, *bs;
    spring_addr_t a;
    spring_off_t len;
    ck_assert_rc(spring_stack_get_as(s, "a", &as), 0);
    ck_assert_rc(spring_stack_get_as(s, "b", &bs), 0);
    ck_assert_rc(spring_stack_mapping(s, "a", "heap", &a, &len), 0);
    size_t np = (size_t)len / PS;
    for (size_t p = 0; p < np; p++)
        ck_assert_rc(write_page(as, a, 4, p), 0);
    for (size_t p = 0; p < np; p++)
        ck_assert_rc(check_page(as, a, 4, p), 0);
    spring_swap_stats_t st = swap_stats_at(as, a);
    ck_assert_msg(st.slots_used >= np - 32, "%llu slots used", (unsigned long long)st.slots_used);
    /* More anonymous memory in a comes from s0 too ... */
    spring_off_t l2 = PS;
    spring_addr_t a2 = SPRING_ANYWHERE;
    spring_mobj_t *m2;
    ck_assert_rc(spring_as_allocate_memory_and_mobj(as, &l2, &a2, SPRING_RIGHTS_RW, &m2), 0);
    ck_assert_uint_eq(swap_stats_at(as, a2).objects, 2);
    spring_mobj_unref(m2);
    /* ... while b, with no swap pager of its own and none in the VMM, has none. */
    spring_off_t l3 = PS;
    spring_addr_t a3 = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_allocate_memory(bs, &l3, &a3, SPRING_RIGHTS_RW), SPRING_ENOSWAP);
    ck_assert_rc(spring_stack_put_as(s, as), 0);
    ck_assert_rc(spring_stack_put_as(s, bs), 0);
    ck_assert_rc(spring_stack_close(s), 0);
    ck_assert(!exists(f));
}
END_TEST

/* (5) Two swap files: both are used, and with remove=false both stay. */
START_TEST(test_swap_two_files)
{
    char f0[256], f1[256], json[2048];
    tmp_path(f0, sizeof f0, "two.0");
    tmp_path(f1, sizeof f1, "two.1");
    snprintf(json, sizeof json,
             "{\"vmm\": {\"name\": \"sw5\", \"pool\": \"64KiB\", \"mode\": \"deterministic\", \"default_swap\": false},\n"
             " \"swap\": [{\"name\": \"s0\", \"plugin\": \"swap\",\n"
             "            \"options\": {\"files\": \"%s, %s\", \"size\": \"64KiB\", \"remove\": false}}],\n"
             " \"address_spaces\": [{\"name\": \"a\", \"mappings\": [{\"name\": \"heap\", \"anonymous\": \"160KiB\"}]}]}",
             f0, f1);
    spring_stack_t *s = open_stack(json);
    spring_as_t *as;
    spring_addr_t a;
    spring_off_t len;
    ck_assert_rc(spring_stack_get_as(s, "a", &as), 0);
    ck_assert_rc(spring_stack_mapping(s, "a", "heap", &a, &len), 0);
    size_t np = (size_t)len / PS; /* 40 pages: 16 frames, 32 slots in two files */
    for (size_t p = 0; p < np; p++)
        ck_assert_rc(write_page(as, a, 5, p), 0);
    for (size_t p = 0; p < np; p++)
        ck_assert_rc(check_page(as, a, 5, p), 0);
    spring_swap_stats_t st = swap_stats_at(as, a);
    ck_assert_uint_eq(st.files, 2);
    ck_assert_uint_eq(st.slots_total, 32);
    ck_assert_msg(st.slots_used > 16, "%llu slots used: one file would have done", (unsigned long long)st.slots_used);
    struct stat sb;
    ck_assert_int_eq(stat(f0, &sb), 0);
    ck_assert_int_eq(sb.st_size, 65536);
    ck_assert_int_eq(stat(f1, &sb), 0);
    ck_assert_int_eq(sb.st_size, 65536);
    ck_assert_rc(spring_as_unmap(as, a, len), 0);
    ck_assert_rc(spring_stack_put_as(s, as), 0);
    ck_assert_rc(spring_stack_close(s), 0);
    ck_assert(exists(f0) && exists(f1)); /* remove: false */
    unlink(f0);
    unlink(f1);
}
END_TEST

/* (6) Bad options: a clear message through the stack's error. */
START_TEST(test_swap_bad_options)
{
    char f[256];
    tmp_path(f, sizeof f, "bad");
    static const char *fmt =
        "{\"vmm\": {\"name\": \"sw6\", \"pool\": \"64KiB\", \"default_swap\": false},\n"
        " \"swap\": [{\"name\": \"s0\", \"plugin\": \"swap\", \"options\": {%s}}]}";
    struct {
        const char *opts;
        int rc;
        const char *says[3];
    } bad[] = {
        {"\"size\": \"1MiB\"", SPRING_ECONFIG, {"swap[0].options", "files"}},
        {"\"files\": \"/proc/nope\"", SPRING_ENOENT, {"swap[0]", "swap pager s0 (plugin swap) could not start", "/proc/nope"}},
        {"\"files\": \"/nonexistent-dir/x\"", SPRING_ENOENT, {"swap pager s0", "/nonexistent-dir/x: No such file"}},
        {"\"files\": \"@,\"", SPRING_EINVAL, {"swap pager s0", "files: entry 2", "is empty"}},
        {"\"files\": \"@, @\"", SPRING_EINVAL, {"swap pager s0", "named twice"}},
        {"\"files\": \"@\", \"size\": \"100\"", SPRING_EINVAL, {"swap pager s0", "less than one page"}},
        {"\"files\": \"@\", \"colour\": \"red\"", SPRING_ECONFIG, {"swap[0].options", "colour"}},
        {"\"files\": \"@\", \"fail_io_errno\": \"EAGAIN\"", SPRING_EINVAL,
         {"swap pager s0", "fail_io_errno: expected EIO, ENOSPC, EDQUOT, EROFS or ENOMEM, found \"EAGAIN\""}},
        {"\"files\": \"@\", \"fail_io_after\": -1", SPRING_ECONFIG, {"swap[0].options.fail_io_after", "[0, "}},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char opts[512], json[2048];
        size_t o = 0;
        for (const char *p = bad[i].opts; *p && o < sizeof opts - 256; p++) /* '@' stands for f */
            o += *p == '@' ? (size_t)snprintf(opts + o, sizeof opts - o, "%s", f)
                           : (size_t)snprintf(opts + o, sizeof opts - o, "%c", *p);
        snprintf(json, sizeof json, fmt, opts);
        unsetenv("SPRING_PLUGIN_PATH");
        spring_stack_t *s = (void *)1;
        int rc = spring_stack_open_string(json, "swap.json", &s);
        const char *msg = spring_stack_error();
        ck_assert_msg(rc != 0 && s == NULL, "[%zu] %s: opened", i, bad[i].opts);
        ck_assert_msg(rc == bad[i].rc, "[%zu] %s: %s, want %s: %s", i, bad[i].opts, spring_err_name(rc),
                      spring_err_name(bad[i].rc), msg);
        for (size_t k = 0; k < 3 && bad[i].says[k]; k++)
            ck_assert_msg(strstr(msg, bad[i].says[k]) != NULL, "[%zu] %s: \"%s\" does not say \"%s\"", i,
                          bad[i].opts, msg, bad[i].says[k]);
        ck_assert_msg(!exists(f), "[%zu] a failed start left %s behind", i, f);
    }
}
END_TEST

/* (7) The file system refuses a write to the swap file for lack of space
 * (ENOSPC) or of quota (EDQUOT), injected at the first write: the swap
 * pager answers SPRING_ENOSPC, as for a full swap, so the VMM keeps the
 * page and counts "no space", not a failure; every page reads back. */
START_TEST(test_swap_file_system_full)
{
    static const char *const errs[] = {"ENOSPC", "EDQUOT"};
    for (size_t k = 0; k < 2; k++) {
        char f[256], extra[128], tag[32];
        snprintf(extra, sizeof extra, ", \"fail_io_after\": 1, \"fail_io_errno\": \"%s\"", errs[k]);
        snprintf(tag, sizeof tag, "fsfull%zu", k);
        spring_as_t *as;
        spring_addr_t a;
        spring_off_t len;
        spring_stack_t *s = swap_stack_opts(tag, "64KiB", "1MiB", "128KiB", extra, f, sizeof f, &as, &a, &len);
        size_t np = (size_t)len / PS; /* 32 pages, 16 frames */
        for (size_t p = 0; p < np; p++) {
            int rc = write_page(as, a, 6, p);
            for (int tries = 0; rc == SPRING_ENOFRAMES && tries < 3; tries++)
                rc = write_page(as, a, 6, p); /* the pass that met the refusal gave up: the next one goes on */
            ck_assert_msg(rc == 0, "%s: page %zu: %s", errs[k], p, spring_err_name(rc));
        }
        for (size_t p = 0; p < np; p++)
            ck_assert_rc(check_page(as, a, 6, p), 0);
        spring_pager_stats_t ps = {.size = sizeof ps};
        ck_assert_rc(spring_as_pager_stats(as, a, &ps), 0);
        ck_assert_msg(ps.nospace >= 1, "%s: no page_out refused for lack of room", errs[k]);
        ck_assert_msg(ps.failures == 0, "%s: %llu failures", errs[k], (unsigned long long)ps.failures);
        spring_swap_stats_t st = swap_stats_at(as, a);
        ck_assert_uint_eq(st.writes_refused_full, 0); /* the slots were not full */
        ck_assert_uint_ge(st.slots_used, np - 16);
        ck_assert_rc(spring_stack_put_as(s, as), 0);
        ck_assert_rc(spring_stack_close(s), 0);
    }
}
END_TEST

/* (8) Parts of pages written through the store interface (store.h: the
 * helper writes only the part of a page before a store's end): a page
 * without a slot takes one, maybe a slot another page gave back, and reads
 * zero but for the part written; a page with a slot keeps the rest of its
 * data; zeros written into part of a page read zero; a part of zeros
 * takes no slot. */
START_TEST(test_swap_store_partial_writes)
{
    char f[256], json[2048];
    tmp_path(f, sizeof f, "part");
    snprintf(json, sizeof json,
             "{\"vmm\": {\"name\": \"sw8\", \"pool\": \"64KiB\", \"mode\": \"deterministic\", \"default_swap\": false},\n"
             " \"swap\": [{\"name\": \"s0\", \"plugin\": \"swap\", \"options\": {\"files\": \"%s\", \"size\": \"64KiB\"}}],\n"
             " \"objects\": [{\"name\": \"o\", \"anonymous\": \"64KiB\"}]}",
             f);
    spring_stack_t *s = open_stack(json);
    spring_mobj_t *m;
    ck_assert_rc(spring_stack_get_mobj(s, "o", &m), 0);
    const spring_store_ops_t *ops = spring_store_ops_of(m);
    void *st = spring_store_data(m);
    ck_assert_ptr_nonnull(ops);
    ck_assert_ptr_nonnull(st);
    const spring_swap_iface_t *sw = spring_mobj_query(m, SPRING_SWAP_INTERFACE, SPRING_SWAP_INTERFACE_VERSION);
    ck_assert_ptr_nonnull(sw);
    spring_swap_stats_t ss;
    unsigned char page[PS], got[PS], want[PS];
    /* Pages 0 and 1 written whole take two slots; page 1 written zero
     * gives its slot back (the slot still holds page 1's bytes). */
    fill(page, 8, 0);
    ck_assert_rc(ops->write(st, 0, page, PS), 0);
    fill(page, 8, 1);
    ck_assert_rc(ops->write(st, PS, page, PS), 0);
    ck_assert_rc(sw->stats(m, &ss), 0);
    ck_assert_uint_eq(ss.slots_used, 2);
    ck_assert_rc(ops->write(st, PS, NULL, PS), 0);
    ck_assert_rc(sw->stats(m, &ss), 0);
    ck_assert_uint_eq(ss.slots_used, 1);
    /* 50 bytes into page 5, which has no slot: it takes the freed one. */
    memset(page, 0xab, 50);
    ck_assert_rc(ops->write(st, 5 * PS + 100, page, 50), 0);
    ck_assert_rc(sw->stats(m, &ss), 0);
    ck_assert_uint_eq(ss.slots_used, 2);
    memset(want, 0, PS);
    memset(want + 100, 0xab, 50);
    ck_assert_rc(ops->read(st, 5 * PS, got, PS), 0);
    for (size_t i = 0; i < PS; i++)
        ck_assert_msg(got[i] == want[i], "page 5 byte %zu: %#x, want %#x", i, got[i], want[i]);
    ck_assert_rc(ops->read(st, PS, got, PS), 0);
    for (size_t i = 0; i < PS; i++)
        ck_assert_msg(got[i] == 0, "page 1 byte %zu: %#x after it was written zero", i, got[i]);
    /* Page 0 has a slot: 10 bytes of data and 20 of zeros into it, the
     * rest stays. */
    memset(page, 0xcd, 10);
    ck_assert_rc(ops->write(st, 200, page, 10), 0);
    ck_assert_rc(ops->write(st, 300, NULL, 20), 0);
    fill(want, 8, 0);
    memset(want + 200, 0xcd, 10);
    memset(want + 300, 0, 20);
    ck_assert_rc(ops->read(st, 0, got, PS), 0);
    for (size_t i = 0; i < PS; i++)
        ck_assert_msg(got[i] == want[i], "page 0 byte %zu: %#x, want %#x", i, got[i], want[i]);
    /* Zeros into part of a page without a slot: no slot. */
    memset(page, 0, PS);
    ck_assert_rc(ops->write(st, 7 * PS + 8, page, 64), 0);
    ck_assert_rc(ops->write(st, 8 * PS + 8, NULL, 64), 0);
    ck_assert_rc(sw->stats(m, &ss), 0);
    ck_assert_uint_eq(ss.slots_used, 2);
    ck_assert_rc(spring_stack_put_mobj(s, m), 0);
    ck_assert_rc(spring_stack_close(s), 0);
    ck_assert(!exists(f));
}
END_TEST

/* (9) Pages that are zero but for one byte (the last, the first, one in
 * the middle) and a page of one non-zero value go to swap and come back
 * whole; a page written all zero takes no slot. */
START_TEST(test_swap_nearly_zero_pages)
{
    char f[256];
    spring_as_t *as;
    spring_addr_t a;
    spring_off_t len;
    spring_stack_t *s = swap_stack("nearzero", "64KiB", "256KiB", "64KiB", f, sizeof f, &as, &a, &len);
    enum { NP = 5 };
    static unsigned char pages[NP][PS];
    memset(pages, 0, sizeof pages);
    pages[0][PS - 1] = 0x5a;
    pages[1][0] = 0x5a;
    pages[2][PS / 2] = 0x5a;
    memset(pages[3], 0xff, PS);
    /* pages[4]: all zero */
    for (size_t p = 0; p < NP; p++)
        ck_assert_rc(spring_as_write(as, a + (spring_addr_t)(p * PS), pages[p], PS), 0);
    ck_assert_rc(spring_as_flush(as, a, len, false), 0); /* every page to swap */
    spring_swap_stats_t st = swap_stats_at(as, a);
    ck_assert_uint_eq(st.slots_used, NP - 1);
    unsigned char got[PS];
    for (size_t p = 0; p < NP; p++) {
        ck_assert_rc(spring_as_read(as, a + (spring_addr_t)(p * PS), got, PS), 0);
        for (size_t i = 0; i < PS; i++)
            ck_assert_msg(got[i] == pages[p][i], "page %zu byte %zu: %#x, want %#x", p, i, got[i], pages[p][i]);
    }
    ck_assert_rc(spring_stack_put_as(s, as), 0);
    ck_assert_rc(spring_stack_close(s), 0);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("swap");
    TCase *t = tcase_create("swap");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, test_swap_pages_out_and_in);
    tcase_add_test(t, test_swap_churn);
    tcase_add_test(t, test_swap_partial_unmap);
    tcase_add_test(t, test_swap_full);
    tcase_add_test(t, test_swap_full_close);
    tcase_add_test(t, test_swap_per_address_space);
    tcase_add_test(t, test_swap_two_files);
    tcase_add_test(t, test_swap_bad_options);
    tcase_add_test(t, test_swap_file_system_full);
    tcase_add_test(t, test_swap_store_partial_writes);
    tcase_add_test(t, test_swap_nearly_zero_pages);
    suite_add_tcase(s, t);
    return s;
}
