/*
 * events.c - address-space events (catch_as_events): mapping changes,
 * faults on unmapped addresses and access violations, handlers that resolve
 * them; SPRING_ANYWHERE placement is first fit.
 */
#include "scen.h"

enum ev_mode { EV_PASSIVE, EV_ALLOCATE, EV_MAKE_RW, EV_SPIN };

struct evlog {
    spring_as_event_t ev[32];
    size_t n;          /* events recorded (at most 32) */
    size_t calls;      /* handler calls */
    enum ev_mode mode;
    int inner_rc;      /* the handler's own call */
    size_t map_visible; /* MAP events whose range get_mappings already shows */
};

static int ev_handler(spring_as_t *as, const spring_as_event_t *ev, void *arg)
{
    struct evlog *l = arg;
    l->calls++;
    if (l->n < 32)
        l->ev[l->n++] = *ev;
    spring_addr_t page = ev->address & ~(spring_addr_t)(PS - 1);
    switch (ev->kind) {
    case SPRING_AS_EVENT_UNMAPPED:
        if (l->mode == EV_ALLOCATE) {
            spring_off_t len = PS;
            spring_addr_t a = page;
            l->inner_rc = spring_as_allocate_memory(as, &len, &a, SPRING_RIGHTS_RW);
            return l->inner_rc == 0;
        }
        return l->mode == EV_SPIN;
    case SPRING_AS_EVENT_ACCESS:
        if (l->mode == EV_MAKE_RW) {
            l->inner_rc = spring_as_change_access_rights(as, page, PS, SPRING_RIGHTS_RW);
            return l->inner_rc == 0;
        }
        return l->mode == EV_SPIN;
    case SPRING_AS_EVENT_MAP: {
        spring_mapping_t m[2];
        size_t n = 0;
        bool more;
        if (spring_as_get_mappings(as, ev->address, ev->length, m, 2, &n, &more) == 0 && n == 1 &&
            m[0].length == ev->length)
            l->map_visible++;
        spring_mappings_release(m, n);
        return 0;
    }
    default:
        return 0;
    }
}

static void ev_is(const struct evlog *l, size_t i, spring_as_event_kind_t kind, spring_addr_t a, spring_off_t len,
                  spring_rights_t access)
{
    ck_assert_msg(i < l->n, "event %zu missing (%zu recorded)", i, l->n);
    const spring_as_event_t *e = &l->ev[i];
    ck_assert_msg(e->kind == kind && e->address == a && e->length == len && e->access == access,
                  "event %zu: kind %d addr %#llx len %#llx access %d; want %d %#llx %#llx %d", i, (int)e->kind,
                  (unsigned long long)e->address, (unsigned long long)e->length, (int)e->access, (int)kind,
                  (unsigned long long)a, (unsigned long long)len, (int)access);
}

/* map, protect, unmap and allocate_memory are reported with their ranges;
 * the handler runs after the change (it sees the new mapping) and with no
 * lock held (it calls get_mappings on the same address space). */
START_TEST(test_events_mapping_changes)
{
    struct evlog l;
    memset(&l, 0, sizeof l);
    ck_assert_rc(spring_as_catch_as_events(fx.as, ev_handler, &l), 0);
    fx_map(&fx, SPRING_RIGHTS_RW);
    ev_is(&l, 0, SPRING_AS_EVENT_MAP, fx.a, fx.len, SPRING_RIGHTS_RW);
    ck_assert_uint_eq(l.map_visible, 1);
    ck_assert_rc(spring_as_change_access_rights(fx.as, fx.a + PS, 2 * PS, SPRING_RIGHTS_RO), 0);
    ev_is(&l, 1, SPRING_AS_EVENT_PROTECT, fx.a + PS, 2 * PS, SPRING_RIGHTS_RO);
    ck_assert_rc(spring_as_unmap(fx.as, fx.a + 3 * PS, PS), 0);
    ev_is(&l, 2, SPRING_AS_EVENT_UNMAP, fx.a + 3 * PS, PS, SPRING_RIGHTS_NONE);
    spring_off_t len = 2 * PS;
    spring_addr_t b = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_allocate_memory(fx.as, &len, &b, SPRING_RIGHTS_RW), 0);
    ev_is(&l, 3, SPRING_AS_EVENT_MAP, b, 2 * PS, SPRING_RIGHTS_RW);
    ck_assert_uint_eq(l.map_visible, 2);
    ck_assert_uint_eq(l.n, 4);
    ck_assert_rc(spring_as_catch_as_events(fx.as, NULL, NULL), 0);
    ck_assert_rc(spring_as_unmap(fx.as, b, len), 0);
    ck_assert_uint_eq(l.n, 4);
}
END_TEST

/* Accesses to unmapped addresses are reported with the exact address and
 * the access; a handler returning 0 lets them fail with ENOTMAPPED. */
START_TEST(test_events_unmapped_reported)
{
    struct evlog l;
    memset(&l, 0, sizeof l);
    ck_assert_rc(spring_as_catch_as_events(fx.as, ev_handler, &l), 0);
    spring_addr_t x = (spring_addr_t)1 << 30;
    uint8_t v = 0;
    ck_assert_rc(spring_as_read(fx.as, x + 123, &v, 1), SPRING_ENOTMAPPED);
    ck_assert_rc(spring_as_write(fx.as, x + 5, &v, 1), SPRING_ENOTMAPPED);
    ck_assert_rc(spring_as_fault(fx.as, x + PS, SPRING_RIGHTS_X), SPRING_ENOTMAPPED);
    ck_assert_uint_eq(l.n, 3);
    ev_is(&l, 0, SPRING_AS_EVENT_UNMAPPED, x + 123, 0, SPRING_RIGHTS_R);
    ev_is(&l, 1, SPRING_AS_EVENT_UNMAPPED, x + 5, 0, SPRING_RIGHTS_W);
    ev_is(&l, 2, SPRING_AS_EVENT_UNMAPPED, x + PS, 0, SPRING_RIGHTS_X);
    ck_assert_uint_eq(test_as_stats(fx.as).unmapped_faults, 3);
}
END_TEST

/* The handler resolves an unmapped fault by allocating memory at the page
 * (an address-space call on the same address space, from the handler) and
 * returns 1: the access is retried and succeeds. */
START_TEST(test_events_handler_maps_memory)
{
    struct evlog l;
    memset(&l, 0, sizeof l);
    l.mode = EV_ALLOCATE;
    ck_assert_rc(spring_as_catch_as_events(fx.as, ev_handler, &l), 0);
    spring_addr_t x = (spring_addr_t)1 << 30;
    wr1(fx.as, x + 10, 0x5c);
    ck_assert_rc(l.inner_rc, 0);
    /* The handler's allocation is not reported as a map event: no event is
     * delivered on a thread while it runs a handler (as.h). */
    ck_assert_uint_eq(l.n, 1);
    ev_is(&l, 0, SPRING_AS_EVENT_UNMAPPED, x + 10, 0, SPRING_RIGHTS_W);
    ck_assert_uint_eq(rd1(fx.as, x + 10), 0x5c);
    ck_assert_uint_eq(rd1(fx.as, x + 11), 0);
    ck_assert_uint_eq(l.n, 1);
    ck_assert_uint_eq(mappings(fx.as, x, PS, NULL), 1);
}
END_TEST

/* Access violations are reported (kind, address, access); returning 0 fails
 * the access with EACCES; a handler that upgrades the page's rights and
 * returns 1 makes the access succeed. */
START_TEST(test_events_access_violation)
{
    fx_map(&fx, SPRING_RIGHTS_RO);
    struct evlog l;
    memset(&l, 0, sizeof l);
    ck_assert_rc(spring_as_catch_as_events(fx.as, ev_handler, &l), 0);
    uint8_t v = 0x5d;
    ck_assert_rc(spring_as_write(fx.as, fx.a + 3, &v, 1), SPRING_EACCES);
    ck_assert_rc(spring_as_fault(fx.as, fx.a + PS, SPRING_RIGHTS_X), SPRING_EACCES);
    ck_assert_uint_eq(l.n, 2);
    ev_is(&l, 0, SPRING_AS_EVENT_ACCESS, fx.a + 3, 0, SPRING_RIGHTS_W);
    ev_is(&l, 1, SPRING_AS_EVENT_ACCESS, fx.a + PS, 0, SPRING_RIGHTS_X);
    l.mode = EV_MAKE_RW;
    wr1(fx.as, fx.a + 3, 0x5d);
    ck_assert_rc(l.inner_rc, 0);
    ev_is(&l, 2, SPRING_AS_EVENT_ACCESS, fx.a + 3, 0, SPRING_RIGHTS_W);
    /* The handler's own change_access_rights is not reported (as.h: no
     * event is delivered on a thread while it runs a handler). */
    ck_assert_uint_eq(l.n, 3);
    ck_assert_uint_eq(rd1(fx.as, fx.a + 3), 0x5d);
    l.mode = EV_PASSIVE;
    ck_assert_rc(spring_as_write(fx.as, fx.a + PS, &v, 1), SPRING_EACCES);
    ck_assert_uint_ge(test_as_stats(fx.as).protection_faults, 4);
}
END_TEST

/* A handler that touches the faulting address itself: without the rule of
 * as.h it would be called again from inside itself until the stack ran
 * out.  Its own access fails as with no handler, its own mapping change is
 * not reported, and it runs once per retry of the outer access. */
struct ev_touch {
    unsigned calls, depth, max_depth;
    int inner_read, inner_fault;
    uint8_t inner_v;
    size_t events;
};

static int ev_touch_handler(spring_as_t *as, const spring_as_event_t *ev, void *arg)
{
    struct ev_touch *t = arg;
    t->calls++;
    t->events++;
    if (++t->depth > t->max_depth)
        t->max_depth = t->depth;
    int answer = 0;
    if (ev->kind == SPRING_AS_EVENT_UNMAPPED || ev->kind == SPRING_AS_EVENT_ACCESS) {
        t->inner_read = spring_as_read(as, ev->address, &t->inner_v, 1);
        t->inner_fault = spring_as_fault(as, ev->address, ev->access);
        if (ev->kind == SPRING_AS_EVENT_ACCESS) {
            /* resolve it: make the page writable (an event of its own, skipped) */
            spring_addr_t page = ev->address & ~(spring_addr_t)(PS - 1);
            answer = spring_as_change_access_rights(as, page, PS, SPRING_RIGHTS_RW) == 0;
        }
    }
    t->depth--;
    return answer;
}

START_TEST(test_events_handler_touching_fault_address)
{
    fx_map(&fx, SPRING_RIGHTS_RO);
    struct ev_touch t;
    memset(&t, 0, sizeof t);
    ck_assert_rc(spring_as_catch_as_events(fx.as, ev_touch_handler, &t), 0);
    spring_addr_t x = (spring_addr_t)1 << 30;
    uint8_t v = 0;
    ck_assert_rc(spring_as_read(fx.as, x + 7, &v, 1), SPRING_ENOTMAPPED);
    ck_assert_uint_eq(t.calls, 1);
    ck_assert_uint_eq(t.max_depth, 1);
    ck_assert_rc(t.inner_read, SPRING_ENOTMAPPED);
    ck_assert_rc(t.inner_fault, SPRING_ENOTMAPPED);
    /* A write to a read-only page: inside the handler the same write fails
     * with EACCES, the handler's change of rights resolves the outer one. */
    memset(&t, 0, sizeof t);
    v = 0x6e;
    ck_assert_rc(spring_as_write(fx.as, fx.a + PS + 9, &v, 1), 0);
    ck_assert_uint_eq(t.calls, 1);
    ck_assert_uint_eq(t.events, 1); /* the PROTECT from inside was not delivered */
    ck_assert_uint_eq(t.max_depth, 1);
    ck_assert_rc(t.inner_fault, SPRING_EACCES);
    ck_assert_rc(t.inner_read, 0); /* reading the read-only page is allowed */
    ck_assert_uint_eq(rd1(fx.as, fx.a + PS + 9), 0x6e);
    /* Outside a handler, events are delivered again. */
    ck_assert_rc(spring_as_change_access_rights(fx.as, fx.a, PS, SPRING_RIGHTS_RW), 0);
    ck_assert_uint_eq(t.events, 2);
}
END_TEST

/* A handler that claims to resolve a fault but does not: the retries are
 * bounded and the access fails. */
START_TEST(test_events_retry_bounded)
{
    struct evlog l;
    memset(&l, 0, sizeof l);
    l.mode = EV_SPIN;
    ck_assert_rc(spring_as_catch_as_events(fx.as, ev_handler, &l), 0);
    uint8_t v;
    ck_assert_rc(spring_as_read(fx.as, (spring_addr_t)1 << 30, &v, 1), SPRING_ENOTMAPPED);
    ck_assert_uint_gt(l.calls, 1);
    ck_assert_uint_le(l.calls, 32);
}
END_TEST

/* SPRING_ANYWHERE is first fit: the lowest free range that holds the
 * request.  Filling a space from the bottom, then opening holes, checks that
 * the free-space hint (which lets a search skip the full space below it)
 * never skips a hole that fits, and the checker checks the hint itself. */
START_TEST(test_anywhere_first_fit)
{
    const size_t n = 600;
    spring_addr_t *at = calloc(n, sizeof *at);
    ck_assert_ptr_nonnull(at);
    spring_addr_t base = 0;
    for (size_t i = 0; i < n; i++) {
        spring_off_t len = PS;
        at[i] = SPRING_ANYWHERE;
        ck_assert_rc(spring_as_allocate_memory(fx.as, &len, &at[i], SPRING_RIGHTS_RW), 0);
        if (i == 0)
            base = at[0];
        ck_assert_uint_eq(at[i], base + i * PS); /* packed from the bottom */
    }
    CHECK_VMM(fx.vmm);
    /* Holes of one page at 100 and 400, of two pages at 200-201. */
    ck_assert_rc(spring_as_unmap(fx.as, at[400], PS), 0);
    ck_assert_rc(spring_as_unmap(fx.as, at[200], 2 * PS), 0);
    ck_assert_rc(spring_as_unmap(fx.as, at[100], PS), 0);
    CHECK_VMM(fx.vmm);
    /* Two pages: the lowest hole that holds them is 200. */
    spring_off_t len = 2 * PS;
    spring_addr_t a = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_map(fx.as, fx.m, 0, &len, &a, SPRING_RIGHTS_RW), 0);
    ck_assert_uint_eq(a, at[200]);
    /* Three pages: no hole holds them; the end of the packed range. */
    len = 3 * PS;
    a = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_allocate_memory(fx.as, &len, &a, SPRING_RIGHTS_RW), 0);
    ck_assert_uint_eq(a, base + n * PS);
    /* One page each: 100, then 400, then after the three pages. */
    spring_addr_t want[3] = {at[100], at[400], base + (n + 3) * PS};
    for (int i = 0; i < 3; i++) {
        len = PS;
        a = SPRING_ANYWHERE;
        ck_assert_rc(spring_as_allocate_memory(fx.as, &len, &a, SPRING_RIGHTS_RW), 0);
        ck_assert_uint_eq(a, want[i]);
        CHECK_VMM(fx.vmm);
    }
    /* A space too full for the request: SPRING_ENOSPC, nothing changes. */
    spring_as_statistics_t before = {.size = sizeof before}, after = {.size = sizeof after};
    ck_assert_rc(spring_as_statistics(fx.as, &before), 0);
    len = (spring_off_t)1 << 46;
    a = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_allocate_memory(fx.as, &len, &a, SPRING_RIGHTS_RW), 0);
    len = (spring_off_t)1 << 46;
    a = SPRING_ANYWHERE;
    ck_assert_rc(spring_as_allocate_memory(fx.as, &len, &a, SPRING_RIGHTS_RW), SPRING_ENOSPC);
    ck_assert_rc(spring_as_statistics(fx.as, &after), 0);
    ck_assert_uint_eq(after.nregions, before.nregions + 1);
    free(at);
}
END_TEST

/* The tear-down: the handlers' logs live in the frames of the tests,
 * gone by now, so the handler goes first. */
static void events_teardown(void)
{
    ck_assert_rc(spring_as_catch_as_events(fx.as, NULL, NULL), 0);
    fx_teardown();
}

void scen_events(Suite *s)
{
    TCase *t = tcase_create("events");
    tcase_add_checked_fixture(t, fx_setup4, events_teardown);
    tcase_add_test(t, test_events_mapping_changes);
    tcase_add_test(t, test_anywhere_first_fit);
    tcase_add_test(t, test_events_unmapped_reported);
    tcase_add_test(t, test_events_handler_maps_memory);
    tcase_add_test(t, test_events_access_violation);
    tcase_add_test(t, test_events_retry_bounded);
    tcase_add_test(t, test_events_handler_touching_fault_address);
    suite_add_tcase(s, t);
}
