/*
 * storecall.h - the one dispatch point in front of a store's vtable
 * (include/spring/store.h): the store helper (store.c) calls a store only
 * through these wrappers, as the core calls a pager only through
 * pager/pagercall.h and a HAT only through hat/hatcall.h.
 *
 * Each wrapper
 *   - checks an optional slot (for the slots added after version 1, with
 *     the vtable's version too): sc_has() says whether the store has one,
 *     and a wrapper of a slot the store lacks returns SPRING_ENOSYS;
 *   - maps the store's code: 0, a negative SPRING_E* code as it is,
 *     anything else SPRING_EPROTO;
 *   - and, in the test build (SPRING_TEST_HOOKS), is the one place where a
 *     test makes a store call fail (spring__test_store_fail,
 *     testing/testhooks.h) without the store's own code knowing.
 * sc_check() checks a vtable when it is handed to the helper.
 *
 * => no lock of the helper held, for every data call (the helper's lock
 *    rules, store.c).
 */
#ifndef SPRING_STORECALL_H
#define SPRING_STORECALL_H

#include <spring/spring.h>

#ifdef SPRING_TEST_HOOKS
#include <stdatomic.h>
#endif

/* The store's slots that can fail (the injection's names for them). */
enum store_op {
    SO_READ = 0,
    SO_WRITE = 1,
    SO_GET_LENGTH = 2,
    SO_READ_PAGES = 3,
    SO_WRITE_PAGES = 4,
    SO_SET_LENGTH = 5,
    SO_SYNC = 6,
    SO_DISCARD = 7,
    SO_COUNT = 8
};

/* A store as the helper calls it. */
struct store_call {
    const spring_store_ops_t *ops; /* [c] checked by sc_check */
    void *impl;                    /* [c] the store's own object */
#ifdef SPRING_TEST_HOOKS
    atomic_uint fail_nth[SO_COUNT]; /* [a] fail the nth call of the slot from now (1 = the next), 0 = off */
    atomic_int fail_rc[SO_COUNT];   /* [a] with this code */
#endif
};

/* A vtable handed to the helper: 0; SPRING_EVERSION for an unknown
 * version; SPRING_EINVAL for NULL or read, write or get_length missing. */
static inline int sc_check(const spring_store_ops_t *ops)
{
    if (ops == NULL)
        return SPRING_EINVAL;
    if (ops->version < 1 || ops->version > SPRING_STORE_OPS_VERSION)
        return SPRING_EVERSION;
    return ops->read == NULL || ops->write == NULL || ops->get_length == NULL ? SPRING_EINVAL : 0;
}

/* Whether the store has the slot (always true of the required ones). */
static inline bool sc_has(const struct store_call *c, enum store_op op)
{
    const spring_store_ops_t *o = c->ops;
    switch (op) {
    case SO_READ_PAGES: return o->read_pages != NULL;
    case SO_WRITE_PAGES: return o->write_pages != NULL;
    case SO_SET_LENGTH: return o->set_length != NULL;
    case SO_SYNC: return o->sync != NULL;
    case SO_DISCARD: return o->version >= 2 && o->discard != NULL;
    default: return true;
    }
}

/* The code a store call reports, and the test build's injected failure
 * (which replaces the call: the store is not called). */
static inline int sc_rc(int rc)
{
    return rc == 0 || (rc < 0 && rc > SPRING__ERR_MIN) ? rc : SPRING_EPROTO;
}

#ifdef SPRING_TEST_HOOKS
static inline bool sc_injected(struct store_call *c, enum store_op op, int *rc)
{
    unsigned n = atomic_load(&c->fail_nth[op]);
    while (n > 0) {
        if (atomic_compare_exchange_weak(&c->fail_nth[op], &n, n - 1)) {
            if (n != 1)
                return false;
            *rc = atomic_load(&c->fail_rc[op]);
            return true;
        }
    }
    return false;
}
#define SC_INJECT(c, op)                \
    do {                                \
        int irc_;                       \
        if (sc_injected((c), (op), &irc_)) \
            return irc_;                \
    } while (0)
#else
#define SC_INJECT(c, op) ((void)0)
#endif

static inline int sc_read(struct store_call *c, spring_off_t off, void *buf, size_t len)
{
    SC_INJECT(c, SO_READ);
    return sc_rc(c->ops->read(c->impl, off, buf, len));
}

static inline int sc_write(struct store_call *c, spring_off_t off, const void *buf, size_t len)
{
    SC_INJECT(c, SO_WRITE);
    return sc_rc(c->ops->write(c->impl, off, buf, len));
}

static inline int sc_get_length(struct store_call *c, spring_off_t *len)
{
    SC_INJECT(c, SO_GET_LENGTH);
    return sc_rc(c->ops->get_length(c->impl, len));
}

static inline int sc_read_pages(struct store_call *c, spring_off_t off, void *const *pages, size_t n, size_t ps)
{
    if (!sc_has(c, SO_READ_PAGES))
        return SPRING_ENOSYS;
    SC_INJECT(c, SO_READ_PAGES);
    return sc_rc(c->ops->read_pages(c->impl, off, pages, n, ps));
}

static inline int sc_write_pages(struct store_call *c, spring_off_t off, const void *const *pages, size_t n,
                                 size_t ps)
{
    if (!sc_has(c, SO_WRITE_PAGES))
        return SPRING_ENOSYS;
    SC_INJECT(c, SO_WRITE_PAGES);
    return sc_rc(c->ops->write_pages(c->impl, off, pages, n, ps));
}

static inline int sc_set_length(struct store_call *c, spring_off_t len)
{
    if (!sc_has(c, SO_SET_LENGTH))
        return SPRING_ENOSYS;
    SC_INJECT(c, SO_SET_LENGTH);
    return sc_rc(c->ops->set_length(c->impl, len));
}

static inline int sc_sync(struct store_call *c)
{
    if (!sc_has(c, SO_SYNC))
        return SPRING_ENOSYS;
    SC_INJECT(c, SO_SYNC);
    return sc_rc(c->ops->sync(c->impl));
}

static inline int sc_discard(struct store_call *c, spring_off_t off, spring_off_t len)
{
    if (!sc_has(c, SO_DISCARD))
        return SPRING_ENOSYS;
    SC_INJECT(c, SO_DISCARD);
    return sc_rc(c->ops->discard(c->impl, off, len));
}

/* The store's own interfaces by name (store.h's query), or NULL. */
static inline const void *sc_query(const struct store_call *c, const char *name, int version)
{
    return c->ops->query != NULL ? c->ops->query(c->impl, name, version) : NULL;
}

/* The store's last reference is gone. */
static inline void sc_release(struct store_call *c)
{
    if (c->ops->release != NULL)
        c->ops->release(c->impl);
}

#endif
