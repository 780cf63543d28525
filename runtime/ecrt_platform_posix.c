/* ecrt_platform_posix.c — the platform hooks of ecrt_platform.h for POSIX systems: clock_gettime
 * for the timer, posix_memalign for startup buffers, stdio for files. */
#define _POSIX_C_SOURCE 200112L
#define _DEFAULT_SOURCE /* madvise */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "ecrt_platform.h"

uint64_t ecrt_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void *ecrt_alloc(size_t bytes, size_t align) {
  void *p = NULL;
  if (align < sizeof(void *)) align = sizeof(void *);
  if (posix_memalign(&p, align, bytes ? bytes : 1) != 0) return NULL;
  return p;
}

void ecrt_free(void *p) { free(p); }

void ecrt_release_pages(void *p, size_t len) {
#if defined(__linux__) && defined(MADV_DONTNEED)
  /* Linux frees the pages of a private mapping at once (POSIX's posix_madvise may ignore it). */
  long page = sysconf(_SC_PAGESIZE);
  uintptr_t a, b;
  if (page <= 0 || !p) return;
  a = ((uintptr_t)p + (uintptr_t)page - 1) / (uintptr_t)page * (uintptr_t)page;
  b = ((uintptr_t)p + len) / (uintptr_t)page * (uintptr_t)page;
  if (b > a) madvise((void *)a, b - a, MADV_DONTNEED);
#else
  (void)p;
  (void)len;
#endif
}

ecrt_status ecrt_read_file(const char *path, unsigned char **buf, size_t *len) {
  FILE *f = fopen(path, "rb");
  long size;
  unsigned char *b;
  *buf = NULL;
  *len = 0;
  if (!f) return ECRT_ERR_IO;
  if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
    fclose(f);
    return ECRT_ERR_IO;
  }
  b = ecrt_alloc((size_t)size + ECRT_SLACK, ECRT_ALIGN);
  if (!b) {
    fclose(f);
    return ECRT_ERR_NOMEM;
  }
  if (size && fread(b, 1, (size_t)size, f) != (size_t)size) {
    fclose(f);
    ecrt_free(b);
    return ECRT_ERR_IO;
  }
  fclose(f);
  memset(b + size, 0, ECRT_SLACK);
  *buf = b;
  *len = (size_t)size;
  return ECRT_OK;
}

ecrt_status ecrt_write_file(const char *path, const void *buf, size_t len) {
  FILE *f = fopen(path, "wb");
  if (!f) return ECRT_ERR_IO;
  if (len && fwrite(buf, 1, len, f) != len) {
    fclose(f);
    return ECRT_ERR_IO;
  }
  return fclose(f) == 0 ? ECRT_OK : ECRT_ERR_IO;
}
