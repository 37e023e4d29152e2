/*
 * registry.c - the name server through which pagers obtain vmm objects
 * (paper §7.2 step 6).  The embedder controls it: which VMMs are known by
 * which name, and which credentials grant which privilege (§5.1, fn. 4).
 *
 * Locks: reg->lock, taken with no other lock held.
 */
#include <stdlib.h>
#include <string.h>

#include "vmm/vm_int.h"

struct reg_vmm {
    spring_vmm_t *vmm;
    struct reg_vmm *next;
};

struct reg_cred {
    char *credential;
    spring_privilege_t priv;
    struct reg_cred *next;
};

struct spring_registry {
    vm_mutex_t lock;
    struct reg_vmm *vmms;   /* [reg->lock] */
    struct reg_cred *creds; /* [reg->lock] */
};

int spring_registry_new(spring_registry_t **out)
{
    if (out == NULL)
        return SPRING_EINVAL;
    spring_registry_t *r = calloc(1, sizeof *r);
    if (r == NULL)
        return SPRING_ENOMEM;
    vm_mutex_init(&r->lock, VM_RANK_REGISTRY);
    *out = r;
    return 0;
}

void spring_registry_destroy(spring_registry_t *reg)
{
    if (reg == NULL)
        return;
    while (reg->vmms) {
        struct reg_vmm *v = reg->vmms;
        reg->vmms = v->next;
        free(v);
    }
    while (reg->creds) {
        struct reg_cred *c = reg->creds;
        reg->creds = c->next;
        free(c->credential);
        free(c);
    }
    vm_mutex_destroy(&reg->lock);
    free(reg);
}

int spring_registry_add_vmm(spring_registry_t *reg, spring_vmm_t *vmm)
{
    if (reg == NULL || vmm == NULL)
        return SPRING_EINVAL;
    struct reg_vmm *n = malloc(sizeof *n);
    if (n == NULL)
        return SPRING_ENOMEM;
    vm_lock(&reg->lock);
    for (struct reg_vmm *v = reg->vmms; v; v = v->next)
        if (strcmp(v->vmm->name, vmm->name) == 0) {
            vm_unlock(&reg->lock);
            free(n);
            return SPRING_EEXIST;
        }
    n->vmm = vmm;
    n->next = reg->vmms;
    reg->vmms = n;
    vm_unlock(&reg->lock);
    return 0;
}

int spring_registry_remove_vmm(spring_registry_t *reg, spring_vmm_t *vmm)
{
    if (reg == NULL || vmm == NULL)
        return SPRING_EINVAL;
    vm_lock(&reg->lock);
    for (struct reg_vmm **pp = &reg->vmms; *pp; pp = &(*pp)->next)
        if ((*pp)->vmm == vmm) {
            struct reg_vmm *v = *pp;
            *pp = v->next;
            vm_unlock(&reg->lock);
            free(v);
            return 0;
        }
    vm_unlock(&reg->lock);
    return SPRING_ENOENT;
}

int spring_registry_grant(spring_registry_t *reg, const char *credential, spring_privilege_t priv)
{
    if (reg == NULL || credential == NULL || credential[0] == '\0' ||
        (priv != SPRING_PRIV_USER && priv != SPRING_PRIV_SYSTEM))
        return SPRING_EINVAL;
    vm_lock(&reg->lock);
    for (struct reg_cred *c = reg->creds; c; c = c->next)
        if (strcmp(c->credential, credential) == 0) {
            c->priv = priv;
            vm_unlock(&reg->lock);
            return 0;
        }
    struct reg_cred *n = malloc(sizeof *n);
    char *dup = strdup(credential);
    if (n == NULL || dup == NULL) {
        vm_unlock(&reg->lock);
        free(n);
        free(dup);
        return SPRING_ENOMEM;
    }
    n->credential = dup;
    n->priv = priv;
    n->next = reg->creds;
    reg->creds = n;
    vm_unlock(&reg->lock);
    return 0;
}

int spring_registry_lookup(spring_registry_t *reg, const char *name, const char *credential, spring_vmm_obj_t *out)
{
    if (reg == NULL || name == NULL || out == NULL)
        return SPRING_EINVAL;
    spring_privilege_t priv = SPRING_PRIV_USER;
    vm_lock(&reg->lock);
    if (credential != NULL) {
        struct reg_cred *c;
        for (c = reg->creds; c; c = c->next)
            if (strcmp(c->credential, credential) == 0)
                break;
        if (c == NULL) {
            vm_unlock(&reg->lock);
            return SPRING_EPERM;
        }
        priv = c->priv;
    }
    for (struct reg_vmm *v = reg->vmms; v; v = v->next)
        if (strcmp(v->vmm->name, name) == 0) {
            int rc = spring_vmm_get_object(v->vmm, priv, out);
            vm_unlock(&reg->lock);
            return rc;
        }
    vm_unlock(&reg->lock);
    return SPRING_ENOENT;
}
