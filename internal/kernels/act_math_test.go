package kernels

import (
	"math"
	"testing"
)

// TestMathOps checks the math rows against Go's math package at points
// computed by hand, and each derivative by central differences.
func TestMathOps(t *testing.T) {
	forward := []struct {
		op   string
		in   float64
		want float64
	}{
		{"Sin", math.Pi / 6, 0.5}, {"Cos", math.Pi / 3, 0.5}, {"Tan", math.Pi / 4, 1},
		{"Asin", 0.5, math.Pi / 6}, {"Acos", 0.5, math.Pi / 3}, {"Atan", 1, math.Pi / 4},
		{"Sinh", math.Log(2), 0.75}, {"Cosh", math.Log(2), 1.25}, {"Asinh", 0.75, math.Log(2)},
		{"Acosh", 1.25, math.Log(2)}, {"Atanh", 0.6, math.Log(2)},
		{"Floor", -1.5, -2}, {"Ceil", -1.5, -1}, {"Round", 2.5, 2}, {"Round", -0.5, 0}, {"Round", 1.5, 2}, {"Sign", -3, -1}, {"Sign", 0, 0},
	}
	for _, tt := range forward {
		y := []float64{0}
		ForwardGo(Act{Op: tt.op}, []float64{tt.in}, y)
		if math.Abs(y[0]-tt.want) > 1e-12 {
			t.Errorf("%s(%v) = %v; want %v", tt.op, tt.in, y[0], tt.want)
		}
	}
	for op := range mathOps {
		x := 0.3 // inside every domain (Acosh: 1.3)
		if op == "Acosh" {
			x = 1.3
		}
		const h = 1e-6
		y := []float64{0, 0}
		ForwardGo(Act{Op: op}, []float64{x + h, x - h}, y)
		num := (y[0] - y[1]) / (2 * h)
		if op == "Floor" || op == "Ceil" || op == "Round" || op == "Sign" {
			num = 0
		}
		dx := []float64{0}
		BackwardGo(Act{Op: op}, []float64{x}, []float64{0}, []float64{1}, dx)
		if math.Abs(dx[0]-num) > 1e-6 {
			t.Errorf("%s'(%v) = %v; central difference %v", op, x, dx[0], num)
		}
	}
}
