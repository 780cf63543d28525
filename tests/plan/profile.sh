#!/bin/sh
# profile.sh — measured profiles into the plan: compiles digits for one host, builds it, runs it with
# --bench 5 --profile-json, and plans over a=host,b=host with --profile a=that file: partitions on a
# must cost exactly the profile's medians of their nodes (plan.json, 6 digits), the table marks
# them. Then a profile written here from the real node names with fixed times (deterministic) must
# move the split, and b's profile too; a mismatched thread count and unknown steps warn.
# usage: profile.sh EDGECC PYTHON MODEL SAMPLE WORK
set -eu
edgecc=$1 python=$2 model=$3 sample=$4 work=$5
rm -rf "$work"
mkdir -p "$work"
"$edgecc" "$model" --targets host -o "$work/single" >/dev/null
cmake -S "$work/single/host" -B "$work/b" >/dev/null && cmake --build "$work/b" -j 2 >/dev/null
"$work/b/dist/digits_p0" --input "$sample" --bench 5 --profile-json "$work/p.json" >/dev/null

# A real program's profile on device a, with a forced split so that each device holds a partition.
cut=/pool_1/MaxPool_output_0
"$edgecc" plan "$model" --targets a=host,b=host --split-at $cut --profile a="$work/p.json" >"$work/table.txt"
cat "$work/table.txt"
grep -Eq '^p0 +a +host +[0-9]+ +0-3 +[0-9.]+\* ' "$work/table.txt"
grep -Eq '^p1 +b +host +[0-9]+ +4-5 +[0-9.]+ +- ' "$work/table.txt"
grep -Eq '^\* p0: 4 of its 6 nodes measured \([0-9.]+ ms, from p.json\), the rest predicted$' "$work/table.txt"
"$edgecc" "$model" --targets a=host,b=host --split-at $cut --profile a="$work/p.json" -o "$work/split" >/dev/null
"$python" - "$work/p.json" "$work/split" <<'EOF'
import json, re, sys
prof = json.load(open(sys.argv[1]))
plan = json.load(open(sys.argv[2] + "/plan.json"))
med = {s["node"]: s["median_ms"] for s in prof["steps"]}
assert prof["format"] == "edgecc-profile" and prof["runs"] == 5 and prof["program"] == "digits_p0", prof
assert prof["run_median_ms"] > 0 and all(s["median_ms"] >= 0 and s["mean_ms"] >= 0 for s in prof["steps"])
for p in plan["partitions"]:
    # The partition's own steps, from its generated step table.
    src = open("%s/%s/%s.c" % (sys.argv[2], p["device"], p["program"])).read()
    steps = re.findall(r'^  \[S_\w+\] = \{"([^"]*)", "([^"]*)", \w+\},$', src, re.M)
    assert len(steps) == p["steps"], (steps, p["steps"])
    # The layout step that converts the cut tensor back to NCHW is not in the whole program's
    # profile (it exists only at a cut) and is not part of the plan's nodes.
    nodes = [n for n, op in steps if n in med]
    # Nor is a reshape that aliases its input in the whole program (no step there) but copies the
    # cut tensor here.
    reshapes = ("Flatten", "Reshape", "Squeeze", "Unsqueeze", "Identity")
    assert all(op == "Transpose" or op in reshapes for n, op in steps if n not in med), steps
    if p["device"] == "a":
        want = sum(med[n] for n in nodes)
        assert p["profiled_nodes"] == len(nodes), p
        for key in ("predicted_compute_ms", "profiled_ms"):
            assert abs(p[key] - want) <= 1e-5 * want + 1e-6, (key, p[key], want)
    else:
        assert p["profiled_nodes"] == 0 and p["profiled_ms"] == 0, p
dev = {d["name"]: d for d in plan["devices"]}
# The planner sees the graph before lowering: the two Relus fused into the convolutions have no
# step of their own (they cost nothing there), and the layout conversion lowering adds before
# Flatten names no node.
assert dev["a"]["profile"]["file"] == "p.json", dev["a"]
assert dev["a"]["profile"]["matched_nodes"] == sum(s["op"] != "Transpose" for s in prof["steps"]), dev["a"]
assert dev["b"]["profile"] is None
print("profiled partition p0: predicted compute = sum of its steps' medians (%d nodes)" % len(med))

# Deterministic profiles from the real node names: on a, the first four steps are fast and the
# rest slow; on b the opposite. The plan must split after the fourth step, with these figures.
def write(path, fast_first, threads=0, extra=False, program="digits_p0"):
    steps = [dict(s) for s in prof["steps"]]
    for i, s in enumerate(steps):
        s["median_ms"] = s["mean_ms"] = 1.0 if (i < 4) == fast_first else 100.0
    if extra:
        steps.append({"index": len(steps), "node": "/no/such/node", "op": "Relu", "median_ms": 5.0, "mean_ms": 5.0})
    json.dump(dict(prof, threads=threads, steps=steps, program=program), open(path, "w"))
write(sys.argv[2] + "/../fa.json", True)
write(sys.argv[2] + "/../fb.json", False)
write(sys.argv[2] + "/../fa_threads.json", True, threads=7, extra=True, program="lenet_p0")
EOF
"$edgecc" plan "$model" --targets a=host,b=host --profile a="$work/fa.json" --profile b="$work/fb.json" >"$work/t2.txt"
cat "$work/t2.txt"
grep -Eq '^p0 +a +host +6 +0-3 +4\.000\* ' "$work/t2.txt"
# The Flatten is no step of the whole program (its output aliases its input): p1's copy of it is
# predicted.
grep -Eq '^p1 +b +host +2 +4-5 +1\.000\* ' "$work/t2.txt"
grep -q '^\* p1: 1 of its 2 nodes measured (1.000 ms, from fb.json), the rest predicted$' "$work/t2.txt"
# Taken with other threads, of another program, with a step the model lacks: warnings, same plan.
"$edgecc" plan "$model" --targets a=host,b=host --threads 2 --profile a="$work/fa_threads.json" \
  --profile b="$work/fb.json" >"$work/t3.txt" 2>"$work/w3.txt"
cat "$work/w3.txt"
grep -q "warning: .*fa_threads.json: profiled with 7 threads, but device 'a' runs 2" "$work/w3.txt"
grep -q "warning: .*fa_threads.json: 1 of its 7 steps name no node of this model" "$work/w3.txt"
grep -q "warning: .*fa_threads.json: a profile of program 'lenet_p0', not of digits_p<k>" "$work/w3.txt"
grep -Eq '^p0 +a +host +6 +0-3 +4\.000\* ' "$work/t3.txt"
# The real profile records its kernel library (host's default: onednn): planning with another warns.
grep -q '"kernels": "onednn"' "$work/p.json"
"$edgecc" plan "$model" --targets a=host,b=host --kernels ref --split-at $cut --profile a="$work/p.json" \
  >/dev/null 2>"$work/w4.txt"
cat "$work/w4.txt"
grep -q "warning: .*p.json: profiled with --kernels onednn, but device 'a' uses --kernels ref" "$work/w4.txt"
echo "profiles: measured step times drive the plan"
rm -rf "$work"
