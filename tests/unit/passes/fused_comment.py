#!/usr/bin/python3
"""The generated code of a fused op names the ONNX nodes it replaced (docs/generated-code.md): each
model is compiled for host with the fast and the reference kernels, and the comment of every step
whose op a fusion pass makes (LayerNormalization, Gelu, the Gemm of matmul-bias, StridedMatMul) must end with
`replaces the ONNX nodes SCOPE{...}` listing nodes of the model (at least two); N steps of the op
named per model must; steps of other ops carry no such line.

Usage: /usr/bin/python3 tests/unit/passes/fused_comment.py --edgecc PATH --work DIR MODEL:OP=N...
  (OP=N: N steps of op OP, each replacing nodes of the model; e.g. ln_torch.onnx:LayerNormalization=2)
"""

import argparse
import os
import re
import shutil
import subprocess
import sys

import onnx

# The ops the fusion passes make (a Gemm also as exported, without the line).
FUSED_OPS = ("LayerNormalization", "Gelu", "Gemm", "StridedMatMul")
STEP_RE = re.compile(r"/\* node '([^']*)' \((\w+)\):(.*?)\*/", re.S)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--edgecc", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("cases", nargs="+")
    args = ap.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(args.work)
    bad = []
    for case in args.cases:
        path, want = case.rsplit(":", 1)
        op, count = want.split("=")
        names = {n.name for n in onnx.load(path).graph.node}
        for kernels in ("xnnpack", "ref"):
            out = os.path.join(args.work, "%s_%s" % (os.path.basename(path), kernels))
            r = subprocess.run([args.edgecc, path, "--targets", "host", "--kernels", kernels, "--name", "m", "-o", out],
                               capture_output=True, text=True)
            if r.returncode:
                bad.append("%s --kernels %s: exit %d: %s" % (path, kernels, r.returncode, r.stderr[-500:]))
                continue
            src = open(os.path.join(out, "host", "m_p0.c")).read()
            fused = 0
            for node, node_op, body in STEP_RE.findall(src):
                m = re.search(r"replaces the ONNX nodes (\S*?)\{([^}]*)\}\s*$|replaces the ONNX nodes (.*?)\s*$", body, re.S)
                if not m:
                    if node_op == op and op != "Gemm":
                        bad.append("%s --kernels %s: step %s (%s) names no replaced node" % (path, kernels, node, op))
                    continue
                if node_op not in FUSED_OPS:
                    bad.append("%s: step %s (%s) says it replaces nodes" % (path, node, node_op))
                    continue
                listed = ([m.group(1) + s.strip() for s in m.group(2).split(",")] if m.group(2) is not None
                          else [s.strip() for s in m.group(3).split(",")])
                missing = [s for s in listed if s not in names]
                if len(listed) < 2 or missing:
                    bad.append("%s: step %s lists %s, not nodes of the model (%s)" % (path, node, listed, missing))
                fused += node_op == op
            if fused != int(count):
                bad.append("%s --kernels %s: %d %s steps name their nodes, want %s" % (path, kernels, fused, op, count))
    for b in bad:
        print("FAILED: " + b)
    if not bad:
        print("every fused step names the nodes it replaced (%d models)" % len(args.cases))
        shutil.rmtree(args.work)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
