#!/usr/bin/env bash
# setup.sh — README command 1: installs the missing Debian packages, builds edgecc, and runs
# the main job on the bundled digits example.
set -euo pipefail
case ${1:-} in
  "") ;;
  -h|--help) echo "usage: scripts/setup.sh   (no arguments: installs missing Debian packages with apt-get, builds"
             echo "into build/, then runs scripts/demo.sh; fails when a sample digit is predicted wrong)"; exit 0 ;;
  *) echo "setup.sh: error: unexpected argument '$1' (setup.sh takes none; see --help)" >&2; exit 2 ;;
esac
source "$(dirname "$0")/lib.sh"
ec_install_deps
ec_build
exec "$EC_ROOT/scripts/demo.sh"
