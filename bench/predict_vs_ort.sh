#!/bin/sh
# Prediction speed on the book's model A, xfer's engine vs ONNX Runtime, at
# batch 1 and 256, in one Go process on the same .onnx (issue 6 targets:
# xfer/ORT >= 0.8 at batch 1, >= 1.0 at batch 256).
# Usage: bench/predict_vs_ort.sh [predictort flags, e.g. -rounds 9 -threads 1]
# Needs scripts/setup.sh (ONNX Runtime comes from node_modules/onnxruntime-node).
set -eu
cd "$(dirname "$0")/.."
if ! ls node_modules/onnxruntime-node/bin/napi-v*/linux/x64/libonnxruntime.so* >/dev/null 2>&1; then
  scripts/setup.sh
fi
go build -o /tmp/xfer-predictort ./bench/predictort
bench/idle.sh
/tmp/xfer-predictort -model fixtures/torch/model_a.onnx -batches 1,256 "$@"
echo "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-(unset: the engine picks AVX-512 kernels where the CPU has them)}"
