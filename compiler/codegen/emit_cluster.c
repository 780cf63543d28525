/* emit_cluster.c — a clustered partition's C: one function per cluster running its steps in
 * schedule order, with a named ready flag per tensor handed between clusters
 * (runtime/ecrt_cluster.h runs them on persistent threads). */
#include <stdlib.h>
#include <string.h>

#include "emit_cluster.h"

static int cluster_of(const ec_node *n) { return n->cluster > 0 ? n->cluster : 0; }

int ec_emit_n_clusters(const ec_graph *g, const ec_part *p) {
  int k = 1;
  for (int s = 0; s < p->n_nodes; s++)
    if (cluster_of(&g->nodes[p->nodes[s]]) + 1 > k) k = cluster_of(&g->nodes[p->nodes[s]]) + 1;
  return k;
}

/* Per tensor: its hand-off index, or -1 (written in no step of p, or read only in its cluster). */
static int *handoffs(const ec_graph *g, const ec_part *p, int *count) {
  int *h = ec_alloc(sizeof(int) * (size_t)(g->n_tensors + 1));
  uint8_t *in = ec_alloc((size_t)g->n_nodes + 1);
  *count = 0;
  if (!h || !in) {
    free(h), free(in);
    return NULL;
  }
  for (int s = 0; s < p->n_nodes; s++) in[p->nodes[s]] = 1;
  for (int t = 0; t < g->n_tensors; t++) h[t] = -1;
  for (int s = 0; s < p->n_nodes; s++) {
    const ec_node *n = &g->nodes[p->nodes[s]];
    for (int o = 0; o < n->n_outputs; o++) {
      int t = n->outputs[o];
      for (int c = 0; t >= 0 && h[t] < 0 && c < g->tensors[t].n_consumers; c++) {
        int u = g->tensors[t].consumers[c];
        if (in[u] && cluster_of(&g->nodes[u]) != cluster_of(n)) h[t] = (*count)++;
      }
    }
  }
  free(in);
  return h;
}

int ec_emit_n_handoffs(const ec_graph *g, const ec_part *p) {
  int n;
  free(handoffs(g, p, &n));
  return n;
}

ec_status ec_emit_clusters(const ec_graph *g, const ec_part *p, const char *prog, const char *PROG,
                           const char *const *sname, const bool *aliased, ec_buf *b) {
  int nh, nc = ec_emit_n_clusters(g, p);
  int *h = handoffs(g, p, &nh);
  char **hname = ec_alloc(sizeof(char *) * (size_t)(nh + 1));
  uint8_t *waited = ec_alloc((size_t)nh + 1);
  ec_status st = h && hname && waited ? EC_OK : EC_ERR_INTERNAL;
  for (int t = 0; !st && t < g->n_tensors; t++)
    if (h[t] >= 0 && !(hname[h[t]] = ec_cname(g->tensors[t].name, hname, h[t]))) st = EC_ERR_INTERNAL;
  if (!st && nh) {
    ec_buf_printf(b, "/* Tensors one cluster hands to another: a ready flag each, raised after the step\n"
                  " * that writes it, waited for before the first step of another cluster that reads it. */\n"
                  "enum {\n");
    for (int t = 0; t < g->n_tensors; t++)
      if (h[t] >= 0)
        ec_buf_printf(b, "  H_%s = %d, /* written by cluster %d */\n", hname[h[t]], h[t],
                      cluster_of(&g->nodes[g->tensors[t].producer]));
    ec_buf_printf(b, "};\n\n");
  }
  for (int c = 0; !st && c < nc; c++) {
    int steps = 0;
    for (int s = 0; s < p->n_nodes; s++) steps += cluster_of(&g->nodes[p->nodes[s]]) == c && !aliased[s];
    ec_buf_printf(b, "/* Cluster %d of %d: %d steps, on %s. */\n", c, nc, steps,
                  c ? "a worker thread" : "the caller's thread");
    ec_buf_printf(b, "static int %s_cluster%d(ecrt_clusters *k, void *ctx) {\n  (void)ctx;\n", prog, c);
    if (nh) memset(waited, 0, (size_t)nh);
    for (int s = 0; s < p->n_nodes; s++) {
      const ec_node *n = &g->nodes[p->nodes[s]];
      if (cluster_of(n) != c) continue;
      for (int i = 0; i < n->n_inputs; i++) {
        int t = n->inputs[i];
        if (t < 0 || h[t] < 0 || waited[h[t]] || cluster_of(&g->nodes[g->tensors[t].producer]) == c) continue;
        waited[h[t]] = 1;
        ec_buf_printf(b, "  if (!ecrt_cluster_wait(k, H_%s)) return 1; /* from cluster %d */\n", hname[h[t]],
                      cluster_of(&g->nodes[g->tensors[t].producer]));
      }
      if (aliased[s])
        ec_buf_printf(b, "  /* %s (%s): no step, its output aliases its input */\n", sname[s], n->op_type);
      else
        ec_buf_printf(b, "  if (!ecrt_cluster_step(k, S_%s)) return 1; /* %s */\n", sname[s], n->op_type);
      for (int o = 0; o < n->n_outputs; o++)
        if (n->outputs[o] >= 0 && h[n->outputs[o]] >= 0)
          ec_buf_printf(b, "  ecrt_cluster_ready(k, H_%s);\n", hname[h[n->outputs[o]]]);
    }
    ec_buf_printf(b, "  return 0;\n}\n\n");
  }
  if (!st) {
    ec_buf_printf(b, "static const ecrt_cluster_fn %s_clusters[%s_N_CLUSTERS] = {", prog, PROG);
    for (int c = 0; c < nc; c++) ec_buf_printf(b, "%s%s_cluster%d", c ? ", " : "", prog, c);
    ec_buf_printf(b, "};\n\n");
  }
  for (int i = 0; hname && i < nh; i++) free(hname[i]);
  free(hname), free(waited), free(h);
  return st ? st : b->oom ? EC_ERR_INTERNAL : EC_OK;
}
