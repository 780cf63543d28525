#!/usr/bin/env bash
# digits_onednn.sh EDGECC SRC WORK — the bundled digits example with --kernels onednn through the
# user's path: compiled, built with its own CMakeLists.txt, run from dist/ on every sample at 1 and
# 2 threads, each output within 1e-4 of the largest torch output. Also checks that oneDNN ran
# steps, that the folder links libdnnl (and dist/ carries it and libgomp) only when a step uses
# it: the same model with --kernels xnnpack names no dnnl.
set -euo pipefail
edgecc=$1 src=$2 work=$3
rm -rf "$work"
"$edgecc" "$src/examples/digits/digits.onnx" --targets host --kernels onednn -o "$work/out" >/dev/null
"$edgecc" "$src/examples/digits/digits.onnx" --targets host --kernels xnnpack -o "$work/xnn" >/dev/null
n=$(grep -c '^/\* kernel: oneDNN \*/$' "$work/out/host/digits_p0.c" || true)
[ "$n" -gt 0 ] || { echo "FAILED: no step of digits_p0.c runs on oneDNN"; exit 1; }
grep -q 'find_library(EC_LIB[0-9]* dnnl)' "$work/out/host/CMakeLists.txt" ||
  { echo "FAILED: the onednn folder's CMakeLists.txt does not link dnnl"; exit 1; }
if grep -qi 'dnnl\|OpenMP' "$work/xnn/host/CMakeLists.txt" || [ -d "$work/xnn/host/kernels/onednn" ]; then
  echo "FAILED: the xnnpack folder carries or links oneDNN"; exit 1
fi
cmake -S "$work/out/host" -B "$work/b" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/b" >/dev/null
for lib in libdnnl.so.2 libgomp.so.1; do
  [ -f "$work/b/dist/lib/$lib" ] || { echo "FAILED: dist/lib has no $lib"; exit 1; }
done
for t in 1 2; do
  for k in 0 1 2 3 4 5 6 7; do
    "$work/b/dist/digits_p0" --input "$src/examples/digits/samples/input_$k.pb" --output "$work/got_${t}_$k.pb" \
      --threads "$t" >/dev/null
  done
done
/usr/bin/python3 - "$src" "$work" <<'PY'
import sys, numpy as np, onnx
from onnx import numpy_helper as nh
src, work = sys.argv[1], sys.argv[2]
for t in (1, 2):
    for k in range(8):
        got = nh.to_array(onnx.load_tensor("%s/got_%d_%d.pb" % (work, t, k)))
        exp = nh.to_array(onnx.load_tensor("%s/examples/digits/samples/output_%d.pb" % (src, k)))
        err = float(np.abs(got - exp).max())
        if err > 1e-4 * float(np.abs(exp).max()):
            sys.exit("FAILED: sample %d at %d threads differs from torch by %g" % (k, t, err))
print("digits with --kernels onednn: 8 samples match torch at 1 and 2 threads")
PY
rm -rf "$work"
