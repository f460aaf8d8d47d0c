package finetune

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
)

// augModel is input [H W C] -> the given augmentation layers -> Flatten ->
// Dense(2), as keras.io's transfer model starts; configs as Keras 3 writes
// them.
func augModel(t *testing.T, cfgs ...string) *model.Model {
	t.Helper()
	m := &model.Model{Name: "aug", Opset: model.DefaultOpset,
		Inputs: []*model.Value{{Name: "img", DType: model.Float32, Shape: []int{-1, 4, 4, 1}}}}
	prev := "img"
	for i, c := range cfgs {
		kind, cfg, _ := strings.Cut(c, " ")
		l, err := layers.Augmentation(layers.Common{Name: kind + string(rune('a'+i)), Inputs: []string{prev}, Trainable: true, Config: json.RawMessage(cfg)}, kind)
		if err != nil {
			t.Fatal(err)
		}
		m.Layers = append(m.Layers, l)
		prev = l.Outputs[0]
	}
	fl, err := layers.Flatten(layers.Common{Name: "flatten", Inputs: []string{prev}, Trainable: true})
	if err != nil {
		t.Fatal(err)
	}
	d, err := layers.Dense(layers.DenseSpec{Name: "dense", Input: fl.Outputs[0], InFeatures: 16, Units: 2, UseBias: true, Trainable: true})
	if err != nil {
		t.Fatal(err)
	}
	m.Layers = append(m.Layers, fl, d)
	m.Outputs = d.Outputs
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestModelAugmentation(t *testing.T) {
	tests := []struct {
		name string
		cfgs []string
		want string // Augmentation.String(), or an error substring after "error: "
	}{
		{"none", nil, ""},
		{"keras.io's pair", []string{`RandomFlip {"mode": "horizontal"}`, `RandomRotation {"factor": [-0.1, 0.1], "fill_mode": "reflect", "interpolation": "bilinear"}`},
			"flip=horizontal,rotate=-0.1:0.1"},
		{"defaults and single factors", []string{`RandomFlip {}`, `RandomZoom {"height_factor": 0.2}`, `RandomTranslation {"height_factor": 0.1, "width_factor": 0.1}`, `RandomContrast {"factor": 0.3}`},
			"flip=horizontal_and_vertical,zoom=-0.2:0.2,translate=-0.1:0.1,contrast=0.3:0.3"},
		{"nearest fill", []string{`RandomRotation {"factor": 0.1, "fill_mode": "nearest"}`}, `error: fill_mode "nearest"`},
		{"zoom with its own width factor", []string{`RandomZoom {"height_factor": 0.2, "width_factor": 0.1}`}, "error: width factor"},
		{"brightness", []string{`RandomBrightness {"factor": 0.2}`}, "error: RandomBrightness is not applied in training"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			aug, err := modelAugmentation(augModel(t, tt.cfgs...))
			if want, ok := strings.CutPrefix(tt.want, "error: "); ok {
				if !errors.Is(err, ErrMismatch) || !strings.Contains(err.Error(), want) {
					t.Errorf("modelAugmentation = %v, %v; want ErrMismatch containing %q", aug, err, want)
				}
				return
			}
			if err != nil || aug.String() != tt.want {
				t.Errorf("modelAugmentation = %q, %v; want %q", aug.String(), err, tt.want)
			}
		})
	}
}

// TestModelAugmentationPlacement: an augmentation layer away from the input
// is refused by name; one inside a nested model called with training=False
// stays an identity, as in Keras.
func TestModelAugmentationPlacement(t *testing.T) {
	m := augModel(t, `RandomFlip {"mode": "horizontal"}`)
	// Move the flip after Flatten: it no longer reads the input.
	flip, fl := m.Layers[0], m.Layers[1]
	fl.Inputs, fl.Nodes[0].Inputs[0] = []string{"img"}, "img"
	flip.Inputs, flip.Nodes[0].Inputs[0] = []string{fl.Outputs[0]}, fl.Outputs[0]
	m.Layers[0], m.Layers[1] = fl, flip
	d := m.Layers[2]
	d.Inputs, d.Nodes[0].Inputs[0] = []string{flip.Outputs[0]}, flip.Outputs[0]
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	if _, err := modelAugmentation(m); !errors.Is(err, ErrMismatch) || !strings.Contains(err.Error(), `"RandomFlipa"`) {
		t.Errorf("modelAugmentation(flip after Flatten) = %v; want ErrMismatch naming the layer", err)
	}

	n := augModel(t, `RandomFlip {"mode": "horizontal"}`)
	f := false
	l := n.Layers[0]
	l.Name, l.Scope = "aug/"+l.Name, "aug"
	n.Submodels = []*model.Submodel{{Name: "aug", Kind: "Sequential", Trainable: true, Training: &f, Inputs: []string{"img"}, Outputs: l.Outputs}}
	if err := n.Validate(); err != nil {
		t.Fatal(err)
	}
	if aug, err := modelAugmentation(n); aug != nil || err != nil {
		t.Errorf("modelAugmentation(flip called with training=False) = %v, %v; want nil, nil", aug, err)
	}
}
