/* nn_norm.c — shape inference and params of the normalisations: Softmax/LogSoftmax/Hardmax
 * (opset < 13 flattens at axis, later opsets use one axis), BatchNormalization (inference and
 * opset-14 training statistics), Instance/Layer/MeanVarianceNormalization, LRN. */
#include <string.h>

#include "nn.h"

static const int32_t dt_f[] = {ECK_FLOAT, ECK_DOUBLE, ECK_FLOAT16, ECK_BFLOAT16, 0};

ec_status ec_infer_softmax(ec_ctx *cx, ec_node *n) {
  ec_status st = ec_check_arity(cx, n, 1, 1, 1, 1);
  if (!st) st = ec_check_input(cx, n, 0, dt_f);
  if (st) return st;
  const ec_tensor *x = ec_in(cx, n, 0);
  bool flatten = cx->opset < 13;
  int64_t axis;
  if ((st = ec_attr_int(cx, n, "axis", flatten ? 1 : -1, &axis))) return st;
  int a;
  if (x->rank == 0) return ec_fail(cx, n, "input '%s' is a scalar", x->name);
  if ((st = ec_norm_axis(cx, n, axis, x->rank, &a))) return st;
  eck_softmax_params *p = ec_params(cx, n, sizeof *p);
  if (!p) return EC_ERR_INTERNAL;
  p->fn = strcmp(n->op_type, "LogSoftmax") == 0 ? ECK_LOGSOFTMAX
          : strcmp(n->op_type, "Hardmax") == 0  ? ECK_HARDMAX
                                                : ECK_SOFTMAX;
  p->axis = a;
  p->flatten = flatten;
  return ec_set_output_like(cx, n, 0, x);
}

ec_status ec_infer_batchnorm(ec_ctx *cx, ec_node *n) {
  ec_status st = ec_check_arity(cx, n, 5, 5, 1, 5);
  for (int i = 0; i < 5 && !st; i++) st = ec_check_input(cx, n, i, dt_f);
  if (st) return st;
  const ec_tensor *x = ec_in(cx, n, 0);
  float eps, momentum;
  int64_t spatial, is_test, training;
  const int64_t *ci;
  int nci;
  if ((st = ec_attr_float(cx, n, "epsilon", 1e-5f, &eps))) return st;
  if ((st = ec_attr_float(cx, n, "momentum", 0.9f, &momentum))) return st;
  /* Attributes of opsets before 9, 7 and 6: accepted, they do not change inference. */
  if ((st = ec_attr_int(cx, n, "spatial", 1, &spatial))) return st;
  if ((st = ec_attr_int(cx, n, "is_test", 0, &is_test))) return st;
  if ((st = ec_attr_ints(cx, n, "consumed_inputs", &ci, &nci))) return st;
  if ((st = ec_attr_int(cx, n, "training_mode", 0, &training))) return st;
  if (x->rank < 2)
    return ec_fail(cx, n, "input '%s' has rank %d, expected N x C x ...", x->name, x->rank);
  int64_t C = x->dims[1], sample = 1;
  for (int k = 1; k < x->rank; k++) sample *= x->dims[k];
  int64_t S = ec_tensor_numel(ec_in(cx, n, 1));
  for (int i = 1; i < 5; i++) {
    const ec_tensor *t = ec_in(cx, n, i);
    int64_t e = ec_tensor_numel(t);
    if (e != S || (e != C && !(spatial == 0 && e == sample)))
      return ec_fail(cx, n, "input '%s' has %lld values, expected %lld (one per channel)",
                     t->name, (long long)e, (long long)C);
  }
  int live_outs = 0;
  for (int i = 1; i < n->n_outputs; i++) live_outs += n->outputs[i] >= 0;
  if (cx->opset < 14 && live_outs)
    return ec_fail(cx, n, "the training outputs of BatchNormalization-%lld (mean, var, "
                   "saved_mean, saved_var) are not supported; export the model for inference",
                   (long long)cx->opset);
  if (cx->opset >= 14 && n->n_outputs > 3)
    return ec_fail(cx, n, "expects 1 to 3 outputs, has %d", n->n_outputs);
  if (training && S != C)
    return ec_fail(cx, n, "training_mode needs per-channel statistics");
  if (!training && live_outs)
    return ec_fail(cx, n, "outputs running_mean and running_var need training_mode = 1");
  eck_batchnorm_params *p = ec_params(cx, n, sizeof *p);
  if (!p) return EC_ERR_INTERNAL;
  p->epsilon = eps;
  p->momentum = momentum;
  p->training = training != 0;
  if ((st = ec_set_output_like(cx, n, 0, x))) return st;
  if ((st = ec_set_output_like(cx, n, 1, ec_in(cx, n, 3)))) return st;
  return ec_set_output_like(cx, n, 2, ec_in(cx, n, 4));
}

ec_status ec_infer_instancenorm(ec_ctx *cx, ec_node *n) {
  ec_status st = ec_check_arity(cx, n, 3, 3, 1, 1);
  for (int i = 0; i < 3 && !st; i++) st = ec_check_input(cx, n, i, dt_f);
  if (st) return st;
  const ec_tensor *x = ec_in(cx, n, 0);
  float eps;
  if ((st = ec_attr_float(cx, n, "epsilon", 1e-5f, &eps))) return st;
  if (x->rank < 3)
    return ec_fail(cx, n, "input '%s' has rank %d, expected N x C x spatial", x->name, x->rank);
  for (int i = 1; i < 3; i++) {
    const ec_tensor *t = ec_in(cx, n, i);
    if (t->rank != 1 || t->dims[0] != x->dims[1])
      return ec_fail(cx, n, "input '%s' must have shape [%lld]", t->name, (long long)x->dims[1]);
  }
  eck_norm_params *p = ec_params(cx, n, sizeof *p);
  if (!p) return EC_ERR_INTERNAL;
  p->axis = 2;
  p->instance = 1;
  p->epsilon = eps;
  return ec_set_output_like(cx, n, 0, x);
}

ec_status ec_infer_layernorm(ec_ctx *cx, ec_node *n) {
  ec_status st = ec_check_arity(cx, n, 2, 3, 1, 3);
  if (!st) st = ec_check_input(cx, n, 0, dt_f);
  if (!st) st = ec_check_input(cx, n, 1, dt_f);
  if (!st && ec_in(cx, n, 2)) st = ec_check_input(cx, n, 2, dt_f);
  if (st) return st;
  const ec_tensor *x = ec_in(cx, n, 0);
  int64_t axis, stash;
  float eps;
  if ((st = ec_attr_int(cx, n, "axis", -1, &axis))) return st;
  if ((st = ec_attr_float(cx, n, "epsilon", 1e-5f, &eps))) return st;
  if ((st = ec_attr_int(cx, n, "stash_type", 1, &stash))) return st;
  if (stash != ECK_FLOAT && stash != ECK_DOUBLE && stash != ECK_FLOAT16 && stash != ECK_BFLOAT16)
    return ec_fail(cx, n, "attribute 'stash_type' = %lld is not a floating-point type",
                   (long long)stash);
  int a;
  if ((st = ec_norm_axis(cx, n, axis, x->rank, &a))) return st;
  /* Scale and bias broadcast (numpy) to the normalised dims. */
  for (int i = 1; i < 3; i++) {
    const ec_tensor *t = ec_in(cx, n, i);
    if (!t) continue;
    if (t->rank > x->rank - a)
      return ec_fail(cx, n, "input '%s' has rank %d, more than the %d normalised dims", t->name,
                     t->rank, x->rank - a);
    for (int k = 0; k < t->rank; k++) {
      int64_t d = t->dims[k], w = x->dims[x->rank - t->rank + k];
      if (d != w && d != 1)
        return ec_fail(cx, n, "input '%s' cannot be broadcast to the normalised dims", t->name);
    }
  }
  eck_norm_params *p = ec_params(cx, n, sizeof *p);
  if (!p) return EC_ERR_INTERNAL;
  p->axis = a;
  p->epsilon = eps;
  if ((st = ec_set_output_like(cx, n, 0, x))) return st;
  int64_t sd[EC_MAX_RANK];
  for (int k = 0; k < x->rank; k++) sd[k] = k < a ? x->dims[k] : 1;
  if ((st = ec_set_output(cx, n, 1, (int32_t)stash, x->rank, sd))) return st;
  return ec_set_output(cx, n, 2, (int32_t)stash, x->rank, sd);
}

ec_status ec_infer_mvn(ec_ctx *cx, ec_node *n) {
  ec_status st = ec_check_arity(cx, n, 1, 1, 1, 1);
  if (!st) st = ec_check_input(cx, n, 0, dt_f);
  if (st) return st;
  const ec_tensor *x = ec_in(cx, n, 0);
  const int64_t *axes;
  int na;
  if ((st = ec_attr_ints(cx, n, "axes", &axes, &na))) return st;
  static const int64_t dflt[] = {0, 2, 3};
  if (na < 0) {
    axes = dflt;
    na = 3;
  }
  uint32_t mask = 0;
  for (int i = 0; i < na; i++) {
    int a;
    if ((st = ec_norm_axis(cx, n, axes[i], x->rank, &a))) return st;
    mask |= 1u << a;
  }
  eck_norm_params *p = ec_params(cx, n, sizeof *p);
  if (!p) return EC_ERR_INTERNAL;
  p->mvn = 1;
  p->axes = mask;
  p->epsilon = 1e-9f; /* the constant of the ONNX function body */
  return ec_set_output_like(cx, n, 0, x);
}

ec_status ec_infer_lrn(ec_ctx *cx, ec_node *n) {
  ec_status st = ec_check_arity(cx, n, 1, 1, 1, 1);
  if (!st) st = ec_check_input(cx, n, 0, dt_f);
  if (st) return st;
  const ec_tensor *x = ec_in(cx, n, 0);
  float alpha, beta, bias;
  int64_t size;
  if ((st = ec_attr_require(cx, n, "size"))) return st;
  if ((st = ec_attr_int(cx, n, "size", 1, &size))) return st;
  if ((st = ec_attr_float(cx, n, "alpha", 1e-4f, &alpha))) return st;
  if ((st = ec_attr_float(cx, n, "beta", 0.75f, &beta))) return st;
  if ((st = ec_attr_float(cx, n, "bias", 1.0f, &bias))) return st;
  if (size < 1 || size > 1 << 20)
    return ec_fail(cx, n, "attribute 'size' = %lld must be positive", (long long)size);
  if (x->rank < 2) return ec_fail(cx, n, "input '%s' must be N x C x ...", x->name);
  eck_lrn_params *p = ec_params(cx, n, sizeof *p);
  if (!p) return EC_ERR_INTERNAL;
  p->alpha = alpha;
  p->beta = beta;
  p->bias = bias;
  p->size = (int32_t)size;
  return ec_set_output_like(cx, n, 0, x);
}

void ec_print_softmax(ec_buf *b, const ec_node *n) {
  const eck_softmax_params *p = n->params;
  static const char *const fns[] = {"ECK_SOFTMAX", "ECK_LOGSOFTMAX", "ECK_HARDMAX"};
  ec_buf_printf(b, "{ .fn = %s, .axis = %d, .flatten = %d }", p->fn >= 0 && p->fn <= 2 ? fns[p->fn] : "0",
                (int)p->axis, (int)p->flatten);
}

void ec_print_batchnorm(ec_buf *b, const ec_node *n) {
  const eck_batchnorm_params *p = n->params;
  ec_buf_printf(b, "{ .epsilon = %a, .momentum = %a, .training = %d }", p->epsilon, p->momentum,
                (int)p->training);
}

void ec_print_norm(ec_buf *b, const ec_node *n) {
  const eck_norm_params *p = n->params;
  ec_buf_printf(b, "{ .axis = %d, .axes = %uu, .instance = %d, .mvn = %d, .epsilon = %a }",
                (int)p->axis, (unsigned)p->axes, (int)p->instance, (int)p->mvn, p->epsilon);
}

void ec_print_lrn(ec_buf *b, const ec_node *n) {
  const eck_lrn_params *p = n->params;
  ec_buf_printf(b, "{ .alpha = %a, .beta = %a, .bias = %a, .size = %d }", p->alpha, p->beta,
                p->bias, (int)p->size);
}
