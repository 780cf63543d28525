#!/bin/sh
# update.sh — regenerates the golden output: the x86-64 folder edgecc writes for the committed digits
# model. Run it after a deliberate change to generated code, and commit the diff with the change:
#
#   tests/golden/update.sh [EDGECC]        # default: build/edgecc
#
# ctest's golden.digits compiles the same command into a temporary folder and diffs it with this one.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
edgecc=${1:-$repo/build/edgecc}
[ -x "$edgecc" ] || { echo "update.sh: no edgecc at $edgecc (build it, or pass its path)" >&2; exit 2; }
edgecc=$(cd "$(dirname "$edgecc")" && pwd)/$(basename "$edgecc")
# Relative paths, run from the repository: the output must not depend on them anyway.
cd "$repo"
# digits, and control (examples/control: one If and one Loop, issue 17).
for m in examples/digits/digits.onnx:digits examples/control/control.onnx:control; do
  model=${m%%:*} golden=${m##*:}
  rm -rf "${here:?}/$golden"
  "$edgecc" "$model" --targets x86-64 --kernels ref -o "tests/golden/$golden" >/dev/null
  # The copied runtime and kernel sources and cmake/ helpers are the repository's own files: the
  # test compares them with those instead of keeping a second copy here.
  rm -rf "$here/$golden"/*/runtime "$here/$golden"/*/kernels "$here/$golden"/*/cmake
  echo "update.sh: tests/golden/$golden regenerated ($(find "$here/$golden" -type f | wc -l) files); review with git diff"
done
