package main

import (
	"bytes"
	"os"
	"reflect"
	"strings"
	"testing"
)

// TestCLIDocs: docs/CLI.md is what the commands' own help says; a flag or
// command changed without regenerating it fails here.
func TestCLIDocs(t *testing.T) {
	const path = "../../docs/CLI.md"
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := mustXfer(t, t.TempDir(), docsCommand)
	if !bytes.Equal(got, []byte(want)) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(want, "\n")
		for i := range min(len(gl), len(wl)) {
			if gl[i] != wl[i] {
				t.Fatalf("docs/CLI.md line %d is\n\t%s\nthe help says\n\t%s\nrun `go generate ./cmd/xfer` (go run ./cmd/xfer %s > docs/CLI.md)", i+1, gl[i], wl[i], docsCommand)
			}
		}
		t.Fatalf("docs/CLI.md has %d lines, the help %d: run `go generate ./cmd/xfer`", len(gl), len(wl))
	}
	// Every command and every flag is in it.
	for _, c := range visibleCommands(newApp(&env{})) {
		if !strings.Contains(want, "## xfer "+c.Name+"\n") {
			t.Errorf("docs/CLI.md has no section for %s", c.Name)
		}
		for _, f := range c.Flags {
			if !strings.Contains(want, "`--"+f.Names()[0]) {
				t.Errorf("docs/CLI.md lacks %s --%s", c.Name, f.Names()[0])
			}
			if _, ok := jsonShapes[c.Name]; f.Names()[0] == "json" && !ok {
				t.Errorf("%s has --json but jsonShapes does not say what it prints", c.Name)
			}
		}
	}
}

// TestJSONShape: the shapes docs/CLI.md prints for --json follow the json
// tags, mark omitempty keys, name a struct type met again by its first key
// and stop at recursion.
func TestJSONShape(t *testing.T) {
	type stat struct {
		Mean float64 `json:"mean"`
	}
	type node struct {
		Name string  `json:"name"`
		Kids []*node `json:"kids,omitempty"`
	}
	type result struct {
		A     stat              `json:"a"`
		B     *stat             `json:"b,omitempty"`
		Dims  []*int            `json:"dims"`
		Tree  node              `json:"tree"`
		Extra map[string]bool   `json:"extra"`
		_     int               // unexported: not printed
		Skip  string            `json:"-"`
		Any   any               `json:"any"`
		Tags  map[string]string `json:"tags,omitempty"`
	}
	for _, tc := range []struct {
		in   any
		want string
	}{
		{stat{}, `{"mean": number}`},
		{[]stat{}, `[{"mean": number}]`},
		{result{}, `{"a": {"mean": number}, "b?": like "a", "dims": [number or null], "tree": {"name": string, "kids?": [{...}]}, "extra": {KEY: bool}, "any": any, "tags?": {KEY: string}}`},
	} {
		if got := jsonShape(reflect.TypeOf(tc.in)); got != tc.want {
			t.Errorf("jsonShape(%T) =\n\t%s\nwant\n\t%s", tc.in, got, tc.want)
		}
	}
}
