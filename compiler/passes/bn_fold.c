/* bn_fold.c — folds an inference BatchNormalization into the Conv, Gemm or constant-weight MatMul
 * that feeds it: y = a * (W x + b) + s becomes (a W) x + (a b + s), with new weight tensors. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "op.h"
#include "passes.h"

/* Per channel c: a[c] = scale / sqrt(var + eps), s[c] = bias - mean * a[c], in double as the
 * reference kernel computes them. */
typedef struct {
  int64_t C;
  double *a, *s;
} bn_affine;

static const float *const_f32(const ec_graph *g, int t, int64_t numel) {
  if (t < 0) return NULL;
  const ec_tensor *x = &g->tensors[t];
  if (x->kind != EC_TK_CONSTANT || x->dtype != ECK_FLOAT || !x->data) return NULL;
  if (ec_tensor_numel(x) != numel) return NULL;
  return x->data;
}

/* 1: foldable, with f filled; 0: not foldable; -1: out of memory. */
static int bn_params(const ec_graph *g, const ec_node *bn, bn_affine *f) {
  const eck_batchnorm_params *p = bn->params;
  if (!p || p->training || bn->n_inputs != 5 || bn->inputs[0] < 0) return 0;
  for (int k = 1; k < bn->n_outputs; k++)
    if (bn->outputs[k] >= 0 && (g->tensors[bn->outputs[k]].n_consumers ||
                                ec_pass_is_output(g, bn->outputs[k])))
      return 0;
  const ec_tensor *x = &g->tensors[bn->inputs[0]];
  if (x->dtype != ECK_FLOAT || x->rank < 2) return 0;
  int64_t C = x->dims[1];
  const float *sc = const_f32(g, bn->inputs[1], C), *bi = const_f32(g, bn->inputs[2], C);
  const float *mean = const_f32(g, bn->inputs[3], C), *var = const_f32(g, bn->inputs[4], C);
  if (!sc || !bi || !mean || !var) return 0;
  f->C = C;
  f->a = malloc(sizeof(double) * (size_t)(C + 1));
  f->s = malloc(sizeof(double) * (size_t)(C + 1));
  if (!f->a || !f->s) return -1;
  for (int64_t c = 0; c < C; c++) {
    f->a[c] = (double)sc[c] / sqrt((double)var[c] + (double)p->epsilon);
    f->s[c] = (double)bi[c] - (double)mean[c] * f->a[c];
  }
  return 1;
}

/* New weights of a Conv: W'[m, ...] = a[m] W[m, ...]; b'[m] = a[m] b[m] + s[m]. */
static ec_status fold_conv(ec_graph *g, int pi, const bn_affine *f, bool *done) {
  ec_node *p = &g->nodes[pi];
  int wi = p->n_inputs > 1 ? p->inputs[1] : -1, bi = p->n_inputs > 2 ? p->inputs[2] : -1;
  if (wi < 0) return EC_OK;
  const ec_tensor *w = &g->tensors[wi];
  if (w->rank < 1 || w->dims[0] != f->C) return EC_OK;
  int64_t nw = ec_tensor_numel(w), per = nw / f->C;
  const float *wd = const_f32(g, wi, nw), *bd = bi >= 0 ? const_f32(g, bi, f->C) : NULL;
  if (!wd || (bi >= 0 && !bd)) return EC_OK;
  float *nwd = malloc(sizeof(float) * (size_t)(nw + 1));
  float *nbd = malloc(sizeof(float) * (size_t)(f->C + 1));
  if (!nwd || !nbd) {
    free(nwd), free(nbd);
    return EC_ERR_INTERNAL;
  }
  for (int64_t m = 0; m < f->C; m++) {
    for (int64_t e = 0; e < per; e++) nwd[m * per + e] = (float)((double)wd[m * per + e] * f->a[m]);
    nbd[m] = (float)((bd ? (double)bd[m] : 0.0) * f->a[m] + f->s[m]);
  }
  int64_t wdims[EC_MAX_RANK], bdim = f->C;
  int wrank = w->rank;
  memcpy(wdims, w->dims, sizeof wdims);
  char *wname = ec_strdup(w->name);
  if (!wname) {
    free(nwd), free(nbd);
    return EC_ERR_INTERNAL;
  }
  int nwt = ec_pass_new_const(g, wname, "_bnfold", ECK_FLOAT, wrank, wdims, nwd,
                              sizeof(float) * (size_t)nw);
  int nbt = nwt < 0 ? -1
                    : ec_pass_new_const(g, wname, "_bnfold_bias", ECK_FLOAT, 1, &bdim, nbd,
                                        sizeof(float) * (size_t)f->C);
  if (nwt < 0) free(nbd);
  free(wname);
  if (nbt < 0) return EC_ERR_INTERNAL;
  p = &g->nodes[pi];
  int ins[3] = {p->inputs[0], nwt, nbt};
  ec_status st = ec_node_set_inputs(g, pi, ins, 3);
  if (!st) *done = true;
  return st;
}

/* Gemm: Y = alpha A' B' + beta C with output [M, N] and channels N. B' is scaled per column n
 * (a row of B when transB, a column otherwise); C' = beta a C + s, and beta becomes 1. */
static ec_status fold_gemm(ec_graph *g, int pi, const bn_affine *f, bool *done) {
  ec_node *p = &g->nodes[pi];
  const eck_gemm_params *gp = p->params;
  int bi = p->inputs[1], ci = p->n_inputs > 2 ? p->inputs[2] : -1;
  const ec_tensor *b = &g->tensors[bi], *y = &g->tensors[p->outputs[0]];
  if (!gp || b->rank != 2 || y->rank != 2 || y->dims[1] != f->C) return EC_OK;
  int64_t M = y->dims[0], N = f->C, nb = ec_tensor_numel(b);
  const float *bd = const_f32(g, bi, nb);
  if (!bd) return EC_OK;
  const float *cd = NULL;
  int crank = 0;
  int64_t cdims[2] = {1, 1};
  if (ci >= 0) {
    const ec_tensor *c = &g->tensors[ci];
    cd = const_f32(g, ci, ec_tensor_numel(c));
    if (!cd || c->rank > 2) return EC_OK;
    crank = c->rank;
    for (int k = 0; k < crank; k++) cdims[2 - crank + k] = c->dims[k];
  }
  /* C' keeps one row unless C has a row per output row. */
  bool rows = crank == 2 && cdims[0] == M && M > 1;
  int64_t cm = rows ? M : 1;
  float *nbd = malloc(sizeof(float) * (size_t)(nb + 1));
  float *ncd = malloc(sizeof(float) * (size_t)(cm * N + 1));
  if (!nbd || !ncd) {
    free(nbd), free(ncd);
    return EC_ERR_INTERNAL;
  }
  for (int64_t e = 0; e < nb; e++) {
    int64_t n = gp->trans_b ? e / b->dims[1] : e % b->dims[1];
    nbd[e] = (float)((double)bd[e] * f->a[n]);
  }
  for (int64_t m = 0; m < cm; m++)
    for (int64_t n = 0; n < N; n++) {
      double c = 0;
      if (cd) c = cd[(cdims[0] == 1 ? 0 : m) * cdims[1] + (cdims[1] == 1 ? 0 : n)];
      ncd[m * N + n] = (float)((double)gp->beta * c * f->a[n] + f->s[n]);
    }
  int64_t bdims[2] = {b->dims[0], b->dims[1]}, ndims[2] = {M, N};
  char *bname = ec_strdup(b->name);
  if (!bname) {
    free(nbd), free(ncd);
    return EC_ERR_INTERNAL;
  }
  int nbt = ec_pass_new_const(g, bname, "_bnfold", ECK_FLOAT, 2, bdims, nbd,
                              sizeof(float) * (size_t)nb);
  int nct = nbt < 0 ? -1
                    : ec_pass_new_const(g, bname, "_bnfold_bias", ECK_FLOAT, rows ? 2 : 1,
                                        rows ? ndims : &ndims[1], ncd,
                                        sizeof(float) * (size_t)(cm * N));
  if (nbt < 0) free(ncd);
  free(bname);
  if (nct < 0) return EC_ERR_INTERNAL;
  p = &g->nodes[pi];
  int ins[3] = {p->inputs[0], nbt, nct};
  ec_status st = ec_node_set_inputs(g, pi, ins, 3);
  if (st) return st;
  /* C' already carries beta. */
  for (int k = 0; k < p->n_attrs; k++)
    if (strcmp(p->attrs[k].name, "beta") == 0) p->attrs[k].f = 1.0f;
  *done = true;
  return EC_OK;
}

/* MatMul of a matrix by a constant [K, N] matrix is a Gemm without bias: it becomes one, with
 * the bias the fold needs. Batched MatMuls are left alone (their dim 1 is not N). */
static ec_status fold_matmul(ec_graph *g, int pi, const bn_affine *f, bool *done) {
  ec_node *p = &g->nodes[pi];
  if (p->n_inputs != 2 || p->n_attrs != 0 || p->inputs[0] < 0 || p->inputs[1] < 0) return EC_OK;
  const ec_tensor *a = &g->tensors[p->inputs[0]], *b = &g->tensors[p->inputs[1]];
  if (a->rank != 2 || b->rank != 2 || b->dims[1] != f->C) return EC_OK;
  if (!const_f32(g, p->inputs[1], ec_tensor_numel(b))) return EC_OK;
  eck_gemm_params *gp = ec_alloc(sizeof *gp);
  char *type = ec_strdup("Gemm");
  if (!gp || !type) {
    free(gp), free(type);
    return EC_ERR_INTERNAL;
  }
  gp->alpha = gp->beta = 1.0f;
  free(p->params);
  p->params = gp;
  p->params_size = sizeof *gp;
  free(p->op_type);
  p->op_type = type;
  p->op = EC_OP_Gemm;
  return fold_gemm(g, pi, f, done);
}

ec_status ec_pass_bn_fold(ec_graph *g, int *count, ec_diag *d) {
  ec_status st = EC_OK;
  for (int i = 0; i < g->n_nodes && !st; i++) {
    ec_node *bn = &g->nodes[i];
    if (bn->dead || bn->op != EC_OP_BatchNormalization || bn->n_inputs < 1 || bn->inputs[0] < 0)
      continue;
    int x = bn->inputs[0], y = bn->outputs[0];
    const ec_tensor *tx = &g->tensors[x];
    int pi = tx->producer;
    /* The producer's output must reach nobody but this BatchNormalization. */
    if (y < 0 || pi < 0 || tx->n_consumers != 1 || ec_pass_is_output(g, x)) continue;
    ec_node *p = &g->nodes[pi];
    if (p->dead || p->n_outputs != 1 || p->outputs[0] != x || p->n_inputs < 2) continue;
    if (p->op != EC_OP_Conv && p->op != EC_OP_Gemm && p->op != EC_OP_MatMul) continue;
    bn_affine f = {0};
    bool done = false;
    int ok = bn_params(g, bn, &f);
    if (ok < 0) st = EC_ERR_INTERNAL;
    if (ok > 0) {
      if (p->op == EC_OP_Conv) st = fold_conv(g, pi, &f, &done);
      else if (p->op == EC_OP_Gemm) st = fold_gemm(g, pi, &f, &done);
      else st = fold_matmul(g, pi, &f, &done);
    }
    free(f.a), free(f.s);
    if (st || !done) continue;
    /* The producer now writes the BatchNormalization's output, which keeps its name. */
    g->nodes[pi].outputs[0] = y;
    g->nodes[i].dead = true;
    g->tensors[y].producer = pi;
    g->tensors[x].producer = -1;
    g->tensors[x].n_consumers = 0;
    st = ec_infer_node(g, pi, d);
    (*count)++;
  }
  if (st) return st;
  return ec_graph_link(g);
}
