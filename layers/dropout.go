package layers

import (
	"fmt"
	"math"

	"github.com/xferml/xfer/internal/pyjson"

	"github.com/xferml/xfer/model"
)

// DropoutSpec is a Keras Dropout, AlphaDropout, GaussianDropout or
// GaussianNoise layer: identity at inference.
type DropoutSpec struct {
	Common
	// Kind is the Keras class: "Dropout", "AlphaDropout", "GaussianDropout"
	// or "GaussianNoise". Training code acts on the layer by Kind.
	Kind string
	// Rate is the drop rate (Dropout, AlphaDropout, GaussianDropout) or the
	// noise stddev (GaussianNoise).
	Rate float32
}

// Dropout returns the layer. Dropout becomes an ONNX Dropout node with its
// ratio as a const input (identity in inference, as ONNX defines it); the
// other kinds, whose training behaviour ONNX Dropout does not describe,
// become an Identity node.
func Dropout(s DropoutSpec) (*model.Layer, error) {
	kind := s.Kind
	if kind == "" {
		kind = "Dropout"
	}
	b, err := s.builder(kind, 1)
	if err != nil {
		return nil, err
	}
	switch kind {
	case "Dropout":
		if s.Rate < 0 || s.Rate >= 1 {
			return nil, fmt.Errorf("layers: layer %q: Dropout rate %v is not in [0, 1)", s.Name, s.Rate)
		}
		r := b.constScalar("ratio", s.Rate)
		return s.done(b, b.node("Dropout", []string{s.Inputs[0], r}, nil), s.config), nil
	case "AlphaDropout", "GaussianDropout", "GaussianNoise":
		return s.done(b, b.node("Identity", []string{s.Inputs[0]}, nil), s.config), nil
	}
	return nil, fmt.Errorf("layers: layer %q: %q is not a dropout or noise kind", s.Name, kind)
}

// config writes the kind's config: rate (GaussianNoise: stddev),
// noise_shape and seed as tf.keras 2.13 writes them.
func (s DropoutSpec) config() *pyjson.Obj {
	switch s.Kind {
	case "GaussianNoise":
		return baseConfig(s.Name, s.Trainable).Set("stddev", f32(s.Rate)).Set("seed", nil)
	case "GaussianDropout":
		return baseConfig(s.Name, s.Trainable).Set("rate", f32(s.Rate)).Set("seed", nil)
	}
	return baseConfig(s.Name, s.Trainable).Set("rate", f32(s.Rate)).Set("noise_shape", nil).Set("seed", nil)
}

// dropoutKeys is the config key of each kind's one number: the drop rate,
// GaussianNoise's stddev.
var dropoutKeys = map[string]string{"Dropout": "rate", "AlphaDropout": "rate", "GaussianDropout": "rate", "GaussianNoise": "stddev"}

// readDropout reads a kind that is the identity at inference: its number
// is kept (0 when absent), not checked; NoiseRate checks it for training.
func readDropout(kind string) kerasReader {
	return func(c *kctx) (*model.Layer, []int, error) {
		r, err := c.float(dropoutKeys[kind], 0)
		if err != nil {
			return nil, nil, err
		}
		l, err := Dropout(DropoutSpec{Common: c.common(), Kind: kind, Rate: float32(r)})
		return l, sameShape(c), err
	}
}

// NoiseRate returns the number that drives a Dropout, AlphaDropout or
// GaussianDropout layer's training noise, its rate, in [0, 1); or a
// GaussianNoise layer's, its stddev, non-negative: as its Keras config
// writes it, a Python float (the layer's nodes keep it as float32). Keras
// gives both no default, so a config without it is a *ConfigError naming
// the layer, as is one out of range; another kind is a programmer's error
// (an error too).
func NoiseRate(l *model.Layer) (float64, error) {
	key, ok := dropoutKeys[l.Kind]
	if !ok {
		return 0, fmt.Errorf("layers: layer %q: %q is not a dropout or noise kind", l.Name, l.Kind)
	}
	c, err := layerKctx(l)
	if err != nil {
		return 0, err
	}
	r, err := c.float(key, math.NaN())
	switch {
	case err != nil:
		return 0, err
	case math.IsNaN(r):
		return 0, c.errf(key, "missing (%s has no default)", l.Kind)
	case key == "stddev" && !(r >= 0):
		return 0, c.errf(key, "must be non-negative, got %v", r)
	case key == "rate" && !(r >= 0 && r < 1):
		return 0, c.errf(key, "must be in [0, 1), got %v", r)
	}
	return r, nil
}
