/* compile.c — `edgecc [compile] MODEL --targets DEVICES -o OUT` and `edgecc plan`: parses the
 * options, loads the model, runs the pipeline (compiler/pipeline: the plan, then lowering for each
 * device), and prints the plan (plan) or generates the device folders, plan.json, plan.dot and
 * README.md, put under OUT under the manifest rules (compile). */
#include <errno.h>
#include <math.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "codegen.h"
#include "lower.h"
#include "merge.h"
#include "op.h"
#include "passes.h"
#include "pipeline.h"
#include "plan.h"
#include "target.h"

static const char compile_help[] =
    "usage: edgecc [compile] MODEL [MODEL...] --targets DEVICES -o OUT [--name NAME] [--kernels ref|xnnpack|onednn]\n"
    "              [--force] [--embed-weights] [--target-file FILE] [--input-shape NAME=D0xD1...]\n"
    "              [--dim NAME=N] [--freeze-input NAME=FILE.pb] [--max-extent TENSOR=N] [--no-pass NAME]\n"
    "              [--max-trip-count LOOP=N] [--share-input MODEL:INPUT=MODEL:INPUT] [QUANT OPTIONS] [PLAN OPTIONS]\n"
    "\n"
    "Plans MODEL's partitions over the devices, then writes C: OUT/plan.json, OUT/plan.dot,\n"
    "OUT/README.md (how to start the boards), and per device OUT/<device>/ with the programs of\n"
    "the partitions placed there (<name>_p<k>.c/.h, weights <name>_p<k>.bin, driver main_p<k>.c),\n"
    "CMakeLists.txt, toolchain.cmake (cross targets), README.md and the runtime and kernel sources.\n"
    "A device the plan leaves unused gets only a README saying why.\n"
    "Build with `cmake -S OUT/<device> -B BUILD && cmake --build BUILD`.\n"
    "Several models compile into one program (docs/merging.md): their graph inputs are one input\n"
    "where dtype and shape agree at the same position, nodes computed alike (same op, attributes,\n"
    "inputs and byte-identical weights) run once, names carry each model's file stem, and plan.json\n"
    "reports what is shared under \"merge\".\n"
    "\n"
    "  --targets DEVICES   `host`, `pi5,orin-nano` or `a=host,b=pi5` (see edgecc targets)\n"
    "  -o, --output OUT    output folder: new, empty, or an earlier edgecc output with --force\n"
    "  --name NAME         C name of the programs (default: the model file's stem; several models:\n"
    "                      their stems joined by '_')\n"
    "  --target-file FILE  add a device description (JSON, docs/targets.md); may repeat\n"
    "  --tuning FILE       per-node kernel choice from a tuning file (edgecc tune): each node it\n"
    "                      measured runs on the family that was fastest there, the layout\n"
    "                      conversions around it counted, on the devices of the file's target;\n"
    "                      the others keep the default order (docs/tuning.md)\n"
    "  --kernels LIB       xnnpack (XNNPACK and OpenBLAS) or ref (portable C99, needs only libc\n"
    "                      and libm) for every device; onednn: oneDNN (x86-64) for convolution,\n"
    "                      fully connected, pooling, Add and Mul, XNNPACK and OpenBLAS for the\n"
    "                      rest, on devices whose description lists onednn; default: xnnpack on\n"
    "                      each device whose description lists it (oneDNN for the ops it is\n"
    "                      faster at where onednn comes first, as on x86-64), ref on the others\n"
    "  --input-shape NAME=D0xD1[,NAME=...]   every dim of graph input NAME, for models with\n"
    "                      dynamic dims ('?', named, p2o.DynamicDimension.N), e.g. input=1x576\n"
    "  --dim NAME=N        pin the named dimension NAME to N (in every input that has it)\n"
    "  --freeze-input NAME=FILE.pb   make graph input NAME the constant in a TensorProto file\n"
    "  --max-extent TENSOR=N   the most elements of TENSOR, the output of a Range whose start,\n"
    "                      limit or delta is only known at run time; more is a run-time error\n"
    "  --max-trip-count LOOP=N   the most iterations of Loop LOOP (its node name, or one of its\n"
    "                      outputs' names) when its trip count is only known at run time (a graph\n"
    "                      input, or none); its scan outputs are sized by N; more is a run-time error\n"
    "  --no-pass NAME      switch off a graph pass or lowering step (`all`: every one)\n"
    "  --force             replace the files an earlier run listed in OUT/" EC_MANIFEST "\n"
    "  --embed-weights     weights as a C array instead of a .bin file (small models)\n"
    "  --share-input B:X=A:Y   several models: graph input X of model B is input Y of model A (a\n"
    "                      model named by its path, file name or stem; same dtype and shape); may repeat\n"
    "\n"
    "quant options (also for `edgecc plan`; docs/quantization.md):\n"
    "  --calib DIR         calibration samples (.pb files): Conv, Gemm and MatMul run int8 where the\n"
    "                      set's ranges allow (all of them without --accuracy-budget)\n"
    "  --calib-method M    minmax (default), percentile or entropy\n"
    "  --calib-max N       at most N samples, the first in file-name order (default 64)\n"
    "  --accuracy-budget PP   int8 per node only while the summed degradation on the set stays within\n"
    "                      PP percentage points of top-1 agreement with fp32 (measured, then checked)\n"
    "  --calib-labels FILE the samples' classes (one per line, or `NAME LABEL`): the budget is then\n"
    "                      in accuracy instead of agreement\n"
    "  --merge-budget PP   several models, with --calib DIR (samples of their inputs): each model\n"
    "                      after the first takes the first's weights node by node from the inputs\n"
    "                      forward while its top-1 agreement with its own output on the set loses at\n"
    "                      most PP percentage points; those nodes are then merged (docs/merging.md)\n"
    "\n"
    "plan options (also for `edgecc plan`):\n"
    "  --objective latency|throughput   minimise the end-to-end time (default) or the slowest stage\n"
    "  --partitions N      exactly N partitions (on N of the devices, in order)\n"
    "  --split-at T1,T2    cut exactly after these tensors (split points: see edgecc plan)\n"
    "  --mix a=0.5,b=0.3,c=0.2   several models: each one's share of the requests (by file stem,\n"
    "                      summing to 1; a model not named has none); the joint plan then minimises\n"
    "                      the expected latency (or slowest stage) of one model's request instead of\n"
    "                      a request to every model (docs/merging.md, \"Joint plan\")\n"
    "  --link a:b=MBPS[,LATENCY_MS]   the link between devices a and b (default: the targets')\n"
    "  --threads N         threads of each generated program (its default; the program's own\n"
    "                      --threads overrides it) and of the predictions (default: the target's cores)\n"
    "  --parallel intra|inter|auto   threads inside each node (intra), independent branches as\n"
    "                      clusters on threads of their own (inter), or what the cost model predicts\n"
    "                      fastest, one cluster unless clusters gain 5% (auto, the default)\n"
    "  --profile DEVICE=FILE   measured step times of DEVICE (a program's --profile-json output,\n"
    "                      same kernels and threads): its nodes cost their median there instead of\n"
    "                      the prediction (repeatable: one per device and thread count; the\n"
    "                      clustering takes each node's times on 1..N threads from them)\n";

static const char plan_help[] =
    "usage: edgecc plan MODEL [MODEL...] --targets DEVICES [--objective latency|throughput] [--partitions N]\n"
    "                   [--split-at T1,T2] [--link a:b=MBPS[,LATENCY_MS]] [--threads N]\n"
    "                   [--parallel intra|inter|auto] [--mix MODEL=SHARE,...]\n"
    "                   [--profile DEVICE=FILE] [--kernels ref|xnnpack|onednn] [--tuning FILE]\n"
    "                   [--target-file FILE]\n"
    "                   [--input-shape NAME=D0xD1...] [--dim NAME=N] [--freeze-input NAME=FILE.pb]\n"
    "                   [--max-extent TENSOR=N] [--max-trip-count LOOP=N] [--no-pass NAME] [--share-input MODEL:INPUT=MODEL:INPUT]\n"
    "                   [--svg FILE] [--calib DIR [--calib-method M] [--calib-max N] [--accuracy-budget PP]\n"
    "                   [--calib-labels FILE]] [--calib DIR --merge-budget PP]\n"
    "\n"
    "Prints the plan edgecc compile would follow, without writing code: per partition its device,\n"
    "nodes, predicted compute, the bytes it sends on and their transfer time; then the predicted\n"
    "end-to-end latency and throughput. Devices are used in the order given; some may stay unused.\n"
    "--svg FILE draws the plan (compile's plan.dot) as SVG with Graphviz's dot (package graphviz).\n"
    "A '*' after a partition's compute: part of it was measured (--profile), as the lines under\n"
    "the table say. Several models: the merge report follows the plan (what is shared, as models x\n"
    "node ranges; weights and compute saved). The options are edgecc compile's (edgecc compile --help).\n";

/* The model file's stem ("models/My-Net.v2.onnx" -> "My-Net.v2"), as the default name. */
static void stem(const char *path, char *out, size_t len) {
  const char *b = strrchr(path, '/');
  b = b ? b + 1 : path;
  snprintf(out, len, "%s", b);
  char *dot = strrchr(out, '.');
  if (dot && dot != out) *dot = 0;
}

typedef struct compile_args {
  ec_model_opts mo;
  const char *paths[EC_MERGE_MAX_MODELS]; /* the models, in the order given */
  int n_paths;
  const char *shares[EC_MAX_OPTS]; /* --share-input B:X=A:Y */
  int n_shares;
  const char *path, *out, *targets, *name, *kernels, *objective, *split_at, *partitions, *threads;
  const char *parallel; /* --parallel intra|inter|auto */
  const char *mix;      /* --mix a=0.5,b=0.5 */
  const char *tuning_path; /* --tuning FILE */
  const ec_tuning *tuning; /* loaded, when given */
  /* --calib DIR, --calib-method, --calib-max, --calib-labels, --accuracy-budget, --merge-budget */
  const char *calib, *calib_method, *calib_max, *calib_labels, *budget, *merge_budget;
  const char *svg; /* edgecc plan --svg FILE */
  const char *tfiles[EC_MAX_OPTS];
  int n_tfiles;
  const char *links[EC_MAX_OPTS];
  int n_links;
  const char *profiles[EC_MAX_OPTS];
  int n_profiles;
  bool force, embed;
  int n_threads; /* --threads: default threads of the generated programs; 0 = the target's */
  /* Each device's kernel library: --kernels for all, else the fast kernels where the device's
   * description lists XNNPACK and the reference ones elsewhere (then `mixed`). */
  const char *dev_kernels[EC_MAX_DEVICES];
  bool mixed;
} compile_args;

/* Returns -1 to go on, else the exit status (help printed, or a usage error). */
static int parse_args(int argc, char **argv, bool plan_only, compile_args *a) {
  for (int i = 0; i < argc; i++) {
    int r = ec_parse_model_opt(&a->mo, argc, argv, &i);
    if (r < 0) return EC_ERR_USAGE;
    if (r > 0) continue;
    const char *s = argv[i];
    const char **slot = NULL;
    if (strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0) {
      fputs(plan_only ? plan_help : compile_help, stdout);
      return 0;
    } else if (!plan_only && (strcmp(s, "-o") == 0 || strcmp(s, "--output") == 0)) {
      slot = &a->out;
    } else if (strcmp(s, "--targets") == 0) {
      slot = &a->targets;
    } else if (plan_only && strcmp(s, "--svg") == 0) {
      slot = &a->svg;
    } else if (!plan_only && strcmp(s, "--name") == 0) {
      slot = &a->name;
    } else if (strcmp(s, "--kernels") == 0) {
      slot = &a->kernels;
    } else if (strcmp(s, "--tuning") == 0) {
      slot = &a->tuning_path;
    } else if (strcmp(s, "--objective") == 0) {
      slot = &a->objective;
    } else if (strcmp(s, "--split-at") == 0) {
      slot = &a->split_at;
    } else if (strcmp(s, "--partitions") == 0) {
      slot = &a->partitions;
    } else if (strcmp(s, "--threads") == 0) {
      slot = &a->threads;
    } else if (strcmp(s, "--parallel") == 0) {
      slot = &a->parallel;
    } else if (strcmp(s, "--mix") == 0) {
      slot = &a->mix;
    } else if (strcmp(s, "--calib") == 0) {
      slot = &a->calib;
    } else if (strcmp(s, "--calib-method") == 0) {
      slot = &a->calib_method;
    } else if (strcmp(s, "--calib-max") == 0) {
      slot = &a->calib_max;
    } else if (strcmp(s, "--calib-labels") == 0) {
      slot = &a->calib_labels;
    } else if (strcmp(s, "--accuracy-budget") == 0) {
      slot = &a->budget;
    } else if (strcmp(s, "--merge-budget") == 0) {
      slot = &a->merge_budget;
    } else if (strcmp(s, "--target-file") == 0 || strcmp(s, "--link") == 0 || strcmp(s, "--profile") == 0 ||
               strcmp(s, "--share-input") == 0) {
      const char **list = s[2] == 't' ? a->tfiles : s[2] == 'l' ? a->links : s[2] == 'p' ? a->profiles : a->shares;
      int *n = s[2] == 't' ? &a->n_tfiles : s[2] == 'l' ? &a->n_links : s[2] == 'p' ? &a->n_profiles : &a->n_shares;
      if (i + 1 >= argc) return ec_usage_error("%s needs a value", s);
      if (*n >= EC_MAX_OPTS) return ec_usage_error("too many %s options", s);
      list[(*n)++] = argv[++i];
      continue;
    } else if (!plan_only && strcmp(s, "--force") == 0) {
      a->force = true;
      continue;
    } else if (!plan_only && strcmp(s, "--embed-weights") == 0) {
      a->embed = true;
      continue;
    } else if (s[0] == '-' && s[1]) {
      return ec_usage_error("unknown option '%s' (see edgecc %s --help)", s, plan_only ? "plan" : "compile");
    } else if (a->n_paths >= EC_MERGE_MAX_MODELS) {
      return ec_usage_error("too many models (at most %d)", EC_MERGE_MAX_MODELS);
    } else {
      a->paths[a->n_paths++] = s;
      a->path = a->paths[0];
      continue;
    }
    if (i + 1 >= argc) return ec_usage_error("%s needs a value", s);
    *slot = argv[++i];
  }
  if (!a->path) return ec_usage_error("no model given (see edgecc %s --help)", plan_only ? "plan" : "compile");
  if (a->n_shares && a->n_paths < 2) return ec_usage_error("--share-input needs several models");
  if (a->mix && a->n_paths < 2) return ec_usage_error("--mix needs several models (it weighs their requests)");
  if (a->mix && (a->split_at || a->partitions))
    return ec_usage_error("--mix weighs the joint plan of several models, which --%s replaces by a chain plan",
                          a->split_at ? "split-at" : "partitions");
  if (!plan_only && !a->out) return ec_usage_error("no output folder given (-o OUT)");
  if (!a->targets) return ec_usage_error("no devices given (--targets host, or see edgecc targets)");
  if (a->kernels && strcmp(a->kernels, "ref") != 0 && strcmp(a->kernels, "xnnpack") != 0 &&
      strcmp(a->kernels, "onednn") != 0)
    return ec_usage_error("--kernels %s: unknown kernel library (available: ref, xnnpack, onednn)", a->kernels);
  if (a->tuning_path && a->kernels)
    return ec_usage_error("--tuning %s: the file chooses each node's kernels in place of the default order; give no "
                          "--kernels", a->tuning_path);
  return -1;
}

/* A budget in percentage points (--accuracy-budget, --merge-budget). Returns -1 to go on. */
static int parse_pp(const char *opt, const char *v, double *out) {
  char *end;
  errno = 0;
  double x = strtod(v, &end);
  if (errno || end == v || *end || !(x >= 0 && x <= 100))
    return ec_usage_error("%s %s: percentage points from 0 to 100", opt, v);
  *out = x;
  return -1;
}

/* The quant options into q, and --merge-budget into mb (every value checked before the model is
 * read). With several models --calib is the merge budget's set, and nothing is quantized.
 * Returns -1 to go on, else the exit status of a usage error. */
static int parse_quant(const compile_args *a, ec_pipeline_quant_opts *q, ec_pipeline_merge_budget_opts *mb) {
  memset(q, 0, sizeof *q);
  memset(mb, 0, sizeof *mb);
  q->method = EC_CALIB_MINMAX;
  q->max_samples = EC_CALIB_DEFAULT_MAX;
  q->budget_pp = -1;
  q->q.per_channel = true; /* Conv weights get a scale per output channel: XNNPACK's qc8 */
  mb->budget_pp = -1;
  int rc;
  if (a->merge_budget && (rc = parse_pp("--merge-budget", a->merge_budget, &mb->budget_pp)) >= 0) return rc;
  if (a->merge_budget && a->n_paths < 2) return ec_usage_error("--merge-budget needs several models");
  if (a->merge_budget && !a->calib)
    return ec_usage_error("--merge-budget needs --calib DIR (samples of the models' inputs to measure agreement on)");
  const char *needs = a->calib_method ? "--calib-method" : a->calib_max ? "--calib-max"
                      : a->calib_labels ? "--calib-labels" : a->budget ? "--accuracy-budget" : NULL;
  if (!a->calib) return needs ? ec_usage_error("%s needs --calib DIR (the calibration samples)", needs) : -1;
  if (a->n_paths > 1 && !a->merge_budget)
    return ec_usage_error("--calib: one model at a time (several models are not quantized yet; with several, "
                          "--calib is --merge-budget's set)");
  if (a->n_paths > 1 && needs && strcmp(needs, "--calib-max") != 0)
    return ec_usage_error("%s: several models are not quantized yet (their --calib is --merge-budget's set)", needs);
  q->calib_dir = a->calib;
  q->labels_path = a->calib_labels;
  if (a->calib_method && !ec_calib_method_parse(a->calib_method, &q->method))
    return ec_usage_error("--calib-method %s: not minmax, percentile or entropy", a->calib_method);
  char *end;
  if (a->calib_max) {
    errno = 0;
    long n = strtol(a->calib_max, &end, 10);
    if (errno || end == a->calib_max || *end || n < 1 || n > 1000000)
      return ec_usage_error("--calib-max %s: the number of samples must be a whole number from 1 to 1000000",
                            a->calib_max);
    q->max_samples = (int)n;
  }
  if (a->budget && (rc = parse_pp("--accuracy-budget", a->budget, &q->budget_pp)) >= 0) return rc;
  if (a->merge_budget) { /* the set is the merge's: nothing is quantized */
    mb->calib_dir = q->calib_dir;
    mb->max_samples = q->max_samples;
    q->calib_dir = NULL;
  }
  return -1;
}

static int parse_count(const char *opt, const char *v, int max, int *out) { return ec_cli_parse_count(opt, v, max, out); }

/* Splits "a,b,c" in place into names (no empty entries). */
static int split_list(char *s, const char **names, int max, int *n) {
  *n = 0;
  for (char *p = s;;) {
    char *c = strchr(p, ',');
    if (c) *c = 0;
    if (!*p) return ec_usage_error("--split-at: empty tensor name in the list");
    if (*n >= max) return ec_usage_error("--split-at: too many tensors (at most %d)", max);
    names[(*n)++] = p;
    if (!c) break;
    p = c + 1;
  }
  return -1;
}

/* ---- several models ---------------------------------------------------------------------------- */

typedef char model_name[256];

/* Which model `ref` (len bytes) names: a path as given, its file name, or its stem; -1 if none. */
static int find_model(const compile_args *a, const model_name *stems, const char *ref, size_t len) {
  for (int i = 0; i < a->n_paths; i++) {
    const char *p = a->paths[i], *b = strrchr(p, '/');
    b = b ? b + 1 : p;
    const char *cands[3] = {p, b, stems[i]};
    for (int c = 0; c < 3; c++)
      if (strlen(cands[c]) == len && strncmp(cands[c], ref, len) == 0) return i;
  }
  return -1;
}

/* "MODEL:INPUT" within [s, s+len): the model (the first ':' after which a model name ends) and
 * the input's name. */
static int split_ref(const compile_args *a, const model_name *stems, const char *s, size_t len, const char **input,
                     size_t *ilen) {
  for (size_t c = 1; c + 1 < len; c++)
    if (s[c] == ':') {
      int m = find_model(a, stems, s, c);
      if (m >= 0) {
        *input = s + c + 1;
        *ilen = len - c - 1;
        return m;
      }
    }
  return -1;
}

static int find_input(const ec_graph *g, const char *name, size_t len) {
  for (int k = 0; k < g->n_inputs; k++) {
    const char *nm = g->tensors[g->inputs[k]].name;
    if (strlen(nm) == len && strncmp(nm, name, len) == 0) return k;
  }
  return -1;
}

static void shape_str(const ec_tensor *t, char *out, size_t len) {
  int o = snprintf(out, len, "%s [", ec_dtype_name(t->dtype));
  for (int k = 0; k < t->rank && o > 0 && (size_t)o < len; k++)
    o += snprintf(out + o, len - (size_t)o, "%s%lld", k ? "," : "", (long long)t->dims[k]);
  if (o > 0 && (size_t)o < len) snprintf(out + o, len - (size_t)o, "]");
}

/* One --share-input B:X=A:Y into sh (the later model's input shares the earlier one's). Returns
 * -1 to go on, else the exit status of a usage error. */
static int parse_share(const compile_args *a, const model_name *stems, ec_graph *const *gs, const char *spec,
                       ec_merge_share *sh) {
  const char *ins[2] = {0};
  size_t ilen[2] = {0};
  int m[2] = {-1, -1};
  for (const char *eq = strchr(spec, '='); eq && m[1] < 0; eq = strchr(eq + 1, '=')) {
    m[0] = split_ref(a, stems, spec, (size_t)(eq - spec), &ins[0], &ilen[0]);
    m[1] = m[0] < 0 ? -1 : split_ref(a, stems, eq + 1, strlen(eq + 1), &ins[1], &ilen[1]);
  }
  if (m[0] < 0 || m[1] < 0)
    return ec_usage_error("--share-input %s: takes MODEL:INPUT=MODEL:INPUT with two of the models given (their path, "
                          "file name or stem), e.g. b.onnx:x=a.onnx:input", spec);
  if (m[0] == m[1]) return ec_usage_error("--share-input %s: both sides name model '%s'", spec, stems[m[0]]);
  int k[2];
  for (int e = 0; e < 2; e++) {
    const ec_graph *g = gs[m[e]];
    k[e] = find_input(g, ins[e], ilen[e]);
    if (k[e] < 0) {
      ec_buf names = {0};
      for (int j = 0; j < g->n_inputs; j++) ec_buf_printf(&names, "%s'%s'", j ? ", " : "", g->tensors[g->inputs[j]].name);
      int rc = ec_usage_error("--share-input %s: model '%s' has no graph input '%.*s' (its inputs: %s)", spec,
                              stems[m[e]], (int)ilen[e], ins[e], names.data ? names.data : "none");
      ec_buf_free(&names);
      return rc;
    }
  }
  const ec_tensor *t0 = &gs[m[0]]->tensors[gs[m[0]]->inputs[k[0]]], *t1 = &gs[m[1]]->tensors[gs[m[1]]->inputs[k[1]]];
  bool same = t0->dtype == t1->dtype && t0->rank == t1->rank;
  for (int j = 0; same && j < t0->rank; j++) same = t0->dims[j] == t1->dims[j];
  if (!same) {
    char s0[200], s1[200];
    shape_str(t0, s0, sizeof s0), shape_str(t1, s1, sizeof s1);
    return ec_usage_error("--share-input %s: %s:%s is %s but %s:%s is %s: a shared input needs one dtype and shape",
                          spec, stems[m[0]], t0->name, s0, stems[m[1]], t1->name, s1);
  }
  int later = m[0] > m[1] ? 0 : 1;
  *sh = (ec_merge_share){m[later], k[later], m[1 - later], k[1 - later]};
  return -1;
}

/* Loads every model (each through the graph passes on its own) and, with several, merges them
 * into one graph (*g) with the report. Returns 0 or the exit status (message printed). */
static void merge_progress(void *ctx, const char *what, int done, int total, const char *unit) {
  char lead[300];
  snprintf(lead, sizeof lead, "merge budget, %s", what);
  ec_cli_progress_show(ctx, lead, done, total, unit, "");
}

static int load_models(const compile_args *a, const model_name *stems, ec_pipeline_merge_budget_opts *mb,
                       ec_graph **g, ec_merge_report *rep, bool *merged) {
  *merged = false;
  if (a->n_paths == 1) return ec_cli_load(a->path, &a->mo, false, g);
  ec_graph *gs[EC_MERGE_MAX_MODELS] = {0};
  int rc = 0;
  for (int i = 0; !rc && i < a->n_paths; i++) rc = ec_cli_load(a->paths[i], &a->mo, false, &gs[i]);
  ec_merge_share shares[EC_MAX_OPTS];
  for (int s = 0; !rc && s < a->n_shares; s++) {
    int r = parse_share(a, stems, gs, a->shares[s], &shares[s]);
    if (r >= 0) rc = r;
    for (int t = 0; !rc && t < s; t++)
      if (shares[t].model == shares[s].model && shares[t].input == shares[s].input)
        rc = ec_usage_error("--share-input: input '%s' of model '%s' is shared twice (%s, %s)",
                            gs[shares[s].model]->tensors[gs[shares[s].model]->inputs[shares[s].input]].name,
                            stems[shares[s].model], a->shares[t], a->shares[s]);
  }
  if (rc) {
    for (int i = 0; i < a->n_paths; i++) ec_graph_free(gs[i]);
    return rc;
  }
  ec_merge_model ms[EC_MERGE_MAX_MODELS];
  for (int i = 0; i < a->n_paths; i++) ms[i] = (ec_merge_model){stems[i], gs[i]};
  ec_merge_opts mo = {shares, a->n_shares, false};
  ec_diag d;
  memset(&d, 0, sizeof d);
  ec_merge_approx ap;
  memset(&ap, 0, sizeof ap);
  ec_status st = EC_OK;
  if (mb->calib_dir) {
    ec_cli_progress pr = {.tty = isatty(2) == 1};
    mb->progress = merge_progress;
    mb->progress_ctx = &pr;
    st = ec_pipeline_merge_budget(ms, a->n_paths, mb, &ap, &d);
    if (pr.open_line) fputc('\n', stderr);
    if (st)
      for (int i = 0; i < a->n_paths; i++) ec_graph_free(gs[i]);
  }
  if (!st) st = ec_pipeline_merge(ms, a->n_paths, &mo, g, rep, &d);
  if (st) {
    ec_diag_print(&d);
    return st;
  }
  rep->approx = ap;
  for (int i = 1; ap.on && i < a->n_paths; i++)
    fprintf(stderr, "edgecc: merge budget %g pp: %s takes %s's weights in %d of %d nodes (%llu bytes), agrees with "
            "itself on %d of %d samples\n", ap.budget_pp, stems[i], stems[0], ap.taken[i], ap.candidates[i],
            (unsigned long long)ap.bytes[i], ap.agree[i], ap.samples);
  *merged = true;
  return 0;
}

/* Opens plan.json's object again for one more member, `"key": ` (its value and the closing
 * brace follow). */
static ec_status reopen_json(ec_buf *b, const char *key) {
  while (b->len && b->data[b->len - 1] != '}') b->len--;
  if (!b->len) return EC_ERR_INTERNAL;
  b->len--; /* the closing brace, written again after the member */
  while (b->len && (b->data[b->len - 1] == '\n' || b->data[b->len - 1] == ' ')) b->len--;
  ec_buf_printf(b, ",\n  \"%s\": ", key);
  return EC_OK;
}

/* plan.json's "merge" object, as the last member of the object codegen wrote. */
static ec_status add_merge_json(ec_buf *b, const ec_merge_report *mrep, ec_merge_programs *progs,
                                const ec_part_report *reps, int n_parts) {
  if (reopen_json(b, "merge")) return EC_ERR_INTERNAL;
  for (int k = 0; k < n_parts; k++) progs->arena_merged += reps[k].arena_bytes, progs->weights_merged += reps[k].weights_bytes;
  ec_merge_report_json(mrep, progs, b);
  ec_buf_printf(b, "\n}\n");
  return b->oom ? EC_ERR_INTERNAL : EC_OK;
}

/* The figures of each model compiled alone on the same devices (compile only: the arena of a
 * program is known after its memory plan), for the merge report's savings. */
static ec_status separate_programs(const compile_args *a, const model_name *stems, const ec_device_list *devs,
                                   const ec_pipeline_opts *pipe, ec_merge_programs *progs, ec_diag *d) {
  ec_status st = EC_OK;
  for (int i = 0; !st && i < a->n_paths; i++) {
    ec_graph *g = NULL;
    if (ec_cli_load(a->paths[i], &a->mo, false, &g)) return EC_ERR_MODEL; /* loaded once already */
    ec_plan plan;
    st = ec_pipeline_run(g, devs, pipe, &plan, d);
    ec_fileset fs = {0};
    for (int k = 0; !st && k < plan.n_parts; k++) {
      const ec_device *dv = &devs->items[plan.parts[k].device];
      ec_codegen_opts o = {stems[i], dv->name, dv->target_name, a->dev_kernels[plan.parts[k].device], stems[i],
                           a->embed, a->n_threads, dv->target->cores, NULL, plan.id, NULL, NULL, NULL};
      ec_part_report r;
      memset(&r, 0, sizeof r);
      char *cn = ec_cname(stems[i], NULL, 0);
      o.name = cn;
      st = cn ? ec_codegen_partition(g, &plan.parts[k].part, &o, &fs, &r, d) : EC_ERR_INTERNAL;
      free(cn);
      progs->arena_separate += r.arena_bytes, progs->weights_separate += r.weights_bytes;
    }
    ec_fileset_free(&fs);
    ec_plan_free(&plan);
    ec_graph_free(g);
  }
  return st;
}

/* Writes the generated files of the plan into fs. */
static ec_status generate(const ec_graph *g, const compile_args *a, const char *cname, const char *base,
                          const ec_device_list *devs, const ec_plan *plan, ec_fileset *fs,
                          ec_part_report *reps, const ec_merge_report *mrep, ec_merge_programs *progs,
                          const ec_quant_report *qrep, ec_diag *d) {
  ec_status st = EC_OK;
  for (int k = 0; !st && k < plan->n_parts; k++) {
    const ec_device *dv = &devs->items[plan->parts[k].device];
    ec_codegen_opts o = {cname, dv->name, dv->target_name, a->dev_kernels[plan->parts[k].device], base,
                         a->embed, a->n_threads, dv->target->cores, NULL, plan->id, NULL, NULL, NULL};
    st = ec_codegen_partition(g, &plan->parts[k].part, &o, fs, &reps[k], d);
    /* The planner checked an estimate; the memory plan's real arena is checked here. */
    double staging = plan->parts[k].staging_bytes;
    double need = (double)reps[k].arena_bytes + (double)reps[k].weights_bytes + staging;
    double cap = (double)dv->target->ram_mb * 1048576.0;
    if (!st && need > cap) {
      ec_diag_set(d, g->source_path, "", "device '%s': partition %d needs %.1f MB (weights %.1f MB + arena %.1f MB "
                  "+ staging %.1f MB) but the device has %.1f MB", dv->name, k, need / 1048576.0,
                  reps[k].weights_bytes / 1048576.0, reps[k].arena_bytes / 1048576.0, staging / 1048576.0,
                  cap / 1048576.0);
      st = EC_ERR_MODEL;
    }
  }
  char path[200];
  for (int v = 0; !st && v < devs->n; v++) {
    const ec_device *dv = &devs->items[v];
    ec_codegen_opts o = {cname, dv->name, dv->target_name, a->dev_kernels[v], base, a->embed,
                         a->n_threads, dv->target->cores, NULL, plan->id, NULL, NULL, NULL};
    if (plan->device_part[v] < 0) {
      ec_buf rd = {0};
      ec_plan_unused_readme(g, devs, plan, v, &rd);
      snprintf(path, sizeof path, "%s/README.md", dv->name);
      st = ec_fileset_add_buf(fs, path, &rd);
      continue;
    }
    /* The partitions on this device, in chain order (reports are indexed by partition). */
    ec_part_report mine[EC_MAX_DEVICES];
    int n = 0;
    for (int k = 0; k < plan->n_parts && n < EC_MAX_DEVICES; k++)
      if (plan->parts[k].device == v) mine[n++] = reps[k];
    st = ec_codegen_device_for(g, &o, dv->target, plan, mine, n, fs, d);
  }
  ec_buf b = {0};
  if (!st) {
    ec_codegen_opts o = {cname, devs->items[0].name, devs->items[0].target_name,
                         a->mixed ? "mixed" : a->kernels, base, a->embed, a->n_threads,
                         devs->items[0].target->cores, a->dev_kernels, plan->id,
                         a->tuning ? a->tuning_path : NULL, a->tuning ? a->tuning->sha256 : NULL,
                         a->tuning ? a->tuning->target : NULL};
    ec_part *parts = ec_alloc(sizeof(ec_part) * (size_t)(plan->n_parts + 1));
    for (int k = 0; parts && k < plan->n_parts; k++) parts[k] = plan->parts[k].part;
    st = parts ? ec_plan_json_for(g, &o, devs, plan, parts, reps, plan->n_parts, &b) : EC_ERR_INTERNAL;
    free(parts);
    if (!st && mrep) st = add_merge_json(&b, mrep, progs, reps, plan->n_parts);
    if (!st && qrep && !(st = reopen_json(&b, "quant"))) {
      ec_quant_report_json(qrep, &b);
      ec_buf_printf(&b, "\n}\n");
      st = b.oom ? EC_ERR_INTERNAL : EC_OK;
    }
    if (!st) st = ec_fileset_add_buf(fs, "plan.json", &b);
  }
  if (!st) {
    ec_plan_dot(g, devs, plan, &b);
    st = b.oom ? EC_ERR_INTERNAL : ec_fileset_add_buf(fs, "plan.dot", &b);
  }
  if (!st) {
    ec_plan_readme(g, devs, plan, cname, &b);
    st = b.oom ? EC_ERR_INTERNAL : ec_fileset_add_buf(fs, "README.md", &b);
  }
  ec_buf_free(&b);
  return st;
}

static void quant_progress(void *ctx, const char *what, int done, int total, const char *unit) {
  ec_cli_progress_show(ctx, what, done, total, unit, "");
}

/* --calib: the model made int8 where the set (and the budget) allow, before it is planned; one
 * line says what came of it. */
static ec_status quantize(const compile_args *a, ec_graph *g, const ec_device_list *devs, const ec_plan_opts *po,
                          ec_pipeline_quant_opts *qo, ec_quant_report *rep, ec_diag *d) {
  const ec_model_opts *mo = &a->mo;
  ec_load_opts lo = {mo->dims,   mo->n_dims,   mo->freezes,       mo->n_freezes, false,
                     mo->shapes, mo->n_shapes, mo->allow_unpinned, mo->extents, mo->n_extents,
                     mo->trips, mo->n_trips};
  ec_cli_progress pr = {.tty = isatty(2) == 1};
  qo->target = devs->items[0].target;
  qo->threads = po->threads;
  qo->klib = po->klib;
  qo->progress = quant_progress;
  qo->progress_ctx = &pr;
  ec_status st = ec_pipeline_quantize(a->path, &lo, &mo->passes, g, qo, rep, d);
  if (pr.open_line) fputc('\n', stderr);
  if (st) return st;
  int n8 = 0;
  for (int k = 0; k < rep->n_nodes; k++) n8 += rep->nodes[k].int8;
  fprintf(stderr, "edgecc: int8: %d of %d candidate nodes, %.1f%% of the multiply-adds; on %d calibration samples "
          "%d agree with fp32", n8, rep->n_nodes, rep->macs_total > 0 ? 100.0 * rep->macs_int8 / rep->macs_total : 0.0,
          rep->n_samples, rep->agree);
  if (rep->labels) fprintf(stderr, ", %d correct (fp32 %d)", rep->correct, rep->fp32_correct);
  if (rep->budget_pp >= 0)
    fprintf(stderr, "; budget %g pp (%d samples), %d round%s; sensitivity %s", rep->budget_pp, rep->budget_units,
            rep->rounds, rep->rounds == 1 ? "" : "s", rep->cached ? "from the cache" : "measured in ");
  if (rep->budget_pp >= 0 && !rep->cached) fprintf(stderr, "%.2f s", rep->sensitivity_s);
  fprintf(stderr, "\n");
  return EC_OK;
}

/* --mix a=0.5,b=0.3,c=0.2: each model's share of the requests, by file stem; a model not named
 * has none; the shares sum to 1. Returns -1 to go on. */
static int parse_mix(const char *spec, const model_name *stems, int n, double *mix) {
  for (int m = 0; m < n; m++) mix[m] = -1;
  const char *p = spec;
  double sum = 0;
  char names[512] = "";
  for (int m = 0; m < n; m++)
    snprintf(names + strlen(names), sizeof names - strlen(names), "%s%.40s", m ? ", " : "", stems[m]);
  while (*p) {
    const char *eq = strchr(p, '='), *comma = strchr(p, ',');
    if (!comma) comma = p + strlen(p);
    if (!eq || eq > comma || eq == p)
      return ec_usage_error("--mix %s: expected MODEL=SHARE[,MODEL=SHARE...], e.g. %s=0.5,%s=0.5", spec, stems[0],
                            stems[1]);
    int m = 0;
    while (m < n && (strlen(stems[m]) != (size_t)(eq - p) || strncmp(stems[m], p, (size_t)(eq - p)) != 0)) m++;
    if (m == n) return ec_usage_error("--mix %s: no model '%.*s' (the models: %s)", spec, (int)(eq - p), p, names);
    if (mix[m] >= 0) return ec_usage_error("--mix %s: model '%s' is named twice", spec, stems[m]);
    char num[64], *end;
    if ((size_t)(comma - eq - 1) >= sizeof num || comma == eq + 1)
      return ec_usage_error("--mix %s: '%s' needs a share from 0 to 1", spec, stems[m]);
    snprintf(num, sizeof num, "%.*s", (int)(comma - eq - 1), eq + 1);
    double v = strtod(num, &end);
    if (*end || !(v >= 0 && v <= 1))
      return ec_usage_error("--mix %s: '%s' is no share from 0 to 1 (model '%s')", spec, num, stems[m]);
    mix[m] = v;
    sum += v;
    p = *comma ? comma + 1 : comma;
    if (*comma && !*p) return ec_usage_error("--mix %s: ends with a comma", spec);
  }
  if (fabs(sum - 1) > 1e-6) return ec_usage_error("--mix %s: the shares sum to %g, not 1", spec, sum);
  for (int m = 0; m < n; m++)
    if (mix[m] < 0) mix[m] = 0;
  return -1;
}

int ec_compile_main(int argc, char **argv, bool plan_only);

int ec_compile_main(int argc, char **argv, bool plan_only) {
  compile_args a;
  memset(&a, 0, sizeof a);
  int rc = parse_args(argc, argv, plan_only, &a);
  if (rc >= 0) return rc;

  /* Before the model is loaded: without Graphviz, --svg cannot be honoured. */
  char dot[4096];
  if (a.svg && !ec_find_dot(dot, sizeof dot)) {
    fprintf(stderr, "edgecc: error: --svg %s: Graphviz's `dot` is not installed (Debian: apt-get install "
            "graphviz)\n", a.svg);
    return EC_ERR_MODEL;
  }

  ec_plan_opts po;
  memset(&po, 0, sizeof po);
  if (a.objective) {
    if (strcmp(a.objective, "latency") == 0) po.objective = EC_PLAN_LATENCY;
    else if (strcmp(a.objective, "throughput") == 0) po.objective = EC_PLAN_THROUGHPUT;
    else return ec_usage_error("--objective %s: must be latency or throughput", a.objective);
  }
  if (a.partitions && (rc = parse_count("--partitions", a.partitions, EC_MAX_DEVICES, &po.n_parts)) >= 0) return rc;
  if (a.threads && (rc = parse_count("--threads", a.threads, 1024, &po.threads)) >= 0) return rc;
  if (a.parallel && (po.parallel = ec_parallel_from_name(a.parallel)) < 0)
    return ec_usage_error("--parallel %s: must be intra, inter or auto", a.parallel);
  a.n_threads = a.threads ? po.threads : 0;
  ec_pipeline_quant_opts qo;
  ec_pipeline_merge_budget_opts mb;
  if ((rc = parse_quant(&a, &qo, &mb)) >= 0) return rc;
  char split_buf[4096];
  const char *split_names[256];
  if (a.split_at) {
    if (strlen(a.split_at) >= sizeof split_buf) return ec_usage_error("--split-at: list too long");
    snprintf(split_buf, sizeof split_buf, "%s", a.split_at);
    if ((rc = split_list(split_buf, split_names, 256, &po.n_split_at)) >= 0) return rc;
    po.split_at = split_names;
  }

  char cname[256], stembuf[256];
  /* Several models are named by their file stems, in names and the merge report: two alike
   * could not be told apart. */
  model_name stems[EC_MERGE_MAX_MODELS];
  for (int i = 0; i < a.n_paths; i++) {
    stem(a.paths[i], stems[i], sizeof stems[i]);
    for (int j = 0; j < i; j++)
      if (strcmp(stems[i], stems[j]) == 0)
        return ec_usage_error("models %s and %s are both named '%s' (their file stem): rename one file", a.paths[j],
                              a.paths[i], stems[i]);
  }
  double mix[EC_MERGE_MAX_MODELS];
  if (a.mix && (rc = parse_mix(a.mix, stems, a.n_paths, mix)) >= 0) return rc;
  if (a.mix) po.mix = mix;
  ec_buf joined = {0};
  for (int i = 0; i < a.n_paths; i++) ec_buf_printf(&joined, "%s%s", i ? "_" : "", stems[i]);
  snprintf(stembuf, sizeof stembuf, "%s", joined.data ? joined.data : "");
  ec_buf_free(&joined);
  char *nm = ec_cname(a.name ? a.name : stembuf, NULL, 0);
  if (!nm) return EC_ERR_INTERNAL;
  if (a.name && strcmp(nm, a.name) != 0) {
    rc = ec_usage_error("--name %s is not a C identifier (try %s)", a.name, nm);
    free(nm);
    return rc;
  }
  snprintf(cname, sizeof cname, "%s", nm);
  free(nm);

  ec_diag d;
  memset(&d, 0, sizeof d);
  ec_target_set ts;
  memset(&ts, 0, sizeof ts);
  ec_device_list devs;
  memset(&devs, 0, sizeof devs);
  ec_link_set links;
  memset(&links, 0, sizeof links);
  ec_status st = ec_cli_devices(a.tfiles, a.n_tfiles, a.targets, &ts, &devs, &d);
  for (int i = 0; !st && i < a.n_links; i++) {
    st = ec_links_parse(&links, a.links[i], &d);
    /* A link must join two listed devices: a typo would otherwise be ignored silently. */
    for (int e = 0; !st && e < 2; e++) {
      const char *nmv = e ? links.items[links.n - 1].b : links.items[links.n - 1].a;
      bool found = false;
      for (int v = 0; v < devs.n; v++) found |= strcmp(devs.items[v].name, nmv) == 0;
      if (!found) {
        ec_diag_set(&d, "--link", "", "'%s': device '%s' is not in --targets", a.links[i], nmv);
        st = EC_ERR_USAGE;
      }
    }
  }
  po.links = &links;
  /* Without --kernels: the fast kernels when every device's description lists XNNPACK (one
   * library for the whole model), else the portable ones; on a device whose description lists
   * onednn before xnnpack (x86-64), oneDNN for the ops it is faster at (the target's default
   * order, choose.c's dnnl_by_default) and XNNPACK for the rest. */
  bool kernels_given = a.kernels != NULL;
  if (!st && !a.kernels) {
    int with = 0, dnnl = 0;
    for (int v = 0; v < devs.n; v++) {
      with += ec_target_has_kernels(devs.items[v].target, EC_KLIB_XNNPACK);
      dnnl += ec_target_onednn_default(devs.items[v].target);
    }
    a.kernels = !with ? "ref" : dnnl == devs.n ? "onednn" : "xnnpack";
    for (int v = 0; with && v < devs.n; v++)
      if (!ec_target_has_kernels(devs.items[v].target, EC_KLIB_XNNPACK))
        fprintf(stderr, "edgecc: note: device '%s' (target %s) has no XNNPACK in its description: its "
                "partition uses the reference kernels\n", devs.items[v].name, devs.items[v].target_name);
  }
  if (!a.kernels) a.kernels = "ref";
  for (int v = 0; !st && v < devs.n; v++) {
    bool xnn = ec_target_has_kernels(devs.items[v].target, EC_KLIB_XNNPACK);
    a.dev_kernels[v] = kernels_given ? a.kernels : !xnn ? "ref" : ec_target_onednn_default(devs.items[v].target) ? "onednn"
                                                                                                      : "xnnpack";
    a.mixed |= strcmp(a.dev_kernels[v], a.kernels) != 0;
  }
  /* onednn plans as xnnpack (the cost model knows no oneDNN yet) and lowers with both: every op
   * oneDNN has with --kernels onednn, the target's default order's without --kernels. */
  bool onednn = strcmp(a.kernels, "onednn") == 0;
  ec_onednn_use dnnl_use = kernels_given ? (onednn ? EC_ONEDNN_ALL : EC_ONEDNN_NONE) : EC_ONEDNN_DEFAULT;
  po.klib = onednn ? EC_KLIB_XNNPACK : ec_kernel_lib_from_name(a.kernels);
  bool fast = ec_kernels_fast(a.kernels);
  /* --profile DEVICE=FILE: DEVICE must be in --targets (a typo would silently drop the profile). */
  ec_profile_set profs;
  const ec_profile *dev_prof[EC_MAX_DEVICES] = {0};
  memset(&profs, 0, sizeof profs);
  for (int i = 0; !st && i < a.n_profiles; i++) {
    const char *spec = a.profiles[i], *eq = strchr(spec, '=');
    int v = 0;
    while (eq && v < devs.n && (strncmp(devs.items[v].name, spec, (size_t)(eq - spec)) != 0 ||
                                devs.items[v].name[eq - spec] != 0))
      v++;
    if (eq && eq > spec && v == devs.n) {
      ec_diag_set(&d, "--profile", "", "'%s': device '%.*s' is not in --targets", spec, (int)(eq - spec), spec);
      st = EC_ERR_USAGE;
      break;
    }
    st = ec_profile_add(&profs, spec, &d);
    if (st) break;
    const ec_profile *pr = &profs.items[profs.n - 1];
    /* The partition DP takes the device's profile of the thread count it runs (else its first);
     * the clustering takes every one (po.profile_set). */
    bool dev_fast = ec_kernels_fast(a.dev_kernels[v]);
    int want = !dev_fast ? 1 : po.threads > 0 ? po.threads : devs.items[v].target->cores;
    if (!dev_prof[v] || (pr->threads == want && dev_prof[v]->threads != want)) dev_prof[v] = pr;
    if (pr->kernels[0] && strcmp(pr->kernels, a.dev_kernels[v]) != 0)
      fprintf(stderr, "edgecc: warning: %s: profiled with --kernels %s, but device '%s' uses --kernels %s\n",
              pr->path, pr->kernels, pr->device, a.dev_kernels[v]);
    size_t cl = strlen(cname);
    if (strncmp(pr->program, cname, cl) != 0 || strncmp(pr->program + cl, "_p", 2) != 0)
      fprintf(stderr, "edgecc: warning: %s: a profile of program '%s', not of %s_p<k>\n", pr->path, pr->program,
              cname);
  }
  /* Measured with other threads, the times mislead the plan: say so when no profile of a device
   * has the threads it runs. */
  for (int v = 0; !st && v < devs.n; v++) {
    const ec_profile *pr = dev_prof[v];
    int want = !ec_kernels_fast(a.dev_kernels[v]) ? 1 : po.threads > 0 ? po.threads : devs.items[v].target->cores;
    if (pr && pr->threads > 0 && pr->threads != want)
      fprintf(stderr, "edgecc: warning: %s: profiled with %d thread%s, but device '%s' runs %d (--threads or the "
              "target's cores)\n", pr->path, pr->threads, pr->threads == 1 ? "" : "s", pr->device, want);
  }
  if (a.n_profiles) po.profiles = dev_prof, po.profile_set = &profs;
  /* --tuning FILE: read now (a bad file is a usage error before the model loads); measured on a
   * target none of the devices has, it would be ignored silently. */
  ec_tuning tuning;
  memset(&tuning, 0, sizeof tuning);
  if (!st && a.tuning_path && !(st = ec_tuning_load(a.tuning_path, &tuning, &d))) {
    bool found = false;
    for (int v = 0; v < devs.n; v++) found |= strcmp(devs.items[v].target->name, tuning.target) == 0;
    if (!found) {
      ec_diag_set(&d, "--tuning", "", "%s: measured on target '%s', but no device of --targets has it (tune the "
                  "model on this target: edgecc tune MODEL --targets %s -o FILE)", a.tuning_path, tuning.target,
                  devs.items[0].target_name);
      st = EC_ERR_USAGE;
    }
    a.tuning = &tuning;
  }
  for (int v = 0; !st && fast && kernels_given && v < devs.n; v++)
    if (!ec_target_has_kernels(devs.items[v].target, EC_KLIB_XNNPACK)) {
      ec_diag_set(&d, "--kernels", "", "device '%s' (target %s) has no XNNPACK in its description's \"kernels\": "
                  "use --kernels ref", devs.items[v].name, devs.items[v].target_name);
      st = EC_ERR_USAGE;
    } else if (onednn && !ec_target_has_kernels(devs.items[v].target, EC_KLIB_ONEDNN)) {
      ec_diag_set(&d, "--kernels", "", "device '%s' (target %s) has no oneDNN in its description's \"kernels\" "
                  "(x86-64 targets list it): use --kernels xnnpack", devs.items[v].name, devs.items[v].target_name);
      st = EC_ERR_USAGE;
    }
  if (st) {
    ec_diag_print(&d);
    ec_profiles_free(&profs);
    ec_tuning_free(&tuning);
    ec_targets_free(&ts);
    return st;
  }

  ec_graph *g;
  ec_merge_report mrep;
  memset(&mrep, 0, sizeof mrep);
  bool merged = false;
  rc = load_models(&a, stems, &mb, &g, &mrep, &merged);
  if (rc) {
    ec_profiles_free(&profs);
    ec_tuning_free(&tuning);
    ec_targets_free(&ts);
    return rc;
  }
  /* The model's file name, for comments; several: joined by '+'. */
  char base[1024] = "";
  for (int i = 0; i < a.n_paths; i++) {
    const char *b = strrchr(a.paths[i], '/');
    snprintf(base + strlen(base), sizeof base - strlen(base), "%s%s", i ? "+" : "", b ? b + 1 : a.paths[i]);
  }
  ec_plan plan;
  memset(&plan, 0, sizeof plan);
  ec_fileset fs = {0};
  ec_part_report *reps = NULL;
  /* ec_cli_load ran the graph passes; the pipeline plans and lowers (--no-pass was parsed into
   * a.mo for both). */
  ec_pipeline_opts pipe = {po, a.mo.lower_off, a.mo.n_lower_off, dnnl_use, a.tuning};
  ec_quant_report qrep;
  memset(&qrep, 0, sizeof qrep);
  if (qo.calib_dir) st = quantize(&a, g, &devs, &po, &qo, &qrep, &d);
  if (!st) st = ec_pipeline_run(g, &devs, &pipe, &plan, &d);
  for (int v = 0; !st && plan.profiles && v < devs.n; v++) {
    const ec_profile *pr = plan.profiles[v];
    if (pr && plan.profile_unmatched[v])
      fprintf(stderr, "edgecc: warning: %s: %d of its %d steps name no node of this model (another model, "
              "or other kernels?)\n", pr->path, plan.profile_unmatched[v], pr->n_steps);
  }
  if (!st && plan_only) {
    ec_buf b = {0};
    ec_plan_table(g, &devs, &plan, &b);
    if (merged) ec_merge_report_text(&mrep, &b);
    if (b.data) fwrite(b.data, 1, b.len, stdout);
    st = b.oom ? EC_ERR_INTERNAL : EC_OK;
    ec_buf_free(&b);
    if (!st && a.svg) {
      ec_plan_dot(g, &devs, &plan, &b);
      st = b.oom ? EC_ERR_INTERNAL : ec_render_svg(dot, &b, a.svg, &d);
      ec_buf_free(&b);
    }
  } else if (!st) {
    reps = ec_alloc(sizeof(ec_part_report) * (size_t)(plan.n_parts + 1));
    ec_merge_programs progs;
    memset(&progs, 0, sizeof progs);
    if (merged) st = separate_programs(&a, stems, &devs, &pipe, &progs, &d);
    if (!st) st = reps ? generate(g, &a, cname, base, &devs, &plan, &fs, reps, merged ? &mrep : NULL, &progs,
                                        qo.calib_dir ? &qrep : NULL, &d)
                       : EC_ERR_INTERNAL;
    if (!st) {
      ec_fileset_sort(&fs);
      st = ec_output_write(a.out, &fs, a.force, &d);
    }
    if (!st) {
      for (int k = 0; k < plan.n_parts; k++)
        printf("edgecc: %s/%s/%s: %d steps, arena %zu bytes (lower bound %zu), weights %zu bytes, "
               "predicted %.3f ms\n", a.out, reps[k].device, reps[k].program, reps[k].n_steps,
               reps[k].arena_bytes, reps[k].lower_bound, reps[k].weights_bytes, plan.parts[k].compute_ms);
      for (int v = 0; v < devs.n; v++)
        if (plan.device_part[v] < 0) {
          ec_buf why = {0};
          ec_plan_unused_why(&devs, &plan, v, &why);
          printf("edgecc: %s/%s: unused: %s\n", a.out, devs.items[v].name, why.data ? why.data : "");
          ec_buf_free(&why);
        }
      if (plan.n_parts > 1)
        printf("edgecc: %d partitions, predicted latency %.3f ms, throughput %.1f requests/s\n", plan.n_parts,
               plan.latency_ms, plan.throughput_rps);
      if (merged)
        printf("edgecc: merged %d models: %d nodes instead of %d, weights %llu bytes instead of %llu, arena %llu "
               "bytes instead of %llu (plan.json \"merge\")\n", mrep.n_models, mrep.nodes_merged,
               mrep.nodes_separate, (unsigned long long)progs.weights_merged,
               (unsigned long long)progs.weights_separate, (unsigned long long)progs.arena_merged,
               (unsigned long long)progs.arena_separate);
    }
  }
  if (st) {
    if (st == EC_ERR_INTERNAL && !d.msg[0]) ec_diag_set(&d, a.path, "", "internal error");
    ec_diag_print(&d);
  }
  free(reps);
  ec_quant_report_free(&qrep);
  ec_merge_report_free(&mrep);
  ec_plan_free(&plan);
  ec_fileset_free(&fs);
  ec_graph_free(g);
  ec_profiles_free(&profs);
  ec_tuning_free(&tuning);
  ec_targets_free(&ts);
  return st;
}

int ec_cmd_compile(int argc, char **argv) { return ec_compile_main(argc, argv, false); }
