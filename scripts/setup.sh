#!/usr/bin/env bash
# Sets up a fresh Debian bookworm machine (as root) for building, running and
# testing xfer. Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_pkgs=(
  golang-go            # only used when no Go toolchain is on PATH
  build-essential pkg-config
  libhdf5-dev          # cgo: internal/hdf5
  libopenblas-dev      # BLAS for the engine and training
  dataset-fashion-mnist  # the book's data set, /usr/share/datasets/fashion-mnist
  libonnx-testdata     # ONNX's node tests, /usr/share/libonnx-testdata
  python3-onnx         # onnx.checker in the exporter tests
  python3-h5py python3-numpy  # independent readers of our .h5 output in tests
  python3-torchvision  # fixtures/torch/vision.py: torchvision models exported by torch.onnx (tests)
  nodejs npm           # onnxruntime-node ships ONNX Runtime's CPU library
)
missing=()
for p in "${apt_pkgs[@]}"; do
  case "$p" in
    golang-go) command -v go >/dev/null 2>&1 && continue ;;
    nodejs) command -v node >/dev/null 2>&1 && continue ;;
    npm) command -v npm >/dev/null 2>&1 && continue ;;
  esac
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# ONNX Runtime's CPU library (the referee for our ONNX exports). Its
# post-install step would download a CUDA provider, which fails here: skip it.
if ! ls node_modules/onnxruntime-node/bin/napi-v*/linux/x64/libonnxruntime.so* >/dev/null 2>&1; then
  echo "setup: installing onnxruntime-node@1.30.0" >&2
  ONNXRUNTIME_NODE_INSTALL=skip npm install --no-save --no-audit --no-fund --loglevel=error onnxruntime-node@1.30.0 >/dev/null
fi

go mod download
