/* bridges.c — split points as S–T bridges of the operator/activation graph (iterative Tarjan),
 * the chain of blocks between them, and the explanation of why a tensor is not a cut. */
#include "bridges.h"
#include "cutq.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Vertex numbering of the search graph. */
#define V_S 0
#define V_T 1
#define V_NODE(i) (2 + (i))
#define V_TENSOR(g, t) (2 + (g)->n_nodes + (t))

typedef struct adj_entry {
  int to, edge;
} adj_entry;

static bool is_act(const ec_bridges *b, int t) {
  return t >= 0 && (b->tensor_flags[t] & EC_BR_ACTIVATION);
}
static bool is_live(const ec_bridges *b, int t) {
  return t >= 0 && (b->tensor_flags[t] & EC_BR_LIVE);
}

void ec_bridges_free(ec_bridges *b) {
  free(b->split);
  free(b->cut);
  free(b->node_block);
  free(b->tensor_flags);
  memset(b, 0, sizeof *b);
}

int ec_bridges_cut_index(const ec_bridges *b, int tensor) {
  for (int c = 0; c < b->n_cuts; c++)
    if (b->cut[c] == tensor) return c;
  return -1;
}

/* Marks activation tensors (forward from the inputs) and live ones (backward from the
 * outputs); node_live[i]: node i reads an activation and writes a live tensor. Relies on the
 * topological order, which it checks. */
static ec_status mark_tensors(const ec_graph *g, ec_bridges *b, uint8_t *node_act,
                              uint8_t *node_live, ec_diag *d) {
  for (int k = 0; k < g->n_inputs; k++) {
    int t = g->inputs[k];
    if (t >= 0 && g->tensors[t].kind != EC_TK_CONSTANT) b->tensor_flags[t] |= EC_BR_ACTIVATION;
  }
  for (int i = 0; i < g->n_nodes; i++) {
    const ec_node *n = &g->nodes[i];
    if (n->dead) continue;
    for (int k = 0; k < n->n_inputs; k++) {
      int t = n->inputs[k];
      if (!is_act(b, t)) continue;
      node_act[i] = 1;
      if (g->tensors[t].producer >= i) {
        ec_diag_set(d, g->source_path, "",
                    "internal: the graph is not in topological order (bridges need "
                    "ec_graph_toposort first)");
        return EC_ERR_INTERNAL;
      }
    }
    if (!node_act[i]) continue;
    for (int k = 0; k < n->n_outputs; k++) {
      int t = n->outputs[k];
      if (t >= 0 && g->tensors[t].kind != EC_TK_CONSTANT) b->tensor_flags[t] |= EC_BR_ACTIVATION;
    }
  }
  for (int k = 0; k < g->n_outputs; k++)
    if (is_act(b, g->outputs[k])) b->tensor_flags[g->outputs[k]] |= EC_BR_LIVE;
  for (int i = g->n_nodes - 1; i >= 0; i--) {
    const ec_node *n = &g->nodes[i];
    if (!node_act[i]) continue;
    for (int k = 0; k < n->n_outputs && !node_live[i]; k++)
      if (is_live(b, n->outputs[k])) node_live[i] = 1;
    if (!node_live[i]) continue;
    for (int k = 0; k < n->n_inputs; k++)
      if (is_act(b, n->inputs[k])) b->tensor_flags[n->inputs[k]] |= EC_BR_LIVE;
  }
  return EC_OK;
}

/* The live search graph in compressed adjacency form. edge_tensor[e] is the tensor whose
 * producer edge e is (S - input or producer - tensor), -1 for the other edges. */
typedef struct search_graph {
  int nv, ne;
  int *start;          /* nv + 1 */
  adj_entry *adj;      /* 2 * ne */
  int *edge_tensor;    /* ne */
} search_graph;

static void search_graph_free(search_graph *sg) {
  free(sg->start);
  free(sg->adj);
  free(sg->edge_tensor);
}

/* Calls add(u, v, producer_tensor) for every edge; the same walk counts and then fills. */
typedef struct edge_sink {
  search_graph *sg;
  int *fill;   /* NULL while counting */
} edge_sink;

static void put_edge(edge_sink *s, int u, int v, int tensor) {
  search_graph *sg = s->sg;
  int e = sg->ne++;
  if (!s->fill) {
    sg->start[u + 1]++;
    sg->start[v + 1]++;
    return;
  }
  sg->edge_tensor[e] = tensor;
  sg->adj[s->fill[u]++] = (adj_entry){v, e};
  sg->adj[s->fill[v]++] = (adj_entry){u, e};
}

static void walk_edges(const ec_graph *g, const ec_bridges *b, const uint8_t *node_live,
                       uint8_t *seen, edge_sink *s) {
  /* S and T are joined once per tensor even if a file lists it twice. */
  memset(seen, 0, (size_t)g->n_tensors);
  for (int k = 0; k < g->n_inputs; k++) {
    int t = g->inputs[k];
    if (is_live(b, t) && !(seen[t] & 1)) {
      seen[t] |= 1;
      put_edge(s, V_S, V_TENSOR(g, t), t);
    }
  }
  for (int i = 0; i < g->n_nodes; i++) {
    if (!node_live[i]) continue;
    const ec_node *n = &g->nodes[i];
    for (int k = 0; k < n->n_inputs; k++)
      if (is_act(b, n->inputs[k])) put_edge(s, V_TENSOR(g, n->inputs[k]), V_NODE(i), -1);
    for (int k = 0; k < n->n_outputs; k++)
      if (is_live(b, n->outputs[k])) put_edge(s, V_NODE(i), V_TENSOR(g, n->outputs[k]), n->outputs[k]);
  }
  for (int k = 0; k < g->n_outputs; k++) {
    int t = g->outputs[k];
    if (is_live(b, t) && !(seen[t] & 2)) {
      seen[t] |= 2;
      put_edge(s, V_TENSOR(g, t), V_T, -1);
    }
  }
}

static ec_status build_search_graph(const ec_graph *g, const ec_bridges *b,
                                    const uint8_t *node_live, search_graph *sg) {
  memset(sg, 0, sizeof *sg);
  sg->nv = 2 + g->n_nodes + g->n_tensors;
  sg->start = ec_alloc(sizeof(int) * ((size_t)sg->nv + 1));
  uint8_t *seen = ec_alloc((size_t)g->n_tensors + 1);
  if (!sg->start || !seen) {
    free(seen);
    return EC_ERR_INTERNAL;
  }
  edge_sink s = {sg, NULL};
  walk_edges(g, b, node_live, seen, &s);
  for (int v = 0; v < sg->nv; v++) sg->start[v + 1] += sg->start[v];
  int ne = sg->ne;
  sg->adj = ec_alloc(sizeof(adj_entry) * (2 * (size_t)ne + 1));
  sg->edge_tensor = ec_alloc(sizeof(int) * ((size_t)ne + 1));
  s.fill = ec_alloc(sizeof(int) * ((size_t)sg->nv + 1));
  if (!sg->adj || !sg->edge_tensor || !s.fill) {
    free(seen);
    free(s.fill);
    return EC_ERR_INTERNAL;
  }
  memcpy(s.fill, sg->start, sizeof(int) * (size_t)sg->nv);
  sg->ne = 0;
  walk_edges(g, b, node_live, seen, &s);
  free(seen);
  free(s.fill);
  return EC_OK;
}

/* Iterative Tarjan low-link search from S. Fills disc (-1: not reached), low, the tree parent
 * and the tree edge into each vertex. The explicit stack replaces recursion, so a long chain
 * costs heap, not call stack. Parallel edges are told apart by edge id: only the very edge a
 * vertex was entered by is skipped, so a doubled tensor - node edge closes a cycle. */
static ec_status tarjan(const search_graph *sg, int *disc, int *low, int *parent, int *pedge) {
  int *stack = ec_alloc(sizeof(int) * ((size_t)sg->nv + 1));
  int *it = ec_alloc(sizeof(int) * ((size_t)sg->nv + 1));
  if (!stack || !it) {
    free(stack), free(it);
    return EC_ERR_INTERNAL;
  }
  for (int v = 0; v < sg->nv; v++) {
    disc[v] = -1;
    parent[v] = pedge[v] = -1;
    it[v] = sg->start[v];
  }
  int timer = 0, sp = 0;
  disc[V_S] = low[V_S] = timer++;
  stack[sp++] = V_S;
  while (sp) {
    int v = stack[sp - 1];
    if (it[v] < sg->start[v + 1]) {
      adj_entry a = sg->adj[it[v]++];
      if (a.edge == pedge[v]) continue;
      if (disc[a.to] < 0) {
        disc[a.to] = low[a.to] = timer++;
        parent[a.to] = v;
        pedge[a.to] = a.edge;
        stack[sp++] = a.to;
      } else if (disc[a.to] < low[v]) {
        low[v] = disc[a.to];
      }
    } else {
      sp--;
      int p = parent[v];
      if (p >= 0 && low[v] < low[p]) low[p] = low[v];
    }
  }
  free(stack), free(it);
  return EC_OK;
}

/* Blocks: a live node's block is the number of cuts before it; every activation input of a
 * live node gives the same count (the producer edge of a cut is the only edge between its two
 * sides), so taking the maximum changes nothing for them and places dead nodes after their
 * latest input. Constant-only nodes then follow their earliest consumer. */
static void assign_blocks(const ec_graph *g, ec_bridges *b, const uint8_t *node_act,
                          int *tensor_count) {
  for (int t = 0; t < g->n_tensors; t++) tensor_count[t] = 0;
  for (int i = 0; i < g->n_nodes; i++) {
    const ec_node *n = &g->nodes[i];
    int blk = 0;
    if (node_act[i]) {
      for (int k = 0; k < n->n_inputs; k++) {
        int t = n->inputs[k];
        if (is_act(b, t) && tensor_count[t] > blk) blk = tensor_count[t];
      }
    }
    b->node_block[i] = blk;
    for (int k = 0; k < n->n_outputs; k++) {
      int t = n->outputs[k];
      if (t >= 0) tensor_count[t] = blk + ((b->tensor_flags[t] & EC_BR_CUT) ? 1 : 0);
    }
  }
  for (int i = g->n_nodes - 1; i >= 0; i--) {
    if (node_act[i] || g->nodes[i].dead) continue;
    const ec_node *n = &g->nodes[i];
    int blk = -1;
    for (int k = 0; k < n->n_outputs; k++) {
      int t = n->outputs[k];
      if (t < 0) continue;
      const ec_tensor *tt = &g->tensors[t];
      for (int c = 0; c < tt->n_consumers; c++) {
        int cb = b->node_block[tt->consumers[c]];
        if (blk < 0 || cb < blk) blk = cb;
      }
    }
    b->node_block[i] = blk < 0 ? 0 : blk;
  }
}

ec_status ec_bridges_find(const ec_graph *g, ec_bridges *b, ec_diag *d) {
  memset(b, 0, sizeof *b);
  int nn = g->n_nodes, nt = g->n_tensors;
  ec_status st = EC_ERR_INTERNAL;
  search_graph sg = {0};
  int *disc = NULL, *low = NULL, *parent = NULL, *pedge = NULL, *count = NULL;
  uint8_t *node_act = ec_alloc((size_t)nn + 1), *node_live = ec_alloc((size_t)nn + 1);
  b->tensor_flags = ec_alloc((size_t)nt + 1);
  b->node_block = ec_alloc(sizeof(int) * ((size_t)nn + 1));
  if (!node_act || !node_live || !b->tensor_flags || !b->node_block) goto oom;
  st = mark_tensors(g, b, node_act, node_live, d);
  if (st) goto done;
  st = EC_ERR_INTERNAL;
  if (build_search_graph(g, b, node_live, &sg)) goto oom;
  size_t nv = (size_t)sg.nv + 1;
  disc = malloc(sizeof(int) * nv), low = malloc(sizeof(int) * nv);
  parent = malloc(sizeof(int) * nv), pedge = malloc(sizeof(int) * nv);
  count = malloc(sizeof(int) * ((size_t)nt + 1));
  if (!disc || !low || !parent || !pedge || !count) goto oom;
  if (tarjan(&sg, disc, low, parent, pedge)) goto oom;

  b->connected = disc[V_T] >= 0;
  if (b->connected) {
    /* The S–T bridges are the bridges on the tree path from S to T: removing one of them cuts
     * that path, and nothing else joins its two sides. Walking up from T lists them from the
     * outputs back to the inputs. */
    int depth = 0;
    for (int v = V_T; v != V_S; v = parent[v]) depth++;
    b->split = malloc(sizeof(int) * ((size_t)depth + 1));
    b->cut = malloc(sizeof(int) * ((size_t)depth + 1));
    if (!b->split || !b->cut) goto oom;
    for (int v = V_T; v != V_S; v = parent[v]) {
      int p = parent[v], t = sg.edge_tensor[pedge[v]];
      if (low[v] > disc[p] && t >= 0) b->split[b->n_split++] = t;
    }
    for (int i = 0, j = b->n_split - 1; i < j; i++, j--) {
      int tmp = b->split[i];
      b->split[i] = b->split[j];
      b->split[j] = tmp;
    }
    for (int k = 0; k < b->n_split; k++) {
      int t = b->split[k];
      b->tensor_flags[t] |= EC_BR_SPLIT;
      const ec_tensor *tt = &g->tensors[t];
      bool live_consumer = false;
      for (int c = 0; c < tt->n_consumers && !live_consumer; c++)
        live_consumer = node_live[tt->consumers[c]];
      if (tt->producer >= 0 && live_consumer) {
        b->tensor_flags[t] |= EC_BR_CUT;
        b->cut[b->n_cuts++] = t;
      }
    }
  }
  b->n_blocks = b->n_cuts + 1;
  assign_blocks(g, b, node_act, count);
  for (int i = 0; i < nn; i++) {
    if (g->nodes[i].dead) continue;
    if (!node_act[i]) b->n_const_nodes++;
    else if (!node_live[i]) b->n_dead_nodes++;
  }
  st = EC_OK;
  goto done;
oom:
  st = EC_ERR_INTERNAL;
  ec_diag_set(d, g->source_path, "", "out of memory while finding split points");
done:
  free(node_act), free(node_live), free(disc), free(low), free(parent), free(pedge), free(count);
  search_graph_free(&sg);
  if (st) ec_bridges_free(b);
  return st;
}

/* ---- explanations ----------------------------------------------------------------------- */

/* A directed search from the inputs that avoids `t`; the first tensor it reaches that depends on
 * `t` is a join: report the node that reads it together with something not from `t`. */
static void describe_bypass(const ec_graph *g, const ec_bridges *b, int t, char *buf, size_t len) {
  int nt = g->n_tensors, nn = g->n_nodes;
  uint8_t *from_t = ec_alloc((size_t)nt + 1), *reach = ec_alloc((size_t)nt + 1);
  if (!from_t || !reach) {
    snprintf(buf, len, "a path from the graph inputs to the graph outputs avoids '%s'",
             g->tensors[t].name);
    free(from_t), free(reach);
    return;
  }
  from_t[t] = 1;
  for (int i = 0; i < nn; i++) {
    const ec_node *n = &g->nodes[i];
    bool hit = false;
    for (int k = 0; k < n->n_inputs && !hit; k++) hit = n->inputs[k] >= 0 && from_t[n->inputs[k]];
    for (int k = 0; hit && k < n->n_outputs; k++)
      if (n->outputs[k] >= 0) from_t[n->outputs[k]] = 1;
  }
  for (int k = 0; k < g->n_inputs; k++)
    if (is_live(b, g->inputs[k]) && g->inputs[k] != t) reach[g->inputs[k]] = 1;
  for (int i = 0; i < nn; i++) {
    const ec_node *n = &g->nodes[i];
    bool live = false;
    for (int k = 0; k < n->n_outputs && !live; k++) live = is_live(b, n->outputs[k]);
    if (!live) continue;
    int via = -1;
    bool joins = false;
    for (int k = 0; k < n->n_inputs; k++) {
      int u = n->inputs[k];
      if (u < 0 || !is_live(b, u)) continue;
      if (from_t[u]) joins = true;
      else if (reach[u] && via < 0) via = u;
    }
    if (via < 0) continue;
    if (joins) {
      char where[600];
      ec_node_describe(g, n, where, sizeof where);
      snprintf(buf, len, "%s reads '%s', which does not come through '%s'", where,
               g->tensors[via].name, g->tensors[t].name);
      free(from_t), free(reach);
      return;
    }
    for (int k = 0; k < n->n_outputs; k++)
      if (n->outputs[k] >= 0) reach[n->outputs[k]] = 1;
  }
  for (int k = 0; k < g->n_outputs; k++) {
    int o = g->outputs[k];
    if (is_live(b, o) && reach[o] && !from_t[o]) {
      snprintf(buf, len, "graph output '%s' does not depend on '%s'", g->tensors[o].name,
               g->tensors[t].name);
      free(from_t), free(reach);
      return;
    }
  }
  snprintf(buf, len, "a path from the graph inputs to the graph outputs avoids '%s'",
           g->tensors[t].name);
  free(from_t), free(reach);
}

bool ec_bridges_why_not(const ec_graph *g, const ec_bridges *b, int t, char *buf, size_t len) {
  if (t < 0 || t >= g->n_tensors) {
    snprintf(buf, len, "no such tensor");
    return true;
  }
  uint8_t f = b->tensor_flags[t];
  const char *name = g->tensors[t].name;
  if (f & EC_BR_CUT) return false;
  if (!(f & EC_BR_ACTIVATION))
    snprintf(buf, len, "'%s' is a %s: it does not depend on any graph input", name,
             g->tensors[t].kind == EC_TK_CONSTANT ? "constant (a weight or folded value)"
                                                  : "tensor computed from constants only");
  else if (!(f & EC_BR_LIVE))
    snprintf(buf, len, "'%s' does not lead to any graph output", name);
  else if ((f & EC_BR_SPLIT) && g->tensors[t].producer < 0)
    snprintf(buf, len, "'%s' is a graph input: cutting there leaves an empty partition", name);
  else if (f & EC_BR_SPLIT)
    snprintf(buf, len, "'%s' is the graph output: cutting there leaves an empty partition", name);
  else {
    char why[1200];
    describe_bypass(g, b, t, why, sizeof why);
    snprintf(buf, len, "'%s' is not a split point: not every path from the inputs to the outputs "
             "passes through it (%s)", name, why);
  }
  return true;
}

ec_status ec_bridges_resolve_cuts(const ec_graph *g, const ec_bridges *b,
                                  const char *const *names, int n, int *cuts_out, ec_diag *d) {
  for (int k = 0; k < n; k++) {
    int t = ec_graph_find(g, names[k]);
    if (t < 0) {
      ec_diag_set(d, g->source_path, "", "--split-at: the model has no tensor named '%s'",
                  names[k]);
      return EC_ERR_USAGE;
    }
    /* In an int8 program the cut at a float tensor travels as the int8 tensor it is quantized
     * to or dequantized from: the same values, a quarter of the bytes (cutq.h). */
    int q = ec_cut_int8_of(g, b, t);
    if (q >= 0) t = q;
    char why[1536];
    if (ec_bridges_why_not(g, b, t, why, sizeof why)) {
      ec_diag_set(d, g->source_path, "", "--split-at: %s", why);
      return EC_ERR_USAGE;
    }
    int c = ec_bridges_cut_index(b, t);
    /* Insertion keeps the list sorted; n is a handful of names. */
    int j = k;
    while (j > 0 && cuts_out[j - 1] > c) cuts_out[j] = cuts_out[j - 1], j--;
    if (j > 0 && cuts_out[j - 1] == c) {
      ec_diag_set(d, g->source_path, "", "--split-at: '%s' is given twice", names[k]);
      return EC_ERR_USAGE;
    }
    cuts_out[j] = c;
  }
  return EC_OK;
}

void ec_bridges_block_weights(const ec_graph *g, const ec_bridges *b, double *out) {
  for (int k = 0; k < b->n_blocks; k++) out[k] = 0;
  /* Nodes of one block are not always adjacent in the order (constant-only nodes), so they are
   * grouped by a counting sort first; last[t] then marks the block that already visited t. A
   * tensor computed from constants only (Identity on a weight) stands for the weights it is
   * computed from: the block needs those too, wherever its producer was placed. */
  int nn = g->n_nodes, nt = g->n_tensors;
  int *first = ec_alloc(sizeof(int) * ((size_t)b->n_blocks + 2));
  int *order = malloc(sizeof(int) * ((size_t)nn + 1));
  int *last = malloc(sizeof(int) * ((size_t)nt + 1));
  int *stack = malloc(sizeof(int) * ((size_t)nt + 1));
  if (!first || !order || !last || !stack) {
    free(first), free(order), free(last), free(stack);
    return;
  }
  for (int i = 0; i < nn; i++) first[b->node_block[i] + 1]++;
  for (int k = 0; k < b->n_blocks; k++) first[k + 1] += first[k];
  for (int i = 0; i < nn; i++) order[first[b->node_block[i]]++] = i;
  for (int t = 0; t < nt; t++) last[t] = -1;
  for (int j = 0; j < nn; j++) {
    const ec_node *n = &g->nodes[order[j]];
    int blk = b->node_block[order[j]];
    if (n->dead) continue;
    int sp = 0;
    for (int k = 0; k < n->n_inputs; k++) {
      int t = n->inputs[k];
      if (t >= 0 && !is_act(b, t) && last[t] != blk) last[t] = blk, stack[sp++] = t;
    }
    while (sp) {
      const ec_tensor *tt = &g->tensors[stack[--sp]];
      if (tt->kind == EC_TK_CONSTANT) {
        out[blk] += (double)tt->nbytes;
        continue;
      }
      if (tt->producer < 0) continue;
      const ec_node *p = &g->nodes[tt->producer];
      for (int k = 0; k < p->n_inputs; k++) {
        int t = p->inputs[k];
        if (t >= 0 && !is_act(b, t) && last[t] != blk) last[t] = blk, stack[sp++] = t;
      }
    }
  }
  free(first), free(order), free(last), free(stack);
}
