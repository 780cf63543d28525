/* emit_onednn.c — the oneDNN parts of a partition's C (--kernels onednn, steps of kind EC_K_DNNL):
 * the params initializer of each primitive, the context's fields, and the lines of init, release
 * and the driver that start, create, delete and stop them. emit.c writes the steps themselves (as
 * it writes XNNPACK's) and calls these where its text needs them; everything here is a pure
 * function of its arguments. Generated code reads kernels/onednn/eck_dnnl.h. */
#include <math.h>
#include <stdio.h>

#include "emit_onednn.h"

void ec_emit_float(ec_buf *b, float v, const char *inf) {
  if (isinf(v)) ec_buf_printf(b, "%s%s", v < 0 ? "-" : "", inf);
  else ec_buf_printf(b, "%a", (double)v);
}

void ec_emit_sizes(ec_buf *b, const size_t *v, int n) {
  ec_buf_printf(b, "{");
  for (int i = 0; i < n; i++) ec_buf_printf(b, "%s%zu", i ? ", " : "", v[i]);
  ec_buf_printf(b, "}");
}

void ec_emit_shared_fields(ec_buf *b, const ec_shared_fields *p) {
  if (p->pad[0] || p->pad[1] || p->pad[2] || p->pad[3])
    ec_buf_printf(b, ",\n    .pad = {%u, %u, %u, %u}", p->pad[0], p->pad[1], p->pad[2], p->pad[3]);
  if (p->kernel[0])
    ec_buf_printf(b, ",\n    .kernel = {%u, %u}, .stride = {%u, %u}, .dilation = {%u, %u}", p->kernel[0],
                  p->kernel[1], p->stride[0], p->stride[1], p->dilation[0], p->dilation[1]);
  if (p->groups) ec_buf_printf(b, ", .groups = %u", p->groups);
  /* One line per group of sizes, each size only when the kind uses it (non-zero). */
  const struct {
    const char *name;
    size_t v;
    bool line; /* starts a line */
  } sizes[] = {{"channels_in", p->channels_in, true}, {"channels_out", p->channels_out, false},
               {"in_stride", p->in_stride, false},    {"out_stride", p->out_stride, false},
               {"batch", p->batch, true},             {"height", p->height, false},
               {"width", p->width, false},            {"out_height", p->out_height, false},
               {"out_width", p->out_width, false}};
  bool line_open = false;
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    if (sizes[i].line) line_open = false;
    if (!sizes[i].v) continue;
    ec_buf_printf(b, line_open ? ", .%s = %zu" : ",\n    .%s = %zu", sizes[i].name, sizes[i].v);
    line_open = true;
  }
  ec_buf_printf(b, ",\n    .out_min = ");
  ec_emit_float(b, p->out_min, p->inf);
  ec_buf_printf(b, ", .out_max = ");
  ec_emit_float(b, p->out_max, p->inf);
  if (p->rank_a) {
    ec_buf_printf(b, ",\n    .rank_a = %d, .shape_a = ", p->rank_a);
    ec_emit_sizes(b, p->shape_a, p->rank_a);
  }
  if (p->rank_b) {
    ec_buf_printf(b, ", .rank_b = %d, .shape_b = ", p->rank_b);
    ec_emit_sizes(b, p->shape_b, p->rank_b);
  }
}

/* The C name of a primitive kind (an EC_DNNL row of fast_kernels.def). */
static const char *dnnl_kind_name(int k) {
  static const char *const names[] = {
      [0] = "0",
#define EC_DNNL(KIND, XNN, flags) [ECK_DNNL_##KIND] = "ECK_DNNL_" #KIND,
#include "fast_kernels.def"
  };
  return k > 0 && k < (int)(sizeof names / sizeof names[0]) ? names[k] : "0";
}

/* The flags by name, so a reviewer reads what the primitive does. */
static void put_dnnl_flags(ec_buf *b, uint32_t f) {
  static const struct {
    uint32_t bit;
    const char *name;
  } names[] = {{ECK_DNNL_SUM, "ECK_DNNL_SUM"},
               {ECK_DNNL_CLAMP_FIRST, "ECK_DNNL_CLAMP_FIRST"},
               {ECK_DNNL_W_IN_OUT, "ECK_DNNL_W_IN_OUT"},
               {ECK_DNNL_AVG_INCLUDE_PAD, "ECK_DNNL_AVG_INCLUDE_PAD"},
               {ECK_DNNL_W_OHWI, "ECK_DNNL_W_OHWI"}};
  bool first = true;
  ec_buf_printf(b, ", .flags = ");
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    if (!(f & names[i].bit)) continue;
    ec_buf_printf(b, "%s%s", first ? "" : " | ", names[i].name);
    f &= ~names[i].bit;
    first = false;
  }
  if (f || first) ec_buf_printf(b, "%s%uu", first ? "" : " | ", f);
}

void ec_emit_w_scales(ec_buf *b, const char *fname, const float *w_scales, size_t cnt, const char *inf) {
  ec_buf_printf(b, "static const float %s_w_scales[%zu] = {", fname, cnt);
  for (size_t i = 0; i < cnt; i++) {
    ec_buf_printf(b, i % 4 ? ", " : i ? ",\n    " : "\n    ");
    ec_emit_float(b, w_scales[i], inf);
  }
  ec_buf_printf(b, "};\n");
}

void ec_emit_dnnl_params(ec_buf *b, const eck_dnnl_params *p, const char *fname) {
  ec_buf_printf(b, "{\n    .kind = %s", dnnl_kind_name(p->kind));
  if (p->flags) put_dnnl_flags(b, p->flags);
  ec_shared_fields f = EC_SHARED_FIELDS(p, "ECK_DNNL_INF");
  ec_emit_shared_fields(b, &f);
  if (p->kind == ECK_DNNL_QCONV || p->kind == ECK_DNNL_QFC) {
    ec_buf_printf(b, ",\n    .q_unsigned = %d, .in_scale = ", (int)p->q_unsigned);
    ec_emit_float(b, p->in_scale, "ECK_DNNL_INF");
    ec_buf_printf(b, ", .in_zp = %d", (int)p->in_zp);
    if (p->w_scales) {
      ec_buf_printf(b, ", .w_scales = %s_w_scales", fname);
    } else {
      ec_buf_printf(b, ", .w_scale = ");
      ec_emit_float(b, p->w_scale, "ECK_DNNL_INF");
    }
    ec_buf_printf(b, ", .out_scale = ");
    ec_emit_float(b, p->out_scale, "ECK_DNNL_INF");
    ec_buf_printf(b, ", .out_zp = %d", (int)p->out_zp);
  }
  ec_buf_printf(b, "}");
}

void ec_emit_dnnl_header(ec_buf *b, const char *PROG, int n_dnnl) {
  ec_buf_printf(b, "/* Steps on oneDNN primitives (OpenMP threads: init's count). */\n#define %s_N_DNNL %d\n",
                PROG, n_dnnl);
}

void ec_emit_dnnl_team_fn(ec_buf *b, const char *prog, const char *PROG) {
  ec_buf_printf(b, "/* Primitive d's OpenMP team on the threads init was given: all of them when the clusters run\n"
                " * in order on the caller (fewer threads than clusters), else its planned team scaled to them\n"
                " * (at least one): teams running at the same time never hold more threads than that. Init\n"
                " * creates the primitive with it and its step sets it again before each run. */\n"
                "static int dnnl_team(const %s *ctx, int d) {\n  int t = ctx->base.threads;\n"
                "  if (t < %s_N_CLUSTERS) return t;\n  t = dnnl_teams[d] * t / %s_THREADS;\n"
                "  return t > 1 ? t : 1;\n}\n", prog, PROG, PROG);
}

void ec_emit_dnnl_fields(ec_buf *b, const char *PROG) {
  ec_buf_printf(b, "  eck_dnnl_ctx dnnl;                /* oneDNN's engine and stream */\n"
                "  int dnnl_started;                /* made by init: release stops them */\n"
                "  eck_dnnl_node dn[%s_N_DNNL];     /* primitives, created at init (weights reordered) */\n",
                PROG);
}

void ec_emit_dnnl_start(ec_buf *b, const char *clusters_PROG, bool one_thread) {
  if (one_thread) /* XNNPACK runs most steps and has the threads (emit.c): one thread budget */
    ec_buf_printf(b, "  if (eck_dnnl_start(&ctx->dnnl, 1, &derr) != ECK_OK)\n");
  else if (clusters_PROG)
    ec_buf_printf(b, "  if (eck_dnnl_start(&ctx->dnnl, ctx->base.threads >= %s_N_CLUSTERS ? 1 : ctx->base.threads, &derr)"
                  " != ECK_OK)\n", clusters_PROG);
  else
    ec_buf_printf(b, "  if (eck_dnnl_start(&ctx->dnnl, ctx->base.threads, &derr) != ECK_OK)\n");
  ec_buf_printf(b, "    return init_failed_dnnl(ctx, -1, &derr);\n  ctx->dnnl_started = 1;\n");
}

void ec_emit_dnnl_release(ec_buf *b, const char *PROG) {
  ec_buf_printf(b, "  for (i = 0; i < %s_N_DNNL; i++) eck_dnnl_delete(&ctx->dn[i]);\n"
                "  if (ctx->dnnl_started) eck_dnnl_stop(&ctx->dnnl);\n  ctx->dnnl_started = 0;\n", PROG);
}

void ec_emit_dnnl_failed(ec_buf *b, const char *prog) {
  ec_buf_printf(b, "/* Init failed in the oneDNN call err names, at step (-1: the engine). */\n"
                "static ecrt_status init_failed_dnnl(%s *ctx, int step, const eck_dnnl_error *err) {\n"
                "  ctx->base.failed_step = step;\n  ctx->base.failed_call = err->call;\n"
                "  ctx->base.failed_status = err->status;\n  %s_release(ctx);\n"
                "  return ECRT_ERR_LIBRARY;\n}\n\n", prog, prog);
}

void ec_emit_dnnl_main(ec_buf *b, bool clustered) {
  if (clustered)
    ec_buf_printf(b, "  /* libgomp reads its wait policy before main: re-executes once with OMP_WAIT_POLICY=passive\n"
                  "   * unless set (clusters run oneDNN on threads of their own, where spinning workers cost). */\n"
                  "  eck_dnnl_passive_wait(argv);\n");
  else
    ec_buf_printf(b, "  /* libgomp reads its spin count before main: re-executes once with a short GOMP_SPINCOUNT\n"
                  "   * unless set, so oneDNN's threads sleep soon after a run ends. */\n"
                  "  eck_dnnl_short_spin(argv);\n");
}
