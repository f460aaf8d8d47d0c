package main

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/xferml/xfer/channelslast"
	"github.com/xferml/xfer/formats"
)

type exportOptions struct {
	e        *env
	src      source
	out      string
	opset    int
	keepNCHW bool
}

func newExportCmd(e *env, runF func(context.Context, *exportOptions) error) *cli.Command {
	if runF == nil {
		runF = runExport
	}
	return &cli.Command{
		Name:      "export",
		Usage:     "write the model as .h5, .keras or .onnx (chosen by extension)",
		ArgsUsage: "FILE",
		Flags: append(modelFlags(), outputFlag(),
			&cli.IntFlag{Name: "opset", Usage: "ONNX opset to write, 13 to 21 (default 17)"},
			&cli.BoolFlag{Name: "keep-nchw", Usage: "for .h5/.keras of a channels-first (PyTorch) model: keep the input channels-first, " +
				"by a leading Permute layer, so the Keras model takes the same arrays (default: channels-last input, Keras's layout)"},
		),
		Action: action(func(c *cli.Context) (*exportOptions, error) {
			o := &exportOptions{e: e, src: sourceOf(c), out: c.String("output"), opset: c.Int("opset"), keepNCHW: c.Bool("keep-nchw")}
			switch {
			case c.NArg() > 1:
				return nil, usagef("export: want one FILE, got %s", arguments(c.NArg()))
			case c.NArg() == 1 && o.out != "":
				return nil, usagef("export: give the destination once, as FILE or as -o FILE")
			case c.NArg() == 1:
				o.out = c.Args().First()
			case o.out == "":
				return nil, usagef("export: missing destination FILE (.h5, .keras or .onnx)")
			}
			if _, err := formats.FormatOf(o.out); err != nil {
				return nil, err
			}
			if f, _ := formats.FormatOf(o.out); c.IsSet("opset") && f != formats.ONNX {
				return nil, usagef("export: --opset applies to .onnx files, not %s", o.out)
			}
			if f, _ := formats.FormatOf(o.out); o.keepNCHW && f != formats.KerasH5 && f != formats.KerasZip {
				return nil, usagef("export: --keep-nchw applies to .h5 and .keras files, not %s", o.out)
			}
			// ONNX opsets the exporter supports (issue 3: 13 to 21).
			if c.IsSet("opset") && (o.opset < 13 || o.opset > 21) {
				return nil, usagef("export: --opset %d is out of range: xfer writes ONNX opsets 13 to 21", o.opset)
			}
			return o, nil
		}, runF),
	}
}

func runExport(_ context.Context, o *exportOptions) error {
	if err := notInput("export", o.out, o.src.file, o.src.config); err != nil {
		return err
	}
	m, _, err := o.e.load(o.src)
	if err != nil {
		return err
	}
	note := ""
	if f, _ := formats.FormatOf(o.out); (f == formats.KerasH5 || f == formats.KerasZip) && channelslast.Needed(m) {
		// Layers read from ONNX: convert here to say how the Keras model's
		// input is laid out when that changed (formats.Write would convert
		// too).
		n := len(m.History)
		if m, err = formats.ToKeras(m, o.keepNCHW); err != nil {
			return fmt.Errorf("export: %s: %w", o.out, err)
		}
		if len(m.History) > n {
			note = "converted to channels-last Keras layers: " + m.History[len(m.History)-1].Args + "\n"
		}
	}
	if err := formats.Write(o.out, m, formats.Options{Opset: o.opset, KeepNCHW: o.keepNCHW}); err != nil {
		return err
	}
	fmt.Fprintf(o.e.stdout, "wrote %s: %s\n%s", o.out, summary(m), note)
	return nil
}
