/* malloc_count.c — LD_PRELOAD library for the tests: counts calls to the allocator and prints
 * the count at exit, so a test can show that more runs of a program allocate no more. */
#include <stddef.h>
#include <stdio.h>
#include <unistd.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

static unsigned long count;

void *malloc(size_t n) { count++; return __libc_malloc(n); }
void *calloc(size_t a, size_t b) { count++; return __libc_calloc(a, b); }
void *realloc(void *p, size_t n) { count++; return __libc_realloc(p, n); }
void *memalign(size_t a, size_t n) { count++; return __libc_memalign(a, n); }
void *aligned_alloc(size_t a, size_t n) { count++; return __libc_memalign(a, n); }
int posix_memalign(void **out, size_t a, size_t n) {
  count++;
  *out = __libc_memalign(a, n);
  return *out ? 0 : 12;
}

__attribute__((destructor)) static void report(void) {
  char buf[64];
  int len = snprintf(buf, sizeof buf, "malloc_count: %lu\n", count);
  if (write(2, buf, (size_t)len) < 0) return;
}
