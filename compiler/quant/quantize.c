/* quantize.c — the int8 rewrite of a calibrated graph (ec_quant_apply) and the in-process runs
 * that score it (ec_quant_run, ec_quant_compare, ec_quant_read_labels).
 *
 * The rewrite writes the QLinear form directly rather than QDQ for the qdq pass to fuse: an int8
 * node reads the int8 tensor of the int8 node before it with no DequantizeLinear/QuantizeLinear
 * pair between them, and one QuantizeLinear serves every int8 reader of a float tensor. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx_load.h"
#include "op.h"
#include "quantize.h"

static bool is_f32(const ec_graph *g, int t) { return t >= 0 && g->tensors[t].dtype == ECK_FLOAT; }

static bool const_f32(const ec_graph *g, int t) {
  return is_f32(g, t) && g->tensors[t].kind == EC_TK_CONSTANT && g->tensors[t].data;
}

static const ec_calib_range *range_of(const ec_calib_result *r, int t) {
  for (int i = 0; t >= 0 && i < r->n_ranges; i++)
    if (r->ranges[i].tensor == t) return &r->ranges[i];
  return NULL;
}

static bool is_output(const ec_graph *g, int t) { return g->tensors[t].is_output; }

/* The Relu reading y alone (fused into the int8 node: its output range starts at zero), or -1. */
static int fused_relu(const ec_graph *g, int y) {
  const ec_tensor *t = &g->tensors[y];
  if (t->n_consumers != 1 || is_output(g, y)) return -1;
  int c = t->consumers[0];
  return g->nodes[c].op == EC_OP_Relu && !g->nodes[c].dead ? c : -1;
}

bool ec_quant_candidate(const ec_graph *g, int ni, const ec_calib_result *r) {
  const ec_node *n = &g->nodes[ni];
  if (n->dead || n->domain[0] || n->n_inputs < 2 || n->n_outputs != 1 || n->outputs[0] < 0) return false;
  int x = n->inputs[0], w = n->inputs[1], b = n->n_inputs > 2 ? n->inputs[2] : -1;
  if (!is_f32(g, x) || g->tensors[x].kind == EC_TK_CONSTANT || !const_f32(g, w) || !is_f32(g, n->outputs[0]))
    return false;
  const ec_tensor *xt = &g->tensors[x], *wt = &g->tensors[w];
  if (b >= 0 && !const_f32(g, b)) return false;
  if (n->op == EC_OP_Conv) {
    if (wt->rank != 4 || xt->rank != 4 || (b >= 0 && ec_tensor_numel(&g->tensors[b]) != wt->dims[0])) return false;
  } else if (n->op == EC_OP_MatMul) {
    if (wt->rank != 2 || xt->rank < 2 || n->n_inputs != 2) return false;
  } else if (n->op == EC_OP_Gemm) {
    const eck_gemm_params *p = n->params;
    if (!p || p->trans_a || p->alpha != 1.0f || (b >= 0 && p->beta != 1.0f) || wt->rank != 2 || xt->rank != 2)
      return false;
    int64_t nout = p->trans_b ? wt->dims[0] : wt->dims[1];
    if (b >= 0 && (!const_f32(g, b) || ec_tensor_numel(&g->tensors[b]) != nout)) return false;
  } else {
    return false;
  }
  int relu = fused_relu(g, n->outputs[0]);
  int y = relu >= 0 ? g->nodes[relu].outputs[0] : n->outputs[0];
  return range_of(r, x) && range_of(r, y);
}

double ec_quant_node_macs(const ec_graph *g, int ni) {
  const ec_node *n = &g->nodes[ni];
  ec_cost c;
  memset(&c, 0, sizeof c);
  if (n->op < 0 || !ec_ops[n->op].cost) return 0;
  ec_ops[n->op].cost(g, n, &c);
  return c.macs;
}

/* ---- the rewrite --------------------------------------------------------------------------- */

/* A constant named BASE+SUFFIX (made unique) owning data. -1 on out of memory. */
static int new_const(ec_graph *g, const char *base, const char *suffix, int32_t dtype, int rank,
                     const int64_t *dims, void *data, size_t nbytes) {
  char name[512];
  snprintf(name, sizeof name, "%s%s", base, suffix);
  int t = data ? ec_graph_fresh_tensor(g, name) : -1;
  if (t < 0) {
    free(data);
    return -1;
  }
  return ec_tensor_make_const(&g->tensors[t], dtype, rank, dims, data, nbytes) ? -1 : t;
}

/* A per-tensor scale (float) and zero point (int8), scalars. */
static bool scalar_params(ec_graph *g, const char *base, float scale, int32_t zp, int *ts, int *tz) {
  float *s = malloc(sizeof *s);
  int8_t *z = malloc(1);
  if (s) *s = scale;
  if (z) *z = (int8_t)zp;
  *ts = new_const(g, base, "_scale", ECK_FLOAT, 0, NULL, s, sizeof *s);
  *tz = *ts < 0 ? (free(z), -1) : new_const(g, base, "_zero_point", ECK_INT8, 0, NULL, z, 1);
  return *ts >= 0 && *tz >= 0;
}

/* The int8 stand-in of a float tensor: its int8 tensor and the scale and zero point constants. */
typedef struct qtensor {
  int q, scale, zp;
} qtensor;

static int add_node(ec_graph *g, const char *op, const char *name, const int *ins, int n_ins, int out) {
  int k = ec_graph_add_node(g, op, "", name);
  if (k < 0 || ec_node_set_inputs(g, k, ins, n_ins) || ec_node_set_outputs(g, k, &out, 1)) return -1;
  g->nodes[k].op = ec_op_find(op, "");
  return k;
}

static void node_name(const ec_graph *g, int ni, const char *suffix, char *out, size_t len) {
  const ec_node *n = &g->nodes[ni];
  snprintf(out, len, "%s%s", n->name[0] ? n->name : g->tensors[n->outputs[0]].name, suffix);
}

/* x's int8 stand-in: the one made already, or a new QuantizeLinear with x's calibrated range. */
static ec_status quantized(ec_graph *g, int x, const ec_calib_range *rx, qtensor *map) {
  if (map[x].q >= 0) return EC_OK;
  char base[512];
  snprintf(base, sizeof base, "%s", g->tensors[x].name);
  qtensor q;
  if (!scalar_params(g, base, rx->scale, rx->zero_point, &q.scale, &q.zp)) return EC_ERR_INTERNAL;
  snprintf(base, sizeof base, "%s_int8", g->tensors[x].name);
  q.q = ec_graph_fresh_tensor(g, base);
  char nm[512];
  snprintf(nm, sizeof nm, "%s/QuantizeLinear", g->tensors[x].name);
  int ins[3] = {x, q.scale, q.zp};
  if (q.q < 0 || add_node(g, "QuantizeLinear", nm, ins, 3, q.q) < 0) return EC_ERR_INTERNAL;
  map[x] = q;
  return EC_OK;
}

/* Symmetric int8 weights of w viewed as [channels, inner] (per channel) or one scale: q =
 * round_half_even(w / s) within [-127, 127], s = max|w| / 127 (1 for all zeros). For Gemm with
 * transB the weights are transposed to [K, N], as QLinearMatMul reads them. */
static ec_status weights(ec_graph *g, int w, int channels, bool transpose, int *wq, int *ws, int *wz,
                         float **scales) {
  const ec_tensor *t = &g->tensors[w];
  int64_t n = ec_tensor_numel(t), inner = n / channels;
  const float *x = t->data;
  float *s = malloc(sizeof(float) * (size_t)channels);
  int8_t *q = malloc((size_t)n), *z = calloc((size_t)channels, 1);
  if (!s || !q || !z) {
    free(s), free(q), free(z);
    return EC_ERR_INTERNAL;
  }
  for (int c = 0; c < channels; c++) {
    float m = 0;
    for (int64_t i = 0; i < inner; i++) m = fmaxf(m, fabsf(x[c * inner + i]));
    s[c] = m > 0 ? (float)((double)m / 127.0) : 1.0f;
    for (int64_t i = 0; i < inner; i++) {
      double v = nearbyint((double)x[c * inner + i] / s[c]);
      q[c * inner + i] = (int8_t)(v > 127 ? 127 : v < -127 ? -127 : v);
    }
  }
  int64_t dims[EC_MAX_RANK];
  for (int k = 0; k < t->rank; k++) dims[k] = t->dims[k];
  if (transpose) { /* [N, K] -> [K, N] */
    int8_t *tq = malloc((size_t)n);
    if (!tq) {
      free(s), free(q), free(z);
      return EC_ERR_INTERNAL;
    }
    for (int64_t i = 0; i < dims[0]; i++)
      for (int64_t j = 0; j < dims[1]; j++) tq[j * dims[0] + i] = q[i * dims[1] + j];
    free(q);
    q = tq;
    int64_t d0 = dims[0];
    dims[0] = dims[1], dims[1] = d0;
  }
  char base[512];
  snprintf(base, sizeof base, "%s", t->name);
  *wq = new_const(g, base, "_int8", ECK_INT8, t->rank, dims, q, (size_t)n);
  int64_t cd[1] = {channels};
  float *sc = malloc(sizeof(float) * (size_t)channels);
  if (sc) memcpy(sc, s, sizeof(float) * (size_t)channels);
  *ws = *wq < 0 ? (free(sc), -1) : new_const(g, base, "_scale", ECK_FLOAT, channels > 1 ? 1 : 0, cd, sc,
                                              sizeof(float) * (size_t)channels);
  *wz = *ws < 0 ? (free(z), -1) : new_const(g, base, "_zero_point", ECK_INT8, channels > 1 ? 1 : 0, cd, z,
                                             (size_t)channels);
  if (*wq < 0 || *ws < 0 || *wz < 0) {
    free(s);
    return EC_ERR_INTERNAL;
  }
  *scales = s;
  return EC_OK;
}

/* int32 bias in units of x_scale * w_scale[c]; -2 when a value does not fit int32. */
static int bias_int32(ec_graph *g, int b, float xs, const float *ws, int wch) {
  const ec_tensor *t = &g->tensors[b];
  int64_t n = ec_tensor_numel(t);
  int32_t *q = malloc(sizeof(int32_t) * (size_t)n);
  if (!q) return -1;
  for (int64_t c = 0; c < n; c++) {
    double v = nearbyint((double)((const float *)t->data)[c] / ((double)xs * ws[wch > 1 ? c : 0]));
    if (!(v >= INT32_MIN && v <= INT32_MAX)) {
      free(q);
      return -2;
    }
    q[c] = (int32_t)v;
  }
  int64_t dims[1] = {n};
  return new_const(g, t->name, "_int32", ECK_INT32, 1, dims, q, sizeof(int32_t) * (size_t)n);
}

/* Node ni (a candidate) made int8. */
static ec_status apply_one(ec_graph *g, int ni, const ec_calib_result *r, const ec_quant_opts *o, qtensor *map,
                           ec_diag *d) {
  ec_node *n = &g->nodes[ni];
  int op = n->op;
  int x = n->inputs[0], w = n->inputs[1], b = n->n_inputs > 2 ? n->inputs[2] : -1;
  int relu = fused_relu(g, n->outputs[0]);
  int y = relu >= 0 ? g->nodes[relu].outputs[0] : n->outputs[0];
  const ec_calib_range *rx = range_of(r, x), *ry = range_of(r, y);
  bool gemm = op == EC_OP_Gemm;
  bool trans_b = gemm && ((const eck_gemm_params *)n->params)->trans_b;
  ec_status st = quantized(g, x, rx, map);
  if (st) return st;
  const ec_tensor *wt = &g->tensors[w];
  int channels = op == EC_OP_Conv && o->per_channel ? (int)wt->dims[0] : 1;
  int wq, ws, wz;
  float *wscale = NULL;
  if ((st = weights(g, w, channels, trans_b, &wq, &ws, &wz, &wscale))) return st;
  qtensor qx = map[x];
  float xs = *(const float *)g->tensors[qx.scale].data;
  int bq = -1;
  if (b >= 0 && !gemm) {
    bq = bias_int32(g, b, xs, wscale, channels);
    if (bq == -2) {
      free(wscale);
      return ec_fail_node(d, g, n, "its bias does not fit int32 at the calibrated scales: leave it fp32");
    }
    if (bq < 0) st = EC_ERR_INTERNAL;
  }
  free(wscale);
  if (st) return st;
  /* Gemm's bias is added in float after the int8 product: QLinearMatMul has none. The product's
   * range is then the output's widened by the bias's: [min - max b, max - min b]. */
  float lo = ry->lo, hi = ry->hi;
  if (b >= 0 && gemm) {
    const ec_tensor *bt = &g->tensors[b];
    float bmin = INFINITY, bmax = -INFINITY;
    for (int64_t c = 0; c < ec_tensor_numel(bt); c++) {
      float v = ((const float *)bt->data)[c];
      bmin = fminf(bmin, v), bmax = fmaxf(bmax, v);
    }
    lo -= bmax, hi -= bmin;
  }
  float ys;
  int32_t yz;
  ec_calib_qparams(lo, hi, &ys, &yz);
  char base[512];
  qtensor qy;
  snprintf(base, sizeof base, "%s%s", g->tensors[y].name, b >= 0 && gemm ? "_product" : "");
  if (!scalar_params(g, base, ys, yz, &qy.scale, &qy.zp)) return EC_ERR_INTERNAL;
  snprintf(base, sizeof base, "%s%s_int8", g->tensors[y].name, b >= 0 && gemm ? "_product" : "");
  qy.q = ec_graph_fresh_tensor(g, base);
  if (qy.q < 0) return EC_ERR_INTERNAL;
  g->tensors[qy.q].dtype = ECK_INT8;
  int ins[9] = {qx.q, qx.scale, qx.zp, wq, ws, wz, qy.scale, qy.zp, bq};
  n = &g->nodes[ni];
  const char *type = op == EC_OP_Conv ? "QLinearConv" : "QLinearMatMul";
  char *nt = ec_strdup(type);
  if (!nt) return EC_ERR_INTERNAL;
  free(n->op_type);
  n->op_type = nt;
  n->op = ec_op_find(type, "");
  if (op != EC_OP_Conv) ec_node_clear_attrs(n); /* Gemm's alpha, beta, transB are applied */
  n->bits = 8;
  if ((st = ec_node_set_inputs(g, ni, ins, bq >= 0 ? 9 : 8)) || (st = ec_node_set_outputs(g, ni, &qy.q, 1)))
    return st;
  if (relu >= 0) g->nodes[relu].dead = true;
  /* fp32 readers (and graph outputs) read y through a DequantizeLinear; int8 readers read qy. */
  char nm[512];
  node_name(g, ni, "/DequantizeLinear", nm, sizeof nm);
  int dins[3] = {qy.q, qy.scale, qy.zp};
  if (b >= 0 && gemm) {
    snprintf(base, sizeof base, "%s_product", g->tensors[y].name);
    int prod = ec_graph_fresh_tensor(g, base);
    if (prod < 0 || add_node(g, "DequantizeLinear", nm, dins, 3, prod) < 0) return EC_ERR_INTERNAL;
    node_name(g, ni, "/bias", nm, sizeof nm);
    int ains[2] = {prod, b};
    if (add_node(g, "Add", nm, ains, 2, y) < 0) return EC_ERR_INTERNAL;
  } else {
    if (add_node(g, "DequantizeLinear", nm, dins, 3, y) < 0) return EC_ERR_INTERNAL;
    map[y] = qy;
  }
  return EC_OK;
}

ec_status ec_quant_apply(ec_graph *g, const ec_calib_result *r, const ec_quant_opts *o, ec_diag *d) {
  int n0 = g->n_nodes, t0 = g->n_tensors;
  qtensor *map = malloc(sizeof *map * (size_t)(t0 + 1));
  if (!map) return EC_ERR_INTERNAL;
  for (int t = 0; t < t0; t++) map[t] = (qtensor){-1, -1, -1};
  /* Decide first, then rewrite: a fused Relu's output must be read before the graph changes. */
  bool *take = calloc((size_t)n0 + 1, 1);
  ec_status st = take ? EC_OK : EC_ERR_INTERNAL;
  for (int i = 0; !st && i < n0; i++) take[i] = g->nodes[i].bits == 8 && ec_quant_candidate(g, i, r);
  for (int i = 0; !st && i < n0; i++) {
    if (!take[i]) {
      if (g->nodes[i].bits == 8) g->nodes[i].bits = 0; /* not an int8 candidate: stays fp32 */
      continue;
    }
    st = apply_one(g, i, r, o, map, d);
  }
  free(take);
  free(map);
  /* Sorting drops the fused Relus first (a dead node still writes a tensor that its
   * DequantizeLinear now writes). */
  if (!st) st = ec_graph_toposort(g, d);
  if (!st) st = ec_infer_graph(g, d);
  /* DequantizeLinear nodes no fp32 node reads (their int8 readers read the int8 tensor). */
  for (bool again = true; !st && again;) {
    again = false;
    for (int i = 0; i < g->n_nodes; i++) {
      ec_node *n = &g->nodes[i];
      if (n->dead || n->n_outputs != 1 || n->outputs[0] < 0) continue;
      const ec_tensor *t = &g->tensors[n->outputs[0]];
      bool read = t->is_output;
      for (int c = 0; c < t->n_consumers && !read; c++) read = !g->nodes[t->consumers[c]].dead;
      if (!read && (n->op == EC_OP_DequantizeLinear || n->op == EC_OP_QuantizeLinear)) n->dead = again = true;
    }
  }
  if (!st) st = ec_graph_compact(g);
  if (st == EC_ERR_INTERNAL && !d->msg[0]) ec_diag_set(d, "", "", "out of memory while quantizing");
  return st;
}

/* ---- runs and scores ----------------------------------------------------------------------- */

static ec_status feed(ec_graph *g, const ec_calib_sample *smp, int n_inputs, void **values, ec_diag *d) {
  for (int k = 0; k < n_inputs; k++) {
    uint8_t *buf;
    size_t len;
    ec_status st = ec_read_file(smp->path[k], &buf, &len, d);
    if (st) return st;
    ec_const c;
    st = ec_onnx_parse_tensor(buf, len, smp->path[k], &c, NULL, d);
    free(buf);
    if (st) return st;
    const ec_tensor *t = &g->tensors[g->inputs[k]];
    if (c.dtype != t->dtype || (int64_t)c.nbytes != ec_tensor_numel(t) * (int64_t)eck_dtype_size(t->dtype)) {
      free(c.data);
      ec_diag_set(d, smp->path[k], "", "does not match input '%s' (dtype or size)", t->name);
      return EC_ERR_MODEL;
    }
    values[g->inputs[k]] = c.data;
  }
  return EC_OK;
}

ec_status ec_quant_run(ec_graph *g, const ec_calib_set *set, ec_calib_progress_fn progress, void *ctx,
                       float **out, int64_t *per, ec_diag *d) {
  *out = NULL;
  int yt = g->n_outputs ? g->outputs[0] : -1;
  if (yt < 0 || g->tensors[yt].dtype != ECK_FLOAT || set->n_inputs != g->n_inputs) {
    ec_diag_set(d, "", "", "--calib: measuring accuracy needs one float output and %d input file(s) per sample",
                g->n_inputs);
    return EC_ERR_USAGE;
  }
  *per = ec_tensor_numel(&g->tensors[yt]);
  size_t nt = (size_t)g->n_tensors + 1;
  void **values = calloc(nt, sizeof *values);
  int *last = malloc(sizeof(int) * nt);
  *out = malloc(sizeof(float) * (size_t)(*per) * (size_t)(set->n_samples ? set->n_samples : 1));
  ec_status st = values && last && *out ? EC_OK : EC_ERR_INTERNAL;
  for (int t = 0; !st && t < g->n_tensors; t++) last[t] = g->tensors[t].is_output ? g->n_nodes : -1;
  for (int i = 0; !st && i < g->n_nodes; i++)
    for (int k = 0; k < g->nodes[i].n_inputs; k++)
      if (g->nodes[i].inputs[k] >= 0 && last[g->nodes[i].inputs[k]] < i) last[g->nodes[i].inputs[k]] = i;
  for (int s = 0; !st && s < set->n_samples; s++) {
    st = feed(g, &set->samples[s], set->n_inputs, values, d);
    for (int i = 0; !st && i < g->n_nodes; i++) {
      if ((st = ec_eval_node(g, i, values, d))) break;
      const ec_node *n = &g->nodes[i];
      for (int k = 0; k < n->n_inputs; k++) {
        int t = n->inputs[k];
        if (t >= 0 && last[t] == i && g->tensors[t].kind != EC_TK_CONSTANT) free(values[t]), values[t] = NULL;
      }
    }
    if (!st && !values[yt]) {
      ec_diag_set(d, "", "", "output '%s' was not computed", g->tensors[yt].name);
      st = EC_ERR_INTERNAL;
    }
    if (!st) memcpy(*out + (size_t)s * (size_t)*per, values[yt], sizeof(float) * (size_t)*per);
    for (int t = 0; t < g->n_tensors; t++)
      if (g->tensors[t].kind != EC_TK_CONSTANT) free(values[t]), values[t] = NULL;
    if (!st && progress) progress(ctx, 1, 1, s + 1, set->n_samples);
  }
  free(values);
  free(last);
  if (st) {
    free(*out);
    *out = NULL;
    if (st == EC_ERR_INTERNAL && !d->msg[0]) ec_diag_set(d, "", "", "out of memory while running the calibration set");
  }
  return st;
}

static int64_t argmax(const float *v, int64_t n) {
  int64_t best = 0;
  for (int64_t i = 1; i < n; i++)
    if (v[i] > v[best]) best = i;
  return best;
}

ec_quant_score ec_quant_compare(const float *ref, const float *got, int n_samples, int64_t per,
                                const int *labels) {
  ec_quant_score s = {0, 0, 200.0};
  double sig = 0, noise = 0;
  for (int k = 0; k < n_samples; k++) {
    const float *a = ref + (size_t)k * (size_t)per, *b = got + (size_t)k * (size_t)per;
    int64_t ta = argmax(a, per), tb = argmax(b, per);
    s.agree += ta == tb;
    if (labels) s.correct += tb == labels[k];
    for (int64_t i = 0; i < per; i++) {
      double e = (double)a[i] - (double)b[i];
      sig += (double)a[i] * a[i];
      noise += e * e;
    }
  }
  if (noise > 0) s.sqnr_db = sig > 0 ? 10.0 * log10(sig / noise) : -200.0;
  return s;
}

ec_status ec_quant_read_labels(const char *path, const ec_calib_set *set, int **labels, ec_diag *d) {
  FILE *f = fopen(path, "r");
  if (!f) {
    ec_diag_set(d, "", "", "--calib-labels %s: %s", path, strerror(errno));
    return EC_ERR_USAGE;
  }
  int n = set->n_samples;
  int *lab = malloc(sizeof(int) * (size_t)(n ? n : 1));
  bool *seen = calloc((size_t)n + 1, 1);
  ec_status st = lab && seen ? EC_OK : EC_ERR_INTERNAL;
  char line[1024];
  int row = 0, lineno = 0;
  while (!st && fgets(line, sizeof line, f)) {
    lineno++;
    char a[512], b[512];
    int m = sscanf(line, "%511s %511s", a, b);
    if (m <= 0) continue;
    const char *num = m == 2 ? b : a;
    char *end;
    long v = strtol(num, &end, 10);
    int k = -1;
    if (m == 2) {
      for (int i = 0; i < n && k < 0; i++)
        if (strcmp(set->samples[i].name, a) == 0) k = i;
      if (k < 0) continue; /* a sample beyond --calib-max, or not in the set */
    } else {
      k = row < n ? row : -1;
      row++;
      if (k < 0) continue;
    }
    if (*end || end == num || v < 0 || v > 1000000) {
      ec_diag_set(d, "", "", "--calib-labels %s:%d: '%s' is not a class number", path, lineno, num);
      st = EC_ERR_USAGE;
      break;
    }
    lab[k] = (int)v;
    seen[k] = true;
  }
  fclose(f);
  for (int i = 0; !st && i < n; i++)
    if (!seen[i]) {
      ec_diag_set(d, "", "", "--calib-labels %s: no label for sample %s (one per line in sample order, or "
                  "`NAME LABEL` lines)", path, set->samples[i].name);
      st = EC_ERR_USAGE;
    }
  free(seen);
  if (st) {
    free(lab);
    lab = NULL;
  }
  *labels = lab;
  return st;
}
