#!/usr/bin/python3
"""bench_cluster.py — clusters on threads against intra-op threads (issue 13), same kernels
throughout, programs alternating within each round.

usage: bench_cluster.py --edgecc BUILD/edgecc [--cache ZOO_CACHE] [--models a,b] [--runs N]
                        [--rounds R] [--work DIR] [--write-docs]

Per model (from the zoo cache, `tests/models/zoo_cache.py` fills it), three compiles with
`--targets host --threads 2`: `--parallel intra`, `inter` and `auto`. Measured with each
program's own `--bench N` (median of N runs after a warm-up), in every round in turn:
sequential (the intra program at `--threads 1`, pinned with `taskset -c 0`), intra, inter and auto
at `--threads 2`. The figure per configuration is the median of the round medians. Predicted
gains come from plan.json (intra: predicted_sequential_ms / predicted_intra_ms; the clustered
modes: predicted_sequential_ms / predicted_clustered_ms), printed and tabled beside the measured
ones per model and mode. --write-docs replaces the bench/cluster section of docs/benchmarks.md,
and refuses (exit 1, nothing written) when the 1-minute load average at the start or the end is
above --max-load (default 1.5 on this 2-core machine): figures measured under other engineers'
builds measure contention, not the programs.
"""
import argparse
import datetime
import json
import os
import re
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(HERE, "..", "plan"))
from common import build_folder, replace_section, run  # noqa: E402

MODELS = ["googlenet", "inception_v3", "squeezenet1_1", "mobilenet_v2", "resnet18", "resnet50", "densenet121",
          "shufflenet_v2_x1_0"]
MODES = ["intra", "inter", "auto"]
BEGIN, END = "<!-- bench/cluster: begin -->", "<!-- bench/cluster: end -->"


def compile_mode(a, model, mode):
    out = os.path.join(a.work, model, mode)
    run([a.edgecc, os.path.join(a.cache, model + ".onnx"), "--targets", "host", "--threads", "2", "--parallel", mode,
         "-o", out + "/src", "--name", model, "--force"])
    with open(os.path.join(out, "src", "plan.json")) as f:
        part = json.load(f)["partitions"][0]
    bdir = build_folder(os.path.join(out, "src", "host"), os.path.join(out, "build"))
    return os.path.join(bdir, model + "_p0"), part


def time_prog(exe, inp, threads, runs):
    cmd = [exe, "--input", inp, "--bench", str(runs), "--threads", str(threads)]
    if threads == 1:
        cmd = ["taskset", "-c", "0"] + cmd
    p = run(cmd)
    return float(re.findall(r"median_ms:\s*([0-9.]+)", p.stdout)[-1])


def cpu_name():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "?"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--edgecc", required=True)
    ap.add_argument("--cache", default=os.path.join(ROOT, "build", "zoo-cache"))
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--work", default=os.path.join(ROOT, "build-bench-cluster"))
    ap.add_argument("--doc", default=os.path.join(ROOT, "docs", "benchmarks.md"))
    ap.add_argument("--write-docs", action="store_true")
    ap.add_argument("--max-load", type=float, default=1.5, help="--write-docs only below this load average")
    a = ap.parse_args()
    load0 = os.getloadavg()[0]
    rows = []
    for model in a.models.split(","):
        inp = os.path.join(a.cache, model + "_input_0.pb")
        progs = {m: compile_mode(a, model, m) for m in MODES}
        configs = [("sequential", progs["intra"][0], 1)] + [(m, progs[m][0], 2) for m in MODES]
        times = {c[0]: [] for c in configs}
        for _ in range(a.rounds):
            for name, exe, th in configs:
                times[name].append(time_prog(exe, inp, th, a.runs))
        med = {k: statistics.median(v) for k, v in times.items()}
        pred = {}
        for m in MODES:
            p = progs[m][1]
            pred[m] = p["predicted_sequential_ms"] / (p["predicted_clustered_ms"] if m != "intra" else p["predicted_intra_ms"])
        clusters = {m: len(progs[m][1]["clusters"]) for m in MODES}
        rows.append((model, med, pred, clusters))
        print("%-20s seq %7.2f  intra %7.2f (%.2fx, pred %.2fx)  inter %7.2f (%.2fx, pred %.2fx, %d clusters)  "
              "auto %7.2f (%.2fx, pred %.2fx, %d clusters)" % (
                  model, med["sequential"], med["intra"], med["sequential"] / med["intra"], pred["intra"],
                  med["inter"], med["sequential"] / med["inter"], pred["inter"], clusters["inter"],
                  med["auto"], med["sequential"] / med["auto"], pred["auto"], clusters["auto"]), flush=True)
    load1 = os.getloadavg()[0]
    print("1-minute load average %.1f at the start, %.1f at the end" % (load0, load1))
    if a.write_docs:
        if max(load0, load1) > a.max_load:
            raise SystemExit("bench_cluster: load average above %.1f: not written to %s (measured under load)"
                             % (a.max_load, a.doc))
        write_doc(a, rows, load0, load1)


def write_doc(a, rows, load0, load1):
    commit = run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"]).stdout.strip()
    L = [BEGIN, "## Clusters on threads against intra-op threads (issue 13)", "",
         f"{datetime.date.today().isoformat()}, commit {commit}, {cpu_name()}, {os.cpu_count()} cores, 1-minute load "
         f"average {load0:.1f} at the start and {load1:.1f} at the end (other engineers share the 2 cores: compare "
         f"ratios within a row). Fast kernels throughout; each program's `--bench {a.runs}` median, median over "
         f"{a.rounds} alternating rounds. Sequential: the `--parallel intra` program at `--threads 1` (pinned with "
         "`taskset -c 0`); the others at `--threads 2`, all compiled with `--threads 2`. Speed-up = sequential / "
         "configuration; predicted = plan.json's predicted_sequential_ms over its intra or clustered time.", "",
         "| model | sequential ms | intra ms | intra speed-up (predicted) | inter ms | inter speed-up (predicted) | "
         "inter clusters | auto ms | auto speed-up (predicted) | auto clusters | auto / intra |",
         "|---|---|---|---|---|---|---|---|---|---|---|"]
    for model, med, pred, cl in rows:
        s = med["sequential"]
        L.append(f"| {model} | {s:.2f} | {med['intra']:.2f} | {s / med['intra']:.2f}x ({pred['intra']:.2f}x) | "
                 f"{med['inter']:.2f} | {s / med['inter']:.2f}x ({pred['inter']:.2f}x) | {cl['inter']} | "
                 f"{med['auto']:.2f} | {s / med['auto']:.2f}x ({pred['auto']:.2f}x) | {cl['auto']} | "
                 f"{med['auto'] / med['intra']:.3f} |")
    L += ["", f"Command: `/usr/bin/python3 bench/cluster/bench_cluster.py --edgecc BUILD/edgecc --models {a.models} "
          f"--runs {a.runs} --rounds {a.rounds} --write-docs`", END]
    replace_section(a.doc, BEGIN, END, "\n".join(L))


if __name__ == "__main__":
    main()
