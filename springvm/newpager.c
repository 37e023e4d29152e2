/*
 * newpager.c - springvm new-pager NAME: write a pager plugin skeleton (the
 * template in springvm/template/, carried in the binary by template.h)
 * into the new directory NAME: NAME.c, a Makefile and NAME.json (a
 * configuration that runs it), with every "skeleton" replaced by the
 * directory's last component.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdbool.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <spring/spring.h>

#include "template.h"
#include "testpager.h"

/* The template with every "skeleton" replaced by name (malloc'ed). */
static char *instantiate(const char *text, const char *name)
{
    static const char word[] = "skeleton";
    size_t n = 0, wl = sizeof word - 1, nl = strlen(name);
    for (const char *p = text; (p = strstr(p, word)) != NULL; p += wl)
        n++;
    char *out = malloc(strlen(text) + n * nl + 1), *o = out;
    if (out == NULL)
        return NULL;
    for (const char *p = text, *q; *p; p = q + wl) {
        if ((q = strstr(p, word)) == NULL) {
            strcpy(o, p);
            return out;
        }
        memcpy(o, p, (size_t)(q - p));
        o += q - p;
        memcpy(o, name, nl);
        o += nl;
    }
    *o = '\0';
    return out;
}

static int write_file(const char *dir, const char *file, const char *text)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s/%s", dir, file) >= (int)sizeof path) {
        fprintf(stderr, "springvm new-pager: %s/%s: the path is too long\n", dir, file);
        return 2;
    }
    FILE *f = fopen(path, "wx");
    size_t len = strlen(text);
    bool ok = f != NULL && fwrite(text, 1, len, f) == len;
    int e = errno;
    if (f != NULL && fclose(f) != 0 && ok) {
        ok = false;
        e = errno;
    }
    if (!ok) {
        fprintf(stderr, "springvm new-pager: %s: %s\n", path, strerror(e));
        return 2;
    }
    printf("springvm new-pager: wrote %s\n", path);
    return 0;
}

int springvm_new_pager(int argc, char **argv)
{
    if (argc != 1 || argv[0][0] == '-' || argv[0][0] == '\0') {
        fprintf(stderr, "springvm new-pager: expected one argument, the directory to make "
                        "(springvm new-pager NAME)\n");
        return 2;
    }
    char *dir = strdup(argv[0]);
    if (dir == NULL)
        return 2;
    size_t dl = strlen(dir);
    while (dl > 1 && dir[dl - 1] == '/')
        dir[--dl] = '\0';
    const char *slash = strrchr(dir, '/'), *name = slash ? slash + 1 : dir;
    /* The plugin's name: a C identifier (it names the source, the shared
     * object and the descriptor; the loader wants the file named after it). */
    bool ok = name[0] != '\0' && strlen(name) <= 64 && (isalpha((unsigned char)name[0]) || name[0] == '_');
    for (const char *p = name; ok && *p; p++)
        ok = isalnum((unsigned char)*p) || *p == '_';
    if (!ok) {
        fprintf(stderr,
                "springvm new-pager: %s: the plugin's name must be a C identifier of at most 64 characters "
                "(letters, digits, _; not starting with a digit)\n",
                name);
        free(dir);
        return 2;
    }
    /* A name the search path already has: its `make install` would put
     * the new plugin over that one (or be shadowed by it). */
    spring_plugin_lib_t *lib = NULL;
    if (spring_plugin_load(name, NULL, SPRING_PLUGIN_ANY, &lib) == 0 || strcmp(name, "soft") == 0) {
        fprintf(stderr, "springvm new-pager: %s: a plugin of that name exists already, %s: choose another name\n",
                name, lib ? spring_plugin_path(lib) : "(built in)");
        spring_plugin_unref(lib);
        free(dir);
        return 2;
    }
    if (mkdir(dir, 0777) != 0) {
        fprintf(stderr, "springvm new-pager: %s: %s%s\n", dir, strerror(errno),
                errno == EEXIST ? " (new-pager writes into a new directory only)" : "");
        free(dir);
        return 2;
    }
    char file[80];
    char *src = instantiate(template_source, name), *mk = instantiate(template_makefile, name),
         *cf = instantiate(template_config, name);
    int status = src && mk && cf ? 0 : 2;
    snprintf(file, sizeof file, "%s.c", name);
    if (status == 0)
        status = write_file(dir, file, src);
    if (status == 0)
        status = write_file(dir, "Makefile", mk);
    snprintf(file, sizeof file, "%s.json", name);
    if (status == 0)
        status = write_file(dir, file, cf);
    if (status == 0)
        printf("springvm new-pager: the pager plugin \"%s\" is ready: make -C %s && make -C %s test && make -C %s "
               "run\n", name, dir, dir, dir);
    free(src);
    free(mk);
    free(cf);
    free(dir);
    return status;
}
