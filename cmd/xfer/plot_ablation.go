package main

import (
	"fmt"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/xferml/xfer/demo"
)

// plotAblation draws demo --ablation: one panel per initializer, the
// activations along x, one line per BatchNormalization x clipping
// setting, the mean validation accuracy over the seeds.
func plotAblation(path string, rows []demo.AblationRow) error {
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
		panels[k] = p
	}
	return writePanels(path, [][]*plot.Plot{panels}, vg.Points(1200), vg.Points(380))
}
