package finetune

import (
	"fmt"
	"math"

	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
)

// penalty is a layer's Keras kernel regularizer and constraint, as
// layers.KernelPenalty reads them from its config.
type penalty layers.Penalty

// penalties returns the kernel penalties of m's layers by param name (the
// params of role kernel or depthwise_kernel), read from each layer's Keras
// config by layers.KernelPenalty: regularizers L1, L2, L1L2 and the MaxNorm
// constraint. Other regularizers or constraints are refused (training would
// silently differ from Keras).
func penalties(m *model.Model) (map[string]penalty, error) {
	out := map[string]penalty{}
	for _, l := range m.Layers {
		if len(l.Config) == 0 {
			continue
		}
		p, err := layers.KernelPenalty(l)
		if err != nil {
			return nil, fmt.Errorf("finetune: %w", err)
		}
		if p.None() {
			continue
		}
		for _, prm := range l.Params {
			if prm.Role == "kernel" || prm.Role == "depthwise_kernel" {
				out[prm.Name] = penalty(p)
			}
		}
	}
	return out, nil
}

// addPenalty adds the regularizer's loss to the loss and its gradient to
// g (Keras adds regularization losses to the training loss):
// l1*sum|w| + l2*sum w², gradient l1*sign(w) + 2*l2*w (sign(0) = 0).
func (p penalty) addPenalty(w, g []float32) float64 {
	if p.L1 == 0 && p.L2 == 0 {
		return 0
	}
	var loss float64
	for i, x := range w {
		v := float64(x)
		loss += p.L1*math.Abs(v) + p.L2*v*v
		d := 2 * p.L2 * v
		if v > 0 {
			d += p.L1
		} else if v < 0 {
			d -= p.L1
		}
		g[i] += float32(d)
	}
	return loss
}

// constrain applies MaxNorm to the kernel w of shape: w *= clip(n, 0,
// max) / (eps + n), n the L2 norm over p.Axes (keras.constraints.MaxNorm).
func (p penalty) constrain(w []float32, shape []int) {
	if p.MaxNorm <= 0 {
		return
	}
	// Group the elements by their indices on the axes not reduced.
	reduced := make([]bool, len(shape))
	for _, a := range p.Axes {
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
		w[i] = float32(float64(w[i]) * (min(n, p.MaxNorm) / (kerasEpsilon + n)))
	}
}
