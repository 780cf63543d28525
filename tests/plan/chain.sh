#!/bin/sh
# chain.sh — a model split into partitions gives the same bits as the whole: compiles MODEL for one
# host device and, with PLAN_ARGS, over several; builds every folder (build_generated.sh); runs
# the single program, then the partitions one after the other through files (p0's outputs are
# p1's inputs...); the final outputs must be byte-identical. Folders are deleted after a pass.
# usage: chain.sh EDGECC PYTHON DIR MODEL WORK PLAN_ARGS...
# DIR holds MODEL.onnx and its input (the zoo cache, which the zoo_export fixture fills, or an
# example folder); a missing file fails the test.
set -eu
edgecc=$1 python=$2 cache=$3 model=$4 work=$5
builddir=$(dirname "$edgecc")  # the edgecc build folder: libecrt.a, libeck_ref.a
src=$(cd "$(dirname "$0")/../.." && pwd)
shift 5
if [ ! -f "$cache/$model.onnx" ]; then
  echo "FAILED: no $cache/$model.onnx: the ctest fixture zoo_export (tests/models/zoo_cache.py) makes it"
  exit 1
fi
rm -rf "$work"
mkdir -p "$work"
m=$cache/$model.onnx
"$edgecc" plan "$m" "$@"
"$edgecc" "$m" --targets host -o "$work/single" >/dev/null
"$edgecc" "$m" "$@" -o "$work/split" >/dev/null
n=$("$python" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["partitions"]))' "$work/split/plan.json")
# Each folder is built by build_generated.sh against BUILD_DIR's runtime and kernel libraries (seconds,
# where a folder's own CMakeLists rebuilds them: that path has the codegen and cross tests).
build() { # DEVICE_DIR PART EXE
  PART=$2 "$src/tests/codegen/build_generated.sh" "$1" "$builddir" "$3" >/dev/null
}
build "$work/single/host" 0 "$work/b-single/${model}_p0"
in=$cache/${model}_input_0.pb
[ -f "$in" ] || in=$cache/samples/input_0.pb  # examples/<model>/samples
"$work/b-single/${model}_p0" --input "$in" --output "$work/single.pb"
k=0
while [ $k -lt "$n" ]; do
  dev=$("$python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["partitions"][int(sys.argv[2])]["device"])' \
        "$work/split/plan.json" $k)
  build "$work/split/$dev" $k "$work/b-$dev/${model}_p$k"
  "$work/b-$dev/${model}_p$k" --input "$in" --output "$work/cut_$k.pb"
  echo "p$k on $dev: $(stat -c %s "$work/cut_$k.pb") bytes out"
  in=$work/cut_$k.pb
  k=$((k + 1))
done
k=$((n - 1))
if ! cmp "$work/single.pb" "$work/cut_$k.pb"; then
  echo "FAIL: $n partitions chained differ from the single program"
  exit 1
fi
echo "$model: $n partitions chained through files give the single program's output bit for bit"
rm -rf "$work"
