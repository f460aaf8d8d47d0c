package engine

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/xferml/xfer/internal/kernels"
	"github.com/xferml/xfer/model"
)

// Sentinel errors, for errors.Is.
var (
	// ErrInput reports inputs to Run that do not match the graph inputs.
	ErrInput = errors.New("engine: bad input")
)

// Session is a planned model ready to run. Create it with New.
type Session struct {
	mu       sync.Mutex
	name     string
	opset    int
	inputs   []inputSpec
	outNames []string
	outIDs   []int
	steps    []*step
	vals     []*model.Tensor // per value id; params/consts fixed, others set by Run
	fixed    []bool          // vals[id] is a param or const
	// arena recycles intermediate values' storage (arena.go); dies lists,
	// per step, the values read for the last time there.
	arena *arena
	dies  [][]int
}

type inputSpec struct {
	name  string
	dtype model.DType
	shape []int
	id    int
}

// step is one planned kernel call: a node (or a fused group of nodes) with
// its input and output value ids and its persistent output tensors, which are
// reused from run to run.
type step struct {
	node  *model.Node
	layer string
	opset int
	run   kernel
	ins   []int // value ids, -1 for an omitted optional input
	outs  []int // value ids, -1 for an unused optional output
	// types is the dtype shape inference gives each output (0 when
	// unknown); runStep relabels a kernel's output to it (see fitOutputs).
	types []model.DType
	in    []*model.Tensor
	out   []*model.Tensor
	// fused describes MatMul/Gemm + bias + activation groups (see fuse.go).
	fused *fusedDense
	// act is the activation fused into a Conv step (fuse_conv.go), or nil.
	act *kernels.Act
	// dw is the depthwise Conv fused into a 1x1 Conv step
	// (op_conv_expand.go), or nil.
	dw *expandDW
	// sum says a Conv step adds its input 3 (a residual connection's Add
	// fused in, fuse_conv.go) before act.
	sum bool
	// wino is a Conv's constant weight in Winograd form (fuse_conv.go), or
	// nil.
	wino []float32
	// winoPW is the same 16 matrices packed for kernels.Pointwise, one
	// after the other, in place of wino (fuse_conv.go), or nil.
	winoPW []float32
	// pw is a Conv's constant weight packed for kernels.Pointwise
	// (fuse_conv.go), or nil.
	pw []float32
	// scratch is a reusable float32 buffer for kernels that need one
	// (im2col); during Run, the session's one scratch buffer.
	scratch []float32
	// mem is the step's part of the session's memory plan (arena.go).
	mem stepMem
}

// kernel computes s.out from s.in. It sets each output's dtype and shape and
// fills its data, reusing the output's existing storage where it can (see
// setF32 / setI64), or points the output at an input's storage for ops that
// only reinterpret a shape (Reshape, Identity). It never writes to s.in.
// It writes every element of its outputs: their storage comes from the
// session's arena and holds another value's numbers (arena.go, PoisonEnv).
type kernel func(s *step) error

// New validates m, infers its shapes and plans its execution. The model is
// read, not copied: it must not change while the Session is used.
func New(m *model.Model) (*Session, error) {
	if m == nil {
		return nil, fmt.Errorf("engine: nil model")
	}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("engine: model %q: %w", m.Name, err)
	}
	shapes, err := m.InferShapes()
	if err != nil {
		return nil, fmt.Errorf("engine: model %q: %w", m.Name, err)
	}
	initThreads()
	opset := m.Opset
	if opset == 0 {
		opset = model.DefaultOpset
	}
	s := &Session{name: m.Name, opset: opset}
	ids := map[string]int{}
	var names []string // by value id
	define := func(name string, t *model.Tensor) int {
		id := len(s.vals)
		ids[name] = id
		names = append(names, name)
		s.vals = append(s.vals, t)
		s.fixed = append(s.fixed, t != nil)
		return id
	}
	for _, v := range m.Inputs {
		id := define(v.Name, nil)
		s.inputs = append(s.inputs, inputSpec{name: v.Name, dtype: v.DType, shape: slices.Clone(v.Shape), id: id})
	}
	var steps []*step
	for _, l := range m.Layers {
		for _, p := range l.Params {
			define(p.Name, &model.Tensor{Name: p.Name, DType: model.Float32, Shape: p.Shape, F32: p.Data})
		}
		for _, c := range l.Consts {
			define(c.Name, c)
		}
		for _, n := range l.Nodes {
			k, err := resolve(n, opset)
			if err != nil {
				return nil, fmt.Errorf("engine: model %q: layer %q: node %q: %w", m.Name, l.Name, n.Name, err)
			}
			st := &step{node: n, layer: l.Name, opset: opset, run: k}
			for _, in := range n.Inputs {
				if in == "" {
					st.ins = append(st.ins, -1)
					continue
				}
				st.ins = append(st.ins, ids[in]) // Validate guarantees it is defined
			}
			for _, out := range n.Outputs {
				var dt model.DType
				if v, ok := shapes[out]; ok && out != "" {
					dt = v.DType
				}
				st.types = append(st.types, dt)
				if out == "" {
					st.outs = append(st.outs, -1)
					continue
				}
				st.outs = append(st.outs, define(out, nil))
			}
			steps = append(steps, st)
		}
	}
	for _, o := range m.Outputs {
		s.outNames = append(s.outNames, o)
		s.outIDs = append(s.outIDs, ids[o])
	}
	if steps, err = s.foldConstants(steps); err != nil {
		return nil, fmt.Errorf("engine: model %q: %w", m.Name, err)
	}
	s.steps = fuse(steps, s, shapes)
	for _, st := range s.steps {
		st.in = make([]*model.Tensor, len(st.ins))
		st.out = make([]*model.Tensor, len(st.outs))
		for i := range st.out {
			st.out[i] = &model.Tensor{}
		}
	}
	s.planMemory(shapes, names)
	return s, nil
}

// Inputs returns the graph inputs the session expects (copies).
func (s *Session) Inputs() []*model.Value {
	vs := make([]*model.Value, len(s.inputs))
	for i, in := range s.inputs {
		vs[i] = &model.Value{Name: in.name, DType: in.dtype, Shape: slices.Clone(in.shape)}
	}
	return vs
}

// Outputs returns the names of the model outputs, in order.
func (s *Session) Outputs() []string { return slices.Clone(s.outNames) }

// Predict runs a model with one input and one output on x.
func (s *Session) Predict(x *model.Tensor) (*model.Tensor, error) {
	if len(s.inputs) != 1 || len(s.outNames) != 1 {
		return nil, fmt.Errorf("%w: model %q has %d inputs and %d outputs; Predict needs one of each, use Run", ErrInput, s.name, len(s.inputs), len(s.outNames))
	}
	outs, err := s.Run(map[string]*model.Tensor{s.inputs[0].name: x})
	if err != nil {
		return nil, err
	}
	return outs[s.outNames[0]], nil
}

// Run computes the model outputs for inputs keyed by graph input name. The
// returned tensors, keyed by output name, are fresh copies.
func (s *Session) Run(inputs map[string]*model.Tensor) (map[string]*model.Tensor, error) {
	if err := s.checkInputs(inputs); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	blasSingle()
	for _, in := range s.inputs {
		s.vals[in.id] = inputs[in.name]
	}
	defer s.release()
	batch := 0
	if len(s.inputs) > 0 && len(inputs[s.inputs[0].name].Shape) > 0 {
		batch = inputs[s.inputs[0].name].Shape[0]
	}
	for j, st := range s.steps {
		for i, id := range st.ins {
			if id < 0 {
				st.in[i] = nil
				continue
			}
			st.in[i] = s.vals[id]
		}
		s.arena.beforeStep(st, batch)
		if err := runStep(st); err != nil {
			return nil, fmt.Errorf("engine: layer %q: node %q (%s): %w", st.layer, st.node.Name, st.node.Op, err)
		}
		for i, id := range st.outs {
			if id >= 0 {
				s.vals[id] = st.out[i]
			}
		}
		s.arena.afterStep(s, j, st)
	}
	res := make(map[string]*model.Tensor, len(s.outNames))
	for i, name := range s.outNames {
		t := s.vals[s.outIDs[i]].Clone()
		t.Name = name
		res[name] = t
	}
	return res, nil
}

// release drops references to the caller's inputs so that the session does
// not keep them alive, and frees every intermediate value's storage.
func (s *Session) release() {
	s.arena.reset()
	for _, in := range s.inputs {
		s.vals[in.id] = nil
	}
	for _, st := range s.steps {
		clear(st.in)
	}
}

func (s *Session) checkInputs(inputs map[string]*model.Tensor) error {
	for _, in := range s.inputs {
		t, ok := inputs[in.name]
		if !ok || t == nil {
			return fmt.Errorf("%w: model %q: missing input %q (want %v %v)", ErrInput, s.name, in.name, in.dtype, in.shape)
		}
		if t.DType != in.dtype {
			return fmt.Errorf("%w: model %q: input %q has dtype %v, want %v", ErrInput, s.name, in.name, t.DType, in.dtype)
		}
		if len(t.Shape) != len(in.shape) {
			return fmt.Errorf("%w: model %q: input %q has shape %v, want rank %d %v (-1 is free)", ErrInput, s.name, in.name, t.Shape, len(in.shape), in.shape)
		}
		for i, d := range in.shape {
			if t.Shape[i] < 0 || (d >= 0 && t.Shape[i] != d) {
				return fmt.Errorf("%w: model %q: input %q has shape %v, want %v (-1 is free)", ErrInput, s.name, in.name, t.Shape, in.shape)
			}
		}
		n := model.NumElements(t.Shape)
		switch {
		case t.DType.IsFloat() && len(t.F32) != n, !t.DType.IsFloat() && len(t.I64) != n:
			return fmt.Errorf("%w: model %q: input %q: shape %v needs %d values, has %d", ErrInput, s.name, in.name, t.Shape, n, max(len(t.F32), len(t.I64)))
		}
	}
	if len(inputs) != len(s.inputs) {
		var extra []string
		for name := range inputs {
			if !slices.ContainsFunc(s.inputs, func(in inputSpec) bool { return in.name == name }) {
				extra = append(extra, fmt.Sprintf("%q", name))
			}
		}
		slices.Sort(extra)
		return fmt.Errorf("%w: model %q has no input %s (inputs: %s)", ErrInput, s.name, strings.Join(extra, ", "), s.inputNames())
	}
	return nil
}

func (s *Session) inputNames() string {
	names := make([]string, len(s.inputs))
	for i, in := range s.inputs {
		names[i] = fmt.Sprintf("%q", in.name)
	}
	return strings.Join(names, ", ")
}

// runStep runs one kernel. An output above the memory ceiling (allocNumel)
// comes back as its error; any other kernel panic (an engine bug on an
// input the checks did not foresee) becomes an error naming the node
// rather than crashing the caller.
func runStep(st *step) (err error) {
	defer func() {
		if r := recover(); r != nil {
			if tl, ok := r.(tooLarge); ok {
				err = tl.err
				return
			}
			err = fmt.Errorf("internal error (please report): %v", r)
		}
	}()
	if err := st.run(st); err != nil {
		return err
	}
	return st.fitOutputs()
}

// fitOutputs gives each output the dtype shape inference planned for it
// and fits its values to that dtype. Kernels compute in the storage of a
// dtype family (float32 for the float types, int64 for the integers and
// bool): an output of a narrow type (float16, int32, uint8, bool...) is
// fitted in place (model.Tensor.Fit: a uint8 Add wraps, a float16 Relu
// rounds) unless it is a view of an input, which is fitted already; one
// that came out with another dtype of the same family is relabelled. A
// kernel output of the other family is an engine bug.
func (st *step) fitOutputs() error {
	for i, o := range st.out {
		if i >= len(st.outs) || st.outs[i] < 0 {
			continue
		}
		dt := o.DType
		if i < len(st.types) && st.types[i] != 0 {
			dt = st.types[i]
		}
		if o.DType.IsFloat() != dt.IsFloat() {
			return fmt.Errorf("internal error (please report): output %d has dtype %v, shape inference says %v", i, o.DType, dt)
		}
		narrow := dt != model.Float32 && dt != model.Int64 && dt != model.Uint64 && dt != model.Float64
		if o.DType == dt && !narrow {
			continue
		}
		if st.aliases(o) {
			if o.DType == dt {
				continue // a view of a fitted input (Reshape of uint8)
			}
			// Never fit an input's (or a param's) storage in place.
			o.F32, o.I64 = slices.Clone(o.F32), slices.Clone(o.I64)
		}
		o.DType = dt
		o.Fit()
	}
	return nil
}

// aliases reports whether o shares storage with one of st's inputs.
func (st *step) aliases(o *model.Tensor) bool {
	for _, in := range st.in {
		switch {
		case in == nil:
		case len(o.F32) > 0 && len(in.F32) > 0 && &o.F32[0] == &in.F32[0]:
			return true
		case len(o.I64) > 0 && len(in.I64) > 0 && &o.I64[0] == &in.I64[0]:
			return true
		}
	}
	return false
}

// foldConstants runs, once, every step whose inputs are all params or
// consts (a Constant node, the Transpose of a Keras conv kernel, shape
// arithmetic on consts) and makes its outputs fixed values, so that Run
// does not repeat the work. It returns the remaining steps.
func (s *Session) foldConstants(steps []*step) ([]*step, error) {
	out := steps[:0]
	for _, st := range steps {
		fixed := true
		for _, id := range st.ins {
			if id >= 0 && !s.fixed[id] {
				fixed = false
				break
			}
		}
		if !fixed {
			out = append(out, st)
			continue
		}
		st.in = make([]*model.Tensor, len(st.ins))
		for i, id := range st.ins {
			if id >= 0 {
				st.in[i] = s.vals[id]
			}
		}
		st.out = make([]*model.Tensor, len(st.outs))
		for i := range st.out {
			st.out[i] = &model.Tensor{}
		}
		if err := runStep(st); err != nil {
			return nil, fmt.Errorf("layer %q: node %q (%s) on constant inputs: %w", st.layer, st.node.Name, st.node.Op, err)
		}
		for i, id := range st.outs {
			if id >= 0 {
				s.vals[id] = st.out[i]
				s.fixed[id] = true
			}
		}
	}
	return out, nil
}
