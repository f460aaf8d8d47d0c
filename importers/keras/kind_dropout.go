package keras

import (
	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
)

func dropout(kind, key string) kindFn {
	return func(c *lctx) (*model.Layer, []int, error) {
		r, err := c.float(key, 0)
		if err != nil {
			return nil, nil, err
		}
		l, err := layers.Dropout(layers.DropoutSpec{Common: c.common(), Kind: kind, Rate: float32(r)})
		return l, sameShape(c), err
	}
}
