/* tensor_gen.c — inference for ops that make values: ConstantOfShape, Range, EyeLike, Trilu,
 * window functions, random generators, Det, DFT, STFT, MelWeightMatrix. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tensor.h"

/* A 1-D shape operand into dims (each >= 0). */
static ec_status shape_from_input(ec_ctx *cx, ec_node *n, int i, int *rank, int64_t *dims) {
  int64_t *v, c;
  ec_status st = ec_in_const_ints(cx, n, i, &v, &c);
  if (st) return st;
  if (c > EC_MAX_RANK) st = ec_fail(cx, n, "shape has rank %lld (edgecc supports up to %d)", (long long)c, EC_MAX_RANK);
  for (int64_t k = 0; k < c && !st; k++) {
    if (v[k] < 0) st = ec_fail(cx, n, "shape[%lld] is negative", (long long)k);
    dims[k] = v[k];
  }
  free(v);
  *rank = (int)c;
  return st;
}

/* One integer from a scalar (or 1-element) constant input. */
static ec_status scalar_int(ec_ctx *cx, ec_node *n, int i, const char *what, int64_t *out) {
  int64_t *v, c;
  ec_status st = ec_in_const_ints(cx, n, i, &v, &c);
  if (st) return st;
  if (c != 1) st = ec_fail(cx, n, "%s must hold one value", what);
  else *out = v[0];
  free(v);
  return st;
}

static ec_status scalar_float(ec_ctx *cx, ec_node *n, int i, const char *what, double *out) {
  double *v;
  int64_t c;
  ec_status st = ec_in_const_floats(cx, n, i, &v, &c);
  if (st) return st;
  if (c != 1) st = ec_fail(cx, n, "%s must hold one value", what);
  else *out = v[0];
  free(v);
  return st;
}

ec_status ec_infer_constant_of_shape(ec_ctx *cx, ec_node *n) {
  ec_status st = ec_check_arity(cx, n, 1, 1, 1, 1);
  if (st) return st;
  const ec_const *v;
  if ((st = ec_attr_tensor(cx, n, "value", &v))) return st;
  eck_const_params *p = ec_params(cx, n, sizeof *p);
  if (!p) return EC_ERR_INTERNAL;
  int32_t dt = ECK_FLOAT;
  if (v) {
    size_t sz = ec_dtype_size(v->dtype);
    if (!sz || sz > 8 || v->nbytes != sz)
      return ec_fail(cx, n, "attribute 'value' must be a one-element numeric tensor");
    memcpy(&p->bits, v->data, sz);
    dt = v->dtype;
  }
  int r;
  int64_t dims[EC_MAX_RANK];
  if (ec_in(cx, n, 0)->rank > 1) return ec_fail(cx, n, "input must be a 1-D shape");
  if ((st = shape_from_input(cx, n, 0, &r, dims))) return st;
  return ec_set_output(cx, n, 0, dt, r, dims);
}

void ec_print_constant_of_shape(ec_buf *b, const ec_node *n) {
  const eck_const_params *p = n->params;
  ec_buf_printf(b, "{ .bits = 0x%llxull }", (unsigned long long)p->bits);
}

ec_status ec_infer_range(ec_ctx *cx, ec_node *n) {
  ec_status st = ec_check_arity(cx, n, 3, 3, 1, 1);
  for (int i = 0; i < 3 && !st; i++) st = ec_check_input(cx, n, i, ec_dt_numeric);
  if (st) return st;
  int32_t dt = ec_in(cx, n, 0)->dtype;
  for (int i = 0; i < 3; i++) {
    if (ec_in(cx, n, i)->dtype != dt) return ec_fail(cx, n, "start, limit and delta must have one dtype");
    if (ec_tensor_numel(ec_in(cx, n, i)) != 1) return ec_fail(cx, n, "start, limit and delta must be scalars");
  }
  int64_t count;
  bool known = true;
  for (int i = 0; i < 3; i++) known &= ec_in_is_const(cx, n, i);
  if (!known) {
    /* Run-time bounds: the count is found by the kernel, within the bound --max-extent gives. */
    const ec_tensor *y = ec_out(cx, n, 0);
    const ec_graph *root = cx->g;
    while (root->parent) root = root->parent;
    for (int i = 0; y && i < root->n_extent_bounds; i++)
      if (strcmp(root->extent_bounds[i].tensor, y->name) == 0)
        return ec_set_output_bound(cx, n, 0, dt, 1, &root->extent_bounds[i].max, 1);
    return ec_fail(cx, n, "the number of elements depends on the values of start, limit and delta: "
                   "give the most with --max-extent %s=N", y ? y->name : "");
  }
  if (ec_dtype_in(dt, ec_dt_float)) {
    double v[3];
    for (int i = 0; i < 3 && !st; i++) st = scalar_float(cx, n, i, "a Range operand", &v[i]);
    if (st) return st;
    if (v[2] == 0) return ec_fail(cx, n, "delta is 0");
    double c = ceil((v[1] - v[0]) / v[2]);
    if (!(c < 1e12)) return ec_fail(cx, n, "range is too long");
    count = c > 0 ? (int64_t)c : 0;
  } else if (dt == ECK_INT32 || dt == ECK_INT64) {
    int64_t v[3];
    for (int i = 0; i < 3 && !st; i++) st = scalar_int(cx, n, i, "a Range operand", &v[i]);
    if (st) return st;
    if (v[2] == 0) return ec_fail(cx, n, "delta is 0");
    /* exact ceil((limit - start) / delta) without overflow on int64 */
    __int128 diff = (__int128)v[1] - v[0], d = v[2];
    __int128 q = diff / d;
    if (q * d != diff && ((diff > 0) == (d > 0))) q++;
    count = q > 0 ? (int64_t)q : 0;
  } else {
    return ec_fail(cx, n, "dtype %s is not supported (float, double, int16, int32, int64)",
                   ec_dtype_name(dt));
  }
  return ec_set_output(cx, n, 0, dt, 1, &count);
}

ec_status ec_infer_eyelike(ec_ctx *cx, ec_node *n) {
  ec_status st = ec_check_arity(cx, n, 1, 1, 1, 1);
  if (st) return st;
  const ec_tensor *x = ec_in(cx, n, 0);
  int64_t dt, k;
  if ((st = ec_attr_int(cx, n, "dtype", x->dtype, &dt)) || (st = ec_attr_int(cx, n, "k", 0, &k)))
    return st;
  if (x->rank != 2) return ec_fail(cx, n, "input must be 2-D, has rank %d", x->rank);
  eck_eyelike_params *p = ec_params(cx, n, sizeof *p);
  if (!p) return EC_ERR_INTERNAL;
  p->k = k;
  return ec_set_output(cx, n, 0, (int32_t)dt, 2, x->dims);
}

void ec_print_eyelike(ec_buf *b, const ec_node *n) {
  const eck_eyelike_params *p = n->params;
  ec_buf_printf(b, "{ .k = %lld }", (long long)p->k);
}

ec_status ec_infer_trilu(ec_ctx *cx, ec_node *n) {
  ec_status st = ec_check_arity(cx, n, 1, 2, 1, 1);
  if (st) return st;
  const ec_tensor *x = ec_in(cx, n, 0), *k = ec_in(cx, n, 1);
  int64_t upper;
  if ((st = ec_attr_int(cx, n, "upper", 1, &upper))) return st;
  if (x->rank < 2) return ec_fail(cx, n, "input must have rank >= 2");
  if (k && (k->dtype != ECK_INT64 || ec_tensor_numel(k) != 1))
    return ec_fail(cx, n, "k must be an int64 scalar");
  eck_trilu_params *p = ec_params(cx, n, sizeof *p);
  if (!p) return EC_ERR_INTERNAL;
  p->upper = upper != 0;
  return ec_set_output_like(cx, n, 0, x);
}

void ec_print_trilu(ec_buf *b, const ec_node *n) {
  const eck_trilu_params *p = n->params;
  ec_buf_printf(b, "{ .upper = %d }", (int)p->upper);
}

ec_status ec_infer_window(ec_ctx *cx, ec_node *n) {
  ec_status st = ec_check_arity(cx, n, 1, 1, 1, 1);
  if (st) return st;
  int64_t dt, periodic, size;
  if ((st = ec_attr_int(cx, n, "output_datatype", ECK_FLOAT, &dt)) ||
      (st = ec_attr_int(cx, n, "periodic", 1, &periodic)) ||
      (st = scalar_int(cx, n, 0, "size", &size)))
    return st;
  if (size < 0) return ec_fail(cx, n, "size is negative");
  if (!ec_dtype_in((int32_t)dt, ec_dt_numeric))
    return ec_fail(cx, n, "output_datatype %lld is not supported", (long long)dt);
  eck_window_params *p = ec_params(cx, n, sizeof *p);
  if (!p) return EC_ERR_INTERNAL;
  p->fn = strcmp(n->op_type, "HannWindow") == 0      ? ECK_WIN_HANN
          : strcmp(n->op_type, "HammingWindow") == 0 ? ECK_WIN_HAMMING
                                                     : ECK_WIN_BLACKMAN;
  p->periodic = periodic != 0;
  return ec_set_output(cx, n, 0, (int32_t)dt, 1, &size);
}

void ec_print_window(ec_buf *b, const ec_node *n) {
  const eck_window_params *p = n->params;
  static const char *const fns[] = {"ECK_WIN_HANN", "ECK_WIN_HAMMING", "ECK_WIN_BLACKMAN"};
  ec_buf_printf(b, "{ .fn = %s, .periodic = %d }", p->fn >= 0 && p->fn <= 2 ? fns[p->fn] : "0", (int)p->periodic);
}

/* RandomUniform, RandomNormal, their *Like forms and Bernoulli: outputs cannot match any
 * particular generator, so the kernel is a deterministic seeded one; never folded. */
ec_status ec_infer_random(ec_ctx *cx, ec_node *n) {
  const char *op = n->op_type;
  bool like = strstr(op, "Like") != NULL, bern = strcmp(op, "Bernoulli") == 0;
  bool normal = strstr(op, "Normal") != NULL;
  ec_status st = ec_check_arity(cx, n, like || bern ? 1 : 0, like || bern ? 1 : 0, 1, 1);
  if (st) return st;
  const ec_tensor *x = ec_in(cx, n, 0);
  int64_t dt;
  float seed, a = 0, b = 1;
  if ((st = ec_attr_int(cx, n, "dtype", x ? x->dtype : ECK_FLOAT, &dt)) ||
      (st = ec_attr_float(cx, n, "seed", 0, &seed)))
    return st;
  if (!bern && ((st = ec_attr_float(cx, n, normal ? "mean" : "low", 0, &a)) ||
                (st = ec_attr_float(cx, n, normal ? "scale" : "high", 1, &b))))
    return st;
  if (!ec_dtype_in((int32_t)dt, bern ? ec_dt_all : ec_dt_float))
    return ec_fail(cx, n, "dtype %lld is not supported", (long long)dt);
  if (bern && !ec_dtype_in(x->dtype, ec_dt_float))
    return ec_fail(cx, n, "input must be a floating-point tensor");
  eck_random_params *p = ec_params(cx, n, sizeof *p);
  if (!p) return EC_ERR_INTERNAL;
  p->fn = bern ? 2 : normal ? 1 : 0;
  p->a = a;
  p->b = b;
  memcpy(&p->seed, &seed, sizeof seed);
  p->seed ^= 0x5eedull;
  if (x) return ec_set_output(cx, n, 0, (int32_t)dt, x->rank, x->dims);
  const int64_t *shape;
  int c;
  if ((st = ec_attr_require(cx, n, "shape")) || (st = ec_attr_ints(cx, n, "shape", &shape, &c)))
    return st;
  return ec_set_output(cx, n, 0, (int32_t)dt, c, shape);
}

void ec_print_random(ec_buf *b, const ec_node *n) {
  const eck_random_params *p = n->params;
  static const char *const fns[] = {"ECK_RANDOM_UNIFORM", "ECK_RANDOM_NORMAL", "ECK_RANDOM_BERNOULLI"};
  ec_buf_printf(b, "{ .fn = %s, .a = %a, .b = %a, .seed = 0x%llxull }", p->fn >= 0 && p->fn <= 2 ? fns[p->fn] : "0",
                p->a, p->b,
                (unsigned long long)p->seed);
}

ec_status ec_infer_det(ec_ctx *cx, ec_node *n) {
  ec_status st = ec_check_arity(cx, n, 1, 1, 1, 1);
  if (!st) st = ec_check_input(cx, n, 0, ec_dt_float);
  if (st) return st;
  const ec_tensor *x = ec_in(cx, n, 0);
  if (x->rank < 2 || x->dims[x->rank - 1] != x->dims[x->rank - 2])
    return ec_fail(cx, n, "input must be [..., M, M]");
  return ec_set_output(cx, n, 0, x->dtype, x->rank - 2, x->dims);
}

size_t ec_scratch_det(const ec_graph *g, const ec_node *n) {
  const ec_tensor *x = &g->tensors[n->inputs[0]];
  int64_t m = x->dims[x->rank - 1];
  return sizeof(double) * (size_t)(m * m + 1);
}

ec_status ec_infer_dft(ec_ctx *cx, ec_node *n) {
  ec_status st = ec_check_arity(cx, n, 1, 2, 1, 1);
  if (!st) st = ec_check_input(cx, n, 0, ec_dt_float);
  if (st) return st;
  const ec_tensor *x = ec_in(cx, n, 0);
  int64_t axis, inverse, onesided, len;
  int a;
  if ((st = ec_attr_int(cx, n, "axis", 1, &axis)) ||
      (st = ec_attr_int(cx, n, "inverse", 0, &inverse)) ||
      (st = ec_attr_int(cx, n, "onesided", 0, &onesided)))
    return st;
  if (x->rank < 2 || (x->dims[x->rank - 1] != 1 && x->dims[x->rank - 1] != 2))
    return ec_fail(cx, n, "input must end in a dimension of 1 (real) or 2 (complex)");
  if ((st = ec_norm_axis(cx, n, axis, x->rank, &a))) return st;
  if (a == x->rank - 1) return ec_fail(cx, n, "axis cannot be the last (complex) dimension");
  len = x->dims[a];
  if (ec_in(cx, n, 1) && (st = scalar_int(cx, n, 1, "dft_length", &len))) return st;
  if (len < 1) return ec_fail(cx, n, "dft_length must be positive");
  if (onesided && inverse) return ec_fail(cx, n, "onesided inverse DFT is not supported");
  eck_dft_params *p = ec_params(cx, n, sizeof *p);
  if (!p) return EC_ERR_INTERNAL;
  p->axis = a;
  p->inverse = inverse != 0;
  p->onesided = onesided != 0;
  p->length = len;
  int64_t dims[EC_MAX_RANK];
  memcpy(dims, x->dims, sizeof dims);
  dims[a] = onesided ? len / 2 + 1 : len;
  dims[x->rank - 1] = 2;
  return ec_set_output(cx, n, 0, x->dtype, x->rank, dims);
}

void ec_print_dft(ec_buf *b, const ec_node *n) {
  const eck_dft_params *p = n->params;
  ec_buf_printf(b, "{ .axis = %d, .inverse = %d, .onesided = %d, .length = %lld }", (int)p->axis,
                (int)p->inverse, (int)p->onesided, (long long)p->length);
}

ec_status ec_infer_stft(ec_ctx *cx, ec_node *n) {
  ec_status st = ec_check_arity(cx, n, 2, 4, 1, 1);
  if (!st) st = ec_check_input(cx, n, 0, ec_dt_float);
  if (st) return st;
  const ec_tensor *x = ec_in(cx, n, 0), *w = ec_in(cx, n, 2);
  int64_t onesided = 1, step = 0, frame = -1;
  if ((st = ec_attr_int(cx, n, "onesided", 1, &onesided)) ||
      (st = scalar_int(cx, n, 1, "frame_step", &step)))
    return st;
  if (x->rank != 3 || (x->dims[2] != 1 && x->dims[2] != 2))
    return ec_fail(cx, n, "signal must be [batch, length, 1 or 2]");
  if (w) {
    if (w->rank != 1) return ec_fail(cx, n, "window must be 1-D");
    frame = w->dims[0];
  }
  if (ec_in(cx, n, 3)) {
    int64_t f = 0;
    if ((st = scalar_int(cx, n, 3, "frame_length", &f))) return st;
    if (frame >= 0 && f != frame) return ec_fail(cx, n, "frame_length differs from the window's length");
    frame = f;
  }
  if (frame < 1 || frame > x->dims[1]) return ec_fail(cx, n, "frame length %lld is out of range", (long long)frame);
  if (step < 1) return ec_fail(cx, n, "frame_step must be positive");
  eck_stft_params *p = ec_params(cx, n, sizeof *p);
  if (!p) return EC_ERR_INTERNAL;
  p->onesided = onesided != 0;
  p->step = step;
  p->frame = frame;
  int64_t dims[4] = {x->dims[0], (x->dims[1] - frame) / step + 1, onesided ? frame / 2 + 1 : frame, 2};
  return ec_set_output(cx, n, 0, x->dtype, 4, dims);
}

void ec_print_stft(ec_buf *b, const ec_node *n) {
  const eck_stft_params *p = n->params;
  ec_buf_printf(b, "{ .onesided = %d, .step = %lld, .frame = %lld }", (int)p->onesided,
                (long long)p->step, (long long)p->frame);
}

ec_status ec_infer_mel(ec_ctx *cx, ec_node *n) {
  ec_status st = ec_check_arity(cx, n, 5, 5, 1, 1);
  if (st) return st;
  int64_t dt;
  eck_mel_params *p = ec_params(cx, n, sizeof *p);
  if (!p) return EC_ERR_INTERNAL;
  if ((st = ec_attr_int(cx, n, "output_datatype", ECK_FLOAT, &dt)) ||
      (st = scalar_int(cx, n, 0, "num_mel_bins", &p->num_mel_bins)) ||
      (st = scalar_int(cx, n, 1, "dft_length", &p->dft_length)) ||
      (st = scalar_int(cx, n, 2, "sample_rate", &p->sample_rate)) ||
      (st = scalar_float(cx, n, 3, "lower_edge_hertz", &p->lower_hz)) ||
      (st = scalar_float(cx, n, 4, "upper_edge_hertz", &p->upper_hz)))
    return st;
  if (p->num_mel_bins < 1 || p->dft_length < 1 || p->sample_rate < 1)
    return ec_fail(cx, n, "num_mel_bins, dft_length and sample_rate must be positive");
  if (!ec_dtype_in((int32_t)dt, ec_dt_numeric))
    return ec_fail(cx, n, "output_datatype %lld is not supported", (long long)dt);
  int64_t dims[2] = {p->dft_length / 2 + 1, p->num_mel_bins};
  return ec_set_output(cx, n, 0, (int32_t)dt, 2, dims);
}

void ec_print_mel(ec_buf *b, const ec_node *n) {
  const eck_mel_params *p = n->params;
  ec_buf_printf(b,
                "{ .num_mel_bins = %lld, .dft_length = %lld, .sample_rate = %lld, .lower_hz = %a, "
                ".upper_hz = %a }",
                (long long)p->num_mel_bins, (long long)p->dft_length, (long long)p->sample_rate,
                p->lower_hz, p->upper_hz);
}
