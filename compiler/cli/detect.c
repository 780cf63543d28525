/* detect.c — `edgecc targets --detect`: describes the machine edgecc runs on. The only place that
 * probes the machine; compiling never does, so output is the same everywhere (DESIGN 4). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "detect.h"

static char *slurp_small(const char *path) {
  ec_buf b = {0};
  return ec_read_small_file(path, 4u << 20, &b) ? NULL : b.data;
}

/* The value of the first "key<spaces>: value" line of a /proc file, trimmed; "" when absent. */
static void proc_field(const char *text, const char *key, char *out, size_t cap) {
  out[0] = 0;
  size_t kl = strlen(key);
  for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
    if (strncmp(p, key, kl) != 0) continue;
    const char *q = p + kl;
    while (*q == ' ' || *q == '\t') q++;
    if (*q != ':') continue;
    q++;
    while (*q == ' ' || *q == '\t') q++;
    size_t n = strcspn(q, "\n");
    while (n && isspace((unsigned char)q[n - 1])) n--;
    if (n >= cap) n = cap - 1;
    memcpy(out, q, n);
    out[n] = 0;
    return;
  }
}

static bool has_word(const char *list, const char *w) {
  size_t n = strlen(w);
  for (const char *p = list; (p = strstr(p, w)) != NULL; p += n)
    if ((p == list || p[-1] == ' ') && (p[n] == 0 || p[n] == ' ')) return true;
  return false;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Single-thread read bandwidth over a buffer far larger than any cache: best of a few passes. */
static double measure_read_gbps(void) {
  size_t n = (64u << 20) / sizeof(uint64_t);
  uint64_t *a = malloc(n * sizeof *a);
  if (!a) return 0;
  for (size_t i = 0; i < n; i++) a[i] = i;
  double best = 0;
  volatile uint64_t sink = 0;
  for (int rep = 0; rep < 4; rep++) {
    double t0 = now_s();
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (size_t i = 0; i + 4 <= n; i += 4) s0 += a[i], s1 += a[i + 1], s2 += a[i + 2], s3 += a[i + 3];
    double dt = now_s() - t0;
    sink += s0 + s1 + s2 + s3;
    if (dt > 0 && (double)(n * sizeof *a) / dt / 1e9 > best) best = (double)(n * sizeof *a) / dt / 1e9;
  }
  (void)sink;
  free(a);
  return best;
}

/* Clock from a chain of dependent integer adds (one per cycle on every core of interest): the
 * frequency the core really runs at, boost included, which /proc/cpuinfo often misstates in VMs. */
static double measure_clock_ghz(void) {
  const long n = 5000000;
  double best = 0;
  for (int rep = 0; rep < 3; rep++) {
    uint64_t x = (uint64_t)rep;
    double t0 = now_s();
    for (long i = 0; i < n; i++) {
#if defined(__x86_64__)
      __asm__ volatile("add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\t"
                       "add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0" : "+r"(x));
#elif defined(__aarch64__)
      __asm__ volatile("add %0, %0, #1\n\tadd %0, %0, #1\n\tadd %0, %0, #1\n\tadd %0, %0, #1\n\t"
                       "add %0, %0, #1\n\tadd %0, %0, #1\n\tadd %0, %0, #1\n\tadd %0, %0, #1" : "+r"(x));
#endif
    }
    double dt = now_s() - t0;
    if (dt > 0 && 8.0 * (double)n / dt / 1e9 > best) best = 8.0 * (double)n / dt / 1e9;
  }
  return best;
}

#if defined(__aarch64__)
static const struct {
  unsigned part;
  const char *cpu;
  int flops; /* fp32 FLOP/cycle/core */
  const char *qemu;
} arm_parts[] = {
    {0xd03, "cortex-a53", 8, "cortex-a53"},   {0xd04, "cortex-a35", 8, "cortex-a35"},
    {0xd05, "cortex-a55", 8, "cortex-a53"},   {0xd07, "cortex-a57", 8, "cortex-a57"},
    {0xd08, "cortex-a72", 8, "cortex-a72"},   {0xd09, "cortex-a73", 8, "cortex-a72"},
    {0xd0a, "cortex-a75", 16, "cortex-a72"},  {0xd0b, "cortex-a76", 16, "cortex-a76"},
    {0xd0c, "neoverse-n1", 16, "neoverse-n1"}, {0xd0d, "cortex-a77", 16, "cortex-a76"},
    {0xd41, "cortex-a78", 16, "cortex-a76"},  {0xd42, "cortex-a78ae", 16, "cortex-a76"},
    {0xd44, "cortex-x1", 16, "cortex-a76"},   {0xd4b, "cortex-a78c", 16, "cortex-a76"},
};
#endif

ec_status ec_target_detect(const char *name, ec_target *t, ec_diag *d) {
  memset(t, 0, sizeof *t);
  if (!ec_target_name_valid(name, false) || strcmp(name, "host") == 0) {
    ec_diag_set(d, "--name", "", "'%s' is not a valid target name (lower-case letters, digits, '-', '.', '_'; not 'host')", name);
    return EC_ERR_USAGE;
  }
  strcpy(t->name, name);
  snprintf(t->triple, sizeof t->triple, "%s", ec_target_host_triple());
  char *cpu = slurp_small("/proc/cpuinfo");
  char *mem = slurp_small("/proc/meminfo");
  char model[160] = "", flags[4096] = "", mhz[32] = "", part[32] = "";
  if (cpu) {
    proc_field(cpu, "model name", model, sizeof model);
    proc_field(cpu, "flags", flags, sizeof flags);
    if (!flags[0]) proc_field(cpu, "Features", flags, sizeof flags);
    proc_field(cpu, "cpu MHz", mhz, sizeof mhz);
    proc_field(cpu, "CPU part", part, sizeof part);
  }
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  t->cores = ncpu > 0 && ncpu <= 1024 ? (int)ncpu : 1;
  char total[64] = "";
  if (mem) proc_field(mem, "MemTotal", total, sizeof total);
  long long kb = atoll(total);
  t->ram_mb = kb > 16 * 1024 ? kb / 1024 : 16;

  /* Clock: the highest frequency cpufreq reports, else what /proc/cpuinfo says now. */
  double ghz = 0;
  const char *clock_src = "cpufreq maximum";
  char *fmax = slurp_small("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq");
  if (fmax) ghz = atof(fmax) / 1e6;
  free(fmax);
  if (ghz <= 0 && mhz[0]) ghz = atof(mhz) / 1e3, clock_src = "/proc/cpuinfo";
  double measured = measure_clock_ghz();
  /* A measurement within reason beats a nominal figure (turbo, or a VM's base clock). */
  if (measured > 0.3 && measured < 6.5 && (ghz <= 0 || measured > ghz)) ghz = measured, clock_src = "measured";
  bool clock_guessed = ghz <= 0;
  if (clock_guessed) ghz = 2.0, clock_src = "unknown, guessed";
  t->clock_ghz = ghz;

  static const struct { const char *flag; int bit; } fmap[] = {
      {"asimd", EC_TFB_NEON},       {"asimdhp", EC_TFB_FP16},         {"asimddp", EC_TFB_DOTPROD},
      {"i8mm", EC_TFB_I8MM},        {"bf16", EC_TFB_BF16},            {"sve", EC_TFB_SVE},
      {"sve2", EC_TFB_SVE2},        {"sse2", EC_TFB_SSE2},            {"sse4_1", EC_TFB_SSE41},
      {"sse4_2", EC_TFB_SSE42},     {"avx", EC_TFB_AVX},              {"avx2", EC_TFB_AVX2},
      {"fma", EC_TFB_FMA},          {"f16c", EC_TFB_F16C},            {"avx512f", EC_TFB_AVX512F},
      {"avx512bw", EC_TFB_AVX512BW}, {"avx512dq", EC_TFB_AVX512DQ},   {"avx512vl", EC_TFB_AVX512VL},
      {"avx512_vnni", EC_TFB_AVX512VNNI}, {"avx512_bf16", EC_TFB_AVX512BF16}, {"avx_vnni", EC_TFB_AVXVNNI},
  };
  for (size_t i = 0; i < sizeof fmap / sizeof *fmap; i++)
    if (has_word(flags, fmap[i].flag)) t->features |= UINT64_C(1) << fmap[i].bit;

  int flops = 8; /* fp32 FLOP/cycle/core */
  const char *how;
  char cflag[EC_TARGET_FLAG_MAX] = "";
  uint64_t f = t->features;
#if defined(__x86_64__)
  if (f & EC_TF(AVX512F)) flops = 32, how = "AVX-512: one 512-bit FMA/cycle";
  else if ((f & EC_TF(AVX2)) && (f & EC_TF(FMA))) flops = 32, how = "AVX2: two 256-bit FMA/cycle";
  else if (f & EC_TF(AVX)) flops = 16, how = "AVX: 256-bit add + multiply/cycle";
  else how = "SSE: 128-bit add + multiply/cycle";
  uint64_t v4 = EC_TF(AVX512F) | EC_TF(AVX512BW) | EC_TF(AVX512DQ) | EC_TF(AVX512VL);
  if ((f & v4) == v4) strcpy(cflag, "-march=x86-64-v4");
  else if ((f & (EC_TF(AVX2) | EC_TF(FMA) | EC_TF(F16C))) == (EC_TF(AVX2) | EC_TF(FMA) | EC_TF(F16C)))
    strcpy(cflag, "-march=x86-64-v3");
  else if (f & EC_TF(SSE42)) strcpy(cflag, "-march=x86-64-v2");
  snprintf(t->board, sizeof t->board, "%s (%d cores)", model[0] ? model : "x86-64 machine", t->cores);
#else
  how = "unknown core: assumed one 128-bit FMA/cycle";
  unsigned p = (unsigned)strtoul(part, NULL, 0);
  const char *core = NULL;
  for (size_t i = 0; i < sizeof arm_parts / sizeof *arm_parts; i++) {
    if (arm_parts[i].part != p) continue;
    core = arm_parts[i].cpu;
    flops = arm_parts[i].flops;
    snprintf(t->qemu_cpu, sizeof t->qemu_cpu, "%s", arm_parts[i].qemu);
    how = flops == 16 ? "two 128-bit FMA/cycle" : "one 128-bit FMA/cycle";
  }
  if (core) snprintf(cflag, sizeof cflag, "-mcpu=%s", core);
  else if ((f & (EC_TF(FP16) | EC_TF(DOTPROD))) == (EC_TF(FP16) | EC_TF(DOTPROD)))
    strcpy(cflag, "-march=armv8.2-a+fp16+dotprod");
  else strcpy(cflag, "-march=armv8-a");
  char dt[160] = "";
  char *m = slurp_small("/sys/firmware/devicetree/base/model");
  if (m) snprintf(dt, sizeof dt, "%s", m);
  free(m);
  snprintf(t->board, sizeof t->board, "%s (%d x %s)", dt[0] ? dt : "aarch64 machine", t->cores,
           core ? core : "unknown Arm core");
#endif
  strcpy(t->cflags[t->n_cflags++], "-O3");
  if (cflag[0]) strcpy(t->cflags[t->n_cflags++], cflag);

  double core_ghz = t->cores * ghz;
  t->peak_f32 = core_ghz * flops;
  if (f & EC_TF(FP16)) t->peak_f16 = 2 * t->peak_f32;
  if (f & (EC_TF(BF16) | EC_TF(AVX512BF16))) t->peak_bf16 = 2 * t->peak_f32;
  bool dot = f & (EC_TF(DOTPROD) | EC_TF(AVX512VNNI) | EC_TF(AVXVNNI));
  t->peak_i8 = (dot ? 4 : 2) * t->peak_f32;
  double bw = measure_read_gbps();
  t->mem_gbps = bw > 0 ? bw : 10;
  t->kernels = EC_KLIB_REF | EC_KLIB_XNNPACK | EC_KLIB_OPENBLAS;
#if defined(__x86_64__)
  t->kernels |= EC_KLIB_ONEDNN; /* Debian's oneDNN has JIT kernels on x86-64 only (FACTS.md) */
  t->onednn_first = true;        /* like targets/x86-64.json */
#endif
  t->link_mbps = 1000;
  t->sync_us = EC_TARGET_SYNC_US;
  t->link_latency_ms = 0.2;
  t->estimated = true;
  snprintf(t->notes, sizeof t->notes,
           "written by edgecc targets --detect; peaks estimated, not measured: %d cores x %.3g GHz (%s) x %d "
           "fp32 FLOP/cycle (%s), i8 %dx fp32%s; mem_gbps measured (single-thread read, %.1f GB/s); "
           "link is a default",
           t->cores, ghz, clock_src, flops, how, dot ? 4 : 2,
           dot ? " (dot product)" : "", bw);
  free(cpu);
  free(mem);
  return EC_OK;
}
