package initializers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand"
	"slices"
	"strings"

	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
)

// Sentinel errors, for errors.Is.
var (
	// ErrUnknown reports an initializer name Keras does not define (a custom
	// function); its weights cannot be drawn anew.
	ErrUnknown = errors.New("initializers: unknown initializer")
	// ErrConfig reports a config or shape the initializer cannot use.
	ErrConfig = errors.New("initializers: bad config")
)

// truncStd is the standard deviation of a standard normal truncated to
// [-2, 2]: scipy.stats.truncnorm.std(a=-2, b=2, loc=0., scale=1.), the
// constant Keras's VarianceScaling divides by.
const truncStd = 0.87962566103423978

// Keras defaults for the random initializers (tf.keras 2.x and Keras 3
// keras/initializers: RandomNormal, RandomUniform, TruncatedNormal).
const (
	defaultStddev = 0.05
	defaultMinval = -0.05
	defaultMaxval = 0.05
)

// config holds every field a Keras initializer config can carry that Draw
// reads; absent fields stay nil and take the initializer's default. "seed"
// is deliberately not read.
type config struct {
	Scale        *float64        `json:"scale"`
	Mode         *string         `json:"mode"`
	Distribution *string         `json:"distribution"`
	Mean         *float64        `json:"mean"`
	Stddev       *float64        `json:"stddev"`
	Minval       *float64        `json:"minval"`
	Maxval       *float64        `json:"maxval"`
	Value        json.RawMessage `json:"value"`
	Gain         *float64        `json:"gain"`
}

func orDefault(p *float64, def float64) float64 {
	if p == nil {
		return def
	}
	return *p
}

// drawFn fills n = prod(shape) values.
type drawFn func(c *config, shape []int, n int, rng *rand.Rand) ([]float32, error)

// draws maps a snake-case Keras initializer name to its implementation.
var draws = map[string]drawFn{
	"zeros":            constant(0),
	"ones":             constant(1),
	"constant":         drawConstant,
	"random_normal":    drawRandomNormal,
	"random_uniform":   drawRandomUniform,
	"truncated_normal": drawTruncatedNormal,
	"glorot_uniform":   scaled(1, "fan_avg", "uniform"),
	"glorot_normal":    scaled(1, "fan_avg", "truncated_normal"),
	"he_uniform":       scaled(2, "fan_in", "uniform"),
	"he_normal":        scaled(2, "fan_in", "truncated_normal"),
	"lecun_uniform":    scaled(1, "fan_in", "uniform"),
	"lecun_normal":     scaled(1, "fan_in", "truncated_normal"),
	"variance_scaling": drawVarianceScaling,
	"orthogonal":       drawOrthogonal,
	"identity":         drawIdentity,
}

// keras3Aliases are the class names Keras 3 serialises for initializers
// whose Keras 2 class names differ (keras/src/initializers: the classes
// OrthogonalInitializer and IdentityInitializer, exported also as
// Orthogonal and Identity).
var keras3Aliases = map[string]string{
	"OrthogonalInitializer": "orthogonal",
	"IdentityInitializer":   "identity",
}

// Names returns the snake-case names Draw understands, sorted.
func Names() []string {
	names := make([]string, 0, len(draws))
	for k := range draws {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

// Draw returns prod(shape) values drawn as Keras's initializer init would
// draw a weight of that shape, using rng for all randomness. Class names
// ("GlorotUniform") and Keras's aliases ("normal", "zero") are accepted as
// well as snake-case names. A name Keras does not define gives an error
// wrapping ErrUnknown; an unusable config or shape, ErrConfig.
func Draw(init *model.Initializer, shape []int, rng *rand.Rand) ([]float32, error) {
	if init == nil {
		return nil, fmt.Errorf("%w: no initializer given", ErrUnknown)
	}
	name, ok := layers.InitializerName(init.Name)
	if alias, isAlias := keras3Aliases[init.Name]; isAlias {
		name, ok = alias, true
	}
	fn := draws[name]
	if !ok || fn == nil {
		return nil, fmt.Errorf("%w %s (Keras initializers: %s)", ErrUnknown, Describe(init), strings.Join(Names(), ", "))
	}
	n := model.NumElements(shape)
	if n < 0 {
		return nil, fmt.Errorf("%w: %s: shape %v has a negative dim or too many elements", ErrConfig, name, shape)
	}
	var c config
	if cfg := bytes.TrimSpace(init.Config); len(cfg) > 0 && !bytes.Equal(cfg, []byte("null")) {
		if err := json.Unmarshal(cfg, &c); err != nil {
			return nil, fmt.Errorf("%w: %s: config %s: %v", ErrConfig, name, cfg, err)
		}
	}
	if rng == nil {
		return nil, fmt.Errorf("%w: %s: no random number generator given", ErrConfig, name)
	}
	return fn(&c, shape, n, rng)
}

// Describe names an initializer for messages: its quoted name, followed by
// the function name when the config is a bare string, as Keras 2.13 and 3
// serialise a custom Python function ({"class_name": "function", "config":
// "random_kernel"}).
func Describe(init *model.Initializer) string {
	if init == nil {
		return "(none)"
	}
	var fn string
	if json.Unmarshal(init.Config, &fn) == nil && fn != "" {
		return fmt.Sprintf("%q (%q)", init.Name, fn)
	}
	return fmt.Sprintf("%q", init.Name)
}

func fill(v float32, n int) []float32 {
	out := make([]float32, n)
	if v != 0 {
		for i := range out {
			out[i] = v
		}
	}
	return out
}

func constant(v float32) drawFn {
	return func(_ *config, _ []int, n int, _ *rand.Rand) ([]float32, error) { return fill(v, n), nil }
}

// drawConstant implements Constant(value): a scalar fills the tensor; a
// (nested) list with exactly prod(shape) numbers is used in row-major order,
// as tf.constant(value, shape=shape) does.
func drawConstant(c *config, shape []int, n int, _ *rand.Rand) ([]float32, error) {
	raw := bytes.TrimSpace(c.Value)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return fill(0, n), nil // Keras default value 0
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, fmt.Errorf("%w: constant: value %s: %v", ErrConfig, raw, err)
	}
	var flat []float64
	var walk func(any) error
	walk = func(x any) error {
		switch t := x.(type) {
		case float64:
			flat = append(flat, t)
		case []any:
			for _, e := range t {
				if err := walk(e); err != nil {
					return err
				}
			}
		default:
			return fmt.Errorf("%w: constant: value %s is not a number or a list of numbers", ErrConfig, raw)
		}
		return nil
	}
	if err := walk(v); err != nil {
		return nil, err
	}
	if _, scalar := v.(float64); scalar {
		return fill(float32(flat[0]), n), nil
	}
	if len(flat) != n {
		return nil, fmt.Errorf("%w: constant: value has %d numbers, shape %v needs %d", ErrConfig, len(flat), shape, n)
	}
	out := make([]float32, n)
	for i, f := range flat {
		out[i] = float32(f)
	}
	return out, nil
}

func drawRandomNormal(c *config, _ []int, n int, rng *rand.Rand) ([]float32, error) {
	return normal(n, orDefault(c.Mean, 0), orDefault(c.Stddev, defaultStddev), rng), nil
}

func drawRandomUniform(c *config, _ []int, n int, rng *rand.Rand) ([]float32, error) {
	return uniform(n, orDefault(c.Minval, defaultMinval), orDefault(c.Maxval, defaultMaxval), rng), nil
}

func drawTruncatedNormal(c *config, _ []int, n int, rng *rand.Rand) ([]float32, error) {
	return truncatedNormal(n, orDefault(c.Mean, 0), orDefault(c.Stddev, defaultStddev), rng), nil
}

// normal draws n values of N(mean, stddev^2).
func normal(n int, mean, stddev float64, rng *rand.Rand) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(mean + stddev*rng.NormFloat64())
	}
	return out
}

// uniform draws n values uniformly in [lo, hi).
func uniform(n int, lo, hi float64, rng *rand.Rand) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(lo + (hi-lo)*rng.Float64())
	}
	return out
}

// truncatedNormal draws n values of N(mean, stddev^2), redrawing any value
// more than two stddevs from the mean (tf.random.truncated_normal).
func truncatedNormal(n int, mean, stddev float64, rng *rand.Rand) []float32 {
	out := make([]float32, n)
	for i := range out {
		z := rng.NormFloat64()
		for z < -2 || z > 2 {
			z = rng.NormFloat64()
		}
		out[i] = float32(mean + stddev*z)
	}
	return out
}

// Fans returns fan_in and fan_out of a weight of the given shape, as Keras's
// _compute_fans computes them.
func Fans(shape []int) (fanIn, fanOut int) {
	switch len(shape) {
	case 0:
		return 1, 1
	case 1:
		return shape[0], shape[0]
	case 2:
		return shape[0], shape[1]
	}
	receptive := 1
	for _, d := range shape[:len(shape)-2] {
		receptive *= d
	}
	return shape[len(shape)-2] * receptive, shape[len(shape)-1] * receptive
}

// scaled returns variance_scaling with fixed scale, mode and distribution
// (glorot, he, lecun).
func scaled(scale float64, mode, distribution string) drawFn {
	return func(_ *config, shape []int, n int, rng *rand.Rand) ([]float32, error) {
		return varianceScaling(scale, mode, distribution, shape, n, rng)
	}
}

func drawVarianceScaling(c *config, shape []int, n int, rng *rand.Rand) ([]float32, error) {
	// Keras defaults: VarianceScaling(scale=1.0, mode="fan_in", distribution="truncated_normal").
	mode, dist := "fan_in", "truncated_normal"
	if c.Mode != nil {
		mode = *c.Mode
	}
	if c.Distribution != nil {
		dist = *c.Distribution
	}
	return varianceScaling(orDefault(c.Scale, 1), mode, dist, shape, n, rng)
}

func varianceScaling(scale float64, mode, dist string, shape []int, n int, rng *rand.Rand) ([]float32, error) {
	if !(scale > 0) {
		return nil, fmt.Errorf("%w: variance_scaling: scale must be positive, got %v", ErrConfig, scale)
	}
	fanIn, fanOut := Fans(shape)
	switch mode {
	case "fan_in":
		scale /= math.Max(1, float64(fanIn))
	case "fan_out":
		scale /= math.Max(1, float64(fanOut))
	case "fan_avg":
		scale /= math.Max(1, float64(fanIn+fanOut)/2)
	default:
		return nil, fmt.Errorf("%w: variance_scaling: mode %q (want fan_in, fan_out or fan_avg)", ErrConfig, mode)
	}
	switch dist {
	case "truncated_normal", "normal": // "normal" is Keras 2's alias for truncated_normal
		return truncatedNormal(n, 0, math.Sqrt(scale)/truncStd, rng), nil
	case "untruncated_normal":
		return normal(n, 0, math.Sqrt(scale), rng), nil
	case "uniform":
		limit := math.Sqrt(3 * scale)
		return uniform(n, -limit, limit, rng), nil
	}
	return nil, fmt.Errorf("%w: variance_scaling: distribution %q (want truncated_normal, untruncated_normal or uniform)", ErrConfig, dist)
}

// drawIdentity implements Identity(gain): gain * eye(rows, cols); Keras
// accepts only 2-D shapes.
func drawIdentity(c *config, shape []int, n int, _ *rand.Rand) ([]float32, error) {
	if len(shape) != 2 {
		return nil, fmt.Errorf("%w: identity: shape %v is not 2-D (Keras's Identity initializer needs a matrix)", ErrConfig, shape)
	}
	gain := float32(orDefault(c.Gain, 1))
	out := make([]float32, n)
	for i := 0; i < min(shape[0], shape[1]); i++ {
		out[i*shape[1]+i] = gain
	}
	return out, nil
}
