/* test_kernel_record.c — lowering's recorded kernel choices (n->kernel, ec_lower_record) against a
 * fresh ec_choose_kernel on real graphs: memory planning and codegen read the records and never
 * choose again, so a step that changes the graph after the record would make them emit a kernel
 * the graph no longer fits. Each model is lowered for the reference kernels, for XNNPACK, and for
 * XNNPACK with cuts (the steps compile's finish_cuts takes after a plan: cut tensors pinned,
 * ec_lower_pin, ec_lower_cut_tensor, compact, sort, record again). Before that last record, the
 * cut graphs must show stale records somewhere (else the check could not see one).
 * usage: test_kernel_record [--dir DIR] [--min-loaded N] MODEL...
 *   --dir: every DIR/<test>/model.onnx too (those edgecc cannot load are counted, not checked);
 *   fails when fewer than N models loaded. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "lower.h"
#include "op.h"

static int n_checked, n_mismatch, n_stale, n_loaded, n_unloadable;

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

/* Cuts after the first input of every in-place Concat (pin makes them copy again) and after an
 * NHWC tensor near the middle of the graph (cut_tensor converts it), as finish_cuts does. */
static ec_status cut(ec_graph *g) {
  int nt0 = g->n_tensors, n_cuts = 0;
  int *cuts = malloc(sizeof(int) * (size_t)(nt0 + 1));
  bool *marked = calloc((size_t)nt0 + 1, 1);
  if (!cuts || !marked) return EC_ERR_INTERNAL;
  for (int i = 0; i < g->n_nodes; i++) {
    const ec_node *n = &g->nodes[i];
    if (n->dead || n->op != EC_OP_Concat || !n->kernel || n->kernel->kind != EC_K_CONCAT_VIEW) continue;
    cuts[n_cuts++] = n->inputs[0];
  }
  for (int i = g->n_nodes / 2; i < g->n_nodes; i++) {
    int t = g->nodes[i].n_outputs ? g->nodes[i].outputs[0] : -1;
    if (t >= 0 && g->tensors[t].rank == 4 && g->tensors[t].layout == EC_LAYOUT_NHWC) {
      cuts[n_cuts++] = t;
      break;
    }
  }
  for (int k = 0; k < n_cuts; k++) {
    marked[cuts[k]] = !g->tensors[cuts[k]].is_output;
    g->tensors[cuts[k]].is_output = true;
  }
  ec_lower_pin(g, "xnnpack");
  ec_status st = EC_OK;
  for (int k = 0; !st && k < n_cuts; k++) st = ec_lower_cut_tensor(g, cuts[k]);
  for (int t = 0; t < nt0; t++)
    if (marked[t]) g->tensors[t].is_output = false;
  ec_diag d;
  memset(&d, 0, sizeof d);
  if (!st) st = ec_graph_compact(g);
  if (!st) st = ec_graph_toposort(g, &d);
  free(cuts);
  free(marked);
  return st;
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
    ec_lower_opts lo = {kernels, NULL, 0};
    ec_status st = ec_lower(g, &lo, &d);
    if (!st && l == 2) {
      st = cut(g);
      n_stale += compare(g, kernels, what, false);
      if (!st) st = ec_lower_record(g, kernels);
    }
    if (st) {
      printf("FAIL: %s: lowering failed: %s\n", what, d.msg);
      ec_graph_free(g);
      return false;
    }
    check(g, kernels, what);
    ec_graph_free(g);
  }
  return true;
}

int main(int argc, char **argv) {
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
  printf("%d models loaded (%d not loadable), %d lowered graphs checked, %d with a record that differs "
         "from a fresh choice; %d stale records before the cut graphs were recorded again\n",
         n_loaded, n_unloadable, n_checked, n_mismatch, n_stale);
  if (n_loaded < min_loaded) {
    printf("FAIL: only %d models loaded, expected at least %d\n", n_loaded, min_loaded);
    ok = false;
  }
  if (n_stale == 0) {
    printf("FAIL: no cut left a stale record: the check cannot be seen to work on these models\n");
    ok = false;
  }
  return ok && n_mismatch == 0 ? 0 : 1;
}
