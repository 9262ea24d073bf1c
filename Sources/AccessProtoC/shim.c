/* Hand-written helpers declared in include/akto_shim.h. */
#include "akto_shim.h"

#include <stdlib.h>
#include <string.h>

#define AKTO_HEADER 16

const char *akto_empty_string(void) { return protobuf_c_empty_string; }

static void *akto_budget_alloc(void *data, size_t size) {
    akto_budget *budget = data;
    if (size > budget->remaining || budget->remaining - size < AKTO_HEADER) {
        budget->exhausted = 1;
        return NULL;
    }
    unsigned char *block = malloc(size + AKTO_HEADER);
    if (block == NULL) {
        budget->exhausted = 1;
        return NULL;
    }
    budget->remaining -= size + AKTO_HEADER;
    budget->used += size + AKTO_HEADER;
    memcpy(block, &size, sizeof size);
    return block + AKTO_HEADER;
}

static void akto_budget_free(void *data, void *pointer) {
    (void)data;
    if (pointer != NULL) free((unsigned char *)pointer - AKTO_HEADER);
}

void akto_budget_init(akto_budget *budget, size_t limit) {
    budget->allocator.alloc = akto_budget_alloc;
    budget->allocator.free = akto_budget_free;
    budget->allocator.allocator_data = budget;
    budget->remaining = limit;
    budget->used = 0;
    budget->exhausted = 0;
}

int akto_string_is_exact(const char *s) {
    if (s == NULL) return 0;
    if (s == protobuf_c_empty_string) return 1;
    size_t allocated;
    memcpy(&allocated, s - AKTO_HEADER, sizeof allocated);
    if (allocated == 0) return 0;
    return strnlen(s, allocated) == allocated - 1;
}
