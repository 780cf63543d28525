/* emit_models.h — the C of a program compiled from several models (emit_models.c): which steps
 * each model needs, the models' names as bits of a request's model set, and the driver's table.
 * emit.c calls these hooks when the graph is a merge of several models (ec_graph.n_models). */
#ifndef EC_EMIT_MODELS_H
#define EC_EMIT_MODELS_H

#include "codegen.h"

typedef struct ec_models_code ec_models_code;

/* For a merged graph, the models each tensor of g leads to (a graph output is its model's; any
 * other tensor is needed by the models of the nodes reading it) and the models' macro names;
 * *out is NULL for a graph of one model. */
ec_status ec_models_code_new(const ec_graph *g, const char *PROG, ec_models_code **out);
void ec_models_code_free(ec_models_code *m);

/* The models tensor t is needed for (bit k: g->model_names[k]). */
uint32_t ec_models_of_tensor(const ec_models_code *m, int t);
/* A step's models: those of its outputs. */
uint32_t ec_models_of_node(const ec_models_code *m, const ec_node *n);
/* `A_P0_MODEL_A | A_P0_MODEL_B` for a mask. */
void ec_models_put_mask(const ec_models_code *m, ec_buf *b, uint32_t mask);

/* The header's defines: the count, one bit per model, the set of all; the names table. */
void ec_models_emit_defines(const ec_models_code *m, ec_buf *b, const char *prog);
/* `<prog>_model_names[]` and `<prog>_step_models[]` (per step of p, indexed S_<sname>; aliased
 * steps have no entry). */
void ec_models_emit_tables(const ec_models_code *m, ec_buf *b, const ec_graph *g, const ec_part *p,
                           const char *prog, const char *const *sname, const bool *aliased);
/* main_p<k>.c: the run wrapper taking a model set, each input's and output's models and the
 * ecrt_models table the driver reads (`models`). in_cast/out_cast: per argument its C type. */
void ec_models_emit_main(const ec_models_code *m, ec_buf *b, const ec_part *p, const char *prog,
                         const char *const *in_type, const char *const *out_type);

#endif
