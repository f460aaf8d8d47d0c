#!/bin/sh
# Whole-process prediction over the 10,000 Fashion-MNIST test images:
# `xfer predict -m model_a.onnx --input test10k.npy --output y.npy` vs a Node
# script running onnxruntime-node on the same .onnx and data
# (bench/ort_predict.js), each process timed from start to exit by hyperfine
# (medians). Issue 6 target: xfer no slower (ratio node/xfer >= 1.0).
# Usage: bench/predict_process_vs_node.sh [runs, default 15]
# Needs scripts/setup.sh; installs hyperfine with apt-get when missing.
set -eu
cd "$(dirname "$0")/.."
runs=${1:-15}
if ! ls node_modules/onnxruntime-node/bin/napi-v*/linux/x64/libonnxruntime.so* >/dev/null 2>&1; then
  scripts/setup.sh
fi
if ! command -v hyperfine >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine >/dev/null
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
go build -o "$dir/xfer" ./cmd/xfer
model=fixtures/torch/model_a.onnx
# The test images as float32 [10000, 28, 28] scaled to [0, 1], as the book does.
/usr/bin/python3 - "$dir/test10k.npy" <<'PY'
import gzip, sys
import numpy as np
raw = gzip.open('/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz').read()
x = np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 28, 28).astype(np.float32) / 255
np.save(sys.argv[1], x)
PY
xcmd="$dir/xfer predict -m $model --input $dir/test10k.npy --output $dir/y_xfer.npy"
ncmd="node bench/ort_predict.js $model $dir/test10k.npy $dir/y_node.npy"
bench/idle.sh
hyperfine -N --style basic --warmup 2 --runs "$runs" --export-json "$dir/times.json" -n xfer "$xcmd" -n node-onnxruntime "$ncmd" >/dev/null 2>&1
/usr/bin/python3 - "$dir" <<'PY'
import json, sys
import numpy as np
d = sys.argv[1]
r = {x['command']: x for x in json.load(open(d + '/times.json'))['results']}
a, b = np.load(d + '/y_xfer.npy'), np.load(d + '/y_node.npy')
if a.shape != b.shape or np.abs(a - b).max() > 1e-5:
    sys.exit(f'outputs differ: {a.shape} vs {b.shape}, max |diff| {np.abs(a - b).max()}')
x, n = r['xfer']['median'], r['node-onnxruntime']['median']
print(f"xfer predict:          median {x*1000:.0f} ms  ({10000/x:.0f} images/s, whole process)")
print(f"node + onnxruntime:    median {n*1000:.0f} ms  ({10000/n:.0f} images/s, whole process)")
print(f"ratio (node time / xfer time) {n/x:.2f} (target >= 1.0: {'met' if n/x >= 1 else 'NOT met'}); outputs agree within {np.abs(a - b).max():.1e}")
PY
