/* elementwise_binary.c — shape inference of the broadcasting ops: binary arithmetic, logic,
 * comparisons, shifts, PRelu (numpy broadcasting; opsets before 7 use `broadcast`/`axis`),
 * the variadic Max/Min/Sum/Mean, and Where. */
#include <stdio.h>
#include <string.h>

#include "elementwise.h"

static const int32_t dt_bool[] = {ECK_BOOL, 0};
static const int32_t dt_uint[] = {ECK_UINT8, ECK_UINT16, ECK_UINT32, ECK_UINT64, 0};

typedef struct {
  int op;
  int32_t fn;
  const int32_t *dtypes;
  bool to_bool;       /* comparisons */
  bool mixed;         /* the inputs may have different dtypes (Pow's exponent) */
  bool legacy_bcast;  /* before opset 7 it had the `broadcast` and `axis` attributes */
} binary_def;

static const binary_def binary_defs[] = {
    {EC_OP_Add, ECK_BINARY_ADD, ec_dt_numeric, false, false, true},
    {EC_OP_Sub, ECK_BINARY_SUB, ec_dt_numeric, false, false, true},
    {EC_OP_Mul, ECK_BINARY_MUL, ec_dt_numeric, false, false, true},
    {EC_OP_Div, ECK_BINARY_DIV, ec_dt_numeric, false, false, true},
    {EC_OP_Pow, ECK_BINARY_POW, ec_dt_numeric, false, true, true},
    {EC_OP_Mod, ECK_BINARY_MOD, ec_dt_numeric, false, false, false},
    {EC_OP_PRelu, ECK_BINARY_PRELU, ec_dt_numeric, false, false, false},
    {EC_OP_And, ECK_BINARY_AND, dt_bool, false, false, true},
    {EC_OP_Or, ECK_BINARY_OR, dt_bool, false, false, true},
    {EC_OP_Xor, ECK_BINARY_XOR, dt_bool, false, false, true},
    {EC_OP_BitShift, ECK_BINARY_SHIFT_LEFT, dt_uint, false, false, false},
    {EC_OP_Equal, ECK_BINARY_EQUAL, ec_dt_all, true, false, true},
    {EC_OP_Greater, ECK_BINARY_GREATER, ec_dt_numeric, true, false, true},
    {EC_OP_Less, ECK_BINARY_LESS, ec_dt_numeric, true, false, true},
    {EC_OP_GreaterOrEqual, ECK_BINARY_GREATER_EQUAL, ec_dt_numeric, true, false, false},
    {EC_OP_LessOrEqual, ECK_BINARY_LESS_EQUAL, ec_dt_numeric, true, false, false},
};

static const char *const binary_names[] = {
#define EC_X_NAME(name) "ECK_BINARY_" #name,
    ECK_BINARY_FNS(EC_X_NAME)
#undef EC_X_NAME
};
_Static_assert(sizeof binary_names / sizeof binary_names[0] == ECK_BINARY_COUNT,
               "binary names out of step with eck_binary_fn");

static void shape_str(const ec_tensor *t, char *buf, size_t len) {
  size_t o = 0;
  o += (size_t)snprintf(buf, len, "[");
  for (int k = 0; k < t->rank && o < len; k++)
    o += (size_t)snprintf(buf + o, len - o, "%s%lld", k ? "," : "", (long long)t->dims[k]);
  if (o < len) snprintf(buf + o, len - o, "]");
}

/* Opsets 1-6: B is broadcast onto A only when `broadcast` is set, aligned at `axis` (default:
 * B's dims are A's trailing dims). The output has A's shape. */
static ec_status legacy_broadcast(ec_ctx *cx, ec_node *n, eck_binary_params *p) {
  const ec_tensor *a = ec_in(cx, n, 0), *b = ec_in(cx, n, 1);
  int64_t bcast, axis = 0;
  ec_status st = ec_attr_int(cx, n, "broadcast", 0, &bcast);
  bool has_axis = ec_attr_get(n, "axis") != NULL;
  if (!st) st = ec_attr_int(cx, n, "axis", 0, &axis);
  if (st) return st;
  char sa[160], sb[160];
  shape_str(a, sa, sizeof sa);
  shape_str(b, sb, sizeof sb);
  if (!bcast) {
    bool same = a->rank == b->rank;
    for (int k = 0; same && k < a->rank; k++) same = a->dims[k] == b->dims[k];
    if (!same)
      return ec_fail(cx, n,
                     "input shapes %s and %s differ and attribute 'broadcast' is not set "
                     "(opset %lld needs it to broadcast)",
                     sa, sb, (long long)cx->opset);
    return EC_OK;
  }
  if (b->rank > a->rank)
    return ec_fail(cx, n, "cannot broadcast B %s onto A %s: B has more dimensions", sb, sa);
  int start = a->rank - b->rank;
  if (has_axis) {
    if (axis < 0) axis += a->rank;
    if (axis < 0 || axis + b->rank > a->rank)
      return ec_fail(cx, n, "attribute 'axis' places B %s outside A %s", sb, sa);
    start = (int)axis;
  }
  for (int k = 0; k < b->rank; k++)
    if (b->dims[k] != 1 && b->dims[k] != a->dims[start + k])
      return ec_fail(cx, n, "cannot broadcast B %s onto A %s at axis %d", sb, sa, start);
  p->b_trailing_ones = a->rank - start - b->rank;
  return EC_OK;
}

ec_status ec_infer_binary(ec_ctx *cx, ec_node *n) {
  const binary_def *d = NULL;
  for (size_t k = 0; k < sizeof binary_defs / sizeof binary_defs[0]; k++)
    if (binary_defs[k].op == n->op) d = &binary_defs[k];
  if (!d) return ec_fail(cx, n, "internal error: %s is not a binary op", n->op_type);
  ec_status st = ec_check_arity(cx, n, 2, 2, 1, 1);
  if (!st) st = ec_check_input(cx, n, 0, d->dtypes);
  if (!st) st = ec_check_input(cx, n, 1, d->dtypes);
  if (!st) st = ec_ew_legacy_attrs(cx, n);
  if (st) return st;
  const ec_tensor *ts[2] = {ec_in(cx, n, 0), ec_in(cx, n, 1)};
  if (!d->mixed && ts[0]->dtype != ts[1]->dtype)
    return ec_fail(cx, n, "inputs have different dtypes (%s and %s)", ec_dtype_name(ts[0]->dtype),
                   ec_dtype_name(ts[1]->dtype));
  eck_binary_params *p = ec_params(cx, n, sizeof *p);
  if (!p) return EC_ERR_INTERNAL;
  p->fn = d->fn;
  if (n->op == EC_OP_Mod) {
    int64_t fmod;
    st = ec_attr_int(cx, n, "fmod", 0, &fmod);
    if (st) return st;
    if (fmod != 0 && fmod != 1) return ec_fail(cx, n, "attribute 'fmod' must be 0 or 1");
    if (!fmod && ec_dtype_in(ts[0]->dtype, ec_dt_float))
      return ec_fail(cx, n, "Mod on %s inputs needs fmod=1", ec_dtype_name(ts[0]->dtype));
    p->fn = fmod ? ECK_BINARY_FMOD : ECK_BINARY_MOD;
  } else if (n->op == EC_OP_BitShift) {
    st = ec_attr_require(cx, n, "direction");
    const char *dir = NULL;
    if (!st) st = ec_attr_string(cx, n, "direction", "", &dir);
    if (st) return st;
    if (strcmp(dir, "LEFT") == 0)
      p->fn = ECK_BINARY_SHIFT_LEFT;
    else if (strcmp(dir, "RIGHT") == 0)
      p->fn = ECK_BINARY_SHIFT_RIGHT;
    else
      return ec_fail(cx, n, "attribute 'direction' must be \"LEFT\" or \"RIGHT\", is \"%s\"", dir);
  }
  int rank;
  int64_t dims[EC_MAX_RANK];
  if (n->op == EC_OP_PRelu && cx->opset < 7 && ts[1]->rank == 1 && ts[1]->dims[0] != 1 &&
      ts[0]->rank >= 2 && ts[1]->dims[0] == ts[0]->dims[1]) {
    /* before opset 7 a 1-D slope holds one value per channel (axis 1) */
    p->b_trailing_ones = ts[0]->rank - 2;
    rank = ts[0]->rank;
    memcpy(dims, ts[0]->dims, sizeof dims);
  } else if (d->legacy_bcast && cx->opset < 7) {
    st = legacy_broadcast(cx, n, p);
    rank = ts[0]->rank;
    memcpy(dims, ts[0]->dims, sizeof dims);
  } else {
    st = ec_broadcast(cx, n, ts, 2, &rank, dims);
  }
  if (st) return st;
  if (n->op == EC_OP_PRelu) {
    /* the slope broadcasts onto X, never the other way */
    bool same = rank == ts[0]->rank;
    for (int k = 0; same && k < rank; k++) same = dims[k] == ts[0]->dims[k];
    if (!same) {
      char sx[160], ss[160];
      shape_str(ts[0], sx, sizeof sx);
      shape_str(ts[1], ss, sizeof ss);
      return ec_fail(cx, n, "slope %s does not broadcast to the input's shape %s", ss, sx);
    }
  }
  return ec_set_output(cx, n, 0, d->to_bool ? ECK_BOOL : ts[0]->dtype, rank, dims);
}

ec_status ec_infer_variadic(ec_ctx *cx, ec_node *n) {
  bool float_only = n->op == EC_OP_Sum || n->op == EC_OP_Mean;
  ec_status st = ec_check_arity(cx, n, 1, 64, 1, 1);
  if (!st) st = ec_ew_legacy_attrs(cx, n);
  if (st) return st;
  const ec_tensor *ts[64];
  for (int i = 0; i < n->n_inputs; i++) {
    st = ec_check_input(cx, n, i, float_only ? ec_dt_float : ec_dt_numeric);
    if (st) return st;
    ts[i] = ec_in(cx, n, i);
    if (ts[i]->dtype != ts[0]->dtype)
      return ec_fail(cx, n, "inputs have different dtypes (%s and %s)",
                     ec_dtype_name(ts[0]->dtype), ec_dtype_name(ts[i]->dtype));
  }
  int rank;
  int64_t dims[EC_MAX_RANK];
  st = ec_broadcast(cx, n, ts, n->n_inputs, &rank, dims);
  if (st) return st;
  eck_variadic_params *p = ec_params(cx, n, sizeof *p);
  if (!p) return EC_ERR_INTERNAL;
  p->fn = n->op == EC_OP_Max   ? ECK_VARIADIC_MAX
          : n->op == EC_OP_Min ? ECK_VARIADIC_MIN
          : n->op == EC_OP_Sum ? ECK_VARIADIC_SUM
                               : ECK_VARIADIC_MEAN;
  return ec_set_output(cx, n, 0, ts[0]->dtype, rank, dims);
}

ec_status ec_infer_where(ec_ctx *cx, ec_node *n) {
  ec_status st = ec_check_arity(cx, n, 3, 3, 1, 1);
  if (!st) st = ec_check_input(cx, n, 0, dt_bool);
  if (!st) st = ec_check_input(cx, n, 1, ec_dt_all);
  if (!st) st = ec_check_input(cx, n, 2, ec_dt_all);
  if (st) return st;
  const ec_tensor *ts[3] = {ec_in(cx, n, 0), ec_in(cx, n, 1), ec_in(cx, n, 2)};
  if (ts[1]->dtype != ts[2]->dtype)
    return ec_fail(cx, n, "X and Y have different dtypes (%s and %s)",
                   ec_dtype_name(ts[1]->dtype), ec_dtype_name(ts[2]->dtype));
  int rank;
  int64_t dims[EC_MAX_RANK];
  st = ec_broadcast(cx, n, ts, 3, &rank, dims);
  if (st) return st;
  return ec_set_output(cx, n, 0, ts[1]->dtype, rank, dims);
}

void ec_cost_variadic(const ec_graph *g, const ec_node *n, ec_cost *c) {
  ec_cost_elementwise(g, n, c);
  int present = 0;
  for (int i = 0; i < n->n_inputs; i++) present += n->inputs[i] >= 0;
  double per = present > 1 ? present - 1 : 0;
  if (n->op == EC_OP_Mean && present > 1) per += 1;
  c->flops *= per;
}

void ec_print_binary(ec_buf *b, const ec_node *n) {
  const eck_binary_params *p = n->params;
  const char *name = p->fn >= 0 && p->fn < ECK_BINARY_COUNT ? binary_names[p->fn] : "0";
  ec_buf_printf(b, "{ .fn = %s, .b_trailing_ones = %d }", name, (int)p->b_trailing_ones);
}

void ec_print_variadic(ec_buf *b, const ec_node *n) {
  static const char *const names[] = {"ECK_VARIADIC_MAX", "ECK_VARIADIC_MIN", "ECK_VARIADIC_SUM",
                                      "ECK_VARIADIC_MEAN"};
  const eck_variadic_params *p = n->params;
  ec_buf_printf(b, "{ .fn = %s }", p->fn >= 0 && p->fn < 4 ? names[p->fn] : "0");
}
