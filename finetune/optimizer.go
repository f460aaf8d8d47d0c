package finetune

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"

	"github.com/xferml/xfer/internal/kernels"
	"github.com/xferml/xfer/model"
)

// clipGrads applies the one clipping rule cfg names to grads in place, with
// Keras semantics (keras/src/optimizers/base_optimizer.py): ClipValue clamps
// each element to [-v, v]; ClipNorm rescales each tensor whose L2 norm
// exceeds n to norm n (tf.clip_by_norm); GlobalClipNorm rescales all tensors
// together when their joint L2 norm exceeds n (tf.clip_by_global_norm).
func clipGrads(cfg *Config, grads [][]float32) {
	switch {
	case cfg.ClipValue > 0:
		v := float32(cfg.ClipValue)
		for _, g := range grads {
			kernels.ClipValue(g, v)
		}
	case cfg.ClipNorm > 0:
		for _, g := range grads {
			scaleTo(g, norm2(g), cfg.ClipNorm)
		}
	case cfg.GlobalClipNorm > 0:
		var s float64
		for _, g := range grads {
			n := norm2(g)
			s += n * n
		}
		gn := math.Sqrt(s)
		for _, g := range grads {
			scaleTo(g, gn, cfg.GlobalClipNorm)
		}
	}
}

func norm2(g []float32) float64 {
	var s float64
	for _, x := range g {
		s += float64(x) * float64(x)
	}
	return math.Sqrt(s)
}

// scaleTo multiplies g by limit / max(norm, limit).
func scaleTo(g []float32, norm, limit float64) {
	if norm <= limit {
		return
	}
	kernels.Scale(g, float32(limit/norm))
}

// optimizer updates params from their (clipped) gradients.
type optimizer struct {
	cfg   *Config
	lr    float64
	slots map[string][]float32 // momentum velocity or Adam first moment, by param name
	vs    map[string][]float32 // Adam second moment
	t     int                  // Adam step count
	ks    *kerasState          // AdaGrad, RMSprop, Nadam, AdamW (optimizer_keras.go)
}

func newOptimizer(cfg *Config, lr float64) *optimizer {
	return &optimizer{cfg: cfg, lr: lr, slots: map[string][]float32{}, vs: map[string][]float32{}}
}

// step applies one update. Keras formulas (keras/src/optimizers/sgd.py,
// adam.py):
//
//	SGD:      w -= lr*g
//	momentum: v = momentum*v - lr*g; w += v
//	Nesterov: v = momentum*v - lr*g; w += momentum*v - lr*g
//	Adam:     m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g²;
//	          w -= lr*sqrt(1-b2^t)/(1-b1^t) * m / (sqrt(v) + eps)
//
// Every element is updated on its own, so the work is split into chunks
// over threads() goroutines (memory-bound single passes over each array).
func (o *optimizer) step(names []string, params, grads [][]float32) {
	o.t++
	switch o.cfg.Optimizer {
	case "adagrad", "rmsprop", "nadam", "adamw":
		o.stepKeras(names, params, grads)
		return
	}
	if wd := o.cfg.WeightDecay; wd > 0 {
		// Keras's BaseOptimizer._apply_weight_decay, before the update.
		f := float32(wd * o.lr)
		for _, w := range params {
			for i, x := range w {
				w[i] = x - x*f
			}
		}
	}
	adam := o.cfg.Optimizer == "adam"
	var ms, vs [][]float32
	total := 0
	for k, w := range params {
		total += len(w)
		switch {
		case adam:
			ms = append(ms, o.slot(o.slots, names[k], len(w)))
			vs = append(vs, o.slot(o.vs, names[k], len(w)))
		case o.cfg.Momentum != 0:
			ms = append(ms, o.slot(o.slots, names[k], len(w)))
		}
	}
	lrT := o.lr
	if adam {
		lrT = o.lr * math.Sqrt(1-math.Pow(o.cfg.Beta2, float64(o.t))) / (1 - math.Pow(o.cfg.Beta1, float64(o.t)))
	}
	chunks(total, func(part, parts int) {
		for k, w := range params {
			lo, hi := len(w)*part/parts, len(w)*(part+1)/parts
			g := grads[k][lo:hi]
			switch {
			case adam:
				adamUpdate(w[lo:hi], g, ms[k][lo:hi], vs[k][lo:hi], lrT, o.cfg.Beta1, o.cfg.Beta2, o.cfg.Epsilon)
			case o.cfg.Momentum == 0:
				axpy(-float32(o.lr), g, w[lo:hi])
			default:
				kernels.Momentum(w[lo:hi], g, ms[k][lo:hi], float32(o.lr), float32(o.cfg.Momentum), o.cfg.Nesterov)
			}
		}
	})
}

func adamUpdate(w, g, m, v []float32, lrT, b1, b2, eps float64) {
	for i := range w {
		gi := float64(g[i])
		mi := b1*float64(m[i]) + (1-b1)*gi
		vi := b2*float64(v[i]) + (1-b2)*gi*gi
		m[i], v[i] = float32(mi), float32(vi)
		w[i] -= float32(lrT * mi / (math.Sqrt(vi) + eps))
	}
}

// parallelElements is the element count from which element-wise passes
// over params are split across goroutines (they are memory-bound: model A's
// 276k params update faster on one thread here).
const parallelElements = 1 << 20

// chunks runs fn(part, parts) for parts = threads() (1 for small n)
// concurrently and waits.
func chunks(n int, fn func(part, parts int)) {
	parts := threads()
	if n < parallelElements || parts < 2 {
		fn(0, 1)
		return
	}
	var wg sync.WaitGroup
	for p := 1; p < parts; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(p, parts)
		}()
	}
	fn(0, parts)
	wg.Wait()
}

func (o *optimizer) slot(m map[string][]float32, name string, n int) []float32 {
	s, ok := m[name]
	if !ok || len(s) != n {
		s = make([]float32, n)
		m[name] = s
	}
	return s
}

// check validates the optimizer settings.
func (c *Config) check() error {
	n := 0
	for _, v := range []float64{c.ClipValue, c.ClipNorm, c.GlobalClipNorm} {
		if v < 0 || math.IsNaN(v) {
			return fmt.Errorf("finetune: clipping thresholds must be positive, got %v", v)
		}
		if v > 0 {
			n++
		}
	}
	if n > 1 {
		return fmt.Errorf("finetune: use only one of clip-value, clip-norm and global-clip-norm (Keras refuses more than one)")
	}
	if c.LearningRate < 0 || c.Momentum < 0 || c.Momentum >= 1 {
		return fmt.Errorf("finetune: learning rate %v must be >= 0 and momentum %v in [0, 1)", c.LearningRate, c.Momentum)
	}
	if !slices.Contains(Optimizers, c.Optimizer) {
		return fmt.Errorf("finetune: optimizer %q (want one of %s): %w", c.Optimizer, strings.Join(Optimizers, ", "), model.ErrUnsupported)
	}
	if c.Momentum > 0 && c.Optimizer != "sgd" && c.Optimizer != "rmsprop" {
		return fmt.Errorf("finetune: momentum is an option of sgd and rmsprop, not %s", c.Optimizer)
	}
	if c.Rho < 0 || c.Rho >= 1 || c.WeightDecay < 0 || c.InitialAccumulator < 0 || c.Epsilon < 0 {
		return fmt.Errorf("finetune: rho %v must be in [0, 1), weight decay %v, initial accumulator %v and epsilon %v >= 0", c.Rho, c.WeightDecay, c.InitialAccumulator, c.Epsilon)
	}
	if c.BatchSize <= 0 || c.Epochs < 0 {
		return fmt.Errorf("finetune: batch size %d and epochs %d must be positive", c.BatchSize, c.Epochs)
	}
	if c.Loss != "" && !slices.Contains(Losses, c.Loss) {
		return fmt.Errorf("finetune: loss %q (want one of %s): %w", c.Loss, strings.Join(Losses, ", "), model.ErrUnsupported)
	}
	return nil
}
