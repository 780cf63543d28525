#!/usr/bin/python3
"""bench_merge.py — three head-only ResNet-50 variants merged into one program against the three
separate programs (issue 15, CoMPI's memory and compute argument): weights and the time of a
request to all three models.

usage: bench_merge.py --edgecc BUILD/edgecc [--family resnet50|cnn] [--runs N] [--rounds R]
                      [--threads T] [--work DIR] [--write-docs] [--max-load L]

The models come from tests/merge/merge_models.py (seeded torch: one backbone, three final layers
a, b, c), exported once into WORK/models. Compiled with `--targets host --threads T` (fast
kernels): a, b and c alone, and `a b c` merged; each folder built with its own CMakeLists
(Release). Per round, in turn: the merged program for all three models (one request), for model
a only (`--model a`), then each separate program; each is its own `--bench N` median, pinned to
CPU 0 when T is 1. The figures are the medians over the rounds:
- weights: the merged weights file against the three separate ones summed (issue: <= 0.4x);
- all three: the merged request against the three separate medians summed (issue: <= 0.4x);
- a alone: the merged program run for a only against a's own program (the price of the mask).
--write-docs replaces the bench/merge section of docs/benchmarks.md, and refuses (exit 1,
nothing written) when the 1-minute load average at the start or the end is above --max-load: a
timing taken while others build measures contention.
"""
import argparse
import datetime
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(HERE, "..", "plan"))
from common import build_folder, refuse_under_load, replace_section, run  # noqa: E402

BEGIN, END = "<!-- bench/merge: begin -->", "<!-- bench/merge: end -->"
NAMES = ["a", "b", "c"]


def compile_build(a, models, name):
    """edgecc MODELS --targets host -> WORK/NAME/src, built in WORK/NAME/build; (program, weights bytes)."""
    src = os.path.join(a.work, name, "src")
    run([a.edgecc, *models, "--targets", "host", "--threads", str(a.threads), "--name", name, "-o", src, "--force"])
    bdir = build_folder(os.path.join(src, "host"), os.path.join(a.work, name, "build"))
    return os.path.join(bdir, name + "_p0"), os.path.getsize(os.path.join(src, "host", name + "_p0.bin"))


def cpu_model():
    """lscpu's model name (FACTS.md: name the CPU in every table)."""
    for line in run(["lscpu"]).stdout.splitlines():
        if line.startswith("Model name:"):
            return line.split(":", 1)[1].strip()
    return "unknown CPU"


def median_ms(a, exe, inp, extra=()):
    cmd = [exe, "--input", inp, "--bench", str(a.runs), "--threads", str(a.threads), *extra]
    if a.threads == 1:
        cmd = ["taskset", "-c", "0"] + cmd
    out = run(cmd).stdout
    return float([ln for ln in out.splitlines() if ln.startswith("median_ms:")][-1].split()[1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--edgecc", required=True)
    ap.add_argument("--family", choices=["resnet50", "cnn"], default="resnet50")
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--work", default=os.path.join(ROOT, "build-bench-merge"))
    ap.add_argument("--doc", default=os.path.join(ROOT, "docs", "benchmarks.md"))
    ap.add_argument("--write-docs", action="store_true")
    ap.add_argument("--max-load", type=float, default=1.5, help="--write-docs only below this load average")
    a = ap.parse_args()
    if a.rounds < 1 or a.runs < 1 or a.threads < 1:
        raise SystemExit("bench_merge: --rounds, --runs and --threads must be at least 1")
    a.work = os.path.join(os.path.abspath(a.work), a.family)
    t0, load0 = time.time(), os.getloadavg()[0]
    models = os.path.join(a.work, "models")
    if not all(os.path.exists(os.path.join(models, m + ".onnx")) for m in NAMES):
        run(["/usr/bin/python3", os.path.join(ROOT, "tests/merge/merge_models.py"), models, "--family", a.family,
             "--only", ",".join(NAMES)], timeout=3600)
    paths = [os.path.join(models, m + ".onnx") for m in NAMES]
    inp = os.path.join(models, "a_input_0.pb")
    sep = {m: compile_build(a, [p], "sep_" + m) for m, p in zip(NAMES, paths)}
    merged, merged_bytes = compile_build(a, paths, "merged")
    print("compiled and built in %.0f s" % (time.time() - t0), flush=True)
    times = {k: [] for k in ["merged_all", "merged_a"] + NAMES}
    for r in range(a.rounds):
        times["merged_all"].append(median_ms(a, merged, inp))
        times["merged_a"].append(median_ms(a, merged, inp, ["--model", "a"]))
        for m in NAMES:
            times[m].append(median_ms(a, sep[m][0], inp))
        print("round %d: merged %.2f ms, merged --model a %.2f ms, separate %s ms" % (
            r + 1, times["merged_all"][-1], times["merged_a"][-1],
            " + ".join("%.2f" % times[m][-1] for m in NAMES)), flush=True)
    med = {k: statistics.median(v) for k, v in times.items()}
    sep_sum = sum(med[m] for m in NAMES)
    sep_bytes = sum(sep[m][1] for m in NAMES)
    load1 = os.getloadavg()[0]
    res = {"weights_merged": merged_bytes, "weights_separate": sep_bytes, "weights_ratio": merged_bytes / sep_bytes,
           "all_merged_ms": med["merged_all"], "all_separate_ms": sep_sum, "all_ratio": med["merged_all"] / sep_sum,
           "a_merged_ms": med["merged_a"], "a_separate_ms": med["a"], "a_ratio": med["merged_a"] / med["a"]}
    print("weights: merged %d bytes, separate %d bytes: %.3fx (issue: <= 0.4x)" % (
        merged_bytes, sep_bytes, res["weights_ratio"]))
    print("all three models: merged %.2f ms, separate %.2f ms (%s): %.3fx (issue: <= 0.4x)" % (
        med["merged_all"], sep_sum, " + ".join("%.2f" % med[m] for m in NAMES), res["all_ratio"]))
    print("model a alone: merged --model a %.2f ms, its own program %.2f ms: %.3fx" % (
        med["merged_a"], med["a"], res["a_ratio"]))
    print("1-minute load average %.1f at the start, %.1f at the end; %.0f s in all" % (load0, load1, time.time() - t0))
    if a.write_docs:
        refuse_under_load("bench_merge", (load0, load1), a.max_load, a.doc)
        write_doc(a, res, load0, load1)


def write_doc(a, res, load0, load1):
    commit = run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"]).stdout.strip()
    model = "ResNet-50" if a.family == "resnet50" else "the small residual CNN of unit_merge_cnn"
    L = [BEGIN, "## Several models merged against separate programs (issue 15)", "",
         f"{datetime.date.today().isoformat()}, commit {commit}, {cpu_model()}, {os.cpu_count()} cores, 1-minute load "
         f"average {load0:.1f} at the start and {load1:.1f} at the end. Three head-only variants of {model} "
         "(tests/merge/merge_models.py: one backbone, three final layers), fast kernels, "
         f"`--threads {a.threads}`; each figure the median over {a.rounds} alternating rounds of the program's "
         f"`--bench {a.runs}` median.", "",
         "| | merged | three separate | merged / separate |", "|---|---|---|---|",
         f"| weights file bytes | {res['weights_merged']} | {res['weights_separate']} | {res['weights_ratio']:.3f}x |",
         f"| a request to all three models, ms | {res['all_merged_ms']:.2f} | {res['all_separate_ms']:.2f} "
         f"(sum) | {res['all_ratio']:.3f}x |",
         f"| a request to model a only, ms | {res['a_merged_ms']:.2f} (`--model a`) | {res['a_separate_ms']:.2f} "
         f"(a's program) | {res['a_ratio']:.3f}x |", "",
         f"Command: `/usr/bin/python3 bench/merge/bench_merge.py --edgecc BUILD/edgecc --family {a.family} "
         f"--runs {a.runs} --rounds {a.rounds} --threads {a.threads} --write-docs`", END]
    replace_section(a.doc, BEGIN, END, "\n".join(L))


if __name__ == "__main__":
    main()
