/* layernorm.c — folds the LayerNorm that exporters write decomposed (PyTorch at opsets below 17:
 * ReduceMean, Sub, Pow 2, ReduceMean, Add eps, Sqrt, Div, Mul gamma, Add beta) into one
 * LayerNormalization node, which one kernel runs in a single pass instead of nine. */
#include <stdlib.h>
#include <string.h>

#include "op.h"
#include "passes.h"

enum { MAX_BLOCK = 12 };

typedef struct {
  int nodes[MAX_BLOCK], n; /* the block, in the order matched; the last writes its output */
  int x, axis, scale, bias;
  float eps;
} ln_match;

static bool float_type(int32_t dt) { return dt == ECK_FLOAT || dt == ECK_DOUBLE; }

/* The reduced dims of a ReduceMean that keeps dims, as the first one of a trailing run (its
 * reduced dims are axis..rank-1), or -1. */
static int trailing_axis(const ec_graph *g, int ni) {
  const ec_node *n = &g->nodes[ni];
  const eck_reduce_params *p = n->params;
  if (!p || n->n_outputs != 1 || n->inputs[0] < 0 || n->outputs[0] < 0) return -1;
  const ec_tensor *x = &g->tensors[n->inputs[0]], *y = &g->tensors[n->outputs[0]];
  if (x->rank < 1 || y->rank != x->rank || x->rank > 31) return -1;
  for (int a = x->rank - 1; a >= 0; a--)
    if (p->axes == (((uint32_t)1 << x->rank) - 1) - (((uint32_t)1 << a) - 1)) return a;
  return -1;
}

/* The other input of binary node ni when one of its inputs is t, else -1. */
static int other_input(const ec_graph *g, int ni, int t) {
  const ec_node *n = &g->nodes[ni];
  if (n->inputs[0] == t) return n->inputs[1];
  if (n->inputs[1] == t) return n->inputs[0];
  return -1;
}

/* gamma or beta: a constant of x's dtype that broadcasts over the normalised dims alone (its
 * rank at most theirs, each dim equal or 1), so that the block's output keeps x's shape. */
static bool affine_ok(const ec_graph *g, int t, const ec_tensor *x, int axis) {
  const ec_tensor *c = &g->tensors[t];
  if (c->kind != EC_TK_CONSTANT || !c->data || c->dtype != x->dtype || c->rank > x->rank - axis)
    return false;
  for (int k = 0; k < c->rank; k++) {
    int64_t d = c->dims[k], w = x->dims[x->rank - c->rank + k];
    if (d != w && d != 1) return false;
  }
  return true;
}

static void add(ln_match *m, int ni) { m->nodes[m->n++] = ni; }

/* When the sole reader of *out is a binary `op` with a constant gamma or beta (affine_ok) as
 * its other operand: adds it to the block, moves *out to its output, returns that constant;
 * else -1. */
static int affine_step(const ec_graph *g, int op, int *out, const ec_tensor *x, ln_match *m) {
  int ni = ec_pass_sole_reader(g, *out);
  if (!ec_pass_is_binary(g, ni, op)) return -1;
  int c = other_input(g, ni, *out);
  if (c < 0 || c == *out || !affine_ok(g, c, x, m->axis)) return -1;
  add(m, ni);
  *out = g->nodes[ni].outputs[0];
  return c;
}

/* Matches the block whose mean is ReduceMean node ri. */
static bool match(const ec_graph *g, int ri, ln_match *m) {
  memset(m, 0, sizeof *m);
  m->scale = m->bias = -1;
  const ec_node *r1 = &g->nodes[ri];
  if (r1->dead || r1->op != EC_OP_ReduceMean || r1->n_inputs < 1) return false;
  m->x = r1->inputs[0];
  const ec_tensor *x = &g->tensors[m->x];
  if (!float_type(x->dtype) || (m->axis = trailing_axis(g, ri)) < 0) return false;
  add(m, ri);
  /* d = x - mean */
  int sub = ec_pass_sole_reader(g, r1->outputs[0]);
  if (!ec_pass_is_binary(g, sub, EC_OP_Sub) || g->nodes[sub].inputs[0] != m->x ||
      g->nodes[sub].inputs[1] != r1->outputs[0])
    return false;
  add(m, sub);
  int d = g->nodes[sub].outputs[0];
  /* d's readers: the square (Pow d 2, or Mul d d) and the division. */
  const ec_tensor *td = &g->tensors[d];
  int sq = -1, div = -1;
  for (int k = 0; k < td->n_consumers; k++) {
    int c = td->consumers[k];
    const ec_node *n = &g->nodes[c];
    bool square = (ec_pass_is_binary(g, c, EC_OP_Pow) && n->inputs[0] == d &&
                   ec_pass_scalar_near(g, n->inputs[1], 2.0, 0)) ||
                  (ec_pass_is_binary(g, c, EC_OP_Mul) && n->inputs[0] == d && n->inputs[1] == d);
    if (square && (sq < 0 || sq == c)) sq = c;
    else if (!square && (div < 0 || div == c)) div = c;
    else return false;
  }
  if (sq < 0 || div < 0) return false;
  add(m, sq);
  /* var = mean of the square over the same dims */
  int r2 = ec_pass_sole_reader(g, g->nodes[sq].outputs[0]);
  if (r2 < 0 || g->nodes[r2].op != EC_OP_ReduceMean || trailing_axis(g, r2) != m->axis) return false;
  add(m, r2);
  /* var + eps, eps a constant of one element of x's dtype that a float attribute holds exactly */
  int v = g->nodes[r2].outputs[0];
  int ae = ec_pass_sole_reader(g, v);
  if (!ec_pass_is_binary(g, ae, EC_OP_Add)) return false;
  int et = other_input(g, ae, v);
  double eps;
  if (et < 0 || et == v || !ec_pass_scalar(g, et, &eps) || g->tensors[et].dtype != x->dtype ||
      g->tensors[et].rank > x->rank || (double)(float)eps != eps)
    return false;
  m->eps = (float)eps;
  add(m, ae);
  int sr = ec_pass_sole_reader(g, g->nodes[ae].outputs[0]);
  if (sr < 0 || g->nodes[sr].op != EC_OP_Sqrt) return false;
  add(m, sr);
  /* d / sqrt(...), or d * Reciprocal(sqrt(...)) */
  int s = g->nodes[sr].outputs[0];
  int q = ec_pass_sole_reader(g, s);
  if (q >= 0 && g->nodes[q].op == EC_OP_Reciprocal) {
    add(m, q);
    int rq = g->nodes[q].outputs[0];
    if (ec_pass_sole_reader(g, rq) != div || !ec_pass_is_binary(g, div, EC_OP_Mul) ||
        other_input(g, div, rq) != d)
      return false;
  } else if (q != div || !ec_pass_is_binary(g, div, EC_OP_Div) || g->nodes[div].inputs[0] != d ||
             g->nodes[div].inputs[1] != s) {
    return false;
  }
  add(m, div);
  /* Optional affine tail: * gamma, then + beta (either side of each). */
  int out = g->nodes[div].outputs[0];
  m->scale = affine_step(g, EC_OP_Mul, &out, x, m);
  m->bias = affine_step(g, EC_OP_Add, &out, x, m);
  /* Nothing outside the block reads an intermediate, and the output keeps x's shape. */
  const ec_tensor *y = &g->tensors[out];
  if (!ec_pass_block_closed(g, m->nodes, m->n) || y->dtype != x->dtype || y->rank != x->rank ||
      memcmp(y->dims, x->dims, sizeof(int64_t) * (size_t)x->rank) != 0)
    return false;
  return true;
}

/* A scale of ones for a block without gamma ([1], broadcast). */
static int ones(ec_graph *g, const ln_match *m) {
  int32_t dt = g->tensors[m->x].dtype;
  size_t es = dt == ECK_DOUBLE ? sizeof(double) : sizeof(float);
  void *data = malloc(es);
  if (!data) return -1;
  if (dt == ECK_DOUBLE) *(double *)data = 1.0;
  else *(float *)data = 1.0f;
  int64_t one = 1;
  char *base = ec_strdup(g->nodes[m->nodes[0]].name[0] ? g->nodes[m->nodes[0]].name : "layernorm");
  if (!base) {
    free(data);
    return -1;
  }
  int t = ec_pass_new_const(g, base, "_scale_ones", dt, 1, &one, data, es);
  free(base);
  return t;
}

ec_status ec_pass_layernorm(ec_graph *g, int *count, ec_diag *d) {
  for (int i = 0; i < g->n_nodes; i++) {
    ln_match m;
    if (!match(g, i, &m)) continue;
    int scale = m.scale >= 0 ? m.scale : ones(g, &m);
    if (scale < 0) return EC_ERR_INTERNAL;
    int last = m.nodes[m.n - 1];
    int ins[3] = {m.x, scale, m.bias};
    ec_status st = ec_pass_name_fused(g, last, m.nodes, m.n, "LayerNormalization");
    if (!st) st = ec_pass_retype(g, last, "LayerNormalization", "", ins, m.bias >= 0 ? 3 : 2);
    if (!st) st = ec_pass_set_attr_int(g, last, "axis", m.axis);
    if (!st) st = ec_pass_set_attr_float(g, last, "epsilon", m.eps);
    if (!st) st = ec_infer_node(g, last, d);
    if (st) return st;
    for (int k = 0; k < m.n - 1; k++) g->nodes[m.nodes[k]].dead = true;
    (*count)++;
  }
  return ec_graph_link(g);
}
