/*
 * check_stack.c - a paging stack from JSON (stack.h): a configuration
 * builds the VMM with a HAT plugin and its options, anonymous objects and
 * address spaces with their mappings, which the program takes by name and
 * gives back; close refuses while anything is taken; swap pagers (one
 * per address space at most; the VMM's otherwise, with or without address
 * spaces); and a table of malformed configurations, each with the exact
 * message a user reads.
 * Only the public headers are used; the plugins are those of t/plugins.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testlib.h"
#include "testmain.h"

static const char *good =
    "{\n"
    "  \"description\": \"a test stack\",\n"
    "  \"vmm\": {\"name\": \"stack\", \"page_size\": \"4KiB\", \"pool\": \"256KiB\", \"mode\": \"deterministic\",\n"
    "          \"trace\": 64,\n"
    "          \"hat\": {\"plugin\": \"testhat\", \"options\": {\"tlb\": 99}}},\n"
    "  \"objects\": [ {\"name\": \"scratch\", \"anonymous\": \"64KiB\"} ],\n"
    "  \"address_spaces\": [\n"
    "    {\"name\": \"one\", \"privileged\": true, \"mappings\": [\n"
    "       {\"name\": \"heap\", \"anonymous\": \"32KiB\", \"rights\": \"rw\"},\n"
    "       {\"name\": \"shared\", \"object\": \"scratch\", \"address\": \"0x40000000\"} ]},\n"
    "    {\"name\": \"two\", \"mappings\": [ {\"name\": \"shared\", \"object\": \"scratch\", \"offset\": 4096,\n"
    "                                         \"length\": 8192, \"rights\": \"r\"} ]}\n"
    "  ],\n"
    "  \"workloads\": [ {\"anything\": \"the runner's business\"} ]\n"
    "}\n";

START_TEST(test_stack_builds_and_closes)
{
    unsetenv("SPRING_PLUGIN_PATH");
    spring_stack_t *s;
    int rc = spring_stack_open_string(good, "good.json", &s);
    ck_assert_msg(rc == 0, "%s: %s", spring_err_name(rc), spring_stack_error());
    spring_vmm_t *vmm;
    ck_assert_rc(spring_stack_get_vmm(s, &vmm), 0);
    ck_assert_str_eq(spring_vmm_name(vmm), "stack");
    const int64_t *with = spring_vmm_hat_extension(vmm, "testhat.created_with", 1);
    ck_assert_ptr_nonnull(with);
    ck_assert_int_eq(*with, 99);
    ck_assert_uint_eq(test_vm_info(vmm).nframes, 64);
    ck_assert_uint_eq(spring_vmm_trace_size(vmm), 64);
    spring_as_t *one, *two;
    ck_assert_rc(spring_stack_get_as(s, "one", &one), 0);
    ck_assert_rc(spring_stack_get_as(s, "two", &two), 0);
    spring_addr_t a1, a2, h;
    spring_off_t l1, l2, hl;
    ck_assert_rc(spring_stack_mapping(s, "one", "shared", &a1, &l1), 0);
    ck_assert_uint_eq(a1, 0x40000000);
    ck_assert_uint_eq(l1, 65536);
    ck_assert_rc(spring_stack_mapping(s, "two", "shared", &a2, &l2), 0);
    ck_assert_uint_eq(l2, 8192);
    ck_assert_rc(spring_stack_mapping(s, "one", "heap", &h, &hl), 0);
    ck_assert_uint_eq(hl, 32768);
    /* One object mapped in two spaces: the same memory. */
    ck_assert_rc(spring_as_write(one, a1 + 4096 + 10, "shared!", 8), 0);
    char buf[8];
    ck_assert_rc(spring_as_read(two, a2 + 10, buf, 8), 0);
    ck_assert_str_eq(buf, "shared!");
    ck_assert_rc(spring_as_write(two, a2, "x", 1), SPRING_EACCES); /* mapped read-only */
    ck_assert_rc(spring_as_write(one, h, "heap", 5), 0);
    /* Names in configuration order. */
    ck_assert_str_eq(spring_stack_name(s, "address_spaces", NULL, 1), "two");
    ck_assert_ptr_null(spring_stack_name(s, "address_spaces", NULL, 2));
    ck_assert_str_eq(spring_stack_name(s, "objects", NULL, 0), "scratch");
    ck_assert_str_eq(spring_stack_name(s, "mappings", "one", 1), "shared");
    ck_assert_ptr_null(spring_stack_name(s, "mappings", "nosuch", 0));
    ck_assert_ptr_null(spring_stack_name(s, "colours", NULL, 0));
    spring_mobj_t *m;
    ck_assert_rc(spring_stack_get_mobj(s, "scratch", &m), 0);
    spring_off_t len;
    ck_assert_rc(spring_mobj_get_length(m, &len), 0);
    ck_assert_uint_eq(len, 65536);
    /* Close refuses while anything is taken, naming it, and changes nothing. */
    ck_assert_rc(spring_stack_close(s), SPRING_EBUSY);
    ck_assert_msg(strstr(spring_stack_error(), "the VMM, address space one, address space two, object scratch"),
                  "%s", spring_stack_error());
    ck_assert_rc(spring_as_read(two, a2 + 10, buf, 8), 0);
    ck_assert_rc(spring_stack_put_mobj(s, m), 0);
    ck_assert_rc(spring_stack_put_mobj(s, m), SPRING_EINVAL); /* not taken any more */
    ck_assert_rc(spring_stack_put_as(s, one), 0);
    ck_assert_rc(spring_stack_put_as(s, one), SPRING_EINVAL);
    ck_assert_rc(spring_stack_close(s), SPRING_EBUSY);
    ck_assert_rc(spring_stack_put_as(s, two), 0);
    ck_assert_rc(spring_stack_put_vmm(s, vmm), 0);
    ck_assert_rc(spring_stack_put_vmm(s, vmm), SPRING_EINVAL);
    ck_assert_rc(spring_stack_close(s), 0);
    ck_assert_rc(spring_stack_close(NULL), 0);
}
END_TEST

START_TEST(test_stack_illegal)
{
    spring_stack_t *s;
    ck_assert_rc(spring_stack_open(NULL, &s), SPRING_EINVAL);
    ck_assert_rc(spring_stack_open("x.json", NULL), SPRING_EINVAL);
    ck_assert_rc(spring_stack_open_string(NULL, NULL, &s), SPRING_EINVAL);
    ck_assert_rc(spring_stack_open_string("{}", NULL, NULL), SPRING_EINVAL);
    ck_assert_rc(spring_stack_open_string("{\"vmm\": {\"mode\": \"deterministic\"}}", NULL, &s), 0);
    spring_vmm_t *vmm;
    spring_as_t *as;
    spring_mobj_t *m;
    spring_addr_t a;
    spring_off_t l;
    ck_assert_rc(spring_stack_get_vmm(NULL, &vmm), SPRING_EINVAL);
    ck_assert_rc(spring_stack_get_vmm(s, NULL), SPRING_EINVAL);
    ck_assert_rc(spring_stack_put_vmm(s, NULL), SPRING_EINVAL);
    ck_assert_rc(spring_stack_get_as(s, "none", &as), SPRING_ENOENT);
    ck_assert_msg(strstr(spring_stack_error(), "no address space named \"none\" in <string>"), "%s",
                  spring_stack_error());
    ck_assert_rc(spring_stack_get_as(NULL, "x", &as), SPRING_EINVAL);
    ck_assert_rc(spring_stack_get_as(s, NULL, &as), SPRING_EINVAL);
    ck_assert_rc(spring_stack_get_as(s, "x", NULL), SPRING_EINVAL);
    ck_assert_rc(spring_stack_put_as(s, NULL), SPRING_EINVAL);
    ck_assert_rc(spring_stack_get_mobj(s, "none", &m), SPRING_ENOENT);
    ck_assert_rc(spring_stack_get_mobj(NULL, "x", &m), SPRING_EINVAL);
    ck_assert_rc(spring_stack_put_mobj(s, NULL), SPRING_EINVAL);
    ck_assert_rc(spring_stack_mapping(s, "none", "m", &a, &l), SPRING_ENOENT);
    ck_assert_rc(spring_stack_mapping(s, NULL, "m", &a, &l), SPRING_EINVAL);
    ck_assert_rc(spring_stack_mapping(s, "x", "m", NULL, &l), SPRING_EINVAL);
    ck_assert_ptr_null(spring_stack_name(NULL, "objects", NULL, 0));
    ck_assert_ptr_null(spring_stack_name(s, NULL, NULL, 0));
    ck_assert_rc(spring_stack_close(s), 0);
}
END_TEST

START_TEST(test_stack_from_file)
{
    char dir[] = "/tmp/springvm-stack-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[sizeof dir + 16];
    snprintf(path, sizeof path, "%s/node.json", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("{\"vmm\": {\"pool\": \"1MiB\", \"mode\": \"deterministic\"},\n"
          " \"address_spaces\": [{\"name\": \"a\", \"mappings\": [{\"name\": \"m\", \"anonymous\": 8192}]}]}\n",
          f);
    fclose(f);
    spring_stack_t *s;
    ck_assert_rc(spring_stack_open(path, &s), 0);
    spring_addr_t a;
    spring_off_t l;
    ck_assert_rc(spring_stack_mapping(s, "a", "m", &a, &l), 0);
    ck_assert_uint_eq(l, 8192);
    ck_assert_rc(spring_stack_close(s), 0);
    /* A syntax error in a file: FILE:LINE:COLUMN. */
    f = fopen(path, "w");
    fputs("{\"vmm\": {\n  \"pool\": 1MiB}}\n", f);
    fclose(f);
    ck_assert_rc(spring_stack_open(path, &s), SPRING_ECONFIG);
    char want[256];
    snprintf(want, sizeof want, "%s:2:14: ", path);
    ck_assert_msg(strncmp(spring_stack_error(), want, strlen(want)) == 0, "%s", spring_stack_error());
    unlink(path);
    ck_assert_rc(spring_stack_open(path, &s), SPRING_ECONFIG);
    ck_assert_msg(strstr(spring_stack_error(), "unable to open") != NULL, "%s", spring_stack_error());
    rmdir(dir);
}
END_TEST

/* Swap pagers: one that two address spaces name is refused, with the
 * message, and the swap file its instance made is gone; one that no
 * address space names serves the VMM's anonymous memory, in a
 * configuration with address spaces or without. */
START_TEST(test_stack_swap_pagers)
{
    unsetenv("SPRING_PLUGIN_PATH");
    char f[128], sw[256], json[1024];
    snprintf(f, sizeof f, "/tmp/springvm-check-stack-%ld.swap", (long)getpid());
    snprintf(sw, sizeof sw,
             "\"swap\": [{\"name\": \"s\", \"plugin\": \"swap\", \"options\": {\"files\": \"%s\", \"size\": \"1MiB\"}}]",
             f);
    snprintf(json, sizeof json,
             "{\"vmm\": {\"default_swap\": false}, %s,\n"
             " \"address_spaces\": [{\"name\": \"a\", \"swap\": \"s\"}, {\"name\": \"b\", \"swap\": \"s\"}]}",
             sw);
    spring_stack_t *s = (void *)1;
    ck_assert_rc(spring_stack_open_string(json, "two.json", &s), SPRING_ECONFIG);
    ck_assert_ptr_null(s);
    ck_assert_str_eq(spring_stack_error(),
                     "two.json: address_spaces[1].swap: swap pager \"s\" is already the swap pager of address_spaces[0]");
    ck_assert_msg(access(f, F_OK) != 0, "%s left behind", f);
    for (int with_as = 0; with_as < 2; with_as++) {
        snprintf(json, sizeof json,
                 "{\"vmm\": {\"default_swap\": false}, %s,\n"
                 " \"objects\": [{\"name\": \"o\", \"anonymous\": 8192}]%s}",
                 sw, with_as ? ", \"address_spaces\": [{\"name\": \"a\", \"mappings\": [{\"name\": \"m\", "
                               "\"anonymous\": 8192}]}]"
                             : "");
        int rc = spring_stack_open_string(json, "vmm.json", &s);
        ck_assert_msg(rc == 0, "%s: %s", spring_err_name(rc), spring_stack_error());
        spring_mobj_t *m;
        ck_assert_rc(spring_stack_get_mobj(s, "o", &m), 0);
        ck_assert_msg(spring_mobj_query(m, SPRING_SWAP_INTERFACE, SPRING_SWAP_INTERFACE_VERSION) != NULL,
                      "object o is not the swap plugin's");
        ck_assert_rc(spring_stack_put_mobj(s, m), 0);
        ck_assert_rc(spring_stack_close(s), 0);
        ck_assert_msg(access(f, F_OK) != 0, "%s left behind", f);
    }
}
END_TEST

/* Malformed configurations and the exact message of each. */
static const struct {
    const char *json;
    int rc;
    const char *msg;
} bad[] = {
    {"{\"vmm\": {}", SPRING_ECONFIG, "bad.json:1:10: '}' expected near end of file"},
    {"[]", SPRING_ECONFIG, "bad.json: expected an object, found an array"},
    {"{}", SPRING_ECONFIG, "bad.json: missing key vmm (an object)"},
    {"{\"vmm\": {}, \"colour\": 1}", SPRING_ECONFIG,
     "bad.json: colour: unknown key (expected one of: description, plugin_path, vmm, swap, pagers, objects, "
     "address_spaces, workloads)"},
    {"{\"vmm\": {\"pool\": true}}", SPRING_ECONFIG,
     "bad.json: vmm.pool: expected a size (a number of bytes, or a string like \"8MiB\"), found true"},
    {"{\"vmm\": {\"pool\": \"8 furlongs\"}}", SPRING_ECONFIG,
     "bad.json: vmm.pool: expected a size (a number of bytes, or a string like \"8MiB\"), found \"8 furlongs\""},
    {"{\"vmm\": {\"pool\": 4096}}", SPRING_ECONFIG,
     "bad.json: vmm.pool: expected a size from 16384 to 1099511627776 bytes, found 4096"},
    {"{\"vmm\": {\"page_size\": 12288}}", SPRING_ECONFIG,
     "bad.json: vmm.page_size: expected a power of two, found 12288"},
    {"{\"vmm\": {\"pool\": 20000}}", SPRING_ECONFIG,
     "bad.json: vmm.pool: expected a multiple of the page size (4096), found 20000"},
    {"{\"vmm\": {\"mode\": \"fast\"}}", SPRING_ECONFIG,
     "bad.json: vmm.mode: expected \"threaded\" or \"deterministic\", found \"fast\""},
    {"{\"vmm\": {\"name\": 7}}", SPRING_ECONFIG, "bad.json: vmm.name: expected a string, found 7"},
    {"{\"vmm\": {\"name\": \"\"}}", SPRING_ECONFIG, "bad.json: vmm.name: expected a non-empty string, found \"\""},
    {"{\"vmm\": {\"default_swap\": \"yes\"}}", SPRING_ECONFIG,
     "bad.json: vmm.default_swap: expected true or false, found \"yes\""},
    {"{\"vmm\": {\"max_unattached_caches\": -1}}", SPRING_ECONFIG,
     "bad.json: vmm.max_unattached_caches: expected an integer from 0 to 1073741824, found -1"},
    {"{\"vmm\": {\"trace\": \"lots\"}}", SPRING_ECONFIG,
     "bad.json: vmm.trace: expected an integer from 0 to 16777216, found \"lots\""},
    {"{\"vmm\": {\"hat\": 3}}", SPRING_ECONFIG,
     "bad.json: vmm.hat: expected a plugin name or an object {\"plugin\", \"options\"}, found 3"},
    {"{\"vmm\": {\"hat\": {\"options\": {}}}}", SPRING_ECONFIG, "bad.json: vmm.hat: missing key plugin (a string)"},
    {"{\"vmm\": {\"hat\": {\"plugin\": \"testhat\", \"options\": {\"tlb\": \"many\"}}}}", SPRING_ECONFIG,
     "bad.json: vmm.hat.options.tlb: expected an integer, found \"many\""},
    {"{\"vmm\": {\"hat\": {\"plugin\": \"testhat\", \"options\": {\"tlb\": 5000}}}}", SPRING_ECONFIG,
     "bad.json: vmm.hat.options.tlb: option tlb: 5000 is out of range [1, 4096]"},
    {"{\"vmm\": {\"hat\": {\"plugin\": \"testhat\", \"options\": {\"ways\": 2}}}}", SPRING_ECONFIG,
     "bad.json: vmm.hat.options.ways: unknown option (the plugin's options: tlb)"},
    {"{\"vmm\": {\"hat\": {\"plugin\": \"soft\", \"options\": {\"ways\": 2}}}}", SPRING_ECONFIG,
     "bad.json: vmm.hat.options.ways: unknown option (the plugin's options: none)"},
    {"{\"vmm\": {\"hat\": \"nullpager\"}}", SPRING_EPLUGIN,
     "bad.json: vmm.hat: @/t/plugins/.libs/nullpager.so: expected a hat plugin, found plugin nullpager of kind pager"},
    {"{\"vmm\": {\"hat\": \"testhat\", \"page_size\": \"16KiB\"}}", SPRING_EINVAL,
     "bad.json: vmm: the VMM could not be created: invalid argument: HAT backend testhat does not support a page "
     "size of 16384 bytes (it supports 4096, 8192)"},
    {"{\"vmm\": {}, \"pagers\": [{\"name\": \"p\", \"plugin\": \"testhat\"}]}", SPRING_EPLUGIN,
     "bad.json: pagers[0].plugin: @/t/plugins/.libs/testhat.so: expected a pager plugin, found plugin testhat of "
     "kind hat"},
    {"{\"vmm\": {}, \"pagers\": [{\"name\": \"p\", \"plugin\": \"badabi\"}]}", SPRING_EVERSION,
     "bad.json: pagers[0].plugin: @/t/plugins/.libs/badabi.so: plugin ABI 2.0, expected 1.x with x <= 0"},
    {"{\"vmm\": {}, \"pagers\": [{\"name\": \"p\"}]}", SPRING_ECONFIG,
     "bad.json: pagers[0]: missing key plugin (a string)"},
    {"{\"vmm\": {}, \"pagers\": {}}", SPRING_ECONFIG, "bad.json: pagers: expected an array, found an object"},
    {"{\"vmm\": {}, \"pagers\": [{\"name\": \"p\", \"plugin\": \"nullpager\", \"options\": {\"unused\": 1}}]}",
     SPRING_ECONFIG, "bad.json: pagers[0].options.unused: expected true or false, found 1"},
    {"{\"vmm\": {}, \"pagers\": [{\"name\": \"p\", \"plugin\": \"nullpager\"}]}", SPRING_ENOSYS,
     "bad.json: pagers[0]: pager p (plugin nullpager) could not start: operation not implemented"},
    {"{\"vmm\": {}, \"swap\": [{\"name\": \"s\", \"plugin\": \"nosuch\"}]}", SPRING_ENOENT,
     "bad.json: swap[0].plugin: plugin nosuch: not found in "},
    {"{\"vmm\": {}, \"objects\": [{\"name\": \"o\", \"pager\": \"p\"}]}", SPRING_ECONFIG,
     "bad.json: objects[0].pager: no pager named \"p\" (defined: none)"},
    {"{\"vmm\": {}, \"objects\": [{\"name\": \"o\"}]}", SPRING_ECONFIG,
     "bad.json: objects[0]: expected exactly one of pager, view and anonymous"},
    {"{\"vmm\": {}, \"objects\": [{\"name\": \"o\", \"anonymous\": 8192, \"rights\": \"r\"}]}", SPRING_ECONFIG,
     "bad.json: objects[0]: rights belong to views"},
    {"{\"vmm\": {}, \"objects\": [{\"name\": \"o\", \"anonymous\": 100}]}", SPRING_ECONFIG,
     "bad.json: objects[0].anonymous: expected a multiple of the page size (4096), found 100"},
    {"{\"vmm\": {}, \"objects\": [{\"name\": \"o\", \"anonymous\": 8192}, {\"name\": \"o\", \"anonymous\": 8192}]}",
     SPRING_ECONFIG, "bad.json: objects[1].name: object \"o\" is defined twice"},
    {"{\"vmm\": {}, \"objects\": [{\"name\": \"v\", \"view\": \"o\"}, {\"name\": \"o\", \"anonymous\": 8192}]}",
     SPRING_ECONFIG, "bad.json: objects[0].view: no object named \"o\" defined before this one (defined: none)"},
    {"{\"vmm\": {}, \"objects\": [{\"name\": \"o\", \"anonymous\": 8192}, {\"name\": \"v\", \"view\": \"o\", "
     "\"rights\": \"w\"}]}",
     SPRING_ECONFIG, "bad.json: objects[1].rights: expected rights \"r\", \"rw\", \"rx\" or \"rwx\", found \"w\""},
    {"{\"vmm\": {}, \"objects\": [{\"name\": \"o\", \"anonymous\": 8192}, {\"name\": \"v\", \"view\": \"o\"}]}",
     SPRING_ENOSYS,
     "bad.json: objects[1].view: object \"o\" cannot hand out views (its pager offers no spring.view interface)"},
    {"{\"vmm\": {}, \"address_spaces\": [{\"name\": \"a\", \"swap\": \"s\"}]}", SPRING_ECONFIG,
     "bad.json: address_spaces[0].swap: no swap pager named \"s\" (defined: none)"},
    {"{\"vmm\": {}, \"address_spaces\": [{\"name\": \"a\"}, {\"name\": \"a\"}]}", SPRING_ECONFIG,
     "bad.json: address_spaces[1].name: address space \"a\" is defined twice"},
    {"{\"vmm\": {}, \"address_spaces\": [{\"name\": \"a\", \"mappings\": [{\"object\": \"o\"}]}]}", SPRING_ECONFIG,
     "bad.json: address_spaces[0].mappings[0].object: no object named \"o\" (defined: none)"},
    {"{\"vmm\": {}, \"address_spaces\": [{\"name\": \"a\", \"mappings\": [{\"anonymous\": 8192, \"address\": "
     "\"high\"}]}]}",
     SPRING_ECONFIG,
     "bad.json: address_spaces[0].mappings[0].address: expected an address (a number, \"0x...\") or \"anywhere\", "
     "found \"high\""},
    {"{\"vmm\": {}, \"address_spaces\": [{\"name\": \"a\", \"mappings\": [{\"anonymous\": 8192, \"addr\": 1}]}]}",
     SPRING_ECONFIG,
     "bad.json: address_spaces[0].mappings[0].addr: unknown key (expected one of: name, object, anonymous, offset, "
     "length, address, rights)"},
    {"{\"vmm\": {}, \"objects\": [{\"name\": \"o\", \"anonymous\": 8192}], \"address_spaces\": [{\"name\": \"a\", "
     "\"mappings\": [{\"object\": \"o\", \"offset\": 8192}]}]}",
     SPRING_ERANGE,
     "bad.json: address_spaces[0].mappings[0]: offset 8192 is at or past the end of object o (8192 bytes)"},
    {"{\"vmm\": {}, \"address_spaces\": [{\"name\": \"a\", \"mappings\": [{\"anonymous\": 8192, \"address\": "
     "\"0x10000\"}, {\"anonymous\": 8192, \"address\": \"0x10000\"}]}]}",
     SPRING_EEXIST,
     "bad.json: address_spaces[0].mappings[1]: the mapping failed: range overlaps an existing mapping"},
    {"{\"vmm\": {}, \"plugin_path\": [\"\"]}", SPRING_ECONFIG,
     "bad.json: plugin_path[0]: expected a directory (a non-empty string), found \"\""},
    {"{\"vmm\": {}, \"vmm\": {}}", SPRING_ECONFIG, "bad.json:1:17: duplicate object key near '\"vmm\"'"},
};

START_TEST(test_stack_bad_configs)
{
    unsetenv("SPRING_PLUGIN_PATH");
    char builddir[4096];
    ck_assert_ptr_nonnull(getcwd(builddir, sizeof builddir));
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        spring_stack_t *s = (void *)1;
        int rc = spring_stack_open_string(bad[i].json, "bad.json", &s);
        ck_assert_msg(rc == bad[i].rc, "[%zu] %s: %s, want %s: %s", i, bad[i].json, spring_err_name(rc),
                      spring_err_name(bad[i].rc), spring_stack_error());
        ck_assert_ptr_null(s);
        /* '@' stands for the build directory (where make check runs). */
        char want[8192];
        const char *at = strchr(bad[i].msg, '@');
        if (at)
            snprintf(want, sizeof want, "%.*s%s%s", (int)(at - bad[i].msg), bad[i].msg, builddir, at + 1);
        else
            snprintf(want, sizeof want, "%s", bad[i].msg);
        const char *got = spring_stack_error();
        bool prefix = want[strlen(want) - 1] == ' '; /* a message that goes on with the machine's own paths */
        ck_assert_msg(prefix ? strncmp(got, want, strlen(want)) == 0 : strcmp(got, want) == 0,
                      "[%zu] %s\n got: %s\nwant: %s", i, bad[i].json, got, want);
    }
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("stack");
    TCase *t = tcase_create("stack");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, test_stack_builds_and_closes);
    tcase_add_test(t, test_stack_illegal);
    tcase_add_test(t, test_stack_from_file);
    tcase_add_test(t, test_stack_bad_configs);
    tcase_add_test(t, test_stack_swap_pagers);
    suite_add_tcase(s, t);
    return s;
}
