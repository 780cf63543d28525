#!/usr/bin/env bash
# test.sh — README command 2: installs the missing Debian packages, builds edgecc and runs the
# test suite with ctest (every label but `slow` and `fresh`; pass `--all` to include slow, or any
# ctest arguments after `--`). `fresh` (scripts/fresh-check.sh, which runs this script inside a
# new Debian root) is never run from here. ctest prints the time per label at the end.
set -euo pipefail
case ${1:-} in
  -h|--help) echo "usage: scripts/test.sh [--all] [-- CTEST_ARGS...]"
             echo "Installs missing Debian packages with apt-get, builds into build/ and runs ctest on every"
             echo "label but slow and fresh. --all: slow too. Arguments after -- go to ctest (-L unit, -R REGEX)."
             exit 0 ;;
esac
source "$(dirname "$0")/lib.sh"
args=(-LE 'slow|fresh')
if [ "${1:-}" = "--all" ]; then args=(-LE fresh); shift; fi
[ "${1:-}" = "--" ] && shift
ec_install_deps
ec_build
ec_log "running ctest ${args[*]} $*"
cd "$EC_BUILD"
start=$(date +%s)
ctest --output-on-failure -j "$(nproc)" "${args[@]}" "$@"
ec_log "ctest took $(( $(date +%s) - start )) s"
