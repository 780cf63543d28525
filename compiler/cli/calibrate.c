/* calibrate.c — `edgecc calibrate MODEL --calib DIR [-o ranges.json]`: runs a calibration set
 * through the model in-process and writes each activation's range and int8 parameters and each
 * weight's per-channel scales (compiler/quant/, docs/quantization.md). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "calib.h"
#include "cli.h"

static const char calibrate_help[] =
    "usage: edgecc calibrate MODEL --calib DIR [--calib-method minmax|percentile|entropy]\n"
    "                        [--calib-max N] [-o FILE.json] [--input-shape NAME=D0xD1...]\n"
    "                        [--dim NAME=N] [--freeze-input NAME=FILE.pb] [--max-extent TENSOR=N]\n"
    "                        [--max-trip-count LOOP=N] [--no-pass NAME]\n"
    "\n"
    "Runs the calibration samples in DIR through MODEL in-process with the reference kernels\n"
    "and writes, as JSON sorted by tensor name, each float activation's observed min and max,\n"
    "the range the method keeps, its int8 scale and zero point (per tensor, asymmetric), and the\n"
    "per-channel int8 scales of Conv, Gemm and MatMul weights (symmetric), with the SHA-256 of\n"
    "the set. Progress goes to stderr.\n"
    "\n"
    "  --calib DIR          the samples: each .pb file in DIR (ONNX TensorProto) is one sample of\n"
    "                       a one-input model; a model with several inputs takes each subfolder\n"
    "                       holding input_0.pb ... input_K.pb (graph-input order) as one sample\n"
    "  --calib-method M     minmax (default): the observed range; percentile: the 99.999th\n"
    "                       percentile of |x| (2048-bin histogram); entropy: the threshold of\n"
    "                       least KL divergence (128 levels over a 2048-bin histogram)\n"
    "  --calib-max N        at most N samples, the first in file-name order (default 64)\n"
    "  -o FILE.json         write there instead of to stdout\n"
    "\n"
    "See docs/quantization.md for the exact definitions and the file's fields.\n";

static void show_progress(void *ctx, int pass, int n_passes, int done, int total) {
  char what[64] = "";
  if (n_passes > 1)
    snprintf(what, sizeof what, " (pass %d of %d: %s)", pass, n_passes,
             pass == 1 ? "ranges" : "histograms");
  ec_cli_progress_show(ctx, "calibrating", done, total, "samples", what);
}

static int write_file(const char *path, const ec_buf *b) {
  FILE *f = fopen(path, "wb");
  bool ok = f && fwrite(b->data, 1, b->len, f) == b->len;
  if (f && fclose(f) != 0) ok = false;
  if (!ok) {
    fprintf(stderr, "edgecc: error: %s: cannot write: %s\n", path, strerror(errno));
    return EC_ERR_MODEL;
  }
  return 0;
}

int ec_cmd_calibrate(int argc, char **argv) {
  ec_model_opts mo;
  memset(&mo, 0, sizeof mo);
  const char *path = NULL, *dir = NULL, *out = NULL;
  ec_calib_opts co = {.method = EC_CALIB_MINMAX, .max_samples = EC_CALIB_DEFAULT_MAX};
  for (int i = 0; i < argc; i++) {
    int r = ec_parse_model_opt(&mo, argc, argv, &i);
    if (r < 0) return EC_ERR_USAGE;
    if (r > 0) continue;
    const char *a = argv[i];
    bool takes_value = strcmp(a, "--calib") == 0 || strcmp(a, "--calib-method") == 0 ||
                       strcmp(a, "--calib-max") == 0 || strcmp(a, "-o") == 0;
    if (takes_value && i + 1 >= argc) return ec_usage_error("calibrate: %s needs a value", a);
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      fputs(calibrate_help, stdout);
      return 0;
    } else if (strcmp(a, "--calib") == 0) {
      dir = argv[++i];
    } else if (strcmp(a, "--calib-method") == 0) {
      const char *m = argv[++i];
      if (!ec_calib_method_parse(m, &co.method))
        return ec_usage_error("calibrate: --calib-method %s: not minmax, percentile or entropy", m);
    } else if (strcmp(a, "--calib-max") == 0) {
      const char *v = argv[++i];
      char *end;
      errno = 0;
      long n = strtol(v, &end, 10);
      if (errno || end == v || *end || n < 1 || n > INT_MAX)
        return ec_usage_error("calibrate: --calib-max %s: the number of samples must be an integer of at least 1", v);
      co.max_samples = (int)n;
    } else if (strcmp(a, "-o") == 0) {
      out = argv[++i];
    } else if (a[0] == '-' && a[1]) {
      return ec_usage_error("calibrate: unknown option '%s' (see edgecc calibrate --help)", a);
    } else if (path) {
      return ec_usage_error("calibrate: one model at a time");
    } else {
      path = a;
    }
  }
  if (!path) return ec_usage_error("calibrate: no model given (see edgecc calibrate --help)");
  if (!dir) return ec_usage_error("calibrate: --calib DIR is required (see edgecc calibrate --help)");
  ec_graph *g;
  int rc = ec_cli_load(path, &mo, false, &g);
  if (rc) return rc;
  ec_diag d;
  memset(&d, 0, sizeof d);
  ec_calib_set set;
  ec_status st = ec_calib_list(dir, g->n_inputs, co.max_samples, &set, &d);
  ec_calib_result res;
  memset(&res, 0, sizeof res);
  ec_cli_progress pr = {.tty = isatty(2) == 1};
  co.progress = show_progress;
  co.progress_ctx = &pr;
  if (!st) st = ec_calib_run(g, &set, &co, &res, &d);
  if (st) {
    if (pr.open_line) fputc('\n', stderr);
    ec_diag_print(&d);
  } else {
    ec_buf b = {0};
    ec_calib_json(g, &res, &b);
    if (b.oom) {
      fprintf(stderr, "edgecc: error: out of memory writing the ranges\n");
      st = EC_ERR_INTERNAL;
    } else if (out) {
      st = write_file(out, &b);
    } else if (fwrite(b.data, 1, b.len, stdout) != b.len) {
      st = EC_ERR_MODEL;
    }
    ec_buf_free(&b);
  }
  ec_calib_result_free(&res);
  ec_calib_set_free(&set);
  ec_graph_free(g);
  return st;
}
