package blas32

import (
	"fmt"
	"math"
	"math/rand"
	"os"
	"strings"
	"testing"
)

// refGemm is C = alpha*op(A)*op(B) + beta*C in float64, the textbook loops.
func refGemm(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) []float64 {
	out := make([]float64, m*n)
	for i := range m {
		for j := range n {
			s := 0.0
			for l := range k {
				var av, bv float32
				if tA {
					av = a[l*lda+i]
				} else {
					av = a[i*lda+l]
				}
				if tB {
					bv = b[j*ldb+l]
				} else {
					bv = b[l*ldb+j]
				}
				s += float64(av) * float64(bv)
			}
			out[i*n+j] = float64(alpha) * s
			if beta != 0 {
				out[i*n+j] += float64(beta) * float64(c[i*ldc+j])
			}
		}
	}
	return out
}

func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.NormFloat64())
	}
	return s
}

func TestSgemm(t *testing.T) {
	cases := []struct {
		tA, tB      bool
		m, n, k     int
		alpha, beta float32
		pad         int // extra columns in every leading dimension
	}{
		{false, false, 5, 7, 3, 1, 0, 0},
		{true, false, 5, 7, 3, 1, 0, 0},
		{false, true, 5, 7, 3, 1, 0, 0},
		{true, true, 5, 7, 3, 1, 0, 0},
		{false, false, 1, 300, 784, 1, 0, 0}, // model A's first layer, batch 1
		{false, false, 32, 100, 300, 0.5, 1, 0},
		{true, false, 300, 100, 32, 1, 0.9, 3}, // a weight gradient, X^T G, accumulated
		{false, true, 32, 50, 100, -1, 2, 5},
	}
	for _, tc := range cases {
		name := fmt.Sprintf("tA=%v,tB=%v,%dx%dx%d,alpha=%v,beta=%v,pad=%d", tc.tA, tc.tB, tc.m, tc.n, tc.k, tc.alpha, tc.beta, tc.pad)
		t.Run(name, func(t *testing.T) {
			rng := rand.New(rand.NewSource(1))
			ar, ac := tc.m, tc.k
			if tc.tA {
				ar, ac = tc.k, tc.m
			}
			br, bc := tc.k, tc.n
			if tc.tB {
				br, bc = tc.n, tc.k
			}
			lda, ldb, ldc := ac+tc.pad, bc+tc.pad, tc.n+tc.pad
			a, b, c := randSlice(rng, ar*lda), randSlice(rng, br*ldb), randSlice(rng, tc.m*ldc)
			a0, b0 := append([]float32(nil), a...), append([]float32(nil), b...)
			want := refGemm(tc.tA, tc.tB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, c, ldc)
			c0 := append([]float32(nil), c...)
			Sgemm(tc.tA, tc.tB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, c, ldc)
			for i := range tc.m {
				for j := range ldc {
					got := c[i*ldc+j]
					if j >= tc.n {
						if math.Float32bits(got) != math.Float32bits(c0[i*ldc+j]) {
							t.Fatalf("Sgemm wrote C[%d,%d] past n = %d", i, j, tc.n)
						}
						continue
					}
					// float32 sums of k products of unit normals: a few ulp
					// of sqrt(k) each.
					if w := want[i*tc.n+j]; math.Abs(float64(got)-w) > 1e-5*math.Sqrt(float64(tc.k)+1)*(1+math.Abs(w)) {
						t.Fatalf("Sgemm C[%d,%d] = %v; want %v", i, j, got, w)
					}
				}
			}
			if !same(a, a0) || !same(b, b0) {
				t.Errorf("Sgemm modified A or B")
			}
			// The same call on the same inputs gives the same bits.
			c2 := append([]float32(nil), c0...)
			Sgemm(tc.tA, tc.tB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, c2, ldc)
			if !same(c, c2) {
				t.Errorf("Sgemm twice on the same inputs gave different bits")
			}
		})
	}
}

func same(x, y []float32) bool {
	if len(x) != len(y) {
		return false
	}
	for i := range x {
		if math.Float32bits(x[i]) != math.Float32bits(y[i]) {
			return false
		}
	}
	return true
}

// TestSgemmEmpty: an empty product (k = 0) is C = beta*C, beta 0 clearing
// even NaNs (BLAS semantics); m = 0 or n = 0 touches nothing.
func TestSgemmEmpty(t *testing.T) {
	nan := float32(math.NaN())
	cases := []struct {
		name    string
		m, n, k int
		beta    float32
		c, want []float32
	}{
		{"k=0 beta=0", 2, 2, 0, 0, []float32{1, nan, 3, 4}, []float32{0, 0, 0, 0}},
		{"k=0 beta=2", 2, 2, 0, 2, []float32{1, 2, 3, 4}, []float32{2, 4, 6, 8}},
		{"m=0", 0, 2, 3, 0, []float32{1, 2}, []float32{1, 2}},
		{"n=0", 2, 0, 3, 0, []float32{1, 2}, []float32{1, 2}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			Sgemm(false, false, tc.m, tc.n, tc.k, 1, nil, max(tc.k, 1), nil, max(tc.n, 1), tc.beta, tc.c, max(tc.n, 1))
			if !same(tc.c, tc.want) {
				t.Errorf("Sgemm(%d, %d, %d, beta %v) C = %v; want %v", tc.m, tc.n, tc.k, tc.beta, tc.c, tc.want)
			}
		})
	}
}

func TestSgemv(t *testing.T) {
	for _, tA := range []bool{false, true} {
		for _, beta := range []float32{0, 0.5} {
			t.Run(fmt.Sprintf("tA=%v,beta=%v", tA, beta), func(t *testing.T) {
				rng := rand.New(rand.NewSource(2))
				m, n, lda := 37, 300, 303
				a := randSlice(rng, m*lda)
				xn, yn := n, m
				if tA {
					xn, yn = m, n
				}
				x, y := randSlice(rng, xn), randSlice(rng, yn)
				// As a one-row product: y^T = x^T op(A)^T, i.e. op(B) = op(A)^T.
				want := refGemm(false, !tA, 1, yn, xn, 1.5, x, xn, a, lda, beta, y, yn)
				Sgemv(tA, m, n, 1.5, a, lda, x, beta, y)
				for i, w := range want {
					if math.Abs(float64(y[i])-w) > 1e-5*math.Sqrt(float64(xn))*(1+math.Abs(w)) {
						t.Fatalf("Sgemv y[%d] = %v; want %v", i, y[i], w)
					}
				}
			})
		}
	}
}

func TestSgemvEmpty(t *testing.T) {
	y := []float32{1, float32(math.NaN())}
	Sgemv(false, 2, 0, 1, nil, 1, nil, 0, y)
	if !same(y, []float32{0, 0}) {
		t.Errorf("Sgemv(2x0, beta 0) y = %v; want [0 0]", y)
	}
}

func TestThreads(t *testing.T) {
	defer SetThreads(Threads())
	for _, tc := range []struct{ set, want int }{{2, 2}, {1, 1}, {0, 1}, {-3, 1}} {
		SetThreads(tc.set)
		want := tc.want
		if !OpenBLAS {
			want = 1 // gonum has no count to set
		}
		if got := Threads(); got != want {
			t.Errorf("SetThreads(%d); Threads() = %d; want %d", tc.set, got, want)
		}
	}
}

// TestCore: on a CPU with AVX-512 and OPENBLAS_CORETYPE unset, OpenBLAS must
// run AVX-512 kernels, not the AVX2 ones it picks on AVX-512 AMD cores nor
// the SSE3 ones it falls back to on Intel models it does not know (the
// start-up switch).
func TestCore(t *testing.T) {
	core := Core()
	if core == "" {
		t.Fatalf("Core() = %q; want a kernel family name", core)
	}
	if !OpenBLAS {
		return
	}
	if os.Getenv("OPENBLAS_CORETYPE") != "" {
		t.Skipf("OPENBLAS_CORETYPE is set: the start-up switch stands aside (Core() = %q)", core)
	}
	info, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		t.Skipf("no /proc/cpuinfo: cannot tell whether the CPU has AVX-512: %v", err)
	}
	flags := " " + strings.Join(strings.Fields(string(info)), " ") + " "
	for _, f := range []string{"avx512f", "avx512bw", "avx512dq", "avx512vl"} {
		if !strings.Contains(flags, " "+f+" ") {
			t.Skipf("CPU lacks %s: OpenBLAS's own choice %q stands", f, core)
		}
	}
	switch strings.ToLower(core) {
	case "skylakex", "cooperlake", "sapphirerapids":
	default:
		t.Errorf("Core() = %q on an AVX-512 CPU; want the AVX-512 kernels (SkylakeX or newer)", core)
	}
}

func ExampleSgemm() {
	// c[2,2] = a[2,3] @ b[3,2], row-major.
	a := []float32{1, 2, 3, 4, 5, 6}
	b := []float32{1, 0, 0, 1, 1, 1}
	c := make([]float32, 4)
	Sgemm(false, false, 2, 2, 3, 1, a, 3, b, 2, 0, c, 2)
	fmt.Println(c)
	// Output: [4 5 10 11]
}

// BenchmarkSgemm multiplies at model A's sizes: the first layer (784 -> 300)
// at batch 256 and its weight gradient at batch 32, single-threaded.
func BenchmarkSgemm(b *testing.B) {
	defer SetThreads(Threads())
	SetThreads(1)
	rng := rand.New(rand.NewSource(3))
	for _, tc := range []struct {
		name    string
		tA      bool
		m, n, k int
	}{
		{"forward256", false, 256, 300, 784},
		{"weightgrad32", true, 784, 300, 32},
	} {
		b.Run(tc.name, func(b *testing.B) {
			lda := tc.k
			if tc.tA {
				lda = tc.m
			}
			x, w, y := randSlice(rng, tc.m*tc.k), randSlice(rng, tc.k*tc.n), make([]float32, tc.m*tc.n)
			b.ReportAllocs()
			for b.Loop() {
				Sgemm(tc.tA, false, tc.m, tc.n, tc.k, 1, x, lda, w, tc.n, 0, y, tc.n)
			}
			b.ReportMetric(2*float64(tc.m*tc.n*tc.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkSgemv is model A's first layer for one sample.
func BenchmarkSgemv(b *testing.B) {
	rng := rand.New(rand.NewSource(4))
	w, x, y := randSlice(rng, 784*300), randSlice(rng, 784), make([]float32, 300)
	for b.Loop() {
		Sgemv(true, 784, 300, 1, w, 300, x, 0, y)
	}
}

func TestVersion(t *testing.T) {
	v := Version()
	want := map[string]string{"openblas": "OpenBLAS ", "gonum": "gonum"}[Name]
	if !strings.HasPrefix(v, want) {
		t.Errorf("Version() = %q; want it to begin %q", v, want)
	}
}
