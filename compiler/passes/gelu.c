/* gelu.c — folds the GELU that PyTorch exports (torch.nn.GELU: Div, Erf, Add, Mul, Mul; with
 * approximate='tanh' nine nodes around a Tanh) into one Gelu node of edgecc's own domain
 * (com.edgecc: ONNX has Gelu only from opset 20), run by one kernel. */
#include <math.h>
#include <string.h>

#include "op.h"
#include "passes.h"

enum { MAX_BLOCK = 12 };

typedef struct {
  int nodes[MAX_BLOCK], n; /* the block; the last node writes its output */
  int x;
} gelu_match;

static const double tol = EC_PASS_CONST_TOL;

static void add(gelu_match *m, int ni) { m->nodes[m->n++] = ni; }

/* Input k of node ni (-1 when ni < 0). */
static int in(const ec_graph *g, int ni, int k) { return ni < 0 ? -1 : g->nodes[ni].inputs[k]; }
static int out(const ec_graph *g, int ni) { return g->nodes[ni].outputs[0]; }

/* The input of binary node ni other than its constant scalar near want; -1 if it has none. */
static int times(const ec_graph *g, int ni, int op, double want) {
  if (!ec_pass_is_binary(g, ni, op)) return -1;
  int k = ec_pass_binary_with_scalar(g, &g->nodes[ni], want, tol);
  return k < 0 ? -1 : g->nodes[ni].inputs[k];
}

/* The other input of binary node ni when one of its inputs is t, else -1. */
static int other_input(const ec_graph *g, int ni, int t) {
  const ec_node *n = &g->nodes[ni];
  if (n->inputs[0] == t) return n->inputs[1];
  if (n->inputs[1] == t) return n->inputs[0];
  return -1;
}

/* From a = 1 + erf(...) (or 1 + tanh(...)), the product x * a * 0.5 in the orders PyTorch and
 * other exporters write it: (x a) 0.5, (a 0.5) x... as any association of two Muls, or (x 0.5) a. */
static bool tail(const ec_graph *g, int a, gelu_match *m) {
  int m1 = ec_pass_sole_reader(g, a);
  if (!ec_pass_is_binary(g, m1, EC_OP_Mul)) return false;
  int o = other_input(g, m1, a);
  if (o < 0 || o == a) return false;
  int h = ec_pass_producer(g, o, EC_OP_Mul);
  if (o != m->x && !ec_pass_scalar_near(g, o, 0.5, tol) && h >= 0 && times(g, h, EC_OP_Mul, 0.5) == m->x) {
    add(m, h); /* (x 0.5) a */
    add(m, m1);
    return true;
  }
  /* a x, then 0.5; or a 0.5, then x */
  int want = o == m->x ? -2 : ec_pass_scalar_near(g, o, 0.5, tol) ? m->x : -1;
  if (want == -1) return false;
  int m2 = ec_pass_sole_reader(g, out(g, m1));
  if (!ec_pass_is_binary(g, m2, EC_OP_Mul)) return false;
  int p = other_input(g, m2, out(g, m1));
  if (want == -2 ? !ec_pass_scalar_near(g, p, 0.5, tol) || times(g, m2, EC_OP_Mul, 0.5) != out(g, m1)
                 : p != m->x)
    return false;
  add(m, m1);
  add(m, m2);
  return true;
}

/* 1 + f: the sole reader of f's output, an Add with a constant 1. */
static int plus_one(const ec_graph *g, int f, gelu_match *m) {
  int a = ec_pass_sole_reader(g, out(g, f));
  if (times(g, a, EC_OP_Add, 1.0) != out(g, f)) return -1;
  add(m, f);
  add(m, a);
  return out(g, a);
}

/* x/2 (1 + erf(x / sqrt 2)), the division by sqrt 2 also as a product with 1/sqrt 2. */
static bool match_erf(const ec_graph *g, int ei, gelu_match *m) {
  int d = g->nodes[ei].inputs[0];
  int dv = ec_pass_producer(g, d, EC_OP_Div), mu = ec_pass_producer(g, d, EC_OP_Mul);
  if (dv >= 0 && ec_pass_is_binary(g, dv, EC_OP_Div) &&
      ec_pass_scalar_near(g, in(g, dv, 1), sqrt(2.0), tol) && g->tensors[in(g, dv, 1)].rank <= g->tensors[in(g, dv, 0)].rank) {
    m->x = in(g, dv, 0);
    add(m, dv);
  } else if (mu >= 0 && (m->x = times(g, mu, EC_OP_Mul, sqrt(0.5))) >= 0) {
    add(m, mu);
  } else {
    return false;
  }
  int a = plus_one(g, ei, m);
  return a >= 0 && tail(g, a, m);
}

/* x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), x^3 as Pow(x, 3), x (x x) or (x x) x. */
static bool match_tanh(const ec_graph *g, int ti, gelu_match *m) {
  int inner = ec_pass_producer(g, g->nodes[ti].inputs[0], EC_OP_Mul);
  int s = times(g, inner, EC_OP_Mul, sqrt(2.0 / M_PI));
  int sa = ec_pass_producer(g, s, EC_OP_Add);
  if (!ec_pass_is_binary(g, sa, EC_OP_Add)) return false;
  /* x + k x^3: the operand that is a Mul by 0.044715 is k x^3, the other x. */
  int kc = -1, cube = -1;
  for (int k = 0; k < 2 && cube < 0; k++) {
    kc = ec_pass_producer(g, in(g, sa, k), EC_OP_Mul);
    cube = times(g, kc, EC_OP_Mul, 0.044715);
    m->x = in(g, sa, 1 - k);
  }
  if (cube < 0) return false;
  int pw = ec_pass_producer(g, cube, EC_OP_Pow), c3 = ec_pass_producer(g, cube, EC_OP_Mul);
  if (pw >= 0 && ec_pass_is_binary(g, pw, EC_OP_Pow) && in(g, pw, 0) == m->x &&
      ec_pass_scalar_near(g, in(g, pw, 1), 3.0, 0) && g->tensors[in(g, pw, 1)].rank <= g->tensors[m->x].rank) {
    add(m, pw);
  } else if (ec_pass_is_binary(g, c3, EC_OP_Mul)) {
    int sq = ec_pass_producer(g, other_input(g, c3, m->x), EC_OP_Mul);
    if (!ec_pass_is_binary(g, sq, EC_OP_Mul) || in(g, sq, 0) != m->x || in(g, sq, 1) != m->x) return false;
    add(m, sq);
    add(m, c3);
  } else {
    return false;
  }
  add(m, kc);
  add(m, sa);
  add(m, inner);
  int a = plus_one(g, ti, m);
  return a >= 0 && tail(g, a, m);
}

ec_status ec_pass_gelu(ec_graph *g, int *count, ec_diag *d) {
  for (int i = 0; i < g->n_nodes; i++) {
    const ec_node *n = &g->nodes[i];
    if (n->dead || (n->op != EC_OP_Erf && n->op != EC_OP_Tanh) || n->inputs[0] < 0) continue;
    gelu_match m;
    memset(&m, 0, sizeof m);
    bool tanh_form = n->op == EC_OP_Tanh;
    if (!(tanh_form ? match_tanh(g, i, &m) : match_erf(g, i, &m))) continue;
    /* Nothing outside the block reads an intermediate; float data keeps its shape. */
    int last = m.nodes[m.n - 1];
    const ec_tensor *x = &g->tensors[m.x], *y = &g->tensors[out(g, last)];
    if (!ec_pass_block_closed(g, m.nodes, m.n) || x->dtype != y->dtype || x->rank != y->rank ||
        memcmp(x->dims, y->dims, sizeof(int64_t) * (size_t)x->rank) != 0 ||
        (x->dtype != ECK_FLOAT && x->dtype != ECK_DOUBLE && x->dtype != ECK_FLOAT16 &&
         x->dtype != ECK_BFLOAT16))
      continue;
    int ins[1] = {m.x};
    ec_status st = ec_pass_name_fused(g, last, m.nodes, m.n, "Gelu");
    if (!st) st = ec_pass_retype(g, last, "Gelu", "com.edgecc", ins, 1);
    if (!st) st = ec_pass_set_attr_string(g, last, "approximate", tanh_form ? "tanh" : "none");
    if (!st) st = ec_infer_node(g, last, d);
    if (st) return st;
    for (int k = 0; k < m.n - 1; k++) g->nodes[m.nodes[k]].dead = true;
    (*count)++;
  }
  return ec_graph_link(g);
}
