/* eck_blas.h — MatMul of two activations behind the reference kernel signature (a
 * weight operand goes to XNNPACK's fully-connected instead, which packs it once). C99. */
#ifndef ECK_BLAS_H
#define ECK_BLAS_H

#include "eck_tensor.h"

/* float32 MatMul with numpy batch broadcasting: small products on the kernel in eck_blas.c
 * (x86-64), others on OpenBLAS held to one thread (its workers spin after a call and would steal
 * the cores XNNPACK's pool uses). */
int eck_blas_matmul(const void *params, const eck_tensor *in, int n_in, eck_tensor *out, int n_out,
                    void *scratch);

/* StridedMatMul (eck_ref_nn.h: operands read and the result written through permutations) of
 * float32: per batch, small products on the same kernels, others on OpenBLAS; a matrix that is
 * neither row-major with a leading dimension (nor, for OpenBLAS, transposed) is packed into
 * scratch first, a result that is not row-major written to scratch and scattered. scratch holds
 * ECK_BLAS_SMM_SCRATCH(M, N, K) floats. */
#define ECK_BLAS_SMM_SCRATCH(M, N, K) ((M) * (K) + (K) * (N) + (M) * (N))
int eck_blas_strided_matmul(const void *params, const eck_tensor *in, int n_in, eck_tensor *out, int n_out,
                            void *scratch);

/* Tests: caps the small-product kernel at `widest` (0 OpenBLAS only, 1 AVX2+FMA, 2 AVX-512) so
 * each path can be checked on a CPU that has a wider one; returns the kernel then in use. */
int eck_blas_limit_kernel(int widest);

#endif
