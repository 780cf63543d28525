/* emit_onednn.h — emit.c's helpers for oneDNN steps (emit_onednn.c): the text of the params
 * initializer, the context fields and the init/release/driver lines of a partition with
 * EC_K_DNNL steps. Internal to compiler/codegen. */
#ifndef EC_EMIT_ONEDNN_H
#define EC_EMIT_ONEDNN_H

#include "lower.h"

/* The fields eck_xnn_params and eck_dnnl_params share (same names, same meaning: eck_dnnl.h),
 * printed alike for both; EC_SHARED_FIELDS(p, "ECK_XNN_INF") takes them from either struct. */
typedef struct ec_shared_fields {
  const uint32_t *pad, *kernel, *stride, *dilation;
  uint32_t groups;
  size_t channels_in, channels_out, in_stride, out_stride, batch, height, width, out_height, out_width;
  float out_min, out_max;
  int32_t rank_a, rank_b;
  const size_t *shape_a, *shape_b;
  const char *inf; /* the header's name of an open clamp bound */
} ec_shared_fields;
#define EC_SHARED_FIELDS(p, inf_name)                                                                 \
  ((ec_shared_fields){(p)->pad, (p)->kernel, (p)->stride, (p)->dilation, (p)->groups, (p)->channels_in, \
                      (p)->channels_out, (p)->in_stride, (p)->out_stride, (p)->batch, (p)->height,        \
                      (p)->width, (p)->out_height, (p)->out_width, (p)->out_min, (p)->out_max,            \
                      (p)->rank_a, (p)->rank_b, (p)->shape_a, (p)->shape_b, (inf_name)})
/* The shared fields of a params initializer, from `.pad` (when non-zero) to `.shape_b`: only the
 * non-zero ones, the clamp always. */
void ec_emit_shared_fields(ec_buf *b, const ec_shared_fields *f);
/* A float for generated C: exact (hex), or the infinities of an open clamp (named inf). */
void ec_emit_float(ec_buf *b, float v, const char *inf);
/* `{a, b, ...}` of n sizes. */
void ec_emit_sizes(ec_buf *b, const size_t *v, int n);

/* `static const float <fname>_w_scales[cnt] = {...};`: per-channel weight scales an XNNPACK or
 * oneDNN step's params point at (inf: the header's name of infinity, never printed for a scale). */
void ec_emit_w_scales(ec_buf *b, const char *fname, const float *w_scales, size_t cnt, const char *inf);
/* The eck_dnnl_params initializer: only the fields the kind uses are non-zero; per-channel scales
 * by name, <fname>_w_scales (ec_emit_w_scales). */
void ec_emit_dnnl_params(ec_buf *b, const eck_dnnl_params *p, const char *fname);
/* <PROG>_N_DNNL in the partition header. */
void ec_emit_dnnl_header(ec_buf *b, const char *PROG, int n_dnnl);
/* dnnl_team(ctx, d) of a clustered partition: a primitive's OpenMP team on the threads init was
 * given, from the table dnnl_teams[] (the plan's teams, ec_node.team) emitted before it. */
void ec_emit_dnnl_team_fn(ec_buf *b, const char *prog, const char *PROG);
/* The context struct's fields: engine and stream, one eck_dnnl_node per step. */
void ec_emit_dnnl_fields(ec_buf *b, const char *PROG);
/* Init's lines that make the engine and stream (threads: ctx->base.threads; with clusters, PROG
 * non-NULL, one when the clusters get a thread each, as XNNPACK's pool does; one_thread: one,
 * where XNNPACK's pool has the program's threads); declares nothing, uses `eck_dnnl_error derr`
 * and init_failed_dnnl. */
void ec_emit_dnnl_start(ec_buf *b, const char *clusters_PROG, bool one_thread);
/* Release's lines (inside a function with `int i`): every primitive deleted, engine stopped. */
void ec_emit_dnnl_release(ec_buf *b, const char *PROG);
/* The init_failed_dnnl helper (after <prog>_release). */
void ec_emit_dnnl_failed(ec_buf *b, const char *prog);
/* The driver's first line in main: OpenMP's short spin count (eck_dnnl_short_spin), or the
 * passive policy when the partition's clusters run on threads of their own. */
void ec_emit_dnnl_main(ec_buf *b, bool clustered);

#endif
