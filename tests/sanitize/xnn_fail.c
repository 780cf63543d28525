/* xnn_fail.c — an LD_PRELOAD shim that makes one XNNPACK call fail, as it fails on a machine
 * without /sys (xnn_initialize) or on parameters XNNPACK refuses (a create or setup call), so the
 * tests can check that a generated program's init names the call, its status and its node, and
 * releases what it made before the failure.
 *
 * EC_XNN_FAIL=CALL[:N] fails the N-th call (default 1) of CALL, one of the functions below;
 * every other call goes to the real XNNPACK. Statuses returned: xnn_initialize
 * xnn_status_out_of_memory (what it returns when cpuinfo cannot count the processors), a create
 * xnn_status_invalid_parameter, a setup xnn_status_unsupported_parameter. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <xnnpack.h>

/* 1 when this call of `name` is the one EC_XNN_FAIL asks to fail. Not thread-safe: init runs on
 * one thread. */
static int should_fail(const char *name, int *calls) {
  const char *want = getenv("EC_XNN_FAIL");
  size_t n = strlen(name);
  long nth = 1;
  if (!want || strncmp(want, name, n) != 0 || (want[n] != 0 && want[n] != ':')) return 0;
  if (want[n] == ':') nth = strtol(want + n + 1, NULL, 10);
  return ++*calls == nth;
}

static void *real(const char *name) { return dlsym(RTLD_NEXT, name); }

enum xnn_status xnn_initialize(const struct xnn_allocator *allocator) {
  static int calls;
  enum xnn_status (*fn)(const struct xnn_allocator *);
  if (should_fail("xnn_initialize", &calls)) return xnn_status_out_of_memory;
  *(void **)&fn = real("xnn_initialize");
  return fn(allocator);
}

enum xnn_status xnn_create_convolution2d_nhwc_f32(
    uint32_t pt, uint32_t pr, uint32_t pb, uint32_t pl, uint32_t kh, uint32_t kw, uint32_t sh,
    uint32_t sw, uint32_t dh, uint32_t dw, uint32_t groups, size_t gin, size_t gout, size_t in_stride,
    size_t out_stride, const float *kernel, const float *bias, float lo, float hi, uint32_t flags,
    xnn_operator_t *op) {
  static int calls;
  enum xnn_status (*fn)(uint32_t, uint32_t, uint32_t, uint32_t, uint32_t, uint32_t, uint32_t,
                        uint32_t, uint32_t, uint32_t, uint32_t, size_t, size_t, size_t, size_t,
                        const float *, const float *, float, float, uint32_t, xnn_operator_t *);
  if (should_fail("xnn_create_convolution2d_nhwc_f32", &calls)) return xnn_status_invalid_parameter;
  *(void **)&fn = real("xnn_create_convolution2d_nhwc_f32");
  return fn(pt, pr, pb, pl, kh, kw, sh, sw, dh, dw, groups, gin, gout, in_stride, out_stride, kernel,
            bias, lo, hi, flags, op);
}

enum xnn_status xnn_setup_convolution2d_nhwc_f32(xnn_operator_t op, size_t batch, size_t h, size_t w,
                                                 const float *x, float *y, pthreadpool_t pool) {
  static int calls;
  enum xnn_status (*fn)(xnn_operator_t, size_t, size_t, size_t, const float *, float *, pthreadpool_t);
  if (should_fail("xnn_setup_convolution2d_nhwc_f32", &calls)) return xnn_status_unsupported_parameter;
  *(void **)&fn = real("xnn_setup_convolution2d_nhwc_f32");
  return fn(op, batch, h, w, x, y, pool);
}
