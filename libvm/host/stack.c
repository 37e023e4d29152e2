/*
 * stack.c - a whole paging stack from one JSON configuration (stack.h;
 * the format is docs/configuration.md).
 *
 * Opening reads the file with jansson, checks every key strictly (an
 * unknown key is an error, in plugin options too), then builds in order:
 * plugins, the VMM and its registry, swap-pager instances, pager
 * instances, memory objects, address spaces and their mappings.  Errors
 * say where: FILE:LINE:COLUMN for JSON syntax, FILE: KEY.PATH for the
 * rest.  A failure tears down what was built, in reverse order.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <spring/spring.h>

#include "plugincall.h"

/* ------------------------------------------------------------------ */
/* The stack.                                                           */

struct st_swap {
    char *name;
    spring_plugin_lib_t *lib;
    spring_options_t *opts;
    void *inst;         /* until handed to the VMM or an address space */
    bool temporary;
    int used_by;        /* index of the address space that uses it, or -1 */
};

struct st_pager {
    char *name;
    spring_plugin_lib_t *lib;
    spring_options_t *opts;
    void *inst;
};

struct st_obj {
    char *name;
    spring_mobj_t *m;
    unsigned held;      /* references taken by the program */
};

struct st_map {
    char *name;
    spring_addr_t addr;
    spring_off_t len;
};

struct st_as {
    char *name;
    spring_as_t *as;
    struct st_map *maps;
    size_t nmaps;
    unsigned held;
};

struct spring_stack {
    char *origin;               /* the file, as errors name it */
    char *base_dir;             /* relative paths are resolved against it */
    char **plugin_dirs;         /* NULL-terminated */
    spring_registry_t *reg;
    char *cred;                 /* the system credential granted for swap and system pagers */
    spring_plugin_lib_t *hatlib;
    spring_options_t *hat_opts;
    spring_vmm_t *vmm;
    size_t page_size;
    unsigned vmm_held;
    spring_vmm_obj_t vobj;      /* system privilege */
    struct st_swap *swaps;
    size_t nswaps;
    struct st_pager *pagers;
    size_t npagers;
    struct st_obj *objs;
    size_t nobjs;
    struct st_as *ases;
    size_t nases;
};

/* The message of the last stack error; the library's last-error text. */
const char *spring_stack_error(void)
{
    return spring_last_error();
}

/* ------------------------------------------------------------------ */
/* Errors and JSON helpers.                                             */

struct ctx {
    spring_stack_t *s;
    const char *file;
};

/* Report an error at a key path: "FILE: PATH: message" (no code suffix:
 * the text is what a user reads). */
__attribute__((format(printf, 4, 5))) static int fail(const struct ctx *c, int rc, const char *path, const char *fmt,
                                                      ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (path != NULL && *path != '\0')
        spring_set_last_error("%s: %s: %s", c->file, path, msg);
    else
        spring_set_last_error("%s: %s", c->file, msg);
    return rc;
}

/* Report an error that quotes the thread's last error (the message of the
 * call that failed): "message[: strerror(rc)][: last error]", each part
 * only when there is one.  The last error is copied first, since fail()
 * overwrites it. */
__attribute__((format(printf, 5, 6))) static int fail_quoting(const struct ctx *c, int rc, const char *path,
                                                              bool with_code, const char *fmt, ...)
{
    char why[1024], msg[768], full[2048];
    snprintf(why, sizeof why, "%s", spring_last_error());
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    size_t at = (size_t)snprintf(full, sizeof full, "%s", msg);
    if (with_code && at < sizeof full)
        at += (size_t)snprintf(full + at, sizeof full - at, "%s%s", at ? ": " : "", spring_strerror(rc));
    if (*why && at < sizeof full)
        snprintf(full + at, sizeof full - at, "%s%s", at ? ": " : "", why);
    return fail(c, rc, path, "%s", full);
}

/* Forget the thread's last error before a call whose message is quoted. */
static void clear_error(void)
{
    spring_set_last_error(NULL);
}

static const char *jtype(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a real number";
    case JSON_TRUE: return "true";
    case JSON_FALSE: return "false";
    case JSON_NULL: return "null";
    }
    return "?";
}

/* A value as a user wrote it, for "found ..." (strings quoted, long ones cut). */
static void jshow(const json_t *v, char *buf, size_t n)
{
    if (json_is_string(v))
        snprintf(buf, n, "\"%.60s%s\"", json_string_value(v), strlen(json_string_value(v)) > 60 ? "..." : "");
    else if (json_is_integer(v))
        snprintf(buf, n, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else
        snprintf(buf, n, "%s", jtype(v));
}

static void subpath(char *out, size_t n, const char *path, const char *key)
{
    snprintf(out, n, "%s%s%s", path, *path ? "." : "", key);
}

static void itempath(char *out, size_t n, const char *path, size_t i)
{
    snprintf(out, n, "%s[%zu]", path, i);
}

/* Every key of obj is one of `keys` (NULL-terminated). */
static int check_keys(const struct ctx *c, const json_t *obj, const char *path, const char *const *keys)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v) {
        bool ok = false;
        for (size_t i = 0; keys[i] && !ok; i++)
            ok = strcmp(k, keys[i]) == 0;
        if (!ok) {
            char list[512] = "", kp[512];
            size_t at = 0;
            for (size_t i = 0; keys[i] && at < sizeof list; i++)
                at += (size_t)snprintf(list + at, sizeof list - at, "%s%s", i ? ", " : "", keys[i]);
            subpath(kp, sizeof kp, path, k);
            return fail(c, SPRING_ECONFIG, kp, "unknown key (expected one of: %s)", list);
        }
    }
    return 0;
}

static int want_object(const struct ctx *c, const json_t *v, const char *path)
{
    char f[96];
    if (json_is_object(v))
        return 0;
    jshow(v, f, sizeof f);
    return fail(c, SPRING_ECONFIG, path, "expected an object, found %s", f);
}

static int want_array(const struct ctx *c, const json_t *v, const char *path)
{
    char f[96];
    if (json_is_array(v))
        return 0;
    jshow(v, f, sizeof f);
    return fail(c, SPRING_ECONFIG, path, "expected an array, found %s", f);
}

/* A string member (NULL when absent and not required). */
static int get_string(const struct ctx *c, const json_t *obj, const char *path, const char *key, bool required,
                      const char **out)
{
    char kp[512], f[96];
    subpath(kp, sizeof kp, path, key);
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (v == NULL)
        return required ? fail(c, SPRING_ECONFIG, path, "missing key %s (a string)", key) : 0;
    if (!json_is_string(v)) {
        jshow(v, f, sizeof f);
        return fail(c, SPRING_ECONFIG, kp, "expected a string, found %s", f);
    }
    if (json_string_value(v)[0] == '\0')
        return fail(c, SPRING_ECONFIG, kp, "expected a non-empty string, found \"\"");
    *out = json_string_value(v);
    return 0;
}

/* A size member: an integer, or a string with a unit ("8MiB"). */
static int get_size(const struct ctx *c, const json_t *obj, const char *path, const char *key, uint64_t def,
                    uint64_t min, uint64_t max, uint64_t *out)
{
    char kp[512], f[96];
    subpath(kp, sizeof kp, path, key);
    json_t *v = json_object_get(obj, key);
    if (v == NULL) {
        *out = def;
        return 0;
    }
    uint64_t x;
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        x = (uint64_t)json_integer_value(v);
    } else if (json_is_string(v) && spring_parse_size(json_string_value(v), &x) == 0) {
        /* parsed */
    } else {
        jshow(v, f, sizeof f);
        return fail(c, SPRING_ECONFIG, kp, "expected a size (a number of bytes, or a string like \"8MiB\"), found %s",
                    f);
    }
    if (x < min || x > max) {
        jshow(v, f, sizeof f);
        return fail(c, SPRING_ECONFIG, kp, "expected a size from %" PRIu64 " to %" PRIu64 " bytes, found %s", min,
                    max, f);
    }
    *out = x;
    return 0;
}

static int get_bool(const struct ctx *c, const json_t *obj, const char *path, const char *key, bool def, bool *out)
{
    char kp[512], f[96];
    subpath(kp, sizeof kp, path, key);
    json_t *v = json_object_get(obj, key);
    if (v == NULL) {
        *out = def;
        return 0;
    }
    if (!json_is_boolean(v)) {
        jshow(v, f, sizeof f);
        return fail(c, SPRING_ECONFIG, kp, "expected true or false, found %s", f);
    }
    *out = json_is_true(v);
    return 0;
}

static int get_uint(const struct ctx *c, const json_t *obj, const char *path, const char *key, uint64_t def,
                    uint64_t max, uint64_t *out)
{
    char kp[512], f[96];
    subpath(kp, sizeof kp, path, key);
    json_t *v = json_object_get(obj, key);
    if (v == NULL) {
        *out = def;
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) > max) {
        jshow(v, f, sizeof f);
        return fail(c, SPRING_ECONFIG, kp, "expected an integer from 0 to %" PRIu64 ", found %s", max, f);
    }
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

static int get_rights(const struct ctx *c, const json_t *obj, const char *path, const char *key,
                      spring_rights_t def, spring_rights_t *out)
{
    const char *t;
    int rc = get_string(c, obj, path, key, false, &t);
    if (rc)
        return rc;
    if (t == NULL) {
        *out = def;
        return 0;
    }
    static const struct {
        const char *text;
        spring_rights_t r;
    } tab[] = {{"r", SPRING_RIGHTS_RO}, {"rw", SPRING_RIGHTS_RW}, {"rx", SPRING_RIGHTS_RX}, {"rwx", SPRING_RIGHTS_RWX}};
    for (size_t i = 0; i < 4; i++)
        if (strcmp(t, tab[i].text) == 0) {
            *out = tab[i].r;
            return 0;
        }
    char kp[512];
    subpath(kp, sizeof kp, path, key);
    return fail(c, SPRING_ECONFIG, kp, "expected rights \"r\", \"rw\", \"rx\" or \"rwx\", found \"%s\"", t);
}

/* The names of an array of records (their first member), or NULL for an
 * array not made yet (then its count is 0). */
#define NAMES(arr) ((arr) != NULL ? (const char *const *)&(arr)[0].name : NULL)

/* A name: unique among `names` (n of them). */
static int check_name(const struct ctx *c, const char *path, const char *what, const char *name,
                      const char *const *names,
                      size_t stride, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const char *other = *(const char *const *)((const char *)names + i * stride);
        if (other && strcmp(other, name) == 0)
            return fail(c, SPRING_ECONFIG, path, "%s \"%s\" is defined twice", what, name);
    }
    return 0;
}

/* A plugin's options from a JSON object, checked against its list.
 * opts_out gets the set (also on error: NULL). */
static int plugin_options(const struct ctx *c, const json_t *v, const char *path, const spring_plugin_option_t *schema,
                          size_t n, spring_options_t **opts_out)
{
    *opts_out = NULL;
    spring_options_t *o;
    int rc = spring_options_new(schema, n, &o);
    if (rc)
        return fail(c, SPRING_EPLUGIN, path, "the plugin's own option list is bad: %s", spring_last_error());
    if (v != NULL) {
        if ((rc = want_object(c, v, path)) != 0) {
            spring_options_free(o);
            return rc;
        }
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)v, k, x) {
            char kp[512], text[64], f[96];
            subpath(kp, sizeof kp, path, k);
            const spring_plugin_option_t *d = NULL;
            for (size_t i = 0; i < n && !d; i++)
                if (strcmp(schema[i].name, k) == 0)
                    d = &schema[i];
            if (d == NULL) {
                char list[512] = "";
                size_t at = 0;
                for (size_t i = 0; i < n && at < sizeof list; i++)
                    at += (size_t)snprintf(list + at, sizeof list - at, "%s%s", i ? ", " : "", schema[i].name);
                spring_options_free(o);
                return fail(c, SPRING_ECONFIG, kp, "unknown option (the plugin's options: %s)", n ? list : "none");
            }
            const char *val = NULL;
            bool ok = false;
            switch (d->type) {
            case SPRING_OPT_STRING:
                ok = json_is_string(x);
                val = ok ? json_string_value(x) : NULL;
                break;
            case SPRING_OPT_INT:
                ok = json_is_integer(x);
                if (ok)
                    snprintf(text, sizeof text, "%" JSON_INTEGER_FORMAT, json_integer_value(x));
                val = text;
                break;
            case SPRING_OPT_SIZE:
                ok = (json_is_integer(x) && json_integer_value(x) >= 0) || json_is_string(x);
                if (json_is_integer(x))
                    snprintf(text, sizeof text, "%" JSON_INTEGER_FORMAT, json_integer_value(x));
                val = json_is_string(x) ? json_string_value(x) : text;
                break;
            case SPRING_OPT_BOOL:
                ok = json_is_boolean(x);
                val = json_is_true(x) ? "true" : "false";
                break;
            }
            if (!ok) {
                jshow(x, f, sizeof f);
                spring_options_free(o);
                return fail(c, SPRING_ECONFIG, kp, "expected %s, found %s",
                            d->type == SPRING_OPT_STRING ? "a string"
                            : d->type == SPRING_OPT_INT  ? "an integer"
                            : d->type == SPRING_OPT_SIZE ? "a size (a number of bytes, or a string like \"8MiB\")"
                                                         : "true or false",
                            f);
            }
            if ((rc = spring_options_set(o, k, val)) != 0) {
                spring_options_free(o);
                return fail_quoting(c, SPRING_ECONFIG, kp, false, "%s", "");
            }
        }
    }
    if ((rc = spring_options_check(o)) != 0) {
        spring_options_free(o);
        return fail_quoting(c, SPRING_ECONFIG, path, false, "%s", "");
    }
    *opts_out = o;
    return 0;
}

/* Load a plugin named at `path`; the message gains the key path. */
static int load_plugin(const struct ctx *c, const char *path, const char *name, spring_plugin_kind_t kind,
                       spring_plugin_lib_t **out)
{
    int rc = spring_plugin_load(name, (const char *const *)c->s->plugin_dirs, kind, out);
    if (rc != 0) {
        return fail_quoting(c, rc, path, false, "%s", "");
    }
    return 0;
}

static char *resolve(const char *base, const char *p)
{
    if (p[0] == '/' || base == NULL)
        return strdup(p);
    size_t n = strlen(base) + strlen(p) + 2;
    char *r = malloc(n);
    if (r)
        snprintf(r, n, "%s/%s", base, p);
    return r;
}

/* ------------------------------------------------------------------ */
/* Teardown.                                                            */

static void teardown(spring_stack_t *s)
{
    for (size_t i = 0; i < s->nases; i++) {
        spring_as_destroy(s->ases[i].as);
        s->ases[i].as = NULL;
    }
    for (size_t i = 0; i < s->nobjs; i++) {
        spring_mobj_unref(s->objs[i].m);
        s->objs[i].m = NULL;
    }
}

/* Before the VMM goes: pager instances release what they hold in it. */
static void stop_pagers(spring_stack_t *s)
{
    for (size_t i = 0; i < s->npagers; i++) {
        if (s->pagers[i].inst)
            spring__plugin_pager_stop(spring_plugin_info(s->pagers[i].lib), s->pagers[i].inst);
    }
}

static void free_all(spring_stack_t *s)
{
    for (size_t i = 0; i < s->nases; i++) {
        for (size_t j = 0; j < s->ases[i].nmaps; j++)
            free(s->ases[i].maps[j].name);
        free(s->ases[i].maps);
        free(s->ases[i].name);
    }
    free(s->ases);
    for (size_t i = 0; i < s->nobjs; i++)
        free(s->objs[i].name);
    free(s->objs);
    for (size_t i = 0; i < s->npagers; i++) {
        struct st_pager *p = &s->pagers[i];
        if (p->inst)
            spring__plugin_pager_destroy(spring_plugin_info(p->lib), p->inst);
        spring_options_free(p->opts);
        spring_plugin_unref(p->lib);
        free(p->name);
    }
    free(s->pagers);
    for (size_t i = 0; i < s->nswaps; i++) {
        struct st_swap *w = &s->swaps[i];
        if (w->inst)
            spring__plugin_swap_release(spring_plugin_info(w->lib), w->inst);
        spring_options_free(w->opts);
        spring_plugin_unref(w->lib);
        free(w->name);
    }
    free(s->swaps);
    if (s->reg)
        spring_registry_destroy(s->reg);
    spring_options_free(s->hat_opts);
    spring_plugin_unref(s->hatlib);
    for (size_t i = 0; s->plugin_dirs && s->plugin_dirs[i]; i++)
        free(s->plugin_dirs[i]);
    free(s->plugin_dirs);
    free(s->cred);
    free(s->base_dir);
    free(s->origin);
    free(s);
}

/* Tear down whatever was built (an open that failed). */
static void destroy_partial(spring_stack_t *s)
{
    teardown(s);
    stop_pagers(s);
    if (s->vmm) {
        if (s->reg)
            (void)spring_registry_remove_vmm(s->reg, s->vmm);
        if (spring_vmm_destroy(s->vmm) != 0) {
            /* Data a pager would not take: with the stack unusable, the
             * VMM is left to the process (documented). */
        }
        s->vmm = NULL;
    }
    free_all(s);
}

/* ------------------------------------------------------------------ */
/* Building.                                                            */

static int build_vmm(struct ctx *c, const json_t *root)
{
    spring_stack_t *s = c->s;
    const json_t *v = json_object_get(root, "vmm");
    if (v == NULL)
        return fail(c, SPRING_ECONFIG, "", "missing key vmm (an object)");
    int rc = want_object(c, v, "vmm");
    static const char *const keys[] = {"name", "page_size", "pool", "mode", "max_unattached_caches", "hat",
                                       "default_swap", "trace", NULL};
    if (rc || (rc = check_keys(c, v, "vmm", keys)) != 0)
        return rc;
    spring_vmm_config_t cfg;
    spring_vmm_config_init(&cfg);
    const char *name, *mode;
    uint64_t page = 0, pool = 0, maxun = 0, trace = 0;
    bool defswap = true;
    if ((rc = get_string(c, v, "vmm", "name", false, &name)) || (rc = get_size(c, v, "vmm", "page_size", 4096, 4096,
                                                                                 (uint64_t)1 << 30, &page)) ||
        (rc = get_size(c, v, "vmm", "pool", 64u << 20, 4 * page, (uint64_t)1 << 40, &pool)) ||
        (rc = get_string(c, v, "vmm", "mode", false, &mode)) ||
        (rc = get_uint(c, v, "vmm", "max_unattached_caches", 0, 1u << 30, &maxun)) ||
        (rc = get_bool(c, v, "vmm", "default_swap", true, &defswap)) ||
        (rc = get_uint(c, v, "vmm", "trace", 0, SPRING_TRACE_MAX_RECORDS, &trace)))
        return rc;
    if ((page & (page - 1)) != 0)
        return fail(c, SPRING_ECONFIG, "vmm.page_size", "expected a power of two, found %" PRIu64, page);
    if (pool % page != 0)
        return fail(c, SPRING_ECONFIG, "vmm.pool", "expected a multiple of the page size (%" PRIu64 "), found %" PRIu64,
                    page, pool);
    cfg.name = name ? name : "node";
    cfg.page_size = (size_t)page;
    s->page_size = (size_t)page;
    cfg.nframes = (size_t)(pool / page);
    cfg.max_unattached_caches = (size_t)maxun;
    cfg.no_default_swap_pager = !defswap;
    cfg.trace_records = (size_t)trace;
    if (mode == NULL || strcmp(mode, "threaded") == 0)
        cfg.mode = SPRING_VMM_THREADED;
    else if (strcmp(mode, "deterministic") == 0)
        cfg.mode = SPRING_VMM_DETERMINISTIC;
    else
        return fail(c, SPRING_ECONFIG, "vmm.mode", "expected \"threaded\" or \"deterministic\", found \"%s\"", mode);
    /* The HAT: a plugin name, or {"plugin": name, "options": {...}}. */
    const json_t *h = json_object_get(v, "hat");
    const char *hname = "soft";
    const json_t *hopts = NULL;
    if (h != NULL) {
        if (json_is_string(h)) {
            hname = json_string_value(h);
        } else if (json_is_object(h)) {
            static const char *const hk[] = {"plugin", "options", NULL};
            if ((rc = check_keys(c, h, "vmm.hat", hk)) || (rc = get_string(c, h, "vmm.hat", "plugin", true, &hname)))
                return rc;
            hopts = json_object_get(h, "options");
        } else {
            char f[96];
            jshow(h, f, sizeof f);
            return fail(c, SPRING_ECONFIG, "vmm.hat", "expected a plugin name or an object {\"plugin\", \"options\"}, "
                                                      "found %s", f);
        }
    }
    const char *hpath = json_is_object(h) ? "vmm.hat.plugin" : "vmm.hat";
    if ((rc = load_plugin(c, hpath, hname, SPRING_PLUGIN_HAT, &s->hatlib)) != 0)
        return rc;
    const spring_plugin_t *hd = spring_plugin_info(s->hatlib);
    if ((rc = plugin_options(c, hopts, "vmm.hat.options", hd->options, hd->noptions, &s->hat_opts)) != 0)
        return rc;
    if ((rc = spring_plugin_hat_config(s->hatlib, &cfg)) != 0)
        return fail(c, rc, hpath, "plugin %s has no HAT backend", hd->name);
    cfg.hat_opts = s->hat_opts;
    clear_error();
    if ((rc = spring_vmm_new(&cfg, &s->vmm)) != 0) {
        return fail_quoting(c, rc, "vmm", true, "the VMM could not be created");
    }
    if ((rc = spring_registry_new(&s->reg)) != 0 || (rc = spring_registry_add_vmm(s->reg, s->vmm)) != 0)
        return fail(c, rc, "vmm", "the registry could not be made: %s", spring_strerror(rc));
    char cred[64];
    snprintf(cred, sizeof cred, "springvm-stack-%p", (void *)s);
    if ((s->cred = strdup(cred)) == NULL)
        return SPRING_ENOMEM;
    if ((rc = spring_registry_grant(s->reg, s->cred, SPRING_PRIV_SYSTEM)) != 0 ||
        (rc = spring_vmm_get_object(s->vmm, SPRING_PRIV_SYSTEM, &s->vobj)) != 0)
        return fail(c, rc, "vmm", "the VMM's system object could not be made: %s", spring_strerror(rc));
    return 0;
}

static spring_plugin_env_t make_env(const spring_stack_t *s, bool system)
{
    spring_plugin_env_t env = {
        .version = SPRING_PLUGIN_ENV_VERSION,
        .size = sizeof env,
        .registry = s->reg,
        .vmm_name = spring_vmm_name(s->vmm),
        .credential = system ? s->cred : NULL,
        .vmm = s->vmm,
        .base_dir = s->base_dir,
    };
    return env;
}

/* "swap" and "pagers": arrays of {name, plugin, options[, temporary]}. */
static int build_instances(struct ctx *c, const json_t *root, bool swap)
{
    spring_stack_t *s = c->s;
    const char *sect = swap ? "swap" : "pagers";
    const json_t *a = json_object_get(root, sect);
    if (a == NULL)
        return 0;
    int rc = want_array(c, a, sect);
    if (rc)
        return rc;
    size_t n = json_array_size(a);
    if (swap)
        s->swaps = calloc(n ? n : 1, sizeof *s->swaps);
    else
        s->pagers = calloc(n ? n : 1, sizeof *s->pagers);
    if (swap ? s->swaps == NULL : s->pagers == NULL)
        return SPRING_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        char p[256], kp[300];
        itempath(p, sizeof p, sect, i);
        const json_t *e = json_array_get(a, i);
        static const char *const swkeys[] = {"name", "plugin", "options", "temporary", NULL};
        static const char *const pgkeys[] = {"name", "plugin", "options", NULL};
        const char *name, *plugin;
        if ((rc = want_object(c, e, p)) || (rc = check_keys(c, e, p, swap ? swkeys : pgkeys)) ||
            (rc = get_string(c, e, p, "name", true, &name)) || (rc = get_string(c, e, p, "plugin", true, &plugin)))
            return rc;
        subpath(kp, sizeof kp, p, "name");
        if (swap ? (rc = check_name(c, kp, "swap pager", name, NAMES(s->swaps), sizeof *s->swaps, s->nswaps))
                 : (rc = check_name(c, kp, "pager", name, NAMES(s->pagers), sizeof *s->pagers, s->npagers)))
            return rc;
        spring_plugin_lib_t *lib;
        subpath(kp, sizeof kp, p, "plugin");
        if ((rc = load_plugin(c, kp, plugin, swap ? SPRING_PLUGIN_SWAP : SPRING_PLUGIN_PAGER, &lib)) != 0)
            return rc;
        const spring_plugin_t *d = spring_plugin_info(lib);
        char *nm = strdup(name);
        if (nm == NULL) {
            spring_plugin_unref(lib);
            return SPRING_ENOMEM;
        }
        spring_options_t *o = NULL;
        void *inst = NULL;
        bool temp = false;
        subpath(kp, sizeof kp, p, "options");
        if (swap) {
            struct st_swap *w = &s->swaps[s->nswaps++];
            w->name = nm;
            w->lib = lib;
            w->used_by = -1;
            if ((rc = get_bool(c, e, p, "temporary", false, &temp)) ||
                (rc = plugin_options(c, json_object_get(e, "options"), kp, d->options, d->noptions, &o)))
                return rc;
            w->opts = o;
            w->temporary = temp;
            spring_plugin_env_t env = make_env(s, true);
            clear_error();
            if ((rc = spring__plugin_swap_new(d, &env, o, &inst)) != 0) {
                return fail_quoting(c, rc, p, true, "swap pager %s (plugin %s) could not start", name, d->name);
            }
            w->inst = inst;
        } else {
            struct st_pager *g = &s->pagers[s->npagers++];
            g->name = nm;
            g->lib = lib;
            if ((rc = plugin_options(c, json_object_get(e, "options"), kp, d->options, d->noptions, &o)))
                return rc;
            g->opts = o;
            spring_plugin_env_t env = make_env(s, d->pager->needs_system);
            clear_error();
            if ((rc = spring__plugin_pager_new(d, &env, o, &inst)) != 0) {
                return fail_quoting(c, rc, p, true, "pager %s (plugin %s) could not start", name, d->name);
            }
            g->inst = inst;
        }
    }
    return 0;
}

static int find_swap(const spring_stack_t *s, const char *name)
{
    for (size_t i = 0; i < s->nswaps; i++)
        if (strcmp(s->swaps[i].name, name) == 0)
            return (int)i;
    return -1;
}

static int find_obj(const spring_stack_t *s, const char *name)
{
    for (size_t i = 0; i < s->nobjs; i++)
        if (strcmp(s->objs[i].name, name) == 0)
            return (int)i;
    return -1;
}

static void names_of(char *buf, size_t n, const char *const *names, size_t stride, size_t count)
{
    size_t at = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < count && at < n; i++)
        at += (size_t)snprintf(buf + at, n - at, "%s%s", i ? ", " : "",
                               *(const char *const *)((const char *)names + i * stride));
    if (count == 0)
        snprintf(buf, n, "none");
}

/* Address spaces' swap pagers: which swap entries they take; the others
 * go to the VMM (also when there is no address space). */
static int claim_swaps(struct ctx *c, const json_t *root)
{
    spring_stack_t *s = c->s;
    const json_t *a = json_object_get(root, "address_spaces");
    size_t nas = json_is_array(a) ? json_array_size(a) : 0; /* not an array: reported by build_ases */
    for (size_t i = 0; i < nas; i++) {
        const json_t *e = json_array_get(a, i);
        char p[256], kp[300];
        itempath(p, sizeof p, "address_spaces", i);
        const char *sw;
        if (!json_is_object(e))
            continue;
        int rc = get_string(c, e, p, "swap", false, &sw);
        if (rc)
            return rc;
        if (sw == NULL)
            continue;
        subpath(kp, sizeof kp, p, "swap");
        int k = find_swap(s, sw);
        if (k < 0) {
            char list[512];
            names_of(list, sizeof list, NAMES(s->swaps), sizeof *s->swaps, s->nswaps);
            return fail(c, SPRING_ECONFIG, kp, "no swap pager named \"%s\" (defined: %s)", sw, list);
        }
        if (s->swaps[k].used_by >= 0)
            return fail(c, SPRING_ECONFIG, kp, "swap pager \"%s\" is already the swap pager of address_spaces[%d]", sw,
                        s->swaps[k].used_by);
        s->swaps[k].used_by = (int)i;
    }
    for (size_t i = 0; i < s->nswaps; i++) {
        struct st_swap *w = &s->swaps[i];
        if (w->used_by >= 0)
            continue;
        int rc = spring_vmm_add_swap_pager(s->vobj, spring__plugin_swap_ops(spring_plugin_info(w->lib)), w->inst,
                                           w->temporary);
        char p[256];
        itempath(p, sizeof p, "swap", i);
        if (rc)
            return fail(c, rc, p, "swap pager %s could not be added to the VMM: %s", w->name, spring_strerror(rc));
        w->inst = NULL; /* the VMM's now */
    }
    return 0;
}

static int build_objects(struct ctx *c, const json_t *root)
{
    spring_stack_t *s = c->s;
    const json_t *a = json_object_get(root, "objects");
    if (a == NULL)
        return 0;
    int rc = want_array(c, a, "objects");
    if (rc)
        return rc;
    size_t n = json_array_size(a);
    if ((s->objs = calloc(n ? n : 1, sizeof *s->objs)) == NULL)
        return SPRING_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        char p[256], kp[300];
        itempath(p, sizeof p, "objects", i);
        const json_t *e = json_array_get(a, i);
        static const char *const keys[] = {"name", "pager", "options", "view", "rights", "anonymous", NULL};
        const char *name, *pager, *view;
        if ((rc = want_object(c, e, p)) || (rc = check_keys(c, e, p, keys)) ||
            (rc = get_string(c, e, p, "name", true, &name)) || (rc = get_string(c, e, p, "pager", false, &pager)) ||
            (rc = get_string(c, e, p, "view", false, &view)))
            return rc;
        subpath(kp, sizeof kp, p, "name");
        if ((rc = check_name(c, kp, "object", name, NAMES(s->objs), sizeof *s->objs, s->nobjs)))
            return rc;
        bool anon = json_object_get(e, "anonymous") != NULL;
        if ((pager != NULL) + (view != NULL) + anon != 1)
            return fail(c, SPRING_ECONFIG, p, "expected exactly one of pager, view and anonymous");
        if (!pager && json_object_get(e, "options"))
            return fail(c, SPRING_ECONFIG, p, "options belong to objects of a pager");
        if (!view && json_object_get(e, "rights"))
            return fail(c, SPRING_ECONFIG, p, "rights belong to views");
        struct st_obj *o = &s->objs[s->nobjs];
        if ((o->name = strdup(name)) == NULL)
            return SPRING_ENOMEM;
        s->nobjs++;
        if (pager) {
            size_t k;
            for (k = 0; k < s->npagers && strcmp(s->pagers[k].name, pager) != 0; k++)
                ;
            subpath(kp, sizeof kp, p, "pager");
            if (k == s->npagers) {
                char list[512];
                names_of(list, sizeof list, NAMES(s->pagers), sizeof *s->pagers, s->npagers);
                return fail(c, SPRING_ECONFIG, kp, "no pager named \"%s\" (defined: %s)", pager, list);
            }
            const spring_pager_plugin_t *pp = spring_plugin_info(s->pagers[k].lib)->pager;
            spring_options_t *oo;
            subpath(kp, sizeof kp, p, "options");
            if ((rc = plugin_options(c, json_object_get(e, "options"), kp, pp->object_options, pp->nobject_options,
                                     &oo)))
                return rc;
            clear_error();
            rc = spring__plugin_pager_mobj(spring_plugin_info(s->pagers[k].lib), s->pagers[k].inst, oo, &o->m);
            spring_options_free(oo);
            if (rc != 0 || o->m == NULL) {
                o->m = NULL;
                return fail_quoting(c, rc ? rc : SPRING_EPROTO, p, true, "pager %s could not make object %s", pager,
                                    name);
            }
        } else if (view) {
            subpath(kp, sizeof kp, p, "view");
            int k = find_obj(s, view);
            if (k < 0 || (size_t)k >= i) {
                char list[512];
                names_of(list, sizeof list, NAMES(s->objs), sizeof *s->objs, i);
                return fail(c, SPRING_ECONFIG, kp, "no object named \"%s\" defined before this one (defined: %s)", view,
                            list);
            }
            spring_rights_t r;
            if ((rc = get_rights(c, e, p, "rights", SPRING_RIGHTS_RO, &r)))
                return rc;
            const spring_mobj_view_t *vi = spring_mobj_query(s->objs[k].m, SPRING_MOBJ_VIEW_INTERFACE, 1);
            if (vi == NULL)
                return fail(c, SPRING_ENOSYS, kp, "object \"%s\" cannot hand out views (its pager offers no %s interface)",
                            view, SPRING_MOBJ_VIEW_INTERFACE);
            if ((rc = vi->view(s->objs[k].m, r, &o->m)) != 0)
                return fail(c, rc, p, "object \"%s\" refused a view: %s", view, spring_strerror(rc));
        } else {
            uint64_t len;
            if ((rc = get_size(c, e, p, "anonymous", 0, 1, (uint64_t)1 << 46, &len)))
                return rc;
            size_t ps = s->page_size;
            if (len % ps != 0) {
                subpath(kp, sizeof kp, p, "anonymous");
                return fail(c, SPRING_ECONFIG, kp, "expected a multiple of the page size (%zu), found %" PRIu64, ps, len);
            }
            /* An anonymous object comes from the VMM's swap pagers: made by
             * a mapping in a scratch address space, then unmapped. */
            spring_as_t *tmp;
            if ((rc = spring_as_new(s->vmm, NULL, &tmp)) != 0)
                return fail(c, rc, p, "%s", spring_strerror(rc));
            spring_off_t l = (spring_off_t)len;
            spring_addr_t at = SPRING_ANYWHERE;
            rc = spring_as_allocate_memory_and_mobj(tmp, &l, &at, SPRING_RIGHTS_RW, &o->m);
            spring_as_destroy(tmp);
            if (rc != 0)
                return fail(c, rc, p, "anonymous memory could not be made: %s", spring_strerror(rc));
        }
    }
    return 0;
}

static int build_mappings(struct ctx *c, const json_t *e, const char *p, struct st_as *a)
{
    spring_stack_t *s = c->s;
    const json_t *m = json_object_get(e, "mappings");
    if (m == NULL)
        return 0;
    char mp[300];
    subpath(mp, sizeof mp, p, "mappings");
    int rc = want_array(c, m, mp);
    if (rc)
        return rc;
    size_t n = json_array_size(m);
    if ((a->maps = calloc(n ? n : 1, sizeof *a->maps)) == NULL)
        return SPRING_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        char q[400], kp[450];
        itempath(q, sizeof q, mp, i);
        const json_t *x = json_array_get(m, i);
        static const char *const keys[] = {"name", "object", "anonymous", "offset", "length", "address", "rights",
                                           NULL};
        const char *name, *obj;
        uint64_t off, len, anon;
        spring_rights_t r;
        if ((rc = want_object(c, x, q)) || (rc = check_keys(c, x, q, keys)) ||
            (rc = get_string(c, x, q, "name", false, &name)) || (rc = get_string(c, x, q, "object", false, &obj)) ||
            (rc = get_size(c, x, q, "anonymous", 0, 1, (uint64_t)1 << 46, &anon)) ||
            (rc = get_size(c, x, q, "offset", 0, 0, (uint64_t)1 << 62, &off)) ||
            (rc = get_size(c, x, q, "length", 0, 0, (uint64_t)1 << 62, &len)) ||
            (rc = get_rights(c, x, q, "rights", SPRING_RIGHTS_RW, &r)))
            return rc;
        if ((obj != NULL) == (json_object_get(x, "anonymous") != NULL))
            return fail(c, SPRING_ECONFIG, q, "expected exactly one of object and anonymous");
        if (name != NULL) {
            subpath(kp, sizeof kp, q, "name");
            if ((rc = check_name(c, kp, "mapping", name, NAMES(a->maps), sizeof *a->maps, a->nmaps)))
                return rc;
        }
        spring_addr_t addr = SPRING_ANYWHERE;
        const json_t *ad = json_object_get(x, "address");
        subpath(kp, sizeof kp, q, "address");
        if (ad != NULL) {
            char *end = NULL;
            if (json_is_integer(ad) && json_integer_value(ad) > 0) {
                addr = (spring_addr_t)json_integer_value(ad);
            } else if (json_is_string(ad) && strcmp(json_string_value(ad), "anywhere") == 0) {
                addr = SPRING_ANYWHERE;
            } else if (json_is_string(ad) && (errno = 0, addr = strtoull(json_string_value(ad), &end, 0), 1) &&
                       end != json_string_value(ad) && *end == '\0' && errno == 0 && addr != 0) {
                /* parsed */
            } else {
                char f[96];
                jshow(ad, f, sizeof f);
                return fail(c, SPRING_ECONFIG, kp, "expected an address (a number, \"0x...\") or \"anywhere\", found %s",
                            f);
            }
        }
        struct st_map *mm = &a->maps[a->nmaps];
        if (name && (mm->name = strdup(name)) == NULL)
            return SPRING_ENOMEM;
        a->nmaps++;
        spring_off_t l;
        if (obj != NULL) {
            int k = find_obj(s, obj);
            subpath(kp, sizeof kp, q, "object");
            if (k < 0) {
                char list[512];
                names_of(list, sizeof list, NAMES(s->objs), sizeof *s->objs, s->nobjs);
                return fail(c, SPRING_ECONFIG, kp, "no object named \"%s\" (defined: %s)", obj, list);
            }
            l = (spring_off_t)len;
            if (len == 0) {
                spring_off_t ol;
                if ((rc = spring_mobj_get_length(s->objs[k].m, &ol)) != 0)
                    return fail(c, rc, q, "the length of object %s is unknown (%s): give length", obj,
                                spring_strerror(rc));
                if ((uint64_t)ol <= off)
                    return fail(c, SPRING_ERANGE, q, "offset %" PRIu64 " is at or past the end of object %s (%" PRIu64
                                                     " bytes)", off, obj, (uint64_t)ol);
                l = ol - (spring_off_t)off; /* the rest of the object, rounded up to a page */
                l = (l + (spring_off_t)s->page_size - 1) / (spring_off_t)s->page_size * (spring_off_t)s->page_size;
            }
            clear_error();
            rc = spring_as_map(a->as, s->objs[k].m, (spring_off_t)off, &l, &addr, r);
        } else {
            if (json_object_get(x, "offset"))
                return fail(c, SPRING_ECONFIG, q, "offset belongs to mappings of an object");
            l = (spring_off_t)anon;
            clear_error();
            rc = spring_as_allocate_memory(a->as, &l, &addr, r);
        }
        if (rc != 0) {
            return fail_quoting(c, rc, q, true, "the mapping failed");
        }
        mm->addr = addr;
        mm->len = l;
    }
    return 0;
}

static int build_ases(struct ctx *c, const json_t *root)
{
    spring_stack_t *s = c->s;
    const json_t *a = json_object_get(root, "address_spaces");
    if (a == NULL)
        return 0;
    int rc = want_array(c, a, "address_spaces");
    if (rc)
        return rc;
    size_t n = json_array_size(a);
    if ((s->ases = calloc(n ? n : 1, sizeof *s->ases)) == NULL)
        return SPRING_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        char p[256], kp[300];
        itempath(p, sizeof p, "address_spaces", i);
        const json_t *e = json_array_get(a, i);
        static const char *const keys[] = {"name", "privileged", "swap", "mappings", NULL};
        const char *name, *sw;
        bool priv;
        if ((rc = want_object(c, e, p)) || (rc = check_keys(c, e, p, keys)) ||
            (rc = get_string(c, e, p, "name", true, &name)) || (rc = get_bool(c, e, p, "privileged", false, &priv)) ||
            (rc = get_string(c, e, p, "swap", false, &sw)))
            return rc;
        subpath(kp, sizeof kp, p, "name");
        if ((rc = check_name(c, kp, "address space", name, NAMES(s->ases), sizeof *s->ases, s->nases)))
            return rc;
        struct st_as *x = &s->ases[s->nases];
        if ((x->name = strdup(name)) == NULL)
            return SPRING_ENOMEM;
        s->nases++;
        spring_as_options_t o;
        spring_as_options_init(&o);
        o.privileged = priv;
        if ((rc = spring_as_new(s->vmm, &o, &x->as)) != 0)
            return fail(c, rc, p, "the address space could not be made: %s", spring_strerror(rc));
        if (sw != NULL) {
            struct st_swap *w = &s->swaps[find_swap(s, sw)];
            rc = spring_as_set_swap_pager(x->as, spring__plugin_swap_ops(spring_plugin_info(w->lib)), w->inst);
            if (rc)
                return fail(c, rc, p, "swap pager %s could not be set: %s", sw, spring_strerror(rc));
            w->inst = NULL; /* the address space's now */
        }
        if ((rc = build_mappings(c, e, p, x)) != 0)
            return rc;
    }
    return 0;
}

static int build(struct ctx *c, json_t *root)
{
    spring_stack_t *s = c->s;
    int rc = want_object(c, root, "");
    static const char *const keys[] = {"description", "plugin_path", "vmm", "swap", "pagers", "objects",
                                       "address_spaces", "workloads", NULL};
    if (rc || (rc = check_keys(c, root, "", keys)) != 0)
        return rc;
    const char *desc;
    if ((rc = get_string(c, root, "", "description", false, &desc)))
        return rc;
    const json_t *pp = json_object_get(root, "plugin_path");
    size_t np = pp ? json_array_size(pp) : 0;
    if (pp && (rc = want_array(c, pp, "plugin_path")))
        return rc;
    if ((s->plugin_dirs = calloc(np + 1, sizeof *s->plugin_dirs)) == NULL)
        return SPRING_ENOMEM;
    for (size_t i = 0; i < np; i++) {
        const json_t *d = json_array_get(pp, i);
        char p[64], f[96];
        itempath(p, sizeof p, "plugin_path", i);
        if (!json_is_string(d) || json_string_value(d)[0] == '\0') {
            jshow(d, f, sizeof f);
            return fail(c, SPRING_ECONFIG, p, "expected a directory (a non-empty string), found %s", f);
        }
        if ((s->plugin_dirs[i] = resolve(s->base_dir, json_string_value(d))) == NULL)
            return SPRING_ENOMEM;
    }
    if ((rc = build_vmm(c, root)) || (rc = build_instances(c, root, true)) ||
        (rc = build_instances(c, root, false)) || (rc = claim_swaps(c, root)) || (rc = build_objects(c, root)) ||
        (rc = build_ases(c, root)))
        return rc;
    return 0;
}

static int open_json(json_t *root, const char *origin, spring_stack_t **out)
{
    spring_stack_t *s = calloc(1, sizeof *s);
    if (s == NULL) {
        json_decref(root);
        return SPRING_ENOMEM;
    }
    s->origin = strdup(origin);
    const char *slash = strrchr(origin, '/');
    s->base_dir = slash ? strndup(origin, (size_t)(slash - origin) + (slash == origin)) : NULL;
    if (s->origin == NULL || (slash && s->base_dir == NULL)) {
        json_decref(root);
        free_all(s);
        return SPRING_ENOMEM;
    }
    struct ctx c = {s, s->origin};
    int rc = build(&c, root);
    json_decref(root);
    if (rc != 0) {
        char why[1024];
        snprintf(why, sizeof why, "%s", spring_last_error());
        destroy_partial(s);
        spring_set_last_error("%s", why); /* teardown may have set another */
        return rc;
    }
    *out = s;
    return 0;
}

int spring_stack_open(const char *path, spring_stack_t **out)
{
    if (path == NULL || out == NULL)
        return SPRING_EINVAL;
    *out = NULL;
    json_error_t err;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
    if (root == NULL) {
        if (err.line <= 0)
            spring_set_last_error("%s: %s", path, err.text);
        else
            spring_set_last_error("%s:%d:%d: %s", path, err.line, err.column, err.text);
        return SPRING_ECONFIG;
    }
    return open_json(root, path, out);
}

int spring_stack_open_string(const char *json, const char *origin, spring_stack_t **out)
{
    if (json == NULL || out == NULL)
        return SPRING_EINVAL;
    *out = NULL;
    if (origin == NULL)
        origin = "<string>";
    json_error_t err;
    json_t *root = json_loads(json, JSON_REJECT_DUPLICATES, &err);
    if (root == NULL) {
        spring_set_last_error("%s:%d:%d: %s", origin, err.line, err.column, err.text);
        return SPRING_ECONFIG;
    }
    return open_json(root, origin, out);
}

/* ------------------------------------------------------------------ */
/* Taking and giving back.                                              */

int spring_stack_get_vmm(spring_stack_t *s, spring_vmm_t **out)
{
    if (s == NULL || out == NULL)
        return SPRING_EINVAL;
    s->vmm_held++;
    *out = s->vmm;
    return 0;
}

int spring_stack_put_vmm(spring_stack_t *s, spring_vmm_t *vmm)
{
    if (s == NULL || vmm == NULL || vmm != s->vmm || s->vmm_held == 0)
        return SPRING_EINVAL;
    s->vmm_held--;
    return 0;
}

int spring_stack_get_as(spring_stack_t *s, const char *name, spring_as_t **out)
{
    if (s == NULL || name == NULL || out == NULL)
        return SPRING_EINVAL;
    for (size_t i = 0; i < s->nases; i++)
        if (strcmp(s->ases[i].name, name) == 0) {
            s->ases[i].held++;
            *out = s->ases[i].as;
            return 0;
        }
    spring_set_last_error("no address space named \"%s\" in %s (%s)", name, s->origin, spring_err_name(SPRING_ENOENT));
    return SPRING_ENOENT;
}

int spring_stack_put_as(spring_stack_t *s, spring_as_t *as)
{
    if (s == NULL || as == NULL)
        return SPRING_EINVAL;
    for (size_t i = 0; i < s->nases; i++)
        if (s->ases[i].as == as && s->ases[i].held > 0) {
            s->ases[i].held--;
            return 0;
        }
    return SPRING_EINVAL;
}

int spring_stack_get_mobj(spring_stack_t *s, const char *name, spring_mobj_t **out)
{
    if (s == NULL || name == NULL || out == NULL)
        return SPRING_EINVAL;
    int k = find_obj(s, name);
    if (k < 0) {
        spring_set_last_error("no memory object named \"%s\" in %s (%s)", name, s->origin, spring_err_name(SPRING_ENOENT));
        return SPRING_ENOENT;
    }
    s->objs[k].held++;
    *out = spring_mobj_ref(s->objs[k].m);
    return 0;
}

int spring_stack_put_mobj(spring_stack_t *s, spring_mobj_t *mobj)
{
    if (s == NULL || mobj == NULL)
        return SPRING_EINVAL;
    for (size_t i = 0; i < s->nobjs; i++)
        if (s->objs[i].m == mobj && s->objs[i].held > 0) {
            s->objs[i].held--;
            spring_mobj_unref(mobj);
            return 0;
        }
    return SPRING_EINVAL;
}

int spring_stack_mapping(spring_stack_t *s, const char *as_name, const char *mapping, spring_addr_t *address,
                         spring_off_t *length)
{
    if (s == NULL || as_name == NULL || mapping == NULL || address == NULL || length == NULL)
        return SPRING_EINVAL;
    for (size_t i = 0; i < s->nases; i++) {
        if (strcmp(s->ases[i].name, as_name) != 0)
            continue;
        for (size_t j = 0; j < s->ases[i].nmaps; j++)
            if (s->ases[i].maps[j].name && strcmp(s->ases[i].maps[j].name, mapping) == 0) {
                *address = s->ases[i].maps[j].addr;
                *length = s->ases[i].maps[j].len;
                return 0;
            }
        spring_set_last_error("no mapping named \"%s\" in address space %s (%s)", mapping, as_name, spring_err_name(SPRING_ENOENT));
        return SPRING_ENOENT;
    }
    spring_set_last_error("no address space named \"%s\" in %s (%s)", as_name, s->origin, spring_err_name(SPRING_ENOENT));
    return SPRING_ENOENT;
}

const char *spring_stack_name(spring_stack_t *s, const char *what, const char *as_name, size_t i)
{
    if (s == NULL || what == NULL)
        return NULL;
    if (strcmp(what, "address_spaces") == 0)
        return i < s->nases ? s->ases[i].name : NULL;
    if (strcmp(what, "objects") == 0)
        return i < s->nobjs ? s->objs[i].name : NULL;
    if (strcmp(what, "mappings") == 0 && as_name != NULL) {
        for (size_t k = 0; k < s->nases; k++)
            if (strcmp(s->ases[k].name, as_name) == 0) {
                size_t seen = 0;
                for (size_t j = 0; j < s->ases[k].nmaps; j++)
                    if (s->ases[k].maps[j].name && seen++ == i)
                        return s->ases[k].maps[j].name;
                return NULL;
            }
    }
    return NULL;
}

int spring_stack_close(spring_stack_t *s)
{
    if (s == NULL)
        return 0;
    char held[512] = "";
    size_t at = 0;
    if (s->vmm_held)
        at += (size_t)snprintf(held + at, sizeof held - at, "the VMM");
    for (size_t i = 0; i < s->nases && at < sizeof held; i++)
        if (s->ases[i].held)
            at += (size_t)snprintf(held + at, sizeof held - at, "%saddress space %s", at ? ", " : "", s->ases[i].name);
    for (size_t i = 0; i < s->nobjs && at < sizeof held; i++)
        if (s->objs[i].held)
            at += (size_t)snprintf(held + at, sizeof held - at, "%sobject %s", at ? ", " : "", s->objs[i].name);
    if (at) {
        spring_set_last_error("%s: still taken: %s (%s)", s->origin, held, spring_err_name(SPRING_EBUSY));
        return SPRING_EBUSY;
    }
    clear_error();
    /* Data goes back to the pagers first, so that a failure changes
     * nothing.  Not anonymous memory: the stack's anonymous memory dies
     * with it, and writing it to swap would only cost time (and could
     * fail on a full swap, leaving a stack that cannot be closed). */
    int rc = spring_vmm_sync_flags(s->vmm, SPRING_VMM_SYNC_SKIP_ANON);
    if (rc != 0) {
        char why[768];
        snprintf(why, sizeof why, "%s", spring_last_error());
        spring_set_last_error("%s: modified data could not be written back: %s (%s)", s->origin, why, spring_err_name(rc));
        return rc;
    }
    teardown(s);
    stop_pagers(s);
    (void)spring_registry_remove_vmm(s->reg, s->vmm);
    clear_error();
    if ((rc = spring_vmm_destroy(s->vmm)) != 0) {
        (void)spring_registry_add_vmm(s->reg, s->vmm);
        char why[768];
        snprintf(why, sizeof why, "%s", spring_last_error());
        spring_set_last_error("%s: the VMM could not be destroyed: %s (%s)", s->origin, why, spring_err_name(rc));
        return rc;
    }
    s->vmm = NULL;
    free_all(s);
    return 0;
}
