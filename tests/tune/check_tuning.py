#!/usr/bin/python3
"""check_tuning.py FILE TARGET FAMILY...: a tuning file as docs/tuning.md defines it: format, version 1,
the target, every node entry with a 16-hex-digit key (each once), its op, count >= 1 and a median of
0 ms or more for each FAMILY named (the families the target runs)."""
import json
import re
import sys

path, target, fams = sys.argv[1], sys.argv[2], sys.argv[3:]
t = json.load(open(path))
errs = []
if t.get("format") != "edgecc-tuning" or t.get("format_version") != 1:
    errs.append("format / format_version")
if t.get("target") != target:
    errs.append(f"target {t.get('target')!r}, want {target!r}")
if t.get("families") != fams:
    errs.append(f"families {t.get('families')}, want {fams}")
nodes = t.get("nodes", [])
if not nodes:
    errs.append("no node entries")
seen = set()
for i, n in enumerate(nodes):
    if not re.fullmatch(r"[0-9a-f]{16}", n.get("key", "")) or n["key"] in seen:
        errs.append(f"nodes[{i}]: bad or repeated key {n.get('key')!r}")
    seen.add(n.get("key"))
    if not n.get("op") or n.get("count", 0) < 1:
        errs.append(f"nodes[{i}]: op / count")
    ms = n.get("median_ms", {})
    for f in fams:
        if not isinstance(ms.get(f), (int, float)) or ms[f] < 0:
            errs.append(f"nodes[{i}] ({n.get('op')}): no median for {f}: {ms}")
if errs:
    print(f"{path}: " + "; ".join(errs[:10]))
    sys.exit(1)
print(f"{path}: {len(nodes)} signatures, families {fams}")
