#!/usr/bin/python3
"""help_flags.py — help that matches the code, and docs that match the help.

1. Every edgecc subcommand (those compiler/main.c dispatches, which must be those `edgecc --help`
   lists), edgecc-client and a generated program answer --help with exit 0 and a usage text.
2. What a command accepts is found by running it, not by reading its help: each candidate flag
   (every option literal in the parsers' sources, in the help texts and in the docs) is given to
   the command, which either takes it or answers "unknown option". Each command's help names
   every flag it accepts, and every flag in its synopsis or option list is accepted.
3. Every flag README.md and docs/*.md show in a command line (fenced sh blocks and inline code)
   is accepted by the command it is shown on: edgecc and its subcommands, edgecc-client,
   generated programs, the scripts (their --help) and the Python tools (their argparse --help).
   A flag shown without a command must be accepted by at least one of edgecc's programs.

usage: help_flags.py --edgecc PATH --client PATH --root REPO --work DIR"""
import argparse
import concurrent.futures
import glob
import os
import re
import shlex
import shutil
import subprocess
import sys

FLAG = re.compile(r"(?<![\w/=-])(--?[A-Za-z][\w-]*)")
SUBS_SOURCE = "compiler/main.c"
# Sources whose string literals are option names (the parsers of edgecc, the client, the driver).
PARSER_SOURCES = ["compiler/main.c", "compiler/cli/*.c", "tools/client/*.c", "runtime/ecrt_driver.c"]
# Tools that are not edgecc's: their flags are theirs. Wrappers run the command after them.
FOREIGN = {"cmake", "ctest", "scp", "dpkg", "dot", "apt-get", "apt", "git", "ninja", "make", "cat",
           "diff", "ls", "cp", "mv", "rm", "mkdir", "ssh", "npm", "tar", "du", "lscpu", "grep"}
WRAPPERS = {"nice": {"-n"}, "taskset": {"-c"}, "env": set(), "sudo": set(), "time": set(),
            "qemu-aarch64": {"-L", "-cpu"}, "exec": set(), "python3": set()}
# Flags of those tools that the docs name in prose, away from the tool's command line.
FOREIGN_FLAGS = {"--toolchain": "cmake", "-S": "cmake", "-B": "cmake", "-c": "taskset", "-j": "ninja, ctest",
                 "-L": "ctest", "-LE": "ctest", "-R": "ctest", "-Tsvg": "dot", "-n": "nice", "-x": "dpkg",
                 "-o": "dot", "--shapes": "trtexec", "--input-shapes": "tvmc",
                 "--overwrite-input-shape": "onnxsim", "-fopt-info-vec": "gcc"}

failures = []
passed = 0


def check(ok, what):
    global passed
    if ok:
        passed += 1
    else:
        failures.append(what)


def run(cmd, timeout=120):
    try:
        r = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=timeout)
        return r.returncode, r.stdout, r.stderr
    except subprocess.TimeoutExpired:
        return None, "", "timeout after %d s" % timeout


class Command:
    """One program that takes flags: how to call it, and which flags it accepts (probed)."""

    def __init__(self, name, argv, probe_tail=(), unknown_re=None, help_text=None):
        self.name, self.argv, self.probe_tail = name, list(argv), list(probe_tail)
        self.unknown_re = unknown_re
        self._help, self._accepts = help_text, {}

    def help(self):
        if self._help is None:
            rc, out, err = run(self.argv + ["--help"])
            check(rc == 0, "%s --help: exit %s (stderr %r)" % (self.name, rc, err[:200]))
            check(out.strip() != "", "%s --help: empty" % self.name)
            self._help = out
        return self._help

    def accepts(self, flag):
        if self.unknown_re is None:  # judged by its help (scripts, Python tools)
            return re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(flag), self.help()) is not None
        if flag not in self._accepts:
            rc, out, err = run(self.argv + self.probe_tail + [flag], timeout=60)
            self._accepts[flag] = not re.search(self.unknown_re.format(f=re.escape(flag)), err, re.M)
        return self._accepts[flag]


def help_synopsis_flags(text):
    """Flags a help text offers: those of its usage lines and of its option-list lines (a line
    whose first word is a flag). Prose mentions (`edgecc compile --profile reads it`) are not."""
    flags, in_usage = set(), False
    for line in text.split("\n"):
        s = line.strip()
        if s.startswith("usage:"):
            in_usage = True
        elif in_usage and not (line.startswith(" ") and s):
            in_usage = False
        if in_usage or FLAG.match(s):
            words = s.split("   ")[0] if not in_usage else s  # option lines: the flag part only
            flags.update(FLAG.findall(words))
    return flags


def source_literals(root):
    lits = set()
    for pat in PARSER_SOURCES:
        for p in glob.glob(os.path.join(root, pat)):
            lits.update(re.findall(r'"(--?[A-Za-z][\w-]*)"', open(p).read()))
    return lits


def script_header(src):
    """The usage a script writes at its top: a Python docstring or the opening # comment."""
    m = re.match(r'(#![^\n]*\n)?\s*(\"\"\"|\'\'\')(.*?)\2', src, re.S)
    if m:
        return m.group(3)
    return "\n".join(l for l in src.split("\n")[:40] if l.startswith("#"))


def repo_literals(root):
    """Every option literal of the repository's own tools (tests/, bench/, scripts/, targets/):
    what a flag named in prose, away from its command, may belong to."""
    lits = set()
    for pat in ("tests/**/*.py", "tests/**/*.c", "tests/**/*.sh", "bench/**/*.py", "scripts/*.sh",
                "targets/*.sh", "tools/**/*.c"):
        for p in glob.glob(os.path.join(root, pat), recursive=True):
            lits.update(re.findall(r"""["'(|\s](--?[A-Za-z][\w-]*)["')=]""", open(p, errors="replace").read()))
    return lits


def build_program(edgecc, root, work):
    """The digits example compiled for the host with the reference kernels: a generated program."""
    out, b = os.path.join(work, "digits-out"), os.path.join(work, "digits-build")
    shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(b, ignore_errors=True)
    steps = [[edgecc, os.path.join(root, "examples/digits/digits.onnx"), "--targets", "host",
              "--kernels", "ref", "-o", out],
             ["cmake", "-S", os.path.join(out, "host"), "-B", b, "-G", "Ninja"],
             ["cmake", "--build", b]]
    for st in steps:
        rc, o, e = run(st, timeout=300)
        if rc != 0:
            sys.exit("help_flags: cannot build the digits program: %s: %s%s" % (" ".join(st), o, e))
    return os.path.join(b, "digits_p0")


# ---- markdown command lines -------------------------------------------------------------------
def doc_command_lines(root):
    """(file:line, text) of each shell line in fenced sh blocks and each inline code span."""
    files = [os.path.join(root, "README.md")] + sorted(glob.glob(os.path.join(root, "docs", "*.md")))
    for f in files:
        rel = os.path.relpath(f, root)
        fence = None
        for n, line in enumerate(open(f).read().split("\n"), 1):
            m = re.match(r"^\s*```(\w*)", line)
            if m:
                fence = None if fence is not None else m.group(1)
                continue
            if fence is not None:
                if fence in ("", "sh", "bash", "shell", "console"):
                    yield "%s:%d" % (rel, n), re.sub(r"^\s*\$ ", "", line)
            else:
                for span in re.findall(r"`([^`]+)`", line):
                    yield "%s:%d" % (rel, n), span


def segments(line):
    line = re.sub(r"(^|\s)#.*", "", line)  # a comment
    for seg in re.split(r"\s(?:&&|\|\||\||;|&)(?:\s|$)|;\s|\s&$", line):
        if seg.strip():
            yield seg.strip()


def tokens(seg):
    try:
        return shlex.split(seg)
    except ValueError:
        return seg.split()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--edgecc", required=True)
    ap.add_argument("--client", required=True)
    ap.add_argument("--root", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    root, e = os.path.abspath(a.root), os.path.abspath(a.edgecc)
    os.makedirs(a.work, exist_ok=True)
    missing = os.path.join(a.work, "no-such-model.onnx")

    # 1. The subcommands main.c dispatches are the ones edgecc --help lists.
    dispatched = set(re.findall(r'strcmp\(cmd, "([a-z]+)"\) == 0\) return',
                                open(os.path.join(root, SUBS_SOURCE)).read()))
    top = Command("edgecc", [e], unknown_re=None)
    m = re.search(r"\ncommands:\n(.*?)\n\n", top.help(), re.S)
    listed = set(re.findall(r"^  \[?([a-z]+)\]?\s", m.group(1), re.M)) if m else set()
    check(dispatched and listed == dispatched,
          "edgecc --help lists commands %s, main.c dispatches %s" % (sorted(listed), sorted(dispatched)))

    unknown_edgecc = r"^edgecc: error: (\w+: )?unknown option '{f}'"
    cmds = {}
    for sub in sorted(dispatched):
        tail = [] if sub == "targets" else [missing]
        cmds[sub] = Command("edgecc " + sub, [e, sub], tail, unknown_edgecc)
    cmds["client"] = Command("edgecc-client", [os.path.abspath(a.client)], ["tcp://127.0.0.1:1"],
                             r"^edgecc-client: error: (unknown option|unexpected argument) {f} \(see edgecc-client --help\)$")
    prog = build_program(e, root, a.work)
    cmds["program"] = Command("digits_p0 (a generated program)", [prog], [],
                              r"^digits_p0: error: (unknown option|unexpected argument) {f}$")

    # A usage error is one line (the client once printed its whole usage after it).
    r = subprocess.run([os.path.abspath(a.client), "tcp://127.0.0.1:1", "--no-such-flag"],
                       capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=30)
    check(r.returncode == 2 and len(r.stderr.splitlines()) == 1,
          "edgecc-client --no-such-flag: want exit 2 and one line, got %d and %r" % (r.returncode, r.stderr))

    for c in cmds.values():
        h = c.help()
        check(h.startswith("usage: "), "%s --help: does not start with 'usage: ': %r" % (c.name, h[:80]))
    check(cmds["compile"].help().startswith("usage: edgecc [compile]"), "edgecc compile --help: usage line")
    for sub in dispatched - {"compile"}:
        check(cmds[sub].help().startswith("usage: edgecc " + sub), "edgecc %s --help: usage line" % sub)
    top_flags = {"--help", "-h", "--version"}
    check(help_synopsis_flags(top.help()) <= top_flags | {"--detect", "--json", "--input"},
          "edgecc --help names %s" % sorted(help_synopsis_flags(top.help())))

    # 2. Help names every accepted flag, and offers no flag that is not accepted.
    doc_lines = list(doc_command_lines(root))
    candidates = source_literals(root) | {"--no-such-flag", "-q"}
    for c in cmds.values():
        candidates |= set(FLAG.findall(c.help()))
    with concurrent.futures.ThreadPoolExecutor(4) as pool:  # probes are independent
        list(pool.map(lambda cf: cf[0].accepts(cf[1]), [(c, f) for c in cmds.values() for f in candidates]))
    for c in cmds.values():
        offered = help_synopsis_flags(c.help())
        for f in sorted(candidates):
            ok = c.accepts(f)
            if f == "--no-such-flag":
                check(not ok, "%s accepts --no-such-flag: the probe cannot tell" % c.name)
            elif ok and f not in ("--help", "-h"):  # part 1 runs those
                check(re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(f), c.help()) is not None,
                      "%s accepts %s but its --help does not name it" % (c.name, f))
        for f in sorted(offered):
            check(c.accepts(f), "%s --help offers %s, which it rejects as unknown" % (c.name, f))

    # 3. Flags shown in the docs are accepted where they are shown.
    scripts = {}

    def script_command(path):
        """A script's flags: its --help where it parses --help, else its header (docstring or
        opening comment), which says its usage; a script that does not parse --help is never run."""
        if path not in scripts:
            full = os.path.join(root, path)
            src = open(full).read()
            if path.endswith(".py") and "argparse" in src:
                scripts[path] = Command(path, ["/usr/bin/python3", full])
            elif path.endswith(".sh") and re.search(r"(^|\s|\|)--help\)", src):
                scripts[path] = Command(path, [full])
            else:
                scripts[path] = Command(path, [full], help_text=script_header(src))
        return scripts[path]

    def find_script(word):
        if os.path.isfile(os.path.join(root, word)):
            return word
        if re.fullmatch(r"[\w-]+\.(py|sh)", word):  # a bare name: the one file of that name
            hits = [p for p in glob.glob(os.path.join(root, "**", word), recursive=True)
                    if not os.path.relpath(p, root).startswith("build")]
            if len(hits) == 1:
                return os.path.relpath(hits[0], root)
        return None

    everyone = list(cmds.values())
    elsewhere = repo_literals(root)
    for where, text in doc_lines:
        if re.match(r"\s*[\[{\"]", text):  # JSON (a description's fields), not a command line
            continue
        for seg in segments(text):
            t = tokens(seg)
            while t and (re.fullmatch(r"[A-Z_][A-Z0-9_]*=\S*", t[0]) or os.path.basename(t[0]) in WRAPPERS):
                w = os.path.basename(t.pop(0))
                while w in WRAPPERS and t and t[0] in WRAPPERS[w]:
                    t = t[2:]
            if not t or os.path.basename(t[0]) in FOREIGN:
                continue
            word, base = t[0], os.path.basename(t[0])
            args = t[1:]
            if base == "edgecc":
                sub = args[0] if args and args[0] in dispatched | {"compile/plan", "COMMAND"} else None
                if sub:
                    args = args[1:]
                if sub is None and args and args[0] in top_flags:
                    targets = [top]
                else:
                    subs = dispatched if sub == "COMMAND" else (sub or "compile").split("/")
                    targets = [cmds[s] for s in subs]
            elif word in dispatched and any(FLAG.fullmatch(x) for x in args):
                targets = [cmds[word]]
            elif base == "edgecc-client":
                targets = [cmds["client"]]
            elif re.fullmatch(r"(<name>_p<k>|<prog>|\w+_p\d+)", base):
                targets = [cmds["program"]]
            elif word.endswith(".py") and find_script(word):
                targets = [script_command(find_script(word))]
            elif word.endswith(".sh") and find_script(word):
                targets = [script_command(find_script(word))]
            elif word.endswith((".py", ".sh")):
                check(False, "%s: `%s`: no script %s in the repository" % (where, seg, word))
                continue
            else:  # no command shown: some program of edgecc's must take each flag
                targets, args = None, t
            for x in args:
                if x == "--":  # what follows is passed on to another program
                    break
                x = x.strip("[](),")
                if not FLAG.fullmatch(x):
                    continue
                if targets is None:
                    check(x in FOREIGN_FLAGS or x in elsewhere or any(c.accepts(x) for c in everyone),
                          "%s: `%s`: %s is no flag of edgecc's programs nor of the repository's tools"
                          % (where, seg, x))
                elif targets == [top]:
                    check(x in top_flags, "%s: `%s`: edgecc does not accept %s" % (where, seg, x))
                else:
                    for c in targets:
                        check(c.accepts(x), "%s: `%s`: %s does not accept %s" % (where, seg, c.name, x))

    for f in failures:
        print("FAIL:", f)
    print("help_flags: %d passed, %d failed" % (passed, len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
