/*
 * rtree.c - a B+ tree from region start addresses to regions (see rtree.h).
 *
 * Nodes hold up to RT_FANOUT keys.  In an internal node, key[i] (i >= 1)
 * is a lower bound of every key under child[i] and greater than every key
 * under child[i-1]; key[0] is unused.  Removal is lazy: nodes are never
 * merged, only freed when empty, so the tree is always valid and never
 * allocates on removal.  rt_rekey raises a key in place; a separator equal
 * to the old key stays a valid lower bound, and a lookup that lands in a
 * leaf whose keys are all larger than the one sought takes the largest key
 * of the subtree just to the left, which it tracked on the way down.
 */
#include <stdlib.h>
#include <string.h>

#include "as/rtree.h"

#define RT_MAXH 24

struct rt_node {
    unsigned n;
    bool leaf;
    uint64_t key[RT_FANOUT];
    union {
        void *val[RT_FANOUT];
        struct rt_node *child[RT_FANOUT];
    } u;
    struct rt_node *next_spare;
};

void rt_init(struct rtree *t)
{
    memset(t, 0, sizeof *t);
}

static void free_sub(struct rt_node *x, unsigned h)
{
    if (h > 1)
        for (unsigned i = 0; i < x->n; i++)
            free_sub(x->u.child[i], h - 1);
    free(x);
}

void rt_fini(struct rtree *t)
{
    if (t->root)
        free_sub(t->root, t->height);
    while (t->spare) {
        struct rt_node *s = t->spare;
        t->spare = s->next_spare;
        free(s);
    }
    memset(t, 0, sizeof *t);
}

int rt_reserve(struct rtree *t)
{
    while (t->nspare < t->height + 2) {
        struct rt_node *x = malloc(sizeof *x);
        if (x == NULL)
            return -1;
        x->next_spare = t->spare;
        t->spare = x;
        t->nspare++;
    }
    return 0;
}

static struct rt_node *take(struct rtree *t, bool leaf)
{
    struct rt_node *x = t->spare;
    t->spare = x->next_spare; /* the caller reserved: never NULL */
    t->nspare--;
    x->n = 0;
    x->leaf = leaf;
    return x;
}

static void give(struct rtree *t, struct rt_node *x)
{
    if (t->nspare >= 2 * (size_t)t->height + 4) {
        free(x);
        return;
    }
    x->next_spare = t->spare;
    t->spare = x;
    t->nspare++;
}

/*
 * Both searches count the keys <= k instead of bisecting: the keys are
 * sorted, so the count is the position, and the loads do not depend on one
 * another, so the cache lines of a node missing from the cache are fetched
 * together rather than one after another (a million regions do not fit in
 * the cache; see bench/bench_core.c).
 */

/* The child of internal node x to descend into for key k: the last i in
 * [1, n) with key[i] <= k, or 0. */
static unsigned child_for(const struct rt_node *x, uint64_t k)
{
    unsigned c = 0;
    for (unsigned i = 1; i < x->n; i++)
        c += x->key[i] <= k;
    return c;
}

/* The number of leaf keys <= k. */
static unsigned leaf_le(const struct rt_node *x, uint64_t k)
{
    unsigned c = 0;
    for (unsigned i = 0; i < x->n; i++)
        c += x->key[i] <= k;
    return c;
}

static void *rightmost(const struct rt_node *x)
{
    while (!x->leaf)
        x = x->u.child[x->n - 1];
    return x->u.val[x->n - 1];
}

static void *leftmost(const struct rt_node *x)
{
    while (!x->leaf)
        x = x->u.child[0];
    return x->u.val[0];
}

/* Descend to the leaf for k.  Returns the leaf (NULL if the tree is empty)
 * and the number of its keys <= k; *left is the nearest subtree wholly to
 * the left of the path and *right the nearest wholly to its right (every
 * key under it is > k), or NULL. */
static const struct rt_node *descend(const struct rtree *t, uint64_t k, unsigned *j,
                                     const struct rt_node **left, const struct rt_node **right)
{
    const struct rt_node *x = t->root;
    *left = *right = NULL;
    if (x == NULL)
        return NULL;
    while (!x->leaf) {
        unsigned i = child_for(x, k);
        if (i > 0)
            *left = x->u.child[i - 1];
        if (i + 1 < x->n)
            *right = x->u.child[i + 1];
        x = x->u.child[i];
    }
    *j = leaf_le(x, k);
    return x;
}

void *rt_find_le(const struct rtree *t, uint64_t k)
{
    const struct rt_node *left, *right;
    unsigned j;
    const struct rt_node *x = descend(t, k, &j, &left, &right);
    if (x == NULL)
        return NULL;
    if (j > 0)
        return x->u.val[j - 1];
    return left ? rightmost(left) : NULL;
}

void *rt_find_gt(const struct rtree *t, uint64_t k)
{
    const struct rt_node *left, *right;
    unsigned j;
    const struct rt_node *x = descend(t, k, &j, &left, &right);
    if (x == NULL)
        return NULL;
    if (j < x->n)
        return x->u.val[j];
    return right ? leftmost(right) : NULL;
}

void rt_neighbours(const struct rtree *t, uint64_t k, void **le, void **gt)
{
    const struct rt_node *left, *right;
    unsigned j;
    const struct rt_node *x = descend(t, k, &j, &left, &right);
    if (x == NULL) {
        *le = *gt = NULL;
        return;
    }
    *le = j > 0 ? x->u.val[j - 1] : left ? rightmost(left) : NULL;
    *gt = j < x->n ? x->u.val[j] : right ? leftmost(right) : NULL;
}

void *rt_first(const struct rtree *t)
{
    return t->root ? leftmost(t->root) : NULL;
}

/* Values and children share the slot array of a node, moved as one. */
_Static_assert(sizeof(void *) == sizeof(struct rt_node *), "node slots must be one size");

/* Move the upper half of the full node x to a new node from the reserve
 * and return it; its first key bounds it from below. */
static struct rt_node *split(struct rtree *t, struct rt_node *x)
{
    struct rt_node *nw = take(t, x->leaf);
    unsigned half = RT_FANOUT / 2;
    nw->n = RT_FANOUT - half;
    memcpy(nw->key, x->key + half, nw->n * sizeof *x->key);
    memcpy(nw->u.val, x->u.val + half, nw->n * sizeof *x->u.val); /* values or children alike */
    x->n = half;
    return nw;
}

/* Open slot j of x (not full) for key k; the caller fills the slot. */
static void open_slot(struct rt_node *x, unsigned j, uint64_t k)
{
    memmove(x->key + j + 1, x->key + j, (x->n - j) * sizeof *x->key);
    memmove(x->u.val + j + 1, x->u.val + j, (x->n - j) * sizeof *x->u.val);
    x->key[j] = k;
    x->n++;
}

/* Insert k -> v in leaf x, reached through path[0..h) (idx: the child
 * taken at each level), splitting as needed from the reserve. */
static void insert_at(struct rtree *t, struct rt_node **path, const unsigned *idx, unsigned h, struct rt_node *x,
                      uint64_t k, void *v)
{
    /* Insert in the leaf, splitting it if full. */
    unsigned j = leaf_le(x, k);
    struct rt_node *nw = NULL;
    if (x->n == RT_FANOUT) {
        nw = split(t, x);
        if (j > x->n) {
            j -= x->n;
            x = nw;
        }
    }
    open_slot(x, j, k);
    x->u.val[j] = v;
    t->n++;
    if (nw == NULL)
        return;
    /* Hand the new node up, splitting internal nodes as needed.  A new
     * node's first key is its separator: an insert into it never lands
     * in slot 0. */
    uint64_t up = nw->key[0];
    while (h > 0) {
        struct rt_node *p = path[--h];
        unsigned at = idx[h] + 1;
        struct rt_node *pn = NULL;
        if (p->n == RT_FANOUT) {
            pn = split(t, p);
            if (at > p->n) {
                at -= p->n;
                p = pn;
            }
        }
        open_slot(p, at, up);
        p->u.child[at] = nw;
        if (pn == NULL)
            return;
        nw = pn;
        up = pn->key[0];
    }
    /* The root split: a new root over the two halves. */
    struct rt_node *r = take(t, false);
    r->n = 2;
    r->u.child[0] = t->root;
    r->u.child[1] = nw;
    r->key[1] = up;
    t->root = r;
    t->height++;
}

bool rt_insert_if(struct rtree *t, uint64_t k, void *v, bool (*fits)(void *le, void *gt, void *arg), void *arg)
{
    struct rt_node *path[RT_MAXH];
    unsigned idx[RT_MAXH], h = 0;
    if (t->root == NULL) {
        if (!fits(NULL, NULL, arg))
            return false;
        t->root = take(t, true);
        t->height = 1;
    }
    /* One descent finds the leaf and both neighbours of k (as rt_find_le
     * and rt_find_gt would), and is the path of the insert. */
    const struct rt_node *left = NULL, *right = NULL;
    struct rt_node *x = t->root;
    while (!x->leaf) {
        unsigned i = child_for(x, k);
        if (i > 0)
            left = x->u.child[i - 1];
        if (i + 1 < x->n)
            right = x->u.child[i + 1];
        path[h] = x;
        idx[h++] = i;
        x = x->u.child[i];
    }
    unsigned j = leaf_le(x, k);
    void *le = j > 0 ? x->u.val[j - 1] : left ? rightmost(left) : NULL;
    void *gt = j < x->n ? x->u.val[j] : right ? leftmost(right) : NULL;
    if (!fits(le, gt, arg))
        return false;
    insert_at(t, path, idx, h, x, k, v);
    return true;
}

void rt_insert(struct rtree *t, uint64_t k, void *v)
{
    struct rt_node *path[RT_MAXH];
    unsigned idx[RT_MAXH], h = 0;
    if (t->root == NULL) {
        t->root = take(t, true);
        t->height = 1;
    }
    struct rt_node *x = t->root;
    while (!x->leaf) {
        unsigned i = child_for(x, k);
        path[h] = x;
        idx[h++] = i;
        x = x->u.child[i];
    }
    insert_at(t, path, idx, h, x, k, v);
}

void rt_remove(struct rtree *t, uint64_t k)
{
    struct rt_node *path[RT_MAXH];
    unsigned idx[RT_MAXH], h = 0;
    struct rt_node *x = t->root;
    if (x == NULL)
        return;
    while (!x->leaf) {
        unsigned i = child_for(x, k);
        path[h] = x;
        idx[h++] = i;
        x = x->u.child[i];
    }
    unsigned j = leaf_le(x, k);
    if (j == 0 || x->key[j - 1] != k)
        return; /* not present */
    j--;
    memmove(x->key + j, x->key + j + 1, (x->n - j - 1) * sizeof *x->key);
    memmove(x->u.val + j, x->u.val + j + 1, (x->n - j - 1) * sizeof *x->u.val);
    x->n--;
    t->n--;
    /* Free empty nodes upwards. */
    while (x->n == 0) {
        give(t, x);
        if (h == 0) {
            t->root = NULL;
            t->height = 0;
            return;
        }
        struct rt_node *p = path[--h];
        unsigned i = idx[h];
        memmove(p->key + i, p->key + i + 1, (p->n - i - 1) * sizeof *p->key);
        memmove(p->u.child + i, p->u.child + i + 1, (p->n - i - 1) * sizeof *p->u.child);
        p->n--;
        x = p;
    }
    /* A root with one child gives way to it. */
    while (!t->root->leaf && t->root->n == 1) {
        struct rt_node *r = t->root;
        t->root = r->u.child[0];
        t->height--;
        give(t, r);
    }
}

void rt_rekey(struct rtree *t, uint64_t k, uint64_t nk)
{
    struct rt_node *x = t->root;
    if (x == NULL)
        return;
    while (!x->leaf) {
        unsigned i = child_for(x, k);
        if (i + 1 < x->n && x->key[i + 1] <= nk)
            x->key[i + 1] = nk + 1; /* a stale separator must stay above the new key (the next key is > nk) */
        x = x->u.child[i];
    }
    unsigned j = leaf_le(x, k);
    if (j > 0 && x->key[j - 1] == k)
        x->key[j - 1] = nk;
}

/* Walk a subtree: keys in order, separators as bounds, uniform depth. */
static const char *check_sub(const struct rt_node *x, unsigned h, bool *first, uint64_t *last, size_t *n,
                             uint64_t lo, bool has_lo)
{
    if (x->n == 0)
        return "rtree: empty node";
    if (x->n > RT_FANOUT)
        return "rtree: overfull node";
    if (x->leaf != (h == 1))
        return "rtree: leaves at different depths";
    if (x->leaf) {
        for (unsigned i = 0; i < x->n; i++) {
            if (!*first && x->key[i] <= *last)
                return "rtree: keys out of order";
            if (has_lo && x->key[i] < lo)
                return "rtree: key below its separator";
            *first = false;
            *last = x->key[i];
            (*n)++;
        }
        return NULL;
    }
    for (unsigned i = 0; i < x->n; i++) {
        bool hl = i > 0 || has_lo;
        uint64_t l = i > 0 ? x->key[i] : lo;
        if (i > 0 && !*first && *last >= x->key[i])
            return "rtree: separator not above the keys to its left";
        const char *why = check_sub(x->u.child[i], h - 1, first, last, n, l, hl);
        if (why)
            return why;
    }
    return NULL;
}

const char *rt_check(const struct rtree *t)
{
    if (t->root == NULL)
        return t->n == 0 && t->height == 0 ? NULL : "rtree: empty tree with entries";
    bool first = true;
    uint64_t last = 0;
    size_t n = 0;
    const char *why = check_sub(t->root, t->height, &first, &last, &n, 0, false);
    if (why == NULL && n != t->n)
        why = "rtree: entry count wrong";
    return why;
}
