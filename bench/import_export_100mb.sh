#!/bin/sh
# Import and export of a ~100 MB Keras model: wall time and peak memory of
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
size=$(stat -c %s "$dir/big.h5")
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
: >"$dir/results"
measure h5py /usr/bin/python3 "$dir/h5read.py" "$dir/big.h5"
measure "xfer inspect -m" "$dir/xfer" inspect -m "$dir/big.h5"
measure "xfer import" "$dir/xfer" import "$dir/big.h5"
measure "xfer export .h5" "$dir/xfer" export -m "$dir/big.h5" -o "$dir/out.h5"
measure "xfer export .onnx" "$dir/xfer" export -m "$dir/big.h5" -o "$dir/out.onnx"
awk -v size="$size" -F' ' '
  { n = NF; t = $(n-2); kb = $(n-1); tree = $n; name = $1; for (i = 2; i < n-2; i++) name = name " " $i
    if (name == "h5py") ref = t
    printf "%-18s median %5.2f s  peak RSS: largest process %4.0f MB, process tree %4.0f MB = %.2fx model", name, t, kb*1024/1e6, tree*1024/1e6, tree*1024/size
    if (name != "h5py") printf "  time %.2fx h5py  (targets: memory < 2x model %s, time <= 2x h5py %s)", t/ref, (tree*1024 < 2*size ? "met" : "NOT met"), (t <= 2*ref ? "met" : "NOT met")
    printf "\n" }
  BEGIN { printf "model file: %.1f MB\n", size/1e6 }' "$dir/results"
