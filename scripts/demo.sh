#!/usr/bin/env bash
# demo.sh — the main job on the bundled example: compile the digits model for the host, build
# the generated folder with its own CMake, run it on the sample digits and show predicted vs
# true labels. Fails (exit 1) when a sample is predicted wrong, on the host or under qemu.
# EC_DEMO_LABELS names another labels file (tests break one label with it on purpose).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
EDGECC=${EDGECC:-$EC_BUILD/edgecc}
EX=$EC_ROOT/examples/digits
OUT=${EC_DEMO_OUT:-$EC_BUILD/demo}
MODEL=$EX/digits.onnx
LABELS=${EC_DEMO_LABELS:-$EX/samples/labels.txt}

ec_log "edgecc inspect examples/digits/digits.onnx"
"$EDGECC" inspect "$MODEL"

ec_log "edgecc examples/digits/digits.onnx --targets host -o $OUT"
"$EDGECC" "$MODEL" --targets host -o "$OUT" --force

ec_log "building $OUT/host with its own CMakeLists.txt"
cmake -S "$OUT/host" -B "$OUT/build-host" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$OUT/build-host" >/dev/null

# Prints "sample  true  predicted" for each sample, from the logits the program wrote, and fails
# unless every sample is predicted right: a demo that shows a wrong digit has found a bug.
show_labels() {
  local where=$1 prog=$2; shift 2
  local right=0 total=0 wrong=""
  printf '%-12s %5s %10s\n' sample true predicted
  while read -r file label; do
    local outpb=$OUT/logits_${file}
    "$@" "$prog" --input "$EX/samples/$file" --output "$outpb" >/dev/null
    local pred
    pred=$(/usr/bin/python3 -c "import sys, onnx, onnx.numpy_helper as nh; print(int(nh.to_array(onnx.load_tensor(sys.argv[1])).argmax()))" "$outpb")
    printf '%-12s %5s %10s\n' "$file" "$label" "$pred"
    total=$((total + 1))
    if [ "$pred" = "$label" ]; then right=$((right + 1)); else wrong="$wrong $file"; fi
  done < "$LABELS"
  ec_log "$right of $total samples predicted correctly ($where)"
  if [ "$total" -eq 0 ] || [ -n "$wrong" ]; then
    echo "demo: error: $where: $((total - right)) of $total samples predicted wrong:$wrong (labels: $LABELS)" >&2
    exit 1
  fi
}

ec_log "running $OUT/build-host/digits_p0 on the samples"
show_labels host "$OUT/build-host/digits_p0"

# Cross-build the same model for a Raspberry Pi 5 and run its dist/ under qemu with the board's CPU.
# The fast kernels link the board's XNNPACK: an aarch64 sysroot from Debian's :arm64 packages.
SYSROOT=${EC_SYSROOT:-$EC_BUILD/sysroot-aarch64}
ec_log "targets/make-sysroot.sh $SYSROOT (XNNPACK, pthreadpool, cpuinfo, OpenBLAS for aarch64)"
sh "$EC_ROOT/targets/make-sysroot.sh" "$SYSROOT"
ec_log "edgecc examples/digits/digits.onnx --targets pi5 -o $OUT-pi5"
"$EDGECC" "$MODEL" --targets pi5 -o "$OUT-pi5" --force
ec_log "cross-building $OUT-pi5/pi5 with its toolchain.cmake (gcc-aarch64-linux-gnu, -mcpu=cortex-a76)"
rm -rf "$OUT/build-pi5"  # a folder configured by an older run keeps that run's settings
cmake -S "$OUT-pi5/pi5" -B "$OUT/build-pi5" -G Ninja --toolchain "$OUT-pi5/pi5/toolchain.cmake" \
  -DEC_SYSROOT="$SYSROOT" >/dev/null
cmake --build "$OUT/build-pi5" >/dev/null
ec_log "running $OUT/build-pi5/dist/digits_p0 under qemu-aarch64 (QEMU_CPU=cortex-a76); dist/ needs glibc >= $(cat "$OUT/build-pi5/dist/glibc-min.txt")"
show_labels "pi5 under qemu" "$OUT/build-pi5/dist/digits_p0" env QEMU_CPU=cortex-a76 qemu-aarch64 -L /usr/aarch64-linux-gnu
