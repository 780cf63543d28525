#!/bin/sh
# tune_check.sh — `--tuning FILE` on the tiny model (tests/fast/tiny_model.py) with hand-made tuning
# files (make_tuning.py): a file that makes one Conv's fastest family XNNPACK instead of oneDNN
# changes that node's kernel in plan.json and the generated code, and nothing else the file does
# not pick; the same file gives byte-identical output twice; plan.json carries the file's SHA-256
# and plan_id differs; the tuned programs' outputs equal the reference kernels' (`edgecc eval`,
# 1e-4); and the usage errors of --tuning and `edgecc tune` (exit 2, one clear line).
# usage: tests/tune/tune_check.sh EDGECC WORK_DIR
set -eu
edgecc=$1 work=$2
here=$(cd "$(dirname "$0")" && pwd)
py=/usr/bin/python3
rm -rf "$work" && mkdir -p "$work"
$py "$here/../fast/tiny_model.py" "$work"
m=$work/tiny.onnx
"$edgecc" eval "$m" --input "$work/tiny_input_0.pb" --output "$work/want_y.pb" --output "$work/want_sum.pb"
"$edgecc" tune "$m" --targets host --signatures >"$work/sig.txt"
grep -q "^[0-9a-f]\{16\}	Conv -> c4	Conv .*| float32\[1,10,6,6\] float32 const\[5,10,1,1\]" "$work/sig.txt" ||
  { echo "no signature of Conv c4 in:"; cat "$work/sig.txt"; exit 1; }
$py "$here/make_tuning.py" "$work/sig.txt" "$work/a.json" x86-64 onednn
$py "$here/make_tuning.py" "$work/sig.txt" "$work/b.json" x86-64 onednn "Conv -> c4=xnnpack"

kernel_of() { # plan.json node -> its kernel and whether tuning decided it
  $py -c "import json,sys; p=json.load(open(sys.argv[1])); print(*[n['kernel'] + ' ' + str(n['tuned']) for n in p['partitions'][0]['node_kernels'] if n['node']==sys.argv[2]])" "$1" "$2"
}
for f in a b; do
  "$edgecc" "$m" --targets host --tuning "$work/$f.json" -o "$work/$f" >/dev/null
done
ka=$(kernel_of "$work/a/plan.json" "Conv -> c4") kb=$(kernel_of "$work/b/plan.json" "Conv -> c4")
[ "$ka" = "oneDNN True" ] || { echo "a.json: Conv c4 runs '$ka', want oneDNN (tuned)"; exit 1; }
[ "$kb" = "XNNPACK True" ] || { echo "b.json: Conv c4 runs '$kb', want XNNPACK (tuned)"; exit 1; }
# Only that node (and the steps around it) changed: every other node's kernel is the same.
$py - "$work/a/plan.json" "$work/b/plan.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
ka = {n["node"]: n["kernel"] for n in a["partitions"][0]["node_kernels"]}
kb = {n["node"]: n["kernel"] for n in b["partitions"][0]["node_kernels"]}
diff = sorted(k for k in ka.keys() | kb.keys() if ka.get(k) != kb.get(k))
if diff != ["Conv -> c4"]:
    sys.exit(f"kernels differ at {diff}, want only Conv -> c4")
for p, f in ((a, "a.json"), (b, "b.json")):
    if not p["tuning"] or p["tuning"]["file"] != f or len(p["tuning"]["sha256"]) != 64 or p["tuning"]["target"] != "x86-64":
        sys.exit(f"plan.json tuning: {p['tuning']}")
if a["tuning"]["sha256"] == b["tuning"]["sha256"] or a["plan_id"] == b["plan_id"]:
    sys.exit("two tuning files, one sha256 or plan_id")
PY
grep -q "oneDNN" "$work/a/host/tiny_p0.c" && ! cmp -s "$work/a/host/tiny_p0.c" "$work/b/host/tiny_p0.c" ||
  { echo "the generated code does not follow the tuning file"; exit 1; }
# Deterministic: the same file, the same bytes.
"$edgecc" "$m" --targets host --tuning "$work/b.json" -o "$work/b2" >/dev/null
for f in plan.json host/tiny_p0.c host/tiny_p0.h host/tiny_p0.bin host/main_p0.c; do
  cmp -s "$work/b/$f" "$work/b2/$f" || { echo "$f differs between two compiles with b.json"; exit 1; }
done
# Without --tuning: no tuning in plan.json.
"$edgecc" "$m" --targets host -o "$work/none" >/dev/null
grep -q '"tuning": null' "$work/none/plan.json" || { echo "plan.json without --tuning names one"; exit 1; }
# edgecc plan takes it too.
"$edgecc" plan "$m" --targets host --tuning "$work/b.json" >/dev/null
# The tuned programs compute what the reference kernels do.
for f in a b; do
  cmake -S "$work/$f/host" -B "$work/$f/build" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$work/$f/build" -j2 >/dev/null
  "$work/$f/build/tiny_p0" --input "$work/tiny_input_0.pb" --output "$work/$f/y.pb" --output "$work/$f/sum.pb" --threads 1
  $py "$here/../fast/compare.py" "$work/$f/y.pb" "$work/want_y.pb" 1e-4
  $py "$here/../fast/compare.py" "$work/$f/sum.pb" "$work/want_sum.pb" 1e-4
done

# Layout conversions are costed (docs/tuning.md): Conv c4 reads the NHWC output of the BatchNorm and
# feeds the residual Add of NHWC data, so on the reference kernels (NCHW) it needs two conversions
# (its 1440-byte input and 720-byte output: 8.4e-5 ms at x86-64's 51.2 GB/s). c.json times its
# reference run 2e-5 ms faster than oneDNN's: alone it would pick the reference kernels, counting the
# conversions it keeps oneDNN. d.json times it 0.9 ms faster: the reference kernels, conversions and
# all. d's program still computes what the reference kernels do.
$py "$here/make_tuning.py" "$work/sig.txt" "$work/c.json" x86-64 onednn "Conv -> c4=onednn:1,xnnpack:2,ref:0.99998"
$py "$here/make_tuning.py" "$work/sig.txt" "$work/d.json" x86-64 onednn "Conv -> c4=onednn:1,xnnpack:2,ref:0.1"
for f in c d; do
  "$edgecc" "$m" --targets host --tuning "$work/$f.json" -o "$work/$f" >/dev/null
done
kc=$(kernel_of "$work/c/plan.json" "Conv -> c4") kd=$(kernel_of "$work/d/plan.json" "Conv -> c4")
[ "$kc" = "oneDNN True" ] || { echo "c.json: Conv c4 runs '$kc', want oneDNN (tuned: the conversions cost more than the reference kernels save)"; exit 1; }
[ "$kd" = "reference True" ] || { echo "d.json: Conv c4 runs '$kd', want reference (tuned)"; exit 1; }
# The two conversions are lowering's layout steps, around c4 in d's program only.
nc=$(grep -c "^/\* kernel: layout" "$work/c/host/tiny_p0.c" || true)
nd=$(grep -c "^/\* kernel: layout" "$work/d/host/tiny_p0.c" || true)
[ "$nd" -eq $((nc + 2)) ] || { echo "layout steps: $nc with c.json, $nd with d.json; want two more with d.json"; exit 1; }
cmake -S "$work/d/host" -B "$work/d/build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/d/build" -j2 >/dev/null
"$work/d/build/tiny_p0" --input "$work/tiny_input_0.pb" --output "$work/d/y.pb" --output "$work/d/sum.pb" --threads 1
$py "$here/../fast/compare.py" "$work/d/y.pb" "$work/want_y.pb" 1e-4
$py "$here/../fast/compare.py" "$work/d/sum.pb" "$work/want_sum.pb" 1e-4

# Usage errors: exit 2 and one line saying what is wrong.
expect2() { # REGEX CMD...
  re=$1
  shift
  set +e
  "$@" >"$work/err.txt" 2>&1
  rc=$?
  set -e
  [ $rc -eq 2 ] || { echo "exit $rc, want 2: $*"; cat "$work/err.txt"; exit 1; }
  grep -q "^edgecc: error: .*$re" "$work/err.txt" || { echo "no '$re' in:"; cat "$work/err.txt"; exit 1; }
}
printf 'not json' >"$work/corrupt.json"
$py "$here/make_tuning.py" "$work/sig.txt" "$work/v2.json" x86-64 onednn --version=2
$py "$here/make_tuning.py" "$work/sig.txt" "$work/pi5.json" pi5 xnnpack
printf '{"format": "edgecc-plan", "format_version": 1}' >"$work/other.json"
expect2 "no-such.json: cannot read the tuning file" "$edgecc" "$m" --targets host --tuning "$work/no-such.json" -o "$work/e1"
expect2 "corrupt.json: not valid JSON" "$edgecc" "$m" --targets host --tuning "$work/corrupt.json" -o "$work/e2"
expect2 "format_version 2, this edgecc reads version 1" "$edgecc" "$m" --targets host --tuning "$work/v2.json" -o "$work/e3"
expect2 "measured on target 'pi5', but no device of --targets has it" "$edgecc" "$m" --targets host --tuning "$work/pi5.json" -o "$work/e4"
expect2 "not a tuning file" "$edgecc" plan "$m" --targets host --tuning "$work/other.json"
expect2 "give no --kernels" "$edgecc" "$m" --targets host --kernels xnnpack --tuning "$work/a.json" -o "$work/e5"
expect2 "--runs 0: must be a whole number" "$edgecc" tune "$m" --targets host --runs 0 -o "$work/t.json"
expect2 "tuning here needs a target of this machine" "$edgecc" tune "$m" --targets pi5 -o "$work/t.json"
expect2 "tune measures one device at a time" "$edgecc" tune "$m" --targets a=host,b=host -o "$work/t.json"
mkdir -p "$work/full" && touch "$work/full/x"
expect2 "must be new or empty" "$edgecc" tune "$m" --targets pi5 -o "$work/full"
for d in a b b2 none e1 e2 e3 e4 e5; do [ ! -e "$work/$d/host" ] || [ "$d" = a ] || [ "$d" = b ] || [ "$d" = b2 ] || [ "$d" = none ] || { echo "$d written despite the error"; exit 1; }; done
rm -rf "$work"
echo "tune_check: ok"
