/* fma_ceiling.c — the fp32 FMA ceiling of one core: how many multiply-adds per second one thread
 * issues when nothing but independent FMAs on the widest vectors the CPU has are in flight.
 * ResNet-50's GMAC/s divided by this is the fraction of the core edgecc reaches (bench/zoo,
 * docs/benchmarks.md). README.md says how the figure was checked.
 *
 * For each instruction set the CPU has (AVX-512F: 16 floats, AVX2+FMA: 8), each kernel keeps A
 * accumulators, each its own dependency chain (acc[k] = acc[k] * m + c), for A in 4, 8, 12, 16,
 * 24 (AVX-512, 32 registers) or 4, 8, 12, 14 (AVX2, 16 registers: two hold m and c). An FMA's
 * latency is 4 cycles on the x86 cores this project meets and they have at most 2 FMA ports, so 8
 * chains fill one port and 16 fill two; 24 leave room for a third. The figures grow with A until
 * the ports are full and then stay flat: the flat part is the ceiling.
 *
 * Times are the thread's CPU time (CLOCK_THREAD_CPUTIME_ID) so that a shared, loaded machine
 * costs samples but does not lower the figure; each sample runs about 50 ms and the best of
 * SAMPLES is reported (a ceiling: nothing makes FMAs run faster than they can).
 * Usage: fma_ceiling [SAMPLES]   (default 15). C99 with GCC's target attributes and intrinsics. */
#define _POSIX_C_SOURCE 200809L
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double cpu_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Sink for the accumulators, so the compiler keeps the chains. */
static volatile float sink;

/* One kernel per (instruction set, A): the A chains unrolled in registers, ITERS rounds. */
#define KERNEL512(A)                                                                                   \
  __attribute__((target("avx512f"), noinline)) static void fma512_##A(long iters) {                  \
    __m512 acc[A], m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-6f);                         \
    for (int k = 0; k < A; k++) acc[k] = _mm512_set1_ps((float)k);                                     \
    for (long i = 0; i < iters; i++) {                                                                 \
      _Pragma("GCC unroll 32")                                                                         \
      for (int k = 0; k < A; k++) acc[k] = _mm512_fmadd_ps(acc[k], m, c);                              \
    }                                                                                                  \
    __m512 s = acc[0];                                                                                 \
    for (int k = 1; k < A; k++) s = _mm512_add_ps(s, acc[k]);                                          \
    sink = _mm512_reduce_add_ps(s);                                                                    \
  }
#define KERNEL256(A)                                                                                   \
  __attribute__((target("avx2,fma"), noinline)) static void fma256_##A(long iters) {                 \
    __m256 acc[A], m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-6f);                         \
    for (int k = 0; k < A; k++) acc[k] = _mm256_set1_ps((float)k);                                     \
    for (long i = 0; i < iters; i++) {                                                                 \
      _Pragma("GCC unroll 32")                                                                         \
      for (int k = 0; k < A; k++) acc[k] = _mm256_fmadd_ps(acc[k], m, c);                              \
    }                                                                                                  \
    __m256 s = acc[0];                                                                                 \
    for (int k = 1; k < A; k++) s = _mm256_add_ps(s, acc[k]);                                          \
    float v[8];                                                                                        \
    _mm256_storeu_ps(v, s);                                                                            \
    sink = v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];                                      \
  }
KERNEL512(4)
KERNEL512(8)
KERNEL512(12)
KERNEL512(16)
KERNEL512(24)
KERNEL256(4)
KERNEL256(8)
KERNEL256(12)
KERNEL256(14)

typedef struct {
  const char *isa;
  int lanes, acc;
  void (*fn)(long);
} kernel;

static const kernel kernels[] = {
    {"avx512f", 16, 4, fma512_4},  {"avx512f", 16, 8, fma512_8},   {"avx512f", 16, 12, fma512_12},
    {"avx512f", 16, 16, fma512_16}, {"avx512f", 16, 24, fma512_24}, {"avx2", 8, 4, fma256_4},
    {"avx2", 8, 8, fma256_8},      {"avx2", 8, 12, fma256_12},     {"avx2", 8, 14, fma256_14},
};

/* The CPU's model name (/proc/cpuinfo), for the table. */
static void model_name(char *out, size_t len) {
  FILE *f = fopen("/proc/cpuinfo", "r");
  char line[512];
  snprintf(out, len, "unknown");
  if (!f) return;
  while (fgets(line, sizeof line, f))
    if (strncmp(line, "model name", 10) == 0) {
      char *v = strchr(line, ':');
      if (v) {
        v += 1 + (v[1] == ' ');
        v[strcspn(v, "\n")] = 0;
        snprintf(out, len, "%s", v);
      }
      break;
    }
  fclose(f);
}

int main(int argc, char **argv) {
  int samples = argc > 1 ? atoi(argv[1]) : 15;
  char cpu[256];
  double best_all = 0;
  const char *best_isa = "none";
  int best_acc = 0;
  if (samples < 1) {
    fprintf(stderr, "usage: fma_ceiling [SAMPLES >= 1]\n");
    return 2;
  }
  __builtin_cpu_init();
  model_name(cpu, sizeof cpu);
  printf("CPU: %s (avx512f %s, avx2+fma %s); 1 thread, best of %d samples of CPU time\n\n", cpu,
         __builtin_cpu_supports("avx512f") ? "yes" : "no",
         __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? "yes" : "no", samples);
  printf("| vectors | accumulators | GMAC/s | FMA instructions per ns |\n|---|---|---|---|\n");
  for (size_t k = 0; k < sizeof kernels / sizeof kernels[0]; k++) {
    const kernel *kn = &kernels[k];
    int ok = strcmp(kn->isa, "avx512f") == 0 ? __builtin_cpu_supports("avx512f")
                                               : __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (!ok) continue;
    /* Calibrate to about 50 ms per sample. */
    long iters = 1 << 16;
    for (;;) {
      double t0 = cpu_s();
      kn->fn(iters);
      double t = cpu_s() - t0;
      if (t > 0.05 || iters > (1L << 40)) break;
      iters *= t < 0.005 ? 8 : 2;
    }
    double best = 0;
    for (int s = 0; s < samples; s++) {
      double t0 = cpu_s();
      kn->fn(iters);
      double t = cpu_s() - t0;
      double gmac = (double)iters * kn->acc * kn->lanes / t * 1e-9;
      if (gmac > best) best = gmac;
    }
    printf("| %s (%d floats) | %d | %.1f | %.2f |\n", kn->isa, kn->lanes, kn->acc, best,
           best / kn->lanes);
    if (best > best_all) best_all = best, best_isa = kn->isa, best_acc = kn->acc;
  }
  printf("\nceiling: %.1f GMAC/s per core (%s, %d accumulators)\n", best_all, best_isa, best_acc);
  return 0;
}
