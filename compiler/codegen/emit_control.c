/* emit_control.c — If, Loop and Scan in generated code: each branch or body is a C function
 * running its own steps (reference kernels, and eck_xnn_rnn where lowering recorded it for an
 * LSTM, GRU or RNN) over tensors planned inside the node's arena scratch.
 *
 * A subgraph is planned like a partition (ec_memplan_build over its nodes): its formal inputs,
 * non-constant captures and outputs are the "caller's" buffers, which the node's step points at
 * the right bytes before each run (the enclosing tensors, the carried-value double buffers, a
 * scan slice); its activations get offsets in its own arena, which sits in the node's scratch (so
 * nested control flow nests the same way). Its values continue the partition's value table, so
 * init binds them all at once and the steps read `ctx->v[V_...]` as every other step does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "emit_control.h"
#include "lower.h"
#include "op.h"

#define CTL_MAX_STATE 256
#define NOT_PLACED ((size_t)-1)

/* Where the pieces of a control node's scratch lie, relative to its start. */
typedef struct layout {
  size_t bytes;
  size_t sub_off[2];                    /* each subgraph's arena (an If's branches share 0) */
  size_t iter, cond, cond_next;         /* Loop: iteration number, condition in and out */
  size_t cur[CTL_MAX_STATE], next[CTL_MAX_STATE]; /* carried values / states, double-buffered */
  size_t in_slice[EC_CONTROL_MAX_SCAN];  /* Scan: packed slices (NOT_PLACED: read in place) */
  size_t out_slice[EC_CONTROL_MAX_SCAN];
} layout;

typedef struct csub {                   /* one subgraph */
  const ec_graph *g;
  int owner;                            /* its control node (index in ec_ctl.nodes) */
  int which;                            /* its position among the owner's subgraphs */
  ec_memplan mp;
  int *nodes;                           /* 0..n_nodes-1: its schedule */
  size_t base;                          /* absolute arena offset of its arena */
  int *val;                             /* per tensor: value index, or -1 */
  char fn[200];                         /* C name of its function: <owner's step>_then|else|body */
  char **step_fn;                       /* per node: its step's function, <fn>_<node> (names
                                           owned by ec_ctl.taken) */
} csub;

typedef struct cnode {                  /* one control-flow node */
  const ec_graph *g;                    /* the graph holding it */
  int node;
  int in_sub;                           /* the subgraph holding it, -1: the partition */
  int step;                             /* its step in that graph */
  size_t region;                        /* absolute arena offset of its scratch */
  layout lay;
  int first_sub;                        /* its subgraphs: subs[first_sub ...] */
  int64_t bound;                        /* Loop with a run-time trip count: --max-trip-count */
} cnode;

struct ec_ctl {
  char *const *top_names;
  const int *top_val;
  int n_top;
  const ec_codegen_opts *o;
  cnode *nodes;
  int n_nodes;
  csub *subs;
  int n_subs;
  const ec_memplan *top_mp;
  int *vsub, *vt;                       /* per own value: subgraph and tensor */
  uint64_t *woff;                       /* per own value: weights offset */
  int *alias;                           /* per own value: a constant capture is the enclosing
                                           constant's bytes (that value's index), else -1 */
  char **names;                         /* the partition's names, then the own values' */
  int n_vals, cap_vals;
  char *const *step_names;              /* the partition's step functions, by step */
  char **taken;                         /* function names so far (copies): the partition's steps',
                                           then the subgraphs' and their steps' */
  int n_taken, cap_taken;
};

/* A function name from the graph's names, unique among every function of the file so far: as
 * the partition's steps are named, an inserted node renames nothing else. */
static char *fresh_fn(ec_ctl *c, const char *raw) {
  if (c->n_taken == c->cap_taken) {
    int cap = c->cap_taken ? 2 * c->cap_taken : 64;
    char **nt = ec_realloc_array(c->taken, (size_t)cap, sizeof(char *));
    if (!nt) return NULL;
    c->taken = nt;
    c->cap_taken = cap;
  }
  char *nm = ec_cname(raw, c->taken, c->n_taken);
  if (nm) c->taken[c->n_taken++] = nm;
  return nm;
}

static size_t tbytes(const ec_tensor *t) {
  int64_t n = ec_tensor_numel(t);
  return n < 0 ? 0 : (size_t)n * ec_dtype_size(t->dtype);
}

/* Output k of a subgraph that no enclosing tensor receives (an omitted output of the node):
 * planned as a tensor of its own arena. Conditions, carried values and states always have a
 * destination (the double buffers). */
static bool sub_out_dropped(const ec_node *n, int k) {
  const ec_control_params *p = n->params;
  int N = p ? p->n_state : 0;
  if (n->op == EC_OP_If) return n->outputs[k] < 0;
  if (n->op == EC_OP_Loop) return k > N && n->outputs[k - 1] < 0;
  return k >= N && n->outputs[k] < 0;
}

/* First implicit input of subgraph `which` among n's inputs. */
static int capture_base(const ec_node *n, int which) {
  int base = ec_node_n_explicit_inputs(n);
  for (int k = 0; k < which; k++) base += n->subgraphs[k]->n_captures;
  return base;
}

/* The memory plan of subgraph `which` of n, as a partition whose caller provides its formal
 * inputs, non-constant captures (constant ones are weights) and outputs. */
static ec_status plan_sub(const ec_node *n, int which, ec_memplan *mp, ec_diag *d) {
  const ec_graph *sg = n->subgraphs[which];
  int *nodes = ec_alloc(sizeof(int) * (size_t)(sg->n_nodes + 1));
  int *ins = ec_alloc(sizeof(int) * (size_t)(sg->n_inputs + sg->n_captures + 1));
  int *outs = ec_alloc(sizeof(int) * (size_t)(sg->n_outputs + 1));
  int ni = 0, no = 0;
  ec_status st = EC_ERR_INTERNAL;
  if (nodes && ins && outs) {
    for (int i = 0; i < sg->n_nodes; i++) nodes[i] = i;
    for (int i = 0; i < sg->n_inputs; i++) ins[ni++] = sg->inputs[i];
    for (int k = 0; k < sg->n_captures; k++)
      if (!ec_tensor_is_const(&sg->tensors[sg->captures[k]])) ins[ni++] = sg->captures[k];
    for (int k = 0; k < sg->n_outputs; k++)
      if (!sub_out_dropped(n, k)) outs[no++] = sg->outputs[k];
    st = ec_memplan_build(sg, nodes, sg->n_nodes, ins, ni, outs, no, mp, d);
    if (!st) st = ec_memplan_verify(sg, nodes, sg->n_nodes, ins, ni, outs, no, mp, d);
  }
  free(nodes);
  free(ins);
  free(outs);
  return st;
}

/* Elements before `axis` of a tensor whose first `skip` dims are a batch the body does not see. */
static size_t outer_of(const ec_tensor *t, int skip, int axis) {
  size_t o = 1;
  for (int k = skip; k < skip + axis; k++) o *= (size_t)t->dims[k];
  return o;
}

static size_t take(size_t *off, size_t bytes) {
  size_t at = *off;
  *off += ec_mp_padded(bytes);
  return at;
}

/* The scratch layout of n, given its subgraphs' arena sizes. */
static void make_layout(const ec_graph *g, const ec_node *n, const size_t *arena, layout *L) {
  const ec_control_params *p = n->params;
  memset(L, 0, sizeof *L);
  if (n->op == EC_OP_If) {
    L->bytes = arena[0] > arena[1] ? arena[0] : arena[1];
    return;
  }
  const ec_graph *body = n->subgraphs[0];
  size_t off = 0;
  int first_in = n->op == EC_OP_Loop ? 2 : 0, skip = p->batched ? 1 : 0;
  if (n->op == EC_OP_Loop) {
    L->iter = take(&off, sizeof(int64_t));
    L->cond = take(&off, 1);
    L->cond_next = take(&off, 1);
  }
  for (int j = 0; j < p->n_state && j < CTL_MAX_STATE; j++) {
    size_t sb = tbytes(&body->tensors[body->inputs[first_in + j]]);
    /* A carried value with a data-dependent extent is written in place up to its bound before
     * the run checks it against the static shape. */
    size_t ob = n->op == EC_OP_Loop ? tbytes(&body->tensors[body->outputs[1 + j]]) : 0;
    if (ob > sb) sb = ob;
    L->cur[j] = take(&off, sb);
    L->next[j] = take(&off, sb);
  }
  for (int j = 0; n->op == EC_OP_Scan && j < p->n_scan_in; j++) {
    const ec_tensor *x = &g->tensors[n->inputs[p->first_state + p->n_state + j]];
    L->in_slice[j] = outer_of(x, skip, p->in_axis[j]) > 1
                         ? take(&off, tbytes(&body->tensors[body->inputs[p->n_state + j]]))
                         : NOT_PLACED;
  }
  for (int k = 0; n->op == EC_OP_Scan && k < p->n_scan_out; k++) {
    int t = n->outputs[p->n_state + k];
    L->out_slice[k] = t >= 0 && outer_of(&g->tensors[t], skip, p->out_axis[k]) > 1
                          ? take(&off, tbytes(&body->tensors[body->outputs[p->n_state + k]]))
                          : NOT_PLACED;
  }
  L->sub_off[0] = off;
  L->bytes = off + arena[0];
}

size_t ec_ctl_scratch(const ec_graph *g, const ec_node *n) {
  size_t arena[2] = {0, 0};
  if (!n->params || n->n_subgraphs < 1 || n->n_subgraphs > 2) return 0;
  ec_diag d;
  for (int k = 0; k < n->n_subgraphs; k++) {
    ec_memplan mp;
    if (plan_sub(n, k, &mp, &d)) return 0;
    arena[k] = mp.arena_bytes;
    ec_memplan_free(&mp);
  }
  layout *L = ec_alloc(sizeof *L);
  if (!L) return 0;
  make_layout(g, n, arena, L);
  size_t bytes = L->bytes;
  free(L);
  return bytes;
}

/* ---- building: the subgraphs planned, their values named ---------------------------------- */

static ec_status add_value(ec_ctl *c, int si, int t) {
  csub *sb = &c->subs[si];
  if (t < 0 || sb->val[t] >= 0 || sb->mp.where[t] == EC_MP_NONE) return EC_OK;
  if (c->n_vals == c->cap_vals) {
    int cap = c->cap_vals ? 2 * c->cap_vals : 64;
    int *vs = ec_realloc_array(c->vsub, (size_t)cap, sizeof(int));
    if (vs) c->vsub = vs;
    int *vt = ec_realloc_array(c->vt, (size_t)cap, sizeof(int));
    if (vt) c->vt = vt;
    uint64_t *wo = ec_realloc_array(c->woff, (size_t)cap, sizeof(uint64_t));
    if (wo) c->woff = wo;
    int *al = ec_realloc_array(c->alias, (size_t)cap, sizeof(int));
    if (al) c->alias = al;
    char **nm = ec_realloc_array(c->names, (size_t)(c->n_top + cap), sizeof(char *));
    if (nm) c->names = nm;
    if (!vs || !vt || !wo || !al || !nm) return EC_ERR_INTERNAL;
    c->cap_vals = cap;
  }
  char raw[600];
  snprintf(raw, sizeof raw, "%s_%s", sb->g->name && sb->g->name[0] ? sb->g->name : "sub",
           sb->g->tensors[t].name);
  char *name = ec_cname(raw, c->names, c->n_top + c->n_vals);
  if (!name) return EC_ERR_INTERNAL;
  c->names[c->n_top + c->n_vals] = name;
  c->vsub[c->n_vals] = si;
  c->vt[c->n_vals] = t;
  c->woff[c->n_vals] = 0;
  c->alias[c->n_vals] = -1;
  sb->val[t] = c->n_top + c->n_vals++;
  return EC_OK;
}

/* A constant the subgraph captures is the enclosing graph's constant: the same bytes of the
 * weights, not a second copy. */
static void alias_captures(ec_ctl *c, int si) {
  const csub *sb = &c->subs[si];
  const cnode *cn = &c->nodes[sb->owner];
  const ec_node *n = &cn->g->nodes[cn->node];
  int base = capture_base(n, sb->which);
  for (int k = 0; k < sb->g->n_captures; k++) {
    int t = sb->g->captures[k], ot = n->inputs[base + k];
    if (sb->val[t] < 0 || sb->mp.where[t] != EC_MP_WEIGHTS) continue;
    const ec_memplan *omp = cn->in_sub < 0 ? c->top_mp : &c->subs[cn->in_sub].mp;
    int ov = cn->in_sub < 0 ? c->top_val[ot] : c->subs[cn->in_sub].val[ot];
    if (ov >= 0 && omp->where[ot] == EC_MP_WEIGHTS) c->alias[sb->val[t] - c->n_top] = ov;
  }
}

static ec_status add_nodes(ec_ctl *c, const ec_graph *g, const int *nodes, int n_nodes,
                           const ec_memplan *mp, int in_sub, size_t base, ec_diag *d);

/* Checks what the generated code of a subgraph's plain steps needs: a reference kernel, dtypes
 * the runtime knows. */
static ec_status check_sub(const ec_graph *sg, ec_diag *d) {
  for (int i = 0; i < sg->n_nodes; i++) {
    const ec_node *n = &sg->nodes[i];
    if (n->op < 0 || (!ec_ops[n->op].ref && !n->n_subgraphs))
      return ec_fail_node(d, sg, n, "no reference kernel for %s yet (in subgraph '%s')", n->op_type, sg->name);
    for (int k = 0; k < n->n_inputs + n->n_outputs; k++) {
      int t = k < n->n_inputs ? n->inputs[k] : n->outputs[k - n->n_inputs];
      if (t >= 0 && !ec_emit_dtype_macro(sg->tensors[t].dtype))
        return ec_fail_node(d, sg, n, "tensor '%s' has dtype %s, which generated code does not support",
                            sg->tensors[t].name, ec_dtype_name(sg->tensors[t].dtype));
    }
  }
  return EC_OK;
}

/* The position among n's subgraphs (attribute order, as the file has them) of the k-th of its
 * subgraphs in the order the code runs them: an If's then_branch, then its else_branch. */
static int sub_index(const ec_node *n, int k) {
  if (n->op != EC_OP_If) return k;
  const char *want = k ? "else_branch" : "then_branch";
  for (int a = 0; a < n->n_attrs; a++)
    if (n->attrs[a].type == EC_ATTR_GRAPH && strcmp(n->attrs[a].name, want) == 0)
      for (int q = 0; q < n->n_subgraphs; q++)
        if (n->subgraphs[q] == n->attrs[a].graph) return q;
  return k;
}

static ec_status add_node(ec_ctl *c, const ec_graph *g, int node, int in_sub, int step, size_t region,
                          size_t reserved, ec_diag *d) {
  const ec_node *n = &g->nodes[node];
  if ((n->op != EC_OP_If && n->op != EC_OP_Loop && n->op != EC_OP_Scan) || !n->params ||
      n->n_subgraphs != (n->op == EC_OP_If ? 2 : 1))
    return ec_fail_node(d, g, n, "internal error: %s has subgraphs generated code cannot run", n->op_type);
  const ec_control_params *p = n->params;
  if (p->n_state > CTL_MAX_STATE)
    return ec_fail_node(d, g, n, "more than %d loop-carried values or states", CTL_MAX_STATE);
  cnode *nn = ec_realloc_array(c->nodes, (size_t)(c->n_nodes + 1), sizeof(cnode));
  if (!nn) return EC_ERR_INTERNAL;
  c->nodes = nn;
  int ci = c->n_nodes++;
  cnode *cn = &c->nodes[ci];
  memset(cn, 0, sizeof *cn);
  cn->g = g;
  cn->node = node;
  cn->in_sub = in_sub;
  cn->step = step;
  cn->region = region;
  cn->first_sub = c->n_subs;
  cn->bound = -1;
  if (n->op == EC_OP_Loop) {
    const ec_tensor *m = n->inputs[0] >= 0 ? &g->tensors[n->inputs[0]] : NULL;
    /* Inference found the bound (ec_control_params.bound); the loop checks it each iteration. */
    cn->bound = ((const ec_control_params *)n->params)->bound;
    if ((!m || !ec_tensor_is_const(m)) && cn->bound < 0)
      return ec_fail_node(d, g, n, "the trip count is %s: give its bound with --max-trip-count %s=N",
                          m ? "only known at run time" : "not given (the condition ends the loop)",
                          ec_loop_bound_name(g, n));
  }
  size_t arena[2] = {0, 0};
  for (int k = 0; k < n->n_subgraphs; k++) {
    int q = sub_index(n, k);
    const ec_graph *sg = n->subgraphs[q];
    ec_status st = check_sub(sg, d);
    if (st) return st;
    csub *ns = ec_realloc_array(c->subs, (size_t)(c->n_subs + 1), sizeof(csub));
    if (!ns) return EC_ERR_INTERNAL;
    c->subs = ns;
    csub *sb = &c->subs[c->n_subs++];
    memset(sb, 0, sizeof *sb);
    sb->g = sg;
    sb->owner = ci;
    sb->which = q;
    sb->nodes = ec_alloc(sizeof(int) * (size_t)(sg->n_nodes + 1));
    sb->val = ec_alloc(sizeof(int) * (size_t)(sg->n_tensors + 1));
    if (!sb->nodes || !sb->val) return EC_ERR_INTERNAL;
    for (int i = 0; i < sg->n_nodes; i++) sb->nodes[i] = i;
    for (int t = 0; t < sg->n_tensors; t++) sb->val[t] = -1;
    if ((st = plan_sub(n, q, &sb->mp, d))) return st;
    arena[k] = sb->mp.arena_bytes;
  }
  make_layout(g, n, arena, &c->nodes[ci].lay);
  cn = &c->nodes[ci];
  if (cn->lay.bytes > reserved)
    return ec_fail_node(d, g, n, "internal error: the memory plan reserved %zu bytes for %s's subgraphs, "
                        "which need %zu", reserved, n->op_type, cn->lay.bytes);
  for (int k = 0; k < n->n_subgraphs; k++) {
    int si = c->nodes[ci].first_sub + k;
    csub *sb = &c->subs[si];
    sb->base = c->nodes[ci].region + c->nodes[ci].lay.sub_off[k];
    const char *attr = n->op == EC_OP_If ? (k ? "else" : "then") : "body";
    /* Named after the node's own step function and the branch or body; its steps after it and
     * their nodes (as the partition's: the node's name, or its op and first output). */
    const char *owner_fn = in_sub < 0 ? c->step_names[step] : c->subs[in_sub].step_fn[step];
    char raw[600];
    snprintf(raw, sizeof raw, "%s_%s", owner_fn, attr);
    char *fn = fresh_fn(c, raw);
    if (!fn) return EC_ERR_INTERNAL;
    snprintf(sb->fn, sizeof sb->fn, "%s", fn);
    const ec_graph *sg = sb->g;
    sb->step_fn = ec_alloc(sizeof(char *) * (size_t)(sg->n_nodes + 1));
    if (!sb->step_fn) return EC_ERR_INTERNAL;
    for (int i = 0; i < sg->n_nodes; i++) {
      const ec_node *m = &sg->nodes[i];
      const char *out = m->n_outputs && m->outputs[0] >= 0 ? sg->tensors[m->outputs[0]].name : "";
      if (m->name && m->name[0]) snprintf(raw, sizeof raw, "%s_%s", sb->fn, m->name);
      else snprintf(raw, sizeof raw, "%s_%s_%s", sb->fn, m->op_type, out);
      if (!(sb->step_fn[i] = fresh_fn(c, raw))) return EC_ERR_INTERNAL;
    }
    /* Values in the order a reader meets them: each step's inputs and outputs, then the outputs. */
    ec_status st = EC_OK;
    for (int i = 0; !st && i < sg->n_nodes; i++) {
      const ec_node *m = &sg->nodes[i];
      for (int q = 0; !st && q < m->n_inputs; q++) st = add_value(c, si, m->inputs[q]);
      for (int q = 0; !st && q < m->n_outputs; q++) st = add_value(c, si, m->outputs[q]);
    }
    for (int q = 0; !st && q < sg->n_outputs; q++) st = add_value(c, si, sg->outputs[q]);
    if (!st) alias_captures(c, si);
    if (!st) st = add_nodes(c, sg, c->subs[si].nodes, sg->n_nodes, &c->subs[si].mp, si, c->subs[si].base, d);
    if (st) return st;
  }
  return EC_OK;
}

static ec_status add_nodes(ec_ctl *c, const ec_graph *g, const int *nodes, int n_nodes,
                           const ec_memplan *mp, int in_sub, size_t base, ec_diag *d) {
  for (int s = 0; s < n_nodes; s++) {
    const ec_node *n = &g->nodes[nodes[s]];
    if (!n->n_subgraphs) continue;
    int b = mp->scratch_buf[s];
    size_t region = b >= 0 ? base + mp->bufs[b].offset : base;
    ec_status st = add_node(c, g, nodes[s], in_sub, s, region, b >= 0 ? mp->scratch_bytes[s] : 0, d);
    if (st) return st;
  }
  return EC_OK;
}

ec_status ec_ctl_build(const ec_graph *g, const int *nodes, int n_nodes, const ec_memplan *mp,
                       char *const *top_names, const int *top_val, int n_top, char *const *step_names,
                       const ec_codegen_opts *o, ec_ctl **out, ec_diag *d) {
  *out = NULL;
  bool any = false;
  for (int s = 0; s < n_nodes; s++) any |= g->nodes[nodes[s]].n_subgraphs > 0;
  if (!any) return EC_OK;
  ec_ctl *c = ec_alloc(sizeof *c);
  if (!c) return EC_ERR_INTERNAL;
  c->top_mp = mp;
  c->top_names = top_names;
  c->top_val = top_val;
  c->n_top = n_top;
  c->o = o;
  c->names = ec_alloc(sizeof(char *) * (size_t)(n_top + 1));
  if (!c->names) {
    ec_ctl_free(c);
    return EC_ERR_INTERNAL;
  }
  for (int v = 0; v < n_top; v++) c->names[v] = top_names[v];
  c->step_names = step_names;
  for (int s = 0; s < n_nodes; s++)
    if (!fresh_fn(c, step_names[s])) {
      ec_ctl_free(c);
      return EC_ERR_INTERNAL;
    }
  ec_status st = add_nodes(c, g, nodes, n_nodes, mp, -1, 0, d);
  if (st) {
    ec_ctl_free(c);
    return st;
  }
  *out = c;
  return EC_OK;
}

int ec_ctl_n_values(const ec_ctl *c) { return c ? c->n_vals : 0; }

void ec_ctl_place_weights(ec_ctl *c, const uint64_t *top_woff, size_t *payload) {
  for (int v = 0; c && v < c->n_vals; v++) {
    const csub *sb = &c->subs[c->vsub[v]];
    if (sb->mp.where[c->vt[v]] != EC_MP_WEIGHTS) continue;
    int a = c->alias[v]; /* placed before v: enclosing values come first */
    if (a >= 0) {
      c->woff[v] = a < c->n_top ? top_woff[a] : c->woff[a - c->n_top];
      continue;
    }
    *payload = (*payload + EC_MP_ALIGN - 1) / EC_MP_ALIGN * EC_MP_ALIGN;
    c->woff[v] = *payload;
    *payload += tbytes(&sb->g->tensors[c->vt[v]]);
  }
}

void ec_ctl_copy_weights(const ec_ctl *c, unsigned char *payload) {
  for (int v = 0; c && v < c->n_vals; v++) {
    const csub *sb = &c->subs[c->vsub[v]];
    const ec_tensor *t = &sb->g->tensors[c->vt[v]];
    if (sb->mp.where[c->vt[v]] == EC_MP_WEIGHTS && c->alias[v] < 0 && tbytes(t))
      memcpy(payload + c->woff[v], t->data, tbytes(t));
  }
}

void ec_ctl_free(ec_ctl *c) {
  if (!c) return;
  for (int i = 0; i < c->n_subs; i++) {
    ec_memplan_free(&c->subs[i].mp);
    free(c->subs[i].nodes);
    free(c->subs[i].val);
    free(c->subs[i].step_fn);
  }
  for (int i = 0; i < c->n_taken; i++) free(c->taken[i]);
  free(c->taken);
  for (int v = 0; c->names && v < c->n_vals; v++) free(c->names[c->n_top + v]);
  free(c->subs);
  free(c->nodes);
  free(c->vsub);
  free(c->vt);
  free(c->woff);
  free(c->alias);
  free(c->names);
  free(c);
}

/* ---- text ---------------------------------------------------------------------------------- */

/* Text safe inside a C comment or string: printable ASCII, no comment end, quote or backslash. */
static void put_safe(ec_buf *b, const char *s) {
  char prev = 0;
  for (; *s; s++) {
    char c = *s;
    if ((unsigned char)c < 32 || (unsigned char)c > 126 || c == '"' || c == '\\') c = '_';
    if (c == '/' && prev == '*') c = '|';
    if (c == '?' && prev == '?') c = '_';
    ec_buf_append(b, &c, 1);
    prev = c;
  }
}

/* The value name of tensor t of the graph holding control node ci (in_sub) or of subgraph si. */
static const char *vname(const ec_ctl *c, int si, int t) {
  if (si < 0) return c->top_names[c->top_val[t]];
  return c->names[c->subs[si].val[t]];
}

void ec_ctl_emit_enum(const ec_ctl *c, ec_buf *b) {
  for (int v = 0; c && v < c->n_vals; v++) {
    const csub *sb = &c->subs[c->vsub[v]];
    ec_buf_printf(b, "  V_%s = %d, /* %s: ", c->names[c->n_top + v], c->n_top + v, sb->fn);
    put_safe(b, sb->g->tensors[c->vt[v]].name);
    ec_buf_printf(b, " */\n");
  }
}

void ec_ctl_emit_values(const ec_ctl *c, ec_buf *b) {
  for (int v = 0; c && v < c->n_vals; v++) {
    const csub *sb = &c->subs[c->vsub[v]];
    int t = c->vt[v];
    const ec_tensor *tt = &sb->g->tensors[t];
    const char *where = "ECRT_CALLER";
    size_t off = 0;
    if (sb->mp.where[t] == EC_MP_ARENA) {
      where = "ECRT_ARENA";
      off = sb->base + sb->mp.bufs[sb->mp.buf[t]].offset + sb->mp.view_off[t];
    } else if (sb->mp.where[t] == EC_MP_WEIGHTS) {
      where = "ECRT_WEIGHTS";
      off = c->woff[v];
    }
    ec_buf_printf(b, "  {%s, %d, {", ec_emit_dtype_macro(tt->dtype), tt->rank);
    for (int k = 0; k < tt->rank; k++) ec_buf_printf(b, "%s%lld", k ? ", " : "", (long long)tt->dims[k]);
    ec_buf_printf(b, "%s}, %s, %zu}, /* %s */\n", tt->rank ? "" : "0", where, off, c->names[c->n_top + v]);
  }
}

static ec_status emit_node(const ec_ctl *c, ec_buf *b, int ci, const char *fname, const char *prog, ec_diag *d);

/* One plain step of a subgraph: its reference kernel on the values, as the partition's steps. */
static ec_status emit_ref_step(const ec_ctl *c, ec_buf *b, int si, int s, const char *fname, const char *prog,
                               ec_diag *d) {
  const csub *sb = &c->subs[si];
  const ec_node *n = &sb->g->nodes[s];
  const ec_op_def *op = &ec_ops[n->op];
  bool has_params = op->print_params && n->params;
  if (has_params && n->params_size != op->params_size) {
    ec_fail_node(d, sb->g, n, "internal error: %s's params take %zu bytes, not the %zu of %s", n->op_type,
                 n->params_size, op->params_size, op->params_type);
    return EC_ERR_INTERNAL;
  }
  if (n->kernel && n->kernel->kind != EC_K_REF) ec_buf_printf(b, "/* kernel: %s */\n", ec_kernel_label(n->kernel->kind));
  if (has_params) {
    ec_buf_printf(b, "static const %s %s_params = ", op->params_type, fname);
    op->print_params(b, n);
    ec_buf_printf(b, ";\n");
  }
  int ni = n->n_inputs, no = n->n_outputs;
  ec_buf_printf(b, "static int %s(void *c) {\n  %s *ctx = c;\n  eck_tensor in[%d], out[%d];\n", fname, prog,
                ni ? ni : 1, no ? no : 1);
  for (int k = 0; k < ni + no; k++) {
    int t = k < ni ? n->inputs[k] : n->outputs[k - ni];
    const char *side = k < ni ? "in" : "out";
    int j = k < ni ? k : k - ni;
    if (t < 0) ec_buf_printf(b, "  %s[%d] = ecrt_no_tensor;\n", side, j);
    else ec_buf_printf(b, "  %s[%d] = ctx->v[V_%s];\n", side, j, vname(c, si, t));
  }
  int sbuf = sb->mp.scratch_buf[s];
  char parg[400], sarg[64];
  snprintf(parg, sizeof parg, has_params ? "&%s_params" : "NULL", fname);
  if (sbuf >= 0) snprintf(sarg, sizeof sarg, "ctx->arena + %zu", sb->base + sb->mp.bufs[sbuf].offset);
  else snprintf(sarg, sizeof sarg, "NULL");
  bool bounded = false;
  for (int k = 0; k < no; k++) bounded |= n->outputs[k] >= 0 && sb->g->tensors[n->outputs[k]].dyn;
  if (!bounded) {
    ec_buf_printf(b, "  return %s(%s, in, %d, out, %d, %s);\n}\n", ec_kernel_ref_fn(n), parg, ni, no, sarg);
    return EC_OK;
  }
  const char **vals = ec_alloc(sizeof(char *) * (size_t)(no + 1));
  if (!vals) return EC_ERR_INTERNAL;
  for (int k = 0; k < no; k++) vals[k] = n->outputs[k] >= 0 ? vname(c, si, n->outputs[k]) : "";
  ec_emit_bounded_call(b, sb->g, n, ec_kernel_ref_fn(n), parg, sarg, vals);
  free(vals);
  return EC_OK;
}

/* The functions of subgraph si's steps and its step table `<fn>_steps`. */
static ec_status emit_sub(const ec_ctl *c, ec_buf *b, int si, const char *prog, ec_diag *d) {
  const csub *sb = &c->subs[si];
  const ec_graph *sg = sb->g;
  char fname[300];
  for (int s = 0; s < sg->n_nodes; s++) {
    const ec_node *n = &sg->nodes[s];
    snprintf(fname, sizeof fname, "%s", sb->step_fn[s]);
    char desc[600];
    ec_node_describe(sg, n, desc, sizeof desc);
    ec_buf_printf(b, "\n/* ");
    put_safe(b, desc);
    ec_buf_printf(b, ", in %s:", sb->fn);
    for (int k = 0; k < n->n_outputs; k++) {
      if (n->outputs[k] < 0) continue;
      const ec_tensor *t = &sg->tensors[n->outputs[k]];
      ec_buf_printf(b, " -> %s [", ec_dtype_name(t->dtype));
      for (int q = 0; q < t->rank; q++)
        ec_buf_printf(b, "%s%s%lld", q ? "," : "", (t->dyn >> q) & 1 ? "<=" : "", (long long)t->dims[q]);
      ec_buf_printf(b, "]");
    }
    ec_buf_printf(b, " */\n");
    ec_status st = EC_OK;
    if (n->n_subgraphs) {
      int ci = -1;
      for (int i = 0; i < c->n_nodes; i++)
        if (c->nodes[i].in_sub == si && c->nodes[i].step == s) ci = i;
      st = ci < 0 ? EC_ERR_INTERNAL : emit_node(c, b, ci, fname, prog, d);
    } else {
      st = emit_ref_step(c, b, si, s, fname, prog, d);
    }
    if (st) return st;
  }
  if (!sg->n_nodes) return EC_OK;
  ec_buf_printf(b, "\nstatic const ecrt_step %s_steps[%d] = {\n", sb->fn, sg->n_nodes);
  for (int s = 0; s < sg->n_nodes; s++) {
    const ec_node *n = &sg->nodes[s];
    ec_buf_printf(b, "  {\"");
    if (n->name && n->name[0]) put_safe(b, n->name);
    else ec_buf_printf(b, "#%d", n->index);
    ec_buf_printf(b, "\", \"");
    put_safe(b, n->op_type);
    ec_buf_printf(b, "\", %s},\n", sb->step_fn[s]);
  }
  ec_buf_printf(b, "};\n");
  return EC_OK;
}

/* Whether subgraph output k is written in place: a step of the subgraph writes it and no
 * earlier output is the same tensor. Else it is copied to its destination after the run. */
static bool out_in_place(const csub *sb, int k) {
  int t = sb->g->outputs[k];
  if (sb->mp.first[t] < 0 || sb->mp.where[t] != EC_MP_CALLER) return false;
  for (int j = 0; j < k; j++)
    if (sb->g->outputs[j] == t) return false;
  return true;
}

static void indent(ec_buf *b, int depth) {
  for (int i = 0; i < depth; i++) ec_buf_printf(b, "  ");
}

/* Points the subgraph's captures at the enclosing tensors (constant ones are its weights). */
static void bind_captures(const ec_ctl *c, ec_buf *b, int si, int depth) {
  const csub *sb = &c->subs[si];
  const cnode *cn = &c->nodes[sb->owner];
  const ec_node *n = &cn->g->nodes[cn->node];
  int base = capture_base(n, sb->which);
  for (int k = 0; k < sb->g->n_captures; k++) {
    int t = sb->g->captures[k];
    if (sb->val[t] < 0 || ec_tensor_is_const(&sb->g->tensors[t])) continue;
    indent(b, depth);
    ec_buf_printf(b, "ctx->v[V_%s].data = ctx->v[V_%s].data;\n", vname(c, si, t),
                  vname(c, cn->in_sub, n->inputs[base + k]));
  }
}

/* Points formal input i of the subgraph at `expr`, when a step reads it. */
static void bind_formal(const ec_ctl *c, ec_buf *b, int si, int i, const char *expr, int depth) {
  const csub *sb = &c->subs[si];
  int t = sb->g->inputs[i];
  if (sb->val[t] < 0) return;
  indent(b, depth);
  ec_buf_printf(b, "ctx->v[V_%s].data = %s;\n", vname(c, si, t), expr);
}

/* Output k's destination is `expr`: before the run (after false) an output a step writes in
 * place is pointed there; after it, one that was not is copied there. */
static void deliver_output(const ec_ctl *c, ec_buf *b, int si, int k, const char *expr, int depth, bool after) {
  const csub *sb = &c->subs[si];
  int t = sb->g->outputs[k];
  if (out_in_place(sb, k) == after) return;
  indent(b, depth);
  /* A carried value's copy is its static size (its extent checked against it first). */
  const ec_node *n = &c->nodes[sb->owner].g->nodes[c->nodes[sb->owner].node];
  const ec_control_params *p = n->params;
  const ec_tensor *size_of = n->op == EC_OP_Loop && k >= 1 && k <= p->n_state ? &sb->g->tensors[sb->g->inputs[1 + k]]
                                                                             : &sb->g->tensors[t];
  if (after)
    ec_buf_printf(b, "ecrt_copy(%s, ctx->v[V_%s].data, %zu);\n", expr, vname(c, si, t), tbytes(size_of));
  else
    ec_buf_printf(b, "ctx->v[V_%s].data = %s;\n", vname(c, si, t), expr);
}

/* The comment before a body's run: its graph name, step count and step table. */
static void body_comment(ec_buf *b, const csub *sb, int depth) {
  indent(b, depth);
  ec_buf_printf(b, "/* body '");
  put_safe(b, sb->g->name ? sb->g->name : "");
  ec_buf_printf(b, "': %d step%s (%s_steps) */\n", sb->g->n_nodes, sb->g->n_nodes == 1 ? "" : "s", sb->fn);
}

static void run_sub(const ec_ctl *c, ec_buf *b, int si, int depth) {
  const csub *sb = &c->subs[si];
  if (!sb->g->n_nodes) return;
  indent(b, depth);
  ec_buf_printf(b, "if (ecrt_run_steps(%s_steps, %d, ctx, NULL, NULL) != ECRT_OK) return ECK_ERR_INDEX;\n", sb->fn,
                sb->g->n_nodes);
}

/* `ctx->v[V_x].data` of tensor t of the graph holding control node ci. */
static void data_of(const ec_ctl *c, const cnode *cn, int t, char *out, size_t len) {
  snprintf(out, len, "ctx->v[V_%s].data", vname(c, cn->in_sub, t));
}

static void emit_if(const ec_ctl *c, ec_buf *b, const cnode *cn, const ec_node *n) {
  char e[300];
  data_of(c, cn, n->inputs[0], e, sizeof e);
  ec_buf_printf(b, "  if (*(const uint8_t *)%s) {\n", e);
  for (int k = 0; k < 2; k++) {
    int si = cn->first_sub + k;
    const csub *sb = &c->subs[si];
    if (k) ec_buf_printf(b, "  } else {\n");
    ec_buf_printf(b, "    /* %s branch '", k ? "else" : "then");
    put_safe(b, sb->g->name ? sb->g->name : "");
    ec_buf_printf(b, "': %d step%s (%s_steps) */\n", sb->g->n_nodes, sb->g->n_nodes == 1 ? "" : "s", sb->fn);
    bind_captures(c, b, si, 2);
    for (int after = 0; after < 2; after++) {
      if (after) run_sub(c, b, si, 2);
      for (int j = 0; j < n->n_outputs; j++) {
        if (n->outputs[j] < 0) continue;
        data_of(c, cn, n->outputs[j], e, sizeof e);
        deliver_output(c, b, si, j, e, 2, after);
      }
    }
  }
  ec_buf_printf(b, "  }\n  return ECK_OK;\n");
}

static void declare_states(ec_buf *b, const cnode *cn, int N) {
  if (!N) return;
  ec_buf_printf(b, "  unsigned char *cur[%d], *next[%d], *tmp;\n  int j;\n", N, N);
  (void)cn;
}

static void init_states(ec_buf *b, const cnode *cn, int N) {
  for (int j = 0; j < N; j++)
    ec_buf_printf(b, "  cur[%d] = ctx->arena + %zu;\n  next[%d] = ctx->arena + %zu;\n", j,
                  cn->region + cn->lay.cur[j], j, cn->region + cn->lay.next[j]);
}

static void swap_states(ec_buf *b, int N, int depth) {
  if (!N) return;
  indent(b, depth);
  ec_buf_printf(b, "for (j = 0; j < %d; j++) {\n", N);
  indent(b, depth);
  ec_buf_printf(b, "  tmp = cur[j];\n");
  indent(b, depth);
  ec_buf_printf(b, "  cur[j] = next[j];\n");
  indent(b, depth);
  ec_buf_printf(b, "  next[j] = tmp;\n");
  indent(b, depth);
  ec_buf_printf(b, "}\n");
}

/* The dims test `ctx->v[V_a].dims[q] != <b>[q]` over the dims set in mask, joined by ||. */
static void dims_differ(ec_buf *b, const char *a, const char *other, int off, uint8_t mask, int rank) {
  const char *sep = "";
  for (int q = 0; q < rank; q++) {
    if (!((mask >> q) & 1)) continue;
    ec_buf_printf(b, "%sctx->v[V_%s].dims[%d] != %s[%d]", sep, a, q + off, other, q);
    sep = " || ";
  }
}

/* After a run of Loop n's body: a carried value with a data-dependent extent must have its
 * static shape; a scan output's extent is the node output's (set by iteration 0, repeated by the
 * others, as ONNX stacks equal shapes). */
static void check_extents(const ec_ctl *c, ec_buf *b, const cnode *cn, const ec_node *n) {
  const ec_control_params *p = n->params;
  int si = cn->first_sub, N = p->n_state, K = p->n_scan_out;
  const ec_graph *body = c->subs[si].g;
  for (int j = 0; j < N; j++) {
    int t = body->outputs[1 + j];
    const ec_tensor *out = &body->tensors[t], *in = &body->tensors[body->inputs[2 + j]];
    if (!out->dyn) continue;
    ec_buf_printf(b, "    {\n      static const int64_t want[%d] = {", out->rank);
    for (int q = 0; q < in->rank; q++) ec_buf_printf(b, "%s%lld", q ? ", " : "", (long long)in->dims[q]);
    ec_buf_printf(b, "};\n      if (");
    dims_differ(b, vname(c, si, t), "want", 0, out->dyn, out->rank);
    ec_buf_printf(b, ") {\n        ctx->base.failed_why = \"loop-carried value '");
    put_safe(b, out->name);
    ec_buf_printf(b, "' leaves the body with another shape than it entered\";\n        return ECK_ERR_BOUND;\n"
                  "      }\n    }\n");
  }
  for (int k = 0; k < K; k++) {
    int t = body->outputs[1 + N + k], o = n->outputs[N + k];
    const ec_tensor *so = &body->tensors[t];
    if (!so->dyn || o < 0) continue;
    const char *ov = vname(c, cn->in_sub, o), *bv = vname(c, si, t);
    char bd[300];
    snprintf(bd, sizeof bd, "ctx->v[V_%s].dims", bv);
    ec_buf_printf(b, "    if (i == 0) {\n");
    for (int q = 0; q < so->rank; q++)
      if ((so->dyn >> q) & 1) ec_buf_printf(b, "      ctx->v[V_%s].dims[%d] = %s[%d];\n", ov, q + 1, bd, q);
    ec_buf_printf(b, "    } else if (");
    dims_differ(b, ov, bd, 1, so->dyn, so->rank);
    ec_buf_printf(b, ") {\n      ctx->base.failed_why = \"scan output '");
    put_safe(b, so->name);
    ec_buf_printf(b, "' changes shape between iterations\";\n      return ECK_ERR_BOUND;\n    }\n");
  }
}

/* After Loop n: a scan output whose iterations have a data-dependent extent was stacked at the
 * stride of its bound; its rows move down to the dense layout of the extent found. */
static void pack_scan_outputs(const ec_ctl *c, ec_buf *b, const cnode *cn, const ec_node *n) {
  const ec_control_params *p = n->params;
  int si = cn->first_sub, N = p->n_state, K = p->n_scan_out;
  const ec_graph *body = c->subs[si].g;
  for (int k = 0; k < K; k++) {
    int t = body->outputs[1 + N + k], o = n->outputs[N + k];
    const ec_tensor *so = &body->tensors[t];
    if (!so->dyn || o < 0) continue;
    const char *ov = vname(c, cn->in_sub, o);
    ec_buf_printf(b, "  { /* scan output '");
    put_safe(b, so->name);
    ec_buf_printf(b, "': iterations stacked %zu bytes apart (its bound), packed to the extent found */\n"
                  "    unsigned char *rows = ctx->v[V_%s].data;\n    size_t row;\n    int64_t r;\n"
                  "    if (i == 0) { /* no iteration found an extent: an empty tensor */\n", tbytes(so), ov);
    for (int q = 0; q < so->rank; q++)
      if ((so->dyn >> q) & 1) ec_buf_printf(b, "      ctx->v[V_%s].dims[%d] = 0;\n", ov, q + 1);
    ec_buf_printf(b, "    }\n    row = %zu", ec_dtype_size(so->dtype));
    for (int q = 0; q < so->rank; q++) ec_buf_printf(b, " * (size_t)ctx->v[V_%s].dims[%d]", ov, q + 1);
    ec_buf_printf(b, ";\n    for (r = 1; r < i; r++) memmove(rows + r * row, rows + r * %zu, row);\n  }\n", tbytes(so));
  }
}

static void emit_loop(const ec_ctl *c, ec_buf *b, const cnode *cn, const ec_node *n) {
  const ec_control_params *p = n->params;
  int si = cn->first_sub, N = p->n_state, K = p->n_scan_out;
  const csub *sb = &c->subs[si];
  const ec_graph *body = sb->g;
  char e[300], x[700];
  declare_states(b, cn, N);
  bool uses_iter = sb->val[body->inputs[0]] >= 0;
  ec_buf_printf(b, "  uint8_t *cond = ctx->arena + %zu;\n", cn->region + cn->lay.cond);
  if (uses_iter) ec_buf_printf(b, "  int64_t *iter = (int64_t *)(ctx->arena + %zu);\n", cn->region + cn->lay.iter);
  const ec_tensor *m = n->inputs[0] >= 0 ? &cn->g->tensors[n->inputs[0]] : NULL;
  if (m && ec_tensor_is_const(m)) {
    ec_buf_printf(b, "  const int64_t trips = INT64_C(%lld);\n", (long long)*(const int64_t *)m->data);
  } else if (m) {
    data_of(c, cn, n->inputs[0], e, sizeof e);
    ec_buf_printf(b, "  const int64_t trips = *(const int64_t *)%s;\n", e);
  } else {
    ec_buf_printf(b, "  const int64_t trips = INT64_MAX; /* no trip count: the condition ends it */\n");
  }
  ec_buf_printf(b, "  int64_t i;\n");
  init_states(b, cn, N);
  if (n->inputs[1] >= 0) {
    data_of(c, cn, n->inputs[1], e, sizeof e);
    ec_buf_printf(b, "  *cond = *(const uint8_t *)%s;\n", e);
  } else {
    ec_buf_printf(b, "  *cond = 1;\n");
  }
  for (int j = 0; j < N; j++) {
    data_of(c, cn, n->inputs[2 + j], e, sizeof e);
    ec_buf_printf(b, "  ecrt_copy(cur[%d], %s, %zu);\n", j, e, tbytes(&body->tensors[body->inputs[2 + j]]));
  }
  bind_captures(c, b, si, 1);
  bind_formal(c, b, si, 1, "cond", 1);
  ec_buf_printf(b, "  for (i = 0; i < trips && *cond; i++) {\n");
  if (cn->bound >= 0) {
    ec_buf_printf(b, "    if (i >= INT64_C(%lld)) {\n      ctx->base.failed_why = \"the trip count exceeds its bound, "
                  "--max-trip-count ", (long long)cn->bound);
    put_safe(b, ec_loop_bound_name(cn->g, n));
    ec_buf_printf(b, "=%lld\";\n      return ECK_ERR_INDEX;\n    }\n", (long long)cn->bound);
  }
  if (uses_iter) {
    ec_buf_printf(b, "    *iter = i;\n");
    bind_formal(c, b, si, 0, "iter", 2);
  }
  for (int j = 0; j < N; j++) {
    snprintf(x, sizeof x, "cur[%d]", j);
    bind_formal(c, b, si, 2 + j, x, 2);
  }
  snprintf(x, sizeof x, "ctx->arena + %zu", cn->region + cn->lay.cond_next);
  deliver_output(c, b, si, 0, x, 2, false);
  /* Carried values to the other buffer, scan outputs to their slice: pointed at before the run,
   * copied after it where no step wrote them. */
  for (int after = 0; after < 2; after++) {
    if (after) {
      body_comment(b, sb, 2);
      run_sub(c, b, si, 2);
      check_extents(c, b, cn, n);
    }
    for (int j = 0; j < N; j++) {
      snprintf(x, sizeof x, "next[%d]", j);
      deliver_output(c, b, si, 1 + j, x, 2, after);
    }
    for (int k = 0; k < K; k++) {
      if (n->outputs[N + k] < 0) continue;
      data_of(c, cn, n->outputs[N + k], e, sizeof e);
      snprintf(x, sizeof x, "(unsigned char *)%s + i * %zu", e, tbytes(&body->tensors[body->outputs[1 + N + k]]));
      deliver_output(c, b, si, 1 + N + k, x, 2, after);
    }
  }
  /* Without a condition input the body's condition is ignored (ONNX: a for loop), as eval does. */
  if (n->inputs[1] >= 0)
    ec_buf_printf(b, "    *cond = *(const uint8_t *)ctx->v[V_%s].data;\n", vname(c, si, body->outputs[0]));
  swap_states(b, N, 2);
  ec_buf_printf(b, "  }\n");
  for (int j = 0; j < N; j++) {
    if (n->outputs[j] < 0) continue;
    data_of(c, cn, n->outputs[j], e, sizeof e);
    ec_buf_printf(b, "  ecrt_copy(%s, cur[%d], %zu);\n", e, j, tbytes(&body->tensors[body->inputs[2 + j]]));
  }
  pack_scan_outputs(c, b, cn, n);
  /* Scan outputs sized by --max-trip-count: their length is the iterations run, which readers
   * and the run's out_dims take from ctx->v. */
  for (int k = 0; k < K; k++)
    if (n->outputs[N + k] >= 0 && (cn->g->tensors[n->outputs[N + k]].dyn & 1))
      ec_buf_printf(b, "  ctx->v[V_%s].dims[0] = i; /* at most %lld */\n", vname(c, cn->in_sub, n->outputs[N + k]),
                    (long long)cn->g->tensors[n->outputs[N + k]].dims[0]);
  ec_buf_printf(b, "  return ECK_OK;\n");
}

/* Geometry of a scanned tensor t (the node's): per-batch bytes, elements before the axis, the
 * axis length, bytes after it. */
static void scan_geom(const ec_tensor *t, int skip, int axis, size_t *batch_bytes, size_t *outer,
                      size_t *len, size_t *inner) {
  *outer = outer_of(t, skip, axis);
  *len = (size_t)t->dims[skip + axis];
  *inner = ec_dtype_size(t->dtype);
  for (int k = skip + axis + 1; k < t->rank; k++) *inner *= (size_t)t->dims[k];
  *batch_bytes = *outer * *len * *inner;
}

/* The slice a scan step reads or writes: t, or counted from the end for a reverse direction. */
static void scan_index(char *out, size_t len, bool rev, long long L) {
  if (rev) snprintf(out, len, "(%lld - 1 - t)", L);
  else snprintf(out, len, "t");
}

static void emit_scan(const ec_ctl *c, ec_buf *b, const cnode *cn, const ec_node *n) {
  const ec_control_params *p = n->params;
  int si = cn->first_sub, N = p->n_state, M = p->n_scan_in, K = p->n_scan_out, skip = p->batched ? 1 : 0;
  const csub *sb = &c->subs[si];
  const ec_graph *body = sb->g;
  const ec_tensor *x0 = &cn->g->tensors[n->inputs[p->first_state + N]];
  long long B = p->batched ? (long long)x0->dims[0] : 1, L = (long long)x0->dims[skip + p->in_axis[0]];
  char e[300], x[700];
  declare_states(b, cn, N);
  ec_buf_printf(b, "  int64_t bt, t;\n");
  init_states(b, cn, N);
  bind_captures(c, b, si, 1);
  ec_buf_printf(b, "  for (bt = 0; bt < %lld; bt++) {\n", B);
  for (int j = 0; j < N; j++) {
    size_t sbytes = tbytes(&body->tensors[body->inputs[j]]);
    data_of(c, cn, n->inputs[p->first_state + j], e, sizeof e);
    ec_buf_printf(b, "    ecrt_copy(cur[%d], (const unsigned char *)%s + bt * %zu, %zu);\n", j, e, sbytes, sbytes);
  }
  ec_buf_printf(b, "    for (t = 0; t < %lld; t++) {\n", L);
  for (int j = 0; j < M; j++) {
    const ec_tensor *xt = &cn->g->tensors[n->inputs[p->first_state + N + j]];
    size_t bb, outer, len, inner;
    scan_geom(xt, skip, p->in_axis[j], &bb, &outer, &len, &inner);
    data_of(c, cn, n->inputs[p->first_state + N + j], e, sizeof e);
    char idx[64];
    scan_index(idx, sizeof idx, p->in_rev[j], L);
    if (cn->lay.in_slice[j] == NOT_PLACED) {
      snprintf(x, sizeof x, "(unsigned char *)%s + bt * %zu + %s * %zu", e, bb, idx, inner);
    } else {
      ec_buf_printf(b, "      ecrt_slice_copy((unsigned char *)%s + bt * %zu, ctx->arena + %zu, %zu, %zu, %zu, %s, 0);\n",
                    e, bb, cn->region + cn->lay.in_slice[j], outer, len, inner, idx);
      snprintf(x, sizeof x, "ctx->arena + %zu", cn->region + cn->lay.in_slice[j]);
    }
    bind_formal(c, b, si, N + j, x, 3);
  }
  for (int j = 0; j < N; j++) {
    snprintf(x, sizeof x, "cur[%d]", j);
    bind_formal(c, b, si, j, x, 3);
  }
  /* Scan outputs to their slice (in place on a leading axis, else through the packed buffer),
   * states to the other buffer: pointed at before the run, copied after it. */
  for (int after = 0; after < 2; after++) {
    if (after) {
      body_comment(b, sb, 3);
      run_sub(c, b, si, 3);
    }
    for (int k = 0; k < K; k++) {
      int t = n->outputs[N + k];
      if (t < 0) continue;
      size_t bb, outer, len, inner;
      scan_geom(&cn->g->tensors[t], skip, p->out_axis[k], &bb, &outer, &len, &inner);
      char idx[64];
      scan_index(idx, sizeof idx, p->out_rev[k], L);
      data_of(c, cn, t, e, sizeof e);
      if (cn->lay.out_slice[k] == NOT_PLACED) {
        snprintf(x, sizeof x, "(unsigned char *)%s + bt * %zu + %s * %zu", e, bb, idx, inner);
        deliver_output(c, b, si, N + k, x, 3, after);
      } else if (!after) {
        snprintf(x, sizeof x, "ctx->arena + %zu", cn->region + cn->lay.out_slice[k]);
        deliver_output(c, b, si, N + k, x, 3, false);
      } else {
        ec_buf_printf(b, "      ecrt_slice_copy((unsigned char *)%s + bt * %zu, ctx->v[V_%s].data, %zu, %zu, %zu, %s, 1);\n",
                      e, bb, vname(c, si, body->outputs[N + k]), outer, len, inner, idx);
      }
    }
    for (int j = 0; j < N; j++) {
      snprintf(x, sizeof x, "next[%d]", j);
      deliver_output(c, b, si, j, x, 3, after);
    }
  }
  swap_states(b, N, 3);
  ec_buf_printf(b, "    }\n");
  for (int j = 0; j < N; j++) {
    if (n->outputs[j] < 0) continue;
    size_t sbytes = tbytes(&body->tensors[body->inputs[j]]);
    data_of(c, cn, n->outputs[j], e, sizeof e);
    ec_buf_printf(b, "    ecrt_copy((unsigned char *)%s + bt * %zu, cur[%d], %zu);\n", e, sbytes, j, sbytes);
  }
  ec_buf_printf(b, "  }\n  return ECK_OK;\n");
}

static ec_status emit_node(const ec_ctl *c, ec_buf *b, int ci, const char *fname, const char *prog, ec_diag *d) {
  const cnode *cn = &c->nodes[ci];
  const ec_node *n = &cn->g->nodes[cn->node];
  for (int k = 0; k < n->n_subgraphs; k++) {
    ec_status st = emit_sub(c, b, cn->first_sub + k, prog, d);
    if (st) return st;
  }
  ec_buf_printf(b, "\n/* %s: ", n->op_type);
  if (n->op == EC_OP_If) ec_buf_printf(b, "runs the branch its condition picks; the outputs land in place or are copied */\n");
  else if (n->op == EC_OP_Loop) ec_buf_printf(b, "runs its body once per iteration, carried values in two buffers that swap */\n");
  else ec_buf_printf(b, "runs its body once per slice of the scanned inputs, states in two buffers that swap */\n");
  ec_buf_printf(b, "static int %s(void *c) {\n  %s *ctx = c;\n", fname, prog);
  if (n->op == EC_OP_If) emit_if(c, b, cn, n);
  else if (n->op == EC_OP_Loop) emit_loop(c, b, cn, n);
  else emit_scan(c, b, cn, n);
  ec_buf_printf(b, "}\n");
  return b->oom ? EC_ERR_INTERNAL : EC_OK;
}

ec_status ec_ctl_emit_step(const ec_ctl *c, ec_buf *b, int s, const char *fname, const char *prog, ec_diag *d) {
  for (int i = 0; c && i < c->n_nodes; i++)
    if (c->nodes[i].in_sub < 0 && c->nodes[i].step == s) return emit_node(c, b, i, fname, prog, d);
  return EC_ERR_INTERNAL;
}
