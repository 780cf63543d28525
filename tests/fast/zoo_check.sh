#!/bin/sh
# zoo_check.sh — one zoo model through the fast kernels: compile with ec_fastc (extra args are
# passed on, e.g. --no-pass nhwc), build, run on the exported input, compare with torch (1e-4).
# usage: tests/fast/zoo_check.sh FASTC ZOO_DIR MODEL WORK_DIR [FASTC ARGS...]
set -eu
fastc=$1 zoo=$2 model=$3 work=$4
shift 4
here=$(cd "$(dirname "$0")" && pwd)
if [ ! -f "$zoo/$model.onnx" ]; then
  mkdir -p "$zoo"
  /usr/bin/python3 "$here/../models/export_zoo.py" "$model" "$zoo" >/dev/null
fi
rm -rf "$work" && mkdir -p "$work"
"$fastc" "$zoo/$model.onnx" -o "$work/out" --name "$model" "$@"
"$here/build_fast.sh" "$work/out/host" "$work/bin/prog"
"$work/bin/prog" --input "$zoo/${model}_input_0.pb" --output "$work/got.pb"
/usr/bin/python3 "$here/compare.py" "$work/got.pb" "$zoo/${model}_output_0.pb" 1e-4
