package layers

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/xferml/xfer/model"
)

// RecurrentSpec is a Keras SimpleRNN, LSTM or GRU layer on batch-first
// data [batch, steps, features].
type RecurrentSpec struct {
	Common
	Kind       string // "SimpleRNN", "LSTM" or "GRU"
	InFeatures int
	Units      int
	// Activation and RecurrentActivation are activation names of this
	// package (KerasActivation applied); RecurrentActivation is unused by
	// SimpleRNN.
	Activation, RecurrentActivation string
	UseBias                         bool
	ReturnSequences, GoBackwards    bool
	// ResetAfter is GRU's reset_after: the reset gate applies after the
	// recurrent product, and the bias is [2, 3*units] (input, recurrent).
	ResetAfter bool
	// Kernel is [in, gates*units], Recurrent [units, gates*units], Bias
	// [gates*units] or, for GRU with ResetAfter, [2, 3*units]; Keras's gate
	// orders (LSTM i, f, c, o; GRU z, r, h). nil gives zeros.
	Kernel, Recurrent, Bias                           []float32
	KernelInitializer, RecurrentInitializer, BiasInit *model.Initializer
	// RolePrefix starts the weight names ("lstm_cell" gives
	// "lstm_cell/kernel"...), Keras's path of the cell inside the layer;
	// empty means the snake-case cell class.
	RolePrefix string
}

// gates is the number of gates of each recurrent kind.
var gates = map[string]int{"SimpleRNN": 1, "LSTM": 4, "GRU": 3}

// onnxRecurrent is the ONNX op of each kind.
var onnxRecurrent = map[string]string{"SimpleRNN": "RNN", "LSTM": "LSTM", "GRU": "GRU"}

// rnnActivations maps this package's activation names to ONNX's recurrent
// activation functions with their alpha and beta (nil when the function
// takes none): ONNX RNN/GRU/LSTM accept only these.
var rnnActivations = map[string]struct {
	name        string
	alpha, beta []float32
}{
	"tanh":                {"Tanh", nil, nil},
	"sigmoid":             {"Sigmoid", nil, nil},
	"relu":                {"Relu", nil, nil},
	"linear":              {"Affine", []float32{1}, []float32{0}},
	"softsign":            {"Softsign", nil, nil},
	"softplus":            {"Softplus", nil, nil},
	"elu":                 {"Elu", []float32{1}, nil},
	"hard_sigmoid":        {"HardSigmoid", []float32{0.2}, []float32{0.5}},
	"keras3.hard_sigmoid": {"HardSigmoid", []float32{1.0 / 6}, []float32{0.5}},
}

// Recurrent returns a SimpleRNN, LSTM or GRU layer as one ONNX RNN, LSTM
// or GRU node (layout 0) between Transposes to and from time-major. See
// recurrentOps for the weights.
func Recurrent(s RecurrentSpec) (*model.Layer, error) {
	b, err := s.builder(s.Kind, 1)
	if err != nil {
		return nil, err
	}
	y, err := recurrentOps(b, s.Inputs[0], []RecurrentSpec{s}, "")
	if err != nil {
		return nil, err
	}
	return s.done(b, y), nil
}

// recurrentOps appends the nodes of one or two (bidirectional) recurrent
// layers reading x [batch, steps, features] and returns the layer output.
//
// Params keep Keras's layout; the nodes make ONNX's: W [dirs, G*u, in] is
// the kernel transposed, R [dirs, G*u, u] the recurrent kernel transposed,
// LSTM's gates reordered from Keras's i, f, c, o to ONNX's i, o, f, c (GRU's
// z, r, h and the single RNN gate agree), B [dirs, 2*G*u] the bias followed
// by zeros for the recurrent bias, or, for GRU with reset_after, Keras's
// [2, 3u] (input bias, recurrent bias) as it is, with
// linear_before_reset = 1 (Keras's reset_after equations). Keras's
// h = z*h_prev + (1-z)*hh is ONNX's GRU update. The engine folds these
// constant nodes once.
func recurrentOps(b *builder, x string, specs []RecurrentSpec, merge string) (string, error) {
	s := specs[0]
	g, ok := gates[s.Kind]
	if !ok {
		return "", fmt.Errorf("layers: layer %q: %q is not a recurrent kind (SimpleRNN, LSTM, GRU)", b.layer.Name, s.Kind)
	}
	if s.Units <= 0 || s.InFeatures <= 0 {
		return "", fmt.Errorf("layers: layer %q: %s needs positive units and input features, got %d and %d", b.layer.Name, s.Kind, s.Units, s.InFeatures)
	}
	u, in := s.Units, s.InFeatures
	var ws, rs, bs []string
	var acts []string
	var alphas, betas []float32
	for di, d := range specs {
		prefix := d.RolePrefix
		if prefix == "" {
			prefix = snakeCell(d.Kind)
		}
		role := func(w string) string { return prefix + "/" + w }
		k, err := b.param(role("kernel"), []int{in, g * u}, d.Kernel, orInit(d.KernelInitializer, "glorot_uniform"), false)
		if err != nil {
			return "", err
		}
		rk, err := b.param(role("recurrent_kernel"), []int{u, g * u}, d.Recurrent, orInit(d.RecurrentInitializer, "orthogonal"), false)
		if err != nil {
			return "", err
		}
		tag := fmt.Sprintf("d%d", di)
		ws = append(ws, gateMatrix(b, k, d.Kind, g, u, in, tag+"_w"))
		rs = append(rs, gateMatrix(b, rk, d.Kind, g, u, u, tag+"_r"))
		if d.UseBias {
			shape := []int{g * u}
			if d.Kind == "GRU" && d.ResetAfter {
				shape = []int{2, g * u}
			}
			bias, err := b.param(role("bias"), shape, d.Bias, orInit(d.BiasInit, "zeros"), false)
			if err != nil {
				return "", err
			}
			bs = append(bs, gateBias(b, bias, d, g, u, tag))
		}
		// ONNX's activation list per direction: LSTM f, g, h; GRU f, g;
		// RNN f (f the gates', g the candidate's, h the output's).
		names := map[string][]string{
			"SimpleRNN": {d.Activation},
			"GRU":       {d.RecurrentActivation, d.Activation},
			"LSTM":      {d.RecurrentActivation, d.Activation, d.Activation},
		}[d.Kind]
		for _, a := range names {
			f, ok := rnnActivations[strings.ToLower(a)]
			if !ok {
				return "", fmt.Errorf("layers: %w: layer %q: activation %q has no ONNX %s form (supported: tanh, sigmoid, relu, linear, softsign, softplus, elu, hard_sigmoid)", model.ErrUnsupported, b.layer.Name, a, onnxRecurrent[d.Kind])
			}
			acts = append(acts, f.name)
			alphas, betas = append(alphas, f.alpha...), append(betas, f.beta...)
		}
	}
	cat := func(vs []string) string {
		if len(vs) == 1 {
			return vs[0]
		}
		return b.node("Concat", vs, map[string]model.Attr{"axis": model.Int(0)})
	}
	dir := "forward"
	switch {
	case len(specs) == 2:
		dir = "bidirectional"
	case s.GoBackwards:
		dir = "reverse"
	}
	attrs := map[string]model.Attr{
		"hidden_size": model.Int(int64(u)),
		"direction":   model.String(dir),
	}
	// ONNX's defaults (RNN Tanh; GRU Sigmoid, Tanh; LSTM Sigmoid, Tanh, Tanh)
	// are Keras's; other activations are spelled out.
	def := map[string][]string{"SimpleRNN": {"Tanh"}, "GRU": {"Sigmoid", "Tanh"}, "LSTM": {"Sigmoid", "Tanh", "Tanh"}}[s.Kind]
	if !slices.Equal(acts, slices.Repeat(def, len(specs))) {
		attrs["activations"] = model.Strings(acts...)
	}
	if len(alphas) > 0 {
		attrs["activation_alpha"] = model.Floats(alphas...)
	}
	if len(betas) > 0 {
		attrs["activation_beta"] = model.Floats(betas...)
	}
	if s.Kind == "GRU" && s.ResetAfter {
		attrs["linear_before_reset"] = model.Int(1)
	}
	ins := []string{b.node("Transpose", []string{x}, map[string]model.Attr{"perm": model.Ints(1, 0, 2)}), cat(ws), cat(rs)}
	if len(bs) > 0 {
		ins = append(ins, cat(bs))
	}
	outs := b.nodeOuts(onnxRecurrent[s.Kind], ins, attrs, 2)
	ySeq, yLast := outs[0], outs[1]
	if !s.ReturnSequences {
		// Y_h [dirs, batch, u].
		if len(specs) == 1 {
			return b.node("Squeeze", []string{yLast, b.constInts("squeeze_axes", 0)}, nil), nil
		}
		return b.mergeDirections(b.node("Transpose", []string{yLast}, map[string]model.Attr{"perm": model.Ints(1, 0, 2)}), 1, u, merge), nil
	}
	// Y [steps, dirs, batch, u].
	if len(specs) == 2 {
		return b.mergeDirections(b.node("Transpose", []string{ySeq}, map[string]model.Attr{"perm": model.Ints(2, 0, 1, 3)}), 2, u, merge), nil
	}
	y := b.node("Squeeze", []string{ySeq, b.constInts("squeeze_axes", 1)}, nil)
	if s.GoBackwards {
		// Keras returns go_backwards outputs in processing (reversed) order;
		// ONNX's reverse direction gives them in time order.
		y = b.node("Slice", []string{y, b.constInts("rev_starts", -1), b.constInts("rev_ends", math.MinInt64),
			b.constInts("rev_axes", 0), b.constInts("rev_steps", -1)}, nil)
	}
	return b.node("Transpose", []string{y}, map[string]model.Attr{"perm": model.Ints(1, 0, 2)}), nil
}

// gateMatrix turns a Keras kernel [rows, G*u] into ONNX's [1, G*u, rows]
// (LSTM gates reordered i, f, c, o -> i, o, f, c).
func gateMatrix(b *builder, k, kind string, g, u, rows int, tag string) string {
	t := b.node("Transpose", []string{k}, map[string]model.Attr{"perm": model.Ints(1, 0)})
	if kind == "LSTM" {
		t = b.node("Reshape", []string{t, b.constInts(tag+"_gates", int64(g), int64(u), int64(rows))}, nil)
		t = b.node("Gather", []string{t, b.constInts("lstm_gate_order", 0, 3, 1, 2)}, map[string]model.Attr{"axis": model.Int(0)})
	}
	return b.node("Reshape", []string{t, b.constInts(tag+"_shape", 1, int64(g*u), int64(rows))}, nil)
}

// gateBias turns a Keras bias into ONNX's B [1, 2*G*u].
func gateBias(b *builder, bias string, d RecurrentSpec, g, u int, tag string) string {
	if d.Kind == "GRU" && d.ResetAfter {
		return b.node("Reshape", []string{bias, b.constInts(tag+"_b_shape", 1, int64(2*g*u))}, nil)
	}
	wb := bias
	if d.Kind == "LSTM" {
		wb = b.node("Reshape", []string{bias, b.constInts(tag+"_b_gates", int64(g), int64(u))}, nil)
		wb = b.node("Gather", []string{wb, b.constInts("lstm_gate_order", 0, 3, 1, 2)}, map[string]model.Attr{"axis": model.Int(0)})
		wb = b.node("Reshape", []string{wb, b.constInts(tag+"_b_flat", int64(g*u))}, nil)
	}
	zeros := b.constFloats(fmt.Sprintf("zero_bias_%d", g*u), []int{g * u}, make([]float32, g*u))
	cat := b.node("Concat", []string{wb, zeros}, map[string]model.Attr{"axis": model.Int(0)})
	return b.node("Reshape", []string{cat, b.constInts(tag+"_b_shape", 1, int64(2*g*u))}, nil)
}

// snakeCell is the Keras name of a kind's cell: "lstm_cell", "gru_cell",
// "simple_rnn_cell".
func snakeCell(kind string) string {
	return map[string]string{"SimpleRNN": "simple_rnn_cell", "LSTM": "lstm_cell", "GRU": "gru_cell"}[kind]
}

// readRecurrent reads SimpleRNN, LSTM or GRU: weights kernel [in, G*u],
// recurrent_kernel [u, G*u], bias [G*u] (GRU with reset_after [2, 3u]).
func readRecurrent(kind string) kerasReader {
	return func(c *kctx) (*model.Layer, []int, error) {
		in, err := c.inShape(0, 3)
		if err != nil {
			return nil, nil, err
		}
		s, err := c.recurrentSpec(kind, in, "")
		if err != nil {
			return nil, nil, err
		}
		l, err := Recurrent(s)
		if err != nil {
			return nil, nil, err
		}
		return l, recurrentOut(in, s.Units, s.ReturnSequences), nil
	}
}

func recurrentOut(in []int, units int, seq bool) []int {
	if seq {
		return []int{-1, in[1], units}
	}
	return []int{-1, units}
}

// recurrentSpec reads the config of a recurrent layer (c's entry) for
// input shape in, taking its three weights; rolePrefix names the cell
// inside the layer ("forward_lstm/lstm_cell" in a Bidirectional), empty
// for the kind's cell name.
func (c *kctx) recurrentSpec(kind string, in []int, rolePrefix string) (RecurrentSpec, error) {
	s := RecurrentSpec{Common: c.common(), Kind: kind, InFeatures: in[2], RolePrefix: rolePrefix}
	var err error
	for _, key := range []string{"return_state", "stateful", "time_major"} {
		on, err := c.bool(key, false)
		if err != nil {
			return s, err
		}
		if on {
			return s, fmt.Errorf("keras: %w: layer %q (%s): %s=True is not supported (save the model with %s=False)", model.ErrUnsupported, c.Name, c.Class, key, key)
		}
	}
	if s.Units, err = c.int("units", 0); err != nil {
		return s, err
	}
	if s.Units <= 0 || s.Units > 1<<20 || in[2] <= 0 {
		return s, c.errf("units", "units %d and input features %d must be positive", s.Units, in[2])
	}
	if s.Activation, err = c.activation("activation"); err != nil {
		return s, err
	}
	if kind != "SimpleRNN" {
		// Keras's default since 2.3 (Keras 2.2 said hard_sigmoid, and wrote
		// it into every config).
		s.RecurrentActivation = "sigmoid"
		if c.has("recurrent_activation") {
			if s.RecurrentActivation, err = c.activation("recurrent_activation"); err != nil {
				return s, err
			}
		}
	}
	if s.UseBias, err = c.bool("use_bias", true); err != nil {
		return s, err
	}
	if s.ReturnSequences, err = c.bool("return_sequences", false); err != nil {
		return s, err
	}
	if s.GoBackwards, err = c.bool("go_backwards", false); err != nil {
		return s, err
	}
	if kind == "GRU" {
		if s.ResetAfter, err = c.bool("reset_after", true); err != nil {
			return s, err
		}
	}
	for key, dst := range map[string]**model.Initializer{
		"kernel_initializer": &s.KernelInitializer, "recurrent_initializer": &s.RecurrentInitializer, "bias_initializer": &s.BiasInit,
	} {
		if *dst, err = c.init(key); err != nil {
			return s, err
		}
	}
	g := map[string]int{"SimpleRNN": 1, "LSTM": 4, "GRU": 3}[kind]
	if s.Kernel, _, err = c.take("kernel", []int{in[2], g * s.Units}); err != nil {
		return s, err
	}
	if s.Recurrent, _, err = c.take("recurrent_kernel", []int{s.Units, g * s.Units}); err != nil {
		return s, err
	}
	if s.UseBias {
		shape := []int{g * s.Units}
		if kind == "GRU" && s.ResetAfter {
			shape = []int{2, g * s.Units}
		}
		if s.Bias, _, err = c.take("bias", shape); err != nil {
			return s, err
		}
	}
	return s, nil
}
