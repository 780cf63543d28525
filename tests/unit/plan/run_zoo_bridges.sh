#!/bin/sh
# run_zoo_bridges.sh — exports one zoo model (once, into ZOODIR) and checks its split points
# against brute force. Usage: run_zoo_bridges.sh TEST_BINARY EXPORT_SCRIPT PYTHON ZOODIR MODEL
# Exit 77 (skip) when torch cannot export, so the test reports why instead of failing.
set -u
bin=$1 export=$2 python=$3 dir=$4 model=$5
if [ ! -f "$dir/$model.onnx" ]; then
  if ! "$python" -c 'import torch, torchvision, onnx' 2>/dev/null; then
    echo "SKIP: $python has no torch/torchvision/onnx to export $model"
    exit 77
  fi
  # Export into a private folder, then move: tests running in parallel never see half a file.
  tmp=$(mktemp -d "$dir.tmp.XXXXXX") || exit 1
  if ! "$python" "$export" "$model" "$tmp"; then
    rm -rf "$tmp"
    echo "SKIP: exporting $model failed"
    exit 77
  fi
  mkdir -p "$dir"
  for f in "$tmp"/*; do mv -f "$f" "$dir/"; done
  rm -rf "$tmp"
fi
exec "$bin" "$dir/$model.onnx"
