/* nn_gemm.c — shape inference, cost and params of the matrix products: Gemm, MatMul (numpy
 * batching), MatMulInteger, QLinearMatMul, and Einsum (equation parsed at compile time). */
#include <ctype.h>
#include <string.h>

#include "nn.h"

static const int32_t dt_mm[] = {ECK_FLOAT, ECK_DOUBLE, ECK_FLOAT16, ECK_BFLOAT16, ECK_INT32,
                                ECK_INT64, ECK_UINT32, ECK_UINT64,  0};
static const int32_t dt_q8[] = {ECK_UINT8, ECK_INT8, 0};

ec_status ec_infer_gemm(ec_ctx *cx, ec_node *n) {
  ec_status st = ec_check_arity(cx, n, 2, 3, 1, 1);
  if (!st) st = ec_check_input(cx, n, 0, dt_mm);
  if (!st) st = ec_check_input(cx, n, 1, dt_mm);
  if (!st && ec_in(cx, n, 2)) st = ec_check_input(cx, n, 2, dt_mm);
  if (st) return st;
  const ec_tensor *a = ec_in(cx, n, 0), *b = ec_in(cx, n, 1), *c = ec_in(cx, n, 2);
  float alpha, beta;
  int64_t ta, tb, bc;
  if ((st = ec_attr_float(cx, n, "alpha", 1.0f, &alpha))) return st;
  if ((st = ec_attr_float(cx, n, "beta", 1.0f, &beta))) return st;
  if ((st = ec_attr_int(cx, n, "transA", 0, &ta))) return st;
  if ((st = ec_attr_int(cx, n, "transB", 0, &tb))) return st;
  /* Opsets before 7: `broadcast` allowed C to broadcast; later opsets always do. */
  if ((st = ec_attr_int(cx, n, "broadcast", 0, &bc))) return st;
  if (a->rank != 2 || b->rank != 2)
    return ec_fail(cx, n, "inputs A and B must be matrices (ranks %d and %d)", a->rank, b->rank);
  if (a->dtype != b->dtype || (c && c->dtype != a->dtype))
    return ec_fail(cx, n, "inputs must share one dtype");
  int64_t M = ta ? a->dims[1] : a->dims[0], K = ta ? a->dims[0] : a->dims[1];
  int64_t K2 = tb ? b->dims[1] : b->dims[0], N = tb ? b->dims[0] : b->dims[1];
  if (K != K2)
    return ec_fail(cx, n, "inner dimensions differ: A gives K = %lld, B gives %lld",
                   (long long)K, (long long)K2);
  if (c) {
    if (c->rank > 2) return ec_fail(cx, n, "C '%s' has rank %d, at most 2", c->name, c->rank);
    int64_t want[2] = {M, N};
    for (int k = 0; k < c->rank; k++) {
      int64_t d = c->dims[k], w = want[2 - c->rank + k];
      if (d != w && d != 1)
        return ec_fail(cx, n, "C '%s' cannot be broadcast to [%lld, %lld]", c->name,
                       (long long)M, (long long)N);
    }
  }
  eck_gemm_params *p = ec_params(cx, n, sizeof *p);
  if (!p) return EC_ERR_INTERNAL;
  p->alpha = alpha;
  p->beta = beta;
  p->trans_a = ta != 0;
  p->trans_b = tb != 0;
  int64_t od[2] = {M, N};
  return ec_set_output(cx, n, 0, a->dtype, 2, od);
}

/* numpy matmul shapes: out = broadcast(batch) + [M] (unless A is 1-D) + [N] (unless B is). */
static ec_status matmul_shape(ec_ctx *cx, ec_node *n, const ec_tensor *a, const ec_tensor *b,
                              int *rank, int64_t *od, int64_t *macs) {
  if (a->rank < 1 || b->rank < 1) return ec_fail(cx, n, "MatMul operands must have rank >= 1");
  int64_t K = a->dims[a->rank - 1], K2 = b->rank == 1 ? b->dims[0] : b->dims[b->rank - 2];
  if (K != K2)
    return ec_fail(cx, n, "inner dimensions differ (%lld vs %lld)", (long long)K, (long long)K2);
  int na = a->rank > 2 ? a->rank - 2 : 0, nb = b->rank > 2 ? b->rank - 2 : 0;
  int r = na > nb ? na : nb;
  for (int k = 0; k < r; k++) {
    int ja = k - (r - na), jb = k - (r - nb);
    int64_t da = ja >= 0 ? a->dims[ja] : 1, db = jb >= 0 ? b->dims[jb] : 1;
    if (da != db && da != 1 && db != 1)
      return ec_fail(cx, n, "batch dimensions cannot be broadcast (%lld vs %lld)",
                     (long long)da, (long long)db);
    od[k] = da > db ? da : db;
  }
  if (a->rank > 1) od[r++] = a->dims[a->rank - 2];
  if (b->rank > 1) od[r++] = b->dims[b->rank - 1];
  *rank = r;
  if (macs) {
    double m = (double)K;
    for (int k = 0; k < r; k++) m *= (double)od[k];
    *macs = (int64_t)m;
  }
  return EC_OK;
}

ec_status ec_infer_matmul(ec_ctx *cx, ec_node *n) {
  ec_status st = ec_check_arity(cx, n, 2, 2, 1, 1);
  if (!st) st = ec_check_input(cx, n, 0, dt_mm);
  if (!st) st = ec_check_input(cx, n, 1, dt_mm);
  if (st) return st;
  const ec_tensor *a = ec_in(cx, n, 0), *b = ec_in(cx, n, 1);
  if (a->dtype != b->dtype)
    return ec_fail(cx, n, "inputs have different dtypes (%s and %s)", ec_dtype_name(a->dtype),
                   ec_dtype_name(b->dtype));
  int r;
  int64_t od[EC_MAX_RANK + 2];
  if ((st = matmul_shape(cx, n, a, b, &r, od, NULL))) return st;
  return ec_set_output(cx, n, 0, a->dtype, r, od);
}

/* A permutation attribute of rank r (absent: the identity) into perm. */
static ec_status perm_attr(ec_ctx *cx, ec_node *n, const char *name, int r, int32_t *perm) {
  const int64_t *v;
  int c;
  ec_status st = ec_attr_ints(cx, n, name, &v, &c);
  if (st) return st;
  if (c >= 0 && c != r) return ec_fail(cx, n, "%s has %d entries for rank %d", name, c, r);
  uint32_t seen = 0;
  for (int k = 0; k < r; k++) {
    int64_t a = c < 0 ? k : v[k];
    if (a < 0 || a >= r || (seen & (1u << a))) return ec_fail(cx, n, "%s is not a permutation of 0..%d", name, r - 1);
    seen |= 1u << a;
    perm[k] = (int32_t)a;
  }
  return EC_OK;
}

/* StridedMatMul (com.edgecc, the pass matmul-transpose): MatMul of Transpose(A, perm_a) and
 * Transpose(B, perm_b), the result transposed by perm_y; float operands of rank >= 2. */
ec_status ec_infer_strided_matmul(ec_ctx *cx, ec_node *n) {
  static const int32_t dt_f[] = {ECK_FLOAT, ECK_DOUBLE, ECK_FLOAT16, ECK_BFLOAT16, 0};
  ec_status st = ec_check_arity(cx, n, 2, 2, 1, 1);
  if (!st) st = ec_check_input(cx, n, 0, dt_f);
  if (!st) st = ec_check_input(cx, n, 1, dt_f);
  if (st) return st;
  const ec_tensor *a = ec_in(cx, n, 0), *b = ec_in(cx, n, 1);
  if (a->dtype != b->dtype) return ec_fail(cx, n, "inputs have different dtypes");
  if (a->rank < 2 || b->rank < 2) return ec_fail(cx, n, "operands must have rank >= 2");
  eck_strided_matmul_params *p = ec_params(cx, n, sizeof *p);
  if (!p) return EC_ERR_INTERNAL;
  if ((st = perm_attr(cx, n, "perm_a", a->rank, p->perm_a)) || (st = perm_attr(cx, n, "perm_b", b->rank, p->perm_b)))
    return st;
  /* The views, as MatMul's shape inference sees them. */
  ec_tensor va = *a, vb = *b;
  for (int k = 0; k < a->rank; k++) va.dims[k] = a->dims[p->perm_a[k]];
  for (int k = 0; k < b->rank; k++) vb.dims[k] = b->dims[p->perm_b[k]];
  int r;
  int64_t od[EC_MAX_RANK + 2], yd[EC_MAX_RANK];
  if ((st = matmul_shape(cx, n, &va, &vb, &r, od, NULL))) return st;
  if ((st = perm_attr(cx, n, "perm_y", r, p->perm_y))) return st;
  for (int k = 0; k < r; k++) yd[k] = od[p->perm_y[k]];
  return ec_set_output(cx, n, 0, a->dtype, r, yd);
}

static void print_perm(ec_buf *b, const char *name, const int32_t *perm) {
  ec_buf_printf(b, ".%s = {", name);
  for (int k = 0; k < EC_MAX_RANK; k++) ec_buf_printf(b, "%s%d", k ? ", " : " ", (int)perm[k]);
  ec_buf_printf(b, " }");
}

void ec_print_strided_matmul(ec_buf *b, const ec_node *n) {
  const eck_strided_matmul_params *p = n->params;
  ec_buf_printf(b, "{ ");
  print_perm(b, "perm_a", p->perm_a);
  ec_buf_printf(b, ", ");
  print_perm(b, "perm_b", p->perm_b);
  ec_buf_printf(b, ", ");
  print_perm(b, "perm_y", p->perm_y);
  ec_buf_printf(b, " }");
}

/* batch * M * N * K, K read through perm_a. */
void ec_cost_strided_matmul(const ec_graph *g, const ec_node *n, ec_cost *c) {
  const eck_strided_matmul_params *p = n->params;
  const ec_tensor *a = &g->tensors[n->inputs[0]], *y = &g->tensors[n->outputs[0]];
  double K = p && a->rank >= 2 ? (double)a->dims[p->perm_a[a->rank - 1]] : 0;
  c->macs = (double)ec_tensor_numel(y) * K;
  c->flops = 2 * c->macs;
  c->bytes = ec_nn_bytes(g, n);
}

/* A zero point or scale: a scalar, or 1-D with `count` values (per row of A / column of B). */
static ec_status check_q(ec_ctx *cx, const ec_node *n, int i, const int32_t *dts, int64_t count,
                         bool required) {
  const ec_tensor *t = ec_in(cx, n, i);
  if (!t) return required ? ec_fail(cx, n, "required input %d is missing", i) : EC_OK;
  ec_status st = ec_check_input(cx, n, i, dts);
  if (st) return st;
  int64_t e = ec_tensor_numel(t);
  if (e != 1 && !(t->rank == 1 && e == count))
    return ec_fail(cx, n, "'%s' must be a scalar or have %lld values", t->name, (long long)count);
  return EC_OK;
}

ec_status ec_infer_matmul_integer(ec_ctx *cx, ec_node *n) {
  ec_status st = ec_check_arity(cx, n, 2, 4, 1, 1);
  if (!st) st = ec_check_input(cx, n, 0, dt_q8);
  if (!st) st = ec_check_input(cx, n, 1, dt_q8);
  if (st) return st;
  const ec_tensor *a = ec_in(cx, n, 0), *b = ec_in(cx, n, 1);
  int r;
  int64_t od[EC_MAX_RANK + 2];
  if ((st = matmul_shape(cx, n, a, b, &r, od, NULL))) return st;
  int64_t M = a->rank > 1 ? a->dims[a->rank - 2] : 1, N = b->rank > 1 ? b->dims[b->rank - 1] : 1;
  if ((st = check_q(cx, n, 2, dt_q8, M, false))) return st;
  if ((st = check_q(cx, n, 3, dt_q8, N, false))) return st;
  return ec_set_output(cx, n, 0, ECK_INT32, r, od);
}

ec_status ec_infer_qlinear_matmul(ec_ctx *cx, ec_node *n) {
  static const int32_t dt_f[] = {ECK_FLOAT, 0};
  ec_status st = ec_check_arity(cx, n, 8, 8, 1, 1);
  if (!st) st = ec_check_input(cx, n, 0, dt_q8);
  if (!st) st = ec_check_input(cx, n, 3, dt_q8);
  if (st) return st;
  const ec_tensor *a = ec_in(cx, n, 0), *b = ec_in(cx, n, 3);
  int r;
  int64_t od[EC_MAX_RANK + 2];
  if ((st = matmul_shape(cx, n, a, b, &r, od, NULL))) return st;
  int64_t M = a->rank > 1 ? a->dims[a->rank - 2] : 1, N = b->rank > 1 ? b->dims[b->rank - 1] : 1;
  if ((st = check_q(cx, n, 1, dt_f, M, true))) return st;
  if ((st = check_q(cx, n, 2, dt_q8, M, true))) return st;
  if ((st = check_q(cx, n, 4, dt_f, N, true))) return st;
  if ((st = check_q(cx, n, 5, dt_q8, N, true))) return st;
  if ((st = check_q(cx, n, 6, dt_f, 1, true))) return st;
  if ((st = check_q(cx, n, 7, dt_q8, 1, true))) return st;
  return ec_set_output(cx, n, 0, ec_in(cx, n, 7)->dtype, r, od);
}

void ec_cost_gemm(const ec_graph *g, const ec_node *n, ec_cost *c) {
  const eck_gemm_params *p = n->params;
  const ec_tensor *a = &g->tensors[n->inputs[0]], *y = &g->tensors[n->outputs[0]];
  double K = (double)(p->trans_a ? a->dims[0] : a->dims[1]);
  c->macs = (double)ec_tensor_numel(y) * K;
  c->flops = 2 * c->macs + (double)ec_tensor_numel(y);
  c->bytes = ec_nn_bytes(g, n);
}

/* batch * M * N * K for MatMul, MatMulInteger and QLinearMatMul. */
void ec_cost_matmul(const ec_graph *g, const ec_node *n, ec_cost *c) {
  int bi = strcmp(n->op_type, "QLinearMatMul") == 0 ? 3 : 1;
  const ec_tensor *a = &g->tensors[n->inputs[0]], *y = &g->tensors[n->outputs[0]];
  (void)bi;
  double K = a->rank >= 1 ? (double)a->dims[a->rank - 1] : 0;
  c->macs = (double)ec_tensor_numel(y) * K;
  c->flops = 2 * c->macs;
  c->bytes = ec_nn_bytes(g, n);
}

/* ---- Einsum ----------------------------------------------------------------------------- */

/* One parsed term: labels per dim; -1 marks the dims the ellipsis covers (filled later). */
typedef struct term {
  int n;                        /* dims (letters + ellipsis dims) */
  int ell_at;                   /* position of "..." among the letters, -1 if none */
  int letters;
  char lab[EC_MAX_RANK + 1];
} term;

static ec_status parse_term(ec_ctx *cx, ec_node *n, const char *s, const char *e, term *t) {
  t->ell_at = -1;
  t->letters = 0;
  for (const char *p = s; p < e; p++) {
    if (*p == ' ') continue;
    if (*p == '.') {
      if (e - p < 3 || p[1] != '.' || p[2] != '.' || t->ell_at >= 0)
        return ec_fail(cx, n, "equation has a malformed ellipsis");
      t->ell_at = t->letters;
      p += 2;
      continue;
    }
    if (!isalpha((unsigned char)*p))
      return ec_fail(cx, n, "equation has an invalid character '%c'", *p);
    if (t->letters >= EC_MAX_RANK) return ec_fail(cx, n, "equation term has too many labels");
    t->lab[t->letters++] = *p;
  }
  return EC_OK;
}

ec_status ec_infer_einsum(ec_ctx *cx, ec_node *n) {
  ec_status st = ec_check_arity(cx, n, 1, ECK_EINSUM_MAX_IN, 1, 1);
  if (st) return st;
  for (int i = 0; i < n->n_inputs; i++)
    if ((st = ec_check_input(cx, n, i, dt_mm))) return st;
  const char *eq;
  if ((st = ec_attr_require(cx, n, "equation"))) return st;
  if ((st = ec_attr_string(cx, n, "equation", "", &eq))) return st;
  const char *arrow = strstr(eq, "->"), *lhs_end = arrow ? arrow : eq + strlen(eq);
  term terms[ECK_EINSUM_MAX_IN + 1];
  int nt = 0;
  const char *s = eq;
  for (;;) {
    const char *c = memchr(s, ',', (size_t)(lhs_end - s));
    const char *e = c ? c : lhs_end;
    if (nt >= n->n_inputs) return ec_fail(cx, n, "equation has more terms than inputs");
    if ((st = parse_term(cx, n, s, e, &terms[nt]))) return st;
    nt++;
    if (!c) break;
    s = c + 1;
  }
  if (nt != n->n_inputs)
    return ec_fail(cx, n, "equation has %d terms for %d inputs", nt, n->n_inputs);
  /* Labels: letters by character; the ellipsis dims (right-aligned) as '0'+k. */
  char names[ECK_EINSUM_MAX_LABELS];
  int64_t dims[ECK_EINSUM_MAX_LABELS];
  int nl = 0, ell = 0;
  const ec_tensor *t0 = ec_in(cx, n, 0);
  int8_t lab_of[ECK_EINSUM_MAX_IN][EC_MAX_RANK];
  for (int i = 0; i < nt; i++) {
    const ec_tensor *t = ec_in(cx, n, i);
    if (t->dtype != t0->dtype) return ec_fail(cx, n, "inputs must share one dtype");
    int ne = t->rank - terms[i].letters;
    if ((terms[i].ell_at < 0 && ne != 0) || ne < 0)
      return ec_fail(cx, n, "term %d of the equation has %d labels for input '%s' of rank %d", i,
                     terms[i].letters, t->name, t->rank);
    if (ne > ell) ell = ne;
  }
  for (int i = 0; i < nt; i++) {
    const ec_tensor *t = ec_in(cx, n, i);
    int ne = t->rank - terms[i].letters;
    for (int k = 0; k < t->rank; k++) {
      char nm;
      int li = terms[i].ell_at;
      if (li >= 0 && k >= li && k < li + ne)
        nm = (char)('0' + (ell - ne) + (k - li));
      else
        nm = terms[i].lab[li >= 0 && k >= li + ne ? k - ne : k];
      int l;
      for (l = 0; l < nl; l++)
        if (names[l] == nm) break;
      if (l == nl) {
        if (nl >= ECK_EINSUM_MAX_LABELS) return ec_fail(cx, n, "equation has too many labels");
        names[nl] = nm;
        dims[nl++] = t->dims[k];
      } else if (dims[l] != t->dims[k]) {
        if (dims[l] == 1 && nm >= '0' && nm <= '9')
          dims[l] = t->dims[k];
        else if (!(t->dims[k] == 1 && nm >= '0' && nm <= '9'))
          return ec_fail(cx, n, "label '%c' has sizes %lld and %lld", nm, (long long)dims[l],
                         (long long)t->dims[k]);
      }
      lab_of[i][k] = (int8_t)l;
    }
  }
  /* Output labels, in output order. */
  char outn[ECK_EINSUM_MAX_LABELS];
  int no = 0;
  if (arrow) {
    term ot;
    if ((st = parse_term(cx, n, arrow + 2, arrow + strlen(arrow), &ot))) return st;
    for (int k = 0; k < ot.letters + (ot.ell_at >= 0 ? ell : 0); k++) {
      int li = ot.ell_at;
      if (li >= 0 && k >= li && k < li + ell)
        outn[no++] = (char)('0' + (k - li));
      else
        outn[no++] = ot.lab[li >= 0 && k >= li + ell ? k - ell : k];
    }
  } else {
    for (int k = 0; k < ell; k++) outn[no++] = (char)('0' + k);
    for (int c = 0; c < 128; c++) {
      if (!isalpha(c)) continue;
      int uses = 0;
      for (int i = 0; i < nt; i++)
        for (int k = 0; k < terms[i].letters; k++) uses += terms[i].lab[k] == c;
      if (uses == 1) outn[no++] = (char)c;
    }
  }
  if (no > EC_MAX_RANK) return ec_fail(cx, n, "output would have rank %d", no);
  /* New order: output labels first. */
  int order[ECK_EINSUM_MAX_LABELS], newid[ECK_EINSUM_MAX_LABELS];
  bool taken[ECK_EINSUM_MAX_LABELS] = {false};
  int m = 0;
  for (int k = 0; k < no; k++) {
    int l;
    for (l = 0; l < nl; l++)
      if (names[l] == outn[k]) break;
    if (l == nl) return ec_fail(cx, n, "output label '%c' appears in no input", outn[k]);
    if (taken[l]) return ec_fail(cx, n, "output label '%c' appears twice", outn[k]);
    taken[l] = true;
    order[m++] = l;
  }
  for (int l = 0; l < nl; l++)
    if (!taken[l]) order[m++] = l;
  for (int k = 0; k < nl; k++) newid[order[k]] = k;
  eck_einsum_params *p = ec_params(cx, n, sizeof *p);
  if (!p) return EC_ERR_INTERNAL;
  p->n_in = nt;
  p->n_labels = nl;
  p->n_out_labels = no;
  for (int k = 0; k < nl; k++) p->label_dim[k] = dims[order[k]];
  for (int i = 0; i < nt; i++) {
    p->in_rank[i] = ec_in(cx, n, i)->rank;
    for (int k = 0; k < p->in_rank[i]; k++) p->in_labels[i][k] = (int8_t)newid[lab_of[i][k]];
  }
  int64_t od[EC_MAX_RANK];
  for (int k = 0; k < no; k++) od[k] = p->label_dim[k];
  return ec_set_output(cx, n, 0, t0->dtype, no, od);
}

void ec_cost_einsum(const ec_graph *g, const ec_node *n, ec_cost *c) {
  const eck_einsum_params *p = n->params;
  double all = 1;
  for (int k = 0; k < p->n_labels; k++) all *= (double)p->label_dim[k];
  c->macs = p->n_in > 1 ? all * (p->n_in - 1) : 0;
  c->flops = all * (p->n_in > 1 ? 2 * (p->n_in - 1) : 1);
  c->bytes = ec_nn_bytes(g, n);
}

void ec_print_gemm(ec_buf *b, const ec_node *n) {
  const eck_gemm_params *p = n->params;
  ec_buf_printf(b, "{ .alpha = %a, .beta = %a, .trans_a = %d, .trans_b = %d }", p->alpha,
                p->beta, (int)p->trans_a, (int)p->trans_b);
}

void ec_print_einsum(ec_buf *b, const ec_node *n) {
  const eck_einsum_params *p = n->params;
  ec_buf_printf(b, "{ .n_in = %d, .n_labels = %d, .n_out_labels = %d, .in_rank = {",
                (int)p->n_in, (int)p->n_labels, (int)p->n_out_labels);
  for (int i = 0; i < p->n_in; i++) ec_buf_printf(b, "%s%d", i ? ", " : "", (int)p->in_rank[i]);
  ec_buf_printf(b, "}, .in_labels = {");
  for (int i = 0; i < p->n_in; i++) {
    ec_buf_printf(b, "%s{", i ? ", " : "");
    if (p->in_rank[i] == 0) ec_buf_printf(b, "0");
    for (int k = 0; k < p->in_rank[i]; k++)
      ec_buf_printf(b, "%s%d", k ? ", " : "", (int)p->in_labels[i][k]);
    ec_buf_printf(b, "}");
  }
  ec_buf_printf(b, "}, .label_dim = ");
  ec_nn_print_i64s(b, p->label_dim, p->n_labels);
  ec_buf_printf(b, " }");
}
