/* plan.c — from a graph and a device list to partitions: node costs per device (cost.h), the chain
 * of blocks between split points (bridges.h), the partition DP (partition.h), and per partition
 * the nodes it runs with the tensors it receives and sends. Also the plan as text for people
 * (`edgecc plan`'s table, why a device stays unused), which codegen's README.md reuses. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "partition.h"

#include "bridges.h"
#include "cutq.h"
#include "ecrt.h"
#include "joint.h"
#include "plan.h"

_Static_assert(EC_PLAN_LATENCY == EC_OBJ_LATENCY && EC_PLAN_THROUGHPUT == EC_OBJ_THROUGHPUT,
               "plan.h objectives follow partition.h");

double ec_plan_tensor_bytes(const ec_tensor *t) {
  int64_t n = ec_tensor_numel(t);
  return n < 0 ? 0 : (double)n * (double)ec_dtype_size(t->dtype);
}

/* Padding codegen's memory plan adds per buffer: the runtime's read slack, then its alignment. */
static double padded(double bytes) { return ceil((bytes + ECRT_SLACK) / ECRT_ALIGN) * ECRT_ALIGN; }

/* A tensor that a partition must be handed: not a weight or folded constant. */
static bool is_value(const ec_graph *g, int t) {
  return t >= 0 && g->tensors[t].kind != EC_TK_CONSTANT;
}

double ec_plan_staging_bytes(const ec_graph *g, const int *ins, int n_ins, const int *outs, int n_outs) {
  double b = 0;
  for (int i = 0; i < n_ins; i++) b += EC_PLAN_STAGING_SLOTS * padded(ec_plan_tensor_bytes(&g->tensors[ins[i]]));
  for (int i = 0; i < n_outs; i++) b += padded(ec_plan_tensor_bytes(&g->tensors[outs[i]]));
  return b;
}

/* Per block, the staging a partition starting there receives into (block 0: the graph inputs)
 * and the buffer one ending there sends from (the last block: the graph outputs). */
static void block_staging(const ec_graph *g, const ec_bridges *br, double *recv, double *send) {
  int B = br->n_blocks;
  recv[0] = 0;
  for (int j = 0; j < g->n_inputs; j++)
    if (is_value(g, g->inputs[j])) recv[0] += ec_plan_staging_bytes(g, &g->inputs[j], 1, NULL, 0);
  for (int b = 1; b < B; b++) recv[b] = ec_plan_staging_bytes(g, &br->cut[b - 1], 1, NULL, 0);
  for (int b = 0; b + 1 < B; b++) send[b] = ec_plan_staging_bytes(g, NULL, 0, &br->cut[b], 1);
  send[B - 1] = ec_plan_staging_bytes(g, NULL, 0, g->outputs, g->n_outputs);
}

/* Arena estimate per block: the largest sum of live activation buffers over the block's
 * schedule, tensors live from their producer (or the block's start) to their last reader in
 * the block (or its end, for the cut it sends on and the graph outputs); tensors lowering will
 * remove (gone, may be NULL) take no bytes. */
void ec_plan_block_arenas(const ec_graph *g, const ec_bridges *br, const uint8_t *gone, double *out) {
  int *first = ec_alloc(sizeof(int) * (size_t)(g->n_tensors + 1));
  int *last = ec_alloc(sizeof(int) * (size_t)(g->n_tensors + 1));
  double *delta = ec_alloc(sizeof(double) * (size_t)(g->n_nodes + 2));
  if (!first || !last || !delta) goto done;
  for (int b = 0; b < br->n_blocks; b++) {
    out[b] = 0;
    int lo = -1, hi = -1;
    for (int i = 0; i < g->n_nodes; i++)
      if (!g->nodes[i].dead && br->node_block[i] == b) {
        if (lo < 0) lo = i;
        hi = i;
      }
    if (lo < 0) continue;
    for (int t = 0; t < g->n_tensors; t++) first[t] = last[t] = -1;
    for (int i = lo; i <= hi; i++) {
      const ec_node *n = &g->nodes[i];
      if (n->dead || br->node_block[i] != b) continue;
      for (int k = 0; k < n->n_inputs; k++) {
        int t = n->inputs[k];
        if (!is_value(g, t)) continue;
        if (first[t] < 0) first[t] = lo;
        last[t] = i;
      }
      for (int k = 0; k < n->n_outputs; k++) {
        int t = n->outputs[k];
        if (t < 0) continue;
        if (first[t] < 0) first[t] = i;
        if (last[t] < i) last[t] = i;
        bool leaves = g->tensors[t].is_output;
        for (int c = 0; c < g->tensors[t].n_consumers; c++) {
          int u = g->tensors[t].consumers[c];
          if (!g->nodes[u].dead && br->node_block[u] != b) leaves = true;
        }
        if (leaves) last[t] = hi;
      }
    }
    for (int i = 0; i <= hi - lo + 1; i++) delta[i] = 0;
    for (int t = 0; t < g->n_tensors; t++)
      if (first[t] >= 0 && !(gone && gone[t])) {
        double sz = padded(ec_plan_tensor_bytes(&g->tensors[t]));
        delta[first[t] - lo] += sz;
        delta[last[t] - lo + 1] -= sz;
      }
    double live = 0;
    for (int i = 0; i <= hi - lo; i++) {
      live += delta[i];
      if (live > out[b]) out[b] = live;
    }
  }
done:
  free(first);
  free(last);
  free(delta);
}

typedef struct transfer_ctx {
  const ec_device_list *devs;
  const ec_link_set *links;
  const double *cut_bytes;
} transfer_ctx;

static double transfer(void *ctx, int cut, int from, int to) {
  const transfer_ctx *c = ctx;
  ec_link l = ec_link_between(c->links, &c->devs->items[from], &c->devs->items[to]);
  return ec_transfer_ms(l, c->cut_bytes[cut]);
}

/* Partition k's nodes (its blocks' live nodes, plus the constant-only nodes they need, which
 * every partition computes for itself), the values it reads from outside, and the values it
 * hands on (graph outputs, and tensors later partitions read). */
ec_status ec_plan_make_part(const ec_graph *g, const ec_bridges *br, int first, int end, int k, ec_part *p) {
  memset(p, 0, sizeof *p);
  p->index = k;
  uint8_t *in_part = ec_alloc((size_t)g->n_nodes + 1);
  uint8_t *seen = ec_alloc((size_t)g->n_tensors + 1);
  p->nodes = ec_alloc(sizeof(int) * (size_t)(g->n_nodes + 1));
  p->inputs = ec_alloc(sizeof(int) * (size_t)(g->n_tensors + 1));
  p->outputs = ec_alloc(sizeof(int) * (size_t)(g->n_tensors + 1));
  ec_status st = in_part && seen && p->nodes && p->inputs && p->outputs ? EC_OK : EC_ERR_INTERNAL;
  if (st) goto done;
  for (int i = 0; i < g->n_nodes; i++)
    in_part[i] = !g->nodes[i].dead && br->node_block[i] >= first && br->node_block[i] < end;
  /* Constant-only producers, transitively: walk backwards in topological order. */
  for (int i = g->n_nodes - 1; i >= 0; i--) {
    if (!in_part[i]) continue;
    const ec_node *n = &g->nodes[i];
    for (int c = 0; c < n->n_inputs; c++) {
      int t = n->inputs[c];
      if (t < 0) continue;
      int pr = g->tensors[t].producer;
      if (pr >= 0 && !in_part[pr] && !g->nodes[pr].dead && !(br->tensor_flags[t] & EC_BR_ACTIVATION))
        in_part[pr] = 1;
    }
  }
  for (int i = 0; i < g->n_nodes; i++)
    if (in_part[i]) p->nodes[p->n_nodes++] = i;
  /* Inputs: graph inputs in graph order, then other values read from outside, by index. */
  bool last = end == br->n_blocks;
  for (int pass = 0; pass < 2; pass++)
    for (int j = 0; j < (pass ? g->n_tensors : g->n_inputs); j++) {
      int t = pass ? j : g->inputs[j];
      if (seen[t] || !is_value(g, t)) continue;
      int pr = g->tensors[t].producer;
      if (pr >= 0 && in_part[pr]) continue;
      /* The first partition takes every graph input, read or not, like the whole graph does:
       * the program's interface follows the model's. */
      bool read = (last && g->tensors[t].is_output) || (first == 0 && pass == 0);
      for (int c = 0; !read && c < g->tensors[t].n_consumers; c++) read = in_part[g->tensors[t].consumers[c]];
      if (!read) continue;
      seen[t] = 1;
      p->inputs[p->n_inputs++] = t;
    }
  /* Outputs: the last partition returns the graph outputs in order; the others, every value
   * they produce that a node of a later partition reads. */
  if (last) {
    for (int j = 0; j < g->n_outputs; j++) p->outputs[p->n_outputs++] = g->outputs[j];
  } else {
    for (int t = 0; t < g->n_tensors; t++) {
      int pr = g->tensors[t].producer;
      if (pr < 0 || !in_part[pr]) continue;
      bool sent = false;
      for (int c = 0; !sent && c < g->tensors[t].n_consumers; c++) {
        int u = g->tensors[t].consumers[c];
        sent = !g->nodes[u].dead && !in_part[u] && br->node_block[u] >= end;
      }
      if (sent) p->outputs[p->n_outputs++] = t;
    }
  }
done:
  free(in_part);
  free(seen);
  if (st) ec_part_free(p);
  return st;
}

/* FNV-1a, 64-bit: a stable hash of the plan's decisions (not of any path or time). */
static uint64_t fnv(uint64_t h, const void *p, size_t n) {
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001b3ull;
  return h;
}

static uint64_t hash_tensors(uint64_t h, const ec_graph *g, const int *ts, int n) {
  for (int i = 0; i < n; i++) {
    const ec_tensor *t = &g->tensors[ts[i]];
    h = fnv(h, t->name, strlen(t->name) + 1);
    h = fnv(h, &t->dtype, sizeof t->dtype);
    for (int k = 0; k < t->rank; k++) h = fnv(h, &t->dims[k], sizeof t->dims[k]);
  }
  return h;
}

static uint64_t plan_id(const ec_graph *g, const ec_device_list *devs, const ec_plan *p) {
  uint64_t h = fnv(0xcbf29ce484222325ull, g->sha256, sizeof g->sha256);
  /* --max-trip-count is in the generated code (the loop's bound check, named as given). */
  for (int i = 0; i < g->n_trip_bounds; i++) {
    h = fnv(h, g->trip_bounds[i].node, strlen(g->trip_bounds[i].node) + 1);
    h = fnv(h, &g->trip_bounds[i].max, sizeof g->trip_bounds[i].max);
  }
  /* --mix weighs the joint plan: programs planned under another mix refuse these. */
  for (int m = 0; p->mix && m < g->n_models; m++) h = fnv(h, &p->mix[m], sizeof p->mix[m]);
  for (int k = 0; k < p->n_parts; k++) {
    const ec_plan_part *q = &p->parts[k];
    h = fnv(h, devs->items[q->device].name, strlen(devs->items[q->device].name) + 1);
    h = fnv(h, &q->part.n_nodes, sizeof q->part.n_nodes);
    for (int s = 0; s < q->part.n_nodes; s++) h = fnv(h, &g->nodes[q->part.nodes[s]].index, sizeof(int));
    h = hash_tensors(h, g, q->part.inputs, q->part.n_inputs);
    h = fnv(h, "->", 2);
    h = hash_tensors(h, g, q->part.outputs, q->part.n_outputs);
    if (p->tree) h = fnv(h, &q->parent, sizeof q->parent), h = fnv(h, &q->models, sizeof q->models);
  }
  return h ? h : 1;
}

static void plan_alternatives(const ec_graph *g, const ec_device_list *devs, const ec_plan_opts *o, ec_plan *p);

/* The plan comes before lowering: per tensor, 1 when lowering for the fast kernels will leave no
 * such tensor (a Conv's output that a Relu fuses into, the 5-D tensors inside a channel shuffle:
 * ec_cost_lowered_away), when some device has them; NULL when none has. */
static uint8_t *lowered_away(const ec_graph *g, const ec_device_list *devs, const ec_plan_opts *o, bool *oom) {
  bool fast = false;
  for (int v = 0; v < devs->n; v++)
    fast |= o->klib == EC_KLIB_XNNPACK && ec_target_has_kernels(devs->items[v].target, o->klib);
  uint8_t *gone = fast ? ec_alloc((size_t)g->n_tensors + 1) : NULL;
  *oom = fast && !gone;
  for (int t = 0; gone && t < g->n_tensors; t++) gone[t] = ec_cost_lowered_away(g, t);
  return gone;
}

/* A cut at a tensor lowering removes is offered to no plan: it would keep lowering from fusing
 * there, for no fewer bytes on the link. The blocks on either side become one. A tensor
 * --split-at names stays a cut. */
void ec_plan_drop_lowered_cuts(const ec_graph *g, const uint8_t *gone, const ec_plan_opts *o, ec_bridges *br) {
  int kept = 0;
  for (int c = 0; c < br->n_cuts; c++) {
    int t = br->cut[c];
    bool named = ec_cut_named(g, br, t, o->split_at, o->n_split_at);
    if (named || !gone || !gone[t]) {
      br->cut[kept++] = t;
      continue;
    }
    /* The cut joined blocks kept and kept + 1 as numbered now: the later ones move down. */
    br->tensor_flags[t] &= (uint8_t)~EC_BR_CUT;
    for (int i = 0; i < g->n_nodes; i++)
      if (br->node_block[i] > kept) br->node_block[i]--;
  }
  br->n_cuts = kept;
  br->n_blocks = kept + 1;
}

void ec_plan_identify(const ec_graph *g, const ec_device_list *devs, ec_plan *p) { p->id = plan_id(g, devs, p); }

void ec_plan_record(ec_graph *g, const ec_plan *p) {
  for (int i = 0; i < g->n_nodes; i++) g->nodes[i].partition = g->nodes[i].device = -1;
  /* A constant-only node every partition that reads it computes for itself: the first one's. */
  for (int k = 0; k < p->n_parts; k++)
    for (int s = 0; s < p->parts[k].part.n_nodes; s++) {
      ec_node *n = &g->nodes[p->parts[k].part.nodes[s]];
      if (n->partition >= 0) continue;
      n->partition = k;
      n->device = p->parts[k].device;
    }
}

ec_status ec_plan_build(const ec_graph *g, const ec_device_list *devs, const ec_plan_opts *o,
                        ec_plan *out, ec_diag *d) {
  memset(out, 0, sizeof *out);
  ec_bridges br;
  ec_status st = ec_bridges_find(g, &br, d);
  if (st) return st;
  bool oom;
  uint8_t *gone = lowered_away(g, devs, o, &oom);
  ec_plan_drop_lowered_cuts(g, gone, o, &br);
  int B = br.n_blocks, D = devs->n;
  double *compute = ec_alloc(sizeof(double) * (size_t)B * (size_t)D + 8);
  double *cut_bytes = ec_alloc(sizeof(double) * (size_t)B + 8);
  double *weights = ec_alloc(sizeof(double) * (size_t)B + 8);
  double *arenas = ec_alloc(sizeof(double) * (size_t)B + 8);
  double *recv = ec_alloc(sizeof(double) * (size_t)B + 8);
  double *send = ec_alloc(sizeof(double) * (size_t)B + 8);
  /* Per block and device: profiled nodes and their measured ms. */
  double *prof_ms = ec_alloc(sizeof(double) * (size_t)B * (size_t)D + 8);
  int *prof_n = ec_alloc(sizeof(int) * (size_t)B * (size_t)D + 8);
  ec_profile_match *pm = ec_alloc(sizeof(ec_profile_match) * (size_t)D + 8);
  out->profile_matched = ec_alloc(sizeof(int) * (size_t)D + 8);
  out->profile_unmatched = ec_alloc(sizeof(int) * (size_t)D + 8);
  double *cap = ec_alloc(sizeof(double) * (size_t)D + 8);
  const char **dnames = ec_alloc(sizeof(char *) * (size_t)D + 8);
  const char **cnames = ec_alloc(sizeof(char *) * (size_t)B + 8);
  int *forced = ec_alloc(sizeof(int) * (size_t)(o->n_split_at + 1));
  out->device_whole_ms = ec_alloc(sizeof(double) * (size_t)D + 8);
  out->device_part = ec_alloc(sizeof(int) * (size_t)D + 8);
  /* Several models: each node's time per device, for the joint plan's tree of blocks. */
  bool joint = g->n_models >= 2 && !o->n_split_at && !o->n_parts;
  double *node_ms = joint ? ec_alloc(sizeof(double) * ((size_t)g->n_nodes + 1) * (size_t)D) : NULL;
  uint8_t *node_prof = joint ? ec_alloc(((size_t)g->n_nodes + 1) * (size_t)D) : NULL;
  ec_part_plan pp;
  memset(&pp, 0, sizeof pp);
  out->mix = o->mix;
  if (joint && (!node_ms || !node_prof)) oom = true;
  if (!compute || !cut_bytes || !weights || !arenas || !recv || !send || !prof_ms || !prof_n || !pm ||
      !out->profile_matched || !out->profile_unmatched || !cap || !dnames || !cnames || !forced ||
      !out->device_whole_ms || !out->device_part || oom) {
    st = EC_ERR_INTERNAL;
    goto done;
  }
  out->n_devices = D;
  out->n_blocks = B;
  out->n_cuts = br.n_cuts;
  out->objective = o->objective;
  out->profiles = o->profiles;
  for (int v = 0; o->profiles && v < D; v++)
    if (o->profiles[v]) {
      if ((st = ec_profile_match_graph(o->profiles[v], g, &pm[v]))) goto done;
      out->profile_matched[v] = pm[v].n_matched;
      out->profile_unmatched[v] = pm[v].n_unmatched_steps;
    }
  /* A node the device's profile has costs its measured time: the step of a node includes the
   * nodes lowering fused into it, which are dead here and cost nothing. */
  for (int i = 0; i < g->n_nodes; i++) {
    const ec_node *n = &g->nodes[i];
    if (n->dead) continue;
    for (int v = 0; v < D; v++) {
      const ec_target *t = devs->items[v].target;
      unsigned klib = ec_target_has_kernels(t, o->klib) ? o->klib : EC_KLIB_REF;
      size_t at = (size_t)br.node_block[i] * (size_t)D + (size_t)v;
      double ms;
      if (pm[v].node_ms && pm[v].node_ms[i] >= 0) {
        ms = pm[v].node_ms[i];
        prof_ms[at] += ms;
        prof_n[at]++;
      } else {
        ms = ec_cost_node(g, n, t, o->threads, klib).ms;
      }
      compute[at] += ms;
      out->device_whole_ms[v] += ms;
      if (node_ms) {
        node_ms[(size_t)i * (size_t)D + (size_t)v] = ms;
        node_prof[(size_t)i * (size_t)D + (size_t)v] = pm[v].node_ms && pm[v].node_ms[i] >= 0;
      }
    }
  }
  for (int c = 0; c < br.n_cuts; c++) {
    cut_bytes[c] = ec_plan_tensor_bytes(&g->tensors[br.cut[c]]);
    cnames[c] = g->tensors[br.cut[c]].name;
  }
  ec_bridges_block_weights(g, &br, weights);
  ec_plan_block_arenas(g, &br, gone, arenas);
  block_staging(g, &br, recv, send);
  for (int v = 0; v < D; v++) {
    cap[v] = (double)devs->items[v].target->ram_mb * 1048576.0;
    dnames[v] = devs->items[v].name;
  }
  if (o->n_split_at) {
    st = ec_bridges_resolve_cuts(g, &br, o->split_at, o->n_split_at, forced, d);
    if (st) goto done;
  }
  transfer_ctx tc = {devs, o->links, cut_bytes};
  ec_part_problem prob = {
      .n_blocks = B, .n_devices = D, .compute = compute, .cut_bytes = cut_bytes,
      .transfer = transfer, .transfer_ctx = &tc, .block_weight_bytes = weights,
      .block_arena_bytes = arenas, .recv_bytes = recv, .send_bytes = send,
      .device_capacity = cap, .device_names = dnames,
      .cut_names = cnames, .objective = o->objective ? EC_OBJ_THROUGHPUT : EC_OBJ_LATENCY,
      .n_parts = o->n_parts, .forced_cuts = o->n_split_at ? forced : NULL,
      .n_forced_cuts = o->n_split_at};
  bool done_joint = false;
  if (joint && (st = ec_plan_joint_build(g, devs, o, &br, gone, node_ms, node_prof, out, &done_joint))) goto done;
  if (done_joint) goto planned;
  st = ec_partition_plan(&prob, &pp, d);
  if (st) {
    if (!d->file[0]) snprintf(d->file, sizeof d->file, "%s", g->source_path ? g->source_path : "");
    goto done;
  }
  out->parts = ec_alloc(sizeof(ec_plan_part) * (size_t)(pp.n_parts + 1));
  if (!out->parts) {
    st = EC_ERR_INTERNAL;
    goto done;
  }
  for (int v = 0; v < D; v++) out->device_part[v] = -1;
  out->latency_ms = pp.latency;
  out->bottleneck_ms = pp.bottleneck;
  out->throughput_rps = pp.bottleneck > 0 ? 1000.0 / pp.bottleneck : 0;
  for (int k = 0; k < pp.n_parts; k++) {
    ec_plan_part *q = &out->parts[k];
    const ec_dp_part *dp = &pp.parts[k];
    q->device = dp->device;
    q->parent = k - 1;
    q->first_block = dp->first_block;
    q->end_block = dp->end_block;
    q->compute_ms = dp->compute;
    q->transfer_ms = dp->transfer_out;
    q->bytes_out = dp->end_block < B ? cut_bytes[dp->end_block - 1] : 0;
    q->staging_bytes = dp->staging;
    for (int b = dp->first_block; b < dp->end_block; b++) {
      q->weights_bytes += weights[b];
      if (arenas[b] > q->arena_estimate_bytes) q->arena_estimate_bytes = arenas[b];
      q->profiled_nodes += prof_n[(size_t)b * (size_t)D + (size_t)dp->device];
      q->profiled_ms += prof_ms[(size_t)b * (size_t)D + (size_t)dp->device];
    }
    out->device_part[dp->device] = k;
    st = ec_plan_make_part(g, &br, dp->first_block, dp->end_block, k, &q->part);
    if (st) goto done;
    q->planned_nodes = q->part.n_nodes;
    out->n_parts = k + 1;
  }
planned:
  out->id = plan_id(g, devs, out);
  out->parallel = o->parallel;
  st = ec_plan_clusters(g, devs, o, out);
  if (st) goto done;
  if (!o->no_alternatives) plan_alternatives(g, devs, o, out);
done:
  if (st == EC_ERR_INTERNAL && !d->msg[0]) ec_diag_set(d, g->source_path, "", "out of memory while planning");
  ec_part_plan_free(&pp);
  ec_bridges_free(&br);
  free(compute);
  free(cut_bytes);
  free(weights);
  free(arenas);
  free(recv);
  free(send);
  free(prof_ms);
  free(prof_n);
  for (int v = 0; pm && v < D; v++) ec_profile_match_free(&pm[v]);
  free(pm);
  free(cap);
  free(dnames);
  free(cnames);
  free(forced);
  free(gone);
  free(node_ms);
  free(node_prof);
  if (st) ec_plan_free(out);
  return st;
}

/* Plans with the other objective and with more partitions, kept only when they place a partition
 * on a device this plan leaves unused. A plan the options cannot meet (memory, --split-at) is no
 * alternative, and is dropped with its diagnostic. */
static void plan_alternatives(const ec_graph *g, const ec_device_list *devs, const ec_plan_opts *o, ec_plan *p) {
  uint64_t unused = 0;
  for (int v = 0; v < devs->n && v < 64; v++)
    if (p->device_part[v] < 0) unused |= (uint64_t)1 << v;
  if (!unused) return;
  for (int n = 0; n <= devs->n; n++) {
    ec_plan_opts ao = *o;
    ao.no_alternatives = true;
    if (n == 0) {
      ao.objective = o->objective == EC_PLAN_LATENCY ? EC_PLAN_THROUGHPUT : EC_PLAN_LATENCY;
    } else {
      if (n <= p->n_parts || o->n_split_at) continue;
      ao.n_parts = n;
    }
    ec_plan alt;
    ec_diag ad;
    memset(&ad, 0, sizeof ad);
    if (ec_plan_build(g, devs, &ao, &alt, &ad)) continue;
    uint64_t used = 0;
    for (int k = 0; k < alt.n_parts; k++) used |= (uint64_t)1 << alt.parts[k].device;
    if (used & unused)
      p->alts[p->n_alts++] = (ec_plan_alt){ao.objective, alt.n_parts, n > 0, alt.latency_ms, alt.bottleneck_ms,
                                           alt.throughput_rps, used};
    ec_plan_free(&alt);
  }
}

void ec_plan_free(ec_plan *p) {
  for (int k = 0; p->parts && k < p->n_parts; k++) {
    ec_part_free(&p->parts[k].part);
    free(p->parts[k].cluster_ms);
    free(p->parts[k].node_cluster);
    free(p->parts[k].node_team);
  }
  free(p->parts);
  free(p->device_whole_ms);
  free(p->device_part);
  free(p->profile_matched);
  free(p->profile_unmatched);
  ec_plan_joint_free(&p->joint);
  memset(p, 0, sizeof *p);
}

void ec_plan_endpoint(int k, char *buf, size_t len) {
  snprintf(buf, len, "tcp://127.0.0.1:%d", EC_PLAN_PORT_BASE + k);
}

void ec_plan_next_args(const ec_graph *g, const ec_plan *p, int k, ec_buf *b) {
  char ep[64];
  for (int n = k + 1; n < p->n_parts; n++) {
    if (p->parts[n].parent != k) continue;
    ec_plan_endpoint(n, ep, sizeof ep);
    ec_buf_printf(b, " --next ");
    for (int m = 0, first = 1; p->tree && m < g->n_models; m++)
      if (p->parts[n].models >> m & 1) ec_buf_printf(b, "%s%s", first ? "" : ",", g->model_names[m]), first = 0;
    ec_buf_printf(b, "%s%s", p->tree ? "@" : "", ep);
  }
}

void ec_plan_human_bytes(double v, char *buf, size_t len) {
  if (v >= 1e6) snprintf(buf, len, "%.1f MB", v / 1e6);
  else if (v >= 1e3) snprintf(buf, len, "%.1f kB", v / 1e3);
  else snprintf(buf, len, "%.0f B", v);
}

/* A path's file name: the table goes into OUT/README.md, which holds no folder of the machine. */
static const char *base_name(const char *path) {
  const char *b = strrchr(path, '/');
  return b ? b + 1 : path;
}

const char *ec_plan_cut_name(const ec_graph *g, const ec_plan_part *q) {
  return q->part.n_outputs ? g->tensors[q->part.outputs[0]].name : "";
}

void ec_plan_table(const ec_graph *g, const ec_device_list *devs, const ec_plan *p, ec_buf *b) {
  ec_buf_printf(b, "%d partition%s over %d device%s (%d blocks between %d split points), objective %s\n\n",
                p->n_parts, p->n_parts == 1 ? "" : "s", p->n_devices, p->n_devices == 1 ? "" : "s",
                p->n_blocks, p->n_cuts, p->objective ? "throughput" : "latency");
  ec_buf_printf(b, "%-4s %-16s %-12s %6s %7s %11s %10s %11s  %s\n", "part", "device", "target", "nodes",
                "blocks", "compute ms", "sends", "transfer ms", "cut tensor");
  for (int k = 0; k < p->n_parts; k++) {
    const ec_plan_part *q = &p->parts[k];
    const ec_device *dv = &devs->items[q->device];
    char bytes[32], blocks[32];
    ec_plan_human_bytes(q->bytes_out, bytes, sizeof bytes);
    snprintf(blocks, sizeof blocks, "%d-%d", q->first_block, q->end_block - 1);
    bool last = k == p->n_parts - 1;
    /* A '*' after the compute: some of it was measured (the lines under the table say how much). */
    ec_buf_printf(b, "p%-3d %-16s %-12s %6d %7s %11.3f%s%10s %11.3f  %s\n", k, dv->name, dv->target_name,
                  q->planned_nodes, blocks, q->compute_ms, q->profiled_nodes ? "*" : " ", last ? "-" : bytes,
                  q->transfer_ms, last ? "(graph outputs)" : ec_plan_cut_name(g, q));
  }
  for (int v = 0; v < p->n_devices; v++)
    if (p->device_part[v] < 0)
      ec_buf_printf(b, "-    %-16s %-12s unused (whole model there: %.3f ms)\n", devs->items[v].name,
                    devs->items[v].target_name, p->device_whole_ms[v]);
  for (int v = 0, first = 1; v < p->n_devices; v++)
    if (p->device_part[v] < 0) {
      ec_buf_printf(b, "%s%s unused: ", first ? "\n" : "", devs->items[v].name);
      ec_plan_unused_why(devs, p, v, b);
      ec_buf_printf(b, "\n");
      first = 0;
    }
  for (int k = 0, first = 1; k < p->n_parts; k++) {
    const ec_plan_part *q = &p->parts[k];
    if (!q->profiled_nodes) continue;
    const ec_profile *pr = p->profiles[q->device];
    ec_buf_printf(b, "%s* p%d: %d of its %d nodes measured (%.3f ms, from %s), the rest predicted\n",
                  first ? "\n" : "", k, q->profiled_nodes, q->planned_nodes, q->profiled_ms, base_name(pr->path));
    first = 0;
  }
  ec_plan_cluster_table(g, p, b);
  ec_plan_joint_text(g, devs, p, b);
  ec_buf_printf(b, "\npredicted end-to-end latency: %.3f ms\n", p->latency_ms);
  ec_buf_printf(b, "predicted throughput: %.1f requests/s (slowest stage %.3f ms)\n", p->throughput_rps,
                p->bottleneck_ms);
}

void ec_plan_unused_why(const ec_device_list *devs, const ec_plan *p, int v, ec_buf *b) {
  const char *obj = p->objective ? "throughput" : "latency";
  ec_buf_printf(b, "objective %s ", obj);
  if (p->n_parts == 1) {
    ec_buf_printf(b, "puts the whole model on %s (predicted %.3f ms)", devs->items[p->parts[0].device].name,
                  p->latency_ms);
  } else {
    ec_buf_printf(b, "chose %d partitions on ", p->n_parts);
    for (int k = 0; k < p->n_parts; k++)
      ec_buf_printf(b, "%s%s", k ? (k + 1 < p->n_parts ? ", " : " and ") : "", devs->items[p->parts[k].device].name);
    ec_buf_printf(b, " (predicted latency %.3f ms, %.1f requests/s)", p->latency_ms, p->throughput_rps);
  }
  ec_buf_printf(b, "; the whole model on %s alone: %.3f ms", devs->items[v].name, p->device_whole_ms[v]);
  bool said_obj = false, said_parts = false;
  for (int i = 0; i < p->n_alts; i++) {
    const ec_plan_alt *a = &p->alts[i];
    if (v >= 64 || !(a->used >> v & 1) || (a->by_parts ? said_parts : said_obj)) continue;
    if (a->by_parts)
      ec_buf_printf(b, "; --partitions %d uses it (predicted latency %.3f ms, %.1f requests/s)", a->n_parts,
                    a->latency_ms, a->throughput_rps);
    else
      ec_buf_printf(b, "; --objective %s uses it (%d partitions, %.1f requests/s against %.1f, latency %.3f ms)",
                    a->objective ? "throughput" : "latency", a->n_parts, a->throughput_rps, p->throughput_rps,
                    a->latency_ms);
    *(a->by_parts ? &said_parts : &said_obj) = true;
  }
  if (!said_obj && !said_parts)
    ec_buf_printf(b, "; neither the other objective nor more partitions use it (--split-at TENSOR forces a cut)");
}
