package main

import (
	"fmt"
	"math"
	"path/filepath"
	"strconv"
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

// gradPanel is one panel of the --grad-stats figure: per layer, one value
// per epoch.
type gradPanel struct {
	title string
	// log says the values are drawn on a log scale (norms and ratios);
	// fractions are drawn from 0 to 1.
	log    bool
	layers []string // in model order
	series map[string]plotter.XYs
	// none says what the model lacks when the panel has no series.
	none string
}

func (g *gradPanel) add(layer string, epoch int, v float64) {
	if g.log && v <= 0 {
		return // no point on a log scale
	}
	if _, ok := g.series[layer]; !ok {
		g.layers = append(g.layers, layer)
	}
	g.series[layer] = append(g.series[layer], plotter.XY{X: float64(epoch), Y: v})
}

// gradPanels returns the four panels of --grad-stats (Géron's section
// 11.1): the gradient L2 norm and the update/weight ratio of each
// trainable layer, the fraction of dead units of each ReLU layer and of
// saturated outputs of each sigmoid or tanh layer, per epoch.
func gradPanels(h *finetune.History) []*gradPanel {
	ps := []*gradPanel{
		{title: "gradient L2 norm", log: true, none: "no trainable params"},
		{title: "update / weight ratio", log: true, none: "no trainable params"},
		{title: "dead ReLU fraction", none: "no ReLU layers"},
		{title: "saturated sigmoid/tanh fraction", none: "no sigmoid or tanh layers"},
	}
	for _, p := range ps {
		p.series = map[string]plotter.XYs{}
	}
	for _, e := range h.GradStats {
		for _, s := range e.Params {
			ps[0].add(s.Layer, e.Epoch, s.GradNorm)
			ps[1].add(s.Layer, e.Epoch, s.UpdateRatio)
		}
		for _, a := range e.Activations {
			if a.Op == "Relu" {
				ps[2].add(a.Layer, e.Epoch, a.Dead)
			} else {
				ps[3].add(a.Layer, e.Epoch, a.Saturated)
			}
		}
	}
	return ps
}

// plotGradStats draws --grad-stats as four panels, one line per layer:
// gradient norms and update ratios on log scales, dead and saturated
// fractions from 0 to 1.
func plotGradStats(path string, h *finetune.History) error {
	var plots []*plot.Plot
	for _, g := range gradPanels(h) {
		p := plot.New()
		p.Title.Text = g.title
		if len(g.layers) == 0 {
			p.Title.Text += " (" + g.none + ")"
		}
		p.X.Label.Text = "epoch"
		if g.log && len(g.layers) > 0 {
			p.Y.Scale = plot.LogScale{}
			p.Y.Tick.Marker = decadeTicks{}
		} else {
			p.Y.Min, p.Y.Max = 0, 1
		}
		p.Legend.Top = true
		for i, name := range g.layers {
			l, err := styledLine(g.series[name], i, i >= len(curveColors))
			if err != nil {
				return fmt.Errorf("plot %s: %s: %w", path, name, err)
			}
			p.Add(l)
			p.Legend.Add(name, l)
			if len(g.series[name]) == 1 { // a one-epoch run: no line to see
				pts, err := plotter.NewScatter(g.series[name])
				if err != nil {
					return fmt.Errorf("plot %s: %s: %w", path, name, err)
				}
				pts.Color = l.Color
				p.Add(pts)
			}
		}
		if g.log && len(g.layers) > 0 {
			// Whole decades, so that the log ticks are labelled (and one
			// value is not widened by +-1 to below 0).
			p.Y.Min = math.Pow(10, math.Floor(math.Log10(p.Y.Min)))
			p.Y.Max = math.Pow(10, math.Ceil(math.Log10(p.Y.Max)))
			if p.Y.Min == p.Y.Max {
				p.Y.Max *= 10
			}
		}
		plots = append(plots, p)
	}
	return writePanels(path, [][]*plot.Plot{plots[:2], plots[2:]}, vg.Points(900), vg.Points(700))
}

// decadeTicks marks a log axis: a labelled tick at every power of ten in
// range, unlabelled ones at 2..9 times it. (gonum's LogTicks truncates
// log10 toward zero, so it leaves the decades below 1 unlabelled.)
type decadeTicks struct{}

func (decadeTicks) Ticks(lo, hi float64) []plot.Tick {
	var ticks []plot.Tick
	for e := int(math.Floor(math.Log10(lo) + 1e-9)); e <= int(math.Ceil(math.Log10(hi)-1e-9)); e++ {
		v := math.Pow10(e)
		for i := 1; i < 10; i++ {
			t := plot.Tick{Value: v * float64(i)}
			if t.Value < lo*(1-1e-9) || t.Value > hi*(1+1e-9) {
				continue
			}
			if i == 1 {
				t.Label = strconv.FormatFloat(v, 'g', -1, 64)
			}
			ticks = append(ticks, t)
		}
	}
	return ticks
}
