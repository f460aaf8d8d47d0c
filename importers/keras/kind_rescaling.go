package keras

import (
	"encoding/json"

	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
)

// floatsOrOne reads a float or a list of floats (Rescaling's scale/offset).
func (c *lctx) floatsOrOne(key string, def float64) ([]float32, error) {
	if !c.has(key) {
		return []float32{float32(def)}, nil
	}
	var one float64
	if json.Unmarshal(c.e.cfg[key], &one) == nil {
		return []float32{float32(one)}, nil
	}
	var l []float32
	if err := json.Unmarshal(c.e.cfg[key], &l); err != nil || len(l) == 0 {
		return nil, c.errf(key, "want a number or a list of numbers, got %s", clip(c.e.cfg[key]))
	}
	return l, nil
}

func rescaling(c *lctx) (*model.Layer, []int, error) {
	in, err := c.inShape(0, 0)
	if err != nil {
		return nil, nil, err
	}
	scale, err := c.floatsOrOne("scale", 1)
	if err != nil {
		return nil, nil, err
	}
	offset, err := c.floatsOrOne("offset", 0)
	if err != nil {
		return nil, nil, err
	}
	for key, v := range map[string][]float32{"scale": scale, "offset": offset} {
		if len(v) > 1 && len(v) != in[len(in)-1] {
			return nil, nil, c.errf(key, "%d values for %d channels", len(v), in[len(in)-1])
		}
	}
	l, err := layers.Rescaling(layers.RescalingSpec{Common: c.common(), Scale: scale, Offset: offset})
	return l, sameShape(c), err
}

func identity(c *lctx) (*model.Layer, []int, error) {
	l, err := layers.Identity(c.common())
	return l, sameShape(c), err
}
