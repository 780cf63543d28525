#!/bin/sh
# resize_check.sh — linear Resize/Upsample on XNNPACK's bilinear resize (resize_model.py): each
# coordinate mode it runs must be compiled to an XNNPACK step with the right flag, a scale that
# floors must stay on the reference kernel, and every output must match `edgecc eval` (1e-5 of
# the largest) at the default, 1 and 2 threads.
# usage: tests/fast/resize_check.sh EDGECC WORK_DIR
set -eu
edgecc=$1 work=$2
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$work" && mkdir -p "$work"
/usr/bin/python3 "$here/resize_model.py" "$work"

# expect FILE PATTERN COUNT: PATTERN (grep -F) occurs on exactly COUNT lines of FILE.
expect() {
  got=$(grep -c -F -- "$2" "$1" || true)
  [ "$got" -eq "$3" ] || { echo "$1: '$2' on $got lines, expected $3"; exit 1; }
}

# run MODEL OUTPUTS...: compile, build, run at three thread counts, compare with edgecc eval.
run() {
  m=$1
  shift
  want=""
  for o in "$@"; do want="$want --output $work/want_${m}_$o.pb"; done
  # shellcheck disable=SC2086
  "$edgecc" eval "$work/$m.onnx" --input "$work/${m}_input_0.pb" $want
  "$here/build_fast.sh" "$work/out_$m/host" "$work/bin_$m/prog"
  for t in default 1 2; do
    got=""
    for o in "$@"; do got="$got --output $work/got_${m}_${o}_$t.pb"; done
    # shellcheck disable=SC2086
    if [ "$t" = default ]; then "$work/bin_$m/prog" --input "$work/${m}_input_0.pb" $got
    else "$work/bin_$m/prog" --input "$work/${m}_input_0.pb" $got --threads "$t"; fi
    for o in "$@"; do
      /usr/bin/python3 "$here/compare.py" "$work/got_${m}_${o}_$t.pb" "$work/want_${m}_$o.pb" 1e-5
    done
  done
}

"$edgecc" compile "$work/resize.onnx" --targets host --kernels xnnpack -o "$work/out_resize" >/dev/null
src="$work/out_resize/host/resize_p0.c"
# half_pixel, align_corners and asymmetric (with their flags), pytorch_half_pixel on XNNPACK; the
# 0.6 scale (4 pixels -> 2) on the reference kernel.
expect "$src" ".kind = ECK_XNN_RESIZE" 4
expect "$src" ".kind = ECK_XNN_RESIZE, .flags = ECK_XNN_FLAG_ALIGN_CORNERS" 1
expect "$src" ".kind = ECK_XNN_RESIZE, .flags = ECK_XNN_FLAG_TF_LEGACY" 1
expect "$src" "return eck_ref_resize(" 1
# The half_pixel resize writes straight into the Concat's channels (output pixel stride 14): the
# Concat is no step, its tensor says so.
expect "$src" "no step: channel concat in place" 1
run resize y1 y2 y3 y4

for m in upsample resize10; do
  "$edgecc" compile "$work/$m.onnx" --targets host --kernels xnnpack -o "$work/out_$m" >/dev/null
  src="$work/out_$m/host/${m}_p0.c"
  # One channel: no layout conversion around the resize.
  expect "$src" ".kind = ECK_XNN_RESIZE, .flags = ECK_XNN_FLAG_TF_LEGACY" 1
  expect "$src" "kernel: layout" 0
  expect "$src" "eck_ref_resize(" 0
  run "$m" y
done
