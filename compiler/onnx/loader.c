/* loader.c — an ONNX ModelProto into the IR: checks the file (prescan), unpacks it, converts
 * initializers, inputs, nodes and attributes, inlines local functions, pins symbolic dims,
 * freezes inputs, checks every name, orders the nodes and runs shape inference. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "onnx_load.h"
#include "op.h"
#include "sha256.h"
#include "tensor_pb.h"

#define EC_MAX_FUNCTION_DEPTH 32

static void free_model(void *m) { onnx__model_proto__free_unpacked(m, NULL); }

typedef struct loader {
  ec_graph *g;
  ec_diag *d;
  const char *file; /* for messages */
  const char *dir;  /* for external data */
  const ec_load_opts *opts;
  Onnx__ModelProto *model;
} loader;

/* A scope while adding nodes: the top graph, or a function body being inlined. */
typedef struct scope {
  const Onnx__FunctionProto *fn;    /* NULL at top level */
  char **formal;                    /* function's input+output names */
  const char **actual;              /* call node's matching names ("" = omitted) */
  size_t n_formal;
  Onnx__AttributeProto **call_attrs; /* the call node's attributes */
  size_t n_call_attrs;
  char prefix[512];                 /* prefix making function-internal names unique */
  int depth;
  int file_index;                   /* index of the top-level node (for `node #12`) */
  Onnx__OperatorSetIdProto **imports; /* the opsets the model or the function imports */
  size_t n_imports;
  const struct scope *parent;
} scope;

#define EC_IR_VERSION_MIN 3 /* the first with opset imports */
#define EC_IR_VERSION_MAX 8 /* ONNX 1.12 (ai.onnx opset 17) writes IR 8 */

static bool is_onnx_domain(const char *d) { return !d || !d[0] || strcmp(d, "ai.onnx") == 0; }

/* True when `domain` is among the imports ("" and "ai.onnx" being the same domain). */
static bool imported(Onnx__OperatorSetIdProto **imp, size_t n, const char *domain) {
  for (size_t i = 0; i < n; i++) {
    const char *d = imp[i]->domain ? imp[i]->domain : "";
    if (is_onnx_domain(domain) ? is_onnx_domain(d) : strcmp(d, domain) == 0) return true;
  }
  return false;
}

static ec_status fail(loader *L, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static ec_status fail(loader *L, const char *where, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  ec_diag_vset(L->d, L->file, where, fmt, ap);
  va_end(ap);
  return EC_ERR_MODEL;
}

static void describe_pb_node(const Onnx__NodeProto *np, int index, char *buf, size_t len) {
  const char *op = np->op_type ? np->op_type : "?";
  if (np->name && np->name[0])
    snprintf(buf, len, "node '%s' (%s)", np->name, op);
  else if (np->n_output && np->output[0] && np->output[0][0])
    snprintf(buf, len, "node #%d (output '%s') (%s)", index, np->output[0], op);
  else
    snprintf(buf, len, "node #%d (%s)", index, op);
}

/* ---- attributes ---------------------------------------------------------------------------- */

static ec_status convert_attr(loader *L, const char *where, const Onnx__AttributeProto *ap,
                              ec_attr *a) {
  memset(a, 0, sizeof *a);
  if (!ap->name || !ap->name[0]) return fail(L, where, "an attribute has no name");
  a->name = ec_strdup(ap->name);
  if (!a->name) return EC_ERR_INTERNAL;
  /* Since IR version 2 every attribute carries its type; edgecc reads IR 3 and later. */
  if (!ap->has_type) return fail(L, where, "attribute '%s' has no type", ap->name);
  int type = (int)ap->type;
  if (type < 1 || type > EC_ATTR_TYPE_PROTOS)
    return fail(L, where, "attribute '%s' has invalid type %d", ap->name, type);
  a->type = (ec_attr_type)type;
  switch (a->type) {
    case EC_ATTR_FLOAT: a->f = ap->f; break;
    case EC_ATTR_INT: a->i = ap->i; break;
    case EC_ATTR_STRING:
      a->s = ec_strndup((const char *)ap->s.data, ap->s.len);
      a->s_len = ap->s.len;
      if (!a->s) return EC_ERR_INTERNAL;
      break;
    case EC_ATTR_FLOATS:
      a->n = (int)ap->n_floats;
      a->floats = ec_realloc_array(NULL, ap->n_floats + 1, sizeof(float));
      if (!a->floats) return EC_ERR_INTERNAL;
      if (ap->n_floats) memcpy(a->floats, ap->floats, ap->n_floats * sizeof(float));
      break;
    case EC_ATTR_INTS:
      a->n = (int)ap->n_ints;
      a->ints = ec_realloc_array(NULL, ap->n_ints + 1, sizeof(int64_t));
      if (!a->ints) return EC_ERR_INTERNAL;
      if (ap->n_ints) memcpy(a->ints, ap->ints, ap->n_ints * sizeof(int64_t));
      break;
    case EC_ATTR_STRINGS:
      a->n = (int)ap->n_strings;
      a->strings = ec_alloc((ap->n_strings + 1) * sizeof(char *));
      if (!a->strings) return EC_ERR_INTERNAL;
      for (size_t i = 0; i < ap->n_strings; i++) {
        a->strings[i] = ec_strndup((const char *)ap->strings[i].data, ap->strings[i].len);
        if (!a->strings[i]) return EC_ERR_INTERNAL;
      }
      break;
    case EC_ATTR_TENSOR: {
      if (!ap->t) return fail(L, where, "attribute '%s' is a tensor but holds none", ap->name);
      char err[512];
      bool borrowed;
      a->t = ec_alloc(sizeof *a->t);
      if (!a->t) return EC_ERR_INTERNAL;
      ec_status st = ec_tensor_from_pb(ap->t, L->dir, a->t, &borrowed, err, sizeof err);
      if (st) {
        free(a->t);
        a->t = NULL;
        return fail(L, where, "attribute '%s': %s", ap->name, err);
      }
      if (borrowed) { /* attributes own their bytes: copy */
        void *p = malloc(a->t->nbytes ? a->t->nbytes : 1);
        if (!p) return EC_ERR_INTERNAL;
        memcpy(p, a->t->data, a->t->nbytes);
        a->t->data = p;
      }
      break;
    }
    default: break; /* graphs, sparse tensors, type protos: kept as a type only */
  }
  return EC_OK;
}

/* ---- names and scopes -------------------------------------------------------------------- */

/* Resolves a name used inside `sc` to the graph's tensor name; NULL = omitted. */
static const char *resolve(const scope *sc, const char *name, char *buf, size_t len) {
  if (!name || !name[0]) return NULL;
  if (!sc->fn) return name;
  for (size_t i = 0; i < sc->n_formal; i++)
    if (strcmp(sc->formal[i], name) == 0) return sc->actual[i][0] ? sc->actual[i] : NULL;
  snprintf(buf, len, "%s%s", sc->prefix, name);
  return buf;
}

static const Onnx__FunctionProto *find_function(loader *L, const char *domain, const char *op) {
  for (size_t i = 0; i < L->model->n_functions; i++) {
    const Onnx__FunctionProto *f = L->model->functions[i];
    const char *fd = f->domain ? f->domain : "";
    if (f->name && strcmp(f->name, op) == 0 && strcmp(fd, domain) == 0) return f;
  }
  return NULL;
}

static ec_status add_nodes(loader *L, Onnx__NodeProto **nodes, size_t n, const scope *sc);
static ec_status add_initializers(loader *L, const Onnx__GraphProto *gp);
static ec_status add_subgraph(loader *L, int node, ec_attr *a, const Onnx__GraphProto *gp,
                              const scope *sc, const char *where);

static ec_status inline_call(loader *L, const Onnx__NodeProto *np, const Onnx__FunctionProto *fn,
                             const scope *sc, const char *where, int call_no) {
  if (sc->depth >= EC_MAX_FUNCTION_DEPTH)
    return fail(L, where, "functions nested deeper than %d levels (recursive function?)",
                EC_MAX_FUNCTION_DEPTH);
  if (np->n_input > fn->n_input)
    return fail(L, where, "function '%s' takes %zu inputs, the call passes %zu", fn->name,
                fn->n_input, np->n_input);
  if (np->n_output > fn->n_output)
    return fail(L, where, "function '%s' has %zu outputs, the call names %zu", fn->name,
                fn->n_output, np->n_output);
  scope in = {0};
  in.fn = fn;
  in.depth = sc->depth + 1;
  in.file_index = sc->file_index;
  in.imports = fn->opset_import;
  in.n_imports = fn->n_opset_import;
  in.parent = sc;
  in.n_formal = fn->n_input + fn->n_output;
  in.formal = ec_alloc(sizeof(char *) * (in.n_formal + 1));
  in.actual = ec_alloc(sizeof(char *) * (in.n_formal + 1));
  char **owned = ec_alloc(sizeof(char *) * (in.n_formal + 1));
  if (!in.formal || !in.actual || !owned) {
    free(in.formal), free(in.actual), free(owned);
    return EC_ERR_INTERNAL;
  }
  ec_status st = EC_OK;
  for (size_t i = 0; i < in.n_formal && !st; i++) {
    bool is_in = i < fn->n_input;
    size_t k = is_in ? i : i - fn->n_input;
    in.formal[i] = is_in ? fn->input[k] : fn->output[k];
    const char *act = "";
    if (is_in && k < np->n_input) act = np->input[k];
    if (!is_in && k < np->n_output) act = np->output[k];
    char buf[1024];
    const char *r = resolve(sc, act, buf, sizeof buf);
    owned[i] = ec_strdup(r ? r : "");
    if (!owned[i]) st = EC_ERR_INTERNAL;
    in.actual[i] = owned[i];
  }
  in.call_attrs = np->attribute;
  in.n_call_attrs = np->n_attribute;
  /* The prefix: the call's first output keeps names readable and unique per call. */
  const char *first = np->n_output && np->output[0][0] ? np->output[0] : fn->name;
  char buf[1024];
  const char *rf = resolve(sc, first, buf, sizeof buf);
  int len = snprintf(in.prefix, sizeof in.prefix, "%s/%s.%d/", rf ? rf : fn->name, fn->name, call_no);
  /* A cut prefix could make two calls' internal names collide. */
  if (!st && (len < 0 || (size_t)len >= sizeof in.prefix))
    st = fail(L, "", "call of function '%s' by '%s': names too long (over %zu bytes)", fn->name, first,
              sizeof in.prefix);
  if (!st) st = add_nodes(L, fn->node, fn->n_node, &in);
  for (size_t i = 0; i < in.n_formal; i++) free(owned[i]);
  free(owned), free(in.formal), free(in.actual);
  return st;
}

/* Makes tt the constant c (its bytes borrowed from the unpacked protobuf, or owned). */
static void set_constant(ec_tensor *tt, const ec_const *c, bool borrowed) {
  tt->dtype = c->dtype;
  tt->rank = c->rank;
  memcpy(tt->dims, c->dims, sizeof c->dims);
  tt->kind = EC_TK_CONSTANT;
  tt->data = c->data;
  tt->nbytes = c->nbytes;
  tt->owned = !borrowed;
}

/* Turns a Constant node into a constant tensor. */
static ec_status add_constant(loader *L, const Onnx__NodeProto *np, const char *out_name,
                              const scope *sc, const char *where) {
  ec_graph *g = L->g;
  const Onnx__AttributeProto *ap = NULL;
  if (np->n_attribute != 1) return fail(L, where, "Constant needs exactly one value attribute");
  ap = np->attribute[0];
  if (ap->ref_attr_name && ap->ref_attr_name[0]) {
    for (size_t i = 0; i < sc->n_call_attrs; i++)
      if (strcmp(sc->call_attrs[i]->name, ap->ref_attr_name) == 0) ap = sc->call_attrs[i];
    if (ap == np->attribute[0])
      return fail(L, where, "attribute '%s' refers to '%s', which the call does not set",
                  ap->name, ap->ref_attr_name);
  }
  const char *an = np->attribute[0]->name ? np->attribute[0]->name : "";
  if (!ap->has_type) return fail(L, where, "attribute '%s' has no type", an);
  static const struct {
    const char *name;
    int type;
  } want[] = {{"value", EC_ATTR_TENSOR},        {"value_float", EC_ATTR_FLOAT},
              {"value_int", EC_ATTR_INT},       {"value_floats", EC_ATTR_FLOATS},
              {"value_ints", EC_ATTR_INTS},     {"value_string", EC_ATTR_STRING},
              {"value_strings", EC_ATTR_STRINGS}, {"sparse_value", EC_ATTR_SPARSE_TENSOR}};
  for (size_t k = 0; k < sizeof want / sizeof want[0]; k++)
    if (strcmp(an, want[k].name) == 0 && (int)ap->type != want[k].type)
      return fail(L, where, "attribute '%s' has type %d, expected %d", an, (int)ap->type,
                  want[k].type);
  int t = ec_graph_tensor(g, out_name);
  if (t < 0) return EC_ERR_INTERNAL;
  ec_tensor *tt = &g->tensors[t];
  if (tt->kind != EC_TK_ACTIVATION || tt->producer != -1 || tt->data)
    return fail(L, where, "output '%s' is already defined elsewhere", out_name);
  if (strcmp(an, "value") == 0) {
    if (!ap->t) return fail(L, where, "attribute 'value' must be a tensor");
    ec_const c;
    bool borrowed;
    char err[512];
    ec_status st = ec_tensor_from_pb(ap->t, L->dir, &c, &borrowed, err, sizeof err);
    if (st) return fail(L, where, "%s", err);
    set_constant(tt, &c, borrowed);
    return EC_OK;
  }
  int64_t one[1];
  if (strcmp(an, "value_float") == 0 || strcmp(an, "value_int") == 0) {
    bool is_f = an[6] == 'f';
    if (is_f && !ap->has_f && !(ap->has_type && (int)ap->type == EC_ATTR_FLOAT))
      return fail(L, where, "attribute 'value_float' must be a float");
    if (!is_f && !ap->has_i && !(ap->has_type && (int)ap->type == EC_ATTR_INT))
      return fail(L, where, "attribute 'value_int' must be an int");
    tt->dtype = is_f ? ECK_FLOAT : ECK_INT64;
    tt->rank = 0;
    float f = ap->f;
    int64_t i = ap->i;
    return ec_tensor_set_data(tt, is_f ? (void *)&f : (void *)&i, is_f ? 4 : 8, false);
  }
  if (strcmp(an, "value_floats") == 0 || strcmp(an, "value_ints") == 0) {
    bool is_f = an[6] == 'f';
    size_t count = is_f ? ap->n_floats : ap->n_ints;
    tt->dtype = is_f ? ECK_FLOAT : ECK_INT64;
    tt->rank = 1;
    one[0] = (int64_t)count;
    tt->dims[0] = one[0];
    return ec_tensor_set_data(tt, is_f ? (void *)ap->floats : (void *)ap->ints,
                              count * (is_f ? 4 : 8), false);
  }
  if (strncmp(an, "value_string", 12) == 0)
    return fail(L, where, "string constants are not supported");
  if (strcmp(an, "sparse_value") == 0)
    return fail(L, where, "sparse constants are not supported");
  return fail(L, where, "unknown attribute '%s'", an);
}

static ec_status add_nodes(loader *L, Onnx__NodeProto **nodes, size_t n, const scope *sc) {
  ec_graph *g = L->g;
  for (size_t i = 0; i < n; i++) {
    const Onnx__NodeProto *np = nodes[i];
    int file_index = sc->fn ? sc->file_index : (int)i;
    scope here = *sc;
    here.file_index = file_index;
    char where[512];
    describe_pb_node(np, file_index, where, sizeof where);
    if (!np->op_type || !np->op_type[0]) return fail(L, where, "node has no op type");
    const char *domain = np->domain ? np->domain : "";
    if (strcmp(domain, "ai.onnx") == 0) domain = "";
    if (!imported(sc->imports, sc->n_imports, domain))
      return fail(L, where, "domain '%s' is not imported by the %s", domain[0] ? domain : "ai.onnx",
                  sc->fn ? "function" : "model");
    char nbuf[1024];

    const Onnx__FunctionProto *fn = find_function(L, domain, np->op_type);
    if (fn) {
      ec_status st = inline_call(L, np, fn, &here, where, (int)i);
      if (st) return st;
      continue;
    }
    if (domain[0] == 0 && strcmp(np->op_type, "Constant") == 0) {
      if (np->n_output != 1 || !np->output[0][0])
        return fail(L, where, "Constant needs exactly one output");
      if (np->n_input) return fail(L, where, "Constant takes no inputs");
      const char *out = resolve(&here, np->output[0], nbuf, sizeof nbuf);
      if (!out) continue; /* a function output the call leaves unused */
      ec_status st = add_constant(L, np, out, &here, where);
      if (st) return st;
      continue;
    }

    char name[1024];
    if (sc->fn)
      snprintf(name, sizeof name, "%s%s", sc->prefix, np->name ? np->name : "");
    else
      snprintf(name, sizeof name, "%s", np->name ? np->name : "");
    int k = ec_graph_add_node(g, np->op_type, domain, sc->fn && !(np->name && np->name[0]) ? "" : name);
    if (k < 0) return EC_ERR_INTERNAL;
    g->nodes[k].index = file_index;
    int *ins = ec_alloc(sizeof(int) * (np->n_input + 1));
    int *outs = ec_alloc(sizeof(int) * (np->n_output + 1));
    if (!ins || !outs) {
      free(ins), free(outs);
      return EC_ERR_INTERNAL;
    }
    ec_status st = EC_OK;
    for (size_t j = 0; j < np->n_input && !st; j++) {
      const char *r = resolve(&here, np->input[j], nbuf, sizeof nbuf);
      ins[j] = r ? ec_graph_tensor(g, r) : -1;
      if (r && ins[j] < 0) st = EC_ERR_INTERNAL;
    }
    for (size_t j = 0; j < np->n_output && !st; j++) {
      const char *r = resolve(&here, np->output[j], nbuf, sizeof nbuf);
      outs[j] = r ? ec_graph_tensor(g, r) : -1;
      if (r && outs[j] < 0) st = EC_ERR_INTERNAL;
      if (st || outs[j] < 0) continue;
      ec_tensor *t = &g->tensors[outs[j]];
      if (t->kind != EC_TK_ACTIVATION)
        st = fail(L, where, "output '%s' is also a graph input or initializer", r);
      else if (t->producer >= 0)
        st = fail(L, where, "output '%s' is already produced by another node", r);
      else
        t->producer = k; /* provisional, for the duplicate check; relinked later */
      for (size_t m = 0; m < j && !st; m++)
        if (outs[m] == outs[j]) st = fail(L, where, "output '%s' is listed twice", r);
    }
    if (!st) st = ec_node_set_inputs(g, k, ins, (int)np->n_input);
    if (!st) st = ec_node_set_outputs(g, k, outs, (int)np->n_output);
    free(ins), free(outs);
    if (st) return st;

    ec_node *nd = &g->nodes[k];
    nd->op = ec_op_find(np->op_type, domain);
    nd->attrs = ec_alloc(sizeof(ec_attr) * (np->n_attribute + 1));
    if (!nd->attrs) return EC_ERR_INTERNAL;
    for (size_t j = 0; j < np->n_attribute; j++) {
      const Onnx__AttributeProto *ap = np->attribute[j];
      if (ap->ref_attr_name && ap->ref_attr_name[0]) {
        if (!sc->fn)
          return fail(L, where, "attribute '%s' refers to '%s' outside a function", ap->name,
                      ap->ref_attr_name);
        const Onnx__AttributeProto *src = NULL;
        for (size_t m = 0; m < sc->n_call_attrs; m++)
          if (sc->call_attrs[m]->name && strcmp(sc->call_attrs[m]->name, ap->ref_attr_name) == 0)
            src = sc->call_attrs[m];
        if (!src) continue; /* not set by the caller: the op's default applies */
        Onnx__AttributeProto copy = *src;
        copy.name = ap->name;
        st = convert_attr(L, where, &copy, &nd->attrs[nd->n_attrs]);
      } else {
        st = convert_attr(L, where, ap, &nd->attrs[nd->n_attrs]);
      }
      nd->n_attrs++;
      if (st) return st;
      const Onnx__AttributeProto *gsrc = ap;
      if (ap->ref_attr_name && ap->ref_attr_name[0])
        for (size_t m = 0; m < sc->n_call_attrs; m++)
          if (sc->call_attrs[m]->name && strcmp(sc->call_attrs[m]->name, ap->ref_attr_name) == 0)
            gsrc = sc->call_attrs[m];
      if (nd->attrs[nd->n_attrs - 1].type == EC_ATTR_GRAPH) {
        if (!gsrc->g) return fail(L, where, "attribute '%s' is a graph but holds none", ap->name);
        st = add_subgraph(L, k, &nd->attrs[nd->n_attrs - 1], gsrc->g, &here, where);
        if (st) return st;
        nd = &g->nodes[k];
      }
      for (int m = 0; m + 1 < nd->n_attrs; m++)
        if (strcmp(nd->attrs[m].name, nd->attrs[nd->n_attrs - 1].name) == 0)
          return fail(L, where, "attribute '%s' is given twice", nd->attrs[m].name);
    }
  }
  return EC_OK;
}

/* ---- inputs, dims, freezing ---------------------------------------------------------------- */

static const ec_freeze *find_freeze(loader *L, const char *name) {
  for (int i = 0; i < L->opts->n_freezes; i++)
    if (strcmp(L->opts->freezes[i].name, name) == 0) return &L->opts->freezes[i];
  return NULL;
}

static const ec_input_shape *find_shape(loader *L, const char *name) {
  for (int i = 0; i < L->opts->n_shapes; i++)
    if (strcmp(L->opts->shapes[i].name, name) == 0) return &L->opts->shapes[i];
  return NULL;
}

/* A dim's dim_param, "" when it has none. ONNX exporters write "?" for "unknown": that is no
 * name either (two "?" dims are not the same dimension). */
static const char *dim_symbol(const Onnx__TensorShapeProto__Dimension *dim) {
  const char *p = dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM && dim->dim_param
                      ? dim->dim_param
                      : "";
  return strcmp(p, "?") == 0 ? "" : p;
}

static bool dim_fixed(const Onnx__TensorShapeProto__Dimension *dim) {
  return dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
}

static const Onnx__TensorShapeProto *declared_shape(const Onnx__ValueInfoProto *vi) {
  const Onnx__TypeProto *tp = vi->type;
  if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type) return NULL;
  return tp->tensor_type->shape;
}

/* "[?,seq,8]" */
static void put_declared(ec_buf *b, const Onnx__TensorShapeProto *sh) {
  ec_buf_printf(b, "[");
  for (size_t k = 0; sh && k < sh->n_dim; k++) {
    const char *p = dim_symbol(sh->dim[k]);
    if (dim_fixed(sh->dim[k])) ec_buf_printf(b, "%s%lld", k ? "," : "", (long long)sh->dim[k]->dim_value);
    else ec_buf_printf(b, "%s%s", k ? "," : "", p[0] ? p : "?");
  }
  ec_buf_printf(b, "]");
}

/* "input=1x576", as the flag was given. */
static void put_shape_flag(ec_buf *b, const ec_input_shape *s) {
  ec_buf_printf(b, "%s=", s->name);
  for (int k = 0; k < s->rank; k++) ec_buf_printf(b, "%s%lld", k ? "x" : "", (long long)s->dims[k]);
}

/* The value --dim gives the symbol, if any (the last --dim of that name wins). */
static bool dim_pin(loader *L, const char *sym, int64_t *v) {
  bool found = false;
  for (int k = 0; sym[0] && k < L->opts->n_dims; k++)
    if (strcmp(L->opts->dims[k].name, sym) == 0) {
      *v = L->opts->dims[k].value;
      found = true;
    }
  return found;
}

static const Onnx__ValueInfoProto *graph_input(loader *L, const char *name) {
  const Onnx__GraphProto *gp = L->model->graph;
  for (size_t i = 0; i < gp->n_input; i++)
    if (gp->input[i]->name && strcmp(gp->input[i]->name, name) == 0) return gp->input[i];
  return NULL;
}

/* The value another --input-shape gives the symbol (they agree: check_input_shapes). */
static bool shape_pin(loader *L, const char *sym, int64_t *v) {
  for (int i = 0; sym[0] && i < L->opts->n_shapes; i++) {
    const Onnx__TensorShapeProto *sh = declared_shape(graph_input(L, L->opts->shapes[i].name));
    for (size_t k = 0; sh && k < sh->n_dim; k++)
      if (!dim_fixed(sh->dim[k]) && strcmp(dim_symbol(sh->dim[k]), sym) == 0) {
        *v = L->opts->shapes[i].dims[k];
        return true;
      }
  }
  return false;
}

/* Every --input-shape against the model's declarations, before any input is built: the input
 * exists, the rank matches, fixed dims agree, and a named dim gets one value from every flag. */
static ec_status check_input_shapes(loader *L) {
  const Onnx__GraphProto *gp = L->model->graph;
  for (int i = 0; i < L->opts->n_shapes; i++) {
    const ec_input_shape *s = &L->opts->shapes[i];
    ec_buf flag = {0}, decl = {0};
    put_shape_flag(&flag, s);
    const Onnx__ValueInfoProto *vi = graph_input(L, s->name);
    bool initializer = false;
    for (size_t k = 0; vi && k < gp->n_initializer; k++)
      initializer |= gp->initializer[k]->name && strcmp(gp->initializer[k]->name, s->name) == 0;
    ec_status st = EC_OK;
    if (!vi || initializer) {
      ec_buf names = {0};
      for (size_t k = 0; k < gp->n_input; k++) {
        bool init = false;
        for (size_t j = 0; gp->input[k]->name && j < gp->n_initializer; j++)
          init |= gp->initializer[j]->name && strcmp(gp->initializer[j]->name, gp->input[k]->name) == 0;
        if (!init && gp->input[k]->name) ec_buf_printf(&names, "%s'%s'", names.len ? ", " : "", gp->input[k]->name);
      }
      st = fail(L, "", "--input-shape %s: the model has no graph input '%s' (its inputs: %s)", flag.data, s->name,
                names.len ? names.data : "none");
      ec_buf_free(&names);
    } else if (find_freeze(L, s->name)) {
      st = fail(L, "", "--input-shape %s: input '%s' is also frozen by --freeze-input", flag.data, s->name);
    }
    const Onnx__TensorShapeProto *sh = vi ? declared_shape(vi) : NULL;
    if (sh) put_declared(&decl, sh);
    if (!st && sh && sh->n_dim != (size_t)s->rank)
      st = fail(L, "", "--input-shape %s: input '%s' has rank %zu (declared %s), the flag gives %d dim%s", flag.data,
                s->name, sh->n_dim, decl.data, s->rank, s->rank == 1 ? "" : "s");
    for (int k = 0; !st && sh && k < s->rank; k++) {
      const Onnx__TensorShapeProto__Dimension *dim = sh->dim[k];
      const char *sym = dim_symbol(dim);
      int64_t v;
      if (dim_fixed(dim) && dim->dim_value != s->dims[k]) {
        st = fail(L, "", "--input-shape %s: dim %d of input '%s' is fixed at %lld (declared %s), the flag says %lld",
                  flag.data, k, s->name, (long long)dim->dim_value, decl.data, (long long)s->dims[k]);
      } else if (!dim_fixed(dim) && dim_pin(L, sym, &v) && v != s->dims[k]) {
        st = fail(L, "", "--input-shape %s: dim %d of input '%s' is '%s', which --dim %s=%lld sets, the flag says %lld",
                  flag.data, k, s->name, sym, sym, (long long)v, (long long)s->dims[k]);
      } else if (!dim_fixed(dim) && sym[0]) {
        /* The same symbol in an earlier flag (or earlier in this one) with another value. */
        for (int j = 0; !st && j <= i; j++) {
          const ec_input_shape *o = &L->opts->shapes[j];
          const Onnx__TensorShapeProto *osh = declared_shape(graph_input(L, o->name));
          for (int m = 0; !st && osh && m < o->rank && (size_t)m < osh->n_dim && (j < i || m < k); m++)
            if (!dim_fixed(osh->dim[m]) && strcmp(dim_symbol(osh->dim[m]), sym) == 0 && o->dims[m] != s->dims[k]) {
              ec_buf of = {0};
              put_shape_flag(&of, o);
              st = fail(L, "", "--input-shape %s: dimension '%s' is %lld there (dim %d of '%s'), but %lld in "
                        "--input-shape %s (dim %d of '%s')", flag.data, sym, (long long)s->dims[k], k, s->name,
                        (long long)o->dims[m], of.data, m, o->name);
              ec_buf_free(&of);
            }
        }
      }
    }
    ec_buf_free(&flag);
    ec_buf_free(&decl);
    if (st) return st;
  }
  return EC_OK;
}

static ec_status record_dyn(loader *L, int t, int dim, const char *param, ec_pin_kind how) {
  ec_graph *g = L->g;
  ec_dyn_dim *p = ec_realloc_array(g->dyn_dims, (size_t)g->n_dyn_dims + 1, sizeof *p);
  if (!p) return EC_ERR_INTERNAL;
  g->dyn_dims = p;
  p[g->n_dyn_dims] = (ec_dyn_dim){t, dim, ec_strdup(param), how};
  if (!p[g->n_dyn_dims].param) return EC_ERR_INTERNAL;
  g->n_dyn_dims++;
  return EC_OK;
}

static ec_status add_input(loader *L, const Onnx__ValueInfoProto *vi) {
  ec_graph *g = L->g;
  if (!vi->name || !vi->name[0]) return fail(L, "", "a graph input has no name");
  int t = ec_graph_find(g, vi->name);
  if (t >= 0 && g->tensors[t].kind == EC_TK_CONSTANT) return EC_OK; /* initializer default */
  if (t >= 0) return fail(L, "", "graph input '%s' is listed twice", vi->name);
  t = ec_graph_tensor(g, vi->name);
  if (t < 0) return EC_ERR_INTERNAL;
  ec_tensor *tt = &g->tensors[t];
  const Onnx__TypeProto *tp = vi->type;
  if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type)
    return fail(L, "", "graph input '%s' is not a tensor (sequences, maps and optionals are not supported)",
                vi->name);
  const Onnx__TypeProto__Tensor *tt_pb = tp->tensor_type;
  int32_t dt = tt_pb->has_elem_type ? tt_pb->elem_type : 0;
  if (!ec_dtype_valid(dt)) return fail(L, "", "graph input '%s' has invalid dtype %d", vi->name, dt);
  if (dt == ECK_STRING || dt == ECK_COMPLEX64 || dt == ECK_COMPLEX128)
    return fail(L, "", "graph input '%s' is a %s tensor, which edgecc does not support", vi->name,
                ec_dtype_name(dt));
  tt->dtype = dt;
  tt->kind = EC_TK_INPUT;
  const ec_freeze *fz = find_freeze(L, vi->name);
  const ec_input_shape *is = find_shape(L, vi->name);
  if (!tt_pb->shape && !fz && !is)
    return fail(L, "", "graph input '%s' has no shape; edgecc needs static shapes (give one with "
                "--input-shape %s=D0xD1...)", vi->name, vi->name);
  int rank = is ? is->rank : tt_pb->shape ? (int)tt_pb->shape->n_dim : 0;
  if (rank > EC_MAX_RANK)
    return fail(L, "", "graph input '%s' has rank %d (edgecc supports up to %d)", vi->name, rank,
                EC_MAX_RANK);
  tt->rank = rank;
  for (int i = 0; (tt_pb->shape || is) && i < rank; i++) {
    const Onnx__TensorShapeProto__Dimension *dim = tt_pb->shape ? tt_pb->shape->dim[i] : NULL;
    if (is) { /* checked against the declaration by check_input_shapes */
      tt->dims[i] = is->dims[i];
      if (!dim || !dim_fixed(dim)) {
        ec_status st = record_dyn(L, t, i, dim ? dim_symbol(dim) : "", EC_PIN_SHAPE);
        if (st) return st;
      }
      continue;
    }
    if (dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE) {
      if (dim->dim_value < 0)
        return fail(L, "", "graph input '%s' has a negative dimension (%lld)", vi->name,
                    (long long)dim->dim_value);
      if (dim->dim_value > ((int64_t)1 << 40))
        return fail(L, "", "graph input '%s' has an overflowing dimension (%lld)", vi->name,
                    (long long)dim->dim_value);
      tt->dims[i] = dim->dim_value;
      continue;
    }
    if (fz) continue; /* the file gives every dim */
    const char *param = dim_symbol(dim);
    ec_pin_kind how = EC_PIN_NONE;
    int64_t v = 1;
    if (dim_pin(L, param, &v)) {
      how = EC_PIN_DIM;
    } else if (shape_pin(L, param, &v)) {
      how = EC_PIN_SHAPE;
    } else if (i == 0) {
      how = EC_PIN_DEFAULT;
      ec_graph_warn(g, "%s: input '%s': dynamic leading dimension '%s' set to 1 (choose with --input-shape %s=...%s)",
                    L->file, vi->name, param[0] ? param : "?", vi->name,
                    param[0] ? " or --dim NAME=N" : "");
    }
    tt->dims[i] = v;
    ec_status st = record_dyn(L, t, i, param, how);
    if (st) return st;
  }
  /* Each dim is bounded above, but their product (or a --dim value) may still overflow. */
  int64_t bytes = (int64_t)ec_dtype_size(dt);
  for (int i = 0; !fz && i < rank; i++)
    if (!ec_mul_overflow_i64(bytes, tt->dims[i], &bytes) || bytes > ((int64_t)1 << 40))
      return fail(L, "", "graph input '%s' is too large (%s dimensions overflow)", vi->name,
                  L->opts->n_dims || L->opts->n_shapes ? "its pinned" : "its");
  if (fz) {
    ec_const c;
    ec_diag fd;
    ec_status st = ec_onnx_read_tensor(fz->path, &c, NULL, &fd);
    if (st) return fail(L, "", "--freeze-input %s: %s: %s", vi->name, fz->path, fd.msg);
    if (c.dtype != dt) {
      free(c.data);
      return fail(L, "", "--freeze-input %s: the file holds %s, the input is %s", vi->name,
                  ec_dtype_name(c.dtype), ec_dtype_name(dt));
    }
    bool ok = !tt_pb->shape || c.rank == rank;
    for (int i = 0; ok && tt_pb->shape && i < rank; i++) {
      const Onnx__TensorShapeProto__Dimension *dim = tt_pb->shape->dim[i];
      if (dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE &&
          dim->dim_value != c.dims[i])
        ok = false;
    }
    if (!ok) {
      free(c.data);
      return fail(L, "", "--freeze-input %s: the file's shape does not match the input's", vi->name);
    }
    tt->rank = c.rank;
    memcpy(tt->dims, c.dims, sizeof c.dims);
    tt->data = c.data;
    tt->nbytes = c.nbytes;
    tt->owned = true;
    tt->kind = EC_TK_CONSTANT;
    g->n_frozen++;
  }
  return EC_OK;
}

void ec_onnx_declared_shape(const ec_graph *g, int tensor, ec_buf *b) {
  const ec_tensor *t = &g->tensors[tensor];
  ec_buf_printf(b, "[");
  for (int k = 0; k < t->rank; k++) {
    const ec_dyn_dim *dd = NULL;
    for (int i = 0; i < g->n_dyn_dims && !dd; i++)
      if (g->dyn_dims[i].tensor == tensor && g->dyn_dims[i].dim == k) dd = &g->dyn_dims[i];
    if (dd) ec_buf_printf(b, "%s%s", k ? "," : "", dd->param[0] ? dd->param : "?");
    else ec_buf_printf(b, "%s%lld", k ? "," : "", (long long)t->dims[k]);
  }
  ec_buf_printf(b, "]");
}

/* Whether `s` can stand in a shell word unquoted. */
static bool shell_plain(const char *s) {
  for (; *s; s++)
    if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./:+@%=,", *s)) return false;
  return true;
}

void ec_onnx_pin_flag(const ec_graph *g, ec_buf *b) {
  ec_buf v = {0};
  for (int i = 0; i < g->n_dyn_dims; i++) {
    int t = g->dyn_dims[i].tensor;
    if (i && g->dyn_dims[i - 1].tensor == t) continue; /* one entry per input, at its first dim */
    ec_buf_printf(&v, "%s%s=", v.len ? "," : "", g->tensors[t].name);
    for (int k = 0; k < g->tensors[t].rank; k++) {
      bool none = false;
      for (int j = i; j < g->n_dyn_dims && g->dyn_dims[j].tensor == t; j++)
        none |= g->dyn_dims[j].dim == k && g->dyn_dims[j].how == EC_PIN_NONE;
      if (none) ec_buf_printf(&v, "%sN", k ? "x" : "");
      else ec_buf_printf(&v, "%s%lld", k ? "x" : "", (long long)g->tensors[t].dims[k]);
    }
  }
  if (v.len) ec_buf_printf(b, shell_plain(v.data) ? "--input-shape %s" : "--input-shape '%s'", v.data);
  ec_buf_free(&v);
}

/* Dynamic dims nothing pinned: one error that lists them with the declared shapes and gives the
 * --input-shape flag to add, with N where a size is needed. */
static ec_status unpinned_error(loader *L) {
  const ec_graph *g = L->g;
  ec_buf list = {0}, flag = {0};
  int last = -1;
  for (int i = 0; i < g->n_dyn_dims; i++) {
    const ec_dyn_dim *dd = &g->dyn_dims[i];
    if (dd->how != EC_PIN_NONE) continue;
    if (dd->tensor != last) {
      ec_buf_printf(&list, "%sinput '%s' ", list.len ? "), " : "", g->tensors[dd->tensor].name);
      ec_onnx_declared_shape(g, dd->tensor, &list);
      ec_buf_printf(&list, " (dim %d", dd->dim);
      last = dd->tensor;
    } else {
      ec_buf_printf(&list, ", %d", dd->dim);
    }
  }
  if (!list.len) return EC_OK;
  ec_onnx_pin_flag(g, &flag);
  ec_status st = fail(L, "", "dynamic dimensions need values: %s); add %s with each N the size to compile for "
                      "(a named dimension also takes --dim NAME=N)", list.data, flag.data ? flag.data : "");
  ec_buf_free(&list);
  ec_buf_free(&flag);
  return st;
}

/* ---- subgraphs ------------------------------------------------------------------------------ */

/* A subgraph's formal input: a tensor with the declared dtype (0 when none); its shape comes
 * from the owning node when shapes are inferred. */
static ec_status add_subgraph_input(loader *L, const Onnx__ValueInfoProto *vi) {
  ec_graph *g = L->g;
  if (!vi->name || !vi->name[0]) return fail(L, "", "a subgraph input has no name");
  if (ec_graph_find(g, vi->name) >= 0)
    return fail(L, "", "subgraph '%s': input '%s' is listed twice or is also an initializer", g->name,
                vi->name);
  const Onnx__TypeProto *tp = vi->type;
  if (tp && tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE)
    return fail(L, "", "subgraph '%s': input '%s' is not a tensor (sequences, maps and optionals are "
                "not supported)", g->name, vi->name);
  int t = ec_graph_tensor(g, vi->name);
  if (t < 0) return EC_ERR_INTERNAL;
  int32_t dt = tp && tp->tensor_type && tp->tensor_type->has_elem_type ? tp->tensor_type->elem_type : 0;
  if (dt && !ec_dtype_valid(dt))
    return fail(L, "", "subgraph '%s': input '%s' has invalid dtype %d", g->name, vi->name, dt);
  g->tensors[t].dtype = dt;
  g->tensors[t].kind = EC_TK_INPUT;
  int *p = ec_realloc_array(g->inputs, (size_t)g->n_inputs + 1, sizeof(int));
  if (!p) return EC_ERR_INTERNAL;
  g->inputs = p;
  g->inputs[g->n_inputs++] = t;
  return EC_OK;
}

/* Loads graph attribute `a` of node `node` of L->g as a subgraph the node owns. Names the
 * subgraph does not define are captures: they resolve in the enclosing scope `sc` (through a
 * function's formal names when the node sits in an inlined function), to a tensor of the
 * enclosing graph, which becomes an implicit input of the node. A name no scope defines is
 * reported where the model's graph is checked, naming the node. */
static ec_status add_subgraph(loader *L, int node, ec_attr *a, const Onnx__GraphProto *gp,
                              const scope *sc, const char *where) {
  ec_graph *outer = L->g;
  if (outer->depth + 1 > EC_MAX_GRAPH_DEPTH)
    return fail(L, where, "subgraphs nested deeper than %d levels", EC_MAX_GRAPH_DEPTH);
  ec_graph *sub = ec_graph_new();
  ec_node *n = &outer->nodes[node];
  ec_graph **gs = sub ? ec_realloc_array(n->subgraphs, (size_t)n->n_subgraphs + 1, sizeof *gs) : NULL;
  if (!gs) {
    ec_graph_free(sub);
    return EC_ERR_INTERNAL;
  }
  n->subgraphs = gs;
  n->subgraphs[n->n_subgraphs++] = sub; /* owned by the node from here on, freed with it */
  a->graph = sub;
  sub->parent = outer;
  sub->depth = outer->depth + 1;
  sub->opset = outer->opset;
  sub->ir_version = outer->ir_version;
  sub->name = ec_strdup(gp->name && gp->name[0] ? gp->name : a->name);
  sub->source_path = ec_strdup(outer->source_path);
  if (!sub->name || !sub->source_path) return EC_ERR_INTERNAL;
  if (gp->n_sparse_initializer) return fail(L, where, "sparse initializers are not supported");
  L->g = sub;
  ec_status st = add_initializers(L, gp);
  for (size_t i = 0; i < gp->n_input && !st; i++) st = add_subgraph_input(L, gp->input[i]);
  scope body = {0};
  body.imports = sc->imports;
  body.n_imports = sc->n_imports;
  if (!st) st = add_nodes(L, gp->node, gp->n_node, &body);
  if (!st && !(sub->outputs = ec_alloc(sizeof(int) * (gp->n_output + 1)))) st = EC_ERR_INTERNAL;
  for (size_t i = 0; i < gp->n_output && !st; i++) {
    const char *name = gp->output[i]->name;
    if (!name || !name[0]) {
      st = fail(L, where, "subgraph '%s': output #%zu has no name", sub->name, i);
      break;
    }
    const Onnx__TypeProto *tp = gp->output[i]->type;
    if (tp && tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE)
      st = fail(L, where, "subgraph '%s': output '%s' is not a tensor (sequences, maps and "
                "optionals are not supported)", sub->name, name);
    int t = st ? -1 : ec_graph_tensor(sub, name);
    if (!st && t < 0) st = EC_ERR_INTERNAL;
    if (!st) sub->outputs[sub->n_outputs++] = t;
  }
  if (!st) st = ec_graph_link(sub);
  L->g = outer;
  /* Captures: what the subgraph reads and neither defines nor takes as an input. */
  int *outer_ts = NULL;
  for (int t = 0; t < sub->n_tensors && !st; t++) {
    ec_tensor *tt = &sub->tensors[t];
    if (tt->kind != EC_TK_ACTIVATION || tt->producer >= 0) continue;
    char buf[1024];
    const char *r = resolve(sc, tt->name, buf, sizeof buf);
    int o = r ? ec_graph_tensor(outer, r) : -1;
    int *c = ec_realloc_array(sub->captures, (size_t)sub->n_captures + 1, sizeof(int));
    int *ot = ec_realloc_array(outer_ts, (size_t)sub->n_captures + 1, sizeof(int));
    if (c) sub->captures = c;
    if (ot) outer_ts = ot;
    if (!c || !ot || o < 0) {
      st = r ? EC_ERR_INTERNAL
             : fail(L, where, "subgraph '%s' reads '%s', an omitted input of the enclosing function",
                    sub->name, tt->name);
      break;
    }
    tt->kind = EC_TK_INPUT;
    outer_ts[sub->n_captures] = o;
    sub->captures[sub->n_captures++] = t;
  }
  if (!st) st = ec_graph_toposort(sub, L->d);
  if (!st && sub->n_captures) { /* the implicit inputs, after those already there */
    n = &outer->nodes[node];
    int total = n->n_inputs + sub->n_captures;
    int *ins = ec_alloc(sizeof(int) * (size_t)total);
    if (!ins) {
      st = EC_ERR_INTERNAL;
    } else {
      memcpy(ins, n->inputs, sizeof(int) * (size_t)n->n_inputs);
      memcpy(ins + n->n_inputs, outer_ts, sizeof(int) * (size_t)sub->n_captures);
      st = ec_node_set_inputs(outer, node, ins, total);
      free(ins);
    }
  }
  free(outer_ts);
  return st;
}

/* ---- the model --------------------------------------------------------------------------- */

/* The graph's initializers, as constants of L->g (the model's graph or a subgraph). */
static ec_status add_initializers(loader *L, const Onnx__GraphProto *gp) {
  ec_graph *g = L->g;
  for (size_t i = 0; i < gp->n_initializer; i++) {
    const Onnx__TensorProto *tp = gp->initializer[i];
    if (!tp->name || !tp->name[0]) return fail(L, "", "initializer #%zu has no name", i);
    if (ec_graph_find(g, tp->name) >= 0)
      return fail(L, "", "initializer '%s' is defined twice", tp->name);
    ec_const c;
    bool borrowed;
    char err[512];
    ec_status st = ec_tensor_from_pb(tp, L->dir, &c, &borrowed, err, sizeof err);
    if (st) return fail(L, "", "initializer '%s': %s", tp->name, err);
    int t = ec_graph_tensor(g, tp->name);
    if (t < 0) {
      if (!borrowed) free(c.data);
      return EC_ERR_INTERNAL;
    }
    ec_tensor *tt = &g->tensors[t];
    set_constant(tt, &c, borrowed);
    g->init_params += ec_tensor_numel(tt);
    g->init_bytes += (int64_t)c.nbytes;
  }
  return EC_OK;
}

static ec_status check_declared_structure(loader *L);

static ec_status convert(loader *L) {
  Onnx__ModelProto *m = L->model;
  ec_graph *g = L->g;
  if (!m->graph) return fail(L, "", "not an ONNX model (no graph)");
  if (!m->has_ir_version) return fail(L, "", "the model has no IR version");
  if (m->ir_version < EC_IR_VERSION_MIN || m->ir_version > EC_IR_VERSION_MAX)
    return fail(L, "", "IR version %lld is not supported (edgecc reads IR versions %d to %d)",
                (long long)m->ir_version, EC_IR_VERSION_MIN, EC_IR_VERSION_MAX);
  g->ir_version = m->ir_version;
  bool have_opset = false;
  for (size_t i = 0; i < m->n_opset_import; i++) {
    const Onnx__OperatorSetIdProto *o = m->opset_import[i];
    const char *dom = o->domain ? o->domain : "";
    if (dom[0] == 0 || strcmp(dom, "ai.onnx") == 0) {
      g->opset = o->has_version ? o->version : 1;
      have_opset = true;
    }
  }
  if (!have_opset) {
    if (m->n_opset_import) {
      /* Models of other domains only (e.g. a preview training op) still use ai.onnx 1. */
      g->opset = 1;
    } else {
      return fail(L, "", "the model imports no opset");
    }
  }
  if (g->opset < EC_OPSET_MIN || g->opset > EC_OPSET_MAX)
    return fail(L, "", "opset %lld is not supported (edgecc supports ai.onnx opsets %d to %d)",
                (long long)g->opset, EC_OPSET_MIN, EC_OPSET_MAX);
  /* Inlined function bodies are inferred with the model's opset: they must agree. */
  for (size_t i = 0; i < m->n_functions; i++) {
    const Onnx__FunctionProto *f = m->functions[i];
    for (size_t k = 0; k < f->n_opset_import; k++) {
      const Onnx__OperatorSetIdProto *o = f->opset_import[k];
      int64_t v = o->has_version ? o->version : 1;
      if (is_onnx_domain(o->domain) && v != g->opset)
        return fail(L, "", "local function '%s' imports ai.onnx opset %lld, the model opset %lld",
                    f->name ? f->name : "", (long long)v, (long long)g->opset);
    }
  }
  const Onnx__GraphProto *gp = m->graph;
  if (!gp->name || !gp->name[0]) return fail(L, "", "the graph has no name");
  g->name = ec_strdup(gp->name);
  if (!g->name) return EC_ERR_INTERNAL;
  if (gp->n_sparse_initializer)
    return fail(L, "", "sparse initializers are not supported");
  ec_status cst = check_declared_structure(L);
  if (cst) return cst;

  ec_status ist = add_initializers(L, gp);
  if (ist) return ist;
  ist = check_input_shapes(L);
  if (ist) return ist;
  for (size_t i = 0; i < gp->n_input; i++) {
    ist = add_input(L, gp->input[i]);
    if (ist) return ist;
  }
  if (!L->opts->allow_unpinned) {
    ist = unpinned_error(L);
    if (ist) return ist;
  }
  for (int k = 0; k < L->opts->n_freezes; k++) {
    int t = ec_graph_find(g, L->opts->freezes[k].name);
    if (t < 0 || g->tensors[t].kind == EC_TK_ACTIVATION)
      return fail(L, "", "--freeze-input %s: the model has no graph input of that name",
                  L->opts->freezes[k].name);
  }
  for (int t = 0; t < g->n_tensors; t++)
    if (g->tensors[t].kind == EC_TK_INPUT) {
      int *p = ec_realloc_array(g->inputs, (size_t)g->n_inputs + 1, sizeof(int));
      if (!p) return EC_ERR_INTERNAL;
      g->inputs = p;
      g->inputs[g->n_inputs++] = t;
    }

  scope top = {0};
  top.imports = m->opset_import;
  top.n_imports = m->n_opset_import;
  ec_status st = add_nodes(L, gp->node, gp->n_node, &top);
  if (st) return st;

  /* Every name a node reads must be defined somewhere. */
  st = ec_graph_link(g);
  if (st) return st;
  for (int i = 0; i < g->n_nodes; i++) {
    ec_node *n = &g->nodes[i];
    for (int k = 0; k < n->n_inputs; k++) {
      if (n->inputs[k] < 0) continue;
      ec_tensor *t = &g->tensors[n->inputs[k]];
      if (t->kind == EC_TK_ACTIVATION && t->producer < 0 && k >= ec_node_n_explicit_inputs(n))
        return ec_fail_node(L->d, g, n, "a subgraph reads '%s', which no enclosing scope defines",
                            t->name);
      if (t->kind == EC_TK_ACTIVATION && t->producer < 0)
        return ec_fail_node(L->d, g, n,
                            "input '%s' is not produced by any node, nor a graph input or "
                            "initializer",
                            t->name);
    }
  }
  if (gp->n_output == 0) return fail(L, "", "the graph has no outputs");
  g->outputs = ec_alloc(sizeof(int) * gp->n_output);
  if (!g->outputs) return EC_ERR_INTERNAL;
  for (size_t i = 0; i < gp->n_output; i++) {
    const char *name = gp->output[i]->name;
    int t = name ? ec_graph_find(g, name) : -1;
    if (t < 0 || (g->tensors[t].kind == EC_TK_ACTIVATION && g->tensors[t].producer < 0))
      return fail(L, "", "graph output '%s' is not produced by any node", name ? name : "");
    for (int k = 0; k < g->n_outputs; k++)
      if (g->outputs[k] == t) return fail(L, "", "graph output '%s' is listed twice", name);
    g->outputs[g->n_outputs++] = t;
    g->tensors[t].is_output = true;
  }
  for (int k = 0; k < L->opts->n_dims; k++) {
    bool used = false;
    for (size_t i = 0; i < gp->n_input && !used; i++) {
      const Onnx__TypeProto *tp = gp->input[i]->type;
      if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type->shape)
        continue;
      for (size_t j = 0; j < tp->tensor_type->shape->n_dim; j++) {
        const Onnx__TensorShapeProto__Dimension *dim = tp->tensor_type->shape->dim[j];
        if (dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM &&
            dim->dim_param && strcmp(dim->dim_param, L->opts->dims[k].name) == 0)
          used = true;
      }
    }
    if (!used)
      ec_graph_warn(g, "%s: --dim %s: no input has a dimension of that name", L->file,
                    L->opts->dims[k].name);
  }
  return ec_graph_toposort(g, L->d);
}

static void shape_str(char *buf, size_t len, int rank, const int64_t *dims, const char *sep) {
  size_t o = (size_t)snprintf(buf, len, "[");
  for (int k = 0; k < rank && o < len; k++)
    o += (size_t)snprintf(buf + o, len - o, "%s%lld", k ? sep : "", (long long)dims[k]);
  if (o < len) snprintf(buf + o, len - o, "]");
}

/* Compares a declared type (a graph output's, or a value_info's) with what inference found.
 * Graph outputs must declare a tensor dtype and shape (as ONNX's checker demands); value_info
 * entries are compared where they say something. Symbolic dims match anything. */
static ec_status check_declared(loader *L, const Onnx__ValueInfoProto *vi, bool is_output) {
  const char *what = is_output ? "graph output" : "value_info";
  const char *name = vi->name ? vi->name : "";
  int t = ec_graph_find(L->g, name);
  const Onnx__TypeProto *tp = vi->type;
  if (t < 0 || !tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type)
    return EC_OK; /* checked before inference */
  const ec_tensor *tt = &L->g->tensors[t];
  const Onnx__TypeProto__Tensor *tt_pb = tp->tensor_type;
  if (tt->rank < 0) return EC_OK;
  if (tt_pb->has_elem_type && tt_pb->elem_type != tt->dtype)
    return fail(L, "", "%s '%s' is declared %s, but edgecc infers %s", what, name,
                ec_dtype_name(tt_pb->elem_type), ec_dtype_name(tt->dtype));
  if (!tt_pb->shape) return EC_OK;
  const Onnx__TensorShapeProto *sh = tt_pb->shape;
  bool same = sh->n_dim == (size_t)tt->rank;
  for (size_t k = 0; same && k < sh->n_dim; k++)
    if (sh->dim[k]->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE &&
        sh->dim[k]->dim_value != tt->dims[k] &&
        !(((tt->dyn >> k) & 1) && sh->dim[k]->dim_value <= tt->dims[k])) /* a run-time extent */
      same = false;
  if (same) return EC_OK;
  char decl[256] = "[", inf[256];
  size_t o = 1;
  for (size_t k = 0; k < sh->n_dim && o < sizeof decl; k++) {
    const Onnx__TensorShapeProto__Dimension *dm = sh->dim[k];
    if (dm->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE)
      o += (size_t)snprintf(decl + o, sizeof decl - o, "%s%lld", k ? "," : "", (long long)dm->dim_value);
    else
      o += (size_t)snprintf(decl + o, sizeof decl - o, "%s?", k ? "," : "");
  }
  if (o < sizeof decl) snprintf(decl + o, sizeof decl - o, "]");
  shape_str(inf, sizeof inf, tt->rank, tt->dims, ",");
  return fail(L, "", "%s '%s' is declared with shape %s, but edgecc infers %s", what, name, decl,
              inf);
}

/* What ONNX requires of declared types, before inference: graph outputs are tensors with a
 * dtype and a shape, value_info entries have a type. */
static ec_status check_declared_structure(loader *L) {
  const Onnx__GraphProto *gp = L->model->graph;
  for (size_t i = 0; i < gp->n_output; i++) {
    const char *name = gp->output[i]->name ? gp->output[i]->name : "";
    const Onnx__TypeProto *tp = gp->output[i]->type;
    if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type)
      return fail(L, "", "graph output '%s' is not declared as a tensor (sequences, maps and "
                         "optionals are not supported)", name);
    if (!tp->tensor_type->has_elem_type)
      return fail(L, "", "graph output '%s' declares no dtype", name);
    if (!tp->tensor_type->shape) return fail(L, "", "graph output '%s' declares no shape", name);
  }
  for (size_t i = 0; i < gp->n_value_info; i++)
    if (!gp->value_info[i]->type)
      return fail(L, "", "value_info '%s' has no type",
                  gp->value_info[i]->name ? gp->value_info[i]->name : "");
  return EC_OK;
}

static ec_status check_declared_types(loader *L) {
  const Onnx__GraphProto *gp = L->model->graph;
  for (size_t i = 0; i < gp->n_output; i++) {
    ec_status st = check_declared(L, gp->output[i], true);
    if (st) return st;
  }
  for (size_t i = 0; i < gp->n_value_info; i++) {
    ec_status st = check_declared(L, gp->value_info[i], false);
    if (st) return st;
  }
  return EC_OK;
}

/* Prescans and unpacks `buf`, unmaps it when `take` (so the file's bytes and protobuf-c's copy
 * are not both held while converting), then builds the graph. */
static ec_status load_bytes(uint8_t *buf, size_t len, bool take, const char *display,
                            const char *dir, const ec_load_opts *opts, const uint8_t *sha,
                            ec_graph **out, ec_diag *d) {
  static const ec_load_opts none = {0};
  *out = NULL;
  char err[512];
  if (len == 0) {
    ec_diag_set(d, display, "", "the file is empty");
    return EC_ERR_MODEL;
  }
  if (ec_onnx_prescan(buf, len, &onnx__model_proto__descriptor, err, sizeof err)) {
    if (take) munmap(buf, len);
    ec_diag_set(d, display, "", "not a valid ONNX model: %s", err);
    return EC_ERR_MODEL;
  }
  Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, len, buf);
  if (take) munmap(buf, len);
  if (!m) {
    ec_diag_set(d, display, "", "not a valid ONNX model (protobuf parse error)");
    return EC_ERR_MODEL;
  }
  ec_graph *g = ec_graph_new();
  if (!g) {
    onnx__model_proto__free_unpacked(m, NULL);
    return EC_ERR_INTERNAL;
  }
  g->pb_model = m;
  g->free_pb_model = free_model;
  g->source_path = ec_strdup(display);
  if (sha) memcpy(g->sha256, sha, 32);
  loader L = {g, d, display, dir, opts ? opts : &none, m};
  g->extent_bounds = L.opts->extents;
  g->n_extent_bounds = L.opts->n_extents;
  g->trip_bounds = L.opts->trips;
  g->n_trip_bounds = L.opts->n_trips;
  ec_status st = g->source_path ? convert(&L) : EC_ERR_INTERNAL;
  if (!st && !L.opts->no_infer) {
    st = ec_infer_graph(g, d);
    if (!st) st = check_declared_types(&L);
    if (!st) st = ec_graph_compact(g);
  }
  if (st) {
    if (st == EC_ERR_INTERNAL && !d->msg[0]) ec_diag_set(d, display, "", "out of memory");
    ec_graph_free(g);
    return st;
  }
  *out = g;
  return EC_OK;
}

/* Compares the types the file declares (graph outputs, value_info) with the inferred ones. The
 * loader calls it after inference; a command that loads with no_infer and infers itself calls
 * it after ec_infer_graph. */
ec_status ec_onnx_check_declared(ec_graph *g, ec_diag *d) {
  static const ec_load_opts none = {0};
  if (!g->pb_model) return EC_OK;
  loader L = {g, d, g->source_path, NULL, &none, g->pb_model};
  return check_declared_types(&L);
}

ec_status ec_onnx_load_buffer(const uint8_t *buf, size_t len, const char *display,
                              const char *dir, const ec_load_opts *opts, ec_graph **out,
                              ec_diag *d) {
  ec_sha256 s;
  uint8_t digest[32];
  ec_sha256_init(&s);
  ec_sha256_update(&s, buf, len);
  ec_sha256_final(&s, digest);
  return load_bytes((uint8_t *)buf, len, false, display, dir, opts, digest, out, d);
}

ec_status ec_onnx_load(const char *path, const ec_load_opts *opts, ec_graph **out, ec_diag *d) {
  *out = NULL;
  int fd = open(path, O_RDONLY);
  if (fd < 0) {
    ec_diag_set(d, path, "", "cannot open: %s", strerror(errno));
    return EC_ERR_MODEL;
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    ec_diag_set(d, path, "", "not a regular file");
    return EC_ERR_MODEL;
  }
  size_t len = (size_t)st.st_size;
  /* Mapped, not read: the file's pages come from the page cache and are dropped right after
   * unpacking, so loading holds the weights about twice at the peak, not three times. */
  uint8_t *buf = NULL;
  if (len) {
    buf = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    if (buf == MAP_FAILED) {
      close(fd);
      ec_diag_set(d, path, "", "cannot map the file: %s", strerror(errno));
      return EC_ERR_MODEL;
    }
    madvise(buf, len, MADV_SEQUENTIAL);
  }
  close(fd);
  ec_sha256 s;
  uint8_t digest[32];
  ec_sha256_init(&s);
  ec_sha256_update(&s, buf, len);
  ec_sha256_final(&s, digest);
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (slash)
    *slash = 0;
  else
    snprintf(dir, sizeof dir, ".");
  if (slash == dir) snprintf(dir, sizeof dir, "/");
  return load_bytes(buf, len, true, path, dir, opts, digest, out, d);
}
