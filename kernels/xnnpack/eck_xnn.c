/* eck_xnn.c — XNNPACK operator API behind eck_xnn_params: create (weights packed once), setup
 * (buffers bound), run. Generated code calls these; Debian's libxnnpack-dev provides them.
 * edgecc-link: XNNPACK pthreadpool */
#include <pthreadpool.h>
#include <unistd.h>
#include <xnnpack.h>

#include "eck_xnn.h"

/* The compiler writes XNNPACK's flag values without including xnnpack.h: they must agree. */
typedef char eck_xnn_flag_tf_legacy_ok[ECK_XNN_FLAG_TF_LEGACY == XNN_FLAG_TENSORFLOW_LEGACY_MODE ? 1 : -1];
typedef char eck_xnn_flag_align_corners_ok[ECK_XNN_FLAG_ALIGN_CORNERS == XNN_FLAG_ALIGN_CORNERS ? 1 : -1];

int eck_xnn_default_threads(int target_cores) {
  long online = sysconf(_SC_NPROCESSORS_ONLN);
  if (online > 0 && online < target_cores) return (int)online;
  return target_cores > 0 ? target_cores : 1;
}

/* xnn_status names as xnnpack.h spells them: messages print these, not a generic "failed". */
static const char *status_name(enum xnn_status st) {
  switch (st) {
    case xnn_status_success: return "xnn_status_success";
    case xnn_status_uninitialized: return "xnn_status_uninitialized";
    case xnn_status_invalid_parameter: return "xnn_status_invalid_parameter";
    case xnn_status_invalid_state: return "xnn_status_invalid_state";
    case xnn_status_unsupported_parameter: return "xnn_status_unsupported_parameter";
    case xnn_status_unsupported_hardware: return "xnn_status_unsupported_hardware";
    case xnn_status_out_of_memory: return "xnn_status_out_of_memory";
  }
  return "unknown xnn_status";
}

/* Records a failed call in err (may be NULL) and returns rc. */
static int fail_rc(eck_xnn_error *err, const char *call, const char *status, int rc) {
  if (err) {
    err->call = call;
    err->status = status;
  }
  return rc;
}

static int failed(eck_xnn_error *err, const char *call, const char *status) {
  return fail_rc(err, call, status, ECK_ERR_UNSUPPORTED);
}

int eck_xnn_start(void **pool, int threads, eck_xnn_error *err) { return eck_xnn_start_shared(pool, threads, 1, err); }

int eck_xnn_start_shared(void **pool, int threads, int owners, eck_xnn_error *err) {
  enum xnn_status st;
  *pool = NULL;
  /* Mandatory before any create. It fails where cpuinfo cannot read /sys (a chroot without it):
   * the status is all XNNPACK says, so it goes into the message. */
  st = xnn_initialize(NULL);
  if (st != xnn_status_success) return failed(err, "xnn_initialize", status_name(st));
  if (threads > 1) {
    *pool = owners > 1 ? eck_pool_create_shared(threads, owners) : eck_pool_create(threads);
    if (!*pool) {
      xnn_deinitialize();
      return failed(err, "pthreadpool_create", "no memory or threads left");
    }
  }
  return ECK_OK;
}

void eck_xnn_stop(void *pool) {
  if (pool) eck_pool_destroy(pool);
  xnn_deinitialize();
}

/* The XNNPACK functions each kind creates and sets up its operator with, for messages. */
static const struct {
  const char *create, *setup;
} calls[] = {
    [ECK_XNN_CONV] = {"xnn_create_convolution2d_nhwc_f32", "xnn_setup_convolution2d_nhwc_f32"},
    [ECK_XNN_FC] = {"xnn_create_fully_connected_nc_f32", "xnn_setup_fully_connected_nc_f32"},
    [ECK_XNN_MAXPOOL] = {"xnn_create_max_pooling2d_nhwc_f32", "xnn_setup_max_pooling2d_nhwc_f32"},
    [ECK_XNN_AVGPOOL] = {"xnn_create_average_pooling2d_nhwc_f32", "xnn_setup_average_pooling2d_nhwc_f32"},
    [ECK_XNN_GAVGPOOL] = {"xnn_create_global_average_pooling_nwc_f32",
                          "xnn_setup_global_average_pooling_nwc_f32"},
    [ECK_XNN_ADD] = {"xnn_create_add_nd_f32", "xnn_setup_add_nd_f32"},
    [ECK_XNN_SUB] = {"xnn_create_subtract_nd_f32", "xnn_setup_subtract_nd_f32"},
    [ECK_XNN_MUL] = {"xnn_create_multiply_nd_f32", "xnn_setup_multiply_nd_f32"},
    [ECK_XNN_DIV] = {"xnn_create_divide_nd_f32", "xnn_setup_divide_nd_f32"},
    [ECK_XNN_MAX] = {"xnn_create_maximum_nd_f32", "xnn_setup_maximum_nd_f32"},
    [ECK_XNN_MIN] = {"xnn_create_minimum_nd_f32", "xnn_setup_minimum_nd_f32"},
    [ECK_XNN_CLAMP] = {"xnn_create_clamp_nc_f32", "xnn_setup_clamp_nc_f32"},
    [ECK_XNN_HARDSWISH] = {"xnn_create_hardswish_nc_f32", "xnn_setup_hardswish_nc_f32"},
    [ECK_XNN_SIGMOID] = {"xnn_create_sigmoid_nc_f32", "xnn_setup_sigmoid_nc_f32"},
    [ECK_XNN_SOFTMAX] = {"xnn_create_softmax_nc_f32", "xnn_setup_softmax_nc_f32"},
    [ECK_XNN_SHUFFLE] = {"xnn_create_channel_shuffle_nc_x32", "xnn_setup_channel_shuffle_nc_x32"},
    [ECK_XNN_PAD] = {"xnn_create_constant_pad_nd_x32", "xnn_setup_constant_pad_nd_x32"},
    [ECK_XNN_RESIZE] = {"xnn_create_resize_bilinear2d_nhwc_f32", "xnn_setup_resize_bilinear2d_nhwc_f32"},
};

/* The int8 kinds' calls, uint8 (qu8) or int8 (qs8) as p->q_unsigned says. */
static const struct {
  const char *create, *setup;
} qcalls[2][ECK_XNN_KIND_COUNT] = {
    {[ECK_XNN_QCONV] = {"xnn_create_convolution2d_nhwc_qs8", "xnn_setup_convolution2d_nhwc_qs8"},
     [ECK_XNN_QFC] = {"xnn_create_fully_connected_nc_qs8", "xnn_setup_fully_connected_nc_qs8"},
     [ECK_XNN_QUANT] = {"xnn_create_convert_nc_f32_qs8", "xnn_setup_convert_nc_f32_qs8"},
     [ECK_XNN_DEQUANT] = {"xnn_create_convert_nc_qs8_f32", "xnn_setup_convert_nc_qs8_f32"}},
    {[ECK_XNN_QCONV] = {"xnn_create_convolution2d_nhwc_qu8", "xnn_setup_convolution2d_nhwc_qu8"},
     [ECK_XNN_QFC] = {"xnn_create_fully_connected_nc_qu8", "xnn_setup_fully_connected_nc_qu8"},
     [ECK_XNN_QUANT] = {"xnn_create_convert_nc_f32_qu8", "xnn_setup_convert_nc_f32_qu8"},
     [ECK_XNN_DEQUANT] = {"xnn_create_convert_nc_qu8_f32", "xnn_setup_convert_nc_qu8_f32"}},
};

static int is_int8_kind(int32_t kind) { return kind >= ECK_XNN_QCONV && kind <= ECK_XNN_DEQUANT; }

static const char *call_name(const eck_xnn_params *p, int setup) {
  if (is_int8_kind(p->kind)) return setup ? qcalls[p->q_unsigned != 0][p->kind].setup : qcalls[p->q_unsigned != 0][p->kind].create;
  return setup ? calls[p->kind].setup : calls[p->kind].create;
}

/* The int8 operators: no fused clamp here, so the output keeps the type's whole range. */
static enum xnn_status create_int8(const eck_xnn_params *p, const void *w, const void *b, xnn_operator_t *op) {
  const int32_t *bias = (const int32_t *)b;
  if (p->q_unsigned) {
    uint8_t izp = (uint8_t)p->in_zp, wzp = (uint8_t)p->w_zp, ozp = (uint8_t)p->out_zp;
    switch (p->kind) {
      case ECK_XNN_QCONV:
        return xnn_create_convolution2d_nhwc_qu8(
            p->pad[0], p->pad[1], p->pad[2], p->pad[3], p->kernel[0], p->kernel[1], p->stride[0],
            p->stride[1], p->dilation[0], p->dilation[1], p->groups, p->channels_in, p->channels_out,
            p->in_stride, p->out_stride, izp, p->in_scale, wzp, p->w_scale, (const uint8_t *)w, bias,
            ozp, p->out_scale, 0, 255, p->flags, op);
      case ECK_XNN_QFC:
        return xnn_create_fully_connected_nc_qu8(p->channels_in, p->channels_out, p->in_stride,
                                                 p->out_stride, izp, p->in_scale, wzp, p->w_scale,
                                                 (const uint8_t *)w, bias, ozp, p->out_scale, 0, 255,
                                                 p->flags, op);
      case ECK_XNN_QUANT:
        return xnn_create_convert_nc_f32_qu8(p->channels_in, p->in_stride, p->out_stride, p->out_scale,
                                             ozp, 0, 255, p->flags, op);
      default:
        return xnn_create_convert_nc_qu8_f32(p->channels_in, p->in_stride, p->out_stride, p->in_scale,
                                             izp, p->flags, op);
    }
  }
  int8_t izp = (int8_t)p->in_zp, ozp = (int8_t)p->out_zp;
  switch (p->kind) {
    case ECK_XNN_QCONV:
      return xnn_create_convolution2d_nhwc_qs8(
          p->pad[0], p->pad[1], p->pad[2], p->pad[3], p->kernel[0], p->kernel[1], p->stride[0],
          p->stride[1], p->dilation[0], p->dilation[1], p->groups, p->channels_in, p->channels_out,
          p->in_stride, p->out_stride, izp, p->in_scale, p->w_scale, (const int8_t *)w, bias, ozp,
          p->out_scale, -128, 127, p->flags, op);
    case ECK_XNN_QFC:
      return xnn_create_fully_connected_nc_qs8(p->channels_in, p->channels_out, p->in_stride,
                                               p->out_stride, izp, p->in_scale, p->w_scale,
                                               (const int8_t *)w, bias, ozp, p->out_scale, -128, 127,
                                               p->flags, op);
    case ECK_XNN_QUANT:
      return xnn_create_convert_nc_f32_qs8(p->channels_in, p->in_stride, p->out_stride, p->out_scale,
                                           ozp, -128, 127, p->flags, op);
    default:
      return xnn_create_convert_nc_qs8_f32(p->channels_in, p->in_stride, p->out_stride, p->in_scale,
                                           izp, p->flags, op);
  }
}

static enum xnn_status setup_int8(const eck_xnn_params *p, xnn_operator_t op, const void *x, void *y,
                                  pthreadpool_t tp) {
  if (p->q_unsigned) {
    switch (p->kind) {
      case ECK_XNN_QCONV:
        return xnn_setup_convolution2d_nhwc_qu8(op, p->batch, p->height, p->width, x, y, tp);
      case ECK_XNN_QFC: return xnn_setup_fully_connected_nc_qu8(op, p->batch, x, y, tp);
      case ECK_XNN_QUANT: return xnn_setup_convert_nc_f32_qu8(op, p->batch, x, y, tp);
      default: return xnn_setup_convert_nc_qu8_f32(op, p->batch, x, y, tp);
    }
  }
  switch (p->kind) {
    case ECK_XNN_QCONV:
      return xnn_setup_convolution2d_nhwc_qs8(op, p->batch, p->height, p->width, x, y, tp);
    case ECK_XNN_QFC: return xnn_setup_fully_connected_nc_qs8(op, p->batch, x, y, tp);
    case ECK_XNN_QUANT: return xnn_setup_convert_nc_f32_qs8(op, p->batch, x, y, tp);
    default: return xnn_setup_convert_nc_qs8_f32(op, p->batch, x, y, tp);
  }
}

int eck_xnn_create(eck_xnn_node *s, const eck_xnn_params *p, const void *w, const void *b) {
  xnn_operator_t op = NULL;
  enum xnn_status st = xnn_status_invalid_parameter;
  float lo = p->out_min, hi = p->out_max;
  s->op = NULL;
  s->ready = 0;
  switch (p->kind) {
    case ECK_XNN_CONV:
      st = xnn_create_convolution2d_nhwc_f32(
          p->pad[0], p->pad[1], p->pad[2], p->pad[3], p->kernel[0], p->kernel[1], p->stride[0],
          p->stride[1], p->dilation[0], p->dilation[1], p->groups, p->channels_in, p->channels_out,
          p->in_stride, p->out_stride, w, b, lo, hi, p->flags, &op);
      break;
    case ECK_XNN_FC:
      st = xnn_create_fully_connected_nc_f32(p->channels_in, p->channels_out, p->in_stride,
                                             p->out_stride, w, b, lo, hi, p->flags, &op);
      break;
    case ECK_XNN_MAXPOOL:
      st = xnn_create_max_pooling2d_nhwc_f32(p->pad[0], p->pad[1], p->pad[2], p->pad[3], p->kernel[0],
                                             p->kernel[1], p->stride[0], p->stride[1], p->dilation[0],
                                             p->dilation[1], p->channels_in, p->in_stride,
                                             p->out_stride, lo, hi, p->flags, &op);
      break;
    case ECK_XNN_AVGPOOL:
      st = xnn_create_average_pooling2d_nhwc_f32(p->pad[0], p->pad[1], p->pad[2], p->pad[3],
                                                 p->kernel[0], p->kernel[1], p->stride[0],
                                                 p->stride[1], p->channels_in, p->in_stride,
                                                 p->out_stride, lo, hi, p->flags, &op);
      break;
    case ECK_XNN_GAVGPOOL:
      st = xnn_create_global_average_pooling_nwc_f32(p->channels_in, p->in_stride, p->out_stride, lo,
                                                      hi, p->flags, &op);
      break;
    case ECK_XNN_ADD: st = xnn_create_add_nd_f32(lo, hi, p->flags, &op); break;
    case ECK_XNN_SUB: st = xnn_create_subtract_nd_f32(lo, hi, p->flags, &op); break;
    case ECK_XNN_MUL: st = xnn_create_multiply_nd_f32(lo, hi, p->flags, &op); break;
    case ECK_XNN_DIV: st = xnn_create_divide_nd_f32(lo, hi, p->flags, &op); break;
    case ECK_XNN_MAX: st = xnn_create_maximum_nd_f32(p->flags, &op); break;
    case ECK_XNN_MIN: st = xnn_create_minimum_nd_f32(p->flags, &op); break;
    case ECK_XNN_CLAMP:
      st = xnn_create_clamp_nc_f32(p->channels_in, p->in_stride, p->out_stride, lo, hi, p->flags, &op);
      break;
    case ECK_XNN_HARDSWISH:
      st = xnn_create_hardswish_nc_f32(p->channels_in, p->in_stride, p->out_stride, p->flags, &op);
      break;
    case ECK_XNN_SIGMOID:
      st = xnn_create_sigmoid_nc_f32(p->channels_in, p->in_stride, p->out_stride, p->flags, &op);
      break;
    case ECK_XNN_SOFTMAX:
      st = xnn_create_softmax_nc_f32(p->channels_in, p->in_stride, p->out_stride, p->flags, &op);
      break;
    case ECK_XNN_SHUFFLE:
      st = xnn_create_channel_shuffle_nc_x32(p->groups, p->channels_in, p->in_stride, p->out_stride,
                                             p->flags, &op);
      break;
    case ECK_XNN_PAD: st = xnn_create_constant_pad_nd_x32(&p->value, p->flags, &op); break;
    case ECK_XNN_RESIZE:
      st = xnn_create_resize_bilinear2d_nhwc_f32(p->channels_in, p->in_stride, p->out_stride, p->flags, &op);
      break;
    case ECK_XNN_QCONV:
    case ECK_XNN_QFC:
    case ECK_XNN_QUANT:
    case ECK_XNN_DEQUANT: st = create_int8(p, w, b, &op); break;
    default: return fail_rc(&s->err, "eck_xnn_create", "unknown operator kind", ECK_ERR_ARG);
  }
  if (st != xnn_status_success) return failed(&s->err, call_name(p, 0), status_name(st));
  s->op = op;
  return ECK_OK;
}

int eck_xnn_setup(eck_xnn_node *s, const eck_xnn_params *p, const void *a, const void *b, void *y,
                  void *pool) {
  xnn_operator_t op = (xnn_operator_t)s->op;
  pthreadpool_t tp = (pthreadpool_t)pool;
  enum xnn_status st = xnn_status_invalid_parameter;
  const float *x = (const float *)a;
  float *out = (float *)y;
  if (!op || !a || !y) return fail_rc(&s->err, "eck_xnn_setup", "no operator or no buffer", ECK_ERR_ARG);
  switch (p->kind) {
    case ECK_XNN_CONV:
      st = xnn_setup_convolution2d_nhwc_f32(op, p->batch, p->height, p->width, x, out, tp);
      break;
    case ECK_XNN_FC: st = xnn_setup_fully_connected_nc_f32(op, p->batch, x, out, tp); break;
    case ECK_XNN_MAXPOOL:
      st = xnn_setup_max_pooling2d_nhwc_f32(op, p->batch, p->height, p->width, x, out, tp);
      break;
    case ECK_XNN_AVGPOOL:
      st = xnn_setup_average_pooling2d_nhwc_f32(op, p->batch, p->height, p->width, x, out, tp);
      break;
    case ECK_XNN_GAVGPOOL:
      st = xnn_setup_global_average_pooling_nwc_f32(op, p->batch, p->width, x, out, tp);
      break;
    case ECK_XNN_ADD:
    case ECK_XNN_SUB:
    case ECK_XNN_MUL:
    case ECK_XNN_DIV:
    case ECK_XNN_MAX:
    case ECK_XNN_MIN: {
      enum xnn_status (*fn)(xnn_operator_t, size_t, const size_t *, size_t, const size_t *,
                            const float *, const float *, float *, pthreadpool_t);
      switch (p->kind) {
        case ECK_XNN_ADD: fn = xnn_setup_add_nd_f32; break;
        case ECK_XNN_SUB: fn = xnn_setup_subtract_nd_f32; break;
        case ECK_XNN_MUL: fn = xnn_setup_multiply_nd_f32; break;
        case ECK_XNN_DIV: fn = xnn_setup_divide_nd_f32; break;
        case ECK_XNN_MAX: fn = xnn_setup_maximum_nd_f32; break;
        default: fn = xnn_setup_minimum_nd_f32; break;
      }
      if (!b) return fail_rc(&s->err, "eck_xnn_setup", "no second operand", ECK_ERR_ARG);
      st = fn(op, (size_t)p->rank_a, p->shape_a, (size_t)p->rank_b, p->shape_b, x,
              (const float *)b, out, tp);
      break;
    }
    case ECK_XNN_CLAMP: st = xnn_setup_clamp_nc_f32(op, p->batch, x, out, tp); break;
    case ECK_XNN_HARDSWISH: st = xnn_setup_hardswish_nc_f32(op, p->batch, x, out, tp); break;
    case ECK_XNN_SIGMOID: st = xnn_setup_sigmoid_nc_f32(op, p->batch, x, out, tp); break;
    case ECK_XNN_SOFTMAX: st = xnn_setup_softmax_nc_f32(op, p->batch, x, out, tp); break;
    case ECK_XNN_SHUFFLE: st = xnn_setup_channel_shuffle_nc_x32(op, p->batch, a, y, tp); break;
    case ECK_XNN_PAD:
      st = xnn_setup_constant_pad_nd_x32(op, (size_t)p->rank_a, p->shape_a, p->pre, p->post, a, y, tp);
      break;
    case ECK_XNN_RESIZE:
      st = xnn_setup_resize_bilinear2d_nhwc_f32(op, p->batch, p->height, p->width, p->out_height,
                                                 p->out_width, x, out, tp);
      break;
    case ECK_XNN_QCONV:
    case ECK_XNN_QFC:
    case ECK_XNN_QUANT:
    case ECK_XNN_DEQUANT: st = setup_int8(p, op, a, y, tp); break;
    default: return fail_rc(&s->err, "eck_xnn_setup", "unknown operator kind", ECK_ERR_ARG);
  }
  if (st != xnn_status_success) return failed(&s->err, call_name(p, 1), status_name(st));
  s->in[0] = a;
  s->in[1] = b;
  s->out = y;
  s->ready = 1;
  return ECK_OK;
}

int eck_xnn_run(eck_xnn_node *s, const eck_xnn_params *p, const void *a, const void *b, void *y,
                void *pool) {
  enum xnn_status st;
  if (!s->ready || s->in[0] != a || s->in[1] != b || s->out != y) {
    int rc = eck_xnn_setup(s, p, a, b, y, pool);
    if (rc != ECK_OK) return rc;
  }
  st = xnn_run_operator((xnn_operator_t)s->op, (pthreadpool_t)pool);
  return st == xnn_status_success ? ECK_OK : failed(&s->err, "xnn_run_operator", status_name(st));
}

void eck_xnn_delete(eck_xnn_node *s) {
  if (s->op) xnn_delete_operator((xnn_operator_t)s->op);
  s->op = NULL;
  s->ready = 0;
}
