/* ecrt_platform.h — everything a board must provide to run generated code, in one place.
 * ecrt_platform_posix.c implements it for Linux and other POSIX systems; a bare-metal port
 * replaces that one file. Only ecrt_now_ns is used by the run path (and only with --profile). */
#ifndef ECRT_PLATFORM_H
#define ECRT_PLATFORM_H

#include <stddef.h>
#include <stdint.h>

#include "ecrt.h"

/* A monotonic clock in nanoseconds (any origin). */
uint64_t ecrt_now_ns(void);

/* Aligned allocation for startup buffers (arena, weights, input/output files); never called
 * by a run function. align is a power of two. Returns NULL on failure. */
void *ecrt_alloc(size_t bytes, size_t align);
void ecrt_free(void *p);

/* Gives the memory pages that lie wholly inside [p, p + len) back to the system: their contents
 * are lost (reads see zeros or stale data). For startup buffers whose tail is no longer read. A
 * board without virtual memory does nothing. */
void ecrt_release_pages(void *p, size_t len);

/* Reads a whole file into an ecrt_alloc'd buffer (ECRT_ALIGN-aligned, with ECRT_SLACK zeroed
 * bytes past the end). ECRT_ERR_IO when it cannot be opened or read. */
ecrt_status ecrt_read_file(const char *path, unsigned char **buf, size_t *len);
/* Writes len bytes to path, replacing it. */
ecrt_status ecrt_write_file(const char *path, const void *buf, size_t len);

#endif
