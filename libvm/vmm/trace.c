/*
 * trace.c - the VMM's event trace (paper §9.9): the ring of records
 * (vmtrace.h), its public calls (include/spring/trace.h), and the dump
 * format of docs/trace.md, written and read back.
 *
 * Locks: vmm->trace_lock guards vmm->trace; vmm->trace_on mirrors
 * trace.cap != 0 for the record points' unlocked check and is written
 * under the lock.  The lock is a leaf (docs/locking.md row 15): it is held
 * only to copy records in or out.  Files are written and read with no
 * lock held.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cache/cache_int.h"

/* ------------------------------------------------------------------ */
/* Kinds.                                                               */

#define CHECK_KIND(name, value, text) \
    _Static_assert(SPRING_TRACE_##name == (value), "spring_trace_kind_t differs from SPRING_TRACE_KIND_MAP");
SPRING_TRACE_KIND_MAP(CHECK_KIND)
#undef CHECK_KIND

#define KIND_MAX SPRING_TRACE_CACHE_DESTROY

const char *spring_trace_kind_name(int kind)
{
    switch (kind) {
#define KIND_NAME(name, value, text) \
    case (value):                    \
        return (text);
        SPRING_TRACE_KIND_MAP(KIND_NAME)
#undef KIND_NAME
    default:
        return "unknown";
    }
}

/* ------------------------------------------------------------------ */
/* The ring.                                                            */

/* Numbers for the threads that record, in the order they first do. */
static atomic_uint next_thread;
static _Thread_local uint32_t this_thread;

int spring__trace_init(spring_vmm_t *vmm, size_t cap)
{
    vm_mutex_init(&vmm->trace_lock, VM_RANK_TRACE);
    memset(&vmm->trace, 0, sizeof vmm->trace);
    atomic_init(&vmm->trace_on, false);
    if (cap == 0)
        return 0;
    vmm->trace.ring = calloc(cap, sizeof *vmm->trace.ring);
    if (vmm->trace.ring == NULL)
        return SPRING_ENOMEM; /* spring__trace_fini() undoes the rest */
    vmm->trace.cap = cap;
    atomic_store(&vmm->trace_on, true);
    return 0;
}

void spring__trace_fini(spring_vmm_t *vmm)
{
    free(vmm->trace.ring);
    vmm->trace.ring = NULL;
    vm_mutex_destroy(&vmm->trace_lock);
}

void spring__trace_put(spring_vmm_t *vmm, spring_trace_record_t *r)
{
    if (this_thread == 0)
        this_thread = atomic_fetch_add(&next_thread, 1) + 1;
    r->thread = this_thread;
    vm_lock(&vmm->trace_lock);
    struct vm_trace *t = &vmm->trace;
    if (t->cap != 0) {
        /* The time is taken under the lock: record numbers and times go
         * up together. */
        r->time_ns = spring__now_ns();
        r->seq = t->next++;
        t->ring[r->seq % t->cap] = *r;
        if (t->count < t->cap)
            t->count++;
        else
            t->lost++;
    }
    vm_unlock(&vmm->trace_lock);
}

/* Copy the newest n records held, oldest first.  => trace_lock held. */
static void ring_copy(spring_vmm_t *vmm, spring_trace_record_t *out, size_t n)
{
    vm_assert_held(&vmm->trace_lock);
    const struct vm_trace *t = &vmm->trace;
    uint64_t s = t->next - n;
    for (size_t i = 0; i < n; i++, s++)
        out[i] = t->ring[s % t->cap];
}

int spring_vmm_trace_set_size(spring_vmm_t *vmm, size_t nrecords)
{
    if (vmm == NULL || nrecords > SPRING_TRACE_MAX_RECORDS)
        return SPRING_EINVAL;
    spring_trace_record_t *ring = NULL;
    if (nrecords != 0 && (ring = spring__calloc(vmm, nrecords, sizeof *ring)) == NULL)
        return SPRING_ENOMEM;
    vm_lock(&vmm->trace_lock);
    struct vm_trace *t = &vmm->trace;
    spring_trace_record_t *old = t->ring;
    if (nrecords == 0) {
        t->count = 0;
        t->lost = 0;
    } else {
        size_t keep = SPRING__MIN(t->count, nrecords);
        uint64_t s = t->next - keep;
        for (size_t i = 0; i < keep; i++, s++)
            ring[s % nrecords] = t->ring[s % t->cap];
        t->lost += t->count - keep;
        t->count = keep;
    }
    t->ring = ring;
    t->cap = nrecords;
    atomic_store(&vmm->trace_on, nrecords != 0);
    vm_unlock(&vmm->trace_lock);
    free(old);
    return 0;
}

size_t spring_vmm_trace_size(spring_vmm_t *vmm)
{
    if (vmm == NULL)
        return 0;
    vm_lock(&vmm->trace_lock);
    size_t cap = vmm->trace.cap;
    vm_unlock(&vmm->trace_lock);
    return cap;
}

int spring_vmm_trace_read(spring_vmm_t *vmm, spring_trace_record_t *records, size_t max, size_t *n, uint64_t *lost)
{
    if (vmm == NULL || records == NULL || max == 0 || n == NULL)
        return SPRING_EINVAL;
    vm_lock(&vmm->trace_lock);
    const struct vm_trace *t = &vmm->trace;
    size_t k = SPRING__MIN(t->count, max);
    ring_copy(vmm, records, k);
    uint64_t l = t->lost;
    vm_unlock(&vmm->trace_lock);
    *n = k;
    if (lost != NULL)
        *lost = l;
    return 0;
}

int spring_vmm_trace_clear(spring_vmm_t *vmm)
{
    if (vmm == NULL)
        return SPRING_EINVAL;
    vm_lock(&vmm->trace_lock);
    vmm->trace.count = 0;
    vmm->trace.lost = 0;
    vm_unlock(&vmm->trace_lock);
    return 0;
}

uint64_t spring_as_trace_id(const spring_as_t *as)
{
    return as ? as->id : 0;
}

int spring_cache_trace_id(spring_cache_obj_t cache, uint64_t *id)
{
    if (id == NULL)
        return SPRING_EINVAL;
    struct vm_cache *c;
    int rc = spring__cache_from_handle(cache, &c);
    if (rc)
        return rc;
    *id = c->id;
    spring__cache_unref(c);
    return 0;
}

/* ------------------------------------------------------------------ */
/* The dump format (docs/trace.md): little-endian, a 64-byte header and  */
/* 80-byte records.                                                     */

#define DUMP_MAGIC "SPRVMTRC"
#define DUMP_HEADER 64
#define DUMP_RECORD 80

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static void encode_record(uint8_t *p, const spring_trace_record_t *r)
{
    put64(p + 0, r->seq);
    put64(p + 8, r->time_ns);
    put64(p + 16, r->duration_ns);
    put64(p + 24, r->cache);
    put64(p + 32, r->as);
    put64(p + 40, r->address);
    put64(p + 48, r->offset);
    put64(p + 56, r->length);
    put32(p + 64, r->kind);
    put32(p + 68, (uint32_t)r->result);
    put32(p + 72, r->access);
    put32(p + 76, r->thread);
}

static void decode_record(const uint8_t *p, spring_trace_record_t *r)
{
    r->seq = get64(p + 0);
    r->time_ns = get64(p + 8);
    r->duration_ns = get64(p + 16);
    r->cache = get64(p + 24);
    r->as = get64(p + 32);
    r->address = get64(p + 40);
    r->offset = get64(p + 48);
    r->length = get64(p + 56);
    r->kind = get32(p + 64);
    r->result = (int32_t)get32(p + 68);
    r->access = get32(p + 72);
    r->thread = get32(p + 76);
}

/* Write all n bytes (short writes and EINTR retried). */
static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int e = w < 0 ? errno : EIO;
            spring__set_error(SPRING_EIO, "writing the trace dump failed: %s", strerror(e));
            return SPRING_EIO;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int spring_vmm_trace_dump(spring_vmm_t *vmm, int fd)
{
    if (vmm == NULL || fd < 0)
        return SPRING_EINVAL;
    /* Room for every record the ring may hold, taken before the lock. */
    size_t cap = spring_vmm_trace_size(vmm);
    spring_trace_record_t *recs = NULL;
    for (;;) {
        if (cap != 0 && (recs = spring__calloc(vmm, cap, sizeof *recs)) == NULL)
            return SPRING_ENOMEM;
        vm_lock(&vmm->trace_lock);
        if (vmm->trace.cap <= cap)
            break;
        cap = vmm->trace.cap; /* grown meanwhile */
        vm_unlock(&vmm->trace_lock);
        free(recs);
        recs = NULL;
    }
    const struct vm_trace *t = &vmm->trace;
    size_t n = t->count;
    if (n)
        ring_copy(vmm, recs, n);
    uint64_t lost = t->lost, ringcap = t->cap;
    vm_unlock(&vmm->trace_lock);

    uint8_t *buf = spring__malloc(vmm, DUMP_HEADER + n * DUMP_RECORD);
    if (buf == NULL) {
        free(recs);
        return SPRING_ENOMEM;
    }
    memset(buf, 0, DUMP_HEADER);
    memcpy(buf, DUMP_MAGIC, 8);
    put32(buf + 8, SPRING_TRACE_FORMAT_VERSION);
    put32(buf + 12, DUMP_HEADER);
    put32(buf + 16, DUMP_RECORD);
    put64(buf + 24, n);
    put64(buf + 32, lost);
    put64(buf + 40, ringcap);
    put64(buf + 48, spring__now_ns());
    for (size_t i = 0; i < n; i++)
        encode_record(buf + DUMP_HEADER + i * DUMP_RECORD, &recs[i]);
    free(recs);
    int rc = write_all(fd, buf, DUMP_HEADER + n * DUMP_RECORD);
    free(buf);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Reading a dump back.                                                 */

/* The whole file at path, in *buf (malloc'd) and *len. */
static int slurp(const char *path, uint8_t **buf, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        spring__set_error(SPRING_EIO, "%s: cannot open: %s", path, strerror(errno));
        return SPRING_EIO;
    }
    size_t cap = 4096, n = 0;
    uint8_t *b = malloc(cap);
    int rc = 0;
    while (b != NULL) {
        if (n == cap) {
            uint8_t *nb = cap <= SIZE_MAX / 2 ? realloc(b, cap * 2) : NULL;
            if (nb == NULL)
                break;
            b = nb;
            cap *= 2;
        }
        size_t got = fread(b + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f)) {
                spring__set_error(SPRING_EIO, "%s: read failed: %s", path, strerror(errno));
                rc = SPRING_EIO;
            }
            break;
        }
    }
    fclose(f);
    if (rc == 0 && (b == NULL || n == cap)) /* n == cap here only if growing failed */
        rc = SPRING_ENOMEM;
    if (rc != 0) {
        free(b);
        return rc;
    }
    *buf = b;
    *len = n;
    return 0;
}

/* The rights as "rwx" with '-' for a missing bit. */
static void rights_text(uint32_t a, char out[4])
{
    out[0] = (a & SPRING_RIGHTS_R) ? 'r' : '-';
    out[1] = (a & SPRING_RIGHTS_W) ? 'w' : '-';
    out[2] = (a & SPRING_RIGHTS_X) ? 'x' : '-';
    out[3] = '\0';
}

/* A result code: its name for a SPRING_E* code (or 0), else the number. */
static const char *rc_text(int32_t rc, char *tmp, size_t n)
{
    if (rc <= 0 && rc > SPRING__ERR_MIN)
        return spring_err_name(rc);
    snprintf(tmp, n, "%d", (int)rc);
    return tmp;
}

int spring_trace_print(const char *path, FILE *out)
{
    if (path == NULL || out == NULL)
        return SPRING_EINVAL;
    uint8_t *b;
    size_t len;
    int rc = slurp(path, &b, &len);
    if (rc)
        return rc;
    rc = SPRING_EINVAL;
    if (len < 8 || memcmp(b, DUMP_MAGIC, 8) != 0) {
        spring__set_error(rc, "%s: not a springvm trace dump", path);
        goto out;
    }
    if (len < 12) {
        rc = SPRING_EIO;
        spring__set_error(rc, "%s: truncated in the header (%zu of %d bytes)", path, len, DUMP_HEADER);
        goto out;
    }
    uint32_t version = get32(b + 8);
    if (version > SPRING_TRACE_FORMAT_VERSION) {
        rc = SPRING_EVERSION;
        spring__set_error(rc, "%s: format version %u, newer than this library's %d", path, version,
                          SPRING_TRACE_FORMAT_VERSION);
        goto out;
    }
    if (version == 0) {
        spring__set_error(rc, "%s: format version 0 does not exist", path);
        goto out;
    }
    if (len < DUMP_HEADER) {
        rc = SPRING_EIO;
        spring__set_error(rc, "%s: truncated in the header (%zu of %d bytes)", path, len, DUMP_HEADER);
        goto out;
    }
    uint32_t hsize = get32(b + 12), rsize = get32(b + 16);
    uint64_t count = get64(b + 24), lost = get64(b + 32), ringcap = get64(b + 40), when = get64(b + 48);
    if (hsize != DUMP_HEADER || rsize != DUMP_RECORD) {
        spring__set_error(rc, "%s: header size %u and record size %u, not version %u's %d and %d", path, hsize,
                          rsize, version, DUMP_HEADER, DUMP_RECORD);
        goto out;
    }
    if (count > ringcap) {
        spring__set_error(rc, "%s: %llu records from a ring of %llu", path, (unsigned long long)count,
                          (unsigned long long)ringcap);
        goto out;
    }
    size_t have = (len - DUMP_HEADER) / DUMP_RECORD;
    if (count > have) {
        rc = SPRING_EIO;
        spring__set_error(rc, "%s: truncated: %zu of %llu records", path, have, (unsigned long long)count);
        goto out;
    }
    if (len != DUMP_HEADER + count * DUMP_RECORD) {
        spring__set_error(rc, "%s: %zu bytes after the last record", path,
                          len - DUMP_HEADER - (size_t)count * DUMP_RECORD);
        goto out;
    }
    for (size_t i = 0; i < count; i++) {
        uint32_t k = get32(b + DUMP_HEADER + i * DUMP_RECORD + 64);
        if (k < 1 || k > KIND_MAX) {
            spring__set_error(rc, "%s: record %zu has kind %u, unknown in version %u", path, i, k, version);
            goto out;
        }
    }

    fprintf(out, "# springvm trace, format version %u: %llu records, %llu lost, ring of %llu, dumped at %llu ns\n",
            version, (unsigned long long)count, (unsigned long long)lost, (unsigned long long)ringcap,
            (unsigned long long)when);
    fprintf(out, "# seq time_ns thread kind rc cache as addr off len access dur_ns\n");
    for (size_t i = 0; i < count; i++) {
        spring_trace_record_t r;
        decode_record(b + DUMP_HEADER + i * DUMP_RECORD, &r);
        char acc[4], tmp[16];
        rights_text(r.access, acc);
        fprintf(out, "%llu %llu t%u %s rc=%s cache=%llu as=%llu addr=%#llx off=%#llx len=%#llx access=%s dur=%llu\n",
                (unsigned long long)r.seq, (unsigned long long)r.time_ns, r.thread, spring_trace_kind_name((int)r.kind),
                rc_text(r.result, tmp, sizeof tmp), (unsigned long long)r.cache, (unsigned long long)r.as,
                (unsigned long long)r.address, (unsigned long long)r.offset, (unsigned long long)r.length, acc,
                (unsigned long long)r.duration_ns);
    }
    if (fflush(out) != 0 || ferror(out)) {
        rc = SPRING_EIO;
        spring__set_error(rc, "printing the trace failed: %s", strerror(errno));
        goto out;
    }
    rc = 0;
out:
    free(b);
    return rc;
}
