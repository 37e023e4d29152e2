/* error.c - error messages and names, the thread's last-error message,
 * and small shared helpers. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "vmm/vm_int.h"

/* The enumeration and the list must agree. */
#define SPRING__ERR_CHECK(name, value, msg) _Static_assert(SPRING_##name == (value), "SPRING_" #name);
SPRING_ERRNO_MAP(SPRING__ERR_CHECK)
#undef SPRING__ERR_CHECK

const char *spring_strerror(int err)
{
    if (err == 0)
        return "success";
    switch (err) {
#define SPRING__ERR_MSG(name, value, msg) \
    case SPRING_##name: return msg;
        SPRING_ERRNO_MAP(SPRING__ERR_MSG)
#undef SPRING__ERR_MSG
    }
    return "unknown error";
}

const char *spring_err_name(int err)
{
    if (err == 0)
        return "SPRING_OK";
    switch (err) {
#define SPRING__ERR_NAME(name, value, msg) \
    case SPRING_##name: return "SPRING_" #name;
        SPRING_ERRNO_MAP(SPRING__ERR_NAME)
#undef SPRING__ERR_NAME
    }
    return "SPRING_EUNKNOWN";
}

bool spring_rights_valid(spring_rights_t r)
{
    return r == SPRING_RIGHTS_RO || r == SPRING_RIGHTS_RX || r == SPRING_RIGHTS_RW || r == SPRING_RIGHTS_RWX;
}

bool spring_rights_subset(spring_rights_t a, spring_rights_t b)
{
    return ((unsigned)a & ~(unsigned)b) == 0;
}

/* ------------------------------------------------------------------ */
/* The thread's last-error message.                                     */

static _Thread_local char last_error[1024];

void spring__set_error(int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < sizeof last_error && rc != 0)
        snprintf(last_error + n, sizeof last_error - (size_t)n, " (%s)", spring_err_name(rc));
}

const char *spring_last_error(void)
{
    return last_error;
}

void spring_set_last_error(const char *fmt, ...)
{
    if (fmt == NULL) {
        last_error[0] = '\0';
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------------------------ */
/* Structures that grow (common.h).                                     */

int spring__struct_in(void *dst, size_t known, size_t first, const void *src)
{
    size_t size;
    memcpy(&size, src, sizeof size);
    if (size < first || size > SPRING_STRUCT_SIZE_MAX)
        return SPRING_EINVAL;
    if (size > known && !spring__all_zero((const unsigned char *)src + known, size - known))
        return SPRING_EINVAL;
    memcpy((unsigned char *)dst + sizeof size, (const unsigned char *)src + sizeof size,
           (size < known ? size : known) - sizeof size);
    memcpy(dst, &known, sizeof known);
    return 0;
}

int spring__struct_out_check(const void *dst, size_t first)
{
    size_t size;
    memcpy(&size, dst, sizeof size);
    return size < first || size > SPRING_STRUCT_SIZE_MAX ? SPRING_EINVAL : 0;
}

void spring__struct_out(void *dst, const void *src, size_t known)
{
    size_t size;
    memcpy(&size, dst, sizeof size);
    memcpy((unsigned char *)dst + sizeof size, (const unsigned char *)src + sizeof size,
           (size < known ? size : known) - sizeof size);
    if (size > known)
        memset((unsigned char *)dst + known, 0, size - known);
}
