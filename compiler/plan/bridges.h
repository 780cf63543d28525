/* bridges.h — split points of a graph (tensors every input-to-output path passes through) and
 * the chain of blocks between them, found as S–T bridges by an iterative Tarjan search.
 *
 * Definitions (DESIGN 2.4, docs/planner.md):
 * - An *activation* tensor depends on a graph input: the graph inputs, and every output of a
 *   node that reads an activation (forward propagation; tensors of kind EC_TK_CONSTANT never
 *   are). Weights, constants and chains such as Identity-on-initializer are left out.
 * - The search graph is undirected: vertices are the operators that read an activation, the
 *   activation tensors, a source S joined to every graph input and a sink T joined to every
 *   graph output that is an activation; edges run producer - tensor and tensor - consumer (one
 *   edge per use, so a node reading a tensor twice makes parallel edges, not a false bridge).
 *   Only vertices on some directed input-to-output path take part ("live"): a dead branch
 *   could otherwise close an undirected cycle no data flows along and hide a split point.
 * - A tensor is a *split point* when its producer edge (S - t for a graph input) is a bridge
 *   separating S from T. A sole graph input, and a sole graph output, are split points too.
 * - A *cut* is a split point with a node on each side (a producer, and a live consumer): the
 *   cuts, in order, divide the graph's nodes into a chain of n_cuts + 1 non-empty blocks.
 *
 * Usage: ec_bridges_find(g, &b, &d) on a topologically sorted graph (ec_graph_toposort), read
 * b.cut / b.node_block, then ec_bridges_free(&b). O(nodes + tensors + uses), no recursion. */
#ifndef EC_BRIDGES_H
#define EC_BRIDGES_H

#include <stdint.h>

#include "ir.h"

/* Per-tensor flags in ec_bridges.tensor_flags. */
enum {
  EC_BR_ACTIVATION = 1 << 0, /* depends on a graph input */
  EC_BR_LIVE = 1 << 1,       /* activation on a path to a graph output */
  EC_BR_SPLIT = 1 << 2,      /* split point */
  EC_BR_CUT = 1 << 3         /* split point with a node on each side */
};

typedef struct ec_bridges {
  /* Split points, ordered from the inputs to the outputs (tensor indices). */
  int *split;
  int n_split;
  /* Cuts, ordered: cut[c] is the one tensor that crosses from block c to block c + 1. */
  int *cut;
  int n_cuts;
  int n_blocks;            /* n_cuts + 1 (1 when the graph has no cut) */
  /* Block of every node (g->n_nodes entries), in 0..n_blocks-1, non-decreasing along the
   * topological order of live nodes. Constant-only nodes (no activation input: they compute
   * from weights only) take the block of their earliest consumer; a dead node (one that
   * reaches no graph output) takes the block of its latest input. */
  int *node_block;
  uint8_t *tensor_flags;   /* g->n_tensors entries, EC_BR_* */
  int n_const_nodes;       /* nodes with no activation input */
  int n_dead_nodes;        /* activation nodes that reach no graph output (DCE leftovers) */
  bool connected;          /* some graph output depends on some graph input */
} ec_bridges;

/* Finds the split points, cuts and blocks of `g`. Fails (EC_ERR_INTERNAL with a message) if
 * the nodes are not in topological order or memory runs out. */
ec_status ec_bridges_find(const ec_graph *g, ec_bridges *out, ec_diag *d);
void ec_bridges_free(ec_bridges *b);

/* Index of `tensor` in b->cut, or -1. */
int ec_bridges_cut_index(const ec_bridges *b, int tensor);

/* Explains, in one sentence for an error message, why `tensor` is not a cut (for
 * --split-at): a constant, not on a path to an output, a graph input or output, or bypassed
 * (naming the node that joins a path avoiding it). Returns false when it is a cut (and writes
 * nothing). */
bool ec_bridges_why_not(const ec_graph *g, const ec_bridges *b, int tensor, char *buf,
                        size_t len);

/* Resolves --split-at names into cut indices, sorted ascending (cuts_out: n entries). Errors
 * (EC_ERR_USAGE, message starting "--split-at: "): no tensor of that name, a tensor that is not a
 * cut (with ec_bridges_why_not's reason), or the same cut twice. */
ec_status ec_bridges_resolve_cuts(const ec_graph *g, const ec_bridges *b,
                                  const char *const *names, int n, int *cuts_out, ec_diag *d);

/* Per-block sums of the bytes of the constant tensors (weights) the block's nodes read, directly
 * or through constant-only nodes (Identity on a weight), each counted once per block that needs
 * it. `out` has b->n_blocks entries. */
void ec_bridges_block_weights(const ec_graph *g, const ec_bridges *b, double *out);

#endif
