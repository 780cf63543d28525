/* fastc.c — test driver for the fast kernels: load and graph passes (ec_cli_load), the pipeline
 * edgecc compile runs (ec_pipeline_run: plan, lowering) for one device named `host` on target T,
 * and codegen of its one partition with ec_codegen_device (no cross or dist files), under OUT. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "codegen.h"
#include "lower.h"
#include "passes.h"
#include "pipeline.h"
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
  ec_target_set ts;
  memset(&ts, 0, sizeof ts);
  ec_device_list devs;
  memset(&devs, 0, sizeof devs);
  char spec[300];
  snprintf(spec, sizeof spec, "host=%s", target);
  ec_plan plan;
  memset(&plan, 0, sizeof plan);
  ec_status st = ec_targets_init(&ts, &d);
  if (!st) st = ec_devices_parse(&ts, spec, &devs, &d);
  /* onednn: planned as xnnpack, lowered with oneDNN first (ec_pipeline_opts.onednn). */
  bool onednn = strcmp(kernels, "onednn") == 0;
  unsigned klib = ec_kernel_lib_from_name(kernels);
  if (!st && (!klib || ec_pipeline_device_klib(&devs.items[0], klib) != klib)) {
    ec_diag_set(&d, "--kernels", "", "target %s has no kernel library '%s'", target, kernels);
    st = EC_ERR_USAGE;
  }
  ec_pipeline_opts po = {.plan = {.klib = onednn ? EC_KLIB_XNNPACK : klib}, .lower_off = mo.lower_off,
                         .n_lower_off = mo.n_lower_off, .onednn = onednn};
  if (!st) st = ec_pipeline_run(g, &devs, &po, &plan, &d);
  ec_fileset fs = {0};
  ec_part_report rep;
  const char *base = strrchr(path, '/');
  /* Codegen takes the core count from its caller, who knows the target. */
  int cores = st ? 1 : devs.items[0].target->cores;
  ec_codegen_opts o = {name, "host", target, kernels, base ? base + 1 : path, false, 0, cores, NULL, 0, NULL, 0, NULL, NULL, NULL};
  if (!st) st = ec_codegen_partition(g, &plan.parts[0].part, &o, &fs, &rep, &d);
  if (!st) st = ec_codegen_device(g, &o, &rep, 1, &fs, &d);
  if (!st) {
    ec_fileset_sort(&fs);
    st = ec_output_write(out, &fs, true, &d);
  }
  if (st) ec_diag_print(&d);
  ec_plan_free(&plan);
  ec_targets_free(&ts);
  ec_fileset_free(&fs);
  ec_graph_free(g);
  return st ? 1 : 0;
}
