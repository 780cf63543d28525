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

int eck_xnn_start(void **pool, int threads) {
  *pool = NULL;
  /* Mandatory before any create; later calls are no-ops. */
  if (xnn_initialize(NULL) != xnn_status_success) return ECK_ERR_UNSUPPORTED;
  if (threads > 1) {
    *pool = eck_pool_create(threads);
    if (!*pool) return ECK_ERR_UNSUPPORTED;
  }
  return ECK_OK;
}

void eck_xnn_stop(void *pool) {
  if (pool) eck_pool_destroy(pool);
}

int eck_xnn_create(eck_xnn_node *s, const eck_xnn_params *p, const float *w, const float *b) {
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
    default: return ECK_ERR_ARG;
  }
  if (st != xnn_status_success) return ECK_ERR_UNSUPPORTED;
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
  if (!op || !a || !y) return ECK_ERR_ARG;
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
      if (!b) return ECK_ERR_ARG;
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
    default: return ECK_ERR_ARG;
  }
  if (st != xnn_status_success) return ECK_ERR_UNSUPPORTED;
  s->in[0] = a;
  s->in[1] = b;
  s->out = y;
  s->ready = 1;
  return ECK_OK;
}

int eck_xnn_run(eck_xnn_node *s, const eck_xnn_params *p, const void *a, const void *b, void *y,
                void *pool) {
  if (!s->ready || s->in[0] != a || s->in[1] != b || s->out != y) {
    int rc = eck_xnn_setup(s, p, a, b, y, pool);
    if (rc != ECK_OK) return rc;
  }
  return xnn_run_operator((xnn_operator_t)s->op, (pthreadpool_t)pool) == xnn_status_success
             ? ECK_OK
             : ECK_ERR_UNSUPPORTED;
}

void eck_xnn_delete(eck_xnn_node *s) {
  if (s->op) xnn_delete_operator((xnn_operator_t)s->op);
  s->op = NULL;
  s->ready = 0;
}
