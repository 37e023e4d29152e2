/*
 * storepager.c - a pager in a few lines: a file becomes a memory object
 * through the store helper (include/spring/store.h).  The file's I/O comes
 * first; the rest is the whole pager.  docs/pager-guide.md quotes it (the
 * lines "[name]" mark the pieces it shows).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <spring/spring.h>

/* [store_io] */
/* The store is an open file; its methods are plain file I/O.  Any failure
 * is reported as SPRING_EPAGER (the pager's I/O failed). */
static int f_read(void *store, spring_off_t off, void *buf, size_t len)
{
    return pread(*(int *)store, buf, len, (off_t)off) == (ssize_t)len ? 0 : SPRING_EPAGER;
}

static int f_write(void *store, spring_off_t off, const void *buf, size_t len)
{
    static const char zeros[4096];
    for (size_t done = 0, n; done < len; done += n) { /* buf NULL: zeros */
        n = buf != NULL ? len - done : len - done < sizeof zeros ? len - done : sizeof zeros;
        if (pwrite(*(int *)store, buf != NULL ? (const char *)buf + done : zeros, n, (off_t)(off + done)) != (ssize_t)n)
            return SPRING_EPAGER;
    }
    return 0;
}

static int f_get_length(void *store, spring_off_t *len)
{
    struct stat sb;
    if (fstat(*(int *)store, &sb) != 0)
        return SPRING_EPAGER;
    *len = (spring_off_t)sb.st_size;
    return 0;
}

/* One preadv() per page-in: the pages of a block land in the frames. */
static int f_read_pages(void *store, spring_off_t off, void *const *pages, size_t npages, size_t page_size)
{
    struct iovec *iov = malloc(npages * sizeof *iov);
    if (iov == NULL)
        return SPRING_ENOMEM;
    for (size_t i = 0; i < npages; i++)
        iov[i] = (struct iovec){pages[i], page_size};
    ssize_t n = preadv(*(int *)store, iov, (int)npages, (off_t)off);
    free(iov);
    return n == (ssize_t)(npages * page_size) ? 0 : SPRING_EPAGER;
}

static int f_set_length(void *store, spring_off_t len)
{
    return ftruncate(*(int *)store, (off_t)len) == 0 ? 0 : SPRING_EPAGER;
}

static int f_sync(void *store)
{
    return fsync(*(int *)store) == 0 ? 0 : SPRING_EPAGER;
}

static void f_release(void *store)
{
    close(*(int *)store); /* the helper will never call the store again */
}
/* [store_io] */

/* [store_ops] */
static const spring_store_ops_t file_ops = {
    .version = SPRING_STORE_OPS_VERSION,
    .read = f_read, /* required: read, write, get_length */
    .write = f_write,
    .get_length = f_get_length,
    .read_pages = f_read_pages, /* optional */
    .set_length = f_set_length,
    .sync = f_sync,
    .release = f_release,
};
/* [store_ops] */

#define CHECK(call) check((call), #call)
static void check(int rc, const char *what)
{
    if (rc != 0) {
        fprintf(stderr, "storepager: %s: %s (%s)\n", what, spring_err_name(rc), spring_last_error());
        exit(1);
    }
}

static void show(spring_as_t *as, spring_addr_t at, const char *what)
{
    char buf[40] = "";
    int rc = spring_as_read(as, at, buf, sizeof buf - 1);
    printf("%-30s %s\n", what, rc != 0 ? spring_last_error() : buf[0] ? buf : "(zeros)");
}

int main(void)
{
    char path[] = "/tmp/storepager-XXXXXX", buf[40] = "";
    int fd = mkstemp(path); /* a file of two pages and 100 bytes */
    if (fd < 0 || unlink(path) != 0 || pwrite(fd, "hello from the file", 19, 0) != 19 || ftruncate(fd, 8292) != 0)
        return 1;
    spring_vmm_config_t vcfg;
    spring_vmm_config_init(&vcfg); /* a VMM named "vmm": 1024 frames of 4096 bytes */
    spring_vmm_t *vmm;
    spring_registry_t *reg;
    spring_as_t *as;
    CHECK(spring_vmm_new(&vcfg, &vmm));
    CHECK(spring_registry_new(&reg));
    CHECK(spring_registry_add_vmm(reg, vmm)); /* the helper finds a bind's VMM here */
    CHECK(spring_as_new(vmm, NULL, &as));

    /* [make] */
    spring_store_config_t cfg;
    spring_store_config_init(&cfg);
    cfg.registry = reg;
    spring_store_t *st;
    spring_mobj_t *rw, *ro;
    CHECK(spring_store_new(&file_ops, &fd, &cfg, &st)); /* the helper owns fd from now on */
    CHECK(spring_store_mobj(st, SPRING_RIGHTS_RW, &rw)); /* two views, one cache */
    CHECK(spring_store_mobj(st, SPRING_RIGHTS_RO, &ro));
    /* [make] */

    spring_off_t len = 4 * 4096; /* a mapping may extend past the end, as with mmap */
    spring_addr_t a_rw = SPRING_ANYWHERE, a_ro = SPRING_ANYWHERE;
    CHECK(spring_as_map(as, rw, 0, &len, &a_rw, SPRING_RIGHTS_RW));
    CHECK(spring_as_map(as, ro, 0, &len, &a_ro, SPRING_RIGHTS_RO));
    show(as, a_ro, "read-only view at 0:");
    CHECK(spring_as_write(as, a_rw + 4096, "written through a mapping", 26));
    show(as, a_ro + 4096, "read-only view at 4096:");
    show(as, a_ro + 3 * 4096, "read-only view past the end:");

    /* [sync] */
    CHECK(spring_store_sync(st)); /* modified pages to the file, then f_sync */
    printf("%-30s %s\n", "the file at 4096 after sync:", pread(fd, buf, 26, 4096) == 26 ? buf : "?");
    CHECK(spring_store_set_length(st, 4096)); /* truncate ... */
    show(as, a_ro + 4096, "after truncating to 4096:");
    CHECK(spring_mobj_set_length(rw, 8192)); /* ... and grow again: zeros */
    show(as, a_ro + 4096, "after growing to 8192:");
    /* [sync] */

    spring_as_destroy(as);
    spring_mobj_unref(rw);
    spring_mobj_unref(ro);
    spring_store_unref(st); /* the last reference: the caches go, f_release closes fd */
    CHECK(spring_registry_remove_vmm(reg, vmm));
    CHECK(spring_vmm_destroy(vmm));
    spring_registry_destroy(reg);
    return fcntl(fd, F_GETFD) < 0 ? 0 : 1; /* closed */
}
