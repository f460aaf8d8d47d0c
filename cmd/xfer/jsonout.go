package main

import (
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"

	"github.com/xferml/xfer/demo"
	"github.com/xferml/xfer/finetune"
	"github.com/xferml/xfer/model"
	"github.com/xferml/xfer/workspace"
)

// jsonOutputs are the values commands print with --json (printJSON), by
// command: docs/CLI.md lists their keys, read from the types themselves.
var jsonOutputs = map[string][]struct {
	with  string // the flags that select this output, " with --x"
	value any
}{
	"inspect":  {{"", modelSummary{}}},
	"finetune": {{"", finetune.History{}}},
	"evaluate": {{"", finetune.Metrics{}}},
	"verify":   {{"", verifyResult{}}},
	"demo":     {{"", demo.Result{}}, {" with --ablation", ablationJSON{}}},
	"log":      {{"", []workspace.Entry{}}, {" with -m FILE", []model.Event{}}},
}

// ablationJSON is what demo --ablation --json prints.
type ablationJSON struct {
	Ablation []demo.AblationRow `json:"ablation"`
}

// printJSON writes v to w as indented JSON: what every --json prints.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// jsonShape writes the JSON shape of values of type t: {"key": shape, ...}
// for structs (by their json tags), [shape] for slices, and number,
// string, bool or object for the rest. A struct type written once is
// named by its first key afterwards ("model_B": like "model_A"), and a
// recursive one ends in "{...}".
func jsonShape(t reflect.Type) string {
	s := shapeWriter{first: map[reflect.Type]string{}}
	return s.shape(t, "")
}

type shapeWriter struct {
	first map[reflect.Type]string // struct type -> the key it was first written under
	outer []reflect.Type          // struct types being written
}

func (s *shapeWriter) shape(t reflect.Type, key string) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		if slices.Contains(s.outer, t) {
			return "{...}"
		}
		if k, ok := s.first[t]; ok {
			return fmt.Sprintf("like %q", k)
		}
		if key != "" {
			s.first[t] = key
		}
		s.outer = append(s.outer, t)
		defer func() { s.outer = s.outer[:len(s.outer)-1] }()
		var keys []string
		for i := range t.NumField() {
			f := t.Field(i)
			name, optional, ok := jsonKey(f)
			if !ok {
				continue
			}
			shape := s.shape(f.Type, name)
			if optional {
				name += "?"
			}
			keys = append(keys, fmt.Sprintf("%q: %s", name, shape))
		}
		return "{" + strings.Join(keys, ", ") + "}"
	case reflect.Slice, reflect.Array:
		if e := t.Elem(); e.Kind() == reflect.Pointer && e.Elem().Kind() != reflect.Struct {
			return "[" + s.shape(e, key) + " or null]" // inspect's unknown dims
		}
		return "[" + s.shape(t.Elem(), key) + "]"
	case reflect.Map:
		return "{KEY: " + s.shape(t.Elem(), key) + "}"
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "bool"
	case reflect.Interface:
		return "any"
	}
	return "number"
}

// jsonKey is the key encoding/json writes struct field f under, and whether
// it may be left out (omitempty); ok is false for a field it never writes.
func jsonKey(f reflect.StructField) (key string, optional, ok bool) {
	name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
	if !f.IsExported() || name == "-" {
		return "", false, false
	}
	if name == "" {
		name = f.Name
	}
	return name, strings.Contains(opts, "omitempty"), true
}
