/* fileset.c — the files of one edgecc run, held in memory, and writing them into the output
 * folder: refuse a non-empty folder edgecc did not write, replace only what the manifest lists. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codegen.h"

ec_status ec_fileset_add(ec_fileset *fs, const char *path, const void *data, size_t len) {
  unsigned char *copy = ec_alloc(len + 1);
  char *p = ec_strdup(path);
  if (!copy || !p) {
    free(copy);
    free(p);
    return EC_ERR_INTERNAL;
  }
  if (len) memcpy(copy, data, len);
  for (int i = 0; i < fs->n; i++)
    if (strcmp(fs->files[i].path, path) == 0) {
      free(fs->files[i].data);
      free(p);
      fs->files[i].data = copy;
      fs->files[i].len = len;
      return EC_OK;
    }
  if (fs->n == fs->cap) {
    int cap = fs->cap ? fs->cap * 2 : 32;
    ec_file *f = ec_realloc_array(fs->files, (size_t)cap, sizeof *f);
    if (!f) {
      free(copy);
      free(p);
      return EC_ERR_INTERNAL;
    }
    fs->files = f;
    fs->cap = cap;
  }
  fs->files[fs->n].path = p;
  fs->files[fs->n].data = copy;
  fs->files[fs->n++].len = len;
  return EC_OK;
}

ec_status ec_fileset_add_buf(ec_fileset *fs, const char *path, ec_buf *b) {
  ec_status st = b->oom ? EC_ERR_INTERNAL : ec_fileset_add(fs, path, b->data ? b->data : "", b->len);
  ec_buf_free(b);
  return st;
}

const ec_file *ec_fileset_find(const ec_fileset *fs, const char *path) {
  for (int i = 0; i < fs->n; i++)
    if (strcmp(fs->files[i].path, path) == 0) return &fs->files[i];
  return NULL;
}

static int cmp_file(const void *a, const void *b) {
  return strcmp(((const ec_file *)a)->path, ((const ec_file *)b)->path);
}

void ec_fileset_sort(ec_fileset *fs) {
  if (fs->n) qsort(fs->files, (size_t)fs->n, sizeof(ec_file), cmp_file);
}

void ec_fileset_free(ec_fileset *fs) {
  for (int i = 0; i < fs->n; i++) {
    free(fs->files[i].path);
    free(fs->files[i].data);
  }
  free(fs->files);
  memset(fs, 0, sizeof *fs);
}

/* A manifest entry must stay inside the output folder. */
static bool safe_rel(const char *p) {
  if (!p[0] || p[0] == '/') return false;
  for (const char *s = p; *s;) {
    const char *e = strchr(s, '/');
    size_t n = e ? (size_t)(e - s) : strlen(s);
    if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.')) return false;
    s += n + (e ? 1 : 0);
  }
  return true;
}

/* The whole file, NUL-terminated; NULL if it cannot be read. */
static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  ec_buf b = {0};
  char chunk[4096];
  for (size_t n; (n = fread(chunk, 1, sizeof chunk, f)) > 0;) ec_buf_append(&b, chunk, n);
  ec_buf_append(&b, "", 1);
  fclose(f);
  if (b.oom) {
    ec_buf_free(&b);
    return NULL;
  }
  *len = b.len - 1;
  return b.data;
}

static ec_status mkdirs(const char *path, ec_diag *d) {
  char buf[4096];
  if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
    ec_diag_set(d, path, "", "path too long");
    return EC_ERR_MODEL;
  }
  for (char *p = buf + 1;; p++) {
    if (*p == '/' || !*p) {
      char c = *p;
      *p = 0;
      if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
        ec_diag_set(d, buf, "", "cannot create the folder: %s", strerror(errno));
        return EC_ERR_MODEL;
      }
      *p = c;
      if (!c) break;
    }
  }
  return EC_OK;
}

ec_status ec_output_write(const char *out_dir, const ec_fileset *fs, bool force, ec_diag *d) {
  char path[4096];
  struct stat sb;
  char *old = NULL;
  size_t old_len = 0;
  ec_status st = EC_OK;
  if (stat(out_dir, &sb) == 0) {
    if (!S_ISDIR(sb.st_mode)) {
      ec_diag_set(d, out_dir, "", "the output path exists and is not a folder");
      return EC_ERR_MODEL;
    }
    DIR *dir = opendir(out_dir);
    bool empty = true;
    if (!dir) {
      ec_diag_set(d, out_dir, "", "cannot read the output folder: %s", strerror(errno));
      return EC_ERR_MODEL;
    }
    for (struct dirent *e; (e = readdir(dir));)
      if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) empty = false;
    closedir(dir);
    if (!empty) {
      snprintf(path, sizeof path, "%s/%s", out_dir, EC_MANIFEST);
      if (!(old = slurp(path, &old_len))) {
        ec_diag_set(d, out_dir, "",
                    "the output folder is not empty and was not written by edgecc (no %s); "
                    "choose a new or empty folder",
                    EC_MANIFEST);
        return EC_ERR_MODEL;
      }
      if (!force) {
        free(old);
        ec_diag_set(d, out_dir, "",
                    "the output folder holds an earlier edgecc output; pass --force to replace "
                    "the files its %s lists",
                    EC_MANIFEST);
        return EC_ERR_MODEL;
      }
    }
  } else if ((st = mkdirs(out_dir, d))) {
    return st;
  }
  /* The old manifest's entries, NUL-terminated in place. */
  char **listed = NULL;
  int n_listed = 0;
  if (old) {
    listed = ec_alloc(sizeof(char *) * (old_len + 1));
    if (!listed) {
      free(old);
      return EC_ERR_INTERNAL;
    }
    for (char *line = old; *line;) {
      char *nl = strchr(line, '\n');
      if (nl) *nl = 0;
      if (line[0] && line[0] != '#') {
        if (!safe_rel(line)) {
          ec_diag_set(d, out_dir, "", "%s lists '%s', which is outside the folder; refusing to touch it",
                      EC_MANIFEST, line);
          st = EC_ERR_MODEL;
          goto done;
        }
        listed[n_listed++] = line;
      }
      if (!nl) break;
      line = nl + 1;
    }
    /* Nothing is removed until every new file is known not to clobber a file of the user's. */
    for (int i = 0; i < fs->n; i++) {
      bool mine = false;
      for (int k = 0; k < n_listed && !mine; k++) mine = strcmp(listed[k], fs->files[i].path) == 0;
      snprintf(path, sizeof path, "%s/%s", out_dir, fs->files[i].path);
      if (!mine && lstat(path, &sb) == 0) {
        ec_diag_set(d, path, "", "exists and is not listed in %s; edgecc will not overwrite it",
                    EC_MANIFEST);
        st = EC_ERR_MODEL;
        goto done;
      }
    }
    for (int k = 0; k < n_listed; k++) {
      snprintf(path, sizeof path, "%s/%s", out_dir, listed[k]);
      if (unlink(path) != 0 && errno != ENOENT) {
        ec_diag_set(d, path, "", "cannot remove: %s", strerror(errno));
        st = EC_ERR_MODEL;
        goto done;
      }
    }
  }
  ec_buf manifest = {0};
  ec_buf_printf(&manifest, "# edgecc manifest: the files edgecc wrote here; `--force` replaces exactly these.\n");
  for (int i = 0; i < fs->n && !st; i++) {
    const ec_file *f = &fs->files[i];
    if (snprintf(path, sizeof path, "%s/%s", out_dir, f->path) >= (int)sizeof path) {
      ec_diag_set(d, out_dir, "", "path too long");
      st = EC_ERR_MODEL;
      break;
    }
    char *slash = strrchr(path, '/');
    *slash = 0;
    st = mkdirs(path, d);
    *slash = '/';
    if (st) break;
    FILE *out = fopen(path, "wb");
    if (!out || (f->len && fwrite(f->data, 1, f->len, out) != f->len) || fclose(out) != 0) {
      ec_diag_set(d, path, "", "cannot write: %s", strerror(errno));
      st = EC_ERR_MODEL;
      break;
    }
    ec_buf_printf(&manifest, "%s\n", f->path);
  }
  if (!st) {
    snprintf(path, sizeof path, "%s/%s", out_dir, EC_MANIFEST);
    FILE *out = fopen(path, "wb");
    if (manifest.oom || !out || fwrite(manifest.data, 1, manifest.len, out) != manifest.len ||
        fclose(out) != 0) {
      ec_diag_set(d, path, "", "cannot write the manifest");
      st = EC_ERR_MODEL;
    }
  }
  ec_buf_free(&manifest);
done:
  free(listed);
  free(old);
  return st;
}
