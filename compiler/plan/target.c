/* target.c — loads and validates device descriptions (built-in targets/NAME.json and --target-file),
 * resolves names and aliases, and parses the --targets device list. Writing descriptions back as
 * JSON lives in target_json.c; describing this machine (`targets --detect`) in cli/detect.c. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "target.h"

/* Files from targets/, embedded at build time by targets/embed.cmake. */
typedef struct ec_embedded_file {
  const char *path;
  const char *data;
  size_t len;
} ec_embedded_file;
extern const ec_embedded_file ec_targets_embedded[];
extern const int ec_targets_embedded_count;

#if defined(__x86_64__)
#define EC_HOST_TARGET "x86-64"
#define EC_HOST_TRIPLE "x86_64-linux-gnu"
#elif defined(__aarch64__)
#define EC_HOST_TARGET "generic-aarch64"
#define EC_HOST_TRIPLE "aarch64-linux-gnu"
#else
#error "edgecc's `host` target: add this architecture's generic description to targets/"
#endif

static const char *const feature_names[] = {
#define EC_TF_NAME_(id, s) s,
    EC_TARGET_FEATURES(EC_TF_NAME_)
#undef EC_TF_NAME_
};

static const char *const supported_triples[] = {"aarch64-linux-gnu", "x86_64-linux-gnu"};

static const struct {
  unsigned bit;
  const char *name;
} klib_names[] = {{EC_KLIB_REF, "ref"}, {EC_KLIB_XNNPACK, "xnnpack"}, {EC_KLIB_OPENBLAS, "openblas"},
                   {EC_KLIB_ONEDNN, "onednn"}};

const char *ec_target_feature_name(int bit) {
  return bit >= 0 && bit < EC_TF_COUNT ? feature_names[bit] : NULL;
}

unsigned ec_kernel_lib_from_name(const char *name) {
  for (size_t i = 0; i < sizeof klib_names / sizeof *klib_names; i++)
    if (strcmp(klib_names[i].name, name) == 0) return klib_names[i].bit;
  return 0;
}

const char *ec_kernel_lib_name(unsigned klib) {
  for (size_t i = 0; i < sizeof klib_names / sizeof *klib_names; i++)
    if (klib_names[i].bit == klib) return klib_names[i].name;
  return NULL;
}

bool ec_target_has_kernels(const ec_target *t, unsigned klibs) { return (t->kernels & klibs) == klibs; }

bool ec_target_onednn_default(const ec_target *t) {
  return t->onednn_first && ec_target_has_kernels(t, EC_KLIB_ONEDNN | EC_KLIB_XNNPACK);
}

const char *ec_target_host_name(void) { return EC_HOST_TARGET; }

const char *ec_target_host_triple(void) { return EC_HOST_TRIPLE; }

bool ec_target_is_native(const ec_target *t) { return strcmp(t->triple, EC_HOST_TRIPLE) == 0; }

const char *ec_targets_embedded_file(const char *relpath, size_t *len) {
  for (int i = 0; i < ec_targets_embedded_count; i++) {
    if (strcmp(ec_targets_embedded[i].path, relpath) == 0) {
      if (len) *len = ec_targets_embedded[i].len;
      return ec_targets_embedded[i].data;
    }
  }
  return NULL;
}

const char *ec_target_toolchain(const char *triple, size_t *len) {
  if (strcmp(triple, EC_HOST_TRIPLE) == 0) return NULL;
  char path[EC_TARGET_NAME_MAX + 32];
  snprintf(path, sizeof path, "toolchains/%s.cmake", triple);
  return ec_targets_embedded_file(path, len);
}

double ec_target_peak_gflops(const ec_target *t, int32_t dtype) {
  switch (dtype) {
    case ECK_FLOAT16: return t->peak_f16 > 0 ? t->peak_f16 : t->peak_f32;
    case ECK_BFLOAT16: return t->peak_bf16 > 0 ? t->peak_bf16 : t->peak_f32;
    case ECK_INT8:
    case ECK_UINT8: return t->peak_i8 > 0 ? t->peak_i8 : t->peak_f32;
    case ECK_DOUBLE: return t->peak_f64 > 0 ? t->peak_f64 : t->peak_f32 / 2;
    default: return t->peak_f32;
  }
}

/* ---- validation helpers ----------------------------------------------------------------------- */

/* Target and device names become folder and file names: keep them portable and unquoted. */
bool ec_target_name_valid(const char *s, bool allow_upper) {
  size_t n = strlen(s);
  if (n == 0 || n >= EC_TARGET_NAME_MAX) return false;
  if (!(isdigit((unsigned char)s[0]) || islower((unsigned char)s[0]) ||
        (allow_upper && (isupper((unsigned char)s[0]) || s[0] == '_'))))
    return false;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (!(isdigit(c) || islower(c) || c == '-' || c == '.' || c == '_' || (allow_upper && isupper(c))))
      return false;
  }
  return true;
}

typedef struct vctx {
  const char *source;
  ec_diag *d;
} vctx;

static ec_status field_error(vctx *v, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static ec_status field_error(vctx *v, const char *field, const char *fmt, ...) {
  char where[160];
  snprintf(where, sizeof where, "field '%s'", field);
  va_list ap;
  va_start(ap, fmt);
  ec_diag_vset(v->d, v->source, where, fmt, ap);
  va_end(ap);
  return EC_ERR_MODEL;
}

static const char *json_type_name(const cJSON *j) {
  if (cJSON_IsObject(j)) return "an object";
  if (cJSON_IsArray(j)) return "an array";
  if (cJSON_IsString(j)) return "a string";
  if (cJSON_IsNumber(j)) return "a number";
  if (cJSON_IsBool(j)) return "a boolean";
  if (cJSON_IsNull(j)) return "null";
  return "an invalid value";
}

/* Every key known, none twice: a typo in a description must not silently fall back to a default. */
static ec_status check_keys(vctx *v, const cJSON *obj, const char *prefix, const char *const *keys, int n) {
  for (const cJSON *c = obj->child; c; c = c->next) {
    char full[160];
    snprintf(full, sizeof full, "%s%s", prefix, c->string ? c->string : "");
    bool known = false;
    for (int i = 0; i < n; i++) known |= strcmp(c->string, keys[i]) == 0;
    if (!known) {
      char list[512] = "";
      for (int i = 0; i < n; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", keys[i]);
      return field_error(v, full, "unknown field (known: %s)", list);
    }
    for (const cJSON *e = obj->child; e != c; e = e->next)
      if (strcmp(e->string, c->string) == 0) return field_error(v, full, "given twice");
  }
  return EC_OK;
}

static ec_status get_string(vctx *v, const cJSON *obj, const char *key, bool required, char *out,
                            size_t cap) {
  const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, key);
  if (!j) return required ? field_error(v, key, "missing (a string is required)") : EC_OK;
  if (!cJSON_IsString(j)) return field_error(v, key, "must be a string, got %s", json_type_name(j));
  if (strlen(j->valuestring) >= cap)
    return field_error(v, key, "too long (at most %zu characters)", cap - 1);
  strcpy(out, j->valuestring);
  return EC_OK;
}

static ec_status get_number(vctx *v, const cJSON *obj, const char *field, const char *key,
                            bool required, bool allow_zero, double *out) {
  const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, key);
  if (!j) return required ? field_error(v, field, "missing (a number is required)") : EC_OK;
  if (!cJSON_IsNumber(j)) return field_error(v, field, "must be a number, got %s", json_type_name(j));
  double x = j->valuedouble;
  if (!isfinite(x) || x < 0 || (!allow_zero && x == 0))
    return field_error(v, field, "must be %s, got %g", allow_zero ? "zero or more" : "positive", x);
  *out = x;
  return EC_OK;
}

static ec_status get_int(vctx *v, const cJSON *obj, const char *key, int64_t lo, int64_t hi,
                         int64_t *out) {
  const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, key);
  if (!j) return field_error(v, key, "missing (an integer is required)");
  if (!cJSON_IsNumber(j)) return field_error(v, key, "must be an integer, got %s", json_type_name(j));
  double x = j->valuedouble;
  if (!isfinite(x) || x != floor(x) || x < (double)lo || x > (double)hi)
    return field_error(v, key, "must be an integer from %lld to %lld, got %g", (long long)lo,
                       (long long)hi, x);
  *out = (int64_t)x;
  return EC_OK;
}

/* Strings that go verbatim into a generated CMakeLists: refuse what would need quoting. */
static bool plain_flag(const char *s) {
  if (s[0] != '-' || !s[1]) return false;
  for (const char *p = s; *p; p++)
    if (isspace((unsigned char)*p) || strchr("\"'`$;\\#()<>|&", *p)) return false;
  return true;
}

static const char *const eff_libs[EC_EFF_LIBS] = {"ref", "xnnpack"};
static const char *const eff_classes[EC_EFF_CLASSES] = {"gemm", "dwconv", "memory"};
const char *ec_eff_lib_name(int lib) { return lib >= 0 && lib < EC_EFF_LIBS ? eff_libs[lib] : NULL; }
const char *ec_eff_class_name(int cls) { return cls >= 0 && cls < EC_EFF_CLASSES ? eff_classes[cls] : NULL; }

/* "efficiency": {"xnnpack": {"gemm": {"compute": 0.5, "memory": 0.3, "overhead_ms": 0.002}, ...}, ...}
 * compute is a fraction of the per-core peak, at most 1; memory a fraction of mem_gbps, which may
 * exceed 1 (data a node reuses from cache moves faster than DRAM's single-thread read). */
static ec_status parse_efficiency(vctx *v, const cJSON *root, ec_target *t) {
  const cJSON *ef = cJSON_GetObjectItemCaseSensitive(root, "efficiency");
  if (!ef) return EC_OK;
  if (!cJSON_IsObject(ef))
    return field_error(v, "efficiency", "must be an object like {\"xnnpack\": {\"gemm\": {\"compute\": 0.5}}}, got %s",
                       json_type_name(ef));
  ec_status st;
  if ((st = check_keys(v, ef, "efficiency.", eff_libs, EC_EFF_LIBS))) return st;
  for (int l = 0; l < EC_EFF_LIBS; l++) {
    const cJSON *lj = cJSON_GetObjectItemCaseSensitive(ef, eff_libs[l]);
    if (!lj) continue;
    char f[96];
    snprintf(f, sizeof f, "efficiency.%s", eff_libs[l]);
    if (!cJSON_IsObject(lj)) return field_error(v, f, "must be an object, got %s", json_type_name(lj));
    snprintf(f, sizeof f, "efficiency.%s.", eff_libs[l]);
    if ((st = check_keys(v, lj, f, eff_classes, EC_EFF_CLASSES))) return st;
    for (int c = 0; c < EC_EFF_CLASSES; c++) {
      const cJSON *cj = cJSON_GetObjectItemCaseSensitive(lj, eff_classes[c]);
      if (!cj) continue;
      char base[48];
      snprintf(base, sizeof base, "efficiency.%s.%s", eff_libs[l], eff_classes[c]);
      if (!cJSON_IsObject(cj)) return field_error(v, base, "must be an object, got %s", json_type_name(cj));
      static const char *const fkeys[] = {"compute", "memory", "overhead_ms", "row_ns"};
      snprintf(f, sizeof f, "%s.", base);
      if ((st = check_keys(v, cj, f, fkeys, 4))) return st;
      ec_class_eff *e = &t->eff[l][c];
      for (int k = 0; k < 4; k++) {
        if (!cJSON_GetObjectItemCaseSensitive(cj, fkeys[k])) continue;
        double x = 0;
        snprintf(f, sizeof f, "%s.%s", base, fkeys[k]);
        if ((st = get_number(v, cj, f, fkeys[k], true, k >= 2, &x))) return st;
        if (k == 0 && x > 1) return field_error(v, f, "must be a fraction of the peak, at most 1, got %g", x);
        if (k == 0) e->compute = x;
        if (k == 1) e->memory = x;
        if (k == 2) e->overhead_ms = x;
        if (k == 3) e->row_ns = x;
        e->set |= 1u << k;
      }
    }
  }
  return EC_OK;
}

static ec_status parse_target(vctx *v, const cJSON *root, ec_target *t) {
  static const char *const keys[] = {"name", "board", "triple", "cflags", "cores", "clock_ghz",
                                     "ram_mb", "features", "peak_gflops", "mem_gbps", "kernels",
                                     "link", "qemu_cpu", "estimated", "notes", "efficiency",
                                     "sync_us"};
  ec_status st;
  if ((st = check_keys(v, root, "", keys, (int)(sizeof keys / sizeof *keys)))) return st;
  if ((st = get_string(v, root, "board", true, t->board, sizeof t->board))) return st;
  if ((st = get_string(v, root, "triple", true, t->triple, sizeof t->triple))) return st;
  bool triple_ok = false;
  for (size_t i = 0; i < sizeof supported_triples / sizeof *supported_triples; i++)
    triple_ok |= strcmp(t->triple, supported_triples[i]) == 0;
  if (!triple_ok)
    return field_error(v, "triple", "'%s' is not supported (supported: aarch64-linux-gnu, x86_64-linux-gnu)",
                       t->triple);

  const cJSON *cf = cJSON_GetObjectItemCaseSensitive(root, "cflags");
  if (!cf) return field_error(v, "cflags", "missing (an array of compiler flags is required, e.g. [\"-O3\"])");
  if (!cJSON_IsArray(cf)) return field_error(v, "cflags", "must be an array of strings, got %s", json_type_name(cf));
  for (const cJSON *e = cf->child; e; e = e->next) {
    char f[32];
    snprintf(f, sizeof f, "cflags[%d]", t->n_cflags);
    if (!cJSON_IsString(e)) return field_error(v, f, "must be a string, got %s", json_type_name(e));
    if (t->n_cflags >= EC_TARGET_MAX_CFLAGS)
      return field_error(v, "cflags", "more than %d flags", EC_TARGET_MAX_CFLAGS);
    if (strlen(e->valuestring) >= EC_TARGET_FLAG_MAX)
      return field_error(v, f, "too long (at most %d characters)", EC_TARGET_FLAG_MAX - 1);
    if (!plain_flag(e->valuestring))
      return field_error(v, f, "'%s' is not a plain compiler flag (starts with '-', no spaces, quotes or shell characters)",
                         e->valuestring);
    strcpy(t->cflags[t->n_cflags++], e->valuestring);
  }

  int64_t x;
  if ((st = get_int(v, root, "cores", 1, 1024, &x))) return st;
  t->cores = (int)x;
  if ((st = get_int(v, root, "ram_mb", 16, INT64_C(1) << 30, &x))) return st;
  t->ram_mb = x;
  if ((st = get_number(v, root, "clock_ghz", "clock_ghz", false, false, &t->clock_ghz))) return st;
  if ((st = get_number(v, root, "mem_gbps", "mem_gbps", true, false, &t->mem_gbps))) return st;

  const cJSON *fe = cJSON_GetObjectItemCaseSensitive(root, "features");
  if (fe && !cJSON_IsArray(fe))
    return field_error(v, "features", "must be an array of strings, got %s", json_type_name(fe));
  int k = 0;
  for (const cJSON *e = fe ? fe->child : NULL; e; e = e->next, k++) {
    char f[32];
    snprintf(f, sizeof f, "features[%d]", k);
    if (!cJSON_IsString(e)) return field_error(v, f, "must be a string, got %s", json_type_name(e));
    int bit = -1;
    for (int b = 0; b < EC_TF_COUNT; b++)
      if (strcmp(feature_names[b], e->valuestring) == 0) bit = b;
    if (bit < 0) {
      char list[512] = "";
      for (int b = 0; b < EC_TF_COUNT; b++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", b ? ", " : "", feature_names[b]);
      return field_error(v, f, "unknown feature '%s' (known: %s)", e->valuestring, list);
    }
    if (t->features & (UINT64_C(1) << bit)) return field_error(v, f, "'%s' listed twice", e->valuestring);
    t->features |= UINT64_C(1) << bit;
  }

  const cJSON *pk = cJSON_GetObjectItemCaseSensitive(root, "peak_gflops");
  if (!pk) return field_error(v, "peak_gflops", "missing (an object like {\"f32\": 153.6, \"i8\": 614.4} is required)");
  if (!cJSON_IsObject(pk)) return field_error(v, "peak_gflops", "must be an object, got %s", json_type_name(pk));
  static const char *const pkeys[] = {"f32", "f16", "bf16", "i8", "f64"};
  if ((st = check_keys(v, pk, "peak_gflops.", pkeys, 5))) return st;
  if ((st = get_number(v, pk, "peak_gflops.f32", "f32", true, false, &t->peak_f32))) return st;
  if ((st = get_number(v, pk, "peak_gflops.f16", "f16", false, false, &t->peak_f16))) return st;
  if ((st = get_number(v, pk, "peak_gflops.bf16", "bf16", false, false, &t->peak_bf16))) return st;
  if ((st = get_number(v, pk, "peak_gflops.i8", "i8", false, false, &t->peak_i8))) return st;
  if ((st = get_number(v, pk, "peak_gflops.f64", "f64", false, false, &t->peak_f64))) return st;

  const cJSON *kl = cJSON_GetObjectItemCaseSensitive(root, "kernels");
  if (!kl) return field_error(v, "kernels", "missing (an array such as [\"xnnpack\", \"openblas\", \"ref\"] is required)");
  if (!cJSON_IsArray(kl)) return field_error(v, "kernels", "must be an array of strings, got %s", json_type_name(kl));
  k = 0;
  for (const cJSON *e = kl->child; e; e = e->next, k++) {
    char f[32];
    snprintf(f, sizeof f, "kernels[%d]", k);
    if (!cJSON_IsString(e)) return field_error(v, f, "must be a string, got %s", json_type_name(e));
    unsigned bit = ec_kernel_lib_from_name(e->valuestring);
    if (!bit) return field_error(v, f, "unknown kernel library '%s' (known: ref, xnnpack, openblas, onednn)", e->valuestring);
    if (t->kernels & bit) return field_error(v, f, "'%s' listed twice", e->valuestring);
    if (bit == EC_KLIB_ONEDNN && !(t->kernels & EC_KLIB_XNNPACK)) t->onednn_first = true;
    t->kernels |= bit;
  }
  t->kernels |= EC_KLIB_REF; /* portable C runs everywhere */

  t->link_mbps = 1000;
  t->link_latency_ms = 0.2;
  const cJSON *ln = cJSON_GetObjectItemCaseSensitive(root, "link");
  if (ln) {
    if (!cJSON_IsObject(ln)) return field_error(v, "link", "must be an object like {\"mbps\": 1000, \"latency_ms\": 0.2}, got %s", json_type_name(ln));
    static const char *const lkeys[] = {"mbps", "latency_ms"};
    if ((st = check_keys(v, ln, "link.", lkeys, 2))) return st;
    if ((st = get_number(v, ln, "link.mbps", "mbps", true, false, &t->link_mbps))) return st;
    if ((st = get_number(v, ln, "link.latency_ms", "latency_ms", true, true, &t->link_latency_ms))) return st;
  }

  t->sync_us = EC_TARGET_SYNC_US;
  if ((st = get_number(v, root, "sync_us", "sync_us", false, true, &t->sync_us))) return st;
  if ((st = parse_efficiency(v, root, t))) return st;
  if ((st = get_string(v, root, "qemu_cpu", false, t->qemu_cpu, sizeof t->qemu_cpu))) return st;
  for (const char *p = t->qemu_cpu; *p; p++)
    if (!(isalnum((unsigned char)*p) || *p == '-' || *p == '_'))
      return field_error(v, "qemu_cpu", "'%s' is not a qemu CPU name", t->qemu_cpu);
  const cJSON *es = cJSON_GetObjectItemCaseSensitive(root, "estimated");
  if (es) {
    if (!cJSON_IsBool(es)) return field_error(v, "estimated", "must be true or false, got %s", json_type_name(es));
    t->estimated = cJSON_IsTrue(es);
  }
  return get_string(v, root, "notes", false, t->notes, sizeof t->notes);
}

/* ---- the set ------------------------------------------------------------------------------- */

static int find_item(const ec_target_set *ts, const char *name) {
  for (int i = 0; i < ts->n; i++)
    if (strcmp(ts->items[i].name, name) == 0) return i;
  return -1;
}

static int find_alias(const ec_target_set *ts, const char *name) {
  for (int i = 0; i < ts->n_aliases; i++)
    if (strcmp(ts->aliases[i].name, name) == 0) return i;
  return -1;
}

const ec_target *ec_targets_find(const ec_target_set *ts, const char *name) {
  /* Aliases may chain (host -> x86-64, my-orin -> orin -> orin-agx); a bound stops cycles. */
  for (int hops = 0; hops <= ts->n_aliases; hops++) {
    int i = find_item(ts, name);
    if (i >= 0) return &ts->items[i];
    int a = find_alias(ts, name);
    if (a < 0) return NULL;
    name = ts->aliases[a].target;
  }
  return NULL;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void ec_targets_known(const ec_target_set *ts, ec_buf *b) {
  int n = ts->n + ts->n_aliases;
  const char **names = ec_realloc_array(NULL, (size_t)(n ? n : 1), sizeof *names);
  if (!names) {
    b->oom = true;
    return;
  }
  for (int i = 0; i < ts->n; i++) names[i] = ts->items[i].name;
  for (int i = 0; i < ts->n_aliases; i++) names[ts->n + i] = ts->aliases[i].name;
  qsort(names, (size_t)n, sizeof *names, cmp_str);
  for (int i = 0; i < n; i++) ec_buf_printf(b, "%s%s", i ? ", " : "", names[i]);
  free(names);
}

static ec_status describe_json_error(const char *text, size_t len, const char *source, ec_diag *d) {
  const char *at = cJSON_GetErrorPtr();
  int line = 1, col = 1;
  if (at && at >= text && at <= text + len) {
    for (const char *p = text; p < at; p++) {
      if (*p == '\n') line++, col = 1;
      else col++;
    }
    ec_diag_set(d, source, "", "not valid JSON (line %d, column %d)", line, col);
  } else {
    ec_diag_set(d, source, "", "not valid JSON");
  }
  return EC_ERR_MODEL;
}

ec_status ec_targets_add_json(ec_target_set *ts, const char *text, size_t len, const char *source,
                              bool builtin, ec_diag *d) {
  vctx v = {source, d};
  const char *end = NULL;
  cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, false);
  if (!root) return describe_json_error(text, len, source, d);
  for (const char *p = end; p && p < text + len; p++) {
    if (!isspace((unsigned char)*p)) {
      cJSON_Delete(root);
      ec_diag_set(d, source, "", "text after the JSON object");
      return EC_ERR_MODEL;
    }
  }
  ec_status st = EC_OK;
  char name[EC_TARGET_NAME_MAX] = "";
  if (!cJSON_IsObject(root)) {
    ec_diag_set(d, source, "", "a target description must be a JSON object, got %s", json_type_name(root));
    st = EC_ERR_MODEL;
    goto done;
  }
  if ((st = get_string(&v, root, "name", true, name, sizeof name))) goto done;
  if (!ec_target_name_valid(name, false)) {
    st = field_error(&v, "name", "'%s' is not a valid target name (lower-case letters, digits, '-', '.', '_'; "
                                 "starts with a letter or digit; at most %d characters)",
                     name, EC_TARGET_NAME_MAX - 1);
    goto done;
  }
  if (strcmp(name, "host") == 0) {
    st = field_error(&v, "name", "'host' is reserved: it names %s, the generic description of the "
                                 "machine edgecc was built for", EC_HOST_TARGET);
    goto done;
  }
  int old = find_item(ts, name), old_alias = find_alias(ts, name);
  bool old_builtin = old >= 0 ? ts->items[old].builtin : old_alias >= 0 ? ts->aliases[old_alias].builtin : true;
  if ((old >= 0 || old_alias >= 0) && (builtin || !old_builtin)) {
    st = field_error(&v, "name", "target '%s' is already defined by %s", name,
                     old >= 0 ? ts->items[old].source : ts->aliases[old_alias].source);
    goto done;
  }

  const cJSON *alias = cJSON_GetObjectItemCaseSensitive(root, "alias");
  if (alias) {
    static const char *const akeys[] = {"name", "alias", "notes"};
    if ((st = check_keys(&v, root, "", akeys, 3))) goto done;
    ec_target_alias a;
    memset(&a, 0, sizeof a);
    strcpy(a.name, name);
    if ((st = get_string(&v, root, "alias", true, a.target, sizeof a.target))) goto done;
    if (!builtin && !ec_targets_find(ts, a.target)) {
      ec_buf known = {0};
      ec_targets_known(ts, &known);
      st = field_error(&v, "alias", "unknown target '%s' (known: %s)", a.target, known.data ? known.data : "");
      ec_buf_free(&known);
      goto done;
    }
    snprintf(a.source, sizeof a.source, "%s", source);
    a.builtin = builtin;
    if (old >= 0) memmove(&ts->items[old], &ts->items[old + 1], (size_t)(--ts->n - old) * sizeof *ts->items);
    if (old_alias >= 0) {
      ts->aliases[old_alias] = a;
    } else {
      if (ts->n_aliases == ts->cap_aliases) {
        int cap = ts->cap_aliases ? 2 * ts->cap_aliases : 8;
        ec_target_alias *p = ec_realloc_array(ts->aliases, (size_t)cap, sizeof *p);
        if (!p) { st = EC_ERR_INTERNAL; goto done; }
        ts->aliases = p;
        ts->cap_aliases = cap;
      }
      ts->aliases[ts->n_aliases++] = a;
    }
    goto done;
  }

  ec_target t;
  memset(&t, 0, sizeof t);
  strcpy(t.name, name);
  if ((st = parse_target(&v, root, &t))) goto done;
  snprintf(t.source, sizeof t.source, "%s", source);
  t.builtin = builtin;
  if (old_alias >= 0)
    memmove(&ts->aliases[old_alias], &ts->aliases[old_alias + 1],
            (size_t)(--ts->n_aliases - old_alias) * sizeof *ts->aliases);
  if (old >= 0) {
    ts->items[old] = t;
  } else {
    if (ts->n == ts->cap) {
      int cap = ts->cap ? 2 * ts->cap : 16;
      ec_target *p = ec_realloc_array(ts->items, (size_t)cap, sizeof *p);
      if (!p) { st = EC_ERR_INTERNAL; goto done; }
      ts->items = p;
      ts->cap = cap;
    }
    ts->items[ts->n++] = t;
  }
done:
  cJSON_Delete(root);
  return st;
}

ec_status ec_targets_add_file(ec_target_set *ts, const char *path, ec_diag *d) {
  ec_buf b = {0};
  int e = ec_read_small_file(path, 1u << 20, &b);
  ec_status st = EC_ERR_MODEL;
  if (e == ENOMEM)
    st = EC_ERR_INTERNAL;
  else if (e == EFBIG)
    ec_diag_set(d, path, "", "too large for a target description (1 MB or more)");
  else if (e == EIO)
    ec_diag_set(d, path, "", "cannot read the target description");
  else if (e)
    ec_diag_set(d, path, "", "cannot open the target description: %s", strerror(e));
  else
    st = ec_targets_add_json(ts, b.data, b.len, path, false, d);
  ec_buf_free(&b);
  return st;
}

ec_status ec_targets_init(ec_target_set *ts, ec_diag *d) {
  memset(ts, 0, sizeof *ts);
  for (int i = 0; i < ec_targets_embedded_count; i++) {
    const ec_embedded_file *e = &ec_targets_embedded[i];
    size_t n = strlen(e->path);
    if (strchr(e->path, '/') || n < 5 || strcmp(e->path + n - 5, ".json") != 0) continue;
    char src[512];
    snprintf(src, sizeof src, "built-in targets/%s", e->path);
    ec_status st = ec_targets_add_json(ts, e->data, e->len, src, true, d);
    if (st) {
      ec_targets_free(ts);
      return EC_ERR_INTERNAL;
    }
  }
  for (int i = 0; i < ts->n_aliases; i++) {
    if (!ec_targets_find(ts, ts->aliases[i].name)) {
      ec_diag_set(d, ts->aliases[i].source, "field 'alias'", "unknown target '%s'", ts->aliases[i].target);
      ec_targets_free(ts);
      return EC_ERR_INTERNAL;
    }
  }
  if (!ec_targets_find(ts, EC_HOST_TARGET)) {
    ec_diag_set(d, "built-in targets", "", "no description of '%s' for `host`", EC_HOST_TARGET);
    ec_targets_free(ts);
    return EC_ERR_INTERNAL;
  }
  ec_target_alias a;
  memset(&a, 0, sizeof a);
  strcpy(a.name, "host");
  strcpy(a.target, EC_HOST_TARGET);
  strcpy(a.source, "built-in (the machine edgecc was built for)");
  a.builtin = true;
  ec_target_alias *p = ec_realloc_array(ts->aliases, (size_t)ts->n_aliases + 1, sizeof *p);
  if (!p) {
    ec_targets_free(ts);
    return EC_ERR_INTERNAL;
  }
  ts->aliases = p;
  ts->cap_aliases = ts->n_aliases + 1;
  ts->aliases[ts->n_aliases++] = a;
  return EC_OK;
}

void ec_targets_free(ec_target_set *ts) {
  free(ts->items);
  free(ts->aliases);
  memset(ts, 0, sizeof *ts);
}

/* ---- --targets --------------------------------------------------------------------------------- */

ec_status ec_devices_parse(const ec_target_set *ts, const char *spec, ec_device_list *out, ec_diag *d) {
  memset(out, 0, sizeof *out);
  const char *src = "--targets";
  if (!spec || !*spec) {
    ec_diag_set(d, src, "", "no devices given (for example --targets host, or --targets pi5,orin)");
    return EC_ERR_USAGE;
  }
  const char *p = spec;
  for (;;) {
    const char *comma = strchr(p, ',');
    size_t len = comma ? (size_t)(comma - p) : strlen(p);
    char entry[2 * EC_TARGET_NAME_MAX + 2];
    if (len == 0) {
      ec_diag_set(d, src, "", "empty entry in '%s'", spec);
      return EC_ERR_USAGE;
    }
    if (len >= sizeof entry) {
      ec_diag_set(d, src, "", "entry '%.*s' is too long", (int)len, p);
      return EC_ERR_USAGE;
    }
    memcpy(entry, p, len);
    entry[len] = 0;
    char *eq = strchr(entry, '=');
    const char *dev = entry, *tgt = entry;
    if (eq) {
      *eq = 0;
      tgt = eq + 1;
      if (!ec_target_name_valid(dev, true) || strcmp(dev, ".") == 0) {
        ec_diag_set(d, src, "", "'%s' is not a valid device name (letters, digits, '-', '.', '_'; "
                                "starts with a letter, digit or '_'; at most %d characters)",
                    dev, EC_TARGET_NAME_MAX - 1);
        return EC_ERR_USAGE;
      }
    }
    const ec_target *t = ec_targets_find(ts, tgt);
    if (!t) {
      ec_buf known = {0};
      ec_targets_known(ts, &known);
      ec_diag_set(d, src, "", "unknown target '%s' (known: %s; add one with --target-file FILE)", tgt,
                  known.data ? known.data : "");
      ec_buf_free(&known);
      return EC_ERR_USAGE;
    }
    for (int i = 0; i < out->n; i++) {
      if (strcmp(out->items[i].name, dev) == 0) {
        if (eq)
          ec_diag_set(d, src, "", "device name '%s' is used twice", dev);
        else
          ec_diag_set(d, src, "", "device '%s' is listed twice; to use several boards of one type, "
                                  "name each device: --targets a=%s,b=%s", dev, tgt, tgt);
        return EC_ERR_USAGE;
      }
    }
    if (out->n >= EC_MAX_DEVICES) {
      ec_diag_set(d, src, "", "more than %d devices", EC_MAX_DEVICES);
      return EC_ERR_USAGE;
    }
    ec_device *dv = &out->items[out->n++];
    snprintf(dv->name, sizeof dv->name, "%.63s", dev);
    snprintf(dv->target_name, sizeof dv->target_name, "%.63s", tgt);
    dv->target = t;
    if (!comma) break;
    p = comma + 1;
  }
  return EC_OK;
}
