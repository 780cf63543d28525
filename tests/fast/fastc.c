/* fastc.c — test driver for the fast kernels until `edgecc compile` takes `--kernels xnnpack`:
 * load, graph passes, ec_lower, codegen of the whole model for one device, written under OUT. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "codegen.h"
#include "lower.h"
#include "passes.h"
#include "target.h"

static int usage(void) {
  fprintf(stderr, "usage: fastc MODEL -o OUT [--kernels K] [--name N] [--target T] [--no-pass NAME]...\n");
  return 2;
}

int main(int argc, char **argv) {
  const char *path = NULL, *out = NULL, *kernels = "xnnpack", *name = "model", *target = "host";
  ec_model_opts mo;
  memset(&mo, 0, sizeof mo);
  ec_diag d;
  memset(&d, 0, sizeof d);
  for (int i = 1; i < argc; i++) {
    /* --no-pass (graph passes and lowering steps) and --dim as edgecc parses them. */
    int r = ec_parse_model_opt(&mo, argc, argv, &i);
    if (r < 0) return 2;
    if (r > 0) continue;
    if (strcmp(argv[i], "-o") == 0 && i + 1 < argc) out = argv[++i];
    else if (strcmp(argv[i], "--kernels") == 0 && i + 1 < argc) kernels = argv[++i];
    else if (strcmp(argv[i], "--name") == 0 && i + 1 < argc) name = argv[++i];
    else if (strcmp(argv[i], "--target") == 0 && i + 1 < argc) target = argv[++i];
    else if (!path && argv[i][0] != '-') path = argv[i];
    else return usage();
  }
  if (!path || !out) return usage();
  /* ec_cli_load runs the graph passes --no-pass left on (and const-fold while loading). */
  ec_graph *g;
  int rc = ec_cli_load(path, &mo, false, &g);
  if (rc) return rc;
  ec_lower_opts lo = {kernels, mo.lower_off, mo.n_lower_off};
  ec_status st = ec_lower(g, &lo, &d);
  ec_part part;
  memset(&part, 0, sizeof part);
  ec_fileset fs = {0};
  ec_part_report rep;
  const char *base = strrchr(path, '/');
  /* Codegen takes the core count from its caller, who knows the target. */
  ec_target_set ts;
  memset(&ts, 0, sizeof ts);
  if (!st) st = ec_targets_init(&ts, &d);
  const ec_target *t = st ? NULL : ec_targets_find(&ts, target);
  ec_codegen_opts o = {name, "host", target, kernels, base ? base + 1 : path, false, 0, t ? t->cores : 1, NULL, 0};
  if (!st) st = ec_part_whole(g, &part);
  if (!st) st = ec_codegen_partition(g, &part, &o, &fs, &rep, &d);
  if (!st) st = ec_codegen_device(g, &o, &rep, 1, &fs, &d);
  if (!st) {
    ec_fileset_sort(&fs);
    st = ec_output_write(out, &fs, true, &d);
  }
  if (st) ec_diag_print(&d);
  ec_part_free(&part);
  ec_targets_free(&ts);
  ec_fileset_free(&fs);
  ec_graph_free(g);
  return st ? 1 : 0;
}
