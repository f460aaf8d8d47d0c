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

	"github.com/xferml/xfer/demo"
	"github.com/xferml/xfer/internal/atomicfile"
)

// plotAblation draws demo --ablation: one panel per initializer, the
// activations along x, one line per BatchNormalization x clipping
// setting, the mean validation accuracy over the seeds.
func plotAblation(path string, rows []demo.AblationRow) error {
	format, ok := plotFormats[strings.ToLower(filepath.Ext(path))]
	if !ok {
		return usagef("plot %s: want a .png, .svg or .pdf file", path)
	}
	panels := make([]*plot.Plot, len(demo.AblationInits))
	for k, init := range demo.AblationInits {
		p := plot.New()
		p.Title.Text = init
		p.Y.Label.Text = "val_accuracy"
		p.NominalX(demo.AblationActivations...)
		p.Legend.Top = true
		p.Legend.Left = true
		i := 0
		for _, bn := range []bool{false, true} {
			for _, clip := range []bool{false, true} {
				var xy plotter.XYs
				for x, act := range demo.AblationActivations {
					for _, r := range rows {
						if r.Init == init && r.Activation == act && r.BatchNorm == bn && r.Clipping == clip {
							xy = append(xy, plotter.XY{X: float64(x), Y: r.Accuracy.Mean})
						}
					}
				}
				if len(xy) == 0 {
					continue
				}
				l, pts, err := plotter.NewLinePoints(xy)
				if err != nil {
					return fmt.Errorf("plot %s: %w", path, err)
				}
				l.Color, pts.Color = curveColors[i%len(curveColors)], curveColors[i%len(curveColors)]
				p.Add(l, pts)
				p.Legend.Add(fmt.Sprintf("BN %v, clip %v", bn, clip), l, pts)
				i++
			}
		}
		p.Add(plotter.NewGrid())
		panels[k] = p
	}
	img, err := draw.NewFormattedCanvas(vg.Points(1200), vg.Points(380), format)
	if err != nil {
		return fmt.Errorf("plot %s: %w", path, err)
	}
	tiles := draw.Tiles{Rows: 1, Cols: len(panels), PadX: vg.Points(10), PadY: vg.Points(10), PadTop: vg.Points(5), PadBottom: vg.Points(5), PadLeft: vg.Points(5), PadRight: vg.Points(5)}
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
