#!/bin/sh
# run_zoo_bridges.sh — exports one zoo model (once, into the shared cache) and checks its split
# points against brute force. Usage: run_zoo_bridges.sh TEST_BINARY EXPORT_SCRIPT PYTHON CACHE MODEL
# Exit 77 (skip) when torch cannot export, so the test reports why instead of failing.
set -u
bin=$1 export=$2 python=$3 dir=$4 model=$5
if [ ! -f "$dir/$model.onnx" ]; then
  if ! "$python" -c 'import torch, torchvision, onnx' 2>/dev/null; then
    echo "SKIP: $python has no torch/torchvision/onnx to export $model"
    exit 77
  fi
  # Export into a private folder, then move, the .onnx last: as in tests/models, its presence
  # means the export is complete, and parallel tests never see half a file.
  mkdir -p "$dir"
  tmp=$(mktemp -d "$dir/.export-$model-XXXXXX") || exit 1
  if ! "$python" "$export" "$model" "$tmp"; then
    rm -rf "$tmp"
    echo "SKIP: exporting $model failed"
    exit 77
  fi
  for f in "$tmp"/*.pb; do mv -f "$f" "$dir/"; done
  mv -f "$tmp/$model.onnx" "$dir/$model.onnx"
  rm -rf "$tmp"
fi
exec "$bin" "$dir/$model.onnx"
