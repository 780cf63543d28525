/* eck_dnnl.c — oneDNN 2.6 primitives behind eck_dnnl_params: create (weights reordered once into
 * the primitive's layout), setup (buffers bound), run. Debian's libdnnl-dev provides them.
 * edgecc-link: dnnl gomp */
#define _GNU_SOURCE /* setenv, execv */
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>

#include "eck_dnnl.h"
#include "eck_ref_nn.h"

/* Records a failed call in err (may be NULL) and returns rc. */
static int fail_rc(eck_dnnl_error *err, const char *call, const char *status, int rc) {
  if (err) {
    err->call = call;
    err->status = status;
  }
  return rc;
}

/* Checks a dnnl call: on failure records it and returns from the calling function. */
#define CHECK(err, call, expr)                                                     \
  do {                                                                             \
    dnnl_status_t st_ = (expr);                                                    \
    if (st_ != dnnl_success)                                                       \
      return fail_rc((err), (call), dnnl_status2str(st_), ECK_ERR_UNSUPPORTED);    \
  } while (0)

void eck_dnnl_threads(int threads) { omp_set_num_threads(threads > 1 ? threads : 1); }

int eck_dnnl_start(eck_dnnl_ctx *c, int threads, eck_dnnl_error *err) {
  dnnl_engine_t e = NULL;
  dnnl_stream_t s = NULL;
  c->engine = c->stream = NULL;
  eck_dnnl_threads(threads);
  CHECK(err, "dnnl_engine_create", dnnl_engine_create(&e, dnnl_cpu, 0));
  {
    dnnl_status_t st = dnnl_stream_create(&s, e, dnnl_stream_default_flags);
    if (st != dnnl_success) {
      dnnl_engine_destroy(e);
      return fail_rc(err, "dnnl_stream_create", dnnl_status2str(st), ECK_ERR_UNSUPPORTED);
    }
  }
  c->engine = e;
  c->stream = s;
  return ECK_OK;
}

static void reexec_with(char **argv, const char *name, const char *value) {
  if (getenv("OMP_WAIT_POLICY") || getenv("GOMP_SPINCOUNT") || !argv || !argv[0]) return;
  if (setenv(name, value, 1) != 0) return;
  /* /proc/self/exe: argv[0] may be a bare name found through PATH. */
  execv("/proc/self/exe", argv);
  execvp(argv[0], argv);
  unsetenv(name); /* both failed: carry on as started */
}

void eck_dnnl_passive_wait(char **argv) { reexec_with(argv, "OMP_WAIT_POLICY", "passive"); }

void eck_dnnl_short_spin(char **argv) { reexec_with(argv, "GOMP_SPINCOUNT", ECK_DNNL_SPINCOUNT); }

void eck_dnnl_stop(eck_dnnl_ctx *c) {
  if (c->stream) dnnl_stream_destroy((dnnl_stream_t)c->stream);
  if (c->engine) dnnl_engine_destroy((dnnl_engine_t)c->engine);
  c->engine = c->stream = NULL;
}

/* A dense row-major NHWC (or [rows, features]) descriptor with an element stride between pixels
 * (rows): a channel slice of a wider tensor when stride > channels. */
static dnnl_status_t act_md_dt(dnnl_memory_desc_t *md, size_t n, size_t h, size_t w, size_t ch,
                               size_t stride, dnnl_data_type_t dt) {
  dnnl_dims_t dims = {(dnnl_dim_t)n, (dnnl_dim_t)ch, (dnnl_dim_t)h, (dnnl_dim_t)w};
  dnnl_dims_t strides;
  size_t px = stride ? stride : ch;
  strides[1] = 1;
  strides[3] = (dnnl_dim_t)px;
  strides[2] = (dnnl_dim_t)(px * w);
  strides[0] = (dnnl_dim_t)(px * w * h);
  return dnnl_memory_desc_init_by_strides(md, 4, dims, dt, strides);
}

static dnnl_status_t act_md(dnnl_memory_desc_t *md, size_t n, size_t h, size_t w, size_t ch, size_t stride) {
  return act_md_dt(md, n, h, w, ch, stride, dnnl_f32);
}

static dnnl_status_t rows_md(dnnl_memory_desc_t *md, size_t rows, size_t ch, size_t stride, dnnl_data_type_t dt) {
  dnnl_dims_t dims = {(dnnl_dim_t)rows, (dnnl_dim_t)ch};
  dnnl_dims_t strides = {(dnnl_dim_t)(stride ? stride : ch), 1};
  return dnnl_memory_desc_init_by_strides(md, 2, dims, dt, strides);
}

static int is_int8(const eck_dnnl_params *p) { return p->kind == ECK_DNNL_QCONV || p->kind == ECK_DNNL_QFC; }

/* The int8 kinds' requantization: one output scale per output channel (w_scales) or one for all,
 * each (in_scale * w) / out_scale in float, as the reference kernel computes it; oneDNN multiplies
 * the int32 sum (bias added) by it, adds the output's zero point and rounds half to even
 * (MXCSR's default) with saturation. The input's zero point is subtracted exactly: oneDNN adds
 * -in_zp * (the sum of each filter's weights) to the int32 sum. */
static int q_attr(dnnl_primitive_attr_t attr, const eck_dnnl_params *p, eck_dnnl_error *err) {
  size_t n = p->w_scales ? eck_dnnl_ch_out(p) : 1;
  float one, *sc = n > 1 ? malloc(n * sizeof *sc) : &one; /* init only: create allocates anyway */
  int32_t izp = p->in_zp, ozp = p->out_zp;
  dnnl_status_t st;
  if (!sc) return fail_rc(err, "eck_dnnl_create", "out of memory", ECK_ERR_UNSUPPORTED);
  for (size_t i = 0; i < n; i++) {
    float ws = p->w_scales ? p->w_scales[i] : p->w_scale;
    float m = p->in_scale * ws; /* two float operations, as the reference: no fused multiply-add */
    sc[i] = m / p->out_scale;
  }
  /* The mask names the output dim the scales run along: dim 1 (channels) of conv's N,C,H,W dst
   * and of the matmul's [batch, out]. */
  st = dnnl_primitive_attr_set_output_scales(attr, (dnnl_dim_t)n, n > 1 ? 1 << 1 : 0, sc);
  if (sc != &one) free(sc);
  if (st == dnnl_success && izp) st = dnnl_primitive_attr_set_zero_points(attr, DNNL_ARG_SRC, 1, 0, &izp);
  if (st == dnnl_success && ozp) st = dnnl_primitive_attr_set_zero_points(attr, DNNL_ARG_DST, 1, 0, &ozp);
  if (st != dnnl_success)
    return fail_rc(err, "dnnl_primitive_attr (int8 scales, zero points)", dnnl_status2str(st), ECK_ERR_UNSUPPORTED);
  return ECK_OK;
}

/* Attributes: user scratchpad (the node owns it: no allocation in a run) and the post-ops. */
static int make_attr(dnnl_primitive_attr_t *attr, const eck_dnnl_params *p, int conv,
                     eck_dnnl_error *err) {
  dnnl_post_ops_t po = NULL;
  int clamp = !(p->out_min == -ECK_DNNL_INF && p->out_max == ECK_DNNL_INF);
  int sum = conv && (p->flags & ECK_DNNL_SUM);
  dnnl_status_t st;
  *attr = NULL;
  CHECK(err, "dnnl_primitive_attr_create", dnnl_primitive_attr_create(attr));
  st = dnnl_primitive_attr_set_scratchpad_mode(*attr, dnnl_scratchpad_mode_user);
  if (st != dnnl_success) goto fail;
  if (is_int8(p)) { /* no post-ops: an int8 output's clamp is its type's range */
    int rc = q_attr(*attr, p, err);
    if (rc != ECK_OK) {
      dnnl_primitive_attr_destroy(*attr);
      *attr = NULL;
    }
    return rc;
  }
  if (!clamp && !sum) return ECK_OK;
  st = dnnl_post_ops_create(&po);
  if (st != dnnl_success) goto fail;
  /* Relu, Relu6 and Clip are one eltwise clip (alpha = lower, beta = upper bound; infinite bounds
   * are exact: max(x, -inf) = x). */
  if (clamp && (!sum || (p->flags & ECK_DNNL_CLAMP_FIRST)))
    st = dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_clip, p->out_min, p->out_max);
  if (st == dnnl_success && sum) st = dnnl_post_ops_append_sum(po, 1.0f);
  if (st == dnnl_success && clamp && sum && !(p->flags & ECK_DNNL_CLAMP_FIRST))
    st = dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_clip, p->out_min, p->out_max);
  if (st == dnnl_success) st = dnnl_primitive_attr_set_post_ops(*attr, po);
  dnnl_post_ops_destroy(po);
  if (st == dnnl_success) return ECK_OK;
fail:
  dnnl_primitive_attr_destroy(*attr);
  *attr = NULL;
  return fail_rc(err, "dnnl_primitive_attr", dnnl_status2str(st), ECK_ERR_UNSUPPORTED);
}

/* A memory object in layout `want` (oneDNN allocates it, the node owns it) holding the caller's
 * data, read once through a reorder from its plain layout `have`. */
static int owned_copy(dnnl_memory_t *out, eck_dnnl_ctx *c, const dnnl_memory_desc_t *have,
                      const dnnl_memory_desc_t *want, const void *data, eck_dnnl_error *err) {
  dnnl_engine_t e = (dnnl_engine_t)c->engine;
  dnnl_memory_t src = NULL, dst = NULL;
  dnnl_primitive_desc_t rpd = NULL;
  dnnl_primitive_t r = NULL;
  const char *call = "dnnl_memory_create";
  dnnl_status_t st;
  /* On one thread: libgomp keeps a team of workers per thread that ever ran a parallel region, so
   * a parallel reorder here would leave init's thread a worker of its own, idle for good when
   * another thread (a server's) runs the steps: one worker more than --threads asks. */
  int nt = omp_get_max_threads();
  omp_set_num_threads(1);
  *out = NULL;
  st = dnnl_memory_create(&src, have, e, (void *)data); /* only read: the reorder's source */
  if (st == dnnl_success) st = dnnl_memory_create(&dst, want, e, DNNL_MEMORY_ALLOCATE);
  if (st == dnnl_success) {
    call = "dnnl_reorder_primitive_desc_create";
    st = dnnl_reorder_primitive_desc_create(&rpd, have, e, want, e, NULL);
  }
  if (st == dnnl_success) {
    call = "dnnl_primitive_create (reorder)";
    st = dnnl_primitive_create(&r, rpd);
  }
  if (st == dnnl_success) {
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, dst}};
    call = "dnnl_primitive_execute (reorder)";
    st = dnnl_primitive_execute(r, (dnnl_stream_t)c->stream, 2, args);
    if (st == dnnl_success) st = dnnl_stream_wait((dnnl_stream_t)c->stream);
  }
  omp_set_num_threads(nt);
  if (r) dnnl_primitive_destroy(r);
  if (rpd) dnnl_primitive_desc_destroy(rpd);
  if (src) dnnl_memory_destroy(src);
  if (st != dnnl_success) {
    if (dst) dnnl_memory_destroy(dst);
    return fail_rc(err, call, dnnl_status2str(st), ECK_ERR_UNSUPPORTED);
  }
  *out = dst;
  return ECK_OK;
}

/* Copies n pixels of ch floats from pixels `from_stride` apart to pixels `to_stride` apart (a
 * channel slice to or from a dense tensor). */
static void copy_pixels(float *to, size_t to_stride, const float *from, size_t from_stride, size_t n, size_t ch) {
  for (size_t i = 0; i < n; i++) memcpy(to + i * to_stride, from + i * from_stride, ch * sizeof(float));
}

/* Fills the descriptor of the op p describes, with the weight and bias layouts the caller's data
 * comes in (user_w, user_b; format_kind undef where the kind has none). */
static int op_desc(const eck_dnnl_params *p, dnnl_convolution_desc_t *conv,
                   dnnl_inner_product_desc_t *ip, dnnl_matmul_desc_t *mm, dnnl_pooling_v2_desc_t *pool,
                   dnnl_binary_desc_t *bin, int has_bias, dnnl_memory_desc_t *user_w,
                   dnnl_memory_desc_t *user_b, int *swap, eck_dnnl_error *err) {
  dnnl_memory_desc_t src, dst, w, b;
  memset(user_w, 0, sizeof *user_w);
  memset(user_b, 0, sizeof *user_b);
  *swap = 0;
  switch (p->kind) {
    case ECK_DNNL_CONV:
    case ECK_DNNL_QCONV: {
      int q = p->kind == ECK_DNNL_QCONV;
      dnnl_data_type_t adt = !q ? dnnl_f32 : p->q_unsigned ? dnnl_u8 : dnnl_s8, wdt = q ? dnnl_s8 : dnnl_f32;
      dnnl_data_type_t bdt = q ? dnnl_s32 : dnnl_f32;
      size_t g = p->groups ? p->groups : 1, ci = p->channels_in * g, co = p->channels_out * g;
      size_t oh = eck_dnnl_out_size(p->height, p->pad[0], p->pad[2], p->kernel[0], p->stride[0], p->dilation[0]);
      size_t ow = eck_dnnl_out_size(p->width, p->pad[3], p->pad[1], p->kernel[1], p->stride[1], p->dilation[1]);
      dnnl_dims_t strides = {p->stride[0], p->stride[1]};
      /* oneDNN counts dilation from 0 (0: dense), ONNX from 1. */
      dnnl_dims_t dil = {p->dilation[0] ? p->dilation[0] - 1 : 0, p->dilation[1] ? p->dilation[1] - 1 : 0};
      dnnl_dims_t pl = {p->pad[0], p->pad[3]}, pr = {p->pad[2], p->pad[1]};
      dnnl_dims_t wg = {(dnnl_dim_t)g, (dnnl_dim_t)p->channels_out, (dnnl_dim_t)p->channels_in,
                        p->kernel[0], p->kernel[1]};
      dnnl_dims_t w1 = {(dnnl_dim_t)co, (dnnl_dim_t)p->channels_in, p->kernel[0], p->kernel[1]};
      dnnl_dims_t bd = {(dnnl_dim_t)co};
      int grouped = g > 1;
      if (!oh || !ow) return fail_rc(err, "eck_dnnl_create", "window larger than the padded input", ECK_ERR_ARG);
      /* A channel slice runs on a dense copy in the stage (eck_dnnl_stage): oneDNN 2.6 has only
       * its reference kernel for strided activations. */
      CHECK(err, "dnnl_memory_desc_init (src)",
            act_md_dt(&src, p->batch, p->height, p->width, ci, eck_dnnl_staged_in(p) ? 0 : p->in_stride, adt));
      CHECK(err, "dnnl_memory_desc_init (dst)",
            act_md_dt(&dst, p->batch, oh, ow, co, eck_dnnl_staged_out(p) ? 0 : p->out_stride, adt));
      /* ONNX's [O, I/g, kh, kw] is oneDNN's goihw with the group dim split off O; lowering's
       * [O, kh, kw, I/g] is gohwi. */
      int ohwi = (p->flags & ECK_DNNL_W_OHWI) != 0;
      CHECK(err, "dnnl_memory_desc_init (weights)",
            dnnl_memory_desc_init_by_tag(user_w, grouped ? 5 : 4, grouped ? wg : w1, wdt,
                                         grouped ? (ohwi ? dnnl_gohwi : dnnl_goihw) : (ohwi ? dnnl_ohwi : dnnl_oihw)));
      CHECK(err, "dnnl_memory_desc_init (weights)",
            dnnl_memory_desc_init_by_tag(&w, grouped ? 5 : 4, grouped ? wg : w1, wdt, dnnl_format_tag_any));
      if (has_bias) {
        CHECK(err, "dnnl_memory_desc_init (bias)", dnnl_memory_desc_init_by_tag(user_b, 1, bd, bdt, dnnl_a));
        CHECK(err, "dnnl_memory_desc_init (bias)", dnnl_memory_desc_init_by_tag(&b, 1, bd, bdt, dnnl_format_tag_any));
      }
      CHECK(err, "dnnl_dilated_convolution_forward_desc_init",
            dnnl_dilated_convolution_forward_desc_init(conv, dnnl_forward_inference, dnnl_convolution_direct,
                                                       &src, &w, has_bias ? &b : NULL, &dst, strides, dil,
                                                       pl, pr));
      return ECK_OK;
    }
    case ECK_DNNL_QFC: {
      /* oneDNN 2.6's inner product takes no zero point of its source: the matmul primitive,
       * [batch, in] x [in, out] (the weights' logical dims are matmul's K x N; [out, in] data is
       * the transposed tag ba), no bias (QLinearMatMul has none). */
      dnnl_dims_t wd = {(dnnl_dim_t)p->channels_in, (dnnl_dim_t)p->channels_out};
      CHECK(err, "dnnl_memory_desc_init (src)",
            rows_md(&src, p->batch, p->channels_in, p->in_stride, p->q_unsigned ? dnnl_u8 : dnnl_s8));
      CHECK(err, "dnnl_memory_desc_init (dst)",
            rows_md(&dst, p->batch, p->channels_out, p->out_stride, p->q_unsigned ? dnnl_u8 : dnnl_s8));
      CHECK(err, "dnnl_memory_desc_init (weights)",
            dnnl_memory_desc_init_by_tag(user_w, 2, wd, dnnl_s8,
                                         (p->flags & ECK_DNNL_W_IN_OUT) ? dnnl_ab : dnnl_ba));
      CHECK(err, "dnnl_memory_desc_init (weights)", dnnl_memory_desc_init_by_tag(&w, 2, wd, dnnl_s8, dnnl_format_tag_any));
      if (has_bias) return fail_rc(err, "eck_dnnl_create", "an int8 matmul has no bias", ECK_ERR_ARG);
      CHECK(err, "dnnl_matmul_desc_init", dnnl_matmul_desc_init(mm, &src, &w, NULL, &dst));
      return ECK_OK;
    }
    case ECK_DNNL_FC: {
      dnnl_data_type_t adt = dnnl_f32, wdt = dnnl_f32, bdt = dnnl_f32;
      dnnl_dims_t wd = {(dnnl_dim_t)p->channels_out, (dnnl_dim_t)p->channels_in};
      dnnl_dims_t bd = {(dnnl_dim_t)p->channels_out};
      CHECK(err, "dnnl_memory_desc_init (src)", rows_md(&src, p->batch, p->channels_in, p->in_stride, adt));
      CHECK(err, "dnnl_memory_desc_init (dst)", rows_md(&dst, p->batch, p->channels_out, p->out_stride, adt));
      /* Logical dims stay [out, in]; [in, out] data is the transposed tag io. */
      CHECK(err, "dnnl_memory_desc_init (weights)",
            dnnl_memory_desc_init_by_tag(user_w, 2, wd, wdt, (p->flags & ECK_DNNL_W_IN_OUT) ? dnnl_io : dnnl_oi));
      CHECK(err, "dnnl_memory_desc_init (weights)", dnnl_memory_desc_init_by_tag(&w, 2, wd, wdt, dnnl_format_tag_any));
      if (has_bias) {
        CHECK(err, "dnnl_memory_desc_init (bias)", dnnl_memory_desc_init_by_tag(user_b, 1, bd, bdt, dnnl_a));
        CHECK(err, "dnnl_memory_desc_init (bias)", dnnl_memory_desc_init_by_tag(&b, 1, bd, bdt, dnnl_format_tag_any));
      }
      CHECK(err, "dnnl_inner_product_forward_desc_init",
            dnnl_inner_product_forward_desc_init(ip, dnnl_forward_inference, &src, &w, has_bias ? &b : NULL, &dst));
      return ECK_OK;
    }
    case ECK_DNNL_MAXPOOL:
    case ECK_DNNL_AVGPOOL: {
      size_t oh = p->out_height ? p->out_height
                                : eck_dnnl_out_size(p->height, p->pad[0], p->pad[2], p->kernel[0], p->stride[0], p->dilation[0]);
      size_t ow = p->out_width ? p->out_width
                               : eck_dnnl_out_size(p->width, p->pad[3], p->pad[1], p->kernel[1], p->stride[1], p->dilation[1]);
      dnnl_dims_t strides = {p->stride[0], p->stride[1]}, kernel = {p->kernel[0], p->kernel[1]};
      dnnl_dims_t dil = {p->dilation[0] ? p->dilation[0] - 1 : 0, p->dilation[1] ? p->dilation[1] - 1 : 0};
      dnnl_dims_t pl = {p->pad[0], p->pad[3]}, pr;
      dnnl_alg_kind_t alg = p->kind == ECK_DNNL_MAXPOOL ? dnnl_pooling_max
                            : (p->flags & ECK_DNNL_AVG_INCLUDE_PAD) ? dnnl_pooling_avg_include_padding
                                                                     : dnnl_pooling_avg_exclude_padding;
      /* oneDNN wants the right/bottom padding that makes the output size exact: a ceil_mode
       * output needs more than the op's own. Harmless for max and for excluded padding; with
       * included padding ONNX would not count those extra cells, so that case is refused. */
      const size_t outs[2] = {oh, ow}, ins[2] = {p->height, p->width};
      const uint32_t hi[2] = {p->pad[2], p->pad[1]};
      for (int k = 0; k < 2; k++) {
        long need = (long)((outs[k] - 1) * (p->stride[k] ? p->stride[k] : 1) +
                           (p->kernel[k] - 1) * (p->dilation[k] ? p->dilation[k] : 1) + 1) -
                    (long)ins[k] - (long)pl[k];
        if (!outs[k]) return fail_rc(err, "eck_dnnl_create", "window larger than the padded input", ECK_ERR_ARG);
        /* An output size the pads cannot give fails in oneDNN's own check of the descriptor. */
        pr[k] = need > (long)hi[k] ? need : (long)hi[k];
        if (pr[k] > (dnnl_dim_t)hi[k] && alg == dnnl_pooling_avg_include_padding)
          return fail_rc(err, "eck_dnnl_create", "ceil_mode with count_include_pad", ECK_ERR_UNSUPPORTED);
      }
      CHECK(err, "dnnl_memory_desc_init (src)",
            act_md(&src, p->batch, p->height, p->width, p->channels_in, eck_dnnl_staged_in(p) ? 0 : p->in_stride));
      CHECK(err, "dnnl_memory_desc_init (dst)",
            act_md(&dst, p->batch, oh, ow, p->channels_in, eck_dnnl_staged_out(p) ? 0 : p->out_stride));
      CHECK(err, "dnnl_pooling_v2_forward_desc_init",
            dnnl_pooling_v2_forward_desc_init(pool, dnnl_forward_inference, alg, &src, &dst, strides, kernel,
                                              dil, pl, pr));
      return ECK_OK;
    }
    case ECK_DNNL_ADD:
    case ECK_DNNL_MUL: {
      /* Both shapes right-aligned to one rank; oneDNN broadcasts only its second source, so a
       * broadcasting first operand trades places (add and mul commute). */
      int r = p->rank_a > p->rank_b ? p->rank_a : p->rank_b, a_full = 1, b_full = 1;
      dnnl_dims_t da, db;
      if (r < 1 || r > ECK_DNNL_MAX_DIMS || p->rank_a < 0 || p->rank_b < 0)
        return fail_rc(err, "eck_dnnl_create", "binary rank out of range", ECK_ERR_ARG);
      for (int i = 0; i < r; i++) {
        int ia = i - (r - p->rank_a), ib = i - (r - p->rank_b);
        da[i] = ia >= 0 ? (dnnl_dim_t)p->shape_a[ia] : 1;
        db[i] = ib >= 0 ? (dnnl_dim_t)p->shape_b[ib] : 1;
        if (da[i] != db[i] && da[i] != 1 && db[i] != 1)
          return fail_rc(err, "eck_dnnl_create", "shapes do not broadcast", ECK_ERR_ARG);
        if (da[i] < db[i]) a_full = 0;
        if (db[i] < da[i]) b_full = 0;
      }
      if (!a_full && !b_full)
        return fail_rc(err, "eck_dnnl_create", "both operands broadcast", ECK_ERR_UNSUPPORTED);
      *swap = !a_full;
      {
        dnnl_memory_desc_t src1;
        static const dnnl_format_tag_t plain[ECK_DNNL_MAX_DIMS + 1] = {
            dnnl_format_tag_undef, dnnl_a, dnnl_ab, dnnl_abc, dnnl_abcd, dnnl_abcde, dnnl_abcdef};
        CHECK(err, "dnnl_memory_desc_init (src0)",
              dnnl_memory_desc_init_by_tag(&src, r, *swap ? db : da, dnnl_f32, plain[r]));
        CHECK(err, "dnnl_memory_desc_init (src1)",
              dnnl_memory_desc_init_by_tag(&src1, r, *swap ? da : db, dnnl_f32, plain[r]));
        CHECK(err, "dnnl_memory_desc_init (dst)",
              dnnl_memory_desc_init_by_tag(&dst, r, *swap ? db : da, dnnl_f32, plain[r]));
        CHECK(err, "dnnl_binary_desc_init",
              dnnl_binary_desc_init(bin, p->kind == ECK_DNNL_ADD ? dnnl_binary_add : dnnl_binary_mul, &src, &src1, &dst));
      }
      return ECK_OK;
    }
    default: return fail_rc(err, "eck_dnnl_create", "unknown primitive kind", ECK_ERR_ARG);
  }
}

/* A memory object without a buffer, for md as the primitive sees it (bound by setup). */
static int unbound(dnnl_memory_t *m, dnnl_primitive_desc_t pd, dnnl_query_t what, int idx,
                   eck_dnnl_ctx *c, eck_dnnl_error *err) {
  const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(pd, what, idx);
  if (!md) return fail_rc(err, "dnnl_primitive_desc_query_md", "no descriptor", ECK_ERR_UNSUPPORTED);
  CHECK(err, "dnnl_memory_create", dnnl_memory_create(m, md, (dnnl_engine_t)c->engine, DNNL_MEMORY_NONE));
  return ECK_OK;
}

/* Implementations oneDNN 2.6.3 offers but that must not run: each with the primitive kinds and
 * flags (0: any) under which it fails. Both are kernels of CPUs without AVX2 (or of
 * DNNL_MAX_CPU_ISA below it), found by tests/onednn, which runs at SSE41 too:
 * - jit_dw:sse41, the depthwise convolution, crashes with a sum post-op (SIGSEGV inside the JIT
 *   code on NHWC depthwise convolutions of 22 or 32 channels, even 3x3 with pad 1);
 * - jit:sse41 pooling crashes while its code is generated (in dnnl_primitive_create) for some
 *   NHWC shapes, e.g. a 1x4 max pool with pads left 1, right 3 over 19 channels. */
static const struct {
  int32_t kind, kind2; /* eck_dnnl_kind */
  const char *impl;
  uint32_t flags;
} bad_impls[] = {
    {ECK_DNNL_CONV, ECK_DNNL_CONV, "jit_dw:sse41", ECK_DNNL_SUM},
    {ECK_DNNL_MAXPOOL, ECK_DNNL_AVGPOOL, "jit:sse41", 0},
};

/* Whether the ISA oneDNN runs at (the CPU's, or less under DNNL_MAX_CPU_ISA) has VNNI's dot
 * products: the bits avx512_core_vnni adds to avx512_core, or avx2_vnni to avx2. */
static int has_vnni(void) {
  unsigned vnni = ((unsigned)dnnl_cpu_isa_avx512_core_vnni & ~(unsigned)dnnl_cpu_isa_avx512_core) |
                  ((unsigned)dnnl_cpu_isa_avx2_vnni & ~(unsigned)dnnl_cpu_isa_avx2);
  return ((unsigned)dnnl_get_effective_cpu_isa() & vnni) != 0;
}

static int bad_impl(const_dnnl_primitive_desc_t pd, const eck_dnnl_params *p) {
  const char *name = NULL;
  if (dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, (void *)&name) != dnnl_success || !name)
    return 0;
  /* oneDNN's int8 kernels for CPUs without VNNI (jit_uni_int8:avx2, jit_int8:avx512_core,
   * gemm_s8u8s32:jit there) multiply with vpmaddubsw, whose 16-bit pair sums saturate (with int8
   * data they also halve the weights first, rounding odd ones): not exact. tests/diff's qlinear
   * pattern at DNNL_MAX_CPU_ISA=AVX2: 33 of 400 cases up to 6 steps off; AVX512_CORE: 63. There
   * only oneDNN's reference int8 kernel (ref_int8:any) runs them: exact, slow. With VNNI
   * (vpdpbusd: 32-bit sums) or AMX every implementation is exact. */
  if (is_int8(p) && !has_vnni() && strncmp(name, "ref", 3) != 0) return 1;
  /* oneDNN 2.6.3's GEMM-based int8 convolution (x64:gemm_s8u8s32:jit) with a source zero point
   * and groups is wrong: every output of a 2-group 2x2 convolution of uint8 data, zero point 78,
   * off by up to 128 (tests/diff seed 3377); with zero point 0, or one group, it is exact. */
  if (p->kind == ECK_DNNL_QCONV && p->in_zp && p->groups > 1 && strstr(name, "gemm")) return 1;
  for (size_t i = 0; i < sizeof bad_impls / sizeof bad_impls[0]; i++)
    if ((p->kind == bad_impls[i].kind || p->kind == bad_impls[i].kind2) && strcmp(name, bad_impls[i].impl) == 0 &&
        (!bad_impls[i].flags || (p->flags & bad_impls[i].flags)))
      return 1;
  return 0;
}

/* The first implementation oneDNN offers for desc that is not in bad_impls (its list is in order
 * of preference, the reference kernels last). */
static dnnl_status_t first_good_pd(dnnl_primitive_desc_t *pd, const void *desc, const_dnnl_primitive_attr_t attr,
                                   eck_dnnl_ctx *c, const eck_dnnl_params *p) {
  dnnl_primitive_desc_iterator_t it = NULL;
  dnnl_status_t st = dnnl_primitive_desc_iterator_create(&it, desc, attr, (dnnl_engine_t)c->engine, NULL);
  *pd = NULL;
  while (st == dnnl_success) {
    dnnl_primitive_desc_t cand = dnnl_primitive_desc_iterator_fetch(it);
    if (!cand) {
      st = dnnl_runtime_error;
      break;
    }
    if (!bad_impl(cand, p)) {
      *pd = cand;
      break;
    }
    dnnl_primitive_desc_destroy(cand);
    st = dnnl_primitive_desc_iterator_next(it);
  }
  if (it) dnnl_primitive_desc_iterator_destroy(it);
  return st == dnnl_iterator_ends ? dnnl_unimplemented : st;
}

int eck_dnnl_create(eck_dnnl_node *s, eck_dnnl_ctx *c, const eck_dnnl_params *p, const void *w,
                    const void *b) {
  dnnl_convolution_desc_t conv;
  dnnl_inner_product_desc_t ip;
  dnnl_matmul_desc_t mm;
  dnnl_pooling_v2_desc_t pool;
  dnnl_binary_desc_t bin;
  dnnl_memory_desc_t user_w, user_b;
  dnnl_primitive_attr_t attr = NULL;
  dnnl_primitive_desc_t pd = NULL;
  const void *desc;
  int has_w = eck_dnnl_is_conv(p) || p->kind == ECK_DNNL_FC || p->kind == ECK_DNNL_QFC, has_b = has_w && b != NULL;
  int binary = p->kind == ECK_DNNL_ADD || p->kind == ECK_DNNL_MUL, rc;
  dnnl_status_t st;
  memset(s, 0, sizeof *s);
  if (has_w && !w) return fail_rc(&s->err, "eck_dnnl_create", "no weights", ECK_ERR_ARG);
  rc = op_desc(p, &conv, &ip, &mm, &pool, &bin, has_b, &user_w, &user_b, &s->swap, &s->err);
  if (rc != ECK_OK) return rc;
  desc = eck_dnnl_is_conv(p) ? (const void *)&conv
         : p->kind == ECK_DNNL_FC ? (const void *)&ip
         : p->kind == ECK_DNNL_QFC ? (const void *)&mm
         : binary                 ? (const void *)&bin
                                  : (const void *)&pool;
  rc = make_attr(&attr, p, p->kind == ECK_DNNL_CONV, &s->err);
  if (rc != ECK_OK) return rc;
  st = first_good_pd(&pd, desc, attr, c, p);
  dnnl_primitive_attr_destroy(attr);
  if (st != dnnl_success) return fail_rc(&s->err, "dnnl_primitive_desc_create", dnnl_status2str(st), ECK_ERR_UNSUPPORTED);
  /* Everything below is undone by eck_dnnl_delete on failure: s holds what exists so far. */
  st = dnnl_primitive_create((dnnl_primitive_t *)&s->prim, pd);
  if (st != dnnl_success) {
    rc = fail_rc(&s->err, "dnnl_primitive_create", dnnl_status2str(st), ECK_ERR_UNSUPPORTED);
    goto out;
  }
  if ((rc = unbound((dnnl_memory_t *)&s->src, pd, binary ? dnnl_query_exec_arg_md : dnnl_query_src_md,
                    binary ? DNNL_ARG_SRC_0 : 0, c, &s->err)) != ECK_OK ||
      (rc = unbound((dnnl_memory_t *)&s->dst, pd, dnnl_query_dst_md, 0, c, &s->err)) != ECK_OK ||
      (binary && (rc = unbound((dnnl_memory_t *)&s->src1, pd, dnnl_query_exec_arg_md, DNNL_ARG_SRC_1, c,
                               &s->err)) != ECK_OK))
    goto out;
  {
    const dnnl_memory_desc_t *sp = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    if (sp && dnnl_memory_desc_get_size(sp) > 0) {
      st = dnnl_memory_create((dnnl_memory_t *)&s->scratch, sp, (dnnl_engine_t)c->engine, DNNL_MEMORY_ALLOCATE);
      if (st != dnnl_success) {
        rc = fail_rc(&s->err, "dnnl_memory_create (scratchpad)", dnnl_status2str(st), ECK_ERR_UNSUPPORTED);
        goto out;
      }
    }
  }
  if (has_w) {
    rc = owned_copy((dnnl_memory_t *)&s->weights, c, &user_w,
                    dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0), w, &s->err);
    if (rc == ECK_OK && has_b)
      rc = owned_copy((dnnl_memory_t *)&s->bias, c, &user_b,
                      dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 1), b, &s->err);
  }
out:
  dnnl_primitive_desc_destroy(pd);
  if (rc != ECK_OK) {
    eck_dnnl_error e = s->err;
    eck_dnnl_delete(s);
    s->err = e;
  }
  return rc;
}

int eck_dnnl_stage(eck_dnnl_node *s, const eck_dnnl_params *p, void *buf) {
  if (eck_dnnl_stage_bytes(p) && !buf) return fail_rc(&s->err, "eck_dnnl_stage", "no stage buffer", ECK_ERR_ARG);
  s->stage = buf;
  s->ready = 0;
  return ECK_OK;
}

int eck_dnnl_setup(eck_dnnl_node *s, const eck_dnnl_params *p, const void *a, const void *b, void *y) {
  const void *x0 = s->swap ? b : a, *x1 = s->swap ? a : b;
  int binary = p->kind == ECK_DNNL_ADD || p->kind == ECK_DNNL_MUL;
  void *dst = y;
  if (!s->prim || !a || !y || (binary && !b))
    return fail_rc(&s->err, "eck_dnnl_setup", "no primitive or no buffer", ECK_ERR_ARG);
  if (eck_dnnl_stage_bytes(p) && !s->stage)
    return fail_rc(&s->err, "eck_dnnl_setup", "channel slice without a stage buffer (eck_dnnl_stage)", ECK_ERR_ARG);
  /* A channel slice: the primitive reads and writes the dense copies in the stage. */
  if (eck_dnnl_staged_in(p)) x0 = s->stage;
  if (eck_dnnl_staged_out(p)) dst = (char *)s->stage + eck_dnnl_stage_in_bytes(p);
  /* The handles are only read by oneDNN's execute: const is restored there. */
  CHECK(&s->err, "dnnl_memory_set_data_handle", dnnl_memory_set_data_handle((dnnl_memory_t)s->src, (void *)x0));
  if (binary)
    CHECK(&s->err, "dnnl_memory_set_data_handle", dnnl_memory_set_data_handle((dnnl_memory_t)s->src1, (void *)x1));
  CHECK(&s->err, "dnnl_memory_set_data_handle", dnnl_memory_set_data_handle((dnnl_memory_t)s->dst, dst));
  s->in[0] = a;
  s->in[1] = b;
  s->out = y;
  s->ready = 1;
  return ECK_OK;
}

int eck_dnnl_run(eck_dnnl_node *s, eck_dnnl_ctx *c, const eck_dnnl_params *p, const void *a,
                 const void *b, void *y) {
  dnnl_exec_arg_t args[6];
  int n = 0;
  if (!s->ready || s->in[0] != a || s->in[1] != b || s->out != y) {
    int rc = eck_dnnl_setup(s, p, a, b, y);
    if (rc != ECK_OK) return rc;
  }
  size_t n_in = p->batch * p->height * p->width, n_out = p->batch * eck_dnnl_oh(p) * eck_dnnl_ow(p);
  size_t c_out = eck_dnnl_ch_out(p), os = p->out_stride ? p->out_stride : c_out;
  float *stage_out = eck_dnnl_staged_out(p) ? (float *)((char *)s->stage + eck_dnnl_stage_in_bytes(p)) : NULL;
  if (eck_dnnl_staged_in(p))
    copy_pixels((float *)s->stage, eck_dnnl_ch_in(p), (const float *)a, p->in_stride, n_in, eck_dnnl_ch_in(p));
  /* The sum post-op adds into the destination: the residual must be there (a copy only when
   * the memory plan could not put y on its bytes, or the output is a channel slice, staged). */
  if ((p->flags & ECK_DNNL_SUM) && p->kind == ECK_DNNL_CONV) {
    const float *r = b ? (const float *)b : (const float *)y;
    if (stage_out) copy_pixels(stage_out, c_out, r, os, n_out, c_out);
    else if (r != y) memcpy(y, r, n_out * c_out * sizeof(float));
  }
  args[n].arg = s->src1 ? DNNL_ARG_SRC_0 : DNNL_ARG_SRC, args[n++].memory = (dnnl_memory_t)s->src;
  if (s->src1) args[n].arg = DNNL_ARG_SRC_1, args[n++].memory = (dnnl_memory_t)s->src1;
  if (s->weights) args[n].arg = DNNL_ARG_WEIGHTS, args[n++].memory = (dnnl_memory_t)s->weights;
  if (s->bias) args[n].arg = DNNL_ARG_BIAS, args[n++].memory = (dnnl_memory_t)s->bias;
  if (s->scratch) args[n].arg = DNNL_ARG_SCRATCHPAD, args[n++].memory = (dnnl_memory_t)s->scratch;
  args[n].arg = DNNL_ARG_DST, args[n++].memory = (dnnl_memory_t)s->dst;
  CHECK(&s->err, "dnnl_primitive_execute",
        dnnl_primitive_execute((dnnl_primitive_t)s->prim, (dnnl_stream_t)c->stream, n, args));
  CHECK(&s->err, "dnnl_stream_wait", dnnl_stream_wait((dnnl_stream_t)c->stream));
  if (stage_out) copy_pixels((float *)y, os, stage_out, c_out, n_out, c_out);
  return ECK_OK;
}

const char *eck_dnnl_impl(const eck_dnnl_node *s) {
  const_dnnl_primitive_desc_t pd = NULL;
  const char *name = NULL;
  if (!s->prim || dnnl_primitive_get_primitive_desc((const_dnnl_primitive_t)s->prim, &pd) != dnnl_success ||
      dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, (void *)&name) != dnnl_success || !name)
    return "";
  return name;
}

void eck_dnnl_delete(eck_dnnl_node *s) {
  void **mems[] = {&s->src, &s->src1, &s->dst, &s->weights, &s->bias, &s->scratch};
  for (size_t i = 0; i < sizeof mems / sizeof mems[0]; i++)
    if (*mems[i]) dnnl_memory_destroy((dnnl_memory_t)*mems[i]);
  if (s->prim) dnnl_primitive_destroy((dnnl_primitive_t)s->prim);
  memset(s, 0, sizeof *s);
}

/* Channels folded per pass: on the stack (no malloc in kernels). */
#define BN_CHANNELS 512

void eck_dnnl_batchnorm_nhwc(const float *x, float *y, const float *scale, const float *bias, const float *mean,
                             const float *var, float eps, size_t pixels, size_t c, size_t x_stride,
                             size_t y_stride, float lo, float hi, int threads) {
  float fa[BN_CHANNELS], fb[BN_CHANNELS];
  for (size_t c0 = 0; c0 < c; c0 += BN_CHANNELS) {
    size_t nc = c - c0 < BN_CHANNELS ? c - c0 : BN_CHANNELS;
    eck_batchnorm_fold(scale, bias, mean, var, eps, c0, nc, fa, fb);
    /* One contiguous run of pixels per thread (the caller's alone below the threshold). */
    int team = threads > 1 && pixels * nc >= ECK_DNNL_BN_SERIAL ? threads : 1;
    (void)team; /* a build without OpenMP (no -fopenmp) runs it all on the caller */
#ifdef _OPENMP
#pragma omp parallel num_threads(team) if (team > 1)
#endif
    {
#ifdef _OPENMP
      size_t t = (size_t)omp_get_thread_num(), nt = (size_t)omp_get_num_threads();
#else
      size_t t = 0, nt = 1;
#endif
      size_t p0 = pixels * t / nt, p1 = pixels * (t + 1) / nt;
      eck_batchnorm_rows(x + p0 * x_stride + c0, y + p0 * y_stride + c0, fa, fb, p1 - p0, nc, x_stride, y_stride,
                         lo, hi);
    }
  }
}
