package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/xferml/xfer/finetune"
)

// progress prints training progress as Keras's fit does: on a terminal
// (live) a bar redrawn in place, otherwise one line per epoch. It is the
// finetune.Reporter of finetune and demo.
type progress struct {
	w     io.Writer
	live  bool
	last  time.Time
	dirty bool // a live bar is on the current line
}

// endLine clears a live bar left on the current line (a run stopped within
// an epoch), so that what is printed next starts on its own line.
func (p *progress) endLine() {
	if p.dirty {
		io.WriteString(p.w, "\r\033[K")
		p.dirty = false
	}
}

// newProgress returns a progress printer on w, live when w is a terminal.
func newProgress(w io.Writer) *progress {
	live := false
	if f, ok := w.(*os.File); ok {
		live = term.IsTerminal(int(f.Fd()))
	}
	return &progress{w: w, live: live}
}

func (p *progress) EpochStart(epoch, epochs, steps int) {
	if p.live {
		fmt.Fprintf(p.w, "Epoch %d/%d\n", epoch, epochs)
	}
}

func (p *progress) Step(step, steps int, loss, acc float64) {
	if !p.live || (step != steps && time.Since(p.last) < 100*time.Millisecond) {
		return
	}
	p.last = time.Now()
	const width = 30
	done := width * step / steps
	bar := strings.Repeat("=", done)
	if done < width {
		bar += ">" + strings.Repeat(".", width-done-1)
	}
	fmt.Fprintf(p.w, "\r%d/%d [%s] - loss: %.4f - accuracy: %.4f", step, steps, bar, loss, acc)
	p.dirty = true
}

func (p *progress) EpochEnd(e finetune.Epoch, epochs int) {
	var b strings.Builder
	if p.live {
		b.WriteString("\r\033[K")
	} else {
		fmt.Fprintf(&b, "Epoch %d/%d - ", e.Epoch, epochs)
	}
	fmt.Fprintf(&b, "loss: %.4f - accuracy: %.4f", e.Loss, e.Accuracy)
	if e.ValLoss != nil {
		fmt.Fprintf(&b, " - val_loss: %.4f - val_accuracy: %.4f", *e.ValLoss, *e.ValAccuracy)
	}
	fmt.Fprintf(&b, " - %.1fs - %.0f samples/s\n", e.Seconds, e.SamplesPerSecond)
	io.WriteString(p.w, b.String())
	p.dirty = false
}

func (p *progress) Message(msg string) {
	p.endLine()
	fmt.Fprintln(p.w, msg)
}
