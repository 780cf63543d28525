/* tuning.c — node signatures and tuning files (tuning.h, docs/tuning.md). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cost.h"
#include "lower.h"
#include "sha256.h"
#include "tuning.h"

const char *const ec_tune_family_names[EC_TUNE_COUNT] = {"onednn", "xnnpack", "ref"};

unsigned ec_tune_families(const ec_target *t) {
  unsigned f = 1u << EC_TUNE_REF;
  if (ec_target_has_kernels(t, EC_KLIB_XNNPACK)) f |= 1u << EC_TUNE_XNNPACK;
  if (ec_target_has_kernels(t, EC_KLIB_XNNPACK) && ec_target_has_kernels(t, EC_KLIB_ONEDNN)) f |= 1u << EC_TUNE_ONEDNN;
  return f;
}

static void put_tensor(ec_buf *b, const ec_graph *g, int t) {
  if (t < 0) {
    ec_buf_printf(b, "-");
    return;
  }
  const ec_tensor *x = &g->tensors[t];
  ec_buf_printf(b, "%s%s[", ec_dtype_name(x->dtype), x->kind == EC_TK_CONSTANT ? " const" : "");
  for (int k = 0; k < x->rank; k++) ec_buf_printf(b, "%s%lld", k ? "," : "", (long long)x->dims[k]);
  ec_buf_printf(b, "]");
}

static void put_attr(ec_buf *b, const ec_attr *a) {
  ec_buf_printf(b, " %s=", a->name);
  switch (a->type) {
    case EC_ATTR_INT: ec_buf_printf(b, "%lld", (long long)a->i); break;
    case EC_ATTR_FLOAT: ec_buf_printf(b, "%.9g", (double)a->f); break;
    case EC_ATTR_STRING: ec_buf_printf(b, "'%s'", a->s ? a->s : ""); break;
    case EC_ATTR_INTS:
      for (int k = 0; k < a->n; k++) ec_buf_printf(b, "%s%lld", k ? "," : "", (long long)a->ints[k]);
      break;
    case EC_ATTR_FLOATS:
      for (int k = 0; k < a->n; k++) ec_buf_printf(b, "%s%.9g", k ? "," : "", (double)a->floats[k]);
      break;
    case EC_ATTR_STRINGS:
      for (int k = 0; k < a->n; k++) ec_buf_printf(b, "%s'%s'", k ? "," : "", a->strings[k]);
      break;
    case EC_ATTR_TENSOR:
      if (a->t) {
        uint8_t h[32];
        char hex[65];
        ec_sha256 s;
        ec_sha256_init(&s);
        if (a->t->data) ec_sha256_update(&s, a->t->data, a->t->nbytes);
        ec_sha256_final(&s, h);
        ec_sha256_hex(h, hex);
        ec_buf_printf(b, "tensor(%s,%d,%.16s)", ec_dtype_name(a->t->dtype), a->t->rank, hex);
      }
      break;
    default: ec_buf_printf(b, "type%d", (int)a->type); break;
  }
}

void ec_tune_signature(const ec_graph *g, const ec_node *n, ec_buf *text, char key[17]) {
  ec_buf b = {0};
  ec_buf_printf(&b, "%s%s%s", n->domain && n->domain[0] ? n->domain : "", n->domain && n->domain[0] ? "::" : "",
                n->op_type);
  /* Attributes in name order (a file may list them in any); edgecc's own (edgecc_*) are
   * lowering's, never a model's. */
  bool done[256] = {0};
  int na = n->n_attrs < 256 ? n->n_attrs : 256;
  for (int r = 0; r < na; r++) {
    int best = -1;
    for (int i = 0; i < na; i++)
      if (!done[i] && (best < 0 || strcmp(n->attrs[i].name, n->attrs[best].name) < 0)) best = i;
    done[best] = true;
    if (strncmp(n->attrs[best].name, "edgecc_", 7) != 0) put_attr(&b, &n->attrs[best]);
  }
  ec_buf_printf(&b, " |");
  for (int i = 0; i < n->n_inputs; i++) {
    ec_buf_printf(&b, " ");
    put_tensor(&b, g, n->inputs[i]);
  }
  ec_buf_printf(&b, " ->");
  for (int i = 0; i < n->n_outputs; i++) {
    ec_buf_printf(&b, " ");
    put_tensor(&b, g, n->outputs[i]);
  }
  uint8_t h[32];
  char hex[65];
  ec_sha256 s;
  ec_sha256_init(&s);
  if (b.data) ec_sha256_update(&s, b.data, b.len);
  ec_sha256_final(&s, h);
  ec_sha256_hex(h, hex);
  memcpy(key, hex, 16);
  key[16] = 0;
  if (text && b.data) ec_buf_printf(text, "%s", b.data);
  ec_buf_free(&b);
}

void ec_tuning_free(ec_tuning *t) {
  free(t->entries);
  memset(t, 0, sizeof *t);
}

static ec_status bad(ec_diag *d, const char *path, const char *why) {
  ec_diag_set(d, "--tuning", "", "%s: %s", path, why);
  return EC_ERR_USAGE;
}

static bool hex_key(const char *s) {
  if (strlen(s) != 16) return false;
  for (int i = 0; i < 16; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return false;
  return true;
}

ec_status ec_tuning_load(const char *path, ec_tuning *t, ec_diag *d) {
  memset(t, 0, sizeof *t);
  snprintf(t->path, sizeof t->path, "%s", path);
  FILE *f = fopen(path, "rb");
  if (!f) return bad(d, path, "cannot read the tuning file (made by `edgecc tune MODEL --targets T -o FILE`)");
  ec_buf text = {0};
  char chunk[65536];
  size_t got;
  while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) ec_buf_append(&text, chunk, got);
  fclose(f);
  if (text.oom) {
    ec_buf_free(&text);
    ec_diag_set(d, path, "", "out of memory reading the tuning file");
    return EC_ERR_INTERNAL;
  }
  ec_sha256 s;
  ec_sha256_init(&s);
  if (text.data) ec_sha256_update(&s, text.data, text.len);
  ec_sha256_final(&s, t->sha256);
  cJSON *root = text.data ? cJSON_ParseWithLength(text.data, text.len) : NULL;
  ec_buf_free(&text);
  ec_status st = EC_ERR_USAGE;
  const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(root, "format");
  const cJSON *ver = cJSON_GetObjectItemCaseSensitive(root, "format_version");
  const cJSON *tgt = cJSON_GetObjectItemCaseSensitive(root, "target");
  const cJSON *nodes = cJSON_GetObjectItemCaseSensitive(root, "nodes");
  if (!root) {
    bad(d, path, "not valid JSON (not a tuning file, or a truncated one)");
  } else if (!cJSON_IsObject(root) || !cJSON_IsString(fmt) || strcmp(fmt->valuestring, EC_TUNING_FORMAT) != 0) {
    bad(d, path, "\"format\" must be \"" EC_TUNING_FORMAT "\" (not a tuning file)");
  } else if (!cJSON_IsNumber(ver) || ver->valuedouble != EC_TUNING_VERSION) {
    ec_diag_set(d, "--tuning", "", "%s: format_version %g, this edgecc reads version %d: tune the model again",
                path, cJSON_IsNumber(ver) ? ver->valuedouble : -1.0, EC_TUNING_VERSION);
  } else if (!cJSON_IsString(tgt) || !tgt->valuestring[0] || strlen(tgt->valuestring) >= sizeof t->target) {
    bad(d, path, "\"target\" (the target it was measured on) must be a target name");
  } else if (!cJSON_IsArray(nodes)) {
    bad(d, path, "\"nodes\" must be an array");
  } else {
    snprintf(t->target, sizeof t->target, "%s", tgt->valuestring);
    int n = cJSON_GetArraySize(nodes);
    t->entries = calloc((size_t)n + 1, sizeof *t->entries);
    if (!t->entries) {
      ec_diag_set(d, path, "", "out of memory reading the tuning file");
      st = EC_ERR_INTERNAL;
      goto done;
    }
    const cJSON *e;
    int k = 0;
    cJSON_ArrayForEach(e, nodes) {
      const cJSON *key = cJSON_GetObjectItemCaseSensitive(e, "key");
      const cJSON *ms = cJSON_GetObjectItemCaseSensitive(e, "median_ms");
      char why[160];
      if (!cJSON_IsObject(e) || !cJSON_IsString(key) || !hex_key(key->valuestring) || !cJSON_IsObject(ms)) {
        snprintf(why, sizeof why, "nodes[%d] needs \"key\" (16 hex digits) and \"median_ms\" (an object)", k);
        bad(d, path, why);
        goto done;
      }
      ec_tuning_entry *en = &t->entries[k];
      memcpy(en->key, key->valuestring, 17);
      for (int fam = 0; fam < EC_TUNE_COUNT; fam++) en->ms[fam] = -1;
      const cJSON *v;
      cJSON_ArrayForEach(v, ms) {
        int fam = 0;
        while (fam < EC_TUNE_COUNT && strcmp(v->string, ec_tune_family_names[fam]) != 0) fam++;
        if (fam == EC_TUNE_COUNT || !cJSON_IsNumber(v) || !(v->valuedouble >= 0) || isinf(v->valuedouble)) {
          snprintf(why, sizeof why, "nodes[%d].median_ms: \"%.40s\" must be onednn, xnnpack or ref with a time "
                   "of 0 or more", k, v->string);
          bad(d, path, why);
          goto done;
        }
        en->ms[fam] = v->valuedouble;
      }
      k++;
    }
    t->n = k;
    st = EC_OK;
  }
done:
  cJSON_Delete(root);
  if (st) ec_tuning_free(t);
  return st;
}

int ec_tuning_pick(const ec_tuning *t, const char *key, unsigned allowed) {
  for (int i = 0; i < t->n; i++) {
    if (strcmp(t->entries[i].key, key) != 0) continue;
    int best = -1;
    for (int f = 0; f < EC_TUNE_COUNT; f++)
      if ((allowed & (1u << f)) && t->entries[i].ms[f] >= 0 && (best < 0 || t->entries[i].ms[f] < t->entries[i].ms[best]))
        best = f;
    return best;
  }
  return -1;
}

/* Bytes of a conversion of tensor t, or 0 when lowering would convert nothing there. */
static double conv_bytes(const ec_graph *g, int t) {
  if (!ec_lower_layout_act(g, t)) return 0;
  return (double)ec_tensor_numel(&g->tensors[t]) * (double)ec_dtype_size(g->tensors[t].dtype);
}

/* The layout node i would give its output on family f (EC_LAYOUT_*), given the layouts chosen so
 * far (out[]): the reference kernels NCHW, a fast family its fast layout, a node that follows
 * its inputs NHWC when one of its 4-D activations comes NHWC. */
static int layout_on(const ec_graph *g, int i, int f, const int *fast, const signed char *out) {
  if (f == EC_TUNE_REF) return EC_LAYOUT_NCHW;
  if (fast[i] >= 0) return fast[i];
  const ec_node *n = &g->nodes[i];
  for (int k = 0; k < n->n_inputs; k++) {
    int t = n->inputs[k], p = t >= 0 ? g->tensors[t].producer : -1;
    if (p >= 0 && ec_lower_layout_act(g, t) && out[p] == EC_LAYOUT_NHWC) return EC_LAYOUT_NHWC;
  }
  return EC_LAYOUT_NCHW;
}

/* Milliseconds of the layout conversions node i costs on family f: its inputs that come in
 * another layout (graph inputs are NCHW), and its output when a reader needs the other layout
 * (graph outputs NCHW; a reader that follows takes any; the others, not decided yet, counted in
 * their fast family's layout). */
static double conversions_ms(const ec_graph *g, int i, int f, const int *fast, const signed char *out,
                             const ec_target *target) {
  const ec_node *n = &g->nodes[i];
  int lay = layout_on(g, i, f, fast, out);
  double ms = 0;
  for (int k = 0; k < n->n_inputs; k++) {
    int t = n->inputs[k];
    /* A node the nhwc step gives NHWC converts its input 0 only; one that follows, all. */
    if (conv_bytes(g, t) == 0 || (f != EC_TUNE_REF && fast[i] == EC_LAYOUT_NHWC && k > 0)) continue;
    int p = g->tensors[t].producer;
    int from = p >= 0 ? out[p] : EC_LAYOUT_NCHW;
    if (from != lay) ms += ec_cost_layout_ms(target, conv_bytes(g, t));
  }
  int y = n->n_outputs ? n->outputs[0] : -1;
  if (conv_bytes(g, y) == 0) return ms;
  bool other = g->tensors[y].is_output && lay != EC_LAYOUT_NCHW;
  for (int c = 0; c < g->tensors[y].n_consumers && !other; c++) {
    int r = g->tensors[y].consumers[c];
    if (g->nodes[r].dead || fast[r] < 0) continue; /* it follows what it reads */
    if (fast[r] == EC_LAYOUT_NHWC && g->nodes[r].inputs[0] != y) continue; /* it converts input 0 only */
    other = fast[r] != lay;
  }
  return other ? ms + ec_cost_layout_ms(target, conv_bytes(g, y)) : ms;
}

int ec_tuning_apply(ec_graph *g, const ec_tuning *t, const ec_target *target) {
  static const ec_kernel_family fam[EC_TUNE_COUNT] = {EC_KF_ONEDNN, EC_KF_XNNPACK, EC_KF_REF};
  unsigned fast_fams = ec_tune_families(target) & ~(1u << EC_TUNE_REF);
  int set = 0, nn = g->n_nodes;
  int *fast = ec_alloc(sizeof(int) * (size_t)(nn + 1)), *pick = ec_alloc(sizeof(int) * (size_t)(nn + 1));
  int *ent = ec_alloc(sizeof(int) * (size_t)(nn + 1));
  signed char *out = ec_alloc((size_t)nn + 1);
  if (!fast || !pick || !ent || !out) {
    free(fast), free(pick), free(ent), free(out);
    return -1;
  }
  /* Per node alone: the fastest fast family the file has (the pick without conversions), its
   * entry, and the layout a fast family gives it. */
  for (int i = 0; i < nn; i++) {
    ec_node *n = &g->nodes[i];
    char key[17];
    n->tuned = EC_KF_UNSET;
    pick[i] = ent[i] = -1;
    fast[i] = EC_LAYOUT_NCHW;
    out[i] = EC_LAYOUT_NCHW;
    if (n->dead) continue;
    fast[i] = ec_lower_fast_layout(g, i);
    ec_tune_signature(g, n, NULL, key);
    pick[i] = ec_tuning_pick(t, key, fast_fams);
    for (int k = 0; pick[i] >= 0 && k < t->n; k++)
      if (strcmp(t->entries[k].key, key) == 0) ent[i] = k;
  }
  /* In graph order (producers first), each node that has an entry: its fast pick or the
   * reference kernels, whichever costs less with the layout conversions around it (the
   * reference kernels run NCHW, the fast families mostly NHWC). A greedy pass: readers not
   * decided yet count in their fast family's layout. */
  for (int i = 0; i < nn; i++) {
    ec_node *n = &g->nodes[i];
    int f = pick[i];
    if (!n->dead && f >= 0) {
      const ec_tuning_entry *e = &t->entries[ent[i]];
      double on_fast = e->ms[f] + conversions_ms(g, i, f, fast, out, target);
      if (e->ms[EC_TUNE_REF] >= 0 &&
          e->ms[EC_TUNE_REF] + conversions_ms(g, i, EC_TUNE_REF, fast, out, target) < on_fast)
        f = EC_TUNE_REF;
      n->tuned = fam[f];
      set++;
    }
    /* A node without an entry runs its device's fast family (the default order). */
    if (!n->dead) out[i] = (signed char)layout_on(g, i, f >= 0 ? f : EC_TUNE_ONEDNN, fast, out);
  }
  free(fast), free(pick), free(ent), free(out);
  return set;
}
