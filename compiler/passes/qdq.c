/* qdq.c — QDQ import: DequantizeLinear -> Conv or MatMul (-> Relu or Clip) -> QuantizeLinear, the form
 * ONNX Runtime's static quantizer writes, becomes one QLinearConv or QLinearMatMul, so that the
 * layer runs on int8 kernels instead of being simulated in float; DequantizeLinear -> MaxPool ->
 * QuantizeLinear with one scale and zero point becomes a MaxPool of the 8-bit values, and
 * DequantizeLinear x2 -> Add/Mul (-> Relu) -> QuantizeLinear a QLinearAdd/QLinearMul. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "op.h"
#include "passes.h"

static bool is_q8(int32_t dt) { return dt == ECK_UINT8 || dt == ECK_INT8; }

static bool has_data(const ec_graph *g, int t) {
  return t >= 0 && g->tensors[t].kind == EC_TK_CONSTANT && g->tensors[t].data;
}

/* A DequantizeLinear (or QuantizeLinear) node's operands: its data, constant float scale and
 * constant zero point (-1: absent). */
typedef struct qnode {
  int node, x, scale, zp;
} qnode;

/* Node p as a (de)quantization with constant parameters: per tensor, or, when channels > 0, also
 * per channel along `axis` with one scale per channel. */
static bool q_operands(const ec_graph *g, int p, int64_t channels, int axis, qnode *m) {
  const ec_node *n = &g->nodes[p];
  m->node = p;
  m->x = n->inputs[0];
  m->scale = n->n_inputs > 1 ? n->inputs[1] : -1;
  m->zp = n->n_inputs > 2 ? n->inputs[2] : -1;
  if (m->x < 0 || !has_data(g, m->scale) || g->tensors[m->scale].dtype != ECK_FLOAT ||
      (m->zp >= 0 && !has_data(g, m->zp)))
    return false;
  const ec_tensor *s = &g->tensors[m->scale];
  int64_t ns = ec_tensor_numel(s);
  if (ns != 1) {
    const eck_quant_params *qp = n->params;
    if (channels <= 0 || s->rank != 1 || ns != channels || !qp || qp->axis != axis) return false;
  }
  return m->zp < 0 || ec_tensor_numel(&g->tensors[m->zp]) == ns;
}

/* The DequantizeLinear producing t. */
static bool dq_of(const ec_graph *g, int t, int64_t channels, int axis, qnode *m) {
  int p = ec_pass_producer(g, t, EC_OP_DequantizeLinear);
  return p >= 0 && q_operands(g, p, channels, axis, m);
}

/* A zero point of `count` zeros of dtype dt, where the model left it out (the QLinear ops need it). */
static int zero_point(ec_graph *g, int scale, int32_t dt, int64_t count) {
  void *z = calloc((size_t)count, 1);
  if (!z) return -1;
  const ec_tensor *s = &g->tensors[scale];
  int64_t dims[1] = {count};
  return ec_pass_new_const(g, s->name, "_zero_point", dt, s->rank == 0 ? 0 : 1, dims, z, (size_t)count);
}

static double value_at(const ec_tensor *t, int64_t i) {
  if (ec_tensor_numel(t) == 1) i = 0;
  switch (t->dtype) {
    case ECK_FLOAT: return ((const float *)t->data)[i];
    case ECK_UINT8: return ((const uint8_t *)t->data)[i];
    case ECK_INT8: return ((const int8_t *)t->data)[i];
    case ECK_INT32: return ((const int32_t *)t->data)[i];
    default: return NAN;
  }
}

/* The int32 bias of a QLinearConv, in units of x_scale * w_scale[c], from a Conv's bias: a float
 * constant, or a DequantizeLinear of a constant (int32, as ORT writes it, with that very scale,
 * so rounding gives its values back). -1 where it is neither or does not fit int32. */
static int int32_bias(ec_graph *g, int b, int64_t cout, int xs, int ws) {
  const ec_tensor *bt = &g->tensors[b];
  int src = b, bs = -1, bz = -1;
  qnode m;
  if (!has_data(g, b)) {
    if (!dq_of(g, b, cout, 0, &m) || !has_data(g, m.x)) return -1;
    src = m.x, bs = m.scale, bz = m.zp;
  } else if (bt->dtype != ECK_FLOAT) {
    return -1;
  }
  if (ec_tensor_numel(&g->tensors[src]) != cout) return -1;
  int32_t *q = malloc(sizeof(int32_t) * (size_t)cout);
  if (!q) return -1;
  for (int64_t c = 0; c < cout; c++) {
    double v = value_at(&g->tensors[src], c);
    if (bs >= 0) v = (v - (bz >= 0 ? value_at(&g->tensors[bz], c) : 0.0)) * value_at(&g->tensors[bs], c);
    double r = nearbyint(v / ((double)value_at(&g->tensors[xs], 0) * value_at(&g->tensors[ws], c)));
    if (!(fabs(r) <= 2147483647.0)) {
      free(q);
      return -1;
    }
    q[c] = (int32_t)r;
  }
  int64_t dims[1] = {cout};
  return ec_pass_new_const(g, g->tensors[b].name, "_int32", ECK_INT32, 1, dims, q, sizeof(int32_t) * (size_t)cout);
}

/* A Clip's bounds (+-infinity where absent); false when one is not a constant float. */
static bool clip_bounds(const ec_graph *g, const ec_node *n, double *lo, double *hi) {
  const eck_clip_params *p = n->params;
  *lo = -INFINITY, *hi = INFINITY;
  if (p && p->use_attrs) {
    *lo = p->min, *hi = p->max;
    return true;
  }
  for (int k = 1; k < 3 && k < n->n_inputs; k++) {
    int t = n->inputs[k];
    if (t < 0) continue;
    if (!has_data(g, t) || g->tensors[t].dtype != ECK_FLOAT || ec_tensor_numel(&g->tensors[t]) != 1) return false;
    *(k == 1 ? lo : hi) = value_at(&g->tensors[t], 0);
  }
  return true;
}

/* The QuantizeLinear reading node ni's output (through a Relu, which goes when the quantized
 * range starts at zero, or a Clip, which goes when the quantized range lies within its bounds:
 * either then changes nothing the QuantizeLinear keeps, as for MobileNetV2's ReLU6); -1 if none. */
static int q_after(const ec_graph *g, int ni, int *relu, qnode *m) {
  int y = g->nodes[ni].outputs[0];
  int r = ec_pass_sole_reader(g, y);
  *relu = -1;
  if (r >= 0 && (g->nodes[r].op == EC_OP_Relu || g->nodes[r].op == EC_OP_Clip)) {
    *relu = r;
    r = ec_pass_sole_reader(g, g->nodes[r].outputs[0]);
  }
  if (r < 0 || g->nodes[r].op != EC_OP_QuantizeLinear || !q_operands(g, r, 0, 0, m)) return -1;
  int32_t dt = g->tensors[g->nodes[r].outputs[0]].dtype;
  if (!is_q8(dt)) return -1;
  double zp = m->zp >= 0 ? value_at(&g->tensors[m->zp], 0) : 0.0;
  double qmin = dt == ECK_UINT8 ? 0.0 : -128.0, qmax = dt == ECK_UINT8 ? 255.0 : 127.0;
  if (*relu >= 0 && g->nodes[*relu].op == EC_OP_Relu && zp != qmin) return -1;
  if (*relu >= 0 && g->nodes[*relu].op == EC_OP_Clip) {
    /* Q is monotone and clamps: Q(clip(x)) = Q(x) for every x when Q(lo) and Q(hi) are already
     * the ends of the 8-bit range (rounding as QuantizeLinear does, half to even). */
    double lo, hi, s = value_at(&g->tensors[m->scale], 0);
    if (!clip_bounds(g, &g->nodes[*relu], &lo, &hi) || !(s > 0)) return -1;
    if (!(lo == -INFINITY || nearbyint(lo / s) + zp <= qmin) || !(hi == INFINITY || nearbyint(hi / s) + zp >= qmax))
      return -1;
  }
  return r;
}

/* Marks node p dead when nothing but `user` reads its outputs. */
static void drop_if_unused(ec_graph *g, int p, int user) {
  int t = g->nodes[p].outputs[0];
  if (ec_pass_sole_reader(g, t) == user) g->nodes[p].dead = true;
}

/* Conv or MatMul ni between DequantizeLinear inputs and a QuantizeLinear: rewritten in place. */
static ec_status import_one(ec_graph *g, int ni, bool *done, ec_diag *d) {
  const ec_node *n = &g->nodes[ni];
  bool conv = n->op == EC_OP_Conv;
  *done = false;
  if (n->n_inputs < 2 || n->n_outputs != 1 || n->outputs[0] < 0 || n->inputs[0] < 0 || n->inputs[1] < 0)
    return EC_OK;
  const ec_tensor *w = &g->tensors[n->inputs[1]];
  if (w->rank < 2 || (conv && w->rank != 4)) return EC_OK;
  int64_t cout = w->dims[0];
  qnode dx, dw, q;
  int relu;
  if (!dq_of(g, n->inputs[0], 0, 0, &dx) || !dq_of(g, n->inputs[1], conv ? cout : 0, 0, &dw) ||
      !has_data(g, dw.x) || q_after(g, ni, &relu, &q) < 0)
    return EC_OK;
  int32_t xdt = g->tensors[dx.x].dtype, wdt = g->tensors[dw.x].dtype;
  int yq = g->nodes[q.node].outputs[0];
  if (!is_q8(xdt) || !is_q8(wdt) || g->tensors[dx.x].rank != g->tensors[n->inputs[0]].rank) return EC_OK;
  int bias = -1;
  if (conv && n->n_inputs > 2 && n->inputs[2] >= 0) {
    bias = int32_bias(g, n->inputs[2], cout, dx.scale, dw.scale);
    if (bias < 0) return EC_OK;
  }
  int64_t wch = ec_tensor_numel(&g->tensors[dw.scale]);
  int wq = dw.x, wz = dw.zp;
  /* uint8 activations with symmetric int8 weights (ORT's default, U8S8), per tensor: the same
   * weights as uint8 with zero point 128, exactly, so that x and w share one type. */
  if (xdt == ECK_UINT8 && wdt == ECK_INT8 && wch == 1 && (wz < 0 || value_at(&g->tensors[wz], 0) == 0.0)) {
    const ec_tensor *wt = &g->tensors[dw.x];
    int64_t cnt = ec_tensor_numel(wt);
    uint8_t *u = malloc((size_t)cnt), *z = malloc(1);
    if (!u || !z) {
      free(u), free(z);
      return EC_ERR_INTERNAL;
    }
    for (int64_t k = 0; k < cnt; k++) u[k] = (uint8_t)(((const int8_t *)wt->data)[k] + 128);
    *z = 128;
    int64_t dims[EC_MAX_RANK];
    int rank = wt->rank;
    memcpy(dims, wt->dims, sizeof(int64_t) * (size_t)rank);
    wq = ec_pass_new_const(g, wt->name, "_u8", ECK_UINT8, rank, dims, u, (size_t)cnt);
    wz = ec_pass_new_const(g, g->tensors[dw.scale].name, "_zero_point_u8", ECK_UINT8, 0, dims, z, 1);
    if (wq < 0 || wz < 0) return EC_ERR_INTERNAL;
    wdt = ECK_UINT8;
  }
  int xz = dx.zp >= 0 ? dx.zp : zero_point(g, dx.scale, xdt, 1);
  if (wz < 0) wz = zero_point(g, dw.scale, wdt, wch);
  int yz = q.zp >= 0 ? q.zp : zero_point(g, q.scale, g->tensors[yq].dtype, 1);
  if (xz < 0 || wz < 0 || yz < 0) return EC_ERR_INTERNAL;
  int ins[9] = {dx.x, dx.scale, xz, wq, dw.scale, wz, q.scale, yz, bias};
  /* The readers of the float tensors may go: the DequantizeLinears when this node was their
   * only reader, the Relu and the QuantizeLinear always. */
  drop_if_unused(g, dx.node, ni);
  drop_if_unused(g, dw.node, ni);
  if (conv && n->n_inputs > 2) {
    int bp = ec_pass_producer(g, g->nodes[ni].inputs[2], EC_OP_DequantizeLinear);
    if (bp >= 0) drop_if_unused(g, bp, ni);
  }
  if (relu >= 0) g->nodes[relu].dead = true;
  g->nodes[q.node].dead = true;
  ec_status st = ec_pass_retype_keep_attrs(g, ni, conv ? "QLinearConv" : "QLinearMatMul", "", ins,
                                           bias >= 0 ? 9 : 8);
  if (!st) st = ec_node_set_outputs(g, ni, &yq, 1);
  if (!st) st = ec_infer_node(g, ni, d);
  *done = !st;
  return st;
}

/* Two (de)quantizations with the same constant parameters (the same scale bits and zero point). */
static bool same_q(const ec_graph *g, const qnode *a, const qnode *b) {
  const ec_tensor *sa = &g->tensors[a->scale], *sb = &g->tensors[b->scale];
  if (ec_tensor_numel(sa) != 1 || ec_tensor_numel(sb) != 1 || memcmp(sa->data, sb->data, sizeof(float)) != 0)
    return false;
  return (a->zp >= 0 ? value_at(&g->tensors[a->zp], 0) : 0.0) == (b->zp >= 0 ? value_at(&g->tensors[b->zp], 0) : 0.0);
}

/* MaxPool ni between a DequantizeLinear and a QuantizeLinear of the same parameters and type:
 * the maximum of the quantized values is the quantized maximum (dequantizing is increasing),
 * so it pools the 8-bit tensor itself. */
static ec_status import_maxpool(ec_graph *g, int ni, bool *done, ec_diag *d) {
  const ec_node *n = &g->nodes[ni];
  qnode dx, q;
  int relu;
  *done = false;
  if (n->n_inputs < 1 || n->n_outputs != 1 || n->outputs[0] < 0 || n->inputs[0] < 0 ||
      !dq_of(g, n->inputs[0], 0, 0, &dx) || q_after(g, ni, &relu, &q) < 0 || relu >= 0 || !same_q(g, &dx, &q))
    return EC_OK;
  int yq = g->nodes[q.node].outputs[0];
  if (!is_q8(g->tensors[dx.x].dtype) || g->tensors[yq].dtype != g->tensors[dx.x].dtype) return EC_OK;
  int x = dx.x;
  drop_if_unused(g, dx.node, ni);
  g->nodes[q.node].dead = true;
  ec_status st = ec_node_set_inputs(g, ni, &x, 1);
  if (!st) st = ec_node_set_outputs(g, ni, &yq, 1);
  if (!st) st = ec_infer_node(g, ni, d);
  *done = !st;
  return st;
}

/* Add or Mul ni of two DequantizeLinear outputs (per tensor, of one 8-bit type) read only by a
 * QuantizeLinear of that type (through a Relu, as for a layer): ONNX Runtime's QLinearAdd or
 * QLinearMul (com.microsoft), as its quantizer writes them in its QOperator format. */
static ec_status import_binary(ec_graph *g, int ni, bool *done, ec_diag *d) {
  const ec_node *n = &g->nodes[ni];
  qnode da, db, q;
  int relu;
  *done = false;
  if (n->n_inputs != 2 || n->n_outputs != 1 || n->outputs[0] < 0 || n->inputs[0] < 0 || n->inputs[1] < 0 ||
      !dq_of(g, n->inputs[0], 0, 0, &da) || !dq_of(g, n->inputs[1], 0, 0, &db) || q_after(g, ni, &relu, &q) < 0)
    return EC_OK;
  int yq = g->nodes[q.node].outputs[0];
  int32_t dt = g->tensors[da.x].dtype;
  if (!is_q8(dt) || g->tensors[db.x].dtype != dt || g->tensors[yq].dtype != dt) return EC_OK;
  int az = da.zp >= 0 ? da.zp : zero_point(g, da.scale, dt, 1);
  int bz = db.zp >= 0 ? db.zp : zero_point(g, db.scale, dt, 1);
  int yz = q.zp >= 0 ? q.zp : zero_point(g, q.scale, dt, 1);
  if (az < 0 || bz < 0 || yz < 0) return EC_ERR_INTERNAL;
  int ins[8] = {da.x, da.scale, az, db.x, db.scale, bz, q.scale, yz};
  bool add = n->op == EC_OP_Add;
  drop_if_unused(g, da.node, ni);
  if (db.node != da.node) drop_if_unused(g, db.node, ni);
  if (relu >= 0) g->nodes[relu].dead = true;
  g->nodes[q.node].dead = true;
  ec_status st = ec_pass_retype_keep_attrs(g, ni, add ? "QLinearAdd" : "QLinearMul", "com.microsoft", ins, 8);
  if (!st) st = ec_node_set_outputs(g, ni, &yq, 1);
  if (!st) st = ec_infer_node(g, ni, d);
  *done = !st;
  return st;
}

ec_status ec_pass_qdq(ec_graph *g, int *count, ec_diag *d) {
  for (int i = 0; i < g->n_nodes; i++) {
    const ec_node *n = &g->nodes[i];
    if (n->dead || (n->op != EC_OP_Conv && n->op != EC_OP_MatMul && n->op != EC_OP_MaxPool && n->op != EC_OP_Add &&
                    n->op != EC_OP_Mul))
      continue;
    bool done;
    ec_status st = n->op == EC_OP_MaxPool                    ? import_maxpool(g, i, &done, d)
                   : n->op == EC_OP_Add || n->op == EC_OP_Mul ? import_binary(g, i, &done, d)
                                                              : import_one(g, i, &done, d);
    if (st) return st;
    if (done) (*count)++;
  }
  return ec_graph_link(g);
}
