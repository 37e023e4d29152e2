/*
 * plugincall.h - the one dispatch point in front of a plugin descriptor's
 * slots (include/spring/plugin.h: a pager plugin's or a swap plugin's
 * provision).  The host layer (stack.c) calls a plugin's instance
 * functions only through these, as the core calls pagers only through
 * pager/pagercall.h; the loader (plugin.c) has checked each provision's
 * version and required slots when it loaded the plugin, and these check an
 * optional slot for NULL.  A program that embeds the library may call a
 * descriptor as any host program would; this is the library's own way.
 *
 * Hidden symbols of libspringvm, defined in plugin.c.  => no lock held.
 */
#ifndef SPRING_PLUGINCALL_H
#define SPRING_PLUGINCALL_H

#include <spring/spring.h>

/* A pager plugin's instance: made, its memory objects made, told the VMM
 * is going (optional slot), destroyed. */
__attribute__((visibility("hidden"))) int spring__plugin_pager_new(const spring_plugin_t *d,
                                                                    const spring_plugin_env_t *env,
                                                                    const spring_options_t *opts, void **inst);
__attribute__((visibility("hidden"))) int spring__plugin_pager_mobj(const spring_plugin_t *d, void *inst,
                                                                     const spring_options_t *opts,
                                                                     spring_mobj_t **out);
__attribute__((visibility("hidden"))) void spring__plugin_pager_stop(const spring_plugin_t *d, void *inst);
__attribute__((visibility("hidden"))) void spring__plugin_pager_destroy(const spring_plugin_t *d, void *inst);

/* A swap plugin's instance: made; the swap pager's ops it serves; the
 * stack's own reference released (the swap pager's optional release). */
__attribute__((visibility("hidden"))) int spring__plugin_swap_new(const spring_plugin_t *d,
                                                                   const spring_plugin_env_t *env,
                                                                   const spring_options_t *opts, void **inst);
__attribute__((visibility("hidden"))) const spring_swap_pager_ops_t *spring__plugin_swap_ops(const spring_plugin_t *d);
__attribute__((visibility("hidden"))) void spring__plugin_swap_release(const spring_plugin_t *d, void *inst);

#endif
