#!/bin/sh
# zoo_cross.sh — one zoo model through whole device folders: exported once into the shared zoo
# cache, compiled for the host and for each aarch64 device (`--targets DEV`), each folder built by
# its own CMakeLists (the device's toolchain.cmake for cross targets), dist/ copied elsewhere as
# onto a board and run from there (under qemu-aarch64 with the board's QEMU_CPU), outputs compared:
# host vs torch (max |diff| <= 1e-4 of the largest output), each device vs host (conformance rule).
# Build folders are deleted after a pass.
# usage: zoo_cross.sh EDGECC PYTHON CACHE MODEL WORK DEV...
# The model comes from the zoo cache that the zoo_export fixture fills; a missing file fails the test.
# environment: KERNELS (edgecc --kernels, default ref), EC_SYSROOT (aarch64 sysroot, for xnnpack),
# EDGECC_FLAGS (more edgecc flags for every compile, e.g. "--threads 2 --parallel inter"),
# RUN_FLAGS (more flags for every run of the program, e.g. "--threads 2"), NEED_CLUSTERS (when set, every
# compile must have planned that many clusters or more in plan.json, so a clustered test cannot pass
# on a program that runs its steps in order)
set -eu
edgecc=$1 python=$2 cache=$3 model=$4 work=$5
shift 5
here=$(cd "$(dirname "$0")" && pwd)
if [ ! -f "$cache/$model.onnx" ]; then
  echo "FAILED: no $cache/$model.onnx: the ctest fixture zoo_export (tests/models/zoo_cache.py) makes it"
  exit 1
fi
rm -rf "$work"
mkdir -p "$work"
libc=$(readlink -f "$(aarch64-linux-gnu-gcc -print-file-name=libc.so.6)")
prefix=$(dirname "$(dirname "$libc")")
unset LD_LIBRARY_PATH
for dev in host "$@"; do
  start=$(date +%s)
  # shellcheck disable=SC2086
  "$edgecc" "$cache/$model.onnx" --targets "$dev" --kernels "${KERNELS:-ref}" ${EDGECC_FLAGS:-} -o "$work/out-$dev" >/dev/null
  if [ -n "${NEED_CLUSTERS:-}" ]; then
    "$python" - "$work/out-$dev/plan.json" "$NEED_CLUSTERS" "$dev" <<'EOF'
import json, sys
n = len(json.load(open(sys.argv[1]))["partitions"][0]["clusters"])
print("%s: %d clusters planned" % (sys.argv[3], n))
sys.exit(0 if n >= int(sys.argv[2]) else "FAILED: %s: %d cluster(s) planned, the test needs %s" % (sys.argv[3], n, sys.argv[2]))
EOF
  fi
  tc=""
  [ -f "$work/out-$dev/$dev/toolchain.cmake" ] && tc="--toolchain $work/out-$dev/$dev/toolchain.cmake"
  [ -n "$tc" ] && [ -n "${EC_SYSROOT:-}" ] && tc="$tc -DEC_SYSROOT=$EC_SYSROOT"
  # shellcheck disable=SC2086
  cmake -S "$work/out-$dev/$dev" -B "$work/b-$dev" $tc >/dev/null
  cmake --build "$work/b-$dev" -j 2 >/dev/null
  built=$(date +%s)
  cp -r "$work/b-$dev/dist" "$work/board-$dev"
  rm -rf "$work/b-$dev"
  if [ "$dev" = host ]; then
    # shellcheck disable=SC2086
    "$work/board-$dev/${model}_p0" --input "$cache/${model}_input_0.pb" --output "$work/$dev.pb" ${RUN_FLAGS:-}
    "$python" - "$cache/${model}_output_0.pb" "$work/$dev.pb" <<'EOF'
import sys
import numpy as np, onnx
from onnx import numpy_helper as nh
e, g = (nh.to_array(onnx.load_tensor(p)).astype(np.float64) for p in sys.argv[1:3])
d = np.abs(e - g).max() / np.abs(e).max()
print("host vs torch: max |diff| = %.2g of the largest output" % d)
sys.exit(0 if e.shape == g.shape and d <= 1e-4 else 1)
EOF
  else
    cpu=$("$edgecc" targets "$dev" | "$python" -c 'import json,sys; print(json.load(sys.stdin)["qemu_cpu"])')
    # shellcheck disable=SC2086
    QEMU_CPU=$cpu qemu-aarch64 -L "$prefix" "$work/board-$dev/${model}_p0" --input "$cache/${model}_input_0.pb" \
      --output "$work/$dev.pb" ${RUN_FLAGS:-}
    "$python" "$here/compare_pb.py" "$work/host.pb" "$work/$dev.pb"
    if cmp -s "$work/host.pb" "$work/$dev.pb"; then same="bit-identical to"; else same="within tolerance of"; fi
    echo "$dev: QEMU_CPU=$cpu, glibc >= $(cat "$work/board-$dev/glibc-min.txt"), output $same the host's"
  fi
  echo "$dev: compile + build $((built - start)) s, run $(( $(date +%s) - built )) s"
done
rm -rf "$work"
