#!/bin/sh
# zoo_check.sh — one zoo model through the fast kernels: compile with ec_fastc (extra args are
# passed on, e.g. --no-pass nhwc), build, run on the exported input, compare with torch (1e-4).
# usage: tests/fast/zoo_check.sh FASTC ZOO_DIR MODEL WORK_DIR [--bn] [FASTC ARGS...]
#   --bn  the model re-exported with its BatchNormalizations kept (MODEL_bn.onnx, made by
#         tests/unit/passes/make_models.py --zoo), so that bn-fold has work; same weights, input
#         and torch output as MODEL.onnx.
# The models come from the zoo cache the zoo_export fixture fills. The runtime and kernel sources,
# identical from case to case, are compiled once into WORK_DIR/../objcache (keyed by their
# contents, the headers beside them and the compiler flags); only the generated model files are
# compiled per case. The work folder is deleted when the case passes.
set -eu
fastc=$1 zoo=$2 model=$3 work=$4
shift 4
here=$(cd "$(dirname "$0")" && pwd)
stem=$model
if [ "${1:-}" = "--bn" ]; then
  stem=${model}_bn
  shift
fi

# The zoo_export fixture (tests/models/zoo_cache.py) fills the cache before any zoo test runs; a
# missing file fails the case, it never exports or skips here.
for f in "$stem.onnx" "${stem}_input_0.pb" "${model}_output_0.pb"; do
  if [ ! -f "$zoo/$f" ]; then
    echo "FAILED: the zoo cache $zoo has no $f: the ctest fixture zoo_export (tests/models/zoo_cache.py) makes it"
    exit 1
  fi
done

rm -rf "$work" && mkdir -p "$work"
"$fastc" "$zoo/$stem.onnx" -o "$work/out" --name "$model" "$@"

# Build as tests/fast/build_fast.sh does, with the shared sources compiled once.
dev=$work/out/host
cc=${CC:-cc}
cflags=${CFLAGS:--O2}
cache=$(dirname "$work")/objcache
mkdir -p "$cache" "$work/bin"
headers=$(find "$dev/runtime" "$dev/kernels" -name '*.h' | sort | xargs cat | sha1sum | cut -c1-40)
objs=""
for src in $(find "$dev" -name '*.c' | sort); do
  case $src in
    "$dev"/runtime/* | "$dev"/kernels/*)
      key=$( (printf '%s %s %s\n' "$cc" "$cflags" "$headers"; cat "$src") | sha1sum | cut -c1-40)
      obj=$cache/$(basename "$src" .c)-$key.o
      if [ ! -f "$obj" ]; then
        # shellcheck disable=SC2086
        "$cc" -std=c99 $cflags -I"$dev" -I"$dev/runtime" -I"$dev/kernels/ref" -c "$src" -o "$obj.$$"
        mv -f "$obj.$$" "$obj"
      fi ;;
    *)
      obj=$work/bin/$(basename "$src" .c).o
      # shellcheck disable=SC2086
      "$cc" -std=c99 $cflags -I"$dev" -I"$dev/runtime" -I"$dev/kernels/ref" -c "$src" -o "$obj" ;;
  esac
  objs="$objs $obj"
done
libs=""
[ -d "$dev/kernels/onednn" ] && libs="-ldnnl -fopenmp" # --kernels onednn: oneDNN and its libgomp
# shellcheck disable=SC2086
"$cc" $objs $libs -lXNNPACK -lpthreadpool -lcpuinfo -lopenblas -lpthread -lm -o "$work/bin/prog"
cp "$dev"/*.bin "$work/bin/" 2>/dev/null || true

"$work/bin/prog" --input "$zoo/${stem}_input_0.pb" --output "$work/got.pb"
/usr/bin/python3 "$here/compare.py" "$work/got.pb" "$zoo/${model}_output_0.pb" 1e-4
rm -rf "$work"
