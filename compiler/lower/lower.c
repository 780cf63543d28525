/* lower.c — ec_lower: rewrites a graph for the fast kernels (channel shuffle, Pad folding, NHWC
 * layout with conversions at the edges, activation fusion). Each step is one function below. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lower.h"
#include "op.h"

const char *const ec_lower_steps[] = {"channel-shuffle", "fold-pad", "nhwc",          "cancel-transpose",
                                      "fuse-act",        "fuse-sum", "fold-pad-pool", "concat-in-place"};
const int ec_n_lower_steps = (int)(sizeof ec_lower_steps / sizeof ec_lower_steps[0]);

bool ec_lower_is_step(const char *name) {
  for (int i = 0; i < ec_n_lower_steps; i++)
    if (strcmp(ec_lower_steps[i], name) == 0) return true;
  return false;
}

static bool step_on(const ec_lower_opts *o, const char *name) {
  for (int i = 0; i < o->n_disabled; i++)
    if (strcmp(o->disabled[i], name) == 0 || strcmp(o->disabled[i], "all") == 0) return false;
  return true;
}

/* ---- graph editing helpers ---------------------------------------------------------------- */

static ec_status add_attr(ec_node *n, const char *name, ec_attr_type type, int64_t i, float f) {
  for (int k = 0; k < n->n_attrs; k++)
    if (strcmp(n->attrs[k].name, name) == 0) {
      n->attrs[k].i = i;
      n->attrs[k].f = f;
      return EC_OK;
    }
  ec_attr *a = ec_realloc_array(n->attrs, (size_t)n->n_attrs + 1, sizeof *a);
  if (!a) return EC_ERR_INTERNAL;
  n->attrs = a;
  a = &n->attrs[n->n_attrs];
  memset(a, 0, sizeof *a);
  a->name = ec_strdup(name);
  if (!a->name) return EC_ERR_INTERNAL;
  a->type = type;
  a->i = i;
  a->f = f;
  a->used = true;
  n->n_attrs++;
  return EC_OK;
}

static const ec_attr *find_attr(const ec_node *n, const char *name) {
  for (int k = 0; k < n->n_attrs; k++)
    if (strcmp(n->attrs[k].name, name) == 0) return &n->attrs[k];
  return NULL;
}

/* A new tensor shaped like `like`, named after it with a suffix that no tensor has yet. */
static int new_tensor_like(ec_graph *g, int like, const char *suffix) {
  char name[600];
  snprintf(name, sizeof name, "%s%s", g->tensors[like].name, suffix);
  for (int k = 2; ec_graph_find(g, name) >= 0; k++)
    snprintf(name, sizeof name, "%s%s%d", g->tensors[like].name, suffix, k);
  int t = ec_graph_tensor(g, name);
  if (t < 0) return -1;
  ec_tensor *nt = &g->tensors[t], *src = &g->tensors[like];
  nt->dtype = src->dtype;
  nt->rank = src->rank;
  memcpy(nt->dims, src->dims, sizeof nt->dims);
  nt->kind = EC_TK_ACTIVATION;
  nt->layout = src->layout;
  return t;
}

/* Adds the node `to` = layout conversion of `from` (same logical dims). */
static ec_status add_conversion(ec_graph *g, int from, int to) {
  char name[600];
  snprintf(name, sizeof name, "%s", g->tensors[to].name);
  int ni = ec_graph_add_node(g, "Transpose", "", name);
  if (ni < 0) return EC_ERR_INTERNAL;
  ec_node *n = &g->nodes[ni];
  n->op = ec_op_find("Transpose", "");
  eck_transpose_params *tp = ec_alloc(sizeof *tp);
  if (!tp) return EC_ERR_INTERNAL;
  bool to_nhwc = g->tensors[to].layout == EC_LAYOUT_NHWC;
  static const int32_t p1[4] = {0, 2, 3, 1}, p2[4] = {0, 3, 1, 2};
  memcpy(tp->perm, to_nhwc ? p1 : p2, sizeof p1);
  n->params = tp;
  n->params_size = sizeof *tp;
  ec_status st = add_attr(n, EC_ATTR_LAYOUT, EC_ATTR_INT, to_nhwc, 0);
  if (!st) st = ec_node_set_inputs(g, ni, &from, 1);
  if (!st) st = ec_node_set_outputs(g, ni, &to, 1);
  return st;
}

static bool is_float_act(const ec_tensor *t, int rank) {
  return t->dtype == ECK_FLOAT && t->rank == rank && t->kind != EC_TK_CONSTANT;
}

/* A 4-D activation of float or one-byte (int8, uint8) elements: what the nhwc step may re-order. */
static bool is_layout_act(const ec_tensor *t) {
  return (t->dtype == ECK_FLOAT || t->dtype == ECK_UINT8 || t->dtype == ECK_INT8) && t->rank == 4 &&
         t->kind != EC_TK_CONSTANT;
}

/* The input holding a convolution's weights, re-ordered to OHWI by the nhwc step (-1: none). */
static int conv_weight_input(const ec_node *n) {
  return n->op == EC_OP_Conv ? 1 : n->op == EC_OP_QLinearConv ? 3 : -1;
}

static int single_consumer(const ec_graph *g, int t) {
  const ec_tensor *x = &g->tensors[t];
  if (x->is_output || x->n_consumers != 1) return -1;
  int c = x->consumers[0];
  return g->nodes[c].dead ? -1 : c;
}

static ec_status relink(ec_graph *g, ec_diag *d) {
  ec_status st = ec_graph_link(g);
  if (!st) st = ec_graph_compact(g);
  if (!st) st = ec_graph_link(g);
  if (!st) st = ec_graph_toposort(g, d);
  return st;
}

/* ---- channel-shuffle ---------------------------------------------------------------------- */

/* Reshape [N,C,H,W]->[N,g,C/g,H,W], Transpose (0,2,1,3,4), Reshape back to [N,C,H,W], with
 * node i the Transpose: the Reshapes r1 and r2, the 4-D tensors x and y around them and the
 * group count. Pure: lowering rewrites what it finds, the planner asks which tensors go. */
static bool shuffle_at(const ec_graph *g, int i, int *r1, int *r2, int *x, int *y, int64_t *groups) {
  const ec_node *t = &g->nodes[i];
  if (t->dead || t->family == EC_KF_REF || t->op != EC_OP_Transpose || t->n_inputs != 1 || t->n_outputs != 1 ||
      !t->params)
    return false;
  const eck_transpose_params *tp = t->params;
  static const int32_t want[5] = {0, 2, 1, 3, 4};
  if (memcmp(tp->perm, want, sizeof want) != 0) return false;
  int x5 = t->inputs[0], y5 = t->outputs[0];
  if (x5 < 0 || y5 < 0 || g->tensors[x5].rank != 5) return false;
  *r1 = g->tensors[x5].producer, *r2 = single_consumer(g, y5);
  if (*r1 < 0 || *r2 < 0 || single_consumer(g, x5) != i) return false;
  const ec_node *a = &g->nodes[*r1], *b = &g->nodes[*r2];
  if (a->op != EC_OP_Reshape || b->op != EC_OP_Reshape || a->inputs[0] < 0 || b->outputs[0] < 0) return false;
  *x = a->inputs[0], *y = b->outputs[0];
  const ec_tensor *tx = &g->tensors[*x], *ty = &g->tensors[*y], *t5 = &g->tensors[x5];
  if (!is_float_act(tx, 4) || ty->rank != 4 || memcmp(tx->dims, ty->dims, 4 * sizeof(int64_t)) != 0 ||
      t5->dims[0] != tx->dims[0] || t5->dims[1] * t5->dims[2] != tx->dims[1] ||
      t5->dims[3] != tx->dims[2] || t5->dims[4] != tx->dims[3])
    return false;
  *groups = t5->dims[1];
  return true;
}

/* The Transpose node becomes the shuffle (X -> Y), both Reshapes go. */
static ec_status lower_shuffle(ec_graph *g, int *count) {
  for (int i = 0; i < g->n_nodes; i++) {
    int r1, r2, x, y;
    int64_t groups;
    if (!shuffle_at(g, i, &r1, &r2, &x, &y, &groups)) continue;
    ec_status st = add_attr(&g->nodes[i], EC_ATTR_SHUFFLE, EC_ATTR_INT, groups, 0);
    if (!st) st = ec_node_set_inputs(g, i, &x, 1);
    if (!st) st = ec_node_set_outputs(g, i, &y, 1);
    if (st) return st;
    g->nodes[r1].dead = true;
    g->nodes[r2].dead = true;
    (*count)++;
  }
  return EC_OK;
}

/* ---- fold-pad ------------------------------------------------------------------------------ */

static bool zero_value(const ec_graph *g, const ec_node *p) {
  const eck_pad_params *pp = p->params;
  if (!pp->has_value_input) return pp->value == 0.0;
  if (p->n_inputs < 3 || p->inputs[2] < 0) return true;
  const ec_tensor *v = &g->tensors[p->inputs[2]];
  if (v->kind != EC_TK_CONSTANT || v->dtype != ECK_FLOAT || ec_tensor_numel(v) != 1 || !v->data) return false;
  float f;
  memcpy(&f, v->data, sizeof f);
  return f == 0.0f;
}

/* Node p is a live zero constant Pad of a 4-D float activation by non-negative widths on H and W
 * only, what fold-pad and fold-pad-pool fold into their reader's padding: its pads (begins of the 4
 * dims at [0..4), ends at [ECK_MAX_RANK..+4)), else NULL. */
static const int64_t *hw_zero_pad(const ec_graph *g, const ec_node *p) {
  if (p->dead || p->op != EC_OP_Pad || !p->params || p->inputs[0] < 0 || p->outputs[0] < 0) return NULL;
  const eck_pad_params *pp = p->params;
  if (pp->mode != ECK_PAD_CONSTANT || !is_float_act(&g->tensors[p->inputs[0]], 4) || !zero_value(g, p)) return NULL;
  const int64_t *pb = pp->pads, *pe = pp->pads + ECK_MAX_RANK;
  if (pb[0] || pb[1] || pe[0] || pe[1] || pb[2] < 0 || pb[3] < 0 || pe[2] < 0 || pe[3] < 0) return NULL;
  return pp->pads;
}

static ec_status lower_fold_pad(ec_graph *g, int *count) {
  for (int i = 0; i < g->n_nodes; i++) {
    ec_node *p = &g->nodes[i];
    const int64_t *pb = hw_zero_pad(g, p);
    if (!pb) continue;
    const int64_t *pe = pb + ECK_MAX_RANK;
    int x = p->inputs[0], y = p->outputs[0];
    const ec_tensor *ty = &g->tensors[y];
    if (ty->is_output || ty->n_consumers < 1) continue;
    bool ok = true;
    for (int k = 0; k < ty->n_consumers && ok; k++) {
      const ec_node *c = &g->nodes[ty->consumers[k]];
      const eck_conv_params *cp = c->params;
      ok = !c->dead && c->op == EC_OP_Conv && cp && cp->nsp == 2 && c->inputs[0] == y &&
           c->inputs[1] != y && (c->n_inputs < 3 || c->inputs[2] != y);
    }
    if (!ok) continue;
    for (int k = 0; k < ty->n_consumers; k++) {
      ec_node *c = &g->nodes[ty->consumers[k]];
      eck_conv_params *cp = c->params;
      cp->pad_begin[1] += pb[2];
      cp->pad_begin[2] += pb[3];
      cp->pad_end[1] += pe[2];
      cp->pad_end[2] += pe[3];
      c->inputs[0] = x;
    }
    p->dead = true;
    (*count)++;
  }
  return EC_OK;
}

/* ---- nhwc ---------------------------------------------------------------------------------- */

enum { CLS_NCHW = 0, CLS_WANT, CLS_FOLLOW, CLS_TO_LAST, CLS_TO_FIRST };

/* The layout column of fast_kernels.def, per op (ops without a row: NCHW). */
enum { EC_FAST_NCHW = 0, EC_FAST_NHWC, EC_FAST_FOLLOW, EC_FAST_FOLLOW_X, EC_FAST_FOLLOW_FAST };
static const unsigned char fast_layout[EC_OP_COUNT] = {
#define EC_FAST_OP(Op, choose, xnn, layout) [EC_OP_##Op] = EC_FAST_##layout,
#include "fast_kernels.def"
};

static int layout_of(const ec_node *n) { return n->op >= 0 && n->op < EC_OP_COUNT ? fast_layout[n->op] : EC_FAST_NCHW; }

/* Node n as it would be with input 0, output 0 (and input `weights`, when > 0) in NHWC: a copy of
 * n and of the tensors it reads and writes, so that asking ec_choose_kernel what-if never writes
 * the graph (the planner's cost model asks before lowering). The copies have no producer or
 * consumers: no tensor is a view of another before concat-in-place, which runs last. */
#define SHADOW_MAX 10 /* QLinearConv reads 9 */
typedef struct shadow {
  ec_graph g;
  ec_node n;
  ec_tensor t[2 * SHADOW_MAX];
  int in[SHADOW_MAX], out[SHADOW_MAX];
} shadow;

static bool shadow_nhwc(const ec_graph *g, const ec_node *n, int weights, shadow *s) {
  if (n->n_inputs > SHADOW_MAX || n->n_outputs > SHADOW_MAX || n->n_inputs < 1 || n->n_outputs < 1 ||
      n->inputs[0] < 0 || n->outputs[0] < 0)
    return false;
  memset(&s->g, 0, sizeof s->g);
  s->n = *n;
  int nt = 0;
  for (int k = 0; k < n->n_inputs + n->n_outputs; k++) {
    bool is_in = k < n->n_inputs;
    int src = is_in ? n->inputs[k] : n->outputs[k - n->n_inputs];
    int *dst = is_in ? &s->in[k] : &s->out[k - n->n_inputs];
    *dst = -1;
    if (src < 0) continue;
    s->t[nt] = g->tensors[src];
    s->t[nt].producer = -1;
    s->t[nt].n_consumers = 0;
    s->t[nt].consumers = NULL;
    *dst = nt++;
  }
  s->t[s->in[0]].layout = s->t[s->out[0]].layout = EC_LAYOUT_NHWC;
  if (weights > 0 && n->n_inputs > weights && s->in[weights] >= 0) s->t[s->in[weights]].layout = EC_LAYOUT_NHWC;
  s->g.tensors = s->t;
  s->g.n_tensors = nt;
  s->n.inputs = s->in;
  s->n.outputs = s->out;
  return true;
}

/* Would XNNPACK run node i if its input 0 and output 0 (and a Conv's weights) were NHWC? */
static bool wants_nhwc(const ec_graph *g, int i, const char *kernels, ec_kernel_choice *c) {
  const ec_node *n = &g->nodes[i];
  if (layout_of(n) != EC_FAST_NHWC) return false;
  if (n->inputs[0] < 0 || n->outputs[0] < 0 || !is_layout_act(&g->tensors[n->inputs[0]])) return false;
  shadow s;
  return shadow_nhwc(g, n, conv_weight_input(n), &s) && ec_choose_kernel(&s.g, &s.n, kernels, c) != EC_K_REF;
}

/* Would the fast kernel of n (BatchNormalization, Slice) run it with input 0 and output 0 in
 * NHWC? Such ops follow their input's layout only where they then have a kernel. */
static bool fast_in_nhwc(const ec_graph *g, const ec_node *n) {
  shadow s;
  ec_kernel_choice c;
  return shadow_nhwc(g, n, -1, &s) && ec_choose_kernel(&s.g, &s.n, "xnnpack", &c) != EC_K_REF;
}

/* Layout-following ops (FOLLOW* in fast_kernels.def): float, rank 4, constants only where their
 * bytes fit any layout. QLinearAdd and QLinearMul follow with 8-bit data in inputs 0 and 3 (the
 * others are their scalar scales and zero points). */
static bool follows(const ec_graph *g, const ec_node *n) {
  int layout = layout_of(n);
  bool q8 = n->op == EC_OP_QLinearAdd || n->op == EC_OP_QLinearMul;
  int32_t dt = q8 && n->n_inputs > 3 && n->inputs[0] >= 0 ? g->tensors[n->inputs[0]].dtype : ECK_FLOAT;
  if (layout < EC_FAST_FOLLOW || n->n_outputs < 1 || n->outputs[0] < 0 ||
      g->tensors[n->outputs[0]].dtype != dt || g->tensors[n->outputs[0]].rank != 4)
    return false;
  if (layout == EC_FAST_FOLLOW_FAST && !fast_in_nhwc(g, n)) return false;
  int data_inputs = q8 ? 4 : layout == EC_FAST_FOLLOW ? n->n_inputs : 1;
  /* What an op's kernels need of a node to run it in either layout. */
  switch (n->op) {
    case EC_OP_Pad: {
      const eck_pad_params *pp = n->params;
      if (!pp || pp->mode != ECK_PAD_CONSTANT) return false;
      break;
    }
    case EC_OP_Concat: {
      const eck_axis_params *ap = n->params;
      if (!ap || ap->axis != 1) return false;
      break;
    }
    case EC_OP_Transpose:
      if (!find_attr(n, EC_ATTR_SHUFFLE)) return false;
      break;
    default: break;
  }
  for (int k = 0; k < data_inputs; k++) {
    if (q8 && k % 3) continue;
    if (n->inputs[k] < 0) return false;
    const ec_tensor *t = &g->tensors[n->inputs[k]];
    if (t->dtype != dt || t->rank > 4) return false;
    if (t->kind == EC_TK_CONSTANT || t->rank < 4) {
      int64_t d[4] = {1, 1, 1, 1};
      for (int j = 0; j < t->rank; j++) d[4 - t->rank + j] = t->dims[j];
      if (!(d[1] == 1 || d[2] * d[3] == 1)) return false;
    }
  }
  return true;
}

/* OIHW -> OHWI (float or one-byte elements) in a new buffer owned by the tensor (or a new
 * constant when shared). ohwi_of[w] (w below n_ohwi): the constant an earlier convolution made
 * from w, which this one reads too: a weight several convolutions share (merged models' weights
 * stored once) stays one tensor after the reorder. */
static ec_status reorder_weights(ec_graph *g, int ni, int *ohwi_of, int n_ohwi) {
  int wi = conv_weight_input(&g->nodes[ni]);
  int w = g->nodes[ni].inputs[wi];
  ec_tensor *t = &g->tensors[w];
  if (t->layout == EC_LAYOUT_NHWC || t->dims[1] == 1 || t->dims[2] * t->dims[3] == 1 || !t->data) return EC_OK;
  if (w < n_ohwi && ohwi_of[w] >= 0) {
    g->nodes[ni].inputs[wi] = ohwi_of[w];
    return EC_OK;
  }
  int64_t o = t->dims[0], c = t->dims[1], hw = t->dims[2] * t->dims[3];
  size_t es = eck_dtype_size(t->dtype);
  unsigned char *dst = malloc(es * (size_t)(o * c * hw));
  if (!dst) return EC_ERR_INTERNAL;
  const unsigned char *src = t->data;
  for (int64_t a = 0; a < o; a++)
    for (int64_t k = 0; k < c; k++)
      for (int64_t p = 0; p < hw; p++) memcpy(dst + es * (size_t)((a * hw + p) * c + k), src + es * (size_t)((a * c + k) * hw + p), es);
  int target = w;
  if (t->n_consumers != 1 || t->is_output) {
    target = new_tensor_like(g, w, "_ohwi");
    if (target < 0) {
      free(dst);
      return EC_ERR_INTERNAL;
    }
    g->tensors[target].kind = EC_TK_CONSTANT;
    g->nodes[ni].inputs[wi] = target;
    if (w < n_ohwi) ohwi_of[w] = target;
  }
  ec_status st = ec_tensor_set_data(&g->tensors[target], dst, es * (size_t)(o * c * hw), true);
  if (st) {
    free(dst);
    return st;
  }
  g->tensors[target].kind = EC_TK_CONSTANT;
  g->tensors[target].layout = EC_LAYOUT_NHWC;
  return EC_OK;
}

/* cancel-transpose: a model's own permute between channels-first and channels-last (ConvNeXt's
 * and Swin's Permute around LayerNorm and Linear) against the layout lowering gives its input.
 * Transpose (0,2,3,1) of NHWC data makes [N,H,W,C] in exactly the order the bytes already are, and
 * Transpose (0,3,1,2) of plain [N,H,W,C] data is that tensor's NHWC form: either way the output is
 * the input's bytes. CLS_TO_LAST / CLS_TO_FIRST for such a node (given its input's layout, which
 * the forward walk has fixed), else 0. */
static int same_bytes_transpose(const ec_graph *g, const ec_node *n) {
  static const int32_t to_last[4] = {0, 2, 3, 1}, to_first[4] = {0, 3, 1, 2};
  if (n->op != EC_OP_Transpose || !n->params || n->n_inputs != 1 || n->n_outputs != 1 || n->inputs[0] < 0 ||
      n->outputs[0] < 0 || find_attr(n, EC_ATTR_LAYOUT) || find_attr(n, EC_ATTR_SHUFFLE))
    return 0;
  const ec_tensor *x = &g->tensors[n->inputs[0]], *y = &g->tensors[n->outputs[0]];
  const eck_transpose_params *tp = n->params;
  /* A layout-free input (one channel, or one pixel) has the same bytes in either layout. */
  bool free_x = ec_layout_free(x);
  if (!is_layout_act(x) || y->rank != 4) return 0;
  if (memcmp(tp->perm, to_last, sizeof to_last) == 0 && (free_x || x->layout == EC_LAYOUT_NHWC)) return CLS_TO_LAST;
  if (memcmp(tp->perm, to_first, sizeof to_first) == 0 && (free_x || x->layout == EC_LAYOUT_NCHW)) return CLS_TO_FIRST;
  return 0;
}

/* The Transpose becomes a copy of its input's bytes (op Identity; op_type stays "Transpose", so
 * the generated comments name what the model wrote). The memory plan puts the output on the
 * input's bytes where the input dies there, and codegen then emits no step at all. */
static ec_status to_same_bytes(ec_node *n) {
  free(n->params);
  n->params = NULL;
  n->params_size = 0;
  n->op = EC_OP_Identity;
  return add_attr(n, EC_ATTR_SAME_BYTES, EC_ATTR_INT, 1, 0);
}

static ec_status lower_nhwc(ec_graph *g, const char *kernels, bool cancel, int *count, ec_diag *d) {
  int n0 = g->n_nodes, nw = g->n_tensors;
  signed char *cls = ec_alloc((size_t)n0 + 1);
  int *ohwi_of = ec_alloc(sizeof(int) * ((size_t)nw + 1));
  if (!cls || !ohwi_of) {
    free(cls), free(ohwi_of);
    return EC_ERR_INTERNAL;
  }
  for (int t = 0; t < nw; t++) ohwi_of[t] = -1;
  /* Forward: decide each output's layout from the op and its inputs' layouts. */
  for (int i = 0; i < n0; i++) {
    ec_node *n = &g->nodes[i];
    if (n->dead) continue;
    /* A node left to the reference kernels (its device has no others) keeps NCHW throughout. */
    ec_kernel_choice kc;
    int perm = n->family == EC_KF_REF || !cancel ? 0 : same_bytes_transpose(g, n);
    cls[i] = n->family == EC_KF_REF ? CLS_NCHW : perm ? perm : wants_nhwc(g, i, kernels, &kc) ? CLS_WANT : follows(g, n) ? CLS_FOLLOW : CLS_NCHW;
    int layout = EC_LAYOUT_NCHW;
    if (perm) {
      if (to_same_bytes(n)) {
        free(cls), free(ohwi_of);
        return EC_ERR_INTERNAL;
      }
      g->tensors[n->outputs[0]].layout = perm == CLS_TO_FIRST ? EC_LAYOUT_NHWC : EC_LAYOUT_NCHW;
      (*count)++;
      continue;
    }
    if (cls[i] == CLS_WANT) {
      layout = EC_LAYOUT_NHWC;
    } else if (cls[i] == CLS_FOLLOW) {
      for (int k = 0; k < n->n_inputs; k++) {
        const ec_tensor *t = n->inputs[k] >= 0 ? &g->tensors[n->inputs[k]] : NULL;
        if (t && t->rank == 4 && t->layout == EC_LAYOUT_NHWC && !ec_layout_free(t)) layout = EC_LAYOUT_NHWC;
      }
    }
    for (int k = 0; k < (cls[i] == CLS_WANT ? 1 : n->n_outputs); k++)
      if (n->outputs[k] >= 0 && g->tensors[n->outputs[k]].rank == 4) g->tensors[n->outputs[k]].layout = layout;
    if (cls[i] == CLS_WANT && conv_weight_input(n) > 0) {
      ec_status st = reorder_weights(g, i, ohwi_of, nw);
      if (st) {
        free(cls), free(ohwi_of);
        return st;
      }
    }
  }
  /* conv_of[t]: the tensor holding t in the other layout, once made. */
  int nt0 = g->n_tensors;
  int *conv_of = ec_alloc(sizeof(int) * ((size_t)nt0 * 2 + 1));
  ec_status st = conv_of ? EC_OK : EC_ERR_INTERNAL;
  for (int t = 0; conv_of && t < nt0; t++) conv_of[t] = -1;
  /* Graph outputs keep ONNX's layout: the producer writes an NHWC twin, converted at the end. */
  for (int k = 0; !st && k < g->n_outputs; k++) {
    int t = g->outputs[k];
    if (g->tensors[t].layout != EC_LAYOUT_NHWC || ec_layout_free(&g->tensors[t])) continue;
    int twin = new_tensor_like(g, t, "_nhwc");
    if (twin < 0) {
      st = EC_ERR_INTERNAL;
      break;
    }
    g->tensors[twin].is_output = false;
    int p = g->tensors[t].producer;
    for (int j = 0; p >= 0 && j < g->nodes[p].n_outputs; j++)
      if (g->nodes[p].outputs[j] == t) g->nodes[p].outputs[j] = twin;
    for (int i = 0; i < n0; i++)
      for (int j = 0; !g->nodes[i].dead && j < g->nodes[i].n_inputs; j++)
        if (g->nodes[i].inputs[j] == t) g->nodes[i].inputs[j] = twin;
    g->tensors[t].layout = EC_LAYOUT_NCHW;
    st = add_conversion(g, twin, t);
    if (!st && twin < nt0) conv_of[twin] = t;
    (*count)++;
  }
  /* Inputs whose layout differs from what their node needs get a conversion (one per tensor). */
  for (int i = 0; !st && i < n0; i++) {
    if (g->nodes[i].dead) continue;
    int want_out = g->nodes[i].n_outputs > 0 && g->nodes[i].outputs[0] >= 0
                       ? g->tensors[g->nodes[i].outputs[0]].layout
                       : EC_LAYOUT_NCHW;
    for (int k = 0; !st && k < g->nodes[i].n_inputs; k++) {
      int t = g->nodes[i].inputs[k];
      if (t < 0 || t >= nt0) continue;
      const ec_tensor *tt = &g->tensors[t];
      if (tt->rank != 4 || tt->kind == EC_TK_CONSTANT || ec_layout_free(tt)) continue;
      int need = EC_LAYOUT_NCHW;
      if (cls[i] == CLS_WANT || cls[i] == CLS_TO_LAST) need = k == 0 ? EC_LAYOUT_NHWC : tt->layout;
      else if (cls[i] == CLS_FOLLOW) need = want_out;
      if (tt->layout == need) continue;
      if (conv_of[t] < 0) {
        int to = new_tensor_like(g, t, need == EC_LAYOUT_NHWC ? "_nhwc" : "_nchw");
        if (to < 0) {
          st = EC_ERR_INTERNAL;
          break;
        }
        g->tensors[to].layout = need;
        st = add_conversion(g, t, to);
        conv_of[t] = to;
        (*count)++;
      }
      g->nodes[i].inputs[k] = conv_of[t];
    }
  }
  free(conv_of);
  free(cls);
  free(ohwi_of);
  if (!st) st = relink(g, d);
  return st;
}

/* ---- fuse-act ------------------------------------------------------------------------------ */

/* The clamp a Relu or Clip node applies, when its bounds are known at compile time. */
static bool clamp_of(const ec_graph *g, const ec_node *r, float *lo, float *hi) {
  ec_kernel_choice c;
  if (r->op != EC_OP_Relu && r->op != EC_OP_Clip) return false;
  if (ec_choose_kernel(g, r, "xnnpack", &c) != EC_K_XNN || c.xp.kind != ECK_XNN_CLAMP) return false;
  *lo = c.xp.out_min;
  *hi = c.xp.out_max;
  return true;
}

/* Producers whose fast kernel takes an output clamp (fuse-act). */
/* Kernels that can clamp their output (the FUSE_ACT flag of fast_kernels.def). */
static bool clamps_output(const ec_kernel_choice *c) { return (ec_kernel_flags(c) & EC_KFLAG_FUSE_ACT) != 0; }

static ec_status lower_fuse_act(ec_graph *g, const char *kernels, int *count, ec_diag *d) {
  for (int i = 0; i < g->n_nodes; i++) {
    ec_node *n = &g->nodes[i];
    ec_kernel_choice c;
    if (n->dead || n->n_outputs < 1 || n->outputs[0] < 0) continue;
    ec_kernel_kind kk = ec_choose_kernel(g, n, kernels, &c);
    if (!clamps_output(&c)) continue;
    int y = n->outputs[0], r = single_consumer(g, y);
    float lo, hi;
    if (r < 0 || g->nodes[r].inputs[0] != y || !clamp_of(g, &g->nodes[r], &lo, &hi)) continue;
    int z = g->nodes[r].outputs[0];
    if (z < 0 || (g->tensors[z].layout != g->tensors[y].layout && !ec_layout_free(&g->tensors[y]))) continue;
    /* Only a fast kernel applies the clamp: the producer must keep it once it writes z (the
     * reference kernels know nothing of edgecc_act_*, so a fused Relu would silently vanish). */
    ec_kernel_choice after;
    n->outputs[0] = z;
    bool keeps = ec_choose_kernel(g, n, kernels, &after) == kk;
    n->outputs[0] = y;
    if (!keeps) continue;
    lo = fmaxf(lo, c.xp.out_min);
    hi = fminf(hi, c.xp.out_max);
    ec_status st = add_attr(n, EC_ATTR_ACT_MIN, EC_ATTR_FLOAT, 0, lo);
    if (!st) st = add_attr(n, EC_ATTR_ACT_MAX, EC_ATTR_FLOAT, 0, hi);
    if (st) return st;
    n->outputs[0] = z;
    g->nodes[r].dead = true;
    (*count)++;
    /* A chain (Conv, Relu, then another clamp) folds into the same producer: relink so that
     * the clamp's consumer is the producer's now, and look at this node again. */
    st = ec_graph_link(g);
    if (st) return st;
    i--;
  }
  return relink(g, d);
}

/* ---- fuse-sum (oneDNN) ----------------------------------------------------------------------- */

static void drop_attr(ec_node *n, const char *name);

static bool has_clamp(const ec_node *n) {
  const ec_attr *lo = find_attr(n, EC_ATTR_ACT_MIN), *hi = find_attr(n, EC_ATTR_ACT_MAX);
  return (lo && lo->f != -INFINITY) || (hi && hi->f != INFINITY);
}

/* Add node i's operand k, when it is the output of a oneDNN convolution read by this Add alone
 * that can take the other operand as a sum post-op: that convolution, else -1. */
static int sum_conv(const ec_graph *g, int i, int k, const char *kernels) {
  const ec_node *a = &g->nodes[i];
  int y = a->inputs[k], r = a->inputs[1 - k];
  if (y < 0 || r < 0 || y == r || single_consumer(g, y) != i) return -1;
  int p = g->tensors[y].producer;
  if (p < 0) return -1;
  const ec_node *c = &g->nodes[p];
  ec_kernel_choice kc;
  if (c->dead || c->op != EC_OP_Conv || c->n_outputs != 1 || c->n_inputs > EC_SUM_INPUT || find_attr(c, EC_ATTR_SUM) ||
      ec_choose_kernel(g, c, kernels, &kc) != EC_K_DNNL || kc.dp.kind != ECK_DNNL_CONV)
    return -1;
  /* One clamp: the kernel applies it before or after the sum, not both. */
  if (has_clamp(c) && has_clamp(a)) return -1;
  /* The residual is copied into (or already is) the convolution's dense output bytes. */
  const ec_tensor *tr = &g->tensors[r];
  if (tr->dtype != ECK_FLOAT || tr->rank != 4 || (tr->layout != g->tensors[y].layout && !ec_layout_free(tr)) ||
      memcmp(tr->dims, g->tensors[y].dims, 4 * sizeof(int64_t)) != 0)
    return -1;
  return p;
}

/* A oneDNN Add of two same-shaped tensors, one a oneDNN convolution's output read by the Add
 * alone: the convolution writes the Add's output and adds the other operand to it (the residual
 * becomes input 3; the Add's clamp, if any, applies after the sum, the convolution's before). */
static ec_status lower_fuse_sum(ec_graph *g, const char *kernels, int *count, ec_diag *d) {
  for (int i = 0; i < g->n_nodes; i++) {
    ec_node *a = &g->nodes[i];
    ec_kernel_choice kc;
    if (a->dead || a->op != EC_OP_Add || a->n_inputs != 2 || a->n_outputs != 1 || a->outputs[0] < 0 ||
        ec_choose_kernel(g, a, kernels, &kc) != EC_K_DNNL || kc.dp.kind != ECK_DNNL_ADD || kc.dp.rank_a != kc.dp.rank_b ||
        memcmp(kc.dp.shape_a, kc.dp.shape_b, sizeof kc.dp.shape_a) != 0)
      continue;
    /* Both operands convolutions (ResNet's downsampling blocks): the later one takes the sum, so
     * the other is computed before it, as the schedule had it. */
    int p0 = sum_conv(g, i, 0, kernels), p1 = sum_conv(g, i, 1, kernels);
    int k = p1 > p0 ? 1 : 0, p = k ? p1 : p0;
    if (p < 0) continue;
    ec_node *c = &g->nodes[p];
    int ins[EC_SUM_INPUT + 1] = {c->inputs[0], c->inputs[1], c->n_inputs > 2 ? c->inputs[2] : -1, a->inputs[1 - k]};
    int *old_in = ec_alloc(sizeof(int) * (size_t)(c->n_inputs + 1));
    if (!old_in) return EC_ERR_INTERNAL;
    memcpy(old_in, c->inputs, sizeof(int) * (size_t)c->n_inputs);
    int old_n = c->n_inputs, old_out = c->outputs[0];
    bool clamp_first = has_clamp(c);
    ec_status st = ec_node_set_inputs(g, p, ins, EC_SUM_INPUT + 1);
    if (!st) st = add_attr(c, EC_ATTR_SUM, EC_ATTR_INT, clamp_first ? EC_SUM_CLAMP_FIRST : EC_SUM_CLAMP_AFTER, 0);
    if (!st && has_clamp(a)) {
      const ec_attr *lo = find_attr(a, EC_ATTR_ACT_MIN), *hi = find_attr(a, EC_ATTR_ACT_MAX);
      st = add_attr(c, EC_ATTR_ACT_MIN, EC_ATTR_FLOAT, 0, lo ? lo->f : -INFINITY);
      if (!st) st = add_attr(c, EC_ATTR_ACT_MAX, EC_ATTR_FLOAT, 0, hi ? hi->f : INFINITY);
    }
    if (st) {
      free(old_in);
      return st;
    }
    c->outputs[0] = a->outputs[0];
    /* The fused node must still run on oneDNN with the sum, or the Add stays. */
    ec_kernel_choice after;
    if (ec_choose_kernel(g, c, kernels, &after) != EC_K_DNNL || !(after.dp.flags & ECK_DNNL_SUM)) {
      c->outputs[0] = old_out;
      st = ec_node_set_inputs(g, p, old_in, old_n);
      drop_attr(c, EC_ATTR_SUM);
      if (!clamp_first) drop_attr(c, EC_ATTR_ACT_MIN), drop_attr(c, EC_ATTR_ACT_MAX);
      free(old_in);
      if (st) return st;
      continue;
    }
    free(old_in);
    a->dead = true;
    (*count)++;
    st = ec_graph_link(g);
    if (st) return st;
  }
  return relink(g, d);
}

/* ---- fold-pad-pool (oneDNN) ------------------------------------------------------------------ */

/* A zero constant Pad on H and W read only by an AveragePool (input 0) on oneDNN: the pool reads
 * the Pad's input with the Pad's widths added to its own padding, counted in the divisor
 * (count_include_pad: the padded zeros were data to it). Equal when the pool's own padding counted
 * already or was none: every window then divides by the window's size, as it did over the padded
 * tensor (ceil_mode's extra row, which ONNX does not count, is the one case choose refuses, and
 * the Pad stays). Only where the pool still runs on oneDNN with its include-padding average:
 * XNNPACK has none, so with --kernels xnnpack (the boards) the Pad stays a step. After nhwc, whose
 * layouts the choice depends on. */
static ec_status lower_fold_pad_pool(ec_graph *g, const char *kernels, int *count, ec_diag *d) {
  bool any = false;
  for (int i = 0; i < g->n_nodes; i++) {
    ec_node *p = &g->nodes[i];
    const int64_t *pb = hw_zero_pad(g, p);
    if (!pb || p->n_outputs != 1) continue;
    const int64_t *pe = pb + ECK_MAX_RANK;
    int x = p->inputs[0], y = p->outputs[0], c = single_consumer(g, y);
    if (c < 0 || (g->tensors[x].layout != g->tensors[y].layout && !ec_layout_free(&g->tensors[x]))) continue;
    ec_node *a = &g->nodes[c];
    eck_pool_params *ap = a->params;
    if (a->op != EC_OP_AveragePool || !ap || ap->nsp != 2 || a->n_inputs != 1 || a->inputs[0] != y) continue;
    bool own = false;
    for (int k = 0; k < 3; k++) own |= ap->pad_begin[k] || ap->pad_end[k];
    if (own && !ap->count_include_pad) continue;
    eck_pool_params old = *ap;
    ap->pad_begin[1] += pb[2], ap->pad_begin[2] += pb[3];
    ap->pad_end[1] += pe[2], ap->pad_end[2] += pe[3];
    ap->count_include_pad = 1;
    a->inputs[0] = x;
    ec_kernel_choice kc;
    if (ec_choose_kernel(g, a, kernels, &kc) != EC_K_DNNL || kc.dp.kind != ECK_DNNL_AVGPOOL) {
      *ap = old;
      a->inputs[0] = y;
      continue;
    }
    p->dead = true;
    any = true;
    (*count)++;
  }
  return any ? relink(g, d) : EC_OK;
}

/* ---- concat-in-place ---------------------------------------------------------------------- */

static void drop_attr(ec_node *n, const char *name) {
  for (int k = 0; k < n->n_attrs; k++)
    if (strcmp(n->attrs[k].name, name) == 0) {
      free(n->attrs[k].name);
      n->attrs[k] = n->attrs[n->n_attrs - 1];
      n->n_attrs--;
      return;
    }
}

/* Every consumer of t reads NHWC with any pixel stride (or is an in-place Concat). */
static bool readers_strided(const ec_graph *g, int t, const char *kernels) {
  const ec_tensor *x = &g->tensors[t];
  for (int k = 0; k < x->n_consumers; k++) {
    const ec_node *c = &g->nodes[x->consumers[k]];
    ec_kernel_choice kc;
    if (c->dead) continue;
    ec_choose_kernel(g, c, kernels, &kc);
    if (!ec_kernel_strided_in(&kc)) return false;
    /* Strided kernels read only input 0 that way. */
    for (int j = 1; kc.kind != EC_K_CONCAT_VIEW && j < c->n_inputs; j++)
      if (c->inputs[j] == t) return false;
  }
  return true;
}

/* An in-place Concat holds when its output and each input live where the views say, each input
 * is written by a kernel with an output pixel stride (or is itself an in-place Concat's output),
 * and everything reading a view reads with a stride. */
static bool in_place_ok(const ec_graph *g, int i, const char *kernels) {
  const ec_node *n = &g->nodes[i];
  int y = n->outputs[0];
  int64_t yoff, off = 0;
  int root = ec_view_root(g, y, &yoff);
  const ec_tensor *r = &g->tensors[root];
  if (r->kind != EC_TK_ACTIVATION || r->is_output || r->rank != 4 || r->layout != EC_LAYOUT_NHWC ||
      g->tensors[y].is_output)
    return false;
  if (root != y && !readers_strided(g, y, kernels)) return false;
  for (int k = 0; k < n->n_inputs; k++) {
    int x = n->inputs[k];
    if (x < 0) return false;
    const ec_tensor *t = &g->tensors[x];
    for (int j = 0; j < k; j++)
      if (n->inputs[j] == x) return false;
    if (t->kind != EC_TK_ACTIVATION || t->is_output || t->producer < 0 || t->rank != 4) return false;
    int64_t xoff;
    if (ec_view_root(g, x, &xoff) != root || xoff != yoff + off) return false;
    const ec_node *p = &g->nodes[t->producer];
    ec_kernel_choice kc;
    ec_choose_kernel(g, p, kernels, &kc);
    if (kc.kind != EC_K_CONCAT_VIEW && (!ec_kernel_strided_out(&kc) || p->n_outputs != 1)) return false;
    if (!readers_strided(g, x, kernels)) return false;
    off += t->dims[1];
  }
  return true;
}

/* Dropping one changes where others' tensors live: repeat until all that stay hold. */
static void drop_in_place_failing(ec_graph *g, const char *kernels) {
  for (bool changed = true; changed;) {
    changed = false;
    for (int i = 0; i < g->n_nodes; i++) {
      ec_node *n = &g->nodes[i];
      if (n->dead || n->op != EC_OP_Concat || !find_attr(n, EC_ATTR_IN_PLACE)) continue;
      if (!in_place_ok(g, i, kernels)) {
        drop_attr(n, EC_ATTR_IN_PLACE);
        changed = true;
      }
    }
  }
}

static ec_status lower_concat_in_place(ec_graph *g, const char *kernels, int *count) {
  for (int i = 0; i < g->n_nodes; i++) {
    ec_node *n = &g->nodes[i];
    ec_kernel_choice kc;
    if (n->dead || n->op != EC_OP_Concat || ec_choose_kernel(g, n, kernels, &kc) != EC_K_CONCAT_NHWC) continue;
    ec_status st = add_attr(n, EC_ATTR_IN_PLACE, EC_ATTR_INT, 1, 0);
    if (st) return st;
  }
  drop_in_place_failing(g, kernels);
  for (int i = 0; i < g->n_nodes; i++)
    if (!g->nodes[i].dead && g->nodes[i].op == EC_OP_Concat && find_attr(&g->nodes[i], EC_ATTR_IN_PLACE)) (*count)++;
  return EC_OK;
}

/* ---- what-if queries for the planner (pure: they never write the graph) ------------------- */

/* The kernel node i runs on with the fast kernels once lowered: on a lowered graph what
 * ec_choose_kernel says; before, a convolution or pooling as the nhwc step will lay it out. */
static ec_kernel_kind fast_choice(const ec_graph *g, int i, ec_kernel_choice *c) {
  ec_kernel_kind k = ec_choose_kernel(g, &g->nodes[i], "xnnpack", c);
  if (k != EC_K_REF || g->lowered || g->nodes[i].family == EC_KF_REF) return k;
  return wants_nhwc(g, i, "xnnpack", c) ? c->kind : EC_K_REF;
}

bool ec_lower_runs_fast(const ec_graph *g, int i) {
  ec_kernel_choice kc;
  int r1, r2, x, y;
  int64_t groups;
  /* A channel shuffle's Transpose becomes XNNPACK's shuffle (channel-shuffle, before nhwc). */
  return fast_choice(g, i, &kc) != EC_K_REF || (!g->lowered && shuffle_at(g, i, &r1, &r2, &x, &y, &groups));
}

int ec_lower_fast_layout(const ec_graph *g, int i) {
  ec_kernel_choice kc;
  if (wants_nhwc(g, i, "xnnpack", &kc)) return EC_LAYOUT_NHWC;
  return follows(g, &g->nodes[i]) ? -1 : EC_LAYOUT_NCHW;
}

bool ec_lower_layout_act(const ec_graph *g, int t) { return t >= 0 && is_layout_act(&g->tensors[t]); }

bool ec_lower_runs_dnnl(const ec_graph *g, int i, ec_kernel_family family) {
  ec_node n = g->nodes[i]; /* a copy: only its family differs */
  ec_kernel_choice kc;
  shadow s;
  n.family = family;
  if (ec_choose_kernel(g, &n, "xnnpack", &kc) == EC_K_DNNL) return true;
  /* Before lowering, a node that goes NHWC is asked in NHWC, as fast_choice asks it. */
  return !g->lowered && layout_of(&n) == EC_FAST_NHWC && is_layout_act(&g->tensors[n.inputs[0]]) &&
         shadow_nhwc(g, &n, conv_weight_input(&n), &s) && ec_choose_kernel(&s.g, &s.n, "xnnpack", &kc) == EC_K_DNNL;
}

bool ec_lower_fused_act(const ec_graph *g, int i) {
  const ec_node *r = &g->nodes[i];
  float lo, hi;
  if (g->lowered || r->dead || r->n_inputs < 1 || r->inputs[0] < 0 || !clamp_of(g, r, &lo, &hi)) return false;
  int y = r->inputs[0], p = g->tensors[y].producer;
  if (p < 0 || single_consumer(g, y) != i || g->nodes[p].n_outputs < 1 || g->nodes[p].outputs[0] != y) return false;
  ec_kernel_choice c;
  fast_choice(g, p, &c);
  return clamps_output(&c);
}

bool ec_lower_removes_tensor(const ec_graph *g, int t) {
  if (t < 0 || t >= g->n_tensors || g->lowered) return false;
  const ec_tensor *x = &g->tensors[t];
  int c = single_consumer(g, t);
  if (c >= 0 && g->nodes[c].inputs[0] == t && ec_lower_fused_act(g, c)) return true;
  /* The 5-D tensors inside a channel shuffle, before and after its Transpose. */
  int r1, r2, a, b;
  int64_t groups;
  return x->rank == 5 && ((c >= 0 && shuffle_at(g, c, &r1, &r2, &a, &b, &groups)) ||
                          (x->producer >= 0 && shuffle_at(g, x->producer, &r1, &r2, &a, &b, &groups)));
}

/* A layout conversion node back to NCHW (a reference kernel's input). */
static bool is_to_nchw(const ec_node *n) {
  const ec_attr *at = n->op == EC_OP_Transpose ? find_attr(n, EC_ATTR_LAYOUT) : NULL;
  return at && at->i == 0;
}

ec_status ec_lower_cut_tensor(ec_graph *g, int t) {
  if (t < 0 || t >= g->n_tensors) return EC_OK;
  const ec_tensor *x = &g->tensors[t];
  if (x->rank != 4 || x->layout != EC_LAYOUT_NHWC || ec_layout_free(x) || x->producer < 0) return EC_OK;
  int producer = x->producer;
  /* The producer writes an NHWC twin and t itself becomes NCHW. A reader that only converted t
   * to NCHW (for a reference kernel) goes away: its readers read t. The others read an NHWC
   * copy made on the receiving side. */
  int twin = new_tensor_like(g, t, "_nhwc");
  if (twin < 0) return EC_ERR_INTERNAL;
  ec_node *p = &g->nodes[producer];
  for (int j = 0; j < p->n_outputs; j++)
    if (p->outputs[j] == t) p->outputs[j] = twin;
  g->tensors[t].layout = EC_LAYOUT_NCHW;
  int rx = -1;
  for (int i = 0; i < g->n_nodes; i++)
    for (int j = 0; !g->nodes[i].dead && !is_to_nchw(&g->nodes[i]) && j < g->nodes[i].n_inputs; j++) {
      if (g->nodes[i].inputs[j] != t) continue;
      if (rx < 0 && (rx = new_tensor_like(g, twin, "2")) < 0) return EC_ERR_INTERNAL;
      g->nodes[i].inputs[j] = rx;
    }
  for (int i = 0; i < g->n_nodes; i++) {
    ec_node *n = &g->nodes[i];
    if (n->dead || n->n_inputs < 1 || n->inputs[0] != t || !is_to_nchw(n)) continue;
    int y = n->outputs[0];
    if (g->tensors[y].is_output) { /* it crosses a cut (or leaves the graph) itself: keep it */
      n->inputs[0] = rx < 0 ? (rx = new_tensor_like(g, twin, "2")) : rx;
      if (rx < 0) return EC_ERR_INTERNAL;
      continue;
    }
    for (int c = 0; c < g->n_nodes; c++)
      for (int j = 0; !g->nodes[c].dead && j < g->nodes[c].n_inputs; j++)
        if (g->nodes[c].inputs[j] == y) g->nodes[c].inputs[j] = t;
    n->dead = true;
  }
  ec_status st = add_conversion(g, twin, t);
  if (!st && rx >= 0) st = add_conversion(g, t, rx);
  if (!st) st = ec_graph_link(g);
  return st;
}

/* The kernels of the nodes inside node n's subgraphs, nested ones too: a subgraph is not lowered
 * (its tensors keep ONNX's layout), so only EC_K_RNN, which reads and writes that layout, and the
 * reference kernels elsewhere; none but the reference kernels when n's device has no fast ones. */
static ec_status record_subgraphs(const ec_node *n, const char *kernels, bool fast) {
  for (int s = 0; s < n->n_subgraphs; s++) {
    ec_graph *sg = n->subgraphs[s];
    for (int i = 0; i < sg->n_nodes; i++) {
      ec_node *m = &sg->nodes[i];
      if (m->dead) continue;
      if (!m->kernel && !(m->kernel = malloc(sizeof *m->kernel))) return EC_ERR_INTERNAL;
      ec_kernel_choice c;
      if (ec_choose_kernel(sg, m, fast ? kernels : "ref", &c) != EC_K_RNN) ec_choose_kernel(sg, m, "ref", &c);
      memcpy(m->kernel, &c, sizeof c);
      ec_status st = record_subgraphs(m, kernels, fast);
      if (st) return st;
    }
  }
  return EC_OK;
}

ec_status ec_lower_record(ec_graph *g, const char *kernels) {
  for (int i = 0; i < g->n_nodes; i++) {
    ec_node *n = &g->nodes[i];
    if (n->dead) continue;
    if (!n->kernel && !(n->kernel = malloc(sizeof *n->kernel))) return EC_ERR_INTERNAL;
    ec_kernel_choice c;
    ec_choose_kernel(g, n, kernels, &c);
    memcpy(n->kernel, &c, sizeof c); /* padding too: records compare with memcmp */
    ec_status st = record_subgraphs(n, kernels, ec_kernels_fast(kernels) && n->family != EC_KF_REF);
    if (st) return st;
  }
  return EC_OK;
}

ec_status ec_lower(ec_graph *g, const ec_lower_opts *o, ec_diag *d) {
  if (!ec_kernels_fast(o->kernels)) return ec_lower_record(g, o->kernels);
  int cnt = 0;
  ec_status st = EC_OK;
  if (step_on(o, "channel-shuffle")) {
    st = lower_shuffle(g, &cnt);
    if (!st) st = relink(g, d);
  }
  if (!st && step_on(o, "fold-pad")) {
    st = lower_fold_pad(g, &cnt);
    if (!st) st = relink(g, d);
  }
  if (!st && step_on(o, "nhwc")) st = lower_nhwc(g, o->kernels, step_on(o, "cancel-transpose"), &cnt, d);
  if (!st && step_on(o, "fuse-act")) st = lower_fuse_act(g, o->kernels, &cnt, d);
  if (!st && step_on(o, "fuse-sum")) st = lower_fuse_sum(g, o->kernels, &cnt, d);
  if (!st && step_on(o, "fold-pad-pool")) st = lower_fold_pad_pool(g, o->kernels, &cnt, d);
  if (!st && step_on(o, "concat-in-place")) st = lower_concat_in_place(g, o->kernels, &cnt);
  if (!st) st = ec_lower_record(g, o->kernels);
  if (st == EC_ERR_INTERNAL && !d->msg[0]) ec_diag_set(d, g->source_path, "", "out of memory while lowering");
  if (!st) g->lowered = true;
  return st;
}
