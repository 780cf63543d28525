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
rm -rf "$here/digits"
# Relative paths, run from the repository: the output must not depend on them anyway.
cd "$repo"
"$edgecc" examples/digits/digits.onnx --targets x86-64 --kernels ref -o tests/golden/digits >/dev/null
# The copied runtime and kernel sources and cmake/ helpers are the repository's own files: the test
# compares them with those instead of keeping a second copy here.
rm -rf "$here"/digits/*/runtime "$here"/digits/*/kernels "$here"/digits/*/cmake
echo "update.sh: tests/golden/digits regenerated ($(find "$here/digits" -type f | wc -l) files); review with git diff"
