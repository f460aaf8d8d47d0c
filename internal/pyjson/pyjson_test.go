package pyjson

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/xferml/xfer/internal/peers"
)

func TestPyFloat(t *testing.T) {
	// Expected strings are Python 3's repr(float(x)).
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0.0"}, {1, "1.0"}, {-2, "-2.0"}, {0.001, "0.001"}, {1e-3, "0.001"}, {1e-5, "1e-05"},
		{0.0001, "0.0001"}, {1e-6, "1e-06"}, {0.99, "0.99"}, {123456789012345.0, "123456789012345.0"},
		{1e16, "1e+16"}, {1.5e300, "1.5e+300"}, {0.1, "0.1"}, {float64(float32(0.3)), "0.30000001192092896"},
		{math.Inf(1), "Infinity"}, {math.NaN(), "NaN"},
	}
	for _, tt := range tests {
		if got := Float(tt.in).String(); got != tt.want {
			t.Errorf("Float(%v) = %s; want %s", tt.in, got, tt.want)
		}
	}
}

func TestEncodeJSONPythonStyle(t *testing.T) {
	o, err := ParseObj([]byte(`{"b":1,"a":[1.50,null,true,"é\u2028\n"],"c":{"z":1e-06,"y":{}}}`))
	if err != nil {
		t.Fatal(err)
	}
	got, err := Encode(o)
	if err != nil {
		t.Fatal(err)
	}
	// Python: json.dumps(json.loads(s)) keeps order, ", " and ": ", escapes
	// non-ASCII; numbers are kept as read here.
	want := `{"b": 1, "a": [1.50, null, true, "\u00e9\u2028\n"], "c": {"z": 1e-06, "y": {}}}`
	if string(got) != want {
		t.Errorf("encodeJSON = %s; want %s", got, want)
	}
}

// FuzzParseObj: the ordered JSON reader never panics, and what it accepts
// encodes to JSON that means the same to encoding/json.
func FuzzParseObj(f *testing.F) {
	f.Add([]byte(`{"a": [1, {"b": null}], "c": "\u00e9"}`))
	f.Add([]byte(`{"x": 1e400}`))
	f.Add([]byte(`[1]`))
	// Seeds from the fixtures: every Keras 3 config.json.
	if dir, err := peers.Find("keras3"); err == nil {
		files, _ := filepath.Glob(filepath.Join(dir, "*.keras"))
		for _, file := range files {
			if zr, err := zip.OpenReader(file); err == nil {
				for _, m := range zr.File {
					if m.Name == "config.json" {
						if rc, err := m.Open(); err == nil {
							b, _ := io.ReadAll(rc)
							rc.Close()
							f.Add(b)
						}
					}
				}
				zr.Close()
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		o, err := ParseObj(data)
		if err != nil {
			return
		}
		out, err := Encode(o)
		if err != nil {
			t.Fatalf("encodeJSON of a parsed object: %v", err)
		}
		a, err := decodeNumbers(data)
		if err != nil {
			t.Fatalf("parseObj accepted what encoding/json refuses (%v): %q", err, data)
		}
		b, err := decodeNumbers(out)
		if err != nil {
			t.Fatalf("re-encoded JSON does not parse: %v\n%s", err, out)
		}
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("re-encoded JSON differs:\n in %s\nout %s", data, out)
		}
	})
}

// decodeNumbers is json.Unmarshal keeping numbers as written.
func decodeNumbers(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("trailing data")
	}
	return v, nil
}
