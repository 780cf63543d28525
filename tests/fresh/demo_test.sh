#!/bin/sh
# demo_test.sh — scripts/demo.sh (README command 1's last step) passes with the true labels, on the
# host and under qemu, and fails naming the sample when one label is broken on purpose: the demo
# asserts its predictions instead of only printing them.
#
# usage: demo_test.sh REPO BUILD WORK SYSROOT
set -eu
[ $# -eq 4 ] || { echo "usage: demo_test.sh REPO BUILD WORK SYSROOT" >&2; exit 2; }
repo=$1 build=$2 work=$3 sysroot=$4
rm -rf "$work"
mkdir -p "$work"
labels=$repo/examples/digits/samples/labels.txt
n=$(grep -c . "$labels")
fail() { echo "FAIL: $*" >&2; exit 1; }

run_demo() {  # OUT LABELS LOG
  EC_BUILD=$build EDGECC=$build/edgecc EC_DEMO_OUT=$1 EC_SYSROOT=$sysroot EC_DEMO_LABELS=$2 \
    bash "$repo/scripts/demo.sh" >"$3" 2>&1
}

# The true labels: every sample right on the host and under qemu.
run_demo "$work/ok" "$labels" "$work/ok.log" || { cat "$work/ok.log"; fail "demo failed with the true labels"; }
for where in host "pi5 under qemu"; do
  grep -qF "$n of $n samples predicted correctly ($where)" "$work/ok.log" ||
    { cat "$work/ok.log"; fail "no '$n of $n samples predicted correctly ($where)' line"; }
done

# One label broken: the true digit of the second sample plus one.
awk 'NR == 2 {$2 = ($2 + 1) % 10} {print}' "$labels" > "$work/labels-broken.txt"
sample=$(awk 'NR == 2 {print $1}' "$labels")
if run_demo "$work/broken" "$work/labels-broken.txt" "$work/broken.log"; then
  cat "$work/broken.log"; fail "demo passed although the label of $sample is wrong"
fi
grep -q "^demo: error: host: 1 of $n samples predicted wrong: $sample " "$work/broken.log" ||
  { cat "$work/broken.log"; fail "no 'demo: error: host: 1 of $n samples predicted wrong: $sample' line"; }
echo "demo_test: true labels pass (host and qemu); a broken label of $sample fails the demo"
