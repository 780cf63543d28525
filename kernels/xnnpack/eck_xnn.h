/* eck_xnn.h — fast kernels of generated code: XNNPACK's operator API behind one parameter struct
 * (create at init with pre-packed weights, setup once the buffers are known, run per call), and
 * the plain-C layout helpers (NCHW <-> NHWC, concat and channel shuffle) around them. C99.
 *
 * How generated code uses it: the partition context holds one eck_xnn_node per XNNPACK step and
 * one thread pool (eck_xnn_start). Init calls eck_xnn_create with the step's eck_xnn_params and
 * its weight addresses, then eck_xnn_setup with the arena addresses; each step calls
 * eck_xnn_run, which only runs the operator unless a caller buffer (a graph input or output)
 * moved since the last setup. Shapes are physical: an NHWC tensor is [N, H, W, C] here. This
 * header does not include xnnpack.h, so the compiler can fill the params struct too. */
#ifndef ECK_XNN_H
#define ECK_XNN_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "eck_tensor.h"

/* The bound of an open clamp (no fused activation). */
#define ECK_XNN_INF INFINITY

typedef enum eck_xnn_kind {
  ECK_XNN_CONV = 1,     /* NHWC convolution: grouped, depthwise, dilated, asymmetric pads */
  ECK_XNN_FC,           /* fully connected: [batch, in] x W[out, in] (+ bias) */
  ECK_XNN_MAXPOOL,      /* NHWC 2-D max pooling */
  ECK_XNN_AVGPOOL,      /* NHWC 2-D average pooling (padding excluded from the count) */
  ECK_XNN_GAVGPOOL,     /* NHWC global average pooling: [N, H*W, C] -> [N, C] */
  ECK_XNN_ADD,          /* broadcasting binary ops over physical shapes */
  ECK_XNN_SUB,
  ECK_XNN_MUL,
  ECK_XNN_DIV,
  ECK_XNN_MAX,
  ECK_XNN_MIN,
  ECK_XNN_CLAMP,        /* Relu, Clip: over all elements */
  ECK_XNN_HARDSWISH,
  ECK_XNN_SIGMOID,
  ECK_XNN_SOFTMAX,      /* over the last dimension */
  ECK_XNN_SHUFFLE,      /* NHWC channel shuffle: groups x group_channels per pixel */
  ECK_XNN_PAD,          /* constant padding of a physical shape */
  ECK_XNN_RESIZE,       /* NHWC bilinear 2-D resize: [N, H, W, C] -> [N, out_height, out_width, C] */
  /* int8 (q_unsigned: uint8 data, XNNPACK's qu8; else int8, qs8), per-tensor scales and zero
   * points in the q fields; int32 bias in units of in_scale * w_scale, as ONNX's QLinearConv. */
  ECK_XNN_QCONV,        /* NHWC convolution of quantized data (weights [O, kh, kw, I/group]); with
                           w_scales, int8 data and one weight scale per output channel (qc8) */
  ECK_XNN_QFC,          /* fully connected of quantized data: [batch, in] x W (+ bias) */
  ECK_XNN_QUANT,        /* float -> int8: q = clamp(round(x / out_scale) + out_zp) */
  ECK_XNN_DEQUANT,      /* int8 -> float: x = (q - in_zp) * in_scale */
  ECK_XNN_MAXPOOL8,     /* NHWC 2-D max pooling of 8-bit data (u8 or s8 as q_unsigned says): the
                           maximum of quantized values, which keep their scale and zero point */
  ECK_XNN_QADD,         /* broadcasting A + B and A * B of quantized data (shapes as the float
                           binary ops'): A's scale and zero point in in_*, B's in w_*, C's in out_* */
  ECK_XNN_QMUL,
  ECK_XNN_KIND_COUNT    /* not a kind: the compiler's table of kinds checks its rows against it */
} eck_xnn_kind;

/* XNNPACK's resize flags (xnnpack.h spells them XNN_FLAG_*; eck_xnn.c checks the values).
 * Neither: half-pixel centres, source coordinates clamped to the image. ALIGN_CORNERS: corner
 * pixels map to corner pixels, ratio (in - 1) / (out - 1). TF_LEGACY: source = out * in / out,
 * no half-pixel shift (ONNX's asymmetric). */
#define ECK_XNN_FLAG_TF_LEGACY 0x4u
#define ECK_XNN_FLAG_ALIGN_CORNERS 0x8u

#define ECK_XNN_MAX_DIMS 6

/* Everything an operator needs, resolved by the compiler. Unused fields stay 0. */
typedef struct eck_xnn_params {
  int32_t kind;                   /* eck_xnn_kind */
  uint32_t flags;                 /* XNN_FLAG_* passed to create */
  uint32_t pad[4];                /* top, right, bottom, left */
  uint32_t kernel[2], stride[2], dilation[2];
  uint32_t groups;
  size_t channels_in, channels_out; /* conv: per group; fc: in, out; others: channels */
  size_t in_stride, out_stride;   /* elements between pixels/rows (>= channels) */
  size_t batch, height, width;    /* input N, H, W (fc, unary, softmax: rows in batch) */
  float out_min, out_max;         /* fused activation (-inf, +inf when none) */
  int32_t rank_a, rank_b;         /* binary ops and pad: physical shapes */
  size_t shape_a[ECK_XNN_MAX_DIMS], shape_b[ECK_XNN_MAX_DIMS];
  size_t pre[ECK_XNN_MAX_DIMS], post[ECK_XNN_MAX_DIMS]; /* pad */
  float value;                    /* pad value */
  size_t out_height, out_width;   /* resize: output H, W */
  int32_t q_unsigned;             /* int8 kinds: 1 uint8 data (qu8), 0 int8 (qs8) */
  float in_scale, w_scale, out_scale; /* int8 kinds: per-tensor scales */
  int32_t in_zp, w_zp, out_zp;    /* and zero points (w_zp 0 for int8 weights) */
  const float *w_scales;          /* QCONV: groups * channels_out weight scales, one per output
                                     channel (XNNPACK's qc8, int8 data only), or NULL: w_scale */
} eck_xnn_params;

/* The library call that failed and the status it returned ("xnn_create_convolution2d_nhwc_f32",
 * "xnn_status_invalid_parameter"): static strings, so init can say which step failed and why.
 * Both NULL while nothing failed. */
typedef struct eck_xnn_error {
  const char *call;
  const char *status;
} eck_xnn_error;

/* One XNNPACK step's state: its operator and the buffers it was last set up with. */
typedef struct eck_xnn_node {
  void *op;                       /* xnn_operator_t */
  const void *in[2];
  void *out;
  int ready;                      /* set up with in/out */
  eck_xnn_error err;              /* the last create/setup/run call that failed */
} eck_xnn_node;

/* Initialises XNNPACK and makes a thread pool for `threads` workers (<= 1: the caller's thread,
 * *pool = NULL; 0 is taken as 1). Returns ECK_OK, or ECK_ERR_UNSUPPORTED with *err naming the
 * call that failed (and nothing left to stop). */
int eck_xnn_start(void **pool, int threads, eck_xnn_error *err);
/* The same with a pool shared by `owners` clusters (owners <= threads): eck_pool_create_shared. */
int eck_xnn_start_shared(void **pool, int threads, int owners, eck_xnn_error *err);
/* The default thread count: the target's cores, but no more than the processors online on the
 * machine the program runs on (a generic description may promise more than the board has). */
int eck_xnn_default_threads(int target_cores);
/* Undoes a successful eck_xnn_start: destroys the pool (its workers joined) and deinitialises
 * XNNPACK (xnnpack.h asks for one xnn_deinitialize per successful xnn_initialize). Delete the
 * operators first. */
void eck_xnn_stop(void *pool);
/* The pool itself (eck_pool.c: pthreadpool's interface, which XNNPACK calls, on a pool whose
 * caller never waits for a worker that has not started). threads <= 0: one per core. */
void *eck_pool_create(int threads);
/* A pool of `threads` threads shared by `owners` clusters (runtime/ecrt_cluster.h): each cluster's
 * thread calls eck_pool_enter(its index) and publishes its operators' tiles in that slot; the
 * threads - owners workers started here, and cluster threads that call eck_pool_help while they
 * wait, run tiles of every slot. NULL when owners > threads or out of memory. */
void *eck_pool_create_shared(int threads, int owners);
void eck_pool_enter(int slot);
/* Runs tiles other threads published in pool (NULL: none); returns how many it ran. */
int eck_pool_help(void *pool);
/* After every publish of tiles the pool calls published(arg) on the publishing thread (NULL: no
 * call): the clusters wake their threads asleep in a wait (ecrt_clusters_published). Set before
 * the runs, not during one. */
void eck_pool_watch(void *pool, void (*published)(void *), void *arg);
void eck_pool_destroy(void *pool);

/* Creates the operator; weights are packed now and not read again (w, b may be NULL where the
 * kind has none). Float kinds take float weights and bias; int8 kinds uint8/int8 weights (as
 * q_unsigned says) and an int32 bias. */
int eck_xnn_create(eck_xnn_node *s, const eck_xnn_params *p, const void *w, const void *b);
/* Binds the buffers (b: second input of binary ops, else NULL). */
int eck_xnn_setup(eck_xnn_node *s, const eck_xnn_params *p, const void *a, const void *b, void *y,
                  void *pool);
/* Runs the operator, setting it up again first only when a buffer differs from the last setup. */
int eck_xnn_run(eck_xnn_node *s, const eck_xnn_params *p, const void *a, const void *b, void *y,
                void *pool);
void eck_xnn_delete(eck_xnn_node *s);

/* ---- plain-C helpers (eck_xnn_layout.c): no XNNPACK needed ----------------------------------- */

/* float32 [n, c, hw] -> [n, hw, c] and back. */
void eck_xnn_to_nhwc(const float *x, float *y, size_t n, size_t c, size_t hw);
void eck_xnn_to_nchw(const float *x, float *y, size_t n, size_t c, size_t hw);
/* The same of one-byte elements (int8 and uint8 tensors of the int8 kinds). */
void eck_xnn_to_nhwc_8(const uint8_t *x, uint8_t *y, size_t n, size_t c, size_t hw);
void eck_xnn_to_nchw_8(const uint8_t *x, uint8_t *y, size_t n, size_t c, size_t hw);
/* Concat of float32 NHWC tensors along the channel axis (logical dims [N, C, H, W], physical
 * [N, H, W, C]): each output pixel gets every input's channels in turn. */
int eck_xnn_concat_nhwc(const eck_tensor *in, int n_in, eck_tensor *out);
/* Channel shuffle of NCHW data (shufflenet): [n, g, c/g, hw] -> [n, c/g, g, hw]. */
void eck_xnn_shuffle_nchw(const float *x, float *y, size_t n, size_t groups, size_t group_c,
                          size_t hw);
/* Inference BatchNormalization of NHWC float32 pixels (channel c scaled by scale/sqrt(var+eps),
 * shifted), clamped to [lo, hi] (a fused Relu/Clip). Pixel strides in elements, so x or y may be
 * a channel slice of a wider tensor. */
void eck_xnn_batchnorm_nhwc(const float *x, float *y, const float *scale, const float *bias,
                            const float *mean, const float *var, float eps, size_t pixels,
                            size_t c, size_t x_stride, size_t y_stride, float lo, float hi);
/* c channels of each of `pixels` pixels from x to y (a channel Slice of NHWC data, or a copy into
 * a concat's slice); strides in elements. */
void eck_xnn_copy_channels(const float *x, float *y, size_t pixels, size_t c, size_t x_stride,
                           size_t y_stride);

/* ---- transformer blocks (eck_xnn_transformer.c, eck_xnn_dwconv.c): plain C, no XNNPACK needed ---- */

/* x86-64 builds for the baseline (SSE2), where these loops run several times slower than with
 * AVX-512 and FMA. A kernel's work is `body_body`, an ECK_VEC_INLINE function (its helpers too);
 * ECK_VEC_VARIANTS(body, (params), (args)) compiles it again for AVX-512+FMA and AVX2+FMA on x86-64
 * GCC and Clang, and the kernel's own definition (written out, so that codegen's sources.c finds it)
 * is ECK_VEC_CALL(body, (args)), which picks a variant from the CPU's features (a load and a test
 * per call): the output folder stays portable. (GCC 12's target_clones has no feature set with
 * FMA, and its resolver took the baseline for "arch=x86-64-v3" on an AMD EPYC with AVX-512.)
 * Elsewhere (the boards' NEON is their baseline) the body alone is compiled. */
#if defined(__GNUC__)
#define ECK_VEC_INLINE static inline __attribute__((always_inline))
#else
#define ECK_VEC_INLINE static inline
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#define ECK_VEC_VARIANTS(body, params, args)                                                     \
  __attribute__((target("avx512f,fma"))) static void body##_avx512 params { body##_body args; } \
  __attribute__((target("avx2,fma"))) static void body##_avx2 params { body##_body args; }
#define ECK_VEC_CALL(body, args)                                               \
  do {                                                                         \
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma"))    \
      body##_avx512 args;                                                      \
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))  \
      body##_avx2 args;                                                        \
    else                                                                       \
      body##_body args;                                                        \
  } while (0)
#else
#define ECK_VEC_VARIANTS(body, params, args)
#define ECK_VEC_CALL(body, args) body##_body args
#endif

/* GELU, Erf form, of n floats: y = x/2 (1 + erf(x / sqrt 2)), erf within 4e-6 (no libm). */
void eck_xnn_gelu(const float *x, float *y, size_t n);
/* GELU, tanh form, of n floats: y = x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), as x / (1 +
 * exp(-2u)) with its own exp (within 1e-6 relative, no libm). */
void eck_xnn_gelu_tanh(const float *x, float *y, size_t n);
/* HardSigmoid of n floats: y = min(max(alpha x + beta, 0), 1), NaN staying NaN as in the
 * reference kernel. */
void eck_xnn_hardsigmoid(const float *x, float *y, size_t n, float alpha, float beta);
/* LayerNormalization of `rows` rows of n floats each: (x - mean) / sqrt(var + eps) * scale + bias,
 * with scale[i * scale_step] and bias[i * bias_step] (step 1: one per element of the row, 0: one
 * for all; bias may be NULL). */
void eck_xnn_layernorm(const float *x, float *y, const float *scale, const float *bias, size_t rows,
                       size_t n, size_t scale_step, size_t bias_step, float eps);

/* Depthwise convolution of NHWC floats (one filter per channel: p->groups channels, channels_in
 * and channels_out 1) with a window of up to ECK_XNN_DW_MAX_TAPS taps, where XNNPACK 2022 has no
 * depthwise kernel (past 25 taps it runs a GEMM per channel): ConvNeXt's 7x7. p gives the input
 * batch, height and width, kernel, stride, dilation, pads (top, right, bottom, left), pixel strides
 * (in_stride, out_stride) and the clamp; w is [C][kh][kw], bias [C] or NULL. */
#define ECK_XNN_DW_MAX_TAPS 64
void eck_xnn_dwconv(const float *x, float *y, const eck_xnn_params *p, const float *w, const float *bias);

/* ---- recurrent layers (eck_xnn_rnn.c): plain C, no XNNPACK needed ----------------------------- */

/* LSTM, GRU and RNN of float32 tensors, as eck_ref_rnn (the reference kernel's signature, params an
 * eck_rnn_params, the same inputs and outputs) with every attribute it takes; the gate products
 * and the gates' elementwise loops vectorized. scratch: ECK_XNN_RNN_SCRATCH(S, G, H) floats for S
 * steps, G gates (4 LSTM, 3 GRU, 1 RNN) and hidden size H. */
#define ECK_XNN_RNN_SCRATCH(S, G, H) ((S) * (G) * (H) + (G) * (H) + 3 * (H))
int eck_xnn_rnn(const void *params, const eck_tensor *in, int n_in, eck_tensor *out, int n_out, void *scratch);

#endif
