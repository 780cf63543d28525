/* main.c — edgecc's command line: dispatches to the subcommands and maps failures to exit
 * statuses (0 success, 1 model or compile error, 2 usage error, 3 internal error). */
#include <stdio.h>
#include <string.h>

#include "cli.h"

int ec_cmd_targets(int argc, char **argv); /* cli/targets.c */
int ec_cmd_compile(int argc, char **argv); /* cli/compile.c */
int ec_cmd_plan(int argc, char **argv);    /* cli/plan.c */
int ec_cmd_calibrate(int argc, char **argv); /* cli/calibrate.c */
int ec_cmd_tune(int argc, char **argv);      /* cli/tune.c */

static const char usage[] =
    "usage: edgecc COMMAND [ARGS...]\n"
    "\n"
    "edgecc compiles ONNX models into standalone C programs for edge boards.\n"
    "\n"
    "commands:\n"
    "  inspect MODEL [--json]     inputs, outputs, ops, parameters, FLOPs of a model\n"
    "  eval MODEL --input F.pb... run a model in-process with the reference kernels\n"
    "  [compile] MODEL --targets DEVICES -o OUT   C code per device (edgecc compile --help)\n"
    "  plan MODEL --targets DEVICES   the partition plan over the devices, as a table\n"
    "  calibrate MODEL --calib DIR    activation ranges and int8 scales from calibration data\n"
    "  tune MODEL --targets DEVICE -o tuning.json   time each node on each kernel family (--tuning)\n"
    "  targets [--detect]         list the device descriptions, or describe this machine\n"
    "\n"
    "objectives (--objective, for compile and plan): devices are used in the order given, and a\n"
    "device may stay unused; the compile summary says why and which flag would use it.\n"
    "  latency (default)   the shortest time for one request, transfers included; usually the\n"
    "                      fastest board alone:  edgecc model.onnx --targets pi5,orin -o out/\n"
    "  throughput          the most requests per second: a pipeline whose slowest stage is\n"
    "                      shortest, one stage per board:\n"
    "                      edgecc model.onnx --targets pi5,orin --objective throughput -o out/\n"
    "  manual              exactly N partitions, whatever either objective prefers: --partitions N\n"
    "\n"
    "options:\n"
    "  --help, -h                 this text; `edgecc COMMAND --help` for a command's own\n"
    "  --version                  print edgecc's version\n"
    "\n"
    "exit status: 0 success, 1 model or compile error, 2 usage error, 3 internal error\n";

int main(int argc, char **argv) {
  if (argc < 2) {
    fputs(usage, stderr);
    return EC_ERR_USAGE;
  }
  const char *cmd = argv[1];
  if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
    fputs(usage, stdout);
    return 0;
  }
  if (strcmp(cmd, "--version") == 0) {
    printf("edgecc %s\n", EC_VERSION);
    return 0;
  }
  if (strcmp(cmd, "inspect") == 0) return ec_cmd_inspect(argc - 2, argv + 2);
  if (strcmp(cmd, "eval") == 0) return ec_cmd_eval(argc - 2, argv + 2);
  if (strcmp(cmd, "targets") == 0) return ec_cmd_targets(argc - 2, argv + 2);
  if (strcmp(cmd, "plan") == 0) return ec_cmd_plan(argc - 2, argv + 2);
  if (strcmp(cmd, "calibrate") == 0) return ec_cmd_calibrate(argc - 2, argv + 2);
  if (strcmp(cmd, "tune") == 0) return ec_cmd_tune(argc - 2, argv + 2);
  if (strcmp(cmd, "compile") == 0) return ec_cmd_compile(argc - 2, argv + 2);
  /* `edgecc MODEL --targets ... -o OUT`: a model file (or an option) first means compile. */
  size_t n = strlen(cmd);
  if (cmd[0] == '-' || (n > 5 && strcmp(cmd + n - 5, ".onnx") == 0) || strchr(cmd, '/'))
    return ec_cmd_compile(argc - 1, argv + 1);
  return ec_usage_error("unknown command '%s' (see edgecc --help)", cmd);
}
