/* passes.c — the pass manager: the table of graph passes in the order they run, `--no-pass`
 * handling, and the helpers the passes share. */
#include "passes.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "op.h"

/* const-fold first: it runs while the model loads (ec_infer_graph folds as it infers shapes), so
 * its row has no function; ec_cli_load reads its bit. dce next, so the later passes see only live consumers (bn-fold needs a Conv's output to have
 * the BatchNormalization as its only consumer); identity before bn-fold, so an Identity between
 * a Conv and its BatchNormalization does not stop the fold. The block fusions (layernorm, gelu) come
 * before pow-square, so that they see the Pow(x, 2) PyTorch writes as well as Mul(x, x). matmul-bias
 * after bn-fold and qdq, which match MatMuls it would turn into Gemms, and after transpose-opt,
 * which turns a batch-of-one Transpose before a Linear layer into a Reshape it looks through;
 * matmul-transpose last, on the MatMuls of two activations that are left, with transpose-opt's
 * Transposes next to them. */
const ec_pass_def ec_passes[] = {
    {"const-fold", NULL,
     "constant folding: evaluate at compile time every node whose inputs are all constants "
     "(runs inside shape inference; when off, only what static shapes need is folded)"},
    {"dce", ec_pass_dce, "dead-code elimination: drop nodes no graph output depends on"},
    {"identity", ec_pass_identity,
     "remove Identity and inference-mode Dropout, wiring consumers to the input"},
    {"bn-fold", ec_pass_bn_fold,
     "fold inference BatchNormalization into the preceding Conv, Gemm or constant-weight MatMul"},
    {"layernorm", ec_pass_layernorm,
     "fold the decomposed LayerNorm (ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div, Mul, Add) "
     "into one LayerNormalization"},
    {"gelu", ec_pass_gelu,
     "fold the GELU PyTorch exports (Erf form, and the tanh form) into one Gelu node (com.edgecc)"},
    {"pow-square", ec_pass_pow_square,
     "Pow(x, 2) becomes Mul(x, x) and Pow(x, 0.5) becomes Sqrt(x), for a constant exponent"},
    {"qdq", ec_pass_qdq,
     "QDQ import: DequantizeLinear -> Conv/MatMul (-> Relu) -> QuantizeLinear becomes one "
     "QLinearConv/QLinearMatMul, so the layer runs on int8 kernels"},
    {"transpose-opt", ec_pass_transpose_opt,
     "transpose optimizer: consecutive Transposes become one (none when they undo each other), a "
     "Transpose moving only dims of extent 1 a Reshape, and a Transpose moves below a scaling by a scalar"},
    {"matmul-bias", ec_pass_matmul_bias,
     "MatMul by a constant matrix, then Add of a constant bias row, becomes one Gemm with that bias "
     "(between Reshapes to rows and back, which move no byte)"},
    {"matmul-transpose", ec_pass_matmul_transpose,
     "a MatMul of two activations absorbs a Transpose feeding it and one reading it alone: one "
     "StridedMatMul (com.edgecc) reading and writing through permutations"},
};
const int ec_n_passes = (int)(sizeof ec_passes / sizeof ec_passes[0]);
_Static_assert(sizeof ec_passes / sizeof ec_passes[0] <= 32, "ec_pass_opts holds 32 bits");

bool ec_pass_fold_all(const ec_pass_opts *o) {
  return ec_pass_enabled(o, ec_pass_find("const-fold"));
}

int ec_pass_find(const char *name) {
  for (int i = 0; i < ec_n_passes; i++)
    if (strcmp(ec_passes[i].name, name) == 0) return i;
  return -1;
}

void ec_pass_names(ec_buf *b) {
  for (int i = 0; i < ec_n_passes; i++) ec_buf_printf(b, "%s%s", i ? ", " : "", ec_passes[i].name);
}

ec_status ec_pass_disable(ec_pass_opts *o, const char *name, ec_diag *d) {
  if (strcmp(name, "all") == 0) {
    o->disabled = ec_n_passes >= 32 ? ~0u : (1u << ec_n_passes) - 1;
    return EC_OK;
  }
  int i = ec_pass_find(name);
  if (i >= 0) {
    o->disabled |= 1u << i;
    return EC_OK;
  }
  ec_buf b = {0};
  ec_pass_names(&b);
  ec_diag_set(d, "", "", "--no-pass %s: unknown pass (known: %s, or all)", name,
              b.data ? b.data : "");
  ec_buf_free(&b);
  return EC_ERR_USAGE;
}

bool ec_pass_enabled(const ec_pass_opts *o, int pass) {
  return !o || !((o->disabled >> pass) & 1u);
}

ec_status ec_run_passes_counted(ec_graph *g, const ec_pass_opts *o, int *counts, ec_diag *d) {
  ec_status st = ec_graph_compact(g);
  for (int i = 0; i < ec_n_passes && !st; i++) {
    int count = 0;
    if (ec_pass_enabled(o, i) && ec_passes[i].run) {
      st = ec_passes[i].run(g, &count, d);
      /* Dead nodes leave; the survivors keep their (topological) order. */
      if (!st) st = ec_graph_compact(g);
    }
    if (counts) counts[i] = count;
  }
  if (st == EC_ERR_INTERNAL && d && !d->msg[0])
    ec_diag_set(d, g->source_path ? g->source_path : "", "", "out of memory in graph passes");
  return st;
}

ec_status ec_run_passes(ec_graph *g, const ec_pass_opts *o, ec_diag *d) {
  return ec_run_passes_counted(g, o, NULL, d);
}

bool ec_pass_is_output(const ec_graph *g, int t) {
  return t >= 0 && g->tensors[t].is_output;
}

int ec_pass_new_const(ec_graph *g, const char *base, const char *suffix, int32_t dtype, int rank,
                      const int64_t *dims, void *data, size_t nbytes) {
  size_t len = strlen(base) + strlen(suffix) + 24;
  char *name = malloc(len);
  if (!name) {
    free(data);
    return -1;
  }
  snprintf(name, len, "%s%s", base, suffix);
  for (int k = 2; ec_graph_find(g, name) >= 0; k++) snprintf(name, len, "%s%s_%d", base, suffix, k);
  int t = ec_graph_tensor(g, name);
  free(name);
  if (t < 0) {
    free(data);
    return -1;
  }
  ec_tensor_make_const(&g->tensors[t], dtype, rank, dims, data, nbytes);
  return t;
}

/* ---- pattern matching ------------------------------------------------------------------------ */

int ec_pass_producer(const ec_graph *g, int t, int op) {
  if (t < 0) return -1;
  int p = g->tensors[t].producer;
  if (p < 0 || g->nodes[p].dead || g->nodes[p].op != op) return -1;
  return p;
}

int ec_pass_sole_reader(const ec_graph *g, int t) {
  if (t < 0 || ec_pass_is_output(g, t)) return -1;
  const ec_tensor *x = &g->tensors[t];
  if (x->n_consumers < 1) return -1;
  for (int k = 1; k < x->n_consumers; k++)
    if (x->consumers[k] != x->consumers[0]) return -1;
  return g->nodes[x->consumers[0]].dead ? -1 : x->consumers[0];
}

bool ec_pass_scalar(const ec_graph *g, int t, double *v) {
  if (t < 0) return false;
  const ec_tensor *c = &g->tensors[t];
  if (c->kind != EC_TK_CONSTANT || !c->data || c->rank < 0 || ec_tensor_numel(c) != 1) return false;
  switch (c->dtype) {
    case ECK_FLOAT: case ECK_DOUBLE: case ECK_FLOAT16: case ECK_BFLOAT16:
    case ECK_INT8: case ECK_INT16: case ECK_INT32: case ECK_INT64:
    case ECK_UINT8: case ECK_UINT16: case ECK_UINT32: case ECK_UINT64: break;
    default: return false;
  }
  *v = eck_load_f64(c->data, c->dtype, 0);
  return true;
}

bool ec_pass_scalar_near(const ec_graph *g, int t, double want, double tol) {
  double v;
  return ec_pass_scalar(g, t, &v) && fabs(v - want) <= tol * fabs(want);
}

bool ec_pass_is_binary(const ec_graph *g, int ni, int op) {
  if (ni < 0) return false;
  const ec_node *n = &g->nodes[ni];
  const eck_binary_params *p = n->params;
  return !n->dead && n->op == op && n->n_inputs == 2 && n->inputs[0] >= 0 && n->inputs[1] >= 0 &&
         p && !p->b_trailing_ones;
}

int ec_pass_binary_with_scalar(const ec_graph *g, const ec_node *n, double want, double tol) {
  const eck_binary_params *p = n->params;
  if (n->dead || n->n_inputs != 2 || !p || p->b_trailing_ones) return -1;
  for (int k = 0; k < 2; k++)
    if (ec_pass_scalar_near(g, n->inputs[k], want, tol) && n->inputs[1 - k] >= 0) {
      /* The scalar must not widen the other operand's rank (a [1, 1, 1] constant would). */
      if (g->tensors[n->inputs[k]].rank > g->tensors[n->inputs[1 - k]].rank) return -1;
      return 1 - k;
    }
  return -1;
}

static bool in_block(const int *nodes, int count, int ni) {
  for (int k = 0; k < count; k++)
    if (nodes[k] == ni) return true;
  return false;
}

bool ec_pass_block_closed(const ec_graph *g, const int *nodes, int count) {
  for (int k = 0; k < count; k++) {
    const ec_node *n = &g->nodes[nodes[k]];
    if (n->dead) return false;
    if (k == count - 1) break;
    for (int o = 0; o < n->n_outputs; o++) {
      int t = n->outputs[o];
      if (t < 0) continue;
      if (ec_pass_is_output(g, t)) return false;
      for (int c = 0; c < g->tensors[t].n_consumers; c++)
        if (!in_block(nodes, count, g->tensors[t].consumers[c])) return false;
    }
  }
  return true;
}

static ec_status retype(ec_graph *g, int ni, const char *op_type, const char *domain, const int *ins,
                        int n_ins, bool keep_attrs) {
  ec_node *n = &g->nodes[ni];
  char *type = ec_strdup(op_type), *dom = ec_strdup(domain);
  int op = ec_op_find(op_type, domain);
  if (!type || !dom || op < 0) {
    free(type), free(dom);
    return EC_ERR_INTERNAL;
  }
  free(n->op_type), free(n->domain);
  n->op_type = type;
  n->domain = dom;
  n->op = op;
  if (!keep_attrs) ec_node_clear_attrs(n);
  return ec_node_set_inputs(g, ni, ins, n_ins);
}

ec_status ec_pass_retype(ec_graph *g, int ni, const char *op_type, const char *domain,
                         const int *ins, int n_ins) {
  return retype(g, ni, op_type, domain, ins, n_ins, false);
}

ec_status ec_pass_retype_keep_attrs(ec_graph *g, int ni, const char *op_type, const char *domain,
                                    const int *ins, int n_ins) {
  return retype(g, ni, op_type, domain, ins, n_ins, true);
}

/* A new attribute slot on node ni, named name; NULL on out of memory. */
static ec_attr *new_attr(ec_graph *g, int ni, const char *name, ec_attr_type type) {
  ec_node *n = &g->nodes[ni];
  ec_attr *a = ec_realloc_array(n->attrs, (size_t)n->n_attrs + 1, sizeof *a);
  if (!a) return NULL;
  n->attrs = a;
  a = &a[n->n_attrs];
  memset(a, 0, sizeof *a);
  a->name = ec_strdup(name);
  if (!a->name) return NULL;
  a->type = type;
  n->n_attrs++;
  return a;
}

ec_status ec_pass_set_attr_float(ec_graph *g, int ni, const char *name, float v) {
  ec_attr *a = new_attr(g, ni, name, EC_ATTR_FLOAT);
  if (!a) return EC_ERR_INTERNAL;
  a->f = v;
  return EC_OK;
}

ec_status ec_pass_set_attr_int(ec_graph *g, int ni, const char *name, int64_t v) {
  ec_attr *a = new_attr(g, ni, name, EC_ATTR_INT);
  if (!a) return EC_ERR_INTERNAL;
  a->i = v;
  return EC_OK;
}

ec_status ec_pass_set_attr_ints(ec_graph *g, int ni, const char *name, const int64_t *v, int count) {
  ec_attr *a = new_attr(g, ni, name, EC_ATTR_INTS);
  if (!a) return EC_ERR_INTERNAL;
  a->ints = malloc(sizeof(int64_t) * (size_t)(count > 0 ? count : 1));
  if (!a->ints) return EC_ERR_INTERNAL;
  if (count > 0) memcpy(a->ints, v, sizeof(int64_t) * (size_t)count);
  a->n = count;
  return EC_OK;
}

ec_status ec_pass_set_attr_string(ec_graph *g, int ni, const char *name, const char *v) {
  ec_attr *a = new_attr(g, ni, name, EC_ATTR_STRING);
  if (!a) return EC_ERR_INTERNAL;
  a->s = ec_strdup(v);
  if (!a->s) return EC_ERR_INTERNAL;
  a->s_len = strlen(v);
  return EC_OK;
}

/* The length of the longest '/'-terminated prefix the names of nodes share (PyTorch's module
 * scope), 0 if none. */
static size_t common_scope(const ec_graph *g, const int *nodes, int count) {
  const char *first = g->nodes[nodes[0]].name;
  size_t scope = 0;
  for (size_t i = 0; first[i]; i++) {
    bool all = true;
    for (int k = 1; k < count && all; k++) all = strncmp(g->nodes[nodes[k]].name, first, i + 1) == 0;
    if (!all) break;
    if (first[i] == '/') scope = i + 1;
  }
  return scope;
}

ec_status ec_pass_record_fused(ec_graph *g, int ni, const int *nodes, int count) {
  size_t scope = common_scope(g, nodes, count);
  const char *first = g->nodes[nodes[0]].name;
  ec_buf b = {0};
  if (scope <= 1) scope = 0; /* "/" alone is no scope: the names stay whole */
  if (scope) ec_buf_printf(&b, "%.*s{", (int)scope, first);
  for (int k = 0; k < count; k++) {
    const ec_node *n = &g->nodes[nodes[k]];
    ec_buf_printf(&b, "%s%s", k ? ", " : "", n->name[0] ? n->name + scope : n->op_type);
  }
  if (scope) ec_buf_printf(&b, "}");
  if (!b.data) return EC_ERR_INTERNAL;
  free(g->nodes[ni].fused_from);
  g->nodes[ni].fused_from = b.data;
  return EC_OK;
}

ec_status ec_pass_name_fused(ec_graph *g, int ni, const int *nodes, int count, const char *op_type) {
  const char *first = g->nodes[nodes[0]].name, *last = g->nodes[nodes[count - 1]].name;
  size_t scope = common_scope(g, nodes, count);
  if (ec_pass_record_fused(g, ni, nodes, count)) return EC_ERR_INTERNAL;
  char *name;
  if (scope > 1) {
    size_t len = scope + strlen(op_type) + 1;
    name = malloc(len);
    if (name) snprintf(name, len, "%.*s%s", (int)scope, first, op_type);
  } else if (first[0] && last[0]) {
    size_t len = strlen(first) + strlen(last) + 3;
    name = malloc(len);
    if (name) snprintf(name, len, "%s..%s", first, last);
  } else {
    return EC_OK;
  }
  if (!name) return EC_ERR_INTERNAL;
  free(g->nodes[ni].name);
  g->nodes[ni].name = name;
  return EC_OK;
}
