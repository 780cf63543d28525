/* reinit.c — a generated program's partition initialised, run and released twice in one process,
 * then as two contexts alive at once: every run gives the same outputs bit for bit, and release
 * leaves no worker thread behind (LeakSanitizer, linked in by the sanitizer build, checks at exit
 * that no memory is left either).
 *
 * It takes the program's table from the generated main_p<k>.c, compiled with
 * -Decrt_driver_main=reinit_main -Decrt_driver_main_plan=reinit_main_plan, so that main() hands
 * the table here instead of to the driver; it works for any partition without knowing its API.
 * usage: PROG WEIGHTS.bin OUT.pb INPUT.pb ...   (OUT.pb: output 0 of the first run; exit 0 ok,
 * 1 failed, with a line saying what differed) */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ecrt_driver.h"
#include "ecrt_pb.h"
#include "ecrt_platform.h"

#define MAX_IO 64

int reinit_main(const ecrt_program *p, int argc, char **argv);
int reinit_main_plan(const ecrt_program *p, uint64_t plan_id, int argc, char **argv);

/* Threads of this process: a worker left running by release shows here. */
static int count_threads(void) {
  DIR *d = opendir("/proc/self/task");
  struct dirent *e;
  int n = 0;
  if (!d) return -1;
  while ((e = readdir(d)) != NULL)
    if (e->d_name[0] != '.') n++;
  closedir(d);
  return n;
}

static size_t io_bytes(const ecrt_io_desc *d) {
  size_t n = ecrt_dtype_size(d->dtype);
  int k;
  for (k = 0; k < d->rank; k++) n *= (size_t)d->dims[k];
  return n;
}

static void *alloc_zero(size_t bytes) {
  void *b = ecrt_alloc(bytes + ECRT_SLACK, ECRT_ALIGN);
  if (b) memset(b, 0, bytes + ECRT_SLACK);
  return b;
}

typedef struct instance {
  void *ctx;
  void *arena;
  int inited;
} instance;

static int start(const ecrt_program *p, instance *in, const void *w, size_t wlen) {
  ecrt_status st;
  memset(in, 0, sizeof *in);
  in->ctx = alloc_zero(p->ctx_bytes);
  in->arena = alloc_zero(p->arena_bytes);
  if (!in->ctx || !in->arena) return fprintf(stderr, "reinit: out of memory\n"), 1;
  st = p->init(in->ctx, w, wlen, in->arena, p->arena_bytes, 0);
  if (st) return fprintf(stderr, "reinit: init failed: %s\n", ecrt_status_str(st)), 1;
  in->inited = 1;
  return 0;
}

static int run(const ecrt_program *p, instance *in, void *const *ins, void *const *outs) {
  ecrt_status st = p->run(in->ctx, (const void *const *)ins, outs);
  if (st) fprintf(stderr, "reinit: run failed: %s\n", ecrt_status_str(st));
  return st != ECRT_OK;
}

static void stop(const ecrt_program *p, instance *in) {
  if (in->inited) p->release(in->ctx);
  if (in->ctx) ecrt_free(in->ctx);
  if (in->arena) ecrt_free(in->arena);
  memset(in, 0, sizeof *in);
}

static int same(const ecrt_program *p, void *const *a, void *const *b, const char *what) {
  int i;
  for (i = 0; i < p->n_outputs; i++)
    if (memcmp(a[i], b[i], io_bytes(&p->outputs[i])) != 0) {
      fprintf(stderr, "reinit: FAILED: output %d of %s differs from the first run's\n", i, what);
      return 1;
    }
  return 0;
}

static int load_input(const ecrt_program *p, int i, const char *path, void **out) {
  unsigned char *buf;
  size_t len, bytes = io_bytes(&p->inputs[i]);
  ecrt_pb_tensor t;
  const char *err = "";
  if (ecrt_read_file(path, &buf, &len)) return fprintf(stderr, "reinit: cannot read %s\n", path), 1;
  if (ecrt_pb_parse(buf, len, &t, &err) || t.dtype != p->inputs[i].dtype ||
      (size_t)t.numel * ecrt_dtype_size(t.dtype) != bytes) {
    ecrt_free(buf);
    return fprintf(stderr, "reinit: %s is not input %d of the program\n", path, i), 1;
  }
  *out = alloc_zero(bytes);
  if (!*out || ecrt_pb_decode(&t, *out, bytes)) {
    ecrt_free(buf);
    return fprintf(stderr, "reinit: cannot decode %s\n", path), 1;
  }
  ecrt_free(buf);
  return 0;
}

static int write_output(const ecrt_program *p, const char *path, const void *data) {
  const ecrt_io_desc *d = &p->outputs[0];
  size_t b = io_bytes(d), cap = ecrt_pb_encoded_size(d->name, d->rank, d->dims, b), w;
  unsigned char *enc = ecrt_alloc(cap, 8);
  int bad = !enc || ecrt_pb_encode(enc, cap, &w, d->name, d->dtype, d->rank, d->dims, data, b) ||
            ecrt_write_file(path, enc, w);
  if (enc) ecrt_free(enc);
  if (bad) fprintf(stderr, "reinit: cannot write %s\n", path);
  return bad;
}

int reinit_main_plan(const ecrt_program *p, uint64_t plan_id, int argc, char **argv) {
  (void)plan_id;
  return reinit_main(p, argc, argv);
}

int reinit_main(const ecrt_program *p, int argc, char **argv) {
  void *ins[MAX_IO] = {0}, *first[MAX_IO] = {0}, *again[MAX_IO] = {0}, *other[MAX_IO] = {0};
  unsigned char *w = NULL;
  size_t wlen = 0;
  instance a, b;
  int i, rc = 1, before, during;
  memset(&a, 0, sizeof a);
  memset(&b, 0, sizeof b);
  if (argc != 3 + p->n_inputs || p->n_inputs > MAX_IO || p->n_outputs > MAX_IO || p->n_outputs < 1) {
    fprintf(stderr, "usage: %s WEIGHTS.bin OUT.pb INPUT.pb x %d\n", argv[0], p->n_inputs);
    return 2;
  }
  if (ecrt_read_file(argv[1], &w, &wlen)) {
    fprintf(stderr, "reinit: cannot read %s\n", argv[1]);
    return 1;
  }
  for (i = 0; i < p->n_inputs; i++)
    if (load_input(p, i, argv[3 + i], &ins[i])) goto done;
  for (i = 0; i < p->n_outputs; i++) {
    size_t n = io_bytes(&p->outputs[i]);
    first[i] = alloc_zero(n);
    again[i] = alloc_zero(n);
    other[i] = alloc_zero(n);
    if (!first[i] || !again[i] || !other[i]) goto done;
  }
  before = count_threads();
  /* 1: init, run, release. */
  if (start(p, &a, w, wlen)) goto done;
  during = count_threads();
  if (run(p, &a, ins, first)) goto done;
  stop(p, &a);
  if (count_threads() != before) {
    fprintf(stderr, "reinit: FAILED: %d threads before init, %d after release\n", before, count_threads());
    goto done;
  }
  /* 2: again, in the same process. */
  if (start(p, &a, w, wlen) || run(p, &a, ins, again)) goto done;
  stop(p, &a);
  if (same(p, first, again, "a second init after release")) goto done;
  /* 3: two contexts at once; releasing one leaves the other working. */
  if (start(p, &a, w, wlen) || start(p, &b, w, wlen) || run(p, &a, ins, again)) goto done;
  stop(p, &a);
  if (run(p, &b, ins, other)) goto done;
  stop(p, &b);
  if (same(p, first, again, "the first of two contexts") || same(p, first, other, "a context run after the other's release"))
    goto done;
  if (count_threads() != before) {
    fprintf(stderr, "reinit: FAILED: %d threads before init, %d after two contexts' release\n", before,
            count_threads());
    goto done;
  }
  if (write_output(p, argv[2], first[0])) goto done;
  printf("reinit: %s: 3 inits, 4 runs, outputs identical; threads %d before init, %d while initialised, %d after release\n",
         p->name, before, during, count_threads());
  rc = 0;
done:
  stop(p, &a);
  stop(p, &b);
  for (i = 0; i < MAX_IO; i++) {
    if (ins[i]) ecrt_free(ins[i]);
    if (first[i]) ecrt_free(first[i]);
    if (again[i]) ecrt_free(again[i]);
    if (other[i]) ecrt_free(other[i]);
  }
  if (w) ecrt_free(w);
  return rc;
}
