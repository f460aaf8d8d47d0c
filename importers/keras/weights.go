package keras

import (
	"errors"
	"fmt"
	"regexp"
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
	// intErr is the refusal of an integer dataset, for every weight but the
	// few Keras stores as integers (lctx.takeInt).
	intErr error
}

// weightSource finds the stored weights of a layer by its full name (a
// nested model's layer by its path, "base/conv1"). ok is false when the
// file has no entry at all for the layer. unused lists, after every layer
// was read, the file's layers that hold weights but were never asked for (a
// config that does not fit the weights).
type weightSource interface {
	layer(name string) (ws []weight, ok bool, err error)
	unused() ([]string, error)
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
	// paths maps a layer's full name to its Keras 3 group under layers/
	// (see keras3Paths); set by the graph builder.
	paths map[string]string
	read  map[string]bool // layer names asked for
	// nested holds, per top-level nested model of a legacy file, the
	// weights of its group, by stored name; taken marks those handed out.
	nested map[string]*nestedGroup
}

// nestedGroup is the group of a nested model in a legacy file: Keras writes
// all of the nested model's weights into the group of the nested model's
// top-level layer, named "<layer>/<weight>" (tf.keras 2: with ":0"; Keras 3
// prefixes a nested Sequential model's own name).
type nestedGroup struct {
	ws      []weight
	taken   []bool
	byLayer map[string][]weight // what each layer path was given
}

// keras3Layout is implemented by weight sources that store layers by Keras 3
// save path rather than by layer name.
type keras3Layout interface {
	setPaths(map[string]string)
}

func (w *h5Weights) setPaths(p map[string]string) { w.paths = p }

var (
	nonWord  = regexp.MustCompile(`\W+`)
	capWord  = regexp.MustCompile(`(.)([A-Z][a-z]+)`)
	lowUpper = regexp.MustCompile(`([a-z])([A-Z])`)
)

// snakeCase is keras.src.utils.naming.to_snake_case, regex for regex.
func snakeCase(name string) string {
	name = nonWord.ReplaceAllString(name, "")
	name = capWord.ReplaceAllString(name, "${1}_${2}")
	return strings.ToLower(lowUpper.ReplaceAllString(name, "${1}_${2}"))
}

// keras3Paths returns where Keras 3 saves each layer's variables: its
// container walk names the entries of model.layers by the snake-case class
// name, "_1", "_2"... for repeats (keras-team/keras:
// keras/src/saving/saving_lib.py, _save_container_state), not by layer name;
// a nested model's layers go under "<its path>/layers/", named the same way
// within it. A Sequential model's layers list omits its InputLayer; a
// Functional one's includes them. Keys are full layer names ("base/conv1").
func keras3Paths(g *graphConfig) map[string]string {
	out := map[string]string{}
	keras3Walk(g, "", "", out)
	return out
}

func keras3Walk(g *graphConfig, scope, prefix string, out map[string]string) {
	used := map[string]int{}
	for i, e := range g.layers {
		if g.class == "Sequential" && i == 0 && e.class == "InputLayer" || isOperation(&g.layers[i]) {
			continue // not in model.layers
		}
		name := snakeCase(e.class)
		if n, ok := used[name]; ok {
			used[name] = n + 1
			name = fmt.Sprintf("%s_%d", name, n+1)
		} else {
			used[name] = 0
		}
		full := e.name
		if scope != "" {
			full = scope + "/" + e.name
		}
		out[full] = prefix + name
		if e.sub != nil {
			keras3Walk(e.sub, full, prefix+name+"/layers/", out)
		}
	}
}

func newH5Weights(f *hdf5.File, file string) (*h5Weights, error) {
	w := &h5Weights{f: f, file: file}
	switch {
	case f.HasAttr("model_weights", "layer_names"):
		w.base = "model_weights"
	case f.HasAttr("/", "layer_names"):
		w.base = "/"
	case f.Exists("layers"):
		w.keras3 = true
	default:
		return nil, fmt.Errorf("%w: %s: no weights found (neither model_weights/layer_names, a root layer_names, nor a layers group)", ErrFormat, file)
	}
	return w, nil
}

func (w *h5Weights) layer(name string) ([]weight, bool, error) {
	if w.read == nil {
		w.read = map[string]bool{}
	}
	w.read[name] = true
	if w.keras3 {
		return w.vars(name)
	}
	if top, rel, ok := strings.Cut(name, "/"); ok {
		return w.nestedLayer(top, rel)
	}
	return w.layerGroup(name)
}

// layerGroup reads the weights of the legacy group of top-level layer name,
// in weight_names order.
func (w *h5Weights) layerGroup(name string) ([]weight, bool, error) {
	g := strings.TrimPrefix(w.base+"/"+name, "/")
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
		shape, data, isInt, err := w.f.NumericDataset(g + "/" + wn)
		if err != nil {
			return nil, false, fmt.Errorf("keras: %s: layer %q: weight %q: %w", w.file, name, wn, err)
		}
		out = append(out, weight{name: wn, shape: shape, data: data, intErr: w.intErr(isInt, name, wn, g+"/"+wn)})
	}
	return out, true, nil
}

// nestedLayer returns the weights of the layer at path rel inside the
// top-level nested model top, matched by stored name: "<rel>/<weight>"
// first, then a name whose layer path ends in rel or that rel ends in
// (Keras leaves out the names of the models between, or adds its own) and
// that no other layer claimed. A second call of a shared layer gets the
// weights of its first.
func (w *h5Weights) nestedLayer(top, rel string) ([]weight, bool, error) {
	ng, err := w.nestedGroup(top)
	if err != nil || ng == nil {
		return nil, false, err
	}
	if ws, ok := ng.byLayer[rel]; ok {
		return ws, true, nil
	}
	var out []weight
	match := func(exact bool) {
		for i, wt := range ng.ws {
			if ng.taken[i] {
				continue
			}
			n := weightPath(wt.name)
			dir := n[:max(strings.LastIndexByte(n, '/'), 0)]
			if exact && (dir == rel || dir == top+"/"+rel) ||
				!exact && dir != "" && (strings.HasSuffix(dir, "/"+rel) || strings.HasSuffix(rel, "/"+dir)) {
				ng.taken[i] = true
				out = append(out, wt)
			}
		}
	}
	match(true)
	if len(out) == 0 {
		match(false)
	}
	ng.byLayer[rel] = out
	return out, true, nil
}

// weightPath strips the ":0" TensorFlow adds to a variable name.
func weightPath(name string) string {
	if i := strings.LastIndexByte(name, ':'); i >= 0 {
		if _, err := strconv.Atoi(name[i+1:]); err == nil {
			return name[:i]
		}
	}
	return name
}

// nestedGroup reads (once) every weight of the group of the top-level
// nested model top.
func (w *h5Weights) nestedGroup(top string) (*nestedGroup, error) {
	if ng, ok := w.nested[top]; ok {
		return ng, nil
	}
	if w.nested == nil {
		w.nested = map[string]*nestedGroup{}
	}
	ws, found, err := w.layerGroup(top)
	if err != nil || !found {
		w.nested[top] = nil
		return nil, err
	}
	ng := &nestedGroup{ws: ws, taken: make([]bool, len(ws)), byLayer: map[string][]weight{}}
	w.nested[top] = ng
	return ng, nil
}

func (w *h5Weights) unused() ([]string, error) {
	var out []string
	if w.keras3 {
		used := map[string]bool{}
		for name, p := range w.paths {
			if w.read[name] {
				used[p] = true
			}
		}
		if err := w.unusedVars("", used, &out); err != nil {
			return nil, err
		}
		return out, nil
	}
	names, err := w.f.AttrStrings(w.base, "layer_names")
	if err != nil {
		return nil, fmt.Errorf("keras: %s: layer_names: %w", w.file, err)
	}
	for top, ng := range w.nested {
		if ng == nil {
			continue
		}
		for i, t := range ng.taken {
			if !t {
				out = append(out, top+"/"+ng.ws[i].name)
			}
		}
	}
	slices.Sort(out)
	for _, n := range names {
		if w.read[n] || w.nested[n] != nil {
			continue
		}
		g := strings.TrimPrefix(w.base+"/"+n, "/")
		wn, err := w.f.AttrStrings(g, "weight_names")
		if err == nil && len(wn) > 0 {
			out = append(out, n)
		}
	}
	return out, nil
}

// unusedVars appends to out the groups under layers/<prefix> that hold
// variables and that no layer asked for, descending into nested models.
func (w *h5Weights) unusedVars(prefix string, used map[string]bool, out *[]string) error {
	dir := "layers"
	if prefix != "" {
		dir += "/" + strings.TrimSuffix(prefix, "/")
	}
	members, err := w.f.Members(dir)
	if err != nil {
		return fmt.Errorf("keras: %s: %w", w.file, err)
	}
	for _, m := range members {
		p := prefix + m
		if used[p] {
			continue
		}
		if vars, err := w.f.Members("layers/" + p + "/vars"); err == nil && len(vars) > 0 {
			*out = append(*out, p)
		}
		if w.f.Exists("layers/" + p + "/layers") {
			if err := w.unusedVars(p+"/layers/", used, out); err != nil {
				return err
			}
		}
	}
	return nil
}

// vars reads layers/<path>/vars/0..n-1, path from keras3Paths, then the
// variables of the layer's sublayers in Keras's weight order (k3Children).
func (w *h5Weights) vars(name string) ([]weight, bool, error) {
	p, ok := w.paths[name]
	if !ok {
		return nil, false, fmt.Errorf("%w: %s: layer %q has no Keras 3 save path", ErrFormat, w.file, name)
	}
	if !w.f.Exists("layers/" + p) {
		return nil, false, nil
	}
	out, err := w.varsAt(name, "layers/"+p, "", 0)
	return out, true, err
}

// k3Children are the sublayers whose variables Keras 3 saves below a
// layer's group (saving_lib's _save_state walks a layer's attributes):
// a recurrent layer's cell, a Bidirectional's forward and backward layers,
// a TimeDistributed's layer, a MultiHeadAttention's projections. They are read in Keras's weight order
// (forward before backward), whatever the order in the file.
var k3Children = []string{"cell", "forward_layer", "backward_layer", "layer", "query_dense", "key_dense", "value_dense", "output_dense"}

// varsAt reads the vars group at g and those of its k3Children; sub is the
// path below the layer's group, for weight names.
func (w *h5Weights) varsAt(name, g, sub string, depth int) ([]weight, error) {
	if depth > 4 {
		return nil, fmt.Errorf("%w: %s: layer %q: sublayers nest too deep at %s", ErrFormat, w.file, name, g)
	}
	var out []weight
	if w.f.Exists(g + "/vars") {
		members, err := w.f.Members(g + "/vars")
		if err != nil {
			return nil, fmt.Errorf("keras: %s: layer %q: %w", w.file, name, err)
		}
		idx := make([]int, 0, len(members))
		for _, m := range members {
			i, err := strconv.Atoi(m)
			if err != nil || i < 0 || strconv.Itoa(i) != m {
				return nil, fmt.Errorf("%w: %s: layer %q: unexpected variable %q in %s/vars", ErrFormat, w.file, name, m, g)
			}
			idx = append(idx, i)
		}
		slices.Sort(idx)
		for want, i := range idx {
			if i != want {
				return nil, fmt.Errorf("%w: %s: layer %q: variables are not numbered 0..%d", ErrFormat, w.file, name, len(idx)-1)
			}
			p := g + "/vars/" + strconv.Itoa(i)
			wn := sub + "vars/" + strconv.Itoa(i)
			shape, data, isInt, err := w.f.NumericDataset(p)
			if err != nil {
				return nil, fmt.Errorf("keras: %s: layer %q: variable %s: %w", w.file, name, wn, err)
			}
			out = append(out, weight{name: wn, shape: shape, data: data, intErr: w.intErr(isInt, name, wn, p)})
		}
	}
	for _, c := range k3Children {
		if !w.f.Exists(g + "/" + c) {
			continue
		}
		ws, err := w.varsAt(name, g+"/"+c, sub+c+"/", depth+1)
		if err != nil {
			return nil, err
		}
		out = append(out, ws...)
	}
	return out, nil
}

// intErr returns the float-only refusal for an integer dataset at path, nil
// for a float one.
func (w *h5Weights) intErr(isInt bool, layer, weight, path string) error {
	if !isInt {
		return nil
	}
	return fmt.Errorf("keras: %s: layer %q: weight %q: %w", w.file, layer, weight, w.f.IntError(path))
}
