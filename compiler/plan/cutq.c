/* cutq.c — quantized cuts: the int8 split point standing for a float one, and the scale and zero
 * point each 8-bit cut tensor travels with (cutq.h). */
#include <stdlib.h>
#include <string.h>

#include "cutq.h"
#include "op.h"

static bool is_8bit(const ec_graph *g, int t) {
  return t >= 0 && (g->tensors[t].dtype == ECK_INT8 || g->tensors[t].dtype == ECK_UINT8);
}

static bool is_cut(const ec_bridges *b, int t) { return t >= 0 && (b->tensor_flags[t] & EC_BR_CUT); }

/* A scalar constant's value as a double (float scale, 8-bit zero point); false otherwise. */
static bool scalar(const ec_graph *g, int t, double *v) {
  if (t < 0) return false;
  const ec_tensor *c = &g->tensors[t];
  if (c->kind != EC_TK_CONSTANT || !c->data || ec_tensor_numel(c) != 1) return false;
  switch (c->dtype) {
    case ECK_FLOAT: *v = *(const float *)c->data; return true;
    case ECK_INT8: *v = *(const int8_t *)c->data; return true;
    case ECK_UINT8: *v = *(const uint8_t *)c->data; return true;
    default: return false;
  }
}

/* Node n's scale and zero point operands (as input indices) for its quantized input or output
 * tensor t, or false. The zero point may be absent (ONNX: 0). */
static bool operand_params(const ec_node *n, int t, bool output, int *si, int *zi) {
  int q = n->op;
  bool qbin = q == EC_OP_QLinearAdd || q == EC_OP_QLinearMul; /* com.microsoft: A, B, C params */
  if (output) {
    if (n->n_outputs < 1 || n->outputs[0] != t) return false;
    if (q == EC_OP_QuantizeLinear) *si = 1, *zi = 2;
    else if (q == EC_OP_QLinearConv || q == EC_OP_QLinearMatMul || qbin)
      *si = 6, *zi = 7;
    else return false;
    return true;
  }
  if (q == EC_OP_DequantizeLinear || q == EC_OP_QLinearConv || q == EC_OP_QLinearMatMul || qbin) {
    if (n->n_inputs > 0 && n->inputs[0] == t) return *si = 1, *zi = 2, true;
    if (q != EC_OP_DequantizeLinear && n->n_inputs > 3 && n->inputs[3] == t) return *si = 4, *zi = 5, true;
  }
  return false;
}

static bool params_of(const ec_graph *g, const ec_node *n, int t, bool output, float *scale, int32_t *zp) {
  int si, zi;
  double s, z = 0;
  if (!operand_params(n, t, output, &si, &zi) || si >= n->n_inputs || !scalar(g, n->inputs[si], &s))
    return false;
  if (zi < n->n_inputs && n->inputs[zi] >= 0 && !scalar(g, n->inputs[zi], &z)) return false;
  *scale = (float)s, *zp = (int32_t)z;
  return true;
}

bool ec_cut_qparams(const ec_graph *g, int t, float *scale, int32_t *zero_point) {
  if (!is_8bit(g, t)) return false;
  const ec_tensor *x = &g->tensors[t];
  if (x->producer >= 0 && params_of(g, &g->nodes[x->producer], t, true, scale, zero_point)) return true;
  for (int c = 0; c < x->n_consumers; c++)
    if (params_of(g, &g->nodes[x->consumers[c]], t, false, scale, zero_point)) return true;
  return false;
}

int ec_cut_int8_of(const ec_graph *g, const ec_bridges *b, int t) {
  if (t < 0 || t >= g->n_tensors || g->tensors[t].dtype != ECK_FLOAT) return -1;
  const ec_tensor *x = &g->tensors[t];
  float s;
  int32_t z;
  if (x->producer >= 0) { /* t = DequantizeLinear(q): the receiver dequantizes q as the single program does */
    const ec_node *n = &g->nodes[x->producer];
    int q = n->n_inputs ? n->inputs[0] : -1;
    if (n->op == EC_OP_DequantizeLinear && is_cut(b, q) && ec_cut_qparams(g, q, &s, &z)) return q;
  }
  if (x->n_consumers == 1 && !x->is_output) { /* q = QuantizeLinear(t), t's only reader: the sender quantizes */
    const ec_node *n = &g->nodes[x->consumers[0]];
    int q = n->n_outputs ? n->outputs[0] : -1;
    if (n->op == EC_OP_QuantizeLinear && n->inputs[0] == t && is_cut(b, q) && ec_cut_qparams(g, q, &s, &z))
      return q;
  }
  return -1;
}

bool ec_cut_named(const ec_graph *g, const ec_bridges *b, int t, const char *const *names, int n) {
  for (int k = 0; k < n; k++) {
    int f = ec_graph_find(g, names[k]);
    if (f == t || (f >= 0 && ec_cut_int8_of(g, b, f) == t)) return true;
  }
  return false;
}

ec_status ec_plan_record_cut_quant(ec_graph *g, const ec_plan *p) {
  for (int k = 0; k + 1 < p->n_parts; k++)
    for (int j = 0; j < p->parts[k].part.n_outputs; j++) {
      int t = p->parts[k].part.outputs[j];
      float s;
      int32_t z;
      if (!ec_cut_qparams(g, t, &s, &z)) continue;
      ec_quant *q = &g->tensors[t].quant;
      free(q->scale), free(q->zero_point);
      q->scale = malloc(sizeof *q->scale);
      q->zero_point = malloc(sizeof *q->zero_point);
      if (!q->scale || !q->zero_point) {
        free(q->scale), free(q->zero_point);
        memset(q, 0, sizeof *q);
        q->axis = -1;
        return EC_ERR_INTERNAL;
      }
      q->axis = -1, q->count = 1, q->scale[0] = s, q->zero_point[0] = z;
    }
  return EC_OK;
}
