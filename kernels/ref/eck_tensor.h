/* eck_tensor.h — the tensor view every reference kernel takes, and the kernel signature.
 * Shared by the generated code (C99, no allocation) and by the compiler, which runs the same
 * kernels in-process to fold constants and to evaluate models (`edgecc eval`). */
#ifndef ECK_TENSOR_H
#define ECK_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#define ECK_MAX_RANK 8

/* One pause of a spin-wait (the thread pool's and the clusters' bounded spins before they block):
 * tells the core this is a busy loop, which saves power and frees a sibling hyperthread. */
static inline void eck_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

/* Element types: the values of ONNX TensorProto.DataType, so files and code agree. */
enum {
  ECK_UNDEFINED = 0,
  ECK_FLOAT = 1,
  ECK_UINT8 = 2,
  ECK_INT8 = 3,
  ECK_UINT16 = 4,
  ECK_INT16 = 5,
  ECK_INT32 = 6,
  ECK_INT64 = 7,
  ECK_STRING = 8,
  ECK_BOOL = 9,
  ECK_FLOAT16 = 10,
  ECK_DOUBLE = 11,
  ECK_UINT32 = 12,
  ECK_UINT64 = 13,
  ECK_COMPLEX64 = 14,
  ECK_COMPLEX128 = 15,
  ECK_BFLOAT16 = 16
};

/* A tensor as a kernel sees it: element type, shape, and where its bytes are.
 * Dense, row-major (C order). A missing optional input has data == NULL and dtype 0. */
typedef struct eck_tensor {
  int32_t dtype;
  int32_t rank;
  int64_t dims[ECK_MAX_RANK];
  void *data;
} eck_tensor;

/* Status codes returned by kernels. */
enum {
  ECK_OK = 0,
  ECK_ERR_INDEX = 1,     /* an index read from a tensor is out of range */
  ECK_ERR_DTYPE = 2,     /* the kernel has no implementation for this dtype */
  ECK_ERR_ARG = 3,       /* inconsistent arguments (should have been caught at compile time) */
  ECK_ERR_UNSUPPORTED = 4,
  ECK_ERR_BOUND = 5      /* a data-dependent extent is larger than the bound compiled in */
};

/* Every reference kernel: `params` points to the op's own parameter struct (declared in
 * eck_ref.h), `scratch` to the number of bytes the compiler reserved for it (may be NULL when
 * it asked for none). Returns ECK_OK or an error code. Never allocates. */
typedef int (*eck_ref_fn)(const void *params, const eck_tensor *in, int n_in, eck_tensor *out,
                          int n_out, void *scratch);

/* Helpers available to every kernel. */
int64_t eck_numel(const eck_tensor *t);
/* Data-dependent shapes: an element-wise kernel's output extent, the numpy broadcast of the
 * extents its inputs have at run time (inputs with dtype 0 are missing and skipped); out->rank
 * stays. ECK_ERR_ARG when they do not broadcast. */
int eck_extent_broadcast(const eck_tensor *in, int n_in, eck_tensor *out);

/* The one table of dtype sizes and names: kernels, the runtime and the compiler all use it.
 * Unknown dtypes have size 0 and name "?". */
static inline size_t eck_dtype_size(int32_t dtype) {
  switch (dtype) {
    case ECK_UINT8: case ECK_INT8: case ECK_BOOL: return 1;
    case ECK_UINT16: case ECK_INT16: case ECK_FLOAT16: case ECK_BFLOAT16: return 2;
    case ECK_FLOAT: case ECK_INT32: case ECK_UINT32: return 4;
    case ECK_INT64: case ECK_UINT64: case ECK_DOUBLE: case ECK_COMPLEX64: return 8;
    case ECK_COMPLEX128: return 16;
    default: return 0;
  }
}

static inline const char *eck_dtype_name(int32_t dtype) {
  switch (dtype) {
    case ECK_UNDEFINED: return "undefined";
    case ECK_FLOAT: return "float32";
    case ECK_UINT8: return "uint8";
    case ECK_INT8: return "int8";
    case ECK_UINT16: return "uint16";
    case ECK_INT16: return "int16";
    case ECK_INT32: return "int32";
    case ECK_INT64: return "int64";
    case ECK_STRING: return "string";
    case ECK_BOOL: return "bool";
    case ECK_FLOAT16: return "float16";
    case ECK_DOUBLE: return "float64";
    case ECK_UINT32: return "uint32";
    case ECK_UINT64: return "uint64";
    case ECK_COMPLEX64: return "complex64";
    case ECK_COMPLEX128: return "complex128";
    case ECK_BFLOAT16: return "bfloat16";
    default: return "?";
  }
}
float eck_f16_to_f32(uint16_t h);
uint16_t eck_f32_to_f16(float f);
float eck_bf16_to_f32(uint16_t h);
uint16_t eck_f32_to_bf16(float f);
/* Element strides of `t` broadcast (numpy rules) to an output of the given rank and dims:
 * 0 along dimensions t does not have or has as 1. */
void eck_broadcast_strides(const eck_tensor *t, int rank, const int64_t *dims, int64_t *strides);
/* Element i of a buffer of any numeric dtype, as a double (exact for all but 64-bit ints
 * beyond 2^53: integer kernels must not go through these), and back (C conversion rules). */
double eck_load_f64(const void *data, int32_t dtype, int64_t i);
void eck_store_f64(void *data, int32_t dtype, int64_t i, double v);
/* Dtype classes (bool counts as unsigned), and exact element access for integer dtypes: 64-bit
 * values never go through double (other dtypes convert through eck_load_f64/eck_store_f64). */
int eck_dtype_is_float(int32_t dt);
int eck_dtype_is_unsigned(int32_t dt);
int64_t eck_load_i64(const void *data, int32_t dtype, int64_t i);
void eck_store_i64(void *data, int32_t dtype, int64_t i, int64_t v);

#endif
