/* ir.c — graph construction, tensor lookup, topological order, diagnostics and the small
 * utilities (buffers, checked allocation) every stage shares. */
#include "ir.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- allocation ------------------------------------------------------------------------------ */

void *ec_alloc(size_t n) { return calloc(1, n ? n : 1); }

void *ec_realloc_array(void *p, size_t count, size_t size) {
  if (size && count > SIZE_MAX / size) return NULL;
  return realloc(p, (count && size) ? count * size : 1);
}

char *ec_strdup(const char *s) { return ec_strndup(s ? s : "", s ? strlen(s) : 0); }

char *ec_strndup(const char *s, size_t n) {
  char *r = malloc(n + 1);
  if (!r) return NULL;
  if (n) memcpy(r, s, n);
  r[n] = 0;
  return r;
}

bool ec_mul_overflow_i64(int64_t a, int64_t b, int64_t *out) {
  return !__builtin_mul_overflow(a, b, out);
}

/* ---- buffers --------------------------------------------------------------------------------- */

static bool buf_reserve(ec_buf *b, size_t extra) {
  if (b->oom) return false;
  if (b->len + extra + 1 <= b->cap) return true;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < b->len + extra + 1) cap *= 2;
  char *p = realloc(b->data, cap);
  if (!p) {
    b->oom = true;
    return false;
  }
  b->data = p;
  b->cap = cap;
  return true;
}

void ec_buf_append(ec_buf *b, const void *p, size_t n) {
  if (!buf_reserve(b, n)) return;
  memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = 0;
}

void ec_buf_printf(ec_buf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char tmp[256];
  va_list ap2;
  va_copy(ap2, ap);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n < 0) {
    va_end(ap2);
    return;
  }
  if ((size_t)n < sizeof tmp) {
    ec_buf_append(b, tmp, (size_t)n);
  } else if (buf_reserve(b, (size_t)n)) {
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap2);
    b->len += (size_t)n;
  }
  va_end(ap2);
}

void ec_buf_free(ec_buf *b) {
  free(b->data);
  memset(b, 0, sizeof *b);
}

int ec_read_small_file(const char *path, size_t max, ec_buf *b) {
  FILE *f = fopen(path, "rb");
  if (!f) return errno ? errno : EIO;
  char chunk[4096];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0 && b->len < max) ec_buf_append(b, chunk, n);
  bool err = ferror(f);
  fclose(f);
  ec_buf_append(b, "", 1);
  int e = err ? EIO : b->oom ? ENOMEM : b->len - 1 >= max ? EFBIG : 0;
  if (e) ec_buf_free(b);
  else b->len--;
  return e;
}

void ec_buf_json_str(ec_buf *b, const char *s) {
  ec_buf_append(b, "\"", 1);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\') {
      char e[2] = {'\\', (char)*p};
      ec_buf_append(b, e, 2);
    } else if (*p < 0x20) {
      ec_buf_printf(b, "\\u%04x", *p);
    } else {
      ec_buf_append(b, p, 1);
    }
  }
  ec_buf_append(b, "\"", 1);
}

/* ---- diagnostics ----------------------------------------------------------------------------- */

void ec_diag_vset(ec_diag *d, const char *file, const char *where, const char *fmt, va_list ap) {
  if (!d) return;
  snprintf(d->file, sizeof d->file, "%s", file ? file : "");
  snprintf(d->where, sizeof d->where, "%s", where ? where : "");
  vsnprintf(d->msg, sizeof d->msg, fmt, ap);
}

void ec_diag_set(ec_diag *d, const char *file, const char *where, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  ec_diag_vset(d, file, where, fmt, ap);
  va_end(ap);
}

void ec_node_describe(const ec_graph *g, const ec_node *n, char *buf, size_t len) {
  if (n->name && n->name[0]) {
    snprintf(buf, len, "node '%s' (%s)", n->name, n->op_type);
    return;
  }
  const char *out = NULL;
  for (int i = 0; i < n->n_outputs && !out; i++)
    if (n->outputs[i] >= 0) out = g->tensors[n->outputs[i]].name;
  if (out)
    snprintf(buf, len, "node #%d (output '%s') (%s)", n->index, out, n->op_type);
  else
    snprintf(buf, len, "node #%d (%s)", n->index, n->op_type);
}

void ec_node_label(const ec_graph *g, const ec_node *n, char *buf, size_t len) {
  if (n->name && n->name[0]) {
    snprintf(buf, len, "%s", n->name);
    return;
  }
  const char *out = NULL;
  for (int i = 0; i < n->n_outputs && !out; i++)
    if (n->outputs[i] >= 0) out = g->tensors[n->outputs[i]].name;
  if (out) snprintf(buf, len, "%s -> %s", n->op_type, out);
  else snprintf(buf, len, "#%d", n->index);
}

ec_status ec_fail_node(ec_diag *d, const ec_graph *g, const ec_node *n, const char *fmt, ...) {
  char where[512] = "";
  if (n) ec_node_describe(g, n, where, sizeof where);
  va_list ap;
  va_start(ap, fmt);
  ec_diag_vset(d, g && g->source_path ? g->source_path : "", where, fmt, ap);
  va_end(ap);
  return EC_ERR_MODEL;
}

/* Copies s into out with control bytes shown as \xNN: names in a corrupt file may hold
 * newlines, and a diagnostic must stay one line. */
static void one_line(const char *s, char *out, size_t cap) {
  size_t o = 0;
  for (const unsigned char *p = (const unsigned char *)s; *p && o + 5 < cap; p++) {
    if (*p < 0x20 || *p == 0x7f)
      o += (size_t)snprintf(out + o, cap - o, "\\x%02x", *p);
    else
      out[o++] = (char)*p;
  }
  out[o] = 0;
}

void ec_diag_print(const ec_diag *d) {
  char file[sizeof d->file * 4], where[sizeof d->where * 4], msg[sizeof d->msg * 4];
  one_line(d->file, file, sizeof file);
  one_line(d->where, where, sizeof where);
  one_line(d->msg, msg, sizeof msg);
  if (file[0] && where[0])
    fprintf(stderr, "edgecc: error: %s: %s: %s\n", file, where, msg);
  else if (file[0])
    fprintf(stderr, "edgecc: error: %s: %s\n", file, msg);
  else
    fprintf(stderr, "edgecc: error: %s\n", msg);
}

/* ---- dtypes ---------------------------------------------------------------------------------- */

/* Sizes and names come from the kernels' table (eck_tensor.h), shared with the runtime. */
bool ec_dtype_valid(int32_t dt) { return dt > 0 && dt <= ECK_BFLOAT16; }

const char *ec_dtype_name(int32_t dt) { return eck_dtype_name(dt); }

size_t ec_dtype_size(int32_t dt) { return eck_dtype_size(dt); }

/* ---- graph ----------------------------------------------------------------------------------- */

ec_graph *ec_graph_new(void) {
  ec_graph *g = ec_alloc(sizeof *g);
  if (g) g->opset = 1;
  return g;
}

static void free_attr(ec_attr *a) {
  free(a->name);
  free(a->s);
  free(a->ints);
  free(a->floats);
  for (int i = 0; a->strings && i < a->n; i++) free(a->strings[i]);
  free(a->strings);
  if (a->t) free(a->t->data);
  free(a->t);
}

/* Frees what a node owns, its subgraphs included. */
static void free_node(ec_node *n) {
  free(n->name), free(n->op_type), free(n->domain), free(n->inputs), free(n->outputs);
  for (int k = 0; k < n->n_attrs; k++) free_attr(&n->attrs[k]);
  free(n->attrs), free(n->params), free(n->kernel), free(n->fused_from);
  for (int k = 0; k < n->n_subgraphs; k++) ec_graph_free(n->subgraphs[k]);
  free(n->subgraphs);
}

int ec_node_n_explicit_inputs(const ec_node *n) {
  int implicit = 0;
  for (int k = 0; k < n->n_subgraphs; k++) implicit += n->subgraphs[k]->n_captures;
  return n->n_inputs - implicit;
}

void ec_graph_free(ec_graph *g) {
  if (!g) return;
  for (int i = 0; i < g->n_tensors; i++) {
    ec_tensor *t = &g->tensors[i];
    free(t->name);
    if (t->owned) free(t->data);
    free(t->consumers);
    free(t->quant.scale);
    free(t->quant.zero_point);
  }
  for (int i = 0; i < g->n_nodes; i++) free_node(&g->nodes[i]);
  free(g->captures);
  for (int i = 0; i < g->n_models; i++) free(g->model_names[i]);
  free(g->model_names);
  free(g->output_model);
  for (int i = 0; i < g->n_warnings; i++) free(g->warnings[i]);
  free(g->warnings);
  for (int i = 0; i < g->n_dyn_dims; i++) free(g->dyn_dims[i].param);
  free(g->dyn_dims);
  free(g->tensors);
  free(g->nodes);
  free(g->inputs);
  free(g->outputs);
  free(g->name);
  free(g->source_path);
  free(g->hash);
  if (g->pb_model && g->free_pb_model) g->free_pb_model(g->pb_model);
  free(g);
}

static uint32_t hash_str(const char *s) {
  uint32_t h = 2166136261u;
  for (; *s; s++) h = (h ^ (uint8_t)*s) * 16777619u;
  return h;
}

static bool rehash(ec_graph *g, int cap) {
  int *h = malloc(sizeof(int) * (size_t)cap);
  if (!h) return false;
  for (int i = 0; i < cap; i++) h[i] = -1;
  for (int t = 0; t < g->n_tensors; t++) {
    uint32_t k = hash_str(g->tensors[t].name) & (uint32_t)(cap - 1);
    while (h[k] >= 0) k = (k + 1) & (uint32_t)(cap - 1);
    h[k] = t;
  }
  free(g->hash);
  g->hash = h;
  g->hash_cap = cap;
  return true;
}

int ec_graph_find(const ec_graph *g, const char *name) {
  if (!g->hash_cap) return -1;
  uint32_t k = hash_str(name) & (uint32_t)(g->hash_cap - 1);
  while (g->hash[k] >= 0) {
    if (strcmp(g->tensors[g->hash[k]].name, name) == 0) return g->hash[k];
    k = (k + 1) & (uint32_t)(g->hash_cap - 1);
  }
  return -1;
}

int ec_graph_tensor(ec_graph *g, const char *name) {
  int t = ec_graph_find(g, name);
  if (t >= 0) return t;
  if (g->n_tensors + 1 > g->cap_tensors) {
    int cap = g->cap_tensors ? g->cap_tensors * 2 : 64;
    ec_tensor *p = ec_realloc_array(g->tensors, (size_t)cap, sizeof *p);
    if (!p) return -1;
    g->tensors = p;
    g->cap_tensors = cap;
  }
  if ((g->n_tensors + 1) * 2 > g->hash_cap) {
    int cap = g->hash_cap ? g->hash_cap * 2 : 128;
    while ((g->n_tensors + 1) * 2 > cap) cap *= 2;
    if (!rehash(g, cap)) return -1;
  }
  ec_tensor *nt = &g->tensors[g->n_tensors];
  memset(nt, 0, sizeof *nt);
  nt->name = ec_strdup(name);
  if (!nt->name) return -1;
  nt->rank = -1;
  nt->producer = -1;
  nt->quant.axis = -1;
  t = g->n_tensors++;
  uint32_t k = hash_str(name) & (uint32_t)(g->hash_cap - 1);
  while (g->hash[k] >= 0) k = (k + 1) & (uint32_t)(g->hash_cap - 1);
  g->hash[k] = t;
  return t;
}

int ec_graph_add_node(ec_graph *g, const char *op_type, const char *domain, const char *name) {
  if (g->n_nodes + 1 > g->cap_nodes) {
    int cap = g->cap_nodes ? g->cap_nodes * 2 : 64;
    ec_node *p = ec_realloc_array(g->nodes, (size_t)cap, sizeof *p);
    if (!p) return -1;
    g->nodes = p;
    g->cap_nodes = cap;
  }
  ec_node *n = &g->nodes[g->n_nodes];
  memset(n, 0, sizeof *n);
  n->op_type = ec_strdup(op_type);
  n->domain = ec_strdup(domain);
  n->name = ec_strdup(name);
  n->op = -1;
  n->index = g->n_nodes;
  n->partition = n->device = n->cluster = -1;
  if (!n->op_type || !n->domain || !n->name) return -1;
  return g->n_nodes++;
}

static ec_status copy_ints(int **dst, int *ndst, const int *src, int n) {
  free(*dst);
  *dst = malloc(sizeof(int) * (size_t)(n ? n : 1));
  if (!*dst) return EC_ERR_INTERNAL;
  if (n) memcpy(*dst, src, sizeof(int) * (size_t)n);
  *ndst = n;
  return EC_OK;
}

ec_status ec_node_set_inputs(ec_graph *g, int node, const int *tensors, int n) {
  ec_node *nd = &g->nodes[node];
  return copy_ints(&nd->inputs, &nd->n_inputs, tensors, n);
}

ec_status ec_node_set_outputs(ec_graph *g, int node, const int *tensors, int n) {
  ec_node *nd = &g->nodes[node];
  return copy_ints(&nd->outputs, &nd->n_outputs, tensors, n);
}

ec_status ec_graph_link(ec_graph *g) {
  for (int t = 0; t < g->n_tensors; t++) {
    g->tensors[t].producer = -1;
    g->tensors[t].n_consumers = 0;
  }
  for (int i = 0; i < g->n_nodes; i++) {
    ec_node *n = &g->nodes[i];
    if (n->dead) continue;
    for (int k = 0; k < n->n_outputs; k++)
      if (n->outputs[k] >= 0) g->tensors[n->outputs[k]].producer = i;
    for (int k = 0; k < n->n_inputs; k++) {
      if (n->inputs[k] < 0) continue;
      ec_tensor *t = &g->tensors[n->inputs[k]];
      if (t->n_consumers == t->cap_consumers) {
        int cap = t->cap_consumers ? t->cap_consumers * 2 : 4;
        int *p = ec_realloc_array(t->consumers, (size_t)cap, sizeof(int));
        if (!p) return EC_ERR_INTERNAL;
        t->consumers = p;
        t->cap_consumers = cap;
      }
      t->consumers[t->n_consumers++] = i;
    }
  }
  return EC_OK;
}

/* Kahn's algorithm with a min-heap on the original index, so the order is deterministic and
 * stays the file order wherever the file was already sorted. */
static void heap_push(int *h, int *n, int v) {
  int i = (*n)++;
  h[i] = v;
  while (i > 0 && h[(i - 1) / 2] > h[i]) {
    int p = (i - 1) / 2, tmp = h[p];
    h[p] = h[i];
    h[i] = tmp;
    i = p;
  }
}

static int heap_pop(int *h, int *n) {
  int top = h[0];
  h[0] = h[--(*n)];
  int i = 0;
  for (;;) {
    int l = 2 * i + 1, r = l + 1, m = i;
    if (l < *n && h[l] < h[m]) m = l;
    if (r < *n && h[r] < h[m]) m = r;
    if (m == i) break;
    int tmp = h[m];
    h[m] = h[i];
    h[i] = tmp;
    i = m;
  }
  return top;
}

ec_status ec_graph_toposort(ec_graph *g, ec_diag *d) {
  bool any_dead = false;
  /* Dead nodes (a pass replaced them) go first: they may still name a tensor as output that a
   * live node now produces, and would pull its consumers before the live producer. */
  for (int i = 0; i < g->n_nodes; i++) any_dead |= g->nodes[i].dead;
  ec_status st = any_dead ? ec_graph_compact(g) : ec_graph_link(g);
  if (st) return st;
  int nn = g->n_nodes;
  int *indeg = ec_alloc(sizeof(int) * (size_t)(nn + 1));
  int *heap = ec_alloc(sizeof(int) * (size_t)(nn + 1));
  int *order = ec_alloc(sizeof(int) * (size_t)(nn + 1));
  if (!indeg || !heap || !order) {
    free(indeg), free(heap), free(order);
    return EC_ERR_INTERNAL;
  }
  for (int i = 0; i < nn; i++) {
    ec_node *n = &g->nodes[i];
    for (int k = 0; k < n->n_inputs; k++)
      if (n->inputs[k] >= 0 && g->tensors[n->inputs[k]].producer >= 0) indeg[i]++;
  }
  int hn = 0, no = 0;
  for (int i = 0; i < nn; i++)
    if (!indeg[i]) heap_push(heap, &hn, i);
  while (hn) {
    int i = heap_pop(heap, &hn);
    order[no++] = i;
    ec_node *n = &g->nodes[i];
    for (int k = 0; k < n->n_outputs; k++) {
      if (n->outputs[k] < 0) continue;
      ec_tensor *t = &g->tensors[n->outputs[k]];
      for (int c = 0; c < t->n_consumers; c++)
        if (--indeg[t->consumers[c]] == 0) heap_push(heap, &hn, t->consumers[c]);
    }
  }
  if (no < nn) {
    int bad = -1;
    for (int i = 0; i < nn && bad < 0; i++)
      if (indeg[i] > 0) bad = i;
    st = ec_fail_node(d, g, &g->nodes[bad], "the graph has a cycle through this node");
    free(indeg), free(heap), free(order);
    return st;
  }
  ec_node *sorted = ec_alloc(sizeof(ec_node) * (size_t)(nn + 1));
  if (!sorted) {
    free(indeg), free(heap), free(order);
    return EC_ERR_INTERNAL;
  }
  for (int i = 0; i < nn; i++) sorted[i] = g->nodes[order[i]];
  free(g->nodes);
  g->nodes = sorted;
  g->cap_nodes = nn + 1;
  free(indeg), free(heap), free(order);
  return ec_graph_link(g);
}

/* A name for a tensor moved into g: its own, or NAME/2, NAME/3... where g already has it. */
int ec_graph_fresh_tensor(ec_graph *g, const char *name) {
  if (ec_graph_find(g, name) < 0) return ec_graph_tensor(g, name);
  size_t len = strlen(name) + 24;
  char *buf = malloc(len);
  if (!buf) return -1;
  int t = -1;
  for (long k = 2;; k++) {
    snprintf(buf, len, "%s/%ld", name, k);
    if (ec_graph_find(g, buf) < 0) {
      t = ec_graph_tensor(g, buf);
      break;
    }
  }
  free(buf);
  return t;
}

/* A deep copy of an attribute that holds no graph. */
static ec_status copy_attr(ec_attr *d, const ec_attr *a) {
  *d = *a;
  d->name = NULL, d->s = NULL, d->ints = NULL, d->floats = NULL, d->strings = NULL, d->t = NULL;
  if (a->graph) return EC_ERR_INTERNAL;
  bool ok = (d->name = ec_strdup(a->name)) != NULL;
  if (ok && a->s) ok = (d->s = ec_strndup(a->s, a->s_len)) != NULL;
  if (ok && a->ints) ok = (d->ints = ec_realloc_array(NULL, (size_t)a->n + 1, sizeof(int64_t))) != NULL;
  if (ok && a->ints) memcpy(d->ints, a->ints, sizeof(int64_t) * (size_t)a->n);
  if (ok && a->floats) ok = (d->floats = ec_realloc_array(NULL, (size_t)a->n + 1, sizeof(float))) != NULL;
  if (ok && a->floats) memcpy(d->floats, a->floats, sizeof(float) * (size_t)a->n);
  if (ok && a->strings) ok = (d->strings = ec_alloc(sizeof(char *) * ((size_t)a->n + 1))) != NULL;
  for (int i = 0; ok && a->strings && i < a->n; i++) ok = (d->strings[i] = ec_strdup(a->strings[i])) != NULL;
  if (ok && a->t) ok = (d->t = ec_alloc(sizeof *d->t)) != NULL;
  if (ok && a->t) {
    *d->t = *a->t;
    d->t->data = malloc(a->t->nbytes ? a->t->nbytes : 1);
    ok = d->t->data != NULL;
    if (ok) memcpy(d->t->data, a->t->data, a->t->nbytes);
  }
  return ok ? EC_OK : EC_ERR_INTERNAL;
}

ec_status ec_graph_inline_subgraph(ec_graph *g, int node, int s, const int *formals, bool copy,
                                   int *outs) {
  ec_graph *sub = g->nodes[node].subgraphs[s];
  if (sub->n_inputs && !formals) return EC_ERR_INTERNAL;
  int base = ec_node_n_explicit_inputs(&g->nodes[node]);
  for (int k = 0; k < s; k++) base += g->nodes[node].subgraphs[k]->n_captures;
  int *map = ec_alloc(sizeof(int) * (size_t)(sub->n_tensors + 1));
  bool *mapped = ec_alloc(sizeof(bool) * (size_t)(sub->n_tensors + 1));
  ec_status st = map && mapped ? EC_OK : EC_ERR_INTERNAL;
  for (int k = 0; k < sub->n_captures && !st; k++) {
    map[sub->captures[k]] = g->nodes[node].inputs[base + k];
    mapped[sub->captures[k]] = true;
  }
  for (int k = 0; k < sub->n_inputs && !st; k++) {
    map[sub->inputs[k]] = formals[k];
    mapped[sub->inputs[k]] = true;
  }
  for (int t = 0; t < sub->n_tensors && !st; t++) {
    if (mapped[t]) continue;
    ec_tensor *from = &sub->tensors[t];
    int o = ec_graph_fresh_tensor(g, from->name);
    if (o < 0) {
      st = EC_ERR_INTERNAL;
      break;
    }
    ec_tensor *to = &g->tensors[o];
    to->dtype = from->dtype;
    to->rank = from->rank;
    memcpy(to->dims, from->dims, sizeof to->dims);
    to->kind = from->kind;
    to->layout = from->layout;
    map[t] = o;
    if (copy && from->data) {
      st = ec_tensor_set_data(to, from->data, from->nbytes, false);
    } else {
      to->data = from->data, to->nbytes = from->nbytes, to->owned = from->owned;
      from->owned = false; /* the bytes belong to g now */
    }
  }
  for (int m = 0; m < sub->n_nodes && !st; m++) {
    ec_node *sn = &sub->nodes[m];
    if (sn->dead) continue;
    int k = ec_graph_add_node(g, sn->op_type, sn->domain, sn->name);
    if (k < 0) {
      st = EC_ERR_INTERNAL;
      break;
    }
    ec_node *nd = &g->nodes[k];
    nd->op = sn->op;
    nd->index = g->nodes[node].index;
    int *ins = ec_alloc(sizeof(int) * (size_t)(sn->n_inputs + 1));
    int *os = ec_alloc(sizeof(int) * (size_t)(sn->n_outputs + 1));
    if (ins && os) {
      for (int i = 0; i < sn->n_inputs; i++) ins[i] = sn->inputs[i] < 0 ? -1 : map[sn->inputs[i]];
      for (int i = 0; i < sn->n_outputs; i++) os[i] = sn->outputs[i] < 0 ? -1 : map[sn->outputs[i]];
      st = ec_node_set_inputs(g, k, ins, sn->n_inputs);
      if (!st) st = ec_node_set_outputs(g, k, os, sn->n_outputs);
    } else {
      st = EC_ERR_INTERNAL;
    }
    free(ins), free(os);
    nd = &g->nodes[k];
    if (!st && copy) { /* params are not copied: inference makes them again */
      if (sn->n_subgraphs) st = EC_ERR_INTERNAL;
      if (!st && !(nd->attrs = ec_alloc(sizeof(ec_attr) * (size_t)(sn->n_attrs + 1)))) st = EC_ERR_INTERNAL;
      for (int i = 0; i < sn->n_attrs && !st; i++, nd->n_attrs++) st = copy_attr(&nd->attrs[i], &sn->attrs[i]);
    } else if (!st) { /* moved: the subgraph is freed with the dead node */
      nd->attrs = sn->attrs, nd->n_attrs = sn->n_attrs, sn->attrs = NULL, sn->n_attrs = 0;
      nd->params = sn->params, nd->params_size = sn->params_size, sn->params = NULL;
      nd->subgraphs = sn->subgraphs, nd->n_subgraphs = sn->n_subgraphs;
      sn->subgraphs = NULL, sn->n_subgraphs = 0;
      for (int i = 0; i < nd->n_subgraphs; i++) nd->subgraphs[i]->parent = g;
    }
  }
  for (int k = 0; k < sub->n_outputs && !st; k++) outs[k] = map[sub->outputs[k]];
  free(map), free(mapped);
  return st;
}

ec_status ec_graph_compact(ec_graph *g) {
  int w = 0;
  for (int i = 0; i < g->n_nodes; i++) {
    ec_node *n = &g->nodes[i];
    if (n->dead) {
      free_node(n);
      continue;
    }
    g->nodes[w++] = *n;
  }
  g->n_nodes = w;
  return ec_graph_link(g);
}

void ec_node_clear_attrs(ec_node *n) {
  for (int k = 0; k < n->n_attrs; k++) free_attr(&n->attrs[k]);
  free(n->attrs), free(n->params);
  n->attrs = NULL, n->params = NULL;
  n->n_attrs = 0, n->params_size = 0;
}

void ec_graph_warn(ec_graph *g, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  char **p = ec_realloc_array(g->warnings, (size_t)g->n_warnings + 1, sizeof(char *));
  if (!p) return;
  g->warnings = p;
  g->warnings[g->n_warnings] = ec_strdup(msg);
  if (g->warnings[g->n_warnings]) g->n_warnings++;
}

/* ---- tensors --------------------------------------------------------------------------------- */

int64_t ec_tensor_numel(const ec_tensor *t) {
  if (t->rank < 0) return -1;
  int64_t n = 1;
  for (int i = 0; i < t->rank; i++) n *= t->dims[i];
  return n;
}

bool ec_tensor_is_const(const ec_tensor *t) { return t->kind == EC_TK_CONSTANT; }

ec_status ec_tensor_set_data(ec_tensor *t, void *data, size_t nbytes, bool take) {
  void *p = data;
  if (!take) {
    p = malloc(nbytes ? nbytes : 1);
    if (!p) return EC_ERR_INTERNAL;
    if (nbytes) memcpy(p, data, nbytes);
  }
  if (t->owned) free(t->data);
  t->data = p;
  t->nbytes = nbytes;
  t->owned = true;
  t->kind = EC_TK_CONSTANT;
  return EC_OK;
}

ec_status ec_tensor_make_const(ec_tensor *t, int32_t dtype, int rank, const int64_t *dims, void *data,
                               size_t nbytes) {
  t->dtype = dtype;
  t->rank = rank;
  for (int k = 0; k < rank; k++) t->dims[k] = dims[k];
  return ec_tensor_set_data(t, data, nbytes, true);
}

void ec_tensor_view(const ec_tensor *t, eck_tensor *v) {
  memset(v, 0, sizeof *v);
  v->dtype = t->dtype;
  v->rank = t->rank < 0 ? 0 : t->rank;
  for (int i = 0; i < v->rank; i++) v->dims[i] = t->dims[i];
  v->data = t->data;
}

void ec_graph_tensor_models(const ec_graph *g, uint32_t *tmask) {
  for (int k = 0; k < g->n_outputs; k++) tmask[g->outputs[k]] |= 1u << g->output_model[k];
  for (bool changed = true; changed;) {
    changed = false;
    for (int i = g->n_nodes - 1; i >= 0; i--) {
      const ec_node *n = &g->nodes[i];
      if (n->dead) continue;
      uint32_t nm = 0;
      for (int k = 0; k < n->n_outputs; k++)
        if (n->outputs[k] >= 0) nm |= tmask[n->outputs[k]];
      for (int k = 0; k < n->n_inputs; k++) {
        int t = n->inputs[k];
        if (t < 0 || (tmask[t] | nm) == tmask[t]) continue;
        tmask[t] |= nm;
        changed = true;
      }
    }
  }
}
