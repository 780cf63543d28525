/* control.c — If, Loop and Scan: shape inference through their subgraphs and in-process
 * evaluation (edgecc eval, constant folding), as the ONNX operator docs define them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"

/* ---- shape inference ----------------------------------------------------------------------- */

static void shape_text(char *buf, size_t len, const ec_tensor *t) {
  size_t o = (size_t)snprintf(buf, len, "[");
  for (int k = 0; k < t->rank && o < len; k++)
    o += (size_t)snprintf(buf + o, len - o, "%s%lld", k ? "," : "", (long long)t->dims[k]);
  if (o < len) snprintf(buf + o, len - o, "]");
}

static bool same_shape(const ec_tensor *a, const ec_tensor *b) {
  if (a->rank != b->rank) return false;
  for (int k = 0; k < a->rank; k++)
    if (a->dims[k] != b->dims[k]) return false;
  return true;
}

/* Whether a loop-carried value leaving the body as `out` can enter the next iteration as `in`: the
 * same shape, or a data-dependent one whose bounds hold it (the run checks the extent). */
static bool fits_shape(const ec_tensor *in, const ec_tensor *out) {
  if (in->rank != out->rank) return false;
  for (int k = 0; k < in->rank; k++)
    if (in->dims[k] != out->dims[k] && !(((out->dyn >> k) & 1) && in->dims[k] <= out->dims[k])) return false;
  return true;
}

/* The subgraph named by graph attribute `name` (marked used). */
static ec_status subgraph(ec_ctx *cx, ec_node *n, const char *name, ec_graph **out) {
  ec_attr *a = ec_attr_get(n, name);
  if (!a) return ec_fail(cx, n, "attribute '%s' is required", name);
  if (a->type != EC_ATTR_GRAPH || !a->graph)
    return ec_fail(cx, n, "attribute '%s' must be a graph", name);
  *out = a->graph;
  return EC_OK;
}

/* First implicit input of subgraph `sub` among n's inputs. */
static int capture_base(const ec_node *n, const ec_graph *sub) {
  int base = ec_node_n_explicit_inputs(n);
  for (int k = 0; k < n->n_subgraphs && n->subgraphs[k] != sub; k++) base += n->subgraphs[k]->n_captures;
  return base;
}

/* Gives a formal input of a subgraph its type; a declared dtype must agree. */
static ec_status set_formal(ec_ctx *cx, ec_node *n, ec_graph *sub, int i, int32_t dtype, int rank,
                            const int64_t *dims) {
  ec_tensor *t = &sub->tensors[sub->inputs[i]];
  if (t->dtype && t->rank < 0 && t->dtype != dtype)
    return ec_fail(cx, n, "subgraph '%s': input '%s' is declared %s, but receives %s", sub->name,
                   t->name, ec_dtype_name(t->dtype), ec_dtype_name(dtype));
  t->dtype = dtype;
  t->rank = rank;
  for (int k = 0; k < rank; k++) t->dims[k] = dims[k];
  return EC_OK;
}

/* Types the captures from the enclosing graph (constants stay constants, so folding reaches into
 * the subgraph), then infers and folds the subgraph. */
static ec_status infer_subgraph(ec_ctx *cx, ec_node *n, ec_graph *sub) {
  int base = capture_base(n, sub);
  for (int k = 0; k < sub->n_captures; k++) {
    const ec_tensor *o = &cx->g->tensors[n->inputs[base + k]];
    ec_tensor *t = &sub->tensors[sub->captures[k]];
    t->dtype = o->dtype;
    t->rank = o->rank;
    memcpy(t->dims, o->dims, sizeof t->dims);
    if (o->kind == EC_TK_CONSTANT && o->data && t->kind != EC_TK_CONSTANT) {
      ec_status st = ec_tensor_set_data(t, o->data, o->nbytes, false);
      if (st) return st;
    }
  }
  for (int i = 0; i < sub->n_inputs; i++)
    if (sub->tensors[sub->inputs[i]].rank < 0)
      return ec_fail(cx, n, "subgraph '%s': input '%s' has no type", sub->name,
                     sub->tensors[sub->inputs[i]].name);
  sub->fold_shapes_only = cx->g->fold_shapes_only;
  ec_status st = ec_infer_graph(sub, cx->diag);
  if (!st) st = ec_graph_compact(sub);
  return st;
}

/* A data-dependent extent inside a branch or body (a Slice at the iteration number) may reach
 * only the outputs first .. first+count-1 of sub, those the node can take it through: a Loop's
 * carried values (checked against their static shape per iteration) and scan outputs (whose
 * extent every iteration must repeat). */
static ec_status check_sub_extents(ec_ctx *cx, ec_node *n, const ec_graph *sub, int first, int count) {
  for (int k = 0; k < sub->n_outputs; k++) {
    const ec_tensor *t = &sub->tensors[sub->outputs[k]];
    if (t->dyn && (k < first || k >= first + count))
      return ec_fail(cx, n, "subgraph '%s': output '%s' has a data-dependent shape, which edgecc "
                     "supports inside a subgraph only for a Loop's carried values and scan outputs", sub->name, t->name);
  }
  return EC_OK;
}

/* A scalar-like (one element) input of the given dtype. */
static ec_status check_scalar(ec_ctx *cx, ec_node *n, int i, int32_t dtype, const char *what) {
  const ec_tensor *t = ec_in(cx, n, i);
  if (!t) return EC_OK;
  if (t->dtype != dtype || ec_tensor_numel(t) != 1)
    return ec_fail(cx, n, "%s '%s' must be one %s element (it is %s of %lld elements)", what,
                   t->name, ec_dtype_name(dtype), ec_dtype_name(t->dtype),
                   (long long)ec_tensor_numel(t));
  return EC_OK;
}

static bool const_bool(const ec_tensor *t, bool *v) {
  if (!t || t->kind != EC_TK_CONSTANT || !t->data) return false;
  *v = *(const uint8_t *)t->data != 0;
  return true;
}

ec_status ec_infer_if(ec_ctx *cx, ec_node *n) {
  ec_graph *br[2];
  ec_status st = subgraph(cx, n, "then_branch", &br[0]);
  if (!st) st = subgraph(cx, n, "else_branch", &br[1]);
  if (!st && ec_node_n_explicit_inputs(n) != 1) st = ec_fail(cx, n, "If takes one input, the condition");
  if (!st) st = check_scalar(cx, n, 0, ECK_BOOL, "condition");
  for (int b = 0; b < 2 && !st; b++) {
    if (br[b]->n_inputs)
      return ec_fail(cx, n, "branch '%s' takes %d inputs; If's branches take none", br[b]->name,
                     br[b]->n_inputs);
    st = infer_subgraph(cx, n, br[b]);
    if (!st) st = check_sub_extents(cx, n, br[b], 0, 0);
    if (!st && br[b]->n_outputs != n->n_outputs)
      st = ec_fail(cx, n, "branch '%s' has %d outputs, the node %d", br[b]->name, br[b]->n_outputs,
                   n->n_outputs);
  }
  if (st) return st;
  bool cond, known = const_bool(ec_in(cx, n, 0), &cond);
  for (int k = 0; k < n->n_outputs; k++) {
    const ec_tensor *a = &br[0]->tensors[br[0]->outputs[k]], *b = &br[1]->tensors[br[1]->outputs[k]];
    if (a->dtype != b->dtype)
      return ec_fail(cx, n, "output %d is %s in branch '%s' but %s in branch '%s'", k,
                     ec_dtype_name(a->dtype), br[0]->name, ec_dtype_name(b->dtype), br[1]->name);
    /* A static-shape compiler sizes one buffer per output: the branches must agree, unless the
     * condition is a constant and only one branch can run. A bound for differing shapes (the
     * larger one, with the actual shape returned at run time) comes with codegen. */
    if (!known && !same_shape(a, b)) {
      char sa[160], sb[160];
      shape_text(sa, sizeof sa, a);
      shape_text(sb, sizeof sb, b);
      return ec_fail(cx, n, "output %d has shape %s in branch '%s' but %s in branch '%s'; edgecc "
                     "needs one static shape per output", k, sa, br[0]->name, sb, br[1]->name);
    }
    st = ec_set_output_like(cx, n, k, known && !cond ? b : a);
    if (st) return st;
  }
  return ec_params(cx, n, sizeof(ec_control_params)) ? EC_OK : EC_ERR_INTERNAL;
}

/* Whether the body's condition output is its condition input (through Identity nodes) or a
 * constant true: then the loop runs until the trip count. */
static bool cond_invariant(const ec_graph *body) {
  int t = body->outputs[0];
  for (int guard = 0; guard <= body->n_nodes; guard++) {
    const ec_tensor *tt = &body->tensors[t];
    bool v;
    if (t == body->inputs[1]) return true;
    if (const_bool(tt, &v)) return v;
    if (tt->producer < 0 || body->nodes[tt->producer].op != EC_OP_Identity) return false;
    t = body->nodes[tt->producer].inputs[0];
  }
  return false;
}

const char *ec_loop_bound_name(const ec_graph *g, const ec_node *n) {
  const ec_control_params *p = n->params;
  const ec_graph *root = g;
  while (root->parent) root = root->parent;
  if (p && p->bound_opt >= 0 && p->bound_opt < root->n_trip_bounds) return root->trip_bounds[p->bound_opt].node;
  if (n->name && n->name[0]) return n->name;
  return n->n_outputs && n->outputs[0] >= 0 ? g->tensors[n->outputs[0]].name : "";
}

/* The --max-trip-count naming Loop n (by its node name or one of its outputs): its index in the
 * model graph's trip_bounds, or -1. */
static int find_trip_bound(const ec_graph *g, const ec_node *n) {
  const ec_graph *root = g;
  while (root->parent) root = root->parent;
  for (int i = 0; i < root->n_trip_bounds; i++) {
    const char *want = root->trip_bounds[i].node;
    if (n->name && n->name[0] && strcmp(n->name, want) == 0) return i;
    for (int k = 0; k < n->n_outputs; k++)
      if (n->outputs[k] >= 0 && strcmp(g->tensors[n->outputs[k]].name, want) == 0) return i;
  }
  return -1;
}

ec_status ec_infer_loop(ec_ctx *cx, ec_node *n) {
  ec_graph *body;
  ec_status st = subgraph(cx, n, "body", &body);
  if (st) return st;
  int n_in = ec_node_n_explicit_inputs(n);
  if (n_in < 2) return ec_fail(cx, n, "Loop takes at least 2 inputs (trip count, condition)");
  int N = n_in - 2;
  if (body->n_inputs != N + 2)
    return ec_fail(cx, n, "body '%s' takes %d inputs, the node passes %d loop-carried values (it "
                   "needs %d)", body->name, body->n_inputs, N, N + 2);
  int K = body->n_outputs - 1 - N;
  if (K < 0 || n->n_outputs != N + K)
    return ec_fail(cx, n, "body '%s' has %d outputs, the node %d (condition, %d carried, scan "
                   "outputs)", body->name, body->n_outputs, n->n_outputs, N);
  if (K > EC_CONTROL_MAX_SCAN) return ec_fail(cx, n, "more than %d scan outputs", EC_CONTROL_MAX_SCAN);
  if ((st = check_scalar(cx, n, 0, ECK_INT64, "trip count")) ||
      (st = check_scalar(cx, n, 1, ECK_BOOL, "condition")))
    return st;
  if (!ec_in(cx, n, 0) && !ec_in(cx, n, 1))
    return ec_fail(cx, n, "a Loop with neither trip count nor condition never ends");
  int64_t scalar[1] = {0};
  if ((st = set_formal(cx, n, body, 0, ECK_INT64, 0, scalar)) ||
      (st = set_formal(cx, n, body, 1, ECK_BOOL, 0, scalar)))
    return st;
  for (int j = 0; j < N; j++) {
    const ec_tensor *v = ec_in(cx, n, 2 + j);
    if (!v) return ec_fail(cx, n, "loop-carried value %d is omitted", j);
    if ((st = set_formal(cx, n, body, 2 + j, v->dtype, v->rank, v->dims))) return st;
  }
  if ((st = infer_subgraph(cx, n, body)) || (st = check_sub_extents(cx, n, body, 1, N + K)))
    return st;
  const ec_tensor *co = &body->tensors[body->outputs[0]];
  if (co->dtype != ECK_BOOL || ec_tensor_numel(co) != 1)
    return ec_fail(cx, n, "body '%s': the condition output '%s' must be one bool", body->name, co->name);
  for (int j = 0; j < N; j++) {
    const ec_tensor *in = &body->tensors[body->inputs[2 + j]], *out = &body->tensors[body->outputs[1 + j]];
    if (in->dtype != out->dtype || !fits_shape(in, out)) {
      char si[160], so[160];
      shape_text(si, sizeof si, in);
      shape_text(so, sizeof so, out);
      return ec_fail(cx, n, "loop-carried value '%s' enters the body as %s %s and leaves as %s %s; "
                     "edgecc needs static shapes", in->name, ec_dtype_name(in->dtype), si,
                     ec_dtype_name(out->dtype), so);
    }
    if ((st = ec_set_output_like(cx, n, j, in))) return st;
  }
  /* The trip count, when static shapes can know it. */
  int64_t trips = -1;
  const ec_tensor *m = ec_in(cx, n, 0);
  bool c0 = true, have_cond = ec_in(cx, n, 1) != NULL;
  bool c0_known = !have_cond || const_bool(ec_in(cx, n, 1), &c0);
  bool m_known = m && m->kind == EC_TK_CONSTANT && m->data;
  if (c0_known && !c0)
    trips = 0;
  else if (c0_known && m_known && (!have_cond || cond_invariant(body)))
    trips = *(const int64_t *)m->data < 0 ? 0 : *(const int64_t *)m->data;
  bool all_const = true;
  for (int i = 0; i < n->n_inputs; i++)
    if (n->inputs[i] >= 0 && cx->g->tensors[n->inputs[i]].kind != EC_TK_CONSTANT) all_const = false;
  const ec_graph *root = cx->g;
  while (root->parent) root = root->parent;
  int opt = find_trip_bound(cx->g, n);
  int64_t bound = opt >= 0 ? root->trip_bounds[opt].max : -1;
  /* A run-time trip count: the scan outputs are sized by the bound, their length found by
   * running (all inputs constant: folding finds it now). */
  bool sized_by_bound = K && trips < 0 && !all_const;
  if (sized_by_bound && bound < 0)
    return ec_fail(cx, n, "the trip count is only known at run time, and it sizes the scan outputs: "
                   "give its bound with --max-trip-count %s=N", ec_loop_bound_name(cx->g, n));
  ec_control_params *p = ec_params(cx, n, sizeof *p);
  if (!p) return EC_ERR_INTERNAL;
  p->first_state = 2;
  p->n_state = N;
  p->n_scan_out = K;
  p->trips = trips;
  p->bound = trips < 0 ? bound : -1;
  p->bound_opt = trips < 0 ? opt : -1;
  for (int k = 0; k < K; k++) {
    const ec_tensor *s = &body->tensors[body->outputs[1 + N + k]];
    if (s->rank + 1 > EC_MAX_RANK) return ec_fail(cx, n, "scan output %d would have rank %d", k, s->rank + 1);
    int64_t dims[EC_MAX_RANK];
    dims[0] = sized_by_bound ? bound : trips < 0 ? 0 : trips; /* 0: folding sets the real extent */
    memcpy(dims + 1, s->dims, sizeof(int64_t) * (size_t)s->rank);
    /* A data-dependent extent in the body's value: the same in every iteration (checked as it
     * runs), the outputs' dims after the first. */
    uint8_t dyn = (uint8_t)((s->dyn << 1) | (sized_by_bound ? 1 : 0));
    if ((st = ec_set_output_bound(cx, n, N + k, s->dtype, s->rank + 1, dims, dyn)))
      return st;
  }
  return EC_OK;
}

/* Reads an optional ints attribute of `count` entries into out (default dflt). */
static ec_status scan_ints(ec_ctx *cx, ec_node *n, const char *name, int count, int dflt, int *out) {
  const int64_t *v;
  int c;
  ec_status st = ec_attr_ints(cx, n, name, &v, &c);
  if (st) return st;
  if (c >= 0 && c != count)
    return ec_fail(cx, n, "attribute '%s' has %d entries, expected %d", name, c, count);
  for (int i = 0; i < count; i++) out[i] = c < 0 ? dflt : (int)v[i];
  return EC_OK;
}

ec_status ec_infer_scan(ec_ctx *cx, ec_node *n) {
  ec_graph *body;
  int64_t M;
  ec_status st = subgraph(cx, n, "body", &body);
  if (!st) st = ec_attr_int(cx, n, "num_scan_inputs", -1, &M);
  if (st) return st;
  bool batched = cx->opset < 9;
  int n_in = ec_node_n_explicit_inputs(n), first = batched ? 1 : 0;
  int N = n_in - first - (int)M;
  if (M < 1 || N < 0) return ec_fail(cx, n, "num_scan_inputs must be between 1 and the input count");
  int K = body->n_outputs - N;
  if (M > EC_CONTROL_MAX_SCAN || K > EC_CONTROL_MAX_SCAN)
    return ec_fail(cx, n, "more than %d scan inputs or outputs", EC_CONTROL_MAX_SCAN);
  if (body->n_inputs != N + M || K < 0 || n->n_outputs != N + K)
    return ec_fail(cx, n, "body '%s' takes %d inputs and has %d outputs; the node has %d states, "
                   "%lld scan inputs and %d outputs", body->name, body->n_inputs, body->n_outputs,
                   N, (long long)M, n->n_outputs);
  if (batched && ec_in(cx, n, 0))
    return ec_fail(cx, n, "sequence_lens is not supported (every sequence runs its full length)");
  ec_control_params *p = ec_params(cx, n, sizeof *p);
  if (!p) return EC_ERR_INTERNAL;
  p->first_state = first;
  p->n_state = N;
  p->n_scan_in = (int)M;
  p->n_scan_out = K;
  p->batched = batched;
  int dirs[EC_CONTROL_MAX_SCAN], odirs[EC_CONTROL_MAX_SCAN];
  if ((st = scan_ints(cx, n, batched ? "directions" : "scan_input_directions", (int)M, 0, dirs)))
    return st;
  for (int j = 0; j < M; j++) p->in_rev[j] = dirs[j] != 0;
  if (!batched) {
    if ((st = scan_ints(cx, n, "scan_output_directions", K, 0, odirs)) ||
        (st = scan_ints(cx, n, "scan_input_axes", (int)M, 0, p->in_axis)) ||
        (st = scan_ints(cx, n, "scan_output_axes", K, 0, p->out_axis)))
      return st;
    for (int k = 0; k < K; k++) p->out_rev[k] = odirs[k] != 0;
  }
  int skip = batched ? 1 : 0; /* the batch dim the body does not see */
  int64_t B = -1, L = -1;
  for (int j = 0; j < N; j++) {
    const ec_tensor *s = ec_in(cx, n, first + j);
    if (!s || s->rank < skip) return ec_fail(cx, n, "state %d is omitted or has no batch dim", j);
    if (batched && B >= 0 && s->dims[0] != B) return ec_fail(cx, n, "states disagree on the batch size");
    if (batched) B = s->dims[0];
    if ((st = set_formal(cx, n, body, j, s->dtype, s->rank - skip, s->dims + skip))) return st;
  }
  for (int j = 0; j < M; j++) {
    const ec_tensor *x = ec_in(cx, n, first + N + j);
    if (!x) return ec_fail(cx, n, "scan input %d is omitted", j);
    int r = x->rank - skip, axis;
    if ((st = ec_norm_axis(cx, n, p->in_axis[j], r, &axis))) return st;
    p->in_axis[j] = axis;
    if (batched && B >= 0 && x->dims[0] != B) return ec_fail(cx, n, "inputs disagree on the batch size");
    if (batched) B = x->dims[0];
    const int64_t *d = x->dims + skip;
    if (L >= 0 && d[axis] != L)
      return ec_fail(cx, n, "scan inputs have different lengths (%lld and %lld)", (long long)L,
                     (long long)d[axis]);
    L = d[axis];
    int64_t slice[EC_MAX_RANK];
    for (int k = 0, o = 0; k < r; k++)
      if (k != axis) slice[o++] = d[k];
    if ((st = set_formal(cx, n, body, N + j, x->dtype, r - 1, slice))) return st;
  }
  if ((st = infer_subgraph(cx, n, body)) || (st = check_sub_extents(cx, n, body, 0, 0))) return st;
  for (int j = 0; j < N; j++) {
    const ec_tensor *in = &body->tensors[body->inputs[j]], *out = &body->tensors[body->outputs[j]];
    if (in->dtype != out->dtype || !same_shape(in, out))
      return ec_fail(cx, n, "state '%s' changes dtype or shape in the body; edgecc needs static "
                     "shapes", in->name);
    int64_t dims[EC_MAX_RANK];
    dims[0] = B;
    memcpy(dims + skip, in->dims, sizeof(int64_t) * (size_t)in->rank);
    if ((st = ec_set_output(cx, n, j, in->dtype, in->rank + skip, dims))) return st;
  }
  for (int k = 0; k < K; k++) {
    const ec_tensor *s = &body->tensors[body->outputs[N + k]];
    int r = s->rank + 1, axis;
    if (r + skip > EC_MAX_RANK) return ec_fail(cx, n, "scan output %d would have rank %d", k, r + skip);
    if ((st = ec_norm_axis(cx, n, p->out_axis[k], r, &axis))) return st;
    p->out_axis[k] = axis;
    int64_t dims[EC_MAX_RANK];
    dims[0] = B;
    for (int a = 0, o = 0; a < r; a++) dims[skip + a] = a == axis ? L : s->dims[o++];
    if ((st = ec_set_output(cx, n, N + k, s->dtype, r + skip, dims))) return st;
  }
  return EC_OK;
}

/* ---- evaluation ---------------------------------------------------------------------------- */

static size_t nbytes_of(const ec_tensor *t) {
  int64_t n = ec_tensor_numel(t);
  return n < 0 ? 0 : (size_t)n * ec_dtype_size(t->dtype);
}

/* The value of tensor t of g: run-time value, else constant data ("" for an empty tensor). */
static const void *value_of(const ec_graph *g, int t, void **values) {
  if (values && values[t]) return values[t];
  if (g->tensors[t].data) return g->tensors[t].data;
  return nbytes_of(&g->tensors[t]) == 0 ? "" : NULL;
}

/* One run of a subgraph: `vals` holds borrowed pointers for its formal inputs and captures;
 * everything its nodes compute is malloc'd into vals and freed by run_free. */
typedef struct run {
  ec_graph *sub;
  void **vals;
  bool *borrowed;
  int64_t (*bounds)[EC_MAX_RANK]; /* per tensor: its dims as inferred (ec_eval_node writes a
                                     data-dependent extent into the dims; run_free puts the
                                     bounds back for the next run) */
} run;

static ec_status run_init(run *r, ec_graph *g, const ec_node *n, ec_graph *sub, void **values) {
  r->sub = sub;
  r->vals = ec_alloc(sizeof(void *) * (size_t)(sub->n_tensors + 1));
  r->borrowed = ec_alloc(sizeof(bool) * (size_t)(sub->n_tensors + 1));
  r->bounds = ec_alloc(sizeof *r->bounds * (size_t)(sub->n_tensors + 1));
  if (!r->vals || !r->borrowed || !r->bounds) return EC_ERR_INTERNAL;
  for (int t = 0; t < sub->n_tensors; t++) memcpy(r->bounds[t], sub->tensors[t].dims, sizeof r->bounds[t]);
  int base = capture_base(n, sub);
  for (int k = 0; k < sub->n_captures; k++) {
    r->vals[sub->captures[k]] = (void *)value_of(g, n->inputs[base + k], values);
    r->borrowed[sub->captures[k]] = true;
  }
  for (int i = 0; i < sub->n_inputs; i++) r->borrowed[sub->inputs[i]] = true;
  return EC_OK;
}

static void run_free(run *r) {
  for (int t = 0; r->bounds && t < r->sub->n_tensors; t++)
    memcpy(r->sub->tensors[t].dims, r->bounds[t], sizeof r->bounds[t]);
  free(r->bounds);
  for (int t = 0; r->vals && t < r->sub->n_tensors; t++)
    if (!r->borrowed[t]) free(r->vals[t]);
  free(r->vals);
  free(r->borrowed);
}

/* Runs the subgraph's nodes; then output i's bytes are at run_out(r, i). */
static ec_status run_exec(run *r, ec_diag *d) {
  for (int i = 0; i < r->sub->n_nodes; i++) {
    ec_status st = ec_eval_node(r->sub, i, r->vals, d);
    if (st) return st;
  }
  return EC_OK;
}

static const void *run_out(run *r, int i) { return value_of(r->sub, r->sub->outputs[i], r->vals); }

/* Hands output k's bytes (malloc'd, `bytes` long) to the caller: a run-time value, or a folded
 * constant whose first dim becomes `dim0` when dim0 >= 0 (a Loop's scan output), and its other
 * dims `inner` where given (the extent its iterations found). */
static ec_status deliver(ec_graph *g, const ec_node *n, int k, void *data, size_t bytes, int64_t dim0,
                         const int64_t *inner, void **values, ec_diag *d) {
  int t = n->outputs[k];
  if (t < 0) {
    free(data);
    return EC_OK;
  }
  ec_tensor *tt = &g->tensors[t];
  if (dim0 >= 0 && dim0 != tt->dims[0]) {
    /* `edgecc eval` runs the graph once: a length within the bound becomes the tensor's shape. */
    if (values && (tt->dyn & 1) && dim0 <= tt->dims[0]) {
      tt->dims[0] = dim0;
    } else if (values) {
      free(data);
      return ec_fail_node(d, g, n, "the loop ran %lld times, but its scan outputs were sized for "
                          "%lld before running (a data-dependent trip count)", (long long)dim0,
                          (long long)tt->dims[0]);
    }
    tt->dims[0] = dim0;
  }
  for (int q = 1; inner && q < tt->rank; q++)
    if ((tt->dyn >> q) & 1) tt->dims[q] = inner[q - 1];
  if (values) {
    free(values[t]);
    values[t] = data;
    return EC_OK;
  }
  tt->dyn = 0; /* folded: a constant of the shape found */
  return ec_tensor_set_data(tt, data, bytes, true);
}

static void *dup_bytes(const void *p, size_t n) {
  void *q = malloc(n ? n : 1);
  if (q && n) memcpy(q, p, n);
  return q;
}

static ec_status eval_if(ec_graph *g, const ec_node *n, void **values, ec_diag *d) {
  const uint8_t *c = value_of(g, n->inputs[0], values);
  if (!c) return ec_fail_node(d, g, n, "the condition has no value");
  ec_graph *br = NULL;
  for (int k = 0; k < n->n_attrs; k++)
    if (n->attrs[k].type == EC_ATTR_GRAPH && strcmp(n->attrs[k].name, *c ? "then_branch" : "else_branch") == 0)
      br = n->attrs[k].graph;
  if (!br) return ec_fail_node(d, g, n, "a branch is missing");
  run r = {0};
  ec_status st = run_init(&r, g, n, br, values);
  if (!st) st = run_exec(&r, d);
  for (int k = 0; k < n->n_outputs && !st; k++) {
    if (n->outputs[k] < 0) continue;
    size_t bytes = nbytes_of(&g->tensors[n->outputs[k]]);
    const void *src = run_out(&r, k);
    void *dst = src ? dup_bytes(src, bytes) : NULL;
    st = dst ? deliver(g, n, k, dst, bytes, -1, NULL, values, d) : EC_ERR_INTERNAL;
  }
  run_free(&r);
  return st;
}

/* A body value with a data-dependent extent (tensor t of body) as it leaves an iteration must
 * have the shape `want`: a loop-carried value its static shape, a scan output the shape it had in
 * iteration 0. */
static ec_status check_extent(ec_graph *g, const ec_node *n, const ec_graph *body, int t, const int64_t *want,
                              int64_t iter, const char *what, const char *how, ec_diag *d) {
  const ec_tensor *tt = &body->tensors[t];
  if (!tt->dyn) return EC_OK;
  for (int q = 0; q < tt->rank; q++)
    if (tt->dims[q] != want[q]) {
      ec_tensor w = *tt;
      memcpy(w.dims, want, sizeof w.dims);
      char got[160], exp[160];
      shape_text(got, sizeof got, tt);
      shape_text(exp, sizeof exp, &w);
      return ec_fail_node(d, g, n, "%s '%s' has shape %s in iteration %lld, but %s %s", what, tt->name, got,
                          (long long)iter, how, exp);
    }
  return EC_OK;
}

/* A growable byte buffer for scan outputs whose length is found by running. */
static bool grow_append(ec_buf *b, const void *p, size_t n) {
  ec_buf_append(b, p, n);
  return !b->oom;
}

static ec_status eval_loop(ec_graph *g, const ec_node *n, void **values, ec_diag *d) {
  const ec_control_params *p = n->params;
  ec_graph *body = n->subgraphs[0];
  int N = p->n_state, K = p->n_scan_out;
  const int64_t *m = n->inputs[0] >= 0 ? value_of(g, n->inputs[0], values) : NULL;
  const uint8_t *c0 = n->inputs[1] >= 0 ? value_of(g, n->inputs[1], values) : NULL;
  int64_t limit = m ? *m : INT64_MAX;
  bool have_cond = n->inputs[1] >= 0;
  uint8_t cond = c0 ? *c0 : 1;
  void *cur[EC_CONTROL_MAX_SCAN * 8] = {0};
  size_t cur_bytes[EC_CONTROL_MAX_SCAN * 8];
  /* Each scan output's shape in iteration 0; none ran: 0 where an extent is data-dependent. */
  int64_t extent[EC_CONTROL_MAX_SCAN][EC_MAX_RANK];
  ec_buf scan[EC_CONTROL_MAX_SCAN];
  memset(scan, 0, sizeof scan);
  if (N > (int)(sizeof cur / sizeof cur[0])) return ec_fail_node(d, g, n, "too many loop-carried values");
  ec_status st = EC_OK;
  memset(extent, 0, sizeof extent);
  for (int j = 0; j < N && !st; j++) {
    cur_bytes[j] = nbytes_of(&body->tensors[body->inputs[2 + j]]);
    const void *v = value_of(g, n->inputs[2 + j], values);
    if (!v || !(cur[j] = dup_bytes(v, cur_bytes[j]))) st = v ? EC_ERR_INTERNAL : ec_fail_node(d, g, n, "a loop-carried value has no value");
  }
  int64_t i = 0;
  for (; !st && i < limit && (cond || !have_cond); i++) {
    if (p->trips >= 0 && values && i >= p->trips && K) {
      st = ec_fail_node(d, g, n, "the loop runs past the %lld iterations its scan outputs were sized "
                        "for (a data-dependent trip count)", (long long)p->trips);
      break;
    }
    if (p->bound >= 0 && values && i >= p->bound) {
      st = ec_fail_node(d, g, n, "the trip count exceeds its bound, --max-trip-count %s=%lld",
                        ec_loop_bound_name(g, n), (long long)p->bound);
      break;
    }
    run r = {0};
    st = run_init(&r, g, n, body, values);
    if (!st) {
      r.vals[body->inputs[0]] = &i;
      r.vals[body->inputs[1]] = &cond;
      for (int j = 0; j < N; j++) r.vals[body->inputs[2 + j]] = cur[j];
      st = run_exec(&r, d);
    }
    /* New carried values are copied out before the old ones go: an output may be an input. */
    void *next[EC_CONTROL_MAX_SCAN * 8] = {0};
    for (int j = 0; j < N && !st; j++) {
      const void *v = run_out(&r, 1 + j);
      if (!(st = check_extent(g, n, body, body->outputs[1 + j], body->tensors[body->inputs[2 + j]].dims, i,
                              "loop-carried value", "enters the body", d)) &&
          (!v || !(next[j] = dup_bytes(v, cur_bytes[j]))))
        st = EC_ERR_INTERNAL;
    }
    for (int k = 0; k < K && !st; k++) {
      const ec_tensor *so = &body->tensors[body->outputs[1 + N + k]];
      const void *v = run_out(&r, 1 + N + k);
      if (i == 0) memcpy(extent[k], so->dims, sizeof extent[k]);
      else st = check_extent(g, n, body, body->outputs[1 + N + k], extent[k], i, "scan output",
                             "has in iteration 0", d);
      if (!st && (!v || !grow_append(&scan[k], v, nbytes_of(so)))) st = EC_ERR_INTERNAL;
    }
    const uint8_t *co = st ? NULL : run_out(&r, 0);
    if (co) cond = *co;
    else if (!st) st = EC_ERR_INTERNAL;
    for (int j = 0; j < N; j++) {
      if (st) {
        free(next[j]);
        continue;
      }
      free(cur[j]);
      cur[j] = next[j];
    }
    run_free(&r);
  }
  for (int j = 0; j < N; j++) {
    if (!st) st = deliver(g, n, j, cur[j], cur_bytes[j], -1, NULL, values, d);
    else free(cur[j]);
  }
  for (int k = 0; k < K; k++) {
    if (!st) {
      void *data = scan[k].data ? scan[k].data : malloc(1);
      size_t len = scan[k].len;
      scan[k].data = NULL;
      st = data ? deliver(g, n, N + k, data, len, i, extent[k], values, d) : EC_ERR_INTERNAL;
    }
    ec_buf_free(&scan[k]);
  }
  return st;
}

/* Copies slice `idx` along `axis` of a tensor of shape dims (rank r) into or out of a packed
 * slice buffer. */
static void slice_copy(uint8_t *full, uint8_t *slice, const int64_t *dims, int r, int axis,
                       int64_t idx, size_t elem, bool to_full) {
  size_t outer = 1, inner = elem;
  for (int k = 0; k < axis; k++) outer *= (size_t)dims[k];
  for (int k = axis + 1; k < r; k++) inner *= (size_t)dims[k];
  size_t len = (size_t)dims[axis];
  for (size_t o = 0; o < outer; o++) {
    uint8_t *f = full + (o * len + (size_t)idx) * inner, *s = slice + o * inner;
    if (to_full)
      memcpy(f, s, inner);
    else
      memcpy(s, f, inner);
  }
}

static ec_status eval_scan(ec_graph *g, const ec_node *n, void **values, ec_diag *d) {
  const ec_control_params *p = n->params;
  ec_graph *body = n->subgraphs[0];
  int N = p->n_state, M = p->n_scan_in, K = p->n_scan_out, skip = p->batched ? 1 : 0;
  int64_t B = 1, L = 0;
  const ec_tensor *x0 = &g->tensors[n->inputs[p->first_state + N]];
  if (p->batched) B = x0->dims[0];
  L = x0->dims[skip + p->in_axis[0]];
  void *outs[2 * EC_CONTROL_MAX_SCAN] = {0}, *state[EC_CONTROL_MAX_SCAN] = {0};
  void *slices[EC_CONTROL_MAX_SCAN] = {0};
  if (N > EC_CONTROL_MAX_SCAN) return ec_fail_node(d, g, n, "too many states");
  ec_status st = EC_OK;
  for (int k = 0; k < N + K && !st; k++)
    if (!(outs[k] = ec_alloc(nbytes_of(&g->tensors[n->outputs[k] >= 0 ? n->outputs[k] : 0]) + 1)))
      st = EC_ERR_INTERNAL;
  for (int j = 0; j < N && !st; j++)
    if (!(state[j] = ec_alloc(nbytes_of(&body->tensors[body->inputs[j]]) + 1))) st = EC_ERR_INTERNAL;
  for (int j = 0; j < M && !st; j++)
    if (!(slices[j] = ec_alloc(nbytes_of(&body->tensors[body->inputs[N + j]]) + 1))) st = EC_ERR_INTERNAL;
  for (int64_t b = 0; b < B && !st; b++) {
    for (int j = 0; j < N && !st; j++) {
      size_t sb = nbytes_of(&body->tensors[body->inputs[j]]);
      const uint8_t *v = value_of(g, n->inputs[p->first_state + j], values);
      if (!v) st = ec_fail_node(d, g, n, "a state has no value");
      else memcpy(state[j], v + (size_t)b * sb, sb);
    }
    for (int64_t t = 0; t < L && !st; t++) {
      for (int j = 0; j < M && !st; j++) {
        const ec_tensor *x = &g->tensors[n->inputs[p->first_state + N + j]];
        const uint8_t *v = value_of(g, n->inputs[p->first_state + N + j], values);
        size_t per_batch = nbytes_of(x) / (size_t)B;
        if (!v) st = ec_fail_node(d, g, n, "a scan input has no value");
        else slice_copy((uint8_t *)v + (size_t)b * per_batch, slices[j], x->dims + skip, x->rank - skip,
                        p->in_axis[j], p->in_rev[j] ? L - 1 - t : t, ec_dtype_size(x->dtype), false);
      }
      run r = {0};
      if (!st) st = run_init(&r, g, n, body, values);
      if (!st) {
        for (int j = 0; j < N; j++) r.vals[body->inputs[j]] = state[j];
        for (int j = 0; j < M; j++) r.vals[body->inputs[N + j]] = slices[j];
        st = run_exec(&r, d);
      }
      for (int k = 0; k < K && !st; k++) {
        const ec_tensor *o = &g->tensors[n->outputs[N + k]];
        const void *v = run_out(&r, N + k);
        size_t per_batch = nbytes_of(o) / (size_t)B;
        if (!v) st = EC_ERR_INTERNAL;
        else slice_copy((uint8_t *)outs[N + k] + (size_t)b * per_batch, (uint8_t *)v, o->dims + skip,
                        o->rank - skip, p->out_axis[k], p->out_rev[k] ? L - 1 - t : t,
                        ec_dtype_size(o->dtype), true);
      }
      /* States are copied only after the scan outputs: an output may alias a state input. */
      void *next[EC_CONTROL_MAX_SCAN] = {0};
      for (int j = 0; j < N && !st; j++) {
        const void *v = run_out(&r, j);
        if (!v || !(next[j] = dup_bytes(v, nbytes_of(&body->tensors[body->inputs[j]])))) st = EC_ERR_INTERNAL;
      }
      for (int j = 0; j < N; j++) {
        if (st) {
          free(next[j]);
          continue;
        }
        free(state[j]);
        state[j] = next[j];
      }
      run_free(&r);
    }
    for (int j = 0; j < N && !st; j++) {
      size_t sb = nbytes_of(&body->tensors[body->inputs[j]]);
      memcpy((uint8_t *)outs[j] + (size_t)b * sb, state[j], sb);
    }
  }
  for (int k = 0; k < N + K; k++) {
    if (!st && n->outputs[k] >= 0) {
      st = deliver(g, n, k, outs[k], nbytes_of(&g->tensors[n->outputs[k]]), -1, NULL, values, d);
      outs[k] = NULL;
    }
    free(outs[k]);
  }
  for (int j = 0; j < N; j++) free(state[j]);
  for (int j = 0; j < M; j++) free(slices[j]);
  return st;
}

ec_status ec_eval_control(ec_graph *g, int node, void **values, ec_diag *d) {
  const ec_node *n = &g->nodes[node];
  if (!n->params) return ec_fail_node(d, g, n, "internal error: %s evaluated before inference", n->op_type);
  switch (n->op) {
    case EC_OP_If: return eval_if(g, n, values, d);
    case EC_OP_Loop: return eval_loop(g, n, values, d);
    case EC_OP_Scan: return eval_scan(g, n, values, d);
    default: return ec_fail_node(d, g, n, "internal error: %s has subgraphs", n->op_type);
  }
}

/* ---- rewriting: taken branches and unrolled loops ---------------------------------------- */

/* The loops worth unrolling: copies of the body times trips, at most this many nodes. */
#define EC_UNROLL_MAX_NODES 4096

/* Appends `op_type` reading ins and writing out (one output); its op from the table. */
static int add_node(ec_graph *g, const char *op_type, const char *name, const int *ins, int n_in, int out) {
  int k = ec_graph_add_node(g, op_type, "", name);
  if (k < 0 || ec_node_set_inputs(g, k, ins, n_in) || ec_node_set_outputs(g, k, &out, 1)) return -1;
  g->nodes[k].op = ec_op_find(op_type, "");
  return k;
}

/* An int attribute (n < 0) or a one-entry ints attribute on node k. */
static ec_status add_int_attr(ec_graph *g, int k, const char *name, int64_t v, int n) {
  ec_node *nd = &g->nodes[k];
  ec_attr *a = ec_realloc_array(nd->attrs, (size_t)nd->n_attrs + 1, sizeof *a);
  if (!a) return EC_ERR_INTERNAL;
  nd->attrs = a;
  a = &a[nd->n_attrs];
  memset(a, 0, sizeof *a);
  if (!(a->name = ec_strdup(name))) return EC_ERR_INTERNAL;
  nd->n_attrs++;
  a->type = n < 0 ? EC_ATTR_INT : EC_ATTR_INTS;
  a->i = v;
  if (n >= 0) {
    if (!(a->ints = ec_alloc(sizeof(int64_t)))) return EC_ERR_INTERNAL;
    a->ints[0] = v;
    a->n = 1;
  }
  return EC_OK;
}

/* A constant tensor of g holding `bytes` (rank 0, or rank 1 of dim0). -1 on out of memory. */
static int add_const(ec_graph *g, const char *name, int32_t dtype, int rank, int64_t dim0, const void *bytes,
                     size_t len) {
  int t = ec_graph_fresh_tensor(g, name);
  if (t < 0) return -1;
  ec_tensor *tt = &g->tensors[t];
  tt->dtype = dtype;
  tt->rank = rank;
  tt->dims[0] = dim0;
  return ec_tensor_set_data(tt, (void *)bytes, len, false) ? -1 : t;
}

ec_status ec_if_fold(ec_graph *g, int node, bool *spliced) {
  const ec_node *n = &g->nodes[node];
  const ec_tensor *c = &g->tensors[n->inputs[0]];
  if (c->kind != EC_TK_CONSTANT || !c->data) return EC_OK;
  const char *want = *(const uint8_t *)c->data ? "then_branch" : "else_branch";
  int s = -1;
  for (int k = 0; k < n->n_subgraphs; k++)
    for (int a = 0; a < n->n_attrs; a++)
      if (n->attrs[a].graph == n->subgraphs[k] && strcmp(n->attrs[a].name, want) == 0) s = k;
  if (s < 0) return EC_ERR_INTERNAL;
  int *outs = ec_alloc(sizeof(int) * (size_t)(n->n_outputs + 1));
  if (!outs) return EC_ERR_INTERNAL;
  ec_status st = ec_graph_inline_subgraph(g, node, s, NULL, false, outs);
  char name[600];
  snprintf(name, sizeof name, "%s/taken", g->nodes[node].name);
  for (int k = 0; k < g->nodes[node].n_outputs && !st; k++)
    if (g->nodes[node].outputs[k] >= 0 && add_node(g, "Identity", name, &outs[k], 1, g->nodes[node].outputs[k]) < 0)
      st = EC_ERR_INTERNAL;
  free(outs);
  if (!st) g->nodes[node].dead = *spliced = true;
  return st;
}

ec_status ec_loop_unroll(ec_graph *g, int node, bool *spliced, ec_status failed) {
  ec_node *n = &g->nodes[node];
  ec_graph *body = n->n_subgraphs == 1 ? n->subgraphs[0] : NULL;
  int N = ec_node_n_explicit_inputs(n) - 2;
  if (!body || g->fold_shapes_only || N < 0 || N > 256 || body->n_inputs != N + 2 ||
      body->n_outputs < 1 + N || n->n_outputs != body->n_outputs - 1)
    return failed;
  int K = body->n_outputs - 1 - N;
  const ec_tensor *m = n->inputs[0] >= 0 ? &g->tensors[n->inputs[0]] : NULL;
  const ec_tensor *c = n->inputs[1] >= 0 ? &g->tensors[n->inputs[1]] : NULL;
  bool c0 = true;
  if (!m || m->kind != EC_TK_CONSTANT || !m->data || m->dtype != ECK_INT64 || (c && !const_bool(c, &c0)) ||
      !c0 || (c && !cond_invariant(body)))
    return failed;
  int64_t trips = *(const int64_t *)m->data;
  for (int i = 0; i < body->n_nodes; i++)
    if (body->nodes[i].n_subgraphs) return failed;
  if (trips < 1 || K > 256 || trips * (body->n_nodes + K + 1) > EC_UNROLL_MAX_NODES) return failed;
  int formals[256 + 2], outs[256 * 2 + 1];
  int *scan = ec_alloc(sizeof(int) * (size_t)(K * trips + 1));
  if (!scan) return EC_ERR_INTERNAL;
  uint8_t yes = 1;
  formals[1] = c ? n->inputs[1] : add_const(g, "cond", ECK_BOOL, 0, 0, &yes, 1);
  for (int j = 0; j < N; j++) formals[2 + j] = g->nodes[node].inputs[2 + j];
  ec_status st = formals[1] < 0 ? EC_ERR_INTERNAL : EC_OK;
  char name[600];
  for (int64_t i = 0; i < trips && !st; i++) {
    snprintf(name, sizeof name, "%s/iteration", body->name);
    formals[0] = add_const(g, name, ECK_INT64, 0, 0, &i, sizeof i);
    if (formals[0] < 0) st = EC_ERR_INTERNAL;
    if (!st) st = ec_graph_inline_subgraph(g, node, 0, formals, true, outs);
    for (int j = 0; j < N && !st; j++) formals[2 + j] = outs[1 + j];
    for (int k = 0; k < K && !st; k++) scan[k * trips + i] = outs[1 + N + k];
  }
  snprintf(name, sizeof name, "%s/unrolled", g->nodes[node].name);
  for (int j = 0; j < N && !st; j++)
    if (g->nodes[node].outputs[j] >= 0 && add_node(g, "Identity", name, &formals[2 + j], 1, g->nodes[node].outputs[j]) < 0)
      st = EC_ERR_INTERNAL;
  /* Scan outputs: each iteration's value gains a leading dim, then all are concatenated. */
  int64_t zero = 0;
  int axes = g->opset >= 13 ? add_const(g, "axes", ECK_INT64, 1, 1, &zero, sizeof zero) : -1;
  if (g->opset >= 13 && axes < 0) st = EC_ERR_INTERNAL;
  for (int k = 0; k < K && !st; k++) {
    for (int64_t i = 0; i < trips && !st; i++) {
      int ins[2] = {scan[k * trips + i], axes};
      int t = ec_graph_fresh_tensor(g, g->tensors[ins[0]].name);
      int u = t < 0 ? -1 : add_node(g, "Unsqueeze", name, ins, g->opset >= 13 ? 2 : 1, t);
      if (u < 0 || (g->opset < 13 && add_int_attr(g, u, "axes", 0, 1))) st = EC_ERR_INTERNAL;
      scan[k * trips + i] = t;
    }
    int out = g->nodes[node].outputs[N + k];
    int cc = st || out < 0 ? -1 : add_node(g, "Concat", name, &scan[k * trips], (int)trips, out);
    if (!st && out >= 0 && (cc < 0 || add_int_attr(g, cc, "axis", 0, -1))) st = EC_ERR_INTERNAL;
  }
  free(scan);
  if (!st) g->nodes[node].dead = *spliced = true;
  return st;
}
