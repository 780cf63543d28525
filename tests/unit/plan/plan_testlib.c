/* plan_testlib.c — graph building helpers and the brute-force split-point search used by the
 * planner's tests (independent of bridges.c: plain directed reachability). */
#include "plan_testlib.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "op.h"

static void die(const char *what) {
  fprintf(stderr, "plan test helper: %s\n", what);
  exit(1);
}

static void append(int **list, int *n, int v) {
  int *p = realloc(*list, sizeof(int) * ((size_t)*n + 1));
  if (!p) die("out of memory");
  p[(*n)++] = v;
  *list = p;
}

static void set_shape(ec_tensor *t) {
  t->dtype = ECK_FLOAT;
  t->rank = 2;
  t->dims[0] = 1;
  t->dims[1] = 4;
}

int tl_input(ec_graph *g, const char *name) {
  int t = ec_graph_tensor(g, name);
  if (t < 0) die("tensor");
  set_shape(&g->tensors[t]);
  g->tensors[t].kind = EC_TK_INPUT;
  append(&g->inputs, &g->n_inputs, t);
  return t;
}

int tl_const(ec_graph *g, const char *name) {
  int t = ec_graph_tensor(g, name);
  if (t < 0) die("tensor");
  set_shape(&g->tensors[t]);
  float v[4] = {1, 2, 3, 4};
  if (ec_tensor_set_data(&g->tensors[t], v, sizeof v, false)) die("data");
  return t;
}

int tl_node(ec_graph *g, const char *op, const char *name, const int *in, int n_in,
            const char *const *outs, int n_out) {
  int n = ec_graph_add_node(g, op, "", name);
  if (n < 0) die("node");
  g->nodes[n].op = ec_op_find(op, "");
  int o[8];
  if (n_out > 8) die("too many outputs");
  for (int k = 0; k < n_out; k++) {
    o[k] = ec_graph_tensor(g, outs[k]);
    if (o[k] < 0) die("tensor");
    set_shape(&g->tensors[o[k]]);
  }
  if (ec_node_set_inputs(g, n, in, n_in) || ec_node_set_outputs(g, n, o, n_out)) die("io");
  return o[0];
}

int tl_op1(ec_graph *g, const char *op, const char *out, int a) {
  const char *outs[1] = {out};
  return tl_node(g, op, out, &a, 1, outs, 1);
}

int tl_op2(ec_graph *g, const char *op, const char *out, int a, int b) {
  const char *outs[1] = {out};
  int in[2] = {a, b};
  return tl_node(g, op, out, in, 2, outs, 1);
}

void tl_output(ec_graph *g, int t) {
  append(&g->outputs, &g->n_outputs, t);
  g->tensors[t].is_output = true;
}

void tl_finish(ec_graph *g) {
  ec_diag d = {0};
  if (ec_graph_toposort(g, &d)) die(d.msg);
}

/* Directed reachability from the graph inputs, skipping tensor `skip`. reach_t (tensors) is
 * filled; returns whether a graph output is reached. A node fires when any input is reached. */
static bool reaches_output(const ec_graph *g, int skip, uint8_t *reach_t, uint8_t *reach_n,
                           int *queue) {
  memset(reach_t, 0, (size_t)g->n_tensors);
  memset(reach_n, 0, (size_t)g->n_nodes);
  int qh = 0, qt = 0;
  for (int k = 0; k < g->n_inputs; k++) {
    int t = g->inputs[k];
    if (t == skip || g->tensors[t].kind == EC_TK_CONSTANT || reach_t[t]) continue;
    reach_t[t] = 1;
    queue[qt++] = t;
  }
  while (qh < qt) {
    const ec_tensor *tt = &g->tensors[queue[qh++]];
    for (int c = 0; c < tt->n_consumers; c++) {
      int ni = tt->consumers[c];
      if (reach_n[ni] || g->nodes[ni].dead) continue;
      reach_n[ni] = 1;
      const ec_node *n = &g->nodes[ni];
      for (int k = 0; k < n->n_outputs; k++) {
        int o = n->outputs[k];
        if (o < 0 || o == skip || reach_t[o] || g->tensors[o].kind == EC_TK_CONSTANT) continue;
        reach_t[o] = 1;
        queue[qt++] = o;
      }
    }
  }
  for (int k = 0; k < g->n_outputs; k++)
    if (reach_t[g->outputs[k]]) return true;
  return false;
}

int tl_brute_splits(const ec_graph *g, uint8_t *split) {
  uint8_t *base = calloc((size_t)g->n_tensors + 1, 1), *rt = calloc((size_t)g->n_tensors + 1, 1);
  uint8_t *rn = calloc((size_t)g->n_nodes + 1, 1);
  int *queue = malloc(sizeof(int) * ((size_t)g->n_tensors + 1));
  if (!base || !rt || !rn || !queue) die("out of memory");
  memset(split, 0, (size_t)g->n_tensors);
  int count = 0;
  if (reaches_output(g, -1, base, rn, queue)) {
    for (int t = 0; t < g->n_tensors; t++) {
      if (!base[t]) continue;
      if (!reaches_output(g, t, rt, rn, queue)) split[t] = 1, count++;
    }
  }
  free(base), free(rt), free(rn), free(queue);
  return count;
}

bool tl_check_bridges(const ec_graph *g, const ec_bridges *b) {
  uint8_t *brute = calloc((size_t)g->n_tensors + 1, 1);
  if (!brute) die("out of memory");
  int nb = tl_brute_splits(g, brute);
  bool ok = true;
  if (nb != b->n_split) {
    fprintf(stderr, "brute force finds %d split points, bridges %d\n", nb, b->n_split);
    ok = false;
  }
  for (int t = 0; t < g->n_tensors && ok; t++) {
    bool br = (b->tensor_flags[t] & EC_BR_SPLIT) != 0;
    if (br != (brute[t] != 0)) {
      fprintf(stderr, "tensor '%s': brute force says %s, bridges say %s\n", g->tensors[t].name,
              brute[t] ? "split" : "not split", br ? "split" : "not split");
      ok = false;
    }
  }
  free(brute);
  /* Split points in input-to-output order: producers strictly increase. */
  for (int k = 1; k < b->n_split && ok; k++) {
    int p0 = g->tensors[b->split[k - 1]].producer, p1 = g->tensors[b->split[k]].producer;
    if (p1 <= p0) {
      fprintf(stderr, "split points out of order at %d ('%s' then '%s')\n", k,
              g->tensors[b->split[k - 1]].name, g->tensors[b->split[k]].name);
      ok = false;
    }
  }
  if (b->n_blocks != b->n_cuts + 1) ok = false;
  /* Blocks: a live node reads activations only from its own block, or the cut just before it. */
  int last_live_block = 0;
  for (int i = 0; i < g->n_nodes && ok; i++) {
    const ec_node *n = &g->nodes[i];
    int blk = b->node_block[i];
    if (blk < 0 || blk >= b->n_blocks) {
      fprintf(stderr, "node %d has block %d of %d\n", i, blk, b->n_blocks);
      ok = false;
      break;
    }
    bool live = false;
    for (int k = 0; k < n->n_outputs; k++)
      if (n->outputs[k] >= 0 && (b->tensor_flags[n->outputs[k]] & EC_BR_LIVE)) live = true;
    if (!live) continue;
    if (blk < last_live_block) {
      fprintf(stderr, "live node %d goes back to block %d after %d\n", i, blk, last_live_block);
      ok = false;
    }
    last_live_block = blk;
    for (int k = 0; k < n->n_inputs; k++) {
      int t = n->inputs[k];
      if (t < 0 || !(b->tensor_flags[t] & EC_BR_ACTIVATION)) continue;
      int p = g->tensors[t].producer;
      int pb = p >= 0 ? b->node_block[p] : 0;
      if (pb == blk) continue;
      if (!(pb + 1 == blk && p >= 0 && b->cut[pb] == t)) {
        fprintf(stderr, "node %d (block %d) reads '%s' from block %d, which is not the cut\n", i,
                blk, g->tensors[t].name, pb);
        ok = false;
      }
    }
  }
  for (int c = 0; c < b->n_cuts && ok; c++) {
    int p = g->tensors[b->cut[c]].producer;
    if (p < 0 || b->node_block[p] != c) {
      fprintf(stderr, "cut %d '%s' is not produced in block %d\n", c, g->tensors[b->cut[c]].name, c);
      ok = false;
    }
  }
  return ok;
}

double tl_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
