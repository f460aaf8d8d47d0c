package initializers

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand"
	"slices"
	"strings"
	"testing"

	"github.com/xferml/xfer/model"
	"gonum.org/v1/gonum/mat"
)

func moments(v []float32) (mean, variance float64) {
	for _, x := range v {
		mean += float64(x)
	}
	mean /= float64(len(v))
	for _, x := range v {
		d := float64(x) - mean
		variance += d * d
	}
	return mean, variance / float64(len(v))
}

func bounds(v []float32) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, x := range v {
		lo = math.Min(lo, float64(x))
		hi = math.Max(hi, float64(x))
	}
	return lo, hi
}

func TestFans(t *testing.T) {
	// Expected values follow keras/src/initializers/random_initializers.py compute_fans.
	tests := []struct {
		shape       []int
		fanIn, fout int
	}{
		{nil, 1, 1},
		{[]int{7}, 7, 7},
		{[]int{784, 300}, 784, 300},
		{[]int{3, 16, 32}, 48, 96},      // Conv1D [k, in, out]
		{[]int{3, 3, 16, 32}, 144, 288}, // Conv2D [kh, kw, in, out]
		{[]int{2, 3, 3, 4, 5}, 72, 90},  // Conv3D
	}
	for _, tt := range tests {
		in, out := Fans(tt.shape)
		if in != tt.fanIn || out != tt.fout {
			t.Errorf("Fans(%v) = %d, %d; want %d, %d", tt.shape, in, out, tt.fanIn, tt.fout)
		}
	}
}

// TestDistributions checks bounds and moments of each random initializer
// against the Keras formulas in doc.go. Tolerances: with n >= 20,000 draws
// the sample variance of these distributions is within ~2% of the true one
// with overwhelming probability; we allow 6%.
func TestDistributions(t *testing.T) {
	type want struct {
		mean, variance float64
		lo, hi         float64 // every value must lie in [lo, hi]
		reachBeyond    float64 // if > 0, some |value-mean| must exceed this (untruncated)
	}
	glorotLimit := math.Sqrt(6.0 / (300 + 100))
	heStd := math.Sqrt(2.0/144) / truncStd // he_normal on [3,3,16,32]: fan_in 144
	lecunStd := math.Sqrt(1.0/200) / truncStd
	glorotNStd := math.Sqrt(2.0/(200+100)) / truncStd
	tests := []struct {
		name   string
		config string
		shape  []int
		want   want
	}{
		{"glorot_uniform", "", []int{300, 100}, want{0, glorotLimit * glorotLimit / 3, -glorotLimit, glorotLimit, 0}},
		{"GlorotUniform", `{"seed": null}`, []int{300, 100}, want{0, glorotLimit * glorotLimit / 3, -glorotLimit, glorotLimit, 0}},
		{"glorot_normal", "", []int{200, 100}, want{0, 2.0 / 300, -2 * glorotNStd, 2 * glorotNStd, 0}},
		{"he_uniform", "", []int{3, 3, 16, 32}, want{0, 2.0 / 144, -math.Sqrt(6.0 / 144), math.Sqrt(6.0 / 144), 0}},
		{"he_normal", `{"seed": 42}`, []int{3, 3, 16, 32}, want{0, 2.0 / 144, -2 * heStd, 2 * heStd, 0}},
		{"lecun_uniform", "", []int{200, 120}, want{0, 1.0 / 200, -math.Sqrt(3.0 / 200), math.Sqrt(3.0 / 200), 0}},
		{"lecun_normal", "", []int{200, 120}, want{0, 1.0 / 200, -2 * lecunStd, 2 * lecunStd, 0}},
		{"variance_scaling", `{"scale": 3, "mode": "fan_out", "distribution": "untruncated_normal"}`, []int{100, 250},
			want{0, 3.0 / 250, math.Inf(-1), math.Inf(1), 2 * math.Sqrt(3.0/250)}},
		{"variance_scaling", `{"scale": 0.5, "mode": "fan_avg", "distribution": "uniform"}`, []int{100, 300},
			want{0, 0.5 / 200, -math.Sqrt(1.5 / 200), math.Sqrt(1.5 / 200), 0}},
		{"variance_scaling", `{"scale": 2, "mode": "fan_in", "distribution": "normal"}`, []int{100, 300},
			want{0, 2.0 / 100, -2 * math.Sqrt(0.02) / truncStd, 2 * math.Sqrt(0.02) / truncStd, 0}},
		{"variance_scaling", "", []int{100, 300}, // defaults: scale 1, fan_in, truncated_normal
			want{0, 1.0 / 100, -2 * 0.1 / truncStd, 2 * 0.1 / truncStd, 0}},
		{"random_normal", "", []int{200, 100}, want{0, 0.05 * 0.05, math.Inf(-1), math.Inf(1), 0.1}},
		{"random_normal", `{"mean": 1, "stddev": 0.5, "seed": null}`, []int{200, 100}, want{1, 0.25, math.Inf(-1), math.Inf(1), 1}},
		{"random_uniform", "", []int{200, 100}, want{0, 0.1 * 0.1 / 12, -0.05, 0.05, 0}},
		{"random_uniform", `{"minval": 2, "maxval": 5}`, []int{200, 100}, want{3.5, 9.0 / 12, 2, 5, 0}},
		// truncated N(0, s^2) at 2s has variance (0.8796 s)^2.
		{"truncated_normal", "", []int{200, 100}, want{0, math.Pow(truncStd*0.05, 2), -0.1, 0.1, 0}},
		{"truncated_normal", `{"mean": -1, "stddev": 2}`, []int{200, 100}, want{-1, math.Pow(truncStd*2, 2), -5, 3, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name+tt.config, func(t *testing.T) {
			init := &model.Initializer{Name: tt.name, Config: json.RawMessage(tt.config)}
			v, err := Draw(init, tt.shape, rand.New(rand.NewSource(1)))
			if err != nil {
				t.Fatalf("Draw(%s, %v) error: %v", tt.name, tt.shape, err)
			}
			if len(v) != model.NumElements(tt.shape) {
				t.Fatalf("Draw(%s, %v) gave %d values; want %d", tt.name, tt.shape, len(v), model.NumElements(tt.shape))
			}
			lo, hi := bounds(v)
			// float32 rounding of a value at the bound may cross it by an ulp.
			if lo < tt.want.lo-1e-7 || hi > tt.want.hi+1e-7 {
				t.Errorf("Draw(%s, %v) range [%g, %g]; want within [%g, %g]", tt.name, tt.shape, lo, hi, tt.want.lo, tt.want.hi)
			}
			mean, variance := moments(v)
			sd := math.Sqrt(tt.want.variance)
			if math.Abs(mean-tt.want.mean) > 0.05*sd {
				t.Errorf("Draw(%s, %v) mean = %g; want %g", tt.name, tt.shape, mean, tt.want.mean)
			}
			if math.Abs(variance/tt.want.variance-1) > 0.06 {
				t.Errorf("Draw(%s, %v) variance = %g; want %g", tt.name, tt.shape, variance, tt.want.variance)
			}
			if tt.want.reachBeyond > 0 && math.Max(hi-tt.want.mean, tt.want.mean-lo) <= tt.want.reachBeyond {
				t.Errorf("Draw(%s, %v) range [%g, %g] never leaves mean±%g; want an untruncated normal", tt.name, tt.shape, lo, hi, tt.want.reachBeyond)
			}
		})
	}
}

func TestConstants(t *testing.T) {
	tests := []struct {
		name, config string
		shape        []int
		want         []float32
	}{
		{"zeros", "", []int{2, 2}, []float32{0, 0, 0, 0}},
		{"Zeros", "{}", []int{3}, []float32{0, 0, 0}},
		{"ones", "", []int{3}, []float32{1, 1, 1}},
		{"constant", "", []int{2}, []float32{0, 0}},
		{"constant", `{"value": 0.25}`, []int{1, 3}, []float32{0.25, 0.25, 0.25}},
		{"constant", `{"value": [[1, 2], [3, 4]]}`, []int{2, 2}, []float32{1, 2, 3, 4}},
		{"identity", "", []int{2, 3}, []float32{1, 0, 0, 0, 1, 0}},
		{"identity", `{"gain": 2.5}`, []int{3, 2}, []float32{2.5, 0, 0, 2.5, 0, 0}},
		{"IdentityInitializer", `{"gain": 1}`, []int{2, 2}, []float32{1, 0, 0, 1}}, // Keras 3 class name
		{"zeros", "", []int{0, 4}, []float32{}},
	}
	for _, tt := range tests {
		got, err := Draw(&model.Initializer{Name: tt.name, Config: json.RawMessage(tt.config)}, tt.shape, rand.New(rand.NewSource(1)))
		if err != nil {
			t.Errorf("Draw(%s %s, %v) error: %v", tt.name, tt.config, tt.shape, err)
			continue
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("Draw(%s %s, %v) = %v; want %v", tt.name, tt.config, tt.shape, got, tt.want)
		}
	}
}

func TestOrthogonal(t *testing.T) {
	tests := []struct {
		config string
		shape  []int
		gain   float64
	}{
		{"", []int{50, 20}, 1},
		{"", []int{20, 50}, 1},
		{`{"gain": 2}`, []int{30, 30}, 2},
		{"", []int{3, 3, 4, 8}, 1}, // flattened to [36, 8]
	}
	names := []string{"orthogonal", "Orthogonal", "OrthogonalInitializer", "orthogonal"}
	for i, tt := range tests {
		v, err := Draw(&model.Initializer{Name: names[i], Config: json.RawMessage(tt.config)}, tt.shape, rand.New(rand.NewSource(7)))
		if err != nil {
			t.Fatalf("Draw(orthogonal %s, %v) error: %v", tt.config, tt.shape, err)
		}
		cols := tt.shape[len(tt.shape)-1]
		rows := len(v) / cols
		d := make([]float64, len(v))
		for i, x := range v {
			d[i] = float64(x)
		}
		a := mat.NewDense(rows, cols, d)
		// The smaller side is orthonormal (times gain^2): A^T A = g^2 I when
		// rows >= cols, A A^T = g^2 I otherwise.
		var p mat.Dense
		if rows >= cols {
			p.Mul(a.T(), a)
		} else {
			p.Mul(a, a.T())
		}
		k, _ := p.Dims()
		for i := range k {
			for j := range k {
				want := 0.0
				if i == j {
					want = tt.gain * tt.gain
				}
				if got := p.At(i, j); math.Abs(got-want) > 1e-5 {
					t.Fatalf("Draw(orthogonal %s, %v): Gram[%d][%d] = %g; want %g", tt.config, tt.shape, i, j, got, want)
				}
			}
		}
	}
}

func TestReproducible(t *testing.T) {
	for _, name := range Names() {
		shape := []int{6, 5}
		a, err := Draw(&model.Initializer{Name: name}, shape, rand.New(rand.NewSource(99)))
		if err != nil {
			t.Fatalf("Draw(%s) error: %v", name, err)
		}
		b, _ := Draw(&model.Initializer{Name: name}, shape, rand.New(rand.NewSource(99)))
		if !slices.Equal(a, b) {
			t.Errorf("Draw(%s) with seed 99 twice differs: %v vs %v", name, a, b)
		}
		c, _ := Draw(&model.Initializer{Name: name}, shape, rand.New(rand.NewSource(100)))
		random := !slices.Contains([]string{"zeros", "ones", "constant", "identity"}, name)
		if random == slices.Equal(a, c) {
			t.Errorf("Draw(%s) with seeds 99 and 100: equal = %v; want %v", name, slices.Equal(a, c), !random)
		}
	}
}

func TestSeedIgnored(t *testing.T) {
	a, _ := Draw(&model.Initializer{Name: "glorot_uniform", Config: json.RawMessage(`{"seed": 1}`)}, []int{4, 4}, rand.New(rand.NewSource(5)))
	b, _ := Draw(&model.Initializer{Name: "glorot_uniform", Config: json.RawMessage(`{"seed": 2}`)}, []int{4, 4}, rand.New(rand.NewSource(5)))
	if !slices.Equal(a, b) {
		t.Errorf("Draw(glorot_uniform) depends on config seed; want only the rng to matter")
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name, config string
		shape        []int
		is           error
		mention      string
	}{
		{"random_kernel", "", []int{2, 2}, ErrUnknown, "random_kernel"},
		{"", "", []int{2, 2}, ErrUnknown, `""`},
		{"variance_scaling", `{"mode": "fan_sideways"}`, []int{2, 2}, ErrConfig, "fan_sideways"},
		{"variance_scaling", `{"distribution": "cauchy"}`, []int{2, 2}, ErrConfig, "cauchy"},
		{"variance_scaling", `{"scale": 0}`, []int{2, 2}, ErrConfig, "scale"},
		{"identity", "", []int{2, 2, 2}, ErrConfig, "2-D"},
		{"orthogonal", "", []int{5}, ErrConfig, "fewer than 2"},
		{"constant", `{"value": [1, 2, 3]}`, []int{2, 2}, ErrConfig, "needs 4"},
		{"constant", `{"value": "x"}`, []int{2}, ErrConfig, "not a number"},
		{"glorot_uniform", `{"scale": "big"}`, []int{2, 2}, ErrConfig, "config"},
		{"zeros", "", []int{-1, 2}, ErrConfig, "negative"},
	}
	for _, tt := range tests {
		_, err := Draw(&model.Initializer{Name: tt.name, Config: json.RawMessage(tt.config)}, tt.shape, rand.New(rand.NewSource(1)))
		if !errors.Is(err, tt.is) || !strings.Contains(err.Error(), tt.mention) {
			t.Errorf("Draw(%q %s, %v) error = %v; want %v mentioning %q", tt.name, tt.config, tt.shape, err, tt.is, tt.mention)
		}
	}
	if _, err := Draw(nil, []int{1}, rand.New(rand.NewSource(1))); !errors.Is(err, ErrUnknown) {
		t.Errorf("Draw(nil) error = %v; want ErrUnknown", err)
	}
	if _, err := Draw(&model.Initializer{Name: "ones"}, []int{1}, nil); !errors.Is(err, ErrConfig) {
		t.Errorf("Draw(ones, rng nil) error = %v; want ErrConfig", err)
	}
}

func FuzzDraw(f *testing.F) {
	f.Add("glorot_uniform", []byte(`{"seed": null}`), 3, 4)
	f.Add("variance_scaling", []byte(`{"scale": 2, "mode": "fan_out", "distribution": "uniform"}`), 3, 3)
	f.Add("constant", []byte(`{"value": [[1, 2]]}`), 1, 2)
	f.Add("orthogonal", []byte(`{"gain": -1}`), 2, 5)
	f.Add("identity", []byte(`null`), 0, 5)
	f.Fuzz(func(t *testing.T, name string, config []byte, a, b int) {
		if a < -2 || a > 64 || b < -2 || b > 64 {
			t.Skip()
		}
		v, err := Draw(&model.Initializer{Name: name, Config: config}, []int{a, b}, rand.New(rand.NewSource(1)))
		if err == nil && len(v) != a*b {
			t.Errorf("Draw(%q, [%d %d]) gave %d values", name, a, b, len(v))
		}
	})
}

func BenchmarkDrawGlorotUniform784x300(b *testing.B) {
	rng := rand.New(rand.NewSource(1))
	init := &model.Initializer{Name: "glorot_uniform"}
	for b.Loop() {
		if _, err := Draw(init, []int{784, 300}, rng); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDrawOrthogonal256x256(b *testing.B) {
	rng := rand.New(rand.NewSource(1))
	init := &model.Initializer{Name: "orthogonal"}
	for b.Loop() {
		if _, err := Draw(init, []int{256, 256}, rng); err != nil {
			b.Fatal(err)
		}
	}
}

func TestDescribe(t *testing.T) {
	tests := []struct {
		init *model.Initializer
		want string
	}{
		{&model.Initializer{Name: "glorot_uniform", Config: json.RawMessage(`{"seed": null}`)}, `"glorot_uniform"`},
		// Keras 2.13 / 3 serialisation of a custom function (sigmoid.h5 in the shared fixtures).
		{&model.Initializer{Name: "function", Config: json.RawMessage(`"random_kernel"`)}, `"function" ("random_kernel")`},
		{&model.Initializer{Name: "random_kernel"}, `"random_kernel"`},
		{nil, "(none)"},
	}
	for _, tt := range tests {
		if got := Describe(tt.init); got != tt.want {
			t.Errorf("Describe(%+v) = %s; want %s", tt.init, got, tt.want)
		}
	}
	_, err := Draw(&model.Initializer{Name: "function", Config: json.RawMessage(`"random_kernel"`)}, []int{2}, rand.New(rand.NewSource(1)))
	if !errors.Is(err, ErrUnknown) || !strings.Contains(err.Error(), "random_kernel") {
		t.Errorf("Draw(custom function) error = %v; want ErrUnknown naming random_kernel", err)
	}
}
