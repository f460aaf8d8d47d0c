#!/bin/sh
# Head-only fine-tuning of every torchvision model `xfer predict` accepts
# (internal/visionfix's list) at 224x224, with xfer and with PyTorch 1.13
# (Debian's python3-torch) side by side, and the peak memory (RSS) of each
# process (issue 12 (c): xfer at most 2x PyTorch, with no XFER_MAX_MEMORY
# override). Both train the last Linear (squeezenet: the classifier's Conv)
# of the same architecture on the same 64 images, 2 epochs, batch 32, SGD
# lr 0.01 momentum 0.9; PyTorch the usual way (frozen parameters,
# model.eval()), xfer from the ONNX export (`import`, `freeze`, `finetune`:
# the frozen part runs once in the engine and its features are cached).
# Both on 2 threads with the OPENBLAS_CORETYPE fastest for PyTorch
# (bench/torch_core.sh).
#
# Usage: bench/headonly_memory_vs_torch.sh [MODEL ...]   (default: all twelve)
# Environment: BENCH_DIR (default $TMPDIR/xfer-bench-memory: the exports,
# 38 MB of images and the workspaces go there).
set -eu
cd "$(dirname "$0")/.."
models=${*:-resnet18 mobilenet_v2 mobilenet_v3_small squeezenet1_1 efficientnet_b0 densenet121 googlenet mnasnet0_5 regnet_y_400mf convnext_tiny vit_b_16 shufflenet_v2_x0_5}
dir=${BENCH_DIR:-${TMPDIR:-/tmp}/xfer-bench-memory}
py=/usr/bin/python3
mkdir -p "$dir"
go build -o "$dir/xfer" ./cmd/xfer
xfer="$dir/xfer"
unset XFER_MAX_MEMORY
sh bench/idle.sh
. bench/torch_core.sh
field() { sed -n "s/^$1 //p"; }
printf '%-20s %12s %12s %6s\n' model "xfer kB" "torch kB" ratio
for m in $models; do
  $py bench/headonly_memory.py prepare "$dir" "$m" 64 >/dev/null 2>&1
  ws="$dir/ws-$m"
  rm -rf "$ws" && mkdir -p "$ws"
  (cd "$ws" && $xfer import "$dir/$m.onnx" >/dev/null 2>&1)
  # Freeze every layer before the last one with params.
  upto=$(cd "$ws" && $xfer inspect --json | $py -c '
import json, sys
ls = json.load(sys.stdin)["layers"]
print([l["index"] for l in ls if l["params"] > 0][-1] - 1)')
  (cd "$ws" && $xfer freeze --upto "$upto" >/dev/null)
  rm -f "$dir/$m-xfer.onnx"
  xr=$(cd "$ws" && /usr/bin/time -f "RSS %M" $xfer finetune --data "npy:$dir/x.npy,$dir/y.npy" --loss sparse_categorical_crossentropy --from-logits \
    --epochs 2 --batch-size 32 --learning-rate 0.01 --momentum 0.9 --no-shuffle -o "$dir/$m-xfer.onnx" 2>&1 >/dev/null | field RSS)
  [ -s "$dir/$m-xfer.onnx" ] || { echo "$m: xfer finetune failed"; exit 1; }
  tr=$(TORCH_THREADS=2 $py bench/headonly_memory.py train "$dir" "$m" 2 2>/dev/null | field RSS)
  [ -n "$tr" ] || { echo "$m: PyTorch's run failed"; exit 1; }
  printf '%-20s %12s %12s %6s\n' "$m" "$xr" "$tr" "$(echo "$xr $tr" | awk '{printf "%.2f", $1/$2}')"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
