/* ecrt.h — the runtime every generated partition links: status codes, the tables the generated
 * code describes its tensors and steps with, the step loop, weights checking and CRC32C. C99.
 *
 * A generated partition `<name>_p<k>.c` holds a table of ecrt_value (one per tensor it touches:
 * where its bytes live) and a table of ecrt_step (one per ONNX node, in schedule order). Init
 * binds the values to the caller's arena and weights (ecrt_bind); run points the graph inputs and
 * outputs at the caller's buffers and walks the steps (ecrt_run_steps). Nothing here allocates. */
#ifndef ECRT_H
#define ECRT_H

#include <stddef.h>
#include <stdint.h>

#include "eck_tensor.h"

#define ECRT_MAX_RANK ECK_MAX_RANK
/* Bytes past the end of every buffer that kernels may read (XNNPACK reads up to 16 past an
 * input). The arena plan reserves them; callers' input buffers must have them too. */
#define ECRT_SLACK 16
/* Alignment of arena offsets and of the arena and weights base addresses. */
#define ECRT_ALIGN 64

typedef enum ecrt_status {
  ECRT_OK = 0,
  ECRT_ERR_ARG = 1,     /* a caller passed something inconsistent (NULL, too small) */
  ECRT_ERR_IO = 2,      /* a file could not be read or written */
  ECRT_ERR_FORMAT = 3,  /* a .pb file is malformed */
  ECRT_ERR_WEIGHTS = 4, /* the weights are not the ones this code was compiled with */
  ECRT_ERR_SHAPE = 5,   /* a tensor has the wrong dtype or shape */
  ECRT_ERR_KERNEL = 6,  /* a kernel failed (e.g. an index out of range) */
  ECRT_ERR_NOMEM = 7,   /* an allocation at startup failed (never in the run path) */
  ECRT_ERR_LIBRARY = 8  /* a kernel library call failed at init (ecrt_ctx.failed_call names it) */
} ecrt_status;

const char *ecrt_status_str(int st);

/* Where a tensor's bytes live. */
enum { ECRT_ARENA = 0, ECRT_WEIGHTS = 1, ECRT_CALLER = 2 };

typedef struct ecrt_value {
  int32_t dtype;                 /* ECK_* */
  int32_t rank;
  int64_t dims[ECRT_MAX_RANK];
  int32_t where;                 /* ECRT_ARENA, ECRT_WEIGHTS or ECRT_CALLER */
  uint64_t offset;               /* into the arena or the weights payload */
} ecrt_value;

/* One ONNX node: its kernel call lives in fn, which returns an ECK_* status. */
typedef struct ecrt_step {
  const char *name;              /* ONNX node name (or `#index` when it has none) */
  const char *op;                /* ONNX op type */
  int (*fn)(void *ctx);
} ecrt_step;

/* The first member of every generated context struct: what the driver reads and sets. */
typedef struct ecrt_ctx {
  uint64_t *prof_ns;             /* NULL, or one accumulator per step (--profile) */
  int failed_step;               /* set when run returns ECRT_ERR_KERNEL, and when init returns
                                    ECRT_ERR_LIBRARY in a step's call (-1: before the steps) */
  int threads;                   /* requested worker threads (reference kernels use one) */
  /* When init returns ECRT_ERR_LIBRARY: the library call that failed ("xnn_initialize") and
   * the status it returned ("xnn_status_out_of_memory"), static strings, so that the message
   * says which step failed rather than a generic status. */
  const char *failed_call;
  const char *failed_status;
  /* When run returns ECRT_ERR_KERNEL from a step that knows why (a Loop past its
   * --max-trip-count): a static string saying so; the driver clears it before each run. */
  const char *failed_why;
  /* Set by a successful init: bytes of the weights it was given that runs still read (0: all).
   * The rest held weights init copied into a kernel library's own memory (oneDNN's reordered
   * weights), which the caller may release (the driver does, with ecrt_release_pages). */
  size_t weights_keep;
  /* NULL, or two cells per step that a clustered run fills (--profile-json): [2 * s] when step s
   * started, in ns after the run began, and [2 * s + 1] the cluster whose thread ran it. Cells of
   * steps the run did not reach on a cluster's thread are left as they were (a run in order on
   * one thread fills none). The per-cluster timelines of docs/generated-code.md come from it. */
  uint64_t *prof_timeline;
} ecrt_ctx;

/* For <prog>_init_release: bytes [from, to) of the weights the caller gave init were copied into
 * a kernel library's own memory and are not read again; their whole pages go back to the system
 * (ecrt_release_pages). */
void ecrt_weights_release(const void *weights, size_t from, size_t to);

/* Fills views[i] from values[i], pointing arena and weights values at their bytes; caller
 * values get data == NULL until run sets them. */
void ecrt_bind(const ecrt_value *values, int n, eck_tensor *views, unsigned char *arena,
               const unsigned char *weights);

/* Runs steps in order. prof_ns (may be NULL) accumulates nanoseconds per step. On a kernel
 * failure returns ECRT_ERR_KERNEL and sets *failed (when not NULL) to the step index. */
/* What a kernel's status code (ECK_ERR_*) means, as a static string; NULL for other codes. */
const char *ecrt_kernel_why(int rc);
/* Records why a step failed in ctx's failed_why, unless a deeper step (a subgraph's) already did.
 * ctx is a generated context (its first member an ecrt_ctx). */
void ecrt_note_kernel_failure(void *ctx, int rc);

ecrt_status ecrt_run_steps(const ecrt_step *steps, int n, void *ctx, uint64_t *prof_ns,
                           int *failed);

/* The same for a program of several models (edgecc a.onnx b.onnx): step i runs only when
 * step_models[i] shares a bit with models (bit k: the program's k-th model), so a request for
 * some of the models skips the steps only the others need. step_models NULL: every step runs. */
ecrt_status ecrt_run_steps_for(const ecrt_step *steps, const uint32_t *step_models, uint32_t models,
                               int n, void *ctx, uint64_t *prof_ns, int *failed);

/* Byte size of one element of an ECK_* dtype; 0 for strings and unknown types. */
size_t ecrt_dtype_size(int32_t dtype);
const char *ecrt_dtype_name(int32_t dtype);

/* The view of an omitted optional input or output: dtype 0, no data. */
extern const eck_tensor ecrt_no_tensor;

/* Copies n bytes (generated code uses it where an output is a constant or an input). */
void ecrt_copy(void *dst, const void *src, size_t n);

/* Scan's slices: `full` is laid out as [outer][len][inner bytes]; copies slice idx of it into the
 * packed `slice` (outer * inner bytes), or back into full when to_full. */
void ecrt_slice_copy(void *full, void *slice, size_t outer, size_t len, size_t inner, int64_t idx,
                     int to_full);

/* ---- weights files ----------------------------------------------------------------------------
 * Layout (little-endian): "ECW1", u32 version (1), u64 payload bytes, u32 CRC32C of the payload,
 * u32 header bytes (64), the model's SHA-256 (32 bytes), 8 zero bytes, then the payload, in which
 * every constant starts at a multiple of 64. */
#define ECRT_WEIGHTS_HEADER 64
/* Checks a weights file (or embedded array) against what the code was compiled with: magic,
 * version, model hash, payload size and CRC. On success *payload points at the payload. */
ecrt_status ecrt_weights_check(const void *file, size_t len, const uint8_t model_sha256[32],
                               uint64_t payload_bytes, uint32_t payload_crc,
                               const unsigned char **payload);

#endif
