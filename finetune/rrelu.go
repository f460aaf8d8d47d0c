package finetune

import (
	"encoding/json"
	"fmt"

	"github.com/xferml/xfer/model"
)

// RReLU returns a randomized leaky ReLU layer (Xu et al. 2015, PyTorch's
// nn.RReLU): in training each negative input is multiplied by a slope drawn
// uniformly from [lower, upper]; in inference by the mean slope
// (lower+upper)/2, which is the layer's one node (an ONNX LeakyRelu), so
// every runtime predicts with it. PyTorch's defaults are 1/8 and 1/3.
func RReLU(name, input string, lower, upper float64) (*model.Layer, error) {
	if name == "" || !(lower >= 0 && lower <= upper) {
		return nil, fmt.Errorf("finetune: RReLU %q: need a name and 0 <= lower <= upper, got [%v, %v]", name, lower, upper)
	}
	cfg, err := json.Marshal(map[string]any{"name": name, "trainable": true, "lower": lower, "upper": upper})
	if err != nil {
		return nil, fmt.Errorf("finetune: RReLU %q: %w", name, err)
	}
	out := name + "/LeakyRelu:0"
	return &model.Layer{Name: name, Kind: "RReLU", Inputs: []string{input}, Outputs: []string{out}, Trainable: true, Config: cfg,
		Nodes: []*model.Node{{Name: name + "/LeakyRelu", Op: "LeakyRelu", Inputs: []string{input}, Outputs: []string{out},
			Attrs: map[string]model.Attr{"alpha": model.Float(float32((lower + upper) / 2))}}}}, nil
}
