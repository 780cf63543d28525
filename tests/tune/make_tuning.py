#!/usr/bin/python3
"""make_tuning.py SIGNATURES OUT.json TARGET [FASTEST NODE=FAMILY ...] [--version N]: a hand-made tuning
file (docs/tuning.md) from `edgecc tune MODEL --targets T --signatures` output: every signature with
FASTEST (onednn or xnnpack) at 1 ms and the other fast family at 2 ms (ref at 5 ms), except the
signature of each NODE named, where FAMILY is the fast one, or where FAMILY is times of its own
(`NODE=onednn:1,xnnpack:2,ref:0.5`)."""
import json
import sys

sig, out, target, fastest = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
version = 1
flips = {}
for a in sys.argv[5:]:
    if a.startswith("--version="):
        version = int(a.split("=", 1)[1])
    else:
        node, fam = a.rsplit("=", 1)
        flips[node] = fam
keys = {}
for line in open(sig):
    key, node, _ = line.rstrip("\n").split("\t", 2)
    fam = flips.get(node, keys.get(key, fastest))
    keys[key] = fam
missing = set(flips) - {line.split("\t")[1] for line in open(sig)}
if missing:
    sys.exit(f"no node {sorted(missing)} in {sig}")
nodes = []
for key, fam in keys.items():
    other = "xnnpack" if fam == "onednn" else "onednn"
    ms = {f: float(v) for f, v in (kv.split(":") for kv in fam.split(","))} if ":" in fam else \
        {fam: 1.0, other: 2.0, "ref": 5.0}
    nodes.append({"key": key, "op": "?", "shapes": "", "count": 1, "median_ms": ms, "kernels": {}})
json.dump({"format": "edgecc-tuning", "format_version": version, "target": target, "triple": "",
           "model": "", "model_sha256": "", "threads": 1, "runs": 1,
           "families": ["onednn", "xnnpack", "ref"], "nodes": nodes}, open(out, "w"), indent=1)
