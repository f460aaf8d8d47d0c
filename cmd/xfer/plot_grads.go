package main

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/xferml/xfer/finetune"
	"github.com/xferml/xfer/internal/atomicfile"
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
	format, ok := plotFormats[strings.ToLower(filepath.Ext(path))]
	if !ok {
		return usagef("plot %s: want a .png, .svg or .pdf file", path)
	}
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
	img, err := draw.NewFormattedCanvas(vg.Points(900), vg.Points(380), format)
	if err != nil {
		return fmt.Errorf("plot %s: %w", path, err)
	}
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Points(10), PadY: vg.Points(10), PadTop: vg.Points(5), PadBottom: vg.Points(5), PadLeft: vg.Points(5), PadRight: vg.Points(5)}
	canvases := plot.Align([][]*plot.Plot{panels}, tiles, draw.New(img))
	for j, p := range panels {
		p.Draw(canvases[0][j])
	}
	var buf bytes.Buffer
	if _, err := img.WriteTo(&buf); err != nil {
		return fmt.Errorf("plot %s: %w", path, err)
	}
	return atomicfile.WriteBytes(path, buf.Bytes())
}
