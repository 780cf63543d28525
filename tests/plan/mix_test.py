#!/usr/bin/python3
"""mix_test.py — --mix and the joint plan of several merged models (issue 15) through the CLI.

Three head-only variants (tests/merge/merge_models.py --family wide: a 16 MiB trunk, heads of 3.9,
3.9 and 2.0 MiB) over x=board21 (the host's description with ram_mb 21: the trunk and one big head
fit, not two) and y=pi4 (slower, 4 GB). The tree DP's choice keeps on x the head of the model the
mix weighs more: with --mix a=0.8,b=0.1,c=0.1 a's head, with a=0.1,b=0.8,c=0.1 b's head; plan.json
records the mix and both placements, and its plan_id differs between the mixes. No chain can
return outputs from two devices, so the choice is carried out as a tree of partitions: x returns
the favoured model's outputs and sends the trunk's output to y (parent 0, the two other models),
so the mix changes x's program (dist_merged_joint_tree_tcp serves such a tree). Without --mix, joint.mix is null. Usage
errors (exit 2, one line): unknown model, shares not summing to 1, bad syntax, a share outside
0..1, a model twice, --mix with one model, --mix with --partitions; --help lists --mix.

usage: mix_test.py EDGECC MERGE_MODELS.py WORKDIR"""
import json
import os
import shutil
import subprocess
import sys

edgecc, merge_models, work = sys.argv[1:4]
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
failures = []


def check(what, ok, detail=""):
    print("%s %s%s" % ("ok  " if ok else "FAIL", what, ": " + detail if detail and not ok else ""))
    if not ok:
        failures.append(what)


def run(*args, rc=0):
    p = subprocess.run([edgecc] + list(args), capture_output=True, text=True, timeout=600, cwd=work)
    if p.returncode != rc:
        sys.exit("edgecc %s: exit %d, expected %d\n%s%s" % (" ".join(args), p.returncode, rc, p.stdout, p.stderr))
    return p


subprocess.run([sys.executable, merge_models, os.path.join(work, "m"), "--family", "wide"], check=True, timeout=600)
models = [os.path.join(work, "m", n + ".onnx") for n in "abc"]
host = json.loads(run("targets", "host").stdout)
with open(os.path.join(work, "board21.json"), "w") as f:
    json.dump(dict(host, name="board21", ram_mb=21, board="a board with 21 MB (mix test)"), f)
common = ["--target-file", os.path.join(work, "board21.json"), "--targets", "x=board21,y=pi4", "--kernels", "ref"]

# Usage errors.
errors = [
    (["--mix", "a=0.5,z=0.5"], "--mix a=0.5,z=0.5: no model 'z' (the models: a, b, c)"),
    (["--mix", "a=0.5,b=0.6"], "the shares sum to 1.1, not 1"),
    (["--mix", "a=0.5,b=0.4"], "the shares sum to 0.9, not 1"),
    (["--mix", "a:0.5,b=0.5"], "expected MODEL=SHARE[,MODEL=SHARE...]"),
    (["--mix", "a=x,b=1"], "'x' is no share from 0 to 1"),
    (["--mix", "a=1.5,b=-0.5"], "'1.5' is no share from 0 to 1"),
    (["--mix", "a=0.5,a=0.5"], "model 'a' is named twice"),
    (["--mix", "a=1,"], "ends with a comma"),
    (["--mix", "a=1", "--partitions", "2"], "--mix weighs the joint plan of several models, which --partitions"),
]
for extra, msg in errors:
    p = run("plan", *models, *common, *extra, rc=2)
    lines = p.stderr.strip().splitlines()
    check("usage error %s" % " ".join(extra), len(lines) == 1 and msg in lines[0], p.stderr)
p = run("plan", models[0], "--targets", "host", "--mix", "a=1", rc=2)
check("--mix with one model", "--mix needs several models" in p.stderr, p.stderr)
for cmd in (["compile", "--help"], ["plan", "--help"]):
    check("%s lists --mix" % " ".join(cmd), "--mix" in run(*cmd).stdout)

# The mix flips which head the tree DP keeps on x.
plans = {}
for tag, mix in (("a", "a=0.8,b=0.1,c=0.1"), ("b", "a=0.1,b=0.8,c=0.1"), ("none", None)):
    out = os.path.join(work, "out_" + tag)
    run(*models, *common, *(["--mix", mix] if mix else []), "-o", out)
    with open(os.path.join(out, "plan.json")) as f:
        plans[tag] = json.load(f)
    p = run("plan", *models, *common, *(["--mix", mix] if mix else []))
    check("edgecc plan prints the joint plan (%s)" % tag, "joint plan of 3 models" in p.stdout and
          ("--mix " + mix if mix else "no --mix") in p.stdout, p.stdout)


def head_device(plan, model, key):
    """The device of model's own head block (the block only that model runs)."""
    devs = [b[key] for b in plan["joint"]["blocks"] if b["models"] == model]
    return devs[-1] if devs else None


ja, jb, jn = plans["a"]["joint"], plans["b"]["joint"], plans["none"]["joint"]
check("plan.json records the mix", ja["mix"] == {"a": 0.8, "b": 0.1, "c": 0.1} and jn["mix"] is None, str(ja["mix"]))
check("mix a: a's head stays on x, b's goes to y",
      head_device(plans["a"], "a", "device_free") == "x" and head_device(plans["a"], "b", "device_free") == "y")
check("mix b: b's head stays on x, a's goes to y",
      head_device(plans["b"], "b", "device_free") == "x" and head_device(plans["b"], "a", "device_free") == "y")
check("trunk blocks on x in both", all(b["device_free"] == "x" for j in (ja, jb) for b in j["blocks"]
                                       if b["models"] == "a,b,c"))
check("plan_id depends on the mix", len({plans[t]["plan_id"] for t in plans}) == 3)
for tag, j in (("a", ja), ("b", jb)):
    check("mix %s: the free choice is carried out, as a tree" % tag,
          j["carried_out"] == "tree" and not j["why"] and j["objective_free"] == j["objective"] and
          all(b["device"] == b["device_free"] for b in j["blocks"]), json.dumps(j)[:400])
    others = ",".join(m for m in "abc" if m != tag)
    check("mix %s: x (returns %s's outputs) feeds y (%s)" % (tag, tag, others),
          [(p["device"], p["parent"], p["models"], p["next_args"]) for p in plans[tag]["partitions"]] ==
          [("x", None, "a,b,c", "--next %s@tcp://127.0.0.1:7601" % others), ("y", 0, others, "")] and
          [o["name"] for o in plans[tag]["partitions"][0]["outputs"]][0] == tag + "/logits",
          json.dumps(plans[tag]["partitions"])[:600])

if failures:
    sys.exit("mix_test: %d failed: %s" % (len(failures), ", ".join(failures)))
print("mix_test: all passed")
