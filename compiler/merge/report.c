/* report.c — the merge report: as text for `edgecc plan`, and as plan.json's "merge" object. */
#include <stdio.h>
#include <string.h>

#include "merge.h"
#include "sha256.h"

static double pct(double part, double whole) { return whole > 0 ? 100.0 * part / whole : 0.0; }

void ec_merge_report_text(const ec_merge_report *r, ec_buf *b) {
  ec_buf_printf(b, "\nmerge: %d models, %d nodes separately, %d merged\n", r->n_models, r->nodes_separate,
                r->nodes_merged);
  ec_buf_printf(b, "  %-8s %-24s %7s  %s\n", "", "models", "nodes", "first .. last node");
  for (int k = 0; k < r->n_ranges; k++) {
    const ec_merge_range *rg = &r->ranges[k];
    ec_buf ms = {0};
    ec_merge_models_str(r, rg->models, &ms);
    ec_buf_printf(b, "  %-8s %-24s %7d  '%s' .. '%s'\n", ec_merge_n_models(rg->models) > 1 ? "shared" : "own",
                  ms.data ? ms.data : "", rg->n_nodes, rg->first, rg->last);
    ec_buf_free(&ms);
  }
  for (int i = 0; i < r->n_models; i++)
    if (r->shared_inputs[i])
      ec_buf_printf(b, "  %s: %d input%s shared with an earlier model\n", r->names[i], r->shared_inputs[i],
                    r->shared_inputs[i] == 1 ? "" : "s");
  uint64_t saved = r->weight_bytes_separate - r->weight_bytes_merged;
  ec_buf_printf(b, "  weights: %llu bytes separately, %llu merged (%llu saved, %.1f%%)",
                (unsigned long long)r->weight_bytes_separate, (unsigned long long)r->weight_bytes_merged,
                (unsigned long long)saved, pct((double)saved, (double)r->weight_bytes_separate));
  if (r->dedup_weights)
    ec_buf_printf(b, "; %d identical weight%s of nodes not merged stored once (%llu bytes)", r->dedup_weights,
                  r->dedup_weights == 1 ? "" : "s", (unsigned long long)r->dedup_weight_bytes);
  ec_buf_printf(b, "\n  compute for a request to all models: %.1f M multiply-adds separately, %.1f merged "
                "(%.1f%% saved); %.1f M other ops separately, %.1f merged\n",
                r->macs_separate / 1e6, r->macs_merged / 1e6, pct(r->macs_separate - r->macs_merged, r->macs_separate),
                r->flops_separate / 1e6, r->flops_merged / 1e6);
  const ec_merge_approx *ap = &r->approx;
  if (!ap->on) return;
  ec_buf_printf(b, "  merge budget %g pp of top-1 agreement on %d calibration samples (%d may disagree):\n",
                ap->budget_pp, ap->samples, ap->allowed);
  for (int i = 1; i < r->n_models; i++)
    ec_buf_printf(b, "    %s: %d of %d nodes with other weights take %s's (%llu bytes); agrees with its own output on "
                  "%d of %d samples; %s\n", r->names[i], ap->taken[i], ap->candidates[i], r->names[0],
                  (unsigned long long)ap->bytes[i], ap->agree[i], ap->samples, ap->stop[i]);
}

static void models_json(const ec_merge_report *r, uint32_t mask, ec_buf *b) {
  ec_buf_printf(b, "[");
  bool first = true;
  for (int i = 0; i < r->n_models; i++)
    if (mask >> i & 1) {
      ec_buf_printf(b, "%s", first ? "" : ", ");
      ec_buf_json_str(b, r->names[i]);
      first = false;
    }
  ec_buf_printf(b, "]");
}

static void pair_json(ec_buf *b, const char *key, uint64_t separate, uint64_t merged, bool last) {
  ec_buf_printf(b, "    \"%s\": {\"separate\": %llu, \"merged\": %llu, \"saved\": %lld}%s\n", key,
                (unsigned long long)separate, (unsigned long long)merged, (long long)separate - (long long)merged,
                last ? "" : ",");
}

void ec_merge_report_json(const ec_merge_report *r, const ec_merge_programs *progs, ec_buf *b) {
  ec_buf_printf(b, "{\n    \"models\": [");
  for (int i = 0; i < r->n_models; i++) {
    char sha[65];
    ec_sha256_hex(r->sha256[i], sha);
    ec_buf_printf(b, "%s\n      {\"name\": ", i ? "," : "");
    ec_buf_json_str(b, r->names[i]);
    ec_buf_printf(b, ", \"file\": ");
    ec_buf_json_str(b, r->files[i]);
    ec_buf_printf(b, ", \"sha256\": \"%s\", \"nodes\": %d, \"shared_inputs\": %d}", sha, r->nodes[i],
                  r->shared_inputs[i]);
  }
  ec_buf_printf(b, "\n    ],\n    \"nodes_separate\": %d,\n    \"nodes_merged\": %d,\n    \"ranges\": [",
                r->nodes_separate, r->nodes_merged);
  for (int k = 0; k < r->n_ranges; k++) {
    const ec_merge_range *rg = &r->ranges[k];
    ec_buf_printf(b, "%s\n      {\"models\": ", k ? "," : "");
    models_json(r, rg->models, b);
    ec_buf_printf(b, ", \"shared\": %s, \"nodes\": %d, \"first\": ", ec_merge_n_models(rg->models) > 1 ? "true" : "false",
                  rg->n_nodes);
    ec_buf_json_str(b, rg->first);
    ec_buf_printf(b, ", \"last\": ");
    ec_buf_json_str(b, rg->last);
    ec_buf_printf(b, ", \"macs\": %.0f, \"flops\": %.0f}", rg->macs, rg->flops);
  }
  ec_buf_printf(b, "\n    ],\n");
  pair_json(b, "weight_bytes", r->weight_bytes_separate, r->weight_bytes_merged, false);
  ec_buf_printf(b, "    \"weights_stored_once\": {\"count\": %d, \"bytes\": %llu},\n", r->dedup_weights,
                (unsigned long long)r->dedup_weight_bytes);
  ec_buf_printf(b, "    \"compute_all_models\": {\"macs_separate\": %.0f, \"macs_merged\": %.0f, "
                "\"flops_separate\": %.0f, \"flops_merged\": %.0f},\n",
                r->macs_separate, r->macs_merged, r->flops_separate, r->flops_merged);
  if (r->approx.on) {
    const ec_merge_approx *ap = &r->approx;
    ec_buf_printf(b, "    \"approximate\": {\"budget_pp\": %g, \"samples\": %d, \"allowed\": %d, \"models\": [",
                  ap->budget_pp, ap->samples, ap->allowed);
    for (int i = 1; i < r->n_models; i++) {
      ec_buf_printf(b, "%s\n      {\"name\": ", i > 1 ? "," : "");
      ec_buf_json_str(b, r->names[i]);
      ec_buf_printf(b, ", \"candidates\": %d, \"taken\": %d, \"bytes\": %llu, \"agree\": %d, \"stop\": ",
                    ap->candidates[i], ap->taken[i], (unsigned long long)ap->bytes[i], ap->agree[i]);
      ec_buf_json_str(b, ap->stop[i]);
      ec_buf_printf(b, "}");
    }
    ec_buf_printf(b, "\n    ]},\n");
  }
  if (progs) {
    ec_buf_printf(b, "    \"programs\": {\n");
    ec_buf_printf(b, "  ");
    pair_json(b, "arena_bytes", progs->arena_separate, progs->arena_merged, false);
    ec_buf_printf(b, "  ");
    pair_json(b, "weights_file_bytes", progs->weights_separate, progs->weights_merged, true);
    ec_buf_printf(b, "    }\n");
  } else {
    ec_buf_printf(b, "    \"programs\": null\n");
  }
  ec_buf_printf(b, "  }");
}
