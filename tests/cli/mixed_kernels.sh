#!/bin/sh
# mixed_kernels.sh — devices with different kernel libraries in one plan: a description without
# XNNPACK among them gets the reference kernels for its partition (lowered for it alone), the
# others the fast ones, and the cut tensors travel in ONNX's layout between them.
# usage: mixed_kernels.sh EDGECC PYTHON SRC WORK MODEL INPUT.pb WANT.pb TOL TARGETS [PLAN ARGS...]
#   TARGETS uses `plainbox` for the device without XNNPACK (a copy of x86-64 listing only "ref");
#   WANT.pb "eval" means `edgecc eval MODEL`.
set -eu
edgecc=$1 python=$2 src=$3 work=$4 model=$5 input=$6 want=$7 tol=$8 targets=$9
shift 9
rm -rf "$work"
mkdir -p "$work"
"$python" - "$src/targets/x86-64.json" "$work/plainbox.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d.update(name="plainbox", kernels=["ref"])
d.pop("aliases", None)
json.dump(d, open(sys.argv[2], "w"), indent=1)
PY
"$edgecc" "$model" --target-file "$work/plainbox.json" --targets "$targets" "$@" -o "$work/out" 2>"$work/err.txt" >/dev/null \
  || { cat "$work/err.txt"; exit 1; }
grep -q "has no XNNPACK in its description: its partition uses the reference kernels" "$work/err.txt"
"$python" - "$work/out/plan.json" "$work/out" <<'PY'
import json, os, sys
plan = json.load(open(sys.argv[1]))
assert plan["kernels"] == "mixed", plan["kernels"]
kinds = {d["name"]: d["kernels"] for d in plan["devices"]}
# host is x86-64, whose description lists onednn first: its default is oneDNN (with XNNPACK).
assert set(kinds.values()) == {"ref", "onednn"}, kinds
for name, k in kinds.items():
    fast = os.path.isdir(os.path.join(sys.argv[2], name, "kernels", "xnnpack"))
    assert fast == (k != "ref"), (name, k, fast)
print("devices:", kinds)
PY
in=$input
k=0
n=$("$python" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["partitions"]))' "$work/out/plan.json")
while [ $k -lt "$n" ]; do
  dev=$("$python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["partitions"][int(sys.argv[2])]["device"])' \
        "$work/out/plan.json" $k)
  prog=$("$python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["partitions"][int(sys.argv[2])]["program"])' \
         "$work/out/plan.json" $k)
  [ -d "$work/b-$dev" ] || { cmake -S "$work/out/$dev" -B "$work/b-$dev" >/dev/null && cmake --build "$work/b-$dev" -j 2 >/dev/null; }
  "$work/b-$dev/$prog" --input "$in" --output "$work/cut_$k.pb" >/dev/null
  if grep -q '"name": "'"$dev"'"[^}]*"kernels": "ref"' "$work/out/plan.json" && \
     readelf -d "$work/b-$dev/$prog" | grep NEEDED | grep -qv -e libm -e libc; then
    echo "FAIL: $prog (reference kernels) links more than libc and libm"; exit 1
  fi
  in=$work/cut_$k.pb
  k=$((k + 1))
done
if [ "$want" = eval ]; then
  "$edgecc" eval "$model" --input "$input" --output "$work/want.pb"
  want=$work/want.pb
fi
"$python" "$src/tests/fast/compare.py" "$in" "$want" "$tol"
echo "mixed kernels: $n partitions chained, output within $tol"
rm -rf "$work"
