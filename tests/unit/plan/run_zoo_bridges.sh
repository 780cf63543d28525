#!/bin/sh
# run_zoo_bridges.sh — checks one zoo model's split points against brute force. The model comes
# from the zoo cache that the ctest fixture zoo_export fills (tests/models/zoo_cache.py); a missing
# model fails the test, never skips it. Usage: run_zoo_bridges.sh TEST_BINARY CACHE MODEL
set -u
bin=$1 dir=$2 model=$3
if [ ! -f "$dir/$model.onnx" ]; then
  echo "FAILED: the zoo cache $dir has no $model.onnx: the ctest fixture zoo_export makes it"
  exit 1
fi
exec "$bin" "$dir/$model.onnx"
