package engine

import (
	"fmt"
	"math"

	"github.com/xferml/xfer/internal/mathf"
	"github.com/xferml/xfer/model"
)

// unaryFn computes d[i] = f(x[i]); d and x have the same length and may be
// the same slice.
type unaryFn func(d, x []float32)

// ONNX Selu defaults (Klambauer et al. 2017, as float32 in the ONNX spec).
const (
	seluAlpha = 1.67326319217681884765625
	seluGamma = 1.05070102214813232421875
)

// unaryFor returns the element-wise function of a one-input float op with
// its attributes applied, following the ONNX spec's defaults.
func unaryFor(n *model.Node) (unaryFn, error) {
	switch n.Op {
	case "Identity":
		return func(d, x []float32) { copy(d, x) }, nil
	case "Relu":
		return func(d, x []float32) {
			for i, v := range x {
				d[i] = max(v, 0)
			}
		}, nil
	case "LeakyRelu":
		alpha := n.AttrFloat("alpha", 0.01)
		return func(d, x []float32) {
			for i, v := range x {
				if v < 0 {
					v *= alpha
				}
				d[i] = v
			}
		}, nil
	case "Elu":
		alpha := n.AttrFloat("alpha", 1)
		return func(d, x []float32) {
			for i, v := range x {
				if v < 0 {
					v = alpha * (mathf.Exp(v) - 1)
				}
				d[i] = v
			}
		}, nil
	case "Selu":
		alpha, gamma := n.AttrFloat("alpha", seluAlpha), n.AttrFloat("gamma", seluGamma)
		ag := alpha * gamma
		return func(d, x []float32) {
			for i, v := range x {
				if v <= 0 {
					d[i] = ag*mathf.Exp(v) - ag
				} else {
					d[i] = gamma * v
				}
			}
		}, nil
	case "Celu":
		alpha := n.AttrFloat("alpha", 1)
		return func(d, x []float32) {
			for i, v := range x {
				if v < 0 {
					v = alpha * (mathf.Exp(v/alpha) - 1)
				}
				d[i] = v
			}
		}, nil
	case "Sigmoid":
		return func(d, x []float32) {
			for i, v := range x {
				d[i] = mathf.Sigmoid(v)
			}
		}, nil
	case "HardSigmoid":
		alpha, beta := n.AttrFloat("alpha", 0.2), n.AttrFloat("beta", 0.5)
		return func(d, x []float32) {
			for i, v := range x {
				d[i] = min(max(alpha*v+beta, 0), 1)
			}
		}, nil
	case "HardSwish": // x * HardSigmoid(x) with alpha 1/6, beta 0.5
		return func(d, x []float32) {
			for i, v := range x {
				d[i] = v * min(max(v/6+0.5, 0), 1)
			}
		}, nil
	case "Tanh":
		return func(d, x []float32) {
			for i, v := range x {
				d[i] = mathf.Tanh(v)
			}
		}, nil
	case "Softplus":
		return f64(func(v float64) float64 {
			if v > 0 {
				return v + math.Log1p(math.Exp(-v))
			}
			return math.Log1p(math.Exp(v))
		}), nil
	case "Softsign":
		return func(d, x []float32) {
			for i, v := range x {
				d[i] = v / (1 + float32(math.Abs(float64(v))))
			}
		}, nil
	case "Gelu":
		switch approx := n.AttrString("approximate", "none"); approx {
		case "none":
			return f64(func(v float64) float64 { return 0.5 * v * (1 + math.Erf(v/math.Sqrt2)) }), nil
		case "tanh":
			c := math.Sqrt(2 / math.Pi)
			return f64(func(v float64) float64 { return 0.5 * v * (1 + math.Tanh(c*(v+0.044715*v*v*v))) }), nil
		default:
			return nil, fmt.Errorf("engine: %w: Gelu approximate %q (want none or tanh)", model.ErrUnsupported, approx)
		}
	case "Mish": // x * tanh(softplus(x))
		return f64(func(v float64) float64 { return v * math.Tanh(math.Log1p(math.Exp(v))) }), nil
	case "Erf":
		return f64(math.Erf), nil
	case "Exp":
		return func(d, x []float32) {
			for i, v := range x {
				d[i] = mathf.Exp(v)
			}
		}, nil
	case "Log":
		return f64(math.Log), nil
	case "Sqrt":
		return f64(math.Sqrt), nil
	case "Neg":
		return func(d, x []float32) {
			for i, v := range x {
				d[i] = -v
			}
		}, nil
	case "Abs":
		return f64(math.Abs), nil
	case "Reciprocal":
		return func(d, x []float32) {
			for i, v := range x {
				d[i] = 1 / v
			}
		}, nil
	case "ThresholdedRelu":
		alpha := n.AttrFloat("alpha", 1)
		return func(d, x []float32) {
			for i, v := range x {
				if v <= alpha {
					v = 0
				}
				d[i] = v
			}
		}, nil
	}
	return nil, fmt.Errorf("engine: %w: %s is not an element-wise op", model.ErrUnsupported, n.Op)
}

// f64 lifts a float64 function to a unaryFn.
func f64(f func(float64) float64) unaryFn {
	return func(d, x []float32) {
		for i, v := range x {
			d[i] = float32(f(float64(v)))
		}
	}
}

// unaryKernel runs a one-input element-wise op. Neg and Abs also take int64.
func unaryKernel(s *step) error {
	x, err := s.need(0)
	if err != nil {
		return err
	}
	if x.DType == model.Int64 {
		d := setI64(s.out[0], x.Shape)
		switch s.node.Op {
		case "Neg":
			for i, v := range x.I64 {
				d[i] = -v
			}
		case "Abs":
			for i, v := range x.I64 {
				d[i] = max(v, -v)
			}
		case "Identity":
			copy(d, x.I64)
		default:
			return fmt.Errorf("input has dtype int64, want float32")
		}
		return nil
	}
	f, err := unaryFor(s.node)
	if err != nil {
		return err
	}
	f(setF32(s.out[0], x.Shape), x.F32)
	return nil
}

// clipKernel6 is Clip before opset 11: min and max attributes.
func clipKernel6(s *step) error {
	x, err := s.needF32(0)
	if err != nil {
		return err
	}
	lo := s.node.AttrFloat("min", -math.MaxFloat32)
	hi := s.node.AttrFloat("max", math.MaxFloat32)
	clip(setF32(s.out[0], x.Shape), x.F32, lo, hi)
	return nil
}

// clipKernel11 is Clip from opset 11: optional min and max inputs (scalars).
func clipKernel11(s *step) error {
	x, err := s.need(0)
	if err != nil {
		return err
	}
	if x.DType == model.Int64 {
		lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
		if t := s.opt(1); t != nil && len(t.I64) == 1 {
			lo = t.I64[0]
		}
		if t := s.opt(2); t != nil && len(t.I64) == 1 {
			hi = t.I64[0]
		}
		d := setI64(s.out[0], x.Shape)
		for i, v := range x.I64 {
			d[i] = min(max(v, lo), hi)
		}
		return nil
	}
	lo, hi := float32(-math.MaxFloat32), float32(math.MaxFloat32)
	if t := s.opt(1); t != nil {
		if lo, err = scalarF32(t); err != nil {
			return fmt.Errorf("min: %w", err)
		}
	}
	if t := s.opt(2); t != nil {
		if hi, err = scalarF32(t); err != nil {
			return fmt.Errorf("max: %w", err)
		}
	}
	clip(setF32(s.out[0], x.Shape), x.F32, lo, hi)
	return nil
}

// clip is min(max(x, lo), hi), as ONNX defines it (hi wins when lo > hi).
func clip(d, x []float32, lo, hi float32) {
	for i, v := range x {
		d[i] = min(max(v, lo), hi)
	}
}
