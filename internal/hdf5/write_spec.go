package hdf5

import (
	"fmt"
	"strings"
)

// GroupSpec describes a group of a file to write: its attributes, then its
// child groups and datasets, created in the order given. The root group of a
// file is a GroupSpec whose Name is ignored.
type GroupSpec struct {
	Name     string
	Attrs    []AttrSpec
	Groups   []*GroupSpec
	Datasets []*DatasetSpec
}

// DatasetSpec describes a contiguous little-endian float32 dataset, or an
// integer one (Keras's Normalization count) when IntBits is 32 or 64: Data
// is then rounded toward zero into that type.
type DatasetSpec struct {
	Name    string
	Shape   []int // nil or empty for a scalar
	Data    []float32
	Attrs   []AttrSpec
	IntBits int // 0: float32; 32 or 64: int32 or int64
}

// AttrSpec describes one attribute: a variable-length string (scalar or
// one-dimensional array) or a one-dimensional float64 array.
type AttrSpec struct {
	Name string
	// Strings holds the values of a string attribute; nil means a float64
	// attribute holding Floats.
	Strings []string
	// Scalar makes a string attribute a scalar (Strings must have one value)
	// instead of a one-dimensional array.
	Scalar bool
	// UTF8 sets the character set of a string attribute to UTF-8 (h5py writes
	// Python str values so); otherwise it is ASCII.
	UTF8   bool
	Floats []float64
}

// StringAttr returns a scalar variable-length string attribute.
func StringAttr(name, value string, utf8 bool) AttrSpec {
	return AttrSpec{Name: name, Strings: []string{value}, Scalar: true, UTF8: utf8}
}

// StringsAttr returns a one-dimensional variable-length ASCII string array
// attribute. values must not be empty: use FloatsAttr(name, nil) for the
// empty array Keras writes.
func StringsAttr(name string, values []string) AttrSpec {
	return AttrSpec{Name: name, Strings: append([]string{}, values...)}
}

// FloatsAttr returns a one-dimensional float64 array attribute; values may
// be empty (Keras writes an empty float64 array as the weight_names of a
// layer without weights).
func FloatsAttr(name string, values []float64) AttrSpec {
	return AttrSpec{Name: name, Floats: append([]float64{}, values...)}
}

// Group returns the descendant group at the slash-separated path below g,
// creating the missing groups (appended in order) on the way.
func (g *GroupSpec) Group(path string) *GroupSpec {
	cur := g
	for _, part := range strings.Split(path, "/") {
		if part == "" {
			continue
		}
		var next *GroupSpec
		for _, c := range cur.Groups {
			if c.Name == part {
				next = c
				break
			}
		}
		if next == nil {
			next = &GroupSpec{Name: part}
			cur.Groups = append(cur.Groups, next)
		}
		cur = next
	}
	return cur
}

// AddDataset adds a float32 dataset at the slash-separated path below g,
// creating the groups on the way. It does not copy data.
func (g *GroupSpec) AddDataset(path string, shape []int, data []float32) *DatasetSpec {
	dir, base := "", path
	if i := strings.LastIndex(path, "/"); i >= 0 {
		dir, base = path[:i], path[i+1:]
	}
	parent := g.Group(dir)
	d := &DatasetSpec{Name: base, Shape: append([]int(nil), shape...), Data: data}
	parent.Datasets = append(parent.Datasets, d)
	return d
}

// check validates the spec tree before any call into libhdf5: names are
// non-empty, free of '/' and '.'-only, unique among siblings; data lengths
// match shapes; string attributes hold no NUL bytes.
func (g *GroupSpec) check(where string) error {
	if err := checkAttrs(g.Attrs, where); err != nil {
		return err
	}
	seen := map[string]bool{}
	name := func(n string) error {
		if n == "" || n == "." || n == ".." || strings.ContainsAny(n, "/\x00") {
			return fmt.Errorf("hdf5: write %s: bad member name %q", where, n)
		}
		if seen[n] {
			return fmt.Errorf("hdf5: write %s: member %q appears twice", where, n)
		}
		seen[n] = true
		return nil
	}
	for _, c := range g.Groups {
		if err := name(c.Name); err != nil {
			return err
		}
		if err := c.check(join(where, c.Name)); err != nil {
			return err
		}
	}
	for _, d := range g.Datasets {
		if err := name(d.Name); err != nil {
			return err
		}
		at := join(where, d.Name)
		n := 1
		for _, s := range d.Shape {
			if s < 0 || (s != 0 && n > maxElements/s) {
				return fmt.Errorf("hdf5: write %s: bad shape %v", at, d.Shape)
			}
			n *= s
		}
		if d.IntBits != 0 && d.IntBits != 32 && d.IntBits != 64 {
			return fmt.Errorf("hdf5: write %s: integer width %d (0, 32 or 64)", at, d.IntBits)
		}
		if len(d.Data) != n {
			return fmt.Errorf("hdf5: write %s: shape %v needs %d values, got %d", at, d.Shape, n, len(d.Data))
		}
		if err := checkAttrs(d.Attrs, at); err != nil {
			return err
		}
	}
	return nil
}

func checkAttrs(attrs []AttrSpec, where string) error {
	seen := map[string]bool{}
	for _, a := range attrs {
		if a.Name == "" || strings.ContainsRune(a.Name, 0) || seen[a.Name] {
			return fmt.Errorf("hdf5: write %s: bad or repeated attribute name %q", where, a.Name)
		}
		seen[a.Name] = true
		if a.Strings == nil {
			if a.Scalar {
				return fmt.Errorf("hdf5: write %s: attribute %q: scalar float attributes are not supported", where, a.Name)
			}
			continue
		}
		if a.Scalar && len(a.Strings) != 1 {
			return fmt.Errorf("hdf5: write %s: attribute %q: a scalar needs one value, got %d", where, a.Name, len(a.Strings))
		}
		for _, s := range a.Strings {
			if strings.ContainsRune(s, 0) {
				return fmt.Errorf("hdf5: write %s: attribute %q: value holds a NUL byte", where, a.Name)
			}
		}
	}
	return nil
}

func join(dir, name string) string {
	if dir == "/" {
		return "/" + name
	}
	return dir + "/" + name
}
