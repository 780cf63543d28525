#!/usr/bin/env bash
# demo.sh — the main job on the bundled example: inspect the digits model (code generation and
# the run on samples follow as they land).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
EDGECC=${EDGECC:-$EC_BUILD/edgecc}
MODEL=$EC_ROOT/examples/digits/digits.onnx
ec_log "edgecc inspect $MODEL"
"$EDGECC" inspect "$MODEL"
