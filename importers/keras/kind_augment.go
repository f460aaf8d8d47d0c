package keras

import (
	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
)

// augment reads a Keras image augmentation layer (RandomFlip,
// RandomRotation...): identity at inference; its config says what it does
// in training (layers.AugmentOf), checked here so that a bad one fails at
// import.
func augment(kind string) kindFn {
	return func(c *lctx) (*model.Layer, []int, error) {
		l, err := layers.Augmentation(c.common(), kind)
		if err != nil {
			return nil, nil, err
		}
		if _, err := layers.AugmentOf(l); err != nil {
			return nil, nil, err
		}
		return l, sameShape(c), nil
	}
}
