/* inspect.c — `edgecc inspect MODEL [--json]`: inputs, outputs, op histogram, parameters,
 * weight bytes, FLOPs and multiply-adds, and the ops edgecc cannot compile yet. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "op.h"
#include "sha256.h"

static const char inspect_help[] =
    "usage: edgecc inspect MODEL [--json] [--dim NAME=N] [--freeze-input NAME=FILE.pb]\n"
    "                    [--no-pass NAME]\n"
    "       edgecc inspect MODEL --shape-inputs\n"
    "\n"
    "Loads MODEL, infers every shape and prints what it holds: graph inputs and outputs with\n"
    "dtypes and shapes, the op histogram, parameter count, weight bytes, FLOPs and\n"
    "multiply-adds, and the ops edgecc cannot compile yet.\n"
    "\n"
    "  --json                 machine-readable output (see docs/inspect-json.md)\n"
    "  --dim NAME=N           pin the symbolic dimension NAME to N\n"
    "  --freeze-input NAME=F  make graph input NAME the constant held in TensorProto file F\n"
    "  --no-pass NAME         switch off a graph pass (const-fold, dce, identity, bn-fold, all)\n"
    "  --shape-inputs         list the graph inputs that feed shape operands (one per line);\n"
    "                         they must be frozen with --freeze-input\n";

typedef struct {
  const char *name;
  int count;
} op_count;

static int cmp_op(const void *a, const void *b) {
  return strcmp(((const op_count *)a)->name, ((const op_count *)b)->name);
}

/* Histogram of op types (sorted by name). */
static int histogram(const ec_graph *g, bool unsupported_only, op_count *out, int cap) {
  int n = 0;
  for (int i = 0; i < g->n_nodes; i++) {
    const ec_node *nd = &g->nodes[i];
    if (nd->dead) continue;
    if (unsupported_only && nd->op >= 0 && ec_ops[nd->op].ref) continue;
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

static void shape_json(ec_buf *b, const ec_tensor *t) {
  ec_buf_printf(b, "[");
  for (int k = 0; k < t->rank; k++) ec_buf_printf(b, "%s%lld", k ? ", " : "", (long long)t->dims[k]);
  ec_buf_printf(b, "]");
}

static void shape_text(ec_buf *b, const ec_tensor *t) {
  ec_buf_printf(b, "[");
  for (int k = 0; k < t->rank; k++) ec_buf_printf(b, "%s%lld", k ? "," : "", (long long)t->dims[k]);
  ec_buf_printf(b, "]");
}

static void tensors_json(ec_buf *b, const ec_graph *g, const int *ts, int n) {
  ec_buf_printf(b, "[");
  for (int i = 0; i < n; i++) {
    const ec_tensor *t = &g->tensors[ts[i]];
    ec_buf_printf(b, "%s\n    {\"name\": ", i ? "," : "");
    ec_buf_json_str(b, t->name);
    ec_buf_printf(b, ", \"dtype\": \"%s\", \"shape\": ", ec_dtype_name(t->dtype));
    shape_json(b, t);
    ec_buf_printf(b, "}");
  }
  ec_buf_printf(b, "%s]", n ? "\n  " : "");
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

int ec_cmd_inspect(int argc, char **argv) {
  ec_model_opts mo;
  memset(&mo, 0, sizeof mo);
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
  /* The histogram above is of the file's nodes; now infer shapes and fold constants. */
  ec_diag d;
  memset(&d, 0, sizeof d);
  ec_status st = ec_infer_graph(g, &d);
  if (!st) st = ec_onnx_check_declared(g, &d);
  if (!st) st = ec_graph_compact(g);
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
  for (int i = 0; i < g->n_nodes; i++) {
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
    ec_buf_printf(&b, ",\n  \"outputs\": ");
    tensors_json(&b, g, g->outputs, g->n_outputs);
    ec_buf_printf(&b, ",\n  \"frozen_inputs\": %d,\n  \"nodes\": %d,\n  \"ops\": ", g->n_frozen,
                  n_nodes);
    ops_json(&b, ops, n_ops);
    ec_buf_printf(&b,
                  ",\n  \"params\": %lld,\n  \"weight_bytes\": %lld,\n  \"flops\": %.0f,\n"
                  "  \"macs\": %.0f,\n  \"nodes_after_folding\": %d,\n  \"unsupported_ops\": ",
                  (long long)g->init_params, (long long)g->init_bytes, total.flops, total.macs,
                  g->n_nodes);
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
      shape_text(&b, t);
      ec_buf_printf(&b, "\n");
    }
    if (g->n_frozen) ec_buf_printf(&b, "  (%d input(s) frozen into constants)\n", g->n_frozen);
    ec_buf_printf(&b, "outputs\n");
    for (int i = 0; i < g->n_outputs; i++) {
      const ec_tensor *t = &g->tensors[g->outputs[i]];
      ec_buf_printf(&b, "  %-24s %-8s ", t->name, ec_dtype_name(t->dtype));
      shape_text(&b, t);
      ec_buf_printf(&b, "\n");
    }
    ec_buf_printf(&b, "nodes    %d (%d after constant folding)\nops     ", n_nodes, g->n_nodes);
    for (int i = 0; i < n_ops; i++) ec_buf_printf(&b, "%s%s x%d", i ? ", " : "", ops[i].name, ops[i].count);
    ec_buf_printf(&b, "\nparams   %lld (%lld weight bytes)\n", (long long)g->init_params,
                  (long long)g->init_bytes);
    ec_buf_printf(&b, "compute  ");
    put_si(&b, total.flops);
    ec_buf_printf(&b, "FLOP, ");
    put_si(&b, total.macs);
    ec_buf_printf(&b, " multiply-adds\n");
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
