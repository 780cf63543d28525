#!/bin/sh
# check.sh EDGECC REPO WORK — compiles the digits example for x86-64 and compares it with
# tests/golden/digits: the generated files must be identical, and each runtime or kernel source
# (and cmake/ helper, from targets/cmake) edgecc copied into the folder must equal the repository's
# file (those copies are not kept twice; which files are copied is in the kept manifest and
# CMakeLists.txt).
# Optional MODEL GOLDEN (repository-relative model, folder under tests/golden): another golden
# model, e.g. examples/control/control.onnx control (If and Loop, issue 17).
set -eu
edgecc=$1 repo=$2 work=$3
model=${4:-examples/digits/digits.onnx} golden=${5:-digits}
rm -rf "$work"
mkdir -p "$work"
cd "$work"
"$edgecc" "$repo/$model" --targets x86-64 --kernels ref -o out >/dev/null
for f in $(cd out && find ./*/runtime ./*/kernels ./*/cmake -type f | sort); do
  f=${f#./}
  src=${f#*/}
  case $src in cmake/*) src=targets/$src ;; esac
  if ! cmp -s "out/$f" "$repo/$src"; then
    echo "copied source $f differs from the repository's $src"
    exit 1
  fi
done
rm -rf out/*/runtime out/*/kernels out/*/cmake
if diff -r "$repo/tests/golden/$golden" out; then
  rm -rf "$work"
else
  echo 'generated code changed: if deliberate, run tests/golden/update.sh and commit the diff'
  exit 1
fi
