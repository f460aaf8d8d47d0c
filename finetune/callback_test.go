package finetune

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/xferml/xfer/model"
)

// TestTrainEarlyStoppingRestoreBest: on random labels the validation loss
// soon rises; training stops patience epochs after the best one, returns
// the best epoch's model (restore_best_weights), and --save-best-only
// wrote only improving epochs, the last of them the best.
func TestTrainEarlyStoppingRestoreBest(t *testing.T) {
	m := seqModel(t, 4, []int{6}, denseStage("d0", 32, "relu"), denseStage("d1", 3, "softmax"))
	train := randomSet(t, 64, 3, []int{6})
	valid := randomSet(t, 64, 3, []int{6})
	valid.Y = slices.Clone(valid.Y)
	for i := range valid.Y { // labels unrelated to the training labels
		valid.Y[i] = float32((i * 7) % 3)
	}
	saved := map[int]*model.Model{}
	var order []int
	cfg := Config{Epochs: 30, Optimizer: "adam", LearningRate: 0.05, EarlyStopping: 2, RestoreBest: true, SaveBestOnly: true,
		Checkpoint: func(ep int, m *model.Model) error { saved[ep] = m; order = append(order, ep); return nil }}
	got, h, err := Train(context.Background(), m, train, valid, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if h.StoppedEpoch == 0 || h.StoppedEpoch != h.BestEpoch+2 || len(h.Epochs) != h.StoppedEpoch {
		t.Fatalf("stopped after %d of %d epochs, best %d; want 2 after the best", h.StoppedEpoch, len(h.Epochs), h.BestEpoch)
	}
	for i := 1; i < len(order); i++ {
		a, b := *h.Epochs[order[i-1]-1].ValLoss, *h.Epochs[order[i]-1].ValLoss
		if b >= a {
			t.Errorf("save-best-only wrote epoch %d (val_loss %v) after epoch %d (%v)", order[i], b, order[i-1], a)
		}
	}
	if order[len(order)-1] != h.BestEpoch {
		t.Errorf("last checkpoint epoch %d; want the best %d", order[len(order)-1], h.BestEpoch)
	}
	best := saved[h.BestEpoch]
	for i, l := range got.Layers {
		for j, p := range l.Params {
			if !slices.Equal(p.Data, best.Layers[i].Params[j].Data) {
				t.Fatalf("returned model's %s differs from the best epoch's", p.Name)
			}
		}
	}
	// Without validation data val_loss cannot be watched: an error, not a
	// silent run.
	if got, _, err := Train(context.Background(), m, train, nil, Config{Epochs: 2, EarlyStopping: 1}, nil); !errors.Is(err, ErrMismatch) || got != nil {
		t.Errorf("early stopping on val_loss without validation data: %v; want ErrMismatch before training", err)
	}
}
