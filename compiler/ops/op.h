/* op.h — the op table: per ONNX op, attribute parsing + shape/dtype inference, cost, and the
 * reference kernel that runs it. Ops are listed once in ops.def (X-macro); each family of ops
 * lives in one file under compiler/ops/ and its kernels in kernels/ref/.
 *
 * How to add an op: add `EC_OP(Name, "", infer_fn, cost_fn, class, ref_fn, print_fn, params_type,
 * scratch_fn, flags, shape_inputs)` to the family's ops_*.def, write infer_fn (cost_fn may be NULL: one op per
 * output element) in the family file, and the kernel in kernels/ref/. The static_assert in
 * ops.c keeps the enum and the table in step. */
#ifndef EC_OP_H
#define EC_OP_H

#include "ir.h"
#include "eck_ref.h"

/* What an infer function gets. */
typedef struct ec_ctx {
  ec_graph *g;
  ec_diag *diag;
  int64_t opset;       /* ai.onnx opset of the model */
} ec_ctx;

typedef ec_status (*ec_infer_fn)(ec_ctx *cx, ec_node *n);
typedef void (*ec_cost_fn)(const ec_graph *g, const ec_node *n, ec_cost *c);
/* C initializer of n->params, e.g. `{ .axis = 1 }` (used by codegen). NULL: no params. */
typedef void (*ec_print_fn)(ec_buf *b, const ec_node *n);
/* Bytes of scratch the reference kernel needs for this node (NULL: none). */
typedef size_t (*ec_scratch_fn)(const ec_graph *g, const ec_node *n);

enum {
  EC_OPF_NONE = 0,
  EC_OPF_NOFOLD = 1 << 0,   /* never evaluated at compile time (random ops) */
  EC_OPF_INPLACE = 1 << 1,  /* output 0 may share input 0's bytes */
  EC_OPF_SHAPE_ONLY = 1 << 2, /* outputs depend on the inputs' shapes only (Shape, Size): always
                                folded, since shapes are static */
  EC_OPF_EXTENT = 1 << 3     /* data-dependent output shape: the kernel gets the upper bound in
                                out[k].dims and writes the extent it found there */
};

/* The cost model's class of an op (compiler/plan/cost.c maps it to its efficiency classes). */
typedef enum ec_op_cls {
  EC_OPCLS_MEMORY = 0, /* element-wise, pooling, data movement: bound by memory */
  EC_OPCLS_GEMM,       /* matrix products: bound by arithmetic */
  EC_OPCLS_CONV        /* convolutions: as GEMM, or between the two when grouped */
} ec_op_cls;

/* The params column of an op whose reference kernel takes no parameter struct. */
typedef struct ec_no_params {
  char none;
} ec_no_params;

typedef struct ec_op_def {
  const char *name;         /* ONNX op type */
  const char *domain;       /* "" = ai.onnx */
  ec_infer_fn infer;        /* checks inputs and attributes, sets outputs, fills n->params */
  ec_cost_fn cost;          /* NULL: one op per output element */
  ec_op_cls cls;            /* the cost model's class */
  eck_ref_fn ref;           /* NULL: edgecc cannot compile this op yet */
  const char *ref_name;     /* C name of the kernel, for codegen ("eck_ref_conv") */
  ec_print_fn print_params; /* NULL when the kernel takes no params */
  const char *params_type;  /* C type of n->params that print_params initialises ("eck_conv_params";
                               "ec_no_params" when none) */
  size_t params_size;       /* its size: n->params_size of every node of the op that has params */
  ec_scratch_fn scratch;    /* NULL: no scratch */
  unsigned flags;
  uint32_t shape_inputs;    /* bit i: input i is a shape operand and must be constant */
} ec_op_def;

/* The op enum: EC_OP_Conv, EC_OP_Add, ... */
typedef enum ec_op_id {
#define EC_OP(name, domain, infer, cost, cls, ref, print, params, scratch, flags, shape_inputs) EC_OP_##name,
#include "ops.def"
#undef EC_OP
  EC_OP_COUNT
} ec_op_id;

extern const ec_op_def ec_ops[];

/* Looks an op up by type and domain ("" and "ai.onnx" are the same). -1 if unknown. */
int ec_op_find(const char *op_type, const char *domain);

/* ---- helpers for infer functions ----------------------------------------------------------- */

/* Fails with `node '...' (Op): <message>`. Always returns EC_ERR_MODEL. */
ec_status ec_fail(ec_ctx *cx, const ec_node *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Checks the input/output counts (omitted optional ones counted as present positions). */
ec_status ec_check_arity(ec_ctx *cx, const ec_node *n, int min_in, int max_in, int min_out,
                         int max_out);

/* Input i, or NULL when omitted (or i out of range). */
ec_tensor *ec_in(ec_ctx *cx, const ec_node *n, int i);
/* Output i, or NULL when omitted. */
ec_tensor *ec_out(ec_ctx *cx, const ec_node *n, int i);
/* True when input i is present and a constant. */
bool ec_in_is_const(ec_ctx *cx, const ec_node *n, int i);

/* Reads constant integer input i (int32 or int64) as int64 values (malloc'd copy into *vals,
 * caller frees). Fails, naming the input and suggesting --freeze-input, if it is not constant. */
ec_status ec_in_const_ints(ec_ctx *cx, const ec_node *n, int i, int64_t **vals, int64_t *count);
/* Same for a float/double/float16 constant input, as doubles. */
ec_status ec_in_const_floats(ec_ctx *cx, const ec_node *n, int i, double **vals, int64_t *count);

/* Attribute getters. Absent: *out = default and returns EC_OK. Present with the wrong type:
 * fails naming the attribute. Each marks the attribute used. */
ec_attr *ec_attr_get(ec_node *n, const char *name); /* NULL if absent; marks used */
ec_status ec_attr_int(ec_ctx *cx, ec_node *n, const char *name, int64_t dflt, int64_t *out);
ec_status ec_attr_float(ec_ctx *cx, ec_node *n, const char *name, float dflt, float *out);
/* An int attribute that must be 0 or 1 (keepdims...). */
ec_status ec_attr_bool(ec_ctx *cx, ec_node *n, const char *name, int64_t dflt, int64_t *out);
/* *out points into the node (not a copy); *count = -1 when absent. */
ec_status ec_attr_ints(ec_ctx *cx, ec_node *n, const char *name, const int64_t **out, int *count);
ec_status ec_attr_floats(ec_ctx *cx, ec_node *n, const char *name, const float **out, int *count);
/* *out = dflt when absent. */
ec_status ec_attr_string(ec_ctx *cx, ec_node *n, const char *name, const char *dflt,
                         const char **out);
ec_status ec_attr_tensor(ec_ctx *cx, ec_node *n, const char *name, const ec_const **out);
/* Fails if the attribute is absent. */
ec_status ec_attr_require(ec_ctx *cx, ec_node *n, const char *name);

/* Sets output i's dtype and shape, checking dims are >= 0 and the byte size does not
 * overflow. A NULL output (omitted) is accepted silently. */
ec_status ec_set_output(ec_ctx *cx, ec_node *n, int i, int32_t dtype, int rank,
                        const int64_t *dims);
/* Output i gets the dtype and shape of tensor t. */
ec_status ec_set_output_like(ec_ctx *cx, ec_node *n, int i, const ec_tensor *t);
/* Data-dependent shapes (EC_OPF_EXTENT ops): output i as ec_set_output, its dims upper bounds
 * where bit k of dyn is set (ec_tensor.dyn); the kernel finds the extent at run time. */
ec_status ec_set_output_bound(ec_ctx *cx, ec_node *n, int i, int32_t dtype, int rank,
                              const int64_t *dims, uint8_t dyn);

/* Numpy-style multidirectional broadcast of several shapes. Fails if incompatible. */
ec_status ec_broadcast(ec_ctx *cx, const ec_node *n, const ec_tensor *const *ts, int count,
                       int *rank, int64_t *dims);

/* Normalises axis (may be negative) against rank; fails if out of [-rank, rank). */
ec_status ec_norm_axis(ec_ctx *cx, const ec_node *n, int64_t axis, int rank, int *out);

/* Allocates n->params (zeroed, `size` bytes); returns NULL (and fails the diag) on OOM. */
void *ec_params(ec_ctx *cx, ec_node *n, size_t size);

/* Requires input i to be present with a known shape and one of the listed dtypes
 * (dtypes: a 0-terminated list; NULL accepts any dtype). */
ec_status ec_check_input(ec_ctx *cx, const ec_node *n, int i, const int32_t *dtypes);

/* Common dtype sets (0-terminated). */
extern const int32_t ec_dt_float[];      /* float, double, float16, bfloat16 */
extern const int32_t ec_dt_numeric[];    /* all int/uint widths and the float types */
extern const int32_t ec_dt_int[];        /* int8..int64, uint8..uint64 */
extern const int32_t ec_dt_index[];      /* int32, int64 */
extern const int32_t ec_dt_all[];        /* every dtype but string */
bool ec_dtype_in(int32_t dt, const int32_t *set);

/* Cost helpers usable as ec_cost_fn. */
void ec_cost_elementwise(const ec_graph *g, const ec_node *n, ec_cost *c);
void ec_cost_none(const ec_graph *g, const ec_node *n, ec_cost *c); /* data movement only */

/* ---- the driver ---------------------------------------------------------------------------- */

/* Runs shape inference over the graph in topological order; a node whose inputs are all
 * constant is evaluated with its reference kernel and its outputs become constants. */
ec_status ec_infer_graph(ec_graph *g, ec_diag *d);
/* Infers one node (its inputs must be inferred already). */
ec_status ec_infer_node(ec_graph *g, int node, ec_diag *d);

/* Evaluates node n in-process with its reference kernel. All inputs must have data (constant
 * or provided in `values`, indexed by tensor, NULL where absent). Outputs are malloc'd into
 * values[out] (or, when values is NULL, set as the tensors' constant data). */
ec_status ec_eval_node(ec_graph *g, int node, void **values, ec_diag *d);

#endif
