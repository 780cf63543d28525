/* report.c — plan.json's "quant" object: the calibration, the budget, and every int8 candidate's
 * sensitivity, predicted times and chosen width (docs/plan-json.md). Deterministic: no times of
 * the run, nothing that depends on the sensitivity cache. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quantize.h"

static const char *const why_text[EC_QWHY_COUNT] = {
    [EC_QWHY_ALL] = "int8: every candidate (no --accuracy-budget)",
    [EC_QWHY_CHOSEN] = "int8: fits the budget and is predicted faster",
    [EC_QWHY_BUDGET] = "fp32: its degradation does not fit the budget",
    [EC_QWHY_NO_GAIN] = "fp32: int8 is not predicted faster",
    [EC_QWHY_TIGHTENED] = "fp32: the measured plan exceeded the budget (tightened)",
};

const char *ec_quant_why_text(ec_quant_why w) { return why_text[w]; }

/* Floats as %.9g (reads back as the same value): the file stays byte-for-byte reproducible. */
static void num(ec_buf *b, const char *key, double v, bool comma) {
  ec_buf_printf(b, "\"%s\": %.9g%s", key, v, comma ? ", " : "");
}

void ec_quant_report_json(const ec_quant_report *r, ec_buf *b) {
  char sha[65];
  for (int i = 0; i < 32; i++) snprintf(sha + 2 * i, 3, "%02x", r->calib_sha256[i]);
  ec_buf_printf(b, "{\n    \"method\": \"%s\", \"calib_max\": %d, \"samples\": %d, \"calib_sha256\": \"%s\",\n",
                ec_calib_method_name(r->method), r->max_samples, r->n_samples, sha);
  ec_buf_printf(b, "    \"weights\": \"%s\", \"activations\": \"per-tensor asymmetric int8\",\n",
                r->per_channel ? "per-channel symmetric int8 (Conv), per-tensor (MatMul, Gemm)"
                               : "per-tensor symmetric int8");
  ec_buf_printf(b, "    \"degradation\": \"%s\", ", r->labels ? "accuracy" : "top1_agreement");
  if (r->budget_pp >= 0) {
    ec_buf_printf(b, "\"budget_pp\": %.9g, \"budget_samples\": %d, \"rounds\": %d,\n", r->budget_pp,
                  r->budget_units, r->rounds);
  } else {
    ec_buf_printf(b, "\"budget_pp\": null,\n");
  }
  ec_buf_printf(b, "    \"measured\": {\"agree\": %d, ", r->agree);
  if (r->labels) ec_buf_printf(b, "\"correct\": %d, \"fp32_correct\": %d, ", r->correct, r->fp32_correct);
  num(b, "sqnr_db", r->sqnr_db, false);
  ec_buf_printf(b, "},\n    ");
  num(b, "macs_int8", r->macs_int8, true);
  num(b, "macs_total", r->macs_total, true);
  num(b, "int8_mac_share", r->macs_total > 0 ? r->macs_int8 / r->macs_total : 0, false);
  ec_buf_printf(b, ",\n    \"nodes\": [");
  for (int i = 0; i < r->n_nodes; i++) {
    const ec_quant_node_report *n = &r->nodes[i];
    ec_buf_printf(b, "%s\n      {\"name\": ", i ? "," : "");
    ec_buf_json_str(b, n->name);
    ec_buf_printf(b, ", \"op\": \"%s\", \"bits\": %d, ", n->op, n->int8 ? 8 : 32);
    num(b, "macs", n->macs, true);
    if (n->measured) {
      ec_buf_printf(b, "\"sensitivity\": {\"agree\": %d, ", n->agree);
      if (r->labels) ec_buf_printf(b, "\"correct\": %d, ", n->correct);
      num(b, "sqnr_db", n->sqnr_db, true);
      ec_buf_printf(b, "\"cost_samples\": %d}, ", n->cost);
    }
    num(b, "predicted_ms_fp32", n->ms_fp32, true);
    num(b, "predicted_ms_int8", n->ms_int8, true);
    ec_buf_printf(b, "\"why\": \"%s\"}", why_text[n->why]);
  }
  ec_buf_printf(b, "\n    ]\n  }");
}

void ec_quant_report_free(ec_quant_report *r) {
  for (int i = 0; i < r->n_nodes; i++) free(r->nodes[i].name);
  free(r->nodes);
  memset(r, 0, sizeof *r);
}
