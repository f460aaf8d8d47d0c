package main

import (
	"context"
	"fmt"
	"math/rand"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/xferml/xfer/finetune"
	"github.com/xferml/xfer/model"
	"github.com/xferml/xfer/surgery"
)

type addHeadOptions struct {
	e    *env
	src  source
	out  string
	spec surgery.HeadSpec
	seed int64
}

func newAddHeadCmd(e *env, runF func(context.Context, *addHeadOptions) error) *cli.Command {
	if runF == nil {
		runF = runAddHead
	}
	return &cli.Command{
		Name:  "add-head",
		Usage: "append a Dense layer on the model's output",
		Flags: append(modelFlags(), outputFlag(),
			&cli.IntFlag{Name: "units", Required: true, Usage: "number of units `U`"},
			&cli.StringFlag{Name: "activation", Usage: "Keras activation `A` (sigmoid, softmax, relu, linear, ...); without it, the one --loss calls for, else linear as Keras's Dense"},
			&cli.StringFlag{Name: "loss", Usage: "the `LOSS` the head will be trained with, to choose its activation: softmax for sparse_categorical_crossentropy and categorical_crossentropy, sigmoid for binary_crossentropy, linear for mse"},
			&cli.StringFlag{Name: "pool", Usage: "first pool the output over its spatial axes, `HOW`: avg or max (Keras's GlobalAveragePooling2D / GlobalMaxPooling2D; ONNX's GlobalAveragePool on a channels-first ONNX model)"},
			&cli.BoolFlag{Name: "flatten", Usage: "then flatten the output to [batch, features] (Keras Flatten): a CNN cut at [N, 1000, 1, 1] gets a Dense head"},
			&cli.Float64Flag{Name: "dropout", Usage: "then a Keras Dropout of rate `R` before the Dense layer"},
			&cli.StringFlag{Name: "kernel-initializer", Value: "glorot_uniform", Usage: "Keras initializer `I` of the kernel (the bias starts at zeros)"},
			&cli.StringFlag{Name: "name", Usage: "layer `NAME` (default: the next free dense_N)"},
			&cli.Int64Flag{Name: "seed", Usage: "seed `S` of the kernel's random draw"},
		),
		Action: action(func(c *cli.Context) (*addHeadOptions, error) {
			if c.NArg() != 0 {
				return nil, usagef("add-head: unexpected argument %q", c.Args().First())
			}
			o := &addHeadOptions{e: e, src: sourceOf(c), out: c.String("output"), seed: c.Int64("seed"),
				spec: surgery.HeadSpec{Units: c.Int("units"), Activation: c.String("activation"),
					KernelInitializer: c.String("kernel-initializer"), Name: c.String("name"),
					Pool: c.String("pool"), Flatten: c.Bool("flatten"), Dropout: c.Float64("dropout")}}
			if o.spec.Units < 1 {
				return nil, usagef("add-head: --units must be at least 1, got %d", o.spec.Units)
			}
			if p := o.spec.Pool; p != "" && p != "avg" && p != "max" {
				return nil, usagef("add-head: --pool %q: want avg or max", p)
			}
			if r := o.spec.Dropout; !(r >= 0 && r < 1) {
				return nil, usagef("add-head: --dropout %g: want a rate in [0, 1)", r)
			}
			if err := checkLoss("add-head", c.String("loss")); err != nil {
				return nil, err
			}
			if o.spec.Activation == "" {
				o.spec.Activation = headActivation(c.String("loss"))
			}
			return o, nil
		}, runF),
	}
}

// headActivation is the activation a head trained with loss needs (Keras's
// losses take probabilities unless from_logits): linear, Keras's Dense
// default, without a loss.
func headActivation(loss string) string {
	switch loss {
	case finetune.LossSparseCategoricalCrossentropy, finetune.LossCategoricalCrossentropy:
		return "softmax"
	case finetune.LossBinaryCrossentropy:
		return "sigmoid"
	}
	return "linear"
}

func runAddHead(_ context.Context, o *addHeadOptions) error {
	var before int
	m, err := o.e.change(o.src, o.out, "add-head", func(m *model.Model) (*model.Model, error) {
		before = len(m.Layers)
		return surgery.AddHead(m, o.spec, rand.New(rand.NewSource(o.seed)))
	})
	if err != nil {
		return err
	}
	var added []string
	for _, l := range m.Layers[before:] {
		switch l.Kind {
		case "Dense":
			added = append(added, fmt.Sprintf("%s (Dense, %d units, %s)", l.Name, o.spec.Units, o.spec.Activation))
		case "Dropout":
			added = append(added, fmt.Sprintf("%s (Dropout %g)", l.Name, o.spec.Dropout))
		default:
			added = append(added, fmt.Sprintf("%s (%s)", l.Name, l.Kind))
		}
	}
	fmt.Fprintf(o.e.stdout, "add-head: added %s; %s\n", strings.Join(added, ", "), summary(m))
	return nil
}
