package conformance

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/node_tests_expected.txt from this run (skip reasons are kept; new failures get their error as reason, to be edited)")

// unreviewed marks a skip reason -update wrote from an error message; the
// test refuses it until a person writes the reason.
const unreviewed = "UNREVIEWED: "

const (
	expectedFile = "testdata/node_tests_expected.txt"
	skippedFile  = "testdata/node_tests_skipped.txt"
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
		if needReason && (reason == "" || strings.HasPrefix(reason, unreviewed)) {
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

func TestNodeTests(t *testing.T) {
	if _, err := os.Stat(DefaultDir); err != nil {
		t.Skipf("SKIP (ONNX node tests absent: apt-get install libonnx-testdata): %v", err)
	}
	selected, err := Selected(DefaultDir)
	if err != nil {
		t.Fatal(err)
	}
	expected := readList(t, expectedFile, false)
	skipped := readList(t, skippedFile, true)
	isSelected := map[string]bool{}
	for _, name := range selected {
		isSelected[name] = true
	}
	var passed, failed []string
	failures := map[string]string{}
	nskip := 0
	for _, name := range selected {
		_, exp := expected[name]
		if _, skip := skipped[name]; skip {
			if exp {
				t.Errorf("%s is both expected to pass and skipped", name)
			}
			if !*update {
				nskip++
				continue
			}
		}
		if err := RunCase(filepath.Join(DefaultDir, name)); err != nil {
			failed = append(failed, name)
			failures[name] = err.Error()
			continue
		}
		passed = append(passed, name)
	}
	if *update {
		writeLists(t, passed, failed, failures, skipped)
		return
	}
	fmt.Printf("onnx node tests: %d passed, %d failed, %d skipped\n", len(passed), len(failed), nskip)
	for _, name := range failed {
		if _, exp := expected[name]; exp {
			t.Errorf("expected to pass: %s", failures[name])
		} else {
			t.Errorf("%s is in neither %s nor %s, and fails: %s", name, expectedFile, skippedFile, failures[name])
		}
	}
	for _, name := range passed {
		if _, exp := expected[name]; !exp {
			t.Errorf("%s passes but is not in %s (the set that ran differs from the list)", name, expectedFile)
		}
	}
	for name := range expected {
		if !isSelected[name] {
			t.Errorf("%s is in %s but was not run (not a selected node test here)", name, expectedFile)
		}
	}
	for name := range skipped {
		if !isSelected[name] {
			t.Errorf("%s is in %s but is not a selected node test", name, skippedFile)
		}
	}
	// Every operator of issue 3 must be run by at least one passing node
	// test whose model contains it.
	covered := map[string]bool{}
	for _, name := range passed {
		ops, err := modelOps(filepath.Join(DefaultDir, name, "model.onnx"))
		if err != nil {
			t.Fatal(err)
		}
		for op := range ops {
			covered[op] = true
		}
	}
	for op := range Ops {
		if !covered[op] {
			t.Errorf("operator %s is in no passing node test", op)
		}
	}
}

// writeLists rewrites the expected list, and the skip list keeping existing
// reasons for tests that still fail.
func writeLists(t *testing.T, passed, failed []string, failures, skipped map[string]string) {
	sort.Strings(passed)
	var b strings.Builder
	b.WriteString("# ONNX node tests (libonnx-testdata 1.12) that xfer's importer + engine pass.\n# Regenerate with: go test ./conformance -run NodeTests -update\n")
	for _, n := range passed {
		b.WriteString(n + "\n")
	}
	if err := os.WriteFile(expectedFile, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	sort.Strings(failed)
	b.Reset()
	b.WriteString("# Selected ONNX node tests (libonnx-testdata 1.12) that xfer does not run, one per line: name<TAB>reason.\n")
	for _, n := range failed {
		reason := skipped[n]
		if reason == "" {
			reason = unreviewed + failures[n]
		}
		b.WriteString(n + "\t" + reason + "\n")
	}
	if err := os.WriteFile(skippedFile, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %d expected, %d skipped", len(passed), len(failed))
}
