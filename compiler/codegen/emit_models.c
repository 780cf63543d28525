/* emit_models.c — per-model entry points of a program compiled from several models (issue 15):
 * a request names a set of models and runs only the steps those models' outputs depend on. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emit_models.h"

struct ec_models_code {
  const ec_graph *g;
  uint32_t *tmask; /* per tensor of g */
  uint32_t all;
  char **macro;    /* per model: PROG_MODEL_<NAME> */
  char PROG[160];  /* the program's macro prefix */
};

void ec_models_code_free(ec_models_code *m) {
  if (!m) return;
  for (int k = 0; m->macro && k < m->g->n_models; k++) free(m->macro[k]);
  free(m->macro);
  free(m->tmask);
  free(m);
}

ec_status ec_models_code_new(const ec_graph *g, const char *PROG, ec_models_code **out) {
  *out = NULL;
  if (g->n_models < 2) return EC_OK;
  ec_models_code *m = ec_alloc(sizeof *m);
  if (!m) return EC_ERR_INTERNAL;
  m->g = g;
  snprintf(m->PROG, sizeof m->PROG, "%s", PROG);
  m->all = g->n_models >= 32 ? 0xffffffffu : (1u << g->n_models) - 1u;
  m->tmask = ec_alloc(sizeof(uint32_t) * (size_t)(g->n_tensors + 1));
  m->macro = ec_alloc(sizeof(char *) * (size_t)g->n_models);
  if (!m->tmask || !m->macro) {
    ec_models_code_free(m);
    return EC_ERR_INTERNAL;
  }
  ec_graph_tensor_models(g, m->tmask); /* from the graph as lowering left it */
  /* Upper-case before sanitising, so that stems differing only in case get distinct macros. */
  char **taken = ec_alloc(sizeof(char *) * (size_t)g->n_models);
  ec_status st = taken ? EC_OK : EC_ERR_INTERNAL;
  for (int k = 0; !st && k < g->n_models; k++) {
    char up[128];
    snprintf(up, sizeof up, "%s", g->model_names[k]);
    for (char *c = up; *c; c++)
      if (*c >= 'a' && *c <= 'z') *c = (char)(*c - 'a' + 'A');
    taken[k] = ec_cname(up, taken, k);
    ec_buf mb = {0};
    if (taken[k]) ec_buf_printf(&mb, "%s_MODEL_%s", PROG, taken[k]);
    m->macro[k] = mb.data;
    if (!taken[k] || mb.oom || !mb.data) st = EC_ERR_INTERNAL;
  }
  for (int k = 0; taken && k < g->n_models; k++) free(taken[k]);
  free(taken);
  if (st) {
    ec_models_code_free(m);
    return st;
  }
  *out = m;
  return EC_OK;
}

uint32_t ec_models_of_tensor(const ec_models_code *m, int t) { return t >= 0 ? m->tmask[t] : 0; }

uint32_t ec_models_of_node(const ec_models_code *m, const ec_node *n) {
  uint32_t nm = 0;
  for (int k = 0; k < n->n_outputs; k++) nm |= ec_models_of_tensor(m, n->outputs[k]);
  /* A step no model's output depends on would be dead code; should lowering leave one, it runs
   * for every request, as in a program of one model. */
  return nm ? nm : m->all;
}

void ec_models_put_mask(const ec_models_code *m, ec_buf *b, uint32_t mask) {
  bool first = true;
  for (int k = 0; k < m->g->n_models; k++)
    if (mask >> k & 1u) {
      ec_buf_printf(b, "%s%s", first ? "" : " | ", m->macro[k]);
      first = false;
    }
  if (first) ec_buf_printf(b, "0u");
}

void ec_models_emit_defines(const ec_models_code *m, ec_buf *b, const char *prog) {
  const ec_graph *g = m->g;
  ec_buf_printf(b, "/* The models compiled into this program, each a bit of a request's model set: a run for\n"
                " * some of them runs only the steps their outputs need (the shared ones once). */\n");
  for (int k = 0; k < g->n_models; k++) ec_buf_printf(b, "#define %s 0x%xu /* %s */\n", m->macro[k], 1u << k,
                                                       g->model_names[k]);
  const char *PROG = m->PROG;
  ec_buf_printf(b, "#define %s_N_MODELS %d\n#define %s_ALL_MODELS 0x%xu\n", PROG, g->n_models, PROG, m->all);
  ec_buf_printf(b, "/* Their names (the models' file stems), in bit order. */\n");
  ec_buf_printf(b, "extern const char *const %s_model_names[%s_N_MODELS];\n", prog, PROG);
}

void ec_models_emit_tables(const ec_models_code *m, ec_buf *b, const ec_graph *g, const ec_part *p,
                           const char *prog, const char *const *sname, const bool *aliased) {
  const char *PROG = m->PROG;
  ec_buf_printf(b, "const char *const %s_model_names[%s_N_MODELS] = {", prog, PROG);
  for (int k = 0; k < g->n_models; k++) ec_buf_printf(b, "%s\"%s\"", k ? ", " : "", g->model_names[k]);
  ec_buf_printf(b, "};\n\n/* The models each step is needed for: a run skips a step none of its models needs. */\n");
  ec_buf_printf(b, "static const uint32_t %s_step_models[%s_N_STEPS > 0 ? %s_N_STEPS : 1] = {\n", prog, PROG, PROG);
  for (int s = 0; s < p->n_nodes; s++) {
    if (aliased[s]) continue;
    ec_buf_printf(b, "  [S_%s] = ", sname[s]);
    ec_models_put_mask(m, b, ec_models_of_node(m, &g->nodes[p->nodes[s]]));
    ec_buf_printf(b, ",\n");
  }
  ec_buf_printf(b, "};\n\n");
}

void ec_models_emit_main(const ec_models_code *m, ec_buf *b, const ec_part *p, const char *prog,
                         const char *const *in_type, const char *const *out_type, bool out_dims) {
  const char *PROG = m->PROG;
  ec_buf_printf(b, "static ecrt_status run_models(void *ctx, uint32_t models, const void *const *in, void *const *out) {\n");
  if (!p->n_inputs) ec_buf_printf(b, "  (void)in;\n");
  if (!p->n_outputs) ec_buf_printf(b, "  (void)out;\n");
  ec_buf_printf(b, "  return %s_run_models(ctx, models", prog);
  for (int i = 0; i < p->n_inputs; i++) ec_buf_printf(b, ", (const %s *)in[%d]", in_type[i], i);
  for (int i = 0; i < p->n_outputs; i++) ec_buf_printf(b, ", (%s *)out[%d]", out_type[i], i);
  ec_buf_printf(b, "%s);\n}\n\n/* The models that read each input and write each output, in graph order. */\n",
                out_dims ? ", out_dims" : "");
  for (int side = 0; side < 2; side++) {
    int cnt = side ? p->n_outputs : p->n_inputs;
    const int *ts = side ? p->outputs : p->inputs;
    ec_buf_printf(b, "static const uint32_t %s_models[%d] = {", side ? "output" : "input", cnt ? cnt : 1);
    for (int i = 0; i < cnt; i++) {
      ec_buf_printf(b, "%s", i ? ", " : "");
      ec_models_put_mask(m, b, ec_models_of_tensor(m, ts[i]));
    }
    ec_buf_printf(b, "%s};\n", cnt ? "" : "0u");
  }
  ec_buf_printf(b, "/* Each output's index among the compile's outputs (-1: sent on to another partition). */\n"
                "static const int32_t output_ids[%d] = {", p->n_outputs ? p->n_outputs : 1);
  for (int i = 0; i < p->n_outputs; i++) {
    int id = -1;
    for (int o = 0; o < m->g->n_outputs && id < 0; o++)
      if (m->g->outputs[o] == p->outputs[i]) id = o;
    ec_buf_printf(b, "%s%d", i ? ", " : "", id);
  }
  ec_buf_printf(b, "%s};\n", p->n_outputs ? "" : "0");
  ec_buf_printf(b, "static const ecrt_models models = {%s_N_MODELS, %s_model_names, input_models, output_models, "
                "run_models, output_ids};\n\n", PROG, prog);
}
