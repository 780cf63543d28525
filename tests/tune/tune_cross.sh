#!/bin/sh
# tune_cross.sh — tuning for a board: `edgecc tune MODEL --targets pi5 -o DIR` writes the tuning
# folder; it cross-builds with its toolchain.cmake and the aarch64 sysroot like any device folder;
# its program, run under qemu-aarch64 (QEMU_CPU=cortex-a76, the families' programs started
# through the same qemu with --runner), writes the tuning file. Timings under qemu mean nothing;
# the file must be well-formed (check_tuning.py: xnnpack and ref, pi5 has no oneDNN) and usable:
# the model compiled for pi5 with --tuning, cross-built and run under qemu, equals `edgecc eval`.
# usage: tests/tune/tune_cross.sh EDGECC WORK_DIR SYSROOT
set -eu
edgecc=$1 work=$2 sysroot=$3
here=$(cd "$(dirname "$0")" && pwd)
py=/usr/bin/python3
libc=$(aarch64-linux-gnu-gcc -print-file-name=libc.so.6)
prefix=$(dirname "$(dirname "$(readlink -f "$libc")")")
rm -rf "$work" && mkdir -p "$work"
$py "$here/../fast/tiny_model.py" "$work"
m=$work/tiny.onnx
"$edgecc" eval "$m" --input "$work/tiny_input_0.pb" --output "$work/want_y.pb" --output "$work/want_sum.pb"
"$edgecc" tune "$m" --targets pi5 -o "$work/dir"
for f in CMakeLists.txt toolchain.cmake README.md tune/tune_main.c tune/ecrt_tune.c xnnpack/pi5/toolchain.cmake \
         ref/pi5/CMakeLists.txt; do
  [ -f "$work/dir/$f" ] || { echo "the tuning folder has no $f"; exit 1; }
done
[ ! -e "$work/dir/onednn" ] || { echo "a oneDNN folder for pi5"; exit 1; }
cmake -S "$work/dir" -B "$work/b" --toolchain "$work/dir/toolchain.cmake" -DEC_SYSROOT="$sysroot" >"$work/build.log"
cmake --build "$work/b" -j2 >>"$work/build.log" 2>&1 || { tail -30 "$work/build.log"; exit 1; }
# ELF e_machine (2 bytes at offset 18) is 183 for aarch64; od is coreutils (the fresh root has no `file`)
[ "$(od -An -tu2 -j18 -N2 "$work/b/tune_tiny" | tr -d ' ')" = 183 ] || { echo "tune_tiny is not an aarch64 program"; exit 1; }
QEMU_CPU=cortex-a76 qemu-aarch64 -L "$prefix" "$work/b/tune_tiny" --output "$work/tuning.json" --runs 2 \
  --runner "qemu-aarch64 -L $prefix" 2>"$work/tune.err" || { cat "$work/tune.err"; exit 1; }
grep -q '^tune: \[1/' "$work/tune.err" || { echo "no progress per node"; cat "$work/tune.err"; exit 1; }
$py "$here/check_tuning.py" "$work/tuning.json" pi5 xnnpack ref
"$edgecc" "$m" --targets pi5 --tuning "$work/tuning.json" -o "$work/out" >/dev/null
grep -q '"target": "pi5"}' "$work/out/plan.json" || { echo "plan.json names no pi5 tuning file"; exit 1; }
cmake -S "$work/out/pi5" -B "$work/ob" --toolchain "$work/out/pi5/toolchain.cmake" -DEC_SYSROOT="$sysroot" >>"$work/build.log"
cmake --build "$work/ob" -j2 >>"$work/build.log" 2>&1 || { tail -30 "$work/build.log"; exit 1; }
QEMU_CPU=cortex-a76 qemu-aarch64 -L "$prefix" "$work/ob/dist/tiny_p0" --input "$work/tiny_input_0.pb" \
  --output "$work/y.pb" --output "$work/sum.pb"
$py "$here/../fast/compare.py" "$work/y.pb" "$work/want_y.pb" 1e-4
$py "$here/../fast/compare.py" "$work/sum.pb" "$work/want_sum.pb" 1e-4
rm -rf "$work"
echo "tune_cross: ok"
