#!/usr/bin/env bash
# scripts/mutate.sh - a small mutation check of the tests.
#
# In a scratch copy of this tree (the files git tracks plus untracked files
# not ignored, so uncommitted work counts), apply one-line changes to the
# library's data path one at a time, rebuild, run `make check`, and expect
# each run to FAIL.  One line per mutation:
#
#   killed                 make check failed (the FAIL lines say which tests)
#   SURVIVED               make check passed: no test noticed the change
#   pattern not found      the sed changed nothing: the code moved; update
#                          the pattern (never counted as killed)
#   pattern matched N      the sed changed N lines instead of one (not run)
#   build failed           the mutated library does not compile (not run)
#
# and at the end `mutations: K killed of N`.  The exit status is 0 only if
# every mutation was applied and killed.
#
# It takes a while (one `make check` per mutation) and is not part of
# `make check` or CI.
#
#   scripts/mutate.sh [-l] [-n] [-k] [-o NAME[,NAME...]] [-t SECONDS]
#     -l     list the mutations and exit
#     -n     only check that every pattern changes exactly one line, and
#            count those that do (`mutations: A of N apply`)
#     -k     keep the scratch directory (its path is printed)
#     -o     run only these mutations
#     -t     time limit per make check (default 1200 s; a run that hits it
#            counts as killed: a hang is a failure a user would see)
#   Environment: MUTATE_TESTS="t/random t/check_api" runs only those tests
#   (make check TESTS=...); MUTATE_JOBS (default 2) for make -j.
#
# Each sed is applied to every C source of the library, the plugins and
# the command (mutated_files: libvm/, plugins/, springvm/, at any depth);
# the mutation must change exactly one line in all of them together, so
# that the patterns keep working when code moves between files or folders.  They were
# written against the library as of commit 6b28d6a (one cache.c) and
# also match its split into block.c, fault.c, pageout.c and pagerops.c.
#
# The whole script is one compound command, read before it runs, so that
# editing this file while it runs does not change what it does.
{
set -u

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
JOBS=${MUTATE_JOBS:-2}
TIMEOUT=1200
KEEP=false
ONLY=""
LIST=false
DRY=false

usage() {
    sed -n '/^#   scripts\/mutate.sh/,/MUTATE_JOBS/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

while getopts "lnko:t:" opt; do
    case $opt in
    l) LIST=true ;;
    n) DRY=true ;;
    k) KEEP=true ;;
    o) ONLY=",$OPTARG," ;;
    t) TIMEOUT=$OPTARG ;;
    *) usage ;;
    esac
done

# ------------------------------------------------------------------
# The mutations: name, sed script, what it breaks.

NAMES=()
SEDS=()
WHATS=()
mut() {
    NAMES+=("$1")
    SEDS+=("$2")
    WHATS+=("$3")
}

mut pin-write-not-dirty \
    's|b->dirty = true; /\* writes through the pin bypass|(void)0; /* writes through the pin bypass|' \
    "a write pin does not mark its block modified (fault_enter)"
mut checker-always-ok \
    '/^int spring_vmm_check(/,/^}/ s/^    return rc;$/    return 0;/' \
    "spring_vmm_check answers 0 whatever it found"
mut cache-checker-always-ok \
    '/^int spring__cache_check(/,/^}/ s/^    return rc;$/    return 0;/' \
    "the per-cache checker answers 0 whatever it found"
mut as-checker-always-ok \
    '/^int spring__as_check(/,/^}/ s/^    return rc;$/    return 0;/' \
    "the per-address-space checker answers 0 whatever it found"
mut zero-indications-ignored \
    's/^\( *\)if (zero\[i\])$/\1if (0 \&\& zero[i])/' \
    "pager_page_in ignores the pager's all-zero page indications"
mut front-trim-keeps-cache-off \
    's/^\( *\)r->cache_off += e - r->start;$/\1(void)0;/' \
    "trimming a region's front does not move its cache offset (as.c)"
mut split-keeps-cache-off \
    's/r2->cache_off = r->cache_off + (e - r->start);/r2->cache_off = r->cache_off;/' \
    "the right part of a split region keeps the left part's cache offset (as.c)"
mut ownership-rule-ignored \
    's/(c->own == SPRING_OWN_EXCLUSIVE && f->rw_ok)/false/' \
    "a read fault never asks for read-write data (the exclusive-ownership rule of §5.1)"
mut deny-writes-keeps-rw \
    '/} else if (op == OP_DENY) {/{n;s/^\( *\)b->rw = false;$/\1(void)0;/}' \
    "deny_writes leaves its blocks writable"
mut upgrade-drops-doomed-dirty \
    's|b->doomed = false; /\* flush_back skipped it in transit: its modified data must not go \*/|(void)0;|' \
    "a modified block doomed during its upgrade is freed, its data lost (block_upgrade)"
mut upgrade-overwrites-dirty \
    's/if (rc == 0 \&\& scratch != NULL \&\& !b->dirty \&\& !b->doomed/if (rc == 0 \&\& scratch != NULL \&\& !b->doomed/' \
    "an upgrade replaces modified data with the pager's (block_upgrade)"
mut no-frame-scrub \
    's/if (lend \&\& fr->owner != 0 \&\& fr->owner != c->id)/if (0 \&\& lend \&\& fr->owner != 0 \&\& fr->owner != c->id)/' \
    "frames lent to a page_in keep another cache's data (alloc_frames_unlocked)"
mut zero-fill-no-clear \
    '/^ *b->frames\[i\] = fr\[i\];$/{n;s/^\( *\)memset(spring__frame_addr(vmm, fr\[i\]), 0, vmm->page_size);$/\1(void)0;/}' \
    "a zero-fill block keeps whatever its frames held (zero_block)"
mut populate-ignores-mode \
    's/nb->rw = (access \& SPRING_RIGHTS_W) != 0;/nb->rw = true;/' \
    "populate makes read-only data writable"
mut ro-block-writable \
    's/^\( *\)prot \&= ~SPRING_RIGHTS_W;$/\1(void)0;/' \
    "a read-only block gets write translations (fault_enter)"
mut write-out-keeps-rw \
    '/} else if (p->how == VM_PUSH_WRITE_OUT) {/{n;s/^\( *\)b->rw = false;$/\1(void)0;/}' \
    "a block written out (flush keeping data) stays writable without an upgrade"
mut evict-drops-dirty \
    's|^    bool dirty = spring__block_dirty(vmm, b) \&\& c->rw_attach != 0;$|    bool dirty = false;|' \
    "eviction reuses a modified block without paging it out (spring__cache_evict)"
mut take-without-list-clears-dirty \
    '/^        if (data != NULL)$/{N;s/^        if (data != NULL)\(\n *b->dirty = false; \/\* the pager has the data now\)/        if (1)\1/}' \
    "deny_writes or write_back without a data list forgets the block is modified"
mut lock-ignored \
    's/return le != NULL \&\& le->offset < boff + c->block_size;/return false;/' \
    "blocks with locked pages are evicted like any other (block_locked)"
mut page-in-asks-rw \
    's/rw ? SPRING_RIGHTS_RW : SPRING_RIGHTS_RO, \&own,/SPRING_RIGHTS_RW, \&own,/' \
    "every page_in asks the pager for read-write data, whatever the block's mode (pager_page_in)"
mut delete-keeps-zero-fill \
    '/} else if (op == OP_DELETE) {/{n;s/if ((rc = \(spring__\)\{0,1\}zr_remove(c, off, end)) != 0)/if ((rc = 0) != 0)/}' \
    "delete_range leaves zero-fill ranges in place (take_data)"

# Issue 11, section 5 (tests that can fail, second round): behaviours of
# the fast translations, the event trace and springvm test-pager that no
# test checked before.
mut fast-read-entry-writes \
    's/ (uintptr_t)(access == SPRING_RIGHTS_W ? SPRING_RIGHTS_RW : access);$/ (uintptr_t)SPRING_RIGHTS_RW;/' \
    "a read fast translation's entry serves later writes: not refused on read-only pages, not marked modified"
mut fast-free-no-grace-period \
    's/^    if (!vmm->gp_inflight \&\& !TAILQ_EMPTY(\&vmm->defer_wait))$/    if (0)/' \
    "frames freed behind fast readers start no grace period: they wait for an allocation to ask one"
mut fast-grace-not-restarted \
    's/^    if (vmm->gp_again || !TAILQ_EMPTY(\&vmm->defer_wait)) {$/    if (vmm->gp_again) {/' \
    "frames freed during a grace period wait, after it ends, for someone to ask another (gp_done_cb)"
mut trace-last-kind-refused \
    's/^#define KIND_MAX SPRING_TRACE_CACHE_DESTROY$/#define KIND_MAX SPRING_TRACE_CACHE_POPULATE/' \
    "spring_trace_print refuses a dump holding a cache.destroy record as corrupt"
mut test-pager-ignores-protocol \
    's/return t->mismatches + t->failures + t->protocol != 0;/return t->mismatches + t->failures != 0;/' \
    "springvm test-pager passes a pager whose only fault is protocol violations (SPRING_EPROTO)"
mut test-pager-skips-last-byte \
    's/^    if (memcmp(got, want, len) == 0)$/    if (memcmp(got, want, len - 1) == 0)/' \
    "springvm test-pager's model does not compare the last byte of a page"

# Issue 11 section 5, second round: the store helper, the plugins, the JSON
# stack and the option checker (each killed by a test that checks what a
# user sees: t/check_store, t/check_filepager, t/check_swap, t/check_stack,
# t/check_plugin).
mut store-tail-not-zeroed \
    's/^\( *\)memset((uint8_t \*)dst->pages\[i\] + tail, 0, ps - tail);$/\1(void)0;/' \
    "the bytes past a store's end in its last page keep what the frame held (store.c page_in)"
mut store-view-widens-rights \
    's/^\( *\)if (!spring_rights_subset(max, v->max))$/\1if (0)/' \
    "a view of a store's view may have more rights than its parent (store.c v_view)"
mut store-shrink-keeps-held \
    's/^\( *\)held_drop_from(st, lo + (UNIT - lo % UNIT) % UNIT);$/\1(void)0;/' \
    "a shrink keeps the data held past the new end, which a growth brings back (store.c set_length)"
mut store-shrink-keeps-held-tail \
    's/^\( *\)h->valid = (size_t)(lo % UNIT);$/\1(void)0;/' \
    "a shrink keeps the held bytes past the new end in its boundary unit (store.c set_length)"
mut fp-vec-chunk-offset \
    's/^\( *\)off_t at = (off_t)offset + (off_t)(done \* page_size);$/\1off_t at = (off_t)offset;/' \
    "every 64-page chunk of a vectored transfer goes to the first chunk's offset (filepager vec_io)"
mut fp-vec-chunk-pages \
    's/(struct iovec){pages\[done + i\] ? pages\[done + i\] :/(struct iovec){pages[i] ? pages[i] :/' \
    "every 64-page chunk of a vectored transfer uses the first chunk's pages (filepager vec_io)"
mut fp-short-readv-stale \
    's/^\( *\)memset((char \*)pages\[done + i\] + have, 0, page_size - have);$/\1(void)0;/' \
    "a preadv cut short by a file that shrank leaves the frames' old bytes (filepager vec_io)"
mut fp-short-read-stale \
    's/^\( *\)memset((char \*)buf + done, 0, length - done);$/\1(void)0;/' \
    "a pread cut short by a file that shrank leaves the frame's old bytes (filepager s_read)"
mut fp-fsync-option-ignored \
    's/^    in->fsync = spring_options_bool(opts, "fsync");$/    in->fsync = false;/' \
    "the filepager's fsync option is ignored: a sync never makes the data durable"
mut fp-fdatasync-not-called \
    's/^    if (fdatasync(f->fd) != 0) {$/    if (0) {/' \
    "a filepager sync with fsync on does not call fdatasync"
mut fp-enospc-as-eio \
    '/^static bool io_fails(struct fp_instance \*in)$/,/EDQUOT/ s/^    case ENOSPC:$/    case -ENOSPC:/' \
    "the filepager reports a full file system (ENOSPC) as an I/O error, not as no space"
mut fp-edquot-as-eio \
    '/^static bool io_fails(struct fp_instance \*in)$/,/EDQUOT/ s/^    case EDQUOT: return SPRING_ENOSPC;$/    case -EDQUOT: return SPRING_ENOSPC;/' \
    "the filepager reports an exhausted quota (EDQUOT) as an I/O error, not as no space"
mut swap-enospc-as-eio \
    '/^static void slot_give(/,/EDQUOT/ s/^    case ENOSPC:$/    case -ENOSPC:/' \
    "the swap plugin reports a full file system (ENOSPC) as an I/O error, not as no space"
mut swap-edquot-as-eio \
    '/^static void slot_give(/,/EDQUOT/ s/^    case EDQUOT: return SPRING_ENOSPC;$/    case -EDQUOT: return SPRING_ENOSPC;/' \
    "the swap plugin reports an exhausted quota (EDQUOT) as an I/O error, not as no space"
mut swap-recycled-slot-head \
    's/^    if (inner > 0)$/    if (0)/' \
    "a part written into a page without a slot leaves a recycled slot's old bytes before it (swap write_piece)"
mut swap-recycled-slot-tail \
    's/^    if (rc == 0 \&\& inner + n < in->page_size)$/    if (0)/' \
    "a part written into a page without a slot leaves a recycled slot's old bytes after it (swap write_piece)"
mut swap-partial-zero-ignored \
    's/^            return io_write(o, x, inner, NULL, n);$/            return 0;/' \
    "zeros written into part of a page with a slot are not written (swap write_piece)"
mut swap-zero-but-last-byte \
    's/memcmp(b, b + 1, n - 1) == 0/memcmp(b, b + 1, n - 2) == 0/' \
    "a page zero but for its last byte is taken for a zero page and lost (swap all_zero)"
mut swap-zero-but-first-byte \
    's/b\[0\] == 0 \&\& memcmp(b, b + 1, n - 1) == 0/memcmp(b + 1, b + 2, n - 2) == 0/' \
    "a page zero but for its first byte is taken for a zero page and lost (swap all_zero)"
mut swap-uniform-page-zero \
    's/(b\[0\] == 0 \&\& memcmp(b, b + 1, n - 1) == 0)/(memcmp(b, b + 1, n - 1) == 0)/' \
    "a page of one non-zero byte value is taken for a zero page and lost (swap all_zero)"
mut stack-swap-shared-by-two \
    's/^        if (s->swaps\[k\].used_by >= 0)$/        if (0)/' \
    "a configuration may give one swap pager to two address spaces (stack.c claim_swaps)"
mut stack-no-as-no-swap \
    's/^\(    size_t nas = json_is_array(a) ? json_array_size(a) : 0;\)/\1 if (a == NULL) return 0;/' \
    "a configuration without address spaces never gives its swap pagers to the VMM (stack.c claim_swaps)"
mut opt-range-from-zero-unchecked \
    's/(o->min != 0 || o->max != 0)/(o->min != 0)/' \
    "an option whose range starts at 0 takes any value (plugin.c parse_value)"
mut opt-range-to-zero-unchecked \
    's/(o->min != 0 || o->max != 0)/(o->max != 0)/' \
    "an option whose range ends at 0 takes any value (plugin.c parse_value)"

# Issue 11 section 4: spring_as_destroy waits for the calls in progress and
# refuses to wait for its own thread (t/check_as_destroy); a flush drops the
# page it holds when the pager dooms it from inside the flush's own call,
# zero_fill dooms pages in transit, and populate's data wins over a
# zero_fill made from inside its page-out (t/check_transit2).
mut destroy-no-wait \
    's/^    wait_for_calls(as);$/    (void)0;/' \
    "spring_as_destroy frees the space while calls on it are in progress"
mut destroy-skips-counted-calls \
    's/for (unsigned spins = 0; atomic_load(\&as->busy) != 0 || recorded_anywhere(as); spins++) {/for (unsigned spins = 0; recorded_anywhere(as); spins++) {/' \
    "spring_as_destroy does not wait for nested calls (counted in busy)"
mut destroy-skips-recorded-calls \
    's/for (unsigned spins = 0; atomic_load(\&as->busy) != 0 || recorded_anywhere(as); spins++) {/for (unsigned spins = 0; atomic_load(\&as->busy) != 0; spins++) {/' \
    "spring_as_destroy does not wait for the outermost calls (the threads' records)"
mut dying-space-calls-go-on \
    's/if (__builtin_expect(!atomic_load(\&as->dying), 1))$/if (1)/' \
    "calls that begin while spring_as_destroy waits run on instead of failing"
mut dying-space-fast-hits \
    's/^    spring__hat_revoked(vmm);$/    (void)0;/' \
    "spring_as_translate_fast still hits on a space being destroyed (its cached translations are not made stale)"
mut destroy-waits-for-itself \
    's/^    if (in_call_here(as)) {$/    if (0) {/' \
    "a destroy from inside a call on the same space waits for itself"
mut destroy-forgets-nested \
    '/^static bool in_call_here(/,/^}/ s/^\( *\)if (t->nested\[i\] == as)$/\1if (0)/' \
    "a destroy from a nested call on the same space is not refused"
mut flush-sends-held-doomed \
    's/^            if (b->doomed \&\& b->discard) {$/            if (0) {/' \
    "a flush sends the page it held across its own call though the pager deleted it meanwhile"
mut flush-drops-held-flushed-back \
    's/^            if (b->doomed \&\& b->discard) {$/            if (b->doomed) {/' \
    "a flush drops the page it held when flush_back doomed it meanwhile: its data never reaches the pager"
mut zero-fill-skips-transit \
    '/^ *if (op == OP_DELETE || op == OP_ZERO)$/{N;s/(op == OP_DELETE || op == OP_ZERO)\(\n *spring__block_remove(c, b, true, false); \/\* doomed\)/(op == OP_DELETE)\1/}' \
    "zero_fill does not doom pages in transit: a synced page keeps its old data"
mut populate-keeps-zero-fill \
    's/if ((rc = spring__zr_remove(c, o, o + c->block_size)) != 0) {/if ((rc = spring__zr_remove(c, o, o)) != 0) {/' \
    "populate leaves a zero_fill made from inside its page-out over its blocks"

if $LIST; then
    for i in "${!NAMES[@]}"; do
        printf '%-28s %s\n' "${NAMES[$i]}" "${WHATS[$i]}"
    done
    exit 0
fi

# Structures that grow (common.h): the size a caller gives is honoured.
mut struct-in-tail-unchecked \
    's|^    if (size > known \&\& !spring__all_zero(|    if (0 \&\& size > known \&\& !spring__all_zero(|' \
    "a configuration from a newer header with fields this library does not know is accepted (spring__struct_in)"
mut struct-out-tail-kept \
    's|^        memset((unsigned char \*)dst + known, 0, size - known);$|        (void)0;|' \
    "a caller's larger statistics structure keeps garbage in the fields this library does not know (spring__struct_out)"

# ------------------------------------------------------------------
# The scratch tree.

WORK=$(mktemp -d "${TMPDIR:-/tmp}/springvm-mutate.XXXXXX")
cleanup() {
    if $KEEP; then
        echo "scratch tree kept: $WORK"
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT

if ! git -C "$SRC" rev-parse --git-dir >/dev/null 2>&1; then
    echo "mutate: $SRC is not a git checkout" >&2
    exit 2
fi
(cd "$SRC" && git ls-files -z --cached --others --exclude-standard |
    tar --null --ignore-failed-read -T - -cf -) | tar -C "$WORK/" -xf - || exit 2
cd "$WORK" || exit 2

# The files a mutation may change, relative to the scratch tree.
mutated_files() {
    find libvm plugins springvm -name '*.c' -type f | LC_ALL=C sort
}
MFILES=$(mutated_files)
mkdir -p .pristine
for f in $MFILES; do
    mkdir -p ".pristine/$(dirname "$f")"
    cp -p "$f" ".pristine/$f"
done

restore() {
    # Copy the pristine sources back (new mtimes: make rebuilds them).
    local f
    for f in $MFILES; do
        if ! cmp -s "$f" ".pristine/$f"; then
            cp ".pristine/$f" "$f"
        fi
    done
}

# apply I: apply mutation I to the pristine sources; sets CHANGED (lines
# changed) and FILES.
apply() {
    local f n
    CHANGED=0
    FILES=""
    for f in $MFILES; do
        sed -e "${SEDS[$1]}" ".pristine/$f" >"$f.mut"
        n=$(diff ".pristine/$f" "$f.mut" | grep -c '^>')
        if [ "$n" -gt 0 ]; then
            CHANGED=$((CHANGED + n))
            FILES="$FILES $f"
            mv "$f.mut" "$f"
        else
            rm -f "$f.mut"
        fi
    done
}

selected() {
    [ -z "$ONLY" ] || [[ $ONLY == *",${NAMES[$1]},"* ]]
}

if $DRY; then
    bad=0 tried=0
    for i in "${!NAMES[@]}"; do
        selected "$i" || continue
        tried=$((tried + 1))
        restore
        apply "$i"
        if [ "$CHANGED" -eq 1 ]; then
            printf '%-28s applies to%s\n' "${NAMES[$i]}" "$FILES"
        elif [ "$CHANGED" -eq 0 ]; then
            printf '%-28s pattern not found\n' "${NAMES[$i]}"
            bad=$((bad + 1))
        else
            printf '%-28s pattern matched %d lines (want 1):%s\n' "${NAMES[$i]}" "$CHANGED" "$FILES"
            bad=$((bad + 1))
        fi
    done
    restore
    echo "mutations: $((tried - bad)) of $tried apply"
    [ $bad -eq 0 ]
    exit
fi

echo "mutate: building the unmutated tree in $WORK"
if ! (autoreconf -fi && ./configure && make -j"$JOBS") >"$WORK/build.log" 2>&1; then
    echo "mutate: the unmutated tree does not build (see $WORK/build.log)" >&2
    KEEP=true
    exit 2
fi

check_args=()
if [ -n "${MUTATE_TESTS:-}" ]; then
    check_args=("TESTS=$MUTATE_TESTS")
fi

run_check() { # -> 0 pass, 1 fail, 2 timeout
    local log=$1
    timeout "$TIMEOUT" make -j"$JOBS" check "${check_args[@]}" >"$log" 2>&1
    local rc=$?
    if [ $rc -eq 124 ]; then
        return 2
    fi
    [ $rc -eq 0 ] && return 0
    return 1
}

echo "mutate: make check of the unmutated tree"
if ! run_check "$WORK/check-base.log"; then
    echo "mutate: make check fails without any mutation (see $WORK/check-base.log)" >&2
    KEEP=true
    exit 2
fi
echo "mutate: $(tail -n 1 "$WORK/check-base.log")"

killed=0
total=0
survived=()
notapplied=0
for i in "${!NAMES[@]}"; do
    name=${NAMES[$i]}
    selected "$i" || continue
    total=$((total + 1))
    restore
    apply "$i"
    if [ "$CHANGED" -eq 0 ]; then
        printf '%-28s pattern not found\n' "$name"
        notapplied=$((notapplied + 1))
        continue
    fi
    if [ "$CHANGED" -ne 1 ]; then
        printf '%-28s pattern matched %d lines (want 1):%s\n' "$name" "$CHANGED" "$FILES"
        notapplied=$((notapplied + 1))
        restore
        continue
    fi
    if ! make -j"$JOBS" >"$WORK/build-$name.log" 2>&1; then
        printf '%-28s build failed (%s)\n' "$name" "$WORK/build-$name.log"
        notapplied=$((notapplied + 1))
        KEEP=true
        continue
    fi
    log="$WORK/check-$name.log"
    run_check "$log"
    case $? in
    0)
        printf '%-28s SURVIVED  (%s)\n' "$name" "${WHATS[$i]}"
        survived+=("$name")
        ;;
    2)
        printf '%-28s killed    (make check exceeded %s s)\n' "$name" "$TIMEOUT"
        killed=$((killed + 1))
        ;;
    *)
        which=$(grep -E '^(FAIL|ERROR):' "$log" | sed 's/^[A-Z]*: //' | tr '\n' ' ')
        printf '%-28s killed    (%s)\n' "$name" "${which% }"
        killed=$((killed + 1))
        ;;
    esac
done
restore

echo "mutations: $killed killed of $total"
if [ ${#survived[@]} -gt 0 ]; then
    echo "survived: ${survived[*]}"
fi
if [ $notapplied -gt 0 ]; then
    echo "not applied: $notapplied (pattern not found, ambiguous or not compiling)"
fi
[ "$killed" -eq "$total" ]
exit
}
