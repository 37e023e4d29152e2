/*
 * model.c - the content model of springvm test-pager (model.h).
 */
#include <stdlib.h>
#include <string.h>

#include "model.h"

int model_init(model_t *m, size_t page_size, size_t npages)
{
    memset(m, 0, sizeof *m);
    m->ps = page_size;
    m->npages = npages;
    m->want = calloc(npages, page_size);
    m->known = calloc(npages, 1);
    m->dirty = calloc(npages, 1);
    if (m->want && m->known && m->dirty)
        return 0;
    model_fini(m);
    return -1;
}

void model_fini(model_t *m)
{
    free(m->want);
    free(m->known);
    free(m->dirty);
    memset(m, 0, sizeof *m);
}

bool model_known(const model_t *m, uint64_t off, size_t len)
{
    for (uint64_t p = off / m->ps; len > 0 && p <= (off + len - 1) / m->ps; p++)
        if (!m->known[p])
            return false;
    return true;
}

void model_write(model_t *m, uint64_t off, const void *buf, size_t len)
{
    memcpy(m->want + off, buf, len);
    for (uint64_t p = off / m->ps; len > 0 && p <= (off + len - 1) / m->ps; p++) {
        m->known[p] = 1; /* a page covered partly was known before (model.h) */
        m->dirty[p] = 1;
    }
}

static bool first_diff(const uint8_t *got, const uint8_t *want, size_t len, uint64_t base, model_diff_t *diff)
{
    if (memcmp(got, want, len) == 0)
        return true;
    size_t i = 0;
    while (got[i] == want[i])
        i++;
    *diff = (model_diff_t){.offset = base + i, .got = got[i], .want = want[i]};
    return false;
}

bool model_check(model_t *m, uint64_t off, const void *got, size_t len, model_diff_t *diff)
{
    const uint8_t *g = got;
    for (uint64_t at = off; at < off + len;) {
        uint64_t p = at / m->ps, end = (p + 1) * m->ps < off + len ? (p + 1) * m->ps : off + len;
        size_t n = (size_t)(end - at);
        if (m->known[p]) {
            if (!first_diff(g + (at - off), m->want + at, n, at, diff))
                return false;
        } else if (n == m->ps) {
            memcpy(m->want + at, g + (at - off), n); /* the pager's own data, first seen */
            m->known[p] = 1;
        }
        at = end;
    }
    return true;
}

void model_stored(model_t *m, size_t first, size_t n)
{
    memset(m->dirty + first, 0, n);
}

bool model_check_store(const model_t *m, const uint8_t *bytes, model_diff_t *diff)
{
    for (size_t p = 0; p < m->npages; p++)
        if (m->known[p] && !m->dirty[p] &&
            !first_diff(bytes + p * m->ps, m->want + p * m->ps, m->ps, (uint64_t)p * m->ps, diff))
            return false;
    return true;
}

void model_learn_store(model_t *m, const uint8_t *bytes)
{
    memcpy(m->want, bytes, m->npages * m->ps);
    memset(m->known, 1, m->npages);
}
