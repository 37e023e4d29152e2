/*
 * check_filepager.c - files as memory objects (plugins/filepager, §8),
 * through stacks built from JSON: two objects of one file with different
 * rights and a view share one cache; the file interface (file.h) is
 * coherent with mappings; sync puts the bytes on disk; POSIX lengths
 * (a mapping past the end is refused, accesses past a truncation fail with
 * SPRING_ERANGE, the tail of the last page reads zero, truncate then grow
 * reads zeros, a write extends); a missing file, a directory, a permission
 * denied and an injected I/O error are each reported with nothing corrupted.
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testlib.h"
#include "testmain.h"

#define PS 4096

static char dir[64];
static char file[128];

static uint8_t pat(size_t off)
{
    return (uint8_t)(off * 31 + off / PS * 7 + 3);
}

/* A file of len bytes, every page different. */
static void make_file(size_t len)
{
    snprintf(dir, sizeof dir, "/tmp/springvm-fp-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(file, sizeof file, "%s/data.bin", dir);
    FILE *f = fopen(file, "wb");
    ck_assert_ptr_nonnull(f);
    for (size_t i = 0; i < len; i++)
        fputc(pat(i), f);
    fclose(f);
}

static void rm_dir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static spring_stack_t *open_stack(const char *objects, const char *mappings, const char *popts)
{
    char json[4096];
    snprintf(json, sizeof json,
             "{\"vmm\": {\"name\": \"fp\", \"pool\": \"64KiB\", \"mode\": \"deterministic\"},\n"
             " \"pagers\": [{\"name\": \"files\", \"plugin\": \"filepager\", \"options\": {%s}}],\n"
             " \"objects\": [%s],\n"
             " \"address_spaces\": [{\"name\": \"a\", \"mappings\": [%s]}]}\n",
             popts, objects, mappings);
    char origin[160];
    snprintf(origin, sizeof origin, "%s/node.json", dir); /* relative paths: the file's directory */
    spring_stack_t *s;
    int rc = spring_stack_open_string(json, origin, &s);
    ck_assert_msg(rc == 0, "%s: %s", spring_err_name(rc), spring_stack_error());
    return s;
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
    suite_add_tcase(s, t);
    return s;
}
