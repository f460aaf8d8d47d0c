package dataset

import (
	"math"
	"math/rand"
	"path/filepath"
	"slices"
	"testing"

	"github.com/xferml/xfer/internal/tensorio"
)

// kerasRef reads a reference array written by testdata/keras/gen.py with
// Keras 3.16.
func kerasRef(t *testing.T, name string) []float32 {
	t.Helper()
	x, err := tensorio.ReadFile(filepath.Join("testdata", "keras", name+".npy"))
	if err != nil {
		t.Fatal(err)
	}
	return x.F32
}

func closeTo(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values; want %d", what, len(got), len(want))
	}
	for i := range got {
		if d := math.Abs(float64(got[i] - want[i])); d > tol*(1+math.Abs(float64(want[i]))) {
			t.Fatalf("%s: value %d = %v; want %v (Keras)", what, i, got[i], want[i])
		}
	}
}

// TestAugmentTransformsMatchKeras applies each transform with the
// parameters gen.py gave Keras's layers and compares with Keras's output.
func TestAugmentTransformsMatchKeras(t *testing.T) {
	const h, w, c = 7, 9, 2 // gen.py's image
	in := kerasRef(t, "input")
	tests := []struct {
		ref string
		fn  func(img, dst []float32) []float32
	}{
		{"rotate_30", func(img, dst []float32) []float32 { Affine(img, dst, h, w, c, RotationMatrix(30, h, w)); return dst }},
		{"rotate_-17.5", func(img, dst []float32) []float32 { Affine(img, dst, h, w, c, RotationMatrix(-17.5, h, w)); return dst }},
		{"zoom_1.2", func(img, dst []float32) []float32 { Affine(img, dst, h, w, c, ZoomMatrix(1.2, 1.2, h, w)); return dst }},
		{"zoom_0.85", func(img, dst []float32) []float32 {
			Affine(img, dst, h, w, c, ZoomMatrix(0.85, 0.85, h, w))
			return dst
		}},
		{"translate_1.5_-2.25", func(img, dst []float32) []float32 {
			Affine(img, dst, h, w, c, TranslationMatrix(1.5, -2.25))
			return dst
		}},
		{"translate_-3_0.7", func(img, dst []float32) []float32 { Affine(img, dst, h, w, c, TranslationMatrix(-3, 0.7)); return dst }},
		{"contrast_1.3", func(img, _ []float32) []float32 { scale(img, 1.1); Contrast(img, h, w, c, 1.3, 0, 255); return img }},
		{"contrast_0.6", func(img, _ []float32) []float32 { scale(img, 1.1); Contrast(img, h, w, c, 0.6, 0, 255); return img }},
		{"flip", func(img, _ []float32) []float32 { Flip(img, h, w, c, true, true); return img }},
		{"resize_4x5", func(img, _ []float32) []float32 {
			d := make([]float32, 4*5*c)
			ResizeBilinear(img, h, w, c, 4, 5, d)
			return d
		}},
		{"resize_12x20", func(img, _ []float32) []float32 {
			d := make([]float32, 12*20*c)
			ResizeBilinear(img, h, w, c, 12, 20, d)
			return d
		}},
		{"resize_7x4", func(img, _ []float32) []float32 {
			d := make([]float32, 7*4*c)
			ResizeBilinear(img, h, w, c, 7, 4, d)
			return d
		}},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			got := tt.fn(slices.Clone(in), make([]float32, len(in)))
			// Values are 0..276; Keras computes in float32 with another
			// summation order.
			closeTo(t, tt.ref, got, kerasRef(t, tt.ref), 2e-5)
		})
	}
}

func scale(x []float32, f float32) {
	for i := range x {
		x[i] *= f
	}
}

func TestParseAugment(t *testing.T) {
	tests := []struct {
		in   string
		want string // String() of the result, "" for an error
	}{
		{"flip", "flip=horizontal_and_vertical"},
		{"flip=horizontal,rotate=0.1", "flip=horizontal,rotate=-0.1:0.1"},
		{"zoom=-0.2:0.3,translate=0.1,contrast=0.2", "zoom=-0.2:0.3,translate=-0.1:0.1,contrast=0.2:0.2"},
		{"contrast=0.1:0.4", "contrast=0.1:0.4"},
		{"rotate", ""},
		{"rotate=x", ""},
		{"rotate=1.5", ""},
		{"zoom=-1", ""},
		{"flip=diagonal", ""},
		{"blur=0.1", ""},
		{"contrast=-0.1:0.2", ""},
	}
	for _, tt := range tests {
		a, err := ParseAugment(tt.in)
		if tt.want == "" {
			if err == nil {
				t.Errorf("ParseAugment(%q) = %v; want an error", tt.in, a)
			}
			continue
		}
		if err != nil || a.String() != tt.want {
			t.Errorf("ParseAugment(%q) = %v, %v; want %s", tt.in, a, err, tt.want)
		}
	}
}

// TestAugmentApply: seeded runs repeat; factors stay in range (a rotation
// by at most 0.1 turn keeps a centred square's centre); a zero factor is
// the identity.
func TestAugmentApply(t *testing.T) {
	const n, h, w = 4, 8, 8
	x := make([]float32, n*h*w)
	for i := range x {
		x[i] = float32(i % 251)
	}
	a, _ := ParseAugment("flip,rotate=0.1,zoom=0.1,translate=0.1,contrast=0.1")
	y1, y2 := slices.Clone(x), slices.Clone(x)
	a.Apply(y1, n, []int{h, w}, rand.New(rand.NewSource(3)))
	a.Apply(y2, n, []int{h, w}, rand.New(rand.NewSource(3)))
	if !slices.Equal(y1, y2) {
		t.Error("Apply with the same seed gave different images")
	}
	if slices.Equal(y1, x) {
		t.Error("Apply changed nothing")
	}
	id, _ := ParseAugment("rotate=0:0,zoom=0:0,translate=0:0")
	y3 := slices.Clone(x)
	id.Apply(y3, n, []int{h, w, 1}, rand.New(rand.NewSource(1)))
	closeTo(t, "zero factors", y3, x, 1e-6)
	if err := a.Apply(y1, n, []int{h * w}, rand.New(rand.NewSource(1))); err == nil {
		t.Error("Apply on flat examples: no error")
	}
}
