/* target_json.c — writes a device description back as JSON (`edgecc targets`, `targets --detect`,
 * plan.json's devices), in the schema and key order of docs/targets.md. */
#include <stdio.h>
#include <string.h>

#include "target.h"

/* Shortest of %.6g that reads back as a JSON number (always finite here). */
static void put_num(ec_buf *b, double x) {
  char s[64];
  snprintf(s, sizeof s, "%.6g", x);
  ec_buf_printf(b, "%s", s);
}

void ec_target_to_json(const ec_target *t, ec_buf *b, int indent) {
  char pad[64];
  int n = indent < 0 ? 0 : indent > 60 ? 60 : indent;
  memset(pad, ' ', (size_t)n);
  pad[n] = 0;
  ec_buf_printf(b, "{\n%s  \"name\": ", pad);
  ec_buf_json_str(b, t->name);
  ec_buf_printf(b, ",\n%s  \"board\": ", pad);
  ec_buf_json_str(b, t->board);
  ec_buf_printf(b, ",\n%s  \"triple\": ", pad);
  ec_buf_json_str(b, t->triple);
  ec_buf_printf(b, ",\n%s  \"cflags\": [", pad);
  for (int i = 0; i < t->n_cflags; i++) {
    if (i) ec_buf_printf(b, ", ");
    ec_buf_json_str(b, t->cflags[i]);
  }
  ec_buf_printf(b, "],\n%s  \"cores\": %d,\n", pad, t->cores);
  if (t->clock_ghz > 0) {
    ec_buf_printf(b, "%s  \"clock_ghz\": ", pad);
    put_num(b, t->clock_ghz);
    ec_buf_printf(b, ",\n");
  }
  ec_buf_printf(b, "%s  \"ram_mb\": %lld,\n%s  \"features\": [", pad, (long long)t->ram_mb, pad);
  bool first = true;
  for (int i = 0; i < EC_TF_COUNT; i++) {
    if (!(t->features & (UINT64_C(1) << i))) continue;
    ec_buf_printf(b, "%s\"%s\"", first ? "" : ", ", ec_target_feature_name(i));
    first = false;
  }
  ec_buf_printf(b, "],\n%s  \"peak_gflops\": {\"f32\": ", pad);
  put_num(b, t->peak_f32);
  const struct { const char *k; double v; } opt[] = {
      {"f16", t->peak_f16}, {"bf16", t->peak_bf16}, {"i8", t->peak_i8}, {"f64", t->peak_f64}};
  for (int i = 0; i < 4; i++) {
    if (opt[i].v <= 0) continue;
    ec_buf_printf(b, ", \"%s\": ", opt[i].k);
    put_num(b, opt[i].v);
  }
  ec_buf_printf(b, "},\n%s  \"mem_gbps\": ", pad);
  put_num(b, t->mem_gbps);
  ec_buf_printf(b, ",\n%s  \"kernels\": [", pad);
  /* The order of the built-in files: preferred first (onednn before xnnpack on x86-64). */
  const unsigned order[] = {EC_KLIB_ONEDNN, EC_KLIB_XNNPACK, EC_KLIB_OPENBLAS, EC_KLIB_ONEDNN, EC_KLIB_REF};
  first = true;
  for (int i = 0; i < 5; i++) {
    if (order[i] == EC_KLIB_ONEDNN && (i == 0) != t->onednn_first) continue;
    if (!(t->kernels & order[i])) continue;
    ec_buf_printf(b, "%s\"%s\"", first ? "" : ", ", ec_kernel_lib_name(order[i]));
    first = false;
  }
  ec_buf_printf(b, "],\n%s  \"link\": {\"mbps\": ", pad);
  put_num(b, t->link_mbps);
  ec_buf_printf(b, ", \"latency_ms\": ");
  put_num(b, t->link_latency_ms);
  ec_buf_printf(b, "}");
  if (t->sync_us != EC_TARGET_SYNC_US) { /* written only when a description changes it */
    ec_buf_printf(b, ",\n%s  \"sync_us\": ", pad);
    put_num(b, t->sync_us);
  }
  if (t->qemu_cpu[0]) {
    ec_buf_printf(b, ",\n%s  \"qemu_cpu\": ", pad);
    ec_buf_json_str(b, t->qemu_cpu);
  }
  bool any_eff = false;
  for (int l = 0; l < EC_EFF_LIBS; l++)
    for (int c = 0; c < EC_EFF_CLASSES; c++) any_eff |= t->eff[l][c].set != 0;
  if (any_eff) {
    ec_buf_printf(b, ",\n%s  \"efficiency\": {", pad);
    bool first_lib = true;
    for (int l = EC_EFF_LIBS - 1; l >= 0; l--) { /* xnnpack first, like "kernels" */
      bool first_cls = true;
      for (int c = 0; c < EC_EFF_CLASSES; c++) {
        const ec_class_eff *e = &t->eff[l][c];
        if (!e->set) continue;
        if (first_cls) ec_buf_printf(b, "%s\n%s    \"%s\": {", first_lib ? "" : ",", pad, ec_eff_lib_name(l));
        ec_buf_printf(b, "%s\"%s\": {", first_cls ? "" : ", ", ec_eff_class_name(c));
        const double vals[4] = {e->compute, e->memory, e->overhead_ms, e->row_ns};
        static const char *const fk[] = {"compute", "memory", "overhead_ms", "row_ns"};
        bool first_f = true;
        for (int k = 0; k < 4; k++) {
          if (!(e->set & (1u << k))) continue;
          ec_buf_printf(b, "%s\"%s\": ", first_f ? "" : ", ", fk[k]);
          put_num(b, vals[k]);
          first_f = false;
        }
        ec_buf_printf(b, "}");
        first_cls = false;
        first_lib = false;
      }
      if (!first_cls) ec_buf_printf(b, "}");
    }
    ec_buf_printf(b, "\n%s  }", pad);
  }
  if (t->estimated) ec_buf_printf(b, ",\n%s  \"estimated\": true", pad);
  if (t->notes[0]) {
    ec_buf_printf(b, ",\n%s  \"notes\": ", pad);
    ec_buf_json_str(b, t->notes);
  }
  ec_buf_printf(b, "\n%s}", pad);
}
