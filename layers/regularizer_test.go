package layers_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
)

// configLayer is a layer of kind holding only a Keras config.
func configLayer(kind, cfg string) *model.Layer {
	l := &model.Layer{Name: "lay", Kind: kind}
	if cfg != "" {
		l.Config = json.RawMessage(cfg)
	}
	return l
}

// checkConfigErr checks that err is of kind is (a *ConfigError for
// layers.ErrKerasFormat, when key is given, for that key), names layer
// "lay" and contains want.
func checkConfigErr(t *testing.T, fn string, err, is error, key, want string) {
	t.Helper()
	if !errors.Is(err, is) || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), `layer "lay"`) {
		t.Fatalf("%s = %v; want %v naming layer \"lay\" and containing %q", fn, err, is, want)
	}
	var ce *layers.ConfigError
	if key != "" && (!errors.As(err, &ce) || ce.Layer != "lay" || ce.Key != key) {
		t.Errorf("%s = %#v; want a *ConfigError for layer \"lay\", key %q", fn, err, key)
	}
}

func TestKernelPenalty(t *testing.T) {
	cases := []struct {
		name, cfg string
		want      layers.Penalty
		is        error  // nil: no error
		key, msg  string // the error's config key and text
	}{
		{"no config", "", layers.Penalty{}, nil, "", ""},
		{"none", `{"kernel_regularizer": null, "kernel_constraint": null}`, layers.Penalty{}, nil, "", ""},
		// keras.regularizers.L1/L2 default factor 0.01; L1L2's factors default to 0.
		{"L2 Keras 3", `{"kernel_regularizer": {"module": "keras.regularizers", "class_name": "L2", "config": {"l2": 0.5}, "registered_name": null}}`, layers.Penalty{L2: 0.5}, nil, "", ""},
		{"L1 bare name", `{"kernel_regularizer": "l1"}`, layers.Penalty{L1: 0.01}, nil, "", ""},
		{"L2 no config", `{"kernel_regularizer": {"class_name": "L2"}}`, layers.Penalty{L2: 0.01}, nil, "", ""},
		{"L1L2", `{"kernel_regularizer": {"class_name": "L1L2", "config": {"l1": 0.25, "l2": null}}}`, layers.Penalty{L1: 0.25}, nil, "", ""},
		{"l1_l2 name", `{"kernel_regularizer": "l1_l2"}`, layers.Penalty{}, nil, "", ""},
		// keras.constraints.MaxNorm: max_value 2, axis 0 by default.
		{"MaxNorm default", `{"kernel_constraint": {"class_name": "MaxNorm", "config": {}}}`, layers.Penalty{MaxNorm: 2, Axes: []int{0}}, nil, "", ""},
		{"MaxNorm axes", `{"kernel_constraint": {"class_name": "MaxNorm", "config": {"max_value": 0.5, "axis": [0, 1]}}}`, layers.Penalty{MaxNorm: 0.5, Axes: []int{0, 1}}, nil, "", ""},
		{"max_norm name", `{"kernel_constraint": "max_norm"}`, layers.Penalty{MaxNorm: 2, Axes: []int{0}}, nil, "", ""},
		{"both", `{"kernel_regularizer": {"class_name": "L1", "config": {"l1": 0.1}}, "kernel_constraint": {"class_name": "MaxNorm", "config": {"max_value": 3, "axis": 1}}}`, layers.Penalty{L1: 0.1, MaxNorm: 3, Axes: []int{1}}, nil, "", ""},

		{"config not an object", `[1]`, layers.Penalty{}, layers.ErrKerasFormat, "", "not a JSON object"},
		{"unknown regularizer", `{"kernel_regularizer": {"class_name": "OrthogonalRegularizer", "config": {}}}`, layers.Penalty{}, model.ErrUnsupported, "", `kernel_regularizer "OrthogonalRegularizer" (supported: L1, L2, L1L2)`},
		{"unknown constraint", `{"kernel_constraint": {"class_name": "NonNeg", "config": {}}}`, layers.Penalty{}, model.ErrUnsupported, "", `kernel_constraint "NonNeg" (supported: MaxNorm)`},
		{"regularizer not an object", `{"kernel_regularizer": 3}`, layers.Penalty{}, layers.ErrKerasFormat, "kernel_regularizer", "not a serialized Keras object: 3"},
		{"factor not a number", `{"kernel_regularizer": {"class_name": "L2", "config": {"l2": "big"}}}`, layers.Penalty{}, layers.ErrKerasFormat, "kernel_regularizer", `l2 is not a number: "big"`},
		{"negative factor", `{"kernel_regularizer": {"class_name": "L1L2", "config": {"l1": -1}}}`, layers.Penalty{}, layers.ErrKerasFormat, "kernel_regularizer", "negative factors l1 -1, l2 0"},
		{"max_value zero", `{"kernel_constraint": {"class_name": "MaxNorm", "config": {"max_value": 0}}}`, layers.Penalty{}, layers.ErrKerasFormat, "kernel_constraint", "max_value 0 must be positive"},
		{"bad axis", `{"kernel_constraint": {"class_name": "MaxNorm", "config": {"axis": "rows"}}}`, layers.Penalty{}, layers.ErrKerasFormat, "kernel_constraint", `axis is not an integer or a list of integers: "rows"`},
		// Only the kernel's penalties are applied: any other set is refused.
		{"others null", `{"kernel_regularizer": "l2", "bias_regularizer": null, "activity_regularizer": null, "bias_constraint": null}`, layers.Penalty{L2: 0.01}, nil, "", ""},
		{"bias regularizer", `{"bias_regularizer": {"class_name": "L2", "config": {"l2": 0.1}}}`, layers.Penalty{}, model.ErrUnsupported, "", `layer "lay" (Dense): bias_regularizer: training applies only the kernel's regularizer and constraint`},
		{"activity regularizer", `{"kernel_regularizer": "l1", "activity_regularizer": "l2"}`, layers.Penalty{}, model.ErrUnsupported, "", "activity_regularizer: training applies only"},
		{"bias constraint", `{"bias_constraint": {"class_name": "NonNeg", "config": {}}}`, layers.Penalty{}, model.ErrUnsupported, "", "bias_constraint"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := layers.KernelPenalty(configLayer("Dense", c.cfg))
			checkPenalty(t, c.cfg, got, err, c.want, c.is, c.key, c.msg)
		})
	}
	// A DepthwiseConv2D's kernel penalties are its depthwise_ keys.
	depthwise := []struct {
		name, cfg string
		want      layers.Penalty
		is        error
		key, msg  string
	}{
		{"depthwise L2", `{"depthwise_regularizer": {"class_name": "L2", "config": {"l2": 0.5}}, "depthwise_constraint": "max_norm", "bias_regularizer": null}`, layers.Penalty{L2: 0.5, MaxNorm: 2, Axes: []int{0}}, nil, "", ""},
		{"depthwise bias regularizer", `{"depthwise_regularizer": null, "bias_regularizer": "l1"}`, layers.Penalty{}, model.ErrUnsupported, "", `layer "lay" (DepthwiseConv2D): bias_regularizer: training applies only the depthwise kernel's`},
	}
	for _, c := range depthwise {
		t.Run(c.name, func(t *testing.T) {
			got, err := layers.KernelPenalty(configLayer("DepthwiseConv2D", c.cfg))
			checkPenalty(t, c.cfg, got, err, c.want, c.is, c.key, c.msg)
		})
	}
}

// checkPenalty checks KernelPenalty's result on cfg: the error is (with its
// key and text), or else the penalty is want.
func checkPenalty(t *testing.T, cfg string, got layers.Penalty, err error, want layers.Penalty, is error, key, msg string) {
	t.Helper()
	if is != nil {
		checkConfigErr(t, "KernelPenalty", err, is, key, msg)
		return
	}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("KernelPenalty(%s) = %+v, %v; want %+v", cfg, got, err, want)
	}
	if got.None() != (want.L1 == 0 && want.L2 == 0 && want.MaxNorm == 0) {
		t.Errorf("KernelPenalty(%s).None() = %v", cfg, got.None())
	}
}
