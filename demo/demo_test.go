package demo

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xferml/xfer/dataset"
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
	for _, f := range []string{"model_A.h5", "model_B_on_A.h5", "model_B_on_A.onnx", "curves.png"} {
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
