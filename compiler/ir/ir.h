/* ir.h — the graph every stage of edgecc reads and writes: tensors, nodes, attributes.
 * The frontend builds it, passes rewrite it, the planner annotates it, codegen only reads it. */
#ifndef EC_IR_H
#define EC_IR_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eck_tensor.h"

#define EC_MAX_RANK ECK_MAX_RANK

/* Status of every fallible function. Values match edgecc's exit statuses. */
typedef enum ec_status {
  EC_OK = 0,
  EC_ERR_MODEL = 1,    /* the model or the request is wrong (user input) */
  EC_ERR_USAGE = 2,    /* command-line misuse */
  EC_ERR_INTERNAL = 3  /* a bug in edgecc, or out of memory */
} ec_status;

/* A diagnostic: one line, `edgecc: error: FILE: node 'NAME' (OP): WHAT`. */
typedef struct ec_diag {
  char file[512];
  char where[512]; /* "node 'conv1' (Conv)" or "node #12 (output 'y') (Add)", may be empty */
  char msg[1024];
} ec_diag;

typedef enum ec_tensor_kind {
  EC_TK_ACTIVATION = 0, /* computed at run time */
  EC_TK_INPUT,          /* graph input */
  EC_TK_CONSTANT        /* initializer, Constant node, frozen input or folded value */
} ec_tensor_kind;

typedef struct ec_quant {
  int axis;        /* -1: per tensor */
  int count;       /* number of scales (1 or the size of `axis`) */
  float *scale;
  int32_t *zero_point;
} ec_quant;

typedef struct ec_tensor {
  char *name;
  int32_t dtype;        /* ECK_* (ONNX TensorProto.DataType) */
  int rank;             /* -1 until shape inference sets it */
  int64_t dims[EC_MAX_RANK];
  ec_tensor_kind kind;
  bool is_output;       /* a graph output */
  /* Constant data (kind == EC_TK_CONSTANT): dense little-endian, eck_dtype_size() per element.
   * Points into the unpacked protobuf (owned == false) or into a malloc'd buffer (owned). */
  void *data;
  size_t nbytes;
  bool owned;
  int producer;         /* node index, -1 for inputs and constants */
  int *consumers;       /* node indices, one entry per use */
  int n_consumers, cap_consumers;
  ec_quant quant;       /* count == 0: not quantized */
  int layout;           /* 0: as in ONNX (NCHW); lowering may change it */
  /* Bit k set: dims[k] is an upper bound and the extent is found at run time (the outputs of
   * NonZero, Compress, Unique, NonMaxSuppression, TopK with a run-time K, Range with run-time
   * bounds, and of element-wise ops on them). Buffers are sized by the bound. */
  uint8_t dyn;
} ec_tensor;
_Static_assert(EC_MAX_RANK <= 8, "ec_tensor.dyn holds one bit per dimension");

typedef enum ec_attr_type {
  EC_ATTR_UNDEFINED = 0,
  EC_ATTR_FLOAT = 1,
  EC_ATTR_INT = 2,
  EC_ATTR_STRING = 3,
  EC_ATTR_TENSOR = 4,
  EC_ATTR_GRAPH = 5,
  EC_ATTR_FLOATS = 6,
  EC_ATTR_INTS = 7,
  EC_ATTR_STRINGS = 8,
  EC_ATTR_TENSORS = 9,
  EC_ATTR_GRAPHS = 10,
  EC_ATTR_SPARSE_TENSOR = 11,
  EC_ATTR_SPARSE_TENSORS = 12,
  EC_ATTR_TYPE_PROTO = 13,
  EC_ATTR_TYPE_PROTOS = 14
} ec_attr_type;

/* A constant value carried by an attribute (Constant's `value`, ConstantOfShape's `value`). */
typedef struct ec_const {
  int32_t dtype;
  int rank;
  int64_t dims[EC_MAX_RANK];
  void *data;
  size_t nbytes;
} ec_const;

typedef struct ec_attr {
  char *name;
  ec_attr_type type;
  int64_t i;
  float f;
  char *s;             /* STRING: bytes, NUL-terminated for convenience */
  size_t s_len;
  int64_t *ints;
  float *floats;
  char **strings;
  int n;               /* element count of INTS / FLOATS / STRINGS */
  ec_const *t;         /* TENSOR */
  struct ec_graph *graph; /* GRAPH: one of the node's subgraphs (the node owns it, not the attr) */
  bool used;           /* set by the getters; an attribute nobody read is reported unknown */
} ec_attr;

/* Kernel families a node can be lowered for (its device's library). EC_KF_ONEDNN: oneDNN first
 * where it has the op, XNNPACK for the rest (both read NHWC, so the two meet without conversions).
 * EC_KF_ONEDNN_DEFAULT: the same for the op kinds the target's default order gives oneDNN. */
typedef enum ec_kernel_family {
  EC_KF_UNSET = 0, EC_KF_REF, EC_KF_XNNPACK, EC_KF_ONEDNN, EC_KF_ONEDNN_DEFAULT
} ec_kernel_family;

typedef struct ec_node {
  char *name;          /* may be "" */
  char *op_type;
  char *domain;        /* "" for ai.onnx */
  int op;              /* index into the op table, -1 if unknown */
  int index;           /* position in the source file (for `node #12`) */
  int *inputs;         /* tensor indices; -1 for an omitted optional input */
  int n_inputs;
  int *outputs;        /* tensor indices; -1 for an omitted optional output */
  int n_outputs;
  ec_attr *attrs;
  int n_attrs;
  void *params;        /* op-specific parameter struct filled by shape inference (malloc'd) */
  size_t params_size;
  bool dead;           /* removed by a pass; compacted away by ec_graph_compact */
  /* Set by shape inference: the kernel finds its outputs' data-dependent extents (ec_tensor.dyn)
   * itself, getting the bounds in out[k].dims (EC_OPF_EXTENT ops; a Slice reading its starts at
   * run time). Else a data-dependent output follows its inputs' extents (element-wise ops). */
  bool own_extent;
  /* The ONNX nodes a graph pass folded into this one, as the generated code's comment names them
   * ("/enc/ln/{ReduceMean, Sub, ...}", ec_pass_record_fused); NULL for a node as loaded. */
  char *fused_from;
  /* The planner's decisions (ec_plan_record): the partition that runs the node and its device
   * (an index into the device list), -1 before planning. cluster, bits: not planned yet. team:
   * in a partition of several clusters, the threads of a oneDNN step's OpenMP team when the
   * clusters run side by side on the plan's threads (ec_plan_settle_clusters; 0: none planned). */
  int partition, device, cluster, bits, team;
  /* The kernel family of its device (ec_pipeline_run, from the plan): EC_KF_REF nodes are left
   * alone by lowering and run the reference kernels; EC_KF_UNSET before planning, where the
   * library a caller names decides. */
  ec_kernel_family family;
  /* --tuning FILE (compiler/pipeline/tuning.h): the family the tuning file picks for the node
   * (EC_KF_ONEDNN, EC_KF_XNNPACK or EC_KF_REF), which its device's fast family gives way to;
   * EC_KF_UNSET without a file or an entry. Set before planning, on the graph the passes left. */
  ec_kernel_family tuned;
  /* Lowering's decision (compiler/lower/lower.h): the kernel the node runs on and its parameters,
   * malloc'd and owned by the node, set by ec_lower_record; NULL until lowering ran. */
  struct ec_kernel_choice *kernel;
  /* Control flow (If, Loop, Scan): the graphs the node owns, in attribute order. A subgraph
   * reads tensors of the enclosing graphs by name (lexical scope); each such capture is an
   * implicit input of the node, appended after its ONNX inputs in subgraph order, so linking,
   * ordering and dead-code removal of the enclosing graph see the dependency. */
  struct ec_graph **subgraphs;
  int n_subgraphs;
} ec_node;

/* How a dimension the model leaves dynamic (a dim_param, or no value at all) got its value. */
typedef enum ec_pin_kind {
  EC_PIN_NONE,    /* not pinned (only `edgecc inspect` loads such a graph; the dim holds 1) */
  EC_PIN_DEFAULT, /* a leading dim, 1 by default (with a warning) */
  EC_PIN_DIM,     /* --dim NAME=N */
  EC_PIN_SHAPE,   /* --input-shape INPUT=D0xD1...: given for its input, or for another input
                     with the same dim_param */
} ec_pin_kind;

typedef struct ec_dyn_dim {
  int tensor;          /* the graph input */
  int dim;
  char *param;         /* its dim_param; "" when it has none */
  ec_pin_kind how;
} ec_dyn_dim;

typedef struct ec_graph {
  char *name;
  ec_tensor *tensors;
  int n_tensors, cap_tensors;
  ec_node *nodes;      /* topological order after ec_graph_toposort */
  int n_nodes, cap_nodes;
  int *inputs;         /* graph inputs (non-constant), in file order */
  int n_inputs;
  int *outputs;
  int n_outputs;
  int64_t opset;       /* ai.onnx opset version */
  int64_t ir_version;
  char *source_path;   /* as given on the command line */
  uint8_t sha256[32];  /* of the model file */
  void *pb_model;      /* the unpacked protobuf; constant data may point into it */
  void (*free_pb_model)(void *);
  int n_frozen;        /* graph inputs frozen into constants (--freeze-input) */
  ec_dyn_dim *dyn_dims; /* the graph inputs' dynamic dims, in input and dim order, as pinned */
  int n_dyn_dims;
  /* name -> tensor index */
  int *hash;
  int hash_cap;
  int64_t init_params; /* element count of the file's initializers (as ONNX counts them) */
  int64_t init_bytes;  /* their bytes */
  char **warnings;     /* warnings collected while loading, printed by main */
  int n_warnings;
  bool fold_shapes_only; /* `--no-pass const-fold`: ec_infer_graph folds only what static shapes
                            need (docs/passes.md) */
  bool lowered;        /* ec_lower ran for the fast kernels (layouts, fusions are final) */
  struct ec_graph *parent; /* a subgraph: the graph whose node owns it; NULL for the model's */
  int depth;               /* nesting depth: 0 for the model's graph */
  /* A subgraph's captures: tensors (kind EC_TK_INPUT, not in `inputs`) standing for tensors of
   * an enclosing graph; captures[k] matches the owning node's k-th implicit input of this graph. */
  int *captures;
  int n_captures;
  /* Several models merged into one graph (compiler/merge): their names (file stems) in the order
   * given, and per graph output the model it belongs to (an index into model_names); n_models
   * is 0 for one model. Codegen derives from them which steps a request for a set of the models
   * needs (the steps whose outputs lead to those models' outputs). */
  int n_models;
  char **model_names;
  int *output_model;
  /* --max-extent TENSOR=N: the most elements of a Range output whose bounds are run-time values
   * (the caller's array, kept while the graph is used; the model's graph only). */
  const struct ec_extent_bound *extent_bounds;
  int n_extent_bounds;
  /* --max-trip-count LOOP=N: the most iterations of a Loop whose trip count is a run-time value
   * (the caller's array, kept while the graph is used; the model's graph only). */
  const struct ec_trip_bound *trip_bounds;
  int n_trip_bounds;
} ec_graph;

typedef struct ec_extent_bound {
  const char *tensor;
  int64_t max;
} ec_extent_bound;

/* LOOP names the Loop node, or one of its outputs (an unnamed node: one a function expanded). */
typedef struct ec_trip_bound {
  const char *node;
  int64_t max;
} ec_trip_bound;

/* The deepest nesting of subgraphs the frontend accepts (the model's graph is depth 0). */
#define EC_MAX_GRAPH_DEPTH 16

/* Cost of one node. */
typedef struct ec_cost {
  double flops;        /* floating-point (or integer) operations */
  double macs;         /* multiply-adds (Conv, Gemm, MatMul...) */
  double bytes;        /* bytes read and written */
} ec_cost;

/* Graph construction. */
ec_graph *ec_graph_new(void);
void ec_graph_free(ec_graph *g);
int ec_graph_find(const ec_graph *g, const char *name); /* -1 if absent */
/* Finds or creates the tensor named `name` (rank -1, no dtype). Returns -1 on out of memory. */
int ec_graph_tensor(ec_graph *g, const char *name);
/* Adds a node; copies op_type, domain, name. Returns its index or -1. */
int ec_graph_add_node(ec_graph *g, const char *op_type, const char *domain, const char *name);
ec_status ec_node_set_inputs(ec_graph *g, int node, const int *tensors, int n);
ec_status ec_node_set_outputs(ec_graph *g, int node, const int *tensors, int n);
/* Recomputes producers and consumers from the nodes. */
ec_status ec_graph_link(ec_graph *g);
/* Drops dead nodes, then orders the rest topologically (stable: keeps file order where
 * possible). Fails on a cycle. */
ec_status ec_graph_toposort(ec_graph *g, ec_diag *d);
/* Several merged models (n_models >= 2): per tensor, bit m set when the tensor leads to an output
 * of model m (tmask: n_tensors entries, zeroed by the caller). Backwards to a fixed point, so the
 * node order need not be topological (lowering adds nodes). Codegen's per-model entry points and
 * the planner's joint plan both derive a node's models from it (the OR of its outputs'). */
void ec_graph_tensor_models(const ec_graph *g, uint32_t *tmask);
/* Number of the node's ONNX inputs (its inputs without the subgraphs' captures). */
int ec_node_n_explicit_inputs(const ec_node *n);
/* Appends the nodes of subgraph `s` of node `node` to g (an If's taken branch, a Loop's body
 * unrolled): the subgraph's tensors get tensors of g (named "NAME/2"... where g has the name
 * already), its captures are the node's matching implicit inputs, its formal inputs the tensors
 * `formals` names (NULL: it has none); outs[k] receives the tensor of g that its output k
 * became. copy: the subgraph stays as it is (nodes with subgraphs of their own cannot be
 * copied); else its nodes and bytes move into g and the subgraph is left for freeing. The node
 * itself is left alone; the caller wires its outputs, marks it dead and reorders g. */
ec_status ec_graph_inline_subgraph(ec_graph *g, int node, int s, const int *formals, bool copy,
                                   int *outs);
/* Creates a tensor named `name`, or NAME/2, NAME/3... when g has that name. -1: out of memory. */
int ec_graph_fresh_tensor(ec_graph *g, const char *name);
/* Drops dead nodes and relinks; tensors stay (codegen emits only the ones nodes use). */
ec_status ec_graph_compact(ec_graph *g);
/* Frees n's attributes and parsed params (a pass turning a node into another op). */
void ec_node_clear_attrs(ec_node *n);
void ec_graph_warn(ec_graph *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Tensors. */
int64_t ec_tensor_numel(const ec_tensor *t);
bool ec_tensor_is_const(const ec_tensor *t);
/* Makes `t` a constant holding a malloc'd copy of `data` (or taking ownership if own). */
ec_status ec_tensor_set_data(ec_tensor *t, void *data, size_t nbytes, bool take_ownership);
/* Makes t a constant of dtype and shape holding data (taken: malloc'd, freed with the graph). */
ec_status ec_tensor_make_const(ec_tensor *t, int32_t dtype, int rank, const int64_t *dims, void *data,
                               size_t nbytes);
/* Fills an eck_tensor view of `t` (data may be NULL for activations). */
void ec_tensor_view(const ec_tensor *t, eck_tensor *v);

/* dtypes */
const char *ec_dtype_name(int32_t dtype);  /* "float32", "int64"... ; "?" for unknown */
size_t ec_dtype_size(int32_t dtype);       /* 0 for strings and unknown */
bool ec_dtype_valid(int32_t dtype);

/* Node description for messages: "node 'conv1' (Conv)" or "node #12 (output 'y') (Add)". */
void ec_node_describe(const ec_graph *g, const ec_node *n, char *buf, size_t len);
/* A node's label in the generated steps table and in profiles: its name, or for an unnamed node
 * "Op -> first_output" (output names are unique, and stay when a node is inserted elsewhere, where
 * a position would renumber); "#index" only for a node without outputs. */
void ec_node_label(const ec_graph *g, const ec_node *n, char *buf, size_t len);

/* Diagnostics. */
void ec_diag_set(ec_diag *d, const char *file, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void ec_diag_vset(ec_diag *d, const char *file, const char *where, const char *fmt, va_list ap);
/* Fails with a message about node n (n may be NULL). Returns EC_ERR_MODEL. */
ec_status ec_fail_node(ec_diag *d, const ec_graph *g, const ec_node *n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Writes `edgecc: error: FILE: WHERE: WHAT` to stderr. */
void ec_diag_print(const ec_diag *d);

/* Small growable byte buffer used for JSON, C text and reports. */
typedef struct ec_buf {
  char *data;
  size_t len, cap;
  bool oom;
} ec_buf;
void ec_buf_printf(ec_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ec_buf_append(ec_buf *b, const void *p, size_t n);
void ec_buf_free(ec_buf *b);
/* Appends `s` as a JSON string literal (with quotes). */
void ec_buf_json_str(ec_buf *b, const char *s);
/* Reads a whole small file (a description, a profile, a /proc file) into an empty b, followed by
 * a NUL that b->len does not count. Returns 0, or an errno value: fopen's, EIO for a read error,
 * EFBIG when the file holds max bytes or more, ENOMEM. b is freed on failure. */
int ec_read_small_file(const char *path, size_t max, ec_buf *b);

/* Checked allocation helpers: return NULL on failure, never abort. */
void *ec_alloc(size_t n);          /* zeroed */
void *ec_realloc_array(void *p, size_t count, size_t size);
char *ec_strdup(const char *s);
char *ec_strndup(const char *s, size_t n);
/* a * b with overflow check; returns false on overflow. */
bool ec_mul_overflow_i64(int64_t a, int64_t b, int64_t *out);

#endif
