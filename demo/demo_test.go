package demo

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xferml/xfer/dataset"
	onnximp "github.com/xferml/xfer/importers/onnx"
)

func TestRunShort(t *testing.T) {
	if _, err := dataset.LoadFashion(dataset.Options{}); errors.Is(err, dataset.ErrNotFound) {
		t.Skipf("SKIPPING: Fashion-MNIST NOT INSTALLED: %v", err)
	}
	out := t.TempDir()
	res, err := Run(context.Background(), Options{Out: out, Seeds: []int64{1, 2}, EpochsScale: 0.05, TrainSubset: 3000})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"model_A.h5", "model_B_on_A.h5", "model_B_on_A.onnx"} {
		if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Size() == 0 {
			t.Errorf("Run wrote no %s: %v", f, err)
		}
	}
	if len(res.Runs) != 2 || res.Summary == nil || res.Summary.Seeds != 2 {
		t.Fatalf("Run(seeds 1,2) = %d runs, summary %+v; want 2 runs", len(res.Runs), res.Summary)
	}
	// One epoch each on 3,000 images: A must be well above chance (1/8),
	// B on A above chance (1/2).
	if res.ModelA.TestAccuracy < 0.6 || res.ModelBOnA.TestAccuracy < 0.6 {
		t.Errorf("test accuracy A %.3f, B on A %.3f; want >= 0.6", res.ModelA.TestAccuracy, res.ModelBOnA.TestAccuracy)
	}
	if h := res.ModelBOnA.History; h == nil || len(h.Epochs) != 2 { // 1 frozen + 1 unfrozen
		t.Errorf("B on A history = %+v; want 2 epochs", h)
	}
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"model_A":{"test_accuracy"`, `"model_B":`, `"model_B_on_A":`, `"error_rate_ratio":`, `"seconds":`, `"runs":[`, `"summary":{"model_B":{"mean"`, `"wins":`, `"seeds":2`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("JSON lacks %s: %s", key, b[:min(len(b), 300)])
		}
	}
	// The files carry their provenance: model A's training, then the surgery
	// and the two-phase fine-tuning, each step chained by digests.
	m, err := onnximp.ReadFile(filepath.Join(out, "model_B_on_A.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	var ops []string
	for i, ev := range m.History {
		ops = append(ops, ev.Op)
		if i > 0 && ev.Before != m.History[i-1].After {
			t.Errorf("history[%d] (%s) before %s; want the previous step's after %s", i, ev.Op, ev.Before, m.History[i-1].After)
		}
	}
	if got, want := strings.Join(ops, ","), "finetune,drop-head,add-head,freeze,finetune"; got != want {
		t.Errorf("model_B_on_A.onnx history = %s; want %s", got, want)
	}
	var sb strings.Builder
	res.WriteTable(&sb)
	if !strings.Contains(sb.String(), "transfer better on") {
		t.Errorf("table = %q", sb.String())
	}
}

func TestScaled(t *testing.T) {
	for _, tt := range []struct {
		e    int
		f    float64
		want int
	}{{20, 1, 20}, {20, 0, 20}, {4, 0.05, 1}, {16, 0.5, 8}, {20, 0.01, 1}, {4, 0.3, 2}} {
		if got := scaled(tt.e, tt.f); got != tt.want {
			t.Errorf("scaled(%d, %v) = %d; want %d", tt.e, tt.f, got, tt.want)
		}
	}
}

func TestModelA(t *testing.T) {
	for _, tt := range []struct {
		init     string
		units    int
		head     string
		params   int     // Keras's count: 784*300+300 + 300*100+100 + 100*50+50 + 2*(50*50+50) + 50*u+u
		stdFirst float64 // of the first kernel: glorot_uniform sqrt(2/(784+300)), lecun_normal sqrt(1/784)
	}{
		{"", 8, "softmax", 276158, math.Sqrt(2.0 / (784 + 300))},
		{"lecun_normal", 1, "sigmoid", 275801, math.Sqrt(1.0 / 784)},
	} {
		m, err := ModelA(rand.New(rand.NewSource(1)), tt.init, tt.units, tt.head)
		if err != nil {
			t.Fatal(err)
		}
		if total, _, _ := m.ParamCounts(); total != tt.params {
			t.Errorf("ModelA(%q, %d) has %d params; want %d", tt.init, tt.units, total, tt.params)
		}
		k := m.Layers[1].Param("kernel").Data
		var ss float64
		for _, v := range k {
			ss += float64(v) * float64(v)
		}
		if sd := math.Sqrt(ss / float64(len(k))); math.Abs(sd-tt.stdFirst) > 0.05*tt.stdFirst {
			t.Errorf("ModelA(%q) first kernel std = %.4f; want %.4f", tt.init, sd, tt.stdFirst)
		}
	}
}
