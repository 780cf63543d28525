"""edgecc_run.py — runs edgecc for the Python-driven tests and judges how it ended: exit status,
signal, timeout, sanitizer report, and the one-line diagnostic every model error must end with."""
import os
import re
import subprocess

# A sanitizer report must not look like an ordinary exit 1.
SAN_ENV = {
    "ASAN_OPTIONS": "exitcode=86:detect_leaks=1:abort_on_error=0:allocator_may_return_null=1",
    "UBSAN_OPTIONS": "exitcode=87:print_stacktrace=1:halt_on_error=1",
    "LSAN_OPTIONS": "exitcode=88",
}
SAN_MARKERS = ("Sanitizer", "runtime error:", "LeakSanitizer")


class Result:
    def __init__(self, args, rc, out, err, timed_out):
        self.args, self.rc, self.out, self.err, self.timed_out = args, rc, out, err, timed_out

    def describe(self):
        tail = self.err.strip().splitlines()[-6:]
        return "rc=%s%s, stderr tail: %s" % (self.rc, " (timeout)" if self.timed_out else "",
                                             " | ".join(tail) if tail else "(empty)")


def run(edgecc, args, timeout=10, cwd=None):
    env = dict(os.environ)
    env.update(SAN_ENV)
    try:
        p = subprocess.run([edgecc] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout, cwd=cwd, env=env)
        return Result(args, p.returncode, p.stdout.decode("utf-8", "replace"),
                      p.stderr.decode("utf-8", "replace"), False)
    except subprocess.TimeoutExpired as e:
        return Result(args, None, "", (e.stderr or b"").decode("utf-8", "replace"), True)


def abnormal(r):
    """Why this run is a crash/hang/sanitizer report, or None when it ended normally."""
    if r.timed_out:
        return "hang (no exit within the timeout)"
    if r.rc is not None and r.rc < 0:
        return "killed by signal %d" % -r.rc
    if any(m in r.err for m in SAN_MARKERS):
        return "sanitizer report"
    if r.rc not in (0, 1, 2, 3):
        return "unexpected exit status %d" % r.rc
    return None


ERROR_RE = re.compile(r"^edgecc: error: (?P<rest>.*)$")


def check_error(r, file=None, where=None, what=None):
    """Checks that a failed run ended with exactly one `edgecc: error: FILE: [WHERE: ]WHAT` line.
    where: None = don't care, "" = no node part, else the exact node part; what: a regex searched
    in the message. Returns a list of problems (empty = fine)."""
    probs = []
    bad = abnormal(r)
    if bad:
        return ["expected exit 1 with a message, got %s; %s" % (bad, r.describe())]
    if r.rc != 1:
        probs.append("expected exit status 1, got %s" % r.rc)
    lines = [l for l in r.err.split("\n") if l.strip()]
    errs = [l for l in lines if l.startswith("edgecc: error:")]
    if len(errs) != 1:
        probs.append("expected exactly one 'edgecc: error:' line, got %d: %r" % (len(errs), errs))
        return probs
    if lines[-1] != errs[0]:
        probs.append("expected the error line to be the last line of stderr, last is %r" % lines[-1])
    rest = ERROR_RE.match(errs[0]).group("rest")
    if file is not None:
        if not rest.startswith(file + ": "):
            probs.append("expected the message to name the file %r, got %r" % (file, errs[0]))
            return probs
        rest = rest[len(file) + 2:]
    node_m = re.match(r"^(node (?:'[^']*'|#\d+(?: \(output '[^']*'\))?) \([^)]*\)): (.*)$", rest)
    got_where, got_what = (node_m.group(1), node_m.group(2)) if node_m else ("", rest)
    if not got_what.strip():
        probs.append("expected a non-empty message, got %r" % errs[0])
    if where is not None and got_where != where:
        probs.append("expected node part %r, got %r (line %r)" % (where, got_where, errs[0]))
    if what is not None and not re.search(what, got_what):
        probs.append("expected the message to match %r, got %r" % (what, got_what))
    return probs
