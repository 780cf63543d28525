/* eck_blas.h — OpenBLAS behind the reference kernel signature: MatMul of two activations (a
 * weight operand goes to XNNPACK's fully-connected instead, which packs it once). C99. */
#ifndef ECK_BLAS_H
#define ECK_BLAS_H

#include "eck_tensor.h"

/* float32 MatMul with numpy batch broadcasting; OpenBLAS held to one thread (its workers spin
 * after a call and would steal the cores XNNPACK's pool uses). */
int eck_blas_matmul(const void *params, const eck_tensor *in, int n_in, eck_tensor *out, int n_out,
                    void *scratch);

#endif
