#!/bin/sh
# update-conformance-docs.sh — copies the conformance reports of a build folder into
# docs/conformance.md (one section per mode that has a report: shapes, eval, compile).
set -eu
if [ $# -ne 1 ] || [ ! -d "$1" ]; then
  echo "usage: scripts/update-conformance-docs.sh BUILD_DIR   (after ctest -L conformance)" >&2
  exit 2
fi
build=$1
repo=$(cd "$(dirname "$0")/.." && pwd)
out="$repo/docs/conformance.md"
found=0
for mode in shapes eval compile compile-xnnpack; do
  [ -f "$build/conformance/$mode/report.md" ] && found=1
done
if [ $found -eq 0 ]; then
  echo "update-conformance-docs.sh: no report under $build/conformance/*/report.md; run ctest -L conformance first" >&2
  exit 1
fi
tmp="$out.tmp.$$"
{
  echo "# ONNX conformance"
  echo
  echo "edgecc against the ONNX test suites of Debian's \`libonnx-testdata\` (\`node\`, \`pytorch-converted\`,"
  echo "\`pytorch-operator\`, \`simple\`). Written by \`scripts/update-conformance-docs.sh BUILD_DIR\` from the"
  echo "reports that \`ctest -L conformance\` leaves in \`BUILD_DIR/conformance/<mode>/\`; the harness is"
  echo "\`tests/conformance/run.py\` and the expected status of every test is in"
  echo "\`tests/conformance/expected_<mode>.txt\`. Statuses: *pass*; *fail* (loads, wrong dtype, shape or values);"
  echo "*unsupported* (rejected with an \`edgecc: error:\` diagnostic); *crash* (a signal, an exit status other"
  echo "than 0 and 1, or exit 1 without a diagnostic); *timeout* (60 s per edgecc call). A list records each"
  echo "test's status with its reason class (\`unsupported: op Loop\`, \`fail: values\`, \`crash: signal\`,"
  echo "\`excused\`...; \`CLASS_RULES\` in run.py)."
  echo
  echo "A test whose status or class differs from its list fails \`ctest -L conformance\`, improvements too. After an"
  echo "intended change: \`/usr/bin/python3 tests/conformance/run.py --edgecc BUILD/edgecc --mode MODE --update\`"
  echo "(compile mode also takes \`--build-dir BUILD\`), review the diff of the list and commit it. \`--update\`"
  echo "refuses to turn a listed pass into anything else unless \`--force\` is given too. The fast-kernel run"
  echo "(\`conformance_compile_xnnpack_all\`, label \`slow\`; CI runs \`conformance_compile_xnnpack\`, the same"
  echo "with \`--fast-only\`: only the tests whose generated code calls a fast kernel are built and run) also"
  echo "requires a minimum number of tests per XNNPACK operator kind"
  echo "(\`--min-fast-tests\`, read from the generated code), so a lowering that fell back to the reference"
  echo "kernels everywhere fails it."
  echo
  for mode in shapes eval compile compile-xnnpack; do
    f="$build/conformance/$mode/report.md"
    [ -f "$f" ] || continue
    cat "$f"
    echo
  done
} > "$tmp"
mkdir -p "$repo/docs"
mv "$tmp" "$out"
echo "wrote $out"
