package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/xferml/xfer/layers"
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
		return printJSON(o.e.stdout, s)
	}
	return writeTable(o.e.stdout, o.e.stderr, m)
}

// layerSummary is one row of inspect; the JSON keys are ../shared/CLI.md's.
// A nested model is one row, as in Keras's model.layers, holding its own
// layers' rows.
type layerSummary struct {
	Index       int    `json:"index"`
	Name        string `json:"name"`
	Type        string `json:"type"`
	OutputShape []*int `json:"output_shape"` // nil entries are unknown dims (None)
	Params      int    `json:"params"`
	Trainable   bool   `json:"trainable"`
	// Activation is the Keras activation the layer applies ("relu",
	// "linear" for a weighted layer without one), "" when it has none.
	Activation string `json:"activation,omitempty"`
	// TrainableParams is the layer's trainable count, beyond CLI.md.
	TrainableParams int `json:"trainable_params"`
	// Ref addresses the layer in freeze --upto and unfreeze --from: its
	// index, and for a layer of a nested model the nested model's index,
	// ':' and its own ("1:20").
	Ref string `json:"ref"`
	// Calls is how many times a shared layer is called (omitted for one).
	Calls int `json:"calls,omitempty"`
	// Training is a nested model's call argument when the call sets it.
	Training *bool `json:"training,omitempty"`
	// Layers are a nested model's layers.
	Layers []layerSummary `json:"layers,omitempty"`
}

type modelSummary struct {
	Name               string         `json:"name"`
	Inputs             []inputSummary `json:"inputs"`
	Layers             []layerSummary `json:"layers"`
	TotalParams        int            `json:"total_params"`
	TrainableParams    int            `json:"trainable_params"`
	NonTrainableParams int            `json:"non_trainable_params"`
}

// inputSummary is a graph input of inspect.
type inputSummary struct {
	Name  string `json:"name"`
	Shape []*int `json:"shape"` // nil entries are unknown dims (None)
}

// dims writes a shape with -1 for unknown dims as inspect's shapes.
func dims(shape []int) []*int {
	out := make([]*int, len(shape))
	for j, d := range shape {
		if d >= 0 {
			d := d
			out[j] = &d
		}
	}
	return out
}

// activationOps are the ONNX ops that are a Keras activation, by Keras's
// name: what a layer read from ONNX (no Keras config) ends with.
var activationOps = map[string]string{
	"Relu": "relu", "Sigmoid": "sigmoid", "Softmax": "softmax", "LogSoftmax": "log_softmax", "Tanh": "tanh",
	"Selu": "selu", "Elu": "elu", "LeakyRelu": "leaky_relu", "Softplus": "softplus", "Softsign": "softsign",
	"HardSigmoid": "hard_sigmoid", "HardSwish": "hard_swish", "Gelu": "gelu", "Mish": "mish", "Exp": "exponential",
}

// activationOf returns the Keras activation layer l applies: the one its
// config names when it names one (Keras and xfer layers; a config that
// does not read is passed over, as inspect only displays it), else the
// ONNX op its last node is when that is an activation; a layer with a
// kernel and neither is "linear"; otherwise "".
func activationOf(l *model.Layer) string {
	if a, err := layers.ConfigActivation(l); err == nil && a != "" {
		return a
	}
	if n := len(l.Nodes); n > 0 {
		if a, ok := activationOps[l.Nodes[n-1].Op]; ok {
			return a
		}
	}
	for _, p := range l.Params {
		if strings.HasSuffix(p.Role, "kernel") {
			return "linear" // a Dense or convolution without one
		}
	}
	return ""
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
	calls := map[string]int{}
	for _, l := range m.Layers {
		if l.Shares != "" {
			calls[l.Shares]++
		}
	}
	shapeOf := func(outs []string) []*int {
		if len(outs) == 0 {
			return nil
		}
		v, ok := vals[outs[0]]
		if !ok {
			return nil
		}
		shape := make([]*int, len(v.Shape))
		for j, d := range v.Shape {
			if d >= 0 {
				d := d
				shape[j] = &d
			}
		}
		return shape
	}
	var rows func(scope, prefix string) []layerSummary
	rows = func(scope, prefix string) []layerSummary {
		out := []layerSummary{}
		for i, it := range m.Items(scope) {
			ref := prefix + fmt.Sprint(i)
			if it.Sub != nil {
				total, tr, _ := m.SubmodelParamCounts(it.Sub.Name)
				out = append(out, layerSummary{Index: i, Name: model.LocalName(it.Sub.Name), Type: it.Sub.Kind,
					OutputShape: shapeOf(it.Sub.Outputs), Params: total, Trainable: it.Sub.Trainable, TrainableParams: tr,
					Ref: ref, Training: it.Sub.Training, Layers: rows(it.Sub.Name, ref+":")})
				continue
			}
			l := it.Layer
			total, tr, _ := l.ParamCounts()
			row := layerSummary{Index: i, Name: model.LocalName(l.Name), Type: l.Kind, OutputShape: shapeOf(l.Outputs),
				Params: total, Trainable: l.Trainable, TrainableParams: tr, Ref: ref, Activation: activationOf(l)}
			if n := calls[l.Name]; n > 0 {
				row.Calls = n + 1
			}
			out = append(out, row)
		}
		return out
	}
	s := &modelSummary{Name: m.Name, Inputs: []inputSummary{}, Layers: rows("", "")}
	for _, v := range m.Inputs {
		s.Inputs = append(s.Inputs, inputSummary{Name: v.Name, Shape: dims(v.Shape)})
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
	var ins []string
	for _, v := range s.Inputs {
		ins = append(ins, v.Name+" "+shapeString(v.Shape))
	}
	label := "Input"
	if len(ins) > 1 {
		label = "Inputs"
	}
	fmt.Fprintf(w, "%s: %s\n", label, strings.Join(ins, ", "))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tLayer (type)\tOutput Shape\tActivation\tParam #\tTrainable")
	var write func(rows []layerSummary, depth int)
	write = func(rows []layerSummary, depth int) {
		for _, l := range rows {
			// Keras 3's summary marks a layer without weights "-", else Y or N.
			flag := "-"
			if l.Params > 0 {
				flag = "N"
				if l.Trainable {
					flag = "Y"
				}
			}
			name := strings.Repeat("  ", depth) + l.Name + " (" + l.Type + ")"
			if l.Calls > 1 {
				name += fmt.Sprintf(", called %d times", l.Calls)
			}
			if l.Training != nil && !*l.Training {
				name += ", training=False"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", l.Ref, name, shapeString(l.OutputShape), l.Activation, commas(l.Params), flag)
			write(l.Layers, depth+1)
		}
	}
	write(s.Layers, 0)
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
