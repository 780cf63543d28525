/* merge.c — ec_merge: several models' graphs into one, nodes computed alike by several models
 * kept once (hash-consing on op, attributes and merged inputs), identical weights stored once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "merge.h"
#include "op.h"
#include "sha256.h"

/* The models' graphs stay alive inside the merged one: constants point into their protobufs. */
typedef struct held_graphs {
  ec_graph **g;
  int n;
} held_graphs;

static void free_held(void *p) {
  held_graphs *h = p;
  for (int i = 0; i < h->n; i++) ec_graph_free(h->g[i]);
  free(h->g);
  free(h);
}

/* Open-addressing table from a 64-bit key hash to an index (a tensor or a node of the merged
 * graph); several entries may share a hash, the caller confirms each. */
typedef struct index_table {
  uint64_t *hash;
  int *idx; /* -1: empty */
  int cap, n;
} index_table;

static bool table_add(index_table *t, uint64_t h, int idx) {
  if ((t->n + 1) * 2 > t->cap) {
    int cap = t->cap ? t->cap * 2 : 1024;
    uint64_t *nh = ec_alloc(sizeof(uint64_t) * (size_t)cap);
    int *ni = malloc(sizeof(int) * (size_t)cap);
    if (!nh || !ni) {
      free(nh), free(ni);
      return false;
    }
    for (int k = 0; k < cap; k++) ni[k] = -1;
    for (int k = 0; k < t->cap; k++)
      if (t->idx[k] >= 0) {
        int s = (int)(t->hash[k] & (uint64_t)(cap - 1));
        while (ni[s] >= 0) s = (s + 1) & (cap - 1);
        nh[s] = t->hash[k], ni[s] = t->idx[k];
      }
    free(t->hash), free(t->idx);
    t->hash = nh, t->idx = ni, t->cap = cap;
  }
  int s = (int)(h & (uint64_t)(t->cap - 1));
  while (t->idx[s] >= 0) s = (s + 1) & (t->cap - 1);
  t->hash[s] = h, t->idx[s] = idx;
  t->n++;
  return true;
}

/* Calls match(ctx, idx) on each entry with hash h until it returns true; that entry's index, or -1. */
static int table_find(const index_table *t, uint64_t h, bool (*match)(const void *, int), const void *ctx) {
  if (!t->cap) return -1;
  for (int s = (int)(h & (uint64_t)(t->cap - 1)); t->idx[s] >= 0; s = (s + 1) & (t->cap - 1))
    if (t->hash[s] == h && match(ctx, t->idx[s])) return t->idx[s];
  return -1;
}

static void table_free(index_table *t) { free(t->hash), free(t->idx); }

typedef struct merger {
  ec_graph *m;
  index_table consts, nodes;
  bool weak_hash; /* ec_merge_opts.weak_hash */
  uint32_t *mask;   /* per node of m: the models that compute it */
  int *prefix;      /* per node of m: length of the model prefix of its name */
  int cap_nodes;
  /* per tensor of m: the models whose nodes read it (weights stored once for several models) */
  uint32_t *readers;
  int cap_tensors;
} merger;

static uint64_t const_hash(const ec_tensor *t, bool weak) {
  uint64_t meta[2 + EC_MAX_RANK] = {(uint64_t)t->dtype, (uint64_t)t->rank};
  for (int k = 0; k < t->rank && k < EC_MAX_RANK; k++) meta[2 + k] = (uint64_t)t->dims[k];
  uint64_t h = XXH3_64bits(meta, sizeof meta);
  return weak ? h : XXH3_64bits_withSeed(t->data, t->data ? t->nbytes : 0, h);
}

static bool same_shape(const ec_tensor *a, const ec_tensor *b) {
  if (a->dtype != b->dtype || a->rank != b->rank) return false;
  for (int k = 0; k < a->rank; k++)
    if (a->dims[k] != b->dims[k]) return false;
  return true;
}

typedef struct const_query {
  const ec_graph *m;
  const ec_tensor *t;
} const_query;

/* Byte for byte: the hash only finds candidates. */
static bool const_match(const void *ctx, int idx) {
  const const_query *q = ctx;
  const ec_tensor *c = &q->m->tensors[idx];
  if (!same_shape(c, q->t) || c->nbytes != q->t->nbytes || c->layout != q->t->layout || c->quant.count ||
      q->t->quant.count)
    return false;
  return c->nbytes == 0 || (c->data && q->t->data && memcmp(c->data, q->t->data, c->nbytes) == 0);
}

/* "a/conv1" for "conv1", "a/layer1/Conv" for "/layer1/Conv"; "" stays "" (a node without name). */
static char *prefixed(const char *model, const char *name, int *plen) {
  if (!name[0]) {
    if (plen) *plen = 0;
    return ec_strdup("");
  }
  size_t n = strlen(model) + strlen(name) + 2;
  char *s = malloc(n);
  if (!s) return NULL;
  snprintf(s, n, "%s%s%s", model, name[0] == '/' ? "" : "/", name);
  if (plen) *plen = (int)(strlen(s) - strlen(name));
  return s;
}

/* A new tensor of m named after the model, with t's type and shape (a unique name: two models'
 * names cannot collide, as their prefixes differ, but NAME/2 guards a model named like a path). */
static int new_tensor(merger *mg, const char *model, const ec_tensor *t) {
  char *nm = prefixed(model, t->name, NULL);
  if (!nm) return -1;
  int x = ec_graph_fresh_tensor(mg->m, nm);
  free(nm);
  if (x < 0) return -1;
  ec_tensor *nt = &mg->m->tensors[x];
  nt->dtype = t->dtype;
  nt->rank = t->rank;
  memcpy(nt->dims, t->dims, sizeof nt->dims);
  nt->kind = t->kind;
  nt->layout = t->layout;
  if (x >= mg->cap_tensors) {
    int cap = mg->cap_tensors ? mg->cap_tensors * 2 : 1024;
    while (cap <= x) cap *= 2;
    uint32_t *r = ec_realloc_array(mg->readers, (size_t)cap, sizeof *r);
    if (!r) return -1;
    memset(r + mg->cap_tensors, 0, sizeof *r * (size_t)(cap - mg->cap_tensors));
    mg->readers = r, mg->cap_tensors = cap;
  }
  return x;
}

/* Moves constant t (data, ownership, quantization) into tensor x of m. */
static void move_const(ec_tensor *dst, ec_tensor *t) {
  dst->kind = EC_TK_CONSTANT;
  dst->data = t->data;
  dst->nbytes = t->nbytes;
  dst->owned = t->owned;
  t->owned = false;
  dst->quant = t->quant;
  memset(&t->quant, 0, sizeof t->quant);
  t->quant.axis = -1;
}

/* The tensor of m that constant t of a model becomes: an identical one already there, or a new one. */
static int map_const(merger *mg, const char *model, ec_tensor *t) {
  bool dedup = ec_dtype_size(t->dtype) > 0; /* strings have no byte layout to compare */
  uint64_t h = dedup ? const_hash(t, mg->weak_hash) : 0;
  const_query q = {mg->m, t};
  int x = dedup ? table_find(&mg->consts, h, const_match, &q) : -1;
  if (x >= 0) return x;
  x = new_tensor(mg, model, t);
  if (x < 0) return -1;
  move_const(&mg->m->tensors[x], t);
  if (dedup && !table_add(&mg->consts, h, x)) return -1;
  return x;
}

static bool same_attr(const ec_attr *a, const ec_attr *b) {
  if (a->type != b->type || strcmp(a->name, b->name) != 0) return false;
  switch (a->type) {
  case EC_ATTR_FLOAT: return memcmp(&a->f, &b->f, sizeof a->f) == 0;
  case EC_ATTR_INT: return a->i == b->i;
  case EC_ATTR_STRING: return a->s_len == b->s_len && (!a->s_len || memcmp(a->s, b->s, a->s_len) == 0);
  case EC_ATTR_INTS: return a->n == b->n && (!a->n || memcmp(a->ints, b->ints, sizeof(int64_t) * (size_t)a->n) == 0);
  case EC_ATTR_FLOATS: return a->n == b->n && (!a->n || memcmp(a->floats, b->floats, sizeof(float) * (size_t)a->n) == 0);
  case EC_ATTR_STRINGS:
    if (a->n != b->n) return false;
    for (int k = 0; k < a->n; k++)
      if (strcmp(a->strings[k], b->strings[k]) != 0) return false;
    return true;
  case EC_ATTR_TENSOR: {
    const ec_const *x = a->t, *y = b->t;
    if (!x || !y) return x == y;
    if (x->dtype != y->dtype || x->rank != y->rank || x->nbytes != y->nbytes) return false;
    if (memcmp(x->dims, y->dims, sizeof(int64_t) * (size_t)x->rank) != 0) return false;
    return !x->nbytes || memcmp(x->data, y->data, x->nbytes) == 0;
  }
  default: return false; /* graphs and the rest: never taken as equal */
  }
}

/* Same attributes, in any order. */
static bool same_attrs(const ec_node *a, const ec_node *b) {
  if (a->n_attrs != b->n_attrs) return false;
  for (int i = 0; i < a->n_attrs; i++) {
    int j = 0;
    while (j < b->n_attrs && strcmp(a->attrs[i].name, b->attrs[j].name) != 0) j++;
    if (j == b->n_attrs || !same_attr(&a->attrs[i], &b->attrs[j])) return false;
  }
  return true;
}

typedef struct node_query {
  const ec_graph *m, *g;
  const ec_node *n;
  const int *ins;       /* n's inputs as tensors of m */
  const uint32_t *mask; /* per node of m, its models */
  int model;            /* n's */
} node_query;

static bool node_match(const void *ctx, int idx) {
  const node_query *q = ctx;
  const ec_node *c = &q->m->nodes[idx], *n = q->n;
  /* Another model's node only: two alike nodes of one model stay two, as in its own compile. */
  if (q->mask[idx] >> q->model & 1) return false;
  if (c->op != n->op || strcmp(c->op_type, n->op_type) != 0 || strcmp(c->domain, n->domain) != 0 ||
      c->n_inputs != n->n_inputs || c->n_outputs != n->n_outputs || c->n_subgraphs)
    return false;
  for (int k = 0; k < n->n_inputs; k++)
    if (c->inputs[k] != q->ins[k]) return false;
  for (int k = 0; k < n->n_outputs; k++) {
    if ((c->outputs[k] < 0) != (n->outputs[k] < 0)) return false;
    if (n->outputs[k] >= 0 && !same_shape(&q->m->tensors[c->outputs[k]], &q->g->tensors[n->outputs[k]])) return false;
  }
  return same_attrs(c, n);
}

static uint64_t node_hash(const ec_node *n, const int *ins, bool weak) {
  XXH3_state_t *s = XXH3_createState();
  if (!s) return 0; /* one bucket for all: slower, still right */
  XXH3_64bits_reset(s);
  XXH3_64bits_update(s, n->op_type, strlen(n->op_type) + 1);
  XXH3_64bits_update(s, n->domain, strlen(n->domain) + 1);
  if (!weak) XXH3_64bits_update(s, ins, sizeof(int) * (size_t)n->n_inputs);
  uint64_t h = XXH3_64bits_digest(s);
  XXH3_freeState(s);
  return h;
}

/* Whether a node of model g may be one node for several models. */
static bool mergeable(const ec_graph *g, const ec_node *n) {
  if (n->n_subgraphs || n->op < 0 || (ec_ops[n->op].flags & EC_OPF_NOFOLD)) return false;
  for (int k = 0; k < n->n_outputs; k++)
    if (n->outputs[k] >= 0 && g->tensors[n->outputs[k]].is_output) return false;
  return true;
}

static bool grow_nodes(merger *mg, int need) {
  if (need <= mg->cap_nodes) return true;
  int cap = mg->cap_nodes ? mg->cap_nodes * 2 : 256;
  while (cap < need) cap *= 2;
  uint32_t *mk = ec_realloc_array(mg->mask, (size_t)cap, sizeof *mk);
  if (mk) mg->mask = mk;
  int *pf = ec_realloc_array(mg->prefix, (size_t)cap, sizeof *pf);
  if (pf) mg->prefix = pf;
  if (!mk || !pf) return false;
  mg->cap_nodes = cap;
  return true;
}

/* A new node of m taking over n's attributes, params and subgraphs; inputs already mapped. */
static int move_node(merger *mg, const char *model, ec_node *n, const int *ins, const int *outs) {
  int plen;
  char *nm = prefixed(model, n->name, &plen);
  if (!nm || !grow_nodes(mg, mg->m->n_nodes + 1)) {
    free(nm);
    return -1;
  }
  int x = ec_graph_add_node(mg->m, n->op_type, n->domain, nm);
  free(nm);
  if (x < 0 || ec_node_set_inputs(mg->m, x, ins, n->n_inputs) || ec_node_set_outputs(mg->m, x, outs, n->n_outputs))
    return -1;
  ec_node *mn = &mg->m->nodes[x];
  mn->op = n->op;
  mn->index = n->index;
  mn->attrs = n->attrs, mn->n_attrs = n->n_attrs;
  mn->params = n->params, mn->params_size = n->params_size;
  mn->subgraphs = n->subgraphs, mn->n_subgraphs = n->n_subgraphs;
  for (int k = 0; k < mn->n_subgraphs; k++) mn->subgraphs[k]->parent = mg->m;
  n->attrs = NULL, n->n_attrs = 0, n->params = NULL, n->params_size = 0, n->subgraphs = NULL, n->n_subgraphs = 0;
  mg->mask[x] = 0;
  mg->prefix[x] = plen;
  return x;
}

static void node_cost(const ec_graph *g, const ec_node *n, ec_cost *c) {
  memset(c, 0, sizeof *c);
  if (n->op >= 0 && ec_ops[n->op].cost) {
    ec_ops[n->op].cost(g, n, c);
    return;
  }
  for (int k = 0; k < n->n_outputs; k++) /* the op table's default: one op per output element */
    if (n->outputs[k] >= 0) c->flops += (double)ec_tensor_numel(&g->tensors[n->outputs[k]]);
}

/* Ranges, compute and weight figures of the report, from the merged graph. */
static ec_status fill_report(merger *mg, ec_merge_report *r) {
  const ec_graph *m = mg->m;
  r->nodes_merged = m->n_nodes;
  for (int i = 0; i < m->n_nodes; i++) {
    const ec_node *n = &m->nodes[i];
    ec_cost c;
    node_cost(m, n, &c);
    int users = ec_merge_n_models(mg->mask[i]);
    r->macs_merged += c.macs, r->flops_merged += c.flops;
    r->macs_separate += c.macs * users, r->flops_separate += c.flops * users;
    for (int k = 0; k < n->n_inputs; k++)
      if (n->inputs[k] >= 0 && m->tensors[n->inputs[k]].kind == EC_TK_CONSTANT) mg->readers[n->inputs[k]] |= mg->mask[i];
    if (i == 0 || mg->mask[i] != mg->mask[i - 1]) {
      ec_merge_range *rg = ec_realloc_array(r->ranges, (size_t)r->n_ranges + 1, sizeof *rg);
      if (!rg) return EC_ERR_INTERNAL;
      r->ranges = rg;
      rg = &r->ranges[r->n_ranges++];
      memset(rg, 0, sizeof *rg);
      rg->models = mg->mask[i];
      rg->first = ec_strdup(n->name + mg->prefix[i]);
      if (!rg->first) return EC_ERR_INTERNAL;
    }
    ec_merge_range *rg = &r->ranges[r->n_ranges - 1];
    rg->n_nodes++;
    rg->macs += c.macs, rg->flops += c.flops;
    free(rg->last);
    rg->last = ec_strdup(n->name + mg->prefix[i]);
    if (!rg->last) return EC_ERR_INTERNAL;
  }
  /* Weights: the merged graph holds each once; separately, each model holds the ones its nodes
   * read. A weight read by several models through nodes that were not merged is a deduplication. */
  for (int t = 0; t < m->n_tensors; t++) {
    const ec_tensor *x = &m->tensors[t];
    if (x->kind != EC_TK_CONSTANT || !mg->readers[t]) continue;
    int users = ec_merge_n_models(mg->readers[t]);
    r->weight_bytes_merged += x->nbytes;
    r->weight_bytes_separate += (uint64_t)x->nbytes * (uint64_t)users;
    bool merged_reader = false; /* read by one merged node only, its models' sharing is the node's */
    for (int k = 0; k < x->n_consumers && !merged_reader; k++)
      merged_reader = mg->mask[x->consumers[k]] == mg->readers[t];
    if (users > 1 && !merged_reader) {
      r->dedup_weights++;
      r->dedup_weight_bytes += x->nbytes;
    }
  }
  return EC_OK;
}

/* Model i's graph into m. */
static ec_status merge_one(merger *mg, ec_merge_model *models, int i, int **maps, const ec_merge_opts *o,
                           ec_merge_report *r, ec_diag *d) {
  ec_graph *g = models[i].g, *m = mg->m;
  const char *nm = models[i].name;
  int *map = maps[i];
  for (int t = 0; t < g->n_tensors; t++) map[t] = -1;
  /* Inputs: --share-input first, then the same dtype and shape at the same position of the
   * earliest model that has one, else a new input of m. */
  for (int k = 0; k < g->n_inputs; k++) {
    int t = g->inputs[k], to = -1;
    for (int s = 0; s < o->n_shares; s++)
      if (o->shares[s].model == i && o->shares[s].input == k)
        to = maps[o->shares[s].to_model][models[o->shares[s].to_model].g->inputs[o->shares[s].to_input]];
    for (int j = 0; to < 0 && j < i; j++) {
      const ec_graph *gj = models[j].g;
      if (k < gj->n_inputs && same_shape(&gj->tensors[gj->inputs[k]], &g->tensors[t])) to = maps[j][gj->inputs[k]];
    }
    if (to >= 0) {
      r->shared_inputs[i]++;
    } else {
      to = new_tensor(mg, nm, &g->tensors[t]);
      if (to < 0) return EC_ERR_INTERNAL;
      int *in = ec_realloc_array(m->inputs, (size_t)m->n_inputs + 1, sizeof(int));
      if (!in) return EC_ERR_INTERNAL;
      m->inputs = in;
      m->inputs[m->n_inputs++] = to;
    }
    map[t] = to;
  }
  int cap = 16;
  int *ins = malloc(sizeof(int) * (size_t)cap), *outs = malloc(sizeof(int) * (size_t)cap);
  ec_status st = ins && outs ? EC_OK : EC_ERR_INTERNAL;
  for (int ni = 0; !st && ni < g->n_nodes; ni++) {
    ec_node *n = &g->nodes[ni];
    if (n->dead) continue;
    int need = n->n_inputs > n->n_outputs ? n->n_inputs : n->n_outputs;
    if (need > cap) {
      cap = need;
      int *a = realloc(ins, sizeof(int) * (size_t)cap), *b = a ? realloc(outs, sizeof(int) * (size_t)cap) : NULL;
      if (a) ins = a;
      if (b) outs = b;
      if (!a || !b) st = EC_ERR_INTERNAL;
      if (st) break;
    }
    for (int k = 0; !st && k < n->n_inputs; k++) {
      int t = n->inputs[k];
      if (t < 0) {
        ins[k] = -1;
        continue;
      }
      if (map[t] < 0 && g->tensors[t].kind == EC_TK_CONSTANT) map[t] = map_const(mg, nm, &g->tensors[t]);
      if (map[t] < 0) {
        ec_fail_node(d, g, n, "internal: input '%s' has no tensor in the merged graph", g->tensors[t].name);
        st = EC_ERR_INTERNAL;
      }
      ins[k] = map[t];
    }
    if (st) break;
    uint64_t h = node_hash(n, ins, mg->weak_hash);
    int x = -1;
    bool can = mergeable(g, n);
    if (i > 0 && can) {
      node_query q = {m, g, n, ins, mg->mask, i};
      x = table_find(&mg->nodes, h, node_match, &q);
    }
    if (x >= 0) {
      for (int k = 0; k < n->n_outputs; k++)
        if (n->outputs[k] >= 0) map[n->outputs[k]] = m->nodes[x].outputs[k];
    } else {
      for (int k = 0; !st && k < n->n_outputs; k++) {
        int t = n->outputs[k];
        outs[k] = t < 0 ? -1 : new_tensor(mg, nm, &g->tensors[t]);
        if (t >= 0 && outs[k] < 0) st = EC_ERR_INTERNAL;
        if (t >= 0) map[t] = outs[k];
      }
      if (!st) x = move_node(mg, nm, n, ins, outs);
      if (!st && x < 0) st = EC_ERR_INTERNAL;
      /* Only nodes that could be another model's are looked up later. */
      if (!st && can && !table_add(&mg->nodes, h, x)) st = EC_ERR_INTERNAL;
    }
    if (!st) mg->mask[x] |= 1u << i;
    r->nodes[i]++;
  }
  free(ins), free(outs);
  /* Outputs: model order. A tensor two models both output could not be told apart. */
  for (int k = 0; !st && k < g->n_outputs; k++) {
    int t = g->outputs[k], x = map[t];
    if (x < 0 && g->tensors[t].kind == EC_TK_CONSTANT) x = map[t] = map_const(mg, nm, &g->tensors[t]);
    if (x < 0) {
      ec_diag_set(d, g->source_path, "", "internal: output '%s' has no tensor in the merged graph", g->tensors[t].name);
      return EC_ERR_INTERNAL;
    }
    for (int j = 0; j < m->n_outputs; j++)
      if (m->outputs[j] == x) {
        ec_diag_set(d, g->source_path, "", "output '%s' of model '%s' is the tensor '%s' that an earlier output "
                    "already is (an input or a weight): the merged program could not tell them apart",
                    g->tensors[t].name, nm, m->tensors[x].name);
        return EC_ERR_MODEL;
      }
    int *out = ec_realloc_array(m->outputs, (size_t)m->n_outputs + 1, sizeof(int));
    if (!out) return EC_ERR_INTERNAL;
    m->outputs = out;
    int *own = ec_realloc_array(m->output_model, (size_t)m->n_outputs + 1, sizeof(int));
    if (!own) return EC_ERR_INTERNAL;
    m->output_model = own;
    m->output_model[m->n_outputs] = i;
    m->outputs[m->n_outputs++] = x;
    m->tensors[x].is_output = true;
  }
  return st;
}

ec_status ec_merge(ec_merge_model *models, int n, const ec_merge_opts *o, ec_graph **out, ec_merge_report *r,
                   ec_diag *d) {
  memset(r, 0, sizeof *r);
  *out = NULL;
  merger mg;
  memset(&mg, 0, sizeof mg);
  mg.weak_hash = o->weak_hash;
  held_graphs *held = ec_alloc(sizeof *held);
  ec_graph **gs = ec_alloc(sizeof(ec_graph *) * (size_t)(n + 1));
  int **maps = ec_alloc(sizeof(int *) * (size_t)(n + 1));
  mg.m = ec_graph_new();
  ec_status st = held && gs && maps && mg.m ? EC_OK : EC_ERR_INTERNAL;
  for (int i = 0; i < n; i++) {
    if (gs) gs[i] = models[i].g;
    else ec_graph_free(models[i].g);
  }
  if (held && gs) {
    held->g = gs, held->n = n;
  } else {
    free(held), held = NULL;
    for (int i = 0; gs && i < n; i++) ec_graph_free(gs[i]);
    free(gs);
  }
  if (!st && n > EC_MERGE_MAX_MODELS) {
    ec_diag_set(d, models[0].g->source_path, "", "%d models: at most %d can be merged", n, EC_MERGE_MAX_MODELS);
    st = EC_ERR_USAGE;
  }
  for (int i = 1; !st && i < n; i++)
    if (models[i].g->opset != models[0].g->opset) {
      ec_diag_set(d, models[i].g->source_path, "", "opset %lld, but %s has opset %lld: merged models need one opset",
                  (long long)models[i].g->opset, models[0].g->source_path, (long long)models[0].g->opset);
      st = EC_ERR_MODEL;
    }
  if (!st) {
    ec_graph *m = mg.m;
    m->pb_model = held, m->free_pb_model = free_held;
    held = NULL;
    m->opset = models[0].g->opset;
    m->ir_version = models[0].g->ir_version;
    ec_buf nb = {0}, pb = {0};
    ec_sha256 sh;
    ec_sha256_init(&sh);
    for (int i = 0; i < n; i++) {
      ec_buf_printf(&nb, "%s%s", i ? "+" : "", models[i].name);
      ec_buf_printf(&pb, "%s%s", i ? "+" : "", models[i].g->source_path ? models[i].g->source_path : "");
      ec_sha256_update(&sh, models[i].g->sha256, 32);
      m->init_params += models[i].g->init_params;
      m->init_bytes += models[i].g->init_bytes;
      m->n_frozen += models[i].g->n_frozen;
      m->fold_shapes_only |= models[i].g->fold_shapes_only;
    }
    /* The merged program's hash: of the models' hashes in order (its weights file checks it). */
    ec_sha256_final(&sh, m->sha256);
    m->name = nb.data ? nb.data : ec_strdup("");
    m->source_path = pb.data ? pb.data : ec_strdup("");
    if (nb.oom || pb.oom || !m->name || !m->source_path) st = EC_ERR_INTERNAL;
  }
  r->n_models = n;
  /* The models' names stay on the graph: codegen's per-model entry points are named after them. */
  if (!st && !(mg.m->model_names = ec_alloc(sizeof(char *) * (size_t)n))) st = EC_ERR_INTERNAL;
  for (int i = 0; !st && i < n; i++)
    if (!(mg.m->model_names[mg.m->n_models++] = ec_strdup(models[i].name))) st = EC_ERR_INTERNAL;
  for (int i = 0; !st && i < n; i++) {
    r->names[i] = models[i].name;
    r->files[i] = ec_strdup(models[i].g->source_path ? models[i].g->source_path : "");
    memcpy(r->sha256[i], models[i].g->sha256, 32);
    if (!r->files[i]) st = EC_ERR_INTERNAL;
  }
  for (int i = 0; !st && i < n; i++) {
    maps[i] = malloc(sizeof(int) * (size_t)(models[i].g->n_tensors + 1));
    if (!maps[i]) st = EC_ERR_INTERNAL;
    if (!st) st = merge_one(&mg, models, i, maps, o, r, d);
    if (!st) r->nodes_separate += r->nodes[i];
  }
  if (!st) st = ec_graph_link(mg.m);
  if (!st) st = fill_report(&mg, r);
  for (int i = 0; maps && i < n; i++) free(maps[i]);
  free(maps);
  table_free(&mg.consts), table_free(&mg.nodes);
  free(mg.mask), free(mg.prefix), free(mg.readers);
  if (held) free_held(held);
  if (st) {
    if (st == EC_ERR_INTERNAL && !d->msg[0]) ec_diag_set(d, "", "", "out of memory while merging the models");
    ec_graph_free(mg.m);
    ec_merge_report_free(r);
    return st;
  }
  *out = mg.m;
  return EC_OK;
}

void ec_merge_report_free(ec_merge_report *r) {
  for (int k = 0; k < r->n_ranges; k++) free(r->ranges[k].first), free(r->ranges[k].last);
  free(r->ranges);
  r->ranges = NULL;
  for (int i = 0; i < r->n_models && i < EC_MERGE_MAX_MODELS; i++) free(r->files[i]), r->files[i] = NULL;
  r->n_ranges = 0;
}

void ec_merge_models_str(const ec_merge_report *r, uint32_t mask, ec_buf *b) {
  bool first = true;
  for (int i = 0; i < r->n_models; i++)
    if (mask >> i & 1) {
      ec_buf_printf(b, "%s%s", first ? "" : ",", r->names[i]);
      first = false;
    }
}

/* ---- approximate merging: which nodes of two models are alike but for their weights ---------- */

int ec_merge_align(const ec_graph *g0, const ec_graph *g, int *pair0, int *pair, int max) {
  int *map = malloc(sizeof(int) * (size_t)(g->n_tensors + 1)); /* tensor of g -> tensor of g0 */
  if (!map) return -1;
  for (int t = 0; t < g->n_tensors; t++) map[t] = -1;
  for (int k = 0; k < g->n_inputs && k < g0->n_inputs; k++)
    if (same_shape(&g->tensors[g->inputs[k]], &g0->tensors[g0->inputs[k]])) map[g->inputs[k]] = g0->inputs[k];
  int n = 0, i = 0, j = 0;
  for (;; i++, j++) {
    while (i < g->n_nodes && g->nodes[i].dead) i++;
    while (j < g0->n_nodes && g0->nodes[j].dead) j++;
    if (i >= g->n_nodes || j >= g0->n_nodes || n >= max) break;
    const ec_node *a = &g->nodes[i], *b = &g0->nodes[j];
    /* Exactly what ec_merge would unify once the weights are one model's. */
    bool ok = mergeable(g, a) && mergeable(g0, b) && a->op == b->op && strcmp(a->op_type, b->op_type) == 0 &&
              strcmp(a->domain, b->domain) == 0 && a->n_inputs == b->n_inputs && a->n_outputs == b->n_outputs &&
              same_attrs(a, b);
    for (int k = 0; ok && k < a->n_inputs; k++) {
      int x = a->inputs[k], y = b->inputs[k];
      if (x < 0 || y < 0) {
        ok = x == y;
      } else if (g->tensors[x].kind == EC_TK_CONSTANT) {
        const ec_tensor *tx = &g->tensors[x], *ty = &g0->tensors[y];
        ok = ty->kind == EC_TK_CONSTANT && same_shape(tx, ty) && tx->nbytes == ty->nbytes && tx->layout == ty->layout &&
             !tx->quant.count && !ty->quant.count && ec_dtype_size(tx->dtype) > 0 && (!tx->nbytes || (tx->data && ty->data));
      } else {
        ok = map[x] == y;
      }
    }
    for (int k = 0; ok && k < a->n_outputs; k++)
      ok = (a->outputs[k] < 0) == (b->outputs[k] < 0) &&
           (a->outputs[k] < 0 || same_shape(&g->tensors[a->outputs[k]], &g0->tensors[b->outputs[k]]));
    if (!ok) break;
    for (int k = 0; k < a->n_outputs; k++)
      if (a->outputs[k] >= 0) map[a->outputs[k]] = b->outputs[k];
    pair[n] = i, pair0[n] = j;
    n++;
  }
  free(map);
  return n;
}
