/* 64-bit counters in a file mapped shared by every process that opens it (AccessSQLite's authority version):
 * loads and increments are atomic machine operations on the mapped page, so reading it costs a memory load. */
#ifndef C_SHARED_COUNTER_H
#define C_SHARED_COUNTER_H

#include <stdint.h>

/* Maps the counter kept in `path` (created with mode 0600 and zero value if missing; an existing file must be
 * one of ours: at least 8 bytes). NULL `path` maps anonymous memory private to this process. Returns NULL and
 * sets errno on failure. */
volatile uint64_t *akto_shared_counter_open(const char *path);

/* The page holds this many counters (index 0 ..< AKTO_SHARED_COUNTERS). */
#define AKTO_SHARED_COUNTERS 8

/* Counter `index`'s value (sequentially consistent load). */
uint64_t akto_shared_counter_load(volatile uint64_t *counters, int index);

/* Adds one to counter `index` and returns the new value (sequentially consistent). */
uint64_t akto_shared_counter_increment(volatile uint64_t *counters, int index);

/* Unmaps a counter akto_shared_counter_open returned. */
void akto_shared_counter_close(volatile uint64_t *counter);

#endif
