/*
 * check_filepager.c - files as memory objects (plugins/filepager, §8),
 * through stacks built from JSON: two objects of one file with different
 * rights and a view share one cache; the file interface (file.h) is
 * coherent with mappings; sync puts the bytes on disk; POSIX lengths
 * (a mapping past the end is refused, accesses past a truncation fail with
 * SPRING_ERANGE, the tail of the last page reads zero, truncate then grow
 * reads zeros, a write extends); a missing file, a directory, a permission
 * denied and an injected I/O error are each reported with nothing corrupted;
 * a full file system (ENOSPC, EDQUOT) is the pager's "no space"; transfers
 * of more pages than one system call carries; a read cut short by a file
 * that shrank behind the pager; fdatasync on sync when fsync is on.
 */
#define _GNU_SOURCE
#include <check.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testlib.h"
#include "testmain.h"

#define PS 4096

static char dir[64];
static char file[128];

/* ------------------------------------------------------------------ */
/* The file system under the pager.  This program defines preadv, pread
 * and fdatasync, and exports them (it is linked with -export-dynamic), so
 * the plugin's calls come here before they go on to the C library's: a
 * test can shrink the file between the pager's look at its length and its
 * read, as another process could, and count the fdatasync calls. */

static atomic_llong shrink_at_preadv = -1; /* cut the file read to this length at the next preadv; -1: no */
static atomic_llong shrink_at_pread = -1;  /* the same at the next pread */
static atomic_int fdatasyncs;              /* fdatasync calls */

static void *next_fn(const char *name)
{
    void *fn = dlsym(RTLD_NEXT, name);
    if (fn == NULL)
        abort();
    return fn;
}

static void shrink_now(int fd, atomic_llong *len)
{
    long long l = atomic_exchange(len, -1);
    if (l >= 0 && ftruncate(fd, (off_t)l) != 0)
        abort();
}

ssize_t preadv(int fd, const struct iovec *iov, int n, off_t off)
{
    static ssize_t (*real)(int, const struct iovec *, int, off_t);
    if (real == NULL)
        *(void **)&real = next_fn("preadv");
    shrink_now(fd, &shrink_at_preadv);
    return real(fd, iov, n, off);
}

ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
    static ssize_t (*real)(int, void *, size_t, off_t);
    if (real == NULL)
        *(void **)&real = next_fn("pread");
    shrink_now(fd, &shrink_at_pread);
    return real(fd, buf, n, off);
}

int fdatasync(int fd)
{
    static int (*real)(int);
    if (real == NULL)
        *(void **)&real = next_fn("fdatasync");
    atomic_fetch_add(&fdatasyncs, 1);
    return real(fd);
}

static uint8_t pat(size_t off)
{
    return (uint8_t)(off * 31 + off / PS * 7 + 3);
}

/* Write the file again: len bytes of the pattern (the same file). */
static void fill_file(size_t len)
{
    FILE *f = fopen(file, "wb");
    ck_assert_ptr_nonnull(f);
    for (size_t i = 0; i < len; i++)
        fputc(pat(i), f);
    fclose(f);
}

/* A file of len bytes, every page different, in a new directory. */
static void make_file(size_t len)
{
    snprintf(dir, sizeof dir, "/tmp/springvm-fp-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(file, sizeof file, "%s/data.bin", dir);
    fill_file(len);
}

static void rm_dir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

/* A stack of a VMM with a pool of pool bytes, one filepager instance
 * "files" with options popts, the objects and one address space "a" with
 * the mappings. */
static spring_stack_t *open_stack_pool(const char *pool, const char *objects, const char *mappings, const char *popts)
{
    char json[4096];
    snprintf(json, sizeof json,
             "{\"vmm\": {\"name\": \"fp\", \"pool\": \"%s\", \"mode\": \"deterministic\"},\n"
             " \"pagers\": [{\"name\": \"files\", \"plugin\": \"filepager\", \"options\": {%s}}],\n"
             " \"objects\": [%s],\n"
             " \"address_spaces\": [{\"name\": \"a\", \"mappings\": [%s]}]}\n",
             pool, popts, objects, mappings);
    char origin[160];
    snprintf(origin, sizeof origin, "%s/node.json", dir); /* relative paths: the file's directory */
    spring_stack_t *s;
    int rc = spring_stack_open_string(json, origin, &s);
    ck_assert_msg(rc == 0, "%s: %s", spring_err_name(rc), spring_stack_error());
    return s;
}

static spring_stack_t *open_stack(const char *objects, const char *mappings, const char *popts)
{
    return open_stack_pool("64KiB", objects, mappings, popts);
}

static spring_addr_t where(spring_stack_t *s, const char *m)
{
    spring_addr_t a;
    spring_off_t l;
    ck_assert_rc(spring_stack_mapping(s, "a", m, &a, &l), 0);
    return a;
}

/* The file's bytes on disk at off. */
static void disk(size_t off, void *buf, size_t n)
{
    int fd = open(file, O_RDONLY);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pread(fd, buf, n, (off_t)off), (ssize_t)n);
    close(fd);
}

/* Page p of the mapping at a reads the file's pattern in [0, valid) and
 * zero after. */
static void expect_page(spring_as_t *as, spring_addr_t a, size_t p, size_t valid)
{
    uint8_t b[PS];
    ck_assert_rc(spring_as_read(as, a + (spring_addr_t)(p * PS), b, PS), 0);
    for (size_t i = 0; i < PS; i++) {
        uint8_t want = i < valid ? pat(p * PS + i) : 0;
        ck_assert_msg(b[i] == want, "page %zu byte %zu: %#x, want %#x", p, i, b[i], want);
    }
}

static const char *const one_file = "{\"name\": \"f\", \"pager\": \"files\", \"options\": {\"path\": \"data.bin\"}}";
static const char *const one_mapping = "{\"name\": \"m\", \"object\": \"f\"}";

START_TEST(test_filepager_shared_and_coherent)
{
    make_file(8 * PS);
    spring_stack_t *s = open_stack(
        "{\"name\": \"rw\", \"pager\": \"files\", \"options\": {\"path\": \"data.bin\"}},"
        "{\"name\": \"ro\", \"pager\": \"files\", \"options\": {\"path\": \"data.bin\", \"writable\": false}},"
        "{\"name\": \"view\", \"view\": \"rw\", \"rights\": \"r\"}",
        "{\"name\": \"rw\", \"object\": \"rw\"}, {\"name\": \"ro\", \"object\": \"ro\", \"rights\": \"r\"},"
        "{\"name\": \"view\", \"object\": \"view\", \"rights\": \"r\"}",
        "");
    spring_as_t *as;
    ck_assert_rc(spring_stack_get_as(s, "a", &as), 0);
    spring_addr_t rw = where(s, "rw"), ro = where(s, "ro"), vw = where(s, "view");
    uint8_t b[16];
    ck_assert_rc(spring_as_read(as, ro + 3 * PS + 5, b, 1), 0);
    ck_assert_uint_eq(b[0], pat(3 * PS + 5));
    /* A write through the read-write object is seen at once through the
     * read-only object and the view: one cache. */
    ck_assert_rc(spring_as_write(as, rw + 3 * PS + 5, "coherent", 8), 0);
    ck_assert_rc(spring_as_read(as, ro + 3 * PS + 5, b, 8), 0);
    ck_assert(memcmp(b, "coherent", 8) == 0);
    ck_assert_rc(spring_as_read(as, vw + 3 * PS + 5, b, 8), 0);
    ck_assert(memcmp(b, "coherent", 8) == 0);
    ck_assert_rc(spring_as_write(as, ro, "x", 1), SPRING_EACCES);
    spring_pager_stats_t s1 = {.size = sizeof s1}, s2 = {.size = sizeof s2};
    ck_assert_rc(spring_as_pager_stats(as, rw, &s1), 0);
    ck_assert_rc(spring_as_pager_stats(as, ro, &s2), 0);
    ck_assert_uint_eq(s1.page_ins, s2.page_ins); /* the same cache's pager object */
    /* The file interface is coherent with the mappings. */
    spring_mobj_t *m, *mro;
    ck_assert_rc(spring_stack_get_mobj(s, "rw", &m), 0);
    ck_assert_rc(spring_stack_get_mobj(s, "ro", &mro), 0);
    const spring_file_t *f = spring_mobj_query(m, SPRING_FILE_INTERFACE, 1);
    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_null(spring_mobj_query(m, SPRING_FILE_INTERFACE, 2));
    size_t done;
    ck_assert_rc(f->read(m, 3 * PS + 5, b, 8, &done), 0);
    ck_assert_uint_eq(done, 8);
    ck_assert(memcmp(b, "coherent", 8) == 0);
    ck_assert_rc(f->write(m, 6 * PS + 1, "by file", 7), 0);
    ck_assert_rc(spring_as_read(as, rw + 6 * PS + 1, b, 7), 0);
    ck_assert(memcmp(b, "by file", 7) == 0);
    ck_assert_rc(f->write(mro, 0, "no", 2), SPRING_ERIGHTS); /* the read-only object */
    ck_assert_rc(f->read(NULL, 0, b, 1, &done), SPRING_EINVAL);
    /* sync: on disk when it returns. */
    ck_assert_rc(f->sync(m), 0);
    disk(3 * PS + 5, b, 8);
    ck_assert(memcmp(b, "coherent", 8) == 0);
    disk(6 * PS + 1, b, 7);
    ck_assert(memcmp(b, "by file", 7) == 0);
    disk(7 * PS + 9, b, 1);
    ck_assert_uint_eq(b[0], pat(7 * PS + 9)); /* untouched bytes stay */
    ck_assert_rc(spring_stack_put_mobj(s, m), 0);
    ck_assert_rc(spring_stack_put_mobj(s, mro), 0);
    ck_assert_rc(spring_stack_put_as(s, as), 0);
    ck_assert_rc(spring_stack_close(s), 0);
    rm_dir();
}
END_TEST

START_TEST(test_filepager_lengths)
{
    make_file(2 * PS + PS / 2);
    spring_stack_t *s = open_stack("{\"name\": \"f\", \"pager\": \"files\", \"options\": {\"path\": \"data.bin\"}}",
                                   "{\"name\": \"m\", \"object\": \"f\"}", "");
    spring_as_t *as;
    ck_assert_rc(spring_stack_get_as(s, "a", &as), 0);
    spring_addr_t a;
    spring_off_t l;
    ck_assert_rc(spring_stack_mapping(s, "a", "m", &a, &l), 0);
    ck_assert_uint_eq(l, 3 * PS); /* the length rounded up to a page */
    uint8_t b[PS];
    ck_assert_rc(spring_as_read(as, a + 2 * PS, b, PS), 0);
    ck_assert_uint_eq(b[PS / 2 - 1], pat(2 * PS + PS / 2 - 1));
    for (size_t i = PS / 2; i < PS; i++)
        ck_assert_uint_eq(b[i], 0); /* the tail of the last page */
    /* A mapping past the end is refused. */
    spring_mobj_t *m;
    ck_assert_rc(spring_stack_get_mobj(s, "f", &m), 0);
    spring_off_t len4 = 4 * PS;
    spring_addr_t a4 = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_map(as, m, 0, &len4, &a4, SPRING_RIGHTS_RW), SPRING_ERANGE);
    /* Truncate: the mapping stays; past the end fails, the tail is zero. */
    const spring_file_t *f = spring_mobj_query(m, SPRING_FILE_INTERFACE, 1);
    ck_assert_ptr_nonnull(f);
    ck_assert_rc(spring_as_write(as, a + PS + 100, "keep", 4), 0);
    ck_assert_rc(f->set_length(m, PS + 10), 0);
    spring_off_t fl;
    ck_assert_rc(f->get_length(m, &fl), 0);
    ck_assert_uint_eq(fl, PS + 10);
    struct stat sb;
    ck_assert_int_eq(stat(file, &sb), 0);
    ck_assert_uint_eq(sb.st_size, PS + 10);
    ck_assert_rc(spring_as_read(as, a + 2 * PS, b, 1), SPRING_ERANGE); /* as SIGBUS */
    ck_assert_rc(spring_as_read(as, a + PS, b, PS), 0);
    ck_assert_uint_eq(b[9], pat(PS + 9));
    for (size_t i = 10; i < PS; i++)
        ck_assert_msg(b[i] == 0, "byte %zu past the end reads %u", i, b[i]);
    /* Grow: the new part reads zero, the old tail too. */
    ck_assert_rc(f->set_length(m, 3 * PS), 0);
    ck_assert_rc(spring_as_read(as, a + PS, b, PS), 0);
    for (size_t i = 10; i < PS; i++)
        ck_assert_uint_eq(b[i], 0);
    ck_assert_rc(spring_as_read(as, a + 2 * PS, b, PS), 0);
    for (size_t i = 0; i < PS; i++)
        ck_assert_uint_eq(b[i], 0);
    /* A write through the file interface past the end extends the file. */
    ck_assert_rc(f->write(m, 5 * PS + 3, "tail", 4), 0);
    ck_assert_rc(f->get_length(m, &fl), 0);
    ck_assert_uint_eq(fl, 5 * PS + 7);
    size_t done;
    ck_assert_rc(f->read(m, 5 * PS + 3, b, 100, &done), 0);
    ck_assert_uint_eq(done, 4);
    ck_assert(memcmp(b, "tail", 4) == 0);
    ck_assert_rc(f->read(m, 9 * PS, b, 100, &done), 0);
    ck_assert_uint_eq(done, 0);
    ck_assert_rc(spring_stack_put_mobj(s, m), 0);
    ck_assert_rc(spring_stack_put_as(s, as), 0);
    ck_assert_rc(spring_stack_close(s), 0); /* writes back; the file's bytes: */
    disk(5 * PS + 3, b, 4);
    ck_assert(memcmp(b, "tail", 4) == 0);
    rm_dir();
}
END_TEST

START_TEST(test_filepager_errors)
{
    make_file(4 * PS);
    char json[2048], origin[160];
    snprintf(origin, sizeof origin, "%s/node.json", dir);
    spring_stack_t *s;
    /* A missing file. */
    snprintf(json, sizeof json,
             "{\"vmm\": {\"mode\": \"deterministic\"}, \"pagers\": [{\"name\": \"files\", \"plugin\": \"filepager\"}],"
             " \"objects\": [{\"name\": \"f\", \"pager\": \"files\", \"options\": {\"path\": \"missing.bin\"}}]}");
    ck_assert_rc(spring_stack_open_string(json, origin, &s), SPRING_ENOENT);
    ck_assert_msg(strstr(spring_stack_error(), "objects[0]: pager files could not make object f: no such name: ") &&
                      strstr(spring_stack_error(), "/missing.bin: No such file or directory"),
                  "%s", spring_stack_error());
    /* A directory. */
    snprintf(json, sizeof json,
             "{\"vmm\": {\"mode\": \"deterministic\"}, \"pagers\": [{\"name\": \"files\", \"plugin\": \"filepager\"}],"
             " \"objects\": [{\"name\": \"f\", \"pager\": \"files\", \"options\": {\"path\": \".\", "
             "\"writable\": false}}]}");
    ck_assert_rc(spring_stack_open_string(json, origin, &s), SPRING_EINVAL);
    ck_assert_msg(strstr(spring_stack_error(), "not a regular file"), "%s", spring_stack_error());
    /* create makes it, with its size. */
    snprintf(json, sizeof json,
             "{\"vmm\": {\"mode\": \"deterministic\"}, \"pagers\": [{\"name\": \"files\", \"plugin\": \"filepager\"}],"
             " \"objects\": [{\"name\": \"f\", \"pager\": \"files\", \"options\": {\"path\": \"new.bin\", "
             "\"create\": true, \"size\": \"3KiB\"}}]}");
    ck_assert_rc(spring_stack_open_string(json, origin, &s), 0);
    ck_assert_rc(spring_stack_close(s), 0);
    char p[160];
    snprintf(p, sizeof p, "%s/new.bin", dir);
    struct stat sb;
    ck_assert_int_eq(stat(p, &sb), 0);
    ck_assert_uint_eq(sb.st_size, 3072);
    /* An I/O error: the access fails with the pager's error, the message
     * names the file; nothing is corrupted: the next access reads right. */
    s = open_stack("{\"name\": \"f\", \"pager\": \"files\", \"options\": {\"path\": \"data.bin\"}}",
                   "{\"name\": \"m\", \"object\": \"f\"}", "\"fail_io_after\": 2");
    spring_as_t *as;
    ck_assert_rc(spring_stack_get_as(s, "a", &as), 0);
    spring_addr_t a = where(s, "m");
    uint8_t b[8];
    int rc1 = spring_as_read(as, a, b, 1), rc2 = spring_as_read(as, a + PS, b, 1);
    int bad = rc1 != 0 ? rc1 : rc2;
    ck_assert_msg(bad == SPRING_EPAGER, "%s %s", spring_err_name(rc1), spring_err_name(rc2));
    ck_assert_msg(strstr(spring_last_error(), "SPRING_EIO") || strstr(spring_last_error(), "injected"), "%s",
                  spring_last_error());
    ck_assert_rc(spring_as_read(as, a + 2 * PS, b, 8), 0);
    ck_assert_uint_eq(b[0], pat(2 * PS));
    ck_assert_rc(spring_as_read(as, a, b, 1), 0);
    ck_assert_uint_eq(b[0], pat(0));
    ck_assert_rc(spring_as_read(as, a + PS, b, 1), 0);
    ck_assert_uint_eq(b[0], pat(PS));
    ck_assert_rc(spring_stack_put_as(s, as), 0);
    ck_assert_rc(spring_stack_close(s), 0);
    rm_dir();
}
END_TEST

/* Transfers of more pages than one preadv or pwritev carries (64): a
 * block of 128 pages is paged in right, and a sync of 100 contiguous
 * modified pages puts each where it belongs. */
START_TEST(test_filepager_large_transfers)
{
    make_file(256 * PS);
    spring_stack_t *s = open_stack_pool("4MiB", one_file, one_mapping, "\"block_size\": \"512KiB\"");
    spring_as_t *as;
    ck_assert_rc(spring_stack_get_as(s, "a", &as), 0);
    spring_addr_t a = where(s, "m");
    expect_page(as, a, 200, PS);
    spring_pager_stats_t st = {.size = sizeof st};
    ck_assert_rc(spring_as_pager_stats(as, a, &st), 0);
    ck_assert_uint_eq(st.page_ins, 1); /* pages 128 to 255 in one page-in */
    for (size_t p = 0; p < 256; p++)
        expect_page(as, a, p, PS);
    ck_assert_rc(spring_as_pager_stats(as, a, &st), 0);
    ck_assert_uint_eq(st.page_ins, 2);
    ck_assert_rc(spring_stack_put_as(s, as), 0);
    ck_assert_rc(spring_stack_close(s), 0);

    /* One-page blocks: 100 contiguous pages modified, one sync. */
    s = open_stack_pool("1MiB", one_file, one_mapping, "");
    ck_assert_rc(spring_stack_get_as(s, "a", &as), 0);
    a = where(s, "m");
    static uint8_t buf[100 * PS], got[256 * PS];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)~pat(10 * PS + i);
    ck_assert_rc(spring_as_write(as, a + 10 * PS, buf, sizeof buf), 0);
    spring_mobj_t *m;
    ck_assert_rc(spring_stack_get_mobj(s, "f", &m), 0);
    const spring_file_t *f = spring_mobj_query(m, SPRING_FILE_INTERFACE, 1);
    ck_assert_ptr_nonnull(f);
    ck_assert_rc(f->sync(m), 0);
    disk(0, got, sizeof got);
    for (size_t i = 0; i < sizeof got; i++) {
        uint8_t want = i >= 10 * PS && i < 110 * PS ? buf[i - 10 * PS] : pat(i);
        ck_assert_msg(got[i] == want, "file byte %zu (page %zu): %#x, want %#x", i, i / PS, got[i], want);
    }
    ck_assert_rc(spring_stack_put_mobj(s, m), 0);
    ck_assert_rc(spring_stack_put_as(s, as), 0);
    ck_assert_rc(spring_stack_close(s), 0);
    rm_dir();
}
END_TEST

/* Make every page frame of the VMM (16) hold a whole page of the file:
 * with nothing cached, the file is written again whole (32 pages), read
 * through the mapping twice, then dropped from the cache, so that the
 * frames are free and still hold its pages (the VMM scrubs a frame only
 * for another cache, §7.4). */
static void fill_frames(spring_as_t *as, spring_addr_t a)
{
    ck_assert_rc(spring_as_flush(as, a, 32 * PS, false), 0);
    fill_file(32 * PS);
    for (int round = 0; round < 2; round++)
        for (size_t p = 0; p < 32; p++)
            expect_page(as, a, p, PS);
    ck_assert_rc(spring_as_flush(as, a, 32 * PS, false), 0);
}

/* The file shrinks behind the pager between its look at the length and
 * its read, so the read comes back short: what it did not get reads zero,
 * not what the page frame held before.  Blocks of four pages: the whole
 * pages of a block are read with preadv, the page the end cuts with
 * pread. */
START_TEST(test_filepager_short_read)
{
    make_file(32 * PS);
    spring_stack_t *s = open_stack(one_file, one_mapping, "\"block_size\": \"16KiB\"");
    spring_as_t *as;
    ck_assert_rc(spring_stack_get_as(s, "a", &as), 0);
    spring_addr_t a = where(s, "m");
    /* preadv of pages 4 to 7 gets page 4 and 100 bytes of page 5. */
    fill_frames(as, a);
    atomic_store(&shrink_at_preadv, 5 * PS + 100);
    expect_page(as, a, 5, 100);
    ck_assert_msg(atomic_load(&shrink_at_preadv) == -1, "no preadv was made"); /* it did shrink */
    expect_page(as, a, 4, PS);
    expect_page(as, a, 6, 0);
    expect_page(as, a, 7, 0);
    /* pread of the 100 bytes of page 5 gets 40. */
    fill_frames(as, a);
    ck_assert_int_eq(truncate(file, 5 * PS + 100), 0);
    atomic_store(&shrink_at_pread, 5 * PS + 40);
    expect_page(as, a, 5, 40);
    ck_assert_msg(atomic_load(&shrink_at_pread) == -1, "no pread was made");
    expect_page(as, a, 4, PS);
    /* The next page-in sees the new end. */
    ck_assert_rc(spring_as_flush(as, a, 32 * PS, false), 0);
    expect_page(as, a, 5, 40);
    uint8_t b[8];
    ck_assert_rc(spring_as_read(as, a + 8 * PS, b, sizeof b), SPRING_ERANGE);
    ck_assert_rc(spring_stack_put_as(s, as), 0);
    ck_assert_rc(spring_stack_close(s), 0);
    rm_dir();
}
END_TEST

/* A sync through the file interface runs fdatasync when the option fsync
 * is on, and not when it is off: counted where the plugin calls it, and
 * seen by the failure injection (the fdatasync is one of the instance's
 * I/O calls, here the first). */
START_TEST(test_filepager_fsync)
{
    make_file(4 * PS);
    for (int on = 0; on < 2; on++) {
        char popts[128];
        snprintf(popts, sizeof popts, "\"fsync\": %s, \"fail_io_after\": 1", on ? "true" : "false");
        spring_stack_t *s = open_stack(one_file, one_mapping, popts);
        spring_as_t *as;
        ck_assert_rc(spring_stack_get_as(s, "a", &as), 0);
        spring_addr_t a = where(s, "m");
        spring_mobj_t *m;
        ck_assert_rc(spring_stack_get_mobj(s, "f", &m), 0);
        const spring_file_t *f = spring_mobj_query(m, SPRING_FILE_INTERFACE, 1);
        ck_assert_ptr_nonnull(f);
        atomic_store(&fdatasyncs, 0);
        /* Nothing modified: the sync's one I/O call is its fdatasync. */
        int rc = f->sync(m);
        if (on) {
            ck_assert_rc(rc, SPRING_EIO);
            ck_assert_msg(strstr(spring_last_error(), "data.bin: fsync: injected I/O error"), "%s",
                          spring_last_error());
        } else {
            ck_assert_rc(rc, 0);
        }
        rc = spring_as_write(as, a + PS, "synced", 6);
        if (!on) { /* the first I/O call of the instance is this page-in */
            ck_assert_rc(rc, SPRING_EPAGER);
            rc = spring_as_write(as, a + PS, "synced", 6);
        }
        ck_assert_rc(rc, 0);
        int calls = atomic_load(&fdatasyncs);
        ck_assert_int_eq(calls, 0);
        ck_assert_rc(f->sync(m), 0);
        calls = atomic_load(&fdatasyncs);
        ck_assert_int_eq(calls, on);
        uint8_t b[6];
        disk(PS, b, sizeof b);
        ck_assert(memcmp(b, "synced", 6) == 0);
        ck_assert_rc(spring_stack_put_mobj(s, m), 0);
        ck_assert_rc(spring_stack_put_as(s, as), 0);
        ck_assert_rc(spring_stack_close(s), 0);
    }
    rm_dir();
}
END_TEST

/* A full file system (ENOSPC) or an exhausted quota (EDQUOT), injected
 * where the pager writes: SPRING_ENOSPC, the pager's "no space" (pager.h),
 * from a flush (a page_out: counted as no space, not as a failure) and
 * from a sync through the file interface; the data stays cached and
 * reaches the file once the write works. */
START_TEST(test_filepager_no_space)
{
    static const char *const errs[] = {"ENOSPC", "EDQUOT"};
    make_file(4 * PS);
    for (size_t k = 0; k < 2; k++)
        for (int via_file = 0; via_file < 2; via_file++) {
            char popts[128], msg[16];
            fill_file(4 * PS);
            snprintf(popts, sizeof popts, "\"fail_io_after\": 2, \"fail_io_errno\": \"%s\"", errs[k]);
            spring_stack_t *s = open_stack(one_file, one_mapping, popts);
            spring_as_t *as;
            ck_assert_rc(spring_stack_get_as(s, "a", &as), 0);
            spring_addr_t a = where(s, "m");
            spring_mobj_t *m;
            ck_assert_rc(spring_stack_get_mobj(s, "f", &m), 0);
            const spring_file_t *f = spring_mobj_query(m, SPRING_FILE_INTERFACE, 1);
            ck_assert_ptr_nonnull(f);
            snprintf(msg, sizeof msg, "full %s %d", errs[k], via_file);
            ck_assert_rc(spring_as_write(as, a + 2 * PS + 8, msg, sizeof msg), 0); /* I/O call 1: the page-in */
            int rc = via_file ? f->sync(m) : spring_as_flush(as, a, 4 * PS, false); /* 2: the write */
            ck_assert_msg(rc == SPRING_ENOSPC, "%s, via %s: %s, want SPRING_ENOSPC (%s)", errs[k],
                          via_file ? "sync" : "flush", spring_err_name(rc), spring_last_error());
            uint8_t b[sizeof msg];
            disk(2 * PS + 8, b, sizeof b);
            ck_assert_uint_eq(b[0], pat(2 * PS + 8)); /* not written */
            ck_assert_rc(spring_as_read(as, a + 2 * PS + 8, b, sizeof b), 0);
            ck_assert(memcmp(b, msg, sizeof msg) == 0); /* not lost */
            spring_pager_stats_t st = {.size = sizeof st};
            ck_assert_rc(spring_as_pager_stats(as, a, &st), 0);
            ck_assert_uint_eq(st.nospace, via_file ? 0 : 1);
            ck_assert_uint_eq(st.failures, 0);
            ck_assert_rc(via_file ? f->sync(m) : spring_as_flush(as, a, 4 * PS, false), 0);
            disk(2 * PS + 8, b, sizeof b);
            ck_assert(memcmp(b, msg, sizeof msg) == 0);
            ck_assert_rc(spring_stack_put_mobj(s, m), 0);
            ck_assert_rc(spring_stack_put_as(s, as), 0);
            ck_assert_rc(spring_stack_close(s), 0);
        }
    /* An error the option does not know. */
    char json[1024], origin[160];
    snprintf(origin, sizeof origin, "%s/node.json", dir);
    snprintf(json, sizeof json,
             "{\"vmm\": {\"mode\": \"deterministic\"}, \"pagers\": [{\"name\": \"files\", \"plugin\": \"filepager\", "
             "\"options\": {\"fail_io_errno\": \"EAGAIN\"}}]}");
    spring_stack_t *s = NULL;
    ck_assert_rc(spring_stack_open_string(json, origin, &s), SPRING_EINVAL);
    ck_assert_msg(strstr(spring_stack_error(), "fail_io_errno: expected EIO, ENOSPC, EDQUOT, EROFS or ENOMEM, found "
                                               "\"EAGAIN\""),
                  "%s", spring_stack_error());
    rm_dir();
}
END_TEST

/* Open data.bin (writable or not) in a stack; expect SPRING_EPERM naming
 * the file and the system's reason.  0, or 1 with the reason on stderr. */
static int open_denied(bool writable)
{
    char json[1024], origin[160];
    snprintf(origin, sizeof origin, "%s/node.json", dir);
    snprintf(json, sizeof json,
             "{\"vmm\": {\"mode\": \"deterministic\"}, \"pagers\": [{\"name\": \"files\", \"plugin\": \"filepager\"}],"
             " \"objects\": [{\"name\": \"f\", \"pager\": \"files\", \"options\": {\"path\": \"data.bin\", "
             "\"writable\": %s}}]}",
             writable ? "true" : "false");
    spring_stack_t *s = NULL;
    int rc = spring_stack_open_string(json, origin, &s);
    if (rc != SPRING_EPERM || s != NULL || !strstr(spring_stack_error(), "data.bin: Permission denied") ||
        !strstr(spring_stack_error(), "could not make object f")) {
        fprintf(stderr, "writable %d: %s: %s\n", writable, spring_err_name(rc), spring_stack_error());
        return 1;
    }
    return 0;
}

/* open_denied(writable) in a child process that is not root (root opens
 * any file whatever its mode): as root, the child becomes nobody.  It finds
 * the plugin in plugdir (a copy in the test's directory, which nobody can
 * read wherever the build tree is). */
static void denied_as_nobody(bool writable, const char *plugdir)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        if (getuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
            _exit(3);
        setenv("SPRING_PLUGIN_PATH", plugdir, 1);
        _exit(open_denied(writable));
    }
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "writable %d: status 0x%x", writable, st);
}

/* A file the process may not open read-write (mode 0444), then not even
 * read-only (mode 0): SPRING_EPERM, the message naming the file, and the
 * file's bytes untouched. */
START_TEST(test_filepager_permission_denied)
{
    make_file(2 * PS);
    ck_assert_int_eq(chmod(dir, 0755), 0);
    spring_plugin_lib_t *lib;
    ck_assert_rc(spring_plugin_load("filepager", NULL, SPRING_PLUGIN_PAGER, &lib), 0);
    char plugdir[160], cmd[1024];
    snprintf(plugdir, sizeof plugdir, "%s/plugins", dir);
    snprintf(cmd, sizeof cmd, "mkdir -m 755 '%s' && cp '%s' '%s/' && chmod 755 '%s/filepager.so'", plugdir,
             spring_plugin_path(lib), plugdir, plugdir);
    ck_assert_int_eq(system(cmd), 0);
    spring_plugin_unref(lib);
    ck_assert_int_eq(chmod(file, 0444), 0);
    denied_as_nobody(true, plugdir);
    ck_assert_int_eq(chmod(file, 0), 0);
    denied_as_nobody(false, plugdir);
    ck_assert_int_eq(chmod(file, 0644), 0);
    uint8_t b[2 * PS];
    disk(0, b, sizeof b);
    for (size_t i = 0; i < sizeof b; i++)
        ck_assert_uint_eq(b[i], pat(i));
    rm_dir();
}
END_TEST

Suite *test_suite(void)
{
    unsetenv("SPRING_PLUGIN_PATH");
    Suite *s = suite_create("filepager");
    TCase *t = tcase_create("files");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, test_filepager_shared_and_coherent);
    tcase_add_test(t, test_filepager_lengths);
    tcase_add_test(t, test_filepager_errors);
    tcase_add_test(t, test_filepager_permission_denied);
    tcase_add_test(t, test_filepager_large_transfers);
    tcase_add_test(t, test_filepager_short_read);
    tcase_add_test(t, test_filepager_fsync);
    tcase_add_test(t, test_filepager_no_space);
    suite_add_tcase(s, t);
    return s;
}
