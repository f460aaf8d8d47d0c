package surgery

import (
	"fmt"

	"github.com/xferml/xfer/model"
)

// Freeze returns a copy of m whose layers 0..upto (inclusive) are not
// trainable. Trainability of the other layers is unchanged. BatchNormalization
// moving statistics stay non-trainable in every case, so parameter counts
// follow Keras (a frozen BN's gamma and beta count as non-trainable).
func Freeze(m *model.Model, upto int) (*model.Model, error) {
	if err := checkIndex(m, "freeze", "upto", upto); err != nil {
		return nil, err
	}
	return setTrainable(m, 0, upto, false)
}

// Unfreeze returns a copy of m whose layers from.. are trainable; from 0
// unfreezes the whole model.
func Unfreeze(m *model.Model, from int) (*model.Model, error) {
	if err := checkIndex(m, "unfreeze", "from", from); err != nil {
		return nil, err
	}
	return setTrainable(m, from, len(m.Layers)-1, true)
}

func checkIndex(m *model.Model, op, flag string, i int) error {
	if len(m.Layers) == 0 {
		return fmt.Errorf("%w: %s: model %q has no layers", ErrUsage, op, m.Name)
	}
	if i < 0 || i >= len(m.Layers) {
		return fmt.Errorf("%w: %s: --%s %d is out of range: model %q has %d layers, numbered 0 to %d", ErrUsage, op, flag, i, m.Name, len(m.Layers), len(m.Layers)-1)
	}
	return nil
}

// setTrainable sets layers lo..hi of a copy of m; a layer's Keras config, if
// any, gets the same "trainable" value so that exporters starting from it
// stay right.
func setTrainable(m *model.Model, lo, hi int, on bool) (*model.Model, error) {
	c := m.Clone()
	for _, l := range c.Layers[lo : hi+1] {
		l.SetTrainable(on)
		cfg, err := setConfigKey(l.Config, "trainable", on, false)
		if err != nil {
			return nil, fmt.Errorf("surgery: %w: layer %q: %v", model.ErrUnsupported, l.Name, err)
		}
		l.Config = cfg
	}
	return c, nil
}
