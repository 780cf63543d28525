/* pass_check.c — checks that the graph passes change no result: loads a model, runs it in-process
 * with every pass off, then with each pass alone, all passes, and all but one, and compares.
 *
 * usage: pass_check MODEL [--input F.pb]... [--data-dir DIR] [--rtol R] [--quick] [--want F.pb]...
 *                   [--expect PASS=N]... [--expect-op OP=N]... [--expect-op-off PASS:OP=N]...
 * Inputs come from --input files, from DIR/input_<i>.pb, or from a seeded generator. Outputs of
 * a configuration without the passes that round differently (bn-fold, layernorm, gelu,
 * pow-square) must be bit-identical to the reference; with one of them, within R (default 1e-5)
 * of the largest reference value. --expect checks how many rewrites a pass made
 * with all passes on (const-fold: nodes folded while loading); --expect-op how many nodes of an op
 * remain, --expect-op-off the same with only PASS off. --want gives the outputs computed by
 * something other than edgecc (torch, numpy), in graph-output order: every configuration must
 * match them within R of their largest value. Exit 0 when all checks hold. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx_load.h"
#include "op.h"
#include "passes.h"

#define MAX_ITEMS 64

typedef struct {
  const char *name;
  int value;
  int off; /* --expect-op-off: the pass switched off (-1: all passes on) */
} expect;

typedef struct {
  const char *model;
  const char *inputs[MAX_ITEMS];
  int n_inputs;
  const char *data_dir;
  const char *wants[MAX_ITEMS];
  int n_wants;
  double rtol;
  bool quick;
  expect passes[MAX_ITEMS], ops[MAX_ITEMS];
  int n_passes, n_ops;
} args;

/* The result of one run: output tensors in graph-output order. */
typedef struct {
  int n;
  char *names[MAX_ITEMS];
  int32_t dtype[MAX_ITEMS];
  int rank[MAX_ITEMS];
  int64_t dims[MAX_ITEMS][EC_MAX_RANK];
  void *data[MAX_ITEMS];
  size_t nbytes[MAX_ITEMS];
  int n_nodes;
  int counts[32];
} run_result;

static ec_const inputs[MAX_ITEMS];
static int n_inputs_made;

static void result_free(run_result *r) {
  for (int i = 0; i < r->n; i++) free(r->names[i]), free(r->data[i]);
  memset(r, 0, sizeof *r);
}

/* Deterministic inputs: values in [-1, 1) for floats, small integers otherwise. */
static uint32_t rng = 12345u;
static uint32_t next_rand(void) {
  rng = rng * 1664525u + 1013904223u;
  return rng >> 8;
}

static ec_status make_input(const ec_tensor *t, ec_const *c) {
  memset(c, 0, sizeof *c);
  c->dtype = t->dtype;
  c->rank = t->rank;
  memcpy(c->dims, t->dims, sizeof c->dims);
  int64_t n = ec_tensor_numel(t);
  size_t es = ec_dtype_size(t->dtype);
  c->nbytes = (size_t)n * es;
  c->data = ec_alloc(c->nbytes + 1);
  if (!c->data) return EC_ERR_INTERNAL;
  for (int64_t i = 0; i < n; i++) {
    double v = (double)(next_rand() % 65536) / 32768.0 - 1.0;
    switch (t->dtype) {
      case ECK_FLOAT: ((float *)c->data)[i] = (float)v; break;
      case ECK_DOUBLE: ((double *)c->data)[i] = v; break;
      case ECK_INT64: ((int64_t *)c->data)[i] = (int64_t)(next_rand() % 4); break;
      case ECK_INT32: ((int32_t *)c->data)[i] = (int32_t)(next_rand() % 4); break;
      case ECK_BOOL: ((uint8_t *)c->data)[i] = (uint8_t)(next_rand() & 1); break;
      default: memset((char *)c->data + i * (int64_t)es, (int)(next_rand() % 4), es); break;
    }
  }
  return EC_OK;
}

/* Reads or makes the inputs once, from the first graph loaded. */
static ec_status prepare_inputs(const args *a, const ec_graph *g, ec_diag *d) {
  for (int i = 0; i < g->n_inputs; i++) {
    const ec_tensor *t = &g->tensors[g->inputs[i]];
    char path[4096];
    const char *file = NULL;
    if (a->n_inputs) {
      if (i >= a->n_inputs) {
        ec_diag_set(d, a->model, "", "the model takes %d inputs, %d given", g->n_inputs, a->n_inputs);
        return EC_ERR_MODEL;
      }
      file = a->inputs[i];
    } else if (a->data_dir) {
      snprintf(path, sizeof path, "%s/input_%d.pb", a->data_dir, i);
      file = path;
    }
    ec_status st = file ? ec_onnx_read_tensor(file, &inputs[i], NULL, d) : make_input(t, &inputs[i]);
    if (st) return st;
    bool ok = inputs[i].dtype == t->dtype && inputs[i].rank == t->rank;
    for (int k = 0; ok && k < t->rank; k++) ok = inputs[i].dims[k] == t->dims[k];
    if (!ok) {
      ec_diag_set(d, file ? file : a->model, "", "input '%s' does not match the model's", t->name);
      return EC_ERR_MODEL;
    }
    n_inputs_made++;
  }
  return EC_OK;
}

/* Loads the model, runs the passes allowed by `o`, evaluates it. */
static ec_status run(const args *a, const ec_pass_opts *o, run_result *r, ec_diag *d) {
  memset(r, 0, sizeof *r);
  /* Inference here, as ec_cli_load does it for --no-pass const-fold, to count the folds. */
  ec_load_opts lo = {0};
  lo.no_infer = true;
  ec_graph *g;
  ec_status st = ec_onnx_load(a->model, &lo, &g, d);
  if (st) return st;
  bool fold_all = ec_pass_fold_all(o);
  int loaded = g->n_nodes;
  g->fold_shapes_only = !fold_all;
  st = ec_infer_graph(g, d);
  if (!st) st = ec_onnx_check_declared(g, d);
  if (!st) st = ec_graph_compact(g);
  int folded = loaded - g->n_nodes;
  if (!st && !n_inputs_made && g->n_inputs) st = prepare_inputs(a, g, d);
  if (!st) st = ec_run_passes_counted(g, o, r->counts, d);
  if (fold_all) r->counts[ec_pass_find("const-fold")] = folded;
  void **values = st ? NULL : ec_alloc(sizeof(void *) * (size_t)(g->n_tensors + 1));
  if (!st && !values) st = EC_ERR_INTERNAL;
  for (int i = 0; !st && i < g->n_inputs; i++) {
    ec_const *c = &inputs[i];
    values[g->inputs[i]] = malloc(c->nbytes + 1);
    if (!values[g->inputs[i]]) st = EC_ERR_INTERNAL;
    else memcpy(values[g->inputs[i]], c->data, c->nbytes);
  }
  for (int i = 0; !st && i < g->n_nodes; i++) st = ec_eval_node(g, i, values, d);
  r->n_nodes = g->n_nodes;
  for (int i = 0; !st && i < g->n_outputs && i < MAX_ITEMS; i++) {
    const ec_tensor *t = &g->tensors[g->outputs[i]];
    const void *src = values[g->outputs[i]] ? values[g->outputs[i]] : t->data;
    size_t nb = (size_t)ec_tensor_numel(t) * ec_dtype_size(t->dtype);
    r->names[i] = ec_strdup(t->name);
    r->data[i] = malloc(nb + 1);
    if (!r->names[i] || !r->data[i] || (nb && !src)) {
      st = EC_ERR_INTERNAL;
      break;
    }
    if (nb) memcpy(r->data[i], src, nb);
    r->nbytes[i] = nb;
    r->dtype[i] = t->dtype;
    r->rank[i] = t->rank;
    memcpy(r->dims[i], t->dims, sizeof r->dims[i]);
    r->n = i + 1;
  }
  /* The op census, for --expect-op (all passes on) and --expect-op-off (only that pass off). */
  for (int e = 0; !st && e < a->n_ops; e++) {
    int off = a->ops[e].off;
    if (o->disabled != (off < 0 ? 0u : 1u << off)) continue;
    int count = 0;
    for (int i = 0; i < g->n_nodes; i++) count += strcmp(g->nodes[i].op_type, a->ops[e].name) == 0;
    if (count != a->ops[e].value) {
      ec_diag_set(d, a->model, "", "%s%s %d %s node(s) remain, expected %d",
                  off < 0 ? "after all passes" : "with --no-pass ", off < 0 ? "" : ec_passes[off].name,
                  count, a->ops[e].name, a->ops[e].value);
      st = EC_ERR_MODEL;
    }
  }
  for (int i = 0; values && i < g->n_tensors; i++) free(values[i]);
  free(values);
  ec_graph_free(g);
  return st;
}

/* Compares a run against the reference; returns false (with a message) on a mismatch. */
static bool compare(const run_result *ref, const run_result *r, bool exact, double rtol,
                    double *worst) {
  if (ref->n != r->n) {
    printf("  output count %d, reference %d\n", r->n, ref->n);
    return false;
  }
  *worst = 0;
  for (int i = 0; i < ref->n; i++) {
    if (strcmp(ref->names[i], r->names[i]) != 0 || ref->dtype[i] != r->dtype[i] ||
        ref->rank[i] != r->rank[i] || ref->nbytes[i] != r->nbytes[i] ||
        memcmp(ref->dims[i], r->dims[i], sizeof ref->dims[i]) != 0) {
      printf("  output %d is '%s', reference '%s' (or its type or shape differs)\n", i, r->names[i],
             ref->names[i]);
      return false;
    }
    if (exact || ref->dtype[i] != ECK_FLOAT) {
      if (memcmp(ref->data[i], r->data[i], ref->nbytes[i]) != 0) {
        printf("  output '%s' differs from the reference (bit-exact expected)\n", ref->names[i]);
        return false;
      }
      continue;
    }
    const float *x = ref->data[i], *y = r->data[i];
    size_t n = ref->nbytes[i] / sizeof(float);
    double big = 0, diff = 0;
    for (size_t k = 0; k < n; k++) {
      if (fabs(x[k]) > big) big = fabs(x[k]);
      double dd = fabs((double)x[k] - (double)y[k]);
      if (!(dd <= diff)) diff = dd; /* NaN counts as worst */
    }
    double rel = big > 0 ? diff / big : diff;
    if (!(rel <= *worst)) *worst = rel;
    if (!(rel <= rtol)) {
      printf("  output '%s' differs by %g of its largest value %g (tolerance %g)\n", ref->names[i],
             rel, big, rtol);
      return false;
    }
  }
  return true;
}

static bool parse_expect(const char *s, expect *e) {
  const char *eq = strrchr(s, '=');
  if (!eq || eq == s) return false;
  char *end;
  long v = strtol(eq + 1, &end, 10);
  if (*end || end == eq + 1) return false;
  e->name = ec_strndup(s, (size_t)(eq - s));
  e->value = (int)v;
  e->off = -1;
  return e->name != NULL;
}

/* PASS:OP=N */
static bool parse_expect_off(const char *s, expect *e) {
  const char *colon = strchr(s, ':');
  if (!colon) return false;
  char pass[64];
  size_t len = (size_t)(colon - s);
  if (len >= sizeof pass) return false;
  memcpy(pass, s, len);
  pass[len] = 0;
  int off = ec_pass_find(pass);
  if (off < 0 || !parse_expect(colon + 1, e)) return false;
  e->off = off;
  return true;
}

int main(int argc, char **argv) {
  args a = {0};
  a.rtol = 1e-5;
  for (int i = 1; i < argc; i++) {
    const char *s = argv[i];
    bool more = i + 1 < argc;
    if (strcmp(s, "--input") == 0 && more && a.n_inputs < MAX_ITEMS) a.inputs[a.n_inputs++] = argv[++i];
    else if (strcmp(s, "--data-dir") == 0 && more) a.data_dir = argv[++i];
    else if (strcmp(s, "--want") == 0 && more && a.n_wants < MAX_ITEMS) a.wants[a.n_wants++] = argv[++i];
    else if (strcmp(s, "--rtol") == 0 && more) a.rtol = atof(argv[++i]);
    else if (strcmp(s, "--quick") == 0) a.quick = true;
    else if (strcmp(s, "--expect") == 0 && more && a.n_passes < MAX_ITEMS &&
             parse_expect(argv[i + 1], &a.passes[a.n_passes]))
      a.n_passes++, i++;
    else if (strcmp(s, "--expect-op") == 0 && more && a.n_ops < MAX_ITEMS &&
             parse_expect(argv[i + 1], &a.ops[a.n_ops]))
      a.n_ops++, i++;
    else if (strcmp(s, "--expect-op-off") == 0 && more && a.n_ops < MAX_ITEMS &&
             parse_expect_off(argv[i + 1], &a.ops[a.n_ops]))
      a.n_ops++, i++;
    else if (s[0] != '-' && !a.model) a.model = s;
    else {
      fprintf(stderr, "pass_check: bad argument '%s'\n", s);
      return 2;
    }
  }
  if (!a.model) {
    fprintf(stderr, "usage: pass_check MODEL [--input F.pb]... [--data-dir DIR] [--rtol R] "
                    "[--quick] [--want F.pb]... [--expect PASS=N]... [--expect-op OP=N]... "
                    "[--expect-op-off PASS:OP=N]...\n");
    return 2;
  }
  for (int e = 0; e < a.n_passes; e++)
    if (ec_pass_find(a.passes[e].name) < 0) {
      fprintf(stderr, "pass_check: --expect %s: unknown pass\n", a.passes[e].name);
      return 2;
    }

  ec_diag d;
  memset(&d, 0, sizeof d);
  const uint32_t all_off = (1u << ec_n_passes) - 1;
  /* The passes whose rewrites round differently from the graph they replace: bn-fold (weights
   * folded in double), layernorm and gelu (one kernel in double or libm's erff instead of a chain
   * of float ops), pow-square (x*x against powf, which is not always correctly rounded), qdq
   * (int8 arithmetic instead of QDQ simulated in float: within one step of the quantization),
   * matmul-bias (Gemm's kernel adds the bias in its own order). */
  uint32_t inexact = 0;
  static const char *const rounding[] = {"bn-fold", "layernorm", "gelu", "pow-square", "qdq", "matmul-bias"};
  for (size_t k = 0; k < sizeof rounding / sizeof rounding[0]; k++)
    if (ec_pass_find(rounding[k]) >= 0) inexact |= 1u << ec_pass_find(rounding[k]);
  run_result ref;
  ec_pass_opts none = {all_off};
  if (run(&a, &none, &ref, &d)) {
    ec_diag_print(&d);
    return 1;
  }
  printf("%s: %d nodes with no pass\n", a.model, ref.n_nodes);

  /* The outputs computed outside edgecc, shaped like the reference's. */
  run_result want;
  memset(&want, 0, sizeof want);
  for (int i = 0; i < a.n_wants; i++) {
    ec_const c;
    if (i >= ref.n || ec_onnx_read_tensor(a.wants[i], &c, NULL, &d)) {
      if (i >= ref.n) fprintf(stderr, "pass_check: --want %s: the model has %d outputs\n", a.wants[i], ref.n);
      else ec_diag_print(&d);
      return 1;
    }
    want.names[i] = ec_strdup(ref.names[i]);
    want.data[i] = c.data;
    want.nbytes[i] = c.nbytes;
    want.dtype[i] = c.dtype;
    want.rank[i] = c.rank;
    memcpy(want.dims[i], c.dims, sizeof want.dims[i]);
    want.n = i + 1;
  }
  if (a.n_wants) {
    if (a.n_wants != ref.n) {
      fprintf(stderr, "pass_check: %d --want files for %d outputs\n", a.n_wants, ref.n);
      return 2;
    }
    double worst = 0;
    bool ok = compare(&want, &ref, false, a.rtol, &worst);
    printf("%s %-28s against --want: max diff %.3g of largest output\n", ok ? "ok  " : "FAIL",
           "no pass", worst);
    if (!ok) return 1;
  }

  /* Configurations: all passes, each pass alone, all but one (the way --no-pass is used). */
  uint32_t configs[3 * 32 + 1];
  int nc = 0;
  configs[nc++] = 0;
  for (int i = 0; i < ec_n_passes && !a.quick; i++) {
    configs[nc++] = all_off & ~(1u << i);
    configs[nc++] = 1u << i;
  }
  int failures = 0;
  for (int c = 0; c < nc; c++) {
    ec_pass_opts o = {configs[c]};
    char label[256] = "all passes";
    for (int i = 0; i < ec_n_passes; i++) {
      if (o.disabled == (1u << i)) snprintf(label, sizeof label, "--no-pass %s", ec_passes[i].name);
      if (o.disabled == (all_off & ~(1u << i))) snprintf(label, sizeof label, "only %s", ec_passes[i].name);
    }
    run_result r;
    memset(&d, 0, sizeof d);
    if (run(&a, &o, &r, &d)) {
      printf("FAIL %s: ", label);
      fflush(stdout);
      ec_diag_print(&d);
      failures++;
      result_free(&r);
      continue;
    }
    double worst = 0;
    bool exact = (~o.disabled & inexact) == 0;
    bool ok = compare(&ref, &r, exact, a.rtol, &worst);
    double worst_want = 0;
    if (ok && a.n_wants) ok = compare(&want, &r, false, a.rtol, &worst_want);
    printf("%s %-28s %5d nodes (", ok ? "ok  " : "FAIL", label, r.n_nodes);
    for (int i = 0; i < ec_n_passes; i++) printf("%s%s %d", i ? ", " : "", ec_passes[i].name, r.counts[i]);
    printf(")%s", exact ? ", bit-exact" : "");
    if (!exact) printf(", max diff %.3g of largest output", worst);
    if (a.n_wants) printf(", %.3g from --want", worst_want);
    printf("\n");
    if (!ok) failures++;
    if (o.disabled == 0)
      for (int e = 0; e < a.n_passes; e++) {
        int got = r.counts[ec_pass_find(a.passes[e].name)];
        if (got != a.passes[e].value) {
          printf("FAIL %s made %d rewrite(s), expected %d\n", a.passes[e].name, got, a.passes[e].value);
          failures++;
        }
      }
    result_free(&r);
  }
  result_free(&ref);
  result_free(&want);
  for (int i = 0; i < n_inputs_made; i++) free(inputs[i].data);
  for (int e = 0; e < a.n_passes; e++) free((char *)a.passes[e].name);
  for (int e = 0; e < a.n_ops; e++) free((char *)a.ops[e].name);
  printf("%s\n", failures ? "FAILED" : "all configurations agree");
  return failures ? 1 : 0;
}
