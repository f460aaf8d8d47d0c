package finetune

import (
	"fmt"
	"math"
	"slices"

	"github.com/xferml/xfer/dataset"
	"github.com/xferml/xfer/engine"
	"github.com/xferml/xfer/model"
)

// ParamGradStats are one trainable param's figures over an epoch.
type ParamGradStats struct {
	Param string `json:"param"`
	Layer string `json:"layer"`
	// GradNorm is the mean over the epoch's steps of the gradient's L2
	// norm (before clipping).
	GradNorm float64 `json:"grad_norm"`
	// UpdateRatio is the mean of ||Δw|| / ||w|| per step.
	UpdateRatio float64 `json:"update_ratio"`
}

// ActivationStats are one activation layer's figures at the end of an
// epoch, on up to gradStatsSample training examples.
type ActivationStats struct {
	Layer string `json:"layer"`
	Op    string `json:"op"` // Relu, Sigmoid, Tanh
	// Dead is the fraction of ReLU units that output 0 for every example;
	// Saturated the fraction of sigmoid (< 0.01 or > 0.99) or tanh (|y| >
	// 0.99) outputs.
	Dead      float64 `json:"dead,omitempty"`
	Saturated float64 `json:"saturated,omitempty"`
}

// EpochGradStats is --grad-stats' record of one epoch (Géron's section
// 11.1: the vanishing/exploding gradients problems).
type EpochGradStats struct {
	Epoch       int               `json:"epoch"`
	Params      []ParamGradStats  `json:"params"`
	Activations []ActivationStats `json:"activations,omitempty"`
	// ClippedSteps is the fraction of steps whose gradients clipping
	// changed.
	ClippedSteps float64  `json:"clipped_steps"`
	Warnings     []string `json:"warnings,omitempty"`
}

// gradStatsSample bounds the examples the activation figures are
// measured on.
const gradStatsSample = 256

// gradRecorder accumulates one epoch's figures.
type gradRecorder struct {
	layerOf          map[string]string // param -> layer
	order            []string          // params in model order
	norm, ratio      map[string]float64
	steps, clipSteps int
	prev             map[string][]float32 // weights before the update
	last             *EpochGradStats      // the previous epoch
}

func newGradRecorder(m *model.Model) *gradRecorder {
	r := &gradRecorder{layerOf: map[string]string{}, norm: map[string]float64{}, ratio: map[string]float64{}, prev: map[string][]float32{}}
	for _, l := range m.Layers {
		for _, p := range l.Params {
			if p.Trainable && p.Role != "bias" {
				r.layerOf[p.Name] = l.Name
				r.order = append(r.order, p.Name)
			}
		}
	}
	return r
}

// before records the gradients of a step (before clipping) and the
// weights before the update.
func (r *gradRecorder) before(names []string, params, grads [][]float32) {
	r.steps++
	for i, n := range names {
		if _, ok := r.layerOf[n]; !ok {
			continue
		}
		r.norm[n] += norm2(grads[i])
		r.prev[n] = append(r.prev[n][:0], params[i]...)
	}
}

// after records the update of a step; clipped says clipping changed it.
func (r *gradRecorder) after(names []string, params [][]float32, clipped bool) {
	if clipped {
		r.clipSteps++
	}
	for i, n := range names {
		old, ok := r.prev[n]
		if !ok {
			continue
		}
		var d, w float64
		for j, v := range params[i] {
			e := float64(v) - float64(old[j])
			d += e * e
			w += float64(old[j]) * float64(old[j])
		}
		if w > 0 {
			r.ratio[n] += math.Sqrt(d / w)
		}
	}
}

// epoch closes an epoch: the figures, the activation statistics of m on
// a sample of set, and the warnings.
func (r *gradRecorder) epoch(ep int, m *model.Model, set *dataset.Set) EpochGradStats {
	e := EpochGradStats{Epoch: ep}
	steps := float64(max(r.steps, 1))
	for _, n := range r.order {
		if _, seen := r.norm[n]; !seen {
			continue
		}
		e.Params = append(e.Params, ParamGradStats{Param: n, Layer: r.layerOf[n], GradNorm: r.norm[n] / steps, UpdateRatio: r.ratio[n] / steps})
	}
	e.ClippedSteps = float64(r.clipSteps) / steps
	e.Activations = activationStats(m, set)
	// Vanishing: the lowest layer's gradients below 1e-3 of the top's.
	if n := len(e.Params); n >= 2 {
		lo, hi := e.Params[0], e.Params[n-1]
		if hi.GradNorm > 0 && lo.GradNorm < 1e-3*hi.GradNorm {
			e.Warnings = append(e.Warnings, fmt.Sprintf("vanishing gradients: layer %s's gradient norm %.3g is below 1e-3 of the top layer %s's %.3g (try He initialization with ReLU/ELU, SELU, BatchNormalization)", lo.Layer, lo.GradNorm, hi.Layer, hi.GradNorm))
		}
	}
	// Exploding: a norm growing more than 10x in an epoch, or clipping
	// active on most steps.
	if r.last != nil {
		prev := map[string]float64{}
		for _, p := range r.last.Params {
			prev[p.Param] = p.GradNorm
		}
		for _, p := range e.Params {
			if q := prev[p.Param]; q > 0 && p.GradNorm > 10*q {
				e.Warnings = append(e.Warnings, fmt.Sprintf("exploding gradients: layer %s's gradient norm grew from %.3g to %.3g in one epoch (try gradient clipping or a lower learning rate)", p.Layer, q, p.GradNorm))
				break
			}
		}
	}
	if e.ClippedSteps > 0.5 {
		e.Warnings = append(e.Warnings, fmt.Sprintf("exploding gradients: clipping changed the gradients on %.0f%% of the steps", 100*e.ClippedSteps))
	}
	r.last = &e
	r.norm, r.ratio, r.steps, r.clipSteps = map[string]float64{}, map[string]float64{}, 0, 0
	return e
}

// activationStats runs m in the engine on up to gradStatsSample examples
// of set with every ReLU, sigmoid and tanh output fetched.
func activationStats(m *model.Model, set *dataset.Set) []ActivationStats {
	c := m.Clone()
	type act struct{ layer, op, value string }
	var acts []act
	for _, l := range c.Layers {
		for _, n := range l.Nodes {
			switch n.Op {
			case "Relu", "Sigmoid", "Tanh":
				acts = append(acts, act{l.Name, n.Op, n.Outputs[0]})
				if !slices.Contains(c.Outputs, n.Outputs[0]) {
					c.Outputs = append(c.Outputs, n.Outputs[0])
				}
			}
		}
	}
	if len(acts) == 0 || set == nil || set.Len() == 0 || len(c.Inputs) != 1 {
		return nil
	}
	s, err := engine.New(c)
	if err != nil {
		return nil
	}
	n := min(set.Len(), gradStatsSample)
	x := make([]float32, n*set.RowSize())
	y := make([]float32, n*set.LabelWidth())
	if err := set.Batch(set.Order(nil)[:n], x, y); err != nil {
		return nil
	}
	in := &model.Tensor{DType: model.Float32, Shape: append([]int{n}, c.Inputs[0].Shape[1:]...), F32: x}
	outs, err := s.Run(map[string]*model.Tensor{c.Inputs[0].Name: in})
	if err != nil {
		return nil
	}
	var res []ActivationStats
	for _, a := range acts {
		v := outs[a.value]
		if v == nil || len(v.F32) == 0 {
			continue
		}
		st := ActivationStats{Layer: a.layer, Op: a.op}
		switch a.op {
		case "Relu":
			units := len(v.F32) / n
			dead := 0
			for u := 0; u < units; u++ {
				alive := false
				for i := 0; i < n && !alive; i++ {
					alive = v.F32[i*units+u] > 0
				}
				if !alive {
					dead++
				}
			}
			st.Dead = float64(dead) / float64(units)
		default:
			sat := 0
			for _, y := range v.F32 {
				if (a.op == "Sigmoid" && (y < 0.01 || y > 0.99)) || (a.op == "Tanh" && math.Abs(float64(y)) > 0.99) {
					sat++
				}
			}
			st.Saturated = float64(sat) / float64(len(v.F32))
		}
		res = append(res, st)
	}
	return res
}
