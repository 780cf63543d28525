/* matmul_bias.c — a MatMul by a constant [K, N] matrix followed by the Add of a constant bias row
 * (what PyTorch exports for every nn.Linear of an input of rank 3 or more) becomes one Gemm with
 * the bias as its C, between two Reshapes to [rows, K] and back, which move no byte: one
 * fully-connected operator with its bias instead of an FC and a broadcasting Add. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "op.h"
#include "passes.h"

/* A new activation tensor named name + suffix (made unique) of dtype and dims. */
static int new_act(ec_graph *g, const char *name, const char *suffix, int32_t dtype, int rank,
                   const int64_t *dims) {
  size_t len = strlen(name) + strlen(suffix) + 1;
  char *s = malloc(len);
  if (!s) return -1;
  snprintf(s, len, "%s%s", name, suffix);
  int t = ec_graph_fresh_tensor(g, s);
  free(s);
  if (t < 0) return -1;
  ec_tensor *x = &g->tensors[t];
  x->dtype = dtype;
  x->rank = rank;
  memcpy(x->dims, dims, sizeof(int64_t) * (size_t)rank);
  x->kind = EC_TK_ACTIVATION;
  return t;
}

/* Adds the node `name` = Reshape(from, dims) writing tensor `to`; its shape is a new constant. */
static ec_status add_reshape(ec_graph *g, const char *name, int from, int to, int rank, const int64_t *dims,
                             ec_diag *d) {
  int64_t *shape = malloc(sizeof(int64_t) * (size_t)rank), n = rank;
  if (!shape) return EC_ERR_INTERNAL;
  memcpy(shape, dims, sizeof(int64_t) * (size_t)rank);
  int s = ec_pass_new_const(g, name, "_shape", ECK_INT64, 1, &n, shape, sizeof(int64_t) * (size_t)rank);
  if (s < 0) return EC_ERR_INTERNAL;
  int ni = ec_graph_add_node(g, "Reshape", "", name);
  if (ni < 0) return EC_ERR_INTERNAL;
  g->nodes[ni].op = ec_op_find("Reshape", "");
  int ins[2] = {from, s};
  ec_status st = ec_node_set_inputs(g, ni, ins, 2);
  if (!st) st = ec_node_set_outputs(g, ni, &to, 1);
  if (!st) st = ec_infer_node(g, ni, d);
  return st;
}

/* The bias operand of Add node ai reading the MatMul output y [.., N]: a constant of y's dtype
 * with N elements, all its dims but the last 1 and no more of them than y has (so that the Add
 * keeps y's shape). -1 when the other operand is not such a constant. */
static int bias_operand(const ec_graph *g, int ai, int y) {
  if (!ec_pass_is_binary(g, ai, EC_OP_Add)) return -1;
  const ec_node *a = &g->nodes[ai];
  int b = a->inputs[0] == y ? a->inputs[1] : a->inputs[0];
  if (b == y || (a->inputs[0] != y && a->inputs[1] != y)) return -1;
  const ec_tensor *bt = &g->tensors[b], *yt = &g->tensors[y];
  if (bt->kind != EC_TK_CONSTANT || !bt->data || bt->dtype != yt->dtype || bt->rank < 1 || bt->rank > yt->rank ||
      bt->dims[bt->rank - 1] != yt->dims[yt->rank - 1])
    return -1;
  for (int k = 0; k < bt->rank - 1; k++)
    if (bt->dims[k] != 1) return -1;
  return b;
}

ec_status ec_pass_matmul_bias(ec_graph *g, int *count, ec_diag *d) {
  bool added = false;
  for (int i = 0; i < g->n_nodes; i++) {
    const ec_node *n = &g->nodes[i];
    if (n->dead || n->op != EC_OP_MatMul || n->n_inputs != 2 || n->inputs[0] < 0 || n->inputs[1] < 0)
      continue;
    int x = n->inputs[0], w = n->inputs[1], y = n->outputs[0];
    const ec_tensor *xt = &g->tensors[x], *wt = &g->tensors[w], *yt = &g->tensors[y];
    /* float32 or float64 (Gemm's types that MatMul shares), x of rank 2 or more. */
    if ((xt->dtype != ECK_FLOAT && xt->dtype != ECK_DOUBLE) || wt->dtype != xt->dtype ||
        wt->kind != EC_TK_CONSTANT || wt->rank != 2 || xt->rank < 2 || yt->rank != xt->rank ||
        xt->kind == EC_TK_CONSTANT || xt->dyn || yt->dyn) /* a run-time extent: no fixed rows */
      continue;
    int ai = ec_pass_sole_reader(g, y);
    int b = ai < 0 ? -1 : bias_operand(g, ai, y);
    if (b < 0) continue;
    int z = g->nodes[ai].outputs[0];
    const ec_tensor *zt = &g->tensors[z];
    if (zt->rank != yt->rank || memcmp(zt->dims, yt->dims, sizeof(int64_t) * (size_t)yt->rank) != 0) continue;
    int64_t k = xt->dims[xt->rank - 1], nout = wt->dims[1], rows = 1;
    for (int r = 0; r < xt->rank - 1; r++) rows *= xt->dims[r];
    int rank = xt->rank, dtype = xt->dtype;
    int64_t out_dims[EC_MAX_RANK];
    memcpy(out_dims, yt->dims, sizeof(int64_t) * (size_t)rank);
    /* Gemm's C: the bias as a row [N] (a new constant when it had leading ones). */
    if (g->tensors[b].rank != 1) {
      size_t bytes = (size_t)nout * eck_dtype_size(dtype);
      void *row = malloc(bytes ? bytes : 1);
      if (!row) return EC_ERR_INTERNAL;
      memcpy(row, g->tensors[b].data, bytes);
      b = ec_pass_new_const(g, g->tensors[b].name, "_row", dtype, 1, &nout, row, bytes);
      if (b < 0) return EC_ERR_INTERNAL;
    }
    /* The Gemm keeps the MatMul's name; the Add goes. Rank 2: no Reshape. */
    char *name = ec_strdup(g->nodes[i].name);
    if (!name) return EC_ERR_INTERNAL;
    int a2 = x, y2 = z;
    ec_status st = EC_OK;
    if (rank > 2) {
      int64_t flat_x[2] = {rows, k}, flat_y[2] = {rows, nout};
      a2 = new_act(g, g->tensors[x].name, "_rows", dtype, 2, flat_x);
      y2 = new_act(g, g->tensors[z].name, "_rows", dtype, 2, flat_y);
      if (a2 < 0 || y2 < 0) st = EC_ERR_INTERNAL;
      size_t len = strlen(name) + 16;
      char *rn = malloc(len);
      if (!rn) st = EC_ERR_INTERNAL;
      if (!st) snprintf(rn, len, "%s_rows", name);
      if (!st) st = add_reshape(g, rn, x, a2, 2, flat_x, d);
      if (!st) snprintf(rn, len, "%s_unrows", name);
      if (!st) st = add_reshape(g, rn, y2, z, rank, out_dims, d);
      free(rn);
      added = true;
    }
    int ins[3] = {a2, w, b}, fused[2] = {i, ai};
    if (!st) st = ec_pass_record_fused(g, i, fused, 2);
    if (!st) st = ec_pass_retype(g, i, "Gemm", "", ins, 3);
    if (!st) st = ec_node_set_outputs(g, i, &y2, 1);
    if (!st) g->nodes[ai].dead = true;
    if (!st) st = ec_infer_node(g, i, d);
    free(name);
    if (st) return st;
    (*count)++;
  }
  ec_status st = ec_graph_link(g);
  if (!st && added) st = ec_graph_toposort(g, d);
  return st;
}
