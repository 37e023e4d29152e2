/*
 * check_plugin.c - plugin options and the plugin loader (plugin.h): typed
 * and range-checked options with the messages a user sees; plugins found
 * by name along the search path (SPRING_PLUGIN_PATH first, the build tree,
 * the built-in soft HAT last), shadowing, reference counts; every way a
 * plugin can be broken (ABI, entry symbol, descriptor, kind, options, not a
 * shared object) refused with a message naming the path, what was expected
 * and what was found; a HAT plugin's options and page sizes reaching the
 * VMM; a memory object's query (pager.h).  Only the public headers are
 * used; the test plugins are in t/plugins.
 */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testlib.h"
#include "testmain.h"

/* The message of the last failure contains every one of the strings. */
static void expect_msg(const char *a, const char *b, const char *c)
{
    const char *m = spring_last_error();
    ck_assert_msg(strstr(m, a) != NULL, "\"%s\" not in: %s", a, m);
    if (b)
        ck_assert_msg(strstr(m, b) != NULL, "\"%s\" not in: %s", b, m);
    if (c)
        ck_assert_msg(strstr(m, c) != NULL, "\"%s\" not in: %s", c, m);
}

/* ------------------------------------------------------------------ */
/* Options.                                                             */

static const spring_plugin_option_t schema[] = {
    {"path", SPRING_OPT_STRING, NULL, "the file (required)", 0, 0},
    {"depth", SPRING_OPT_INT, "3", "how deep", -5, 10},
    {"cache", SPRING_OPT_SIZE, "8MiB", "cache size", 4096, 1 << 30},
    {"sync", SPRING_OPT_BOOL, "true", "fsync on sync", 0, 0},
    {"any", SPRING_OPT_INT, "0", "no limit", 0, 0},
};
#define NSCHEMA (sizeof schema / sizeof *schema)

START_TEST(test_options_defaults_and_values)
{
    spring_options_t *o;
    ck_assert_rc(spring_options_new(schema, NSCHEMA, &o), 0);
    ck_assert_ptr_null(spring_options_string(o, "path"));
    ck_assert_int_eq(spring_options_int(o, "depth"), 3);
    ck_assert_uint_eq(spring_options_size(o, "cache"), 8u << 20);
    ck_assert(spring_options_bool(o, "sync"));
    ck_assert(!spring_options_given(o, "depth"));
    /* A required option without a value fails the check, naming it. */
    ck_assert_rc(spring_options_check(o), SPRING_ENOENT);
    expect_msg("path", "required", "the file");
    ck_assert_rc(spring_options_set(o, "path", "/tmp/x"), 0);
    ck_assert_rc(spring_options_check(o), 0);
    ck_assert_str_eq(spring_options_string(o, "path"), "/tmp/x");
    ck_assert(spring_options_given(o, "path"));
    ck_assert_rc(spring_options_assign(o, "depth=-5"), 0);
    ck_assert_int_eq(spring_options_int(o, "depth"), -5);
    ck_assert_rc(spring_options_assign(o, "depth=0x0a"), 0);
    ck_assert_int_eq(spring_options_int(o, "depth"), 10);
    ck_assert_rc(spring_options_assign(o, "cache=64 KiB"), 0);
    ck_assert_uint_eq(spring_options_size(o, "cache"), 65536);
    ck_assert_rc(spring_options_assign(o, "sync=off"), 0);
    ck_assert(!spring_options_bool(o, "sync"));
    ck_assert_rc(spring_options_assign(o, "any=-9223372036854775807"), 0);
    ck_assert_int_eq(spring_options_int(o, "any"), -INT64_MAX);
    /* A value with '=' in it is kept whole. */
    ck_assert_rc(spring_options_assign(o, "path=a=b"), 0);
    ck_assert_str_eq(spring_options_string(o, "path"), "a=b");
    /* Getters of the wrong type or an unknown key answer the zero value. */
    ck_assert_int_eq(spring_options_int(o, "path"), 0);
    ck_assert_ptr_null(spring_options_string(o, "depth"));
    ck_assert(!spring_options_bool(o, "nosuch"));
    ck_assert_uint_eq(spring_options_size(o, "sync"), 0);
    spring_options_free(o);
    /* An empty list. */
    ck_assert_rc(spring_options_new(NULL, 0, &o), 0);
    ck_assert_rc(spring_options_check(o), 0);
    ck_assert_rc(spring_options_set(o, "x", "1"), SPRING_ENOENT);
    expect_msg("unknown option x", "none", NULL);
    spring_options_free(o);
}
END_TEST

START_TEST(test_options_errors)
{
    spring_options_t *o;
    ck_assert_rc(spring_options_new(schema, NSCHEMA, &o), 0);
    ck_assert_rc(spring_options_set(o, "colour", "red"), SPRING_ENOENT);
    expect_msg("unknown option colour", "path, depth, cache, sync", NULL);
    ck_assert_rc(spring_options_set(o, "depth", "deep"), SPRING_EINVAL);
    expect_msg("option depth", "expected an integer", "\"deep\"");
    ck_assert_rc(spring_options_set(o, "depth", "4x"), SPRING_EINVAL);
    ck_assert_rc(spring_options_set(o, "depth", ""), SPRING_EINVAL);
    ck_assert_rc(spring_options_set(o, "depth", "11"), SPRING_ERANGE);
    expect_msg("option depth", "out of range", "[-5, 10]");
    ck_assert_rc(spring_options_set(o, "depth", "-6"), SPRING_ERANGE);
    ck_assert_rc(spring_options_set(o, "depth", "99999999999999999999"), SPRING_EOVERFLOW);
    ck_assert_int_eq(spring_options_int(o, "depth"), 3); /* unchanged by the failures */
    ck_assert_rc(spring_options_set(o, "cache", "8 furlongs"), SPRING_EINVAL);
    expect_msg("option cache", "expected a size", "furlongs");
    ck_assert_rc(spring_options_set(o, "cache", "2GiB"), SPRING_ERANGE);
    ck_assert_rc(spring_options_set(o, "cache", "-1"), SPRING_EINVAL);
    ck_assert_uint_eq(spring_options_size(o, "cache"), 8u << 20);
    ck_assert_rc(spring_options_set(o, "sync", "maybe"), SPRING_EINVAL);
    expect_msg("option sync", "true or false", NULL);
    ck_assert_rc(spring_options_assign(o, "sync"), SPRING_EINVAL);
    expect_msg("expected KEY=VALUE", NULL, NULL);
    ck_assert_rc(spring_options_assign(o, "=1"), SPRING_EINVAL);
    /* Illegal arguments. */
    ck_assert_rc(spring_options_set(NULL, "depth", "1"), SPRING_EINVAL);
    ck_assert_rc(spring_options_set(o, NULL, "1"), SPRING_EINVAL);
    ck_assert_rc(spring_options_set(o, "depth", NULL), SPRING_EINVAL);
    ck_assert_rc(spring_options_assign(NULL, "a=1"), SPRING_EINVAL);
    ck_assert_rc(spring_options_assign(o, NULL), SPRING_EINVAL);
    ck_assert_rc(spring_options_check(NULL), SPRING_EINVAL);
    ck_assert_ptr_null(spring_options_string(NULL, "path"));
    ck_assert_ptr_null(spring_options_string(o, NULL));
    ck_assert(!spring_options_given(NULL, "path"));
    spring_options_free(o);
    spring_options_free(NULL);
    /* Bad lists. */
    ck_assert_rc(spring_options_new(schema, 1, NULL), SPRING_EINVAL);
    ck_assert_rc(spring_options_new(NULL, 1, &o), SPRING_EINVAL);
    static const spring_plugin_option_t dup[] = {{"a", SPRING_OPT_INT, "1", "", 0, 0},
                                                 {"a", SPRING_OPT_BOOL, "true", "", 0, 0}};
    ck_assert_rc(spring_options_new(dup, 2, &o), SPRING_EINVAL);
    expect_msg("option a is listed twice", NULL, NULL);
    static const spring_plugin_option_t noname[] = {{"", SPRING_OPT_INT, "1", "", 0, 0}};
    ck_assert_rc(spring_options_new(noname, 1, &o), SPRING_EINVAL);
    static const spring_plugin_option_t badname[] = {{"a b", SPRING_OPT_INT, "1", "", 0, 0}};
    ck_assert_rc(spring_options_new(badname, 1, &o), SPRING_EINVAL);
    static const spring_plugin_option_t badtype[] = {{"a", (spring_option_type_t)9, "1", "", 0, 0}};
    ck_assert_rc(spring_options_new(badtype, 1, &o), SPRING_EINVAL);
    expect_msg("unknown type", NULL, NULL);
    static const spring_plugin_option_t baddef[] = {{"n", SPRING_OPT_INT, "7", "", 1, 5}};
    ck_assert_rc(spring_options_new(baddef, 1, &o), SPRING_EINVAL);
    expect_msg("option n", "default \"7\"", "not a valid integer");
    ck_assert_str_eq(spring_option_type_name(SPRING_OPT_SIZE), "size");
    ck_assert_str_eq(spring_option_type_name((spring_option_type_t)0), "?");
}
END_TEST

/* Ranges with 0 at one end: checked like any other (only min == max == 0
 * means no limit), 0 itself inside, one step past either end out. */
START_TEST(test_options_ranges_at_zero)
{
    static const spring_plugin_option_t zs[] = {
        {"count", SPRING_OPT_INT, "0", "from zero", 0, 10},
        {"below", SPRING_OPT_INT, "0", "up to zero", -5, 0},
        {"bytes", SPRING_OPT_SIZE, "0", "a size from zero", 0, 1 << 20},
        {"big", SPRING_OPT_INT, "0", "from zero, no top", 0, INT64_MAX},
    };
    spring_options_t *o;
    ck_assert_rc(spring_options_new(zs, sizeof zs / sizeof *zs, &o), 0);
    ck_assert_rc(spring_options_set(o, "count", "0"), 0);
    ck_assert_rc(spring_options_set(o, "count", "10"), 0);
    ck_assert_int_eq(spring_options_int(o, "count"), 10);
    ck_assert_rc(spring_options_set(o, "count", "-1"), SPRING_ERANGE);
    expect_msg("option count", "-1 is out of range", "[0, 10]");
    ck_assert_rc(spring_options_set(o, "count", "11"), SPRING_ERANGE);
    ck_assert_int_eq(spring_options_int(o, "count"), 10);
    ck_assert_rc(spring_options_set(o, "below", "0"), 0);
    ck_assert_rc(spring_options_set(o, "below", "-5"), 0);
    ck_assert_rc(spring_options_set(o, "below", "1"), SPRING_ERANGE);
    expect_msg("option below", "1 is out of range", "[-5, 0]");
    ck_assert_rc(spring_options_set(o, "below", "-6"), SPRING_ERANGE);
    ck_assert_int_eq(spring_options_int(o, "below"), -5);
    ck_assert_rc(spring_options_set(o, "bytes", "0"), 0);
    ck_assert_rc(spring_options_set(o, "bytes", "1MiB"), 0);
    ck_assert_rc(spring_options_set(o, "bytes", "1048577"), SPRING_ERANGE);
    expect_msg("option bytes", "out of range", "[0, 1048576]");
    ck_assert_uint_eq(spring_options_size(o, "bytes"), 1 << 20);
    ck_assert_rc(spring_options_set(o, "big", "0"), 0);
    ck_assert_rc(spring_options_set(o, "big", "9223372036854775807"), 0);
    ck_assert_rc(spring_options_set(o, "big", "-1"), SPRING_ERANGE);
    ck_assert_int_eq(spring_options_int(o, "big"), INT64_MAX);
    spring_options_free(o);
    /* A default outside such a range is refused too. */
    static const spring_plugin_option_t bad[] = {{"n", SPRING_OPT_INT, "-1", "", 0, 5}};
    ck_assert_rc(spring_options_new(bad, 1, &o), SPRING_EINVAL);
    expect_msg("option n", "default \"-1\"", "not a valid integer");
}
END_TEST

START_TEST(test_parse_size)
{
    static const struct {
        const char *text;
        int rc;
        uint64_t v;
    } t[] = {
        {"0", 0, 0},
        {"4096", 0, 4096},
        {"0x1000", 0, 4096},
        {"8MiB", 0, 8u << 20},
        {" 8 MiB ", 0, 8u << 20},
        {"1GiB", 0, 1u << 30},
        {"2TiB", 0, 2ull << 40},
        {"3KiB", 0, 3072},
        {"3K", 0, 3000},
        {"5MB", 0, 5000000},
        {"7B", 0, 7},
        {"8EiB", SPRING_EINVAL, 0},
        {"8mib", SPRING_EINVAL, 0},
        {"MiB", SPRING_EINVAL, 0},
        {"", SPRING_EINVAL, 0},
        {"-4", SPRING_EINVAL, 0},
        {"1.5MiB", SPRING_EINVAL, 0},
        {"9000000TiB", SPRING_EOVERFLOW, 0},
        {"99999999999999999999", SPRING_EOVERFLOW, 0},
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        uint64_t v = 12345;
        int rc = spring_parse_size(t[i].text, &v);
        ck_assert_msg(rc == t[i].rc, "\"%s\": %s", t[i].text, spring_err_name(rc));
        if (rc == 0)
            ck_assert_msg(v == t[i].v, "\"%s\": %llu", t[i].text, (unsigned long long)v);
    }
    uint64_t v;
    ck_assert_rc(spring_parse_size(NULL, &v), SPRING_EINVAL);
    ck_assert_rc(spring_parse_size("1", NULL), SPRING_EINVAL);
}
END_TEST

/* ------------------------------------------------------------------ */
/* The loader.                                                          */

START_TEST(test_load_builtin_soft)
{
    unsetenv("SPRING_PLUGIN_PATH");
    spring_plugin_lib_t *p, *q;
    ck_assert_rc(spring_plugin_load("soft", NULL, SPRING_PLUGIN_HAT, &p), 0);
    ck_assert_str_eq(spring_plugin_path(p), "(built in)");
    const spring_plugin_t *d = spring_plugin_info(p);
    ck_assert_str_eq(d->name, "soft");
    ck_assert_int_eq(d->kind, SPRING_PLUGIN_HAT);
    ck_assert_ptr_eq(d->hat, spring_hat_soft());
    ck_assert_rc(spring_plugin_load("soft", NULL, SPRING_PLUGIN_ANY, &q), 0);
    ck_assert_ptr_eq(p, q);
    spring_plugin_unref(q);
    ck_assert_rc(spring_plugin_load("soft", NULL, SPRING_PLUGIN_PAGER, &q), SPRING_EPLUGIN);
    expect_msg("expected a pager plugin", "found plugin soft of kind hat", "(built in)");
    spring_plugin_unref(p);
}
END_TEST

START_TEST(test_load_from_build_tree)
{
    unsetenv("SPRING_PLUGIN_PATH");
    spring_plugin_lib_t *p, *q;
    ck_assert_rc(spring_plugin_load("testhat", NULL, SPRING_PLUGIN_HAT, &p), 0);
    ck_assert_msg(strstr(spring_plugin_path(p), "t/plugins/.libs/testhat.so") != NULL, "%s", spring_plugin_path(p));
    const spring_plugin_t *d = spring_plugin_info(p);
    ck_assert_str_eq(d->name, "testhat");
    ck_assert_str_eq(d->version, "1.0");
    ck_assert_uint_eq(d->noptions, 1);
    ck_assert_str_eq(d->options[0].name, "tlb");
    ck_assert_ptr_nonnull(d->hat);
    /* Loaded once: a second load is another reference to the same. */
    ck_assert_rc(spring_plugin_load("testhat", NULL, SPRING_PLUGIN_ANY, &q), 0);
    ck_assert_ptr_eq(p, q);
    ck_assert_ptr_eq(spring_plugin_ref(q), q);
    spring_plugin_unref(q);
    spring_plugin_unref(q);
    /* By path, too (a name with a '/'). */
    ck_assert_rc(spring_plugin_load(spring_plugin_path(p), NULL, SPRING_PLUGIN_HAT, &q), 0);
    ck_assert_ptr_eq(p, q);
    spring_plugin_unref(q);
    /* The wrong kind names the path, what was expected and what was found. */
    ck_assert_rc(spring_plugin_load("testhat", NULL, SPRING_PLUGIN_SWAP, &q), SPRING_EPLUGIN);
    expect_msg("testhat.so", "expected a swap plugin", "found plugin testhat of kind hat");
    ck_assert_ptr_null(q);
    spring_plugin_unref(p);
    /* Loaded again after the last reference went. */
    ck_assert_rc(spring_plugin_load("nullpager", NULL, SPRING_PLUGIN_PAGER, &p), 0);
    ck_assert_int_eq(spring_plugin_info(p)->kind, SPRING_PLUGIN_PAGER);
    spring_plugin_unref(p);
}
END_TEST

START_TEST(test_load_missing)
{
    setenv("SPRING_PLUGIN_PATH", "/nonexistent/a:/nonexistent/b", 1);
    static const char *const dirs[] = {"/nonexistent/c", NULL};
    spring_plugin_lib_t *p = (void *)1;
    ck_assert_rc(spring_plugin_load("nosuchplugin", dirs, SPRING_PLUGIN_ANY, &p), SPRING_ENOENT);
    ck_assert_ptr_null(p);
    expect_msg("plugin nosuchplugin: not found in /nonexistent/a, /nonexistent/b, /nonexistent/c", "the build tree",
               "the built-in plugins");
    ck_assert_rc(spring_plugin_load("/nonexistent/x.so", NULL, SPRING_PLUGIN_ANY, &p), SPRING_ENOENT);
    expect_msg("/nonexistent/x.so", NULL, NULL);
    unsetenv("SPRING_PLUGIN_PATH");
}
END_TEST

/* Each broken plugin: its code and the words its message must hold. */
START_TEST(test_load_broken)
{
    unsetenv("SPRING_PLUGIN_PATH");
    static const struct {
        const char *name;
        int rc;
        const char *a, *b, *c;
    } t[] = {
        {"badabi", SPRING_EVERSION, "badabi.so", "plugin ABI 2.0", "expected 1.x with x <= 0"},
        {"newminor", SPRING_EVERSION, "newminor.so", "plugin ABI 1.1", "expected 1.x with x <= 0"},
        {"noentry", SPRING_EPLUGIN, "noentry.so", "expected the entry symbol spring_plugin_entry", "found none"},
        {"nullentry", SPRING_EPLUGIN, "nullentry.so", "expected a descriptor", "found NULL"},
        {"wrongname", SPRING_EPLUGIN, "wrongname.so", "expected plugin wrongname", "found plugin someoneelse"},
        {"noprovision", SPRING_EPLUGIN, "noprovision.so", "plugin noprovision of kind pager lacks",
         "instance_new"},
        {"badopt", SPRING_EPLUGIN, "badopt.so", "declares a bad option", "option blocks"},
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        spring_plugin_lib_t *p = (void *)1;
        int rc = spring_plugin_load(t[i].name, NULL, SPRING_PLUGIN_ANY, &p);
        ck_assert_msg(rc == t[i].rc, "%s: %s (%s)", t[i].name, spring_err_name(rc), spring_last_error());
        ck_assert_ptr_null(p);
        expect_msg(t[i].a, t[i].b, t[i].c);
    }
}
END_TEST

static char tmpdir[PATH_MAX];

static void make_tmpdir(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/springvm-plugin-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, n, f), n);
    ck_assert_int_eq(fclose(f), 0);
}

static void copy_file(const char *from, const char *to)
{
    FILE *f = fopen(from, "rb");
    ck_assert_ptr_nonnull(f);
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf, f);
    ck_assert(n > 0 && n < sizeof buf);
    fclose(f);
    write_file(to, buf, n);
}

static void rm_tmpdir(void)
{
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
}

START_TEST(test_load_not_a_shared_object)
{
    make_tmpdir();
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/junk.so", tmpdir);
    write_file(path, "not an ELF file\n", 16);
    static const char *dirs[] = {NULL, NULL};
    dirs[0] = tmpdir;
    unsetenv("SPRING_PLUGIN_PATH");
    spring_plugin_lib_t *p;
    ck_assert_rc(spring_plugin_load("junk", dirs, SPRING_PLUGIN_ANY, &p), SPRING_EPLUGIN);
    expect_msg("junk.so", "cannot load", NULL);
    rm_tmpdir();
}
END_TEST

struct listing {
    char lines[32][512];
    int n;
};

static int collect(void *arg, const spring_plugin_entry_info_t *e)
{
    struct listing *l = arg;
    if (l->n < 32)
        snprintf(l->lines[l->n++], sizeof l->lines[0], "%s|%s|%s|%d|%s", e->name, e->path,
                 e->shadowed ? "shadowed" : "-", e->rc, e->info ? e->info->description : e->error);
    return 0;
}

static const char *find_line(const struct listing *l, const char *a, const char *b)
{
    for (int i = 0; i < l->n; i++)
        if (strstr(l->lines[i], a) && (!b || strstr(l->lines[i], b)))
            return l->lines[i];
    return NULL;
}

static int stop_at_first(void *arg, const spring_plugin_entry_info_t *e)
{
    (void)e;
    ++*(int *)arg;
    return 42;
}

START_TEST(test_search_order_and_shadowing)
{
    /* testhat from the build tree, copied into a directory of
     * SPRING_PLUGIN_PATH: that copy wins, and the listing marks the build
     * tree's as shadowed. */
    unsetenv("SPRING_PLUGIN_PATH");
    spring_plugin_lib_t *p;
    ck_assert_rc(spring_plugin_load("testhat", NULL, SPRING_PLUGIN_HAT, &p), 0);
    char built[PATH_MAX], copy[PATH_MAX + 16];
    snprintf(built, sizeof built, "%s", spring_plugin_path(p));
    spring_plugin_unref(p);
    make_tmpdir();
    snprintf(copy, sizeof copy, "%s/testhat.so", tmpdir);
    copy_file(built, copy);
    setenv("SPRING_PLUGIN_PATH", tmpdir, 1);
    ck_assert_rc(spring_plugin_load("testhat", NULL, SPRING_PLUGIN_HAT, &p), 0);
    char real[PATH_MAX];
    ck_assert_ptr_nonnull(realpath(copy, real));
    ck_assert_str_eq(spring_plugin_path(p), real);
    spring_plugin_unref(p);
    /* A configuration's directory comes after SPRING_PLUGIN_PATH: with the
     * copy there instead, it still beats the build tree. */
    unsetenv("SPRING_PLUGIN_PATH");
    static const char *dirs[] = {NULL, NULL};
    dirs[0] = tmpdir;
    ck_assert_rc(spring_plugin_load("testhat", dirs, SPRING_PLUGIN_HAT, &p), 0);
    ck_assert_str_eq(spring_plugin_path(p), real);
    spring_plugin_unref(p);

    struct listing l = {.n = 0};
    ck_assert_rc(spring_plugin_list(dirs, collect, &l), 0);
    const char *first = find_line(&l, "testhat|", real);
    ck_assert_msg(first && strstr(first, "|-|0|"), "%s", first ? first : "no copy listed");
    const char *second = find_line(&l, "testhat|", "t/plugins/.libs/testhat.so");
    ck_assert_msg(second && strstr(second, "|shadowed|0|"), "%s", second ? second : "no build-tree entry");
    ck_assert_msg(first < second, "the copy is listed first");
    /* Broken plugins are listed with why they do not load. */
    const char *bad = find_line(&l, "badabi|", NULL);
    ck_assert_msg(bad && strstr(bad, "plugin ABI 2.0"), "%s", bad ? bad : "badabi not listed");
    ck_assert_ptr_nonnull(find_line(&l, "soft|(built in)|-|0|", NULL));
    ck_assert_ptr_nonnull(find_line(&l, "nullpager|", NULL));
    /* The visitor can stop the walk. */
    int calls = 0;
    ck_assert_int_eq(spring_plugin_list(NULL, stop_at_first, &calls), 42);
    ck_assert_int_eq(calls, 1);
    rm_tmpdir();
}
END_TEST

START_TEST(test_loader_illegal)
{
    spring_plugin_lib_t *p;
    ck_assert_rc(spring_plugin_load(NULL, NULL, SPRING_PLUGIN_ANY, &p), SPRING_EINVAL);
    ck_assert_rc(spring_plugin_load("", NULL, SPRING_PLUGIN_ANY, &p), SPRING_EINVAL);
    ck_assert_rc(spring_plugin_load("soft", NULL, SPRING_PLUGIN_ANY, NULL), SPRING_EINVAL);
    ck_assert_rc(spring_plugin_load("soft", NULL, (spring_plugin_kind_t)7, &p), SPRING_EINVAL);
    ck_assert_rc(spring_plugin_load("bad name", NULL, SPRING_PLUGIN_ANY, &p), SPRING_EINVAL);
    expect_msg("is not a plugin name", NULL, NULL);
    ck_assert_rc(spring_plugin_load("..", NULL, SPRING_PLUGIN_ANY, &p), SPRING_EINVAL);
    ck_assert_ptr_null(spring_plugin_info(NULL));
    ck_assert_ptr_null(spring_plugin_path(NULL));
    ck_assert_ptr_null(spring_plugin_ref(NULL));
    spring_plugin_unref(NULL);
    ck_assert_rc(spring_plugin_list(NULL, NULL, NULL), SPRING_EINVAL);
    ck_assert_str_eq(spring_plugin_kind_name(SPRING_PLUGIN_SWAP), "swap");
    ck_assert_str_eq(spring_plugin_kind_name((spring_plugin_kind_t)9), "?");
}
END_TEST

/* ------------------------------------------------------------------ */
/* A HAT plugin in a VMM.                                               */

START_TEST(test_hat_plugin_options_and_page_sizes)
{
    unsetenv("SPRING_PLUGIN_PATH");
    spring_plugin_lib_t *p;
    ck_assert_rc(spring_plugin_load("testhat", NULL, SPRING_PLUGIN_HAT, &p), 0);
    const spring_plugin_t *d = spring_plugin_info(p);
    spring_options_t *o;
    ck_assert_rc(spring_options_new(d->options, d->noptions, &o), 0);
    ck_assert_rc(spring_options_set(o, "tlb", "128"), 0);
    spring_vmm_config_t cfg;
    spring_vmm_config_init(&cfg);
    ck_assert_ptr_null(cfg.hat_opts);
    cfg.name = "plug";
    cfg.nframes = 64;
    cfg.hat = d->hat;
    cfg.hat_opts = o;
    cfg.mode = SPRING_VMM_DETERMINISTIC;
    spring_vmm_t *vmm;
    ck_assert_rc(spring_vmm_new(&cfg, &vmm), 0);
    const int64_t *with = spring_vmm_hat_extension(vmm, "testhat.created_with", 1);
    ck_assert_ptr_nonnull(with);
    ck_assert_int_eq(*with, 128);
    /* The VMM works through the plugin's HAT. */
    spring_as_t *as;
    ck_assert_rc(spring_as_new(vmm, NULL, &as), 0);
    spring_off_t len = 4 * 4096;
    spring_addr_t a = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_allocate_memory(as, &len, &a, SPRING_RIGHTS_RW), 0);
    ck_assert_rc(spring_as_write(as, a + 5000, "plugin", 7), 0);
    char buf[7];
    ck_assert_rc(spring_as_read(as, a + 5000, buf, 7), 0);
    ck_assert_str_eq(buf, "plugin");
    spring_as_destroy(as);
    ck_assert_rc(spring_vmm_destroy(vmm), 0);
    /* Without options the backend sees none. */
    cfg.hat_opts = NULL;
    ck_assert_rc(spring_vmm_new(&cfg, &vmm), 0);
    ck_assert_int_eq(*(const int64_t *)spring_vmm_hat_extension(vmm, "testhat.created_with", 1), -2);
    ck_assert_rc(spring_vmm_destroy(vmm), 0);
    /* 8 KiB pages: supported. */
    cfg.page_size = 8192;
    ck_assert_rc(spring_vmm_new(&cfg, &vmm), 0);
    ck_assert_rc(spring_vmm_destroy(vmm), 0);
    /* 16 KiB: refused, and the message says what the backend supports. */
    cfg.page_size = 16384;
    ck_assert_rc(spring_vmm_new(&cfg, &vmm), SPRING_EINVAL);
    expect_msg("HAT backend testhat does not support a page size of 16384 bytes", "it supports 4096, 8192", NULL);
    spring_options_free(o);
    spring_plugin_unref(p);
}
END_TEST

/* Whether a file whose name contains `name` is mapped in this process. */
static bool mapped(const char *name)
{
    FILE *f = fopen("/proc/self/maps", "r");
    ck_assert_ptr_nonnull(f);
    char line[1024];
    bool found = false;
    while (!found && fgets(line, sizeof line, f))
        found = strstr(line, name) != NULL;
    fclose(f);
    return found;
}

/* A VMM whose backend comes from a plugin (spring_plugin_hat_config) keeps
 * the plugin loaded after the caller's last reference goes; the VMM's
 * destruction unloads it. */
START_TEST(test_hat_plugin_stays_loaded)
{
    unsetenv("SPRING_PLUGIN_PATH");
    ck_assert(!mapped("testhat.so"));
    spring_plugin_lib_t *p;
    ck_assert_rc(spring_plugin_load("testhat", NULL, SPRING_PLUGIN_HAT, &p), 0);
    ck_assert(mapped("testhat.so"));
    spring_vmm_config_t cfg;
    spring_vmm_config_init(&cfg);
    cfg.name = "held";
    cfg.nframes = 16;
    cfg.mode = SPRING_VMM_DETERMINISTIC;
    ck_assert_rc(spring_plugin_hat_config(p, &cfg), 0);
    ck_assert_ptr_eq(cfg.hat, spring_plugin_info(p)->hat);
    ck_assert_ptr_eq(cfg.hat_hold.obj, p);
    spring_vmm_t *vmm;
    ck_assert_rc(spring_vmm_new(&cfg, &vmm), 0);
    spring_plugin_unref(p);
    ck_assert(mapped("testhat.so"));
    spring_as_t *as;
    ck_assert_rc(spring_as_new(vmm, NULL, &as), 0);
    spring_off_t len = 4096;
    spring_addr_t a = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_allocate_memory(as, &len, &a, SPRING_RIGHTS_RW), 0);
    ck_assert_rc(spring_as_write(as, a, "x", 1), 0);
    spring_as_destroy(as);
    ck_assert_rc(spring_vmm_destroy(vmm), 0);
    ck_assert(!mapped("testhat.so"));
    /* A VMM that failed to be created holds nothing either. */
    ck_assert_rc(spring_plugin_load("testhat", NULL, SPRING_PLUGIN_HAT, &p), 0);
    ck_assert_rc(spring_plugin_hat_config(p, &cfg), 0);
    cfg.page_size = 65536;
    ck_assert_rc(spring_vmm_new(&cfg, &vmm), SPRING_EINVAL);
    spring_plugin_unref(p);
    ck_assert(!mapped("testhat.so"));
}
END_TEST

/* spring_plugin_hat_config: only a HAT plugin; nothing written on error.  A
 * holder without both functions is refused by spring_vmm_new; with both,
 * ref is called once at creation and unref once at destruction. */
static int hold_refs, hold_unrefs;
static void t_ref(void *o)
{
    ck_assert_ptr_eq(o, &hold_refs);
    hold_refs++;
}
static void t_unref(void *o)
{
    ck_assert_ptr_eq(o, &hold_refs);
    hold_unrefs++;
}

START_TEST(test_hat_config_and_hold)
{
    unsetenv("SPRING_PLUGIN_PATH");
    spring_vmm_config_t cfg;
    spring_vmm_config_init(&cfg);
    ck_assert_ptr_null(cfg.hat_hold.obj);
    spring_plugin_lib_t *pager;
    ck_assert_rc(spring_plugin_load("mempager", NULL, SPRING_PLUGIN_PAGER, &pager), 0);
    ck_assert_rc(spring_plugin_hat_config(pager, &cfg), SPRING_EINVAL);
    ck_assert_ptr_null(cfg.hat);
    ck_assert_ptr_null(cfg.hat_hold.obj);
    ck_assert_rc(spring_plugin_hat_config(NULL, &cfg), SPRING_EINVAL);
    ck_assert_rc(spring_plugin_hat_config(pager, NULL), SPRING_EINVAL);
    spring_plugin_unref(pager);
    /* The built-in soft HAT is a HAT plugin too. */
    spring_plugin_lib_t *soft;
    ck_assert_rc(spring_plugin_load("soft", NULL, SPRING_PLUGIN_HAT, &soft), 0);
    ck_assert_rc(spring_plugin_hat_config(soft, &cfg), 0);
    ck_assert_ptr_eq(cfg.hat, spring_hat_soft());
    spring_plugin_unref(soft);

    spring_vmm_config_init(&cfg);
    cfg.name = "hold";
    cfg.nframes = 16;
    cfg.mode = SPRING_VMM_DETERMINISTIC;
    spring_vmm_t *vmm;
    cfg.hat_hold.obj = &hold_refs;
    cfg.hat_hold.ref = t_ref;
    ck_assert_rc(spring_vmm_new(&cfg, &vmm), SPRING_EINVAL);
    cfg.hat_hold.ref = NULL;
    cfg.hat_hold.unref = t_unref;
    ck_assert_rc(spring_vmm_new(&cfg, &vmm), SPRING_EINVAL);
    cfg.hat_hold.ref = t_ref;
    /* A creation that fails later takes no reference. */
    cfg.page_size = 3000;
    ck_assert_rc(spring_vmm_new(&cfg, &vmm), SPRING_EINVAL);
    ck_assert_int_eq(hold_refs, 0);
    cfg.page_size = 4096;
    ck_assert_rc(spring_vmm_new(&cfg, &vmm), 0);
    ck_assert_int_eq(hold_refs, 1);
    ck_assert_int_eq(hold_unrefs, 0);
    ck_assert_rc(spring_vmm_destroy(vmm), 0);
    ck_assert_int_eq(hold_refs, 1);
    ck_assert_int_eq(hold_unrefs, 1);
}
END_TEST

/* A HAT of version 2 (no page_sizes) is still accepted; 1 and 4 are not. */
START_TEST(test_hat_versions)
{
    spring_hat_ops_t h = *spring_hat_soft();
    spring_vmm_config_t cfg;
    spring_vmm_config_init(&cfg);
    cfg.name = "v";
    cfg.nframes = 16;
    cfg.mode = SPRING_VMM_DETERMINISTIC;
    cfg.hat = &h;
    cfg.page_size = 16384;
    spring_vmm_t *vmm;
    h.version = 2;
    h.page_sizes = 4096; /* not read in a version-2 vtable */
    ck_assert_rc(spring_vmm_new(&cfg, &vmm), 0);
    ck_assert_rc(spring_vmm_destroy(vmm), 0);
    h.version = 3;
    ck_assert_rc(spring_vmm_new(&cfg, &vmm), SPRING_EINVAL);
    h.version = 4;
    ck_assert_rc(spring_vmm_new(&cfg, &vmm), SPRING_EVERSION);
    expect_msg("vtable version 4", "accepts 2 and 3", NULL);
    h.version = 1;
    ck_assert_rc(spring_vmm_new(&cfg, &vmm), SPRING_EVERSION);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Memory-object queries.                                               */

static int q_bind(void *self, const char *vmm_name, spring_rights_t access, spring_off_t off, spring_off_t *length,
                  spring_cache_rights_t *rights, spring_off_t *cache_off, long *flags)
{
    (void)self, (void)vmm_name, (void)access, (void)off, (void)length, (void)rights, (void)cache_off, (void)flags;
    return SPRING_ENOSYS;
}

static int q_final_bind(void *self, spring_bind_key_t key, const char *vmm_name, spring_rights_t access,
                        spring_off_t off, spring_off_t length, long *flags)
{
    (void)self, (void)key, (void)vmm_name, (void)access, (void)off, (void)length, (void)flags;
    return SPRING_ENOSYS;
}

static const int answer = 42;

static const void *q_query(void *self, const char *name, int version)
{
    (void)self;
    return strcmp(name, "test.answer") == 0 && version == 1 ? &answer : NULL;
}

START_TEST(test_mobj_query)
{
    spring_mobj_ops_t ops = {.version = 2, .bind = q_bind, .final_bind = q_final_bind, .query = q_query};
    spring_mobj_t *m;
    ck_assert_rc(spring_mobj_new(&ops, NULL, &m), 0);
    ck_assert_ptr_eq(spring_mobj_query(m, "test.answer", 1), &answer);
    ck_assert_ptr_null(spring_mobj_query(m, "test.answer", 2));
    ck_assert_ptr_null(spring_mobj_query(m, SPRING_MOBJ_VIEW_INTERFACE, 1));
    ck_assert_ptr_null(spring_mobj_query(m, NULL, 1));
    ck_assert_ptr_null(spring_mobj_query(NULL, "test.answer", 1));
    spring_mobj_unref(m);
    /* Version 1 has no query slot: never called, even if set. */
    ops.version = 1;
    ck_assert_rc(spring_mobj_new(&ops, NULL, &m), 0);
    ck_assert_ptr_null(spring_mobj_query(m, "test.answer", 1));
    spring_mobj_unref(m);
    /* Version 2 without query. */
    ops.version = 2;
    ops.query = NULL;
    ck_assert_rc(spring_mobj_new(&ops, NULL, &m), 0);
    ck_assert_ptr_null(spring_mobj_query(m, "test.answer", 1));
    spring_mobj_unref(m);
    ops.version = 3;
    ck_assert_rc(spring_mobj_new(&ops, NULL, &m), SPRING_EVERSION);
}
END_TEST

/* A plugin describes its own failure for the messages that quote it. */
START_TEST(test_set_last_error)
{
    spring_set_last_error("%s: %s", "/data/file", "No such file or directory");
    ck_assert_str_eq(spring_last_error(), "/data/file: No such file or directory");
    char big[2000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    spring_set_last_error("%s", big);
    ck_assert_uint_eq(strlen(spring_last_error()), 1023);
    spring_set_last_error(NULL);
    ck_assert_str_eq(spring_last_error(), "");
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("plugin");
    TCase *t = tcase_create("options");
    tcase_add_test(t, test_options_defaults_and_values);
    tcase_add_test(t, test_options_errors);
    tcase_add_test(t, test_options_ranges_at_zero);
    tcase_add_test(t, test_parse_size);
    suite_add_tcase(s, t);
    t = tcase_create("loader");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, test_load_builtin_soft);
    tcase_add_test(t, test_load_from_build_tree);
    tcase_add_test(t, test_load_missing);
    tcase_add_test(t, test_load_broken);
    tcase_add_test(t, test_load_not_a_shared_object);
    tcase_add_test(t, test_search_order_and_shadowing);
    tcase_add_test(t, test_loader_illegal);
    suite_add_tcase(s, t);
    t = tcase_create("vmm");
    tcase_add_test(t, test_hat_plugin_options_and_page_sizes);
    tcase_add_test(t, test_hat_versions);
    tcase_add_test(t, test_hat_plugin_stays_loaded);
    tcase_add_test(t, test_hat_config_and_hold);
    tcase_add_test(t, test_mobj_query);
    tcase_add_test(t, test_set_last_error);
    suite_add_tcase(s, t);
    return s;
}
