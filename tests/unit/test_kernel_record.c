/* test_kernel_record.c — lowering's recorded kernel choices (n->kernel, ec_lower_record) against a
 * fresh ec_choose_kernel on real graphs: memory planning and codegen read the records and never
 * choose again, so a step that changes the graph after the record would make them emit a kernel
 * the graph no longer fits. Each model goes through the pipeline (ec_pipeline_run, as edgecc
 * compile runs it) for the reference kernels, for XNNPACK on one device, and for XNNPACK over two
 * devices in two partitions (the cut steps: cut tensors pinned, ec_lower_cut_tensor, compact,
 * sort, record again).
 * usage: test_kernel_record [--dir DIR] [--min-loaded N] MODEL...
 *   --dir: every DIR/<test>/model.onnx too (those edgecc cannot load are counted, not checked; a
 *   model the planner cannot cut in two is checked on one device only);
 *   fails when fewer than N models loaded, or when no model was cut. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "lower.h"
#include "op.h"
#include "pipeline.h"
#include "target.h"

static int n_checked, n_mismatch, n_cut, n_loaded, n_unloadable;
static ec_target_set targets;
static ec_device_list one_dev, two_devs;

/* Nodes whose record differs from a fresh choice (every one named when `report`). */
static int compare(const ec_graph *g, const char *kernels, const char *what, bool report) {
  int bad = 0;
  for (int i = 0; i < g->n_nodes; i++) {
    const ec_node *n = &g->nodes[i];
    if (n->dead) continue;
    ec_kernel_choice c;
    ec_choose_kernel(g, n, kernels, &c);
    if (n->kernel && memcmp(n->kernel, &c, sizeof c) == 0) continue;
    bad++;
    if (report)
      printf("MISMATCH %s: node '%s' (%s): recorded kind %d, fresh kind %d\n", what, n->name, n->op_type,
             n->kernel ? (int)n->kernel->kind : -1, (int)c.kind);
  }
  return bad;
}

static ec_graph *load(const char *path) {
  ec_model_opts mo;
  memset(&mo, 0, sizeof mo);
  ec_graph *g = NULL;
  if (ec_cli_load(path, &mo, false, &g)) return NULL;
  return g;
}

static void check(const ec_graph *g, const char *kernels, const char *what) {
  n_checked++;
  n_mismatch += compare(g, kernels, what, true) > 0;
  /* The reference library records EC_K_REF everywhere. */
  for (int i = 0; !ec_kernels_fast(kernels) && i < g->n_nodes; i++)
    if (!g->nodes[i].dead && g->nodes[i].kernel && g->nodes[i].kernel->kind != EC_K_REF) {
      printf("MISMATCH %s: node '%s' is not EC_K_REF\n", what, g->nodes[i].name);
      n_mismatch++;
    }
}

static bool one_model(const char *path, bool must_load) {
  static const char *const libs[] = {"ref", "xnnpack"};
  for (int l = 0; l < 3; l++) {
    ec_graph *g = load(path);
    if (!g) {
      if (must_load) printf("FAIL: %s does not load\n", path);
      n_unloadable++;
      return !must_load;
    }
    if (l == 0) n_loaded++;
    const char *kernels = libs[l > 0];
    char what[600];
    snprintf(what, sizeof what, "%s (%s%s)", path, kernels, l == 2 ? ", cut" : "");
    ec_diag d;
    memset(&d, 0, sizeof d);
    ec_pipeline_opts po;
    memset(&po, 0, sizeof po);
    po.plan.klib = l == 0 ? EC_KLIB_REF : EC_KLIB_XNNPACK;
    po.plan.n_parts = l == 2 ? 2 : 0;
    po.plan.no_alternatives = true;
    ec_plan plan;
    ec_status st = ec_pipeline_run(g, l == 2 ? &two_devs : &one_dev, &po, &plan, &d);
    if (st && l == 2 && !must_load) { /* no split point: checked on one device above */
      ec_plan_free(&plan);
      ec_graph_free(g);
      break;
    }
    if (!st && l == 2) n_cut += plan.n_parts == 2;
    ec_plan_free(&plan);
    if (st) {
      printf("FAIL: %s: the pipeline failed: %s\n", what, d.msg);
      ec_graph_free(g);
      return false;
    }
    check(g, kernels, what);
    ec_graph_free(g);
  }
  return true;
}

int main(int argc, char **argv) {
  ec_diag d;
  memset(&d, 0, sizeof d);
  if (ec_targets_init(&targets, &d) || ec_devices_parse(&targets, "host", &one_dev, &d) ||
      ec_devices_parse(&targets, "a=host,b=host", &two_devs, &d)) {
    printf("FAIL: the host target: %s\n", d.msg);
    return 1;
  }
  bool ok = true;
  int min_loaded = 1;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--min-loaded") == 0 && i + 1 < argc) {
      min_loaded = atoi(argv[++i]);
    } else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc) {
      const char *dir = argv[++i];
      struct dirent **names;
      int n = scandir(dir, &names, NULL, alphasort);
      if (n < 0) {
        printf("FAIL: cannot read %s\n", dir);
        return 1;
      }
      for (int k = 0; k < n; k++) {
        char path[1200];
        snprintf(path, sizeof path, "%s/%s/model.onnx", dir, names[k]->d_name);
        FILE *f = names[k]->d_name[0] != '.' ? fopen(path, "rb") : NULL;
        if (f) {
          fclose(f);
          ok &= one_model(path, false);
        }
        free(names[k]);
      }
      free(names);
    } else {
      ok &= one_model(argv[i], true);
    }
  }
  printf("%d models loaded (%d not loadable), %d lowered graphs checked (%d cut in two), %d with a record "
         "that differs from a fresh choice\n", n_loaded, n_unloadable, n_checked, n_cut, n_mismatch);
  if (n_loaded < min_loaded) {
    printf("FAIL: only %d models loaded, expected at least %d\n", n_loaded, min_loaded);
    ok = false;
  }
  if (n_cut == 0) {
    printf("FAIL: no model was cut in two: the cut steps were not checked\n");
    ok = false;
  }
  ec_targets_free(&targets);
  return ok && n_mismatch == 0 ? 0 : 1;
}
