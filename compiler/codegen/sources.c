/* sources.c — which of the runtime and kernel sources edgecc carries a device folder needs:
 * the files defining the eck_/ecrt_ functions the generated code calls, transitively, and the
 * headers they include. Found by scanning the embedded sources, so adding a kernel file needs
 * no list to be kept in step. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen.h"
#include "lower.h"

static bool ident_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static bool has_prefix(const char *s, size_t n) {
  return (n > 4 && strncmp(s, "eck_", 4) == 0) || (n > 5 && strncmp(s, "ecrt_", 5) == 0);
}

static bool is_c_file(const char *path) {
  size_t n = strlen(path);
  return n > 2 && strcmp(path + n - 2, ".c") == 0;
}

static const char *base_name(const char *path) {
  const char *s = strrchr(path, '/');
  return s ? s + 1 : path;
}

/* Skips spaces, newlines and comments. */
static const char *skip_space(const char *p, const char *end) {
  while (p < end) {
    if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
      p++;
    } else if (p + 1 < end && p[0] == '/' && p[1] == '*') {
      const char *q = p + 2;
      while (q + 1 < end && !(q[0] == '*' && q[1] == '/')) q++;
      p = q + 2 < end ? q + 2 : end;
    } else if (p + 1 < end && p[0] == '/' && p[1] == '/') {
      while (p < end && *p != '\n') p++;
    } else {
      break;
    }
  }
  return p;
}

/* True when the file defines `sym` at file scope (a function body or an initialised object);
 * *at gets the position of the definition. Definitions start at column 0 and are not static. */
static bool defines(const ec_embedded_file *f, const char *sym, const char **at) {
  const char *s = (const char *)f->data, *end = s + f->len;
  size_t n = strlen(sym);
  for (const char *line = s; line < end;) {
    const char *eol = memchr(line, '\n', (size_t)(end - line));
    if (!eol) eol = end;
    if (ident_char(*line) && strncmp(line, "static", 6) != 0 && strncmp(line, "typedef", 7) != 0 &&
        strncmp(line, "extern", 6) != 0) {
      for (const char *p = line; p + n <= eol; p++) {
        if (strncmp(p, sym, n) != 0 || (p > line && ident_char(p[-1])) || ident_char(p[n])) continue;
        const char *q = skip_space(p + n, end);
        if (q < end && *q == '(') {
          int depth = 0;
          for (; q < end; q++) {
            if (*q == '(') depth++;
            if (*q == ')' && --depth == 0) break;
          }
          q = skip_space(q + 1, end);
          if (q < end && *q == '{') {
            *at = p;
            return true;
          }
        } else if (q < end && (*q == '[' || *q == '=')) {
          *at = p;
          return true;
        }
        break;
      }
    }
    line = eol + 1;
  }
  return false;
}

/* Adds every eck_/ecrt_ identifier of text to syms (NUL-separated, no duplicates). */
static void collect_syms(const char *text, size_t len, ec_buf *syms) {
  for (size_t i = 0; i < len;) {
    if (ident_char(text[i]) && (i == 0 || !ident_char(text[i - 1]))) {
      size_t j = i;
      while (j < len && ident_char(text[j])) j++;
      if (has_prefix(text + i, j - i)) {
        bool dup = false;
        for (size_t k = 0; k < syms->len && !dup; k += strlen(syms->data + k) + 1)
          if (strlen(syms->data + k) == j - i && strncmp(syms->data + k, text + i, j - i) == 0) dup = true;
        if (!dup) {
          ec_buf_append(syms, text + i, j - i);
          ec_buf_append(syms, "", 1);
        }
      }
      i = j;
    } else {
      i++;
    }
  }
}

/* `#include "x.h"` lines of text: marks the embedded headers of that name as needed. */
static void collect_includes(const char *text, size_t len, bool *need) {
  for (const char *p = text, *end = text + len; p < end;) {
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    if (!eol) eol = end;
    const char *q = p;
    while (q < eol && (*q == ' ' || *q == '\t')) q++;
    if (q < eol && *q == '#') {
      q++;
      while (q < eol && (*q == ' ' || *q == '\t')) q++;
      if ((size_t)(eol - q) > 9 && strncmp(q, "include", 7) == 0) {
        const char *a = memchr(q, '"', (size_t)(eol - q));
        const char *b = a ? memchr(a + 1, '"', (size_t)(eol - a - 1)) : NULL;
        /* "kernels/xnnpack/eck_xnn.h" names the embedded header by its file name too. */
        for (const char *s = a ? a + 1 : NULL; s && s < b; s++)
          if (*s == '/') a = s;
        if (a && b)
          for (int i = 0; i < ec_embedded_count; i++) {
            const char *bn = base_name(ec_embedded_files[i].path);
            if (strlen(bn) == (size_t)(b - a - 1) && strncmp(bn, a + 1, (size_t)(b - a - 1)) == 0)
              need[i] = true;
          }
      }
    }
    p = eol + 1;
  }
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

ec_status ec_sources_needed(const char *const *texts, int n_texts, const char *prefix,
                            ec_fileset *fs, ec_buf *srcs, ec_diag *d) {
  bool *need = ec_alloc(sizeof(bool) * (size_t)(ec_embedded_count + 1));
  bool *scanned = ec_alloc(sizeof(bool) * (size_t)(ec_embedded_count + 1));
  ec_buf syms = {0};
  ec_status st = EC_OK;
  if (!need || !scanned) {
    st = EC_ERR_INTERNAL;
    goto done;
  }
  for (int i = 0; i < n_texts; i++) {
    collect_syms(texts[i], strlen(texts[i]), &syms);
    collect_includes(texts[i], strlen(texts[i]), need);
  }
  /* Fixed point: resolve every symbol to its defining file; scan newly needed files. */
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t k = 0; k < syms.len; k += strlen(syms.data + k) + 1) {
      const char *sym = syms.data + k, *at;
      for (int i = 0; i < ec_embedded_count; i++)
        if (!need[i] && is_c_file(ec_embedded_files[i].path) &&
            defines(&ec_embedded_files[i], sym, &at)) {
          need[i] = true;
          changed = true;
        }
    }
    for (int i = 0; i < ec_embedded_count; i++)
      if (need[i] && !scanned[i]) {
        scanned[i] = true;
        changed = true;
        /* Headers declare every kernel of a family: only what .c files call counts. */
        if (is_c_file(ec_embedded_files[i].path))
          collect_syms((const char *)ec_embedded_files[i].data, ec_embedded_files[i].len, &syms);
        collect_includes((const char *)ec_embedded_files[i].data, ec_embedded_files[i].len, need);
      }
    if (syms.oom) {
      st = EC_ERR_INTERNAL;
      goto done;
    }
  }
  const char **cs = ec_alloc(sizeof(char *) * (size_t)(ec_embedded_count + 1));
  int nc = 0;
  if (!cs) {
    st = EC_ERR_INTERNAL;
    goto done;
  }
  for (int i = 0; i < ec_embedded_count && !st; i++) {
    if (!need[i]) continue;
    ec_buf path = {0};
    ec_buf_printf(&path, "%s%s", prefix, ec_embedded_files[i].path);
    if (path.oom) st = EC_ERR_INTERNAL;
    if (!st) st = ec_fileset_add(fs, path.data, ec_embedded_files[i].data, ec_embedded_files[i].len);
    ec_buf_free(&path);
    if (is_c_file(ec_embedded_files[i].path)) cs[nc++] = ec_embedded_files[i].path;
  }
  qsort(cs, (size_t)nc, sizeof *cs, cmp_str);
  for (int i = 0; i < nc; i++) ec_buf_append(srcs, cs[i], strlen(cs[i]) + 1);
  free(cs);
  if (st && !d->msg[0]) ec_diag_set(d, "", "", "out of memory");
done:
  free(need);
  free(scanned);
  ec_buf_free(&syms);
  return st;
}

/* Libraries a kernel source needs at link time, declared in the file itself by a line
 * `edgecc-link: LIB...` (kernels/xnnpack: XNNPACK pthreadpool; kernels/blas: openblas). */
void ec_sources_link_libs(const char *srcs, size_t len, ec_buf *libs) {
  for (size_t k = 0; k < len; k += strlen(srcs + k) + 1)
    for (int i = 0; i < ec_embedded_count; i++) {
      const ec_embedded_file *f = &ec_embedded_files[i];
      if (strcmp(f->path, srcs + k) != 0) continue;
      const char *t = (const char *)f->data, *end = t + f->len;
      const char *m = NULL;
      for (const char *p = t; p + 13 < end && !m; p++)
        if (memcmp(p, "edgecc-link:", 12) == 0) m = p + 12;
      if (!m) continue;
      while (m < end && *m != '\n' && *m != '*') {
        while (m < end && *m == ' ') m++;
        const char *w = m;
        while (m < end && ident_char(*m)) m++;
        if (m == w) break;
        bool dup = false;
        for (size_t j = 0; j < libs->len && !dup; j += strlen(libs->data + j) + 1)
          dup = strlen(libs->data + j) == (size_t)(m - w) && strncmp(libs->data + j, w, (size_t)(m - w)) == 0;
        if (!dup) {
          ec_buf_append(libs, w, (size_t)(m - w));
          ec_buf_append(libs, "", 1);
        }
      }
    }
}
