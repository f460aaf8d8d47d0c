package demo

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/xferml/xfer/dataset"
)

// TestAblationSmall runs the ablation grid at a tiny size (one seed, 1,000
// images, two epochs, 2 hidden layers): every configuration builds and
// trains, and the table lists all 72.
func TestAblationSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("the grid trains 72 models")
	}
	rows, err := Ablation(context.Background(), AblationOptions{Seeds: 1, Train: 1000, Valid: 300, Epochs: 2, Depth: 2, Width: 16})
	if errors.Is(err, dataset.ErrNotFound) {
		t.Skipf("SKIPPING: Fashion-MNIST NOT INSTALLED: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if want := len(AblationInits) * len(AblationActivations) * 4; len(rows) != want {
		t.Fatalf("%d rows; want %d", len(rows), want)
	}
	var b strings.Builder
	WriteAblationTable(&b, rows)
	if got := strings.Count(b.String(), "\n"); got != len(rows)+2 {
		t.Errorf("table has %d lines; want %d", got, len(rows)+2)
	}
	// On average the configurations learn (chance is 0.1).
	var mean float64
	for _, r := range rows {
		mean += r.Accuracy.Mean / float64(len(rows))
	}
	if mean < 0.25 { // measured 0.326 at this tiny size
		t.Errorf("mean val_accuracy over the grid %.3f; want >= 0.25", mean)
	}
}

// TestAblationWorkers: configurations trained side by side give the rows
// one worker gives, in grid order (every run is seeded; products are
// single-threaded either way).
func TestAblationWorkers(t *testing.T) {
	inits, acts := AblationInits, AblationActivations
	AblationInits, AblationActivations = []string{"he_normal"}, []string{"elu", "prelu"}
	defer func() { AblationInits, AblationActivations = inits, acts }()
	var got [2][]AblationRow
	for i, workers := range []int{1, 2} {
		rows, err := Ablation(context.Background(), AblationOptions{Seeds: 2, Train: 300, Valid: 100, Epochs: 1, Depth: 2, Width: 8, Workers: workers})
		if errors.Is(err, dataset.ErrNotFound) {
			t.Skipf("SKIPPING: Fashion-MNIST NOT INSTALLED: %v", err)
		}
		if err != nil {
			t.Fatal(err)
		}
		got[i] = rows
	}
	if len(got[1]) != 8 || !reflect.DeepEqual(got[0], got[1]) {
		t.Errorf("2 workers: %+v\n1 worker: %+v; want the same 8 rows", got[1], got[0])
	}
	for i, r := range got[1] {
		if want := []bool{false, true}[i/2%2]; r.BatchNorm != want || r.Activation != []string{"elu", "prelu"}[i/4] {
			t.Errorf("row %d = %s bn=%v; want grid order", i, r.Activation, r.BatchNorm)
		}
	}
}
