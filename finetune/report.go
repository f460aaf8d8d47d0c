package finetune

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// Reporter receives a training run's progress.
type Reporter interface {
	EpochStart(epoch, epochs, steps int)
	Step(step, steps int, loss, accuracy float64)
	EpochEnd(e Epoch, epochs int)
	Message(msg string)
}

type nopReporter struct{}

func (nopReporter) EpochStart(int, int, int)        {}
func (nopReporter) Step(int, int, float64, float64) {}
func (nopReporter) EpochEnd(Epoch, int)             {}
func (nopReporter) Message(string)                  {}

// TextReporter prints Keras-like progress: on a terminal (Live) a bar
// redrawn in place, otherwise one line per epoch.
type TextReporter struct {
	W    io.Writer
	Live bool
	last time.Time
	ep   int
	eps  int
}

// NewTextReporter returns a reporter writing to w; live draws a bar.
func NewTextReporter(w io.Writer, live bool) *TextReporter { return &TextReporter{W: w, Live: live} }

func (r *TextReporter) EpochStart(epoch, epochs, steps int) {
	r.ep, r.eps = epoch, epochs
	if r.Live {
		fmt.Fprintf(r.W, "Epoch %d/%d\n", epoch, epochs)
	}
}

func (r *TextReporter) Step(step, steps int, loss, acc float64) {
	if !r.Live || (step != steps && time.Since(r.last) < 100*time.Millisecond) {
		return
	}
	r.last = time.Now()
	const width = 30
	done := width * step / steps
	bar := strings.Repeat("=", done)
	if done < width {
		bar += ">" + strings.Repeat(".", width-done-1)
	}
	fmt.Fprintf(r.W, "\r%d/%d [%s] - loss: %.4f - accuracy: %.4f", step, steps, bar, loss, acc)
}

func (r *TextReporter) EpochEnd(e Epoch, epochs int) {
	var b strings.Builder
	if r.Live {
		b.WriteString("\r\033[K")
	} else {
		fmt.Fprintf(&b, "Epoch %d/%d - ", e.Epoch, epochs)
	}
	fmt.Fprintf(&b, "loss: %.4f - accuracy: %.4f", e.Loss, e.Accuracy)
	if e.ValLoss != nil {
		fmt.Fprintf(&b, " - val_loss: %.4f - val_accuracy: %.4f", *e.ValLoss, *e.ValAccuracy)
	}
	fmt.Fprintf(&b, " - %.1fs - %.0f samples/s\n", e.Seconds, e.SamplesPerSecond)
	io.WriteString(r.W, b.String())
}

func (r *TextReporter) Message(msg string) { fmt.Fprintln(r.W, msg) }
