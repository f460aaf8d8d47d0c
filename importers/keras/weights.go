package keras

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/xferml/xfer/internal/hdf5"
)

// weight is one stored variable of a layer, in the layer's weight order.
type weight struct {
	name  string // as stored (weight_names entry or vars/<i>)
	shape []int
	data  []float32
}

// weightSource finds the stored weights of a layer by name. ok is false when
// the file has no entry at all for the layer.
type weightSource interface {
	layer(name string) (ws []weight, ok bool, err error)
}

// h5Weights reads weights from an HDF5 file in either layout:
//   - legacy (Keras 1-2 model.save / save_weights, Keras 3 legacy .h5):
//     <base>/<layer> groups with a weight_names attribute, <base> being
//     model_weights in a full save or the root in a weights-only file;
//   - Keras 3 (model.weights.h5 of a .keras zip, .weights.h5):
//     layers/<layer>/vars/<i>.
type h5Weights struct {
	f      *hdf5.File
	file   string // for messages
	base   string
	keras3 bool
}

func newH5Weights(f *hdf5.File, file string) (*h5Weights, error) {
	w := &h5Weights{f: f, file: file}
	switch {
	case f.HasAttr("model_weights", "layer_names"):
		w.base = "model_weights"
	case f.HasAttr("/", "layer_names"):
		w.base = ""
	case f.Exists("layers"):
		w.keras3 = true
	default:
		return nil, fmt.Errorf("%w: %s: no weights found (neither model_weights/layer_names, a root layer_names, nor a layers group)", ErrFormat, file)
	}
	return w, nil
}

func (w *h5Weights) layer(name string) ([]weight, bool, error) {
	if w.keras3 {
		return w.vars(name)
	}
	g := name
	if w.base != "" {
		g = w.base + "/" + name
	}
	k, err := w.f.Kind(g)
	if errors.Is(err, hdf5.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("keras: %s: layer %q: %w", w.file, name, err)
	}
	if k != hdf5.Group {
		return nil, false, fmt.Errorf("%w: %s: layer %q: /%s is not a group", ErrFormat, w.file, name, g)
	}
	names, err := w.f.AttrStrings(g, "weight_names")
	if errors.Is(err, hdf5.ErrNotFound) {
		names = nil
	} else if err != nil {
		return nil, false, fmt.Errorf("keras: %s: layer %q: weight_names: %w", w.file, name, err)
	}
	out := make([]weight, 0, len(names))
	for _, wn := range names {
		if wn == "" {
			return nil, false, fmt.Errorf("%w: %s: layer %q: empty weight name", ErrFormat, w.file, name)
		}
		shape, data, err := w.f.Dataset(g + "/" + wn)
		if err != nil {
			return nil, false, fmt.Errorf("keras: %s: layer %q: weight %q: %w", w.file, name, wn, err)
		}
		out = append(out, weight{name: wn, shape: shape, data: data})
	}
	return out, true, nil
}

// vars reads layers/<name>/vars/0..n-1.
func (w *h5Weights) vars(name string) ([]weight, bool, error) {
	g := "layers/" + name + "/vars"
	if !w.f.Exists("layers/" + name) {
		return nil, false, nil
	}
	if !w.f.Exists(g) {
		return nil, true, nil
	}
	members, err := w.f.Members(g)
	if err != nil {
		return nil, false, fmt.Errorf("keras: %s: layer %q: %w", w.file, name, err)
	}
	idx := make([]int, 0, len(members))
	for _, m := range members {
		i, err := strconv.Atoi(m)
		if err != nil || i < 0 || strconv.Itoa(i) != m {
			return nil, false, fmt.Errorf("%w: %s: layer %q: unexpected variable %q in %s", ErrFormat, w.file, name, m, g)
		}
		idx = append(idx, i)
	}
	slices.Sort(idx)
	out := make([]weight, 0, len(idx))
	for want, i := range idx {
		if i != want {
			return nil, false, fmt.Errorf("%w: %s: layer %q: variables are not numbered 0..%d", ErrFormat, w.file, name, len(idx)-1)
		}
		p := g + "/" + strconv.Itoa(i)
		shape, data, err := w.f.Dataset(p)
		if err != nil {
			return nil, false, fmt.Errorf("keras: %s: layer %q: variable %d: %w", w.file, name, i, err)
		}
		out = append(out, weight{name: "vars/" + strconv.Itoa(i), shape: shape, data: data})
	}
	return out, true, nil
}

// role returns the Keras weight name of a stored weight name:
// "dense_1/kernel:0" and "model/dense_1/kernel" give "kernel".
func role(stored string) string {
	s := stored
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		s = s[i+1:]
	}
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		s = s[:i]
	}
	return s
}
