#!/usr/bin/env python3
"""vectorized.py — the plain-C transformer kernels (kernels/xnnpack/eck_xnn_transformer.c) compile
to vector code. They are only fast when the C compiler vectorizes their loops: a clamp or a sign
test in eck_xnn_gelu once left it scalar with a data-dependent branch (8 ns per element against
0.3), which no output comparison can see. With the x86-64 target's flags (targets/x86-64.json),
GCC must report a loop vectorized inside each kernel function once per version it compiles (the
baseline and the AVX2 and AVX-512 clones of ECK_VEC_CLONES, which x86-64 glibc builds must have;
GCC's report does not say which version, so it is counted).

usage: vectorized.py REPO [CC]   (exit 0 pass, 1 fail; 77 skip: not GCC on x86-64)"""
import json, os, platform, re, subprocess, sys, tempfile

KERNELS = ["eck_xnn_gelu", "eck_xnn_layernorm"]


def main():
    repo = sys.argv[1]
    cc = sys.argv[2] if len(sys.argv) > 2 else "gcc"
    src = os.path.join(repo, "kernels/xnnpack/eck_xnn_transformer.c")
    ver = subprocess.run([cc, "--version"], capture_output=True, text=True).stdout
    if platform.machine() != "x86_64" or "Free Software Foundation" not in ver:
        print("SKIP: needs GCC on x86-64 (its -fopt-info report and the clones are GCC's)")
        return 77
    cflags = json.load(open(os.path.join(repo, "targets/x86-64.json")))["cflags"]
    lines = open(src).read().split("\n")
    # Each kernel's line range: from its definition to the closing brace in column 0.
    ranges = {}
    for name in KERNELS:
        start = next(i for i, l in enumerate(lines, 1) if re.match(r"^\S.*\b%s\(" % name, l))
        end = next(i for i in range(start, len(lines) + 1) if lines[i - 1].startswith("}"))
        ranges[name] = (start, end)
    with tempfile.TemporaryDirectory() as tmp:
        obj = os.path.join(tmp, "k.o")
        r = subprocess.run([cc, "-std=c99", *cflags, "-fopt-info-vec-optimized", "-c", src, "-o", obj,
                            "-I" + os.path.join(repo, "kernels/xnnpack"), "-I" + os.path.join(repo, "kernels/ref")],
                           capture_output=True, text=True)
        if r.returncode:
            print(r.stderr)
            return 1
        vec = [int(m.group(1)) for m in re.finditer(r"eck_xnn_transformer\.c:(\d+):\d+: optimized: loop vectorized",
                                                     r.stderr)]
        syms = subprocess.run(["nm", obj], capture_output=True, text=True).stdout
    bad = 0
    for name, (a, b) in ranges.items():
        hits = [v for v in vec if a <= v <= b]
        clones = [c for c in ("avx2", "avx512f") if re.search(r"\b%s\.%s\b" % (name, c), syms)]
        ok = len(hits) >= 1 + len(clones) and len(clones) == 2
        print("%-20s lines %d-%d: %d loops vectorized (at %s), clones %s: %s"
              % (name, a, b, len(hits), ",".join(map(str, hits)) or "-", ",".join(clones) or "none",
                 "ok" if ok else "FAIL"))
        bad += not ok
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
