#!/bin/sh
# one_pipeline.sh — one order for every compile (issue 11): lowering (`ec_lower(`) and the planner
# (`ec_plan_build(`) are called only by the pipeline module, compiler/pipeline/, which edgecc
# compile, edgecc plan, the tests and the benchmarks go through. Fails naming every other call in
# the C sources of compiler/, tests/ and bench/ (ec_lower's own definition and declaration aside,
# and the planner's calls of itself for alternative plans inside compiler/plan/), and when the
# pipeline itself no longer calls either. Loading and the graph passes (`ec_onnx_load(`,
# `ec_run_passes(`) are likewise called, inside compiler/, only by the pipeline (every command
# loads through ec_cli_load -> ec_pipeline_load); tests of one stage (the loader's fuzzer, the
# pass checker) may call their stage directly.
# usage: one_pipeline.sh SRC_DIR
set -eu
src=$1
cd "$src"
fail=0
calls() { # PATTERN: every line of a C source under compiler/ tests/ bench/ that calls it
  grep -rn --include='*.c' --include='*.h' -e "$1" compiler tests bench || true
}
other=$(calls '\bec_lower(' | grep -v -e '^compiler/pipeline/' -e '^compiler/lower/lower\.[ch]:[0-9]*:ec_status ec_lower(' || true)
if [ -n "$other" ]; then
  echo "FAILED: ec_lower( called outside compiler/pipeline/ (lower through ec_pipeline_run):"
  echo "$other"
  fail=1
fi
other=$(calls '\bec_plan_build(' | grep -v -e '^compiler/pipeline/' -e '^compiler/plan/' || true)
if [ -n "$other" ]; then
  echo "FAILED: ec_plan_build( called outside compiler/pipeline/ and the planner (plan through ec_pipeline_run):"
  echo "$other"
  fail=1
fi
for f in ec_onnx_load ec_run_passes; do
  other=$(grep -rn --include='*.c' -e "\b$f(" compiler | grep -v -e '^compiler/pipeline/' \
    -e "^compiler/[a-z]*/[a-z_]*\.c:[0-9]*:ec_status $f(" -e '^compiler/passes/passes.c:.*return ec_run_passes_counted' || true)
  if [ -n "$other" ]; then
    echo "FAILED: $f( called in compiler/ outside compiler/pipeline/ (load through ec_pipeline_load):"
    echo "$other"
    fail=1
  fi
done
for f in ec_lower ec_plan_build ec_onnx_load ec_run_passes; do
  n=$(grep -c "\b$f(" compiler/pipeline/pipeline.c || true)
  if [ "$n" -ne 1 ]; then
    echo "FAILED: compiler/pipeline/pipeline.c calls $f( $n times (want exactly one call)"
    fail=1
  fi
done
[ $fail -eq 0 ] && echo "one pipeline: ec_onnx_load, ec_run_passes, ec_lower and ec_plan_build are called in compiler/ only by compiler/pipeline/"
exit $fail
