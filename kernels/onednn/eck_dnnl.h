/* eck_dnnl.h — fast kernels of generated code for x86-64 targets: oneDNN 2.6 primitives (C API,
 * Debian's libdnnl-dev) behind one parameter struct, in the shape of kernels/xnnpack/eck_xnn.h:
 * create at init (weights reordered once), setup once the arena addresses are known, run per call.
 * C99.
 *
 * How generated code uses it: the partition context holds one eck_dnnl_ctx (engine and stream,
 * made by eck_dnnl_start) and one eck_dnnl_node per oneDNN step. Init calls eck_dnnl_create with
 * the step's eck_dnnl_params and its weight addresses, then eck_dnnl_setup with the arena
 * addresses; each step calls eck_dnnl_run, which only executes the primitive unless a caller
 * buffer (a graph input or output) moved since the last setup. Activations are NHWC, shapes
 * physical ([N, H, W, C]), float32. This header does not include dnnl.h, so the compiler can fill
 * the params struct too.
 *
 * Memory ownership. eck_dnnl_create reads the weights (and bias) once: it reorders them into the
 * layout the primitive picked (dnnl_format_tag_any: blocked, e.g. OIhw16i16o, or whatever the
 * JIT kernel for this CPU wants) in memory oneDNN allocates and the node owns; the caller's copy
 * is not read again and may be released right after create (one copy of the weights in memory).
 * Each node also owns its scratchpad (user scratchpad mode, allocated at create), so a run never
 * allocates. Activations stay the caller's (arena) memory. eck_dnnl_delete frees what the node
 * owns; eck_dnnl_stop the engine and stream, after every node of the context is deleted.
 *
 * Threads. Debian's libdnnl (2.6.3) is built with DNNL_CPU_RUNTIME=OMP and links libgomp. A
 * primitive runs on omp_get_max_threads() threads of the calling thread's OpenMP team:
 * omp_set_num_threads(n) in that thread controls it (eck_dnnl_start calls it; with 1 no worker is
 * ever started, checked in tests/onednn). The count is an ICV of the calling thread, so a
 * cluster thread that runs oneDNN steps must call eck_dnnl_threads itself, before it creates
 * them: a primitive keeps the count it saw at creation (measured: created at 1 and run after
 * omp_set_num_threads(2), it runs on one thread; created at 2 and run after setting 1, on two).
 * libgomp's workers spin after a parallel region (GOMP_SPINCOUNT, 300000 iterations by default)
 * before they sleep. libgomp reads OMP_WAIT_POLICY and GOMP_SPINCOUNT once, in a constructor that
 * runs when the library is loaded — before main — so setting them with setenv() in main changes
 * nothing (measured below). They must be in the environment when the program
 * starts: eck_dnnl_short_spin re-executes the program once with GOMP_SPINCOUNT=ECK_DNNL_SPINCOUNT
 * added when neither it nor OMP_WAIT_POLICY is set (eck_dnnl_passive_wait: OMP_WAIT_POLICY=passive,
 * for programs whose clusters run oneDNN on threads of their own: measured, googlenet's 2-cluster
 * program took 15.1 ms per run passive and 21.8 ms with the short spin); a driver calls one of
 * them first thing in main.
 * Measured after 2-thread runs of a 56x56x64 3x3 convolution, CPU burnt in the next 200 ms: 3-8 ms
 * by default and with setenv in main alike, 0.0-0.3 ms with OMP_WAIT_POLICY=passive in the
 * environment or GOMP_SPINCOUNT=0 (bench/onednn/omp_wait.c). But a spin count of 0 makes every
 * primitive of a run wake its workers through the kernel: mobilenet_v2 at --threads 2 took 5.5 ms
 * per run with the passive policy and 2.2 ms with 30000 spins (1 thread: 4.0 ms), so workers spin
 * briefly between a run's primitives and sleep soon after the run ends. */
#ifndef ECK_DNNL_H
#define ECK_DNNL_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "eck_tensor.h"

/* The bound of an open clamp (no fused activation). */
#define ECK_DNNL_INF INFINITY

typedef enum eck_dnnl_kind {
  ECK_DNNL_CONV = 1, /* NHWC convolution: grouped, depthwise, dilated, asymmetric pads */
  ECK_DNNL_FC,       /* inner product: [batch, in] x W (+ bias) -> [batch, out] */
  ECK_DNNL_MAXPOOL,  /* NHWC 2-D max pooling */
  ECK_DNNL_AVGPOOL,  /* NHWC 2-D average pooling (padding excluded unless ECK_DNNL_AVG_INCLUDE_PAD) */
  ECK_DNNL_ADD,      /* binary ops over physical shapes; the second operand may broadcast */
  ECK_DNNL_MUL,
  ECK_DNNL_QCONV,    /* int8 NHWC convolution (QLinearConv): u8 or s8 data (q_unsigned), s8 weights
                        of one scale (w_scale) or one per output channel (w_scales), zero point 0,
                        s32 bias; the input's and output's zero points; geometry as CONV */
  ECK_DNNL_QFC       /* int8 matrix product (QLinearMatMul by a constant; oneDNN's matmul): [batch, in] x W
                        -> [batch, out], data and weights as QCONV, no bias */
} eck_dnnl_kind;

/* Flags (eck_dnnl_params.flags). */
/* Conv: a fused residual sum (oneDNN's sum post-op): y = clamp(conv(x) + r), the residual r
 * given as the second buffer (b) of setup and run. oneDNN adds into its destination, so r must be
 * in y's bytes when the primitive runs: the memory plan puts y on r's bytes where r dies at this
 * step (then b == y and nothing is copied); otherwise run copies r into y first. */
#define ECK_DNNL_SUM 0x1u
/* With ECK_DNNL_SUM: the clamp applies to the convolution before the sum, y = clamp(conv(x)) + y
 * (a Relu between the Conv and the Add). */
#define ECK_DNNL_CLAMP_FIRST 0x2u
/* FC: weights are [in, out] (Gemm transB = 0, a MatMul's constant operand), not [out, in]. */
#define ECK_DNNL_W_IN_OUT 0x4u
/* AVGPOOL: padding counted in the divisor (ONNX count_include_pad = 1). */
#define ECK_DNNL_AVG_INCLUDE_PAD 0x8u
/* Conv: weights are [groups * channels_out, kh, kw, channels_in] (OHWI: what edgecc's lowering
 * re-orders every convolution's weights to, for XNNPACK), not ONNX's OIHW. */
#define ECK_DNNL_W_OHWI 0x10u

#define ECK_DNNL_MAX_DIMS 6

/* Everything a primitive needs, resolved by the compiler. Unused fields stay 0. The fields mean
 * what eck_xnn_params' fields of the same name mean, so lowering fills both alike. */
typedef struct eck_dnnl_params {
  int32_t kind;                   /* eck_dnnl_kind */
  uint32_t flags;                 /* ECK_DNNL_* */
  uint32_t pad[4];                /* top, right, bottom, left (XNNPACK's order) */
  uint32_t kernel[2], stride[2], dilation[2]; /* H, W; dilation as ONNX writes it (1: none) */
  uint32_t groups;                /* conv: 1, or the group count (depthwise: channels) */
  size_t channels_in, channels_out; /* conv: per group; fc: in, out; pooling: channels */
  size_t in_stride, out_stride;   /* elements between pixels/rows (>= channels; 0: dense). oneDNN
                                     2.6 runs a convolution or pooling whose input or output is a
                                     channel slice on its reference kernel, ref:any (measured for
                                     1x1 and 3x3 at 28x28 and 14x14, strides or a submemory alike):
                                     those two kinds therefore run on dense tensors in a stage
                                     buffer (eck_dnnl_stage) and copy the slices in and out */
  size_t batch, height, width;    /* input N, H, W (fc: rows in batch) */
  size_t out_height, out_width;   /* pooling: output H, W (0: from the pads, rounding down; a
                                     ceil_mode output is one larger) */
  float out_min, out_max;         /* fused clamp (-inf, +inf when none): conv, fc, pooling, binary */
  int32_t rank_a, rank_b;         /* binary ops: physical shapes, numpy broadcasting */
  size_t shape_a[ECK_DNNL_MAX_DIMS], shape_b[ECK_DNNL_MAX_DIMS];
  /* QCONV, QFC (as eck_xnn_params' int8 fields): y = clamp(round(acc * in_scale * w / out_scale)
   * + out_zp) of the exact int32 sum acc of (x - in_zp) * weight (+ bias), with the multiplier
   * computed in float as (in_scale * w) / out_scale, rounding half to even: what the reference
   * kernel eck_ref_qlinear_conv computes, up to the order of the float additions (see
   * docs/fast-kernels.md: at most 1 LSB). */
  int32_t q_unsigned;             /* 1: uint8 data (input and output), 0: int8; weights are int8 */
  float in_scale, w_scale, out_scale;
  int32_t in_zp, out_zp;          /* the weights' zero point is 0 */
  const float *w_scales;          /* QCONV: groups * channels_out weight scales, or NULL: w_scale */
} eck_dnnl_params;

/* Output size of a window op along one axis, rounding down (0: the window is larger than the
 * padded input). */
static inline size_t eck_dnnl_out_size(size_t in, uint32_t pad_lo, uint32_t pad_hi, uint32_t k, uint32_t s,
                                       uint32_t d) {
  size_t span = (size_t)(k - 1) * (d ? d : 1) + 1, full = in + pad_lo + pad_hi;
  return full < span ? 0 : (full - span) / (s ? s : 1) + 1;
}

/* Channels of a convolution's or pooling's input and output (all groups). */
static inline int eck_dnnl_is_conv(const eck_dnnl_params *p) {
  return p->kind == ECK_DNNL_CONV || p->kind == ECK_DNNL_QCONV;
}
static inline size_t eck_dnnl_ch_in(const eck_dnnl_params *p) {
  return eck_dnnl_is_conv(p) ? p->channels_in * (p->groups ? p->groups : 1) : p->channels_in;
}
static inline size_t eck_dnnl_ch_out(const eck_dnnl_params *p) {
  return eck_dnnl_is_conv(p) ? p->channels_out * (p->groups ? p->groups : 1) : p->channels_in;
}
/* Output H, W of a convolution or pooling. */
static inline size_t eck_dnnl_oh(const eck_dnnl_params *p) {
  return !eck_dnnl_is_conv(p) && p->out_height
             ? p->out_height
             : eck_dnnl_out_size(p->height, p->pad[0], p->pad[2], p->kernel[0], p->stride[0], p->dilation[0]);
}
static inline size_t eck_dnnl_ow(const eck_dnnl_params *p) {
  return !eck_dnnl_is_conv(p) && p->out_width
             ? p->out_width
             : eck_dnnl_out_size(p->width, p->pad[3], p->pad[1], p->kernel[1], p->stride[1], p->dilation[1]);
}
/* Whether a convolution or pooling reads (writes) a channel slice, and runs on a dense copy. */
static inline int eck_dnnl_staged_in(const eck_dnnl_params *p) {
  return (p->kind == ECK_DNNL_CONV || p->kind == ECK_DNNL_MAXPOOL || p->kind == ECK_DNNL_AVGPOOL) &&
         p->in_stride && p->in_stride != eck_dnnl_ch_in(p);
}
static inline int eck_dnnl_staged_out(const eck_dnnl_params *p) {
  return (p->kind == ECK_DNNL_CONV || p->kind == ECK_DNNL_MAXPOOL || p->kind == ECK_DNNL_AVGPOOL) &&
         p->out_stride && p->out_stride != eck_dnnl_ch_out(p);
}
/* Bytes of the dense input copy at the start of the stage (0 when not staged), 64-byte rounded. */
static inline size_t eck_dnnl_stage_in_bytes(const eck_dnnl_params *p) {
  size_t b = eck_dnnl_staged_in(p) ? p->batch * p->height * p->width * eck_dnnl_ch_in(p) * sizeof(float) : 0;
  return (b + 63) / 64 * 64;
}
/* Bytes of the stage buffer a step needs (eck_dnnl_stage): the dense input when it reads a
 * channel slice, then the dense output when it writes one; 0 for every other step. The compiler's
 * memory plan gives it from the arena, as a step's scratch. */
static inline size_t eck_dnnl_stage_bytes(const eck_dnnl_params *p) {
  size_t out = eck_dnnl_staged_out(p) ? p->batch * eck_dnnl_oh(p) * eck_dnnl_ow(p) * eck_dnnl_ch_out(p) * sizeof(float) : 0;
  return eck_dnnl_stage_in_bytes(p) + out;
}

/* The library call that failed and what it returned ("dnnl_primitive_desc_create",
 * "unimplemented"): static strings, so init can say which step failed and why. NULL while nothing
 * failed. */
typedef struct eck_dnnl_error {
  const char *call;
  const char *status;
} eck_dnnl_error;

/* One engine and one stream per partition context (dnnl_engine_t, dnnl_stream_t). */
typedef struct eck_dnnl_ctx {
  void *engine;
  void *stream;
} eck_dnnl_ctx;

/* One oneDNN step: its primitive, the memory objects it executes on (bound to the caller's
 * buffers by setup; weights, bias and scratchpad owned by the node) and the buffers last bound. */
typedef struct eck_dnnl_node {
  void *prim;                     /* dnnl_primitive_t */
  void *src, *src1, *dst;         /* dnnl_memory_t bound to caller buffers (src1: binary only) */
  void *weights, *bias, *scratch; /* dnnl_memory_t owned by the node (NULL where none) */
  int swap;                       /* binary: operands swapped at create (b is the full shape) */
  void *stage;                    /* eck_dnnl_stage's buffer (NULL: none) */
  const void *in[2];
  void *out;
  int ready;                      /* set up with in/out */
  eck_dnnl_error err;             /* the last create/setup/run call that failed */
} eck_dnnl_node;

/* Makes the CPU engine and a stream, and sets the calling thread's OpenMP thread count (<= 1: one
 * thread, no workers). Returns ECK_OK, or ECK_ERR_UNSUPPORTED with *err naming the call. */
int eck_dnnl_start(eck_dnnl_ctx *c, int threads, eck_dnnl_error *err);
/* The calling thread's OpenMP thread count for the primitives it creates and runs. */
void eck_dnnl_threads(int threads);
/* libgomp's spin count (iterations a worker polls before it sleeps) that drivers start with:
 * enough to bridge the gap between two primitives of a run, well under a millisecond of spinning
 * after the run. */
#define ECK_DNNL_SPINCOUNT "30000"
/* Re-executes the program (argv as given to main) with GOMP_SPINCOUNT=ECK_DNNL_SPINCOUNT in its
 * environment when neither GOMP_SPINCOUNT nor OMP_WAIT_POLICY is set, so libgomp's workers sleep
 * soon after a run ends. Returns only when nothing was done (a variable was set, or the exec
 * failed: then workers spin for libgomp's default 300000 iterations after each run, which costs
 * CPU but not correctness). */
void eck_dnnl_short_spin(char **argv);
/* The same with OMP_WAIT_POLICY=passive (spin count 0): workers sleep at once, and every primitive
 * wakes them through the kernel. For clustered programs (see above). */
void eck_dnnl_passive_wait(char **argv);
/* Undoes eck_dnnl_start. Delete the nodes first. */
void eck_dnnl_stop(eck_dnnl_ctx *c);

/* Creates the primitive and reorders the weights into the node's own memory (w, b may be NULL
 * where the kind has none; b NULL: no bias). Conv weights are ONNX's [groups * channels_out,
 * channels_in, kh, kw], or [groups * channels_out, kh, kw, channels_in] with ECK_DNNL_W_OHWI;
 * fc weights [out, in], or [in, out] with ECK_DNNL_W_IN_OUT. Float kinds: float weights and
 * bias; QCONV, QFC: int8 weights, int32 bias. */
int eck_dnnl_create(eck_dnnl_node *s, eck_dnnl_ctx *c, const eck_dnnl_params *p, const void *w,
                    const void *b);
/* Gives a step that reads or writes a channel slice (eck_dnnl_stage_bytes(p) > 0) the stage
 * buffer it runs its primitive on, eck_dnnl_stage_bytes(p) bytes, 64-byte aligned, that nothing
 * else touches while it runs; after create, before setup. Returns ECK_ERR_ARG when one is needed
 * and buf is NULL. run copies the slice into the dense input, and the dense output (after the
 * primitive; with ECK_DNNL_SUM the residual first into it) back into the slice's channels: the
 * channels past them in each pixel are never written. */
int eck_dnnl_stage(eck_dnnl_node *s, const eck_dnnl_params *p, void *buf);
/* Binds the buffers (b: second input of binary ops; with ECK_DNNL_SUM the residual, which may be
 * y itself; else NULL). */
int eck_dnnl_setup(eck_dnnl_node *s, const eck_dnnl_params *p, const void *a, const void *b, void *y);
/* Executes the primitive, binding the buffers again first only when one differs from the last
 * setup. With ECK_DNNL_SUM and a residual b other than y, copies b into y first (b NULL: y already
 * holds it). Returns when the outputs are written. */
int eck_dnnl_run(eck_dnnl_node *s, eck_dnnl_ctx *c, const eck_dnnl_params *p, const void *a,
                 const void *b, void *y);
/* The implementation oneDNN picked ("brgconv:avx512_core", "jit:avx2", "ref:any"), for profiles
 * and benchmarks; "" before create. */
const char *eck_dnnl_impl(const eck_dnnl_node *s);
void eck_dnnl_delete(eck_dnnl_node *s);

/* Inference BatchNormalization of NHWC float32 pixels (channel k scaled by
 * scale[k]/sqrt(var[k]+eps) and shifted, folded in double as the reference kernel does), clamped to
 * [lo, hi] (a fused Relu or Clip): eck_xnn_batchnorm_nhwc's arithmetic, the pixels split among an
 * OpenMP team of `threads` (the program's thread count, where oneDNN's OpenMP threads are the
 * program's: no clusters, oneDNN running most steps). Below ECK_DNNL_BN_SERIAL elements, or with
 * one thread, the caller's thread does it all. Pixel strides in elements (x or y may be a channel
 * slice). DenseNet's 62 pre-activation BatchNormalizations (after a Concat, so no Conv to fold
 * them into) ran on one thread while oneDNN's second waited. */
#define ECK_DNNL_BN_SERIAL 16384
void eck_dnnl_batchnorm_nhwc(const float *x, float *y, const float *scale, const float *bias, const float *mean,
                             const float *var, float eps, size_t pixels, size_t c, size_t x_stride,
                             size_t y_stride, float lo, float hi, int threads);

#endif
