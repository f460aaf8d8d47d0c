package finetune

import (
	"encoding/json"
	"math"
	"os/exec"
	"testing"
)

// optSteps runs cfg's optimizer on one param w0 with the gradients gs (one
// slice per step), the learning rate of each step from lrs (nil: cfg's),
// and returns the param after each step.
func optSteps(cfg Config, w0 []float32, gs [][]float32, lrs []float64) [][]float32 {
	cfg.defaults()
	o := newOptimizer(&cfg, cfg.LearningRate)
	w := append([]float32(nil), w0...)
	var out [][]float32
	for i, g := range gs {
		if lrs != nil {
			o.lr = lrs[i]
		}
		o.step([]string{"w"}, [][]float32{w}, [][]float32{append([]float32(nil), g...)})
		out = append(out, append([]float32(nil), w...))
	}
	return out
}

var (
	optW0 = []float32{0.5, -1.25, 2, 0.01}
	optGs = [][]float32{{0.1, -0.2, 0.3, 0.05}, {-0.4, 0.1, 0.25, 0}, {0.02, 0.3, -0.5, 1.5}, {0.3, -0.3, 0.1, -0.2}, {1, 0.5, -0.25, 0.125}}
)

// kerasRef computes Keras 3's update rules (keras/src/optimizers/*.py
// update_step, base_optimizer._apply_weight_decay) in float64, written
// out independently of optimizer_keras.go.
func kerasRef(opt string, c Config, lrs []float64) [][]float64 {
	c.defaults()
	n := len(optW0)
	w := make([]float64, n)
	for i, v := range optW0 {
		w[i] = float64(v)
	}
	s1, s2, s3 := make([]float64, n), make([]float64, n), make([]float64, n)
	if opt == "adagrad" {
		for i := range s1 {
			s1[i] = c.InitialAccumulator
		}
	}
	uprod := 1.0
	var out [][]float64
	for k, g32 := range optGs {
		lr := c.LearningRate
		if lrs != nil {
			lr = lrs[k]
		}
		t := float64(k + 1)
		for i := range w {
			w[i] -= w[i] * c.WeightDecay * lr
		}
		if opt == "nadam" {
			uprod *= c.Beta1 * (1 - 0.5*math.Pow(0.96, t))
		}
		for i := range w {
			g := float64(g32[i])
			switch opt {
			case "adagrad":
				s1[i] += g * g
				w[i] -= lr * g / math.Sqrt(s1[i]+c.Epsilon)
			case "rmsprop":
				s1[i] = c.Rho*s1[i] + (1-c.Rho)*g*g
				den := s1[i] + c.Epsilon
				if c.Centered {
					s3[i] = c.Rho*s3[i] + (1-c.Rho)*g
					den = s1[i] - s3[i]*s3[i] + c.Epsilon
				}
				inc := lr * g / math.Sqrt(den)
				if c.Momentum > 0 {
					s2[i] = c.Momentum*s2[i] + inc
					w[i] -= s2[i]
				} else {
					w[i] -= inc
				}
			case "nadam":
				ut := c.Beta1 * (1 - 0.5*math.Pow(0.96, t))
				ut1 := c.Beta1 * (1 - 0.5*math.Pow(0.96, t+1))
				s1[i] += (g - s1[i]) * (1 - c.Beta1)
				s2[i] += (g*g - s2[i]) * (1 - c.Beta2)
				mh := ut1*s1[i]/(1-uprod*ut1) + (1-ut)*g/(1-uprod)
				vh := s2[i] / (1 - math.Pow(c.Beta2, t))
				w[i] -= mh * lr / (math.Sqrt(vh) + c.Epsilon)
			case "adamw", "adam":
				alpha := lr * math.Sqrt(1-math.Pow(c.Beta2, t)) / (1 - math.Pow(c.Beta1, t))
				s1[i] += (g - s1[i]) * (1 - c.Beta1)
				s2[i] += (g*g - s2[i]) * (1 - c.Beta2)
				w[i] -= alpha * s1[i] / (math.Sqrt(s2[i]) + c.Epsilon)
			case "sgd":
				s1[i] = c.Momentum*s1[i] - lr*g
				if c.Nesterov {
					w[i] += c.Momentum*s1[i] - lr*g
				} else {
					w[i] += s1[i]
				}
			}
		}
		out = append(out, append([]float64(nil), w...))
	}
	return out
}

// TestOptimizersMatchKerasFormulas: every optimizer, with and without its
// options and a varying learning rate, follows Keras's update rule within
// 1e-6 over five steps.
func TestOptimizersMatchKerasFormulas(t *testing.T) {
	lrs := []float64{0.01, 0.02, 0.005, 0.03, 0.001}
	tests := []struct {
		name string
		cfg  Config
	}{
		{"adagrad", Config{Optimizer: "adagrad"}},
		{"adagrad acc 0.5", Config{Optimizer: "adagrad", InitialAccumulator: 0.5, LearningRate: 0.1}},
		{"rmsprop", Config{Optimizer: "rmsprop"}},
		{"rmsprop momentum centered", Config{Optimizer: "rmsprop", Momentum: 0.9, Centered: true, Rho: 0.8}},
		{"nadam", Config{Optimizer: "nadam"}},
		{"nadam lr 0.01", Config{Optimizer: "nadam", LearningRate: 0.01, Beta1: 0.8}},
		{"adamw", Config{Optimizer: "adamw"}},
		{"adamw wd 0.1", Config{Optimizer: "adamw", WeightDecay: 0.1, LearningRate: 0.01}},
		{"adam with weight decay", Config{Optimizer: "adam", WeightDecay: 0.05}},
		{"sgd nesterov with weight decay", Config{Optimizer: "sgd", Momentum: 0.9, Nesterov: true, WeightDecay: 0.01}},
	}
	for _, tt := range tests {
		for _, lr := range [][]float64{nil, lrs} {
			got := optSteps(tt.cfg, optW0, optGs, lr)
			want := kerasRef(tt.cfg.Optimizer, tt.cfg, lr)
			for s := range want {
				for i := range want[s] {
					if d := math.Abs(float64(got[s][i]) - want[s][i]); d > 1e-6 {
						t.Fatalf("%s (lrs %v): step %d w[%d] = %.9g; want %.9g (Keras's rule)", tt.name, lr, s+1, i, got[s][i], want[s][i])
					}
				}
			}
		}
	}
}

// TestOptimizersMatchTorch compares with PyTorch 1.13's optimizers where
// they compute the same thing: Adagrad, RMSprop (plain, momentum,
// centered), Adam and AdamW with epsilon ~0 (PyTorch adds epsilon outside
// the square root, Keras inside or to a bias-corrected denominator), SGD
// with momentum and Nesterov (PyTorch's velocity is Keras's / -lr).
// PyTorch's NAdam uses another momentum schedule (0.96^(0.004 t)) and is
// compared with the formula only.
func TestOptimizersMatchTorch(t *testing.T) {
	if err := exec.Command("/usr/bin/python3", "-c", "import torch").Run(); err != nil {
		t.Skipf("SKIPPING: /usr/bin/python3 with torch NOT AVAILABLE: %v", err)
	}
	const tiny = 1e-30
	tests := []struct {
		cfg   Config
		torch string // constructor, params list p
	}{
		{Config{Optimizer: "adagrad", LearningRate: 0.1, Epsilon: tiny}, "torch.optim.Adagrad(p, lr=0.1, initial_accumulator_value=0.1, eps=0)"},
		{Config{Optimizer: "rmsprop", LearningRate: 0.01, Epsilon: tiny}, "torch.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=0)"},
		{Config{Optimizer: "rmsprop", LearningRate: 0.01, Epsilon: tiny, Momentum: 0.9, Centered: true}, "torch.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=0, momentum=0.9, centered=True)"},
		{Config{Optimizer: "adam", LearningRate: 0.01, Epsilon: tiny}, "torch.optim.Adam(p, lr=0.01, eps=0)"},
		{Config{Optimizer: "adamw", LearningRate: 0.01, Epsilon: tiny, WeightDecay: 0.1}, "torch.optim.AdamW(p, lr=0.01, eps=0, weight_decay=0.1)"},
		{Config{Optimizer: "sgd", LearningRate: 0.05, Momentum: 0.9}, "torch.optim.SGD(p, lr=0.05, momentum=0.9)"},
		{Config{Optimizer: "sgd", LearningRate: 0.05, Momentum: 0.9, Nesterov: true}, "torch.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True)"},
	}
	gj, _ := json.Marshal(optGs)
	wj, _ := json.Marshal(optW0)
	var ctors []string
	for _, tt := range tests {
		ctors = append(ctors, tt.torch)
	}
	cj, _ := json.Marshal(ctors)
	// One Python process for all (importing torch takes seconds).
	script := `
import json, sys, torch
torch.set_default_dtype(torch.float64)
res = []
for ctor in json.loads(sys.argv[3]):
    w = torch.tensor(json.loads(sys.argv[1]), requires_grad=True)
    p = [w]
    opt = eval(ctor)
    out = []
    for g in json.loads(sys.argv[2]):
        w.grad = torch.tensor(g)
        opt.step()
        out.append(w.detach().tolist())
    res.append(out)
print(json.dumps(res))
`
	b, err := exec.Command("/usr/bin/python3", "-c", script, string(wj), string(gj), string(cj)).Output()
	if err != nil {
		t.Fatalf("PyTorch: %v", err)
	}
	var all [][][]float64
	if err := json.Unmarshal(b, &all); err != nil {
		t.Fatal(err)
	}
	for k, tt := range tests {
		want := all[k]
		got := optSteps(tt.cfg, optW0, optGs, nil)
		for s := range want {
			for i := range want[s] {
				if d := math.Abs(float64(got[s][i]) - want[s][i]); d > 1e-6 {
					t.Fatalf("%s: step %d w[%d] = %.9g; PyTorch %.9g", tt.torch, s+1, i, got[s][i], want[s][i])
				}
			}
		}
	}
}
