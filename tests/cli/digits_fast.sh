#!/usr/bin/env bash
# digits_fast.sh EDGECC SRC WORK — the bundled digits example with --kernels xnnpack: compiled,
# built with its own CMakeLists.txt, and run on every sample; each output within 1e-4 of the
# largest torch output. (Its one-channel input is the same in NCHW and NHWC, a case the layout
# choice once got wrong.)
set -euo pipefail
edgecc=$1 src=$2 work=$3
rm -rf "$work"
"$edgecc" "$src/examples/digits/digits.onnx" --targets host --kernels xnnpack -o "$work/out" >/dev/null
cmake -S "$work/out/host" -B "$work/b" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/b" >/dev/null
for k in 0 1 2 3 4 5 6 7; do
  "$work/b/digits_p0" --input "$src/examples/digits/samples/input_$k.pb" --output "$work/got_$k.pb" >/dev/null
done
/usr/bin/python3 - "$src" "$work" <<'PY'
import sys, numpy as np, onnx
from onnx import numpy_helper as nh
src, work = sys.argv[1], sys.argv[2]
for k in range(8):
    got = nh.to_array(onnx.load_tensor("%s/got_%d.pb" % (work, k)))
    exp = nh.to_array(onnx.load_tensor("%s/examples/digits/samples/output_%d.pb" % (src, k)))
    err = float(np.abs(got - exp).max())
    if err > 1e-4 * float(np.abs(exp).max()):
        sys.exit("FAILED: sample %d differs from torch by %g" % (k, err))
print("digits with --kernels xnnpack: 8 samples match torch")
PY
rm -rf "$work"
