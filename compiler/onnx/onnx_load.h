/* onnx_load.h — the frontend: ONNX files (protobuf-c over Debian's onnx.proto) into the IR,
 * and TensorProto .pb files in and out. */
#ifndef EC_ONNX_LOAD_H
#define EC_ONNX_LOAD_H

#include <protobuf-c/protobuf-c.h>

#include "ir.h"
#include "onnx.pb-c.h"

#define EC_OPSET_MIN 1
#define EC_OPSET_MAX 17

typedef struct ec_dim_pin {
  const char *name;
  int64_t value;
} ec_dim_pin;

/* --input-shape NAME=D0xD1x...: every dim of one graph input. */
typedef struct ec_input_shape {
  const char *name;
  int rank;
  int64_t dims[EC_MAX_RANK];
} ec_input_shape;

typedef struct ec_freeze {
  const char *name; /* graph input */
  const char *path; /* TensorProto .pb file */
} ec_freeze;

typedef struct ec_load_opts {
  const ec_dim_pin *dims; /* --dim NAME=N */
  int n_dims;
  const ec_freeze *freezes; /* --freeze-input NAME=FILE.pb */
  int n_freezes;
  bool no_infer;            /* stop after building the graph (no shape inference) */
  const ec_input_shape *shapes; /* --input-shape NAME=D0xD1... (names unique) */
  int n_shapes;
  /* Leave dynamic dims without a value at 1 and record them (EC_PIN_NONE) instead of failing:
   * for `edgecc inspect`, which then reports them; needs no_infer. */
  bool allow_unpinned;
  const ec_extent_bound *extents; /* --max-extent TENSOR=N (kept by the graph: extent_bounds) */
  int n_extents;
  const ec_trip_bound *trips; /* --max-trip-count LOOP=N (kept by the graph: trip_bounds) */
  int n_trips;
} ec_load_opts;

/* Loads the model at `path` into a new graph, with shape inference and constant folding.
 * On failure returns EC_ERR_MODEL (or EC_ERR_INTERNAL) with `d` filled; *out is NULL. */
ec_status ec_onnx_load(const char *path, const ec_load_opts *opts, ec_graph **out, ec_diag *d);

/* Same from a buffer (not kept). `display` names it in messages; external data is resolved
 * against `dir` and refused when dir is NULL. */
ec_status ec_onnx_load_buffer(const uint8_t *buf, size_t len, const char *display,
                              const char *dir, const ec_load_opts *opts, ec_graph **out,
                              ec_diag *d);

/* Compares the types the file declares (graph outputs, value_info) with the inferred ones.
 * ec_onnx_load does it; a caller that loads with no_infer and infers itself calls it after. */
ec_status ec_onnx_check_declared(ec_graph *g, ec_diag *d);

/* Walks the wire format iteratively; rejects deep nesting and lengths past the buffer. */
ec_status ec_onnx_prescan(const uint8_t *buf, size_t len, const ProtobufCMessageDescriptor *root,
                          char *err, size_t errlen);

/* The flag that pins every dynamic dim of the graph inputs, from g->dyn_dims:
 * `--input-shape a=1x576,b=1xN` (N where a dim is not pinned). Appends nothing when the model
 * has no dynamic dims. */
void ec_onnx_pin_flag(const ec_graph *g, ec_buf *b);
/* An input's shape as the model declares it: `[?,seq,8]`. */
void ec_onnx_declared_shape(const ec_graph *g, int tensor, ec_buf *b);

/* Reads a TensorProto file; out->data is malloc'd. `name` (may be NULL) receives a malloc'd
 * copy of the tensor's name. */
ec_status ec_onnx_read_tensor(const char *path, ec_const *out, char **name, ec_diag *d);
/* Same from bytes in memory (used by the fuzz target). */
ec_status ec_onnx_parse_tensor(const uint8_t *buf, size_t len, const char *display,
                               ec_const *out, char **name, ec_diag *d);
/* Writes a TensorProto file (raw_data, little-endian). */
ec_status ec_onnx_write_tensor(const char *path, const char *name, int32_t dtype, int rank,
                               const int64_t *dims, const void *data, size_t nbytes, ec_diag *d);

/* Reads a whole file into a malloc'd buffer. */
ec_status ec_read_file(const char *path, uint8_t **buf, size_t *len, ec_diag *d);

#endif
