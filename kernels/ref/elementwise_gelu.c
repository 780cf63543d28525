/* elementwise_gelu.c — the reference kernel of edgecc's fused Gelu (com.edgecc), which replaces
 * the five to nine nodes PyTorch exports for torch.nn.GELU. */
#include <math.h>

#include "eck_ref.h"

/* float32 through libm's erff/tanhf (within an ulp or two), like the exported chain of float
 * ops it replaces; other float dtypes in double. */
int eck_ref_gelu(const void *params, const eck_tensor *in, int n_in, eck_tensor *out, int n_out,
                 void *scratch) {
  (void)n_in; (void)n_out; (void)scratch;
  const eck_gelu_params *p = params;
  const int64_t n = eck_numel(&out[0]);
  const int tanh_form = p->approximate == ECK_GELU_TANH;
  if (in[0].dtype == ECK_FLOAT && out[0].dtype == ECK_FLOAT) {
    const float *x = in[0].data;
    float *y = out[0].data;
    if (tanh_form) {
      for (int64_t i = 0; i < n; i++) {
        float v = x[i];
        y[i] = 0.5f * v * (1.0f + tanhf(0.7978845608028654f * (v + 0.044715f * v * v * v)));
      }
    } else {
      for (int64_t i = 0; i < n; i++) y[i] = 0.5f * x[i] * (1.0f + erff(x[i] * 0.7071067811865476f));
    }
    return ECK_OK;
  }
  for (int64_t i = 0; i < n; i++) {
    double v = eck_load_f64(in[0].data, in[0].dtype, i);
    double y = tanh_form ? 0.5 * v * (1.0 + tanh(0.7978845608028654 * (v + 0.044715 * v * v * v)))
                         : 0.5 * v * (1.0 + erf(v * 0.7071067811865476));
    eck_store_f64(out[0].data, out[0].dtype, i, y);
  }
  return ECK_OK;
}
