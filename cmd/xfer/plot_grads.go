package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/xferml/xfer/finetune"
)

// gradsPlotPath is the second figure of finetune --plot FILE --grad-stats:
// FILE with "-grads" before its extension.
func gradsPlotPath(path string) string {
	ext := filepath.Ext(path)
	return strings.TrimSuffix(path, ext) + "-grads" + ext
}

// plotGradStats draws --grad-stats: per layer and epoch the gradient L2
// norm and the update/weight ratio, log scale, one line per layer.
func plotGradStats(path string, h *finetune.History) error {
	panels := make([]*plot.Plot, 2)
	for k, what := range []string{"gradient L2 norm", "update / weight ratio"} {
		p := plot.New()
		p.Title.Text = what
		p.X.Label.Text = "epoch"
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
		p.Legend.Top = true
		series := map[string]plotter.XYs{}
		var order []string
		for _, e := range h.GradStats {
			for _, s := range e.Params {
				v := s.GradNorm
				if k == 1 {
					v = s.UpdateRatio
				}
				if v <= 0 {
					continue // no point on a log scale
				}
				if _, ok := series[s.Layer]; !ok {
					order = append(order, s.Layer)
				}
				series[s.Layer] = append(series[s.Layer], plotter.XY{X: float64(e.Epoch), Y: v})
			}
		}
		for i, name := range order {
			l, err := plotter.NewLine(series[name])
			if err != nil {
				return fmt.Errorf("plot %s: %s: %w", path, name, err)
			}
			l.Color, l.Width = curveColors[i%len(curveColors)], vg.Points(1.5)
			if i >= len(curveColors) {
				l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
			}
			p.Add(l)
			if k == 0 {
				p.Legend.Add(name, l)
			}
		}
		p.Add(plotter.NewGrid())
		panels[k] = p
	}
	return writePanels(path, panels, vg.Points(900))
}
