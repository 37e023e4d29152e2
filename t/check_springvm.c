/*
 * check_springvm.c - the springvm command as a user runs it: run on the
 * shipped configuration checks its data and exits 0; --json prints one
 * JSON document and nothing else; check-config and run report a bad
 * configuration, bad workloads and a bad trace file with the location and
 * exit 2; plugins lists what the search path holds; unknown commands and
 * options are refused.  The command is run from the build tree
 * (springvm/springvm); the output is checked with jansson.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "testlib.h"
#include "testmain.h"

#ifndef SPRINGVM_BIN
#define SPRINGVM_BIN "springvm/springvm"
#endif
#ifndef SRCDIR
#define SRCDIR "."
#endif
#ifndef BUILDDIR
#define BUILDDIR "."
#endif

/* Run springvm with the arguments (a shell fragment); collect stdout and
 * stderr separately; return the exit status. */
static int run(const char *args, char *out, size_t nout, char *err, size_t nerr)
{
    char errf[] = "/tmp/springvm-err-XXXXXX";
    int fd = mkstemp(errf);
    ck_assert_int_ge(fd, 0);
    close(fd);
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s %s 2>%s", SPRINGVM_BIN, args, errf);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    size_t n = fread(out, 1, nout - 1, p);
    out[n] = '\0';
    char sink[4096]; /* the rest is read and dropped, so the command is not cut short */
    while (fread(sink, 1, sizeof sink, p) > 0)
        ;
    int st = pclose(p);
    FILE *e = fopen(errf, "r");
    ck_assert_ptr_nonnull(e);
    n = fread(err, 1, nerr - 1, e);
    err[n] = '\0';
    fclose(e);
    unlink(errf);
    ck_assert(WIFEXITED(st));
    return WEXITSTATUS(st);
}

static char out[1 << 16], err[1 << 16];

/* A new file (path: a mkstemp template) of n blocks of 64 KiB, byte i of
 * each block (i * mul + 1). */
static void pattern_file(char *path, int n, unsigned mul)
{
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    static char block[65536];
    for (size_t i = 0; i < sizeof block; i++)
        block[i] = (char)(i * mul + 1);
    for (int i = 0; i < n; i++)
        ck_assert_int_eq(write(fd, block, sizeof block), (int)sizeof block);
    close(fd);
}

START_TEST(test_run_default)
{
    int rc = run("run " SRCDIR "/examples/default.json", out, sizeof out, err, sizeof err);
    ck_assert_msg(rc == 0, "rc %d: %s", rc, err);
    ck_assert_msg(strstr(out, ", 0 mismatches") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "address space") && strstr(out, "worker") && strstr(out, "observer"), "%s", out);
    ck_assert_msg(strstr(out, "pager of mapping") != NULL, "%s", out);
    /* Without a configuration: the shipped one (installed, or the source tree's). */
    rc = run("run", out, sizeof out, err, sizeof err);
    ck_assert_msg(rc == 0, "rc %d: %s", rc, err);
    ck_assert_msg(strstr(out, "default.json") && strstr(out, ", 0 mismatches"), "%s", out);
}
END_TEST

START_TEST(test_run_json)
{
    int rc = run("run --json " SRCDIR "/examples/default.json", out, sizeof out, err, sizeof err);
    ck_assert_msg(rc == 0, "rc %d: %s", rc, err);
    json_error_t je;
    json_t *doc = json_loads(out, 0, &je); /* the whole output: one document and nothing else */
    ck_assert_msg(doc != NULL, "not one JSON document: %s at %d:%d\n%s", je.text, je.line, je.column, out);
    json_t *w = json_object_get(doc, "workloads");
    ck_assert_ptr_nonnull(w);
    ck_assert_int_eq(json_integer_value(json_object_get(w, "mismatches")), 0);
    ck_assert(json_integer_value(json_object_get(w, "reads")) > 0);
    ck_assert(json_integer_value(json_object_get(w, "writes")) > 0);
    json_t *v = json_object_get(doc, "vmm");
    ck_assert_int_eq(json_integer_value(json_object_get(v, "frames")), 1024);
    ck_assert(json_integer_value(json_object_get(v, "page_outs")) > 0); /* the pool was too small: pages went out */
    json_t *ases = json_object_get(doc, "address_spaces");
    ck_assert_uint_eq(json_array_size(ases), 2);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(ases, 0), "name")), "worker");
    json_decref(doc);
}
END_TEST

/* Write a file in a fresh directory; return its path (static). */
static const char *put(const char *name, const char *text)
{
    static char dir[64];
    if (dir[0] == '\0') {
        snprintf(dir, sizeof dir, "/tmp/springvm-cli-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(dir));
    }
    static char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    return path;
}

START_TEST(test_bad_inputs)
{
    char args[512];
    const char *p = put("bad.json", "{\"vmm\": {\"pool\": \"8 furlongs\"}}\n");
    snprintf(args, sizeof args, "check-config %s", p);
    ck_assert_int_eq(run(args, out, sizeof out, err, sizeof err), 2);
    char want[512];
    snprintf(want, sizeof want,
             "springvm: %s: vmm.pool: expected a size (a number of bytes, or a string like \"8MiB\"), found \"8 "
             "furlongs\"\n",
             p);
    ck_assert_str_eq(err, want);
    /* The same error from run. */
    snprintf(args, sizeof args, "run %s", p);
    ck_assert_int_eq(run(args, out, sizeof out, err, sizeof err), 2);
    ck_assert_str_eq(err, want);
    /* JSON syntax: FILE:LINE:COLUMN. */
    p = put("syntax.json", "{\"vmm\": {\n\"pool\": }\n");
    snprintf(args, sizeof args, "check-config %s", p);
    ck_assert_int_eq(run(args, out, sizeof out, err, sizeof err), 2);
    snprintf(want, sizeof want, "springvm: %s:2:", p);
    ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "%s", err);
    /* Workloads are checked before any runs. */
    p = put("wl.json", "{\"vmm\": {\"mode\": \"deterministic\"}, \"address_spaces\": [{\"name\": \"a\", \"mappings\": "
                       "[{\"name\": \"m\", \"anonymous\": 8192, \"rights\": \"r\"}]}], \"workloads\": [{\"kind\": "
                       "\"sequential\", \"as\": \"a\", \"mapping\": \"m\"}]}");
    snprintf(args, sizeof args, "check-config %s", p);
    ck_assert_int_eq(run(args, out, sizeof out, err, sizeof err), 2);
    snprintf(want, sizeof want, "springvm: %s: workloads[0]: mapping a:m is not writable\n", p);
    ck_assert_str_eq(err, want);
    p = put("wl2.json", "{\"vmm\": {}, \"workloads\": [{\"kind\": \"shuffle\"}]}");
    snprintf(args, sizeof args, "run %s", p);
    ck_assert_int_eq(run(args, out, sizeof out, err, sizeof err), 2);
    ck_assert_msg(strstr(err, "workloads[0]: kind: expected \"sequential\", \"random\", \"trace\" or \"sync\", "
                              "found \"shuffle\""),
                  "%s", err);
    p = put("wl3.json", "{\"vmm\": {}, \"workloads\": [{\"kind\": \"sync\", \"when\": 1}]}");
    snprintf(args, sizeof args, "run %s", p);
    ck_assert_int_eq(run(args, out, sizeof out, err, sizeof err), 2);
    ck_assert_msg(strstr(err, "workloads[0]: when: unknown key (expected one of: kind)"), "%s", err);
    /* A trace file with a bad line: FILE:LINE. */
    const char *tr = put("t.trace", "# comment\na w 0x10000 8\na x 0x10000 8\n");
    char tpath[128];
    snprintf(tpath, sizeof tpath, "%s", tr);
    char cfg[512];
    snprintf(cfg, sizeof cfg,
             "{\"vmm\": {\"mode\": \"deterministic\"}, \"address_spaces\": [{\"name\": \"a\", \"mappings\": "
             "[{\"name\": \"m\", \"anonymous\": 65536, \"address\": \"0x10000\"}]}], \"workloads\": [{\"kind\": "
             "\"trace\", \"file\": \"%s\"}]}",
             tpath);
    p = put("tr.json", cfg);
    snprintf(args, sizeof args, "run %s", p);
    ck_assert_int_eq(run(args, out, sizeof out, err, sizeof err), 2);
    snprintf(want, sizeof want, "springvm: %s:3: expected AS r|w ADDRESS LENGTH", tpath);
    ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "%s", err);
    /* An access outside the mappings. */
    put("t.trace", "a r 0x90000 8\n");
    ck_assert_int_eq(run(args, out, sizeof out, err, sizeof err), 2);
    ck_assert_msg(strstr(err, ":1: r 0x90000+8 is not inside one configured mapping of address space \"a\""), "%s",
                  err);
    /* A good trace. */
    put("t.trace", "a w 0x10000 8\na r 0x10004 4 # read back\na w 0x1f000 4096\na r 0x1f000 4096\n");
    ck_assert_int_eq(run(args, out, sizeof out, err, sizeof err), 0);
    ck_assert_msg(strstr(out, ", 0 mismatches"), "%s", out);
    /* Commands and options. */
    ck_assert_int_eq(run("frobnicate", out, sizeof out, err, sizeof err), 2);
    ck_assert_msg(strstr(err, "unknown command frobnicate"), "%s", err);
    ck_assert_int_eq(run("run --colour", out, sizeof out, err, sizeof err), 2);
    ck_assert_int_eq(run("check-config", out, sizeof out, err, sizeof err), 2);
    ck_assert_int_eq(run("", out, sizeof out, err, sizeof err), 2);
    ck_assert_int_eq(run("run /nonexistent.json", out, sizeof out, err, sizeof err), 2);
    ck_assert_msg(strstr(err, "/nonexistent.json"), "%s", err);
    ck_assert_int_eq(run("--help", out, sizeof out, err, sizeof err), 0);
    ck_assert_msg(strstr(out, "usage: springvm COMMAND") && strstr(out, "check-config"), "%s", out);
}
END_TEST

/* --plot draws a PNG with gnuplot (where gnuplot is missing: a clear
 * error, exit 2); with --json, standard output stays one JSON document. */
START_TEST(test_run_plot)
{
    char png[] = "/tmp/springvm-plot-XXXXXX.png";
    int fd = mkstemps(png, 4);
    ck_assert_int_ge(fd, 0);
    close(fd);
    unlink(png);
    char args[256];
    snprintf(args, sizeof args, "run --json --plot %s " SRCDIR "/examples/default.json", png);
    int rc = run(args, out, sizeof out, err, sizeof err);
    bool have_gnuplot = system("gnuplot --version >/dev/null 2>&1") == 0;
    if (!have_gnuplot) {
        ck_assert_int_eq(rc, 2);
        ck_assert_msg(strstr(err, "gnuplot"), "%s", err);
        return;
    }
    ck_assert_msg(rc == 0, "rc %d: %s", rc, err);
    json_error_t je;
    json_t *doc = json_loads(out, 0, &je);
    ck_assert_msg(doc != NULL, "stdout is not one JSON document: %s", je.text);
    json_decref(doc);
    FILE *f = fopen(png, "rb");
    ck_assert_ptr_nonnull(f);
    unsigned char magic[8];
    ck_assert_uint_eq(fread(magic, 1, 8, f), 8);
    fclose(f);
    unlink(png);
    ck_assert(memcmp(magic, "\x89PNG\r\n\x1a\n", 8) == 0);
}
END_TEST

/* run --trace dumps the event trace; trace prints it; a file that is not
 * a dump is refused. */
START_TEST(test_run_trace)
{
    char dump[] = "/tmp/springvm-trace-XXXXXX";
    int fd = mkstemp(dump);
    ck_assert_int_ge(fd, 0);
    close(fd);
    char args[256];
    snprintf(args, sizeof args, "run --trace %s " SRCDIR "/examples/default.json", dump);
    int rc = run(args, out, sizeof out, err, sizeof err);
    ck_assert_msg(rc == 0, "rc %d: %s", rc, err);
    snprintf(args, sizeof args, "trace %s", dump);
    ck_assert_int_eq(run(args, out, sizeof out, err, sizeof err), 0);
    ck_assert_msg(strncmp(out, "# springvm trace, format version 1: ", 36) == 0, "%.200s", out);
    ck_assert_msg(strstr(out, " fault.page_in rc=SPRING_OK ") && strstr(out, " pager.page_out rc=SPRING_OK "), "%.400s",
                  out);
    unlink(dump);
    ck_assert_int_eq(run("trace " SRCDIR "/examples/default.json", out, sizeof out, err, sizeof err), 2);
    ck_assert_msg(strstr(err, "not a springvm trace dump"), "%s", err);
    ck_assert_int_eq(run("trace", out, sizeof out, err, sizeof err), 2);
}
END_TEST

/* test-pager passes a good pager (a store in memory, files), fails one
 * that drops its page_out data with the seed and the operations, fails
 * one that loses the last byte of every page and one that breaks the
 * protocol with its data right, and refuses what is not a pager plugin. */
START_TEST(test_test_pager)
{
    int rc = run("test-pager mempager --seed 5 --ops 3000", out, sizeof out, err, sizeof err);
    ck_assert_msg(rc == 0, "rc %d: %s%s", rc, out, err);
    ck_assert_msg(strstr(out, "seed 5") && strstr(out, "passed (seed 5)"), "%s", out);
    ck_assert_msg(strstr(out, " 0 mismatches, 0 failed calls, 0 protocol violations"), "%s", out);
    rc = run("test-pager mempager drop=true --seed 5 --ops 3000", out, sizeof out, err, sizeof err);
    ck_assert_int_eq(rc, 1);
    ck_assert_msg(strstr(out, "FAILED (seed 5; rerun with --seed 5)"), "%s", out);
    ck_assert_msg(strstr(err, "MISMATCH") && strstr(err, "the last"), "%s", err);
    /* Files, through the filepager plugin. */
    char path[] = "/tmp/springvm-tp-XXXXXX";
    pattern_file(path, 8, 13);
    int fd;
    char args[256];
    snprintf(args, sizeof args, "test-pager filepager --object path=%s --seed 9 --ops 3000", path);
    rc = run(args, out, sizeof out, err, sizeof err);
    ck_assert_msg(rc == 0, "rc %d: %s%s", rc, out, err);
    ck_assert_msg(strstr(out, "passed (seed 9)") && !strstr(out, "offers no read-only view"), "%s", out);
    /* The file's bytes after every flush and sync (--file), and its
     * content the object's from the start: a file the pager does not
     * write fails at the first check. */
    snprintf(args, sizeof args, "test-pager filepager --object path=%s --file %s --seed 10 --ops 4000", path, path);
    rc = run(args, out, sizeof out, err, sizeof err);
    ck_assert_msg(rc == 0 && strstr(out, "passed (seed 10)"), "rc %d: %s%s", rc, out, err);
    ck_assert_msg(!strstr(out, " 0 file checks") && !strstr(out, "(0 through the file interface)"), "%s", out);
    char copy[] = "/tmp/springvm-tpc-XXXXXX", cmd[600];
    fd = mkstemp(copy);
    ck_assert_int_ge(fd, 0);
    close(fd);
    snprintf(cmd, sizeof cmd, "cp %s %s", path, copy);
    ck_assert_int_eq(system(cmd), 0);
    snprintf(args, sizeof args, "test-pager filepager --object path=%s --file %s --seed 10 --ops 4000", path, copy);
    ck_assert_int_eq(run(args, out, sizeof out, err, sizeof err), 1);
    ck_assert_msg(strstr(err, "MISMATCH") && strstr(err, copy) && strstr(err, "after a "), "%s", err);
    snprintf(args, sizeof args, "test-pager filepager --object path=%s --file /nonexistent/file", path);
    ck_assert_int_eq(run(args, out, sizeof out, err, sizeof err), 2);
    ck_assert_msg(strstr(err, "--file /nonexistent/file: No such file or directory"), "%s", err);
    unlink(copy);
    unlink(path);
    /* A swap pager: an anonymous object, all zero at first. */
    char swapf[] = "/tmp/springvm-tps-XXXXXX";
    fd = mkstemp(swapf);
    ck_assert_int_ge(fd, 0);
    close(fd);
    unlink(swapf);
    snprintf(args, sizeof args, "test-pager swap files=%s size=2MiB --seed 11 --ops 4000", swapf);
    rc = run(args, out, sizeof out, err, sizeof err);
    ck_assert_msg(rc == 0 && strstr(out, "swap plugin swap") && strstr(out, "passed (seed 11)"), "rc %d: %s%s", rc,
                  out, err);
    /* A swap smaller than the pages asked for: the object and the window
     * of anonymous memory are made to fit its free slots. */
    snprintf(args, sizeof args, "test-pager swap files=%s size=256KiB --seed 12 --ops 3000", swapf);
    rc = run(args, out, sizeof out, err, sizeof err);
    ck_assert_msg(rc == 0 && strstr(out, "the swap has 64 free slots: the object is made 48 pages long (16 more") &&
                      strstr(out, "48 pages of 4096 bytes") &&
                      strstr(out, "passed (seed 12)"),
                  "rc %d: %s%s", rc, out, err);
    snprintf(args, sizeof args, "test-pager swap files=%s --object size=1MiB", swapf);
    ck_assert_int_eq(run(args, out, sizeof out, err, sizeof err), 2);
    ck_assert_msg(strstr(err, "swap is a swap pager: its objects are anonymous memory"), "%s", err);
    /* The full protocol with the required slots only passes (syncs that
     * keep data are refused with SPRING_ENOKEEP, and accepted)... */
    for (int seed = 1; seed <= 3; seed++) {
        snprintf(args, sizeof args, "test-pager rawpager --seed %d --ops 3000", seed);
        rc = run(args, out, sizeof out, err, sizeof err);
        ck_assert_msg(rc == 0 && strstr(out, "refused with SPRING_ENOKEEP") && strstr(out, "passed"), "rc %d: %s%s",
                      rc, out, err);
    }
    /* Without get_length, the object's length is what its bind grants. */
    rc = run("test-pager rawpager --object size=64KiB --seed 4 --ops 3000", out, sizeof out, err, sizeof err);
    ck_assert_msg(rc == 0 && strstr(out, "bind shortened the mapping to 65536 bytes") &&
                      strstr(out, "16 pages of 4096 bytes tested") && strstr(out, "passed"),
                  "rc %d: %s%s", rc, out, err);
    /* ... and each of its bugs fails: data dropped at page_out, wrong zero
     * flags at page_in, the all-zero indication of page_out ignored, the
     * last byte of every page lost at page_out. */
    const char *bugs[] = {"drop", "zero_first_byte", "ignore_zero_out", "lose_last_byte"};
    for (size_t b = 0; b < sizeof bugs / sizeof bugs[0]; b++)
        for (int seed = 1; seed <= 3; seed++) {
            snprintf(args, sizeof args, "test-pager rawpager bug=%s --seed %d --ops 20000", bugs[b], seed);
            rc = run(args, out, sizeof out, err, sizeof err);
            ck_assert_msg(rc == 1 && strstr(err, "MISMATCH") && strstr(out, "FAILED"), "bug %s seed %d: rc %d: %s%s",
                          bugs[b], seed, rc, out, err);
            if (strcmp(bugs[b], "lose_last_byte") == 0) /* the first byte found wrong: a page's last */
                ck_assert_msg(strstr(err, "MISMATCH: offset 0x") && strstr(err, "fff (page "), "%s", err);
        }
    /* A pager that keeps every byte right but answers page_in outside the
     * protocol (a byte count for 0) fails too: a protocol violation, no
     * mismatch. */
    for (int seed = 1; seed <= 3; seed++) {
        snprintf(args, sizeof args, "test-pager rawpager bug=count_in --seed %d --ops 3000", seed);
        rc = run(args, out, sizeof out, err, sizeof err);
        ck_assert_msg(rc == 1 && strstr(out, "FAILED") && strstr(err, "(SPRING_EPROTO)") &&
                          strstr(out, " 0 mismatches, 0 failed calls, ") && !strstr(out, " 0 protocol violations"),
                      "count_in seed %d: rc %d: %s%s", seed, rc, out, err);
    }
    ck_assert_int_eq(run("test-pager rawpager bug=bogus", out, sizeof out, err, sizeof err), 2);
    ck_assert_msg(strstr(err, "expected none, drop, zero_first_byte, ignore_zero_out, lose_last_byte or count_in, "
                              "found bogus"),
                  "%s", err);
    /* Bad inputs: exit 2 with the reason. */
    ck_assert_int_eq(run("test-pager nosuchpager", out, sizeof out, err, sizeof err), 2);
    ck_assert_msg(strstr(err, "plugin nosuchpager: not found"), "%s", err);
    ck_assert_int_eq(run("test-pager testhat", out, sizeof out, err, sizeof err), 2);
    ck_assert_msg(strstr(err, "expected a pager or swap plugin, found plugin testhat of kind hat"), "%s", err);
    ck_assert_int_eq(run("test-pager mempager colour=red", out, sizeof out, err, sizeof err), 2);
    ck_assert_msg(strstr(err, "instance option (KEY=VALUE): " "unknown option colour"), "%s", err);
    ck_assert_int_eq(run("test-pager filepager", out, sizeof out, err, sizeof err), 2);
    ck_assert_msg(strstr(err, "object option (--object KEY=VALUE): " "option path (string) is required"), "%s", err);
    ck_assert_int_eq(run("test-pager filepager --object path=/nonexistent/file", out, sizeof out, err, sizeof err),
                     2);
    ck_assert_msg(strstr(err, "/nonexistent/file: No such file or directory"), "%s", err);
    ck_assert_int_eq(run("test-pager", out, sizeof out, err, sizeof err), 2);
}
END_TEST

/* A sync workload checks the files of the objects that name a path: what
 * the run wrote is on disk.  A pager whose writes are lost (dropfile) is
 * caught: exit 1, and so is one whose file is gone.  A file two objects
 * name is not checked (which one's data reached it last is the pagers'
 * business). */
START_TEST(test_run_checks_files)
{
    char dir[] = "/tmp/springvm-rf-XXXXXX", cfg[128], args[256];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(cfg, sizeof cfg, "%s/node.json", dir);
    for (int k = 0; k < 4; k++) {
        snprintf(args, sizeof args, "head -c 65536 /dev/zero > %s/d.bin", dir); /* zeros again each time */
        ck_assert_int_eq(system(args), 0);
        static const char *const plugin[] = {"filepager", "dropfile", "filepager", "dropfile"};
        FILE *f = fopen(cfg, "w");
        ck_assert_ptr_nonnull(f);
        fprintf(f, "{\"vmm\": {\"name\": \"n\", \"pool\": \"32KiB\"},\n"
                   " \"pagers\": [{\"name\": \"p\", \"plugin\": \"%s\"}],\n"
                   " \"objects\": [{\"name\": \"a\", \"pager\": \"p\", \"options\": {\"path\": \"d.bin\"%s}}%s],\n"
                   " \"address_spaces\": [{\"name\": \"x\", \"mappings\": [{\"name\": \"a\", \"object\": \"a\"}]}],\n"
                   " \"workloads\": [{\"kind\": \"sequential\", \"as\": \"x\", \"mapping\": \"a\", \"access\": \"write\"},\n"
                   "               {\"kind\": \"sync\"}]}\n",
                plugin[k], k == 3 ? ", \"unlink\": true" : "",
                k == 2 ? ",\n {\"name\": \"b\", \"pager\": \"p\", \"options\": {\"path\": \"./d.bin\"}}" : "");
        fclose(f);
        snprintf(args, sizeof args, "run %s", cfg);
        int rc = run(args, out, sizeof out, err, sizeof err);
        if (k == 0)
            ck_assert_msg(rc == 0 && strstr(out, "(16 of them on disk after a sync), 0 mismatches"), "rc %d: %s%s",
                          rc, out, err);
        else if (k == 1)
            ck_assert_msg(rc == 1 && strstr(err, "MISMATCH on disk after sync: ") && strstr(err, "/d.bin page "),
                          "rc %d: %s%s", rc, out, err);
        else if (k == 2)
            ck_assert_msg(rc == 0 && strstr(out, "(0 of them on disk after a sync), 0 mismatches"), "rc %d: %s%s",
                          rc, out, err);
        else /* the file is gone: every page written to the object is a mismatch */
            ck_assert_msg(rc == 1 && strstr(err, "/d.bin: No such file or directory (16 pages written)") &&
                              strstr(out, "16 mismatches"),
                          "rc %d: %s%s", rc, out, err);
    }
    snprintf(args, sizeof args, "rm -rf %s", dir);
    ck_assert_int_eq(system(args), 0);
}
END_TEST

/* The §9.8 random test (test-pager) with the shipped backing stores, at
 * length: the filepager with its file checked after every flush and sync,
 * writes through mappings and through the file interface; the swap plugin
 * with anonymous memory four times the pool. */
START_TEST(test_backing_stores)
{
    char path[] = "/tmp/springvm-bs-XXXXXX", args[512];
    pattern_file(path, 16, 29);
    int fd;
    for (int seed = 21; seed <= 23; seed++) {
        snprintf(args, sizeof args, "test-pager filepager --object path=%s --file %s --seed %d --ops 15000", path,
                 path, seed);
        int rc = run(args, out, sizeof out, err, sizeof err);
        ck_assert_msg(rc == 0 && strstr(out, "passed"), "seed %d: rc %d: %s%s", seed, rc, out, err);
        ck_assert_msg(!strstr(out, " 0 file checks") && !strstr(out, "(0 through the file interface)"), "%s", out);
    }
    unlink(path);
    char swapf[] = "/tmp/springvm-bss-XXXXXX";
    fd = mkstemp(swapf);
    ck_assert_int_ge(fd, 0);
    close(fd);
    unlink(swapf);
    for (int seed = 21; seed <= 23; seed++) {
        snprintf(args, sizeof args, "test-pager swap files=%s size=2MiB --pool 256KiB --pages 256 --seed %d "
                 "--ops 20000", swapf, seed);
        int rc = run(args, out, sizeof out, err, sizeof err);
        ck_assert_msg(rc == 0 && strstr(out, "passed") && strstr(out, "256 pages of 4096 bytes tested"),
                      "seed %d: rc %d: %s%s", seed, rc, out, err);
    }
}
END_TEST

/* new-pager writes a skeleton that builds as it is (against the build
 * tree's headers here; .ci/run builds one against an installed library
 * with pkg-config) and passes test-pager; bad names and an existing
 * directory are refused. */
START_TEST(test_new_pager)
{
    char dir[] = "/tmp/springvm-np-XXXXXX", args[512], cmd[1024];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(args, sizeof args, "new-pager %s/mypager/", dir);
    int rc = run(args, out, sizeof out, err, sizeof err);
    ck_assert_msg(rc == 0, "rc %d: %s%s", rc, out, err);
    ck_assert_msg(strstr(out, "wrote ") && strstr(out, "mypager/mypager.c") && strstr(out, "mypager/Makefile") &&
                      strstr(out, "mypager/mypager.json") &&
                      strstr(out, "the pager plugin \"mypager\" is ready"),
                  "%s", out);
    /* Every "skeleton" became the name: the source and the Makefile. */
    snprintf(cmd, sizeof cmd, "grep -c skeleton %s/mypager/mypager.c %s/mypager/Makefile %s/mypager/mypager.json | grep -v ':0$'",
             dir, dir, dir);
    ck_assert_int_ne(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "grep -q '.name = \"mypager\"' %s/mypager/mypager.c && grep -q '^mypager.so: mypager.c' "
                              "%s/mypager/Makefile", dir, dir);
    ck_assert_int_eq(system(cmd), 0);
    /* It builds as it is, warning-free, with its own Makefile and
     * pkg-config (springvm-uninstalled.pc of the build tree), and passes
     * test-pager. */
    snprintf(cmd, sizeof cmd,
             "env -u MAKEFLAGS -u MFLAGS PKG_CONFIG_PATH='%s' make -s -C %s/mypager CFLAGS='-O2 -Werror' >/dev/null",
             BUILDDIR, dir);
    ck_assert_int_eq(system(cmd), 0);
    snprintf(cmd, sizeof cmd,
             "env -u MAKEFLAGS -u MFLAGS PKG_CONFIG_PATH='%s' make -s -C %s/mypager test | grep -q 'passed (seed'",
             BUILDDIR, dir);
    ck_assert_int_eq(system(cmd), 0);
    snprintf(args, sizeof args, "test-pager %s/mypager/mypager.so --seed 4 --ops 3000", dir);
    rc = run(args, out, sizeof out, err, sizeof err);
    ck_assert_msg(rc == 0, "rc %d: %s%s", rc, out, err);
    ck_assert_msg(strstr(out, "plugin mypager 0.1") && strstr(out, "passed (seed 4)"), "%s", out);
    /* Its configuration runs it from JSON (plugin_path "." is the configuration's directory). */
    snprintf(args, sizeof args, "run %s/mypager/mypager.json", dir);
    rc = run(args, out, sizeof out, err, sizeof err);
    ck_assert_msg(rc == 0 && strstr(out, " 0 mismatches") && strstr(out, "app:data"), "rc %d: %s%s", rc, out, err);
    /* Its object options: a named file (made at least size long). */
    snprintf(args, sizeof args, "test-pager %s/mypager/mypager.so --object path=%s/data --object size=64KiB --seed 2 "
                                "--ops 2000", dir, dir);
    rc = run(args, out, sizeof out, err, sizeof err);
    ck_assert_msg(rc == 0, "rc %d: %s%s", rc, out, err);
    struct stat sb;
    snprintf(cmd, sizeof cmd, "%s/data", dir);
    ck_assert_int_eq(stat(cmd, &sb), 0);
    ck_assert_int_eq(sb.st_size, 65536);
    snprintf(args, sizeof args, "test-pager %s/mypager/mypager.so --object path=%s/no/such/dir/data", dir, dir);
    ck_assert_int_eq(run(args, out, sizeof out, err, sizeof err), 2);
    ck_assert_msg(strstr(err, "mobj_new failed: no such name") && strstr(err, "No such file or directory"), "%s",
                  err);
    /* The template itself, built in the tree. */
    rc = run("test-pager skeleton --seed 8 --ops 3000", out, sizeof out, err, sizeof err);
    ck_assert_msg(rc == 0 && strstr(out, "passed (seed 8)"), "rc %d: %s%s", rc, out, err);
    /* Refused: an existing directory, names that are not C identifiers, no
     * name, two names. */
    snprintf(args, sizeof args, "new-pager %s/mypager", dir);
    ck_assert_int_eq(run(args, out, sizeof out, err, sizeof err), 2);
    ck_assert_msg(strstr(err, "File exists (new-pager writes into a new directory only)"), "%s", err);
    const char *bad[] = {"1pager", "my-pager", "my.pager", "/"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(args, sizeof args, "new-pager %s/%s", dir, bad[i]);
        ck_assert_int_eq(run(args, out, sizeof out, err, sizeof err), 2);
        ck_assert_msg(strstr(err, "the plugin's name must be a C identifier"), "%s: %s", bad[i], err);
    }
    /* A name the search path has: swap (a shipped plugin), soft (built in). */
    snprintf(args, sizeof args, "new-pager %s/swap", dir);
    ck_assert_int_eq(run(args, out, sizeof out, err, sizeof err), 2);
    ck_assert_msg(strstr(err, "swap: a plugin of that name exists already, ") && strstr(err, "swap.so"), "%s", err);
    snprintf(args, sizeof args, "new-pager %s/soft", dir);
    ck_assert_int_eq(run(args, out, sizeof out, err, sizeof err), 2);
    ck_assert_msg(strstr(err, "soft: a plugin of that name exists already, (built in)"), "%s", err);
    ck_assert_int_eq(run("new-pager", out, sizeof out, err, sizeof err), 2);
    ck_assert_msg(strstr(err, "expected one argument"), "%s", err);
    ck_assert_int_eq(run("new-pager a b", out, sizeof out, err, sizeof err), 2);
    ck_assert_msg(strstr(err, "expected one argument"), "%s", err);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

START_TEST(test_plugins)
{
    ck_assert_int_eq(run("plugins", out, sizeof out, err, sizeof err), 0);
    ck_assert_msg(strstr(out, "soft         hat"), "%s", out);
    ck_assert_msg(strstr(out, "testhat      hat    1.0"), "%s", out);
    ck_assert_msg(strstr(out, "option tlb"), "%s", out);
    ck_assert_msg(strstr(out, "does not load:") && strstr(out, "plugin ABI 2.0"), "%s", out);
    ck_assert_int_eq(run("plugins --path", out, sizeof out, err, sizeof err), 2);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("springvm");
    TCase *t = tcase_create("cli");
    tcase_set_timeout(t, 300);
    tcase_add_test(t, test_run_default);
    tcase_add_test(t, test_run_json);
    tcase_add_test(t, test_bad_inputs);
    tcase_add_test(t, test_run_plot);
    tcase_add_test(t, test_run_trace);
    tcase_add_test(t, test_test_pager);
    tcase_add_test(t, test_plugins);
    tcase_add_test(t, test_new_pager);
    tcase_add_test(t, test_backing_stores);
    tcase_add_test(t, test_run_checks_files);
    suite_add_tcase(s, t);
    return s;
}
