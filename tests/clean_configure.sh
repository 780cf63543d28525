#!/bin/sh
# clean_configure.sh — configures the source tree into a new, empty folder and compares every
# registered test command with this build's. A build folder that was configured before keeps its
# cache variables, so a tests.cmake that reads a variable before the one that sets it is included
# works here and breaks on a clean clone (CI failed on it once: EC_ZOO_CACHE was empty for the
# zoo_plan_bridges_* tests). usage: tests/clean_configure.sh SOURCE_DIR BUILD_DIR BUILD_TYPE
set -eu
src=$1 build=$2 type=$3
fresh=$(mktemp -d "${TMPDIR:-/tmp}/ec-clean-configure.XXXXXX")
trap 'rm -rf "$fresh"' EXIT
if ! cmake -S "$src" -B "$fresh" -G Ninja -DCMAKE_BUILD_TYPE="$type" > "$fresh.log" 2>&1; then
  cat "$fresh.log"; rm -f "$fresh.log"
  echo "FAILED: a clean configure of $src fails"
  exit 1
fi
rm -f "$fresh.log"
# The add_test lines of the CTestTestfile.cmake files a clean configure writes (a build folder may
# hold others, of builds nested in it), read from both folders, the build folder's path made neutral.
files=$(cd "$fresh" && find . -name CTestTestfile.cmake | LC_ALL=C sort)
tests_of() {
  for f in $files; do
    [ -f "$1/$f" ] && grep '^add_test' "$1/$f" | sed "s|$1|BUILD|g" || true
  done
}
tests_of "$build" > "$fresh/.old"
tests_of "$fresh" > "$fresh/.new"
if ! diff -u "$fresh/.old" "$fresh/.new" > "$fresh/.diff"; then
  head -40 "$fresh/.diff"
  echo "FAILED: the test commands of $build differ from those of a clean configure (+ lines)."
  echo "A variable is read before it is set, or this build was configured with other options:"
  echo "reconfigure $build from scratch and compare."
  exit 1
fi
echo "clean configure: $(wc -l < "$fresh/.new") test commands, the same as in $build"
