package kernels

import "math"

// The element-wise math ops of ONNX (Sin, Cos, Tan, their inverses and
// hyperbolic forms, Floor, Ceil, Round, Sign), computed in float64 and
// rounded once; Floor, Ceil, Round and Sign have zero gradient almost
// everywhere.

// mathF returns the forward loop of f.
func mathF[T Floats](f func(float64) float64) func(*Act, []T, []T) {
	return func(_ *Act, x, y []T) {
		for i, v := range x {
			y[i] = T(f(float64(v)))
		}
	}
}

// mathB returns the backward loop of a function whose derivative is d.
func mathB[T Floats](d func(float64) float64) func(*Act, []T, []T, []T, []T) {
	return func(_ *Act, x, _, g, dx []T) {
		for i, v := range x {
			dx[i] = g[i] * T(d(float64(v)))
		}
	}
}

func zeroGrad(float64) float64 { return 0 }

// roundEven is ONNX Round: to the nearest integer, halves to even.
func roundEven(v float64) float64 { return math.RoundToEven(v) }

// Sign is ONNX Sign: 1 above zero, -1 below, v itself otherwise (0, and
// for floats -0 and NaN as they are). The engine's integer Sign uses it too.
func Sign[T int64 | float64](v T) T {
	switch {
	case v > 0:
		return 1
	case v < 0:
		return -1
	}
	return v
}

// mathOps are the table rows of this file: forward and derivative.
var mathOps = map[string][2]func(float64) float64{
	"Sin":   {math.Sin, math.Cos},
	"Cos":   {math.Cos, func(v float64) float64 { return -math.Sin(v) }},
	"Tan":   {math.Tan, func(v float64) float64 { c := math.Cos(v); return 1 / (c * c) }},
	"Asin":  {math.Asin, func(v float64) float64 { return 1 / math.Sqrt(1-v*v) }},
	"Acos":  {math.Acos, func(v float64) float64 { return -1 / math.Sqrt(1-v*v) }},
	"Atan":  {math.Atan, func(v float64) float64 { return 1 / (1 + v*v) }},
	"Sinh":  {math.Sinh, math.Cosh},
	"Cosh":  {math.Cosh, math.Sinh},
	"Asinh": {math.Asinh, func(v float64) float64 { return 1 / math.Sqrt(v*v+1) }},
	"Acosh": {math.Acosh, func(v float64) float64 { return 1 / math.Sqrt(v*v-1) }},
	"Atanh": {math.Atanh, func(v float64) float64 { return 1 / (1 - v*v) }},
	"Floor": {math.Floor, zeroGrad},
	"Ceil":  {math.Ceil, zeroGrad},
	"Round": {roundEven, zeroGrad},
	"Sign":  {Sign[float64], zeroGrad},
}

// mathRow is the table row of math op op.
func mathRow(op string) act {
	f := mathOps[op]
	return act{plain(op), mathF[float32](f[0]), mathF[float64](f[0]), mathB[float32](f[1]), mathB[float64](f[1]), false}
}
