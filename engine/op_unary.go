package engine

import (
	"fmt"
	"math"

	"github.com/xferml/xfer/internal/kernels"
	"github.com/xferml/xfer/model"
)

// unaryFn computes d[i] = f(x[i]); d and x have the same length and may be
// the same slice.
type unaryFn func(d, x []float32)

// unaryFor returns the element-wise function of a one-input float op with
// its attributes applied, following the ONNX spec's defaults: the
// activation table of internal/kernels, shared with training.
func unaryFor(n *model.Node) (unaryFn, error) {
	a, err := kernels.ActOf(n)
	if err != nil {
		return nil, fmt.Errorf("engine: %w: %v", model.ErrUnsupported, err)
	}
	return func(d, x []float32) { kernels.Forward(a, x, d) }, nil
}

// unaryKernel runs a one-input element-wise op. Neg, Abs and Sign also
// take integers (uint64 compared unsigned by Sign: never negative).
func unaryKernel(s *step) error {
	x, err := s.need(0)
	if err != nil {
		return err
	}
	if isInt(x) {
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
		case "Sign":
			for i, v := range x.I64 {
				d[i] = kernels.Sign(v)
				if x.DType == model.Uint64 && v != 0 {
					d[i] = 1 // a uint64 from 2^63 up is held negative
				}
			}
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
	if isInt(x) {
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
