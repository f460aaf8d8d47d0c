package main

import (
	"strings"
	"testing"

	"github.com/xferml/xfer/finetune"
)

func TestProgress(t *testing.T) {
	v, a := 0.25, 0.9
	e := finetune.Epoch{Epoch: 3, Loss: 0.21, Accuracy: 0.93, ValLoss: &v, ValAccuracy: &a, Seconds: 1.2, SamplesPerSecond: 48000}
	for _, tt := range []struct {
		live bool
		want string
	}{
		{false, "Epoch 3/20 - loss: 0.2100 - accuracy: 0.9300 - val_loss: 0.2500 - val_accuracy: 0.9000 - 1.2s - 48000 samples/s\n"},
		{true, "Epoch 3/20\n\r1/2 [===============>..............] - loss: 0.5000 - accuracy: 0.5000\r2/2 [==============================] - loss: 0.3000 - accuracy: 0.7500\r\033[Kloss: 0.2100 - accuracy: 0.9300 - val_loss: 0.2500 - val_accuracy: 0.9000 - 1.2s - 48000 samples/s\n"},
	} {
		var b strings.Builder
		p := &progress{w: &b, live: tt.live}
		p.EpochStart(3, 20, 2)
		p.Step(1, 2, 0.5, 0.5)
		p.Step(2, 2, 0.3, 0.75)
		p.EpochEnd(e, 20)
		if b.String() != tt.want {
			t.Errorf("live %v: printed %q; want %q", tt.live, b.String(), tt.want)
		}
	}
}

// TestProgressEndLine: a run stopped within an epoch leaves its live bar on
// the line; endLine clears it so that the message after it stands alone,
// and does nothing when no bar is there.
func TestProgressEndLine(t *testing.T) {
	for _, tt := range []struct {
		live bool
		want string
	}{
		{true, "Epoch 1/2\n\r1/4 [=======>......................] - loss: 0.5000 - accuracy: 0.5000\r\033[Kstopped\n"},
		{false, "stopped\n"},
	} {
		var b strings.Builder
		p := &progress{w: &b, live: tt.live}
		p.EpochStart(1, 2, 4)
		p.Step(1, 4, 0.5, 0.5)
		p.endLine()
		p.Message("stopped")
		p.endLine()
		if b.String() != tt.want {
			t.Errorf("live %v: printed %q; want %q", tt.live, b.String(), tt.want)
		}
	}
}
