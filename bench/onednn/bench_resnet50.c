/* bench_resnet50.c — ResNet-50's 53 convolutions and its FC, one operator per shape, at one
 * thread: oneDNN (kernels/onednn) against XNNPACK (kernels/xnnpack), both created once through the
 * wrappers generated code uses (create with weights, setup with fixed buffers, run per call).
 * Each shape is timed for both libraries alternately, in rounds; per shape the median over rounds
 * of the median time per call; the totals weight each shape by how often ResNet-50 has it.
 * Convolutions carry a bias and, where the model has one, a fused Relu; the residual convolutions
 * (the last 1x1 of each block) are also timed with the residual Add: fused into oneDNN's
 * convolution as a sum post-op, a separate XNNPACK add after XNNPACK's convolution.
 *
 * usage: bench_resnet50 [ROUNDS] [MIN_MS_PER_SAMPLE]   (prints a Markdown table) */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eck_dnnl.h"
#include "eck_xnn.h"

typedef struct shape {
  const char *name;
  int count;                  /* how many times ResNet-50 has it */
  int fc;                     /* the classifier: [1, 2048] x [2048, 1000] */
  int c, m, k, s, pad, hw;    /* in channels, out channels, kernel, stride, pad, input H = W */
  int relu;                   /* Relu fused in the model */
  int residual;               /* count of these that end a block (a residual Add follows) */
} shape;

/* torchvision's ResNet-50 (v1.5: stride on the 3x3), 224x224 input. 53 convolutions. */
static const shape shapes[] = {
    {"conv1 7x7/2 3->64 @224", 1, 0, 3, 64, 7, 2, 3, 224, 1, 0},
    {"l1 1x1 64->64 @56", 1, 0, 64, 64, 1, 1, 0, 56, 1, 0},
    {"l1 3x3 64->64 @56", 3, 0, 64, 64, 3, 1, 1, 56, 1, 0},
    {"l1 1x1 64->256 @56", 3, 0, 64, 256, 1, 1, 0, 56, 0, 3},
    {"l1 down 1x1 64->256 @56", 1, 0, 64, 256, 1, 1, 0, 56, 0, 0},
    {"l1 1x1 256->64 @56", 2, 0, 256, 64, 1, 1, 0, 56, 1, 0},
    {"l2 1x1 256->128 @56", 1, 0, 256, 128, 1, 1, 0, 56, 1, 0},
    {"l2 3x3/2 128->128 @56", 1, 0, 128, 128, 3, 2, 1, 56, 1, 0},
    {"l2 1x1 128->512 @28", 4, 0, 128, 512, 1, 1, 0, 28, 0, 4},
    {"l2 down 1x1/2 256->512 @56", 1, 0, 256, 512, 1, 2, 0, 56, 0, 0},
    {"l2 1x1 512->128 @28", 3, 0, 512, 128, 1, 1, 0, 28, 1, 0},
    {"l2 3x3 128->128 @28", 3, 0, 128, 128, 3, 1, 1, 28, 1, 0},
    {"l3 1x1 512->256 @28", 1, 0, 512, 256, 1, 1, 0, 28, 1, 0},
    {"l3 3x3/2 256->256 @28", 1, 0, 256, 256, 3, 2, 1, 28, 1, 0},
    {"l3 1x1 256->1024 @14", 6, 0, 256, 1024, 1, 1, 0, 14, 0, 6},
    {"l3 down 1x1/2 512->1024 @28", 1, 0, 512, 1024, 1, 2, 0, 28, 0, 0},
    {"l3 1x1 1024->256 @14", 5, 0, 1024, 256, 1, 1, 0, 14, 1, 0},
    {"l3 3x3 256->256 @14", 5, 0, 256, 256, 3, 1, 1, 14, 1, 0},
    {"l4 1x1 1024->512 @14", 1, 0, 1024, 512, 1, 1, 0, 14, 1, 0},
    {"l4 3x3/2 512->512 @14", 1, 0, 512, 512, 3, 2, 1, 14, 1, 0},
    {"l4 1x1 512->2048 @7", 3, 0, 512, 2048, 1, 1, 0, 7, 0, 3},
    {"l4 down 1x1/2 1024->2048 @14", 1, 0, 1024, 2048, 1, 2, 0, 14, 0, 0},
    {"l4 1x1 2048->512 @7", 2, 0, 2048, 512, 1, 1, 0, 7, 1, 0},
    {"l4 3x3 512->512 @7", 2, 0, 512, 512, 3, 1, 1, 7, 1, 0},
    {"fc 2048->1000", 1, 1, 2048, 1000, 1, 1, 0, 1, 0, 0},
};
#define N_SHAPES ((int)(sizeof shapes / sizeof shapes[0]))

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec * 1e-6;
}
static double thread_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return t.tv_sec * 1e3 + t.tv_nsec * 1e-6;
}
static int out_hw(const shape *s) { return (s->hw + 2 * s->pad - s->k) / s->s + 1; }
static double macs(const shape *s) {
  return s->fc ? (double)s->c * s->m : (double)out_hw(s) * out_hw(s) * s->m * s->c * s->k * s->k;
}
static float *randv(size_t n) {
  float *v = malloc(n * sizeof *v + 64); /* + XNNPACK's read slack */
  uint32_t r = 12345;
  for (size_t i = 0; i < n + 16; i++) r = r * 1664525u + 1013904223u, v[i] = (float)(r >> 8) / 16777216.0f - 0.5f;
  return v;
}
static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}
static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_d);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}
static void die(const char *what, const char *call, const char *status) {
  fprintf(stderr, "bench_resnet50: %s: %s: %s\n", what, call ? call : "?", status ? status : "?");
  exit(1);
}

/* One shape's operators in both libraries, on the same buffers. variant 1: with the residual. */
typedef struct ops {
  eck_dnnl_params dp;
  eck_dnnl_node dn;
  eck_xnn_params xp, ap;
  eck_xnn_node xn, an;
  float *x, *y, *r;
  int residual;
} ops;

static void make_ops(ops *o, const shape *s, eck_dnnl_ctx *ctx, int residual) {
  int oh = out_hw(s);
  size_t xn = (size_t)s->hw * s->hw * s->c, yn = (size_t)oh * oh * s->m, wn = (size_t)s->m * s->c * s->k * s->k;
  float *w = randv(wn), *b = randv((size_t)s->m);
  float lo = s->relu || residual ? 0 : -ECK_DNNL_INF;
  memset(o, 0, sizeof *o);
  o->residual = residual;
  o->x = randv(xn), o->y = randv(yn), o->r = randv(yn);
  o->dp.kind = s->fc ? ECK_DNNL_FC : ECK_DNNL_CONV;
  o->xp.kind = s->fc ? ECK_XNN_FC : ECK_XNN_CONV;
  for (int i = 0; i < 4; i++) o->dp.pad[i] = o->xp.pad[i] = (uint32_t)s->pad;
  o->dp.kernel[0] = o->dp.kernel[1] = o->xp.kernel[0] = o->xp.kernel[1] = (uint32_t)s->k;
  o->dp.stride[0] = o->dp.stride[1] = o->xp.stride[0] = o->xp.stride[1] = (uint32_t)s->s;
  o->dp.dilation[0] = o->dp.dilation[1] = o->xp.dilation[0] = o->xp.dilation[1] = 1;
  o->dp.groups = o->xp.groups = 1;
  o->dp.channels_in = o->xp.channels_in = o->dp.in_stride = o->xp.in_stride = (size_t)s->c;
  o->dp.channels_out = o->xp.channels_out = o->dp.out_stride = o->xp.out_stride = (size_t)s->m;
  o->dp.batch = o->xp.batch = 1;
  o->dp.height = o->dp.width = o->xp.height = o->xp.width = (size_t)s->hw;
  /* ResNet: Relu after the residual Add; without one, the Relu (if any) after the conv. */
  o->dp.out_min = lo, o->dp.out_max = ECK_DNNL_INF;
  o->dp.flags = residual ? ECK_DNNL_SUM : 0;
  o->xp.out_min = residual ? -ECK_XNN_INF : lo, o->xp.out_max = ECK_XNN_INF;
  if (eck_dnnl_create(&o->dn, ctx, &o->dp, w, b) != ECK_OK) die(s->name, o->dn.err.call, o->dn.err.status);
  if (eck_xnn_create(&o->xn, &o->xp, w, b) != ECK_OK) die(s->name, o->xn.err.call, o->xn.err.status);
  if (eck_xnn_setup(&o->xn, &o->xp, o->x, NULL, o->y, NULL) != ECK_OK) die(s->name, o->xn.err.call, o->xn.err.status);
  if (residual) { /* XNNPACK: y = max(y + r, 0) as its own operator, in place */
    o->ap.kind = ECK_XNN_ADD;
    o->ap.rank_a = o->ap.rank_b = 1;
    o->ap.shape_a[0] = o->ap.shape_b[0] = yn;
    o->ap.out_min = 0, o->ap.out_max = ECK_XNN_INF;
    if (eck_xnn_create(&o->an, &o->ap, NULL, NULL) != ECK_OK ||
        eck_xnn_setup(&o->an, &o->ap, o->y, o->r, o->y, NULL) != ECK_OK)
      die(s->name, o->an.err.call, o->an.err.status);
  }
  free(w), free(b); /* both wrappers hold their own packed copies */
}

/* Times calls until min_ms have passed (at least 5): the median wall time per call, and the
 * median CPU time of this thread per call in *cpu. Medians of single calls, because the machine is
 * shared: a call that lost the core to another process is an outlier, not a share of a mean. */
static double time_lib(ops *o, eck_dnnl_ctx *ctx, int dnnl, double min_ms, double *cpu) {
  static double wall[4096], th[4096];
  int n = 0;
  double t0 = now_ms();
  do {
    double w0 = now_ms(), c0 = thread_ms();
    int rc = dnnl ? eck_dnnl_run(&o->dn, ctx, &o->dp, o->x, NULL, o->y)
                  : eck_xnn_run(&o->xn, &o->xp, o->x, NULL, o->y, NULL);
    if (rc == ECK_OK && !dnnl && o->residual) rc = eck_xnn_run(&o->an, &o->ap, o->y, o->r, o->y, NULL);
    if (rc != ECK_OK) die("run", dnnl ? o->dn.err.call : o->xn.err.call, dnnl ? o->dn.err.status : o->xn.err.status);
    th[n] = thread_ms() - c0;
    wall[n++] = now_ms() - w0;
  } while ((now_ms() - t0 < min_ms || n < 5) && n < 4096);
  if (cpu) *cpu = median(th, n);
  return median(wall, n);
}

static void cpu_name(char *buf, size_t len) {
  FILE *f = fopen("/proc/cpuinfo", "r");
  char line[4096];
  snprintf(buf, len, "unknown CPU");
  if (!f) return;
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, "model name", 10) == 0) {
      char *v = strchr(line, ':');
      if (v) snprintf(buf, len, "%s", v + 2);
      buf[strcspn(buf, "\n")] = 0;
    } else if (strncmp(line, "flags", 5) == 0) {
      const char *want[] = {"avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_int8", "amx_bf16"};
      size_t l = strlen(buf);
      snprintf(buf + l, len - l, ";");
      for (int i = 0; i < 6; i++) {
        char pat[32];
        snprintf(pat, sizeof pat, " %s", want[i]);
        char *p = strstr(line, pat);
        if (p && (p[strlen(pat)] == ' ' || p[strlen(pat)] == '\n')) {
          l = strlen(buf);
          snprintf(buf + l, len - l, " %s", want[i]);
        }
      }
      break;
    }
  }
  fclose(f);
}

int main(int argc, char **argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 7;
  double min_ms = argc > 2 ? atof(argv[2]) : 30;
  eck_dnnl_ctx ctx;
  eck_dnnl_error de = {0, 0};
  eck_xnn_error xe = {0, 0};
  void *pool = NULL;
  char cpu[512];
  double load0[3] = {0, 0, 0}, load1[3] = {0, 0, 0};
  static ops op[N_SHAPES][2];
  static double td[N_SHAPES][2][64], tx[N_SHAPES][2][64], cd[N_SHAPES][2][64], cx[N_SHAPES][2][64];
  if (rounds < 1 || rounds > 64 || min_ms <= 0) {
    fprintf(stderr, "usage: bench_resnet50 [ROUNDS 1..64] [MIN_MS_PER_SAMPLE > 0]\n");
    return 2;
  }
  eck_dnnl_passive_wait(argv); /* one thread here, but the program is the model to copy */
  if (eck_dnnl_start(&ctx, 1, &de) != ECK_OK) die("start", de.call, de.status);
  if (eck_xnn_start(&pool, 1, &xe) != ECK_OK) die("start", xe.call, xe.status);
  cpu_name(cpu, sizeof cpu);
  getloadavg(load0, 3);
  for (int i = 0; i < N_SHAPES; i++)
    for (int v = 0; v < 2; v++)
      if (v == 0 || shapes[i].residual) make_ops(&op[i][v], &shapes[i], &ctx, v);
  /* Warm-up: one call each. */
  for (int i = 0; i < N_SHAPES; i++)
    for (int v = 0; v < 2; v++)
      if (v == 0 || shapes[i].residual) time_lib(&op[i][v], &ctx, 1, 0, NULL), time_lib(&op[i][v], &ctx, 0, 0, NULL);
  for (int r = 0; r < rounds; r++)
    for (int i = 0; i < N_SHAPES; i++)
      for (int v = 0; v < 2; v++) {
        if (v && !shapes[i].residual) continue;
        /* Alternate which library goes first. */
        int first = r % 2;
        double ca, cb, a = time_lib(&op[i][v], &ctx, first, min_ms, &ca), b = time_lib(&op[i][v], &ctx, !first, min_ms, &cb);
        td[i][v][r] = first ? a : b, cd[i][v][r] = first ? ca : cb;
        tx[i][v][r] = first ? b : a, cx[i][v][r] = first ? cb : ca;
      }
  getloadavg(load1, 3);

  printf("CPU: %s\n", cpu);
  printf("1 thread; %d rounds, each sample >= %.0f ms; 1-minute load average %.2f at the start, %.2f at the end\n\n",
         rounds, min_ms, load0[0], load1[0]);
  printf("| shape | count | MMAC | oneDNN ms | oneDNN impl | XNNPACK ms | oneDNN/XNNPACK | oneDNN GMAC/s | XNNPACK GMAC/s |\n");
  printf("|---|---|---|---|---|---|---|---|---|\n");
  double sd = 0, sx = 0, sm = 0, rd = 0, rx = 0, pd = 0, px = 0, scd = 0, scx = 0;
  for (int i = 0; i < N_SHAPES; i++) {
    const shape *s = &shapes[i];
    double d = median(td[i][0], rounds), x = median(tx[i][0], rounds), mm = macs(s) / 1e6;
    printf("| %s | %d | %.1f | %.3f | %s | %.3f | %.2f | %.1f | %.1f |\n", s->name, s->count, mm, d,
           eck_dnnl_impl(&op[i][0].dn), x, d / x, mm / d, mm / x);
    sd += s->count * d, sx += s->count * x, sm += s->count * mm;
    scd += s->count * median(cd[i][0], rounds), scx += s->count * median(cx[i][0], rounds);
    if (s->residual) {
      double d2 = median(td[i][1], rounds), x2 = median(tx[i][1], rounds);
      rd += s->residual * (d2 - d), rx += s->residual * (x2 - x);
      pd += s->residual * d2, px += s->residual * x2;
    }
  }
  printf("| **53 convolutions + FC, weighted by count** | 54 | %.0f | **%.2f** | | **%.2f** | **%.2f** | %.1f | %.1f |\n\n",
         sm, sd, sx, sd / sx, sm / sd, sm / sx);
  printf("The same totals in CPU time of the benchmark's thread (time it lost the core to other processes left "
         "out): oneDNN %.2f ms, XNNPACK %.2f ms, ratio %.2f.\n\n", scd, scx, scd / scx);
  printf("Residual blocks' last 1x1 convolutions (16 of them) with the residual Add and Relu: oneDNN fused "
         "(sum post-op) %.2f ms, XNNPACK convolution + separate add %.2f ms (the Add costs oneDNN %+.2f ms "
         "over its plain convolutions, XNNPACK %+.2f ms).\n",
         pd, px, rd, rx);
  for (int i = 0; i < N_SHAPES; i++)
    for (int v = 0; v < 2; v++)
      if (v == 0 || shapes[i].residual) {
        eck_dnnl_delete(&op[i][v].dn);
        eck_xnn_delete(&op[i][v].xn);
        if (v) eck_xnn_delete(&op[i][v].an);
        free(op[i][v].x), free(op[i][v].y), free(op[i][v].r);
      }
  eck_xnn_stop(pool);
  eck_dnnl_stop(&ctx);
  return 0;
}
