/* memplan.h — the static memory plan of one partition: every activation and kernel scratch
 * buffer gets an offset in one arena, and a verifier proves the plan safe.
 *
 * Lifetimes are intervals of step indices in the partition's schedule: a value is live from the
 * step that writes it to the last step that reads it. Two buffers may share bytes only when one's
 * last read comes before the other's first write. With clusters (the planner's ec_node.cluster,
 * each cluster on a thread of its own, cross-cluster tensors handed over by ready flags) that is
 * the happens-before partial order, not the schedule's: a lifetime then reaches the last step not
 * ordered after all its accesses, so lifetimes that do not meet are ordered, and a tensor is
 * written in place over another only when every other access of that one happens before. The
 * verifier checks the partial order itself: every pair of buffers whose bytes meet is ordered. Graph inputs and outputs are the caller's buffers; constants
 * live in the weights. A view (a tensor written straight into a zero-copy concat's channels,
 * lower.h) has no buffer of its own: it shares its root's, whose lifetime covers all its views. */
#ifndef EC_MEMPLAN_H
#define EC_MEMPLAN_H

#include "ecrt.h"
#include "ir.h"

/* The runtime's constants, defined once in runtime/ecrt.h: the arena the generated code binds
 * must be laid out by the same numbers its allocator and kernels assume. */
#define EC_MP_ALIGN ECRT_ALIGN /* offset alignment */
#define EC_MP_SLACK ECRT_SLACK /* readable bytes past every buffer */

typedef enum ec_mp_where {
  EC_MP_NONE = 0,     /* not touched by this partition */
  EC_MP_ARENA,        /* an activation or a scratch buffer in the arena */
  EC_MP_WEIGHTS,      /* a constant in the weights blob */
  EC_MP_CALLER        /* a partition input or output: the caller's buffer */
} ec_mp_where;

/* One arena buffer: a tensor, a run of tensors sharing bytes in place, or a node's scratch. */
typedef struct ec_mp_buf {
  size_t bytes;        /* largest tensor in it (without alignment or slack) */
  int first, last;     /* steps */
  size_t offset;
  int scratch_step;    /* >= 0: the scratch buffer of that step */
} ec_mp_buf;

typedef struct ec_memplan {
  int n_tensors;                /* g->n_tensors when planned */
  ec_mp_where *where;           /* per tensor */
  int *buf;                     /* per tensor: arena buffer index, or -1 */
  int *first, *last;            /* per tensor: steps of first write and last read (-1 if n/a) */
  int *inplace_of;              /* per tensor: the input tensor whose bytes it reuses, or -1 */
  int *view_root;               /* per tensor: the tensor whose bytes it lives in (a view of a
                                   zero-copy concat, ec_view_root), or -1 */
  size_t *view_off;             /* per tensor: byte offset of a view's first element in its root */
  ec_mp_buf *bufs;
  int n_bufs;
  int *scratch_buf;             /* per step: arena buffer of its scratch, or -1 */
  size_t *scratch_bytes;        /* per step */
  int n_steps;
  size_t arena_bytes;           /* end of the highest buffer, slack included, aligned */
  size_t lower_bound;           /* max over steps of the live buffers' padded sizes */
} ec_memplan;

/* The bytes a buffer of `bytes` occupies in the arena: slack added, rounded up to the alignment. */
size_t ec_mp_padded(size_t bytes);

/* Plans the arena for the steps `nodes[0..n_nodes)` of g (node indices, schedule order), with
 * `inputs`/`outputs` the tensors the caller provides. */
ec_status ec_memplan_build(const ec_graph *g, const int *nodes, int n_nodes, const int *inputs,
                           int n_inputs, const int *outputs, int n_outputs, ec_memplan *mp,
                           ec_diag *d);

/* Proves the plan: every arena tensor lies inside its buffer, in-place sharing only where the
 * op allows it, over its input 0 (a oneDNN convolution with a fused sum: over its residual), no
 * larger than that input and where that input dies, every step's scratch a buffer of its own as
 * large as its op asks, no two buffers whose lifetimes share a step share a byte (slack counted),
 * everything inside arena_bytes, offsets aligned,
 * and the lower bound holds.
 * Lifetimes are recomputed from the graph, not taken from the plan.
 * Fails with EC_ERR_INTERNAL and a message naming the two tensors (or scratch) otherwise;
 * tests/unit/test_memplan.c feeds it corrupted plans. */
ec_status ec_memplan_verify(const ec_graph *g, const int *nodes, int n_nodes, const int *inputs,
                            int n_inputs, const int *outputs, int n_outputs, const ec_memplan *mp,
                            ec_diag *d);

void ec_memplan_free(ec_memplan *mp);

#endif
