package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestOnePlace keeps what issue 14 made single in one package of the
// module (non-test files): the ErrUnsupported sentinel in model, the .npy
// reader and writer (npyio, and the format's magic) in internal/tensorio,
// the figures (gonum plot) and the terminal (progress bar, Keras's epoch
// line) in this command. A second ErrUnsupported
// or a plot drawn inside finetune fails here, naming the file.
func TestOnePlace(t *testing.T) {
	const root = "../.."
	imports := []struct {
		prefix string   // an import path, or a prefix of one ending in "/"
		only   []string // the package directories allowed to import it
	}{
		{"github.com/sbinet/npyio", []string{"internal/tensorio"}},
		{"gonum.org/v1/plot", []string{"cmd/xfer"}},
		{"gonum.org/v1/plot/", []string{"cmd/xfer"}},
		{"golang.org/x/term", []string{"cmd/xfer"}},
	}
	// String literals that only one package may hold: a second .npy
	// decoder or writer needs the format's magic, a second progress bar
	// Keras's epoch line.
	literals := []struct {
		marker string
		only   string // the package directory allowed to hold it
		what   string
	}{
		{"NUMPY", "internal/tensorio", "the .npy magic (a .npy decoder or writer)"},
		{"Epoch %d/%d", "cmd/xfer", "Keras's epoch line (a progress display)"},
	}
	found := make([]bool, len(literals))
	var sentinels []string // packages declaring ErrUnsupported
	files := 0
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		files++
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		dir := filepath.ToSlash(filepath.Dir(rel))
		for _, imp := range f.Imports {
			p, err := strconv.Unquote(imp.Path.Value)
			if err != nil {
				return err
			}
			for _, rule := range imports {
				if (p == rule.prefix || strings.HasSuffix(rule.prefix, "/") && strings.HasPrefix(p, rule.prefix)) && !slices.Contains(rule.only, dir) {
					t.Errorf("%s imports %s; only %v may (one place for it)", rel, p, rule.only)
				}
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			v, err := strconv.Unquote(lit.Value)
			if err != nil {
				return true
			}
			for i, l := range literals {
				if strings.Contains(v, l.marker) {
					found[i] = true
					if dir != l.only {
						t.Errorf("%s holds %s; only %s may (one place for it)", rel, l.what, l.only)
					}
				}
			}
			return true
		})
		for _, decl := range f.Decls {
			g, ok := decl.(*ast.GenDecl)
			if !ok || g.Tok != token.VAR {
				continue
			}
			for _, spec := range g.Specs {
				for _, n := range spec.(*ast.ValueSpec).Names {
					if n.Name == "ErrUnsupported" {
						sentinels = append(sentinels, rel)
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range literals {
		if !found[i] {
			t.Errorf("no file holds %s %q; want it in %s (has the marker changed?)", l.what, l.marker, l.only)
		}
	}
	if files < 100 {
		t.Fatalf("read %d Go files under %s; want the whole module", files, root)
	}
	if !slices.Equal(sentinels, []string{"model/model.go"}) {
		t.Errorf("ErrUnsupported is declared in %v; want only model/model.go (wrap model.ErrUnsupported: fmt.Errorf(\"pkg: %%w: ...\", model.ErrUnsupported))", sentinels)
	}
}
