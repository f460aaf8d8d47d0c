package dataset

import (
	"fmt"
	"math"
	"math/rand"
	"strconv"
	"strings"
)

// Augmentation is a list of Keras image augmentation layers applied to
// training batches (never at evaluation), in the order given, each drawing
// its parameters per image from the caller's seeded *rand.Rand. The
// transforms are Keras 3's (keras/src/layers/preprocessing/
// image_preprocessing): the draws come from xfer's generator, not
// TensorFlow's, so runs are reproducible for a seed but not Keras's draws.
type Augmentation struct {
	Steps []AugmentStep
}

// AugmentStep is one augmentation layer.
type AugmentStep struct {
	// Kind is "flip", "rotate", "zoom", "translate" or "contrast".
	Kind string
	// Mode of a flip: "horizontal_and_vertical" (Keras's default),
	// "horizontal" or "vertical".
	Mode string
	// Lower and Upper bound the factor (RandomRotation: fractions of a full
	// turn; RandomZoom: zoom-1, positive zooms out; RandomTranslation:
	// fractions of the height and width; RandomContrast: 1-Lower..1+Upper).
	Lower, Upper float64
}

// ParseAugment reads a list like "flip,rotate=0.1,zoom=0.1,translate=0.1,
// contrast=0.1". A factor F means [-F, F] (contrast: [1-F, 1+F]) as a
// single float does in Keras; "A:B" gives the bounds (Keras's tuple).
// flip takes "flip", "flip=horizontal", "flip=vertical" or
// "flip=horizontal_and_vertical".
func ParseAugment(spec string) (*Augmentation, error) {
	if strings.TrimSpace(spec) == "" {
		return nil, nil
	}
	a := &Augmentation{}
	for _, item := range strings.Split(spec, ",") {
		name, val, hasVal := strings.Cut(strings.TrimSpace(item), "=")
		st := AugmentStep{Kind: name}
		switch name {
		case "flip":
			st.Mode = "horizontal_and_vertical"
			if hasVal {
				switch val {
				case "horizontal", "vertical", "horizontal_and_vertical":
					st.Mode = val
				default:
					return nil, fmt.Errorf("%w: --augment %q: flip mode %q (want horizontal, vertical or horizontal_and_vertical)", ErrSpec, spec, val)
				}
			}
		case "rotate", "zoom", "translate", "contrast":
			if !hasVal {
				return nil, fmt.Errorf("%w: --augment %q: %s needs a factor, e.g. %s=0.1", ErrSpec, spec, name, name)
			}
			lo, hi, err := parseFactor(val)
			if err != nil {
				return nil, fmt.Errorf("%w: --augment %q: %s: %v", ErrSpec, spec, name, err)
			}
			if name == "contrast" {
				// RandomContrast takes magnitudes: F is [1-F, 1+F], (A, B)
				// is [1-A, 1+B], each in [0, 1].
				if a, b, pair := strings.Cut(val, ":"); pair {
					lo, _ = strconv.ParseFloat(a, 64)
					hi, _ = strconv.ParseFloat(b, 64)
				} else {
					lo = hi
				}
				if lo < 0 || hi < 0 {
					return nil, fmt.Errorf("%w: --augment %q: contrast factors must be in [0, 1]", ErrSpec, spec)
				}
			}
			st.Lower, st.Upper = lo, hi
		default:
			return nil, fmt.Errorf("%w: --augment %q: unknown augmentation %q (want flip, rotate=F, zoom=F, translate=F, contrast=F)", ErrSpec, spec, name)
		}
		a.Steps = append(a.Steps, st)
	}
	return a, nil
}

// parseFactor reads "F" as [-|F|, |F|] or "A:B" as [A, B], each in (-1, 1]
// as Keras checks.
func parseFactor(v string) (lo, hi float64, err error) {
	a, b, pair := strings.Cut(v, ":")
	x, err := strconv.ParseFloat(a, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("factor %q is not a number", v)
	}
	if !pair {
		x = math.Abs(x)
		lo, hi = -x, x
	} else {
		y, err := strconv.ParseFloat(b, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("factor %q is not a number", v)
		}
		lo, hi = min(x, y), max(x, y)
	}
	if !(lo > -1 && hi <= 1) {
		return 0, 0, fmt.Errorf("factor %q outside (-1, 1]", v)
	}
	return lo, hi, nil
}

// String renders the list as ParseAugment reads it.
func (a *Augmentation) String() string {
	if a == nil {
		return ""
	}
	var parts []string
	for _, s := range a.Steps {
		switch s.Kind {
		case "flip":
			parts = append(parts, "flip="+s.Mode)
		case "contrast":
			parts = append(parts, fmt.Sprintf("contrast=%g:%g", s.Lower, s.Upper))
		default:
			parts = append(parts, fmt.Sprintf("%s=%g:%g", s.Kind, s.Lower, s.Upper))
		}
	}
	return strings.Join(parts, ",")
}

// Apply augments a batch of n images x in place; shape is one image's
// shape, [H, W, C] or [H, W] (one channel), channels last.
func (a *Augmentation) Apply(x []float32, n int, shape []int, rng *rand.Rand) error {
	if a == nil || len(a.Steps) == 0 {
		return nil
	}
	var h, w, c int
	switch len(shape) {
	case 2:
		h, w, c = shape[0], shape[1], 1
	case 3:
		h, w, c = shape[0], shape[1], shape[2]
	default:
		return fmt.Errorf("augmentation needs images of shape [H W] or [H W C], not %v", shape)
	}
	size := h * w * c
	if len(x) < n*size {
		return fmt.Errorf("augmentation: batch of %d images of %v needs %d values, got %d", n, shape, n*size, len(x))
	}
	tmp := make([]float32, size)
	for _, st := range a.Steps {
		for i := 0; i < n; i++ {
			img := x[i*size : (i+1)*size]
			switch st.Kind {
			case "flip":
				// RandomFlip: flip when uniform() <= 0.5; in
				// horizontal_and_vertical mode one draw flips both ways.
				if rng.Float64() <= 0.5 {
					Flip(img, h, w, c, st.Mode != "vertical", st.Mode != "horizontal")
				}
			case "rotate":
				deg := uniform(rng, st.Lower*360, st.Upper*360)
				Affine(img, tmp, h, w, c, RotationMatrix(deg, h, w))
				copy(img, tmp)
			case "zoom":
				z := uniform(rng, 1+st.Lower, 1+st.Upper) // width_factor None: one zoom for both axes
				Affine(img, tmp, h, w, c, ZoomMatrix(z, z, h, w))
				copy(img, tmp)
			case "translate":
				dy := uniform(rng, st.Lower, st.Upper) * float64(h)
				dx := uniform(rng, st.Lower, st.Upper) * float64(w)
				Affine(img, tmp, h, w, c, TranslationMatrix(dx, dy))
				copy(img, tmp)
			case "contrast":
				Contrast(img, h, w, c, uniform(rng, 1-st.Lower, 1+st.Upper), 0, 255)
			}
		}
	}
	return nil
}

func uniform(rng *rand.Rand, lo, hi float64) float64 { return lo + (hi-lo)*rng.Float64() }

// Flip mirrors img ([h, w, c]) left-right and/or top-bottom in place.
func Flip(img []float32, h, w, c int, horizontal, vertical bool) {
	if horizontal {
		for y := 0; y < h; y++ {
			row := img[y*w*c : (y+1)*w*c]
			for a, b := 0, w-1; a < b; a, b = a+1, b-1 {
				for k := 0; k < c; k++ {
					row[a*c+k], row[b*c+k] = row[b*c+k], row[a*c+k]
				}
			}
		}
	}
	if vertical {
		for a, b := 0, h-1; a < b; a, b = a+1, b-1 {
			ra, rb := img[a*w*c:(a+1)*w*c], img[b*w*c:(b+1)*w*c]
			for i := range ra {
				ra[i], rb[i] = rb[i], ra[i]
			}
		}
	}
}

// RotationMatrix is RandomRotation's transform for deg degrees about the
// image centre (BaseImagePreprocessingLayer._compute_affine_matrix with
// centre (0.5, 0.5), no shear, scale 1): [a0 a1 a2 b0 b1 b2] mapping an
// output pixel (x, y) to the input point (a0x+a1y+a2, b0x+b1y+b2).
func RotationMatrix(deg float64, h, w int) [6]float64 {
	t := float64(float32(deg * (math.Pi / 180)))
	cx, cy := 0.5*float64(w-1), 0.5*float64(h-1)
	cos, sin := math.Cos(t), math.Sin(t)
	a0, a1 := cos, -sin
	b0, b1 := sin, cos
	return [6]float64{a0, a1, cx - cx*a0 - cy*a1, b0, b1, cy - cx*b0 - cy*b1}
}

// ZoomMatrix is RandomZoom's transform (_get_zoom_matrix): zx, zy > 1 zoom
// out about the centre.
func ZoomMatrix(zx, zy float64, h, w int) [6]float64 {
	return [6]float64{zx, 0, float64(w-1) / 2 * (1 - zx), 0, zy, float64(h-1) / 2 * (1 - zy)}
}

// TranslationMatrix is RandomTranslation's transform (_get_translation_
// matrix): the image moves by dx pixels right and dy pixels down.
func TranslationMatrix(dx, dy float64) [6]float64 {
	return [6]float64{1, 0, -dx, 0, 1, -dy}
}

// Affine writes to dst img ([h, w, c]) resampled through the transform m,
// as Keras's affine_transform with interpolation "bilinear" and fill_mode
// "reflect" (the default of RandomRotation, RandomZoom and
// RandomTranslation): each output pixel (x, y) reads the input at (a0x +
// a1y + a2, b0x + b1y + b2), bilinearly, the image extended beyond its
// edges by reflection about the edge of the last pixel (d c b a | a b c d
// | d c b a).
func Affine(img, dst []float32, h, w, c int, m [6]float64) {
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			// Keras computes the coordinates in float32.
			fx, fy := float32(x), float32(y)
			sx := float64(float32(m[0])*fx + float32(m[1])*fy + float32(m[2]))
			sy := float64(float32(m[3])*fx + float32(m[4])*fy + float32(m[5]))
			x0, y0 := math.Floor(sx), math.Floor(sy)
			wx, wy := sx-x0, sy-y0
			xa, xb := reflect(int(x0), w), reflect(int(x0)+1, w)
			ya, yb := reflect(int(y0), h), reflect(int(y0)+1, h)
			o := (y*w + x) * c
			for k := 0; k < c; k++ {
				tl := float64(img[(ya*w+xa)*c+k])
				tr := float64(img[(ya*w+xb)*c+k])
				bl := float64(img[(yb*w+xa)*c+k])
				br := float64(img[(yb*w+xb)*c+k])
				dst[o+k] = float32((1-wy)*((1-wx)*tl+wx*tr) + wy*((1-wx)*bl+wx*br))
			}
		}
	}
}

// reflect maps an index onto [0, n) by symmetric reflection (NumPy's pad
// mode "symmetric", what Keras's map_coordinates uses for "reflect").
func reflect(i, n int) int {
	if n == 1 {
		return 0
	}
	p := 2 * n
	i %= p
	if i < 0 {
		i += p
	}
	if i >= n {
		i = p - 1 - i
	}
	return i
}

// Contrast adjusts img ([h, w, c]) as RandomContrast does: per channel,
// (x - mean) * factor + mean, then clipped to [lo, hi] (Keras's value_range,
// (0, 255) by default).
func Contrast(img []float32, h, w, c int, factor float64, lo, hi float32) {
	f := float32(factor)
	for k := 0; k < c; k++ {
		var s float64
		for i := k; i < len(img); i += c {
			s += float64(img[i])
		}
		mean := float32(s / float64(h*w))
		for i := k; i < len(img); i += c {
			img[i] = min(max((img[i]-mean)*f+mean, lo), hi)
		}
	}
}
