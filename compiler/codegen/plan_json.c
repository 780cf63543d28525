/* plan_json.c — plan.json: the decisions of one compile (devices, partitions, memory figures),
 * the edgecc version and the model hash. Deterministic: no time, no absolute path. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen.h"
#include "lower.h"

static void io_list(ec_buf *b, const ec_graph *g, const int *ts, int n) {
  ec_buf_printf(b, "[");
  for (int i = 0; i < n; i++) {
    const ec_tensor *t = &g->tensors[ts[i]];
    ec_buf_printf(b, "%s\n        {\"name\": ", i ? "," : "");
    ec_buf_json_str(b, t->name);
    ec_buf_printf(b, ", \"dtype\": \"%s\", \"shape\": [", ec_dtype_name(t->dtype));
    for (int k = 0; k < t->rank; k++) ec_buf_printf(b, "%s%lld", k ? ", " : "", (long long)t->dims[k]);
    ec_buf_printf(b, "]");
    if (t->quant.count == 1) /* an 8-bit cut: the scale and zero point it travels with */
      ec_buf_printf(b, ", \"scale\": %.9g, \"zero_point\": %d", (double)t->quant.scale[0], (int)t->quant.zero_point[0]);
    ec_buf_printf(b, "}");
  }
  ec_buf_printf(b, "%s]", n ? "\n      " : "");
}

static void num(ec_buf *b, double v) { ec_buf_printf(b, "%.6g", v); }

/* The partition's clusters (compiler/plan/cluster.h): the mode, the thread split, predictions
 * with and without clusters, and per cluster its nodes, work and hand-offs. */
static void clusters_json(ec_buf *b, const ec_graph *g, const ec_plan *plan, const ec_plan_part *q) {
  ec_buf_printf(b, ",\n      \"parallel\": \"%s\",\n      \"threads\": %d,\n      \"cluster_threads\": %d,"
                "\n      \"predicted_sequential_ms\": ", ec_parallel_name(plan->parallel), q->threads,
                q->cluster_threads);
  num(b, q->sequential_ms);
  ec_buf_printf(b, ",\n      \"predicted_intra_ms\": ");
  num(b, q->intra_ms);
  ec_buf_printf(b, ",\n      \"predicted_clustered_ms\": ");
  num(b, q->clustered_ms);
  ec_buf_printf(b, ",\n      \"predicted_gain\": ");
  num(b, q->clustered_ms > 0 ? q->intra_ms / q->clustered_ms - 1 : 0);
  ec_buf_printf(b, ",\n      \"clusters\": [");
  for (int c = 0; c < q->n_clusters; c++) {
    ec_buf_printf(b, "%s\n        {\"index\": %d, \"predicted_ms\": ", c ? "," : "", c);
    num(b, q->cluster_ms ? q->cluster_ms[c] : 0);
    ec_buf_printf(b, ", \"threads\": %d, \"handoffs\": %d, \"nodes\": [", q->cluster_threads,
                  ec_plan_cluster_handoffs(g, &q->part, c));
    for (int s = 0, m = 0; s < q->part.n_nodes; s++) {
      const ec_node *n = &g->nodes[q->part.nodes[s]];
      if (n->cluster != c) continue;
      ec_buf_printf(b, "%s", m++ ? ", " : "");
      ec_buf_json_str(b, n->name ? n->name : "");
    }
    ec_buf_printf(b, "]");
    /* Its oneDNN steps' OpenMP teams on `threads` (codegen's dnnl_teams[]): every thread where
     * no other cluster can run beside the step. */
    if (q->n_clusters > 1) {
      ec_buf_printf(b, ", \"onednn_teams\": {");
      for (int s = 0, m = 0; s < q->part.n_nodes; s++) {
        const ec_node *n = &g->nodes[q->part.nodes[s]];
        if (n->cluster != c || !n->kernel || n->kernel->kind != EC_K_DNNL) continue;
        ec_buf_printf(b, "%s", m++ ? ", " : "");
        ec_buf_json_str(b, n->name ? n->name : "");
        ec_buf_printf(b, ": %d", n->team > 0 ? n->team : 1);
      }
      ec_buf_printf(b, "}");
    }
    ec_buf_printf(b, "}");
  }
  ec_buf_printf(b, "\n      ]");
}

static const char *const kernel_labels[] = {
#define EC_KERNEL(NAME, emit, label, flags) [EC_K_##NAME] = label,
#include "fast_kernels.def"
};

/* Each node of the partition (schedule order): its step's name (ec_node_label), its position in
 * the model file (index; -1 for a node lowering added), op, and the kernel lowering chose for it
 * (fast_kernels.def's label); "tuned": the --tuning file decided its family. */
static void node_kernels(ec_buf *b, const ec_graph *g, const ec_part *p) {
  ec_buf_printf(b, ",\n      \"node_kernels\": [");
  for (int s = 0; s < p->n_nodes; s++) {
    const ec_node *n = &g->nodes[p->nodes[s]];
    int k = n->kernel ? (int)n->kernel->kind : EC_K_REF;
    char label[512];
    ec_node_label(g, n, label, sizeof label); /* its step's name in the program and its profile */
    ec_buf_printf(b, "%s\n        {\"node\": ", s ? "," : "");
    ec_buf_json_str(b, label);
    ec_buf_printf(b, ", \"index\": %d, \"op\": ", n->index);
    ec_buf_json_str(b, n->op_type);
    ec_buf_printf(b, ", \"kernel\": ");
    ec_buf_json_str(b, k >= 0 && k < EC_K_COUNT ? kernel_labels[k] : "?");
    ec_buf_printf(b, ", \"tuned\": %s}", n->tuned != EC_KF_UNSET && n->tuned == n->family ? "true" : "false");
  }
  ec_buf_printf(b, "%s]", p->n_nodes ? "\n      " : "");
}

ec_status ec_plan_json_for(const ec_graph *g, const ec_codegen_opts *o, const ec_device_list *devs,
                           const ec_plan *plan, const ec_part *parts, const ec_part_report *reps,
                           int n, ec_buf *b) {
  char sha[65];
  for (int i = 0; i < 32; i++) sprintf(sha + 2 * i, "%02x", g->sha256[i]);
  ec_buf_printf(b, "{\n  \"format\": \"edgecc-plan\",\n  \"format_version\": 1,\n  \"edgecc_version\": ");
  ec_buf_json_str(b, EC_VERSION);
  ec_buf_printf(b, ",\n  \"model\": ");
  ec_buf_json_str(b, o->model_file);
  ec_buf_printf(b, ",\n  \"model_sha256\": \"%s\",\n  \"name\": ", sha);
  ec_buf_json_str(b, o->name);
  ec_buf_printf(b, ",\n  \"kernels\": ");
  ec_buf_json_str(b, o->kernels);
  /* --tuning: the file (by name only: output must not depend on where files live), its hash. */
  ec_buf_printf(b, ",\n  \"tuning\": ");
  if (o->tuning_file && o->tuning_sha256) {
    const char *slash = strrchr(o->tuning_file, '/');
    char tsha[65];
    for (int i = 0; i < 32; i++) sprintf(tsha + 2 * i, "%02x", o->tuning_sha256[i]);
    ec_buf_printf(b, "{\"file\": ");
    ec_buf_json_str(b, slash ? slash + 1 : o->tuning_file);
    ec_buf_printf(b, ", \"sha256\": \"%s\", \"target\": ", tsha);
    ec_buf_json_str(b, o->tuning_target ? o->tuning_target : "");
    ec_buf_printf(b, "}");
  } else {
    ec_buf_printf(b, "null");
  }
  if (plan) {
    ec_buf_printf(b, ",\n  \"plan_id\": \"%016llx\"", (unsigned long long)plan->id);
    ec_buf_printf(b, ",\n  \"objective\": \"%s\",\n  \"blocks\": %d,\n  \"split_points\": %d,\n"
                  "  \"predicted\": {\"latency_ms\": ", plan->objective ? "throughput" : "latency",
                  plan->n_blocks, plan->n_cuts);
    num(b, plan->latency_ms);
    ec_buf_printf(b, ", \"slowest_stage_ms\": ");
    num(b, plan->bottleneck_ms);
    ec_buf_printf(b, ", \"throughput_rps\": ");
    num(b, plan->throughput_rps);
    ec_buf_printf(b, "}");
    if (devs) ec_plan_joint_json(g, devs, plan, b); /* several models: the joint plan */
  }
  ec_buf_printf(b, ",\n  \"devices\": [");
  if (devs) {
    /* Every device of --targets, used or not, in order. */
    for (int v = 0; v < devs->n; v++) {
      ec_buf_printf(b, "%s\n    {\"name\": ", v ? "," : "");
      ec_buf_json_str(b, devs->items[v].name);
      ec_buf_printf(b, ", \"target\": ");
      ec_buf_json_str(b, devs->items[v].target_name);
      ec_buf_printf(b, ", \"folder\": ");
      ec_buf_json_str(b, devs->items[v].name);
      ec_buf_printf(b, ", \"kernels\": ");
      ec_buf_json_str(b, o->device_kernels ? o->device_kernels[v] : o->kernels);
      if (plan) {
        ec_buf_printf(b, ", \"used\": %s, \"predicted_whole_model_ms\": ",
                      plan->device_part[v] >= 0 ? "true" : "false");
        num(b, plan->device_whole_ms[v]);
        /* The measured profile behind its predictions (--profile), by file name only. */
        const ec_profile *pr = plan->profiles ? plan->profiles[v] : NULL;
        ec_buf_printf(b, ", \"profile\": ");
        if (pr) {
          const char *slash = strrchr(pr->path, '/');
          ec_buf_printf(b, "{\"file\": ");
          ec_buf_json_str(b, slash ? slash + 1 : pr->path);
          ec_buf_printf(b, ", \"program\": ");
          ec_buf_json_str(b, pr->program);
          ec_buf_printf(b, ", \"threads\": %d, \"runs\": %d, \"matched_nodes\": %d, \"unmatched_steps\": %d}",
                        pr->threads, pr->runs, plan->profile_matched[v], plan->profile_unmatched[v]);
        } else {
          ec_buf_printf(b, "null");
        }
        /* Every profile of the device, one per thread count: the clustering's node times. */
        const ec_profile_set *ps = plan->profile_set;
        int listed = 0;
        for (int i = 0; ps && i < ps->n; i++) {
          const ec_profile *x = &ps->items[i];
          if (strcmp(x->device, devs->items[v].name) != 0) continue;
          const char *slash = strrchr(x->path, '/');
          ec_buf_printf(b, "%s{\"file\": ", listed++ ? ", " : ", \"cluster_profiles\": [");
          ec_buf_json_str(b, slash ? slash + 1 : x->path);
          ec_buf_printf(b, ", \"threads\": %d}", x->threads);
        }
        if (listed) ec_buf_printf(b, "]");
      }
      ec_buf_printf(b, ", \"programs\": [");
      for (int j = 0, k = 0; j < n; j++)
        if (strcmp(reps[j].device, devs->items[v].name) == 0) {
          ec_buf_printf(b, "%s", k++ ? ", " : "");
          ec_buf_json_str(b, reps[j].program);
        }
      ec_buf_printf(b, "]}");
    }
  } else {
    for (int i = 0, first = 1; i < n; i++) {
      bool seen = false;
      for (int j = 0; j < i; j++) seen |= strcmp(reps[j].device, reps[i].device) == 0;
      if (seen) continue;
      ec_buf_printf(b, "%s\n    {\"name\": ", first ? "" : ",");
      first = 0;
      ec_buf_json_str(b, reps[i].device);
      ec_buf_printf(b, ", \"target\": ");
      ec_buf_json_str(b, reps[i].target);
      ec_buf_printf(b, ", \"folder\": ");
      ec_buf_json_str(b, reps[i].device);
      ec_buf_printf(b, ", \"programs\": [");
      for (int j = i, k = 0; j < n; j++)
        if (strcmp(reps[j].device, reps[i].device) == 0) {
          ec_buf_printf(b, "%s", k++ ? ", " : "");
          ec_buf_json_str(b, reps[j].program);
        }
      ec_buf_printf(b, "]}");
    }
  }
  ec_buf_printf(b, "\n  ],\n  \"partitions\": [");
  for (int i = 0; i < n; i++) {
    const ec_part_report *r = &reps[i];
    ec_buf_printf(b, "%s\n    {\n      \"index\": %d,\n      \"device\": ", i ? "," : "", parts[i].index);
    ec_buf_json_str(b, r->device);
    ec_buf_printf(b, ",\n      \"target\": ");
    ec_buf_json_str(b, r->target);
    ec_buf_printf(b, ",\n      \"program\": ");
    ec_buf_json_str(b, r->program);
    ec_buf_printf(b, ",\n      \"steps\": %d,\n      \"inputs\": ", r->n_steps);
    io_list(b, g, parts[i].inputs, parts[i].n_inputs);
    ec_buf_printf(b, ",\n      \"outputs\": ");
    io_list(b, g, parts[i].outputs, parts[i].n_outputs);
    if (plan && parts[i].index < plan->n_parts) {
      const ec_plan_part *q = &plan->parts[parts[i].index];
      char ep[64];
      ec_plan_endpoint(parts[i].index, ep, sizeof ep);
      ec_buf_printf(b, ",\n      \"blocks\": [%d, %d],\n      \"predicted_compute_ms\": ", q->first_block,
                    q->end_block);
      num(b, q->compute_ms);
      ec_buf_printf(b, ",\n      \"profiled_nodes\": %d,\n      \"profiled_ms\": ", q->profiled_nodes);
      num(b, q->profiled_ms);
      ec_buf_printf(b, ",\n      \"bytes_out\": ");
      num(b, q->bytes_out);
      ec_buf_printf(b, ",\n      \"predicted_transfer_ms\": ");
      num(b, q->transfer_ms);
      ec_buf_printf(b, ",\n      \"planned_memory_bytes\": ");
      num(b, q->weights_bytes + q->arena_estimate_bytes + q->staging_bytes);
      ec_buf_printf(b, ",\n      \"planned_staging_bytes\": ");
      num(b, q->staging_bytes);
      ec_buf_printf(b, ",\n      \"endpoint\": \"%s\",\n      \"next\": ", ep);
      if (!plan->tree && parts[i].index + 1 < plan->n_parts) {
        ec_plan_endpoint(parts[i].index + 1, ep, sizeof ep);
        ec_buf_printf(b, "\"%s\"", ep);
      } else {
        ec_buf_printf(b, "null");
      }
      /* A tree: the partition it receives from, the models its subtree returns, its --next. */
      ec_buf_printf(b, ",\n      \"parent\": ");
      if (q->parent >= 0) ec_buf_printf(b, "%d", q->parent);
      else ec_buf_printf(b, "null");
      if (plan->tree) {
        ec_buf_printf(b, ",\n      \"models\": \"");
        for (int m = 0, first = 1; m < g->n_models; m++)
          if (q->models >> m & 1) ec_buf_printf(b, "%s%s", first ? "" : ",", g->model_names[m]), first = 0;
        ec_buf_printf(b, "\",\n      \"next_args\": ");
        ec_buf nb = {0};
        ec_plan_next_args(g, plan, parts[i].index, &nb);
        ec_buf_json_str(b, nb.data ? nb.data + (nb.data[0] == ' ') : "");
        ec_buf_free(&nb);
      }
      clusters_json(b, g, plan, q);
    }
    node_kernels(b, g, &parts[i]);
    ec_buf_printf(b, ",\n      \"arena_bytes\": %zu,\n      \"arena_lower_bound_bytes\": %zu,\n"
                  "      \"arena_verified\": true,\n      \"weights_bytes\": %zu,\n"
                  "      \"weights_crc32c\": \"%08x\",\n      \"weights_file\": ",
                  r->arena_bytes, r->lower_bound, r->weights_bytes, r->weights_crc);
    if (r->embedded) {
      ec_buf_printf(b, "null");
    } else {
      ec_buf_printf(b, "\"%s/%s.bin\"", r->device, r->program); /* C names: no escaping */
    }
    ec_buf_printf(b, "\n    }");
  }
  ec_buf_printf(b, "\n  ]\n}\n");
  return b->oom ? EC_ERR_INTERNAL : EC_OK;
}

ec_status ec_plan_json(const ec_graph *g, const ec_codegen_opts *o, const ec_part *parts,
                       const ec_part_report *reps, int n, ec_buf *b) {
  return ec_plan_json_for(g, o, NULL, NULL, parts, reps, n, b);
}
