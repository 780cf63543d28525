#!/bin/sh
# tiny_check.sh — the fast path end to end on a tiny model (tiny_model.py: conv, pooling, concat,
# BatchNormalization, slice, add, gemm): `edgecc compile --kernels xnnpack`, build, run at the
# default, 1 and 2 threads, and compare every output with `edgecc eval` (1e-4 of the largest).
# usage: tests/fast/tiny_check.sh EDGECC WORK_DIR
set -eu
edgecc=$1 work=$2
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$work" && mkdir -p "$work"
/usr/bin/python3 "$here/tiny_model.py" "$work"
"$edgecc" eval "$work/tiny.onnx" --input "$work/tiny_input_0.pb" --output "$work/want_y.pb" \
  --output "$work/want_sum.pb"
"$edgecc" compile "$work/tiny.onnx" --targets host --kernels xnnpack -o "$work/out" >/dev/null
src="$work/out/host/tiny_p0.c"
# The lowering must have kept this model in NHWC: one conversion in, one per NCHW output.
for k in "XNNPACK" "BatchNormalization (NHWC)" "channel slice (NHWC)"; do
  grep -q "kernel: $k" "$src" || { echo "no '$k' step in $src"; exit 1; }
done
# The Concat lowered in place is no step; the tensor table says so.
grep -q "Concat, no step: channel concat in place" "$src" || { echo "no in-place Concat in $src"; exit 1; }
if grep -q "return eck_ref_\(batchnorm\|slice\|conv\|concat\)" "$src"; then
  echo "a reference kernel is left in $src"; exit 1
fi
"$here/build_fast.sh" "$work/out/host" "$work/bin/prog"
for t in default 1 2; do
  set -- --input "$work/tiny_input_0.pb" --output "$work/got_y_$t.pb" --output "$work/got_sum_$t.pb"
  if [ "$t" = default ]; then "$work/bin/prog" "$@"; else "$work/bin/prog" "$@" --threads "$t"; fi
  /usr/bin/python3 "$here/compare.py" "$work/got_y_$t.pb" "$work/want_y.pb" 1e-4
  /usr/bin/python3 "$here/compare.py" "$work/got_sum_$t.pb" "$work/want_sum.pb" 1e-4
done
