#!/usr/bin/python3
"""compare_text.py EXPECTED GOT — lines "label value": same labels, values within ONNX's rule
|got - expected| <= 1e-7 + 1e-3 * |expected| (the conformance tolerance)."""
import sys

exp = [l.split() for l in open(sys.argv[1]) if l.strip()]
got = [l.split() for l in open(sys.argv[2]) if l.strip()]
if [e[:-1] for e in exp] != [g[:-1] for g in got]:
    sys.exit(f"labels differ:\n{exp}\n{got}")
worst = 0.0
for e, g in zip(exp, got):
    ev, gv = float(e[-1]), float(g[-1])
    if abs(gv - ev) > 1e-7 + 1e-3 * abs(ev):
        sys.exit(f"{' '.join(e[:-1])}: expected {ev!r}, got {gv!r}")
    worst = max(worst, abs(gv - ev))
print(f"{len(exp)} values match (max abs diff {worst:.3g})")
