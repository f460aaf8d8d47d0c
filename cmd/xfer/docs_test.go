package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
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
	// The README points to it.
	if readme, err := os.ReadFile("../../README.md"); err != nil || !bytes.Contains(readme, []byte("](docs/CLI.md)")) {
		t.Errorf("README.md has no link to docs/CLI.md (%v)", err)
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
			if _, ok := jsonOutputs[c.Name]; f.Names()[0] == "json" && !ok {
				t.Errorf("%s has --json but jsonOutputs does not say what it prints", c.Name)
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

// TestJSONOutputs runs the commands with --json and checks what they print
// against the types docs/CLI.md lists (jsonOutputs): every key printed is
// documented and every key not marked ? is printed, at every depth.
func TestJSONOutputs(t *testing.T) {
	dir, m := messageFixture(t)
	data := "npy:" + filepath.Join(dir, "x.npy") + "," + filepath.Join(dir, "y.npy")
	tuned := filepath.Join(dir, "tuned.h5")
	ws := t.TempDir()
	mustXfer(t, ws, "import", m)
	mustXfer(t, ws, "freeze", "--upto", "0")
	for _, tc := range []struct {
		cmd, with string
		dir       string
		args      []string
	}{
		{"inspect", "", dir, []string{"inspect", "--json", "-m", m}},
		{"evaluate", "", dir, []string{"evaluate", "--json", "-m", m, "--data", data}},
		{"finetune", "", dir, []string{"finetune", "--json", "-m", m, "-o", tuned, "--data", data, "--epochs", "2", "--validation-split", "0.4"}},
		{"verify", "", dir, []string{"verify", "--json", m, tuned}},
		{"log", " with -m FILE", dir, []string{"log", "--json", "-m", tuned}},
		{"log", "", ws, []string{"log", "--json"}},
	} {
		t.Run(tc.cmd+tc.with, func(t *testing.T) {
			var doc any
			for _, o := range jsonOutputs[tc.cmd] {
				if o.with == tc.with {
					doc = o.value
				}
			}
			if doc == nil {
				t.Fatalf("jsonOutputs[%q] has no output%q", tc.cmd, tc.with)
			}
			out, errs, code := xfer(t, tc.dir, tc.args...)
			if code != 0 && !(tc.cmd == "verify" && code == 1) {
				t.Fatalf("xfer %v: exit %d: %s", tc.args, code, errs)
			}
			var got any
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("xfer %v printed no JSON: %v\n%s", tc.args, err, out)
			}
			checkJSON(t, "$", got, reflect.TypeOf(doc))
		})
	}
}

// checkJSON reports where decoded JSON value v does not have the keys type
// t marshals to.
func checkJSON(t *testing.T, path string, v any, typ reflect.Type) {
	t.Helper()
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	if v == nil {
		return // null: a nil pointer, slice or map
	}
	switch typ.Kind() {
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			t.Errorf("%s: %T; want an object", path, v)
			return
		}
		known := map[string]bool{}
		for i := range typ.NumField() {
			f := typ.Field(i)
			name, optional, written := jsonKey(f)
			if !written {
				continue
			}
			known[name] = true
			fv, ok := obj[name]
			if !ok && !optional {
				t.Errorf("%s: no key %q (documented without ?)", path, name)
			}
			if ok {
				checkJSON(t, path+"."+name, fv, f.Type)
			}
		}
		for k := range obj {
			if !known[k] {
				t.Errorf("%s: key %q is not documented", path, k)
			}
		}
	case reflect.Slice, reflect.Array:
		arr, ok := v.([]any)
		if !ok {
			t.Errorf("%s: %T; want an array", path, v)
			return
		}
		for i, e := range arr {
			checkJSON(t, fmt.Sprintf("%s[%d]", path, i), e, typ.Elem())
		}
	case reflect.Map:
		obj, ok := v.(map[string]any)
		if !ok {
			t.Errorf("%s: %T; want an object", path, v)
			return
		}
		for k, e := range obj {
			checkJSON(t, path+"."+k, e, typ.Elem())
		}
	}
}

// TestREADMENamesPeerTests: the README says which tests need the sibling
// ../shared folder (issue 14 item 9): every test file that looks for
// ../shared/interop or the Keras build in ../shared/keras-runtime is named
// there, by file or by its whole package.
func TestREADMENamesPeerTests(t *testing.T) {
	const root = "../.."
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "## How the numbers are checked")
	if !ok {
		t.Fatal("README.md has no section \"How the numbers are checked\"")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	// ../shared/interop (Keras peer files) and ../shared/keras-runtime (a
	// real Keras build, found through peers.KerasRuntime).
	uses := regexp.MustCompile(`peers\.(Interop|Find|KerasRuntime)\(|sharedInterop\(t`)
	found := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, "_test.go") || strings.HasSuffix(path, "helpers_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil || !uses.Match(b) {
			return err
		}
		found++
		rel, _ := filepath.Rel(root, path)
		dir, file := filepath.ToSlash(filepath.Dir(rel)), filepath.Base(rel)
		if !readmeNames(section, dir, file) {
			t.Errorf("%s looks for ../shared (interop or keras-runtime), but README.md's \"How the numbers are checked\" does not name it", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if found < 10 {
		t.Errorf("found %d test files using ../shared/interop; want the module's (at least 10)", found)
	}
}

// readmeNames reports whether text names test file file of package dir:
// as `dir/file`, or as `dir` followed by a list in parentheses that holds
// `file`, or as `dir` alone (the whole package).
func readmeNames(text, dir, file string) bool {
	if strings.Contains(text, "`"+dir+"/"+file+"`") {
		return true
	}
	for rest := text; ; {
		i := strings.Index(rest, "`"+dir+"`")
		if i < 0 {
			return false
		}
		rest = rest[i+len(dir)+2:]
		after := strings.TrimLeft(rest, " \n")
		if !strings.HasPrefix(after, "(") {
			return true
		}
		if list, _, _ := strings.Cut(after, ")"); strings.Contains(list, "`"+file+"`") {
			return true
		}
	}
}
