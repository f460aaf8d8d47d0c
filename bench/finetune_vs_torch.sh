#!/bin/sh
# Fine-tunes torchvision CNNs at 224x224 with xfer and with PyTorch 1.13
# (Debian's python3-torch) side by side in one run, from the same weights,
# on the same 512 images in the same order with the same SGD settings (lr
# 0.01, momentum 0.9, batch 32), BatchNorm in inference mode on both sides,
# and prints the ratios issue 12 asks for:
#
#   head-only, 10 epochs: xfer's whole `finetune` process (it reads the
#     model and the 300 MB of images, runs the frozen layers once and trains
#     the head on the cached features) against PyTorch's training loop
#     alone (model and data already in memory), both wall time; and the
#     peak memory (RSS) of the two processes;
#   head-only, 1 epoch without the feature cache: samples/s;
#   last block unfrozen (resnet18 layer4, mobilenet_v2 features.16-18),
#     1 epoch: samples/s (xfer without the cache, which cannot pay off in
#     one epoch), and the largest difference between the two trained models'
#     weights, relative to each tensor's magnitude.
#
# PyTorch runs on 2 threads with the OPENBLAS_CORETYPE that is fastest for
# it (its convolutions are oneDNN's; the products of the head OpenBLAS's),
# chosen among Haswell, Zen and SkylakeX by a short probe
# (bench/torch_core.sh), and xfer runs with the same OPENBLAS_CORETYPE.
#
# Usage: bench/finetune_vs_torch.sh [MODEL ...]   (default: resnet18 mobilenet_v2)
# Environment: BENCH_DIR (default $TMPDIR/xfer-bench-finetune; the models,
# 300 MB of images and the workspaces go there), BENCH_REPEAT (default 1:
# timed pairs per figure, the median is reported).
set -eu
cd "$(dirname "$0")/.."
root=$(pwd)
models=${*:-resnet18 mobilenet_v2}
dir=${BENCH_DIR:-${TMPDIR:-/tmp}/xfer-bench-finetune}
repeat=${BENCH_REPEAT:-1}
py=/usr/bin/python3
mkdir -p "$dir"
go build -o "$dir/xfer" ./cmd/xfer
xfer="$dir/xfer"
sh bench/idle.sh

# median of the numbers on stdin
median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
field() { sed -n "s/^$1 //p"; }
# jsonsps reads xfer finetune --json's samples_per_second.
jsonsps() { $py -c 'import json, sys; print(json.load(sys.stdin)["samples_per_second"])'; }
# timed CMD...: runs CMD, printing its output and then "WALL s" and "RSS kB".
timed() { /usr/bin/time -f "WALL %e
RSS %M" "$@" 2>&1; }

. bench/torch_core.sh

for m in $models; do
  $py bench/finetune_vs_torch.py prepare "$dir" "$m" 512 2>&1 | grep -v Warning || true
  case $m in
    resnet18) first=layer4 ;;
    mobilenet_v2) first=features.16 ;;
    *) echo "unknown model $m (resnet18 or mobilenet_v2)"; exit 2 ;;
  esac
  for what in head block; do
    ws="$dir/ws-$m-$what"
    rm -rf "$ws" && mkdir -p "$ws"
    (cd "$ws" && $xfer import "$dir/$m.onnx" >/dev/null)
    if [ $what = head ]; then
      upto=-2
    else
      upto=$(cd "$ws" && $xfer inspect --json | $py -c '
import json, sys
ls = json.load(sys.stdin)["layers"]
print([l["index"] for l in ls if l["name"].replace("_", ".").find(sys.argv[1] + ".") >= 0][0] - 1)' "$first")
    fi
    (cd "$ws" && $xfer freeze --upto "$upto" >/dev/null)
  done
  data="npy:$dir/x.npy,$dir/y.npy"
  common="--data $data --loss sparse_categorical_crossentropy --from-logits --batch-size 32 --learning-rate 0.01 --momentum 0.9 --no-shuffle --json"

  xw="" tw="" xr="" tr="" xs="" ts="" bxs="" bts=""
  for i in $(seq "$repeat"); do
    out=$(cd "$dir/ws-$m-head" && timed $xfer finetune $common --epochs 10 -o "$dir/$m-head-xfer.onnx")
    xw="$xw $(echo "$out" | field WALL)"; xr="$xr $(echo "$out" | field RSS)"
    out=$(TORCH_THREADS=2 timed $py bench/finetune_vs_torch.py train "$dir" "$m" head 10)
    echo "$out" | grep '^torch'
    tw="$tw $(echo "$out" | field SECONDS)"; tr="$tr $(echo "$out" | field RSS)"
    out=$(cd "$dir/ws-$m-head" && $xfer finetune $common --epochs 1 --no-feature-cache -o "$dir/$m-head1-xfer.onnx" 2>/dev/null)
    xs="$xs $(echo "$out" | jsonsps)"
    out=$(TORCH_THREADS=2 $py bench/finetune_vs_torch.py train "$dir" "$m" head 1)
    ts="$ts $(echo "$out" | field SAMPLES_PER_SECOND)"
    out=$(cd "$dir/ws-$m-block" && $xfer finetune $common --epochs 1 --no-feature-cache -o "$dir/$m-block-xfer.onnx" 2>/dev/null)
    bxs="$bxs $(echo "$out" | jsonsps)"
    out=$(TORCH_THREADS=2 $py bench/finetune_vs_torch.py train "$dir" "$m" block 1)
    echo "$out" | grep '^torch'
    bts="$bts $(echo "$out" | field SAMPLES_PER_SECOND)"
  done
  med() { echo "$1" | tr ' ' '\n' | grep . | median; }
  xw=$(med "$xw") tw=$(med "$tw") xr=$(med "$xr") tr=$(med "$tr")
  xs=$(med "$xs") ts=$(med "$ts") bxs=$(med "$bxs") bts=$(med "$bts")
  echo "== $m (median of $repeat)"
  echo "head-only, 10 epochs, cached features: xfer whole process ${xw} s, torch training loop ${tw} s: ratio $(echo "$xw $tw" | awk '{printf "%.3f", $1/$2}') (target <= 0.2)"
  echo "head-only, peak memory: xfer ${xr} kB, torch ${tr} kB: ratio $(echo "$xr $tr" | awk '{printf "%.2f", $1/$2}') (target <= 2)"
  echo "head-only, 1 epoch, no cache: xfer ${xs} samples/s, torch ${ts}: ratio $(echo "$xs $ts" | awk '{printf "%.2f", $1/$2}') (target >= 1.0)"
  echo "last block unfrozen, 1 epoch: xfer ${bxs} samples/s, torch ${bts}: ratio $(echo "$bxs $bts" | awk '{printf "%.2f", $1/$2}') (target >= 1.0)"
  $xfer predict -m "$dir/$m-block-xfer.onnx" --input "$dir/x16.npy" --output "$dir/$m-block-pred.npy" >/dev/null
  $py bench/finetune_vs_torch.py compare "$dir" "$m" block "$dir/$m-block-xfer.onnx" "$dir/$m-block-pred.npy" | grep -v '^REL_DIFF'
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg) (2 vCPUs shared with other work: ratios are side by side, absolute figures are not comparable between runs)"
