/* names.c — C identifiers from ONNX names: sanitised, shortened, never a keyword or a name the
 * generated code uses itself, and made unique by a numeric suffix in order of appearance. */
#include <ctype.h>
#include <stdio.h>
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

static bool is_reserved(const char *s) {
  for (int i = 0; reserved[i]; i++)
    if (strcmp(reserved[i], s) == 0) return true;
  size_t n = strlen(s);
  /* Prefixes of the runtime and kernels, POSIX's _t types, and C's reserved _X / __ names. */
  if (strncmp(s, "ec", 2) == 0 || strncmp(s, "ECK_", 4) == 0 || strncmp(s, "ECRT_", 5) == 0)
    return true;
  if (n >= 2 && strcmp(s + n - 2, "_t") == 0) return true;
  if (s[0] == '_' && (s[1] == '_' || isupper((unsigned char)s[1]))) return true;
  return false;
}

static bool taken_by(const char *s, char *const *taken, int n) {
  for (int i = 0; i < n; i++)
    if (taken[i] && strcmp(taken[i], s) == 0) return true;
  return false;
}

char *ec_cname(const char *raw, char *const *taken, int n_taken) {
  char base[EC_CNAME_MAX + 1];
  size_t n = 0;
  bool underscore = false;
  for (const char *p = raw ? raw : ""; *p && n < EC_CNAME_MAX; p++) {
    unsigned char ch = (unsigned char)*p;
    if (isalnum(ch) && ch < 128) {
      base[n++] = (char)ch;
      underscore = false;
    } else if (!underscore && n > 0) {
      base[n++] = '_';
      underscore = true;
    }
  }
  while (n > 0 && base[n - 1] == '_') n--;
  base[n] = 0;
  char buf[128];
  if (n == 0)
    snprintf(buf, sizeof buf, "t");
  else if (isdigit((unsigned char)base[0]))
    snprintf(buf, sizeof buf, "t%s", base);
  else
    snprintf(buf, sizeof buf, "%s", base);
  if (is_reserved(buf)) {
    char tmp[sizeof buf];
    snprintf(tmp, sizeof tmp, "%s", buf);
    snprintf(buf, sizeof buf, "%.60s_", tmp);
    if (is_reserved(buf)) snprintf(buf, sizeof buf, "x_%.60s", tmp);
  }
  if (!taken_by(buf, taken, n_taken)) return ec_strdup(buf);
  char stem[sizeof buf];
  snprintf(stem, sizeof stem, "%s", buf);
  for (long k = 2;; k++) {
    snprintf(buf, sizeof buf, "%.60s_%ld", stem, k);
    if (!taken_by(buf, taken, n_taken)) return ec_strdup(buf);
  }
}
