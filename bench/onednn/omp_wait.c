/* omp_wait.c — what oneDNN's OpenMP threads do around a run (the facts kernels/onednn/eck_dnnl.h
 * states): the threads the process has after runs, the time per run, and the CPU the process burns
 * in the 200 ms after its last run (libgomp workers spinning before they sleep).
 *
 * usage: omp_wait MODE THREADS
 *   MODE none    as started (try OMP_WAIT_POLICY=passive or GOMP_SPINCOUNT=0 in the environment)
 *        setenv  setenv("OMP_WAIT_POLICY", "passive") first thing in main
 *        reexec  eck_dnnl_passive_wait(argv) first thing in main
 *        late1   create at THREADS, then eck_dnnl_threads(1) before running
 *        late2   create at THREADS, then eck_dnnl_threads(2) before running */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "eck_dnnl.h"

static double cpu_ms(void) {
  struct rusage r;
  getrusage(RUSAGE_SELF, &r);
  return (r.ru_utime.tv_sec + r.ru_stime.tv_sec) * 1e3 + (r.ru_utime.tv_usec + r.ru_stime.tv_usec) * 1e-3;
}
static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec * 1e-6;
}
static int thread_count(void) {
  DIR *d = opendir("/proc/self/task");
  struct dirent *e;
  int n = 0;
  while (d && (e = readdir(d)))
    if (e->d_name[0] != '.') n++;
  if (d) closedir(d);
  return n;
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "none";
  int threads = argc > 2 ? atoi(argv[2]) : 2;
  eck_dnnl_ctx c;
  eck_dnnl_error e = {0, 0};
  eck_dnnl_node s;
  eck_dnnl_params p;
  if (strcmp(mode, "setenv") == 0) setenv("OMP_WAIT_POLICY", "passive", 1);
  if (strcmp(mode, "reexec") == 0) eck_dnnl_passive_wait(argv);
  if (eck_dnnl_start(&c, threads, &e) != ECK_OK) return fprintf(stderr, "%s: %s\n", e.call, e.status), 1;
  memset(&p, 0, sizeof p);
  p.kind = ECK_DNNL_CONV;
  p.kernel[0] = p.kernel[1] = 3, p.stride[0] = p.stride[1] = 1, p.dilation[0] = p.dilation[1] = 1;
  p.pad[0] = p.pad[1] = p.pad[2] = p.pad[3] = 1;
  p.groups = 1, p.channels_in = p.channels_out = 64, p.batch = 1, p.height = p.width = 56;
  p.out_min = -ECK_DNNL_INF, p.out_max = ECK_DNNL_INF;
  float *w = calloc(64 * 64 * 9, 4), *x = calloc(56 * 56 * 64, 4), *y = calloc(56 * 56 * 64, 4);
  if (eck_dnnl_create(&s, &c, &p, w, NULL) != ECK_OK) return fprintf(stderr, "%s: %s\n", s.err.call, s.err.status), 1;
  if (strcmp(mode, "late1") == 0) eck_dnnl_threads(1);
  if (strcmp(mode, "late2") == 0) eck_dnnl_threads(2);
  double t0 = now_ms();
  for (int i = 0; i < 20; i++) eck_dnnl_run(&s, &c, &p, x, NULL, y);
  double per_run = (now_ms() - t0) / 20, c0 = cpu_ms();
  struct timespec pause = {0, 200000000};
  nanosleep(&pause, NULL);
  printf("%-6s created at %d thread(s), OMP_WAIT_POLICY=%s GOMP_SPINCOUNT=%s: %d threads after the runs, %.2f ms "
         "per run, %.1f ms CPU in the 200 ms after\n",
         mode, threads, getenv("OMP_WAIT_POLICY") ? getenv("OMP_WAIT_POLICY") : "(unset)",
         getenv("GOMP_SPINCOUNT") ? getenv("GOMP_SPINCOUNT") : "(unset)", thread_count(), per_run, cpu_ms() - c0);
  eck_dnnl_delete(&s);
  eck_dnnl_stop(&c);
  free(w), free(x), free(y);
  return 0;
}
