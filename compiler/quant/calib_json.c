/* calib_json.c — the ranges file `edgecc calibrate` writes (docs/quantization.md, "The ranges
 * file"): deterministic, sorted by tensor name, each float as %.9g (enough digits to read back
 * the same float) beside its IEEE bits, so a diff of two files shows real changes only. */
#include <string.h>

#include "calib.h"
#include "sha256.h"

/* The file says 99.999; the arithmetic uses the fraction. */
_Static_assert(EC_CALIB_PCT_NUM == 99999 && EC_CALIB_PCT_DEN == 100000, "percentile printed as 99.999");

static uint32_t bits(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return u;
}

/* `"key": 0.5, "key_bits": "0x3f000000"` */
static void put_float(ec_buf *b, const char *key, float f) {
  ec_buf_printf(b, "\"%s\": %.9g, \"%s_bits\": \"0x%08x\"", key, (double)f, key, bits(f));
}

static void put_floats(ec_buf *b, const char *key, const float *v, int n) {
  ec_buf_printf(b, "\"%s\": [", key);
  for (int i = 0; i < n; i++) ec_buf_printf(b, "%s%.9g", i ? ", " : "", (double)v[i]);
  ec_buf_printf(b, "],\n      \"%s_bits\": [", key);
  for (int i = 0; i < n; i++) ec_buf_printf(b, "%s\"0x%08x\"", i ? ", " : "", bits(v[i]));
  ec_buf_printf(b, "]");
}

void ec_calib_json(const ec_graph *g, const ec_calib_result *r, ec_buf *b) {
  char model[65], set[65];
  ec_sha256_hex(g->sha256, model);
  ec_sha256_hex(r->sha256, set);
  ec_buf_printf(b, "{\n  \"edgecc_calibration\": 1,\n  \"edgecc_version\": \"%s\",\n", EC_VERSION);
  ec_buf_printf(b, "  \"model_sha256\": \"%s\",\n  \"method\": \"%s\",\n", model,
                ec_calib_method_name(r->method));
  if (r->method == EC_CALIB_PERCENTILE)
    ec_buf_printf(b, "  \"percentile\": 99.999,\n  \"bins\": %d,\n", EC_CALIB_BINS);
  if (r->method == EC_CALIB_ENTROPY)
    ec_buf_printf(b, "  \"bins\": %d,\n  \"levels\": %d,\n", EC_CALIB_BINS, EC_CALIB_LEVELS);
  ec_buf_printf(b, "  \"calib_max\": %d,\n  \"samples\": %d,\n  \"calib_sha256\": \"%s\",\n",
                r->max_samples, r->n_samples, set);
  ec_buf_printf(b, "  \"activations\": [");
  for (int i = 0; i < r->n_ranges; i++) {
    const ec_calib_range *c = &r->ranges[i];
    ec_buf_printf(b, "%s\n    {\"name\": ", i ? "," : "");
    ec_buf_json_str(b, g->tensors[c->tensor].name);
    ec_buf_printf(b, ", \"count\": %lld,\n      ", (long long)c->count);
    put_float(b, "min", c->min);
    ec_buf_printf(b, ", ");
    put_float(b, "max", c->max);
    ec_buf_printf(b, ",\n      ");
    put_float(b, "threshold", c->threshold);
    ec_buf_printf(b, ",\n      ");
    put_float(b, "lo", c->lo);
    ec_buf_printf(b, ", ");
    put_float(b, "hi", c->hi);
    ec_buf_printf(b, ",\n      ");
    put_float(b, "scale", c->scale);
    ec_buf_printf(b, ", \"zero_point\": %d}", (int)c->zero_point);
  }
  ec_buf_printf(b, "%s],\n  \"weights\": [", r->n_ranges ? "\n  " : "");
  for (int i = 0; i < r->n_weights; i++) {
    const ec_calib_weight *w = &r->weights[i];
    ec_buf_printf(b, "%s\n    {\"name\": ", i ? "," : "");
    ec_buf_json_str(b, g->tensors[w->tensor].name);
    ec_buf_printf(b, ", \"axis\": %d, \"channels\": %d, \"nodes\": [", w->axis, w->channels);
    const char *s = w->nodes;
    for (int k = 0; k < w->n_nodes; k++, s += strlen(s) + 1) {
      if (k) ec_buf_printf(b, ", ");
      ec_buf_json_str(b, s);
    }
    ec_buf_printf(b, "],\n      ");
    put_floats(b, "absmax", w->absmax, w->channels);
    ec_buf_printf(b, ",\n      ");
    put_floats(b, "scale", w->scale, w->channels);
    ec_buf_printf(b, "}");
  }
  ec_buf_printf(b, "%s]\n}\n", r->n_weights ? "\n  " : "");
}
