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
  echo '## Frozen inputs'
  echo
  echo 'A graph input is frozen (`--freeze-input`, with the value of the test'\''s data) only when it feeds,'
  echo 'directly or through the nodes that compute it, an operand that output shapes depend on (`edgecc'
  echo 'inspect --shape-inputs`, from each op'\''s shape-operand mask in `compiler/ops/ops_*.def`): the shape'
  echo 'of Reshape, Expand and ConstantOfShape, Resize'\''s and Upsample'\''s scales and sizes, Slice'\''s starts,'
  echo 'ends, axes and steps, Pad'\''s pads, the axes of Squeeze, Unsqueeze and ReduceSum, Split'\''s split,'
  echo 'Tile'\''s repeats, OneHot'\''s depth, MaxUnpool'\''s output_shape, the window functions'\'' size, STFT'\''s'
  echo 'frame_step and frame_length, the same operands inside If, Loop and Scan subgraphs (traced out'
  echo 'through their formal inputs and captures), and the cases below. With the fast kernels, inputs that'
  echo 'are weights of a fast kernel are frozen too. Every other input is fed at run time: data-dependent shapes (see each'
  echo 'mode'\''s note), CumSum'\''s axis, and Dropout'\''s ratio and training_mode. Inside a Loop body a Slice'\''s'
  echo 'starts and ends are not shape operands: read at run time, they give the slice an extent found per'
  echo 'iteration, bounded by the sliced input, which the Loop checks against a carried value'\''s static shape'
  echo 'and stacks into its scan outputs (`test_loop11`, fed, its trip count bounded with `--max-trip-count'
  echo 'OUT=4096` like the `test_range_*_expanded` Loops).'
  echo
  echo 'Frozen for a reason that needs more words:'
  echo
  echo '- `test_melweightmatrix`: num_mel_bins and dft_length shape the output; sample_rate,'
  echo '  lower_edge_hertz and upper_edge_hertz do not, but the kernel takes all five as compile-time'
  echo '  parameters, so they are frozen with the two.'
  echo '- `test_resize_tf_crop_and_resize`: sizes shapes the output; roi does not, but Resize'\''s kernel'
  echo '  takes roi as a compile-time parameter, so it is frozen with sizes.'
  echo '- The four excused `test_training_dropout*` tests are fed and compile; their runs fail (training'
  echo '  mode with a ratio above 0 draws a random mask that cannot be reproduced).'
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
