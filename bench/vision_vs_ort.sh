#!/bin/sh
# Prediction speed on torchvision's mobilenet_v2 and resnet18 at 224x224,
# xfer's engine vs ONNX Runtime, batch 8 and 1, in one Go process on the
# same .onnx and the same input (issue 11's target: xfer/ORT >= 1.0 per
# image). The models are exported once by bench/vision224.py (the committed
# fixture generator fixtures/torch/vision.py at 224x224: random weights,
# calibrated BatchNorm statistics) into $XFER_VISION224 (default
# ~/.cache/xfer/vision224).
# Usage: bench/vision_vs_ort.sh [predictort flags, e.g. -rounds 9 -threads 1 -ort-threads 1]
# Needs scripts/setup.sh (ONNX Runtime comes from node_modules/onnxruntime-node)
# and Debian's python3-torchvision for the export.
set -eu
cd "$(dirname "$0")/.."
if ! ls node_modules/onnxruntime-node/bin/napi-v*/linux/x64/libonnxruntime.so* >/dev/null 2>&1; then
  scripts/setup.sh
fi
dir=${XFER_VISION224:-$HOME/.cache/xfer/vision224}
for m in mobilenet_v2 resnet18; do
  [ -f "$dir/${m}_op13.onnx" ] || /usr/bin/python3 bench/vision224.py "$dir" "$m"
done
go build -o /tmp/xfer-predictort ./bench/predictort
bench/idle.sh
for m in mobilenet_v2 resnet18; do
  /tmp/xfer-predictort -model "$dir/${m}_op13.onnx" -batches 8,1 -target 1 "$@"
done
