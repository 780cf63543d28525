/* emit_onednn.h — emit.c's helpers for oneDNN steps (emit_onednn.c): the text of the params
 * initializer, the context fields and the init/release/driver lines of a partition with
 * EC_K_DNNL steps. Internal to compiler/codegen. */
#ifndef EC_EMIT_ONEDNN_H
#define EC_EMIT_ONEDNN_H

#include "lower.h"

/* The eck_dnnl_params initializer: only the fields the kind uses are non-zero. */
void ec_emit_dnnl_params(ec_buf *b, const eck_dnnl_params *p);
/* <PROG>_N_DNNL in the partition header. */
void ec_emit_dnnl_header(ec_buf *b, const char *PROG, int n_dnnl);
/* The context struct's fields: engine and stream, one eck_dnnl_node per step. */
void ec_emit_dnnl_fields(ec_buf *b, const char *PROG);
/* Init's lines that make the engine and stream (threads: ctx->base.threads); declares nothing,
 * uses `eck_dnnl_error derr` and init_failed_dnnl. */
void ec_emit_dnnl_start(ec_buf *b);
/* Release's lines (inside a function with `int i`): every primitive deleted, engine stopped. */
void ec_emit_dnnl_release(ec_buf *b, const char *PROG);
/* The init_failed_dnnl helper (after <prog>_release). */
void ec_emit_dnnl_failed(ec_buf *b, const char *prog);
/* The driver's first line in main: OpenMP's passive wait policy. */
void ec_emit_dnnl_main(ec_buf *b);

#endif
