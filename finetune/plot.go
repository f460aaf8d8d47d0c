package finetune

import (
	"bytes"
	"fmt"
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/xferml/xfer/internal/atomicfile"
)

// Curve is one training run to draw.
type Curve struct {
	Label   string
	History *History
}

// curveColors is a colour-blind-safe palette (Okabe & Ito).
var curveColors = []color.Color{
	color.RGBA{0, 114, 178, 255}, color.RGBA{213, 94, 0, 255}, color.RGBA{0, 158, 115, 255},
	color.RGBA{204, 121, 167, 255}, color.RGBA{230, 159, 0, 255}, color.RGBA{86, 180, 233, 255},
}

// PlotCurves draws learning curves as the book's figures do: loss and
// accuracy per epoch, training solid and validation dashed, one colour per
// curve, side by side in a PNG written atomically to path.
func PlotCurves(path string, curves []Curve) error {
	var panels [1][2]*plot.Plot
	for k, what := range []string{"loss", "accuracy"} {
		p := plot.New()
		p.Title.Text = what
		p.X.Label.Text = "epoch"
		p.Legend.Top = what == "loss"
		for i, c := range curves {
			if c.History == nil || len(c.History.Epochs) == 0 {
				continue
			}
			var tr, va plotter.XYs
			for _, e := range c.History.Epochs {
				v, vv := e.Loss, e.ValLoss
				if what == "accuracy" {
					v, vv = e.Accuracy, e.ValAccuracy
				}
				tr = append(tr, plotter.XY{X: float64(e.Epoch), Y: v})
				if vv != nil {
					va = append(va, plotter.XY{X: float64(e.Epoch), Y: *vv})
				}
			}
			col := curveColors[i%len(curveColors)]
			l, err := plotter.NewLine(tr)
			if err != nil {
				return fmt.Errorf("finetune: plot: %w", err)
			}
			l.Color, l.Width = col, vg.Points(1.5)
			p.Add(l)
			p.Legend.Add(c.Label+" "+what, l)
			if len(va) > 0 {
				lv, err := plotter.NewLine(va)
				if err != nil {
					return fmt.Errorf("finetune: plot: %w", err)
				}
				lv.Color, lv.Width, lv.Dashes = col, vg.Points(1.5), []vg.Length{vg.Points(4), vg.Points(3)}
				p.Add(lv)
				p.Legend.Add(c.Label+" val_"+what, lv)
			}
		}
		p.Add(plotter.NewGrid())
		panels[0][k] = p
	}
	img := vgimg.New(vg.Points(900), vg.Points(380))
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Points(10), PadY: vg.Points(10), PadTop: vg.Points(5), PadBottom: vg.Points(5), PadLeft: vg.Points(5), PadRight: vg.Points(5)}
	canvases := plot.Align([][]*plot.Plot{panels[0][:]}, tiles, dc)
	for j := range panels[0] {
		panels[0][j].Draw(canvases[0][j])
	}
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&buf); err != nil {
		return fmt.Errorf("finetune: plot %s: %w", path, err)
	}
	if err := atomicfile.WriteBytes(path, buf.Bytes()); err != nil {
		return fmt.Errorf("finetune: plot: %w", err)
	}
	return nil
}
