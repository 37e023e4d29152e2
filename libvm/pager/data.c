/* data.c - data lists crossing the pager boundary. */
#include <stdlib.h>
#include <string.h>

#include "vmm/vm_int.h"

void spring_data_free(spring_data_t *data)
{
    /* The VMM produces a list as one allocation (cache.c gather_copy). */
    free(data);
}

spring_off_t spring_data_length(const spring_data_t *data)
{
    spring_off_t n = 0;
    if (data == NULL)
        return 0;
    for (size_t i = 0; i < data->nblocks; i++)
        n += data->blocks[i].length;
    return n;
}

bool spring__all_zero(const void *p, size_t n)
{
    const uint64_t *w = p;
    size_t i;
    /* Frames are page aligned and page sized: word-at-a-time is exact. */
    for (i = 0; i + 4 <= n / 8; i += 4)
        if ((w[i] | w[i + 1] | w[i + 2] | w[i + 3]) != 0)
            return false;
    for (; i < n / 8; i++)
        if (w[i] != 0)
            return false;
    for (size_t j = (n / 8) * 8; j < n; j++)
        if (((const uint8_t *)p)[j] != 0)
            return false;
    return true;
}
