/* eck_xnn_layout.c — the plain-C kernels around XNNPACK: NCHW <-> NHWC at the edges of an NHWC
 * chain, channel concat, slice and shuffle, and the NHWC BatchNormalization XNNPACK lacks. */
#include <math.h>
#include <string.h>

#include "eck_ref_nn.h"
#include "eck_xnn.h"

/* Tiles keep both the rows read and the rows written in L1. */
#define TILE 32

/* [rows, cols] -> [cols, rows] of one element type: floats, and the bytes of int8 data. */
#define ECK_TRANSPOSE_2D(name, T)                                                     \
  static void name(const T *x, T *y, size_t rows, size_t cols) {                      \
    for (size_t r0 = 0; r0 < rows; r0 += TILE) {                                      \
      size_t r1 = r0 + TILE < rows ? r0 + TILE : rows;                                \
      for (size_t c0 = 0; c0 < cols; c0 += TILE) {                                    \
        size_t c1 = c0 + TILE < cols ? c0 + TILE : cols;                              \
        for (size_t r = r0; r < r1; r++)                                              \
          for (size_t c = c0; c < c1; c++) y[c * rows + r] = x[r * cols + c];         \
      }                                                                               \
    }                                                                                 \
  }
ECK_TRANSPOSE_2D(transpose_2d, float)
ECK_TRANSPOSE_2D(transpose_2d_8, uint8_t)

void eck_xnn_to_nhwc(const float *x, float *y, size_t n, size_t c, size_t hw) {
  for (size_t i = 0; i < n; i++) transpose_2d(x + i * c * hw, y + i * c * hw, c, hw);
}

void eck_xnn_to_nchw(const float *x, float *y, size_t n, size_t c, size_t hw) {
  for (size_t i = 0; i < n; i++) transpose_2d(x + i * c * hw, y + i * c * hw, hw, c);
}

void eck_xnn_to_nhwc_8(const uint8_t *x, uint8_t *y, size_t n, size_t c, size_t hw) {
  for (size_t i = 0; i < n; i++) transpose_2d_8(x + i * c * hw, y + i * c * hw, c, hw);
}

void eck_xnn_to_nchw_8(const uint8_t *x, uint8_t *y, size_t n, size_t c, size_t hw) {
  for (size_t i = 0; i < n; i++) transpose_2d_8(x + i * c * hw, y + i * c * hw, hw, c);
}

int eck_xnn_concat_nhwc(const eck_tensor *in, int n_in, eck_tensor *out) {
  size_t pixels, total, off = 0;
  float *y = (float *)out->data;
  if (out->rank != 4 || out->dtype != ECK_FLOAT) return ECK_ERR_ARG;
  pixels = (size_t)(out->dims[0] * out->dims[2] * out->dims[3]);
  total = (size_t)out->dims[1];
  for (int k = 0; k < n_in; k++) {
    size_t c = (size_t)in[k].dims[1];
    const float *x = (const float *)in[k].data;
    for (size_t p = 0; p < pixels; p++) memcpy(y + p * total + off, x + p * c, c * sizeof(float));
    off += c;
  }
  return ECK_OK;
}

void eck_xnn_shuffle_nchw(const float *x, float *y, size_t n, size_t groups, size_t group_c,
                          size_t hw) {
  for (size_t i = 0; i < n; i++)
    for (size_t g = 0; g < groups; g++)
      for (size_t k = 0; k < group_c; k++)
        memcpy(y + ((i * group_c + k) * groups + g) * hw, x + ((i * groups + g) * group_c + k) * hw,
               hw * sizeof(float));
}

/* Channels per block of folded scale/shift: kept on the stack (no malloc in kernels). */
#define BN_BLOCK 256

void eck_xnn_batchnorm_nhwc(const float *x, float *y, const float *scale, const float *bias,
                            const float *mean, const float *var, float eps, size_t pixels,
                            size_t c, size_t x_stride, size_t y_stride, float lo, float hi) {
  float a[BN_BLOCK], b[BN_BLOCK];
  for (size_t c0 = 0; c0 < c; c0 += BN_BLOCK) {
    size_t nc = c - c0 < BN_BLOCK ? c - c0 : BN_BLOCK;
    eck_batchnorm_fold(scale, bias, mean, var, eps, c0, nc, a, b); /* once per call */
    eck_batchnorm_rows(x + c0, y + c0, a, b, pixels, nc, x_stride, y_stride, lo, hi);
  }
}

void eck_xnn_copy_channels(const float *x, float *y, size_t pixels, size_t c, size_t x_stride,
                           size_t y_stride) {
  for (size_t p = 0; p < pixels; p++) memcpy(y + p * y_stride, x + p * x_stride, c * sizeof(float));
}
