#!/usr/bin/python3
"""unused_test.py — a device the plan leaves unused is said plainly: `edgecc digits.onnx --targets
pi5,orin -o OUT` (the command users type first) prints one line for pi5 with the objective, the
chosen plan's predicted latency (plan.json's), the whole model's time on pi5 (plan.json's), and the
flag that would use it; running `edgecc plan` with that flag does place a partition on pi5 with
the figures the line gave. With a fast link the throughput objective is suggested the same way.
The device's README says the same, and `edgecc --help` explains both objectives with an example.

usage: unused_test.py EDGECC DIGITS.onnx WORKDIR"""
import json
import os
import re
import shutil
import subprocess
import sys

edgecc, digits, work = sys.argv[1:4]
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
failures = []


def check(what, ok, detail=""):
    if not ok:
        failures.append("%s%s" % (what, ": " + detail if detail else ""))


def run(*args):
    p = subprocess.run([edgecc] + list(args), capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        raise SystemExit("FAILED: edgecc %s: exit %d\n%s" % (" ".join(args), p.returncode, p.stderr))
    return p.stdout


def plan_row(table, device):
    """(compute ms) of the partition row of `device` in an `edgecc plan` table, or None."""
    for line in table.splitlines():
        f = line.split()
        if len(f) > 5 and re.match(r"p\d+$", f[0]) and f[1] == device:
            return f
    return None


def figure(table, what):
    m = re.search(r"predicted %s: ([0-9.]+)" % what, table)
    return m.group(1) if m else None


# The user's first command: latency puts the model on orin, pi5 stays unused.
out = os.path.join(work, "out")
stdout = run(digits, "--targets", "pi5,orin", "-o", out)
plan = json.load(open(os.path.join(out, "plan.json")))
lines = [l for l in stdout.splitlines() if "/pi5: unused" in l]
check("one summary line for pi5", len(lines) == 1, stdout)
line = lines[0] if lines else ""
pi5 = [d for d in plan["devices"] if d["name"] == "pi5"][0]
check("plan.json: pi5 unused", pi5["used"] is False, str(pi5))
want = "edgecc: %s/pi5: unused: objective latency puts the whole model on orin (predicted %.3f ms); " \
       "the whole model on pi5 alone: %.3f ms; " % (out, plan["predicted"]["latency_ms"], pi5["predicted_whole_model_ms"])
check("the line gives the objective, plan.json's latency and pi5's whole-model time", line.startswith(want),
      "%r\nwanted it to start with %r" % (line, want))
m = re.search(r"--partitions (\d+) uses it \(predicted latency ([0-9.]+) ms, ([0-9.]+) requests/s\)", line)
check("the line names --partitions N with its figures", m is not None, line)
if m:
    table = run("plan", digits, "--targets", "pi5,orin", "--partitions", m.group(1))
    check("--partitions %s places a partition on pi5" % m.group(1), plan_row(table, "pi5") is not None, table)
    check("--partitions %s: the latency the line predicted" % m.group(1),
          figure(table, "end-to-end latency") == m.group(2), table)
readme = open(os.path.join(out, "pi5", "README.md")).read()
check("pi5/README.md has the same line", line.split(": unused: ", 1)[-1] in readme, readme)

# A link fast enough that a pipeline pays: --objective throughput is suggested, and uses pi5.
link = ["--link", "pi5:orin=100000,0.0001"]
table = run("plan", digits, "--targets", "pi5,orin", *link)
m = re.search(r"pi5 unused: .*--objective throughput uses it \((\d+) partitions, ([0-9.]+) requests/s against "
              r"([0-9.]+), latency ([0-9.]+) ms\)", table)
check("plan table: --objective throughput suggested with its figures", m is not None, table)
if m:
    check("'against' is this plan's throughput", figure(table, "throughput") == m.group(3), table)
    t2 = run("plan", digits, "--targets", "pi5,orin", "--objective", "throughput", *link)
    check("--objective throughput places a partition on pi5", plan_row(t2, "pi5") is not None, t2)
    check("--objective throughput: the throughput the line predicted", figure(t2, "throughput") == m.group(2), t2)
    check("--objective throughput: the latency the line predicted", figure(t2, "end-to-end latency") == m.group(4), t2)

# Help and README explain both objectives, with an example each.
h = subprocess.run([edgecc, "--help"], capture_output=True, text=True).stdout
check("edgecc --help: latency example", "edgecc model.onnx --targets pi5,orin -o out/" in h, h)
check("edgecc --help: throughput example", "--targets pi5,orin --objective throughput -o out/" in h, h)

for f in failures:
    print("FAIL:", f)
if failures:
    sys.exit(1)
print("unused devices: the line, its figures and its flags agree with plan.json and edgecc plan")
