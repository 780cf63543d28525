/* test_memplan.c — the memory-plan verifier (ec_memplan_verify) against corrupted plans. Each test
 * builds a small graph, lets ec_memplan_build plan it, checks the verifier accepts that plan, then
 * corrupts it one way and checks the verifier refuses it with a message naming both tensors
 * involved. The boundaries are tried on both sides: a tensor written at the step where another is
 * last read may not share its bytes, one written a step later may; a buffer that starts in
 * another's slack overlaps it, one that starts past the slack does not. */
#include <stdio.h>
#include <stdlib.h>

#include "lower.h"
#include "memplan.h"
#include "op.h"
#include "unit_test.h"

/* The fixtures below place buffers by the runtime's numbers (runtime/ecrt.h, through memplan.h). */
_Static_assert(EC_MP_ALIGN == 64 && EC_MP_SLACK == 16, "test_memplan's offsets assume ECRT_ALIGN 64, ECRT_SLACK 16");

typedef struct {
  ec_graph *g;
  int nodes[16], n_nodes;
  int inputs[4], n_inputs;
  int outputs[4], n_outputs;
  ec_memplan mp;
  ec_diag dg;
} fx;

static void fx_free(fx *f) {
  ec_memplan_free(&f->mp);
  ec_graph_free(f->g);
  free(f);
}

static fx *fx_new(void) {
  fx *f = calloc(1, sizeof *f);
  assert_non_null(f);
  f->g = ec_graph_new();
  f->g->opset = 13;
  f->g->source_path = ec_strdup("m.onnx");
  return f;
}

static int T(fx *f, const char *name) {
  int t = ec_graph_find(f->g, name);
  if (t < 0) fail_msg("no tensor '%s'", name);
  return t;
}

static void in(fx *f, const char *name, int rank, const int64_t *dims) {
  f->inputs[f->n_inputs++] = ut_input(f->g, name, rank, dims);
}

static void node(fx *f, const char *op, const char *name, const char *const *ins, const char *const *outs) {
  int k = ut_node(f->g, op, name, ins, outs);
  f->g->nodes[k].op = ec_op_find(op, "");
  assert_true(f->g->nodes[k].op >= 0);
}

static void infer(fx *f) {
  assert_int_equal(ec_graph_toposort(f->g, &f->dg), EC_OK);
  ec_status st = ec_infer_graph(f->g, &f->dg);
  if (st) fail_msg("inference failed: %s: %s", f->dg.where, f->dg.msg);
}

/* Schedules the nodes in order (after inference) and plans. */
static void plan_inferred(fx *f, const char *const *outs) {
  ec_status st;
  for (int i = 0; outs[i]; i++) f->outputs[f->n_outputs++] = T(f, outs[i]);
  for (int i = 0; i < f->g->n_nodes; i++) f->nodes[f->n_nodes++] = i;
  st = ec_memplan_build(f->g, f->nodes, f->n_nodes, f->inputs, f->n_inputs, f->outputs,
                        f->n_outputs, &f->mp, &f->dg);
  if (st) fail_msg("planning failed: %s", f->dg.msg);
}

static void plan(fx *f, const char *const *outs) {
  infer(f);
  plan_inferred(f, outs);
}

static ec_status verify(fx *f) {
  memset(&f->dg, 0, sizeof f->dg);
  return ec_memplan_verify(f->g, f->nodes, f->n_nodes, f->inputs, f->n_inputs, f->outputs,
                           f->n_outputs, &f->mp, &f->dg);
}

static void expect_ok(fx *f, const char *what) {
  if (verify(f) != EC_OK) fail_msg("%s: a valid plan was refused: %s", what, f->dg.msg);
}

/* Refused, the message containing `why` and naming a and (when given) b, in either order; a
 * tensor's name is looked for in quotes, a scratch's ("scratch of 'det'") as given. */
static void expect_reject(fx *f, const char *what, const char *why, const char *a, const char *b) {
  char qa[64], qb[64];
  ec_status st = verify(f);
  if (st != EC_ERR_INTERNAL) fail_msg("%s: the corrupted plan was accepted (status %d)", what, (int)st);
  b = b ? b : a;
  snprintf(qa, sizeof qa, strchr(a, '\'') ? "%s" : "'%s'", a);
  snprintf(qb, sizeof qb, strchr(b, '\'') ? "%s" : "'%s'", b);
  if (!strstr(f->dg.msg, why) || !strstr(f->dg.msg, qa) || !strstr(f->dg.msg, qb))
    fail_msg("%s: refused, but the message \"%s\" lacks \"%s\", %s or %s", what, f->dg.msg, why, qa, qb);
}

static int buf_of(fx *f, const char *name) {
  int b = f->mp.buf[T(f, name)];
  if (b < 0) fail_msg("'%s' has no arena buffer", name);
  return b;
}

/* The arena just large enough for the buffers as they are now placed. */
static void fit_arena(fx *f) {
  size_t end = 0;
  for (int b = 0; b < f->mp.n_bufs; b++) {
    size_t e = f->mp.bufs[b].offset + ec_mp_padded(f->mp.bufs[b].bytes);
    if (e > end) end = e;
  }
  f->mp.arena_bytes = end > f->mp.lower_bound ? end : f->mp.lower_bound;
}

static void place(fx *f, const char *name, size_t offset) {
  f->mp.bufs[buf_of(f, name)].offset = offset;
  fit_arena(f);
}

/* Moves tensor `t` into the buffer of `into` (a corrupted plan), widening that buffer's recorded
 * lifetime and size as a careless planner would, so that only the sharing itself is wrong. */
static void share(fx *f, const char *t, const char *into, bool inplace) {
  int x = T(f, t), b = buf_of(f, into);
  ec_mp_buf *bb = &f->mp.bufs[b];
  f->mp.buf[x] = b;
  f->mp.inplace_of[x] = inplace ? T(f, into) : -1;
  if (f->mp.first[x] < bb->first) bb->first = f->mp.first[x];
  if (f->mp.last[x] > bb->last) bb->last = f->mp.last[x];
  size_t bytes = (size_t)ec_tensor_numel(&f->g->tensors[x]) * ec_dtype_size(f->g->tensors[x].dtype);
  if (bytes > bb->bytes) bb->bytes = bytes;
  fit_arena(f);
}

/* x -> Relu a (step 0) -> Transpose b (1) -> Transpose c (2) -> Relu y (3, the output). a is last
 * read at step 1, where b is written: they touch. c is written at step 2, one step after a's last
 * read. Every activation is 4x4 float: 64 bytes, 128 in the arena with slack and alignment. */
static fx *chain(void) {
  fx *f = fx_new();
  int64_t d[2] = {4, 4};
  in(f, "x", 2, d);
  node(f, "Relu", "r0", UT_NAMES("x"), UT_NAMES("a"));
  node(f, "Transpose", "t1", UT_NAMES("a"), UT_NAMES("b"));
  node(f, "Transpose", "t2", UT_NAMES("b"), UT_NAMES("c"));
  node(f, "Relu", "r3", UT_NAMES("c"), UT_NAMES("y"));
  plan(f, UT_NAMES("y"));
  assert_int_equal(f->mp.first[T(f, "b")], 1);
  assert_int_equal(f->mp.last[T(f, "a")], 1);
  assert_int_equal(f->mp.first[T(f, "c")], 2);
  assert_int_equal(f->mp.n_bufs, 3);
  place(f, "a", 0);
  place(f, "b", 128);
  place(f, "c", 256);
  expect_ok(f, "chain, disjoint buffers");
  return f;
}

/* Lifetimes that touch: b is written by the step that last reads a. */
static void touching_lifetimes(void **state) {
  fx *f = chain();
  place(f, "b", 0);
  expect_reject(f, "b in a's bytes", "live at the same time", "a", "b");
  place(f, "b", 128);
  place(f, "c", 128);
  expect_reject(f, "c in b's bytes", "live at the same time", "b", "c");
  fx_free(f);

  /* The same corruption expressed as one buffer holding both tensors. */
  f = chain();
  share(f, "b", "a", false);
  expect_reject(f, "b in a's buffer", "share bytes while both are live", "a", "b");
  fx_free(f);
}

/* One step apart is legal: c, written at step 2, may take the bytes a last read at step 1. */
static void lifetimes_one_step_apart(void **state) {
  fx *f = chain();
  place(f, "c", 0);
  expect_ok(f, "c in a's bytes");
  fx_free(f);
  f = chain();
  share(f, "c", "a", false);
  place(f, "c", 0);
  expect_ok(f, "c in a's buffer");
  fx_free(f);
}

/* ---- clusters: the partial order, not the schedule -------------------------------------------- */

static void set_cluster(fx *f, const char *node_name, int c) {
  for (int i = 0; i < f->g->n_nodes; i++)
    if (strcmp(f->g->nodes[i].name, node_name) == 0) {
      f->g->nodes[i].cluster = c;
      return;
    }
  fail_msg("no node '%s'", node_name);
}

/* x -> Transpose n1 -> a -> Transpose n2 -> b, and x -> Transpose n3 -> c -> Transpose n4 -> d,
 * then Add n5 (b, d) -> y, scheduled n1..n5. In order, c (written at step 2) may take a's bytes
 * (last read at step 1); with n3 and n4 in cluster 1, nothing orders n2 before n3, so it may not. */
static fx *branches(bool clustered) {
  fx *f = fx_new();
  int64_t dm[2] = {4, 4};
  in(f, "x", 2, dm);
  node(f, "Transpose", "n1", UT_NAMES("x"), UT_NAMES("a"));
  node(f, "Transpose", "n2", UT_NAMES("a"), UT_NAMES("b"));
  node(f, "Transpose", "n3", UT_NAMES("x"), UT_NAMES("c"));
  node(f, "Transpose", "n4", UT_NAMES("c"), UT_NAMES("d"));
  node(f, "Add", "n5", UT_NAMES("b", "d"), UT_NAMES("y"));
  infer(f);
  if (clustered) set_cluster(f, "n3", 1), set_cluster(f, "n4", 1);
  plan_inferred(f, UT_NAMES("y"));
  return f;
}

static bool bytes_meet(fx *f, const char *a, const char *b) {
  const ec_mp_buf *x = &f->mp.bufs[buf_of(f, a)], *y = &f->mp.bufs[buf_of(f, b)];
  return x->offset < y->offset + ec_mp_padded(y->bytes) && y->offset < x->offset + ec_mp_padded(x->bytes);
}

static void clustered_partial_order(void **state) {
  fx *f = branches(true);
  expect_ok(f, "clustered branches as planned");
  /* The planner kept every tensor of one branch apart from every tensor of the other. */
  const char *left[] = {"a", "b"}, *right[] = {"c", "d"};
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 2; j++)
      if (bytes_meet(f, left[i], right[j])) fail_msg("'%s' and '%s' share bytes across clusters", left[i], right[j]);
  place(f, "c", f->mp.bufs[buf_of(f, "a")].offset);
  expect_reject(f, "c in a's bytes across clusters", "neither is done before the other is written", "a", "c");
  fx_free(f);
  /* The same bytes in one sequence of steps are fine: a is done before c is written. */
  f = branches(false);
  place(f, "a", 0);
  place(f, "c", 0);
  place(f, "b", 128);
  place(f, "d", 256);
  expect_ok(f, "c in a's bytes, one thread");
  fx_free(f);
}

/* A hand-off orders too: n1 (cluster 0) writes a, n2 (cluster 1) reads it and writes b, n3
 * (cluster 1) writes c, n4 (cluster 0) reads c. a's accesses happen before n3 through the ready
 * flag of a and program order in cluster 1, so c may take a's bytes. */
static void clustered_handoff_orders(void **state) {
  fx *f = fx_new();
  int64_t dm[2] = {4, 4};
  in(f, "x", 2, dm);
  node(f, "Transpose", "n1", UT_NAMES("x"), UT_NAMES("a"));
  node(f, "Transpose", "n2", UT_NAMES("a"), UT_NAMES("b"));
  node(f, "Transpose", "n3", UT_NAMES("b"), UT_NAMES("c"));
  node(f, "Relu", "n4", UT_NAMES("c"), UT_NAMES("y"));
  infer(f);
  set_cluster(f, "n2", 1), set_cluster(f, "n3", 1);
  plan_inferred(f, UT_NAMES("y"));
  expect_ok(f, "hand-off chain as planned");
  place(f, "a", 0);
  place(f, "b", 128);
  place(f, "c", 0);
  expect_ok(f, "c in a's bytes after the hand-off");
  fx_free(f);
}

/* x -> Transpose n0 -> a; Transpose n2 (a) -> c; Relu n1 (a) -> r; Add n3 (r, c) -> y, scheduled
 * n0 n2 n1 n3. In order, Relu may write r over a (n2 read it before); with n2 in cluster 1 it
 * may not: n2 may still be reading a. */
static fx *inplace_fork(bool clustered) {
  fx *f = fx_new();
  int64_t dm[2] = {4, 4};
  in(f, "x", 2, dm);
  node(f, "Transpose", "n0", UT_NAMES("x"), UT_NAMES("a"));
  node(f, "Transpose", "n2", UT_NAMES("a"), UT_NAMES("c"));
  node(f, "Relu", "n1", UT_NAMES("a"), UT_NAMES("r"));
  node(f, "Add", "n3", UT_NAMES("r", "c"), UT_NAMES("y"));
  infer(f);
  if (clustered) set_cluster(f, "n2", 1);
  plan_inferred(f, UT_NAMES("y"));
  return f;
}

static void clustered_inplace(void **state) {
  fx *f = inplace_fork(false);
  assert_int_equal(f->mp.inplace_of[T(f, "r")], T(f, "a"));
  expect_ok(f, "Relu in place, one thread");
  fx_free(f);
  f = inplace_fork(true);
  assert_int_equal(f->mp.inplace_of[T(f, "r")], -1);
  expect_ok(f, "Relu not in place, clusters");
  share(f, "r", "a", true);
  expect_reject(f, "Relu in place while cluster 1 reads a", "neither is done before the other is written", "a",
                "r");
  fx_free(f);
}

static void misaligned(void **state) {
  fx *f = chain();
  place(f, "b", 128 + 16);
  expect_reject(f, "b at 144", "not aligned", "b", NULL);
  place(f, "b", 128 + 32);
  expect_reject(f, "b at 160", "not aligned", "b", NULL);
  place(f, "b", 384);
  expect_ok(f, "b at 384");
  fx_free(f);
}

/* The arena must hold every buffer's bytes and the slack after them. */
static void arena_too_short(void **state) {
  fx *f = chain();
  f->mp.arena_bytes = 256 + 64 + EC_MP_SLACK; /* c ends exactly there */
  expect_ok(f, "arena ends after c's slack");
  f->mp.arena_bytes--;
  expect_reject(f, "arena one byte short", "past the arena", "c", NULL);
  fx_free(f);
}

/* Transpose may not run in place: b written over a while a is read. */
static void inplace_op_not_allowed(void **state) {
  fx *f = chain();
  share(f, "b", "a", true);
  expect_reject(f, "Transpose in place", "may not run in place", "a", "b");
  fx_free(f);
}

/* x -> Relu p (0); x -> Relu q (1); Add(p, q) -> s (2, in place of p); Relu s -> y (3). p and q
 * are both live at steps 1 and 2. */
static fx *two_live(void) {
  fx *f = fx_new();
  int64_t d[2] = {4, 4};
  in(f, "x", 2, d);
  node(f, "Relu", "rp", UT_NAMES("x"), UT_NAMES("p"));
  node(f, "Relu", "rq", UT_NAMES("x"), UT_NAMES("q"));
  node(f, "Add", "add", UT_NAMES("p", "q"), UT_NAMES("s"));
  node(f, "Relu", "ry", UT_NAMES("s"), UT_NAMES("y"));
  plan(f, UT_NAMES("y"));
  assert_int_equal(f->mp.inplace_of[T(f, "s")], T(f, "p"));
  place(f, "p", 0);
  place(f, "q", 128);
  expect_ok(f, "p and q apart");
  return f;
}

/* Overlapping live tensors, fully or only in the slack past p's last element. */
static void overlapping_live(void **state) {
  fx *f = two_live();
  place(f, "q", 0);
  expect_reject(f, "q on p", "live at the same time", "p", "q");
  place(f, "q", 64); /* p's 64 bytes end here; its slack does not */
  expect_reject(f, "q in p's slack", "live at the same time", "p", "q");
  place(f, "q", 0);
  place(f, "p", 64); /* q's slack over p */
  expect_reject(f, "q's slack over p", "live at the same time", "p", "q");
  place(f, "q", 128);
  expect_reject(f, "p's slack over q", "live at the same time", "p", "q");
  place(f, "p", 256);
  expect_ok(f, "p after q");
  fx_free(f);
}

/* Illegal in-place reuses of an op that may run in place. */
static void inplace_illegal(void **state) {
  /* Add writes into its second input: only input 0 may be overwritten. */
  fx *f = two_live();
  f->mp.buf[T(f, "s")] = -1;
  share(f, "s", "q", true);
  expect_reject(f, "Add into input 1", "may not run in place", "q", "s");
  fx_free(f);

  /* Relu in place of an input that a later step still reads. */
  f = fx_new();
  int64_t d[2] = {4, 4};
  in(f, "x", 2, d);
  node(f, "Relu", "ra", UT_NAMES("x"), UT_NAMES("a"));
  node(f, "Relu", "rb", UT_NAMES("a"), UT_NAMES("b"));
  node(f, "Add", "add", UT_NAMES("b", "a"), UT_NAMES("y"));
  plan(f, UT_NAMES("y"));
  assert_int_equal(f->mp.inplace_of[T(f, "b")], -1);
  expect_ok(f, "a still read");
  share(f, "b", "a", true);
  expect_reject(f, "Relu over a live input", "share bytes while both are live", "a", "b");
  fx_free(f);

  /* Add broadcasting its first input [1,4] to [4,4] in place: writing the output's first row
   * would overwrite the row every later row still reads. */
  f = fx_new();
  int64_t dr[2] = {1, 4};
  in(f, "x", 2, dr);
  in(f, "z", 2, d);
  node(f, "Relu", "rp", UT_NAMES("x"), UT_NAMES("p"));
  node(f, "Relu", "rq", UT_NAMES("z"), UT_NAMES("q"));
  node(f, "Add", "add", UT_NAMES("p", "q"), UT_NAMES("s"));
  node(f, "Relu", "ry", UT_NAMES("s"), UT_NAMES("y"));
  plan(f, UT_NAMES("y"));
  assert_int_equal(f->mp.inplace_of[T(f, "s")], -1);
  expect_ok(f, "broadcast Add planned apart");
  share(f, "s", "p", true);
  expect_reject(f, "broadcast Add in place", "may not run in place", "p", "s");
  fx_free(f);
}

/* x[2,4,4] -> Relu a (0) -> Det d (1, scratch of (16+1) doubles = 136 bytes) -> Relu y (2).
 * In the arena: a 128 bytes (144 with slack), d 8 (24), the scratch 136 (152). */
static fx *with_scratch(void) {
  fx *f = fx_new();
  int64_t d[3] = {2, 4, 4};
  in(f, "x", 3, d);
  node(f, "Relu", "ra", UT_NAMES("x"), UT_NAMES("a"));
  node(f, "Det", "det", UT_NAMES("a"), UT_NAMES("d"));
  node(f, "Relu", "ry", UT_NAMES("d"), UT_NAMES("y"));
  plan(f, UT_NAMES("y"));
  assert_true(f->mp.scratch_buf[1] >= 0);
  assert_int_equal(f->mp.scratch_bytes[1], 136);
  f->mp.bufs[buf_of(f, "a")].offset = 0;
  f->mp.bufs[buf_of(f, "d")].offset = 192;
  f->mp.bufs[f->mp.scratch_buf[1]].offset = 256; /* the first aligned offset past d's slack */
  fit_arena(f);
  expect_ok(f, "scratch apart");
  return f;
}

static void scratch_short(void **state) {
  fx *f = with_scratch();
  f->mp.bufs[f->mp.scratch_buf[1]].bytes = 128;
  expect_reject(f, "scratch buffer 8 bytes short", "smaller than its kernel asks", "det", NULL);
  fx_free(f);

  /* The buffer is large enough but the plan records less, and d is placed where the recorded
   * size ends: the kernel still uses the 136 bytes it asks for. */
  f = with_scratch();
  f->mp.scratch_bytes[1] = 8;
  f->mp.bufs[buf_of(f, "d")].offset = 256 + 64;
  fit_arena(f);
  expect_reject(f, "scratch recorded short", "scratch of 'det'", "det", NULL);
  fx_free(f);

  /* No scratch at all for a step that needs one. */
  f = with_scratch();
  f->mp.bufs[f->mp.scratch_buf[1]].scratch_step = -1;
  f->mp.scratch_buf[1] = -1;
  expect_reject(f, "scratch missing", "scratch of 'det'", "det", NULL);
  fx_free(f);
}

/* The scratch is live at its step, with the step's input and output. */
static void scratch_overlaps(void **state) {
  fx *f = with_scratch();
  f->mp.bufs[buf_of(f, "d")].offset = 512;
  f->mp.bufs[f->mp.scratch_buf[1]].offset = 128; /* over a's slack only */
  fit_arena(f);
  expect_reject(f, "scratch in a's slack", "live at the same time", "scratch of 'det'", "a");
  f->mp.bufs[f->mp.scratch_buf[1]].offset = 192;
  fit_arena(f);
  expect_ok(f, "scratch past a's slack");
  f->mp.bufs[buf_of(f, "d")].offset = 192 + 128; /* inside the 152 bytes the scratch spans */
  fit_arena(f);
  expect_reject(f, "d in the scratch", "live at the same time", "scratch of 'det'", "d");
  fx_free(f);
}

/* x[1,2,2,2] -> Relu a (0), Relu b (1) -> Concat c (2, in place: a and b are written straight
 * into c's channels 0-1 and 2-3, NHWC, so a view's offset is its first channel's byte offset in
 * a pixel) -> Relu y (3). One buffer holds a, b and c, live from step 0. */
static fx *views(void) {
  fx *f = fx_new();
  int64_t d[4] = {1, 2, 2, 2};
  in(f, "x", 4, d);
  node(f, "Relu", "ra", UT_NAMES("x"), UT_NAMES("a"));
  node(f, "Relu", "rb", UT_NAMES("x"), UT_NAMES("b"));
  node(f, "Concat", "cat", UT_NAMES("a", "b"), UT_NAMES("c"));
  node(f, "Relu", "ry", UT_NAMES("c"), UT_NAMES("y"));
  ec_node *cat = &f->g->nodes[2];
  cat->attrs = calloc(2, sizeof(ec_attr));
  cat->n_attrs = 1;
  cat->attrs[0].name = ec_strdup("axis");
  cat->attrs[0].type = EC_ATTR_INT;
  cat->attrs[0].i = 1;
  infer(f);
  cat = &f->g->nodes[2];
  cat->attrs[1].name = ec_strdup(EC_ATTR_IN_PLACE); /* what lowering marks */
  cat->attrs[1].type = EC_ATTR_INT;
  cat->attrs[1].i = 1;
  cat->n_attrs = 2;
  plan_inferred(f, UT_NAMES("y"));
  assert_int_equal(f->mp.view_root[T(f, "b")], T(f, "c"));
  assert_int_equal(f->mp.view_off[T(f, "b")], 2 * sizeof(float)); /* channel 2 of each pixel */
  assert_int_equal(f->mp.buf[T(f, "a")], f->mp.buf[T(f, "c")]);
  expect_ok(f, "views");
  return f;
}

static void view_corrupted(void **state) {
  fx *f = views();
  f->mp.view_off[T(f, "b")] = sizeof(float); /* over a's second channel */
  expect_reject(f, "b at the wrong channel", "not planned inside", "b", "c");
  fx_free(f);

  /* The buffer must live from the first view's write, not from the Concat's step. */
  f = views();
  f->mp.bufs[buf_of(f, "c")].first = 2;
  expect_reject(f, "buffer born at the Concat", "shorter-lived", "a", NULL);
  fx_free(f);

  /* b planned as no view, or given a buffer of its own (the code would write it there), while the
   * Concat still reads it from its channels. */
  f = views();
  f->mp.view_root[T(f, "b")] = -1;
  expect_reject(f, "b not marked a view", "not planned inside", "b", "c");
  fx_free(f);
  f = views();
  f->mp.buf[T(f, "b")] = f->mp.n_bufs;
  f->mp.bufs[f->mp.n_bufs++] = (ec_mp_buf){.bytes = 32, .first = 1, .last = 2, .offset = 512, .scratch_step = -1};
  fit_arena(f);
  expect_reject(f, "b in a buffer of its own", "not planned inside", "b", "c");
  fx_free(f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(touching_lifetimes), cmocka_unit_test(lifetimes_one_step_apart),
      cmocka_unit_test(misaligned),         cmocka_unit_test(arena_too_short),
      cmocka_unit_test(clustered_partial_order), cmocka_unit_test(clustered_inplace),
      cmocka_unit_test(clustered_handoff_orders),
      cmocka_unit_test(inplace_op_not_allowed), cmocka_unit_test(overlapping_live),
      cmocka_unit_test(inplace_illegal),    cmocka_unit_test(scratch_short),
      cmocka_unit_test(scratch_overlaps),   cmocka_unit_test(view_corrupted),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
