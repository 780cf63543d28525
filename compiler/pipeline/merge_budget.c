/* merge_budget.c — ec_pipeline_merge_budget: approximate merging (--merge-budget PP, --calib DIR).
 * Before the exact merge, each later model takes the first model's weights node by node from the
 * inputs forward, kept while its top-1 agreement with its own unmerged outputs on the calibration
 * set stays within the budget; ec_merge then unifies the nodes whose weights became identical.
 *
 * Each trial runs the model in-process with the reference kernels (ec_quant_run, as the
 * quantization budget does), so the agreement is that of the graph compile generates. Only a
 * prefix can be shared: a node whose inputs differ between the models cannot merge, so the first
 * node that breaks the budget ends the model's trials. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline.h"

/* A weight of the later model pointed at the first model's bytes, and what it held before. */
typedef struct swap {
  ec_tensor *t;
  void *data;
  bool owned;
} swap;

static void swap_out(swap *sw, int n) {
  for (int k = n - 1; k >= 0; k--) sw[k].t->data = sw[k].data, sw[k].t->owned = sw[k].owned;
}

/* Points pair k's weights of g that differ from g0's at g0's bytes; returns how many (0: the
 * pair is alike already), -1 when more than max differ. */
static int swap_in(const ec_graph *g0, ec_graph *g, int n0, int n1, swap *sw, int max, uint64_t *bytes) {
  const ec_node *a = &g->nodes[n1], *b = &g0->nodes[n0];
  int n = 0;
  for (int k = 0; k < a->n_inputs; k++) {
    if (a->inputs[k] < 0) continue;
    ec_tensor *x = &g->tensors[a->inputs[k]];
    const ec_tensor *y = &g0->tensors[b->inputs[k]];
    if (x->kind != EC_TK_CONSTANT || x->data == y->data || (x->nbytes && memcmp(x->data, y->data, x->nbytes) == 0))
      continue;
    if (n >= max) { /* more weights than any op has: leave the node as it was */
      swap_out(sw, n);
      return -1;
    }
    sw[n++] = (swap){x, x->data, x->owned};
    *bytes += x->nbytes;
    x->data = y->data; /* g0 lives as long as the merged graph, which holds every model's graph */
    x->owned = false;
  }
  return n;
}

static void swap_keep(swap *sw, int n) {
  for (int k = 0; k < n; k++)
    if (sw[k].owned) free(sw[k].data);
}

ec_status ec_pipeline_merge_budget(ec_merge_model *models, int n, const ec_pipeline_merge_budget_opts *o,
                                   ec_merge_approx *ap, ec_diag *d) {
  memset(ap, 0, sizeof *ap);
  ap->on = true;
  ap->budget_pp = o->budget_pp;
  ec_graph *g0 = models[0].g;
  ec_calib_set set;
  memset(&set, 0, sizeof set);
  ec_status st = ec_calib_list(o->calib_dir, g0->n_inputs, o->max_samples, &set, d);
  if (st) return st;
  ap->samples = set.n_samples;
  /* A whole number of samples, as --accuracy-budget counts them (the epsilon: 1 pp of 500 is 5). */
  ap->allowed = (int)floor(o->budget_pp * set.n_samples / 100.0 + 1e-9);
  int **pairs = calloc((size_t)n, sizeof *pairs), *np = calloc((size_t)n, sizeof *np);
  if (!pairs || !np) st = EC_ERR_INTERNAL;
  int total = 0, done = 0;
  for (int i = 1; !st && i < n; i++) {
    ec_graph *g = models[i].g;
    int max = g->n_nodes + 1;
    pairs[i] = malloc(sizeof(int) * 2 * (size_t)max);
    np[i] = pairs[i] ? ec_merge_align(g0, g, pairs[i], pairs[i] + max, max) : -1;
    if (np[i] < 0) st = EC_ERR_INTERNAL;
    for (int k = 0; !st && k < np[i]; k++) {
      swap sw[16];
      uint64_t b = 0;
      int c = swap_in(g0, g, pairs[i][k], pairs[i][max + k], sw, 16, &b);
      swap_out(sw, c > 0 ? c : 0);
      ap->candidates[i] += c != 0;
    }
    total += ap->candidates[i] + (ap->candidates[i] > 0);
  }
  float *ref = NULL, *out = NULL;
  for (int i = 1; !st && i < n; i++) {
    ec_graph *g = models[i].g;
    int max = g->n_nodes + 1;
    ap->agree[i] = set.n_samples;
    if (!ap->candidates[i]) {
      snprintf(ap->stop[i], sizeof ap->stop[i], "no node with other weights than %s's from the inputs forward",
               models[0].name);
      continue;
    }
    if (set.n_inputs != g->n_inputs) { /* aligned nodes need the first model's inputs */
      snprintf(ap->stop[i], sizeof ap->stop[i], "its inputs are not %s's", models[0].name);
      continue;
    }
    int64_t per = 0, per2 = 0;
    st = ec_quant_run(g, &set, NULL, NULL, &ref, &per, d); /* the model's own outputs */
    if (o->progress && !st) o->progress(o->progress_ctx, models[i].name, ++done, total, "runs");
    for (int k = 0; !st && k < np[i]; k++) {
      swap sw[16];
      uint64_t b = 0;
      int c = swap_in(g0, g, pairs[i][k], pairs[i][max + k], sw, 16, &b);
      if (c == 0) continue;
      if (c < 0) {
        snprintf(ap->stop[i], sizeof ap->stop[i], "'%s': more weights than one node may swap", g->nodes[pairs[i][max + k]].name);
        break;
      }
      st = ec_quant_run(g, &set, NULL, NULL, &out, &per2, d);
      if (st) break;
      ec_quant_score sc = ec_quant_compare(ref, out, set.n_samples, per, NULL);
      free(out);
      out = NULL;
      if (o->progress) o->progress(o->progress_ctx, models[i].name, ++done, total, "runs");
      const ec_node *nd = &g->nodes[pairs[i][max + k]];
      if (set.n_samples - sc.agree > ap->allowed) {
        swap_out(sw, c);
        snprintf(ap->stop[i], sizeof ap->stop[i], "'%s' (%s): %d of %d samples would disagree, the budget allows %d",
                 nd->name, nd->op_type, set.n_samples - sc.agree, set.n_samples, ap->allowed);
        break;
      }
      swap_keep(sw, c);
      ap->taken[i]++;
      ap->bytes[i] += b;
      ap->agree[i] = sc.agree;
    }
    if (!st && ap->taken[i] == ap->candidates[i])
      snprintf(ap->stop[i], sizeof ap->stop[i], "every aligned node takes %s's weights", models[0].name);
    free(ref);
    ref = NULL;
  }
  free(ref);
  for (int i = 0; pairs && i < n; i++) free(pairs[i]);
  free(pairs);
  free(np);
  ec_calib_set_free(&set);
  if (st == EC_ERR_INTERNAL && !d->msg[0]) ec_diag_set(d, "", "", "out of memory while merging within the budget");
  return st;
}
