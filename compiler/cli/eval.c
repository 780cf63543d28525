/* eval.c — `edgecc eval MODEL --input F.pb ... --output F.pb ...`: runs the model in-process
 * with the reference kernels. The reference against which generated code is checked, and a
 * debugging aid: it shares the kernels with the generated code but none of codegen. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "op.h"

static const char eval_help[] =
    "usage: edgecc eval MODEL --input FILE.pb ... --output FILE.pb ... [--input-shape NAME=D0xD1...]\n"
    "                   [--dim NAME=N] [--freeze-input NAME=FILE.pb] [--max-extent TENSOR=N]\n"
    "                   [--max-trip-count LOOP=N] [--no-pass NAME]\n"
    "\n"
    "Runs MODEL in-process with edgecc's reference kernels. Inputs are ONNX TensorProto files\n"
    "in graph-input order (frozen inputs are not given); outputs are written in graph-output\n"
    "order. --no-pass NAME switches a graph pass off (const-fold, dce, identity, bn-fold,\n"
    "layernorm, gelu, pow-square, qdq, transpose-opt, matmul-bias, matmul-transpose, or all).\n"
    "--input-shape input=1x576 gives every dim of an input the model leaves dynamic (--dim\n"
    "NAME=N one named dim); the files must have those shapes.\n";

int ec_cmd_eval(int argc, char **argv) {
  ec_model_opts mo;
  memset(&mo, 0, sizeof mo);
  const char *path = NULL;
  const char *ins[EC_MAX_OPTS], *outs[EC_MAX_OPTS];
  int n_in = 0, n_out = 0;
  for (int i = 0; i < argc; i++) {
    int r = ec_parse_model_opt(&mo, argc, argv, &i);
    if (r < 0) return EC_ERR_USAGE;
    if (r > 0) continue;
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      fputs(eval_help, stdout);
      return 0;
    } else if (strcmp(a, "--input") == 0 || strcmp(a, "--output") == 0) {
      if (i + 1 >= argc) return ec_usage_error("eval: %s needs a file", a);
      if ((a[2] == 'i' ? n_in : n_out) >= EC_MAX_OPTS) return ec_usage_error("eval: too many %s", a);
      if (a[2] == 'i')
        ins[n_in++] = argv[++i];
      else
        outs[n_out++] = argv[++i];
    } else if (a[0] == '-' && a[1]) {
      return ec_usage_error("eval: unknown option '%s' (see edgecc eval --help)", a);
    } else if (path) {
      return ec_usage_error("eval: one model at a time");
    } else {
      path = a;
    }
  }
  if (!path) return ec_usage_error("eval: no model given (see edgecc eval --help)");
  ec_graph *g;
  int rc = ec_cli_load(path, &mo, false, &g);
  if (rc) return rc;
  if (n_in != g->n_inputs) {
    fprintf(stderr, "edgecc: error: %s: the model takes %d input(s), %d given\n", path,
            g->n_inputs, n_in);
    ec_graph_free(g);
    return EC_ERR_MODEL;
  }
  if (n_out > g->n_outputs) {
    fprintf(stderr, "edgecc: error: %s: the model has %d output(s), %d files given\n", path,
            g->n_outputs, n_out);
    ec_graph_free(g);
    return EC_ERR_MODEL;
  }
  void **values = ec_alloc(sizeof(void *) * (size_t)(g->n_tensors + 1));
  ec_diag d;
  memset(&d, 0, sizeof d);
  ec_status st = values ? EC_OK : EC_ERR_INTERNAL;
  for (int i = 0; i < n_in && !st; i++) {
    ec_tensor *t = &g->tensors[g->inputs[i]];
    ec_const c;
    st = ec_onnx_read_tensor(ins[i], &c, NULL, &d);
    if (st) break;
    bool ok = c.dtype == t->dtype && c.rank == t->rank;
    for (int k = 0; ok && k < c.rank; k++) ok = c.dims[k] == t->dims[k];
    if (!ok) {
      ec_diag_set(&d, ins[i], "", "input '%s' expects %s of rank %d with the model's shape",
                  t->name, ec_dtype_name(t->dtype), t->rank);
      free(c.data);
      st = EC_ERR_MODEL;
      break;
    }
    values[g->inputs[i]] = c.data;
  }
  for (int i = 0; i < g->n_nodes && !st; i++) st = ec_eval_node(g, i, values, &d);
  for (int i = 0; i < n_out && !st; i++) {
    ec_tensor *t = &g->tensors[g->outputs[i]];
    const void *data = values[g->outputs[i]] ? values[g->outputs[i]] : t->data;
    size_t nbytes = (size_t)ec_tensor_numel(t) * ec_dtype_size(t->dtype);
    st = ec_onnx_write_tensor(outs[i], t->name, t->dtype, t->rank, t->dims, data, nbytes, &d);
  }
  if (st) ec_diag_print(&d);
  for (int i = 0; values && i < g->n_tensors; i++) free(values[i]);
  free(values);
  ec_graph_free(g);
  return st;
}
