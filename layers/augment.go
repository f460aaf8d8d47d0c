package layers

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/xferml/xfer/model"
)

// AugmentationKinds are the Keras image augmentation layers xfer reads:
// identity at inference (Keras applies them only when training), random
// transforms when a model trains with them active.
var AugmentationKinds = []string{"RandomFlip", "RandomRotation", "RandomZoom", "RandomTranslation", "RandomContrast", "RandomBrightness"}

// IsAugmentation reports whether kind is one of AugmentationKinds.
func IsAugmentation(kind string) bool { return slices.Contains(AugmentationKinds, kind) }

// Augmentation returns a Keras image augmentation layer of class kind: an
// Identity node, which is what it computes at inference. Its config (mode,
// factors, fill mode...) stays on the layer for export and for training
// (see AugmentOf).
func Augmentation(c Common, kind string) (*model.Layer, error) {
	if !IsAugmentation(kind) {
		return nil, fmt.Errorf("layers: layer %q: %q is not an augmentation layer (%s)", c.Name, kind, strings.Join(AugmentationKinds, ", "))
	}
	b, err := c.builder(kind, 1)
	if err != nil {
		return nil, err
	}
	return c.done(b, b.node("Identity", []string{c.Inputs[0]}, nil)), nil
}

// AugmentSpec is what an augmentation layer does when it trains, read from
// its Keras config with Keras 3's defaults
// (keras/src/layers/preprocessing/image_preprocessing).
type AugmentSpec struct {
	Kind string // the Keras class
	// Mode of RandomFlip: "horizontal", "vertical" or
	// "horizontal_and_vertical".
	Mode string
	// Lower and Upper bound the factor: RandomRotation in fractions of a
	// turn; RandomZoom the height factor (negative zooms in);
	// RandomTranslation the height factor; RandomContrast 1-Lower..1+Upper;
	// RandomBrightness its factor.
	Lower, Upper float64
	// WidthLower and WidthUpper are RandomZoom's and RandomTranslation's
	// width factor (Keras: the height factor when width_factor is None).
	WidthLower, WidthUpper  float64
	FillMode, Interpolation string
	FillValue               float64
}

// AugmentOf reads the training behaviour of augmentation layer l from its
// Keras config.
func AugmentOf(l *model.Layer) (AugmentSpec, error) {
	s := AugmentSpec{Kind: l.Kind, FillMode: "reflect", Interpolation: "bilinear"}
	if !IsAugmentation(l.Kind) {
		return s, fmt.Errorf("layers: layer %q: %s is not an augmentation layer", l.Name, l.Kind)
	}
	var cfg map[string]json.RawMessage
	if len(l.Config) > 0 {
		if err := json.Unmarshal(l.Config, &cfg); err != nil {
			return s, fmt.Errorf("layers: layer %q (%s): config: %v", l.Name, l.Kind, err)
		}
	}
	bad := func(key string, why string) error {
		return fmt.Errorf("layers: layer %q (%s): config %q: %s", l.Name, l.Kind, key, why)
	}
	str := func(key, def string) (string, error) {
		v, ok := cfg[key]
		if !ok || string(v) == "null" {
			return def, nil
		}
		var x string
		if json.Unmarshal(v, &x) != nil {
			return "", bad(key, "not a string: "+string(v))
		}
		return x, nil
	}
	// factor reads a float F as [-F, F] (RandomContrast: [F, F] as magnitudes)
	// or a pair [A, B].
	factor := func(key string, magnitude bool) (lo, hi float64, set bool, err error) {
		v, ok := cfg[key]
		if !ok || string(v) == "null" {
			return 0, 0, false, nil
		}
		var x float64
		if json.Unmarshal(v, &x) == nil {
			if magnitude {
				return math.Abs(x), math.Abs(x), true, nil
			}
			return -math.Abs(x), math.Abs(x), true, nil
		}
		var p []float64
		if json.Unmarshal(v, &p) != nil || len(p) != 2 || p[0] > p[1] && !magnitude {
			return 0, 0, false, bad(key, "want a number or a pair [lower, upper], got "+string(v))
		}
		return p[0], p[1], true, nil
	}
	var err error
	if s.FillMode, err = str("fill_mode", "reflect"); err != nil {
		return s, err
	}
	if s.Interpolation, err = str("interpolation", "bilinear"); err != nil {
		return s, err
	}
	if v, ok := cfg["fill_value"]; ok && string(v) != "null" {
		if json.Unmarshal(v, &s.FillValue) != nil {
			return s, bad("fill_value", "not a number: "+string(v))
		}
	}
	switch l.Kind {
	case "RandomFlip":
		if s.Mode, err = str("mode", "horizontal_and_vertical"); err != nil {
			return s, err
		}
		if s.Mode != "horizontal" && s.Mode != "vertical" && s.Mode != "horizontal_and_vertical" {
			return s, bad("mode", fmt.Sprintf("%q (want horizontal, vertical or horizontal_and_vertical)", s.Mode))
		}
	case "RandomRotation", "RandomContrast", "RandomBrightness":
		var set bool
		if s.Lower, s.Upper, set, err = factor("factor", l.Kind == "RandomContrast"); err != nil {
			return s, err
		}
		if !set {
			return s, bad("factor", "missing")
		}
	case "RandomZoom", "RandomTranslation":
		var set bool
		if s.Lower, s.Upper, set, err = factor("height_factor", false); err != nil {
			return s, err
		}
		if !set {
			return s, bad("height_factor", "missing")
		}
		if s.WidthLower, s.WidthUpper, set, err = factor("width_factor", false); err != nil {
			return s, err
		}
		if !set {
			s.WidthLower, s.WidthUpper = s.Lower, s.Upper
		}
	}
	return s, nil
}

// readAugment reads a Keras image augmentation layer (RandomFlip,
// RandomRotation...): identity at inference; its config says what it does
// in training (AugmentOf), checked here so that a bad one fails at
// import.
func readAugment(kind string) kerasReader {
	return func(c *kctx) (*model.Layer, []int, error) {
		l, err := Augmentation(c.common(), kind)
		if err != nil {
			return nil, nil, err
		}
		if _, err := AugmentOf(l); err != nil {
			return nil, nil, err
		}
		return l, sameShape(c), nil
	}
}
