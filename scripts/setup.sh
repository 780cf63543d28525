#!/usr/bin/env bash
# setup.sh — README command 1: installs the missing Debian packages, builds edgecc, and runs
# the main job on the bundled digits example.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
ec_install_deps
ec_build
exec "$EC_ROOT/scripts/demo.sh"
