/* ecrt.c — the runtime's core: binding value tables to the arena and weights, the step loop,
 * dtype sizes, CRC32C and the weights-file check. */
#include <string.h>

#include "ecrt.h"
#include "ecrt_crc32c.h"
#include "ecrt_platform.h"

const char *ecrt_status_str(int st) {
  switch (st) {
    case ECRT_OK: return "ok";
    case ECRT_ERR_ARG: return "invalid argument";
    case ECRT_ERR_IO: return "I/O error";
    case ECRT_ERR_FORMAT: return "malformed TensorProto file";
    case ECRT_ERR_WEIGHTS: return "bad weights";
    case ECRT_ERR_SHAPE: return "wrong dtype or shape";
    case ECRT_ERR_KERNEL: return "a kernel failed";
    case ECRT_ERR_NOMEM: return "out of memory";
    case ECRT_ERR_LIBRARY: return "a kernel library call failed";
    default: return "unknown error";
  }
}

void ecrt_weights_release(const void *weights, size_t from, size_t to) {
  /* The caller gave init these pages (heap or a private mapping): writable, though init reads
   * them as constants. */
  if (to > from) ecrt_release_pages((unsigned char *)(uintptr_t)weights + from, to - from);
}

void ecrt_bind(const ecrt_value *values, int n, eck_tensor *views, unsigned char *arena,
               const unsigned char *weights) {
  int i, k;
  for (i = 0; i < n; i++) {
    eck_tensor *v = &views[i];
    memset(v, 0, sizeof *v);
    v->dtype = values[i].dtype;
    v->rank = values[i].rank;
    for (k = 0; k < values[i].rank; k++) v->dims[k] = values[i].dims[k];
    if (values[i].where == ECRT_ARENA)
      v->data = arena + values[i].offset;
    else if (values[i].where == ECRT_WEIGHTS)
      v->data = (void *)(weights + values[i].offset);
  }
}

const char *ecrt_kernel_why(int rc) {
  switch (rc) {
  case ECK_ERR_INDEX: return "an index read from a tensor is out of range";
  case ECK_ERR_DTYPE: return "the kernel has no implementation for this data type";
  case ECK_ERR_ARG: return "inconsistent arguments (shapes that do not fit)";
  case ECK_ERR_UNSUPPORTED: return "an input value this kernel does not support (e.g. Dropout in training mode)";
  case ECK_ERR_BOUND: return "a data-dependent extent is larger than its bound";
  default: return NULL;
  }
}

void ecrt_note_kernel_failure(void *ctx, int rc) {
  ecrt_ctx *c = ctx;
  const char *none = NULL;
  /* Clusters may fail side by side: the first reason stays. */
  if (c) __atomic_compare_exchange_n(&c->failed_why, &none, ecrt_kernel_why(rc), 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}

ecrt_status ecrt_run_steps(const ecrt_step *steps, int n, void *ctx, uint64_t *prof_ns,
                           int *failed) {
  return ecrt_run_steps_for(steps, NULL, 0, n, ctx, prof_ns, failed);
}

ecrt_status ecrt_run_steps_for(const ecrt_step *steps, const uint32_t *step_models, uint32_t models,
                               int n, void *ctx, uint64_t *prof_ns, int *failed) {
  int i;
  for (i = 0; i < n; i++) {
    uint64_t t0;
    if (step_models && !(step_models[i] & models)) continue;
    t0 = prof_ns ? ecrt_now_ns() : 0;
    int rc = steps[i].fn(ctx);
    if (prof_ns) prof_ns[i] += ecrt_now_ns() - t0;
    if (rc != ECK_OK) {
      if (failed) *failed = i;
      ecrt_note_kernel_failure(ctx, rc);
      return ECRT_ERR_KERNEL;
    }
  }
  return ECRT_OK;
}

size_t ecrt_dtype_size(int32_t dtype) { return eck_dtype_size(dtype); }

const char *ecrt_dtype_name(int32_t dtype) { return dtype == ECK_UNDEFINED ? "?" : eck_dtype_name(dtype); }

const eck_tensor ecrt_no_tensor;

void ecrt_copy(void *dst, const void *src, size_t n) {
  if (n && dst != src) memmove(dst, src, n);
}

void ecrt_slice_copy(void *full, void *slice, size_t outer, size_t len, size_t inner, int64_t idx,
                     int to_full) {
  size_t o;
  unsigned char *f = full, *s = slice;
  for (o = 0; o < outer; o++) {
    unsigned char *fp = f + (o * len + (size_t)idx) * inner, *sp = s + o * inner;
    if (to_full) ecrt_copy(fp, sp, inner);
    else ecrt_copy(sp, fp, inner);
  }
}

static uint32_t rd32(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const unsigned char *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }

ecrt_status ecrt_weights_check(const void *file, size_t len, const uint8_t model_sha256[32],
                               uint64_t payload_bytes, uint32_t payload_crc,
                               const unsigned char **payload) {
  const unsigned char *p = file;
  if (!p || len < ECRT_WEIGHTS_HEADER || memcmp(p, "ECW1", 4) != 0) return ECRT_ERR_WEIGHTS;
  if (rd32(p + 4) != 1 || rd32(p + 20) != ECRT_WEIGHTS_HEADER) return ECRT_ERR_WEIGHTS;
  if (memcmp(p + 24, model_sha256, 32) != 0) return ECRT_ERR_WEIGHTS;
  if (rd64(p + 8) != payload_bytes || len - ECRT_WEIGHTS_HEADER != payload_bytes)
    return ECRT_ERR_WEIGHTS;
  if (rd32(p + 16) != payload_crc) return ECRT_ERR_WEIGHTS;
  if (ecrt_crc32c(0, p + ECRT_WEIGHTS_HEADER, (size_t)payload_bytes) != payload_crc)
    return ECRT_ERR_WEIGHTS;
  *payload = p + ECRT_WEIGHTS_HEADER;
  return ECRT_OK;
}
