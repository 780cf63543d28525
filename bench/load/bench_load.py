#!/usr/bin/python3
"""bench_load.py — how long `edgecc inspect` takes on the ResNet-50 export and how much memory it
peaks at, against the file's size; writes the "Loading and inspecting" section of docs/benchmarks.md.

Usage: /usr/bin/python3 bench/load/bench_load.py --edgecc BUILD/edgecc [--model FILE.onnx]
           [--cache DIR] [--runs N] [--no-doc]
Without --model, ResNet-50 is exported (tests/models/export_zoo.py) into --cache (default:
the edgecc binary's folder /zoo-cache, which the zoo tests share) unless already there.
Each variant runs N times (default 9) after one warm-up (page cache filled); wall time and peak
RSS (getrusage of the child) are medians. Variants: `inspect --shape-inputs` (parse and build the IR,
no shape inference: the loader alone) and `inspect --json` (everything inspect does).
Goal (issue 2): under 1 s and a peak under 2.2x the file size.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
BEGIN, END = "<!-- bench/load: begin -->", "<!-- bench/load: end -->"


def run_once(argv):
    """(wall seconds, peak RSS bytes, user s, sys s, exit status, stderr tail)."""
    start = time.monotonic()
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.monotonic() - start
    p.returncode = os.waitstatus_to_exitcode(status)
    tail = err.decode("utf-8", "replace").strip().splitlines()
    return wall, ru.ru_maxrss * 1024, ru.ru_utime, ru.ru_stime, p.returncode, tail[-1] if tail else ""


def measure(argv, runs):
    run_once(argv)  # warm-up: the file in the page cache, as on a developer's machine
    rs = [run_once(argv) for _ in range(runs)]
    return {"wall": statistics.median(r[0] for r in rs), "wall_min": min(r[0] for r in rs),
            "wall_max": max(r[0] for r in rs), "rss": statistics.median(r[1] for r in rs),
            "user": statistics.median(r[2] for r in rs), "sys": statistics.median(r[3] for r in rs),
            "status": rs[-1][4], "err": rs[-1][5]}


def update_doc(path, section):
    text = ""
    if os.path.exists(path):
        with open(path) as f:
            text = f.read()
    block = BEGIN + "\n" + section.rstrip() + "\n" + END
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + block + rest.split(END, 1)[1]
    else:
        if not text:
            text = ("# Benchmarks\n\nMeasured on the project's 2-core build machine (see "
                    "`../shared/FACTS.md` for its figures). Absolute times on a shared machine drift; "
                    "each section names the command that produced it.\n")
        text = text.rstrip() + "\n\n" + block + "\n"
    with open(path, "w") as f:
        f.write(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--edgecc", required=True)
    ap.add_argument("--model", help="ONNX file (default: the ResNet-50 export)")
    ap.add_argument("--cache", help="folder of zoo exports (default: EDGECC_DIR/zoo-cache)")
    ap.add_argument("--runs", type=int, default=9)
    ap.add_argument("--doc", default=os.path.join(REPO, "docs", "benchmarks.md"))
    ap.add_argument("--no-doc", action="store_true", help="print only, leave docs/benchmarks.md alone")
    args = ap.parse_args()
    edgecc = os.path.abspath(args.edgecc)
    model = args.model
    if not model:
        sys.path.insert(0, os.path.join(REPO, "tests", "models"))
        import zoo_inspect  # the zoo tests' export-once helper
        cache = args.cache or os.path.join(os.path.dirname(edgecc), "zoo-cache")
        model = zoo_inspect.export("resnet50", cache)
    size = os.path.getsize(model)

    variants = [("load only (`inspect --shape-inputs`)", ["inspect", model, "--shape-inputs"]),
                ("full (`inspect --json`)", ["inspect", model, "--json"])]
    load = os.getloadavg()[0]
    rows = []
    for label, argv in variants:
        m = measure([edgecc] + argv, args.runs)
        rows.append((label, m))
        print("%-40s median %.3f s (min %.3f, max %.3f; user %.3f, sys %.3f), peak RSS %.1f MB = %.2fx file%s"
              % (label, m["wall"], m["wall_min"], m["wall_max"], m["user"], m["sys"], m["rss"] / 1e6,
                 m["rss"] / size, "" if m["status"] == 0 else "  [exit %d: %s]" % (m["status"], m["err"])))

    full = rows[-1][1]
    verdict = []
    info = subprocess.run([edgecc, "inspect", model, "--json"], stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL)
    if info.returncode == 0:
        wbytes = json.loads(info.stdout)["weight_bytes"]
        verdict.append("Where the memory goes: the file is mapped (its %.1f MB of pages count in RSS while "
                       "protobuf-c unpacks it) and protobuf-c copies every `raw_data` (the weights, %.1f MB) "
                       "before the map is dropped; the peak minus those two is %.1f MB (IR, program, libc)."
                       % (size / 1e6, wbytes / 1e6, (full["rss"] - size - wbytes) / 1e6))
        verdict.append("Shape inference and folding add %.3f s of CPU (user+sys) to the load alone."
                       % (full["user"] + full["sys"] - rows[0][1]["user"] - rows[0][1]["sys"]))
    if full["status"] != 0:
        verdict.append("`inspect --json` does not finish yet (exit %d: %s), so its figures cover only "
                       "the work before the error." % (full["status"], full["err"].replace(model, "MODEL")))
    verdict.append("Goal: under 1 s — %s; peak under 2.2x the file size — %s."
                   % ("met" if full["wall"] < 1 else "missed", "met" if full["rss"] < 2.2 * size else "missed"))
    commit = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL).stdout.decode().strip()
    L = ["## Loading and inspecting ResNet-50", "",
         "`%s` (%.1f MB, %s parameters as exported by `tests/models/export_zoo.py resnet50`), "
         "median of %d runs after one warm-up, at commit %s, 1-minute load average %.1f on 2 cores when "
         "it started (wall times stretch on a busy machine; user+sys CPU is the steadier figure). Peak RSS "
         "is the child's `ru_maxrss`."
         % (os.path.basename(model), size / 1e6, "25.5 M", args.runs, commit or "?", load), "",
         "| what | median wall | min–max | user | sys | peak RSS | peak / file size |",
         "|---|---|---|---|---|---|---|"]
    for label, m in rows:
        L.append("| %s | %.3f s | %.3f–%.3f s | %.3f s | %.3f s | %.1f MB | %.2fx |"
                 % (label, m["wall"], m["wall_min"], m["wall_max"], m["user"], m["sys"], m["rss"] / 1e6,
                    m["rss"] / size))
    L += ["", " ".join(verdict), "",
          "Command: `/usr/bin/python3 bench/load/bench_load.py --edgecc BUILD/edgecc --runs %d`" % args.runs]
    section = "\n".join(L) + "\n"
    print(section)
    if not args.no_doc:
        update_doc(args.doc, section)
        print("updated %s" % args.doc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
