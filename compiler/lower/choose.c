/* choose.c — which kernel runs a node, as a pure function of the (lowered) graph and the kernel
 * library, and the XNNPACK parameters it runs with. Lowering and codegen both ask here, so the
 * layout lowering plans for and the kernels codegen emits cannot disagree. */
#include <math.h>
#include <string.h>

#include "lower.h"
#include "op.h"

bool ec_kernels_fast(const char *kernels) {
  return kernels && (strcmp(kernels, "xnnpack") == 0 || strcmp(kernels, "fast") == 0 ||
                     strcmp(kernels, "onednn") == 0);
}

bool ec_layout_free(const ec_tensor *t) {
  if (t->rank != 4) return true;
  return t->dims[1] == 1 || t->dims[2] * t->dims[3] == 1;
}

static const ec_attr *attr(const ec_node *n, const char *name) {
  for (int i = 0; i < n->n_attrs; i++)
    if (strcmp(n->attrs[i].name, name) == 0) return &n->attrs[i];
  return NULL;
}

static const ec_tensor *in_t(const ec_graph *g, const ec_node *n, int i) {
  return i < n->n_inputs && n->inputs[i] >= 0 ? &g->tensors[n->inputs[i]] : NULL;
}

static const ec_tensor *out_t(const ec_graph *g, const ec_node *n, int i) {
  return i < n->n_outputs && n->outputs[i] >= 0 ? &g->tensors[n->outputs[i]] : NULL;
}

static bool is_f32(const ec_tensor *t) { return t && t->dtype == ECK_FLOAT && t->rank >= 0; }

static bool is_nhwc(const ec_tensor *t) { return t->rank == 4 && t->layout == EC_LAYOUT_NHWC; }

/* NHWC bytes: tagged NHWC, or layout-free (one channel, or 1x1 pixels), whose bytes are the same
 * in both orders. A kernel that wants NHWC must take a layout-free tensor whatever its tag: the
 * tag of such a tensor follows from lowering's bookkeeping (a graph input, a Relu fused into its
 * producer hands over its own output), not from its bytes. */
static bool nhwc_bytes(const ec_tensor *t) { return is_nhwc(t) || ec_layout_free(t); }

/* ---- views (zero-copy concat) ---------------------------------------------------------------- */

static bool in_place_concat(const ec_graph *g, int node) {
  const ec_node *n = &g->nodes[node];
  return !n->dead && n->op == EC_OP_Concat && attr(n, EC_ATTR_IN_PLACE) && n->n_outputs == 1 &&
         n->outputs[0] >= 0;
}

/* The in-place Concat among t's consumers with the most inputs (lowest index on a tie), and t's
 * first channel in its output; -1 when none. */
static int owner_concat(const ec_graph *g, int t, int64_t *off) {
  const ec_tensor *x = &g->tensors[t];
  int best = -1;
  for (int k = 0; k < x->n_consumers; k++) {
    int c = x->consumers[k];
    if (!in_place_concat(g, c)) continue;
    const ec_node *n = &g->nodes[c];
    if (best >= 0 && (n->n_inputs < g->nodes[best].n_inputs ||
                      (n->n_inputs == g->nodes[best].n_inputs && c > best)))
      continue;
    int64_t o = 0;
    int j = 0;
    for (; j < n->n_inputs && n->inputs[j] != t; j++) o += g->tensors[n->inputs[j]].dims[1];
    if (j == n->n_inputs) continue;
    best = c;
    *off = o;
  }
  return best;
}

/* The tensor whose bytes t lives in directly, and t's first channel there; -1 when none. */
static int view_parent(const ec_graph *g, int t, int64_t *off) {
  int c = owner_concat(g, t, off);
  if (c >= 0) return g->nodes[c].outputs[0];
  int p = g->tensors[t].producer;
  if (p >= 0 && in_place_concat(g, p) && g->nodes[p].n_inputs > 0 && g->nodes[p].inputs[0] >= 0) {
    c = owner_concat(g, g->nodes[p].inputs[0], off);
    if (c >= 0 && c != p) return g->nodes[c].outputs[0];
  }
  return -1;
}

int ec_view_root(const ec_graph *g, int t, int64_t *off) {
  *off = 0;
  /* Lowering makes the chain acyclic; the bound keeps a damaged graph from looping. */
  for (int depth = 0; t >= 0 && depth < 64; depth++) {
    int64_t o = 0;
    int p = view_parent(g, t, &o);
    if (p < 0) break;
    *off += o;
    t = p;
  }
  return t;
}

size_t ec_view_stride(const ec_graph *g, int t) {
  int64_t off;
  int r = ec_view_root(g, t, &off);
  const ec_tensor *x = &g->tensors[r];
  return x->rank == 4 ? (size_t)x->dims[1] : 0;
}

/* ---- the table (fast_kernels.def) ------------------------------------------------------------ */

/* The EC_XNN rows are eck_xnn.h's operator kinds, in its order and every one of them: a row out of
 * order, one naming no kind, and a kind without a row all fail to compile. */
enum {
  EC_XNN_ROW_NONE = 0,
#define EC_XNN(KIND, flags) EC_XNN_ROW_##KIND,
#include "fast_kernels.def"
  EC_XNN_ROWS
};
#define EC_XNN(KIND, flags) \
  _Static_assert((int)ECK_XNN_##KIND == (int)EC_XNN_ROW_##KIND, "fast_kernels.def: EC_XNN(" #KIND ") out of eck_xnn.h's order");
#include "fast_kernels.def"
_Static_assert((int)EC_XNN_ROWS == (int)ECK_XNN_KIND_COUNT, "fast_kernels.def: an eck_xnn_kind of eck_xnn.h has no EC_XNN row");

static const unsigned kernel_flags[] = {
#define EC_KERNEL(NAME, emit, label, flags) [EC_K_##NAME] = (flags),
#include "fast_kernels.def"
};
_Static_assert(sizeof kernel_flags / sizeof kernel_flags[0] == EC_K_COUNT, "fast_kernels.def: kernel table out of step");

static const unsigned xnn_flags[] = {
    [0] = 0,
#define EC_XNN(KIND, flags) [ECK_XNN_##KIND] = (flags),
#include "fast_kernels.def"
};

/* The EC_DNNL rows: eck_dnnl.h's kinds in its order, each with the XNNPACK kind it stands in for. */
enum {
  EC_DNNL_ROW_NONE = 0,
#define EC_DNNL(KIND, XNN, flags) EC_DNNL_ROW_##KIND,
#include "fast_kernels.def"
  EC_DNNL_ROWS
};
#define EC_DNNL(KIND, XNN, flags) \
  _Static_assert((int)ECK_DNNL_##KIND == (int)EC_DNNL_ROW_##KIND, "fast_kernels.def: EC_DNNL(" #KIND ") out of eck_dnnl.h's order");
#include "fast_kernels.def"

static const struct {
  int xnn;
  unsigned flags;
} dnnl_rows[] = {
    [0] = {0, 0},
#define EC_DNNL(KIND, XNN, flags) [ECK_DNNL_##KIND] = {ECK_XNN_##XNN, (flags)},
#include "fast_kernels.def"
};
_Static_assert(sizeof dnnl_rows / sizeof dnnl_rows[0] == EC_DNNL_ROWS, "fast_kernels.def: oneDNN table out of step");

unsigned ec_kernel_flags(const ec_kernel_choice *c) {
  if ((unsigned)c->kind >= EC_K_COUNT) return 0;
  unsigned f = kernel_flags[c->kind];
  if (c->kind == EC_K_XNN && c->xp.kind > 0 && c->xp.kind < EC_XNN_ROWS) f |= xnn_flags[c->xp.kind];
  if (c->kind == EC_K_DNNL && c->dp.kind > 0 && c->dp.kind < EC_DNNL_ROWS) f |= dnnl_rows[c->dp.kind].flags;
  return f;
}

bool ec_kernel_strided_in(const ec_kernel_choice *c) { return ec_kernel_flags(c) & EC_KFLAG_STRIDED_IN; }

bool ec_kernel_strided_out(const ec_kernel_choice *c) { return ec_kernel_flags(c) & EC_KFLAG_STRIDED_OUT; }

/* A float constant holding one value. */
static bool const_scalar(const ec_tensor *t, float *v) {
  if (!t || t->kind != EC_TK_CONSTANT || t->dtype != ECK_FLOAT || ec_tensor_numel(t) != 1 || !t->data)
    return false;
  memcpy(v, t->data, sizeof *v);
  return true;
}

static void act_range(const ec_node *n, eck_xnn_params *p) {
  const ec_attr *lo = attr(n, EC_ATTR_ACT_MIN), *hi = attr(n, EC_ATTR_ACT_MAX);
  p->out_min = lo ? lo->f : -INFINITY;
  p->out_max = hi ? hi->f : INFINITY;
}

/* Physical shape of t inside an op whose output has rank `rank` and layout `layout`: t's dims
 * right-aligned (numpy broadcasting), then N,C,H,W -> N,H,W,C for NHWC. False when t's bytes
 * do not follow that order. */
static bool phys_shape(const ec_tensor *t, int rank, int layout, size_t *shape) {
  int64_t d[EC_MAX_RANK];
  if (t->rank > rank || rank > ECK_XNN_MAX_DIMS) return false;
  for (int i = 0; i < rank; i++) d[i] = 1;
  for (int i = 0; i < t->rank; i++) d[rank - t->rank + i] = t->dims[i];
  if (layout == EC_LAYOUT_NHWC) {
    bool same = d[1] == 1 || d[2] * d[3] == 1;
    if (!(t->rank == 4 && t->layout == EC_LAYOUT_NHWC) && !same) return false;
    int64_t c = d[1];
    d[1] = d[2], d[2] = d[3], d[3] = c;
  } else if (t->rank == 4 && t->layout == EC_LAYOUT_NHWC && !ec_layout_free(t)) {
    return false;
  }
  for (int i = 0; i < rank; i++) shape[i] = (size_t)d[i];
  return true;
}

/* Spatial setup shared by Conv and pooling: input [N,C,H,W] (logical), 2-D attributes. */
static void spatial(eck_xnn_params *p, const ec_tensor *x, const int64_t *k, const int64_t *s,
                    const int64_t *dl, const int64_t *pb, const int64_t *pe) {
  p->batch = (size_t)x->dims[0];
  p->height = (size_t)x->dims[2];
  p->width = (size_t)x->dims[3];
  p->kernel[0] = (uint32_t)k[1], p->kernel[1] = (uint32_t)k[2];
  p->stride[0] = (uint32_t)s[1], p->stride[1] = (uint32_t)s[2];
  p->dilation[0] = (uint32_t)dl[1], p->dilation[1] = (uint32_t)dl[2];
  p->pad[0] = (uint32_t)pb[1], p->pad[1] = (uint32_t)pe[2];
  p->pad[2] = (uint32_t)pe[1], p->pad[3] = (uint32_t)pb[2];
}

/* XNNPACK sizes pooling outputs with floor; ceil_mode outputs need more bottom/right padding. */
static bool pool_fit(eck_xnn_params *p, const ec_tensor *y) {
  for (int a = 0; a < 2; a++) {
    int64_t in = a ? (int64_t)p->width : (int64_t)p->height, out = y->dims[2 + a];
    int64_t keff = ((int64_t)p->kernel[a] - 1) * p->dilation[a] + 1;
    uint32_t *pe = a ? &p->pad[1] : &p->pad[2], pb = a ? p->pad[3] : p->pad[0];
    int64_t got = (in + pb + *pe - keff) / p->stride[a] + 1;
    if (got > out) return false;
    if (got < out) *pe = (uint32_t)((out - 1) * p->stride[a] + keff - in - pb);
  }
  return true;
}

/* Could a window see padding only? XNNPACK's average then divides by a count of 0 (inf) and its
 * maximum takes the nearest row or column of the input, where the reference kernel writes 0 and
 * -inf, what ONNX's formulas give (no exporter writes such pads, but ONNX allows them). */
static bool pool_window_in_padding(const eck_xnn_params *p) {
  for (int a = 0; a < 2; a++) {
    uint32_t keff = (p->kernel[a] - 1) * p->dilation[a] + 1, in = (uint32_t)(a ? p->width : p->height);
    uint32_t pb = a ? p->pad[3] : p->pad[0], pe = a ? p->pad[1] : p->pad[2];
    /* Taps dilated past a narrow input can straddle it, each landing in padding. */
    if (pb >= keff || pe >= keff || (p->dilation[a] > 1 && in < p->dilation[a])) return true;
  }
  return false;
}

static bool spatial_ok(const int64_t *pb, const int64_t *pe, int nsp) {
  if (nsp != 2) return false;
  for (int i = 0; i < 3; i++)
    if (pb[i] < 0 || pe[i] < 0) return false;
  return true;
}

/* The geometry of a 2-D convolution of x into y (NHWC bytes), float or int8. */
static void conv_geometry(const ec_graph *g, const ec_node *n, const eck_conv_params *cp, const ec_tensor *x,
                          const ec_tensor *y, eck_xnn_params *p, int xnn) {
  int64_t group = cp->group, cin = x->dims[1], cout = y->dims[1];
  p->kind = xnn;
  spatial(p, x, cp->kernel, cp->strides, cp->dilations, cp->pad_begin, cp->pad_end);
  p->groups = (uint32_t)group;
  p->channels_in = (size_t)(cin / group);
  p->channels_out = (size_t)(cout / group);
  p->in_stride = ec_view_stride(g, n->inputs[0]);
  p->out_stride = ec_view_stride(g, n->outputs[0]);
}

/* The weights must be [O, kh, kw, I/group]: re-ordered by lowering unless the orders agree. */
static bool weights_ohwi(const ec_tensor *w) {
  return w->rank == 4 && (w->layout == EC_LAYOUT_NHWC || w->dims[1] == 1 || w->dims[2] * w->dims[3] == 1);
}

static ec_kernel_kind choose_conv(const ec_graph *g, const ec_node *n, ec_kernel_choice *c, int xnn) {
  const eck_conv_params *cp = n->params;
  const ec_tensor *x = in_t(g, n, 0), *w = in_t(g, n, 1), *b = in_t(g, n, 2), *y = out_t(g, n, 0);
  /* A layout-free input (one channel, or 1x1 pixels) has the same bytes in NCHW and NHWC: the
   * lowering leaves such a graph input as it is. */
  if (!cp || !is_f32(x) || !is_f32(w) || !y || x->rank != 4 || y->rank != 4 || !nhwc_bytes(x) ||
      !nhwc_bytes(y) || w->kind != EC_TK_CONSTANT || !spatial_ok(cp->pad_begin, cp->pad_end, cp->nsp))
    return EC_K_REF;
  if (b && (b->kind != EC_TK_CONSTANT || b->dtype != ECK_FLOAT)) return EC_K_REF;
  if (!weights_ohwi(w)) return EC_K_REF;
  eck_xnn_params *p = &c->xp;
  conv_geometry(g, n, cp, x, y, p, xnn);
  act_range(n, p);
  c->a = n->inputs[0];
  c->w = n->inputs[1];
  c->bias = b ? n->inputs[2] : -1;
  return EC_K_XNN;
}

/* ---- int8 ------------------------------------------------------------------------------------ */

static bool is_q8(const ec_tensor *t) {
  return t && t->rank >= 0 && (t->dtype == ECK_UINT8 || t->dtype == ECK_INT8);
}

/* A quantization scale: a one-element float constant, positive and normal (XNNPACK refuses
 * others). */
static bool q_scale(const ec_tensor *t, float *v) {
  return const_scalar(t, v) && *v > 0.0f && isnormal(*v);
}

/* A zero point of dtype dt: a one-element constant, or absent (0). */
static bool q_zero(const ec_tensor *t, int32_t dt, int32_t *zp) {
  *zp = 0;
  if (!t) return true;
  if (t->kind != EC_TK_CONSTANT || t->dtype != dt || ec_tensor_numel(t) != 1 || !t->data) return false;
  *zp = dt == ECK_UINT8 ? (int32_t)((const uint8_t *)t->data)[0] : (int32_t)((const int8_t *)t->data)[0];
  return true;
}

/* Per-channel weights of an int8 QLinearConv with `cout` output channels: a float scale per
 * channel, each positive and normal, and zero points all 0 (XNNPACK's qc8 has none). */
static bool q_channel_scales(const ec_tensor *s, const ec_tensor *z, int64_t cout) {
  if (!s || s->kind != EC_TK_CONSTANT || s->dtype != ECK_FLOAT || s->rank != 1 || s->dims[0] != cout || !s->data)
    return false;
  for (int64_t i = 0; i < cout; i++) {
    float v = ((const float *)s->data)[i];
    if (!(v > 0.0f) || !isnormal(v)) return false;
  }
  if (!z) return true;
  if (z->kind != EC_TK_CONSTANT || z->dtype != ECK_INT8 || ec_tensor_numel(z) != cout || !z->data) return false;
  for (int64_t i = 0; i < cout; i++)
    if (((const int8_t *)z->data)[i] != 0) return false;
  return true;
}

/* XNNPACK accepts a requantization scale in_scale * w_scale / out_scale in [2^-32, 256). */
static bool requant_ok(const eck_xnn_params *p, float w_scale) {
  double rq = (double)p->in_scale * w_scale / p->out_scale;
  return rq >= 0x1p-32 && rq < 256.0;
}

/* The scales and zero points of a QLinearConv or QLinearMatMul (inputs 1, 2: x; 4, 5: weights;
 * 6, 7: y), per tensor, with the data type of x for x and y, and for the weights too or int8
 * weights with uint8 data (only oneDNN runs those: xnn_mixed); int8 weights of zero point 0
 * (neither XNNPACK's qs8 nor oneDNN has a weight zero point); and the requantization scale
 * within what XNNPACK accepts. With cout > 0 (a QLinearConv), int8 weights may also have one
 * scale per output channel (w_scales then points at them: XNNPACK's qc8 with int8 data, oneDNN
 * with either). */
static bool q_linear_params(const ec_graph *g, const ec_node *n, eck_xnn_params *p, int64_t cout) {
  const ec_tensor *x = in_t(g, n, 0), *w = in_t(g, n, 3), *y = out_t(g, n, 0);
  const ec_tensor *ws = in_t(g, n, 4), *wz = in_t(g, n, 5);
  if (!is_q8(x) || !w || !y || (w->dtype != x->dtype && w->dtype != ECK_INT8) || y->dtype != x->dtype ||
      w->kind != EC_TK_CONSTANT || !w->data || x->kind == EC_TK_CONSTANT)
    return false;
  if (!q_scale(in_t(g, n, 1), &p->in_scale) || !q_scale(in_t(g, n, 6), &p->out_scale) ||
      !q_zero(in_t(g, n, 2), x->dtype, &p->in_zp) || !q_zero(in_t(g, n, 7), x->dtype, &p->out_zp))
    return false;
  p->q_unsigned = x->dtype == ECK_UINT8;
  if (cout > 0 && w->dtype == ECK_INT8 && ws && ec_tensor_numel(ws) > 1) {
    if (!q_channel_scales(ws, wz, cout)) return false;
    p->w_scales = ws->data;
    for (int64_t i = 0; i < cout; i++)
      if (!requant_ok(p, p->w_scales[i])) return false;
    return true;
  }
  if (!q_scale(ws, &p->w_scale) || !q_zero(wz, w->dtype, &p->w_zp)) return false;
  if (w->dtype == ECK_INT8 && p->w_zp != 0) return false;
  return requant_ok(p, p->w_scale);
}

/* A QLinearConv or QLinearMatMul whose parameters q_linear_params accepts for oneDNN but XNNPACK's
 * operators do not take: int8 weights with uint8 data (qu8 wants uint8 weights), or per-channel
 * scales with uint8 data (qc8 is int8 only). */
static bool xnn_int8_unsupported(const ec_graph *g, const ec_node *n, const eck_xnn_params *p) {
  const ec_tensor *x = in_t(g, n, 0), *w = in_t(g, n, 3);
  if (p->kind != ECK_XNN_QCONV && p->kind != ECK_XNN_QFC) return false;
  return !x || !w || x->dtype != w->dtype || (p->w_scales && p->q_unsigned);
}

/* QLinearConv: XNNPACK's qu8/qs8 convolution, NHWC, int32 bias; per-channel int8 weights on qc8
 * (depthwise too: a grouped convolution of one input channel per group). */
static ec_kernel_kind choose_qconv(const ec_graph *g, const ec_node *n, ec_kernel_choice *c, int xnn) {
  const eck_conv_params *cp = n->params;
  const ec_tensor *x = in_t(g, n, 0), *w = in_t(g, n, 3), *b = in_t(g, n, 8), *y = out_t(g, n, 0);
  eck_xnn_params *p = &c->xp;
  if (!cp || !y || y->rank != 4 || !q_linear_params(g, n, p, y->dims[1]) || x->rank != 4 || !nhwc_bytes(x) ||
      !nhwc_bytes(y) || !weights_ohwi(w) || !spatial_ok(cp->pad_begin, cp->pad_end, cp->nsp))
    return EC_K_REF;
  if (b && (b->kind != EC_TK_CONSTANT || b->dtype != ECK_INT32 || !b->data)) return EC_K_REF;
  conv_geometry(g, n, cp, x, y, p, xnn);
  p->out_min = -INFINITY;
  p->out_max = INFINITY;
  c->a = n->inputs[0];
  c->w = n->inputs[3];
  c->bias = b ? n->inputs[8] : -1;
  return EC_K_XNN;
}

/* QLinearMatMul with a constant 2-D right operand: XNNPACK's qu8/qs8 fully connected. */
static ec_kernel_kind choose_qmatmul(const ec_graph *g, const ec_node *n, ec_kernel_choice *c, int xnn) {
  const ec_tensor *a = in_t(g, n, 0), *w = in_t(g, n, 3), *y = out_t(g, n, 0);
  eck_xnn_params *p = &c->xp;
  if (!y || !q_linear_params(g, n, p, 0) || w->rank != 2 || a->rank < 2 ||
      (a->rank == 4 && !ec_layout_free(a) && a->layout == EC_LAYOUT_NHWC))
    return EC_K_REF;
  int64_t k = a->dims[a->rank - 1], nout = y->dims[y->rank - 1];
  int64_t m = k ? ec_tensor_numel(a) / k : 0;
  if (m <= 0 || k <= 0 || nout <= 0) return EC_K_REF;
  p->kind = xnn;
  p->flags = 1; /* XNN_FLAG_TRANSPOSE_WEIGHTS: W given as [in, out] */
  p->channels_in = p->in_stride = (size_t)k;
  p->channels_out = p->out_stride = (size_t)nout;
  p->batch = (size_t)m;
  p->out_min = -INFINITY;
  p->out_max = INFINITY;
  c->a = n->inputs[0];
  c->w = n->inputs[3];
  return EC_K_XNN;
}

/* QLinearAdd and QLinearMul (com.microsoft): XNNPACK's qu8/qs8 add and multiply, broadcasting as
 * the float binary ops, within the scale ratios XNNPACK accepts (add: each input's scale over the
 * output's in [2^-10, 2^8); multiply: the product of the input scales over the output's in
 * [2^-16, 2^8)). */
static ec_kernel_kind choose_qbinary(const ec_graph *g, const ec_node *n, ec_kernel_choice *c, int xnn) {
  const ec_tensor *a = in_t(g, n, 0), *b = in_t(g, n, 3), *y = out_t(g, n, 0);
  eck_xnn_params *p = &c->xp;
  if (!is_q8(a) || !b || !y || b->dtype != a->dtype || y->dtype != a->dtype || y->rank < 1 ||
      y->rank > ECK_XNN_MAX_DIMS || a->kind == EC_TK_CONSTANT)
    return EC_K_REF;
  if (!q_scale(in_t(g, n, 1), &p->in_scale) || !q_zero(in_t(g, n, 2), a->dtype, &p->in_zp) ||
      !q_scale(in_t(g, n, 4), &p->w_scale) || !q_zero(in_t(g, n, 5), a->dtype, &p->w_zp) ||
      !q_scale(in_t(g, n, 6), &p->out_scale) || !q_zero(in_t(g, n, 7), a->dtype, &p->out_zp))
    return EC_K_REF;
  if (xnn == ECK_XNN_QADD) {
    double ra = (double)p->in_scale / p->out_scale, rb = (double)p->w_scale / p->out_scale;
    if (ra < 0x1p-10 || ra >= 0x1p+8 || rb < 0x1p-10 || rb >= 0x1p+8) return EC_K_REF;
  } else {
    double r = (double)p->in_scale * p->w_scale / p->out_scale;
    if (r < 0x1p-16 || r >= 0x1p+8) return EC_K_REF;
  }
  int layout = is_nhwc(y) && !ec_layout_free(y) ? EC_LAYOUT_NHWC : EC_LAYOUT_NCHW;
  if (!phys_shape(a, y->rank, layout, p->shape_a) || !phys_shape(b, y->rank, layout, p->shape_b)) return EC_K_REF;
  p->kind = xnn;
  p->q_unsigned = a->dtype == ECK_UINT8;
  p->rank_a = p->rank_b = y->rank;
  p->out_min = -INFINITY;
  p->out_max = INFINITY;
  c->a = n->inputs[0];
  c->b = n->inputs[3];
  return EC_K_XNN;
}

/* QuantizeLinear (float -> int8) and DequantizeLinear (int8 -> float), per tensor: XNNPACK's
 * convert operators over all elements as one row. */
static ec_kernel_kind choose_convert(const ec_graph *g, const ec_node *n, ec_kernel_choice *c, int xnn) {
  const ec_tensor *x = in_t(g, n, 0), *y = out_t(g, n, 0);
  eck_xnn_params *p = &c->xp;
  bool quant = xnn == ECK_XNN_QUANT;
  const ec_tensor *q = quant ? y : x;
  if (!x || !y || !(quant ? is_f32(x) : is_f32(y)) || !is_q8(q) || x->kind == EC_TK_CONSTANT ||
      (x->rank == 4 && y->rank == 4 && x->layout != y->layout && !ec_layout_free(x)))
    return EC_K_REF;
  float scale;
  int32_t zp;
  if (!q_scale(in_t(g, n, 1), &scale) || !q_zero(in_t(g, n, 2), q->dtype, &zp)) return EC_K_REF;
  int64_t cnt = ec_tensor_numel(x);
  if (cnt <= 0) return EC_K_REF;
  p->kind = xnn;
  p->q_unsigned = q->dtype == ECK_UINT8;
  if (quant) p->out_scale = scale, p->out_zp = zp;
  else p->in_scale = scale, p->in_zp = zp;
  p->batch = 1;
  p->channels_in = p->in_stride = p->out_stride = (size_t)cnt;
  p->out_min = -INFINITY;
  p->out_max = INFINITY;
  c->a = n->inputs[0];
  return EC_K_XNN;
}

static ec_kernel_kind choose_fc(const ec_graph *g, const ec_node *n, ec_kernel_choice *c, int xnn) {
  const ec_tensor *a = in_t(g, n, 0), *w = in_t(g, n, 1), *bias = NULL, *y = out_t(g, n, 0);
  eck_xnn_params *p = &c->xp;
  if (!is_f32(a) || !is_f32(w) || !y || w->kind != EC_TK_CONSTANT || w->rank != 2 || a->rank < 1 ||
      a->kind == EC_TK_CONSTANT || (a->rank == 4 && !ec_layout_free(a) && a->layout == EC_LAYOUT_NHWC))
    return EC_K_REF;
  int64_t k, m;
  if (n->op == EC_OP_Gemm) {
    const eck_gemm_params *gp = n->params;
    if (!gp || gp->trans_a || gp->alpha != 1.0f || a->rank != 2) return EC_K_REF;
    bias = in_t(g, n, 2);
    if (bias && (gp->beta != 1.0f || bias->kind != EC_TK_CONSTANT || bias->dtype != ECK_FLOAT ||
                 ec_tensor_numel(bias) != y->dims[1] || (bias->rank == 2 && bias->dims[0] != 1)))
      return EC_K_REF;
    k = a->dims[1];
    m = a->dims[0];
    p->flags = gp->trans_b ? 0 : 1; /* XNN_FLAG_TRANSPOSE_WEIGHTS: W given as [in, out] */
  } else {
    if (a->rank < 2) return EC_K_REF;
    k = a->dims[a->rank - 1];
    m = k ? ec_tensor_numel(a) / k : 0;
    p->flags = 1;
  }
  int64_t nout = y->dims[y->rank - 1];
  p->kind = xnn;
  p->channels_in = (size_t)k;
  p->channels_out = (size_t)nout;
  p->in_stride = (size_t)k;
  p->out_stride = (size_t)nout;
  p->batch = (size_t)m;
  act_range(n, p);
  c->a = n->inputs[0];
  c->w = n->inputs[1];
  c->bias = bias ? n->inputs[2] : -1;
  return m > 0 && k > 0 && nout > 0 ? EC_K_XNN : EC_K_REF;
}

static ec_kernel_kind choose_pool(const ec_graph *g, const ec_node *n, ec_kernel_choice *c, int xnn) {
  const eck_pool_params *pp = n->params;
  const ec_tensor *x = in_t(g, n, 0), *y = out_t(g, n, 0);
  eck_xnn_params *p = &c->xp;
  /* 8-bit data (a quantized tensor): max pooling only, on XNNPACK's u8/s8 operator */
  bool q8 = is_q8(x) && y && y->dtype == x->dtype;
  if (!pp || !(is_f32(x) || q8) || !y || x->rank != 4 || y->rank != 4 || !nhwc_bytes(x) || !nhwc_bytes(y) ||
      out_t(g, n, 1) ||
      !spatial_ok(pp->pad_begin, pp->pad_end, pp->nsp))
    return EC_K_REF;
  bool pads = false;
  for (int i = 0; i < 3; i++) pads |= pp->pad_begin[i] || pp->pad_end[i];
  if (xnn == ECK_XNN_MAXPOOL && pp->kind == ECK_POOL_MAX) {
    p->kind = q8 ? ECK_XNN_MAXPOOL8 : xnn;
    p->q_unsigned = q8 && x->dtype == ECK_UINT8;
  } else if (xnn == ECK_XNN_AVGPOOL && pp->kind == ECK_POOL_AVG && !q8) {
    /* An average counting explicit padding (count_include_pad) is chosen here as any other:
     * ec_choose_kernel gives it to oneDNN's include-padding average, or to the reference kernel
     * (XNNPACK's average excludes padding). */
    if (pp->dilations[1] != 1 || pp->dilations[2] != 1) return EC_K_REF;
    p->kind = xnn;
  } else {
    return EC_K_REF;
  }
  spatial(p, x, pp->kernel, pp->strides, pp->dilations, pp->pad_begin, pp->pad_end);
  uint32_t before = p->pad[1] + p->pad[2];
  if (!pool_fit(p, y) || pool_window_in_padding(p)) return EC_K_REF;
  /* ceil_mode's extra padding does not count in an average even when count_include_pad is set. */
  if (p->kind == ECK_XNN_AVGPOOL && pp->count_include_pad && p->pad[1] + p->pad[2] != before) return EC_K_REF;
  /* XNNPACK refuses 1x1 pooling windows (a no-op for max pooling with stride 1). */
  if (p->kernel[0] * p->kernel[1] == 1) return EC_K_REF;
  p->channels_in = (size_t)x->dims[1];
  p->in_stride = ec_view_stride(g, n->inputs[0]);
  p->out_stride = ec_view_stride(g, n->outputs[0]);
  act_range(n, p);
  c->a = n->inputs[0];
  return EC_K_XNN;
}

static ec_kernel_kind choose_gap(const ec_graph *g, const ec_node *n, ec_kernel_choice *c, int xnn) {
  const ec_tensor *x = in_t(g, n, 0), *y = out_t(g, n, 0);
  eck_xnn_params *p = &c->xp;
  if (!is_f32(x) || !y || x->rank != 4 || !nhwc_bytes(x) || (y->rank == 4 && !nhwc_bytes(y)))
    return EC_K_REF;
  p->kind = xnn;
  p->batch = (size_t)x->dims[0];
  p->width = (size_t)(x->dims[2] * x->dims[3]);
  p->channels_in = (size_t)x->dims[1];
  p->in_stride = ec_view_stride(g, n->inputs[0]);
  p->out_stride = (size_t)x->dims[1];
  act_range(n, p);
  c->a = n->inputs[0];
  return p->width ? EC_K_XNN : EC_K_REF;
}

static ec_kernel_kind choose_binary(const ec_graph *g, const ec_node *n, ec_kernel_choice *c, int xnn) {
  const ec_tensor *a = in_t(g, n, 0), *b = in_t(g, n, 1), *y = out_t(g, n, 0);
  eck_xnn_params *p = &c->xp;
  if (n->n_inputs != 2 || !is_f32(a) || !is_f32(b) || !y || y->rank < 1 || y->rank > ECK_XNN_MAX_DIMS)
    return EC_K_REF;
  int layout = is_nhwc(y) && !ec_layout_free(y) ? EC_LAYOUT_NHWC : EC_LAYOUT_NCHW;
  if (!phys_shape(a, y->rank, layout, p->shape_a) || !phys_shape(b, y->rank, layout, p->shape_b))
    return EC_K_REF;
  p->kind = xnn;
  p->rank_a = p->rank_b = y->rank;
  act_range(n, p);
  if (!(xnn_flags[xnn] & EC_KFLAG_FUSE_ACT)) p->out_min = -INFINITY, p->out_max = INFINITY;
  c->a = n->inputs[0];
  c->b = n->inputs[1];
  return EC_K_XNN;
}

static ec_kernel_kind choose_unary(const ec_graph *g, const ec_node *n, ec_kernel_choice *c, int xnn) {
  const ec_tensor *x = in_t(g, n, 0), *y = out_t(g, n, 0);
  eck_xnn_params *p = &c->xp;
  if (!is_f32(x) || !y || (x->rank == 4 && y->rank == 4 && x->layout != y->layout &&
                           !ec_layout_free(x)))
    return EC_K_REF;
  int64_t cnt = ec_tensor_numel(x);
  if (cnt <= 0) return EC_K_REF;
  p->kind = xnn;
  p->out_min = -INFINITY;
  p->out_max = INFINITY;
  /* The clamps: Relu's bound, Clip's from its attributes or constant inputs. */
  if (n->op == EC_OP_Relu) {
    p->out_min = 0.0f;
  } else if (n->op == EC_OP_Clip) {
    const eck_clip_params *cp = n->params;
    if (cp && cp->use_attrs) {
      p->out_min = cp->min, p->out_max = cp->max;
    } else {
      const ec_tensor *lo = in_t(g, n, 1), *hi = in_t(g, n, 2);
      if ((lo && !const_scalar(lo, &p->out_min)) || (hi && !const_scalar(hi, &p->out_max)))
        return EC_K_REF;
    }
    if (!(p->out_min <= p->out_max)) return EC_K_REF;
  }
  /* Contiguous elements: XNNPACK treats them as one long row and splits it across threads. */
  p->batch = 1;
  p->channels_in = p->in_stride = p->out_stride = (size_t)cnt;
  c->a = n->inputs[0];
  return EC_K_XNN;
}

static ec_kernel_kind choose_softmax(const ec_graph *g, const ec_node *n, ec_kernel_choice *c, int xnn) {
  const eck_softmax_params *sp = n->params;
  const ec_tensor *x = in_t(g, n, 0);
  eck_xnn_params *p = &c->xp;
  if (!sp || sp->fn != ECK_SOFTMAX || !is_f32(x) || x->rank < 1 || sp->axis != x->rank - 1 ||
      (x->rank == 4 && x->layout == EC_LAYOUT_NHWC && !ec_layout_free(x)))
    return EC_K_REF;
  int64_t ch = x->dims[x->rank - 1];
  if (ch <= 0) return EC_K_REF;
  p->kind = xnn;
  p->channels_in = p->in_stride = p->out_stride = (size_t)ch;
  p->batch = (size_t)(ec_tensor_numel(x) / ch);
  c->a = n->inputs[0];
  return EC_K_XNN;
}

static ec_kernel_kind choose_transpose(const ec_graph *g, const ec_node *n, ec_kernel_choice *c, int xnn) {
  const ec_tensor *x = in_t(g, n, 0), *y = out_t(g, n, 0);
  const ec_attr *lay = attr(n, EC_ATTR_LAYOUT), *sh = attr(n, EC_ATTR_SHUFFLE);
  (void)xnn; /* decided by the node: a layout conversion or a channel shuffle */
  if (!x || !y || x->rank != 4 || y->rank != 4) return EC_K_REF;
  c->n = (size_t)x->dims[0];
  c->c = (size_t)x->dims[1];
  c->hw = (size_t)(x->dims[2] * x->dims[3]);
  if (lay && (x->dtype == ECK_FLOAT || eck_dtype_size(x->dtype) == 1)) {
    bool f = x->dtype == ECK_FLOAT;
    if (x->layout == EC_LAYOUT_NCHW && y->layout == EC_LAYOUT_NHWC) return f ? EC_K_TO_NHWC : EC_K_TO_NHWC_8;
    if (x->layout == EC_LAYOUT_NHWC && y->layout == EC_LAYOUT_NCHW) return f ? EC_K_TO_NCHW : EC_K_TO_NCHW_8;
    return EC_K_REF;
  }
  if (sh && x->dtype == ECK_FLOAT && sh->i > 0 && x->dims[1] % sh->i == 0) {
    c->groups = (size_t)sh->i;
    /* 1x1 pixels: both shuffles move the same bytes, whatever the tags say. */
    bool lf = ec_layout_free(x);
    if (x->layout != y->layout && !lf) return EC_K_REF;
    if (x->layout == EC_LAYOUT_NCHW && !lf) return EC_K_SHUFFLE_NCHW;
    eck_xnn_params *p = &c->xp;
    p->kind = ECK_XNN_SHUFFLE;
    p->groups = (uint32_t)sh->i;
    p->channels_in = (size_t)(x->dims[1] / sh->i);
    p->in_stride = p->out_stride = (size_t)x->dims[1];
    p->batch = (size_t)(x->dims[0] * x->dims[2] * x->dims[3]);
    c->a = n->inputs[0];
    return EC_K_XNN;
  }
  return EC_K_REF;
}

static ec_kernel_kind choose_concat(const ec_graph *g, const ec_node *n, ec_kernel_choice *c, int xnn) {
  const eck_axis_params *ap = n->params;
  const ec_tensor *y = out_t(g, n, 0);
  (void)c, (void)xnn;
  if (!ap || !is_f32(y) || y->rank != 4 || ap->axis != 1 || !is_nhwc(y) || ec_layout_free(y))
    return EC_K_REF;
  for (int i = 0; i < n->n_inputs; i++) {
    const ec_tensor *x = in_t(g, n, i);
    if (!is_f32(x) || x->rank != 4 || !nhwc_bytes(x)) return EC_K_REF;
  }
  return attr(n, EC_ATTR_IN_PLACE) ? EC_K_CONCAT_VIEW : EC_K_CONCAT_NHWC;
}

/* Inference BatchNormalization of NHWC data with constant float parameters. */
static ec_kernel_kind choose_batchnorm(const ec_graph *g, const ec_node *n, ec_kernel_choice *c, int xnn) {
  const eck_batchnorm_params *bp = n->params;
  const ec_tensor *x = in_t(g, n, 0), *y = out_t(g, n, 0);
  eck_xnn_params *p = &c->xp;
  (void)xnn;
  if (!bp || bp->training || n->n_inputs != 5 || !is_f32(x) || !y || x->rank != 4 || !is_nhwc(x) ||
      !is_nhwc(y) || ec_layout_free(x) || out_t(g, n, 1) || out_t(g, n, 2))
    return EC_K_REF;
  for (int k = 1; k < 5; k++) {
    const ec_tensor *t = in_t(g, n, k);
    if (!t || t->kind != EC_TK_CONSTANT || t->dtype != ECK_FLOAT || ec_tensor_numel(t) != x->dims[1])
      return EC_K_REF;
  }
  p->batch = (size_t)(x->dims[0] * x->dims[2] * x->dims[3]);
  p->channels_in = p->channels_out = (size_t)x->dims[1];
  p->in_stride = ec_view_stride(g, n->inputs[0]);
  p->out_stride = ec_view_stride(g, n->outputs[0]);
  p->value = bp->epsilon;
  act_range(n, p);
  c->a = n->inputs[0];
  return EC_K_BATCHNORM_NHWC;
}

/* A Slice of NHWC data along the channel axis only, step 1. */
static ec_kernel_kind choose_slice(const ec_graph *g, const ec_node *n, ec_kernel_choice *c, int xnn) {
  const eck_slice_params *sp = n->params;
  const ec_tensor *x = in_t(g, n, 0), *y = out_t(g, n, 0);
  eck_xnn_params *p = &c->xp;
  (void)xnn;
  if (!sp || !is_f32(x) || !y || x->rank != 4 || y->rank != 4 || !is_nhwc(x) || !is_nhwc(y) ||
      ec_layout_free(x))
    return EC_K_REF;
  for (int i = 0; i < 4; i++) {
    if (sp->steps[i] != 1) return EC_K_REF;
    if (i != 1 && (sp->starts[i] != 0 || y->dims[i] != x->dims[i])) return EC_K_REF;
  }
  if (sp->starts[1] < 0 || sp->starts[1] + y->dims[1] > x->dims[1]) return EC_K_REF;
  p->batch = (size_t)(x->dims[0] * x->dims[2] * x->dims[3]);
  p->channels_in = p->channels_out = (size_t)y->dims[1];
  p->in_stride = ec_view_stride(g, n->inputs[0]);
  p->out_stride = ec_view_stride(g, n->outputs[0]);
  p->pre[0] = (size_t)sp->starts[1];
  c->a = n->inputs[0];
  return EC_K_SLICE_NHWC;
}

/* ReduceMean over H and W of NHWC data: a global average pooling. */
static ec_kernel_kind choose_reduce_mean(const ec_graph *g, const ec_node *n, ec_kernel_choice *c, int xnn) {
  const eck_reduce_params *rp = n->params;
  const ec_tensor *x = in_t(g, n, 0);
  if (!rp || rp->fn != ECK_REDUCE_MEAN || rp->axes != 0xcu || !x || x->rank != 4)
    return EC_K_REF;
  return choose_gap(g, n, c, xnn);
}

static ec_kernel_kind choose_pad(const ec_graph *g, const ec_node *n, ec_kernel_choice *c, int xnn) {
  const eck_pad_params *pp = n->params;
  const ec_tensor *x = in_t(g, n, 0), *y = out_t(g, n, 0);
  eck_xnn_params *p = &c->xp;
  if (!pp || pp->mode != ECK_PAD_CONSTANT || !is_f32(x) || !y || x->rank < 1 || x->rank > ECK_XNN_MAX_DIMS)
    return EC_K_REF;
  float v = (float)pp->value;
  if (pp->has_value_input) {
    const ec_tensor *vt = in_t(g, n, 2);
    if (vt && !const_scalar(vt, &v)) return EC_K_REF;
    if (!vt) v = 0.0f;
  }
  int r = x->rank;
  int layout = is_nhwc(x) && !ec_layout_free(x) ? EC_LAYOUT_NHWC : EC_LAYOUT_NCHW;
  if (layout == EC_LAYOUT_NHWC && !is_nhwc(y)) return EC_K_REF;
  if (layout == EC_LAYOUT_NCHW && r == 4 && is_nhwc(y) && !ec_layout_free(y)) return EC_K_REF;
  if (!phys_shape(x, r, layout, p->shape_a)) return EC_K_REF;
  for (int i = 0; i < r; i++) {
    int src = i;
    if (layout == EC_LAYOUT_NHWC) src = i == 0 ? 0 : i == 3 ? 1 : i + 1;
    if (pp->pads[src] < 0 || pp->pads[ECK_MAX_RANK + src] < 0) return EC_K_REF;
    p->pre[i] = (size_t)pp->pads[src];
    p->post[i] = (size_t)pp->pads[ECK_MAX_RANK + src];
  }
  p->kind = xnn;
  p->rank_a = r;
  p->value = v;
  c->a = n->inputs[0];
  return EC_K_XNN;
}

/* Resize (opsets 10-13) and Upsample in linear mode over H and W of NHWC data, N and C kept:
 * XNNPACK's bilinear resize, where it computes what ONNX defines. XNNPACK maps output pixels
 * with the ratio in/out ((in - 1)/(out - 1) aligning corners), ONNX with the given scale, so the
 * scale must be out/in (a scale that floors, like 0.6 of 2 pixels, stays on the reference).
 * pytorch_half_pixel is half_pixel except for a one-pixel output, and aligning corners divides
 * by out - 1: both need out > 1. Linear interpolation clamps the source coordinate into the
 * image in both; exclude_outside only weights cubic taps. */
static ec_kernel_kind choose_resize(const ec_graph *g, const ec_node *n, ec_kernel_choice *c, int xnn) {
  const eck_resize_params *rp = n->params;
  const ec_tensor *x = in_t(g, n, 0), *y = out_t(g, n, 0);
  eck_xnn_params *p = &c->xp;
  /* Layout-free data (one channel, as in the ONNX node tests) needs no conversion. */
  if (!rp || rp->mode != ECK_RESIZE_LINEAR || !is_f32(x) || !is_f32(y) || x->rank != 4 ||
      !nhwc_bytes(x) || !nhwc_bytes(y) || rp->scales[0] != 1.0 || rp->scales[1] != 1.0 || y->dims[0] != x->dims[0] ||
      y->dims[1] != x->dims[1] || ec_tensor_numel(x) <= 0)
    return EC_K_REF;
  for (int a = 2; a < 4; a++) {
    double in = (double)x->dims[a], out = (double)y->dims[a];
    if (fabs(rp->scales[a] * in - out) > 1e-6 * out) return EC_K_REF;
    if (out < 2 && (rp->coord == ECK_COORD_PYTORCH_HALF_PIXEL || rp->coord == ECK_COORD_ALIGN_CORNERS))
      return EC_K_REF;
  }
  switch (rp->coord) {
    case ECK_COORD_HALF_PIXEL:
    case ECK_COORD_PYTORCH_HALF_PIXEL: p->flags = 0; break;
    case ECK_COORD_ALIGN_CORNERS: p->flags = ECK_XNN_FLAG_ALIGN_CORNERS; break;
    case ECK_COORD_ASYMMETRIC: p->flags = ECK_XNN_FLAG_TF_LEGACY; break;
    default: return EC_K_REF;
  }
  p->kind = xnn;
  p->batch = (size_t)x->dims[0];
  p->height = (size_t)x->dims[2];
  p->width = (size_t)x->dims[3];
  p->out_height = (size_t)y->dims[2];
  p->out_width = (size_t)y->dims[3];
  p->channels_in = (size_t)x->dims[1];
  p->in_stride = ec_view_stride(g, n->inputs[0]);
  p->out_stride = ec_view_stride(g, n->outputs[0]);
  p->out_min = -INFINITY;
  p->out_max = INFINITY;
  c->a = n->inputs[0];
  return EC_K_XNN;
}

/* A constant right operand: XNNPACK's fully-connected; two float activations: OpenBLAS. */
/* An element-by-element op of float data on its own vectorized kernel, in either layout (both
 * tensors in the same one): Gelu (com.edgecc) in its Erf and tanh forms, HardSigmoid (alpha and beta: the node's eck_unary_params, read by codegen). */
static ec_kernel_kind choose_elementwise(const ec_graph *g, const ec_node *n, ec_kernel_choice *c, int xnn) {
  const ec_tensor *x = in_t(g, n, 0), *y = out_t(g, n, 0);
  ec_kernel_kind k = n->op == EC_OP_HardSigmoid ? EC_K_HARDSIGMOID : EC_K_GELU;
  (void)xnn;
  if (k == EC_K_GELU && !n->params) return EC_K_REF;
  /* xp.flags: 1 for the tanh form (eck_xnn_gelu_tanh), 0 for the Erf form (eck_xnn_gelu). */
  if (k == EC_K_GELU) c->xp.flags = ((const eck_gelu_params *)n->params)->approximate == ECK_GELU_TANH;
  if (k == EC_K_HARDSIGMOID && !n->params) return EC_K_REF;
  if (!is_f32(x) || !is_f32(y) || x->kind == EC_TK_CONSTANT || ec_tensor_numel(x) != ec_tensor_numel(y) ||
      (x->rank == 4 && x->layout != y->layout && !ec_layout_free(x)))
    return EC_K_REF;
  c->xp.batch = (size_t)ec_tensor_numel(x);
  c->a = n->inputs[0];
  return c->xp.batch ? k : EC_K_REF;
}

/* How a LayerNormalization's scale or bias steps along a row of n: 1 one value per element, 0 one
 * for all, -1 neither (it broadcasts some other way: the reference kernel). */
static int ln_step(const ec_tensor *t, int64_t n) {
  if (!is_f32(t)) return -1;
  int64_t k = ec_tensor_numel(t);
  return k == n ? 1 : k == 1 ? 0 : -1;
}

/* LayerNormalization of float data in ONNX's layout, over its trailing dims, with only its
 * output Y (no Mean or InvStdDev). */
static ec_kernel_kind choose_layernorm(const ec_graph *g, const ec_node *n, ec_kernel_choice *c, int xnn) {
  const eck_norm_params *np = n->params;
  const ec_tensor *x = in_t(g, n, 0), *y = out_t(g, n, 0), *b = in_t(g, n, 2);
  eck_xnn_params *p = &c->xp;
  (void)xnn;
  if (!np || !is_f32(x) || !is_f32(y) || x->kind == EC_TK_CONSTANT || np->axis < 0 || np->axis >= x->rank ||
      out_t(g, n, 1) || out_t(g, n, 2) || (x->rank == 4 && (is_nhwc(x) || is_nhwc(y)) && !ec_layout_free(x)))
    return EC_K_REF;
  int64_t row = 1;
  for (int k = np->axis; k < x->rank; k++) row *= x->dims[k];
  int s_step = ln_step(in_t(g, n, 1), row), b_step = b ? ln_step(b, row) : 0;
  if (row <= 0 || s_step < 0 || b_step < 0) return EC_K_REF;
  p->batch = (size_t)(ec_tensor_numel(x) / row);
  p->channels_in = (size_t)row;
  p->in_stride = (size_t)s_step;
  p->out_stride = (size_t)b_step;
  p->value = np->epsilon;
  c->a = n->inputs[0];
  return EC_K_LAYERNORM;
}

const char *ec_kernel_label(ec_kernel_kind k) {
  static const char *const labels[] = {
#define EC_KERNEL(NAME, emit, label, flags) [EC_K_##NAME] = label,
#include "fast_kernels.def"
  };
  return (unsigned)k < EC_K_COUNT ? labels[k] : "?";
}

const char *ec_kernel_ref_fn(const ec_node *n) {
  return n->kernel && n->kernel->kind == EC_K_RNN ? "eck_xnn_rnn" : ec_ops[n->op].ref_name;
}

/* LSTM, GRU and RNN of float32 data and parameters: every attribute (eck_xnn_rnn). Rank-3 and
 * rank-2 tensors have no layout; Y (rank 4) is read and written in ONNX's order. */
static ec_kernel_kind choose_rnn(const ec_graph *g, const ec_node *n, ec_kernel_choice *c, int xnn) {
  const eck_rnn_params *p = n->params;
  const ec_tensor *x = in_t(g, n, 0);
  (void)xnn;
  if (!p || !is_f32(x) || x->rank != 3 || x->kind == EC_TK_CONSTANT) return EC_K_REF;
  for (int i = 0; i < n->n_inputs + n->n_outputs; i++) {
    const ec_tensor *t = i < n->n_inputs ? in_t(g, n, i) : out_t(g, n, i - n->n_inputs);
    if (t && i != 4 && (!is_f32(t) || (t->rank == 4 && is_nhwc(t) && !ec_layout_free(t)))) return EC_K_REF;
  }
  const int64_t G = p->kind == ECK_LSTM ? 4 : p->kind == ECK_GRU ? 3 : 1;
  const int64_t S = p->layout ? x->dims[1] : x->dims[0];
  if (S < 0 || p->hidden < 1) return EC_K_REF;
  c->a = n->inputs[0];
  c->w = n->inputs[1];
  c->scratch = sizeof(float) * (size_t)ECK_XNN_RNN_SCRATCH(S, G, (int64_t)p->hidden);
  return EC_K_RNN;
}

static ec_kernel_kind choose_matmul(const ec_graph *g, const ec_node *n, ec_kernel_choice *c, int xnn) {
  const ec_tensor *a = in_t(g, n, 0), *b = in_t(g, n, 1);
  if (b && b->kind == EC_TK_CONSTANT) return choose_fc(g, n, c, xnn);
  if (is_f32(a) && is_f32(b) && a->kind != EC_TK_CONSTANT && a->rank >= 2 && b->rank >= 2 &&
      (a->rank != 4 || a->layout != EC_LAYOUT_NHWC || ec_layout_free(a)) &&
      (b->rank != 4 || b->layout != EC_LAYOUT_NHWC || ec_layout_free(b)))
    return EC_K_BLAS_MATMUL;
  return EC_K_REF;
}

/* StridedMatMul (the pass matmul-transpose) of float32 activations in ONNX's layout:
 * eck_blas_strided_matmul, with scratch for one packed A, B and result matrix. */
static ec_kernel_kind choose_strided_matmul(const ec_graph *g, const ec_node *n, ec_kernel_choice *c, int xnn) {
  const ec_tensor *a = in_t(g, n, 0), *b = in_t(g, n, 1), *y = out_t(g, n, 0);
  const eck_strided_matmul_params *p = n->params;
  (void)xnn;
  if (!p || !is_f32(a) || !is_f32(b) || !is_f32(y) || a->rank < 2 || b->rank < 2 || y->rank < 2)
    return EC_K_REF;
  for (int k = 0; k < 3; k++) {
    const ec_tensor *t = k == 0 ? a : k == 1 ? b : y;
    if (t->rank == 4 && t->layout == EC_LAYOUT_NHWC && !ec_layout_free(t)) return EC_K_REF;
  }
  size_t M = (size_t)a->dims[p->perm_a[a->rank - 2]], K = (size_t)a->dims[p->perm_a[a->rank - 1]],
         N = (size_t)b->dims[p->perm_b[b->rank - 1]];
  c->scratch = sizeof(float) * (M * K + K * N + M * N); /* ECK_BLAS_SMM_SCRATCH of eck_blas.h */
  c->a = n->inputs[0];
  c->b = n->inputs[1];
  return EC_K_BLAS_MATMUL;
}

/* The x86-64 default order (no --kernels, a description listing onednn first): whether oneDNN
 * runs primitive p, by op kind, from CPU time and per-step medians of the zoo models on both
 * families (docs/fast-kernels.md, "The default order"): every kind but Mul, whose broadcasting
 * per-channel scale (squeeze-and-excitation) XNNPACK runs faster. A pure function of the
 * parameters: compiling never measures. */
static bool dnnl_by_default(const eck_dnnl_params *p) {
  switch (p->kind) {
    case ECK_DNNL_MUL: return false;
    default: return true;
  }
}

/* A depthwise convolution (one filter per channel) whose window XNNPACK has no depthwise kernel for
 * and eck_xnn_dwconv takes. */
static bool big_depthwise(const eck_xnn_params *p) {
  size_t taps = (size_t)p->kernel[0] * p->kernel[1];
  return p->groups > 1 && p->channels_in == 1 && p->channels_out == 1 && taps > 25 && taps <= ECK_XNN_DW_MAX_TAPS;
}

/* Whether oneDNN 2.6's JIT binary kernel takes this broadcast (it runs the others on ref:any, its
 * reference kernel: swin_t's window-mask Add, [1,64,3,49,49] + [1,64,1,49,49], took 22 ms there
 * against 0.3 ms on XNNPACK). Over the dims where the output is not 1, the operand that
 * broadcasts must do so over a leading run of them (a batch, or all but the trailing row: a
 * bias) or over all but dim 1 (per channel); an operand of the output's shape always fits. */
static bool dnnl_broadcast_jit(const eck_dnnl_params *p) {
  int r = p->rank_a > p->rank_b ? p->rank_a : p->rank_b;
  bool lead = true, per_oc = true, seen = false;
  for (int i = 0; i < r; i++) {
    int ia = i - (r - p->rank_a), ib = i - (r - p->rank_b);
    size_t da = ia >= 0 ? p->shape_a[ia] : 1, db = ib >= 0 ? p->shape_b[ib] : 1;
    if (da == db) { /* not broadcast (or the output's dim is 1 there) */
      seen = da != 1 || seen;
      if (da != 1 && i != 1) per_oc = false;
      continue;
    }
    if (seen) lead = false; /* a broadcast dim after a full one */
    if (i == 1) per_oc = false;
  }
  return lead || per_oc;
}

/* --kernels onednn: the oneDNN primitive standing in for the XNNPACK operator choose picked (its
 * EC_DNNL row), with the operator's parameters carried over, when it reads and writes dense
 * tensors; else the XNNPACK operator stays. by_default: only where the default order gives it
 * oneDNN (dnnl_by_default). */
static ec_kernel_kind to_dnnl(const ec_graph *g, const ec_node *n, ec_kernel_choice *c, bool by_default) {
  const eck_xnn_params *x = &c->xp;
  eck_dnnl_params *p = &c->dp;
  int kind = 0;
  for (int k = 1; k < EC_DNNL_ROWS && !kind; k++)
    if (dnnl_rows[k].xnn == x->kind) kind = k;
  if (!kind) return EC_K_XNN;
  memset(p, 0, sizeof *p);
  p->kind = kind;
  p->out_min = x->out_min;
  p->out_max = x->out_max;
  memcpy(p->pad, x->pad, sizeof p->pad);
  memcpy(p->kernel, x->kernel, sizeof p->kernel);
  memcpy(p->stride, x->stride, sizeof p->stride);
  memcpy(p->dilation, x->dilation, sizeof p->dilation);
  p->groups = x->groups;
  p->channels_in = x->channels_in;
  p->channels_out = x->channels_out;
  p->in_stride = x->in_stride;
  p->out_stride = x->out_stride;
  p->batch = x->batch;
  p->height = x->height;
  p->width = x->width;
  /* the int8 kinds' quantization (0 for the others) */
  p->q_unsigned = x->q_unsigned;
  p->in_scale = x->in_scale, p->w_scale = x->w_scale, p->out_scale = x->out_scale;
  p->in_zp = x->in_zp, p->out_zp = x->out_zp;
  p->w_scales = x->w_scales;
  switch (kind) {
    case ECK_DNNL_CONV: {
      size_t g = x->groups ? x->groups : 1;
      /* An output into a Concat's channels (concat-in-place) runs on a dense copy in the step's
       * stage (eck_dnnl_stage_bytes: the memory plan gives it as the step's scratch). */
      if (x->in_stride != x->channels_in * g) return EC_K_XNN;
      p->flags = ECK_DNNL_W_OHWI; /* lowering re-ordered the weights for XNNPACK (or OIHW = OHWI) */
      /* fuse-sum: the residual (input 3) added to the output, the clamp before or after it. */
      const ec_attr *sum = attr(n, EC_ATTR_SUM);
      if (sum) {
        if (n->n_inputs <= EC_SUM_INPUT || n->inputs[EC_SUM_INPUT] < 0 || x->out_stride != x->channels_out * g)
          return EC_K_XNN;
        p->flags |= ECK_DNNL_SUM | (sum->i == EC_SUM_CLAMP_FIRST ? ECK_DNNL_CLAMP_FIRST : 0);
        c->b = n->inputs[EC_SUM_INPUT];
      }
      break;
    }
    case ECK_DNNL_FC:
      if (x->flags & 1) p->flags = ECK_DNNL_W_IN_OUT; /* XNN_FLAG_TRANSPOSE_WEIGHTS */
      break;
    case ECK_DNNL_QCONV:
    case ECK_DNNL_QFC: {
      /* int8 weights only (uint8 weights stay on XNNPACK's qu8), dense data; no fused clamp and
       * no residual sum: a QLinearAdd after the convolution rounds the convolution's output to
       * int8 first, which a sum post-op would skip (not exact), so it stays a step. */
      const ec_tensor *w = in_t(g, n, 3);
      size_t g_ = x->groups ? x->groups : 1;
      if (!w || w->dtype != ECK_INT8) return EC_K_XNN;
      if (kind == ECK_DNNL_QCONV && (x->in_stride != x->channels_in * g_ || x->out_stride != x->channels_out * g_))
        return EC_K_XNN;
      p->flags = kind == ECK_DNNL_QFC ? ECK_DNNL_W_IN_OUT /* a QLinearMatMul's [in, out] */ : ECK_DNNL_W_OHWI;
      break;
    }
    case ECK_DNNL_MAXPOOL:
    case ECK_DNNL_AVGPOOL: {
      const ec_tensor *y = out_t(g, n, 0);
      if (x->in_stride != x->channels_in) return EC_K_XNN; /* a strided output is staged, as conv's */
      /* choose_pool fitted the pads to the output (ceil_mode's extra row is padding XNNPACK's
       * average does not count): the same output size, padding excluded. */
      p->out_height = (size_t)y->dims[2];
      p->out_width = (size_t)y->dims[3];
      break;
    }
    default: /* ADD, MUL */
      p->rank_a = x->rank_a;
      p->rank_b = x->rank_b;
      memcpy(p->shape_a, x->shape_a, sizeof p->shape_a);
      memcpy(p->shape_b, x->shape_b, sizeof p->shape_b);
      if (!dnnl_broadcast_jit(p)) return EC_K_XNN;
      break;
  }
  if (by_default && !dnnl_by_default(p)) return EC_K_XNN;
  return EC_K_DNNL;
}

/* An AveragePool with explicit padding that counts in its divisor (count_include_pad). */
static bool avg_counts_pad(const ec_node *n) {
  const eck_pool_params *pp = n->params;
  if (n->op != EC_OP_AveragePool || !pp || !pp->count_include_pad) return false;
  for (int i = 0; i < 3; i++)
    if (pp->pad_begin[i] || pp->pad_end[i]) return true;
  return false;
}

ec_kernel_kind ec_choose_kernel(const ec_graph *g, const ec_node *n, const char *kernels,
                                ec_kernel_choice *c) {
  memset(c, 0, sizeof *c);
  c->a = c->b = c->w = c->bias = -1;
  if (!ec_kernels_fast(kernels) || n->op < 0 || n->family == EC_KF_REF) return c->kind = EC_K_REF;
  /* A data-dependent extent (ec_tensor.dyn) is known only at run time; fast operators fix shapes
   * when they are created. */
  for (int i = 0; i < n->n_inputs; i++)
    if (n->inputs[i] >= 0 && g->tensors[n->inputs[i]].dyn) return c->kind = EC_K_REF;
  for (int i = 0; i < n->n_outputs; i++)
    if (n->outputs[i] >= 0 && g->tensors[n->outputs[i]].dyn) return c->kind = EC_K_REF;
  ec_kernel_kind k = EC_K_REF;
  switch (n->op) {
#define EC_FAST_OP(Op, choose, xnn, layout) \
  case EC_OP_##Op: k = choose(g, n, c, xnn); break;
#include "fast_kernels.def"
    default: break;
  }
  /* A node's family says whether oneDNN runs it; before planning, the library the caller names. */
  if (k == EC_K_XNN && (n->family == EC_KF_ONEDNN || n->family == EC_KF_ONEDNN_DEFAULT ||
                        (n->family == EC_KF_UNSET && strcmp(kernels, "onednn") == 0)))
    k = to_dnnl(g, n, c, n->family == EC_KF_ONEDNN_DEFAULT);
  /* An average whose explicit padding counts (count_include_pad with pads): oneDNN's
   * include-padding algorithm; XNNPACK has none (its average excludes padding). */
  if ((k == EC_K_XNN || k == EC_K_DNNL) && avg_counts_pad(n)) {
    if (k == EC_K_DNNL && c->dp.kind == ECK_DNNL_AVGPOOL)
      c->dp.flags |= ECK_DNNL_AVG_INCLUDE_PAD;
    else
      k = EC_K_REF;
  }
  /* int8 parameters only oneDNN takes, where it did not: the reference kernel. */
  if (k == EC_K_XNN && xnn_int8_unsupported(g, n, &c->xp)) k = EC_K_REF;
  /* XNNPACK 2022's depthwise kernels stop at 25 taps; past them it runs a GEMM per channel, five
   * times slower than eck_xnn_dwconv on ConvNeXt's 7x7 (oneDNN, above, has its own). */
  if (k == EC_K_XNN && c->xp.kind == ECK_XNN_CONV && big_depthwise(&c->xp)) k = EC_K_DWCONV;
  /* A fused residual sum only oneDNN's convolution adds: nothing else may run the node (codegen's
   * reference path refuses it loudly). */
  if (attr(n, EC_ATTR_SUM) && !(k == EC_K_DNNL && (c->dp.flags & ECK_DNNL_SUM))) k = EC_K_REF;
  if (k == EC_K_REF) {
    memset(c, 0, sizeof *c);
    c->a = c->b = c->w = c->bias = -1;
  }
  return c->kind = k;
}
