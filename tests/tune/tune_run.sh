#!/bin/sh
# tune_run.sh — `edgecc tune` for real on this machine: tunes MODEL (its seeded input made by the
# tuning program), checks the tuning file (check_tuning.py: every family of the x86-64 target timed
# for every entry), compiles with --tuning, builds with the device folder's CMake and compares the
# output with WANT.pb (1e-4 of the largest: the zoo rule, torch's output for a zoo model).
# usage: tests/tune/tune_run.sh EDGECC WORK_DIR MODEL.onnx INPUT.pb WANT.pb [RUNS]
set -eu
edgecc=$1 work=$2 model=$3 input=$4 want=$5 runs=${6:-5}
here=$(cd "$(dirname "$0")" && pwd)
py=/usr/bin/python3
for f in "$model" "$input" "$want"; do
  [ -f "$f" ] || { echo "FAILED: missing $f"; exit 1; }
done
rm -rf "$work" && mkdir -p "$work"
TMPDIR=$work "$edgecc" tune "$model" --targets host -o "$work/tuning.json" --runs "$runs" --threads 1 2>"$work/tune.err" ||
  { cat "$work/tune.err"; exit 1; }
# Progress: one line per node.
n=$(grep -c '^tune: \[[0-9]*/[0-9]*\] ' "$work/tune.err")
[ "$n" -gt 0 ] || { echo "no progress lines per node"; cat "$work/tune.err"; exit 1; }
$py "$here/check_tuning.py" "$work/tuning.json" x86-64 onednn xnnpack ref
# The temporary tuning folder is gone after a good run.
[ -z "$(find "$work" -maxdepth 1 -name 'edgecc-tune-*')" ] || { echo "the tuning folder was left in $work"; exit 1; }
"$edgecc" "$model" --targets host --tuning "$work/tuning.json" --threads 1 -o "$work/out" >/dev/null
$py -c "
import json, sys
p = json.load(open(sys.argv[1]))
k = p['partitions'][0]['node_kernels']
tuned = sum(n['tuned'] for n in k)
if not tuned: sys.exit('no node took its kernel from the tuning file')
print(f'{tuned} of {len(k)} steps tuned:', sorted({n[\"kernel\"] for n in k if n[\"tuned\"]}))
" "$work/out/plan.json"
cmake -S "$work/out/host" -B "$work/build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/build" -j2 >/dev/null
prog=$(ls "$work/build" | grep '_p0$')
"$work/build/$prog" --input "$input" --output "$work/got.pb"
$py "$here/../fast/compare.py" "$work/got.pb" "$want" 1e-4
rm -rf "$work"
