/*
 * plugin.c - plugin options and the plugin loader (plugin.h).
 *
 * Options: a set is an array of values parallel to the plugin's list of
 * options; every value is parsed and range-checked when it is set, so a
 * plugin reads values that are known to be good.
 *
 * Loader: a plugin is found along the search path of plugin.h, loaded with
 * dlopen(RTLD_NOW | RTLD_LOCAL), and its descriptor checked.  Loaded
 * plugins are kept in a list (by file) under loader_lock, a leaf lock taken
 * with no VMM lock held; dlopen and dlclose run under it, so that a load
 * and the last unref of one file never race.
 */
#define _GNU_SOURCE /* dladdr */
#include <assert.h>
#include <ctype.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <spring/spring.h>

#include "plugincall.h"

const char *spring_plugin_kind_name(spring_plugin_kind_t kind)
{
    switch (kind) {
    case SPRING_PLUGIN_ANY: return "any";
    case SPRING_PLUGIN_HAT: return "hat";
    case SPRING_PLUGIN_PAGER: return "pager";
    case SPRING_PLUGIN_SWAP: return "swap";
    }
    return "?";
}

const char *spring_option_type_name(spring_option_type_t type)
{
    switch (type) {
    case SPRING_OPT_STRING: return "string";
    case SPRING_OPT_INT: return "integer";
    case SPRING_OPT_SIZE: return "size";
    case SPRING_OPT_BOOL: return "boolean";
    }
    return "?";
}

/* ------------------------------------------------------------------ */
/* Values.                                                              */

static const char *skip_space(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

int spring_parse_size(const char *text, uint64_t *out)
{
    if (text == NULL || out == NULL)
        return SPRING_EINVAL;
    const char *p = skip_space(text);
    if (!isdigit((unsigned char)*p))
        return SPRING_EINVAL;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(p, &end, 0);
    if (errno == ERANGE)
        return SPRING_EOVERFLOW;
    p = skip_space(end);
    static const struct {
        const char *unit;
        uint64_t mul;
    } units[] = {
        {"", 1},          {"B", 1},
        {"KiB", 1ull << 10}, {"MiB", 1ull << 20}, {"GiB", 1ull << 30}, {"TiB", 1ull << 40},
        {"K", 1000},      {"M", 1000000},      {"G", 1000000000},      {"T", 1000000000000ull},
        {"KB", 1000},     {"MB", 1000000},     {"GB", 1000000000},     {"TB", 1000000000000ull},
    };
    for (size_t i = 0; i < sizeof units / sizeof *units; i++) {
        size_t n = strlen(units[i].unit);
        if (strncmp(p, units[i].unit, n) == 0 && *skip_space(p + n) == '\0') {
            if (v > (uint64_t)INT64_MAX / units[i].mul)
                return SPRING_EOVERFLOW;
            *out = v * units[i].mul;
            return 0;
        }
    }
    return SPRING_EINVAL;
}

static int parse_int(const char *text, int64_t *out)
{
    const char *p = skip_space(text);
    if (*p == '\0')
        return SPRING_EINVAL;
    errno = 0;
    char *end;
    long long v = strtoll(p, &end, 0);
    if (errno == ERANGE)
        return SPRING_EOVERFLOW;
    if (end == p || *skip_space(end) != '\0')
        return SPRING_EINVAL;
    *out = v;
    return 0;
}

static int parse_bool(const char *text, bool *out)
{
    static const char *const yes[] = {"true", "1", "yes", "on"}, *const no[] = {"false", "0", "no", "off"};
    for (size_t i = 0; i < 4; i++) {
        if (strcmp(text, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcmp(text, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return SPRING_EINVAL;
}

struct opt_value {
    bool set;   /* has a value (given or default) */
    bool given; /* given by spring_options_set */
    char *text; /* strings */
    int64_t i;  /* integers, sizes */
    bool b;
};

struct spring_options {
    const spring_plugin_option_t *schema; /* [c] */
    size_t n;                             /* [c] */
    struct opt_value v[];                 /* parallel to schema */
};

static bool valid_key(const char *k)
{
    if (k == NULL || *k == '\0')
        return false;
    for (; *k; k++)
        if (!isalnum((unsigned char)*k) && *k != '_' && *k != '-')
            return false;
    return true;
}

/* Parse text as the value of option o into *v (its text copied).  The
 * thread's last error says why on failure. */
static int parse_value(const spring_plugin_option_t *o, const char *text, struct opt_value *v)
{
    int rc = 0;
    struct opt_value nv = {.set = true};
    switch (o->type) {
    case SPRING_OPT_STRING:
        if ((nv.text = strdup(text)) == NULL)
            return SPRING_ENOMEM;
        break;
    case SPRING_OPT_INT:
        if ((rc = parse_int(text, &nv.i)) != 0) {
            spring_set_last_error("option %s: expected an integer, found \"%s\"", o->name, text);
            return rc;
        }
        break;
    case SPRING_OPT_SIZE: {
        uint64_t s;
        if ((rc = spring_parse_size(text, &s)) != 0) {
            spring_set_last_error("option %s: expected a size (a number with an optional unit B, KiB, MiB, GiB, "
                                  "TiB), found \"%s\"", o->name, text);
            return rc;
        }
        nv.i = (int64_t)s;
        break;
    }
    case SPRING_OPT_BOOL:
        if ((rc = parse_bool(text, &nv.b)) != 0) {
            spring_set_last_error("option %s: expected true or false, found \"%s\"", o->name, text);
            return rc;
        }
        break;
    default:
        spring_set_last_error("option %s: unknown type %d", o->name, (int)o->type);
        return SPRING_EINVAL;
    }
    if ((o->type == SPRING_OPT_INT || o->type == SPRING_OPT_SIZE) && (o->min != 0 || o->max != 0) &&
        (nv.i < o->min || nv.i > o->max)) {
        spring_set_last_error("option %s: %s is out of range [%" PRId64 ", %" PRId64 "]", o->name, text,
                          o->min, o->max);
        return SPRING_ERANGE;
    }
    free(v->text);
    *v = nv;
    return 0;
}

int spring_options_new(const spring_plugin_option_t *schema, size_t n, spring_options_t **out)
{
    if (out == NULL || (schema == NULL && n > 0))
        return SPRING_EINVAL;
    *out = NULL;
    for (size_t i = 0; i < n; i++) {
        if (!valid_key(schema[i].name) || spring_option_type_name(schema[i].type)[0] == '?') {
            spring_set_last_error("option %zu: %s", i,
                              valid_key(schema[i].name) ? "unknown type" : "no valid name");
            return SPRING_EINVAL;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(schema[i].name, schema[j].name) == 0) {
                spring_set_last_error("option %s is listed twice", schema[i].name);
                return SPRING_EINVAL;
            }
    }
    spring_options_t *o = calloc(1, sizeof *o + n * sizeof o->v[0]);
    if (o == NULL)
        return SPRING_ENOMEM;
    o->schema = schema;
    o->n = n;
    for (size_t i = 0; i < n; i++) {
        if (schema[i].def == NULL)
            continue;
        int rc = parse_value(&schema[i], schema[i].def, &o->v[i]);
        if (rc != 0) {
            spring_set_last_error("option %s: its default \"%s\" is not a valid %s", schema[i].name, schema[i].def,
                              spring_option_type_name(schema[i].type));
            spring_options_free(o);
            return rc == SPRING_ENOMEM ? rc : SPRING_EINVAL;
        }
    }
    *out = o;
    return 0;
}

void spring_options_free(spring_options_t *opts)
{
    if (opts == NULL)
        return;
    for (size_t i = 0; i < opts->n; i++)
        free(opts->v[i].text);
    free(opts);
}

static const struct opt_value *find(const spring_options_t *o, const char *name, spring_option_type_t type)
{
    if (o == NULL || name == NULL)
        return NULL;
    for (size_t i = 0; i < o->n; i++)
        if (strcmp(o->schema[i].name, name) == 0)
            return o->schema[i].type == type && o->v[i].set ? &o->v[i] : NULL;
    return NULL;
}

int spring_options_set(spring_options_t *opts, const char *name, const char *value)
{
    if (opts == NULL || name == NULL || value == NULL)
        return SPRING_EINVAL;
    for (size_t i = 0; i < opts->n; i++) {
        if (strcmp(opts->schema[i].name, name) != 0)
            continue;
        int rc = parse_value(&opts->schema[i], value, &opts->v[i]);
        if (rc == 0)
            opts->v[i].given = true;
        return rc;
    }
    char known[512] = "";
    size_t at = 0;
    for (size_t i = 0; i < opts->n && at < sizeof known; i++)
        at += (size_t)snprintf(known + at, sizeof known - at, "%s%s", i ? ", " : "", opts->schema[i].name);
    spring_set_last_error("unknown option %s (known: %s)", name, opts->n ? known : "none");
    return SPRING_ENOENT;
}

int spring_options_assign(spring_options_t *opts, const char *assignment)
{
    if (opts == NULL || assignment == NULL)
        return SPRING_EINVAL;
    const char *eq = strchr(assignment, '=');
    if (eq == NULL || eq == assignment) {
        spring_set_last_error("expected KEY=VALUE, found \"%s\"", assignment);
        return SPRING_EINVAL;
    }
    size_t n = (size_t)(eq - assignment);
    char *key = strndup(assignment, n);
    if (key == NULL)
        return SPRING_ENOMEM;
    int rc = spring_options_set(opts, key, eq + 1);
    free(key);
    return rc;
}

int spring_options_check(const spring_options_t *opts)
{
    if (opts == NULL)
        return SPRING_EINVAL;
    for (size_t i = 0; i < opts->n; i++)
        if (!opts->v[i].set) {
            spring_set_last_error("option %s (%s) is required: %s", opts->schema[i].name,
                              spring_option_type_name(opts->schema[i].type),
                              opts->schema[i].doc ? opts->schema[i].doc : "no description");
            return SPRING_ENOENT;
        }
    return 0;
}

const char *spring_options_string(const spring_options_t *opts, const char *name)
{
    const struct opt_value *v = find(opts, name, SPRING_OPT_STRING);
    return v ? v->text : NULL;
}

int64_t spring_options_int(const spring_options_t *opts, const char *name)
{
    const struct opt_value *v = find(opts, name, SPRING_OPT_INT);
    return v ? v->i : 0;
}

uint64_t spring_options_size(const spring_options_t *opts, const char *name)
{
    const struct opt_value *v = find(opts, name, SPRING_OPT_SIZE);
    return v ? (uint64_t)v->i : 0;
}

bool spring_options_bool(const spring_options_t *opts, const char *name)
{
    const struct opt_value *v = find(opts, name, SPRING_OPT_BOOL);
    return v ? v->b : false;
}

bool spring_options_given(const spring_options_t *opts, const char *name)
{
    if (opts == NULL || name == NULL)
        return false;
    for (size_t i = 0; i < opts->n; i++)
        if (strcmp(opts->schema[i].name, name) == 0)
            return opts->v[i].given;
    return false;
}

/* ------------------------------------------------------------------ */
/* Built-in plugins.                                                    */

static const spring_plugin_t soft_plugin = {
    .abi_major = SPRING_PLUGIN_ABI_MAJOR,
    .abi_minor = SPRING_PLUGIN_ABI_MINOR,
    .name = "soft",
    .version = SPRING_VERSION_STRING,
    .kind = SPRING_PLUGIN_HAT,
    .description = "the soft HAT: a software page table and TLB per address space (built in)",
    .options = NULL,
    .noptions = 0,
    .hat = NULL, /* filled from spring_hat_soft() when loaded */
};

#define BUILTIN_PATH "(built in)"

/* ------------------------------------------------------------------ */
/* The loader.                                                          */

struct spring_plugin_lib {
    char *path;              /* [c] the file, or BUILTIN_PATH */
    void *dl;                /* [c] dlopen handle; NULL when built in */
    const spring_plugin_t *info; /* [c] */
    spring_plugin_t builtin; /* [c] a built-in's descriptor, completed */
    unsigned refs;           /* [loader_lock] */
    struct spring_plugin_lib *next; /* [loader_lock] */
};

/* The loader's lock: a leaf lock of the host layer (docs/locking.md, row
 * 0), never held while a core function is called.  In a debug build each
 * thread records whether it holds it, so that the functions that need it
 * assert so. */
static pthread_mutex_t loader_lock = PTHREAD_MUTEX_INITIALIZER;
static struct spring_plugin_lib *loaded; /* [loader_lock] */
#ifdef SPRING_DEBUG
static _Thread_local bool loader_held;
#define LOADER_HELD(v) (loader_held = (v))
#define ASSERT_LOADER_HELD() assert(loader_held)
#else
#define LOADER_HELD(v) ((void)0)
#define ASSERT_LOADER_HELD() ((void)0)
#endif

static void loader_lock_take(void)
{
    pthread_mutex_lock(&loader_lock);
    LOADER_HELD(true);
}

static void loader_lock_drop(void)
{
    LOADER_HELD(false);
    pthread_mutex_unlock(&loader_lock);
}

/* The directories of the search path, in order (each malloc'd), ending
 * with NULL; build-tree entries are patterns handled by candidate(). */
#define BUILD_TREE_MARK "\001build"

#ifdef SPRING_BUILDDIR
/* Whether this library is the one in the build tree (the tests, the
 * uninstalled springvm): only then is the build tree searched, so that an
 * installed library never loads plugins from the tree it was built in. */
static bool in_build_tree;
static pthread_once_t in_build_tree_once = PTHREAD_ONCE_INIT;

static void find_build_tree(void)
{
    Dl_info info;
    char lib[PATH_MAX], tree[PATH_MAX];
    if (dladdr((void *)spring_plugin_load, &info) == 0 || info.dli_fname == NULL)
        return;
    /* A library linked into the program statically: dladdr names the
     * program as it was started (maybe a bare name); ask the kernel. */
    const char *self = strchr(info.dli_fname, '/') != NULL ? info.dli_fname : "/proc/self/exe";
    if (realpath(self, lib) != NULL && realpath(SPRING_BUILDDIR, tree) != NULL) {
        size_t n = strlen(tree);
        in_build_tree = strncmp(lib, tree, n) == 0 && lib[n] == '/';
    }
}

static bool library_in_build_tree(void)
{
    pthread_once(&in_build_tree_once, find_build_tree);
    return in_build_tree;
}
#endif

static char **search_dirs(const char *const *dirs)
{
    size_t cap = 8, n = 0;
    char **v = malloc(cap * sizeof *v);
    if (v == NULL)
        return NULL;
#define PUSH(s)                                                 \
    do {                                                        \
        if (n + 2 > cap) {                                      \
            char **nv_ = realloc(v, (cap *= 2) * sizeof *v);    \
            if (nv_ == NULL)                                    \
                goto fail;                                      \
            v = nv_;                                            \
        }                                                       \
        if ((v[n] = strdup(s)) == NULL)                         \
            goto fail;                                          \
        n++;                                                    \
    } while (0)
    const char *env = getenv("SPRING_PLUGIN_PATH");
    if (env != NULL) {
        char *copy = strdup(env), *save = NULL;
        if (copy == NULL)
            goto fail;
        for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
            if (*d == '\0')
                continue;
            if (n + 2 > cap) {
                char **nv = realloc(v, (cap *= 2) * sizeof *v);
                if (nv == NULL) {
                    free(copy);
                    goto fail;
                }
                v = nv;
            }
            if ((v[n] = strdup(d)) == NULL) {
                free(copy);
                goto fail;
            }
            n++;
        }
        free(copy);
    }
    for (size_t i = 0; dirs && dirs[i]; i++)
        if (dirs[i][0] != '\0')
            PUSH(dirs[i]);
#ifdef SPRING_BUILDDIR
    if (library_in_build_tree())
        PUSH(BUILD_TREE_MARK);
#endif
#ifdef SPRING_PLUGINDIR
    PUSH(SPRING_PLUGINDIR);
#endif
#undef PUSH
    v[n] = NULL;
    return v;
fail:
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
    return NULL;
}

static void free_dirs(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

static bool is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The file for plugin `name` in search directory `dir`, if there is one
 * (malloc'd), else NULL. */
static char *candidate(const char *dir, const char *name)
{
    char buf[PATH_MAX];
    if (strcmp(dir, BUILD_TREE_MARK) == 0) {
#ifdef SPRING_BUILDDIR
        static const char *const pats[] = {"%s/plugins/%s/.libs/%s.so", "%s/t/plugins/.libs/%s.so"};
        for (size_t i = 0; i < 2; i++) {
            int k = i == 0 ? snprintf(buf, sizeof buf, pats[0], SPRING_BUILDDIR, name, name)
                           : snprintf(buf, sizeof buf, pats[1], SPRING_BUILDDIR, name);
            if (k > 0 && (size_t)k < sizeof buf && is_file(buf))
                return strdup(buf);
        }
#endif
        return NULL;
    }
    int k = snprintf(buf, sizeof buf, "%s/%s.so", dir, name);
    if (k > 0 && (size_t)k < sizeof buf && is_file(buf))
        return strdup(buf);
    return NULL;
}

static bool valid_name(const char *name)
{
    if (name == NULL || *name == '\0' || strlen(name) > 128)
        return false;
    for (const char *p = name; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-' && *p != '.')
            return false;
    return name[0] != '.';
}

/* Check a descriptor.  `want` is the name asked for (NULL: a path). */
static int check_desc(const char *path, const spring_plugin_t *d, const char *want, spring_plugin_kind_t kind)
{
    if (d->abi_major != SPRING_PLUGIN_ABI_MAJOR || d->abi_minor > SPRING_PLUGIN_ABI_MINOR) {
        spring_set_last_error("%s: plugin ABI %u.%u, expected %u.x with x <= %u", path, d->abi_major,
                          d->abi_minor, SPRING_PLUGIN_ABI_MAJOR, SPRING_PLUGIN_ABI_MINOR);
        return SPRING_EVERSION;
    }
    if (!valid_name(d->name)) {
        spring_set_last_error("%s: the descriptor has no valid name", path);
        return SPRING_EPLUGIN;
    }
    if (want != NULL && strcmp(want, d->name) != 0) {
        spring_set_last_error("%s: expected plugin %s, found plugin %s", path, want, d->name);
        return SPRING_EPLUGIN;
    }
    if (kind != SPRING_PLUGIN_ANY && d->kind != kind) {
        spring_set_last_error("%s: expected a %s plugin, found plugin %s of kind %s", path,
                          spring_plugin_kind_name(kind), d->name, spring_plugin_kind_name(d->kind));
        return SPRING_EPLUGIN;
    }
    const char *missing = NULL;
    switch (d->kind) {
    case SPRING_PLUGIN_HAT:
        if (d->hat == NULL)
            missing = "its HAT vtable (hat)";
        break;
    case SPRING_PLUGIN_PAGER:
        if (d->pager == NULL || d->pager->version < 1 || d->pager->version > SPRING_PAGER_PLUGIN_VERSION ||
            d->pager->instance_new == NULL || d->pager->mobj_new == NULL || d->pager->instance_destroy == NULL)
            missing = "a pager provision (pager) of version 1 with instance_new, mobj_new and instance_destroy";
        break;
    case SPRING_PLUGIN_SWAP:
        if (d->swap == NULL || d->swap->version < 1 || d->swap->version > SPRING_SWAP_PLUGIN_VERSION ||
            d->swap->ops == NULL || d->swap->instance_new == NULL)
            missing = "a swap provision (swap) of version 1 with ops and instance_new";
        break;
    default:
        spring_set_last_error("%s: plugin %s has unknown kind %d", path, d->name, (int)d->kind);
        return SPRING_EPLUGIN;
    }
    if (missing != NULL) {
        spring_set_last_error("%s: plugin %s of kind %s lacks %s", path, d->name,
                          spring_plugin_kind_name(d->kind), missing);
        return SPRING_EPLUGIN;
    }
    spring_options_t *probe;
    int rc = spring_options_new(d->options, d->noptions, &probe);
    if (rc == 0 && d->kind == SPRING_PLUGIN_PAGER) {
        spring_options_free(probe);
        rc = spring_options_new(d->pager->object_options, d->pager->nobject_options, &probe);
    }
    if (rc != 0) {
        char why[512];
        snprintf(why, sizeof why, "%s", spring_last_error());
        spring_set_last_error("%s: plugin %s declares a bad option: %s", path, d->name, why);
        return SPRING_EPLUGIN;
    }
    spring_options_free(probe);
    return 0;
}

/* Load the file at path (or find it loaded).  => loader_lock held. */
static int load_file(const char *path, const char *want, spring_plugin_kind_t kind, spring_plugin_lib_t **out)
{
    ASSERT_LOADER_HELD();
    char real[PATH_MAX];
    if (realpath(path, real) == NULL) {
        spring_set_last_error("%s: %s", path, strerror(errno));
        return SPRING_ENOENT;
    }
    for (struct spring_plugin_lib *l = loaded; l; l = l->next)
        if (strcmp(l->path, real) == 0) {
            int rc = check_desc(real, l->info, want, kind);
            if (rc != 0)
                return rc;
            l->refs++;
            *out = l;
            return 0;
        }
    (void)dlerror();
    void *dl = dlopen(real, RTLD_NOW | RTLD_LOCAL);
    if (dl == NULL) {
        const char *e = dlerror();
        spring_set_last_error("%s: cannot load: %s", real, e ? e : "unknown dlopen error");
        return SPRING_EPLUGIN;
    }
    (void)dlerror();
    void *sym = dlsym(dl, SPRING_PLUGIN_ENTRY_SYMBOL);
    const char *e = dlerror();
    if (sym == NULL || e != NULL) {
        spring_set_last_error("%s: expected the entry symbol %s, found none: %s", real,
                          SPRING_PLUGIN_ENTRY_SYMBOL, e ? e : "the symbol is NULL");
        dlclose(dl);
        return SPRING_EPLUGIN;
    }
    spring_plugin_entry_fn *entry;
    memcpy(&entry, &sym, sizeof entry); /* object to function pointer, as POSIX allows */
    const spring_plugin_t *d = entry();
    if (d == NULL) {
        spring_set_last_error("%s: expected a descriptor from %s(), found NULL", real,
                          SPRING_PLUGIN_ENTRY_SYMBOL);
        dlclose(dl);
        return SPRING_EPLUGIN;
    }
    int rc = check_desc(real, d, want, kind);
    if (rc != 0) {
        dlclose(dl);
        return rc;
    }
    struct spring_plugin_lib *l = calloc(1, sizeof *l);
    if (l == NULL || (l->path = strdup(real)) == NULL) {
        free(l);
        dlclose(dl);
        return SPRING_ENOMEM;
    }
    l->dl = dl;
    l->info = d;
    l->refs = 1;
    l->next = loaded;
    loaded = l;
    *out = l;
    return 0;
}

/* A built-in plugin by name, or NULL.  => loader_lock held. */
static int load_builtin(const char *name, spring_plugin_kind_t kind, spring_plugin_lib_t **out)
{
    ASSERT_LOADER_HELD();
    if (strcmp(name, soft_plugin.name) != 0)
        return SPRING_ENOENT;
    for (struct spring_plugin_lib *l = loaded; l; l = l->next)
        if (l->dl == NULL && strcmp(l->info->name, name) == 0) {
            int rc = check_desc(BUILTIN_PATH, l->info, name, kind);
            if (rc == 0) {
                l->refs++;
                *out = l;
            }
            return rc;
        }
    struct spring_plugin_lib *l = calloc(1, sizeof *l);
    if (l == NULL || (l->path = strdup(BUILTIN_PATH)) == NULL) {
        free(l);
        return SPRING_ENOMEM;
    }
    l->builtin = soft_plugin;
    l->builtin.hat = spring_hat_soft();
    l->info = &l->builtin;
    int rc = check_desc(BUILTIN_PATH, l->info, name, kind);
    if (rc != 0) {
        free(l->path);
        free(l);
        return rc;
    }
    l->refs = 1;
    l->next = loaded;
    loaded = l;
    *out = l;
    return 0;
}

int spring_plugin_load(const char *name, const char *const *dirs, spring_plugin_kind_t kind,
                       spring_plugin_lib_t **out)
{
    if (name == NULL || *name == '\0' || out == NULL)
        return SPRING_EINVAL;
    if (kind < SPRING_PLUGIN_ANY || kind > SPRING_PLUGIN_SWAP)
        return SPRING_EINVAL;
    *out = NULL;
    int rc;
    loader_lock_take();
    if (strchr(name, '/') != NULL) {
        rc = load_file(name, NULL, kind, out);
        loader_lock_drop();
        return rc;
    }
    if (!valid_name(name)) {
        loader_lock_drop();
        spring_set_last_error("\"%s\" is not a plugin name (letters, digits, '_', '-', '.')", name);
        return SPRING_EINVAL;
    }
    char **v = search_dirs(dirs);
    if (v == NULL) {
        loader_lock_drop();
        return SPRING_ENOMEM;
    }
    rc = SPRING_ENOENT;
    for (size_t i = 0; v[i] && rc == SPRING_ENOENT; i++) {
        char *f = candidate(v[i], name);
        if (f == NULL)
            continue;
        rc = load_file(f, name, kind, out);
        free(f);
        if (rc == SPRING_ENOENT)
            rc = SPRING_EPLUGIN; /* found but vanished: not "no such plugin" */
    }
    if (rc == SPRING_ENOENT)
        rc = load_builtin(name, kind, out);
    if (rc == SPRING_ENOENT) {
        char list[768] = "";
        size_t at = 0;
        for (size_t i = 0; v[i] && at < sizeof list; i++)
            at += (size_t)snprintf(list + at, sizeof list - at, "%s%s", i ? ", " : "",
                                   strcmp(v[i], BUILD_TREE_MARK) == 0 ? "the build tree" : v[i]);
        spring_set_last_error("plugin %s: not found in %s%sthe built-in plugins", name, list,
                          at ? ", " : "");
    }
    free_dirs(v);
    loader_lock_drop();
    return rc;
}

const spring_plugin_t *spring_plugin_info(const spring_plugin_lib_t *lib)
{
    return lib ? lib->info : NULL;
}

const char *spring_plugin_path(const spring_plugin_lib_t *lib)
{
    return lib ? lib->path : NULL;
}

spring_plugin_lib_t *spring_plugin_ref(spring_plugin_lib_t *lib)
{
    if (lib) {
        loader_lock_take();
        lib->refs++;
        loader_lock_drop();
    }
    return lib;
}

void spring_plugin_unref(spring_plugin_lib_t *lib)
{
    if (lib == NULL)
        return;
    loader_lock_take();
    if (--lib->refs == 0) {
        for (struct spring_plugin_lib **pp = &loaded; *pp; pp = &(*pp)->next)
            if (*pp == lib) {
                *pp = lib->next;
                break;
            }
        if (lib->dl)
            dlclose(lib->dl);
        free(lib->path);
        free(lib);
    }
    loader_lock_drop();
}

/* The holder a VMM keeps of the plugin its HAT backend lives in. */
static void hold_ref(void *lib)
{
    (void)spring_plugin_ref(lib);
}

static void hold_unref(void *lib)
{
    spring_plugin_unref(lib);
}

int spring_plugin_hat_config(spring_plugin_lib_t *lib, spring_vmm_config_t *cfg)
{
    if (lib == NULL || cfg == NULL || lib->info == NULL || lib->info->kind != SPRING_PLUGIN_HAT ||
        lib->info->hat == NULL)
        return SPRING_EINVAL;
    cfg->hat = lib->info->hat;
    cfg->hat_hold.obj = lib;
    cfg->hat_hold.ref = hold_ref;
    cfg->hat_hold.unref = hold_unref;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Listing.                                                             */

struct seen {
    char **names;
    size_t n, cap;
};

static bool seen_has(const struct seen *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->names[i], name) == 0)
            return true;
    return false;
}

static int seen_add(struct seen *s, const char *name)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 16;
        char **nv = realloc(s->names, cap * sizeof *nv);
        if (nv == NULL)
            return SPRING_ENOMEM;
        s->names = nv;
        s->cap = cap;
    }
    if ((s->names[s->n] = strdup(name)) == NULL)
        return SPRING_ENOMEM;
    s->n++;
    return 0;
}

static int visit(const char *name, const char *path, spring_plugin_visit_fn fn, void *arg, struct seen *s)
{
    spring_plugin_entry_info_t e = {.name = name, .path = path, .shadowed = seen_has(s, name)};
    spring_plugin_lib_t *lib = NULL;
    if (strcmp(path, BUILTIN_PATH) == 0) {
        loader_lock_take();
        e.rc = load_builtin(name, SPRING_PLUGIN_ANY, &lib);
        loader_lock_drop();
    } else {
        loader_lock_take();
        e.rc = load_file(path, name, SPRING_PLUGIN_ANY, &lib);
        loader_lock_drop();
    }
    char why[1024] = "";
    if (e.rc != 0) {
        snprintf(why, sizeof why, "%s", spring_last_error());
        e.error = why;
    } else {
        e.info = lib->info;
    }
    int rc = e.shadowed ? 0 : seen_add(s, name);
    if (rc == 0)
        rc = fn(arg, &e);
    spring_plugin_unref(lib);
    return rc;
}

/* The plugin files of one directory, sorted by name. */
static int list_dir(const char *dir, spring_plugin_visit_fn fn, void *arg, struct seen *s)
{
    struct dirent **ents = NULL;
    int n = scandir(dir, &ents, NULL, alphasort);
    if (n < 0)
        return 0; /* a directory that does not exist has no plugins */
    int rc = 0;
    for (int i = 0; i < n; i++) {
        const char *fn_ = ents[i]->d_name;
        size_t len = strlen(fn_);
        if (rc == 0 && len > 3 && strcmp(fn_ + len - 3, ".so") == 0) {
            char name[256], path[PATH_MAX];
            if (len - 3 < sizeof name && snprintf(path, sizeof path, "%s/%s", dir, fn_) < (int)sizeof path) {
                memcpy(name, fn_, len - 3);
                name[len - 3] = '\0';
                if (valid_name(name) && is_file(path))
                    rc = visit(name, path, fn, arg, s);
            }
        }
        free(ents[i]);
    }
    free(ents);
    return rc;
}

int spring_plugin_list(const char *const *dirs, spring_plugin_visit_fn fn, void *arg)
{
    if (fn == NULL)
        return SPRING_EINVAL;
    char **v = search_dirs(dirs);
    if (v == NULL)
        return SPRING_ENOMEM;
    struct seen s = {0};
    int rc = 0;
    for (size_t i = 0; v[i] && rc == 0; i++) {
        if (strcmp(v[i], BUILD_TREE_MARK) != 0) {
            rc = list_dir(v[i], fn, arg, &s);
            continue;
        }
#ifdef SPRING_BUILDDIR
        /* The build tree: plugins/NAME/.libs/NAME.so, then t/plugins/.libs. */
        char d[PATH_MAX];
        struct dirent **ents = NULL;
        snprintf(d, sizeof d, "%s/plugins", SPRING_BUILDDIR);
        int n = scandir(d, &ents, NULL, alphasort);
        for (int j = 0; j < n; j++) {
            char path[PATH_MAX];
            const char *name = ents[j]->d_name;
            if (rc == 0 && valid_name(name) &&
                snprintf(path, sizeof path, "%s/%s/.libs/%s.so", d, name, name) < (int)sizeof path &&
                is_file(path))
                rc = visit(name, path, fn, arg, &s);
            free(ents[j]);
        }
        free(ents);
        snprintf(d, sizeof d, "%s/t/plugins/.libs", SPRING_BUILDDIR);
        if (rc == 0)
            rc = list_dir(d, fn, arg, &s);
#endif
    }
    if (rc == 0)
        rc = visit(soft_plugin.name, BUILTIN_PATH, fn, arg, &s);
    for (size_t i = 0; i < s.n; i++)
        free(s.names[i]);
    free(s.names);
    free_dirs(v);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Calls of a loaded plugin's provision (plugincall.h).                 */

int spring__plugin_pager_new(const spring_plugin_t *d, const spring_plugin_env_t *env, const spring_options_t *opts,
                             void **inst)
{
    return d->pager->instance_new(env, opts, inst);
}

int spring__plugin_pager_mobj(const spring_plugin_t *d, void *inst, const spring_options_t *opts,
                              spring_mobj_t **out)
{
    return d->pager->mobj_new(inst, opts, out);
}

void spring__plugin_pager_stop(const spring_plugin_t *d, void *inst)
{
    if (d->pager->instance_stop != NULL)
        d->pager->instance_stop(inst);
}

void spring__plugin_pager_destroy(const spring_plugin_t *d, void *inst)
{
    d->pager->instance_destroy(inst);
}

int spring__plugin_swap_new(const spring_plugin_t *d, const spring_plugin_env_t *env, const spring_options_t *opts,
                            void **inst)
{
    return d->swap->instance_new(env, opts, inst);
}

const spring_swap_pager_ops_t *spring__plugin_swap_ops(const spring_plugin_t *d)
{
    return d->swap->ops;
}

void spring__plugin_swap_release(const spring_plugin_t *d, void *inst)
{
    if (d->swap->ops->release != NULL)
        d->swap->ops->release(inst);
}
