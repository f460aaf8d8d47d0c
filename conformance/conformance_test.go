package conformance

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/xferml/xfer/engine"
)

var update = flag.Bool("update", false, "rewrite testdata/expected.txt from this run (skip reasons are kept; new refusals get their error as reason, to be edited)")

// unreviewed marks a skip reason -update wrote from an error message; the
// test refuses it until a person writes the reason.
const unreviewed = "UNREVIEWED: "

const (
	expectedFile = "testdata/expected.txt"
	skippedFile  = "testdata/skipped.txt"
)

// readList reads "name" or "name<TAB>reason" lines; '#' starts a comment.
func readList(t *testing.T, path string, needReason bool) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("conformance: %v", err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, reason, _ := strings.Cut(line, "\t")
		name, reason = strings.TrimSpace(name), strings.TrimSpace(reason)
		if needReason && (reason == "" || strings.HasPrefix(reason, unreviewed)) && !*update {
			t.Fatalf("%s:%d: test %s has no written reason (replace the error -update wrote with one)", path, n, name)
		}
		if _, dup := out[name]; dup {
			t.Fatalf("%s:%d: test %s listed twice", path, n, name)
		}
		out[name] = reason
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestONNXTestdata runs every model of Debian's libonnx-testdata (node,
// pytorch-converted, pytorch-operator, simple) as `xfer predict` would and
// fails when the set that passes differs from testdata/expected.txt, when
// a test is in neither list, and whenever a test gives a wrong answer or
// crashes, skipped or not: a skip is a refusal with a reason (an error
// naming what xfer does not do), never a wrong number. It prints one line:
// "onnx tests (libonnx-testdata): P of N pass, W wrong, C crashed, R refused".
func TestONNXTestdata(t *testing.T) {
	if _, err := os.Stat(Root); err != nil {
		t.Skipf("SKIP LOUDLY (ONNX test data absent: apt-get install libonnx-testdata): %v", err)
	}
	all, err := All(Root)
	if err != nil {
		t.Fatal(err)
	}
	// Every buffer the engine's arena hands a kernel is NaN first: a
	// kernel that leaves part of an output unwritten gives a wrong answer
	// here, not another value's numbers in some later model.
	t.Setenv(engine.PoisonEnv, "1")
	expected := readList(t, expectedFile, false)
	skipped := readList(t, skippedFile, true)
	exists := map[string]bool{}
	var passed, refused []string
	failures := map[string]string{}
	wrong, crashed := 0, 0
	for _, name := range all {
		exists[name] = true
		err := RunCase(filepath.Join(Root, name))
		if err == nil {
			passed = append(passed, name)
			if _, skip := skipped[name]; skip && !*update {
				t.Errorf("%s passes but is in %s", name, skippedFile)
			}
			if _, exp := expected[name]; !exp && !*update {
				t.Errorf("%s passes but is not in %s (the set that ran differs from the list)", name, expectedFile)
			}
			continue
		}
		var ce *CaseError
		stage := Stage("")
		if errors.As(err, &ce) {
			stage = ce.Stage
		}
		switch stage {
		case StageCompare:
			wrong++
			t.Errorf("WRONG: %v", err)
			continue
		case StageCrash:
			crashed++
			t.Errorf("CRASH: %v", err)
			continue
		}
		refused = append(refused, name)
		failures[name] = err.Error()
		_, exp := expected[name]
		_, skip := skipped[name]
		switch {
		case *update:
		case exp:
			t.Errorf("expected to pass: %v", err)
		case !skip:
			t.Errorf("%s is in neither %s nor %s, and is refused: %v", name, expectedFile, skippedFile, err)
		}
	}
	if *update {
		writeLists(t, passed, refused, failures, skipped)
		return
	}
	fmt.Printf("onnx tests (libonnx-testdata): %d of %d pass, %d wrong, %d crashed, %d refused (reasons in conformance/%s)\n",
		len(passed), len(all), wrong, crashed, len(refused), skippedFile)
	for name := range expected {
		if !exists[name] {
			t.Errorf("%s is in %s but is not a libonnx-testdata test", name, expectedFile)
		}
		if _, skip := skipped[name]; skip {
			t.Errorf("%s is both expected to pass and skipped", name)
		}
	}
	for name := range skipped {
		if !exists[name] {
			t.Errorf("%s is in %s but is not a libonnx-testdata test", name, skippedFile)
		}
	}
	// Every operator of issue 3 must be run by at least one passing node
	// test whose model contains it.
	covered := map[string]bool{}
	for _, name := range passed {
		ops, err := ModelOps(filepath.Join(Root, name, "model.onnx"))
		if err != nil {
			t.Fatal(err)
		}
		for op := range ops {
			covered[op] = true
		}
	}
	for op := range Ops {
		if !covered[op] {
			t.Errorf("operator %s is in no passing test", op)
		}
	}
}

// writeLists rewrites the expected list, and the skip list keeping existing
// reasons for tests that are still refused.
func writeLists(t *testing.T, passed, refused []string, failures, skipped map[string]string) {
	sort.Strings(passed)
	var b strings.Builder
	b.WriteString("# libonnx-testdata tests (suite/name) that `xfer predict` passes: importer, engine, reference outputs within\n# 1e-7 + 1e-3*|want|. Regenerate with: go test ./conformance -run ONNXTestdata -update\n")
	for _, n := range passed {
		b.WriteString(n + "\n")
	}
	if err := os.WriteFile(expectedFile, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	sort.Strings(refused)
	b.Reset()
	b.WriteString("# libonnx-testdata tests that xfer refuses with an error, one per line: suite/name<TAB>reason.\n")
	for _, n := range refused {
		reason := skipped[n]
		if reason == "" {
			reason = unreviewed + failures[n]
		}
		b.WriteString(n + "\t" + reason + "\n")
	}
	if err := os.WriteFile(skippedFile, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %d expected, %d skipped", len(passed), len(refused))
}
