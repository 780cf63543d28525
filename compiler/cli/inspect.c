/* inspect.c — `edgecc inspect MODEL [--json]`: inputs, outputs, op histogram, parameters,
 * weight bytes, FLOPs and multiply-adds, and the ops edgecc cannot compile yet. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "op.h"
#include "sha256.h"

static const char inspect_help[] =
    "usage: edgecc inspect MODEL [--json] [--input-shape NAME=D0xD1...] [--dim NAME=N]\n"
    "                      [--freeze-input NAME=FILE.pb] [--max-extent TENSOR=N] [--no-pass NAME]\n"
    "                      [--max-trip-count LOOP=N]\n"
    "       edgecc inspect MODEL --shape-inputs\n"
    "\n"
    "Loads MODEL, infers every shape and prints what it holds: graph inputs and outputs with\n"
    "dtypes and shapes, the dynamic dimensions of the inputs and the --input-shape flag that pins\n"
    "them, the op histogram, parameter count, weight bytes, FLOPs and multiply-adds, and the ops\n"
    "edgecc cannot compile yet. While a dynamic dimension has no value, outputs and compute are\n"
    "left out (they need static shapes).\n"
    "\n"
    "  --json                 machine-readable output (see docs/inspect-json.md)\n"
    "  --input-shape NAME=D0xD1[,NAME=...]   every dim of graph input NAME (e.g. input=1x576)\n"
    "  --dim NAME=N           pin the named dimension NAME to N\n"
    "  --freeze-input NAME=F  make graph input NAME the constant held in TensorProto file F\n"
    "  --max-extent TENSOR=N  the most elements of Range output TENSOR (run-time start/limit/delta)\n"
    "  --max-trip-count LOOP=N  the most iterations of Loop LOOP (node or output name) whose trip\n"
    "                         count is a run-time value; sizes its scan outputs\n"
    "  --no-pass NAME         switch off a graph pass (const-fold, dce, identity, bn-fold,\n"
    "                         layernorm, gelu, pow-square, qdq, transpose-opt, matmul-bias,\n"
    "                         matmul-transpose, all)\n"
    "  --shape-inputs         list the graph inputs that feed shape operands (one per line);\n"
    "                         they must be frozen with --freeze-input\n";

typedef struct {
  const char *name;
  int count;
} op_count;

static int cmp_op(const void *a, const void *b) {
  return strcmp(((const op_count *)a)->name, ((const op_count *)b)->name);
}

/* Adds g's op types to out[0..n); the unsupported ones also from inside its subgraphs (If, Loop
 * and Scan compile when what their branches and bodies hold does). Returns the new count. */
static int histogram_add(const ec_graph *g, bool unsupported_only, op_count *out, int n, int cap) {
  for (int i = 0; i < g->n_nodes; i++) {
    const ec_node *nd = &g->nodes[i];
    if (nd->dead) continue;
    for (int s = 0; unsupported_only && s < nd->n_subgraphs; s++)
      n = histogram_add(nd->subgraphs[s], true, out, n, cap);
    if (unsupported_only && nd->op >= 0 && (ec_ops[nd->op].ref || nd->n_subgraphs)) continue;
    int k;
    for (k = 0; k < n; k++)
      if (strcmp(out[k].name, nd->op >= 0 ? ec_ops[nd->op].name : nd->op_type) == 0) break;
    if (k == n) {
      if (n == cap) continue;
      /* The table's name, not the node's: folding frees nodes before the report is printed. */
      out[n].name = nd->op >= 0 ? ec_ops[nd->op].name : nd->op_type;
      out[n++].count = 0;
    }
    out[k].count++;
  }
  return n;
}

/* Histogram of op types (sorted by name). */
static int histogram(const ec_graph *g, bool unsupported_only, op_count *out, int cap) {
  int n = histogram_add(g, unsupported_only, out, 0, cap);
  qsort(out, (size_t)n, sizeof *out, cmp_op);
  return n;
}

/* 4.09 G, 171.5 k: a count in the unit that keeps three or four digits. */
static void put_si(ec_buf *b, double v) {
  static const char *units[] = {"", " k", " M", " G", " T"};
  int u = 0;
  while (v >= 1000 && u < 4) v /= 1000, u++;
  ec_buf_printf(b, u ? "%.4g%s" : "%.0f%s", v, units[u]);
}

/* The dynamic dim record of tensor t's dim k, or NULL. */
static const ec_dyn_dim *dyn_of(const ec_graph *g, int t, int k) {
  for (int i = 0; i < g->n_dyn_dims; i++)
    if (g->dyn_dims[i].tensor == t && g->dyn_dims[i].dim == k) return &g->dyn_dims[i];
  return NULL;
}

static bool unpinned(const ec_dyn_dim *dd) { return dd && dd->how == EC_PIN_NONE; }

/* A shape; a dim nothing pinned is `null` in JSON and `N` in text. */
static void shape_put(ec_buf *b, const ec_graph *g, int t, bool json) {
  const ec_tensor *tt = &g->tensors[t];
  ec_buf_printf(b, "[");
  for (int k = 0; k < tt->rank; k++) {
    const char *sep = k ? (json ? ", " : ",") : "";
    if (unpinned(dyn_of(g, t, k))) ec_buf_printf(b, "%s%s", sep, json ? "null" : "N");
    else ec_buf_printf(b, "%s%s%lld", sep, !json && ((tt->dyn >> k) & 1) ? "<=" : "", (long long)tt->dims[k]);
  }
  ec_buf_printf(b, "]");
}

static void tensors_json(ec_buf *b, const ec_graph *g, const int *ts, int n) {
  ec_buf_printf(b, "[");
  for (int i = 0; i < n; i++) {
    const ec_tensor *t = &g->tensors[ts[i]];
    ec_buf_printf(b, "%s\n    {\"name\": ", i ? "," : "");
    ec_buf_json_str(b, t->name);
    ec_buf_printf(b, ", \"dtype\": \"%s\", \"shape\": ", ec_dtype_name(t->dtype));
    shape_put(b, g, ts[i], true);
    if (t->dyn) { /* data-dependent: those dims of "shape" are bounds */
      ec_buf_printf(b, ", \"bounded_dims\": [");
      for (int k = 0, c = 0; k < t->rank; k++)
        if ((t->dyn >> k) & 1) ec_buf_printf(b, "%s%d", c++ ? ", " : "", k);
      ec_buf_printf(b, "]");
    }
    ec_buf_printf(b, "}");
  }
  ec_buf_printf(b, "%s]", n ? "\n  " : "");
}

static const char *pin_name(ec_pin_kind k) {
  static const char *const names[] = {[EC_PIN_NONE] = "none", [EC_PIN_DEFAULT] = "default",
                                      [EC_PIN_DIM] = "--dim", [EC_PIN_SHAPE] = "--input-shape"};
  return names[k];
}

/* "dynamic_dims": [{"input", "dim", "name", "declared", "value", "pinned_by"}], "pin_flag". */
static void dynamic_json(ec_buf *b, const ec_graph *g) {
  ec_buf_printf(b, "[");
  for (int i = 0; i < g->n_dyn_dims; i++) {
    const ec_dyn_dim *dd = &g->dyn_dims[i];
    ec_buf_printf(b, "%s\n    {\"input\": ", i ? "," : "");
    ec_buf_json_str(b, g->tensors[dd->tensor].name);
    ec_buf_printf(b, ", \"dim\": %d, \"name\": ", dd->dim);
    ec_buf_json_str(b, dd->param);
    ec_buf_printf(b, ", \"declared\": ");
    ec_buf d = {0};
    ec_onnx_declared_shape(g, dd->tensor, &d);
    ec_buf_json_str(b, d.data ? d.data : "");
    ec_buf_free(&d);
    if (dd->how == EC_PIN_NONE) ec_buf_printf(b, ", \"value\": null, \"pinned_by\": null}");
    else ec_buf_printf(b, ", \"value\": %lld, \"pinned_by\": \"%s\"}",
                       (long long)g->tensors[dd->tensor].dims[dd->dim], pin_name(dd->how));
  }
  ec_buf_printf(b, "%s],\n  \"pin_flag\": ", g->n_dyn_dims ? "\n  " : "");
  ec_buf f = {0};
  ec_onnx_pin_flag(g, &f);
  ec_buf_json_str(b, f.data ? f.data : "");
  ec_buf_free(&f);
}

/* One line per input with dynamic dims: declared shape, then each dim's value and what set it. */
static void dynamic_text(ec_buf *b, const ec_graph *g) {
  if (!g->n_dyn_dims) return;
  for (int i = 0; i < g->n_dyn_dims; i++) {
    const ec_dyn_dim *dd = &g->dyn_dims[i];
    bool first = i == 0 || g->dyn_dims[i - 1].tensor != dd->tensor;
    if (first) {
      ec_buf_printf(b, "%s input '%s' declared ", i ? "\n        " : "dynamic ", g->tensors[dd->tensor].name);
      ec_onnx_declared_shape(g, dd->tensor, b);
      ec_buf_printf(b, ":");
    }
    ec_buf_printf(b, "%s dim %d ", first ? "" : ",", dd->dim);
    if (dd->how == EC_PIN_NONE)
      ec_buf_printf(b, "not pinned");
    else
      ec_buf_printf(b, "%lld (%s)", (long long)g->tensors[dd->tensor].dims[dd->dim],
                    dd->how == EC_PIN_DEFAULT ? "leading, 1 by default" : pin_name(dd->how));
  }
  ec_buf_printf(b, "\n         pin with: ");
  ec_onnx_pin_flag(g, b);
  ec_buf_printf(b, "\n");
}

static void ops_json(ec_buf *b, const op_count *ops, int n) {
  ec_buf_printf(b, "{");
  for (int i = 0; i < n; i++) {
    ec_buf_printf(b, "%s", i ? ", " : "");
    ec_buf_json_str(b, ops[i].name);
    ec_buf_printf(b, ": %d", ops[i].count);
  }
  ec_buf_printf(b, "}");
}

/* The subgraphs of control-flow nodes, indented by depth: each one's inputs, captures (names
 * read from an enclosing graph), nodes and outputs. */
static void subgraphs_text(ec_buf *b, const ec_graph *g, int depth) {
  for (int i = 0; i < g->n_nodes; i++) {
    const ec_node *n = &g->nodes[i];
    if (!n->n_subgraphs) continue;
    char desc[512];
    ec_node_describe(g, n, desc, sizeof desc);
    ec_buf_printf(b, "%*s%s\n", 2 * depth, "", desc);
    for (int k = 0; k < n->n_attrs; k++) {
      const ec_graph *s = n->attrs[k].type == EC_ATTR_GRAPH ? n->attrs[k].graph : NULL;
      if (!s) continue;
      ec_buf_printf(b, "%*s%s: graph '%s'", 2 * depth + 2, "", n->attrs[k].name, s->name);
      const int *lists[3] = {s->inputs, s->captures, s->outputs};
      const int counts[3] = {s->n_inputs, s->n_captures, s->n_outputs};
      const char *titles[3] = {"inputs", "captures", "outputs"};
      for (int l = 0; l < 3; l++) {
        ec_buf_printf(b, "%s %s", l ? ";" : ",", titles[l]);
        for (int m = 0; m < counts[l]; m++) ec_buf_printf(b, " %s", s->tensors[lists[l][m]].name);
      }
      ec_buf_printf(b, "\n");
      for (int m = 0; m < s->n_nodes; m++) {
        const ec_node *sn = &s->nodes[m];
        ec_buf_printf(b, "%*s%s(", 2 * depth + 4, "", sn->op_type);
        for (int q = 0; q < ec_node_n_explicit_inputs(sn); q++)
          ec_buf_printf(b, "%s%s", q ? ", " : "", sn->inputs[q] >= 0 ? s->tensors[sn->inputs[q]].name : "");
        ec_buf_printf(b, ") ->");
        for (int q = 0; q < sn->n_outputs; q++)
          ec_buf_printf(b, " %s", sn->outputs[q] >= 0 ? s->tensors[sn->outputs[q]].name : "");
        ec_buf_printf(b, "\n");
      }
      subgraphs_text(b, s, depth + 2);
    }
  }
}

int ec_cmd_inspect(int argc, char **argv) {
  ec_model_opts mo;
  memset(&mo, 0, sizeof mo);
  mo.allow_unpinned = true; /* reported below, not an error */
  const char *path = NULL;
  bool json = false, shape_inputs = false;
  for (int i = 0; i < argc; i++) {
    int r = ec_parse_model_opt(&mo, argc, argv, &i);
    if (r < 0) return EC_ERR_USAGE;
    if (r > 0) continue;
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      fputs(inspect_help, stdout);
      return 0;
    } else if (strcmp(argv[i], "--json") == 0) {
      json = true;
    } else if (strcmp(argv[i], "--shape-inputs") == 0) {
      shape_inputs = true;
    } else if (argv[i][0] == '-' && argv[i][1]) {
      return ec_usage_error("inspect: unknown option '%s' (see edgecc inspect --help)", argv[i]);
    } else if (path) {
      return ec_usage_error("inspect: one model at a time ('%s' and '%s')", path, argv[i]);
    } else {
      path = argv[i];
    }
  }
  if (!path) return ec_usage_error("inspect: no model given (see edgecc inspect --help)");

  ec_graph *g;
  int rc = ec_cli_load(path, &mo, true, &g);
  if (rc) return rc;
  if (shape_inputs) {
    ec_buf b = {0};
    int n = ec_shape_inputs(g, &b);
    const char *p = b.data;
    for (int i = 0; i < n; i++, p += strlen(p) + 1) printf("%s\n", p);
    ec_buf_free(&b);
    ec_graph_free(g);
    return 0;
  }
  op_count ops[512], unsup[512];
  int n_ops = histogram(g, false, ops, 512);
  int n_nodes = g->n_nodes;
  /* A dynamic dim without a value: no static shapes, so no inference; the rest is reported. */
  bool dynamic = false;
  for (int i = 0; i < g->n_dyn_dims; i++) dynamic |= unpinned(&g->dyn_dims[i]);
  /* The histogram above is of the file's nodes; now infer shapes and fold constants. */
  ec_diag d;
  memset(&d, 0, sizeof d);
  ec_status st = dynamic ? EC_OK : ec_infer_graph(g, &d);
  if (!st && !dynamic) st = ec_onnx_check_declared(g, &d);
  if (!st && !dynamic) st = ec_graph_compact(g);
  if (st) {
    ec_diag_print(&d);
    ec_graph_free(g);
    return st;
  }
  int n_unsup = histogram(g, true, unsup, 512);
  ec_cost total = {0};
  double *op_macs = ec_alloc(sizeof(double) * EC_OP_COUNT);
  if (!op_macs) {
    ec_graph_free(g);
    return EC_ERR_INTERNAL;
  }
  for (int i = 0; !dynamic && i < g->n_nodes; i++) { /* costs read the parameters inference parsed */
    const ec_node *nd = &g->nodes[i];
    ec_cost c = {0};
    if (ec_ops[nd->op].cost)
      ec_ops[nd->op].cost(g, nd, &c);
    else
      ec_cost_elementwise(g, nd, &c);
    total.flops += c.flops;
    total.macs += c.macs;
    total.bytes += c.bytes;
    op_macs[nd->op] += c.macs;
  }
  char hex[65];
  ec_sha256_hex(g->sha256, hex);
  ec_buf b = {0};
  if (json) {
    ec_buf_printf(&b, "{\n  \"edgecc_version\": \"%s\",\n  \"model\": ", EC_VERSION);
    ec_buf_json_str(&b, path);
    ec_buf_printf(&b, ",\n  \"sha256\": \"%s\",\n  \"ir_version\": %lld,\n  \"opset\": %lld,\n", hex,
                  (long long)g->ir_version, (long long)g->opset);
    ec_buf_printf(&b, "  \"inputs\": ");
    tensors_json(&b, g, g->inputs, g->n_inputs);
    ec_buf_printf(&b, ",\n  \"dynamic_dims\": ");
    dynamic_json(&b, g);
    ec_buf_printf(&b, ",\n  \"outputs\": ");
    tensors_json(&b, g, g->outputs, dynamic ? 0 : g->n_outputs);
    ec_buf_printf(&b, ",\n  \"frozen_inputs\": %d,\n  \"nodes\": %d,\n  \"ops\": ", g->n_frozen,
                  n_nodes);
    ops_json(&b, ops, n_ops);
    ec_buf_printf(&b, ",\n  \"params\": %lld,\n  \"weight_bytes\": %lld,\n", (long long)g->init_params,
                  (long long)g->init_bytes);
    if (dynamic)
      ec_buf_printf(&b, "  \"flops\": null,\n  \"macs\": null,\n  \"nodes_after_folding\": null,\n");
    else
      ec_buf_printf(&b, "  \"flops\": %.0f,\n  \"macs\": %.0f,\n  \"nodes_after_folding\": %d,\n", total.flops,
                    total.macs, g->n_nodes);
    ec_buf_printf(&b, "  \"unsupported_ops\": ");
    ops_json(&b, unsup, n_unsup);
    ec_buf_printf(&b, ",\n  \"macs_by_op\": {");
    bool first = true;
    for (int i = 0; i < EC_OP_COUNT; i++) {
      if (op_macs[i] <= 0) continue;
      ec_buf_printf(&b, "%s\"%s\": %.0f", first ? "" : ", ", ec_ops[i].name, op_macs[i]);
      first = false;
    }
    ec_buf_printf(&b, "}");
    ec_buf_printf(&b, ",\n  \"warnings\": [");
    for (int i = 0; i < g->n_warnings; i++) {
      ec_buf_printf(&b, "%s", i ? ", " : "");
      ec_buf_json_str(&b, g->warnings[i]);
    }
    ec_buf_printf(&b, "]\n}\n");
  } else {
    ec_buf_printf(&b, "model    %s\nsha256   %s\nopset    %lld (IR version %lld)\n", path, hex,
                  (long long)g->opset, (long long)g->ir_version);
    ec_buf_printf(&b, "inputs\n");
    for (int i = 0; i < g->n_inputs; i++) {
      const ec_tensor *t = &g->tensors[g->inputs[i]];
      ec_buf_printf(&b, "  %-24s %-8s ", t->name, ec_dtype_name(t->dtype));
      shape_put(&b, g, g->inputs[i], false);
      ec_buf_printf(&b, "\n");
    }
    if (g->n_frozen) ec_buf_printf(&b, "  (%d input(s) frozen into constants)\n", g->n_frozen);
    dynamic_text(&b, g);
    ec_buf_printf(&b, dynamic ? "outputs  unknown until every dynamic dimension has a value\n" : "outputs\n");
    for (int i = 0; !dynamic && i < g->n_outputs; i++) {
      const ec_tensor *t = &g->tensors[g->outputs[i]];
      ec_buf_printf(&b, "  %-24s %-8s ", t->name, ec_dtype_name(t->dtype));
      shape_put(&b, g, g->outputs[i], false);
      ec_buf_printf(&b, "\n");
    }
    if (dynamic)
      ec_buf_printf(&b, "nodes    %d\nops     ", n_nodes);
    else
      ec_buf_printf(&b, "nodes    %d (%d after constant folding)\nops     ", n_nodes, g->n_nodes);
    for (int i = 0; i < n_ops; i++) ec_buf_printf(&b, "%s%s x%d", i ? ", " : "", ops[i].name, ops[i].count);
    ec_buf_printf(&b, "\nparams   %lld (%lld weight bytes)\n", (long long)g->init_params,
                  (long long)g->init_bytes);
    if (dynamic) {
      ec_buf_printf(&b, "compute  unknown until every dynamic dimension has a value\n");
    } else {
      ec_buf_printf(&b, "compute  ");
      put_si(&b, total.flops);
      ec_buf_printf(&b, "FLOP, ");
      put_si(&b, total.macs);
      ec_buf_printf(&b, " multiply-adds\n");
    }
    bool any_sub = false;
    for (int i = 0; i < g->n_nodes; i++) any_sub |= g->nodes[i].n_subgraphs > 0;
    if (any_sub) {
      ec_buf_printf(&b, "subgraphs\n");
      subgraphs_text(&b, g, 1);
    }
    if (n_unsup) {
      ec_buf_printf(&b, "cannot compile yet: ");
      for (int i = 0; i < n_unsup; i++)
        ec_buf_printf(&b, "%s%s x%d", i ? ", " : "", unsup[i].name, unsup[i].count);
      ec_buf_printf(&b, "\n");
    } else {
      ec_buf_printf(&b, "every op can be compiled\n");
    }
  }
  if (b.oom) {
    free(op_macs);
    ec_buf_free(&b);
    ec_graph_free(g);
    fprintf(stderr, "edgecc: error: out of memory\n");
    return EC_ERR_INTERNAL;
  }
  free(op_macs);
  fwrite(b.data, 1, b.len, stdout);
  ec_buf_free(&b);
  ec_graph_free(g);
  return 0;
}
