/* infer.c — shape and dtype inference over a whole graph, with constant folding: a node whose
 * inputs are all constants is run in-process with its reference kernel (with `--no-pass
 * const-fold`, only where static shapes need the value). Also the evaluator of `edgecc eval`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "elementwise.h"
#include "op.h"

/* Folding makes constants; beyond this size a folded value would bloat the weights file more
 * than it saves at run time. */
#define EC_FOLD_MAX_BYTES ((size_t)64 << 20)

static const char *kernel_error(int rc) {
  switch (rc) {
    case ECK_ERR_INDEX: return "an index is out of range";
    case ECK_ERR_DTYPE: return "the reference kernel does not support this dtype";
    case ECK_ERR_ARG: return "inconsistent arguments";
    case ECK_ERR_UNSUPPORTED: return "this configuration is not supported by the kernel";
    case ECK_ERR_BOUND: return "a data-dependent extent is larger than its bound";
    default: return "the kernel failed";
  }
}

static size_t tensor_bytes(const ec_tensor *t) {
  int64_t n = ec_tensor_numel(t);
  return n < 0 ? 0 : (size_t)n * ec_dtype_size(t->dtype);
}

ec_status ec_eval_node(ec_graph *g, int node, void **values, ec_diag *d) {
  ec_node *n = &g->nodes[node];
  const ec_op_def *op = &ec_ops[n->op];
  if (n->n_subgraphs) return ec_eval_control(g, node, values, d);
  if (!op->ref) return ec_fail_node(d, g, n, "no reference kernel for %s yet", n->op_type);
  eck_tensor in[64], out[64];
  if (n->n_inputs > 64 || n->n_outputs > 64)
    return ec_fail_node(d, g, n, "too many inputs or outputs");
  for (int i = 0; i < n->n_inputs; i++) {
    memset(&in[i], 0, sizeof in[i]);
    if (n->inputs[i] < 0) continue;
    ec_tensor *t = &g->tensors[n->inputs[i]];
    ec_tensor_view(t, &in[i]);
    if (values && values[n->inputs[i]]) in[i].data = values[n->inputs[i]];
    if (!in[i].data && (tensor_bytes(t) == 0 || (op->flags & EC_OPF_SHAPE_ONLY)))
      in[i].data = (void *)""; /* never read */
    if (!in[i].data) return ec_fail_node(d, g, n, "input '%s' has no value", t->name);
  }
  ec_status st = EC_OK;
  void *scratch = NULL;
  for (int i = 0; i < n->n_outputs; i++) memset(&out[i], 0, sizeof out[i]);
  for (int i = 0; i < n->n_outputs; i++) {
    if (n->outputs[i] < 0) continue;
    ec_tensor *t = &g->tensors[n->outputs[i]];
    ec_tensor_view(t, &out[i]);
    out[i].data = ec_alloc(tensor_bytes(t) + 16);
    if (!out[i].data) {
      st = EC_ERR_INTERNAL;
      goto done;
    }
  }
  size_t sbytes = op->scratch ? op->scratch(g, n) : 0;
  if (sbytes) {
    scratch = ec_alloc(sbytes);
    if (!scratch) {
      st = EC_ERR_INTERNAL;
      goto done;
    }
  }
  /* Data-dependent shapes: an element-wise op's outputs take the extents its inputs have now;
   * a kernel finding its own (ec_node.own_extent) writes them. */
  int rc = ECK_OK;
  for (int i = 0; i < n->n_outputs && rc == ECK_OK; i++)
    if (n->outputs[i] >= 0 && g->tensors[n->outputs[i]].dyn && !n->own_extent)
      rc = eck_extent_broadcast(in, n->n_inputs, &out[i]);
  if (rc == ECK_OK) rc = op->ref(n->params, in, n->n_inputs, out, n->n_outputs, scratch);
  if (rc != ECK_OK) {
    st = ec_fail_node(d, g, n, "evaluation failed: %s", kernel_error(rc));
    goto done;
  }
  for (int i = 0; i < n->n_outputs; i++) {
    if (n->outputs[i] < 0) continue;
    ec_tensor *t = &g->tensors[n->outputs[i]];
    /* `edgecc eval` runs the graph once: a run-time extent becomes the tensor's shape, which its
     * readers and the output file then see. */
    if (values && t->dyn) memcpy(t->dims, out[i].dims, sizeof(int64_t) * (size_t)t->rank);
    if (values) {
      free(values[n->outputs[i]]);
      values[n->outputs[i]] = out[i].data;
    } else {
      ec_tensor_set_data(t, out[i].data, tensor_bytes(t), true);
    }
    out[i].data = NULL;
  }
done:
  for (int i = 0; i < n->n_outputs; i++) free(out[i].data);
  free(scratch);
  return st;
}

static bool foldable(const ec_graph *g, const ec_node *n) {
  const ec_op_def *op = &ec_ops[n->op];
  if ((!op->ref && !n->n_subgraphs) || (op->flags & EC_OPF_NOFOLD)) return false;
  size_t bytes = 0;
  for (int i = 0; i < n->n_inputs && !(op->flags & EC_OPF_SHAPE_ONLY); i++) {
    if (n->inputs[i] < 0) continue;
    if (g->tensors[n->inputs[i]].kind != EC_TK_CONSTANT) return false;
  }
  for (int i = 0; i < n->n_outputs; i++)
    if (n->outputs[i] >= 0) bytes += tensor_bytes(&g->tensors[n->outputs[i]]);
  return bytes <= EC_FOLD_MAX_BYTES;
}

/* Ops whose output shape is the numpy broadcast of their inputs' shapes, value by value: the
 * only ones that may read a tensor whose extent is found at run time (ec_tensor.dyn). */
static bool follows_extent(const ec_op_def *op) {
  static const ec_infer_fn fns[] = {ec_infer_identity, ec_infer_unary, ec_infer_classify, ec_infer_clip,
                                    ec_infer_gelu, ec_infer_binary, ec_infer_variadic, ec_infer_where,
                                    ec_infer_cast};
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++)
    if (op->infer == fns[i]) return true;
  return false;
}

/* After n's inference: the run-time dims of its outputs. A node finding its own has set them;
 * an element-wise op reading a data-dependent tensor has them where an input has them (and a
 * fixed extent may only broadcast along them as 1); any other reader is refused. */
static ec_status infer_extents(ec_ctx *cx, ec_node *n) {
  const ec_graph *g = cx->g;
  const ec_tensor *from = NULL;
  for (int i = 0; i < n->n_inputs && !from; i++)
    if (n->inputs[i] >= 0 && g->tensors[n->inputs[i]].dyn) from = &g->tensors[n->inputs[i]];
  if (!from) return EC_OK;
  if (!follows_extent(&ec_ops[n->op]))
    return ec_fail(cx, n, "input '%s' has a data-dependent shape (its extent is found at run "
                   "time), and edgecc runs only element-wise ops on such a tensor", from->name);
  for (int o = 0; o < n->n_outputs; o++) {
    if (n->outputs[o] < 0) continue;
    ec_tensor *y = &cx->g->tensors[n->outputs[o]];
    uint8_t dyn = 0;
    for (int i = 0; i < n->n_inputs; i++) {
      if (n->inputs[i] < 0) continue;
      const ec_tensor *t = &g->tensors[n->inputs[i]];
      for (int k = 0; k < t->rank; k++)
        if ((t->dyn >> k) & 1) dyn |= (uint8_t)(1u << (y->rank - t->rank + k));
    }
    for (int i = 0; i < n->n_inputs; i++) {
      if (n->inputs[i] < 0) continue;
      const ec_tensor *t = &g->tensors[n->inputs[i]];
      for (int k = 0; k < t->rank; k++)
        if (((dyn >> (y->rank - t->rank + k)) & 1) && !((t->dyn >> k) & 1) && t->dims[k] != 1)
          return ec_fail(cx, n, "input '%s' has %lld fixed elements on dimension %d, where '%s' "
                         "has a data-dependent extent", t->name, (long long)t->dims[k],
                         y->rank - t->rank + k, from->name);
    }
    y->dyn = dyn;
  }
  return EC_OK;
}

ec_status ec_infer_node(ec_graph *g, int idx, ec_diag *d) {
  ec_node *n = &g->nodes[idx];
  ec_ctx cx = {g, d, g->opset};
  if (n->op < 0) {
    if (n->domain[0] && strcmp(n->domain, "ai.onnx") != 0)
      return ec_fail(&cx, n, "unknown op '%s' in domain '%s'", n->op_type, n->domain);
    return ec_fail(&cx, n, "unknown op '%s'", n->op_type);
  }
  for (int i = 0; i < n->n_inputs; i++) {
    if (n->inputs[i] < 0) continue;
    ec_tensor *t = &g->tensors[n->inputs[i]];
    if (t->rank < 0) return ec_fail(&cx, n, "input '%s' has no known shape", t->name);
    if (t->dtype == ECK_STRING)
      return ec_fail(&cx, n, "input '%s' is a string tensor, which edgecc does not support",
                     t->name);
  }
  for (int i = 0; i < n->n_attrs; i++) n->attrs[i].used = false;
  n->own_extent = (ec_ops[n->op].flags & EC_OPF_EXTENT) != 0; /* or the op's inference says so */
  ec_status st = ec_ops[n->op].infer(&cx, n);
  if (!st) st = infer_extents(&cx, n);
  if (st) return st;
  for (int i = 0; i < n->n_attrs; i++)
    if (!n->attrs[i].used)
      return ec_fail(&cx, n, "unknown attribute '%s'", n->attrs[i].name);
  for (int i = 0; i < n->n_outputs; i++) {
    if (n->outputs[i] < 0) continue;
    if (g->tensors[n->outputs[i]].rank < 0) {
      ec_fail(&cx, n, "internal error: shape inference left output %d unset", i);
      return EC_ERR_INTERNAL;
    }
  }
  return EC_OK;
}

/* With g->fold_shapes_only, the nodes whose values static shapes need: marks every tensor that
 * is a shape operand of some node (a Reshape's shape, a Slice's starts...) or that such a tensor
 * is computed from, walking backwards through the values nodes read. Shape and Size read only
 * their input's shape, so the walk stops there (the rule `edgecc inspect --shape-inputs` applies
 * to graph inputs, ec_shape_inputs in cli/common.c). Returns NULL on out of memory. */
static bool *shape_values(const ec_graph *g) {
  bool *need = ec_alloc(sizeof(bool) * (size_t)(g->n_tensors + 1));
  if (!need) return NULL;
  for (int i = g->n_nodes - 1; i >= 0; i--) {
    const ec_node *n = &g->nodes[i];
    if (n->dead || n->op < 0) continue;
    bool out_needed = false;
    for (int k = 0; k < n->n_outputs; k++)
      if (n->outputs[k] >= 0 && need[n->outputs[k]]) out_needed = true;
    if (ec_ops[n->op].flags & EC_OPF_SHAPE_ONLY) out_needed = false;
    uint32_t mask = ec_ops[n->op].shape_inputs;
    for (int k = 0; k < n->n_inputs; k++)
      if (n->inputs[k] >= 0 && (out_needed || (k < 32 && (mask >> k) & 1)))
        need[n->inputs[k]] = true;
  }
  return need;
}

/* Whether folding n is wanted: always, unless only shapes are folded; then only Shape and Size
 * and the nodes that compute a value shape inference must know. */
static bool fold_wanted(const ec_node *n, const bool *need) {
  if (!need || (ec_ops[n->op].flags & EC_OPF_SHAPE_ONLY)) return true;
  for (int k = 0; k < n->n_outputs; k++)
    if (n->outputs[k] >= 0 && need[n->outputs[k]]) return true;
  return false;
}

ec_status ec_infer_graph(ec_graph *g, ec_diag *d) {
  bool *need = NULL;
  if (g->fold_shapes_only && !(need = shape_values(g))) return EC_ERR_INTERNAL;
  ec_status st = EC_OK;
  bool spliced = false;
  for (int i = 0; i < g->n_nodes && !st; i++) {
    ec_node *n = &g->nodes[i];
    if (n->dead) continue;
    st = ec_infer_node(g, i, d);
    if (st == EC_ERR_MODEL && n->op == EC_OP_Loop) {
      st = ec_loop_unroll(g, i, &spliced, st);
    } else if (!st && foldable(g, n) && fold_wanted(n, need)) {
      st = ec_eval_node(g, i, NULL, d);
      if (!st) n->dead = true;
    } else if (!st && n->op == EC_OP_If && !g->fold_shapes_only) {
      st = ec_if_fold(g, i, &spliced);
    }
  }
  free(need);
  /* Taken branches and unrolled bodies were appended: order them, then infer and fold them. */
  if (!st && spliced && !(st = ec_graph_compact(g)) && !(st = ec_graph_toposort(g, d)))
    st = ec_infer_graph(g, d);
  return st;
}
