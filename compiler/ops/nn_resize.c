/* nn_resize.c — shape inference and params of resampling ops: Resize (opsets 10, 11, 13),
 * Upsample, DepthToSpace, SpaceToDepth, GridSample and RoiAlign. Resize's scales, sizes and
 * roi are shape operands: they must be constant. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn.h"

static const int32_t dt_f[] = {ECK_FLOAT, ECK_DOUBLE, ECK_FLOAT16, ECK_BFLOAT16, 0};

static int pick(const char *s, const char *const *names, int count) {
  for (int i = 0; i < count; i++)
    if (strcmp(s, names[i]) == 0) return i;
  return -1;
}

/* Output dims from scales (floor(in * scale)) or sizes, and the scale used for coordinates. */
static ec_status resize_shape(ec_ctx *cx, ec_node *n, const ec_tensor *x, int scales_in,
                              int sizes_in, eck_resize_params *p, int64_t *od) {
  const ec_tensor *ts = ec_in(cx, n, scales_in), *tz = ec_in(cx, n, sizes_in);
  bool has_scales = ts && ec_tensor_numel(ts) > 0, has_sizes = tz && ec_tensor_numel(tz) > 0;
  if (has_scales == has_sizes)
    return ec_fail(cx, n, "exactly one of 'scales' and 'sizes' must be given");
  ec_status st;
  if (has_scales) {
    double *v;
    int64_t c;
    if ((st = ec_in_const_floats(cx, n, scales_in, &v, &c))) return st;
    if (c != x->rank) {
      free(v);
      return ec_fail(cx, n, "'scales' has %lld values for input rank %d", (long long)c, x->rank);
    }
    for (int k = 0; k < x->rank; k++) {
      if (!(v[k] > 0) || !isfinite(v[k])) {
        double bad = v[k];
        free(v);
        return ec_fail(cx, n, "scales[%d] = %g must be positive", k, bad);
      }
      p->scales[k] = v[k];
      od[k] = (int64_t)floor((double)x->dims[k] * v[k]);
    }
    free(v);
  } else {
    int64_t *v, c;
    if ((st = ec_in_const_ints(cx, n, sizes_in, &v, &c))) return st;
    if (c != x->rank) {
      free(v);
      return ec_fail(cx, n, "'sizes' has %lld values for input rank %d", (long long)c, x->rank);
    }
    for (int k = 0; k < x->rank; k++) {
      if (v[k] <= 0) {
        long long bad = (long long)v[k];
        free(v);
        return ec_fail(cx, n, "sizes[%d] = %lld must be positive", k, bad);
      }
      od[k] = v[k];
      p->scales[k] = x->dims[k] ? (double)v[k] / (double)x->dims[k] : 1;
    }
    free(v);
  }
  for (int k = 0; k < x->rank; k++)
    if (od[k] <= 0 && x->dims[k] > 0)
      return ec_fail(cx, n, "output dim %d would be empty", k);
  return EC_OK;
}

ec_status ec_infer_resize(ec_ctx *cx, ec_node *n) {
  bool v10 = cx->opset < 11;
  ec_status st = v10 ? ec_check_arity(cx, n, 2, 2, 1, 1) : ec_check_arity(cx, n, 1, 4, 1, 1);
  if (!st) st = ec_check_input(cx, n, 0, ec_dt_numeric);
  if (st) return st;
  const ec_tensor *x = ec_in(cx, n, 0);
  if (x->rank < 1) return ec_fail(cx, n, "input '%s' is a scalar", x->name);
  static const char *const modes[] = {"nearest", "linear", "cubic"};
  static const char *const coords[] = {"half_pixel", "asymmetric", "pytorch_half_pixel",
                                       "tf_half_pixel_for_nn", "align_corners",
                                       "tf_crop_and_resize"};
  static const char *const nearest[] = {"round_prefer_floor", "round_prefer_ceil", "floor",
                                        "ceil"};
  const char *mode, *coord = "asymmetric", *nm = "floor";
  if ((st = ec_attr_string(cx, n, "mode", "nearest", &mode))) return st;
  float a = -0.75f, extra = 0;
  int64_t excl = 0;
  if (!v10) {
    if ((st = ec_attr_string(cx, n, "coordinate_transformation_mode", "half_pixel", &coord)))
      return st;
    if ((st = ec_attr_string(cx, n, "nearest_mode", "round_prefer_floor", &nm))) return st;
    if ((st = ec_attr_float(cx, n, "cubic_coeff_a", -0.75f, &a))) return st;
    if ((st = ec_attr_int(cx, n, "exclude_outside", 0, &excl))) return st;
    if ((st = ec_attr_float(cx, n, "extrapolation_value", 0.0f, &extra))) return st;
  }
  eck_resize_params *p = ec_params(cx, n, sizeof *p);
  if (!p) return EC_ERR_INTERNAL;
  if ((p->mode = pick(mode, modes, v10 ? 2 : 3)) < 0)
    return ec_fail(cx, n, "attribute 'mode' has unsupported value '%s'", mode);
  if ((p->coord = pick(coord, coords, 6)) < 0)
    return ec_fail(cx, n, "attribute 'coordinate_transformation_mode' has unknown value '%s'",
                   coord);
  if ((p->nearest = pick(nm, nearest, 4)) < 0)
    return ec_fail(cx, n, "attribute 'nearest_mode' has unknown value '%s'", nm);
  if (v10) p->nearest = ECK_NEAREST_LEGACY;
  p->cubic_a = a;
  p->extrapolation = extra;
  p->exclude_outside = excl != 0;
  if (p->coord == ECK_COORD_TF_CROP_AND_RESIZE) {
    double *roi;
    int64_t c;
    if ((st = ec_in_const_floats(cx, n, 1, &roi, &c))) return st;
    if (c != 2 * x->rank) {
      free(roi);
      return ec_fail(cx, n, "'roi' has %lld values, expected %d", (long long)c, 2 * x->rank);
    }
    for (int k = 0; k < 2 * x->rank; k++) p->roi[k] = roi[k];
    free(roi);
  } else if (ec_in(cx, n, 1) && !v10) {
    /* roi only matters for tf_crop_and_resize; reading it just checks its type. */
    if ((st = ec_check_input(cx, n, 1, dt_f))) return st;
  }
  int64_t od[EC_MAX_RANK];
  if ((st = resize_shape(cx, n, x, v10 ? 1 : 2, v10 ? -1 : 3, p, od))) return st;
  return ec_set_output(cx, n, 0, x->dtype, x->rank, od);
}

/* Upsample: scales as an attribute (opsets 7, 8) or input 1 (opset 9); asymmetric
 * coordinates, nearest takes the floor. */
ec_status ec_infer_upsample(ec_ctx *cx, ec_node *n) {
  ec_status st = ec_check_arity(cx, n, 1, 2, 1, 1);
  if (!st) st = ec_check_input(cx, n, 0, ec_dt_numeric);
  if (st) return st;
  const ec_tensor *x = ec_in(cx, n, 0);
  const char *mode;
  if ((st = ec_attr_string(cx, n, "mode", "nearest", &mode))) return st;
  eck_resize_params *p = ec_params(cx, n, sizeof *p);
  if (!p) return EC_ERR_INTERNAL;
  if (strcmp(mode, "nearest") == 0)
    p->mode = ECK_RESIZE_NEAREST;
  else if (strcmp(mode, "linear") == 0 || strcmp(mode, "bilinear") == 0)
    p->mode = ECK_RESIZE_LINEAR;
  else
    return ec_fail(cx, n, "attribute 'mode' has unsupported value '%s'", mode);
  p->coord = ECK_COORD_ASYMMETRIC;
  p->nearest = ECK_NEAREST_LEGACY;
  int64_t od[EC_MAX_RANK];
  const float *fs;
  int nf;
  if ((st = ec_attr_floats(cx, n, "scales", &fs, &nf))) return st;
  if (nf >= 0) {
    if (nf != x->rank)
      return ec_fail(cx, n, "attribute 'scales' has %d values for input rank %d", nf, x->rank);
    for (int k = 0; k < nf; k++) {
      if (!(fs[k] >= 1)) return ec_fail(cx, n, "scales[%d] = %g must be >= 1", k, fs[k]);
      p->scales[k] = fs[k];
      od[k] = (int64_t)floor((double)x->dims[k] * fs[k]);
    }
  } else {
    if (!ec_in(cx, n, 1)) return ec_fail(cx, n, "needs 'scales' (an attribute or input 1)");
    if ((st = resize_shape(cx, n, x, 1, -1, p, od))) return st;
  }
  return ec_set_output(cx, n, 0, x->dtype, x->rank, od);
}

static ec_status d2s_common(ec_ctx *cx, ec_node *n, bool to_depth) {
  ec_status st = ec_check_arity(cx, n, 1, 1, 1, 1);
  if (!st) st = ec_check_input(cx, n, 0, ec_dt_all);
  if (st) return st;
  const ec_tensor *x = ec_in(cx, n, 0);
  int64_t b;
  const char *mode = "DCR";
  if ((st = ec_attr_require(cx, n, "blocksize"))) return st;
  if ((st = ec_attr_int(cx, n, "blocksize", 1, &b))) return st;
  if (!to_depth && (st = ec_attr_string(cx, n, "mode", "DCR", &mode))) return st;
  if (b < 1 || b > 1 << 16) return ec_fail(cx, n, "blocksize = %lld must be positive", (long long)b);
  if (x->rank != 4) return ec_fail(cx, n, "input '%s' must have rank 4, has %d", x->name, x->rank);
  eck_d2s_params *p = ec_params(cx, n, sizeof *p);
  if (!p) return EC_ERR_INTERNAL;
  p->blocksize = (int32_t)b;
  p->to_depth = to_depth;
  if (strcmp(mode, "CRD") == 0)
    p->crd = 1;
  else if (strcmp(mode, "DCR") != 0)
    return ec_fail(cx, n, "attribute 'mode' must be DCR or CRD, is '%s'", mode);
  int64_t od[4] = {x->dims[0], x->dims[1], x->dims[2], x->dims[3]};
  if (to_depth) {
    if (x->dims[2] % b || x->dims[3] % b)
      return ec_fail(cx, n, "height and width (%lld, %lld) must be multiples of blocksize %lld",
                     (long long)x->dims[2], (long long)x->dims[3], (long long)b);
    od[1] *= b * b;
    od[2] /= b;
    od[3] /= b;
  } else {
    if (x->dims[1] % (b * b))
      return ec_fail(cx, n, "channels (%lld) must be a multiple of blocksize^2 (%lld)",
                     (long long)x->dims[1], (long long)(b * b));
    od[1] /= b * b;
    od[2] *= b;
    od[3] *= b;
  }
  return ec_set_output(cx, n, 0, x->dtype, 4, od);
}

ec_status ec_infer_depth_to_space(ec_ctx *cx, ec_node *n) { return d2s_common(cx, n, false); }
ec_status ec_infer_space_to_depth(ec_ctx *cx, ec_node *n) { return d2s_common(cx, n, true); }

ec_status ec_infer_gridsample(ec_ctx *cx, ec_node *n) {
  ec_status st = ec_check_arity(cx, n, 2, 2, 1, 1);
  if (!st) st = ec_check_input(cx, n, 0, dt_f);
  if (!st) st = ec_check_input(cx, n, 1, dt_f);
  if (st) return st;
  const ec_tensor *x = ec_in(cx, n, 0), *g = ec_in(cx, n, 1);
  int64_t ac;
  const char *mode, *pad;
  if ((st = ec_attr_int(cx, n, "align_corners", 0, &ac))) return st;
  if ((st = ec_attr_string(cx, n, "mode", "bilinear", &mode))) return st;
  if ((st = ec_attr_string(cx, n, "padding_mode", "zeros", &pad))) return st;
  static const char *const modes[] = {"bilinear", "nearest", "bicubic"};
  static const char *const pads[] = {"zeros", "border", "reflection"};
  if (x->rank != 4) return ec_fail(cx, n, "input '%s' must have rank 4", x->name);
  if (g->rank != 4 || g->dims[0] != x->dims[0] || g->dims[3] != 2)
    return ec_fail(cx, n, "grid '%s' must have shape [N, H_out, W_out, 2]", g->name);
  eck_gridsample_params *p = ec_params(cx, n, sizeof *p);
  if (!p) return EC_ERR_INTERNAL;
  p->align_corners = ac != 0;
  if ((p->mode = pick(mode, modes, 3)) < 0)
    return ec_fail(cx, n, "attribute 'mode' has unknown value '%s'", mode);
  if ((p->padding = pick(pad, pads, 3)) < 0)
    return ec_fail(cx, n, "attribute 'padding_mode' has unknown value '%s'", pad);
  int64_t od[4] = {x->dims[0], x->dims[1], g->dims[1], g->dims[2]};
  return ec_set_output(cx, n, 0, x->dtype, 4, od);
}

ec_status ec_infer_roialign(ec_ctx *cx, ec_node *n) {
  ec_status st = ec_check_arity(cx, n, 3, 3, 1, 1);
  if (!st) st = ec_check_input(cx, n, 0, dt_f);
  if (!st) st = ec_check_input(cx, n, 1, dt_f);
  if (!st) st = ec_check_input(cx, n, 2, ec_dt_index);
  if (st) return st;
  const ec_tensor *x = ec_in(cx, n, 0), *r = ec_in(cx, n, 1), *b = ec_in(cx, n, 2);
  const char *mode, *coord;
  int64_t oh, ow, sr;
  float scale;
  if ((st = ec_attr_string(cx, n, "mode", "avg", &mode))) return st;
  if ((st = ec_attr_int(cx, n, "output_height", 1, &oh))) return st;
  if ((st = ec_attr_int(cx, n, "output_width", 1, &ow))) return st;
  if ((st = ec_attr_int(cx, n, "sampling_ratio", 0, &sr))) return st;
  if ((st = ec_attr_float(cx, n, "spatial_scale", 1.0f, &scale))) return st;
  /* RoiAlign-10 behaves as output_half_pixel; opset 16 added the attribute. */
  if ((st = ec_attr_string(cx, n, "coordinate_transformation_mode",
                           cx->opset >= 16 ? "half_pixel" : "output_half_pixel", &coord)))
    return st;
  if (x->rank != 4) return ec_fail(cx, n, "input '%s' must have rank 4", x->name);
  if (r->rank != 2 || r->dims[1] != 4) return ec_fail(cx, n, "rois '%s' must be [R, 4]", r->name);
  if (b->rank != 1 || b->dims[0] != r->dims[0])
    return ec_fail(cx, n, "batch_indices '%s' must be [R]", b->name);
  if (oh < 1 || ow < 1 || sr < 0)
    return ec_fail(cx, n, "output_height/output_width must be positive, sampling_ratio >= 0");
  eck_roialign_params *p = ec_params(cx, n, sizeof *p);
  if (!p) return EC_ERR_INTERNAL;
  if (strcmp(mode, "max") == 0)
    p->max_mode = 1;
  else if (strcmp(mode, "avg") != 0)
    return ec_fail(cx, n, "attribute 'mode' must be avg or max, is '%s'", mode);
  if (strcmp(coord, "half_pixel") == 0)
    p->half_pixel = 1;
  else if (strcmp(coord, "output_half_pixel") != 0)
    return ec_fail(cx, n, "attribute 'coordinate_transformation_mode' has unknown value '%s'",
                   coord);
  p->sampling_ratio = (int32_t)sr;
  p->spatial_scale = scale;
  int64_t od[4] = {r->dims[0], x->dims[1], oh, ow};
  return ec_set_output(cx, n, 0, x->dtype, 4, od);
}

/* Only what the mode reads: nearest's rounding, cubic's coefficient and exclude_outside, and
 * tf_crop_and_resize's roi and extrapolation value. */
void ec_print_resize(ec_buf *b, const ec_node *n) {
  static const char *const modes[] = {"ECK_RESIZE_NEAREST", "ECK_RESIZE_LINEAR", "ECK_RESIZE_CUBIC"};
  static const char *const coords[] = {"ECK_COORD_HALF_PIXEL", "ECK_COORD_ASYMMETRIC", "ECK_COORD_PYTORCH_HALF_PIXEL",
                                       "ECK_COORD_TF_HALF_PIXEL_FOR_NN", "ECK_COORD_ALIGN_CORNERS",
                                       "ECK_COORD_TF_CROP_AND_RESIZE"};
  static const char *const nearest[] = {"ECK_NEAREST_ROUND_PREFER_FLOOR", "ECK_NEAREST_ROUND_PREFER_CEIL",
                                        "ECK_NEAREST_FLOOR", "ECK_NEAREST_CEIL", "ECK_NEAREST_LEGACY"};
  const eck_resize_params *p = n->params;
  ec_buf_printf(b, "{ .mode = %s, .coord = %s", p->mode >= 0 && p->mode <= 2 ? modes[p->mode] : "0",
                p->coord >= 0 && p->coord <= 5 ? coords[p->coord] : "0");
  if (p->mode == ECK_RESIZE_NEAREST)
    ec_buf_printf(b, ", .nearest = %s", p->nearest >= 0 && p->nearest <= 4 ? nearest[p->nearest] : "0");
  if (p->mode == ECK_RESIZE_CUBIC)
    ec_buf_printf(b, ", .exclude_outside = %d, .cubic_a = %a", (int)p->exclude_outside, p->cubic_a);
  bool crop = p->coord == ECK_COORD_TF_CROP_AND_RESIZE;
  if (crop) ec_buf_printf(b, ", .extrapolation = %a", p->extrapolation);
  ec_buf_printf(b, ", .scales = {");
  for (int k = 0; k < ECK_MAX_RANK; k++) ec_buf_printf(b, "%s%a", k ? ", " : "", p->scales[k]);
  ec_buf_printf(b, "}");
  if (crop) {
    ec_buf_printf(b, ", .roi = {");
    for (int k = 0; k < 2 * ECK_MAX_RANK; k++) ec_buf_printf(b, "%s%a", k ? ", " : "", p->roi[k]);
    ec_buf_printf(b, "}");
  }
  ec_buf_printf(b, " }");
}

void ec_print_depth_space(ec_buf *b, const ec_node *n) {
  const eck_d2s_params *p = n->params;
  ec_buf_printf(b, "{ .blocksize = %d, .crd = %d, .to_depth = %d }", (int)p->blocksize,
                (int)p->crd, (int)p->to_depth);
}

void ec_print_gridsample(ec_buf *b, const ec_node *n) {
  const eck_gridsample_params *p = n->params;
  static const char *const modes[] = {"ECK_GRID_BILINEAR", "ECK_GRID_NEAREST", "ECK_GRID_BICUBIC"};
  static const char *const pads[] = {"ECK_GRID_ZEROS", "ECK_GRID_BORDER", "ECK_GRID_REFLECTION"};
  ec_buf_printf(b, "{ .mode = %s, .padding = %s, .align_corners = %d }",
                p->mode >= 0 && p->mode <= 2 ? modes[p->mode] : "0",
                p->padding >= 0 && p->padding <= 2 ? pads[p->padding] : "0", (int)p->align_corners);
}

void ec_print_roialign(ec_buf *b, const ec_node *n) {
  const eck_roialign_params *p = n->params;
  ec_buf_printf(b, "{ .max_mode = %d, .half_pixel = %d, .sampling_ratio = %d, "
                ".spatial_scale = %a }", (int)p->max_mode, (int)p->half_pixel,
                (int)p->sampling_ratio, p->spatial_scale);
}
