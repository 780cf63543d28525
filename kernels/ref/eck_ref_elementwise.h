/* eck_ref_elementwise.h — reference kernels of the element-wise family. */
#ifndef ECK_REF_ELEMENTWISE_H
#define ECK_REF_ELEMENTWISE_H
#include "eck_tensor.h"

/* Which function an element-wise kernel applies. */
typedef enum eck_unary_fn { ECK_UNARY_RELU = 0 } eck_unary_fn;
typedef struct eck_unary_params {
  int32_t fn;      /* eck_unary_fn */
  float alpha, beta;
} eck_unary_params;

typedef enum eck_binary_fn { ECK_BINARY_ADD = 0 } eck_binary_fn;
typedef struct eck_binary_params {
  int32_t fn;      /* eck_binary_fn */
} eck_binary_params;

int eck_ref_identity(const void *p, const eck_tensor *in, int n_in, eck_tensor *out, int n_out, void *scratch);
int eck_ref_unary(const void *p, const eck_tensor *in, int n_in, eck_tensor *out, int n_out, void *scratch);
int eck_ref_binary(const void *p, const eck_tensor *in, int n_in, eck_tensor *out, int n_out, void *scratch);

#endif
