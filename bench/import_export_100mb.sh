#!/bin/sh
# Import and export of ~100 MB Keras models (a synthetic one, then a real
# keras.applications ResNet50 when the Keras runtime is there): wall time and peak memory of
# `xfer inspect -m big.h5` (read in file mode), `xfer import big.h5` (read
# into a workspace), `xfer export -m big.h5 -o out.h5` and `-o out.onnx`,
# beside reading every dataset of the same file into numpy with h5py
# (Debian python3-h5py). Issue 6 targets: peak memory < 2x the model size,
# time within 2x of h5py's. Memory is measured by bench/treerss: the peak
# RSS of the largest process (what GNU time's %M reports) and the peak of
# the whole process tree's summed RSS (xfer reads Keras files in a child
# process, so the tree is what a user needs; the targets are judged on it).
# The commands run in turn, round after round, and each ratio is the median
# over rounds of the command's time / h5py's in the same round, which holds
# up on a shared machine better than medians of separate series. Issue 15
# holds the keras.applications file to the same targets.
# Usage: bench/import_export_100mb.sh [rounds, default 5] [MB, default 100]
# Needs scripts/setup.sh.
set -eu
cd "$(dirname "$0")/.."
runs=${1:-5}
mb=${2:-100}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
go build -o "$dir/xfer" ./cmd/xfer
go build -o "$dir/bigh5" ./bench/bigh5
go build -o "$dir/treerss" ./bench/treerss
"$dir/bigh5" -o "$dir/big.h5" -mb "$mb"
cat >"$dir/h5read.py" <<'PY'
import sys
import h5py
keep = []
def visit(name, obj):
    if isinstance(obj, h5py.Dataset):
        keep.append(obj[()])  # every dataset into a numpy array
with h5py.File(sys.argv[1], 'r') as f:
    f.visititems(visit)
print(sum(a.nbytes for a in keep), 'bytes read')
PY
bench/idle.sh
# once K CMD...: runs CMD once from $dir/ws, a fresh workspace, and appends
# "seconds max_process_kb max_tree_kb" to $dir/t.K.
once() {
  k=$1
  shift
  rm -rf "$dir/ws" && mkdir "$dir/ws"
  (cd "$dir/ws" && "$dir/treerss" "$@" >"$dir/out" 2>"$dir/err") || { cat "$dir/err" >&2; exit 1; }
  tail -1 "$dir/out" >>"$dir/t.$k"
}
# bench FILE: the five commands on FILE, taken in turn $runs times (h5py
# first in each round, so that every command of a round meets the same load
# on a shared machine), then the table: each command's median time and
# peak memory, and the median over rounds of its time / h5py's time in the
# same round.
bench() {
  f=$1
  size=$(stat -c %s "$f")
  rm -f "$dir"/t.*
  i=0
  while [ "$i" -lt "$runs" ]; do
    once 0 /usr/bin/python3 "$dir/h5read.py" "$f"
    once 1 "$dir/xfer" inspect -m "$f"
    once 2 "$dir/xfer" import "$f"
    once 3 "$dir/xfer" export -m "$f" -o "$dir/out.h5"
    once 4 "$dir/xfer" export -m "$f" -o "$dir/out.onnx"
    i=$((i + 1))
  done
  bench/idle.sh
  printf 'model file: %s, %.1f MB, %s rounds\n' "$(basename "$f")" "$(echo "$size / 1000000" | bc -l)" "$runs"
  for k in 0 1 2 3 4; do
    case $k in
      0) name=h5py ;; 1) name="xfer inspect -m" ;; 2) name="xfer import" ;;
      3) name="xfer export .h5" ;; 4) name="xfer export .onnx" ;;
    esac
    # median, lowest and highest of the numbers on stdin
    med() { sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)], a[1], a[NR]}'; }
    set -- $(awk '{print $1}' "$dir/t.$k" | med) \
      $(paste "$dir/t.0" "$dir/t.$k" | awk '{print $4 / $1}' | med) \
      $(awk '$2 > m {m = $2} $3 > t {t = $3} END {print m, t}' "$dir/t.$k")
    awk -v name="$name" -v size="$size" -v mt="$1" -v mr="$4" -v lo="$5" -v hi="$6" -v m="$7" -v tr="$8" 'BEGIN {
      printf "%-18s median %5.2f s  peak RSS: largest process %4.0f MB, process tree %4.0f MB = %.2fx model", name, mt, m*1024/1e6, tr*1024/1e6, tr*1024/size
      if (name != "h5py") printf "  time %.2fx h5py (%.2f-%.2f over rounds)  (targets: memory < 2x model %s, time <= 2x h5py %s)", mr, lo, hi, (tr*1024 < 2*size ? "met" : "NOT met"), (mr <= 2 ? "met" : "NOT met")
      printf "\n" }'
  done
}
bench "$dir/big.h5"
# A keras.applications model written by real Keras 3: ResNet50 with its
# 1000 classes and weights=None, 25.6M params (~103 MB in .h5), 177 layers.
# Needs the Keras runtime (XFER_KERAS_RUNTIME, default /tmp/keras-runtime);
# skipped loudly without it.
rt=${XFER_KERAS_RUNTIME:-/tmp/keras-runtime}
if [ -f "$rt/env.sh" ]; then
  # env.sh is bash.
  bash -c '. "$1/env.sh" && PYTHONPATH=$KERAS_PYTHONPATH /usr/bin/python3 -c "
import sys, warnings
warnings.filterwarnings(\"ignore\")
import keras
keras.utils.set_random_seed(1)
keras.applications.ResNet50(weights=None, input_shape=(32, 32, 3)).save(sys.argv[1])" "$2" 2>/dev/null' bash "$rt" "$dir/resnet50.h5"
  bench "$dir/resnet50.h5"
else
  echo "SKIPPING the keras.applications file: no Keras runtime at $rt (set XFER_KERAS_RUNTIME)" >&2
fi
