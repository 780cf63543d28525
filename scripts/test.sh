#!/usr/bin/env bash
# test.sh — README command 2: installs the missing Debian packages, builds edgecc and runs the
# test suite with ctest (every label but `slow`; pass `--all` to include slow, or any ctest
# arguments after `--`). ctest prints the time per label at the end.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
args=(-LE slow)
if [ "${1:-}" = "--all" ]; then args=(); shift; fi
[ "${1:-}" = "--" ] && shift
ec_install_deps
ec_build
ec_log "running ctest ${args[*]} $*"
cd "$EC_BUILD"
start=$(date +%s)
ctest --output-on-failure -j "$(nproc)" "${args[@]}" "$@"
ec_log "ctest took $(( $(date +%s) - start )) s"
