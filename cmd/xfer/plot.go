package main

import (
	"bytes"
	"fmt"
	"image/color"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	_ "gonum.org/v1/plot/vg/vgimg" // registers png
	_ "gonum.org/v1/plot/vg/vgpdf" // registers pdf
	_ "gonum.org/v1/plot/vg/vgsvg" // registers svg

	"github.com/xferml/xfer/finetune"
	"github.com/xferml/xfer/internal/atomicfile"
)

// curve is one training run to draw; label "" for a single run.
type curve struct {
	label   string
	history *finetune.History
}

// plotFormats are the file types --plot writes, by extension.
var plotFormats = map[string]string{".png": "png", ".svg": "svg", ".pdf": "pdf"}

// checkPlotPath refuses a --plot file whose extension names no format
// plotCurves writes (a usage error, before any training).
func checkPlotPath(cmd, path string) error {
	if _, ok := plotFormats[strings.ToLower(filepath.Ext(path))]; !ok {
		return usagef("%s: --plot %s: want a .png, .svg or .pdf file", cmd, path)
	}
	return nil
}

// curveColors is a colour-blind-safe palette (Okabe & Ito).
var curveColors = []color.Color{
	color.RGBA{0, 114, 178, 255}, color.RGBA{213, 94, 0, 255}, color.RGBA{0, 158, 115, 255},
	color.RGBA{204, 121, 167, 255}, color.RGBA{230, 159, 0, 255}, color.RGBA{86, 180, 233, 255},
}

// styledLine is a line through xy in colour i of curveColors, 1.5 points
// wide, dashed when dashed.
func styledLine(xy plotter.XYs, i int, dashed bool) (*plotter.Line, error) {
	l, err := plotter.NewLine(xy)
	if err != nil {
		return nil, err
	}
	l.Color, l.Width = curveColors[i%len(curveColors)], vg.Points(1.5)
	if dashed {
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	}
	return l, nil
}

// writePanels draws panels (rows of plots, a grid added to each) on a
// canvas width x height points and writes it to path atomically, in the
// format of path's extension (.png, .svg, .pdf): the one figure writer of
// finetune --plot, --grad-stats and demo.
func writePanels(path string, panels [][]*plot.Plot, width, height vg.Length) error {
	format, ok := plotFormats[strings.ToLower(filepath.Ext(path))]
	if !ok {
		return usagef("plot %s: want a .png, .svg or .pdf file", path)
	}
	img, err := draw.NewFormattedCanvas(width, height, format)
	if err != nil {
		return fmt.Errorf("plot %s: %w", path, err)
	}
	for _, row := range panels {
		for _, p := range row {
			p.Add(plotter.NewGrid())
		}
	}
	pad := vg.Points(5)
	tiles := draw.Tiles{Rows: len(panels), Cols: len(panels[0]), PadX: 2 * pad, PadY: 2 * pad, PadTop: pad, PadBottom: pad, PadLeft: pad, PadRight: pad}
	canvases := plot.Align(panels, tiles, draw.New(img))
	for i, row := range panels {
		for j, p := range row {
			p.Draw(canvases[i][j])
		}
	}
	var buf bytes.Buffer
	if _, err := img.WriteTo(&buf); err != nil {
		return fmt.Errorf("plot %s: %w", path, err)
	}
	return atomicfile.WriteBytes(path, buf.Bytes())
}

// plotCurves draws learning curves as the book's figures do: loss and
// accuracy per epoch side by side, training solid and validation dashed,
// one colour per curve. The format (.png, .svg, .pdf) follows path's
// extension; the file is written atomically. It is the one plotter of xfer
// (finetune --plot, demo's curves.png).
func plotCurves(path string, curves []curve) error {
	panels := make([]*plot.Plot, 2)
	for k, what := range []string{"loss", "accuracy"} {
		p := plot.New()
		p.Title.Text = what
		p.X.Label.Text = "epoch"
		p.Legend.Top = what == "loss"
		for i, c := range curves {
			if c.history == nil || len(c.history.Epochs) == 0 {
				continue
			}
			var tr, va plotter.XYs
			for _, e := range c.history.Epochs {
				v, vv := e.Loss, e.ValLoss
				if what == "accuracy" {
					v, vv = e.Accuracy, e.ValAccuracy
				}
				tr = append(tr, plotter.XY{X: float64(e.Epoch), Y: v})
				if vv != nil {
					va = append(va, plotter.XY{X: float64(e.Epoch), Y: *vv})
				}
			}
			name := strings.TrimSpace(c.label + " " + what)
			l, err := styledLine(tr, i, false)
			if err != nil {
				return fmt.Errorf("plot %s: %s: %w", path, name, err)
			}
			p.Add(l)
			p.Legend.Add(name, l)
			if len(va) > 0 {
				lv, err := styledLine(va, i, true)
				if err != nil {
					return fmt.Errorf("plot %s: %s: %w", path, name, err)
				}
				p.Add(lv)
				p.Legend.Add(strings.TrimSpace(c.label+" val_"+what), lv)
			}
		}
		panels[k] = p
	}
	return writePanels(path, [][]*plot.Plot{panels}, vg.Points(900), vg.Points(380))
}
