package finetune

import (
	"context"
	"errors"
	"testing"

	"github.com/xferml/xfer/dataset"
)

// TestTrainLearnsTaskA trains the book's model A briefly on 5,000 task A
// images: accuracy on the validation set must beat chance (1/8) by far.
func TestTrainLearnsTaskA(t *testing.T) {
	f, err := dataset.LoadFashion(dataset.Options{})
	switch {
	case errors.Is(err, dataset.ErrNotFound):
		t.Skipf("SKIPPING: Fashion-MNIST not installed: %v", err)
	case err != nil:
		// Installed but unreadable: a failure, not a reason to skip.
		t.Fatalf("LoadFashion() = %v", err)
	}
	tr, _ := f.Task("A", "train")
	va, _ := f.Task("A", "valid")
	m := mlp(t, 1, []int{28, 28}, []int{300, 100, 50, 50, 50, 8}, []string{"selu", "selu", "selu", "selu", "selu", "softmax"})
	_, h, err := Train(context.Background(), m, tr.Head(5000), va.Head(1000), Config{Epochs: 2, LearningRate: 1e-3}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// PyTorch, same recipe and data: about 0.80 validation accuracy after 2 epochs.
	if got := *h.Epochs[1].ValAccuracy; got < 0.75 {
		t.Errorf("val_accuracy after 2 epochs = %.3f; want >= 0.75", got)
	}
	if h.LossFunction != LossSparseCategoricalCrossentropy || h.Epochs[1].Loss >= h.Epochs[0].Loss {
		t.Errorf("history = %+v; want sparse categorical cross-entropy, falling loss", h)
	}
}
