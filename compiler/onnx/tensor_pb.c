/* tensor_pb.c — ONNX TensorProto to dense little-endian bytes and back: every typed field,
 * raw_data, and external data (with its location checked), plus .pb tensor files. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "onnx_load.h"
#include "tensor_pb.h"

ec_status ec_read_file(const char *path, uint8_t **buf, size_t *len, ec_diag *d) {
  *buf = NULL;
  *len = 0;
  FILE *f = fopen(path, "rb");
  if (!f) {
    ec_diag_set(d, path, "", "cannot open: %s", strerror(errno));
    return EC_ERR_MODEL;
  }
  struct stat st;
  if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
    fclose(f);
    ec_diag_set(d, path, "", "not a regular file");
    return EC_ERR_MODEL;
  }
  size_t n = (size_t)st.st_size;
  uint8_t *b = malloc(n ? n : 1);
  if (!b) {
    fclose(f);
    ec_diag_set(d, path, "", "out of memory reading %zu bytes", n);
    return EC_ERR_INTERNAL;
  }
  if (n && fread(b, 1, n, f) != n) {
    free(b);
    fclose(f);
    ec_diag_set(d, path, "", "cannot read the file");
    return EC_ERR_MODEL;
  }
  fclose(f);
  *buf = b;
  *len = n;
  return EC_OK;
}

/* Reads external data into a malloc'd buffer, refusing locations outside the model's folder. */
static ec_status read_external(const Onnx__TensorProto *tp, const char *dir, size_t want,
                               void **data, char *err, size_t errlen) {
  const char *loc = NULL;
  int64_t offset = 0, length = -1;
  for (size_t i = 0; i < tp->n_external_data; i++) {
    const Onnx__StringStringEntryProto *e = tp->external_data[i];
    if (!e->key || !e->value) continue;
    char *end;
    if (strcmp(e->key, "location") == 0) {
      loc = e->value;
    } else if (strcmp(e->key, "offset") == 0) {
      errno = 0;
      offset = strtoll(e->value, &end, 10);
      if (errno || *end || offset < 0) {
        snprintf(err, errlen, "external data offset '%s' is not a valid number", e->value);
        return EC_ERR_MODEL;
      }
    } else if (strcmp(e->key, "length") == 0) {
      errno = 0;
      length = strtoll(e->value, &end, 10);
      if (errno || *end || length < 0) {
        snprintf(err, errlen, "external data length '%s' is not a valid number", e->value);
        return EC_ERR_MODEL;
      }
    }
  }
  if (!loc || !loc[0]) {
    snprintf(err, errlen, "external data without a location");
    return EC_ERR_MODEL;
  }
  if (loc[0] == '/' || loc[0] == '\\') {
    snprintf(err, errlen, "external data location '%s' is absolute; it must be relative to the model's folder", loc);
    return EC_ERR_MODEL;
  }
  if (strstr(loc, "..")) {
    snprintf(err, errlen, "external data location '%s' contains '..'; it must stay inside the model's folder", loc);
    return EC_ERR_MODEL;
  }
  if (!dir) {
    snprintf(err, errlen, "external data '%s' cannot be resolved for a model read from memory", loc);
    return EC_ERR_MODEL;
  }
  char path[4096];
  if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, loc) >= sizeof path) {
    snprintf(err, errlen, "external data location '%s' is too long", loc);
    return EC_ERR_MODEL;
  }
  FILE *f = fopen(path, "rb");
  if (!f) {
    snprintf(err, errlen, "cannot open external data file '%s': %s", loc, strerror(errno));
    return EC_ERR_MODEL;
  }
  struct stat st;
  if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
    fclose(f);
    snprintf(err, errlen, "external data '%s' is not a regular file", loc);
    return EC_ERR_MODEL;
  }
  int64_t size = (int64_t)st.st_size;
  if (offset > size || (length >= 0 && length > size - offset)) {
    fclose(f);
    snprintf(err, errlen,
             "external data '%s': offset %lld and length %lld run past the end of the file (%lld bytes)",
             loc, (long long)offset, (long long)length, (long long)size);
    return EC_ERR_MODEL;
  }
  if (length < 0) length = size - offset;
  if ((uint64_t)length != want) {
    fclose(f);
    snprintf(err, errlen, "external data '%s' holds %lld bytes, the tensor needs %zu", loc,
             (long long)length, want);
    return EC_ERR_MODEL;
  }
  void *p = malloc(want ? want : 1);
  if (!p || fseeko(f, offset, SEEK_SET) != 0 || (want && fread(p, 1, want, f) != want)) {
    free(p);
    fclose(f);
    snprintf(err, errlen, "cannot read external data '%s'", loc);
    return EC_ERR_MODEL;
  }
  fclose(f);
  *data = p;
  return EC_OK;
}

ec_status ec_tensor_from_pb(const Onnx__TensorProto *tp, const char *dir, ec_const *out,
                            bool *borrowed, char *err, size_t errlen) {
  memset(out, 0, sizeof *out);
  *borrowed = false;
  int32_t dt = tp->has_data_type ? tp->data_type : 0;
  if (!ec_dtype_valid(dt)) {
    snprintf(err, errlen, "tensor has invalid dtype %d", dt);
    return EC_ERR_MODEL;
  }
  if (dt == ECK_STRING || dt == ECK_COMPLEX64 || dt == ECK_COMPLEX128) {
    snprintf(err, errlen, "%s tensors are not supported", ec_dtype_name(dt));
    return EC_ERR_MODEL;
  }
  if (tp->n_dims > EC_MAX_RANK) {
    snprintf(err, errlen, "tensor has rank %zu (edgecc supports up to %d)", tp->n_dims, EC_MAX_RANK);
    return EC_ERR_MODEL;
  }
  if (tp->segment) {
    snprintf(err, errlen, "segmented tensors are not supported");
    return EC_ERR_MODEL;
  }
  size_t esize = ec_dtype_size(dt);
  int64_t numel = 1;
  for (size_t i = 0; i < tp->n_dims; i++) {
    if (tp->dims[i] < 0) {
      snprintf(err, errlen, "tensor has a negative dimension (%lld)", (long long)tp->dims[i]);
      return EC_ERR_MODEL;
    }
    if (!ec_mul_overflow_i64(numel, tp->dims[i], &numel) || numel > ((int64_t)1 << 40)) {
      snprintf(err, errlen, "tensor dimensions overflow");
      return EC_ERR_MODEL;
    }
    out->dims[i] = tp->dims[i];
  }
  out->dtype = dt;
  out->rank = (int)tp->n_dims;
  size_t want = (size_t)numel * esize;
  out->nbytes = want;

  if (tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
    return read_external(tp, dir, want, &out->data, err, errlen);

  if (tp->has_raw_data) {
    if (tp->raw_data.len != want) {
      snprintf(err, errlen, "tensor raw_data holds %zu bytes, its shape needs %zu",
               tp->raw_data.len, want);
      return EC_ERR_MODEL;
    }
    out->data = tp->raw_data.data;
    *borrowed = true;
    return EC_OK;
  }

  size_t have;
  switch (dt) {
    case ECK_FLOAT: have = tp->n_float_data; break;
    case ECK_INT64: have = tp->n_int64_data; break;
    case ECK_DOUBLE: have = tp->n_double_data; break;
    case ECK_UINT32: case ECK_UINT64: have = tp->n_uint64_data; break;
    default: have = tp->n_int32_data; break;
  }
  if (have != (size_t)numel) {
    snprintf(err, errlen, "tensor holds %zu values, its shape needs %lld", have, (long long)numel);
    return EC_ERR_MODEL;
  }
  uint8_t *p = malloc(want ? want : 1);
  if (!p) {
    snprintf(err, errlen, "out of memory");
    return EC_ERR_INTERNAL;
  }
  for (int64_t i = 0; i < numel; i++) {
    uint8_t *q = p + (size_t)i * esize;
    switch (dt) {
      case ECK_FLOAT: memcpy(q, &tp->float_data[i], 4); break;
      case ECK_INT64: memcpy(q, &tp->int64_data[i], 8); break;
      case ECK_DOUBLE: memcpy(q, &tp->double_data[i], 8); break;
      case ECK_UINT64: memcpy(q, &tp->uint64_data[i], 8); break;
      case ECK_UINT32: {
        uint32_t v = (uint32_t)tp->uint64_data[i];
        memcpy(q, &v, 4);
        break;
      }
      case ECK_INT32: memcpy(q, &tp->int32_data[i], 4); break;
      case ECK_INT16: case ECK_UINT16: case ECK_FLOAT16: case ECK_BFLOAT16: {
        uint16_t v = (uint16_t)tp->int32_data[i];
        memcpy(q, &v, 2);
        break;
      }
      case ECK_BOOL: *q = tp->int32_data[i] != 0; break;
      default: *q = (uint8_t)tp->int32_data[i]; break; /* int8, uint8 */
    }
  }
  out->data = p;
  return EC_OK;
}

ec_status ec_onnx_parse_tensor(const uint8_t *buf, size_t len, const char *display,
                               ec_const *out, char **name, ec_diag *d) {
  char err[512];
  memset(out, 0, sizeof *out);
  if (name) *name = NULL;
  if (ec_onnx_prescan(buf, len, &onnx__tensor_proto__descriptor, err, sizeof err)) {
    ec_diag_set(d, display, "", "not a valid TensorProto file: %s", err);
    return EC_ERR_MODEL;
  }
  Onnx__TensorProto *tp = onnx__tensor_proto__unpack(NULL, len, buf);
  if (!tp) {
    ec_diag_set(d, display, "", "not a valid TensorProto file (protobuf parse error)");
    return EC_ERR_MODEL;
  }
  bool borrowed;
  ec_status st = ec_tensor_from_pb(tp, NULL, out, &borrowed, err, sizeof err);
  if (st == EC_OK && borrowed) {
    void *p = malloc(out->nbytes ? out->nbytes : 1);
    if (p && out->nbytes) memcpy(p, out->data, out->nbytes);
    out->data = p;
    if (!p) st = EC_ERR_INTERNAL, snprintf(err, sizeof err, "out of memory");
  }
  if (st == EC_OK && name) *name = ec_strdup(tp->name ? tp->name : "");
  onnx__tensor_proto__free_unpacked(tp, NULL);
  if (st) ec_diag_set(d, display, "", "%s", err);
  return st;
}

ec_status ec_onnx_read_tensor(const char *path, ec_const *out, char **name, ec_diag *d) {
  uint8_t *buf;
  size_t len;
  ec_status st = ec_read_file(path, &buf, &len, d);
  if (st) return st;
  st = ec_onnx_parse_tensor(buf, len, path, out, name, d);
  free(buf);
  return st;
}

ec_status ec_onnx_write_tensor(const char *path, const char *name, int32_t dtype, int rank,
                               const int64_t *dims, const void *data, size_t nbytes,
                               ec_diag *d) {
  Onnx__TensorProto tp = ONNX__TENSOR_PROTO__INIT;
  tp.n_dims = (size_t)rank;
  tp.dims = (int64_t *)dims;
  tp.has_data_type = 1;
  tp.data_type = dtype;
  tp.name = (char *)(name ? name : "");
  tp.has_raw_data = 1;
  tp.raw_data.len = nbytes;
  tp.raw_data.data = (uint8_t *)data;
  size_t n = onnx__tensor_proto__get_packed_size(&tp);
  uint8_t *buf = malloc(n ? n : 1);
  if (!buf) {
    ec_diag_set(d, path, "", "out of memory");
    return EC_ERR_INTERNAL;
  }
  onnx__tensor_proto__pack(&tp, buf);
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(buf, 1, n, f) != n || fclose(f) != 0) {
    ec_diag_set(d, path, "", "cannot write: %s", strerror(errno));
    free(buf);
    return EC_ERR_MODEL;
  }
  free(buf);
  return EC_OK;
}
