package kernels

import (
	"fmt"
	"math"
	"testing"
)

// TestExp compares the float32 exp kernel with math.Exp over its range
// (moved from engine's TestExpf).
func TestExp(t *testing.T) {
	worst := 0.0
	for x := float32(-87); x < 88; x += 0.0137 {
		got, want := float64(Exp(x)), math.Exp(float64(x))
		worst = max(worst, math.Abs(got-want)/want)
	}
	// 2 ulp of float32 is about 2.4e-7.
	if worst > 2.4e-7 {
		t.Errorf("Exp relative error up to %g; want <= 2.4e-7", worst)
	}
}

// TestExpNeg compares the fast exponential with math.Exp on [-87, 0] (moved
// from finetune's TestExpNeg), and with Exp bit for bit: the two compute
// the same floor and the same polynomial there.
func TestExpNeg(t *testing.T) {
	for x := float32(-87); x <= 0; x += 0.0137 {
		want := math.Exp(float64(x))
		if got := float64(ExpNeg(x)); math.Abs(got-want) > 2e-7*want {
			t.Fatalf("ExpNeg(%v) = %v; math.Exp gives %v", x, got, want)
		}
		if got := float64(Exp(x)); math.Abs(got-want) > 2e-7*want {
			t.Fatalf("Exp(%v) = %v; math.Exp gives %v", x, got, want)
		}
		if a, b := ExpNeg(x), Exp(x); math.Float32bits(a) != math.Float32bits(b) {
			t.Fatalf("ExpNeg(%v) = %v; Exp gives %v", x, a, b)
		}
	}
}

func TestExpSpecial(t *testing.T) {
	inf := float32(math.Inf(1))
	cases := []struct {
		x, want float32
	}{
		{0, 1},
		{89, inf}, // above ln(MaxFloat32)
		{inf, inf},
		{-104, 0}, // below the smallest denormal
		{float32(math.Inf(-1)), 0},
		{-100, float32(math.Exp(-100))}, // a denormal result, scaled in two steps
	}
	for _, tc := range cases {
		if got := Exp(tc.x); got != tc.want {
			t.Errorf("Exp(%v) = %v; want %v", tc.x, got, tc.want)
		}
	}
	if got := Exp(float32(math.NaN())); got == got {
		t.Errorf("Exp(NaN) = %v; want NaN", got)
	}
}

func TestTanh(t *testing.T) {
	worst := 0.0
	for x := float32(-10); x < 10; x += 0.0071 {
		got, want := float64(Tanh(x)), math.Tanh(float64(x))
		worst = max(worst, math.Abs(got-want)/max(math.Abs(want), 1e-30))
	}
	// A few ulp of float32 (1 ulp is 6e-8 to 1.2e-7 relative).
	if worst > 4e-7 {
		t.Errorf("Tanh relative error up to %g; want <= 4e-7", worst)
	}
	for _, tc := range []struct{ x, want float32 }{{0, 0}, {9.5, 1}, {-9.5, -1}, {float32(math.Inf(1)), 1}} {
		if got := Tanh(tc.x); got != tc.want {
			t.Errorf("Tanh(%v) = %v; want %v", tc.x, got, tc.want)
		}
	}
	if got := Tanh(float32(math.NaN())); got == got {
		t.Errorf("Tanh(NaN) = %v; want NaN", got)
	}
}

func TestSigmoid(t *testing.T) {
	worst := 0.0
	for x := float32(-80); x < 80; x += 0.0173 {
		got, want := float64(Sigmoid(x)), 1/(1+math.Exp(-float64(x)))
		worst = max(worst, math.Abs(got-want)/want)
	}
	if worst > 4e-7 {
		t.Errorf("Sigmoid relative error up to %g; want <= 4e-7", worst)
	}
	for _, tc := range []struct{ x, want float32 }{{0, 0.5}, {100, 1}, {-200, 0}} {
		if got := Sigmoid(tc.x); got != tc.want {
			t.Errorf("Sigmoid(%v) = %v; want %v", tc.x, got, tc.want)
		}
	}
}

func ExampleExp() {
	fmt.Println(Exp(1), Exp(0), Exp(-200))
	// Output: 2.7182817 1 0
}

var sink float32

func BenchmarkExp(b *testing.B) {
	for _, bc := range []struct {
		name string
		f    func(float32) float32
	}{{"Exp", Exp}, {"ExpNeg", ExpNeg}, {"Tanh", Tanh}, {"Sigmoid", Sigmoid}} {
		b.Run(bc.name, func(b *testing.B) {
			xs := make([]float32, 1024)
			for i := range xs {
				xs[i] = -float32(i) * 80 / 1024 // [-80, 0]: inside every kernel's range
			}
			s := float32(0)
			for b.Loop() {
				for _, x := range xs {
					s += bc.f(x)
				}
			}
			sink = s
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(xs)), "ns/value")
		})
	}
}
