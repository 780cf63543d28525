/* plan.c — `edgecc plan MODEL --targets DEVICES ...`: prints the partition plan (devices, nodes,
 * predicted compute and transfers, end-to-end latency and throughput) without writing code. */
#include <stdbool.h>

int ec_compile_main(int argc, char **argv, bool plan_only); /* cli/compile.c: same options */
int ec_cmd_plan(int argc, char **argv);

/* Shares compile's parsing and planning so that `edgecc plan` shows exactly the plan compile
 * would follow for the same options. */
int ec_cmd_plan(int argc, char **argv) { return ec_compile_main(argc, argv, true); }
