package finetune

import (
	"context"
	"encoding/json"
	"math"
	"testing"

	"github.com/xferml/xfer/model"
)

// setKerasConfig sets key in layer l's Keras config JSON.
func setKerasConfig(t *testing.T, l *model.Layer, key string, v any) {
	t.Helper()
	cfg := map[string]any{}
	if len(l.Config) > 0 {
		if err := json.Unmarshal(l.Config, &cfg); err != nil {
			t.Fatal(err)
		}
	}
	cfg[key] = v
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	l.Config = b
}

// TestKernelRegularizerAndMaxNorm: one full-batch SGD step with an
// L1L2 kernel_regularizer in the Keras config moves the kernel by
// -lr*(l1*sign(w) + 2*l2*w) more than without it; a MaxNorm
// kernel_constraint leaves every column's norm at most max_value.
func TestKernelRegularizerAndMaxNorm(t *testing.T) {
	set := randomSet(t, 16, 2, []int{4})
	cfg := Config{Epochs: 1, BatchSize: 16, NoShuffle: true, LearningRate: 0.1}
	plain := seqModel(t, 2, []int{4}, denseStage("d0", 3, "relu"), denseStage("d1", 2, "softmax"))
	reg := plain.Clone()
	const l1, l2 = 0.01, 0.05
	li := 0 // the first layer with a kernel
	for len(plain.Layers[li].Params) == 0 {
		li++
	}
	setKerasConfig(t, reg.Layers[li], "kernel_regularizer", map[string]any{"class_name": "L1L2", "config": map[string]any{"l1": l1, "l2": l2}})
	a, ha, err := Train(context.Background(), plain, set, nil, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, hb, err := Train(context.Background(), reg, set, nil, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	w0 := plain.Layers[li].Params[0].Data
	var pen float64
	for i, w := range w0 {
		s := 0.0
		if w > 0 {
			s = 1
		} else if w < 0 {
			s = -1
		}
		pen += l1*math.Abs(float64(w)) + l2*float64(w)*float64(w)
		want := float64(a.Layers[li].Params[0].Data[i]) - 0.1*(l1*s+2*l2*float64(w))
		if got := float64(b.Layers[li].Params[0].Data[i]); math.Abs(got-want) > 1e-6 {
			t.Fatalf("kernel[%d] = %v; want %v (the L1L2 gradient's step)", i, got, want)
		}
	}
	if d := hb.Epochs[0].Loss - ha.Epochs[0].Loss; math.Abs(d-pen) > 1e-5 {
		t.Errorf("loss with the regularizer is %v more; want the penalty %v", d, pen)
	}
	// MaxNorm(0.5) on axis 0 (Keras's default): columns of [in, out].
	mn := plain.Clone()
	setKerasConfig(t, mn.Layers[li], "kernel_constraint", map[string]any{"class_name": "MaxNorm", "config": map[string]any{"max_value": 0.5, "axis": 0}})
	c, _, err := Train(context.Background(), mn, set, nil, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	k := c.Layers[li].Params[0]
	for col := 0; col < k.Shape[1]; col++ {
		var s float64
		for r := 0; r < k.Shape[0]; r++ {
			v := float64(k.Data[r*k.Shape[1]+col])
			s += v * v
		}
		if n := math.Sqrt(s); n > 0.5+1e-6 {
			t.Errorf("column %d norm %v after MaxNorm(0.5)", col, n)
		}
	}
	// Unknown regularizers are refused, not ignored.
	bad := plain.Clone()
	setKerasConfig(t, bad.Layers[li], "kernel_regularizer", map[string]any{"class_name": "OrthogonalRegularizer", "config": map[string]any{}})
	if _, _, err := Train(context.Background(), bad, set, nil, cfg, nil); err == nil {
		t.Error("OrthogonalRegularizer: no error")
	}
}
