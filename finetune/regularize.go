package finetune

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/xferml/xfer/model"
)

// penalty is a Keras kernel regularizer and constraint read from a layer's
// config (kernel_regularizer, kernel_constraint).
type penalty struct {
	l1, l2 float64 // L1, L2 or L1L2: l1*sum|w| + l2*sum w²
	// maxNorm > 0 is MaxNorm(max_value, axis): after each update the
	// kernel is rescaled so that the L2 norm over axes is at most maxNorm.
	maxNorm float64
	axes    []int
}

// kerasObject is a serialized Keras object: {"class_name", "config"}.
type kerasObject struct {
	ClassName string          `json:"class_name"`
	Config    json.RawMessage `json:"config"`
}

// penalties returns the kernel penalties of m's layers by param name,
// read from each layer's Keras config: regularizers L1, L2, L1L2 (Keras 2
// and 3 spellings, "l1"/"l2" and "l1_l2" names too) and the MaxNorm
// constraint. Other regularizers or constraints are refused (training
// would silently differ from Keras).
func penalties(m *model.Model) (map[string]penalty, error) {
	out := map[string]penalty{}
	for _, l := range m.Layers {
		if len(l.Config) == 0 {
			continue
		}
		var cfg struct {
			Reg  json.RawMessage `json:"kernel_regularizer"`
			Cons json.RawMessage `json:"kernel_constraint"`
		}
		if err := json.Unmarshal(l.Config, &cfg); err != nil {
			continue // not an object: nothing to read
		}
		var p penalty
		if len(cfg.Reg) > 0 && string(cfg.Reg) != "null" {
			if err := p.readRegularizer(cfg.Reg); err != nil {
				return nil, fmt.Errorf("finetune: layer %q: kernel_regularizer: %w", l.Name, err)
			}
		}
		if len(cfg.Cons) > 0 && string(cfg.Cons) != "null" {
			if err := p.readConstraint(cfg.Cons); err != nil {
				return nil, fmt.Errorf("finetune: layer %q: kernel_constraint: %w", l.Name, err)
			}
		}
		if p.l1 == 0 && p.l2 == 0 && p.maxNorm == 0 {
			continue
		}
		for _, prm := range l.Params {
			if prm.Role == "kernel" || prm.Role == "depthwise_kernel" {
				out[prm.Name] = p
			}
		}
	}
	return out, nil
}

func (p *penalty) readRegularizer(raw json.RawMessage) error {
	var o kerasObject
	if err := json.Unmarshal(raw, &o); err != nil {
		var name string
		if json.Unmarshal(raw, &name) == nil {
			o.ClassName = name // a bare name: Keras's defaults (0.01)
		} else {
			return err
		}
	}
	var c struct{ L1, L2 *float64 }
	if len(o.Config) > 0 {
		if err := json.Unmarshal(o.Config, &c); err != nil {
			return err
		}
	}
	get := func(v *float64) float64 {
		if v == nil {
			return 0.01 // keras.regularizers.L1/L2 default
		}
		return *v
	}
	switch o.ClassName {
	case "L1", "l1":
		p.l1 = get(c.L1)
	case "L2", "l2":
		p.l2 = get(c.L2)
	case "L1L2", "l1_l2":
		if c.L1 != nil {
			p.l1 = *c.L1
		}
		if c.L2 != nil {
			p.l2 = *c.L2
		}
	default:
		return fmt.Errorf("%q is not supported (L1, L2, L1L2 are)", o.ClassName)
	}
	if p.l1 < 0 || p.l2 < 0 {
		return fmt.Errorf("negative factors l1 %v, l2 %v", p.l1, p.l2)
	}
	return nil
}

func (p *penalty) readConstraint(raw json.RawMessage) error {
	var o kerasObject
	if err := json.Unmarshal(raw, &o); err != nil {
		return err
	}
	switch o.ClassName {
	case "MaxNorm", "max_norm":
		c := struct {
			MaxValue *float64        `json:"max_value"`
			Axis     json.RawMessage `json:"axis"`
		}{}
		if len(o.Config) > 0 {
			if err := json.Unmarshal(o.Config, &c); err != nil {
				return err
			}
		}
		p.maxNorm, p.axes = 2, []int{0} // Keras's defaults
		if c.MaxValue != nil {
			p.maxNorm = *c.MaxValue
		}
		if len(c.Axis) > 0 {
			var one int
			var many []int
			if json.Unmarshal(c.Axis, &one) == nil {
				p.axes = []int{one}
			} else if json.Unmarshal(c.Axis, &many) == nil {
				p.axes = many
			}
		}
		if !(p.maxNorm > 0) {
			return fmt.Errorf("MaxNorm max_value %v must be positive", p.maxNorm)
		}
		return nil
	}
	return fmt.Errorf("%q is not supported (MaxNorm is)", o.ClassName)
}

// addPenalty adds the regularizer's loss to the loss and its gradient to
// g (Keras adds regularization losses to the training loss):
// l1*sum|w| + l2*sum w², gradient l1*sign(w) + 2*l2*w (sign(0) = 0).
func (p penalty) addPenalty(w, g []float32) float64 {
	if p.l1 == 0 && p.l2 == 0 {
		return 0
	}
	var loss float64
	for i, x := range w {
		v := float64(x)
		loss += p.l1*math.Abs(v) + p.l2*v*v
		d := 2 * p.l2 * v
		if v > 0 {
			d += p.l1
		} else if v < 0 {
			d -= p.l1
		}
		g[i] += float32(d)
	}
	return loss
}

// constrain applies MaxNorm to the kernel w of shape: w *= clip(n, 0,
// max) / (eps + n), n the L2 norm over p.axes (keras.constraints.MaxNorm).
func (p penalty) constrain(w []float32, shape []int) {
	if p.maxNorm <= 0 {
		return
	}
	// Group the elements by their indices on the axes not reduced.
	reduced := make([]bool, len(shape))
	for _, a := range p.axes {
		if a < 0 {
			a += len(shape)
		}
		if a >= 0 && a < len(shape) {
			reduced[a] = true
		}
	}
	key := func(i int) int {
		k, mul := 0, 1
		for d := len(shape) - 1; d >= 0; d-- {
			idx := i % shape[d]
			i /= shape[d]
			if !reduced[d] {
				k += idx * mul
				mul *= shape[d]
			}
		}
		return k
	}
	sums := map[int]float64{}
	for i, x := range w {
		sums[key(i)] += float64(x) * float64(x)
	}
	for i := range w {
		n := math.Sqrt(sums[key(i)])
		w[i] = float32(float64(w[i]) * (min(n, p.maxNorm) / (kerasEpsilon + n)))
	}
}
