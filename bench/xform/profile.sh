#!/bin/sh
# profile.sh — where a model's time goes in edgecc's generated program, per op type, in CPU time:
# compiles MODEL for host, builds the folder with its own CMake with the timer switched to the
# thread's CPU clock (a copy of runtime/ecrt_platform_posix.c patched in the output folder only, so
# that a loaded machine's waits are not counted), runs --profile-json at 1 thread and sums the
# steps by op (the node's op_type; fused steps under their kernel's op).
# usage: bench/xform/profile.sh EDGECC MODEL.onnx INPUT.pb WORK [RUNS [edgecc flags...]]
# prints: op, ms per run (CPU), share, steps; then the total. Takes about a minute per model.
set -eu
[ $# -ge 4 ] || { sed -n '2,8p' "$0" >&2; exit 2; }
edgecc=$1 model=$2 input=$3 work=$4
runs=${5:-10}
[ $# -ge 5 ] && shift 5 || shift 4
rm -rf "$work/out"
mkdir -p "$work"
"$edgecc" "$model" --targets host -o "$work/out" "$@" >/dev/null
dev=$work/out/host
sed -i 's/CLOCK_MONOTONIC/CLOCK_THREAD_CPUTIME_ID/' "$dev/runtime/ecrt_platform_posix.c"
cmake -S "$dev" -B "$work/build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/build" -j2 >/dev/null
exe=$(find "$work/build" -maxdepth 1 -type f -name '*_p0' | head -n 1)
"$exe" --input "$input" --output "$work/out.pb" --bench "$runs" --threads 1 \
  --profile-json "$work/profile.json" >/dev/null
/usr/bin/python3 - "$work/profile.json" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
by = {}
for s in p["steps"]:
    t, n = by.get(s["op"], (0.0, 0))
    by[s["op"]] = (t + s["mean_ms"], n + 1)
total = sum(t for t, _ in by.values())
for op, (t, n) in sorted(by.items(), key=lambda kv: -kv[1][0]):
    print("%-22s %8.2f ms %5.1f%% %4d steps" % (op, t, 100 * t / total, n))
print("%-22s %8.2f ms (CPU, 1 thread, mean of %d runs; run median %.2f ms)" %
      ("total", total, p["runs"], p["run_median_ms"]))
PY
