/* transpose_opt.c — the transpose optimizer: permutes that undo each other or move no byte leave
 * the graph, and a Transpose moves below a scaling by a scalar, so that the pass matmul-transpose
 * finds it next to the MatMul it feeds (attention's Q, scaled before Q·Kᵀ). Three rewrites, each
 * leaving the values as they were:
 *   - Transpose(Transpose(x, p), q) is one Transpose(x, p∘q), and none where that is the identity
 *     (its readers read x);
 *   - a Transpose that moves only dims of extent 1 (the others keep their order) is a Reshape,
 *     which moves no byte;
 *   - Transpose(x, p) read only by an Add, Sub, Mul or Div with a constant scalar becomes the
 *     scaling of x, transposed. */
#include <stdlib.h>
#include <string.h>

#include "op.h"
#include "passes.h"

static const int32_t *perm_of(const ec_graph *g, int ni) {
  const ec_node *n = &g->nodes[ni];
  return n->params ? ((const eck_transpose_params *)n->params)->perm : NULL;
}

static bool is_identity(const int32_t *p, int r) {
  for (int k = 0; k < r; k++)
    if (p[k] != k) return false;
  return true;
}

/* Transpose ni of a Transpose: composed into one; the identity removed. */
static ec_status compose(ec_graph *g, int ni, int *count, ec_diag *d) {
  ec_node *n = &g->nodes[ni];
  int t0 = ec_pass_producer(g, n->inputs[0], EC_OP_Transpose);
  if (t0 < 0 || !perm_of(g, t0) || !perm_of(g, ni)) return EC_OK;
  int x = g->nodes[t0].inputs[0], r = g->tensors[x].rank;
  const int32_t *p0 = perm_of(g, t0), *p1 = perm_of(g, ni);
  int32_t q[EC_MAX_RANK];
  for (int k = 0; k < r; k++) q[k] = p0[p1[k]];
  int y = n->outputs[0];
  if (is_identity(q, r) && !ec_pass_is_output(g, y)) {
    /* Readers of y read x; nothing writes y any more. */
    for (int i = 0; i < g->n_nodes; i++) {
      ec_node *m = &g->nodes[i];
      if (m->dead) continue;
      for (int k = 0; k < m->n_inputs; k++)
        if (m->inputs[k] == y) m->inputs[k] = x;
    }
    n->dead = true;
  } else {
    int64_t v[EC_MAX_RANK];
    for (int k = 0; k < r; k++) v[k] = q[k];
    int ins[1] = {x};
    ec_status st = ec_pass_retype(g, ni, "Transpose", "", ins, 1);
    if (!st) st = ec_pass_set_attr_ints(g, ni, "perm", v, r);
    if (!st) st = ec_infer_node(g, ni, d);
    if (st) return st;
  }
  (*count)++;
  ec_status st = ec_graph_link(g);
  /* The first Transpose, when the second was its only reader, is read by nothing now. */
  int t0y = g->nodes[t0].outputs[0];
  if (!st && g->tensors[t0y].n_consumers == 0 && !ec_pass_is_output(g, t0y)) g->nodes[t0].dead = true;
  return st;
}

/* A Transpose whose non-1 dims keep their order: a Reshape to its output's shape. */
static ec_status to_reshape(ec_graph *g, int ni, int *count, ec_diag *d) {
  ec_node *n = &g->nodes[ni];
  const int32_t *p = perm_of(g, ni);
  int x = n->inputs[0], y = n->outputs[0];
  const ec_tensor *tx = &g->tensors[x];
  if (!p || tx->rank < 1 || g->tensors[y].rank != tx->rank || tx->dyn) return EC_OK;
  int last = -1;
  for (int k = 0; k < tx->rank; k++) {
    if (tx->dims[p[k]] == 1) continue;
    if (tx->dims[p[k]] < 1 || p[k] < last) return EC_OK;
    last = p[k];
  }
  int r = g->tensors[y].rank;
  int64_t *shape = malloc(sizeof(int64_t) * (size_t)r), dims[1] = {r};
  if (!shape) return EC_ERR_INTERNAL;
  memcpy(shape, g->tensors[y].dims, sizeof(int64_t) * (size_t)r);
  int c = ec_pass_new_const(g, n->name ? n->name : "transpose", "_as_reshape", ECK_INT64, 1, dims, shape,
                            sizeof(int64_t) * (size_t)r);
  if (c < 0) return EC_ERR_INTERNAL;
  int ins[2] = {x, c};
  ec_status st = ec_pass_retype(g, ni, "Reshape", "", ins, 2);
  if (!st) st = ec_infer_node(g, ni, d);
  if (st) return st;
  (*count)++;
  return ec_graph_link(g);
}

/* Transpose ni read only by a binary op with a constant scalar: the op first, on x, then the
 * Transpose. The two nodes swap places in the node order (the op takes the Transpose's slot), so
 * the order stays topological; the Transpose's old output tensor now holds the scaled x. */
static ec_status sink(ec_graph *g, int ni, int *count, ec_diag *d) {
  int t = g->nodes[ni].outputs[0], x = g->nodes[ni].inputs[0];
  int si = ec_pass_sole_reader(g, t);
  if (si < 0 || g->tensors[x].dyn) return EC_OK;
  const ec_node *s = &g->nodes[si];
  if (s->op != EC_OP_Add && s->op != EC_OP_Sub && s->op != EC_OP_Mul && s->op != EC_OP_Div) return EC_OK;
  if (!ec_pass_is_binary(g, si, s->op) || s->n_outputs != 1) return EC_OK;
  int k = s->inputs[0] == t ? 1 : 0;
  double v;
  if (s->inputs[1 - k] != t || s->inputs[k] == t || !ec_pass_scalar(g, s->inputs[k], &v) ||
      g->tensors[s->inputs[k]].rank > g->tensors[x].rank || g->tensors[s->inputs[k]].dtype != g->tensors[x].dtype)
    return EC_OK;
  int u = s->outputs[0];
  /* Swap the two nodes' structs, then rewire: slot ni computes op(x) into t, slot si transposes
   * t into u. */
  ec_node tmp = g->nodes[ni];
  g->nodes[ni] = g->nodes[si];
  g->nodes[si] = tmp;
  ec_node *op = &g->nodes[ni], *tr = &g->nodes[si];
  op->inputs[1 - k] = x;
  op->outputs[0] = t;
  tr->inputs[0] = t;
  tr->outputs[0] = u;
  ec_status st = ec_graph_link(g);
  if (!st) st = ec_infer_node(g, ni, d);
  if (!st) st = ec_infer_node(g, si, d);
  if (st) return st;
  (*count)++;
  return EC_OK;
}

ec_status ec_pass_transpose_opt(ec_graph *g, int *count, ec_diag *d) {
  for (int i = 0; i < g->n_nodes; i++) {
    if (g->nodes[i].dead || g->nodes[i].op != EC_OP_Transpose || g->nodes[i].n_inputs < 1 ||
        g->nodes[i].inputs[0] < 0 || g->nodes[i].outputs[0] < 0)
      continue;
    int before = *count;
    ec_status st = compose(g, i, count, d);
    if (!st && *count == before && !g->nodes[i].dead) st = to_reshape(g, i, count, d);
    /* A sunk Transpose lands at a later slot, where the loop meets it again (another scaling
     * below, a Transpose to compose with). */
    if (!st && *count == before && !g->nodes[i].dead && g->nodes[i].op == EC_OP_Transpose) st = sink(g, i, count, d);
    if (st) return st;
  }
  return ec_graph_link(g);
}
