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
# Usage: bench/import_export_100mb.sh [runs per command, default 5] [MB, default 100]
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
# measure NAME CMD...: runs CMD $runs times (from $dir/ws, a fresh workspace
# each time) and appends "NAME median_seconds max_process_kb max_tree_kb" to
# $dir/results.
measure() {
  name=$1
  shift
  : >"$dir/t"
  i=0
  while [ "$i" -lt "$runs" ]; do
    rm -rf "$dir/ws" && mkdir "$dir/ws"
    (cd "$dir/ws" && "$dir/treerss" "$@" >"$dir/out" 2>"$dir/err") || { cat "$dir/err" >&2; exit 1; }
    tail -1 "$dir/out" >>"$dir/t"
    i=$((i + 1))
  done
  sort -n "$dir/t" | awk -v n="$name" '{t[NR]=$1; if ($2>m) m=$2; if ($3>tr) tr=$3} END {print n, t[int((NR+1)/2)], m, tr}' >>"$dir/results"
}
# bench FILE: the five commands on FILE, then the table with the ratios to
# h5py on the same file.
bench() {
  f=$1
  size=$(stat -c %s "$f")
  : >"$dir/results"
  measure h5py /usr/bin/python3 "$dir/h5read.py" "$f"
  measure "xfer inspect -m" "$dir/xfer" inspect -m "$f"
  measure "xfer import" "$dir/xfer" import "$f"
  measure "xfer export .h5" "$dir/xfer" export -m "$f" -o "$dir/out.h5"
  measure "xfer export .onnx" "$dir/xfer" export -m "$f" -o "$dir/out.onnx"
  awk -v size="$size" -v file="$(basename "$f")" -F' ' '
    { n = NF; t = $(n-2); kb = $(n-1); tree = $n; name = $1; for (i = 2; i < n-2; i++) name = name " " $i
      if (name == "h5py") ref = t
      printf "%-18s median %5.2f s  peak RSS: largest process %4.0f MB, process tree %4.0f MB = %.2fx model", name, t, kb*1024/1e6, tree*1024/1e6, tree*1024/size
      if (name != "h5py") printf "  time %.2fx h5py  (targets: memory < 2x model %s, time <= 2x h5py %s)", t/ref, (tree*1024 < 2*size ? "met" : "NOT met"), (t <= 2*ref ? "met" : "NOT met")
      printf "\n" }
    BEGIN { printf "model file: %s, %.1f MB\n", file, size/1e6 }' "$dir/results"
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
