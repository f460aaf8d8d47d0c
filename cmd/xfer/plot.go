package main

import (
	"fmt"
	"image/color"
	"io"
	"os"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/xferml/xfer/finetune"
	"github.com/xferml/xfer/internal/atomicfile"
)

// plotHistory draws loss, accuracy, val_loss and val_accuracy per epoch, as
// the book's learning-curve figures do (pd.DataFrame(history.history).plot()
// with the y axis from 0 to 1).
func plotHistory(path string, h *finetune.History) error {
	if ext := strings.ToLower(filepath.Ext(path)); ext != ".png" && ext != ".svg" && ext != ".pdf" {
		return usagef("--plot %s: want a .png, .svg or .pdf file", path)
	}
	p := plot.New()
	p.Title.Text = "Learning curves"
	p.X.Label.Text = "epoch"
	p.Y.Min, p.Y.Max = 0, 1
	p.Legend.Top = true
	series := []struct {
		name string
		get  func(e finetune.Epoch) (float64, bool)
		rgb  color.RGBA
		dash bool
	}{
		{"loss", func(e finetune.Epoch) (float64, bool) { return e.Loss, true }, color.RGBA{31, 119, 180, 255}, false},
		{"accuracy", func(e finetune.Epoch) (float64, bool) { return e.Accuracy, true }, color.RGBA{255, 127, 14, 255}, false},
		{"val_loss", func(e finetune.Epoch) (float64, bool) { return deref(e.ValLoss) }, color.RGBA{44, 160, 44, 255}, true},
		{"val_accuracy", func(e finetune.Epoch) (float64, bool) { return deref(e.ValAccuracy) }, color.RGBA{214, 39, 40, 255}, true},
	}
	for _, s := range series {
		var pts plotter.XYs
		for _, e := range h.Epochs {
			if y, ok := s.get(e); ok {
				pts = append(pts, plotter.XY{X: float64(e.Epoch), Y: y})
			}
		}
		if len(pts) == 0 {
			continue
		}
		l, err := plotter.NewLine(pts)
		if err != nil {
			return fmt.Errorf("plot: %w", err)
		}
		l.Color = s.rgb
		if s.dash {
			l.Dashes = []vg.Length{vg.Points(4), vg.Points(2)}
		}
		p.Add(l)
		p.Legend.Add(s.name, l)
	}
	p.Add(plotter.NewGrid())
	return atomicfile.Write(path, func(tmp string) error {
		// plot.Save picks the image format from the name's extension.
		w, err := p.WriterTo(8*vg.Inch, 5*vg.Inch, strings.TrimPrefix(filepath.Ext(path), "."))
		if err != nil {
			return fmt.Errorf("plot: %w", err)
		}
		return saveTo(tmp, w)
	})
}

func deref(p *float64) (float64, bool) {
	if p == nil {
		return 0, false
	}
	return *p, true
}

func saveTo(path string, w interface {
	WriteTo(io.Writer) (int64, error)
}) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	if _, err := w.WriteTo(f); err != nil {
		f.Close()
		return fmt.Errorf("plot: %w", err)
	}
	return f.Close()
}
