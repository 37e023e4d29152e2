/**
 * @file plugin.h
 * @brief Plugins: HAT backends, pagers and swap pagers as shared objects,
 *        their options, and the loader that finds them by name.
 *
 * A plugin is a shared object that exports one symbol,
 * #SPRING_PLUGIN_ENTRY_SYMBOL, of type #spring_plugin_entry_fn.  The entry
 * returns a descriptor (#spring_plugin_t): the plugin ABI it was built
 * for, its name, version and kind, its options, and what its kind
 * provides.  A plugin sees the public headers only and reaches the VMM
 * only through the interfaces it is handed.
 *
 * @code
 * static const spring_plugin_t desc = {
 *     .abi_major = SPRING_PLUGIN_ABI_MAJOR, .abi_minor = SPRING_PLUGIN_ABI_MINOR,
 *     .name = "mypager", .version = "1.0", .kind = SPRING_PLUGIN_PAGER,
 *     .description = "my pager", .options = opts, .noptions = 1, .pager = &my_pager,
 * };
 * spring_plugin_entry_fn spring_plugin_entry;
 * const spring_plugin_t *spring_plugin_entry(void) { return &desc; }
 * @endcode
 *
 * The loader (spring_plugin_load()) finds a plugin by name along a search
 * path, first match wins:
 *   1. the directories of the environment variable @c SPRING_PLUGIN_PATH
 *      (separated by ':');
 *   2. the directories the caller names (a configuration's
 *      @c plugin_path);
 *   3. the build tree the library was built in (so that tests run
 *      without installing), searched only by the library of that build
 *      tree: an installed library never loads plugins from a source tree;
 *   4. the installed plugin directory;
 *   5. the plugins built into the library ("soft", the soft HAT).
 *
 * In a directory, plugin NAME is the file @c NAME.so; in the build tree,
 * @c plugins/NAME/.libs/NAME.so and @c t/plugins/.libs/NAME.so.
 *
 * Locks: the loader has one lock of its own; every function here is
 * thread-safe.  A loaded plugin is reference counted and unloaded
 * (dlclose) when the last reference goes: keep a reference while anything
 * made by the plugin (a memory object, a pager instance) is alive.  A VMM
 * whose HAT backend is a plugin's holds a reference of its own until it is
 * destroyed; a stack (stack.h) holds its plugins until it is closed.
 */
#ifndef SPRING_PLUGIN_H
#define SPRING_PLUGIN_H

#include <spring/common.h>
#include <spring/hat.h>
#include <spring/pager.h>
#include <spring/vmm.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief The plugin ABI's major version: a plugin must have exactly this. */
#define SPRING_PLUGIN_ABI_MAJOR 1
/** @brief The plugin ABI's minor version: a plugin's may be lower, not higher. */
#define SPRING_PLUGIN_ABI_MINOR 0
/** @brief The name of the one symbol a plugin exports. */
#define SPRING_PLUGIN_ENTRY_SYMBOL "spring_plugin_entry"

/** @brief What a plugin provides. */
typedef enum spring_plugin_kind {
    SPRING_PLUGIN_ANY = 0,   /**< (for spring_plugin_load()) any kind */
    SPRING_PLUGIN_HAT = 1,   /**< a HAT backend (spring_plugin_t::hat) */
    SPRING_PLUGIN_PAGER = 2, /**< a pager (spring_plugin_t::pager) */
    SPRING_PLUGIN_SWAP = 3   /**< a swap pager (spring_plugin_t::swap) */
} spring_plugin_kind_t;

/**
 * @brief The name of a kind: "hat", "pager", "swap" ("any" for
 *        #SPRING_PLUGIN_ANY).
 * @param kind the kind.
 * @return a static string; "?" for a value that is not a kind.
 */
SPRING_API const char *spring_plugin_kind_name(spring_plugin_kind_t kind);

/* ------------------------------------------------------------------ */
/* Options.                                                             */

/** @brief The type of an option's value. */
typedef enum spring_option_type {
    SPRING_OPT_STRING = 1, /**< text */
    SPRING_OPT_INT = 2,    /**< a signed 64-bit integer (decimal, or hex with 0x) */
    SPRING_OPT_SIZE = 3,   /**< a byte count: a number with an optional unit B, KiB, MiB, GiB, TiB
                                (powers of 1024; also K, M, G, T and KB, MB, GB, TB as powers of 1000) */
    SPRING_OPT_BOOL = 4    /**< true or false (also 1/0, yes/no, on/off as text) */
} spring_option_type_t;

/**
 * @brief The name of an option type: "string", "integer", "size", "boolean".
 * @param type the type.
 * @return a static string; "?" for a value that is not a type.
 */
SPRING_API const char *spring_option_type_name(spring_option_type_t type);

/** @brief One option a plugin accepts. */
typedef struct spring_plugin_option {
    const char *name;          /**< its key: letters, digits, '_' and '-' */
    spring_option_type_t type; /**< the type of its value */
    const char *def;           /**< its default, written as a value is on a command line
                                    ("8MiB", "true"); NULL: the option must be given */
    const char *doc;           /**< one line of documentation */
    int64_t min;               /**< for integers and sizes: the smallest value allowed */
    int64_t max;               /**< for integers and sizes: the largest; min == max == 0: no limit
                                    (sizes are never negative) */
} spring_plugin_option_t;

/**
 * @brief A set of option values checked against a plugin's list of
 *        options: every key known, every value of its type and range.
 *        Opaque.
 */
typedef struct spring_options spring_options_t;

/**
 * @brief Make a set of values for a list of options, each at its default.
 * @param schema the options (borrow: must outlive the set; NULL only with
 *        @p n 0).
 * @param n how many.
 * @param out produce: the set.
 * @return 0; #SPRING_EINVAL for a NULL @p out, a NULL @p schema with
 *   @p n > 0, an option without a name or of an unknown type, two options
 *   of one name, or a default that is not a valid value (the message of
 *   spring_last_error() names it); #SPRING_ENOMEM.
 */
SPRING_API int spring_options_new(const spring_plugin_option_t *schema, size_t n, spring_options_t **out);

/**
 * @brief Free a set of values.
 * @param opts the set (consume); NULL is ignored.
 */
SPRING_API void spring_options_free(spring_options_t *opts);

/**
 * @brief Set one value, given as text.
 * @param opts the set.
 * @param name the option's key.
 * @param value the value as text (copied).
 * @return 0; #SPRING_EINVAL for NULL arguments or a value that is not of
 *   the option's type; #SPRING_ENOENT for a key the list does not have;
 *   #SPRING_ERANGE for a number outside the option's range;
 *   #SPRING_ENOMEM.  spring_last_error() says which, with the key, what
 *   was expected and what was found.  On error the set is unchanged.
 */
SPRING_API int spring_options_set(spring_options_t *opts, const char *name, const char *value);

/**
 * @brief Set one value from "KEY=VALUE" (as on a command line).
 * @param opts the set.
 * @param assignment the text (borrow).
 * @return as spring_options_set(); #SPRING_EINVAL also when there is no
 *   '='.
 */
SPRING_API int spring_options_assign(spring_options_t *opts, const char *assignment);

/**
 * @brief Check that every option without a default was given.
 * @param opts the set (borrow).
 * @return 0; #SPRING_EINVAL for NULL; #SPRING_ENOENT if one is missing
 *   (spring_last_error() names it).
 */
SPRING_API int spring_options_check(const spring_options_t *opts);

/**
 * @brief A string option's value.
 * @param opts the set (borrow).
 * @param name the key.
 * @return the value (owned by the set, valid until it changes or is
 *   freed); NULL for NULL arguments, an unknown key, an option of another
 *   type, or one with no value.
 */
SPRING_API const char *spring_options_string(const spring_options_t *opts, const char *name);

/**
 * @brief An integer option's value.
 * @param opts the set (borrow).
 * @param name the key.
 * @return the value; 0 for NULL arguments, an unknown key, another type or
 *   no value.
 */
SPRING_API int64_t spring_options_int(const spring_options_t *opts, const char *name);

/**
 * @brief A size option's value, in bytes.
 * @param opts the set (borrow).
 * @param name the key.
 * @return the value; 0 for NULL arguments, an unknown key, another type or
 *   no value.
 */
SPRING_API uint64_t spring_options_size(const spring_options_t *opts, const char *name);

/**
 * @brief A boolean option's value.
 * @param opts the set (borrow).
 * @param name the key.
 * @return the value; false for NULL arguments, an unknown key, another
 *   type or no value.
 */
SPRING_API bool spring_options_bool(const spring_options_t *opts, const char *name);

/**
 * @brief Whether an option was given (not just defaulted).
 * @param opts the set (borrow).
 * @param name the key.
 * @return true if spring_options_set() gave it a value.
 */
SPRING_API bool spring_options_given(const spring_options_t *opts, const char *name);

/**
 * @brief Parse a size with an optional unit ("8MiB", "4096", "64 KiB").
 * @param text the text.
 * @param out produce: bytes.
 * @return 0; #SPRING_EINVAL for NULL, no number, or an unknown unit;
 *   #SPRING_EOVERFLOW if it does not fit 63 bits.
 */
SPRING_API int spring_parse_size(const char *text, uint64_t *out);

/* ------------------------------------------------------------------ */
/* What each kind provides.                                             */

/** @brief The version of #spring_plugin_env_t this header describes. */
#define SPRING_PLUGIN_ENV_VERSION 1

/**
 * @brief What a pager or swap-pager plugin is given when an instance is
 *        made.  Versioned and size-prefixed: fields are only appended.
 */
typedef struct spring_plugin_env {
    int version;                 /**< #SPRING_PLUGIN_ENV_VERSION */
    size_t size;                 /**< sizeof(spring_plugin_env_t) as the library was built */
    spring_registry_t *registry; /**< where VMMs are looked up by name (borrow) */
    const char *vmm_name;        /**< the VMM the instance is configured with */
    const char *credential;      /**< the credential to look it up with (NULL: an ordinary
                                      user; a system credential when the plugin asked for it) */
    spring_vmm_t *vmm;           /**< that VMM itself (borrow), e.g. for an address space of the
                                      instance's own */
    const char *base_dir;        /**< the directory relative paths in the instance's options are
                                      resolved against (a configuration file's directory), or NULL
                                      for the current directory */
} spring_plugin_env_t;

/** @brief The version of #spring_pager_plugin_t this header describes. */
#define SPRING_PAGER_PLUGIN_VERSION 1

/** @brief What a pager plugin provides. */
typedef struct spring_pager_plugin {
    int version;       /**< #SPRING_PAGER_PLUGIN_VERSION */
    bool needs_system; /**< the instance looks its VMM up with a system credential */
    const spring_plugin_option_t *object_options; /**< the options of each memory object */
    size_t nobject_options;                       /**< how many */
    /**
     * @brief Make an instance (required).
     * @param env the environment (borrow, for the call; the registry and
     *        the VMM outlive the instance).
     * @param opts the instance's options, checked (borrow, for the call).
     * @param instance produce: the instance.
     * @return 0 or a negative code (spring_last_error() may say more).
     */
    int (*instance_new)(const spring_plugin_env_t *env, const spring_options_t *opts, void **instance);
    /**
     * @brief Make a memory object (required).
     * @param instance the instance.
     * @param opts the object's options, checked (borrow, for the call).
     * @param out produce: the memory object, one reference for the caller.
     * @return 0 or a negative code.
     */
    int (*mobj_new)(void *instance, const spring_options_t *opts, spring_mobj_t **out);
    /**
     * @brief Destroy an instance (required).  Called once every memory
     *        object it made is released and every VMM it served is
     *        destroyed.
     * @param instance the instance (consume).
     */
    void (*instance_destroy)(void *instance);
    /**
     * @brief The VMM the instance serves is about to be destroyed
     *        (optional): release what the instance holds in it (address
     *        spaces of its own, mappings).  Its memory objects may still be
     *        released afterwards, and their pages paged out to it, but their
     *        further interfaces (file.h) then fail with #SPRING_EDESTROYED.
     *        instance_destroy follows once the VMM is gone.
     * @param instance the instance.
     */
    void (*instance_stop)(void *instance);
    /* methods above: version 1 */
} spring_pager_plugin_t;

/** @brief The version of #spring_swap_plugin_t this header describes. */
#define SPRING_SWAP_PLUGIN_VERSION 1

/** @brief What a swap-pager plugin provides. */
typedef struct spring_swap_plugin {
    int version; /**< #SPRING_SWAP_PLUGIN_VERSION */
    /** the swap-pager vtable; its @c self is an instance made below, and
     *  its @c release destroys the instance */
    const spring_swap_pager_ops_t *ops;
    /**
     * @brief Make an instance (required).  Swap pagers look their VMM up
     *        with a system credential (env->credential).
     * @param env the environment (borrow, for the call).
     * @param opts the instance's options, checked (borrow, for the call).
     * @param swapper produce: the instance, given to
     *        spring_vmm_add_swap_pager() with @c ops.
     * @return 0 or a negative code.
     */
    int (*instance_new)(const spring_plugin_env_t *env, const spring_options_t *opts, void **swapper);
    /* methods above: version 1 */
} spring_swap_plugin_t;

/**
 * @brief A plugin's descriptor, returned by its entry.  Static storage in
 *        the plugin.
 */
typedef struct spring_plugin {
    unsigned abi_major;       /**< #SPRING_PLUGIN_ABI_MAJOR as the plugin was built */
    unsigned abi_minor;       /**< #SPRING_PLUGIN_ABI_MINOR as the plugin was built */
    const char *name;         /**< its name (how a configuration names it) */
    const char *version;      /**< its own version, as text */
    spring_plugin_kind_t kind; /**< what it provides */
    const char *description;  /**< one line */
    const spring_plugin_option_t *options; /**< its options (of a HAT, of a pager or swap instance) */
    size_t noptions;          /**< how many */
    const spring_hat_ops_t *hat;          /**< #SPRING_PLUGIN_HAT: the backend (its options reach
                                               it in spring_hat_env_t::opts) */
    const spring_pager_plugin_t *pager;   /**< #SPRING_PLUGIN_PAGER */
    const spring_swap_plugin_t *swap;     /**< #SPRING_PLUGIN_SWAP */
} spring_plugin_t;

/** @brief The type of a plugin's entry: declare it with this type so that
 *         the compiler checks it (`spring_plugin_entry_fn spring_plugin_entry;`). */
typedef const spring_plugin_t *spring_plugin_entry_fn(void);

/**
 * @brief Define a plugin's entry, returning its descriptor: write
 *        `SPRING_PLUGIN_EXPORT(desc)` once, at file scope, after the
 *        descriptor `desc` (a #spring_plugin_t).  The entry is exported
 *        even when the plugin is compiled with `-fvisibility=hidden` (which
 *        keeps every other symbol of the plugin private).
 * @param desc the descriptor (an object of static storage).
 */
#define SPRING_PLUGIN_EXPORT(desc)                        \
    SPRING_API spring_plugin_entry_fn spring_plugin_entry; \
    SPRING_API const spring_plugin_t *spring_plugin_entry(void) \
    {                                                     \
        return &(desc);                                   \
    }

/* ------------------------------------------------------------------ */
/* The loader.                                                          */

/** @brief A loaded plugin (reference counted).  Opaque. */
typedef struct spring_plugin_lib spring_plugin_lib_t;

/**
 * @brief Find and load a plugin.
 *
 * Loading is dlopen(RTLD_NOW | RTLD_LOCAL) of the file, then the entry
 * symbol, then checks of the descriptor.  A plugin already loaded from
 * the same file is not loaded again: another reference is returned.
 *
 * @param name a plugin name looked up along the search path (see the file
 *        comment), or the path of a shared object (a name with a '/').
 * @param dirs further directories, searched after @c SPRING_PLUGIN_PATH
 *        (borrow; a NULL-terminated array, or NULL).
 * @param kind the kind expected, or #SPRING_PLUGIN_ANY.
 * @param out produce: the plugin, one reference for the caller.
 * @return 0; #SPRING_EINVAL for NULL or empty arguments;
 *   #SPRING_ENOENT if no directory has it; #SPRING_EPLUGIN if the file
 *   does not load (the dlerror() text), has no entry symbol, its entry
 *   returns NULL, or its descriptor is wrong: another kind than @p kind,
 *   no name, a name other than the one asked for, or the provision of its
 *   kind missing or of an unsupported version; #SPRING_EVERSION for a
 *   plugin ABI this library does not support (another major, or a higher
 *   minor); #SPRING_ENOMEM.  spring_last_error() says which, naming the
 *   path, what was expected and what was found.
 */
SPRING_API int spring_plugin_load(const char *name, const char *const *dirs, spring_plugin_kind_t kind,
                                  spring_plugin_lib_t **out);

/**
 * @brief The descriptor of a loaded plugin.
 * @param lib the plugin (borrow).
 * @return the descriptor (valid while the plugin is loaded); NULL for NULL.
 */
SPRING_API const spring_plugin_t *spring_plugin_info(const spring_plugin_lib_t *lib);

/**
 * @brief Where a loaded plugin came from.
 * @param lib the plugin (borrow).
 * @return the path of its file, or "(built in)"; NULL for NULL.
 */
SPRING_API const char *spring_plugin_path(const spring_plugin_lib_t *lib);

/**
 * @brief Take a reference (copy).
 * @param lib the plugin; NULL is ignored.
 * @return @p lib.
 */
SPRING_API spring_plugin_lib_t *spring_plugin_ref(spring_plugin_lib_t *lib);

/**
 * @brief Drop a reference (consume); the last one unloads the plugin.
 * @param lib the plugin; NULL is ignored.
 */
SPRING_API void spring_plugin_unref(spring_plugin_lib_t *lib);

/**
 * @brief Make a VMM configuration use the HAT backend of a loaded plugin.
 *
 * Sets @p cfg's @c hat to the plugin's backend and its @c hat_hold to the
 * plugin, so that a VMM created from @p cfg keeps the plugin loaded until
 * it is destroyed (the caller may drop its own reference at once).  The
 * backend's options (@c hat_opts) are the caller's to set.
 *
 * @param lib a loaded plugin of kind #SPRING_PLUGIN_HAT (borrow; the VMM
 *        takes its own reference when it is created).
 * @param cfg the configuration (borrow: two fields are written).
 * @return 0; #SPRING_EINVAL for NULL or a plugin of another kind (nothing
 *   is written).
 */
SPRING_API int spring_plugin_hat_config(spring_plugin_lib_t *lib, spring_vmm_config_t *cfg);

/**
 * @brief What spring_plugin_list() reports of each plugin file it finds.
 */
typedef struct spring_plugin_entry_info {
    const char *name;            /**< the plugin name the file answers to */
    const char *path;            /**< the file, or "(built in)" */
    const spring_plugin_t *info; /**< its descriptor, or NULL if it did not load */
    int rc;                      /**< 0, or why it did not load (as spring_plugin_load()) */
    const char *error;           /**< the message when rc != 0 */
    bool shadowed;               /**< an earlier file on the search path has the same name: this one
                                      is never loaded by name */
} spring_plugin_entry_info_t;

/**
 * @brief A visitor for spring_plugin_list().
 * @param arg the caller's argument.
 * @param e what was found (borrow, for the call).
 * @return 0 to go on, anything else to stop (spring_plugin_list()
 *   returns it).
 */
typedef int (*spring_plugin_visit_fn)(void *arg, const spring_plugin_entry_info_t *e);

/**
 * @brief Every plugin on the search path, in search order, loaded one
 *        after the other to read its descriptor (and unloaded again).
 * @param dirs further directories, as for spring_plugin_load().
 * @param fn called for each.
 * @param arg passed to @p fn.
 * @return 0; #SPRING_EINVAL for a NULL @p fn; or what @p fn returned.
 */
SPRING_API int spring_plugin_list(const char *const *dirs, spring_plugin_visit_fn fn, void *arg);

#ifdef __cplusplus
}
#endif
#endif /* SPRING_PLUGIN_H */
