/* profile.c — reads `--profile DEVICE=FILE` (a program's --profile-json output) and matches its
 * steps with the graph's nodes by name, so the planner can use measured times. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "profile.h"

static char *dup_str(const char *s) {
  size_t n = strlen(s) + 1;
  char *r = malloc(n);
  if (r) memcpy(r, s, n);
  return r;
}

static void profile_free(ec_profile *p) {
  for (int i = 0; p->steps && i < p->n_steps; i++) free(p->steps[i].node), free(p->steps[i].op);
  free(p->steps);
  free(p->path);
  free(p->program);
  memset(p, 0, sizeof *p);
}

void ec_profiles_free(ec_profile_set *ps) {
  for (int i = 0; i < ps->n; i++) profile_free(&ps->items[i]);
  ps->n = 0;
}

const ec_profile *ec_profile_find(const ec_profile_set *ps, const char *device) {
  for (int i = 0; ps && i < ps->n; i++)
    if (strcmp(ps->items[i].device, device) == 0) return &ps->items[i];
  return NULL;
}

static ec_status bad(ec_diag *d, const char *path, const char *what) {
  ec_diag_set(d, path, "", "not a profile written by a program's --profile-json: %s", what);
  return EC_ERR_USAGE;
}

static bool whole(const cJSON *j, double lo, double hi) {
  return cJSON_IsNumber(j) && j->valuedouble >= lo && j->valuedouble <= hi &&
         j->valuedouble == floor(j->valuedouble);
}

static ec_status parse(ec_profile *p, const char *text, size_t len, ec_diag *d) {
  const char *path = p->path;
  cJSON *root = cJSON_ParseWithLength(text, len);
  if (!root) return bad(d, path, "not valid JSON");
  ec_status st = EC_ERR_USAGE;
  const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(root, "format");
  const cJSON *ver = cJSON_GetObjectItemCaseSensitive(root, "format_version");
  const cJSON *prog = cJSON_GetObjectItemCaseSensitive(root, "program");
  const cJSON *thr = cJSON_GetObjectItemCaseSensitive(root, "threads");
  const cJSON *runs = cJSON_GetObjectItemCaseSensitive(root, "runs");
  const cJSON *steps = cJSON_GetObjectItemCaseSensitive(root, "steps");
  if (!cJSON_IsObject(root) || !cJSON_IsString(fmt) || strcmp(fmt->valuestring, "edgecc-profile") != 0) {
    bad(d, path, "\"format\" must be \"edgecc-profile\"");
  } else if (!whole(ver, 1, 1)) {
    bad(d, path, "\"format_version\" must be 1");
  } else if (!cJSON_IsString(prog) || !whole(thr, 0, 1024) || !whole(runs, 1, 1e9)) {
    bad(d, path, "\"program\" (a string), \"threads\" (0 to 1024) and \"runs\" (1 or more) are needed");
  } else if (!cJSON_IsArray(steps)) {
    bad(d, path, "\"steps\" must be an array");
  } else {
    int n = cJSON_GetArraySize(steps);
    p->program = dup_str(prog->valuestring);
    const cJSON *kl = cJSON_GetObjectItemCaseSensitive(root, "kernels");
    if (cJSON_IsString(kl)) snprintf(p->kernels, sizeof p->kernels, "%s", kl->valuestring);
    p->threads = (int)thr->valuedouble;
    p->runs = (int)runs->valuedouble;
    p->steps = calloc((size_t)n + 1, sizeof *p->steps);
    if (!p->program || !p->steps) {
      st = EC_ERR_INTERNAL;
      ec_diag_set(d, path, "", "out of memory reading the profile");
      goto done;
    }
    const cJSON *s;
    int i = 0;
    cJSON_ArrayForEach(s, steps) {
      const cJSON *node = cJSON_GetObjectItemCaseSensitive(s, "node");
      const cJSON *op = cJSON_GetObjectItemCaseSensitive(s, "op");
      const cJSON *ms = cJSON_GetObjectItemCaseSensitive(s, "median_ms");
      if (!cJSON_IsString(node) || !cJSON_IsString(op) || !cJSON_IsNumber(ms) || !isfinite(ms->valuedouble) ||
          ms->valuedouble < 0) {
        char what[96];
        snprintf(what, sizeof what, "step %d needs \"node\", \"op\" and a non-negative \"median_ms\"", i);
        bad(d, path, what);
        goto done;
      }
      p->steps[i].node = dup_str(node->valuestring);
      p->steps[i].op = dup_str(op->valuestring);
      p->steps[i].ms = ms->valuedouble;
      p->n_steps = ++i;
      if (!p->steps[i - 1].node || !p->steps[i - 1].op) {
        st = EC_ERR_INTERNAL;
        ec_diag_set(d, path, "", "out of memory reading the profile");
        goto done;
      }
    }
    st = EC_OK;
  }
done:
  cJSON_Delete(root);
  return st;
}

ec_status ec_profile_add(ec_profile_set *ps, const char *spec, ec_diag *d) {
  const char *eq = strchr(spec, '=');
  if (!eq || eq == spec || !eq[1]) {
    ec_diag_set(d, "--profile", "", "'%s' must look like DEVICE=FILE", spec);
    return EC_ERR_USAGE;
  }
  if ((size_t)(eq - spec) >= EC_TARGET_NAME_MAX) {
    ec_diag_set(d, "--profile", "", "device name too long in '%s'", spec);
    return EC_ERR_USAGE;
  }
  if (ps->n >= EC_MAX_DEVICES) {
    ec_diag_set(d, "--profile", "", "too many --profile options");
    return EC_ERR_USAGE;
  }
  ec_profile *p = &ps->items[ps->n];
  memset(p, 0, sizeof *p);
  memcpy(p->device, spec, (size_t)(eq - spec));
  p->device[eq - spec] = 0;
  p->path = dup_str(eq + 1);
  if (!p->path) return EC_ERR_INTERNAL;
  ec_buf b = {0};
  /* A profile holds one line per step: 64 MB is far past any model's. */
  int e = ec_read_small_file(p->path, 64u << 20, &b);
  ec_status st = EC_ERR_USAGE;
  if (e == ENOMEM)
    st = EC_ERR_INTERNAL;
  else if (e == EFBIG)
    ec_diag_set(d, p->path, "", "too large for a profile (64 MB or more)");
  else if (e == EIO)
    ec_diag_set(d, p->path, "", "cannot read the profile");
  else if (e)
    ec_diag_set(d, p->path, "", "cannot open the profile (--profile %s): %s", spec, strerror(e));
  else
    st = parse(p, b.data, b.len, d);
  ec_buf_free(&b);
  /* One profile per device and thread count: the planner takes each node's time on 1, 2...
   * threads from them (the clustering, cluster.c). */
  for (int i = 0; !st && i < ps->n; i++)
    if (strcmp(ps->items[i].device, p->device) == 0 && ps->items[i].threads == p->threads) {
      ec_diag_set(d, "--profile", "", "device '%s' is given twice with profiles of the same thread count (%d)",
                  p->device, p->threads);
      st = EC_ERR_USAGE;
    }
  if (st) {
    profile_free(p);
    return st;
  }
  ps->n++;
  return EC_OK;
}

/* Steps sorted by name, then by position: the k-th node named X takes the k-th step named X. */
typedef struct named_step {
  const char *name;
  int index;
} named_step;

static int cmp_step(const void *a, const void *b) {
  const named_step *x = a, *y = b;
  int c = strcmp(x->name, y->name);
  return c ? c : (x->index > y->index) - (x->index < y->index);
}

ec_status ec_profile_match_graph(const ec_profile *p, const ec_graph *g, ec_profile_match *m) {
  memset(m, 0, sizeof *m);
  m->node_ms = malloc(sizeof(double) * ((size_t)g->n_nodes + 1));
  named_step *order = malloc(sizeof(named_step) * ((size_t)p->n_steps + 1));
  uint8_t *used = calloc((size_t)p->n_steps + 1, 1);
  if (!m->node_ms || !order || !used) {
    free(order), free(used);
    ec_profile_match_free(m);
    return EC_ERR_INTERNAL;
  }
  for (int s = 0; s < p->n_steps; s++) order[s] = (named_step){p->steps[s].node, s};
  qsort(order, (size_t)p->n_steps, sizeof *order, cmp_step);
  for (int i = 0; i < g->n_nodes; i++) {
    const ec_node *n = &g->nodes[i];
    m->node_ms[i] = -1;
    if (n->dead) continue;
    char name[512];
    ec_node_label(g, n, name, sizeof name);
    int lo = 0, hi = p->n_steps;
    while (lo < hi) {
      int mid = lo + (hi - lo) / 2;
      if (strcmp(order[mid].name, name) < 0) lo = mid + 1;
      else hi = mid;
    }
    while (lo < p->n_steps && used[order[lo].index] && strcmp(order[lo].name, name) == 0) lo++;
    if (lo < p->n_steps && strcmp(order[lo].name, name) == 0) {
      used[order[lo].index] = 1;
      m->node_ms[i] = p->steps[order[lo].index].ms;
      m->n_matched++;
    }
  }
  /* The planner sees the graph before lowering: a Transpose step that names no node is a layout
   * conversion lowering added, not a sign of another model. */
  for (int s = 0; s < p->n_steps; s++) m->n_unmatched_steps += !used[s] && strcmp(p->steps[s].op, "Transpose") != 0;
  free(order);
  free(used);
  return EC_OK;
}

void ec_profile_match_free(ec_profile_match *m) {
  free(m->node_ms);
  memset(m, 0, sizeof *m);
}
