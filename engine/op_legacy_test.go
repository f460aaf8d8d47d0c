package engine

import (
	"testing"

	"github.com/xferml/xfer/model"
)

// TestLegacy checks the opset-1-to-6 meanings of the ops that changed at
// opset 7 (model.LegacyBroadcast) and of Concat-1 and Reshape-1.
func TestLegacy(t *testing.T) {
	runCases(t, legacyCases)
	runCases(t, legacyShapeCases)
	runCases(t, []opCase{
		// Cast-1 names the type: "INT32".
		{name: "cast opset 1 string to", op: "Cast", opset: 1, attrs: map[string]model.Attr{"to": model.String("INT32")},
			ins: []*model.Tensor{f32([]int{2}, 1.9, -1.9)}, want: []*model.Tensor{ti(model.Int32, []int{2}, 1, -1)}},
	})
}

func TestLegacyTrainingRefused(t *testing.T) {
	x := f32([]int{1, 2, 1}, 1, 2)
	c := f32([]int{2}, 1, 1)
	runError(t, opCase{name: "batchnorm is_test 0", op: "BatchNormalization", opset: 6, attrs: map[string]model.Attr{"is_test": model.Int(0)},
		ins: []*model.Tensor{x, c, c, c, c}, want: []*model.Tensor{nil}}, "is_test=0")
	runError(t, opCase{name: "dropout is_test 0", op: "Dropout", opset: 6,
		ins: []*model.Tensor{x}, want: []*model.Tensor{nil}}, "is_test=0")
}

// Cases computed with numpy 1.24 (/usr/bin/python3, engine/testdata/gencases/legacy.py, seed 7).
var legacyCases = []opCase{
	{name: "add opset 6 broadcast axis 1", op: "Add", opset: 6, attrs: map[string]model.Attr{"broadcast": model.Int(1), "axis": model.Int(1)},
		ins:  []*model.Tensor{f32([]int{2, 3, 4}, 0.001, 0.299, -0.274, -0.891, -0.455, -0.992, 0.06, 1.34, -0.492, -0.62, 0.49, 0.357, 0.105, -0.93, -0.029, 0.695, -1.344, -0.458, -1.901, -1.29, -1.842, -0.235, -1.267, 0.271), f32([]int{3}, 0.157, -0.187, -2.517)},
		want: []*model.Tensor{f32([]int{2, 3, 4}, 0.158, 0.456, -0.116999984, -0.73399997, -0.642, -1.179, -0.127, 1.153, -3.009, -3.137, -2.027, -2.1599998, 0.262, -0.773, 0.128, 0.852, -1.531, -0.645, -2.088, -1.477, -4.359, -2.7519999, -3.784, -2.246)}},
	{name: "mul opset 6 broadcast trailing", op: "Mul", opset: 6, attrs: map[string]model.Attr{"broadcast": model.Int(1)},
		ins:  []*model.Tensor{f32([]int{2, 3, 4}, 0.001, 0.299, -0.274, -0.891, -0.455, -0.992, 0.06, 1.34, -0.492, -0.62, 0.49, 0.357, 0.105, -0.93, -0.029, 0.695, -1.344, -0.458, -1.901, -1.29, -1.842, -0.235, -1.267, 0.271), f32([]int{4}, -0.539, -0.049, 0.113, -1.53)},
		want: []*model.Tensor{f32([]int{2, 3, 4}, -0.000539, -0.014651, -0.030961998, 1.36323, 0.245245, 0.048607998, 0.00678, -2.0502, 0.265188, 0.03038, 0.05537, -0.54621, -0.056594994, 0.04557, -0.0032769998, -1.06335, 0.72441596, 0.022442, -0.214813, 1.9736999, 0.99283797, 0.011515, -0.143171, -0.41463)}},
	{name: "sub opset 6 same shapes", op: "Sub", opset: 6, attrs: nil,
		ins:  []*model.Tensor{f32([]int{2, 3, 4}, 0.001, 0.299, -0.274, -0.891, -0.455, -0.992, 0.06, 1.34, -0.492, -0.62, 0.49, 0.357, 0.105, -0.93, -0.029, 0.695, -1.344, -0.458, -1.901, -1.29, -1.842, -0.235, -1.267, 0.271), f32([]int{2, 3, 4}, 0.002, 0.598, -0.548, -1.782, -0.91, -1.984, 0.12, 2.68, -0.984, -1.24, 0.98, 0.714, 0.21, -1.86, -0.058, 1.39, -2.688, -0.916, -3.802, -2.58, -3.684, -0.47, -2.534, 0.542)},
		want: []*model.Tensor{f32([]int{2, 3, 4}, -0.001, -0.299, 0.274, 0.891, 0.455, 0.992, -0.06, -1.34, 0.492, 0.62, -0.49, -0.357, -0.105, 0.93, 0.029, -0.695, 1.344, 0.458, 1.901, 1.29, 1.842, 0.235, 1.267, -0.271)}},
	{name: "prelu opset 6 per channel", op: "PRelu", opset: 6, attrs: nil,
		ins:  []*model.Tensor{f32([]int{2, 3, 4}, 0.001, 0.299, -0.274, -0.891, -0.455, -0.992, 0.06, 1.34, -0.492, -0.62, 0.49, 0.357, 0.105, -0.93, -0.029, 0.695, -1.344, -0.458, -1.901, -1.29, -1.842, -0.235, -1.267, 0.271), f32([]int{3}, -0.478, -0.979, -0.809)},
		want: []*model.Tensor{f32([]int{2, 3, 4}, 0.001, 0.299, 0.130972, 0.425898, 0.445445, 0.971168, 0.06, 1.34, 0.39802802, 0.50158, 0.49, 0.357, 0.105, 0.44454, 0.013861999, 0.695, 1.315776, 0.448382, 1.861079, 1.2629099, 1.490178, 0.190115, 1.025003, 0.271)}},
}
var legacyShapeCases = []opCase{
	{name: "concat opset 1 default axis 1", op: "Concat", opset: 1, attrs: nil,
		ins:  []*model.Tensor{f32([]int{2, 2}, 1.061, -0.808, -0.033, 0.884), f32([]int{2, 2}, 3.183, -2.424, -0.099, 2.652)},
		want: []*model.Tensor{f32([]int{2, 4}, 1.061, -0.808, 3.183, -2.424, -0.033, 0.884, -0.099, 2.652)}},
	{name: "reshape opset 1 attribute", op: "Reshape", opset: 1, attrs: map[string]model.Attr{"shape": model.Ints(4, -1)},
		ins:  []*model.Tensor{f32([]int{2, 2}, 1.061, -0.808, -0.033, 0.884)},
		want: []*model.Tensor{f32([]int{4, 1}, 1.061, -0.808, -0.033, 0.884)}},
}
