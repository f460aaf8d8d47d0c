#!/usr/bin/env bash
# The test command: sets the machine up, then runs vet, the whole test suite
# and short fuzz runs of every decoder. Exit status is the suite's.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

export GOFLAGS="${GOFLAGS:-} -buildvcs=false"
# go.mod and go.sum must be what `go mod tidy` makes of them (a new import
# comes with its require; nothing unused stays): -diff prints what tidy would
# change and fails.
go mod tidy -diff
go vet ./...
go test -count=1 -timeout 20m ./... 2>&1 | tee /tmp/xfer-test.log
status=${PIPESTATUS[0]}
[ "$status" -eq 0 ] || exit "$status"

# The conformance summary line over all of libonnx-testdata (go test hides a
# passing package's output).
go test -count=1 -v -run '^TestONNXTestdata$' ./conformance | grep '^onnx tests (libonnx-testdata):'

# Decoders get a short coverage-guided fuzz run each (seeded from fixtures);
# minimisation is capped at 5 s so that large inputs (Keras files) do not
# stall a run.
fuzz_secs="${XFER_FUZZTIME:-15s}"
while read -r pkg fn; do
  [ -n "$pkg" ] || continue
  echo "fuzz: $pkg $fn for $fuzz_secs"
  if ! go test -run='^$' -fuzz="^${fn}\$" -fuzztime="$fuzz_secs" -fuzzminimizetime=5s "$pkg" > /tmp/xfer-fuzz.log 2>&1; then
    cat /tmp/xfer-fuzz.log
    # Go's fuzzer sometimes reports "context deadline exceeded" when its time
    # runs out while a worker is busy (no failing input written): retry once.
    if grep -q 'context deadline exceeded' /tmp/xfer-fuzz.log && ! grep -q 'Failing input written' /tmp/xfer-fuzz.log; then
      echo "fuzz: $fn: retrying after the fuzzer's own deadline error"
      go test -run='^$' -fuzz="^${fn}\$" -fuzztime="$fuzz_secs" -fuzzminimizetime=5s "$pkg"
    else
      exit 1
    fi
  else
    tail -n 1 /tmp/xfer-fuzz.log
  fi
done < <(grep -rl --include='*_test.go' -E '^func Fuzz[A-Za-z0-9_]+\(f \*testing\.F\)' . \
  | while read -r f; do
      d=$(dirname "$f")
      grep -oE '^func (Fuzz[A-Za-z0-9_]+)\(f \*testing\.F\)' "$f" | sed -E 's/^func (Fuzz[A-Za-z0-9_]+).*/\1/' \
        | while read -r fn; do echo "./${d#./} $fn"; done
    done | sort -u)
echo "tests and fuzzing passed"
