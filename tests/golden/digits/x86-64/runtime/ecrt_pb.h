/* ecrt_pb.h — ONNX TensorProto files without a protobuf library: a strict reader of the wire
 * format (every length checked against the buffer; it is fuzzed) and a writer. No allocation:
 * parse describes the tensor, decode copies its elements into a buffer the caller provides. */
#ifndef ECRT_PB_H
#define ECRT_PB_H

#include <stddef.h>
#include <stdint.h>

#include "ecrt.h"

typedef struct ecrt_pb_tensor {
  int32_t dtype;                 /* ECK_* (0 when the file has no data_type) */
  int32_t rank;
  int64_t dims[ECRT_MAX_RANK];
  uint64_t numel;
  const char *name;              /* points into the buffer; not NUL-terminated */
  size_t name_len;
  /* For decode: the message and which field carries the elements (0: none, 4 float_data,
   * 5 int32_data, 7 int64_data, 9 raw_data, 10 double_data, 11 uint64_data). */
  const unsigned char *buf;
  size_t len;
  int data_field;
} ecrt_pb_tensor;

/* Parses a serialized TensorProto. Checks: well-formed wire format, rank <= ECRT_MAX_RANK,
 * dims >= 0 without overflow, a supported dtype, a single data field that matches the dtype and
 * holds exactly numel elements, no external data, no strings. *err (may be NULL) gets a static
 * description of the first problem. */
ecrt_status ecrt_pb_parse(const void *buf, size_t len, ecrt_pb_tensor *t, const char **err);

/* Copies the elements, little-endian, into dst (numel * dtype size bytes). */
ecrt_status ecrt_pb_decode(const ecrt_pb_tensor *t, void *dst, size_t dst_bytes);

/* Bytes ecrt_pb_encode writes for this tensor. */
size_t ecrt_pb_encoded_size(const char *name, int32_t rank, const int64_t *dims, size_t nbytes);
/* Serializes a TensorProto (dims, data_type, name, raw_data) into dst. */
ecrt_status ecrt_pb_encode(void *dst, size_t cap, size_t *written, const char *name,
                           int32_t dtype, int32_t rank, const int64_t *dims, const void *data,
                           size_t nbytes);

#endif
