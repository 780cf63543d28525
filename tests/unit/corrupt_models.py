#!/usr/bin/python3
"""corrupt_models.py — every truncation (each 1/64 of the file) and N seeded one-byte flips of
each model: edgecc must exit 0 or 1, never crash, hang (10 s) or trip a sanitizer; every
truncation and every flip the ONNX checker (full_check) rejects must end in exit 1 with one
diagnostic line. Where the checker accepts, edgecc may still reject; where edgecc accepts, the
checker must accept too.

usage: corrupt_models.py --edgecc PATH --work DIR [--flips N] [--seed S] [--jobs J] MODEL...
A failing flip prints its seed; `--only-seed S` replays one flip of each model."""
import argparse
import concurrent.futures as cf
import os
import random
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import onnx  # noqa: E402

import edgecc_run  # noqa: E402


def flip(data, seed):
    """One byte of the file XORed with a non-zero value, both drawn from `seed`."""
    r = random.Random(seed)
    b = bytearray(data)
    pos = r.randrange(len(b))
    b[pos] ^= r.randrange(1, 256)
    return bytes(b), pos


def checker_accepts(data):
    try:
        m = onnx.load_from_string(data)
        onnx.checker.check_model(m, full_check=True)
        return True, ""
    except Exception as e:  # any rejection: parse error, checker or shape inference
        return False, str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--edgecc", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--flips", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--only-seed", type=int, default=None)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=10)
    ap.add_argument("models", nargs="+")
    a = ap.parse_args()
    edgecc = os.path.abspath(a.edgecc)
    work = os.path.abspath(a.work)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)

    failures, gaps = [], []
    known = {}  # (model basename, seed) -> reason
    with open(os.path.join(HERE, "corrupt_known.txt")) as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                base, seed, reason = line.split(None, 2)
                known[(base, int(seed))] = reason.strip()
    known_hit, known_run = set(), set()
    stats = {}

    def full_load_rejects(path):
        """True when the loader with inference (as eval runs it) rejects the model: eval with no
        input files gets past loading only to complain about the input count."""
        r = edgecc_run.run(edgecc, ["eval", path], timeout=a.timeout)
        return r.rc == 1 and "input(s)" not in r.err and not edgecc_run.abnormal(r)

    def job(path, kind, label, data):
        """Writes the corrupted file, runs edgecc; returns (path, kind, label, data, result)."""
        r = edgecc_run.run(edgecc, ["inspect", path], timeout=a.timeout)
        return path, kind, label, data, r

    for mi, model in enumerate(a.models):
        with open(model, "rb") as f:
            orig = f.read()
        base = os.path.splitext(os.path.basename(model))[0]
        mdir = os.path.join(work, "%d_%s" % (mi, base))
        os.makedirs(mdir)
        r0 = edgecc_run.run(edgecc, ["inspect", model], timeout=a.timeout)
        st = stats.setdefault(model, {"loads": r0.rc == 0, "trunc": 0, "flip0": 0, "flip1": 0,
                                      "flip_checker_rejects": 0})
        if edgecc_run.abnormal(r0):
            failures.append("%s (unmodified): %s" % (model, r0.describe()))
        tasks = []
        if a.only_seed is None:
            cuts = sorted(set(len(orig) * k // 64 for k in range(64)))
            for cut in cuts:
                p = os.path.join(mdir, "trunc_%d.onnx" % cut)
                with open(p, "wb") as f:
                    f.write(orig[:cut])
                tasks.append((p, "trunc", "truncated to %d of %d bytes" % (cut, len(orig)), None))
            seeds = [a.seed * 100003 + mi * 10007 + i for i in range(a.flips)]
        else:
            seeds = [a.only_seed]
        for s in seeds:
            data, pos = flip(orig, s)
            p = os.path.join(mdir, "flip_%d.onnx" % s)
            with open(p, "wb") as f:
                f.write(data)
            tasks.append((p, "flip", "flip seed %d (byte %d)" % (s, pos), (data, s)))
        with cf.ThreadPoolExecutor(max_workers=a.jobs) as ex:
            results = list(ex.map(lambda t: job(*t), tasks))
        for path, kind, label, data, r in results:
            what = "%s, %s" % (model, label)
            seed = data[1] if data else None
            data = data[0] if data else None
            nfail = len(failures)
            bad = edgecc_run.abnormal(r)
            if bad:
                failures.append("%s: expected exit 0 or 1, got %s; %s" % (what, bad, r.describe()))
                continue
            if kind == "trunc":
                probs = edgecc_run.check_error(r, file=path)
                if probs:
                    failures.append("%s: %s" % (what, "; ".join(probs)))
                else:
                    st["trunc"] += 1
                os.remove(path)
                continue
            if r.rc == 1:
                probs = edgecc_run.check_error(r, file=path)
                if probs:
                    failures.append("%s: %s" % (what, "; ".join(probs)))
                st["flip1"] += 1
            elif r.rc == 0:
                ok, why = checker_accepts(data)
                if not ok and full_load_rejects(path):
                    # `inspect` infers shapes itself and so skips the loader's check of declared
                    # output/value_info types (ec_onnx_check_declared); the full load used by
                    # eval and compile rejects the file. Reported, not failed, until inspect.c
                    # calls that check too.
                    gaps.append("%s: inspect exits 0, the full load rejects it (checker: %s)"
                                % (what, why))
                elif not ok:
                    st["flip_checker_rejects"] += 1
                    failures.append("%s: expected exit 1 (onnx.checker rejects it: %s), got exit 0"
                                    % (what, why))
                st["flip0"] += 1
            else:
                failures.append("%s: expected exit 0 or 1, got %s; %s" % (what, r.rc, r.describe()))
            key = (os.path.basename(model), seed)
            known_run.add(key)
            if key in known and len(failures) > nfail:
                known_hit.add(key)
                gaps.append("%s: known (%s): %s" % (what, known[key], failures.pop()))
            if len(failures) == nfail:
                os.remove(path)

    for m, st in stats.items():
        print("%s: loads unmodified: %s; truncations rejected: %d; flips: %d accepted, %d rejected"
              % (m, "yes" if st["loads"] else "no", st["trunc"], st["flip0"], st["flip1"]))
    for key in (set(known) & known_run) - known_hit:
        print("NOTE: known flip %s seed %d no longer fails: remove it from corrupt_known.txt" % key)
    for gp in gaps[:50]:
        print("KNOWN GAP:", gp)
    for f in failures[:200]:
        print("FAIL:", f)
    if len(failures) > 200:
        print("... and %d more failures" % (len(failures) - 200))
    print("corrupt_models: %d failure(s)" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
