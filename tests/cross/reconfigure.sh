#!/bin/sh
# reconfigure.sh — a pi5 build folder configured first for `--kernels ref` (no sysroot), then, after
# a recompile with the fast kernels into the same output folder, again with -DEC_SYSROOT: the
# build must find XNNPACK's libraries for dist/ although the folder's cached compiler facts come
# from the first run (README command 1 failed like this on a machine that had run it before).
# usage: reconfigure.sh EDGECC SYSROOT WORK MODEL INPUT.pb
set -eu
edgecc=$1 sysroot=$2 work=$3 model=$4 input=$5
rm -rf "$work"
mkdir -p "$work"
"$edgecc" "$model" --targets pi5 --kernels ref -o "$work/out" >/dev/null
cmake -S "$work/out/pi5" -B "$work/b" --toolchain "$work/out/pi5/toolchain.cmake" >/dev/null
cmake --build "$work/b" >/dev/null
"$edgecc" "$model" --targets pi5 -o "$work/out" --force >/dev/null
grep -q '"kernels": "xnnpack"' "$work/out/plan.json"
cmake -S "$work/out/pi5" -B "$work/b" --toolchain "$work/out/pi5/toolchain.cmake" -DEC_SYSROOT="$sysroot" >/dev/null
cmake --build "$work/b" >/dev/null
ls "$work/b/dist/lib/" | grep -q '^libXNNPACK\.so' || { echo "FAIL: no libXNNPACK in dist/lib"; exit 1; }
libc=$(readlink -f "$(aarch64-linux-gnu-gcc -print-file-name=libc.so.6)")
prog=$(ls "$work/b/dist" | grep '_p0$')
QEMU_CPU=cortex-a76 qemu-aarch64 -L "$(dirname "$(dirname "$libc")")" "$work/b/dist/$prog" --input "$input" \
  --output "$work/y.pb" >/dev/null
echo "reconfigured with the sysroot: dist/ has XNNPACK and runs under qemu"
rm -rf "$work"
