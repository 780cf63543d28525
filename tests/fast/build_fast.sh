#!/bin/sh
# build_fast.sh — builds a generated device folder that uses the fast kernels, without its
# CMake: every .c of the folder (its runtime/ and kernels/ copies too), linked against XNNPACK,
# pthreadpool and OpenBLAS. usage: tests/fast/build_fast.sh DEVICE_DIR EXE
# environment: CC (default cc), CFLAGS (default -O2). Copies the weights beside EXE.
set -eu
[ $# -eq 2 ] || { sed -n '2,5p' "$0" >&2; exit 2; }
dev=$1 exe=$2
cc=${CC:-cc}
cflags=${CFLAGS:--O2}
main="$dev/main_p0.c"
prog=$(sed -n 's/^#include "\(.*_p[0-9]*\)\.h"$/\1/p' "$main" | head -n 1)
srcs=$(find "$dev" -name '*.c' | sort)
mkdir -p "$(dirname "$exe")"
# shellcheck disable=SC2086
"$cc" -std=c99 $cflags -I"$dev" -I"$dev/runtime" -I"$dev/kernels/ref" $srcs \
  -lXNNPACK -lpthreadpool -lcpuinfo -lopenblas -lpthread -lm -o "$exe"
if [ -f "$dev/$prog.bin" ]; then cp "$dev/$prog.bin" "$(dirname "$exe")/$prog.bin"; fi
