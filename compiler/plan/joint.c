/* joint.c — the joint plan of several merged models (plan.h's ec_plan_joint, tree.h): the tree of
 * blocks of the merged graph, its costs, the tree DP, and the partitions that carry its choice. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "joint.h"
#include "tree.h"

void ec_plan_joint_free(ec_plan_joint *j) {
  for (int k = 0; k < j->n_blocks; k++) {
    if (j->first) free(j->first[k]);
    if (j->last) free(j->last[k]);
  }
  free(j->parent), free(j->models), free(j->n_nodes), free(j->first), free(j->last);
  free(j->device_free), free(j->device);
  memset(j, 0, sizeof *j);
}

static bool is_act(const ec_bridges *br, int t) { return t >= 0 && (br->tensor_flags[t] & EC_BR_ACTIVATION); }

/* A node reading no activation (it computes from weights only). */
static bool const_only(const ec_graph *g, const ec_bridges *br, int i) {
  const ec_node *n = &g->nodes[i];
  for (int k = 0; k < n->n_inputs; k++)
    if (is_act(br, n->inputs[k])) return false;
  return true;
}

typedef struct jctx {
  const ec_graph *g;
  const ec_device_list *devs;
  const ec_plan_opts *o;
  const ec_bridges *br;
  int M, D, TB, N;
  uint32_t o_all;    /* every model's bit */
  uint32_t *nmask;   /* per node */
  int *tb;           /* per node: tree block (-1: dead) */
  int *first_of;     /* per block: its first node */
  const uint8_t *gone;
  ec_tree_problem p;
  double *compute, *need, *edge, *w, *a, *rv, *sd, *ob, *cap, *edge_bytes;
  int *parent;
} jctx;

static void say(ec_plan_joint *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(ec_plan_joint *j, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(j->why, sizeof j->why, fmt, ap);
  va_end(ap);
}

/* Per node, the models whose outputs it leads to. */
static void node_masks(jctx *c) {
  const ec_graph *g = c->g;
  uint32_t *tm = ec_alloc(sizeof(uint32_t) * ((size_t)g->n_tensors + 1));
  if (!tm) return;
  ec_graph_tensor_models(g, tm);
  for (int i = 0; i < g->n_nodes; i++) {
    const ec_node *n = &g->nodes[i];
    for (int k = 0; !n->dead && k < n->n_outputs; k++)
      if (n->outputs[k] >= 0) c->nmask[i] |= tm[n->outputs[k]];
  }
  free(tm);
}

/* Tree blocks: nodes with the same models and, in each of those models' own chain of blocks
 * (bridges between the inputs and that model's outputs), the same block. Returns false (why
 * said) when the blocks form no tree. */
static bool make_blocks(jctx *c, ec_plan_joint *j, bool *oom) {
  const ec_graph *g = c->g;
  int M = c->M, N = g->n_nodes;
  ec_bridges *bm = ec_alloc(sizeof(ec_bridges) * (size_t)M);
  int *keys = ec_alloc(sizeof(int) * ((size_t)N + 1) * (size_t)(M + 1));
  int *outs = ec_alloc(sizeof(int) * ((size_t)g->n_outputs + 1));
  bool ok = bm && keys && outs;
  *oom = !ok;
  int made = 0;
  for (int m = 0; ok && m < M; m++, made++) {
    ec_graph gm = *g;
    gm.n_outputs = 0;
    gm.outputs = outs;
    for (int k = 0; k < g->n_outputs; k++)
      if (g->output_model[k] == m) outs[gm.n_outputs++] = g->outputs[k];
    ec_diag d;
    memset(&d, 0, sizeof d);
    if (ec_bridges_find(&gm, &bm[m], &d)) {
      say(j, "model %s's split points: %s", g->model_names[m], d.msg);
      ok = false;
      break;
    }
    ec_plan_drop_lowered_cuts(&gm, c->gone, c->o, &bm[m]);
  }
  /* Keys of the nodes that read an activation; the others follow their first reader. */
  for (int i = 0; ok && i < N; i++) {
    c->tb[i] = -1;
    if (g->nodes[i].dead || const_only(g, c->br, i)) continue;
    if (!c->nmask[i]) {
      say(j, "node '%s' leads to no model's output", g->nodes[i].name ? g->nodes[i].name : "?");
      ok = false;
      break;
    }
    int *k = keys + (size_t)i * (M + 1);
    k[0] = (int)c->nmask[i];
    for (int m = 0; m < M; m++) k[m + 1] = c->nmask[i] >> m & 1 ? bm[m].node_block[i] : -1;
    int b = 0;
    for (; b < c->TB; b++) {
      int rep = c->first_of[b];
      if (memcmp(keys + (size_t)rep * (M + 1), k, sizeof(int) * (size_t)(M + 1)) == 0) break;
    }
    if (b == c->TB) c->first_of[c->TB++] = i;
    c->tb[i] = b;
  }
  for (int i = N - 1; ok && i >= 0; i--) {
    if (g->nodes[i].dead || c->tb[i] >= 0) continue;
    int best = -1;
    const ec_node *n = &g->nodes[i];
    for (int k = 0; k < n->n_outputs; k++) {
      int t = n->outputs[k];
      for (int u = 0; t >= 0 && u < g->tensors[t].n_consumers; u++) {
        int r = g->tensors[t].consumers[u];
        if (!g->nodes[r].dead && c->tb[r] >= 0 && (best < 0 || r < best)) best = r;
      }
    }
    c->tb[i] = best >= 0 ? c->tb[best] : 0;
  }
  for (int m = 0; bm && m < made; m++) ec_bridges_free(&bm[m]);
  free(bm), free(keys), free(outs);
  return ok;
}

/* Each block's parent: the one block whose activations it reads (none for a root, which reads
 * graph inputs only). False (why said) when a block reads two blocks, or a block and an input. */
static bool find_parents(jctx *c, ec_plan_joint *j) {
  const ec_graph *g = c->g;
  for (int b = 0; b < c->TB; b++) c->parent[b] = -2;
  uint8_t *reads_input = ec_alloc((size_t)c->TB + 1);
  if (!reads_input) return false;
  bool ok = true;
  for (int i = 0; ok && i < g->n_nodes; i++) {
    const ec_node *n = &g->nodes[i];
    if (n->dead || const_only(g, c->br, i)) continue;
    int b = c->tb[i];
    for (int k = 0; ok && k < n->n_inputs; k++) {
      int t = n->inputs[k];
      if (!is_act(c->br, t)) continue;
      int pr = g->tensors[t].producer;
      if (pr < 0) {
        reads_input[b] = 1;
        continue;
      }
      int pb = c->tb[pr];
      if (pb == b) continue;
      if (c->parent[b] != -2 && c->parent[b] != pb) {
        say(j, "the blocks form no tree: '%s' reads blocks starting at '%s' and '%s'", n->name ? n->name : "?",
            g->nodes[c->first_of[c->parent[b]]].name, g->nodes[c->first_of[pb]].name);
        ok = false;
      }
      c->parent[b] = pb;
    }
  }
  for (int b = 0; ok && b < c->TB; b++) {
    if (c->parent[b] == -2) c->parent[b] = -1;
    else if (reads_input[b]) {
      say(j, "the blocks form no tree: the block starting at '%s' reads a graph input and another block",
          g->nodes[c->first_of[b]].name);
      ok = false;
    } else if (c->parent[b] >= b) {
      say(j, "the blocks form no tree in the graph's order (block %d reads block %d)", b, c->parent[b]);
      ok = false;
    }
  }
  free(reads_input);
  return ok;
}

static double pad_bytes(const ec_graph *g, int t, int slots) {
  return slots ? ec_plan_staging_bytes(g, &t, 1, NULL, 0) : ec_plan_staging_bytes(g, NULL, 0, &t, 1);
}

/* The tree problem's numbers. */
static void costs(jctx *c, const double *node_ms) {
  const ec_graph *g = c->g;
  int D = c->D, TB = c->TB;
  for (int i = 0; i < g->n_nodes; i++) {
    if (g->nodes[i].dead) continue;
    for (int v = 0; v < D; v++) c->compute[(size_t)c->tb[i] * D + v] += node_ms[(size_t)i * D + v];
  }
  ec_bridges fake = *c->br;
  fake.node_block = c->tb;
  fake.n_blocks = TB;
  int *nb = malloc(sizeof(int) * ((size_t)g->n_nodes + 1));
  if (nb) {
    for (int i = 0; i < g->n_nodes; i++) nb[i] = c->tb[i] < 0 ? 0 : c->tb[i];
    fake.node_block = nb;
    ec_bridges_block_weights(g, &fake, c->w);
    ec_plan_block_arenas(g, &fake, c->gone, c->a);
    free(nb);
  }
  /* Received tensors (each once per block), sent ones, graph outputs. */
  int *last = malloc(sizeof(int) * ((size_t)g->n_tensors + 1));
  for (int t = 0; last && t < g->n_tensors; t++) last[t] = -1;
  for (int i = 0; last && i < g->n_nodes; i++) {
    const ec_node *n = &g->nodes[i];
    if (n->dead || const_only(g, c->br, i)) continue;
    int b = c->tb[i];
    for (int k = 0; k < n->n_inputs; k++) {
      int t = n->inputs[k];
      if (!is_act(c->br, t) || last[t] == b) continue;
      int pr = g->tensors[t].producer;
      if (pr >= 0 && c->tb[pr] == b) continue;
      last[t] = b;
      c->rv[b] += pad_bytes(g, t, 1);
      if (pr >= 0) {
        c->sd[b] += pad_bytes(g, t, 0);
        c->edge_bytes[b] += ec_plan_tensor_bytes(&g->tensors[t]);
      }
    }
  }
  free(last);
  for (int k = 0; k < g->n_outputs; k++) {
    int pr = g->tensors[g->outputs[k]].producer;
    if (pr >= 0 && c->tb[pr] >= 0) c->ob[c->tb[pr]] += pad_bytes(g, g->outputs[k], 0);
  }
  for (int b = 0; b < TB; b++) {
    uint32_t m = 0;
    for (int i = 0; i < g->n_nodes; i++)
      if (c->tb[i] == b && !g->nodes[i].dead) m |= c->nmask[i];
    c->need[b] = 1;
    if (c->o->mix) {
      c->need[b] = 0;
      for (int k = 0; k < c->M; k++)
        if (m >> k & 1) c->need[b] += c->o->mix[k];
    }
    for (int e = 0; e < D; e++)
      for (int v = e + 1; v < D; v++)
        c->edge[((size_t)b * D + e) * D + v] =
            ec_transfer_ms(ec_link_between(c->o->links, &c->devs->items[e], &c->devs->items[v]), c->edge_bytes[b]);
  }
  for (int v = 0; v < D; v++) c->cap[v] = (double)c->devs->items[v].target->ram_mb * 1048576.0;
}

/* One partition per device the placement uses, in the list's order (part_dev: their devices,
 * node_part: each node's); as a chain would cut them. False when out of memory. */
static bool device_parts(jctx *c, const int *bdev, ec_part *parts, int *n_parts, int *part_dev, int *node_part,
                         bool *oom) {
  const ec_graph *g = c->g;
  int rank[64], P = 0;
  for (int v = 0; v < c->D; v++) rank[v] = -1;
  for (int b = 0; b < c->TB; b++) rank[bdev[b]] = 0;
  for (int v = 0; v < c->D; v++)
    if (rank[v] == 0) part_dev[P] = v, rank[v] = P++;
  for (int i = 0; i < g->n_nodes; i++) node_part[i] = c->tb[i] < 0 ? 0 : rank[bdev[c->tb[i]]];
  ec_bridges fake = *c->br;
  fake.node_block = node_part;
  fake.n_blocks = P;
  *n_parts = 0;
  for (int k = 0; k < P; k++) {
    if (ec_plan_make_part(g, &fake, k, k + 1, k, &parts[k])) {
      *oom = true;
      return false;
    }
    *n_parts = k + 1;
  }
  return true;
}

/* The partitions of a placement (used devices in order), if a chain can run them: each partition
 * reads only what the one before it sends, graph inputs only the first, and the last returns every
 * model's outputs. False (why said) otherwise; parts are then freed. */
static bool chain_parts(jctx *c, const int *bdev, ec_part *parts, int *n_parts, int *part_dev, int *node_part,
                        ec_plan_joint *j, bool *oom) {
  const ec_graph *g = c->g;
  bool ok = device_parts(c, bdev, parts, n_parts, part_dev, node_part, oom);
  int P = *n_parts;
  for (int k = 1; ok && k < P; k++) {
    const ec_part *q = &parts[k], *prev = &parts[k - 1];
    for (int x = 0; ok && x < q->n_inputs; x++) {
      int t = q->inputs[x], pr = g->tensors[t].producer;
      bool sent = false;
      for (int y = 0; y < prev->n_outputs; y++) sent |= prev->outputs[y] == t;
      if (sent && pr >= 0 && node_part[pr] == k - 1) continue;
      ok = false;
      if (pr < 0)
        say(j, "graph input '%s' is read on %s, not only on the first device", g->tensors[t].name,
            c->devs->items[part_dev[k]].name);
      else if (g->tensors[t].is_output)
        say(j, "output '%s' would be computed on %s, not on the last device (%s), which returns every model's "
            "outputs", g->tensors[t].name, c->devs->items[part_dev[node_part[pr]]].name,
            c->devs->items[part_dev[P - 1]].name);
      else
        say(j, "'%s' would travel from %s to %s past %s: a chain forwards only what its partitions compute",
            g->tensors[t].name, c->devs->items[part_dev[node_part[pr]]].name, c->devs->items[part_dev[k]].name,
            c->devs->items[part_dev[k - 1]].name);
    }
  }
  if (!ok)
    for (int k = 0; k < *n_parts; k++) ec_part_free(&parts[k]);
  return ok;
}

/* The partitions of a placement as a tree (after chain_parts refused it; parts made again): each
 * partition but the first receives everything from one earlier partition (its parent) and
 * nothing else, and its inputs are exactly the parent's outputs that are not graph outputs, in
 * order (a partition returns its graph outputs upstream and sends the rest to every branch); the
 * branches of one partition, and the partition itself, answer disjoint sets of models. parent[k] and models[k] (the models whose outputs
 * partition k's subtree returns) are filled. False (why said) otherwise; parts are then freed. */
static bool tree_parts(jctx *c, const int *bdev, ec_part *parts, int *n_parts, int *part_dev, int *node_part,
                       int *parent, uint32_t *models, ec_plan_joint *j, bool *oom) {
  const ec_graph *g = c->g;
  bool ok = device_parts(c, bdev, parts, n_parts, part_dev, node_part, oom);
  int P = *n_parts;
  /* A chain's last partition passes every graph output through; a tree's partitions each return
   * the graph outputs they compute (and read only what their nodes read), then what they send. */
  int *keep = ok ? ec_alloc(sizeof(int) * ((size_t)g->n_tensors + 1)) : NULL;
  if (ok && !keep) *oom = true, ok = false;
  for (int k = 0; ok && k < P; k++) {
    ec_part *q = &parts[k];
    int n = 0;
    for (int x = 0; x < q->n_inputs; x++) {
      int t = q->inputs[x];
      bool read = k == 0 && g->tensors[t].producer < 0;
      for (int u = 0; !read && u < g->tensors[t].n_consumers; u++) {
        int r = g->tensors[t].consumers[u];
        read = !g->nodes[r].dead && node_part[r] == k;
      }
      if (read) q->inputs[n++] = t;
    }
    q->n_inputs = n;
    n = 0;
    for (int o = 0; o < g->n_outputs; o++) {
      int pr = g->tensors[g->outputs[o]].producer;
      if (pr >= 0 && node_part[pr] == k) keep[n++] = g->outputs[o];
    }
    for (int x = 0; x < q->n_outputs; x++)
      if (!g->tensors[q->outputs[x]].is_output) keep[n++] = q->outputs[x];
    memcpy(q->outputs, keep, sizeof(int) * (size_t)n);
    q->n_outputs = n;
  }
  free(keep);
  for (int k = 0; ok && k < P; k++) {
    const ec_part *q = &parts[k];
    parent[k] = -1;
    models[k] = 0;
    for (int x = 0; ok && x < q->n_inputs; x++) {
      int t = q->inputs[x], pr = g->tensors[t].producer;
      int from = pr >= 0 ? node_part[pr] : -1;
      if (x == 0) parent[k] = from;
      if (from != parent[k] || (k > 0 && from < 0) || (k == 0 && from >= 0)) {
        say(j, "partition %d on %s reads '%s' from %s: a tree's partition receives from one partition only",
            k, c->devs->items[part_dev[k]].name, g->tensors[t].name,
            from < 0 ? "the graph inputs" : c->devs->items[part_dev[from]].name);
        ok = false;
      }
    }
    if (ok && k > 0) {
      /* The runtime sends the parent's outputs that are not graph outputs, in order. */
      const ec_part *pa = &parts[parent[k]];
      int y = 0;
      bool same = true;
      for (int x = 0; same && x < pa->n_outputs; x++) {
        if (g->tensors[pa->outputs[x]].is_output) continue;
        same = y < q->n_inputs && q->inputs[y++] == pa->outputs[x];
      }
      for (int x = 0; same && x < q->n_inputs; x++) same = !g->tensors[q->inputs[x]].is_output;
      if (!same || y != q->n_inputs) {
        say(j, "partition %d on %s reads only part of what %s sends: a tree's branches each take all of it", k,
            c->devs->items[part_dev[k]].name, c->devs->items[part_dev[parent[k]]].name);
        ok = false;
      }
    }
  }
  for (int k = 0; ok && k < P; k++)
    for (int x = 0; x < parts[k].n_outputs; x++) {
      int t = parts[k].outputs[x];
      for (int o = 0; o < g->n_outputs; o++)
        if (g->outputs[o] == t && g->output_model[o] >= 0) models[k] |= 1u << g->output_model[o];
    }
  for (int k = P - 1; ok && k > 0; k--) {
    if (models[parent[k]] & models[k]) {
      say(j, "two branches of partition %d return one model's outputs", parent[k]);
      ok = false;
    }
    models[parent[k]] |= models[k];
  }
  if (ok && P > 0 && models[0] != c->o_all) {
    say(j, "the tree's partitions do not return every model's outputs");
    ok = false;
  }
  if (!ok)
    for (int k = 0; k < *n_parts; k++) ec_part_free(&parts[k]);
  return ok;
}

/* Model m's predicted latency under a placement: its blocks' compute, and the transfers into
 * those on another device than their parent. */
static double model_ms(const jctx *c, const int *bdev, uint32_t models_of_b(const jctx *, int), int m) {
  double s = 0;
  for (int b = 0; b < c->TB; b++) {
    if (!(models_of_b(c, b) >> m & 1)) continue;
    s += c->compute[(size_t)b * c->D + bdev[b]];
    int pa = c->parent[b];
    if (pa >= 0 && bdev[pa] != bdev[b]) s += c->edge[((size_t)b * c->D + bdev[pa]) * c->D + bdev[b]];
  }
  return s;
}

static uint32_t block_models(const jctx *c, int b) {
  uint32_t m = 0;
  for (int i = 0; i < c->g->n_nodes; i++)
    if (c->tb[i] == b && !c->g->nodes[i].dead) m |= c->nmask[i];
  return m;
}

/* Fills the plan's partitions and figures from parts (chain_parts) of placement bdev. */
static ec_status carry_out(jctx *c, const int *bdev, ec_part *parts, int P, const int *part_dev, const int *node_part,
                           const int *parent, const uint32_t *models, const uint8_t *node_prof, const double *node_ms,
                           ec_plan *out) {
  const ec_graph *g = c->g;
  int D = c->D;
  out->parts = ec_alloc(sizeof(ec_plan_part) * (size_t)(P + 1));
  if (!out->parts) return EC_ERR_INTERNAL;
  for (int v = 0; v < D; v++) out->device_part[v] = -1;
  out->n_blocks = c->TB;
  out->n_cuts = P - 1;
  out->latency_ms = out->bottleneck_ms = 0;
  for (int k = 0; k < P; k++) {
    ec_plan_part *q = &out->parts[k];
    int v = part_dev[k];
    q->device = v;
    q->parent = parent ? parent[k] : k - 1;
    q->models = parent ? models[k] : 0;
    q->first_block = k, q->end_block = k + 1;
    for (int b = 0; b < c->TB; b++)
      if (bdev[b] == v) {
        q->compute_ms += c->compute[(size_t)b * D + v];
        q->weights_bytes += c->w[b];
        if (c->a[b] > q->arena_estimate_bytes) q->arena_estimate_bytes = c->a[b];
      }
    for (int i = 0; i < g->n_nodes; i++)
      if (!g->nodes[i].dead && c->tb[i] >= 0 && node_part[i] == k && node_prof[(size_t)i * D + v])
        q->profiled_nodes++, q->profiled_ms += node_ms[(size_t)i * D + v];
    q->part = parts[k];
    q->planned_nodes = q->part.n_nodes;
    q->staging_bytes = ec_plan_staging_bytes(g, q->part.inputs, q->part.n_inputs, q->part.outputs, q->part.n_outputs);
    /* What it sends, to each partition it feeds (a chain: the next one). */
    for (int n = k + 1; n < P; n++) {
      if ((parent ? parent[n] : n - 1) != k) continue;
      double bytes = 0;
      for (int x = 0; x < q->part.n_outputs; x++) bytes += ec_plan_tensor_bytes(&g->tensors[q->part.outputs[x]]);
      q->bytes_out += bytes;
      q->transfer_ms += ec_transfer_ms(ec_link_between(c->o->links, &c->devs->items[v], &c->devs->items[part_dev[n]]),
                                       bytes);
    }
    out->device_part[v] = k;
    out->latency_ms += q->compute_ms + q->transfer_ms;
    if (q->compute_ms > out->bottleneck_ms) out->bottleneck_ms = q->compute_ms;
    if (q->transfer_ms > out->bottleneck_ms) out->bottleneck_ms = q->transfer_ms;
    out->n_parts = k + 1;
  }
  out->throughput_rps = out->bottleneck_ms > 0 ? 1000.0 / out->bottleneck_ms : 0;
  return EC_OK;
}

ec_status ec_plan_joint_build(const ec_graph *g, const ec_device_list *devs, const ec_plan_opts *o,
                              const ec_bridges *br, const uint8_t *gone, const double *node_ms,
                              const uint8_t *node_prof, ec_plan *out, bool *done) {
  *done = false;
  ec_plan_joint *j = &out->joint;
  j->tried = true;
  jctx c;
  memset(&c, 0, sizeof c);
  c.g = g, c.devs = devs, c.o = o, c.br = br, c.gone = gone;
  c.M = g->n_models, c.D = devs->n, c.N = g->n_nodes;
  c.o_all = g->n_models >= 32 ? 0xffffffffu : (1u << g->n_models) - 1u;
  size_t N = (size_t)g->n_nodes + 1, D = (size_t)devs->n;
  c.nmask = ec_alloc(sizeof(uint32_t) * N);
  c.tb = ec_alloc(sizeof(int) * N);
  c.first_of = ec_alloc(sizeof(int) * N);
  int *node_part = ec_alloc(sizeof(int) * N);
  ec_part *parts = ec_alloc(sizeof(ec_part) * (D + 1));
  int *part_dev = ec_alloc(sizeof(int) * (D + 1));
  int *tparent = ec_alloc(sizeof(int) * (D + 1));
  uint32_t *tmodels = ec_alloc(sizeof(uint32_t) * (D + 1));
  ec_status st = EC_OK;
  bool oom = !c.nmask || !c.tb || !c.first_of || !node_part || !parts || !part_dev || !tparent || !tmodels;
  if (oom || c.M > 32 || c.D > 16) {
    if (!oom) say(j, "more than 32 models or 16 devices");
    goto out;
  }
  node_masks(&c);
  if (!make_blocks(&c, j, &oom) || oom) goto out;
  size_t B = (size_t)c.TB + 1;
  c.parent = ec_alloc(sizeof(int) * B);
  c.compute = ec_alloc(sizeof(double) * B * D);
  c.need = ec_alloc(sizeof(double) * B);
  c.edge = ec_alloc(sizeof(double) * B * D * D);
  c.w = ec_alloc(sizeof(double) * B), c.a = ec_alloc(sizeof(double) * B);
  c.rv = ec_alloc(sizeof(double) * B), c.sd = ec_alloc(sizeof(double) * B), c.ob = ec_alloc(sizeof(double) * B);
  c.edge_bytes = ec_alloc(sizeof(double) * B);
  c.cap = ec_alloc(sizeof(double) * D);
  j->parent = ec_alloc(sizeof(int) * B);
  j->models = ec_alloc(sizeof(uint32_t) * B);
  j->n_nodes = ec_alloc(sizeof(int) * B);
  j->first = ec_alloc(sizeof(char *) * B);
  j->last = ec_alloc(sizeof(char *) * B);
  int *first_node = ec_alloc(sizeof(int) * B), *last_node = ec_alloc(sizeof(int) * B);
  int *bdev = ec_alloc(sizeof(int) * B);
  oom = !c.parent || !c.compute || !c.need || !c.edge || !c.w || !c.a || !c.rv || !c.sd || !c.ob || !c.edge_bytes ||
        !c.cap || !j->parent || !j->models || !j->n_nodes || !j->first || !j->last || !first_node || !last_node || !bdev;
  if (oom) goto out2;
  if (!find_parents(&c, j)) goto out2;
  costs(&c, node_ms);
  for (int b = 0; b < c.TB; b++) {
    j->parent[b] = c.parent[b];
    j->models[b] = block_models(&c, b);
    first_node[b] = -1;
  }
  for (int i = 0; i < g->n_nodes; i++) {
    int b = c.tb[i];
    if (g->nodes[i].dead || b < 0 || const_only(g, br, i)) continue;
    j->n_nodes[b]++;
    if (first_node[b] < 0) first_node[b] = i;
    last_node[b] = i;
  }
  j->n_blocks = c.TB;
  for (int b = 0; b < c.TB; b++) {
    const char *f = first_node[b] >= 0 ? g->nodes[first_node[b]].name : NULL;
    const char *l = first_node[b] >= 0 ? g->nodes[last_node[b]].name : NULL;
    j->first[b] = ec_strdup(f ? f : "");
    j->last[b] = ec_strdup(l ? l : "");
    if (!j->first[b] || !j->last[b]) oom = true;
  }
  if (oom) goto out2;
  ec_tree_problem p = {.n_blocks = c.TB, .n_devices = c.D, .parent = c.parent, .compute = c.compute,
                       .need = c.need, .edge_ms = c.edge, .weight_bytes = c.w, .arena_bytes = c.a,
                       .recv_bytes = c.rv, .send_bytes = c.sd, .out_bytes = c.ob, .capacity = c.cap,
                       .objective = o->objective ? EC_OBJ_THROUGHPUT : EC_OBJ_LATENCY};
  for (int pass = 0; pass < 2 && !*done; pass++) {
    p.leaves_together = pass == 1;
    ec_tree_plan tp;
    ec_diag d;
    memset(&d, 0, sizeof d);
    st = ec_tree_solve(&p, &tp, &d);
    j->states += tp.states;
    if (st == EC_ERR_INTERNAL) goto out2;
    if (st) {
      st = EC_OK;
      if (pass == 0) say(j, "%s", d.msg);
      else {
        size_t l = strlen(j->why);
        snprintf(j->why + l, sizeof j->why - l, "; with every output on one device: %s", d.msg);
      }
      break;
    }
    double objv = p.objective == EC_OBJ_THROUGHPUT ? tp.bottleneck : tp.latency;
    if (pass == 0) {
      j->device_free = ec_alloc(sizeof(int) * B);
      if (!j->device_free) {
        ec_tree_plan_free(&tp);
        oom = true;
        goto out2;
      }
      memcpy(j->device_free, tp.block_device, sizeof(int) * (size_t)c.TB);
      j->objective_free = objv;
    }
    memcpy(bdev, tp.block_device, sizeof(int) * (size_t)c.TB);
    ec_tree_plan_free(&tp);
    int P = 0;
    char why[EC_JOINT_WHY_MAX];
    memcpy(why, j->why, sizeof why);
    bool tree = false, chain = chain_parts(&c, bdev, parts, &P, part_dev, node_part, j, &oom);
    if (oom) goto out2;
    if (!chain && pass == 0) {
      /* Not a chain: a tree of partitions (a partition sending to several) may run it. */
      char chain_why[EC_JOINT_WHY_MAX];
      memcpy(chain_why, j->why, sizeof chain_why);
      tree = tree_parts(&c, bdev, parts, &P, part_dev, node_part, tparent, tmodels, j, &oom);
      if (oom) goto out2;
      if (!tree) {
        char mine[EC_JOINT_WHY_MAX];
        memcpy(mine, j->why, sizeof mine);
        snprintf(j->why, sizeof j->why, "%.110s; as a tree: %.110s", chain_why, mine);
      }
    }
    if (!chain && !tree) {
      if (pass == 1) { /* keep the free choice's reason, add this one's */
        char mine[EC_JOINT_WHY_MAX];
        memcpy(mine, j->why, sizeof mine);
        snprintf(j->why, sizeof j->why, "%.100s; with every output on one device: %.100s", why, mine);
      }
      continue;
    }
    st = carry_out(&c, bdev, parts, P, part_dev, node_part, tree ? tparent : NULL, tree ? tmodels : NULL, node_prof,
                   node_ms, out);
    if (st) {
      for (int k = 0; k < P; k++) ec_part_free(&parts[k]);
      goto out2;
    }
    j->device = ec_alloc(sizeof(int) * B);
    if (!j->device) {
      oom = true;
      goto out2;
    }
    memcpy(j->device, bdev, sizeof(int) * (size_t)c.TB);
    j->objective = objv;
    j->leaves_together = pass == 1;
    out->tree = tree;
    if (pass == 0) j->why[0] = 0;
    *done = true;
  }
  for (int m = 0; m < c.M; m++) {
    const int *pl = j->device ? j->device : j->device_free;
    j->model_latency_ms[m] = pl ? model_ms(&c, pl, block_models, m) : 0;
  }
out2:
  free(c.parent), free(c.compute), free(c.need), free(c.edge), free(c.w), free(c.a), free(c.rv), free(c.sd);
  free(c.ob), free(c.edge_bytes), free(c.cap), free(bdev), free(first_node), free(last_node);
out:
  free(c.nmask), free(c.tb), free(c.first_of), free(node_part), free(parts), free(part_dev), free(tparent), free(tmodels);
  if (oom) return EC_ERR_INTERNAL;
  return st;
}

static void models_str(const ec_graph *g, uint32_t mask, ec_buf *b) {
  for (int m = 0, k = 0; m < g->n_models; m++)
    if (mask >> m & 1) ec_buf_printf(b, "%s%s", k++ ? "," : "", g->model_names[m]);
}

void ec_plan_joint_text(const ec_graph *g, const ec_device_list *devs, const ec_plan *p, ec_buf *b) {
  const ec_plan_joint *j = &p->joint;
  if (!j->tried) return;
  ec_buf_printf(b, "\njoint plan of %d models: ", g->n_models);
  if (p->mix) {
    ec_buf_printf(b, "--mix ");
    for (int m = 0; m < g->n_models; m++) ec_buf_printf(b, "%s%s=%g", m ? "," : "", g->model_names[m], p->mix[m]);
    ec_buf_printf(b, " (objective %s, per request drawn from the mix)\n",
                  p->objective ? "slowest stage" : "expected latency");
  } else {
    ec_buf_printf(b, "no --mix (objective %s of a request to every model)\n",
                  p->objective ? "slowest stage" : "latency");
  }
  if (!j->n_blocks) {
    ec_buf_printf(b, "  no tree of blocks (%s): the chain plan above\n", j->why);
    return;
  }
  ec_buf_printf(b, "  %d blocks in a tree (trunk, then each model's head), %ld Pareto states kept\n", j->n_blocks,
                j->states);
  for (int pass = 0; pass < 2; pass++) {
    const int *pl = pass ? j->device : j->device_free;
    if (!pl || (pass && j->device_free && !j->leaves_together)) continue;
    ec_buf_printf(b, "  %s:", pass ? "carried out, every model's outputs on one device" : "tree DP's choice");
    for (int v = 0; v < devs->n; v++) {
      uint32_t ms = 0;
      int n = 0;
      for (int k = 0; k < j->n_blocks; k++)
        if (pl[k] == v) n++, ms |= j->models[k];
      if (!n) continue;
      ec_buf_printf(b, " %s %d block%s (", devs->items[v].name, n, n == 1 ? "" : "s");
      models_str(g, ms, b);
      ec_buf_printf(b, ");");
    }
    ec_buf_printf(b, " %s %.3f ms\n", p->objective ? "slowest stage" : p->mix ? "expected latency" : "latency",
                  pass ? j->objective : j->objective_free);
  }
  if (!j->device_free) ec_buf_printf(b, "  no placement of the tree fits: %s; the chain plan above\n", j->why);
  else if (!j->why[0])
    ec_buf_printf(b, "  carried out as the partitions above%s\n",
                  p->tree ? ", a tree (each partition's parent and --next: plan.json, README.md)" : "");
  else if (j->device) ec_buf_printf(b, "  the choice is not carried out (%s)\n", j->why);
  else ec_buf_printf(b, "  not carried out (%s): the chain plan above\n", j->why);
  ec_buf_printf(b, "  predicted latency per model:");
  for (int m = 0; m < g->n_models; m++)
    ec_buf_printf(b, "%s %s %.3f ms", m ? "," : "", g->model_names[m], j->model_latency_ms[m]);
  ec_buf_printf(b, "\n");
}

void ec_plan_joint_json(const ec_graph *g, const ec_device_list *devs, const ec_plan *p, ec_buf *b) {
  const ec_plan_joint *j = &p->joint;
  if (!j->tried) return;
  ec_buf_printf(b, ",\n  \"joint\": {\n    \"mix\": ");
  if (p->mix) {
    ec_buf_printf(b, "{");
    for (int m = 0; m < g->n_models; m++) {
      ec_buf_printf(b, "%s", m ? ", " : "");
      ec_buf_json_str(b, g->model_names[m]);
      ec_buf_printf(b, ": %.6g", p->mix[m]);
    }
    ec_buf_printf(b, "}");
  } else {
    ec_buf_printf(b, "null");
  }
  const char *carried = !j->device ? "chain" : j->leaves_together ? "outputs_together" : "tree";
  ec_buf_printf(b, ",\n    \"carried_out\": \"%s\",\n    \"why\": ", carried);
  ec_buf_json_str(b, j->why);
  ec_buf_printf(b, ",\n    \"pareto_states\": %ld,\n    \"objective_free\": %.6g,\n    \"objective\": %.6g,"
                "\n    \"predicted_model_latency_ms\": {", j->states, j->objective_free, j->objective);
  for (int m = 0; m < g->n_models; m++) {
    ec_buf_printf(b, "%s", m ? ", " : "");
    ec_buf_json_str(b, g->model_names[m]);
    ec_buf_printf(b, ": %.6g", j->model_latency_ms[m]);
  }
  ec_buf_printf(b, "},\n    \"blocks\": [");
  for (int k = 0; k < j->n_blocks; k++) {
    ec_buf_printf(b, "%s\n      {\"index\": %d, \"parent\": %d, \"models\": \"", k ? "," : "", k, j->parent[k]);
    models_str(g, j->models[k], b);
    ec_buf_printf(b, "\", \"nodes\": %d, \"first\": ", j->n_nodes[k]);
    ec_buf_json_str(b, j->first[k]);
    ec_buf_printf(b, ", \"last\": ");
    ec_buf_json_str(b, j->last[k]);
    ec_buf_printf(b, ", \"device_free\": ");
    if (j->device_free) ec_buf_json_str(b, devs->items[j->device_free[k]].name);
    else ec_buf_printf(b, "null");
    ec_buf_printf(b, ", \"device\": ");
    if (j->device) ec_buf_json_str(b, devs->items[j->device[k]].name);
    else ec_buf_printf(b, "null");
    ec_buf_printf(b, "}");
  }
  ec_buf_printf(b, "%s]\n  }", j->n_blocks ? "\n    " : "");
}
