#!/usr/bin/python3
"""cluster_timeline.py — a clustered program's --profile-json gives each step's cluster and start
(the per-cluster timelines of docs/generated-code.md), and they describe a real schedule.

usage: cluster_timeline.py --edgecc E --build-dir DIR --src DIR --work DIR

The branchy CNN of idle_threads.py (four branches between a stem and a head), compiled with
`--parallel inter --threads 2` (2 clusters, else the test fails) and built against the main build's
runtime. One timed run at --threads 2 (`--bench 1 --profile-json`, so each figure is that run's
own, not a median of several), checked against what the ONNX file and plan.json say, not against
the runtime's own bookkeeping:
  - every step carries a cluster, the one plan.json lists its node in;
  - the steps of one cluster do not overlap in time (one thread runs them in step order);
  - a step reading a tensor another cluster's step wrote starts after that step ended (the ready
    flag held it back): the producer found from the ONNX graph, through nodes fused into it;
  - oneDNN's teams (one thread budget): plan.json gives the stem's and the head's oneDNN steps,
    which no branch can run beside, both threads, the branches' one each; the generated code's
    dnnl_teams[] carries exactly those teams; and in the run no step of the other cluster overlaps
    a step whose team has both threads (so at most 2 threads ran at any time).
The same program at --threads 1 (its steps in order on the caller) and the --parallel intra program
carry no cluster or start: those fields are only for clustered runs.
"""

import argparse
import json
import os
import re
import shutil
import sys

import onnx

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from idle_threads import fresh_model, run  # noqa: E402

# Times are printed with 6 decimals (ms): allow the rounding of two figures.
EPS = 2e-6


def profile(exe, inp, work, name, threads):
    path = os.path.join(work, name + ".json")
    run([exe, "--input", inp, "--threads", str(threads), "--bench", "1", "--profile-json", path])
    with open(path) as f:
        return json.load(f)["steps"]


def step_producers(model_path, step_names):
    """Per step node: the step nodes whose outputs it reads, looking through nodes without a step
    (a Relu fused into its Conv)."""
    g = onnx.load(model_path).graph
    made_by = {o: n for n in g.node for o in n.output}

    def writers(tensor):
        n = made_by.get(tensor)
        if n is None:
            return set()
        if n.name in step_names:
            return {n.name}
        return set().union(*(writers(i) for i in n.input)) if n.input else set()

    return {n.name: set().union(*(writers(i) for i in n.input)) for n in g.node if n.name in step_names}


def main():
    ap = argparse.ArgumentParser()
    for f in ("--edgecc", "--build-dir", "--src", "--work"):
        ap.add_argument(f, required=True)
    a = ap.parse_args()
    model, inp = fresh_model(a.work)
    exes = {}
    for mode in ("inter", "intra"):
        out = os.path.join(a.work, mode)
        run([a.edgecc, model, "--targets", "host", "--threads", "2", "--parallel", mode, "-o", out, "--name", "tl"])
        exes[mode] = os.path.join(a.work, "bin-" + mode, "tl_p0")
        run([os.path.join(a.src, "tests/codegen/build_generated.sh"), os.path.join(out, "host"), a.build_dir,
             exes[mode]])
    # oneDNN's OpenMP workers: the short spin count without clusters, the passive policy with them
    # (spinning workers took the cores from the other cluster: googlenet 21.8 vs 14.4 ms).
    for mode, want in (("inter", "eck_dnnl_passive_wait(argv);"), ("intra", "eck_dnnl_short_spin(argv);")):
        with open(os.path.join(a.work, mode, "host", "main_p0.c")) as f:
            text = f.read()
        if "eck_dnnl_" in text and want not in text:
            raise SystemExit("FAILED: the %s program's main does not call %s" % (mode, want))
    with open(os.path.join(a.work, "inter", "plan.json")) as f:
        clusters = json.load(f)["partitions"][0]["clusters"]
    if len(clusters) != 2:
        raise SystemExit("FAILED: --parallel inter --threads 2 made %d cluster(s); the test needs 2" % len(clusters))
    planned = {node: c["index"] for c in clusters for node in c["nodes"]}
    teams = {node: t for c in clusters for node, t in c.get("onednn_teams", {}).items()}
    wide = sorted(node for node, t in teams.items() if t == 2)
    if wide != ["head", "stem"] or sorted(set(teams.values())) != [1, 2]:
        raise SystemExit("FAILED: plan.json's oneDNN teams: %s (want stem and head on 2 threads, the branches on 1)"
                         % teams)
    with open(os.path.join(a.work, "inter", "host", "tl_p0.c")) as f:
        table = f.read().split("dnnl_teams[TL_P0_N_DNNL] = {", 1)[-1].split("};", 1)[0]
    coded = sorted(int(x) for x in re.findall(r"\] = (\d+),", table))
    if coded != sorted(teams.values()):
        raise SystemExit("FAILED: the generated dnnl_teams[] %s is not plan.json's teams %s"
                         % (coded, sorted(teams.values())))

    steps = profile(exes["inter"], inp, a.work, "inter-2", 2)
    by_name = {s["node"]: s for s in steps}
    bad = [s["node"] for s in steps if s.get("cluster") != planned.get(s["node"]) or "start_ms" not in s]
    if bad:
        raise SystemExit("FAILED: steps without the cluster plan.json gives them, or without a start: %s (%s)"
                         % (bad, [(s["node"], s.get("cluster"), planned.get(s["node"])) for s in steps][:8]))
    used = sorted({s["cluster"] for s in steps})
    if used != [0, 1]:
        raise SystemExit("FAILED: the steps ran on clusters %s, not on both" % used)
    for c in used:
        mine = [s for s in steps if s["cluster"] == c]
        for x, y in zip(mine, mine[1:]):
            if y["start_ms"] + EPS < x["start_ms"] + x["median_ms"]:
                raise SystemExit("FAILED: cluster %d: step %s starts at %.6f ms, before %s ends (%.6f + %.6f)"
                                 % (c, y["node"], y["start_ms"], x["node"], x["start_ms"], x["median_ms"]))
    handed = 0
    for node, srcs in step_producers(model, set(by_name)).items():
        s = by_name[node]
        for src in srcs:
            p = by_name[src]
            if p["cluster"] == s["cluster"]:
                continue
            handed += 1
            if s["start_ms"] + EPS < p["start_ms"] + p["median_ms"]:
                raise SystemExit("FAILED: %s (cluster %d) starts at %.6f ms, before %s (cluster %d), whose output it "
                                 "reads, ends at %.6f" % (node, s["cluster"], s["start_ms"], src, p["cluster"],
                                                          p["start_ms"] + p["median_ms"]))
    if handed == 0:
        raise SystemExit("FAILED: no step reads another cluster's tensor: the hand-offs were not checked")
    for node in wide:
        x = by_name[node]
        for y in steps:
            if y["cluster"] != x["cluster"] and y["start_ms"] + y["median_ms"] > x["start_ms"] + EPS and \
                    y["start_ms"] + EPS < x["start_ms"] + x["median_ms"]:
                raise SystemExit("FAILED: %s (cluster %d, a team of 2 threads) ran from %.6f to %.6f ms beside %s "
                                 "(cluster %d, %.6f to %.6f): more threads than --threads 2" % (
                                     node, x["cluster"], x["start_ms"], x["start_ms"] + x["median_ms"], y["node"],
                                     y["cluster"], y["start_ms"], y["start_ms"] + y["median_ms"]))

    for name, exe, threads in (("inter-1", exes["inter"], 1), ("intra-2", exes["intra"], 2)):
        extra = [s["node"] for s in profile(exe, inp, a.work, name, threads) if "cluster" in s or "start_ms" in s]
        if extra:
            raise SystemExit("FAILED: %s: steps of a run in order carry a cluster or start: %s" % (name, extra))
    ends = {c: max(s["start_ms"] + s["median_ms"] for s in steps if s["cluster"] == c) for c in used}
    print("cluster_timeline: %d steps on 2 clusters (ending at %s ms), %d cross-cluster reads after their writers; "
          "none at 1 thread or in the intra program" % (len(steps), ", ".join("%.3f" % ends[c] for c in used), handed))
    shutil.rmtree(a.work, ignore_errors=True)


if __name__ == "__main__":
    main()
