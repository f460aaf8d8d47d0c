package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/xferml/xfer/model"
)

type inspectOptions struct {
	e    *env
	src  source
	json bool
}

func newInspectCmd(e *env, runF func(context.Context, *inspectOptions) error) *cli.Command {
	if runF == nil {
		runF = runInspect
	}
	return &cli.Command{
		Name:  "inspect",
		Usage: "Keras-style summary: layers, output shapes, params, trainable flags and totals",
		Flags: append(modelFlags(), &cli.BoolFlag{Name: "json", Usage: "print JSON instead of a table"}),
		Action: action(func(c *cli.Context) (*inspectOptions, error) {
			if c.NArg() != 0 {
				return nil, usagef("inspect: unexpected argument %q (use -m FILE to inspect a file)", c.Args().First())
			}
			return &inspectOptions{e: e, src: sourceOf(c), json: c.Bool("json")}, nil
		}, runF),
	}
}

func runInspect(_ context.Context, o *inspectOptions) error {
	m, _, err := o.e.load(o.src)
	if err != nil {
		return err
	}
	if o.json {
		s, warn := summarize(m)
		if warn != nil {
			fmt.Fprintf(o.e.stderr, "xfer: warning: %v\n", warn)
		}
		enc := json.NewEncoder(o.e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(s)
	}
	return writeTable(o.e.stdout, o.e.stderr, m)
}

// layerSummary is one row of inspect; the JSON keys are ../shared/CLI.md's.
type layerSummary struct {
	Index       int    `json:"index"`
	Name        string `json:"name"`
	Type        string `json:"type"`
	OutputShape []*int `json:"output_shape"` // nil entries are unknown dims (None)
	Params      int    `json:"params"`
	Trainable   bool   `json:"trainable"`
	// TrainableParams is the layer's trainable count, beyond CLI.md.
	TrainableParams int `json:"trainable_params"`
}

type modelSummary struct {
	Name               string         `json:"name"`
	Layers             []layerSummary `json:"layers"`
	TotalParams        int            `json:"total_params"`
	TrainableParams    int            `json:"trainable_params"`
	NonTrainableParams int            `json:"non_trainable_params"`
}

// summarize computes inspect's rows. The output shape is that of each
// layer's first output, from m.InferShapes, with unknown dims (the batch) as
// null. When shape inference fails the rows still come, without shapes, and
// the error is returned beside them as a warning.
func summarize(m *model.Model) (*modelSummary, error) {
	vals, err := m.InferShapes()
	var warn error
	if err != nil {
		warn = fmt.Errorf("inspect: model %q: output shapes unknown: %w", m.Name, err)
	}
	s := &modelSummary{Name: m.Name, Layers: []layerSummary{}}
	for i, l := range m.Layers {
		total, tr, _ := l.ParamCounts()
		row := layerSummary{Index: i, Name: l.Name, Type: l.Kind, Params: total, Trainable: l.Trainable, TrainableParams: tr}
		if len(l.Outputs) > 0 {
			if v, ok := vals[l.Outputs[0]]; ok {
				row.OutputShape = make([]*int, len(v.Shape))
				for j, d := range v.Shape {
					if d >= 0 {
						d := d
						row.OutputShape[j] = &d
					}
				}
			}
		}
		s.Layers = append(s.Layers, row)
	}
	s.TotalParams, s.TrainableParams, s.NonTrainableParams = m.ParamCounts()
	return s, warn
}

// shapeString writes a shape as Keras prints it: (None, 784), (None,).
func shapeString(shape []*int) string {
	if shape == nil {
		return "?"
	}
	parts := make([]string, len(shape))
	for i, d := range shape {
		if d == nil {
			parts[i] = "None"
		} else {
			parts[i] = fmt.Sprint(*d)
		}
	}
	if len(parts) == 1 {
		return "(" + parts[0] + ",)"
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// writeTable prints the Keras-style summary of m to w, a warning to diag
// when shapes are unknown.
func writeTable(w, diag io.Writer, m *model.Model) error {
	s, warn := summarize(m)
	if warn != nil {
		fmt.Fprintf(diag, "xfer: warning: %v\n", warn)
	}
	fmt.Fprintf(w, "Model: %q\n", m.Name)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tLayer (type)\tOutput Shape\tParam #\tTrainable")
	for _, l := range s.Layers {
		// Keras 3's summary marks a layer without weights "-", else Y or N.
		flag := "-"
		if l.Params > 0 {
			flag = "N"
			if l.Trainable {
				flag = "Y"
			}
		}
		fmt.Fprintf(tw, "%d\t%s (%s)\t%s\t%s\t%s\n", l.Index, l.Name, l.Type, shapeString(l.OutputShape), commas(l.Params), flag)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "Total params: %s (%s)\nTrainable params: %s (%s)\nNon-trainable params: %s (%s)\n",
		commas(s.TotalParams), memorySize(s.TotalParams), commas(s.TrainableParams), memorySize(s.TrainableParams),
		commas(s.NonTrainableParams), memorySize(s.NonTrainableParams))
	return nil
}

// memorySize renders the float32 size of n params as Keras 3's summary does
// (keras/src/utils/summary_utils.py readable_memory_size: 1024-based units,
// two decimals): 52,650 params -> "205.66 KB".
func memorySize(n int) string {
	size := float64(n) * 4 // float32
	units := []string{"B", "KB", "MB", "GB", "TB", "PB"}
	for _, u := range units {
		if size/1024 < 1 {
			return fmt.Sprintf("%.2f %s", size, u)
		}
		size /= 1024
	}
	return fmt.Sprintf("%.2f %s", size, units[len(units)-1])
}
