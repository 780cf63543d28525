#!/usr/bin/env python3
"""stage_includes.py SOURCE BUILD — the compiler's stages are kept apart by the build.

DESIGN's pipeline is frontend -> IR -> passes -> planner -> lowering -> codegen; the planner never
sees codegen, lowering sees the planner's decisions only through the IR, runtime and kernels never
see the compiler. The rules below say it again, independently of CMakeLists.txt, and two checks
hold the tree to them:

1. With the exact flags of every compile command of each stage's library (BUILD's
   compile_commands.json), the C preprocessor is asked to include one header of every compiler
   folder. A header of a folder the stage may not see must fail with "No such file" (so a wrong
   `#include` fails the real build); one the stage may see must succeed (so the probe itself works).
2. Every `#include "..."` line of compiler/, runtime/ and kernels/ names no header of a stage its
   file may not see (also in code a configuration leaves out, under #if).
A compiler folder without a rule fails too: a new stage must be placed in the architecture here.
"""
import collections
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile

ALL = {'ir', 'ops', 'onnx', 'passes', 'merge', 'quant', 'plan', 'lower', 'codegen', 'pipeline', 'cli'}
# The compiler folders each stage may see (its own included). ops is the IR's op table.
ALLOWED = {
    'ir': {'ir'},
    'ops': {'ir', 'ops'},
    'onnx': {'ir', 'ops', 'onnx'},
    'passes': {'ir', 'ops', 'passes'},
    'merge': {'ir', 'ops', 'merge'},  # several models' graphs into one, before the planner
    'quant': {'ir', 'ops', 'onnx', 'quant'},  # calibration reads .pb files with the frontend's reader
    'plan': {'ir', 'ops', 'plan'},
    'lower': {'ir', 'ops', 'lower'},
    'codegen': {'ir', 'ops', 'plan', 'lower', 'codegen'},
    'pipeline': ALL - {'cli'},
    'cli': ALL,
    'runtime': set(),
    'kernels': set(),
}
# Single files allowed one more stage, and why (the build grants exactly these, EC_PLAN_SEES_LOWER).
EXCEPTIONS = {
    'compiler/plan/cost.c': {'lower'},  # the cost model asks which kernel a node would run on
}
# Libraries that are not compiler stages, and the rule they follow.
OTHER_TARGETS = {'ecrt': 'runtime', 'eck_ref': 'kernels'}


def fail(msg):
    print('FAILED: ' + msg)
    sys.exit(1)


def folder_headers(src):
    """{folder: [headers]} for compiler/<stage>/ folders; {basename: [relative paths]} of every
    header under compiler/, runtime/ and kernels/."""
    stages, where = {}, collections.defaultdict(list)
    for top in ('compiler', 'runtime', 'kernels'):
        for d, _, files in os.walk(os.path.join(src, top)):
            rel = os.path.relpath(d, src)
            for f in sorted(files):
                if f.endswith('.h'):
                    where[f].append(os.path.join(rel, f))
                    if top == 'compiler' and rel.count('/') == 1:
                        stages.setdefault(rel.split('/')[1], []).append(f)
            if top == 'compiler' and rel.count('/') == 1 and any(f.endswith('.c') for f in files):
                stages.setdefault(rel.split('/')[1], [])
    return stages, where


def stage_of_path(rel):
    parts = rel.split('/')
    if parts[0] == 'compiler' and len(parts) > 2:
        return parts[1]
    if parts[0] in ('runtime', 'kernels'):
        return parts[0]
    return None


def allowed_for(stage, rel):
    return ALLOWED[stage] | EXCEPTIONS.get(rel, set())


def probe_flags(entry):
    """The compile command's flags without its output, dependency file and source."""
    args = entry['arguments'] if 'arguments' in entry else shlex.split(entry['command'])
    out, skip = [], False
    for a in args[1:]:
        if skip:
            skip = False
            continue
        if a in ('-o', '-MF', '-MT', '-MQ'):
            skip = True
            continue
        if a in ('-c', '-MD', '-MMD') or os.path.join(entry['directory'], a) == entry['file']:
            continue
        out.append(a)
    return args[0], out


def main():
    src, build = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    stages, where = folder_headers(src)
    unruled = sorted(set(stages) - ALL)
    if unruled:
        fail('compiler/%s has no rule in %s: place the new stage in the architecture '
             '(DESIGN, docs/architecture.md) and give it its library in CMakeLists.txt'
             % (', compiler/'.join(unruled), __file__))
    # One probe header per folder, found under that name nowhere else.
    probe = {}
    for s, hs in sorted(stages.items()):
        unique = [h for h in hs if len(where[h]) == 1]
        if unique:
            probe[s] = unique[0]
    errors = []

    # 2. The include lines of the sources.
    inc = re.compile(r'^\s*#\s*include\s*"([^"]+)"')
    for top in ('compiler', 'runtime', 'kernels'):
        for d, _, files in os.walk(os.path.join(src, top)):
            for f in sorted(files):
                if not f.endswith(('.c', '.h')):
                    continue
                rel = os.path.relpath(os.path.join(d, f), src)
                me = stage_of_path(rel)
                if me is None:
                    continue
                with open(os.path.join(d, f), errors='replace') as fh:
                    for ln, line in enumerate(fh, 1):
                        m = inc.match(line)
                        if not m or os.path.exists(os.path.join(d, m.group(1))):
                            continue
                        for path in where.get(os.path.basename(m.group(1)), []):
                            them = stage_of_path(path)
                            if them in ALL and them not in allowed_for(me, rel):
                                errors.append('%s:%d includes "%s" (%s): %s may not see compiler/%s'
                                              % (rel, ln, m.group(1), path, me, them))

    # 1. The compile commands of each stage's library.
    cc_path = os.path.join(build, 'compile_commands.json')
    if not os.path.exists(cc_path):
        fail('%s is missing (CMAKE_EXPORT_COMPILE_COMMANDS is set in CMakeLists.txt; '
             'it needs a Makefile or Ninja generator)' % cc_path)
    with open(cc_path) as fh:
        entries = json.load(fh)
    groups = collections.OrderedDict()  # (stage, compiler, flags) -> example source
    for e in entries:
        m = re.search(r'CMakeFiles/([^/]+)\.dir/', e.get('output', '') + ' ' + e.get('command', ''))
        if not m:
            continue
        tgt = m.group(1)
        stage = tgt[3:] if tgt.startswith('ec_') and tgt[3:] in ALL else OTHER_TARGETS.get(tgt)
        if stage is None:
            continue
        rel = os.path.relpath(e['file'], src)
        cc, flags = probe_flags(e)
        key = (stage, rel if rel in EXCEPTIONS else '', cc, tuple(flags))
        groups.setdefault(key, (tgt, rel, e['directory']))
    seen = {k[0] for k in groups}
    missing = sorted((s for s in stages if s not in seen)) + sorted(s for s in OTHER_TARGETS.values() if s not in seen)
    if missing:
        fail('no compile command of the libraries of: %s (is each stage its own library ec_<stage>?)'
             % ', '.join(missing))
    probes = 0
    with tempfile.TemporaryDirectory() as tmp:
        for (stage, exc, cc, flags), (tgt, rel, cwd) in groups.items():
            ok_set = allowed_for(stage, exc) if exc else ALLOWED[stage]
            for s, h in sorted(probe.items()):
                r = subprocess.run([cc] + list(flags) + ['-E', '-x', 'c', '-o', os.devnull, '-'],
                                   input='#include "%s"\n' % h, text=True, cwd=tmp,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                probes += 1
                not_found = r.returncode != 0 and re.search(r'<stdin>:1:\d+: fatal error: %s: No such file'
                                                            % re.escape(h), r.stderr)
                if s in ok_set and r.returncode != 0:
                    errors.append('%s (%s, as %s compiles) cannot include %s of compiler/%s, which it may see:\n%s'
                                  % (stage, tgt, rel, h, s, r.stderr.strip()[:600]))
                elif s not in ok_set and not not_found:
                    errors.append('%s (%s, as %s compiles) %s %s of compiler/%s, which it may not see '
                                  '(docs/architecture.md)'
                                  % (stage, tgt, rel, 'can include' if r.returncode == 0 else
                                     'fails otherwise than "No such file" on', h, s))
    if errors:
        print('\n'.join(errors))
        fail('%d violation(s) of the stages\' boundaries' % len(errors))
    print('stage boundaries hold: %d flag sets of %d libraries, %d include probes, every include line checked'
          % (len(groups), len(seen), probes))


if __name__ == '__main__':
    main()
