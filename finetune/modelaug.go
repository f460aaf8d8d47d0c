package finetune

import (
	"fmt"

	"github.com/xferml/xfer/dataset"
	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
)

// modelAugmentation returns what the model's own image augmentation layers
// (RandomFlip, RandomRotation..., keras.io's transfer-learning model has a
// Sequential of them at its input) do when it trains, as data
// augmentation: Keras applies them to the input batch in training only,
// and so does the training loop when they sit at the model's input (each
// reads the input or another such layer). Layers inside a nested model
// called with training=False stay identities, as in Keras. It returns nil
// when the model has none, and an error naming the layer for one elsewhere
// or with a setting the training loop does not implement.
func modelAugmentation(m *model.Model) (*dataset.Augmentation, error) {
	atInput := map[string]bool{}
	for _, v := range m.Inputs {
		atInput[v.Name] = true
	}
	var aug dataset.Augmentation
	for _, l := range m.Layers {
		if !layers.IsAugmentation(l.Kind) {
			// An InputLayer (also of a nested model) passes the input on.
			if l.Kind == "InputLayer" && len(l.Inputs) == 1 && atInput[l.Inputs[0]] {
				atInput[l.Outputs[0]] = true
			}
			continue
		}
		if m.InferenceOnly(l) {
			continue
		}
		if len(l.Inputs) != 1 || !atInput[l.Inputs[0]] {
			return nil, mismatchf("augmentation layer %q (%s) does not read the model's input (or another augmentation layer): xfer applies a model's augmentation layers to the input batch only; move them to the input, or remove them and give --augment", l.Name, l.Kind)
		}
		atInput[l.Outputs[0]] = true
		s, err := layers.AugmentOf(l)
		if err != nil {
			return nil, err
		}
		step, err := augmentStep(s)
		if err != nil {
			return nil, mismatchf("augmentation layer %q: %v; remove it and give --augment instead", l.Name, err)
		}
		aug.Steps = append(aug.Steps, step)
	}
	if len(aug.Steps) == 0 {
		return nil, nil
	}
	return &aug, nil
}

// augmentStep maps a Keras augmentation layer onto dataset's transforms
// (Keras 3's, reflect fill and bilinear interpolation).
func augmentStep(s layers.AugmentSpec) (dataset.AugmentStep, error) {
	if s.Kind != "RandomFlip" && s.Kind != "RandomContrast" && (s.FillMode != "reflect" || s.Interpolation != "bilinear") {
		return dataset.AugmentStep{}, fmt.Errorf("%s with fill_mode %q and interpolation %q (training implements reflect and bilinear, Keras's defaults)", s.Kind, s.FillMode, s.Interpolation)
	}
	switch s.Kind {
	case "RandomFlip":
		return dataset.AugmentStep{Kind: "flip", Mode: s.Mode}, nil
	case "RandomRotation":
		return dataset.AugmentStep{Kind: "rotate", Lower: s.Lower, Upper: s.Upper}, nil
	case "RandomContrast":
		return dataset.AugmentStep{Kind: "contrast", Lower: s.Lower, Upper: s.Upper}, nil
	case "RandomZoom", "RandomTranslation":
		if s.WidthLower != s.Lower || s.WidthUpper != s.Upper {
			return dataset.AugmentStep{}, fmt.Errorf("%s with a width factor other than its height factor (training draws one range for both)", s.Kind)
		}
		kind := "zoom"
		if s.Kind == "RandomTranslation" {
			kind = "translate"
		}
		return dataset.AugmentStep{Kind: kind, Lower: s.Lower, Upper: s.Upper}, nil
	}
	return dataset.AugmentStep{}, fmt.Errorf("%s is not applied in training", s.Kind)
}

// mergeModelAugmentation puts the model's own augmentation before cfg's
// --augment steps.
func mergeModelAugmentation(m *model.Model, cfg *Config) error {
	aug, err := modelAugmentation(m)
	if err != nil || aug == nil {
		return err
	}
	if cfg.Augment != nil {
		aug.Steps = append(aug.Steps, cfg.Augment.Steps...)
	}
	cfg.Augment = aug
	return nil
}
