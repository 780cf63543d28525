/* nn_rnn.c — shape inference, cost and params of the recurrent layers RNN, GRU and LSTM:
 * directions, layouts, optional inputs/outputs and the activations attribute. */
#include <stdio.h>
#include <string.h>

#include "nn.h"

static const int32_t dt_f[] = {ECK_FLOAT, ECK_DOUBLE, ECK_FLOAT16, ECK_BFLOAT16, 0};

static const struct {
  const char *name;
  int fn;
  float alpha, beta;
} acts[] = {
    {"Sigmoid", ECK_ACT_SIGMOID, 0, 0},         {"Tanh", ECK_ACT_TANH, 0, 0},
    {"Relu", ECK_ACT_RELU, 0, 0},               {"Affine", ECK_ACT_AFFINE, 1.0f, 0},
    {"LeakyRelu", ECK_ACT_LEAKYRELU, 0.01f, 0}, {"ThresholdedRelu", ECK_ACT_THRESHOLDEDRELU, 1.0f, 0},
    {"ScaledTanh", ECK_ACT_SCALEDTANH, 1.0f, 1.0f}, {"HardSigmoid", ECK_ACT_HARDSIGMOID, 0.2f, 0.5f},
    {"Elu", ECK_ACT_ELU, 1.0f, 0},              {"Softsign", ECK_ACT_SOFTSIGN, 0, 0},
    {"Softplus", ECK_ACT_SOFTPLUS, 0, 0},
};

/* Checks that input i (when present) has exactly the given dims. */
static ec_status want_dims(ec_ctx *cx, const ec_node *n, int i, const char *what, int rank,
                           const int64_t *dims) {
  const ec_tensor *t = ec_in(cx, n, i);
  if (!t) return EC_OK;
  bool ok = t->rank == rank;
  for (int k = 0; ok && k < rank; k++) ok = t->dims[k] == dims[k];
  if (ok) return EC_OK;
  char buf[128] = "";
  size_t len = 0;
  for (int k = 0; k < rank && len < sizeof buf - 24; k++)
    len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%lld", k ? ", " : "", (long long)dims[k]);
  return ec_fail(cx, n, "%s '%s' must have shape [%s]", what, t->name, buf);
}

ec_status ec_infer_rnn(ec_ctx *cx, ec_node *n) {
  const bool lstm = strcmp(n->op_type, "LSTM") == 0, gru = strcmp(n->op_type, "GRU") == 0;
  const int G = lstm ? 4 : gru ? 3 : 1, nacts = lstm ? 3 : gru ? 2 : 1;
  ec_status st = ec_check_arity(cx, n, 3, lstm ? 8 : 6, 0, lstm ? 3 : 2);
  for (int i = 0; i < 3 && !st; i++) st = ec_check_input(cx, n, i, dt_f);
  if (st) return st;
  const ec_tensor *x = ec_in(cx, n, 0), *r = ec_in(cx, n, 2);
  const char *dir;
  int64_t hidden, layout = 0, lbr = 0, input_forget = 0, outseq = 0;
  float clip;
  if ((st = ec_attr_string(cx, n, "direction", "forward", &dir))) return st;
  if ((st = ec_attr_int(cx, n, "hidden_size", r->rank == 3 ? r->dims[2] : 0, &hidden))) return st;
  if ((st = ec_attr_int(cx, n, "layout", 0, &layout))) return st;
  if ((st = ec_attr_float(cx, n, "clip", 0.0f, &clip))) return st;
  if ((st = ec_attr_int(cx, n, "output_sequence", 0, &outseq))) return st; /* opset 1 */
  if (gru && (st = ec_attr_int(cx, n, "linear_before_reset", 0, &lbr))) return st;
  if (lstm && (st = ec_attr_int(cx, n, "input_forget", 0, &input_forget))) return st;
  eck_rnn_params *p = ec_params(cx, n, sizeof *p);
  if (!p) return EC_ERR_INTERNAL;
  p->kind = lstm ? ECK_LSTM : gru ? ECK_GRU : ECK_RNN;
  if (strcmp(dir, "forward") == 0)
    p->direction = 0;
  else if (strcmp(dir, "reverse") == 0)
    p->direction = 1;
  else if (strcmp(dir, "bidirectional") == 0)
    p->direction = 2;
  else
    return ec_fail(cx, n, "attribute 'direction' has unknown value '%s'", dir);
  const int64_t D = p->direction == 2 ? 2 : 1;
  if (layout != 0 && layout != 1) return ec_fail(cx, n, "attribute 'layout' must be 0 or 1");
  if (x->rank != 3) return ec_fail(cx, n, "input X '%s' must have rank 3", x->name);
  if (hidden < 1 || hidden > (1 << 24))
    return ec_fail(cx, n, "attribute 'hidden_size' = %lld must be positive", (long long)hidden);
  const int64_t S = layout ? x->dims[1] : x->dims[0], NB = layout ? x->dims[0] : x->dims[1];
  const int64_t I = x->dims[2], H = hidden;
  if ((st = want_dims(cx, n, 1, "W", 3, (int64_t[]){D, G * H, I}))) return st;
  if ((st = want_dims(cx, n, 2, "R", 3, (int64_t[]){D, G * H, H}))) return st;
  if (ec_in(cx, n, 3) && (st = ec_check_input(cx, n, 3, dt_f))) return st;
  if ((st = want_dims(cx, n, 3, "B", 2, (int64_t[]){D, 2 * G * H}))) return st;
  if (ec_in(cx, n, 4) && (st = ec_check_input(cx, n, 4, (const int32_t[]){ECK_INT32, ECK_INT64, 0})))
    return st;
  if ((st = want_dims(cx, n, 4, "sequence_lens", 1, (int64_t[]){NB}))) return st;
  const int64_t sd[3] = {layout ? NB : D, layout ? D : NB, H};
  for (int i = 5; i < (lstm ? 7 : 6); i++) {
    if (ec_in(cx, n, i) && (st = ec_check_input(cx, n, i, dt_f))) return st;
    if ((st = want_dims(cx, n, i, i == 5 ? "initial_h" : "initial_c", 3, sd))) return st;
  }
  if (lstm && ec_in(cx, n, 7)) {
    if ((st = ec_check_input(cx, n, 7, dt_f))) return st;
    if ((st = want_dims(cx, n, 7, "P", 2, (int64_t[]){D, 3 * H}))) return st;
  }
  p->hidden = (int32_t)H;
  p->layout = (int32_t)layout;
  p->linear_before_reset = lbr != 0;
  p->input_forget = input_forget != 0;
  p->clip = clip;
  /* Activations: nacts per direction, forward first. Defaults: sigmoid for gates, tanh. */
  for (int d = 0; d < 2; d++)
    for (int k = 0; k < 3; k++) p->act[d * 3 + k] = (k == 0 && G > 1) ? ECK_ACT_SIGMOID : ECK_ACT_TANH;
  ec_attr *a = ec_attr_get(n, "activations");
  const float *alpha, *beta;
  int na_, nb_;
  if ((st = ec_attr_floats(cx, n, "activation_alpha", &alpha, &na_))) return st;
  if ((st = ec_attr_floats(cx, n, "activation_beta", &beta, &nb_))) return st;
  if (a) {
    if (a->type != EC_ATTR_STRINGS) return ec_fail(cx, n, "attribute 'activations' must be strings");
    if (a->n != nacts * D)
      return ec_fail(cx, n, "attribute 'activations' has %d names, expected %d", a->n,
                     (int)(nacts * D));
    for (int i = 0; i < a->n; i++) {
      int j, slot = (i / nacts) * 3 + i % nacts;
      for (j = 0; j < (int)(sizeof acts / sizeof acts[0]); j++)
        if (strcmp(a->strings[i], acts[j].name) == 0) break;
      if (j == (int)(sizeof acts / sizeof acts[0]))
        return ec_fail(cx, n, "unknown activation '%s'", a->strings[i]);
      p->act[slot] = acts[j].fn;
      p->act_alpha[slot] = i < na_ ? alpha[i] : acts[j].alpha;
      p->act_beta[slot] = i < nb_ ? beta[i] : acts[j].beta;
    }
  }
  if ((st = ec_set_output(cx, n, 0, x->dtype, 4,
                          layout ? (int64_t[]){NB, S, D, H} : (int64_t[]){S, D, NB, H})))
    return st;
  if ((st = ec_set_output(cx, n, 1, x->dtype, 3, sd))) return st;
  return ec_set_output(cx, n, 2, x->dtype, 3, sd);
}

void ec_cost_rnn(const ec_graph *g, const ec_node *n, ec_cost *c) {
  const eck_rnn_params *p = n->params;
  const ec_tensor *x = &g->tensors[n->inputs[0]];
  const int G = p->kind == ECK_LSTM ? 4 : p->kind == ECK_GRU ? 3 : 1;
  double D = p->direction == 2 ? 2 : 1, H = p->hidden;
  c->macs = (double)x->dims[0] * (double)x->dims[1] * D * G * H * ((double)x->dims[2] + H);
  c->flops = 2 * c->macs;
  c->bytes = ec_nn_bytes(g, n);
}

size_t ec_scratch_rnn(const ec_graph *g, const ec_node *n) {
  const eck_rnn_params *p = n->params;
  const int G = p->kind == ECK_LSTM ? 4 : p->kind == ECK_GRU ? 3 : 1;
  return sizeof(double) * (size_t)(3 + G) * (size_t)p->hidden;
}

void ec_print_rnn(ec_buf *b, const ec_node *n) {
  const eck_rnn_params *p = n->params;
  static const char *const kinds[] = {"ECK_RNN", "ECK_GRU", "ECK_LSTM"};
  static const char *const acts[] = {"ECK_ACT_SIGMOID", "ECK_ACT_TANH", "ECK_ACT_RELU", "ECK_ACT_AFFINE",
                                     "ECK_ACT_LEAKYRELU", "ECK_ACT_THRESHOLDEDRELU", "ECK_ACT_SCALEDTANH",
                                     "ECK_ACT_HARDSIGMOID", "ECK_ACT_ELU", "ECK_ACT_SOFTSIGN", "ECK_ACT_SOFTPLUS"};
  static const char *const dirs[] = {"ECK_DIR_FORWARD", "ECK_DIR_REVERSE", "ECK_DIR_BIDIRECTIONAL"};
  ec_buf_printf(b, "{ .kind = %s, .direction = %s, .hidden = %d, .layout = %d, "
                ".linear_before_reset = %d, .input_forget = %d, .clip = %a, .act = {",
                p->kind >= 0 && p->kind <= 2 ? kinds[p->kind] : "0",
                p->direction >= 0 && p->direction <= 2 ? dirs[p->direction] : "0", (int)p->hidden,
                (int)p->layout, (int)p->linear_before_reset, (int)p->input_forget, p->clip);
  /* Three slots per direction: a second direction's only when bidirectional. */
  for (int k = 0; k < (p->direction == 2 ? 6 : 3); k++)
    ec_buf_printf(b, "%s%s", k ? ", " : "", p->act[k] >= 0 && p->act[k] <= ECK_ACT_SOFTPLUS ? acts[p->act[k]] : "0");
  ec_buf_printf(b, "}, .act_alpha = {");
  for (int k = 0; k < 6; k++) ec_buf_printf(b, "%s%a", k ? ", " : "", p->act_alpha[k]);
  ec_buf_printf(b, "}, .act_beta = {");
  for (int k = 0; k < 6; k++) ec_buf_printf(b, "%s%a", k ? ", " : "", p->act_beta[k]);
  ec_buf_printf(b, "} }");
}
