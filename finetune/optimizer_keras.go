package finetune

import (
	"math"
)

// Optimizers lists the optimizers Config.Optimizer names, as Keras spells
// them (keras.optimizers).
var Optimizers = []string{"sgd", "adam", "adagrad", "rmsprop", "nadam", "adamw"}

// optimizerDefaults are Keras 3's constructor defaults
// (keras/src/optimizers/*.py): learning rate and, for AdamW, weight decay.
var optimizerDefaults = map[string]struct{ lr, weightDecay float64 }{
	"sgd":     {0.01, 0},
	"adam":    {0.001, 0},
	"adagrad": {0.001, 0},
	"rmsprop": {0.001, 0},
	"nadam":   {0.001, 0},
	"adamw":   {0.001, 0.004},
}

// kerasState is the per-param state of the optimizers in this file.
type kerasState struct {
	a, b, c map[string][]float32 // slots by param name
	// uProduct is Nadam's running product of momentum coefficients.
	uProduct float64
}

// stepKeras applies one update of the optimizers Keras has beyond SGD and
// Adam, with Keras 3's formulas (update_step of keras/src/optimizers/):
//
//	AdaGrad:  acc += g²;  w -= lr*g / sqrt(acc + eps)          (acc starts at 0.1)
//	RMSprop:  v = rho*v + (1-rho)*g²;  centered: a = rho*a + (1-rho)*g,
//	          d = v - a² + eps, else d = v + eps;  inc = lr*g/sqrt(d);
//	          momentum: m = momentum*m + inc, w -= m;  else w -= inc
//	Nadam:    u_t = b1*(1 - 0.5*0.96^t), u_t1 = b1*(1 - 0.5*0.96^(t+1)),
//	          U_t = U_{t-1}*u_t (U_0 = 1);  m += (g-m)*(1-b1);  v += (g²-v)*(1-b2);
//	          m̂ = u_t1*m/(1 - U_t*u_t1) + (1-u_t)*g/(1 - U_t);  v̂ = v/(1 - b2^t);
//	          w -= lr*m̂/(sqrt(v̂) + eps)
//	AdamW:    w -= w*wd*lr (decoupled weight decay, before the step), then Adam
//
// t counts updates from 1. Weight decay (Config.WeightDecay, AdamW's 0.004
// by default) is applied first for any optimizer, as Keras's
// BaseOptimizer._apply_weight_decay does. Arithmetic is in float64 per
// element, stored as float32.
func (o *optimizer) stepKeras(names []string, params, grads [][]float32) {
	c := o.cfg
	if o.ks == nil {
		o.ks = &kerasState{a: map[string][]float32{}, b: map[string][]float32{}, c: map[string][]float32{}, uProduct: 1}
	}
	s := o.ks
	t := float64(o.t)
	lr := o.lr
	if wd := c.WeightDecay; wd > 0 {
		f := float32(wd * lr)
		for _, w := range params {
			for i, x := range w {
				w[i] = x - x*f
			}
		}
	}
	switch c.Optimizer {
	case "adagrad":
		for k, w := range params {
			acc := o.slotInit(s.a, names[k], len(w), float32(c.InitialAccumulator))
			g := grads[k]
			for i := range w {
				gi := float64(g[i])
				a := float64(acc[i]) + gi*gi
				acc[i] = float32(a)
				w[i] -= float32(lr * gi / math.Sqrt(a+c.Epsilon))
			}
		}
	case "rmsprop":
		rho := c.Rho
		for k, w := range params {
			v := o.slot(s.a, names[k], len(w))
			var mom, avg []float32
			if c.Momentum > 0 {
				mom = o.slot(s.b, names[k], len(w))
			}
			if c.Centered {
				avg = o.slot(s.c, names[k], len(w))
			}
			g := grads[k]
			for i := range w {
				gi := float64(g[i])
				vi := rho*float64(v[i]) + (1-rho)*gi*gi
				v[i] = float32(vi)
				d := vi + c.Epsilon
				if avg != nil {
					ai := rho*float64(avg[i]) + (1-rho)*gi
					avg[i] = float32(ai)
					d = vi - ai*ai + c.Epsilon
				}
				inc := lr * gi / math.Sqrt(d)
				if mom != nil {
					mi := c.Momentum*float64(mom[i]) + inc
					mom[i] = float32(mi)
					w[i] -= float32(mi)
					continue
				}
				w[i] -= float32(inc)
			}
		}
	case "nadam":
		b1, b2 := c.Beta1, c.Beta2
		ut := b1 * (1 - 0.5*math.Pow(0.96, t))
		ut1 := b1 * (1 - 0.5*math.Pow(0.96, t+1))
		s.uProduct *= ut
		up, up1 := s.uProduct, s.uProduct*ut1
		b2p := math.Pow(b2, t)
		for k, w := range params {
			m := o.slot(s.a, names[k], len(w))
			v := o.slot(s.b, names[k], len(w))
			g := grads[k]
			for i := range w {
				gi := float64(g[i])
				mi := float64(m[i]) + (gi-float64(m[i]))*(1-b1)
				vi := float64(v[i]) + (gi*gi-float64(v[i]))*(1-b2)
				m[i], v[i] = float32(mi), float32(vi)
				mh := ut1*mi/(1-up1) + (1-ut)*gi/(1-up)
				vh := vi / (1 - b2p)
				w[i] -= float32(mh * lr / (math.Sqrt(vh) + c.Epsilon))
			}
		}
	case "adamw":
		lrT := lr * math.Sqrt(1-math.Pow(c.Beta2, t)) / (1 - math.Pow(c.Beta1, t))
		for k, w := range params {
			adamUpdate(w, grads[k], o.slot(s.a, names[k], len(w)), o.slot(s.b, names[k], len(w)), lrT, c.Beta1, c.Beta2, c.Epsilon)
		}
	}
}

// slotInit is slot with every element starting at v.
func (o *optimizer) slotInit(m map[string][]float32, name string, n int, v float32) []float32 {
	if s, ok := m[name]; ok && len(s) == n {
		return s
	}
	s := make([]float32, n)
	for i := range s {
		s[i] = v
	}
	m[name] = s
	return s
}
