/* names.c — C identifiers from ONNX names: sanitised, shortened, never a keyword or a name the
 * generated code uses itself. ec_cnames names a whole set at once and settles collisions from
 * the names alone (a hash of the colliding name), so inserting a node renames nothing else. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen.h"

/* C99 keywords, names the generated code and its headers declare, and common macros. */
static const char *const reserved[] = {
    "auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else",
    "enum", "extern", "float", "for", "goto", "if", "inline", "int", "long", "register",
    "restrict", "return", "short", "signed", "sizeof", "static", "struct", "switch", "typedef",
    "union", "unsigned", "void", "volatile", "while", "_Bool", "_Complex", "_Imaginary", "bool",
    "true", "false", "NULL", "EOF", "errno", "stdin", "stdout", "stderr", "main", "ctx", "c",
    "in", "out", "st", "values", "steps", "model_sha256", "assert", "offsetof", "abs", "exp",
    "log", "sqrt", "memcpy", "memset", "memmove", "printf", "malloc", "free", "asm", "fortran",
    "unix", "linux", "i386", "x86_64", "aarch64", "arm", NULL};

/* Names a step function may not take besides those: it stands at file scope next to the
 * program's own statics and what <math.h>, <string.h>, <stdint.h> and <stddef.h> declare. */
static const char *const reserved_bare[] = {
    "init_failed", "init", "init_partition", "init_release", "run", "release", "inputs", "outputs",
    "program", "payload", "err", "out_dims",
    "acos", "acosf", "acosh", "asin", "asinh", "atan", "atan2", "atanh", "cbrt", "ceil", "ceilf",
    "copysign", "cos", "cosf", "cosh", "erf", "erfc", "erff", "exp2", "expf", "expm1", "fabs",
    "fabsf", "fdim", "floor", "floorf", "fma", "fmax", "fmaxf", "fmin", "fminf", "fmod", "frexp",
    "hypot", "ilogb", "isinf", "isnan", "isfinite", "ldexp", "lgamma", "llrint", "llround",
    "log10", "log1p", "log2", "logb", "logf", "lrint", "lround", "modf", "nan", "nearbyint",
    "nextafter", "pow", "powf", "remainder", "remquo", "rint", "round", "roundf", "scalbn", "sin",
    "sinf", "sinh", "sqrtf", "tan", "tanf", "tanh", "tanhf", "tgamma", "trunc", "truncf",
    "signbit", "fpclassify", "isnormal", "INFINITY", "NAN", "HUGE_VAL", "memcmp", "memchr",
    "strcpy", "strncpy", "strcat", "strncat", "strcmp", "strncmp", "strlen", "strchr", "strrchr",
    "strstr", "strtok", "strerror", "strspn", "strcspn", "strpbrk", "strcoll", "strxfrm", "size_t",
    "ptrdiff_t", "wchar_t", NULL};

static bool in_list(const char *const *list, const char *s) {
  for (int i = 0; list[i]; i++)
    if (strcmp(list[i], s) == 0) return true;
  return false;
}

static bool ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), k = strlen(suffix);
  return n >= k && strcmp(s + n - k, suffix) == 0;
}

static bool is_reserved(const char *s) {
  if (in_list(reserved, s)) return true;
  /* Prefixes of the runtime and kernels, POSIX's _t types, and C's reserved _X / __ names. */
  if (strncmp(s, "ec", 2) == 0 || strncmp(s, "ECK_", 4) == 0 || strncmp(s, "ECRT_", 5) == 0)
    return true;
  if (ends_with(s, "_t")) return true;
  if (s[0] == '_' && (s[1] == '_' || isupper((unsigned char)s[1]))) return true;
  /* The prefixes of the generated enums: V_ tensors, S_ steps, X_ XNNPACK operators, D_ oneDNN
   * primitives. */
  if ((s[0] == 'V' || s[0] == 'S' || s[0] == 'X' || s[0] == 'D') && s[1] == '_') return true;
  return false;
}

/* A bare name (a step function, a run argument) must not be a name derived from a step
 * (_params, _xp, _dp) or one of the program's own globals (prog, prog_run, PROG_N_STEPS...). */
static bool is_reserved_bare(const char *s, const char *prog) {
  if (in_list(reserved_bare, s)) return true;
  if (ends_with(s, "_params") || ends_with(s, "_xp") || ends_with(s, "_dp")) return true;
  size_t n = prog ? strlen(prog) : 0;
  if (n && strncmp(s, prog, n) == 0 && (s[n] == 0 || s[n] == '_')) return true;
  /* Upper-case program macros (DIGITS_P0_ARENA_BYTES) and the weights macros. */
  if (strncmp(s, "WEIGHTS_", 8) == 0) return true;
  size_t i = 0;
  while (i < n && s[i] == toupper((unsigned char)prog[i])) i++;
  return n && i == n && (s[n] == 0 || s[n] == '_');
}

/* raw's letters and digits, other runs as one '_', at most `max` characters: a longer name
 * keeps its start and its end (the end of an exported name tells nodes apart). */
static void sanitise(const char *raw, char *out, size_t max) {
  char full[1024];
  size_t n = 0;
  bool underscore = false;
  for (const char *p = raw ? raw : ""; *p && n + 1 < sizeof full; p++) {
    unsigned char ch = (unsigned char)*p;
    if (isalnum(ch) && ch < 128) {
      full[n++] = (char)ch;
      underscore = false;
    } else if (!underscore && n > 0) {
      full[n++] = '_';
      underscore = true;
    }
  }
  while (n > 0 && full[n - 1] == '_') n--;
  full[n] = 0;
  const char *lead = n && isdigit((unsigned char)full[0]) ? "t" : n ? "" : "t";
  if (n + strlen(lead) <= max) {
    snprintf(out, max + 1, "%s%.*s", lead, (int)n, full);
    return;
  }
  size_t head = max / 3, tail = max - head - 1 - strlen(lead);
  const char *t = full + n - tail;
  while (*t == '_') t++;
  snprintf(out, max + 1, "%s%.*s_%.*s", lead, (int)head, full, (int)tail, t);
}

/* `name` unless reserved: then `name_`, or `x_name` when that is reserved too. */
static void unreserve(char *buf, size_t size, const char *prog, bool bare) {
  char tmp[128];
  snprintf(tmp, sizeof tmp, "%s", buf);
  if (!is_reserved(buf) && !(bare && is_reserved_bare(buf, prog))) return;
  snprintf(buf, size, "%.100s_", tmp);
  if (!is_reserved(buf) && !(bare && is_reserved_bare(buf, prog))) return;
  snprintf(buf, size, "x_%.100s", tmp);
}

char *ec_cname(const char *raw, char *const *taken, int n_taken) {
  char buf[128];
  sanitise(raw, buf, EC_CNAME_MAX);
  unreserve(buf, sizeof buf, NULL, false);
  bool clash = false;
  for (int i = 0; i < n_taken && !clash; i++) clash = taken[i] && strcmp(taken[i], buf) == 0;
  if (!clash) return ec_strdup(buf);
  char stem[sizeof buf];
  snprintf(stem, sizeof stem, "%s", buf);
  for (long k = 2;; k++) {
    snprintf(buf, sizeof buf, "%.60s_%ld", stem, k);
    clash = false;
    for (int i = 0; i < n_taken && !clash; i++) clash = taken[i] && strcmp(taken[i], buf) == 0;
    if (!clash) return ec_strdup(buf);
  }
}

/* ---- a set of names ---------------------------------------------------------------------------- */

static uint32_t fnv1a(const char *s) {
  uint32_t h = 2166136261u;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
  return h;
}

typedef struct {
  char **name;
  const char *const *key;
} sort_ctx;
static sort_ctx g_sort; /* qsort has no context argument in C11 */

static int cmp_index(const void *a, const void *b) {
  int i = *(const int *)a, j = *(const int *)b;
  int c = strcmp(g_sort.name[i], g_sort.name[j]);
  if (c) return c;
  c = strcmp(g_sort.key[i], g_sort.key[j]);
  return c ? c : (i > j) - (i < j);
}

/* Sorts idx by (name, key); returns whether two neighbours share a name. */
static bool sort_names(int *idx, int n, char **name, const char *const *key) {
  for (int i = 0; i < n; i++) idx[i] = i;
  g_sort.name = name;
  g_sort.key = key;
  qsort(idx, (size_t)n, sizeof *idx, cmp_index);
  for (int i = 1; i < n; i++)
    if (strcmp(name[idx[i - 1]], name[idx[i]]) == 0) return true;
  return false;
}

ec_status ec_cnames(const char *const *raw, const char *const *key, int n, const char *prog,
                    bool bare, char **out) {
  int *idx = ec_alloc(sizeof(int) * (size_t)(n + 1));
  if (!idx) return EC_ERR_INTERNAL;
  const char *const *keys = key ? key : raw;
  ec_status st = EC_OK;
  for (int i = 0; i < n; i++) out[i] = NULL;
  for (int i = 0; i < n && !st; i++) {
    char buf[128];
    sanitise(raw[i], buf, EC_CNAME_SET_MAX);
    unreserve(buf, sizeof buf, prog, bare);
    if (!(out[i] = ec_strdup(buf))) st = EC_ERR_INTERNAL;
  }
  /* Names that clash get a hash of their key, except one whose raw name is its C name
   * already (it has nothing to tell it apart by); the rare clash left gets _2, _3... in
   * the order of the keys. Positions never count, so a new name renames no other. */
  if (!st && sort_names(idx, n, out, keys)) {
    for (int a = 0; !st && a < n;) {
      int b = a + 1;
      while (b < n && strcmp(out[idx[a]], out[idx[b]]) == 0) b++;
      int plain = 0;
      for (int k = a; k < b; k++) plain += strcmp(raw[idx[k]], out[idx[k]]) == 0;
      for (int k = a; b - a > 1 && k < b; k++) {
        int i = idx[k];
        if (plain == 1 && strcmp(raw[i], out[i]) == 0) continue;
        char buf[160];
        snprintf(buf, sizeof buf, "%s_%08x", out[i], (unsigned)fnv1a(keys[i]));
        free(out[i]);
        if (!(out[i] = ec_strdup(buf))) st = EC_ERR_INTERNAL;
      }
      a = b;
    }
    while (!st && sort_names(idx, n, out, keys)) {
      for (int a = 0; !st && a < n;) {
        int b = a + 1;
        while (b < n && strcmp(out[idx[a]], out[idx[b]]) == 0) b++;
        for (int k = a + 1; k < b; k++) {
          char buf[176];
          snprintf(buf, sizeof buf, "%s_%d", out[idx[k]], k - a + 1);
          free(out[idx[k]]);
          if (!(out[idx[k]] = ec_strdup(buf))) st = EC_ERR_INTERNAL;
        }
        a = b;
      }
    }
  }
  free(idx);
  if (st)
    for (int i = 0; i < n; i++) {
      free(out[i]);
      out[i] = NULL;
    }
  return st;
}
