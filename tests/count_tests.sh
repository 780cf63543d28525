#!/bin/sh
# count_tests.sh — the number of registered ctest tests against tests/expected-test-count.txt, so a
# test that stops being registered (a tool missing at configure time, an area's tests.cmake no
# longer included, a foreach that lost a model) fails CI instead of passing by its absence.
# usage: tests/count_tests.sh BUILD_DIR            compare (ctest test `test_count`, label unit)
#        tests/count_tests.sh BUILD_DIR --update   rewrite the file with this build's counts
# Counts: `ctest -N` (every test) and `ctest -N -LE "slow|fresh"` (what CI runs).
set -eu
build=$1
here=$(cd "$(dirname "$0")" && pwd)
file=$here/expected-test-count.txt

count() {
  n=$(cd "$build" && ctest -N "$@" | sed -n 's/^Total Tests: *\([0-9][0-9]*\)$/\1/p')
  if [ -z "$n" ]; then
    echo "FAILED: ctest -N $* in $build printed no 'Total Tests:' line" >&2
    exit 1
  fi
  echo "$n"
}
total=$(count)
ci=$(count -LE "slow|fresh")

if [ "${2:-}" = "--update" ]; then
  cat > "$file" <<END
# Registered ctest tests, checked by the test test_count (tests/count_tests.sh): every test
# (ctest -N) and those CI runs (ctest -N -LE "slow|fresh"). After adding or removing tests on
# purpose, rewrite this file from a configured build folder and commit it:
#   tests/count_tests.sh build --update
total $total
ci $ci
END
  echo "wrote $file: total $total, ci $ci"
  exit 0
elif [ $# -ne 1 ]; then
  echo "usage: tests/count_tests.sh BUILD_DIR [--update]" >&2
  exit 2
fi

want_total=$(sed -n 's/^total \([0-9][0-9]*\)$/\1/p' "$file")
want_ci=$(sed -n 's/^ci \([0-9][0-9]*\)$/\1/p' "$file")
if [ "$total" = "$want_total" ] && [ "$ci" = "$want_ci" ]; then
  echo "test count: $total registered, $ci run by CI, as $file says"
  exit 0
fi
echo "FAILED: $total tests registered ($ci without the labels slow and fresh, which CI runs);"
echo "        tests/expected-test-count.txt says $want_total ($want_ci)."
echo "A test that is no longer registered passes by its absence: if a tool or package is missing at"
echo "configure time, install it and reconfigure. If you added or removed tests on purpose, update"
echo "the count and commit it:  tests/count_tests.sh $build --update"
exit 1
