/* calib.c — the calibration run: lists a folder's samples, runs each over the graph with the
 * reference kernels (ec_eval_node, as `edgecc eval` does), and keeps per float activation its
 * minimum and maximum and, for the histogram methods, a histogram — never the values themselves.
 *
 * The histogram methods run the set twice: the first pass finds each tensor's range, the second
 * fills a histogram over that fixed range. ONNX Runtime instead widens a histogram as larger
 * values arrive and re-bins it, so its bins depend on the order of the samples; two passes give
 * bins that depend on the set alone, at twice the compute. Values are freed once their last
 * consumer has run, so memory stays that of one inference plus the histograms (16 KB a tensor). */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "calib.h"
#include "op.h"
#include "sha256.h"
#include "tensor_pb.h"

static const char *const method_names[] = {
    [EC_CALIB_MINMAX] = "minmax", [EC_CALIB_PERCENTILE] = "percentile", [EC_CALIB_ENTROPY] = "entropy"};

bool ec_calib_method_parse(const char *s, ec_calib_method *m) {
  for (int k = 0; k < (int)(sizeof method_names / sizeof method_names[0]); k++)
    if (strcmp(s, method_names[k]) == 0) {
      *m = (ec_calib_method)k;
      return true;
    }
  return false;
}

const char *ec_calib_method_name(ec_calib_method m) { return method_names[m]; }

/* ---- the set --------------------------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *join(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  char *s = malloc(la + lb + 2);
  if (s) snprintf(s, la + lb + 2, "%s%s%s", a, la && a[la - 1] == '/' ? "" : "/", b);
  return s;
}

static bool is_kind(const char *path, mode_t kind) {
  struct stat st;
  return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == kind;
}

static bool ends_with_pb(const char *s) {
  size_t n = strlen(s);
  return n > 3 && strcmp(s + n - 3, ".pb") == 0;
}

void ec_calib_set_free(ec_calib_set *set) {
  for (int i = 0; i < set->n_samples; i++) {
    ec_calib_sample *s = &set->samples[i];
    for (int k = 0; s->rel && k < set->n_inputs; k++) free(s->rel[k]);
    for (int k = 0; s->path && k < set->n_inputs; k++) free(s->path[k]);
    free(s->rel);
    free(s->path);
    free(s->name);
  }
  free(set->samples);
  memset(set, 0, sizeof *set);
}

/* The entries of dir that are .pb files (folders == false) or subfolders holding input_0.pb,
 * sorted. */
static ec_status list_entries(const char *dir, bool folders, char ***out, int *n, ec_diag *d) {
  *out = NULL;
  *n = 0;
  DIR *dp = opendir(dir);
  if (!dp) {
    ec_diag_set(d, "", "", "--calib %s: cannot open the folder: %s", dir, strerror(errno));
    return EC_ERR_USAGE;
  }
  char **names = NULL;
  int count = 0, cap = 0;
  ec_status st = EC_OK;
  struct dirent *e;
  while (!st && (e = readdir(dp))) {
    if (e->d_name[0] == '.') continue;
    if (!folders && !ends_with_pb(e->d_name)) continue;
    char *path = join(dir, e->d_name), *probe = path && folders ? join(path, "input_0.pb") : NULL;
    bool take = path && (folders ? probe && is_kind(path, S_IFDIR) && is_kind(probe, S_IFREG)
                                 : is_kind(path, S_IFREG));
    if (!path || (folders && !probe)) st = EC_ERR_INTERNAL;
    free(path);
    free(probe);
    if (st || !take) continue;
    if (count == cap) {
      char **nn = ec_realloc_array(names, (size_t)(cap = cap ? 2 * cap : 64), sizeof *names);
      if (!nn) {
        st = EC_ERR_INTERNAL;
        break;
      }
      names = nn;
    }
    if (!(names[count] = ec_strdup(e->d_name))) st = EC_ERR_INTERNAL;
    else count++;
  }
  closedir(dp);
  if (st) {
    for (int i = 0; i < count; i++) free(names[i]);
    free(names);
    ec_diag_set(d, "", "", "out of memory listing %s", dir);
    return st;
  }
  /* readdir's order is the file system's: sorting makes the set (and its hash) reproducible. */
  if (count) qsort(names, (size_t)count, sizeof *names, cmp_str);
  *out = names;
  *n = count;
  return EC_OK;
}

ec_status ec_calib_list(const char *dir, int n_inputs, int max, ec_calib_set *set, ec_diag *d) {
  memset(set, 0, sizeof *set);
  if (!is_kind(dir, S_IFDIR)) {
    ec_diag_set(d, "", "", "--calib %s: %s", dir,
                is_kind(dir, S_IFREG) ? "not a folder (give the folder of .pb files)" : "no such folder");
    return EC_ERR_USAGE;
  }
  if (n_inputs < 1) {
    ec_diag_set(d, "", "", "--calib: the model has no input to calibrate with");
    return EC_ERR_USAGE;
  }
  char **names = NULL;
  int n = 0;
  bool folders = n_inputs > 1;
  ec_status st = EC_OK;
  if (!folders) {
    st = list_entries(dir, false, &names, &n, d);
    folders = !st && n == 0;
  }
  if (!st && folders) st = list_entries(dir, true, &names, &n, d);
  if (st) return st;
  if (n == 0) {
    if (n_inputs > 1)
      ec_diag_set(d, "", "", "--calib %s: no sample: the model has %d inputs, so each sample is a "
                  "subfolder holding input_0.pb ... input_%d.pb", dir, n_inputs, n_inputs - 1);
    else
      ec_diag_set(d, "", "", "--calib %s: no .pb file (each sample is one TensorProto .pb file, or "
                  "a subfolder holding input_0.pb)", dir);
    return EC_ERR_USAGE;
  }
  int take = n < max ? n : max;
  set->n_found = n;
  set->n_inputs = n_inputs;
  set->samples = ec_alloc(sizeof *set->samples * (size_t)take);
  for (int i = 0; set->samples && i < take && !st; i++) {
    ec_calib_sample *s = &set->samples[i];
    set->n_samples++;
    s->name = names[i];
    names[i] = NULL;
    s->rel = ec_alloc(sizeof *s->rel * (size_t)n_inputs);
    s->path = ec_alloc(sizeof *s->path * (size_t)n_inputs);
    if (!s->rel || !s->path) st = EC_ERR_INTERNAL;
    for (int k = 0; !st && k < n_inputs; k++) {
      char file[32];
      snprintf(file, sizeof file, "input_%d.pb", k);
      s->rel[k] = folders ? join(s->name, file) : ec_strdup(s->name);
      s->path[k] = s->rel[k] ? join(dir, s->rel[k]) : NULL;
      if (!s->path[k]) st = EC_ERR_INTERNAL;
      else if (!is_kind(s->path[k], S_IFREG)) {
        ec_diag_set(d, s->path[k], "", "missing: the model has %d inputs, so each sample folder "
                    "holds input_0.pb ... input_%d.pb", n_inputs, n_inputs - 1);
        st = EC_ERR_MODEL;
      }
    }
  }
  if (!set->samples) st = EC_ERR_INTERNAL;
  for (int i = 0; i < n; i++) free(names[i]);
  free(names);
  if (st == EC_ERR_INTERNAL) ec_diag_set(d, "", "", "out of memory listing %s", dir);
  if (st) ec_calib_set_free(set);
  return st;
}

/* ---- the run --------------------------------------------------------------------------------- */

typedef struct acc {
  int tensor;
  float min, max;
  int64_t count;
  uint64_t *hist; /* EC_CALIB_BINS, the histogram pass only */
} acc;

typedef struct run_state {
  ec_graph *g;
  const ec_calib_opts *o;
  acc *accs;
  int n_accs;
  int *slot;      /* per tensor: index into accs, -1 for tensors not calibrated */
  int *last_use;  /* per tensor: the last node reading it (its producer for unread outputs) */
  void **values;  /* per tensor, this sample's data */
  int pass;       /* 1: ranges; 2: histograms */
  ec_sha256 sha;  /* of the files read in pass 1 */
} run_state;

static bool calibrated(const ec_tensor *t) {
  return t->dtype == ECK_FLOAT && t->kind != EC_TK_CONSTANT && ec_tensor_numel(t) > 0;
}

static ec_status observe(run_state *rs, int tensor, const char *sample, ec_diag *d) {
  int s = rs->slot[tensor];
  if (s < 0) return EC_OK;
  acc *a = &rs->accs[s];
  const ec_tensor *t = &rs->g->tensors[tensor];
  const float *x = rs->values[tensor];
  int64_t n = ec_tensor_numel(t);
  if (rs->pass == 1) {
    for (int64_t i = 0; i < n; i++) {
      if (!isfinite(x[i])) {
        ec_diag_set(d, sample, "", "tensor '%s' holds %s at element %lld: a range needs finite values",
                    t->name, isnan(x[i]) ? "NaN" : "an infinity", (long long)i);
        return EC_ERR_MODEL;
      }
      if (a->count == 0 && i == 0) a->min = a->max = x[0];
      if (x[i] < a->min) a->min = x[i];
      if (x[i] > a->max) a->max = x[i];
    }
    a->count += n;
    return EC_OK;
  }
  if (!a->hist) return EC_OK;
  double amax = fmax(fabs((double)a->min), fabs((double)a->max));
  if (rs->o->method == EC_CALIB_PERCENTILE)
    for (int64_t i = 0; i < n; i++) a->hist[ec_calib_abs_bin(x[i], amax)]++;
  else
    for (int64_t i = 0; i < n; i++) a->hist[ec_calib_signed_bin(x[i], amax)]++;
  return EC_OK;
}

static void release(run_state *rs, int tensor) {
  free(rs->values[tensor]);
  rs->values[tensor] = NULL;
}

/* Feeds one sample's files to the graph inputs, runs every node and observes every calibrated
 * tensor as soon as it is computed. */
static ec_status run_sample(run_state *rs, const ec_calib_sample *smp, int n_inputs, ec_diag *d) {
  ec_graph *g = rs->g;
  ec_status st = EC_OK;
  for (int k = 0; k < n_inputs && !st; k++) {
    uint8_t *buf;
    size_t len;
    if ((st = ec_read_file(smp->path[k], &buf, &len, d))) break;
    if (rs->pass == 1) {
      /* The hash covers each file's name relative to DIR, its length and its bytes. */
      uint8_t le[8];
      for (int b = 0; b < 8; b++) le[b] = (uint8_t)((uint64_t)len >> (8 * b));
      ec_sha256_update(&rs->sha, smp->rel[k], strlen(smp->rel[k]) + 1);
      ec_sha256_update(&rs->sha, le, sizeof le);
      ec_sha256_update(&rs->sha, buf, len);
    }
    ec_const c;
    st = ec_onnx_parse_tensor(buf, len, smp->path[k], &c, NULL, d);
    free(buf);
    if (st) break;
    int ti = g->inputs[k];
    const ec_tensor *t = &g->tensors[ti];
    bool ok = c.dtype == t->dtype && c.rank == t->rank;
    for (int j = 0; ok && j < c.rank; j++) ok = c.dims[j] == t->dims[j];
    if (!ok) {
      ec_buf want = {0}, got = {0};
      for (int j = 0; j < t->rank; j++) ec_buf_printf(&want, "%s%lld", j ? "," : "", (long long)t->dims[j]);
      for (int j = 0; j < c.rank; j++) ec_buf_printf(&got, "%s%lld", j ? "," : "", (long long)c.dims[j]);
      ec_diag_set(d, smp->path[k], "", "input '%s' is %s [%s], the file holds %s [%s]", t->name,
                  ec_dtype_name(t->dtype), want.data ? want.data : "", ec_dtype_name(c.dtype),
                  got.data ? got.data : "");
      ec_buf_free(&want);
      ec_buf_free(&got);
      free(c.data);
      st = EC_ERR_MODEL;
      break;
    }
    rs->values[ti] = c.data;
    st = observe(rs, ti, smp->path[k], d);
    if (!st && rs->last_use[ti] < 0) release(rs, ti);
  }
  const char *where = smp->path[0];
  for (int i = 0; i < g->n_nodes && !st; i++) {
    const ec_node *n = &g->nodes[i];
    if ((st = ec_eval_node(g, i, rs->values, d))) break;
    for (int k = 0; k < n->n_outputs && !st; k++)
      if (n->outputs[k] >= 0) st = observe(rs, n->outputs[k], where, d);
    for (int k = 0; k < n->n_inputs; k++)
      if (n->inputs[k] >= 0 && rs->last_use[n->inputs[k]] == i) release(rs, n->inputs[k]);
    for (int k = 0; k < n->n_outputs; k++)
      if (n->outputs[k] >= 0 && rs->last_use[n->outputs[k]] == i) release(rs, n->outputs[k]);
  }
  for (int t = 0; t < g->n_tensors; t++) release(rs, t);
  return st;
}

static ec_status run_pass(run_state *rs, const ec_calib_set *set, int n_passes, ec_diag *d) {
  for (int i = 0; i < set->n_samples; i++) {
    ec_status st = run_sample(rs, &set->samples[i], set->n_inputs, d);
    if (st) return st;
    if (rs->o->progress) rs->o->progress(rs->o->progress_ctx, rs->pass, n_passes, i + 1, set->n_samples);
  }
  return EC_OK;
}

/* Per (weight, axis), the per-channel maximum of |w|. */
static ec_status weight_absmax(const ec_graph *g, ec_calib_weight *w, ec_diag *d) {
  const ec_tensor *t = &g->tensors[w->tensor];
  const float *x = t->data;
  int64_t outer = 1, inner = 1, ch = w->axis < 0 ? 1 : t->dims[w->axis];
  for (int k = 0; w->axis >= 0 && k < t->rank; k++) {
    if (k < w->axis) outer *= t->dims[k];
    if (k > w->axis) inner *= t->dims[k];
  }
  if (w->axis < 0) inner = ec_tensor_numel(t);
  w->channels = (int)ch;
  w->absmax = ec_alloc(sizeof(float) * (size_t)(ch ? ch : 1));
  w->scale = ec_alloc(sizeof(float) * (size_t)(ch ? ch : 1));
  if (!w->absmax || !w->scale) return EC_ERR_INTERNAL;
  for (int64_t o = 0; o < outer; o++)
    for (int64_t c = 0; c < ch; c++)
      for (int64_t i = 0; i < inner; i++) {
        float v = x[(o * ch + c) * inner + i];
        if (!isfinite(v)) {
          ec_diag_set(d, g->source_path ? g->source_path : "", "",
                      "weight '%s' holds a non-finite value: it cannot be quantized", t->name);
          return EC_ERR_MODEL;
        }
        if (fabsf(v) > w->absmax[c]) w->absmax[c] = fabsf(v);
      }
  for (int64_t c = 0; c < ch; c++)
    w->scale[c] = w->absmax[c] > 0 ? (float)((double)w->absmax[c] / 127.0) : 1.0f;
  return EC_OK;
}

static ec_status add_weight_use(ec_calib_result *r, int tensor, int axis, const ec_node *n) {
  ec_calib_weight *w = NULL;
  for (int i = 0; i < r->n_weights && !w; i++)
    if (r->weights[i].tensor == tensor && r->weights[i].axis == axis) w = &r->weights[i];
  if (!w) {
    ec_calib_weight *nw = ec_realloc_array(r->weights, (size_t)r->n_weights + 1, sizeof *nw);
    if (!nw) return EC_ERR_INTERNAL;
    r->weights = nw;
    w = &r->weights[r->n_weights++];
    memset(w, 0, sizeof *w);
    w->tensor = tensor;
    w->axis = axis;
  }
  /* Node names, NUL-separated, in graph order. */
  size_t have = 0;
  for (int i = 0; i < w->n_nodes; i++) have += strlen(w->nodes + have) + 1;
  size_t add = strlen(n->name) + 1;
  char *nn = realloc(w->nodes, have + add);
  if (!nn) return EC_ERR_INTERNAL;
  memcpy(nn + have, n->name, add);
  w->nodes = nn;
  w->n_nodes++;
  return EC_OK;
}

/* The weights to quantize per channel: constant float B/W operands of Conv, Gemm and MatMul. */
static ec_status collect_weights(const ec_graph *g, ec_calib_result *r, ec_diag *d) {
  for (int i = 0; i < g->n_nodes; i++) {
    const ec_node *n = &g->nodes[i];
    if (n->domain[0] || n->n_inputs < 2 || n->inputs[1] < 0) continue;
    const ec_tensor *t = &g->tensors[n->inputs[1]];
    if (t->dtype != ECK_FLOAT || !t->data || t->kind != EC_TK_CONSTANT) continue;
    int axis;
    if (strcmp(n->op_type, "Conv") == 0)
      axis = 0; /* [M, C/group, k...]: output channels first */
    else if (strcmp(n->op_type, "Gemm") == 0)
      axis = n->params && ((const eck_gemm_params *)n->params)->trans_b ? 0 : 1;
    else if (strcmp(n->op_type, "MatMul") == 0)
      axis = t->rank >= 2 ? t->rank - 1 : -1;
    else
      continue;
    if (add_weight_use(r, n->inputs[1], axis, n)) return EC_ERR_INTERNAL;
  }
  for (int i = 0; i < r->n_weights; i++) {
    ec_status st = weight_absmax(g, &r->weights[i], d);
    if (st) return st;
  }
  return EC_OK;
}

typedef struct named {
  const char *name;
  int axis;
  int index;
} named;

static int cmp_named(const void *a, const void *b) {
  const named *x = a, *y = b;
  int c = strcmp(x->name, y->name);
  return c ? c : (x->axis > y->axis) - (x->axis < y->axis);
}

/* Sorts r's ranges and weights by tensor name (then axis): the file is then independent of the
 * graph's node order. */
static ec_status sort_result(const ec_graph *g, ec_calib_result *r) {
  int n = r->n_ranges > r->n_weights ? r->n_ranges : r->n_weights;
  named *keys = ec_alloc(sizeof *keys * (size_t)(n ? n : 1));
  ec_calib_range *ranges = ec_alloc(sizeof *ranges * (size_t)(r->n_ranges ? r->n_ranges : 1));
  ec_calib_weight *weights = ec_alloc(sizeof *weights * (size_t)(r->n_weights ? r->n_weights : 1));
  ec_status st = keys && ranges && weights ? EC_OK : EC_ERR_INTERNAL;
  if (!st) {
    for (int i = 0; i < r->n_ranges; i++) keys[i] = (named){g->tensors[r->ranges[i].tensor].name, 0, i};
    qsort(keys, (size_t)r->n_ranges, sizeof *keys, cmp_named);
    for (int i = 0; i < r->n_ranges; i++) ranges[i] = r->ranges[keys[i].index];
    for (int i = 0; i < r->n_weights; i++)
      keys[i] = (named){g->tensors[r->weights[i].tensor].name, r->weights[i].axis, i};
    qsort(keys, (size_t)r->n_weights, sizeof *keys, cmp_named);
    for (int i = 0; i < r->n_weights; i++) weights[i] = r->weights[keys[i].index];
    free(r->ranges);
    free(r->weights);
    r->ranges = ranges;
    r->weights = weights;
    ranges = NULL;
    weights = NULL;
  }
  free(keys);
  free(ranges);
  free(weights);
  return st;
}

ec_status ec_calib_run(ec_graph *g, const ec_calib_set *set, const ec_calib_opts *o,
                       ec_calib_result *r, ec_diag *d) {
  memset(r, 0, sizeof *r);
  r->method = o->method;
  r->max_samples = o->max_samples;
  r->n_samples = set->n_samples;
  if (set->n_inputs != g->n_inputs) {
    ec_diag_set(d, "", "", "--calib: the set has %d file(s) per sample, the model takes %d input(s)",
                set->n_inputs, g->n_inputs);
    return EC_ERR_USAGE;
  }
  run_state rs;
  memset(&rs, 0, sizeof rs);
  rs.g = g;
  rs.o = o;
  size_t nt = (size_t)g->n_tensors + 1;
  rs.slot = ec_alloc(sizeof(int) * nt);
  rs.last_use = ec_alloc(sizeof(int) * nt);
  rs.values = ec_alloc(sizeof(void *) * nt);
  rs.accs = ec_alloc(sizeof(acc) * nt);
  ec_status st = rs.slot && rs.last_use && rs.values && rs.accs ? EC_OK : EC_ERR_INTERNAL;
  for (int t = 0; !st && t < g->n_tensors; t++) {
    rs.slot[t] = -1;
    rs.last_use[t] = -1;
  }
  for (int i = 0; !st && i < g->n_nodes; i++) {
    const ec_node *n = &g->nodes[i];
    for (int k = 0; k < n->n_inputs; k++)
      if (n->inputs[k] >= 0) rs.last_use[n->inputs[k]] = i;
    for (int k = 0; k < n->n_outputs; k++)
      if (n->outputs[k] >= 0 && rs.last_use[n->outputs[k]] < i) rs.last_use[n->outputs[k]] = i;
  }
  /* The calibrated tensors: float graph inputs, then float node outputs in graph order. */
  for (int k = 0; !st && k < g->n_inputs + g->n_nodes; k++) {
    const ec_node *n = k < g->n_inputs ? NULL : &g->nodes[k - g->n_inputs];
    int m = n ? n->n_outputs : 1;
    for (int j = 0; j < m; j++) {
      int t = n ? n->outputs[j] : g->inputs[k];
      if (t < 0 || rs.slot[t] >= 0 || !calibrated(&g->tensors[t])) continue;
      rs.slot[t] = rs.n_accs;
      rs.accs[rs.n_accs++].tensor = t;
    }
  }
  int n_passes = o->method == EC_CALIB_MINMAX ? 1 : 2;
  if (!st) {
    ec_sha256_init(&rs.sha);
    rs.pass = 1;
    st = run_pass(&rs, set, n_passes, d);
  }
  if (!st) {
    char tail[64];
    int len = snprintf(tail, sizeof tail, "method=%s\nmax=%d\n", ec_calib_method_name(o->method),
                       o->max_samples);
    ec_sha256_update(&rs.sha, tail, (size_t)len);
    ec_sha256_final(&rs.sha, r->sha256);
  }
  if (!st && n_passes == 2) {
    for (int i = 0; i < rs.n_accs && !st; i++)
      if (rs.accs[i].min != 0 || rs.accs[i].max != 0) { /* an all-zero tensor needs no histogram */
        rs.accs[i].hist = ec_alloc(sizeof(uint64_t) * EC_CALIB_BINS);
        if (!rs.accs[i].hist) st = EC_ERR_INTERNAL;
      }
    rs.pass = 2;
    if (!st) st = run_pass(&rs, set, n_passes, d);
  }
  if (!st) {
    r->ranges = ec_alloc(sizeof *r->ranges * (size_t)(rs.n_accs ? rs.n_accs : 1));
    if (!r->ranges) st = EC_ERR_INTERNAL;
  }
  for (int i = 0; !st && i < rs.n_accs; i++) {
    const acc *a = &rs.accs[i];
    ec_calib_range *cr = &r->ranges[r->n_ranges++];
    cr->tensor = a->tensor;
    cr->count = a->count;
    cr->min = a->min;
    cr->max = a->max;
    double amax = fmax(fabs((double)a->min), fabs((double)a->max));
    double t = amax;
    if (a->hist && o->method == EC_CALIB_PERCENTILE) t = ec_calib_percentile(a->hist, amax);
    if (a->hist && o->method == EC_CALIB_ENTROPY) t = ec_calib_entropy(a->hist, amax);
    cr->threshold = (float)t;
    /* A symmetric threshold, clipped to what was seen: a ReLU output keeps lo = 0. */
    cr->lo = -cr->threshold > a->min ? -cr->threshold : a->min;
    cr->hi = cr->threshold < a->max ? cr->threshold : a->max;
    ec_calib_qparams(cr->lo, cr->hi, &cr->scale, &cr->zero_point);
  }
  if (!st) st = collect_weights(g, r, d);
  if (!st) st = sort_result(g, r);
  if (st == EC_ERR_INTERNAL && !d->msg[0]) ec_diag_set(d, "", "", "out of memory while calibrating");
  for (int i = 0; rs.accs && i < rs.n_accs; i++) free(rs.accs[i].hist);
  for (int t = 0; rs.values && t < g->n_tensors; t++) free(rs.values[t]);
  free(rs.accs);
  free(rs.slot);
  free(rs.last_use);
  free(rs.values);
  if (st) ec_calib_result_free(r);
  return st;
}

void ec_calib_result_free(ec_calib_result *r) {
  for (int i = 0; i < r->n_weights; i++) {
    free(r->weights[i].absmax);
    free(r->weights[i].scale);
    free(r->weights[i].nodes);
  }
  free(r->weights);
  free(r->ranges);
  memset(r, 0, sizeof *r);
}
