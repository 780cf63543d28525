/* node_costs.c — bench helper: the cost model's view of every node of a model, one line each
 * (name, op, kernel, class, FLOPs, bytes, predicted ms), to fit against --profile timings.
 *
 * Built by bench/plan/calibrate.py against a build folder's libec_compiler.a; not installed.
 * usage: node_costs MODEL TARGET_FILE TARGET_NAME ref|xnnpack THREADS */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cost.h"
#include "lower.h"
#include "passes.h"
#include "pipeline.h"
#include "target.h"

int main(int argc, char **argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: node_costs MODEL TARGET_FILE TARGET_NAME ref|xnnpack THREADS\n");
    return 2;
  }
  const char *kernels = argv[4];
  int threads = atoi(argv[5]);
  ec_diag d;
  memset(&d, 0, sizeof d);
  ec_target_set ts;
  if (ec_targets_init(&ts, &d) || ec_targets_add_file(&ts, argv[2], &d)) {
    ec_diag_print(&d);
    return 1;
  }
  const ec_target *t = ec_targets_find(&ts, argv[3]);
  if (!t) {
    fprintf(stderr, "node_costs: unknown target %s\n", argv[3]);
    return 1;
  }
  ec_model_opts mo;
  memset(&mo, 0, sizeof mo);
  ec_graph *g;
  if (ec_cli_load(argv[1], &mo, false, &g)) return 1;
  /* The graph as edgecc compile lowers it for one device of this target (ec_cli_load ran the
   * graph passes), so that the node names match a --profile of the compiled program. */
  ec_device_list devs;
  memset(&devs, 0, sizeof devs);
  char spec[300];
  snprintf(spec, sizeof spec, "here=%s", argv[3]);
  bool fast = ec_kernels_fast(kernels);
  unsigned klib = fast ? EC_KLIB_XNNPACK : EC_KLIB_REF;
  ec_pipeline_opts o = {.plan = {.klib = klib, .threads = threads}};
  ec_plan plan;
  memset(&plan, 0, sizeof plan);
  ec_status st = ec_devices_parse(&ts, spec, &devs, &d);
  if (!st) st = ec_pipeline_run(g, &devs, &o, &plan, &d);
  ec_plan_free(&plan);
  if (st) {
    ec_diag_print(&d);
    return 1;
  }
  static const char *const kinds[] = {"ref", "xnn", "to_nhwc", "to_nchw", "concat_nhwc", "shuffle", "blas"};
  static const char *const classes[] = {"gemm", "dwconv", "memory"};
  printf("name\top\tkernel\tclass\tflops\tbytes\trows\tms\n");
  for (int i = 0; i < g->n_nodes; i++) {
    const ec_node *n = &g->nodes[i];
    if (n->dead) continue;
    ec_kernel_choice kc;
    ec_kernel_kind k = ec_choose_kernel(g, n, kernels, &kc);
    ec_node_cost c = ec_cost_node(g, n, t, threads, klib);
    printf("%s\t%s\t%s\t%s\t%.0f\t%.0f\t%.0f\t%.6f\n", n->name ? n->name : "", n->op_type,
           (unsigned)k < sizeof kinds / sizeof *kinds ? kinds[k] : "?", classes[c.cls], c.flops, c.bytes,
           c.rows, c.ms);
  }
  ec_graph_free(g);
  ec_targets_free(&ts);
  return 0;
}
