/**
 * @file store.h
 * @brief A pager made easy: the library implements the memory-object and
 *        pager-object side, the caller supplies only the data operations
 *        of a backing store (@ref arch_decision_10 "architecture decision 10").
 *
 * A pager that only moves data between the VMM and some storage (a file, a
 * device, a buffer, a remote object) needs none of the bind protocol: it
 * fills a #spring_store_ops_t with read, write and get_length, and calls
 * spring_store_new().  spring_store_mobj() then makes memory objects
 * ("views") of the store, each with a maximum right, that can be mapped in
 * any VMM found in the registry the configuration names.  The helper does
 * the rest of pager.h:
 *
 * - @b bind looks the VMM up by the name the bind request gives
 *   (spring_registry_lookup() with the configured credential), keeps one
 *   cache per VMM, creates it on the first bind, and returns a cache-rights
 *   restricted to the view's maximum rights.  Every view of one store shares
 *   the store's cache at a VMM (paper §2: a read-only and a read-write
 *   object over one memory share one cache), so a write through a
 *   read-write view is seen at once through a read-only view mapped in the
 *   same VMM.  Cache offsets are store offsets.
 * - @b final_bind (§7.5) binds the existing cache (spring_vmm_bind_cache())
 *   or, if it is gone, creates one bound to the key
 *   (spring_vmm_create_cache_object_and_bind()).
 * - A cache that is reclaimed or destroyed leaves the helper's table
 *   (done_with_pager_object); the next bind at that VMM makes a new one,
 *   whose page-ins read the store.
 * - @b page_in reads the store; an upgrade (a write to a block held
 *   read-only) sends nothing.  @b page_out, @b write_out and @b sync write
 *   the pages to the store, so data the VMM keeps can go back too
 *   (spring_as_flush() with please_keep, spring_vmm_sync()).
 * - @b zero_fill_range (a store that serves anonymous memory, such as a
 *   swap pager's: the VMM says a range of the default anonymous object was
 *   made zero, when memory is allocated there and when it is unmapped): the
 *   helper calls the store's discard, when it has one, so that the store
 *   can free the space the range took (a swap store its slots).
 *
 * @b The store's length.  Offsets and lengths are bytes; the length need
 * not be a multiple of the page size, and it is asked for (get_length) at
 * every page-in and every write of pages, so a store may change its length
 * by itself between calls (a file another process appends to).  A mapping
 * must lie within the length rounded up to a page when it is made (a bind
 * past it fails with #SPRING_ERANGE); the end may then move below it
 * (spring_store_set_length()), and for the part of a mapping past the end:
 * - a block that lies wholly past the end cannot be paged in: the page_in
 *   fails with #SPRING_ERANGE, and so does the access that needed it (as
 *   SIGBUS would: pager.h, page_in);
 * - in a block that the end cuts, the bytes past the end read as zero; they
 *   may be written through a mapping, but are never written to the store
 *   (the helper never extends a store by writing: only set_length changes
 *   its length).
 *
 * spring_store_set_length() (and the memory object's set_length) changes
 * the length with POSIX truncate semantics: after a shrink, every VMM's
 * cached blocks wholly past the new end are dropped and the cached bytes of
 * the boundary block past the new end are discarded, so that growing the
 * store again reads zeros there; after a growth, bytes a mapping wrote past
 * the old end are discarded too, so the new part of the store reads zero.
 * Change the length of a store only through the helper: if a store shrinks
 * behind its back, caches may still hold blocks past the new end.
 *
 * @b No coherence between VMMs.  Each VMM has its own cache of the store,
 * and the helper does not keep the caches coherent: a write made in one VMM
 * reaches another only through the store (after the first VMM wrote it back
 * and once the second pages the data in again).  When two VMMs write the
 * same page, the one whose data reaches the store last wins.  A pager that
 * needs coherence uses the full protocol of pager.h (@ref pager_guide), for
 * example flush_back and deny_writes on the other caches before a grant.
 *
 * @b Data taken back by the helper.  spring_store_sync(),
 * spring_store_set_length() and the teardown of the last reference take
 * modified data back from the caches themselves (spring_cache_write_back(),
 * spring_cache_flush_back()); the caches then count it as clean.  Until the
 * helper has written such data to the store it keeps it, and page-ins read
 * it from there, so a block the VMM drops meanwhile is not read back stale.
 * If the store's write fails, the helper keeps the data and the call
 * returns the store's code; the next spring_store_sync() writes it again.
 * Data the VMM hands over itself (page_out, write_out, sync) is not kept:
 * if the write fails, the pager call fails and the VMM keeps the blocks
 * modified (pager.h), so again nothing is lost.  Only at teardown, when no
 * reference to the store is left to report a failure to, is data whose
 * write fails lost: call spring_store_sync() before dropping the last
 * reference to learn that everything reached the store.
 *
 * @b Lifetime.  The store (the implementation pointer passed to
 * spring_store_new()) must stay valid until ops->release is called, which
 * happens exactly once, when the creator's references (spring_store_new(),
 * spring_store_ref()), every view and every cache of the store are gone.
 * When the last reference that can make new mappings is gone (the
 * creator's and every view), the helper writes every cache's modified data
 * to the store and destroys the caches; a cache it cannot take the data
 * back from (#SPRING_ENOMEM) is left to its VMM, whose reclamation pages
 * the data out, and release waits for it.  A store of anonymous memory
 * (spring_store_config_t::kind #SPRING_CACHE_ANON) is not written then:
 * nobody can read its data again; its caches are destroyed.  While the creator holds a
 * reference, caches outlive the views (as the configuration's
 * keep_unattached says), so that a view made later finds the pages cached.
 *
 * @b Threads and locks.  Every function here is thread-safe.  The helper
 * never holds a lock of its own across a call that can call a pager back,
 * and the VMM holds none of its locks while it calls the helper, so a
 * store's methods run with no springvm lock held.  They may run
 * concurrently with each other (reads and writes of different pages at
 * once), except that set_length and get_length-then-set_length run alone.
 * A store method must not call the helper's functions for its own store,
 * nor access memory that may need its own store's pages (spring_as_read()
 * of a mapping of it, for example): it would wait for itself.
 * spring_store_sync(), spring_store_set_length() and the last
 * spring_store_unref() take data back with cache functions that wait for
 * write pins on the pages they take (cache.h), and page-ins of the range
 * being taken back wait until the helper holds the data.  So, as cache.h
 * asks of every pin holder, a thread holding a write pin
 * (spring_as_translate()) on a page of the store must not call them, nor
 * access the store's pages while another thread runs them: it would wait
 * for a call that waits for its pin.
 */
#ifndef SPRING_STORE_H
#define SPRING_STORE_H

#include <spring/common.h>
#include <spring/pager.h>
#include <spring/vmm.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief The version of #spring_store_ops_t this header describes (2
 *         added spring_store_ops_t::discard); versions 1 and 2 are accepted. */
#define SPRING_STORE_OPS_VERSION 2

/**
 * @brief The data operations of a backing store: all a pager made with
 *        spring_store_new() supplies.
 *
 * @c store is the implementation pointer given to spring_store_new().  Each
 * method returns 0 or a negative @c SPRING_E* code (for an I/O error
 * #SPRING_EPAGER is a good choice, for a full device #SPRING_ENOSPC); the
 * helper reports any other value as #SPRING_EPROTO.  A code a method
 * returns reaches the caller of the helper's function, or, through the
 * VMM, spring_last_error() of the thread whose access failed.  The helper
 * never asks for a byte at or past the length get_length reported for the
 * same call, and asks for every page at most once per call.  The version
 * is checked when the table is given to spring_store_new(); an optional
 * slot may be NULL.
 */
typedef struct spring_store_ops {
    int version; /**< #SPRING_STORE_OPS_VERSION */

    /**
     * @brief Fill @p buf with @p length bytes of the store from @p offset
     *        (required).
     * @param store the store.
     * @param offset the offset of the first byte.
     * @param buf produce: @p length bytes (a page frame of the VMM, or part
     *        of one; do not keep the pointer after the call).
     * @param length bytes, at most a page; [offset, offset+length) lies
     *        inside the store.
     * @return 0, or a negative code: the page-in fails, and the access that
     *   needed it fails with #SPRING_EPAGER.
     */
    int (*read)(void *store, spring_off_t offset, void *buf, size_t length);
    /**
     * @brief Write @p length bytes to the store at @p offset (required).
     *        The store's length does not change.
     * @param store the store.
     * @param offset the offset of the first byte.
     * @param buf the bytes (borrow, for the call only), or NULL: write
     *        @p length zero bytes (a store may punch a hole instead).
     * @param length bytes, at most a page; [offset, offset+length) lies
     *        inside the store.
     * @return 0, or a negative code (see "Data taken back by the helper" in
     *   the file's description for what happens to the data).
     */
    int (*write)(void *store, spring_off_t offset, const void *buf, size_t length);
    /**
     * @brief The store's length in bytes (required).  Called at every
     *        page-in and every write of pages: make it cheap (an fstat).
     * @param store the store.
     * @param length produce: the length.
     * @return 0, or a negative code: the call that needed the length fails
     *   with it (a page-in: the access fails with #SPRING_EPAGER; a page-out:
     *   the VMM keeps the data modified).
     */
    int (*get_length)(void *store, spring_off_t *length);

    /**
     * @brief Read whole pages in one call, as preadv() does (optional; when
     *        NULL, read is called once per page).  Called once for each
     *        page-in, with the pages of the block that lie wholly inside the
     *        store; a page the end cuts is read with read.
     * @param store the store.
     * @param offset the offset of the first page (page aligned).
     * @param pages produce: @p npages destinations of @p page_size bytes
     *        each, for the consecutive pages from @p offset (the VMM's page
     *        frames: do not keep the pointers after the call).
     * @param npages number of pages (at least 1).
     * @param page_size the VMM's page size.
     * @return 0 or a negative code, as for read.
     */
    int (*read_pages)(void *store, spring_off_t offset, void *const *pages, size_t npages, size_t page_size);
    /**
     * @brief Write whole consecutive pages in one call, as pwritev() does
     *        (optional; when NULL, write is called once per page).  Called
     *        for each run of consecutive whole pages inside the store; a
     *        page the end cuts is written with write.
     * @param store the store.
     * @param offset the offset of the first page (page aligned).
     * @param pages @p npages sources of @p page_size bytes each (borrow, for
     *        the call only); a NULL entry is a page of zeros.
     * @param npages number of pages (at least 1).
     * @param page_size the size of each page: the VMM's page size, or 4096
     *        for data the helper kept (see "Data taken back by the helper").
     * @return 0 or a negative code, as for write.  On failure the helper
     *   counts none of the pages as written.
     */
    int (*write_pages)(void *store, spring_off_t offset, const void *const *pages, size_t npages,
                       size_t page_size);
    /**
     * @brief Change the store's length (optional; without it
     *        spring_store_set_length() returns #SPRING_ENOSYS).  Bytes a
     *        growth adds read as zero, as after POSIX ftruncate().
     * @param store the store.
     * @param length the new length.
     * @return 0 or a negative code (the length is then unchanged).
     */
    int (*set_length)(void *store, spring_off_t length);
    /**
     * @brief Make what write and write_pages stored durable, as fsync()
     *        does (optional).  Called only by spring_store_sync(), after it
     *        wrote the data it collected (also when some of it failed).
     * @param store the store.
     * @return 0 or a negative code.
     */
    int (*sync)(void *store);
    /**
     * @brief The helper will never call the store again (optional): the
     *        store may free itself.  Called exactly once, when the last
     *        reference of the creator, the last view and the last cache of
     *        the store are gone, in the thread that dropped the last one.
     * @param store the store.
     */
    void (*release)(void *store);
    /**
     * @brief A further interface the store's memory objects offer
     *        (optional): spring_mobj_query() on a view of the store asks
     *        here for every name but #SPRING_MOBJ_VIEW_INTERFACE, which the
     *        helper answers itself.  The interface's functions get the
     *        memory object; spring_store_data() leads from it to the store.
     * @param store the store.
     * @param name the interface's name.
     * @param version the version asked for.
     * @return the interface (valid while the store lives), or NULL.
     */
    const void *(*query)(void *store, const char *name, int version);
    /* methods above: version 1 */
    /**
     * @brief The range now reads zero: the store may free the space it
     *        takes (optional, version 2; for stores that serve anonymous
     *        memory, such as a swap pager's).
     *
     * The helper calls it when the VMM says a range of the default
     * anonymous object was made zero (zero_fill_range: memory allocated
     * there, or unmapped).  After it returns 0, read must return zeros for
     * the range until it is written again.  Without it the store keeps
     * what it has: the VMM never reads it back (it zero-fills the range
     * and writes the zero pages out when it evicts them).
     * @param store the store.
     * @param offset where the range starts (page aligned).
     * @param length its length in bytes (a multiple of the page size),
     *        clipped to the store's length.
     * @return 0 or a negative code (the call is a hint: a failure is
     *   counted in the pager's statistics, nothing else).
     */
    int (*discard)(void *store, spring_off_t offset, spring_off_t length);
    /* methods above: version 2 */
} spring_store_ops_t;

/** @brief A store made into a pager (reference counted). */
typedef struct spring_store spring_store_t;

/**
 * @brief How a store's caches are made and where its VMMs are found.
 *        Initialize with spring_store_config_init().
 */
typedef struct spring_store_config {
    /** Where a bind's VMM is looked up by name (borrow: must outlive the
     *  store).  Required. */
    spring_registry_t *registry;
    /** The credential for spring_registry_lookup() (copied), or NULL: the
     *  caches get #SPRING_PRIV_USER privilege. */
    const char *credential;
    /** The caches' block size, the unit of paging: 0 (the default) for one
     *  page, else a power of two of at least 4096, which each VMM also
     *  requires to be a multiple of its page size and small enough for its
     *  frame pool (a bind at a VMM that refuses it fails with
     *  #SPRING_EBIND). */
    spring_off_t block_size;
    /** Which unattached list the caches wait on (default
     *  #SPRING_CACHE_DATA). */
    spring_cache_kind_t kind;
    /** Keep a cache while nothing maps it, until its VMM reclaims it
     *  (default true); false: the VMM reclaims it (writing its modified
     *  data to the store) when its last mapping goes. */
    bool keep_unattached;
} spring_store_config_t;

/**
 * @brief Fill a configuration with the defaults: no registry (it must be
 *        set), no credential, one-page blocks, #SPRING_CACHE_DATA,
 *        keep_unattached.
 * @param cfg produce; NULL is ignored.
 */
SPRING_API void spring_store_config_init(spring_store_config_t *cfg);

/**
 * @brief Make a pager of a store.
 *
 * @param ops the store's methods (borrow: must stay valid until release is
 *        called, a static const table).
 * @param store the implementation pointer passed to every method, may be
 *        NULL (consume on success: from now on the helper owns it until
 *        ops->release; on failure it is not consumed and release is not
 *        called).
 * @param cfg the configuration (copy).
 * @param out produce: the store, with one reference for the caller (drop it
 *        with spring_store_unref()).
 * @return 0; #SPRING_EINVAL if @p ops, @p cfg, @p out or cfg->registry is
 *   NULL, if ops->read, ops->write or ops->get_length is NULL, if
 *   cfg->block_size is neither 0 nor a power of two of at least 4096, or
 *   cfg->kind is not a #spring_cache_kind_t; #SPRING_EVERSION if ops->version is below 1 or
 *   above #SPRING_STORE_OPS_VERSION; #SPRING_ENOMEM.  The store is not
 *   called.  Thread-safe.
 */
SPRING_API int spring_store_new(const spring_store_ops_t *ops, void *store, const spring_store_config_t *cfg,
                                spring_store_t **out);

/**
 * @brief A memory object (a view) over the whole store, with at most the
 *        given rights.
 *
 * Every view of one store shares the store's one cache at each VMM; a bind
 * through this view returns a cache-rights restricted to @p max_rights, so
 * a mapping of it, and every later spring_as_change_access_rights() of the
 * mapping, is refused #SPRING_ERIGHTS beyond them.  The view's
 * get_length and set_length are spring_store_get_length() and
 * spring_store_set_length().  The view holds a reference to the store.
 * It answers spring_mobj_query() for #SPRING_MOBJ_VIEW_INTERFACE (views of
 * at most its own rights) and, through ops->query, for the store's own
 * interfaces.
 *
 * @param st the store (borrow).
 * @param max_rights one of #SPRING_RIGHTS_RO, #SPRING_RIGHTS_RX,
 *        #SPRING_RIGHTS_RW and #SPRING_RIGHTS_RWX.
 * @param out produce: the memory object, with one reference for the caller
 *        (spring_mobj_unref()).
 * @return 0; #SPRING_EINVAL for NULL @p st or @p out, or rights that are
 *   not one of the four; #SPRING_ENOMEM.  Thread-safe.
 */
SPRING_API int spring_store_mobj(spring_store_t *st, spring_rights_t max_rights, spring_mobj_t **out);

/**
 * @brief Write every VMM's modified pages of the store to the store, then
 *        make them durable (ops->sync).
 *
 * For each VMM's cache the helper takes a copy of the modified blocks
 * (spring_cache_write_back(): the blocks stay cached, now clean) and
 * writes them, with the data kept from an earlier failed write; then it
 * calls ops->sync, if present (also after a failure, for what was
 * written).  Pages a VMM is paging in or out at the time are not included
 * (they are on their way; a page_out writes its own).
 *
 * @param st the store (borrow).
 * @return 0; #SPRING_EINVAL for NULL; #SPRING_ENOMEM (a cache could not
 *   return its data: it keeps it modified; the others were still written);
 *   the store's write code (the data that could not be written stays with
 *   the helper, page-ins read it, and the next call writes it again); the
 *   store's get_length or sync code; #SPRING_EPROTO for a code the store
 *   returned that is not a @c SPRING_E* code.  Every cache is tried; the
 *   first failure is returned.  Not from inside a method of this store,
 *   nor while this thread holds a write pin on a page of it.
 */
SPRING_API int spring_store_sync(spring_store_t *st);

/**
 * @brief The store's length (ops->get_length); also the views'
 *        get_length.
 * @param st the store (borrow).
 * @param length produce: the length in bytes.
 * @return 0; #SPRING_EINVAL for NULL arguments; the store's code
 *   (#SPRING_EPROTO for one that is not a @c SPRING_E* code).  Thread-safe.
 */
SPRING_API int spring_store_get_length(spring_store_t *st, spring_off_t *length);

/**
 * @brief Change the store's length with POSIX truncate semantics; also the
 *        views' set_length.
 *
 * The helper calls ops->set_length (with no read or write of the store
 * running), then, in every VMM's cache, takes back the block that holds
 * the lower of the old and new ends (writing its bytes before that end to
 * the store) and, after a shrink, drops every block past the new end
 * (spring_cache_delete_range()).  Afterwards a block wholly past the new
 * end cannot be paged in (#SPRING_ERANGE), and bytes between the old and
 * the new end read zero, whatever a mapping wrote past the old end.
 * Mappings stay: accesses past the end fail, and succeed again after a
 * growth.  An access to the boundary block that runs concurrently with
 * this call may see the data of before the call.
 *
 * @param st the store (borrow).
 * @param length the new length in bytes.
 * @return 0; #SPRING_EINVAL for NULL; #SPRING_ENOSYS if the store has no
 *   set_length; the store's get_length or set_length code (nothing
 *   changed); after the length changed: #SPRING_ENOMEM (a cache could not
 *   give the boundary block back, and keeps the old bytes there and any
 *   block past the end: call again with the same length) or the store's
 *   write code for the boundary block's data (kept by the helper and
 *   written by the next spring_store_sync()); #SPRING_EPROTO for a code
 *   that is not a @c SPRING_E* code.  Not from inside a method of this
 *   store, nor while this thread holds a write pin on a page of it.
 */
SPRING_API int spring_store_set_length(spring_store_t *st, spring_off_t length);

/**
 * @brief The store behind a memory object made by spring_store_mobj().
 * @param mobj the object (borrow).
 * @return the implementation pointer given to spring_store_new(); NULL
 *   for NULL or an object the helper did not make.
 */
SPRING_API void *spring_store_data(spring_mobj_t *mobj);

/**
 * @brief The store methods behind a memory object made by
 *        spring_store_mobj(), so that a pager can tell its own objects from
 *        others' before it trusts spring_store_data().
 * @param mobj the object (borrow).
 * @return the table given to spring_store_new(); NULL for NULL or an
 *   object the helper did not make.
 */
SPRING_API const spring_store_ops_t *spring_store_ops_of(spring_mobj_t *mobj);

/**
 * @brief The rights of a memory object made by spring_store_mobj() (the
 *        most its mappings can get).
 * @param mobj the object (borrow).
 * @return its maximum rights; #SPRING_RIGHTS_NONE for NULL or an object the
 *   helper did not make.
 */
SPRING_API spring_rights_t spring_store_mobj_rights(spring_mobj_t *mobj);

/**
 * @brief Take a reference to the store, of the kind spring_store_new()
 *        returns (copy): while it is held, views can be made and the
 *        store's caches outlive its views.
 * @param st the store; NULL is ignored.
 * @return @p st.
 */
SPRING_API spring_store_t *spring_store_ref(spring_store_t *st);

/**
 * @brief Drop a reference from spring_store_new() or spring_store_ref()
 *        (consume).
 *
 * When it was the last such reference and no view is left, the helper
 * writes every cache's modified data to the store and destroys the caches
 * (see "Lifetime" in the file's description), in this call; ops->release
 * follows when the last cache is gone, in this call or later.
 *
 * @param st the store; NULL is ignored.  Not from inside a method of this
 *        store, nor while this thread holds a write pin on a page of it.
 */
SPRING_API void spring_store_unref(spring_store_t *st);

#ifdef __cplusplus
}
#endif
#endif /* SPRING_STORE_H */
