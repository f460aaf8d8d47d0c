package finetune

import (
	"math"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

func TestScheduleAt(t *testing.T) {
	tests := []struct {
		spec string
		lr0  float64
		step int
		want float64 // Keras's formula, by hand
	}{
		{"exponential:10:0.5", 0.1, 0, 0.1},
		{"exponential:10:0.5", 0.1, 5, 0.1 * math.Pow(0.5, 0.5)},
		{"exponential:10:0.5:staircase", 0.1, 19, 0.05},
		{"exponential:10:0.5:staircase", 0.1, 20, 0.025},
		{"piecewise:5,15:0.1,0.01,0.001", 1, 5, 0.1}, // step <= boundary[0]
		{"piecewise:5,15:0.1,0.01,0.001", 1, 6, 0.01},
		{"piecewise:5,15:0.1,0.01,0.001", 1, 15, 0.01},
		{"piecewise:5,15:0.1,0.01,0.001", 1, 16, 0.001},
		{"power:20", 0.01, 20, 0.005},
		{"power:20:2", 0.01, 20, 0.0025},
	}
	for _, tt := range tests {
		s, err := ParseSchedule(tt.spec)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.At(tt.step, tt.lr0); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("%s.At(%d, %g) = %g; want %g", tt.spec, tt.step, tt.lr0, got, tt.want)
		}
		if s.String() == "" {
			t.Errorf("%s: empty String", tt.spec)
		}
	}
	for _, bad := range []string{"exponential:0:0.5", "exponential:10", "piecewise:5:0.1", "piecewise:5,3:1,2,3", "power:-1", "1cycle:0", "cosine:3", "exponential:10:0.5:stairs"} {
		if _, err := ParseSchedule(bad); err == nil {
			t.Errorf("ParseSchedule(%q): no error", bad)
		}
	}
}

// TestOneCycle follows Géron's OneCycleScheduler: 100 iterations, max
// 0.1: start 0.01, peak at iteration 44 ((100 - 11) // 2), back to 0.01 at
// 88, then down to 1e-5 at the end.
func TestOneCycle(t *testing.T) {
	s, _ := ParseSchedule("1cycle:0.1")
	s.iterations = 100
	for _, c := range []struct {
		it   int
		want float64
	}{{0, 0.01}, {22, 0.055}, {44, 0.1}, {66, 0.055}, {88, 0.01}, {94, 0.01 + (1e-5-0.01)*6/12}} {
		if got := s.At(c.it, 0); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("1cycle at %d = %g; want %g", c.it, got, c.want)
		}
	}
}

// TestSchedulesMatchKeras evaluates the Keras classes themselves when the
// Keras runtime is there (ExponentialDecay, PiecewiseConstantDecay,
// InverseTimeDecay for power with c = 1).
func TestSchedulesMatchKeras(t *testing.T) {
	env := "/tmp/keras-runtime/env.sh"
	if _, err := os.Stat(env); err != nil {
		t.Skipf("SKIPPING: Keras runtime NOT AVAILABLE (%s)", env)
	}
	script := `. ` + env + `; PYTHONPATH=$KERAS_PYTHONPATH /usr/bin/python3 -c '
import keras
s = keras.optimizers.schedules
for f in (s.ExponentialDecay(0.1, 10, 0.5), s.ExponentialDecay(0.1, 10, 0.5, staircase=True),
          s.PiecewiseConstantDecay([5, 15], [0.1, 0.01, 0.001]), s.InverseTimeDecay(0.01, 20, 1.0)):
    print(" ".join(repr(float(f(i))) for i in range(0, 40, 3)))
'`
	b, err := exec.Command("bash", "-c", script).Output()
	if err != nil {
		t.Fatalf("keras: %v", err)
	}
	specs := []struct {
		spec string
		lr0  float64
	}{{"exponential:10:0.5", 0.1}, {"exponential:10:0.5:staircase", 0.1}, {"piecewise:5,15:0.1,0.01,0.001", 0}, {"power:20", 0.01}}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	for k, line := range lines {
		s, _ := ParseSchedule(specs[k].spec)
		for j, f := range strings.Fields(line) {
			want, _ := strconv.ParseFloat(f, 64)
			if got := s.At(3*j, specs[k].lr0); math.Abs(got-want) > 1e-6*want+1e-12 { // Keras computes in float32
				t.Errorf("%s at step %d = %g; Keras %g", specs[k].spec, 3*j, got, want)
			}
		}
	}
}

func TestEarlyStoppingAndPlateau(t *testing.T) {
	// Keras 3 EarlyStopping(patience=2) on val_loss 1, 0.8, 0.85, 0.9, ...:
	// best at epoch index 1, stops at index 3.
	es := &earlyStopping{monitor: "val_loss", patience: 2, best: math.NaN()}
	var stopAt = -1
	for ep, v := range []float64{1, 0.8, 0.85, 0.9, 0.7} {
		if _, stop := es.update(ep, v); stop {
			stopAt = ep
			break
		}
	}
	if stopAt != 3 || es.bestEp != 1 {
		t.Errorf("early stopping at %d (best %d); want 3 (best 1)", stopAt, es.bestEp)
	}
	// Accuracy improves upward.
	if !improves("val_accuracy", 0.9, 0.8, 0) || improves("val_accuracy", 0.8, 0.9, 0) || improves("val_loss", 0.5, 0.5, 0) {
		t.Error("improves: wrong direction")
	}
	// ReduceLROnPlateau(patience=1, factor=0.5, min_lr=0.02): 0.1 -> 0.05
	// -> 0.025 -> 0.02.
	p := &plateau{monitor: "val_loss", patience: 1, factor: 0.5, minLR: 0.02, best: math.NaN()}
	lr := 0.1
	var got []float64
	for _, v := range []float64{1, 1, 1, 0.5, 0.6, 0.6, 0.6} {
		lr = p.update(v, lr)
		got = append(got, lr)
	}
	want := []float64{0.1, 0.05, 0.025, 0.025, 0.02, 0.02, 0.02} // 0.025*0.5 stops at min_lr
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-12 {
			t.Fatalf("plateau rates %v; want %v", got, want)
		}
	}
}
