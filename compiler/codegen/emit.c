/* emit.c — the C of one partition: `<name>_p<k>.h` (context struct, init, typed run),
 * `<name>_p<k>.c` (value table, one step function per ONNX node calling its kernel), the
 * weights blob with its checksum, and the `main_p<k>.c` driver. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen.h"
#include "emit_control.h"
#include "ecrt_crc32c.h"
#include "emit_onednn.h"
#include "emit_cluster.h"
#include "emit_models.h"
#include "lower.h"
#include "op.h"

/* ---- text helpers ------------------------------------------------------------------------------ */

/* Text safe inside a C comment: no comment end, no trigraphs, printable ASCII only. */
static void put_comment_text(ec_buf *b, const char *s) {
  char prev = 0;
  for (; *s; s++) {
    char c = *s;
    if ((unsigned char)c < 32 || (unsigned char)c > 126) c = '?';
    if (c == '/' && prev == '*') c = '|';
    if (c == '?' && prev == '?') c = '_';
    if (c == '\\') c = '|';
    ec_buf_append(b, &c, 1);
    prev = c;
  }
}

/* A C string literal: escapes quotes, backslashes, '?' (trigraphs) and non-printables. */
static void put_c_string(ec_buf *b, const char *s) {
  ec_buf_append(b, "\"", 1);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\' || c == '?')
      ec_buf_printf(b, "\\%c", c);
    else if (c < 32 || c > 126)
      ec_buf_printf(b, "\\%03o", c);
    else
      ec_buf_append(b, s, 1);
  }
  ec_buf_append(b, "\"", 1);
}

static void put_shape(ec_buf *b, const ec_tensor *t) {
  ec_buf_append(b, "[", 1);
  for (int i = 0; i < t->rank; i++)
    ec_buf_printf(b, "%s%s%lld", i ? "," : "", (t->dyn >> i) & 1 ? "<=" : "", (long long)t->dims[i]);
  ec_buf_append(b, "]", 1);
}

static void put_dims_init(ec_buf *b, const ec_tensor *t) {
  ec_buf_append(b, "{", 1);
  for (int i = 0; i < t->rank; i++) ec_buf_printf(b, "%s%lld", i ? ", " : "", (long long)t->dims[i]);
  if (t->rank == 0) ec_buf_append(b, "0", 1);
  ec_buf_append(b, "}", 1);
}

static const char *dtype_macro(int32_t dt) {
  switch (dt) {
    case ECK_FLOAT: return "ECK_FLOAT";
    case ECK_UINT8: return "ECK_UINT8";
    case ECK_INT8: return "ECK_INT8";
    case ECK_UINT16: return "ECK_UINT16";
    case ECK_INT16: return "ECK_INT16";
    case ECK_INT32: return "ECK_INT32";
    case ECK_INT64: return "ECK_INT64";
    case ECK_BOOL: return "ECK_BOOL";
    case ECK_FLOAT16: return "ECK_FLOAT16";
    case ECK_DOUBLE: return "ECK_DOUBLE";
    case ECK_UINT32: return "ECK_UINT32";
    case ECK_UINT64: return "ECK_UINT64";
    case ECK_COMPLEX64: return "ECK_COMPLEX64";
    case ECK_COMPLEX128: return "ECK_COMPLEX128";
    case ECK_BFLOAT16: return "ECK_BFLOAT16";
    default: return NULL;
  }
}

const char *ec_emit_dtype_macro(int32_t dt) { return dtype_macro(dt); }

/* The C element type of the run function's pointer for a dtype. */
static const char *c_type(int32_t dt) {
  switch (dt) {
    case ECK_FLOAT: return "float";
    case ECK_DOUBLE: return "double";
    case ECK_INT8: return "int8_t";
    case ECK_INT16: return "int16_t";
    case ECK_INT32: return "int32_t";
    case ECK_INT64: return "int64_t";
    case ECK_UINT8: case ECK_BOOL: return "uint8_t";
    case ECK_UINT16: case ECK_FLOAT16: case ECK_BFLOAT16: return "uint16_t";
    case ECK_UINT32: return "uint32_t";
    case ECK_UINT64: return "uint64_t";
    case ECK_COMPLEX64: return "float"; /* interleaved real, imaginary */
    case ECK_COMPLEX128: return "double";
    default: return "void";
  }
}

static size_t tbytes(const ec_tensor *t) {
  int64_t n = ec_tensor_numel(t);
  return n < 0 ? 0 : (size_t)n * ec_dtype_size(t->dtype);
}

static void upper(char *dst, const char *src, size_t len) {
  size_t i = 0;
  for (; src[i] && i + 1 < len; i++) dst[i] = (src[i] >= 'a' && src[i] <= 'z') ? (char)(src[i] - 32) : src[i];
  dst[i] = 0;
}

static void sha_hex(const ec_graph *g, char *out) {
  for (int i = 0; i < 32; i++) sprintf(out + 2 * i, "%02x", g->sha256[i]);
}

/* ---- the partition ----------------------------------------------------------------------------- */

typedef struct emitter {
  const ec_graph *g;
  const ec_part *p;
  const ec_codegen_opts *o;
  ec_memplan mp;
  int threads;                   /* default worker threads: the target's cores */
  char prog[160], PROG[160];     /* digits_p0, DIGITS_P0 */
  int *vals, n_vals;             /* value index -> tensor */
  int *val_of;                   /* tensor -> value index or -1 */
  char **vname;                  /* per value: sanitised name */
  char **arg;                    /* per input then output: run argument name */
  char **sname;                  /* per step: C name of its function, from the node's name */
  bool *aliased;                 /* per step: a reshape whose output shares its input's bytes
                                    (memory plan): no step is emitted for it */
  int n_emit;                    /* steps emitted (the steps table's length) */
  uint64_t *woff;                /* per value: offset in the weights payload */
  size_t payload;
  size_t keep;                   /* bytes of the weights file, header included, read after
                                    init (0: all of them): the constants only library creates
                                    read (copying them) come last */
  size_t *rel_from, *rel_to;     /* per step: file bytes its create was the last to read (the
                                    caller's pages init may release then), or from == to */
  uint32_t crc;
  const ec_kernel_choice **kc;   /* per step: the kernel lowering recorded for it */
  int *xslot;                    /* per step: index in ctx->xn, or -1 */
  int *dslot;                    /* per step: index in ctx->dn (oneDNN), or -1 */
  int n_xnn, n_blas, n_dnnl;
  bool fast;                     /* fast kernels: eck_xnn.h, thread pool */
  ec_ctl *ctl;                   /* the subgraphs of If/Loop/Scan steps (emit_control.c), or NULL */
  int n_clusters, n_handoffs;    /* the planner's clusters (emit_cluster.c); 1: sequential */
  ec_models_code *models;        /* several models merged (emit_models.c), or NULL */
} emitter;

/* Init creates the XNNPACK operators, then the oneDNN primitives, each in step order
 * (emit_fast_init): step s's rank in that order, or -1 when it creates nothing. */
static int create_rank(const emitter *e, int s) {
  if (e->kc[s]->kind == EC_K_XNN) return s;
  if (e->kc[s]->kind == EC_K_DNNL) return e->p->n_nodes + s;
  return -1;
}

/* Constant t is read only by library creates, as their weights or bias, which they copy
 * (XNNPACK packs them, oneDNN reorders them) and never read again: the rank of the last such
 * create, or -1 when something else reads t (a step in place, a subgraph, the outputs). */
static int copied_by(const emitter *e, int t) {
  int last = -1;
  for (int i = 0; i < e->p->n_outputs; i++)
    if (e->p->outputs[i] == t) return -1;
  for (int s = 0; s < e->p->n_nodes; s++) {
    const ec_node *n = &e->g->nodes[e->p->nodes[s]];
    for (int k = 0; k < n->n_inputs; k++) {
      if (n->inputs[k] != t) continue;
      if (create_rank(e, s) < 0 || (e->kc[s]->w != t && e->kc[s]->bias != t)) return -1;
      if (create_rank(e, s) > last) last = create_rank(e, s);
    }
  }
  return last;
}

static ec_status collect_values(emitter *e) {
  const ec_graph *g = e->g;
  e->vals = ec_alloc(sizeof(int) * (size_t)(g->n_tensors + 1));
  e->val_of = ec_alloc(sizeof(int) * (size_t)(g->n_tensors + 1));
  e->vname = ec_alloc(sizeof(char *) * (size_t)(g->n_tensors + 1));
  e->woff = ec_alloc(sizeof(uint64_t) * (size_t)(g->n_tensors + 1));
  e->arg = ec_alloc(sizeof(char *) * (size_t)(e->p->n_inputs + e->p->n_outputs + 1));
  if (!e->vals || !e->val_of || !e->vname || !e->woff || !e->arg) return EC_ERR_INTERNAL;
  for (int t = 0; t < g->n_tensors; t++) e->val_of[t] = -1;
#define ADD_VAL(t)                                                 \
  do {                                                             \
    int t_ = (t);                                                  \
    if (t_ >= 0 && e->val_of[t_] < 0) {                            \
      e->val_of[t_] = e->n_vals;                                   \
      e->vals[e->n_vals++] = t_;                                   \
    }                                                              \
  } while (0)
  for (int i = 0; i < e->p->n_inputs; i++) ADD_VAL(e->p->inputs[i]);
  for (int s = 0; s < e->p->n_nodes; s++) {
    const ec_node *n = &g->nodes[e->p->nodes[s]];
    for (int k = 0; k < n->n_inputs; k++) ADD_VAL(n->inputs[k]);
    for (int k = 0; k < n->n_outputs; k++) ADD_VAL(n->outputs[k]);
  }
  for (int i = 0; i < e->p->n_outputs; i++) ADD_VAL(e->p->outputs[i]);
#undef ADD_VAL
  int na = e->p->n_inputs + e->p->n_outputs;
  const char **raw = ec_alloc(sizeof(char *) * (size_t)(e->n_vals + na + 1));
  if (!raw) return EC_ERR_INTERNAL;
  for (int v = 0; v < e->n_vals; v++) raw[v] = g->tensors[e->vals[v]].name;
  ec_status st = ec_cnames(raw, NULL, e->n_vals, e->prog, false, e->vname);
  for (int i = 0; i < na; i++)
    raw[i] = g->tensors[i < e->p->n_inputs ? e->p->inputs[i] : e->p->outputs[i - e->p->n_inputs]].name;
  /* Run arguments stand beside the program's globals, as step functions do. */
  if (!st) st = ec_cnames(raw, NULL, na, e->prog, true, e->arg);
  free(raw);
  if (st) return st;
  /* Weights: constants in order of first use, each at a multiple of EC_MP_ALIGN; those only
   * library creates read are placed last (place_copied_weights). */
  for (int v = 0; v < e->n_vals; v++) {
    int t = e->vals[v];
    if (e->mp.where[t] != EC_MP_WEIGHTS || copied_by(e, t) >= 0) continue;
    e->payload = (e->payload + EC_MP_ALIGN - 1) / EC_MP_ALIGN * EC_MP_ALIGN;
    e->woff[v] = e->payload;
    e->payload += tbytes(&g->tensors[t]);
  }
  return EC_OK;
}

/* After every other constant (the subgraphs' too): the weights and biases that only library
 * creates read, in the order init creates (XNNPACK's operators, then oneDNN's primitives), each
 * placed with the last create that reads it. Init copies them into the libraries' own memory, so
 * the bytes from e->keep on are not read after init: one copy of those weights. And as each
 * create is the last to read a stretch of them, init may give that stretch's pages back at once
 * (rel_from, rel_to; <prog>_init_release), so the file's copy and the libraries' copies are
 * never resident together: the peak holds one copy, not two. */
static ec_status place_copied_weights(emitter *e) {
  int n = e->p->n_nodes;
  size_t done = 0;
  e->rel_from = ec_alloc(sizeof(size_t) * (size_t)(n + 1));
  e->rel_to = ec_alloc(sizeof(size_t) * (size_t)(n + 1));
  if (!e->rel_from || !e->rel_to) return EC_ERR_INTERNAL;
  memset(e->rel_from, 0, sizeof(size_t) * (size_t)(n + 1));
  memset(e->rel_to, 0, sizeof(size_t) * (size_t)(n + 1));
  for (int r = 0; r < 2 * n; r++) {
    int s = r < n ? r : r - n;
    if (create_rank(e, s) != r) continue;
    int ts[2] = {e->kc[s]->w, e->kc[s]->bias == e->kc[s]->w ? -1 : e->kc[s]->bias};
    for (int k = 0; k < 2; k++) {
      int t = ts[k];
      if (t < 0 || e->val_of[t] < 0 || e->mp.where[t] != EC_MP_WEIGHTS || copied_by(e, t) != r) continue;
      e->payload = (e->payload + EC_MP_ALIGN - 1) / EC_MP_ALIGN * EC_MP_ALIGN;
      if (!e->keep) e->keep = done = e->payload + 64; /* the file's header, then the payload */
      e->woff[e->val_of[t]] = e->payload;
      e->payload += tbytes(&e->g->tensors[t]);
    }
    if (e->keep && e->payload + 64 > done) {
      e->rel_from[s] = done;
      e->rel_to[s] = done = e->payload + 64;
    }
  }
  return EC_OK;
}

/* Bytes of t in the arena: its offset, or (size_t)-1 when it is not there. */
static size_t arena_offset(const emitter *e, int t) {
  if (t < 0 || e->mp.where[t] != EC_MP_ARENA || e->mp.buf[t] < 0) return (size_t)-1;
  return e->mp.bufs[e->mp.buf[t]].offset + e->mp.view_off[t];
}

/* A Reshape, Flatten, Squeeze, Unsqueeze or Identity on its reference kernel whose output the
 * memory plan put on its input's very bytes: the copy would do nothing, so no step is emitted
 * and the tensor table says the output aliases the input. */
static bool is_alias_step(const emitter *e, int s) {
  const ec_node *n = &e->g->nodes[e->p->nodes[s]];
  /* A Concat lowered in place: its inputs were written into its channels. */
  if (e->kc[s]->kind == EC_K_CONCAT_VIEW) return true;
  const char *k = ec_ops[n->op].ref_name;
  if (e->kc[s]->kind != EC_K_REF || !k || (strcmp(k, "eck_ref_reshape") != 0 && strcmp(k, "eck_ref_identity") != 0))
    return false;
  if (n->n_inputs < 1 || n->n_outputs != 1 || n->inputs[0] < 0 || n->outputs[0] < 0) return false;
  int x = n->inputs[0], y = n->outputs[0];
  size_t off = arena_offset(e, x);
  return off != (size_t)-1 && off == arena_offset(e, y) && e->mp.buf[x] == e->mp.buf[y] &&
         tbytes(&e->g->tensors[x]) == tbytes(&e->g->tensors[y]);
}

/* Step names from the nodes' names (an unnamed node: its op and first output), and which steps
 * are emitted. Named after the graph, never after positions: an inserted node renames nothing. */
static ec_status name_steps(emitter *e) {
  const ec_graph *g = e->g;
  int ns = e->p->n_nodes;
  e->sname = ec_alloc(sizeof(char *) * (size_t)(ns + 1));
  e->aliased = ec_alloc(sizeof(bool) * (size_t)(ns + 1));
  char **raw = ec_alloc(sizeof(char *) * (size_t)(ns + 1));
  char **key = ec_alloc(sizeof(char *) * (size_t)(ns + 1));
  ec_status st = e->sname && e->aliased && raw && key ? EC_OK : EC_ERR_INTERNAL;
  for (int s = 0; !st && s < ns; s++) {
    const ec_node *n = &g->nodes[e->p->nodes[s]];
    const char *out = n->n_outputs && n->outputs[0] >= 0 ? g->tensors[n->outputs[0]].name : "";
    ec_buf r = {0}, k = {0};
    if (n->name && n->name[0]) ec_buf_printf(&r, "%s", n->name);
    else ec_buf_printf(&r, "%s_%s", n->op_type, out);
    /* Node names need not be unique; a node's first output is. */
    ec_buf_printf(&k, "%s\n%s", r.data ? r.data : "", out);
    raw[s] = r.data;
    key[s] = k.data;
    if (r.oom || k.oom || !r.data || !k.data) st = EC_ERR_INTERNAL;
    e->aliased[s] = is_alias_step(e, s);
    e->n_emit += !e->aliased[s];
  }
  if (!st) st = ec_cnames((const char *const *)raw, (const char *const *)key, ns, e->prog, true, e->sname);
  for (int s = 0; raw && key && s < ns; s++) free(raw[s]), free(key[s]);
  free(raw);
  free(key);
  return st;
}

static ec_status weights_blob(emitter *e, ec_buf *w) {
  const ec_graph *g = e->g;
  unsigned char *payload = ec_alloc(e->payload + 1);
  if (!payload) return EC_ERR_INTERNAL;
  for (int v = 0; v < e->n_vals; v++) {
    const ec_tensor *t = &g->tensors[e->vals[v]];
    if (e->mp.where[e->vals[v]] == EC_MP_WEIGHTS && tbytes(t)) memcpy(payload + e->woff[v], t->data, tbytes(t));
  }
  ec_ctl_copy_weights(e->ctl, payload);
  e->crc = ecrt_crc32c(0, payload, e->payload);
  unsigned char h[64] = {'E', 'C', 'W', '1', 1};
  for (int i = 0; i < 8; i++) h[8 + i] = (unsigned char)((uint64_t)e->payload >> (8 * i));
  for (int i = 0; i < 4; i++) h[16 + i] = (unsigned char)(e->crc >> (8 * i));
  h[20] = 64;
  memcpy(h + 24, g->sha256, 32);
  ec_buf_append(w, h, sizeof h);
  ec_buf_append(w, payload, e->payload);
  free(payload);
  return w->oom ? EC_ERR_INTERNAL : EC_OK;
}

static void header_comment(emitter *e, ec_buf *b, const char *file, const char *what) {
  char sha[65];
  sha_hex(e->g, sha);
  ec_buf_printf(b, "/* %s — %s\n * Generated by edgecc %s from ", file, what, EC_VERSION);
  put_comment_text(b, e->o->model_file);
  ec_buf_printf(b, " (SHA-256 %s)\n * for device '%s' (target %s, kernels %s). Do not edit: recompile the model. */\n",
                sha, e->o->device, e->o->target, e->o->kernels);
}

/* Whether an output of the partition has a data-dependent shape: run then also returns the
 * shape of every output (out_dims), and the driver writes files of that shape. */
static bool bounded_outputs(const emitter *e) {
  for (int i = 0; i < e->p->n_outputs; i++)
    if (e->g->tensors[e->p->outputs[i]].dyn) return true;
  return false;
}

static void run_signature(emitter *e, ec_buf *b, bool with_models) {
  const ec_graph *g = e->g;
  ec_buf_printf(b, "ecrt_status %s_run%s(%s *ctx%s", e->prog, with_models ? "_models" : "", e->prog,
                with_models ? ", uint32_t models" : "");
  for (int i = 0; i < e->p->n_inputs; i++)
    ec_buf_printf(b, ", const %s *%s", c_type(g->tensors[e->p->inputs[i]].dtype), e->arg[i]);
  for (int i = 0; i < e->p->n_outputs; i++)
    ec_buf_printf(b, ", %s *%s", c_type(g->tensors[e->p->outputs[i]].dtype), e->arg[e->p->n_inputs + i]);
  if (bounded_outputs(e)) ec_buf_printf(b, ", int64_t out_dims[%d][ECRT_MAX_RANK]", e->p->n_outputs);
  ec_buf_printf(b, ")");
}

static void emit_header(emitter *e, ec_buf *b) {
  const ec_graph *g = e->g;
  char file[200];
  snprintf(file, sizeof file, "%s.h", e->prog);
  header_comment(e, b, file, "partition API: context, init, typed run.");
  ec_buf_printf(b, "#ifndef %s_H\n#define %s_H\n\n#include <stddef.h>\n#include <stdint.h>\n\n#include \"ecrt.h\"\n",
                e->PROG, e->PROG);
  if (e->fast) ec_buf_printf(b, "#include \"kernels/xnnpack/eck_xnn.h\"\n");
  if (e->n_dnnl) ec_buf_printf(b, "#include \"kernels/onednn/eck_dnnl.h\"\n");
  if (e->n_clusters > 1) ec_buf_printf(b, "#include \"ecrt_cluster.h\"\n");
  ec_buf_printf(b, "\n");
  char sha[65];
  sha_hex(g, sha);
  ec_buf_printf(b, "#define %s_EDGECC_VERSION \"%s\"\n", e->PROG, EC_VERSION);
  ec_buf_printf(b, "#define %s_MODEL_SHA256 \"%s\"\n", e->PROG, sha);
  ec_buf_printf(b, "/* Bytes of the arena init takes (ECRT_ALIGN-aligned); the plan's lower bound is %zu. */\n",
                e->mp.lower_bound);
  ec_buf_printf(b, "#define %s_ARENA_BYTES %zuu\n", e->PROG, e->mp.arena_bytes);
  ec_buf_printf(b, "/* Bytes of the weights file, header included. */\n#define %s_WEIGHTS_BYTES %zuu\n",
                e->PROG, e->payload + 64);
  if (e->keep)
    ec_buf_printf(b, "/* Bytes of the weights file read after init: the rest holds weights init copied into\n"
                  " * the libraries' own memory, which the caller may release once init succeeded. */\n"
                  "#define %s_WEIGHTS_KEEP_BYTES %zuu\n", e->PROG, e->keep);
  ec_buf_printf(b, "#define %s_N_VALUES %d\n#define %s_N_STEPS %d\n", e->PROG, e->n_vals + ec_ctl_n_values(e->ctl),
                e->PROG, e->n_emit);
  if (e->models) ec_models_emit_defines(e->models, b, e->prog);
  if (e->fast)
    ec_buf_printf(b, "/* Steps on XNNPACK operators; worker threads when init is given threads <= 0 (the\n"
                  " * target's cores). */\n#define %s_N_XNN %d\n#define %s_THREADS %d\n", e->PROG,
                  e->n_xnn, e->PROG, e->threads);
  if (e->n_dnnl) ec_emit_dnnl_header(b, e->PROG, e->n_dnnl);
  if (e->n_clusters > 1) {
    ec_buf_printf(b, "/* Clusters of independent steps, each on a thread of its own when init is given at least\n"
                  " * as many threads (else the steps run in order on the caller), and the tensors they hand\n"
                  " * to each other.%s */\n#define %s_N_CLUSTERS %d\n#define %s_N_HANDOFFS %d\n",
                  !e->fast ? ""
                  : e->n_dnnl && e->n_dnnl >= e->n_xnn
                      ? " Their oneDNN primitives run on OpenMP teams the plan sized (dnnl_teams);\n"
                        " * their XNNPACK operators share one pool of the cluster threads, a waiting one\n"
                        " * running tiles of the others' operators."
                      : " Their XNNPACK operators share one pool of all the threads: a cluster\n"
                        " * thread that waits, and a thread left over, runs tiles of the others' operators.",
                  e->PROG, e->n_clusters, e->PROG, e->n_handoffs);
    if (!e->fast) ec_buf_printf(b, "/* Threads when init is given threads <= 0. */\n#define %s_THREADS %d\n", e->PROG, e->threads);
  }
  ec_buf_printf(b, "\n");
  ec_buf_printf(b,
                "/* One context per running instance; the caller owns it (static, stack or heap). */\n"
                "typedef struct %s {\n"
                "  ecrt_ctx base;                  /* profile counters, failed step, threads */\n"
                "  const unsigned char *weights;   /* the weights payload */\n"
                "  unsigned char *arena;           /* activations and kernel scratch */\n"
                "  eck_tensor v[%s_N_VALUES];      /* every tensor: dtype, shape, address */\n",
                e->prog, e->PROG);
  if (e->fast)
    ec_buf_printf(b, "  void *pool;                      /* XNNPACK's thread pool (NULL: one thread) */\n"
                  "  int xnn_started;                 /* XNNPACK initialised by init: release stops it */\n"
                  "  eck_xnn_node xn[%s_N_XNN > 0 ? %s_N_XNN : 1]; /* operators, created at init */\n",
                  e->PROG, e->PROG);
  if (e->n_dnnl) ec_emit_dnnl_fields(b, e->PROG);
  if (e->n_clusters > 1)
    ec_buf_printf(b, "  ecrt_clusters clusters;          /* worker threads, started by init */\n"
                  "  int ready[%s_N_HANDOFFS > 0 ? %s_N_HANDOFFS : 1]; /* a flag per hand-off, reset per run */\n",
                  e->PROG, e->PROG);
  ec_buf_printf(b, "} %s;\n\n", e->prog);
  ec_buf_printf(b,
                "/* Checks the weights (a whole %s.bin file, or %s_weights.bytes when compiled with\n"
                " * --embed-weights: magic, model hash, size, CRC32C) and binds every tensor to its\n"
                " * address. arena: %s_ARENA_BYTES bytes, ECRT_ALIGN-aligned, kept for the context's\n"
                " * life, as are the weights.\n",
                e->prog, e->prog, e->PROG);
  if (e->fast)
    ec_buf_printf(b, " * Creates the XNNPACK operators and the thread pool. Returns ECRT_OK, ECRT_ERR_ARG,\n"
                  " * ECRT_ERR_WEIGHTS, or ECRT_ERR_LIBRARY with ctx->base.failed_call and failed_status\n"
                  " * naming the XNNPACK call that failed and failed_step its step (-1: XNNPACK itself or\n"
                  " * the thread pool); a failed init has released what it made. */\n");
  else
    ec_buf_printf(b, " * Returns ECRT_OK, ECRT_ERR_ARG or ECRT_ERR_WEIGHTS. */\n");
  ec_buf_printf(b, "ecrt_status %s_init(%s *ctx, const void *weights, size_t weights_len, void *arena,\n"
                "    size_t arena_len, int threads);\n\n", e->prog, e->prog);
  if (e->keep)
    ec_buf_printf(b, "/* The same, for a caller that gives init the weights' pages: as each operator's create has\n"
                  " * copied the last weights it reads, init releases their whole pages (ecrt_release_pages), so\n"
                  " * the file's copy and the libraries' copies are never resident together. weights must be\n"
                  " * heap memory or a private mapping; only its first %s_WEIGHTS_KEEP_BYTES bytes are\n"
                  " * read after init (a failed init may have released pages past them too). */\n"
                  "ecrt_status %s_init_release(%s *ctx, void *weights, size_t weights_len, void *arena,\n"
                  "    size_t arena_len, int threads);\n\n", e->PROG, e->prog, e->prog);
  if (e->fast)
    ec_buf_printf(b, "/* Deletes the XNNPACK operators, stops the thread pool (its threads joined) and\n"
                  " * deinitialises XNNPACK: everything init made. Call it when the context will not run\n"
                  " * again, before freeing the arena and weights; a second call does nothing. */\n");
  else
    ec_buf_printf(b, "/* Init allocates nothing, so this does nothing: kept so that code built for any\n"
                  " * kernels has the same API. */\n");
  ec_buf_printf(b, "void %s_release(%s *ctx);\n\n", e->prog, e->prog);
  ec_buf_printf(b, "/* Runs the partition once. Buffers are the caller's, in graph order, dense row-major;\n"
                " * inputs need ECRT_SLACK readable bytes past their end; outputs must not alias inputs.\n");
  for (int i = 0; i < e->p->n_inputs + e->p->n_outputs; i++) {
    int t = i < e->p->n_inputs ? e->p->inputs[i] : e->p->outputs[i - e->p->n_inputs];
    ec_buf_printf(b, " *   %-6s %s: '", i < e->p->n_inputs ? "in" : "out", e->arg[i]);
    put_comment_text(b, g->tensors[t].name);
    ec_buf_printf(b, "' %s ", ec_dtype_name(g->tensors[t].dtype));
    put_shape(b, &g->tensors[t]);
    ec_buf_printf(b, "\n");
  }
  if (bounded_outputs(e))
    ec_buf_printf(b, " * Outputs shaped [<=N] have a data-dependent shape: their buffers hold the bound, the data\n"
                  " * fills the start of it, dense, and out_dims[k] receives output k's shape from this run.\n");
  ec_buf_printf(b, " * Returns ECRT_OK, or ECRT_ERR_KERNEL with ctx->base.failed_step set. Never allocates. */\n");
  run_signature(e, b, false);
  if (e->models) {
    ec_buf_printf(b, ";\n\n/* Runs what the models in `models` (%s_MODEL_* bits) need, the steps they share once;\n"
                  " * the other models' inputs and outputs may be NULL (their steps do not run). %s_run is\n"
                  " * this for %s_ALL_MODELS. Returns ECRT_ERR_ARG for a set naming no model or an unknown bit. */\n",
                  e->PROG, e->prog, e->PROG);
    run_signature(e, b, true);
  }
  ec_buf_printf(b, ";\n\n/* The steps in run order: ONNX node name, op, function (for profiles and errors). */\n");
  ec_buf_printf(b, "extern const ecrt_step %s_steps[];\n", e->prog);
  if (e->o->embed_weights)
    ec_buf_printf(b, "\n/* The weights file, compiled in (--embed-weights). */\n"
                  "typedef union %s_weights_blob {\n  uint64_t align;\n  unsigned char bytes[%s_WEIGHTS_BYTES];\n} %s_weights_blob;\n"
                  "extern const %s_weights_blob %s_weights;\n", e->prog, e->PROG, e->prog, e->prog, e->prog);
  ec_buf_printf(b, "\n#endif\n");
}

static void node_comment(emitter *e, ec_buf *b, const ec_node *n) {
  const ec_graph *g = e->g;
  char desc[600];
  ec_node_describe(g, n, desc, sizeof desc);
  ec_buf_printf(b, "/* ");
  put_comment_text(b, desc);
  ec_buf_printf(b, ":");
  for (int side = 0; side < 2; side++) {
    const int *ts = side ? n->outputs : n->inputs;
    int cnt = side ? n->n_outputs : n->n_inputs;
    if (side) ec_buf_printf(b, " ->");
    for (int k = 0; k < cnt; k++) {
      ec_buf_printf(b, "%s", k ? "," : "");
      if (ts[k] < 0) {
        ec_buf_printf(b, " (none)");
        continue;
      }
      const ec_tensor *t = &g->tensors[ts[k]];
      ec_buf_printf(b, "\n *   ");
      put_comment_text(b, t->name);
      ec_buf_printf(b, " %s ", ec_dtype_name(t->dtype));
      put_shape(b, t);
    }
  }
  if (n->fused_from) { /* a graph pass's fused op: the ONNX nodes it stands for */
    ec_buf_printf(b, "\n * replaces the ONNX nodes ");
    put_comment_text(b, n->fused_from);
  }
  ec_buf_printf(b, " */\n");
}

/* ---- parameter initializers -------------------------------------------------------------------- */

/* The end of the initializer element starting at p: the next comma or closing brace outside
 * braces and parentheses. */
static const char *element_end(const char *p) {
  int depth = 0;
  for (; *p; p++) {
    if (*p == '{' || *p == '(') depth++;
    else if ((*p == '}' || *p == ')') && depth-- == 0) break;
    else if (*p == ',' && depth == 0) break;
  }
  return p;
}

static const char *skip_blank(const char *p) {
  while (*p == ' ' || *p == '\n' || *p == '\t') p++;
  return p;
}

/* True when text [p, end) is a zero: a number that is +0 (0, 0u, 0x0p+0, 0ull) or a brace
 * list of zeros. A named constant is never zero here: it says what the op does. */
static bool is_zero_value(const char *p, const char *end) {
  p = skip_blank(p);
  while (end > p && (end[-1] == ' ' || end[-1] == '\n')) end--;
  if (p < end && *p == '{') {
    const char *q = skip_blank(p + 1);
    while (q < end && *q != '}') {
      const char *e = element_end(q);
      if (!is_zero_value(q, e)) return false;
      q = *e == ',' ? skip_blank(e + 1) : e;
    }
    return true;
  }
  if (p >= end || !((*p >= '0' && *p <= '9') || *p == '.')) return false;
  char num[64];
  size_t n = (size_t)(end - p);
  if (n >= sizeof num) return false;
  memcpy(num, p, n);
  num[n] = 0;
  char *rest;
  double v = strtod(num, &rest);
  while (*rest == 'u' || *rest == 'U' || *rest == 'l' || *rest == 'L') rest++;
  return *rest == 0 && v == 0 && !signbit(v);
}

/* A brace list with its trailing zero elements dropped (C zero-fills them), or as it is when
 * an element is designated. */
static void put_trimmed_list(ec_buf *b, const char *p, const char *end) {
  const char *elems[64], *ends[64];
  int n = 0, keep = 0;
  for (const char *q = skip_blank(p + 1); q < end && *q != '}' && n < 64;) {
    const char *e = element_end(q);
    if (*q == '.' || *q == '[') {
      ec_buf_append(b, p, (size_t)(end - p));
      return;
    }
    elems[n] = q;
    ends[n++] = e;
    if (!is_zero_value(q, e)) keep = n;
    q = *e == ',' ? skip_blank(e + 1) : e;
  }
  if (n == 64) {
    ec_buf_append(b, p, (size_t)(end - p));
    return;
  }
  ec_buf_append(b, "{", 1);
  for (int i = 0; i < (keep ? keep : 1); i++) {
    const char *e = ends[i];
    while (e > elems[i] && (e[-1] == ' ' || e[-1] == '\n')) e--;
    ec_buf_printf(b, "%s%.*s", i ? ", " : "", (int)(e - elems[i]), elems[i]);
  }
  ec_buf_append(b, "}", 1);
}

/* Writes a params initializer (an op's print_params) with only the fields that say something:
 * fields that are zero (C zero-fills what a designated initializer leaves out, so the struct
 * is the same) are left out, but for an axis, and arrays lose their trailing zeros. An
 * initializer that is not all designated fields is written as it is. */
static void put_params(ec_buf *b, const char *init) {
  const char *p = skip_blank(init);
  if (*p != '{') {
    ec_buf_printf(b, "%s", init);
    return;
  }
  for (const char *q = skip_blank(p + 1); *q && *q != '}';) {
    const char *e = element_end(q);
    if (*q != '.' || !*e) {
      ec_buf_printf(b, "%s", init);
      return;
    }
    q = *e == ',' ? skip_blank(e + 1) : e;
  }
  int kept = 0;
  ec_buf_printf(b, "{");
  for (const char *q = skip_blank(p + 1); *q && *q != '}';) {
    const char *e = element_end(q), *eq = strchr(q, '=');
    if (!eq || eq > e) eq = q;
    const char *name_end = eq;
    while (name_end > q && name_end[-1] == ' ') name_end--;
    const char *v = skip_blank(eq + 1), *ve = e;
    while (ve > v && (ve[-1] == ' ' || ve[-1] == '\n')) ve--;
    bool axis = name_end - q == 5 && strncmp(q, ".axis", 5) == 0;
    if (axis || !is_zero_value(v, ve)) {
      ec_buf_printf(b, "%s%.*s = ", kept++ ? ", " : " ", (int)(name_end - q), q);
      if (*v == '{') put_trimmed_list(b, v, ve);
      else ec_buf_append(b, v, (size_t)(ve - v));
    }
    q = *e == ',' ? skip_blank(e + 1) : e;
  }
  ec_buf_printf(b, kept ? " }" : " 0 }");
}

/* A float for generated C: exact (hex), or the infinities of an open clamp. */
static void put_float(ec_buf *b, float f) { ec_emit_float(b, f, "ECK_XNN_INF"); }

static void put_sizes(ec_buf *b, const size_t *v, int n) { ec_emit_sizes(b, v, n); }

/* The C name of an XNNPACK operator kind (an EC_XNN row of fast_kernels.def). */
static const char *xnn_kind_name(int k) {
  static const char *const names[ECK_XNN_KIND_COUNT] = {
#define EC_XNN(KIND, flags) [ECK_XNN_##KIND] = "ECK_XNN_" #KIND,
#include "fast_kernels.def"
  };
  return k > 0 && k < ECK_XNN_KIND_COUNT && names[k] ? names[k] : "0";
}

/* The eck_xnn_params initializer: only the fields the kind uses are non-zero. */
static void put_xnn_params(ec_buf *b, const eck_xnn_params *p, const char *fname) {
  ec_buf_printf(b, "{\n    .kind = %s", xnn_kind_name(p->kind));
  if (p->kind == ECK_XNN_RESIZE && (p->flags == ECK_XNN_FLAG_TF_LEGACY || p->flags == ECK_XNN_FLAG_ALIGN_CORNERS))
    ec_buf_printf(b, ", .flags = %s",
                  p->flags == ECK_XNN_FLAG_TF_LEGACY ? "ECK_XNN_FLAG_TF_LEGACY" : "ECK_XNN_FLAG_ALIGN_CORNERS");
  else if (p->flags)
    ec_buf_printf(b, ", .flags = %uu", p->flags);
  ec_shared_fields f = EC_SHARED_FIELDS(p, "ECK_XNN_INF");
  ec_emit_shared_fields(b, &f);
  if (p->kind == ECK_XNN_PAD) {
    ec_buf_printf(b, ",\n    .pre = ");
    put_sizes(b, p->pre, p->rank_a);
    ec_buf_printf(b, ", .post = ");
    put_sizes(b, p->post, p->rank_a);
    ec_buf_printf(b, ", .value = ");
    put_float(b, p->value);
  }
  if (p->kind == ECK_XNN_MAXPOOL8) /* quantized values keep their scale: only the type says */
    ec_buf_printf(b, ",\n    .q_unsigned = %d", (int)p->q_unsigned);
  if (p->kind == ECK_XNN_QADD || p->kind == ECK_XNN_QMUL) { /* A's parameters, B's (in w_*), C's */
    ec_buf_printf(b, ",\n    .q_unsigned = %d, .in_scale = ", (int)p->q_unsigned);
    put_float(b, p->in_scale);
    ec_buf_printf(b, ", .in_zp = %d, .w_scale = ", (int)p->in_zp);
    put_float(b, p->w_scale);
    ec_buf_printf(b, ", .w_zp = %d, .out_scale = ", (int)p->w_zp);
    put_float(b, p->out_scale);
    ec_buf_printf(b, ", .out_zp = %d", (int)p->out_zp);
  }
  if (p->kind >= ECK_XNN_QCONV && p->kind <= ECK_XNN_DEQUANT) {
    ec_buf_printf(b, ",\n    .q_unsigned = %d", (int)p->q_unsigned);
    if (p->kind != ECK_XNN_QUANT) {
      ec_buf_printf(b, ", .in_scale = ");
      put_float(b, p->in_scale);
      ec_buf_printf(b, ", .in_zp = %d", (int)p->in_zp);
    }
    if (p->w_scales) {
      ec_buf_printf(b, ", .w_scales = %s_w_scales", fname);
    } else if (p->kind == ECK_XNN_QCONV || p->kind == ECK_XNN_QFC) {
      ec_buf_printf(b, ", .w_scale = ");
      put_float(b, p->w_scale);
      ec_buf_printf(b, ", .w_zp = %d", (int)p->w_zp);
    }
    if (p->kind != ECK_XNN_DEQUANT) {
      ec_buf_printf(b, ", .out_scale = ");
      put_float(b, p->out_scale);
      ec_buf_printf(b, ", .out_zp = %d", (int)p->out_zp);
    }
  }
  ec_buf_printf(b, "}");
}

/* A reference kernel reads NCHW: every 4-D tensor it touches must be in that order. */
static bool ref_layout_ok(const ec_graph *g, const ec_node *n) {
  /* A byte copy (cancel-transpose's) reads and writes the same bytes in whatever layout. */
  if (n->op == EC_OP_Identity)
    for (int k = 0; k < n->n_attrs; k++)
      if (strcmp(n->attrs[k].name, EC_ATTR_SAME_BYTES) == 0) return true;
  for (int k = 0; k < n->n_inputs + n->n_outputs; k++) {
    int t = k < n->n_inputs ? n->inputs[k] : n->outputs[k - n->n_inputs];
    if (t >= 0 && g->tensors[t].layout == EC_LAYOUT_NHWC && !ec_layout_free(&g->tensors[t])) return false;
  }
  for (int k = 0; k < n->n_attrs; k++)
    if (strcmp(n->attrs[k].name, EC_ATTR_SHUFFLE) == 0 || strcmp(n->attrs[k].name, EC_ATTR_LAYOUT) == 0)
      return false;
  return true;
}

static void put_val(emitter *e, ec_buf *b, int t) {
  if (t < 0) ec_buf_printf(b, "NULL");
  else ec_buf_printf(b, "ctx->v[V_%s].data", e->vname[e->val_of[t]]);
}

/* ---- fast steps: one function per EC_KERNEL row of fast_kernels.def ---------------------------- */

static void step_open(emitter *e, ec_buf *b, const char *fname) {
  ec_buf_printf(b, "static int %s(void *c) {\n  %s *ctx = c;\n", fname, e->prog);
}

/* How init creates and sets up one library's steps (XNNPACK operators, oneDNN primitives). */
typedef struct lib_calls {
  const char *create, *setup, *run; /* eck_xnn_create, eck_xnn_setup, eck_xnn_run */
  const char *nodes;          /* the context's array of nodes (xn) */
  const char *slot;           /* the prefix of its enum of slots (X: ctx->xn[X_conv1_Conv]) */
  const char *ctx_arg;        /* create's and run's argument before the params ("" or "&ctx->dnnl, ") */
  const char *params;         /* suffix of the step's params (xp: conv1_Conv_xp) */
  const char *setup_tail;     /* setup's and run's arguments after the output (", ctx->pool") */
  const char *failed;         /* init's helper for a failed call (init_failed) */
} lib_calls;
static const lib_calls xnn_calls = {"eck_xnn_create", "eck_xnn_setup", "eck_xnn_run", "xn", "X", "", "xp", ", ctx->pool",
                                    "init_failed"};
static const lib_calls dnnl_calls = {"eck_dnnl_create", "eck_dnnl_setup", "eck_dnnl_run", "dn", "D", "&ctx->dnnl, ", "dp", "",
                                     "init_failed_dnnl"};

/* The step function of an operator created at init:
 * `return RUN(&ctx->NODES[SLOT_fname], CTX_ARG&fname_PARAMS, a, b, y TAIL);`. */
static void emit_run_step(emitter *e, ec_buf *b, int s, const ec_node *n, const char *fname, const lib_calls *l) {
  const ec_kernel_choice *kc = e->kc[s];
  step_open(e, b, fname);
  if (l == &dnnl_calls && e->n_clusters > 1) /* the primitive keeps the team it was created with */
    ec_buf_printf(b, "  eck_dnnl_threads(dnnl_team(ctx, D_%s)); /* this thread's OpenMP team */\n", fname);
  ec_buf_printf(b, "  return %s(&ctx->%s[%s_%s], %s&%s_%s, ", l->run, l->nodes, l->slot, fname, l->ctx_arg, fname,
                l->params);
  put_val(e, b, kc->a);
  ec_buf_printf(b, ", ");
  put_val(e, b, kc->b);
  ec_buf_printf(b, ", ");
  put_val(e, b, n->n_outputs ? n->outputs[0] : -1);
  ec_buf_printf(b, "%s);\n}\n", l->setup_tail);
}

/* An XNNPACK operator, created at init (emit_fast_init): its params, then a run. */
static void emit_xnn(emitter *e, ec_buf *b, int s, const ec_node *n, const char *fname) {
  const eck_xnn_params *p = &e->kc[s]->xp;
  /* per-channel weight scales: XNNPACK packs them with the weights at create */
  if (p->w_scales) ec_emit_w_scales(b, fname, p->w_scales, (size_t)p->groups * p->channels_out, "ECK_XNN_INF");
  ec_buf_printf(b, "static const eck_xnn_params %s_xp = ", fname);
  put_xnn_params(b, p, fname);
  ec_buf_printf(b, ";\n");
  emit_run_step(e, b, s, n, fname, &xnn_calls);
}

/* A oneDNN primitive, created at init (emit_fast_init): its params, then a run. */
static void emit_dnnl(emitter *e, ec_buf *b, int s, const ec_node *n, const char *fname) {
  const eck_dnnl_params *p = &e->kc[s]->dp;
  /* per-channel weight scales: create folds them into the primitive's output scales */
  if (p->w_scales) ec_emit_w_scales(b, fname, p->w_scales, eck_dnnl_ch_out(p), "ECK_DNNL_INF");
  ec_buf_printf(b, "static const eck_dnnl_params %s_dp = ", fname);
  ec_emit_dnnl_params(b, p, fname);
  ec_buf_printf(b, ";\n");
  emit_run_step(e, b, s, n, fname, &dnnl_calls);
}

/* A step calling a plain-C kernel on the node's input 0 and output 0 as floats: opens the
 * function and the call up to `call((const float *)x[ + x_off], (float *)y`. */
static void open_float_call(emitter *e, ec_buf *b, const char *fname, const char *call, const ec_node *n,
                            const size_t *x_off) {
  step_open(e, b, fname);
  ec_buf_printf(b, "  %s((const float *)", call);
  put_val(e, b, n->inputs[0]);
  if (x_off) ec_buf_printf(b, " + %zu", *x_off);
  ec_buf_printf(b, ", (float *)");
  put_val(e, b, n->outputs[0]);
}

/* eck_xnn_to_nhwc / eck_xnn_to_nchw. */
static void emit_layout(emitter *e, ec_buf *b, int s, const ec_node *n, const char *fname) {
  const ec_kernel_choice *kc = e->kc[s];
  open_float_call(e, b, fname, kc->kind == EC_K_TO_NHWC ? "eck_xnn_to_nhwc" : "eck_xnn_to_nchw", n, NULL);
  ec_buf_printf(b, ", %zu, %zu, %zu);\n  return ECK_OK;\n}\n", kc->n, kc->c, kc->hw);
}

/* eck_xnn_to_nhwc_8 / eck_xnn_to_nchw_8: one-byte elements. */
static void emit_layout_8(emitter *e, ec_buf *b, int s, const ec_node *n, const char *fname) {
  const ec_kernel_choice *kc = e->kc[s];
  step_open(e, b, fname);
  ec_buf_printf(b, "  %s((const uint8_t *)", kc->kind == EC_K_TO_NHWC_8 ? "eck_xnn_to_nhwc_8" : "eck_xnn_to_nchw_8");
  put_val(e, b, n->inputs[0]);
  ec_buf_printf(b, ", (uint8_t *)");
  put_val(e, b, n->outputs[0]);
  ec_buf_printf(b, ", %zu, %zu, %zu);\n  return ECK_OK;\n}\n", kc->n, kc->c, kc->hw);
}

static void emit_shuffle_nchw(emitter *e, ec_buf *b, int s, const ec_node *n, const char *fname) {
  const ec_kernel_choice *kc = e->kc[s];
  open_float_call(e, b, fname, "eck_xnn_shuffle_nchw", n, NULL);
  ec_buf_printf(b, ", %zu, %zu, %zu, %zu);\n  return ECK_OK;\n}\n", kc->n, kc->groups, kc->c / kc->groups, kc->hw);
}

/* oneDNN's OpenMP team holds the program's threads: no clusters, and oneDNN runs at least as many
 * steps as XNNPACK (emit_fast_init starts XNNPACK's pool on one thread then). */
static bool dnnl_owns_threads(const emitter *e) {
  return e->n_clusters <= 1 && e->n_dnnl && e->n_dnnl >= e->n_xnn;
}

/* eck_xnn_batchnorm_nhwc, or where oneDNN's OpenMP threads are the program's the same arithmetic
 * on them (eck_dnnl_batchnorm_nhwc): XNNPACK's pool has one thread there. */
static void emit_batchnorm(emitter *e, ec_buf *b, int s, const ec_node *n, const char *fname) {
  const ec_kernel_choice *kc = e->kc[s];
  bool omp = dnnl_owns_threads(e);
  open_float_call(e, b, fname, omp ? "eck_dnnl_batchnorm_nhwc" : "eck_xnn_batchnorm_nhwc", n, NULL);
  for (int k = 1; k < 5; k++) {
    ec_buf_printf(b, ",\n      (const float *)");
    put_val(e, b, n->inputs[k]);
  }
  ec_buf_printf(b, ", ");
  put_float(b, kc->xp.value);
  ec_buf_printf(b, ", %zu, %zu, %zu, %zu, ", kc->xp.batch, kc->xp.channels_in, kc->xp.in_stride,
                kc->xp.out_stride);
  put_float(b, kc->xp.out_min);
  ec_buf_printf(b, ", ");
  put_float(b, kc->xp.out_max);
  ec_buf_printf(b, "%s);\n  return ECK_OK;\n}\n", omp ? ", ctx->base.threads" : "");
}

static void emit_slice(emitter *e, ec_buf *b, int s, const ec_node *n, const char *fname) {
  const ec_kernel_choice *kc = e->kc[s];
  open_float_call(e, b, fname, "eck_xnn_copy_channels", n, &kc->xp.pre[0]);
  ec_buf_printf(b, ", %zu, %zu, %zu, %zu);\n  return ECK_OK;\n}\n", kc->xp.batch, kc->xp.channels_in,
                kc->xp.in_stride, kc->xp.out_stride);
}

/* eck_xnn_gelu (Erf form) or eck_xnn_gelu_tanh (xp.flags 1) of xp.batch floats. */
static void emit_gelu(emitter *e, ec_buf *b, int s, const ec_node *n, const char *fname) {
  open_float_call(e, b, fname, e->kc[s]->xp.flags ? "eck_xnn_gelu_tanh" : "eck_xnn_gelu", n, NULL);
  ec_buf_printf(b, ", %zu);\n  return ECK_OK;\n}\n", e->kc[s]->xp.batch);
}

/* eck_xnn_hardsigmoid of xp.batch floats, with the node's alpha and beta. */
static void emit_hardsigmoid(emitter *e, ec_buf *b, int s, const ec_node *n, const char *fname) {
  const eck_unary_params *up = n->params;
  open_float_call(e, b, fname, "eck_xnn_hardsigmoid", n, NULL);
  ec_buf_printf(b, ", %zu, ", e->kc[s]->xp.batch);
  put_float(b, up->alpha);
  ec_buf_printf(b, ", ");
  put_float(b, up->beta);
  ec_buf_printf(b, ");\n  return ECK_OK;\n}\n");
}

/* eck_xnn_layernorm: scale and (optional) bias, rows, row length, their steps, epsilon. */
static void emit_layernorm(emitter *e, ec_buf *b, int s, const ec_node *n, const char *fname) {
  const eck_xnn_params *p = &e->kc[s]->xp;
  open_float_call(e, b, fname, "eck_xnn_layernorm", n, NULL);
  ec_buf_printf(b, ",\n      (const float *)");
  put_val(e, b, n->inputs[1]);
  ec_buf_printf(b, ", (const float *)");
  put_val(e, b, n->n_inputs > 2 ? n->inputs[2] : -1);
  ec_buf_printf(b, ", %zu, %zu, %zu, %zu, ", p->batch, p->channels_in, p->in_stride, p->out_stride);
  put_float(b, p->value);
  ec_buf_printf(b, ");\n  return ECK_OK;\n}\n");
}

/* eck_xnn_dwconv: the geometry as XNNPACK's convolution would take it, weights and bias. */
static void emit_dwconv(emitter *e, ec_buf *b, int s, const ec_node *n, const char *fname) {
  const ec_kernel_choice *kc = e->kc[s];
  ec_buf_printf(b, "static const eck_xnn_params %s_xp = ", fname);
  put_xnn_params(b, &kc->xp, fname);
  ec_buf_printf(b, ";\n");
  open_float_call(e, b, fname, "eck_xnn_dwconv", n, NULL);
  ec_buf_printf(b, ", &%s_xp,\n      (const float *)", fname);
  put_val(e, b, kc->w);
  ec_buf_printf(b, ", (const float *)");
  put_val(e, b, kc->bias);
  ec_buf_printf(b, ");\n  return ECK_OK;\n}\n");
}

/* Kernels on eck_tensor arrays, as the reference kernels take them: channel concat, sgemm (of a
 * StridedMatMul: with the node's permutations and its scratch). */
static void emit_tensor_call(emitter *e, ec_buf *b, int s, const ec_node *n, const char *fname) {
  if (n->op == EC_OP_StridedMatMul) {
    ec_buf_printf(b, "static const eck_strided_matmul_params %s_params = ", fname);
    ec_ops[n->op].print_params(b, n);
    ec_buf_printf(b, ";\n");
  }
  step_open(e, b, fname);
  ec_buf_printf(b, "  eck_tensor in[%d], out[1];\n", n->n_inputs);
  for (int k = 0; k < n->n_inputs; k++)
    ec_buf_printf(b, "  in[%d] = ctx->v[V_%s];\n", k, e->vname[e->val_of[n->inputs[k]]]);
  ec_buf_printf(b, "  out[0] = ctx->v[V_%s];\n", e->vname[e->val_of[n->outputs[0]]]);
  if (e->kc[s]->kind == EC_K_CONCAT_NHWC)
    ec_buf_printf(b, "  return eck_xnn_concat_nhwc(in, %d, out);\n}\n", n->n_inputs);
  else if (n->op == EC_OP_StridedMatMul && e->mp.scratch_buf[s] >= 0)
    ec_buf_printf(b, "  return eck_blas_strided_matmul(&%s_params, in, 2, out, 1, ctx->arena + %zu);\n}\n", fname,
                  e->mp.bufs[e->mp.scratch_buf[s]].offset);
  else if (n->op == EC_OP_StridedMatMul) /* empty matrices: no scratch */
    ec_buf_printf(b, "  return eck_blas_strided_matmul(&%s_params, in, 2, out, 1, NULL);\n}\n", fname);
  else
    ec_buf_printf(b, "  return eck_blas_matmul(NULL, in, 2, out, 1, NULL);\n}\n");
}

typedef void (*emit_step_fn)(emitter *e, ec_buf *b, int s, const ec_node *n, const char *fname);
static const struct {
  emit_step_fn emit;
  const char *label;
} kernel_rows[] = {
#define EC_KERNEL(NAME, emit, label, flags) [EC_K_##NAME] = {emit, label},
#include "fast_kernels.def"
};
_Static_assert(sizeof kernel_rows / sizeof kernel_rows[0] == EC_K_COUNT, "fast_kernels.def: kernel table out of step");

/* The step function of a node on a fast kernel. */
static ec_status emit_fast_step(emitter *e, ec_buf *b, int s, const ec_node *n, const char *fname) {
  ec_kernel_kind k = e->kc[s]->kind;
  if ((unsigned)k >= EC_K_COUNT || !kernel_rows[k].emit) return EC_ERR_INTERNAL;
  ec_buf_printf(b, "/* kernel: %s */\n", kernel_rows[k].label);
  kernel_rows[k].emit(e, b, s, n, fname);
  return EC_OK;
}

static bool in_arena_or_weights(emitter *e, int t) {
  return t < 0 || e->mp.where[t] == EC_MP_ARENA || e->mp.where[t] == EC_MP_WEIGHTS;
}

/* Step s's create call at init (its node in the library's array, slot named from the step) and,
 * where all its buffers are the arena's or the weights', its setup; a failed call ends init with
 * its error. */
static void emit_create(emitter *e, ec_buf *b, int s, const lib_calls *l) {
  const ec_kernel_choice *kc = e->kc[s];
  const ec_node *n = &e->g->nodes[e->p->nodes[s]];
  const char *nm = e->sname[s];
  int y = n->outputs[0];
  if (l == &dnnl_calls && e->n_clusters > 1) /* oneDNN fixes the team when it creates the primitive */
    ec_buf_printf(b, "  eck_dnnl_threads(dnnl_team(ctx, D_%s));\n", nm);
  ec_buf_printf(b, "  if (%s(&ctx->%s[%s_%s], %s&%s_%s, ", l->create, l->nodes, l->slot, nm, l->ctx_arg, nm,
                l->params);
  if (kc->w >= 0 && e->g->tensors[kc->w].dtype == ECK_FLOAT) ec_buf_printf(b, "(const float *)");
  put_val(e, b, kc->w);
  ec_buf_printf(b, ", ");
  if (kc->bias >= 0 && e->g->tensors[kc->bias].dtype == ECK_FLOAT) ec_buf_printf(b, "(const float *)");
  put_val(e, b, kc->bias);
  ec_buf_printf(b, ") != ECK_OK");
  /* A oneDNN step writing into a Concat's channels: its stage, the step's scratch in the arena. */
  if (l == &dnnl_calls && e->mp.scratch_buf[s] >= 0)
    ec_buf_printf(b, " ||\n      eck_dnnl_stage(&ctx->%s[%s_%s], &%s_%s, ctx->arena + %zu) != ECK_OK", l->nodes,
                  l->slot, nm, nm, l->params, e->mp.bufs[e->mp.scratch_buf[s]].offset);
  if (in_arena_or_weights(e, kc->a) && in_arena_or_weights(e, kc->b) && in_arena_or_weights(e, y)) {
    ec_buf_printf(b, " ||\n      %s(&ctx->%s[%s_%s], &%s_%s, ", l->setup, l->nodes, l->slot, nm, nm, l->params);
    put_val(e, b, kc->a);
    ec_buf_printf(b, ", ");
    put_val(e, b, kc->b);
    ec_buf_printf(b, ", ");
    put_val(e, b, y);
    ec_buf_printf(b, "%s) != ECK_OK", l->setup_tail);
  }
  ec_buf_printf(b, ")\n    return %s(ctx, S_%s, &ctx->%s[%s_%s].err);\n", l->failed, nm, l->nodes, l->slot, nm);
  /* The last create to read these weights (place_copied_weights): their pages may go now. */
  if (e->rel_to[s] > e->rel_from[s])
    ec_buf_printf(b, "  if (release) ecrt_weights_release(weights, %zuu, %zuu);\n", e->rel_from[s], e->rel_to[s]);
}

/* Init: XNNPACK and the thread pool, then every XNNPACK operator created (weights packed) and,
 * where all its buffers are the arena's or the weights', set up. Each call that fails ends init
 * through init_failed with that call's own error, so the message names the step and status. */
static void emit_fast_init(emitter *e, ec_buf *b) {
  if (e->n_clusters > 1 && e->n_dnnl && e->n_dnnl >= e->n_xnn)
    /* One thread budget: oneDNN's teams take the threads the clusters leave (dnnl_team), so the
     * shared pool has the cluster threads only (one thread when the steps run in order). */
    ec_buf_printf(b, "  if (eck_xnn_start_shared(&ctx->pool, ctx->base.threads >= %s_N_CLUSTERS ? %s_N_CLUSTERS : 1,\n"
                  "                           ctx->base.threads >= %s_N_CLUSTERS ? %s_N_CLUSTERS : 1, &err) != ECK_OK)\n",
                  e->PROG, e->PROG, e->PROG, e->PROG);
  else if (e->n_clusters > 1) /* clusters on threads of their own share one pool (ecrt_cluster.h) */
    ec_buf_printf(b, "  if (eck_xnn_start_shared(&ctx->pool, ctx->base.threads,\n"
                  "                           ctx->base.threads >= %s_N_CLUSTERS ? %s_N_CLUSTERS : 1, &err) != ECK_OK)\n",
                  e->PROG, e->PROG);
  else if (dnnl_owns_threads(e))
    /* One thread budget: oneDNN's OpenMP team has the threads, and XNNPACK's pool none of its own
     * (its workers would wait, spinning, beside OpenMP's: 3 threads on 2 cores at --threads 2). */
    ec_buf_printf(b, "  if (eck_xnn_start(&ctx->pool, 1, &err) != ECK_OK)\n");
  else
    ec_buf_printf(b, "  if (eck_xnn_start(&ctx->pool, ctx->base.threads, &err) != ECK_OK)\n");
  ec_buf_printf(b, "    return init_failed(ctx, -1, &err);\n  ctx->xnn_started = 1;\n");
  for (int s = 0; s < e->p->n_nodes; s++)
    if (e->kc[s]->kind == EC_K_XNN) emit_create(e, b, s, &xnn_calls);
  if (e->n_dnnl) ec_emit_dnnl_start(b, e->n_clusters > 1 ? e->PROG : NULL, e->n_clusters <= 1 && e->n_dnnl < e->n_xnn);
  /* oneDNN's primitives: weights reordered into the primitive's own memory at create. */
  for (int s = 0; s < e->p->n_nodes; s++)
    if (e->kc[s]->kind == EC_K_DNNL) emit_create(e, b, s, &dnnl_calls);
}

/* The release function, and for fast code the init_failed helper init ends with on a failed
 * call: it records the call for the caller's message and releases what init made. */
static void emit_release(emitter *e, ec_buf *b) {
  if (!e->fast) {
    if (e->n_clusters > 1)
      ec_buf_printf(b, "void %s_release(%s *ctx) {\n  ecrt_clusters_stop(&ctx->clusters);\n}\n\n", e->prog, e->prog);
    else
      ec_buf_printf(b, "void %s_release(%s *ctx) {\n  (void)ctx;\n}\n\n", e->prog, e->prog);
    return;
  }
  ec_buf_printf(b, "void %s_release(%s *ctx) {\n  int i;\n%s"
                "  for (i = 0; i < %s_N_XNN; i++) eck_xnn_delete(&ctx->xn[i]);\n"
                "  if (ctx->xnn_started) eck_xnn_stop(ctx->pool);\n"
                "  ctx->pool = NULL;\n  ctx->xnn_started = 0;\n", e->prog, e->prog,
                e->n_clusters > 1 ? "  ecrt_clusters_stop(&ctx->clusters);\n" : "", e->PROG);
  if (e->n_dnnl) ec_emit_dnnl_release(b, e->PROG);
  ec_buf_printf(b, "}\n\n");
  if (e->n_dnnl) ec_emit_dnnl_failed(b, e->prog);
  ec_buf_printf(b, "/* Init failed in the XNNPACK call err names, at step (-1: before the steps). */\n"
                "static ecrt_status init_failed(%s *ctx, int step, const eck_xnn_error *err) {\n"
                "  ctx->base.failed_step = step;\n  ctx->base.failed_call = err->call;\n"
                "  ctx->base.failed_status = err->status;\n  %s_release(ctx);\n"
                "  return ECRT_ERR_LIBRARY;\n}\n\n", e->prog, e->prog);
}

static void emit_bounded_call(emitter *e, ec_buf *b, const ec_node *n, const ec_op_def *op,
                              const char *parg, const char *sarg);

static ec_status emit_source(emitter *e, ec_buf *b, ec_diag *d) {
  const ec_graph *g = e->g;
  char file[200];
  snprintf(file, sizeof file, "%s.c", e->prog);
  header_comment(e, b, file, "the partition: tensor table, one step per ONNX node, init and run.");
  ec_buf_printf(b, "#include \"%s.h\"\n\n#include <string.h>\n\n#include \"eck_ref.h\"\n", e->prog);
  if (e->n_blas) ec_buf_printf(b, "#include \"kernels/blas/eck_blas.h\"\n");
  ec_buf_printf(b, "\n");
  ec_buf_printf(b, "static const uint8_t model_sha256[32] = {");
  for (int i = 0; i < 32; i++) ec_buf_printf(b, "%s0x%02x", i ? (i % 16 ? ", " : ",\n    ") : "\n    ", g->sha256[i]);
  ec_buf_printf(b, "};\n#define WEIGHTS_PAYLOAD_BYTES %zuu\n#define WEIGHTS_PAYLOAD_CRC32C 0x%08xu\n\n", e->payload, e->crc);

  ec_buf_printf(b, "/* Every tensor the partition touches, by ONNX name. */\nenum {\n");
  for (int v = 0; v < e->n_vals; v++) {
    ec_buf_printf(b, "  V_%s,", e->vname[v]);
    if (strcmp(e->vname[v], g->tensors[e->vals[v]].name) != 0) {
      ec_buf_printf(b, " /* ");
      put_comment_text(b, g->tensors[e->vals[v]].name);
      ec_buf_printf(b, " */");
    }
    ec_buf_printf(b, "\n");
  }
  ec_ctl_emit_enum(e->ctl, b);
  ec_buf_printf(b, "};\n\n/* Where each tensor lives: arena offset (memory plan), weights offset, or the caller's\n * buffer (graph inputs and outputs). */\n");
  ec_buf_printf(b, "static const ecrt_value values[%s_N_VALUES] = {\n", e->PROG);
  for (int v = 0; v < e->n_vals; v++) {
    int t = e->vals[v];
    const ec_tensor *tt = &g->tensors[t];
    const char *where = "ECRT_CALLER";
    size_t off = 0;
    if (e->mp.where[t] == EC_MP_ARENA) {
      where = "ECRT_ARENA";
      off = e->mp.bufs[e->mp.buf[t]].offset + e->mp.view_off[t];
    } else if (e->mp.where[t] == EC_MP_WEIGHTS) {
      where = "ECRT_WEIGHTS";
      off = e->woff[v];
    }
    ec_buf_printf(b, "  [V_%s] = {%s, %d, ", e->vname[v], dtype_macro(tt->dtype), tt->rank);
    put_dims_init(b, tt);
    ec_buf_printf(b, ", %s, %zu},", where, off);
    for (int s = 0; s < e->p->n_nodes; s++) {
      const ec_node *n = &g->nodes[e->p->nodes[s]];
      if (!e->aliased[s] || n->outputs[0] != t) continue;
      /* The node's name too: a reviewer (and tests/diff, which checks where each node ran) finds it. */
      if (e->kc[s]->kind == EC_K_CONCAT_VIEW)
        ec_buf_printf(b, " /* %s, no step: %s; node '", n->op_type, kernel_rows[EC_K_CONCAT_VIEW].label);
      else
        ec_buf_printf(b, " /* %s, no step: aliases V_%s; node '", n->op_type, e->vname[e->val_of[n->inputs[0]]]);
      put_comment_text(b, n->name ? n->name : "");
      ec_buf_printf(b, "' */");
    }
    ec_buf_printf(b, "\n");
  }
  ec_ctl_emit_values(e->ctl, b);
  ec_buf_printf(b, "};\n");
  if (e->n_emit) {
    ec_buf_printf(b, "\n/* The steps, in run order. */\nenum {\n");
    for (int s = 0; s < e->p->n_nodes; s++)
      if (!e->aliased[s]) ec_buf_printf(b, "  S_%s,\n", e->sname[s]);
    ec_buf_printf(b, "};\n");
  }
  if (e->n_xnn) {
    ec_buf_printf(b, "\n/* The XNNPACK operators of ctx->xn. */\nenum {\n");
    for (int s = 0; s < e->p->n_nodes; s++)
      if (e->xslot[s] >= 0) ec_buf_printf(b, "  X_%s,\n", e->sname[s]);
    ec_buf_printf(b, "};\n");
  }
  if (e->n_dnnl) {
    ec_buf_printf(b, "\n/* The oneDNN primitives of ctx->dn. */\nenum {\n");
    for (int s = 0; s < e->p->n_nodes; s++)
      if (e->dslot[s] >= 0) ec_buf_printf(b, "  D_%s,\n", e->sname[s]);
    ec_buf_printf(b, "};\n");
  }
  if (e->n_dnnl && e->n_clusters > 1) {
    ec_buf_printf(b, "\n/* Each primitive's OpenMP team when the clusters run side by side on %s_THREADS threads,\n"
                  " * as the plan decided (ec_node.team): every thread where no other cluster can run beside\n"
                  " * the step, a share where some can. */\nstatic const unsigned char dnnl_teams[%s_N_DNNL] = {\n",
                  e->PROG, e->PROG);
    for (int s = 0; s < e->p->n_nodes; s++) {
      int t = e->g->nodes[e->p->nodes[s]].team;
      if (e->dslot[s] >= 0) ec_buf_printf(b, "  [D_%s] = %d,\n", e->sname[s], t > 0 ? t : 1);
    }
    ec_buf_printf(b, "};\n\n");
    ec_emit_dnnl_team_fn(b, e->prog, e->PROG);
  }

  for (int s = 0; s < e->p->n_nodes; s++) {
    const ec_node *n = &g->nodes[e->p->nodes[s]];
    const ec_op_def *op = &ec_ops[n->op];
    const char *fname = e->sname[s];
    if (e->aliased[s]) continue;
    ec_buf_printf(b, "\n");
    node_comment(e, b, n);
    const ec_kernel_choice *kc = e->kc[s];
    if (kc->kind != EC_K_REF && kc->kind != EC_K_RNN) {
      ec_status fst = emit_fast_step(e, b, s, n, fname);
      if (fst) return fst;
      continue;
    }
    /* A fast kernel with the reference kernel's signature: this path, with its name. */
    if (kc->kind == EC_K_RNN) ec_buf_printf(b, "/* kernel: %s */\n", ec_kernel_label(kc->kind));
    /* Reference kernels ignore a fused clamp: emitting one here would drop the activation. */
    for (int k = 0; k < n->n_attrs; k++)
      if (strcmp(n->attrs[k].name, EC_ATTR_ACT_MIN) == 0 || strcmp(n->attrs[k].name, EC_ATTR_ACT_MAX) == 0 ||
          strcmp(n->attrs[k].name, EC_ATTR_SUM) == 0) {
        ec_fail_node(d, g, n, "internal error: %s carries a fused activation or sum but runs on its reference kernel",
                     n->op_type);
        return EC_ERR_INTERNAL;
      }
    if (e->fast && !ref_layout_ok(g, n)) {
      ec_fail_node(d, g, n, "internal error: the reference kernel of %s would read NHWC data", n->op_type);
      return EC_ERR_INTERNAL;
    }
    if (n->n_subgraphs) {
      ec_status cst = ec_ctl_emit_step(e->ctl, b, s, fname, e->prog, d);
      if (cst) return cst;
      continue;
    }
    bool has_params = op->print_params && n->params;
    if (has_params) {
      /* The op table names the kernel's params type; infer allocated n->params as one. */
      if (n->params_size != op->params_size) {
        ec_fail_node(d, g, n, "internal error: %s's params take %zu bytes, not the %zu of its table type %s",
                     n->op_type, n->params_size, op->params_size, op->params_type);
        return EC_ERR_INTERNAL;
      }
      ec_buf init = {0};
      op->print_params(&init, n);
      if (init.oom || !init.data) {
        ec_buf_free(&init);
        return EC_ERR_INTERNAL;
      }
      ec_buf_printf(b, "static const %s %s_params = ", op->params_type, fname);
      put_params(b, init.data);
      ec_buf_free(&init);
      ec_buf_printf(b, ";\n");
    }
    int ni = n->n_inputs, no = n->n_outputs;
    ec_buf_printf(b, "static int %s(void *c) {\n  %s *ctx = c;\n", fname, e->prog);
    ec_buf_printf(b, "  eck_tensor in[%d], out[%d];\n", ni ? ni : 1, no ? no : 1);
    bool need_none = false;
    for (int k = 0; k < ni; k++) {
      if (n->inputs[k] < 0) {
        ec_buf_printf(b, "  in[%d] = ecrt_no_tensor;\n", k);
        need_none = true;
      } else {
        ec_buf_printf(b, "  in[%d] = ctx->v[V_%s];\n", k, e->vname[e->val_of[n->inputs[k]]]);
      }
    }
    for (int k = 0; k < no; k++) {
      if (n->outputs[k] < 0) {
        ec_buf_printf(b, "  out[%d] = ecrt_no_tensor;\n", k);
        need_none = true;
      } else {
        ec_buf_printf(b, "  out[%d] = ctx->v[V_%s];\n", k, e->vname[e->val_of[n->outputs[k]]]);
      }
    }
    (void)need_none;
    char parg[200], sarg[64];
    snprintf(parg, sizeof parg, has_params ? "&%s_params" : "NULL", fname);
    if (e->mp.scratch_buf[s] >= 0)
      snprintf(sarg, sizeof sarg, "ctx->arena + %zu", e->mp.bufs[e->mp.scratch_buf[s]].offset);
    else
      snprintf(sarg, sizeof sarg, "NULL");
    bool bounded = false;
    for (int k = 0; k < no; k++) bounded |= n->outputs[k] >= 0 && g->tensors[n->outputs[k]].dyn;
    if (!bounded) {
      ec_buf_printf(b, "  return %s(%s, in, %d, out, %d, %s);\n}\n", ec_kernel_ref_fn(n), parg, ni, no, sarg);
      continue;
    }
    emit_bounded_call(e, b, n, op, parg, sarg);
  }

  ec_buf_printf(b, "\nconst ecrt_step %s_steps[] = {\n", e->prog);
  for (int s = 0; s < e->p->n_nodes; s++) {
    const ec_node *n = &g->nodes[e->p->nodes[s]];
    char label[512];
    if (e->aliased[s]) continue;
    ec_node_label(g, n, label, sizeof label);
    ec_buf_printf(b, "  [S_%s] = {", e->sname[s]);
    put_c_string(b, label);
    ec_buf_printf(b, ", ");
    put_c_string(b, n->op_type);
    ec_buf_printf(b, ", %s},\n", e->sname[s]);
  }
  if (e->n_emit == 0) ec_buf_printf(b, "  {\"\", \"\", NULL} /* no steps: C forbids an empty array */\n");
  ec_buf_printf(b, "};\n\n");
  if (e->models)
    ec_models_emit_tables(e->models, b, g, e->p, e->prog, (const char *const *)e->sname, e->aliased);
  if (e->n_clusters > 1) {
    ec_status cst = ec_emit_clusters(e->g, e->p, e->prog, e->PROG, (const char *const *)e->sname, e->aliased, b);
    if (cst) return cst;
  }

  emit_release(e, b);
  if (e->keep) /* init_release shares the body: it may give back the weights init copied */
    ec_buf_printf(b, "static ecrt_status init_partition(%s *ctx, const void *weights, size_t weights_len,\n"
                  "    void *arena, size_t arena_len, int threads, int release) {\n", e->prog);
  else
    ec_buf_printf(b, "ecrt_status %s_init(%s *ctx, const void *weights, size_t weights_len, void *arena,\n"
                  "    size_t arena_len, int threads) {\n", e->prog, e->prog);
  ec_buf_printf(b, "  const unsigned char *payload;\n%s%s  ecrt_status st;\n", e->fast ? "  eck_xnn_error err;\n" : "",
                e->n_dnnl ? "  eck_dnnl_error derr;\n" : "");
  ec_buf_printf(b, "  if (!ctx) return ECRT_ERR_ARG;\n  memset(ctx, 0, sizeof *ctx);\n  ctx->base.failed_step = -1;\n");
  /* With no arena bytes, `arena_len < 0u` would fail -Wextra's type-limits. */
  if (e->mp.arena_bytes)
    ec_buf_printf(b, "  if (arena_len < %s_ARENA_BYTES || (uintptr_t)arena %% ECRT_ALIGN != 0) return ECRT_ERR_ARG;\n", e->PROG);
  else
    ec_buf_printf(b, "  (void)arena_len;\n  if ((uintptr_t)arena %% ECRT_ALIGN != 0) return ECRT_ERR_ARG;\n");
  ec_buf_printf(b, "  st = ecrt_weights_check(weights, weights_len, model_sha256, WEIGHTS_PAYLOAD_BYTES,\n"
                "                          WEIGHTS_PAYLOAD_CRC32C, &payload);\n  if (st != ECRT_OK) return st;\n");
  /* The threads it really runs with (a profile records them): the reference kernels use one. */
  if (e->fast)
    ec_buf_printf(b, "  ctx->base.threads = threads > 0 ? threads : eck_xnn_default_threads(%s_THREADS);\n", e->PROG);
  else if (e->n_clusters > 1)
    ec_buf_printf(b, "  ctx->base.threads = threads > 0 ? threads : %s_THREADS;\n", e->PROG);
  else
    ec_buf_printf(b, "  (void)threads;\n  ctx->base.threads = 1;\n");
  ec_buf_printf(b, "  ctx->weights = payload;\n  ctx->arena = arena;\n");
  ec_buf_printf(b, "  ecrt_bind(values, %s_N_VALUES, ctx->v, ctx->arena, ctx->weights);\n", e->PROG);
  if (e->fast) emit_fast_init(e, b);
  if (e->keep)
    ec_buf_printf(b, "  /* The weights past this byte were copied into the libraries' own memory (XNNPACK's packed,\n"
                  "   * oneDNN's reordered weights): the caller may release them. */\n"
                  "  ctx->base.weights_keep = %s_WEIGHTS_KEEP_BYTES;\n", e->PROG);
  if (e->n_clusters > 1) {
    ec_buf_printf(b, "  st = ecrt_clusters_start(&ctx->clusters, %s_clusters, %s_N_CLUSTERS, ctx->ready, %s_N_HANDOFFS,\n"
                  "                           %s_steps, ctx, ctx->base.threads, %s);\n", e->prog, e->PROG, e->PROG, e->prog,
                  e->fast ? "eck_pool_enter, eck_pool_help, ctx->pool,\n                           eck_pool_watch"
                          : "NULL, NULL, NULL, NULL");
    ec_buf_printf(b, "  if (st != ECRT_OK) %s_release(ctx);\n  return st;\n}\n\n", e->prog);
  } else {
    ec_buf_printf(b, "  return ECRT_OK;\n}\n\n");
  }
  if (e->keep)
    ec_buf_printf(b, "ecrt_status %s_init(%s *ctx, const void *weights, size_t weights_len, void *arena,\n"
                  "    size_t arena_len, int threads) {\n"
                  "  return init_partition(ctx, weights, weights_len, arena, arena_len, threads, 0);\n}\n\n"
                  "ecrt_status %s_init_release(%s *ctx, void *weights, size_t weights_len, void *arena,\n"
                  "    size_t arena_len, int threads) {\n"
                  "  return init_partition(ctx, weights, weights_len, arena, arena_len, threads, 1);\n}\n\n",
                  e->prog, e->prog, e->prog, e->prog);

  if (e->models) {
    /* Every model: the set-taking run with all bits. */
    run_signature(e, b, false);
    ec_buf_printf(b, " {\n  return %s_run_models(ctx, %s_ALL_MODELS", e->prog, e->PROG);
    for (int i = 0; i < e->p->n_inputs + e->p->n_outputs; i++) ec_buf_printf(b, ", %s", e->arg[i]);
    ec_buf_printf(b, "%s);\n}\n\n", bounded_outputs(e) ? ", out_dims" : "");
  }
  run_signature(e, b, e->models != NULL);
  ec_buf_printf(b, " {\n");
  if (e->models)
    ec_buf_printf(b, "  if (!models || (models & ~(uint32_t)%s_ALL_MODELS)) return ECRT_ERR_ARG;\n", e->PROG);
  for (int i = 0; i < e->p->n_inputs; i++)
    ec_buf_printf(b, "  ctx->v[V_%s].data = (void *)%s;\n", e->vname[e->val_of[e->p->inputs[i]]], e->arg[i]);
  for (int i = 0; i < e->p->n_outputs; i++) {
    int t = e->p->outputs[i];
    const char *a = e->arg[e->p->n_inputs + i];
    bool produced = false, is_input = false;
    for (int k = 0; k < e->p->n_inputs; k++) is_input |= e->p->inputs[k] == t;
    produced = !is_input && e->mp.where[t] == EC_MP_CALLER;
    if (produced) {
      ec_buf_printf(b, "  ctx->v[V_%s].data = %s;\n", e->vname[e->val_of[t]], a);
    } else {
      /* An output that is a constant or an input of the partition is copied out (of a model the
       * run wants: another's buffer may be NULL). */
      if (e->models) {
        ec_buf_printf(b, "  if (models & (");
        ec_models_put_mask(e->models, b, ec_models_of_tensor(e->models, t));
        ec_buf_printf(b, "))\n  ");
      }
      ec_buf_printf(b, "  ecrt_copy(%s, ctx->v[V_%s].data, %zu);\n", a, e->vname[e->val_of[t]],
                    tbytes(&g->tensors[t]));
    }
  }
  const char *ret = bounded_outputs(e) ? "st =" : "return";
  if (bounded_outputs(e)) ec_buf_printf(b, "  ecrt_status st;\n");
  if (e->models && e->n_clusters > 1)
    ec_buf_printf(b, "  ctx->clusters.step_models = %s_step_models;\n  ctx->clusters.models = models;\n", e->prog);
  if (e->n_clusters > 1)
    ec_buf_printf(b, "  %s ecrt_clusters_run(&ctx->clusters, %s_N_STEPS, ctx->base.prof_ns, &ctx->base.failed_step);\n",
                  ret, e->PROG);
  else if (e->models)
    ec_buf_printf(b, "  %s ecrt_run_steps_for(%s_steps, %s_step_models, models, %s_N_STEPS, ctx, ctx->base.prof_ns,\n"
                  "                            &ctx->base.failed_step);\n", ret, e->prog, e->prog, e->PROG);
  else
    ec_buf_printf(b, "  %s ecrt_run_steps(%s_steps, %s_N_STEPS, ctx, ctx->base.prof_ns, &ctx->base.failed_step);\n",
                  ret, e->prog, e->PROG);
  if (bounded_outputs(e)) {
    ec_buf_printf(b, "  /* every output's shape, the data-dependent extents as this run found them */\n");
    for (int i = 0; i < e->p->n_outputs; i++)
      ec_buf_printf(b, "  ecrt_copy(out_dims[%d], ctx->v[V_%s].dims, sizeof out_dims[%d]);\n", i,
                    e->vname[e->val_of[e->p->outputs[i]]], i);
    ec_buf_printf(b, "  return st;\n");
  }
  ec_buf_printf(b, "}\n");
  return EC_OK;
}

/* The step of a node with a data-dependent output shape (ec_tensor.dyn): a kernel finding its own
 * extent (ec_node.own_extent) gets the bound in out[k].dims (ctx->v holds the last run's extent)
 * and writes the extent it finds; an element-wise kernel gets the broadcast of its inputs'
 * extents. Either way the extent goes back to ctx->v, where the readers' steps and run's out_dims
 * take it (and, inside a Loop body, the next iteration's step sets it again). */
void ec_emit_bounded_call(ec_buf *b, const ec_graph *g, const ec_node *n, const char *ref_fn, const char *parg,
                          const char *sarg, const char *const *out_vals) {
  ec_buf_printf(b, "  int rc;\n");
  for (int k = 0; k < n->n_outputs; k++) {
    const ec_tensor *t = n->outputs[k] >= 0 ? &g->tensors[n->outputs[k]] : NULL;
    if (!t || !t->dyn) continue;
    if (!n->own_extent) {
      ec_buf_printf(b, "  if (eck_extent_broadcast(in, %d, &out[%d]) != ECK_OK) return ECK_ERR_ARG;\n",
                    n->n_inputs, k);
      continue;
    }
    for (int j = 0; j < t->rank; j++)
      if ((t->dyn >> j) & 1)
        ec_buf_printf(b, "  out[%d].dims[%d] = %lld; /* at most: the extent is found at run time */\n", k, j,
                      (long long)t->dims[j]);
  }
  ec_buf_printf(b, "  rc = %s(%s, in, %d, out, %d, %s);\n", ref_fn, parg, n->n_inputs, n->n_outputs, sarg);
  for (int k = 0; k < n->n_outputs; k++) {
    const ec_tensor *t = n->outputs[k] >= 0 ? &g->tensors[n->outputs[k]] : NULL;
    for (int j = 0; t && j < t->rank; j++)
      if ((t->dyn >> j) & 1)
        ec_buf_printf(b, "  ctx->v[V_%s].dims[%d] = out[%d].dims[%d];\n", out_vals[k], j, k, j);
  }
  ec_buf_printf(b, "  return rc;\n}\n");
}

static void emit_bounded_call(emitter *e, ec_buf *b, const ec_node *n, const ec_op_def *op,
                              const char *parg, const char *sarg) {
  const char *vals[64];
  for (int k = 0; k < n->n_outputs && k < 64; k++)
    vals[k] = n->outputs[k] >= 0 ? e->vname[e->val_of[n->outputs[k]]] : "";
  ec_emit_bounded_call(b, e->g, n, op->ref_name, parg, sarg, vals);
}

static void emit_main(emitter *e, ec_buf *b) {
  const ec_graph *g = e->g;
  char file[64];
  snprintf(file, sizeof file, "main_p%d.c", e->p->index);
  header_comment(e, b, file, "command-line driver: TensorProto files in and out, --bench, --profile.");
  ec_buf_printf(b, "#include \"%s.h\"\n#include \"ecrt_driver.h\"\n\n", e->prog);
  for (int side = 0; side < 2; side++) {
    int cnt = side ? e->p->n_outputs : e->p->n_inputs;
    const int *ts = side ? e->p->outputs : e->p->inputs;
    if (!cnt) continue;
    ec_buf_printf(b, "static const ecrt_io_desc %s[%d] = {\n", side ? "outputs" : "inputs", cnt);
    for (int i = 0; i < cnt; i++) {
      const ec_tensor *t = &g->tensors[ts[i]];
      ec_buf_printf(b, "  {");
      put_c_string(b, t->name);
      ec_buf_printf(b, ", %s, %d, ", dtype_macro(t->dtype), t->rank);
      put_dims_init(b, t);
      if (t->quant.count == 1) { /* an 8-bit cut: its scale and zero point go on the wire */
        ec_buf_printf(b, ", ");
        put_float(b, t->quant.scale[0]);
        ec_buf_printf(b, ", %d", (int)t->quant.zero_point[0]);
      } else {
        ec_buf_printf(b, ", 0, 0");
      }
      ec_buf_printf(b, "},\n");
    }
    ec_buf_printf(b, "};\n\n");
  }
  ec_buf_printf(b, "static ecrt_status init(void *ctx, const void *weights, size_t weights_len, void *arena,\n"
                "                        size_t arena_len, int threads) {\n"
                "  return %s_init(ctx, weights, weights_len, arena, arena_len, threads);\n}\n\n", e->prog);
  if (e->keep)
    ec_buf_printf(b, "static ecrt_status init_release(void *ctx, void *weights, size_t weights_len, void *arena,\n"
                  "                                size_t arena_len, int threads) {\n"
                  "  return %s_init_release(ctx, weights, weights_len, arena, arena_len, threads);\n}\n\n", e->prog);
  ec_buf_printf(b, "static void release(void *ctx) {\n  %s_release(ctx);\n}\n\n", e->prog);
  if (bounded_outputs(e))
    ec_buf_printf(b, "/* The outputs' shapes as the last run found them (data-dependent shapes). */\n"
                  "static int64_t out_dims[%d][ECRT_MAX_RANK];\n\n", e->p->n_outputs);
  ec_buf_printf(b, "static ecrt_status run(void *ctx, const void *const *in, void *const *out) {\n");
  if (!e->p->n_inputs) ec_buf_printf(b, "  (void)in;\n");
  if (!e->p->n_outputs) ec_buf_printf(b, "  (void)out;\n");
  ec_buf_printf(b, "  return %s_run(ctx", e->prog);
  for (int i = 0; i < e->p->n_inputs; i++)
    ec_buf_printf(b, ", (const %s *)in[%d]", c_type(g->tensors[e->p->inputs[i]].dtype), i);
  for (int i = 0; i < e->p->n_outputs; i++)
    ec_buf_printf(b, ", (%s *)out[%d]", c_type(g->tensors[e->p->outputs[i]].dtype), i);
  ec_buf_printf(b, "%s);\n}\n\n", bounded_outputs(e) ? ", out_dims" : "");
  if (e->models) {
    const char **ty = ec_alloc(sizeof(char *) * (size_t)(e->p->n_inputs + e->p->n_outputs + 1));
    for (int i = 0; ty && i < e->p->n_inputs + e->p->n_outputs; i++)
      ty[i] = c_type(g->tensors[i < e->p->n_inputs ? e->p->inputs[i] : e->p->outputs[i - e->p->n_inputs]].dtype);
    if (ty) ec_models_emit_main(e->models, b, e->p, e->prog, ty, ty + e->p->n_inputs, bounded_outputs(e));
    else b->oom = true;
    free(ty);
  }
  ec_buf_printf(b, "int main(int argc, char **argv) {\n  static const ecrt_program program = {\n");
  ec_buf_printf(b, "      \"%s\", \"%s.bin\",\n", e->prog, e->prog);
  if (e->o->embed_weights)
    ec_buf_printf(b, "      %s_weights.bytes, sizeof %s_weights.bytes,\n", e->prog, e->prog);
  else
    ec_buf_printf(b, "      NULL, 0,\n");
  ec_buf_printf(b, "      sizeof(%s), %s_ARENA_BYTES,\n", e->prog, e->PROG);
  ec_buf_printf(b, "      %d, %d, %s, %s,\n", e->p->n_inputs, e->p->n_outputs,
                e->p->n_inputs ? "inputs" : "NULL", e->p->n_outputs ? "outputs" : "NULL");
  ec_buf_printf(b, "      %s_steps, %s_N_STEPS, init, run, release, \"%s\"%s%s};\n", e->prog, e->PROG,
                e->fast ? (strcmp(e->o->kernels, "onednn") == 0 ? "onednn" : "xnnpack") : "ref",
                bounded_outputs(e) ? ", out_dims" : ", NULL", e->keep ? ", init_release" : ", NULL");
  if (e->n_dnnl) ec_emit_dnnl_main(b, e->n_clusters > 1);
  if (e->models)
    ec_buf_printf(b, "  /* plan_id of plan.json: frames of another compile's programs are refused. */\n"
                  "  return ecrt_driver_main_models(&program, &models, UINT64_C(0x%016llx), argc, argv);\n}\n",
                  (unsigned long long)e->o->plan_id);
  else if (e->o->plan_id)
    ec_buf_printf(b, "  /* plan_id of plan.json: frames of another compile's programs are refused. */\n"
                  "  return ecrt_driver_main_plan(&program, UINT64_C(0x%016llx), argc, argv);\n}\n",
                  (unsigned long long)e->o->plan_id);
  else
    ec_buf_printf(b, "  return ecrt_driver_main(&program, argc, argv);\n}\n");
}

static void emit_weights_c(emitter *e, ec_buf *b, const ec_buf *w) {
  char file[200];
  snprintf(file, sizeof file, "%s_weights.c", e->prog);
  header_comment(e, b, file, "the weights file as a C array (--embed-weights).");
  ec_buf_printf(b, "#include \"%s.h\"\n\nconst %s_weights_blob %s_weights = {.bytes = {", e->prog, e->prog, e->prog);
  for (size_t i = 0; i < w->len; i++)
    ec_buf_printf(b, "%s%u,", i % 24 ? "" : "\n", (unsigned char)w->data[i]);
  ec_buf_printf(b, "\n}};\n");
}

static void emitter_free(emitter *e) {
  for (int v = 0; e->vname && v < e->n_vals; v++) free(e->vname[v]);
  for (int i = 0; e->arg && i < e->p->n_inputs + e->p->n_outputs; i++) free(e->arg[i]);
  for (int s = 0; e->sname && s < e->p->n_nodes; s++) free(e->sname[s]);
  free(e->sname);
  free(e->aliased);
  free(e->vals);
  free(e->val_of);
  free(e->vname);
  free(e->arg);
  free(e->woff);
  free(e->rel_from);
  free(e->rel_to);
  free(e->kc);
  free(e->xslot);
  free(e->dslot);
  ec_ctl_free(e->ctl);
  ec_models_code_free(e->models);
  ec_memplan_free(&e->mp);
}

/* Per step, the kernel lowering recorded for it (ec_lower_record): codegen decides nothing. */
static ec_status read_kernels(emitter *e, ec_diag *d) {
  e->kc = ec_alloc(sizeof(ec_kernel_choice *) * (size_t)(e->p->n_nodes + 1));
  e->xslot = ec_alloc(sizeof(int) * (size_t)(e->p->n_nodes + 1));
  e->dslot = ec_alloc(sizeof(int) * (size_t)(e->p->n_nodes + 1));
  if (!e->kc || !e->xslot || !e->dslot) return EC_ERR_INTERNAL;
  e->fast = ec_kernels_fast(e->o->kernels);
  for (int s = 0; s < e->p->n_nodes; s++) {
    const ec_node *n = &e->g->nodes[e->p->nodes[s]];
    if (!n->kernel || (unsigned)n->kernel->kind >= EC_K_COUNT) {
      ec_fail_node(d, e->g, n, "internal error: %s has no kernel recorded (the graph was not lowered)", n->op_type);
      return EC_ERR_INTERNAL;
    }
    /* A reference-kernel device's folder carries no fast kernel to call. */
    if (!e->fast && n->kernel->kind != EC_K_REF) {
      ec_fail_node(d, e->g, n, "internal error: %s was lowered for fast kernels, but its device uses --kernels %s",
                   n->op_type, e->o->kernels);
      return EC_ERR_INTERNAL;
    }
    e->kc[s] = n->kernel;
    e->xslot[s] = e->kc[s]->kind == EC_K_XNN ? e->n_xnn++ : -1;
    e->dslot[s] = e->kc[s]->kind == EC_K_DNNL ? e->n_dnnl++ : -1;
    if (e->kc[s]->kind == EC_K_BLAS_MATMUL) e->n_blas++;
  }
  e->n_clusters = ec_emit_n_clusters(e->g, e->p);
  e->n_handoffs = ec_emit_n_handoffs(e->g, e->p);
  if (e->fast || e->n_clusters > 1)
    e->threads = e->o->threads > 0 ? e->o->threads : e->o->cores > 0 ? e->o->cores : 1;
  return EC_OK;
}

ec_status ec_codegen_partition(const ec_graph *g, const ec_part *p, const ec_codegen_opts *o,
                               ec_fileset *fs, ec_part_report *r, ec_diag *d) {
  emitter e;
  memset(&e, 0, sizeof e);
  memset(r, 0, sizeof *r);
  e.g = g;
  e.p = p;
  e.o = o;
  snprintf(e.prog, sizeof e.prog, "%s_p%d", o->name, p->index);
  upper(e.PROG, e.prog, sizeof e.PROG);
  for (int s = 0; s < p->n_nodes; s++) {
    const ec_node *n = &g->nodes[p->nodes[s]];
    if (n->op < 0 || (!ec_ops[n->op].ref && !n->n_subgraphs))
      return ec_fail_node(d, g, n, "no reference kernel for %s yet (--kernels %s)", n->op_type, o->kernels);
    for (int k = 0; k < n->n_inputs + n->n_outputs; k++) {
      int t = k < n->n_inputs ? n->inputs[k] : n->outputs[k - n->n_inputs];
      if (t >= 0 && !dtype_macro(g->tensors[t].dtype))
        return ec_fail_node(d, g, n, "tensor '%s' has dtype %s, which generated code does not support",
                            g->tensors[t].name, ec_dtype_name(g->tensors[t].dtype));
    }
  }
  ec_status st = read_kernels(&e, d);
  if (!st) st = ec_models_code_new(g, e.PROG, &e.models);
  if (!st) st = ec_memplan_build(g, p->nodes, p->n_nodes, p->inputs, p->n_inputs, p->outputs,
                                 p->n_outputs, &e.mp, d);
  if (!st) st = ec_memplan_verify(g, p->nodes, p->n_nodes, p->inputs, p->n_inputs, p->outputs,
                                  p->n_outputs, &e.mp, d);
  if (!st) st = collect_values(&e);
  if (!st) st = name_steps(&e);
  if (!st) st = ec_ctl_build(g, p->nodes, p->n_nodes, &e.mp, e.vname, e.val_of, e.n_vals, e.sname, o, &e.ctl, d);
  if (!st) ec_ctl_place_weights(e.ctl, e.woff, &e.payload);
  if (!st) st = place_copied_weights(&e);
  for (int i = 0; !st && i < p->n_inputs + p->n_outputs; i++) {
    int t = i < p->n_inputs ? p->inputs[i] : p->outputs[i - p->n_inputs];
    if (!dtype_macro(g->tensors[t].dtype)) {
      ec_diag_set(d, g->source_path, "", "graph input or output '%s' has dtype %s, which generated code does not support",
                  g->tensors[t].name, ec_dtype_name(g->tensors[t].dtype));
      st = EC_ERR_MODEL;
    }
  }
  ec_buf w = {0}, h = {0}, c = {0}, m = {0}, wc = {0};
  if (!st) st = weights_blob(&e, &w);
  if (!st && o->embed_weights && w.len > EC_EMBED_WEIGHTS_MAX) {
    ec_diag_set(d, g->source_path, "", "--embed-weights: the weights take %zu bytes, above the %zu-byte cap; "
                "use the .bin file", w.len, EC_EMBED_WEIGHTS_MAX);
    st = EC_ERR_MODEL;
  }
  if (!st) {
    emit_header(&e, &h);
    st = emit_source(&e, &c, d);
  }
  if (!st) emit_main(&e, &m);
  char path[400];
  if (!st) {
    snprintf(path, sizeof path, "%s/%s.h", o->device, e.prog);
    st = ec_fileset_add_buf(fs, path, &h);
  }
  if (!st) {
    snprintf(path, sizeof path, "%s/%s.c", o->device, e.prog);
    st = ec_fileset_add_buf(fs, path, &c);
  }
  if (!st) {
    snprintf(path, sizeof path, "%s/main_p%d.c", o->device, p->index);
    st = ec_fileset_add_buf(fs, path, &m);
  }
  if (!st && o->embed_weights) {
    emit_weights_c(&e, &wc, &w);
    snprintf(path, sizeof path, "%s/%s_weights.c", o->device, e.prog);
    st = ec_fileset_add_buf(fs, path, &wc);
  } else if (!st) {
    snprintf(path, sizeof path, "%s/%s.bin", o->device, e.prog);
    st = ec_fileset_add(fs, path, w.data ? w.data : "", w.len);
  }
  if (!st) {
    snprintf(r->program, sizeof r->program, "%s", e.prog);
    snprintf(r->device, sizeof r->device, "%s", o->device);
    snprintf(r->target, sizeof r->target, "%s", o->target);
    r->index = p->index;
    r->n_steps = e.n_emit;
    r->arena_bytes = e.mp.arena_bytes;
    r->lower_bound = e.mp.lower_bound;
    r->weights_bytes = w.len;
    r->weights_crc = e.crc;
    r->embedded = o->embed_weights;
  }
  if (st == EC_ERR_INTERNAL && !d->msg[0]) ec_diag_set(d, g->source_path, "", "out of memory");
  ec_buf_free(&w);
  ec_buf_free(&h);
  ec_buf_free(&c);
  ec_buf_free(&m);
  ec_buf_free(&wc);
  emitter_free(&e);
  return st;
}
