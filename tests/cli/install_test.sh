#!/usr/bin/env bash
# install_test.sh SRC BUILD — `cmake --install` puts edgecc in a prefix, and the installed
# edgecc compiles the digits example from another directory without reading anything from the
# repository or the build folder (checked by tracing every file it opens), and the folder it
# writes builds and runs on its own.
set -euo pipefail
src=$(cd "$1" && pwd); build=$(cd "$2" && pwd)
# Outside both the repository and the build folder, so any read from them shows in the trace.
work=$(mktemp -d "${TMPDIR:-/tmp}/edgecc-install.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/prefix" "$work/elsewhere"
cmake --install "$build" --prefix "$work/prefix" >/dev/null
edgecc=$work/prefix/bin/edgecc
[ -x "$edgecc" ] || { echo "FAILED: no $edgecc after cmake --install"; exit 1; }
# The user's model lives outside the repository.
cp "$src/examples/digits/digits.onnx" "$src/examples/digits/samples/input_0.pb" \
   "$src/examples/digits/samples/output_0.pb" "$work/elsewhere/"
cd "$work/elsewhere"
env -i PATH=/usr/bin:/bin strace -f -qq -e trace=open,openat,execve -o "$work/trace.txt" \
  "$edgecc" digits.onnx --targets host -o out >/dev/null
if grep -E "\"($src|$build)/" "$work/trace.txt" | grep -v ENOENT | grep -q .; then
  echo "FAILED: the installed edgecc read files from the repository or build folder:"
  grep -E "\"($src|$build)/" "$work/trace.txt" | head
  exit 1
fi
cmake -S out/host -B b >/dev/null
cmake --build b >/dev/null
b/digits_p0 --input input_0.pb --output got.pb >/dev/null
/usr/bin/python3 - <<'PY'
import numpy as np, onnx
from onnx import numpy_helper as nh
got = nh.to_array(onnx.load_tensor("got.pb")); exp = nh.to_array(onnx.load_tensor("output_0.pb"))
err = float(np.abs(got - exp).max())
assert err <= 1e-4, "FAILED: installed edgecc's program differs from torch by %g" % err
print("installed edgecc works from another directory: max error %.3g" % err)
PY
