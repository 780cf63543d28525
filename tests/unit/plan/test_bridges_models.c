/* test_bridges_models.c — split points of real ONNX models equal brute force.
 * Usage: test_bridges_models MODEL.onnx...  Exit 0 pass, 1 fail (split points differ, or a model
 * does not load through full shape inference: its un-inferred graph is still checked first). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridges.h"
#include "onnx_load.h"
#include "plan_testlib.h"

/* Loads, finds split points, checks against brute force, prints one summary line. Returns 0 on
 * a match, 1 on a mismatch or a load failure of the raw graph. */
static int check(const char *path, bool no_infer, bool *loaded) {
  ec_load_opts opts = {0};
  opts.no_infer = no_infer;
  ec_graph *g = NULL;
  ec_diag d = {0};
  double t0 = tl_now();
  ec_status st = ec_onnx_load(path, &opts, &g, &d);
  double t1 = tl_now();
  *loaded = st == EC_OK;
  if (st) {
    printf("%s (%s): does not load: %s%s%s\n", path, no_infer ? "raw graph" : "inferred", d.where,
           d.where[0] ? ": " : "", d.msg);
    return no_infer ? 1 : 0;
  }
  ec_bridges b;
  double t2 = tl_now();
  st = ec_bridges_find(g, &b, &d);
  double t3 = tl_now();
  if (st) {
    printf("%s: bridges failed: %s\n", path, d.msg);
    ec_graph_free(g);
    return 1;
  }
  double t4 = tl_now();
  bool ok = tl_check_bridges(g, &b);
  double t5 = tl_now();
  printf("%s (%s): %d nodes, %d tensors, %d split points, %d cuts, %d blocks, %d constant-only "
         "nodes; load %.0f ms, bridges %.2f ms, brute force %.0f ms: %s\n",
         path, no_infer ? "raw graph" : "inferred and folded", g->n_nodes, g->n_tensors,
         b.n_split, b.n_cuts, b.n_blocks, b.n_const_nodes, (t1 - t0) * 1e3, (t3 - t2) * 1e3,
         (t5 - t4) * 1e3, ok ? "equal" : "DIFFERENT");
  if (getenv("EC_PLAN_VERBOSE")) {
    for (int c = 0; c < b.n_cuts; c++) printf("  cut %d: %s\n", c, g->tensors[b.cut[c]].name);
  }
  ec_bridges_free(&b);
  ec_graph_free(g);
  return ok ? 0 : 1;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s MODEL.onnx...\n", argv[0]);
    return 2;
  }
  int fails = 0, unloaded = 0;
  for (int i = 1; i < argc; i++) {
    bool loaded;
    fails += check(argv[i], true, &loaded);
    fails += check(argv[i], false, &loaded);
    if (!loaded) unloaded++;
  }
  if (fails) return 1;
  if (unloaded) {
    printf("FAILED: %d model(s) do not load through shape inference and folding (their raw graphs "
           "were checked)\n", unloaded);
    return 1;
  }
  return 0;
}
