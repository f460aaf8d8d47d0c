package model

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestFloat16Bits checks rounding to binary16 against numpy 1.24
// (np.array([v], np.float32).astype(np.float16).view(np.uint16)).
func TestFloat16Bits(t *testing.T) {
	tests := []struct {
		in   float32
		want uint16
	}{
		{0.1, 0x2e66},
		{1.0 / 3, 0x3555},
		{65504, 0x7bff},
		{65520, 0x7c00}, // the halfway point to the next binade overflows
		{65519.99, 0x7bff},
		{1e-8, 0},
		{2.9802322387695312e-08, 0}, // 2^-25: a tie, to even (0)
		{5.960464477539063e-08, 1},  // 2^-24: the smallest subnormal
		{6.1035156e-05, 0x400},      // rounds up to the smallest normal
		{-2.5, 0xc100},
		{1.0009765625, 0x3c01},
		{1.00048828125, 0x3c00}, // tie between 0x3c00 and 0x3c01: even
		{1.00146484375, 0x3c02}, // tie between 0x3c01 and 0x3c02: even
		{3.0517578125e-05, 0x200},
		{float32(math.Inf(-1)), 0xfc00},
	}
	for _, tt := range tests {
		if got := Float16Bits(tt.in); got != tt.want {
			t.Errorf("Float16Bits(%v) = %#x; want %#x", tt.in, got, tt.want)
		}
	}
	if h := Float16Bits(float32(math.NaN())); h&0x7c00 != 0x7c00 || h&0x3ff == 0 {
		t.Errorf("Float16Bits(NaN) = %#x; want a NaN", h)
	}
}

// TestFloat16RoundTrip: every binary16 value survives float32 and back,
// and every float32 rounds to a nearest binary16 (ties to even).
func TestFloat16RoundTrip(t *testing.T) {
	for h := range 1 << 16 {
		f := Float16FromBits(uint16(h))
		if f != f {
			continue
		}
		if got := Float16Bits(f); got != uint16(h) {
			t.Fatalf("Float16Bits(Float16FromBits(%#x) = %v) = %#x", h, f, got)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		f := math.Float32frombits(rng.Uint32())
		if f != f || math.Abs(float64(f)) >= 65504 {
			continue
		}
		h := Float16Bits(f)
		d := math.Abs(float64(Float16FromBits(h)) - float64(f))
		for _, nb := range []uint16{h - 1, h + 1} {
			if nb&0x7c00 == 0x7c00 || (h&0x7fff == 0 && nb == h-1) {
				continue
			}
			dn := math.Abs(float64(Float16FromBits(nb)) - float64(f))
			if dn < d || dn == d && h&1 == 1 {
				t.Fatalf("Float16Bits(%v) = %#x (off by %g); %#x is nearer or the even tie (%g)", f, h, d, nb, dn)
			}
		}
	}
}

// TestBFloat16Bits: round to nearest even on the top 16 bits (as PyTorch's
// and ONNX Runtime's conversions do).
func TestBFloat16Bits(t *testing.T) {
	tests := []struct {
		in   float32
		want uint16
	}{
		{1.5, 0x3fc0},
		{math.Float32frombits(0x3f808000), 0x3f80}, // tie: even
		{math.Float32frombits(0x3f818000), 0x3f82}, // tie: even
		{math.Float32frombits(0x3f808001), 0x3f81},
		{0.47892547, 0x3ef5}, // 0x3ef5365b: truncation would agree here
	}
	for _, tt := range tests {
		if got := BFloat16Bits(tt.in); got != tt.want {
			t.Errorf("BFloat16Bits(%v) = %#x; want %#x", tt.in, got, tt.want)
		}
	}
	if f := BFloat16FromBits(BFloat16Bits(float32(math.NaN()))); f == f {
		t.Errorf("bfloat16 of NaN = %v; want NaN", f)
	}
}

func TestConvert(t *testing.T) {
	tests := []struct {
		name string
		in   *Tensor
		to   DType
		want *Tensor
	}{
		{"float to int32 truncates", &Tensor{DType: Float32, Shape: []int{3}, F32: []float32{-1.7, 2.9, 0}}, Int32,
			&Tensor{DType: Int32, Shape: []int{3}, I64: []int64{-1, 2, 0}}},
		{"int64 to uint8 wraps", &Tensor{DType: Int64, Shape: []int{2}, I64: []int64{256, -1}}, Uint8,
			&Tensor{DType: Uint8, Shape: []int{2}, I64: []int64{0, 255}}},
		{"float to bool", &Tensor{DType: Float32, Shape: []int{3}, F32: []float32{0, -0.5, 3}}, Bool,
			&Tensor{DType: Bool, Shape: []int{3}, I64: []int64{0, 1, 1}}},
		{"bool to float16", &Tensor{DType: Bool, Shape: []int{2}, I64: []int64{1, 0}}, Float16,
			&Tensor{DType: Float16, Shape: []int{2}, F32: []float32{1, 0}}},
		{"float to float16 rounds", &Tensor{DType: Float32, Shape: []int{1}, F32: []float32{0.1}}, Float16,
			&Tensor{DType: Float16, Shape: []int{1}, F32: []float32{Float16FromBits(0x2e66)}}},
		{"uint64 to float", &Tensor{DType: Uint64, Shape: []int{1}, I64: []int64{-1}}, Float32,
			&Tensor{DType: Float32, Shape: []int{1}, F32: []float32{1 << 64}}},
		{"int8 to int16 keeps", &Tensor{DType: Int8, Shape: []int{1}, I64: []int64{-128}}, Int16,
			&Tensor{DType: Int16, Shape: []int{1}, I64: []int64{-128}}},
	}
	for _, tt := range tests {
		got := Convert(tt.in, tt.to)
		if got.DType != tt.want.DType || !slices.Equal(got.Shape, tt.want.Shape) || !slices.Equal(got.F32, tt.want.F32) || !slices.Equal(got.I64, tt.want.I64) {
			t.Errorf("%s: Convert = %+v; want %+v", tt.name, got, tt.want)
		}
	}
}

func TestDTypeONNX(t *testing.T) {
	for _, d := range DTypes() {
		back, ok := DTypeFromONNX(int64(d.ONNX()))
		if !ok || back != d {
			t.Errorf("DTypeFromONNX(%v.ONNX() = %d) = %v, %v", d, d.ONNX(), back, ok)
		}
		if (d.Storage() == Float32) != d.IsFloat() || d.Size() == 0 {
			t.Errorf("%v: storage %v, size %d", d, d.Storage(), d.Size())
		}
	}
	for _, code := range []int64{0, 8, 14, 15, 17} { // undefined, string, complex, float8
		if d, ok := DTypeFromONNX(code); ok {
			t.Errorf("DTypeFromONNX(%d) = %v; want not ok", code, d)
		}
	}
}
