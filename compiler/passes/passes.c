/* passes.c — the pass manager: the table of graph passes in the order they run, `--no-pass`
 * handling, and the helpers the passes share. */
#include "passes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* const-fold first: it runs while the model loads (ec_infer_graph folds as it infers shapes), so
 * its row has no function; ec_cli_load reads its bit. dce next, so the later passes see only live consumers (bn-fold needs a Conv's output to have
 * the BatchNormalization as its only consumer); identity before bn-fold, so an Identity between
 * a Conv and its BatchNormalization does not stop the fold. */
const ec_pass_def ec_passes[] = {
    {"const-fold", NULL,
     "constant folding: evaluate at compile time every node whose inputs are all constants "
     "(runs inside shape inference; when off, only what static shapes need is folded)"},
    {"dce", ec_pass_dce, "dead-code elimination: drop nodes no graph output depends on"},
    {"identity", ec_pass_identity,
     "remove Identity and inference-mode Dropout, wiring consumers to the input"},
    {"bn-fold", ec_pass_bn_fold,
     "fold inference BatchNormalization into the preceding Conv, Gemm or constant-weight MatMul"},
};
const int ec_n_passes = (int)(sizeof ec_passes / sizeof ec_passes[0]);
_Static_assert(sizeof ec_passes / sizeof ec_passes[0] <= 32, "ec_pass_opts holds 32 bits");

bool ec_pass_fold_all(const ec_pass_opts *o) {
  return ec_pass_enabled(o, ec_pass_find("const-fold"));
}

int ec_pass_find(const char *name) {
  for (int i = 0; i < ec_n_passes; i++)
    if (strcmp(ec_passes[i].name, name) == 0) return i;
  return -1;
}

void ec_pass_names(ec_buf *b) {
  for (int i = 0; i < ec_n_passes; i++) ec_buf_printf(b, "%s%s", i ? ", " : "", ec_passes[i].name);
}

ec_status ec_pass_disable(ec_pass_opts *o, const char *name, ec_diag *d) {
  if (strcmp(name, "all") == 0) {
    o->disabled = ec_n_passes >= 32 ? ~0u : (1u << ec_n_passes) - 1;
    return EC_OK;
  }
  int i = ec_pass_find(name);
  if (i >= 0) {
    o->disabled |= 1u << i;
    return EC_OK;
  }
  ec_buf b = {0};
  ec_pass_names(&b);
  ec_diag_set(d, "", "", "--no-pass %s: unknown pass (known: %s, or all)", name,
              b.data ? b.data : "");
  ec_buf_free(&b);
  return EC_ERR_USAGE;
}

bool ec_pass_enabled(const ec_pass_opts *o, int pass) {
  return !o || !((o->disabled >> pass) & 1u);
}

ec_status ec_run_passes_counted(ec_graph *g, const ec_pass_opts *o, int *counts, ec_diag *d) {
  ec_status st = ec_graph_compact(g);
  for (int i = 0; i < ec_n_passes && !st; i++) {
    int count = 0;
    if (ec_pass_enabled(o, i) && ec_passes[i].run) {
      st = ec_passes[i].run(g, &count, d);
      /* Dead nodes leave; the survivors keep their (topological) order. */
      if (!st) st = ec_graph_compact(g);
    }
    if (counts) counts[i] = count;
  }
  if (st == EC_ERR_INTERNAL && d && !d->msg[0])
    ec_diag_set(d, g->source_path ? g->source_path : "", "", "out of memory in graph passes");
  return st;
}

ec_status ec_run_passes(ec_graph *g, const ec_pass_opts *o, ec_diag *d) {
  return ec_run_passes_counted(g, o, NULL, d);
}

bool ec_pass_is_output(const ec_graph *g, int t) {
  return t >= 0 && g->tensors[t].is_output;
}

int ec_pass_new_const(ec_graph *g, const char *base, const char *suffix, int32_t dtype, int rank,
                      const int64_t *dims, void *data, size_t nbytes) {
  size_t len = strlen(base) + strlen(suffix) + 24;
  char *name = malloc(len);
  if (!name) {
    free(data);
    return -1;
  }
  snprintf(name, len, "%s%s", base, suffix);
  for (int k = 2; ec_graph_find(g, name) >= 0; k++) snprintf(name, len, "%s%s_%d", base, suffix, k);
  int t = ec_graph_tensor(g, name);
  free(name);
  if (t < 0) {
    free(data);
    return -1;
  }
  ec_tensor *nt = &g->tensors[t];
  nt->dtype = dtype;
  nt->rank = rank;
  for (int k = 0; k < rank; k++) nt->dims[k] = dims[k];
  ec_tensor_set_data(nt, data, nbytes, true);
  return t;
}
