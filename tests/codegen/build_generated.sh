#!/bin/sh
# build_generated.sh — builds a generated device folder WITHOUT running its CMake: compiles only
# the generated top-level .c files (<name>_p<k>.c, main_p<k>.c, <name>_p<k>_weights.c if any), plus
# the folder's kernels/xnnpack and kernels/blas copies when it has them (--kernels xnnpack), and
# links them against the runtime and reference kernels built once by the main build (and against
# XNNPACK and OpenBLAS for those families).
#
# usage: tests/codegen/build_generated.sh DEVICE_DIR BUILD_DIR EXE
#   DEVICE_DIR  a device folder edgecc wrote (OUT/host)
#   BUILD_DIR   the edgecc CMake build folder (holds libecrt.a and libeck_ref.a; targets ecrt, eck_ref)
#   EXE         the program to write; the weights (<name>_p<k>.bin) are copied beside it, where
#               the program looks for them by default
# environment: CC (default cc), CFLAGS (default -O2). Exit status: 0 built, 1 failed, 2 usage.
# With several partitions in the folder, set PART=k to pick main_p<k>.c (default 0).
set -eu
if [ $# -ne 3 ]; then
  sed -n '2,14p' "$0" >&2
  exit 2
fi
dev=$1 build=$2 exe=$3
part=${PART:-0}
cc=${CC:-cc}
cflags=${CFLAGS:--O2}
lib_dir() { # the folder holding lib$1.a in the build tree
  if [ -f "$build/lib$1.a" ]; then echo "$build"; else dirname "$(find "$build" -name "lib$1.a" | head -n 1)"; fi
}
ecrt=$(lib_dir ecrt)/libecrt.a
eckref=$(lib_dir eck_ref)/libeck_ref.a
[ -f "$ecrt" ] && [ -f "$eckref" ] || { echo "build_generated.sh: libecrt.a or libeck_ref.a missing in $build (build targets ecrt and eck_ref)" >&2; exit 1; }
main="$dev/main_p$part.c"
[ -f "$main" ] || { echo "build_generated.sh: $main not found" >&2; exit 1; }
prog=$(sed -n 's/^#include "\(.*_p[0-9]*\)\.h"$/\1/p' "$main" | head -n 1)
srcs="$main $dev/$prog.c"
[ -f "$dev/${prog}_weights.c" ] && srcs="$srcs $dev/${prog}_weights.c"
incs="-I$dev -I$dev/runtime -I$dev/kernels/ref"
libs=""
# Only the fast families the folder carries: edgecc copies a family when a step uses it.
if [ -d "$dev/kernels/xnnpack" ]; then
  srcs="$srcs $(find "$dev/kernels/xnnpack" -name '*.c' | sort | tr '\n' ' ')"
  incs="$incs -I$dev/kernels/xnnpack"
  libs="$libs -lXNNPACK -lpthreadpool -lcpuinfo -lpthread"
fi
if [ -d "$dev/kernels/onednn" ]; then # --kernels onednn: oneDNN and its OpenMP runtime
  srcs="$srcs $(find "$dev/kernels/onednn" -name '*.c' | sort | tr '\n' ' ')"
  incs="$incs -I$dev/kernels/onednn"
  libs="$libs -ldnnl -fopenmp"
fi
if [ -d "$dev/kernels/blas" ]; then
  srcs="$srcs $(find "$dev/kernels/blas" -name '*.c' | sort | tr '\n' ' ')"
  incs="$incs -I$dev/kernels/blas"
  libs="$libs -lopenblas"
fi
mkdir -p "$(dirname "$exe")"
# shellcheck disable=SC2086
"$cc" -std=c99 $cflags $incs $srcs "$ecrt" "$eckref" $libs -lm -o "$exe"
if [ -f "$dev/$prog.bin" ]; then cp "$dev/$prog.bin" "$(dirname "$exe")/$prog.bin"; fi
