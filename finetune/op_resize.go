package finetune

import (
	"fmt"
	"slices"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/xferml/xfer/internal/kernels"
	"github.com/xferml/xfer/model"
)

// lowerResize lowers ONNX Resize (opsets 10, 11, 13) and Upsample (7, 9)
// with const scales or sizes: the engine's separable interpolation
// (kernels.ResizeWeights), forward one pass per resized axis and the
// gradient the same passes backward, each output's weights scattered to
// the inputs it read.
func lowerResize(lw *lowerer, _ *model.Layer, n *model.Node) (*G.Node, error) {
	x, err := lw.in(n, 0)
	if err != nil {
		return nil, err
	}
	opset := lw.m.Opset
	if opset == 0 {
		opset = model.DefaultOpset
	}
	version := 11
	switch {
	case n.Op == "Upsample" && opset < 9:
		version = 7
	case n.Op == "Upsample" || opset < 11:
		version = 10
	}
	mode := n.AttrString("mode", "nearest")
	coord, nearest := "asymmetric", "floor"
	if version >= 11 {
		coord = n.AttrString("coordinate_transformation_mode", "half_pixel")
		nearest = n.AttrString("nearest_mode", "round_prefer_floor")
	}
	floats := func(i int) ([]float32, error) {
		if len(n.Inputs) <= i || n.Inputs[i] == "" {
			return nil, nil
		}
		c, ok := lw.consts[n.Inputs[i]]
		if !ok || !c.DType.IsFloat() {
			return nil, fmt.Errorf("input %d %q is not a float const", i, n.Inputs[i])
		}
		return c.F32, nil
	}
	var scales, roi []float32
	var sizes []int64
	switch version {
	case 7:
		scales = n.AttrFloats("scales", nil)
	case 10:
		if scales, err = floats(1); err != nil {
			return nil, err
		}
	default:
		if roi, err = floats(1); err != nil {
			return nil, err
		}
		if scales, err = floats(2); err != nil {
			return nil, err
		}
		if len(n.Inputs) > 3 && n.Inputs[3] != "" {
			v, ok := lw.constInts(n.Inputs[3])
			if !ok {
				return nil, fmt.Errorf("sizes %q is not an int64 const", n.Inputs[3])
			}
			sizes = v
		}
	}
	xs := x.Shape()
	r := len(xs)
	out, scale, err := model.ResizeSizes(xs, scales, sizes)
	if err != nil {
		return nil, err
	}
	if out[0] != xs[0] {
		return nil, fmt.Errorf("resizing the batch axis is not supported")
	}
	if len(roi) > 0 && len(roi) != 2*r {
		return nil, fmt.Errorf("roi %v needs %d values for rank %d", roi, 2*r, r)
	}
	taps := map[string]int{"nearest": 2, "linear": 2, "cubic": 4}[mode]
	if taps == 0 {
		return nil, fmt.Errorf("%w: Resize mode %q (supported: nearest, linear, cubic)", model.ErrUnsupported, mode)
	}
	var passes []resizePass
	shape := slices.Clone([]int(xs))
	for ax := range r {
		if out[ax] == shape[ax] && scale[ax] == 1 && coord != "tf_crop_and_resize" {
			continue
		}
		var lo, hi float64
		if len(roi) > 0 {
			lo, hi = float64(roi[ax]), float64(roi[ax+r])
		}
		tw, err := kernels.ResizeWeights(shape[ax], out[ax], scale[ax], coord, mode, nearest, taps,
			float64(n.AttrFloat("cubic_coeff_a", -0.75)), n.AttrInt("exclude_outside", 0) != 0, lo, hi)
		if err != nil {
			return nil, err
		}
		passes = append(passes, resizePass{ax: ax, before: slices.Clone(shape), tw: tw, outerSize: model.NumElements(shape[:ax]), innerSize: model.NumElements(shape[ax+1:])})
		shape[ax] = out[ax]
	}
	if len(passes) == 0 {
		return x, nil
	}
	extrap := float64(n.AttrFloat("extrapolation_value", 0))
	dt := x.Dtype()
	op := newOp(n.Op, dt, tensor.Shape(out), 1)
	op.do = func(in []*tensor.Dense, o *tensor.Dense) error {
		if dt == tensor.Float64 {
			resizeForward(f64(in[0]), f64(o), passes, out, taps, extrap)
		} else {
			resizeForward(f32(in[0]), f32(o), passes, out, taps, extrap)
		}
		return nil
	}
	op.wrt = []bool{true}
	op.diff = func(in G.Nodes, _, grad *G.Node) (G.Nodes, error) {
		gop := newOp(n.Op+"Grad", dt, xs, 1)
		gop.do = func(in []*tensor.Dense, o *tensor.Dense) error {
			if dt == tensor.Float64 {
				resizeBackward(f64(in[0]), f64(o), passes, out, taps)
			} else {
				resizeBackward(f32(in[0]), f32(o), passes, out, taps)
			}
			return nil
		}
		d, err := gop.apply(grad)
		return G.Nodes{d}, err
	}
	return op.apply(x)
}

// resizePass is one resized axis: the shape it reads, its taps, and the
// sizes of the axes before and after it.
type resizePass struct {
	ax                   int
	before               []int
	tw                   kernels.ResizeTaps
	outerSize, innerSize int
}

func resizeForward[T floats](x, y []T, passes []resizePass, out []int, taps int, extrap float64) {
	cur := x
	for i, p := range passes {
		next := y
		if i < len(passes)-1 {
			after := slices.Clone(p.before)
			after[p.ax] = out[p.ax]
			next = make([]T, model.NumElements(after))
		}
		kernels.ResizeAxis(next, cur, p.outerSize, p.before[p.ax], out[p.ax], p.innerSize, p.tw, taps, T(extrap))
		cur = next
	}
}

func resizeBackward[T floats](g, dx []T, passes []resizePass, out []int, taps int) {
	cur := g
	for i := len(passes) - 1; i >= 0; i-- {
		p := passes[i]
		prev := dx
		if i > 0 {
			prev = make([]T, model.NumElements(p.before))
		}
		kernels.ResizeAxisGrad(prev, cur, p.outerSize, p.before[p.ax], out[p.ax], p.innerSize, p.tw, taps)
		cur = prev
	}
}
