/* lower.h — per-partition lowering for a device's kernels (DESIGN 2.3), and the kernel choice
 * codegen reads back: which node runs on XNNPACK, OpenBLAS, a layout helper or the reference C.
 *
 * ec_lower rewrites the graph for the fast kernels, in this order (each step can be switched
 * off by name, as `--no-pass NAME` spells it):
 *   channel-shuffle  Reshape-Transpose-Reshape of shufflenet -> one channel-shuffle node
 *   fold-pad         a zero constant Pad before a Conv -> the Conv's own padding
 *   nhwc             NHWC layout for XNNPACK chains (tensor.layout = EC_LAYOUT_NHWC), weights
 *                    re-ordered at compile time, layout conversions only where a reference
 *                    kernel or a graph input/output needs NCHW
 *   cancel-transpose (inside nhwc) a model's own Transpose (0,2,3,1) of NHWC data, or (0,3,1,2)
 *                    of plain [N,H,W,C] data, moves no byte: it becomes a copy (op Identity,
 *                    op_type kept) that the memory plan puts in place, so no step is left
 *   fuse-act         Relu/Clip after a Conv, Gemm, pooling, Add or NHWC BatchNormalization ->
 *                    the producer's output clamp
 *   fuse-sum         (oneDNN) a residual Add of a convolution's output and another tensor ->
 *                    the convolution, adding the other (oneDNN's sum post-op, EC_ATTR_SUM)
 *   concat-in-place  a channel Concat of NHWC data whose inputs' producers can write into its
 *                    output's channels (output pixel stride) does so: no copy (ec_view_root)
 * The rewritten graph stays a valid ONNX-shaped graph: logical dims never change, a tensor's
 * `layout` says how its bytes are ordered, and extra facts live in `edgecc_*` attributes.
 * ec_choose_kernel is a pure function of that graph and the kernel library name; lowering's last
 * step (ec_lower_record) stores its answer on every node, which the stages after it read. The
 * fast kernels are the rows of fast_kernels.def (docs/fast-kernels.md: how to add one). */
#ifndef EC_LOWER_H
#define EC_LOWER_H

#include "eck_dnnl.h"
#include "eck_xnn.h"
#include "ir.h"

enum { EC_LAYOUT_NCHW = 0, EC_LAYOUT_NHWC = 1 };

/* Attribute names lowering adds to nodes. */
#define EC_ATTR_ACT_MIN "edgecc_act_min"     /* fused output clamp (float) */
#define EC_ATTR_ACT_MAX "edgecc_act_max"
#define EC_ATTR_SHUFFLE "edgecc_shuffle_groups" /* a Transpose that is a channel shuffle (int) */
#define EC_ATTR_LAYOUT "edgecc_layout"       /* a Transpose that only converts layout (int) */
#define EC_ATTR_SAME_BYTES "edgecc_same_bytes" /* a Transpose made a byte copy by cancel-transpose
                                                  (int 1): its layouts differ, its bytes do not */
#define EC_ATTR_IN_PLACE "edgecc_in_place"   /* a channel Concat whose inputs are written in its
                                                output's channels (int 1): no copy */
#define EC_ATTR_SUM "edgecc_sum"             /* a Conv whose output adds its input 3, a residual
                                                (fuse-sum, oneDNN's sum post-op): int
                                                EC_SUM_CLAMP_AFTER or EC_SUM_CLAMP_FIRST */
enum { EC_SUM_CLAMP_AFTER = 1, EC_SUM_CLAMP_FIRST = 2 };
#define EC_SUM_INPUT 3 /* the residual's input of a fused Conv (input 2, the bias, may be -1) */

/* Which kernels each node gets is its `family` (ir.h), recorded from the plan before lowering:
 * a node of EC_KF_REF (its device has no fast kernels) is left as it is and keeps NCHW. */
typedef struct ec_lower_opts {
  const char *kernels;           /* "xnnpack" lowers (the nodes not of EC_KF_REF); "ref" leaves the
                                    graph as it is */
  const char *const *disabled;   /* names of lowering steps switched off (`all` = every one) */
  int n_disabled;
} ec_lower_opts;

extern const char *const ec_lower_steps[];
extern const int ec_n_lower_steps;
/* True when name is a lowering step (for --no-pass checking by the CLI). */
bool ec_lower_is_step(const char *name);

/* Lowers the whole graph (every live node) for the kernel library. The graph is linked,
 * topologically sorted and compacted on return. */
ec_status ec_lower(ec_graph *g, const ec_lower_opts *o, ec_diag *d);

/* What-if queries for the planner's cost model, before lowering (DESIGN 2.4). Pure: they read
 * the graph as the passes left it and never write it (no layout is set and put back).
 *
 * Will node i run on a fast kernel once lowered? On a lowered graph, what ec_choose_kernel
 * says; before lowering, also what the nhwc step will make of a convolution or pooling. */
bool ec_lower_runs_fast(const ec_graph *g, int i);
/* The layout node i's activations take on a fast family, before lowering, for --tuning's
 * conversion-aware choice (compiler/pipeline/tuning.c): EC_LAYOUT_NHWC when the nhwc step gives
 * it NHWC input 0 and output 0, EC_LAYOUT_NCHW when it stays NCHW, -1 when it follows its
 * inputs' layout (element-wise ops, in-place Concat...). On the reference kernels every node
 * is NCHW. ec_lower_layout_act: is tensor t an activation the nhwc step may re-order (4-D float
 * or 8-bit, not a constant), so that a layout change there costs a conversion? */
int ec_lower_fast_layout(const ec_graph *g, int i);
bool ec_lower_layout_act(const ec_graph *g, int t);
/* Will node i run on a oneDNN primitive once its family is `family` (a pure query the planner
 * asks before the family is recorded: clustering costs such steps on their own OpenMP team)? */
bool ec_lower_runs_dnnl(const ec_graph *g, int i, ec_kernel_family family);
/* Is node i a Relu or Clip that fuse-act will fold into its producer's fast kernel (its time is
 * then the producer's: about nothing)? False on a lowered graph, where such nodes are gone. */
bool ec_lower_fused_act(const ec_graph *g, int i);
/* Will lowering for the fast kernels leave no tensor t (the input of a fused Relu or Clip, the
 * 5-D tensors inside a channel shuffle)? The planner offers no cut there: cutting would keep
 * lowering from fusing (the tensor is pinned), for no fewer bytes on the link. */
bool ec_lower_removes_tensor(const ec_graph *g, int t);

/* After lowering, with the tensors crossing cuts marked is_output (they live in the
 * partitions' send and receive buffers, not in an arena, so lowering fused nothing across them
 * and no in-place Concat writes through them): a tensor crossing a cut travels in ONNX's layout
 * (NCHW), so a partition's output .pb, the wire frame's shape and every kernel library agree on
 * its bytes. When lowering left t in NHWC, its producer writes an NHWC twin converted into t (on
 * the sending side), and the readers that want NHWC read a copy converted back (on the receiving
 * side); a reader that only converted t to NCHW for a reference kernel is marked dead and its
 * readers read t, unless its output is itself marked is_output. New nodes are appended and the
 * graph relinked, not re-sorted: callers sort and reschedule (ec_pipeline_run). */
ec_status ec_lower_cut_tensor(ec_graph *g, int t);

/* Flags of a fast kernel (the flags column of fast_kernels.def). */
enum {
  EC_KFLAG_FUSE_ACT = 1 << 0,    /* applies a fused clamp (edgecc_act_min/max) */
  EC_KFLAG_STRIDED_IN = 1 << 1,  /* reads input 0 with any pixel stride */
  EC_KFLAG_STRIDED_OUT = 1 << 2  /* writes output 0 with any pixel stride */
};

/* What runs a node: its op's reference kernel (NCHW), an XNNPACK operator (xp filled, weight and
 * bias tensors in w and bias), or one of the plain-C helpers around them; one EC_KERNEL row of
 * fast_kernels.def each. */
typedef enum ec_kernel_kind {
#define EC_KERNEL(NAME, emit, label, flags) EC_K_##NAME,
#include "fast_kernels.def"
  EC_K_COUNT
} ec_kernel_kind;

typedef struct ec_kernel_choice {
  ec_kernel_kind kind;
  eck_xnn_params xp;
  eck_dnnl_params dp;  /* DNNL: the oneDNN primitive (a, b, w, bias as for XNN) */
  int a, b;            /* XNN: tensors of the first and second data input (-1: none) */
  int w, bias;         /* XNN: weight and bias tensors (-1: none) */
  size_t n, c, hw, groups; /* layout helpers and the NCHW shuffle */
  size_t scratch;      /* RNN, BLAS_MATMUL: bytes of arena scratch its kernel works in (the others take none) */
} ec_kernel_choice;

/* The kernel node n runs on with the given library ("ref": always EC_K_REF). Lowering's own
 * query: the stages after it read the choice it recorded (n->kernel), never this. */
ec_kernel_kind ec_choose_kernel(const ec_graph *g, const ec_node *n, const char *kernels,
                                ec_kernel_choice *c);

/* Lowering's last step: records on every live node (n->kernel) the kernel it runs on with the
 * library, EC_K_REF everywhere for "ref"; inside the subgraphs of If, Loop and Scan, whose steps
 * run the reference kernels, only the kernels that need no lowering of the graph around them
 * (EC_K_RNN), by the family of the node owning the subgraph. ec_lower ends with it; after the cut steps
 * (ec_lower_cut_tensor, by compiler/pipeline), which change what runs, the caller records again. Memory
 * planning and codegen read the records. EC_ERR_INTERNAL when out of memory. */
ec_status ec_lower_record(ec_graph *g, const char *kernels);

/* The `kernel:` label of a kind of step (fast_kernels.def). */
const char *ec_kernel_label(ec_kernel_kind k);
/* The function a step of node n calls when its kernel takes the reference kernel's signature
 * (params, in, n_in, out, n_out, scratch): its op's reference kernel, or eck_xnn_rnn (EC_K_RNN). */
const char *ec_kernel_ref_fn(const ec_node *n);

/* Zero-copy concat (lowering step concat-in-place): a tensor may live inside another one's
 * bytes, as the channels [off, off + C) of each pixel of a wider NHWC tensor (its "root", whose
 * channel count is then the pixel stride). ec_view_root returns the root of t (t itself when t
 * is no view) and t's first channel there. Derived from the graph alone: an input of an
 * in-place Concat lives in that Concat's output (the one with the most inputs when several),
 * and an in-place Concat whose inputs all live in a wider one's lives there too. */
int ec_view_root(const ec_graph *g, int t, int64_t *off);
/* Elements between pixels of NHWC tensor t: its root's channel count. */
size_t ec_view_stride(const ec_graph *g, int t);
/* The EC_KFLAG_* flags of the kernel c chose: its row's, and for an XNNPACK step its operator's. */
unsigned ec_kernel_flags(const ec_kernel_choice *c);
/* Kernels that read or write NHWC data with any pixel stride (may touch views). */
bool ec_kernel_strided_in(const ec_kernel_choice *c);
bool ec_kernel_strided_out(const ec_kernel_choice *c);

/* A rank-4 tensor whose bytes are the same in NCHW and NHWC order (C == 1 or H*W == 1);
 * tensors of other ranks have no layout and count as such too. */
bool ec_layout_free(const ec_tensor *t);

/* Build needs of the fast kernels, for the device folder's CMakeLists.txt (defined in
 * compiler/codegen/sources.c): appends to libs, NUL-separated and without duplicates, the
 * libraries the kernel sources in srcs (the NUL-separated list ec_sources_needed returns)
 * declare with an `edgecc-link:` line ("XNNPACK", "pthreadpool", "openblas"). */
void ec_sources_link_libs(const char *srcs, size_t len, ec_buf *libs);

/* True when the library name selects the fast kernels. */
bool ec_kernels_fast(const char *kernels);

#endif
