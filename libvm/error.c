/* error.c - error messages and names, and small shared helpers. */
#include "vm_int.h"

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
