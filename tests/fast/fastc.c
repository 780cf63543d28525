/* fastc.c — test driver for the fast kernels until `edgecc compile` takes `--kernels xnnpack`:
 * load, passes, ec_lower, codegen of the whole model for one device, written under OUT. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "codegen.h"
#include "lower.h"
#include "passes.h"

int main(int argc, char **argv) {
  const char *path = NULL, *out = NULL, *kernels = "xnnpack", *name = "model", *target = "host";
  const char *disabled[32];
  int n_disabled = 0;
  ec_pass_opts po = {0};
  ec_diag d;
  memset(&d, 0, sizeof d);
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "-o") == 0 && i + 1 < argc) out = argv[++i];
    else if (strcmp(argv[i], "--kernels") == 0 && i + 1 < argc) kernels = argv[++i];
    else if (strcmp(argv[i], "--name") == 0 && i + 1 < argc) name = argv[++i];
    else if (strcmp(argv[i], "--target") == 0 && i + 1 < argc) target = argv[++i];
    else if (strcmp(argv[i], "--no-pass") == 0 && i + 1 < argc && n_disabled < 32) {
      const char *nm = argv[++i];
      if (ec_lower_is_step(nm)) disabled[n_disabled++] = nm;
      else if (ec_pass_disable(&po, nm, &d)) {
        ec_diag_print(&d);
        return 2;
      }
      if (strcmp(nm, "all") == 0) disabled[n_disabled++] = nm;
    } else if (!path) path = argv[i];
    else {
      fprintf(stderr, "usage: fastc MODEL -o OUT [--kernels K] [--name N] [--target T] [--no-pass NAME]...\n");
      return 2;
    }
  }
  if (!path || !out) {
    fprintf(stderr, "usage: fastc MODEL -o OUT [--kernels K] [--name N] [--target T] [--no-pass NAME]...\n");
    return 2;
  }
  ec_model_opts mo;
  memset(&mo, 0, sizeof mo);
  ec_graph *g;
  int rc = ec_cli_load(path, &mo, false, &g);
  if (rc) return rc;
  ec_lower_opts lo = {kernels, disabled, n_disabled};
  ec_status st = ec_run_passes(g, &po, &d);
  if (!st) st = ec_lower(g, &lo, &d);
  ec_part part;
  memset(&part, 0, sizeof part);
  ec_fileset fs = {0};
  ec_part_report rep;
  const char *base = strrchr(path, '/');
  ec_codegen_opts o = {name, "host", target, kernels, base ? base + 1 : path, false, 0, 0};
  if (!st) st = ec_part_whole(g, &part);
  if (!st) st = ec_codegen_partition(g, &part, &o, &fs, &rep, &d);
  if (!st) st = ec_codegen_device(g, &o, &rep, 1, &fs, &d);
  if (!st) {
    ec_fileset_sort(&fs);
    st = ec_output_write(out, &fs, true, &d);
  }
  if (st) ec_diag_print(&d);
  ec_part_free(&part);
  ec_fileset_free(&fs);
  ec_graph_free(g);
  return st ? 1 : 0;
}
