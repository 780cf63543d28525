#!/usr/bin/python3
"""cluster_mix.py — issue 13: auto mixes per block, and plan.json predicts the clusters' time.

usage: cluster_mix.py --edgecc E --cache ZOO_CACHE --work DIR

googlenet (zoo cache; a missing file fails), compiled for `--targets host --threads 2`:

1. `--parallel inter` without profiles: a clustered partition's predicted_compute_ms and the plan's
   predicted latency are its predicted_clustered_ms (the clusters' prediction), not the intra time.
2. Two written profiles of the intra program, one at 1 thread and one at 2 (`--profile host=...`
   twice), with known per-node times: every node of the inception3a..4e blocks (and the trunk)
   1 ms on one thread; the trunk twice as fast on two, the branches of 3a..4e no faster on two
   (small operators that split poorly), the branches of 5a and 5b twice as fast on two (they split
   perfectly). The known answer: auto runs 3a..4e as branches side by side (two clusters in each
   of those blocks) and 5a, 5b as stretches on both threads (every node of those blocks in one
   cluster), while inter, which does not refine, splits 5a and 5b too. plan.json lists both
   profiles under the device's cluster_profiles.
3. The same profile given twice (one thread count twice) is a usage error (exit 2).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "models"))
from zoo_cache import require  # noqa: E402


def run(argv, rc=0):
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != rc:
        raise SystemExit("FAILED: %s\nexit %d (expected %d)\n%s%s" % (" ".join(argv), p.returncode, rc,
                                                                     p.stdout[-2000:], p.stderr[-3000:]))
    return p


def compile_plan(a, mode, flags, name):
    out = os.path.join(a.work, name)
    run([a.edgecc, a.model, "--targets", "host", "--threads", "2", "--parallel", mode, "-o", out, "--force", *flags])
    with open(os.path.join(out, "plan.json")) as f:
        return json.load(f)


def block_of(node):
    parts = node.split("/")
    return parts[1] if len(parts) > 2 and parts[1].startswith("inception") else None


def write_profile(a, plan, threads):
    steps = []
    for c in plan["partitions"][0]["clusters"]:
        for node in c["nodes"]:
            b, ms = block_of(node), 1.0
            branch = b is not None and "/branch" in node
            if threads == 2:
                ms = 1.0 if branch and b not in ("inception5a", "inception5b") else 0.5
            steps.append({"node": node, "op": "Conv", "median_ms": ms})
    path = os.path.join(a.work, "profile-t%d.json" % threads)
    with open(path, "w") as f:
        json.dump({"format": "edgecc-profile", "format_version": 1, "program": "googlenet_p0", "threads": threads,
                   "runs": 1, "run_median_ms": 0, "steps": steps}, f)
    return path


def clusters_per_block(plan):
    per = {}
    for c in plan["partitions"][0]["clusters"]:
        for node in c["nodes"]:
            b = block_of(node)
            if b:
                per.setdefault(b, set()).add(c["index"])
    return per


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--edgecc", required=True)
    ap.add_argument("--cache", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    a.model = require("googlenet", a.cache)
    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)

    # 1. The plan's prediction of a clustered partition is the clusters'.
    plan = compile_plan(a, "inter", [], "inter")
    q = plan["partitions"][0]
    if len(q["clusters"]) < 2:
        raise SystemExit("FAILED: googlenet under --parallel inter at 2 threads got %d cluster(s)" % len(q["clusters"]))
    for what, x in (("predicted_compute_ms", q["predicted_compute_ms"]), ("latency_ms", plan["predicted"]["latency_ms"])):
        if abs(x - q["predicted_clustered_ms"]) > 1e-3 * q["predicted_clustered_ms"]:
            raise SystemExit("FAILED: %s %.4f is not the clusters' prediction %.4f (intra %.4f)" % (
                what, x, q["predicted_clustered_ms"], q["predicted_intra_ms"]))
    print("plan: predicted latency %.3f ms = the clusters' %.3f ms (intra %.3f ms)" % (
        plan["predicted"]["latency_ms"], q["predicted_clustered_ms"], q["predicted_intra_ms"]))

    # 2. Per-node times at 1 and 2 threads: auto mixes per block, inter does not.
    flags = []
    for t in (1, 2):
        flags += ["--profile", "host=" + write_profile(a, plan, t)]
    auto, inter = compile_plan(a, "auto", flags, "auto-prof"), compile_plan(a, "inter", flags, "inter-prof")
    listed = [(p["file"], p["threads"]) for p in auto["devices"][0].get("cluster_profiles", [])]
    if listed != [("profile-t1.json", 1), ("profile-t2.json", 2)]:
        raise SystemExit("FAILED: plan.json's cluster_profiles: %s" % listed)
    pa, pi = clusters_per_block(auto), clusters_per_block(inter)
    joint = ("inception5a", "inception5b")
    bad = [b for b in sorted(pa) if (len(pa[b]) == 1) != (b in joint)]
    if bad or len(auto["partitions"][0]["clusters"]) < 2:
        raise SystemExit("FAILED: auto's clusters per block %s (want one in %s, two elsewhere)" % (
            {b: sorted(c) for b, c in sorted(pa.items())}, ", ".join(joint)))
    if not all(len(pi[b]) > 1 for b in joint):
        raise SystemExit("FAILED: inter's clusters per block %s (it should split %s)" % (
            {b: sorted(c) for b, c in sorted(pi.items())}, ", ".join(joint)))
    qa, qi = auto["partitions"][0], inter["partitions"][0]
    print("mix: auto %.3f ms predicted (5a, 5b on both threads, %d other blocks split), inter %.3f ms" % (
        qa["predicted_clustered_ms"], len(pa) - 2, qi["predicted_clustered_ms"]))
    if not qa["predicted_clustered_ms"] < qi["predicted_clustered_ms"]:
        raise SystemExit("FAILED: auto's refined clusters are not predicted faster than inter's")

    # 3. One thread count twice.
    p = run([a.edgecc, "plan", a.model, "--targets", "host", "--profile", "host=" + os.path.join(a.work, "profile-t1.json"),
             "--profile", "host=" + os.path.join(a.work, "profile-t1.json")], rc=2)
    if "given twice with profiles of the same thread count (1)" not in p.stderr:
        raise SystemExit("FAILED: the message for a thread count given twice: %s" % p.stderr)
    shutil.rmtree(a.work, ignore_errors=True)
    print("cluster_mix: auto mixes per block; plan.json predicts the clusters")


if __name__ == "__main__":
    main()
